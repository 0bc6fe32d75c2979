//! The supply catalogue over the API (`docs/supply.md` §2): isolation between suppliers
//! and from customers, bad input refused whole with the field named, the listing review
//! from publication to the catalogue, and publishing signed with the supplier's own key
//! (checked against a recording test double of the trade chain; the bridge's test reads
//! the real chain).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use suanli_platform_http::PortError;
use suanli_platform_http::supply_ledger::{ChainMode, ChainOffer, Published, SupplyLedger};
use suanli_primitives::SecretKey;

/// Records who signed what; refuses trade-start CPTs other than 1 like the chain.
#[derive(Debug, Default)]
struct FakeChain {
    signed: Mutex<Vec<(String, String)>>,
}

impl FakeChain {
    fn record(&self, key: &SecretKey, what: &str) -> u64 {
        let mut v = self.signed.lock().unwrap();
        v.push((key.public().to_hex(), what.to_owned()));
        v.len() as u64
    }
}

impl SupplyLedger for FakeChain {
    fn publish_mode(&self, key: &SecretKey, mode: &ChainMode) -> Result<Published, PortError> {
        if mode.trade_start_cpt != 1 {
            return Err(PortError::Refused {
                code: "chain_refused",
                message: format!(
                    "CPT {} is not registered by this supplier",
                    mode.trade_start_cpt
                ),
            });
        }
        let id = self.record(key, "mode");
        Ok(Published {
            chain_id: id,
            tx: format!("tx-mode-{id}"),
        })
    }
    fn publish_offer(&self, key: &SecretKey, offer: &ChainOffer) -> Result<Published, PortError> {
        let id = self.record(key, &format!("offer under mode {}", offer.mode_id));
        Ok(Published {
            chain_id: id,
            tx: format!("tx-offer-{id}"),
        })
    }
    fn withdraw_offer(&self, key: &SecretKey, chain_offer_id: u64) -> Result<String, PortError> {
        self.record(key, &format!("withdraw {chain_offer_id}"));
        Ok(format!("tx-withdraw-{chain_offer_id}"))
    }
}

fn resource(name: &str) -> Value {
    json!({"name": name, "location": "Ningxia DC hall 2", "status": "online", "gpu_model": "gpu-a100",
           "gpu_count": 8, "gpu_mem_gb": 80, "cpu_cores": 128, "ram_gb": 1024, "storage_gb": 8000,
           "tflops": 2496.0, "region": "cn-west", "available_from_min": 0, "available_until_min": 1000000,
           "green_share": 0.6, "carbon_g_per_kwh": 300.0, "pue": 1.2, "utilisation": 0.3})
}

fn mode(cpt: u32) -> Value {
    json!({"name": "A100 by the minute", "price_fen_per_min": 300, "min_charge_fen": 1000,
           "checkin_period_min": 60, "weights": {"gpu": 700, "network": 300},
           "terms": [{"months": 12, "discount_bp": 2000}], "trade_start_cpt": cpt, "checkin_cpt": 2})
}

const CSV_HEAD: &str = "name,location,status,gpu_model,gpu_count,gpu_mem_gb,cpu_cores,ram_gb,storage_gb,tflops,region,available_from_min,available_until_min,green_share,carbon_g_per_kwh,pue,utilisation";

/// A supplier whose admin has a DID key (made at the first password change).
fn supplier(srv: &TestServer, op: &Cred, name: &str, admin: &str) -> (i64, Cred, String) {
    let (org, _, cred) = srv.org(op, "supplier_resource", name, admin);
    let new = format!("{}-New", pw(admin));
    let (s, v) = srv.post(
        "/api/v1/me/password",
        &cred,
        json!({"current_password": pw(admin), "new_password": new}),
    );
    assert_eq!(s, 204, "{v}");
    let cred = srv.login(admin, &new);
    let (s, key) = srv.get("/api/v1/me/key", &cred);
    assert_eq!(s, 200, "{key}");
    (org, cred, new)
}

fn id(v: &Value, what: &str) -> i64 {
    v[what]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("{what}: {v}"))
}

#[test]
fn suppliers_see_only_their_own_and_customers_none() {
    let srv = TestServer::start();
    let op = srv.admin();
    let (_, s1, _) = supplier(&srv, &op, "DC One", "dcone");
    let (_, s2, _) = supplier(&srv, &op, "DC Two", "dctwo");
    let (_, _, customer) = srv.enterprise(&op, "buyer", CODES[0], None);

    let (s, r) = srv.post("/api/v1/supplier/resources", &s1, resource("n1"));
    assert_eq!(s, 200, "{r}");
    assert_eq!(
        r["resource"]["attributes"]["gpu_model"], "A100",
        "normalised"
    );
    let rid = id(&r, "resource");
    let (s, m) = srv.post("/api/v1/supplier/modes", &s1, mode(1));
    assert_eq!(s, 200, "{m}");
    let mid = id(&m, "mode");
    let offer = json!({"title": "A100 x8", "mode_id": mid, "resource_ids": [rid], "units": 2,
                       "valid_from_ms": T0_MS, "valid_until_ms": T0_MS + 86_400_000});
    let (s, o) = srv.post("/api/v1/supplier/offers", &s1, offer.clone());
    assert_eq!(s, 200, "{o}");
    let oid = id(&o, "offer");

    for path in [
        format!("/api/v1/supplier/resources/{rid}"),
        format!("/api/v1/supplier/modes/{mid}"),
        format!("/api/v1/supplier/offers/{oid}"),
    ] {
        assert_eq!(srv.get(&path, &s1).0, 200, "{path}");
        assert_err(srv.get(&path, &s2), 404, "not_found");
        assert_err(srv.get(&path, &customer), 403, "forbidden");
        assert_err(srv.get(&path, &Cred::None), 401, "unauthenticated");
    }
    for list in ["resources", "modes", "offers"] {
        let (s, v) = srv.get(&format!("/api/v1/supplier/{list}"), &s2);
        assert_eq!(
            (s, v["items"].as_array().map(Vec::len)),
            (200, Some(0)),
            "{list}"
        );
    }
    // Another supplier cannot group the first one's resource or use its mode.
    let (s, r2) = srv.post("/api/v1/supplier/resources", &s2, resource("m1"));
    assert_eq!(s, 200);
    let theirs = json!({"title": "x", "mode_id": mid, "resource_ids": [id(&r2, "resource")], "units": 1,
                        "valid_from_ms": T0_MS, "valid_until_ms": T0_MS + 1});
    assert_err(
        srv.post("/api/v1/supplier/offers", &s2, theirs),
        404,
        "not_found",
    );
    let mine_and_theirs = json!({"title": "x", "mode_id": mid, "resource_ids": [rid, id(&r2, "resource")],
                                 "units": 1, "valid_from_ms": T0_MS, "valid_until_ms": T0_MS + 1});
    assert_err(
        srv.post("/api/v1/supplier/offers", &s1, mine_and_theirs),
        422,
        "not_own_resource",
    );
    assert_err(
        srv.post("/api/v1/supplier/resources", &customer, resource("c")),
        403,
        "forbidden",
    );
    // The operator's listing review is not the supplier's.
    assert_err(
        srv.get("/api/v1/ops/suppliers/listings", &s1),
        403,
        "forbidden",
    );
    assert_eq!(srv.get("/api/v1/ops/suppliers/listings", &op).0, 200);
}

#[test]
fn bad_input_is_refused_whole_with_the_field_named() {
    let srv = TestServer::start();
    let op = srv.admin();
    let (_, s1, _) = supplier(&srv, &op, "DC One", "dcone");
    let mut bad = resource("n1");
    bad["pue"] = json!(0.5);
    let (s, v) = srv.post("/api/v1/supplier/resources", &s1, bad);
    assert_eq!(
        (s, v["error"]["code"].as_str(), v["error"]["field"].as_str()),
        (422, Some("invalid_field"), Some("pue")),
        "{v}"
    );
    assert!(
        v["error"]["message"].as_str().unwrap().contains("1..=3"),
        "{v}"
    );
    let mut bad = resource("n1");
    bad["gpu_model"] = json!("a1000");
    let (_, v) = srv.post("/api/v1/supplier/resources", &s1, bad);
    assert_eq!(v["error"]["field"], "gpu_model", "{v}");

    let csv = format!(
        "{CSV_HEAD}\nok1,DC,online,a100,8,80,128,1024,8000,2496,cn-west,0,100,0.5,300,1.2,0.1\nbad1,DC,online,a100,8,80,128,1024,8000,2496,cn-west,0,100,0.5,300,7,0.1\nbad2,DC,broken,h100,x,80,128,1024,8000,2496,cn-west,0,100,0.5,300,1.2,0.1\n"
    );
    let (s, v) = srv.post(
        "/api/v1/supplier/resources/import",
        &s1,
        json!({"csv": csv}),
    );
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (422, Some("csv_invalid")),
        "{v}"
    );
    let msg = v["error"]["message"].as_str().unwrap();
    for part in [
        "line 3 column pue",
        "line 4 column gpu_count",
        "line 4 column status",
    ] {
        assert!(msg.contains(part), "{part} in {msg}");
    }
    let (_, list) = srv.get("/api/v1/supplier/resources", &s1);
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        0,
        "nothing half-written"
    );
    let good = format!(
        "{CSV_HEAD}\nok1,DC,online,a100,8,80,128,1024,8000,2496,cn-west,0,100,0.5,300,1.2,0.1\n"
    );
    let (s, v) = srv.post(
        "/api/v1/supplier/resources/import",
        &s1,
        json!({"csv": good}),
    );
    assert_eq!(
        (s, v["items"].as_array().map(Vec::len)),
        (200, Some(1)),
        "{v}"
    );
    // Names given twice, or already used, are problems of their lines.
    let row = |name: &str| {
        format!("{name},DC,online,a100,8,80,128,1024,8000,2496,cn-west,0,100,0.5,300,1.2,0.1")
    };
    let twice = format!(
        "{CSV_HEAD}\n{}\n{}\n{}\n",
        row("new1"),
        row("ok1"),
        row("new1")
    );
    let (s, v) = srv.post(
        "/api/v1/supplier/resources/import",
        &s1,
        json!({"csv": twice}),
    );
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (422, Some("csv_invalid")),
        "{v}"
    );
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains("line 4 column name"), "{msg}");
    let (s, v) = srv.post(
        "/api/v1/supplier/resources/import",
        &s1,
        json!({"csv": format!("{CSV_HEAD}\n{}\n{}\n", row("new1"), row("ok1"))}),
    );
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (422, Some("csv_invalid")),
        "{v}"
    );
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains("line 3 column name"), "{msg}");
    let (_, list) = srv.get("/api/v1/supplier/resources", &s1);
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "nothing added");

    let mut m = mode(1);
    m["weights"] = json!({"gpu": 500});
    let (s, v) = srv.post("/api/v1/supplier/modes", &s1, m);
    assert_eq!(
        (s, v["error"]["field"].as_str()),
        (422, Some("weights")),
        "{v}"
    );
}

#[test]
fn the_listing_review_decides_what_the_catalogue_shows_and_the_suppliers_key_signs() {
    let chain = Arc::new(FakeChain::default());
    let srv = TestServer::start_with_supply(chain.clone());
    let op = srv.admin();
    let (_, s1, password) = supplier(&srv, &op, "DC One", "dcone");
    let my_key = srv.get("/api/v1/me/key", &s1).1["key"]["public_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let rid = id(
        &srv.post("/api/v1/supplier/resources", &s1, resource("n1"))
            .1,
        "resource",
    );

    // A CPT the chain refuses: its refusal, next to the field; nothing recorded.
    let bad_mode = id(&srv.post("/api/v1/supplier/modes", &s1, mode(77)).1, "mode");
    let pwd = json!({"password": password});
    let (s, v) = srv.post(
        &format!("/api/v1/supplier/modes/{bad_mode}/publish"),
        &s1,
        pwd.clone(),
    );
    assert_eq!(
        (s, v["error"]["code"].as_str(), v["error"]["field"].as_str()),
        (422, Some("chain_refused"), Some("trade_start_cpt")),
        "{v}"
    );
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not registered"),
        "{v}"
    );
    assert_eq!(
        srv.get(&format!("/api/v1/supplier/modes/{bad_mode}"), &s1)
            .1["mode"]["chain_mode_id"],
        Value::Null
    );

    let mid = id(&srv.post("/api/v1/supplier/modes", &s1, mode(1)).1, "mode");
    let offer = json!({"title": "A100 x8", "mode_id": mid, "resource_ids": [rid], "units": 2,
                       "valid_from_ms": T0_MS, "valid_until_ms": T0_MS + 86_400_000});
    let oid = id(
        &srv.post("/api/v1/supplier/offers", &s1, offer.clone()).1,
        "offer",
    );
    // The mode goes on the chain first.
    assert_err(
        srv.post(
            &format!("/api/v1/supplier/offers/{oid}/publish"),
            &s1,
            pwd.clone(),
        ),
        422,
        "mode_not_published",
    );
    assert_err(
        srv.post(
            &format!("/api/v1/supplier/modes/{mid}/publish"),
            &s1,
            json!({"password": "wrong"}),
        ),
        422,
        "invalid_credentials",
    );
    let (s, v) = srv.post(
        &format!("/api/v1/supplier/modes/{mid}/publish"),
        &s1,
        pwd.clone(),
    );
    assert_eq!(s, 200, "{v}");
    let (s, v) = srv.post(
        &format!("/api/v1/supplier/offers/{oid}/publish"),
        &s1,
        pwd.clone(),
    );
    assert_eq!(
        (s, v["offer"]["status"].as_str()),
        (200, Some("in_review")),
        "{v}"
    );
    // Signed by the supplier admin's own key, every time.
    for (signer, _) in chain.signed.lock().unwrap().iter() {
        assert_eq!(signer, &my_key);
    }
    let catalogue = |srv: &TestServer| {
        let (s, v) = srv.get("/api/v1/catalogue/offers", &Cred::None);
        assert_eq!(s, 200);
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["offer"]["id"].as_i64().unwrap())
            .collect::<Vec<_>>()
    };
    assert!(catalogue(&srv).is_empty(), "not before the review");
    assert_err(
        srv.get(&format!("/api/v1/catalogue/offers/{oid}"), &Cred::None),
        404,
        "not_found",
    );
    // An edit while in review is refused; no version is added.
    assert_err(
        srv.post(
            &format!("/api/v1/supplier/offers/{oid}/versions"),
            &s1,
            offer.clone(),
        ),
        409,
        "offer_in_review",
    );
    // Nor may its resources change under the review (docs/supply.md §2).
    let edit_resource = |srv: &TestServer, gpus: u64| {
        let mut r = resource("n1");
        r["gpu_count"] = json!(gpus);
        srv.call(
            "PUT",
            &format!("/api/v1/supplier/resources/{rid}"),
            &s1,
            Some(r),
        )
    };
    assert_err(edit_resource(&srv, 1), 409, "resource_in_listing");
    assert_eq!(
        srv.get(&format!("/api/v1/supplier/resources/{rid}"), &s1).1["resource"]["attributes"]["gpu_count"],
        8
    );
    assert_eq!(
        srv.get("/api/v1/supplier/offers", &s1).1["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    assert_err(
        srv.post(
            &format!("/api/v1/ops/suppliers/listings/{oid}/reject"),
            &op,
            json!({"reason": " "}),
        ),
        422,
        "invalid_field",
    );
    let (s, v) = srv.post(
        &format!("/api/v1/ops/suppliers/listings/{oid}/reject"),
        &op,
        json!({"reason": "no PUE evidence"}),
    );
    assert_eq!(s, 200, "{v}");
    let mine = srv.get(&format!("/api/v1/supplier/offers/{oid}"), &s1).1;
    assert_eq!(
        (
            mine["offer"]["status"].as_str(),
            mine["offer"]["reason"].as_str()
        ),
        (Some("rejected"), Some("no PUE evidence"))
    );
    assert!(catalogue(&srv).is_empty(), "a rejected offer stays off");

    let (s, v2) = srv.post(
        &format!("/api/v1/supplier/offers/{oid}/versions"),
        &s1,
        offer.clone(),
    );
    assert_eq!((s, v2["offer"]["version"].as_i64()), (200, Some(2)), "{v2}");
    let v2 = id(&v2, "offer");
    srv.post(
        &format!("/api/v1/supplier/offers/{v2}/publish"),
        &s1,
        pwd.clone(),
    );
    let (s, _) = srv.post(
        &format!("/api/v1/ops/suppliers/listings/{v2}/approve"),
        &op,
        json!({}),
    );
    assert_eq!(s, 200);
    assert_eq!(catalogue(&srv), vec![v2]);
    let (s, page) = srv.get(&format!("/api/v1/catalogue/offers/{v2}"), &Cred::None);
    assert_eq!(s, 200);
    assert_eq!(
        (
            page["supplier"].as_str(),
            page["price_fen_per_min"].as_i64()
        ),
        (Some("DC One"), Some(300)),
        "{page}"
    );
    assert_eq!(page["resources"][0]["attributes"]["gpu_count"], 8);
    // The supplier keeps the name the catalogue shows while the offer is listed.
    let org_id = page["offer"]["org_id"]
        .as_i64()
        .or(page["offer"]["org"].as_i64())
        .unwrap();
    assert_err(
        srv.call(
            "PATCH",
            &format!("/api/v1/orgs/{org_id}"),
            &op,
            Some(json!({"name": "Renamed DC"})),
        ),
        409,
        "supplier_name_in_listing",
    );
    // A listed offer's resources are fixed too: the catalogue shows what was reviewed.
    assert_err(edit_resource(&srv, 1), 409, "resource_in_listing");
    assert_eq!(
        srv.get(&format!("/api/v1/catalogue/offers/{v2}"), &Cred::None)
            .1["resources"][0]["attributes"]["gpu_count"],
        8
    );

    let (s, v) = srv.post(&format!("/api/v1/supplier/offers/{v2}/unpublish"), &s1, pwd);
    assert_eq!(
        (s, v["offer"]["status"].as_str()),
        (200, Some("withdrawn")),
        "{v}"
    );
    assert!(catalogue(&srv).is_empty());
    // Withdrawn: its resources may change again.
    assert_eq!(edit_resource(&srv, 4).0, 200);
    let log = chain.signed.lock().unwrap().clone();
    assert!(
        log.iter().any(|(_, w)| w.starts_with("withdraw")),
        "{log:?}"
    );
}

/// A listed offer of supplier `s1` (password `password`): resource, mode, offer, published
/// and approved.
fn listed_offer(srv: &TestServer, op: &Cred, s1: &Cred, password: &str) -> i64 {
    let pwd = json!({"password": password});
    let rid = id(
        &srv.post("/api/v1/supplier/resources", s1, resource("n1")).1,
        "resource",
    );
    let mid = id(&srv.post("/api/v1/supplier/modes", s1, mode(1)).1, "mode");
    let (s, v) = srv.post(
        &format!("/api/v1/supplier/modes/{mid}/publish"),
        s1,
        pwd.clone(),
    );
    assert_eq!(s, 200, "{v}");
    let offer = json!({"title": "A100 x8", "mode_id": mid, "resource_ids": [rid], "units": 2,
                       "valid_from_ms": T0_MS, "valid_until_ms": T0_MS + 86_400_000});
    let oid = id(&srv.post("/api/v1/supplier/offers", s1, offer).1, "offer");
    let (s, v) = srv.post(&format!("/api/v1/supplier/offers/{oid}/publish"), s1, pwd);
    assert_eq!(s, 200, "{v}");
    let (s, v) = srv.post(
        &format!("/api/v1/ops/suppliers/listings/{oid}/approve"),
        op,
        json!({}),
    );
    assert_eq!(s, 200, "{v}");
    oid
}

#[test]
fn the_public_catalogue_hides_operator_ids_and_suspended_suppliers() {
    let chain = Arc::new(FakeChain::default());
    let srv = TestServer::start_with_supply(chain);
    let op = srv.admin();
    let (org, s1, password) = supplier(&srv, &op, "DC One", "dcone");
    let oid = listed_offer(&srv, &op, &s1, &password);
    let (s, page) = srv.get(&format!("/api/v1/catalogue/offers/{oid}"), &Cred::None);
    assert_eq!(s, 200, "{page}");
    assert!(page["offer"].get("reviewed_by").is_none(), "{page}");
    let (_, list) = srv.get("/api/v1/catalogue/offers", &Cred::None);
    assert!(
        list["items"][0]["offer"].get("reviewed_by").is_none(),
        "{list}"
    );
    // The operator's review still sees who reviewed.
    let (s, review) = srv.get(&format!("/api/v1/ops/suppliers/listings/{oid}"), &op);
    assert_eq!(s, 200, "{review}");
    assert!(review["offer"]["reviewed_by"].is_i64(), "{review}");
    // A suspended supplier's offers leave the catalogue.
    let (s, v) = srv.call("DELETE", &format!("/api/v1/orgs/{org}"), &op, None);
    assert!(s == 200 || s == 204, "{s} {v}");
    let (_, list) = srv.get("/api/v1/catalogue/offers", &Cred::None);
    assert_eq!(list["items"].as_array().unwrap().len(), 0, "{list}");
    assert_err(
        srv.get(&format!("/api/v1/catalogue/offers/{oid}"), &Cred::None),
        404,
        "not_found",
    );
}

#[test]
fn only_the_enrolled_administrator_signs_and_keeps_the_supplier_did() {
    let chain = Arc::new(FakeChain::default());
    let srv = TestServer::start_with_supply(chain);
    let op = srv.admin();
    let (org, s1, password) = supplier(&srv, &op, "DC One", "dcone");
    let me = srv.get("/api/v1/me", &s1).1;
    let admin_id = me["user"]["id"].as_i64().or(me["id"].as_i64()).unwrap();
    // A second supplier administrator with its own key.
    let (s, v) = srv.post(
        &format!("/api/v1/orgs/{org}/users"),
        &s1,
        json!({"login": "dctwo", "display_name": "dctwo", "password": pw("dctwo"),
               "roles": ["supplier_admin"]}),
    );
    assert_eq!(s, 201, "{v}");
    let (_, s2, pw2) = {
        let cred = srv.login("dctwo", &pw("dctwo"));
        let new = format!("{}-New", pw("dctwo"));
        let (s, v) = srv.post(
            "/api/v1/me/password",
            &cred,
            json!({"current_password": pw("dctwo"), "new_password": new}),
        );
        assert_eq!(s, 204, "{v}");
        (0, srv.login("dctwo", &new), new)
    };
    // The supplier DID enrolled: dcone's (written as onboarding records it).
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use suanli_platform_store::SupplierStore;
        let store = suanli_platform_store::SqliteStore::open(&srv.db_path())
            .await
            .unwrap();
        store
            .execute_raw(&format!(
                "UPDATE user_keys SET did = 'did:suanli:test:dcone' WHERE user_id = {admin_id}"
            ))
            .await
            .unwrap();
        store
            .set_supplier_enrolment(&suanli_platform_store::SupplierEnrolment {
                org: suanli_platform_domain::OrgId::new(org).unwrap(),
                did: "did:suanli:test:dcone".into(),
                admin_user: suanli_platform_domain::UserId::new(admin_id).unwrap(),
                kyc_credential_ref: "urn:kyc:1".into(),
                kyc_credential: "{}".into(),
                at_ms: T0_MS,
            })
            .await
            .unwrap();
    });
    let mid = id(&srv.post("/api/v1/supplier/modes", &s2, mode(1)).1, "mode");
    let publish = format!("/api/v1/supplier/modes/{mid}/publish");
    // The other administrator: refused before the password is asked (a wrong one too).
    assert_err(
        srv.post(&publish, &s2, json!({"password": "wrong"})),
        403,
        "not_supplier_key",
    );
    assert_err(
        srv.post(&publish, &s2, json!({"password": pw2})),
        403,
        "not_supplier_key",
    );
    let (s, v) = srv.post(&publish, &s1, json!({"password": password}));
    assert_eq!(s, 200, "{v}");
    // The DID holder is not disabled (by the other administrator).
    assert_err(
        srv.call("DELETE", &format!("/api/v1/users/{admin_id}"), &s2, None),
        409,
        "supplier_did_holder",
    );
    // (A supplier organisation's only role is supplier_admin, so a demotion cannot be
    // asked for through the API; the service refuses it all the same.)
}
