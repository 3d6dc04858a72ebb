//! The vault directory: where it is, creating it, unlocking it, and changing
//! how its key is wrapped.
//!
//! ```text
//! DIR/vault.json           format name and version, vault id (no secrets)
//! DIR/vault.db             SQLCipher database under the raw vault key
//! DIR/key.passphrase.age   the vault key, age-encrypted to the passphrase
//! DIR/key.recovery.age     the vault key, age-encrypted to the recovery key
//! ```

use std::fs;
use std::path::{Path, PathBuf};

use age::secrecy::SecretString;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::clock::{Clock, SystemClock};
use crate::keys::{self, RecoveryKey, VaultKey, DEFAULT_WORK_FACTOR};
use crate::resource::ResourceCounts;
use crate::store::Store;
use crate::{db, fsutil, Error, Result};

/// The vault directory format this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;
/// The `format` field of `vault.json`.
pub const FORMAT_NAME: &str = "custodian-vault";

/// File names inside a vault directory.
pub const INFO_FILE: &str = "vault.json";
pub const DB_FILE: &str = "vault.db";
pub const PASSPHRASE_KEY_FILE: &str = "key.passphrase.age";
pub const RECOVERY_KEY_FILE: &str = "key.recovery.age";

/// The plaintext description of a vault (`vault.json`). Holds no secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VaultInfo {
    pub format: String,
    pub format_version: u32,
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
}

/// What is at a vault location, found without unlocking anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// Nothing there yet.
    Missing,
    /// Something that is not a vault (or a damaged one).
    NotAVault,
    /// A vault, locked.
    Vault { id: String, format_version: u32 },
}

/// Where the vault lives: `explicit` (from `--vault`), else `CUSTODIAN_VAULT`,
/// else the platform data directory (`$XDG_DATA_HOME/custodian` on Linux).
pub fn resolve_vault_dir(explicit: Option<PathBuf>) -> Result<PathBuf> {
    if let Some(dir) = explicit.filter(|d| !d.as_os_str().is_empty()) {
        return Ok(dir);
    }
    if let Some(dir) = std::env::var_os("CUSTODIAN_VAULT").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    dirs::data_dir()
        .map(|d| d.join("custodian"))
        .ok_or_else(|| {
            Error::Internal("no data directory: set CUSTODIAN_VAULT or pass --vault".into())
        })
}

/// Looks at a vault location without unlocking it.
pub fn probe(dir: &Path) -> Probe {
    if !dir.exists() {
        return Probe::Missing;
    }
    match inspect(dir) {
        Ok(info) => Probe::Vault {
            id: info.id.to_string(),
            format_version: info.format_version,
        },
        Err(Error::NewerFormat { found, .. }) => Probe::Vault {
            id: String::new(),
            format_version: found,
        },
        Err(_) => Probe::NotAVault,
    }
}

/// Reads a vault's description without unlocking it, telling a missing,
/// foreign or newer vault apart. Doors call it before asking for a
/// passphrase.
pub fn inspect(dir: &Path) -> Result<VaultInfo> {
    if !dir.exists() {
        return Err(Error::VaultNotFound {
            path: dir.to_path_buf(),
        });
    }
    let not_a_vault = |reason: String| Error::NotAVault {
        path: dir.to_path_buf(),
        reason,
    };
    if !dir.is_dir() {
        return Err(not_a_vault("it is not a directory".into()));
    }
    let bytes = match fs::read(dir.join(INFO_FILE)) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(not_a_vault(format!("it has no {INFO_FILE}")))
        }
        Err(e) => {
            return Err(Error::io(
                format!("reading {}", dir.join(INFO_FILE).display()),
                e,
            ))
        }
    };
    #[derive(Deserialize)]
    struct Header {
        format: String,
        format_version: u32,
    }
    let header: Header = serde_json::from_slice(&bytes)
        .map_err(|e| not_a_vault(format!("{INFO_FILE} is unreadable: {e}")))?;
    if header.format != FORMAT_NAME {
        return Err(not_a_vault(format!(
            "{INFO_FILE} describes a {:?}",
            header.format
        )));
    }
    if header.format_version > FORMAT_VERSION {
        return Err(Error::NewerFormat {
            found: header.format_version,
            supported: FORMAT_VERSION,
        });
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| not_a_vault(format!("{INFO_FILE} is unreadable: {e}")))
}

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
        Ok(Store::new(conn))
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

/// Vaults are built in `.custodian-init-PID-UUID` beside their place.
const STAGING_PREFIX: &str = ".custodian-init-";

/// Removes staging directories that a killed `init` or `import` left
/// beside `parent`: those whose process is gone (and, from versions that
/// did not name the process, those older than a day). Best effort.
fn remove_abandoned_staging(parent: &Path) {
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(STAGING_PREFIX)) else {
            continue;
        };
        let owner = rest
            .split_once('-')
            .and_then(|(pid, _)| pid.parse::<u32>().ok());
        let abandoned = match owner {
            Some(pid) => !process_is_running(pid),
            None => entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > std::time::Duration::from_secs(24 * 3600)),
        };
        if abandoned {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// Whether a process with this id runs (on systems without `/proc`, assume
/// it does: a staging directory is then left, never a live one removed).
fn process_is_running(pid: u32) -> bool {
    let proc = Path::new("/proc");
    !proc.is_dir() || proc.join(pid.to_string()).exists()
}

fn make_private_dir(dir: &Path) -> Result<()> {
    let mut builder = fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(|e| Error::io(format!("creating {}", dir.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::NewResource;
    use age::secrecy::ExposeSecret;

    const LOW: u8 = 4;

    fn pass(s: &str) -> SecretString {
        SecretString::from(s.to_string())
    }

    fn new_vault(dir: &Path) -> Created {
        Vault::create_with_work_factor(dir, &pass("correct horse"), LOW).unwrap()
    }

    fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>, std::time::SystemTime)> {
        let mut out: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let m = e.metadata().unwrap();
                (
                    e.file_name().to_string_lossy().into_owned(),
                    fs::read(e.path()).unwrap(),
                    m.modified().unwrap(),
                )
            })
            .collect();
        out.sort();
        out
    }

    #[test]
    fn create_then_open_with_passphrase() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("v");
        let created = new_vault(&dir);
        let id = created.vault.info().id;
        drop(created);
        let vault = Vault::open(&dir, &pass("correct horse")).unwrap();
        assert_eq!(vault.info().id, id);
        let (_, saved) = vault.store().communication_preferences().unwrap();
        assert!(saved, "init saves default preferences");
        assert_eq!(
            probe(&dir),
            Probe::Vault {
                id: id.to_string(),
                format_version: 1
            }
        );
        let names: Vec<_> = fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["v"], "no staging directory left behind");
    }

    /// A killed `init` or `import` leaves its staging directory; the next
    /// vault made beside it removes it, never one whose process still runs.
    #[test]
    fn abandoned_staging_directories_are_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let dead = tmp.path().join(format!("{STAGING_PREFIX}{}-abc", u32::MAX));
        let alive = tmp
            .path()
            .join(format!("{STAGING_PREFIX}{}-def", std::process::id()));
        fs::create_dir(&dead).unwrap();
        fs::write(dead.join("vault.db"), b"half").unwrap();
        fs::create_dir(&alive).unwrap();
        drop(new_vault(&tmp.path().join("v")));
        assert!(!dead.exists(), "the dead process's staging is gone");
        assert!(alive.exists(), "a running process's staging is kept");
    }

    #[cfg(unix)]
    #[test]
    fn every_file_in_the_vault_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let modes = |dir: &Path| -> Vec<(String, u32)> {
            let mut out: Vec<_> = fs::read_dir(dir)
                .unwrap()
                .map(|e| {
                    let e = e.unwrap();
                    let mode = e.metadata().unwrap().permissions().mode() & 0o777;
                    (e.file_name().to_string_lossy().into_owned(), mode)
                })
                .collect();
            out.sort();
            out
        };
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("v");
        let created = new_vault(&dir);
        // The WAL and shared-memory files exist while the vault is open.
        let files = modes(&dir);
        assert!(files.iter().any(|(n, _)| n.ends_with("-wal")), "{files:?}");
        for (name, mode) in &files {
            assert_eq!(mode & 0o077, 0, "{name} is {mode:o}");
        }
        assert_eq!(fs::metadata(&dir).unwrap().permissions().mode() & 0o077, 0);
        drop(created);
        // A vault from before: its database readable by others, mended on open.
        let db = dir.join(DB_FILE);
        fs::set_permissions(&db, fs::Permissions::from_mode(0o644)).unwrap();
        let vault = Vault::open(&dir, &pass("correct horse")).unwrap();
        for (name, mode) in modes(&dir) {
            assert_eq!(mode & 0o077, 0, "{name} is {mode:o} after open");
        }
        drop(vault);
    }

    #[test]
    fn wrong_passphrase_changes_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("v");
        drop(new_vault(&dir));
        let before = snapshot(&dir);
        let err = Vault::open(&dir, &pass("wrong horse!")).err().unwrap();
        assert!(matches!(err, Error::WrongPassphrase { .. }));
        assert_eq!(snapshot(&dir), before);
    }

    #[test]
    fn create_refuses_existing_and_weak() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("v");
        drop(new_vault(&dir));
        assert!(matches!(
            Vault::create_with_work_factor(&dir, &pass("correct horse"), LOW),
            Err(Error::VaultExists { .. })
        ));
        let empty = tmp.path().join("empty");
        fs::create_dir(&empty).unwrap();
        assert!(matches!(
            Vault::create_with_work_factor(&empty, &pass("short"), LOW),
            Err(Error::WeakPassphrase { .. })
        ));
        assert!(fs::read_dir(&empty).unwrap().next().is_none());
        // An empty directory is a fine place for a new vault.
        drop(new_vault(&empty));
        assert!(matches!(probe(&empty), Probe::Vault { .. }));
    }

    #[test]
    fn change_passphrase_and_recover() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("v");
        let Created {
            vault,
            recovery_key,
        } = new_vault(&dir);
        vault
            .store()
            .put(
                &crate::parse_path("/x").unwrap(),
                NewResource::json(&serde_json::json!(1)),
            )
            .unwrap();
        let db_before = fs::read(dir.join(DB_FILE)).unwrap();
        vault.change_passphrase(&pass("second passphrase")).unwrap();
        drop(vault);
        assert!(Vault::open(&dir, &pass("correct horse")).is_err());
        drop(Vault::open(&dir, &pass("second passphrase")).unwrap());
        let text = recovery_key.expose().expose_secret().to_string();
        let recovered = Vault::recover(
            &dir,
            &RecoveryKey::parse(&text).unwrap(),
            &pass("third passphrase"),
        )
        .unwrap();
        assert_eq!(
            recovered
                .store()
                .get(&crate::parse_path("/x").unwrap(), None)
                .unwrap()
                .content,
            b"1"
        );
        drop(recovered);
        drop(Vault::open(&dir, &pass("third passphrase")).unwrap());
        let _ = db_before;
    }

    #[test]
    fn recover_with_wrong_key_or_weak_passphrase_changes_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("v");
        drop(new_vault(&dir));
        let before = snapshot(&dir);
        let other = RecoveryKey::generate();
        assert!(matches!(
            Vault::recover(&dir, &other, &pass("new passphrase")),
            Err(Error::WrongRecoveryKey { .. })
        ));
        assert!(matches!(
            Vault::recover(&dir, &other, &pass("short")),
            Err(Error::WeakPassphrase { .. })
        ));
        assert_eq!(snapshot(&dir), before);
    }

    #[test]
    fn missing_foreign_newer_and_damaged_vaults_are_told_apart() {
        let tmp = tempfile::tempdir().unwrap();
        let p = pass("correct horse");
        assert!(matches!(
            Vault::open(&tmp.path().join("nope"), &p),
            Err(Error::VaultNotFound { .. })
        ));
        assert!(matches!(
            Vault::open(tmp.path(), &p),
            Err(Error::NotAVault { .. })
        ));
        assert_eq!(probe(tmp.path()), Probe::NotAVault);
        assert_eq!(probe(&tmp.path().join("nope")), Probe::Missing);

        let dir = tmp.path().join("v");
        drop(new_vault(&dir));
        let info = fs::read_to_string(dir.join(INFO_FILE)).unwrap();
        fs::write(
            dir.join(INFO_FILE),
            info.replace("\"format_version\": 1", "\"format_version\": 7"),
        )
        .unwrap();
        assert!(matches!(
            Vault::open(&dir, &p),
            Err(Error::NewerFormat {
                found: 7,
                supported: 1
            })
        ));
        fs::write(dir.join(INFO_FILE), &info).unwrap();

        let key = fs::read(dir.join(PASSPHRASE_KEY_FILE)).unwrap();
        fs::write(dir.join(PASSPHRASE_KEY_FILE), &key[..key.len() / 2]).unwrap();
        assert!(matches!(
            Vault::open(&dir, &p),
            Err(Error::KeyFileDamaged { .. })
        ));
        fs::write(dir.join(PASSPHRASE_KEY_FILE), &key).unwrap();

        let mut db_bytes = fs::read(dir.join(DB_FILE)).unwrap();
        db_bytes.truncate(100);
        fs::write(dir.join(DB_FILE), &db_bytes).unwrap();
        let err = Vault::open(&dir, &p).err().unwrap();
        assert!(matches!(err, Error::DatabaseDamaged { .. }), "{err}");
    }

    #[test]
    fn a_database_from_another_vault_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
        drop(new_vault(&a));
        drop(new_vault(&b));
        fs::copy(b.join(DB_FILE), a.join(DB_FILE)).unwrap();
        let err = Vault::open(&a, &pass("correct horse")).err().unwrap();
        assert!(matches!(err, Error::DatabaseDamaged { .. }), "{err}");
    }
}
