-- Standing demands confirmed into orders and the operator's batch allocations (issue 17,
-- docs/market.md "Confirming a match" and "Batch allocation").
-- SQLite cannot change a CHECK constraint: the demands table is rebuilt with the new
-- status `confirmed`, the trade it was confirmed into, who proposed the match (NULL:
-- the continuous engine; else the batch allocation's id) and whether the demand waits
-- for the operator's batch allocation instead of the continuous engine.
CREATE TABLE market_demands_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id BIGINT NOT NULL REFERENCES orgs(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    constraint_text TEXT NOT NULL,
    max_price_fen_per_min BIGINT NOT NULL CHECK (max_price_fen_per_min >= 0),
    duration_min BIGINT NOT NULL CHECK (duration_min > 0),
    units BIGINT NOT NULL CHECK (units > 0),
    public_good BOOLEAN NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'matched', 'confirmed', 'cancelled', 'expired')),
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,
    matched_offer_id BIGINT,
    matched_resource_id BIGINT,
    matched_price_fen_per_min BIGINT,
    matched_estimate_fen BIGINT,
    closed_ms BIGINT,
    matched_by BIGINT,
    trade_serial TEXT,
    confirmed_ms BIGINT,
    batch BOOLEAN NOT NULL DEFAULT FALSE
);
INSERT INTO market_demands_new (id, org_id, user_id, constraint_text, max_price_fen_per_min,
    duration_min, units, public_good, status, created_ms, expires_ms, matched_offer_id,
    matched_resource_id, matched_price_fen_per_min, matched_estimate_fen, closed_ms)
SELECT id, org_id, user_id, constraint_text, max_price_fen_per_min, duration_min, units,
    public_good, status, created_ms, expires_ms, matched_offer_id, matched_resource_id,
    matched_price_fen_per_min, matched_estimate_fen, closed_ms FROM market_demands;
DROP TABLE market_demands;
ALTER TABLE market_demands_new RENAME TO market_demands;
CREATE INDEX market_demands_org ON market_demands(org_id, id);
CREATE INDEX market_demands_status ON market_demands(status, id);
CREATE UNIQUE INDEX market_demands_trade ON market_demands(trade_serial) WHERE trade_serial IS NOT NULL;

-- A batch allocation run by the operator: both schedulers' proposals and their
-- comparison (JSON, docs/market.md), proposed until the operator confirms one method.
CREATE TABLE market_allocations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users(id),
    created_ms BIGINT NOT NULL,
    report_json TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('proposed', 'confirmed')),
    method TEXT,
    confirmed_ms BIGINT,
    confirmed_count BIGINT
);
