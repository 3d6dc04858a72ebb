//! How the command line fails: one line on stderr (the core's message, then
//! what to do in this CLI's commands) and an exit code that scripts can
//! rely on.

use std::fmt;

/// Exit codes. 2 is clap's own for usage errors.
pub mod code {
    pub const ERROR: i32 = 1;
    pub const USAGE: i32 = 2;
    pub const VAULT: i32 = 3;
    pub const AUTH: i32 = 4;
    pub const NOT_FOUND: i32 = 5;
    pub const INVALID: i32 = 6;
}

/// A failure to report: the message is the user-facing line.
#[derive(Debug)]
pub struct Fail {
    pub code: i32,
    pub message: String,
}

impl Fail {
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        Fail {
            code,
            message: message.into(),
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Fail::new(code::USAGE, message)
    }
}

impl fmt::Display for Fail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<custodian_core::Error> for Fail {
    /// The core's message says what happened; the CLI adds what to do
    /// about it here, in its own commands.
    fn from(e: custodian_core::Error) -> Self {
        let (code, advice) = exit_and_advice(&e);
        Fail::new(code, format!("{e}{advice}"))
    }
}

impl From<custodian_link::LinkError> for Fail {
    /// The door's failures: the core's errors as above; a fetch says which
    /// document and which network rule, and that nothing was stored.
    fn from(e: custodian_link::LinkError) -> Self {
        use custodian_link::LinkError as L;
        match e {
            L::Core(core) => Fail::from(core),
            L::Fetch { ref source, .. } if source.is_refusal() => Fail::new(
                code::INVALID,
                format!("{e}; nothing was stored: ask the company for a new link"),
            ),
            L::Fetch { .. } => Fail::new(
                code::ERROR,
                format!("{e}; nothing was stored: check the connection and try again"),
            ),
            L::Net(_) => Fail::new(code::ERROR, e.to_string()),
            L::Locked => Fail::new(code::VAULT, e.to_string()),
        }
    }
}

/// The exit code for a core error, and the text the CLI appends to its
/// message: the command to run, or what was left untouched. Every variant is
/// named, so a new one does not compile until it has both.
fn exit_and_advice(e: &custodian_core::Error) -> (i32, &'static str) {
    use custodian_core::Error as E;
    const NOTHING_WRITTEN: &str = "; nothing was written";
    match e {
        E::VaultNotFound { .. } => (code::VAULT, ": create one with `custodian init`"),
        E::KeyFileDamaged { path, .. } => (
            code::VAULT,
            if path.ends_with(custodian_core::vault::PASSPHRASE_KEY_FILE) {
                ", or set a new passphrase with your recovery key (`custodian recover`)"
            } else {
                ""
            },
        ),
        E::NotAVault { .. }
        | E::VaultExists { .. }
        | E::NewerFormat { .. }
        | E::DatabaseDamaged { .. }
        | E::ExcessiveWork { .. } => (code::VAULT, ""),
        E::WrongPassphrase { .. } => (code::AUTH, " (nothing was changed)"),
        E::WrongRecoveryKey { .. } | E::MalformedRecoveryKey => (code::AUTH, ""),
        E::BundleWrongKey { .. } => (code::AUTH, NOTHING_WRITTEN),
        E::UnknownRequest { .. } => (
            code::NOT_FOUND,
            ": `custodian requests list` shows the pending ones",
        ),
        E::UnknownGrant { .. } => (code::NOT_FOUND, ": `custodian grants list` shows them all"),
        E::UnknownReceipt { .. } => (
            code::NOT_FOUND,
            ": `custodian receipts list` shows them all",
        ),
        E::ReceiptInvalid { .. } => (code::INVALID, ""),
        E::LinkRefused { .. } => (
            code::INVALID,
            "; nothing was stored: ask the company for a new link",
        ),
        E::NotFound { .. }
        | E::Deleted { .. }
        | E::VersionNotFound { .. }
        | E::UnknownClient { .. } => (code::NOT_FOUND, ""),
        E::TooLarge { .. } => (code::INVALID, "; nothing was stored"),
        E::WeakPassphrase { .. }
        | E::PathRejected { .. }
        | E::IsContainer { .. }
        | E::InvalidContent { .. }
        | E::UnknownPreference { .. }
        | E::InvalidPreference { .. }
        | E::UnknownCategory { .. }
        | E::InvalidRequest(_)
        | E::InvalidDetails(_)
        | E::RequestNotPending { .. }
        | E::TooManyPending { .. }
        | E::WiderThanAsked(_)
        | E::AlwaysSensitive { .. }
        | E::InvalidGrant(_) => (code::INVALID, ""),
        E::BundleExcessiveWork { .. } => (
            code::INVALID,
            " (if you made it yourself, encrypt it again with `custodian export` or Go's `age -p`, which use 18); nothing was written",
        ),
        E::BundleFormat { .. }
        | E::BundleKeyKind { .. }
        | E::BundleTruncated { .. }
        | E::BundleTampered { .. } => (code::INVALID, NOTHING_WRITTEN),
        E::PodFull { .. }
        | E::Io { .. }
        | E::StorageFailed { .. }
        | E::Database(_)
        | E::Internal(_) => (code::ERROR, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use custodian_core::Error as E;
    use std::path::PathBuf;

    #[test]
    fn the_cli_adds_its_own_commands_to_the_core_message() {
        let fail = Fail::from(E::VaultNotFound {
            path: PathBuf::from("/v"),
        });
        assert_eq!(fail.code, code::VAULT);
        assert_eq!(
            fail.message,
            "no vault at /v: create one with `custodian init`"
        );
        let fail = Fail::from(E::UnknownGrant { id: "grt_x".into() });
        assert_eq!(fail.code, code::NOT_FOUND);
        assert_eq!(
            fail.message,
            "no grant grt_x: `custodian grants list` shows them all"
        );
    }

    #[test]
    fn the_door_says_which_document_and_rule_and_that_nothing_was_stored() {
        use custodian_link::{LinkError, NetError};
        let refused = Fail::from(LinkError::Fetch {
            what: "the request object",
            source: NetError::NotHttps {
                url: "ftp://shop.test/r".into(),
            },
        });
        assert_eq!(refused.code, code::INVALID);
        assert_eq!(
            refused.message,
            "fetching the request object failed: ftp://shop.test/r is not an https address: only https is fetched; nothing was stored: ask the company for a new link"
        );
        let down = Fail::from(LinkError::Fetch {
            what: "the client metadata",
            source: NetError::Connect {
                url: "https://shop.test/c".into(),
                reason: "connection refused".into(),
            },
        });
        assert_eq!(down.code, code::ERROR);
        assert!(down.message.ends_with("check the connection and try again"));
        let core = Fail::from(LinkError::Core(E::UnknownGrant { id: "grt_x".into() }));
        assert_eq!(core.code, code::NOT_FOUND);
    }

    #[test]
    fn only_a_damaged_passphrase_key_file_points_to_recover() {
        let damaged = |file: &str| {
            Fail::from(E::KeyFileDamaged {
                path: PathBuf::from("/v").join(file),
                reason: "cut".into(),
            })
            .message
        };
        let passphrase = damaged(custodian_core::vault::PASSPHRASE_KEY_FILE);
        assert!(
            passphrase.ends_with("(`custodian recover`)"),
            "{passphrase}"
        );
        let recovery = damaged(custodian_core::vault::RECOVERY_KEY_FILE);
        assert!(recovery.ends_with("restore it from a backup"), "{recovery}");
    }

    #[test]
    fn every_error_keeps_the_core_message_first() {
        for e in custodian_core::error::samples() {
            let core = e.to_string();
            let fail = Fail::from(e);
            assert!(fail.message.starts_with(&core), "{}", fail.message);
            assert!((code::ERROR..=code::INVALID).contains(&fail.code));
            assert_ne!(fail.code, code::USAGE);
        }
    }
}
