//! Delivering one signed body: `POST` under the network rules, and the
//! answer read as an outcome the core's outbox understands: 2xx delivered;
//! 408, 429, 5xx, time-outs and connection errors retried (with the
//! company's `Retry-After`, seconds or HTTP date); any other answer, and any
//! refusal by the rules, failed.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::error::NetError;
use crate::net::{read_capped, Answer, Net};

/// At most this much of an error answer is read, and this many characters
/// of it shown in the reason.
const ERROR_BODY_CAP: usize = 16 * 1024;
const ERROR_TEXT_CHARS: usize = 200;

/// What happened to one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostOutcome {
    /// The company answered 2xx.
    Delivered { status: u16 },
    /// Worth sending again later; `retry_after` when the company said when.
    Retry {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// Sending again will not help until something changes.
    Failed { reason: String },
}

impl Net {
    /// `POST url` with `Content-Type: application/jwt` and `body`; never
    /// follows a redirect.
    pub async fn post_jwt(&self, url: &str, body: &str) -> PostOutcome {
        let total = self.options().total_timeout;
        match tokio::time::timeout(total, self.post_within(url, body)).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(err)) => outcome_of_error(&err),
            Err(_) => outcome_of_error(&NetError::TimedOut {
                url: url.to_owned(),
                after: total,
            }),
        }
    }

    async fn post_within(&self, url: &str, body: &str) -> Result<PostOutcome, NetError> {
        let parsed = self.parse(url)?;
        let (target, client) = self.pinned(&parsed).await?;
        let response = client
            .post(target.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/jwt")
            .body(body.to_owned())
            .send()
            .await
            .map_err(|e| NetError::from_reqwest(url, &e, self.options().total_timeout))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, Utc::now()));
        if response.status().is_success() {
            return Ok(PostOutcome::Delivered { status });
        }
        let text = read_capped(
            Answer {
                url: parsed,
                response,
            },
            ERROR_BODY_CAP,
            self.options().total_timeout,
        )
        .await
        .map(|b| shown_text(&b))
        .unwrap_or_default();
        Ok(outcome_of_status(status, retry_after, &text))
    }
}

/// The outcome of a non-2xx answer.
pub fn outcome_of_status(status: u16, retry_after: Option<Duration>, text: &str) -> PostOutcome {
    let mut reason = format!("the company answered HTTP {status}");
    if !text.is_empty() {
        reason.push_str(": ");
        reason.push_str(text);
    }
    match status {
        200..=299 => PostOutcome::Delivered { status },
        408 | 429 | 500..=599 => PostOutcome::Retry {
            reason,
            retry_after,
        },
        300..=399 => PostOutcome::Failed {
            reason: format!("{reason} (a redirect; deliveries do not follow redirects)"),
        },
        _ => PostOutcome::Failed { reason },
    }
}

/// The outcome of an exchange that got no answer: refusals by the rules
/// fail; the network's and the server's failures retry.
pub fn outcome_of_error(err: &NetError) -> PostOutcome {
    if err.is_refusal() {
        PostOutcome::Failed {
            reason: err.to_string(),
        }
    } else {
        PostOutcome::Retry {
            reason: err.to_string(),
            retry_after: None,
        }
    }
}

/// `Retry-After`: delay-seconds, or an HTTP date (a date in the past is no
/// delay). The core waits at least its normal backoff whatever this says,
/// so 0 or a past date cannot make the pod resend in a tight loop.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

/// The start of an error answer as one printable line.
fn shown_text(body: &[u8]) -> String {
    String::from_utf8_lossy(body)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(ERROR_TEXT_CHARS)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn statuses_map_to_outcomes() {
        assert_eq!(
            outcome_of_status(204, None, ""),
            PostOutcome::Delivered { status: 204 }
        );
        for retry in [408, 429, 500, 502, 503, 599] {
            assert!(
                matches!(
                    outcome_of_status(retry, None, ""),
                    PostOutcome::Retry { .. }
                ),
                "{retry}"
            );
        }
        for fail in [301, 400, 401, 403, 404, 409, 410, 422] {
            assert!(
                matches!(
                    outcome_of_status(fail, None, ""),
                    PostOutcome::Failed { .. }
                ),
                "{fail}"
            );
        }
        let PostOutcome::Failed { reason } = outcome_of_status(400, None, "bad jws") else {
            panic!()
        };
        assert_eq!(reason, "the company answered HTTP 400: bad jws");
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = Utc.with_ymd_and_hms(2026, 11, 30, 8, 0, 0).unwrap();
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Mon, 30 Nov 2026 08:01:30 GMT", now),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            parse_retry_after("Mon, 30 Nov 2026 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }

    #[test]
    fn refusals_fail_and_network_trouble_retries() {
        let refused = NetError::NotHttps { url: "x".into() };
        assert!(matches!(
            outcome_of_error(&refused),
            PostOutcome::Failed { .. }
        ));
        let down = NetError::Connect {
            url: "x".into(),
            reason: "refused".into(),
        };
        assert!(matches!(outcome_of_error(&down), PostOutcome::Retry { .. }));
    }

    #[test]
    fn error_text_is_one_short_line() {
        let long = format!("a\nb\t{}", "x".repeat(500));
        let shown = shown_text(long.as_bytes());
        assert!(shown.starts_with("a b x"));
        assert_eq!(shown.chars().count(), ERROR_TEXT_CHARS);
    }
}
