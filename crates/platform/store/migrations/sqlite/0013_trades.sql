-- Orders of supplier offers as trades on the trade chain (issue 18, docs/exchange.md):
-- one row per order, stored with its signed chain transaction and the journal entry that
-- moved its value from the organisation's cash to its trade escrow (one SQL transaction);
-- the members' spending limits on the organisation's chain wallet; and the wallet
-- reconciliation's alarms.
CREATE TABLE trade_orders (
    serial TEXT PRIMARY KEY CHECK (length(serial) = 32),
    org_id INTEGER NOT NULL REFERENCES orgs(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    offer_id INTEGER NOT NULL,
    chain_offer_id INTEGER NOT NULL,
    supplier_org_id INTEGER NOT NULL REFERENCES orgs(id),
    units INTEGER NOT NULL CHECK (units >= 1),
    duration_minutes INTEGER NOT NULL CHECK (duration_minutes >= 1),
    payg INTEGER NOT NULL CHECK (payg IN (0, 1)),
    value_fen INTEGER NOT NULL CHECK (value_fen > 0),
    source TEXT NOT NULL CHECK (source IN ('web', 'presigned')),
    idem_key TEXT NOT NULL,
    body_digest TEXT NOT NULL,
    tx_ref TEXT NOT NULL,
    tx_hex TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('placing', 'placed', 'active', 'closed', 'refused')),
    refusal_code TEXT,
    refusal_message TEXT,
    close_reason TEXT,
    escrow_tx_id INTEGER NOT NULL REFERENCES journal_tx(id),
    paid_fen INTEGER NOT NULL DEFAULT 0 CHECK (paid_fen >= 0),
    refunded_fen INTEGER NOT NULL DEFAULT 0 CHECK (refunded_fen >= 0),
    checkins INTEGER NOT NULL DEFAULT 0 CHECK (checkins >= 0),
    rating_ref TEXT,
    created_ms INTEGER NOT NULL,
    decided_ms INTEGER,
    closed_ms INTEGER,
    CHECK (paid_fen + refunded_fen <= value_fen),
    UNIQUE (org_id, idem_key)
);
CREATE INDEX trade_orders_by_org ON trade_orders(org_id, created_ms);
CREATE INDEX trade_orders_by_status ON trade_orders(status, serial);
CREATE TABLE org_member_limits (
    org_id INTEGER NOT NULL REFERENCES orgs(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    did TEXT NOT NULL,
    limit_fen INTEGER NOT NULL CHECK (limit_fen >= 0),
    set_by INTEGER NOT NULL REFERENCES users(id),
    set_ms INTEGER NOT NULL,
    chain_ref TEXT,
    chain_ms INTEGER,
    PRIMARY KEY (org_id, user_id)
);
CREATE TABLE wallet_alarms (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id INTEGER NOT NULL REFERENCES orgs(id),
    journal_fen INTEGER NOT NULL,
    chain_fen INTEGER NOT NULL,
    raised_ms INTEGER NOT NULL
);
CREATE INDEX wallet_alarms_by_org ON wallet_alarms(org_id, id);
