-- Operations core: organisations, users, roles, credentials, registrations, audit, settings.
-- Times are BIGINT milliseconds since the Unix epoch (UTC).
-- PostgreSQL dialect of migrations/sqlite/0001_core.sql (keep the two in step).
CREATE TABLE orgs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    distributor_id BIGINT REFERENCES orgs(id),
    sales_owner BIGINT,
    created_ms BIGINT NOT NULL
);
CREATE INDEX orgs_distributor ON orgs(distributor_id);
CREATE INDEX orgs_sales_owner ON orgs(sales_owner);

CREATE TABLE users (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES orgs(id),
    login TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    failed_logins BIGINT NOT NULL DEFAULT 0,
    locked_until_ms BIGINT,
    totp_secret_enc BYTEA,
    totp_enabled BOOLEAN NOT NULL DEFAULT FALSE,
    totp_last_step BIGINT,
    created_ms BIGINT NOT NULL
);
CREATE INDEX users_org ON users(org_id);

CREATE TABLE user_roles (
    user_id BIGINT NOT NULL REFERENCES users(id),
    role TEXT NOT NULL,
    PRIMARY KEY (user_id, role)
);

CREATE TABLE password_history (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    password_hash TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE INDEX password_history_user ON password_history(user_id, id);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    csrf_token TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id, created_ms);

CREATE TABLE api_tokens (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,
    revoked BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX api_tokens_user ON api_tokens(user_id);

CREATE TABLE recovery_codes (
    user_id BIGINT NOT NULL REFERENCES users(id),
    code_hash TEXT NOT NULL,
    used_ms BIGINT,
    PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE invite_codes (
    code TEXT PRIMARY KEY,
    distributor_id BIGINT NOT NULL REFERENCES orgs(id),
    created_ms BIGINT NOT NULL
);

CREATE TABLE registrations (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind TEXT NOT NULL,
    org_id BIGINT NOT NULL REFERENCES orgs(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    status TEXT NOT NULL,
    company_name TEXT,
    credit_code TEXT,
    licence_ref TEXT,
    legal_person TEXT,
    person_name TEXT,
    id_number_enc BYTEA,
    id_number_masked TEXT,
    phone TEXT,
    invite_code TEXT,
    submitted_ms BIGINT NOT NULL,
    reviewed_by BIGINT REFERENCES users(id),
    reviewed_ms BIGINT,
    reason TEXT,
    -- Reference to the KYC credential on the identity chain; NULL until that part exists.
    kyc_credential_ref TEXT
);
CREATE INDEX registrations_status ON registrations(status, id);

CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    at_ms BIGINT NOT NULL,
    actor_user BIGINT,
    actor_org BIGINT,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    outcome TEXT NOT NULL,
    status BIGINT NOT NULL,
    prev_hash BYTEA NOT NULL,
    hash BYTEA NOT NULL
);

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
