-- The exchange worker's robustness (issue 18, docs/exchange.md §1 and §3):
-- 1. trades a member placed on the chain past the platform, paid from its organisation's
--    wallet, are imported with source 'chain' (SQLite cannot change a CHECK in place: the
--    table is rebuilt with the same columns, rows and indexes);
-- 2. a mirror instruction the chain definitely refused is marked failed (its code, message
--    and time) instead of blocking the outbox; a failed instruction is no longer pending.
CREATE TABLE trade_orders_0019 (
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
    source TEXT NOT NULL CHECK (source IN ('web', 'presigned', 'chain')),
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
INSERT INTO trade_orders_0019 SELECT serial, org_id, user_id, offer_id, chain_offer_id,
    supplier_org_id, units, duration_minutes, payg, value_fen, source, idem_key, body_digest,
    tx_ref, tx_hex, status, refusal_code, refusal_message, close_reason, escrow_tx_id,
    paid_fen, refunded_fen, checkins, rating_ref, created_ms, decided_ms, closed_ms
    FROM trade_orders;
DROP TABLE trade_orders;
ALTER TABLE trade_orders_0019 RENAME TO trade_orders;
CREATE INDEX trade_orders_by_org ON trade_orders(org_id, created_ms);
CREATE INDEX trade_orders_by_status ON trade_orders(status, serial);
CREATE INDEX trade_orders_by_supplier ON trade_orders(supplier_org_id, created_ms);
ALTER TABLE mirror_outbox ADD COLUMN failed_code TEXT;
ALTER TABLE mirror_outbox ADD COLUMN failed_message TEXT;
ALTER TABLE mirror_outbox ADD COLUMN failed_ms INTEGER;
