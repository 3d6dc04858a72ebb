//! Errors as the UI receives them: `{kind, message}`, the message being the
//! core's (what happened) followed by what to do, in the window's words.

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
    /// The core's message says what happened; the app adds what to do about
    /// it here, in the window's words (never a CLI command).
    fn from(e: custodian_core::Error) -> Self {
        AppError {
            kind: e.kind(),
            message: format!("{e}{}", advice(&e)),
        }
    }
}

/// What the window tells the person to do after a core error, appended to
/// its message. Every variant is named, so a new one does not compile until
/// the app has decided.
fn advice(e: &custodian_core::Error) -> &'static str {
    use custodian_core::Error as E;
    match e {
        E::VaultNotFound { .. } => ": create one on the “Create your vault” screen",
        E::KeyFileDamaged { path, .. } => {
            if path.ends_with(custodian_core::vault::PASSPHRASE_KEY_FILE) {
                ", or unlock with your recovery key to set a new passphrase"
            } else {
                ""
            }
        }
        E::UnknownRequest { .. } => ": open Sharing to see the pending ones",
        E::UnknownGrant { .. } => ": open Access to see them all",
        E::UnknownReceipt { .. } => ": open Access to see each grant's receipts",
        E::ReceiptInvalid { .. } => ": this vault does not vouch for it (nothing was changed)",
        E::LinkRefused { .. } => "; nothing was stored: ask the company for a new link",
        E::TooLarge { .. } => "; nothing was stored: keep a file this large elsewhere, or split it",
        E::BundleExcessiveWork { .. } => {
            " (if you made it yourself, export it again from Custodian, or encrypt it with Go's age -p, which uses 18)"
        }
        E::NotAVault { .. }
        | E::VaultExists { .. }
        | E::NewerFormat { .. }
        | E::WrongPassphrase { .. }
        | E::WrongRecoveryKey { .. }
        | E::MalformedRecoveryKey
        | E::WeakPassphrase { .. }
        | E::DatabaseDamaged { .. }
        | E::ExcessiveWork { .. }
        | E::PathRejected { .. }
        | E::NotFound { .. }
        | E::Deleted { .. }
        | E::VersionNotFound { .. }
        | E::IsContainer { .. }
        | E::AlwaysSensitive { .. }
        | E::InvalidContent { .. }
        | E::UnknownPreference { .. }
        | E::InvalidPreference { .. }
        | E::UnknownCategory { .. }
        | E::InvalidRequest(_)
        | E::InvalidDetails(_)
        | E::UnknownClient { .. }
        | E::RequestNotPending { .. }
        | E::TooManyPending { .. }
        | E::PodFull { .. }
        | E::WiderThanAsked(_)
        | E::InvalidGrant(_)
        | E::BundleFormat { .. }
        | E::BundleWrongKey { .. }
        | E::BundleKeyKind { .. }
        | E::BundleTruncated { .. }
        | E::BundleTampered { .. }
        | E::Io { .. }
        | E::StorageFailed { .. }
        | E::Database(_)
        | E::Internal(_) => "",
    }
}

/// What the app's commands return.
pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;
    use custodian_core::Error as E;
    use std::path::PathBuf;

    #[test]
    fn the_window_is_told_where_to_go_not_what_to_type() {
        let e = AppError::from(E::VaultNotFound {
            path: PathBuf::from("/v"),
        });
        assert_eq!(e.kind, "vault_not_found");
        assert_eq!(
            e.message,
            "no vault at /v: create one on the “Create your vault” screen"
        );
        let e = AppError::from(E::UnknownRequest { id: "WXYZ".into() });
        assert_eq!(
            e.message,
            "no access request WXYZ: open Sharing to see the pending ones"
        );
    }

    #[test]
    fn no_message_names_a_cli_command() {
        for e in custodian_core::error::samples() {
            let kind = e.kind();
            let core = e.to_string();
            let app = AppError::from(e);
            assert_eq!(app.kind, kind);
            assert!(app.message.starts_with(&core), "{}", app.message);
            assert!(
                !app.message.contains("`custodian") && !app.message.contains("custodian "),
                "{}",
                app.message
            );
        }
    }
}
