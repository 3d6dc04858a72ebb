//! `/pod/{path}`: LDP-style reads and writes under a grant. Every request,
//! allowed or denied, is recorded in the access log before it is answered;
//! refused tokens past the first few of a minute are recorded as one
//! summary entry (see `custodian_core::limits::refusals`). A write's token is
//! checked before its body is read.
//!
//! This module takes a request from the wire to its answer: the bearer
//! token (parsed once, here), the path through the core's normalizer, the
//! pod's memory of recent reads, and the log entry committed before the
//! answer leaves. The core's `custodian_core::pod` decides the request
//! under the grant and builds its log entry; `reply` is what its answer or
//! refusal looks like on the wire. A resource over the inline size is never
//! held whole: `download` streams it out of the vault (all of it or one
//! `Range`), and a large write's body reaches the core's streamed write
//! through `upload`; either first takes one of its company's transfer
//! turns (`transfer`).

mod download;
mod page;
mod reply;
mod transfer;
mod upload;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use custodian_core::audit::NewEntry;
use custodian_core::data::resource::INLINE_MAX;
use custodian_core::limits::peer::Peer;
use custodian_core::limits::refusals::Refused;
use custodian_core::pod::{self, Answer, Decision, PodRequest, RangeRequest, Refusal};
use custodian_core::sharing::grant::{Access, TokenRejected};
use custodian_core::sharing::read_cache::Lookup;
use custodian_core::sharing::token::{self, TokenHash};

use crate::audit_writer::Logged;
use crate::body::read_within;
use crate::error::ApiError;
use crate::state::Pod;
use reply::{refusal, Reply, Wire};
use tokio::runtime::Handle;
use upload::BodyReader;

/// The token of an `Authorization: Bearer …` header, if there is one.
pub(crate) fn bearer(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
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

/// The token a request presents, parsed once: refused outright (400) when
/// it rides in the URL, 401 when there is none or the header is not the
/// Bearer scheme; otherwise its hash, or why it is malformed (which the
/// caller refuses through [`refuse`], so it is counted like any other).
pub(crate) fn presented_token(
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Result<TokenHash, token::Malformed>, ApiError> {
    if uri
        .query()
        .is_some_and(|q| q.split('&').any(|kv| kv.starts_with("access_token=")))
    {
        return Err(ApiError::bad_request(
            "invalid_request",
            "tokens go in the Authorization header, never in the URL",
        ));
    }
    Ok(token::check_access(
        &bearer(headers)?.ok_or_else(ApiError::no_token)?,
    ))
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
    // The token is parsed here, once: everything after passes its hash.
    let parsed = presented_token(&uri, &headers)?;
    // The raw (still percent-encoded) path goes to the core's one normalizer.
    let raw = uri.path().strip_prefix("/pod").unwrap_or("");
    let raw = if raw.is_empty() { "/" } else { raw };
    let knock = Knock {
        peer: Peer::of(peer.ip()),
        token_hash: parsed.as_ref().ok().cloned(),
        method: pod::Method::from_text(method.as_str()),
        raw_path: raw.to_string(),
    };
    // A token refused too often this minute stays refused (expiry and
    // revocation are final): 429 without reading the vault.
    if knock
        .token_hash
        .as_ref()
        .is_some_and(|h| pod.limits.refusals.token_throttled(h))
    {
        return refuse(&pod, &knock, None).await;
    }
    if pod.limits.refusals.peer_throttled(knock.peer) {
        // Only refusals are limited: a valid token is never slowed down.
        let valid = match &knock.token_hash {
            Some(hash) => {
                let check = hash.clone();
                pod.with_store(move |s| matches!(s.authenticate(&check), Ok(Ok(_))))
                    .await?
            }
            None => false,
        };
        if !valid {
            return refuse(&pod, &knock, None).await;
        }
    }
    let path = custodian_core::data::path::parse_path(raw).map_err(|e| ApiError::from_core(&e))?;
    let token = match parsed {
        Ok(hash) => hash,
        Err(malformed) => {
            return refuse(&pod, &knock, Some(&TokenRejected::Malformed(malformed))).await
        }
    };
    let read_only = knock.method.is_read();
    let streams_body = matches!(knock.method, pod::Method::Put | pod::Method::Post);
    let length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    // Who writes: the company the token belongs to (every pod token is a
    // company's), known before the body is read.
    let mut writer = None;
    if !read_only {
        // The token is checked before the body is read: a stranger cannot
        // make the pod wait for, or store, a body.
        let check = token.clone();
        match pod
            .with_store(move |s| s.authenticate(&check))
            .await?
            .map_err(|e| ApiError::from_core(&e))?
        {
            Err(rejected) => return refuse(&pod, &knock, Some(&rejected)).await,
            Ok(access) => writer = Some(access),
        }
        // A body longer than the vault keeps streams too: the core refuses
        // it by its Content-Length after the grant check and before a byte
        // is read, and logs the refusal.
    }
    let header_text = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let path_is_container = path.is_container();
    let mut request = PodRequest {
        method: knock.method.clone(),
        path,
        if_none_match: header_text(header::IF_NONE_MATCH),
        content_type: header_text(header::CONTENT_TYPE),
        slug: header_text(header::HeaderName::from_static("slug")),
        range: RangeRequest::from_headers(
            header_text(header::RANGE).as_deref(),
            header_text(header::IF_RANGE).as_deref(),
        ),
        page: if path_is_container {
            page::page_ask(&uri)?
        } else {
            Default::default()
        },
        body: Vec::new(),
    };
    if streams_body && length.is_none_or(|n| n > INLINE_MAX as u64) {
        // Large, or of unknown length: streamed into the vault.
        let Some(writer) = writer else {
            return Err(ApiError::internal());
        };
        return write_streamed(pod, knock, token, writer, request, body, length).await;
    }
    if !read_only {
        // Small: read whole, within the body time-out.
        let limit = if streams_body {
            INLINE_MAX
        } else {
            pod.config.max_body_bytes
        };
        request.body = read_within(body, limit, &pod.config).await?.to_vec();
    }
    let page_limit = request.page.limit;
    if read_only && !request.path.is_container() {
        return read_resource(pod, knock, token, request).await;
    }
    let (result, log) = pod
        .with_store(move |store| {
            let answer = |store: &custodian_core::Store| match store.authenticate(&token) {
                Err(e) => (Err(ApiError::from_core(&e)), None),
                Ok(Err(rejected)) => (Err(rejected_error(&rejected)), Some(Err(rejected))),
                Ok(Ok(access)) => {
                    let Decision { result, entry } = pod::decide(store, &access, request);
                    (result.map_err(refusal), Some(Ok(entry)))
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
    // A listing with more after it points at its next page.
    let link = match &result {
        Ok(Answer::Listing(l)) => l
            .next
            .as_deref()
            .and_then(|next| page::next_link(&l.path, next, page_limit)),
        _ => None,
    };
    let mut response = answer_logged(&pod, &knock, result, log).await?;
    if let Some(link) = link {
        response.headers_mut().insert(header::LINK, link);
    }
    Ok(response)
}

/// A `PUT` or `POST` whose body is large or of unknown length: decided and
/// written by the core on a pooled connection while the body streams in
/// (read only once the grant allows the write; nothing stored if it breaks
/// off or is too slow), then logged and answered. It takes one of the
/// writing company's transfer turns first: with none free, 429 and a log
/// entry, and the body is not read.
async fn write_streamed(
    pod: Arc<Pod>,
    knock: Knock,
    token: TokenHash,
    writer: Access,
    request: PodRequest,
    body: Body,
    length: Option<u64>,
) -> Result<Response, ApiError> {
    let streaming = transfer::claim_for_write(&pod, &knock, &writer, &request.path).await?;
    let reader = BodyReader::new(
        body,
        Handle::current(),
        pod.config.body_read_timeout,
        pod.limits.pace.clone(),
    );
    let (result, log) = pod
        .with_store(move |store| {
            let _streaming = streaming;
            let mut reader = reader;
            match store.authenticate(&token) {
                Err(e) => (Err(ApiError::from_core(&e)), None),
                Ok(Err(rejected)) => (Err(rejected_error(&rejected)), Some(Err(rejected))),
                Ok(Ok(access)) => {
                    let Decision { result, mut entry } =
                        pod::decide_streamed(store, &token, &access, request, &mut reader, length);
                    match (result, reader.fault) {
                        // The body, not the vault, stopped the write.
                        (Err(_), Some(fault)) => {
                            entry.reason = Some(fault.reason().to_string());
                            (Err(fault.error()), Some(Ok(entry)))
                        }
                        // Revoked or expired during the upload: refused and
                        // logged as a refused token at the start would be.
                        (Err(Refusal::TokenRejected(rejected)), _) => {
                            (Err(rejected_error(&rejected)), Some(Err(rejected)))
                        }
                        (result, _) => (result.map_err(refusal), Some(Ok(entry))),
                    }
                }
            }
        })
        .await?;
    answer_logged(&pod, &knock, result, log).await
}

/// Who knocked, with which token, on what: what a refusal is counted and
/// logged by.
pub(crate) struct Knock {
    pub(crate) peer: Peer,
    /// The token's hash, when it was well-formed (never the token).
    pub(crate) token_hash: Option<TokenHash>,
    pub(crate) method: pod::Method,
    pub(crate) raw_path: String,
}

/// `GET`/`HEAD` of one resource: answered from the pod's memory when it
/// holds the token and the resource, else from the database (which fills
/// the memory). An answer from memory is sent only if its log entry commits
/// while the vault is still as remembered; otherwise it is decided again
/// from the database, so a revocation made anywhere counts at once.
async fn read_resource(
    pod: Arc<Pod>,
    knock: Knock,
    token: TokenHash,
    request: PodRequest,
) -> Result<Response, ApiError> {
    if let Some(hit) = pod.cache.lookup(&token, &request.path) {
        let generation = hit.generation;
        let (result, log) = answer_from(hit, &request);
        match log {
            // Expiry and revocation are final: a refusal from memory needs
            // no second look.
            Err(rejected) => return refuse(&pod, &knock, Some(&rejected)).await,
            Ok(mut e) => {
                let mut result = result;
                let turn = transfer::claim_for_read(&pod, &knock, &mut result, &mut e).await;
                match pod.audit.record(e, Some(generation)).await? {
                    Logged::Written => return respond(&pod, &knock, result?, turn).await,
                    Logged::Stale(current) => pod.cache.saw_generation(current),
                }
            }
        }
    }
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
    answer_logged(&pod, &knock, result, log).await
}

/// Commits the request's log entry, if it has one, then gives the answer.
async fn answer_logged(
    pod: &Arc<Pod>,
    knock: &Knock,
    result: Reply,
    log: Option<Result<NewEntry, TokenRejected>>,
) -> Result<Response, ApiError> {
    let mut result = result;
    let mut turn = None;
    match log {
        Some(Ok(mut entry)) => {
            turn = transfer::claim_for_read(pod, knock, &mut result, &mut entry).await;
            pod.audit.record(entry, None).await?;
        }
        Some(Err(rejected)) => return refuse(pod, knock, Some(&rejected)).await,
        None => {}
    }
    respond(pod, knock, result?, turn).await
}

/// An answer on the wire; a large resource's bytes are streamed from the
/// vault for a `GET` (a `HEAD` gets the headers alone), holding the
/// company's transfer `turn` ([`transfer::claim_for_read`]) until they are sent.
async fn respond(
    pod: &Arc<Pod>,
    knock: &Knock,
    answer: Answer,
    turn: Option<transfer::Streaming>,
) -> Result<Response, ApiError> {
    match answer {
        Answer::Content {
            content_type,
            etag,
            size,
            body: pod::Body::Stored { path, version },
            range,
        } if knock.method == pod::Method::Get => {
            let turn = turn.ok_or_else(ApiError::internal)?;
            let body = download::open(pod, path, version, range, size, turn).await?;
            Ok(reply::content(body, &content_type, &etag, size, range))
        }
        answer => Ok(Wire(answer).into_response()),
    }
}

/// The reply to a resource read, and what to log about it.
fn answer_from(hit: Lookup, req: &PodRequest) -> (Reply, Result<NewEntry, TokenRejected>) {
    match hit.access {
        Err(rejected) => (Err(rejected_error(&rejected)), Err(rejected)),
        Ok(access) => {
            let Decision { result, entry } =
                pod::decide_read(&access, req, hit.resource.as_deref());
            (result.map_err(refusal), Ok(entry))
        }
    }
}

/// Refuses a token: counts the refusal, logs it on its own if it is among
/// the first few of its minute (the rest go into one summary entry), and
/// answers 401, or 429 once the token, its company or the peer has been
/// refused too often. `rejected` is `None` when the refusal was decided
/// from the counts alone, without reading the vault.
pub(crate) async fn refuse(
    pod: &Pod,
    knock: &Knock,
    rejected: Option<&TokenRejected>,
) -> Result<Response, ApiError> {
    let holder = rejected.and_then(TokenRejected::holder);
    let decision = pod.limits.refusals.note(Refused {
        peer: knock.peer,
        token: knock.token_hash.as_ref(),
        company: holder.map(|h| h.client_id.as_str()),
    });
    if decision.log {
        let entry = pod::token_refused(&knock.method, &knock.raw_path, rejected);
        pod.audit.record(entry, None).await?;
    }
    if decision.throttle {
        return Err(ApiError::slow_down(
            "too many requests with refused tokens; wait a minute",
            60,
        ));
    }
    Err(match rejected {
        Some(r) => rejected_error(r),
        None => ApiError::invalid_token("the token is not valid"),
    })
}

fn rejected_error(r: &TokenRejected) -> ApiError {
    ApiError::invalid_token(r.to_string())
}
