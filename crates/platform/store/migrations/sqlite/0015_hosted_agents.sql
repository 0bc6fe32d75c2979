-- Platform-hosted supplier agents (docs/supply.md §3.5, docs/key-custody.md §9): the
-- platform runs a supplier's agent with a delegated key it generated. The key's secret is
-- kept only sealed (XChaCha20-Poly1305 under the platform's hosted-agent key, a file in
-- the data directory that is never in the database) and wiped when the agent is stopped.
-- One hosted agent per supplier organisation at a time (starting or active).
CREATE TABLE hosted_agents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    supplier_org INTEGER NOT NULL REFERENCES orgs(id),
    -- The supplier DID the agent acts for.
    supplier_did TEXT NOT NULL,
    -- The agent's Ed25519 public key (64 hex characters) and its verification method.
    public_key TEXT NOT NULL UNIQUE CHECK (length(public_key) = 64),
    fragment TEXT NOT NULL,
    -- Hex of nonce || ciphertext of the key's 32-byte seed; NULL once stopped.
    sealed_key TEXT,
    -- The acceptance policy: 'auto' with its limits, or 'manual' (no limits).
    policy_mode TEXT NOT NULL CHECK (policy_mode IN ('auto', 'manual')),
    max_units INTEGER,
    max_minutes INTEGER,
    max_value_fen INTEGER,
    -- Offer ids accepted automatically, comma-separated ('': every offer).
    offers TEXT NOT NULL DEFAULT '',
    -- starting (delegation sent) | active (delegated, running) | stopped (revoked)
    status TEXT NOT NULL CHECK (status IN ('starting', 'active', 'stopped')),
    created_by INTEGER NOT NULL REFERENCES users(id),
    created_ms INTEGER NOT NULL,
    started_ms INTEGER,
    stopped_ms INTEGER,
    stopped_by INTEGER REFERENCES users(id),
    CHECK ((status = 'stopped') = (sealed_key IS NULL))
);
CREATE UNIQUE INDEX hosted_agents_one_running ON hosted_agents(supplier_org)
    WHERE status <> 'stopped';
CREATE INDEX hosted_agents_org ON hosted_agents(supplier_org, id);
