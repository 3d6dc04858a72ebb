//! The app's background watch, once a second: auto-lock after the idle
//! time, and news of access requests (an event for the window, a native
//! notification for each new one, the count in the title and badge).

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use tauri::{AppHandle, Emitter, Manager};
use tauri_plugin_notification::NotificationExt;

use crate::session;
use crate::state::{lock, AppState};

/// Requests already announced, so each is notified once.
#[derive(Default)]
pub struct Seen(Mutex<Option<HashSet<String>>>);

/// Starts the watch thread. It ends with the process.
pub fn start(app: AppHandle) {
    let spawned = std::thread::Builder::new()
        .name("custodian-watch".into())
        .spawn(move || loop {
            std::thread::sleep(Duration::from_secs(1));
            let state = app.state::<AppState>();
            auto_lock(&app, &state);
            requests_changed(&app, &state);
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "no background watch: auto-lock and request news are off");
    }
}

/// Whether an unlocked vault idle for `idle_secs` must lock (0 minutes = never).
fn idle_too_long(minutes: u32, idle_secs: u64) -> bool {
    minutes > 0 && idle_secs >= u64::from(minutes) * 60
}

fn auto_lock(app: &AppHandle, state: &AppState) {
    let minutes = lock(&state.settings).auto_lock_minutes;
    if !state.is_unlocked() {
        return;
    }
    if idle_too_long(minutes, state.idle_secs()) {
        session::locked(
            app,
            state,
            &format!(
                "after {minutes} minute{} idle",
                if minutes == 1 { "" } else { "s" }
            ),
        );
    }
}

/// Looks at the pending requests; tells the window when they changed and
/// notifies the person of each new one.
pub fn requests_changed(app: &AppHandle, state: &AppState) {
    let pending = state.peek_store(|store| store.access_requests(false));
    let Some(Ok(pending)) = pending else {
        return;
    };
    let seen = app.state::<Seen>();
    let mut seen = lock(&seen.0);
    let ids: HashSet<String> = pending.iter().map(|r| r.id.clone()).collect();
    if seen.as_ref() == Some(&ids) {
        return;
    }
    // The first look after start only counts (the badge shows them); each
    // request that arrives afterwards is announced once.
    for request in &pending {
        if seen.as_ref().is_some_and(|s| !s.contains(&request.id)) {
            notify(app, &request.client_name, &request.user_code);
        }
    }
    *seen = Some(ids);
    drop(seen);
    let count = pending.len();
    let _ = app.emit("requests-changed", count);
    if let Some(window) = app.get_webview_window("main") {
        let title = match count {
            0 => "Custodian".to_string(),
            n => format!("Custodian ({n} waiting)"),
        };
        let _ = window.set_title(&title);
        let _ = window.set_badge_count((count > 0).then_some(count as i64));
    }
}

fn notify(app: &AppHandle, company: &str, user_code: &str) {
    let shown = app
        .notification()
        .builder()
        .title("A company asks for your data")
        .body(format!(
            "{company} (unverified) is asking for access. Code {user_code}. Open Custodian to answer."
        ))
        .show();
    if let Err(e) = shown {
        tracing::debug!(error = %e, "no notification shown");
    }
}

#[cfg(test)]
mod tests {
    use super::idle_too_long;

    #[test]
    fn locks_at_the_idle_time_and_never_when_off() {
        assert!(!idle_too_long(10, 599));
        assert!(idle_too_long(10, 600));
        assert!(idle_too_long(1, 3600));
        assert!(!idle_too_long(0, u64::MAX));
    }
}
