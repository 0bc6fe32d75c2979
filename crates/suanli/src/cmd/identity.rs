//! `suanli did|issuer|cpt|vc|vp|kyc`: the identity chain from the command line. Keys are
//! PKCS#8 files that stay with their holder; every write is a transaction signed here and
//! posted to a node (`--node`), every credential is signed here.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};
use serde_json::{Map, Value, json};
use suanli_identity::document::Relationships;
use suanli_identity::op::{IdentityOp, StatusPurpose};
use suanli_identity::{DidId, Fragment, SuanliDid, cpt as cpts, urn};
use suanli_ledger::Payload;
use suanli_primitives::{ChainKind, NetworkName, SecretKey};
use suanli_vc::credential::{CredentialDraft, SchemaRef, StatusRef};

use super::NodeTarget;
use suanli_ledger_client::HttpLedger;
use suanli_ledger_client::http::error_text;

/// Largest credential, presentation, claims or schema file the CLI reads, in bytes.
const INPUT_FILE_BYTES_MAX: u64 = 64 * 1024;

pub(crate) fn load_key(path: &Path) -> anyhow::Result<SecretKey> {
    SecretKey::load(path).with_context(|| {
        format!(
            "reading key {} (create one with `suanli key generate --out {}`)",
            path.display(),
            path.display()
        )
    })
}

pub(crate) fn read_json(path: &Path) -> anyhow::Result<Value> {
    let meta = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    anyhow::ensure!(
        meta.len() <= INPUT_FILE_BYTES_MAX,
        "{} is {} bytes; at most {INPUT_FILE_BYTES_MAX} are accepted",
        path.display(),
        meta.len()
    );
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", path.display()))
}

pub(crate) fn write_or_print(out: Option<&Path>, value: &Value) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    match out {
        Some(path) => {
            std::fs::write(path, text + "\n")
                .with_context(|| format!("writing {}", path.display()))?;
            eprintln!("wrote {}", path.display());
        }
        None => println!("{text}"),
    }
    Ok(())
}

fn parse_did(text: &str) -> anyhow::Result<SuanliDid> {
    SuanliDid::parse(text).map_err(|e| anyhow::anyhow!("{e}"))
}

fn fragment(text: &str) -> anyhow::Result<Fragment> {
    Fragment::new(text).map_err(|e| anyhow::anyhow!("{e}"))
}

pub(crate) fn network_of(client: &HttpLedger) -> anyhow::Result<NetworkName> {
    let head = client.get_ok("/v1/chains/identity/head")?;
    let chain = head["chain"].as_str().unwrap_or_default();
    let network = chain.split('/').next().unwrap_or_default();
    NetworkName::new(network).map_err(|e| anyhow::anyhow!("node answered chain {chain:?}: {e}"))
}

fn identity_tx(client: &HttpLedger, key: &SecretKey, op: IdentityOp) -> anyhow::Result<String> {
    let name = op.name();
    let call = op.to_call()?;
    super::transact(client, ChainKind::Identity, key, Payload::Call(call))
        .with_context(|| format!("identity operation {name}"))
}

fn parse_time(text: &str) -> anyhow::Result<u64> {
    suanli_vc::time::parse_datetime_ms(text).map_err(|e| {
        anyhow::anyhow!("{text:?} is not an XML dateTime such as 2026-01-01T00:00:00Z: {e}")
    })
}

pub(crate) fn now_ms() -> u64 {
    use suanli_primitives::time::{Clock, SystemClock};
    SystemClock.now_ms()
}

// ---- did ----------------------------------------------------------------------------

#[derive(Debug, Subcommand)]
pub enum DidCmd {
    /// Create the DID of a key (its id derives from the key) and print it.
    Create {
        #[arg(long)]
        key: PathBuf,
        #[command(flatten)]
        node: NodeTarget,
    },
    /// Resolve a DID (did:suanli from the chain, did:key offline).
    Resolve {
        did: String,
        /// The version in force at this time (XML dateTime).
        #[arg(long)]
        version_time: Option<String>,
        #[arg(long)]
        version_id: Option<u32>,
        #[command(flatten)]
        node: NodeTarget,
    },
    /// Change a DID document (signed by one of its capabilityInvocation keys).
    Update {
        #[arg(long)]
        did: String,
        /// A current controller (capabilityInvocation) key of the DID.
        #[arg(long)]
        key: PathBuf,
        #[command(subcommand)]
        change: DidChange,
        #[command(flatten)]
        node: NodeTarget,
    },
    /// Deactivate a DID for good.
    Deactivate {
        #[arg(long)]
        did: String,
        #[arg(long)]
        key: PathBuf,
        #[command(flatten)]
        node: NodeTarget,
    },
}

#[derive(Debug, Subcommand)]
pub enum DidChange {
    /// Add a verification method.
    AddKey {
        #[arg(long)]
        fragment: String,
        /// Key file whose public key to add.
        #[arg(long)]
        public_key_file: PathBuf,
        /// Comma-separated: authentication, assertionMethod, capabilityInvocation,
        /// capabilityDelegation.
        #[arg(long, default_value = "authentication,assertionMethod")]
        relationships: String,
    },
    RemoveKey {
        #[arg(long)]
        fragment: String,
    },
    /// Replace method OLD by NEW with a new key (same relationships).
    RotateKey {
        #[arg(long)]
        old: String,
        #[arg(long)]
        new: String,
        #[arg(long)]
        new_key_file: PathBuf,
    },
    /// Add or replace a service (e.g. the channel endpoint).
    SetService {
        #[arg(long)]
        fragment: String,
        #[arg(long = "type")]
        service_type: String,
        #[arg(long)]
        endpoint: String,
    },
    RemoveService {
        #[arg(long)]
        fragment: String,
    },
}

pub fn run_did(cmd: DidCmd) -> anyhow::Result<()> {
    match cmd {
        DidCmd::Create { key, node } => {
            let key = load_key(&key)?;
            let client = node.client()?;
            let network = network_of(&client)?;
            let tx = identity_tx(&client, &key, IdentityOp::CreateDid)?;
            let did = SuanliDid::for_initial_key(network, &key.public());
            eprintln!("created in transaction {tx}");
            println!("{did}");
            Ok(())
        }
        DidCmd::Resolve {
            did,
            version_time,
            version_id,
            node,
        } => {
            let client = node.client()?;
            let mut query = Vec::new();
            if let Some(t) = &version_time {
                parse_time(t)?;
                query.push(format!("versionTime={}", urlencode(t)));
            }
            if let Some(v) = version_id {
                query.push(format!("versionId={v}"));
            }
            let path = format!(
                "/1.0/identifiers/{}{}{}",
                urlencode(&did),
                if query.is_empty() { "" } else { "?" },
                query.join("&")
            );
            let (status, body) = client.get(&path)?;
            println!("{}", serde_json::to_string_pretty(&body)?);
            match body["didResolutionMetadata"]["error"].as_str() {
                Some(code) => anyhow::bail!("resolution failed: {code} (HTTP {status})"),
                None => Ok(()),
            }
        }
        DidCmd::Update {
            did,
            key,
            change,
            node,
        } => {
            let did = parse_did(&did)?;
            let key = load_key(&key)?;
            let op = did_change(did.id().clone(), change)?;
            let client = node.client()?;
            let tx = identity_tx(&client, &key, op)?;
            println!("updated {did} in transaction {tx}");
            Ok(())
        }
        DidCmd::Deactivate { did, key, node } => {
            let did = parse_did(&did)?;
            let key = load_key(&key)?;
            let client = node.client()?;
            let tx = identity_tx(
                &client,
                &key,
                IdentityOp::Deactivate {
                    did: did.id().clone(),
                },
            )?;
            println!("deactivated {did} in transaction {tx}");
            Ok(())
        }
    }
}

fn did_change(did: DidId, change: DidChange) -> anyhow::Result<IdentityOp> {
    Ok(match change {
        DidChange::AddKey {
            fragment: f,
            public_key_file,
            relationships,
        } => IdentityOp::AddKey {
            did,
            fragment: fragment(&f)?,
            key: load_key(&public_key_file)?.public(),
            relationships: Relationships::parse_names(&relationships)
                .map_err(|e| anyhow::anyhow!(e))?,
        },
        DidChange::RemoveKey { fragment: f } => IdentityOp::RemoveKey {
            did,
            fragment: fragment(&f)?,
        },
        DidChange::RotateKey {
            old,
            new,
            new_key_file,
        } => IdentityOp::RotateKey {
            did,
            old: fragment(&old)?,
            new: fragment(&new)?,
            key: load_key(&new_key_file)?.public(),
        },
        DidChange::SetService {
            fragment: f,
            service_type,
            endpoint,
        } => {
            suanli_identity::document::check_service_type(&service_type)
                .map_err(|e| anyhow::anyhow!(e))?;
            suanli_identity::document::check_endpoint(&endpoint).map_err(|e| anyhow::anyhow!(e))?;
            IdentityOp::SetService {
                did,
                fragment: fragment(&f)?,
                service_type,
                endpoint,
            }
        }
        DidChange::RemoveService { fragment: f } => IdentityOp::RemoveService {
            did,
            fragment: fragment(&f)?,
        },
    })
}

/// Percent-encodes the characters of DIDs and dateTimes that are not safe in a URL path
/// or query.
fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b':' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

// ---- issuer -------------------------------------------------------------------------

#[derive(Debug, Subcommand)]
pub enum IssuerCmd {
    /// The genesis authority admits a DID to the Authority-Issuer list.
    Admit {
        /// A controller key of the authority's DID.
        #[arg(long)]
        authority_key: PathBuf,
        #[arg(long)]
        issuer: String,
        #[arg(long)]
        name: String,
        #[command(flatten)]
        node: NodeTarget,
    },
    /// The genesis authority removes an issuer.
    Remove {
        #[arg(long)]
        authority_key: PathBuf,
        #[arg(long)]
        issuer: String,
        #[command(flatten)]
        node: NodeTarget,
    },
    /// The authority and the Authority-Issuer list.
    List {
        #[command(flatten)]
        node: NodeTarget,
    },
}

pub fn run_issuer(cmd: IssuerCmd) -> anyhow::Result<()> {
    match cmd {
        IssuerCmd::Admit {
            authority_key,
            issuer,
            name,
            node,
        } => {
            let key = load_key(&authority_key)?;
            let issuer = parse_did(&issuer)?;
            let client = node.client()?;
            let authority = authority_of(&client)?;
            let op = IdentityOp::AdmitIssuer {
                authority: authority.id().clone(),
                issuer: issuer.id().clone(),
                name,
            };
            let tx = identity_tx(&client, &key, op)?;
            println!("admitted {issuer} in transaction {tx}");
            Ok(())
        }
        IssuerCmd::Remove {
            authority_key,
            issuer,
            node,
        } => {
            let key = load_key(&authority_key)?;
            let issuer = parse_did(&issuer)?;
            let client = node.client()?;
            let authority = authority_of(&client)?;
            let op = IdentityOp::RemoveIssuer {
                authority: authority.id().clone(),
                issuer: issuer.id().clone(),
            };
            let tx = identity_tx(&client, &key, op)?;
            println!("removed {issuer} in transaction {tx}");
            Ok(())
        }
        IssuerCmd::List { node } => {
            let client = node.client()?;
            println!(
                "{}",
                serde_json::to_string_pretty(&client.get_ok("/1.0/issuers")?)?
            );
            Ok(())
        }
    }
}

fn authority_of(client: &HttpLedger) -> anyhow::Result<SuanliDid> {
    let list = client.get_ok("/1.0/issuers")?;
    parse_did(list["authority"].as_str().unwrap_or_default())
}

// ---- cpt ----------------------------------------------------------------------------

#[derive(Debug, Subcommand)]
pub enum CptCmd {
    /// Register a CPT (a JSON Schema with title and description), or with --cpt publish
    /// its next version. Prints the CPT id.
    Register {
        #[arg(long)]
        did: String,
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        schema: PathBuf,
        /// A qualification template (needs an admitted issuer).
        #[arg(long)]
        qualification: bool,
        /// Publish a new version of this CPT instead of a new CPT.
        #[arg(long)]
        cpt: Option<u32>,
        #[command(flatten)]
        node: NodeTarget,
    },
    Show {
        id: u32,
        #[arg(long)]
        version: Option<u32>,
        #[command(flatten)]
        node: NodeTarget,
    },
    List {
        #[arg(long)]
        from: Option<u32>,
        #[command(flatten)]
        node: NodeTarget,
    },
}

pub fn run_cpt(cmd: CptCmd) -> anyhow::Result<()> {
    match cmd {
        CptCmd::Register {
            did,
            key,
            schema,
            qualification,
            cpt,
            node,
        } => {
            let did = parse_did(&did)?;
            let key = load_key(&key)?;
            let schema = read_json(&schema)?;
            suanli_vc::cpt::check_cpt_schema(&schema)
                .map_err(|e| anyhow::anyhow!("schema refused: {e}"))?;
            let schema_json = serde_json::to_string(&schema)?;
            let client = node.client()?;
            let op = IdentityOp::RegisterCpt {
                publisher: did.id().clone(),
                cpt,
                qualification,
                schema_json,
            };
            let tx = identity_tx(&client, &key, op)?;
            let id = match cpt {
                Some(id) => id,
                None => find_registered(&client, &did, &schema)?,
            };
            let info = client.get_ok(&format!("/1.0/cpts/{id}"))?;
            eprintln!(
                "registered in transaction {tx}: CPT {id} version {}",
                info["version"]
            );
            println!("{id}");
            Ok(())
        }
        CptCmd::Show { id, version, node } => {
            let client = node.client()?;
            let path = match version {
                Some(v) => format!("/1.0/cpts/{id}?version={v}"),
                None => format!("/1.0/cpts/{id}"),
            };
            println!("{}", serde_json::to_string_pretty(&client.get_ok(&path)?)?);
            Ok(())
        }
        CptCmd::List { from, node } => {
            let client = node.client()?;
            let path = match from {
                Some(f) => format!("/1.0/cpts?from={f}"),
                None => "/1.0/cpts".to_owned(),
            };
            println!("{}", serde_json::to_string_pretty(&client.get_ok(&path)?)?);
            Ok(())
        }
    }
}

/// The id the registry gave our schema: the newest CPT of this publisher with exactly
/// this schema (ids are assigned in block order, so the newest is ours).
fn find_registered(client: &HttpLedger, did: &SuanliDid, schema: &Value) -> anyhow::Result<u32> {
    let mut from = suanli_identity::contract::CPT_ID_FIRST;
    let mut found = None;
    loop {
        let page = client.get_ok(&format!("/1.0/cpts?from={from}"))?;
        for c in page["registered"].as_array().into_iter().flatten() {
            if c["publisher"] == json!(did.id().to_string()) && &c["schema"] == schema {
                found = c["id"].as_u64();
            }
        }
        match page["next_from"].as_u64() {
            Some(n) => from = u32::try_from(n)?,
            None => break,
        }
    }
    found
        .and_then(|id| u32::try_from(id).ok())
        .context("the CPT was committed but is not listed; see `suanli cpt list`")
}

// ---- vc -----------------------------------------------------------------------------

#[derive(Debug, Args)]
pub struct IssueArgs {
    /// The issuer's DID (did:suanli).
    #[arg(long)]
    issuer: String,
    /// A key of the issuer's DID with the assertionMethod relationship.
    #[arg(long)]
    key: PathBuf,
    /// Fragment of that key in the issuer's DID document.
    #[arg(long, default_value = "key-1")]
    method: String,
    /// CPT id the claims follow (built-in 1… or registered 1000…).
    #[arg(long)]
    cpt: u32,
    #[arg(long)]
    cpt_version: Option<u32>,
    /// The holder's DID (credentialSubject.id).
    #[arg(long)]
    subject: String,
    /// JSON file with the claims (an object).
    #[arg(long)]
    claims: PathBuf,
    /// Extra credential type, e.g. KycCredential.
    #[arg(long = "type")]
    types: Vec<String>,
    #[arg(long)]
    valid_until: Option<String>,
    /// Leave out credentialStatus (the credential then cannot be revoked).
    #[arg(long)]
    no_status: bool,
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    node: NodeTarget,
}

#[derive(Debug, Subcommand)]
pub enum VcCmd {
    /// Issue a credential: claims checked against the CPT, signed with eddsa-jcs-2022,
    /// with a revocation entry in the issuer's on-chain status list.
    Issue(IssueArgs),
    /// Verify a credential (each check reported; exit 1 when any fails).
    Verify {
        file: PathBuf,
        #[command(flatten)]
        node: NodeTarget,
    },
    /// Revoke a credential: sets its bit in the issuer's status list on chain.
    Revoke {
        file: PathBuf,
        /// A controller key of the issuer's DID.
        #[arg(long)]
        key: PathBuf,
        #[command(flatten)]
        node: NodeTarget,
    },
}

pub fn run_vc(cmd: VcCmd) -> anyhow::Result<()> {
    match cmd {
        VcCmd::Issue(args) => {
            let out = args.out.clone();
            let vc = issue(args)?;
            write_or_print(out.as_deref(), &vc)
        }
        VcCmd::Verify { file, node } => {
            let vc = read_json(&file)?;
            let client = node.client()?;
            let (status, body) =
                client.post_json("/1.0/credentials/verify", &json!({"credential": vc}))?;
            anyhow::ensure!(
                status == 200,
                "verification request failed: {}",
                error_text(&body)
            );
            report(&body)
        }
        VcCmd::Revoke { file, key, node } => {
            let vc = read_json(&file)?;
            let key = load_key(&key)?;
            let status = &vc["credentialStatus"];
            let list_urn = status["statusListCredential"].as_str().context(
                "the credential has no credentialStatus.statusListCredential: it cannot be revoked",
            )?;
            let list = urn::parse_status(list_urn).map_err(|e| anyhow::anyhow!(e))?;
            let index: u32 = status["statusListIndex"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .context("credentialStatus.statusListIndex must be a decimal string")?;
            let client = node.client()?;
            let op = IdentityOp::SetStatus {
                issuer: list.issuer.clone(),
                purpose: list.purpose,
                list: list.list,
                index,
                set: true,
            };
            let tx = identity_tx(&client, &key, op)?;
            println!("revoked (status list {list_urn}, index {index}) in transaction {tx}");
            Ok(())
        }
    }
}

fn report(body: &Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(&body["report"])?);
    if body["verified"] == json!(true) {
        println!("VERIFIED");
        Ok(())
    } else {
        anyhow::bail!("NOT VERIFIED")
    }
}

/// The next unused status-list index of an issuer DID, kept in `<did id>.status-next` in
/// the directory of the issuing key file (list 0 first, then list 1, …), so a rotated key
/// kept beside the old one continues the same sequence. Allocated before signing and
/// persisted at once: a crash can waste an index but never hand one out twice.
/// An exclusive lock file (created with O_EXCL, removed on drop), so two concurrent
/// `vc issue` runs never read the same counter value.
struct SlotLock(PathBuf);

/// How long to wait for another issuance to release the counter, in milliseconds.
const SLOT_LOCK_WAIT_MS: u64 = 5_000;

impl SlotLock {
    fn acquire(path: &Path) -> anyhow::Result<Self> {
        let deadline =
            std::time::Instant::now() + std::time::Duration::from_millis(SLOT_LOCK_WAIT_MS);
        loop {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
            {
                Ok(_) => return Ok(SlotLock(path.to_owned())),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    anyhow::ensure!(
                        std::time::Instant::now() < deadline,
                        "{} is held by another issuance; if none is running, remove it",
                        path.display()
                    );
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
            }
        }
    }
}

impl Drop for SlotLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn next_status_slot(key_path: &Path, issuer: &DidId) -> anyhow::Result<(u16, u32)> {
    let dir = key_path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let path = dir.join(format!("{issuer}.status-next"));
    let used: u64 = match std::fs::read_to_string(&path) {
        Ok(text) => text
            .trim()
            .parse()
            .with_context(|| format!("{} is corrupt", path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let _lock = SlotLock::acquire(&dir.join(format!("{issuer}.status-next.lock")))?;
    let bits = u64::from(suanli_identity::op::STATUS_LIST_BITS);
    let list = u16::try_from(used / bits)?;
    anyhow::ensure!(
        list < suanli_identity::op::STATUS_LISTS_MAX,
        "this issuer key has used every status list"
    );
    let tmp = dir.join(format!("{issuer}.status-next.tmp"));
    std::fs::write(&tmp, (used + 1).to_string())
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, &path)?;
    Ok((list, u32::try_from(used % bits)?))
}

/// Checks, before anything is signed, that `key` is the current assertionMethod key
/// `#method` of `issuer`, and returns the signing time: now, but never before the DID's
/// current version (a clock behind the chain's would make the key look not yet valid).
fn checked_signing_time(
    client: &HttpLedger,
    issuer: &SuanliDid,
    method: &Fragment,
    key: &SecretKey,
) -> anyhow::Result<u64> {
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
        .with_context(|| {
            format!("{issuer} has no current key #{method}; see `suanli did resolve {issuer}`")
        })?;
    let published = vm["publicKeyMultibase"].as_str().unwrap_or_default();
    anyhow::ensure!(
        published == suanli_vc::multikey::encode_ed25519_multikey(&key.public()),
        "the key file is not the key of {vm_id}: refusing to sign something that cannot verify"
    );
    let asserts = doc["assertionMethod"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|r| r == &json!(vm_id));
    anyhow::ensure!(
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

fn issue(args: IssueArgs) -> anyhow::Result<Value> {
    let issuer = parse_did(&args.issuer)?;
    let key = load_key(&args.key)?;
    let method = fragment(&args.method)?;
    let Value::Object(mut subject) = read_json(&args.claims)? else {
        anyhow::bail!("{}: claims must be a JSON object", args.claims.display());
    };
    anyhow::ensure!(
        !subject.contains_key("id"),
        "{}: claims must not carry \"id\"; the holder is given with --subject",
        args.claims.display()
    );
    let holder = args.subject.clone();
    suanli_vc::did::parse_did_url(&holder).map_err(|e| anyhow::anyhow!("--subject: {e}"))?;
    subject.insert("id".into(), Value::String(holder));
    let client = args.node.client()?;
    let network = network_of(&client)?;
    let cpt_path = match args.cpt_version {
        Some(v) => format!("/1.0/cpts/{}?version={v}", args.cpt),
        None => format!("/1.0/cpts/{}", args.cpt),
    };
    let cpt = client.get_ok(&cpt_path)?;
    let version = cpt["version"]
        .as_u64()
        .and_then(|v| u32::try_from(v).ok())
        .context("CPT answer without version")?;
    let schema_id = urn::cpt(&network, args.cpt, version);
    let status = if args.no_status {
        None
    } else {
        let (list, index) = next_status_slot(&args.key, issuer.id())?;
        let id = suanli_identity::urn::StatusListId {
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
    };
    let now = checked_signing_time(&client, &issuer, &method, &key)?;
    let draft = CredentialDraft {
        id: None,
        types: args.types.clone(),
        issuer: issuer.to_string(),
        subject: Map::from_iter(subject),
        valid_from: now,
        valid_until: args.valid_until.as_deref().map(parse_time).transpose()?,
        schema: Some(SchemaRef { id: schema_id }),
        status,
    };
    let vm = issuer.url(&method);
    suanli_vc::credential::issue_with_schema(&draft, &cpt["schema"], &vm, now, &key)
        .map_err(|e| anyhow::anyhow!("cannot issue: {e}"))
}

// ---- vp -----------------------------------------------------------------------------

#[derive(Debug, Subcommand)]
pub enum VpCmd {
    /// Present credentials to a verifier, bound to its challenge and domain.
    Create {
        #[arg(long)]
        holder: String,
        #[arg(long)]
        key: PathBuf,
        #[arg(long, default_value = "key-1")]
        method: String,
        #[arg(long)]
        challenge: String,
        #[arg(long)]
        domain: String,
        /// Credential files.
        #[arg(required = true)]
        credentials: Vec<PathBuf>,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Verify a presentation for the challenge and domain this verifier issued.
    Verify {
        file: PathBuf,
        #[arg(long)]
        challenge: String,
        #[arg(long)]
        domain: String,
        #[command(flatten)]
        node: NodeTarget,
    },
}

/// Most credentials one presentation may carry.
const PRESENTATION_CREDENTIALS_MAX: usize = 16;

pub fn run_vp(cmd: VpCmd) -> anyhow::Result<()> {
    match cmd {
        VpCmd::Create {
            holder,
            key,
            method,
            challenge,
            domain,
            credentials,
            out,
        } => {
            anyhow::ensure!(
                credentials.len() <= PRESENTATION_CREDENTIALS_MAX,
                "at most {PRESENTATION_CREDENTIALS_MAX} credentials per presentation"
            );
            let key = load_key(&key)?;
            let vcs = credentials
                .iter()
                .map(|p| read_json(p))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let vm = if holder.starts_with("did:key:") {
                suanli_vc::did_key::DidKey::parse(&holder)
                    .map_err(|e| anyhow::anyhow!("{e}"))?
                    .verification_method_id()
            } else {
                parse_did(&holder)?.url(&fragment(&method)?)
            };
            let vp = suanli_vc::presentation::present(
                &holder,
                vcs,
                &vm,
                &challenge,
                &domain,
                now_ms(),
                &key,
            )
            .map_err(|e| anyhow::anyhow!("cannot present: {e}"))?;
            write_or_print(out.as_deref(), &vp)
        }
        VpCmd::Verify {
            file,
            challenge,
            domain,
            node,
        } => {
            let vp = read_json(&file)?;
            let client = node.client()?;
            let (status, body) = client.post_json(
                "/1.0/presentations/verify",
                &json!({"presentation": vp, "challenge": challenge, "domain": domain}),
            )?;
            anyhow::ensure!(
                status == 200,
                "verification request failed: {}",
                error_text(&body)
            );
            report(&body)
        }
    }
}

// ---- kyc ----------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum KycRole {
    /// Strict: organisation, unified social credit code (checksum verified),
    /// qualifications.
    Supplier,
    /// Lighter: name and identity document type.
    Consumer,
}

impl KycRole {
    fn template(self) -> &'static str {
        match self {
            KycRole::Supplier => "kyc-supplier",
            KycRole::Consumer => "kyc-consumer",
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum KycCmd {
    /// An applicant signs its claims as a self-issued application credential.
    Apply {
        #[arg(long)]
        did: String,
        #[arg(long)]
        key: PathBuf,
        /// Fragment of the key in the applicant's DID document.
        #[arg(long, default_value = "key-1")]
        method: String,
        #[arg(long, value_enum)]
        role: KycRole,
        #[arg(long)]
        claims: PathBuf,
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        node: NodeTarget,
    },
    /// The authority (or an admitted issuer) reviews an application and issues the KYC
    /// credential (revocable with `suanli vc revoke`).
    Issue {
        application: PathBuf,
        #[arg(long)]
        issuer: String,
        #[arg(long)]
        key: PathBuf,
        /// Fragment of the key in the issuer's DID document.
        #[arg(long, default_value = "key-1")]
        method: String,
        #[arg(long)]
        valid_until: Option<String>,
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        node: NodeTarget,
    },
}

pub fn run_kyc(cmd: KycCmd) -> anyhow::Result<()> {
    match cmd {
        KycCmd::Apply {
            did,
            key,
            method,
            role,
            claims,
            out,
            node,
        } => {
            let cpt = cpts::builtin_id(role.template()).context("built-in KYC template missing")?;
            let vc = issue(IssueArgs {
                issuer: did.clone(),
                key,
                method,
                cpt,
                cpt_version: None,
                subject: did,
                claims,
                types: vec!["KycApplication".into()],
                valid_until: None,
                no_status: true,
                out: None,
                node,
            })?;
            write_or_print(out.as_deref(), &vc)
        }
        KycCmd::Issue {
            application,
            issuer,
            key,
            method,
            valid_until,
            out,
            node,
        } => {
            let app = read_json(&application)?;
            let client = node.client()?;
            // The application must verify in every respect (signed by the applicant's
            // current key, claims valid against the KYC template) except one: its issuer
            // is the applicant, not an admitted issuer — which is what this review is for.
            let (status, body) =
                client.post_json("/1.0/credentials/verify", &json!({"credential": app}))?;
            anyhow::ensure!(
                status == 200,
                "verification request failed: {}",
                error_text(&body)
            );
            let failures: Vec<&Value> = body["report"]["checks"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|c| c["outcome"] == json!("failed"))
                .collect();
            let only_unadmitted = failures
                .iter()
                .all(|c| c["code"] == json!("issuer_not_admitted"));
            anyhow::ensure!(
                only_unadmitted,
                "the application does not verify: {}",
                body["report"]["first_failure"]
            );
            let applicant = app["credentialSubject"]["id"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            anyhow::ensure!(
                app["issuer"].as_str() == Some(applicant.as_str()),
                "an application must be issued by the applicant itself"
            );
            let schema_id = app["credentialSchema"]["id"].as_str().unwrap_or_default();
            let (_, cpt, _) = urn::parse_cpt(schema_id).map_err(|e| anyhow::anyhow!(e))?;
            let role = [KycRole::Supplier, KycRole::Consumer]
                .into_iter()
                .find(|r| cpts::builtin_id(r.template()) == Some(cpt))
                .context("the application does not follow a KYC template")?;
            let mut claims = app["credentialSubject"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            claims.remove("id");
            if role == KycRole::Supplier {
                let code = claims["unifiedSocialCreditCode"]
                    .as_str()
                    .unwrap_or_default();
                anyhow::ensure!(
                    suanli_vc::cpt::uscc_checksum_ok(code),
                    "unified social credit code {code:?} fails the GB 32100-2015 check character"
                );
            }
            let dir = tempfile::tempdir()?;
            let claims_path = dir.path().join("claims.json");
            std::fs::write(&claims_path, Value::Object(claims).to_string())?;
            let vc = issue(IssueArgs {
                issuer,
                key,
                method,
                cpt,
                cpt_version: None,
                subject: applicant,
                claims: claims_path,
                types: vec!["KycCredential".into()],
                valid_until,
                no_status: false,
                out: None,
                node,
            })?;
            write_or_print(out.as_deref(), &vc)
        }
    }
}
