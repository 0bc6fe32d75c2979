//! The same API on PostgreSQL (`--database-url`): a fresh database per run on the server
//! named by `SUANLI_TEST_DATABASE_URL`. Without it this fails when `CI` is set and is
//! skipped (with a message) otherwise.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;
use sqlx::Connection;

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn platform_runs_on_postgres() {
    let Ok(admin_url) = std::env::var("SUANLI_TEST_DATABASE_URL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "SUANLI_TEST_DATABASE_URL is not set but CI is: the PostgreSQL run must not be skipped"
        );
        eprintln!("SKIPPED: SUANLI_TEST_DATABASE_URL not set; platform-on-PostgreSQL test not run");
        return;
    };
    let mut rnd = [0u8; 8];
    getrandom::fill(&mut rnd).unwrap();
    let name = format!("suanli_test_srv_{}", hex::encode(rnd));
    block_on(async {
        let mut c = sqlx::PgConnection::connect(&admin_url).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut c)
            .await
            .unwrap();
    });
    let base = admin_url
        .split_once('?')
        .map_or(admin_url.as_str(), |(b, _)| b);
    let db_url = format!("{}/{name}", &base[..base.rfind('/').unwrap()]);
    {
        let url = db_url.clone();
        let srv = TestServer::start_with(move |c| {
            c.database_url = Some(suanli_platform_http::config::Secret::new(url));
        });
        assert!(
            !srv.db_path().exists(),
            "no SQLite file when PostgreSQL is configured"
        );
        let admin = srv.admin();
        let (_, _, sup) = srv.org(&admin, "supplier_api", "PG Supplier", "pgsup");
        let (e, _, ent) = srv.enterprise(&admin, "pgent", CODES[2], None);
        assert_err(
            srv.get(&format!("/api/v1/orgs/{e}"), &sup),
            404,
            "not_found",
        );
        assert_eq!(
            srv.get("/api/v1/orgs", &ent).1["items"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        let (_, v) = srv.get("/api/v1/audit/verify", &admin);
        assert_eq!(v["valid"], true, "{v}");
        assert!(v["records"].as_u64().unwrap() >= 4);
    }
    block_on(async {
        let mut c = sqlx::PgConnection::connect(&admin_url).await.unwrap();
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut c)
            .await
            .unwrap();
    });
}
