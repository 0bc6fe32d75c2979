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
use suanli_ledger::credit::{CreditOp, PositiveFen, SUPPLY_KEY, decode_fen};
use suanli_ledger::{ChainEngine, Extensions, Genesis, Outcome, Payload, Transaction};
use suanli_primitives::{ChainId, ChainKind, Fen, NetworkName, SecretKey, sha256};
use suanli_trade::credentials;
use suanli_trade::model::{ModeTerms, OfferTerms, Requirements, Resource, Scores, Weights};
use suanli_trade::op::{self, TradeOp};
use suanli_trade::records::Trade;
use suanli_trade::{CloseReason, PartyDid, Role, Serial, TradeContract, view};
use suanli_vc::credential::CredentialDraft;
use suanli_vc::verify::{VerificationReport, Verifier};

pub const T0: u64 = 1_700_000_000_000;

/// `raw` fen (tests name amounts as integers).
pub fn fen(raw: i64) -> Fen {
    Fen::new(raw).unwrap()
}

/// `raw` fen, strictly positive.
pub fn pos(raw: i64) -> PositiveFen {
    PositiveFen::new(raw).unwrap()
}
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
                .with(Arc::new(TradeContract))
                .with(Arc::new(suanli_trade::ChannelContract)),
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
            amount: PositiveFen::new(fen).unwrap(),
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
            key_fragment: "key-1".into(),
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
            price_fen_per_minute: fen(10),
            min_cost_fen: fen(500),
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
            pos(value_fen),
        );
        TradeOp::Order {
            serial,
            offer_id,
            time_ms,
            requirements,
            value_fen: pos(value_fen),
            signature: op::sign_digest(&consumer.key, &digest),
            wallet: None,
            channel: None,
        }
    }

    pub fn accept_op(&self, supplier: &Party, serial: &Serial) -> TradeOp {
        self.accept_op_by(&supplier.key, "key-1", serial)
    }

    /// The supplier's acceptance signed by `key` (the supplier's or an agent's), its
    /// credential naming `fragment` as the verification method.
    pub fn accept_op_by(&self, key: &SecretKey, fragment: &str, serial: &Serial) -> TradeOp {
        let trade = self.trade(serial);
        let draft = credentials::draft(
            &trade,
            credentials::start_credential_id(serial),
            trade.trade_start_cpt,
            credentials::start_claims(&trade),
            self.now_ms,
        )
        .unwrap();
        let credential = credentials::issue(&draft, key, fragment, self.now_ms).unwrap();
        TradeOp::Accept {
            serial: *serial,
            signature: key.sign(&op::contract_message(&trade.order_signature)),
            credential,
        }
    }

    /// The check-in of the next period of `minutes` minutes at the correct cost.
    pub fn checkin_op(&self, supplier: &Party, serial: &Serial, minutes: u64) -> TradeOp {
        self.checkin_op_by(&supplier.key, "key-1", serial, minutes)
    }

    /// [`Net::checkin_op`] issued by `key` under `fragment` (the supplier's or an agent's).
    pub fn checkin_op_by(
        &self,
        key: &SecretKey,
        fragment: &str,
        serial: &Serial,
        minutes: u64,
    ) -> TradeOp {
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
        self.checkin_op_keyed(key, fragment, &trade, start, end, cost.get())
    }

    pub fn checkin_op_with(
        &self,
        supplier: &Party,
        trade: &Trade,
        start: u64,
        end: u64,
        cost: i64,
    ) -> TradeOp {
        self.checkin_op_keyed(&supplier.key, "key-1", trade, start, end, cost)
    }

    fn checkin_op_keyed(
        &self,
        key: &SecretKey,
        fragment: &str,
        trade: &Trade,
        start: u64,
        end: u64,
        cost: i64,
    ) -> TradeOp {
        let draft = credentials::draft(
            trade,
            credentials::checkin_credential_id(&trade.serial, trade.checkins + 1),
            trade.checkin_cpt,
            credentials::checkin_claims(trade, start, end, fen(cost)),
            start,
        )
        .unwrap();
        let credential = credentials::issue(&draft, key, fragment, end).unwrap();
        TradeOp::Checkin {
            serial: trade.serial,
            start_ms: start,
            end_ms: end,
            cost_fen: fen(cost),
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

// ---- helpers for the rule and concurrency tests ----------------------------------------

/// A copy of everything the trade contract and the credits keep (not the nonces): a refused
/// operation must leave it exactly as it was.
pub type Snapshot = std::collections::BTreeMap<Vec<u8>, Vec<u8>>;

pub const SPEC: &str = "A100-80G x1, 16 vCPU, 128 GiB";

impl Net {
    pub fn snapshot(&self) -> Snapshot {
        let state = self.trade.state();
        state
            .scan_prefix(b"trade/")
            .chain(state.scan_prefix(b"credit/"))
            .map(|(k, v)| (k.to_vec(), v.to_vec()))
            .collect()
    }

    /// Runs `op` signed by `key`, expects it refused with `code`, and checks that the
    /// contract's state and every balance are exactly as before.
    pub fn refused(&mut self, key: &SecretKey, op: &TradeOp, code: &str) {
        let before = self.snapshot();
        assert_eq!(self.trade_op(key, op), Err(code.to_owned()), "{op:?}");
        let after = self.snapshot();
        if after != before {
            let changed: Vec<String> = after
                .iter()
                .filter(|(k, v)| before.get(*k) != Some(*v))
                .chain(before.iter().filter(|(k, v)| after.get(*k) != Some(*v)))
                .map(|(k, v)| {
                    format!(
                        "{} = {}",
                        String::from_utf8_lossy(k),
                        String::from_utf8_lossy(v)
                    )
                })
                .collect();
            panic!("refused {code} changed the state: {changed:#?}");
        }
        let (sum, supply) = self.conservation();
        assert_eq!(sum, supply);
    }

    /// A supplier and a consumer (with 100,000 fen), and an offer of `units` units.
    pub fn pair(&mut self, units: u32) -> (Party, Party, u64) {
        let supplier = self.party("supplier", Role::Supplier);
        let consumer = self.party("consumer", Role::Consumer);
        self.mint(&consumer, 100_000);
        let offer = self.mode_and_offer(&supplier, units);
        (supplier, consumer, offer)
    }

    /// An order of `minutes` minutes escrowing `value_fen`, applied.
    pub fn ordered(
        &mut self,
        consumer: &Party,
        supplier: &Party,
        n: u64,
        offer: u64,
        minutes: u64,
        value_fen: i64,
    ) -> Serial {
        let serial = Self::serial(n);
        let order = self.order_op(consumer, &supplier.did, serial, offer, minutes, value_fen);
        self.trade_op(&consumer.key, &order).unwrap();
        serial
    }

    /// An order as [`Net::ordered`], then its contract.
    pub fn contracted(
        &mut self,
        consumer: &Party,
        supplier: &Party,
        n: u64,
        offer: u64,
        minutes: u64,
        value_fen: i64,
    ) -> Serial {
        let serial = self.ordered(consumer, supplier, n, offer, minutes, value_fen);
        let accept = self.accept_op(supplier, &serial);
        self.trade_op(&supplier.key, &accept).unwrap();
        serial
    }

    /// An order with these requirements, signed by `signer` (normally the consumer).
    #[allow(clippy::too_many_arguments)]
    pub fn order_req_op(
        &self,
        signer: &SecretKey,
        supplier: &PartyDid,
        serial: Serial,
        offer_id: u64,
        requirements: Requirements,
        value_fen: i64,
        time_ms: u64,
    ) -> TradeOp {
        let digest = op::order_digest(
            &serial,
            time_ms,
            supplier,
            offer_id,
            &requirements,
            pos(value_fen),
        );
        TradeOp::Order {
            serial,
            offer_id,
            time_ms,
            requirements,
            value_fen: pos(value_fen),
            signature: op::sign_digest(signer, &digest),
            wallet: None,
            channel: None,
        }
    }

    /// The rating of a closed trade with these scores, signed by `signer` at the next block's time.
    pub fn rate_scores_op(
        &self,
        signer: &SecretKey,
        serial: &Serial,
        scores: Scores,
        overall_milli: u32,
    ) -> TradeOp {
        let trade = self.trade(serial);
        let time_ms = self.now_ms;
        let digest = op::rating_digest(serial, time_ms, &trade.supplier, overall_milli, &scores);
        TradeOp::Rate {
            serial: *serial,
            time_ms,
            scores,
            signature: op::sign_digest(signer, &digest),
        }
    }

    /// A trade-start credential for `serial` built from `draft` edits, signed by `key`.
    pub fn start_credential(
        &self,
        serial: &Serial,
        key: &SecretKey,
        edit: impl FnOnce(&mut CredentialDraft),
    ) -> Value {
        let trade = self.trade(serial);
        let mut draft = credentials::draft(
            &trade,
            credentials::start_credential_id(serial),
            trade.trade_start_cpt,
            credentials::start_claims(&trade),
            self.now_ms,
        )
        .unwrap();
        edit(&mut draft);
        credentials::issue(&draft, key, "key-1", self.now_ms).unwrap()
    }

    /// A raw trade call whose JSON body is `body` (to reach the admission checks).
    pub fn raw_call(&mut self, key: &SecretKey, body: &Value) -> Result<(), String> {
        let call = suanli_ledger::ContractCall::new(
            suanli_ledger::ContractId::Trade,
            serde_json::to_vec(body).unwrap(),
        )
        .unwrap();
        self.block(ChainKind::Trade, vec![(key, Payload::Call(call))])
            .remove(0)
    }

    /// An unenrolled key with 100,000 fen.
    pub fn outsider(&mut self, label: &str) -> Party {
        let key = SecretKey::from_label(label);
        let did = SuanliDid::for_initial_key(self.network.clone(), &key.public());
        let party = Party {
            did: PartyDid::parse(&did.to_string()).unwrap(),
            key,
        };
        self.mint(&party, 100_000);
        party
    }
}

impl Net {
    /// The terms [`Net::mode_and_offer`] publishes.
    pub fn mode_terms() -> ModeTerms {
        ModeTerms {
            trade_start_cpt: 1,
            checkin_cpt: 2,
            price_fen_per_minute: fen(10),
            min_cost_fen: fen(500),
            checkin_period_minutes: 60,
            weights: Self::weights(),
            encryption: suanli_trade::model::Encryption::Plaintext,
            trade_type: "payg-minute".into(),
        }
    }

    /// Publishes a mode with `terms`; returns its id.
    pub fn publish_mode(&mut self, supplier: &Party, terms: ModeTerms) -> u64 {
        self.trade_op(&supplier.key, &TradeOp::PublishMode { terms })
            .unwrap();
        self.next_id(suanli_trade::records::MODE_NEXT_KEY) - 1
    }

    /// Publishes an offer of `units` units under `mode_id`, valid from `from_ms` for a
    /// day; returns its id.
    pub fn publish_offer(
        &mut self,
        supplier: &Party,
        mode_id: u64,
        units: u32,
        from_ms: u64,
    ) -> u64 {
        let terms = OfferTerms {
            mode_id,
            spec: SPEC.into(),
            quantity: units,
            valid_from_ms: from_ms,
            valid_until_ms: from_ms + 24 * 3_600_000,
        };
        self.trade_op(&supplier.key, &TradeOp::PublishOffer { terms })
            .unwrap();
        self.next_id(suanli_trade::records::OFFER_NEXT_KEY) - 1
    }
}

// ---- service channels ---------------------------------------------------------------

impl Net {
    /// One channel-contract transaction in its own block.
    pub fn channel_op(
        &mut self,
        key: &SecretKey,
        op: &suanli_trade::channel::ChannelOp,
    ) -> Result<(), String> {
        let call = op.to_call().map_err(|e| format!("rejected: {e}"))?;
        self.block(ChainKind::Trade, vec![(key, Payload::Call(call))])
            .remove(0)
    }

    /// Runs the channel `op` signed by `key`, expects it refused with `code`, and checks
    /// that the contract's state and every balance are exactly as before.
    pub fn channel_refused(
        &mut self,
        key: &SecretKey,
        op: &suanli_trade::channel::ChannelOp,
        code: &str,
    ) {
        let before = self.snapshot();
        assert_eq!(self.channel_op(key, op), Err(code.to_owned()), "{op:?}");
        self.assert_unchanged(&before, code);
    }

    /// The contract's state and every balance equal `before`, and credits are conserved.
    pub fn assert_unchanged(&self, before: &Snapshot, what: &str) {
        let after = self.snapshot();
        if after != *before {
            let changed: Vec<String> = after
                .iter()
                .filter(|(k, v)| before.get(*k) != Some(*v))
                .chain(before.iter().filter(|(k, v)| after.get(*k) != Some(*v)))
                .map(|(k, v)| {
                    format!(
                        "{} = {}",
                        String::from_utf8_lossy(k),
                        String::from_utf8_lossy(v)
                    )
                })
                .collect();
            panic!("refused {what} changed the state: {changed:#?}");
        }
        let (sum, supply) = self.conservation();
        assert_eq!(sum, supply);
    }

    /// The channel of a trade.
    pub fn channel(&self, serial: &Serial) -> suanli_trade::records::Channel {
        let bytes = self
            .trade
            .state()
            .get(&suanli_trade::records::channel_key(serial))
            .expect("the trade has a channel");
        serde_json::from_slice(bytes).unwrap()
    }

    /// What a party's bond account of the channel holds.
    pub fn bond(&self, serial: &Serial, role: Role) -> i64 {
        let account = suanli_trade::records::bond_account(serial, role);
        self.trade
            .state()
            .get(&suanli_ledger::credit::account_balance_key(&account))
            .and_then(decode_fen)
            .map_or(0, |f| f.get())
    }

    /// What a trade's escrow holds.
    pub fn escrow(&self, serial: &Serial) -> i64 {
        view::escrow_fen(self.trade.state(), serial).get()
    }

    /// The records of a trade, in order.
    pub fn records(&self, serial: &Serial) -> Vec<suanli_trade::records::Record> {
        view::records(self.trade.state(), serial, 0, usize::MAX)
    }

    /// A state of the channel of `serial` at `minutes`, priced by its terms.
    pub fn statement(
        &self,
        serial: &Serial,
        seq: u64,
        minutes: u64,
    ) -> suanli_trade::channel::Statement {
        let terms = self.channel(serial).terms;
        suanli_trade::channel::Statement {
            serial: *serial,
            seq,
            minutes,
            cost_fen: terms.cost_of(minutes).unwrap(),
            usage_sha256: *sha256(format!("usage {seq} {minutes}").as_bytes()).as_bytes(),
            close: None,
        }
    }
}

/// `statement` signed by both parties (by their keys: `supplier` then `consumer`).
pub fn signed_state(
    supplier: &SecretKey,
    consumer: &SecretKey,
    statement: suanli_trade::channel::Statement,
) -> suanli_trade::channel::SignedState {
    suanli_trade::channel::SignedState {
        statement,
        supplier_signature: statement.sign(supplier),
        consumer_signature: statement.sign(consumer),
    }
}
