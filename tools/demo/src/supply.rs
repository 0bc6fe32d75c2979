//! The supply side of `suanli demo` (issue 16, `docs/supply.md`): a data centre that wants
//! to sell its GPUs registers itself as a resource supplier with a qualification
//! credential from a certification body, the operator sees the credential verified on the
//! identity chain and approves (the supplier's DID is enrolled on the trade chain), the
//! supplier imports its resources from CSV, publishes a trade mode and an offer signed by
//! its own key, the operator approves the listing, and an anonymous visitor finds the offer
//! in the catalogue with its attributes.

use std::path::Path;

use anyhow::Context;
use serde_json::{Value, json};
use suanli_ledger_client::LedgerClient;
use suanli_webtest::onboarding::Certifier;

use crate::platform::{Client, Session};

/// The supplier's administrator and password (the demo's; shown at the end).
pub const SUPPLIER_LOGIN: &str = "gpupark-admin";
/// Its password.
pub const SUPPLIER_PASSWORD: &str = "Green-A100-Park-9";
/// The supplier's unified social credit code (check character valid).
const CREDIT_CODE: &str = "91510100MA6CGREEN8";
/// Its resources, as a data centre exports them (`docs/supply.md` §2).
const RESOURCES_CSV: &str = "name,location,status,gpu_model,gpu_count,gpu_mem_gb,cpu_cores,ram_gb,storage_gb,tflops,region,available_from_min,available_until_min,green_share,carbon_g_per_kwh,pue,utilisation
hydro-a100-01,Ya'an hall 1,online,gpu-a100,8,80,128,1024,7680,2496,cn-west,0,5256000,0.92,35,1.15,0.4
hydro-a100-02,Ya'an hall 1,online,NVIDIA-A100,8,80,128,1024,7680,2496,cn-west,0,5256000,0.92,35,1.15,0.55
";

/// Walks the supplier's story on the running platform at `c` (its qualification dated
/// `issued_back_ms` before `clock`'s time once its issuer is on the chain); `ledger` is the node the
/// platform's ports use and `data` the demo's data directory (the node's operator key
/// is the identity chain's authority, acting as the certification body here).
pub(crate) fn walk(
    c: &Client,
    admin: &Session,
    ledger: &dyn LedgerClient,
    data: &Path,
    clock: &dyn suanli_primitives::Clock,
    issued_back_ms: u64,
) -> anyhow::Result<Listed> {
    let chain_now_ms = clock.now_ms();
    let certifier = Certifier::open(ledger, data).context("the certification body")?;
    let cpt = certifier.register_cpt(ledger)?;
    let credential = certifier.issue(
        cpt,
        CREDIT_CODE,
        1,
        clock.now_ms().saturating_sub(issued_back_ms),
    )?;
    println!(
        "   S1. A certification body (here the identity chain's authority, {}) registers qualification template CPT {cpt} and issues GPU Park a data-centre licence credential about its credit code {CREDIT_CODE}.",
        credential["issuer"].as_str().unwrap_or("?")
    );
    let v = c.expect(
        "POST",
        "/api/v1/registrations/supplier",
        None,
        Some(
            json!({"login": SUPPLIER_LOGIN, "password": SUPPLIER_PASSWORD,
            "display_name": "Li Si", "supplier_type": "supplier_resource",
            "company_name": "GPU Park Ya'an Co., Ltd.", "credit_code": CREDIT_CODE,
            "licence_ref": "BL-2026-0815", "legal_person": "Wang Wu", "phone": "13800138001",
            "qualification": credential}),
        ),
        201,
    )?;
    let reg = v["registration"]["id"].as_i64().unwrap_or_default();
    println!(
        "   S2. GPU Park registers as a resource supplier with that credential: registration #{reg}."
    );
    let review = c.expect(
        "GET",
        &format!("/api/v1/ops/suppliers/registrations/{reg}"),
        Some(admin),
        None,
        200,
    )?;
    println!(
        "   S3. The operator's review verifies the credential on the identity chain: {}.",
        checks_line(&review)
    );
    let v = c.expect(
        "POST",
        &format!("/api/v1/registrations/{reg}/approve"),
        Some(admin),
        None,
        200,
    )?;
    println!(
        "   S4. Approved: the supplier DID {} is enrolled on the trade chain as supplier (kyc {}).",
        v["kyc"]["did"].as_str().unwrap_or("?"),
        v["kyc"]["status"].as_str().unwrap_or("?")
    );
    let sup = c.login(SUPPLIER_LOGIN, SUPPLIER_PASSWORD)?;
    let (offer, chain_offer) = list_offer(c, &sup, admin, chain_now_ms)?;
    let listed = c.expect(
        "GET",
        &format!("/api/v1/catalogue/offers/{offer}"),
        None,
        None,
        200,
    )?;
    let r = &listed["resources"][0]["attributes"];
    println!(
        "   S9. An anonymous visitor finds the offer in the catalogue: {} × {} {} GB per node, {} per minute, green share {}, carbon {} g/kWh, PUE {}.",
        r["gpu_count"],
        r["gpu_model"].as_str().unwrap_or("?"),
        r["gpu_mem_gb"],
        crate::story::yuan(listed["price_fen_per_min"].as_i64().unwrap_or_default()),
        r["green_share"],
        r["carbon_g_per_kwh"],
        r["pue"]
    );
    Ok(Listed { offer, chain_offer })
}

/// The offer the supplier listed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Listed {
    /// The platform's offer id.
    pub offer: i64,
    /// The offer's id on the trade chain.
    pub chain_offer: u64,
}

/// Resources, a mode and an offer published by the supplier; the listing approved.
/// Returns the listed offer's id and its id on the trade chain.
fn list_offer(
    c: &Client,
    sup: &Session,
    admin: &Session,
    chain_now_ms: u64,
) -> anyhow::Result<(i64, u64)> {
    let v = c.expect(
        "POST",
        "/api/v1/supplier/resources/import",
        Some(sup),
        Some(json!({"csv": RESOURCES_CSV})),
        200,
    )?;
    let ids: Vec<i64> = v["items"]
        .as_array()
        .map(|a| a.iter().filter_map(|r| r["id"].as_i64()).collect())
        .unwrap_or_default();
    println!(
        "   S5. The supplier imports {} resources from CSV (`gpu-a100` and `NVIDIA-A100` are one model).",
        ids.len()
    );
    let mode = c.expect(
        "POST",
        "/api/v1/supplier/modes",
        Some(sup),
        Some(
            json!({"name": "A100 by the minute", "price_fen_per_min": 180,
            "min_charge_fen": 6000, "checkin_period_min": 60,
            "weights": {"gpu": 600, "memory": 200, "network": 200},
            "terms": [{"months": 1, "discount_bp": 500}],
            "trade_start_cpt": 1, "checkin_cpt": 2}),
        ),
        200,
    )?;
    let mode_id = mode["mode"]["id"].as_i64().unwrap_or_default();
    let published = c.expect(
        "POST",
        &format!("/api/v1/supplier/modes/{mode_id}/publish"),
        Some(sup),
        Some(json!({"password": SUPPLIER_PASSWORD})),
        200,
    )?;
    println!(
        "   S6. It defines a trade mode (¥1.80 per minute, ¥60 minimum, hourly check-ins) and publishes it on the trade chain, signed by its own key: chain mode #{}.",
        published["mode"]["chain_mode_id"]
    );
    let offer = c.expect(
        "POST",
        "/api/v1/supplier/offers",
        Some(sup),
        Some(
            json!({"title": "Hydro-powered A100 80GB", "mode_id": mode_id,
            "resource_ids": ids, "units": 2,
            "valid_from_ms": chain_now_ms, "valid_until_ms": chain_now_ms + 30 * 86_400_000u64}),
        ),
        200,
    )?;
    let id = offer["offer"]["id"].as_i64().unwrap_or_default();
    let published = c.expect(
        "POST",
        &format!("/api/v1/supplier/offers/{id}/publish"),
        Some(sup),
        Some(json!({"password": SUPPLIER_PASSWORD})),
        200,
    )?;
    println!(
        "   S7. It groups both nodes into an offer and publishes it on the trade chain (chain offer #{}), status {}.",
        published["offer"]["chain_offer_id"],
        published["offer"]["status"].as_str().unwrap_or("?")
    );
    c.expect(
        "POST",
        &format!("/api/v1/ops/suppliers/listings/{id}/approve"),
        Some(admin),
        None,
        200,
    )?;
    println!("   S8. The operator's listing review approves it: it enters the catalogue.");
    let chain_offer = published["offer"]["chain_offer_id"]
        .as_u64()
        .context("the published offer has no chain offer id")?;
    Ok((id, chain_offer))
}

/// `proof ✓, issuer_key ✓, …` from a review answer (`verification.checks`).
fn checks_line(review: &Value) -> String {
    review["verification"]["checks"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|c| {
                    let mark = if c["outcome"] == "passed" {
                        "✓"
                    } else {
                        "✗"
                    };
                    format!("{} {mark}", c["check"].as_str().unwrap_or("?"))
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_else(|| format!("not verified: {}", review["unavailable"]))
}
