//! The pod's identity and its consent receipts, as companies reach them:
//! the JWK Set at `/.well-known/jwks.json` (the public key every receipt is
//! checked with), and `GET /oauth/receipts`, where a company fetches the
//! receipts about itself with its access token — also once its grant was
//! revoked or ran out (device-flow clients are public and hold no other
//! credential), never with an unknown or malformed token. Refused tokens
//! are counted, logged and throttled exactly as on `/pod/` (`pod::refuse`).
//! The receipts themselves are made, signed and stored by the core
//! (`custodian_core::sharing::receipts`); this module only reads them.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use custodian_core::audit::{Action, NewEntry};
use custodian_core::limits::peer::Peer;
use custodian_core::pod;
use custodian_core::sharing::grant::TokenRejected;
use custodian_core::sharing::receipts::Receipt;
use custodian_core::sharing::token;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::pod::{bearer, refuse, Knock};
use crate::state::Pod;

/// Where the receipts endpoint is served.
/// The member of the token response and of a denial's error body that
/// carries the answer's consent receipt (named in the metadata).
pub(crate) const RECEIPT_MEMBER: &str = "consent_receipt";

pub const RECEIPTS_PATH: &str = "/oauth/receipts";
/// Where the JWK Set is served.
pub const JWKS_PATH: &str = "/.well-known/jwks.json";
/// The media type of a JWK Set (RFC 7517 §8.5.1).
const JWK_SET_TYPE: &str = "application/jwk-set+json";

/// `GET /.well-known/jwks.json`: the pod's public key as a JWK Set. The
/// key is the vault's for its whole life (a restored vault keeps it), so
/// caches may keep the answer for an hour.
pub async fn jwks(State(pod): State<Arc<Pod>>) -> Result<Response, ApiError> {
    let set = match pod.jwks.get() {
        Some(set) => set.clone(),
        None => {
            let set = pod
                .with_store(|store| store.pod_identity().map(|i| i.jwks()))
                .await?
                .map_err(|e| ApiError::from_core(&e))?;
            pod.jwks.get_or_init(|| set).clone()
        }
    };
    let mut response = Json(set).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(JWK_SET_TYPE));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    Ok(response)
}

/// One receipt as a company gets it.
pub fn receipt_json(r: &Receipt) -> Value {
    json!({
        "id": r.id,
        "event": r.event.as_str(),
        "issued_at": r.issued_at,
        "consent_receipt": r.jws,
    })
}

/// `GET /oauth/receipts` with `Authorization: Bearer cst_…`: every receipt
/// about the token's company, newest first.
pub async fn list(
    State(pod): State<Arc<Pod>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    match serve(pod, peer, uri, headers).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn serve(
    pod: Arc<Pod>,
    peer: SocketAddr,
    uri: Uri,
    headers: HeaderMap,
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
    let parsed = token::check_access(&bearer(&headers)?.ok_or_else(ApiError::no_token)?);
    let knock = Knock {
        peer: Peer::of(peer.ip()),
        token_hash: parsed.as_ref().ok().cloned(),
        method: pod::Method::Get,
        raw_path: RECEIPTS_PATH.to_string(),
    };
    // As on /pod/: a token refused too often this minute is answered 429
    // from the counts alone; a peer that sent too many refused tokens is
    // refused without a reason unless its token names a company.
    if knock
        .token_hash
        .as_ref()
        .is_some_and(|h| pod.limits.refusals.token_throttled(h))
    {
        return refuse(&pod, &knock, None).await;
    }
    let peer_throttled = pod.limits.refusals.peer_throttled(knock.peer);
    let token = match parsed {
        Ok(hash) => hash,
        Err(_) if peer_throttled => return refuse(&pod, &knock, None).await,
        Err(malformed) => {
            return refuse(&pod, &knock, Some(&TokenRejected::Malformed(malformed))).await
        }
    };
    let answer = pod
        .with_store(move |store| {
            let client_id = match store.authenticate(&token)? {
                Ok(access) => access.client_id,
                // A grant that ran out since the pod last looked: its
                // receipt is signed now, so the company finds it.
                Err(TokenRejected::Expired(holder)) => {
                    store.record_expirations()?;
                    holder.client_id
                }
                // A real token whose grant was revoked still names its
                // company: enough to hand it its own receipts.
                Err(rejected) => match rejected.holder() {
                    Some(holder) => holder.client_id.clone(),
                    None => return Ok(Err(rejected)),
                },
            };
            let receipts = store.receipts(Some(&client_id))?;
            // Every access is in the person's log, this one too (no method:
            // it is not a read of the person's data, and the report's
            // counts stay the pod's).
            store.append_audit(&[NewEntry {
                path: Some(RECEIPTS_PATH.to_string()),
                reason: Some(format!("{} receipt(s) fetched", receipts.len())),
                ..NewEntry::client(&client_id, Action::Receipts)
            }])?;
            Ok(Ok(receipts))
        })
        .await?
        .map_err(|e: custodian_core::Error| ApiError::from_core(&e))?;
    match answer {
        Ok(receipts) => {
            let list: Vec<Value> = receipts.iter().map(receipt_json).collect();
            let mut response = Json(json!({ "receipts": list })).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            Ok(response)
        }
        Err(_) if peer_throttled => refuse(&pod, &knock, None).await,
        Err(rejected) => refuse(&pod, &knock, Some(&rejected)).await,
    }
}
