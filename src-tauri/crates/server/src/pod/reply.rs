//! The core's answer or refusal, as it goes on the wire: status, content
//! type, ETag, length, range and the cache headers a personal resource
//! needs; a refusal as an RFC 6750 JSON error.

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use custodian_core::data::resource::{ListEntry, OCTET_STREAM};
use custodian_core::pod::{Answer, Body as PodBody, ByteRange, Listing, Refusal};
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
        Refusal::RangeNotSatisfiable { size } => {
            ApiError::range_not_satisfiable(size, r.to_string())
        }
        Refusal::TokenRejected(_) => ApiError::invalid_token(r.to_string()),
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

fn quoted(etag: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{etag}\"")).unwrap_or(HeaderValue::from_static("\"\""))
}

/// A resource's content on the wire: 200 with all of it, or 206 with the
/// part `range` names; `Content-Length` always (the part's length), and
/// `Accept-Ranges: bytes` so a company knows it may ask for parts.
pub(super) fn content(
    body: Body,
    content_type: &str,
    etag: &str,
    size: u64,
    range: Option<ByteRange>,
) -> Response {
    let mut r = body.into_response();
    if let Some(part) = range {
        *r.status_mut() = StatusCode::PARTIAL_CONTENT;
        if let Ok(v) = HeaderValue::from_str(&format!("bytes {}-{}/{size}", part.start, part.end)) {
            r.headers_mut().insert(header::CONTENT_RANGE, v);
        }
    }
    let length = range.map_or(size, |part| part.len());
    let h = r.headers_mut();
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(content_type).unwrap_or(HeaderValue::from_static(OCTET_STREAM)),
    );
    h.insert(header::ETAG, quoted(etag));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
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

/// An answer on the wire (a large resource's bytes excepted: `download`
/// streams those).
pub(super) struct Wire(pub(super) Answer);

impl IntoResponse for Wire {
    fn into_response(self) -> Response {
        match self.0 {
            Answer::Content {
                content_type,
                etag,
                size,
                body,
                range,
            } => {
                let body = match body {
                    PodBody::Inline(bytes) => {
                        let bytes = Bytes::from(bytes);
                        match range {
                            // Inside the content, as the core decided (the
                            // guard keeps a mismatch from panicking).
                            Some(r) if r.end < bytes.len() as u64 => {
                                bytes.slice(r.start as usize..=r.end as usize)
                            }
                            Some(_) => Bytes::new(),
                            None => bytes,
                        }
                    }
                    // Streamed by the door for GET (see `download`); a HEAD
                    // sends the headers alone.
                    PodBody::Stored { .. } => Bytes::new(),
                };
                content(Body::from(body), &content_type, &etag, size, range)
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
            Error::TooLarge {
                path: "/a".into(),
                size: None,
                max: 1,
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
