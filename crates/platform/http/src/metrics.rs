//! Prometheus metrics: a few counters in the text exposition format, served at `/metrics`.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counters.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Responses by status class: 2xx, 3xx, 4xx, 5xx.
    pub responses: [AtomicU64; 4],
    /// Successful logins.
    pub logins_ok: AtomicU64,
    /// Failed logins (wrong password, bad MFA code).
    pub logins_failed: AtomicU64,
    /// Login attempts refused because the account is locked.
    pub logins_locked: AtomicU64,
    /// Audit records appended.
    pub audit_appended: AtomicU64,
    /// Audit appends that failed.
    pub audit_failed: AtomicU64,
    // issue 18, trades
    /// Orders stored as trades (escrow entry written).
    pub trade_orders: AtomicU64,
    /// Orders the trade chain refused (escrow entry reversed).
    pub trade_refused: AtomicU64,
    /// Wallet alarms raised: an organisation's cash and its chain wallet disagree.
    pub wallet_alarms: AtomicU64,
}

fn inc(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

impl Metrics {
    /// Counts a response.
    pub fn response(&self, status: u16) {
        let i = match status {
            200..=299 => 0,
            300..=399 => 1,
            400..=499 => 2,
            _ => 3,
        };
        inc(&self.responses[i]);
    }
    /// Counts a successful login.
    pub fn login_ok(&self) {
        inc(&self.logins_ok);
    }
    /// Counts a failed login.
    pub fn login_failed(&self) {
        inc(&self.logins_failed);
    }
    /// Counts a refused (locked) login.
    pub fn login_locked(&self) {
        inc(&self.logins_locked);
    }
    /// Counts an audit append.
    pub fn audit(&self, ok: bool) {
        inc(if ok {
            &self.audit_appended
        } else {
            &self.audit_failed
        });
    }
    /// Counts an order stored as a trade.
    pub fn trade_order(&self) {
        inc(&self.trade_orders);
    }
    /// Counts an order the chain refused.
    pub fn trade_refusal(&self) {
        inc(&self.trade_refused);
    }
    /// Counts a wallet alarm.
    pub fn wallet_alarm(&self) {
        inc(&self.wallet_alarms);
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut s = String::new();
        s.push_str("# HELP suanli_http_responses_total HTTP responses by status class.\n");
        s.push_str("# TYPE suanli_http_responses_total counter\n");
        for (i, class) in ["2xx", "3xx", "4xx", "5xx"].iter().enumerate() {
            let _ = writeln!(
                s,
                "suanli_http_responses_total{{class=\"{class}\"}} {}",
                g(&self.responses[i])
            );
        }
        s.push_str("# HELP suanli_logins_total Login attempts by outcome.\n");
        s.push_str("# TYPE suanli_logins_total counter\n");
        for (outcome, c) in [
            ("success", &self.logins_ok),
            ("failure", &self.logins_failed),
            ("locked", &self.logins_locked),
        ] {
            let _ = writeln!(s, "suanli_logins_total{{outcome=\"{outcome}\"}} {}", g(c));
        }
        s.push_str("# HELP suanli_audit_records_total Audit records appended.\n");
        s.push_str("# TYPE suanli_audit_records_total counter\n");
        let _ = writeln!(s, "suanli_audit_records_total {}", g(&self.audit_appended));
        s.push_str("# HELP suanli_audit_append_failures_total Audit appends that failed.\n");
        s.push_str("# TYPE suanli_audit_append_failures_total counter\n");
        let _ = writeln!(
            s,
            "suanli_audit_append_failures_total {}",
            g(&self.audit_failed)
        );
        // issue 18, trades
        s.push_str(
            "# HELP suanli_trade_orders_total Orders stored as trades, and refused by the chain.\n",
        );
        s.push_str("# TYPE suanli_trade_orders_total counter\n");
        let _ = writeln!(
            s,
            "suanli_trade_orders_total{{outcome=\"stored\"}} {}",
            g(&self.trade_orders)
        );
        let _ = writeln!(
            s,
            "suanli_trade_orders_total{{outcome=\"refused\"}} {}",
            g(&self.trade_refused)
        );
        s.push_str("# HELP suanli_wallet_alarms_total Wallet reconciliation alarms (journal cash and chain wallet differ).\n");
        s.push_str("# TYPE suanli_wallet_alarms_total counter\n");
        let _ = writeln!(s, "suanli_wallet_alarms_total {}", g(&self.wallet_alarms));
        s
    }
}
