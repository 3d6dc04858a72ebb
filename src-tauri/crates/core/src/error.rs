//! The errors of the core: one enum a caller can match on.
//!
//! Each variant's message is written for the person who will read it: it says
//! what went wrong, in words that hold in any door. What to do about it in a
//! door's own terms (a CLI command to run, a screen of the app to open) is the
//! door's to add: the CLI (`cli/src/fail.rs`) and the app (`src/error.rs`)
//! each match every variant for it, and choose an exit code or a kind; the
//! server (`server/src/error.rs`) chooses a status. No message here names a
//! command of one door (a test below checks every variant).

use std::path::PathBuf;

use crate::data::category::Category;
use crate::data::path::PathRule;

/// Everything that can go wrong in the core.
///
/// Not `#[non_exhaustive]`: each door matches every variant, so a new one
/// does not compile until every door has decided what it means there.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No directory at the vault location.
    #[error("no vault at {}", path.display())]
    VaultNotFound { path: PathBuf },

    /// The directory exists but is not a Custodian vault.
    #[error("{} is not a Custodian vault ({reason})", path.display())]
    NotAVault { path: PathBuf, reason: String },

    /// `init` was pointed at a vault or a non-empty directory.
    #[error("{} already exists and is not empty: choose another directory, or use the vault that is there", path.display())]
    VaultExists { path: PathBuf },

    /// The vault was written by a newer Custodian.
    #[error("this vault has format version {found}, but this Custodian reads up to version {supported}: update Custodian to open it")]
    NewerFormat { found: u32, supported: u32 },

    /// The passphrase does not unlock the vault key.
    #[error("wrong passphrase for the vault at {}", path.display())]
    WrongPassphrase { path: PathBuf },

    /// The recovery key does not unlock the vault key.
    #[error("this recovery key does not belong to the vault at {}", path.display())]
    WrongRecoveryKey { path: PathBuf },

    /// The text given as a recovery key is not one.
    #[error("not a recovery key: expected one line starting with AGE-SECRET-KEY-1")]
    MalformedRecoveryKey,

    /// A new passphrase was refused.
    #[error("passphrase refused: {reason}")]
    WeakPassphrase { reason: &'static str },

    /// A key file is unreadable or corrupt.
    #[error("the key file {} is damaged ({reason}); restore it from a backup", path.display())]
    KeyFileDamaged { path: PathBuf, reason: String },

    /// The database does not open with the vault key.
    #[error("the vault database {} is damaged or does not belong to this vault's key ({reason}); restore it from a backup or an export", path.display())]
    DatabaseDamaged { path: PathBuf, reason: String },

    /// The key file asks for more scrypt work than we accept.
    #[error("the key file {} asks for scrypt work factor {required}, above the maximum of {max} this Custodian accepts", path.display())]
    ExcessiveWork {
        path: PathBuf,
        required: u8,
        max: u8,
    },

    /// A path broke one of the path rules.
    #[error("path {path:?} rejected: {rule}")]
    PathRejected { path: String, rule: PathRule },

    /// No resource at that path (or, for a container, nothing under it).
    #[error("{}", if path.ends_with('/') { format!("nothing is stored under {path}") } else { format!("no resource at {path}") })]
    NotFound { path: String },

    /// The resource was deleted; its versions remain in its history.
    #[error("{path} was deleted (version {version} records the deletion); its earlier versions are kept in its history")]
    Deleted { path: String, version: u64 },

    /// The resource exists but not in that version.
    #[error("{path} has no version {version} (it has versions 1 to {latest})")]
    VersionNotFound {
        path: String,
        version: u64,
        latest: u64,
    },

    /// A container path was used where a resource path is needed, or the reverse.
    #[error("{path} is a container (it ends in /); {what}")]
    IsContainer { path: String, what: &'static str },

    /// The person asked to lower the sensitive mark of data whose category
    /// is sensitive in itself.
    #[error("{path} is {category} data, which is always sensitive; the mark can only be lowered on data of other categories")]
    AlwaysSensitive { path: String, category: Category },

    /// The content does not fit the resource (bad JSON, wrong schema, …).
    #[error("invalid content for {path}: {reason}")]
    InvalidContent { path: String, reason: String },

    /// Content larger than the vault keeps ([`crate::data::resource::MAX_CONTENT`]):
    /// refused before anything is written when its size is known up front
    /// (`size`), or stopped midway (`size` is `None`); nothing stays.
    #[error("{path} is too large{}: the vault keeps content up to {}", .size.map(|s| format!(" ({})", size_text(s))).unwrap_or_default(), size_text(*.max))]
    TooLarge {
        path: String,
        size: Option<u64>,
        max: u64,
    },

    /// A preference key that does not exist.
    #[error("unknown preference {key:?}; known keys: {known}")]
    UnknownPreference { key: String, known: String },

    /// A preference value that does not fit its key.
    #[error("invalid value for {key}: {reason}")]
    InvalidPreference { key: String, reason: String },

    /// An unknown category name.
    #[error("unknown category {name:?}; categories: {known}")]
    UnknownCategory { name: String, known: String },

    /// A company's request is malformed (RFC 6749 `invalid_request`).
    #[error("invalid request: {0}")]
    InvalidRequest(String),

    /// Authorization details that cannot be accepted (RFC 9396).
    #[error("invalid authorization details: {0}")]
    InvalidDetails(String),

    /// No client with that id.
    #[error("no company or client {id:?} is registered")]
    UnknownClient { id: String },

    /// No access request with that id or user code.
    #[error("no access request {id}")]
    UnknownRequest { id: String },

    /// The request was already answered, or expired.
    #[error("access request {id} is {status}, not pending")]
    RequestNotPending { id: String, status: String },

    /// A client asked for too much at once.
    #[error(
        "client {id} already has {max} pending requests; wait for answers or for them to expire"
    )]
    TooManyPending { id: String, max: usize },

    /// The vault holds as many of what strangers may leave as it accepts
    /// (requests waiting for an answer, companies without a grant).
    #[error("the pod already holds {max} {what}; try again later")]
    PodFull { what: &'static str, max: usize },

    /// The person tried to grant more than was asked.
    #[error("cannot grant more than was asked: {0}")]
    WiderThanAsked(String),

    /// A device code that is unknown, used, or another client's (RFC 6749 `invalid_grant`).
    #[error("invalid grant: {0}")]
    InvalidGrant(String),

    /// No grant with that id.
    #[error("no grant {id}")]
    UnknownGrant { id: String },

    /// No consent receipt with that id.
    #[error("no receipt {id}")]
    UnknownReceipt { id: String },

    /// A consent receipt that does not verify, naming the check that failed.
    #[error("the receipt does not verify: {fault}")]
    ReceiptInvalid {
        fault: crate::sharing::receipts::ReceiptFault,
    },

    /// A company on the internet, or what it published (its link, client
    /// metadata, keys or request object), broke one of the rules for
    /// connecting: the rule is named.
    #[error("the company's request was refused: {rule}")]
    LinkRefused { rule: String },

    /// The file is not a Custodian bundle, or one of a newer format.
    #[error("{} is not a bundle this Custodian can read: {reason}", path.display())]
    BundleFormat { path: PathBuf, reason: String },

    /// The passphrase or identity does not open the bundle.
    #[error("{} does not open with this {what}: check you have the right one", path.display())]
    BundleWrongKey { path: PathBuf, what: &'static str },

    /// A passphrase bundle whose header asks for more scrypt work than any
    /// normal bundle: refused before deriving anything.
    #[error("{} asks for scrypt work factor {required}, above the {max} that Custodian's and age's passphrase bundles use; it was refused before any work", path.display())]
    BundleExcessiveWork {
        path: PathBuf,
        required: u8,
        max: u8,
    },

    /// A passphrase was given for a recipient bundle, or the other way round.
    #[error("{} is encrypted {how}", path.display())]
    BundleKeyKind { path: PathBuf, how: &'static str },

    /// The bundle stops early: an interrupted copy or download.
    #[error("{} is truncated: it ends before the bundle does; copy it again from the original", path.display())]
    BundleTruncated { path: PathBuf },

    /// The bundle's bytes or contents do not match what was exported.
    #[error("{} was damaged or changed after export ({reason}); it cannot be trusted", path.display())]
    BundleTampered { path: PathBuf, reason: String },

    /// A file-system operation failed.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },

    /// The vault's files could not be written or read: a full disk, a file
    /// grown past its size limit, a failing device. SQLite rolls back the
    /// transaction it could not write.
    #[error("the vault's files could not be written or read ({reason}): the disk may be full; the change was not made")]
    StorageFailed { reason: String },

    /// An unexpected database error (not a wrong key, not damage we recognise).
    #[error("database error: {0}")]
    Database(rusqlite::Error),

    /// Something the core itself got wrong; a bug to report.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// A stable, machine-readable name for the kind of error, for the app's
    /// `{kind, message}` and for scripts.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::VaultNotFound { .. } => "vault_not_found",
            Error::NotAVault { .. } => "not_a_vault",
            Error::VaultExists { .. } => "vault_exists",
            Error::NewerFormat { .. } => "newer_format",
            Error::WrongPassphrase { .. } => "wrong_passphrase",
            Error::WrongRecoveryKey { .. } => "wrong_recovery_key",
            Error::MalformedRecoveryKey => "malformed_recovery_key",
            Error::WeakPassphrase { .. } => "weak_passphrase",
            Error::KeyFileDamaged { .. } => "key_file_damaged",
            Error::DatabaseDamaged { .. } => "database_damaged",
            Error::ExcessiveWork { .. } => "excessive_work",
            Error::PathRejected { .. } => "path_rejected",
            Error::NotFound { .. } => "not_found",
            Error::Deleted { .. } => "deleted",
            Error::VersionNotFound { .. } => "version_not_found",
            Error::IsContainer { .. } => "is_container",
            Error::InvalidContent { .. } => "invalid_content",
            Error::TooLarge { .. } => "too_large",
            Error::UnknownPreference { .. } => "unknown_preference",
            Error::InvalidPreference { .. } => "invalid_preference",
            Error::UnknownCategory { .. } => "unknown_category",
            Error::InvalidRequest(_) => "invalid_request",
            Error::InvalidDetails(_) => "invalid_authorization_details",
            Error::UnknownClient { .. } => "unknown_client",
            Error::UnknownRequest { .. } => "unknown_request",
            Error::RequestNotPending { .. } => "request_not_pending",
            Error::TooManyPending { .. } => "too_many_pending",
            Error::PodFull { .. } => "pod_full",
            Error::WiderThanAsked(_) => "wider_than_asked",
            Error::AlwaysSensitive { .. } => "always_sensitive",
            Error::UnknownGrant { .. } => "unknown_grant",
            Error::UnknownReceipt { .. } => "unknown_receipt",
            Error::ReceiptInvalid { .. } => "receipt_invalid",
            Error::LinkRefused { .. } => "link_refused",
            Error::InvalidGrant(_) => "invalid_grant",
            Error::BundleFormat { .. } => "bundle_format",
            Error::BundleWrongKey { .. } => "bundle_wrong_key",
            Error::BundleExcessiveWork { .. } => "bundle_excessive_work",
            Error::BundleKeyKind { .. } => "bundle_key_kind",
            Error::BundleTruncated { .. } => "bundle_truncated",
            Error::BundleTampered { .. } => "bundle_tampered",
            Error::Io { .. } => "io",
            Error::StorageFailed { .. } => "storage_failed",
            Error::Database(_) => "database",
            Error::Internal(_) => "internal",
        }
    }

    /// The core error inside an I/O error from a [`crate::ContentReader`]
    /// (damage found mid-read), or the I/O error itself with what we were
    /// doing.
    pub fn from_read(e: std::io::Error, context: impl Into<String>) -> Self {
        if e.get_ref().is_some_and(|inner| inner.is::<Error>()) {
            if let Some(inner) = e.into_inner() {
                if let Ok(core) = inner.downcast::<Error>() {
                    return *core;
                }
            }
            return Error::Internal("a read error vanished".into());
        }
        Error::io(context, e)
    }

    /// Wraps an I/O error with what we were doing.
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

impl From<rusqlite::Error> for Error {
    /// Damage found after the vault opened (a page whose check fails) and
    /// a disk that cannot take a write get their own messages; anything
    /// else stays a database error.
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode as C;
        let reason = e.to_string().lines().next().unwrap_or_default().to_string();
        match e.sqlite_error_code() {
            Some(C::DatabaseCorrupt | C::NotADatabase) => Error::DatabaseDamaged {
                path: PathBuf::from(crate::vault::DB_FILE),
                reason,
            },
            Some(C::DiskFull | C::SystemIoFailure) => Error::StorageFailed { reason },
            _ => Error::Database(e),
        }
    }
}

/// A size as people read it: "16 GiB", "2.5 MiB", "300 bytes".
pub fn size_text(bytes: u64) -> String {
    const UNITS: [(&str, u64); 3] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
    for (unit, size) in UNITS {
        if bytes >= size {
            let whole = bytes / size;
            let tenths = (bytes % size) * 10 / size;
            return if tenths == 0 {
                format!("{whole} {unit}")
            } else {
                format!("{whole}.{tenths} {unit}")
            };
        }
    }
    format!("{bytes} bytes")
}

/// The core's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One value of every variant, for tests of the doors' mappings (each door
/// checks what it adds to every message). A test below fails when a variant
/// has no sample here.
#[cfg(any(test, feature = "test-support"))]
pub fn samples() -> Vec<Error> {
    use std::path::Path;
    let vault = Path::new("/home/ada/vault");
    let path = |file: &str| vault.join(file);
    vec![
        Error::VaultNotFound { path: path("") },
        Error::NotAVault {
            path: path(""),
            reason: "no vault.json".into(),
        },
        Error::VaultExists { path: path("") },
        Error::NewerFormat {
            found: 9,
            supported: 1,
        },
        Error::WrongPassphrase { path: path("") },
        Error::WrongRecoveryKey { path: path("") },
        Error::MalformedRecoveryKey,
        Error::WeakPassphrase {
            reason: "too short",
        },
        Error::KeyFileDamaged {
            path: path(crate::vault::PASSPHRASE_KEY_FILE),
            reason: "truncated".into(),
        },
        Error::KeyFileDamaged {
            path: path(crate::vault::RECOVERY_KEY_FILE),
            reason: "truncated".into(),
        },
        Error::DatabaseDamaged {
            path: path(crate::vault::DB_FILE),
            reason: "file is not a database".into(),
        },
        Error::ExcessiveWork {
            path: path(crate::vault::PASSPHRASE_KEY_FILE),
            required: 30,
            max: 22,
        },
        Error::PathRejected {
            path: "/a/../b".into(),
            rule: PathRule::DotSegment,
        },
        Error::NotFound {
            path: "/contact/email".into(),
        },
        Error::Deleted {
            path: "/contact/email".into(),
            version: 3,
        },
        Error::VersionNotFound {
            path: "/contact/email".into(),
            version: 9,
            latest: 3,
        },
        Error::IsContainer {
            path: "/contact/".into(),
            what: "give a resource path",
        },
        Error::AlwaysSensitive {
            path: "/health/blood".into(),
            category: Category::Health,
        },
        Error::InvalidContent {
            path: "/contact/email".into(),
            reason: "not JSON".into(),
        },
        Error::TooLarge {
            path: "/documents/scan".into(),
            size: Some(20 << 30),
            max: 16 << 30,
        },
        Error::TooLarge {
            path: "/documents/scan".into(),
            size: None,
            max: 16 << 30,
        },
        Error::UnknownPreference {
            key: "colour".into(),
            known: "channels, topics".into(),
        },
        Error::InvalidPreference {
            key: "topics".into(),
            reason: "too many".into(),
        },
        Error::UnknownCategory {
            name: "pets".into(),
            known: "profile, contact".into(),
        },
        Error::InvalidRequest("missing client_id".into()),
        Error::InvalidDetails("no paths".into()),
        Error::UnknownClient {
            id: "cli_nothing".into(),
        },
        Error::UnknownRequest {
            id: "WXYZ-ABCD".into(),
        },
        Error::RequestNotPending {
            id: "req_1".into(),
            status: "denied".into(),
        },
        Error::TooManyPending {
            id: "cli_1".into(),
            max: 5,
        },
        Error::PodFull {
            what: "pending requests",
            max: 100,
        },
        Error::WiderThanAsked("/finance/ was not asked".into()),
        Error::InvalidGrant("unknown device code".into()),
        Error::UnknownGrant {
            id: "grt_nothing".into(),
        },
        Error::UnknownReceipt {
            id: "rcp_nothing".into(),
        },
        Error::ReceiptInvalid {
            fault: crate::sharing::receipts::ReceiptFault::BadSignature,
        },
        Error::ReceiptInvalid {
            fault: crate::sharing::receipts::ReceiptFault::OtherPod {
                kid: "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k".into(),
                ours: "o1Xcr3wVGAdFX1zbCAXEEGvEn1bkq-VAWRwXHk3FgS8".into(),
            },
        },
        Error::LinkRefused {
            rule: "the request object has expired".into(),
        },
        Error::BundleFormat {
            path: path("b.custodian.age"),
            reason: "no manifest".into(),
        },
        Error::BundleWrongKey {
            path: path("b.custodian.age"),
            what: "passphrase",
        },
        Error::BundleExcessiveWork {
            path: path("b.custodian.age"),
            required: 22,
            max: 18,
        },
        Error::BundleKeyKind {
            path: path("b.custodian.age"),
            how: "to a recipient, not a passphrase",
        },
        Error::BundleTruncated {
            path: path("b.custodian.age"),
        },
        Error::BundleTampered {
            path: path("b.custodian.age"),
            reason: "hash mismatch".into(),
        },
        Error::io("reading /tmp/x", std::io::Error::other("device failed")),
        Error::StorageFailed {
            reason: "database or disk is full".into(),
        },
        Error::Database(rusqlite::Error::InvalidQuery),
        Error::Internal("a bug".into()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_a_sample() {
        // `kind` names every variant once (its match has no catch-all).
        let source = include_str!("error.rs");
        let body = source
            .split_once("pub fn kind(&self)")
            .and_then(|(_, rest)| rest.split_once("\n    }\n"))
            .map(|(body, _)| body)
            .unwrap();
        let variants = body.matches(" => \"").count();
        let sampled: std::collections::BTreeSet<&str> = samples().iter().map(Error::kind).collect();
        assert!(variants > 30, "{variants}");
        assert_eq!(sampled.len(), variants, "sampled: {sampled:?}");
    }

    #[test]
    fn no_message_names_a_command_of_one_door() {
        // What to run or where to click is each door's to say.
        for e in samples() {
            let message = e.to_string();
            for word in message.split("custodian ").skip(1) {
                let next = word.split(|c: char| !c.is_ascii_alphabetic()).next();
                assert_eq!(next, Some(""), "{}: {message}", e.kind());
            }
        }
    }

    fn sqlite(code: i32) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None)
    }

    #[test]
    fn damage_and_a_full_disk_are_named_not_raw_database_errors() {
        // A page whose check fails, read after the vault opened.
        let damaged = Error::from(sqlite(rusqlite::ffi::SQLITE_CORRUPT));
        assert_eq!(damaged.kind(), "database_damaged");
        assert!(damaged
            .to_string()
            .starts_with("the vault database vault.db is damaged"));
        assert_eq!(
            Error::from(sqlite(rusqlite::ffi::SQLITE_NOTADB)).kind(),
            "database_damaged"
        );
        // ENOSPC is SQLITE_FULL; other failed writes (EFBIG, EIO) are IOERR_*.
        let full = Error::from(sqlite(rusqlite::ffi::SQLITE_FULL));
        assert_eq!(full.kind(), "storage_failed");
        assert!(
            full.to_string().contains("the change was not made"),
            "{full}"
        );
        assert_eq!(
            Error::from(sqlite(rusqlite::ffi::SQLITE_IOERR_WRITE)).kind(),
            "storage_failed"
        );
        // Anything else stays what it is.
        assert_eq!(
            Error::from(sqlite(rusqlite::ffi::SQLITE_BUSY)).kind(),
            "database"
        );
    }
}
