-- The market's search index (issue 17, docs/market.md "In the product"): the platform
-- keeps the listed offers in memory and rebuilds them when this generation moves. Every
-- change that can change what the catalogue lists — an offer version written or moved,
-- a resource or mode changed, an organisation's status or name changed — bumps it in
-- the same transaction (statement triggers), so a reader that sees the old generation
-- sees the old rows.
CREATE TABLE market_listing_generation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    generation BIGINT NOT NULL
);
INSERT INTO market_listing_generation (id, generation) VALUES (1, 1);
CREATE FUNCTION market_listing_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE market_listing_generation SET generation = generation + 1 WHERE id = 1;
    RETURN NULL;
END;
$$;
CREATE TRIGGER market_gen_offers AFTER INSERT OR UPDATE OR DELETE ON supply_offers
FOR EACH STATEMENT EXECUTE FUNCTION market_listing_bump();
CREATE TRIGGER market_gen_resources AFTER UPDATE ON supply_resources
FOR EACH STATEMENT EXECUTE FUNCTION market_listing_bump();
CREATE TRIGGER market_gen_modes AFTER UPDATE ON supply_modes
FOR EACH STATEMENT EXECUTE FUNCTION market_listing_bump();
CREATE TRIGGER market_gen_orgs AFTER UPDATE OF status, name ON orgs
FOR EACH STATEMENT EXECUTE FUNCTION market_listing_bump();

-- Standing demands (docs/market.md "Standing demands"): a consumer organisation's
-- constraint, price limit, duration and units, open until matched, cancelled or expired.
-- A match records the offer's resource and price and leaves a message for the
-- organisation in the same transaction.
CREATE TABLE market_demands (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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
