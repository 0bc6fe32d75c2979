//! Shared harness: an identity chain and a trade chain driven through the real ledger
//! engine with the identity and trade contracts installed, time under test control.
//! Parties get real DIDs and real KYC credentials from the genesis authority, which the
//! operator checks before enrolling them, as `suanli trade enroll` does.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value, json};
use suanli_identity::op::IdentityOp;
use suanli_identity::{ChainResolver, DidId, IdentityContract, SuanliDid, urn};
use suanli_ledger::credit::{Amount, CreditOp, SUPPLY_KEY, decode_fen};
use suanli_ledger::{ChainEngine, Extensions, Genesis, Outcome, Payload, Transaction};
use suanli_primitives::{ChainId, ChainKind, NetworkName, SecretKey, sha256};
use suanli_trade::credentials;
use suanli_trade::model::{ModeTerms, OfferTerms, Requirements, Resource, Scores, Weights};
use suanli_trade::op::{self, TradeOp};
use suanli_trade::records::Trade;
use suanli_trade::{CloseReason, PartyDid, Role, Serial, TradeContract, view};
use suanli_vc::credential::CredentialDraft;
use suanli_vc::verify::{VerificationReport, Verifier};

pub const T0: u64 = 1_700_000_000_000;
pub const MINUTE: u64 = 60_000;

pub struct Party {
    pub key: SecretKey,
    pub did: PartyDid,
}

pub struct Net {
    pub identity: ChainEngine,
    pub trade: ChainEngine,
    proposer: SecretKey,
    pub operator: SecretKey,
    pub network: NetworkName,
    pub now_ms: u64,
    nonces: HashMap<(ChainKind, [u8; 32]), u64>,
    kyc_seq: u64,
}

fn engine(
    network: &NetworkName,
    kind: ChainKind,
    proposer: &SecretKey,
    operator: &SecretKey,
) -> ChainEngine {
    let genesis = Genesis::new(
        ChainId::new(network.clone(), kind),
        T0,
        vec![proposer.public()],
        operator.public(),
    )
    .unwrap();
    let block0 = ChainEngine::genesis_block(&genesis, proposer);
    ChainEngine::from_genesis(genesis, &block0.header)
        .unwrap()
        .with_extensions(
            Extensions::new()
                .with(Arc::new(IdentityContract))
                .with(Arc::new(TradeContract)),
        )
}

/// The code of a failed outcome (`code: message` → `code`).
fn code(outcome: &Outcome) -> Result<(), String> {
    match outcome {
        Outcome::Applied => Ok(()),
        Outcome::Failed { reason } => Err(reason.split(':').next().unwrap_or_default().to_owned()),
    }
}

impl Net {
    pub fn new() -> Self {
        let network = NetworkName::new("suanli-test").unwrap();
        let proposer = SecretKey::from_label("proposer");
        let operator = SecretKey::from_label("operator");
        let identity = engine(&network, ChainKind::Identity, &proposer, &operator);
        let trade = engine(&network, ChainKind::Trade, &proposer, &operator);
        let mut net = Net {
            identity,
            trade,
            proposer,
            operator,
            network,
            now_ms: T0,
            nonces: HashMap::new(),
            kyc_seq: 0,
        };
        let op = net.operator.clone();
        net.block(
            ChainKind::Identity,
            vec![(&op, Payload::Call(IdentityOp::CreateDid.to_call().unwrap()))],
        )
        .remove(0)
        .unwrap();
        net
    }

    fn chain(&mut self, kind: ChainKind) -> &mut ChainEngine {
        match kind {
            ChainKind::Identity => &mut self.identity,
            ChainKind::Trade => &mut self.trade,
        }
    }

    /// One block (one second later) with these transactions; per-transaction results.
    /// A transaction refused at admission gives `Err("rejected: …")` and is left out.
    pub fn block(
        &mut self,
        kind: ChainKind,
        txs: Vec<(&SecretKey, Payload)>,
    ) -> Vec<Result<(), String>> {
        self.now_ms += 1_000;
        let mut results = vec![Ok(()); txs.len()];
        let mut included = Vec::new();
        let mut slots = Vec::new();
        for (i, (key, payload)) in txs.into_iter().enumerate() {
            let nonce_key = (kind, *key.public().as_bytes());
            let nonce = *self.nonces.get(&nonce_key).unwrap_or(&0);
            let tx = Transaction::sign(self.chain(kind).chain(), key, nonce, payload);
            if let Err(e) = self.chain(kind).check_call(&tx) {
                results[i] = Err(format!("rejected: {e}"));
                continue;
            }
            self.nonces.insert(nonce_key, nonce + 1);
            included.push(tx);
            slots.push(i);
        }
        let now = self.now_ms;
        let proposer = self.proposer.clone();
        let executed = self
            .chain(kind)
            .execute(included, now, proposer.public())
            .unwrap();
        for (slot, outcome) in slots.iter().zip(&executed.outcomes) {
            results[*slot] = code(outcome);
        }
        let header = executed.header.seal(&proposer);
        self.chain(kind).commit(header, executed.writes);
        results
    }

    /// One trade-chain transaction in its own block.
    pub fn trade_op(&mut self, key: &SecretKey, op: &TradeOp) -> Result<(), String> {
        let call = op.to_call().map_err(|e| format!("rejected: {e}"))?;
        self.block(ChainKind::Trade, vec![(key, Payload::Call(call))])
            .remove(0)
    }

    pub fn advance(&mut self, ms: u64) {
        self.now_ms += ms;
    }

    pub fn mint(&mut self, to: &Party, fen: i64) {
        let op = self.operator.clone();
        let payload = Payload::Credit(CreditOp::Mint {
            to: to.key.public(),
            amount: Amount::new(fen).unwrap(),
        });
        self.block(ChainKind::Trade, vec![(&op, payload)])
            .remove(0)
            .unwrap();
    }

    pub fn balance(&self, party: &Party) -> i64 {
        self.trade
            .state()
            .get(&suanli_ledger::credit::balance_key(&party.key.public()))
            .and_then(decode_fen)
            .map_or(0, |f| f.get())
    }

    /// `Σ balances` (escrows included) and the supply: they must be equal.
    pub fn conservation(&self) -> (i64, i64) {
        let state = self.trade.state();
        let sum = state
            .scan_prefix(b"credit/balance/")
            .map(|(_, v)| decode_fen(v).unwrap().get())
            .sum();
        let supply = state
            .get(SUPPLY_KEY)
            .and_then(decode_fen)
            .map_or(0, |f| f.get());
        (sum, supply)
    }

    pub fn trade(&self, serial: &Serial) -> Trade {
        view::trade(self.trade.state(), serial).unwrap()
    }

    pub fn authority_id(&self) -> DidId {
        DidId::derive(&self.operator.public())
    }

    /// Verifies a credential on its own against the identity chain, as any verifier would.
    pub fn verify(&self, vc: &Value) -> VerificationReport {
        let authority = self.authority_id();
        let r = ChainResolver {
            state: self.identity.state(),
            network: &self.network,
            authority: &authority,
        };
        Verifier {
            keys: &r,
            schemas: &r,
            status: &r,
        }
        .verify_credential(vc, self.now_ms + 1_000)
    }

    /// A party with a DID on the identity chain, a KYC credential from the genesis
    /// authority that verifies there, and an enrolment on the trade chain in `role`.
    pub fn party(&mut self, label: &str, role: Role) -> Party {
        let key = SecretKey::from_label(label);
        let created = self.block(
            ChainKind::Identity,
            vec![(
                &key,
                Payload::Call(IdentityOp::CreateDid.to_call().unwrap()),
            )],
        );
        created.into_iter().next().unwrap().unwrap();
        let did = SuanliDid::for_initial_key(self.network.clone(), &key.public());
        let party = Party {
            did: PartyDid::parse(&did.to_string()).unwrap(),
            key,
        };
        let vc = self.kyc_credential(&party, role);
        let report = self.verify(&vc);
        assert!(report.ok(), "KYC credential of {label}: {report:?}");
        let op = TradeOp::Enroll {
            did: party.did.clone(),
            role,
            key: party.key.public(),
            kyc_credential_id: vc["id"].as_str().map(str::to_owned),
            kyc_credential_sha256: Some(sha256(&serde_json::to_vec(&vc).unwrap()).to_hex()),
        };
        let operator = self.operator.clone();
        self.trade_op(&operator, &op).unwrap();
        party
    }

    fn kyc_credential(&mut self, party: &Party, role: Role) -> Value {
        self.kyc_seq += 1;
        let (cpt, claims) = match role {
            Role::Supplier => (
                3,
                json!({
                    "organisationName": "闽算科技有限公司 (test)",
                    "unifiedSocialCreditCode": "91350100M000100Y43",
                    "legalRepresentative": "张三",
                    "qualifications": [{"name": "IDC licence", "number": "B1-20230001"}],
                    "contact": {"name": "李四", "phone": "+86 591 5555 0101"},
                }),
            ),
            _ => (4, json!({"name": "王五", "idType": "resident-id-card"})),
        };
        let mut subject: Map<String, Value> = claims.as_object().unwrap().clone();
        subject.insert("id".into(), party.did.as_str().into());
        let authority = SuanliDid::new(self.network.clone(), self.authority_id());
        let draft = CredentialDraft {
            id: Some(format!("urn:uuid:kyc-{}", self.kyc_seq)),
            types: vec!["KycCredential".into()],
            issuer: authority.to_string(),
            subject,
            valid_from: self.now_ms,
            valid_until: None,
            schema: Some(suanli_vc::credential::SchemaRef {
                id: urn::cpt(&self.network, cpt, 1),
            }),
            status: None,
        };
        suanli_vc::credential::issue(
            &draft,
            &format!("{authority}#key-1"),
            self.now_ms,
            &self.operator,
        )
        .unwrap()
    }

    pub fn weights() -> Weights {
        Weights::new(
            [
                (Resource::Cpu, 200),
                (Resource::Memory, 100),
                (Resource::Storage, 100),
                (Resource::DiskIo, 100),
                (Resource::Gpu, 400),
                (Resource::Network, 100),
            ]
            .into(),
        )
        .unwrap()
    }

    /// Publishes a mode (10 fen/min/unit, min cost 500 fen, 60-minute periods) and an offer
    /// of `units` units valid for a day; returns the offer id.
    pub fn mode_and_offer(&mut self, supplier: &Party, units: u32) -> u64 {
        let terms = ModeTerms {
            trade_start_cpt: 1,
            checkin_cpt: 2,
            price_fen_per_minute: 10,
            min_cost_fen: 500,
            checkin_period_minutes: 60,
            weights: Self::weights(),
            encryption: suanli_trade::model::Encryption::Plaintext,
            trade_type: "payg-minute".into(),
        };
        self.trade_op(&supplier.key, &TradeOp::PublishMode { terms })
            .unwrap();
        let mode_id = self.next_id(suanli_trade::records::MODE_NEXT_KEY) - 1;
        let offer = OfferTerms {
            mode_id,
            spec: "A100-80G x1, 16 vCPU, 128 GiB".into(),
            quantity: units,
            valid_from_ms: self.now_ms,
            valid_until_ms: self.now_ms + 24 * 3_600_000,
        };
        self.trade_op(&supplier.key, &TradeOp::PublishOffer { terms: offer })
            .unwrap();
        self.next_id(suanli_trade::records::OFFER_NEXT_KEY) - 1
    }

    fn next_id(&self, key: &[u8]) -> u64 {
        suanli_trade::records::decode_u64(self.trade.state().get(key).map(<[u8]>::to_vec))
    }

    pub fn serial(n: u64) -> Serial {
        let mut b = [0u8; 16];
        b[8..].copy_from_slice(&n.to_be_bytes());
        Serial::from_bytes(b)
    }

    pub fn order_op(
        &self,
        consumer: &Party,
        supplier: &PartyDid,
        serial: Serial,
        offer_id: u64,
        minutes: u64,
        value_fen: i64,
    ) -> TradeOp {
        let requirements = Requirements {
            spec: "A100-80G x1, 16 vCPU, 128 GiB".into(),
            quantity: 1,
            duration_minutes: minutes,
        };
        let time_ms = self.now_ms;
        let digest = op::order_digest(
            &serial,
            time_ms,
            supplier,
            offer_id,
            &requirements,
            value_fen,
        );
        TradeOp::Order {
            serial,
            offer_id,
            time_ms,
            requirements,
            value_fen,
            signature: op::sign_digest(&consumer.key, &digest),
        }
    }

    pub fn accept_op(&self, supplier: &Party, serial: &Serial) -> TradeOp {
        let trade = self.trade(serial);
        let draft = credentials::draft(
            &trade,
            credentials::start_credential_id(serial),
            trade.trade_start_cpt,
            credentials::start_claims(&trade),
            self.now_ms,
        )
        .unwrap();
        let credential = credentials::issue(&draft, &supplier.key, "key-1", self.now_ms).unwrap();
        TradeOp::Accept {
            serial: *serial,
            signature: supplier
                .key
                .sign(&op::contract_message(&trade.order_signature)),
            credential,
        }
    }

    /// The check-in of the next period of `minutes` minutes at the correct cost.
    pub fn checkin_op(&self, supplier: &Party, serial: &Serial, minutes: u64) -> TradeOp {
        let trade = self.trade(serial);
        let start = trade.billed_until_ms.unwrap();
        let end = start + minutes * MINUTE;
        let cost = suanli_trade::pricing::settlement_cost(
            trade.billed_minutes,
            trade.charged_fen,
            minutes,
            trade.rate_fen_per_minute,
            trade.min_cost_fen,
        )
        .unwrap();
        self.checkin_op_with(supplier, &trade, start, end, cost)
    }

    pub fn checkin_op_with(
        &self,
        supplier: &Party,
        trade: &Trade,
        start: u64,
        end: u64,
        cost: i64,
    ) -> TradeOp {
        let draft = credentials::draft(
            trade,
            credentials::checkin_credential_id(&trade.serial, trade.checkins + 1),
            trade.checkin_cpt,
            credentials::checkin_claims(trade, start, end, cost),
            start,
        )
        .unwrap();
        let credential = credentials::issue(&draft, &supplier.key, "key-1", end).unwrap();
        TradeOp::Checkin {
            serial: trade.serial,
            start_ms: start,
            end_ms: end,
            cost_fen: cost,
            credential,
        }
    }

    pub fn rate_op(&self, consumer: &Party, serial: &Serial, score: u8) -> TradeOp {
        let trade = self.trade(serial);
        let scores = Scores::new(Resource::ALL.iter().map(|r| (*r, score)).collect()).unwrap();
        let overall = scores.overall_milli(&trade.weights).unwrap();
        let time_ms = self.now_ms;
        let digest = op::rating_digest(serial, time_ms, &trade.supplier, overall, &scores);
        TradeOp::Rate {
            serial: *serial,
            time_ms,
            scores,
            signature: op::sign_digest(&consumer.key, &digest),
        }
    }

    pub fn close_op(serial: &Serial, reason: CloseReason) -> TradeOp {
        TradeOp::Close {
            serial: *serial,
            reason,
        }
    }
}
