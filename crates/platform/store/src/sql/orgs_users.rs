//! `OpsStore`: organisations and users (roles, passwords, lockout, TOTP, recovery codes).

macro_rules! sql_orgs_users {
    ($Store:ident, $Row:ty) => {
        impl $Store {
            async fn create_org(&self, new: &NewOrg) -> StoreResult<OrgRecord> {
                let row = sqlx::query(
                    "INSERT INTO orgs (kind, name, status, distributor_id, created_ms) \
                     VALUES ($1, $2, $3, $4, $5) RETURNING id",
                )
                .bind(new.kind.as_str())
                .bind(&new.name)
                .bind(new.status.as_str())
                .bind(new.distributor.map(OrgId::get))
                .bind(new.created_ms)
                .fetch_one(&self.pool)
                .await
                .map_err(db_err)?;
                let id: i64 = row.try_get("id").map_err(|e| StoreError::Corrupt(e.to_string()))?;
                Ok(OrgRecord {
                    id: org_id(id)?,
                    kind: new.kind,
                    name: new.name.clone(),
                    status: new.status,
                    distributor: new.distributor,
                    sales_owner: None,
                    created_ms: new.created_ms,
                })
            }

            async fn get_org(&self, id: OrgId) -> StoreResult<Option<OrgRecord>> {
                let sql = format!("SELECT {ORG_COLS} FROM orgs o WHERE o.id = $1");
                let row = sqlx::query(&sql)
                    .bind(id.get())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                row.as_ref().map(Self::org_row).transpose()
            }

            async fn list_orgs(
                &self,
                vis: OrgVisibility,
                after: Option<OrgId>,
                limit: u32,
            ) -> StoreResult<Vec<OrgRecord>> {
                let Some((all, own, dist, sales)) = vis_params(vis) else {
                    return Ok(Vec::new());
                };
                let sql = format!(
                    "SELECT {ORG_COLS} FROM orgs o WHERE {VIS_COND} AND o.id > $5 ORDER BY o.id LIMIT $6"
                );
                let rows = sqlx::query(&sql)
                    .bind(all)
                    .bind(own)
                    .bind(dist)
                    .bind(sales)
                    .bind(after.map_or(0, OrgId::get))
                    .bind(limit_of(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter().map(Self::org_row).collect()
            }

            async fn rename_org(&self, id: OrgId, name: &str) -> StoreResult<()> {
                one(sqlx::query("UPDATE orgs SET name = $1 WHERE id = $2").bind(name.to_owned()).bind(id.get()).execute(&self.pool).await.map_err(db_err)?.rows_affected())
            }

            async fn set_org_status(&self, id: OrgId, status: OrgStatus) -> StoreResult<()> {
                one(sqlx::query("UPDATE orgs SET status = $1 WHERE id = $2").bind(status.as_str()).bind(id.get()).execute(&self.pool).await.map_err(db_err)?.rows_affected())
            }

            async fn set_org_sales_owner(&self, id: OrgId, owner: Option<UserId>) -> StoreResult<()> {
                one(sqlx::query("UPDATE orgs SET sales_owner = $1 WHERE id = $2").bind(owner.map(UserId::get)).bind(id.get()).execute(&self.pool).await.map_err(db_err)?.rows_affected())
            }

            async fn orgs_by_ids(&self, ids: &[OrgId]) -> StoreResult<Vec<OrgRecord>> {
                let list = id_list(ids.iter().map(|i| i.get()));
                if list.is_empty() {
                    return Ok(Vec::new());
                }
                let sql = format!("SELECT {ORG_COLS} FROM orgs o WHERE o.id IN ({list}) ORDER BY o.id");
                let rows = sqlx::query(&sql)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter().map(Self::org_row).collect()
            }

            async fn any_org(&self) -> StoreResult<bool> {
                let row = sqlx::query("SELECT COUNT(*) AS n FROM orgs")
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db_err)?;
                let n: i64 = row.try_get("n").map_err(|e| StoreError::Corrupt(e.to_string()))?;
                Ok(n > 0)
            }

            async fn create_user(&self, new: &NewUser) -> StoreResult<UserRecord> {
                let mut tx = self.pool.begin().await.map_err(db_err)?;
                let row = sqlx::query(
                    "INSERT INTO users (org_id, login, display_name, password_hash, created_ms) \
                     VALUES ($1, $2, $3, $4, $5) RETURNING id",
                )
                .bind(new.org.get())
                .bind(&new.login)
                .bind(&new.display_name)
                .bind(&new.password_hash)
                .bind(new.created_ms)
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err)?;
                let id: i64 = row.try_get("id").map_err(|e| StoreError::Corrupt(e.to_string()))?;
                for role in &new.roles {
                    sqlx::query("INSERT INTO user_roles (user_id, role) VALUES ($1, $2)")
                        .bind(id)
                        .bind(role.as_str())
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                }
                sqlx::query(
                    "INSERT INTO password_history (user_id, password_hash, created_ms) VALUES ($1, $2, $3)",
                )
                .bind(id)
                .bind(&new.password_hash)
                .bind(new.created_ms)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                tx.commit().await.map_err(db_err)?;
                self.get_user(user_id(id)?).await?.ok_or(StoreError::NotFound)
            }

            async fn get_user(&self, id: UserId) -> StoreResult<Option<UserRecord>> {
                let sql = format!("SELECT {USER_COLS} FROM users u WHERE u.id = $1");
                let row = sqlx::query(&sql)
                    .bind(id.get())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                match row {
                    Some(r) => Ok(Some(self.user_row(&r).await?)),
                    None => Ok(None),
                }
            }

            async fn get_user_by_login(&self, login: &str) -> StoreResult<Option<UserRecord>> {
                let sql = format!("SELECT {USER_COLS} FROM users u WHERE u.login = $1");
                let row = sqlx::query(&sql)
                    .bind(login.to_owned())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                match row {
                    Some(r) => Ok(Some(self.user_row(&r).await?)),
                    None => Ok(None),
                }
            }

            async fn list_users(
                &self,
                vis: OrgVisibility,
                org: Option<OrgId>,
                after: Option<UserId>,
                limit: u32,
            ) -> StoreResult<Vec<UserRecord>> {
                let Some((all, own, dist, sales)) = vis_params(vis) else {
                    return Ok(Vec::new());
                };
                let sql = format!(
                    "SELECT {USER_COLS} FROM users u JOIN orgs o ON o.id = u.org_id \
                     WHERE {VIS_COND} AND ($5 = 0 OR u.org_id = $5) AND u.id > $6 \
                     ORDER BY u.id LIMIT $7"
                );
                let rows = sqlx::query(&sql)
                    .bind(all)
                    .bind(own)
                    .bind(dist)
                    .bind(sales)
                    .bind(org.map_or(0, OrgId::get))
                    .bind(after.map_or(0, UserId::get))
                    .bind(limit_of(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                let mut out = Vec::with_capacity(rows.len());
                for r in &rows {
                    out.push(self.user_row(r).await?);
                }
                Ok(out)
            }

            async fn set_user_roles(&self, id: UserId, roles: &[Role]) -> StoreResult<()> {
                let mut tx = self.pool.begin().await.map_err(db_err)?;
                sqlx::query("DELETE FROM user_roles WHERE user_id = $1")
                    .bind(id.get())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                for role in roles {
                    sqlx::query("INSERT INTO user_roles (user_id, role) VALUES ($1, $2)")
                        .bind(id.get())
                        .bind(role.as_str())
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                }
                tx.commit().await.map_err(db_err)
            }

            async fn set_user_disabled(&self, id: UserId, disabled: bool) -> StoreResult<()> {
                let mut tx = self.pool.begin().await.map_err(db_err)?;
                let done = sqlx::query("UPDATE users SET disabled = $1 WHERE id = $2")
                    .bind(disabled)
                    .bind(id.get())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                if disabled {
                    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                        .bind(id.get())
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                }
                tx.commit().await.map_err(db_err)
            }

            async fn set_password(
                &self,
                id: UserId,
                hash: &str,
                at_ms: i64,
                key: Option<&NewUserKey>,
            ) -> StoreResult<()> {
                let mut tx = self.pool.begin().await.map_err(db_err)?;
                if let Some(k) = key {
                    Self::put_key(&mut tx, id.get(), k).await?;
                }
                let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
                    .bind(hash.to_owned())
                    .bind(id.get())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                sqlx::query(
                    "INSERT INTO password_history (user_id, password_hash, created_ms) VALUES ($1, $2, $3)",
                )
                .bind(id.get())
                .bind(hash.to_owned())
                .bind(at_ms)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                    .bind(id.get())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                // A new password ends every credential derived from the old one.
                sqlx::query("UPDATE api_tokens SET revoked = $1 WHERE user_id = $2")
                    .bind(true)
                    .bind(id.get())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                tx.commit().await.map_err(db_err)
            }

            async fn password_history(&self, id: UserId, n: u32) -> StoreResult<Vec<String>> {
                let rows = sqlx::query(
                    "SELECT password_hash FROM password_history WHERE user_id = $1 ORDER BY id DESC LIMIT $2",
                )
                .bind(id.get())
                .bind(i64::from(n))
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
                rows.iter()
                    .map(|r| r.try_get("password_hash").map_err(|e| StoreError::Corrupt(e.to_string())))
                    .collect()
            }

            async fn add_failed_login(&self, id: UserId) -> StoreResult<u32> {
                let row = sqlx::query(
                    "UPDATE users SET failed_logins = failed_logins + 1 WHERE id = $1 RETURNING failed_logins",
                )
                .bind(id.get())
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?
                .ok_or(StoreError::NotFound)?;
                let n: i64 = row.try_get("failed_logins").map_err(|e| StoreError::Corrupt(e.to_string()))?;
                u32::try_from(n).map_err(|_| corrupt("failed_logins"))
            }

            async fn lock_user(&self, id: UserId, until_ms: i64) -> StoreResult<()> {
                one(sqlx::query("UPDATE users SET locked_until_ms = $1 WHERE id = $2").bind(until_ms).bind(id.get()).execute(&self.pool).await.map_err(db_err)?.rows_affected())
            }

            async fn clear_failed_logins(&self, id: UserId) -> StoreResult<()> {
                one(sqlx::query("UPDATE users SET failed_logins = 0, locked_until_ms = NULL WHERE id = $1").bind(id.get()).execute(&self.pool).await.map_err(db_err)?.rows_affected())
            }

            async fn set_totp(&self, id: UserId, secret_enc: Option<&[u8]>, enabled: bool) -> StoreResult<()> {
                one(sqlx::query("UPDATE users SET totp_secret_enc = $1, totp_enabled = $2 WHERE id = $3")
                        .bind(secret_enc.map(<[u8]>::to_vec))
                        .bind(enabled)
                        .bind(id.get()).execute(&self.pool).await.map_err(db_err)?.rows_affected())
            }

            async fn use_totp_step(&self, id: UserId, step: i64) -> StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE users SET totp_last_step = $1 WHERE id = $2 \
                     AND (totp_last_step IS NULL OR totp_last_step < $1)",
                )
                .bind(step)
                .bind(id.get())
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn replace_recovery_codes(&self, id: UserId, hashes: &[String]) -> StoreResult<()> {
                let mut tx = self.pool.begin().await.map_err(db_err)?;
                sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
                    .bind(id.get())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                for h in hashes {
                    sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
                        .bind(id.get())
                        .bind(h.clone())
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                }
                tx.commit().await.map_err(db_err)
            }

            async fn use_recovery_code(&self, id: UserId, hash: &str, at_ms: i64) -> StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE recovery_codes SET used_ms = $1 WHERE user_id = $2 AND code_hash = $3 AND used_ms IS NULL",
                )
                .bind(at_ms)
                .bind(id.get())
                .bind(hash.to_owned())
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(done.rows_affected() == 1)
            }
        }
    };
}
