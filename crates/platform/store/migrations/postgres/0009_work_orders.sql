-- Provisioning work orders (docs/supply.md §3): raised by a supplier's agent for a trade
-- on one of the supplier's offers; the supplier decides it (manual acceptance policy) and
-- fills back the access details, which the trade's consumer then sees. The credentials
-- field is a reference (a vault path, a key name), never a secret.
CREATE TABLE work_orders (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The supplier organisation that owns the trade's offer (the agent token's organisation).
    supplier_org BIGINT NOT NULL REFERENCES orgs(id),
    -- The trade's serial on the trade chain (32 lower-case hex characters).
    serial TEXT NOT NULL CHECK (length(serial) = 32),
    offer_id BIGINT NOT NULL CHECK (offer_id > 0),
    -- The trade's parties as the trade chain names them.
    supplier_did TEXT NOT NULL,
    consumer_did TEXT NOT NULL,
    units BIGINT NOT NULL CHECK (units > 0),
    minutes BIGINT NOT NULL CHECK (minutes > 0),
    value_fen BIGINT NOT NULL CHECK (value_fen >= 0),
    -- awaiting_approval | open | filled | closed | declined
    status TEXT NOT NULL CHECK (status IN ('awaiting_approval', 'open', 'filled', 'closed', 'declined')),
    raised_ms BIGINT NOT NULL,
    decided_ms BIGINT,
    decided_by BIGINT REFERENCES users(id),
    -- Access details filled back by the supplier.
    address TEXT,
    credentials_ref TEXT,
    pool_id TEXT,
    filled_ms BIGINT,
    filled_by BIGINT REFERENCES users(id),
    closed_ms BIGINT,
    UNIQUE (supplier_org, serial)
);
CREATE INDEX work_orders_consumer ON work_orders(consumer_did, id);
CREATE INDEX work_orders_status ON work_orders(supplier_org, status, id);
