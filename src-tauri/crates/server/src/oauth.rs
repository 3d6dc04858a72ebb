//! The OAuth 2.0 endpoints: RFC 8414 metadata, RFC 7591 registration,
//! RFC 8628 device authorization (with RFC 9396 details) and token polling,
//! RFC 7009 revocation and RFC 7662 introspection. Each parses the request,
//! calls the core, and maps the answer; the flow's rules live in the core.
//! A poll that reports the person's decision carries its signed consent
//! receipt (`consent_receipt`), in the token response or the error body.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use custodian_core::limits::peer::Peer;
use custodian_core::limits::rate::RateLimiter;
use custodian_core::sharing::client::ClientRegistration;
use custodian_core::sharing::receipts::{Receipt, ReceiptEvent, TYP as RECEIPT_TYP};
use custodian_core::sharing::request::Poll;
use custodian_core::sharing::scope;
use custodian_core::sharing::token::reveal;
use custodian_core::Store;
use serde_json::{json, Value};

use crate::body::{read_body, Limited};
use crate::error::ApiError;
use crate::receipts;
use crate::state::Pod;

/// The grant type of RFC 8628.
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

fn issuer(headers: &HeaderMap) -> String {
    // The Host was checked by the middleware before we get here.
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}

fn no_store(mut response: Response) -> Response {
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}

fn form(bytes: &[u8]) -> Result<HashMap<String, String>, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(bytes).map_err(|e| {
        ApiError::bad_request(
            "invalid_request",
            format!("the body must be form-encoded: {e}"),
        )
    })?;
    let mut map = HashMap::new();
    for (k, v) in pairs {
        if map.insert(k.clone(), v).is_some() {
            return Err(ApiError::bad_request(
                "invalid_request",
                format!("parameter {k} given twice"),
            ));
        }
    }
    Ok(map)
}

fn required<'a>(params: &'a HashMap<String, String>, name: &str) -> Result<&'a str, ApiError> {
    params
        .get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            ApiError::bad_request("invalid_request", format!("missing parameter {name}"))
        })
}

/// `GET /.well-known/oauth-authorization-server`
pub async fn metadata(headers: HeaderMap) -> Response {
    let iss = issuer(&headers);
    Json(json!({
        "issuer": iss,
        "registration_endpoint": format!("{iss}/oauth/register"),
        "device_authorization_endpoint": format!("{iss}/oauth/device_authorization"),
        "token_endpoint": format!("{iss}/oauth/token"),
        "revocation_endpoint": format!("{iss}/oauth/revoke"),
        "introspection_endpoint": format!("{iss}/oauth/introspect"),
        "grant_types_supported": [DEVICE_CODE_GRANT],
        "response_types_supported": [],
        "token_endpoint_auth_methods_supported": ["none"],
        "revocation_endpoint_auth_methods_supported": ["none"],
        "introspection_endpoint_auth_methods_supported": ["none"],
        "authorization_details_types_supported": [scope::POD_ACCESS],
        "service_documentation": format!("{iss}/device"),
        // The pod's signing key (RFC 7517 JWK Set) and its consent
        // receipts: compact JWS, EdDSA, in the token response and a
        // denial's error body (`consent_receipt`), and at their endpoint.
        "jwks_uri": format!("{iss}{}", receipts::JWKS_PATH),
        "consent_receipts_endpoint": format!("{iss}{}", receipts::RECEIPTS_PATH),
        "consent_receipt_types_supported": [RECEIPT_TYP],
        "consent_receipt_signing_alg_values_supported": ["EdDSA"],
        // Where a company finds its receipt in the answers it already gets:
        // the token response's member and a denial's error body's.
        "consent_receipt_response_member": receipts::RECEIPT_MEMBER,
    }))
    .into_response()
}

/// Takes one of the peer's turns at an endpoint anyone may call, before
/// its body is read; 429 when they are used up for the minute.
fn take_turn(limiter: &RateLimiter<Peer>, peer: SocketAddr, what: &str) -> Result<(), ApiError> {
    if limiter.take(&Peer::of(peer.ip())) {
        Ok(())
    } else {
        Err(ApiError::slow_down(
            format!("too many {what} from your address; wait a minute"),
            60,
        ))
    }
}

/// `POST /oauth/register` (JSON).
pub async fn register(
    State(pod): State<Arc<Pod>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Limited,
) -> Result<Response, ApiError> {
    take_turn(&pod.limits.registrations, peer, "registrations")?;
    let bytes = read_body(body, &pod.config).await?;
    let reg: ClientRegistration = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::bad_request("invalid_client_metadata", format!("registration: {e}"))
    })?;
    let client = pod
        .with_store(move |store| store.register_client(&reg))
        .await?
        .map_err(|e| match e {
            custodian_core::Error::InvalidRequest(m) => {
                ApiError::bad_request("invalid_client_metadata", m)
            }
            other => ApiError::from_core(&other),
        })?;
    // `register_client` logged the registration in the same transaction.
    Ok(no_store(
        (
            StatusCode::CREATED,
            Json(json!({
                "client_id": client.id,
                "client_id_issued_at": client.created_at.timestamp(),
                "client_name": client.name,
                "client_uri": client.uri,
                "contacts": client.contacts,
                "grant_types": [DEVICE_CODE_GRANT],
                "token_endpoint_auth_method": "none",
            })),
        )
            .into_response(),
    ))
}

/// `POST /oauth/device_authorization` (form): a company asks.
pub async fn device_authorization(
    State(pod): State<Arc<Pod>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Limited,
) -> Result<Response, ApiError> {
    take_turn(&pod.limits.device_requests, peer, "access requests")?;
    let bytes = read_body(body, &pod.config).await?;
    let params = form(&bytes)?;
    let client_id = required(&params, "client_id")?.to_string();
    let details = scope::parse_requested(required(&params, "authorization_details")?)
        .map_err(|e| ApiError::bad_request("invalid_authorization_details", e.0))?;
    let lifetime: i64 = required(&params, "grant_lifetime")?.parse().map_err(|_| {
        ApiError::bad_request(
            "invalid_request",
            "grant_lifetime must be a number of seconds",
        )
    })?;
    let auth = pod
        .with_store(move |store| store.request_access(&client_id, details, lifetime))
        .await?
        .map_err(|e| ApiError::from_core(&e))?;
    let iss = issuer(&headers);
    Ok(no_store(
        Json(json!({
            "device_code": reveal(&auth.device_code),
            "user_code": auth.request.user_code,
            "verification_uri": format!("{iss}/device"),
            "expires_in": auth.expires_in,
            "interval": auth.interval,
        }))
        .into_response(),
    ))
}

/// `POST /oauth/token` (form): the company polls.
pub async fn token(State(pod): State<Arc<Pod>>, body: Limited) -> Result<Response, ApiError> {
    let bytes = read_body(body, &pod.config).await?;
    let params = form(&bytes)?;
    let grant_type = required(&params, "grant_type")?;
    if grant_type != DEVICE_CODE_GRANT {
        return Err(ApiError::bad_request(
            "unsupported_grant_type",
            format!("only {DEVICE_CODE_GRANT}"),
        ));
    }
    let client_id = required(&params, "client_id")?.to_string();
    let device_code = required(&params, "device_code")?.to_string();
    let (poll, receipt) = pod
        .with_store(move |store| {
            let poll = store.poll_device_code(&client_id, &device_code)?;
            let receipt = decision_receipt(store, &poll)?;
            Ok::<_, custodian_core::Error>((poll, receipt))
        })
        .await?
        .map_err(|e| ApiError::from_core(&e))?;
    let pending = |error: &'static str, text: &str| Err(ApiError::bad_request(error, text));
    match poll {
        Poll::Pending => pending("authorization_pending", "the person has not answered yet"),
        Poll::SlowDown { interval } => pending(
            "slow_down",
            &format!("poll at most every {interval} seconds"),
        ),
        Poll::Denied { .. } => Err(ApiError::bad_request("access_denied", "the person said no")
            .with_consent_receipt(receipt)),
        Poll::Expired => pending("expired_token", "nobody answered in time; ask again"),
        Poll::Issued {
            access_token,
            grant,
            expires_in,
        } => {
            let mut answer = json!({
                "access_token": reveal(&access_token),
                "token_type": "Bearer",
                "expires_in": expires_in,
                "authorization_details": grant.details,
            });
            if let Some(jws) = receipt {
                answer[receipts::RECEIPT_MEMBER] = Value::String(jws);
            }
            Ok(no_store(Json(answer).into_response()))
        }
    }
}

/// The compact JWS of the receipt for what a poll reports: the grant's
/// (as asked or narrower) when the token is issued, the refusal (or the
/// withdrawal, when the grant was revoked before the token was collected)
/// when it is denied. The core signed and stored it when the person
/// decided; this only finds it.
fn decision_receipt(store: &Store, poll: &Poll) -> custodian_core::Result<Option<String>> {
    let newest_of = |list: Vec<Receipt>, events: &[ReceiptEvent]| {
        list.into_iter()
            .filter(|r| events.contains(&r.event))
            .max_by_key(|r| r.issued_at)
            .map(|r| r.jws)
    };
    Ok(match poll {
        Poll::Issued { grant, .. } => newest_of(
            store.receipts_for_grant(&grant.id)?,
            &[ReceiptEvent::Given, ReceiptEvent::GivenNarrower],
        ),
        Poll::Denied {
            grant_id: Some(grant_id),
            ..
        } => newest_of(
            store.receipts_for_grant(grant_id)?,
            &[ReceiptEvent::Withdrawn, ReceiptEvent::CutOff],
        ),
        Poll::Denied { request_id, .. } => newest_of(
            store.receipts_for_request(request_id)?,
            &[ReceiptEvent::Refused],
        ),
        Poll::Pending | Poll::SlowDown { .. } | Poll::Expired => None,
    })
}

/// `POST /oauth/revoke` (form): the company gives a token back. Always 200.
pub async fn revoke(State(pod): State<Arc<Pod>>, body: Limited) -> Result<Response, ApiError> {
    let bytes = read_body(body, &pod.config).await?;
    let params = form(&bytes)?;
    let token = required(&params, "token")?.to_string();
    let client_id = params.get("client_id").cloned().unwrap_or_default();
    pod.with_store(move |store| store.revoke_token(&client_id, &token))
        .await?
        .map_err(|e| ApiError::from_core(&e))?;
    Ok(no_store(StatusCode::OK.into_response()))
}

/// `POST /oauth/introspect` (form): a token's holder checks it.
pub async fn introspect(State(pod): State<Arc<Pod>>, body: Limited) -> Result<Response, ApiError> {
    let bytes = read_body(body, &pod.config).await?;
    let params = form(&bytes)?;
    let token = required(&params, "token")?.to_string();
    let answer = pod
        .with_store(move |store| store.introspect(&token))
        .await?
        .map_err(|e| ApiError::from_core(&e))?;
    Ok(no_store(Json(answer).into_response()))
}

/// `GET /device`: where the user code is entered — not here: approving is
/// done by the person in the Custodian app or CLI, never over HTTP.
pub async fn device_page() -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "To answer this request, open the Custodian app (Requests), or run:\n\n    custodian requests list\n    custodian requests approve USER-CODE\n\nApproval never happens over this page.\n",
    )
        .into_response()
}
