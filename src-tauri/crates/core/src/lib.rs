//! custodian-core: the personal data vault, with no Tauri and no HTTP.
//!
//! The app, the pod API server and the CLI are thin doors onto this crate.
//! It owns every rule, grouped by concern:
//!
//! - [`vault`]: the vault directory, its key and unlocking, the encrypted
//!   database and its schema, the open [`Store`], the whole-vault check;
//! - [`data`]: resources and their history, paths, categories,
//!   preferences, search;
//! - [`sharing`]: companies, their requests, what the person is shown and
//!   grants, tokens and scopes, the pod API's read cache;
//! - [`limits`]: what a stranger may cost the pod;
//! - [`linked`]: companies on the internet: the link, their published
//!   metadata and keys, signed requests, the outbox of deliveries, feeds;
//! - [`pod`]: the rules for a company's request under its grant (answer,
//!   refusal, or absence that reveals nothing) and its log entry;
//! - [`audit`]: the hash-chained access log, its retention, the report;
//! - [`bundle`]: the encrypted export bundle;
//! - [`clock`], [`fsutil`], [`error`]: the injectable clock, crash-safe
//!   file replacement, the typed errors.

pub mod audit;
pub mod bundle;
pub mod clock;
pub mod data;
pub mod error;
pub mod fsutil;
pub mod limits;
pub mod linked;
pub mod pod;
pub mod sharing;
pub mod vault;

#[cfg(test)]
mod testing;

pub use age::secrecy::{ExposeSecret, SecretString};
pub use data::category::{Category, Sensitivity};
pub use data::path::{parse_path, PathRule, PodPath};
pub use data::preferences::CommunicationPreferences;
pub use data::resource::{
    Author, ContentReader, ListEntry, ListPage, Mark, NewMeta, NewResource, Resource, ResourceMeta,
    VersionInfo, CHUNK, INLINE_MAX, MAX_CONTENT,
};
pub use error::{Error, Result};
pub use linked::{
    check_url, parse_jwks, parse_link, parse_metadata, verify_request_object, Attempt,
    ClientMetadata, ConnectLink, DeliveryFilter, DeliveryStatus, FeedOutcome, FeedTarget, Jwks,
    LinkedCompany, OutgoingDelivery, RequestObject,
};
pub use sharing::receipts::{Receipt, ReceiptEvent, ReceiptFault, VerifiedReceipt};
pub use vault::identity::PodIdentity;
pub use vault::keys::RecoveryKey;
pub use vault::store::Store;
pub use vault::{Created, Probe, Vault, VaultStatus};

/// The database schema version this build writes.
pub fn schema_version() -> u32 {
    vault::db::latest_version()
}
