-- The supply side's resources, trade modes and offers (docs/supply.md §2).
-- Resources: a supplier's devices or nodes with the market's typed attributes
-- (docs/market.md; ranges checked in the domain). Attribute numbers are not money.
CREATE TABLE supply_resources (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id BIGINT NOT NULL REFERENCES orgs(id),
    name TEXT NOT NULL,
    location TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('online', 'offline', 'maintenance')),
    gpu_model TEXT NOT NULL,
    gpu_count BIGINT NOT NULL CHECK (gpu_count >= 0),
    gpu_mem_gb BIGINT NOT NULL CHECK (gpu_mem_gb >= 0),
    cpu_cores BIGINT NOT NULL CHECK (cpu_cores >= 0),
    ram_gb BIGINT NOT NULL CHECK (ram_gb >= 0),
    storage_gb BIGINT NOT NULL CHECK (storage_gb >= 0),
    tflops REAL NOT NULL,
    region TEXT NOT NULL,
    available_from_min BIGINT NOT NULL,
    available_until_min BIGINT NOT NULL,
    green_share REAL NOT NULL,
    carbon_g_per_kwh REAL NOT NULL,
    pue REAL NOT NULL,
    utilisation REAL NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    UNIQUE (org_id, name)
);

-- Trade modes: the terms a supplier publishes on the trade chain (chain_mode_id once
-- published, with the transaction id).
CREATE TABLE supply_modes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id BIGINT NOT NULL REFERENCES orgs(id),
    name TEXT NOT NULL,
    price_fen_per_min BIGINT NOT NULL CHECK (price_fen_per_min > 0),
    min_charge_fen BIGINT NOT NULL CHECK (min_charge_fen >= 0),
    checkin_period_min BIGINT NOT NULL CHECK (checkin_period_min > 0),
    -- JSON object: resource dimension -> per mille.
    weights TEXT NOT NULL,
    -- JSON array of {months, discount_bp}.
    terms TEXT NOT NULL,
    trade_start_cpt BIGINT NOT NULL,
    checkin_cpt BIGINT NOT NULL,
    chain_mode_id BIGINT,
    chain_tx TEXT,
    published_ms BIGINT,
    created_ms BIGINT NOT NULL
);
CREATE INDEX supply_modes_org ON supply_modes(org_id, id);

-- Offers, one row per version; versions of one offer share lineage_id (the first
-- version's id). status: draft, in_review, listed, rejected, superseded, withdrawn.
CREATE TABLE supply_offers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id BIGINT NOT NULL REFERENCES orgs(id),
    -- NULL only inside the transaction that inserts a first version.
    lineage_id BIGINT,
    version BIGINT NOT NULL CHECK (version >= 1),
    mode_id BIGINT NOT NULL REFERENCES supply_modes(id),
    title TEXT NOT NULL,
    units BIGINT NOT NULL CHECK (units > 0),
    valid_from_ms BIGINT NOT NULL,
    valid_until_ms BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'in_review', 'listed', 'rejected', 'superseded', 'withdrawn')),
    chain_offer_id BIGINT,
    chain_tx TEXT,
    published_ms BIGINT,
    reason TEXT,
    reviewed_by BIGINT REFERENCES users(id),
    reviewed_ms BIGINT,
    withdrawn_ms BIGINT,
    created_ms BIGINT NOT NULL,
    UNIQUE (lineage_id, version)
);
CREATE INDEX supply_offers_org ON supply_offers(org_id, id);
CREATE INDEX supply_offers_status ON supply_offers(status, id);

CREATE TABLE supply_offer_resources (
    offer_id BIGINT NOT NULL REFERENCES supply_offers(id),
    resource_id BIGINT NOT NULL REFERENCES supply_resources(id),
    PRIMARY KEY (offer_id, resource_id)
);
