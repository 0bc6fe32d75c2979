//! [`SupplierMoneyStore`] for both backends from one macro body (same SQL text):
//! agreements, statements (check-ins settled once, the journal entry in the same SQL
//! transaction), payouts with four eyes (the store refuses a checker or approver who is
//! the requester or, for the approval, the checker; the schema's `CHECK`s say it again).

use std::collections::BTreeSet;

use super::{cor, fen, key, oid, uid};
use crate::decode::Cols;
use crate::sql::{db_err, limit_of};
use crate::supplier_money::*;
use crate::{PgStore, SqliteStore, StoreError, StoreResult};
use suanli_platform_domain::OrgId;
use suanli_platform_domain::UserId;
use suanli_platform_domain::money::{Bp, Fen};
use suanli_platform_domain::rejection::MoneyRejection;
use suanli_platform_domain::supply::settlement::{
    AgreementTerms, CheckInKey, SalesMode, SettlementPeriod, TradeSerial, chain_payable,
    check_four_eyes, check_payout, payout_tx, settlement_tx,
};

const AGREEMENT_COLS: &str = "id, org_id, version, body, sales_mode, commission_bp, period, \
     entered_by, entered_ms, accepted_by, accepted_ms";
const STATEMENT_COLS: &str = "id, org_id, period, seq, period_start_ms, period_end_ms, agreement_id, \
     commission_bp, gross_fen, commission_fen, net_fen, checkins, journal_tx_id, run_by, run_ms";
const PAYOUT_COLS: &str = "id, org_id, amount_fen, requested_by, requested_ms, status, checked_by, \
     checked_ms, decided_by, decided_ms, reason, journal_tx_id, transfer_ref, transfer_tx, \
     transfer_sent_ms, settle_ref, settle_tx, settle_sent_ms";
/// Payouts that still hold part of the payable.
const PAYOUT_OPEN: &str = "('requested', 'checked')";

fn agreement(r: &(impl Cols + ?Sized)) -> StoreResult<AgreementRecord> {
    Ok(AgreementRecord {
        id: r.i64("id")?,
        org: oid(r.i64("org_id")?)?,
        version: r.i64("version")?,
        body: r.text("body")?,
        sales_mode: SalesMode::parse(&r.text("sales_mode")?).map_err(cor)?,
        commission: bp(r.i64("commission_bp")?)?,
        period: SettlementPeriod::parse(&r.text("period")?).map_err(cor)?,
        entered_by: uid(r.i64("entered_by")?)?,
        entered_ms: r.i64("entered_ms")?,
        accepted_by: r.opt_i64("accepted_by")?.map(uid).transpose()?,
        accepted_ms: r.opt_i64("accepted_ms")?,
    })
}

fn bp(v: i64) -> StoreResult<Bp> {
    Bp::new(u32::try_from(v).map_err(cor)?).map_err(cor)
}

fn statement(r: &(impl Cols + ?Sized)) -> StoreResult<StatementRecord> {
    Ok(StatementRecord {
        id: r.i64("id")?,
        org: oid(r.i64("org_id")?)?,
        period: r.text("period")?,
        seq: r.i64("seq")?,
        period_start_ms: r.i64("period_start_ms")?,
        period_end_ms: r.i64("period_end_ms")?,
        agreement_id: r.i64("agreement_id")?,
        commission_bp: bp(r.i64("commission_bp")?)?,
        gross: fen(r.i64("gross_fen")?)?,
        commission: fen(r.i64("commission_fen")?)?,
        net: fen(r.i64("net_fen")?)?,
        checkins: r.i64("checkins")?,
        journal_tx_id: r.i64("journal_tx_id")?,
        run_by: uid(r.i64("run_by")?)?,
        run_ms: r.i64("run_ms")?,
    })
}

fn payout(r: &(impl Cols + ?Sized)) -> StoreResult<PayoutRecord> {
    Ok(PayoutRecord {
        id: r.i64("id")?,
        org: oid(r.i64("org_id")?)?,
        amount: fen(r.i64("amount_fen")?)?,
        requested_by: uid(r.i64("requested_by")?)?,
        requested_ms: r.i64("requested_ms")?,
        status: PayoutStatus::parse(&r.text("status")?).ok_or_else(|| cor("payout status"))?,
        checked_by: r.opt_i64("checked_by")?.map(uid).transpose()?,
        checked_ms: r.opt_i64("checked_ms")?,
        decided_by: r.opt_i64("decided_by")?.map(uid).transpose()?,
        decided_ms: r.opt_i64("decided_ms")?,
        reason: r.opt_text("reason")?,
        journal_tx_id: r.opt_i64("journal_tx_id")?,
        transfer: chain_tx(r, "transfer")?,
        transfer_sent_ms: r.opt_i64("transfer_sent_ms")?,
        settle: chain_tx(r, "settle")?,
        settle_sent_ms: r.opt_i64("settle_sent_ms")?,
    })
}

/// `{leg}_ref` and `{leg}_tx`: both or neither.
fn chain_tx(r: &(impl Cols + ?Sized), leg: &str) -> StoreResult<Option<PayoutChainTx>> {
    match (
        r.opt_text(&format!("{leg}_ref"))?,
        r.opt_text(&format!("{leg}_tx"))?,
    ) {
        (Some(reference), Some(encoded_hex)) => Ok(Some(PayoutChainTx {
            reference,
            encoded_hex,
        })),
        (None, None) => Ok(None),
        _ => Err(cor(
            "payout chain transaction without its reference or encoding",
        )),
    }
}

/// A `(org IS NULL OR org_id = org)` filter value: 0 matches every organisation.
fn org_filter(org: Option<OrgId>) -> i64 {
    org.map_or(0, OrgId::get)
}

/// `before` = 0 means from the newest.
fn before_of(before: i64) -> i64 {
    if before <= 0 { i64::MAX } else { before }
}

macro_rules! supplier_money_store {
    ($Store:ident, $Db:ty) => {
        impl $Store {
            async fn sm_payout_in(
                tx: &mut sqlx::Transaction<'static, $Db>,
                id: i64,
            ) -> StoreResult<PayoutRecord> {
                let sql = format!("SELECT {PAYOUT_COLS} FROM supplier_payouts WHERE id = $1");
                let r = sqlx::query(&sql)
                    .bind(id)
                    .fetch_optional(&mut **tx)
                    .await
                    .map_err(db_err)?;
                payout(r.as_ref().ok_or(StoreError::NotFound)?)
            }

            /// Payable balance (Σ credits − Σ debits of `supplier:{org}:chain_payable`), Σ open
            /// payouts, inside the operation's transaction.
            async fn sm_payable_in(
                tx: &mut sqlx::Transaction<'static, $Db>,
                org: OrgId,
            ) -> StoreResult<(Fen, Fen)> {
                let r = sqlx::query(&format!(
                    "SELECT CAST(COALESCE((SELECT SUM(CASE WHEN side = 'credit' THEN amount_fen ELSE -amount_fen END) \
                     FROM journal_lines WHERE account = $1), 0) AS BIGINT) AS payable, \
                     CAST(COALESCE((SELECT SUM(amount_fen) FROM supplier_payouts \
                     WHERE org_id = $2 AND status IN {PAYOUT_OPEN}), 0) AS BIGINT) AS open"
                ))
                .bind(chain_payable(org).key())
                .bind(org.get())
                .fetch_one(&mut **tx)
                .await
                .map_err(db_err)?;
                Ok((fen(r.i64("payable")?)?, fen(r.i64("open")?)?))
            }

            async fn sm_decide(
                &self,
                id: i64,
                to: PayoutStatus,
                by: UserId,
                reason: Option<&str>,
                at_ms: i64,
                settle: Option<&PayoutChainTx>,
            ) -> StoreResult<PayoutRecord> {
                let org = self.sm_get_payout(id).await?.ok_or(StoreError::NotFound)?.org;
                let (_g, mut tx) = self.m_begin(Some(org)).await?;
                let p = Self::sm_payout_in(&mut tx, id).await?;
                let mut journal = None;
                match (p.status, to) {
                    (PayoutStatus::Requested, PayoutStatus::Checked) => {
                        if by == p.requested_by {
                            return Err(StoreError::Money(MoneyRejection::FourEyes));
                        }
                        // Checked only once its credits are in custody.
                        if p.transfer.is_some() && p.transfer_sent_ms.is_none() {
                            return Err(StoreError::Money(MoneyRejection::NotPending("payout")));
                        }
                    }
                    (PayoutStatus::Checked, PayoutStatus::Approved) => {
                        let checker = p.checked_by.ok_or_else(|| cor("checked payout without checker"))?;
                        check_four_eyes(p.requested_by, checker, by).map_err(StoreError::Money)?;
                        let (payable, _) = Self::sm_payable_in(&mut tx, p.org).await?;
                        let jt = payout_tx(
                            key(format!("supplier-payout:{}", p.id))?,
                            p.org,
                            p.amount,
                            payable,
                            &format!("supplier payout {}", p.id),
                        )
                        .map_err(StoreError::Money)?;
                        journal = Some(Self::post_tx(&mut tx, &jt, None, None, "supplier", at_ms).await?);
                    }
                    (PayoutStatus::Requested | PayoutStatus::Checked, PayoutStatus::Rejected) => {
                        if by == p.requested_by {
                            return Err(StoreError::Money(MoneyRejection::FourEyes));
                        }
                    }
                    _ => return Err(StoreError::Money(MoneyRejection::NotPending("payout"))),
                }
                let sql = match to {
                    PayoutStatus::Checked => {
                        "UPDATE supplier_payouts SET status = $1, checked_by = $2, checked_ms = $3 WHERE id = $5"
                    }
                    _ => {
                        "UPDATE supplier_payouts SET status = $1, decided_by = $2, decided_ms = $3, \
                         journal_tx_id = $4, reason = $6, settle_ref = $7, settle_tx = $8 WHERE id = $5"
                    }
                };
                let mut q = sqlx::query(sql)
                    .bind(to.as_str())
                    .bind(by.get())
                    .bind(at_ms)
                    .bind(journal)
                    .bind(id);
                if to != PayoutStatus::Checked {
                    q = q
                        .bind(reason.map(str::to_owned))
                        .bind(settle.map(|t| t.reference.clone()))
                        .bind(settle.map(|t| t.encoded_hex.clone()));
                }
                q.execute(&mut *tx).await.map_err(db_err)?;
                let out = Self::sm_payout_in(&mut tx, id).await?;
                tx.commit().await.map_err(db_err)?;
                Ok(out)
            }

            async fn sm_get_payout(&self, id: i64) -> StoreResult<Option<PayoutRecord>> {
                let sql = format!("SELECT {PAYOUT_COLS} FROM supplier_payouts WHERE id = $1");
                let r = sqlx::query(&sql).bind(id).fetch_optional(&self.pool).await.map_err(db_err)?;
                r.as_ref().map(payout).transpose()
            }
        }

        #[async_trait::async_trait]
        impl SupplierMoneyStore for $Store {
            async fn record_agreement(
                &self,
                org: OrgId,
                terms: &AgreementTerms,
                by: UserId,
                at_ms: i64,
            ) -> StoreResult<AgreementRecord> {
                let (_g, mut tx) = self.m_begin(Some(org)).await?;
                let sql = format!(
                    "INSERT INTO supply_agreements (org_id, version, body, sales_mode, commission_bp, period, \
                     entered_by, entered_ms) \
                     VALUES ($1, (SELECT COALESCE(MAX(version), 0) + 1 FROM supply_agreements WHERE org_id = $1), \
                     $2, $3, $4, $5, $6, $7) RETURNING {AGREEMENT_COLS}"
                );
                let r = sqlx::query(&sql)
                    .bind(org.get())
                    .bind(terms.text.as_str())
                    .bind(terms.sales_mode.as_str())
                    .bind(i64::from(terms.commission.get()))
                    .bind(terms.period.as_str())
                    .bind(by.get())
                    .bind(at_ms)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db_err)?;
                let out = agreement(&r)?;
                tx.commit().await.map_err(db_err)?;
                Ok(out)
            }

            async fn accept_agreement(
                &self,
                org: OrgId,
                id: i64,
                by: UserId,
                at_ms: i64,
            ) -> StoreResult<AgreementRecord> {
                let (_g, mut tx) = self.m_begin(Some(org)).await?;
                let sql = format!(
                    "SELECT {AGREEMENT_COLS} FROM supply_agreements WHERE org_id = $1 ORDER BY version DESC LIMIT 1"
                );
                let r = sqlx::query(&sql).bind(org.get()).fetch_optional(&mut *tx).await.map_err(db_err)?;
                let newest = r.as_ref().map(agreement).transpose()?;
                let exists = sqlx::query("SELECT id FROM supply_agreements WHERE id = $1 AND org_id = $2")
                    .bind(id)
                    .bind(org.get())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_err)?;
                if exists.is_none() {
                    return Err(StoreError::NotFound);
                }
                match newest {
                    Some(a) if a.id == id && a.accepted_ms.is_none() => {}
                    _ => return Err(StoreError::Money(MoneyRejection::NotPending("agreement"))),
                }
                let sql = format!(
                    "UPDATE supply_agreements SET accepted_by = $1, accepted_ms = $2 WHERE id = $3 \
                     RETURNING {AGREEMENT_COLS}"
                );
                let r = sqlx::query(&sql)
                    .bind(by.get())
                    .bind(at_ms)
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db_err)?;
                let out = agreement(&r)?;
                tx.commit().await.map_err(db_err)?;
                Ok(out)
            }

            async fn supply_agreements(&self, org: OrgId) -> StoreResult<Vec<AgreementRecord>> {
                let sql = format!(
                    "SELECT {AGREEMENT_COLS} FROM supply_agreements WHERE org_id = $1 ORDER BY version DESC"
                );
                let rows = sqlx::query(&sql).bind(org.get()).fetch_all(&self.pool).await.map_err(db_err)?;
                rows.iter().map(agreement).collect()
            }

            async fn governing_agreement(&self, org: OrgId) -> StoreResult<Option<AgreementRecord>> {
                let sql = format!(
                    "SELECT {AGREEMENT_COLS} FROM supply_agreements WHERE org_id = $1 AND accepted_ms IS NOT NULL \
                     ORDER BY version DESC LIMIT 1"
                );
                let r = sqlx::query(&sql).bind(org.get()).fetch_optional(&self.pool).await.map_err(db_err)?;
                r.as_ref().map(agreement).transpose()
            }

            async fn settled_checkins(&self, org: OrgId) -> StoreResult<BTreeSet<CheckInKey>> {
                let rows = sqlx::query("SELECT serial, n FROM supplier_settled_checkins WHERE org_id = $1")
                    .bind(org.get())
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter()
                    .map(|r| {
                        let serial = TradeSerial::parse(&r.text("serial")?).map_err(cor)?;
                        let n = u32::try_from(r.i64("n")?).map_err(cor)?;
                        Ok((serial, n))
                    })
                    .collect()
            }

            async fn record_statement(&self, s: &NewStatement<'_>) -> StoreResult<StatementOutcome> {
                // Nothing to settle, or only check-ins of 0 (no journal entry can carry 0).
                if s.statement.checkins.is_empty() || s.statement.gross.is_zero() {
                    return Ok(StatementOutcome { statement: None });
                }
                let label = s.period.label();
                let (start, end) = s.period.bounds();
                let (_g, mut tx) = self.m_begin(Some(s.org)).await?;
                let seq: i64 = sqlx::query(
                    "SELECT CAST(COALESCE(MAX(seq), 0) + 1 AS BIGINT) AS seq FROM supplier_statements \
                     WHERE org_id = $1 AND period = $2",
                )
                .bind(s.org.get())
                .bind(&label)
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err)?
                .i64("seq")?;
                let jt = settlement_tx(
                    key(format!("supplier-statement:{}:{label}:{seq}", s.org))?,
                    s.org,
                    s.statement,
                    &format!("supplier {} statement {label} #{seq}", s.org),
                )
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let jid = Self::post_tx(&mut tx, &jt, None, None, "supplier", s.at_ms).await?;
                let sql = format!(
                    "INSERT INTO supplier_statements (org_id, period, seq, period_start_ms, period_end_ms, \
                     agreement_id, commission_bp, gross_fen, commission_fen, net_fen, checkins, journal_tx_id, \
                     run_by, run_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
                     RETURNING {STATEMENT_COLS}"
                );
                let r = sqlx::query(&sql)
                    .bind(s.org.get())
                    .bind(&label)
                    .bind(seq)
                    .bind(start)
                    .bind(end)
                    .bind(s.agreement.id)
                    .bind(i64::from(s.agreement.commission.get()))
                    .bind(s.statement.gross.get())
                    .bind(s.statement.commission.get())
                    .bind(s.statement.net.get())
                    .bind(i64::try_from(s.statement.checkins.len()).map_err(cor)?)
                    .bind(jid)
                    .bind(s.by.get())
                    .bind(s.at_ms)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db_err)?;
                let rec = statement(&r)?;
                for c in &s.statement.checkins {
                    sqlx::query(
                        "INSERT INTO supplier_settled_checkins (serial, n, org_id, statement_id, end_ms, cost_fen) \
                         VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(c.serial.as_str())
                    .bind(i64::from(c.n))
                    .bind(s.org.get())
                    .bind(rec.id)
                    .bind(c.end_ms)
                    .bind(c.cost.get())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                }
                tx.commit().await.map_err(db_err)?;
                Ok(StatementOutcome { statement: Some(rec) })
            }

            async fn settlement_statements(
                &self,
                org: Option<OrgId>,
                before: i64,
                limit: u32,
            ) -> StoreResult<Vec<StatementRecord>> {
                let sql = format!(
                    "SELECT {STATEMENT_COLS} FROM supplier_statements WHERE ($1 = 0 OR org_id = $1) AND id < $2 \
                     ORDER BY id DESC LIMIT $3"
                );
                let rows = sqlx::query(&sql)
                    .bind(org_filter(org))
                    .bind(before_of(before))
                    .bind(limit_of(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter().map(statement).collect()
            }

            async fn supplier_ledger(&self, org: OrgId) -> StoreResult<SupplierLedger> {
                let r = sqlx::query(&format!(
                    "SELECT \
                     CAST(COALESCE((SELECT SUM(gross_fen) FROM supplier_statements WHERE org_id = $1), 0) AS BIGINT) AS gross, \
                     CAST(COALESCE((SELECT SUM(commission_fen) FROM supplier_statements WHERE org_id = $1), 0) AS BIGINT) AS commission, \
                     CAST(COALESCE((SELECT SUM(net_fen) FROM supplier_statements WHERE org_id = $1), 0) AS BIGINT) AS net, \
                     CAST(COALESCE((SELECT SUM(CASE WHEN side = 'credit' THEN amount_fen ELSE -amount_fen END) \
                       FROM journal_lines WHERE account = $2), 0) AS BIGINT) AS payable, \
                     CAST(COALESCE((SELECT SUM(amount_fen) FROM supplier_payouts WHERE org_id = $1 AND status = 'approved'), 0) AS BIGINT) AS paid, \
                     CAST(COALESCE((SELECT SUM(amount_fen) FROM supplier_payouts WHERE org_id = $1 AND status IN {PAYOUT_OPEN}), 0) AS BIGINT) AS open"
                ))
                .bind(org.get())
                .bind(chain_payable(org).key())
                .fetch_one(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(SupplierLedger {
                    settled_gross: fen(r.i64("gross")?)?,
                    settled_commission: fen(r.i64("commission")?)?,
                    settled_net: fen(r.i64("net")?)?,
                    payable: fen(r.i64("payable")?)?,
                    paid: fen(r.i64("paid")?)?,
                    pending_payouts: fen(r.i64("open")?)?,
                })
            }

            async fn request_payout(
                &self,
                org: OrgId,
                amount: Fen,
                by: UserId,
                at_ms: i64,
                transfer: &PayoutChainTx,
            ) -> StoreResult<PayoutRecord> {
                let (_g, mut tx) = self.m_begin(Some(org)).await?;
                let (payable, open) = Self::sm_payable_in(&mut tx, org).await?;
                check_payout(amount, payable.saturating_sub(open)).map_err(StoreError::Money)?;
                let sql = format!(
                    "INSERT INTO supplier_payouts (org_id, amount_fen, requested_by, requested_ms, status, \
                     transfer_ref, transfer_tx) VALUES ($1, $2, $3, $4, 'requested', $5, $6) RETURNING {PAYOUT_COLS}"
                );
                let r = sqlx::query(&sql)
                    .bind(org.get())
                    .bind(amount.get())
                    .bind(by.get())
                    .bind(at_ms)
                    .bind(transfer.reference.clone())
                    .bind(transfer.encoded_hex.clone())
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db_err)?;
                let out = payout(&r)?;
                tx.commit().await.map_err(db_err)?;
                Ok(out)
            }

            async fn check_payout(&self, id: i64, by: UserId, at_ms: i64) -> StoreResult<PayoutRecord> {
                self.sm_decide(id, PayoutStatus::Checked, by, None, at_ms, None).await
            }

            async fn approve_payout(
                &self,
                id: i64,
                by: UserId,
                at_ms: i64,
                burn: Option<&PayoutChainTx>,
            ) -> StoreResult<PayoutRecord> {
                self.sm_decide(id, PayoutStatus::Approved, by, None, at_ms, burn).await
            }

            async fn reject_payout(
                &self,
                id: i64,
                by: UserId,
                reason: &str,
                at_ms: i64,
                back: Option<&PayoutChainTx>,
            ) -> StoreResult<PayoutRecord> {
                self.sm_decide(id, PayoutStatus::Rejected, by, Some(reason), at_ms, back).await
            }

            async fn payout_sent(&self, id: i64, leg: PayoutLeg, at_ms: i64) -> StoreResult<PayoutRecord> {
                let sql = match leg {
                    PayoutLeg::Transfer => {
                        "UPDATE supplier_payouts SET transfer_sent_ms = $1 \
                         WHERE id = $2 AND transfer_tx IS NOT NULL AND transfer_sent_ms IS NULL"
                    }
                    PayoutLeg::Settle => {
                        "UPDATE supplier_payouts SET settle_sent_ms = $1 \
                         WHERE id = $2 AND settle_tx IS NOT NULL AND settle_sent_ms IS NULL"
                    }
                };
                sqlx::query(sql).bind(at_ms).bind(id).execute(&self.pool).await.map_err(db_err)?;
                self.sm_get_payout(id).await?.ok_or(StoreError::NotFound)
            }

            async fn drop_refused_payout(&self, id: i64) -> StoreResult<bool> {
                let n = sqlx::query(
                    "DELETE FROM supplier_payouts WHERE id = $1 AND status = 'requested' \
                     AND transfer_tx IS NOT NULL AND transfer_sent_ms IS NULL",
                )
                .bind(id)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(n.rows_affected() == 1)
            }

            async fn get_payout(&self, id: i64) -> StoreResult<Option<PayoutRecord>> {
                self.sm_get_payout(id).await
            }

            async fn supplier_payouts(
                &self,
                org: Option<OrgId>,
                before: i64,
                limit: u32,
            ) -> StoreResult<Vec<PayoutRecord>> {
                let sql = format!(
                    "SELECT {PAYOUT_COLS} FROM supplier_payouts WHERE ($1 = 0 OR org_id = $1) AND id < $2 \
                     ORDER BY id DESC LIMIT $3"
                );
                let rows = sqlx::query(&sql)
                    .bind(org_filter(org))
                    .bind(before_of(before))
                    .bind(limit_of(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter().map(payout).collect()
            }
        }
    };
}

supplier_money_store!(SqliteStore, sqlx::Sqlite);
supplier_money_store!(PgStore, sqlx::Postgres);
