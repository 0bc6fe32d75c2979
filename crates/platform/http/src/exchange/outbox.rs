//! The wallet-mirror outbox (`docs/exchange.md` §1): every pending mint or burn sent to the
//! chain, oldest first. An instruction is signed, stored and submitted under one hold of
//! the operator key's lock (`SettlementMirror::sign_and_send`), so no other user of the
//! key takes its nonce in between; a stored transaction is resubmitted as stored after a
//! timeout or a crash. What the chain definitely refused does not block the outbox:
//!
//! - `reference_used`: an earlier transaction with the instruction's reference applied
//!   (the chain takes a reference once per wallet) — the instruction is sent;
//! - a transaction whose nonce another transaction took or skipped (`nonce_replayed`,
//!   `nonce_gap`: it can never apply) — dropped to be signed anew (`mirror_resign`): at
//!   once when it was a stored one, at the next pass when it was signed just now; the
//!   reference keeps a new signature from moving money twice;
//! - anything else (a burn beyond the wallet's balance, a failed call) — marked failed
//!   with the chain's code (`mirror_failed`), reported for the wallet alarm, and the next
//!   instruction is sent.
//!
//! An unknown outcome (timeout, node unreachable) stops the pass: the operator's nonces
//! are sequential, and the next pass resubmits the same bytes.

use crate::PortError;
use crate::payment::{MirrorError, MirrorOp, SettlementMirror, SignedTx};
use crate::trade_ledger::Submitted;
use std::sync::Arc;
use suanli_platform_domain::OrgId;
use suanli_platform_domain::money::Fen;
use suanli_platform_store::{MirrorRecord, OpsStore};

/// Most outbox entries read per page of [`pump_mirror`].
pub const MIRROR_PAGE_MAX: u32 = 100;

/// The chain's codes that say a signed transaction's nonce was taken by another one: it
/// can never apply, and the instruction is signed anew.
pub const RESIGN_CODES: &[&str] = &["nonce_replayed", "nonce_gap"];

/// The chain's code for a wallet reference already used: the instruction's money moved.
pub const REFERENCE_USED: &str = "reference_used";

/// A mirror instruction the chain definitely refused, marked failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedInstruction {
    /// The outbox entry.
    pub id: i64,
    /// The organisation whose wallet it was for.
    pub org: OrgId,
    /// `mint` or `burn`.
    pub op: String,
    /// Its amount.
    pub amount: Fen,
    /// The chain's code.
    pub code: String,
    /// The chain's message.
    pub message: String,
}

/// What one [`pump_mirror`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pumped {
    /// Instructions applied (or found applied).
    pub sent: u64,
    /// Stored transactions dropped to be signed anew (their nonce was taken).
    pub resigned: u64,
    /// Instructions marked failed this pass.
    pub failed: Vec<FailedInstruction>,
}

fn ledger(id: i64, e: &PortError) -> MirrorError {
    MirrorError::Ledger {
        instruction: Some(id),
        message: suanli_primitives::error_chain(e),
    }
}

/// Signs (if not yet signed) and sends one instruction; the chain's definite answer, or
/// `Err` when unknown. A new signature is stored before it is submitted, inside the
/// operator key's lock (the store write runs on this runtime from the blocking thread).
async fn send_one(
    store: &Arc<dyn OpsStore>,
    mirror: &Arc<dyn SettlementMirror>,
    m: &MirrorRecord,
) -> Result<(SignedTx, Submitted, bool), MirrorError> {
    if let (Some(reference), Some(encoded_hex)) = (&m.signed_ref, &m.signed_tx) {
        let tx = SignedTx {
            reference: reference.clone(),
            encoded_hex: encoded_hex.clone(),
        };
        let (mi, t) = (Arc::clone(mirror), tx.clone());
        let sent = crate::service::trades::blocking(move || mi.send(&t))
            .await
            .map_err(|e| ledger(m.id, &e))?;
        return Ok((tx, sent, true));
    }
    let op = MirrorOp::parse(&m.op).ok_or_else(|| MirrorError::UnknownOp {
        id: m.id,
        op: m.op.clone(),
    })?;
    let (st, mi, handle) = (
        Arc::clone(store),
        Arc::clone(mirror),
        tokio::runtime::Handle::current(),
    );
    let (id, org, amount) = (m.id, m.org, m.amount_fen);
    let memo = format!("journal tx {}", m.journal_tx_id);
    let (tx, sent) = crate::service::trades::blocking(move || {
        mi.sign_and_send(op, org, amount, &memo, &mut |tx| {
            handle
                .block_on(st.mirror_signed(id, &tx.reference, &tx.encoded_hex))
                .map_err(|e| PortError::Refused {
                    code: "store",
                    message: e.to_string(),
                })
        })
    })
    .await
    .map_err(|e| ledger(m.id, &e))?;
    Ok((tx, sent, false))
}

/// Sends every pending mirror instruction through `mirror`, oldest first (see the module
/// documentation for what a definite refusal does). Stops at the first unknown outcome
/// (`Err`; the rest stay pending).
pub async fn pump_mirror(
    store: &Arc<dyn OpsStore>,
    mirror: &Arc<dyn SettlementMirror>,
    now_ms: i64,
) -> Result<Pumped, MirrorError> {
    let mut out = Pumped::default();
    loop {
        let page = store.mirror_pending(MIRROR_PAGE_MAX).await?;
        if page.is_empty() {
            return Ok(out);
        }
        for m in page {
            let (tx, sent, stored) = send_one(store, mirror, &m).await?;
            match sent {
                Submitted::Applied => {
                    store.mirror_sent(m.id, &tx.reference, now_ms).await?;
                    out.sent += 1;
                }
                Submitted::Refused { code, .. } if code == REFERENCE_USED => {
                    tracing::info!(instruction = m.id, "mirror reference already applied: sent");
                    store.mirror_sent(m.id, &tx.reference, now_ms).await?;
                    out.sent += 1;
                }
                Submitted::Refused { code, .. } if RESIGN_CODES.contains(&code.as_str()) => {
                    tracing::warn!(instruction = m.id, code = %code, "mirror transaction's nonce taken: signed anew");
                    store.mirror_resign(m.id).await?;
                    out.resigned += 1;
                    if !stored {
                        // Signed just now and refused for its nonce: another signer's
                        // transaction is in between; the next pass signs it again.
                        return Ok(out);
                    }
                }
                Submitted::Refused { code, message } => {
                    tracing::error!(instruction = m.id, org = m.org.get(), code = %code, message = %message, "mirror instruction refused by the chain: marked failed");
                    store.mirror_failed(m.id, &code, &message, now_ms).await?;
                    out.failed.push(FailedInstruction {
                        id: m.id,
                        org: m.org,
                        op: m.op.clone(),
                        amount: m.amount_fen,
                        code,
                        message,
                    });
                }
            }
        }
    }
}
