//! `suanli did|issuer|cpt|vc|vp|kyc`: the identity chain from the command line. Keys are
//! PKCS#8 files that stay with their holder; every write is a transaction signed here and
//! posted to a node (`--node`), every credential is signed here
//! (`suanli_ledger_client::identity` does the work; this module parses and prints).

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use suanli_identity::document::Relationships;
use suanli_identity::op::IdentityOp;
use suanli_identity::{DidId, SuanliDid, cpt as cpts};
use suanli_ledger_client::identity::{self as id, IssueRequest, fragment, parse_did};
use suanli_ledger_client::wallet::{load_key, read_json};

use super::NodeTarget;

/// Most credentials one presentation may carry.
const PRESENTATION_CREDENTIALS_MAX: usize = 16;

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

pub(crate) fn pretty(value: &Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
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
            let (key, client) = (load_key(&key)?, node.client()?);
            let network = client.network()?;
            let tx = id::submit(&client, &key, IdentityOp::CreateDid)?;
            eprintln!("created in transaction {tx}");
            println!("{}", SuanliDid::for_initial_key(network, &key.public()));
        }
        DidCmd::Resolve {
            did,
            version_time,
            version_id,
            node,
        } => {
            let path = id::resolve_path(&did, version_time.as_deref(), version_id)?;
            let (status, body) = node.client()?.get(&path)?;
            pretty(&body)?;
            if let Some(code) = body["didResolutionMetadata"]["error"].as_str() {
                anyhow::bail!("resolution failed: {code} (HTTP {status})");
            }
        }
        DidCmd::Update {
            did,
            key,
            change,
            node,
        } => {
            let (did, key) = (parse_did(&did)?, load_key(&key)?);
            let op = did_change(did.id().clone(), change)?;
            let tx = id::submit(&node.client()?, &key, op)?;
            println!("updated {did} in transaction {tx}");
        }
        DidCmd::Deactivate { did, key, node } => {
            let (did, key) = (parse_did(&did)?, load_key(&key)?);
            let op = IdentityOp::Deactivate {
                did: did.id().clone(),
            };
            let tx = id::submit(&node.client()?, &key, op)?;
            println!("deactivated {did} in transaction {tx}");
        }
    }
    Ok(())
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
            let (key, issuer, client) = (
                load_key(&authority_key)?,
                parse_did(&issuer)?,
                node.client()?,
            );
            let op = IdentityOp::AdmitIssuer {
                authority: id::authority_of(&client)?.id().clone(),
                issuer: issuer.id().clone(),
                name,
            };
            let tx = id::submit(&client, &key, op)?;
            println!("admitted {issuer} in transaction {tx}");
        }
        IssuerCmd::Remove {
            authority_key,
            issuer,
            node,
        } => {
            let (key, issuer, client) = (
                load_key(&authority_key)?,
                parse_did(&issuer)?,
                node.client()?,
            );
            let op = IdentityOp::RemoveIssuer {
                authority: id::authority_of(&client)?.id().clone(),
                issuer: issuer.id().clone(),
            };
            let tx = id::submit(&client, &key, op)?;
            println!("removed {issuer} in transaction {tx}");
        }
        IssuerCmd::List { node } => pretty(&node.client()?.get_ok("/1.0/issuers")?)?,
    }
    Ok(())
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
            let (did, key, schema) = (parse_did(&did)?, load_key(&key)?, read_json(&schema)?);
            let client = node.client()?;
            let (tx, id, version) =
                id::register_cpt(&client, &did, &key, &schema, qualification, cpt)?;
            eprintln!("registered in transaction {tx}: CPT {id} version {version}");
            println!("{id}");
        }
        CptCmd::Show { id, version, node } => {
            let path = match version {
                Some(v) => format!("/1.0/cpts/{id}?version={v}"),
                None => format!("/1.0/cpts/{id}"),
            };
            pretty(&node.client()?.get_ok(&path)?)?;
        }
        CptCmd::List { from, node } => {
            let path = match from {
                Some(f) => format!("/1.0/cpts?from={f}"),
                None => "/1.0/cpts".to_owned(),
            };
            pretty(&node.client()?.get_ok(&path)?)?;
        }
    }
    Ok(())
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
            let body = json!({"credential": read_json(&file)?});
            report(&id::verify(
                &node.client()?,
                "/1.0/credentials/verify",
                &body,
            )?)
        }
        VcCmd::Revoke { file, key, node } => {
            let (vc, key) = (read_json(&file)?, load_key(&key)?);
            let (op, list_urn, index) = id::revocation(&vc)?;
            let tx = id::submit(&node.client()?, &key, op)?;
            println!("revoked (status list {list_urn}, index {index}) in transaction {tx}");
            Ok(())
        }
    }
}

fn report(body: &Value) -> anyhow::Result<()> {
    pretty(&body["report"])?;
    anyhow::ensure!(body["verified"] == json!(true), "NOT VERIFIED");
    println!("VERIFIED");
    Ok(())
}

fn issue(args: IssueArgs) -> anyhow::Result<Value> {
    let claims = read_json(&args.claims)?;
    issue_claims(args, claims)
}

/// Issues `claims` (instead of the file `args.claims` names).
fn issue_claims(args: IssueArgs, claims: Value) -> anyhow::Result<Value> {
    let key = load_key(&args.key)?;
    let client = args.node.client()?;
    let request = IssueRequest {
        issuer: &args.issuer,
        key: &key,
        key_path: &args.key,
        method: &args.method,
        cpt: args.cpt,
        cpt_version: args.cpt_version,
        subject: &args.subject,
        claims,
        claims_name: &args.claims.display().to_string(),
        types: args.types.clone(),
        valid_until: args.valid_until.as_deref(),
        with_status: !args.no_status,
    };
    Ok(id::issue(&client, request)?)
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
                .collect::<Result<Vec<_>, _>>()?;
            let vp = id::present(&holder, &key, &method, &challenge, &domain, vcs)?;
            write_or_print(out.as_deref(), &vp)
        }
        VpCmd::Verify {
            file,
            challenge,
            domain,
            node,
        } => {
            let body = json!({"presentation": read_json(&file)?, "challenge": challenge, "domain": domain});
            report(&id::verify(
                &node.client()?,
                "/1.0/presentations/verify",
                &body,
            )?)
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
            let app = id::review_application(&node.client()?, &read_json(&application)?)?;
            let args = IssueArgs {
                issuer,
                key,
                method,
                cpt: app.cpt,
                cpt_version: None,
                subject: app.applicant,
                claims: application,
                types: vec!["KycCredential".into()],
                valid_until,
                no_status: false,
                out: None,
                node,
            };
            let vc = issue_claims(args, Value::Object(app.claims))?;
            write_or_print(out.as_deref(), &vc)
        }
    }
}
