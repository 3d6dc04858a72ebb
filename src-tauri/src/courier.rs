//! Delivering while unlocked: a background task sends what the outbox says
//! is due (custodian-link's `deliver_due`), then sleeps until the next
//! delivery is due, at most [`LOOK_EVERY`], or until a command queues
//! something (approve, deny, revoke, Send now, unlock); and takes the
//! companies' feeds (`poll_feeds`) when so woken and every [`FEEDS_EVERY`],
//! after the deliveries due. The vault is reached one short step at a time, never
//! across a network wait; when the vault locks the next step fails and the
//! task waits for the unlock.

use std::time::{Duration, Instant};

use chrono::Utc;
use custodian_link::LinkError;
use tauri::{AppHandle, Emitter, Manager};

use crate::companies::{Door, Unlocked};
use crate::state::AppState;

/// The longest the task sleeps between looks at the outbox (a data write
/// queues `updated` deliveries without waking it).
pub const LOOK_EVERY: Duration = Duration::from_secs(5);

/// How often the feeds of grants that may append are fetched.
pub const FEEDS_EVERY: Duration = Duration::from_secs(60);

/// One step of the task's round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Deliver,
    TakeFeeds,
}

/// What a round does, in order: what is owed to companies goes out before
/// anything is taken in from them (a slow feed never delays a delivery).
fn round(delivery_due: bool, feeds_due: bool) -> Vec<Step> {
    let mut steps = Vec::new();
    if delivery_due {
        steps.push(Step::Deliver);
    }
    if feeds_due {
        steps.push(Step::TakeFeeds);
    }
    steps
}

/// Starts the delivery task. It ends with the process.
pub fn start(app: AppHandle) {
    tauri::async_runtime::spawn(async move {
        let mut feeds_taken: Option<Instant> = None;
        loop {
            let state = app.state::<AppState>();
            let door = app.state::<Door>();
            if !state.is_unlocked() {
                // Taken again right after the next unlock.
                feeds_taken = None;
            }
            let delivery_due = next_wait(&state).is_some_and(|wait| wait.is_zero());
            let feeds_due =
                state.is_unlocked() && feeds_taken.is_none_or(|at| at.elapsed() >= FEEDS_EVERY);
            for step in round(delivery_due, feeds_due) {
                match step {
                    Step::Deliver => deliver(&app, &state, &door).await,
                    Step::TakeFeeds => {
                        feeds_taken = Some(Instant::now());
                        take_feeds(&state, &door).await;
                    }
                }
            }
            let wait = match next_wait(&state) {
                // Due again (a feed item queued an update, say): go round.
                Some(wait) if wait.is_zero() => continue,
                Some(wait) => wait,
                None => LOOK_EVERY,
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                // Approve, Send now, unlock…: the feeds are taken too.
                _ = state.outbox_woken() => feeds_taken = None,
            }
        }
    });
}

/// How long until the next delivery is due (zero: now), capped at
/// [`LOOK_EVERY`]; `None` while locked or when nothing is queued.
fn next_wait(state: &AppState) -> Option<Duration> {
    let next = state
        .with_store_quietly(|store| store.next_delivery_at())?
        .ok()??;
    Some(custodian_link::wait_until(
        Some(next),
        Utc::now(),
        LOOK_EVERY,
    ))
}

async fn deliver(app: &AppHandle, state: &AppState, door: &Door) {
    let Ok(net) = door.net() else {
        // Reported at start; look again later rather than spin.
        tokio::time::sleep(LOOK_EVERY).await;
        return;
    };
    match custodian_link::deliver_due(net, &Unlocked(state)).await {
        Ok(summary) => {
            if summary.attempted() > 0 {
                let _ = app.emit("deliveries-changed", ());
            }
            if summary.attempted() == 0 {
                // Due, yet nothing was handed out: do not spin on it.
                tokio::time::sleep(LOOK_EVERY).await;
            }
        }
        Err(LinkError::Locked) => {}
        Err(e) => {
            tracing::warn!(error = %e, "deliveries stopped for now");
            tokio::time::sleep(LOOK_EVERY).await;
        }
    }
}

/// Fetches every due feed once; the core checks, stores and logs each item.
async fn take_feeds(state: &AppState, door: &Door) {
    let Ok(net) = door.net() else {
        return;
    };
    match custodian_link::poll_feeds(net, &Unlocked(state)).await {
        Ok(summary) => {
            for failure in &summary.failed {
                tracing::warn!(%failure, "a company's feed could not be taken");
            }
        }
        Err(LinkError::Locked) => {}
        Err(e) => tracing::warn!(error = %e, "feeds not taken for now"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deliveries_go_out_before_feeds_are_taken() {
        assert_eq!(round(true, true), [Step::Deliver, Step::TakeFeeds]);
        assert_eq!(round(false, true), [Step::TakeFeeds]);
        assert_eq!(round(true, false), [Step::Deliver]);
        assert!(round(false, false).is_empty());
    }
}
