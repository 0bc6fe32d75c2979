//! Orders of supplier offers as trades on the trade chain (issue 18, `docs/exchange.md`
//! §2–4): ordering a listed offer with the password (the member's own key signs the order,
//! unsealed for that one request), placing a pre-signed order, the organisation's trades
//! with their chain records, and the rating after the close.
//!
//! Order of checks, as everywhere in the service layer: the permission (`order:place` to
//! order and rate, `account:read` to read), then visibility (another organisation's trade
//! is not found), then the input (the domain's `trades::plan_order`), then what the chain
//! would refuse and the platform can see first (the organisation suspended, the member's
//! limit, an expired delegation, a pre-signed order that is not the caller's), and only
//! then the key, the store and the chain. The order is stored with its signed transaction
//! and its escrow entry in one SQL transaction before it is submitted; a definite refusal
//! reverses the entry, an unknown outcome leaves the trade `placing` for the exchange
//! worker (`crate::exchange`), which resubmits the same bytes.

use super::me::count_failure;
use super::security::{settings, verify_password};
use super::supply_catalog::OfferView;
use super::{ServiceError, ServiceResult};
use crate::AppState;
use crate::auth::Authed;
use crate::trade_book::ChainTrade;
use crate::trade_ledger::{Delegation, OrderDraft, RatingDraft, TradeLedger};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use suanli_platform_domain::journal::IdemKey;
use suanli_platform_domain::money::Fen;
use suanli_platform_domain::trades::{
    ModePrices, OrderPlan, OrderRejection, OrderTerm, TradeStatus, order_tx, plan_order,
    wallet_name,
};
use suanli_platform_domain::{OrgStatus, Permission};
use suanli_platform_store::{NewTrade, TradeRecord, WorkOrderRecord};
use suanli_primitives::SecretKey;

/// Most trades one list answers.
pub const TRADES_PAGE_MAX: u32 = 100;
/// Most wallet alarms `GET /api/v1/ops/wallet-alarms` answers (the newest).
pub const WALLET_ALARMS_MAX: u32 = 100;
/// Longest pre-signed order accepted, in hex characters.
pub const PRESIGNED_HEX_CHARS_MAX: usize = 32 * 1024;
/// Resource dimensions a rating scores.
pub const RATING_DIMENSIONS: &[&str] = &["cpu", "memory", "storage", "disk_io", "gpu", "network"];

/// The chain's refusals of an order the API names with their own code; any other
/// refusal answers `chain_refused` with the chain's code in the message.
pub const CHAIN_REFUSALS: &[&str] = &[
    "member_limit_exceeded",
    "not_wallet_member",
    "wallet_suspended",
    "insufficient_balance",
    "delegation_expired",
    "not_delegate",
    "bad_signature",
    "offer_not_valid",
    "offer_sold_out",
    "spec_mismatch",
    "escrow_below_first_period",
    "role_missing",
    "time_out_of_window",
    "delegation_needs_wallet",
    "delegation_too_long",
    "delegation_limit_exceeded",
    "key_in_use",
];

/// An order of a listed offer (`POST /api/v1/trades`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct TradeOrder {
    /// The catalogue offer (`/offers/{id}`).
    pub offer_id: i64,
    /// Units.
    pub units: u32,
    /// A term in minutes, escrowed up front…
    #[serde(default)]
    pub term_minutes: Option<u64>,
    /// …or pay-as-you-go within this budget, fen.
    #[serde(default)]
    pub budget_fen: Option<i64>,
}

/// A placed (or replayed) trade.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TradeOutcome {
    /// The trade.
    pub trade: TradeRecord,
    /// Whether this answers an earlier request with the same key.
    pub replayed: bool,
}

/// A trade with what the chain recorded.
#[derive(Debug, Clone)]
pub struct TradeDetail {
    /// The trade as stored.
    pub trade: TradeRecord,
    /// Its records on the chain (`None`: not on the chain, or no chain attached).
    pub chain: Option<ChainTrade>,
    /// Still in escrow: value − paid − refunded, fen.
    pub escrow_fen: i64,
    /// The running cost so far (Σ check-ins on the chain), fen.
    pub running_cost_fen: i64,
    /// The supplier's work order, with the access details once filled.
    pub work_order: Option<WorkOrderRecord>,
    /// The resource dimensions a rating of this trade scores: those its trade mode
    /// weighs (the chain refuses a rating that scores another or misses one).
    pub rating_dimensions: Vec<String>,
}

pub(crate) fn ledger(s: &AppState) -> ServiceResult<Arc<dyn TradeLedger>> {
    s.trade_ledger.clone().ok_or_else(|| ServiceError::Denied {
        code: "ledger_unavailable",
        field: None,
        message: "no trade chain is attached to this platform".into(),
    })
}

pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, crate::PortError> + Send + 'static,
) -> Result<T, crate::PortError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| crate::PortError::ledger(std::io::Error::other(e.to_string())))?
}

/// A chain refusal as the API answers it (its own code when listed).
pub fn refusal(code: &str, message: &str) -> ServiceError {
    let known = CHAIN_REFUSALS.iter().find(|c| **c == code).copied();
    ServiceError::Invalid {
        code: known.unwrap_or("chain_refused"),
        field: None,
        message: format!("the trade chain refused the order ({code}): {message}"),
    }
}

pub(super) fn idem(raw: Option<&str>) -> ServiceResult<IdemKey> {
    let raw = raw.ok_or_else(|| ServiceError::Malformed {
        code: "missing_idempotency_key",
        field: None,
        message: "orders need an Idempotency-Key header (1 to 128 printable ASCII characters)"
            .to_owned(),
    })?;
    if raw.starts_with(IMPORT_KEY_PREFIX) {
        return Err(ServiceError::Malformed {
            code: "invalid_idempotency_key",
            field: None,
            message: format!(
                "Idempotency-Key may not start with {IMPORT_KEY_PREFIX:?}: reserved for trades the platform imports from the chain"
            ),
        });
    }
    IdemKey::parse(raw).map_err(|e| ServiceError::Malformed {
        code: "invalid_idempotency_key",
        field: None,
        message: e.to_string(),
    })
}

/// The prefix of the idempotency keys of imported trades (`chain:{serial}`,
/// `exchange::import`), which a client's `Idempotency-Key` may not use.
pub const IMPORT_KEY_PREFIX: &str = "chain:";

pub(super) fn digest(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    hex::encode(h.finalize())
}

pub(super) fn suspended() -> ServiceError {
    ServiceError::Denied {
        code: "wallet_suspended",
        field: None,
        message: "the organisation is suspended: its wallet cannot order".into(),
    }
}

/// The caller's DID key opened with `password` (checked like a login first: a wrong one
/// counts towards the account lock and the address throttle).
pub(crate) async fn unseal_own(
    s: &AppState,
    a: &Authed,
    ip: &str,
    password: String,
) -> ServiceResult<SecretKey> {
    let now = s.clock.now_unix_ms();
    let lp = settings(s).await?.login;
    let window_ms = i64::from(lp.ip_window_secs) * 1000;
    let allowed = s
        .login_failures
        .lock()
        .map(|w| w.allowed(ip, now, window_ms, lp.ip_failures_max))
        .unwrap_or(true);
    if !allowed {
        return Err(ServiceError::Throttled {
            code: "too_many_attempts",
            locked: false,
            message: "too many failed password checks from this address; try again later".into(),
        });
    }
    if a.user.locked_until_ms.is_some_and(|t| t > now) {
        return Err(ServiceError::Throttled {
            code: "account_locked",
            locked: true,
            message: "too many failed password checks; the account is temporarily locked".into(),
        });
    }
    let stored = super::keys::mine_or_none(s, a).await?;
    let password = zeroize::Zeroizing::new(password);
    if !verify_password(s, password.to_string(), a.user.password_hash.clone()).await {
        count_failure(s, &a.user, now, ip).await?;
        return Err(ServiceError::Invalid {
            code: "invalid_credentials",
            field: Some("password".to_owned()),
            message: "the password is wrong".to_owned(),
        });
    }
    let pem = s.custody.export_pem(&stored, &password).await.map_err(|e| {
        tracing::error!(user_id = a.user.id.get(), error = %e, "the user key does not open with the verified password");
        ServiceError::Internal("the user key does not open".to_owned())
    })?;
    SecretKey::from_pem(&pem).map_err(|e| ServiceError::Internal(format!("the user key: {e}")))
}

/// The replay of `key`, if the organisation stored one: the trade (a refused one answers
/// its refusal again), or `idempotency_conflict` for another request under the key.
pub(super) async fn replay(
    s: &AppState,
    a: &Authed,
    key: &IdemKey,
    body: &str,
) -> ServiceResult<Option<TradeOutcome>> {
    match s.store.trade_by_idem(a.org.id, key.as_str()).await? {
        None => Ok(None),
        Some((_, d)) if d != body => Err(suanli_platform_store::StoreError::KeyReuse.into()),
        Some((t, _)) => answer(t, true).map(Some),
    }
}

pub(super) fn answer(trade: TradeRecord, replayed: bool) -> ServiceResult<TradeOutcome> {
    if trade.status == TradeStatus::Refused {
        return Err(refusal(
            trade.refusal_code.as_deref().unwrap_or("refused"),
            trade.refusal_message.as_deref().unwrap_or(""),
        ));
    }
    Ok(TradeOutcome { trade, replayed })
}

/// What the platform can see before the chain would refuse: the wallet suspended, the
/// member not in it or above its limit. Without a view (no wallet yet) the chain decides.
pub(super) async fn precheck(
    ledger: &Arc<dyn TradeLedger>,
    wallet: &str,
    did: &str,
    value: Fen,
) -> ServiceResult<()> {
    let (l, w) = (Arc::clone(ledger), wallet.to_owned());
    let Ok(Some(view)) = blocking(move || l.wallet_view(&w)).await else {
        return Ok(());
    };
    if view.suspended {
        return Err(suspended());
    }
    let Some(m) = view.members.iter().find(|m| m.did == did) else {
        return Ok(()); // the limit may be on its way (`trade_members::ensure_limit`)
    };
    if m.spent_fen.saturating_add(value.get()) > m.limit_fen {
        return Err(ServiceError::Invalid {
            code: "member_limit_exceeded",
            field: None,
            message: format!(
                "this order of {} fen would take you beyond your spending limit of {} fen ({} fen spent)",
                value.get(),
                m.limit_fen,
                m.spent_fen
            ),
        });
    }
    Ok(())
}

/// The caller's DID (`no_did` while its key has none): both order paths need it for the
/// member's limit on the wallet.
pub(super) async fn own_did(s: &AppState, a: &Authed) -> ServiceResult<String> {
    super::keys::mine_or_none(s, a)
        .await?
        .did
        .ok_or_else(|| ServiceError::Absent {
            code: "no_did",
            message: "your key has no DID on the identity chain yet".into(),
        })
}

/// Orders a listed offer: the member's key, unsealed with `password`, signs the order;
/// the trade is stored `placing` with its escrow entry, then submitted (`docs/exchange.md`
/// §2).
pub async fn place(
    s: &AppState,
    a: &Authed,
    ip: &str,
    idem_key: Option<&str>,
    req: &TradeOrder,
    password: String,
) -> ServiceResult<TradeOutcome> {
    place_bound(s, a, ip, idem_key, req, password, "trade").await
}

/// The request digest stored with an order's Idempotency-Key: `bound` names what the
/// order belongs to (`trade` for a direct order, `market-confirm:{demand}` for a demand's
/// confirmation), so a key replays only an order of the same kind and demand.
fn order_digest(req: &TradeOrder, bound: &str) -> String {
    digest(&[
        bound,
        &req.offer_id.to_string(),
        &req.units.to_string(),
        &format!("{:?}", req.term_minutes),
        &format!("{:?}", req.budget_fen),
    ])
}

/// The earlier order stored under `idem_key` for the same request bound to `bound`
/// (`None`: no order under the key; `idempotency_conflict`: another request's key).
pub async fn replay_bound(
    s: &AppState,
    a: &Authed,
    idem_key: Option<&str>,
    req: &TradeOrder,
    bound: &str,
) -> ServiceResult<Option<TradeOutcome>> {
    replay(s, a, &idem(idem_key)?, &order_digest(req, bound)).await
}

/// [`place`] with the Idempotency-Key bound to `bound` (see [`order_digest`]).
pub async fn place_bound(
    s: &AppState,
    a: &Authed,
    ip: &str,
    idem_key: Option<&str>,
    req: &TradeOrder,
    password: String,
    bound: &str,
) -> ServiceResult<TradeOutcome> {
    a.allow(Permission::OrderPlace)?;
    let key = idem(idem_key)?;
    let body = order_digest(req, bound);
    if let Some(done) = replay(s, a, &key, &body).await? {
        return Ok(done);
    }
    let term = match (req.term_minutes, req.budget_fen) {
        (Some(m), None) => OrderTerm::Minutes(m),
        (None, Some(b)) => OrderTerm::Budget(super::amount(b, "budget_fen")?),
        _ => {
            return Err(ServiceError::Invalid {
                code: "invalid_term",
                field: Some("term_minutes".to_owned()),
                message: "give either term_minutes or budget_fen, not both".to_owned(),
            });
        }
    };
    if a.org.status != OrgStatus::Active {
        return Err(suspended());
    }
    let ledger = ledger(s)?;
    let view = super::supply_catalog::catalogue_offer(s, req.offer_id).await?;
    let chain_offer_id = view.offer.chain_offer_id.ok_or(ServiceError::NotFound)?;
    let plan = plan_of(&view, req, term)?;
    let did = own_did(s, a).await?;
    super::trade_members::ensure_limit(s, a, &did).await?;
    precheck(&ledger, &wallet_name(a.org.id), &did, plan.value).await?;
    let secret = unseal_own(s, a, ip, password).await?;
    let now = s.clock.now_unix_ms();
    let draft = draft_of(&ledger, a, &view, chain_offer_id, &plan, now)?;
    let (l, d) = (Arc::clone(&ledger), draft.clone());
    let signed = blocking(move || l.sign_order(&secret, &d))
        .await
        .map_err(|e| refusal(e.code(), &e.to_string()))?;
    let new = NewTrade {
        serial: draft.serial,
        org: a.org.id,
        user: a.user.id,
        offer_id: view.offer.id,
        chain_offer_id,
        supplier_org: view.offer.org,
        units: plan.units,
        duration_minutes: plan.duration_minutes,
        payg: plan.payg,
        value: plan.value,
        source: "web",
        idem_key: key.as_str().to_owned(),
        body_digest: body,
        tx_ref: signed.tx_ref,
        tx_hex: signed.tx_hex,
        at_ms: now,
    };
    store_and_submit(s, &ledger, new).await
}

/// The order's plan from the offer's mode and the request (`domain::trades::plan_order`).
fn plan_of(view: &OfferView, req: &TradeOrder, term: OrderTerm) -> ServiceResult<OrderPlan> {
    let mode = view.mode.spec.get();
    let prices = ModePrices {
        price_fen_per_min: mode.price_fen_per_min,
        min_charge_fen: mode.min_charge_fen,
        checkin_period_min: mode.checkin_period_min,
    };
    let payg = matches!(term, OrderTerm::Budget(_));
    plan_order(prices, req.units, view.offer.units, term).map_err(|e| {
        // A value out of range comes from the budget when one was given.
        let field = match e {
            OrderRejection::Value if payg => "budget_fen",
            _ => e.field(),
        };
        ServiceError::Invalid {
            code: e.code(),
            field: Some(field.to_owned()),
            message: e.to_string(),
        }
    })
}

/// When a pay-as-you-go order's channel delegation ends: the latest end its contract can
/// have — accepted at the offer's last moment (`offer_valid_until_ms`, or `now_ms` if that
/// is later) and run for its whole `minutes` — so the channel never stops metering before
/// the contract does (the chain refuses a delegation beyond this plus 7 days).
pub fn delegation_end(offer_valid_until_ms: i64, now_ms: u64, minutes: u64) -> u64 {
    u64::try_from(offer_valid_until_ms)
        .unwrap_or(0)
        .max(now_ms)
        .saturating_add(minutes.saturating_mul(60_000))
}

/// The order to sign: a fresh serial, the offer's spec, the plan, the organisation's
/// wallet and — for pay-as-you-go — the delegation to the platform's channel key.
fn draft_of(
    ledger: &Arc<dyn TradeLedger>,
    a: &Authed,
    view: &OfferView,
    chain_offer_id: u64,
    plan: &OrderPlan,
    now: i64,
) -> ServiceResult<OrderDraft> {
    let now_ms = u64::try_from(now).unwrap_or(0);
    let latest_end_ms = delegation_end(view.offer.valid_until_ms, now_ms, plan.duration_minutes);
    let channel = plan.payg.then(|| {
        let (key_hex, endpoint) = ledger.channel_key();
        Delegation {
            key_hex,
            endpoint,
            valid_until_ms: latest_end_ms,
            // The platform's channel may top the trade up from the wallet by as much as
            // the budget the member ordered with, never more.
            max_fen: plan.value.get(),
        }
    });
    Ok(OrderDraft {
        serial: hex::encode(
            crate::crypto::random_bytes::<16>()
                .map_err(|e| ServiceError::Internal(e.to_string()))?,
        ),
        chain_offer_id,
        spec: super::supply_catalog::chain_spec(&view.offer.title, &view.resources),
        units: plan.units,
        duration_minutes: plan.duration_minutes,
        value_fen: plan.value.get(),
        wallet: wallet_name(a.org.id),
        channel,
        time_ms: now_ms,
    })
}

/// Stores the trade with its escrow entry, then submits it and records the answer.
pub(super) async fn store_and_submit(
    s: &AppState,
    ledger: &Arc<dyn TradeLedger>,
    new: NewTrade,
) -> ServiceResult<TradeOutcome> {
    let escrow = order_tx(new.org, &new.serial, new.value)
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
    let (trade, replayed) = s.store.place_trade(&new, &escrow).await?;
    if replayed || trade.status != TradeStatus::Placing {
        return answer(trade, replayed);
    }
    s.metrics.trade_order();
    // The wallet must hold what the journal's cash holds before the chain escrows from
    // it: send the mirror's pending mints first (a failure is left to the worker).
    // Only when something is pending: the operator lock is shared with the worker's
    // whole pass, and most orders find the outbox empty.
    if s.mirror.is_some() && !s.store.mirror_pending(1).await?.is_empty() {
        let _signing = s.operator_lock.lock().await;
        if let Err(e) = crate::exchange::send_outbox(s, s.clock.now_unix_ms()).await {
            tracing::warn!(error = %e, "wallet mirror not sent before the order");
        }
    }
    let decided =
        crate::exchange::decide(s.store.as_ref(), ledger, &trade, s.clock.now_unix_ms()).await?;
    if decided.status == TradeStatus::Refused {
        s.metrics.trade_refusal();
    }
    s.exchange_kick.notify_one();
    answer(decided, false)
}

pub use super::trades_presigned::{foreign_delegation, place_presigned};

/// The caller's organisation's trades, newest first (before `before_ms`, 0 from the
/// newest).
pub async fn list(
    s: &AppState,
    a: &Authed,
    before_ms: i64,
    limit: u32,
) -> ServiceResult<Vec<TradeRecord>> {
    a.allow(Permission::AccountRead)?;
    let limit = limit.clamp(1, TRADES_PAGE_MAX);
    Ok(s.store
        .list_trades(Some(a.org.id), before_ms, limit)
        .await?)
}

/// The caller's organisation's trade `serial` (another's is not found).
pub async fn own(s: &AppState, a: &Authed, serial: &str) -> ServiceResult<TradeRecord> {
    let serial = serial.to_ascii_lowercase();
    match s.store.get_trade(&serial).await? {
        Some(t) if t.org == a.org.id => Ok(t),
        _ => Err(ServiceError::NotFound),
    }
}

/// One trade with its chain records, escrow, running cost and work order.
pub async fn detail(s: &AppState, a: &Authed, serial: &str) -> ServiceResult<TradeDetail> {
    a.allow(Permission::AccountRead)?;
    let trade = own(s, a, serial).await?;
    let chain = match s.trade_ledger.clone() {
        Some(l) if trade.status != TradeStatus::Refused => {
            let sn = trade.serial.clone();
            blocking(move || l.trade_status(&sn)).await.ok().flatten()
        }
        _ => None,
    };
    let running = chain
        .as_ref()
        .map_or(trade.paid.get(), |c| c.paid_fen.get());
    let work_order = s
        .store
        .work_order_by_serial(trade.supplier_org, &trade.serial)
        .await?;
    let rating_dimensions = rating_dimensions(s, trade.offer_id).await?;
    Ok(TradeDetail {
        rating_dimensions,
        escrow_fen: trade.value.get() - trade.paid.get() - trade.refunded.get(),
        running_cost_fen: running,
        work_order,
        chain,
        trade,
    })
}

/// The dimensions the trade mode of platform offer `offer_id` weighs.
async fn rating_dimensions(s: &AppState, offer_id: i64) -> ServiceResult<Vec<String>> {
    let Some(offer) = s.store.get_offer(offer_id).await? else {
        return Ok(Vec::new());
    };
    let Some(mode) = s.store.get_mode(offer.mode_id).await? else {
        return Ok(Vec::new());
    };
    Ok(mode
        .spec
        .get()
        .weights
        .iter()
        .filter(|(d, w)| **w > 0 && RATING_DIMENSIONS.contains(&d.as_str()))
        .map(|(d, _)| d.clone())
        .collect())
}

/// Stops a placed or running trade: the member's key, unsealed with `password`, signs the
/// close (`stopped_by_consumer`); the chain charges the started minutes since the last
/// check-in and refunds the rest to the wallet, which the exchange worker then follows.
pub async fn stop(
    s: &AppState,
    a: &Authed,
    ip: &str,
    serial: &str,
    password: String,
) -> ServiceResult<TradeRecord> {
    a.allow(Permission::OrderPlace)?;
    let trade = own(s, a, serial).await?;
    if !matches!(trade.status, TradeStatus::Placed | TradeStatus::Active) {
        return Err(ServiceError::Conflict {
            code: "trade_not_running",
            field: None,
            message: "only a placed or running trade is stopped".into(),
        });
    }
    let ledger = ledger(s)?;
    let secret = unseal_own(s, a, ip, password).await?;
    let sn = trade.serial.clone();
    blocking(move || ledger.stop(&secret, &sn))
        .await
        .map_err(|e| refusal(e.code(), &e.to_string()))?;
    // Follow the close at once (the worker would within a pass).
    if let Some(l) = s.trade_ledger.clone()
        && let Err(e) =
            crate::exchange::sync_trade(s.store.as_ref(), &l, &trade, s.clock.now_unix_ms()).await
    {
        tracing::warn!(serial = %trade.serial, error = %e, "stopped trade not followed yet");
    }
    s.exchange_kick.notify_one();
    own(s, a, serial).await
}

/// Rates a closed trade: the member's key, unsealed with `password`, signs the rating
/// (0–100 per resource dimension) on the chain.
pub async fn rate(
    s: &AppState,
    a: &Authed,
    ip: &str,
    serial: &str,
    scores: &[(String, u8)],
    password: String,
) -> ServiceResult<TradeRecord> {
    a.allow(Permission::OrderPlace)?;
    let trade = own(s, a, serial).await?;
    if trade.status != TradeStatus::Closed {
        return Err(ServiceError::Conflict {
            code: "trade_not_closed",
            field: None,
            message: "a trade is rated after its close".into(),
        });
    }
    if trade.rating_ref.is_some() {
        return Err(ServiceError::Conflict {
            code: "already_rated",
            field: None,
            message: "this trade is rated already".into(),
        });
    }
    if scores.is_empty() {
        return Err(ServiceError::invalid(
            "scores",
            "rate at least one dimension",
        ));
    }
    for (d, v) in scores {
        if !RATING_DIMENSIONS.contains(&d.as_str()) || *v > 100 {
            return Err(ServiceError::invalid(
                "scores",
                format!(
                    "each score is 0–100 for one of {}",
                    RATING_DIMENSIONS.join(", ")
                ),
            ));
        }
    }
    let ledger = ledger(s)?;
    let secret = unseal_own(s, a, ip, password).await?;
    let draft = RatingDraft {
        serial: trade.serial.clone(),
        scores: scores.to_vec(),
        time_ms: u64::try_from(s.clock.now_unix_ms()).unwrap_or(0),
    };
    let tx = blocking(move || ledger.rate(&secret, &draft))
        .await
        .map_err(|e| refusal(e.code(), &e.to_string()))?;
    match s.store.trade_rated(&trade.serial, &tx).await {
        Ok(t) => Ok(t),
        // The chain took this rating (it takes one per trade); a concurrent request may
        // have stored its reference first: the trade is rated either way.
        Err(suanli_platform_store::StoreError::NotFound) => match own(s, a, serial).await? {
            t if t.rating_ref.is_some() => Ok(t),
            _ => Err(ServiceError::NotFound),
        },
        Err(e) => Err(e.into()),
    }
}
