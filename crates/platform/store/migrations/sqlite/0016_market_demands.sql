-- Standing demands (issue 17, docs/market.md "Standing demands"): a consumer organisation's
-- constraint, price limit, duration and units, open until matched, cancelled or expired.
-- A match records the offer's resource and price and leaves a message for the
-- organisation in the same transaction.
CREATE TABLE market_demands (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id BIGINT NOT NULL REFERENCES orgs(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    constraint_text TEXT NOT NULL,
    max_price_fen_per_min BIGINT NOT NULL CHECK (max_price_fen_per_min >= 0),
    duration_min BIGINT NOT NULL CHECK (duration_min > 0),
    units BIGINT NOT NULL CHECK (units > 0),
    public_good BOOLEAN NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'matched', 'cancelled', 'expired')),
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,
    matched_offer_id BIGINT,
    matched_resource_id BIGINT,
    matched_price_fen_per_min BIGINT,
    matched_estimate_fen BIGINT,
    closed_ms BIGINT
);
CREATE INDEX market_demands_org ON market_demands(org_id, id);
CREATE INDEX market_demands_status ON market_demands(status, id);
