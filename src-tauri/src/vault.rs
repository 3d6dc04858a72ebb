//! Commands about the vault itself.

use serde::Serialize;

use crate::error::AppError;
use crate::AppState;

/// What the window shows about the vault location.
#[derive(Debug, Serialize, PartialEq)]
pub struct VaultStatus {
    pub path: String,
    /// `missing`, `not_a_vault` or `locked`.
    pub state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format_version: Option<u32>,
}

fn status_of(dir: &std::path::Path) -> VaultStatus {
    use custodian_core::vault::{probe, Probe};
    let path = dir.display().to_string();
    match probe(dir) {
        Probe::Missing => VaultStatus {
            path,
            state: "missing",
            id: None,
            format_version: None,
        },
        Probe::NotAVault => VaultStatus {
            path,
            state: "not_a_vault",
            id: None,
            format_version: None,
        },
        Probe::Vault { id, format_version } => VaultStatus {
            path,
            state: "locked",
            id: Some(id),
            format_version: Some(format_version),
        },
    }
}

/// Where the vault is and whether it exists; unlocks nothing.
#[tauri::command]
pub fn vault_status(state: tauri::State<'_, AppState>) -> Result<VaultStatus, AppError> {
    Ok(status_of(&state.vault_dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_missing_and_foreign_locations() {
        let tmp =
            std::env::temp_dir().join(format!("custodian-desktop-test-{}", std::process::id()));
        assert_eq!(status_of(&tmp).state, "missing");
        std::fs::create_dir_all(&tmp).unwrap();
        assert_eq!(status_of(&tmp).state, "not_a_vault");
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}
