//! The market over the API (issue 17, `docs/market.md` "In the product"): a search ranks
//! the green offer above a cheaper coal-powered one with the score breakdown, sorts by
//! price, score and reputation; "why not" names the first failing clause, the price, the
//! units and resources not online; a comparison estimates the total; constraint errors
//! carry the offending token's span; limits and bad parameters are refused naming the
//! parameter; the index follows listing changes; reputations come from the trade chain
//! (a test double) and are never made up.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod market_common;

use common::*;
use market_common::*;
use serde_json::{Value, json};

const STARTUP: &str = "/api/v1/market/search?gpu_model=a100&gpu_count_min=8&gpu_mem_gb_min=80&green_pct_min=50&max_price_fen_per_min=350&duration_min=240";

fn offers(v: &Value, key: &str) -> Vec<i64> {
    v[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            c["offer_id"]
                .as_i64()
                .or(c["card"]["offer_id"].as_i64())
                .unwrap()
        })
        .collect()
}

#[test]
fn the_startups_search_ranks_green_above_cheaper_coal_with_the_breakdown() {
    let m = market();
    let (s, v) = m.srv.get(STARTUP, &Cred::None);
    assert_eq!(s, 200, "{v}");
    assert_eq!(offers(&v, "items"), vec![m.green, m.coal], "{v}");
    assert_eq!(v["total"], 2);
    assert_eq!(
        v["constraint"],
        r#"gpu_model == "A100" and gpu_count >= 8 and mem_gb >= 80 and green_share >= 0.50"#
    );
    let g = &v["items"][0];
    assert_eq!(g["price_fen_per_min"], 300);
    assert_eq!(g["price_fen_per_hour"], 18_000);
    assert_eq!(g["estimate_fen"], 300 * 240);
    assert_eq!(g["energy_data"], "supplier_declared");
    let dims: Vec<&str> = g["score"]["dimensions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["dimension"].as_str().unwrap())
        .collect();
    assert_eq!(
        dims,
        [
            "low_carbon",
            "green_energy",
            "power_utilisation",
            "public_good",
            "reputation"
        ]
    );
    // The green one ranks cheaper although it costs more; the trade price is its own.
    let c = &v["items"][1];
    assert!(
        g["score"]["adjusted_millifen_per_min"].as_i64()
            < c["score"]["adjusted_millifen_per_min"].as_i64(),
        "{v}"
    );
    // Reputation from the trade chain, and none made up for the unrated supplier.
    assert_eq!(g["reputation"]["state"], "rated");
    assert_eq!(g["reputation"]["stars"], 4.5);
    assert_eq!(g["reputation"]["ratings"], 3);
    assert_eq!(c["reputation"]["state"], "no_ratings");
    assert!(c["reputation"]["stars"].is_null());
    // Sorting.
    let sorted = |sort: &str| {
        let (s, v) = m.srv.get(&format!("{STARTUP}&sort={sort}"), &Cred::None);
        assert_eq!(s, 200, "{v}");
        offers(&v, "items")
    };
    assert_eq!(sorted("price"), vec![m.coal, m.green]);
    assert_eq!(sorted("score"), vec![m.green, m.coal]);
    assert_eq!(sorted("reputation"), vec![m.green, m.coal]);
    // The advanced box and-ed with the filters; a reputation floor drops the unrated.
    let (_, v) = m
        .srv
        .get(&format!("{STARTUP}&reputation_min=4"), &Cred::None);
    assert_eq!(offers(&v, "items"), vec![m.green]);
    let (_, v) = m.srv.get(
        "/api/v1/market/search?constraint=gpu_model%20in%20%5B%22H100%22%5D%20or%20pue%20%3E%201.5",
        &Cred::None,
    );
    assert_eq!(offers(&v, "items"), vec![m.coal, m.h100], "{v}");
    assert_eq!(v["constraint"], r#"(gpu_model in ["H100"] or pue > 1.5)"#);
    // The policy the ranking used is published.
    let (s, p) = m.srv.get("/api/v1/market/policy", &Cred::None);
    assert_eq!(s, 200);
    assert_eq!(p["version"], v["policy_version"]);
    let sum: f64 = p["dimensions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["weight"].as_f64().unwrap())
        .sum();
    assert!((sum - 1.0).abs() < 1e-9, "{p}");
    assert_eq!(p["strength_bp"], 1500);
}

#[test]
fn why_not_names_the_clause_the_price_the_units_and_offline_resources() {
    let m = market();
    let q = "/api/v1/market/explain?gpu_model=A100&green_pct_min=50&max_price_fen_per_min=290&units=1&limit=50";
    let (s, v) = m.srv.get(q, &Cred::None);
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["candidates_total"], 1);
    assert_eq!(v["would_match"], json!([m.coal, v["would_match"][1]]));
    assert_eq!(v["rejected_total"], 3, "{v}");
    let why = |offer: i64| {
        v["rejected"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["card"]["offer_id"] == offer)
            .unwrap_or_else(|| panic!("{offer} in {v}"))["why"]
            .clone()
    };
    assert_eq!(
        why(m.green),
        json!({"reason": "price_above_limit", "price_fen_per_min": 300, "max_fen_per_min": 290})
    );
    let h = why(m.h100);
    assert_eq!(h["reason"], "constraint");
    assert_eq!(h["clause"], r#"gpu_model == "A100""#);
    assert_eq!(h["span"], json!({"start": 0, "end": 19}));
    assert_eq!(h["observed"], json!([r#"gpu_model = "H100""#]));
    assert_eq!(
        why(m.offline),
        json!({"reason": "not_online", "status": "maintenance"})
    );
    // Units: two are on offer.
    let (_, v) = m.srv.get(
        &format!("/api/v1/market/explain?offer={}&units=3", m.coal),
        &Cred::None,
    );
    assert_eq!(v["candidates_total"], 0, "{v}");
    assert_eq!(
        v["rejected"][0]["why"],
        json!({"reason": "insufficient_units", "free": 2, "wanted": 3})
    );
    let (_, v) = m.srv.get(
        &format!("/api/v1/market/explain?offer={}", m.coal),
        &Cred::None,
    );
    assert_eq!(v["candidates_total"], 1, "{v}");
    assert_err(
        m.srv.get("/api/v1/market/explain?offer=999", &Cred::None),
        404,
        "not_found",
    );
}

#[test]
fn compare_estimates_the_total_for_the_duration() {
    let m = market();
    let (s, v) = m.srv.get(
        &format!(
            "/api/v1/market/compare?offers={},{}&duration_min=600&units=2",
            m.green, m.coal
        ),
        &Cred::None,
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(offers(&v, "items"), vec![m.green, m.coal]);
    assert_eq!(v["items"][0]["estimate_fen"], 300 * 600 * 2);
    assert_eq!(v["items"][1]["estimate_fen"], 280 * 600 * 2);
    assert_eq!(v["items"][1]["resource"]["carbon_g_per_kwh"], 820.0);
    // The minimum charge applies to short jobs.
    let (_, v) = m.srv.get(
        &format!(
            "/api/v1/market/compare?offers={},{}&duration_min=1",
            m.green, m.coal
        ),
        &Cred::None,
    );
    assert_eq!(v["items"][0]["estimate_fen"], 1000);
    let one = format!("/api/v1/market/compare?offers={}", m.green);
    let (s, e) = m.srv.get(&one, &Cred::None);
    assert_eq!(
        (s, e["error"]["code"].as_str(), e["error"]["field"].as_str()),
        (400, Some("invalid_query"), Some("offers"))
    );
    let five = format!(
        "/api/v1/market/compare?offers={},{},{},{},9",
        m.green, m.coal, m.h100, m.offline
    );
    assert_eq!(m.srv.get(&five, &Cred::None).0, 400);
    assert_err(
        m.srv.get(
            &format!("/api/v1/market/compare?offers={},999", m.green),
            &Cred::None,
        ),
        404,
        "not_found",
    );
}

fn refused(srv: &TestServer, q: &str) -> Value {
    let (s, v) = srv.get(&format!("/api/v1/market/search?{q}"), &Cred::None);
    assert!(s == 400 || s == 422, "{q}: {s} {v}");
    v["error"].clone()
}

#[test]
fn constraint_errors_carry_the_span_and_bad_parameters_are_named() {
    let m = market();
    let e = refused(
        &m.srv,
        "constraint=mem_gb%20%3E%3D%2080%20and%20vram%20%3E%203",
    );
    assert_eq!(e["code"], "constraint_invalid");
    assert_eq!(e["field"], "constraint");
    assert_eq!(e["span"], json!({"start": 17, "end": 21}), "{e}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("unknown attribute \"vram\""),
        "{e}"
    );
    let e = refused(&m.srv, "constraint=gpu_model%20%3D%3D%2080");
    assert_eq!(e["span"], json!({"start": 13, "end": 15}), "{e}");
    let e = refused(&m.srv, "constraint=mem_gb%20%3E%3D");
    assert_eq!(e["span"], json!({"start": 9, "end": 9}), "{e}");
    // Limits: the source length and a list's literals.
    let long = "x".repeat(5000);
    let e = refused(&m.srv, &format!("constraint={long}"));
    assert_eq!(e["span"], json!({"start": 4096, "end": 5000}), "{e}");
    let list = (0..65).map(|i| i.to_string()).collect::<Vec<_>>().join(",");
    let e = refused(&m.srv, &format!("constraint=gpu_count%20in%20%5B{list}%5D"));
    assert!(
        e["message"].as_str().unwrap().contains("list too long"),
        "{e}"
    );
    // Filters are checked one by one, naming the parameter.
    for (q, field) in [
        ("gpu_model=Z9", "gpu_model"),
        ("green_pct_min=150", "green_pct_min"),
        ("pue_max=0.5", "pue_max"),
        ("sort=cheap", "sort"),
        ("limit=500", "limit"),
        ("units=0", "units"),
        ("duration_min=x", "duration_min"),
        ("max_price_fen_per_min=-1", "max_price_fen_per_min"),
        ("offer=3", "offer"),
        ("colour=red", ""),
    ] {
        let e = refused(&m.srv, q);
        assert_eq!(e["code"], "invalid_query", "{q}");
        if !field.is_empty() {
            assert_eq!(e["field"], field, "{q}");
        }
    }
}

#[test]
fn the_index_follows_listing_changes_and_the_api_is_documented() {
    let m = market();
    let base = "/api/v1/market/search?gpu_model=A100";
    let (_, v) = m.srv.get(base, &Cred::None);
    assert_eq!(v["total"], 2);
    // A new listing enters at once.
    let (_, hydro) = &m.hydro;
    let extra = list(
        &m.srv,
        &m.op,
        hydro,
        "hydro",
        resource("g2", "A100", "online", 0.9, 40.0, 1.2),
        310,
    );
    let (_, v) = m.srv.get(base, &Cred::None);
    assert_eq!(v["total"], 3);
    assert!(offers(&v, "items").contains(&extra));
    // A withdrawn one leaves at once.
    let pwd = json!({"password": format!("{}-New", pw("hydro"))});
    let (s, r) = m.srv.post(
        &format!("/api/v1/supplier/offers/{extra}/unpublish"),
        hydro,
        pwd,
    );
    assert_eq!(s, 200, "{r}");
    let (_, v) = m.srv.get(base, &Cred::None);
    assert_eq!(v["total"], 2);
    // A suspended supplier's offers leave with it.
    let (org, _) = m.hydro;
    let (s, r) = m
        .srv
        .call("DELETE", &format!("/api/v1/orgs/{org}"), &m.op, None);
    assert!(s == 200 || s == 204, "{s} {r}");
    let (_, v) = m.srv.get(base, &Cred::None);
    assert_eq!(offers(&v, "items"), vec![m.coal]);
    // Every market operation is documented under the `market` tag, public.
    let (_, doc) = m.srv.get("/api/v1/openapi.json", &Cred::None);
    for p in ["search", "explain", "compare", "policy"] {
        let op = &doc["paths"][format!("/api/v1/market/{p}")]["get"];
        assert_eq!(op["tags"], json!(["market"]), "{p}");
        assert_eq!(op["security"], json!([]), "{p}");
    }
}

#[test]
fn standing_demands_match_now_or_when_an_offer_appears_and_stay_with_their_organisation() {
    let m = market();
    let (org, startup) = customer(&m.srv, &m.op, "Startup", "startup");
    let (_, other) = customer(&m.srv, &m.op, "Other Co", "otherco");
    // Matched at once: a green H100 within the limit is listed.
    let (s, v) = post_demand(
        &m.srv,
        &startup,
        json!({"constraint": "gpu_model == \"H100\" and green_share >= 0.9",
        "max_price_fen_per_min": 600, "duration_min": 120, "units": 1}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["demand"]["status"], "matched", "{v}");
    assert_eq!(v["demand"]["match"]["offer_id"], m.h100);
    assert_eq!(v["demand"]["match"]["estimate_fen"], 500 * 120);
    // Nothing fits an L40S: it rests, visible only to its organisation.
    let (s, v) = post_demand(
        &m.srv,
        &startup,
        json!({"constraint": "gpu_model == \"L40S\"",
        "max_price_fen_per_min": 400, "duration_min": 60, "units": 2, "expires_in_hours": 24}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["demand"]["status"], "open");
    let id = v["demand"]["id"].as_i64().unwrap();
    assert_err(
        m.srv.get(&format!("/api/v1/market/demands/{id}"), &other),
        404,
        "not_found",
    );
    let (_, theirs) = m.srv.get("/api/v1/market/demands", &other);
    assert_eq!(theirs["items"].as_array().unwrap().len(), 0);
    assert_err(
        m.srv.post(
            &format!("/api/v1/market/demands/{id}/cancel"),
            &other,
            json!({}),
        ),
        404,
        "not_found",
    );
    // A supplier lists a fitting offer: the continuous engine matches the demand when the
    // listing changes (here seen by the next search), and the organisation gets a message.
    let (_, hydro) = &m.hydro;
    let l40s = list(
        &m.srv,
        &m.op,
        hydro,
        "hydro",
        resource("l1", "L40S", "online", 0.8, 100.0, 1.2),
        350,
    );
    let (s, _) = m.srv.get("/api/v1/market/search", &Cred::None);
    assert_eq!(s, 200);
    let (_, d) = m.srv.get(&format!("/api/v1/market/demands/{id}"), &startup);
    assert_eq!(d["demand"]["status"], "matched", "{d}");
    assert_eq!(d["demand"]["match"]["offer_id"], l40s);
    assert_eq!(d["demand"]["match"]["price_fen_per_min"], 350);
    assert_eq!(d["demand"]["match"]["estimate_fen"], 350 * 60 * 2);
    let (_, msgs) = m.srv.get(&format!("/api/v1/orgs/{org}/messages"), &startup);
    assert!(
        msgs.to_string()
            .contains(&format!("Standing demand #{id} matched: offer #{l40s}")),
        "{msgs}"
    );
    // Cancel an open one; a second cancel is refused.
    let (_, v) = post_demand(
        &m.srv,
        &startup,
        json!({"constraint": "gpu_model == \"V100\"",
        "max_price_fen_per_min": 100, "duration_min": 60, "units": 1}),
    );
    let v100 = v["demand"]["id"].as_i64().unwrap();
    let (s, c) = m.srv.post(
        &format!("/api/v1/market/demands/{v100}/cancel"),
        &startup,
        json!({}),
    );
    assert_eq!(
        (s, c["demand"]["status"].as_str()),
        (200, Some("cancelled")),
        "{c}"
    );
    assert_err(
        m.srv.post(
            &format!("/api/v1/market/demands/{v100}/cancel"),
            &startup,
            json!({}),
        ),
        409,
        "demand_not_open",
    );
    // Demands expire unmatched.
    let (_, v) = post_demand(
        &m.srv,
        &startup,
        json!({"constraint": "gpu_model == \"T4\"",
        "max_price_fen_per_min": 100, "duration_min": 60, "units": 1, "expires_in_hours": 1}),
    );
    let t4 = v["demand"]["id"].as_i64().unwrap();
    m.srv.clock.advance_ms(3_600_001);
    let (_, d) = m.srv.get(&format!("/api/v1/market/demands/{t4}"), &startup);
    assert_eq!(d["demand"]["status"], "expired", "{d}");
    let (_, mine) = m.srv.get("/api/v1/market/demands", &startup);
    assert_eq!(mine["items"].as_array().unwrap().len(), 4);
    // Bad input is named; the constraint's refusal carries its span.
    let (s, e) = post_demand(
        &m.srv,
        &startup,
        json!({"constraint": "vram > 3",
        "max_price_fen_per_min": 100, "duration_min": 60, "units": 1}),
    );
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (422, Some("constraint_invalid")),
        "{e}"
    );
    assert_eq!(e["error"]["span"], json!({"start": 0, "end": 4}));
    for (body, field) in [
        (
            json!({"constraint": "true", "max_price_fen_per_min": 100, "duration_min": 60, "units": 0}),
            "units",
        ),
        (
            json!({"constraint": "true", "max_price_fen_per_min": -1, "duration_min": 60, "units": 1}),
            "max_price_fen_per_min",
        ),
        (
            json!({"constraint": "true", "max_price_fen_per_min": 1, "duration_min": 60, "units": 1, "expires_in_hours": 721}),
            "expires_in_hours",
        ),
    ] {
        let (s, e) = post_demand(&m.srv, &startup, body);
        assert_eq!(
            (s, e["error"]["code"].as_str(), e["error"]["field"].as_str()),
            (422, Some("invalid_field"), Some(field)),
            "{e}"
        );
    }
    // Only ordering roles post demands; nobody anonymously.
    assert_err(
        post_demand(
            &m.srv,
            hydro,
            json!({"constraint": "true", "max_price_fen_per_min": 1, "duration_min": 1, "units": 1}),
        ),
        403,
        "forbidden",
    );
    assert_eq!(post_demand(&m.srv, &Cred::None, json!({})).0, 401);
}
