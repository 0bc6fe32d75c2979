//! The PostgreSQL purchase: the catalogue is read before the customer's lock, then the one
//! purchase body (`crate::purchase`) runs in the customer's transaction through
//! [`PgWrites`]. (SQLite runs the same body on its writer thread: `sqlite_writer`.)

use super::*;
use crate::decode;
use crate::purchase::{PurchaseInput, PurchaseWrites, purchase};
use suanli_platform_domain::orders::StoredCoupon;

impl PgStore {
    /// The purchase.
    pub(super) async fn place_order_now(&self, o: &PlaceOrder) -> StoreResult<OrderOutcome> {
        let c = &o.ctx;
        let idem = format!("order:{}:{}", c.org, c.key.as_str());
        // Catalogue reads happen before the customer's write lock (they do not
        // depend on balances; the order is priced as the catalogue stood then). No
        // read transaction around them: each statement reads a consistent state and
        // the catalogue may change before the lock is taken in any case.
        let (catalogue, discounts) = {
            let mut conn = self.pool.acquire().await.map_err(db_err)?;
            let sp = Self::spec_product_in(&mut conn, o.spec_id).await;
            let d = Self::discounts_in(&mut conn).await;
            (sp, d)
        };
        let (_g, mut tx) = self.m_begin(Some(c.org)).await?;
        let (prior, bal) = Self::idem_and_balances(&mut tx, &idem, &c.digest, c.org).await?;
        if let Some(id) = prior {
            tx.rollback().await.map_err(db_err)?;
            drop(_g);
            return self.outcome(id, true).await;
        }
        let (spec, product) = catalogue?;
        let discounts = discounts?;
        let input = PurchaseInput {
            order: o,
            idem: &idem,
            spec: &spec,
            product: &product,
            discounts: &discounts,
            balances: &bal,
        };
        let out = purchase(&mut PgWrites { tx: &mut tx }, &input).await?;
        tx.commit().await.map_err(db_err)?;
        drop(_g);
        Ok(out)
    }

    /// [`Self::idem_check`] and [`Self::tx_balances`] in one round trip: the earlier
    /// result id for a replay (or [`StoreError::KeyReuse`]), and the balances.
    async fn idem_and_balances(
        tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
        k: &str,
        digest: &str,
        org: OrgId,
    ) -> StoreResult<(Option<i64>, Balances)> {
        let rows = sqlx::query(
            "SELECT account, balance, NULL AS digest FROM account_balances WHERE account IN ($1, $2, $3, $4) \
             UNION ALL SELECT 'credit_line' AS account, limit_fen AS balance, NULL AS digest FROM credit_lines WHERE org_id = $5 \
             UNION ALL SELECT 'op_idem' AS account, result_id AS balance, body_digest AS digest FROM op_idem WHERE key = $6",
        )
        .bind(Account::Cash(org).key())
        .bind(Account::Voucher(org).key())
        .bind(Account::Credit(org).key())
        .bind(Account::Frozen(org).key())
        .bind(org.get())
        .bind(k.to_owned())
        .fetch_all(&mut **tx)
        .await
        .map_err(db_err)?;
        let mut prior = None;
        let mut pairs = Vec::with_capacity(rows.len());
        for r in rows {
            let acc: String = col!(r, "account");
            if acc == "op_idem" {
                let d: Option<String> = col!(r, "digest");
                if d.as_deref() != Some(digest) {
                    return Err(StoreError::KeyReuse);
                }
                prior = Some(col!(r, "balance"));
            } else {
                pairs.push((acc, col!(r, "balance")));
            }
        }
        Ok((prior, decode::balances(pairs)?))
    }
}

/// A purchase's writes inside a PostgreSQL transaction.
struct PgWrites<'t> {
    tx: &'t mut sqlx::Transaction<'static, sqlx::Postgres>,
}

impl PurchaseWrites for PgWrites<'_> {
    async fn coupon(&mut self, code: &str) -> StoreResult<Option<StoredCoupon>> {
        let sql = format!("SELECT {COUPON_COLS} FROM coupons WHERE code = $1");
        let r = sqlx::query(&sql)
            .bind(code.to_owned())
            .fetch_optional(&mut **self.tx)
            .await
            .map_err(db_err)?;
        r.as_ref().map(decode::stored_coupon).transpose()
    }

    async fn insert_instance(&mut self, i: &InstanceRecord) -> StoreResult<i64> {
        let r = sqlx::query(INSERT_INSTANCE)
            .bind(i.org.get())
            .bind(i.user.get())
            .bind(i.product_id)
            .bind(i.spec_id)
            .bind(i.supplier.get())
            .bind(i.mode.as_str())
            .bind(i64::from(i.quantity))
            .bind(i.status.as_str())
            .bind(to_json(&i.pricing)?)
            .bind(i64::from(i.supplier_share_bp.get()))
            .bind(i.anchor_ms)
            .bind(i64::from(i.months_total))
            .bind(i.span_start_ms)
            .bind(i.ends_ms)
            .bind(i.paid.cash_fen.get())
            .bind(i.paid.voucher_fen.get())
            .bind(i.paid.credit_fen.get())
            .bind(i.paid_shares.supplier_fen.get())
            .bind(i.paid_shares.operator_fen.get())
            .bind(i.metered_ms)
            .bind(i.created_ms)
            .fetch_one(&mut **self.tx)
            .await
            .map_err(db_err)?;
        Ok(col!(r, "id"))
    }

    async fn insert_order(&mut self, row: &OrderRow<'_>) -> StoreResult<OrderRecord> {
        PgStore::insert_order(self.tx, row).await
    }

    async fn post(
        &mut self,
        jt: &JournalTx,
        org: OrgId,
        instance: i64,
        channel: &str,
        at_ms: i64,
    ) -> StoreResult<i64> {
        PgStore::post_tx(self.tx, jt, Some(org), Some(instance), channel, at_ms).await
    }

    async fn bill_item(
        &mut self,
        inst: &InstanceRecord,
        kind: &str,
        amount: Fen,
        discount: Fen,
        at_ms: i64,
    ) -> StoreResult<()> {
        PgStore::bill_item(self.tx, inst, kind, amount, discount, Fen::ZERO, at_ms).await
    }

    async fn insert_hold(
        &mut self,
        org: OrgId,
        instance: i64,
        amount: Fen,
        at_ms: i64,
    ) -> StoreResult<i64> {
        let r = sqlx::query(
            "INSERT INTO holds (org_id, instance_id, amount_fen, posted_fen, status, created_ms) \
             VALUES ($1, $2, $3, 0, 'pending', $4) RETURNING id",
        )
        .bind(org.get())
        .bind(instance)
        .bind(amount.get())
        .bind(at_ms)
        .fetch_one(&mut **self.tx)
        .await
        .map_err(db_err)?;
        Ok(col!(r, "id"))
    }

    async fn set_hold(&mut self, instance: i64, hold: i64) -> StoreResult<()> {
        sqlx::query("UPDATE instances SET hold_id = $1 WHERE id = $2")
            .bind(hold)
            .bind(instance)
            .execute(&mut **self.tx)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn use_coupon(&mut self, coupon: i64, order: i64) -> StoreResult<bool> {
        let n = sqlx::query(
            "UPDATE coupons SET used_order_id = $1 WHERE id = $2 AND used_order_id IS NULL",
        )
        .bind(order)
        .bind(coupon)
        .execute(&mut **self.tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        Ok(n == 1)
    }

    async fn idem_put(&mut self, key: &str, digest: &str, order: i64) -> StoreResult<()> {
        PgStore::idem_put(self.tx, key, digest, order).await
    }
}
