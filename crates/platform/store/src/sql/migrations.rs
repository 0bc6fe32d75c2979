//! The versioned migrations each backend applies when opened (same schema, two dialects).

use sqlx::migrate::{Migration, MigrationType, Migrator};
use std::borrow::Cow;

fn migration(version: i64, desc: &'static str, sql: &'static str) -> Migration {
    Migration::new(
        version,
        Cow::Borrowed(desc),
        MigrationType::Simple,
        Cow::Borrowed(sql),
        false,
    )
}

pub(super) fn sqlite_migrator() -> Migrator {
    Migrator {
        migrations: Cow::Owned(vec![
            migration(
                1,
                "core",
                include_str!("../../migrations/sqlite/0001_core.sql"),
            ),
            migration(
                2,
                "money",
                include_str!("../../migrations/sqlite/0002_money.sql"),
            ),
            migration(
                3,
                "reversals",
                include_str!("../../migrations/sqlite/0003_reversals.sql"),
            ),
            migration(
                4,
                "grants",
                include_str!("../../migrations/sqlite/0004_grants.sql"),
            ),
            migration(
                5,
                "mirror signed",
                include_str!("../../migrations/sqlite/0005_mirror_signed.sql"),
            ),
            migration(
                6,
                "user keys",
                include_str!("../../migrations/sqlite/0006_user_keys.sql"),
            ),
            // issue 16, onboarding
            migration(
                7,
                "suppliers",
                include_str!("../../migrations/sqlite/0007_suppliers.sql"),
            ),
            // --- supply (issue 16, supply helper)
            migration(
                8,
                "supply",
                include_str!("../../migrations/sqlite/0008_supply.sql"),
            ),
            migration(
                9,
                "work orders",
                include_str!("../../migrations/sqlite/0009_work_orders.sql"),
            ),
            // ── issue 16, supplier money ──
            migration(
                10,
                "supplier money",
                include_str!("../../migrations/sqlite/0010_supplier_money.sql"),
            ),
            // ── issue 16, payout burns ──
            migration(
                11,
                "payout chain",
                include_str!("../../migrations/sqlite/0011_payout_chain.sql"),
            ),
            // ── issue 16, supplier claims (supfix) ──
            migration(
                12,
                "supplier claims",
                include_str!("../../migrations/sqlite/0012_supplier_claims.sql"),
            ),
            // issue 18, trades
            migration(
                13,
                "trades",
                include_str!("../../migrations/sqlite/0013_trades.sql"),
            ),
            // ── issue 17, the market's search index ──
            migration(
                14,
                "market",
                include_str!("../../migrations/sqlite/0014_market.sql"),
            ),
            // ── issue 16, platform-hosted agents ──
            migration(
                15,
                "hosted agents",
                include_str!("../../migrations/sqlite/0015_hosted_agents.sql"),
            ),
            // ── issue 17, standing demands ──
            migration(
                16,
                "market demands",
                include_str!("../../migrations/sqlite/0016_market_demands.sql"),
            ),
            // ── issue 17, demands confirmed into orders, batch allocations ──
            migration(
                17,
                "market confirm",
                include_str!("../../migrations/sqlite/0017_market_confirm.sql"),
            ),
            // ── issue 18, billing: channel notices ──
            migration(
                18,
                "trade notices",
                include_str!("../../migrations/sqlite/0018_trade_notices.sql"),
            ),
            // ── issue 18, the exchange worker's robustness ──
            migration(
                19,
                "exchange robust",
                include_str!("../../migrations/sqlite/0019_exchange_robust.sql"),
            ),
        ]),
        ..Migrator::DEFAULT
    }
}

pub(super) fn pg_migrator() -> Migrator {
    Migrator {
        migrations: Cow::Owned(vec![
            migration(
                1,
                "core",
                include_str!("../../migrations/postgres/0001_core.sql"),
            ),
            migration(
                2,
                "money",
                include_str!("../../migrations/postgres/0002_money.sql"),
            ),
            migration(
                3,
                "reversals",
                include_str!("../../migrations/postgres/0003_reversals.sql"),
            ),
            migration(
                4,
                "grants",
                include_str!("../../migrations/postgres/0004_grants.sql"),
            ),
            migration(
                5,
                "mirror signed",
                include_str!("../../migrations/postgres/0005_mirror_signed.sql"),
            ),
            migration(
                6,
                "user keys",
                include_str!("../../migrations/postgres/0006_user_keys.sql"),
            ),
            // issue 16, onboarding
            migration(
                7,
                "suppliers",
                include_str!("../../migrations/postgres/0007_suppliers.sql"),
            ),
            // --- supply (issue 16, supply helper)
            migration(
                8,
                "supply",
                include_str!("../../migrations/postgres/0008_supply.sql"),
            ),
            migration(
                9,
                "work orders",
                include_str!("../../migrations/postgres/0009_work_orders.sql"),
            ),
            // ── issue 16, supplier money ──
            migration(
                10,
                "supplier money",
                include_str!("../../migrations/postgres/0010_supplier_money.sql"),
            ),
            // ── issue 16, payout burns ──
            migration(
                11,
                "payout chain",
                include_str!("../../migrations/postgres/0011_payout_chain.sql"),
            ),
            // ── issue 16, supplier claims (supfix) ──
            migration(
                12,
                "supplier claims",
                include_str!("../../migrations/postgres/0012_supplier_claims.sql"),
            ),
            // issue 18, trades
            migration(
                13,
                "trades",
                include_str!("../../migrations/postgres/0013_trades.sql"),
            ),
            // ── issue 17, the market's search index ──
            migration(
                14,
                "market",
                include_str!("../../migrations/postgres/0014_market.sql"),
            ),
            // ── issue 16, platform-hosted agents ──
            migration(
                15,
                "hosted agents",
                include_str!("../../migrations/postgres/0015_hosted_agents.sql"),
            ),
            // ── issue 17, standing demands ──
            migration(
                16,
                "market demands",
                include_str!("../../migrations/postgres/0016_market_demands.sql"),
            ),
            // ── issue 17, demands confirmed into orders, batch allocations ──
            migration(
                17,
                "market confirm",
                include_str!("../../migrations/postgres/0017_market_confirm.sql"),
            ),
            // ── issue 18, billing: channel notices ──
            migration(
                18,
                "trade notices",
                include_str!("../../migrations/postgres/0018_trade_notices.sql"),
            ),
            // ── issue 18, the exchange worker's robustness ──
            migration(
                19,
                "exchange robust",
                include_str!("../../migrations/postgres/0019_exchange_robust.sql"),
            ),
        ]),
        ..Migrator::DEFAULT
    }
}
