//! The store conformance suite: every check runs against SQLite (a temporary file) and
//! PostgreSQL (a fresh database per test, created on the server named by
//! `SUANLI_TEST_DATABASE_URL` and dropped afterwards). Without that variable the PostgreSQL
//! half fails when `CI` is set and is skipped (with a message) otherwise.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use suanli_platform_domain::audit::{AuditEvent, ChainError, Outcome};
use suanli_platform_domain::{OrgId, OrgKind, OrgStatus, OrgVisibility, Permission, Role, UserId};
use suanli_platform_store::*;

enum Backend {
    Sqlite(SqliteStore, #[allow(dead_code)] tempfile::TempDir),
    Pg(PgStore, String, String),
}

impl Backend {
    fn store(&self) -> &dyn OpsStore {
        match self {
            Backend::Sqlite(s, _) => s,
            Backend::Pg(s, _, _) => s,
        }
    }

    async fn raw(&self, sql: &str) -> StoreResult<()> {
        match self {
            Backend::Sqlite(s, _) => s.execute_raw(sql).await,
            Backend::Pg(s, _, _) => s.execute_raw(sql).await,
        }
    }

    /// A second handle on the same database (fresh pool), to check reopening.
    async fn reopen(&self) -> Arc<dyn OpsStore> {
        match self {
            Backend::Sqlite(_, dir) => Arc::new(
                SqliteStore::open(&dir.path().join("ops.db"))
                    .await
                    .expect("reopen sqlite"),
            ),
            Backend::Pg(_, _, url) => {
                Arc::new(PgStore::connect(url).await.expect("reconnect postgres"))
            }
        }
    }

    async fn cleanup(self) {
        if let Backend::Pg(store, admin_url, db_url) = self {
            store.close().await;
            let name = db_url.rsplit('/').next().unwrap_or_default().to_owned();
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&admin_url)
                .await
                .expect("admin connection");
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut conn)
                .await
                .expect("drop test database");
        }
    }
}

async fn sqlite() -> Backend {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("ops.db"))
        .await
        .expect("open sqlite");
    Backend::Sqlite(store, dir)
}

async fn postgres() -> Option<Backend> {
    let Ok(admin_url) = std::env::var("SUANLI_TEST_DATABASE_URL") else {
        if std::env::var_os("CI").is_some() {
            panic!(
                "SUANLI_TEST_DATABASE_URL is not set but CI is: the PostgreSQL conformance run \
                 must not be skipped in CI (scripts/test.sh sets it)"
            );
        }
        eprintln!("SKIPPED: SUANLI_TEST_DATABASE_URL not set; PostgreSQL conformance not run");
        return None;
    };
    let mut rnd = [0u8; 8];
    getrandom::fill(&mut rnd).expect("random");
    let name = format!("suanli_test_{}", hex::encode(rnd));
    {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&admin_url)
            .await
            .expect("connect to SUANLI_TEST_DATABASE_URL");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("create test database");
    }
    let (base, _query) = admin_url.split_once('?').unwrap_or((&admin_url, ""));
    let cut = base.rfind('/').expect("database url has a path");
    let db_url = format!("{}/{name}", &base[..cut]);
    let store = PgStore::connect(&db_url)
        .await
        .expect("connect test database");
    Some(Backend::Pg(store, admin_url, db_url))
}

macro_rules! conformance {
    ($($check:ident),* $(,)?) => {
        mod sqlite_backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    let b = super::sqlite().await;
                    super::$check(&b).await;
                    b.cleanup().await;
                }
            )*
        }
        mod postgres_backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    let Some(b) = super::postgres().await else { return };
                    super::$check(&b).await;
                    b.cleanup().await;
                }
            )*
        }
    };
}

conformance!(
    migrations_are_idempotent,
    orgs_and_visibility,
    users_roles_and_unique_logins,
    passwords_and_history,
    login_failures_and_lock,
    totp_steps_and_recovery_codes,
    sessions_and_concurrency_limit,
    api_tokens,
    registrations_and_review,
    user_keys_are_stored_encrypted_rewrapped_never_replaced,
    audit_chain_appends_concurrently_and_detects_tampering,
    audit_log_refuses_update_and_delete,
    audit_queries_filter,
    settings,
);

const T0: i64 = 1_700_000_000_000;

async fn org(s: &dyn OpsStore, kind: OrgKind, name: &str, dist: Option<OrgId>) -> OrgRecord {
    s.create_org(&NewOrg {
        kind,
        name: name.into(),
        status: OrgStatus::Active,
        distributor: dist,
        created_ms: T0,
    })
    .await
    .expect("create org")
}

async fn user(s: &dyn OpsStore, org: OrgId, login: &str, roles: &[Role]) -> UserRecord {
    s.create_user(&NewUser {
        org,
        login: login.into(),
        display_name: login.to_uppercase(),
        password_hash: format!("hash-of-{login}"),
        roles: roles.to_vec(),
        created_ms: T0,
    })
    .await
    .expect("create user")
}

fn ev(i: i64) -> AuditEvent {
    AuditEvent {
        at_ms: T0 + i,
        actor_user: Some(i),
        actor_org: Some(1),
        action: "POST /api/v1/things".into(),
        target: format!("/api/v1/things/{i}"),
        ip: "127.0.0.1".into(),
        user_agent: "conformance".into(),
        outcome: Outcome::Success,
        status: 200,
    }
}

async fn migrations_are_idempotent(b: &Backend) {
    let s = b.store();
    org(s, OrgKind::Operator, "op", None).await;
    let again = b.reopen().await;
    assert!(again.any_org().await.expect("any_org"));
    assert_eq!(again.backend(), s.backend());
}

async fn orgs_and_visibility(b: &Backend) {
    let s = b.store();
    assert!(!s.any_org().await.expect("any"));
    let op = org(s, OrgKind::Operator, "operator", None).await;
    let dist = org(s, OrgKind::Distributor, "dist", None).await;
    let referred = org(s, OrgKind::Enterprise, "referred", Some(dist.id)).await;
    let plain = org(s, OrgKind::Personal, "plain", None).await;
    let sold = org(s, OrgKind::Enterprise, "sold", None).await;
    let sales = user(s, op.id, "sally", &[Role::Sales]).await;
    s.set_org_sales_owner(sold.id, Some(sales.id))
        .await
        .expect("assign");

    assert_eq!(
        s.get_org(referred.id).await.expect("get"),
        Some(referred.clone())
    );
    assert_eq!(
        s.get_org(OrgId::new(9999).expect("id")).await.expect("get"),
        None
    );

    let ids = |v: Vec<OrgRecord>| v.into_iter().map(|o| o.id).collect::<Vec<_>>();
    let all = s
        .list_orgs(OrgVisibility::All, None, 100)
        .await
        .expect("list");
    assert_eq!(
        ids(all),
        vec![op.id, dist.id, referred.id, plain.id, sold.id]
    );
    let d = OrgVisibility::Scoped {
        own: dist.id,
        referred_by: Some(dist.id),
        sales_owner: None,
    };
    assert_eq!(
        ids(s.list_orgs(d, None, 100).await.expect("list")),
        vec![dist.id, referred.id]
    );
    let sv = OrgVisibility::Scoped {
        own: op.id,
        referred_by: None,
        sales_owner: Some(sales.id),
    };
    assert_eq!(
        ids(s.list_orgs(sv, None, 100).await.expect("list")),
        vec![op.id, sold.id]
    );
    let own = OrgVisibility::Scoped {
        own: plain.id,
        referred_by: None,
        sales_owner: None,
    };
    assert_eq!(
        ids(s.list_orgs(own, None, 100).await.expect("list")),
        vec![plain.id]
    );
    assert!(
        s.list_orgs(OrgVisibility::Nothing, None, 100)
            .await
            .expect("list")
            .is_empty()
    );

    // Keyset pagination.
    let p1 = s
        .list_orgs(OrgVisibility::All, None, 2)
        .await
        .expect("page");
    let p2 = s
        .list_orgs(OrgVisibility::All, p1.last().map(|o| o.id), 2)
        .await
        .expect("page");
    assert_eq!(ids(p1), vec![op.id, dist.id]);
    assert_eq!(ids(p2), vec![referred.id, plain.id]);

    s.rename_org(plain.id, "renamed").await.expect("rename");
    s.set_org_status(plain.id, OrgStatus::Suspended)
        .await
        .expect("status");
    let p = s.get_org(plain.id).await.expect("get").expect("exists");
    assert_eq!(
        (p.name.as_str(), p.status),
        ("renamed", OrgStatus::Suspended)
    );
    assert!(matches!(
        s.rename_org(OrgId::new(9999).expect("id"), "x").await,
        Err(StoreError::NotFound)
    ));
}

async fn users_roles_and_unique_logins(b: &Backend) {
    let s = b.store();
    let a = org(s, OrgKind::Enterprise, "a", None).await;
    let c = org(s, OrgKind::Enterprise, "c", None).await;
    let admin = user(
        s,
        a.id,
        "alice",
        &[Role::CustomerSubUser, Role::CustomerAdmin],
    )
    .await;
    assert_eq!(
        admin.roles,
        vec![Role::CustomerAdmin, Role::CustomerSubUser]
    );
    let dup = s
        .create_user(&NewUser {
            org: c.id,
            login: "alice".into(),
            display_name: "x".into(),
            password_hash: "h".into(),
            roles: vec![],
            created_ms: T0,
        })
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
    let bob = user(s, c.id, "bob", &[Role::CustomerAdmin]).await;
    assert_eq!(
        s.get_user_by_login("bob").await.expect("get").map(|u| u.id),
        Some(bob.id)
    );
    assert_eq!(s.get_user_by_login("nobody").await.expect("get"), None);

    s.set_user_roles(bob.id, &[Role::CustomerSubUser])
        .await
        .expect("roles");
    assert_eq!(
        s.get_user(bob.id).await.expect("get").expect("u").roles,
        vec![Role::CustomerSubUser]
    );

    let only_a = OrgVisibility::Scoped {
        own: a.id,
        referred_by: None,
        sales_owner: None,
    };
    let listed = s.list_users(only_a, None, None, 50).await.expect("list");
    assert_eq!(
        listed.iter().map(|u| u.id).collect::<Vec<_>>(),
        vec![admin.id]
    );
    let by_org = s
        .list_users(OrgVisibility::All, Some(c.id), None, 50)
        .await
        .expect("list");
    assert_eq!(
        by_org.iter().map(|u| u.id).collect::<Vec<_>>(),
        vec![bob.id]
    );
    // An org filter outside the visibility yields nothing.
    assert!(
        s.list_users(only_a, Some(c.id), None, 50)
            .await
            .expect("list")
            .is_empty()
    );

    s.set_user_disabled(bob.id, true).await.expect("disable");
    assert!(s.get_user(bob.id).await.expect("get").expect("u").disabled);
}

async fn passwords_and_history(b: &Backend) {
    let s = b.store();
    let o = org(s, OrgKind::Personal, "p", None).await;
    let u = user(s, o.id, "pat", &[Role::CustomerAdmin]).await;
    s.create_session(&SessionRecord {
        token_hash: "sess1".into(),
        user: u.id,
        csrf_token: "c".into(),
        created_ms: T0,
        expires_ms: T0 + 1000,
    })
    .await
    .expect("session");
    s.set_password(u.id, "h2", T0 + 1, None).await.expect("pw");
    s.set_password(u.id, "h3", T0 + 2, None).await.expect("pw");
    assert_eq!(
        s.get_user(u.id).await.expect("g").expect("u").password_hash,
        "h3"
    );
    assert_eq!(
        s.password_history(u.id, 2).await.expect("hist"),
        vec!["h3".to_owned(), "h2".to_owned()]
    );
    assert_eq!(s.password_history(u.id, 10).await.expect("hist").len(), 3);
    assert_eq!(
        s.get_session("sess1").await.expect("get"),
        None,
        "password change ends sessions"
    );
}

async fn login_failures_and_lock(b: &Backend) {
    let s = b.store();
    let o = org(s, OrgKind::Personal, "p", None).await;
    let u = user(s, o.id, "lou", &[Role::CustomerAdmin]).await;
    assert_eq!(s.add_failed_login(u.id).await.expect("f"), 1);
    assert_eq!(s.add_failed_login(u.id).await.expect("f"), 2);
    s.lock_user(u.id, T0 + 60_000).await.expect("lock");
    let got = s.get_user(u.id).await.expect("g").expect("u");
    assert_eq!(
        (got.failed_logins, got.locked_until_ms),
        (2, Some(T0 + 60_000))
    );
    s.clear_failed_logins(u.id).await.expect("clear");
    let got = s.get_user(u.id).await.expect("g").expect("u");
    assert_eq!((got.failed_logins, got.locked_until_ms), (0, None));
    assert!(matches!(
        s.add_failed_login(UserId::new(9999).expect("id")).await,
        Err(StoreError::NotFound)
    ));
}

async fn totp_steps_and_recovery_codes(b: &Backend) {
    let s = b.store();
    let o = org(s, OrgKind::Personal, "p", None).await;
    let u = user(s, o.id, "tom", &[Role::CustomerAdmin]).await;
    s.set_totp(u.id, Some(&[1, 2, 3]), true)
        .await
        .expect("totp");
    let got = s.get_user(u.id).await.expect("g").expect("u");
    assert_eq!(
        (got.totp_secret_enc, got.totp_enabled),
        (Some(vec![1, 2, 3]), true)
    );
    assert!(s.use_totp_step(u.id, 100).await.expect("step"));
    assert!(
        !s.use_totp_step(u.id, 100).await.expect("step"),
        "replay refused"
    );
    assert!(
        !s.use_totp_step(u.id, 99).await.expect("step"),
        "older step refused"
    );
    assert!(s.use_totp_step(u.id, 101).await.expect("step"));

    s.replace_recovery_codes(u.id, &["r1".into(), "r2".into()])
        .await
        .expect("codes");
    assert!(s.use_recovery_code(u.id, "r1", T0).await.expect("use"));
    assert!(
        !s.use_recovery_code(u.id, "r1", T0).await.expect("use"),
        "single use"
    );
    assert!(!s.use_recovery_code(u.id, "nope", T0).await.expect("use"));
    s.replace_recovery_codes(u.id, &["r3".into()])
        .await
        .expect("codes");
    assert!(
        !s.use_recovery_code(u.id, "r2", T0).await.expect("use"),
        "old codes replaced"
    );
    assert!(s.use_recovery_code(u.id, "r3", T0).await.expect("use"));
}

async fn sessions_and_concurrency_limit(b: &Backend) {
    let s = b.store();
    let o = org(s, OrgKind::Personal, "p", None).await;
    let u = user(s, o.id, "sam", &[Role::CustomerAdmin]).await;
    for i in 0..4 {
        s.create_session(&SessionRecord {
            token_hash: format!("s{i}"),
            user: u.id,
            csrf_token: format!("c{i}"),
            created_ms: T0 + i,
            expires_ms: T0 + 10_000,
        })
        .await
        .expect("session");
    }
    assert_eq!(s.trim_sessions(u.id, 2, T0, "s3").await.expect("trim"), 2);
    assert_eq!(s.get_session("s0").await.expect("g"), None);
    assert_eq!(s.get_session("s1").await.expect("g"), None);
    assert_eq!(
        s.get_session("s3").await.expect("g").map(|x| x.csrf_token),
        Some("c3".into())
    );
    // The protected session survives even when others share its timestamp.
    for (round, protect) in [(0, 0), (1, 1), (2, 2)] {
        let name = |i: i32| format!("r{round}-{i}");
        for i in 0..3 {
            s.create_session(&SessionRecord {
                token_hash: name(i),
                user: u.id,
                csrf_token: "c".into(),
                created_ms: T0 + 100,
                expires_ms: T0 + 10_000,
            })
            .await
            .expect("session");
        }
        s.trim_sessions(u.id, 1, T0, &name(protect))
            .await
            .expect("trim");
        for i in 0..3 {
            let alive = s.get_session(&name(i)).await.expect("g").is_some();
            assert_eq!(alive, i == protect, "round {round}: session {i}");
        }
    }
    assert_eq!(
        s.get_session("s3").await.expect("g"),
        None,
        "older one ended too"
    );
    assert!(s.get_session("r2-2").await.expect("g").is_some());
    // Expired sessions are dropped (and not counted as ended by the limit).
    assert_eq!(
        s.trim_sessions(u.id, 5, T0 + 20_000, "")
            .await
            .expect("trim"),
        0
    );
    assert_eq!(s.get_session("r2-2").await.expect("g"), None);
}

async fn api_tokens(b: &Backend) {
    let s = b.store();
    let o = org(s, OrgKind::Personal, "p", None).await;
    let u = user(s, o.id, "tia", &[Role::CustomerAdmin]).await;
    let v = user(s, o.id, "vic", &[Role::CustomerSubUser]).await;
    let t = s
        .create_token(&NewToken {
            user: u.id,
            name: "ci".into(),
            token_hash: "th".into(),
            scopes: vec![Permission::OrgRead, Permission::UserRead],
            created_ms: T0,
            expires_ms: T0 + 1000,
        })
        .await
        .expect("token");
    assert_eq!(s.get_token_by_hash("th").await.expect("g"), Some(t.clone()));
    // The one-round-trip lookup of authentication agrees with the three lookups.
    let p = s.token_principal("th").await.expect("p").expect("known");
    assert_eq!(p.token, t);
    assert_eq!(Some(p.user), s.get_user(u.id).await.expect("u"));
    assert_eq!(Some(p.org), s.get_org(o.id).await.expect("o"));
    assert_eq!(s.token_principal("nope").await.expect("p"), None);
    // Several roles come back once each; a user without roles has none.
    let w = user(
        s,
        o.id,
        "wes",
        &[Role::CustomerSubUser, Role::CustomerAdmin],
    )
    .await;
    let nobody = user(s, o.id, "nod", &[]).await;
    for (who, hash) in [(&w, "tw"), (&nobody, "tn")] {
        s.create_token(&NewToken {
            user: who.id,
            name: "x".into(),
            token_hash: hash.into(),
            scopes: vec![Permission::OrgRead],
            created_ms: T0,
            expires_ms: T0 + 1000,
        })
        .await
        .expect("token");
        let p = s.token_principal(hash).await.expect("p").expect("known");
        assert_eq!(Some(&p.user), s.get_user(who.id).await.expect("u").as_ref());
    }
    assert_eq!(s.list_tokens(u.id).await.expect("l"), vec![t.clone()]);
    assert!(s.list_tokens(v.id).await.expect("l").is_empty());
    assert!(
        !s.revoke_token(v.id, t.id).await.expect("r"),
        "someone else's token"
    );
    assert!(s.revoke_token(u.id, t.id).await.expect("r"));
    assert!(
        s.get_token_by_hash("th")
            .await
            .expect("g")
            .expect("t")
            .revoked
    );
}

async fn registrations_and_review(b: &Backend) {
    let s = b.store();
    let op = org(s, OrgKind::Operator, "op", None).await;
    let reviewer = user(s, op.id, "rita", &[Role::OperationsStaff]).await;
    let dist = org(s, OrgKind::Distributor, "d", None).await;
    s.create_invite("INV123", dist.id, T0)
        .await
        .expect("invite");
    assert!(matches!(
        s.create_invite("INV123", dist.id, T0).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(s.get_invite("INV123").await.expect("g"), Some(dist.id));
    assert_eq!(s.get_invite("nope").await.expect("g"), None);

    let new_org = |kind, name: &str| NewOrg {
        kind,
        name: name.into(),
        status: OrgStatus::Pending,
        distributor: Some(dist.id),
        created_ms: T0,
    };
    let new_user = |login: &str| NewUser {
        org: op.id, // ignored: register() uses the new organisation
        login: login.into(),
        display_name: login.into(),
        password_hash: "h".into(),
        roles: vec![Role::CustomerAdmin],
        created_ms: T0,
    };
    let ent = s
        .register(
            &new_org(OrgKind::Enterprise, "ACME"),
            &new_user("acme"),
            &NewRegistration {
                company_name: Some("ACME".into()),
                credit_code: Some("91350100M000100Y43".into()),
                licence_ref: Some("LIC-1".into()),
                legal_person: Some("Zhang San".into()),
                invite_code: Some("INV123".into()),
                submitted_ms: T0,
                ..NewRegistration::default()
            },
            None,
        )
        .await
        .expect("register");
    assert_eq!(ent.status, RegistrationStatus::Pending);
    assert_eq!(ent.kyc_credential_ref, None);
    let eorg = s.get_org(ent.org).await.expect("g").expect("org");
    assert_eq!(
        (eorg.status, eorg.distributor),
        (OrgStatus::Pending, Some(dist.id))
    );
    assert_eq!(
        s.get_user(ent.user).await.expect("g").expect("u").org,
        ent.org
    );

    let per = s
        .register(
            &new_org(OrgKind::Personal, "Li Si"),
            &new_user("lisi"),
            &NewRegistration {
                person_name: Some("Li Si".into()),
                id_number_enc: Some(vec![9, 9, 9]),
                id_number_masked: Some("110***********002X".into()),
                phone: Some("13800138000".into()),
                submitted_ms: T0,
                ..NewRegistration::default()
            },
            None,
        )
        .await
        .expect("register");
    assert_eq!(per.id_number_enc, Some(vec![9, 9, 9]));

    // A failing registration leaves nothing behind (login taken → whole transaction undone).
    let before = s
        .list_orgs(OrgVisibility::All, None, 100)
        .await
        .expect("l")
        .len();
    let dup = s
        .register(
            &new_org(OrgKind::Personal, "dup"),
            &new_user("lisi"),
            &NewRegistration::default(),
            None,
        )
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))));
    assert_eq!(
        s.list_orgs(OrgVisibility::All, None, 100)
            .await
            .expect("l")
            .len(),
        before
    );

    let pending = s
        .list_registrations(Some(RegistrationStatus::Pending), None, 50)
        .await
        .expect("list");
    assert_eq!(
        pending.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![ent.id, per.id]
    );

    let approved = s
        .decide_registration(&Decision {
            id: ent.id,
            approve: true,
            reviewer: reviewer.id,
            reason: None,
            at_ms: T0 + 5,
            qualification_report: None,
        })
        .await
        .expect("approve");
    assert_eq!(approved.status, RegistrationStatus::Approved);
    assert_eq!(approved.reviewed_by, Some(reviewer.id));
    assert_eq!(
        s.get_org(ent.org).await.expect("g").expect("o").status,
        OrgStatus::Active
    );
    let again = s
        .decide_registration(&Decision {
            id: ent.id,
            approve: false,
            reviewer: reviewer.id,
            reason: Some("no".into()),
            at_ms: T0 + 6,
            qualification_report: None,
        })
        .await;
    assert!(
        matches!(again, Err(StoreError::NotFound)),
        "decided only once"
    );
    // The KYC credential of an approved registration, recorded once.
    assert!(
        matches!(
            s.set_kyc_credential(per.id, "urn:x", "{}").await,
            Err(StoreError::NotFound)
        ),
        "not approved"
    );
    assert_eq!(s.kyc_credential_of(ent.user).await.expect("k"), None);
    s.set_kyc_credential(ent.id, "urn:suanli:kyc:1", "{\"id\":\"urn:suanli:kyc:1\"}")
        .await
        .expect("kyc");
    assert!(
        matches!(
            s.set_kyc_credential(ent.id, "urn:suanli:kyc:2", "{}").await,
            Err(StoreError::NotFound)
        ),
        "once"
    );
    assert_eq!(
        s.kyc_credential_of(ent.user).await.expect("k").as_deref(),
        Some("{\"id\":\"urn:suanli:kyc:1\"}")
    );
    assert_eq!(
        s.get_registration(ent.id)
            .await
            .expect("g")
            .expect("r")
            .kyc_credential_ref
            .as_deref(),
        Some("urn:suanli:kyc:1")
    );
    let rejected = s
        .decide_registration(&Decision {
            id: per.id,
            approve: false,
            reviewer: reviewer.id,
            reason: Some("blurred ID photo".into()),
            at_ms: T0 + 7,
            qualification_report: None,
        })
        .await
        .expect("reject");
    assert_eq!(rejected.reason.as_deref(), Some("blurred ID photo"));
    assert_eq!(
        s.get_org(per.org).await.expect("g").expect("o").status,
        OrgStatus::Rejected
    );
    assert!(
        s.list_registrations(Some(RegistrationStatus::Pending), None, 50)
            .await
            .expect("list")
            .is_empty()
    );
    assert_eq!(
        s.list_registrations(None, None, 50)
            .await
            .expect("list")
            .len(),
        2
    );
}

fn sealed(tag: u8) -> SealedKey {
    SealedKey {
        ciphertext: vec![tag; 135],
        nonce: vec![tag; 24],
        kdf_salt: vec![tag; 16],
        kdf: "argon2id-v19".into(),
        kdf_memory_kib: 65_536,
        kdf_iterations: 3,
        kdf_parallelism: 4,
    }
}

fn new_key(did: &str, public: &str, tag: u8, tx: Option<(&str, &str)>) -> NewUserKey {
    NewUserKey {
        did: Some(did.into()),
        public_key: public.into(),
        sealed: sealed(tag),
        at_ms: T0 + i64::from(tag),
        did_tx: tx.map(|(r, h)| (r.into(), h.into())),
    }
}

async fn user_keys_are_stored_encrypted_rewrapped_never_replaced(b: &Backend) {
    let s = b.store();
    let op = org(s, OrgKind::Operator, "operator", None).await;
    let plain = user(s, op.id, "plain", &[Role::OperatorAdmin]).await;
    assert_eq!(s.get_user_key(plain.id).await.expect("g"), None);
    let pk = "aa".repeat(32);

    // At registration: in the same transaction as the user.
    let reg = s
        .register(
            &NewOrg {
                kind: OrgKind::Personal,
                name: "Wang Wu".into(),
                status: OrgStatus::Pending,
                distributor: None,
                created_ms: T0,
            },
            &NewUser {
                org: op.id,
                login: "wangwu".into(),
                display_name: "Wang Wu".into(),
                password_hash: "h".into(),
                roles: vec![Role::CustomerAdmin],
                created_ms: T0,
            },
            &NewRegistration {
                submitted_ms: T0,
                ..NewRegistration::default()
            },
            Some(&new_key("did:suanli:t:A", &pk, 1, Some(("tx1", "0102")))),
        )
        .await
        .expect("register");
    let k = s.get_user_key(reg.user).await.expect("g").expect("key");
    assert_eq!(k.user, reg.user);
    assert_eq!(k.did.as_deref(), Some("did:suanli:t:A"));
    assert_eq!(k.public_key, pk);
    assert_eq!(k.sealed, sealed(1));
    assert_eq!((k.created_ms, k.rewrapped_ms), (T0 + 1, None));
    assert_eq!(k.did_tx, Some(("tx1".into(), "0102".into())));
    assert_eq!(k.did_created_ms, None);

    // The DID outbox: pending until applied.
    let pending = s.dids_pending(10).await.expect("p");
    assert_eq!(
        pending.iter().map(|k| k.user).collect::<Vec<_>>(),
        vec![reg.user]
    );
    s.set_did_created(reg.user, T0 + 9).await.expect("created");
    assert!(s.dids_pending(10).await.expect("p").is_empty());
    assert!(matches!(
        s.set_did_created(plain.id, T0).await,
        Err(StoreError::NotFound)
    ));

    // A password change re-encrypts the same key in the password's transaction.
    s.set_password(
        reg.user,
        "h2",
        T0 + 20,
        Some(&new_key("did:suanli:t:A", &pk, 2, None)),
    )
    .await
    .expect("rewrap");
    let k2 = s.get_user_key(reg.user).await.expect("g").expect("key");
    assert_eq!(k2.sealed, sealed(2));
    assert_eq!((k2.created_ms, k2.rewrapped_ms), (T0 + 1, Some(T0 + 2)));
    assert_eq!(
        (k2.did_tx, k2.did_created_ms),
        (Some(("tx1".into(), "0102".into())), Some(T0 + 9)),
        "re-encryption keeps the DID record"
    );
    assert_eq!(
        s.get_user(reg.user)
            .await
            .expect("g")
            .expect("u")
            .password_hash,
        "h2"
    );

    // Another public key is refused, and the password change with it is undone.
    let other = s
        .set_password(
            reg.user,
            "h3",
            T0 + 30,
            Some(&new_key("did:suanli:t:B", &"bb".repeat(32), 3, None)),
        )
        .await;
    assert!(matches!(other, Err(StoreError::Rejected(_))), "{other:?}");
    assert_eq!(
        s.get_user(reg.user)
            .await
            .expect("g")
            .expect("u")
            .password_hash,
        "h2"
    );
    assert_eq!(
        s.get_user_key(reg.user)
            .await
            .expect("g")
            .expect("key")
            .sealed,
        sealed(2)
    );

    // A user without a key gets its first one with a password change; a public key or
    // DID serves one user only.
    let dup = s
        .set_password(
            plain.id,
            "p2",
            T0 + 40,
            Some(&new_key("did:suanli:t:C", &pk, 4, None)),
        )
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
    s.set_password(
        plain.id,
        "p2",
        T0 + 40,
        Some(&new_key(
            "did:suanli:t:C",
            &"cc".repeat(32),
            4,
            Some(("tx2", "03")),
        )),
    )
    .await
    .expect("first key");
    let kp = s.get_user_key(plain.id).await.expect("g").expect("key");
    assert_eq!(
        (kp.public_key.as_str(), kp.rewrapped_ms),
        ("cc".repeat(32).as_str(), None)
    );
    assert_eq!(s.dids_pending(10).await.expect("p").len(), 1);
    // Debug output never shows the ciphertext bytes.
    assert!(!format!("{kp:?}").contains("[4, 4"));
}

async fn audit_chain_appends_concurrently_and_detects_tampering(b: &Backend) {
    let s = b.store();
    assert_eq!(s.audit_head().await.expect("head"), None);
    assert_eq!(verify_audit(s).await.expect("verify"), Ok((0, [0; 32])));
    // Concurrent appends through two handles on the same database never fork the chain.
    let other = b.reopen().await;
    let mut tasks = Vec::new();
    for i in 0..10 {
        let o = other.clone();
        tasks.push(tokio::spawn(async move {
            o.append_audit(&ev(i)).await.map(|r| r.seq)
        }));
    }
    for i in 10..20 {
        s.append_audit(&ev(i)).await.expect("append");
    }
    for t in tasks {
        t.await.expect("join").expect("append");
    }
    let (n, head) = verify_audit(s).await.expect("verify").expect("valid chain");
    assert_eq!(n, 20);
    assert_eq!(s.audit_head().await.expect("head"), Some((20, head)));
    let page = s.list_audit(5, 3).await.expect("list");
    assert_eq!(
        page.iter().map(|r| r.seq).collect::<Vec<_>>(),
        vec![6, 7, 8]
    );

    // An attacker with database access drops the guard and edits record 7.
    let drop_guard = match b {
        Backend::Sqlite(..) => "DROP TRIGGER audit_log_no_update",
        Backend::Pg(..) => "DROP TRIGGER audit_log_no_change ON audit_log",
    };
    b.raw(drop_guard).await.expect("drop trigger");
    b.raw("UPDATE audit_log SET outcome = 'denied' WHERE seq = 7")
        .await
        .expect("tamper");
    assert_eq!(
        verify_audit(s).await.expect("verify"),
        Err(ChainError::Tampered { seq: 7 })
    );
}

async fn audit_log_refuses_update_and_delete(b: &Backend) {
    let s = b.store();
    s.append_audit(&ev(1)).await.expect("append");
    assert!(
        b.raw("UPDATE audit_log SET target = 'x' WHERE seq = 1")
            .await
            .is_err()
    );
    assert!(b.raw("DELETE FROM audit_log WHERE seq = 1").await.is_err());
    assert_eq!(verify_audit(s).await.expect("verify").map(|x| x.0), Ok(1));
}

async fn audit_queries_filter(b: &Backend) {
    let s = b.store();
    for i in 0..6 {
        let mut e = ev(i);
        e.actor_org = Some(10 + i % 2);
        e.actor_user = if i == 5 { None } else { Some(100 + i) };
        e.outcome = if i % 3 == 0 {
            Outcome::Denied
        } else {
            Outcome::Success
        };
        s.append_audit(&e).await.expect("append");
    }
    let seqs = |v: Vec<suanli_platform_domain::audit::AuditRecord>| {
        v.into_iter().map(|r| r.seq).collect::<Vec<_>>()
    };
    let all = AuditFilter::default();
    assert_eq!(
        seqs(s.query_audit(&all, 0, 50).await.expect("q")),
        vec![1, 2, 3, 4, 5, 6]
    );
    assert_eq!(
        seqs(s.query_audit(&all, 4, 50).await.expect("q")),
        vec![5, 6]
    );
    let org11 = AuditFilter {
        actor_org: Some(11),
        ..all.clone()
    };
    assert_eq!(
        seqs(s.query_audit(&org11, 0, 50).await.expect("q")),
        vec![2, 4, 6]
    );
    let user = AuditFilter {
        actor_user: Some(102),
        ..all.clone()
    };
    assert_eq!(seqs(s.query_audit(&user, 0, 50).await.expect("q")), vec![3]);
    let denied = AuditFilter {
        outcome: Some(Outcome::Denied),
        ..all.clone()
    };
    assert_eq!(
        seqs(s.query_audit(&denied, 0, 50).await.expect("q")),
        vec![1, 4]
    );
    let window = AuditFilter {
        from_ms: Some(T0 + 1),
        to_ms: Some(T0 + 3),
        ..all.clone()
    };
    assert_eq!(
        seqs(s.query_audit(&window, 0, 50).await.expect("q")),
        vec![2, 3]
    );
    assert_eq!(
        seqs(s.query_audit(&all, 0, 2).await.expect("q")),
        vec![1, 2]
    );
}

async fn settings(b: &Backend) {
    let s = b.store();
    assert_eq!(s.get_setting("security").await.expect("g"), None);
    s.put_setting("security", "{\"a\":1}").await.expect("put");
    s.put_setting("security", "{\"a\":2}").await.expect("put");
    assert_eq!(
        s.get_setting("security").await.expect("g").as_deref(),
        Some("{\"a\":2}")
    );
}
