//! The identity CLI end to end against a running `suanli node`: DIDs, the authority and
//! its issuer list, CPTs, KYC, credentials, presentations, rotation, revocation and
//! deactivation — each failure with its own precise code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};

mod common;

use common::{Cli, start_node, suanli};

#[test]
fn identity_flow_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("node");
    let (_node, url) = start_node(&data);
    let cli = Cli {
        url,
        dir: dir.path().to_owned(),
    };

    // The genesis authority is the DID of the node's operator key.
    std::fs::copy(data.join("operator.key"), dir.path().join("authority.key")).unwrap();
    let authority = cli
        .ok(&["did", "create", "--key", "authority.key"])
        .trim()
        .to_owned();
    let issuer_key = cli.key("issuer");
    let issuer = cli
        .ok(&["did", "create", "--key", &issuer_key])
        .trim()
        .to_owned();
    let supplier_key = cli.key("supplier");
    let supplier = cli
        .ok(&["did", "create", "--key", &supplier_key])
        .trim()
        .to_owned();
    assert!(
        supplier.starts_with("did:suanli:suanli-local:"),
        "{supplier}"
    );
    let listed: Value = serde_json::from_str(&cli.ok(&["issuer", "list"])).unwrap();
    assert_eq!(listed["authority"], authority);

    // Resolution errors are the standard ones.
    assert!(
        cli.fails(&["did", "resolve", "did:suanli:suanli-local:0OIl"])
            .contains("invalidDid")
    );
    assert!(
        cli.fails(&["did", "resolve", "did:suanli:suanli-local:3mJr7AoUXx2Wqd"])
            .contains("notFound")
    );
    assert!(
        cli.fails(&["did", "resolve", "did:web:example.com"])
            .contains("methodNotSupported")
    );

    // Only admitted issuers register qualification CPTs.
    let schema = cli.write(
        "licence.json",
        &json!({"title": "IDC operating licence", "description": "增值电信业务经营许可证",
                "type": "object", "properties": {"licenceNo": {"type": "string"}},
                "required": ["licenceNo"]}),
    );
    let refused = cli.fails(&[
        "cpt",
        "register",
        "--did",
        &issuer,
        "--key",
        &issuer_key,
        "--schema",
        &schema,
        "--qualification",
    ]);
    assert!(refused.contains("issuer_not_admitted"), "{refused}");
    cli.ok(&[
        "issuer",
        "admit",
        "--authority-key",
        "authority.key",
        "--issuer",
        &issuer,
        "--name",
        "CAICT test lab",
    ]);
    let cpt = cli.ok(&[
        "cpt",
        "register",
        "--did",
        &issuer,
        "--key",
        &issuer_key,
        "--schema",
        &schema,
        "--qualification",
    ]);
    assert_eq!(cpt.trim(), "1000");

    // KYC: the supplier applies, the admitted issuer reviews and issues.
    let claims = cli.write(
        "kyc-claims.json",
        &json!({
            "organisationName": "闽算科技有限公司",
            "unifiedSocialCreditCode": "91350100M000100Y43",
            "legalRepresentative": "张三",
            "qualifications": [{"name": "IDC licence", "number": "B1-20230001"}],
            "contact": {"name": "李四", "phone": "+86 591 5555 0101", "email": "ops@example.com"}
        }),
    );
    let apply = [
        "kyc",
        "apply",
        "--did",
        &supplier,
        "--key",
        &supplier_key,
        "--role",
        "supplier",
        "--claims",
        &claims,
        "--out",
        "application.json",
    ];
    let applied = cli.run(&apply);
    assert!(
        applied.status.success(),
        "{}",
        String::from_utf8_lossy(&applied.stderr)
    );
    cli.ok(&[
        "kyc",
        "issue",
        "application.json",
        "--issuer",
        &issuer,
        "--key",
        &issuer_key,
        "--out",
        "kyc.json",
    ]);
    let verified = cli.ok(&["vc", "verify", "kyc.json"]);
    assert!(verified.contains("VERIFIED"), "{verified}");

    // A wrong check character in the credit code is refused at review.
    let mut bad: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("kyc-claims.json")).unwrap())
            .unwrap();
    bad["unifiedSocialCreditCode"] = json!("91350100M000100Y44");
    let bad_claims = cli.write("bad-claims.json", &bad);
    cli.ok(&[
        "kyc",
        "apply",
        "--did",
        &supplier,
        "--key",
        &supplier_key,
        "--role",
        "supplier",
        "--claims",
        &bad_claims,
        "--out",
        "bad-app.json",
    ]);
    let refused = cli.fails(&[
        "kyc",
        "issue",
        "bad-app.json",
        "--issuer",
        &issuer,
        "--key",
        &issuer_key,
    ]);
    assert!(refused.contains("check character"), "{refused}");

    // Presentations are bound to the verifier's challenge and domain.
    cli.ok(&[
        "vp",
        "create",
        "--holder",
        &supplier,
        "--key",
        &supplier_key,
        "--challenge",
        "c-123",
        "--domain",
        "market.suanli.example",
        "kyc.json",
        "--out",
        "vp.json",
    ]);
    cli.ok(&[
        "vp",
        "verify",
        "vp.json",
        "--challenge",
        "c-123",
        "--domain",
        "market.suanli.example",
    ]);
    assert_eq!(
        cli.first_failure(&[
            "vp",
            "verify",
            "vp.json",
            "--challenge",
            "other",
            "--domain",
            "market.suanli.example"
        ]),
        "challenge_mismatch"
    );
    assert_eq!(
        cli.first_failure(&[
            "vp",
            "verify",
            "vp.json",
            "--challenge",
            "c-123",
            "--domain",
            "evil.example"
        ]),
        "domain_mismatch"
    );

    // A changed field breaks the proof.
    let mut tampered: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("kyc.json")).unwrap())
            .unwrap();
    tampered["credentialSubject"]["organisationName"] = json!("别的公司");
    cli.write("tampered.json", &tampered);
    assert_eq!(
        cli.first_failure(&["vc", "verify", "tampered.json"]),
        "proof_signature_invalid"
    );

    // Claims that violate the CPT are refused before signing.
    let wrong = cli.write("wrong.json", &json!({"licenceNo": 42}));
    let refused = cli.fails(&[
        "vc",
        "issue",
        "--issuer",
        &issuer,
        "--key",
        &issuer_key,
        "--cpt",
        "1000",
        "--subject",
        &supplier,
        "--claims",
        &wrong,
    ]);
    assert!(refused.contains("licenceNo"), "{refused}");

    // Rotation: credentials from before stay valid; the old key cannot issue after it.
    let before_rotation = cli.ok(&["did", "resolve", &issuer]);
    let before: Value = serde_json::from_str(&before_rotation).unwrap();
    let v1_time = before["didDocumentMetadata"]["created"]
        .as_str()
        .unwrap()
        .to_owned();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let new_key = cli.key("issuer-2");
    cli.ok(&[
        "did",
        "update",
        "--did",
        &issuer,
        "--key",
        &issuer_key,
        "rotate-key",
        "--old",
        "key-1",
        "--new",
        "key-2",
        "--new-key-file",
        &new_key,
    ]);
    assert!(cli.ok(&["vc", "verify", "kyc.json"]).contains("VERIFIED"));
    let licence = cli.write("licence-claims.json", &json!({"licenceNo": "B1-20230001"}));
    // The CLI refuses to sign with a rotated-out key …
    let refused = cli.fails(&[
        "vc",
        "issue",
        "--issuer",
        &issuer,
        "--key",
        &issuer_key,
        "--cpt",
        "1000",
        "--subject",
        &supplier,
        "--claims",
        &licence,
    ]);
    assert!(refused.contains("no current key #key-1"), "{refused}");
    // … and a credential someone signs with it anyway does not verify.
    let old_key = suanli_primitives::SecretKey::load(&dir.path().join(&issuer_key)).unwrap();
    let mut subject = serde_json::Map::new();
    subject.insert("id".into(), json!(supplier));
    subject.insert("licenceNo".into(), json!("B1-20230001"));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let draft = suanli_vc::credential::CredentialDraft {
        id: None,
        types: vec![],
        issuer: issuer.clone(),
        subject,
        valid_from: now,
        valid_until: None,
        schema: Some(suanli_vc::credential::SchemaRef {
            id: "urn:suanli:suanli-local:cpt:1000:1".into(),
        }),
        status: None,
    };
    let stale =
        suanli_vc::credential::issue(&draft, &format!("{issuer}#key-1"), now, &old_key).unwrap();
    cli.write("stale.json", &stale);
    assert_eq!(
        cli.first_failure(&["vc", "verify", "stale.json"]),
        "key_not_valid_at_issuance"
    );
    let old_doc: Value =
        serde_json::from_str(&cli.ok(&["did", "resolve", &issuer, "--version-time", &v1_time]))
            .unwrap();
    assert_eq!(
        old_doc["didDocument"]["verificationMethod"][0]["id"],
        format!("{issuer}#key-1")
    );

    // Revocation is an identity-chain transaction.
    cli.ok(&["vc", "revoke", "kyc.json", "--key", &new_key]);
    assert_eq!(cli.first_failure(&["vc", "verify", "kyc.json"]), "revoked");

    // A deactivated issuer's credentials no longer verify.
    cli.ok(&[
        "vc",
        "issue",
        "--issuer",
        &issuer,
        "--key",
        &new_key,
        "--method",
        "key-2",
        "--cpt",
        "1000",
        "--subject",
        &supplier,
        "--claims",
        &licence,
        "--out",
        "licence.vc.json",
    ]);
    assert!(
        cli.ok(&["vc", "verify", "licence.vc.json"])
            .contains("VERIFIED")
    );
    cli.ok(&["did", "deactivate", "--did", &issuer, "--key", &new_key]);
    assert_eq!(
        cli.first_failure(&["vc", "verify", "licence.vc.json"]),
        "issuer_deactivated"
    );

    // The whole identity chain still verifies offline.
    drop(_node);
    let out = suanli()
        .args(["chain", "verify", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
