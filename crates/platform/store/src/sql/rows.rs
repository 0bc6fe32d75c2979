//! Row decoders and small helpers of the operations tables, for both sqlx backends.

macro_rules! sql_rows {
    ($Store:ident, $Row:ty) => {
        impl $Store {
            async fn put_key(
                conn: &mut <<$Row as sqlx::Row>::Database as sqlx::Database>::Connection,
                uid: i64,
                key: &NewUserKey,
            ) -> StoreResult<()> {
                let (tx_ref, tx_hex) = key.did_tx.clone().unzip();
                let k = &key.sealed;
                let done = sqlx::query(KEY_UPSERT)
                    .bind(uid)
                    .bind(key.did.clone())
                    .bind(key.public_key.clone())
                    .bind(k.ciphertext.clone())
                    .bind(k.nonce.clone())
                    .bind(k.kdf_salt.clone())
                    .bind(k.kdf.clone())
                    .bind(i64::from(k.kdf_memory_kib))
                    .bind(i64::from(k.kdf_iterations))
                    .bind(i64::from(k.kdf_parallelism))
                    .bind(key.at_ms)
                    .bind(tx_ref)
                    .bind(tx_hex)
                    .execute(&mut *conn)
                    .await
                    .map_err(db_err)?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::Rejected(
                        "the user already has another key; keys are re-encrypted, never replaced"
                            .into(),
                    ));
                }
                Ok(())
            }

            fn key_row(r: &$Row) -> StoreResult<UserKeyRecord> {
                let g = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
                let small = |c: &str| -> StoreResult<u32> {
                    u32::try_from(r.try_get::<i64, _>(c).map_err(g)?).map_err(|_| corrupt(c))
                };
                let tx_ref: Option<String> = r.try_get("did_tx_ref").map_err(g)?;
                let tx_hex: Option<String> = r.try_get("did_tx").map_err(g)?;
                Ok(UserKeyRecord {
                    user: user_id(r.try_get("user_id").map_err(g)?)?,
                    did: r.try_get("did").map_err(g)?,
                    public_key: r.try_get("public_key").map_err(g)?,
                    sealed: SealedKey {
                        ciphertext: r.try_get("secret_enc").map_err(g)?,
                        nonce: r.try_get("nonce").map_err(g)?,
                        kdf_salt: r.try_get("kdf_salt").map_err(g)?,
                        kdf: r.try_get("kdf").map_err(g)?,
                        kdf_memory_kib: small("kdf_memory_kib")?,
                        kdf_iterations: small("kdf_iterations")?,
                        kdf_parallelism: small("kdf_parallelism")?,
                    },
                    created_ms: r.try_get("created_ms").map_err(g)?,
                    rewrapped_ms: r.try_get("rewrapped_ms").map_err(g)?,
                    did_tx: tx_ref.zip(tx_hex),
                    did_created_ms: r.try_get("did_created_ms").map_err(g)?,
                })
            }

            fn org_row(r: &$Row) -> StoreResult<OrgRecord> {
                Self::org_row_as(r, "")
            }

            async fn user_row(&self, r: &$Row) -> StoreResult<UserRecord> {
                let g = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
                let id = user_id(r.try_get("id").map_err(g)?)?;
                let roles = self.roles_of(id).await?;
                Self::user_fields(r, roles)
            }

            /// A user row's fields with its (already read) roles.
            fn user_fields(r: &$Row, roles: Vec<Role>) -> StoreResult<UserRecord> {
                let g = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
                let id = user_id(r.try_get("id").map_err(g)?)?;
                Ok(UserRecord {
                    id,
                    org: org_id(r.try_get("org_id").map_err(g)?)?,
                    login: r.try_get("login").map_err(g)?,
                    display_name: r.try_get("display_name").map_err(g)?,
                    password_hash: r.try_get("password_hash").map_err(g)?,
                    roles,
                    disabled: r.try_get("disabled").map_err(g)?,
                    failed_logins: u32::try_from(r.try_get::<i64, _>("failed_logins").map_err(g)?)
                        .map_err(|_| corrupt("failed_logins"))?,
                    locked_until_ms: r.try_get("locked_until_ms").map_err(g)?,
                    totp_secret_enc: r.try_get("totp_secret_enc").map_err(g)?,
                    totp_enabled: r.try_get("totp_enabled").map_err(g)?,
                    created_ms: r.try_get("created_ms").map_err(g)?,
                })
            }

            async fn roles_of(&self, id: UserId) -> StoreResult<Vec<Role>> {
                let rows =
                    sqlx::query("SELECT role FROM user_roles WHERE user_id = $1 ORDER BY role")
                        .bind(id.get())
                        .fetch_all(&self.pool)
                        .await
                        .map_err(db_err)?;
                let mut roles = rows
                    .iter()
                    .map(|r| {
                        let s: String = r
                            .try_get("role")
                            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                        Role::parse(&s).ok_or_else(|| corrupt("role"))
                    })
                    .collect::<StoreResult<Vec<_>>>()?;
                roles.sort();
                Ok(roles)
            }

            fn reg_row(r: &$Row) -> StoreResult<RegistrationRecord> {
                let g = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
                Ok(RegistrationRecord {
                    id: RegistrationId::new(r.try_get("id").map_err(g)?)
                        .ok_or_else(|| corrupt("registration id"))?,
                    kind: RegistrationKind::parse(&r.try_get::<String, _>("kind").map_err(g)?)
                        .ok_or_else(|| corrupt("registration kind"))?,
                    org: org_id(r.try_get("org_id").map_err(g)?)?,
                    user: user_id(r.try_get("user_id").map_err(g)?)?,
                    status: RegistrationStatus::parse(
                        &r.try_get::<String, _>("status").map_err(g)?,
                    )
                    .ok_or_else(|| corrupt("registration status"))?,
                    company_name: r.try_get("company_name").map_err(g)?,
                    credit_code: r.try_get("credit_code").map_err(g)?,
                    licence_ref: r.try_get("licence_ref").map_err(g)?,
                    legal_person: r.try_get("legal_person").map_err(g)?,
                    person_name: r.try_get("person_name").map_err(g)?,
                    id_number_enc: r.try_get("id_number_enc").map_err(g)?,
                    id_number_masked: r.try_get("id_number_masked").map_err(g)?,
                    phone: r.try_get("phone").map_err(g)?,
                    invite_code: r.try_get("invite_code").map_err(g)?,
                    submitted_ms: r.try_get("submitted_ms").map_err(g)?,
                    reviewed_by: opt_user(r.try_get("reviewed_by").map_err(g)?)?,
                    reviewed_ms: r.try_get("reviewed_ms").map_err(g)?,
                    reason: r.try_get("reason").map_err(g)?,
                    kyc_credential_ref: r.try_get("kyc_credential_ref").map_err(g)?,
                })
            }

            fn token_row(r: &$Row) -> StoreResult<TokenRecord> {
                Self::token_row_as(r, "")
            }

            /// A token from columns named `{p}id`, `{p}user_id`, ….
            fn token_row_as(r: &$Row, p: &str) -> StoreResult<TokenRecord> {
                let g = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
                let n = |c: &str| format!("{p}{c}");
                Ok(TokenRecord {
                    id: TokenId::new(r.try_get(n("id").as_str()).map_err(g)?)
                        .ok_or_else(|| corrupt("token id"))?,
                    user: user_id(r.try_get(n("user_id").as_str()).map_err(g)?)?,
                    name: r.try_get(n("name").as_str()).map_err(g)?,
                    token_hash: r.try_get(n("token_hash").as_str()).map_err(g)?,
                    scopes: parse_scopes(
                        &r.try_get::<String, _>(n("scopes").as_str()).map_err(g)?,
                    )?,
                    created_ms: r.try_get(n("created_ms").as_str()).map_err(g)?,
                    expires_ms: r.try_get(n("expires_ms").as_str()).map_err(g)?,
                    revoked: r.try_get(n("revoked").as_str()).map_err(g)?,
                })
            }

            /// An organisation from columns named `{p}id`, `{p}kind`, ….
            fn org_row_as(r: &$Row, p: &str) -> StoreResult<OrgRecord> {
                let g = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
                let n = |c: &str| format!("{p}{c}");
                Ok(OrgRecord {
                    id: org_id(r.try_get(n("id").as_str()).map_err(g)?)?,
                    kind: OrgKind::parse(&r.try_get::<String, _>(n("kind").as_str()).map_err(g)?)
                        .ok_or_else(|| corrupt("org kind"))?,
                    name: r.try_get(n("name").as_str()).map_err(g)?,
                    status: OrgStatus::parse(
                        &r.try_get::<String, _>(n("status").as_str()).map_err(g)?,
                    )
                    .ok_or_else(|| corrupt("org status"))?,
                    distributor: opt_org(r.try_get(n("distributor_id").as_str()).map_err(g)?)?,
                    sales_owner: opt_user(r.try_get(n("sales_owner").as_str()).map_err(g)?)?,
                    created_ms: r.try_get(n("created_ms").as_str()).map_err(g)?,
                })
            }

            fn audit_row(r: &$Row) -> StoreResult<AuditRecord> {
                let g = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
                Ok(AuditRecord {
                    seq: u64::try_from(r.try_get::<i64, _>("seq").map_err(g)?)
                        .map_err(|_| corrupt("audit seq"))?,
                    event: AuditEvent {
                        at_ms: r.try_get("at_ms").map_err(g)?,
                        actor_user: r.try_get("actor_user").map_err(g)?,
                        actor_org: r.try_get("actor_org").map_err(g)?,
                        action: r.try_get("action").map_err(g)?,
                        target: r.try_get("target").map_err(g)?,
                        ip: r.try_get("ip").map_err(g)?,
                        user_agent: r.try_get("user_agent").map_err(g)?,
                        outcome: Outcome::parse(&r.try_get::<String, _>("outcome").map_err(g)?)
                            .ok_or_else(|| corrupt("audit outcome"))?,
                        status: u16::try_from(r.try_get::<i64, _>("status").map_err(g)?)
                            .map_err(|_| corrupt("audit status"))?,
                    },
                    prev_hash: hash32(r.try_get("prev_hash").map_err(g)?)?,
                    hash: hash32(r.try_get("hash").map_err(g)?)?,
                })
            }
        }
    };
}
