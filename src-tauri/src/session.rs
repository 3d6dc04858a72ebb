//! Creating, unlocking, locking the vault; the passphrase and the recovery
//! key; the app's settings.

use std::path::PathBuf;

use custodian_core::vault::{probe, Probe};
use custodian_core::{ExposeSecret, RecoveryKey, SecretString, Vault};
use serde::Serialize;
use tauri::{AppHandle, Emitter};

use crate::error::{AppError, AppResult};
use crate::settings::Settings;
use crate::state::{lock, AppState};

/// What the window shows about the vault location.
#[derive(Debug, Serialize, PartialEq)]
pub struct VaultStatus {
    pub path: String,
    /// `missing`, `not_a_vault`, `locked` or `unlocked`.
    pub state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format_version: Option<u32>,
    /// The pod id (the signing key's JWK thumbprint), known only while the
    /// vault is unlocked: the key lives inside the encrypted database.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_id: Option<String>,
}

pub(crate) fn status_of(dir: &std::path::Path, unlocked: bool) -> VaultStatus {
    let path = dir.display().to_string();
    match probe(dir) {
        Probe::Missing => VaultStatus {
            path,
            state: "missing",
            id: None,
            format_version: None,
            pod_id: None,
        },
        Probe::NotAVault => VaultStatus {
            path,
            state: "not_a_vault",
            id: None,
            format_version: None,
            pod_id: None,
        },
        Probe::Vault { id, format_version } => VaultStatus {
            path,
            state: if unlocked { "unlocked" } else { "locked" },
            id: Some(id),
            format_version: Some(format_version),
            pod_id: None,
        },
    }
}

/// Where the vault is and whether it exists and is open; unlocks nothing.
/// While unlocked it also names the pod id (left out, with a warning in the
/// app's log, if it cannot be read: the window still opens).
#[tauri::command]
pub fn vault_status(state: tauri::State<'_, AppState>) -> AppResult<VaultStatus> {
    let mut status = status_of(&state.vault_dir, state.is_unlocked());
    if status.state == "unlocked" {
        match state.with_store(|store| Ok(store.pod_identity()?.id)) {
            Ok(id) => status.pod_id = Some(id),
            Err(e) if e.kind == "vault_locked" => status.state = "locked",
            Err(e) => tracing::warn!(error = %e.message, "could not read the pod id"),
        }
    }
    Ok(status)
}

#[derive(Debug, Serialize)]
pub struct NewVault {
    /// Shown to the person once; never stored by the app.
    pub recovery_key: String,
}

/// Creates the vault and leaves it unlocked.
#[tauri::command(async)]
pub fn create_vault(state: tauri::State<'_, AppState>, passphrase: String) -> AppResult<NewVault> {
    let passphrase = SecretString::from(passphrase);
    let created = Vault::create(&state.vault_dir, &passphrase)?;
    let recovery_key = created.recovery_key.expose().expose_secret().to_string();
    let settings = *lock(&state.settings);
    if let Err(e) = settings.save(&state.vault_dir) {
        tracing::warn!(error = %e.message, "could not save the app settings");
    }
    state.set_unlocked(created.vault);
    Ok(NewVault { recovery_key })
}

/// Unlocks with the passphrase. A wrong one changes nothing and says so.
#[tauri::command(async)]
pub fn unlock(state: tauri::State<'_, AppState>, passphrase: String) -> AppResult<()> {
    let vault = Vault::open(&state.vault_dir, &SecretString::from(passphrase))?;
    state.set_unlocked(vault);
    Ok(())
}

/// Unlocks with the recovery key and sets a new passphrase.
#[tauri::command(async)]
pub fn recover(
    state: tauri::State<'_, AppState>,
    recovery_key: String,
    new_passphrase: String,
) -> AppResult<()> {
    let key = RecoveryKey::parse(&recovery_key)?;
    let vault = Vault::recover(&state.vault_dir, &key, &SecretString::from(new_passphrase))?;
    state.set_unlocked(vault);
    Ok(())
}

/// Locks now: the key is dropped; sharing answers 503 until unlock.
#[tauri::command]
pub fn lock_vault(app: AppHandle, state: tauri::State<'_, AppState>) -> AppResult<()> {
    if state.is_unlocked() {
        locked(&app, &state, "by you");
    }
    Ok(())
}

/// Locks and tells the window why (`by you`, `after 10 minutes idle`).
pub fn locked(app: &AppHandle, state: &AppState, why: &str) {
    if state.lock_vault() {
        tracing::info!(why, "vault locked");
        let _ = app.emit("vault-locked", why);
    }
}

/// The person is active: the auto-lock timer starts again.
#[tauri::command]
pub fn touch(state: tauri::State<'_, AppState>) -> AppResult<()> {
    state.touch();
    Ok(())
}

/// Checks the current passphrase, then re-wraps the key under the new one.
#[tauri::command(async)]
pub fn change_passphrase(
    state: tauri::State<'_, AppState>,
    current: String,
    next: String,
) -> AppResult<()> {
    if !state.is_unlocked() {
        return Err(AppError::locked());
    }
    let next = SecretString::from(next);
    custodian_core::vault::keys::check_new_passphrase(&next)?;
    // Proves the person knows the current passphrase (an unlocked window is
    // not enough to take the vault over).
    let vault = Vault::open(&state.vault_dir, &SecretString::from(current))?;
    vault.change_passphrase(&next)?;
    state.touch();
    Ok(())
}

/// Writes the recovery key to `path`, readable by the user only. Refuses to
/// replace an existing file.
#[tauri::command(async)]
pub fn save_recovery_key(path: String, recovery_key: String) -> AppResult<()> {
    let key = RecoveryKey::parse(&recovery_key)?;
    let path = PathBuf::from(path.trim());
    if path.as_os_str().is_empty() {
        return Err(AppError::invalid(
            "choose a file to save the recovery key to",
        ));
    }
    if path.is_relative() {
        return Err(AppError::invalid(
            "give the full path of the file, e.g. /home/you/custodian-recovery-key.txt",
        ));
    }
    let text = format!(
        "# Custodian recovery key. Keep it offline and safe; it opens your vault.\n{}\n",
        key.expose().expose_secret()
    );
    write_private(&path, text.as_bytes())
        .map_err(|e| AppError::new("io", format!("could not save to {}: {e}", path.display())))
}

pub(crate) fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[tauri::command]
pub fn get_settings(state: tauri::State<'_, AppState>) -> AppResult<Settings> {
    Ok(*lock(&state.settings))
}

/// Checks and saves the settings; they take effect at once (a new sharing
/// port at the next switch-on).
#[tauri::command]
pub fn save_settings(state: tauri::State<'_, AppState>, settings: Settings) -> AppResult<Settings> {
    settings.check()?;
    if !state.is_unlocked() {
        return Err(AppError::locked());
    }
    settings.save(&state.vault_dir)?;
    *lock(&state.settings) = settings;
    state.touch();
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_missing_and_foreign_locations() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("vault");
        assert_eq!(status_of(&dir, false).state, "missing");
        std::fs::create_dir_all(dir.join("x")).unwrap();
        assert_eq!(status_of(&dir, false).state, "not_a_vault");
    }

    #[test]
    fn the_recovery_key_file_is_private_and_never_replaced() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("key.txt");
        write_private(&path, b"secret").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(write_private(&path, b"other").is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"secret");
    }
}
