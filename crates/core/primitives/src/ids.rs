//! Typed identifiers: networks and the logical chains a node hosts.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Longest network name, in bytes.
pub const NETWORK_NAME_LEN_MAX: usize = 32;

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum IdError {
    #[error(
        "network name must be 1..={NETWORK_NAME_LEN_MAX} characters of a-z, 0-9 and '-', got {0:?}"
    )]
    BadNetworkName(String),
    #[error("unknown chain {0:?}: expected \"identity\" or \"trade\"")]
    UnknownChainKind(String),
    #[error("chain id must look like <network>/<identity|trade>, got {0:?}")]
    BadChainId(String),
}

/// The name of a suanli network (a consortium), e.g. `suanli-local`. Binds every
/// transaction to one network so that it cannot be replayed on another.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NetworkName(String);

impl NetworkName {
    pub fn new(name: &str) -> Result<Self, IdError> {
        let valid = !name.is_empty()
            && name.len() <= NETWORK_NAME_LEN_MAX
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if valid {
            Ok(NetworkName(name.to_owned()))
        } else {
            Err(IdError::BadNetworkName(name.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NetworkName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NetworkName({})", self.0)
    }
}

impl fmt::Display for NetworkName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The two logical chains every node hosts, each with its own height and hash chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChainKind {
    /// DIDs, DID documents, CPT templates, credential status.
    Identity,
    /// Trade modes, trade records, settlements, channels, ratings, settlement credits.
    Trade,
}

impl ChainKind {
    pub const ALL: [ChainKind; 2] = [ChainKind::Identity, ChainKind::Trade];

    /// The one-byte code used in binary encodings.
    pub const fn code(self) -> u8 {
        match self {
            ChainKind::Identity => 1,
            ChainKind::Trade => 2,
        }
    }

    pub const fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(ChainKind::Identity),
            2 => Some(ChainKind::Trade),
            _ => None,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            ChainKind::Identity => "identity",
            ChainKind::Trade => "trade",
        }
    }
}

impl fmt::Display for ChainKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ChainKind {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "identity" => Ok(ChainKind::Identity),
            "trade" => Ok(ChainKind::Trade),
            other => Err(IdError::UnknownChainKind(other.to_owned())),
        }
    }
}

/// A chain identifier: network plus chain kind, written `suanli-local/trade`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChainId {
    network: NetworkName,
    kind: ChainKind,
}

impl ChainId {
    pub fn new(network: NetworkName, kind: ChainKind) -> Self {
        ChainId { network, kind }
    }

    pub fn network(&self) -> &NetworkName {
        &self.network
    }

    pub fn kind(&self) -> ChainKind {
        self.kind
    }
}

impl fmt::Debug for ChainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChainId({self})")
    }
}

impl fmt::Display for ChainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.kind)
    }
}

impl FromStr for ChainId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (network, kind) = s
            .split_once('/')
            .ok_or_else(|| IdError::BadChainId(s.to_owned()))?;
        Ok(ChainId::new(NetworkName::new(network)?, kind.parse()?))
    }
}

impl Serialize for ChainId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ChainId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_id_round_trip() {
        let id: ChainId = "suanli-local/trade".parse().unwrap();
        assert_eq!(id.kind(), ChainKind::Trade);
        assert_eq!(id.to_string(), "suanli-local/trade");
    }

    #[test]
    fn bad_ids_are_rejected_with_reason() {
        assert!(matches!(
            "x".parse::<ChainId>(),
            Err(IdError::BadChainId(_))
        ));
        assert!(matches!(
            "Net/trade".parse::<ChainId>(),
            Err(IdError::BadNetworkName(_))
        ));
        assert!(matches!(
            "net/other".parse::<ChainId>(),
            Err(IdError::UnknownChainKind(_))
        ));
        assert!(NetworkName::new(&"a".repeat(33)).is_err());
    }
}
