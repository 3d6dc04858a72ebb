//! The app's own settings (auto-lock, sharing port): not personal data, so
//! kept beside the vault in `app-settings.json`, not in the database.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{AppError, AppResult};

/// The file, inside the vault directory.
pub const FILE: &str = "app-settings.json";
/// Minutes of inactivity before the vault locks itself, unless changed.
pub const DEFAULT_AUTO_LOCK_MINUTES: u32 = 10;
/// The longest auto-lock delay offered: a day.
pub const MAX_AUTO_LOCK_MINUTES: u32 = 24 * 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// 0 = never lock by itself.
    pub auto_lock_minutes: u32,
    /// The loopback port of the pod API when sharing is on.
    pub sharing_port: u16,
}

impl Settings {
    /// The defaults: 10 minutes, and port 7878 (or `CUSTODIAN_SHARING_PORT`;
    /// 0 there takes any free port, which the window shows once sharing is
    /// on: the end-to-end tests run several apps at once with it).
    pub fn defaults() -> Settings {
        let port = std::env::var("CUSTODIAN_SHARING_PORT")
            .ok()
            .and_then(|p| p.parse().ok())
            .unwrap_or(7878);
        Settings {
            auto_lock_minutes: DEFAULT_AUTO_LOCK_MINUTES,
            sharing_port: port,
        }
    }

    /// Refuses values the app cannot honour, with what to do instead.
    pub fn check(&self) -> AppResult<()> {
        if self.auto_lock_minutes > MAX_AUTO_LOCK_MINUTES {
            return Err(AppError::invalid(format!(
                "auto-lock is at most {MAX_AUTO_LOCK_MINUTES} minutes (a day); 0 turns it off"
            )));
        }
        if self.sharing_port < 1024 {
            return Err(AppError::invalid(
                "the sharing port must be between 1024 and 65535",
            ));
        }
        Ok(())
    }

    /// The saved settings in `dir`, or the defaults when none are saved (or
    /// the file cannot be read: settings are never worth refusing to start).
    pub fn load(dir: &Path) -> Settings {
        std::fs::read(dir.join(FILE))
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Settings>(&bytes).ok())
            .filter(|s| s.check().is_ok())
            .unwrap_or_else(Settings::defaults)
    }

    /// Checks and writes the settings atomically into the vault directory.
    pub fn save(&self, dir: &Path) -> AppResult<()> {
        self.check()?;
        let bytes = serde_json::to_vec_pretty(self)
            .map_err(|e| AppError::new("internal", e.to_string()))?;
        custodian_core::fsutil::write_atomic(dir, FILE, &bytes)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_settings_load_back_and_bad_ones_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            Settings::load(dir.path()).auto_lock_minutes,
            DEFAULT_AUTO_LOCK_MINUTES
        );
        let s = Settings {
            auto_lock_minutes: 3,
            sharing_port: 9000,
        };
        s.save(dir.path()).unwrap();
        assert_eq!(Settings::load(dir.path()), s);
        let bad = Settings {
            auto_lock_minutes: 3,
            sharing_port: 80,
        };
        assert_eq!(bad.save(dir.path()).unwrap_err().kind, "invalid_request");
        assert_eq!(
            Settings::load(dir.path()),
            s,
            "a refused save changes nothing"
        );
        std::fs::write(dir.path().join(FILE), b"{not json").unwrap();
        assert_eq!(
            Settings::load(dir.path()).auto_lock_minutes,
            DEFAULT_AUTO_LOCK_MINUTES
        );
    }
}
