//! Reading request bodies whole: at most the configured size (413) and
//! within the configured time (408), so a stranger can neither fill memory
//! nor hold a connection by sending a body slowly. (A large write under
//! `/pod/` is streamed instead: `pod::upload`.)

use axum::body::{to_bytes, Body, Bytes};
use axum::http::StatusCode;

use crate::error::ApiError;
use crate::state::Config;

/// The raw body, read by [`read_body`].
pub type Limited = Body;

/// Reads the whole body, within the pod's size and time limits.
pub async fn read_body(body: Body, config: &Config) -> Result<Bytes, ApiError> {
    read_within(body, config.max_body_bytes, config).await
}

/// Reads the whole body, at most `limit` bytes, within the pod's time
/// limit.
pub async fn read_within(body: Body, limit: usize, config: &Config) -> Result<Bytes, ApiError> {
    match tokio::time::timeout(config.body_read_timeout, to_bytes(body, limit)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(_)) => Err(too_large(limit)),
        Err(_) => Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "invalid_request",
            format!(
                "the request body did not arrive within {:?}",
                config.body_read_timeout
            ),
        )),
    }
}

pub fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "invalid_request",
        format!("the request body is larger than this pod accepts ({limit} bytes)"),
    )
}
