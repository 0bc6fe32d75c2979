//! The identity contract: executes [`IdentityOp`]s against the identity chain's state.
//! Every rejection is a [`ContractError`] whose code names the rule.

use suanli_ledger::contract::{ContractError, TxContext};
use suanli_ledger::state::StateAccess;
use suanli_ledger::{ContractId, ExtensionContract};
use suanli_primitives::PublicKey;

use crate::did::{DidId, Fragment};
use crate::document::{
    DidState, DidVersion, METHODS_MAX, Relationships, SERVICES_MAX, Service, VerificationMethod,
};
use crate::keys;
use crate::op::{IdentityOp, STATUS_LIST_BITS, StatusPurpose};
use crate::records::{CptMeta, CptVersion, IssuerRecord, decode_id_list, encode_id_list};

/// Most versions one DID's history may hold.
pub const DID_VERSIONS_MAX: u32 = 4096;
/// Most issuers the Authority-Issuer list may ever hold.
pub const ISSUERS_MAX: usize = 1024;
/// Most versions of one CPT.
pub const CPT_VERSIONS_MAX: u32 = 256;
/// First id given to a registered CPT; ids below are reserved for built-in templates.
pub const CPT_ID_FIRST: u32 = 1000;
/// Most CPTs the registry may hold.
pub const CPTS_MAX: u32 = 1_000_000;

fn err(code: &'static str, message: impl Into<String>) -> ContractError {
    ContractError::new(code, message)
}

fn corrupt(what: &str) -> ContractError {
    err("state_corrupt", format!("stored {what} does not decode"))
}

/// The identity-chain system contract.
#[derive(Debug, Default, Clone, Copy)]
pub struct IdentityContract;

impl ExtensionContract for IdentityContract {
    fn id(&self) -> ContractId {
        ContractId::Identity
    }

    fn check(&self, body: &[u8]) -> Result<(), ContractError> {
        IdentityOp::decode(body)
            .map(|_| ())
            .map_err(|e| err("malformed_call", e.to_string()))
    }

    fn execute(
        &self,
        ctx: &TxContext<'_>,
        body: &[u8],
        state: &mut dyn StateAccess,
    ) -> Result<(), ContractError> {
        let op = IdentityOp::decode(body).map_err(|e| err("malformed_call", e.to_string()))?;
        Exec { ctx, state }.run(op)
    }
}

struct Exec<'a, 'b> {
    ctx: &'a TxContext<'b>,
    state: &'a mut dyn StateAccess,
}

impl Exec<'_, '_> {
    fn run(&mut self, op: IdentityOp) -> Result<(), ContractError> {
        match op {
            IdentityOp::CreateDid => self.create(),
            IdentityOp::AddKey {
                did,
                fragment,
                key,
                relationships,
            } => self.update(&did, |doc| add_key(doc, fragment, key, relationships)),
            IdentityOp::RemoveKey { did, fragment } => {
                self.update(&did, |doc| remove_key(doc, &fragment))
            }
            IdentityOp::RotateKey { did, old, new, key } => {
                self.update(&did, |doc| rotate_key(doc, &old, new, key))
            }
            IdentityOp::SetService {
                did,
                fragment,
                service_type,
                endpoint,
            } => self.update(&did, |doc| {
                set_service(doc, fragment, service_type, endpoint)
            }),
            IdentityOp::RemoveService { did, fragment } => self.update(&did, |doc| {
                let before = doc.services.len();
                doc.services.retain(|s| s.fragment != fragment);
                if doc.services.len() == before {
                    return Err(err("service_not_found", format!("no service #{fragment}")));
                }
                Ok(())
            }),
            IdentityOp::Deactivate { did } => self.update(&did, |doc| {
                doc.deactivated = true;
                Ok(())
            }),
            IdentityOp::AdmitIssuer {
                authority,
                issuer,
                name,
            } => self.admit_issuer(&authority, &issuer, name),
            IdentityOp::RemoveIssuer { authority, issuer } => {
                self.remove_issuer(&authority, &issuer)
            }
            IdentityOp::RegisterCpt {
                publisher,
                cpt,
                qualification,
                schema_json,
            } => self.register_cpt(&publisher, cpt, qualification, schema_json),
            IdentityOp::SetStatus {
                issuer,
                purpose,
                list,
                index,
                set,
            } => self.set_status(&issuer, purpose, list, index, set),
        }
    }

    fn create(&mut self) -> Result<(), ContractError> {
        let id = DidId::derive(self.ctx.signer);
        if self.state.get(&keys::did_count(&id)).is_some() {
            return Err(err(
                "did_exists",
                format!("a DID with id {id} (derived from this key) already exists"),
            ));
        }
        let fragment = Fragment::new("key-1").map_err(|e| err("internal", e))?;
        let doc = DidState {
            methods: vec![VerificationMethod {
                fragment,
                key: *self.ctx.signer,
                relationships: Relationships::ALL,
            }],
            services: Vec::new(),
            deactivated: false,
        };
        self.write_version(&id, 1, doc);
        Ok(())
    }

    fn write_version(&mut self, id: &DidId, version: u32, doc: DidState) {
        let record = DidVersion {
            version,
            height: self.ctx.height,
            timestamp_ms: self.ctx.timestamp_ms,
            state: doc,
        };
        self.state
            .put(keys::did_version(id, version), record.encode());
        self.state
            .put(keys::did_count(id), version.to_be_bytes().to_vec());
    }

    /// The DID's current version, provided the signer may act for it.
    fn authorize(&self, id: &DidId) -> Result<DidVersion, ContractError> {
        let head = head(&*self.state, id)?;
        if head.state.deactivated {
            return Err(err("did_deactivated", format!("DID {id} is deactivated")));
        }
        if !head.state.is_controller_key(self.ctx.signer) {
            return Err(err(
                "not_controller",
                format!("the signer is not a capabilityInvocation key of DID {id}"),
            ));
        }
        Ok(head)
    }

    fn update(
        &mut self,
        id: &DidId,
        change: impl FnOnce(&mut DidState) -> Result<(), ContractError>,
    ) -> Result<(), ContractError> {
        let head = self.authorize(id)?;
        if head.version >= DID_VERSIONS_MAX {
            return Err(err(
                "did_history_full",
                format!("DID {id} has {DID_VERSIONS_MAX} versions; create a new DID"),
            ));
        }
        let mut doc = head.state;
        change(&mut doc)?;
        self.write_version(id, head.version + 1, doc);
        Ok(())
    }

    fn require_authority(&self, authority: &DidId) -> Result<(), ContractError> {
        if authority != &DidId::derive(self.ctx.operator) {
            return Err(err(
                "not_authority",
                format!("{authority} is not the genesis authority of this network"),
            ));
        }
        self.authorize(authority).map(|_| ())
    }

    fn admit_issuer(
        &mut self,
        authority: &DidId,
        issuer: &DidId,
        name: String,
    ) -> Result<(), ContractError> {
        self.require_authority(authority)?;
        let target = head(&*self.state, issuer)?;
        if target.state.deactivated {
            return Err(err(
                "did_deactivated",
                format!("DID {issuer} is deactivated"),
            ));
        }
        let previous = issuer_record(&*self.state, issuer)?;
        if previous.as_ref().is_some_and(IssuerRecord::is_admitted) {
            return Err(err(
                "issuer_already_admitted",
                format!("{issuer} is already an admitted issuer"),
            ));
        }
        let mut periods = previous.map(|r| r.periods).unwrap_or_default();
        if periods.len() >= crate::records::ADMISSIONS_MAX {
            return Err(err(
                "issuer_history_full",
                format!("{issuer} was admitted {} times already", periods.len()),
            ));
        }
        periods.push((self.ctx.timestamp_ms, None));
        let mut list = issuer_ids(&*self.state)?;
        if !list.contains(issuer) {
            if list.len() >= ISSUERS_MAX {
                return Err(err(
                    "issuer_list_full",
                    format!("the issuer list holds {ISSUERS_MAX} issuers"),
                ));
            }
            list.push(issuer.clone());
            self.state
                .put(keys::ISSUER_LIST.to_vec(), encode_id_list(&list));
        }
        let record = IssuerRecord { name, periods };
        self.state.put(keys::issuer(issuer), record.encode());
        Ok(())
    }

    fn remove_issuer(&mut self, authority: &DidId, issuer: &DidId) -> Result<(), ContractError> {
        self.require_authority(authority)?;
        let mut record = issuer_record(&*self.state, issuer)?
            .filter(IssuerRecord::is_admitted)
            .ok_or_else(|| {
                err(
                    "issuer_not_admitted",
                    format!("{issuer} is not an admitted issuer"),
                )
            })?;
        if let Some(last) = record.periods.last_mut() {
            last.1 = Some(self.ctx.timestamp_ms);
        }
        self.state.put(keys::issuer(issuer), record.encode());
        Ok(())
    }

    fn register_cpt(
        &mut self,
        publisher: &DidId,
        cpt: Option<u32>,
        qualification: bool,
        schema_json: String,
    ) -> Result<(), ContractError> {
        self.authorize(publisher)?;
        if qualification && !self.may_issue_qualifications(publisher)? {
            return Err(err(
                "issuer_not_admitted",
                format!(
                    "{publisher} is not an admitted issuer, so it cannot register qualification CPTs"
                ),
            ));
        }
        let (id, meta) = match cpt {
            None => {
                let id = next_cpt_id(&*self.state)?;
                if id >= CPT_ID_FIRST + CPTS_MAX {
                    return Err(err("cpt_registry_full", "the CPT registry is full"));
                }
                self.state
                    .put(keys::CPT_NEXT.to_vec(), (id + 1).to_be_bytes().to_vec());
                let meta = CptMeta {
                    publisher: publisher.clone(),
                    qualification,
                    versions: 1,
                };
                (id, meta)
            }
            Some(id) => {
                let mut meta = cpt_meta(&*self.state, id)?
                    .ok_or_else(|| err("cpt_not_found", format!("no registered CPT {id}")))?;
                if &meta.publisher != publisher {
                    return Err(err(
                        "not_cpt_publisher",
                        format!("CPT {id} belongs to {}", meta.publisher),
                    ));
                }
                if meta.qualification != qualification {
                    return Err(err(
                        "cpt_kind_mismatch",
                        format!(
                            "CPT {id} qualification flag is {}; a new version cannot change it",
                            meta.qualification
                        ),
                    ));
                }
                if meta.versions >= CPT_VERSIONS_MAX {
                    return Err(err(
                        "cpt_versions_full",
                        format!("CPT {id} has {CPT_VERSIONS_MAX} versions"),
                    ));
                }
                meta.versions += 1;
                (id, meta)
            }
        };
        let version = CptVersion {
            schema_json,
            published_ms: self.ctx.timestamp_ms,
            height: self.ctx.height,
        };
        self.state
            .put(keys::cpt_version(id, meta.versions), version.encode());
        self.state.put(keys::cpt_meta(id), meta.encode());
        Ok(())
    }

    fn may_issue_qualifications(&self, did: &DidId) -> Result<bool, ContractError> {
        if did == &DidId::derive(self.ctx.operator) {
            return Ok(true);
        }
        Ok(issuer_record(&*self.state, did)?.is_some_and(|r| r.is_admitted()))
    }

    fn set_status(
        &mut self,
        issuer: &DidId,
        purpose: StatusPurpose,
        list: u16,
        index: u32,
        set: bool,
    ) -> Result<(), ContractError> {
        self.authorize(issuer)?;
        if index >= STATUS_LIST_BITS {
            return Err(err(
                "status_index_out_of_range",
                format!("index must be below {STATUS_LIST_BITS}"),
            ));
        }
        let chunk_bits = (keys::STATUS_CHUNK_BYTES * 8) as u32;
        let chunk_no = (index / chunk_bits) as u16;
        let key = keys::status_chunk(issuer, purpose, list, chunk_no);
        let mut chunk = self
            .state
            .get(&key)
            .unwrap_or_else(|| vec![0; keys::STATUS_CHUNK_BYTES]);
        if chunk.len() != keys::STATUS_CHUNK_BYTES {
            return Err(corrupt("status chunk"));
        }
        let bit = (index % chunk_bits) as usize;
        let (byte, mask) = (bit / 8, 0x80u8 >> (bit % 8));
        let is_set = chunk[byte] & mask != 0;
        match (set, is_set, purpose) {
            (true, true, _) => {
                return Err(err(
                    "status_already_set",
                    format!("{} bit {list}/{index} is already set", purpose.as_str()),
                ));
            }
            (false, _, StatusPurpose::Revocation) => {
                return Err(err(
                    "revocation_permanent",
                    "a revoked credential cannot be reinstated",
                ));
            }
            (false, false, _) => {
                return Err(err(
                    "status_not_set",
                    format!("suspension bit {list}/{index} is not set"),
                ));
            }
            (true, false, _) => chunk[byte] |= mask,
            (false, true, _) => chunk[byte] &= !mask,
        }
        self.state.put(key, chunk);
        Ok(())
    }
}

fn add_key(
    doc: &mut DidState,
    fragment: Fragment,
    key: PublicKey,
    relationships: Relationships,
) -> Result<(), ContractError> {
    if doc.method(&fragment).is_some() {
        return Err(err(
            "method_exists",
            format!("method #{fragment} already exists"),
        ));
    }
    if doc.methods.iter().any(|m| m.key == key) {
        return Err(err(
            "key_already_present",
            "this key is already a method of the DID",
        ));
    }
    if doc.methods.len() >= METHODS_MAX {
        return Err(err(
            "too_many_methods",
            format!("a DID holds at most {METHODS_MAX} methods"),
        ));
    }
    doc.methods.push(VerificationMethod {
        fragment,
        key,
        relationships,
    });
    Ok(())
}

fn remove_key(doc: &mut DidState, fragment: &Fragment) -> Result<(), ContractError> {
    let Some(pos) = doc.methods.iter().position(|m| &m.fragment == fragment) else {
        return Err(err("method_not_found", format!("no method #{fragment}")));
    };
    let removed = doc.methods.remove(pos);
    if removed
        .relationships
        .contains(Relationships::CAPABILITY_INVOCATION)
        && doc.controller_count() == 0
    {
        return Err(err(
            "last_controller",
            "removing the last capabilityInvocation key would lock the DID; deactivate it instead",
        ));
    }
    Ok(())
}

fn rotate_key(
    doc: &mut DidState,
    old: &Fragment,
    new: Fragment,
    key: PublicKey,
) -> Result<(), ContractError> {
    let Some(pos) = doc.methods.iter().position(|m| &m.fragment == old) else {
        return Err(err("method_not_found", format!("no method #{old}")));
    };
    if doc.method(&new).is_some() {
        return Err(err(
            "method_exists",
            format!(
                "method #{new} already exists (rotation needs a new name so old signatures keep pointing at the old key)"
            ),
        ));
    }
    if doc.methods.iter().any(|m| m.key == key) {
        return Err(err(
            "key_already_present",
            "the new key is already a method of the DID",
        ));
    }
    let relationships = doc.methods[pos].relationships;
    doc.methods[pos] = VerificationMethod {
        fragment: new,
        key,
        relationships,
    };
    Ok(())
}

fn set_service(
    doc: &mut DidState,
    fragment: Fragment,
    service_type: String,
    endpoint: String,
) -> Result<(), ContractError> {
    let service = Service {
        fragment,
        service_type,
        endpoint,
    };
    if let Some(existing) = doc
        .services
        .iter_mut()
        .find(|s| s.fragment == service.fragment)
    {
        *existing = service;
        return Ok(());
    }
    if doc.services.len() >= SERVICES_MAX {
        return Err(err(
            "too_many_services",
            format!("a DID holds at most {SERVICES_MAX} services"),
        ));
    }
    doc.services.push(service);
    Ok(())
}

// ---- reads shared with the views -------------------------------------------------

/// Read access to committed (or in-block) state.
pub trait StateRead {
    fn read(&self, key: &[u8]) -> Option<Vec<u8>>;
}

impl StateRead for dyn StateAccess + '_ {
    fn read(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.get(key)
    }
}

impl StateRead for suanli_ledger::State {
    fn read(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.get(key).map(<[u8]>::to_vec)
    }
}

pub(crate) fn version_count(
    state: &(impl StateRead + ?Sized),
    id: &DidId,
) -> Result<u32, ContractError> {
    let Some(bytes) = state.read(&keys::did_count(id)) else {
        return Ok(0);
    };
    let raw: [u8; 4] = bytes.try_into().map_err(|_| corrupt("DID version count"))?;
    Ok(u32::from_be_bytes(raw))
}

pub(crate) fn version(
    state: &(impl StateRead + ?Sized),
    id: &DidId,
    version: u32,
) -> Result<DidVersion, ContractError> {
    let bytes = state
        .read(&keys::did_version(id, version))
        .ok_or_else(|| corrupt("DID version"))?;
    DidVersion::decode(&bytes).map_err(|_| corrupt("DID version"))
}

/// The current version of a DID.
pub fn head(state: &(impl StateRead + ?Sized), id: &DidId) -> Result<DidVersion, ContractError> {
    match version_count(state, id)? {
        0 => Err(err(
            "did_not_found",
            format!("no DID with id {id} on this chain"),
        )),
        n => version(state, id, n),
    }
}

pub fn issuer_record(
    state: &(impl StateRead + ?Sized),
    id: &DidId,
) -> Result<Option<IssuerRecord>, ContractError> {
    state
        .read(&keys::issuer(id))
        .map(|b| IssuerRecord::decode(&b).map_err(|_| corrupt("issuer record")))
        .transpose()
}

pub fn issuer_ids(state: &(impl StateRead + ?Sized)) -> Result<Vec<DidId>, ContractError> {
    match state.read(keys::ISSUER_LIST) {
        None => Ok(Vec::new()),
        Some(b) => decode_id_list(&b).map_err(|_| corrupt("issuer list")),
    }
}

pub fn next_cpt_id(state: &(impl StateRead + ?Sized)) -> Result<u32, ContractError> {
    match state.read(keys::CPT_NEXT) {
        None => Ok(CPT_ID_FIRST),
        Some(b) => {
            let raw: [u8; 4] = b.try_into().map_err(|_| corrupt("next CPT id"))?;
            Ok(u32::from_be_bytes(raw))
        }
    }
}

pub fn cpt_meta(
    state: &(impl StateRead + ?Sized),
    id: u32,
) -> Result<Option<CptMeta>, ContractError> {
    state
        .read(&keys::cpt_meta(id))
        .map(|b| CptMeta::decode(&b).map_err(|_| corrupt("CPT")))
        .transpose()
}

pub fn cpt_version(
    state: &(impl StateRead + ?Sized),
    id: u32,
    version: u32,
) -> Result<Option<CptVersion>, ContractError> {
    state
        .read(&keys::cpt_version(id, version))
        .map(|b| CptVersion::decode(&b).map_err(|_| corrupt("CPT version")))
        .transpose()
}

/// The full bitstring of one status list (`STATUS_LIST_BITS / 8` bytes).
pub fn status_list_bits(
    state: &(impl StateRead + ?Sized),
    issuer: &DidId,
    purpose: StatusPurpose,
    list: u16,
) -> Result<Vec<u8>, ContractError> {
    let chunks = (STATUS_LIST_BITS as usize / 8) / keys::STATUS_CHUNK_BYTES;
    let mut bits = Vec::with_capacity(STATUS_LIST_BITS as usize / 8);
    for chunk in 0..chunks as u16 {
        match state.read(&keys::status_chunk(issuer, purpose, list, chunk)) {
            Some(b) if b.len() == keys::STATUS_CHUNK_BYTES => bits.extend_from_slice(&b),
            Some(_) => return Err(corrupt("status chunk")),
            None => bits.extend(std::iter::repeat_n(0u8, keys::STATUS_CHUNK_BYTES)),
        }
    }
    Ok(bits)
}

/// Whether one status bit is set.
pub fn status_is_set(
    state: &(impl StateRead + ?Sized),
    issuer: &DidId,
    purpose: StatusPurpose,
    list: u16,
    index: u32,
) -> Result<bool, ContractError> {
    if index >= STATUS_LIST_BITS {
        return Err(err(
            "status_index_out_of_range",
            format!("index must be below {STATUS_LIST_BITS}"),
        ));
    }
    let chunk_bits = (keys::STATUS_CHUNK_BYTES * 8) as u32;
    let key = keys::status_chunk(issuer, purpose, list, (index / chunk_bits) as u16);
    let Some(chunk) = state.read(&key) else {
        return Ok(false);
    };
    let bit = (index % chunk_bits) as usize;
    let byte = chunk.get(bit / 8).ok_or_else(|| corrupt("status chunk"))?;
    Ok(byte & (0x80u8 >> (bit % 8)) != 0)
}
