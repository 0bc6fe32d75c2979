//! The platform's typed service layer: the one place where authorisation, organisation
//! visibility, limits and input validation of every platform operation live. The JSON
//! handlers ([`crate::handlers`], [`crate::money_api`]) decode a request, call a function
//! here and encode its answer; the web consoles (`suanli-platform-web`) call the same
//! functions with the same typed requests, so a page and an endpoint cannot disagree.
//!
//! Shape of a service function: `async fn op(s: &AppState, a: &Authed, req) ->
//! Result<T, ServiceError>` — the state, the authenticated caller, a typed request; the
//! answer is a typed record of `suanli-platform-store` (or a small struct of them).
//!
//! Invariants:
//! - every function that acts for a caller checks its [`Permission`] first, then the
//!   organisation visibility (objects of invisible organisations are
//!   [`ServiceError::NotFound`], never `Forbidden`, so ids cannot be probed), then the
//!   input (into domain newtypes), and only then touches the store;
//! - service functions know no HTTP: no status codes, headers or JSON bodies.
//!   [`ServiceError`] carries a stable `code` and the offending field; the one mapping to
//!   an HTTP status, `From<ServiceError> for ApiError`, sits at the end of this file
//!   (store errors go through `From<StoreError> for ApiError`, so both edges answer a
//!   store refusal alike);
//! - money-moving operations take an [`orders::Idem`] (client key + request digest): a
//!   replay answers the first outcome, another request under the same key a conflict.
//!
//! Areas (module → what it holds):
//! - [`orders`]: placing, pricing (quote, basket), renewal, unsubscribe, change of spec,
//!   operator acceptance, the operator's lists, the lifecycle pass;
//! - [`accounts`]: balances, statements, an organisation's orders/instances/messages,
//!   bills (and the CST date/month parsing), credit lines and cash vouchers (four eyes);
//! - [`payments`]: recharges through the provider, its confirmation, offline transfers;
//! - [`catalogue`]: the public catalogue, products, specs, prices, discounts, coupons;
//! - [`analytics`]: the operator's dashboard figures;
//! - [`orgs`], [`users`]: organisations and users within the caller's visibility;
//! - [`registrations`]: self-registration, review, approval with KYC enrolment;
//! - [`sessions`]: login and logout; [`me`]: password, TOTP, API tokens;
//!   [`keys`]: the caller's DID key and its export; [`security`]: password policy,
//!   hashing, the security settings; [`settings`]: free-form settings;
//!   [`audit`]: the audit log;
//! - [`supply_onboarding`]: suppliers' self-registration with a qualification credential,
//!   its verification at review, the supplier DID's enrolment, the supplier overview and list.

pub mod accounts;
pub mod analytics;
pub mod audit;
pub mod catalogue;
pub mod keys;
pub mod me;
pub mod orders;
pub mod orgs;
pub mod payments;
pub mod registrations;
pub mod security;
pub mod sessions;
pub mod settings;
// --- supply (issue 16, supply helper)
pub mod supply_catalog;
pub mod supply_money; // issue 16, supplier money
// Issue 16, the agent's part: provisioning work orders.
pub mod supply_agent_keys;
pub mod supply_hosted; // issue 16, platform-hosted agents
pub mod supply_work_orders;
pub mod users;
// issue 16
pub mod supply_onboarding;
// issue 17: the market in the product
pub mod market;
// issue 18, H-trades
pub mod trade_members;
pub mod trades;
pub mod trades_presigned; // issue 18: pre-signed orders
// Issue 18, billing: bills from check-ins, channel notices, the operator's view.
pub mod trade_bills;
pub mod trade_notices;
pub mod trade_ops;
pub mod trade_topup; // money review: the top-up checked against the cash, idempotent

use crate::AppState;
use crate::auth::{Authed, Via};
use suanli_platform_domain::money::{Bp, FEN_PER_REQUEST_MAX, Fen};
use suanli_platform_domain::pricing::SpecPricing;
use suanli_platform_domain::validate::BoundedText;
use suanli_platform_domain::{OrgId, Permission, Principal};
use suanli_platform_store::{InstanceRecord, OrgRecord, PAGE_SIZE_MAX, StoreError};

/// Why a service operation refused or failed. Each variant has a stable `code`
/// ([`ServiceError::code`], listed in `docs/api-errors.md`).
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The caller lacks the permission (`forbidden`), or its API token lacks the scope
    /// (`insufficient_scope`), or a rule forbids this caller (`four_eyes`,
    /// `payments_unavailable`, …).
    #[error("{message}")]
    Denied {
        /// Stable code.
        code: &'static str,
        /// The input that asked for what is refused, when there is one.
        field: Option<String>,
        /// Message (English).
        message: String,
    },
    /// The object exists already or the request contradicts an earlier one
    /// (`login_taken`, `conflict`, …).
    #[error("{message}")]
    Conflict {
        /// Stable code.
        code: &'static str,
        /// The offending input field, when there is one.
        field: Option<String>,
        /// Message (English).
        message: String,
    },
    /// Too many attempts (`too_many_attempts`, `account_locked`): try again later.
    #[error("{message}")]
    Throttled {
        /// Stable code.
        code: &'static str,
        /// Whether the account (not the client address) is locked.
        locked: bool,
        /// Message (English).
        message: String,
    },
    /// No such object, or not visible to the caller.
    #[error("no such resource")]
    NotFound,
    /// Something the caller's request needs does not exist yet (`no_key`).
    #[error("{message}")]
    Absent {
        /// Stable code.
        code: &'static str,
        /// Message (English).
        message: String,
    },
    /// Input that fails validation (`invalid_field`, `not_a_customer`, `not_paid`, …).
    #[error("{message}")]
    Invalid {
        /// Stable code.
        code: &'static str,
        /// The offending input field, when there is one.
        field: Option<String>,
        /// Message (English).
        message: String,
    },
    /// A malformed query, cursor or header (`invalid_query`, `missing_idempotency_key`, …).
    #[error("{message}")]
    Malformed {
        /// Stable code.
        code: &'static str,
        /// The offending parameter, when there is one.
        field: Option<String>,
        /// Message (English).
        message: String,
    },
    /// A credential that does not verify (`bad_signature`).
    #[error("{message}")]
    Unauthenticated {
        /// Stable code.
        code: &'static str,
        /// Message (English).
        message: String,
    },
    /// The store refused or failed (conflicts, insufficient balance, money rules, I/O).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A server-side fault outside the store (provider failure, serialisation).
    #[error("internal: {0}")]
    Internal(String),
}

/// Result of a service operation.
pub type ServiceResult<T> = Result<T, ServiceError>;

impl ServiceError {
    /// An invalid field value (`invalid_field`).
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        ServiceError::Invalid {
            code: "invalid_field",
            field: Some(field.to_owned()),
            message: message.into(),
        }
    }

    /// A malformed query parameter (`invalid_query`).
    pub fn bad_query(field: &str, message: impl Into<String>) -> Self {
        ServiceError::Malformed {
            code: "invalid_query",
            field: Some(field.to_owned()),
            message: message.into(),
        }
    }

    /// The permission is missing (`forbidden`).
    pub fn forbidden() -> Self {
        ServiceError::Denied {
            code: "forbidden",
            field: None,
            message: "you do not have permission for this".to_owned(),
        }
    }

    /// The stable code (store errors: see `From<StoreError> for ApiError`).
    pub fn code(&self) -> &'static str {
        match self {
            ServiceError::Denied { code, .. }
            | ServiceError::Conflict { code, .. }
            | ServiceError::Throttled { code, .. }
            | ServiceError::Absent { code, .. }
            | ServiceError::Invalid { code, .. }
            | ServiceError::Malformed { code, .. }
            | ServiceError::Unauthenticated { code, .. } => code,
            ServiceError::NotFound => "not_found",
            ServiceError::Store(_) => "store",
            ServiceError::Internal(_) => "internal",
        }
    }

    /// The offending input field, when there is one.
    pub fn field(&self) -> Option<&str> {
        match self {
            ServiceError::Invalid { field, .. }
            | ServiceError::Malformed { field, .. }
            | ServiceError::Denied { field, .. }
            | ServiceError::Conflict { field, .. } => field.as_deref(),
            _ => None,
        }
    }

    /// The same error, naming `field` as the offending one.
    pub fn at(self, field: &str) -> Self {
        match self {
            ServiceError::Invalid { code, message, .. } => ServiceError::Invalid {
                code,
                field: Some(field.to_owned()),
                message,
            },
            ServiceError::Malformed { code, message, .. } => ServiceError::Malformed {
                code,
                field: Some(field.to_owned()),
                message,
            },
            other => other,
        }
    }
}

impl Authed {
    /// Requires a permission: `insufficient_scope` when the roles grant it but the API
    /// token's scopes do not, `forbidden` otherwise.
    pub fn allow(&self, p: Permission) -> ServiceResult<()> {
        if self.principal.has(p) {
            return Ok(());
        }
        let by_roles = Principal::new(
            self.principal.user_id(),
            self.principal.org_id(),
            self.principal.org_kind(),
            self.principal.roles(),
        );
        if self.via == Via::Token && by_roles.has(p) {
            return Err(ServiceError::Denied {
                code: "insufficient_scope",
                field: None,
                message: format!("the API token lacks the scope {}", p.as_str()),
            });
        }
        Err(ServiceError::forbidden())
    }
}

/// A page of a list: items after the id `after`, at most `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Items after this id (0: from the start).
    pub after: i64,
    /// At most this many (1..=[`PAGE_SIZE_MAX`]).
    pub limit: u32,
}

impl Page {
    /// A page; a limit outside 1..=[`PAGE_SIZE_MAX`] is refused (`invalid_query`).
    pub fn new(after: Option<i64>, limit: u32) -> ServiceResult<Self> {
        if !(1..=PAGE_SIZE_MAX).contains(&limit) {
            return Err(ServiceError::bad_query(
                "limit",
                format!("limit must be between 1 and {PAGE_SIZE_MAX}"),
            ));
        }
        Ok(Page {
            after: after.unwrap_or(0),
            limit,
        })
    }
}

/// The organisation `id` if visible to the caller (else [`ServiceError::NotFound`]).
pub async fn visible_org(s: &AppState, a: &Authed, id: i64) -> ServiceResult<OrgRecord> {
    let org = s
        .store
        .get_org(OrgId::new(id).ok_or(ServiceError::NotFound)?)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if !a.principal.org_visibility().permits(&org.facts()) {
        return Err(ServiceError::NotFound);
    }
    Ok(org)
}

/// The caller's own organisation's instance `id` (another organisation's is not found).
pub async fn own_instance(s: &AppState, a: &Authed, id: i64) -> ServiceResult<InstanceRecord> {
    let inst = s
        .store
        .get_instance(id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if inst.org != a.org.id {
        return Err(ServiceError::NotFound);
    }
    Ok(inst)
}

/// A positive amount of one request: 1 to [`FEN_PER_REQUEST_MAX`] fen.
pub fn amount(raw: i64, field: &str) -> ServiceResult<Fen> {
    if !(1..=FEN_PER_REQUEST_MAX).contains(&raw) {
        return Err(ServiceError::invalid(
            field,
            format!("must be 1 to {FEN_PER_REQUEST_MAX} fen"),
        ));
    }
    Fen::new(raw).map_err(|e| ServiceError::invalid(field, e.to_string()))
}

/// A non-negative amount of one request: 0 to [`FEN_PER_REQUEST_MAX`] fen.
pub fn fen0(raw: i64, field: &str) -> ServiceResult<Fen> {
    if !(0..=FEN_PER_REQUEST_MAX).contains(&raw) {
        return Err(ServiceError::invalid(
            field,
            format!("must be 0 to {FEN_PER_REQUEST_MAX} fen"),
        ));
    }
    Fen::new(raw).map_err(|e| ServiceError::invalid(field, e.to_string()))
}

/// Basis points (0..=10000).
pub fn bp(raw: u32, field: &str) -> ServiceResult<Bp> {
    Bp::new(raw).map_err(|e| ServiceError::invalid(field, e.to_string()))
}

/// A bounded, printable text field.
pub fn text(raw: &str, field: &str) -> ServiceResult<String> {
    BoundedText::parse(raw)
        .map(|t| t.as_str().to_owned())
        .map_err(|e| ServiceError::invalid(field, e.to_string()))
}

/// A spec's pricing: valid, and every price within one request's maximum.
pub fn pricing(p: SpecPricing) -> ServiceResult<SpecPricing> {
    p.validate()
        .map_err(|e| ServiceError::invalid("pricing", e.to_string()))?;
    let too_big = |f: Fen| f.get() > FEN_PER_REQUEST_MAX;
    let bad = p
        .prepaid
        .as_ref()
        .is_some_and(|x| too_big(x.monthly_fen) || x.yearly_fen.is_some_and(too_big))
        || p.payg.as_ref().is_some_and(|x| {
            too_big(x.per_minute_fen) || too_big(x.minimum_fen) || too_big(x.deposit_fen)
        });
    if bad {
        return Err(ServiceError::invalid(
            "pricing",
            format!("prices must be at most {FEN_PER_REQUEST_MAX} fen"),
        ));
    }
    Ok(p)
}

impl From<ServiceError> for crate::error::ApiError {
    fn from(e: ServiceError) -> Self {
        use crate::error::ApiError;
        use axum::http::StatusCode;
        let with_field = |e: ApiError, f: Option<String>| match f {
            Some(f) => e.field(f),
            None => e,
        };
        match e {
            ServiceError::Denied {
                code,
                field,
                message,
            } => with_field(ApiError::new(StatusCode::FORBIDDEN, code, message), field),
            ServiceError::Conflict {
                code,
                field,
                message,
            } => with_field(ApiError::new(StatusCode::CONFLICT, code, message), field),
            ServiceError::Throttled {
                code,
                locked,
                message,
            } => {
                let status = if locked {
                    StatusCode::LOCKED
                } else {
                    StatusCode::TOO_MANY_REQUESTS
                };
                ApiError::new(status, code, message)
            }
            ServiceError::NotFound => ApiError::not_found(),
            ServiceError::Absent { code, message } => {
                ApiError::new(StatusCode::NOT_FOUND, code, message)
            }
            ServiceError::Invalid {
                code,
                field,
                message,
            } => with_field(
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message),
                field,
            ),
            ServiceError::Malformed {
                code,
                field,
                message,
            } => with_field(ApiError::new(StatusCode::BAD_REQUEST, code, message), field),
            ServiceError::Unauthenticated { code, message } => {
                ApiError::new(StatusCode::UNAUTHORIZED, code, message)
            }
            ServiceError::Store(e) => e.into(),
            ServiceError::Internal(m) => {
                tracing::error!(error = %m, "internal failure");
                ApiError::internal()
            }
        }
    }
}

#[cfg(test)]
mod redaction_tests;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::error::ApiError;
    use axum::http::StatusCode;

    #[test]
    fn each_refusal_keeps_its_code_and_field_and_gets_its_status() {
        let cases: Vec<(ServiceError, u16, &str, Option<&str>)> = vec![
            (ServiceError::forbidden(), 403, "forbidden", None),
            (ServiceError::NotFound, 404, "not_found", None),
            (
                ServiceError::Absent {
                    code: "no_key",
                    message: "m".into(),
                },
                404,
                "no_key",
                None,
            ),
            (
                ServiceError::invalid("quantity", "1 to 1000"),
                422,
                "invalid_field",
                Some("quantity"),
            ),
            (
                ServiceError::bad_query("limit", "too big"),
                400,
                "invalid_query",
                Some("limit"),
            ),
            (
                ServiceError::Conflict {
                    code: "login_taken",
                    field: Some("login".into()),
                    message: "m".into(),
                },
                409,
                "login_taken",
                Some("login"),
            ),
            (
                ServiceError::Throttled {
                    code: "account_locked",
                    locked: true,
                    message: "m".into(),
                },
                423,
                "account_locked",
                None,
            ),
            (
                ServiceError::Throttled {
                    code: "too_many_attempts",
                    locked: false,
                    message: "m".into(),
                },
                429,
                "too_many_attempts",
                None,
            ),
            (
                ServiceError::Unauthenticated {
                    code: "bad_signature",
                    message: "m".into(),
                },
                401,
                "bad_signature",
                None,
            ),
            (
                ServiceError::Store(StoreError::KeyReuse),
                409,
                "idempotency_conflict",
                None,
            ),
            (ServiceError::Internal("x".into()), 500, "internal", None),
        ];
        for (e, status, code, field) in cases {
            let api = ApiError::from(e);
            assert_eq!(api.status, StatusCode::from_u16(status).unwrap(), "{code}");
            assert_eq!(api.code, code);
            assert_eq!(api.field.as_deref(), field, "{code}");
        }
    }

    #[test]
    fn at_renames_the_field_of_input_errors_only() {
        let e = ServiceError::invalid("code", "bad").at("coupon");
        assert_eq!(e.field(), Some("coupon"));
        assert_eq!(e.code(), "invalid_field");
        assert_eq!(ServiceError::NotFound.at("x").field(), None);
    }

    #[test]
    fn a_page_is_bounded() {
        assert!(Page::new(None, 0).is_err());
        assert!(Page::new(None, PAGE_SIZE_MAX + 1).is_err());
        assert_eq!(Page::new(Some(7), 5).unwrap(), Page { after: 7, limit: 5 });
    }
}
