//! A payout's settlement credits on the trade chain (`docs/supply.md` §4, Payouts),
//! through the [`PayoutLedger`] port: at the request the supplier's key moves the amount
//! into custody, at the decision custody burns it (approved) or returns it (rejected).
//!
//! Each transaction is signed, stored on the payout row in the SQL transaction of the
//! step it belongs to, and only then sent; a send that did not finish (timeout, crash) is
//! repeated with the *stored* transaction by the next step or by repeating the decision,
//! and the chain applies it at most once. A transfer the chain refused drops the request
//! whole (as if it had not been asked for).

use std::sync::Arc;

use super::super::{ServiceError, ServiceResult};
use crate::AppState;
use crate::payment::SignedTx;
use crate::payout_ledger::PayoutLedger;
use suanli_platform_domain::OrgId;
use suanli_platform_store::{OpsStore, PayoutChainTx, PayoutLeg, PayoutRecord, PayoutStatus};

/// Most payouts read per page when summing the burns of a supplier.
const BURN_PAGE_MAX: u32 = 100;

/// The attached payout ledger, or `ledger_unavailable`.
pub(super) fn ledger(s: &AppState) -> ServiceResult<Arc<dyn PayoutLedger>> {
    s.payout_ledger.clone().ok_or_else(|| ServiceError::Denied {
        code: "ledger_unavailable",
        field: None,
        message: "no trade chain is attached to this platform: payouts cannot move credits".into(),
    })
}

/// The store's form of a signed transaction.
pub(super) fn stored(t: &SignedTx) -> PayoutChainTx {
    PayoutChainTx {
        reference: t.reference.clone(),
        encoded_hex: t.encoded_hex.clone(),
    }
}

fn signed(t: &PayoutChainTx) -> SignedTx {
    SignedTx {
        reference: t.reference.clone(),
        encoded_hex: t.encoded_hex.clone(),
    }
}

/// A port answer as the service's error: the chain's refusals with their code next to
/// `field`, anything else a ledger failure (`ledger_unreachable`: try again).
pub(super) fn chain_err(field: &str, e: crate::PortError) -> ServiceError {
    match e {
        crate::PortError::Refused { code, message } => ServiceError::Invalid {
            code,
            field: Some(field.to_owned()),
            message: format!("the trade chain refused: {message}"),
        },
        crate::PortError::Ledger(source) => ServiceError::Conflict {
            code: "ledger_unreachable",
            field: None,
            message: format!(
                "the trade chain did not confirm the transaction ({source}); it is stored and \
                 sent again by the next step or by repeating this one"
            ),
        },
    }
}

/// Runs a blocking port call off the async runtime.
pub(super) async fn blocking<T: Send + 'static>(
    field: &'static str,
    f: impl FnOnce() -> Result<T, crate::PortError> + Send + 'static,
) -> ServiceResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| ServiceError::Internal("the chain task failed".into()))?
        .map_err(|e| chain_err(field, e))
}

/// Sends payout `p`'s stored transaction that is not applied yet, if any, and records it
/// applied. A refused transfer drops the request (`chain_refused`, nothing left recorded).
pub(super) async fn send_unsent(s: &AppState, p: PayoutRecord) -> ServiceResult<PayoutRecord> {
    let Some((leg, tx)) = p.unsent() else {
        return Ok(p);
    };
    let ledger = ledger(s)?;
    let tx = signed(tx);
    let field = match leg {
        PayoutLeg::Transfer => "amount_fen",
        PayoutLeg::Settle => "id",
    };
    match blocking(field, move || ledger.send(&tx)).await {
        Ok(()) => Ok(s
            .store
            .payout_sent(p.id, leg, s.clock.now_unix_ms())
            .await?),
        Err(e @ ServiceError::Invalid { .. }) if leg == PayoutLeg::Transfer => {
            if s.store.drop_refused_payout(p.id).await? {
                tracing::warn!(payout = p.id, error = %e, "the chain refused a payout transfer: request dropped");
            }
            Err(e)
        }
        Err(e) => Err(e),
    }
}

/// The signed burn (approval) or return (rejection) of payout `p`, once its transfer is
/// applied; `None` for a payout without a transfer (requested before payouts moved
/// credits).
pub(super) async fn sign_settle(
    s: &AppState,
    p: &PayoutRecord,
    to: PayoutStatus,
) -> ServiceResult<Option<PayoutChainTx>> {
    let Some(transfer) = p.transfer.as_ref().map(signed) else {
        return Ok(None);
    };
    let ledger = ledger(s)?;
    let amount = p.amount;
    let tx = blocking("id", move || match to {
        PayoutStatus::Approved => ledger.sign_burn(amount),
        _ => ledger.sign_return(&transfer),
    })
    .await?;
    Ok(Some(stored(&tx)))
}

/// Σ burned on the chain for `org`'s approved payouts (each stored burn read through the
/// port: applied burns signed by custody only).
pub async fn burned_of(
    store: &dyn OpsStore,
    ledger: Arc<dyn PayoutLedger>,
    org: OrgId,
) -> ServiceResult<i64> {
    let mut burns = Vec::new();
    let mut before = 0;
    loop {
        let page = store
            .supplier_payouts(Some(org), before, BURN_PAGE_MAX)
            .await?;
        let Some(last) = page.last() else { break };
        before = last.id;
        burns.extend(
            page.iter()
                .filter(|p| p.status == PayoutStatus::Approved)
                .filter_map(|p| p.settle.as_ref().map(signed)),
        );
    }
    blocking("id", move || {
        let mut sum = 0i64;
        for b in &burns {
            sum = sum.saturating_add(ledger.burned(b)?);
        }
        Ok(sum)
    })
    .await
}
