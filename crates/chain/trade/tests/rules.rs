//! Every forbidden transition of the trade contract, each refused with its exact code, and
//! every refused step leaving the contract's state and all balances exactly as they were.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{MINUTE, Net, SPEC, fen, pos};
use serde_json::json;
use suanli_identity::urn;
use suanli_ledger::contract::TxContext;
use suanli_ledger::credit::CreditOp;
use suanli_ledger::state::StateAccess;
use suanli_ledger::{ExtensionContract, TxId};
use suanli_primitives::{ChainKind, PublicKey, SecretKey, sha256};
use suanli_trade::contract::FUNDS_PER_TRADE_MAX;
use suanli_trade::model::{Requirements, Resource, Scores, Weights};
use suanli_trade::records::{Status, escrow_account, record_count_key, trade_key};
use suanli_trade::{CloseReason, Role, TradeContract, TradeOp, credentials, op, view};

fn close(serial: &suanli_trade::Serial, reason: CloseReason) -> TradeOp {
    Net::close_op(serial, reason)
}

fn fund(serial: &suanli_trade::Serial, amount_fen: i64) -> TradeOp {
    TradeOp::Fund {
        serial: *serial,
        amount_fen: pos(amount_fen),
    }
}

fn req(spec: &str, quantity: u32, duration_minutes: u64) -> Requirements {
    Requirements {
        spec: spec.into(),
        quantity,
        duration_minutes,
    }
}

fn enroll_op(did: &suanli_trade::PartyDid, role: Role, key: &SecretKey) -> TradeOp {
    TradeOp::Enroll {
        did: did.clone(),
        role,
        key: key.public(),
        key_fragment: "key-1".into(),
        kyc_credential_id: Some("urn:uuid:kyc-extra".into()),
        kyc_credential_sha256: Some(sha256(b"kyc").to_hex()),
    }
}

// ---- parties ------------------------------------------------------------------------

#[test]
fn only_the_trade_parties_act_on_it_each_in_its_role() {
    let mut net = Net::new();
    let (s, c, offer) = net.pair(4);
    let s2 = net.party("supplier-2", Role::Supplier);
    let c2 = net.party("consumer-2", Role::Consumer);
    net.mint(&c2, 10_000);
    let serial = net.ordered(&c, &s, 1, offer, 240, 1_000);

    // The contract: only the offering supplier.
    let accept = net.accept_op(&s2, &serial);
    net.refused(&s2.key, &accept, "not_supplier");
    let accept = net.accept_op(&s, &serial);
    net.refused(&c.key, &accept, "not_supplier");
    net.refused(&c2.key, &fund(&serial, 100), "not_consumer");
    net.refused(&s.key, &fund(&serial, 100), "not_consumer");
    net.trade_op(&s.key, &accept).unwrap();

    net.advance(60 * MINUTE);
    let checkin = net.checkin_op(&s2, &serial, 60);
    net.refused(&s2.key, &checkin, "not_supplier");
    let checkin = net.checkin_op(&s, &serial, 60);
    net.refused(&c.key, &checkin, "not_supplier");
    for reason in [CloseReason::SupplierFault, CloseReason::StoppedByConsumer] {
        net.refused(&s2.key, &close(&serial, reason), "not_a_party");
        net.refused(&c2.key, &close(&serial, reason), "not_a_party");
    }
    net.trade_op(&c.key, &close(&serial, CloseReason::StoppedByConsumer))
        .unwrap();
    let rate = net.rate_op(&c2, &serial, 80);
    net.refused(&c2.key, &rate, "not_consumer");
    let rate = net.rate_op(&c, &serial, 80);
    net.refused(&s.key, &rate, "not_consumer");
    net.trade_op(&c.key, &rate).unwrap();
}

#[test]
fn an_unenrolled_key_does_nothing() {
    let mut net = Net::new();
    let (s, c, offer) = net.pair(4);
    let serial = net.ordered(&c, &s, 1, offer, 240, 1_000);
    let x = net.outsider("outsider");
    net.refused(&x.key, &fund(&serial, 100), "not_enrolled");
    net.refused(
        &x.key,
        &close(&serial, CloseReason::StoppedByConsumer),
        "not_enrolled",
    );
    let accept = net.accept_op(&s, &serial);
    net.refused(&x.key, &accept, "not_enrolled");
    let order = net.order_op(&x, &s.did, Net::serial(2), offer, 60, 1_000);
    net.refused(&x.key, &order, "not_enrolled");
    let mode = TradeOp::PublishMode {
        terms: Net::mode_terms(),
    };
    net.refused(&x.key, &mode, "not_enrolled");
    net.refused(
        &x.key,
        &TradeOp::WithdrawOffer { offer_id: offer },
        "not_enrolled",
    );
}

#[test]
fn a_party_acts_only_in_its_enrolled_roles() {
    let mut net = Net::new();
    let (s, c, offer) = net.pair(4);
    let mode = TradeOp::PublishMode {
        terms: Net::mode_terms(),
    };
    net.refused(&c.key, &mode, "role_missing");
    let offer_terms = view::offer(net.trade.state(), offer).unwrap().terms;
    net.refused(
        &c.key,
        &TradeOp::PublishOffer { terms: offer_terms },
        "role_missing",
    );
    net.refused(
        &c.key,
        &TradeOp::WithdrawOffer { offer_id: offer },
        "role_missing",
    );
    let order = net.order_op(&s, &s.did, Net::serial(1), offer, 60, 1_000);
    net.refused(&s.key, &order, "role_missing");

    // Another supplier cannot withdraw the offer or publish under the mode.
    let s2 = net.party("supplier-2", Role::Supplier);
    net.refused(
        &s2.key,
        &TradeOp::WithdrawOffer { offer_id: offer },
        "not_offer_owner",
    );
    let mut terms = view::offer(net.trade.state(), offer).unwrap().terms;
    terms.valid_from_ms = net.now_ms;
    terms.valid_until_ms = net.now_ms + 3_600_000;
    net.refused(&s2.key, &TradeOp::PublishOffer { terms }, "not_mode_owner");

    // A withdrawn role: no new orders.
    let op = net.operator.clone();
    net.trade_op(
        &op,
        &TradeOp::Unenroll {
            did: c.did.clone(),
            role: Role::Consumer,
        },
    )
    .unwrap();
    let order = net.order_op(&c, &s.did, Net::serial(1), offer, 60, 1_000);
    net.refused(&c.key, &order, "role_missing");
}

#[test]
fn only_the_operator_enrols_and_sets_policy_and_a_key_serves_one_did() {
    let mut net = Net::new();
    let (s, c, _offer) = net.pair(1);
    let x = SecretKey::from_label("new-key");
    net.refused(
        &s.key,
        &enroll_op(&c.did, Role::Supplier, &x),
        "not_operator",
    );
    net.refused(
        &c.key,
        &TradeOp::Unenroll {
            did: c.did.clone(),
            role: Role::Consumer,
        },
        "not_operator",
    );
    net.refused(
        &s.key,
        &TradeOp::SetPolicy {
            record_browse: true,
        },
        "not_operator",
    );
    // The consumer's key cannot be bound to the supplier's DID.
    let op = net.operator.clone();
    net.refused(
        &op,
        &enroll_op(&s.did, Role::Consumer, &c.key),
        "key_in_use",
    );
    // Unenrolling a role the party lacks.
    net.refused(
        &op,
        &TradeOp::Unenroll {
            did: c.did.clone(),
            role: Role::Supplier,
        },
        "role_missing",
    );
}

// ---- browse -------------------------------------------------------------------------

#[test]
fn browse_records_are_kept_only_under_the_policy() {
    let mut net = Net::new();
    let (s, c, offer) = net.pair(2);
    let c2 = net.party("consumer-2", Role::Consumer);
    let browse = |net: &Net, who: &SecretKey, n: u64| {
        let serial = Net::serial(n);
        let time_ms = net.now_ms;
        TradeOp::Browse {
            serial,
            supplier: s.did.clone(),
            time_ms,
            signature: op::sign_digest(who, &op::browse_digest(&serial, time_ms, &s.did)),
        }
    };
    let b = browse(&net, &c.key, 1);
    net.refused(&c.key, &b, "browse_recording_off");
    let op = net.operator.clone();
    net.trade_op(
        &op,
        &TradeOp::SetPolicy {
            record_browse: true,
        },
    )
    .unwrap();
    let b = browse(&net, &c.key, 1);
    net.trade_op(&c.key, &b).unwrap();
    assert_eq!(
        view::records(net.trade.state(), &Net::serial(1), 0, 10).len(),
        1
    );

    // The browsed serial belongs to that consumer and supplier.
    let b2 = browse(&net, &c2.key, 1);
    net.refused(&c2.key, &b2, "serial_in_use");
    let b3 = browse(&net, &s.key, 3);
    net.refused(&s.key, &b3, "role_missing");
    let forged = browse(&net, &c2.key, 4);
    net.refused(&c.key, &forged, "bad_signature");
    let TradeOp::Browse {
        serial, signature, ..
    } = browse(&net, &c.key, 5)
    else {
        unreachable!()
    };
    let not_supplier = TradeOp::Browse {
        serial,
        supplier: c2.did.clone(),
        time_ms: net.now_ms,
        signature,
    };
    net.refused(&c.key, &not_supplier, "supplier_not_enrolled");
    // The same consumer orders under the serial it browsed with.
    net.ordered(&c, &s, 1, offer, 60, 600);
    assert_eq!(
        view::records(net.trade.state(), &Net::serial(1), 0, 10).len(),
        2
    );
    let b = browse(&net, &c.key, 1);
    net.refused(&c.key, &b, "serial_in_use");

    // And off again.
    net.trade_op(
        &op,
        &TradeOp::SetPolicy {
            record_browse: false,
        },
    )
    .unwrap();
    let b = browse(&net, &c.key, 6);
    net.refused(&c.key, &b, "browse_recording_off");
}

// ---- orders -------------------------------------------------------------------------

#[test]
fn an_order_must_match_an_open_offer_and_bring_its_first_period() {
    let mut net = Net::new();
    let (s, c, offer) = net.pair(2);
    let now = net.now_ms;
    let order = |net: &Net, n: u64, r: Requirements, value: i64| {
        net.order_req_op(&c.key, &s.did, Net::serial(n), offer, r, value, net.now_ms)
    };

    let o = order(&net, 1, req("H100", 1, 60), 1_000);
    net.refused(&c.key, &o, "spec_mismatch");
    let o = order(&net, 1, req(SPEC, 3, 60), 3_000);
    net.refused(&c.key, &o, "offer_sold_out");
    // First period: 60 min × 10 = 600; a 5-minute contract still owes the 500 minimum.
    let o = order(&net, 1, req(SPEC, 1, 240), 599);
    net.refused(&c.key, &o, "escrow_below_first_period");
    let o = order(&net, 1, req(SPEC, 1, 5), 499);
    net.refused(&c.key, &o, "escrow_below_first_period");
    let o = order(&net, 1, req(SPEC, 2, 240), 1_199);
    net.refused(&c.key, &o, "escrow_below_first_period");
    let o = order(&net, 1, req(SPEC, 1, 240), 100_001);
    net.refused(&c.key, &o, "insufficient_balance");
    let o = net.order_req_op(
        &s.key,
        &s.did,
        Net::serial(1),
        offer,
        req(SPEC, 1, 60),
        600,
        now,
    );
    net.refused(&c.key, &o, "bad_signature");
    for skew in [net.now_ms + 11 * MINUTE, net.now_ms - 11 * MINUTE] {
        let o = net.order_req_op(
            &c.key,
            &s.did,
            Net::serial(1),
            offer,
            req(SPEC, 1, 60),
            600,
            skew,
        );
        net.refused(&c.key, &o, "time_out_of_window");
    }
    let o = net.order_req_op(
        &c.key,
        &s.did,
        Net::serial(1),
        99,
        req(SPEC, 1, 60),
        600,
        net.now_ms,
    );
    net.refused(&c.key, &o, "offer_not_found");

    // Two units taken, then the offer is sold out; the serial is then taken.
    net.ordered(&c, &s, 1, offer, 60, 600);
    let o = order(&net, 1, req(SPEC, 1, 60), 600);
    net.refused(&c.key, &o, "serial_in_use");
    net.ordered(&c, &s, 2, offer, 60, 600);
    assert_eq!(view::offer(net.trade.state(), offer).unwrap().available, 0);
    let o = order(&net, 3, req(SPEC, 1, 60), 600);
    net.refused(&c.key, &o, "offer_sold_out");
    // Another consumer cannot reuse a serial either.
    let c2 = net.party("consumer-2", Role::Consumer);
    net.mint(&c2, 10_000);
    let o = net.order_req_op(
        &c2.key,
        &s.did,
        Net::serial(1),
        offer,
        req(SPEC, 1, 60),
        600,
        net.now_ms,
    );
    net.refused(&c2.key, &o, "serial_in_use");
}

#[test]
fn an_offer_is_ordered_only_while_valid_and_not_from_oneself() {
    let mut net = Net::new();
    let (s, c, offer) = net.pair(2);
    let mode = view::offer(net.trade.state(), offer).unwrap().terms.mode_id;
    let later = net.publish_offer(&s, mode, 1, net.now_ms + 3_600_000);
    let o = net.order_op(&c, &s.did, Net::serial(1), later, 60, 600);
    net.refused(&c.key, &o, "offer_not_valid");

    net.trade_op(&s.key, &TradeOp::WithdrawOffer { offer_id: offer })
        .unwrap();
    let o = net.order_op(&c, &s.did, Net::serial(1), offer, 60, 600);
    net.refused(&c.key, &o, "offer_not_valid");

    // The supplier enrolled as a consumer too cannot order from itself.
    let op = net.operator.clone();
    net.trade_op(&op, &enroll_op(&s.did, Role::Consumer, &s.key))
        .unwrap();
    net.mint(&s, 10_000);
    net.advance(3_600_000);
    let o = net.order_op(&s, &s.did, Net::serial(1), later, 60, 600);
    net.refused(&s.key, &o, "self_trade");
    // Past its validity.
    net.advance(24 * 3_600_000);
    let o = net.order_op(&c, &s.did, Net::serial(1), later, 60, 600);
    net.refused(&c.key, &o, "offer_not_valid");
}

// ---- the contract -------------------------------------------------------------------

#[test]
fn a_contract_is_made_once_in_time_with_a_good_countersignature() {
    let mut net = Net::new();
    let (s, c, offer) = net.pair(4);
    let serial = net.ordered(&c, &s, 1, offer, 240, 1_000);
    let TradeOp::Accept { credential, .. } = net.accept_op(&s, &serial) else {
        unreachable!()
    };
    let bad = TradeOp::Accept {
        serial,
        signature: s.key.sign(b"something else"),
        credential: credential.clone(),
    };
    net.refused(&s.key, &bad, "bad_signature");
    // A countersignature by another key.
    let trade = net.trade(&serial);
    let bad = TradeOp::Accept {
        serial,
        signature: c.key.sign(&op::contract_message(&trade.order_signature)),
        credential,
    };
    net.refused(&s.key, &bad, "bad_signature");

    let accept = net.accept_op(&s, &serial);
    net.trade_op(&s.key, &accept).unwrap();
    let accept = net.accept_op(&s, &serial);
    net.refused(&s.key, &accept, "already_contracted");

    // An order the supplier leaves until its offer lapsed.
    let late = net.ordered(&c, &s, 2, offer, 60, 600);
    net.refused(
        &c.key,
        &close(&late, CloseReason::Expired),
        "order_not_expired",
    );
    net.advance(24 * 3_600_000);
    let accept = net.accept_op(&s, &late);
    net.refused(&s.key, &accept, "order_expired");
    let before = net.balance(&c);
    net.trade_op(&s.key, &close(&late, CloseReason::Expired))
        .unwrap();
    assert_eq!(net.balance(&c), before + 600);
    let accept = net.accept_op(&s, &late);
    net.refused(&s.key, &accept, "trade_closed");
}

#[test]
fn a_forged_trade_start_credential_is_refused() {
    let mut net = Net::new();
    let (s, c, offer) = net.pair(4);
    let serial = net.ordered(&c, &s, 1, offer, 240, 1_000);
    let trade = net.trade(&serial);
    let signature = s.key.sign(&op::contract_message(&trade.order_signature));
    let network = net.network.clone();
    let with = |credential| TradeOp::Accept {
        serial,
        signature,
        credential,
    };
    let cases: Vec<(serde_json::Value, &str)> = vec![
        (
            net.start_credential(&serial, &s.key, |d| {
                d.subject.insert("price".into(), 1.into());
            }),
            "credential_mismatch",
        ),
        (
            net.start_credential(&serial, &s.key, |d| {
                d.subject.insert("extra".into(), 1.into());
            }),
            "credential_mismatch",
        ),
        (
            net.start_credential(&serial, &s.key, |d| {
                d.id = Some(credentials::start_credential_id(&Net::serial(2)));
            }),
            "credential_mismatch",
        ),
        (
            net.start_credential(&serial, &s.key, |d| {
                d.issuer = c.did.as_str().to_owned();
            }),
            "credential_mismatch",
        ),
        (
            net.start_credential(&serial, &s.key, |d| {
                d.schema = Some(suanli_vc::credential::SchemaRef {
                    id: urn::cpt(&network, 2, 1),
                });
            }),
            "credential_mismatch",
        ),
        (
            net.start_credential(&serial, &s.key, |d| d.schema = None),
            "credential_mismatch",
        ),
        (
            net.start_credential(&serial, &c.key, |_| {}),
            "credential_proof_invalid",
        ),
        (
            {
                let mut vc = net.start_credential(&serial, &s.key, |_| {});
                vc["credentialSubject"]["price"] = json!(1);
                vc
            },
            "credential_mismatch",
        ),
        (
            // Signed over other claims, then given the right ones.
            {
                let good = net.start_credential(&serial, &s.key, |_| {});
                let mut vc = net.start_credential(&serial, &s.key, |d| {
                    d.subject.insert("price".into(), 1.into());
                });
                vc["credentialSubject"] = good["credentialSubject"].clone();
                vc
            },
            "credential_proof_invalid",
        ),
        (
            {
                let mut vc = net.start_credential(&serial, &s.key, |_| {});
                vc["validFrom"] = json!("2020-01-01T00:00:00Z");
                vc
            },
            "credential_proof_invalid",
        ),
        (
            {
                let mut vc = net.start_credential(&serial, &s.key, |_| {});
                vc.as_object_mut().unwrap().remove("proof");
                vc
            },
            "credential_mismatch",
        ),
    ];
    for (vc, code) in cases {
        net.refused(&s.key, &with(vc), code);
    }
    assert_eq!(net.trade(&serial).status, Status::Ordered);
}

// ---- check-ins ----------------------------------------------------------------------

#[test]
fn check_ins_are_contiguous_inside_the_contract_and_past() {
    let mut net = Net::new();
    let (s, c, offer) = net.pair(4);
    let serial = net.ordered(&c, &s, 1, offer, 90, 2_000);
    let t = net.trade(&serial);
    let early = net.checkin_op_with(&s, &t, net.now_ms - MINUTE, net.now_ms, 500);
    net.refused(&s.key, &early, "not_contracted");
    let accept = net.accept_op(&s, &serial);
    net.trade_op(&s.key, &accept).unwrap();
    let t = net.trade(&serial);
    let a = t.contract_start_ms.unwrap();

    let future = net.checkin_op_with(&s, &t, a, a + 60 * MINUTE, 600);
    net.refused(&s.key, &future, "checkin_in_future");
    net.advance(120 * MINUTE);
    let gap = net.checkin_op_with(&s, &t, a + MINUTE, a + 61 * MINUTE, 600);
    net.refused(&s.key, &gap, "checkin_not_contiguous");
    let before = net.checkin_op_with(&s, &t, a - MINUTE, a + 59 * MINUTE, 600);
    net.refused(&s.key, &before, "checkin_not_contiguous");
    let part = net.checkin_op_with(&s, &t, a, a + 30_500, 500);
    net.refused(&s.key, &part, "checkin_not_whole_minutes");
    let long = net.checkin_op_with(&s, &t, a, a + 61 * MINUTE, 610);
    net.refused(&s.key, &long, "checkin_longer_than_period");

    let ok = net.checkin_op(&s, &serial, 60);
    net.trade_op(&s.key, &ok).unwrap();
    let t = net.trade(&serial);
    let overlap = net.checkin_op_with(&s, &t, a + 30 * MINUTE, a + 90 * MINUTE, 300);
    net.refused(&s.key, &overlap, "checkin_not_contiguous");
    let again = net.checkin_op_with(&s, &t, a, a + 60 * MINUTE, 600);
    net.refused(&s.key, &again, "checkin_not_contiguous");
    // The contract ends at a + 90 min.
    let beyond = net.checkin_op_with(&s, &t, a + 60 * MINUTE, a + 120 * MINUTE, 600);
    net.refused(&s.key, &beyond, "checkin_beyond_contract");
    let last = net.checkin_op(&s, &serial, 30);
    net.trade_op(&s.key, &last).unwrap();

    net.trade_op(&c.key, &close(&serial, CloseReason::Completed))
        .unwrap();
    assert_eq!(net.trade(&serial).charged_fen.get(), 900);
    let t = net.trade(&serial);
    let after = net.checkin_op_with(&s, &t, a + 90 * MINUTE, a + 91 * MINUTE, 10);
    net.refused(&s.key, &after, "trade_closed");
    net.refused(&c.key, &fund(&serial, 100), "trade_closed");
}

#[test]
fn a_check_in_costs_exactly_its_minutes_with_the_minimum_charge() {
    let mut net = Net::new();
    let (s, c, offer) = net.pair(4);
    let serial = net.contracted(&c, &s, 1, offer, 240, 600);
    let a = net.trade(&serial).contract_start_ms.unwrap();
    net.advance(200 * MINUTE);
    let t = net.trade(&serial);
    // 10 minutes: 100 fen by time, but the first settlement charges the 500 minimum.
    for cost in [100, 499, 501] {
        let op = net.checkin_op_with(&s, &t, a, a + 10 * MINUTE, cost);
        net.refused(&s.key, &op, "cost_mismatch");
    }
    let op = net.checkin_op_with(&s, &t, a, a + 10 * MINUTE, 500);
    net.trade_op(&s.key, &op).unwrap();
    // The next 30 minutes are inside what the minimum paid for: max(400, 500) − 500 = 0.
    let t = net.trade(&serial);
    for cost in [300, 1] {
        let op = net.checkin_op_with(&s, &t, a + 10 * MINUTE, a + 40 * MINUTE, cost);
        net.refused(&s.key, &op, "cost_mismatch");
    }
    let op = net.checkin_op_with(&s, &t, a + 10 * MINUTE, a + 40 * MINUTE, 0);
    net.trade_op(&s.key, &op).unwrap();
    // Then 60 minutes: 1,000 − 500 = 500; one fen off either way is refused.
    let t = net.trade(&serial);
    for cost in [499, 501] {
        let op = net.checkin_op_with(&s, &t, a + 40 * MINUTE, a + 100 * MINUTE, cost);
        net.refused(&s.key, &op, "cost_mismatch");
    }
    // The escrow (600 − 500) does not cover the 500 fen.
    let op = net.checkin_op_with(&s, &t, a + 40 * MINUTE, a + 100 * MINUTE, 500);
    net.refused(&s.key, &op, "insufficient_escrow");
    net.trade_op(&c.key, &fund(&serial, 400)).unwrap();
    let op = net.checkin_op_with(&s, &t, a + 40 * MINUTE, a + 100 * MINUTE, 500);
    net.trade_op(&s.key, &op).unwrap();
    assert_eq!(net.balance(&s), 1_000);
    assert_eq!(view::escrow_fen(net.trade.state(), &serial).get(), 0);
}

#[test]
fn a_check_in_credential_must_match_its_period() {
    let mut net = Net::new();
    let (s, c, offer) = net.pair(4);
    let serial = net.contracted(&c, &s, 1, offer, 240, 1_000);
    let t = net.trade(&serial);
    let a = t.contract_start_ms.unwrap();
    net.advance(61 * MINUTE);
    let TradeOp::Checkin { credential, .. } = net.checkin_op_with(&s, &t, a, a + 60 * MINUTE, 601)
    else {
        unreachable!()
    };
    let op = TradeOp::Checkin {
        serial,
        start_ms: a,
        end_ms: a + 60 * MINUTE,
        cost_fen: fen(600),
        credential,
    };
    net.refused(&s.key, &op, "credential_mismatch");
    let mut next = t.clone();
    next.checkins = 1;
    let TradeOp::Checkin { credential, .. } =
        net.checkin_op_with(&s, &next, a, a + 60 * MINUTE, 600)
    else {
        unreachable!()
    };
    let op = TradeOp::Checkin {
        serial,
        start_ms: a,
        end_ms: a + 60 * MINUTE,
        cost_fen: fen(600),
        credential,
    };
    net.refused(&s.key, &op, "credential_mismatch");
    let TradeOp::Checkin { credential, .. } = net.checkin_op_with(&c, &t, a, a + 60 * MINUTE, 600)
    else {
        unreachable!()
    };
    let op = TradeOp::Checkin {
        serial,
        start_ms: a,
        end_ms: a + 60 * MINUTE,
        cost_fen: fen(600),
        credential,
    };
    net.refused(&s.key, &op, "credential_proof_invalid");
}

// ---- close --------------------------------------------------------------------------

#[test]
fn an_order_closes_only_for_the_reasons_of_its_state_and_role() {
    let mut net = Net::new();
    let (s, c, offer) = net.pair(4);
    let serial = net.ordered(&c, &s, 1, offer, 240, 1_000);
    for (who, reason) in [
        (&c.key, CloseReason::Completed),
        (&s.key, CloseReason::Completed),
        (&s.key, CloseReason::StoppedByConsumer),
        (&c.key, CloseReason::SupplierFault),
        (&c.key, CloseReason::OutOfFunds),
        (&s.key, CloseReason::OutOfFunds),
    ] {
        net.refused(who, &close(&serial, reason), "reason_not_allowed");
    }
    for who in [&c.key, &s.key] {
        net.refused(
            who,
            &close(&serial, CloseReason::Expired),
            "order_not_expired",
        );
    }
    // The consumer withdraws the order, the supplier declines another.
    net.trade_op(&c.key, &close(&serial, CloseReason::StoppedByConsumer))
        .unwrap();
    let declined = net.ordered(&c, &s, 2, offer, 240, 1_000);
    net.trade_op(&s.key, &close(&declined, CloseReason::SupplierFault))
        .unwrap();
    assert_eq!(net.balance(&c), 100_000);
    assert_eq!(view::offer(net.trade.state(), offer).unwrap().available, 4);
    for reason in [CloseReason::StoppedByConsumer, CloseReason::Expired] {
        net.refused(&c.key, &close(&serial, reason), "trade_closed");
    }
}

#[test]
fn a_running_contract_closes_only_for_the_reasons_of_its_role() {
    let mut net = Net::new();
    let (s, c, offer) = net.pair(4);
    let serial = net.contracted(&c, &s, 1, offer, 240, 1_000);
    for (who, reason) in [
        (&s.key, CloseReason::StoppedByConsumer),
        (&c.key, CloseReason::OutOfFunds),
        (&c.key, CloseReason::Expired),
        (&s.key, CloseReason::Expired),
    ] {
        net.refused(who, &close(&serial, reason), "reason_not_allowed");
    }
    for who in [&c.key, &s.key] {
        net.refused(
            who,
            &close(&serial, CloseReason::Completed),
            "contract_not_ended",
        );
    }
    // 1,000 fen cover the next period's 600.
    net.refused(
        &s.key,
        &close(&serial, CloseReason::OutOfFunds),
        "escrow_still_covers",
    );
    net.advance(60 * MINUTE);
    let op = net.checkin_op(&s, &serial, 60);
    net.trade_op(&s.key, &op).unwrap();
    // 400 left: the supplier may stop for lack of funds; the tail is paid as far as it goes.
    net.advance(50 * MINUTE);
    net.trade_op(&s.key, &close(&serial, CloseReason::OutOfFunds))
        .unwrap();
    let t = net.trade(&serial);
    assert_eq!(t.paid_fen.get(), 1_000);
    assert_eq!(t.charged_fen.get(), t.paid_fen.get() + t.unpaid_fen.get());
    assert!(t.unpaid_fen.get() > 0);
    assert_eq!(net.balance(&c), 99_000);
    for (who, reason) in [
        (&s.key, CloseReason::OutOfFunds),
        (&c.key, CloseReason::StoppedByConsumer),
        (&c.key, CloseReason::Completed),
    ] {
        net.refused(who, &close(&serial, reason), "trade_closed");
    }

    // A consumer may blame the supplier: the chain cannot judge the claim, so the time
    // used is still paid for (whole minutes at the rate) but the minimum charge (500) is
    // waived, and the claim counts as a claim, not an admission.
    let faulted = net.contracted(&c, &s, 2, offer, 240, 1_000);
    net.advance(10 * MINUTE);
    net.trade_op(&c.key, &close(&faulted, CloseReason::SupplierFault))
        .unwrap();
    let t = net.trade(&faulted);
    let used = t.closure.as_ref().unwrap().tail_minutes;
    assert!((10..=11).contains(&used), "{used} minutes");
    assert_eq!(t.charged_fen.get(), used as i64 * 10);
    assert_eq!(net.balance(&c), 99_000 - t.charged_fen.get());
    let rep = view::reputation(net.trade.state(), &s.did, net.now_ms);
    assert_eq!(rep.closed.get(&CloseReason::SupplierFault), Some(&1));
    let stats: suanli_trade::records::SupplierStats = serde_json::from_slice(
        net.trade
            .state()
            .get(&suanli_trade::records::stats_key(&s.did))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(stats.fault_claims_by_consumer, 1);
}

// ---- rating -------------------------------------------------------------------------

#[test]
fn a_trade_is_rated_once_after_its_close_by_its_consumer() {
    let mut net = Net::new();
    let (s, c, offer) = net.pair(4);
    let serial = net.contracted(&c, &s, 1, offer, 240, 1_000);
    let rate = net.rate_op(&c, &serial, 90);
    net.refused(&c.key, &rate, "not_closed");
    net.trade_op(&c.key, &close(&serial, CloseReason::StoppedByConsumer))
        .unwrap();

    // Scores must cover exactly the weighted resources.
    let mut fewer = Resource::ALL.to_vec();
    fewer.retain(|r| *r != Resource::Gpu);
    let scores = Scores::new(fewer.iter().map(|r| (*r, 90)).collect()).unwrap();
    let rate = net.rate_scores_op(&c.key, &serial, scores, 54_000);
    net.refused(&c.key, &rate, "scores_invalid");

    let rate = net.rate_op(&s, &serial, 90);
    net.refused(&c.key, &rate, "bad_signature");
    let rate = net.rate_op(&c, &serial, 90);
    net.refused(&s.key, &rate, "not_consumer");
    let TradeOp::Rate {
        scores, signature, ..
    } = net.rate_op(&c, &serial, 90)
    else {
        unreachable!()
    };
    let moved = TradeOp::Rate {
        serial,
        time_ms: net.now_ms + 1,
        scores,
        signature,
    };
    net.refused(&c.key, &moved, "bad_signature");
    let TradeOp::Rate { scores, .. } = net.rate_op(&c, &serial, 90) else {
        unreachable!()
    };
    let skewed = net.rate_scores_op(&c.key, &serial, scores.clone(), 90_000);
    let TradeOp::Rate { signature, .. } = skewed else {
        unreachable!()
    };
    let skewed = TradeOp::Rate {
        serial,
        time_ms: net.now_ms - 11 * MINUTE,
        scores,
        signature,
    };
    net.refused(&c.key, &skewed, "time_out_of_window");

    // Out of range: refused at admission, before any block holds it.
    let mut body = serde_json::to_value(net.rate_op(&c, &serial, 90)).unwrap();
    body["scores"]["cpu"] = json!(101);
    let got = net.raw_call(&c.key, &body).unwrap_err();
    assert!(got.starts_with("rejected: "), "{got}");

    let rate = net.rate_op(&c, &serial, 90);
    net.trade_op(&c.key, &rate).unwrap();
    let rate = net.rate_op(&c, &serial, 50);
    net.refused(&c.key, &rate, "already_rated");

    // An order that never got its contract is not rated.
    let lapsed = net.ordered(&c, &s, 2, offer, 60, 600);
    net.trade_op(&c.key, &close(&lapsed, CloseReason::StoppedByConsumer))
        .unwrap();
    let rate = net.rate_op(&c, &lapsed, 90);
    net.refused(&c.key, &rate, "never_contracted");
}

#[test]
fn a_resource_without_weight_must_not_be_scored() {
    let mut net = Net::new();
    let (s, c, _) = net.pair(1);
    let mut terms = Net::mode_terms();
    terms.weights = Weights::new([(Resource::Cpu, 500), (Resource::Gpu, 500)].into()).unwrap();
    let mode = net.publish_mode(&s, terms);
    let offer = net.publish_offer(&s, mode, 1, net.now_ms);
    let serial = net.contracted(&c, &s, 1, offer, 60, 600);
    net.trade_op(&c.key, &close(&serial, CloseReason::StoppedByConsumer))
        .unwrap();
    let scores = Scores::new(Resource::ALL.iter().map(|r| (*r, 0)).collect()).unwrap();
    let rate = net.rate_scores_op(&c.key, &serial, scores, 0);
    net.refused(&c.key, &rate, "scores_invalid");
    let two = Scores::new([(Resource::Cpu, 80), (Resource::Gpu, 100)].into()).unwrap();
    let rate = net.rate_scores_op(&c.key, &serial, two, 90_000);
    net.trade_op(&c.key, &rate).unwrap();
}

// ---- escrow -------------------------------------------------------------------------

/// Found by this suite: the escrow account was a plain hash, a valid public key for about
/// half of all serials (serial 1 among them), so anyone could `transfer` credits straight
/// into a trade's escrow and break `escrow = funded − paid − refunded`. It is now never a
/// key, so no credit operation can name it.
#[test]
fn credits_reach_an_escrow_only_through_the_contract() {
    for n in 0..2_000 {
        let account = escrow_account(&Net::serial(n));
        assert!(PublicKey::from_bytes(&account).is_err(), "serial {n}");
        let transfer = json!({"op": "transfer", "to": hex::encode(account), "amount": 5_000});
        assert!(
            serde_json::from_value::<CreditOp>(transfer).is_err(),
            "serial {n}"
        );
    }
    let mut net = Net::new();
    let (s, c, offer) = net.pair(4);
    let serial = net.ordered(&c, &s, 1, offer, 240, 1_000);
    let t = net.trade(&serial);
    assert_eq!(view::escrow_fen(net.trade.state(), &serial).get(), 1_000);
    assert_eq!(t.escrow_expected_fen(), 1_000);
}

// ---- record limit -------------------------------------------------------------------

/// A state to run the contract on directly (the harness's engines cannot hold 600,000
/// records of one trade in a test's time).
struct Mem(std::collections::BTreeMap<Vec<u8>, Vec<u8>>);

impl StateAccess for Mem {
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.0.get(key).cloned()
    }
    fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.0.insert(key, value);
    }
    fn delete(&mut self, key: Vec<u8>) {
        self.0.remove(&key);
    }
}

/// Found by this suite: a consumer could fill a trade's records with 1-fen top-ups up to
/// the limit, after which neither party could close it: the escrow stayed locked and the
/// supplier unpaid for ever. The close and the rating (one each) always fit.
#[test]
fn a_trade_whose_top_ups_are_used_up_still_closes_and_is_rated() {
    let mut net = Net::new();
    let (s, c, offer) = net.pair(4);
    let serial = net.contracted(&c, &s, 1, offer, 240, 1_000);
    let mut state = Mem(net
        .trade
        .state()
        .scan_prefix(b"")
        .map(|(k, v)| (k.to_vec(), v.to_vec()))
        .collect());
    // The consumer has used up its top-ups (as if it had sent FUNDS_PER_TRADE_MAX of them).
    let mut full = view::trade(&state as &dyn StateAccess, &serial).unwrap();
    full.funds = FUNDS_PER_TRADE_MAX;
    state.put(trade_key(&serial), serde_json::to_vec(&full).unwrap());
    let (consumer, operator) = (c.key.public(), net.operator.public());
    let at = net.now_ms + 30 * MINUTE;
    let ctx = TxContext {
        chain: ChainKind::Trade,
        signer: &consumer,
        nonce: 0,
        tx_id: TxId(sha256(b"tx")),
        height: 100,
        timestamp_ms: at,
        operator: &operator,
    };
    let run = |state: &mut Mem, op: &TradeOp| {
        TradeContract
            .execute(&ctx, &op.encode(), state)
            .map_err(|e| e.code)
    };
    let mut scratch = Mem(state.0.clone());
    assert_eq!(run(&mut scratch, &fund(&serial, 1)), Err("limit_reached"));
    let stop = close(&serial, CloseReason::StoppedByConsumer);
    assert_eq!(run(&mut state, &stop), Ok(()));
    let read: &dyn StateAccess = &state;
    let t = view::trade(read, &serial).unwrap();
    assert_eq!(t.status, Status::Closed);
    assert_eq!(view::escrow_fen(read, &serial).get(), 0);
    assert_eq!(t.charged_fen.get(), 500);
    let rate = net.rate_op(&c, &serial, 70);
    let TradeOp::Rate { scores, .. } = rate else {
        unreachable!()
    };
    let overall = scores.overall_milli(&t.weights).unwrap();
    let digest = op::rating_digest(&serial, at, &t.supplier, overall, &scores);
    let rate = TradeOp::Rate {
        serial,
        time_ms: at,
        scores,
        signature: op::sign_digest(&c.key, &digest),
    };
    assert_eq!(run(&mut state, &rate), Ok(()));
    assert_eq!(
        suanli_trade::records::decode_u32(state.get(&record_count_key(&serial))),
        4
    );
}

// ---- review findings: what a record's credential may carry, who still contracts, quotas

#[test]
fn a_credential_the_chain_takes_also_verifies_on_its_own() {
    let mut net = Net::new();
    let (s, c, offer) = net.pair(4);
    let serial = net.ordered(&c, &s, 1, offer, 240, 1_000);
    let trade = net.trade(&serial);
    let signature = s.key.sign(&op::contract_message(&trade.order_signature));
    let now = net.now_ms;
    let network = net.network.clone();
    let with = |credential| TradeOp::Accept {
        serial,
        signature,
        credential,
    };
    let cases: Vec<serde_json::Value> = vec![
        // It would expire (a paid record must not).
        net.start_credential(&serial, &s.key, |d| d.valid_until = Some(now + 1)),
        // Its issuer could revoke it after being paid.
        net.start_credential(&serial, &s.key, |d| {
            d.status = Some(suanli_vc::credential::StatusRef {
                list_credential: "urn:suanli:suanli-test:status:x:revocation:0".into(),
                index: 0,
                purpose: suanli_vc::credential::StatusPurpose::Revocation,
            })
        }),
        // A CPT version the identity chain does not have.
        net.start_credential(&serial, &s.key, |d| {
            d.schema = Some(suanli_vc::credential::SchemaRef {
                id: urn::cpt(&network, 1, 99),
            })
        }),
        // Valid only from tomorrow.
        net.start_credential(&serial, &s.key, |d| d.valid_from = now + 86_400_000),
        // Another type list.
        net.start_credential(&serial, &s.key, |d| d.types = vec!["Other".into()]),
    ];
    for vc in cases {
        net.refused(&s.key, &with(vc), "credential_mismatch");
    }
    let good = net.accept_op(&s, &serial);
    net.trade_op(&s.key, &good).unwrap();
}

#[test]
fn an_unenrolled_supplier_takes_no_new_contract() {
    let mut net = Net::new();
    let (s, c, offer) = net.pair(4);
    let serial = net.ordered(&c, &s, 1, offer, 240, 1_000);
    let operator = net.operator.clone();
    let unenroll = TradeOp::Unenroll {
        did: s.did.clone(),
        role: Role::Supplier,
    };
    net.trade_op(&operator, &unenroll).unwrap();
    let accept = net.accept_op(&s, &serial);
    net.refused(&s.key, &accept, "role_missing");
    // The consumer gets its escrow back by withdrawing the order.
    net.trade_op(&c.key, &close(&serial, CloseReason::StoppedByConsumer))
        .unwrap();
    assert_eq!(net.balance(&c), 100_000);
}

#[test]
fn modes_use_built_in_or_adopted_templates_and_suppliers_have_quotas() {
    let mut net = Net::new();
    let (s, _c, _offer) = net.pair(1);
    // Neither a built-in nor a registered id (kyc-supplier is built-in 3).
    let mut custom = Net::mode_terms();
    custom.checkin_cpt = 3;
    let refused = net
        .trade_op(&s.key, &TradeOp::PublishMode { terms: custom })
        .unwrap_err();
    assert!(refused.starts_with("rejected"), "{refused}");
    // A registered id the supplier never adopted (tests/cpts.rs covers adoption).
    let mut custom = Net::mode_terms();
    custom.checkin_cpt = 1000;
    net.refused(
        &s.key,
        &TradeOp::PublishMode { terms: custom },
        "cpt_not_adopted",
    );
    // One mode is published by `pair`; fill the quota in one block, then one more.
    let quota = suanli_trade::contract::MODES_PER_SUPPLIER_MAX as usize;
    let call = TradeOp::PublishMode {
        terms: Net::mode_terms(),
    }
    .to_call()
    .unwrap();
    let txs = (1..quota)
        .map(|_| (&s.key, suanli_ledger::Payload::Call(call.clone())))
        .collect();
    let results = net.block(ChainKind::Trade, txs);
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    net.refused(
        &s.key,
        &TradeOp::PublishMode {
            terms: Net::mode_terms(),
        },
        "limit_reached",
    );
}

#[test]
fn an_offer_listing_reads_a_bounded_number_of_ids() {
    let mut net = Net::new();
    let (s, _c, offer) = net.pair(1);
    net.trade_op(&s.key, &TradeOp::WithdrawOffer { offer_id: offer })
        .unwrap();
    // 1,500 lapsed offers: a listing of open offers stops after OFFER_SCAN_IDS_MAX ids and
    // says where to go on.
    let mode = net.publish_mode(&s, Net::mode_terms());
    let now = net.now_ms;
    let call = TradeOp::PublishOffer {
        terms: suanli_trade::model::OfferTerms {
            mode_id: mode,
            spec: SPEC.into(),
            quantity: 1,
            valid_from_ms: now,
            valid_until_ms: now + 2_000,
        },
    }
    .to_call()
    .unwrap();
    let txs = (0..1_500)
        .map(|_| (&s.key, suanli_ledger::Payload::Call(call.clone())))
        .collect();
    assert!(net.block(ChainKind::Trade, txs).iter().all(Result::is_ok));
    net.advance(10_000);
    let (open, next) = view::offers(net.trade.state(), 1, 100, Some(net.now_ms));
    assert!(open.is_empty());
    assert_eq!(next, Some(1 + view::OFFER_SCAN_IDS_MAX));
    let (open, next) = view::offers(net.trade.state(), next.unwrap(), 100, Some(net.now_ms));
    assert!(open.is_empty());
    assert_eq!(next, None);
}

#[test]
fn a_proof_must_come_from_the_enrolled_method_at_a_time_it_was_enrolled() {
    let mut net = Net::new();
    let (s, c, offer) = net.pair(4);
    let serial = net.ordered(&c, &s, 1, offer, 240, 1_000);
    let trade = net.trade(&serial);
    let signature = s.key.sign(&op::contract_message(&trade.order_signature));
    let draft = credentials::draft(
        &trade,
        credentials::start_credential_id(&serial),
        trade.trade_start_cpt,
        credentials::start_claims(&trade),
        net.now_ms,
    )
    .unwrap();
    let now = net.now_ms;
    for (fragment, created) in [
        ("key-1", 1),                           // before the key was enrolled
        ("key-1", now + 10 * 365 * 86_400_000), // in the future
        ("key-999", now),                       // a method the DID does not have
    ] {
        let credential = credentials::issue(&draft, &s.key, fragment, created).unwrap();
        let accept = TradeOp::Accept {
            serial,
            signature,
            credential: credential.clone(),
        };
        net.refused(&s.key, &accept, "credential_proof_invalid");
        // …and indeed no standalone verifier would accept it.
        assert!(!net.verify(&credential).ok());
    }
}

#[test]
fn ratings_of_trades_stopped_after_a_minute_weigh_little() {
    let mut net = Net::new();
    let (s, c, offer) = net.pair(30);
    // One genuine hour, completed and rated 90.
    let genuine = net.contracted(&c, &s, 1, offer, 60, 1_000);
    net.advance(60 * MINUTE);
    let checkin = net.checkin_op(&s, &genuine, 60);
    net.trade_op(&s.key, &checkin).unwrap();
    net.trade_op(&s.key, &close(&genuine, CloseReason::Completed))
        .unwrap();
    let rate = net.rate_op(&c, &genuine, 90);
    net.trade_op(&c.key, &rate).unwrap();
    // Twenty trades the consumer ends a minute in by claiming a fault, each rated 0.
    for n in 2..22 {
        let serial = net.contracted(&c, &s, n, offer, 60, 1_000);
        net.trade_op(&c.key, &close(&serial, CloseReason::SupplierFault))
            .unwrap();
        let rate = net.rate_op(&c, &serial, 0);
        net.trade_op(&c.key, &rate).unwrap();
    }
    let rep = view::reputation(net.trade.state(), &s.did, net.now_ms);
    assert_eq!(rep.ratings, 21);
    assert_eq!(rep.fault_claims_by_consumer, 20);
    assert_eq!(rep.completion_rate_without_claims, Some(1.0));
    let overall = rep.overall.unwrap();
    // Each 1-minute trade paid 10 of a full period's 600 fen: 20 × 1/60 of a weight.
    assert!(
        (overall - 90.0 / (1.0 + 20.0 / 60.0)).abs() < 1.0,
        "{overall}"
    );
}
