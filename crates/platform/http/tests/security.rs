//! Security behaviour, each failure with its precise error code.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;
use serde_json::json;
use suanli_platform_domain::clock::Clock;

fn totp_code(secret_b32: &str, at_ms: i64) -> String {
    let secret = totp_rs::Secret::Encoded(secret_b32.to_owned())
        .to_bytes()
        .unwrap();
    totp_rs::TOTP::new_unchecked(totp_rs::Algorithm::SHA1, 6, 0, 30, secret)
        .generate(u64::try_from(at_ms / 1000).unwrap())
}

#[test]
fn wrong_password_unknown_login_and_lockout() {
    let srv = TestServer::start();
    let admin = srv.admin();
    let (s, _) = srv.call(
        "PUT",
        "/api/v1/settings/security",
        &admin,
        Some(json!({
            "password": {"min_chars": 10, "history": 3, "require_mixed": false},
            "login": {"failures_max": 3, "lock_secs": 600, "session_ttl_secs": 3600, "sessions_per_user_max": 2}
        })),
    );
    assert_eq!(s, 200);
    let (_, _, c) = srv.org(&admin, "supplier_api", "GPU Cloud", "sup1");
    drop(c);
    assert_err(
        srv.try_login("nobody", "whatever-pass", json!({}))
            .into_two(),
        401,
        "invalid_credentials",
    );
    for _ in 0..3 {
        assert_err(
            srv.try_login("sup1", "wrong-password!", json!({}))
                .into_two(),
            401,
            "invalid_credentials",
        );
    }
    // Locked: even the right password is refused, without being checked.
    assert_err(
        srv.try_login("sup1", &pw("sup1"), json!({})).into_two(),
        423,
        "account_locked",
    );
    srv.clock.advance_ms(599_000);
    assert_err(
        srv.try_login("sup1", &pw("sup1"), json!({})).into_two(),
        423,
        "account_locked",
    );
    srv.clock.advance_ms(2_000);
    let (s, _, _) = srv.try_login("sup1", &pw("sup1"), json!({}));
    assert_eq!(s, 200, "lock expired");
    // A success resets the counter: two more failures do not lock.
    for _ in 0..2 {
        srv.try_login("sup1", "wrong-password!", json!({}));
    }
    assert_eq!(srv.try_login("sup1", &pw("sup1"), json!({})).0, 200);
    let (_, m) = srv.get("/metrics", &Cred::None);
    let m = m.as_str().unwrap().to_owned();
    assert!(
        m.contains("suanli_logins_total{outcome=\"locked\"} 2"),
        "{m}"
    );
}

trait IntoTwo {
    fn into_two(self) -> (u16, serde_json::Value);
}
impl IntoTwo for (u16, serde_json::Value, Option<Cred>) {
    fn into_two(self) -> (u16, serde_json::Value) {
        (self.0, self.1)
    }
}

#[test]
fn totp_enrolment_login_expiry_replay_and_recovery_codes() {
    let srv = TestServer::start();
    let admin = srv.admin();
    let (_, _, sup) = srv.org(&admin, "supplier_resource", "Hall 3", "mfa1");
    // Confirm before setup.
    assert_err(
        srv.post(
            "/api/v1/me/mfa/totp/confirm",
            &sup,
            json!({"code": "123456"}),
        ),
        409,
        "mfa_not_started",
    );
    let (s, v) = srv.post("/api/v1/me/mfa/totp", &sup, json!({}));
    assert_eq!(s, 200, "{v}");
    let secret = v["secret_base32"].as_str().unwrap().to_owned();
    assert!(
        v["otpauth_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/")
    );
    // Not enabled until confirmed: login still needs no code.
    assert_eq!(srv.try_login("mfa1", &pw("mfa1"), json!({})).0, 200);
    assert_err(
        srv.post(
            "/api/v1/me/mfa/totp/confirm",
            &sup,
            json!({"code": "000000"}),
        ),
        422,
        "mfa_invalid",
    );
    let now = srv.clock.now_unix_ms();
    let (s, v) = srv.post(
        "/api/v1/me/mfa/totp/confirm",
        &sup,
        json!({"code": totp_code(&secret, now)}),
    );
    assert_eq!(s, 200, "{v}");
    let recovery: Vec<String> = v["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(recovery.len(), 10);

    assert_err(
        srv.try_login("mfa1", &pw("mfa1"), json!({})).into_two(),
        401,
        "mfa_required",
    );
    assert_err(
        srv.try_login("mfa1", &pw("mfa1"), json!({"totp_code": "000000"}))
            .into_two(),
        401,
        "mfa_invalid",
    );
    // A code from five minutes ago has expired.
    srv.clock.advance_ms(60_000);
    let stale = totp_code(&secret, srv.clock.now_unix_ms() - 300_000);
    assert_err(
        srv.try_login("mfa1", &pw("mfa1"), json!({"totp_code": stale}))
            .into_two(),
        401,
        "mfa_invalid",
    );
    let fresh = totp_code(&secret, srv.clock.now_unix_ms());
    assert_eq!(
        srv.try_login("mfa1", &pw("mfa1"), json!({"totp_code": fresh}))
            .0,
        200
    );
    // The same code cannot be replayed.
    assert_err(
        srv.try_login("mfa1", &pw("mfa1"), json!({"totp_code": fresh}))
            .into_two(),
        401,
        "mfa_invalid",
    );
    // A right code with a wrong password is still a wrong password.
    srv.clock.advance_ms(30_000);
    let next = totp_code(&secret, srv.clock.now_unix_ms());
    assert_err(
        srv.try_login("mfa1", "bad-password!!", json!({"totp_code": next}))
            .into_two(),
        401,
        "invalid_credentials",
    );
    // Recovery codes work once.
    assert_eq!(
        srv.try_login("mfa1", &pw("mfa1"), json!({"recovery_code": recovery[0]}))
            .0,
        200
    );
    assert_err(
        srv.try_login("mfa1", &pw("mfa1"), json!({"recovery_code": recovery[0]}))
            .into_two(),
        401,
        "mfa_invalid",
    );
    // Enrolling again is refused.
    let c = srv
        .try_login("mfa1", &pw("mfa1"), json!({"recovery_code": recovery[1]}))
        .2
        .unwrap();
    assert_err(
        srv.post("/api/v1/me/mfa/totp", &c, json!({})),
        409,
        "mfa_already_enabled",
    );
}

#[test]
fn api_tokens_scope_expiry_and_revocation() {
    let srv = TestServer::start();
    let admin = srv.admin();
    let (s, v) = srv.post(
        "/api/v1/me/tokens",
        &admin,
        json!({"name": "ci", "scopes": ["org:read"], "ttl_secs": 60}),
    );
    assert_eq!(s, 201, "{v}");
    let token = v["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("slt_"));
    let id = v["record"]["id"].as_i64().unwrap();
    let bearer = Cred::Bearer(token.clone());
    assert_eq!(srv.get("/api/v1/orgs", &bearer).0, 200);
    // The admin's roles allow audit:read, the token's scopes do not.
    assert_err(srv.get("/api/v1/audit", &bearer), 403, "insufficient_scope");
    // Tokens need no CSRF header, and cannot mint tokens.
    assert_err(
        srv.post(
            "/api/v1/me/tokens",
            &bearer,
            json!({"name": "x", "scopes": ["org:read"], "ttl_secs": 60}),
        ),
        403,
        "forbidden",
    );
    // Scopes beyond one's own permissions are refused.
    let (_, _, sup) = srv.org(&admin, "supplier_api", "S", "tok1");
    assert_err(
        srv.post(
            "/api/v1/me/tokens",
            &sup,
            json!({"name": "x", "scopes": ["audit:read"], "ttl_secs": 60}),
        ),
        403,
        "forbidden",
    );
    assert_err(
        srv.post(
            "/api/v1/me/tokens",
            &sup,
            json!({"name": "x", "scopes": ["org:read"], "ttl_secs": 0}),
        ),
        422,
        "invalid_field",
    );
    // Only the hash is stored: the list never shows the token.
    let (_, list) = srv.get("/api/v1/me/tokens", &admin);
    assert!(!list.to_string().contains(&token));
    srv.clock.advance_ms(61_000);
    assert_err(srv.get("/api/v1/orgs", &bearer), 401, "token_expired");
    let (_, v) = srv.post(
        "/api/v1/me/tokens",
        &admin,
        json!({"name": "ci2", "scopes": ["org:read"], "ttl_secs": 600}),
    );
    let t2 = Cred::Bearer(v["token"].as_str().unwrap().to_owned());
    let id2 = v["record"]["id"].as_i64().unwrap();
    assert_ne!(id, id2);
    // Someone else cannot revoke it.
    assert_err(
        srv.call("DELETE", &format!("/api/v1/me/tokens/{id2}"), &sup, None),
        404,
        "not_found",
    );
    assert_eq!(
        srv.call("DELETE", &format!("/api/v1/me/tokens/{id2}"), &admin, None)
            .0,
        204
    );
    assert_err(srv.get("/api/v1/orgs", &t2), 401, "token_revoked");
    assert_err(
        srv.get("/api/v1/orgs", &Cred::Bearer("slt_nonsense".into())),
        401,
        "invalid_token",
    );
}

#[test]
fn csrf_sessions_logout_expiry_and_concurrency_limit() {
    let srv = TestServer::start();
    let admin = srv.admin();
    let body = json!({"kind": "distributor", "name": "D", "admin": {"login": "dd1", "display_name": "d", "password": pw("dd1")}});
    assert_err(
        srv.post("/api/v1/orgs", &admin.without_csrf(), body.clone()),
        403,
        "csrf_missing",
    );
    let wrong = match &admin {
        Cred::Session { cookie, .. } => Cred::Session {
            cookie: cookie.clone(),
            csrf: "f".repeat(64),
        },
        _ => unreachable!(),
    };
    assert_err(
        srv.post("/api/v1/orgs", &wrong, body.clone()),
        403,
        "csrf_invalid",
    );
    // Reads need no CSRF token.
    assert_eq!(srv.get("/api/v1/orgs", &admin.without_csrf()).0, 200);
    assert_eq!(srv.post("/api/v1/orgs", &admin, body).0, 201);
    assert_err(srv.get("/api/v1/me", &Cred::None), 401, "unauthenticated");

    // The cookie is HttpOnly and SameSite=Strict.
    let (_, _, headers) = srv.raw(
        "POST",
        "/api/v1/auth/login",
        &Cred::None,
        Some("application/json"),
        serde_json::to_vec(&json!({"login": "dd1", "password": pw("dd1")})).unwrap(),
    );
    let cookie = headers.get("set-cookie").unwrap().to_str().unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "not configured secure");

    // Concurrent-login limit (default 3): a fourth login ends the oldest session.
    // (The login above is the oldest session.)
    srv.clock.advance_ms(1);
    let s1 = srv.login("dd1", &pw("dd1"));
    srv.clock.advance_ms(1);
    let s2 = srv.login("dd1", &pw("dd1"));
    srv.clock.advance_ms(1);
    let s3 = srv.login("dd1", &pw("dd1"));
    srv.clock.advance_ms(1);
    let (_, v, s4) = srv.try_login("dd1", &pw("dd1"), json!({}));
    assert_eq!(v["sessions_ended"], 1);
    let s4 = s4.unwrap();
    assert_err(srv.get("/api/v1/me", &s1), 401, "session_invalid");
    assert_eq!(srv.get("/api/v1/me", &s2).0, 200);
    assert_eq!(srv.get("/api/v1/me", &s3).0, 200);
    assert_eq!(srv.get("/api/v1/me", &s4).0, 200);

    // Logout ends the session.
    assert_eq!(srv.post("/api/v1/auth/logout", &s4, json!({})).0, 204);
    assert_err(srv.get("/api/v1/me", &s4), 401, "session_invalid");
    // Sessions expire (default 8 h).
    srv.clock.advance_ms(8 * 3600 * 1000 + 1);
    assert_err(srv.get("/api/v1/me", &s3), 401, "session_expired");
}

#[test]
fn secure_cookie_when_configured() {
    let srv = TestServer::start_with(|c| c.cookie_secure = true);
    let (_, _, headers) = srv.raw(
        "POST",
        "/api/v1/auth/login",
        &Cred::None,
        Some("application/json"),
        serde_json::to_vec(&json!({"login": "admin", "password": ADMIN_PASSWORD})).unwrap(),
    );
    assert!(
        headers
            .get("set-cookie")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("; Secure")
    );
}

#[test]
fn password_policy_history_and_change_ends_sessions() {
    let srv = TestServer::start();
    let admin = srv.admin();
    let (_, _, sup) = srv.org(&admin, "supplier_api", "S", "pwu");
    let change = |cur: &str, new: &str| {
        srv.post(
            "/api/v1/me/password",
            &sup,
            json!({"current_password": cur, "new_password": new}),
        )
    };
    assert_err(
        change("wrong-current-1", "Brand-New-Pass-1"),
        422,
        "invalid_credentials",
    );
    assert_err(change(&pw("pwu"), "short"), 422, "password_policy");
    assert_err(change(&pw("pwu"), "password123"), 422, "password_policy");
    assert_err(
        change(&pw("pwu"), "my-pwu-password"),
        422,
        "password_policy",
    );
    assert_err(change(&pw("pwu"), &pw("pwu")), 422, "password_reused");
    assert_eq!(change(&pw("pwu"), "Brand-New-Pass-1").0, 204);
    assert_err(srv.get("/api/v1/me", &sup), 401, "session_invalid");
    let sup = srv.login("pwu", "Brand-New-Pass-1");
    let (s, v) = srv.post(
        "/api/v1/me/password",
        &sup,
        json!({"current_password": "Brand-New-Pass-1", "new_password": pw("pwu")}),
    );
    assert_err((s, v), 422, "password_reused");
    // Registration applies the policy too.
    assert_err(
        srv.post("/api/v1/registrations/personal", &Cred::None, json!({
            "login": "weak", "password": "12345678", "name": "Li", "id_number": ID_NUMBER, "phone": "13800138000"})),
        422,
        "password_policy",
    );
}

#[test]
fn registration_review_pending_rejected_and_encrypted_id_number() {
    let srv = TestServer::start();
    let admin = srv.admin();
    let (s, v) = srv.post("/api/v1/registrations/personal", &Cred::None, json!({
        "login": "lisi", "password": pw("lisi"), "name": "李四", "id_number": ID_NUMBER.to_lowercase(), "phone": "+8613800138000"}));
    assert_eq!(s, 201, "{v}");
    let rid = v["registration"]["id"].as_i64().unwrap();
    let uid = v["registration"]["user"].as_i64().unwrap();
    assert_eq!(v["registration"]["id_number_masked"], "110***********002X");
    assert!(v["registration"]["kyc_credential_ref"].is_null());
    assert!(!v.to_string().contains(ID_NUMBER));
    assert_err(
        srv.try_login("lisi", &pw("lisi"), json!({})).into_two(),
        403,
        "account_pending",
    );
    // The refused attempt (right password) is audited under the user's name.
    let (_, a) = srv.get(
        &format!("/api/v1/audit?actor_user={uid}&outcome=denied"),
        &admin,
    );
    assert_eq!(a["items"].as_array().unwrap().len(), 1, "{a}");
    assert_err(srv.post("/api/v1/registrations/personal", &Cred::None, json!({
        "login": "lisi", "password": pw("lisi"), "name": "李四", "id_number": ID_NUMBER, "phone": "13800138000"})), 409, "login_taken");
    assert_err(
        srv.post(
            &format!("/api/v1/registrations/{rid}/reject"),
            &admin,
            json!({"reason": "  "}),
        ),
        422,
        "invalid_field",
    );
    let (s, v) = srv.post(
        &format!("/api/v1/registrations/{rid}/reject"),
        &admin,
        json!({"reason": "ID photo unreadable"}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["registration"]["status"], "rejected");
    assert_eq!(v["registration"]["reason"], "ID photo unreadable");
    assert_err(
        srv.post(
            &format!("/api/v1/registrations/{rid}/approve"),
            &admin,
            json!({}),
        ),
        409,
        "already_decided",
    );
    assert_err(
        srv.try_login("lisi", &pw("lisi"), json!({})).into_two(),
        403,
        "org_inactive",
    );
    // The ID number is encrypted at rest: its digits never appear in the database files.
    assert!(!srv_files_contain(&srv, b"19491231"));
    assert!(
        srv_files_contain(&srv, "李四".as_bytes()),
        "sanity: the database is where we look"
    );
}

fn srv_files_contain(srv: &TestServer, needle: &[u8]) -> bool {
    let dir = srv.dir.path().join("data");
    std::fs::read_dir(dir).unwrap().any(|e| {
        let p = e.unwrap().path();
        std::fs::read(&p)
            .map(|b| b.windows(needle.len()).any(|w| w == needle))
            .unwrap_or(false)
    })
}

#[test]
fn invite_codes_link_registrations_to_distributors() {
    let srv = TestServer::start();
    let admin = srv.admin();
    let (dist, _, d) = srv.org(&admin, "distributor", "Channel One", "dist");
    let (s, v) = srv.post("/api/v1/invite-codes", &d, json!({}));
    assert_eq!(s, 201, "{v}");
    let code = v["code"].as_str().unwrap().to_owned();
    assert_err(
        srv.post("/api/v1/invite-codes", &admin, json!({})),
        403,
        "forbidden",
    );
    let (org, _, _) = srv.enterprise(&admin, "acme", CODES[0], Some(&code));
    let (_, v) = srv.get(&format!("/api/v1/orgs/{org}"), &admin);
    assert_eq!(v["org"]["distributor"], dist);
    assert_eq!(
        srv.get(&format!("/api/v1/orgs/{org}"), &d).0,
        200,
        "distributor sees its customer"
    );
    assert_err(
        srv.post("/api/v1/registrations/enterprise", &Cred::None, json!({
            "login": "acme2", "password": pw("acme2"), "display_name": "a", "company_name": "A2",
            "credit_code": CODES[1], "licence_ref": "L", "legal_person": "P", "invite_code": "NOPE"})),
        422,
        "invalid_invite_code",
    );
}

#[test]
fn failed_logins_from_one_address_are_throttled_across_accounts() {
    let srv = TestServer::start();
    let admin = srv.admin();
    let (s, v) = srv.call("PUT", "/api/v1/settings/security", &admin, Some(json!({
        "password": {"min_chars": 10, "history": 5, "require_mixed": false},
        "login": {"failures_max": 5, "lock_secs": 900, "session_ttl_secs": 28800, "sessions_per_user_max": 3,
                  "ip_failures_max": 3, "ip_window_secs": 60}})));
    assert_eq!(s, 200, "{v}");
    // Spraying different (even unknown) accounts from one address.
    for login in ["alpha", "beta", "admin"] {
        assert_err(
            srv.try_login(login, "Wrong-Spray-Pw-1", json!({}))
                .into_two(),
            401,
            "invalid_credentials",
        );
    }
    assert_err(
        srv.try_login("admin", ADMIN_PASSWORD, json!({})).into_two(),
        429,
        "too_many_attempts",
    );
    srv.clock.advance_ms(60_000);
    assert_eq!(srv.try_login("admin", ADMIN_PASSWORD, json!({})).0, 200);
    // Settings are validated.
    let (s, v) = srv.call("PUT", "/api/v1/settings/security", &srv.admin(), Some(json!({
        "password": {"min_chars": 10, "history": 5, "require_mixed": false},
        "login": {"failures_max": 5, "lock_secs": 900, "session_ttl_secs": 28800, "sessions_per_user_max": 3,
                  "ip_failures_max": 0, "ip_window_secs": 60}})));
    assert_err((s, v.clone()), 422, "invalid_field");
    assert_eq!(v["error"]["field"], "login.ip_failures_max");
}

#[test]
fn registrations_from_one_address_are_bounded() {
    let srv = TestServer::start();
    let max = suanli_platform_http::handlers::REGISTRATIONS_PER_ADDRESS_MAX;
    let reg = |i: u32| {
        let login = format!("reg{i}");
        srv.post("/api/v1/registrations/personal", &Cred::None, json!({
            "login": login, "password": pw(&login), "name": "Li", "id_number": ID_NUMBER, "phone": "13800138000"}))
    };
    // Refused registrations do not count.
    assert_err(
        srv.post("/api/v1/registrations/personal", &Cred::None, json!({
            "login": "bad", "password": "x", "name": "Li", "id_number": ID_NUMBER, "phone": "13800138000"})),
        422,
        "password_policy",
    );
    for i in 0..max {
        assert_eq!(reg(i).0, 201, "registration {i}");
    }
    assert_err(reg(max), 429, "too_many_attempts");
    srv.clock
        .advance_ms(suanli_platform_http::handlers::REGISTRATION_WINDOW_SECS * 1000);
    assert_eq!(reg(max).0, 201);
}
