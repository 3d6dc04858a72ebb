//! The pod's rules for one request a company makes under its grant: what
//! it may read, list, create, replace or delete; when a refusal must look
//! like absence (so nothing outside the grant is revealed, not even that a
//! resource exists); how a `POST` names what it creates and when it
//! conflicts; and the access-log entry every request leaves.
//!
//! A door (the pod API server) turns the wire into a [`PodRequest`], and an
//! [`Answer`] or a [`Refusal`] back into the wire; nothing here knows HTTP.
//! `rules` holds the decisions as pure functions of the grant, the request
//! and what is stored at the path; `range` which bytes of a resource a read
//! sends; `perform` reads and writes the [`Store`] around them (a large
//! body is written as a stream, and a large resource's bytes are left for
//! the door to stream: [`Body::Stored`]); `entry` builds the log entry of
//! every request under `/pod/`.
//!
//! [`Store`]: crate::Store

mod entry;
mod perform;
pub mod range;
mod rules;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_stream;

use std::fmt;

use crate::audit::NewEntry;
use crate::data::path::PodPath;
use crate::data::resource::ListEntry;
use crate::Error;

pub use entry::{entry, token_refused};
pub use perform::read_live;
pub use perform::{decide, decide_streamed};
pub use range::{ByteRange, RangeRequest};
pub use rules::{decide_read, failure_reason, is_inline, not_modified, post_target};

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
    /// The bytes a read asks for (`Range`, `If-Range`), when it asks for a
    /// part (see [`RangeRequest::from_headers`]).
    pub range: Option<RangeRequest>,
    /// Which page of a container's listing is asked for.
    pub page: PageAsk,
    /// A write's body held in memory ([`decide`]); empty for a write whose
    /// body is streamed ([`decide_streamed`]) and for reads.
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

/// A resource's bytes in an answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// Content of at most [`INLINE_MAX`](crate::data::resource::INLINE_MAX)
    /// bytes, read with the decision: all of it, whatever the range.
    Inline(Vec<u8>),
    /// Larger content, left in the vault: the door streams version
    /// `version` of `path` (`Store::open_content`) as it sends it.
    Stored { path: PodPath, version: u64 },
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
    /// A resource's content: all of it, or the part `range` says.
    Content {
        content_type: String,
        etag: String,
        /// The whole content's size in bytes.
        size: u64,
        body: Body,
        /// The part to send (206), or `None` for all of it (200).
        range: Option<ByteRange>,
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
    /// A read's range starts past the end of the content (`size` bytes).
    RangeNotSatisfiable { size: u64 },
    /// The token no longer holds when a long upload ends (revoked or
    /// expired meanwhile): refused as it would have been at the start.
    TokenRejected(crate::sharing::grant::TokenRejected),
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
            Refusal::TokenRejected(r) => write!(f, "{r}"),
            Refusal::RangeNotSatisfiable { size } => write!(
                f,
                "the range starts past the end of the content ({size} bytes)"
            ),
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
