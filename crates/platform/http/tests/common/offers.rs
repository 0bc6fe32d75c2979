//! A listed supplier offer written to the store (the exchange's tests).

use super::T0_MS;

/// A listed supplier offer (one A100 node, 1 fen… 100 fen a minute, hourly check-ins)
/// published on the chain as `chain_offer_id`, written to `store` directly.
pub async fn listed_offer(
    store: &suanli_platform_http::store::SqliteStore,
    by: suanli_platform_http::domain::UserId,
    chain_offer_id: u64,
) {
    use suanli_platform_http::domain::supply::catalog::{ModeDraft, ResourceDraft};
    use suanli_platform_http::domain::{OrgKind, OrgStatus};
    use suanli_platform_http::store::*;
    let org = store
        .create_org(&NewOrg {
            kind: OrgKind::SupplierResource,
            name: "dc".into(),
            status: OrgStatus::Active,
            distributor: None,
            created_ms: T0_MS,
        })
        .await
        .unwrap();
    let r = ResourceDraft {
        name: "n1".into(),
        location: "hall".into(),
        status: "online".into(),
        gpu_model: "A100".into(),
        gpu_count: 8,
        gpu_mem_gb: 80,
        cpu_cores: 64,
        ram_gb: 512,
        storage_gb: 1000,
        tflops: 100.0,
        region: "cn-west".into(),
        available_from_min: 0,
        available_until_min: 1000,
        green_share: 0.5,
        carbon_g_per_kwh: 300.0,
        pue: 1.2,
        utilisation: 0.5,
    };
    let res = store
        .import_resources(org.id, &[r.check().unwrap()], T0_MS)
        .await
        .unwrap();
    let mode = ModeDraft {
        name: "m".into(),
        price_fen_per_min: 100,
        min_charge_fen: 0,
        checkin_period_min: 60,
        weights: [("gpu".to_owned(), 1000)].into(),
        terms: vec![],
        trade_start_cpt: 1,
        checkin_cpt: 2,
    };
    let mode = store
        .create_mode(org.id, &mode.check().unwrap(), T0_MS)
        .await
        .unwrap();
    store
        .set_mode_published(mode.id, 1, "tx", T0_MS)
        .await
        .unwrap();
    let offer = store
        .create_offer(&NewOffer {
            org: org.id,
            replaces: None,
            mode_id: mode.id,
            title: "t".into(),
            resource_ids: vec![res[0].id],
            units: 1,
            valid_from_ms: T0_MS,
            valid_until_ms: T0_MS + 86_400_000,
            at_ms: T0_MS,
        })
        .await
        .unwrap();
    store
        .set_offer_published(offer.id, chain_offer_id, "tx", T0_MS)
        .await
        .unwrap();
    store
        .decide_listing(&ListingDecision {
            offer_id: offer.id,
            approve: true,
            reason: None,
            by,
            at_ms: T0_MS,
        })
        .await
        .unwrap();
}
