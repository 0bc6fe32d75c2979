//! Routes of the exchange's bills, notices and operator view (issue 18,
//! `docs/exchange.md` §6–9, OpenAPI tag `trades`): a trade's bill lines from the chain's
//! check-ins, the organisation's monthly statement of trades, the top-up that answers a
//! low-funds pause, a trade's bundle (download), a supplier's supplied trades and
//! earnings, and the operator's overview and per-organisation lists. Thin handlers over
//! [`crate::service::trade_bills`], [`crate::service::trade_notices`] and
//! [`crate::service::trade_ops`].

use super::bodies::{obj, s_str};
use super::trades::trade_json;
use super::{Access, RouteDoc};
use crate::AppState;
use crate::auth::Authed;
use crate::error::ApiResult;
use crate::http::{ApiJson, ApiQuery, IdParam};
use crate::service::trade_bills::{self as tb, TradeBill};
use crate::service::trade_notices as tn;
use crate::service::trade_ops::{self as to, OpsTrade};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

/// Every route of this part.
pub const ROUTES: &[RouteDoc] = &[
    RouteDoc {
        method: "GET",
        path: "/api/v1/trades/statement",
        summary: "The organisation's statement of trades for a month (?period=YYYY-MM, CST): every chain check-in whose span ends in it, each linked to its record",
        access: Access::Permission("account:read"),
        body: None,
        response: Some("TradeStatement"),
        handler: || get(statement),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/trades/supplied",
        summary: "A supplier's trades placed through the platform that the chain took (its newest; no refused or placing orders), with the chain's view and their channels, without the customer's member, journal ids and refusal",
        access: Access::Permission("supply:read"),
        body: None,
        response: Some("SuppliedTradeList"),
        handler: || get(supplied),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/trades/supplied/earnings",
        summary: "A supplier's earnings of a month (?period=YYYY-MM) from the trades it supplied: gross check-ins, the operator's commission, net",
        access: Access::Permission("supply:read"),
        body: None,
        response: Some("SupplierEarnings"),
        handler: || get(earnings),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/trades/{serial}/bill",
        summary: "A trade's bill: one line per chain check-in (serial, record sequence, block height, transaction) with the journal entry that followed it, the running cost and the newest channel notice",
        access: Access::Permission("account:read"),
        body: None,
        response: Some("TradeBill"),
        handler: || get(bill),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/trades/{serial}/bundle",
        summary: "Download a trade's bundle (records, transactions, block headers, inclusion proofs; docs/trade.md §10) for `suanli trade verify FILE`",
        access: Access::Permission("account:read"),
        body: None,
        response: None,
        handler: || get(bundle),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/trades/{serial}/topup",
        summary: "Top a placed or running trade up from the wallet (its channel while open, its escrow before), signed by the member's key the password unseals; resumes a paused channel",
        access: Access::Permission("order:place"),
        body: Some(b_topup),
        response: Some("TradeEnvelope"),
        handler: || post(topup),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/ops/trades",
        summary: "The operator's view of the exchange: trades per customer and per supplier, wallet alarms, the reconciliation (journal − chain) and unpaid tails",
        access: Access::Permission("finance:read"),
        body: None,
        response: Some("TradeOpsOverview"),
        handler: || get(overview),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/ops/trades/orgs/{id}",
        summary: "One organisation's trades as customer or supplier (?side=customer|supplier) with the chain's view, channels and disputes",
        access: Access::Permission("finance:read"),
        body: None,
        response: Some("OrgTrades"),
        handler: || get(org_trades),
    },
];

fn b_topup() -> Value {
    obj(
        &["amount_fen", "password"],
        json!({"amount_fen": {"type": "integer", "minimum": 1}, "password": s_str()}),
    )
}

/// The OpenAPI schemas of this part's answers.
pub fn schemas() -> Value {
    let int = json!({"type": "integer"});
    let ni = json!({"type": "integer", "nullable": true});
    let trade = json!({"$ref": "#/components/schemas/Trade"});
    let line = json!({"type": "object", "properties": {
        "serial": {"type": "string"}, "n": int, "kind": {"type": "string", "enum": ["checkin", "channel_checkin", "close_tail", "channel_open"]},
        "seq": int, "height": int, "tx_ref": {"type": "string"}, "start_ms": int, "end_ms": int,
        "minutes": int, "cost_fen": int, "at_ms": int, "journal_tx_id": ni, "journal_fen": ni}});
    let channel = json!({"type": "object", "nullable": true, "properties": {
        "status": {"type": "string", "enum": ["open", "closing", "closed"]}, "opened_at_ms": int, "checkins": int,
        "settled_minutes": int, "settled_cost_fen": int, "consumer_challenges": int, "supplier_challenges": int,
        "penalty": {"type": "boolean"}, "disputed": {"type": "boolean"}}});
    let ops_trade = json!({"type": "object", "properties": {"trade": trade, "chain_paid_fen": ni,
        "unpaid_fen": int, "channel": channel}});
    let mut supplier_view = super::trades::schemas()["Trade"].clone();
    if let Some(props) = supplier_view["properties"].as_object_mut() {
        for k in SUPPLIER_HIDDEN {
            props.remove(k);
        }
    }
    if let Some(req) = supplier_view["required"].as_array_mut() {
        req.retain(|k| !SUPPLIER_HIDDEN.iter().any(|h| k == h));
    }
    let supplied_trade = json!({"type": "object", "properties": {"trade": supplier_view,
        "chain_paid_fen": ni, "unpaid_fen": int, "channel": channel}});
    let totals = json!({"type": "array", "items": {"type": "object", "properties": {
        "org": int, "name": {"type": "string"}, "trades": int, "live": int, "closed": int, "refused": int,
        "value_fen": int, "paid_fen": int, "refunded_fen": int}}});
    let statement = json!({"type": "object", "properties": {"period": {"type": "string"}, "from_ms": int, "to_ms": int,
        "lines": {"type": "array", "items": line}, "minutes": int, "total_fen": int, "trades": int}});
    json!({
        "TradeBillLine": line,
        "TradeBill": {"type": "object", "required": ["trade", "lines", "running_cost_fen"], "properties": {
            "trade": trade, "lines": {"type": "array", "items": {"$ref": "#/components/schemas/TradeBillLine"}},
            "running_cost_fen": int, "journal_fen": int, "unpaid_fen": int, "on_chain": {"type": "boolean"},
            "notice": {"type": "object", "nullable": true, "properties": {"id": int, "serial": {"type": "string"},
                "org": int, "paused": {"type": "boolean"}, "remaining_fen": int, "margin_fen": int, "at_ms": int}},
            "live": {"type": "object", "nullable": true, "properties": {"seq": {"type": "integer", "nullable": true},
                "minutes": int, "cost_fen": int, "margin_fen": int}}}},
        "TradeStatement": statement,
        "SupplierEarnings": {"type": "object", "properties": {"period": {"type": "string"}, "from_ms": int, "to_ms": int,
            "lines": {"type": "array", "items": line}, "minutes": int, "total_fen": int, "trades": int,
            "commission_bp": int, "earnings": {"type": "object", "properties": {
                "gross_fen": int, "commission_fen": int, "net_fen": int}}}},
        "SuppliedTrade": supplied_trade,
        "SuppliedTradeList": {"type": "object", "required": ["items"], "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/SuppliedTrade"}}}},
        "OpsTrade": ops_trade,
        "OpsTradeList": {"type": "object", "required": ["items"], "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/OpsTrade"}}}},
        "OrgTrades": {"type": "object", "properties": {"org": int, "name": {"type": "string"},
            "side": {"type": "string", "enum": ["customer", "supplier"]},
            "trades": {"type": "array", "items": {"$ref": "#/components/schemas/OpsTrade"}}, "disputes": int}},
        "TradeOpsOverview": {"type": "object", "properties": {"customers": totals, "suppliers": totals,
            "alarms": {"type": "array", "items": {"type": "object", "properties": {"id": int, "org": int,
                "journal_fen": int, "chain_fen": int, "raised_ms": int}}},
            "reconciliation": {"type": "object", "nullable": true, "properties": {"chain_available": {"type": "boolean"},
                "compared": int, "journal_minus_chain_fen": int, "differences": {"type": "array", "items": {
                    "type": "object", "properties": {"org": int, "journal_fen": int, "chain_fen": int}}}}},
            "unpaid": {"type": "array", "items": {"type": "object", "properties": {"serial": {"type": "string"},
                "org": int, "supplier_org": int, "unpaid_fen": int, "close_reason": {"type": "string", "nullable": true}}}}}},
    })
}

fn internal(e: serde_json::Error) -> crate::error::ApiError {
    crate::service::ServiceError::Internal(e.to_string()).into()
}

/// The bill's JSON shape (`TradeBill`).
pub fn bill_json(b: &TradeBill) -> ApiResult<Value> {
    let mut v = serde_json::to_value(b).map_err(internal)?;
    v["trade"] = trade_json(&b.trade);
    Ok(v)
}

/// An operator's trade row's JSON shape (`OpsTrade`).
pub fn ops_trade_json(t: &OpsTrade) -> ApiResult<Value> {
    let mut v = serde_json::to_value(t).map_err(internal)?;
    v["trade"] = trade_json(&t.trade);
    Ok(v)
}

/// The customer's fields a supplier does not see in its supplied trades: the signing
/// member, the customer's journal transaction and the chain's refusal.
const SUPPLIER_HIDDEN: [&str; 4] = ["user_id", "escrow_tx_id", "refusal_code", "refusal_message"];

/// A supplier's supplied trade's JSON shape (`SuppliedTrade`): the operator's row without
/// [`SUPPLIER_HIDDEN`].
pub fn supplied_trade_json(t: &OpsTrade) -> ApiResult<Value> {
    let mut v = ops_trade_json(t)?;
    if let Some(trade) = v["trade"].as_object_mut() {
        for k in SUPPLIER_HIDDEN {
            trade.remove(k);
        }
    }
    Ok(v)
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PeriodQuery {
    #[serde(default)]
    period: String,
}

async fn statement(
    State(s): State<AppState>,
    a: Authed,
    ApiQuery(q): ApiQuery<PeriodQuery>,
) -> ApiResult<Json<Value>> {
    let st = tb::org_statement(&s, &a, &q.period).await?;
    Ok(Json(serde_json::to_value(&st).map_err(internal)?))
}

async fn supplied(State(s): State<AppState>, a: Authed) -> ApiResult<Json<Value>> {
    let items = to::supplied(&s, &a).await?;
    let items: Vec<Value> = items
        .iter()
        .map(supplied_trade_json)
        .collect::<ApiResult<_>>()?;
    Ok(Json(json!({ "items": items })))
}

async fn earnings(
    State(s): State<AppState>,
    a: Authed,
    ApiQuery(q): ApiQuery<PeriodQuery>,
) -> ApiResult<Json<Value>> {
    let e = tb::supplier_earnings(&s, &a, &q.period).await?;
    Ok(Json(serde_json::to_value(&e).map_err(internal)?))
}

async fn bill(
    State(s): State<AppState>,
    a: Authed,
    Path(serial): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(bill_json(&tb::trade_bill(&s, &a, &serial).await?)?))
}

/// The file name a bundle downloads as.
pub fn bundle_file_name(serial: &str) -> String {
    format!("trade-{serial}.bundle.json")
}

/// The download of a bundle: `body` as `application/json`, an attachment named
/// [`bundle_file_name`] (the API and the page answer the same).
pub fn bundle_response(serial: &str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", bundle_file_name(serial)),
            ),
        ],
        body,
    )
        .into_response()
}

async fn bundle(
    State(s): State<AppState>,
    a: Authed,
    Path(serial): Path<String>,
) -> ApiResult<Response> {
    let (serial, body) = tn::bundle(&s, &a, &serial).await?;
    Ok(bundle_response(&serial, body))
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TopUpBody {
    amount_fen: i64,
    password: String,
}

async fn topup(
    State(s): State<AppState>,
    a: Authed,
    client: Option<axum::Extension<crate::http::Client>>,
    Path(serial): Path<String>,
    headers: axum::http::HeaderMap,
    ApiJson(b): ApiJson<TopUpBody>,
) -> ApiResult<Json<Value>> {
    let ip = client.map(|c| c.ip.clone()).unwrap_or_default();
    let key = headers
        .get(crate::money_api::IDEMPOTENCY_HEADER)
        .and_then(|v| v.to_str().ok());
    let t = tn::top_up(&s, &a, &ip, &serial, b.amount_fen, b.password, key).await?;
    Ok(Json(json!({ "trade": trade_json(&t) })))
}

async fn overview(State(s): State<AppState>, a: Authed) -> ApiResult<Json<Value>> {
    let o = to::overview(&s, &a).await?;
    Ok(Json(serde_json::to_value(&o).map_err(internal)?))
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SideQuery {
    #[serde(default)]
    side: String,
}

async fn org_trades(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
    ApiQuery(q): ApiQuery<SideQuery>,
) -> ApiResult<Json<Value>> {
    let o = to::org_trades(&s, &a, id, &q.side).await?;
    let trades: Vec<Value> = o
        .trades
        .iter()
        .map(ops_trade_json)
        .collect::<ApiResult<_>>()?;
    let mut v = serde_json::to_value(&o).map_err(internal)?;
    v["trades"] = Value::Array(trades);
    Ok(Json(v))
}
