//! My data: browsing, reading, editing and history (files in and out by
//! path are `files`).

use custodian_core::data::resource::{JSON, LIST_DEFAULT};
use custodian_core::data::search::SearchResults;
use custodian_core::{
    parse_path, Category, ListPage, Mark, NewResource, ResourceMeta, VersionInfo,
};
use serde::Serialize;

use crate::error::AppResult;
use crate::state::AppState;

/// A resource as the window shows it.
#[derive(Debug, Serialize)]
pub struct ResourceView {
    pub meta: ResourceMeta,
    /// The content when it is UTF-8 text; `None` for binary content and
    /// for content too large to show.
    pub text: Option<String>,
    /// The content is larger than the window shows (over `INLINE_MAX`): it
    /// was not read; the window offers "Save a copy…" instead.
    pub too_large_to_show: bool,
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
        let content = store.open_content(&path, version)?;
        if content.is_blob() {
            // Large content is not loaded to be shown: metadata only.
            return Ok(ResourceView {
                meta: content.meta().clone(),
                text: None,
                too_large_to_show: true,
            });
        }
        let meta = content.meta().clone();
        let bytes = content.into_bytes()?;
        Ok(ResourceView {
            text: String::from_utf8(bytes).ok(),
            meta,
            too_large_to_show: false,
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
