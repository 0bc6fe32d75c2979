//! The identity part of `suanli demo`: DIDs on the identity chain, the authority and an
//! admitted issuer, KYC of a supplier as a W3C credential, a presentation to the market,
//! resolution over HTTP and revocation — all against the demo's embedded node.

use anyhow::Context;
use serde_json::{Map, Value, json};
use suanli_identity::op::{IdentityOp, StatusPurpose};
use suanli_identity::{ChainResolver, DidId, SuanliDid, cpt, urn};
use suanli_ledger::Payload;
use suanli_node::Node;
use suanli_primitives::{ChainKind, SecretKey};
use suanli_vc::credential::{CredentialDraft, SchemaRef, StatusRef};
use suanli_vc::verify::{CheckOutcome, VerificationReport, Verifier};

fn act(node: &Node, key: &SecretKey, op: IdentityOp) -> anyhow::Result<()> {
    let payload = Payload::Call(op.to_call()?);
    crate::act(node, ChainKind::Identity, key, payload, op.name())
}

fn show(report: &VerificationReport) {
    for (name, outcome) in &report.checks {
        let text = match outcome {
            CheckOutcome::Passed => "passed".to_owned(),
            CheckOutcome::Failed { code, .. } => format!("FAILED ({code})"),
            CheckOutcome::Skipped(why) => format!("skipped ({why})"),
        };
        println!("      {:<16} {text}", name.as_str());
    }
    match report.first_failure() {
        None => println!("    → VERIFIED"),
        Some((check, code, _)) => {
            println!("    → NOT VERIFIED: {} failed with {code}", check.as_str())
        }
    }
}

pub(crate) fn verify(node: &Node, vc: &Value) -> VerificationReport {
    let network = node.chain_id(ChainKind::Identity).network().clone();
    let authority = DidId::derive(&node.genesis(ChainKind::Identity).credit_operator);
    let now = node.now_ms();
    node.with_state(ChainKind::Identity, |s| {
        let r = ChainResolver {
            state: s,
            network: &network,
            authority: &authority,
        };
        Verifier {
            keys: &r,
            schemas: &r,
            status: &r,
        }
        .verify_credential(vc, now)
    })
}

pub fn run(node: &Node, operator: &SecretKey, base: &str) -> anyhow::Result<()> {
    let network = node.chain_id(ChainKind::Identity).network().clone();
    let now = || node.now_ms();
    println!(
        "\n[I1] Every party is a DID on the identity chain (did:suanli, id derived from its first key):"
    );
    let authority = SuanliDid::for_initial_key(network.clone(), &operator.public());
    let lab_key = SecretKey::generate()?;
    let lab = SuanliDid::for_initial_key(network.clone(), &lab_key.public());
    let supplier_key = SecretKey::generate()?;
    let supplier = SuanliDid::for_initial_key(network.clone(), &supplier_key.public());
    for (who, key, did) in [
        ("authority", operator, &authority),
        ("certification lab", &lab_key, &lab),
        ("supplier", &supplier_key, &supplier),
    ] {
        if node.with_state(ChainKind::Identity, |s| {
            suanli_identity::contract::head(s, did.id()).is_err()
        }) {
            act(node, key, IdentityOp::CreateDid)?;
        }
        println!("    {who:<18} {did}");
    }

    println!("\n[I2] The genesis authority admits the lab to the Authority-Issuer list:");
    act(
        node,
        operator,
        IdentityOp::AdmitIssuer {
            authority: authority.id().clone(),
            issuer: lab.id().clone(),
            name: "算力认证实验室 (demo)".into(),
        },
    )?;

    println!(
        "\n[I3] The lab reviews the supplier's KYC claims and issues a W3C credential (eddsa-jcs-2022):"
    );
    let mut subject = Map::new();
    subject.insert("id".into(), json!(supplier.to_string()));
    for (k, v) in [
        ("organisationName", json!("闽算科技有限公司 (demo)")),
        ("unifiedSocialCreditCode", json!("91350100M000100Y43")),
        ("legalRepresentative", json!("张三")),
        (
            "qualifications",
            json!([{"name": "IDC licence", "number": "B1-20230001"}]),
        ),
        (
            "contact",
            json!({"name": "李四", "phone": "+86 591 5555 0101"}),
        ),
    ] {
        subject.insert(k.into(), v);
    }
    anyhow::ensure!(
        suanli_vc::cpt::uscc_checksum_ok("91350100M000100Y43"),
        "demo credit code"
    );
    let kyc_cpt = cpt::builtin_id("kyc-supplier").context("kyc-supplier template")?;
    let schema = node
        .with_state(ChainKind::Identity, |s| cpt::get(s, kyc_cpt, None))?
        .context("kyc-supplier template")?
        .schema;
    let issued_at = now();
    let draft = CredentialDraft {
        id: None,
        types: vec!["KycCredential".into()],
        issuer: lab.to_string(),
        subject,
        valid_from: issued_at,
        valid_until: Some(issued_at + 365 * 86_400_000),
        schema: Some(SchemaRef {
            id: urn::cpt(&network, kyc_cpt, 1),
        }),
        status: Some(StatusRef {
            list_credential: urn::StatusListId {
                network: network.clone(),
                issuer: lab.id().clone(),
                purpose: StatusPurpose::Revocation,
                list: 0,
            }
            .urn(),
            index: 0,
            purpose: StatusPurpose::Revocation,
        }),
    };
    let vc = suanli_vc::credential::issue_with_schema(
        &draft,
        &schema,
        &format!("{lab}#key-1"),
        issued_at,
        &lab_key,
    )?;
    let proof_value = vc["proof"]["proofValue"].as_str().unwrap_or_default();
    println!(
        "    issuer {}  subject {}",
        vc["issuer"], vc["credentialSubject"]["id"]
    );
    println!(
        "    credentialSchema {}  credentialStatus {}#{}",
        draft.schema.as_ref().map(|s| s.id.as_str()).unwrap_or(""),
        vc["credentialStatus"]["statusListCredential"],
        vc["credentialStatus"]["statusListIndex"]
    );
    println!(
        "    proof {} / {} / {}…",
        vc["proof"]["type"],
        vc["proof"]["cryptosuite"],
        &proof_value[..proof_value.len().min(24)]
    );

    println!("\n[I4] Anyone verifies it against the chain, check by check:");
    show(&verify(node, &vc));

    println!(
        "\n[I5] The supplier presents it to the market, bound to the market's challenge and domain:"
    );
    let vp = suanli_vc::presentation::present(
        &supplier.to_string(),
        vec![vc.clone()],
        &format!("{supplier}#key-1"),
        "market-challenge-42",
        "market.suanli.example",
        now(),
        &supplier_key,
    )?;
    let authority_id = authority.id().clone();
    let check_vp = |challenge: &str| {
        let verify_at = node.now_ms();
        node.with_state(ChainKind::Identity, |s| {
            let r = ChainResolver {
                state: s,
                network: &network,
                authority: &authority_id,
            };
            Verifier {
                keys: &r,
                schemas: &r,
                status: &r,
            }
            .verify_presentation(&vp, challenge, "market.suanli.example", verify_at)
        })
    };
    let good = check_vp("market-challenge-42");
    println!(
        "    with the market's challenge:   {}",
        if good.ok() {
            "VERIFIED".to_owned()
        } else {
            format!("{:?}", good.first_failure())
        }
    );
    let replay = check_vp("another-challenge");
    println!(
        "    replayed to another challenge: {}",
        replay
            .first_failure()
            .map_or("verified?!".to_owned(), |f| format!("refused ({})", f.1))
    );

    println!(
        "\n[I6] Any DID resolver reads the supplier's DID document from the node ({base}/1.0/identifiers/…):"
    );
    let url = format!("{base}/1.0/identifiers/{supplier}");
    let resolved: Value = ureq::get(&url).call()?.body_mut().read_json()?;
    println!(
        "    versionId {}  created {}  key {}",
        resolved["didDocumentMetadata"]["versionId"],
        resolved["didDocumentMetadata"]["created"],
        resolved["didDocument"]["verificationMethod"][0]["publicKeyMultibase"]
    );

    println!(
        "\n[I7] The lab revokes the credential (an identity-chain transaction); verification now says why:"
    );
    act(
        node,
        &lab_key,
        IdentityOp::SetStatus {
            issuer: lab.id().clone(),
            purpose: StatusPurpose::Revocation,
            list: 0,
            index: 0,
            set: true,
        },
    )?;
    show(&verify(node, &vc));
    Ok(())
}
