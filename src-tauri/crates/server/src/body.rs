//! Reading request bodies with a limit that answers with a JSON 413.

use axum::body::{to_bytes, Body, Bytes};
use axum::http::StatusCode;

use crate::error::ApiError;

/// The raw body, read by [`read_body`].
pub type Limited = Body;

/// Reads at most `limit` bytes; a larger body is a 413.
pub async fn read_body(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    to_bytes(body, limit).await.map_err(|_| too_large(limit))
}

pub fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "invalid_request",
        format!("the request body is larger than this pod accepts ({limit} bytes)"),
    )
}
