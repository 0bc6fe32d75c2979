//! Platform-hosted supplier agents ([`HostedAgentStore`], migration `0015_hosted_agents`,
//! `docs/supply.md` §3.5) on both backends, from one SQL text.
//!
//! A supplier organisation has at most one hosted agent that is not stopped (a partial
//! unique index: a second one answers [`StoreError::Conflict`]). Each move is a
//! conditional update (activate: from `starting`; stop: from anything but `stopped`, so a
//! stop racing the worker's activation still applies), so two racing moves cannot both
//! apply. The agent's secret is stored only sealed (the service seals it; this store never
//! sees it in the clear) and is wiped when the agent stops.

use crate::decode::Cols;
use crate::money_sql::{cor, oid, uid};
use crate::sql::db_err;
use crate::{PgStore, SqliteStore, StoreError, StoreResult};
use suanli_platform_domain::{OrgId, UserId};

/// Where a hosted agent stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostedStatus {
    /// Its delegation was sent to the chain; not confirmed yet.
    Starting,
    /// Delegated; the platform runs it.
    Active,
    /// Revoked and stopped; its sealed key is wiped.
    Stopped,
}

impl HostedStatus {
    /// Stable text (the column, the API).
    pub fn as_str(self) -> &'static str {
        match self {
            HostedStatus::Starting => "starting",
            HostedStatus::Active => "active",
            HostedStatus::Stopped => "stopped",
        }
    }
    /// From [`HostedStatus::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "starting" => HostedStatus::Starting,
            "active" => HostedStatus::Active,
            "stopped" => HostedStatus::Stopped,
            _ => return None,
        })
    }
}

/// A hosted agent's acceptance policy as stored (checked by the service before it is
/// stored): `auto` with its limits, or `manual` without.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostedPolicy {
    /// `auto` or `manual`.
    pub mode: String,
    /// Most units of an order accepted automatically.
    pub max_units: Option<u32>,
    /// Longest order accepted automatically, in minutes.
    pub max_minutes: Option<u64>,
    /// Largest order value accepted automatically, in fen.
    pub max_value_fen: Option<i64>,
    /// Offers accepted automatically (empty: every offer).
    pub offers: Vec<u64>,
}

/// A hosted agent to record (status `starting`).
#[derive(Clone, PartialEq, Eq)]
pub struct NewHostedAgent {
    /// The supplier organisation.
    pub supplier_org: OrgId,
    /// The supplier DID it acts for.
    pub supplier_did: String,
    /// Its public key, 64 hex characters.
    pub public_key: String,
    /// Its verification method fragment.
    pub fragment: String,
    /// Hex of its sealed seed.
    pub sealed_key: String,
    /// Its policy.
    pub policy: HostedPolicy,
    /// Who asked for it.
    pub created_by: UserId,
    /// When.
    pub created_ms: i64,
}

/// A stored hosted agent.
#[derive(Clone, PartialEq, Eq)]
pub struct HostedAgentRecord {
    /// Id (1, 2, …).
    pub id: i64,
    /// The supplier organisation.
    pub supplier_org: OrgId,
    /// The supplier DID.
    pub supplier_did: String,
    /// The agent's public key (hex).
    pub public_key: String,
    /// Its fragment.
    pub fragment: String,
    /// Hex of the sealed seed; `None` once stopped.
    pub sealed_key: Option<String>,
    /// The policy.
    pub policy: HostedPolicy,
    /// Where it stands.
    pub status: HostedStatus,
    /// Who asked for it.
    pub created_by: UserId,
    /// When.
    pub created_ms: i64,
    /// When its delegation was confirmed.
    pub started_ms: Option<i64>,
    /// When it was stopped, and by whom.
    pub stopped_ms: Option<i64>,
    /// See [`HostedAgentRecord::stopped_ms`].
    pub stopped_by: Option<UserId>,
}

/// Written by hand: the sealed key is never printed.
impl std::fmt::Debug for NewHostedAgent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewHostedAgent")
            .field("supplier_org", &self.supplier_org)
            .field("public_key", &self.public_key)
            .field("fragment", &self.fragment)
            .field("sealed_key", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// Written by hand: the sealed key is never printed.
impl std::fmt::Debug for HostedAgentRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostedAgentRecord")
            .field("id", &self.id)
            .field("supplier_org", &self.supplier_org)
            .field("public_key", &self.public_key)
            .field("fragment", &self.fragment)
            .field("sealed_key", &"<redacted>")
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// The hosted agents' store methods (implemented by [`SqliteStore`] and [`PgStore`]).
#[async_trait::async_trait]
pub trait HostedAgentStore: Send + Sync {
    /// Records a hosted agent in status `starting`; [`StoreError::Conflict`] when the
    /// organisation already has one that is not stopped.
    async fn create_hosted_agent(&self, new: &NewHostedAgent) -> StoreResult<HostedAgentRecord>;
    /// The organisation's newest hosted agent (stopped ones included), if any.
    async fn latest_hosted_agent(&self, org: OrgId) -> StoreResult<Option<HostedAgentRecord>>;
    /// Every hosted agent that is starting or active (the worker runs them).
    async fn running_hosted_agents(&self) -> StoreResult<Vec<HostedAgentRecord>>;
    /// `starting` → `active` at `at_ms`; [`StoreError::NotFound`] when it is not starting.
    async fn activate_hosted_agent(&self, id: i64, at_ms: i64) -> StoreResult<()>;
    /// Stops an agent that is starting or active, whichever it is now (its sealed key
    /// wiped); [`StoreError::NotFound`] when it is already stopped.
    async fn stop_hosted_agent(&self, id: i64, by: UserId, at_ms: i64) -> StoreResult<()>;
    /// Removes an agent still `starting` whose delegation the chain refused (it was never
    /// delegated, so nothing about it needs keeping).
    async fn discard_hosted_agent(&self, id: i64) -> StoreResult<()>;
}

const HA_COLS: &str = "id, supplier_org, supplier_did, public_key, fragment, sealed_key, \
     policy_mode, max_units, max_minutes, max_value_fen, offers, status, created_by, \
     created_ms, started_ms, stopped_ms, stopped_by";

fn one(rows: u64) -> StoreResult<()> {
    if rows == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

fn offers_text(offers: &[u64]) -> String {
    offers
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

fn opt_i64<T: TryInto<i64> + Copy>(v: Option<T>) -> StoreResult<Option<i64>> {
    v.map(|x| {
        x.try_into()
            .map_err(|_| StoreError::Rejected("number out of range".into()))
    })
    .transpose()
}

fn decode(r: &dyn Cols) -> StoreResult<HostedAgentRecord> {
    let offers_raw = r.text("offers")?;
    let offers = offers_raw
        .split(',')
        .filter(|t| !t.is_empty())
        .map(|t| t.parse::<u64>().map_err(cor))
        .collect::<StoreResult<Vec<_>>>()?;
    let policy = HostedPolicy {
        mode: r.text("policy_mode")?,
        max_units: r
            .opt_i64("max_units")?
            .map(u32::try_from)
            .transpose()
            .map_err(cor)?,
        max_minutes: r
            .opt_i64("max_minutes")?
            .map(u64::try_from)
            .transpose()
            .map_err(cor)?,
        max_value_fen: r.opt_i64("max_value_fen")?,
        offers,
    };
    let status = r.text("status")?;
    Ok(HostedAgentRecord {
        id: r.i64("id")?,
        supplier_org: oid(r.i64("supplier_org")?)?,
        supplier_did: r.text("supplier_did")?,
        public_key: r.text("public_key")?,
        fragment: r.text("fragment")?,
        sealed_key: r.opt_text("sealed_key")?,
        policy,
        status: HostedStatus::parse(&status).ok_or_else(|| cor("hosted agent status"))?,
        created_by: uid(r.i64("created_by")?)?,
        created_ms: r.i64("created_ms")?,
        started_ms: r.opt_i64("started_ms")?,
        stopped_ms: r.opt_i64("stopped_ms")?,
        stopped_by: r.opt_i64("stopped_by")?.map(uid).transpose()?,
    })
}

macro_rules! sql_hosted_agents {
    ($Store:ident) => {
        #[async_trait::async_trait]
        impl HostedAgentStore for $Store {
            async fn create_hosted_agent(
                &self,
                n: &NewHostedAgent,
            ) -> StoreResult<HostedAgentRecord> {
                let sql = format!(
                    "INSERT INTO hosted_agents (supplier_org, supplier_did, public_key, \
                     fragment, sealed_key, policy_mode, max_units, max_minutes, max_value_fen, \
                     offers, status, created_by, created_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'starting', $11, $12) \
                     RETURNING {HA_COLS}"
                );
                let row = sqlx::query(&sql)
                    .bind(n.supplier_org.get())
                    .bind(n.supplier_did.clone())
                    .bind(n.public_key.clone())
                    .bind(n.fragment.clone())
                    .bind(n.sealed_key.clone())
                    .bind(n.policy.mode.clone())
                    .bind(opt_i64(n.policy.max_units)?)
                    .bind(opt_i64(n.policy.max_minutes)?)
                    .bind(n.policy.max_value_fen)
                    .bind(offers_text(&n.policy.offers))
                    .bind(n.created_by.get())
                    .bind(n.created_ms)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db_err)?;
                decode(&row)
            }

            async fn latest_hosted_agent(
                &self,
                org: OrgId,
            ) -> StoreResult<Option<HostedAgentRecord>> {
                let sql = format!(
                    "SELECT {HA_COLS} FROM hosted_agents WHERE supplier_org = $1 \
                     ORDER BY id DESC LIMIT 1"
                );
                let row = sqlx::query(&sql)
                    .bind(org.get())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                row.as_ref().map(|r| decode(r)).transpose()
            }

            async fn running_hosted_agents(&self) -> StoreResult<Vec<HostedAgentRecord>> {
                let sql = format!(
                    "SELECT {HA_COLS} FROM hosted_agents WHERE status <> 'stopped' ORDER BY id"
                );
                let rows = sqlx::query(&sql)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter().map(|r| decode(r)).collect()
            }

            async fn activate_hosted_agent(&self, id: i64, at_ms: i64) -> StoreResult<()> {
                let done = sqlx::query(
                    "UPDATE hosted_agents SET status = 'active', started_ms = $2 \
                     WHERE id = $1 AND status = 'starting'",
                )
                .bind(id)
                .bind(at_ms)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                one(done.rows_affected())
            }

            async fn stop_hosted_agent(&self, id: i64, by: UserId, at_ms: i64) -> StoreResult<()> {
                let done = sqlx::query(
                    "UPDATE hosted_agents SET status = 'stopped', sealed_key = NULL, \
                     stopped_ms = $2, stopped_by = $3 WHERE id = $1 AND status <> 'stopped'",
                )
                .bind(id)
                .bind(at_ms)
                .bind(by.get())
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                one(done.rows_affected())
            }

            async fn discard_hosted_agent(&self, id: i64) -> StoreResult<()> {
                let done = sqlx::query(
                    "DELETE FROM hosted_agents WHERE id = $1 AND status = 'starting'",
                )
                .bind(id)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                one(done.rows_affected())
            }
        }
    };
}

sql_hosted_agents!(SqliteStore);
sql_hosted_agents!(PgStore);
