//! Market data (`docs/market.md` "Market data"): per GPU model and region, the current
//! best prices and depth of the listed online resources (from the market index) and the
//! price history of the trades ordered on the platform (from the store's trades, priced
//! by their offer's trade mode). Public, like the catalogue: no organisation's data — a
//! trade counts only as a price, its units and its day.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use serde::Serialize;
use suanli_platform_domain::supply::catalog::ResourceStatus;
use suanli_primitives::calendar::{CST_OFFSET_MS, DAY_MS, civil_from_days, cst_day_start};

use super::MarketError;
use super::query::{gpu_model_param, region_param};
use crate::AppState;
use crate::market_index::Snapshot;
use crate::service::ServiceError;

/// Most days of price history.
pub const HISTORY_DAYS_MAX: u32 = 90;
/// Days of price history when none are asked.
pub const HISTORY_DAYS_DEFAULT: u32 = 30;
/// Most trades read for the history (the newest).
pub const DATA_TRADES_MAX: u32 = 5_000;
/// Price levels of the book each market shows.
pub const BOOK_LEVELS_MAX: usize = 5;
/// How long the computed market data is answered again, ms: a rebuilt market index (a
/// listing changed), a new trade or a new CST day recompute it at once; within it a
/// trade's later refusal is not seen yet.
pub const DATA_CACHE_TTL_MS: i64 = 60_000;

/// `GET /api/v1/market/data` parameters.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataQuery {
    /// One GPU model of the vocabulary (normalised).
    pub gpu_model: Option<String>,
    /// One region.
    pub region: Option<String>,
    /// Days of history, 1..=90 (default 30).
    pub days: Option<String>,
}

/// One price level of the book.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Level {
    /// Fen per unit-minute.
    pub price_fen_per_min: i64,
    /// Free units offered at this price.
    pub units: u64,
    /// Listed offers at this price.
    pub offers: usize,
}

/// One day of trades (China Standard Time).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Day {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// Trades ordered that day.
    pub trades: u32,
    /// Units ordered.
    pub units: u64,
    /// Lowest price, fen per unit-minute.
    pub min_fen_per_min: i64,
    /// Units-weighted mean price, fen per unit-minute (rounded down).
    pub mean_fen_per_min: i64,
    /// Highest price.
    pub max_fen_per_min: i64,
}

/// One market: a GPU model in a region.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MarketRow {
    /// GPU model.
    pub gpu_model: String,
    /// Region.
    pub region: String,
    /// Lowest listed price now (`None`: nothing listed).
    pub best_price_fen_per_min: Option<i64>,
    /// Free units listed now, over all prices.
    pub depth_units: u64,
    /// The cheapest levels, at most [`BOOK_LEVELS_MAX`].
    pub book: Vec<Level>,
    /// Trades in the history window.
    pub trades: u32,
    /// Price of the newest of them.
    pub last_price_fen_per_min: Option<i64>,
    /// The days with trades, oldest first.
    pub history: Vec<Day>,
}

/// The market data answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MarketData {
    /// Days of history.
    pub days: u32,
    /// Since when trades count, unix ms (a CST midnight).
    pub since_ms: i64,
    /// Markets by GPU model, then region.
    pub items: Vec<MarketRow>,
}

type Key = (String, String);

#[derive(Debug, Default)]
struct Acc {
    levels: BTreeMap<i64, (u64, HashSet<i64>)>,
    // (at_ms, price, units)
    trades: Vec<(i64, i64, u64)>,
}

fn days_param(v: &Option<String>) -> Result<u32, MarketError> {
    match v.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(HISTORY_DAYS_DEFAULT),
        Some(t) => t
            .parse::<u32>()
            .ok()
            .filter(|d| (1..=HISTORY_DAYS_MAX).contains(d))
            .ok_or_else(|| MarketError::Param {
                field: "days",
                message: format!("must be a whole number from 1 to {HISTORY_DAYS_MAX}"),
            }),
    }
}

/// The listed online resources' prices and free units, per market (an offer counts once
/// per market however many of its resources are in it).
fn book(snap: &Snapshot, acc: &mut HashMap<Key, Acc>) {
    for e in snap
        .entries
        .iter()
        .filter(|e| e.resource.spec.status() == ResourceStatus::Online)
    {
        let spec = e.market.spec();
        let key = (spec.gpu_model.clone(), spec.region.clone());
        let level = acc
            .entry(key)
            .or_default()
            .levels
            .entry(spec.price_fen_per_min)
            .or_default();
        if level.1.insert(e.listing.offer.id) {
            level.0 += u64::from(spec.units);
        }
    }
}

/// The trades ordered since `since_ms` (not refused; the newest [`DATA_TRADES_MAX`], read
/// in one statement), priced by their offer's mode, per market of their offer's resources.
async fn trades(
    s: &AppState,
    since_ms: i64,
    acc: &mut HashMap<Key, Acc>,
) -> Result<(), ServiceError> {
    let mut offers: HashMap<i64, Option<(i64, Vec<Key>)>> = HashMap::new();
    for t in s.store.trades_since(since_ms, DATA_TRADES_MAX).await? {
        let known = match offers.entry(t.offer_id) {
            Entry::Occupied(o) => o.into_mut(),
            Entry::Vacant(v) => v.insert(offer_markets(s, t.offer_id).await?),
        };
        let Some((price, keys)) = known else {
            continue;
        };
        for k in keys.iter() {
            acc.entry(k.clone()).or_default().trades.push((
                t.created_ms,
                *price,
                u64::from(t.units),
            ));
        }
    }
    Ok(())
}

/// Every market's book and its trades of the last [`HISTORY_DAYS_MAX`] days, computed
/// from one snapshot; each query is cut from it.
#[derive(Debug)]
pub struct DataBase {
    snap: Arc<Snapshot>,
    day_start_ms: i64,
    newest_trade: Option<(String, i64)>,
    computed_ms: i64,
    acc: HashMap<Key, Acc>,
}

/// The base for `snap` at `now`: the cached one while it is of the same snapshot, CST
/// day and newest trade and younger than [`DATA_CACHE_TTL_MS`], else computed (one
/// computation at a time).
async fn base(s: &AppState, snap: Arc<Snapshot>, now: i64) -> Result<Arc<DataBase>, ServiceError> {
    let day_start_ms = cst_day_start(now);
    let newest_trade = s
        .store
        .list_trades(None, 0, 1)
        .await?
        .first()
        .map(|t| (t.serial.clone(), t.created_ms));
    let mut slot = s.market.data_cache().lock().await;
    if let Some(b) = slot.as_ref().filter(|b| {
        Arc::ptr_eq(&b.snap, &snap)
            && b.day_start_ms == day_start_ms
            && b.newest_trade == newest_trade
            && now < b.computed_ms.saturating_add(DATA_CACHE_TTL_MS)
    }) {
        return Ok(Arc::clone(b));
    }
    let mut acc: HashMap<Key, Acc> = HashMap::new();
    book(&snap, &mut acc);
    let since_ms = day_start_ms - i64::from(HISTORY_DAYS_MAX - 1) * DAY_MS;
    trades(s, since_ms, &mut acc).await?;
    let b = Arc::new(DataBase {
        snap,
        day_start_ms,
        newest_trade,
        computed_ms: now,
        acc,
    });
    *slot = Some(Arc::clone(&b));
    Ok(b)
}

/// An offer's mode price and the markets of its resources.
async fn offer_markets(s: &AppState, id: i64) -> Result<Option<(i64, Vec<Key>)>, ServiceError> {
    let Some(offer) = s.store.get_offer(id).await? else {
        return Ok(None);
    };
    let Some(mode) = s.store.get_mode(offer.mode_id).await? else {
        return Ok(None);
    };
    let mut keys: Vec<Key> = s
        .store
        .resources_by_ids(&offer.resource_ids)
        .await?
        .iter()
        .map(|r| {
            let d = r.spec.get();
            (d.gpu_model.clone(), d.region.clone())
        })
        .collect();
    keys.sort();
    keys.dedup();
    Ok(Some((mode.spec.get().price_fen_per_min, keys)))
}

fn day_label(day_start_ms: i64) -> String {
    let (y, m, d) = civil_from_days((day_start_ms + CST_OFFSET_MS).div_euclid(DAY_MS));
    format!("{y:04}-{m:02}-{d:02}")
}

fn history(trades: &mut [(i64, i64, u64)]) -> Vec<Day> {
    trades.sort_by_key(|t| t.0);
    let mut days: BTreeMap<i64, Vec<(i64, u64)>> = BTreeMap::new();
    for (at, price, units) in trades.iter() {
        days.entry(cst_day_start(*at))
            .or_default()
            .push((*price, *units));
    }
    days.into_iter()
        .map(|(start, v)| {
            let units: u64 = v.iter().map(|x| x.1).sum();
            let paid: i128 = v.iter().map(|x| i128::from(x.0) * i128::from(x.1)).sum();
            Day {
                day: day_label(start),
                trades: u32::try_from(v.len()).unwrap_or(u32::MAX),
                units,
                min_fen_per_min: v.iter().map(|x| x.0).min().unwrap_or(0),
                mean_fen_per_min: i64::try_from(paid / i128::from(units.max(1))).unwrap_or(0),
                max_fen_per_min: v.iter().map(|x| x.0).max().unwrap_or(0),
            }
        })
        .collect()
}

/// The market data, optionally of one GPU model and/or one region.
pub async fn data(s: &AppState, q: &DataQuery) -> Result<MarketData, MarketError> {
    let model = gpu_model_param(&q.gpu_model)?.map(|m| m.as_str().to_owned());
    let region = region_param(&q.region)?.map(str::to_owned);
    let days = days_param(&q.days)?;
    let keep = |k: &Key| {
        model.as_ref().is_none_or(|m| *m == k.0) && region.as_ref().is_none_or(|r| *r == k.1)
    };
    let now = s.clock.now_unix_ms();
    let since_ms = cst_day_start(now) - i64::from(days - 1) * DAY_MS;
    let snap = s.market.snapshot(s).await?;
    let base = base(s, snap, now).await?;
    let mut items: Vec<MarketRow> = base
        .acc
        .iter()
        .filter(|(k, _)| keep(k))
        .filter_map(|(k, a)| {
            let window: Vec<(i64, i64, u64)> = a
                .trades
                .iter()
                .filter(|t| t.0 >= since_ms)
                .copied()
                .collect();
            // A market shows while it has a listed level or a trade in the window.
            (!a.levels.is_empty() || !window.is_empty()).then_some((k, a, window))
        })
        .map(|((gpu_model, region), a, mut window)| {
            let last = window.iter().max_by_key(|t| t.0).map(|t| t.1);
            MarketRow {
                best_price_fen_per_min: a.levels.keys().next().copied(),
                depth_units: a.levels.values().map(|l| l.0).sum(),
                book: a
                    .levels
                    .iter()
                    .take(BOOK_LEVELS_MAX)
                    .map(|(p, l)| Level {
                        price_fen_per_min: *p,
                        units: l.0,
                        offers: l.1.len(),
                    })
                    .collect(),
                trades: u32::try_from(window.len()).unwrap_or(u32::MAX),
                last_price_fen_per_min: last,
                history: history(&mut window),
                gpu_model: gpu_model.clone(),
                region: region.clone(),
            }
        })
        .collect();
    items.sort_by(|x, y| (&x.gpu_model, &x.region).cmp(&(&y.gpu_model, &y.region)));
    Ok(MarketData {
        days,
        since_ms,
        items,
    })
}
