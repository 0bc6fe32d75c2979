//! The SQL implementations. One macro body generates both [`SqliteStore`] and [`PgStore`]
//! from the same SQL text, so the two cannot drift apart; only connection setup and
//! migrations differ.

use crate::records::*;
use crate::{OpsStore, PAGE_SIZE_MAX, StoreError, StoreResult};
use sqlx::Row;
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

mod migrations;
#[macro_use]
mod rows;
#[macro_use]
mod orgs_users;
#[macro_use]
mod sessions;
#[macro_use]
mod audit;
#[macro_use]
mod suppliers;
use migrations::{pg_migrator, sqlite_migrator};

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
        sql_rows!($Store, $Row);
        sql_orgs_users!($Store, $Row);
        sql_sessions!($Store, $Row);
        sql_audit!($Store, $Row);
        sql_suppliers!($Store, $Row);

        // The trait's methods are the inherent ones of the section files above.
        #[async_trait::async_trait]
        impl OpsStore for $Store {
            fn backend(&self) -> &'static str {
                $backend
            }

            async fn create_org(&self, new: &NewOrg) -> StoreResult<OrgRecord> {
                $Store::create_org(self, new).await
            }

            async fn get_org(&self, id: OrgId) -> StoreResult<Option<OrgRecord>> {
                $Store::get_org(self, id).await
            }

            async fn list_orgs(
                &self,
                vis: OrgVisibility,
                after: Option<OrgId>,
                limit: u32,
            ) -> StoreResult<Vec<OrgRecord>> {
                $Store::list_orgs(self, vis, after, limit).await
            }

            async fn rename_org(&self, id: OrgId, name: &str) -> StoreResult<()> {
                $Store::rename_org(self, id, name).await
            }

            async fn set_org_status(&self, id: OrgId, status: OrgStatus) -> StoreResult<()> {
                $Store::set_org_status(self, id, status).await
            }

            async fn set_org_sales_owner(
                &self,
                id: OrgId,
                owner: Option<UserId>,
            ) -> StoreResult<()> {
                $Store::set_org_sales_owner(self, id, owner).await
            }

            async fn orgs_by_ids(&self, ids: &[OrgId]) -> StoreResult<Vec<OrgRecord>> {
                $Store::orgs_by_ids(self, ids).await
            }

            async fn any_org(&self) -> StoreResult<bool> {
                $Store::any_org(self).await
            }

            async fn create_user(&self, new: &NewUser) -> StoreResult<UserRecord> {
                $Store::create_user(self, new).await
            }

            async fn get_user(&self, id: UserId) -> StoreResult<Option<UserRecord>> {
                $Store::get_user(self, id).await
            }

            async fn get_user_by_login(&self, login: &str) -> StoreResult<Option<UserRecord>> {
                $Store::get_user_by_login(self, login).await
            }

            async fn list_users(
                &self,
                vis: OrgVisibility,
                org: Option<OrgId>,
                after: Option<UserId>,
                limit: u32,
            ) -> StoreResult<Vec<UserRecord>> {
                $Store::list_users(self, vis, org, after, limit).await
            }

            async fn set_user_roles(&self, id: UserId, roles: &[Role]) -> StoreResult<()> {
                $Store::set_user_roles(self, id, roles).await
            }

            async fn set_user_disabled(&self, id: UserId, disabled: bool) -> StoreResult<()> {
                $Store::set_user_disabled(self, id, disabled).await
            }

            async fn set_password(
                &self,
                id: UserId,
                hash: &str,
                at_ms: i64,
                key: Option<&NewUserKey>,
            ) -> StoreResult<()> {
                $Store::set_password(self, id, hash, at_ms, key).await
            }

            async fn password_history(&self, id: UserId, n: u32) -> StoreResult<Vec<String>> {
                $Store::password_history(self, id, n).await
            }

            async fn add_failed_login(&self, id: UserId) -> StoreResult<u32> {
                $Store::add_failed_login(self, id).await
            }

            async fn lock_user(&self, id: UserId, until_ms: i64) -> StoreResult<()> {
                $Store::lock_user(self, id, until_ms).await
            }

            async fn clear_failed_logins(&self, id: UserId) -> StoreResult<()> {
                $Store::clear_failed_logins(self, id).await
            }

            async fn set_totp(
                &self,
                id: UserId,
                secret_enc: Option<&[u8]>,
                enabled: bool,
            ) -> StoreResult<()> {
                $Store::set_totp(self, id, secret_enc, enabled).await
            }

            async fn use_totp_step(&self, id: UserId, step: i64) -> StoreResult<bool> {
                $Store::use_totp_step(self, id, step).await
            }

            async fn replace_recovery_codes(
                &self,
                id: UserId,
                hashes: &[String],
            ) -> StoreResult<()> {
                $Store::replace_recovery_codes(self, id, hashes).await
            }

            async fn use_recovery_code(
                &self,
                id: UserId,
                hash: &str,
                at_ms: i64,
            ) -> StoreResult<bool> {
                $Store::use_recovery_code(self, id, hash, at_ms).await
            }

            async fn create_session(&self, s: &SessionRecord) -> StoreResult<()> {
                $Store::create_session(self, s).await
            }

            async fn get_session(&self, token_hash: &str) -> StoreResult<Option<SessionRecord>> {
                $Store::get_session(self, token_hash).await
            }

            async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
                $Store::delete_session(self, token_hash).await
            }

            async fn trim_sessions(
                &self,
                user: UserId,
                keep: u32,
                now_ms: i64,
                protect: &str,
            ) -> StoreResult<u32> {
                $Store::trim_sessions(self, user, keep, now_ms, protect).await
            }

            async fn create_token(&self, t: &NewToken) -> StoreResult<TokenRecord> {
                $Store::create_token(self, t).await
            }

            async fn get_token_by_hash(
                &self,
                token_hash: &str,
            ) -> StoreResult<Option<TokenRecord>> {
                $Store::get_token_by_hash(self, token_hash).await
            }

            async fn token_principal(
                &self,
                token_hash: &str,
            ) -> StoreResult<Option<TokenPrincipal>> {
                $Store::token_principal(self, token_hash).await
            }

            async fn list_tokens(&self, user: UserId) -> StoreResult<Vec<TokenRecord>> {
                $Store::list_tokens(self, user).await
            }

            async fn revoke_token(&self, user: UserId, id: TokenId) -> StoreResult<bool> {
                $Store::revoke_token(self, user, id).await
            }

            async fn create_invite(
                &self,
                code: &str,
                distributor: OrgId,
                at_ms: i64,
            ) -> StoreResult<()> {
                $Store::create_invite(self, code, distributor, at_ms).await
            }

            async fn get_invite(&self, code: &str) -> StoreResult<Option<OrgId>> {
                $Store::get_invite(self, code).await
            }

            async fn register(
                &self,
                org: &NewOrg,
                user: &NewUser,
                reg: &NewRegistration,
                key: Option<&NewUserKey>,
            ) -> StoreResult<RegistrationRecord> {
                $Store::register(self, org, user, reg, key).await
            }

            async fn set_kyc_credential(
                &self,
                id: RegistrationId,
                reference: &str,
                credential_json: &str,
            ) -> StoreResult<()> {
                $Store::set_kyc_credential(self, id, reference, credential_json).await
            }

            async fn kyc_credential_of(&self, user: UserId) -> StoreResult<Option<String>> {
                $Store::kyc_credential_of(self, user).await
            }

            async fn get_user_key(&self, user: UserId) -> StoreResult<Option<UserKeyRecord>> {
                $Store::get_user_key(self, user).await
            }

            async fn dids_pending(&self, limit: u32) -> StoreResult<Vec<UserKeyRecord>> {
                $Store::dids_pending(self, limit).await
            }

            async fn set_did_created(&self, user: UserId, at_ms: i64) -> StoreResult<()> {
                $Store::set_did_created(self, user, at_ms).await
            }

            async fn get_registration(
                &self,
                id: RegistrationId,
            ) -> StoreResult<Option<RegistrationRecord>> {
                $Store::get_registration(self, id).await
            }

            async fn list_registrations(
                &self,
                status: Option<RegistrationStatus>,
                after: Option<RegistrationId>,
                limit: u32,
            ) -> StoreResult<Vec<RegistrationRecord>> {
                $Store::list_registrations(self, status, after, limit).await
            }

            async fn decide_registration(&self, d: &Decision) -> StoreResult<RegistrationRecord> {
                $Store::decide_registration(self, d).await
            }

            async fn append_audit(&self, event: &AuditEvent) -> StoreResult<AuditRecord> {
                $Store::append_audit(self, event).await
            }

            async fn list_audit(&self, after: u64, limit: u32) -> StoreResult<Vec<AuditRecord>> {
                $Store::list_audit(self, after, limit).await
            }

            async fn query_audit(
                &self,
                f: &AuditFilter,
                after: u64,
                limit: u32,
            ) -> StoreResult<Vec<AuditRecord>> {
                $Store::query_audit(self, f, after, limit).await
            }

            async fn audit_head(&self) -> StoreResult<Option<(u64, [u8; 32])>> {
                $Store::audit_head(self).await
            }

            async fn get_setting(&self, key: &str) -> StoreResult<Option<String>> {
                $Store::get_setting(self, key).await
            }

            async fn put_setting(&self, key: &str, value: &str) -> StoreResult<()> {
                $Store::put_setting(self, key, value).await
            }
        }
    };
}

sql_store!(SqliteStore, sqlx::sqlite::SqliteRow, "sqlite");
sql_store!(PgStore, sqlx::postgres::PgRow, "postgres");
