//! Errors as companies see them: RFC 6749 / 6750 JSON bodies
//! (`error`, `error_description`), the right status, and for bearer-token
//! failures a `WWW-Authenticate` header; a denial also carries its signed
//! consent receipt. Never a stack trace or a secret.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error response.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub error: &'static str,
    pub description: String,
    pub www_authenticate: Option<String>,
    /// Seconds to wait before trying again (`Retry-After`).
    pub retry_after: Option<u32>,
    /// The signed receipt of the decision this error reports (a denial's
    /// `access_denied`), as the body member `consent_receipt`.
    pub consent_receipt: Option<String>,
    /// The size of a resource whose asked range lies past its end, sent as
    /// `Content-Range: bytes */SIZE` with a 416.
    pub unsatisfied_size: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        ApiError {
            status,
            error,
            description: description.into(),
            www_authenticate: None,
            retry_after: None,
            consent_receipt: None,
            unsatisfied_size: None,
        }
    }

    /// 416: the range a read asked for starts past the end of the
    /// `size`-byte content (RFC 9110 §15.5.17).
    pub fn range_not_satisfiable(size: u64, description: impl Into<String>) -> Self {
        let mut e = Self::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "range_not_satisfiable",
            description,
        );
        e.unsatisfied_size = Some(size);
        e
    }

    /// The same error carrying the compact JWS of its decision's receipt.
    pub fn with_consent_receipt(mut self, jws: Option<String>) -> Self {
        self.consent_receipt = jws;
        self
    }

    /// 503 with `Retry-After`: the pod is too busy for this now.
    pub fn busy(description: impl Into<String>, retry_after: u32) -> Self {
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            description,
        );
        e.retry_after = Some(retry_after);
        e
    }

    /// 429 with `Retry-After`: a stranger has used up its turns for now.
    pub fn slow_down(description: impl Into<String>, retry_after: u32) -> Self {
        let mut e = Self::new(StatusCode::TOO_MANY_REQUESTS, "slow_down", description);
        e.retry_after = Some(retry_after);
        e
    }

    pub fn bad_request(error: &'static str, description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, error, description)
    }

    /// 401 for an unknown, expired, revoked or malformed token (RFC 6750 §3.1).
    pub fn invalid_token(description: impl Into<String>) -> Self {
        let description = description.into();
        let mut e = Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            description.clone(),
        );
        e.www_authenticate = Some(format!(
            "Bearer realm=\"custodian\", error=\"invalid_token\", error_description=\"{}\"",
            description.replace('"', "'")
        ));
        e
    }

    /// 401 when no token was sent at all (RFC 6750 §3.1: no error code).
    pub fn no_token() -> Self {
        let mut e = Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_request",
            "send an access token in the Authorization header: Bearer cst_…",
        );
        e.www_authenticate = Some("Bearer realm=\"custodian\"".into());
        e
    }

    /// 403 outside the grant (RFC 6750 §3.1).
    pub fn insufficient_scope(description: impl Into<String>) -> Self {
        let description = description.into();
        let mut e = Self::new(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            description.clone(),
        );
        e.www_authenticate = Some(format!(
            "Bearer realm=\"custodian\", error=\"insufficient_scope\", error_description=\"{}\"",
            description.replace('"', "'")
        ));
        e
    }

    /// 500 without details (they go to the server's log, not the client).
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "the pod could not complete the request",
        )
    }

    /// Maps a core error met while serving a company.
    pub fn from_core(e: &custodian_core::Error) -> Self {
        use custodian_core::Error as E;
        match e {
            E::PathRejected { .. } => Self::bad_request("invalid_request", e.to_string()),
            E::NotFound { .. } | E::Deleted { .. } | E::VersionNotFound { .. } => {
                Self::new(StatusCode::NOT_FOUND, "not_found", e.to_string())
            }
            E::InvalidContent { .. } | E::IsContainer { .. } => {
                Self::bad_request("invalid_request", e.to_string())
            }
            E::TooLarge { .. } => Self::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request",
                format!("{e}; nothing was stored"),
            ),
            E::InvalidRequest(m) => Self::bad_request("invalid_request", m.clone()),
            E::InvalidDetails(m) => Self::bad_request("invalid_authorization_details", m.clone()),
            E::UnknownClient { .. } => Self::new(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "unknown client_id: register first",
            ),
            E::TooManyPending { .. } => {
                Self::new(StatusCode::TOO_MANY_REQUESTS, "slow_down", e.to_string())
            }
            E::InvalidGrant(m) => Self::bad_request("invalid_grant", m.clone()),
            // A company asking for a receipt that is not one of its own.
            E::UnknownReceipt { .. } => {
                Self::new(StatusCode::NOT_FOUND, "not_found", e.to_string())
            }
            E::PodFull { .. } => {
                let mut e = Self::slow_down(e.to_string(), 60);
                e.error = "temporarily_unavailable";
                e
            }
            // Nothing a company's request can cause: the pod's own trouble,
            // logged here and answered without details. Named one by one so
            // a new variant is placed on purpose, not by default.
            E::VaultNotFound { .. }
            | E::NotAVault { .. }
            | E::VaultExists { .. }
            | E::NewerFormat { .. }
            | E::WrongPassphrase { .. }
            | E::WrongRecoveryKey { .. }
            | E::MalformedRecoveryKey
            | E::WeakPassphrase { .. }
            | E::KeyFileDamaged { .. }
            | E::DatabaseDamaged { .. }
            | E::ExcessiveWork { .. }
            | E::AlwaysSensitive { .. }
            | E::UnknownPreference { .. }
            | E::InvalidPreference { .. }
            | E::UnknownCategory { .. }
            | E::UnknownRequest { .. }
            | E::RequestNotPending { .. }
            | E::WiderThanAsked(_)
            | E::UnknownGrant { .. }
            | E::ReceiptInvalid { .. }
            | E::LinkRefused { .. }
            | E::BundleFormat { .. }
            | E::BundleWrongKey { .. }
            | E::BundleExcessiveWork { .. }
            | E::BundleKeyKind { .. }
            | E::BundleTruncated { .. }
            | E::BundleTampered { .. }
            | E::Io { .. }
            | E::StorageFailed { .. }
            | E::Database(_)
            | E::Internal(_) => {
                tracing::error!(error = %e, "request failed");
                Self::internal()
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({"error": self.error, "error_description": self.description});
        if let Some(jws) = self.consent_receipt {
            body[crate::receipts::RECEIPT_MEMBER] = serde_json::Value::String(jws);
        }
        let mut response = (self.status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(value) = self
            .www_authenticate
            .and_then(|v| HeaderValue::from_str(&v).ok())
        {
            headers.insert(header::WWW_AUTHENTICATE, value);
        }
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Some(size) = self.unsatisfied_size {
            if let Ok(value) = HeaderValue::from_str(&format!("bytes */{size}")) {
                headers.insert(header::CONTENT_RANGE, value);
            }
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use custodian_core::Error as E;

    async fn body_of(e: ApiError) -> serde_json::Value {
        let bytes = axum::body::to_bytes(e.into_response().into_body(), 1 << 16)
            .await
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    /// A denial's body carries its receipt beside the RFC 6749 members;
    /// other errors carry none.
    #[tokio::test]
    async fn a_consent_receipt_rides_in_the_error_body_only_when_given() {
        let denied = ApiError::bad_request("access_denied", "the person said no")
            .with_consent_receipt(Some("h.p.s".into()));
        assert_eq!(
            body_of(denied).await,
            serde_json::json!({"error": "access_denied", "error_description": "the person said no", "consent_receipt": "h.p.s"})
        );
        let plain = body_of(ApiError::bad_request("slow_down", "wait")).await;
        assert!(plain.get("consent_receipt").is_none(), "{plain}");
    }

    #[test]
    fn what_a_company_caused_keeps_its_status_the_rest_is_a_bare_500() {
        let status = |e: E| ApiError::from_core(&e).status;
        assert_eq!(
            status(E::NotFound { path: "/a".into() }),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            status(E::UnknownClient { id: "cli_x".into() }),
            StatusCode::UNAUTHORIZED
        );
        for e in custodian_core::error::samples() {
            let api = ApiError::from_core(&e);
            if api.status == StatusCode::INTERNAL_SERVER_ERROR {
                // Never the core's words: they may name the owner's files.
                assert_eq!(api.description, "the pod could not complete the request");
            } else {
                assert!(
                    !api.description.contains("custodian "),
                    "{}",
                    api.description
                );
            }
        }
    }
}
