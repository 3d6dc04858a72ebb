//! An HTTP/1.1 answer as the tests that speak raw HTTP read it (the
//! server's hostile and large-transfer tests), and the content they send.

use tokio::io::{AsyncRead, AsyncReadExt};

/// An answer: status, headers (names lower-case) and body.
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl std::fmt::Debug for Answer {
    /// The body's length and its start only: a failed test does not print
    /// megabytes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let start = &self.body[..self.body.len().min(300)];
        f.debug_struct("Answer")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body_len", &self.body.len())
            .field("body_start", &String::from_utf8_lossy(start))
            .finish()
    }
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads an answer until the server closes; `None` when it closed with
/// none (or cut it before its head ended).
/// The answer, which must come within 10 s (`late` says what a later one
/// would mean: e.g. that the pod waited for a body it should not read).
pub async fn answer_within(s: &mut (impl AsyncRead + Unpin), late: &str) -> Answer {
    tokio::time::timeout(std::time::Duration::from_secs(10), read_answer(s))
        .await
        .unwrap_or_else(|_| panic!("{late}"))
        .expect("an answer")
}

pub async fn read_answer(s: &mut (impl AsyncRead + Unpin)) -> Option<Answer> {
    let mut all = Vec::new();
    // A cut connection still leaves what arrived before it.
    let _ = s.read_to_end(&mut all).await;
    parse_answer(&all)
}

/// The answer in `all`, the bytes a connection gave: its head, and
/// whatever followed as the body.
pub fn parse_answer(all: &[u8]) -> Option<Answer> {
    let end = all.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&all[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Some(Answer {
        status,
        headers,
        body: all[end + 4..].to_vec(),
    })
}

/// `n` bytes that differ from place to place, so a shifted or repeated
/// piece would show.
pub fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
}
