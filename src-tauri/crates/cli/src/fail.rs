//! How the command line fails: one line on stderr and an exit code that
//! scripts can rely on.

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
    fn from(e: custodian_core::Error) -> Self {
        use custodian_core::Error as E;
        let code = match &e {
            E::VaultNotFound { .. }
            | E::NotAVault { .. }
            | E::VaultExists { .. }
            | E::NewerFormat { .. }
            | E::KeyFileDamaged { .. }
            | E::DatabaseDamaged { .. }
            | E::ExcessiveWork { .. } => code::VAULT,
            E::WrongPassphrase { .. }
            | E::WrongRecoveryKey { .. }
            | E::MalformedRecoveryKey
            | E::BundleWrongKey { .. } => code::AUTH,
            E::NotFound { .. }
            | E::Deleted { .. }
            | E::VersionNotFound { .. }
            | E::UnknownClient { .. }
            | E::UnknownRequest { .. }
            | E::UnknownGrant { .. } => code::NOT_FOUND,
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
            | E::InvalidGrant(_)
            | E::BundleFormat { .. }
            | E::BundleKeyKind { .. }
            | E::BundleTruncated { .. }
            | E::BundleTampered { .. }
            | E::BundleExcessiveWork { .. } => code::INVALID,
            _ => code::ERROR,
        };
        let message = match &e {
            E::WrongPassphrase { .. } => format!("{e} (nothing was changed)"),
            E::BundleFormat { .. }
            | E::BundleWrongKey { .. }
            | E::BundleKeyKind { .. }
            | E::BundleTruncated { .. }
            | E::BundleTampered { .. }
            | E::BundleExcessiveWork { .. } => format!("{e}; nothing was written"),
            _ => e.to_string(),
        };
        Fail::new(code, message)
    }
}
