//! The buyer's part of the story: an AI start-up joins, recharges, searches the market,
//! orders by the minute, uses, stops, rates and verifies — every step a call of the
//! platform's API, as its console makes them.

use std::path::Path;

use anyhow::Context;
use serde_json::{Value, json};
use suanli_node::Node;
use suanli_primitives::ChainKind;
use suanli_trade::Serial;

use super::{Listing, int, say, wait_for, yuan};
use crate::platform::{Client, Session};
use crate::trade::DemoClock;

/// The start-up's administrator.
pub const BUYER_LOGIN: &str = "deepsea-admin";
/// Its password (shown at the end of the demo).
pub const BUYER_PASSWORD: &str = "Deep-Sea-Models-42";
/// What it recharges first, in fen.
const FIRST_RECHARGE_FEN: i64 = 50_000;
/// The pay-as-you-go budget it orders with, in fen: two hours at ¥1.80 per minute.
const BUDGET_FEN: i64 = 21_600;
/// Minutes of service the story lets pass before the first check-in is due (one hourly
/// period).
const FIRST_HOUR_MINUTES: u64 = 60;
/// Minutes the service stays paused before the start-up tops it up.
const PAUSED_MINUTES: u64 = 5;
/// What it recharges when paused, in fen.
const RECHARGE_AGAIN_FEN: i64 = 30_000;
/// What it tops the trade up by, in fen.
const TOP_UP_FEN: i64 = 21_600;
/// Minutes of service after the resume, before the start-up stops.
const MORE_MINUTES: u64 = 20;
/// One minute, in milliseconds.
const MINUTE_MS: u64 = 60_000;

/// The buyer and what it holds as the story goes on.
pub(crate) struct Buyer<'c> {
    c: &'c Client,
    s: Session,
    serial: String,
}

impl<'c> Buyer<'c> {
    /// The start-up registers, is approved (its DID on the identity chain, a
    /// KYC credential, enrolment as a consumer on the trade chain) and logs in.
    pub fn join(c: &'c Client, admin: &Session) -> anyhow::Result<Self> {
        let v = c.expect(
            "POST",
            "/api/v1/registrations/enterprise",
            None,
            Some(json!({"login": BUYER_LOGIN, "password": BUYER_PASSWORD,
                "display_name": "Chen Hai", "company_name": "Deep Sea Models (Chengdu) Co., Ltd.",
                "credit_code": "91350100M000100Y43", "licence_ref": "BL-2026-000042",
                "legal_person": "Chen Hai"})),
            201,
        )?;
        let reg = int(&v["registration"]["id"]);
        say(&format!(
            "An AI start-up, Deep Sea Models, registers as an enterprise (unified social credit code checked): registration #{reg}. Its administrator's DID key is made now and kept sealed under its password."
        ));
        let v = c.expect(
            "POST",
            &format!("/api/v1/registrations/{reg}/approve"),
            Some(admin),
            None,
            200,
        )?;
        println!(
            "    The operator's real-name review approves it: KYC credential {} issued to {}, which is enrolled on the trade chain as a consumer.",
            v["registration"]["kyc_credential_ref"]
                .as_str()
                .unwrap_or("?"),
            v["kyc"]["did"].as_str().unwrap_or("?")
        );
        let s = c.login(BUYER_LOGIN, BUYER_PASSWORD)?;
        Ok(Self {
            c,
            s,
            serial: String::new(),
        })
    }

    /// `(cash in the journal, balance of the wallet on the chain)` in fen, once the
    /// exchange worker has mirrored every change (they are equal then).
    pub fn wallet(&self) -> anyhow::Result<(i64, i64)> {
        wait_for("the wallet to follow the journal", || {
            let w = self
                .c
                .expect("GET", "/api/v1/trades/wallet", Some(&self.s), None, 200)?;
            let (cash, chain) = (int(&w["cash_fen"]), w["chain_balance_fen"].as_i64());
            Ok((chain == Some(cash)).then_some((cash, cash)))
        })
    }

    /// A sandbox recharge of `fen`, mirrored into the wallet.
    fn recharge(&self, fen: i64) -> anyhow::Result<(i64, i64)> {
        let r = self.c.expect(
            "POST",
            "/api/v1/recharges",
            Some(&self.s),
            Some(json!({ "amount_fen": fen })),
            200,
        )?;
        let pay = int(&r["payment"]["id"]);
        self.c.expect(
            "POST",
            &format!("/api/v1/recharges/{pay}/sandbox-pay"),
            Some(&self.s),
            None,
            200,
        )?;
        self.wallet()
    }

    /// Recharge, search, why not, order, accepted and provisioned.
    pub fn shop(&mut self, listing: &Listing) -> anyhow::Result<()> {
        let (cash, chain) = self.recharge(FIRST_RECHARGE_FEN)?;
        say(&format!(
            "It recharges {} through the SANDBOX payment provider (no real money moves). The journal's cash is {}; the organisation's wallet on the trade chain, minted by the operator's key as the journal changed, holds {}.",
            yuan(FIRST_RECHARGE_FEN),
            yuan(cash),
            yuan(chain)
        ));
        self.search()?;
        self.order(listing)?;
        self.accepted(listing)
    }

    fn search(&self) -> anyhow::Result<()> {
        let q = "gpu_model=a100&gpu_count_min=8&gpu_mem_gb_min=80&green_pct_min=50&max_price_fen_per_min=200&duration_min=120";
        let v = self.c.expect(
            "GET",
            &format!("/api/v1/market/search?{q}"),
            None,
            None,
            200,
        )?;
        say(&format!(
            "It searches the market for 8 × A100 with at least 80 GB, at least 50 % green energy, at most {} per minute, for two hours: `{}` — {} result(s), ranked by the published incentive policy v{}.",
            yuan(200),
            v["constraint"].as_str().unwrap_or("?"),
            int(&v["total"]),
            int(&v["policy_version"])
        ));
        for item in v["items"].as_array().into_iter().flatten() {
            let parts: Vec<String> = item["score"]["dimensions"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|d| {
                    format!(
                        "{} {:.2}",
                        d["dimension"].as_str().unwrap_or("?"),
                        d["value"].as_f64().unwrap_or_default()
                    )
                })
                .collect();
            println!(
                "    #{} {} ({}) by {}: {} per minute ({} per hour), two hours ≈ {}; score {} bp ({})",
                int(&item["position"]),
                item["title"].as_str().unwrap_or("?"),
                item["resource"]["name"].as_str().unwrap_or("?"),
                item["supplier"].as_str().unwrap_or("?"),
                yuan(int(&item["price_fen_per_min"])),
                yuan(int(&item["price_fen_per_hour"])),
                yuan(int(&item["estimate_fen"])),
                int(&item["score"]["score_bp"]),
                parts.join(", ")
            );
        }
        let strict = q.replace("green_pct_min=50", "green_pct_min=95");
        let v = self.c.expect(
            "GET",
            &format!("/api/v1/market/explain?{strict}"),
            None,
            None,
            200,
        )?;
        let why = &v["rejected"][0]["why"];
        println!(
            "    Asking for 95 % green instead finds nothing, and says why: the first failing clause is `{}` (the offer has {}).",
            why["clause"].as_str().unwrap_or("?"),
            why["observed"]
                .as_array()
                .and_then(|o| o.first())
                .and_then(Value::as_str)
                .unwrap_or("?")
        );
        Ok(())
    }

    fn order(&mut self, listing: &Listing) -> anyhow::Result<()> {
        let v = self.c.expect_with_key(
            "/api/v1/trades",
            &self.s,
            "deepsea-order-1",
            json!({"offer_id": listing.offer, "units": 1, "budget_fen": BUDGET_FEN,
                   "password": BUYER_PASSWORD}),
            201,
        )?;
        let t = &v["trade"];
        self.serial = t["serial"].as_str().context("no serial")?.to_owned();
        let (cash, chain) = self.wallet()?;
        say(&format!(
            "It orders the first result by the minute with a budget of {}, confirming with its password: the password unseals its own DID key for this one request, which signs the order. Trade {} is on the trade chain (status {}), the budget escrowed from the wallet; the order also delegates the consumer's side of the trade's service channel to the platform's channel key, bounded by this trade and its budget. Cash {} = wallet {}.",
            yuan(BUDGET_FEN),
            self.serial,
            t["status"].as_str().unwrap_or("?"),
            yuan(cash),
            yuan(chain)
        ));
        Ok(())
    }

    /// The trade as the platform shows it.
    fn trade(&self) -> anyhow::Result<Value> {
        self.c.expect(
            "GET",
            &format!("/api/v1/trades/{}", self.serial),
            Some(&self.s),
            None,
            200,
        )
    }

    fn accepted(&self, listing: &Listing) -> anyhow::Result<()> {
        wait_for("the hosted agent to accept", || {
            let t = self.trade()?;
            Ok((t["trade"]["status"] == "active").then_some(()))
        })?;
        let wo = wait_for("the work order", || {
            let v = self.c.expect(
                "GET",
                "/api/v1/supplier/work-orders",
                Some(&listing.supplier),
                None,
                200,
            )?;
            Ok(v["items"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|w| w["serial"] == self.serial.as_str() && w["status"] == "open")
                .cloned())
        })?;
        say(&format!(
            "The supplier's hosted agent accepts within its policy: the contract, countersigned with its trade-start credential, is on the chain and the trade is active. It raises work order #{} for the supplier's operations.",
            int(&wo["id"])
        ));
        self.c.expect(
            "POST",
            &format!("/api/v1/supplier/work-orders/{}/fill", int(&wo["id"])),
            Some(&listing.supplier),
            Some(
                json!({"address": "10.8.0.21:22", "credentials_ref": "vault:gpupark/deepsea-1",
                        "pool_id": "yaan-a100-pool"}),
            ),
            200,
        )?;
        let t = self.trade()?;
        println!(
            "    Operations fill it; the start-up's trade page shows where to connect: {} (credentials at {}).",
            t["work_order"]["access"]["address"].as_str().unwrap_or("?"),
            t["work_order"]["access"]["credentials_ref"]
                .as_str()
                .unwrap_or("?")
        );
        Ok(())
    }

    /// The trade's bill as the platform shows it (`GET /api/v1/trades/{serial}/bill`).
    fn bill(&self) -> anyhow::Result<Value> {
        self.c.expect(
            "GET",
            &format!("/api/v1/trades/{}/bill", self.serial),
            Some(&self.s),
            None,
            200,
        )
    }

    /// Waits until the bill satisfies `done`.
    fn bill_when(&self, what: &str, done: impl Fn(&Value) -> bool) -> anyhow::Result<Value> {
        wait_for(what, || {
            let b = self.bill()?;
            Ok(done(&b).then_some(b))
        })
    }

    /// The channel opens; an hour of service and a check-in; the pause for low funds.
    pub fn use_and_pay(&self, node: &Node, clock: &DemoClock) -> anyhow::Result<()> {
        let serial = Serial::parse(&self.serial).context("the trade's serial")?;
        let (_, escrow) = wait_for("the service channel to open", || {
            Ok(suanli_agent::channels::channel_of(node, &serial)?)
        })?;
        let b = self.bill_when("the platform's controller to keep the channel", |b| {
            !b["live"].is_null()
        })?;
        say(&format!(
            "The platform's channel controller opens the trade's service channel on the chain with the delegated key (escrow {}) and keeps it; the supplier's agent meters it: a statement per minute of service, signed by both sides off the chain. Below a margin of {} (one hour of service) the supplier pauses.",
            yuan(escrow.get()),
            yuan(int(&b["live"]["margin_fen"]))
        ));
        clock.fast_forward(FIRST_HOUR_MINUTES * MINUTE_MS);
        let b = self.bill_when("the first check-in", |b| {
            b["lines"].as_array().is_some_and(|l| !l.is_empty())
                && b["journal_fen"] == b["running_cost_fen"]
        })?;
        let line = &b["lines"][0];
        say(&format!(
            "[the clock jumps {FIRST_HOUR_MINUTES} minutes] The agent checks the hour in on the chain: {} minutes, {}, paid from the escrow to the supplier (record {} in block {}). The journal follows it; the running cost is {}.",
            int(&line["minutes"]),
            yuan(int(&line["cost_fen"])),
            int(&line["seq"]),
            int(&line["height"]),
            yuan(int(&b["running_cost_fen"]))
        ));
        clock.fast_forward(MINUTE_MS);
        let b = self.bill_when("the pause notice", |b| b["notice"]["paused"] == true)?;
        let me = self
            .c
            .expect("GET", "/api/v1/me", Some(&self.s), None, 200)?;
        let org = int(&me["org"]["id"]);
        let messages = self.c.expect(
            "GET",
            &format!("/api/v1/orgs/{org}/messages"),
            Some(&self.s),
            None,
            200,
        )?;
        let message = messages["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m["body"].as_str())
            .find(|m| m.contains(&self.serial) && m.contains("paused"))
            .unwrap_or("?");
        say(&format!(
            "[the clock jumps a minute] The next minute leaves {} in escrow, below the margin: the supplier's agent pauses the service and the platform tells the start-up. Its message: “{}”",
            yuan(int(&b["notice"]["remaining_fen"])),
            message
                .split(" Trade ")
                .nth(1)
                .map_or(message.to_owned(), |m| format!("Trade {m}"))
        ));
        self.resume(clock)
    }

    /// A recharge and a top-up resume the service; twenty minutes more; the stop.
    fn resume(&self, clock: &DemoClock) -> anyhow::Result<()> {
        clock.fast_forward(PAUSED_MINUTES * MINUTE_MS);
        self.recharge(RECHARGE_AGAIN_FEN)?;
        self.c.expect(
            "POST",
            &format!("/api/v1/trades/{}/topup", self.serial),
            Some(&self.s),
            Some(json!({"amount_fen": TOP_UP_FEN, "password": BUYER_PASSWORD})),
            200,
        )?;
        self.bill_when("the resume notice", |b| b["notice"]["paused"] == false)?;
        let (cash, chain) = self.wallet()?;
        say(&format!(
            "[the clock jumps {PAUSED_MINUTES} minutes: paused time is not metered] It recharges {} and tops the trade up by {} from the wallet, signed with its password: the agent resumes the service. Cash {} = wallet {}.",
            yuan(RECHARGE_AGAIN_FEN),
            yuan(TOP_UP_FEN),
            yuan(cash),
            yuan(chain)
        ));
        clock.fast_forward(MORE_MINUTES * MINUTE_MS);
        let metered = FIRST_HOUR_MINUTES + 1 + MORE_MINUTES;
        let b = self.bill_when("the statements after the resume", |b| {
            b["live"]["minutes"].as_u64() == Some(metered)
        })?;
        println!(
            "    [the clock jumps {MORE_MINUTES} minutes] The trade's page shows the live cost both sides signed: {} minutes, {} (the chain has {} of it so far).",
            int(&b["live"]["minutes"]),
            yuan(int(&b["live"]["cost_fen"])),
            yuan(int(&b["running_cost_fen"]))
        );
        self.stop()
    }

    fn stop(&self) -> anyhow::Result<()> {
        self.c.expect(
            "POST",
            &format!("/api/v1/trades/{}/stop", self.serial),
            Some(&self.s),
            Some(json!({ "password": BUYER_PASSWORD })),
            200,
        )?;
        let t = wait_for("the cooperative close", || {
            let t = self.trade()?;
            Ok((t["trade"]["status"] == "closed").then_some(t))
        })?;
        let (cash, chain) = self.wallet()?;
        say(&format!(
            "The start-up stops: the controller asks the agent to stop and the agent closes the channel cooperatively with the final dual-signed state ({}). Paid in all {}, refunded to the wallet {}. Cash {} = wallet {}.",
            t["trade"]["close_reason"].as_str().unwrap_or("?"),
            yuan(int(&t["trade"]["paid_fen"])),
            yuan(int(&t["trade"]["refunded_fen"])),
            yuan(cash),
            yuan(chain)
        ));
        let b = self.bill_when("the journal to follow the close", |b| {
            b["journal_fen"] == b["running_cost_fen"]
        })?;
        say(
            "Its bill comes from the chain's settlements, each line linked to the record that holds it:",
        );
        for l in b["lines"].as_array().into_iter().flatten() {
            println!(
                "    #{} {:<16} {:>3} minutes {:>9}   record {} in block {}, journal entry {}",
                int(&l["n"]),
                l["kind"].as_str().unwrap_or("?"),
                int(&l["minutes"]),
                yuan(int(&l["cost_fen"])),
                int(&l["seq"]),
                int(&l["height"]),
                l["journal_tx_id"]
                    .as_i64()
                    .map_or_else(|| "—".to_owned(), |j| format!("#{j}"))
            );
        }
        println!(
            "    Total {} = the journal's {}.",
            yuan(int(&b["running_cost_fen"])),
            yuan(int(&b["journal_fen"]))
        );
        Ok(())
    }

    /// Rate, reputation, verify offline.
    pub fn close_rate_verify(
        &self,
        node: &Node,
        clock: &DemoClock,
        data: &Path,
    ) -> anyhow::Result<()> {
        let t = self.trade()?;
        let scores: serde_json::Map<String, Value> = t["rating_dimensions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(|d| (d.to_owned(), json!(90)))
            .collect();
        self.c.expect(
            "POST",
            &format!("/api/v1/trades/{}/rate", self.serial),
            Some(&self.s),
            Some(json!({"scores": scores, "password": BUYER_PASSWORD})),
            200,
        )?;
        say(&format!(
            "It rates the trade ({}), signed by its own key on the chain.",
            scores
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        // The market reads suppliers' reputations from the chain again after
        // `REPUTATION_REFRESH_MS` (a minute) on the platform's clock.
        clock
            .fast_forward(suanli_platform_http::market_index::REPUTATION_REFRESH_MS.unsigned_abs());
        let card = wait_for("the market to read the new reputation", || {
            let v = self.c.expect(
                "GET",
                "/api/v1/market/search?gpu_model=a100&sort=reputation",
                None,
                None,
                200,
            )?;
            let r = v["items"][0]["reputation"].clone();
            Ok((r["state"] != "no_ratings").then_some(r))
        })?;
        println!(
            "    [the clock jumps a minute] The market's cards now show the supplier's reputation from the chain: {} of 5 stars from {} rating(s), and the incentive policy's reputation dimension uses it.",
            card["stars"]
                .as_f64()
                .map_or_else(|| "?".to_owned(), |s| format!("{s:.1}")),
            card["ratings"]
        );
        self.verify(node, data)
    }

    fn verify(&self, node: &Node, data: &Path) -> anyhow::Result<()> {
        // The download of the trade's page, checked here as `suanli trade verify` checks it.
        let downloaded = self.c.expect(
            "GET",
            &format!("/api/v1/trades/{}/bundle", self.serial),
            Some(&self.s),
            None,
            200,
        )?;
        let bundle: suanli_trade::bundle::Bundle =
            serde_json::from_value(downloaded).context("the download is not a trade bundle")?;
        let file = data.join(format!("trade-{}.bundle.json", self.serial));
        std::fs::write(&file, serde_json::to_vec_pretty(&bundle)?)?;
        let producers = node.genesis(ChainKind::Trade).proposers.clone();
        let report = suanli_trade::bundle::verify(&bundle, &producers)
            .map_err(|e| anyhow::anyhow!("the bundle does not verify: {e}"))?;
        say(&format!(
            "Anyone can verify the trade on their own: the bundle downloaded from its page ({}) holds every record with its transaction, block header and Merkle inclusion proof. Checked offline: {} records, {} credentials, {} in check-ins (the close's tail is in the close's record) → VERIFIED. Try: suanli trade verify {} --producer {}",
            file.display(),
            report.records,
            report.credentials,
            yuan(report.checkins_fen),
            file.display(),
            producers
                .first()
                .map(ToString::to_string)
                .unwrap_or_default()
        ));
        Ok(())
    }
}
