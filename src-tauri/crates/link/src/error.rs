//! What went wrong on the wire, each error naming the network rule that
//! refused or the step that failed, so the person (or the company's
//! developer) can tell "refused by a rule" from "the company is down".

use std::net::IpAddr;
use std::time::Duration;

use crate::guard::AddressKind;

/// A failure of one fetch or post.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// The text is not a URL.
    #[error("{url:?} is not a valid address: {reason}")]
    BadUrl { url: String, reason: String },
    /// Only https (and, with the unsafe developer switch, http to loopback).
    #[error("{url} is not an https address: only https is fetched")]
    NotHttps { url: String },
    /// `https://user:pass@…`.
    #[error("{url}: addresses with a user name or password are refused")]
    Userinfo { url: String },
    /// The host name did not resolve.
    #[error("{host} could not be resolved: {reason}")]
    Resolve { host: String, reason: String },
    /// A resolved (or literal) address is not on the public internet.
    #[error(
        "{host} resolves to {addr}, {kind}: refused (only public internet addresses are contacted)"
    )]
    RefusedAddress {
        host: String,
        addr: IpAddr,
        kind: AddressKind,
    },
    /// Plain http with the developer switch, to a host that is not loopback.
    #[error("{host} resolves to {addr}, {kind}: plain http is allowed only to loopback, with the unsafe developer switch")]
    HttpNotLoopback {
        host: String,
        addr: IpAddr,
        kind: AddressKind,
    },
    /// A redirect to another scheme, host or port.
    #[error("{from} redirects to {to}, another origin: refused (only same-origin redirects are followed)")]
    RedirectElsewhere { from: String, to: String },
    /// More redirects than the rules allow.
    #[error("{url}: more than {max} redirects: refused")]
    TooManyRedirects { url: String, max: usize },
    /// A redirect without a usable `Location`.
    #[error("{url}: a redirect without a valid Location")]
    BadRedirect { url: String },
    /// The answer was larger than the cap for what was fetched.
    #[error("{url}: the answer is larger than {cap} bytes: refused")]
    TooLarge { url: String, cap: usize },
    /// No connection within the connect time-out.
    #[error("{url}: could not connect: {reason}")]
    Connect { url: String, reason: String },
    /// The whole exchange took longer than the total time-out.
    #[error("{url}: no complete answer within {}s: timed out", after.as_secs())]
    TimedOut { url: String, after: Duration },
    /// Anything else on the wire (TLS, a broken connection).
    #[error("{url}: {reason}")]
    Transport { url: String, reason: String },
    /// The company answered, but not with success.
    #[error("{url} answered HTTP {status}")]
    Status { url: String, status: u16 },
    /// The client could not be built (the test CA file, the TLS set-up).
    #[error("the HTTPS client could not be set up: {reason}")]
    Setup { reason: String },
}

impl NetError {
    /// Whether this failure is a refusal by the network rules or a bad address
    /// (sending again cannot help) rather than a failure of the network or the
    /// company's server (sending later may).
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            NetError::BadUrl { .. }
                | NetError::NotHttps { .. }
                | NetError::Userinfo { .. }
                | NetError::RefusedAddress { .. }
                | NetError::HttpNotLoopback { .. }
                | NetError::RedirectElsewhere { .. }
                | NetError::TooManyRedirects { .. }
                | NetError::BadRedirect { .. }
                | NetError::TooLarge { .. }
                | NetError::Setup { .. }
        )
    }

    /// Turns a reqwest error into the step that failed, with its causes
    /// (a TLS error's reason is in the source chain).
    pub(crate) fn from_reqwest(url: &str, err: &reqwest::Error, total: Duration) -> NetError {
        let reason = chain(err);
        if err.is_connect() {
            NetError::Connect {
                url: url.to_owned(),
                reason,
            }
        } else if err.is_timeout() {
            NetError::TimedOut {
                url: url.to_owned(),
                after: total,
            }
        } else {
            NetError::Transport {
                url: url.to_owned(),
                reason,
            }
        }
    }
}

/// An error and its causes on one line, without repeats.
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}
