//! Conformance of the hosted agents' store ([`HostedAgentStore`], migration 0015) on
//! SQLite and PostgreSQL: one hosted agent per supplier that is not stopped, the policy
//! read back as written, moves only from the status they were read in, and the sealed key
//! wiped on stop.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;
use common::*;
use suanli_platform_domain::{OrgId, OrgKind, OrgStatus, Role, UserId};
use suanli_platform_store::*;

const T0: i64 = 1_700_000_000_000;

conformance!(one_running_per_supplier_and_stop_wipes_the_key);

async fn org(s: &dyn OpsStore, name: &str) -> OrgId {
    s.create_org(&NewOrg {
        kind: OrgKind::SupplierResource,
        name: name.into(),
        status: OrgStatus::Active,
        distributor: None,
        created_ms: T0,
    })
    .await
    .unwrap()
    .id
}

async fn admin(s: &dyn OpsStore, org: OrgId, login: &str) -> UserId {
    s.create_user(&NewUser {
        org,
        login: login.into(),
        display_name: login.into(),
        password_hash: "hash".into(),
        roles: vec![Role::SupplierAdmin],
        created_ms: T0,
    })
    .await
    .unwrap()
    .id
}

fn new(org: OrgId, by: UserId, tag: u8, policy: HostedPolicy) -> NewHostedAgent {
    NewHostedAgent {
        supplier_org: org,
        supplier_did: "did:suanli:test:supplier".into(),
        public_key: format!("{tag:02x}").repeat(32),
        fragment: format!("hosted-{tag}"),
        sealed_key: format!("{tag:02x}").repeat(72),
        policy,
        created_by: by,
        created_ms: T0 + i64::from(tag),
    }
}

async fn one_running_per_supplier_and_stop_wipes_the_key(b: &Backend) {
    let s = b.store();
    let (a, other) = (org(s, "dc").await, org(s, "other").await);
    let (ua, uo) = (admin(s, a, "dc").await, admin(s, other, "other").await);
    assert!(s.latest_hosted_agent(a).await.unwrap().is_none());
    let auto = HostedPolicy {
        mode: "auto".into(),
        max_units: Some(4),
        max_minutes: Some(600),
        max_value_fen: Some(100_000),
        offers: vec![3, 9],
    };
    let first = s
        .create_hosted_agent(&new(a, ua, 1, auto.clone()))
        .await
        .unwrap();
    assert_eq!(first.status, HostedStatus::Starting);
    assert_eq!(first.policy, auto);
    // A second one for the same supplier is refused while the first is not stopped.
    let manual = HostedPolicy {
        mode: "manual".into(),
        ..HostedPolicy::default()
    };
    let refused = s.create_hosted_agent(&new(a, ua, 2, manual.clone())).await;
    assert!(
        matches!(refused, Err(StoreError::Conflict(_))),
        "{refused:?}"
    );
    // Another supplier's is its own.
    let theirs = s
        .create_hosted_agent(&new(other, uo, 3, manual.clone()))
        .await
        .unwrap();
    assert_eq!(theirs.policy, manual);
    assert_eq!(s.running_hosted_agents().await.unwrap().len(), 2);

    // starting → active once; a refused one is discarded only while starting.
    s.activate_hosted_agent(first.id, T0 + 10).await.unwrap();
    let again = s.activate_hosted_agent(first.id, T0 + 11).await;
    assert!(matches!(again, Err(StoreError::NotFound)));
    assert!(matches!(
        s.discard_hosted_agent(first.id).await,
        Err(StoreError::NotFound)
    ));
    s.discard_hosted_agent(theirs.id).await.unwrap();
    assert!(s.latest_hosted_agent(other).await.unwrap().is_none());
    let got = s.latest_hosted_agent(a).await.unwrap().unwrap();
    assert_eq!(
        (got.status, got.started_ms),
        (HostedStatus::Active, Some(T0 + 10))
    );

    // Stopping applies whether it is starting or active now (a stop that read `starting`
    // before the worker activated it still stops it); stopping wipes the key.
    s.stop_hosted_agent(first.id, ua, T0 + 21).await.unwrap();
    let stopped = s.latest_hosted_agent(a).await.unwrap().unwrap();
    assert_eq!(stopped.status, HostedStatus::Stopped);
    assert_eq!(stopped.sealed_key, None);
    assert_eq!(
        (stopped.stopped_ms, stopped.stopped_by),
        (Some(T0 + 21), Some(ua))
    );
    assert!(s.running_hosted_agents().await.unwrap().is_empty());
    let twice = s.stop_hosted_agent(first.id, ua, T0 + 22).await;
    assert!(matches!(twice, Err(StoreError::NotFound)));
    // Once stopped, the supplier may host a new one; the newest is answered.
    let next = s
        .create_hosted_agent(&new(a, ua, 4, manual.clone()))
        .await
        .unwrap();
    assert_eq!(s.latest_hosted_agent(a).await.unwrap().unwrap().id, next.id);
    // One still starting stops as well.
    s.stop_hosted_agent(next.id, ua, T0 + 30).await.unwrap();
    let got = s.latest_hosted_agent(a).await.unwrap().unwrap();
    assert_eq!((got.status, got.sealed_key), (HostedStatus::Stopped, None));
    let next = s.create_hosted_agent(&new(a, ua, 5, manual)).await.unwrap();
    // The sealed key never shows in a record's Debug.
    assert!(!format!("{next:?}").contains(&"05".repeat(72)));
}
