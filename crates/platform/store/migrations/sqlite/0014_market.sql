-- The market's search index (issue 17, docs/market.md "In the product"): the platform
-- keeps the listed offers in memory and rebuilds them when this generation moves. Every
-- change that can change what the catalogue lists — an offer version written or moved,
-- a resource or mode changed, an organisation's status or name changed — bumps it in
-- the same transaction (triggers), so a reader that sees the old generation sees the old
-- rows.
CREATE TABLE market_listing_generation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    generation BIGINT NOT NULL
);
INSERT INTO market_listing_generation (id, generation) VALUES (1, 1);
CREATE TRIGGER market_gen_offer_insert AFTER INSERT ON supply_offers
BEGIN UPDATE market_listing_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER market_gen_offer_update AFTER UPDATE ON supply_offers
BEGIN UPDATE market_listing_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER market_gen_offer_delete AFTER DELETE ON supply_offers
BEGIN UPDATE market_listing_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER market_gen_resource_update AFTER UPDATE ON supply_resources
BEGIN UPDATE market_listing_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER market_gen_mode_update AFTER UPDATE ON supply_modes
BEGIN UPDATE market_listing_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER market_gen_org_update AFTER UPDATE OF status, name ON orgs
BEGIN UPDATE market_listing_generation SET generation = generation + 1 WHERE id = 1; END;
