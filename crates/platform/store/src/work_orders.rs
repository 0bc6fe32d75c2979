//! Provisioning work orders ([`WorkOrderStore`], migration `0009_work_orders`,
//! `docs/supply.md` §3) on both backends, from one SQL text.
//!
//! Every method is one statement: raising is an insert that keeps the first work order of
//! a (supplier, serial) pair (so an agent that retries after a crash gets the same one
//! back), and each move is a conditional update from the status the caller read
//! (`WHERE status = from`), so two concurrent moves cannot both apply: the second finds
//! no row in that status and answers [`StoreError::NotFound`]. The rules of which move is
//! allowed are the domain's (`suanli_platform_domain::supply::work_orders`).

use crate::decode::Cols;
use crate::money_sql::{cor, fen, oid, u32_of, uid};
use crate::sql::{db_err, limit_of};
use crate::{PgStore, SqliteStore, StoreError, StoreResult};
use suanli_platform_domain::money::Fen;
use suanli_platform_domain::supply::work_orders::{AccessDetails, WorkOrderStatus};
use suanli_platform_domain::{OrgId, UserId};

/// A work order to raise (the agent's request, checked by the service).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWorkOrder {
    /// The supplier organisation (the agent token's).
    pub supplier_org: OrgId,
    /// The trade's serial (32 lower-case hex characters).
    pub serial: String,
    /// The offer ordered from.
    pub offer_id: u64,
    /// The trade's supplier DID, as the trade chain names it.
    pub supplier_did: String,
    /// The trade's consumer DID, as the trade chain names it.
    pub consumer_did: String,
    /// Units ordered.
    pub units: u32,
    /// Minutes ordered.
    pub minutes: u64,
    /// Value escrowed with the order.
    pub value_fen: Fen,
    /// `AwaitingApproval` (manual policy) or `Open` (accepted by the agent).
    pub status: WorkOrderStatus,
    /// When.
    pub raised_ms: i64,
}

/// A stored work order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkOrderRecord {
    /// Id (1, 2, …).
    pub id: i64,
    /// The supplier organisation.
    pub supplier_org: OrgId,
    /// The trade's serial.
    pub serial: String,
    /// The offer.
    pub offer_id: u64,
    /// The trade's supplier DID.
    pub supplier_did: String,
    /// The trade's consumer DID.
    pub consumer_did: String,
    /// Units ordered.
    pub units: u32,
    /// Minutes ordered.
    pub minutes: u64,
    /// Value escrowed with the order.
    pub value_fen: Fen,
    /// Where it stands.
    pub status: WorkOrderStatus,
    /// When it was raised.
    pub raised_ms: i64,
    /// When the supplier approved or declined it, and who.
    pub decided_ms: Option<i64>,
    /// Who decided.
    pub decided_by: Option<UserId>,
    /// The access details, once filled.
    pub access: Option<AccessDetails>,
    /// When the details were (last) filled, and who.
    pub filled_ms: Option<i64>,
    /// Who filled.
    pub filled_by: Option<UserId>,
    /// When it was closed.
    pub closed_ms: Option<i64>,
}

/// The work orders' store methods (implemented by [`SqliteStore`] and [`PgStore`]).
#[async_trait::async_trait]
pub trait WorkOrderStore: Send + Sync {
    /// Raises a work order; if the supplier already has one for the serial, returns that
    /// one unchanged. `true` when this call created it.
    async fn raise_work_order(&self, new: &NewWorkOrder) -> StoreResult<(WorkOrderRecord, bool)>;
    /// One work order.
    async fn get_work_order(&self, id: i64) -> StoreResult<Option<WorkOrderRecord>>;
    /// The supplier's work order of trade `serial`, if raised.
    async fn work_order_by_serial(
        &self,
        supplier: OrgId,
        serial: &str,
    ) -> StoreResult<Option<WorkOrderRecord>>;
    /// A supplier's work orders, newest first (ids below `before`, when given), optionally
    /// of one status, at most `limit`.
    async fn list_supplier_work_orders(
        &self,
        supplier: OrgId,
        status: Option<WorkOrderStatus>,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<WorkOrderRecord>>;
    /// The work orders whose consumer DID is the DID of a user of `consumer` (the
    /// consumer's side), newest first.
    async fn list_consumer_work_orders(
        &self,
        consumer: OrgId,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<WorkOrderRecord>>;
    /// Approves or declines (`to`) a work order in status `from`.
    async fn decide_work_order(
        &self,
        id: i64,
        from: WorkOrderStatus,
        to: WorkOrderStatus,
        by: UserId,
        at_ms: i64,
    ) -> StoreResult<()>;
    /// Fills back (or corrects) the access details of a work order in status `from`;
    /// it becomes `filled`.
    async fn fill_work_order(
        &self,
        id: i64,
        from: WorkOrderStatus,
        access: &AccessDetails,
        by: UserId,
        at_ms: i64,
    ) -> StoreResult<()>;
    /// Closes a work order in status `from`.
    async fn close_work_order(&self, id: i64, from: WorkOrderStatus, at_ms: i64)
    -> StoreResult<()>;
}

const WO_COLS: &str = "id, supplier_org, serial, offer_id, supplier_did, consumer_did, units, \
     minutes, value_fen, status, raised_ms, decided_ms, decided_by, address, credentials_ref, \
     pool_id, filled_ms, filled_by, closed_ms";

fn one(rows: u64) -> StoreResult<()> {
    if rows == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

fn u64_of(v: i64) -> StoreResult<u64> {
    u64::try_from(v).map_err(cor)
}

fn i64_of(v: u64) -> StoreResult<i64> {
    i64::try_from(v).map_err(|_| StoreError::Rejected("number out of range".into()))
}

fn decode(r: &dyn Cols) -> StoreResult<WorkOrderRecord> {
    let status = r.text("status")?;
    let access = match (
        r.opt_text("address")?,
        r.opt_text("credentials_ref")?,
        r.opt_text("pool_id")?,
    ) {
        (Some(a), Some(c), Some(p)) => Some(AccessDetails::parse(&a, &c, &p).map_err(cor)?),
        (None, None, None) => None,
        _ => return Err(cor("work order: partial access details")),
    };
    Ok(WorkOrderRecord {
        id: r.i64("id")?,
        supplier_org: oid(r.i64("supplier_org")?)?,
        serial: r.text("serial")?,
        offer_id: u64_of(r.i64("offer_id")?)?,
        supplier_did: r.text("supplier_did")?,
        consumer_did: r.text("consumer_did")?,
        units: u32_of(r.i64("units")?)?,
        minutes: u64_of(r.i64("minutes")?)?,
        value_fen: fen(r.i64("value_fen")?)?,
        status: WorkOrderStatus::parse(&status).ok_or_else(|| cor("work order status"))?,
        raised_ms: r.i64("raised_ms")?,
        decided_ms: r.opt_i64("decided_ms")?,
        decided_by: r.opt_i64("decided_by")?.map(uid).transpose()?,
        access,
        filled_ms: r.opt_i64("filled_ms")?,
        filled_by: r.opt_i64("filled_by")?.map(uid).transpose()?,
        closed_ms: r.opt_i64("closed_ms")?,
    })
}

macro_rules! sql_work_orders {
    ($Store:ident) => {
        #[async_trait::async_trait]
        impl WorkOrderStore for $Store {
            async fn raise_work_order(
                &self,
                n: &NewWorkOrder,
            ) -> StoreResult<(WorkOrderRecord, bool)> {
                let done = sqlx::query(
                    "INSERT INTO work_orders (supplier_org, serial, offer_id, supplier_did, \
                     consumer_did, units, minutes, value_fen, status, raised_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                     ON CONFLICT (supplier_org, serial) DO NOTHING",
                )
                .bind(n.supplier_org.get())
                .bind(n.serial.clone())
                .bind(i64_of(n.offer_id)?)
                .bind(n.supplier_did.clone())
                .bind(n.consumer_did.clone())
                .bind(i64::from(n.units))
                .bind(i64_of(n.minutes)?)
                .bind(n.value_fen.get())
                .bind(n.status.as_str())
                .bind(n.raised_ms)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                let sql = format!(
                    "SELECT {WO_COLS} FROM work_orders WHERE supplier_org = $1 AND serial = $2"
                );
                let row = sqlx::query(&sql)
                    .bind(n.supplier_org.get())
                    .bind(n.serial.clone())
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok((decode(&row)?, done.rows_affected() == 1))
            }

            async fn get_work_order(&self, id: i64) -> StoreResult<Option<WorkOrderRecord>> {
                let sql = format!("SELECT {WO_COLS} FROM work_orders WHERE id = $1");
                let row = sqlx::query(&sql)
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                row.as_ref().map(|r| decode(r)).transpose()
            }

            async fn work_order_by_serial(
                &self,
                supplier: OrgId,
                serial: &str,
            ) -> StoreResult<Option<WorkOrderRecord>> {
                let sql = format!(
                    "SELECT {WO_COLS} FROM work_orders WHERE supplier_org = $1 AND serial = $2"
                );
                let row = sqlx::query(&sql)
                    .bind(supplier.get())
                    .bind(serial.to_owned())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                row.as_ref().map(|r| decode(r)).transpose()
            }

            async fn list_supplier_work_orders(
                &self,
                supplier: OrgId,
                status: Option<WorkOrderStatus>,
                before: Option<i64>,
                limit: u32,
            ) -> StoreResult<Vec<WorkOrderRecord>> {
                let sql = format!(
                    "SELECT {WO_COLS} FROM work_orders WHERE supplier_org = $1 \
                     AND ($2 = '' OR status = $2) AND id < $3 ORDER BY id DESC LIMIT $4"
                );
                let rows = sqlx::query(&sql)
                    .bind(supplier.get())
                    .bind(status.map(WorkOrderStatus::as_str).unwrap_or(""))
                    .bind(before.unwrap_or(i64::MAX))
                    .bind(limit_of(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter().map(|r| decode(r)).collect()
            }

            async fn list_consumer_work_orders(
                &self,
                consumer: OrgId,
                before: Option<i64>,
                limit: u32,
            ) -> StoreResult<Vec<WorkOrderRecord>> {
                let sql = format!(
                    "SELECT {WO_COLS} FROM work_orders WHERE consumer_did IN \
                     (SELECT k.did FROM user_keys k JOIN users u ON u.id = k.user_id \
                      WHERE u.org_id = $1 AND k.did IS NOT NULL) \
                     AND id < $2 ORDER BY id DESC LIMIT $3"
                );
                let rows = sqlx::query(&sql)
                    .bind(consumer.get())
                    .bind(before.unwrap_or(i64::MAX))
                    .bind(limit_of(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter().map(|r| decode(r)).collect()
            }

            async fn decide_work_order(
                &self,
                id: i64,
                from: WorkOrderStatus,
                to: WorkOrderStatus,
                by: UserId,
                at_ms: i64,
            ) -> StoreResult<()> {
                let done = sqlx::query(
                    "UPDATE work_orders SET status = $3, decided_ms = $4, decided_by = $5 \
                     WHERE id = $1 AND status = $2",
                )
                .bind(id)
                .bind(from.as_str())
                .bind(to.as_str())
                .bind(at_ms)
                .bind(by.get())
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                one(done.rows_affected())
            }

            async fn fill_work_order(
                &self,
                id: i64,
                from: WorkOrderStatus,
                access: &AccessDetails,
                by: UserId,
                at_ms: i64,
            ) -> StoreResult<()> {
                let done = sqlx::query(
                    "UPDATE work_orders SET status = 'filled', address = $3, \
                     credentials_ref = $4, pool_id = $5, filled_ms = $6, filled_by = $7 \
                     WHERE id = $1 AND status = $2",
                )
                .bind(id)
                .bind(from.as_str())
                .bind(access.address.as_str().to_owned())
                .bind(access.credentials_ref.as_str().to_owned())
                .bind(access.pool_id.as_str().to_owned())
                .bind(at_ms)
                .bind(by.get())
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                one(done.rows_affected())
            }

            async fn close_work_order(
                &self,
                id: i64,
                from: WorkOrderStatus,
                at_ms: i64,
            ) -> StoreResult<()> {
                let done = sqlx::query(
                    "UPDATE work_orders SET status = 'closed', closed_ms = $3 \
                     WHERE id = $1 AND status = $2",
                )
                .bind(id)
                .bind(from.as_str())
                .bind(at_ms)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                one(done.rows_affected())
            }
        }
    };
}

sql_work_orders!(SqliteStore);
sql_work_orders!(PgStore);
