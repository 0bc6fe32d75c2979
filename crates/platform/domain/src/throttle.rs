//! Per-source login throttling: counts failed logins per key (the client IP) in a fixed
//! window and refuses further attempts from a key that reached the limit until its window
//! ends. Complements the per-account lockout of [`crate::security::LoginPolicy`], which
//! cannot stop one source from spraying many accounts. Pure: time is a parameter; memory
//! is bounded by [`THROTTLE_KEYS_MAX`].

use std::collections::HashMap;

/// Most sources tracked at once; beyond it, expired entries are dropped first, then the
/// oldest window.
pub const THROTTLE_KEYS_MAX: usize = 10_000;

/// Event counts per source (failed logins, or registrations).
#[derive(Debug, Default)]
pub struct FailureWindow {
    /// key → (window start ms, failures in the window).
    entries: HashMap<String, (i64, u32)>,
}

impl FailureWindow {
    /// Whether `key` may try now: fewer than `max` failures in its current window.
    pub fn allowed(&self, key: &str, now_ms: i64, window_ms: i64, max: u32) -> bool {
        match self.entries.get(key) {
            Some((start, n)) if now_ms < start + window_ms => *n < max,
            _ => true,
        }
    }

    /// Records an event (a failure) of `key` at `now_ms`.
    pub fn fail(&mut self, key: &str, now_ms: i64, window_ms: i64) {
        if !self.entries.contains_key(key) && self.entries.len() >= THROTTLE_KEYS_MAX {
            self.entries
                .retain(|_, (start, _)| now_ms < *start + window_ms);
            if self.entries.len() >= THROTTLE_KEYS_MAX
                && let Some(oldest) = self
                    .entries
                    .iter()
                    .min_by_key(|(_, (start, _))| *start)
                    .map(|(k, _)| k.clone())
            {
                self.entries.remove(&oldest);
            }
        }
        let e = self.entries.entry(key.to_owned()).or_insert((now_ms, 0));
        if now_ms >= e.0 + window_ms {
            *e = (now_ms, 0);
        }
        e.1 = e.1.saturating_add(1);
    }

    /// How many sources are tracked.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no source is tracked.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_key_within_the_window() {
        let mut w = FailureWindow::default();
        for _ in 0..3 {
            assert!(w.allowed("a", 1_000, 60_000, 3));
            w.fail("a", 1_000, 60_000);
        }
        assert!(!w.allowed("a", 1_000, 60_000, 3));
        assert!(w.allowed("b", 1_000, 60_000, 3), "other sources unaffected");
        assert!(!w.allowed("a", 60_999, 60_000, 3));
        assert!(w.allowed("a", 61_000, 60_000, 3), "window over");
        w.fail("a", 61_000, 60_000);
        assert!(
            w.allowed("a", 61_000, 60_000, 3),
            "a new window starts at one failure"
        );
    }

    #[test]
    fn memory_is_bounded() {
        let mut w = FailureWindow::default();
        for i in 0..(THROTTLE_KEYS_MAX + 50) {
            w.fail(&format!("k{i}"), i as i64, 1_000_000);
        }
        assert_eq!(w.len(), THROTTLE_KEYS_MAX);
        assert!(w.allowed("k0", 10, 1_000_000, 1), "oldest evicted");
    }
}
