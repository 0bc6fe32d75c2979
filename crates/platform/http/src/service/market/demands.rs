//! Standing demands (`docs/market.md` "Standing demands"): a consumer organisation posts
//! a constraint, a price limit, a duration and units; the demand is matched at once if a
//! listed offer fits, else it rests until the listing changes — then the continuous
//! engine ([`Engine`]: open demands resting, the listed offers arriving, fills from the
//! highest limit down) matches it — or until it expires or is cancelled. A match records
//! the resource, the price and the estimate and leaves a message for the organisation in
//! the same transaction. A match reserves no units; the consumer confirms it into an
//! order through the order flow ([`super::confirm`]).
//!
//! Permission `order:place` (the consumer's ordering roles); an organisation sees only
//! its own demands (others' answer 404).

use serde::Deserialize;
use suanli_market::attrs::{ConsumerId, DemandId, PRICE_MAX_FEN_PER_MIN};
use suanli_market::constraint::Constraint;
use suanli_market::matching::{
    DEMAND_UNITS_MAX, DURATION_MAX_MIN, Demand, DemandSpec, Engine, SearchOrder,
};
use suanli_platform_domain::Permission;
use suanli_platform_store::{
    DEMANDS_OPEN_MAX, DemandMatch, DemandRecord, DemandStatus, NewDemand, StoreError,
};

use super::MarketError;
use crate::AppState;
use crate::auth::Authed;
use crate::market_index::Snapshot;
use crate::service::{Page, ServiceError, ServiceResult};

/// Most open demands one organisation may have.
pub const DEMANDS_OPEN_PER_ORG_MAX: u32 = 100;
/// Longest life of a demand, in hours (30 days).
pub const DEMAND_EXPIRY_MAX_HOURS: u32 = 720;
/// Life of a demand when none is given, in hours.
pub const DEMAND_EXPIRY_DEFAULT_HOURS: u32 = 72;
/// Most open demands one matching pass considers (the oldest first).
pub const DEMANDS_PER_PASS_MAX: u32 = 10_000;
const MS_PER_HOUR: i64 = 3_600_000;

/// A demand as posted (`POST /api/v1/market/demands`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemandDraft {
    /// The constraint, in the market's language.
    pub constraint: String,
    /// Price limit, fen per unit-minute (0..=1,000,000).
    pub max_price_fen_per_min: i64,
    /// Minutes wanted (1..=527,040).
    pub duration_min: u32,
    /// Units wanted (1..=1024).
    pub units: u32,
    /// Public-good use: pays the offer's public-good discount.
    #[serde(default)]
    pub public_good: bool,
    /// Hours until it expires unmatched (1..=720, default 72).
    #[serde(default)]
    pub expires_in_hours: Option<u32>,
    /// Wait for the operator's batch allocation instead of the continuous engine.
    #[serde(default)]
    pub batch: bool,
}

/// A bad body field: 422 `invalid_field` naming it.
fn bad(field: &'static str, message: String) -> MarketError {
    MarketError::Service(ServiceError::invalid(field, message))
}

/// The market-core demand of a stored one.
pub(super) fn core_demand(d: &DemandRecord) -> Result<Demand, MarketError> {
    let c = Constraint::parse(&d.constraint).map_err(|error| MarketError::Constraint {
        error,
        text: d.constraint.clone(),
    })?;
    Demand::with_constraint(
        DemandId(u64::try_from(d.id).unwrap_or(0)),
        DemandSpec {
            consumer: ConsumerId(u64::try_from(d.org.get()).unwrap_or(0)),
            constraint: String::new(),
            max_price_fen_per_min: d.max_price_fen_per_min,
            duration_min: d.duration_min,
            units: d.units,
            public_good: d.public_good,
            preference_weights: None,
        },
        c,
    )
    .map_err(|e| MarketError::Service(ServiceError::Internal(e.to_string())))
}

fn check(d: &DemandDraft) -> Result<u32, MarketError> {
    Constraint::parse(&d.constraint).map_err(|error| MarketError::Constraint {
        error,
        text: d.constraint.clone(),
    })?;
    if !(0..=PRICE_MAX_FEN_PER_MIN).contains(&d.max_price_fen_per_min) {
        return Err(bad(
            "max_price_fen_per_min",
            format!("must be 0 to {PRICE_MAX_FEN_PER_MIN}"),
        ));
    }
    if !(1..=DURATION_MAX_MIN).contains(&d.duration_min) {
        return Err(bad(
            "duration_min",
            format!("must be 1 to {DURATION_MAX_MIN}"),
        ));
    }
    if !(1..=DEMAND_UNITS_MAX).contains(&d.units) {
        return Err(bad("units", format!("must be 1 to {DEMAND_UNITS_MAX}")));
    }
    let hours = d.expires_in_hours.unwrap_or(DEMAND_EXPIRY_DEFAULT_HOURS);
    if !(1..=DEMAND_EXPIRY_MAX_HOURS).contains(&hours) {
        return Err(bad(
            "expires_in_hours",
            format!("must be 1 to {DEMAND_EXPIRY_MAX_HOURS}"),
        ));
    }
    Ok(hours)
}

/// Posts a standing demand for the caller's organisation and matches it at once if a
/// listed offer fits (unless it waits for the batch allocation).
pub async fn post(s: &AppState, a: &Authed, d: &DemandDraft) -> Result<DemandRecord, MarketError> {
    a.allow(Permission::OrderPlace)?;
    let hours = check(d)?;
    let now = s.clock.now_unix_ms();
    let new = NewDemand {
        org: a.org.id,
        user: a.principal.user_id(),
        constraint: d.constraint.clone(),
        max_price_fen_per_min: d.max_price_fen_per_min,
        duration_min: d.duration_min,
        units: d.units,
        public_good: d.public_good,
        at_ms: now,
        expires_ms: now.saturating_add(i64::from(hours) * MS_PER_HOUR),
        open_max: DEMANDS_OPEN_PER_ORG_MAX,
        batch: d.batch,
    };
    let rec = match s.store.create_demand(&new).await {
        Err(StoreError::Rejected(m)) if m == DEMANDS_OPEN_MAX => {
            return Err(ServiceError::Conflict {
                code: "demands_open_max",
                field: None,
                message: format!(
                    "the organisation has {DEMANDS_OPEN_PER_ORG_MAX} open demands; cancel one first"
                ),
            }
            .into());
        }
        r => r?,
    };
    if rec.batch {
        return Ok(rec);
    }
    let snap = s.market.snapshot(s).await?;
    let d = core_demand(&rec)?;
    if let Some(hit) = snap.engine.search(&d, SearchOrder::Rank, 1).hits.first()
        && let Some(e) = snap.entry(hit.offer)
    {
        let m = DemandMatch {
            offer_id: e.listing.offer.id,
            resource_id: e.resource.id,
            price_fen_per_min: e.market.price_fen_per_min(),
            estimate_fen: suanli_market::matching::estimate_cost_fen(
                &e.market,
                rec.units,
                rec.duration_min,
                rec.public_good,
            ),
            allocation: None,
        };
        s.store
            .match_demand(rec.id, &m, &message(&rec, &m), s.clock.now_unix_ms())
            .await?;
    }
    Ok(s.store
        .get_demand(rec.id)
        .await?
        .ok_or(ServiceError::NotFound)?)
}

/// The message a match leaves for the organisation (Chinese, then English).
fn message(d: &DemandRecord, m: &DemandMatch) -> String {
    format!(
        "算力需求 #{id} 已匹配：报价 #{o}（资源 #{r}），{p} 分/分钟，预计 {e} 分。/ Standing demand #{id} matched: offer #{o} (resource #{r}), {p} fen/min, estimate {e} fen.",
        id = d.id,
        o = m.offer_id,
        r = m.resource_id,
        p = m.price_fen_per_min,
        e = m.estimate_fen
    )
}

/// The caller's organisation's demands.
pub async fn list(s: &AppState, a: &Authed, page: Page) -> ServiceResult<Vec<DemandRecord>> {
    a.allow(Permission::OrderPlace)?;
    s.store.expire_demands(s.clock.now_unix_ms()).await?;
    Ok(s.store
        .list_demands(a.org.id, page.after, page.limit)
        .await?)
}

/// One of the caller's organisation's demands (another's is not found).
pub async fn get(s: &AppState, a: &Authed, id: i64) -> ServiceResult<DemandRecord> {
    a.allow(Permission::OrderPlace)?;
    s.store.expire_demands(s.clock.now_unix_ms()).await?;
    match s.store.get_demand(id).await? {
        Some(d) if d.org == a.org.id => Ok(d),
        _ => Err(ServiceError::NotFound),
    }
}

/// Cancels an open demand of the caller's organisation.
pub async fn cancel(s: &AppState, a: &Authed, id: i64) -> ServiceResult<DemandRecord> {
    let d = get(s, a, id).await?;
    if d.status != DemandStatus::Open {
        return Err(ServiceError::Conflict {
            code: "demand_not_open",
            field: None,
            message: format!("the demand is {}", d.status.as_str()),
        });
    }
    match s
        .store
        .cancel_demand(a.org.id, id, s.clock.now_unix_ms())
        .await
    {
        Err(StoreError::NotFound) => Err(ServiceError::Conflict {
            code: "demand_not_open",
            field: None,
            message: "the demand was matched or expired meanwhile".to_owned(),
        }),
        r => Ok(r?),
    }
}

/// One matching pass over the listing in `snap`: expired demands are closed, then the
/// open ones rest in a fresh continuous engine (highest limit first, then the oldest)
/// and the listed resources arrive in the index's order; each fill is recorded as a
/// match with its message. Returns how many matched.
pub async fn match_open(s: &AppState, snap: &Snapshot) -> ServiceResult<usize> {
    let now = s.clock.now_unix_ms();
    s.store.expire_demands(now).await?;
    let open = s
        .store
        .open_demands(now, false, DEMANDS_PER_PASS_MAX)
        .await?;
    if open.is_empty() {
        return Ok(0);
    }
    let mut engine = Engine::new(snap.engine.policy().clone());
    for d in &open {
        match core_demand(d) {
            Ok(core) => {
                if let Err(e) = engine.submit_demand(core) {
                    tracing::warn!(demand = d.id, error = %e, "demand not matched");
                }
            }
            Err(e) => tracing::warn!(demand = d.id, error = %e, "stored demand does not parse"),
        }
    }
    let mut fills = Vec::new();
    for e in &snap.entries {
        if e.resource.spec.status()
            == suanli_platform_domain::supply::catalog::ResourceStatus::Online
        {
            engine
                .submit_offer(e.market.clone(), &mut fills)
                .map_err(|e| ServiceError::Internal(e.to_string()))?;
        }
    }
    let mut matched = 0;
    for f in fills {
        let (Some(e), Some(d)) = (
            snap.entry(f.offer),
            open.iter()
                .find(|d| u64::try_from(d.id).ok() == Some(f.demand.0)),
        ) else {
            continue;
        };
        let m = DemandMatch {
            offer_id: e.listing.offer.id,
            resource_id: e.resource.id,
            price_fen_per_min: f.price_fen_per_min,
            estimate_fen: f.cost_fen,
            allocation: None,
        };
        if s.store.match_demand(d.id, &m, &message(d, &m), now).await? {
            matched += 1;
        }
    }
    Ok(matched)
}
