//! `suanli trade …`: the trade chain from the command line. Every record is signed here
//! with the party's own key file (the same key as its DID's `#key-1`) and posted to a
//! node; credentials are issued here by the supplier's key. Reads of full records are
//! signed read requests, so only a trade's parties and regulators get them.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use serde_json::{Value, json};
use suanli_identity::urn;
use suanli_ledger::Payload;
use suanli_primitives::{ChainKind, Fen, PositiveFen, SecretKey, sha256};
use suanli_trade::model::{
    Encryption, MINUTE_MS, ModeTerms, OfferTerms, Requirements, Resource, Scores, Weights,
};
use suanli_trade::records::{Mode, Offer, Trade};
use suanli_trade::{CloseReason, PartyDid, Role, Serial, TradeOp, credentials, op, pricing};

use super::identity::{load_key, now_ms, read_json, write_or_print};
use super::node_client::{NodeClient, NodeTarget, error_text};

/// Most ids the CLI scans to find the mode or offer it just published.
const PUBLISHED_SCAN_MAX: u64 = 1_000;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    Supplier,
    Consumer,
    Regulator,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Role {
        match r {
            RoleArg::Supplier => Role::Supplier,
            RoleArg::Consumer => Role::Consumer,
            RoleArg::Regulator => Role::Regulator,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ReasonArg {
    Completed,
    StoppedByConsumer,
    SupplierFault,
    OutOfFunds,
    Expired,
}

impl From<ReasonArg> for CloseReason {
    fn from(r: ReasonArg) -> CloseReason {
        match r {
            ReasonArg::Completed => CloseReason::Completed,
            ReasonArg::StoppedByConsumer => CloseReason::StoppedByConsumer,
            ReasonArg::SupplierFault => CloseReason::SupplierFault,
            ReasonArg::OutOfFunds => CloseReason::OutOfFunds,
            ReasonArg::Expired => CloseReason::Expired,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum TradeCmd {
    /// Operator: enrol a party on the trade chain after checking its KYC credential on the
    /// identity chain (suppliers: kyc-supplier, consumers: kyc-consumer).
    Enroll {
        /// The trade chain's operator key.
        #[arg(long)]
        operator_key: PathBuf,
        #[arg(long)]
        did: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        /// The party's KYC credential (not needed for a regulator).
        #[arg(long)]
        kyc: Option<PathBuf>,
        /// Fragment of the party's key in its DID document.
        #[arg(long, default_value = "key-1")]
        method: String,
        #[command(flatten)]
        node: NodeTarget,
    },
    /// Operator: keep browse records on chain or not (off by default).
    Policy {
        #[arg(long)]
        operator_key: PathBuf,
        #[arg(long)]
        record_browse: bool,
        #[command(flatten)]
        node: NodeTarget,
    },
    /// Supplier: publish a trade mode; prints its id.
    Mode {
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        price_fen_per_minute: i64,
        /// The trade's minimum charge (起步价), in fen.
        #[arg(long, default_value_t = 0)]
        min_cost_fen: i64,
        #[arg(long, default_value_t = 60)]
        period_minutes: u64,
        /// Rating weights per mille, summing to 1000, e.g. cpu=200,gpu=500,memory=300.
        #[arg(long)]
        weights: String,
        #[arg(long, default_value = "payg-minute")]
        trade_type: String,
        #[arg(long, default_value_t = 1)]
        start_cpt: u32,
        #[arg(long, default_value_t = 2)]
        checkin_cpt: u32,
        #[command(flatten)]
        node: NodeTarget,
    },
    /// Supplier: publish an offer under a mode; prints its id.
    Offer {
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        mode: u64,
        #[arg(long)]
        spec: String,
        #[arg(long)]
        quantity: u32,
        /// How long the offer stays open, in hours from now.
        #[arg(long, default_value_t = 24 * 30)]
        valid_hours: u64,
        #[command(flatten)]
        node: NodeTarget,
    },
    /// List the open offers.
    Offers {
        #[arg(long, default_value_t = 1)]
        from: u64,
        #[command(flatten)]
        node: NodeTarget,
    },
    /// Consumer: order from an offer, escrowing VALUE fen of settlement credits; prints the
    /// trade serial.
    Order {
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        offer: u64,
        #[arg(long)]
        minutes: u64,
        #[arg(long)]
        value_fen: i64,
        #[arg(long, default_value_t = 1)]
        quantity: u32,
        /// Trade serial (32 hex); random when absent.
        #[arg(long)]
        serial: Option<String>,
        #[command(flatten)]
        node: NodeTarget,
    },
    /// Supplier: countersign an order and issue the trade-start credential.
    Accept {
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        serial: String,
        /// Fragment of the supplier's key in its DID document.
        #[arg(long, default_value = "key-1")]
        method: String,
        #[command(flatten)]
        node: NodeTarget,
    },
    /// Supplier: check in the next period (as long as has passed, up to one period).
    Checkin {
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        serial: String,
        #[arg(long, default_value = "key-1")]
        method: String,
        #[command(flatten)]
        node: NodeTarget,
    },
    /// Consumer: add settlement credits to a trade's escrow.
    Fund {
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        serial: String,
        #[arg(long)]
        amount_fen: i64,
        #[command(flatten)]
        node: NodeTarget,
    },
    /// A party: close a trade.
    Close {
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        serial: String,
        #[arg(long, value_enum)]
        reason: ReasonArg,
        #[command(flatten)]
        node: NodeTarget,
    },
    /// Consumer: rate a closed trade, e.g. --scores cpu=90,gpu=80,memory=85.
    Rate {
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        serial: String,
        #[arg(long)]
        scores: String,
        #[command(flatten)]
        node: NodeTarget,
    },
    /// Show a trade: the public view, or every record when KEY is a party's or a
    /// regulator's.
    Show {
        #[arg(long)]
        serial: String,
        #[arg(long)]
        key: Option<PathBuf>,
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        node: NodeTarget,
    },
    /// A party's trades (its own, or any party's for a regulator).
    History {
        #[arg(long)]
        key: PathBuf,
        /// Whose history (default: the key's own DID).
        #[arg(long)]
        did: Option<String>,
        #[command(flatten)]
        node: NodeTarget,
    },
    /// A supplier's reputation.
    Reputation {
        #[arg(long)]
        did: String,
        #[command(flatten)]
        node: NodeTarget,
    },
}

fn party_did(text: &str) -> anyhow::Result<PartyDid> {
    PartyDid::parse(text).map_err(|e| anyhow::anyhow!("{e}"))
}

pub(crate) fn serial(text: &str) -> anyhow::Result<Serial> {
    Serial::parse(text).map_err(|e| anyhow::anyhow!("{e}"))
}

fn submit(
    client: &NodeClient,
    key: &SecretKey,
    op: &TradeOp,
    what: &str,
) -> anyhow::Result<String> {
    let call = op.to_call()?;
    client
        .transact(ChainKind::Trade, key, Payload::Call(call))
        .with_context(|| format!("trade {what}"))
}

/// The DID the key is enrolled for on the trade chain.
pub(crate) fn my_did(client: &NodeClient, key: &SecretKey) -> anyhow::Result<PartyDid> {
    let (status, body) = client.get(&format!("/v1/trade/keys/{}", key.public()))?;
    anyhow::ensure!(
        status == 200,
        "this key is not enrolled on the trade chain ({}); the operator enrols it with `suanli trade enroll`",
        error_text(&body)
    );
    party_did(body["did"].as_str().unwrap_or_default())
}

/// A read request signed for this node's trade chain.
pub(crate) fn read_request(
    client: &NodeClient,
    key: &SecretKey,
    reader: &PartyDid,
    subject: &str,
) -> anyhow::Result<Value> {
    let head = client.get_ok("/v1/chains/trade/head")?;
    let chain = head["chain"]
        .as_str()
        .context("node answered without a chain id")?;
    let time_ms = now_ms();
    let signature = op::sign_digest(key, &op::read_digest(chain, reader, subject, time_ms));
    Ok(json!({"reader": reader, "time_ms": time_ms, "signature": signature}))
}

/// The full view of a trade, read with the key's signed read request.
pub(crate) fn full_trade(
    client: &NodeClient,
    key: &SecretKey,
    serial: &Serial,
) -> anyhow::Result<(Trade, Value)> {
    let me = my_did(client, key)?;
    let (status, body) = client.post_json(
        &format!("/v1/trade/trades/{serial}/full"),
        &read_request(client, key, &me, &serial.to_string())?,
    )?;
    anyhow::ensure!(
        status == 200,
        "reading trade {serial}: {}",
        error_text(&body)
    );
    let trade: Trade = serde_json::from_value(body["trade"].clone())
        .context("node answered an unreadable trade")?;
    Ok((trade, body))
}

fn parse_pairs<T: TryFrom<u64>>(text: &str, what: &str) -> anyhow::Result<BTreeMap<Resource, T>> {
    let mut out = BTreeMap::new();
    for pair in text.split(',').filter(|p| !p.trim().is_empty()) {
        let (name, value) = pair
            .split_once('=')
            .with_context(|| format!("{what}: {pair:?} is not resource=value"))?;
        let resource = Resource::ALL
            .into_iter()
            .find(|r| r.as_str() == name.trim())
            .with_context(|| {
                format!(
                    "{what}: unknown resource {name:?}; use {}",
                    Resource::ALL.map(Resource::as_str).join(", ")
                )
            })?;
        let number: u64 = value
            .trim()
            .parse()
            .with_context(|| format!("{what}: {value:?} is not a whole number"))?;
        let number =
            T::try_from(number).map_err(|_| anyhow::anyhow!("{what}: {number} is out of range"))?;
        anyhow::ensure!(
            out.insert(resource, number).is_none(),
            "{what}: {name} given twice"
        );
    }
    Ok(out)
}

/// The highest id under `next_key` published by `owner` whose terms satisfy `matches`.
fn find_published<T: serde::de::DeserializeOwned>(
    client: &NodeClient,
    path: &str,
    field: &str,
    before_next: u64,
    matches: impl Fn(&T) -> bool,
) -> anyhow::Result<u64> {
    for id in before_next..before_next + PUBLISHED_SCAN_MAX {
        let (status, body) = client.get(&format!("/v1/trade/{path}/{id}"))?;
        if status == 404 {
            break;
        }
        let item: T = serde_json::from_value(body[field].clone())
            .context("node answered an unreadable record")?;
        if matches(&item) {
            return Ok(id);
        }
    }
    anyhow::bail!("the {field} was committed but could not be found among the newest ids")
}

/// The id the next mode (`"mode"`) or offer (`"offer"`) will get.
fn next_id(client: &NodeClient, which: &str) -> anyhow::Result<u64> {
    let body = client.get_ok("/v1/trade/next_ids")?;
    body[which]
        .as_u64()
        .with_context(|| format!("node answered without the next {which} id: {body}"))
}

pub fn run(cmd: TradeCmd) -> anyhow::Result<()> {
    match cmd {
        TradeCmd::Enroll {
            operator_key,
            did,
            role,
            kyc,
            method,
            node,
        } => enroll(&operator_key, &did, role.into(), kyc, &method, &node),
        TradeCmd::Policy {
            operator_key,
            record_browse,
            node,
        } => {
            let client = NodeClient::new(&node)?;
            let key = load_key(&operator_key)?;
            let tx = submit(
                &client,
                &key,
                &TradeOp::SetPolicy { record_browse },
                "policy",
            )?;
            println!("record_browse = {record_browse} (tx {tx})");
            Ok(())
        }
        TradeCmd::Mode {
            key,
            price_fen_per_minute,
            min_cost_fen,
            period_minutes,
            weights,
            trade_type,
            start_cpt,
            checkin_cpt,
            node,
        } => {
            let client = NodeClient::new(&node)?;
            let key = load_key(&key)?;
            let weights = Weights::new(parse_pairs(&weights, "--weights")?)
                .map_err(|e| anyhow::anyhow!(e))?;
            let terms = ModeTerms {
                trade_start_cpt: start_cpt,
                checkin_cpt,
                price_fen_per_minute: Fen::new(price_fen_per_minute)
                    .context("--price-fen-per-minute")?,
                min_cost_fen: Fen::new(min_cost_fen).context("--min-cost-fen")?,
                checkin_period_minutes: period_minutes,
                weights,
                encryption: Encryption::Plaintext,
                trade_type,
            };
            terms.check().map_err(|e| anyhow::anyhow!(e))?;
            let me = my_did(&client, &key)?;
            let before = next_id(&client, "mode")?;
            let tx = submit(
                &client,
                &key,
                &TradeOp::PublishMode {
                    terms: terms.clone(),
                },
                "mode",
            )?;
            let id = find_published(&client, "modes", "mode", before, |m: &Mode| {
                m.supplier == me && m.terms == terms
            })?;
            println!("{}", json!({"mode_id": id, "tx": tx}));
            Ok(())
        }
        TradeCmd::Offer {
            key,
            mode,
            spec,
            quantity,
            valid_hours,
            node,
        } => {
            let client = NodeClient::new(&node)?;
            let key = load_key(&key)?;
            let now = now_ms();
            let terms = OfferTerms {
                mode_id: mode,
                spec,
                quantity,
                valid_from_ms: now,
                valid_until_ms: now.saturating_add(valid_hours.saturating_mul(3_600_000)),
            };
            terms.check().map_err(|e| anyhow::anyhow!(e))?;
            let me = my_did(&client, &key)?;
            let before = next_id(&client, "offer")?;
            let tx = submit(
                &client,
                &key,
                &TradeOp::PublishOffer {
                    terms: terms.clone(),
                },
                "offer",
            )?;
            let id = find_published(&client, "offers", "offer", before, |o: &Offer| {
                o.supplier == me && o.terms == terms
            })?;
            println!("{}", json!({"offer_id": id, "tx": tx}));
            Ok(())
        }
        TradeCmd::Offers { from, node } => {
            let client = NodeClient::new(&node)?;
            let body = client.get_ok(&format!("/v1/trade/offers?open=true&from={from}"))?;
            println!("{}", serde_json::to_string_pretty(&body)?);
            Ok(())
        }
        TradeCmd::Order {
            key,
            offer,
            minutes,
            value_fen,
            quantity,
            serial: serial_text,
            node,
        } => {
            let client = NodeClient::new(&node)?;
            let key = load_key(&key)?;
            let body = client.get_ok(&format!("/v1/trade/offers/{offer}"))?;
            let found: Offer = serde_json::from_value(body["offer"].clone())
                .context("node answered an unreadable offer")?;
            let serial = match serial_text {
                Some(text) => serial(&text)?,
                None => {
                    let mut bytes = [0u8; 16];
                    getrandom::fill(&mut bytes)
                        .map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
                    Serial::from_bytes(bytes)
                }
            };
            let requirements = Requirements {
                spec: found.terms.spec.clone(),
                quantity,
                duration_minutes: minutes,
            };
            requirements.check().map_err(|e| anyhow::anyhow!(e))?;
            let value_fen = PositiveFen::new(value_fen).context("--value-fen")?;
            let time_ms = now_ms();
            let digest = op::order_digest(
                &serial,
                time_ms,
                &found.supplier,
                offer,
                &requirements,
                value_fen,
            );
            let order = TradeOp::Order {
                serial,
                offer_id: offer,
                time_ms,
                requirements,
                value_fen,
                signature: op::sign_digest(&key, &digest),
            };
            let tx = submit(&client, &key, &order, "order")?;
            println!("{}", json!({"serial": serial, "tx": tx}));
            Ok(())
        }
        TradeCmd::Accept {
            key,
            serial: text,
            method,
            node,
        } => {
            let client = NodeClient::new(&node)?;
            let key = load_key(&key)?;
            let serial = serial(&text)?;
            let (trade, _) = full_trade(&client, &key, &serial)?;
            let now = now_ms();
            let draft = credentials::draft(
                &trade,
                credentials::start_credential_id(&serial),
                trade.trade_start_cpt,
                credentials::start_claims(&trade),
                now,
            )?;
            let credential = credentials::issue(&draft, &key, &method, now)?;
            let accept = TradeOp::Accept {
                serial,
                signature: key.sign(&op::contract_message(&trade.order_signature)),
                credential,
            };
            let tx = submit(&client, &key, &accept, "accept")?;
            println!(
                "{}",
                json!({"serial": serial, "contracted": true, "tx": tx})
            );
            Ok(())
        }
        TradeCmd::Checkin {
            key,
            serial: text,
            method,
            node,
        } => checkin(&key, &text, &method, &node),
        TradeCmd::Fund {
            key,
            serial: text,
            amount_fen,
            node,
        } => {
            let client = NodeClient::new(&node)?;
            let key = load_key(&key)?;
            let serial = serial(&text)?;
            let amount = PositiveFen::new(amount_fen).context("--amount-fen")?;
            let op = TradeOp::Fund {
                serial,
                amount_fen: amount,
            };
            let tx = submit(&client, &key, &op, "fund")?;
            println!(
                "{}",
                json!({"serial": serial, "funded_fen": amount_fen, "tx": tx})
            );
            Ok(())
        }
        TradeCmd::Close {
            key,
            serial: text,
            reason,
            node,
        } => {
            let client = NodeClient::new(&node)?;
            let key = load_key(&key)?;
            let serial = serial(&text)?;
            let reason: CloseReason = reason.into();
            let tx = submit(&client, &key, &TradeOp::Close { serial, reason }, "close")?;
            let (trade, _) = full_trade(&client, &key, &serial)?;
            println!(
                "{}",
                json!({"serial": serial, "closure": trade.closure, "tx": tx})
            );
            Ok(())
        }
        TradeCmd::Rate {
            key,
            serial: text,
            scores,
            node,
        } => {
            let client = NodeClient::new(&node)?;
            let key = load_key(&key)?;
            let serial = serial(&text)?;
            let scores =
                Scores::new(parse_pairs(&scores, "--scores")?).map_err(|e| anyhow::anyhow!(e))?;
            let (trade, _) = full_trade(&client, &key, &serial)?;
            let overall = scores
                .overall_milli(&trade.weights)
                .map_err(|e| anyhow::anyhow!(e))?;
            let time_ms = now_ms();
            let digest = op::rating_digest(&serial, time_ms, &trade.supplier, overall, &scores);
            let rate = TradeOp::Rate {
                serial,
                time_ms,
                scores,
                signature: op::sign_digest(&key, &digest),
            };
            let tx = submit(&client, &key, &rate, "rate")?;
            println!(
                "{}",
                json!({"serial": serial, "overall": f64::from(overall) / 1000.0, "tx": tx})
            );
            Ok(())
        }
        TradeCmd::Show {
            serial: text,
            key,
            out,
            node,
        } => {
            let client = NodeClient::new(&node)?;
            let serial = serial(&text)?;
            let body = match key {
                Some(path) => full_trade(&client, &load_key(&path)?, &serial)?.1,
                None => client.get_ok(&format!("/v1/trade/trades/{serial}"))?,
            };
            write_or_print(out.as_deref(), &body)
        }
        TradeCmd::History { key, did, node } => {
            let client = NodeClient::new(&node)?;
            let key = load_key(&key)?;
            let me = my_did(&client, &key)?;
            let whose = match did {
                Some(d) => party_did(&d)?,
                None => me.clone(),
            };
            let (status, body) = client.post_json(
                &format!("/v1/trade/parties/{whose}/history"),
                &read_request(&client, &key, &me, whose.as_str())?,
            )?;
            anyhow::ensure!(
                status == 200,
                "reading the history of {whose}: {}",
                error_text(&body)
            );
            println!("{}", serde_json::to_string_pretty(&body)?);
            Ok(())
        }
        TradeCmd::Reputation { did, node } => {
            let client = NodeClient::new(&node)?;
            let did = party_did(&did)?;
            let body = client.get_ok(&format!("/v1/trade/suppliers/{did}/reputation"))?;
            println!("{}", serde_json::to_string_pretty(&body)?);
            Ok(())
        }
    }
}

fn enroll(
    operator_key: &std::path::Path,
    did: &str,
    role: Role,
    kyc: Option<PathBuf>,
    method: &str,
    node: &NodeTarget,
) -> anyhow::Result<()> {
    let client = NodeClient::new(node)?;
    let operator = load_key(operator_key)?;
    let did = party_did(did)?;
    let resolved = client.get_ok(&format!("/1.0/identifiers/{did}"))?;
    let vm_id = format!("{did}#{method}");
    let vm = resolved["didDocument"]["verificationMethod"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["id"].as_str() == Some(vm_id.as_str()))
        .with_context(|| format!("{did} has no verification method #{method}"))?;
    let key = suanli_vc::multikey::decode_ed25519_multikey(
        vm["publicKeyMultibase"].as_str().unwrap_or_default(),
    )
    .map_err(|e| anyhow::anyhow!("#{method} of {did}: {e}"))?;
    let (credential_id, credential_hash) = match (role, kyc) {
        (Role::Regulator, _) => (None, None),
        (_, None) => anyhow::bail!(
            "a {} is enrolled on its KYC credential: pass --kyc FILE",
            role.as_str()
        ),
        (_, Some(path)) => {
            let vc = read_json(&path)?;
            check_kyc(&client, &vc, &did, role)?;
            let id = vc["id"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| format!("urn:sha256:{}", sha256(vc.to_string().as_bytes())));
            (Some(id), Some(sha256(&serde_json::to_vec(&vc)?).to_hex()))
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
    let tx = submit(&client, &operator, &enroll, "enroll")?;
    println!(
        "{}",
        json!({"did": did, "role": role, "key": key, "tx": tx})
    );
    Ok(())
}

/// The KYC credential verifies on the identity chain, is of the role's template and is
/// about `did`.
fn check_kyc(client: &NodeClient, vc: &Value, did: &PartyDid, role: Role) -> anyhow::Result<()> {
    let (status, body) = client.post_json("/1.0/credentials/verify", &json!({"credential": vc}))?;
    anyhow::ensure!(
        status == 200,
        "verification request failed: {}",
        error_text(&body)
    );
    anyhow::ensure!(
        body["verified"] == json!(true),
        "the KYC credential does not verify: {}",
        body["report"]["first_failure"]
    );
    let template = match role {
        Role::Supplier => "kyc-supplier",
        _ => "kyc-consumer",
    };
    let expected = suanli_identity::cpt::builtin_id(template).context("KYC template missing")?;
    let (_, cpt, _) = urn::parse_cpt(vc["credentialSchema"]["id"].as_str().unwrap_or_default())
        .map_err(|e| anyhow::anyhow!("the KYC credential names no CPT: {e}"))?;
    anyhow::ensure!(
        cpt == expected,
        "a {} needs a {template} credential (CPT {expected}), this one is CPT {cpt}",
        role.as_str()
    );
    anyhow::ensure!(
        vc["credentialSubject"]["id"].as_str() == Some(did.as_str()),
        "the KYC credential is about {}, not {did}",
        vc["credentialSubject"]["id"]
    );
    Ok(())
}

fn checkin(
    key: &std::path::Path,
    text: &str,
    method: &str,
    node: &NodeTarget,
) -> anyhow::Result<()> {
    let client = NodeClient::new(node)?;
    let key = load_key(key)?;
    let serial = serial(text)?;
    let (trade, _) = full_trade(&client, &key, &serial)?;
    let (Some(start), Some(end_max)) = (trade.billed_until_ms, trade.contract_end_ms) else {
        anyhow::bail!("trade {serial} has no contract yet");
    };
    // Up to one period, up to the contract's end, and only whole minutes that have passed.
    let now = now_ms();
    let limit = end_max
        .min(now)
        .min(start.saturating_add(trade.period_minutes.saturating_mul(MINUTE_MS)));
    let minutes = limit.saturating_sub(start) / MINUTE_MS;
    anyhow::ensure!(
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
    )?;
    let draft = credentials::draft(
        &trade,
        credentials::checkin_credential_id(&serial, trade.checkins + 1),
        trade.checkin_cpt,
        credentials::checkin_claims(&trade, start, end, cost),
        start,
    )?;
    let credential = credentials::issue(&draft, &key, method, end)?;
    let op = TradeOp::Checkin {
        serial,
        start_ms: start,
        end_ms: end,
        cost_fen: cost,
        credential,
    };
    let tx = submit(&client, &key, &op, "check-in")?;
    println!(
        "{}",
        json!({"serial": serial, "start_ms": start, "end_ms": end, "minutes": minutes, "cost_fen": cost, "tx": tx})
    );
    Ok(())
}
