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
