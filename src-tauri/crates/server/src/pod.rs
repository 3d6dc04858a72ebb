//! `/pod/{path}`: LDP-style reads and writes under a grant. Every request,
//! allowed or denied, is recorded in the access log before it is answered.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use custodian_core::audit::{NewEntry, Outcome};
use custodian_core::grant::{Access, TokenRejected};
use custodian_core::read_cache::Lookup;
use custodian_core::resource::{Author, ListEntry, NewResource, Resource, OCTET_STREAM};
use custodian_core::scope::{self, Action, Target};
use custodian_core::{PodPath, Store};
use serde_json::json;

use crate::body::read_body;
use crate::error::ApiError;
use crate::state::{Logged, Pod};

/// What a handler decided, before the log entry is committed.
enum Reply {
    Content {
        content_type: String,
        etag: String,
        bytes: Vec<u8>,
    },
    NotModified {
        etag: String,
    },
    Listing(serde_json::Value),
    Written {
        created: bool,
        etag: String,
        location: Option<String>,
    },
    Deleted,
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let quoted = |etag: &str| {
            HeaderValue::from_str(&format!("\"{etag}\""))
                .unwrap_or(HeaderValue::from_static("\"\""))
        };
        match self {
            Reply::Content {
                content_type,
                etag,
                bytes,
            } => {
                let mut r = bytes.into_response();
                let h = r.headers_mut();
                h.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_str(&content_type)
                        .unwrap_or(HeaderValue::from_static(OCTET_STREAM)),
                );
                h.insert(header::ETAG, quoted(&etag));
                h.insert(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("private, no-cache"),
                );
                h.insert(
                    "x-content-type-options",
                    HeaderValue::from_static("nosniff"),
                );
                r
            }
            Reply::NotModified { etag } => {
                let mut r = StatusCode::NOT_MODIFIED.into_response();
                r.headers_mut().insert(header::ETAG, quoted(&etag));
                r
            }
            Reply::Listing(value) => {
                let mut r = Json(value).into_response();
                r.headers_mut().insert(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("private, no-cache"),
                );
                r
            }
            Reply::Written {
                created,
                etag,
                location,
            } => {
                let mut r = if created {
                    StatusCode::CREATED
                } else {
                    StatusCode::NO_CONTENT
                }
                .into_response();
                r.headers_mut().insert(header::ETAG, quoted(&etag));
                if let Some(loc) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
                    r.headers_mut().insert(header::LOCATION, loc);
                }
                r
            }
            Reply::Deleted => StatusCode::NO_CONTENT.into_response(),
        }
    }
}

/// One request to the pod, as the decision needs it.
struct PodRequest {
    method: Method,
    path: PodPath,
    if_none_match: Option<String>,
    content_type: Option<String>,
    slug: Option<String>,
    body: Vec<u8>,
}

fn bearer(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .map_err(|_| ApiError::invalid_token("the Authorization header is not text"))?;
    match text.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim().to_string()))
        }
        _ => Err(ApiError::invalid_token(
            "use the Bearer scheme: Authorization: Bearer cst_…",
        )),
    }
}

fn entry(
    client_id: &str,
    method: &Method,
    path: &str,
    outcome: Outcome,
    reason: Option<String>,
    grant: Option<&str>,
) -> NewEntry {
    let action = match *method {
        Method::GET | Method::HEAD => "read",
        Method::DELETE => "delete",
        _ => "write",
    };
    NewEntry {
        actor: client_id.to_string(),
        client_id: Some(client_id.to_string()),
        action: action.into(),
        method: Some(method.to_string()),
        path: Some(path.to_string()),
        outcome: Some(outcome),
        reason,
        grant_id: grant.map(str::to_string),
    }
}

/// The single handler for every method on `/pod/…`.
pub async fn handle(
    State(pod): State<Arc<Pod>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match serve(pod, peer, method, uri, headers, body).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn serve(
    pod: Arc<Pod>,
    peer: SocketAddr,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    if uri
        .query()
        .is_some_and(|q| q.split('&').any(|kv| kv.starts_with("access_token=")))
    {
        return Err(ApiError::bad_request(
            "invalid_request",
            "tokens go in the Authorization header, never in the URL",
        ));
    }
    let token = bearer(&headers)?.ok_or_else(ApiError::no_token)?;
    if pod
        .failures
        .exhausted(peer.ip(), pod.config.failed_auth_per_minute)
    {
        // Only failures are limited: a valid token is never slowed down.
        let check = token.clone();
        let valid = pod
            .with_store(move |s| matches!(s.authenticate(&check), Ok(Ok(_))))
            .await?;
        if !valid {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "slow_down",
                "too many failed token attempts; wait a minute",
            ));
        }
    }
    // The raw (still percent-encoded) path goes to the core's one normalizer.
    let raw = uri.path().strip_prefix("/pod").unwrap_or("");
    let raw = if raw.is_empty() { "/" } else { raw };
    let raw_path = raw.to_string();
    let path = custodian_core::path::parse_path(raw).map_err(|e| ApiError::from_core(&e))?;
    let body = read_body(body, pod.config.max_body_bytes).await?.to_vec();
    let request = PodRequest {
        method: method.clone(),
        path,
        if_none_match: headers
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        content_type: headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        slug: headers
            .get("slug")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        body,
    };
    let read_only = matches!(method, Method::GET | Method::HEAD);
    if read_only && !request.path.is_container() {
        return read_resource(pod, peer, token, request, raw_path).await;
    }
    let (result, log) = pod
        .with_store(move |store| {
            let answer = |store: &custodian_core::Store| match store.authenticate(&token) {
                Err(e) => (Err(ApiError::from_core(&e)), None),
                Ok(Err(rejected)) => (Err(rejected_error(&rejected)), Some(Err(rejected))),
                Ok(Ok(access)) => {
                    let (result, entry) = decide(store, &access, request);
                    (result, Some(Ok(entry)))
                }
            };
            if read_only {
                // One snapshot for the token, grant and listing reads.
                store
                    .read_snapshot(answer)
                    .unwrap_or_else(|e| (Err(ApiError::from_core(&e)), None))
            } else {
                answer(store)
            }
        })
        .await?;
    answer_logged(&pod, peer, &method, &raw_path, result, log).await
}

/// `GET`/`HEAD` of one resource: answered from the pod's memory when it
/// holds the token and the resource, else from the database (which fills
/// the memory). An answer from memory is sent only if its log entry commits
/// while the vault is still as remembered; otherwise it is decided again
/// from the database, so a revocation made anywhere counts at once.
async fn read_resource(
    pod: Arc<Pod>,
    peer: SocketAddr,
    token: String,
    request: PodRequest,
    raw_path: String,
) -> Result<Response, ApiError> {
    if let Some(hit) = pod.cache.lookup(&token, &request.path) {
        let generation = hit.generation;
        let (result, log) = answer_from(hit, &request);
        let e = log_entry(&pod, peer, &request.method, &raw_path, log);
        match pod.audit.record(e, Some(generation)).await? {
            Logged::Written => return result.map(IntoResponse::into_response),
            Logged::Stale(current) => pod.cache.saw_generation(current),
        }
    }
    let method = request.method.clone();
    let loader = Arc::clone(&pod);
    let (result, log) = pod
        .with_store(
            move |store| match loader.cache.load(store, &token, &request.path) {
                Ok(hit) => {
                    let (result, log) = answer_from(hit, &request);
                    (result, Some(log))
                }
                Err(e) => (Err(ApiError::from_core(&e)), None),
            },
        )
        .await?;
    answer_logged(&pod, peer, &method, &raw_path, result, log).await
}

/// Commits the request's log entry, if it has one, then gives the answer.
async fn answer_logged(
    pod: &Pod,
    peer: SocketAddr,
    method: &Method,
    raw_path: &str,
    result: Result<Reply, ApiError>,
    log: Option<Result<NewEntry, TokenRejected>>,
) -> Result<Response, ApiError> {
    if let Some(log) = log {
        let e = log_entry(pod, peer, method, raw_path, log);
        pod.audit.record(e, None).await?;
    }
    result.map(IntoResponse::into_response)
}

/// The reply to a resource read, and what to log about it.
fn answer_from(
    hit: Lookup,
    req: &PodRequest,
) -> (Result<Reply, ApiError>, Result<NewEntry, TokenRejected>) {
    match hit.access {
        Err(rejected) => (Err(rejected_error(&rejected)), Err(rejected)),
        Ok(access) => {
            let (result, entry) = decide_read(&access, req, hit.resource.as_deref());
            (result, Ok(entry))
        }
    }
}

/// The access-log entry for a decided request, or for a refused token.
fn log_entry(
    pod: &Pod,
    peer: SocketAddr,
    method: &Method,
    raw_path: &str,
    log: Result<NewEntry, TokenRejected>,
) -> NewEntry {
    let rejected = match log {
        Ok(entry) => return entry,
        Err(rejected) => rejected,
    };
    // Only guesses count towards the limit: a company whose real token
    // expired or was revoked is told so (401), not throttled.
    let reason = Some(format!("invalid_token: {rejected}"));
    match rejected.holder() {
        // A stale token is still the company's: the person sees who keeps
        // knocking after a revocation.
        Some(h) => entry(
            &h.client_id,
            method,
            raw_path,
            Outcome::Denied,
            reason,
            Some(&h.grant_id),
        ),
        None => {
            pod.failures.record_failure(peer.ip());
            let mut e = entry("anonymous", method, raw_path, Outcome::Denied, reason, None);
            e.client_id = None;
            e
        }
    }
}

fn rejected_error(r: &TokenRejected) -> ApiError {
    ApiError::invalid_token(r.to_string())
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

    fn allowed(&self, reply: Reply) -> Decision {
        (Ok(reply), self.entry(Outcome::Allowed, None))
    }
}

/// A read of one resource under `access`, given the live resource at the
/// path (`None` when there is none): from memory or from the database.
fn decide_read(access: &Access, req: &PodRequest, live: Option<&Resource>) -> Decision {
    let v = Verdict::new(access, &req.method, &req.path);
    let details = &access.grant.details;
    let Some(resource) = live else {
        if !details
            .iter()
            .any(|d| d.covers_new(&req.path, Action::Read))
        {
            return v.deny("insufficient_scope");
        }
        return v.fail(custodian_core::Error::NotFound {
            path: v.path_text.clone(),
        });
    };
    let meta = &resource.meta;
    if !scope::allows(details, &Target::of(meta), Action::Read) {
        return v.deny(if meta.sensitivity.name() == "sensitive" {
            "sensitive_not_granted"
        } else {
            "insufficient_scope"
        });
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
fn decide(store: &Store, access: &Access, req: PodRequest) -> Decision {
    let v = Verdict::new(access, &req.method, &req.path);
    let details = &access.grant.details;
    let author = Author::Client(v.client.to_string());

    match req.method {
        Method::GET | Method::HEAD if req.path.is_container() => {
            if !details.iter().any(|d| d.covers_listing(&req.path)) {
                return v.deny("insufficient_scope");
            }
            let entries = match store.list(&req.path) {
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
                    ListEntry::Resource(m) => {
                        scope::allows(details, &Target::of(m), Action::Read).then(|| {
                            json!({"path": m.path, "kind": "resource", "content_type": m.content_type,
                                   "category": m.category, "etag": m.etag, "size": m.size, "updated_at": m.updated_at})
                        })
                    }
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
                    .map(|s| {
                        s.chars()
                            .filter(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
                            .collect::<String>()
                    })
                    .filter(|s| !s.is_empty() && s != "." && s != "..")
                    .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
                match custodian_core::path::parse_path(&format!("{}{name}", req.path)) {
                    Ok(p) => p,
                    Err(e) => return v.fail(e),
                }
            } else {
                req.path.clone()
            };
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
            if !details.iter().any(|d| {
                d.covers_new(&target, Action::Append) || d.covers_new(&target, Action::Write)
            }) {
                return v.deny("insufficient_scope");
            }
            write(store, &v, &req, &target, true, &author)
        }
        Method::DELETE => {
            let meta = match store.live_meta(&req.path) {
                Ok(Some(m)) => m,
                Ok(None) => {
                    if !details
                        .iter()
                        .any(|d| d.covers_new(&req.path, Action::Write))
                    {
                        return v.deny("insufficient_scope");
                    }
                    return v.fail(custodian_core::Error::NotFound {
                        path: v.path_text.clone(),
                    });
                }
                Err(e) => return v.fail(e),
            };
            if !scope::allows(details, &Target::of(&meta), Action::Write) {
                return v.deny("insufficient_scope");
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
        mark_sensitive: false,
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
