//! Errors as the UI receives them: `{kind, message}`.

use serde::Serialize;

/// An error for the window: a stable kind to branch on, a message to show.
#[derive(Debug, Serialize, PartialEq)]
pub struct AppError {
    pub kind: &'static str,
    pub message: String,
}

impl AppError {
    pub fn new(kind: &'static str, message: impl Into<String>) -> Self {
        AppError {
            kind,
            message: message.into(),
        }
    }

    /// A command that needs the vault open, while it is locked.
    pub fn locked() -> Self {
        AppError::new("vault_locked", "the vault is locked; unlock it first")
    }

    /// Input the window sent that the command cannot take.
    pub fn invalid(message: impl Into<String>) -> Self {
        AppError::new("invalid_request", message)
    }
}

impl From<custodian_core::Error> for AppError {
    fn from(e: custodian_core::Error) -> Self {
        AppError {
            kind: e.kind(),
            message: e.to_string(),
        }
    }
}

/// What the app's commands return.
pub type AppResult<T> = Result<T, AppError>;
