//! The one clock. Injectable, so expiry and timestamps are testable without
//! sleeping.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, SecondsFormat, Utc};

/// A source of the current time.
pub trait Clock: Send + Sync {
    /// Now, in UTC.
    fn now(&self) -> DateTime<Utc>;
}

/// The system's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until moved; for tests.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<DateTime<Utc>>>);

impl ManualClock {
    /// A clock showing `at`.
    pub fn new(at: DateTime<Utc>) -> Self {
        ManualClock(Arc::new(Mutex::new(at)))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: chrono::Duration) {
        let mut now = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The one text form of a timestamp in the database and in JSON:
/// RFC 3339, UTC, milliseconds (`2026-11-24T10:00:00.000Z`), which sorts as text.
pub fn format_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses a timestamp written by [`format_time`].
pub fn parse_time(s: &str) -> crate::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| crate::Error::Internal(format!("bad timestamp {s:?} in the database: {e}")))
}

/// A length of time as a person says it, to the two largest units:
/// `1 day 2 hours`, `45 minutes`, `30 seconds`.
pub fn human_duration(secs: i64) -> String {
    const UNITS: [(i64, &str); 5] = [
        (7 * 86_400, "week"),
        (86_400, "day"),
        (3_600, "hour"),
        (60, "minute"),
        (1, "second"),
    ];
    if secs <= 0 {
        return "0 seconds".into();
    }
    let mut rest = secs;
    let mut parts = Vec::new();
    for (size, name) in UNITS {
        if rest >= size && parts.len() < 2 {
            let n = rest / size;
            rest %= size;
            parts.push(format!("{n} {name}{}", if n == 1 { "" } else { "s" }));
        } else if !parts.is_empty() {
            // Only adjacent units: "1 week 3 hours" would hide the days.
            break;
        }
    }
    parts.join(" ")
}

/// `secs` seconds before `now`; `None` when that lies outside the times
/// the clock can represent (a window typed as `10000000000000000s`).
pub fn seconds_before(now: DateTime<Utc>, secs: i64) -> Option<DateTime<Utc>> {
    chrono::Duration::try_seconds(secs).and_then(|d| now.checked_sub_signed(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let start = DateTime::parse_from_rfc3339("2026-11-24T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let clock = ManualClock::new(start);
        assert_eq!(clock.now(), start);
        clock.advance(chrono::Duration::seconds(90));
        assert!(seconds_before(clock.now(), 60).is_some_and(|t| t < clock.now()));
        assert_eq!(seconds_before(clock.now(), 10_000_000_000_000_000), None);
        assert_eq!(seconds_before(clock.now(), i64::MAX), None);
        assert_eq!(format_time(clock.now()), "2026-11-24T10:01:30.000Z");
        assert_eq!(parse_time(&format_time(clock.now())).unwrap(), clock.now());
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(0), "0 seconds");
        assert_eq!(human_duration(1), "1 second");
        assert_eq!(human_duration(90), "1 minute 30 seconds");
        assert_eq!(human_duration(3600), "1 hour");
        assert_eq!(human_duration(86_400 + 7200), "1 day 2 hours");
        assert_eq!(human_duration(30 * 86_400), "4 weeks 2 days");
        assert_eq!(human_duration(7 * 86_400 + 3 * 3600), "1 week");
    }
}
