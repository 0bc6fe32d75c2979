-- Custodial DID keys (docs/key-custody.md): one Ed25519 key per user, its PKCS#8 secret
-- encrypted with XChaCha20-Poly1305 under a key derived from the user's password with
-- argon2id (per-key random salt, parameters stored with it). The server never stores the
-- secret in the clear and cannot decrypt it without the password.
CREATE TABLE user_keys (
    user_id BIGINT PRIMARY KEY REFERENCES users(id),
    -- The did:suanli the key created on the identity chain (NULL when no chain is attached).
    did TEXT UNIQUE,
    -- Ed25519 public key, 64 hex characters.
    public_key TEXT NOT NULL UNIQUE,
    -- Ciphertext and 16-byte tag of the PKCS#8 v1 PEM.
    secret_enc BYTEA NOT NULL,
    -- 24-byte XChaCha20-Poly1305 nonce.
    nonce BYTEA NOT NULL CHECK (length(nonce) = 24),
    -- 16-byte argon2id salt.
    kdf_salt BYTEA NOT NULL CHECK (length(kdf_salt) = 16),
    -- Key derivation: 'argon2id-v19' and its parameters.
    kdf TEXT NOT NULL,
    kdf_memory_kib BIGINT NOT NULL CHECK (kdf_memory_kib > 0),
    kdf_iterations BIGINT NOT NULL CHECK (kdf_iterations > 0),
    kdf_parallelism BIGINT NOT NULL CHECK (kdf_parallelism > 0),
    created_ms BIGINT NOT NULL,
    -- Last re-encryption under a new password.
    rewrapped_ms BIGINT,
    -- The signed identity-chain transaction that creates the DID (hex), stored before it
    -- is submitted so a retry resubmits the same transaction; its id.
    did_tx TEXT,
    did_tx_ref TEXT,
    -- When the chain applied it.
    did_created_ms BIGINT
);
CREATE INDEX user_keys_did_pending ON user_keys(did_created_ms, user_id);

-- The KYC credential the platform issued for an approved registration's DID (JSON; its id
-- is kyc_credential_ref). The credential belongs to its holder; this is the platform's copy.
ALTER TABLE registrations ADD COLUMN kyc_credential TEXT;
