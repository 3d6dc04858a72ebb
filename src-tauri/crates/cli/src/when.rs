//! Times and durations as people type them: `--expires 1h`, `--since 7d`,
//! `--since 2026-11-01`. Parsed before the vault is unlocked, so a typo
//! costs no passphrase prompt.

use chrono::{DateTime, NaiveDate, Utc};

use crate::fail::Fail;

/// A positive duration in whole seconds (`90s`, `45m`, `1h 30m`, `7d`, `2w`).
pub fn duration_secs(text: &str, flag: &str) -> Result<i64, Fail> {
    let d = humantime::parse_duration(text.trim()).map_err(|e| {
        Fail::usage(format!(
            "{flag} {text:?}: {e}; write a duration such as 90s, 45m, 12h, 7d or 2w"
        ))
    })?;
    match i64::try_from(d.as_secs()) {
        Ok(0) => Err(Fail::usage(format!(
            "{flag} {text:?}: the duration must be at least one second"
        ))),
        Err(_) => Err(Fail::usage(format!(
            "{flag} {text:?}: too long to count; write a shorter duration"
        ))),
        Ok(secs) => Ok(secs),
    }
}

/// The start of a window: `all` (none), a duration back from `now`, a date
/// (midnight UTC) or an RFC 3339 time.
pub fn since(text: &str, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, Fail> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("all") {
        return Ok(None);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(Some(t.with_timezone(&Utc)));
    }
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(day.and_hms_opt(0, 0, 0).map(|t| t.and_utc()));
    }
    let secs = duration_secs(text, "--since").map_err(|_| {
        Fail::usage(format!(
            "--since {text:?}: give a duration back from now (30m, 12h, 7d), a date (2026-11-01), a time (2026-11-01T09:00:00Z) or `all`"
        ))
    })?;
    custodian_core::clock::seconds_before(now, secs)
        .map(Some)
        .ok_or_else(|| {
            Fail::usage(format!(
                "--since {text:?} reaches back further than any date; give a shorter duration, a date, or `all`"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration_secs("90s", "--expires").unwrap(), 90);
        assert_eq!(duration_secs("1h 30m", "--expires").unwrap(), 5400);
        assert_eq!(duration_secs("7d", "--expires").unwrap(), 7 * 86_400);
        assert_eq!(duration_secs("2w", "--expires").unwrap(), 14 * 86_400);
        for bad in ["", "soon", "0s", "-1h", "1 fortnight"] {
            assert!(duration_secs(bad, "--expires").is_err(), "{bad}");
        }
    }

    #[test]
    fn windows() {
        let now: DateTime<Utc> = "2026-11-24T10:00:00Z".parse().unwrap();
        assert!(since("10000000000000000s", now).is_err(), "no panic");
        assert_eq!(since("all", now).unwrap(), None);
        assert_eq!(
            since("1d", now).unwrap(),
            Some("2026-11-23T10:00:00Z".parse().unwrap())
        );
        assert_eq!(
            since("2026-11-01", now).unwrap(),
            Some("2026-11-01T00:00:00Z".parse().unwrap())
        );
        assert_eq!(
            since("2026-11-01T09:30:00+01:00", now).unwrap(),
            Some("2026-11-01T08:30:00Z".parse().unwrap())
        );
        let e = since("yesterday", now).unwrap_err();
        assert!(e.message.contains("a date (2026-11-01)"), "{}", e.message);
    }
}
