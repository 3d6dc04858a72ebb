//! What the window's commands share: where the vault is, the unlocked vault
//! (or none, while locked), when the person last did something, the
//! settings, the pod API while sharing is on, and the delivery task's bell.

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use custodian_core::{Store, Vault};

use crate::error::{AppError, AppResult};
use crate::settings::Settings;
use crate::sharing::Sharing;

pub struct AppState {
    pub vault_dir: PathBuf,
    vault: Mutex<Option<Vault>>,
    last_activity: Mutex<Instant>,
    pub settings: Mutex<Settings>,
    pub sharing: Mutex<Option<Sharing>>,
    /// Rung when the outbox may have something new to send.
    outbox: tokio::sync::Notify,
}

/// A poisoned lock only means another command panicked; the data behind it
/// is still consistent (every change is a database transaction).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl AppState {
    pub fn new(vault_dir: PathBuf) -> AppState {
        let settings = Settings::load(&vault_dir);
        AppState {
            vault_dir,
            vault: Mutex::new(None),
            last_activity: Mutex::new(Instant::now()),
            settings: Mutex::new(settings),
            sharing: Mutex::new(None),
            outbox: tokio::sync::Notify::new(),
        }
    }

    /// Runs `work` on the unlocked vault; counts as activity.
    pub fn with_vault<T>(&self, work: impl FnOnce(&Vault) -> AppResult<T>) -> AppResult<T> {
        self.touch();
        let guard = lock(&self.vault);
        let vault = guard.as_ref().ok_or_else(AppError::locked)?;
        work(vault)
    }

    /// Runs `work` on the unlocked vault's store; counts as activity.
    pub fn with_store<T>(&self, work: impl FnOnce(&Store) -> AppResult<T>) -> AppResult<T> {
        self.with_vault(|vault| work(vault.store()))
    }

    /// A connection of its own, for long work (export, import) that must not
    /// hold up the window's other commands.
    pub fn open_store(&self) -> AppResult<Store> {
        self.with_vault(|vault| Ok(vault.open_store()?))
    }

    /// Like [`AppState::with_store`] without counting as activity: `None`
    /// when locked (for the delivery task, one short step at a time).
    pub fn with_store_quietly<T>(&self, work: impl FnOnce(&Store) -> T) -> Option<T> {
        let guard = lock(&self.vault);
        guard.as_ref().map(|vault| work(vault.store()))
    }

    /// Wakes the delivery task: something may be due now.
    pub fn outbox_changed(&self) {
        self.outbox.notify_one();
    }

    /// Resolves when [`AppState::outbox_changed`] was called (since the
    /// last time it resolved).
    pub fn outbox_woken(&self) -> tokio::sync::futures::Notified<'_> {
        self.outbox.notified()
    }

    /// Like [`AppState::with_store`] without counting as activity, and
    /// without waiting: `None` when locked or busy (for background checks).
    pub fn peek_store<T>(&self, work: impl FnOnce(&Store) -> T) -> Option<T> {
        let guard = self.vault.try_lock().ok()?;
        guard.as_ref().map(|vault| work(vault.store()))
    }

    pub fn is_unlocked(&self) -> bool {
        lock(&self.vault).is_some()
    }

    /// Keeps the vault open and, with sharing on, lets the pod serve it.
    pub fn set_unlocked(&self, vault: Vault) {
        if let Some(sharing) = lock(&self.sharing).as_ref() {
            if let Err(e) = sharing.open(&vault) {
                tracing::error!(error = %e, "sharing could not resume after unlock");
            }
        }
        *lock(&self.vault) = Some(vault);
        self.touch();
        self.outbox_changed();
    }

    /// Drops the vault (and with it the key) and closes the pod's gate:
    /// companies get 503 `vault_locked` until the next unlock. True when
    /// something was unlocked.
    pub fn lock_vault(&self) -> bool {
        if let Some(sharing) = lock(&self.sharing).as_ref() {
            sharing.close();
        }
        lock(&self.vault).take().is_some()
    }

    pub fn touch(&self) {
        *lock(&self.last_activity) = Instant::now();
    }

    /// Seconds since the person last did something in the window.
    pub fn idle_secs(&self) -> u64 {
        lock(&self.last_activity).elapsed().as_secs()
    }
}
