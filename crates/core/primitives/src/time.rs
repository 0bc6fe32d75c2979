//! Injected time. Cores never read a clock; the edges pass one of these in.

use std::sync::atomic::{AtomicU64, Ordering};

/// Milliseconds since the Unix epoch (UTC) as the platform's SQL columns hold them.
pub type UnixMs = i64;

/// The one source of the current time in suanli: milliseconds since the Unix epoch. The
/// chain counts in `u64` ([`Clock::now_ms`]); the platform's books in `i64`
/// ([`Clock::now_unix_ms`]); both read the same clock.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;

    /// The same instant as a signed [`UnixMs`] (saturating; a clock never runs past
    /// `i64::MAX` ms).
    fn now_unix_ms(&self) -> UnixMs {
        UnixMs::try_from(self.now_ms()).unwrap_or(UnixMs::MAX)
    }
}

/// The operating system's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}

/// A clock that only moves when told to (tests, simulations).
#[derive(Debug, Default)]
pub struct ManualClock(AtomicU64);

impl ManualClock {
    /// A clock stopped at `start_ms`.
    pub fn new(start_ms: u64) -> Self {
        ManualClock(AtomicU64::new(start_ms))
    }

    /// Moves the clock by `delta_ms` (negative moves it back; tests of clock skew).
    pub fn advance_ms(&self, delta_ms: i64) {
        if delta_ms >= 0 {
            self.0.fetch_add(delta_ms.unsigned_abs(), Ordering::SeqCst);
        } else {
            self.0.fetch_sub(delta_ms.unsigned_abs(), Ordering::SeqCst);
        }
    }

    pub fn set_ms(&self, ms: u64) {
        self.0.store(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}
