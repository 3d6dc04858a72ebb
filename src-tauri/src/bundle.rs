//! Export and import: the encrypted bundle, with progress sent to the window
//! as `bundle-progress` events.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use custodian_core::bundle::{self, ExportSummary, MergeReport, Opener, Phase, Progress, Seal};
use custodian_core::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Emitter};

use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// How a bundle is sealed, as the window sends it.
#[derive(Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum SealInput {
    Passphrase(String),
    Recipient(String),
}

/// How a bundle is opened, as the window sends it.
#[derive(Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum OpenerInput {
    Passphrase(String),
    /// The text of an age identity file (`AGE-SECRET-KEY-1…`).
    Identity(String),
}

impl OpenerInput {
    fn parse(self) -> AppResult<Opener> {
        Ok(match self {
            OpenerInput::Passphrase(p) => Opener::Passphrase(SecretString::from(p)),
            OpenerInput::Identity(text) => Opener::identity_file(&text)?,
        })
    }
}

/// Progress as the window receives it.
#[derive(Debug, Clone, Serialize)]
pub struct ProgressEvent {
    pub phase: &'static str,
    pub items_done: u64,
    pub items_total: u64,
    pub bytes_done: u64,
    pub bytes_total: u64,
}

impl From<&Progress> for ProgressEvent {
    fn from(p: &Progress) -> Self {
        ProgressEvent {
            phase: match p.phase {
                Phase::Hashing => "hashing",
                Phase::Writing => "writing",
                Phase::Verifying => "verifying",
                Phase::Staging => "staging",
                Phase::Restoring => "restoring",
            },
            items_done: p.items_done,
            items_total: p.items_total,
            bytes_done: p.bytes_done,
            bytes_total: p.bytes_total,
        }
    }
}

/// Sends progress at most every 100 ms, and at every change of phase.
fn reporter(app: &AppHandle) -> impl FnMut(&Progress) + '_ {
    let mut last: Option<(Instant, Phase)> = None;
    move |p: &Progress| {
        let due = match last {
            None => true,
            Some((at, phase)) => phase != p.phase || at.elapsed() >= Duration::from_millis(100),
        };
        let done = p.items_total > 0 && p.items_done == p.items_total;
        if due || done {
            last = Some((Instant::now(), p.phase));
            let _ = app.emit("bundle-progress", ProgressEvent::from(p));
        }
    }
}

fn file_path(text: &str, what: &str) -> AppResult<PathBuf> {
    let path = PathBuf::from(text.trim());
    if path.as_os_str().is_empty() {
        return Err(AppError::invalid(format!("choose the {what}")));
    }
    if path.is_relative() {
        return Err(AppError::invalid(format!(
            "give the full path of the {what}, e.g. /home/you/{}",
            bundle::default_file_name(chrono::Local::now().date_naive())
        )));
    }
    Ok(path)
}

/// `custodian-YYYY-MM-DD.custodian.age` in the documents folder (or home).
#[tauri::command]
pub fn default_export_path() -> AppResult<String> {
    let dir = dirs::document_dir()
        .filter(|d| d.is_dir())
        .or_else(dirs::home_dir)
        .unwrap_or_else(std::env::temp_dir);
    let name = bundle::default_file_name(chrono::Local::now().date_naive());
    Ok(dir.join(name).display().to_string())
}

/// Writes the whole vault to an encrypted bundle at `out` (an existing file
/// only when `replace`: the person confirmed it in the save dialog). Runs on
/// a connection of its own, so the window stays usable.
#[tauri::command(async)]
pub fn export_bundle(
    app: AppHandle,
    state: tauri::State<'_, AppState>,
    out: String,
    seal: SealInput,
    replace: bool,
) -> AppResult<ExportSummary> {
    let out = file_path(&out, "bundle file")?;
    let seal = match seal {
        SealInput::Passphrase(p) => {
            let p = SecretString::from(p);
            custodian_core::vault::keys::check_new_passphrase(&p)?;
            Seal::passphrase(p)
        }
        SealInput::Recipient(r) => Seal::recipient(r.trim())?,
    };
    let store = state.open_store()?;
    let summary = bundle::export_bundle(&store, &out, &seal, replace, &mut reporter(&app))?;
    state.touch();
    Ok(summary)
}

/// What a restore made: the new vault is open; its recovery key is shown once.
#[derive(Debug, Serialize)]
pub struct RestoredVault {
    pub recovery_key: String,
    pub resources: u64,
}

/// First run on a new machine: restores a bundle into a new vault here, with
/// a new passphrase and a new recovery key, and leaves it unlocked. The
/// bundle is checked completely first; a failure leaves no vault behind.
#[tauri::command(async)]
pub fn restore_bundle(
    app: AppHandle,
    state: tauri::State<'_, AppState>,
    file: String,
    opener: OpenerInput,
    passphrase: String,
) -> AppResult<RestoredVault> {
    let file = file_path(&file, "bundle file")?;
    let passphrase = SecretString::from(passphrase);
    custodian_core::vault::keys::check_new_passphrase(&passphrase)?;
    let opener = opener.parse()?;
    let restored = bundle::restore_bundle(
        &file,
        &opener,
        &state.vault_dir,
        &passphrase,
        custodian_core::vault::keys::DEFAULT_WORK_FACTOR,
        &mut reporter(&app),
    )?;
    let recovery_key = restored
        .created
        .recovery_key
        .expose()
        .expose_secret()
        .to_string();
    let resources = restored.manifest.counts.resources;
    state.set_unlocked(restored.created.vault);
    Ok(RestoredVault {
        recovery_key,
        resources,
    })
}

/// Merges a bundle into this vault: adds what is missing, reports conflicts,
/// overwrites nothing; all or nothing.
#[tauri::command(async)]
pub fn import_bundle(
    app: AppHandle,
    state: tauri::State<'_, AppState>,
    file: String,
    opener: OpenerInput,
) -> AppResult<MergeReport> {
    let file = file_path(&file, "bundle file")?;
    let opener = opener.parse()?;
    let store = state.open_store()?;
    let report = bundle::merge_bundle(&store, &file, &opener, &mut reporter(&app))?;
    state.touch();
    Ok(report)
}
