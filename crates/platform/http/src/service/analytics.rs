//! Analytics for the operator's dashboard: orders per day and bill lines of every
//! customer over a span (`order.manage`).

use super::ServiceResult;
use crate::AppState;
use crate::auth::Authed;
use suanli_platform_domain::Permission;
use suanli_platform_store::{BillFilter, BillLine, PAGE_SIZE_MAX};

/// Orders per CST day in `[from_ms, to_ms)`: (day start, count).
pub async fn order_counts(
    s: &AppState,
    a: &Authed,
    from_ms: i64,
    to_ms: i64,
) -> ServiceResult<Vec<(i64, i64)>> {
    a.allow(Permission::OrderManage)?;
    Ok(s.store.order_counts_by_day(from_ms, to_ms).await?)
}

/// Bill lines of every customer in `[from_ms, to_ms)`, reading at most `pages_max` pages
/// of [`PAGE_SIZE_MAX`] lines.
pub async fn bill_lines(
    s: &AppState,
    a: &Authed,
    from_ms: i64,
    to_ms: i64,
    pages_max: usize,
) -> ServiceResult<Vec<BillLine>> {
    a.allow(Permission::OrderManage)?;
    let mut lines = Vec::new();
    let mut filter = BillFilter {
        from_ms,
        to_ms,
        limit: Some(PAGE_SIZE_MAX),
        ..BillFilter::default()
    };
    for _ in 0..pages_max {
        let page = s.store.bills(&filter).await?;
        let full = page.len() == PAGE_SIZE_MAX as usize;
        filter.after = page.last().map(BillLine::key);
        lines.extend(page);
        if !full {
            break;
        }
    }
    Ok(lines)
}

/// Instances per status: (status, count).
pub async fn instance_counts(s: &AppState, a: &Authed) -> ServiceResult<Vec<(String, i64)>> {
    a.allow(Permission::OrderManage)?;
    Ok(s.store.instance_counts_by_status().await?)
}
