//! Members' spending limits on their organisation's chain wallet (issue 18,
//! `docs/exchange.md` §1): the organisation's administrator (`user:manage`) sets, per
//! member with a DID, the most that member may have spent from the wallet; the platform
//! mirrors it on the chain with the operator key (`wallet_member`), from the exchange
//! worker and — for the member's first order — at once. A member without a limit gets
//! [`DEFAULT_MEMBER_LIMIT_FEN`] at its first order.

use super::{ServiceError, ServiceResult};
use crate::AppState;
use crate::auth::Authed;
use std::sync::Arc;
use suanli_platform_domain::money::Fen;
use suanli_platform_domain::trades::{DEFAULT_MEMBER_LIMIT_FEN, MEMBER_LIMIT_MAX_FEN, wallet_name};
use suanli_platform_domain::{Permission, UserId};
use suanli_platform_store::{MemberLimitRecord, PAGE_SIZE_MAX};

/// Most limits the exchange worker mirrors per pass.
pub const LIMITS_PER_PASS_MAX: u32 = 100;

/// A member of the organisation with its limit.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MemberRow {
    /// The user.
    pub user_id: i64,
    /// Login.
    pub login: String,
    /// Name.
    pub display_name: String,
    /// The member's DID (members without one cannot order).
    pub did: Option<String>,
    /// The limit set, if any (else the default applies at the first order).
    pub limit: Option<MemberLimitRecord>,
}

/// The caller's organisation's members and their limits.
pub async fn members(s: &AppState, a: &Authed) -> ServiceResult<Vec<MemberRow>> {
    a.allow(Permission::UserManage)?;
    let users = s
        .store
        .list_users(
            a.principal.org_visibility(),
            Some(a.org.id),
            None,
            PAGE_SIZE_MAX,
        )
        .await?;
    let limits = s.store.member_limits(a.org.id).await?;
    let mut out = Vec::with_capacity(users.len());
    for u in users.into_iter().filter(|u| u.org == a.org.id) {
        let did = s.store.get_user_key(u.id).await?.and_then(|k| k.did);
        out.push(MemberRow {
            user_id: u.id.get(),
            limit: limits.iter().find(|l| l.user == u.id).cloned(),
            login: u.login,
            display_name: u.display_name,
            did,
        });
    }
    Ok(out)
}

/// Sets member `user_id`'s limit (0 blocks it); mirrored on the chain by the exchange
/// worker.
pub async fn set_limit(
    s: &AppState,
    a: &Authed,
    user_id: i64,
    limit_fen: i64,
) -> ServiceResult<MemberLimitRecord> {
    a.allow(Permission::UserManage)?;
    let id = UserId::new(user_id).ok_or(ServiceError::NotFound)?;
    let user = s.store.get_user(id).await?.ok_or(ServiceError::NotFound)?;
    if user.org != a.org.id {
        return Err(ServiceError::NotFound);
    }
    if !(0..=MEMBER_LIMIT_MAX_FEN).contains(&limit_fen) {
        return Err(ServiceError::invalid(
            "limit_fen",
            format!("must be 0 to {MEMBER_LIMIT_MAX_FEN} fen"),
        ));
    }
    let limit =
        Fen::new(limit_fen).map_err(|e| ServiceError::invalid("limit_fen", e.to_string()))?;
    let did = s
        .store
        .get_user_key(id)
        .await?
        .and_then(|k| k.did)
        .ok_or_else(|| ServiceError::Invalid {
            code: "no_did",
            field: Some("user_id".into()),
            message: "this member has no DID yet: it cannot order from the wallet".into(),
        })?;
    let rec = s
        .store
        .set_member_limit(a.org.id, id, &did, limit, a.user.id, s.clock.now_unix_ms())
        .await?;
    s.exchange_kick.notify_one();
    Ok(rec)
}

/// Before a member's first order: the default limit stored and mirrored at once when it
/// has none, so the chain knows the member when the order arrives.
pub(crate) async fn ensure_limit(s: &AppState, a: &Authed, did: &str) -> ServiceResult<()> {
    let limits = s.store.member_limits(a.org.id).await?;
    let rec = match limits.into_iter().find(|l| l.user == a.user.id) {
        Some(l) if l.chain_ref.is_some() && l.did == did => return Ok(()),
        Some(l) if l.did == did => l,
        _ => {
            let d = Fen::new(DEFAULT_MEMBER_LIMIT_FEN)
                .map_err(|e| ServiceError::Internal(e.to_string()))?;
            s.store
                .set_member_limit(
                    a.org.id,
                    a.user.id,
                    did,
                    d,
                    a.user.id,
                    s.clock.now_unix_ms(),
                )
                .await?
        }
    };
    let _signing = s.operator_lock.lock().await;
    push_one(s, &rec).await;
    Ok(())
}

/// Mirrors one limit; a failure is logged and left for the next pass.
async fn push_one(s: &AppState, rec: &MemberLimitRecord) -> bool {
    let Some(ledger) = s.trade_ledger.clone() else {
        return false;
    };
    let (w, did, lim) = (wallet_name(rec.org), rec.did.clone(), rec.limit.get());
    let l = Arc::clone(&ledger);
    match super::trades::blocking(move || l.set_member(&w, &did, lim)).await {
        Ok(tx) => {
            let now = s.clock.now_unix_ms();
            match s
                .store
                .member_limit_sent(rec.org, rec.user, rec.set_ms, &tx, now)
                .await
            {
                Ok(()) => true,
                Err(e) => {
                    tracing::warn!(error = %e, "member limit mirrored but not recorded");
                    false
                }
            }
        }
        Err(e) => {
            tracing::warn!(org = rec.org.get(), user = rec.user.get(), error = %suanli_primitives::error_chain(&e), "member limit not mirrored yet");
            false
        }
    }
}

/// Mirrors every limit not yet on the chain (the exchange worker, holding
/// `AppState::operator_lock`); how many went.
pub async fn push_limits(s: &AppState) -> ServiceResult<u64> {
    let mut sent = 0;
    for rec in s.store.member_limits_pending(LIMITS_PER_PASS_MAX).await? {
        if push_one(s, &rec).await {
            sent += 1;
        }
    }
    Ok(sent)
}
