//! Store conformance of the supplier tables (issue 16, onboarding; migration
//! `0007_suppliers`): a supplier registration stores its qualification credential with the
//! registration in one transaction, approval records the verification report in the same
//! transaction as the decision, the supplier DID is enrolled once and is unique, and the
//! supplier list joins organisations with their records. Runs on SQLite and PostgreSQL
//! (`SUANLI_TEST_DATABASE_URL`, as `conformance.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use suanli_platform_domain::{OrgKind, OrgStatus, Role};
use suanli_platform_store::*;

#[macro_use]
mod common;
use common::*;

conformance!(
    supplier_registration_approval_and_enrolment,
    supplier_claims_are_unique
);

const T0: i64 = 1_700_000_000_000;

fn new_org(kind: OrgKind, name: &str) -> NewOrg {
    NewOrg {
        kind,
        name: name.into(),
        status: OrgStatus::Pending,
        distributor: None,
        created_ms: T0,
    }
}

fn new_user(org: &OrgRecord, login: &str, role: Role) -> NewUser {
    NewUser {
        org: org.id,
        login: login.into(),
        display_name: login.into(),
        password_hash: "h".into(),
        roles: vec![role],
        created_ms: T0,
    }
}

fn qualification(tag: &str) -> NewQualification {
    NewQualification {
        credential_json: format!("{{\"id\":\"{tag}\"}}"),
        issuer: "did:suanli:test:issuer".into(),
        schema_id: "urn:suanli:test:cpt:1000:1".into(),
    }
}

async fn supplier_registration_approval_and_enrolment(b: &Backend) {
    let s = b.store();
    let op = s
        .create_org(&NewOrg {
            status: OrgStatus::Active,
            ..new_org(OrgKind::Operator, "Operator")
        })
        .await
        .expect("operator");
    let reviewer = s
        .create_user(&new_user(&op, "reviewer", Role::OperationsStaff))
        .await
        .expect("reviewer");
    let reg = NewRegistration {
        company_name: Some("GPU Park".into()),
        credit_code: Some("91350100M000100Y43".into()),
        licence_ref: Some("LIC-1".into()),
        legal_person: Some("Zhang San".into()),
        phone: Some("13800138000".into()),
        submitted_ms: T0,
        supplier: Some(qualification("q1")),
        ..NewRegistration::default()
    };
    let applied = s
        .register(
            &new_org(OrgKind::SupplierResource, "GPU Park"),
            &new_user(&op, "gpu", Role::SupplierAdmin),
            &reg,
            None,
        )
        .await
        .expect("register");
    assert_eq!(applied.kind, RegistrationKind::Supplier);
    let rec = s
        .get_supplier(applied.org)
        .await
        .expect("g")
        .expect("record");
    assert_eq!(rec.registration, Some(applied.id));
    assert_eq!(rec.qualification.as_deref(), Some("{\"id\":\"q1\"}"));
    assert_eq!(
        rec.qualification_issuer.as_deref(),
        Some("did:suanli:test:issuer")
    );
    assert_eq!(
        (rec.did.clone(), rec.qualification_report.clone()),
        (None, None)
    );

    // A failing supplier registration leaves nothing behind: no organisation, no record.
    let before = s.list_suppliers(None, 100).await.expect("l").len();
    let dup = s
        .register(
            &new_org(OrgKind::SupplierApi, "dup"),
            &new_user(&op, "gpu", Role::SupplierAdmin),
            &NewRegistration {
                supplier: Some(qualification("q2")),
                ..reg.clone()
            },
            None,
        )
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
    assert_eq!(s.list_suppliers(None, 100).await.expect("l").len(), before);

    // Approval records the verification report with the decision.
    let approved = s
        .decide_registration(&Decision {
            id: applied.id,
            approve: true,
            reviewer: reviewer.id,
            reason: None,
            at_ms: T0 + 5,
            qualification_report: Some("{\"ok\":true}".into()),
        })
        .await
        .expect("approve");
    assert_eq!(approved.status, RegistrationStatus::Approved);
    let rec = s
        .get_supplier(applied.org)
        .await
        .expect("g")
        .expect("record");
    assert_eq!(rec.qualification_report.as_deref(), Some("{\"ok\":true}"));
    assert_eq!(rec.qualification_verified_ms, Some(T0 + 5));

    // Enrolment: once; the DID is unique; only supplier organisations.
    let enrolment = SupplierEnrolment {
        org: applied.org,
        did: "did:suanli:test:gpu".into(),
        admin_user: applied.user,
        kyc_credential_ref: "urn:kyc:1".into(),
        kyc_credential: "{}".into(),
        at_ms: T0 + 6,
    };
    s.set_supplier_enrolment(&enrolment).await.expect("enrol");
    assert!(matches!(
        s.set_supplier_enrolment(&enrolment).await,
        Err(StoreError::NotFound)
    ));
    let rec = s
        .get_supplier(applied.org)
        .await
        .expect("g")
        .expect("record");
    assert_eq!(rec.did.as_deref(), Some("did:suanli:test:gpu"));
    assert_eq!(rec.admin_user, Some(applied.user));
    assert_eq!(rec.enrolled_ms, Some(T0 + 6));
    assert_eq!(rec.kyc_credential_ref.as_deref(), Some("urn:kyc:1"));

    // An operator-created supplier gets its record at enrolment; a customer never does.
    let made = s
        .create_org(&NewOrg {
            status: OrgStatus::Active,
            ..new_org(OrgKind::SupplierApi, "API Co")
        })
        .await
        .expect("org");
    let admin = s
        .create_user(&new_user(&made, "apico", Role::SupplierAdmin))
        .await
        .expect("admin");
    let customer = s
        .create_org(&new_org(OrgKind::Enterprise, "Buyer"))
        .await
        .expect("customer");
    assert!(s.get_supplier(made.id).await.expect("g").is_none());
    let same_did = SupplierEnrolment {
        org: made.id,
        admin_user: admin.id,
        ..enrolment.clone()
    };
    assert!(matches!(
        s.set_supplier_enrolment(&same_did).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        s.set_supplier_enrolment(&SupplierEnrolment {
            org: customer.id,
            did: "did:suanli:test:buyer".into(),
            ..same_did.clone()
        })
        .await,
        Err(StoreError::NotFound)
    ));
    s.set_supplier_enrolment(&SupplierEnrolment {
        did: "did:suanli:test:apico".into(),
        ..same_did
    })
    .await
    .expect("enrol operator-created");
    let list = s.list_suppliers(None, 100).await.expect("list");
    let orgs: Vec<_> = list.iter().map(|r| r.org.id).collect();
    assert_eq!(orgs, vec![applied.org, made.id], "suppliers only, in order");
    assert_eq!(
        list[1].supplier.as_ref().and_then(|r| r.did.as_deref()),
        Some("did:suanli:test:apico")
    );
    assert_eq!(list[1].supplier.as_ref().and_then(|r| r.registration), None);
    // An operator-created supplier's real-name data and qualification, recorded by the
    // operator (again replaces it) until it is enrolled; never on a registered supplier.
    let qual = s
        .create_org(&NewOrg {
            status: OrgStatus::Active,
            ..new_org(OrgKind::SupplierResource, "Qual Co")
        })
        .await
        .expect("org");
    let recorded = SupplierQualification {
        org: qual.id,
        company_name: "Qual Co".into(),
        credit_code: "91110000802100433B".into(),
        legal_person: "Wu".into(),
        phone: "13900139000".into(),
        qualification: qualification("q3"),
        report: "{}".into(),
        at_ms: T0 + 7,
    };
    s.set_supplier_qualification(&recorded)
        .await
        .expect("record");
    s.set_supplier_qualification(&SupplierQualification {
        phone: "13700137000".into(),
        ..recorded.clone()
    })
    .await
    .expect("replace");
    let rec = s.get_supplier(qual.id).await.expect("g").expect("record");
    assert_eq!(
        (
            rec.credit_code.as_deref(),
            rec.phone.as_deref(),
            rec.registration
        ),
        (Some("91110000802100433B"), Some("13700137000"), None)
    );
    assert_eq!(rec.qualification_verified_ms, Some(T0 + 7));
    assert!(matches!(
        s.set_supplier_qualification(&SupplierQualification {
            org: applied.org,
            ..recorded.clone()
        })
        .await,
        Err(StoreError::NotFound)
    ));
    assert!(
        matches!(
            s.set_supplier_qualification(&SupplierQualification {
                org: made.id,
                ..recorded.clone()
            })
            .await,
            Err(StoreError::NotFound)
        ),
        "already enrolled"
    );
    let page = s.list_suppliers(Some(applied.org), 1).await.expect("page");
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].org.id, made.id);
}

/// One supplier per credit code and per qualification credential (migration 0012) among
/// pending and approved registrations and operator-created suppliers; a rejected
/// registration releases both.
async fn supplier_claims_are_unique(b: &Backend) {
    let s = b.store();
    let op = s
        .create_org(&NewOrg {
            status: OrgStatus::Active,
            ..new_org(OrgKind::Operator, "Operator")
        })
        .await
        .expect("operator");
    let reviewer = s
        .create_user(&new_user(&op, "reviewer", Role::OperationsStaff))
        .await
        .expect("reviewer");
    let code = "91350100M000100Y43";
    let reg = |tag: &str, code: &str| NewRegistration {
        company_name: Some(format!("Co {tag}")),
        credit_code: Some(code.into()),
        submitted_ms: T0,
        supplier: Some(qualification(tag)),
        ..NewRegistration::default()
    };
    let apply = |name: &'static str, r: NewRegistration| {
        let op = op.clone();
        async move {
            s.register(
                &new_org(OrgKind::SupplierResource, name),
                &new_user(&op, name, Role::SupplierAdmin),
                &r,
                None,
            )
            .await
        }
    };
    let first = apply("first", reg("q1", code)).await.expect("first");
    let conflict = |r: &StoreResult<RegistrationRecord>, what: &str| match r {
        Err(StoreError::Conflict(m)) => assert!(m.contains(what), "{m}"),
        other => panic!("expected a conflict on {what}: {other:?}"),
    };
    conflict(&apply("second", reg("q2", code)).await, CLAIMED_CREDIT_CODE);
    conflict(
        &apply("third", reg("q1", "91110000802100433B")).await,
        QUALIFICATION_SHA256,
    );
    // The operator cannot record either claim for a supplier it created.
    let made = s
        .create_org(&NewOrg {
            status: OrgStatus::Active,
            ..new_org(OrgKind::SupplierApi, "Made")
        })
        .await
        .expect("org");
    let recorded = SupplierQualification {
        org: made.id,
        company_name: "Made".into(),
        credit_code: code.into(),
        legal_person: "Wu".into(),
        phone: "13900139000".into(),
        qualification: qualification("q9"),
        report: "{}".into(),
        at_ms: T0,
    };
    assert!(matches!(
        s.set_supplier_qualification(&recorded).await,
        Err(StoreError::Conflict(m)) if m.contains(CLAIMED_CREDIT_CODE)
    ));
    // Rejection releases the credit code and the credential.
    s.decide_registration(&Decision {
        id: first.id,
        approve: false,
        reviewer: reviewer.id,
        reason: Some("no".into()),
        at_ms: T0 + 1,
        qualification_report: None,
    })
    .await
    .expect("reject");
    let again = apply("again", reg("q1", code))
        .await
        .expect("after rejection");
    let same = s
        .supplier_registrations_with_credit_code(code, 10)
        .await
        .expect("same code");
    let ids: Vec<_> = same.iter().map(|r| r.id).collect();
    assert_eq!(ids, vec![first.id, again.id]);
    assert!(matches!(
        s.set_supplier_qualification(&recorded).await,
        Err(StoreError::Conflict(_))
    ));
}
