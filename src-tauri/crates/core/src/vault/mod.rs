//! The vault: its directory, creating and unlocking it, its key and how it
//! is wrapped, the encrypted database and its schema, the open store.
//!
//! ```text
//! DIR/vault.json           format name and version, vault id (no secrets)
//! DIR/vault.db             SQLCipher database under the raw vault key
//! DIR/key.passphrase.age   the vault key, age-encrypted to the passphrase
//! DIR/key.recovery.age     the vault key, age-encrypted to the recovery key
//! ```
//!
//! The vault's parts: [`directory`] (where it is, what is in it), [`unlock`]
//! (the `Vault` itself), [`keys`] (the vault key and its age wrappings),
//! [`identity`] (the pod's signing key and id, kept in the database),
//! `db` (SQLCipher), `migrations` (the schema), `record` (a table's row as
//! one typed record, read by column name), [`store`] (the open database
//! every data service is a method on) and [`check`] (the whole-vault check
//! a person runs on purpose).

pub mod check;
pub(crate) mod db;
pub mod directory;
pub mod identity;
pub mod keys;
pub(crate) mod migrations;
pub(crate) mod record;
pub mod store;
pub mod unlock;

pub use check::VaultCheck;
pub use directory::{
    inspect, probe, resolve_vault_dir, Probe, VaultInfo, DB_FILE, FORMAT_NAME, FORMAT_VERSION,
    INFO_FILE, PASSPHRASE_KEY_FILE, RECOVERY_KEY_FILE,
};
pub use unlock::{Created, Vault, VaultStatus};

#[cfg(test)]
mod tests;
