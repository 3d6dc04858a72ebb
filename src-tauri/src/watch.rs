//! The app's background watch, once a second: auto-lock after the idle
//! time, and news of access requests (an event for the window, the count in
//! the title and badge, and a native notification for new ones, naming a
//! linked company's verified domain, one for a whole burst: a flood of
//! requests is never a flood of notifications);
//! every [`EXPIRY_EVERY`] ticks, the `expired` receipts of grants that
//! reached their end (expiry happens with no event of its own).

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tauri::{AppHandle, Emitter, Manager};
use tauri_plugin_notification::NotificationExt;

use crate::session;
use crate::state::{lock, AppState};

/// After a notification, new requests wait this long to be announced, all
/// in one notification.
const QUIET: Duration = Duration::from_secs(30);

/// How many one-second ticks between looks for grants that ran out.
const EXPIRY_EVERY: u64 = 15;

/// What the watch has seen and announced.
#[derive(Default)]
pub struct Seen(Mutex<Announcer>);

/// One pending request, as the watch needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Waiting {
    id: String,
    company: String,
    user_code: String,
    /// The verified domain of a company that connected by its link.
    domain: Option<String>,
}

/// What to show the person.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Notice {
    One {
        company: String,
        user_code: String,
        domain: Option<String>,
    },
    Several(usize),
}

/// Decides, look after look, when the pending requests changed and what to
/// announce: new requests are announced once, together, and at most once
/// per [`QUIET`] period.
#[derive(Default)]
struct Announcer {
    /// The pending requests at the last look (`None` before the first).
    seen: Option<HashSet<String>>,
    /// New requests not announced yet (still pending).
    unannounced: Vec<Waiting>,
    last_notice: Option<Instant>,
}

impl Announcer {
    /// Takes a look at `pending`; returns whether they changed, and what to
    /// announce now, if anything.
    fn look(&mut self, pending: &[Waiting], now: Instant) -> (bool, Option<Notice>) {
        let ids: HashSet<String> = pending.iter().map(|w| w.id.clone()).collect();
        let changed = self.seen.as_ref() != Some(&ids);
        // The first look after start only counts (the badge shows them).
        if let Some(seen) = &self.seen {
            self.unannounced
                .extend(pending.iter().filter(|w| !seen.contains(&w.id)).cloned());
        }
        self.unannounced.retain(|w| ids.contains(&w.id));
        self.seen = Some(ids);
        let quiet = self
            .last_notice
            .is_some_and(|at| now.saturating_duration_since(at) < QUIET);
        if self.unannounced.is_empty() || quiet {
            return (changed, None);
        }
        self.last_notice = Some(now);
        let notice = match self.unannounced.len() {
            1 => {
                let w = self.unannounced.remove(0);
                Notice::One {
                    company: w.company,
                    user_code: w.user_code,
                    domain: w.domain,
                }
            }
            n => {
                self.unannounced.clear();
                Notice::Several(n)
            }
        };
        (changed, Some(notice))
    }
}

/// Starts the watch thread. It ends with the process.
pub fn start(app: AppHandle) {
    let spawned = std::thread::Builder::new()
        .name("custodian-watch".into())
        .spawn(move || {
            for tick in 1u64.. {
                std::thread::sleep(Duration::from_secs(1));
                let state = app.state::<AppState>();
                auto_lock(&app, &state);
                requests_changed(&app, &state);
                if tick % EXPIRY_EVERY == 0 {
                    record_expirations(&state);
                }
            }
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

/// Signs the `expired` receipt of each grant past its end that has none
/// (the core takes no write lock when there is nothing to do).
fn record_expirations(state: &AppState) {
    if let Some(Err(e)) = state.peek_store(|store| store.record_expirations()) {
        tracing::warn!(error = %e, "could not record the grants that expired");
    }
}

/// Looks at the pending requests (the database picks them); tells the
/// window when they changed and notifies the person of new ones.
pub fn requests_changed(app: &AppHandle, state: &AppState) {
    let pending = state.peek_store(|store| store.access_requests(false));
    let Some(Ok(pending)) = pending else {
        return;
    };
    let waiting: Vec<Waiting> = pending
        .into_iter()
        .map(|r| Waiting {
            id: r.id,
            company: r.client_name,
            user_code: r.user_code,
            domain: r.company.map(|c| c.domain),
        })
        .collect();
    let seen = app.state::<Seen>();
    let (changed, notice) = lock(&seen.0).look(&waiting, Instant::now());
    if let Some(notice) = notice {
        notify(app, &notice);
    }
    if !changed {
        return;
    }
    let count = waiting.len();
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

/// The notification's text: a device-flow company is named as unverified
/// with the code to compare; a linked one with its verified domain.
fn notice_body(notice: &Notice) -> String {
    match notice {
        Notice::One {
            company,
            user_code,
            domain: None,
        } => format!(
            "{company} (unverified) is asking for access. Code {user_code}. Open Custodian to answer."
        ),
        Notice::One {
            company,
            domain: Some(domain),
            ..
        } => format!(
            "{company} (verified: {domain}) is asking for access. Open Custodian to answer."
        ),
        Notice::Several(n) => {
            format!("{n} new requests from companies. Open Custodian to answer.")
        }
    }
}

fn notify(app: &AppHandle, notice: &Notice) {
    let body = notice_body(notice);
    let shown = app
        .notification()
        .builder()
        .title("A company asks for your data")
        .body(body)
        .show();
    if let Err(e) = shown {
        tracing::debug!(error = %e, "no notification shown");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn waiting(n: usize) -> Vec<Waiting> {
        (0..n)
            .map(|i| Waiting {
                id: format!("req_{i}"),
                company: format!("Company {i}"),
                user_code: format!("CODE-{i:04}"),
                domain: None,
            })
            .collect()
    }

    /// A burst of requests is one notification, and new ones during the
    /// quiet period wait for it to end, together (why: docs/BENCHMARKS.md).
    #[test]
    fn a_burst_of_requests_is_one_notification() {
        let mut a = Announcer::default();
        let start = Instant::now();
        let at = |secs: u64| start + Duration::from_secs(secs);
        assert_eq!(
            a.look(&waiting(2), at(0)),
            (true, None),
            "the first look counts"
        );
        assert_eq!(a.look(&waiting(2), at(1)), (false, None));
        let (changed, notice) = a.look(&waiting(3), at(2));
        assert!(changed);
        assert_eq!(
            notice,
            Some(Notice::One {
                company: "Company 2".into(),
                user_code: "CODE-0002".into(),
                domain: None,
            })
        );
        let mut notices = 0;
        for n in 4..2_000 {
            let secs = 3 + (n as u64) / 100;
            notices += usize::from(a.look(&waiting(n), at(secs)).1.is_some());
        }
        assert!(notices <= 1, "{notices} notifications during one flood");
        let (_, notice) = a.look(&waiting(2_000), at(200));
        assert!(
            matches!(notice, None | Some(Notice::Several(_))),
            "{notice:?}"
        );
    }

    #[test]
    fn requests_answered_before_their_turn_are_not_announced() {
        let mut a = Announcer::default();
        let start = Instant::now();
        a.look(&[], start);
        assert_eq!(a.look(&waiting(3), start).1, Some(Notice::Several(3)));
        // Two more arrive during the quiet period, and are answered.
        let more = waiting(5);
        assert_eq!(a.look(&more, start + Duration::from_secs(1)).1, None);
        assert_eq!(a.look(&more[..3], start + QUIET).1, None);
    }

    #[test]
    fn a_linked_company_is_announced_with_its_verified_domain() {
        let one = |domain: Option<&str>| Notice::One {
            company: "Shop".into(),
            user_code: "ABCD-EFGH".into(),
            domain: domain.map(str::to_string),
        };
        let device = notice_body(&one(None));
        assert!(device.contains("(unverified)") && device.contains("ABCD-EFGH"));
        let linked = notice_body(&one(Some("shop.test")));
        assert!(linked.contains("(verified: shop.test)"), "{linked}");
        assert!(
            !linked.contains("ABCD-EFGH"),
            "no code to compare: {linked}"
        );
    }

    #[test]
    fn locks_at_the_idle_time_and_never_when_off() {
        assert!(!idle_too_long(10, 599));
        assert!(idle_too_long(10, 600));
        assert!(idle_too_long(1, 3600));
        assert!(!idle_too_long(0, u64::MAX));
    }
}
