//! An answer from the pod, as it goes on the wire: status, content type,
//! ETag and the cache headers a personal resource needs.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use custodian_core::data::resource::OCTET_STREAM;

/// What a handler decided, before the log entry is committed.
pub(super) enum Reply {
    Content {
        content_type: String,
        etag: String,
        bytes: Vec<u8>,
    },
    NotModified {
        etag: String,
    },
    Listing(serde_json::Value),
    Written {
        created: bool,
        etag: String,
        location: Option<String>,
    },
    Deleted,
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let quoted = |etag: &str| {
            HeaderValue::from_str(&format!("\"{etag}\""))
                .unwrap_or(HeaderValue::from_static("\"\""))
        };
        match self {
            Reply::Content {
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
            Reply::NotModified { etag } => {
                let mut r = StatusCode::NOT_MODIFIED.into_response();
                r.headers_mut().insert(header::ETAG, quoted(&etag));
                r
            }
            Reply::Listing(value) => {
                let mut r = Json(value).into_response();
                r.headers_mut().insert(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("private, no-cache"),
                );
                r
            }
            Reply::Written {
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
            Reply::Deleted => StatusCode::NO_CONTENT.into_response(),
        }
    }
}
