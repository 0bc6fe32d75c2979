//! Languages and locale formatting: a compile-time key → (Chinese, English) table,
//! money (integer fen shown as yuan), numbers and dates (China Standard Time, the
//! platform's business time zone).
//!
//! A key missing from the table renders as `⟦key⟧` so that a test can find it on any page.

use suanli_platform_domain::money::{CST_OFFSET_MS, DAY_MS, civil_from_days};

/// A display language. Chinese is the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// 简体中文 (default).
    #[default]
    Zh,
    /// English.
    En,
}

/// Name of the cookie remembering the language.
pub const LANG_COOKIE: &str = "suanli_lang";

impl Lang {
    /// Parses `zh` / `en`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "zh" | "zh-CN" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The code (`zh`, `en`).
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// The `lang` attribute of the page.
    pub fn html_lang(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// The other language (for the switch).
    pub fn other(self) -> Self {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }

    /// Translates a key.
    pub fn t(self, key: &str) -> String {
        match lookup(key) {
            Some((zh, en)) => match self {
                Lang::Zh => zh.to_owned(),
                Lang::En => en.to_owned(),
            },
            None => format!("⟦{key}⟧"),
        }
    }

    /// Translates a key and replaces `{}` placeholders in order.
    pub fn tf(self, key: &str, args: &[&str]) -> String {
        let mut out = self.t(key);
        for a in args {
            if let Some(i) = out.find("{}") {
                out.replace_range(i..i + 2, a);
            }
        }
        out
    }

    /// Money in fen shown as yuan: `¥1,234.56` (negative: `-¥1.00`).
    pub fn money(self, fen: i64) -> String {
        let neg = fen < 0;
        let abs = i128::from(fen).unsigned_abs();
        let yuan = abs / 100;
        let cents = abs % 100;
        format!(
            "{}¥{}.{cents:02}",
            if neg { "-" } else { "" },
            group(&yuan.to_string())
        )
    }

    /// An integer with thousands separators.
    pub fn number(self, n: i64) -> String {
        let s = group(&n.unsigned_abs().to_string());
        if n < 0 { format!("-{s}") } else { s }
    }

    /// A date and time (CST).
    pub fn datetime(self, ms: i64) -> String {
        let (y, m, d, hh, mm) = cst_parts(ms);
        match self {
            Lang::Zh => format!("{y}年{m}月{d}日 {hh:02}:{mm:02}"),
            Lang::En => format!(
                "{d} {} {y}, {hh:02}:{mm:02}",
                MONTHS_EN[(m as usize + 11) % 12]
            ),
        }
    }

    /// A date (CST).
    pub fn date(self, ms: i64) -> String {
        let (y, m, d, _, _) = cst_parts(ms);
        match self {
            Lang::Zh => format!("{y}年{m}月{d}日"),
            Lang::En => format!("{d} {} {y}", MONTHS_EN[(m as usize + 11) % 12]),
        }
    }

    /// A short day label for charts (`11-22` / `22 Nov`).
    pub fn day_short(self, ms: i64) -> String {
        let (_, m, d, _, _) = cst_parts(ms);
        match self {
            Lang::Zh => format!("{m}/{d}"),
            Lang::En => format!("{d} {}", MONTHS_EN[(m as usize + 11) % 12]),
        }
    }
}

const MONTHS_EN: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn cst_parts(ms: i64) -> (i64, u32, u32, i64, i64) {
    let local = ms + CST_OFFSET_MS;
    let days = local.div_euclid(DAY_MS);
    let rest = local.rem_euclid(DAY_MS);
    let (y, m, d) = civil_from_days(days);
    (y, m, d, rest / 3_600_000, (rest / 60_000) % 60)
}

fn group(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Parses a yuan amount typed by a user (`12`, `12.5`, `1,234.56`) into fen. `None` when it
/// is not a non-negative amount with at most two decimals.
pub fn parse_yuan(s: &str) -> Option<i64> {
    let s: String = s
        .trim()
        .chars()
        .filter(|c| *c != ',' && *c != '¥')
        .collect();
    if s.is_empty() {
        return None;
    }
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s.as_str(), ""),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
        || frac.len() > 2
        || int.len() > 12
    {
        return None;
    }
    let yuan: i64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let cents: i64 = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().ok()? * 10,
        _ => frac.parse().ok()?,
    };
    yuan.checked_mul(100)?.checked_add(cents)
}

fn lookup(key: &str) -> Option<(&'static str, &'static str)> {
    texts()
        .find(|(k, _, _)| *k == key)
        .map(|(_, zh, en)| (*zh, *en))
}

mod texts_admin;
mod texts_supplier;
// --- supply (issue 16, supply helper)
mod texts_supply_catalog;
mod texts_supply_money; // issue 16, supplier money
// Issue 16, the agent's part: work orders.
mod texts_supply_agent;
mod texts_supply_hosted; // issue 16, platform-hosted agents
// Issue 18, H-trades: the exchange.
mod texts_trades;
mod texts_user;
// Issue 17: the market in the product.
mod texts_market;
// Issue 18, billing.
mod texts_trade_bills;

pub use texts_admin::ADMIN_TEXTS;
pub use texts_market::MARKET_TEXTS;
pub use texts_supplier::SUPPLIER_TEXTS;
pub use texts_supply_agent::SUPPLY_AGENT_TEXTS;
pub use texts_supply_catalog::SUPPLY_CATALOG_TEXTS;
pub use texts_supply_hosted::SUPPLY_HOSTED_TEXTS;
pub use texts_supply_money::SUPPLY_MONEY_TEXTS;
pub use texts_trade_bills::TRADE_BILLS_TEXTS; // issue 18, billing
pub use texts_trades::TRADES_TEXTS;
pub use texts_user::USER_TEXTS;

/// Every translated string: key, Chinese, English.
pub fn texts() -> impl Iterator<Item = &'static (&'static str, &'static str, &'static str)> {
    USER_TEXTS
        .iter()
        .chain(ADMIN_TEXTS)
        .chain(SUPPLIER_TEXTS)
        .chain(SUPPLY_CATALOG_TEXTS)
        .chain(SUPPLY_MONEY_TEXTS) // issue 16, supplier money
        .chain(SUPPLY_AGENT_TEXTS)
        .chain(SUPPLY_HOSTED_TEXTS) // issue 16, platform-hosted agents
        .chain(MARKET_TEXTS)
        .chain(TRADES_TEXTS) // issue 18
        .chain(TRADE_BILLS_TEXTS) // issue 18, billing
}

/// Whether `key` is in the table.
pub fn has_key(key: &str) -> bool {
    texts().any(|(k, _, _)| *k == key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_both_languages_present() {
        let mut seen = std::collections::HashSet::new();
        for (k, zh, en) in texts() {
            assert!(seen.insert(*k), "duplicate key {k}");
            assert!(!zh.is_empty() && !en.is_empty(), "empty text for {k}");
            assert!(
                !en.chars().any(is_han) || *k == "nav.lang",
                "English text of {k} has Chinese characters"
            );
        }
    }

    /// A CJK unified ideograph.
    pub fn is_han(c: char) -> bool {
        ('\u{4e00}'..='\u{9fff}').contains(&c)
    }

    #[test]
    fn money_and_numbers() {
        assert_eq!(Lang::Zh.money(123_456), "¥1,234.56");
        assert_eq!(Lang::En.money(-5), "-¥0.05");
        assert_eq!(Lang::En.money(0), "¥0.00");
        assert_eq!(Lang::En.number(1_234_567), "1,234,567");
        assert_eq!(parse_yuan("1,234.5"), Some(123_450));
        assert_eq!(parse_yuan("0.07"), Some(7));
        assert_eq!(parse_yuan("1.234"), None);
        assert_eq!(parse_yuan("-3"), None);
        assert_eq!(parse_yuan("abc"), None);
        assert_eq!(parse_yuan(""), None);
    }

    #[test]
    fn dates_in_china_time() {
        // 2026-11-22T16:30:00Z = 2026-11-23 00:30 CST.
        let ms = 1_795_365_000_000;
        assert_eq!(Lang::Zh.datetime(ms), "2026年11月23日 00:30");
        assert_eq!(Lang::En.datetime(ms), "23 Nov 2026, 00:30");
        assert_eq!(
            Lang::En.tf("res.unsub.days", &["3", "30"]),
            "3 of 30 days used"
        );
    }
}
