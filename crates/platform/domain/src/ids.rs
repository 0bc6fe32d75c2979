//! Typed identifiers. Database row ids are positive `i64`s; each kind of row has its own
//! newtype so an organisation id can never be passed where a user id is expected.

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(i64);

        impl $name {
            /// Wraps a row id; `None` unless it is positive (row ids start at 1).
            pub fn new(raw: i64) -> Option<Self> {
                (raw > 0).then_some(Self(raw))
            }
            /// The raw row id.
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

id_type!(
    /// An organisation (operator, supplier, distributor or customer).
    OrgId
);
id_type!(
    /// A user account (always inside exactly one organisation).
    UserId
);
id_type!(
    /// A real-name registration awaiting or past operator review.
    RegistrationId
);
id_type!(
    /// An API token (the token's secret is never stored, only its hash).
    TokenId
);
id_type!(
    /// A catalogue product.
    ProductId
);
id_type!(
    /// A spec (priced variant) of a product.
    SpecId
);
id_type!(
    /// A purchased resource (instance) of a customer.
    InstanceId
);
id_type!(
    /// An order operation (purchase, renewal, change of spec, unsubscribe).
    OrderId
);
id_type!(
    /// A double-entry journal transaction.
    JournalTxId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_must_be_positive() {
        assert!(OrgId::new(0).is_none());
        assert!(OrgId::new(-3).is_none());
        assert_eq!(OrgId::new(5).map(OrgId::get), Some(5));
        assert!(JournalTxId::new(0).is_none());
        assert_eq!(
            InstanceId::new(7).map(|i| i.to_string()).as_deref(),
            Some("7")
        );
    }
}
