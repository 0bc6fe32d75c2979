//! The client side of the identity chain (`suanli did|issuer|cpt|vc|vp|kyc`): operations
//! signed here and committed through the node, reads over its API, and credentials and
//! presentations issued here with keys that never leave this side.

use std::path::Path;

use serde_json::{Map, Value, json};
use suanli_identity::op::{IdentityOp, StatusPurpose};
use suanli_identity::{Fragment, SuanliDid, cpt as cpts, urn};
use suanli_ledger::Payload;
use suanli_primitives::{ChainKind, SecretKey};
use suanli_vc::credential::{CredentialDraft, SchemaRef, StatusRef};

use crate::error::{ClientError, Context, ensure};
use crate::wallet::{next_status_slot, now_ms};
use crate::{COMMIT_WAIT_MS, HttpLedger, LedgerClient};

/// The built-in KYC templates, strict (suppliers) first.
pub const KYC_TEMPLATES: [&str; 2] = ["kyc-supplier", "kyc-consumer"];

pub fn parse_did(text: &str) -> Result<SuanliDid, ClientError> {
    SuanliDid::parse(text).map_err(ClientError::invalid)
}

pub fn fragment(text: &str) -> Result<Fragment, ClientError> {
    Fragment::new(text).map_err(ClientError::invalid)
}

/// An XML dateTime such as `2026-01-01T00:00:00Z`, in ms.
pub fn parse_time(text: &str) -> Result<u64, ClientError> {
    suanli_vc::time::parse_datetime_ms(text).map_err(|e| {
        ClientError::invalid(format!(
            "{text:?} is not an XML dateTime such as 2026-01-01T00:00:00Z: {e}"
        ))
    })
}

/// Percent-encodes the characters of DIDs and dateTimes that are not safe in a URL path
/// or query.
pub fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b':' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// Signs `op` with `key`, commits it on the identity chain; returns the transaction id.
pub fn submit(
    client: &dyn LedgerClient,
    key: &SecretKey,
    op: IdentityOp,
) -> Result<String, ClientError> {
    let name = op.name();
    let call = op.to_call().map_err(ClientError::invalid)?;
    let wait = std::time::Duration::from_millis(COMMIT_WAIT_MS);
    let done = client
        .transact(ChainKind::Identity, key, Payload::Call(call), wait)
        .context(format!("identity operation {name}"))?;
    Ok(done.id.to_string())
}

/// The genesis authority's DID (head of the Authority-Issuer list).
pub fn authority_of(client: &HttpLedger) -> Result<SuanliDid, ClientError> {
    let list = client.get_ok("/1.0/issuers")?;
    parse_did(list["authority"].as_str().unwrap_or_default())
}

/// The resolver path of `did`, at a version time or id.
pub fn resolve_path(
    did: &str,
    version_time: Option<&str>,
    version_id: Option<u32>,
) -> Result<String, ClientError> {
    let mut query = Vec::new();
    if let Some(t) = version_time {
        parse_time(t)?;
        query.push(format!("versionTime={}", urlencode(t)));
    }
    if let Some(v) = version_id {
        query.push(format!("versionId={v}"));
    }
    Ok(format!(
        "/1.0/identifiers/{}{}{}",
        urlencode(did),
        if query.is_empty() { "" } else { "?" },
        query.join("&")
    ))
}

/// Registers `schema` as a new CPT of `did` (or, with `cpt`, its next version); returns
/// the transaction, the CPT id and its version.
pub fn register_cpt(
    client: &HttpLedger,
    did: &SuanliDid,
    key: &SecretKey,
    schema: &Value,
    qualification: bool,
    cpt: Option<u32>,
) -> Result<(String, u32, Value), ClientError> {
    suanli_vc::cpt::check_cpt_schema(schema)
        .map_err(|e| ClientError::invalid(format!("schema refused: {e}")))?;
    let op = IdentityOp::RegisterCpt {
        publisher: did.id().clone(),
        cpt,
        qualification,
        schema_json: schema.to_string(),
    };
    let tx = submit(client, key, op)?;
    let id = match cpt {
        Some(id) => id,
        None => find_registered(client, did, schema)?,
    };
    let info = client.get_ok(&format!("/1.0/cpts/{id}"))?;
    Ok((tx, id, info["version"].clone()))
}

/// The id the registry gave our schema: the newest CPT of this publisher with exactly
/// this schema (ids are assigned in block order, so the newest is ours).
fn find_registered(
    client: &HttpLedger,
    did: &SuanliDid,
    schema: &Value,
) -> Result<u32, ClientError> {
    let mut from = suanli_identity::contract::CPT_ID_FIRST;
    let mut found = None;
    loop {
        let page = client.get_ok(&format!("/1.0/cpts?from={from}"))?;
        for c in page["registered"].as_array().into_iter().flatten() {
            if c["publisher"] == json!(did.id().to_string()) && &c["schema"] == schema {
                found = c["id"].as_u64();
            }
        }
        match page["next_from"].as_u64().map(u32::try_from) {
            Some(Ok(n)) => from = n,
            _ => break,
        }
    }
    found.and_then(|id| u32::try_from(id).ok()).ok_or_else(|| {
        ClientError::invalid("the CPT was committed but is not listed; see `suanli cpt list`")
    })
}

/// Posts `body` to a verification endpoint; the node's answer (`verified`, `report`).
pub fn verify(client: &HttpLedger, path: &str, body: &Value) -> Result<Value, ClientError> {
    let (status, answer) = client.post_json(path, body)?;
    ensure!(
        status == 200,
        "verification request failed: {}",
        crate::http::error_text(&answer)
    );
    Ok(answer)
}

/// The operation that revokes `vc`: its bit in the issuer's status list; with the list's
/// URN and the index.
pub fn revocation(vc: &Value) -> Result<(IdentityOp, String, u32), ClientError> {
    let status = &vc["credentialStatus"];
    let list_urn = status["statusListCredential"].as_str().ok_or_else(|| {
        ClientError::invalid(
            "the credential has no credentialStatus.statusListCredential: it cannot be revoked",
        )
    })?;
    let list = urn::parse_status(list_urn).map_err(ClientError::invalid)?;
    let index: u32 = status["statusListIndex"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| {
            ClientError::invalid("credentialStatus.statusListIndex must be a decimal string")
        })?;
    let op = IdentityOp::SetStatus {
        issuer: list.issuer.clone(),
        purpose: list.purpose,
        list: list.list,
        index,
        set: true,
    };
    Ok((op, list_urn.to_owned(), index))
}

/// A credential to issue.
#[derive(Debug)]
pub struct IssueRequest<'a> {
    /// The issuer's DID (did:suanli).
    pub issuer: &'a str,
    /// A key of the issuer's DID with the assertionMethod relationship, and its file
    /// (the status-list counter is kept beside it).
    pub key: &'a SecretKey,
    pub key_path: &'a Path,
    /// Fragment of that key in the issuer's DID document.
    pub method: &'a str,
    pub cpt: u32,
    pub cpt_version: Option<u32>,
    /// The holder's DID (credentialSubject.id).
    pub subject: &'a str,
    /// The claims (an object without `id`) and where they came from, for messages.
    pub claims: Value,
    pub claims_name: &'a str,
    /// Extra credential types.
    pub types: Vec<String>,
    pub valid_until: Option<&'a str>,
    /// With a revocation entry in the issuer's on-chain status list.
    pub with_status: bool,
}

/// Issues a credential: claims checked against the CPT, signed with eddsa-jcs-2022.
pub fn issue(client: &HttpLedger, r: IssueRequest<'_>) -> Result<Value, ClientError> {
    let issuer = parse_did(r.issuer)?;
    let method = fragment(r.method)?;
    let Value::Object(mut subject) = r.claims else {
        return Err(ClientError::invalid(format!(
            "{}: claims must be a JSON object",
            r.claims_name
        )));
    };
    ensure!(
        !subject.contains_key("id"),
        "{}: claims must not carry \"id\"; the holder is given with --subject",
        r.claims_name
    );
    suanli_vc::did::parse_did_url(r.subject)
        .map_err(|e| ClientError::invalid(format!("--subject: {e}")))?;
    subject.insert("id".into(), Value::String(r.subject.to_owned()));
    let network = client.network()?;
    let cpt_path = match r.cpt_version {
        Some(v) => format!("/1.0/cpts/{}?version={v}", r.cpt),
        None => format!("/1.0/cpts/{}", r.cpt),
    };
    let cpt = client.get_ok(&cpt_path)?;
    let version = cpt["version"]
        .as_u64()
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| ClientError::invalid("CPT answer without version"))?;
    let status = if r.with_status {
        let (list, index) = next_status_slot(r.key_path, issuer.id())?;
        let id = urn::StatusListId {
            network: network.clone(),
            issuer: issuer.id().clone(),
            purpose: StatusPurpose::Revocation,
            list,
        };
        Some(StatusRef {
            list_credential: id.urn(),
            index: u64::from(index),
            purpose: StatusPurpose::Revocation,
        })
    } else {
        None
    };
    let now = checked_signing_time(client, &issuer, &method, r.key)?;
    let draft = CredentialDraft {
        id: None,
        types: r.types,
        issuer: issuer.to_string(),
        subject: Map::from_iter(subject),
        valid_from: now,
        valid_until: r.valid_until.map(parse_time).transpose()?,
        schema: Some(SchemaRef {
            id: urn::cpt(&network, r.cpt, version),
        }),
        status,
    };
    let vm = issuer.url(&method);
    suanli_vc::credential::issue_with_schema(&draft, &cpt["schema"], &vm, now, r.key)
        .context("cannot issue")
}

/// Checks, before anything is signed, that `key` is the current assertionMethod key
/// `#method` of `issuer`, and returns the signing time: now, but never before the DID's
/// current version (a clock behind the chain's would make the key look not yet valid).
fn checked_signing_time(
    client: &HttpLedger,
    issuer: &SuanliDid,
    method: &Fragment,
    key: &SecretKey,
) -> Result<u64, ClientError> {
    let resolved = client.get_ok(&format!(
        "/1.0/identifiers/{}",
        urlencode(&issuer.to_string())
    ))?;
    let doc = &resolved["didDocument"];
    let vm_id = issuer.url(method);
    let vm = doc["verificationMethod"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["id"] == json!(vm_id))
        .ok_or_else(|| {
            ClientError::invalid(format!(
                "{issuer} has no current key #{method}; see `suanli did resolve {issuer}`"
            ))
        })?;
    let published = vm["publicKeyMultibase"].as_str().unwrap_or_default();
    ensure!(
        published == suanli_vc::multikey::encode_ed25519_multikey(&key.public()),
        "the key file is not the key of {vm_id}: refusing to sign something that cannot verify"
    );
    let asserts = doc["assertionMethod"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|r| r == &json!(vm_id));
    ensure!(
        asserts,
        "{vm_id} lacks the assertionMethod relationship; it cannot sign credentials"
    );
    let meta = &resolved["didDocumentMetadata"];
    let version_time = meta["updated"]
        .as_str()
        .or(meta["created"].as_str())
        .map(parse_time)
        .transpose()?
        .unwrap_or(0);
    Ok(now_ms().max(version_time))
}

/// Presents `vcs` as `holder` (a did:suanli with key `#method`, or a did:key), bound to
/// the verifier's `challenge` and `domain`.
pub fn present(
    holder: &str,
    key: &SecretKey,
    method: &str,
    challenge: &str,
    domain: &str,
    vcs: Vec<Value>,
) -> Result<Value, ClientError> {
    let vm = if holder.starts_with("did:key:") {
        suanli_vc::did_key::DidKey::parse(holder)?.verification_method_id()
    } else {
        parse_did(holder)?.url(&fragment(method)?)
    };
    suanli_vc::presentation::present(holder, vcs, &vm, challenge, domain, now_ms(), key)
        .context("cannot present")
}

/// A reviewed KYC application: the template's CPT, the applicant and its claims.
#[derive(Debug)]
pub struct Application {
    pub cpt: u32,
    pub template: &'static str,
    pub applicant: String,
    pub claims: Map<String, Value>,
}

/// Reviews a KYC application (a self-issued credential): it must verify in every respect
/// (signed by the applicant's current key, claims valid against the KYC template) except
/// one — its issuer is the applicant, not an admitted issuer, which is what this review
/// is for; a supplier's unified social credit code must pass its check character.
pub fn review_application(client: &HttpLedger, app: &Value) -> Result<Application, ClientError> {
    let body = verify(
        client,
        "/1.0/credentials/verify",
        &json!({"credential": app}),
    )?;
    let only_unadmitted = body["report"]["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["outcome"] == json!("failed"))
        .all(|c| c["code"] == json!("issuer_not_admitted"));
    ensure!(
        only_unadmitted,
        "the application does not verify: {}",
        body["report"]["first_failure"]
    );
    let applicant = app["credentialSubject"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    ensure!(
        app["issuer"].as_str() == Some(applicant.as_str()),
        "an application must be issued by the applicant itself"
    );
    let schema_id = app["credentialSchema"]["id"].as_str().unwrap_or_default();
    let (_, cpt, _) = urn::parse_cpt(schema_id).map_err(ClientError::invalid)?;
    let template = KYC_TEMPLATES
        .into_iter()
        .find(|t| cpts::builtin_id(t) == Some(cpt))
        .ok_or_else(|| ClientError::invalid("the application does not follow a KYC template"))?;
    let mut claims = app["credentialSubject"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    claims.remove("id");
    if template == "kyc-supplier" {
        let code = claims
            .get("unifiedSocialCreditCode")
            .and_then(Value::as_str)
            .unwrap_or_default();
        ensure!(
            suanli_vc::cpt::uscc_checksum_ok(code),
            "unified social credit code {code:?} fails the GB 32100-2015 check character"
        );
    }
    Ok(Application {
        cpt,
        template,
        applicant,
        claims,
    })
}
