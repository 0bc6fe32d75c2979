//! The audit log search (shared by the operations and system consoles).

use super::*;

/// Audit search filters.
#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    org: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    after: Option<u64>,
}

/// The audit log search (shared by the operations and system consoles).
pub async fn audit_view(
    s: &WebState,
    ctx: &Ctx,
    q: &AuditQuery,
    section: &layout::Section,
    base: &str,
) -> PageResult {
    let a = ctx.require(Permission::AuditRead)?;
    let lang = ctx.lang;
    let mut e = FormErrors::default();
    let num = |e: &mut FormErrors, name: &str, v: &str| -> Option<i64> {
        if v.trim().is_empty() {
            return None;
        }
        let n = v.trim().parse::<i64>().ok().filter(|n| *n > 0);
        if n.is_none() {
            e.add(name, lang.t("err.integer"));
        }
        n
    };
    let date = |e: &mut FormErrors, name: &str, v: &str| -> Option<i64> {
        if v.trim().is_empty() {
            return None;
        }
        let d = crate::console::parse_date(v);
        if d.is_none() {
            e.add(name, lang.t("err.date"));
        }
        d
    };
    let filter = AuditFilter {
        actor_org: num(&mut e, "org", &q.org),
        actor_user: num(&mut e, "user", &q.user),
        outcome: Outcome::parse(&q.outcome),
        from_ms: date(&mut e, "from", &q.from),
        to_ms: date(&mut e, "to", &q.to),
    };
    let list = if e.is_empty() {
        audit::search(&s.app, a, &filter, q.after.unwrap_or(0), LIST_PAGE_ROWS).await?
    } else {
        Vec::new()
    };
    let outcomes: Vec<(String, String)> = std::iter::once((String::new(), ctx.t("filter.any")))
        .chain(
            ["success", "denied", "error"]
                .iter()
                .map(|o| ((*o).to_owned(), ctx.t(&format!("audit.outcome.{o}")))),
        )
        .collect();
    let next = list.last().map(|r| {
        let qs = serde_urlencoded::to_string([
            ("org", q.org.as_str()),
            ("user", q.user.as_str()),
            ("outcome", q.outcome.as_str()),
            ("from", q.from.as_str()),
            ("to", q.to.as_str()),
            ("after", &r.seq.to_string()),
        ])
        .unwrap_or_default();
        format!("{base}?{qs}")
    });
    let body = html! {
        h1 { (ctx.t("ops.audit")) }
        form.filters method="get" action=(base) {
            (form::field(ctx, "org", "audit.actor_org", Kind::Integer, &q.org, &e, false))
            (form::field(ctx, "user", "audit.actor_user", Kind::Integer, &q.user, &e, false))
            (form::select(ctx, "outcome", "audit.outcome", &outcomes, &q.outcome, &e))
            (form::field(ctx, "from", "bills.period_from", Kind::Date, &q.from, &e, false))
            (form::field(ctx, "to", "bills.period_to", Kind::Date, &q.to, &e, false))
            div.actions { button type="submit" { (ctx.t("filter.apply")) } }
        }
        @if list.is_empty() { p.empty { (ctx.t("list.empty")) } } @else {
            table.data #audit {
                thead { tr { th { (ctx.t("audit.seq")) } th { (ctx.t("audit.time")) } th { (ctx.t("audit.actor")) } th { (ctx.t("audit.action")) } th { (ctx.t("audit.target")) } th { (ctx.t("audit.outcome")) } th { (ctx.t("audit.ip")) } } }
                tbody {
                    @for r in &list {
                        tr {
                            td { (r.seq) } td { (lang.datetime(r.event.at_ms)) }
                            td { (r.event.actor_user.map_or_else(|| "—".to_owned(), |u| u.to_string())) " / " (r.event.actor_org.map_or_else(|| "—".to_owned(), |o| o.to_string())) }
                            td { code { (r.event.action) } } td { (r.event.target) }
                            td { (ctx.t(&format!("audit.outcome.{}", r.event.outcome.as_str()))) " (" (r.event.status) ")" }
                            td { (r.event.ip) }
                        }
                    }
                }
            }
            @if list.len() == LIST_PAGE_ROWS as usize { @if let Some(n) = next { a href=(n) { (ctx.t("list.next")) } } }
        }
    };
    Ok(layout::page(ctx, &ctx.t("ops.audit"), Some(section), body))
}

/// `GET /ops/audit`
pub async fn audit(State(s): State<WebState>, ctx: Ctx, Query(q): Query<AuditQuery>) -> PageResult {
    audit_view(&s, &ctx, &q, &OPS, "/ops/audit").await
}
