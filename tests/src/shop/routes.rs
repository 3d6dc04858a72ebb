//! The company's HTTP routes, for any name on the server: its metadata
//! document and JWK Set, the deliveries endpoint (verified, recorded, or
//! refused while "down"), the feed, and whatever documents, redirects and
//! slow bodies the test published.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response, StatusCode};
use serde_json::{json, Value};

use super::{default_metadata, jose, Company, Doc, Outage, Received, State, READ_CAP};

fn respond(status: StatusCode, content_type: &str, body: impl Into<Body>) -> Response<Body> {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    if let Ok(value) = content_type.parse() {
        response
            .headers_mut()
            .insert(hyper::header::CONTENT_TYPE, value);
    }
    response
}

fn json_response(value: &Value) -> Response<Body> {
    respond(StatusCode::OK, "application/json", value.to_string())
}

/// One HTTP request to any company on this server.
pub(crate) async fn handle(state: Arc<State>, req: Request<Incoming>) -> Response<Body> {
    let host = req
        .headers()
        .get(hyper::header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|h| h.rsplit_once(':').map_or(h, |(name, _)| name).to_string())
        .unwrap_or_default();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or_default().to_string();
    let method = req.method().clone();
    {
        let mut inner = state.lock();
        inner
            .seen
            .hits
            .push(format!("{method} {host} {path}?{query}"));
        inner
            .companies
            .entry(host.clone())
            .or_insert_with(Company::new);
    }
    state.changed.notify_all();
    match (method.as_str(), path.as_str()) {
        ("GET", "/custodian/client.json") => {
            let default = default_metadata(&state, &host);
            let inner = state.lock();
            let meta = inner.companies.get(&host).and_then(|c| c.metadata.clone());
            json_response(&meta.unwrap_or(default))
        }
        ("GET", "/custodian/jwks.json") => {
            let inner = state.lock();
            let keys: Vec<Value> = inner
                .companies
                .get(&host)
                .map(|c| vec![jose::public_jwk(&c.key, &c.kid)])
                .unwrap_or_default();
            respond(
                StatusCode::OK,
                "application/jwk-set+json",
                json!({"keys": keys}).to_string(),
            )
        }
        ("POST", "/custodian/deliveries") => deliver(&state, &host, req).await,
        ("GET", "/custodian/feed") => feed(&state, &host, &query),
        _ => document(&state, &host, &path),
    }
}

async fn deliver(state: &State, host: &str, req: Request<Incoming>) -> Response<Body> {
    match state.outage() {
        Outage::None => {}
        Outage::Status { code, retry_after } => {
            let body = axum::body::to_bytes(Body::new(req.into_body()), READ_CAP).await;
            let jti = body
                .ok()
                .and_then(|b| jose::segment(String::from_utf8_lossy(&b).trim(), 1))
                .and_then(|claims| claims["jti"].as_str().map(str::to_string));
            if let Some(jti) = jti {
                state.lock().seen.refused_jtis.push(jti);
            }
            state.note_attempt();
            let mut response = respond(
                StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
                "text/plain",
                "down for a while",
            );
            if let Some(seconds) = retry_after.and_then(|s| s.to_string().parse().ok()) {
                response
                    .headers_mut()
                    .insert(hyper::header::RETRY_AFTER, seconds);
            }
            return response;
        }
        Outage::DropConnections => {
            state.note_attempt();
            return respond(StatusCode::SERVICE_UNAVAILABLE, "text/plain", "");
        }
    }
    let content_type = req
        .headers()
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = match axum::body::to_bytes(Body::new(req.into_body()), READ_CAP).await {
        Ok(body) => body,
        Err(e) => return reject(state, host, format!("unreadable body: {e}")),
    };
    if content_type != "application/jwt" {
        return reject(state, host, format!("Content-Type {content_type:?}"));
    }
    if body.len() > 1 << 20 {
        return reject(state, host, format!("{} bytes, over 1 MiB", body.len()));
    }
    let text = String::from_utf8_lossy(&body).trim().to_string();
    let client_id = state.client_id(host);
    let delivery = match jose::verify_delivery(&text, &client_id) {
        Ok(d) => d,
        Err(why) => return reject(state, host, why),
    };
    let mut inner = state.lock();
    let pin = inner
        .pins
        .entry((host.to_string(), delivery.state().to_string()))
        .or_insert_with(|| delivery.pod_id().to_string())
        .clone();
    if pin != delivery.pod_id() {
        drop(inner);
        return reject(
            state,
            host,
            format!("pod {} is not the pinned {pin}", delivery.pod_id()),
        );
    }
    inner.seen.deliveries.push(Received {
        host: host.to_string(),
        delivery,
    });
    drop(inner);
    state.changed.notify_all();
    respond(StatusCode::OK, "application/json", "{}")
}

fn reject(state: &State, host: &str, why: String) -> Response<Body> {
    state
        .lock()
        .seen
        .rejected
        .push((host.to_string(), why.clone()));
    state.changed.notify_all();
    respond(StatusCode::BAD_REQUEST, "text/plain", why)
}

fn feed(state: &State, host: &str, query: &str) -> Response<Body> {
    let mut grant = String::new();
    let mut after = 0usize;
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "grant_id" => grant = v.into_owned(),
            "after" => after = v.parse().unwrap_or(0),
            _ => {}
        }
    }
    let inner = state.lock();
    let all: Vec<&String> = inner
        .companies
        .get(host)
        .map(|c| {
            c.feed
                .iter()
                .filter(|(g, _)| *g == grant)
                .map(|(_, jws)| jws)
                .collect()
        })
        .unwrap_or_default();
    let items: Vec<&String> = all.iter().skip(after).copied().collect();
    json_response(&json!({"items": items, "next": all.len().to_string()}))
}

fn document(state: &State, host: &str, path: &str) -> Response<Body> {
    let inner = state.lock();
    match inner.documents.get(&(host.to_string(), path.to_string())) {
        None => respond(StatusCode::NOT_FOUND, "text/plain", "not found"),
        Some(Doc::Bytes { body, content_type }) => {
            respond(StatusCode::OK, content_type, body.clone())
        }
        Some(Doc::Redirect(location)) => {
            let mut response = respond(StatusCode::FOUND, "text/plain", "");
            if let Ok(value) = location.parse() {
                response
                    .headers_mut()
                    .insert(hyper::header::LOCATION, value);
            }
            response
        }
        Some(Doc::Slow { body, every }) => respond(
            StatusCode::OK,
            "application/json",
            Body::new(SlowBody {
                rest: body.clone().into_iter(),
                every: *every,
                sleep: Box::pin(tokio::time::sleep(*every)),
            }),
        ),
    }
}

/// A body that sends one byte, then waits, and so on.
struct SlowBody {
    rest: std::vec::IntoIter<u8>,
    every: Duration,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl hyper::body::Body for SlowBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.sleep.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        match self.rest.next() {
            None => Poll::Ready(None),
            Some(byte) => {
                let next = tokio::time::Instant::now() + self.every;
                self.sleep.as_mut().reset(next);
                Poll::Ready(Some(Ok(Frame::data(Bytes::from(vec![byte])))))
            }
        }
    }
}
