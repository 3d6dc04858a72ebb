//! How the door reaches the vault: [`VaultAccess`] lends a `Store` for one
//! short, blocking step at a time (the CLI holds one open vault, the app its
//! unlocked state), so no store is ever held across an `.await`; and
//! [`LinkError`], the door's errors: the network's, the core's, or a vault
//! that is not open.

use custodian_core::Store;

use crate::error::NetError;

/// Short blocking access to an open vault's store.
pub trait VaultAccess {
    /// Runs `step` with the store. [`LinkError::Locked`] when there is no
    /// open vault (the app locked meanwhile).
    fn with_store<T>(
        &self,
        step: impl FnOnce(&Store) -> custodian_core::Result<T>,
    ) -> Result<T, LinkError>;
}

/// A store behind a mutex is a vault the door can use from concurrent
/// deliveries.
impl VaultAccess for std::sync::Mutex<custodian_core::Vault> {
    fn with_store<T>(
        &self,
        step: impl FnOnce(&Store) -> custodian_core::Result<T>,
    ) -> Result<T, LinkError> {
        let vault = self.lock().map_err(|_| LinkError::Locked)?;
        Ok(step(vault.store())?)
    }
}

/// What connecting, delivering or polling a feed failed on.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// Fetching one of the company's documents failed or was refused.
    #[error("fetching {what} failed: {source}")]
    Fetch {
        what: &'static str,
        #[source]
        source: NetError,
    },
    /// The network client could not be set up.
    #[error(transparent)]
    Net(#[from] NetError),
    /// The core refused (a rule of the link, the request, the vault).
    #[error(transparent)]
    Core(#[from] custodian_core::Error),
    /// The vault is not open.
    #[error("the vault is locked")]
    Locked,
}
