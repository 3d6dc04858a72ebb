//! An unlocked vault: creating one (built in a staging directory beside
//! its place, renamed into place whole), opening it with the passphrase or
//! the recovery key, changing the passphrase, and its status.

use std::fs;
use std::path::{Path, PathBuf};

use age::secrecy::SecretString;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::directory::{
    inspect, make_private_dir, remove_abandoned_staging, VaultInfo, DB_FILE, FORMAT_NAME,
    FORMAT_VERSION, INFO_FILE, PASSPHRASE_KEY_FILE, RECOVERY_KEY_FILE, STAGING_PREFIX,
};
use crate::clock::{Clock, SystemClock};
use crate::data::resource::ResourceCounts;
use crate::vault::db;
use crate::vault::keys::{self, RecoveryKey, VaultKey, DEFAULT_WORK_FACTOR};
use crate::vault::store::Store;
use crate::{fsutil, Error, Result};

/// A new vault and the recovery key to show the person once.
pub struct Created {
    pub vault: Vault,
    pub recovery_key: RecoveryKey,
}

/// An unlocked vault. Dropping it drops (and zeroes) the key.
pub struct Vault {
    dir: PathBuf,
    info: VaultInfo,
    key: VaultKey,
    store: Store,
    work_factor: u8,
}

/// A summary for `custodian status`.
#[derive(Debug, Clone, Serialize)]
pub struct VaultStatus {
    pub path: PathBuf,
    pub id: Uuid,
    pub format_version: u32,
    pub schema_version: u32,
    pub created_at: DateTime<Utc>,
    #[serde(flatten)]
    pub resources: ResourceCounts,
    /// Access requests waiting for the person's answer.
    pub pending_requests: usize,
    /// Grants in force now.
    pub active_grants: usize,
    /// The pod's id: its signing key's JWK thumbprint (RFC 7638).
    pub pod_id: String,
}

impl Vault {
    /// Creates a vault at `dir` (which must not exist, or be an empty
    /// directory) with the default, deliberately slow, key wrapping. Either
    /// the whole vault appears or nothing does.
    pub fn create(dir: &Path, passphrase: &SecretString) -> Result<Created> {
        Self::create_inner(dir, passphrase, DEFAULT_WORK_FACTOR)
    }

    /// Like [`Vault::create`] with a chosen scrypt work factor, so tests do
    /// not spend a second per unlock. Never used by a door.
    #[cfg(any(test, feature = "test-support"))]
    pub fn create_with_work_factor(
        dir: &Path,
        passphrase: &SecretString,
        work_factor: u8,
    ) -> Result<Created> {
        Self::create_inner(dir, passphrase, work_factor)
    }

    fn create_inner(dir: &Path, passphrase: &SecretString, work_factor: u8) -> Result<Created> {
        Self::create_filled(dir, passphrase, work_factor, &mut |_| Ok(()))
    }

    /// Creates a vault and lets `fill` write into its store before the vault
    /// is renamed into place: if `fill` fails, no directory is left at `dir`
    /// (a restore from a bundle uses this).
    pub(crate) fn create_filled(
        dir: &Path,
        passphrase: &SecretString,
        work_factor: u8,
        fill: &mut dyn FnMut(&Store) -> Result<()>,
    ) -> Result<Created> {
        keys::check_new_passphrase(passphrase)?;
        let replaces_empty_dir = match fs::read_dir(dir).map(|mut entries| entries.next().is_none())
        {
            Ok(true) => true,
            Ok(false) => {
                return Err(Error::VaultExists {
                    path: dir.to_path_buf(),
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => {
                return Err(Error::VaultExists {
                    path: dir.to_path_buf(),
                })
            }
            Err(e) => return Err(Error::io(format!("reading {}", dir.display()), e)),
        };
        let parent = match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        fs::create_dir_all(&parent)
            .map_err(|e| Error::io(format!("creating {}", parent.display()), e))?;

        // Build the vault beside its destination, then rename it into place:
        // a crash or error leaves no half-made vault at `dir`.
        remove_abandoned_staging(&parent);
        let staging = parent.join(format!(
            "{STAGING_PREFIX}{}-{}",
            std::process::id(),
            Uuid::new_v4()
        ));
        make_private_dir(&staging)?;
        let built = Self::build(&staging, passphrase, work_factor, fill);
        let placed = built.and_then(|(info, key, recovery_key)| {
            if replaces_empty_dir {
                fs::remove_dir(dir)
                    .map_err(|e| Error::io(format!("replacing {}", dir.display()), e))?;
            }
            fs::rename(&staging, dir)
                .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
            fsutil::sync_dir(&parent)?;
            Ok((info, key, recovery_key))
        });
        let (info, key, recovery_key) = match placed {
            Ok(parts) => parts,
            Err(e) => {
                let _ = fs::remove_dir_all(&staging);
                return Err(e);
            }
        };
        let vault = Self::open_with_key(dir, info, key, work_factor)?;
        tracing::info!(vault = %dir.display(), "created vault");
        Ok(Created {
            vault,
            recovery_key,
        })
    }

    fn build(
        dir: &Path,
        passphrase: &SecretString,
        work_factor: u8,
        fill: &mut dyn FnMut(&Store) -> Result<()>,
    ) -> Result<(VaultInfo, VaultKey, RecoveryKey)> {
        let clock = SystemClock;
        let info = VaultInfo {
            format: FORMAT_NAME.into(),
            format_version: FORMAT_VERSION,
            id: Uuid::new_v4(),
            created_at: clock.now(),
        };
        let key = VaultKey::generate()?;
        let recovery_key = RecoveryKey::generate();
        fsutil::write_atomic(
            dir,
            PASSPHRASE_KEY_FILE,
            &keys::wrap_with_passphrase(&key, passphrase, work_factor)?,
        )?;
        fsutil::write_atomic(
            dir,
            RECOVERY_KEY_FILE,
            &keys::wrap_for_recovery(&key, &recovery_key)?,
        )?;
        {
            let store = Store::new(db::create_encrypted(
                &dir.join(DB_FILE),
                &key,
                &db::now_text(&clock),
            )?);
            store.set_meta("vault_id", &info.id.to_string())?;
            store.set_meta("created_at", &crate::clock::format_time(info.created_at))?;
            let (defaults, _) = store.communication_preferences()?;
            store.save_communication_preferences(&defaults)?;
            fill(&store)?;
            // Closing checkpoints the WAL into vault.db before the rename.
        }
        let json = serde_json::to_vec_pretty(&info).map_err(|e| Error::Internal(e.to_string()))?;
        fsutil::write_atomic(dir, INFO_FILE, &json)?;
        Ok((info, key, recovery_key))
    }

    /// Unlocks the vault at `dir` with its passphrase. A wrong passphrase
    /// changes no file.
    pub fn open(dir: &Path, passphrase: &SecretString) -> Result<Vault> {
        let info = inspect(dir)?;
        let key_path = dir.join(PASSPHRASE_KEY_FILE);
        let wrapped = read_key_file(&key_path)?;
        let key = keys::unwrap_with_passphrase(&wrapped, passphrase, &key_path, dir)?;
        Self::open_with_key(dir, info, key, DEFAULT_WORK_FACTOR)
    }

    /// Sets a new passphrase using the recovery key, for a person who forgot
    /// theirs. Checks everything before writing the one key file.
    pub fn recover(
        dir: &Path,
        recovery_key: &RecoveryKey,
        new_passphrase: &SecretString,
    ) -> Result<Vault> {
        let info = inspect(dir)?;
        keys::check_new_passphrase(new_passphrase)?;
        let key_path = dir.join(RECOVERY_KEY_FILE);
        let wrapped = read_key_file(&key_path)?;
        let key = keys::unwrap_with_recovery(&wrapped, recovery_key, &key_path, dir)?;
        let vault = Self::open_with_key(dir, info, key, DEFAULT_WORK_FACTOR)?;
        vault.change_passphrase(new_passphrase)?;
        Ok(vault)
    }

    fn open_with_key(dir: &Path, info: VaultInfo, key: VaultKey, work_factor: u8) -> Result<Vault> {
        let db_path = dir.join(DB_FILE);
        let conn = db::open_encrypted(&db_path, &key, &db::now_text(&SystemClock))?;
        let store = Store::new(conn);
        let stored_id = store.meta("vault_id")?;
        if stored_id.as_deref() != Some(info.id.to_string().as_str()) {
            return Err(Error::DatabaseDamaged {
                path: db_path,
                reason: format!("it belongs to another vault than the one {INFO_FILE} names"),
            });
        }
        // Staging blobs a crashed large write left behind (only those no
        // writer has touched for an hour). Best effort: a busy vault is
        // swept at a later open.
        if let Err(e) = store.sweep_staging() {
            tracing::warn!(error = %e, "could not sweep staging blobs");
        }
        Ok(Vault {
            dir: dir.to_path_buf(),
            info,
            key,
            store,
            work_factor,
        })
    }

    /// Re-wraps the vault key under a new passphrase, replacing only
    /// `key.passphrase.age`, atomically. The database is untouched.
    pub fn change_passphrase(&self, new_passphrase: &SecretString) -> Result<()> {
        keys::check_new_passphrase(new_passphrase)?;
        let wrapped = keys::wrap_with_passphrase(&self.key, new_passphrase, self.work_factor)?;
        fsutil::write_atomic(&self.dir, PASSPHRASE_KEY_FILE, &wrapped)?;
        tracing::info!(vault = %self.dir.display(), "changed passphrase");
        Ok(())
    }

    /// Another connection to the same database, for a door that serves
    /// several requests at once (the pod API keeps a small pool).
    pub fn open_store(&self) -> Result<Store> {
        let conn = db::open_encrypted(
            &self.dir.join(DB_FILE),
            &self.key,
            &db::now_text(&SystemClock),
        )?;
        // One cursor key per unlocked vault: a listing cursor sealed on one
        // connection opens on every other.
        Ok(Store::new(conn).sharing_cursors_with(&self.store))
    }

    /// The vault's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The vault's description.
    pub fn info(&self) -> &VaultInfo {
        &self.info
    }

    /// The store, for every data operation.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The store, mutably (to replace its clock).
    pub fn store_mut(&mut self) -> &mut Store {
        &mut self.store
    }

    /// A summary of the vault.
    pub fn status(&self) -> Result<VaultStatus> {
        let (pending_requests, active_grants) = self.store.sharing_counts()?;
        Ok(VaultStatus {
            path: self.dir.clone(),
            id: self.info.id,
            format_version: self.info.format_version,
            schema_version: self.store.schema_version()?,
            created_at: self.info.created_at,
            resources: self.store.resource_counts()?,
            pending_requests,
            active_grants,
            pod_id: self.store.pod_identity()?.id,
        })
    }
}

fn read_key_file(path: &Path) -> Result<Vec<u8>> {
    match fs::read(path) {
        Ok(bytes) => Ok(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::KeyFileDamaged {
            path: path.to_path_buf(),
            reason: "the file is missing".into(),
        }),
        Err(e) => Err(Error::io(format!("reading {}", path.display()), e)),
    }
}
