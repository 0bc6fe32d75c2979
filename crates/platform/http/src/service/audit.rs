//! The audit log: searching it and verifying its hash chain (`audit.read`).

use super::ServiceResult;
use crate::AppState;
use crate::auth::Authed;
use suanli_platform_domain::Permission;
use suanli_platform_domain::audit::AuditRecord;
use suanli_platform_store::AuditFilter;

/// Audit records matching `filter` after sequence number `after`, at most `limit`.
pub async fn search(
    s: &AppState,
    a: &Authed,
    filter: &AuditFilter,
    after: u64,
    limit: u32,
) -> ServiceResult<Vec<AuditRecord>> {
    a.allow(Permission::AuditRead)?;
    Ok(s.store.query_audit(filter, after, limit).await?)
}

/// Recomputes the whole hash chain: `Ok((records, head))` when it holds, `Err(why)`
/// (outer `Ok`) when it does not.
pub async fn verify(
    s: &AppState,
    a: &Authed,
) -> ServiceResult<Result<(u64, [u8; 32]), suanli_platform_domain::audit::ChainError>> {
    a.allow(Permission::AuditRead)?;
    Ok(suanli_platform_store::verify_audit(s.store.as_ref()).await?)
}
