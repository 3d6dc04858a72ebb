//! One value of every core error variant ([`samples`]), for the doors'
//! tests of what they add to each message (test-support only).

use super::Error;
use crate::data::category::Category;
use crate::data::path::PathRule;

/// One value of every variant, for tests of the doors' mappings (each door
/// checks what it adds to every message). `every_variant_has_a_sample` (in
/// `error.rs`) fails when a variant has no sample here.
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
