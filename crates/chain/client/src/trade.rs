//! The client side of the trade chain (`suanli trade …`): every record is signed here with
//! the party's own key (the same key as its DID's `#key-1`) and committed through the
//! node; credentials are issued here by the supplier's key. Reads of full records are
//! signed read requests, so only a trade's parties and regulators get them.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use suanli_identity::urn;
use suanli_ledger::Payload;
use suanli_primitives::{ChainKind, Fen, PositiveFen, PublicKey, SecretKey, sha256};
use suanli_trade::model::{MINUTE_MS, ModeTerms, OfferTerms, Requirements, Resource, Scores};
use suanli_trade::records::{Mode, Offer, Trade};
use suanli_trade::{CloseReason, PartyDid, Role, Serial, TradeOp, credentials, op, pricing};

use crate::error::{ClientError, Context, ensure};
use crate::http::error_text;
use crate::wallet::now_ms;
use crate::{COMMIT_WAIT_MS, HttpLedger, LedgerClient};

/// Most ids scanned to find the mode or offer just published.
const PUBLISHED_SCAN_MAX: u64 = 1_000;

pub fn party_did(text: &str) -> Result<PartyDid, ClientError> {
    PartyDid::parse(text).map_err(ClientError::invalid)
}

pub fn serial(text: &str) -> Result<Serial, ClientError> {
    Serial::parse(text).map_err(ClientError::invalid)
}

/// Signs `op` with `key`, commits it on the trade chain; returns the transaction id.
pub fn submit(
    client: &dyn LedgerClient,
    key: &SecretKey,
    op: &TradeOp,
    what: &str,
) -> Result<String, ClientError> {
    let call = op.to_call().map_err(ClientError::invalid)?;
    let wait = Duration::from_millis(COMMIT_WAIT_MS);
    let done = client
        .transact(ChainKind::Trade, key, Payload::Call(call), wait)
        .context(format!("trade {what}"))?;
    Ok(done.id.to_string())
}

/// The DID the key acts for on the trade chain (a party's own key, or a supplier's agent
/// key that is not revoked).
pub fn my_did(client: &HttpLedger, key: &SecretKey) -> Result<PartyDid, ClientError> {
    let (status, body) = client.get(&format!("/v1/trade/keys/{}", key.public()))?;
    ensure!(
        status == 200,
        "this key is not enrolled on the trade chain ({}); the operator enrols it with `suanli trade enroll`",
        error_text(&body)
    );
    ensure!(
        body["acts_for"]["revoked_at_ms"].is_null(),
        "this agent key of {} was revoked at {} ms (agent_key_revoked)",
        body["did"],
        body["acts_for"]["revoked_at_ms"]
    );
    party_did(body["did"].as_str().unwrap_or_default())
}

/// A read request signed for this node's trade chain.
pub fn read_request(
    client: &HttpLedger,
    key: &SecretKey,
    reader: &PartyDid,
    subject: &str,
) -> Result<Value, ClientError> {
    let chain = client.chain_id(ChainKind::Trade)?.to_string();
    let time_ms = now_ms();
    let signature = op::sign_digest(key, &op::read_digest(&chain, reader, subject, time_ms));
    Ok(json!({"reader": reader, "time_ms": time_ms, "signature": signature}))
}

/// The full view of a trade, read with the key's signed read request.
pub fn full_trade(
    client: &HttpLedger,
    key: &SecretKey,
    serial: &Serial,
) -> Result<(Trade, Value), ClientError> {
    let me = my_did(client, key)?;
    let (status, body) = client.post_json(
        &format!("/v1/trade/trades/{serial}/full"),
        &read_request(client, key, &me, &serial.to_string())?,
    )?;
    ensure!(
        status == 200,
        "reading trade {serial}: {}",
        error_text(&body)
    );
    let trade: Trade = serde_json::from_value(body["trade"].clone())
        .map_err(|e| ClientError::invalid(format!("node answered an unreadable trade: {e}")))?;
    Ok((trade, body))
}

/// A party's trades (its own, or any party's for a regulator), read with a signed request.
pub fn history(
    client: &HttpLedger,
    key: &SecretKey,
    did: Option<&str>,
) -> Result<Value, ClientError> {
    let me = my_did(client, key)?;
    let whose = match did {
        Some(d) => party_did(d)?,
        None => me.clone(),
    };
    let (status, body) = client.post_json(
        &format!("/v1/trade/parties/{whose}/history"),
        &read_request(client, key, &me, whose.as_str())?,
    )?;
    ensure!(
        status == 200,
        "reading the history of {whose}: {}",
        error_text(&body)
    );
    Ok(body)
}

/// `resource=value,…` pairs, e.g. `cpu=200,gpu=500,memory=300`.
pub fn parse_pairs<T: TryFrom<u64>>(
    text: &str,
    what: &str,
) -> Result<BTreeMap<Resource, T>, ClientError> {
    let mut out = BTreeMap::new();
    for pair in text.split(',').filter(|p| !p.trim().is_empty()) {
        let (name, value) = pair.split_once('=').ok_or_else(|| {
            ClientError::invalid(format!("{what}: {pair:?} is not resource=value"))
        })?;
        let resource = Resource::ALL
            .into_iter()
            .find(|r| r.as_str() == name.trim())
            .ok_or_else(|| {
                ClientError::invalid(format!(
                    "{what}: unknown resource {name:?}; use {}",
                    Resource::ALL.map(Resource::as_str).join(", ")
                ))
            })?;
        let number: u64 = value.trim().parse().map_err(|_| {
            ClientError::invalid(format!("{what}: {value:?} is not a whole number"))
        })?;
        let number = T::try_from(number)
            .map_err(|_| ClientError::invalid(format!("{what}: {number} is out of range")))?;
        ensure!(
            out.insert(resource, number).is_none(),
            "{what}: {name} given twice"
        );
    }
    Ok(out)
}

/// The highest id from `before_next` on, published under `/v1/trade/{path}`, whose record
/// satisfies `matches`.
fn find_published<T: serde::de::DeserializeOwned>(
    client: &HttpLedger,
    path: &str,
    field: &str,
    before_next: u64,
    matches: impl Fn(&T) -> bool,
) -> Result<u64, ClientError> {
    for id in before_next..before_next + PUBLISHED_SCAN_MAX {
        let (status, body) = client.get(&format!("/v1/trade/{path}/{id}"))?;
        if status == 404 {
            break;
        }
        let item: T = serde_json::from_value(body[field].clone()).map_err(|e| {
            ClientError::invalid(format!("node answered an unreadable record: {e}"))
        })?;
        if matches(&item) {
            return Ok(id);
        }
    }
    Err(ClientError::invalid(format!(
        "the {field} was committed but could not be found among the newest ids"
    )))
}

/// The id the next mode (`"mode"`) or offer (`"offer"`) will get.
fn next_id(client: &HttpLedger, which: &str) -> Result<u64, ClientError> {
    let body = client.get_ok("/v1/trade/next_ids")?;
    body[which].as_u64().ok_or_else(|| {
        ClientError::invalid(format!("node answered without the next {which} id: {body}"))
    })
}

/// Publishes a trade mode; returns its id and the transaction.
pub fn publish_mode(
    client: &HttpLedger,
    key: &SecretKey,
    terms: ModeTerms,
) -> Result<(u64, String), ClientError> {
    terms.check().map_err(ClientError::invalid)?;
    let me = my_did(client, key)?;
    let before = next_id(client, "mode")?;
    let op = TradeOp::PublishMode {
        terms: terms.clone(),
    };
    let tx = submit(client, key, &op, "mode")?;
    let id = find_published(client, "modes", "mode", before, |m: &Mode| {
        m.supplier == me && m.terms == terms
    })?;
    Ok((id, tx))
}

/// Publishes an offer; returns its id and the transaction.
pub fn publish_offer(
    client: &HttpLedger,
    key: &SecretKey,
    terms: OfferTerms,
) -> Result<(u64, String), ClientError> {
    terms.check().map_err(ClientError::invalid)?;
    let me = my_did(client, key)?;
    let before = next_id(client, "offer")?;
    let op = TradeOp::PublishOffer {
        terms: terms.clone(),
    };
    let tx = submit(client, key, &op, "offer")?;
    let id = find_published(client, "offers", "offer", before, |o: &Offer| {
        o.supplier == me && o.terms == terms
    })?;
    Ok((id, tx))
}

/// An order from an offer.
#[derive(Debug, Clone)]
pub struct OrderRequest {
    pub offer: u64,
    pub minutes: u64,
    pub value_fen: PositiveFen,
    pub quantity: u32,
    /// Random when absent.
    pub serial: Option<Serial>,
}

/// Orders from an offer, escrowing `value_fen`; returns the trade serial and transaction.
pub fn order(
    client: &HttpLedger,
    key: &SecretKey,
    r: OrderRequest,
) -> Result<(Serial, String), ClientError> {
    let body = client.get_ok(&format!("/v1/trade/offers/{}", r.offer))?;
    let found: Offer = serde_json::from_value(body["offer"].clone())
        .map_err(|e| ClientError::invalid(format!("node answered an unreadable offer: {e}")))?;
    let serial = match r.serial {
        Some(s) => s,
        None => {
            let mut bytes = [0u8; 16];
            getrandom::fill(&mut bytes)
                .map_err(|e| ClientError::invalid(format!("no randomness: {e}")))?;
            Serial::from_bytes(bytes)
        }
    };
    let requirements = Requirements {
        spec: found.terms.spec.clone(),
        quantity: r.quantity,
        duration_minutes: r.minutes,
    };
    requirements.check().map_err(ClientError::invalid)?;
    let time_ms = now_ms();
    let digest = op::order_digest(
        &serial,
        time_ms,
        &found.supplier,
        r.offer,
        &requirements,
        r.value_fen,
    );
    let order = TradeOp::Order {
        serial,
        offer_id: r.offer,
        time_ms,
        requirements,
        value_fen: r.value_fen,
        signature: op::sign_digest(key, &digest),
        wallet: None,
        channel: None,
    };
    Ok((serial, submit(client, key, &order, "order")?))
}

/// The supplier countersigns an order and issues the trade-start credential.
pub fn accept(
    client: &HttpLedger,
    key: &SecretKey,
    serial: Serial,
    method: &str,
) -> Result<String, ClientError> {
    let (trade, _) = full_trade(client, key, &serial)?;
    let now = now_ms();
    let draft = credentials::draft(
        &trade,
        credentials::start_credential_id(&serial),
        trade.trade_start_cpt,
        credentials::start_claims(&trade),
        now,
    )?;
    let credential = credentials::issue(&draft, key, method, now)?;
    let accept = TradeOp::Accept {
        serial,
        signature: key.sign(&op::contract_message(&trade.order_signature)),
        credential,
    };
    submit(client, key, &accept, "accept")
}

/// A check-in made.
#[derive(Debug, Clone)]
pub struct CheckedIn {
    pub start_ms: u64,
    pub end_ms: u64,
    pub minutes: u64,
    pub cost_fen: Fen,
    pub tx: String,
}

/// The supplier checks in the next period: as long as has passed, up to one period and
/// the contract's end, in whole minutes.
pub fn checkin(
    client: &HttpLedger,
    key: &SecretKey,
    serial: Serial,
    method: &str,
) -> Result<CheckedIn, ClientError> {
    let (trade, _) = full_trade(client, key, &serial)?;
    let (Some(start), Some(end_max)) = (trade.billed_until_ms, trade.contract_end_ms) else {
        return Err(ClientError::invalid(format!(
            "trade {serial} has no contract yet"
        )));
    };
    let now = now_ms();
    let limit = end_max
        .min(now)
        .min(start.saturating_add(trade.period_minutes.saturating_mul(MINUTE_MS)));
    let minutes = limit.saturating_sub(start) / MINUTE_MS;
    ensure!(
        minutes > 0,
        "no whole minute has passed since the last check-in"
    );
    let end = start.saturating_add(minutes.saturating_mul(MINUTE_MS));
    let cost = pricing::settlement_cost(
        trade.billed_minutes,
        trade.charged_fen,
        minutes,
        trade.rate_fen_per_minute,
        trade.min_cost_fen,
    )
    .map_err(ClientError::invalid)?;
    let draft = credentials::draft(
        &trade,
        credentials::checkin_credential_id(&serial, trade.checkins + 1),
        trade.checkin_cpt,
        credentials::checkin_claims(&trade, start, end, cost),
        start,
    )?;
    let credential = credentials::issue(&draft, key, method, end)?;
    let op = TradeOp::Checkin {
        serial,
        start_ms: start,
        end_ms: end,
        cost_fen: cost,
        credential,
    };
    let tx = submit(client, key, &op, "check-in")?;
    Ok(CheckedIn {
        start_ms: start,
        end_ms: end,
        minutes,
        cost_fen: cost,
        tx,
    })
}

/// A party closes a trade; returns the closure as recorded and the transaction.
pub fn close(
    client: &HttpLedger,
    key: &SecretKey,
    serial: Serial,
    reason: CloseReason,
) -> Result<(Value, String), ClientError> {
    let tx = submit(client, key, &TradeOp::Close { serial, reason }, "close")?;
    let (trade, _) = full_trade(client, key, &serial)?;
    let closure = serde_json::to_value(&trade.closure)
        .map_err(|e| ClientError::invalid(format!("closure: {e}")))?;
    Ok((closure, tx))
}

/// The consumer rates a closed trade; returns the overall score (per mille) and the
/// transaction.
pub fn rate(
    client: &HttpLedger,
    key: &SecretKey,
    serial: Serial,
    scores: &str,
) -> Result<(u32, String), ClientError> {
    let scores = Scores::new(parse_pairs(scores, "--scores")?).map_err(ClientError::invalid)?;
    let (trade, _) = full_trade(client, key, &serial)?;
    let overall = scores
        .overall_milli(&trade.weights)
        .map_err(ClientError::invalid)?;
    let time_ms = now_ms();
    let digest = op::rating_digest(&serial, time_ms, &trade.supplier, overall, &scores);
    let rate = TradeOp::Rate {
        serial,
        time_ms,
        scores,
        signature: op::sign_digest(key, &digest),
    };
    Ok((overall, submit(client, key, &rate, "rate")?))
}

/// The operator enrols `did` in `role` with its key `#method` (read from its DID
/// document), on its KYC credential (checked on the identity chain; none for a
/// regulator). Returns the key and the transaction.
pub fn enroll(
    client: &HttpLedger,
    operator: &SecretKey,
    did: &PartyDid,
    role: Role,
    kyc: Option<Value>,
    method: &str,
) -> Result<(PublicKey, String), ClientError> {
    let resolved = client.get_ok(&format!("/1.0/identifiers/{did}"))?;
    let vm_id = format!("{did}#{method}");
    let vm = resolved["didDocument"]["verificationMethod"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["id"].as_str() == Some(vm_id.as_str()))
        .ok_or_else(|| {
            ClientError::invalid(format!("{did} has no verification method #{method}"))
        })?;
    let key = suanli_vc::multikey::decode_ed25519_multikey(
        vm["publicKeyMultibase"].as_str().unwrap_or_default(),
    )
    .map_err(|e| ClientError::invalid(format!("#{method} of {did}: {e}")))?;
    let (credential_id, credential_hash) = match (role, kyc) {
        (Role::Regulator, _) => (None, None),
        (_, None) => {
            return Err(ClientError::invalid(format!(
                "a {} is enrolled on its KYC credential: pass --kyc FILE",
                role.as_str()
            )));
        }
        (_, Some(vc)) => {
            check_kyc(client, &vc, did, role)?;
            let id = vc["id"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| format!("urn:sha256:{}", sha256(vc.to_string().as_bytes())));
            let bytes = serde_json::to_vec(&vc)
                .map_err(|e| ClientError::invalid(format!("credential: {e}")))?;
            (Some(id), Some(sha256(&bytes).to_hex()))
        }
    };
    let enroll = TradeOp::Enroll {
        did: did.clone(),
        role,
        key,
        key_fragment: method.to_owned(),
        kyc_credential_id: credential_id,
        kyc_credential_sha256: credential_hash,
    };
    Ok((key, submit(client, operator, &enroll, "enroll")?))
}

/// The KYC credential verifies on the identity chain, is of the role's template and is
/// about `did`.
fn check_kyc(
    client: &HttpLedger,
    vc: &Value,
    did: &PartyDid,
    role: Role,
) -> Result<(), ClientError> {
    let body = crate::identity::verify(
        client,
        "/1.0/credentials/verify",
        &json!({"credential": vc}),
    )?;
    ensure!(
        body["verified"] == json!(true),
        "the KYC credential does not verify: {}",
        body["report"]["first_failure"]
    );
    let template = match role {
        Role::Supplier => "kyc-supplier",
        _ => "kyc-consumer",
    };
    let expected = suanli_identity::cpt::builtin_id(template)
        .ok_or_else(|| ClientError::invalid("KYC template missing"))?;
    let (_, cpt, _) = urn::parse_cpt(vc["credentialSchema"]["id"].as_str().unwrap_or_default())
        .map_err(|e| ClientError::invalid(format!("the KYC credential names no CPT: {e}")))?;
    ensure!(
        cpt == expected,
        "a {} needs a {template} credential (CPT {expected}), this one is CPT {cpt}",
        role.as_str()
    );
    ensure!(
        vc["credentialSubject"]["id"].as_str() == Some(did.as_str()),
        "the KYC credential is about {}, not {did}",
        vc["credentialSubject"]["id"]
    );
    Ok(())
}
