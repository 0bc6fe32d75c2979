//! Key custody (docs/key-custody.md): a DID key per self-registered user, encrypted under
//! the password, its DID created on the identity chain with a transaction signed by the
//! key itself, exportable only with the password again, re-encrypted on password change.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use suanli_platform_http::PortError;
use suanli_platform_http::keys::DidRegistry;
use suanli_platform_http::payment::SignedTx;
use suanli_primitives::{PublicKey, SecretKey, Signature};

const CREATE: &[u8] = b"test-chain/create-did";

/// Stands in for the binary's ledger registry: "signs" the DID creation as the real one
/// does (with the user's new key) and checks that signature when the DID is "sent".
fn refused(message: &str) -> PortError {
    PortError::Refused {
        code: "test",
        message: message.to_owned(),
    }
}

#[derive(Debug, Default)]
struct TestChain {
    applied: Mutex<Vec<String>>,
    down: AtomicBool,
}

impl DidRegistry for TestChain {
    fn did_of(&self, key: &PublicKey) -> String {
        format!("did:suanli:test:{}", &key.to_hex()[..32])
    }
    fn sign_create(&self, key: &SecretKey) -> Result<SignedTx, PortError> {
        Ok(SignedTx {
            reference: key.public().to_hex(),
            encoded_hex: key.sign(CREATE).to_hex(),
        })
    }
    fn send(&self, tx: &SignedTx) -> Result<(), PortError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(refused("chain unreachable"));
        }
        let key = PublicKey::from_hex(&tx.reference).map_err(PortError::ledger)?;
        let sig = Signature::from_bytes(&hex::decode(&tx.encoded_hex).map_err(PortError::ledger)?)
            .map_err(PortError::ledger)?;
        if !key.verify(CREATE, &sig) {
            return Err(refused("bad signature"));
        }
        let mut a = self.applied.lock().unwrap();
        if !a.contains(&tx.reference) {
            a.push(tx.reference.clone());
        }
        Ok(())
    }
}

/// Stands in for the binary's authority: "issues" a credential and "enrols" — only for a
/// DID the chain double already created.
#[derive(Debug)]
struct TestAuthority {
    chain: Arc<TestChain>,
    enrolled: Mutex<Vec<(String, String, Value)>>,
    down: AtomicBool,
}

impl suanli_platform_http::kyc::PartyEnrolment for TestAuthority {
    fn enrol_consumer(&self, did: &str, public: &str, claims: &Value) -> Result<Value, PortError> {
        self.issue(did, public, claims, "KycCredential")
    }
    fn enrol_supplier(&self, did: &str, public: &str, claims: &Value) -> Result<Value, PortError> {
        self.issue(did, public, claims, "KycSupplierCredential")
    }
}

impl TestAuthority {
    fn issue(
        &self,
        did: &str,
        public: &str,
        claims: &Value,
        kind: &str,
    ) -> Result<Value, PortError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(refused("ledger unreachable"));
        }
        if !self
            .chain
            .applied
            .lock()
            .unwrap()
            .iter()
            .any(|k| k == public)
        {
            return Err(refused(&format!("{did} is not on the identity chain")));
        }
        let mut subject = claims.clone();
        subject["id"] = json!(did);
        let vc = json!({"id": format!("urn:test:kyc:{did}"), "type": ["VerifiableCredential", kind],
                        "credentialSubject": subject});
        self.enrolled
            .lock()
            .unwrap()
            .push((did.to_owned(), public.to_owned(), vc.clone()));
        Ok(vc)
    }
}

fn register_personal(srv: &TestServer, admin: &Cred, login: &str) -> Cred {
    let (s, v) = srv.post(
        "/api/v1/registrations/personal",
        &Cred::None,
        json!({"login": login, "password": pw(login), "name": "Zhao Liu",
               "id_number": ID_NUMBER, "phone": "13800138000"}),
    );
    assert_eq!(s, 201, "{v}");
    let rid = v["registration"]["id"].as_i64().unwrap();
    let (s, v) = srv.post(
        &format!("/api/v1/registrations/{rid}/approve"),
        admin,
        json!({}),
    );
    assert_eq!(s, 200, "{v}");
    srv.login(login, &pw(login))
}

/// GET /me/key until the DID is on chain.
fn key_on_chain(srv: &TestServer, cred: &Cred) -> Value {
    for _ in 0..500 {
        let (s, v) = srv.get("/api/v1/me/key", cred);
        assert_eq!(s, 200, "{v}");
        if v["key"]["did_on_chain"] == json!(true) {
            return v["key"].clone();
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("the DID never reached the chain");
}

fn export(srv: &TestServer, cred: &Cred, password: &str) -> (u16, Value, String) {
    let (s, v, h) = srv.raw(
        "POST",
        "/api/v1/me/key/export",
        cred,
        Some("application/json"),
        serde_json::to_vec(&json!({ "password": password })).unwrap(),
    );
    let cache = h
        .get("cache-control")
        .and_then(|c| c.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (s, v, cache)
}

fn file_bytes(srv: &TestServer) -> Vec<u8> {
    let mut all = Vec::new();
    for suffix in ["", "-wal"] {
        let mut p = srv.db_path().into_os_string();
        p.push(suffix);
        all.extend(std::fs::read(p).unwrap_or_default());
    }
    all
}

#[test]
fn registration_creates_an_encrypted_key_whose_did_it_signs_into_the_chain() {
    let chain = Arc::new(TestChain::default());
    let srv = TestServer::start_with_dids(chain.clone());
    let admin = srv.admin();
    let user = register_personal(&srv, &admin, "zhaoliu");

    let key = key_on_chain(&srv, &user);
    let public = key["public_key"].as_str().unwrap().to_owned();
    let did = chain.did_of(&PublicKey::from_hex(&public).unwrap());
    assert_eq!(key["did"], json!(did));
    assert_eq!(key["encryption"]["kdf"], "argon2id-v19");
    assert_eq!(key["encryption"]["aead"], "XChaCha20-Poly1305");
    assert_eq!(key["encryption"]["memory_kib"], 64, "the configured cost");
    assert!(
        key["signing"]
            .as_str()
            .unwrap()
            .contains("signed with this key")
    );
    // The chain applied a creation signed by this very key.
    assert_eq!(*chain.applied.lock().unwrap(), vec![public.clone()]);

    let (s, v, cache) = export(&srv, &user, &pw("zhaoliu"));
    assert_eq!(s, 200, "{v}");
    assert_eq!(cache, "no-store");
    let pem = v["pkcs8_pem"].as_str().unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "{pem}");
    let secret = SecretKey::from_pem(pem).unwrap();
    assert_eq!(secret.public().to_hex(), public);
    assert_eq!(v["did"], json!(did));

    // At rest only ciphertext: neither the seed nor the PEM's base64 is in the database.
    let db = file_bytes(&srv);
    assert!(!db.is_empty());
    let seed = secret.seed();
    assert!(!db.windows(32).any(|w| w == seed), "seed found at rest");
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    assert!(
        !db.windows(body.len()).any(|w| w == body.as_bytes()),
        "PEM found at rest"
    );

    // The export is audited — as an action, without the secret.
    let (_, audit) = srv.get("/api/v1/audit?limit=200", &admin);
    let rec = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["target"] == "/api/v1/me/key/export")
        .expect("export audited");
    assert_eq!(rec["outcome"], "success");
    assert!(!audit.to_string().contains(&body));
}

#[test]
fn export_needs_the_password_a_session_and_is_throttled_like_login() {
    let srv = TestServer::start();
    let admin = srv.admin();
    let user = register_personal(&srv, &admin, "qianqi");
    // Without a chain the key exists, without a DID.
    let (s, v) = srv.get("/api/v1/me/key", &user);
    assert_eq!((s, &v["key"]["did"]), (200, &Value::Null), "{v}");
    assert_eq!(v["key"]["did_on_chain"], false);

    // An API token, whatever its scopes, cannot export.
    let (_, me) = srv.get("/api/v1/me", &user);
    let scope = me["permissions"][0].clone();
    let (s, t) = srv.post(
        "/api/v1/me/tokens",
        &user,
        json!({"name": "t", "scopes": [scope], "ttl_secs": 600}),
    );
    assert_eq!(s, 201, "{t}");
    let token = Cred::Bearer(t["token"].as_str().unwrap().to_owned());
    assert_err(
        srv.post(
            "/api/v1/me/key/export",
            &token,
            json!({"password": pw("qianqi")}),
        ),
        403,
        "session_required",
    );
    assert_eq!(srv.get("/api/v1/me/key", &token).0, 200, "reading is fine");
    // Bad bodies say what to fix.
    assert_err(
        srv.post("/api/v1/me/key/export", &user, json!({})),
        422,
        "missing_field",
    );
    assert_err(
        srv.post(
            "/api/v1/me/key/export",
            &user,
            json!({"password": pw("qianqi"), "format": "der"}),
        ),
        422,
        "unknown_field",
    );
    // Wrong passwords count like failed logins: five lock the account.
    for _ in 0..5 {
        let (s, v, _) = export(&srv, &user, "Not-The-Password-1");
        assert_eq!(
            (s, v["error"]["code"].as_str(), v["error"]["field"].as_str()),
            (422, Some("invalid_credentials"), Some("password")),
            "{v}"
        );
    }
    let (s, v, _) = export(&srv, &user, &pw("qianqi"));
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (423, Some("account_locked"))
    );
    let (s, v, _) = srv.try_login("qianqi", &pw("qianqi"), json!({}));
    assert_err((s, v), 423, "account_locked");

    // The operator's bootstrap administrator (password set by configuration) has no key.
    assert_err(srv.get("/api/v1/me/key", &admin), 404, "no_key");
    let (s, v, _) = export(&srv, &admin, ADMIN_PASSWORD);
    assert_eq!((s, v["error"]["code"].as_str()), (404, Some("no_key")));
}

#[test]
fn password_change_rewraps_the_key_and_creates_one_for_admin_set_passwords() {
    let chain = Arc::new(TestChain::default());
    let srv = TestServer::start_with_dids(chain.clone());
    let admin = srv.admin();
    let user = register_personal(&srv, &admin, "sunba");
    let before = key_on_chain(&srv, &user);
    let (_, v, _) = export(&srv, &user, &pw("sunba"));
    let pem = v["pkcs8_pem"].as_str().unwrap().to_owned();

    let new_pw = "A-Brand-New-Passphrase-9";
    let (s, v) = srv.post(
        "/api/v1/me/password",
        &user,
        json!({"current_password": pw("sunba"), "new_password": new_pw}),
    );
    assert_eq!(s, 204, "{v}");
    let user = srv.login("sunba", new_pw);
    let (s, after) = srv.get("/api/v1/me/key", &user);
    assert_eq!(s, 200);
    assert_eq!(after["key"]["public_key"], before["public_key"], "same key");
    assert_eq!(after["key"]["did"], before["did"], "same DID");
    assert!(after["key"]["rewrapped_ms"].is_i64(), "{after}");
    let (s, v, _) = export(&srv, &user, &pw("sunba"));
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (422, Some("invalid_credentials"))
    );
    let (s, v, _) = export(&srv, &user, new_pw);
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["pkcs8_pem"].as_str(),
        Some(pem.as_str()),
        "the same secret"
    );

    // An administrator the operator created (with a password the operator chose) has no
    // key until its first own password change, and the chain being down then only
    // delays the DID.
    let (_, _, boss) = srv.org(&admin, "enterprise", "Boss Co", "boss");
    assert_err(srv.get("/api/v1/me/key", &boss), 404, "no_key");
    chain.down.store(true, Ordering::SeqCst);
    let (s, v) = srv.post(
        "/api/v1/me/password",
        &boss,
        json!({"current_password": pw("boss"), "new_password": "Only-Chief-Knows-This-1"}),
    );
    assert_eq!(s, 204, "{v}");
    let boss = srv.login("boss", "Only-Chief-Knows-This-1");
    let (s, v) = srv.get("/api/v1/me/key", &boss);
    assert_eq!(s, 200, "{v}");
    assert!(v["key"]["did"].is_string());
    assert_eq!(v["key"]["did_on_chain"], false, "chain down");
    chain.down.store(false, Ordering::SeqCst);
    // The worker retries; a new registration wakes it at once.
    let other = register_personal(&srv, &admin, "zhoujiu");
    key_on_chain(&srv, &other);
    key_on_chain(&srv, &boss);
    assert_eq!(chain.applied.lock().unwrap().len(), 3);
}

#[test]
fn approval_issues_the_kyc_credential_and_enrols_the_did_once_it_is_on_chain() {
    let chain = Arc::new(TestChain::default());
    let authority = Arc::new(TestAuthority {
        chain: chain.clone(),
        enrolled: Mutex::default(),
        down: AtomicBool::new(false),
    });
    // The identity chain is down while the applicant registers: the approval sends the
    // stored DID creation itself before the credential is issued.
    chain.down.store(true, Ordering::SeqCst);
    let srv = TestServer::start_full(|_| {}, Some(chain.clone()), Some(authority.clone()));
    let admin = srv.admin();
    let (s, v) = srv.post(
        "/api/v1/registrations/enterprise",
        &Cred::None,
        json!({"login": "acme", "password": pw("acme"), "display_name": "ACME admin",
               "company_name": "ACME Rendering Co., Ltd.", "credit_code": CODES[0],
               "licence_ref": "BL-1", "legal_person": "Zhang San"}),
    );
    assert_eq!(s, 201, "{v}");
    let rid = v["registration"]["id"].as_i64().unwrap();
    chain.down.store(false, Ordering::SeqCst);
    let (s, v) = srv.post(
        &format!("/api/v1/registrations/{rid}/approve"),
        &admin,
        json!({}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["kyc"]["status"], "enrolled", "{v}");
    let cred_id = v["kyc"]["credential_id"].as_str().unwrap().to_owned();
    assert_eq!(v["registration"]["kyc_credential_ref"], json!(cred_id));

    let acme = srv.login("acme", &pw("acme"));
    let (_, key) = srv.get("/api/v1/me/key", &acme);
    assert_eq!(key["key"]["did_on_chain"], true);
    let did = key["key"]["did"].as_str().unwrap();
    let enrolled = authority.enrolled.lock().unwrap().clone();
    assert_eq!(enrolled.len(), 1);
    assert_eq!(enrolled[0].0, did);
    assert_eq!(enrolled[0].1, key["key"]["public_key"].as_str().unwrap());
    // The claims: the legal representative for the company; no ID or credit-code numbers.
    assert_eq!(
        enrolled[0].2["credentialSubject"],
        json!({"id": did, "name": "Zhang San", "organisation": "ACME Rendering Co., Ltd.",
               "idType": "resident-id-card"})
    );
    let (s, v) = srv.get("/api/v1/me/kyc-credential", &acme);
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["credential"]["id"], json!(cred_id));
    assert_err(
        srv.get("/api/v1/me/kyc-credential", &admin),
        404,
        "no_credential",
    );

    // The ledger failing: the approval stands, the answer says what failed, nothing is
    // recorded as issued.
    authority.down.store(true, Ordering::SeqCst);
    let (s, v) = srv.post(
        "/api/v1/registrations/personal",
        &Cred::None,
        json!({"login": "lisi", "password": pw("lisi"), "name": "Li Si",
               "id_number": ID_NUMBER, "phone": "13800138000"}),
    );
    assert_eq!(s, 201, "{v}");
    let rid = v["registration"]["id"].as_i64().unwrap();
    let (s, v) = srv.post(
        &format!("/api/v1/registrations/{rid}/approve"),
        &admin,
        json!({}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["registration"]["status"], "approved");
    assert_eq!(v["kyc"]["status"], "failed", "{v}");
    assert!(
        v["kyc"]["message"]
            .as_str()
            .unwrap()
            .contains("unreachable")
    );
    assert_eq!(v["registration"]["kyc_credential_ref"], Value::Null);
    let lisi = srv.login("lisi", &pw("lisi"));
    assert_err(
        srv.get("/api/v1/me/kyc-credential", &lisi),
        404,
        "no_credential",
    );
    // The reviewer retries once the ledger is back; once is enough.
    let enrol = format!("/api/v1/registrations/{rid}/enrol");
    assert_err(srv.post(&enrol, &lisi, json!({})), 403, "forbidden");
    authority.down.store(false, Ordering::SeqCst);
    let (s, v) = srv.post(&enrol, &admin, json!({}));
    assert_eq!((s, &v["kyc"]["status"]), (200, &json!("enrolled")), "{v}");
    assert!(v["registration"]["kyc_credential_ref"].is_string());
    assert_eq!(srv.get("/api/v1/me/kyc-credential", &lisi).0, 200);
    assert_err(srv.post(&enrol, &admin, json!({})), 409, "already_enrolled");
    let (_, v) = srv.post(
        "/api/v1/registrations/personal",
        &Cred::None,
        json!({"login": "zhouyi", "password": pw("zhouyi"), "name": "Zhou Yi",
               "id_number": ID_NUMBER, "phone": "13800138000"}),
    );
    let pending = v["registration"]["id"].as_i64().unwrap();
    assert_err(
        srv.post(
            &format!("/api/v1/registrations/{pending}/enrol"),
            &admin,
            json!({}),
        ),
        409,
        "not_approved",
    );

    // Without a ledger the answer says so.
    let plain = TestServer::start();
    let padmin = plain.admin();
    let (_, v) = plain.post(
        "/api/v1/registrations/personal",
        &Cred::None,
        json!({"login": "wangwu", "password": pw("wangwu"), "name": "Wang Wu",
               "id_number": ID_NUMBER, "phone": "13800138000"}),
    );
    let rid = v["registration"]["id"].as_i64().unwrap();
    let (_, v) = plain.post(
        &format!("/api/v1/registrations/{rid}/approve"),
        &padmin,
        json!({}),
    );
    assert_eq!(v["kyc"]["status"], "not_configured", "{v}");
}
