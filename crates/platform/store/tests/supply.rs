//! `SupplyStore` conformance (`docs/supply.md` §2): every check runs against SQLite (a
//! temporary file) and PostgreSQL (a fresh database on the server named by
//! `SUANLI_TEST_DATABASE_URL`, dropped afterwards; without it the PostgreSQL half fails
//! when `CI` is set and is skipped otherwise), like `tests/conformance.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use suanli_platform_domain::supply::catalog::{
    ModeDraft, ModeSpec, OfferStatus, ResourceDraft, ResourceSpec, TermOption,
};
use suanli_platform_domain::{OrgId, OrgKind, OrgStatus, Role};
use suanli_platform_store::*;

#[macro_use]
mod common;
use common::*;

const T0: i64 = 1_780_000_000_000;

conformance!(
    resources_import_all_or_nothing,
    modes_publish_once,
    offers_move_through_the_listing_review,
    an_edit_waits_for_the_review_and_approval_supersedes,
    offers_only_group_the_organisations_own_things,
);

async fn supplier(s: &dyn OpsStore, name: &str) -> (OrgId, UserRecord) {
    let org = s
        .create_org(&NewOrg {
            kind: OrgKind::SupplierResource,
            name: name.into(),
            status: OrgStatus::Active,
            distributor: None,
            created_ms: T0,
        })
        .await
        .expect("org");
    let user = s
        .create_user(&NewUser {
            org: org.id,
            login: format!("{name}-admin"),
            display_name: name.into(),
            password_hash: "h".into(),
            roles: vec![Role::SupplierAdmin],
            created_ms: T0,
        })
        .await
        .expect("user");
    (org.id, user)
}

fn resource(name: &str) -> ResourceSpec {
    ResourceDraft {
        name: name.into(),
        location: "Ningxia DC".into(),
        status: "online".into(),
        gpu_model: "a100".into(),
        gpu_count: 8,
        gpu_mem_gb: 80,
        cpu_cores: 128,
        ram_gb: 1024,
        storage_gb: 8000,
        tflops: 2496.5,
        region: "cn-west".into(),
        available_from_min: 0,
        available_until_min: 100_000,
        green_share: 0.625,
        carbon_g_per_kwh: 310.0,
        pue: 1.25,
        utilisation: 0.5,
    }
    .check()
    .unwrap()
}

fn mode() -> ModeSpec {
    ModeDraft {
        name: "by the minute".into(),
        price_fen_per_min: 300,
        min_charge_fen: 1000,
        checkin_period_min: 60,
        weights: [("gpu".to_owned(), 1000)].into(),
        terms: vec![TermOption {
            months: 12,
            discount_bp: 1500,
        }],
        trade_start_cpt: 1,
        checkin_cpt: 2,
    }
    .check()
    .unwrap()
}

async fn resources_import_all_or_nothing(b: &Backend) {
    let s = b.store();
    let (org, _) = supplier(s, "dc1").await;
    let got = s
        .import_resources(org, &[resource("n1"), resource("n2")], T0)
        .await
        .unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].spec, resource("n1"), "every attribute reads back");
    // n3 is new but n1 is taken: nothing of this import is written.
    let e = s
        .import_resources(org, &[resource("n3"), resource("n1")], T0)
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Conflict(_)), "{e:?}");
    assert_eq!(s.list_resources(org, 0, 50).await.unwrap().len(), 2);
    let (other, _) = supplier(s, "dc2").await;
    assert!(s.list_resources(other, 0, 50).await.unwrap().is_empty());
    let e = s
        .update_resource(other, got[0].id, &resource("x"), T0 + 1)
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::NotFound));
    let up = s
        .update_resource(org, got[0].id, &resource("n1b"), T0 + 1)
        .await
        .unwrap();
    assert_eq!(
        (up.spec.get().name.as_str(), up.updated_ms),
        ("n1b", T0 + 1)
    );
}

async fn modes_publish_once(b: &Backend) {
    let s = b.store();
    let (org, _) = supplier(s, "dc1").await;
    let m = s.create_mode(org, &mode(), T0).await.unwrap();
    assert_eq!((m.spec.clone(), m.chain_mode_id), (mode(), None));
    let p = s.set_mode_published(m.id, 7, "tx7", T0 + 1).await.unwrap();
    assert_eq!(
        (p.chain_mode_id, p.chain_tx.as_deref()),
        (Some(7), Some("tx7"))
    );
    assert!(matches!(
        s.set_mode_published(m.id, 8, "tx8", T0 + 2).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(s.list_modes(org).await.unwrap(), vec![p]);
}

async fn draft(s: &dyn OpsStore, org: OrgId, replaces: Option<i64>) -> OfferRecord {
    let res = s.list_resources(org, 0, 50).await.unwrap();
    let res = if res.is_empty() {
        s.import_resources(org, &[resource("n1")], T0)
            .await
            .unwrap()
    } else {
        res
    };
    let mode = match s.list_modes(org).await.unwrap().pop() {
        Some(m) => m,
        None => s.create_mode(org, &mode(), T0).await.unwrap(),
    };
    s.create_offer(&NewOffer {
        org,
        replaces,
        mode_id: mode.id,
        title: "A100 x8".into(),
        resource_ids: res.iter().map(|r| r.id).collect(),
        units: 2,
        valid_from_ms: T0,
        valid_until_ms: T0 + 86_400_000,
        at_ms: T0,
    })
    .await
    .unwrap()
}

async fn offers_move_through_the_listing_review(b: &Backend) {
    let s = b.store();
    let (org, _) = supplier(s, "dc1").await;
    let (_, op) = supplier(s, "operator").await;
    let d = draft(s, org, None).await;
    assert_eq!(
        (d.status, d.version, d.lineage_id),
        (OfferStatus::Draft, 1, d.id)
    );
    // Not in review yet: no decision.
    let decide = |approve, reason: Option<&str>| ListingDecision {
        offer_id: d.id,
        approve,
        reason: reason.map(str::to_owned),
        by: op.id,
        at_ms: T0 + 5,
    };
    assert!(matches!(
        s.decide_listing(&decide(true, None)).await,
        Err(StoreError::Rejected(_))
    ));
    let p = s
        .set_offer_published(d.id, 41, "tx41", T0 + 1)
        .await
        .unwrap();
    assert_eq!(
        (p.status, p.chain_offer_id),
        (OfferStatus::InReview, Some(41))
    );
    let (r, sup) = s
        .decide_listing(&decide(false, Some("no photos of the hall")))
        .await
        .unwrap();
    assert!(sup.is_empty());
    assert_eq!(
        (r.status, r.reason.as_deref(), r.reviewed_by),
        (
            OfferStatus::Rejected,
            Some("no photos of the hall"),
            Some(op.id)
        )
    );
    assert!(
        s.list_offers(None, Some(OfferStatus::Listed), 0, 50)
            .await
            .unwrap()
            .is_empty()
    );
    let w = s.withdraw_offer(d.id, T0 + 9).await.unwrap();
    assert_eq!(w.status, OfferStatus::Withdrawn);
    assert!(matches!(
        s.withdraw_offer(d.id, T0 + 10).await,
        Err(StoreError::Rejected(_))
    ));
}

async fn an_edit_waits_for_the_review_and_approval_supersedes(b: &Backend) {
    let s = b.store();
    let (org, _) = supplier(s, "dc1").await;
    let (_, op) = supplier(s, "operator").await;
    let v1 = draft(s, org, None).await;
    s.set_offer_published(v1.id, 1, "t1", T0).await.unwrap();
    let e = s
        .create_offer(&NewOffer {
            org,
            replaces: Some(v1.id),
            mode_id: v1.mode_id,
            title: "edited".into(),
            resource_ids: v1.resource_ids.clone(),
            units: 1,
            valid_from_ms: T0,
            valid_until_ms: T0 + 1000,
            at_ms: T0,
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::Conflict(m) if m.starts_with("offer_in_review")),
        "{e:?}"
    );
    assert_eq!(s.offer_versions(v1.lineage_id).await.unwrap().len(), 1);
    let approve = |id| ListingDecision {
        offer_id: id,
        approve: true,
        reason: None,
        by: op.id,
        at_ms: T0 + 5,
    };
    s.decide_listing(&approve(v1.id)).await.unwrap();
    let v2 = draft(s, org, Some(v1.id)).await;
    assert_eq!((v2.version, v2.lineage_id), (2, v1.id));
    s.set_offer_published(v2.id, 2, "t2", T0).await.unwrap();
    let listed = s
        .list_offers(None, Some(OfferStatus::Listed), 0, 50)
        .await
        .unwrap();
    assert_eq!(listed.iter().map(|o| o.id).collect::<Vec<_>>(), [v1.id]);
    let (now, superseded) = s.decide_listing(&approve(v2.id)).await.unwrap();
    assert_eq!(now.status, OfferStatus::Listed);
    assert_eq!(superseded.len(), 1);
    assert_eq!(superseded[0].status, OfferStatus::Superseded);
    let listed = s
        .list_offers(None, Some(OfferStatus::Listed), 0, 50)
        .await
        .unwrap();
    assert_eq!(listed.iter().map(|o| o.id).collect::<Vec<_>>(), [v2.id]);
}

async fn offers_only_group_the_organisations_own_things(b: &Backend) {
    let s = b.store();
    let (org, _) = supplier(s, "dc1").await;
    let (other, _) = supplier(s, "dc2").await;
    let mine = draft(s, org, None).await;
    let theirs = s
        .import_resources(other, &[resource("t1")], T0)
        .await
        .unwrap();
    let new = |org, mode_id, resource_ids: Vec<i64>| NewOffer {
        org,
        replaces: None,
        mode_id,
        title: "x".into(),
        resource_ids,
        units: 1,
        valid_from_ms: T0,
        valid_until_ms: T0 + 1,
        at_ms: T0,
    };
    let with_their_resource = new(org, mine.mode_id, vec![mine.resource_ids[0], theirs[0].id]);
    assert!(matches!(
        s.create_offer(&with_their_resource).await,
        Err(StoreError::NotFound)
    ));
    let with_my_mode = new(other, mine.mode_id, vec![theirs[0].id]);
    assert!(matches!(
        s.create_offer(&with_my_mode).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        s.list_offers(Some(other), None, 0, 50).await.unwrap(),
        vec![]
    );
    assert_eq!(
        s.list_offers(Some(org), None, 0, 50).await.unwrap(),
        vec![mine]
    );
}
