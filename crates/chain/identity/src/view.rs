//! Read side of the identity chain: DID resolution in the DIF Universal Resolver shape
//! (current or at a past `versionTime`/`versionId`), CPT and status-list lookups, and
//! [`ChainResolver`], which implements the credential verifier's lookup traits on top of
//! one consistent snapshot of the chain state.

use serde_json::{Value, json};
use suanli_primitives::{NetworkName, PublicKey};
use suanli_vc::did_key::DidKey;
use suanli_vc::proof::ProofPurpose;
use suanli_vc::verify::{KeyResolver, LookupError, SchemaResolver, StatusResolver};

use crate::contract::{self, StateRead};
use crate::did::{DidError, DidId, Fragment, SuanliDid, split_did_url};
use crate::document::{DidVersion, Relationships};
use crate::op::StatusPurpose;
use crate::urn;

/// The standard resolution errors (DID Resolution v0.3 §7.1.2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("invalidDid: {0}")]
    InvalidDid(String),
    #[error("notFound: {0}")]
    NotFound(String),
    #[error("methodNotSupported: {0}")]
    MethodNotSupported(String),
    #[error("internalError: {0}")]
    Internal(String),
}

impl ResolveError {
    /// The `didResolutionMetadata.error` value.
    pub fn code(&self) -> &'static str {
        match self {
            ResolveError::InvalidDid(_) => "invalidDid",
            ResolveError::NotFound(_) => "notFound",
            ResolveError::MethodNotSupported(_) => "methodNotSupported",
            ResolveError::Internal(_) => "internalError",
        }
    }

    /// The complete resolution result for this error.
    pub fn to_json(&self) -> Value {
        json!({
            "@context": "https://w3id.org/did-resolution/v1",
            "didDocument": null,
            "didDocumentMetadata": {},
            "didResolutionMetadata": {"error": self.code(), "errorMessage": self.to_string()},
        })
    }
}

impl From<DidError> for ResolveError {
    fn from(e: DidError) -> Self {
        match e {
            DidError::Invalid { .. } => ResolveError::InvalidDid(e.to_string()),
            DidError::MethodNotSupported(m) => ResolveError::MethodNotSupported(m),
        }
    }
}

/// Which version to resolve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VersionSelector {
    #[default]
    Latest,
    /// The version in force at this time (milliseconds since the Unix epoch).
    AtTime(u64),
    /// A `versionId` (1, 2, …).
    Id(u32),
}

/// A DID's history seen at one snapshot.
#[derive(Debug, Clone)]
pub struct DidHistory {
    pub did: SuanliDid,
    pub count: u32,
}

/// Resolves `did` against `state` of `network`'s identity chain. `did:key` DIDs resolve
/// without the chain.
pub fn resolve(
    state: &(impl StateRead + ?Sized),
    network: &NetworkName,
    did: &str,
    selector: VersionSelector,
) -> Result<Value, ResolveError> {
    if did.starts_with("did:key:") {
        let key = DidKey::parse(did).map_err(|e| ResolveError::InvalidDid(e.to_string()))?;
        return Ok(json!({
            "@context": "https://w3id.org/did-resolution/v1",
            "didDocument": key.document(),
            "didDocumentMetadata": {},
            "didResolutionMetadata": {"contentType": "application/did+ld+json"},
        }));
    }
    let parsed = SuanliDid::parse(did)?;
    let (version, latest) = select(state, network, &parsed, selector)?;
    let created = contract_version(state, parsed.id(), 1)?;
    let mut metadata = json!({
        "created": format_ms(created.timestamp_ms)?,
        "versionId": version.version.to_string(),
        "deactivated": version.state.deactivated,
        "blockHeight": version.height,
    });
    if version.version > 1 {
        metadata["updated"] = json!(format_ms(version.timestamp_ms)?);
    }
    if version.version < latest.version {
        metadata["nextVersionId"] = json!((version.version + 1).to_string());
        let next = contract_version(state, parsed.id(), version.version + 1)?;
        metadata["nextUpdate"] = json!(format_ms(next.timestamp_ms)?);
    }
    Ok(json!({
        "@context": "https://w3id.org/did-resolution/v1",
        "didDocument": version.state.to_json(&parsed),
        "didDocumentMetadata": metadata,
        "didResolutionMetadata": {"contentType": "application/did+ld+json"},
    }))
}

fn format_ms(ms: u64) -> Result<String, ResolveError> {
    suanli_vc::time::format_datetime_ms(ms).map_err(|e| ResolveError::Internal(e.to_string()))
}

fn contract_version(
    state: &(impl StateRead + ?Sized),
    id: &DidId,
    n: u32,
) -> Result<DidVersion, ResolveError> {
    contract::version(state, id, n).map_err(|e| ResolveError::Internal(e.to_string()))
}

/// The selected version and the latest one.
pub fn select(
    state: &(impl StateRead + ?Sized),
    network: &NetworkName,
    did: &SuanliDid,
    selector: VersionSelector,
) -> Result<(DidVersion, DidVersion), ResolveError> {
    if did.network() != network {
        return Err(ResolveError::NotFound(format!(
            "{did} belongs to network {}, this node serves {network}",
            did.network()
        )));
    }
    let count = contract::version_count(state, did.id())
        .map_err(|e| ResolveError::Internal(e.to_string()))?;
    if count == 0 {
        return Err(ResolveError::NotFound(format!(
            "{did} is not on the identity chain"
        )));
    }
    let latest = contract_version(state, did.id(), count)?;
    let chosen = match selector {
        VersionSelector::Latest => return Ok((latest.clone(), latest)),
        VersionSelector::Id(n) if (1..=count).contains(&n) => n,
        VersionSelector::Id(n) => {
            return Err(ResolveError::NotFound(format!(
                "{did} has no version {n} (latest is {count})"
            )));
        }
        VersionSelector::AtTime(at) => {
            // Versions are in block order, so their timestamps never decrease: binary
            // search for the last version at or before `at`.
            let (mut lo, mut hi) = (1u32, count);
            if contract_version(state, did.id(), 1)?.timestamp_ms > at {
                return Err(ResolveError::NotFound(format!(
                    "{did} did not exist at the requested time"
                )));
            }
            while lo < hi {
                let mid = lo + (hi - lo).div_ceil(2);
                if contract_version(state, did.id(), mid)?.timestamp_ms <= at {
                    lo = mid;
                } else {
                    hi = mid - 1;
                }
            }
            lo
        }
    };
    Ok((contract_version(state, did.id(), chosen)?, latest))
}

/// Implements the verifier's lookups (keys at a time, CPT schemas, status bits) against
/// one snapshot of the identity chain; `did:key` keys resolve without the chain.
#[derive(Debug)]
pub struct ChainResolver<'a, S: StateRead + ?Sized> {
    pub state: &'a S,
    pub network: &'a NetworkName,
    /// The genesis authority's DID id (from the identity genesis's operator key).
    pub authority: &'a DidId,
}

impl<S: StateRead + ?Sized> ChainResolver<'_, S> {
    fn not_found(e: ResolveError) -> LookupError {
        match e {
            ResolveError::InvalidDid(m) => LookupError::InvalidDid(m),
            ResolveError::NotFound(m) => LookupError::NotFound(m),
            ResolveError::MethodNotSupported(m) => LookupError::MethodNotSupported(m),
            ResolveError::Internal(m) => LookupError::Unavailable(m),
        }
    }

    /// The key behind `fragment` of `did` at `at_ms`, for `relationship`.
    pub fn key_for(
        &self,
        did: &SuanliDid,
        fragment: &Fragment,
        at_ms: u64,
        relationship: Relationships,
    ) -> Result<PublicKey, LookupError> {
        let url = did.url(fragment);
        let (then, latest) = select(
            self.state,
            self.network,
            did,
            VersionSelector::AtTime(at_ms),
        )
        .map_err(|e| match e {
            ResolveError::NotFound(_) if self.exists(did) => LookupError::KeyNotValidAt {
                verification_method: url.clone(),
                at_ms,
            },
            other => Self::not_found(other),
        })?;
        // Deactivation withdraws every credential the DID issued (it is how a compromised
        // identity is shut down), so it counts whenever it happened.
        if latest.state.deactivated || then.state.deactivated {
            return Err(LookupError::Deactivated(did.to_string()));
        }
        then.state
            .method(fragment)
            .filter(|m| m.relationships.contains(relationship))
            .map(|m| m.key)
            .ok_or(LookupError::KeyNotValidAt {
                verification_method: url,
                at_ms,
            })
    }

    fn exists(&self, did: &SuanliDid) -> bool {
        did.network() == self.network
            && contract::version_count(self.state, did.id()).is_ok_and(|n| n > 0)
    }

    /// The key for a holder's authentication proof at `at_ms`.
    pub fn authentication_key(
        &self,
        verification_method: &str,
        at_ms: u64,
    ) -> Result<PublicKey, LookupError> {
        self.lookup(verification_method, at_ms, Relationships::AUTHENTICATION)
    }

    fn lookup(
        &self,
        verification_method: &str,
        at_ms: u64,
        relationship: Relationships,
    ) -> Result<PublicKey, LookupError> {
        if verification_method.starts_with("did:key:") {
            // A did:key's single method holds every relationship.
            return suanli_vc::verify::DidKeyResolver.key_at(
                verification_method,
                at_ms,
                ProofPurpose::AssertionMethod,
            );
        }
        let (did, fragment) = split_did_url(verification_method).map_err(|e| match e {
            DidError::Invalid { .. } => LookupError::InvalidDid(e.to_string()),
            DidError::MethodNotSupported(m) => LookupError::MethodNotSupported(m),
        })?;
        self.key_for(&did, &fragment, at_ms, relationship)
    }
}

impl<S: StateRead + ?Sized> KeyResolver for ChainResolver<'_, S> {
    fn key_at(
        &self,
        verification_method: &str,
        at_ms: u64,
        purpose: ProofPurpose,
    ) -> Result<PublicKey, LookupError> {
        // The method must hold the relationship the proof claims: a login key
        // (authentication only) cannot sign credentials, an assertion key cannot present.
        let relationship = match purpose {
            ProofPurpose::AssertionMethod => Relationships::ASSERTION_METHOD,
            ProofPurpose::Authentication => Relationships::AUTHENTICATION,
        };
        self.lookup(verification_method, at_ms, relationship)
    }
}

impl<S: StateRead + ?Sized> SchemaResolver for ChainResolver<'_, S> {
    fn schema(&self, schema_id: &str) -> Result<Value, LookupError> {
        let (network, cpt, version) =
            urn::parse_cpt(schema_id).map_err(|e| LookupError::NotFound(e.into()))?;
        if &network != self.network {
            return Err(LookupError::NotFound(format!(
                "{schema_id} is not a CPT of network {}",
                self.network
            )));
        }
        crate::cpt::schema(self.state, cpt, version)
            .map_err(|e| LookupError::Unavailable(e.to_string()))?
            .ok_or_else(|| LookupError::NotFound(format!("no CPT {cpt} version {version}")))
    }

    fn issuer_may_use(&self, schema_id: &str, issuer: &str, at_ms: u64) -> Result<(), LookupError> {
        let (_, cpt, version) =
            urn::parse_cpt(schema_id).map_err(|e| LookupError::NotFound(e.into()))?;
        let info = crate::cpt::get(self.state, cpt, Some(version))
            .map_err(|e| LookupError::Unavailable(e.to_string()))?
            .ok_or_else(|| LookupError::NotFound(format!("no CPT {cpt} version {version}")))?;
        if !info.qualification {
            return Ok(());
        }
        // Qualification credentials (KYC, licences) count only from the authority or an
        // issuer admitted when it issued them.
        let did =
            SuanliDid::parse(issuer).map_err(|e| LookupError::NotAuthorised(e.to_string()))?;
        if did.network() == self.network && did.id() == self.authority {
            return Ok(());
        }
        let admitted = did.network() == self.network
            && contract::issuer_record(self.state, did.id())
                .map_err(|e| LookupError::Unavailable(e.to_string()))?
                .is_some_and(|r| r.admitted_at(at_ms));
        if admitted {
            Ok(())
        } else {
            Err(LookupError::NotAuthorised(format!(
                "CPT {cpt} is a qualification template and {issuer} was not an admitted issuer when it issued"
            )))
        }
    }
}

impl<S: StateRead + ?Sized> StatusResolver for ChainResolver<'_, S> {
    fn is_set(
        &self,
        list_credential: &str,
        purpose: StatusPurpose,
        index: u64,
        issuer: &str,
    ) -> Result<bool, LookupError> {
        let list =
            urn::parse_status(list_credential).map_err(|e| LookupError::NotFound(e.into()))?;
        let owner = SuanliDid::new(list.network.clone(), list.issuer.clone()).to_string();
        if owner != issuer {
            return Err(LookupError::NotAuthorised(format!(
                "{list_credential} belongs to {owner}, not to the credential's issuer {issuer}"
            )));
        }
        if &list.network != self.network {
            return Err(LookupError::NotFound(format!(
                "{list_credential} is not a status list of network {}",
                self.network
            )));
        }
        if list.purpose != purpose {
            return Err(LookupError::NotFound(format!(
                "{list_credential} is a {} list, not {}",
                list.purpose.as_str(),
                purpose.as_str()
            )));
        }
        let index = u32::try_from(index)
            .map_err(|_| LookupError::NotFound("status index out of range".into()))?;
        contract::status_is_set(self.state, &list.issuer, purpose, list.list, index)
            .map_err(|e| LookupError::Unavailable(e.to_string()))
    }
}
