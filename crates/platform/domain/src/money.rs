//! The platform's money and calendar vocabulary: re-exported from `suanli-primitives`, so
//! the chain and the platform share one money type ([`Fen`]) and one calendar.

pub use suanli_primitives::calendar::*;
pub use suanli_primitives::money::*;
