//! `suanli trade …`: the trade chain from the command line (`suanli_ledger_client::trade`
//! does the work: records signed here with the party's own key file, full records read
//! with signed read requests; this module parses and prints).

use std::path::PathBuf;

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use serde_json::json;
use suanli_ledger_client::supply;
use suanli_ledger_client::trade::{self as t, OrderRequest, parse_pairs, party_did, serial};
use suanli_ledger_client::wallet::{load_key, now_ms, read_json};
use suanli_primitives::{Fen, PositiveFen, PublicKey};
use suanli_trade::cpts::CptPurpose;
use suanli_trade::model::{Encryption, ModeTerms, OfferTerms, Weights};
use suanli_trade::{CloseReason, Role, TradeOp};

use super::NodeTarget;
use super::identity::{pretty, write_or_print};

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

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PurposeArg {
    TradeStart,
    Checkin,
}

impl From<PurposeArg> for CptPurpose {
    fn from(p: PurposeArg) -> CptPurpose {
        match p {
            PurposeArg::TradeStart => CptPurpose::TradeStart,
            PurposeArg::Checkin => CptPurpose::Checkin,
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
    /// Supplier: register a CPT of its own on the identity chain and adopt it on the trade
    /// chain as its trade-start or check-in template (docs/trade.md §2.1); prints its id.
    Cpt {
        /// The supplier's key (its DID key, enrolled on the trade chain).
        #[arg(long)]
        key: PathBuf,
        #[arg(long, value_enum)]
        purpose: PurposeArg,
        /// The JSON Schema file (compatible with the built-in it replaces).
        #[arg(long)]
        schema: PathBuf,
        #[command(flatten)]
        node: NodeTarget,
    },
    /// Supplier: delegate a key to its agent — added to the supplier's DID document as
    /// #FRAGMENT and authorised on the trade chain (docs/trade.md §1.1).
    AgentAuthorise {
        /// The supplier's key (its DID key, enrolled on the trade chain).
        #[arg(long)]
        key: PathBuf,
        /// The agent's public key (64 hex characters; its secret stays with the agent).
        #[arg(long)]
        agent: String,
        /// The agent key's proof of possession (128 hex characters), printed on the
        /// agent's machine by `suanli agent proof --key FILE --supplier DID --fragment F`.
        #[arg(long)]
        proof: String,
        #[arg(long, default_value = "agent-1")]
        fragment: String,
        #[command(flatten)]
        node: NodeTarget,
    },
    /// Supplier: revoke an agent key (refused on the trade chain from then on, removed
    /// from the DID document).
    AgentRevoke {
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        agent: String,
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
        /// Fragment of the signing key in the supplier's DID document (`key-1`, or an
        /// agent key's fragment such as `agent-1`).
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
    /// A trade's bundle: every record with its transaction, block header and inclusion
    /// proof (docs/trade.md §10), written to FILE for anyone to verify offline. Reads raw
    /// state and proofs: a node on loopback, or a member token.
    Bundle {
        #[arg(long)]
        serial: String,
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        node: NodeTarget,
    },
    /// Verify a trade bundle offline (docs/trade.md §10): transactions, block headers and
    /// inclusion proofs, signers, every signature and credential inside the records.
    Verify {
        /// The bundle file (`suanli trade bundle`, or the download of the trade's page).
        file: PathBuf,
        /// A trusted block producer key (64 hex); repeat for several. Without any, every
        /// producer whose signature verifies is accepted and named.
        #[arg(long)]
        producer: Vec<String>,
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

pub fn run(cmd: TradeCmd) -> anyhow::Result<()> {
    match cmd {
        TradeCmd::Enroll {
            operator_key,
            did,
            role,
            kyc,
            method,
            node,
        } => {
            let (client, operator, did) =
                (node.client()?, load_key(&operator_key)?, party_did(&did)?);
            let role: Role = role.into();
            let kyc = kyc.map(|p| read_json(&p)).transpose()?;
            let (key, tx) = t::enroll(&client, &operator, &did, role, kyc, &method)?;
            println!(
                "{}",
                json!({"did": did, "role": role, "key": key, "tx": tx})
            );
        }
        TradeCmd::Policy {
            operator_key,
            record_browse,
            node,
        } => {
            let op = TradeOp::SetPolicy { record_browse };
            let tx = t::submit(&node.client()?, &load_key(&operator_key)?, &op, "policy")?;
            println!("record_browse = {record_browse} (tx {tx})");
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
            let weights = Weights::new(parse_pairs(&weights, "--weights")?)
                .map_err(|e| anyhow::anyhow!(e))?;
            let terms = ModeTerms {
                trade_start_cpt: start_cpt,
                checkin_cpt,
                price_fen_per_minute: Fen::new(price_fen_per_minute)
                    .context("--price-fen-per-minute must not be negative")?,
                min_cost_fen: Fen::new(min_cost_fen)
                    .context("--min-cost-fen must not be negative")?,
                checkin_period_minutes: period_minutes,
                weights,
                encryption: Encryption::Plaintext,
                trade_type,
            };
            let (id, tx) = t::publish_mode(&node.client()?, &load_key(&key)?, terms)?;
            println!("{}", json!({"mode_id": id, "tx": tx}));
        }
        TradeCmd::Cpt {
            key,
            purpose,
            schema,
            node,
        } => {
            let schema = read_json(&schema)?;
            let r = supply::register_supplier_cpt(
                &node.client()?,
                &load_key(&key)?,
                purpose.into(),
                &schema,
            )?;
            println!(
                "{}",
                json!({"cpt": r.cpt, "identity_tx": r.identity_tx, "trade_tx": r.trade_tx})
            );
        }
        TradeCmd::AgentAuthorise {
            key,
            agent,
            proof,
            fragment,
            node,
        } => {
            let agent = PublicKey::from_hex(&agent).context("--agent must be 64 hex characters")?;
            let proof = suanli_primitives::Signature::from_hex(proof.trim())
                .context("--proof must be 128 hex characters (`suanli agent proof` prints it)")?;
            let fragment = suanli_ledger_client::identity::fragment(&fragment)?;
            let d = supply::authorise_agent_key(
                &node.client()?,
                &load_key(&key)?,
                &agent,
                &proof,
                &fragment,
            )?;
            println!(
                "{}",
                json!({"agent": agent, "fragment": fragment.as_str(), "identity_tx": d.identity_tx, "trade_tx": d.trade_tx})
            );
        }
        TradeCmd::AgentRevoke { key, agent, node } => {
            let agent = PublicKey::from_hex(&agent).context("--agent must be 64 hex characters")?;
            let d = supply::revoke_agent_key(&node.client()?, &load_key(&key)?, &agent)?;
            println!(
                "{}",
                json!({"agent": agent, "revoked": true, "identity_tx": d.identity_tx, "trade_tx": d.trade_tx})
            );
        }
        TradeCmd::Offer {
            key,
            mode,
            spec,
            quantity,
            valid_hours,
            node,
        } => {
            let now = now_ms();
            let terms = OfferTerms {
                mode_id: mode,
                spec,
                quantity,
                valid_from_ms: now,
                valid_until_ms: now.saturating_add(valid_hours.saturating_mul(3_600_000)),
            };
            let (id, tx) = t::publish_offer(&node.client()?, &load_key(&key)?, terms)?;
            println!("{}", json!({"offer_id": id, "tx": tx}));
        }
        TradeCmd::Offers { from, node } => {
            pretty(
                &node
                    .client()?
                    .get_ok(&format!("/v1/trade/offers?open=true&from={from}"))?,
            )?;
        }
        TradeCmd::Order {
            key,
            offer,
            minutes,
            value_fen,
            quantity,
            serial: text,
            node,
        } => {
            let request = OrderRequest {
                offer,
                minutes,
                value_fen: PositiveFen::new(value_fen).context("--value-fen must be positive")?,
                quantity,
                serial: text.as_deref().map(serial).transpose()?,
            };
            let (serial, tx) = t::order(&node.client()?, &load_key(&key)?, request)?;
            println!("{}", json!({"serial": serial, "tx": tx}));
        }
        TradeCmd::Accept {
            key,
            serial: text,
            method,
            node,
        } => {
            let serial = serial(&text)?;
            let tx = t::accept(&node.client()?, &load_key(&key)?, serial, &method)?;
            println!(
                "{}",
                json!({"serial": serial, "contracted": true, "tx": tx})
            );
        }
        TradeCmd::Checkin {
            key,
            serial: text,
            method,
            node,
        } => {
            let serial = serial(&text)?;
            let c = t::checkin(&node.client()?, &load_key(&key)?, serial, &method)?;
            println!(
                "{}",
                json!({"serial": serial, "start_ms": c.start_ms, "end_ms": c.end_ms, "minutes": c.minutes, "cost_fen": c.cost_fen, "tx": c.tx})
            );
        }
        TradeCmd::Fund {
            key,
            serial: text,
            amount_fen,
            node,
        } => {
            let serial = serial(&text)?;
            let amount = PositiveFen::new(amount_fen).context("--amount-fen must be positive")?;
            let op = TradeOp::Fund {
                serial,
                amount_fen: amount,
            };
            let tx = t::submit(&node.client()?, &load_key(&key)?, &op, "fund")?;
            println!(
                "{}",
                json!({"serial": serial, "funded_fen": amount_fen, "tx": tx})
            );
        }
        TradeCmd::Close {
            key,
            serial: text,
            reason,
            node,
        } => {
            let serial = serial(&text)?;
            let (closure, tx) = t::close(&node.client()?, &load_key(&key)?, serial, reason.into())?;
            println!(
                "{}",
                json!({"serial": serial, "closure": closure, "tx": tx})
            );
        }
        TradeCmd::Rate {
            key,
            serial: text,
            scores,
            node,
        } => {
            let serial = serial(&text)?;
            let (overall, tx) = t::rate(&node.client()?, &load_key(&key)?, serial, &scores)?;
            println!(
                "{}",
                json!({"serial": serial, "overall": f64::from(overall) / 1000.0, "tx": tx})
            );
        }
        TradeCmd::Show {
            serial: text,
            key,
            out,
            node,
        } => {
            let (client, serial) = (node.client()?, serial(&text)?);
            let body = match key {
                Some(path) => t::full_trade(&client, &load_key(&path)?, &serial)?.1,
                None => client.get_ok(&format!("/v1/trade/trades/{serial}"))?,
            };
            write_or_print(out.as_deref(), &body)?;
        }
        TradeCmd::Bundle {
            serial: text,
            out,
            node,
        } => {
            let (client, serial) = (node.client()?, serial(&text)?);
            let bundle = suanli_ledger_client::bundle::trade_bundle(&client, &serial)?
                .ok_or_else(|| anyhow::anyhow!("no trade {serial} on the chain"))?;
            write_or_print(Some(&out), &serde_json::to_value(&bundle)?)?;
        }
        TradeCmd::Verify { file, producer } => verify_bundle(&file, &producer)?,
        TradeCmd::History { key, did, node } => {
            pretty(&t::history(
                &node.client()?,
                &load_key(&key)?,
                did.as_deref(),
            )?)?;
        }
        TradeCmd::Reputation { did, node } => {
            let did = party_did(&did)?;
            pretty(
                &node
                    .client()?
                    .get_ok(&format!("/v1/trade/suppliers/{did}/reputation"))?,
            )?;
        }
    }
    Ok(())
}

/// Largest bundle file `suanli trade verify` reads, in bytes.
const BUNDLE_FILE_BYTES_MAX: u64 = 256 * 1024 * 1024;

fn verify_bundle(file: &std::path::Path, producers: &[String]) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let size = std::fs::metadata(file)
        .with_context(|| format!("reading {}", file.display()))?
        .len();
    anyhow::ensure!(
        size <= BUNDLE_FILE_BYTES_MAX,
        "{} is {size} bytes, more than a bundle may be ({BUNDLE_FILE_BYTES_MAX})",
        file.display()
    );
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let bundle: suanli_trade::bundle::Bundle = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a trade bundle", file.display()))?;
    let keys = producers
        .iter()
        .map(|p| {
            suanli_primitives::PublicKey::from_hex(p)
                .map_err(|e| anyhow::anyhow!("--producer {p}: {e}"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let report = suanli_trade::bundle::verify(&bundle, &keys)
        .map_err(|e| anyhow::anyhow!("the bundle does not verify: {e} ({})", e.check))?;
    let producers: Vec<String> = report.producers.iter().map(ToString::to_string).collect();
    println!(
        "{}",
        json!({
            "serial": bundle.serial.to_string(),
            "verified": true,
            "records": report.records,
            "credentials": report.credentials,
            "channel_states": report.channel_states,
            "checkins_fen": report.checkins_fen,
            "producers": producers,
        })
    );
    Ok(())
}
