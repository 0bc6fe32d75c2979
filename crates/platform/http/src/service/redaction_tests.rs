//! Secrets never reach `Debug` output (logs, panics); the idempotency fingerprint of a
//! typed request does not depend on its field order.

#![allow(clippy::unwrap_used)]

use super::keys::KeyExport;
use super::me::TotpEnrolment;
use super::orders::{Idem, NewOrder};
use super::orgs::AdminDraft;
use super::registrations::{EnterpriseDraft, PersonalDraft};
use super::sessions::{Credentials, Session};
use super::supply_agent_keys::{DelegateRequest, RevokeRequest};
use super::supply_onboarding::SupplierDraft;
use super::users::UserDraft;
use suanli_platform_domain::pricing::ChargingMode;
use suanli_platform_domain::{OrgId, UserId};
use suanli_platform_store::UserRecord;

const SECRET: &str = "s3cret-VALUE-never-printed";

fn hides(debug: String) {
    assert!(!debug.contains(SECRET), "secret in Debug output: {debug}");
    assert!(debug.contains("<redacted>"), "{debug}");
}

#[test]
fn sessions_and_credentials_hide_their_secrets() {
    hides(format!(
        "{:?}",
        Credentials {
            login: "alice".into(),
            password: SECRET.into(),
            totp_code: Some(SECRET.into()),
            recovery_code: Some(SECRET.into()),
        }
    ));
    let user = UserRecord {
        id: UserId::new(1).unwrap(),
        org: OrgId::new(1).unwrap(),
        login: "alice".into(),
        display_name: "Alice".into(),
        password_hash: SECRET.into(),
        roles: Vec::new(),
        disabled: false,
        failed_logins: 0,
        locked_until_ms: None,
        totp_secret_enc: None,
        totp_enabled: false,
        created_ms: 0,
    };
    let session = Session {
        token: SECRET.into(),
        csrf_token: format!("{SECRET}-csrf"),
        ttl_secs: 60,
        expires_ms: 0,
        sessions_ended: 0,
        user,
    };
    let debug = format!("{session:?}");
    hides(debug.clone());
    assert!(debug.contains("alice"), "the rest stays visible: {debug}");
}

#[test]
fn key_exports_totp_and_drafts_hide_their_secrets() {
    hides(format!(
        "{:?}",
        KeyExport {
            did: Some("did:suanli:x".into()),
            public_key: "ab".into(),
            pkcs8_pem: zeroize::Zeroizing::new(SECRET.into()),
        }
    ));
    hides(format!(
        "{:?}",
        TotpEnrolment {
            secret_base32: SECRET.into(),
            otpauth_uri: format!("otpauth://totp/x?secret={SECRET}"),
        }
    ));
    hides(format!(
        "{:?}",
        AdminDraft {
            login: "a".into(),
            display_name: "A".into(),
            password: SECRET.into(),
        }
    ));
    hides(format!(
        "{:?}",
        UserDraft {
            login: "a".into(),
            display_name: "A".into(),
            password: SECRET.into(),
            roles: Vec::new(),
        }
    ));
    hides(format!(
        "{:?}",
        EnterpriseDraft {
            login: "a".into(),
            password: SECRET.into(),
            display_name: "A".into(),
            company_name: "C".into(),
            credit_code: "91".into(),
            licence_ref: "L".into(),
            legal_person: "P".into(),
            invite_code: Some(SECRET.into()),
        }
    ));
    hides(format!(
        "{:?}",
        PersonalDraft {
            login: "a".into(),
            password: SECRET.into(),
            name: "N".into(),
            id_number: SECRET.into(),
            phone: SECRET.into(),
            invite_code: None,
        }
    ));
}

#[test]
fn supply_requests_hide_their_passwords() {
    hides(format!(
        "{:?}",
        DelegateRequest {
            public_key: "ab".into(),
            proof: "cd".into(),
            fragment: "agent-1".into(),
            password: SECRET.into(),
        }
    ));
    hides(format!(
        "{:?}",
        RevokeRequest {
            public_key: "ab".into(),
            password: SECRET.into(),
        }
    ));
    hides(format!(
        "{:?}",
        SupplierDraft {
            login: "a".into(),
            password: SECRET.into(),
            display_name: "A".into(),
            supplier_type: "supplier_api".into(),
            company_name: "C".into(),
            credit_code: "91".into(),
            licence_ref: "L".into(),
            legal_person: "P".into(),
            phone: SECRET.into(),
            qualification: serde_json::json!({"secret": SECRET}),
        }
    ));
}

#[test]
fn the_fingerprint_of_a_typed_order_is_that_of_its_sorted_json_body() {
    for coupon in [None, Some("SPRING".to_owned())] {
        let req = NewOrder {
            spec_id: 7,
            mode: ChargingMode::Prepaid,
            months: 3,
            quantity: 2,
            coupon: coupon.clone(),
        };
        // The body the pages used to send: a json! object (sorted keys).
        let mut body =
            serde_json::json!({"spec_id": 7, "mode": "prepaid", "months": 3, "quantity": 2});
        if let Some(c) = &coupon {
            body["coupon"] = serde_json::json!(c);
        }
        let sorted = br#"{"mode":"prepaid","months":3,"quantity":2,"spec_id":7}"#.to_vec();
        let old = Idem::of(
            Some("k-1"),
            "/api/v1/orders",
            &serde_json::to_vec(&body).unwrap(),
        )
        .unwrap();
        let typed = Idem::of_request("k-1", "/api/v1/orders", &req).unwrap();
        assert_eq!(typed.digest, old.digest, "{coupon:?}");
        if coupon.is_none() {
            let literal = Idem::of(Some("k-1"), "/api/v1/orders", &sorted).unwrap();
            assert_eq!(typed.digest, literal.digest);
        }
    }
}
