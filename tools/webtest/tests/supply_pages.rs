#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The supply catalogue's pages over HTTP (`docs/supply.md` §2): every page in both
//! languages, a resource added through its form, a CSV import with bad lines refused
//! whole with each bad cell listed in the page's language, a mode's bad weights named next
//! to the field, an offer saved, and another supplier kept out.

use serde_json::json;
use std::sync::Arc;
use suanli_platform_domain::clock::ManualClock;
use suanli_webtest::harness::{Client, HARNESS_ADMIN_PASSWORD, Harness, config};

/// 2026-11-22 12:00 CST.
const T0_MS: i64 = 1_795_320_000_000;
const HEAD: &str = "name,location,status,gpu_model,gpu_count,gpu_mem_gb,cpu_cores,ram_gb,storage_gb,tflops,region,available_from_min,available_until_min,green_share,carbon_g_per_kwh,pue,utilisation";

fn supplier(h: &Harness, admin: &Client, name: &str, login: &str) -> Client {
    let password = suanli_webtest::bench::demo_password(login);
    let r = admin
        .api_post(
            "/api/v1/orgs",
            &json!({"kind": "supplier_resource", "name": name,
                    "admin": {"login": login, "display_name": login, "password": password}}),
            None,
        )
        .unwrap();
    assert_eq!(r.status, 201, "{}", r.body);
    let mut c = Client::new(&h.base);
    c.login(login, &password).unwrap();
    c
}

fn resource_fields(name: &str) -> Vec<(&'static str, String)> {
    vec![
        ("name", name.to_owned()),
        ("location", "Ningxia DC".into()),
        ("status", "online".into()),
        ("gpu_model", "gpu-a100".into()),
        ("gpu_count", "8".into()),
        ("gpu_mem_gb", "80".into()),
        ("cpu_cores", "128".into()),
        ("ram_gb", "1024".into()),
        ("storage_gb", "8000".into()),
        ("tflops", "2496".into()),
        ("region", "cn-west".into()),
        ("available_from_min", "0".into()),
        ("available_until_min", "100000".into()),
        ("green_share", "0.6".into()),
        ("carbon_g_per_kwh", "300".into()),
        ("pue", "1.2".into()),
        ("utilisation", "0.3".into()),
    ]
}

fn post(c: &Client, path: &str, fields: &[(&str, String)]) -> suanli_webtest::harness::Answer {
    let f: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    c.form(path, &f).unwrap()
}

#[test]
fn supply_pages_work_in_both_languages_and_refuse_bad_input_whole() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0_MS.unsigned_abs()));
    let h = Harness::start(config(dir.path()), clock).unwrap();
    let mut admin = Client::new(&h.base);
    admin.login("admin", HARNESS_ADMIN_PASSWORD).unwrap();
    let s1 = supplier(&h, &admin, "DC One", "dcone");
    let s2 = supplier(&h, &admin, "DC Two", "dctwo");

    // A resource through the form: the GPU model is normalised.
    let a = post(&s1, "/supplier/resources", &resource_fields("node-01"));
    assert_eq!(a.status, 303, "{}", a.body);
    let page = s1.get("/supplier/resources?lang=en").unwrap();
    assert!(page.body.contains("id=\"resources\""), "{}", page.body);
    assert!(page.body.contains("node-01") && page.body.contains(">A100<"));
    // An out-of-range attribute: the message next to the field, in each language.
    let mut bad = resource_fields("node-02");
    bad[15].1 = "0.5".into();
    for (lang, text) in [("zh", "超出范围：1..=3"), ("en", "Out of range: 1..=3")] {
        let a = post(&s1, &format!("/supplier/resources?lang={lang}"), &bad);
        assert_eq!(a.status, 422, "{}", a.body);
        assert!(a.body.contains("id=\"f-pue-err\""), "{}", a.body);
        assert!(a.body.contains(text), "{lang}: {}", a.body);
    }

    // A CSV import with bad lines: nothing imported, every bad cell listed.
    let csv = format!(
        "{HEAD}\nok-1,DC,online,a100,8,80,128,1024,8000,2496,cn-west,0,100,0.5,300,1.2,0.1\nbad-1,DC,online,a100,8,80,128,1024,8000,2496,cn-west,0,100,0.5,300,9,0.1\nbad-2,DC,online,a1000,8,80,128,1024,8000,2496,cn-west,0,100,0.5,300,1.2,0.1\n"
    );
    for (lang, text) in [("zh", "未导入任何资源"), ("en", "nothing was imported")] {
        let a = s1
            .form(
                &format!("/supplier/resources/import?lang={lang}"),
                &[("csv", &csv)],
            )
            .unwrap();
        assert_eq!(a.status, 422, "{}", a.body);
        assert!(a.body.contains("id=\"import-errors\""), "{}", a.body);
        assert!(
            a.body.contains("data-line=\"3\" data-column=\"pue\""),
            "{}",
            a.body
        );
        assert!(
            a.body.contains("data-line=\"4\" data-column=\"gpu_model\""),
            "{}",
            a.body
        );
        assert!(a.body.contains(text), "{lang}: {}", a.body);
    }
    let listed = s1.get("/supplier/resources").unwrap().body;
    assert!(
        !listed.contains("ok-1"),
        "nothing of a bad file is imported"
    );

    // A mode whose weights do not sum to 1000: named next to the field.
    let mode = |weights: &str| {
        vec![
            ("name", "by the minute".to_owned()),
            ("price_fen_per_min", "300".into()),
            ("min_charge_fen", "1000".into()),
            ("checkin_period_min", "60".into()),
            ("weights", weights.to_owned()),
            ("terms", "1:500,12:2000".into()),
            ("trade_start_cpt", "1".into()),
            ("checkin_cpt", "2".into()),
        ]
    };
    let a = post(&s1, "/supplier/modes?lang=en", &mode("gpu=500"));
    assert_eq!(a.status, 422, "{}", a.body);
    assert!(a.body.contains("id=\"f-weights-err\""), "{}", a.body);
    assert!(
        a.body.contains("Weights must sum to 1000‰, not 500"),
        "{}",
        a.body
    );
    let a = post(&s1, "/supplier/modes", &mode("gpu=700,network=300"));
    assert_eq!(a.status, 303, "{}", a.body);

    // An offer from the resource under the mode (both ids are 1 in this fresh world).
    let offer = vec![
        ("title", "A100 x8".to_owned()),
        ("mode_id", "1".into()),
        ("resource", "1".into()),
        ("units", "2".into()),
        ("days", "30".into()),
    ];
    let a = post(&s1, "/supplier/offers", &offer);
    assert_eq!(a.status, 303, "{}", a.body);
    let loc = a.location.clone().unwrap();
    assert!(loc.starts_with("/supplier/offers/"), "{loc}");
    let offer_page = loc.split('?').next().unwrap().to_owned();

    // Every supply page in both languages, no untranslated key.
    let anon = Client::new(&h.base);
    let pages: Vec<(&Client, &str)> = vec![
        (&s1, "/supplier/resources"),
        (&s1, "/supplier/modes"),
        (&s1, "/supplier/offers"),
        (&s1, &offer_page),
        (&admin, "/ops/suppliers/listings"),
        (&anon, "/"),
    ];
    for (c, path) in pages {
        for lang in ["zh", "en"] {
            let a = c.get(&format!("{path}?lang={lang}")).unwrap();
            assert_eq!(a.status, 200, "{path} {lang}: {}", a.body);
            assert!(!a.body.contains('⟦'), "{path} {lang}: untranslated key");
        }
    }
    assert!(
        s1.get(&offer_page)
            .unwrap()
            .body
            .contains("id=\"offer-action\"")
    );
    // Another supplier does not see it; a draft is not in the catalogue.
    assert_eq!(s2.get(&offer_page).unwrap().status, 404);
    assert!(
        !s2.get("/supplier/resources")
            .unwrap()
            .body
            .contains("node-01")
    );
    let id = offer_page.rsplit('/').next().unwrap();
    assert_eq!(anon.get(&format!("/offers/{id}")).unwrap().status, 404);
    // A supplier is not an operator.
    assert_eq!(s1.get("/ops/suppliers/listings").unwrap().status, 403);

    // The chain's side of publishing is the bridge's (tested there against a node): here
    // the store records the publication as the service does after the chain applied it.
    let offer_id: i64 = id.parse().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use suanli_platform_http::store::{SqliteStore, SupplyStore};
        let store = SqliteStore::open(&dir.path().join("ops.db")).await.unwrap();
        store
            .set_offer_published(offer_id, 7, "test-tx", T0_MS)
            .await
            .unwrap();
    });
    // The operator's queue: a rejection needs a reason, named next to the field.
    let q = admin.get("/ops/suppliers/listings?lang=en").unwrap();
    assert!(
        q.body.contains(&format!("data-listing=\"{offer_id}\"")),
        "{}",
        q.body
    );
    assert!(
        q.body.contains("DC One") && q.body.contains("A100"),
        "{}",
        q.body
    );
    for (lang, text) in [("zh", "必填"), ("en", "Required")] {
        let a = admin
            .form(
                &format!("/ops/suppliers/listings/{offer_id}/reject?lang={lang}"),
                &[("reason", " ")],
            )
            .unwrap();
        assert_eq!(a.status, 422, "{}", a.body);
        assert!(a.body.contains(text), "{lang}: {}", a.body);
    }
    let a = admin
        .form(&format!("/ops/suppliers/listings/{offer_id}/approve"), &[])
        .unwrap();
    assert_eq!(a.status, 303, "{}", a.body);
    // Listed: an anonymous visitor finds it with its attributes, price and supplier.
    for lang in ["zh", "en"] {
        let home = anon.get(&format!("/?lang={lang}")).unwrap();
        assert!(
            home.body.contains(&format!("data-offer=\"{offer_id}\"")),
            "{}",
            home.body
        );
        assert!(
            home.body.contains("DC One") && home.body.contains("cn-west"),
            "{}",
            home.body
        );
        assert!(!home.body.contains('⟦'), "untranslated key");
        let page = anon
            .get(&format!("/offers/{offer_id}?lang={lang}"))
            .unwrap();
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("id=\"supply-offer\""), "{}", page.body);
        assert!(
            page.body.contains("¥3.00"),
            "300 fen a minute: {}",
            page.body
        );
        assert!(page.body.contains("2496"), "TFLOPS shown: {}", page.body);
        assert!(!page.body.contains('⟦'), "untranslated key");
    }
    let mine = s1.get(&format!("{offer_page}?lang=en")).unwrap();
    assert!(
        mine.body.contains("data-status=\"listed\""),
        "{}",
        mine.body
    );
}
