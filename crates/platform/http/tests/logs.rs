//! No password, token, TOTP secret, recovery code, ID number or DID key ever appears in the
//! logs.
//! Captures everything the server logs (at TRACE, including dependencies such as hyper
//! and sqlx) while it handles requests carrying each kind of secret.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;
use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex};
use suanli_platform_domain::clock::Clock;

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn secrets_never_reach_the_logs() {
    let buf = Buf::default();
    let writer = buf.clone();
    // Everything at TRACE except the test's own HTTP client (ureq hex-dumps the bytes it
    // receives at TRACE — that is the client side of this test, not the server).
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "trace,ureq=off,ureq_proto=off",
        ))
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    let field_key = "ab".repeat(32);
    let srv = TestServer::start_with(|c| {
        c.field_key = Some(suanli_platform_http::config::Secret::new(field_key.clone()));
    });
    let admin = srv.admin();
    let mut secrets: Vec<String> = vec![ADMIN_PASSWORD.into(), field_key.clone()];
    if let Cred::Session { cookie, csrf } = &admin {
        secrets.push(cookie.clone());
        secrets.push(csrf.clone());
    }
    srv.try_login("admin", "Wrong-Secret-Pw-77", json!({}));
    secrets.push("Wrong-Secret-Pw-77".into());
    let (_, v) = srv.post(
        "/api/v1/me/tokens",
        &admin,
        json!({"name": "t", "scopes": ["org:read"], "ttl_secs": 60}),
    );
    let token = v["token"].as_str().unwrap().to_owned();
    srv.get("/api/v1/orgs", &Cred::Bearer(token.clone()));
    secrets.push(token);
    let (_, v) = srv.post("/api/v1/me/mfa/totp", &admin, json!({}));
    let b32 = v["secret_base32"].as_str().unwrap().to_owned();
    let secret = totp_rs::Secret::Encoded(b32.clone()).to_bytes().unwrap();
    let code = totp_rs::TOTP::new_unchecked(totp_rs::Algorithm::SHA1, 6, 0, 30, secret)
        .generate(u64::try_from(srv.clock.now_unix_ms() / 1000).unwrap());
    let (_, v) = srv.post("/api/v1/me/mfa/totp/confirm", &admin, json!({"code": code}));
    let recovery = v["recovery_codes"][0].as_str().unwrap().to_owned();
    srv.try_login("admin", ADMIN_PASSWORD, json!({"recovery_code": recovery}));
    secrets.push(b32);
    secrets.push(recovery);
    let (_, v) = srv.post("/api/v1/registrations/personal", &Cred::None, json!({
        "login": "lisi", "password": pw("lisi"), "name": "Li Si", "id_number": ID_NUMBER, "phone": "13800138000"}));
    let rid = v["registration"]["id"].as_i64().unwrap();
    let (s, v) = srv.post(
        &format!("/api/v1/registrations/{rid}/reveal-id-number"),
        &admin,
        json!({}),
    );
    assert_eq!(
        (s, v["id_number"].as_str()),
        (200, Some(ID_NUMBER)),
        "{v} rid={rid}"
    );
    secrets.push(pw("lisi"));
    secrets.push(ID_NUMBER.into());
    secrets.push("19491231".into());
    // The DID key: password change (re-encryption) and export with a wrong and the right
    // password. Neither the passwords nor any line of the exported PEM are logged.
    let (s, v) = srv.post(
        &format!("/api/v1/registrations/{rid}/approve"),
        &admin,
        json!({}),
    );
    assert_eq!(s, 200, "{v}");
    let lisi = srv.login("lisi", &pw("lisi"));
    let new_pw = "Key-Custody-Secret-Pw-5";
    let (s, v) = srv.post(
        "/api/v1/me/password",
        &lisi,
        json!({"current_password": pw("lisi"), "new_password": new_pw}),
    );
    assert_eq!(s, 204, "{v}");
    let lisi = srv.login("lisi", new_pw);
    srv.post(
        "/api/v1/me/key/export",
        &lisi,
        json!({"password": "Wrong-Export-Pw-31"}),
    );
    let (s, v) = srv.post("/api/v1/me/key/export", &lisi, json!({"password": new_pw}));
    assert_eq!(s, 200, "{v}");
    let pem = v["pkcs8_pem"].as_str().unwrap().to_owned();
    secrets.push(new_pw.into());
    secrets.push("Wrong-Export-Pw-31".into());
    secrets.extend(
        pem.lines()
            .filter(|l| !l.starts_with("-----"))
            .map(str::to_owned),
    );
    let seed = suanli_primitives::SecretKey::from_pem(&pem).unwrap().seed();
    secrets.push(hex::encode(seed));
    drop(srv);

    let logs = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    // The capture works: the server did log these requests.
    assert!(logs.contains("login succeeded"), "{logs}");
    assert!(logs.contains("login failed"));
    assert!(logs.contains("/api/v1/registrations/personal"));
    assert!(logs.contains("DID key exported"));
    for s in &secrets {
        if let Some(line) = logs.lines().find(|l| l.contains(s.as_str())) {
            panic!("secret {s:?} found in logs: {line}");
        }
    }
}
