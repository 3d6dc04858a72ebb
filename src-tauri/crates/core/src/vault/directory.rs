//! Where a vault lives and what is in its directory, read without unlocking
//! anything: the file names, `vault.json`, telling a missing, foreign, newer
//! or damaged vault apart, and the staging directories a vault is built in.

use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Error, Result};

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

/// Vaults are built in `.custodian-init-PID-UUID` beside their place.
pub(super) const STAGING_PREFIX: &str = ".custodian-init-";

/// Removes staging directories that a killed `init` or `import` left
/// beside `parent`: those whose process is gone (and, from versions that
/// did not name the process, those older than a day). Best effort.
pub(super) fn remove_abandoned_staging(parent: &Path) {
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

pub(super) fn make_private_dir(dir: &Path) -> Result<()> {
    let mut builder = fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(|e| Error::io(format!("creating {}", dir.display()), e))
}
