//! The read side: trades and their linked records, party histories, supplier reputation,
//! modes and offers, and who may read what.
//!
//! Disclosure policy (`docs/trade.md` §Visibility): a trade's parties and enrolled
//! regulators read everything, after proving who they are with a signed read request
//! ([`authorize_read`]); everyone else sees the [`public_trade`] view — supplier, mode,
//! offer, status, contract period, close reason and the rating (seed 003: ratings are
//! there for other consumers to read) — but not the consumer, the requirement list, the
//! money or the credentials.

use serde::Serialize;
use serde_json::{Value, json};
use suanli_identity::StateRead;
use suanli_primitives::{Fen, PublicKey, Signature};

use crate::contract::TIME_SKEW_MS_MAX;
use crate::model::{CloseReason, PartyDid, Resource, Role, Serial};
use crate::op::{read_digest, verify_digest};
use crate::records::*;

/// Most records, history entries or offers one page returns.
pub const PAGE_MAX: usize = 100;
/// Most recent ratings the reputation looks at.
pub const REPUTATION_RATINGS_MAX: u64 = 1_000;
/// Half-life of a rating's weight in the reputation, in ms (90 days).
pub const REPUTATION_HALF_LIFE_MS: u64 = 90 * 24 * 3_600_000;

fn read<T: serde::de::DeserializeOwned>(
    state: &(impl StateRead + ?Sized),
    key: &[u8],
) -> Option<T> {
    state
        .read(key)
        .and_then(|b| serde_json::from_slice(&b).ok())
}

pub fn policy(state: &(impl StateRead + ?Sized)) -> Policy {
    read(state, POLICY_KEY).unwrap_or_default()
}

pub fn party(state: &(impl StateRead + ?Sized), did: &PartyDid) -> Option<Party> {
    read(state, &party_key(did))
}

pub fn trade(state: &(impl StateRead + ?Sized), serial: &Serial) -> Option<Trade> {
    read(state, &trade_key(serial))
}

pub fn mode(state: &(impl StateRead + ?Sized), id: u64) -> Option<Mode> {
    read(state, &mode_key(id))
}

pub fn offer(state: &(impl StateRead + ?Sized), id: u64) -> Option<Offer> {
    read(state, &offer_key(id))
}

/// Most offer ids one listing looks at, whatever it finds: a listing costs a bounded
/// number of reads even when most offers have lapsed.
pub const OFFER_SCAN_IDS_MAX: u64 = 1_000;

/// Offers with ids from `from`, up to `limit` (≤ [`PAGE_MAX`]) of them, open ones only when
/// `open_at_ms` is given, looking at no more than [`OFFER_SCAN_IDS_MAX`] ids. Returns the
/// offers and the id to continue from (`None` at the end).
pub fn offers(
    state: &(impl StateRead + ?Sized),
    from: u64,
    limit: usize,
    open_at_ms: Option<u64>,
) -> (Vec<Offer>, Option<u64>) {
    let next = decode_u64(state.read(OFFER_NEXT_KEY)).max(1);
    let from = from.max(1);
    let limit = limit.min(PAGE_MAX);
    let mut found = Vec::new();
    let mut id = from;
    while id < next && id - from < OFFER_SCAN_IDS_MAX && found.len() < limit {
        if let Some(o) = offer(state, id).filter(|o| {
            open_at_ms.is_none_or(|t| {
                !o.withdrawn && o.terms.valid_from_ms <= t && t < o.terms.valid_until_ms
            })
        }) {
            found.push(o);
        }
        id += 1;
    }
    (found, (id < next).then_some(id))
}

/// A supplier's statistics (counts of orders, contracts, closes, ratings, modes, offers).
pub fn supplier_stats(state: &(impl StateRead + ?Sized), supplier: &PartyDid) -> SupplierStats {
    read(state, &stats_key(supplier)).unwrap_or_default()
}

/// A supplier's modes in publication order, from its `skip`-th on, at most `limit`
/// (≤ [`PAGE_MAX`]).
pub fn supplier_modes(
    state: &(impl StateRead + ?Sized),
    supplier: &PartyDid,
    skip: u64,
    limit: usize,
) -> Vec<Mode> {
    let total = supplier_stats(state, supplier).modes;
    (skip..total)
        .take(limit.min(PAGE_MAX))
        .filter_map(|n| state.read(&supplier_mode_key(supplier, n)))
        .filter_map(|b| <[u8; 8]>::try_from(b.as_slice()).ok())
        .filter_map(|id| mode(state, u64::from_be_bytes(id)))
        .collect()
}

/// A supplier's offers in publication order (withdrawn and lapsed ones included), from
/// its `skip`-th on, at most `limit` (≤ [`PAGE_MAX`]).
pub fn supplier_offers(
    state: &(impl StateRead + ?Sized),
    supplier: &PartyDid,
    skip: u64,
    limit: usize,
) -> Vec<Offer> {
    let total = supplier_stats(state, supplier).offers;
    (skip..total)
        .take(limit.min(PAGE_MAX))
        .filter_map(|n| state.read(&supplier_offer_key(supplier, n)))
        .filter_map(|b| <[u8; 8]>::try_from(b.as_slice()).ok())
        .filter_map(|id| offer(state, u64::from_be_bytes(id)))
        .collect()
}

/// The id the next mode or offer gets (`key` is `MODE_NEXT_KEY` or `OFFER_NEXT_KEY`).
pub fn next_id(state: &(impl StateRead + ?Sized), key: &[u8]) -> u64 {
    decode_u64(state.read(key)).max(1)
}

/// What a trade's escrow account holds.
pub fn escrow_fen(state: &(impl StateRead + ?Sized), serial: &Serial) -> Fen {
    state
        .read(&suanli_ledger::credit::account_balance_key(
            &escrow_account(serial),
        ))
        .and_then(|b| suanli_ledger::credit::decode_fen(&b))
        .unwrap_or(Fen::ZERO)
}

/// The service channel of a trade, if it has one.
pub fn channel(state: &(impl StateRead + ?Sized), serial: &Serial) -> Option<Channel> {
    read(state, &channel_key(serial))
}

/// Records `from..from+limit` of a trade, in order.
pub fn records(
    state: &(impl StateRead + ?Sized),
    serial: &Serial,
    from: u32,
    limit: usize,
) -> Vec<Record> {
    let count = decode_u32(state.read(&record_count_key(serial)));
    (from..count)
        .take(limit.min(PAGE_MAX))
        .filter_map(|seq| read(state, &record_key(serial, seq)))
        .collect()
}

/// Everything about a trade, for its parties and regulators.
pub fn full_trade(state: &(impl StateRead + ?Sized), serial: &Serial, from: u32) -> Option<Value> {
    let t = trade(state, serial)?;
    let count = decode_u32(state.read(&record_count_key(serial)));
    Some(json!({
        "trade": t,
        "escrow_fen": escrow_fen(state, serial),
        "channel": channel(state, serial),
        "records_total": count,
        "records": records(state, serial, from, PAGE_MAX),
    }))
}

/// What anyone may see of a trade.
pub fn public_trade(t: &Trade) -> Value {
    json!({
        "serial": t.serial,
        "supplier": t.supplier,
        "mode_id": t.mode_id,
        "offer_id": t.offer_id,
        "status": t.status,
        "contract_start_ms": t.contract_start_ms,
        "contract_end_ms": t.contract_end_ms,
        "close_reason": t.closure.as_ref().map(|c| c.reason),
        "rating": t.rating,
        "disclosure": "public view: consumer, requirements, money, signatures and credentials are shown to the trade's parties and regulators only",
    })
}

/// A party's trades, newest first: (total, serials).
pub fn history(
    state: &(impl StateRead + ?Sized),
    did: &PartyDid,
    skip: u64,
    limit: usize,
) -> (u64, Vec<Serial>) {
    let total = decode_u64(state.read(&history_count_key(did)));
    let serials = (0..total.saturating_sub(skip))
        .rev()
        .take(limit.min(PAGE_MAX))
        .filter_map(|n| state.read(&history_key(did, n)))
        .filter_map(|b| <[u8; 16]>::try_from(b.as_slice()).ok())
        .map(Serial::from_bytes)
        .collect();
    (total, serials)
}

/// A supplier's reputation.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Reputation {
    pub supplier: PartyDid,
    pub orders: u64,
    pub contracted: u64,
    /// Contracted trades that ended, by reason.
    pub closed: std::collections::BTreeMap<CloseReason, u64>,
    /// completed / contracted trades that ended; `None` before the first one ends.
    pub completion_rate: Option<f64>,
    /// Of the `supplier_fault` closes, how many the consumer claimed (the rest the
    /// supplier admitted): a claim is not a finding.
    pub fault_claims_by_consumer: u64,
    /// completed / contracted trades that ended, leaving out those closed on a consumer's
    /// unproven fault claim.
    pub completion_rate_without_claims: Option<f64>,
    pub ratings: u64,
    /// Recency-weighted average overall score (0–100); `None` without ratings.
    pub overall: Option<f64>,
    /// Recency-weighted average score per resource.
    pub per_resource: std::collections::BTreeMap<Resource, f64>,
    /// How the averages weigh ratings.
    pub weighting: String,
}

/// The reputation of `supplier` as of `now_ms`: counts from its stats, averages over its
/// last [`REPUTATION_RATINGS_MAX`] ratings, each weighted by 2^(−age / half-life) times
/// the share of a full first period its trade paid (so a rating after a minute's use
/// weighs a sixtieth of one after an hourly period). Not a
/// consensus value (it uses floating point), so it lives here and not in the contract.
pub fn reputation(
    state: &(impl StateRead + ?Sized),
    supplier: &PartyDid,
    now_ms: u64,
) -> Reputation {
    let stats: SupplierStats = read(state, &stats_key(supplier)).unwrap_or_default();
    let ended: u64 = stats.closed.values().sum();
    let completed = stats
        .closed
        .get(&CloseReason::Completed)
        .copied()
        .unwrap_or(0);
    let total = decode_u64(state.read(&rating_count_key(supplier)));
    let first = total.saturating_sub(REPUTATION_RATINGS_MAX);
    let (mut weight_sum, mut overall_sum) = (0.0f64, 0.0f64);
    let mut per: std::collections::BTreeMap<Resource, (f64, f64)> = Default::default();
    for n in first..total {
        let Some(entry) = read::<RatingEntry>(state, &rating_key(supplier, n)) else {
            continue;
        };
        let age = now_ms.saturating_sub(entry.at_ms) as f64;
        let paid_share = if !entry.full_period_fen.is_zero() {
            (entry.charged_fen.get() as f64 / entry.full_period_fen.get() as f64).clamp(0.0, 1.0)
        } else {
            1.0
        };
        let w = (-(age / REPUTATION_HALF_LIFE_MS as f64)).exp2() * paid_share;
        weight_sum += w;
        overall_sum += w * f64::from(entry.overall_milli) / 1000.0;
        for (r, s) in entry.scores.iter() {
            let e = per.entry(r).or_default();
            e.0 += w;
            e.1 += w * f64::from(s);
        }
    }
    Reputation {
        supplier: supplier.clone(),
        orders: stats.orders,
        contracted: stats.contracted,
        completion_rate: (ended > 0).then(|| completed as f64 / ended as f64),
        fault_claims_by_consumer: stats.fault_claims_by_consumer,
        completion_rate_without_claims: {
            let ended = ended.saturating_sub(stats.fault_claims_by_consumer);
            (ended > 0).then(|| completed as f64 / ended as f64)
        },
        closed: stats.closed,
        ratings: stats.ratings,
        overall: (weight_sum > 0.0).then(|| thousandths(overall_sum / weight_sum)),
        per_resource: per
            .into_iter()
            .filter(|(_, (w, _))| *w > 0.0)
            .map(|(r, (w, s))| (r, thousandths(s / w)))
            .collect(),
        weighting: format!(
            "last {REPUTATION_RATINGS_MAX} ratings, each weighted 2^(-age/{} days) x the share of a full first period its trade paid (at most 1)",
            REPUTATION_HALF_LIFE_MS / 86_400_000
        ),
    }
}

/// Rounded to thousandths of a point, the precision of a rating: an average of equal
/// scores reads as that score, not as 80.99999999999999.
fn thousandths(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Why a read request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadDenied {
    #[error("{0} is not enrolled on the trade chain")]
    NotEnrolled(String),
    #[error("the read request's time is more than {TIME_SKEW_MS_MAX} ms from the node's clock")]
    Stale,
    #[error("the read request's signature does not verify with the reader's enrolled key")]
    BadSignature,
    #[error("only the trade's parties and regulators may read its full records")]
    NotEntitled,
}

/// A read request: who reads, when, signed over [`read_digest`].
#[derive(Debug, Clone, Copy)]
pub struct SignedRead<'a> {
    pub reader: &'a PartyDid,
    pub time_ms: u64,
    pub signature: &'a Signature,
}

/// Checks a signed read request: `reader` signed [`read_digest`]`(chain, reader, subject,
/// time_ms)` with
/// its enrolled key within [`TIME_SKEW_MS_MAX`] of `now_ms`, and is entitled: a regulator,
/// or one of `parties`. Signed by one of a supplier's active agent keys instead, it reads
/// only as `agent_reads_as` — the trade's supplier; `None` where no agent key reads (a
/// party's history, which holds its trades as a consumer too).
pub fn authorize_read(
    state: &(impl StateRead + ?Sized),
    chain: &str,
    subject: &str,
    parties: &[&PartyDid],
    agent_reads_as: Option<&PartyDid>,
    request: &SignedRead<'_>,
    now_ms: u64,
) -> Result<Party, ReadDenied> {
    let SignedRead {
        reader,
        time_ms,
        signature,
    } = *request;
    let p = party(state, reader).ok_or_else(|| ReadDenied::NotEnrolled(reader.to_string()))?;
    if time_ms.abs_diff(now_ms) > TIME_SKEW_MS_MAX {
        return Err(ReadDenied::Stale);
    }
    let digest = read_digest(chain, reader, subject, time_ms);
    if verify_digest(&p.key, &digest, signature) {
        if p.has(Role::Regulator) || parties.contains(&reader) {
            return Ok(p);
        }
        return Err(ReadDenied::NotEntitled);
    }
    // A supplier's active agent keys read the supplier's own trades as the supplier
    // (never as a regulator, never trades where the supplier is the consumer).
    let by_agent = agents(state, reader)
        .iter()
        .any(|a| !a.is_revoked() && verify_digest(&a.key, &digest, signature));
    if !by_agent {
        return Err(ReadDenied::BadSignature);
    }
    if agent_reads_as == Some(reader) {
        return Ok(p);
    }
    Err(ReadDenied::NotEntitled)
}

/// An agent key's record (active or revoked).
pub fn agent(state: &(impl StateRead + ?Sized), key: &PublicKey) -> Option<AgentKey> {
    read(state, &agent_key(key))
}

/// The agent keys a supplier authorised, in order (revoked ones included).
pub fn agents(state: &(impl StateRead + ?Sized), supplier: &PartyDid) -> Vec<AgentKey> {
    let n = decode_u64(state.read(&agent_count_key(supplier)));
    (0..n.min(crate::agents::AGENTS_RECORDED_PER_SUPPLIER_MAX))
        .filter_map(|i| state.read(&agent_index_key(supplier, i)))
        .filter_map(|b| PublicKey::from_bytes(&b).ok())
        .filter_map(|k| agent(state, &k))
        .collect()
}

/// The DID a trade-chain key is enrolled for.
pub fn did_of_key(state: &(impl StateRead + ?Sized), key: &PublicKey) -> Option<PartyDid> {
    state
        .read(&keyof_key(key))
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| PartyDid::parse(&s).ok())
}
