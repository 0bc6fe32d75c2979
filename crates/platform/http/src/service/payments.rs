//! Payments: recharges through the payment provider (the only one is the clearly
//! labelled sandbox, off unless configured), the provider's confirmation, and offline
//! transfers entered by finance and approved by a second finance user.

use super::accounts::{customer_org, four_eyes};
use super::{Page, ServiceError, ServiceResult, amount, text};
use crate::AppState;
use crate::auth::Authed;
use crate::payment::{Callback, PaymentProvider};
use serde::{Deserialize, Serialize};
use suanli_platform_domain::Permission;
use suanli_platform_domain::journal::Balances;
use suanli_platform_store::{Direction, NewOffline, OfflineRecord, PaymentRecord};

/// A started recharge: the payment and where the customer pays it.
#[derive(Debug, Clone)]
pub struct Recharge {
    /// The payment, waiting for the provider's confirmation.
    pub payment: PaymentRecord,
    /// Where to pay.
    pub pay_url: String,
    /// Whether the provider is the sandbox (no real money moves).
    pub sandbox: bool,
}

/// Recharges need a payment provider; the only one is the sandbox, off unless configured
/// (`payments_unavailable`).
pub fn enabled(s: &AppState) -> ServiceResult<()> {
    if s.money.provider.is_sandbox() && !s.money.sandbox_enabled {
        return Err(ServiceError::Denied {
            code: "payments_unavailable",
            field: None,
            message: "no payment provider is enabled: the sandbox (no real money) is off; a test or demo deployment sets [money] sandbox_payments = true".to_owned(),
        });
    }
    Ok(())
}

/// Starts a recharge of `amount_fen` for the caller's organisation.
pub async fn start_recharge(s: &AppState, a: &Authed, amount_fen: i64) -> ServiceResult<Recharge> {
    a.allow(Permission::OrderPlace)?;
    enabled(s)?;
    let amt = amount(amount_fen, "amount_fen")?;
    let p = &s.money.provider;
    let (reference, url) = p.start(amt).map_err(|e| {
        tracing::error!(error = %e, "payment provider failed");
        ServiceError::Internal("payment provider failed".to_owned())
    })?;
    let payment = s
        .store
        .create_payment(
            a.org.id,
            a.user.id,
            p.name(),
            &reference,
            amt,
            s.clock.now_unix_ms(),
        )
        .await?;
    Ok(Recharge {
        payment,
        pay_url: url,
        sandbox: p.is_sandbox(),
    })
}

/// Confirms a payment from the provider's callback whose signature was verified.
pub async fn confirm(s: &AppState, cb: &Callback) -> ServiceResult<PaymentRecord> {
    if cb.status != "paid" {
        return Err(ServiceError::Invalid {
            code: "not_paid",
            field: None,
            message: "only status \"paid\" confirms a payment".to_owned(),
        });
    }
    let amt = amount(cb.amount_fen, "amount_fen")?;
    Ok(s.store
        .confirm_payment(
            s.money.provider.name(),
            &cb.provider_ref,
            amt,
            s.clock.now_unix_ms(),
        )
        .await?)
}

/// Verifies the provider's signature of `raw` (`bad_signature`).
pub fn verify(s: &AppState, raw: &[u8], signature: &str) -> ServiceResult<()> {
    enabled(s)?;
    if !s.money.provider.verify(raw, signature) {
        return Err(ServiceError::Unauthenticated {
            code: "bad_signature",
            message: "the webhook signature does not verify".to_owned(),
        });
    }
    Ok(())
}

/// The sandbox "bank" pays the caller's payment `id`: it signs the callback a real
/// provider would send and feeds it through the webhook's path (verify, confirm).
pub async fn sandbox_pay(
    s: &AppState,
    a: &Authed,
    id: i64,
) -> ServiceResult<(PaymentRecord, Balances)> {
    a.allow(Permission::OrderPlace)?;
    let pay = s
        .store
        .get_payment(id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if pay.org != a.org.id {
        return Err(ServiceError::NotFound);
    }
    let cb = Callback {
        provider_ref: pay.provider_ref.clone(),
        amount_fen: pay.amount_fen.get(),
        status: "paid".into(),
    };
    let raw = serde_json::to_vec(&cb).map_err(|e| ServiceError::Internal(e.to_string()))?;
    let sig = s.money.provider.sign(&raw);
    verify(s, &raw, &sig)?;
    let pay = confirm(s, &cb).await?;
    let b = s.store.balances(pay.org).await?;
    Ok((pay, b))
}

/// An offline transfer.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OfflineTransfer {
    /// The customer.
    pub org_id: i64,
    /// In or out.
    pub direction: Direction,
    /// Amount, in fen.
    pub amount_fen: i64,
    /// The bank's reference.
    pub reference: String,
}

/// Enters an offline transfer, pending until another finance user approves it.
pub async fn enter_offline(
    s: &AppState,
    a: &Authed,
    r: &OfflineTransfer,
) -> ServiceResult<OfflineRecord> {
    a.allow(Permission::FinanceManage)?;
    let org = customer_org(s, a, r.org_id)
        .await
        .map_err(|_| ServiceError::invalid("org_id", "must be a visible customer organisation"))?;
    Ok(s.store
        .create_offline(&NewOffline {
            org: org.id,
            direction: r.direction,
            amount: amount(r.amount_fen, "amount_fen")?,
            reference: text(&r.reference, "reference")?,
            entered_by: a.user.id,
            at_ms: s.clock.now_unix_ms(),
        })
        .await?)
}

/// Offline transfers.
pub async fn offline(s: &AppState, a: &Authed, page: Page) -> ServiceResult<Vec<OfflineRecord>> {
    a.allow(Permission::FinanceManage)?;
    Ok(s.store.list_offline(page.after, page.limit).await?)
}

/// The finance work list of offline transfers: pending first, then the latest.
pub async fn offline_worklist(
    s: &AppState,
    a: &Authed,
    limit: u32,
) -> ServiceResult<Vec<OfflineRecord>> {
    a.allow(Permission::FinanceManage)?;
    Ok(s.store.offline_worklist(limit).await?)
}

/// Approves offline transfer `id` (four eyes: not by who entered it); the customer's
/// balances after it.
pub async fn approve_offline(
    s: &AppState,
    a: &Authed,
    id: i64,
) -> ServiceResult<(OfflineRecord, Balances)> {
    a.allow(Permission::FinanceManage)?;
    let t = s
        .store
        .approve_offline(id, a.user.id, s.clock.now_unix_ms())
        .await
        .map_err(four_eyes)?;
    let b = s.store.balances(t.org).await?;
    Ok((t, b))
}
