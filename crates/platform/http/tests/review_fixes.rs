//! Regressions for defects found in review: demoting a more privileged user, account
//! takeover through an API token, tokens surviving a password change, brute-forcing the
//! current password, and an approval lifting a suspension.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use common::{ADMIN_PASSWORD, Cred, TestServer, assert_err, pw};
use serde_json::json;

#[test]
fn a_user_cannot_demote_or_disable_someone_more_privileged() {
    let srv = TestServer::start();
    let admin = srv.admin();
    let (_, me) = srv.get("/api/v1/me", &admin);
    let admin_id = me["user"]["id"].as_i64().unwrap();
    let (_, sys) = srv.user(&admin, 1, "sys1", &["system_admin"]);
    assert_err(
        srv.call(
            "PUT",
            &format!("/api/v1/users/{admin_id}/roles"),
            &sys,
            Some(json!({"roles": ["system_admin"]})),
        ),
        403,
        "forbidden",
    );
    assert_err(
        srv.call("DELETE", &format!("/api/v1/users/{admin_id}"), &sys, None),
        403,
        "forbidden",
    );
    // The operator administrator still has every permission.
    assert_eq!(srv.get("/api/v1/orgs", &admin).0, 200);
}

fn org_read_token(srv: &TestServer, who: &Cred) -> Cred {
    let (s, v) = srv.post(
        "/api/v1/me/tokens",
        who,
        json!({"name": "ro", "scopes": ["org:read"], "ttl_secs": 3600}),
    );
    assert_eq!(s, 201, "{v}");
    Cred::Bearer(v["token"].as_str().unwrap().to_owned())
}

#[test]
fn api_tokens_cannot_change_account_security() {
    let srv = TestServer::start();
    let admin = srv.admin();
    let token = org_read_token(&srv, &admin);
    let body = json!({"current_password": ADMIN_PASSWORD, "new_password": pw("rotated-admin")});
    assert_err(
        srv.post("/api/v1/me/password", &token, body),
        403,
        "session_required",
    );
    assert_err(
        srv.post("/api/v1/me/mfa/totp", &token, json!({})),
        403,
        "session_required",
    );
    assert_err(
        srv.get("/api/v1/me/tokens", &token),
        403,
        "session_required",
    );
}

#[test]
fn a_new_password_revokes_api_tokens() {
    let srv = TestServer::start();
    let admin = srv.admin();
    let token = org_read_token(&srv, &admin);
    assert_eq!(srv.get("/api/v1/orgs", &token).0, 200);
    let body = json!({"current_password": ADMIN_PASSWORD, "new_password": pw("rotated-admin")});
    let (s, v) = srv.post("/api/v1/me/password", &admin, body);
    assert_eq!(s, 204, "{v}");
    assert_eq!(srv.get("/api/v1/orgs", &token).0, 401);
}

#[test]
fn guessing_the_current_password_locks_the_account() {
    let srv = TestServer::start();
    let admin = srv.admin();
    for _ in 0..5 {
        let body = json!({"current_password": "wrong-guess-123", "new_password": pw("x-rotated")});
        assert_err(
            srv.post("/api/v1/me/password", &admin, body),
            422,
            "invalid_credentials",
        );
    }
    let (s, v, _) = srv.try_login("admin", ADMIN_PASSWORD, json!({}));
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (423, Some("account_locked")),
        "{v}"
    );
}

#[test]
fn approving_a_registration_does_not_lift_a_suspension() {
    let srv = TestServer::start();
    let admin = srv.admin();
    let body = json!({
        "login": "late1", "password": pw("late1"), "display_name": "late1",
        "company_name": "Late Co., Ltd.", "credit_code": "91350100M000100Y43",
        "licence_ref": "LIC-2024-0001", "legal_person": "Zhang San",
    });
    let (s, v) = srv.post("/api/v1/registrations/enterprise", &Cred::None, body);
    assert_eq!(s, 201, "{v}");
    let rid = v["registration"]["id"].as_i64().unwrap();
    let org = v["registration"]["org"].as_i64().unwrap();
    let (s, v) = srv.call("DELETE", &format!("/api/v1/orgs/{org}"), &admin, None);
    assert_eq!(s, 204, "{v}");
    let (s, v) = srv.post(
        &format!("/api/v1/registrations/{rid}/approve"),
        &admin,
        json!({}),
    );
    assert_eq!(s, 200, "{v}");
    let (_, v) = srv.get(&format!("/api/v1/orgs/{org}"), &admin);
    assert_eq!(v["org"]["status"], "suspended", "{v}");
}

#[test]
fn a_suspended_distributors_invite_code_refers_nobody() {
    let srv = TestServer::start();
    let admin = srv.admin();
    let (dist, _, d) = srv.org(&admin, "distributor", "Dist Co", "dist9");
    let (s, v) = srv.post("/api/v1/invite-codes", &d, json!({}));
    assert_eq!(s, 201, "{v}");
    let code = v["code"].as_str().unwrap().to_owned();
    let (s, v) = srv.call("DELETE", &format!("/api/v1/orgs/{dist}"), &admin, None);
    assert_eq!(s, 204, "{v}");
    let body = json!({
        "login": "ref1", "password": pw("ref1"), "display_name": "ref1",
        "company_name": "Ref Co., Ltd.", "credit_code": "91350100M000100Y43",
        "licence_ref": "LIC-2024-0001", "legal_person": "Zhang San", "invite_code": code,
    });
    assert_err(
        srv.post("/api/v1/registrations/enterprise", &Cred::None, body),
        422,
        "invalid_invite_code",
    );
}
