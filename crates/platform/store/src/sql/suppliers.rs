//! `SupplierStore` (issue 16, onboarding): supplier records, their listing with the
//! organisations, and the enrolment of the supplier DID — one SQL text for both backends.

/// Columns of a `suppliers` row aliased `s`, as `s_<column>`.
pub(crate) const SUPPLIER_COLS: &str = "s.org_id AS s_org_id, s.registration_id AS s_registration_id, \
     s.qualification AS s_qualification, s.qualification_issuer AS s_qualification_issuer, \
     s.qualification_schema AS s_qualification_schema, s.qualification_report AS s_qualification_report, \
     s.qualification_verified_ms AS s_qualification_verified_ms, s.company_name AS s_company_name, \
     s.credit_code AS s_credit_code, s.legal_person AS s_legal_person, s.phone AS s_phone, s.did AS s_did, \
     s.admin_user AS s_admin_user, s.kyc_credential_ref AS s_kyc_credential_ref, \
     s.kyc_credential AS s_kyc_credential, s.enrolled_ms AS s_enrolled_ms";

/// Organisation kinds that are suppliers, as an SQL list.
pub(crate) const SUPPLIER_KINDS: &str = "('supplier_resource', 'supplier_api')";

macro_rules! sql_suppliers {
    ($Store:ident, $Row:ty) => {
        impl $Store {
            /// A supplier record from `s_…` columns; `None` when the left join found none.
            fn supplier_row(r: &$Row) -> StoreResult<Option<SupplierRecord>> {
                let g = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
                let Some(org) = r.try_get::<Option<i64>, _>("s_org_id").map_err(g)? else {
                    return Ok(None);
                };
                Ok(Some(SupplierRecord {
                    org: org_id(org)?,
                    registration: r
                        .try_get::<Option<i64>, _>("s_registration_id")
                        .map_err(g)?
                        .map(|v| RegistrationId::new(v).ok_or_else(|| corrupt("registration id")))
                        .transpose()?,
                    qualification: r.try_get("s_qualification").map_err(g)?,
                    qualification_issuer: r.try_get("s_qualification_issuer").map_err(g)?,
                    qualification_schema: r.try_get("s_qualification_schema").map_err(g)?,
                    qualification_report: r.try_get("s_qualification_report").map_err(g)?,
                    qualification_verified_ms: r.try_get("s_qualification_verified_ms").map_err(g)?,
                    company_name: r.try_get("s_company_name").map_err(g)?,
                    credit_code: r.try_get("s_credit_code").map_err(g)?,
                    legal_person: r.try_get("s_legal_person").map_err(g)?,
                    phone: r.try_get("s_phone").map_err(g)?,
                    did: r.try_get("s_did").map_err(g)?,
                    admin_user: opt_user(r.try_get("s_admin_user").map_err(g)?)?,
                    kyc_credential_ref: r.try_get("s_kyc_credential_ref").map_err(g)?,
                    kyc_credential: r.try_get("s_kyc_credential").map_err(g)?,
                    enrolled_ms: r.try_get("s_enrolled_ms").map_err(g)?,
                }))
            }
        }

        #[async_trait::async_trait]
        impl crate::SupplierStore for $Store {
            async fn get_supplier(&self, org: OrgId) -> StoreResult<Option<SupplierRecord>> {
                let sql = format!(
                    "SELECT {} FROM suppliers s WHERE s.org_id = $1",
                    suppliers::SUPPLIER_COLS
                );
                let row = sqlx::query(&sql)
                    .bind(org.get())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(match row {
                    Some(r) => Self::supplier_row(&r)?,
                    None => None,
                })
            }

            async fn list_suppliers(
                &self,
                after: Option<OrgId>,
                limit: u32,
            ) -> StoreResult<Vec<SupplierListRow>> {
                let sql = format!(
                    "SELECT {ORG_COLS}, {} FROM orgs o LEFT JOIN suppliers s ON s.org_id = o.id \
                     WHERE o.kind IN {} AND o.id > $1 ORDER BY o.id LIMIT $2",
                    suppliers::SUPPLIER_COLS,
                    suppliers::SUPPLIER_KINDS
                );
                let rows = sqlx::query(&sql)
                    .bind(after.map_or(0, OrgId::get))
                    .bind(limit_of(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter()
                    .map(|r| {
                        Ok(SupplierListRow {
                            org: Self::org_row(r)?,
                            supplier: Self::supplier_row(r)?,
                        })
                    })
                    .collect()
            }

            async fn set_supplier_qualification(&self, q: &SupplierQualification) -> StoreResult<()> {
                let sql = format!(
                    "INSERT INTO suppliers (org_id, company_name, credit_code, legal_person, phone, qualification, \
                     qualification_issuer, qualification_schema, qualification_report, qualification_verified_ms, \
                     claimed_credit_code, qualification_sha256) \
                     SELECT o.id, $2, $3, $4, $5, $6, $7, $8, $9, $10, $3, $11 FROM orgs o WHERE o.id = $1 AND o.kind IN {} \
                     ON CONFLICT (org_id) DO UPDATE SET company_name = excluded.company_name, \
                     credit_code = excluded.credit_code, legal_person = excluded.legal_person, phone = excluded.phone, \
                     claimed_credit_code = excluded.claimed_credit_code, \
                     qualification_sha256 = excluded.qualification_sha256, \
                     qualification = excluded.qualification, qualification_issuer = excluded.qualification_issuer, \
                     qualification_schema = excluded.qualification_schema, \
                     qualification_report = excluded.qualification_report, \
                     qualification_verified_ms = excluded.qualification_verified_ms \
                     WHERE suppliers.registration_id IS NULL AND suppliers.kyc_credential_ref IS NULL",
                    suppliers::SUPPLIER_KINDS
                );
                one(sqlx::query(&sql)
                    .bind(q.org.get())
                    .bind(q.company_name.clone())
                    .bind(q.credit_code.clone())
                    .bind(q.legal_person.clone())
                    .bind(q.phone.clone())
                    .bind(q.qualification.credential_json.clone())
                    .bind(q.qualification.issuer.clone())
                    .bind(q.qualification.schema_id.clone())
                    .bind(q.report.clone())
                    .bind(q.at_ms)
                    .bind(crate::qualification_sha256(&q.qualification.credential_json))
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?
                    .rows_affected())
            }

            async fn supplier_registrations_with_credit_code(
                &self,
                credit_code: &str,
                limit: u32,
            ) -> StoreResult<Vec<RegistrationRecord>> {
                let sql = format!(
                    "SELECT {REG_COLS} FROM registrations WHERE kind = 'supplier' AND credit_code = $1 \
                     ORDER BY id LIMIT $2"
                );
                let rows = sqlx::query(&sql)
                    .bind(credit_code.to_owned())
                    .bind(limit_of(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter().map(Self::reg_row).collect()
            }

            async fn set_supplier_enrolment(&self, e: &SupplierEnrolment) -> StoreResult<()> {
                let sql = format!(
                    "INSERT INTO suppliers (org_id, did, admin_user, kyc_credential_ref, kyc_credential, enrolled_ms) \
                     SELECT o.id, $2, $3, $4, $5, $6 FROM orgs o WHERE o.id = $1 AND o.kind IN {} \
                     ON CONFLICT (org_id) DO UPDATE SET did = excluded.did, admin_user = excluded.admin_user, \
                     kyc_credential_ref = excluded.kyc_credential_ref, kyc_credential = excluded.kyc_credential, \
                     enrolled_ms = excluded.enrolled_ms WHERE suppliers.kyc_credential_ref IS NULL",
                    suppliers::SUPPLIER_KINDS
                );
                one(sqlx::query(&sql)
                    .bind(e.org.get())
                    .bind(e.did.clone())
                    .bind(e.admin_user.get())
                    .bind(e.kyc_credential_ref.clone())
                    .bind(e.kyc_credential.clone())
                    .bind(e.at_ms)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?
                    .rows_affected())
            }
        }
    };
}
