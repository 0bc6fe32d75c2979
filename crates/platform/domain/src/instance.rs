//! The lifecycle of a purchased resource (instance) and pay-as-you-go metering.
//!
//! ```text
//! pending ──accept/provision──▶ active ──lead time──▶ expiring ──end──▶ expired ──retention──▶ released
//!                                 │  ▲                    │ renew ▲          │ renew
//!                                 │  └────────────────────┴───────┴──────────┘
//!                                 └─(pay-as-you-go, out of balance)─▶ paused ──balance back──▶ active
//! unsubscribe: any state but released ──▶ released (with the prorated refund)
//! ```
//!
//! Everything here is a pure function of the instance's facts and an injected `now`; the
//! store applies the decisions. Pausing never deletes anything.

use crate::money::{Fen, MoneyError};
use crate::pricing::Payg;
use serde::{Deserialize, Serialize};

/// Where an instance is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstanceStatus {
    /// Ordered, waiting for (manual) provisioning.
    Pending,
    /// In use.
    Active,
    /// In use, the end of the paid term is near (reminders sent).
    Expiring,
    /// The paid term ended; kept (not deleted) until released.
    Expired,
    /// Pay-as-you-go instance out of balance: stopped, kept.
    Paused,
    /// Given back. Final.
    Released,
}

impl InstanceStatus {
    /// Stable text.
    pub fn as_str(self) -> &'static str {
        match self {
            InstanceStatus::Pending => "pending",
            InstanceStatus::Active => "active",
            InstanceStatus::Expiring => "expiring",
            InstanceStatus::Expired => "expired",
            InstanceStatus::Paused => "paused",
            InstanceStatus::Released => "released",
        }
    }
    /// Parses [`InstanceStatus::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        use InstanceStatus::*;
        [Pending, Active, Expiring, Expired, Paused, Released]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// Lifecycle settings (configurable: `[money]` in the server configuration).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LifecycleSettings {
    /// Reminder lead times before the end of a prepaid term, in seconds.
    pub reminder_leads_secs: Vec<i64>,
    /// How long an expired instance is kept before it is released, in seconds.
    pub expired_retention_secs: i64,
}

/// Most reminder lead times.
pub const REMINDER_LEADS_MAX: usize = 8;

impl Default for LifecycleSettings {
    fn default() -> Self {
        Self {
            reminder_leads_secs: vec![7 * 86_400, 3 * 86_400, 86_400],
            expired_retention_secs: 7 * 86_400,
        }
    }
}

impl LifecycleSettings {
    /// Checks the settings: 1..=[`REMINDER_LEADS_MAX`] positive leads, non-negative
    /// retention.
    pub fn validate(&self) -> Result<(), &'static str> {
        if self.reminder_leads_secs.len() > REMINDER_LEADS_MAX {
            return Err("too many reminder lead times");
        }
        if self
            .reminder_leads_secs
            .iter()
            .any(|l| *l <= 0 || *l > 366 * 86_400)
        {
            return Err("reminder lead times must be 1 second to 366 days");
        }
        if !(0..=366 * 86_400).contains(&self.expired_retention_secs) {
            return Err("expired retention must be 0 to 366 days");
        }
        Ok(())
    }
}

/// What to do with a prepaid instance at `now`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrepaidStep {
    /// The new status.
    pub status: InstanceStatus,
    /// How many lead times have passed (reminders sent so far, after this step).
    pub reminders_sent: u32,
    /// A reminder to store for the user, if one is due now.
    pub reminder: Option<String>,
}

/// Advances a prepaid instance ending at `ends_ms`.
pub fn step_prepaid(
    status: InstanceStatus,
    ends_ms: i64,
    reminders_sent: u32,
    now_ms: i64,
    s: &LifecycleSettings,
) -> PrepaidStep {
    let keep = PrepaidStep {
        status,
        reminders_sent,
        reminder: None,
    };
    match status {
        InstanceStatus::Active | InstanceStatus::Expiring => {
            if now_ms >= ends_ms {
                return PrepaidStep {
                    status: InstanceStatus::Expired,
                    reminders_sent,
                    reminder: Some(format!("instance expired at {ends_ms} (ms since epoch)")),
                };
            }
            let passed = s
                .reminder_leads_secs
                .iter()
                .filter(|l| now_ms >= ends_ms - **l * 1_000)
                .count() as u32;
            if passed > reminders_sent {
                let left_h = (ends_ms - now_ms) / 3_600_000;
                PrepaidStep {
                    status: InstanceStatus::Expiring,
                    reminders_sent: passed,
                    reminder: Some(format!(
                        "instance expires in about {left_h} hours; renew to keep it"
                    )),
                }
            } else {
                keep
            }
        }
        InstanceStatus::Expired
            if now_ms >= ends_ms.saturating_add(s.expired_retention_secs * 1_000) =>
        {
            PrepaidStep {
                status: InstanceStatus::Released,
                reminders_sent,
                reminder: Some("instance released after its retention period".to_owned()),
            }
        }
        _ => keep,
    }
}

/// The usage source: how many minutes of use an instance had in `[from, to)`.
/// [`MeteredUsage`] meters catalogue instances on the platform;
/// [`crate::trade_bills::CheckinUsage`] is the trade chain's check-ins, already priced by
/// the chain, from which trades are billed (`docs/exchange.md` §6).
pub trait UsageSource: Send + Sync + std::fmt::Debug {
    /// Minutes of use of `instance` in `[from_ms, to_ms)`.
    fn minutes(&self, instance: i64, from_ms: i64, to_ms: i64) -> u64;
}

/// Platform metering: an active pay-as-you-go instance is in use for every whole minute it
/// is active (the platform only asks about active intervals). Partial minutes carry over
/// to the next metering.
#[derive(Debug, Clone, Copy, Default)]
pub struct MeteredUsage;

impl UsageSource for MeteredUsage {
    fn minutes(&self, _instance: i64, from_ms: i64, to_ms: i64) -> u64 {
        u64::try_from((to_ms - from_ms).max(0) / 60_000).unwrap_or(0)
    }
}

/// What is still to charge for a pay-as-you-go instance that has used `minutes_total`
/// minutes of `quantity` units and was charged `charged` so far: the lifetime due is
/// `max(minutes × per_minute × quantity, minimum)`.
pub fn payg_due(
    p: &Payg,
    quantity: u32,
    minutes_total: u64,
    charged: Fen,
) -> Result<Fen, MoneyError> {
    let usage = p
        .per_minute_fen
        .checked_mul(minutes_total)?
        .checked_mul(u64::from(quantity))?;
    let due = if usage > p.minimum_fen {
        usage
    } else {
        p.minimum_fen
    };
    Ok(due.saturating_sub(charged))
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;

    #[test]
    fn prepaid_lifecycle_with_reminders() {
        let s = LifecycleSettings::default();
        let end = 100 * 24 * H;
        let st = step_prepaid(InstanceStatus::Active, end, 0, end - 10 * 24 * H, &s);
        assert_eq!(st.status, InstanceStatus::Active);
        assert!(st.reminder.is_none());
        let st = step_prepaid(InstanceStatus::Active, end, 0, end - 7 * 24 * H, &s);
        assert_eq!(
            (st.status, st.reminders_sent),
            (InstanceStatus::Expiring, 1)
        );
        assert!(st.reminder.is_some());
        let again = step_prepaid(st.status, end, 1, end - 6 * 24 * H, &s);
        assert!(again.reminder.is_none());
        let late = step_prepaid(st.status, end, 1, end - H, &s);
        assert_eq!(late.reminders_sent, 3);
        let exp = step_prepaid(late.status, end, 3, end, &s);
        assert_eq!(exp.status, InstanceStatus::Expired);
        let kept = step_prepaid(exp.status, end, 3, end + 24 * H, &s);
        assert_eq!(kept.status, InstanceStatus::Expired);
        let rel = step_prepaid(exp.status, end, 3, end + 7 * 24 * H, &s);
        assert_eq!(rel.status, InstanceStatus::Released);
        assert_eq!(
            step_prepaid(InstanceStatus::Pending, end, 0, end + 1, &s).status,
            InstanceStatus::Pending
        );
    }

    #[test]
    fn payg_minimum_charge() {
        let p = Payg {
            per_minute_fen: Fen::new(2).unwrap_or_default(),
            minimum_fen: Fen::new(100).unwrap_or_default(),
            deposit_fen: Fen::ZERO,
        };
        assert_eq!(payg_due(&p, 1, 10, Fen::ZERO).map(Fen::get), Ok(100));
        assert_eq!(
            payg_due(&p, 1, 60, Fen::new(100).unwrap_or_default()).map(Fen::get),
            Ok(20)
        );
        assert_eq!(MeteredUsage.minutes(1, 0, 119_999), 1);
        assert!(LifecycleSettings::default().validate().is_ok());
    }
}
