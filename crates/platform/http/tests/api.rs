//! Bad input, the error contract, the audit log and the OpenAPI document.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;
use serde_json::{Value, json};
use suanli_platform_http::routes::{Access, all as routes};

fn raw_json(srv: &TestServer, method: &str, path: &str, cred: &Cred, body: &str) -> (u16, Value) {
    let (s, v, _) = srv.raw(
        method,
        path,
        cred,
        Some("application/json"),
        body.as_bytes().to_vec(),
    );
    (s, v)
}

#[test]
fn malformed_json_wrong_types_unknown_and_missing_fields() {
    let srv = TestServer::start();
    let login = "/api/v1/auth/login";
    assert_err(
        raw_json(&srv, "POST", login, &Cred::None, "{\"login\": "),
        400,
        "malformed_json",
    );
    assert_err(
        raw_json(
            &srv,
            "POST",
            login,
            &Cred::None,
            r#"{"login": "a", "password": "b"} trailing"#,
        ),
        400,
        "malformed_json",
    );
    let (s, v) = raw_json(
        &srv,
        "POST",
        login,
        &Cred::None,
        r#"{"login": "admin", "password": 12}"#,
    );
    assert_err((s, v.clone()), 422, "invalid_field");
    assert_eq!(v["error"]["field"], "password", "{v}");
    let (s, v) = raw_json(
        &srv,
        "POST",
        login,
        &Cred::None,
        r#"{"login": "admin", "password": "x", "bogus": 1}"#,
    );
    assert_err((s, v.clone()), 422, "unknown_field");
    assert_eq!(v["error"]["field"], "bogus");
    let (s, v) = raw_json(&srv, "POST", login, &Cred::None, r#"{"login": "admin"}"#);
    assert_err((s, v.clone()), 422, "missing_field");
    assert_eq!(v["error"]["field"], "password");
    // Nested field paths.
    let admin = srv.admin();
    let (s, v) = raw_json(
        &srv,
        "POST",
        "/api/v1/orgs",
        &admin,
        r#"{"kind": "distributor", "name": "D", "admin": {"login": "abc", "display_name": "d", "password": "x", "extra": true}}"#,
    );
    assert_err((s, v.clone()), 422, "unknown_field");
    assert_eq!(v["error"]["field"], "admin.extra");
    let (s, v) = raw_json(
        &srv,
        "POST",
        "/api/v1/orgs",
        &admin,
        r#"{"kind": "bank", "name": "D", "admin": {"login": "abc", "display_name": "d", "password": "x"}}"#,
    );
    assert_err((s, v.clone()), 422, "invalid_field");
    assert_eq!(v["error"]["field"], "kind");
    let (s, v) = raw_json(
        &srv,
        "POST",
        "/api/v1/orgs/1/users",
        &admin,
        r#"{"login": "abc", "display_name": "d", "password": "x", "roles": ["operations_staff", "king"]}"#,
    );
    assert_err((s, v.clone()), 422, "invalid_field");
    assert_eq!(v["error"]["field"], "roles[1]");
    // Content type and size.
    let (s, v, _) = srv.raw(
        "POST",
        login,
        &Cred::None,
        Some("text/plain"),
        b"{}".to_vec(),
    );
    assert_err((s, v), 415, "unsupported_media_type");
    let big = format!(
        "{{\"login\": \"{}\", \"password\": \"x\"}}",
        "a".repeat(70 * 1024)
    );
    assert_err(
        raw_json(&srv, "POST", login, &Cred::None, &big),
        413,
        "body_too_large",
    );
}

#[test]
fn domain_validation_names_the_field() {
    let srv = TestServer::start();
    let ent = |over: Value| {
        let mut b = json!({"login": "acme", "password": pw("acme"), "display_name": "A",
            "company_name": "ACME", "credit_code": CODES[0], "licence_ref": "L", "legal_person": "P"});
        for (k, v) in over.as_object().unwrap() {
            b[k] = v.clone();
        }
        srv.post("/api/v1/registrations/enterprise", &Cred::None, b)
    };
    for (over, field) in [
        (json!({"credit_code": "91350100M000100Y44"}), "credit_code"),
        (json!({"credit_code": "short"}), "credit_code"),
        (json!({"login": "no spaces allowed"}), "login"),
        (json!({"company_name": "  "}), "company_name"),
        (json!({"legal_person": "x".repeat(201)}), "legal_person"),
    ] {
        let (s, v) = ent(over);
        assert_err((s, v.clone()), 422, "invalid_field");
        assert_eq!(v["error"]["field"], field, "{v}");
    }
    let per = |id: &str, phone: &str| {
        srv.post("/api/v1/registrations/personal", &Cred::None,
            json!({"login": "lisi", "password": pw("lisi"), "name": "Li", "id_number": id, "phone": phone}))
    };
    let (_, v) = per("110105194912310021", "13800138000");
    assert_eq!(
        (v["error"]["code"].as_str(), v["error"]["field"].as_str()),
        (Some("invalid_field"), Some("id_number"))
    );
    let (_, v) = per(ID_NUMBER, "12345");
    assert_eq!(v["error"]["field"], "phone");
}

#[test]
fn paths_queries_unknown_routes_and_methods() {
    let srv = TestServer::start();
    let admin = srv.admin();
    assert_err(srv.get("/api/v1/orgs/abc", &admin), 400, "invalid_field");
    assert_err(srv.get("/api/v1/orgs/0", &admin), 400, "invalid_field");
    assert_err(
        srv.get("/api/v1/orgs/99999999999999999999", &admin),
        400,
        "invalid_field",
    );
    assert_err(srv.get("/api/v1/orgs/424242", &admin), 404, "not_found");
    assert_err(
        srv.get("/api/v1/orgs?limit=1000", &admin),
        400,
        "invalid_query",
    );
    assert_err(
        srv.get("/api/v1/orgs?limit=0", &admin),
        400,
        "invalid_query",
    );
    assert_err(
        srv.get("/api/v1/orgs?limit=abc", &admin),
        400,
        "invalid_query",
    );
    assert_err(
        srv.get("/api/v1/orgs?bogus=1", &admin),
        400,
        "invalid_query",
    );
    assert_err(
        srv.get("/api/v1/registrations?status=maybe", &admin),
        400,
        "invalid_query",
    );
    assert_err(srv.get("/api/v1/nope", &admin), 404, "not_found");
    assert_err(
        srv.call("DELETE", "/api/v1/me", &admin, None),
        405,
        "method_not_allowed",
    );
    // Pages are bounded and continue with `after`.
    for i in 0..3 {
        srv.org(&admin, "supplier_api", &format!("S{i}"), &format!("sup{i}"));
    }
    let (_, p1) = srv.get("/api/v1/orgs?limit=2", &admin);
    let items = p1["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let last = items[1]["id"].as_i64().unwrap();
    let (_, p2) = srv.get(&format!("/api/v1/orgs?limit=2&after={last}"), &admin);
    assert_eq!(p2["items"].as_array().unwrap().len(), 2);
    assert_ne!(p2["items"][0]["id"], items[0]["id"]);
}

/// Garbage of every shape into every endpoint that takes a body: always a 4xx with the
/// error contract, never a 500 (the harness asserts both on every answer).
#[test]
fn garbage_bodies_never_cause_server_errors() {
    let srv = TestServer::start();
    let admin = srv.admin();
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    let garbage = [
        "",
        "null",
        "[]",
        "{}",
        "1",
        "\"x\"",
        "{\"a\":",
        &deep,
        "\u{0}\u{1}",
        "{\"login\": null}",
    ];
    for r in routes().filter(|r| r.body.is_some()) {
        let path = r.path.replace("{id}", "1");
        for g in garbage {
            let (s, v) = raw_json(&srv, r.method, &path, &admin, g);
            assert!(
                (400..500).contains(&s),
                "{} {path} with {g:?}: {s} {v}",
                r.method
            );
        }
    }
}

#[test]
fn audit_records_state_changes_and_detects_tampering() {
    let srv = TestServer::start();
    let admin = srv.admin();
    srv.try_login("admin", "wrong-password!", json!({}));
    srv.org(&admin, "distributor", "D", "dis1");
    srv.get("/api/v1/orgs", &admin);
    let (s, v) = srv.get("/api/v1/audit?limit=200", &admin);
    assert_eq!(s, 200);
    let items = v["items"].as_array().unwrap().clone();
    let actions: Vec<&str> = items
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.iter().all(|a| !a.starts_with("GET")),
        "reads are not audited: {actions:?}"
    );
    let login_ok = items
        .iter()
        .find(|r| r["action"] == "POST /api/v1/auth/login" && r["outcome"] == "success")
        .unwrap();
    assert_eq!(login_ok["actor_user"], 1);
    assert_eq!(login_ok["ip"], "127.0.0.1");
    assert_eq!(login_ok["user_agent"], "suanli-tests/1");
    let failed = items
        .iter()
        .find(|r| r["action"] == "POST /api/v1/auth/login" && r["outcome"] == "denied")
        .unwrap();
    assert_eq!(failed["status"], 401);
    assert!(failed["actor_user"].is_null());
    let created = items
        .iter()
        .find(|r| r["action"] == "POST /api/v1/orgs")
        .unwrap();
    assert_eq!(
        (
            created["actor_user"].as_i64(),
            created["actor_org"].as_i64()
        ),
        (Some(1), Some(1))
    );
    assert_eq!(created["outcome"], "success");
    assert!(!v.to_string().contains(ADMIN_PASSWORD));
    let (_, denied) = srv.get("/api/v1/audit?outcome=denied", &admin);
    let denied = denied["items"].as_array().unwrap().clone();
    assert!(!denied.is_empty() && denied.iter().all(|r| r["outcome"] == "denied"));
    let (_, mine) = srv.get("/api/v1/audit?actor_user=1", &admin);
    assert!(
        mine["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["actor_user"] == 1)
    );
    assert_err(
        srv.get("/api/v1/audit?outcome=maybe", &admin),
        400,
        "invalid_query",
    );
    let (_, ver) = srv.get("/api/v1/audit/verify", &admin);
    assert_eq!(ver["valid"], true, "{ver}");
    let n = ver["records"].as_u64().unwrap();
    assert!(n >= 4);

    // Tamper with the database directly (an attacker who bypasses the triggers).
    let db = srv.db_path();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = suanli_platform_store::SqliteStore::open(&db).await.unwrap();
        store
            .execute_raw("DROP TRIGGER audit_log_no_update")
            .await
            .unwrap();
        store
            .execute_raw("UPDATE audit_log SET actor_user = 2 WHERE seq = 3")
            .await
            .unwrap();
    });
    let (_, ver) = srv.get("/api/v1/audit/verify", &admin);
    assert_eq!(ver["valid"], false);
    assert!(ver["error"].as_str().unwrap().contains("record 3"), "{ver}");
}

#[test]
fn openapi_document_matches_the_router() {
    let srv = TestServer::start();
    let (s, doc) = srv.get("/api/v1/openapi.json", &Cred::None);
    assert_eq!(s, 200);
    assert_eq!(doc["openapi"], "3.0.3");
    let paths = doc["paths"].as_object().unwrap();
    let mut documented = 0;
    for (path, ops) in paths {
        documented += ops.as_object().unwrap().len();
        for (method, op) in ops.as_object().unwrap() {
            assert!(routes().any(|r| r.path == path && r.method.eq_ignore_ascii_case(method)));
            // Every operation carries one of the document's tags; supplier paths `supplier`.
            let tag = op["tags"][0].as_str().unwrap();
            assert!(
                doc["tags"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|t| t["name"] == tag),
                "{tag}"
            );
            if path.starts_with("/api/v1/supplier/") || path.starts_with("/api/v1/ops/suppliers/") {
                assert_eq!(tag, "supplier", "{path}");
            }
        }
    }
    assert_eq!(documented, routes().count());
    // Every schema reference resolves.
    let text = doc.to_string();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for part in text.split("\"#/components/schemas/").skip(1) {
        let name = part.split('"').next().unwrap();
        assert!(schemas.contains_key(name), "dangling $ref {name}");
    }
    assert_eq!(
        doc["paths"]["/api/v1/orgs"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
            ["$ref"],
        "#/components/schemas/OrgList"
    );
    // The documented response objects have exactly the fields the API sends.
    let admin = srv.admin();
    srv.enterprise(&admin, "docent", CODES[0], None);
    let keys = |v: &Value| {
        v.as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<std::collections::BTreeSet<_>>()
    };
    for (path, item, schema) in [
        ("/api/v1/orgs", "items", "Org"),
        ("/api/v1/orgs/1/users", "items", "User"),
        ("/api/v1/registrations", "items", "Registration"),
        ("/api/v1/audit", "items", "AuditRecord"),
    ] {
        let (_, v) = srv.get(path, &admin);
        let sent = keys(&v[item][0]);
        let documented = keys(&schemas[schema]["properties"]);
        assert_eq!(sent, documented, "{schema}");
    }
    // Every documented route exists: unauthenticated calls are refused or served, never
    // "no such endpoint" or "method not allowed".
    for r in routes() {
        let path = r.path.replace("{id}", "1");
        let body = r.body.map(|_| json!({}));
        let (s, v) = srv.call(r.method, &path, &Cred::None, body);
        // A public route may answer 404 for a missing object, never "no such endpoint".
        let no_endpoint = s == 404 && v["error"]["message"] == "no such endpoint";
        assert!(!no_endpoint && s != 405, "{} {path}: {s} {v}", r.method);
        if matches!(r.access, Access::Permission(_) | Access::Authenticated) {
            assert_err((s, v), 401, "unauthenticated");
        }
    }
}

#[test]
fn metrics_and_health() {
    let srv = TestServer::start();
    assert_eq!(srv.get("/api/v1/health", &Cred::None).1["status"], "ok");
    srv.admin();
    let (s, m) = srv.get("/metrics", &Cred::None);
    assert_eq!(s, 200);
    let m = m.as_str().unwrap();
    assert!(m.contains("# TYPE suanli_http_responses_total counter"));
    assert!(
        m.contains("suanli_logins_total{outcome=\"success\"} 1"),
        "{m}"
    );
    assert!(m.contains("suanli_audit_records_total 1"), "{m}");
}

#[derive(Debug, Default)]
struct RecordingAnchor(std::sync::Mutex<Vec<(u64, [u8; 32])>>);

impl suanli_platform_http::AuditAnchor for RecordingAnchor {
    fn anchor(&self, seq: u64, hash: [u8; 32]) -> Result<(), suanli_platform_http::PortError> {
        self.0.lock().unwrap().push((seq, hash));
        Ok(())
    }
}

#[test]
fn every_new_audit_head_is_handed_to_the_anchor() {
    let dir = tempfile::tempdir().unwrap();
    let anchor = std::sync::Arc::new(RecordingAnchor::default());
    let config = suanli_platform_http::config::Config {
        data_dir: dir.path().to_owned(),
        argon2: suanli_platform_http::config::Argon2Config {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        },
        bootstrap_admin_password: Some(suanli_platform_http::config::Secret::new(ADMIN_PASSWORD)),
        ..Default::default()
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let a = anchor.clone();
    let store = rt.block_on(async move {
        let clock = std::sync::Arc::new(suanli_platform_domain::clock::ManualClock::new(
            T0_MS.unsigned_abs(),
        ));
        let platform = suanli_platform_http::Platform::open(&config, clock)
            .await
            .unwrap()
            .with_anchor(a);
        let store = platform.state.store.clone();
        let app = platform.router();
        use tower::ServiceExt;
        for _ in 0..3 {
            let req = axum::http::Request::post("/api/v1/auth/login")
                .header("content-type", "application/json")
                .body(axum::body::Body::from(
                    r#"{"login":"admin","password":"nope-nope-nope"}"#,
                ))
                .unwrap();
            let res = app.clone().oneshot(req).await.unwrap();
            assert_eq!(res.status(), 401);
        }
        store
    });
    let got = anchor.0.lock().unwrap().clone();
    assert_eq!(got.iter().map(|x| x.0).collect::<Vec<_>>(), vec![1, 2, 3]);
    let head = rt.block_on(store.audit_head()).unwrap();
    assert_eq!(head, Some(got[2]));
}
