//! Activity: the access log, the vault's integrity check, and the per-company report.

use chrono::Utc;
use custodian_core::audit::report::AccessReport;
use custodian_core::audit::{AuditEntry, LogFilter, Outcome};
use custodian_core::vault::VaultCheck;
use serde::Deserialize;

use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Most log entries sent to the window at once.
pub const MAX_LOG_ENTRIES: u64 = 2000;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogQuery {
    #[serde(default)]
    pub client_id: Option<String>,
    /// Only entries from the last this many seconds.
    #[serde(default)]
    pub since_secs: Option<i64>,
    #[serde(default)]
    pub outcome: Option<Outcome>,
    #[serde(default)]
    pub limit: Option<u64>,
}

fn since(secs: Option<i64>) -> AppResult<Option<chrono::DateTime<Utc>>> {
    match secs {
        None => Ok(None),
        Some(s) if s <= 0 => Err(AppError::invalid("a time window must be positive")),
        Some(s) => custodian_core::clock::seconds_before(Utc::now(), s)
            .map(Some)
            .ok_or_else(|| {
                AppError::invalid("that time window reaches back further than any date")
            }),
    }
}

/// The log, newest first.
#[tauri::command]
pub fn access_log(
    state: tauri::State<'_, AppState>,
    query: LogQuery,
) -> AppResult<Vec<AuditEntry>> {
    let filter = LogFilter {
        client_id: query.client_id.filter(|c| !c.is_empty()),
        since: since(query.since_secs)?,
        outcome: query.outcome,
        limit: Some(query.limit.unwrap_or(MAX_LOG_ENTRIES).min(MAX_LOG_ENTRIES)),
    };
    state.with_store(|store| {
        let mut entries = store.audit_log(&filter)?;
        entries.reverse();
        Ok(entries)
    })
}

#[tauri::command]
pub fn access_report(
    state: tauri::State<'_, AppState>,
    since_secs: Option<i64>,
) -> AppResult<AccessReport> {
    let since = since(since_secs)?;
    state.with_store(|store| Ok(store.access_report(since)?))
}

/// Every page of the database, the log's chain and the kept counts (which
/// it rebuilds when they differ from a fresh count). Off the main thread,
/// on a connection of its own: a large vault's check takes seconds, and the
/// window and the delivery task go on meanwhile.
#[tauri::command(async)]
pub fn check_vault(state: tauri::State<'_, AppState>) -> AppResult<VaultCheck> {
    let store = state.open_store()?;
    Ok(store.check_vault()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_window_must_be_positive() {
        assert!(since(None).unwrap().is_none());
        assert!(since(Some(3600)).unwrap().unwrap() < Utc::now());
        assert_eq!(since(Some(0)).unwrap_err().kind, "invalid_request");
        assert_eq!(since(Some(i64::MAX)).unwrap_err().kind, "invalid_request");
        let q: LogQuery = serde_json::from_str(r#"{"outcome": "denied"}"#).unwrap();
        assert_eq!(q.outcome, Some(Outcome::Denied));
    }
}
