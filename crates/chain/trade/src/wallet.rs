//! Organisation wallets and channel delegations (issue 18: "the organisation pays; its
//! members sign", `docs/trade.md` §1.2).
//!
//! A **wallet** is a keyless settlement-credit account named by the platform
//! (`org:<id>`): only the operator mints into it (money in, as the journal records it) or
//! burns from it (money out), and only the trade contract moves credits out of it — into
//! the escrow of an order signed by one of its **members**, each within the limit the
//! operator recorded for it. Refunds of such trades go back to the wallet.
//!
//! A **channel delegation** travels inside an order signed by the consumer: it names a key
//! (the platform's consumer-side channel controller) that may, for that one trade and until
//! `valid_until_ms`, run the consumer's side of the trade's service channel and top its
//! escrow up from the same wallet — and nothing else.
//!
//! Invariants: a member's `spent_fen` = Σ escrowed + topped up + bonded − refunded over its
//! wallet-funded trades, and never exceeds its `limit_fen` after an order or a top-up; a
//! wallet's balance moves only by mint, burn, orders, top-ups, bonds and refunds.

use std::fmt;

use serde::{Deserialize, Serialize};
use suanli_primitives::hash::sha256_parts;
use suanli_primitives::{Fen, PublicKey};

use crate::model::{InvalidValue, PartyDid};

/// Longest wallet name, in bytes.
pub const WALLET_NAME_LEN_MAX: usize = 64;
/// Most members one wallet records.
pub const WALLET_MEMBERS_MAX: u32 = 10_000;
/// Longest mint/burn reference, in bytes.
pub const WALLET_REFERENCE_LEN_MAX: usize = 128;
/// Longest channel endpoint in a delegation, in bytes.
pub const ENDPOINT_LEN_MAX: usize = 200;

/// A wallet's name: 1–64 of `a-z 0-9 : _ -` (the platform uses `org:<organisation id>`).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WalletName(String);

impl WalletName {
    pub fn parse(text: &str) -> Result<Self, InvalidValue> {
        let ok = !text.is_empty()
            && text.len() <= WALLET_NAME_LEN_MAX
            && text
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b":_-".contains(&b));
        if !ok {
            return Err(InvalidValue(format!(
                "a wallet name is 1..={WALLET_NAME_LEN_MAX} of a-z 0-9 : _ - (e.g. org:42), not {text:?}"
            )));
        }
        Ok(WalletName(text.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for WalletName {
    type Error = InvalidValue;
    fn try_from(s: String) -> Result<Self, InvalidValue> {
        WalletName::parse(&s)
    }
}

impl From<WalletName> for String {
    fn from(w: WalletName) -> String {
        w.0
    }
}

impl fmt::Display for WalletName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for WalletName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WalletName({})", self.0)
    }
}

/// The consumer's delegation of its channel side, carried by (and signed with) the order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelDelegation {
    /// The delegated key: the consumer's side of the trade's channel.
    pub key: PublicKey,
    /// Where that key's channel controller listens (`tcp://host:port`), for the supplier.
    pub endpoint: String,
    /// The delegation ends here (unix ms): the key signs nothing for the trade afterwards.
    pub valid_until_ms: u64,
}

impl ChannelDelegation {
    /// The endpoint is 1–200 printable ASCII characters without spaces.
    pub fn check(&self) -> Result<(), InvalidValue> {
        let e = &self.endpoint;
        if e.is_empty() || e.len() > ENDPOINT_LEN_MAX || !e.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(InvalidValue(format!(
                "a channel endpoint is 1..={ENDPOINT_LEN_MAX} printable characters without spaces"
            )));
        }
        Ok(())
    }
}

/// A wallet's own state (`trade/w/<name>`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wallet {
    pub suspended: bool,
    /// Members recorded so far (the index `trade/wm_i/<name>/<u32 BE n>` → DID).
    pub members: u32,
}

/// One member of a wallet (`trade/wm/<name>/<did>`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletMember {
    /// The most the member may have out of the wallet (0: none).
    pub limit_fen: Fen,
    /// Out of the wallet through the member's trades: escrowed + topped up + bonded −
    /// refunded.
    pub spent_fen: Fen,
}

pub fn wallet_key(name: &WalletName) -> Vec<u8> {
    let mut k = b"trade/w/".to_vec();
    k.extend_from_slice(name.as_str().as_bytes());
    k
}

pub fn wallet_member_key(name: &WalletName, did: &PartyDid) -> Vec<u8> {
    let mut k = b"trade/wm/".to_vec();
    k.extend_from_slice(name.as_str().as_bytes());
    k.push(b'/');
    k.extend_from_slice(did.as_str().as_bytes());
    k
}

pub fn wallet_member_index_key(name: &WalletName, n: u32) -> Vec<u8> {
    let mut k = b"trade/wm_i/".to_vec();
    k.extend_from_slice(name.as_str().as_bytes());
    k.push(b'/');
    k.extend_from_slice(&n.to_be_bytes());
    k
}

/// The settlement-credit account of a wallet: the first of SHA-256("suanli/trade/wallet/v1"
/// ‖ len‖name ‖ counter u32 BE) that is not a valid public key (like
/// [`crate::records::escrow_account`]: no one holds a key for it, so no credit transfer or
/// mint can name it).
pub fn wallet_account(name: &WalletName) -> [u8; 32] {
    let len = (name.as_str().len() as u32).to_be_bytes();
    let candidate = |counter: u32| {
        *sha256_parts(&[
            b"suanli/trade/wallet/v1".as_slice(),
            &len,
            name.as_str().as_bytes(),
            &counter.to_be_bytes(),
        ])
        .as_bytes()
    };
    (0..=u32::MAX)
        .map(candidate)
        .find(|account| PublicKey::from_bytes(account).is_err())
        .unwrap_or_else(|| candidate(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert!(WalletName::parse("org:42").is_ok());
        assert!(WalletName::parse("").is_err());
        assert!(WalletName::parse("Org:42").is_err());
        assert!(WalletName::parse("org 42").is_err());
        assert!(WalletName::parse(&"a".repeat(65)).is_err());
    }

    #[test]
    fn wallet_accounts_are_not_keys_and_differ() {
        let a = wallet_account(&WalletName::parse("org:1").unwrap());
        let b = wallet_account(&WalletName::parse("org:2").unwrap());
        assert_ne!(a, b);
        assert!(PublicKey::from_bytes(&a).is_err());
    }
}
