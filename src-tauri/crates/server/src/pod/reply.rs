//! The core's answer or refusal, as it goes on the wire: status, content
//! type, ETag and the cache headers a personal resource needs; a refusal as
//! an RFC 6750 JSON error.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use custodian_core::data::resource::{ListEntry, OCTET_STREAM};
use custodian_core::pod::{Answer, Listing, Refusal};
use serde_json::json;

use crate::error::ApiError;

/// What a request came to, before its log entry is committed.
pub(super) type Reply = Result<Answer, ApiError>;

/// A refusal as companies see it.
pub(super) fn refusal(r: Refusal) -> ApiError {
    match r {
        Refusal::InsufficientScope { .. } => ApiError::insufficient_scope(r.to_string()),
        Refusal::NotFound(e) | Refusal::Invalid(e) => ApiError::from_core(&e),
        Refusal::Conflict { .. } => ApiError::new(StatusCode::CONFLICT, "conflict", r.to_string()),
        Refusal::MethodNotAllowed => ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request",
            r.to_string(),
        ),
    }
}

/// A listing's JSON: the container's path and its members.
fn listing_json(listing: Listing) -> serde_json::Value {
    let members: Vec<serde_json::Value> = listing
        .members
        .iter()
        .map(|e| match e {
            ListEntry::Container { path, .. } => json!({"path": path, "kind": "container"}),
            ListEntry::Resource(m) => json!({"path": m.path, "kind": "resource", "content_type": m.content_type,
                       "category": m.category, "etag": m.etag, "size": m.size, "updated_at": m.updated_at}),
        })
        .collect();
    json!({"path": listing.path, "members": members})
}

/// An answer on the wire.
pub(super) struct Wire(pub(super) Answer);

impl IntoResponse for Wire {
    fn into_response(self) -> Response {
        let quoted = |etag: &str| {
            HeaderValue::from_str(&format!("\"{etag}\""))
                .unwrap_or(HeaderValue::from_static("\"\""))
        };
        match self.0 {
            Answer::Content {
                content_type,
                etag,
                bytes,
            } => {
                let mut r = bytes.into_response();
                let h = r.headers_mut();
                h.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_str(&content_type)
                        .unwrap_or(HeaderValue::from_static(OCTET_STREAM)),
                );
                h.insert(header::ETAG, quoted(&etag));
                h.insert(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("private, no-cache"),
                );
                h.insert(
                    "x-content-type-options",
                    HeaderValue::from_static("nosniff"),
                );
                r
            }
            Answer::NotModified { etag } => {
                let mut r = StatusCode::NOT_MODIFIED.into_response();
                r.headers_mut().insert(header::ETAG, quoted(&etag));
                r
            }
            Answer::Listing(listing) => {
                let mut r = Json(listing_json(listing)).into_response();
                r.headers_mut().insert(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("private, no-cache"),
                );
                r
            }
            Answer::Written {
                created,
                etag,
                location,
            } => {
                let mut r = if created {
                    StatusCode::CREATED
                } else {
                    StatusCode::NO_CONTENT
                }
                .into_response();
                r.headers_mut().insert(header::ETAG, quoted(&etag));
                if let Some(loc) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
                    r.headers_mut().insert(header::LOCATION, loc);
                }
                r
            }
            Answer::Deleted => StatusCode::NO_CONTENT.into_response(),
        }
    }
}

#[cfg(test)]
mod tests {
    use custodian_core::pod::failure_reason;
    use custodian_core::{Error, PathRule};

    use crate::error::ApiError;

    /// The person's log and the company's answer name a failure alike: the
    /// core logs the code this door answers with.
    #[test]
    fn the_logged_reason_of_a_failure_is_the_answered_code() {
        let errors = [
            Error::PathRejected {
                path: "/a".into(),
                rule: PathRule::DotSegment,
            },
            Error::NotFound { path: "/a".into() },
            Error::Deleted {
                path: "/a".into(),
                version: 1,
            },
            Error::IsContainer {
                path: "/a/".into(),
                what: "PUT a resource path",
            },
            Error::InvalidContent {
                path: "/a".into(),
                reason: "not JSON".into(),
            },
            Error::InvalidRequest("x".into()),
            Error::InvalidDetails("x".into()),
            Error::UnknownClient { id: "cli_x".into() },
            Error::TooManyPending {
                id: "cli_x".into(),
                max: 1,
            },
            Error::InvalidGrant("x".into()),
            Error::PodFull {
                what: "resources",
                max: 1,
            },
            Error::Internal("x".into()),
        ];
        for e in &errors {
            assert_eq!(failure_reason(e), ApiError::from_core(e).error, "{e:?}");
        }
    }
}
