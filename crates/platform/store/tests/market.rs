//! `MarketStore` conformance (issue 17): the listing generation moves with every write
//! that can change the catalogue — offer versions written and moved, resources and modes
//! changed, an organisation's status or name changed — on SQLite and PostgreSQL alike
//! (like `tests/supply.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use suanli_platform_domain::supply::catalog::{ModeDraft, ResourceDraft};
use suanli_platform_domain::{OrgKind, OrgStatus, Role};
use suanli_platform_store::*;

#[macro_use]
mod common;
use common::*;

const T0: i64 = 1_780_000_000_000;

conformance!(
    the_listing_generation_moves_with_every_catalogue_write,
    demands_move_only_from_open_and_a_match_leaves_its_message,
    a_matched_demand_is_confirmed_once_and_an_allocation_is_claimed_once,
);

async fn moved(s: &dyn OpsStore, before: &mut i64, what: &str) {
    let now = s.listing_generation().await.unwrap();
    assert!(
        now > *before,
        "{what}: generation {now} did not move from {before}"
    );
    *before = now;
}

async fn the_listing_generation_moves_with_every_catalogue_write(b: &Backend) {
    let s = b.store();
    let mut g = s.listing_generation().await.unwrap();
    let org = s
        .create_org(&NewOrg {
            kind: OrgKind::SupplierResource,
            name: "dc".into(),
            status: OrgStatus::Active,
            distributor: None,
            created_ms: T0,
        })
        .await
        .unwrap();
    let op = s
        .create_user(&NewUser {
            org: org.id,
            login: "dc-admin".into(),
            display_name: "dc".into(),
            password_hash: "h".into(),
            roles: vec![Role::SupplierAdmin],
            created_ms: T0,
        })
        .await
        .unwrap();
    // Reads and unrelated writes leave it alone.
    assert_eq!(s.listing_generation().await.unwrap(), g);
    let draft = ResourceDraft {
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
    let res = s
        .import_resources(org.id, &[draft.check().unwrap()], T0)
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
    let mode = s
        .create_mode(org.id, &mode.check().unwrap(), T0)
        .await
        .unwrap();
    s.set_mode_published(mode.id, 1, "tx", T0).await.unwrap();
    moved(s, &mut g, "mode published").await;
    let offer = s
        .create_offer(&NewOffer {
            org: org.id,
            replaces: None,
            mode_id: mode.id,
            title: "t".into(),
            resource_ids: vec![res[0].id],
            units: 1,
            valid_from_ms: T0,
            valid_until_ms: T0 + 1000,
            at_ms: T0,
        })
        .await
        .unwrap();
    moved(s, &mut g, "offer created").await;
    s.set_offer_published(offer.id, 7, "tx7", T0).await.unwrap();
    moved(s, &mut g, "offer published").await;
    s.decide_listing(&ListingDecision {
        offer_id: offer.id,
        approve: true,
        reason: None,
        by: op.id,
        at_ms: T0,
    })
    .await
    .unwrap();
    moved(s, &mut g, "offer listed").await;
    s.rename_org(org.id, "dc two").await.unwrap();
    moved(s, &mut g, "supplier renamed").await;
    s.set_org_status(org.id, OrgStatus::Suspended)
        .await
        .unwrap();
    moved(s, &mut g, "supplier suspended").await;
    s.withdraw_offer(offer.id, T0).await.unwrap();
    moved(s, &mut g, "offer withdrawn").await;
    let changed = ResourceDraft {
        green_share: 0.9,
        ..draft
    };
    s.update_resource(org.id, res[0].id, &changed.check().unwrap(), T0)
        .await
        .unwrap();
    moved(s, &mut g, "resource changed").await;
}

/// An enterprise customer organisation `name` with its administrator `name-admin`.
async fn customer(s: &dyn OpsStore, name: &str) -> (OrgRecord, UserRecord) {
    let org = s
        .create_org(&NewOrg {
            kind: OrgKind::Enterprise,
            name: name.into(),
            status: OrgStatus::Active,
            distributor: None,
            created_ms: T0,
        })
        .await
        .unwrap();
    let user = s
        .create_user(&NewUser {
            org: org.id,
            login: format!("{name}-admin"),
            display_name: name.into(),
            password_hash: "h".into(),
            roles: vec![Role::CustomerAdmin],
            created_ms: T0,
        })
        .await
        .unwrap();
    (org, user)
}

async fn demands_move_only_from_open_and_a_match_leaves_its_message(b: &Backend) {
    let s = b.store();
    let (org, user) = customer(s, "startup").await;
    let new = |expires_ms: i64| NewDemand {
        org: org.id,
        user: user.id,
        constraint: "gpu_model == \"A100\"".into(),
        max_price_fen_per_min: 300,
        duration_min: 60,
        units: 2,
        public_good: true,
        at_ms: T0,
        expires_ms,
        open_max: 2,
        batch: false,
    };
    let a = s.create_demand(&new(T0 + 1000)).await.unwrap();
    assert_eq!(
        (a.status, a.units, a.public_good),
        (DemandStatus::Open, 2, true)
    );
    let b2 = s.create_demand(&new(T0 + 10)).await.unwrap();
    // The open limit is checked in the insert.
    assert!(matches!(
        s.create_demand(&new(T0 + 1000)).await,
        Err(StoreError::Rejected(m)) if m == DEMANDS_OPEN_MAX
    ));
    let m = DemandMatch {
        offer_id: 7,
        resource_id: 9,
        price_fen_per_min: 250,
        estimate_fen: 30_000,
        allocation: None,
    };
    assert!(s.match_demand(a.id, &m, "matched!", T0 + 5).await.unwrap());
    assert!(!s.match_demand(a.id, &m, "twice", T0 + 6).await.unwrap());
    let got = s.get_demand(a.id).await.unwrap().unwrap();
    assert_eq!(
        (got.status, got.matched, got.closed_ms),
        (DemandStatus::Matched, Some(m.clone()), Some(T0 + 5))
    );
    let msgs = s.recent_messages(org.id, 10).await.unwrap();
    assert_eq!(msgs.iter().filter(|x| x.body == "matched!").count(), 1);
    assert!(msgs.iter().all(|x| x.body != "twice"));
    // Cancelling a matched one is refused; an expired one is not matched.
    assert!(matches!(
        s.cancel_demand(org.id, a.id, T0 + 7).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(s.open_demands(T0 + 11, false, 10).await.unwrap().len(), 0);
    assert!(!s.match_demand(b2.id, &m, "late", T0 + 11).await.unwrap());
    assert_eq!(s.expire_demands(T0 + 11).await.unwrap(), 1);
    assert_eq!(
        s.get_demand(b2.id).await.unwrap().unwrap().status,
        DemandStatus::Expired
    );
    let c = s.create_demand(&new(T0 + 1000)).await.unwrap();
    assert_eq!(s.open_demands(T0 + 11, false, 10).await.unwrap().len(), 1);
    let c = s.cancel_demand(org.id, c.id, T0 + 12).await.unwrap();
    assert_eq!(
        (c.status, c.closed_ms),
        (DemandStatus::Cancelled, Some(T0 + 12))
    );
    assert_eq!(s.list_demands(org.id, 0, 50).await.unwrap().len(), 3);
    // A matched demand is confirmed into one trade, once, by its own organisation only.
    let (other, _) = customer(s, "other").await;
    let serial = "0123456789abcdef0123456789abcdef";
    assert!(matches!(
        s.confirm_demand(other.id, a.id, serial, T0 + 13).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.confirm_demand(org.id, c.id, serial, T0 + 13).await,
        Err(StoreError::NotFound)
    ));
    let done = s
        .confirm_demand(org.id, a.id, serial, T0 + 13)
        .await
        .unwrap();
    assert_eq!(
        (done.status, done.trade_serial.as_deref(), done.confirmed_ms),
        (DemandStatus::Confirmed, Some(serial), Some(T0 + 13))
    );
    assert!(matches!(
        s.confirm_demand(org.id, a.id, serial, T0 + 14).await,
        Err(StoreError::NotFound)
    ));
}

async fn a_matched_demand_is_confirmed_once_and_an_allocation_is_claimed_once(b: &Backend) {
    let s = b.store();
    let (org, user) = customer(s, "ops").await;
    let a = s.create_allocation(user.id, T0, "{\"x\":1}").await.unwrap();
    assert!(!a.confirmed);
    let d = NewDemand {
        org: org.id,
        user: user.id,
        constraint: "true".into(),
        max_price_fen_per_min: 300,
        duration_min: 60,
        units: 1,
        public_good: false,
        at_ms: T0,
        expires_ms: T0 + 1000,
        open_max: 10,
        batch: true,
    };
    let d = s.create_demand(&d).await.unwrap();
    assert!(d.batch);
    assert_eq!(s.open_demands(T0, false, 10).await.unwrap().len(), 0);
    assert_eq!(s.open_demands(T0, true, 10).await.unwrap().len(), 1);
    let m = DemandMatch {
        offer_id: 1,
        resource_id: 2,
        price_fen_per_min: 100,
        estimate_fen: 6000,
        allocation: Some(a.id),
    };
    assert!(s.match_demand(d.id, &m, "proposed", T0 + 1).await.unwrap());
    assert_eq!(s.get_demand(d.id).await.unwrap().unwrap().matched, Some(m));
    assert!(
        s.claim_allocation(a.id, "ot_learned", T0 + 2)
            .await
            .unwrap()
    );
    assert!(
        !s.claim_allocation(a.id, "score_rank", T0 + 3)
            .await
            .unwrap()
    );
    s.set_allocation_count(a.id, 1).await.unwrap();
    let got = s.get_allocation(a.id).await.unwrap().unwrap();
    assert_eq!(
        (
            got.confirmed,
            got.method.as_deref(),
            got.confirmed_count,
            got.report_json.as_str()
        ),
        (true, Some("ot_learned"), Some(1), "{\"x\":1}")
    );
    assert_eq!(s.list_allocations(10).await.unwrap().len(), 1);
    assert!(s.get_allocation(a.id + 100).await.unwrap().is_none());
}
