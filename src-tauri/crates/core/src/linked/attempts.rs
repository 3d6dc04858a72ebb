//! The sending side of the outbox: which deliveries are due (each
//! request's queued run once its head's time has come) and whether one is
//! still to be sent just before it is posted (nothing of its request open
//! before it, so a company sees its events in order), what an attempt did (delivered, retry later with a backoff,
//! or failed for good until the person says "Send now"), what is moot, and
//! the listing the CLI and the app show. Every attempt is logged `deliver`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::outbox::stored_time;
use super::records::OutboxRecord;
use crate::audit::{self, Action, NewEntry, Outcome};
use crate::clock::format_time;
use crate::vault::record::{self, TableRecord};
use crate::vault::store::Store;
use crate::{Error, Result};

/// The first retry's delay.
pub const FIRST_RETRY_SECS: u64 = 10;
/// The longest delay between retries.
pub const MAX_RETRY_SECS: u64 = 3600;
/// The longest `Retry-After` honoured.
pub const MAX_RETRY_AFTER_SECS: u64 = 24 * 3600;
/// An end event or denial not delivered after this long is given up (moot).
pub const GIVE_UP_SECS: i64 = 30 * 24 * 3600;

/// A delivery to send now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutgoingDelivery {
    /// Its `jti` (`dlv_…`).
    pub id: String,
    /// The company's delivery URI.
    pub target: String,
    /// The signed delivery, sent as it is (`application/jwt`).
    pub body: String,
    pub event: String,
    /// Attempts made before this one.
    pub attempts: u32,
    pub grant_id: Option<String>,
    pub request_id: String,
    pub client_id: String,
}

/// What one attempt came to (the link door's reading of the answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// A 2xx answer.
    Delivered { status: u16 },
    /// 5xx, 408, 429, a time-out, a connection error: try again later
    /// (not sooner than `retry_after` when the company said so).
    Retry {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// Any other answer: stop until the person sends it again.
    Failed { reason: String },
}

/// Which deliveries to list (all when empty).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryFilter {
    pub grant_id: Option<String>,
    pub request_id: Option<String>,
    pub client_id: Option<String>,
}

/// A delivery as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeliveryStatus {
    pub id: String,
    pub client_id: String,
    pub request_id: String,
    pub grant_id: Option<String>,
    /// The delivery's `seq` claim.
    pub seq: i64,
    pub event: String,
    /// queued, delivered, failed or moot.
    pub status: String,
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
    /// When it is next tried (queued ones).
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_status: Option<u16>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// The wait before the next attempt, after `attempts` attempts (1 or
/// more): 10 s doubled each time, at most an hour, times a jitter factor
/// between ½ and 1 (`jitter` is a sample in [0, 1]); longer when the
/// company asked so in `Retry-After`, up to a day. A `Retry-After` of 0 or
/// a date past never makes it shorter, so a company cannot have the pod
/// resend in a tight loop.
pub fn backoff(attempts: u32, jitter: f64, retry_after: Option<Duration>) -> Duration {
    let doublings = attempts.saturating_sub(1).min(20);
    let delay = (FIRST_RETRY_SECS << doublings).min(MAX_RETRY_SECS) as f64;
    let normal = Duration::from_secs_f64(delay * (0.5 + 0.5 * jitter.clamp(0.0, 1.0)));
    match retry_after {
        Some(asked) => asked
            .min(Duration::from_secs(MAX_RETRY_AFTER_SECS))
            .max(normal),
        None => normal,
    }
}

/// A uniform sample in [0, 1] for the jitter.
fn jitter_sample() -> f64 {
    let mut b = [0u8; 4];
    match getrandom::fill(&mut b) {
        Ok(()) => f64::from(u32::from_le_bytes(b)) / f64::from(u32::MAX),
        Err(_) => 1.0,
    }
}

/// Each request's head, `h.head`: its lowest `seq` not yet delivered or
/// moot. One pass over the open rows (the partial index `outbox_open`),
/// grouped. Every query joins the outbox to it by `seq` alone, the heads
/// driving (`CROSS JOIN` keeps SQLite from starting at the outbox): a plan
/// that matched rows by `request_id` first walked a request's whole queue
/// once per queued row, and a backlog of 10,000 in one request took
/// minutes per round (`handing_out_a_backlog_costs_in_proportion_to_it`).
const HEADS: &str = "(SELECT request_id, min(seq) AS head FROM outbox
                       WHERE status IN ('queued', 'failed') GROUP BY request_id) h";

/// The deliveries to hand out: every queued delivery of each request whose
/// head is queued and due (`?1` now), a request's whole queued run in
/// order, at most `?2`. The page of `seq`s is chosen
/// first; only its rows' bodies are read.
pub(super) fn due_sql() -> String {
    format!(
        "SELECT {} FROM outbox o WHERE o.seq IN (
           SELECT q.seq FROM {HEADS}
             CROSS JOIN outbox hd ON hd.seq = h.head
             CROSS JOIN outbox q ON q.request_id = h.request_id AND q.seq >= h.head
           WHERE hd.status = 'queued' AND hd.next_attempt_at <= ?1 AND q.status = 'queued'
           ORDER BY q.seq LIMIT ?2)
         ORDER BY o.seq",
        record::select_list::<OutboxRecord>(Some("o"))
    )
}

/// Still to be sent: queued, due, and (for a grant's data) its grant still
/// active. `?1` is the delivery's id, `?2` now.
const STILL_DUE_SQL: &str = "SELECT EXISTS (SELECT 1 FROM outbox o WHERE o.id = ?1
      AND o.status = 'queued' AND o.next_attempt_at <= ?2
      AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.request_id = o.request_id
                      AND e.seq < o.seq AND e.status IN ('queued', 'failed'))
      AND (o.event NOT IN ('granted', 'updated') OR o.grant_id IN
         (SELECT id FROM grants WHERE revoked_at IS NULL AND expires_at > ?2)))";

const MOOT_WHERE: &str = "status IN ('queued', 'failed') AND (
      (event IN ('granted', 'updated') AND grant_id IN
         (SELECT id FROM grants WHERE revoked_at IS NOT NULL OR expires_at <= ?1))
   OR (event IN ('denied', 'revoked', 'expired') AND created_at <= ?2))";

impl Store {
    /// Marks moot what will never be sent: data of a grant that has ended,
    /// and ends or denials undelivered for [`GIVE_UP_SECS`].
    fn mark_moot(&self) -> Result<()> {
        let now = self.clock.now();
        let args = params![
            format_time(now),
            format_time(now - chrono::Duration::seconds(GIVE_UP_SECS))
        ];
        let any: bool = self
            .conn
            .prepare_cached(&format!(
                "SELECT EXISTS (SELECT 1 FROM outbox WHERE {MOOT_WHERE})"
            ))?
            .query_row(args, |r| r.get(0))?;
        if any {
            let tx = self.write_tx()?;
            tx.execute(
                &format!("UPDATE outbox SET status = 'moot', body = '' WHERE {MOOT_WHERE}"),
                args,
            )?;
            tx.commit()?;
        }
        Ok(())
    }

    /// The deliveries to send now, at most `limit`, oldest first: every
    /// queued delivery of each request whose head (its first open delivery)
    /// is queued and due. A failed head holds its request's queue until it
    /// is sent again; the sender stops a request at its first delivery that
    /// does not go through, so each request's arrive in order.
    pub fn due_deliveries(&self, limit: usize) -> Result<Vec<OutgoingDelivery>> {
        // A grant that ran out since the pod last looked gets its receipt
        // and its `expired` delivery now (no write when none did).
        self.record_expirations()?;
        self.mark_moot()?;
        let rows: Vec<OutboxRecord> = self
            .conn
            .prepare_cached(&due_sql())?
            .query_map(
                params![format_time(self.clock.now()), limit as i64],
                OutboxRecord::from_row,
            )?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows
            .into_iter()
            .map(|r| OutgoingDelivery {
                id: r.id,
                target: r.target,
                body: r.body,
                event: r.event,
                attempts: r.attempts.max(0) as u32,
                grant_id: r.grant_id,
                request_id: r.request_id,
                client_id: r.client_id,
            })
            .collect())
    }

    /// Whether delivery `id` (handed out by [`Store::due_deliveries`]) is
    /// still to be sent: the door asks just before posting it, so data of
    /// a grant revoked or ended while a round was under way is not sent,
    /// and nothing is sent while an earlier delivery of its request is
    /// still open (one that failed or waits to be tried again this round):
    /// each request's deliveries arrive in order.
    pub fn delivery_still_due(&self, id: &str) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached(STILL_DUE_SQL)?
            .query_row(params![id, format_time(self.clock.now())], |r| r.get(0))?)
    }

    /// Records what an attempt at delivery `id` did, and logs it
    /// (`deliver`: allowed when delivered, denied with the reason).
    pub fn delivery_attempted(&self, id: &str, attempt: Attempt) -> Result<()> {
        self.delivery_attempted_with(id, attempt, jitter_sample())
    }

    /// [`Store::delivery_attempted`] with the jitter sample given (a
    /// sample in [0, 1], see [`backoff`]).
    pub fn delivery_attempted_with(&self, id: &str, attempt: Attempt, jitter: f64) -> Result<()> {
        let tx = self.write_tx()?;
        let row: (String, i64, Option<String>, String, String) = tx
            .prepare_cached(
                "SELECT client_id, attempts, grant_id, event, status FROM outbox WHERE id = ?1",
            )?
            .query_row([id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .optional()?
            .ok_or_else(|| Error::InvalidRequest(format!("no delivery {id} in the outbox")))?;
        let (client_id, attempts, grant_id, event, current) = row;
        let attempts = attempts.max(0) as u32 + 1;
        let at = self.clock.now();
        let now = format_time(at);
        let (status, next, error, http, outcome, reason) = match &attempt {
            Attempt::Delivered { status } => (
                "delivered",
                now.clone(),
                None,
                Some(i64::from(*status)),
                Outcome::Allowed,
                format!("{event} delivered (HTTP {status})"),
            ),
            Attempt::Retry {
                reason,
                retry_after,
            } => {
                let wait = backoff(attempts, jitter, *retry_after);
                let next =
                    at + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::hours(1));
                (
                    "queued",
                    format_time(next),
                    Some(reason.clone()),
                    http_status(reason),
                    Outcome::Denied,
                    format!(
                        "{event} not delivered ({reason}); trying again at {}",
                        format_time(next)
                    ),
                )
            }
            Attempt::Failed { reason } => (
                "failed",
                now.clone(),
                Some(reason.clone()),
                http_status(reason),
                Outcome::Denied,
                format!("{event} not delivered ({reason}); stopped until sent again"),
            ),
        };
        // A delivery that went moot (or was delivered) while it was being
        // sent stays so, whatever this attempt came to short of delivery.
        let status = if matches!(current.as_str(), "moot" | "delivered") && status != "delivered" {
            current.as_str()
        } else {
            status
        };
        // A delivered or moot delivery is never sent again: its body goes,
        // its metadata stays for the listing.
        tx.execute(
            "UPDATE outbox SET status = ?2, attempts = ?3, next_attempt_at = ?4,
               last_attempt_at = ?5, last_error = ?6, last_status = ?7,
               body = CASE WHEN ?2 IN ('delivered', 'moot') THEN '' ELSE body END,
               delivered_at = CASE WHEN ?2 = 'delivered' THEN ?5 ELSE delivered_at END
             WHERE id = ?1",
            params![id, status, attempts, next, now, error, http],
        )?;
        let mut entry = NewEntry::owner(Action::Deliver);
        entry.client_id = Some(client_id);
        entry.grant_id = grant_id;
        entry.outcome = outcome;
        entry.reason = Some(reason);
        audit::append_in(&tx, &now, &[entry])?;
        tx.commit()?;
        Ok(())
    }

    /// The deliveries `filter` picks, in queue order.
    pub fn deliveries(&self, filter: DeliveryFilter) -> Result<Vec<DeliveryStatus>> {
        let sql = format!(
            "SELECT {}, o.seq AS seq FROM outbox o
             WHERE (?1 IS NULL OR o.grant_id = ?1) AND (?2 IS NULL OR o.request_id = ?2)
               AND (?3 IS NULL OR o.client_id = ?3)
             ORDER BY o.seq",
            record::select_list::<OutboxRecord>(Some("o"))
        );
        let rows: Vec<OutboxRecord> = self
            .conn
            .prepare_cached(&sql)?
            .query_map(
                params![filter.grant_id, filter.request_id, filter.client_id],
                OutboxRecord::from_row,
            )?
            .collect::<rusqlite::Result<_>>()?;
        let time = |t: &Option<String>| t.as_deref().map(stored_time);
        Ok(rows
            .into_iter()
            .map(|r| DeliveryStatus {
                next_attempt_at: (r.status == "queued").then(|| stored_time(&r.next_attempt_at)),
                last_attempt_at: time(&r.last_attempt_at),
                delivered_at: time(&r.delivered_at),
                created_at: stored_time(&r.created_at),
                last_status: r.last_status.and_then(|s| u16::try_from(s).ok()),
                attempts: r.attempts.max(0) as u32,
                seq: r.number,
                id: r.id,
                client_id: r.client_id,
                request_id: r.request_id,
                grant_id: r.grant_id,
                event: r.event,
                status: r.status,
                last_error: r.last_error,
            })
            .collect())
    }

    /// "Send now": makes every queued or failed delivery of a grant, a
    /// request, or the one delivery named (`dlv_…`) due at once. Returns
    /// how many.
    pub fn send_now(&self, grant_or_request_id: &str) -> Result<usize> {
        let id = grant_or_request_id;
        let tx = self.write_tx()?;
        let known: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM grants WHERE id = ?1)
                 OR EXISTS (SELECT 1 FROM access_requests WHERE id = ?1)
                 OR EXISTS (SELECT 1 FROM outbox WHERE id = ?1)",
            [id],
            |r| r.get(0),
        )?;
        if !known {
            return Err(if id.starts_with("grt_") {
                Error::UnknownGrant { id: id.to_string() }
            } else {
                Error::UnknownRequest { id: id.to_string() }
            });
        }
        let n = tx.execute(
            "UPDATE outbox SET status = 'queued', next_attempt_at = ?2
             WHERE (grant_id = ?1 OR request_id = ?1 OR id = ?1) AND status IN ('queued', 'failed')",
            params![id, format_time(self.clock.now())],
        )?;
        tx.commit()?;
        Ok(n)
    }

    /// When there is next something to send: the earliest head of a
    /// request's queue, or the end of an active linked grant (its
    /// `expired` is queued then), if any.
    pub fn next_delivery_at(&self) -> Result<Option<DateTime<Utc>>> {
        let next: Option<String> = self
            .conn
            .prepare_cached(&format!(
                "SELECT min(t) FROM (
                   SELECT min(o.next_attempt_at) AS t FROM {HEADS}
                     CROSS JOIN outbox o ON o.seq = h.head WHERE o.status = 'queued'
                   UNION ALL
                   SELECT min(g.expires_at) FROM linked_requests lr JOIN grants g ON g.id = lr.grant_id
                     WHERE lr.grant_id IS NOT NULL AND g.revoked_at IS NULL
                       AND NOT EXISTS (SELECT 1 FROM receipts r WHERE r.grant_id = g.id
                           AND r.event IN ('expired', 'withdrawn', 'ended', 'cut_off')))"
            ))?
            .query_row([], |r| r.get(0))?;
        Ok(next.as_deref().map(stored_time))
    }
}

/// The HTTP status a reason names (`HTTP 503 …`), if any.
fn http_status(reason: &str) -> Option<i64> {
    let rest = reason.split("HTTP ").nth(1)?;
    rest.get(..3)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_up_to_an_hour_with_jitter() {
        let secs = |a, j| backoff(a, j, None).as_secs_f64();
        assert_eq!(secs(1, 1.0), 10.0);
        assert_eq!(secs(1, 0.0), 5.0);
        assert_eq!(secs(2, 1.0), 20.0);
        assert_eq!(secs(4, 1.0), 80.0);
        assert_eq!(secs(10, 1.0), 3600.0);
        assert_eq!(secs(100, 0.0), 1800.0);
        assert_eq!(secs(3, 0.5), 30.0);
        let asked = Some(Duration::from_secs(120));
        assert_eq!(backoff(1, 0.0, asked), Duration::from_secs(120));
        // Retry-After 0 (or a date past) never shortens the normal wait.
        assert_eq!(backoff(1, 1.0, Some(Duration::ZERO)).as_secs_f64(), 10.0);
        assert_eq!(backoff(4, 1.0, Some(Duration::ZERO)).as_secs_f64(), 80.0);
        assert_eq!(
            backoff(10, 1.0, Some(Duration::from_secs(5))).as_secs_f64(),
            3600.0
        );
        let too_long = Some(Duration::from_secs(7 * 24 * 3600));
        assert_eq!(backoff(1, 0.0, too_long), Duration::from_secs(24 * 3600));
    }

    #[test]
    fn a_reason_names_its_http_status() {
        assert_eq!(http_status("HTTP 503 Service Unavailable"), Some(503));
        assert_eq!(http_status("connection refused"), None);
    }
}
