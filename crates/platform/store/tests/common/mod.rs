//! The shared harness of the supply side's store tests (`suppliers`, `supply`,
//! `supplier_money`): a fresh SQLite file or a fresh PostgreSQL database per check
//! (`SUANLI_TEST_DATABASE_URL`; in CI it must be set), and `conformance!`, which runs each
//! check on both.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use suanli_platform_store::*;

pub enum Backend {
    Sqlite(SqliteStore, #[allow(dead_code)] tempfile::TempDir),
    Pg(PgStore, String, String),
}

impl Backend {
    pub fn store(&self) -> &dyn OpsStore {
        match self {
            Backend::Sqlite(s, _) => s,
            Backend::Pg(s, _, _) => s,
        }
    }

    pub async fn cleanup(self) {
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

pub async fn sqlite() -> Backend {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("ops.db"))
        .await
        .expect("open sqlite");
    Backend::Sqlite(store, dir)
}

pub async fn postgres() -> Option<Backend> {
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

/// Runs each named `async fn check(b: &Backend)` on SQLite and on PostgreSQL.
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
