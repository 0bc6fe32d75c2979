//! Pre-signed orders (`POST /api/v1/trades/presigned`, `docs/exchange.md` §2): an order
//! transaction the member signed itself, checked against the caller (its key, its
//! organisation's wallet, the platform's channel delegation, a listed offer) before
//! anything is stored; the same bytes under a new `Idempotency-Key` answer the stored
//! trade, another transaction with that serial `409 trade_exists`.

use super::trades::{
    PRESIGNED_HEX_CHARS_MAX, TradeOutcome, answer, blocking, digest, idem, ledger, own_did,
    precheck, replay, store_and_submit, suspended,
};
use super::{ServiceError, ServiceResult};
use crate::AppState;
use crate::auth::Authed;
use crate::trade_ledger::{Delegation, OrderFacts, TradeLedger};
use std::sync::Arc;
use suanli_platform_domain::supply::catalog::OfferStatus;
use suanli_platform_domain::trades::wallet_name;
use suanli_platform_domain::{OrgStatus, Permission};
use suanli_platform_store::NewTrade;

/// Places a pre-signed order (`POST /api/v1/trades/presigned`): its signer must be the
/// caller's key and its wallet the caller's organisation's.
pub async fn place_presigned(
    s: &AppState,
    a: &Authed,
    idem_key: Option<&str>,
    tx_hex: &str,
) -> ServiceResult<TradeOutcome> {
    a.allow(Permission::OrderPlace)?;
    let key = idem(idem_key)?;
    let tx_hex = tx_hex.trim().to_ascii_lowercase();
    if tx_hex.is_empty()
        || tx_hex.len() > PRESIGNED_HEX_CHARS_MAX
        || !tx_hex.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return Err(ServiceError::invalid(
            "tx",
            format!(
                "must be the order transaction's encoding in hex, at most {PRESIGNED_HEX_CHARS_MAX} characters"
            ),
        ));
    }
    let body = digest(&["presigned", &tx_hex]);
    if let Some(done) = replay(s, a, &key, &body).await? {
        return Ok(done);
    }
    if a.org.status != OrgStatus::Active {
        return Err(suspended());
    }
    let ledger = ledger(s)?;
    let did = own_did(s, a).await?;
    let (l, h) = (Arc::clone(&ledger), tx_hex.clone());
    let facts = blocking(move || l.check_order(&h))
        .await
        .map_err(|e| forged(&e.to_string()))?;
    if let Some(done) = already_placed(s, a, &facts).await? {
        return Ok(done);
    }
    // A serial the chain holds already (another transaction sent past the platform, not
    // yet imported) is never stored as this order.
    let (l, sn) = (Arc::clone(&ledger), facts.serial.to_ascii_lowercase());
    if let Ok(Some(_)) = blocking(move || l.trade_status(&sn)).await {
        return Err(exists());
    }
    let (offer_id, supplier) = check_facts(s, a, &ledger, &facts).await?;
    let value = super::amount(facts.value_fen, "tx")?;
    super::trade_members::ensure_limit(s, a, &did).await?;
    precheck(&ledger, &wallet_name(a.org.id), &did, value).await?;
    let new = NewTrade {
        serial: facts.serial.clone(),
        org: a.org.id,
        user: a.user.id,
        offer_id,
        chain_offer_id: facts.chain_offer_id,
        supplier_org: supplier,
        units: facts.units,
        duration_minutes: facts.duration_minutes,
        payg: facts.channel.is_some(),
        value,
        source: "presigned",
        idem_key: key.as_str().to_owned(),
        body_digest: body,
        tx_ref: facts.tx_ref.clone(),
        tx_hex,
        at_ms: s.clock.now_unix_ms(),
    };
    match store_and_submit(s, &ledger, new).await {
        // Another request with the same bytes (under another key) stored it first.
        Err(e) => match already_placed(s, a, &facts).await? {
            Some(done) if !matches!(e, ServiceError::Invalid { .. }) => Ok(done),
            _ => Err(e),
        },
        ok => ok,
    }
}

/// The same pre-signed order sent again under another `Idempotency-Key`: the platform
/// holds its serial already. The caller's own organisation's trade carried by the same
/// transaction is answered as a replay (a refused one with its refusal); any other trade
/// with that serial is `409 trade_exists`. Never a second escrow.
async fn already_placed(
    s: &AppState,
    a: &Authed,
    f: &OrderFacts,
) -> ServiceResult<Option<TradeOutcome>> {
    let Some(t) = s.store.get_trade(&f.serial.to_ascii_lowercase()).await? else {
        return Ok(None);
    };
    let mine = super::keys::mine_or_none(s, a).await?;
    if t.org == a.org.id
        && t.tx_ref == f.tx_ref
        && f.signer_key_hex.eq_ignore_ascii_case(&mine.public_key)
    {
        return answer(t, true).map(Some);
    }
    Err(exists())
}

fn exists() -> ServiceError {
    ServiceError::Conflict {
        code: "trade_exists",
        field: Some("tx".into()),
        // The same words whichever organisation holds it: nothing about another's trade.
        message: "this order's serial cannot be used: sign the order with a new serial".into(),
    }
}

/// A pre-signed order's channel delegation must name the platform's channel key and
/// endpoint and let it add at most the order's value (`foreign_delegation`): any other key
/// could fund the trade from the wallet without the platform.
/// `platform` is the platform's channel (key hex, endpoint).
pub fn foreign_delegation(
    platform: &(String, String),
    c: &Delegation,
    value_fen: i64,
) -> ServiceResult<()> {
    let (key_hex, endpoint) = platform;
    if key_hex.is_empty()
        || !c.key_hex.eq_ignore_ascii_case(key_hex)
        || c.endpoint != *endpoint
        || c.max_fen > value_fen
    {
        return Err(ServiceError::Invalid {
            code: "foreign_delegation",
            field: Some("tx".into()),
            message: format!(
                "the order's channel delegation must name the platform's channel key {key_hex} at {endpoint} with max_fen at most the order's value ({value_fen} fen), or be left out"
            ),
        });
    }
    Ok(())
}

fn forged(why: &str) -> ServiceError {
    ServiceError::Invalid {
        code: "forged_order",
        field: Some("tx".into()),
        message: format!("not a valid signed order: {why}"),
    }
}

/// A pre-signed order's facts against the caller: its key, its wallet, a listed offer, a
/// delegation still valid. Answers the platform offer and its supplier.
async fn check_facts(
    s: &AppState,
    a: &Authed,
    ledger: &Arc<dyn TradeLedger>,
    f: &OrderFacts,
) -> ServiceResult<(i64, suanli_platform_domain::OrgId)> {
    let mine = super::keys::mine_or_none(s, a).await?;
    if !f.signer_key_hex.eq_ignore_ascii_case(&mine.public_key) {
        return Err(forged("it is not signed by your own DID key"));
    }
    if f.wallet.as_deref() != Some(wallet_name(a.org.id).as_str()) {
        return Err(ServiceError::Invalid {
            code: "wrong_wallet",
            field: Some("tx".into()),
            message: format!(
                "the order must pay from your organisation's wallet {}",
                wallet_name(a.org.id)
            ),
        });
    }
    let now = u64::try_from(s.clock.now_unix_ms()).unwrap_or(0);
    if f.channel.as_ref().is_some_and(|c| c.valid_until_ms <= now) {
        return Err(ServiceError::Invalid {
            code: "delegation_expired",
            field: Some("tx".into()),
            message: "the order's channel delegation has already expired".into(),
        });
    }
    if let Some(c) = &f.channel {
        foreign_delegation(&ledger.channel_key(), c, f.value_fen)?;
    }
    if suanli_platform_domain::supply::settlement::TradeSerial::parse(&f.serial).is_err() {
        return Err(forged("its serial is not 32 hex characters"));
    }
    let id = s
        .store
        .offer_by_chain_id(f.chain_offer_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let offer = s
        .store
        .get_offer(id)
        .await
        .map_err(ServiceError::from)?
        .ok_or(ServiceError::NotFound)?;
    if offer.status != OfferStatus::Listed {
        return Err(ServiceError::NotFound);
    }
    Ok((offer.id, offer.org))
}
