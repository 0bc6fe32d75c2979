-- Orders of supplier offers as trades on the trade chain (issue 18, docs/exchange.md):
-- one row per order, stored with its signed chain transaction and the journal entry that
-- moved its value from the organisation's cash to its trade escrow (one SQL transaction);
-- the members' spending limits on the organisation's chain wallet; and the wallet
-- reconciliation's alarms.
CREATE TABLE trade_orders (
    serial TEXT PRIMARY KEY CHECK (length(serial) = 32),
    org_id BIGINT NOT NULL REFERENCES orgs(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    offer_id BIGINT NOT NULL,
    chain_offer_id BIGINT NOT NULL,
    supplier_org_id BIGINT NOT NULL REFERENCES orgs(id),
    units BIGINT NOT NULL CHECK (units >= 1),
    duration_minutes BIGINT NOT NULL CHECK (duration_minutes >= 1),
    payg BIGINT NOT NULL CHECK (payg IN (0, 1)),
    value_fen BIGINT NOT NULL CHECK (value_fen > 0),
    source TEXT NOT NULL CHECK (source IN ('web', 'presigned')),
    idem_key TEXT NOT NULL,
    body_digest TEXT NOT NULL,
    tx_ref TEXT NOT NULL,
    tx_hex TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('placing', 'placed', 'active', 'closed', 'refused')),
    refusal_code TEXT,
    refusal_message TEXT,
    close_reason TEXT,
    escrow_tx_id BIGINT NOT NULL REFERENCES journal_tx(id),
    paid_fen BIGINT NOT NULL DEFAULT 0 CHECK (paid_fen >= 0),
    refunded_fen BIGINT NOT NULL DEFAULT 0 CHECK (refunded_fen >= 0),
    checkins BIGINT NOT NULL DEFAULT 0 CHECK (checkins >= 0),
    rating_ref TEXT,
    created_ms BIGINT NOT NULL,
    decided_ms BIGINT,
    closed_ms BIGINT,
    CHECK (paid_fen + refunded_fen <= value_fen),
    UNIQUE (org_id, idem_key)
);
CREATE INDEX trade_orders_by_org ON trade_orders(org_id, created_ms);
CREATE INDEX trade_orders_by_status ON trade_orders(status, serial);
CREATE TABLE org_member_limits (
    org_id BIGINT NOT NULL REFERENCES orgs(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    did TEXT NOT NULL,
    limit_fen BIGINT NOT NULL CHECK (limit_fen >= 0),
    set_by BIGINT NOT NULL REFERENCES users(id),
    set_ms BIGINT NOT NULL,
    chain_ref TEXT,
    chain_ms BIGINT,
    PRIMARY KEY (org_id, user_id)
);
CREATE TABLE wallet_alarms (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES orgs(id),
    journal_fen BIGINT NOT NULL,
    chain_fen BIGINT NOT NULL,
    raised_ms BIGINT NOT NULL
);
CREATE INDEX wallet_alarms_by_org ON wallet_alarms(org_id, id);
