//! Over a thousand trades run at once: several suppliers and consumers, many transactions
//! per block in a seeded random order, every close reason, top-ups, ratings, and
//! deliberately invalid steps mixed in. After every block the money and offer invariants
//! hold on the chain's own state, and every refused step is refused with its exact code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, HashMap};

use common::{MINUTE, Net, Party, SPEC, fen, pos};
use suanli_ledger::Payload;
use suanli_primitives::{ChainKind, SecretKey};
use suanli_trade::model::{OfferTerms, Requirements};
use suanli_trade::pricing::{minutes_ceil, settlement_cost};
use suanli_trade::records::{Offer, RecordKind, Status, Trade, decode};
use suanli_trade::{CloseReason, Role, Serial, TradeOp, view};

const TRADES: u64 = 1_200;
const SUPPLIERS: usize = 4;
const CONSUMERS: usize = 8;

fn op_name(op: &TradeOp) -> &'static str {
    match op {
        TradeOp::Order { .. } => "order",
        TradeOp::Accept { .. } => "accept",
        TradeOp::Checkin { .. } => "checkin",
        TradeOp::Fund { .. } => "fund",
        TradeOp::Close { .. } => "close",
        TradeOp::Rate { .. } => "rate",
        _ => "other",
    }
}

/// SplitMix64: small, seeded, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.range(0, i as u64) as usize;
            v.swap(i, j);
        }
    }
}

/// What a trade is meant to do.
struct Plan {
    serial: Serial,
    consumer: usize,
    supplier: usize,
    offer: u64,
    quantity: u32,
    minutes: u64,
    checkins: u32,
    reason: CloseReason,
    /// Close before the contract (withdrawn by the consumer or declined by the supplier).
    before_contract: bool,
    /// Escrow only the first period and never top up.
    lean: bool,
    rate: bool,
    launch: u64,
    done: bool,
}

/// One transaction of a block, with what it must come to.
struct Step {
    key: SecretKey,
    op: TradeOp,
    expect: Result<(), String>,
    /// Offer units this step takes (an order) or frees (a close) if it applies.
    units: Option<(u64, i64)>,
}

fn err(code: &str) -> Result<(), String> {
    Err(code.to_owned())
}

struct World {
    net: Net,
    suppliers: Vec<Party>,
    consumers: Vec<Party>,
    /// Per supplier: the long offer (a day) and the short one (lapses early).
    offers: Vec<(u64, u64)>,
    short_until: u64,
    rng: Rng,
    /// Records seen per serial (the trades whose records changed get re-checked).
    seen_records: HashMap<Serial, u32>,
    refused: BTreeMap<String, u64>,
}

impl World {
    fn new() -> Self {
        let mut net = Net::new();
        let suppliers: Vec<Party> = (0..SUPPLIERS)
            .map(|i| net.party(&format!("supplier-{i}"), Role::Supplier))
            .collect();
        let consumers: Vec<Party> = (0..CONSUMERS)
            .map(|i| net.party(&format!("consumer-{i}"), Role::Consumer))
            .collect();
        for c in &consumers {
            net.mint(c, 1_000_000_000);
        }
        let short_until = net.now_ms + 20 * MINUTE;
        let mut offers = Vec::new();
        for (i, s) in suppliers.iter().enumerate() {
            let mut terms = Net::mode_terms();
            terms.price_fen_per_minute = fen(1 + i as i64 * 2);
            terms.min_cost_fen = fen([0, 50, 200, 35][i]);
            terms.checkin_period_minutes = [3, 5, 7, 10][i];
            let mode = net.publish_mode(s, terms);
            let long = net.publish_offer(s, mode, 560, net.now_ms);
            let short = OfferTerms {
                mode_id: mode,
                spec: SPEC.into(),
                quantity: 120,
                valid_from_ms: net.now_ms,
                valid_until_ms: short_until,
            };
            net.trade_op(&s.key, &TradeOp::PublishOffer { terms: short })
                .unwrap();
            offers.push((long, long + 1));
        }
        World {
            net,
            suppliers,
            consumers,
            offers,
            short_until,
            rng: Rng(0x5eed_2026),
            seen_records: HashMap::new(),
            refused: BTreeMap::new(),
        }
    }

    fn plan(&mut self, n: u64) -> Plan {
        let rng = &mut self.rng;
        let supplier = rng.range(0, SUPPLIERS as u64 - 1) as usize;
        let reason = match rng.range(0, 9) {
            0..=2 => CloseReason::Completed,
            3..=4 => CloseReason::StoppedByConsumer,
            5 => CloseReason::SupplierFault,
            6..=7 => CloseReason::OutOfFunds,
            _ => CloseReason::Expired,
        };
        // All arrive in the first blocks, the expiring ones at the short offers.
        let launch = rng.range(0, 6);
        let (long, short) = self.offers[supplier];
        Plan {
            serial: Net::serial(n),
            consumer: rng.range(0, CONSUMERS as u64 - 1) as usize,
            supplier,
            offer: if reason == CloseReason::Expired {
                short
            } else {
                long
            },
            quantity: rng.range(1, 3) as u32,
            minutes: rng.range(10, 40),
            checkins: if reason == CloseReason::OutOfFunds {
                u32::MAX
            } else {
                rng.range(1, 3) as u32
            },
            before_contract: matches!(
                reason,
                CloseReason::StoppedByConsumer | CloseReason::SupplierFault
            ) && rng.chance(25),
            lean: reason == CloseReason::OutOfFunds,
            reason,
            rate: rng.chance(80),
            launch,
            done: false,
        }
    }

    /// This block's step for one trade, if any. `at` is the block's time.
    fn step(&mut self, p: &mut Plan, block: u64, at: u64) -> Option<Step> {
        if p.done || block < p.launch || self.rng.chance(25) {
            return None;
        }
        let cx = Cx {
            net: &self.net,
            s: &self.suppliers[p.supplier],
            c: &self.consumers[p.consumer],
            s2: &self.suppliers[(p.supplier + 1) % SUPPLIERS],
            c2: &self.consumers[(p.consumer + 1) % CONSUMERS],
            offers: self.offers[p.supplier],
            short_until: self.short_until,
        };
        cx.step(&mut self.rng, p, block, at)
    }

    /// The invariants, on the chain's own state.
    /// Returns how many trades are open.
    fn check(&mut self, height: u64) -> usize {
        let net = &self.net;
        let (sum, supply) = net.conservation();
        assert_eq!(sum, supply, "block {height}: Σ balances ≠ supply");
        let state = net.trade.state();
        let trades: Vec<Trade> = state
            .scan_prefix(b"trade/t/")
            .map(|(_, v)| decode(v, "trade").unwrap())
            .collect();
        let mut taken: HashMap<u64, u32> = HashMap::new();
        for t in &trades {
            let escrow = view::escrow_fen(state, &t.serial).get();
            let refunds = t.closure.as_ref().map_or(0, |c| c.refund_fen.get());
            assert_eq!(escrow, t.escrow_expected_fen(), "block {height}: {t:?}");
            assert_eq!(
                escrow,
                t.funded_fen.get() - t.paid_fen.get() - refunds,
                "{t:?}"
            );
            assert_eq!(
                t.charged_fen.get(),
                t.paid_fen.get() + t.unpaid_fen.get(),
                "{t:?}"
            );
            assert!(escrow >= 0 && t.unpaid_fen.get() >= 0, "{t:?}");
            if t.status == Status::Closed {
                assert_eq!(escrow, 0, "a closed trade keeps no escrow: {t:?}");
            } else {
                *taken.entry(t.offer_id).or_default() += t.requirements.quantity;
                assert_eq!(t.unpaid_fen.get(), 0, "{t:?}");
            }
        }
        for (_, v) in state.scan_prefix(b"trade/offer/") {
            let offer: Offer = decode(v, "offer").unwrap();
            let open = taken.get(&offer.id).copied().unwrap_or(0);
            assert_eq!(
                offer.available,
                offer.terms.quantity - open,
                "block {height}: offer {}",
                offer.id
            );
        }
        for t in &trades {
            let count = suanli_trade::records::decode_u32(
                state
                    .get(&suanli_trade::records::record_count_key(&t.serial))
                    .map(<[u8]>::to_vec),
            );
            // Every operation that changes a trade appends a record: a trade whose record
            // count did not move is exactly as it was when last checked.
            if self.seen_records.get(&t.serial) == Some(&count) {
                continue;
            }
            self.seen_records.insert(t.serial, count);
            check_records(t, count, state);
        }
        trades.iter().filter(|t| t.status != Status::Closed).count()
    }
}

/// A trade's records: one serial, check-ins contiguous from the contract's start, inside
/// it, and what they and the close charged is what the trade says.
fn check_records(t: &Trade, count: u32, state: &suanli_ledger::state::State) {
    let mut records = Vec::new();
    let mut from = 0;
    while from < count {
        let page = view::records(state, &t.serial, from, view::PAGE_MAX);
        assert!(!page.is_empty());
        from += page.len() as u32;
        records.extend(page);
    }
    let mut at = t.contract_start_ms;
    let (mut minutes, mut charged, mut n) = (0u64, 0i64, 0u64);
    for r in &records {
        assert_eq!(r.serial, t.serial);
        let data = r.data.to_value().unwrap();
        if r.kind == RecordKind::Checkin {
            let start = data["start_ms"].as_u64().unwrap();
            let end = data["end_ms"].as_u64().unwrap();
            n += 1;
            assert_eq!(data["n"].as_u64(), Some(n));
            assert_eq!(Some(start), at, "check-ins contiguous: {t:?}");
            assert!(end > start && (end - start) % MINUTE == 0);
            assert!(end <= t.contract_end_ms.unwrap() && end <= r.block_time_ms);
            at = Some(end);
            minutes += (end - start) / MINUTE;
            charged += data["cost_fen"].as_i64().unwrap();
        }
        if r.kind == RecordKind::Close {
            minutes += data["tail_minutes"].as_u64().unwrap();
            charged += data["tail_cost_fen"].as_i64().unwrap();
        }
    }
    assert_eq!(u64::from(t.checkins), n);
    assert_eq!(at, t.billed_until_ms, "{t:?}");
    assert_eq!(minutes, t.billed_minutes, "{t:?}");
    assert_eq!(charged, t.charged_fen.get(), "{t:?}");
}

#[test]
fn a_thousand_trades_at_once_keep_every_invariant() {
    let mut w = World::new();
    let mut plans: Vec<Plan> = (1..=TRADES).map(|n| w.plan(n)).collect();
    let mut block = 0u64;
    let mut peak = 0;
    let mut applied: BTreeMap<&str, u64> = BTreeMap::new();
    while plans.iter().any(|p| !p.done) {
        assert!(block < 400, "the trades did not finish");
        let advance = w.rng.range(0, 60_000);
        w.net.advance(advance);
        let at = w.net.now_ms + 1_000;
        let mut steps: Vec<Step> = Vec::new();
        for p in plans.iter_mut() {
            if let Some(s) = w.step(p, block, at) {
                steps.push(s);
            }
        }
        w.rng.shuffle(&mut steps);
        // The offers' free units, in the block's order: an order the offer cannot fill
        // is refused, a close frees its units for the orders after it.
        let mut free: HashMap<u64, i64> = HashMap::new();
        for st in steps.iter_mut() {
            let Some((offer, units)) = st.units else {
                continue;
            };
            let avail = free.entry(offer).or_insert_with(|| {
                i64::from(view::offer(w.net.trade.state(), offer).unwrap().available)
            });
            if *avail + units < 0 {
                st.expect = err("offer_sold_out");
            } else if st.expect.is_ok() {
                *avail += units;
            }
        }
        let txs: Vec<(&SecretKey, Payload)> = steps
            .iter()
            .map(|s| (&s.key, Payload::Call(s.op.to_call().unwrap())))
            .collect();
        let results = w.net.block(ChainKind::Trade, txs);
        for (st, got) in steps.iter().zip(&results) {
            assert_eq!(got, &st.expect, "block {block}: {:?}", st.op);
            match got {
                Err(code) => *w.refused.entry(code.clone()).or_default() += 1,
                Ok(()) => *applied.entry(op_name(&st.op)).or_default() += 1,
            }
        }
        peak = peak.max(w.check(block));
        block += 1;
    }

    // Every trade ran to its close, for every reason, and the refusals were all seen.
    let state = w.net.trade.state();
    let mut reasons: BTreeMap<CloseReason, u64> = BTreeMap::new();
    let (mut rated, mut contracted) = (0, 0);
    for p in &plans {
        let t = view::trade(state, &p.serial).unwrap();
        assert_eq!(t.status, Status::Closed);
        *reasons.entry(t.closure.unwrap().reason).or_default() += 1;
        rated += u64::from(t.rating.is_some());
        contracted += u64::from(t.contract_start_ms.is_some());
    }
    assert_eq!(reasons.len(), 5, "{reasons:?}");
    assert!(contracted > 600, "{contracted}");
    let mut stats_orders = 0;
    let mut stats_ratings = 0;
    for s in &w.suppliers {
        let rep = view::reputation(state, &s.did, w.net.now_ms);
        stats_orders += rep.orders;
        stats_ratings += rep.ratings;
    }
    assert_eq!(stats_orders, TRADES);
    assert_eq!(stats_ratings, rated);
    for code in [
        "offer_sold_out",
        "escrow_below_first_period",
        "order_expired",
        "order_not_expired",
        "reason_not_allowed",
        "not_supplier",
        "not_consumer",
        "escrow_still_covers",
        "contract_not_ended",
        "cost_mismatch",
        "checkin_not_contiguous",
        "insufficient_escrow",
        "already_rated",
        "never_contracted",
    ] {
        assert!(
            w.refused.contains_key(code),
            "{code} never refused: {:?}",
            w.refused
        );
    }
    assert!(peak >= 1_000, "only {peak} trades were open at once");
    for (op, least) in [
        ("order", TRADES),
        ("accept", 600),
        ("checkin", 1_000),
        ("fund", 100),
        ("close", TRADES),
        ("rate", 400),
    ] {
        let n = applied.get(op).copied().unwrap_or(0);
        assert!(n >= least, "{op}: {applied:?}");
    }
    eprintln!(
        "{block} blocks, at most {peak} trades open at once; applied {applied:?}; refused {:?}; closed {reasons:?}",
        w.refused
    );
}

/// What one trade's step is built from: its parties, another supplier and consumer (for
/// the steps by the wrong party), its supplier's offers.
struct Cx<'a> {
    net: &'a Net,
    s: &'a Party,
    c: &'a Party,
    s2: &'a Party,
    c2: &'a Party,
    offers: (u64, u64),
    short_until: u64,
}

fn step(key: &SecretKey, op: TradeOp, expect: Result<(), String>) -> Step {
    Step {
        key: key.clone(),
        op,
        expect,
        units: None,
    }
}

impl Cx<'_> {
    fn closing(
        &self,
        p: &Plan,
        key: &SecretKey,
        reason: CloseReason,
        expect: Result<(), String>,
    ) -> Step {
        Step {
            key: key.clone(),
            op: Net::close_op(&p.serial, reason),
            units: Some((p.offer, i64::from(p.quantity))),
            expect,
        }
    }

    fn step(&self, rng: &mut Rng, p: &mut Plan, block: u64, at: u64) -> Option<Step> {
        let (net, s, c) = (self.net, self.s, self.c);
        let bad = rng.chance(8);
        let pick = rng.next();
        let Some(t) = view::trade(net.trade.state(), &p.serial) else {
            return Some(self.order(rng, p, at, bad, pick));
        };
        match t.status {
            Status::Ordered if p.reason == CloseReason::Expired => {
                if at >= t.accept_by_ms {
                    if bad {
                        let accept = net.accept_op(s, &p.serial);
                        return Some(step(&s.key, accept, err("order_expired")));
                    }
                    let who = if pick % 2 == 0 { &c.key } else { &s.key };
                    Some(self.closing(p, who, CloseReason::Expired, Ok(())))
                } else if bad {
                    let close = Net::close_op(&p.serial, CloseReason::Expired);
                    Some(step(&c.key, close, err("order_not_expired")))
                } else {
                    None
                }
            }
            // Withdrawn or declined, once the other trades are running.
            Status::Ordered if p.before_contract && block < p.launch + 12 => None,
            Status::Ordered if p.before_contract => {
                let (who, wrong) = if p.reason == CloseReason::StoppedByConsumer {
                    (&c.key, &s.key)
                } else {
                    (&s.key, &c.key)
                };
                if bad {
                    let close = Net::close_op(&p.serial, p.reason);
                    return Some(step(wrong, close, err("reason_not_allowed")));
                }
                Some(self.closing(p, who, p.reason, Ok(())))
            }
            Status::Ordered => {
                if bad {
                    let accept = net.accept_op(self.s2, &p.serial);
                    return Some(step(&self.s2.key, accept, err("not_supplier")));
                }
                Some(step(&s.key, net.accept_op(s, &p.serial), Ok(())))
            }
            Status::Active => self.active(rng, p, &t, at, bad, pick),
            Status::Closed => {
                if bad {
                    let rate = net.rate_op(c, &p.serial, 50);
                    return Some(step(&s.key, rate, err("not_consumer")));
                }
                p.done = true;
                let contracted = t.contract_start_ms.is_some();
                match (contracted, p.rate, t.rating.is_some()) {
                    (true, true, false) => {
                        p.done = false;
                        let score = p.serial.as_bytes()[15] % 101;
                        Some(step(&c.key, net.rate_op(c, &p.serial, score), Ok(())))
                    }
                    (true, _, true) if pick % 5 == 0 => Some(step(
                        &c.key,
                        net.rate_op(c, &p.serial, 1),
                        err("already_rated"),
                    )),
                    (false, true, _) => Some(step(
                        &c.key,
                        net.rate_op(c, &p.serial, 1),
                        err("never_contracted"),
                    )),
                    _ => None,
                }
            }
        }
    }

    fn order(&self, rng: &mut Rng, p: &mut Plan, at: u64, bad: bool, pick: u64) -> Step {
        let net = self.net;
        if p.offer == self.offers.1 && at + MINUTE >= self.short_until {
            // Too late for the short offer: this one is stopped like any other.
            p.offer = self.offers.0;
            p.reason = CloseReason::StoppedByConsumer;
        }
        let state = net.trade.state();
        let mode_id = view::offer(state, p.offer).unwrap().terms.mode_id;
        let mode = view::mode(state, mode_id).unwrap().terms;
        let rate = mode.price_fen_per_minute.get() * i64::from(p.quantity);
        let period = mode.checkin_period_minutes;
        let first = settlement_cost(
            0,
            fen(0),
            period.min(p.minutes),
            fen(rate),
            mode.min_cost_fen,
        )
        .unwrap()
        .get();
        let mut value = if p.lean {
            first
        } else {
            first + rng.range(0, 4).saturating_sub(2) as i64 * rate * period as i64
        };
        let mut quantity = p.quantity;
        let mut expect = Ok(());
        if bad && pick % 2 == 0 {
            quantity = 100_000;
            expect = err("offer_sold_out");
        } else if bad {
            value = first - 1;
            expect = err("escrow_below_first_period");
        }
        let requirements = Requirements {
            spec: SPEC.into(),
            quantity,
            duration_minutes: p.minutes,
        };
        let op = net.order_req_op(
            &self.c.key,
            &self.s.did,
            p.serial,
            p.offer,
            requirements,
            value,
            net.now_ms,
        );
        Step {
            key: self.c.key.clone(),
            op,
            expect,
            units: Some((p.offer, -i64::from(quantity))),
        }
    }

    fn active(
        &self,
        rng: &mut Rng,
        p: &mut Plan,
        t: &Trade,
        at: u64,
        bad: bool,
        pick: u64,
    ) -> Option<Step> {
        let (net, s, c) = (self.net, self.s, self.c);
        let (billed, end) = (t.billed_until_ms.unwrap(), t.contract_end_ms.unwrap());
        let escrow = view::escrow_fen(net.trade.state(), &p.serial).get();
        let cost = |minutes| {
            settlement_cost(
                t.billed_minutes,
                t.charged_fen,
                minutes,
                t.rate_fen_per_minute,
                t.min_cost_fen,
            )
            .unwrap()
            .get()
        };
        let next = cost(t.period_minutes.min(minutes_ceil(billed, end)));
        let ended = at >= end;
        if p.reason == CloseReason::OutOfFunds && t.checkins >= 1 && billed < end {
            if escrow < next {
                return Some(self.closing(p, &s.key, CloseReason::OutOfFunds, Ok(())));
            }
            if bad {
                let covers = err("escrow_still_covers");
                return Some(self.closing(p, &s.key, CloseReason::OutOfFunds, covers));
            }
        }
        let room = (at.min(end) - billed) / MINUTE;
        if t.checkins >= p.checkins || billed == end {
            let who = if pick % 2 == 0 { &c.key } else { &s.key };
            return match p.reason {
                CloseReason::StoppedByConsumer if bad => {
                    Some(self.closing(p, &s.key, p.reason, err("reason_not_allowed")))
                }
                CloseReason::StoppedByConsumer => Some(self.closing(p, &c.key, p.reason, Ok(()))),
                CloseReason::SupplierFault => Some(self.closing(p, who, p.reason, Ok(()))),
                _ if ended => Some(self.closing(p, who, CloseReason::Completed, Ok(()))),
                _ if bad => {
                    Some(self.closing(p, who, CloseReason::Completed, err("contract_not_ended")))
                }
                _ => None,
            };
        }
        let most = t.period_minutes.min(room);
        if most == 0 {
            if bad {
                let fund = TradeOp::Fund {
                    serial: p.serial,
                    amount_fen: pos(10),
                };
                return Some(step(&self.c2.key, fund, err("not_consumer")));
            }
            return None;
        }
        let minutes = rng.range(1, most);
        let cost = cost(minutes);
        let (start, stop) = (billed, billed + minutes * MINUTE);
        if bad {
            return Some(match pick % 3 {
                0 => step(
                    &s.key,
                    net.checkin_op_with(s, t, start, stop, cost + 1),
                    err("cost_mismatch"),
                ),
                1 => step(
                    &s.key,
                    net.checkin_op_with(s, t, start + MINUTE, stop + MINUTE, cost),
                    err("checkin_not_contiguous"),
                ),
                _ => {
                    let op = net.checkin_op_with(self.s2, t, start, stop, cost);
                    step(&self.s2.key, op, err("not_supplier"))
                }
            });
        }
        if escrow < cost {
            // Never for a lean trade after its first check-in: its out-of-funds close came
            // first (the next period costs at least this one).
            assert!(!p.lean || t.checkins == 0, "lean trade {:?}", p.serial);
            if rng.chance(40) {
                let op = net.checkin_op_with(s, t, start, stop, cost);
                return Some(step(&s.key, op, err("insufficient_escrow")));
            }
            let fund = TradeOp::Fund {
                serial: p.serial,
                amount_fen: pos(cost - escrow + rng.range(0, 500) as i64),
            };
            return Some(step(&c.key, fund, Ok(())));
        }
        if !p.lean && rng.chance(10) {
            let fund = TradeOp::Fund {
                serial: p.serial,
                amount_fen: pos(rng.range(1, 300) as i64),
            };
            return Some(step(&c.key, fund, Ok(())));
        }
        Some(step(
            &s.key,
            net.checkin_op_with(s, t, start, stop, cost),
            Ok(()),
        ))
    }
}
