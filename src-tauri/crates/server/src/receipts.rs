//! The pod's identity and its consent receipts, as companies reach them:
//! the JWK Set at `/.well-known/jwks.json` (the public key every receipt is
//! checked with), and `GET /oauth/receipts`, where a company fetches the
//! receipts about itself with its access token — also once its grant was
//! revoked or ran out (device-flow clients are public and hold no other
//! credential), never with an unknown or malformed token. Refused tokens
//! are counted, logged and throttled exactly as on `/pod/` (`pod::refuse`).
//! Who may fetch what, and the fetch's log entry, are the core's
//! (`Store::company_receipts`); this module only translates.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use custodian_core::limits::peer::Peer;
use custodian_core::pod;
use custodian_core::sharing::grant::TokenRejected;
use custodian_core::sharing::receipts::Receipt;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::pod::{presented_token, refuse, Knock};
use crate::state::Pod;

/// The member of the token response and of a denial's error body that
/// carries the answer's consent receipt (named in the metadata).
pub(crate) const RECEIPT_MEMBER: &str = "consent_receipt";

/// Where the receipts endpoint is served (the core logs fetches there).
pub use custodian_core::sharing::receipts::RECEIPTS_PATH;
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
    let parsed = presented_token(&uri, &headers)?;
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
        .with_store(move |store| store.company_receipts(&token))
        .await?
        .map_err(|e| ApiError::from_core(&e))?;
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
