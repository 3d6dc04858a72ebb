//! custodian-core: the personal data vault, with no Tauri and no HTTP.
//!
//! The app, the pod API server and the CLI are thin doors onto this crate.
//! It owns every rule: how the vault is encrypted and unlocked
//! ([`vault`], [`keys`]), how paths are checked ([`path`]), how resources and
//! their history are kept ([`resource`]), and what preferences mean
//! ([`preferences`]).

pub mod audit;
pub mod bundle;
pub mod category;
pub mod client;
pub mod clock;
pub mod consent;
mod db;
pub mod error;
pub mod fsutil;
pub mod grant;
pub mod intake;
pub mod keys;
mod migrations;
pub mod path;
pub mod peer;
pub mod preferences;
pub mod rate;
pub mod read_cache;
pub mod refusals;
pub mod report;
pub mod request;
pub mod resource;
pub mod retention;
pub mod scope;
pub mod search;
pub mod store;
pub mod token;
pub mod vault;

#[cfg(test)]
mod testing;

pub use age::secrecy::{ExposeSecret, SecretString};
pub use category::{Category, Sensitivity};
pub use error::{Error, Result};
pub use keys::RecoveryKey;
pub use path::{parse_path, PathRule, PodPath};
pub use preferences::CommunicationPreferences;
pub use resource::{Author, ListEntry, Mark, NewResource, Resource, ResourceMeta, VersionInfo};
pub use store::Store;
pub use vault::{Created, Probe, Vault, VaultStatus};

/// The database schema version this build writes.
pub fn schema_version() -> u32 {
    db::latest_version()
}
