//! `OpsStore`: the audit log and settings; the serialised audit appends of each backend
//! (SQLite: the writer thread; PostgreSQL: the appender task with batched commits).

use super::*;

macro_rules! sql_audit {
    ($Store:ident, $Row:ty) => {
        impl $Store {
            async fn append_audit(&self, event: &AuditEvent) -> StoreResult<AuditRecord> {
                self.append_audit_serialised(event).await
            }

            async fn list_audit(&self, after: u64, limit: u32) -> StoreResult<Vec<AuditRecord>> {
                let sql = format!(
                    "SELECT {AUDIT_COLS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2"
                );
                let rows = sqlx::query(&sql)
                    .bind(i64::try_from(after).unwrap_or(i64::MAX))
                    .bind(limit_of(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter().map(Self::audit_row).collect()
            }

            async fn query_audit(
                &self,
                f: &AuditFilter,
                after: u64,
                limit: u32,
            ) -> StoreResult<Vec<AuditRecord>> {
                let sql = format!(
                    "SELECT {AUDIT_COLS} FROM audit_log WHERE seq > $1 \
                     AND ($2 = 0 OR actor_org = $2) AND ($3 = 0 OR actor_user = $3) \
                     AND ($4 = '' OR outcome = $4) AND at_ms >= $5 AND at_ms < $6 \
                     ORDER BY seq LIMIT $7"
                );
                let rows = sqlx::query(&sql)
                    .bind(i64::try_from(after).unwrap_or(i64::MAX))
                    .bind(f.actor_org.unwrap_or(0))
                    .bind(f.actor_user.unwrap_or(0))
                    .bind(f.outcome.map_or("", Outcome::as_str))
                    .bind(f.from_ms.unwrap_or(i64::MIN))
                    .bind(f.to_ms.unwrap_or(i64::MAX))
                    .bind(limit_of(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter().map(Self::audit_row).collect()
            }

            async fn audit_head(&self) -> StoreResult<Option<(u64, [u8; 32])>> {
                let row = sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                let Some(r) = row else { return Ok(None) };
                let g = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
                let s: i64 = r.try_get("seq").map_err(g)?;
                let h: Vec<u8> = r.try_get("hash").map_err(g)?;
                Ok(Some((
                    u64::try_from(s).map_err(|_| corrupt("audit seq"))?,
                    hash32(h)?,
                )))
            }

            async fn get_setting(&self, key: &str) -> StoreResult<Option<String>> {
                let row = sqlx::query("SELECT value FROM settings WHERE key = $1")
                    .bind(key.to_owned())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                row.map(|r| {
                    r.try_get("value")
                        .map_err(|e| StoreError::Corrupt(e.to_string()))
                })
                .transpose()
            }

            async fn put_setting(&self, key: &str, value: &str) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO settings (key, value) VALUES ($1, $2) \
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                )
                .bind(key.to_owned())
                .bind(value.to_owned())
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(())
            }
        }
    };
}

impl SqliteStore {
    /// Appends on the writer thread (one hand-off, group commit).
    pub(super) async fn append_audit_serialised(
        &self,
        event: &AuditEvent,
    ) -> StoreResult<AuditRecord> {
        let event = event.clone();
        self.writer
            .call(move |conn| crate::sqlite_writer::append_audit(conn, &event))
            .await
    }
}

impl PgStore {
    /// Queues the append for the appender task and waits for its commit.
    pub(super) async fn append_audit_serialised(
        &self,
        event: &AuditEvent,
    ) -> StoreResult<AuditRecord> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let gone = || StoreError::Backend("the audit appender has stopped".into());
        self.audit
            .send((event.clone().bounded(), tx))
            .map_err(|_| gone())?;
        rx.await.map_err(|_| gone())?
    }

    /// The audit appender: one task per store appends every queued event (at most
    /// [`PG_AUDIT_BATCH_MAX`]) in one transaction under the table lock — one head read, one
    /// multi-row insert — and answers each caller after the commit (all with the error if
    /// it fails). Appends are serialised by this task within the process and by the table
    /// lock across processes, so the hash chain never forks. Ends when the store is dropped.
    pub(super) async fn audit_loop(
        pool: sqlx::PgPool,
        mut queue: tokio::sync::mpsc::UnboundedReceiver<AuditJob>,
    ) {
        while let Some(first) = queue.recv().await {
            let mut batch = vec![first];
            while batch.len() < PG_AUDIT_BATCH_MAX {
                match queue.try_recv() {
                    Ok(j) => batch.push(j),
                    Err(_) => break,
                }
            }
            let events: Vec<&AuditEvent> = batch.iter().map(|(e, _)| e).collect();
            match Self::append_batch(&pool, &events).await {
                Ok(records) => {
                    for ((_, answer), rec) in batch.into_iter().zip(records) {
                        let _ = answer.send(Ok(rec));
                    }
                }
                Err(e) => {
                    let msg = e.to_string();
                    for (_, answer) in batch {
                        let _ = answer.send(Err(StoreError::Backend(format!(
                            "audit append failed: {msg}"
                        ))));
                    }
                }
            }
        }
    }

    async fn append_batch(
        pool: &sqlx::PgPool,
        events: &[&AuditEvent],
    ) -> StoreResult<Vec<AuditRecord>> {
        // The table lock keeps a writer in another process from invalidating the head
        // we read.
        let mut tx = pool.begin_with("BEGIN").await.map_err(db_err)?;
        sqlx::query("LOCK TABLE audit_log IN EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        let head = sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        let (mut seq, mut prev) = match head {
            Some(r) => {
                let g = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
                let s: i64 = r.try_get("seq").map_err(g)?;
                let h: Vec<u8> = r.try_get("hash").map_err(g)?;
                (
                    u64::try_from(s).map_err(|_| corrupt("audit seq"))? + 1,
                    hash32(h)?,
                )
            }
            None => (1, GENESIS_PREV),
        };
        let mut records = Vec::with_capacity(events.len());
        for e in events {
            let hash = e.chain_hash(seq, &prev);
            records.push(AuditRecord {
                seq,
                event: (*e).clone(),
                prev_hash: prev,
                hash,
            });
            prev = hash;
            seq += 1;
        }
        let values: Vec<String> = (0..records.len())
            .map(|i| {
                let b = i * 12;
                let p: Vec<String> = (1..=12).map(|k| format!("${}", b + k)).collect();
                format!("({})", p.join(", "))
            })
            .collect();
        let sql = format!(
            "INSERT INTO audit_log ({AUDIT_COLS}) VALUES {}",
            values.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for r in &records {
            let e = &r.event;
            q = q
                .bind(i64::try_from(r.seq).map_err(|_| corrupt("audit seq"))?)
                .bind(e.at_ms)
                .bind(e.actor_user)
                .bind(e.actor_org)
                .bind(e.action.clone())
                .bind(e.target.clone())
                .bind(e.ip.clone())
                .bind(e.user_agent.clone())
                .bind(e.outcome.as_str())
                .bind(i64::from(e.status))
                .bind(r.prev_hash.to_vec())
                .bind(r.hash.to_vec());
        }
        q.execute(&mut *tx).await.map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(records)
    }
}
