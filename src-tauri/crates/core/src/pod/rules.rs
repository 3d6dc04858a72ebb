//! The pod's decisions as pure functions: from the grant's details, the
//! request and what is stored at the path (read by `perform`) to an answer
//! or a refusal and its log entry.
//!
//! Scope is judged before existence: outside the grant, the answer is the
//! same whether or not anything is there. Where a company's grant would
//! cover something at a path, "nothing there" is 404; where it would not,
//! 403, including for a resource that is there but that the grant does not
//! reach (a sensitive one under a granted path, another category): the
//! person's log keeps the real reason.

use crate::audit::{NewEntry, Outcome};
use crate::data::path::{slug_name, PodPath};
use crate::data::resource::{ListPage, ListView, Resource, ResourceMeta, INLINE_MAX};
use crate::sharing::grant::Access;
use crate::sharing::scope::{self, Action, PodAccess, Target};
use crate::{Error, Sensitivity};

use super::entry::entry;
use super::range::{self, Selection};
use super::{Answer, Body, Decision, Listing, Method, PodRequest, Refusal};

/// The logged reason of a refusal outside the grant.
pub(super) const INSUFFICIENT_SCOPE: &str = "insufficient_scope";
/// The logged reason of a sensitive resource the grant does not name.
pub(super) const SENSITIVE_NOT_GRANTED: &str = "sensitive_not_granted";

/// How one request under a grant is answered and written down.
pub(super) struct Verdict<'a> {
    access: &'a Access,
    method: &'a Method,
    path: &'a PodPath,
    path_text: String,
}

impl<'a> Verdict<'a> {
    pub(super) fn new(access: &'a Access, method: &'a Method, path: &'a PodPath) -> Self {
        Verdict {
            access,
            method,
            path,
            path_text: path.to_string(),
        }
    }

    pub(super) fn details(&self) -> &'a [PodAccess] {
        &self.access.grant.details
    }

    fn entry(&self, outcome: Outcome, reason: Option<String>) -> NewEntry {
        entry(
            Some(&self.access.client_id),
            self.method,
            &self.path_text,
            outcome,
            reason,
            Some(&self.access.grant.id),
        )
    }

    /// Outside the grant: 403, logged with `why`.
    pub(super) fn deny(&self, why: &str) -> Decision {
        Decision {
            result: Err(Refusal::InsufficientScope {
                method: self.method.clone(),
                path: self.path.clone(),
            }),
            entry: self.entry(Outcome::Denied, Some(why.to_string())),
        }
    }

    /// Stopped by a core error, logged by its kind ([`failure_reason`]).
    pub(super) fn fail(&self, e: Error) -> Decision {
        let entry = self.entry(Outcome::Denied, Some(failure_reason(&e).to_string()));
        let result = match e {
            Error::NotFound { .. } => Err(Refusal::NotFound(e)),
            other => Err(Refusal::Invalid(other)),
        };
        Decision { result, entry }
    }

    /// No resource at the path: 404 only to a company whose grant would
    /// cover one there, so absence reveals nothing outside the grant.
    pub(super) fn nothing_there(&self, action: Action) -> Decision {
        self.as_if_absent(action, None)
    }

    /// The company's answer as if nothing were at the path, whatever is
    /// there: a resource its grant does not reach must not be told from
    /// absence. The person's log keeps the real reason (`logged`).
    pub(super) fn as_if_absent(&self, action: Action, logged: Option<&str>) -> Decision {
        let mut decision = if covers_new(self.details(), self.path, action) {
            self.fail(Error::NotFound {
                path: self.path_text.clone(),
            })
        } else {
            self.deny(INSUFFICIENT_SCOPE)
        };
        if let Some(why) = logged {
            decision.entry.reason = Some(why.to_string());
        }
        decision
    }

    pub(super) fn allowed(&self, answer: Answer) -> Decision {
        Decision {
            result: Ok(answer),
            entry: self.entry(Outcome::Allowed, None),
        }
    }

    /// Allowed, logged at `target` (where a `POST` created something).
    pub(super) fn allowed_at(&self, answer: Answer, target: &PodPath) -> Decision {
        let mut d = self.allowed(answer);
        d.entry.path = Some(target.to_string());
        d
    }

    /// A `POST` to a path where something lives: 409, logged at `target`.
    pub(super) fn conflict(&self, target: &PodPath) -> Decision {
        let mut entry = self.entry(Outcome::Denied, Some("conflict".into()));
        entry.path = Some(target.to_string());
        Decision {
            result: Err(Refusal::Conflict {
                path: target.clone(),
            }),
            entry,
        }
    }

    /// A read whose range starts past the end: 416 with the size.
    pub(super) fn range_not_satisfiable(&self, size: u64) -> Decision {
        Decision {
            result: Err(Refusal::RangeNotSatisfiable { size }),
            entry: self.entry(Outcome::Denied, Some("range_not_satisfiable".into())),
        }
    }

    pub(super) fn method_not_allowed(&self) -> Decision {
        Decision {
            result: Err(Refusal::MethodNotAllowed),
            entry: self.entry(Outcome::Denied, Some("method_not_allowed".into())),
        }
    }
}

/// The log's word for a core error that stopped a request: the same code
/// the company is answered with (RFC 6749 / 6750), so the person's log and
/// the company's answer agree.
pub fn failure_reason(e: &Error) -> &'static str {
    match e {
        Error::PathRejected { .. }
        | Error::InvalidContent { .. }
        | Error::IsContainer { .. }
        | Error::TooLarge { .. }
        | Error::InvalidRequest(_) => "invalid_request",
        Error::NotFound { .. } | Error::Deleted { .. } | Error::VersionNotFound { .. } => {
            "not_found"
        }
        Error::InvalidDetails(_) => "invalid_authorization_details",
        Error::UnknownClient { .. } => "invalid_client",
        Error::TooManyPending { .. } => "slow_down",
        Error::InvalidGrant(_) => "invalid_grant",
        Error::PodFull { .. } => "temporarily_unavailable",
        _ => "server_error",
    }
}

/// Whether some detail of the grant would cover a new resource at `path`.
pub(super) fn covers_new(details: &[PodAccess], path: &PodPath, action: Action) -> bool {
    details.iter().any(|d| d.covers_new(path, action))
}

/// Whether the grant lets its holder list `container`.
pub(super) fn may_list(details: &[PodAccess], container: &PodPath) -> bool {
    details.iter().any(|d| d.covers_listing(container))
}

/// Whether the grant lets its holder read the resource `meta` describes.
pub(super) fn may_read(details: &[PodAccess], meta: &ResourceMeta) -> bool {
    scope::allows(details, &Target::of(meta), Action::Read)
}

/// What a company's grant lets it see of a container's members:
/// sub-containers it may list, resources it may read (see
/// [`ListView`]), and the company's client id its cursors are bound to.
pub(super) struct GrantView<'a>(pub(super) &'a [PodAccess], pub(super) &'a str);

impl ListView for GrantView<'_> {
    fn shows_container(&self, path: &PodPath) -> bool {
        may_list(self.0, path)
    }
    fn shows_resource(&self, meta: &ResourceMeta) -> bool {
        may_read(self.0, meta)
    }
    fn viewer(&self) -> &str {
        self.1
    }
}

/// What a listing of `container` shows: one page, already seen through
/// the grant ([`GrantView`]).
pub(super) fn listing(container: &PodPath, page: ListPage) -> Listing {
    Listing {
        path: container.clone(),
        members: page.entries,
        next: page.next,
    }
}

/// Whether a `PUT` may write at `path`: replacing what is there needs
/// `write` on it; creating needs `write` where it would be.
pub(super) fn may_put(
    details: &[PodAccess],
    path: &PodPath,
    existing: Option<&ResourceMeta>,
) -> bool {
    match existing {
        Some(m) => scope::allows(details, &Target::of(m), Action::Write),
        None => covers_new(details, path, Action::Write),
    }
}

/// Whether a `POST` may create at `target`: `append` is enough, since it
/// never replaces anything.
pub(super) fn may_post(details: &[PodAccess], target: &PodPath) -> bool {
    covers_new(details, target, Action::Append) || covers_new(details, target, Action::Write)
}

/// Whether a `DELETE` may remove the resource `meta` describes.
pub(super) fn may_delete(details: &[PodAccess], meta: &ResourceMeta) -> bool {
    scope::allows(details, &Target::of(meta), Action::Write)
}

/// Where a `POST` to `path` creates its resource: `path` itself for a
/// resource path; in a container, the name the slug asks for, cleaned
/// (see [`slug_name`]), or `fresh()` when the slug leaves nothing usable.
pub fn post_target(
    path: &PodPath,
    slug: Option<&str>,
    fresh: impl FnOnce() -> String,
) -> Result<PodPath, Error> {
    if !path.is_container() {
        return Ok(path.clone());
    }
    let name = slug.and_then(slug_name).unwrap_or_else(fresh);
    path.child(&name).map_err(|rule| Error::PathRejected {
        path: format!("{path}{name}"),
        rule,
    })
}

/// Whether an `If-None-Match` precondition holds the current `etag`: `*`,
/// or the quoted tag alone or in a list.
pub fn not_modified(if_none_match: Option<&str>, etag: &str) -> bool {
    let quoted = format!("\"{etag}\"");
    if_none_match.is_some_and(|v| v.split(',').any(|t| t.trim() == quoted || t.trim() == "*"))
}

/// Whether content of `size` bytes travels in the answer itself; larger
/// content is streamed from the vault by the door ([`Body::Stored`]), so
/// whoever reads a resource for [`decide_read`] loads its content only up
/// to this size and leaves it empty above.
pub fn is_inline(size: u64) -> bool {
    size <= INLINE_MAX as u64
}

/// A read of one resource under `access`, given the live resource at the
/// path (`None` when there is none; its content empty when it is too large
/// to be inline, see [`is_inline`]): from the pod's memory or from the
/// database, the same rule. Scope, the sensitive mark and absence first,
/// then `If-None-Match`, then the range.
pub fn decide_read(access: &Access, req: &PodRequest, live: Option<&Resource>) -> Decision {
    let v = Verdict::new(access, &req.method, &req.path);
    let Some(resource) = live else {
        return v.nothing_there(Action::Read);
    };
    let meta = &resource.meta;
    if !may_read(v.details(), meta) {
        let why = if meta.sensitivity == Sensitivity::Sensitive {
            SENSITIVE_NOT_GRANTED
        } else {
            INSUFFICIENT_SCOPE
        };
        return v.as_if_absent(Action::Read, Some(why));
    }
    if not_modified(req.if_none_match.as_deref(), &meta.etag) {
        return v.allowed(Answer::NotModified {
            etag: meta.etag.clone(),
        });
    }
    let range = match range::select(req.range.as_ref(), &meta.etag, meta.size) {
        Selection::Unsatisfiable => return v.range_not_satisfiable(meta.size),
        Selection::Whole => None,
        Selection::Part(part) => Some(part),
    };
    let body = if is_inline(meta.size) {
        Body::Inline(resource.content.clone())
    } else {
        Body::Stored {
            path: meta.path.clone(),
            version: meta.version,
        }
    };
    v.allowed(Answer::Content {
        content_type: meta.content_type.clone(),
        etag: meta.etag.clone(),
        size: meta.size,
        body,
        range,
    })
}
