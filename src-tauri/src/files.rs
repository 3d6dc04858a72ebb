//! Files in and out by path, of any size up to the vault's maximum: the
//! window hands over a file's path (from a native open or save dialog, or
//! typed) and the bytes go between the file and the vault a chunk at a
//! time, never through the window. Progress goes to the window as
//! `file-progress` events.

use std::fs::File;
use std::io::{self, BufReader};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use custodian_core::data::resource::{Author, NewMeta, OCTET_STREAM};
use custodian_core::fsutil::{self, StreamedWrite};
use custodian_core::{parse_path, Category, Mark, ResourceMeta};
use serde::Serialize;
use tauri::{AppHandle, Emitter};

use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Progress of a file going in or out, as the window receives it.
#[derive(Debug, Clone, Serialize)]
pub struct FileProgress {
    /// The resource's path.
    pub path: String,
    /// `import` (file → vault) or `save` (vault → file).
    pub direction: &'static str,
    pub bytes_done: u64,
    pub bytes_total: u64,
}

/// Sends progress at most every 100 ms, and at the end.
fn reporter<'a>(
    app: &'a AppHandle,
    path: &'a str,
    direction: &'static str,
    bytes_total: u64,
) -> impl FnMut(u64) + 'a {
    let mut last: Option<Instant> = None;
    move |bytes_done: u64| {
        let due = last.is_none_or(|at| at.elapsed() >= Duration::from_millis(100));
        if due || bytes_done >= bytes_total {
            last = Some(Instant::now());
            let _ = app.emit(
                "file-progress",
                FileProgress {
                    path: path.to_string(),
                    direction,
                    bytes_done,
                    bytes_total,
                },
            );
        }
    }
}

/// A full path on this computer, as the window typed or picked it.
fn local_path(text: &str, what: &str) -> AppResult<PathBuf> {
    let path = PathBuf::from(text.trim());
    if path.as_os_str().is_empty() {
        return Err(AppError::invalid(format!("choose the {what}")));
    }
    if path.is_relative() {
        return Err(AppError::invalid(format!(
            "give the full path of the {what}, e.g. /home/you/Documents/scan.pdf"
        )));
    }
    Ok(path)
}

fn io_error(what: &str, path: &Path, e: io::Error) -> AppError {
    AppError::new("io", format!("{what} {}: {e}", path.display()))
}

/// Stores the file at `file` as the resource at `path`, streamed (a file
/// over the vault's maximum is refused before anything is written). Runs
/// on a connection of its own, so the window stays usable.
#[tauri::command(async)]
pub fn import_file_from_path(
    app: AppHandle,
    state: tauri::State<'_, AppState>,
    path: String,
    file: String,
    content_type: Option<String>,
    category: Option<Category>,
) -> AppResult<ResourceMeta> {
    let pod_path = parse_path(&path)?;
    let file = local_path(&file, "file to import")?;
    let opened = File::open(&file).map_err(|e| io_error("could not open", &file, e))?;
    let len = opened
        .metadata()
        .map_err(|e| io_error("could not read", &file, e))?
        .len();
    let meta = NewMeta {
        content_type: content_type
            .filter(|t| !t.trim().is_empty())
            .unwrap_or_else(|| OCTET_STREAM.to_string()),
        category,
        mark: Mark::Keep,
    };
    let store = state.open_store()?;
    let shown = pod_path.to_string();
    let written = store.put_stream(
        &pod_path,
        meta,
        &mut BufReader::with_capacity(1 << 20, opened),
        Some(len),
        &Author::Owner,
        &mut reporter(&app, &shown, "import", len),
    )?;
    state.touch();
    Ok(written)
}

/// Writes the resource at `path` (its live version, or `version`) to the
/// file `file`, streamed: into a temporary file beside it, renamed into
/// place when complete, so a failure leaves no half-written file. An
/// existing file is replaced only when `replace` (a save dialog has asked).
#[tauri::command(async)]
pub fn save_resource_to(
    app: AppHandle,
    state: tauri::State<'_, AppState>,
    path: String,
    version: Option<u64>,
    file: String,
    replace: Option<bool>,
) -> AppResult<ResourceMeta> {
    let pod_path = parse_path(&path)?;
    let target = local_path(&file, "file to save to")?;
    if !replace.unwrap_or(false) && target.exists() {
        return Err(AppError::invalid(format!(
            "{} already exists; choose another name",
            target.display()
        )));
    }
    let store = state.open_store()?;
    let mut content = store.open_content(&pod_path, version)?;
    let meta = content.meta().clone();
    let shown = pod_path.to_string();
    let mut progress = reporter(&app, &shown, "save", meta.size);
    fsutil::write_streamed(&target, &mut content, &mut progress).map_err(|e| match e {
        StreamedWrite::Read(e) => AppError::from(custodian_core::Error::from_read(
            e,
            format!("reading {shown}"),
        )),
        StreamedWrite::Write(e) => io_error("could not write", &target, e),
    })?;
    state.touch();
    Ok(meta)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_must_be_full() {
        assert!(local_path(" ", "file").is_err());
        assert!(local_path("scan.pdf", "file").is_err());
        assert_eq!(
            local_path(" /tmp/a b.pdf ", "file").unwrap(),
            PathBuf::from("/tmp/a b.pdf")
        );
    }
}
