//! My data: browsing, reading, editing, history, and files as resources.

use base64::Engine;
use custodian_core::data::resource::{JSON, LIST_DEFAULT, OCTET_STREAM};
use custodian_core::data::search::SearchResults;
use custodian_core::{
    parse_path, Category, ListPage, Mark, NewResource, ResourceMeta, VersionInfo,
};
use serde::Serialize;

use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// The largest file the window may hand over in one command.
pub const MAX_IMPORT_BYTES: usize = 64 << 20;

/// A resource as the window shows it.
#[derive(Debug, Serialize)]
pub struct ResourceView {
    pub meta: ResourceMeta,
    /// The content when it is UTF-8 text; `None` for binary content.
    pub text: Option<String>,
}

/// One page of a container's members: at most `limit` (the core's
/// default when not given, clamped to its maximum) after `after`, the
/// `next` of the page before.
#[tauri::command]
pub fn list_container(
    state: tauri::State<'_, AppState>,
    path: String,
    after: Option<String>,
    limit: Option<usize>,
) -> AppResult<ListPage> {
    let path = parse_path(&path)?;
    let limit = limit.unwrap_or(LIST_DEFAULT);
    state.with_store(|store| Ok(store.list_page(&path, after.as_deref(), limit)?))
}

/// Live resources whose path contains `query`, at most `limit`, and
/// whether more match.
#[tauri::command]
pub fn search_resources(
    state: tauri::State<'_, AppState>,
    query: String,
    limit: Option<usize>,
) -> AppResult<SearchResults> {
    state.with_store(|store| Ok(store.search_resources(&query, limit.unwrap_or(200))?))
}

#[tauri::command]
pub fn get_resource(
    state: tauri::State<'_, AppState>,
    path: String,
    version: Option<u64>,
) -> AppResult<ResourceView> {
    let path = parse_path(&path)?;
    state.with_store(|store| {
        let resource = store.get(&path, version)?;
        Ok(ResourceView {
            text: String::from_utf8(resource.content).ok(),
            meta: resource.meta,
        })
    })
}

/// Writes text content as a new version; the core checks JSON (and
/// preferences against their schema).
#[tauri::command]
pub fn put_resource(
    state: tauri::State<'_, AppState>,
    path: String,
    content: String,
    content_type: Option<String>,
    category: Option<Category>,
) -> AppResult<ResourceMeta> {
    let path = parse_path(&path)?;
    let content_type = content_type.unwrap_or_else(|| JSON.to_string());
    let new = NewResource {
        content: content.into_bytes(),
        content_type,
        category,
        mark: Mark::Keep,
    };
    state.with_store(|store| Ok(store.put(&path, new)?))
}

/// Stores a file's bytes (sent as base64) as a resource.
#[tauri::command]
pub fn import_file(
    state: tauri::State<'_, AppState>,
    path: String,
    base64: String,
    content_type: Option<String>,
    category: Option<Category>,
) -> AppResult<ResourceMeta> {
    let path = parse_path(&path)?;
    if base64.len() / 4 * 3 > MAX_IMPORT_BYTES {
        return Err(AppError::invalid(format!(
            "files over {} MiB are imported with the command line: custodian put {path} --file FILE",
            MAX_IMPORT_BYTES >> 20
        )));
    }
    let content = base64::engine::general_purpose::STANDARD
        .decode(base64.as_bytes())
        .map_err(|e| AppError::invalid(format!("the file did not arrive intact: {e}")))?;
    let content_type = content_type
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| OCTET_STREAM.to_string());
    let new = NewResource {
        content,
        content_type,
        category,
        mark: Mark::Keep,
    };
    state.with_store(|store| Ok(store.put(&path, new)?))
}

/// Marks a resource sensitive, or lowers its mark (logged), keeping its content.
#[tauri::command]
pub fn set_sensitive(
    state: tauri::State<'_, AppState>,
    path: String,
    sensitive: bool,
) -> AppResult<ResourceMeta> {
    let path = parse_path(&path)?;
    state.with_store(|store| Ok(store.set_sensitive(&path, sensitive)?))
}

#[tauri::command]
pub fn delete_resource(state: tauri::State<'_, AppState>, path: String) -> AppResult<()> {
    let path = parse_path(&path)?;
    state.with_store(|store| {
        store.delete(&path)?;
        Ok(())
    })
}

#[tauri::command]
pub fn resource_history(
    state: tauri::State<'_, AppState>,
    path: String,
) -> AppResult<Vec<VersionInfo>> {
    let path = parse_path(&path)?;
    state.with_store(|store| Ok(store.history(&path)?))
}

/// Makes an old version live again, as a new version (history is kept).
#[tauri::command]
pub fn restore_version(
    state: tauri::State<'_, AppState>,
    path: String,
    version: u64,
) -> AppResult<ResourceMeta> {
    let path = parse_path(&path)?;
    state.with_store(|store| Ok(store.restore_version(&path, version)?))
}
