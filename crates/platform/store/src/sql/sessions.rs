//! `OpsStore`: sessions and tokens, invites and registrations, DID keys.

macro_rules! sql_sessions {
    ($Store:ident, $Row:ty) => {
        impl $Store {
            async fn create_session(&self, s: &SessionRecord) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO sessions (token_hash, user_id, csrf_token, created_ms, expires_ms) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&s.token_hash)
                .bind(s.user.get())
                .bind(&s.csrf_token)
                .bind(s.created_ms)
                .bind(s.expires_ms)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            async fn get_session(&self, token_hash: &str) -> StoreResult<Option<SessionRecord>> {
                let row = sqlx::query(
                    "SELECT token_hash, user_id, csrf_token, created_ms, expires_ms FROM sessions WHERE token_hash = $1",
                )
                .bind(token_hash.to_owned())
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
                let Some(r) = row else { return Ok(None) };
                let g = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
                Ok(Some(SessionRecord {
                    token_hash: r.try_get("token_hash").map_err(g)?,
                    user: user_id(r.try_get("user_id").map_err(g)?)?,
                    csrf_token: r.try_get("csrf_token").map_err(g)?,
                    created_ms: r.try_get("created_ms").map_err(g)?,
                    expires_ms: r.try_get("expires_ms").map_err(g)?,
                }))
            }

            async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
                sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
                    .bind(token_hash.to_owned())
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn trim_sessions(
                &self,
                user: UserId,
                keep: u32,
                now_ms: i64,
                protect: &str,
            ) -> StoreResult<u32> {
                let mut tx = self.pool.begin().await.map_err(db_err)?;
                sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND expires_ms <= $2")
                    .bind(user.get())
                    .bind(now_ms)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                // Select the survivors, then end the rest (portable to both dialects).
                let rows = sqlx::query(
                    "SELECT token_hash FROM sessions WHERE user_id = $1 \
                     ORDER BY CASE WHEN token_hash = $3 THEN 0 ELSE 1 END, created_ms DESC, token_hash \
                     LIMIT $2",
                )
                .bind(user.get())
                .bind(i64::from(keep))
                .bind(protect.to_owned())
                .fetch_all(&mut *tx)
                .await
                .map_err(db_err)?;
                let keep_hashes: Vec<String> = rows
                    .iter()
                    .map(|r| r.try_get("token_hash").map_err(|e| StoreError::Corrupt(e.to_string())))
                    .collect::<StoreResult<_>>()?;
                let all = sqlx::query("SELECT token_hash FROM sessions WHERE user_id = $1")
                    .bind(user.get())
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(db_err)?;
                let mut ended = 0u32;
                for r in &all {
                    let h: String = r.try_get("token_hash").map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    if !keep_hashes.contains(&h) {
                        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
                            .bind(h)
                            .execute(&mut *tx)
                            .await
                            .map_err(db_err)?;
                        ended += 1;
                    }
                }
                tx.commit().await.map_err(db_err)?;
                Ok(ended)
            }

            async fn create_token(&self, t: &NewToken) -> StoreResult<TokenRecord> {
                let row = sqlx::query(
                    "INSERT INTO api_tokens (user_id, name, token_hash, scopes, created_ms, expires_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .bind(t.user.get())
                .bind(&t.name)
                .bind(&t.token_hash)
                .bind(scopes_text(&t.scopes))
                .bind(t.created_ms)
                .bind(t.expires_ms)
                .fetch_one(&self.pool)
                .await
                .map_err(db_err)?;
                let id: i64 = row.try_get("id").map_err(|e| StoreError::Corrupt(e.to_string()))?;
                Ok(TokenRecord {
                    id: TokenId::new(id).ok_or_else(|| corrupt("token id"))?,
                    user: t.user,
                    name: t.name.clone(),
                    token_hash: t.token_hash.clone(),
                    scopes: t.scopes.clone(),
                    created_ms: t.created_ms,
                    expires_ms: t.expires_ms,
                    revoked: false,
                })
            }

            async fn get_token_by_hash(&self, token_hash: &str) -> StoreResult<Option<TokenRecord>> {
                let sql = format!("SELECT {TOKEN_COLS} FROM api_tokens WHERE token_hash = $1");
                let row = sqlx::query(&sql)
                    .bind(token_hash.to_owned())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                row.as_ref().map(Self::token_row).transpose()
            }

            async fn token_principal(&self, token_hash: &str) -> StoreResult<Option<TokenPrincipal>> {
                // One row per role of the user (one row with a NULL role if it has none).
                let sql = format!(
                    "SELECT {USER_COLS}, \
                     t.id AS t_id, t.user_id AS t_user_id, t.name AS t_name, t.token_hash AS t_token_hash, \
                     t.scopes AS t_scopes, t.created_ms AS t_created_ms, t.expires_ms AS t_expires_ms, \
                     t.revoked AS t_revoked, o.id AS o_id, o.kind AS o_kind, o.name AS o_name, \
                     o.status AS o_status, o.distributor_id AS o_distributor_id, \
                     o.sales_owner AS o_sales_owner, o.created_ms AS o_created_ms, r.role AS r_role \
                     FROM api_tokens t JOIN users u ON u.id = t.user_id JOIN orgs o ON o.id = u.org_id \
                     LEFT JOIN user_roles r ON r.user_id = u.id WHERE t.token_hash = $1"
                );
                let rows = sqlx::query(&sql)
                    .bind(token_hash.to_owned())
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                let Some(first) = rows.first() else { return Ok(None) };
                let mut roles = Vec::with_capacity(rows.len());
                for r in &rows {
                    let role: Option<String> =
                        r.try_get("r_role").map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    if let Some(role) = role {
                        roles.push(Role::parse(&role).ok_or_else(|| corrupt("role"))?);
                    }
                }
                roles.sort();
                roles.dedup();
                Ok(Some(TokenPrincipal {
                    token: Self::token_row_as(first, "t_")?,
                    user: Self::user_fields(first, roles)?,
                    org: Self::org_row_as(first, "o_")?,
                }))
            }

            async fn list_tokens(&self, user: UserId) -> StoreResult<Vec<TokenRecord>> {
                let sql = format!(
                    "SELECT {TOKEN_COLS} FROM api_tokens WHERE user_id = $1 ORDER BY id LIMIT $2"
                );
                let rows = sqlx::query(&sql)
                    .bind(user.get())
                    .bind(i64::from(PAGE_SIZE_MAX))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter().map(Self::token_row).collect()
            }

            async fn revoke_token(&self, user: UserId, id: TokenId) -> StoreResult<bool> {
                let done = sqlx::query("UPDATE api_tokens SET revoked = $1 WHERE id = $2 AND user_id = $3")
                    .bind(true)
                    .bind(id.get())
                    .bind(user.get())
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn create_invite(&self, code: &str, distributor: OrgId, at_ms: i64) -> StoreResult<()> {
                sqlx::query("INSERT INTO invite_codes (code, distributor_id, created_ms) VALUES ($1, $2, $3)")
                    .bind(code.to_owned())
                    .bind(distributor.get())
                    .bind(at_ms)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn get_invite(&self, code: &str) -> StoreResult<Option<OrgId>> {
                let row = sqlx::query("SELECT distributor_id FROM invite_codes WHERE code = $1")
                    .bind(code.to_owned())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                match row {
                    Some(r) => Ok(Some(org_id(
                        r.try_get("distributor_id").map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    )?)),
                    None => Ok(None),
                }
            }

            async fn register(
                &self,
                org: &NewOrg,
                user: &NewUser,
                reg: &NewRegistration,
                key: Option<&NewUserKey>,
            ) -> StoreResult<RegistrationRecord> {
                let g = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
                let kind = match org.kind {
                    OrgKind::Enterprise => RegistrationKind::Enterprise,
                    OrgKind::Personal => RegistrationKind::Personal,
                    OrgKind::SupplierResource | OrgKind::SupplierApi if reg.supplier.is_some() => {
                        RegistrationKind::Supplier
                    }
                    _ => return Err(StoreError::Corrupt("registration of a non-customer kind".into())),
                };
                let mut tx = self.pool.begin().await.map_err(db_err)?;
                let oid: i64 = sqlx::query(
                    "INSERT INTO orgs (kind, name, status, distributor_id, created_ms) \
                     VALUES ($1, $2, $3, $4, $5) RETURNING id",
                )
                .bind(org.kind.as_str())
                .bind(&org.name)
                .bind(org.status.as_str())
                .bind(org.distributor.map(OrgId::get))
                .bind(org.created_ms)
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err)?
                .try_get("id")
                .map_err(g)?;
                let uid: i64 = sqlx::query(
                    "INSERT INTO users (org_id, login, display_name, password_hash, created_ms) \
                     VALUES ($1, $2, $3, $4, $5) RETURNING id",
                )
                .bind(oid)
                .bind(&user.login)
                .bind(&user.display_name)
                .bind(&user.password_hash)
                .bind(user.created_ms)
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err)?
                .try_get("id")
                .map_err(g)?;
                for role in &user.roles {
                    sqlx::query("INSERT INTO user_roles (user_id, role) VALUES ($1, $2)")
                        .bind(uid)
                        .bind(role.as_str())
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                }
                sqlx::query(
                    "INSERT INTO password_history (user_id, password_hash, created_ms) VALUES ($1, $2, $3)",
                )
                .bind(uid)
                .bind(&user.password_hash)
                .bind(user.created_ms)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                if let Some(k) = key {
                    Self::put_key(&mut tx, uid, k).await?;
                }
                let rid: i64 = sqlx::query(
                    "INSERT INTO registrations (kind, org_id, user_id, status, company_name, credit_code, \
                     licence_ref, legal_person, person_name, id_number_enc, id_number_masked, phone, \
                     invite_code, submitted_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
                )
                .bind(kind.as_str())
                .bind(oid)
                .bind(uid)
                .bind(RegistrationStatus::Pending.as_str())
                .bind(reg.company_name.clone())
                .bind(reg.credit_code.clone())
                .bind(reg.licence_ref.clone())
                .bind(reg.legal_person.clone())
                .bind(reg.person_name.clone())
                .bind(reg.id_number_enc.clone())
                .bind(reg.id_number_masked.clone())
                .bind(reg.phone.clone())
                .bind(reg.invite_code.clone())
                .bind(reg.submitted_ms)
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err)?
                .try_get("id")
                .map_err(g)?;
                if let Some(q) = &reg.supplier {
                    // A supplier registration's qualification credential (issue 16).
                    sqlx::query(
                        "INSERT INTO suppliers (org_id, registration_id, qualification, qualification_issuer, \
                         qualification_schema, claimed_credit_code, qualification_sha256) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(oid)
                    .bind(rid)
                    .bind(q.credential_json.clone())
                    .bind(q.issuer.clone())
                    .bind(q.schema_id.clone())
                    .bind(reg.credit_code.clone())
                    .bind(crate::qualification_sha256(&q.credential_json))
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                }
                tx.commit().await.map_err(db_err)?;
                let id = RegistrationId::new(rid).ok_or_else(|| corrupt("registration id"))?;
                self.get_registration(id).await?.ok_or(StoreError::NotFound)
            }

            async fn set_kyc_credential(
                &self,
                id: RegistrationId,
                reference: &str,
                credential_json: &str,
            ) -> StoreResult<()> {
                one(sqlx::query(
                    "UPDATE registrations SET kyc_credential_ref = $1, kyc_credential = $2 \
                     WHERE id = $3 AND status = $4 AND kyc_credential_ref IS NULL",
                )
                .bind(reference.to_owned())
                .bind(credential_json.to_owned())
                .bind(id.get())
                .bind(RegistrationStatus::Approved.as_str())
                .execute(&self.pool)
                .await
                .map_err(db_err)?
                .rows_affected())
            }

            async fn kyc_credential_of(&self, user: UserId) -> StoreResult<Option<String>> {
                let row = sqlx::query(
                    "SELECT kyc_credential FROM registrations WHERE user_id = $1 AND kyc_credential IS NOT NULL \
                     ORDER BY id DESC LIMIT 1",
                )
                .bind(user.get())
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
                row.map(|r| r.try_get("kyc_credential").map_err(|e| StoreError::Corrupt(e.to_string())))
                    .transpose()
            }

            async fn get_user_key(&self, user: UserId) -> StoreResult<Option<UserKeyRecord>> {
                let sql = format!("SELECT {KEY_COLS} FROM user_keys WHERE user_id = $1");
                let row = sqlx::query(&sql)
                    .bind(user.get())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                row.as_ref().map(Self::key_row).transpose()
            }

            async fn dids_pending(&self, limit: u32) -> StoreResult<Vec<UserKeyRecord>> {
                let sql = format!(
                    "SELECT {KEY_COLS} FROM user_keys WHERE did_created_ms IS NULL AND did_tx IS NOT NULL \
                     ORDER BY user_id LIMIT $1"
                );
                let rows = sqlx::query(&sql)
                    .bind(limit_of(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter().map(Self::key_row).collect()
            }

            async fn set_did_created(&self, user: UserId, at_ms: i64) -> StoreResult<()> {
                one(sqlx::query("UPDATE user_keys SET did_created_ms = $1 WHERE user_id = $2 AND did_tx IS NOT NULL")
                    .bind(at_ms)
                    .bind(user.get())
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?
                    .rows_affected())
            }

            async fn get_registration(&self, id: RegistrationId) -> StoreResult<Option<RegistrationRecord>> {
                let sql = format!("SELECT {REG_COLS} FROM registrations WHERE id = $1");
                let row = sqlx::query(&sql)
                    .bind(id.get())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                row.as_ref().map(Self::reg_row).transpose()
            }

            async fn list_registrations(
                &self,
                status: Option<RegistrationStatus>,
                after: Option<RegistrationId>,
                limit: u32,
            ) -> StoreResult<Vec<RegistrationRecord>> {
                let sql = format!(
                    "SELECT {REG_COLS} FROM registrations WHERE ($1 = '' OR status = $1) AND id > $2 \
                     ORDER BY id LIMIT $3"
                );
                let rows = sqlx::query(&sql)
                    .bind(status.map_or("", RegistrationStatus::as_str))
                    .bind(after.map_or(0, RegistrationId::get))
                    .bind(limit_of(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter().map(Self::reg_row).collect()
            }

            async fn decide_registration(&self, d: &Decision) -> StoreResult<RegistrationRecord> {
                let (reg_status, org_status) = if d.approve {
                    (RegistrationStatus::Approved, OrgStatus::Active)
                } else {
                    (RegistrationStatus::Rejected, OrgStatus::Rejected)
                };
                let mut tx = self.pool.begin().await.map_err(db_err)?;
                let row = sqlx::query(
                    "UPDATE registrations SET status = $1, reviewed_by = $2, reviewed_ms = $3, reason = $4 \
                     WHERE id = $5 AND status = $6 RETURNING org_id",
                )
                .bind(reg_status.as_str())
                .bind(d.reviewer.get())
                .bind(d.at_ms)
                .bind(d.reason.clone())
                .bind(d.id.get())
                .bind(RegistrationStatus::Pending.as_str())
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?
                .ok_or(StoreError::NotFound)?;
                let oid: i64 = row.try_get("org_id").map_err(|e| StoreError::Corrupt(e.to_string()))?;
                // Only a still-pending organisation follows its registration's decision; one
                // suspended meanwhile stays suspended.
                sqlx::query("UPDATE orgs SET status = $1 WHERE id = $2 AND status = 'pending'")
                    .bind(org_status.as_str())
                    .bind(oid)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                if let Some(report) = &d.qualification_report {
                    // An approved supplier's verified qualification (issue 16).
                    one(sqlx::query(
                        "UPDATE suppliers SET qualification_report = $1, qualification_verified_ms = $2 \
                         WHERE registration_id = $3",
                    )
                    .bind(report.clone())
                    .bind(d.at_ms)
                    .bind(d.id.get())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?
                    .rows_affected())?;
                }
                if !d.approve {
                    // A rejected supplier releases its credit code and credential (issue 16).
                    sqlx::query(
                        "UPDATE suppliers SET claimed_credit_code = NULL, qualification_sha256 = NULL \
                         WHERE registration_id = $1",
                    )
                    .bind(d.id.get())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                }
                tx.commit().await.map_err(db_err)?;
                self.get_registration(d.id).await?.ok_or(StoreError::NotFound)
            }
        }
    };
}
