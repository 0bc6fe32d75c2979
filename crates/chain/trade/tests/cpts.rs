//! A supplier's own trade-start and check-in CPTs (`docs/trade.md` §2.1): registered on the
//! identity chain, checked at admission against its registry, adopted on the trade chain,
//! named by the supplier's modes only, and the record credentials under such a mode
//! validated against the schema — each rule with its code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{MINUTE, Net, Party, SPEC, fen};
use serde_json::{Value, json};
use suanli_identity::DidId;
use suanli_identity::op::IdentityOp;
use suanli_ledger::Payload;
use suanli_primitives::{ChainKind, SecretKey};
use suanli_trade::cpts::{self, CptPurpose};
use suanli_trade::model::{ModeTerms, OfferTerms};
use suanli_trade::records::{MODE_NEXT_KEY, OFFER_NEXT_KEY};
use suanli_trade::{Role, TradeOp, view};

fn builtin(n: usize) -> Value {
    suanli_vc::cpt::builtin_templates()[n].1.clone()
}

/// The built-in trade-start (`n` = 0) or check-in (1) schema under the supplier's title,
/// with `edit` applied.
fn schema(n: usize, edit: impl FnOnce(&mut Value)) -> Value {
    let mut s = builtin(n);
    s["title"] = json!("闽算 own template");
    edit(&mut s);
    s
}

/// Registers `schema` on the identity chain for `party`'s DID; returns the CPT id.
fn register(net: &mut Net, party: &Party, schema: &Value) -> u32 {
    let op = IdentityOp::RegisterCpt {
        publisher: DidId::derive(&party.key.public()),
        cpt: None,
        qualification: false,
        schema_json: schema.to_string(),
    };
    net.block(
        ChainKind::Identity,
        vec![(&party.key, Payload::Call(op.to_call().unwrap()))],
    )
    .remove(0)
    .unwrap();
    suanli_identity::contract::next_cpt_id(net.identity.state()).unwrap() - 1
}

fn adopt(cpt: u32, purpose: CptPurpose, schema: &Value) -> TradeOp {
    TradeOp::AdoptCpt {
        cpt,
        purpose,
        schema: schema.clone(),
    }
}

/// The node's admission check of `op` signed by `key`.
fn admit(net: &Net, key: &SecretKey, op: &TradeOp) -> Result<(), &'static str> {
    cpts::admission_check(
        net.trade.state(),
        net.identity.state(),
        &key.public(),
        &op.encode(),
    )
    .map_err(|e| e.code)
}

fn terms(start: u32, checkin: u32) -> ModeTerms {
    ModeTerms {
        trade_start_cpt: start,
        checkin_cpt: checkin,
        ..Net::mode_terms()
    }
}

fn publish(net: &mut Net, s: &Party, mode: ModeTerms) -> u64 {
    net.trade_op(&s.key, &TradeOp::PublishMode { terms: mode })
        .unwrap();
    let mode_id = view::next_id(net.trade.state(), MODE_NEXT_KEY) - 1;
    let offer = OfferTerms {
        mode_id,
        spec: SPEC.into(),
        quantity: 2,
        valid_from_ms: net.now_ms,
        valid_until_ms: net.now_ms + 24 * 3_600_000,
    };
    net.trade_op(&s.key, &TradeOp::PublishOffer { terms: offer })
        .unwrap();
    view::next_id(net.trade.state(), OFFER_NEXT_KEY) - 1
}

#[test]
fn a_registered_cpt_is_admitted_only_for_its_publisher_and_its_exact_schema() {
    let mut net = Net::new();
    let (s, c, _) = net.pair(1);
    let other = net.party("supplier-2", Role::Supplier);
    let start = schema(0, |_| {});
    let id = register(&mut net, &s, &start);
    assert!(id >= suanli_identity::contract::CPT_ID_FIRST);
    assert_eq!(
        admit(&net, &s.key, &adopt(id, CptPurpose::TradeStart, &start)),
        Ok(())
    );
    assert_eq!(
        admit(&net, &other.key, &adopt(id, CptPurpose::TradeStart, &start)),
        Err("not_cpt_owner")
    );
    assert_eq!(
        admit(&net, &s.key, &adopt(id + 1, CptPurpose::TradeStart, &start)),
        Err("cpt_not_found")
    );
    let altered = schema(0, |s| s["description"] = json!("altered"));
    assert_eq!(
        admit(&net, &s.key, &adopt(id, CptPurpose::TradeStart, &altered)),
        Err("cpt_schema_mismatch")
    );
    assert_eq!(
        admit(&net, &c.key, &adopt(id, CptPurpose::TradeStart, &start)),
        Err("not_cpt_owner")
    );
    // Other operations pass untouched.
    assert_eq!(
        admit(&net, &s.key, &TradeOp::WithdrawOffer { offer_id: 1 }),
        Ok(())
    );
    // Built-in ids are never adopted (refused when the call is decoded).
    assert!(
        net.trade_op(&s.key, &adopt(1, CptPurpose::TradeStart, &start))
            .unwrap_err()
            .starts_with("rejected")
    );
}

#[test]
fn adopting_a_cpt_checks_the_supplier_and_the_schema_s_compatibility() {
    let mut net = Net::new();
    let (s, c, _) = net.pair(1);
    let other = net.party("supplier-2", Role::Supplier);
    let start = schema(0, |_| {});
    let id = register(&mut net, &s, &start);
    net.refused(
        &c.key,
        &adopt(id, CptPurpose::TradeStart, &start),
        "role_missing",
    );
    let no_cost = schema(1, |s| {
        s["required"] = json!(["pdid", "cdid", "startTs", "endTs", "tradeType"]);
    });
    net.refused(
        &s.key,
        &adopt(id, CptPurpose::Checkin, &no_cost),
        "cpt_incompatible",
    );
    let string_price = schema(0, |s| s["properties"]["price"] = json!({"type": "string"}));
    net.refused(
        &s.key,
        &adopt(id, CptPurpose::TradeStart, &string_price),
        "cpt_incompatible",
    );
    // The check-in schema is not a trade-start template.
    net.refused(
        &s.key,
        &adopt(id, CptPurpose::TradeStart, &schema(1, |_| {})),
        "cpt_incompatible",
    );
    net.trade_op(&s.key, &adopt(id, CptPurpose::TradeStart, &start))
        .unwrap();
    net.refused(
        &s.key,
        &adopt(id, CptPurpose::TradeStart, &start),
        "cpt_already_adopted",
    );
    net.refused(
        &other.key,
        &adopt(id, CptPurpose::TradeStart, &start),
        "not_cpt_owner",
    );
    let adopted = cpts::adopted(net.trade.state(), id).unwrap();
    assert_eq!((adopted.supplier, adopted.version), (s.did.clone(), 1));
}

#[test]
fn a_mode_names_only_its_supplier_s_adopted_cpts_for_their_purpose() {
    let mut net = Net::new();
    let (s, _c, _) = net.pair(1);
    let other = net.party("supplier-2", Role::Supplier);
    let start = schema(0, |_| {});
    let checkin = schema(1, |_| {});
    let start_id = register(&mut net, &s, &start);
    let checkin_id = register(&mut net, &s, &checkin);
    net.refused(
        &s.key,
        &TradeOp::PublishMode {
            terms: terms(start_id, 2),
        },
        "cpt_not_adopted",
    );
    net.trade_op(&s.key, &adopt(start_id, CptPurpose::TradeStart, &start))
        .unwrap();
    net.trade_op(&s.key, &adopt(checkin_id, CptPurpose::Checkin, &checkin))
        .unwrap();
    net.refused(
        &other.key,
        &TradeOp::PublishMode {
            terms: terms(start_id, 2),
        },
        "not_cpt_owner",
    );
    net.refused(
        &s.key,
        &TradeOp::PublishMode {
            terms: terms(checkin_id, 2),
        },
        "cpt_purpose_mismatch",
    );
    net.trade_op(
        &s.key,
        &TradeOp::PublishMode {
            terms: terms(start_id, checkin_id),
        },
    )
    .unwrap();
}

#[test]
fn records_under_an_own_cpt_name_it_verify_on_their_own_and_follow_its_schema() {
    let mut net = Net::new();
    let (s, c, _) = net.pair(1);
    let start = schema(0, |_| {});
    let checkin = schema(1, |_| {});
    // A supplier's schema may be stricter than the built-in: prices up to 5 fen a minute.
    let cheap = schema(0, |s| s["properties"]["price"]["maximum"] = json!(5));
    let ids = [&start, &checkin, &cheap].map(|schema| register(&mut net, &s, schema));
    for (id, purpose, schema) in [
        (ids[0], CptPurpose::TradeStart, &start),
        (ids[1], CptPurpose::Checkin, &checkin),
        (ids[2], CptPurpose::TradeStart, &cheap),
    ] {
        net.trade_op(&s.key, &adopt(id, purpose, schema)).unwrap();
    }
    let offer = publish(&mut net, &s, terms(ids[0], ids[1]));
    let serial = net.ordered(&c, &s, 1, offer, 120, 5_000);
    let accept = net.accept_op(&s, &serial);
    net.trade_op(&s.key, &accept).unwrap();
    net.advance(60 * MINUTE);
    let checkin_op = net.checkin_op(&s, &serial, 60);
    net.trade_op(&s.key, &checkin_op).unwrap();
    let records = view::records(net.trade.state(), &serial, 0, 10);
    for (record, id) in records[1..3].iter().zip(ids) {
        let vc = record.data.credential().unwrap();
        assert_eq!(
            vc["credentialSchema"]["id"],
            json!(suanli_identity::urn::cpt(&net.network, id, 1))
        );
        let report = net.verify(vc);
        assert!(report.ok(), "{report:?}");
    }
    // Under the stricter schema a 10 fen/min trade's credential violates it.
    let strict = publish(&mut net, &s, terms(ids[2], 2));
    let serial = net.ordered(&c, &s, 2, strict, 60, 1_000);
    assert_eq!(net.trade(&serial).rate_fen_per_minute, fen(10));
    let accept = net.accept_op(&s, &serial);
    net.refused(&s.key, &accept, "credential_schema_violation");
}
