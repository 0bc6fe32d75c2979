//! The operator's batch allocation of standing demands (`docs/market.md` "Batch
//! allocation"): the open demands that wait for it (`batch: true`) are placed on the
//! listed online resources by the OT scheduler on preferences learned from each
//! organisation's history (`suanli_market::sched::schedule_ot`) and, beside it, by the
//! seed's fixed score-and-rank baseline (`schedule_score_rank`). Both are evaluated the
//! same way (`sched::evaluate`: satisfaction by the learned preferences, share placed,
//! utilisation, mean price) and stored as one run, `proposed`. Nothing is sent until the
//! operator confirms one method: then each of its proposals becomes the demand's match
//! (the same record and message as the continuous engine's, naming the allocation) and
//! the consumer confirms it into an order as any match (`super::confirm`).
//!
//! Permission `order:manage` (the operator's staff). The learned history of an
//! organisation is its confirmed demands: each is a choice of the resource it confirmed
//! among the listed resources its constraint admits now (the first
//! [`CHOICE_SET_MAX`] in rank order, the chosen one added), fitted by `prefs::fit`.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use suanli_market::attrs::{ConsumerId, Offer, OfferId};
use suanli_market::matching::{SearchOrder, estimate_cost_fen};
use suanli_market::prefs::{self, Choice, FitParams, PrefWeights, features};
use suanli_market::sched::{self, Assignment, Job};
use suanli_platform_domain::OrgId;
use suanli_platform_domain::Permission;
use suanli_platform_domain::supply::catalog::ResourceStatus;
use suanli_platform_store::{AllocationRecord, DemandMatch, DemandRecord, DemandStatus};

use super::demands::core_demand;
use crate::AppState;
use crate::auth::Authed;
use crate::market_index::Snapshot;
use crate::service::{ServiceError, ServiceResult};

/// Most open demands one run places (the oldest first).
pub const ALLOCATION_DEMANDS_MAX: u32 = 2_000;
/// Most listed resources one run places demands on (in the index's order).
pub const ALLOCATION_NODES_MAX: usize = sched::NODES_MAX;
/// Most demands of one organisation read as its history (its first ones).
pub const HISTORY_DEMANDS_MAX: u32 = 200;
/// Most alternatives of one past choice.
pub const CHOICE_SET_MAX: usize = 20;
/// Most runs the list answers (the newest).
pub const ALLOCATIONS_LISTED_MAX: u32 = 50;
/// Sinkhorn's regularisation of a run (as the simulator's default).
pub const ALLOCATION_EPSILON: f64 = 0.01;
/// The methods of a run, in report order: OT on learned preferences, then the baseline.
pub const METHODS: [&str; 2] = ["ot_learned", "score_rank"];

/// One demand placed on one resource by one method.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Proposal {
    /// The standing demand.
    pub demand_id: i64,
    /// Its organisation.
    pub org_id: i64,
    /// The listed offer.
    pub offer_id: i64,
    /// Its resource.
    pub resource_id: i64,
    /// Units the demand wants.
    pub units: u32,
    /// The offer's price, fen per unit-minute.
    pub price_fen_per_min: i64,
    /// The cost rule's estimate for the demand's units and duration, fen.
    pub estimate_fen: i64,
    /// The demand's scaled utility there by its organisation's learned preferences.
    pub satisfaction: f64,
}

/// What one method achieves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MethodReport {
    /// `ot_learned` or `score_rank`.
    pub method: String,
    /// Mean scaled utility over all demands (unplaced = 0), 0..=1.
    pub satisfaction: f64,
    /// Demands placed.
    pub placed: usize,
    /// Share of demands placed.
    pub placed_share: f64,
    /// Units placed / units offered by the resources.
    pub utilisation: f64,
    /// Units-weighted mean price of the resources taken, fen per unit-minute.
    pub mean_price_fen_per_min: f64,
    /// Its proposals.
    pub proposals: Vec<Proposal>,
}

/// A run's report, stored with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AllocationReport {
    /// Open demands placed by this run.
    pub demands: usize,
    /// Listed online resources.
    pub nodes: usize,
    /// Σ units wanted.
    pub demand_units: u64,
    /// Σ units offered.
    pub capacity_units: u64,
    /// Organisations with demands in the run.
    pub consumers: usize,
    /// Those with a learned history (else indifferent: zero weights).
    pub consumers_with_history: usize,
    /// Past choices the preferences were fitted on.
    pub history_choices: usize,
    /// Sinkhorn iterations of the OT method.
    pub ot_iterations: u32,
    /// Whether Sinkhorn converged.
    pub ot_converged: bool,
    /// One report per method, in [`METHODS`] order.
    pub methods: Vec<MethodReport>,
}

/// A stored run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Allocation {
    /// Id.
    pub id: i64,
    /// The operator who ran it.
    pub user_id: i64,
    /// Run, unix ms.
    pub created_ms: i64,
    /// `proposed` or `confirmed`.
    pub status: &'static str,
    /// The method confirmed.
    pub method: Option<String>,
    /// Confirmed, unix ms.
    pub confirmed_ms: Option<i64>,
    /// Proposals that became matches when it was confirmed.
    pub sent: Option<i64>,
    /// The report.
    pub report: AllocationReport,
}

fn of_record(r: AllocationRecord) -> ServiceResult<Allocation> {
    let report = serde_json::from_str(&r.report_json)
        .map_err(|e| ServiceError::Internal(format!("allocation {} report: {e}", r.id)))?;
    Ok(Allocation {
        id: r.id,
        user_id: r.user.get(),
        created_ms: r.created_ms,
        status: if r.confirmed { "confirmed" } else { "proposed" },
        method: r.method,
        confirmed_ms: r.confirmed_ms,
        sent: r.confirmed_count,
        report,
    })
}

fn consumer_of(org: OrgId) -> ConsumerId {
    ConsumerId(u64::try_from(org.get()).unwrap_or(0))
}

/// One organisation's past choices: each confirmed demand's resource among what its
/// constraint admits now (skipped when the resource is no longer listed).
fn choices_of(snap: &Snapshot, history: &[DemandRecord]) -> Vec<Choice> {
    let mut out = Vec::new();
    for d in history
        .iter()
        .filter(|d| d.status == DemandStatus::Confirmed)
    {
        let (Some(m), Ok(core)) = (&d.matched, core_demand(d)) else {
            continue;
        };
        let Some(chosen) = snap.by_offer.get(&m.offer_id).and_then(|ids| {
            ids.iter().copied().find(|id| {
                snap.entry(*id)
                    .is_some_and(|e| e.resource.id == m.resource_id)
            })
        }) else {
            continue;
        };
        let mut shown: Vec<OfferId> = snap
            .engine
            .search(&core, SearchOrder::Rank, CHOICE_SET_MAX)
            .hits
            .iter()
            .map(|h| h.offer)
            .collect();
        if !shown.contains(&chosen) {
            shown.truncate(CHOICE_SET_MAX - 1);
            shown.push(chosen);
        }
        let alts: Vec<_> = shown
            .iter()
            .filter_map(|id| snap.entry(*id))
            .map(|e| features(&e.market, ""))
            .collect();
        let at = shown.iter().position(|id| *id == chosen).unwrap_or(0);
        if let Ok(c) = Choice::new(alts, at) {
            out.push(c);
        }
    }
    out
}

/// The learned preferences of the organisations in `orgs`, and how many choices.
async fn learn(
    s: &AppState,
    snap: &Snapshot,
    orgs: &[OrgId],
) -> ServiceResult<(HashMap<ConsumerId, PrefWeights>, usize)> {
    let mut learned = HashMap::new();
    let mut total = 0;
    for org in orgs {
        let history = s.store.confirmed_demands(*org, HISTORY_DEMANDS_MAX).await?;
        let choices = choices_of(snap, &history);
        if choices.is_empty() {
            continue;
        }
        total += choices.len();
        match prefs::fit(&choices, &FitParams::default()) {
            Ok(fit) => {
                learned.insert(consumer_of(*org), fit.weights);
            }
            Err(e) => tracing::warn!(org = org.get(), error = %e, "preferences not fitted"),
        }
    }
    Ok((learned, total))
}

/// Whether an earlier attempt of allocation `id`'s confirmation sent its proposal to
/// demand `demand`: the demand holds this allocation's match.
async fn sent_before(s: &AppState, demand: i64, id: i64) -> ServiceResult<bool> {
    Ok(s.store
        .get_demand(demand)
        .await?
        .and_then(|d| d.matched)
        .is_some_and(|m| m.allocation == Some(id)))
}

/// The evaluated proposals of one method.
fn report(
    method: &str,
    a: &Assignment,
    ctx: (&[Job], &[Offer], &[&DemandRecord], &[OfferId]),
    snap: &Snapshot,
    learned: &HashMap<ConsumerId, PrefWeights>,
) -> MethodReport {
    let (jobs, nodes, recs, node_ids) = ctx;
    let e = sched::evaluate(jobs, nodes, a, learned);
    let mut proposals = Vec::new();
    for (i, node) in a.node_of_job.iter().enumerate() {
        let (Some(j), Some(d)) = (node, recs.get(i)) else {
            continue;
        };
        let (Some(entry), Some(offer)) = (
            node_ids.get(*j).and_then(|id| snap.entry(*id)),
            nodes.get(*j),
        ) else {
            continue;
        };
        proposals.push(Proposal {
            demand_id: d.id,
            org_id: d.org.get(),
            offer_id: entry.listing.offer.id,
            resource_id: entry.resource.id,
            units: d.units,
            price_fen_per_min: offer.price_fen_per_min(),
            estimate_fen: estimate_cost_fen(offer, d.units, d.duration_min, d.public_good),
            satisfaction: e.per_job.get(i).copied().flatten().unwrap_or(0.0),
        });
    }
    MethodReport {
        method: method.to_owned(),
        satisfaction: e.satisfaction,
        placed: proposals.len(),
        placed_share: e.placed_share,
        utilisation: e.utilisation,
        mean_price_fen_per_min: e.mean_price_fen_per_unit_min,
        proposals,
    }
}

/// Runs a batch allocation of the open batch demands and stores it, `proposed`.
pub async fn run(s: &AppState, a: &Authed) -> ServiceResult<Allocation> {
    a.allow(Permission::OrderManage)?;
    let now = s.clock.now_unix_ms();
    s.store.expire_demands(now).await?;
    let open = s
        .store
        .open_demands(now, true, ALLOCATION_DEMANDS_MAX)
        .await?;
    let snap = s.market.snapshot(s).await?;
    let node_ids: Vec<OfferId> = snap
        .entries
        .iter()
        .enumerate()
        .filter(|(_, e)| e.resource.spec.status() == ResourceStatus::Online)
        .filter_map(|(i, _)| u64::try_from(i).ok().map(OfferId))
        .take(ALLOCATION_NODES_MAX)
        .collect();
    let nodes: Vec<Offer> = node_ids
        .iter()
        .filter_map(|id| snap.entry(*id).map(|e| e.market.clone()))
        .collect();
    let mut jobs = Vec::with_capacity(open.len());
    let mut recs = Vec::with_capacity(open.len());
    for d in &open {
        match core_demand(d) {
            Ok(demand) => {
                jobs.push(Job {
                    demand,
                    home_region: String::new(),
                });
                recs.push(d);
            }
            Err(e) => tracing::warn!(demand = d.id, error = %e, "stored demand does not parse"),
        }
    }
    let mut orgs: Vec<OrgId> = recs.iter().map(|d| d.org).collect();
    orgs.sort_by_key(|o| o.get());
    orgs.dedup();
    let (learned, history_choices) = learn(s, &snap, &orgs).await?;
    let (jobs2, nodes2, learned2) = (jobs.clone(), nodes.clone(), learned.clone());
    let (ot, baseline) = tokio::task::spawn_blocking(move || {
        let ot = sched::schedule_ot(
            &jobs2,
            &nodes2,
            &learned2,
            &sched::batch_params(ALLOCATION_EPSILON),
        )?;
        let baseline = sched::schedule_score_rank(&jobs2, &nodes2)?;
        Ok::<_, suanli_market::MarketError>((ot, baseline))
    })
    .await
    .map_err(|e| ServiceError::Internal(e.to_string()))?
    .map_err(|e| ServiceError::Internal(format!("scheduler: {e}")))?;
    let ctx = (
        jobs.as_slice(),
        nodes.as_slice(),
        recs.as_slice(),
        node_ids.as_slice(),
    );
    let rep = AllocationReport {
        demands: jobs.len(),
        nodes: nodes.len(),
        demand_units: jobs.iter().map(|j| u64::from(j.demand.units())).sum(),
        capacity_units: nodes.iter().map(|o| u64::from(o.units())).sum(),
        consumers: orgs.len(),
        consumers_with_history: learned.len(),
        history_choices,
        ot_iterations: ot.iterations,
        ot_converged: ot.converged,
        methods: vec![
            report(METHODS[0], &ot.assignment, ctx, &snap, &learned),
            report(METHODS[1], &baseline, ctx, &snap, &learned),
        ],
    };
    let json = serde_json::to_string(&rep).map_err(|e| ServiceError::Internal(e.to_string()))?;
    of_record(s.store.create_allocation(a.user.id, now, &json).await?)
}

/// The newest runs first.
pub async fn list(s: &AppState, a: &Authed) -> ServiceResult<Vec<Allocation>> {
    a.allow(Permission::OrderManage)?;
    s.store
        .list_allocations(ALLOCATIONS_LISTED_MAX)
        .await?
        .into_iter()
        .map(of_record)
        .collect()
}

/// One run.
pub async fn get(s: &AppState, a: &Authed, id: i64) -> ServiceResult<Allocation> {
    a.allow(Permission::OrderManage)?;
    of_record(
        s.store
            .get_allocation(id)
            .await?
            .ok_or(ServiceError::NotFound)?,
    )
}

/// The message a proposal leaves for the demand's organisation (Chinese, then English).
fn proposal_message(run: i64, p: &Proposal) -> String {
    format!(
        "批量分配 #{run} 为算力需求 #{d} 提议：报价 #{o}（资源 #{r}），{pr} 分/分钟，预计 {e} 分；请在“我的需求”中确认下单。/ Batch allocation #{run} proposes for standing demand #{d}: offer #{o} (resource #{r}), {pr} fen/min, estimate {e} fen; confirm it into an order on My demands.",
        d = p.demand_id,
        o = p.offer_id,
        r = p.resource_id,
        pr = p.price_fen_per_min,
        e = p.estimate_fen
    )
}

/// Confirms run `id` with `method`: each of its proposals whose demand is still open and
/// whose resource is still listed becomes the demand's match, with a message for the
/// organisation. Answers the run and how many proposals were not sent.
pub async fn confirm(
    s: &AppState,
    a: &Authed,
    id: i64,
    method: &str,
) -> ServiceResult<(Allocation, usize)> {
    a.allow(Permission::OrderManage)?;
    if !METHODS.contains(&method) {
        return Err(ServiceError::invalid(
            "method",
            format!("must be one of {}", METHODS.join(", ")),
        ));
    }
    let run = get(s, a, id).await?;
    let now = s.clock.now_unix_ms();
    // A confirmation that failed after its claim (nothing recorded as sent) may be
    // retried with the same method; the sends are conditional, so none is sent twice.
    let retry =
        run.status == "confirmed" && run.sent.is_none() && run.method.as_deref() == Some(method);
    if !retry && (run.status == "confirmed" || !s.store.claim_allocation(id, method, now).await?) {
        return Err(ServiceError::Conflict {
            code: "allocation_confirmed",
            field: None,
            message: "this allocation was confirmed already".to_owned(),
        });
    }
    let snap = s.market.snapshot(s).await?;
    let proposals = run
        .report
        .methods
        .iter()
        .find(|m| m.method == method)
        .map(|m| m.proposals.as_slice())
        .unwrap_or_default();
    let mut sent = 0i64;
    for p in proposals {
        let listed = snap.by_offer.get(&p.offer_id).is_some_and(|ids| {
            ids.iter().any(|i| {
                snap.entry(*i)
                    .is_some_and(|e| e.resource.id == p.resource_id)
            })
        });
        let m = DemandMatch {
            offer_id: p.offer_id,
            resource_id: p.resource_id,
            price_fen_per_min: p.price_fen_per_min,
            estimate_fen: p.estimate_fen,
            allocation: Some(id),
        };
        let matched = listed
            && s.store
                .match_demand(p.demand_id, &m, &proposal_message(id, p), now)
                .await?;
        if matched || (retry && sent_before(s, p.demand_id, id).await?) {
            sent += 1;
        }
    }
    s.store.set_allocation_count(id, sent).await?;
    let skipped = proposals
        .len()
        .saturating_sub(usize::try_from(sent).unwrap_or(0));
    Ok((get(s, a, id).await?, skipped))
}
