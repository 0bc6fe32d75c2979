//! Row decoders of the money tables (one per record type), for both sqlx backends.

macro_rules! money_rows {
    ($Store:ident, $Row:ty, $Db:ty, $lock:literal) => {
        impl $Store {
            fn grant_row(r: &$Row) -> StoreResult<GrantRecord> {
                let kind: String = col!(r, "kind");
                Ok(GrantRecord {
                    id: col!(r, "id"),
                    org: oid(col!(r, "org_id"))?,
                    kind: GrantKind::parse(&kind).ok_or_else(|| cor("grant kind"))?,
                    amount_fen: fen(col!(r, "amount_fen"))?,
                    idem_key: col!(r, "idem_key"),
                    entered_by: uid(col!(r, "entered_by"))?,
                    entered_ms: col!(r, "entered_ms"),
                    status: col!(r, "status"),
                    decided_by: r
                        .try_get::<Option<i64>, _>("decided_by")
                        .map_err(cor)?
                        .map(uid)
                        .transpose()?,
                    decided_ms: col!(r, "decided_ms"),
                })
            }

            fn product_row(r: &$Row) -> StoreResult<ProductRecord> {
                Ok(ProductRecord {
                    id: col!(r, "id"),
                    category_id: col!(r, "category_id"),
                    name: col!(r, "name"),
                    supplier: oid(col!(r, "supplier_org_id"))?,
                    region: col!(r, "region"),
                    manual_provisioning: col!(r, "manual_provisioning"),
                    supplier_share_bp: Bp::new(u32_of(col!(r, "supplier_share_bp"))?)
                        .map_err(cor)?,
                    published: col!(r, "published"),
                    created_ms: col!(r, "created_ms"),
                })
            }

            fn spec_row(r: &$Row) -> StoreResult<SpecRecord> {
                let pricing: String = col!(r, "pricing");
                Ok(SpecRecord {
                    id: col!(r, "id"),
                    product_id: col!(r, "product_id"),
                    family: col!(r, "family"),
                    name: col!(r, "name"),
                    pricing: from_json(&pricing)?,
                    version: col!(r, "version"),
                    created_ms: col!(r, "created_ms"),
                })
            }

            fn inst_row(r: &$Row) -> StoreResult<InstanceRecord> {
                let pricing: String = col!(r, "pricing");
                let mode: String = col!(r, "mode");
                let status: String = col!(r, "status");
                Ok(InstanceRecord {
                    id: col!(r, "id"),
                    org: oid(col!(r, "org_id"))?,
                    user: uid(col!(r, "user_id"))?,
                    product_id: col!(r, "product_id"),
                    spec_id: col!(r, "spec_id"),
                    supplier: oid(col!(r, "supplier_org_id"))?,
                    mode: ChargingMode::parse(&mode).ok_or_else(|| cor("mode"))?,
                    quantity: u32_of(col!(r, "quantity"))?,
                    status: InstanceStatus::parse(&status).ok_or_else(|| cor("status"))?,
                    pricing: from_json(&pricing)?,
                    supplier_share_bp: Bp::new(u32_of(col!(r, "supplier_share_bp"))?)
                        .map_err(cor)?,
                    anchor_ms: col!(r, "anchor_ms"),
                    months_total: u32_of(col!(r, "months_total"))?,
                    span_start_ms: col!(r, "span_start_ms"),
                    ends_ms: col!(r, "ends_ms"),
                    paid: Funding {
                        cash_fen: fen(col!(r, "paid_cash_fen"))?,
                        voucher_fen: fen(col!(r, "paid_voucher_fen"))?,
                        credit_fen: fen(col!(r, "paid_credit_fen"))?,
                    },
                    paid_shares: Shares {
                        supplier_fen: fen(col!(r, "paid_supplier_fen"))?,
                        operator_fen: fen(col!(r, "paid_operator_fen"))?,
                    },
                    reminders_sent: u32_of(col!(r, "reminders_sent"))?,
                    metered_ms: col!(r, "metered_ms"),
                    usage_minutes: u64::try_from(
                        r.try_get::<i64, _>("usage_minutes").map_err(cor)?,
                    )
                    .map_err(cor)?,
                    usage_charged_fen: fen(col!(r, "usage_charged_fen"))?,
                    usage_unpaid_fen: fen(col!(r, "usage_unpaid_fen"))?,
                    hold_id: col!(r, "hold_id"),
                    resource_id: col!(r, "resource_id"),
                    access_address: col!(r, "access_address"),
                    opened_ms: col!(r, "opened_ms"),
                    accepted_by: r
                        .try_get::<Option<i64>, _>("accepted_by")
                        .map_err(cor)?
                        .map(uid)
                        .transpose()?,
                    created_ms: col!(r, "created_ms"),
                    released_ms: col!(r, "released_ms"),
                })
            }

            fn order_row(r: &$Row) -> StoreResult<OrderRecord> {
                let mode: String = col!(r, "mode");
                let breakdown: String = col!(r, "breakdown");
                Ok(OrderRecord {
                    id: col!(r, "id"),
                    org: oid(col!(r, "org_id"))?,
                    user: uid(col!(r, "user_id"))?,
                    kind: col!(r, "kind"),
                    instance_id: col!(r, "instance_id"),
                    product_id: col!(r, "product_id"),
                    spec_id: col!(r, "spec_id"),
                    mode: ChargingMode::parse(&mode).ok_or_else(|| cor("mode"))?,
                    months: u32_of(col!(r, "months"))?,
                    quantity: u32_of(col!(r, "quantity"))?,
                    breakdown: from_json(&breakdown)?,
                    charged_fen: fen(col!(r, "charged_fen"))?,
                    refunded_fen: fen(col!(r, "refunded_fen"))?,
                    discount_fen: fen(col!(r, "discount_fen"))?,
                    deposit_fen: fen(col!(r, "deposit_fen"))?,
                    funding: Funding {
                        cash_fen: fen(col!(r, "cash_fen"))?,
                        voucher_fen: fen(col!(r, "voucher_fen"))?,
                        credit_fen: fen(col!(r, "credit_fen"))?,
                    },
                    created_ms: col!(r, "created_ms"),
                })
            }

            fn offline_row(r: &$Row) -> StoreResult<OfflineRecord> {
                let dir: String = col!(r, "direction");
                Ok(OfflineRecord {
                    id: col!(r, "id"),
                    org: oid(col!(r, "org_id"))?,
                    direction: if dir == "in" {
                        Direction::In
                    } else {
                        Direction::Out
                    },
                    amount_fen: fen(col!(r, "amount_fen"))?,
                    reference: col!(r, "reference"),
                    entered_by: uid(col!(r, "entered_by"))?,
                    entered_ms: col!(r, "entered_ms"),
                    status: col!(r, "status"),
                    decided_by: r
                        .try_get::<Option<i64>, _>("decided_by")
                        .map_err(cor)?
                        .map(uid)
                        .transpose()?,
                    decided_ms: col!(r, "decided_ms"),
                    journal_tx_id: col!(r, "journal_tx_id"),
                })
            }

            fn payment_row(r: &$Row) -> StoreResult<PaymentRecord> {
                Ok(PaymentRecord {
                    id: col!(r, "id"),
                    org: oid(col!(r, "org_id"))?,
                    user: uid(col!(r, "user_id"))?,
                    provider: col!(r, "provider"),
                    provider_ref: col!(r, "provider_ref"),
                    amount_fen: fen(col!(r, "amount_fen"))?,
                    status: col!(r, "status"),
                    created_ms: col!(r, "created_ms"),
                    confirmed_ms: col!(r, "confirmed_ms"),
                    journal_tx_id: col!(r, "journal_tx_id"),
                })
            }

            /// Balances from `(account, balance)` rows (see [`Self::tx_balances`]).
            fn balances_of(rows: &[$Row]) -> StoreResult<Balances> {
                let mut b = Balances::default();
                for r in rows {
                    let acc: String = col!(r, "account");
                    let v: i64 = col!(r, "balance");
                    if acc == "credit_line" {
                        b.credit_line_fen = v;
                        continue;
                    }
                    match Account::parse(&acc) {
                        Some(Account::Cash(_)) => b.cash_fen = v,
                        Some(Account::Voucher(_)) => b.voucher_fen = v,
                        Some(Account::Credit(_)) => b.credit_used_fen = -v,
                        Some(Account::Frozen(_)) => b.frozen_fen = v,
                        _ => return Err(cor("balance account")),
                    }
                }
                Ok(b)
            }
        }
    };
}
