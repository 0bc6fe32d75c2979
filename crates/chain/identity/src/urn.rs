//! Identifiers of on-chain resources that credentials point at:
//! - a CPT version: `urn:suanli:<network>:cpt:<id>:<version>` (the `credentialSchema` id);
//! - a status list: `urn:suanli:<network>:status:<issuer id>:<purpose>:<list>` (the
//!   `statusListCredential` of a credential's `BitstringStatusListEntry`).
//!
//! The node serves both (`GET /1.0/cpts/…`, `GET /1.0/status/…`); see `docs/did-method.md`.

use crate::did::InvalidValue;
use suanli_primitives::NetworkName;

use crate::did::DidId;
use crate::op::{STATUS_LISTS_MAX, StatusPurpose};

pub fn cpt(network: &NetworkName, id: u32, version: u32) -> String {
    format!("urn:suanli:{}:cpt:{id}:{version}", network.as_str())
}

pub fn parse_cpt(text: &str) -> Result<(NetworkName, u32, u32), InvalidValue> {
    parse_cpt_text(text).map_err(InvalidValue)
}

fn parse_cpt_text(text: &str) -> Result<(NetworkName, u32, u32), String> {
    let bad = || format!("{text:?} is not a CPT id (urn:suanli:<network>:cpt:<id>:<version>)");
    let parts: Vec<&str> = text.split(':').collect();
    let ["urn", "suanli", network, "cpt", id, version] = parts.as_slice() else {
        return Err(bad());
    };
    let network = NetworkName::new(network).map_err(|_| bad())?;
    let id = id.parse().map_err(|_| bad())?;
    let version = version.parse().map_err(|_| bad())?;
    Ok((network, id, version))
}

/// A status list's coordinates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusListId {
    pub network: NetworkName,
    pub issuer: DidId,
    pub purpose: StatusPurpose,
    pub list: u16,
}

impl StatusListId {
    pub fn urn(&self) -> String {
        format!(
            "urn:suanli:{}:status:{}:{}:{}",
            self.network.as_str(),
            self.issuer,
            self.purpose.as_str(),
            self.list
        )
    }
}

pub fn parse_status(text: &str) -> Result<StatusListId, InvalidValue> {
    parse_status_text(text).map_err(InvalidValue)
}

fn parse_status_text(text: &str) -> Result<StatusListId, String> {
    let bad = || {
        format!(
            "{text:?} is not a status list id (urn:suanli:<network>:status:<issuer id>:<purpose>:<list>)"
        )
    };
    let parts: Vec<&str> = text.split(':').collect();
    let ["urn", "suanli", network, "status", issuer, purpose, list] = parts.as_slice() else {
        return Err(bad());
    };
    let list: u16 = list.parse().map_err(|_| bad())?;
    if list >= STATUS_LISTS_MAX {
        return Err(bad());
    }
    Ok(StatusListId {
        network: NetworkName::new(network).map_err(|_| bad())?,
        issuer: DidId::parse(issuer).map_err(|_| bad())?,
        purpose: StatusPurpose::parse(purpose).ok_or_else(bad)?,
        list,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urns_round_trip_and_reject_other_shapes() {
        let net = NetworkName::new("n1").unwrap();
        assert_eq!(
            parse_cpt(&cpt(&net, 1000, 2)).unwrap(),
            (net.clone(), 1000, 2)
        );
        assert!(parse_cpt("urn:suanli:n1:cpt:x:1").is_err());
        assert!(parse_cpt("https://example.com/cpt/1").is_err());
        let id = StatusListId {
            network: net,
            issuer: DidId::parse("abc").unwrap(),
            purpose: StatusPurpose::Revocation,
            list: 3,
        };
        assert_eq!(parse_status(&id.urn()).unwrap(), id);
        assert!(parse_status("urn:suanli:n1:status:abc:revocation:99999").is_err());
        assert!(parse_status("urn:suanli:n1:status:abc:other:1").is_err());
    }
}
