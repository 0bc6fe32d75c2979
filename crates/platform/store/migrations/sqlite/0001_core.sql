-- Operations core: organisations, users, roles, credentials, registrations, audit, settings.
-- Times are BIGINT milliseconds since the Unix epoch (UTC).
CREATE TABLE orgs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    distributor_id INTEGER REFERENCES orgs(id),
    sales_owner INTEGER,
    created_ms INTEGER NOT NULL
);
CREATE INDEX orgs_distributor ON orgs(distributor_id);
CREATE INDEX orgs_sales_owner ON orgs(sales_owner);

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id INTEGER NOT NULL REFERENCES orgs(id),
    login TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT 0,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until_ms INTEGER,
    totp_secret_enc BLOB,
    totp_enabled BOOLEAN NOT NULL DEFAULT 0,
    totp_last_step INTEGER,
    created_ms INTEGER NOT NULL
);
CREATE INDEX users_org ON users(org_id);

CREATE TABLE user_roles (
    user_id INTEGER NOT NULL REFERENCES users(id),
    role TEXT NOT NULL,
    PRIMARY KEY (user_id, role)
);

CREATE TABLE password_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(id),
    password_hash TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);
CREATE INDEX password_history_user ON password_history(user_id, id);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    csrf_token TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id, created_ms);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(id),
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL,
    revoked BOOLEAN NOT NULL DEFAULT 0
);
CREATE INDEX api_tokens_user ON api_tokens(user_id);

CREATE TABLE recovery_codes (
    user_id INTEGER NOT NULL REFERENCES users(id),
    code_hash TEXT NOT NULL,
    used_ms INTEGER,
    PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE invite_codes (
    code TEXT PRIMARY KEY,
    distributor_id INTEGER NOT NULL REFERENCES orgs(id),
    created_ms INTEGER NOT NULL
);

CREATE TABLE registrations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    org_id INTEGER NOT NULL REFERENCES orgs(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    status TEXT NOT NULL,
    company_name TEXT,
    credit_code TEXT,
    licence_ref TEXT,
    legal_person TEXT,
    person_name TEXT,
    id_number_enc BLOB,
    id_number_masked TEXT,
    phone TEXT,
    invite_code TEXT,
    submitted_ms INTEGER NOT NULL,
    reviewed_by INTEGER REFERENCES users(id),
    reviewed_ms INTEGER,
    reason TEXT,
    -- Reference to the KYC credential on the identity chain; NULL until that part exists.
    kyc_credential_ref TEXT
);
CREATE INDEX registrations_status ON registrations(status, id);

CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY,
    at_ms INTEGER NOT NULL,
    actor_user INTEGER,
    actor_org INTEGER,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    outcome TEXT NOT NULL,
    status INTEGER NOT NULL,
    prev_hash BLOB NOT NULL,
    hash BLOB NOT NULL
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
