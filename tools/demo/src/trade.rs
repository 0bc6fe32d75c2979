//! The trade part of `suanli demo`: a KYC'd supplier and consumer enrolled on the trade
//! chain, a trade mode and an offer, an order with escrowed settlement credits, the
//! dual-signed contract with its trade-start credential, three hourly check-ins, the
//! consumer stopping, the rating and the supplier's reputation — with the balances after
//! each step and every credential verified on its own against the identity chain.
//!
//! Hours cannot pass in a demo, so the demo node runs on a [`DemoClock`]: the system
//! clock plus an offset the demo moves forward by one period before each check-in (the
//! output says so each time). Everything else is the real node, contract and API. Only
//! the walk runs on it: the node that keeps serving afterwards is reopened on the real
//! clock (see [`crate::run`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context;
use serde_json::{Map, Value, json};
use suanli_identity::{SuanliDid, urn};
use suanli_ledger::Payload;
use suanli_ledger::credit::{CreditOp, PositiveFen, balance_key, decode_fen};
use suanli_node::Node;
use suanli_primitives::time::{Clock, SystemClock};
use suanli_primitives::{ChainKind, SecretKey, sha256};
use suanli_trade::model::{
    Encryption, MINUTE_MS, ModeTerms, OfferTerms, Requirements, Resource, Scores, Weights,
};
use suanli_trade::records::{MODE_NEXT_KEY, OFFER_NEXT_KEY, decode_u64};
use suanli_trade::{CloseReason, PartyDid, Role, Serial, TradeOp, credentials, op, pricing, view};
use suanli_vc::credential::{CredentialDraft, SchemaRef};

/// How far behind real time the demo's chain clock starts: more than the walk fast-forwards
/// in all (about 6.5 h of check-ins), so that the walk ends before real time and the node
/// restarted on the real clock after it never sees a head from its future.
pub const DEMO_CLOCK_BEHIND_MS: u64 = 12 * 60 * MINUTE_MS;

/// The system clock minus [`DEMO_CLOCK_BEHIND_MS`], plus what the walk fast-forwards; it
/// only moves forward and never passes real time.
#[derive(Debug)]
pub struct DemoClock {
    forwarded_ms: AtomicU64,
}

impl Default for DemoClock {
    fn default() -> Self {
        DemoClock {
            forwarded_ms: AtomicU64::new(0),
        }
    }
}

impl DemoClock {
    /// Moves the clock `ms` forward (capped at real time).
    pub fn fast_forward(&self, ms: u64) {
        let _ = self
            .forwarded_ms
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |f| {
                Some(f.saturating_add(ms).min(DEMO_CLOCK_BEHIND_MS))
            });
    }
}

impl Clock for DemoClock {
    fn now_ms(&self) -> u64 {
        let behind = DEMO_CLOCK_BEHIND_MS - self.forwarded_ms.load(Ordering::SeqCst);
        SystemClock.now_ms().saturating_sub(behind)
    }
}

fn trade_tx(node: &Node, key: &SecretKey, op: &TradeOp, name: &str) -> anyhow::Result<()> {
    crate::act(
        node,
        ChainKind::Trade,
        key,
        Payload::Call(op.to_call()?),
        name,
    )
}

pub(crate) fn balance(node: &Node, key: &SecretKey) -> i64 {
    node.state_get(ChainKind::Trade, &balance_key(&key.public()))
        .and_then(|b| decode_fen(&b))
        .map_or(0, |f| f.get())
}

fn kyc(node: &Node, authority: &SecretKey, party: &SuanliDid, role: Role) -> anyhow::Result<Value> {
    let network = node.chain_id(ChainKind::Identity).network().clone();
    let authority_did = SuanliDid::for_initial_key(network.clone(), &authority.public());
    let (template, claims) = match role {
        Role::Supplier => (
            "kyc-supplier",
            json!({
                "organisationName": "闽算科技有限公司 (demo)",
                "unifiedSocialCreditCode": "91350100M000100Y43",
                "legalRepresentative": "张三",
                "qualifications": [{"name": "IDC licence", "number": "B1-20230001"}],
                "contact": {"name": "李四", "phone": "+86 591 5555 0101"},
            }),
        ),
        _ => (
            "kyc-consumer",
            json!({"name": "王五", "idType": "resident-id-card"}),
        ),
    };
    let cpt = suanli_identity::cpt::builtin_id(template).context("KYC template")?;
    let mut subject: Map<String, Value> = claims.as_object().cloned().unwrap_or_default();
    subject.insert("id".into(), party.to_string().into());
    let now = node.now_ms();
    let draft = CredentialDraft {
        id: Some(format!("urn:suanli:demo:kyc:{}", party.id())),
        types: vec!["KycCredential".into()],
        issuer: authority_did.to_string(),
        subject,
        valid_from: now,
        valid_until: Some(now + 365 * 86_400_000),
        schema: Some(SchemaRef {
            id: urn::cpt(&network, cpt, 1),
        }),
        status: None,
    };
    Ok(suanli_vc::credential::issue(
        &draft,
        &format!("{authority_did}#key-1"),
        now,
        authority,
    )?)
}

fn verified(node: &Node, vc: &Value) -> String {
    let report = crate::identity::verify(node, vc);
    match report.first_failure() {
        None => "VERIFIED".into(),
        Some((check, code, _)) => format!("NOT VERIFIED ({} failed: {code})", check.as_str()),
    }
}

/// A party: a new key, its DID on the identity chain, a KYC credential from the genesis
/// authority that verifies there, and the operator's enrolment on the trade chain.
pub(crate) fn party(
    node: &Node,
    operator: &SecretKey,
    who: &str,
    role: Role,
) -> anyhow::Result<(SecretKey, PartyDid)> {
    let network = node.chain_id(ChainKind::Identity).network().clone();
    let key = SecretKey::generate()?;
    let did = SuanliDid::for_initial_key(network, &key.public());
    let create = suanli_identity::op::IdentityOp::CreateDid;
    crate::act(
        node,
        ChainKind::Identity,
        &key,
        Payload::Call(create.to_call()?),
        "did",
    )?;
    let vc = kyc(node, operator, &did, role)?;
    println!("    {who} {did}: KYC credential {}", verified(node, &vc));
    let party = PartyDid::parse(&did.to_string()).map_err(|e| anyhow::anyhow!(e))?;
    let enroll = TradeOp::Enroll {
        did: party.clone(),
        role,
        key: key.public(),
        key_fragment: "key-1".into(),
        kyc_credential_id: vc["id"].as_str().map(str::to_owned),
        kyc_credential_sha256: Some(sha256(&serde_json::to_vec(&vc)?).to_hex()),
    };
    trade_tx(node, operator, &enroll, "enroll")?;
    Ok((key, party))
}

pub(crate) fn show_money(node: &Node, supplier: &SecretKey, consumer: &SecretKey, serial: &Serial) {
    let escrow = node.with_state(ChainKind::Trade, |s| view::escrow_fen(s, serial).get());
    println!(
        "    balances: consumer {} fen · escrow {} fen · supplier {} fen",
        balance(node, consumer),
        escrow,
        balance(node, supplier)
    );
}

/// Publishes a mode (`terms`) and an offer of 2 units of `spec`, orders 1 unit for
/// `duration_minutes` escrowing `value_fen`, and contracts it with the trade-start
/// credential: the trade is active. Returns the mode, the offer and the serial.
pub(crate) fn contract_trade(
    node: &Node,
    (supplier_key, supplier): (&SecretKey, &PartyDid),
    consumer_key: &SecretKey,
    terms: ModeTerms,
    spec: &str,
    duration_minutes: u64,
    value_fen: i64,
) -> anyhow::Result<(u64, u64, Serial)> {
    let mode_id = next_id(node, MODE_NEXT_KEY);
    trade_tx(node, supplier_key, &TradeOp::PublishMode { terms }, "mode")?;
    let offer_id = next_id(node, OFFER_NEXT_KEY);
    let now = node.now_ms();
    let offer = OfferTerms {
        mode_id,
        spec: spec.into(),
        quantity: 2,
        valid_from_ms: now,
        valid_until_ms: now + 30 * 86_400_000,
    };
    trade_tx(
        node,
        supplier_key,
        &TradeOp::PublishOffer { terms: offer },
        "offer",
    )?;
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let serial = Serial::from_bytes(bytes);
    let requirements = Requirements {
        spec: spec.into(),
        quantity: 1,
        duration_minutes,
    };
    let time_ms = node.now_ms();
    let value_fen = PositiveFen::new(value_fen)?;
    let digest = op::order_digest(
        &serial,
        time_ms,
        supplier,
        offer_id,
        &requirements,
        value_fen,
    );
    let order = TradeOp::Order {
        serial,
        offer_id,
        time_ms,
        requirements,
        value_fen,
        signature: op::sign_digest(consumer_key, &digest),
        wallet: None,
        channel: None,
    };
    trade_tx(node, consumer_key, &order, "order")?;
    let trade = node
        .with_state(ChainKind::Trade, |s| view::trade(s, &serial))
        .context("the trade is missing")?;
    let now = node.now_ms();
    let draft = credentials::draft(
        &trade,
        credentials::start_credential_id(&serial),
        trade.trade_start_cpt,
        credentials::start_claims(&trade),
        now,
    )?;
    let start_vc = credentials::issue(&draft, supplier_key, "key-1", now)?;
    let accept = TradeOp::Accept {
        serial,
        signature: supplier_key.sign(&op::contract_message(&trade.order_signature)),
        credential: start_vc,
    };
    trade_tx(node, supplier_key, &accept, "contract")?;
    Ok((mode_id, offer_id, serial))
}

fn next_id(node: &Node, key: &[u8]) -> u64 {
    decode_u64(node.state_get(ChainKind::Trade, key)).max(1)
}

pub fn run(
    node: &Arc<Node>,
    operator: &SecretKey,
    clock: &DemoClock,
    base: &str,
) -> anyhow::Result<()> {
    println!(
        "\n[T1] A supplier and a consumer: DIDs, KYC credentials, enrolment on the trade chain by the operator:"
    );
    let (supplier_key, supplier) = party(node, operator, "supplier", Role::Supplier)?;
    let (consumer_key, consumer) = party(node, operator, "consumer", Role::Consumer)?;

    println!(
        "\n[T2] The operator mints 50,000 fen of settlement credits to the consumer (mirrors a recharge):"
    );
    let mint = CreditOp::Mint {
        to: consumer_key.public(),
        amount: PositiveFen::new(50_000)?,
    };
    crate::act(
        node,
        ChainKind::Trade,
        operator,
        Payload::Credit(mint),
        "mint",
    )?;

    println!(
        "\n[T3] The supplier publishes a trade mode (12 fen/min, minimum charge 300 fen, hourly check-ins) and an offer:"
    );
    let weights = Weights::new(
        [
            (Resource::Cpu, 200),
            (Resource::Memory, 150),
            (Resource::Gpu, 500),
            (Resource::Network, 150),
        ]
        .into(),
    )
    .map_err(|e| anyhow::anyhow!(e))?;
    let terms = ModeTerms {
        trade_start_cpt: 1,
        checkin_cpt: 2,
        price_fen_per_minute: suanli_primitives::Fen::new(12)?,
        min_cost_fen: suanli_primitives::Fen::new(300)?,
        checkin_period_minutes: 60,
        weights,
        encryption: Encryption::Plaintext,
        trade_type: "payg-minute".into(),
    };
    let spec = "A100-80G ×1 · 16 vCPU · 128 GiB · 福州";
    println!(
        "    then the consumer orders 1 unit for 4 hours and escrows 1,000 fen (the first hour costs 720),"
    );
    println!(
        "    and the supplier countersigns the consumer's signature and issues the trade-start credential:"
    );
    let (mode_id, offer_id, serial) = contract_trade(
        node,
        (&supplier_key, &supplier),
        &consumer_key,
        terms,
        spec,
        240,
        1_000,
    )?;
    println!("    mode {mode_id}, offer {offer_id}: {spec}, 2 units");
    println!(
        "    trade serial {serial}; the consumer signed H(serial‖time‖supplier‖offer‖requirements‖value)"
    );
    show_money(node, &supplier_key, &consumer_key, &serial);

    println!(
        "\n[T4] Three hourly check-ins, each with a check-in credential (the consumer tops up 2,000 fen first):"
    );
    let fund = TradeOp::Fund {
        serial,
        amount_fen: PositiveFen::new(2_000)?,
    };
    trade_tx(node, &consumer_key, &fund, "fund")?;
    for n in 1..=3 {
        clock.fast_forward(60 * MINUTE_MS);
        println!("    (demo clock: one hour passes)");
        let trade = node
            .with_state(ChainKind::Trade, |s| view::trade(s, &serial))
            .context("the trade is missing")?;
        let start = trade.billed_until_ms.context("no contract")?;
        let end = start + 60 * MINUTE_MS;
        let cost = pricing::settlement_cost(
            trade.billed_minutes,
            trade.charged_fen,
            60,
            trade.rate_fen_per_minute,
            trade.min_cost_fen,
        )?;
        let draft = credentials::draft(
            &trade,
            credentials::checkin_credential_id(&serial, n),
            trade.checkin_cpt,
            credentials::checkin_claims(&trade, start, end, cost),
            start,
        )?;
        let credential = credentials::issue(&draft, &supplier_key, "key-1", end)?;
        let checkin = TradeOp::Checkin {
            serial,
            start_ms: start,
            end_ms: end,
            cost_fen: cost,
            credential,
        };
        trade_tx(node, &supplier_key, &checkin, &format!("check-in {n}"))?;
        show_money(node, &supplier_key, &consumer_key, &serial);
    }

    println!(
        "\n[T5] 30 minutes later the consumer stops; the close settles the tail and refunds the rest:"
    );
    clock.fast_forward(30 * MINUTE_MS);
    let close = TradeOp::Close {
        serial,
        reason: CloseReason::StoppedByConsumer,
    };
    trade_tx(node, &consumer_key, &close, "close")?;
    let trade = node
        .with_state(ChainKind::Trade, |s| view::trade(s, &serial))
        .context("the trade is missing")?;
    if let Some(c) = &trade.closure {
        println!(
            "    reason {} · tail {} min = {} fen · refund {} fen · charged in all {} fen",
            c.reason.as_str(),
            c.tail_minutes,
            c.tail_cost_fen.get(),
            c.refund_fen.get(),
            trade.charged_fen.get()
        );
    }
    show_money(node, &supplier_key, &consumer_key, &serial);

    println!("\n[T6] The consumer rates the trade; Σ δᵢSᵢ with the mode's weights:");
    let scores = Scores::new(
        [
            (Resource::Cpu, 92),
            (Resource::Memory, 88),
            (Resource::Gpu, 95),
            (Resource::Network, 80),
        ]
        .into(),
    )
    .map_err(|e| anyhow::anyhow!(e))?;
    let overall = scores
        .overall_milli(&trade.weights)
        .map_err(|e| anyhow::anyhow!(e))?;
    let time_ms = node.now_ms();
    let rate = TradeOp::Rate {
        serial,
        time_ms,
        signature: op::sign_digest(
            &consumer_key,
            &op::rating_digest(&serial, time_ms, &supplier, overall, &scores),
        ),
        scores,
    };
    trade_tx(node, &consumer_key, &rate, "rating")?;
    let url = format!("{base}/v1/trade/suppliers/{supplier}/reputation");
    let rep: Value = ureq::get(&url).call()?.body_mut().read_json()?;
    println!(
        "    reputation (GET /v1/trade/suppliers/…/reputation): {}",
        rep["reputation"]
    );

    println!(
        "\n[T7] The linked records; each credential verified on its own against the identity chain:"
    );
    let records = node.with_state(ChainKind::Trade, |s| {
        view::records(s, &serial, 0, view::PAGE_MAX)
    });
    for r in &records {
        let check = r
            .data
            .credential()
            .map(|vc| {
                format!(
                    "  {} {}",
                    vc["id"].as_str().unwrap_or("?"),
                    verified(node, vc)
                )
            })
            .unwrap_or_default();
        let by = if r.by == supplier {
            "supplier"
        } else {
            "consumer"
        };
        let kind = format!("{:?}", r.kind).to_lowercase();
        println!(
            "    #{} {kind:<8} by the {by:<8} block {}{check}",
            r.seq, r.height
        );
    }
    let public: Value = ureq::get(&format!("{base}/v1/trade/trades/{serial}"))
        .call()?
        .body_mut()
        .read_json()?;
    println!(
        "    anyone sees the public view (no consumer, no money): status {}, close reason {}",
        public["status"], public["close_reason"]
    );
    let chain = node.chain_id(ChainKind::Trade).to_string();
    let read = |key: &SecretKey, reader: &PartyDid| {
        let time_ms = node.now_ms();
        json!({
            "reader": reader, "time_ms": time_ms,
            "signature": op::sign_digest(key, &op::read_digest(&chain, reader, &serial.to_string(), time_ms)),
        })
    };
    let full_url = format!("{base}/v1/trade/trades/{serial}/full");
    let mut answer = ureq::post(&full_url)
        .config()
        .http_status_as_error(false)
        .build()
        .send_json(read(&consumer_key, &consumer))?;
    let full: Value = answer.body_mut().read_json()?;
    println!(
        "    the consumer's signed read request gets everything: {} records, consumer {}, charged {} fen",
        full["records_total"], full["trade"]["consumer"], full["trade"]["charged_fen"]
    );
    let (stranger_key, stranger) = party(node, operator, "another consumer", Role::Consumer)?;
    let refused = ureq::post(&full_url)
        .config()
        .http_status_as_error(false)
        .build()
        .send_json(read(&stranger_key, &stranger))?;
    println!(
        "    another enrolled consumer asking for the same: HTTP {}",
        refused.status().as_u16()
    );
    let (sum, supply) = node.with_state(ChainKind::Trade, |s| {
        let sum: i64 = s
            .scan_prefix(b"credit/balance/")
            .filter_map(|(_, v)| decode_fen(v))
            .map(|f| f.get())
            .sum();
        let supply = s
            .get(suanli_ledger::credit::SUPPLY_KEY)
            .and_then(decode_fen)
            .map_or(0, |f| f.get());
        (sum, supply)
    });
    println!("    conservation: Σ balances {sum} fen = supply {supply} fen");
    anyhow::ensure!(sum == supply, "settlement credits are not conserved");
    Ok(())
}
