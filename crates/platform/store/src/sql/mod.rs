//! The SQL implementations. One macro body generates both [`SqliteStore`] and [`PgStore`]
//! from the same SQL text, so the two cannot drift apart; only connection setup and
//! migrations differ.

use crate::records::*;
use crate::{OpsStore, PAGE_SIZE_MAX, StoreError, StoreResult};
use sqlx::Row;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use std::borrow::Cow;
use std::sync::Arc;
use suanli_platform_domain::audit::{AuditEvent, AuditRecord, GENESIS_PREV, Outcome};
use suanli_platform_domain::{
    OrgId, OrgKind, OrgStatus, OrgVisibility, Permission, RegistrationId, Role, TokenId, UserId,
};

pub(crate) fn db_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            StoreError::Conflict(d.message().to_owned())
        }
        _ => StoreError::Backend(e.to_string()),
    }
}

fn one(rows_affected: u64) -> StoreResult<()> {
    if rows_affected == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_owned())
}

fn org_id(v: i64) -> StoreResult<OrgId> {
    OrgId::new(v).ok_or_else(|| corrupt("org id"))
}
fn user_id(v: i64) -> StoreResult<UserId> {
    UserId::new(v).ok_or_else(|| corrupt("user id"))
}
fn opt_org(v: Option<i64>) -> StoreResult<Option<OrgId>> {
    v.map(org_id).transpose()
}
fn opt_user(v: Option<i64>) -> StoreResult<Option<UserId>> {
    v.map(user_id).transpose()
}
/// A comma-separated list of at most [`crate::PAGE_SIZE_MAX`] distinct integer ids for an
/// `IN (…)` clause (integers only, so nothing can be injected).
pub(crate) fn id_list(ids: impl Iterator<Item = i64>) -> String {
    let mut v: Vec<i64> = ids.collect();
    v.sort_unstable();
    v.dedup();
    v.truncate(crate::PAGE_SIZE_MAX as usize);
    v.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

pub(crate) fn limit_of(limit: u32) -> i64 {
    i64::from(limit.clamp(1, PAGE_SIZE_MAX))
}
fn hash32(v: Vec<u8>) -> StoreResult<[u8; 32]> {
    v.try_into().map_err(|_| corrupt("audit hash length"))
}
fn scopes_text(scopes: &[Permission]) -> String {
    scopes
        .iter()
        .map(|p| p.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}
fn parse_scopes(s: &str) -> StoreResult<Vec<Permission>> {
    s.split_whitespace()
        .map(|x| Permission::parse(x).ok_or_else(|| corrupt("token scope")))
        .collect()
}

/// `(own, referred_by, sales_owner)` parameters of the scoped visibility filter; `None`
/// when nothing is visible. `All` is expressed as a flag parameter.
type VisParams = (bool, Option<i64>, Option<i64>, Option<i64>);

fn vis_params(vis: OrgVisibility) -> Option<VisParams> {
    match vis {
        OrgVisibility::Nothing => None,
        OrgVisibility::All => Some((true, None, None, None)),
        OrgVisibility::Scoped {
            own,
            referred_by,
            sales_owner,
        } => Some((
            false,
            Some(own.get()),
            referred_by.map(OrgId::get),
            sales_owner.map(UserId::get),
        )),
    }
}

/// SQL condition on an `orgs` row aliased `o`, parameters `$1..$4` as from [`vis_params`].
const VIS_COND: &str = "($1 OR o.id = $2 OR o.distributor_id = $3 OR o.sales_owner = $4)";

const ORG_COLS: &str =
    "o.id, o.kind, o.name, o.status, o.distributor_id, o.sales_owner, o.created_ms";
const USER_COLS: &str = "u.id, u.org_id, u.login, u.display_name, u.password_hash, u.disabled, \
     u.failed_logins, u.locked_until_ms, u.totp_secret_enc, u.totp_enabled, u.created_ms";
const REG_COLS: &str = "id, kind, org_id, user_id, status, company_name, credit_code, licence_ref, \
     legal_person, person_name, id_number_enc, id_number_masked, phone, invite_code, submitted_ms, \
     reviewed_by, reviewed_ms, reason, kyc_credential_ref";
const TOKEN_COLS: &str = "id, user_id, name, token_hash, scopes, created_ms, expires_ms, revoked";
const KEY_COLS: &str = "user_id, did, public_key, secret_enc, nonce, kdf_salt, kdf, kdf_memory_kib, \
     kdf_iterations, kdf_parallelism, created_ms, rewrapped_ms, did_tx_ref, did_tx, did_created_ms";
/// Stores a first key, or re-encrypts the stored one (only if the public key is the same).
const KEY_UPSERT: &str = "INSERT INTO user_keys (user_id, did, public_key, secret_enc, nonce, kdf_salt, \
     kdf, kdf_memory_kib, kdf_iterations, kdf_parallelism, created_ms, did_tx_ref, did_tx) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
     ON CONFLICT (user_id) DO UPDATE SET secret_enc = excluded.secret_enc, nonce = excluded.nonce, \
     kdf_salt = excluded.kdf_salt, kdf = excluded.kdf, kdf_memory_kib = excluded.kdf_memory_kib, \
     kdf_iterations = excluded.kdf_iterations, kdf_parallelism = excluded.kdf_parallelism, \
     rewrapped_ms = excluded.created_ms \
     WHERE user_keys.public_key = excluded.public_key";
const AUDIT_COLS: &str = "seq, at_ms, actor_user, actor_org, action, target, ip, user_agent, \
     outcome, status, prev_hash, hash";

fn migration(version: i64, desc: &'static str, sql: &'static str) -> Migration {
    Migration::new(
        version,
        Cow::Borrowed(desc),
        MigrationType::Simple,
        Cow::Borrowed(sql),
        false,
    )
}

fn sqlite_migrator() -> Migrator {
    Migrator {
        migrations: Cow::Owned(vec![
            migration(
                1,
                "core",
                include_str!("../migrations/sqlite/0001_core.sql"),
            ),
            migration(
                2,
                "money",
                include_str!("../migrations/sqlite/0002_money.sql"),
            ),
            migration(
                3,
                "reversals",
                include_str!("../migrations/sqlite/0003_reversals.sql"),
            ),
            migration(
                4,
                "grants",
                include_str!("../migrations/sqlite/0004_grants.sql"),
            ),
            migration(
                5,
                "mirror signed",
                include_str!("../migrations/sqlite/0005_mirror_signed.sql"),
            ),
            migration(
                6,
                "user keys",
                include_str!("../migrations/sqlite/0006_user_keys.sql"),
            ),
        ]),
        ..Migrator::DEFAULT
    }
}

fn pg_migrator() -> Migrator {
    Migrator {
        migrations: Cow::Owned(vec![
            migration(
                1,
                "core",
                include_str!("../migrations/postgres/0001_core.sql"),
            ),
            migration(
                2,
                "money",
                include_str!("../migrations/postgres/0002_money.sql"),
            ),
            migration(
                3,
                "reversals",
                include_str!("../migrations/postgres/0003_reversals.sql"),
            ),
            migration(
                4,
                "grants",
                include_str!("../migrations/postgres/0004_grants.sql"),
            ),
            migration(
                5,
                "mirror signed",
                include_str!("../migrations/postgres/0005_mirror_signed.sql"),
            ),
            migration(
                6,
                "user keys",
                include_str!("../migrations/postgres/0006_user_keys.sql"),
            ),
        ]),
        ..Migrator::DEFAULT
    }
}

/// The embedded store: one SQLite file (WAL mode).
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pub(crate) pool: sqlx::SqlitePool,
    /// Serialises appends to the audit chain — and, on SQLite, every money write (one
    /// writer at a time without busy-waiting on the database lock).
    pub(crate) audit_lock: Arc<tokio::sync::Mutex<()>>,
    /// Where the serialised writes (orders, audit appends) run, synchronously and with
    /// group commit: see `sqlite_writer.rs`.
    pub(crate) writer: crate::sqlite_writer::SqliteWriter,
}

/// Connections in the SQLite pool.
pub const SQLITE_CONNECTIONS_MAX: u32 = 4;
/// Connections in the PostgreSQL pool.
pub const PG_CONNECTIONS_MAX: u32 = 8;
/// How long to wait for a PostgreSQL connection (also at start-up), in seconds.
pub const PG_ACQUIRE_TIMEOUT_SECS: u64 = 10;
/// How long SQLite waits for a write lock, in milliseconds.
pub const SQLITE_BUSY_TIMEOUT_MS: u64 = 5_000;

impl SqliteStore {
    /// Opens (creating if missing) the database file at `path` and applies migrations.
    pub async fn open(path: &std::path::Path) -> StoreResult<Self> {
        let opts = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(std::time::Duration::from_millis(SQLITE_BUSY_TIMEOUT_MS));
        // No liveness ping before each acquire: the connections are to a local file and
        // cannot go stale, and the ping is one more hand-off to the worker thread per use.
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(SQLITE_CONNECTIONS_MAX)
            .test_before_acquire(false)
            .connect_with(opts)
            .await
            .map_err(db_err)?;
        sqlite_migrator()
            .run(&pool)
            .await
            .map_err(|e| StoreError::Migrate(e.to_string()))?;
        let audit_lock = Arc::<tokio::sync::Mutex<()>>::default();
        let writer = crate::sqlite_writer::SqliteWriter::start(
            path,
            SQLITE_BUSY_TIMEOUT_MS,
            audit_lock.clone(),
        )?;
        Ok(Self {
            pool,
            audit_lock,
            writer,
        })
    }

    /// Runs raw SQL. For tests that play an attacker with direct database access.
    pub async fn execute_raw(&self, sql: &str) -> StoreResult<()> {
        sqlx::raw_sql(sql)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }
}

/// The PostgreSQL store.
#[derive(Debug, Clone)]
pub struct PgStore {
    pub(crate) pool: sqlx::PgPool,
    /// Queue of the audit appender task (see [`PgStore::audit_loop`]).
    audit: tokio::sync::mpsc::UnboundedSender<AuditJob>,
}

/// An audit event waiting to be appended, and where to answer.
type AuditJob = (
    AuditEvent,
    tokio::sync::oneshot::Sender<StoreResult<AuditRecord>>,
);

/// Most audit records appended in one PostgreSQL transaction.
pub const PG_AUDIT_BATCH_MAX: usize = 64;

impl PgStore {
    /// Connects to `url` (`postgres://…`) and applies migrations.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(PG_CONNECTIONS_MAX)
            .acquire_timeout(std::time::Duration::from_secs(PG_ACQUIRE_TIMEOUT_SECS))
            .connect(url)
            .await
            .map_err(db_err)?;
        pg_migrator()
            .run(&pool)
            .await
            .map_err(|e| StoreError::Migrate(e.to_string()))?;
        let (audit, queue) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(Self::audit_loop(pool.clone(), queue));
        Ok(Self { pool, audit })
    }

    /// Runs raw SQL. For tests that play an attacker with direct database access.
    pub async fn execute_raw(&self, sql: &str) -> StoreResult<()> {
        sqlx::raw_sql(sql)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    /// Closes the pool (so a test database can be dropped).
    pub async fn close(&self) {
        self.pool.close().await;
    }
    /// Creates database `name` (letters, digits, `_` only) on the server of `admin_url`
    /// and returns the URL of the new database. For benchmarks and tests that need a fresh
    /// database.
    pub async fn create_database(admin_url: &str, name: &str) -> StoreResult<String> {
        use sqlx::Connection;
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(StoreError::Rejected(
                "database name: letters, digits and _".into(),
            ));
        }
        let mut conn = sqlx::PgConnection::connect(admin_url)
            .await
            .map_err(db_err)?;
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .map_err(db_err)?;
        let (base, _) = admin_url.split_once('?').unwrap_or((admin_url, ""));
        let cut = base
            .rfind('/')
            .ok_or_else(|| StoreError::Rejected("database URL has no path".into()))?;
        Ok(format!("{}/{name}", &base[..cut]))
    }

    /// Drops database `name` (see [`PgStore::create_database`]).
    pub async fn drop_database(admin_url: &str, name: &str) -> StoreResult<()> {
        use sqlx::Connection;
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(StoreError::Rejected(
                "database name: letters, digits and _".into(),
            ));
        }
        let mut conn = sqlx::PgConnection::connect(admin_url)
            .await
            .map_err(db_err)?;
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn)
            .await
            .map_err(db_err)?;
        Ok(())
    }
}

macro_rules! sql_store {
    ($Store:ident, $Row:ty, $backend:literal) => {
        impl $Store {
            /// Stores `key` for user `uid` inside transaction `conn` ([`KEY_UPSERT`]).
            async fn put_key(
                conn: &mut <<$Row as sqlx::Row>::Database as sqlx::Database>::Connection,
                uid: i64,
                key: &NewUserKey,
            ) -> StoreResult<()> {
                let (tx_ref, tx_hex) = key.did_tx.clone().unzip();
                let k = &key.sealed;
                let done = sqlx::query(KEY_UPSERT)
                    .bind(uid)
                    .bind(key.did.clone())
                    .bind(key.public_key.clone())
                    .bind(k.ciphertext.clone())
                    .bind(k.nonce.clone())
                    .bind(k.kdf_salt.clone())
                    .bind(k.kdf.clone())
                    .bind(i64::from(k.kdf_memory_kib))
                    .bind(i64::from(k.kdf_iterations))
                    .bind(i64::from(k.kdf_parallelism))
                    .bind(key.at_ms)
                    .bind(tx_ref)
                    .bind(tx_hex)
                    .execute(&mut *conn)
                    .await
                    .map_err(db_err)?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::Rejected(
                        "the user already has another key; keys are re-encrypted, never replaced".into(),
                    ));
                }
                Ok(())
            }

            fn key_row(r: &$Row) -> StoreResult<UserKeyRecord> {
                let g = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
                let small = |c: &str| -> StoreResult<u32> {
                    u32::try_from(r.try_get::<i64, _>(c).map_err(g)?).map_err(|_| corrupt(c))
                };
                let tx_ref: Option<String> = r.try_get("did_tx_ref").map_err(g)?;
                let tx_hex: Option<String> = r.try_get("did_tx").map_err(g)?;
                Ok(UserKeyRecord {
                    user: user_id(r.try_get("user_id").map_err(g)?)?,
                    did: r.try_get("did").map_err(g)?,
                    public_key: r.try_get("public_key").map_err(g)?,
                    sealed: SealedKey {
                        ciphertext: r.try_get("secret_enc").map_err(g)?,
                        nonce: r.try_get("nonce").map_err(g)?,
                        kdf_salt: r.try_get("kdf_salt").map_err(g)?,
                        kdf: r.try_get("kdf").map_err(g)?,
                        kdf_memory_kib: small("kdf_memory_kib")?,
                        kdf_iterations: small("kdf_iterations")?,
                        kdf_parallelism: small("kdf_parallelism")?,
                    },
                    created_ms: r.try_get("created_ms").map_err(g)?,
                    rewrapped_ms: r.try_get("rewrapped_ms").map_err(g)?,
                    did_tx: tx_ref.zip(tx_hex),
                    did_created_ms: r.try_get("did_created_ms").map_err(g)?,
                })
            }

            fn org_row(r: &$Row) -> StoreResult<OrgRecord> {
                Self::org_row_as(r, "")
            }

            async fn user_row(&self, r: &$Row) -> StoreResult<UserRecord> {
                let g = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
                let id = user_id(r.try_get("id").map_err(g)?)?;
                let roles = self.roles_of(id).await?;
                Self::user_fields(r, roles)
            }

            /// A user row's fields with its (already read) roles.
            fn user_fields(r: &$Row, roles: Vec<Role>) -> StoreResult<UserRecord> {
                let g = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
                let id = user_id(r.try_get("id").map_err(g)?)?;
                Ok(UserRecord {
                    id,
                    org: org_id(r.try_get("org_id").map_err(g)?)?,
                    login: r.try_get("login").map_err(g)?,
                    display_name: r.try_get("display_name").map_err(g)?,
                    password_hash: r.try_get("password_hash").map_err(g)?,
                    roles,
                    disabled: r.try_get("disabled").map_err(g)?,
                    failed_logins: u32::try_from(r.try_get::<i64, _>("failed_logins").map_err(g)?)
                        .map_err(|_| corrupt("failed_logins"))?,
                    locked_until_ms: r.try_get("locked_until_ms").map_err(g)?,
                    totp_secret_enc: r.try_get("totp_secret_enc").map_err(g)?,
                    totp_enabled: r.try_get("totp_enabled").map_err(g)?,
                    created_ms: r.try_get("created_ms").map_err(g)?,
                })
            }

            async fn roles_of(&self, id: UserId) -> StoreResult<Vec<Role>> {
                let rows = sqlx::query("SELECT role FROM user_roles WHERE user_id = $1 ORDER BY role")
                    .bind(id.get())
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                let mut roles = rows
                    .iter()
                    .map(|r| {
                        let s: String = r.try_get("role").map_err(|e| StoreError::Corrupt(e.to_string()))?;
                        Role::parse(&s).ok_or_else(|| corrupt("role"))
                    })
                    .collect::<StoreResult<Vec<_>>>()?;
                roles.sort();
                Ok(roles)
            }

            fn reg_row(r: &$Row) -> StoreResult<RegistrationRecord> {
                let g = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
                Ok(RegistrationRecord {
                    id: RegistrationId::new(r.try_get("id").map_err(g)?)
                        .ok_or_else(|| corrupt("registration id"))?,
                    kind: RegistrationKind::parse(&r.try_get::<String, _>("kind").map_err(g)?)
                        .ok_or_else(|| corrupt("registration kind"))?,
                    org: org_id(r.try_get("org_id").map_err(g)?)?,
                    user: user_id(r.try_get("user_id").map_err(g)?)?,
                    status: RegistrationStatus::parse(&r.try_get::<String, _>("status").map_err(g)?)
                        .ok_or_else(|| corrupt("registration status"))?,
                    company_name: r.try_get("company_name").map_err(g)?,
                    credit_code: r.try_get("credit_code").map_err(g)?,
                    licence_ref: r.try_get("licence_ref").map_err(g)?,
                    legal_person: r.try_get("legal_person").map_err(g)?,
                    person_name: r.try_get("person_name").map_err(g)?,
                    id_number_enc: r.try_get("id_number_enc").map_err(g)?,
                    id_number_masked: r.try_get("id_number_masked").map_err(g)?,
                    phone: r.try_get("phone").map_err(g)?,
                    invite_code: r.try_get("invite_code").map_err(g)?,
                    submitted_ms: r.try_get("submitted_ms").map_err(g)?,
                    reviewed_by: opt_user(r.try_get("reviewed_by").map_err(g)?)?,
                    reviewed_ms: r.try_get("reviewed_ms").map_err(g)?,
                    reason: r.try_get("reason").map_err(g)?,
                    kyc_credential_ref: r.try_get("kyc_credential_ref").map_err(g)?,
                })
            }

            fn token_row(r: &$Row) -> StoreResult<TokenRecord> {
                Self::token_row_as(r, "")
            }

            /// A token from columns named `{p}id`, `{p}user_id`, ….
            fn token_row_as(r: &$Row, p: &str) -> StoreResult<TokenRecord> {
                let g = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
                let n = |c: &str| format!("{p}{c}");
                Ok(TokenRecord {
                    id: TokenId::new(r.try_get(n("id").as_str()).map_err(g)?).ok_or_else(|| corrupt("token id"))?,
                    user: user_id(r.try_get(n("user_id").as_str()).map_err(g)?)?,
                    name: r.try_get(n("name").as_str()).map_err(g)?,
                    token_hash: r.try_get(n("token_hash").as_str()).map_err(g)?,
                    scopes: parse_scopes(&r.try_get::<String, _>(n("scopes").as_str()).map_err(g)?)?,
                    created_ms: r.try_get(n("created_ms").as_str()).map_err(g)?,
                    expires_ms: r.try_get(n("expires_ms").as_str()).map_err(g)?,
                    revoked: r.try_get(n("revoked").as_str()).map_err(g)?,
                })
            }

            /// An organisation from columns named `{p}id`, `{p}kind`, ….
            fn org_row_as(r: &$Row, p: &str) -> StoreResult<OrgRecord> {
                let g = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
                let n = |c: &str| format!("{p}{c}");
                Ok(OrgRecord {
                    id: org_id(r.try_get(n("id").as_str()).map_err(g)?)?,
                    kind: OrgKind::parse(&r.try_get::<String, _>(n("kind").as_str()).map_err(g)?)
                        .ok_or_else(|| corrupt("org kind"))?,
                    name: r.try_get(n("name").as_str()).map_err(g)?,
                    status: OrgStatus::parse(&r.try_get::<String, _>(n("status").as_str()).map_err(g)?)
                        .ok_or_else(|| corrupt("org status"))?,
                    distributor: opt_org(r.try_get(n("distributor_id").as_str()).map_err(g)?)?,
                    sales_owner: opt_user(r.try_get(n("sales_owner").as_str()).map_err(g)?)?,
                    created_ms: r.try_get(n("created_ms").as_str()).map_err(g)?,
                })
            }

            fn audit_row(r: &$Row) -> StoreResult<AuditRecord> {
                let g = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
                Ok(AuditRecord {
                    seq: u64::try_from(r.try_get::<i64, _>("seq").map_err(g)?)
                        .map_err(|_| corrupt("audit seq"))?,
                    event: AuditEvent {
                        at_ms: r.try_get("at_ms").map_err(g)?,
                        actor_user: r.try_get("actor_user").map_err(g)?,
                        actor_org: r.try_get("actor_org").map_err(g)?,
                        action: r.try_get("action").map_err(g)?,
                        target: r.try_get("target").map_err(g)?,
                        ip: r.try_get("ip").map_err(g)?,
                        user_agent: r.try_get("user_agent").map_err(g)?,
                        outcome: Outcome::parse(&r.try_get::<String, _>("outcome").map_err(g)?)
                            .ok_or_else(|| corrupt("audit outcome"))?,
                        status: u16::try_from(r.try_get::<i64, _>("status").map_err(g)?)
                            .map_err(|_| corrupt("audit status"))?,
                    },
                    prev_hash: hash32(r.try_get("prev_hash").map_err(g)?)?,
                    hash: hash32(r.try_get("hash").map_err(g)?)?,
                })
            }

        }

        #[async_trait::async_trait]
        impl OpsStore for $Store {
            fn backend(&self) -> &'static str {
                $backend
            }

            async fn create_org(&self, new: &NewOrg) -> StoreResult<OrgRecord> {
                let row = sqlx::query(
                    "INSERT INTO orgs (kind, name, status, distributor_id, created_ms) \
                     VALUES ($1, $2, $3, $4, $5) RETURNING id",
                )
                .bind(new.kind.as_str())
                .bind(&new.name)
                .bind(new.status.as_str())
                .bind(new.distributor.map(OrgId::get))
                .bind(new.created_ms)
                .fetch_one(&self.pool)
                .await
                .map_err(db_err)?;
                let id: i64 = row.try_get("id").map_err(|e| StoreError::Corrupt(e.to_string()))?;
                Ok(OrgRecord {
                    id: org_id(id)?,
                    kind: new.kind,
                    name: new.name.clone(),
                    status: new.status,
                    distributor: new.distributor,
                    sales_owner: None,
                    created_ms: new.created_ms,
                })
            }

            async fn get_org(&self, id: OrgId) -> StoreResult<Option<OrgRecord>> {
                let sql = format!("SELECT {ORG_COLS} FROM orgs o WHERE o.id = $1");
                let row = sqlx::query(&sql)
                    .bind(id.get())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                row.as_ref().map(Self::org_row).transpose()
            }

            async fn list_orgs(
                &self,
                vis: OrgVisibility,
                after: Option<OrgId>,
                limit: u32,
            ) -> StoreResult<Vec<OrgRecord>> {
                let Some((all, own, dist, sales)) = vis_params(vis) else {
                    return Ok(Vec::new());
                };
                let sql = format!(
                    "SELECT {ORG_COLS} FROM orgs o WHERE {VIS_COND} AND o.id > $5 ORDER BY o.id LIMIT $6"
                );
                let rows = sqlx::query(&sql)
                    .bind(all)
                    .bind(own)
                    .bind(dist)
                    .bind(sales)
                    .bind(after.map_or(0, OrgId::get))
                    .bind(limit_of(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter().map(Self::org_row).collect()
            }

            async fn rename_org(&self, id: OrgId, name: &str) -> StoreResult<()> {
                one(sqlx::query("UPDATE orgs SET name = $1 WHERE id = $2").bind(name.to_owned()).bind(id.get()).execute(&self.pool).await.map_err(db_err)?.rows_affected())
            }

            async fn set_org_status(&self, id: OrgId, status: OrgStatus) -> StoreResult<()> {
                one(sqlx::query("UPDATE orgs SET status = $1 WHERE id = $2").bind(status.as_str()).bind(id.get()).execute(&self.pool).await.map_err(db_err)?.rows_affected())
            }

            async fn set_org_sales_owner(&self, id: OrgId, owner: Option<UserId>) -> StoreResult<()> {
                one(sqlx::query("UPDATE orgs SET sales_owner = $1 WHERE id = $2").bind(owner.map(UserId::get)).bind(id.get()).execute(&self.pool).await.map_err(db_err)?.rows_affected())
            }

            async fn orgs_by_ids(&self, ids: &[OrgId]) -> StoreResult<Vec<OrgRecord>> {
                let list = id_list(ids.iter().map(|i| i.get()));
                if list.is_empty() {
                    return Ok(Vec::new());
                }
                let sql = format!("SELECT {ORG_COLS} FROM orgs o WHERE o.id IN ({list}) ORDER BY o.id");
                let rows = sqlx::query(&sql)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter().map(Self::org_row).collect()
            }

            async fn any_org(&self) -> StoreResult<bool> {
                let row = sqlx::query("SELECT COUNT(*) AS n FROM orgs")
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db_err)?;
                let n: i64 = row.try_get("n").map_err(|e| StoreError::Corrupt(e.to_string()))?;
                Ok(n > 0)
            }

            async fn create_user(&self, new: &NewUser) -> StoreResult<UserRecord> {
                let mut tx = self.pool.begin().await.map_err(db_err)?;
                let row = sqlx::query(
                    "INSERT INTO users (org_id, login, display_name, password_hash, created_ms) \
                     VALUES ($1, $2, $3, $4, $5) RETURNING id",
                )
                .bind(new.org.get())
                .bind(&new.login)
                .bind(&new.display_name)
                .bind(&new.password_hash)
                .bind(new.created_ms)
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err)?;
                let id: i64 = row.try_get("id").map_err(|e| StoreError::Corrupt(e.to_string()))?;
                for role in &new.roles {
                    sqlx::query("INSERT INTO user_roles (user_id, role) VALUES ($1, $2)")
                        .bind(id)
                        .bind(role.as_str())
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                }
                sqlx::query(
                    "INSERT INTO password_history (user_id, password_hash, created_ms) VALUES ($1, $2, $3)",
                )
                .bind(id)
                .bind(&new.password_hash)
                .bind(new.created_ms)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                tx.commit().await.map_err(db_err)?;
                self.get_user(user_id(id)?).await?.ok_or(StoreError::NotFound)
            }

            async fn get_user(&self, id: UserId) -> StoreResult<Option<UserRecord>> {
                let sql = format!("SELECT {USER_COLS} FROM users u WHERE u.id = $1");
                let row = sqlx::query(&sql)
                    .bind(id.get())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                match row {
                    Some(r) => Ok(Some(self.user_row(&r).await?)),
                    None => Ok(None),
                }
            }

            async fn get_user_by_login(&self, login: &str) -> StoreResult<Option<UserRecord>> {
                let sql = format!("SELECT {USER_COLS} FROM users u WHERE u.login = $1");
                let row = sqlx::query(&sql)
                    .bind(login.to_owned())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                match row {
                    Some(r) => Ok(Some(self.user_row(&r).await?)),
                    None => Ok(None),
                }
            }

            async fn list_users(
                &self,
                vis: OrgVisibility,
                org: Option<OrgId>,
                after: Option<UserId>,
                limit: u32,
            ) -> StoreResult<Vec<UserRecord>> {
                let Some((all, own, dist, sales)) = vis_params(vis) else {
                    return Ok(Vec::new());
                };
                let sql = format!(
                    "SELECT {USER_COLS} FROM users u JOIN orgs o ON o.id = u.org_id \
                     WHERE {VIS_COND} AND ($5 = 0 OR u.org_id = $5) AND u.id > $6 \
                     ORDER BY u.id LIMIT $7"
                );
                let rows = sqlx::query(&sql)
                    .bind(all)
                    .bind(own)
                    .bind(dist)
                    .bind(sales)
                    .bind(org.map_or(0, OrgId::get))
                    .bind(after.map_or(0, UserId::get))
                    .bind(limit_of(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                let mut out = Vec::with_capacity(rows.len());
                for r in &rows {
                    out.push(self.user_row(r).await?);
                }
                Ok(out)
            }

            async fn set_user_roles(&self, id: UserId, roles: &[Role]) -> StoreResult<()> {
                let mut tx = self.pool.begin().await.map_err(db_err)?;
                sqlx::query("DELETE FROM user_roles WHERE user_id = $1")
                    .bind(id.get())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                for role in roles {
                    sqlx::query("INSERT INTO user_roles (user_id, role) VALUES ($1, $2)")
                        .bind(id.get())
                        .bind(role.as_str())
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                }
                tx.commit().await.map_err(db_err)
            }

            async fn set_user_disabled(&self, id: UserId, disabled: bool) -> StoreResult<()> {
                let mut tx = self.pool.begin().await.map_err(db_err)?;
                let done = sqlx::query("UPDATE users SET disabled = $1 WHERE id = $2")
                    .bind(disabled)
                    .bind(id.get())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                if disabled {
                    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                        .bind(id.get())
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                }
                tx.commit().await.map_err(db_err)
            }

            async fn set_password(
                &self,
                id: UserId,
                hash: &str,
                at_ms: i64,
                key: Option<&NewUserKey>,
            ) -> StoreResult<()> {
                let mut tx = self.pool.begin().await.map_err(db_err)?;
                if let Some(k) = key {
                    Self::put_key(&mut tx, id.get(), k).await?;
                }
                let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
                    .bind(hash.to_owned())
                    .bind(id.get())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                sqlx::query(
                    "INSERT INTO password_history (user_id, password_hash, created_ms) VALUES ($1, $2, $3)",
                )
                .bind(id.get())
                .bind(hash.to_owned())
                .bind(at_ms)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                    .bind(id.get())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                // A new password ends every credential derived from the old one.
                sqlx::query("UPDATE api_tokens SET revoked = $1 WHERE user_id = $2")
                    .bind(true)
                    .bind(id.get())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                tx.commit().await.map_err(db_err)
            }

            async fn password_history(&self, id: UserId, n: u32) -> StoreResult<Vec<String>> {
                let rows = sqlx::query(
                    "SELECT password_hash FROM password_history WHERE user_id = $1 ORDER BY id DESC LIMIT $2",
                )
                .bind(id.get())
                .bind(i64::from(n))
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
                rows.iter()
                    .map(|r| r.try_get("password_hash").map_err(|e| StoreError::Corrupt(e.to_string())))
                    .collect()
            }

            async fn add_failed_login(&self, id: UserId) -> StoreResult<u32> {
                let row = sqlx::query(
                    "UPDATE users SET failed_logins = failed_logins + 1 WHERE id = $1 RETURNING failed_logins",
                )
                .bind(id.get())
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?
                .ok_or(StoreError::NotFound)?;
                let n: i64 = row.try_get("failed_logins").map_err(|e| StoreError::Corrupt(e.to_string()))?;
                u32::try_from(n).map_err(|_| corrupt("failed_logins"))
            }

            async fn lock_user(&self, id: UserId, until_ms: i64) -> StoreResult<()> {
                one(sqlx::query("UPDATE users SET locked_until_ms = $1 WHERE id = $2").bind(until_ms).bind(id.get()).execute(&self.pool).await.map_err(db_err)?.rows_affected())
            }

            async fn clear_failed_logins(&self, id: UserId) -> StoreResult<()> {
                one(sqlx::query("UPDATE users SET failed_logins = 0, locked_until_ms = NULL WHERE id = $1").bind(id.get()).execute(&self.pool).await.map_err(db_err)?.rows_affected())
            }

            async fn set_totp(&self, id: UserId, secret_enc: Option<&[u8]>, enabled: bool) -> StoreResult<()> {
                one(sqlx::query("UPDATE users SET totp_secret_enc = $1, totp_enabled = $2 WHERE id = $3")
                        .bind(secret_enc.map(<[u8]>::to_vec))
                        .bind(enabled)
                        .bind(id.get()).execute(&self.pool).await.map_err(db_err)?.rows_affected())
            }

            async fn use_totp_step(&self, id: UserId, step: i64) -> StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE users SET totp_last_step = $1 WHERE id = $2 \
                     AND (totp_last_step IS NULL OR totp_last_step < $1)",
                )
                .bind(step)
                .bind(id.get())
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn replace_recovery_codes(&self, id: UserId, hashes: &[String]) -> StoreResult<()> {
                let mut tx = self.pool.begin().await.map_err(db_err)?;
                sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
                    .bind(id.get())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                for h in hashes {
                    sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
                        .bind(id.get())
                        .bind(h.clone())
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                }
                tx.commit().await.map_err(db_err)
            }

            async fn use_recovery_code(&self, id: UserId, hash: &str, at_ms: i64) -> StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE recovery_codes SET used_ms = $1 WHERE user_id = $2 AND code_hash = $3 AND used_ms IS NULL",
                )
                .bind(at_ms)
                .bind(id.get())
                .bind(hash.to_owned())
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn create_session(&self, s: &SessionRecord) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO sessions (token_hash, user_id, csrf_token, created_ms, expires_ms) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&s.token_hash)
                .bind(s.user.get())
                .bind(&s.csrf_token)
                .bind(s.created_ms)
                .bind(s.expires_ms)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            async fn get_session(&self, token_hash: &str) -> StoreResult<Option<SessionRecord>> {
                let row = sqlx::query(
                    "SELECT token_hash, user_id, csrf_token, created_ms, expires_ms FROM sessions WHERE token_hash = $1",
                )
                .bind(token_hash.to_owned())
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
                let Some(r) = row else { return Ok(None) };
                let g = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
                Ok(Some(SessionRecord {
                    token_hash: r.try_get("token_hash").map_err(g)?,
                    user: user_id(r.try_get("user_id").map_err(g)?)?,
                    csrf_token: r.try_get("csrf_token").map_err(g)?,
                    created_ms: r.try_get("created_ms").map_err(g)?,
                    expires_ms: r.try_get("expires_ms").map_err(g)?,
                }))
            }

            async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
                sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
                    .bind(token_hash.to_owned())
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn trim_sessions(
                &self,
                user: UserId,
                keep: u32,
                now_ms: i64,
                protect: &str,
            ) -> StoreResult<u32> {
                let mut tx = self.pool.begin().await.map_err(db_err)?;
                sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND expires_ms <= $2")
                    .bind(user.get())
                    .bind(now_ms)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                // Select the survivors, then end the rest (portable to both dialects).
                let rows = sqlx::query(
                    "SELECT token_hash FROM sessions WHERE user_id = $1 \
                     ORDER BY CASE WHEN token_hash = $3 THEN 0 ELSE 1 END, created_ms DESC, token_hash \
                     LIMIT $2",
                )
                .bind(user.get())
                .bind(i64::from(keep))
                .bind(protect.to_owned())
                .fetch_all(&mut *tx)
                .await
                .map_err(db_err)?;
                let keep_hashes: Vec<String> = rows
                    .iter()
                    .map(|r| r.try_get("token_hash").map_err(|e| StoreError::Corrupt(e.to_string())))
                    .collect::<StoreResult<_>>()?;
                let all = sqlx::query("SELECT token_hash FROM sessions WHERE user_id = $1")
                    .bind(user.get())
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(db_err)?;
                let mut ended = 0u32;
                for r in &all {
                    let h: String = r.try_get("token_hash").map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    if !keep_hashes.contains(&h) {
                        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
                            .bind(h)
                            .execute(&mut *tx)
                            .await
                            .map_err(db_err)?;
                        ended += 1;
                    }
                }
                tx.commit().await.map_err(db_err)?;
                Ok(ended)
            }

            async fn create_token(&self, t: &NewToken) -> StoreResult<TokenRecord> {
                let row = sqlx::query(
                    "INSERT INTO api_tokens (user_id, name, token_hash, scopes, created_ms, expires_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .bind(t.user.get())
                .bind(&t.name)
                .bind(&t.token_hash)
                .bind(scopes_text(&t.scopes))
                .bind(t.created_ms)
                .bind(t.expires_ms)
                .fetch_one(&self.pool)
                .await
                .map_err(db_err)?;
                let id: i64 = row.try_get("id").map_err(|e| StoreError::Corrupt(e.to_string()))?;
                Ok(TokenRecord {
                    id: TokenId::new(id).ok_or_else(|| corrupt("token id"))?,
                    user: t.user,
                    name: t.name.clone(),
                    token_hash: t.token_hash.clone(),
                    scopes: t.scopes.clone(),
                    created_ms: t.created_ms,
                    expires_ms: t.expires_ms,
                    revoked: false,
                })
            }

            async fn get_token_by_hash(&self, token_hash: &str) -> StoreResult<Option<TokenRecord>> {
                let sql = format!("SELECT {TOKEN_COLS} FROM api_tokens WHERE token_hash = $1");
                let row = sqlx::query(&sql)
                    .bind(token_hash.to_owned())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                row.as_ref().map(Self::token_row).transpose()
            }

            async fn token_principal(&self, token_hash: &str) -> StoreResult<Option<TokenPrincipal>> {
                // One row per role of the user (one row with a NULL role if it has none).
                let sql = format!(
                    "SELECT {USER_COLS}, \
                     t.id AS t_id, t.user_id AS t_user_id, t.name AS t_name, t.token_hash AS t_token_hash, \
                     t.scopes AS t_scopes, t.created_ms AS t_created_ms, t.expires_ms AS t_expires_ms, \
                     t.revoked AS t_revoked, o.id AS o_id, o.kind AS o_kind, o.name AS o_name, \
                     o.status AS o_status, o.distributor_id AS o_distributor_id, \
                     o.sales_owner AS o_sales_owner, o.created_ms AS o_created_ms, r.role AS r_role \
                     FROM api_tokens t JOIN users u ON u.id = t.user_id JOIN orgs o ON o.id = u.org_id \
                     LEFT JOIN user_roles r ON r.user_id = u.id WHERE t.token_hash = $1"
                );
                let rows = sqlx::query(&sql)
                    .bind(token_hash.to_owned())
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                let Some(first) = rows.first() else { return Ok(None) };
                let mut roles = Vec::with_capacity(rows.len());
                for r in &rows {
                    let role: Option<String> =
                        r.try_get("r_role").map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    if let Some(role) = role {
                        roles.push(Role::parse(&role).ok_or_else(|| corrupt("role"))?);
                    }
                }
                roles.sort();
                roles.dedup();
                Ok(Some(TokenPrincipal {
                    token: Self::token_row_as(first, "t_")?,
                    user: Self::user_fields(first, roles)?,
                    org: Self::org_row_as(first, "o_")?,
                }))
            }

            async fn list_tokens(&self, user: UserId) -> StoreResult<Vec<TokenRecord>> {
                let sql = format!(
                    "SELECT {TOKEN_COLS} FROM api_tokens WHERE user_id = $1 ORDER BY id LIMIT $2"
                );
                let rows = sqlx::query(&sql)
                    .bind(user.get())
                    .bind(i64::from(PAGE_SIZE_MAX))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter().map(Self::token_row).collect()
            }

            async fn revoke_token(&self, user: UserId, id: TokenId) -> StoreResult<bool> {
                let done = sqlx::query("UPDATE api_tokens SET revoked = $1 WHERE id = $2 AND user_id = $3")
                    .bind(true)
                    .bind(id.get())
                    .bind(user.get())
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn create_invite(&self, code: &str, distributor: OrgId, at_ms: i64) -> StoreResult<()> {
                sqlx::query("INSERT INTO invite_codes (code, distributor_id, created_ms) VALUES ($1, $2, $3)")
                    .bind(code.to_owned())
                    .bind(distributor.get())
                    .bind(at_ms)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn get_invite(&self, code: &str) -> StoreResult<Option<OrgId>> {
                let row = sqlx::query("SELECT distributor_id FROM invite_codes WHERE code = $1")
                    .bind(code.to_owned())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                match row {
                    Some(r) => Ok(Some(org_id(
                        r.try_get("distributor_id").map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    )?)),
                    None => Ok(None),
                }
            }

            async fn register(
                &self,
                org: &NewOrg,
                user: &NewUser,
                reg: &NewRegistration,
                key: Option<&NewUserKey>,
            ) -> StoreResult<RegistrationRecord> {
                let g = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
                let kind = match org.kind {
                    OrgKind::Enterprise => RegistrationKind::Enterprise,
                    OrgKind::Personal => RegistrationKind::Personal,
                    _ => return Err(StoreError::Corrupt("registration of a non-customer kind".into())),
                };
                let mut tx = self.pool.begin().await.map_err(db_err)?;
                let oid: i64 = sqlx::query(
                    "INSERT INTO orgs (kind, name, status, distributor_id, created_ms) \
                     VALUES ($1, $2, $3, $4, $5) RETURNING id",
                )
                .bind(org.kind.as_str())
                .bind(&org.name)
                .bind(org.status.as_str())
                .bind(org.distributor.map(OrgId::get))
                .bind(org.created_ms)
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err)?
                .try_get("id")
                .map_err(g)?;
                let uid: i64 = sqlx::query(
                    "INSERT INTO users (org_id, login, display_name, password_hash, created_ms) \
                     VALUES ($1, $2, $3, $4, $5) RETURNING id",
                )
                .bind(oid)
                .bind(&user.login)
                .bind(&user.display_name)
                .bind(&user.password_hash)
                .bind(user.created_ms)
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err)?
                .try_get("id")
                .map_err(g)?;
                for role in &user.roles {
                    sqlx::query("INSERT INTO user_roles (user_id, role) VALUES ($1, $2)")
                        .bind(uid)
                        .bind(role.as_str())
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                }
                sqlx::query(
                    "INSERT INTO password_history (user_id, password_hash, created_ms) VALUES ($1, $2, $3)",
                )
                .bind(uid)
                .bind(&user.password_hash)
                .bind(user.created_ms)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                if let Some(k) = key {
                    Self::put_key(&mut tx, uid, k).await?;
                }
                let rid: i64 = sqlx::query(
                    "INSERT INTO registrations (kind, org_id, user_id, status, company_name, credit_code, \
                     licence_ref, legal_person, person_name, id_number_enc, id_number_masked, phone, \
                     invite_code, submitted_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
                )
                .bind(kind.as_str())
                .bind(oid)
                .bind(uid)
                .bind(RegistrationStatus::Pending.as_str())
                .bind(reg.company_name.clone())
                .bind(reg.credit_code.clone())
                .bind(reg.licence_ref.clone())
                .bind(reg.legal_person.clone())
                .bind(reg.person_name.clone())
                .bind(reg.id_number_enc.clone())
                .bind(reg.id_number_masked.clone())
                .bind(reg.phone.clone())
                .bind(reg.invite_code.clone())
                .bind(reg.submitted_ms)
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err)?
                .try_get("id")
                .map_err(g)?;
                tx.commit().await.map_err(db_err)?;
                let id = RegistrationId::new(rid).ok_or_else(|| corrupt("registration id"))?;
                self.get_registration(id).await?.ok_or(StoreError::NotFound)
            }

            async fn set_kyc_credential(
                &self,
                id: RegistrationId,
                reference: &str,
                credential_json: &str,
            ) -> StoreResult<()> {
                one(sqlx::query(
                    "UPDATE registrations SET kyc_credential_ref = $1, kyc_credential = $2 \
                     WHERE id = $3 AND status = $4 AND kyc_credential_ref IS NULL",
                )
                .bind(reference.to_owned())
                .bind(credential_json.to_owned())
                .bind(id.get())
                .bind(RegistrationStatus::Approved.as_str())
                .execute(&self.pool)
                .await
                .map_err(db_err)?
                .rows_affected())
            }

            async fn kyc_credential_of(&self, user: UserId) -> StoreResult<Option<String>> {
                let row = sqlx::query(
                    "SELECT kyc_credential FROM registrations WHERE user_id = $1 AND kyc_credential IS NOT NULL \
                     ORDER BY id DESC LIMIT 1",
                )
                .bind(user.get())
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
                row.map(|r| r.try_get("kyc_credential").map_err(|e| StoreError::Corrupt(e.to_string())))
                    .transpose()
            }

            async fn get_user_key(&self, user: UserId) -> StoreResult<Option<UserKeyRecord>> {
                let sql = format!("SELECT {KEY_COLS} FROM user_keys WHERE user_id = $1");
                let row = sqlx::query(&sql)
                    .bind(user.get())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                row.as_ref().map(Self::key_row).transpose()
            }

            async fn dids_pending(&self, limit: u32) -> StoreResult<Vec<UserKeyRecord>> {
                let sql = format!(
                    "SELECT {KEY_COLS} FROM user_keys WHERE did_created_ms IS NULL AND did_tx IS NOT NULL \
                     ORDER BY user_id LIMIT $1"
                );
                let rows = sqlx::query(&sql)
                    .bind(limit_of(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter().map(Self::key_row).collect()
            }

            async fn set_did_created(&self, user: UserId, at_ms: i64) -> StoreResult<()> {
                one(sqlx::query("UPDATE user_keys SET did_created_ms = $1 WHERE user_id = $2 AND did_tx IS NOT NULL")
                    .bind(at_ms)
                    .bind(user.get())
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?
                    .rows_affected())
            }

            async fn get_registration(&self, id: RegistrationId) -> StoreResult<Option<RegistrationRecord>> {
                let sql = format!("SELECT {REG_COLS} FROM registrations WHERE id = $1");
                let row = sqlx::query(&sql)
                    .bind(id.get())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                row.as_ref().map(Self::reg_row).transpose()
            }

            async fn list_registrations(
                &self,
                status: Option<RegistrationStatus>,
                after: Option<RegistrationId>,
                limit: u32,
            ) -> StoreResult<Vec<RegistrationRecord>> {
                let sql = format!(
                    "SELECT {REG_COLS} FROM registrations WHERE ($1 = '' OR status = $1) AND id > $2 \
                     ORDER BY id LIMIT $3"
                );
                let rows = sqlx::query(&sql)
                    .bind(status.map_or("", RegistrationStatus::as_str))
                    .bind(after.map_or(0, RegistrationId::get))
                    .bind(limit_of(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter().map(Self::reg_row).collect()
            }

            async fn decide_registration(&self, d: &Decision) -> StoreResult<RegistrationRecord> {
                let (reg_status, org_status) = if d.approve {
                    (RegistrationStatus::Approved, OrgStatus::Active)
                } else {
                    (RegistrationStatus::Rejected, OrgStatus::Rejected)
                };
                let mut tx = self.pool.begin().await.map_err(db_err)?;
                let row = sqlx::query(
                    "UPDATE registrations SET status = $1, reviewed_by = $2, reviewed_ms = $3, reason = $4 \
                     WHERE id = $5 AND status = $6 RETURNING org_id",
                )
                .bind(reg_status.as_str())
                .bind(d.reviewer.get())
                .bind(d.at_ms)
                .bind(d.reason.clone())
                .bind(d.id.get())
                .bind(RegistrationStatus::Pending.as_str())
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?
                .ok_or(StoreError::NotFound)?;
                let oid: i64 = row.try_get("org_id").map_err(|e| StoreError::Corrupt(e.to_string()))?;
                // Only a still-pending organisation follows its registration's decision; one
                // suspended meanwhile stays suspended.
                sqlx::query("UPDATE orgs SET status = $1 WHERE id = $2 AND status = 'pending'")
                    .bind(org_status.as_str())
                    .bind(oid)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                tx.commit().await.map_err(db_err)?;
                self.get_registration(d.id).await?.ok_or(StoreError::NotFound)
            }

            async fn append_audit(&self, event: &AuditEvent) -> StoreResult<AuditRecord> {
                self.append_audit_serialised(event).await
            }

            async fn list_audit(&self, after: u64, limit: u32) -> StoreResult<Vec<AuditRecord>> {
                let sql = format!(
                    "SELECT {AUDIT_COLS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2"
                );
                let rows = sqlx::query(&sql)
                    .bind(i64::try_from(after).unwrap_or(i64::MAX))
                    .bind(limit_of(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter().map(Self::audit_row).collect()
            }

            async fn query_audit(
                &self,
                f: &AuditFilter,
                after: u64,
                limit: u32,
            ) -> StoreResult<Vec<AuditRecord>> {
                let sql = format!(
                    "SELECT {AUDIT_COLS} FROM audit_log WHERE seq > $1 \
                     AND ($2 = 0 OR actor_org = $2) AND ($3 = 0 OR actor_user = $3) \
                     AND ($4 = '' OR outcome = $4) AND at_ms >= $5 AND at_ms < $6 \
                     ORDER BY seq LIMIT $7"
                );
                let rows = sqlx::query(&sql)
                    .bind(i64::try_from(after).unwrap_or(i64::MAX))
                    .bind(f.actor_org.unwrap_or(0))
                    .bind(f.actor_user.unwrap_or(0))
                    .bind(f.outcome.map_or("", Outcome::as_str))
                    .bind(f.from_ms.unwrap_or(i64::MIN))
                    .bind(f.to_ms.unwrap_or(i64::MAX))
                    .bind(limit_of(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter().map(Self::audit_row).collect()
            }

            async fn audit_head(&self) -> StoreResult<Option<(u64, [u8; 32])>> {
                let row = sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                let Some(r) = row else { return Ok(None) };
                let g = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
                let s: i64 = r.try_get("seq").map_err(g)?;
                let h: Vec<u8> = r.try_get("hash").map_err(g)?;
                Ok(Some((u64::try_from(s).map_err(|_| corrupt("audit seq"))?, hash32(h)?)))
            }

            async fn get_setting(&self, key: &str) -> StoreResult<Option<String>> {
                let row = sqlx::query("SELECT value FROM settings WHERE key = $1")
                    .bind(key.to_owned())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                row.map(|r| r.try_get("value").map_err(|e| StoreError::Corrupt(e.to_string())))
                    .transpose()
            }

            async fn put_setting(&self, key: &str, value: &str) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO settings (key, value) VALUES ($1, $2) \
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                )
                .bind(key.to_owned())
                .bind(value.to_owned())
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(())
            }
        }
    };
}

sql_store!(SqliteStore, sqlx::sqlite::SqliteRow, "sqlite");
sql_store!(PgStore, sqlx::postgres::PgRow, "postgres");

impl SqliteStore {
    /// Appends on the writer thread (one hand-off, group commit).
    async fn append_audit_serialised(&self, event: &AuditEvent) -> StoreResult<AuditRecord> {
        let event = event.clone();
        self.writer
            .call(move |conn| crate::sqlite_writer::append_audit(conn, &event))
            .await
    }
}

impl PgStore {
    /// Queues the append for the appender task and waits for its commit.
    async fn append_audit_serialised(&self, event: &AuditEvent) -> StoreResult<AuditRecord> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let gone = || StoreError::Backend("the audit appender has stopped".into());
        self.audit
            .send((event.clone().bounded(), tx))
            .map_err(|_| gone())?;
        rx.await.map_err(|_| gone())?
    }

    /// The audit appender: one task per store appends every queued event (at most
    /// [`PG_AUDIT_BATCH_MAX`]) in one transaction under the table lock — one head read, one
    /// multi-row insert — and answers each caller after the commit (all with the error if
    /// it fails). Appends are serialised by this task within the process and by the table
    /// lock across processes, so the hash chain never forks. Ends when the store is dropped.
    async fn audit_loop(
        pool: sqlx::PgPool,
        mut queue: tokio::sync::mpsc::UnboundedReceiver<AuditJob>,
    ) {
        while let Some(first) = queue.recv().await {
            let mut batch = vec![first];
            while batch.len() < PG_AUDIT_BATCH_MAX {
                match queue.try_recv() {
                    Ok(j) => batch.push(j),
                    Err(_) => break,
                }
            }
            let events: Vec<&AuditEvent> = batch.iter().map(|(e, _)| e).collect();
            match Self::append_batch(&pool, &events).await {
                Ok(records) => {
                    for ((_, answer), rec) in batch.into_iter().zip(records) {
                        let _ = answer.send(Ok(rec));
                    }
                }
                Err(e) => {
                    let msg = e.to_string();
                    for (_, answer) in batch {
                        let _ = answer.send(Err(StoreError::Backend(format!(
                            "audit append failed: {msg}"
                        ))));
                    }
                }
            }
        }
    }

    async fn append_batch(
        pool: &sqlx::PgPool,
        events: &[&AuditEvent],
    ) -> StoreResult<Vec<AuditRecord>> {
        // The table lock keeps a writer in another process from invalidating the head
        // we read.
        let mut tx = pool.begin_with("BEGIN").await.map_err(db_err)?;
        sqlx::query("LOCK TABLE audit_log IN EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        let head = sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        let (mut seq, mut prev) = match head {
            Some(r) => {
                let g = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
                let s: i64 = r.try_get("seq").map_err(g)?;
                let h: Vec<u8> = r.try_get("hash").map_err(g)?;
                (
                    u64::try_from(s).map_err(|_| corrupt("audit seq"))? + 1,
                    hash32(h)?,
                )
            }
            None => (1, GENESIS_PREV),
        };
        let mut records = Vec::with_capacity(events.len());
        for e in events {
            let hash = e.chain_hash(seq, &prev);
            records.push(AuditRecord {
                seq,
                event: (*e).clone(),
                prev_hash: prev,
                hash,
            });
            prev = hash;
            seq += 1;
        }
        let values: Vec<String> = (0..records.len())
            .map(|i| {
                let b = i * 12;
                let p: Vec<String> = (1..=12).map(|k| format!("${}", b + k)).collect();
                format!("({})", p.join(", "))
            })
            .collect();
        let sql = format!(
            "INSERT INTO audit_log ({AUDIT_COLS}) VALUES {}",
            values.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for r in &records {
            let e = &r.event;
            q = q
                .bind(i64::try_from(r.seq).map_err(|_| corrupt("audit seq"))?)
                .bind(e.at_ms)
                .bind(e.actor_user)
                .bind(e.actor_org)
                .bind(e.action.clone())
                .bind(e.target.clone())
                .bind(e.ip.clone())
                .bind(e.user_agent.clone())
                .bind(e.outcome.as_str())
                .bind(i64::from(e.status))
                .bind(r.prev_hash.to_vec())
                .bind(r.hash.to_vec());
        }
        q.execute(&mut *tx).await.map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(records)
    }
}
