//! The JSON error contract: every error is `{"error":{"code","message","field"?}}` with a
//! stable `code`. The codes are listed in `docs/api-errors.md`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use suanli_platform_domain::rejection::MoneyRejection;
use suanli_platform_store::StoreError;

/// An API error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code.
    pub code: &'static str,
    /// Human-readable message.
    pub message: String,
    /// The offending input field, when there is one.
    pub field: Option<String>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl ApiError {
    /// A new error.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
        }
    }
    /// Names the offending field.
    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }
    /// 400/422 invalid field value.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", message).field(field)
    }
    /// 401 not authenticated.
    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "authentication required: log in or send a bearer token",
        )
    }
    /// 403 permission missing.
    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "you do not have permission for this",
        )
    }
    /// 404.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "no such resource")
    }
    /// 500 without details (details go to the log).
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; see server logs",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            error: Inner {
                code: self.code,
                message: &self.message,
                field: self.field.as_deref(),
            },
        };
        (self.status, axum::Json(body)).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(_) => {
                ApiError::new(StatusCode::CONFLICT, "conflict", "already exists")
            }
            StoreError::NotFound => ApiError::not_found(),
            // The journal refusing a transaction an operation built is a fault of ours, not
            // the caller's: logged, answered as an internal error without its details.
            StoreError::Money(MoneyRejection::Journal(e)) => {
                tracing::error!(error = %e, "the journal refused a transaction the platform built");
                ApiError::internal()
            }
            // Money rules answer their own stable codes (docs/api-errors.md).
            StoreError::Money(r) => {
                let status = match r {
                    MoneyRejection::InsufficientFunds { .. } => StatusCode::PAYMENT_REQUIRED,
                    MoneyRejection::FourEyes => StatusCode::FORBIDDEN,
                    _ => StatusCode::UNPROCESSABLE_ENTITY,
                };
                ApiError::new(status, r.code(), r.to_string())
            }
            StoreError::Rejected(m) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "rejected", m)
            }
            StoreError::KeyReuse => ApiError::new(
                StatusCode::CONFLICT,
                "idempotency_conflict",
                "the idempotency key was already used for a different request",
            ),
            e @ (StoreError::AlreadyReversed { .. } | StoreError::ReversalOfReversal { .. }) => {
                let code = match e {
                    StoreError::AlreadyReversed { .. } => "already_reversed",
                    _ => "reversal_of_reversal",
                };
                ApiError::new(StatusCode::CONFLICT, code, e.to_string())
            }
            other => {
                tracing::error!(error = %other, "store failure");
                ApiError::internal()
            }
        }
    }
}

/// Handler result.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;
    use suanli_platform_domain::journal::JournalError;

    #[test]
    fn a_journal_refusal_is_an_internal_error_without_details() {
        let e = ApiError::from(StoreError::Money(MoneyRejection::Journal(
            JournalError::Empty,
        )));
        assert_eq!(e.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(e.code, "internal");
        let e = ApiError::from(StoreError::Money(MoneyRejection::FourEyes));
        assert_eq!((e.status, e.code), (StatusCode::FORBIDDEN, "four_eyes"));
    }
}
