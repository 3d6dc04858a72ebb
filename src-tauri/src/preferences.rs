//! Communication preferences: the typed `/preferences/communication`.

use custodian_core::CommunicationPreferences;
use serde::Serialize;

use crate::error::AppResult;
use crate::state::AppState;

#[derive(Debug, Serialize)]
pub struct PreferencesView {
    pub preferences: CommunicationPreferences,
    /// False while only the defaults exist (nothing saved yet).
    pub saved: bool,
}

#[tauri::command]
pub fn get_preferences(state: tauri::State<'_, AppState>) -> AppResult<PreferencesView> {
    state.with_store(|store| {
        let (preferences, saved) = store.communication_preferences()?;
        Ok(PreferencesView { preferences, saved })
    })
}

/// Saves the whole document as a new version; the core's schema checks it
/// (the window's own checks only make messages friendlier).
#[tauri::command]
pub fn save_preferences(
    state: tauri::State<'_, AppState>,
    preferences: CommunicationPreferences,
) -> AppResult<()> {
    state.with_store(|store| Ok(store.save_communication_preferences(&preferences)?))
}

#[tauri::command]
pub fn time_zones() -> AppResult<Vec<&'static str>> {
    Ok(custodian_core::data::preferences::time_zone_names())
}
