//! The supplier side of the trade chain, typed, over any [`LedgerClient`] (the embedded
//! node or a node's HTTP API): what the platform's bridge (`SupplyLedger`, `TradeBook`,
//! `AgentKeys` ports) and the `suanli agent` binary call.
//!
//! Writes sign with the key they are given — the supplier's own DID key (sealed on the
//! platform, unsealed for one request) for modes, offers, CPTs and delegations; the
//! supplier's key or one of its agent keys for acceptances, check-ins and closes — and
//! return only once the transaction is committed and applied (a committed refusal is
//! [`LedgerError::Failed`](crate::LedgerError::Failed) with the rule's code, e.g.
//! `agent_key_revoked`). Reads go through [`LedgerClient::state_get`] and the trade
//! crate's [`view`] functions, so over HTTP they need a node that serves raw state to the
//! caller (loopback, or a member token: `docs/node-api.md`).
//!
//! Rules: `docs/trade.md` (§1.1 agent keys, §2 operations, §2.1 registered CPTs).

use std::cell::RefCell;
use std::time::Duration;

use serde_json::Value;
use suanli_identity::document::Relationships;
use suanli_identity::op::IdentityOp;
use suanli_identity::{DidId, Fragment, StateRead, SuanliDid};
use suanli_ledger::Payload;
use suanli_primitives::{ChainKind, Fen, PublicKey, SecretKey, Signature};
use suanli_trade::cpts::{AdoptedCpt, CptPurpose};
use suanli_trade::model::{MINUTE_MS, ModeTerms, OfferTerms};
use suanli_trade::records::{AgentKey, Mode, Offer, Record, Status, Trade};
use suanli_trade::view::{self, Reputation};
use suanli_trade::{CloseReason, PartyDid, Serial, TradeOp, credentials, op, pricing};

use crate::error::{ClientError, Context, ensure};
use crate::{COMMIT_WAIT_MS, LedgerClient, LedgerError};

/// Most trades one [`supplier_trades`] page returns.
pub const TRADES_PAGE_MAX: usize = 50;

/// The committed state of one chain, read through a [`LedgerClient`] key by key. The first
/// read error is kept (a failed read reads as absent) and reported by [`ChainState::done`].
#[derive(Debug)]
pub struct ChainState<'a> {
    client: &'a dyn LedgerClient,
    kind: ChainKind,
    error: RefCell<Option<LedgerError>>,
}

impl<'a> ChainState<'a> {
    pub fn new(client: &'a dyn LedgerClient, kind: ChainKind) -> Self {
        ChainState {
            client,
            kind,
            error: RefCell::new(None),
        }
    }

    /// `value`, or the first read error met while computing it.
    pub fn done<T>(&self, value: T) -> Result<T, ClientError> {
        match self.error.borrow_mut().take() {
            Some(e) => Err(ClientError::Ledger(e)),
            None => Ok(value),
        }
    }
}

impl StateRead for ChainState<'_> {
    fn read(&self, key: &[u8]) -> Option<Vec<u8>> {
        match self.client.state_get(self.kind, key) {
            Ok(value) => value,
            Err(e) => {
                self.error.borrow_mut().get_or_insert(e);
                None
            }
        }
    }
}

/// Something published on the trade chain: its id and the transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub id: u64,
    pub tx: String,
}

/// The two transactions of an agent-key delegation or revocation: the identity chain's
/// (`add_key` / `remove_key` on the supplier's DID) and the trade chain's
/// (`authorise_agent` / `revoke_agent`); `None` where there was nothing to do (the method
/// was already there or gone; the key was authorised or revoked already), so repeating a
/// call after a partial failure completes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delegation {
    pub identity_tx: Option<String>,
    pub trade_tx: Option<String>,
}

/// One of a supplier's trades with its records (order, contract, check-ins with their
/// amounts and periods, top-ups, close, rating, channel records), in order.
#[derive(Debug, Clone, PartialEq)]
pub struct TradeRecords {
    pub trade: Trade,
    /// What the escrow holds now.
    pub escrow_fen: Fen,
    pub records: Vec<Record>,
}

impl TradeRecords {
    /// An order waiting for the supplier's acceptance.
    pub fn awaiting_acceptance(&self) -> bool {
        self.trade.status == Status::Ordered
    }
}

/// A page of a supplier's trades, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct TradesPage {
    /// Trades the supplier has in all.
    pub total: u64,
    pub trades: Vec<TradeRecords>,
}

/// A check-in made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedIn {
    pub start_ms: u64,
    pub end_ms: u64,
    pub minutes: u64,
    pub cost_fen: Fen,
    pub tx: String,
}

fn commit(
    client: &dyn LedgerClient,
    kind: ChainKind,
    key: &SecretKey,
    payload: Payload,
    what: &str,
) -> Result<String, ClientError> {
    let wait = Duration::from_millis(COMMIT_WAIT_MS);
    let done = client.transact(kind, key, payload, wait).context(what)?;
    Ok(done.id.to_string())
}

fn trade_tx(
    client: &dyn LedgerClient,
    key: &SecretKey,
    op: &TradeOp,
) -> Result<String, ClientError> {
    let call = op.to_call().map_err(ClientError::invalid)?;
    commit(
        client,
        ChainKind::Trade,
        key,
        Payload::Call(call),
        "trade chain",
    )
}

fn identity_tx(
    client: &dyn LedgerClient,
    key: &SecretKey,
    op: IdentityOp,
) -> Result<String, ClientError> {
    let what = format!("identity {}", op.name());
    let call = op.to_call().map_err(ClientError::invalid)?;
    commit(client, ChainKind::Identity, key, Payload::Call(call), &what)
}

/// The DID `key` is enrolled for on the trade chain (its own key, not an agent's).
pub fn enrolled_did(client: &dyn LedgerClient, key: &PublicKey) -> Result<PartyDid, ClientError> {
    let state = ChainState::new(client, ChainKind::Trade);
    let did = state.done(view::did_of_key(&state, key))?;
    did.ok_or_else(|| {
        ClientError::invalid(format!(
            "key {key} is not enrolled on the trade chain (the operator enrols the supplier at approval)"
        ))
    })
}

/// Publishes a trade mode signed by the supplier's key; returns its id.
pub fn publish_mode(
    client: &dyn LedgerClient,
    supplier_key: &SecretKey,
    terms: ModeTerms,
) -> Result<Published, ClientError> {
    terms.check().map_err(ClientError::invalid)?;
    let me = enrolled_did(client, &supplier_key.public())?;
    let state = ChainState::new(client, ChainKind::Trade);
    let before = state.done(view::supplier_stats(&state, &me).modes)?;
    let tx = trade_tx(client, supplier_key, &TradeOp::PublishMode { terms })?;
    let found = state.done(view::supplier_modes(&state, &me, before, view::PAGE_MAX))?;
    let id = found
        .iter()
        .find(|m| m.tx_id.is_some_and(|id| id.to_string() == tx))
        .map(|m| m.id)
        .ok_or_else(|| ClientError::invalid("the mode was committed but is not listed"))?;
    Ok(Published { id, tx })
}

/// Publishes an offer under one of the supplier's modes, signed by its key; returns its id.
pub fn publish_offer(
    client: &dyn LedgerClient,
    supplier_key: &SecretKey,
    terms: OfferTerms,
) -> Result<Published, ClientError> {
    terms.check().map_err(ClientError::invalid)?;
    let me = enrolled_did(client, &supplier_key.public())?;
    let state = ChainState::new(client, ChainKind::Trade);
    let before = state.done(view::supplier_stats(&state, &me).offers)?;
    let tx = trade_tx(client, supplier_key, &TradeOp::PublishOffer { terms })?;
    let found = state.done(view::supplier_offers(&state, &me, before, view::PAGE_MAX))?;
    let id = found
        .iter()
        .find(|o| o.tx_id.is_some_and(|id| id.to_string() == tx))
        .map(|o| o.id)
        .ok_or_else(|| ClientError::invalid("the offer was committed but is not listed"))?;
    Ok(Published { id, tx })
}

/// Withdraws one of the supplier's offers (running trades go on); returns the transaction.
pub fn withdraw_offer(
    client: &dyn LedgerClient,
    supplier_key: &SecretKey,
    offer_id: u64,
) -> Result<String, ClientError> {
    trade_tx(client, supplier_key, &TradeOp::WithdrawOffer { offer_id })
}

/// A supplier's CPT: registered on the identity chain and adopted on the trade chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredCpt {
    /// The registry's id (version 1 is the one adopted).
    pub cpt: u32,
    pub identity_tx: String,
    pub trade_tx: String,
}

/// Registers `schema` as a new CPT of the supplier's DID on the identity chain (signed by
/// its DID key), then adopts version 1 on the trade chain for `purpose` (`adopt_cpt`,
/// signed by the same key; the node checks it against the registry at admission), so the
/// supplier's modes may name it as their `trade_start_cpt` or `checkin_cpt`. The schema
/// must be compatible with the built-in it replaces (`docs/trade.md` §2.1): refused with
/// `cpt_incompatible` before anything is written otherwise.
pub fn register_supplier_cpt(
    client: &dyn LedgerClient,
    supplier_key: &SecretKey,
    purpose: CptPurpose,
    schema: &Value,
) -> Result<RegisteredCpt, ClientError> {
    suanli_trade::cpts::check_compatible(schema, purpose)?;
    let (_, id) = supplier_did(client, supplier_key)?;
    let identity = ChainState::new(client, ChainKind::Identity);
    let before = identity.done(suanli_identity::contract::next_cpt_id(&identity))??;
    let identity_tx = identity_tx(
        client,
        supplier_key,
        IdentityOp::RegisterCpt {
            publisher: id.clone(),
            cpt: None,
            qualification: false,
            schema_json: schema.to_string(),
        },
    )?;
    let next = identity.done(suanli_identity::contract::next_cpt_id(&identity))??;
    let mine = |cpt: u32| -> Result<bool, ClientError> {
        let meta = identity.done(suanli_identity::contract::cpt_meta(&identity, cpt))??;
        let version =
            identity.done(suanli_identity::contract::cpt_version(&identity, cpt, 1))??;
        Ok(match (meta, version) {
            (Some(m), Some(v)) => {
                m.publisher == id
                    && serde_json::from_str::<Value>(&v.schema_json).ok().as_ref() == Some(schema)
            }
            _ => false,
        })
    };
    let mut found = None;
    for cpt in (before..next).rev() {
        if mine(cpt)? {
            found = Some(cpt);
            break;
        }
    }
    let cpt =
        found.ok_or_else(|| ClientError::invalid("the CPT was committed but is not listed"))?;
    let trade_tx = trade_tx(
        client,
        supplier_key,
        &TradeOp::AdoptCpt {
            cpt,
            purpose,
            schema: schema.clone(),
        },
    )?;
    Ok(RegisteredCpt {
        cpt,
        identity_tx,
        trade_tx,
    })
}

/// A CPT adopted on the trade chain (who adopted it, for which purpose, its schema).
pub fn adopted_cpt(client: &dyn LedgerClient, cpt: u32) -> Result<Option<AdoptedCpt>, ClientError> {
    let state = ChainState::new(client, ChainKind::Trade);
    let found = suanli_trade::cpts::adopted(&state, cpt);
    state.done(found)
}

/// The supplier's DID on the identity chain (the DID its trade-chain key is enrolled for).
fn supplier_did(
    client: &dyn LedgerClient,
    key: &SecretKey,
) -> Result<(PartyDid, DidId), ClientError> {
    let did = enrolled_did(client, &key.public())?;
    let parsed = SuanliDid::parse(did.as_str()).map_err(ClientError::invalid)?;
    Ok((did, parsed.id().clone()))
}

/// Delegates `agent` to the supplier's agent. `proof` is the agent key's proof of
/// possession ([`op::agent_proof`], made where the agent key is kept, over the supplier's
/// DID and `fragment`). First checks on the trade chain's state that `authorise_agent`
/// can succeed (the proof verifies; the key is not enrolled, not an agent key already,
/// the fragment is free, the supplier has room); then adds the key to the supplier's DID
/// document as `#fragment` (assertionMethod only, signed by the supplier's DID key;
/// skipped when the document already has exactly that method), then `authorise_agent` on
/// the trade chain (signed by the supplier's enrolled key, the same key). When the trade
/// chain refuses it after all, the key this call added is removed from the DID document
/// again (`remove_key`) and the refusal returned.
pub fn authorise_agent_key(
    client: &dyn LedgerClient,
    supplier_key: &SecretKey,
    agent: &PublicKey,
    proof: &Signature,
    fragment: &Fragment,
) -> Result<Delegation, ClientError> {
    let (did, id) = supplier_did(client, supplier_key)?;
    // Already authorised for this supplier under this fragment: only the DID document
    // may be missing the method (a repeated call after a partial failure).
    let state = ChainState::new(client, ChainKind::Trade);
    let existing = state.done(view::agent(&state, agent))?;
    let already = existing.is_some_and(|a| {
        a.supplier == did && a.key_fragment == fragment.as_str() && !a.is_revoked()
    });
    if !already {
        precheck_authorise(client, &did, agent, proof, fragment)?;
    }
    let identity = ChainState::new(client, ChainKind::Identity);
    let head = suanli_identity::contract::head(&identity, &id);
    let head = identity.done(head)?.map_err(ClientError::from)?;
    let added = match head.state.method(fragment) {
        Some(m) if m.key == *agent => None,
        Some(_) => {
            return Err(ClientError::invalid(format!(
                "{did} already has a key #{fragment}; choose another fragment"
            )));
        }
        None => Some(identity_tx(
            client,
            supplier_key,
            IdentityOp::AddKey {
                did: id.clone(),
                fragment: fragment.clone(),
                key: *agent,
                relationships: Relationships::ASSERTION_METHOD,
            },
        )?),
    };
    if already {
        return Ok(Delegation {
            identity_tx: added,
            trade_tx: None,
        });
    }
    let authorise = TradeOp::AuthoriseAgent {
        key: *agent,
        key_fragment: fragment.as_str().to_owned(),
        proof: *proof,
    };
    match trade_tx(client, supplier_key, &authorise) {
        Ok(trade_tx) => Ok(Delegation {
            identity_tx: added,
            trade_tx: Some(trade_tx),
        }),
        Err(refused) => {
            // Roll back only a refusal: a transaction that may still commit keeps the key.
            let may_commit = matches!(refused.code(), "tx_not_committed" | "ledger_unreachable");
            if added.is_some() && !may_commit {
                let remove = IdentityOp::RemoveKey {
                    did: id,
                    fragment: fragment.clone(),
                };
                identity_tx(client, supplier_key, remove).context(format!(
                    "removing #{fragment} again after the trade chain refused it ({refused})"
                ))?;
            }
            Err(refused)
        }
    }
}

/// What `authorise_agent` would refuse, read from the trade chain's state first.
fn precheck_authorise(
    client: &dyn LedgerClient,
    did: &PartyDid,
    agent: &PublicKey,
    proof: &Signature,
    fragment: &Fragment,
) -> Result<(), ClientError> {
    let digest = op::agent_proof_digest(did, agent, fragment.as_str());
    if !op::verify_digest(agent, &digest, proof) {
        return Err(ClientError::invalid(format!(
            "the proof does not verify with {agent}: the agent signs op::agent_proof for {did} and #{fragment}"
        )));
    }
    let state = ChainState::new(client, ChainKind::Trade);
    let existing = view::agent(&state, agent);
    let enrolled = view::did_of_key(&state, agent);
    let agents = view::agents(&state, did);
    state.done(())?;
    if let Some(a) = existing {
        return Err(ClientError::invalid(if a.is_revoked() {
            format!("agent_key_revoked: {agent} was revoked and cannot be authorised again")
        } else {
            format!(
                "key_in_use: {agent} is already an agent key of {}",
                a.supplier
            )
        }));
    }
    if enrolled.is_some() {
        return Err(ClientError::invalid(format!(
            "key_in_use: {agent} is enrolled for a party"
        )));
    }
    let active: Vec<&AgentKey> = agents.iter().filter(|a| !a.is_revoked()).collect();
    if active.iter().any(|a| a.key_fragment == fragment.as_str()) {
        return Err(ClientError::invalid(format!(
            "fragment_in_use: #{fragment} already names an agent key of {did}"
        )));
    }
    let full = active.len() as u64 >= suanli_trade::agents::AGENTS_PER_SUPPLIER_MAX
        || agents.len() as u64 >= suanli_trade::agents::AGENTS_RECORDED_PER_SUPPLIER_MAX;
    if full {
        return Err(ClientError::invalid(format!(
            "limit_reached: {did} has no room for another agent key"
        )));
    }
    Ok(())
}

/// Revokes an agent key: `revoke_agent` on the trade chain first (it is refused there from
/// the next transaction on; skipped when the key is revoked already, so a retry after a
/// failed second step carries on), then removes its method from the supplier's DID
/// document (skipped when it is no longer there), both signed by the supplier's key.
pub fn revoke_agent_key(
    client: &dyn LedgerClient,
    supplier_key: &SecretKey,
    agent: &PublicKey,
) -> Result<Delegation, ClientError> {
    let (did, id) = supplier_did(client, supplier_key)?;
    let trade = ChainState::new(client, ChainKind::Trade);
    let record = trade.done(view::agent(&trade, agent))?;
    let record =
        record.ok_or_else(|| ClientError::invalid(format!("{agent} is not an agent key")))?;
    if record.supplier != did {
        return Err(ClientError::invalid(format!(
            "not_agent_owner: {agent} is an agent key of {}",
            record.supplier
        )));
    }
    let trade_tx = if record.is_revoked() {
        None
    } else {
        Some(trade_tx(
            client,
            supplier_key,
            &TradeOp::RevokeAgent { key: *agent },
        )?)
    };
    let fragment = Fragment::new(&record.key_fragment).map_err(ClientError::invalid)?;
    let identity = ChainState::new(client, ChainKind::Identity);
    let head = suanli_identity::contract::head(&identity, &id);
    let head = identity.done(head)?.map_err(ClientError::from)?;
    let identity_tx = match head.state.method(&fragment) {
        Some(m) if m.key == *agent => Some(identity_tx(
            client,
            supplier_key,
            IdentityOp::RemoveKey { did: id, fragment },
        )?),
        _ => None,
    };
    Ok(Delegation {
        identity_tx,
        trade_tx,
    })
}

/// A supplier's modes, in publication order (at most 100 exist per supplier).
pub fn supplier_modes(
    client: &dyn LedgerClient,
    supplier: &PartyDid,
) -> Result<Vec<Mode>, ClientError> {
    let state = ChainState::new(client, ChainKind::Trade);
    let modes = view::supplier_modes(&state, supplier, 0, view::PAGE_MAX);
    state.done(modes)
}

/// A supplier's offers from its `skip`-th on (publication order, withdrawn ones included),
/// at most [`view::PAGE_MAX`].
pub fn supplier_offers(
    client: &dyn LedgerClient,
    supplier: &PartyDid,
    skip: u64,
) -> Result<Vec<Offer>, ClientError> {
    let state = ChainState::new(client, ChainKind::Trade);
    let offers = view::supplier_offers(&state, supplier, skip, view::PAGE_MAX);
    state.done(offers)
}

/// The agent keys a supplier authorised, revoked ones included.
pub fn supplier_agents(
    client: &dyn LedgerClient,
    supplier: &PartyDid,
) -> Result<Vec<AgentKey>, ClientError> {
    let state = ChainState::new(client, ChainKind::Trade);
    let agents = view::agents(&state, supplier);
    state.done(agents)
}

/// A supplier's trades, newest first, from its `skip`-th newest, at most `limit`
/// (≤ [`TRADES_PAGE_MAX`]), each with its escrow and its first [`view::PAGE_MAX`] records.
pub fn supplier_trades(
    client: &dyn LedgerClient,
    supplier: &PartyDid,
    skip: u64,
    limit: usize,
) -> Result<TradesPage, ClientError> {
    let state = ChainState::new(client, ChainKind::Trade);
    let (total, serials) = view::history(&state, supplier, skip, limit.min(TRADES_PAGE_MAX));
    let trades = serials
        .iter()
        .filter_map(|serial| {
            let trade = view::trade(&state, serial)?;
            Some(TradeRecords {
                escrow_fen: view::escrow_fen(&state, serial),
                records: view::records(&state, serial, 0, view::PAGE_MAX),
                trade,
            })
        })
        .collect();
    state.done(TradesPage { total, trades })
}

/// One trade with its records (every record from `from` on, at most [`view::PAGE_MAX`]).
pub fn trade_records(
    client: &dyn LedgerClient,
    serial: &Serial,
    from: u32,
) -> Result<Option<TradeRecords>, ClientError> {
    let state = ChainState::new(client, ChainKind::Trade);
    let found = view::trade(&state, serial).map(|trade| TradeRecords {
        escrow_fen: view::escrow_fen(&state, serial),
        records: view::records(&state, serial, from, view::PAGE_MAX),
        trade,
    });
    state.done(found)
}

/// A supplier's reputation as of `now_ms`: counts, completion rates, the overall score and
/// the score per resource dimension (`per_resource`), recency- and payment-weighted.
pub fn supplier_reputation(
    client: &dyn LedgerClient,
    supplier: &PartyDid,
    now_ms: u64,
) -> Result<Reputation, ClientError> {
    let state = ChainState::new(client, ChainKind::Trade);
    let reputation = view::reputation(&state, supplier, now_ms);
    state.done(reputation)
}

fn trade_of(client: &dyn LedgerClient, serial: &Serial) -> Result<Trade, ClientError> {
    let state = ChainState::new(client, ChainKind::Trade);
    let trade = view::trade(&state, serial);
    state
        .done(trade)?
        .ok_or_else(|| ClientError::invalid(format!("no trade {serial}")))
}

/// Accepts an order: countersigns the consumer's order signature and issues the
/// trade-start credential, both with `key` — the supplier's own key (`fragment` its
/// enrolled method, `key-1` normally) or one of its agent keys (`fragment` the agent's,
/// e.g. `agent-1`). `now_ms` is the credential's time (the caller's clock; it must lie
/// within 10 minutes of the block's). Returns the transaction.
pub fn accept_order(
    client: &dyn LedgerClient,
    key: &SecretKey,
    fragment: &str,
    serial: &Serial,
    now_ms: u64,
) -> Result<String, ClientError> {
    let trade = trade_of(client, serial)?;
    ensure!(
        trade.status == Status::Ordered,
        "trade {serial} is not an order waiting for acceptance"
    );
    let draft = credentials::draft(
        &trade,
        credentials::start_credential_id(serial),
        trade.trade_start_cpt,
        credentials::start_claims(&trade),
        now_ms,
    )?;
    let accept = TradeOp::Accept {
        serial: *serial,
        signature: key.sign(&op::contract_message(&trade.order_signature)),
        credential: credentials::issue(&draft, key, fragment, now_ms)?,
    };
    trade_tx(client, key, &accept)
}

/// Checks in the next period of a contracted trade, signed and its credential issued by
/// `key` under `fragment` (the supplier's or an agent's, as [`accept_order`]): as many
/// whole minutes as have passed by `now_ms` since the last check-in, up to one period
/// and the contract's end, at the cost the pricing rule gives.
pub fn checkin_trade(
    client: &dyn LedgerClient,
    key: &SecretKey,
    fragment: &str,
    serial: &Serial,
    now_ms: u64,
) -> Result<CheckedIn, ClientError> {
    let trade = trade_of(client, serial)?;
    let (Some(start), Some(end_max)) = (trade.billed_until_ms, trade.contract_end_ms) else {
        return Err(ClientError::invalid(format!(
            "trade {serial} has no contract yet"
        )));
    };
    let limit = end_max
        .min(now_ms)
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
        credentials::checkin_credential_id(serial, trade.checkins + 1),
        trade.checkin_cpt,
        credentials::checkin_claims(&trade, start, end, cost),
        start,
    )?;
    let op = TradeOp::Checkin {
        serial: *serial,
        start_ms: start,
        end_ms: end,
        cost_fen: cost,
        credential: credentials::issue(&draft, key, fragment, end)?,
    };
    let tx = trade_tx(client, key, &op)?;
    Ok(CheckedIn {
        start_ms: start,
        end_ms: end,
        minutes,
        cost_fen: cost,
        tx,
    })
}

/// Closes a trade signed by `key` (a party's own key, or one of the supplier's agent
/// keys, closing in the supplier's role). Returns the transaction.
pub fn close_trade(
    client: &dyn LedgerClient,
    key: &SecretKey,
    serial: &Serial,
    reason: CloseReason,
) -> Result<String, ClientError> {
    trade_tx(
        client,
        key,
        &TradeOp::Close {
            serial: *serial,
            reason,
        },
    )
}
