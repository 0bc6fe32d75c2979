//! Time as a parameter: everything that depends on "now" takes a [`Clock`]. The one
//! `Clock` of suanli lives in `suanli-primitives`; the platform reads it with
//! [`Clock::now_unix_ms`].

pub use suanli_primitives::time::{Clock, ManualClock, SystemClock, UnixMs};
