//! Authorizing and performing one request under a company's grant, and
//! writing down its log entry: the same rules whether the resource came from
//! the pod's memory or from the database.

use axum::http::{Method, StatusCode};
use custodian_core::audit::{self, NewEntry, Outcome};
use custodian_core::data::resource::{Author, ListEntry, NewResource, Resource, OCTET_STREAM};
use custodian_core::sharing::grant::Access;
use custodian_core::sharing::scope::{self, Action, PodAccess, Target};
use custodian_core::{PodPath, Sensitivity, Store};
use serde_json::json;

use super::reply::Reply;
use crate::error::ApiError;

/// One request to the pod, as the decision needs it.
pub(super) struct PodRequest {
    pub(super) method: Method,
    pub(super) path: PodPath,
    pub(super) if_none_match: Option<String>,
    pub(super) content_type: Option<String>,
    pub(super) slug: Option<String>,
    pub(super) body: Vec<u8>,
}

/// The access-log entry for a request by `client_id`.
pub(super) fn entry(
    client_id: &str,
    method: &Method,
    path: &str,
    outcome: Outcome,
    reason: Option<String>,
    grant: Option<&str>,
) -> NewEntry {
    let action = match *method {
        Method::GET | Method::HEAD => audit::Action::Read,
        Method::DELETE => audit::Action::Delete,
        _ => audit::Action::Write,
    };
    NewEntry {
        method: Some(audit::Method::from_text(method.as_str())),
        path: Some(path.to_string()),
        outcome,
        reason,
        grant_id: grant.map(str::to_string),
        ..NewEntry::client(client_id, action)
    }
}

/// How one authorized request's answer and log entry are written down.
struct Verdict<'a> {
    client: &'a str,
    grant: &'a str,
    method: &'a Method,
    path: &'a PodPath,
    path_text: String,
}

type Decision = (Result<Reply, ApiError>, NewEntry);

impl<'a> Verdict<'a> {
    fn new(access: &'a Access, method: &'a Method, path: &'a PodPath) -> Self {
        Verdict {
            client: access.client_id.as_str(),
            grant: access.grant.id.as_str(),
            method,
            path,
            path_text: path.to_string(),
        }
    }

    fn entry(&self, outcome: Outcome, reason: Option<String>) -> NewEntry {
        entry(
            self.client,
            self.method,
            &self.path_text,
            outcome,
            reason,
            Some(self.grant),
        )
    }

    fn deny(&self, why: &str) -> Decision {
        (
            Err(ApiError::insufficient_scope(format!(
                "your grant does not allow {} {}",
                self.method, self.path
            ))),
            self.entry(Outcome::Denied, Some(why.to_string())),
        )
    }

    fn fail(&self, e: custodian_core::Error) -> Decision {
        let api = ApiError::from_core(&e);
        let reason = api.error.to_string();
        (Err(api), self.entry(Outcome::Denied, Some(reason)))
    }

    /// No resource at the path: 404 only to a company whose grant would
    /// cover one there, so absence reveals nothing outside the grant.
    fn nothing_there(&self, details: &[PodAccess], action: Action) -> Decision {
        self.as_if_absent(details, action, None)
    }

    /// The company's answer as if nothing were at the path, whatever is
    /// there: a resource its grant does not reach (a sensitive one under a
    /// granted path, another category) must not be told from absence. The
    /// person's log keeps the real reason (`logged`).
    fn as_if_absent(
        &self,
        details: &[PodAccess],
        action: Action,
        logged: Option<&str>,
    ) -> Decision {
        let (answer, mut entry) = if details.iter().any(|d| d.covers_new(self.path, action)) {
            self.fail(custodian_core::Error::NotFound {
                path: self.path_text.clone(),
            })
        } else {
            self.deny("insufficient_scope")
        };
        if let Some(why) = logged {
            entry.reason = Some(why.to_string());
        }
        (answer, entry)
    }

    fn allowed(&self, reply: Reply) -> Decision {
        (Ok(reply), self.entry(Outcome::Allowed, None))
    }
}

/// A read of one resource under `access`, given the live resource at the
/// path (`None` when there is none): from memory or from the database.
pub(super) fn decide_read(access: &Access, req: &PodRequest, live: Option<&Resource>) -> Decision {
    let v = Verdict::new(access, &req.method, &req.path);
    let details = &access.grant.details;
    let Some(resource) = live else {
        return v.nothing_there(details, Action::Read);
    };
    let meta = &resource.meta;
    if !scope::allows(details, &Target::of(meta), Action::Read) {
        let why = if meta.sensitivity == Sensitivity::Sensitive {
            "sensitive_not_granted"
        } else {
            "insufficient_scope"
        };
        return v.as_if_absent(details, Action::Read, Some(why));
    }
    let quoted = format!("\"{}\"", meta.etag);
    if req
        .if_none_match
        .as_deref()
        .is_some_and(|v| v.split(',').any(|t| t.trim() == quoted || t.trim() == "*"))
    {
        return v.allowed(Reply::NotModified {
            etag: meta.etag.clone(),
        });
    }
    v.allowed(Reply::Content {
        content_type: meta.content_type.clone(),
        etag: meta.etag.clone(),
        bytes: resource.content.clone(),
    })
}

/// Authorizes and performs one listing or write under `access`. Returns the
/// reply and the log entry that must be committed before the reply is sent.
pub(super) fn decide(store: &Store, access: &Access, req: PodRequest) -> Decision {
    let v = Verdict::new(access, &req.method, &req.path);
    let details = &access.grant.details;
    let author = Author::Client(v.client.to_string());

    match req.method {
        Method::GET | Method::HEAD if req.path.is_container() => {
            if !details.iter().any(|d| d.covers_listing(&req.path)) {
                return v.deny("insufficient_scope");
            }
            let readable = |m: &custodian_core::ResourceMeta| {
                scope::allows(details, &Target::of(m), Action::Read)
            };
            let entries = match store.list_where(&req.path, readable) {
                Ok(e) => e,
                Err(e) => return v.fail(e),
            };
            let members: Vec<serde_json::Value> = entries
                .iter()
                .filter_map(|e| match e {
                    ListEntry::Container { path, .. } => details
                        .iter()
                        .any(|d| d.covers_listing(path))
                        .then(|| json!({"path": path, "kind": "container"})),
                    ListEntry::Resource(m) => Some(
                        json!({"path": m.path, "kind": "resource", "content_type": m.content_type,
                               "category": m.category, "etag": m.etag, "size": m.size, "updated_at": m.updated_at}),
                    ),
                })
                .collect();
            v.allowed(Reply::Listing(
                json!({"path": req.path, "members": members}),
            ))
        }
        Method::GET | Method::HEAD => match store.get(&req.path, None) {
            Ok(r) => decide_read(access, &req, Some(&r)),
            Err(custodian_core::Error::NotFound { .. } | custodian_core::Error::Deleted { .. }) => {
                decide_read(access, &req, None)
            }
            Err(e) => v.fail(e),
        },
        Method::PUT => {
            if req.path.is_container() {
                return v.fail(custodian_core::Error::IsContainer {
                    path: v.path_text.clone(),
                    what: "PUT a resource path",
                });
            }
            let existing = match store.live_meta(&req.path) {
                Ok(m) => m,
                Err(e) => return v.fail(e),
            };
            let ok = match &existing {
                Some(m) => scope::allows(details, &Target::of(m), Action::Write),
                None => details
                    .iter()
                    .any(|d| d.covers_new(&req.path, Action::Write)),
            };
            if !ok {
                return v.deny("insufficient_scope");
            }
            write(store, &v, &req, &req.path, existing.is_none(), &author)
        }
        Method::POST => {
            let target = if req.path.is_container() {
                let name = req
                    .slug
                    .as_deref()
                    .and_then(custodian_core::data::path::slug_name)
                    .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
                match req.path.child(&name) {
                    Ok(p) => p,
                    Err(rule) => {
                        return v.fail(custodian_core::Error::PathRejected {
                            path: format!("{}{name}", req.path),
                            rule,
                        })
                    }
                }
            } else {
                req.path.clone()
            };
            // Scope first: outside the grant the answer is the same whether
            // or not something is there.
            if !details.iter().any(|d| {
                d.covers_new(&target, Action::Append) || d.covers_new(&target, Action::Write)
            }) {
                return v.deny("insufficient_scope");
            }
            match store.live_meta(&target) {
                Ok(Some(_)) => {
                    let mut e = v.entry(Outcome::Denied, Some("conflict".into()));
                    e.path = Some(target.to_string());
                    return (
                        Err(ApiError::new(
                            StatusCode::CONFLICT,
                            "conflict",
                            format!("{target} exists; POST only creates (use PUT to replace)"),
                        )),
                        e,
                    );
                }
                Ok(None) => {}
                Err(e) => return v.fail(e),
            }
            write(store, &v, &req, &target, true, &author)
        }
        Method::DELETE => {
            let meta = match store.live_meta(&req.path) {
                Ok(Some(m)) => m,
                Ok(None) => return v.nothing_there(details, Action::Write),
                Err(e) => return v.fail(e),
            };
            if !scope::allows(details, &Target::of(&meta), Action::Write) {
                return v.as_if_absent(details, Action::Write, Some("insufficient_scope"));
            }
            match store.delete_as(&req.path, &author) {
                Ok(_) => v.allowed(Reply::Deleted),
                Err(e) => v.fail(e),
            }
        }
        _ => (
            Err(ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "invalid_request",
                "use GET, PUT, POST or DELETE",
            )),
            v.entry(Outcome::Denied, Some("method_not_allowed".into())),
        ),
    }
}

/// Writes the request's body at `target` as the company, and logs it there.
fn write(
    store: &Store,
    v: &Verdict<'_>,
    req: &PodRequest,
    target: &PodPath,
    created: bool,
    author: &Author,
) -> Decision {
    let new = NewResource {
        content: req.body.clone(),
        content_type: req
            .content_type
            .clone()
            .unwrap_or_else(|| OCTET_STREAM.to_string()),
        category: None,
        mark: custodian_core::Mark::Keep,
    };
    match store.put_as(target, new, author) {
        Ok(meta) => {
            let (result, mut e) = v.allowed(Reply::Written {
                created,
                etag: meta.etag,
                location: created.then(|| format!("/pod{}", meta.path)),
            });
            e.path = Some(target.to_string());
            (result, e)
        }
        Err(e) => v.fail(e),
    }
}
