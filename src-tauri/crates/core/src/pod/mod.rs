//! The pod's rules for one request a company makes under its grant: what
//! it may read, list, create, replace or delete; when a refusal must look
//! like absence (so nothing outside the grant is revealed, not even that a
//! resource exists); how a `POST` names what it creates and when it
//! conflicts; and the access-log entry every request leaves.
//!
//! A door (the pod API server) turns the wire into a [`PodRequest`], and an
//! [`Answer`] or a [`Refusal`] back into the wire; nothing here knows HTTP.
//! `rules` holds the decisions as pure functions of the grant, the request
//! and what is stored at the path; `perform` reads and writes the [`Store`]
//! around them; `entry` builds the log entry of every request under `/pod/`.
//!
//! [`Store`]: crate::Store

mod entry;
mod perform;
mod rules;
#[cfg(test)]
mod tests;

use std::fmt;

use crate::audit::NewEntry;
use crate::data::path::PodPath;
use crate::data::resource::ListEntry;
use crate::Error;

pub use entry::{entry, token_refused};
pub use perform::decide;
pub use rules::{decide_read, failure_reason, not_modified, post_target};

/// The request's method: the log's word for it, one type for both.
pub use crate::audit::Method;

/// One request to the pod, as the rules need it.
#[derive(Debug, Clone)]
pub struct PodRequest {
    pub method: Method,
    /// The normalized path (see [`crate::parse_path`]).
    pub path: PodPath,
    /// The `If-None-Match` precondition of a read, as sent.
    pub if_none_match: Option<String>,
    /// The content type of a write's body.
    pub content_type: Option<String>,
    /// The name a `POST` to a container asks for (`Slug`, as sent).
    pub slug: Option<String>,
    /// Which page of a container's listing is asked for.
    pub page: PageAsk,
    pub body: Vec<u8>,
}

/// The page of a container listing a request asks for: members after the
/// path `after` (the `next` of the page before), at most `limit` of them
/// (clamped to `1..=LIST_MAX`; [`LIST_DEFAULT`] when not given).
///
/// [`LIST_DEFAULT`]: crate::data::resource::LIST_DEFAULT
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageAsk {
    pub after: Option<String>,
    pub limit: Option<usize>,
}

/// What a container shows a company: the members its grant reaches.
#[derive(Debug, Clone, PartialEq)]
pub struct Listing {
    pub path: PodPath,
    pub members: Vec<ListEntry>,
    /// When more members follow: the `after` of the next page.
    pub next: Option<String>,
}

/// A request the grant allows, and what came of it.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// A resource's content.
    Content {
        content_type: String,
        etag: String,
        bytes: Vec<u8>,
    },
    /// The company already holds this version (`If-None-Match`).
    NotModified {
        etag: String,
    },
    /// A container's members.
    Listing(Listing),
    /// A resource written: `created` when nothing was there before, then
    /// with where it now lives.
    Written {
        created: bool,
        etag: String,
        location: Option<String>,
    },
    Deleted,
}

/// A request the pod does not carry out.
#[derive(Debug)]
pub enum Refusal {
    /// Outside the grant. The log keeps the real reason (see [`Decision`]).
    InsufficientScope { method: Method, path: PodPath },
    /// Nothing there ([`Error::NotFound`]), told only to a company whose
    /// grant would cover something there.
    NotFound(Error),
    /// A `POST` to a path where a resource already lives.
    Conflict { path: PodPath },
    /// A method the pod does not serve.
    MethodNotAllowed,
    /// The core error that stopped the request: a rejected path or
    /// content, a container where a resource was meant, or a failure.
    Invalid(Error),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::InsufficientScope { method, path } => {
                write!(f, "your grant does not allow {method} {path}")
            }
            Refusal::NotFound(e) | Refusal::Invalid(e) => write!(f, "{e}"),
            Refusal::Conflict { path } => {
                write!(f, "{path} exists; POST only creates (use PUT to replace)")
            }
            Refusal::MethodNotAllowed => f.write_str("use GET, PUT, POST or DELETE"),
        }
    }
}

/// The outcome of one request and its access-log entry, which must be
/// committed before the answer is sent.
#[derive(Debug)]
pub struct Decision {
    pub result: Result<Answer, Refusal>,
    pub entry: NewEntry,
}
