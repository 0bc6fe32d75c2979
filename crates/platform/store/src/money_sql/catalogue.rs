//! `MoneyStore`, catalogue: categories, products, specs, discounts, coupons, counts.

macro_rules! money_catalogue {
    ($Store:ident, $Row:ty, $Db:ty, $lock:literal) => {
        impl $Store {
            async fn create_category(&self, name: &str, at_ms: i64) -> StoreResult<CategoryRecord> {
                let r = sqlx::query("INSERT INTO categories (name, created_ms) VALUES ($1, $2) RETURNING id")
                    .bind(name.to_owned())
                    .bind(at_ms)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(CategoryRecord { id: col!(r, "id"), name: name.to_owned(), created_ms: at_ms })
            }

            async fn list_categories(&self) -> StoreResult<Vec<CategoryRecord>> {
                let rows = sqlx::query("SELECT id, name, created_ms FROM categories ORDER BY id LIMIT $1")
                    .bind(limit_of(crate::PAGE_SIZE_MAX))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter()
                    .map(|r| Ok(CategoryRecord { id: col!(r, "id"), name: col!(r, "name"), created_ms: col!(r, "created_ms") }))
                    .collect()
            }

            async fn create_product(&self, p: &NewProduct) -> StoreResult<ProductRecord> {
                let r = sqlx::query(
                    "INSERT INTO products (category_id, name, supplier_org_id, region, manual_provisioning, supplier_share_bp, published, created_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                )
                .bind(p.category_id)
                .bind(p.name.clone())
                .bind(p.supplier.get())
                .bind(p.region.clone())
                .bind(p.manual_provisioning)
                .bind(i64::from(p.supplier_share.get()))
                .bind(false)
                .bind(p.at_ms)
                .fetch_one(&self.pool)
                .await
                .map_err(|e| match &e {
                    sqlx::Error::Database(d) if d.is_foreign_key_violation() => StoreError::NotFound,
                    _ => db_err(e),
                })?;
                self.get_product(col!(r, "id")).await?.ok_or(StoreError::NotFound)
            }

            async fn get_product(&self, id: i64) -> StoreResult<Option<ProductRecord>> {
                let sql = format!("SELECT {PRODUCT_COLS} FROM products WHERE id = $1");
                let r = sqlx::query(&sql).bind(id).fetch_optional(&self.pool).await.map_err(db_err)?;
                r.as_ref().map(decode::product).transpose()
            }

            async fn list_products(&self, published_only: bool, after: i64, limit: u32) -> StoreResult<Vec<ProductRecord>> {
                let sql = format!(
                    "SELECT {PRODUCT_COLS} FROM products WHERE (published = $1 OR $2) AND id > $3 ORDER BY id LIMIT $4"
                );
                let rows = sqlx::query(&sql)
                    .bind(true)
                    .bind(!published_only)
                    .bind(after)
                    .bind(limit_of(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter().map(decode::product).collect()
            }

            async fn set_product_published(&self, id: i64, published: bool) -> StoreResult<()> {
                let n = sqlx::query("UPDATE products SET published = $1 WHERE id = $2")
                    .bind(published)
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?
                    .rows_affected();
                if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
            }

            async fn create_spec(&self, s: &NewSpec) -> StoreResult<SpecRecord> {
                if self.get_product(s.product_id).await?.is_none() {
                    return Err(StoreError::NotFound);
                }
                let r = sqlx::query(
                    "INSERT INTO specs (product_id, family, name, pricing, version, created_ms) VALUES ($1, $2, $3, $4, 1, $5) RETURNING id",
                )
                .bind(s.product_id)
                .bind(s.family.clone())
                .bind(s.name.clone())
                .bind(to_json(&s.pricing)?)
                .bind(s.at_ms)
                .fetch_one(&self.pool)
                .await
                .map_err(db_err)?;
                self.get_spec(col!(r, "id")).await?.ok_or(StoreError::NotFound)
            }

            async fn get_spec(&self, id: i64) -> StoreResult<Option<SpecRecord>> {
                let sql = format!("SELECT {SPEC_COLS} FROM specs WHERE id = $1");
                let r = sqlx::query(&sql).bind(id).fetch_optional(&self.pool).await.map_err(db_err)?;
                r.as_ref().map(decode::spec).transpose()
            }

            async fn list_specs(&self, product_id: i64) -> StoreResult<Vec<SpecRecord>> {
                let sql = format!("SELECT {SPEC_COLS} FROM specs WHERE product_id = $1 ORDER BY id LIMIT $2");
                let rows = sqlx::query(&sql)
                    .bind(product_id)
                    .bind(limit_of(crate::PAGE_SIZE_MAX))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter().map(decode::spec).collect()
            }

            async fn specs_of_products(&self, product_ids: &[i64]) -> StoreResult<Vec<SpecRecord>> {
                let list = crate::sql::id_list(product_ids.iter().copied());
                if list.is_empty() {
                    return Ok(Vec::new());
                }
                let sql = format!("SELECT {SPEC_COLS} FROM specs WHERE product_id IN ({list}) ORDER BY product_id, id");
                let rows = sqlx::query(&sql)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter().map(decode::spec).collect()
            }

            async fn order_counts_by_day(&self, from_ms: i64, to_ms: i64) -> StoreResult<Vec<(i64, i64)>> {
                let rows = sqlx::query(
                    "SELECT CAST((created_ms + $3) / $4 AS BIGINT) AS day, CAST(COUNT(*) AS BIGINT) AS n FROM orders \
                     WHERE created_ms >= $1 AND created_ms < $2 GROUP BY day ORDER BY day",
                )
                .bind(from_ms)
                .bind(to_ms)
                .bind(suanli_platform_domain::money::CST_OFFSET_MS)
                .bind(suanli_platform_domain::money::DAY_MS)
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
                rows.iter()
                    .map(|r| {
                        let day: i64 = col!(r, "day");
                        Ok((day * suanli_platform_domain::money::DAY_MS - suanli_platform_domain::money::CST_OFFSET_MS, col!(r, "n")))
                    })
                    .collect()
            }

            async fn instance_counts_by_status(&self) -> StoreResult<Vec<(String, i64)>> {
                let rows = sqlx::query("SELECT status, CAST(COUNT(*) AS BIGINT) AS n FROM instances GROUP BY status ORDER BY status")
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter().map(|r| Ok((col!(r, "status"), col!(r, "n")))).collect()
            }

            async fn set_spec_pricing(&self, id: i64, pricing: &SpecPricing) -> StoreResult<SpecRecord> {
                let n = sqlx::query("UPDATE specs SET pricing = $1, version = version + 1 WHERE id = $2")
                    .bind(to_json(pricing)?)
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?
                    .rows_affected();
                if n == 0 {
                    return Err(StoreError::NotFound);
                }
                self.get_spec(id).await?.ok_or(StoreError::NotFound)
            }

            async fn create_discount(&self, scope: &DiscountScope, off: Bp, at_ms: i64) -> StoreResult<Discount> {
                let r = sqlx::query("INSERT INTO discounts (rule, off_bp, active, created_ms) VALUES ($1, $2, $3, $4) RETURNING id")
                    .bind(to_json(scope)?)
                    .bind(i64::from(off.get()))
                    .bind(true)
                    .bind(at_ms)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(Discount { id: col!(r, "id"), scope: scope.clone(), off_bp: off })
            }

            async fn list_discounts(&self) -> StoreResult<Vec<Discount>> {
                let mut tx = self.pool.begin().await.map_err(db_err)?;
                let d = Self::discounts_in(&mut *tx).await?;
                tx.commit().await.map_err(db_err)?;
                Ok(d)
            }

            async fn create_coupon(&self, c: &NewCoupon) -> StoreResult<CouponRecord> {
                let r = sqlx::query(
                    "INSERT INTO coupons (code, org_id, value, min_spend_fen, expires_ms, created_ms) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .bind(c.code.clone())
                .bind(c.org.map(OrgId::get))
                .bind(to_json(&c.value)?)
                .bind(c.min_spend.get())
                .bind(c.expires_ms)
                .bind(c.at_ms)
                .fetch_one(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(CouponRecord {
                    id: col!(r, "id"),
                    code: c.code.clone(),
                    org: c.org,
                    value: c.value,
                    min_spend_fen: c.min_spend,
                    expires_ms: c.expires_ms,
                    used_order_id: None,
                    created_ms: c.at_ms,
                })
            }

        }
    };
}
