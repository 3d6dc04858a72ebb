//! Errors as the UI receives them: `{kind, message}`.

use serde::Serialize;

/// An error for the window: a stable kind to branch on, a message to show.
#[derive(Debug, Serialize)]
pub struct AppError {
    pub kind: &'static str,
    pub message: String,
}

impl From<custodian_core::Error> for AppError {
    fn from(e: custodian_core::Error) -> Self {
        AppError {
            kind: e.kind(),
            message: e.to_string(),
        }
    }
}
