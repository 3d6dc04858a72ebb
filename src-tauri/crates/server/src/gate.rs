//! A pod that outlives the vault's unlocked time. The desktop app keeps the
//! listener open while the vault is locked and answers every request with
//! 503 `vault_locked` (companies retry later); unlocking opens the gate on a
//! fresh [`Pod`] and the same address serves again.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use custodian_core::Vault;
use tower::ServiceExt;

use crate::error::ApiError;
use crate::host::{self, AllowedHosts};
use crate::state::Pod;
use crate::ServeOptions;

/// Seconds a company is asked to wait before retrying a locked pod.
pub const LOCKED_RETRY_AFTER_SECS: u32 = 30;

/// The switch between a locked pod and an open one.
pub struct Gate {
    options: ServeOptions,
    bound: SocketAddr,
    hosts: AllowedHosts,
    open: RwLock<Option<(Arc<Pod>, Router)>>,
}

/// A pod no longer served: its refusal summaries are queued for its log
/// writer (ended or not), then it is dropped once its last request ends.
fn retire(old: Option<(Arc<Pod>, Router)>) {
    if let Some((pod, _)) = &old {
        pod.queue_all_summaries();
    }
    drop(old);
}

impl Gate {
    /// A locked gate for a listener bound to `bound`.
    pub fn new(bound: SocketAddr, options: ServeOptions) -> Arc<Gate> {
        Arc::new(Gate {
            hosts: AllowedHosts::for_bind(bound, options.public_name.as_deref()),
            options,
            bound,
            open: RwLock::new(None),
        })
    }

    /// Serves `vault` from the next request on. Replaces a pod already open.
    /// The person's log retention policy is applied first, then grants that
    /// ended while nothing was serving get their expiry receipts.
    pub fn open(&self, vault: &Vault) -> custodian_core::Result<()> {
        if let Some(p) = vault.store().apply_log_retention()? {
            tracing::info!(
                removed = p.removed,
                checkpoint = p.checkpoint,
                "old access-log entries replaced by a checkpoint (log retention)"
            );
        }
        vault.store().record_expirations()?;
        let pod = crate::pod_for(vault, &self.options, self.bound)?;
        let router = crate::router(Arc::clone(&pod));
        let old = self
            .open
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .replace((pod, router));
        retire(old);
        Ok(())
    }

    /// Locks: new requests get 503 `vault_locked`. Requests already running
    /// finish on the pod they started with, which (with its database
    /// connections and their keys) is dropped when the last of them ends.
    pub fn close(&self) {
        let old = self.open.write().unwrap_or_else(|p| p.into_inner()).take();
        retire(old);
    }

    pub(crate) fn pod(&self) -> Option<Arc<Pod>> {
        self.open
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|(pod, _)| Arc::clone(pod))
    }

    /// True while a vault is being served.
    pub fn is_open(&self) -> bool {
        self.open
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    fn router(&self) -> Option<Router> {
        self.open
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|(_, router)| router.clone())
    }
}

/// Every route, through the gate.
pub fn gated_router(gate: Arc<Gate>) -> Router {
    Router::new().fallback(through_gate).with_state(gate)
}

async fn through_gate(State(gate): State<Arc<Gate>>, request: Request) -> Response {
    match gate.router() {
        Some(router) => match router.oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        },
        None => {
            if let Some(refused) = host::refusal(&gate.hosts, &request) {
                return refused.into_response();
            }
            let mut response = ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "vault_locked",
                "the person's vault is locked; retry later",
            )
            .into_response();
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(LOCKED_RETRY_AFTER_SECS),
            );
            response
        }
    }
}

/// Serves through `gate` on `listener` until `shutdown` resolves; in-flight
/// requests get the grace period to finish.
pub async fn serve_gated(
    gate: Arc<Gate>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let summaries = {
        let gate = Arc::clone(&gate);
        tokio::spawn(crate::write_summaries(move || gate.pod()))
    };
    let result = crate::listen::serve_connections(
        listener,
        gated_router(Arc::clone(&gate)),
        gate.options.connection_limits(),
        shutdown,
    )
    .await;
    summaries.abort();
    gate.close();
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use custodian_core::SecretString;

    fn request(host: &str) -> Request {
        Request::builder()
            .uri("/.well-known/oauth-authorization-server")
            .header(header::HOST, host)
            .body(Body::empty())
            .unwrap()
    }

    async fn answer(gate: &Arc<Gate>, host: &str) -> (StatusCode, String) {
        let response = gated_router(Arc::clone(gate))
            .oneshot(request(host))
            .await
            .unwrap();
        let status = response.status();
        let retry = response.headers().get(header::RETRY_AFTER).cloned();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            assert_eq!(retry, Some(HeaderValue::from(LOCKED_RETRY_AFTER_SECS)));
        }
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn a_locked_gate_answers_503_and_serves_again_once_opened() {
        let tmp = tempfile::tempdir().unwrap();
        let created = Vault::create_with_work_factor(
            &tmp.path().join("v"),
            &SecretString::from("correct horse battery".to_string()),
            2,
        )
        .unwrap();
        let bound: SocketAddr = "127.0.0.1:7999".parse().unwrap();
        let gate = Gate::new(bound, ServeOptions::default());

        let (status, body) = answer(&gate, "127.0.0.1:7999").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body.contains("\"vault_locked\""), "{body}");
        // Foreign hosts are refused even while locked.
        let (status, _) = answer(&gate, "evil.example:7999").await;
        assert_eq!(status, StatusCode::MISDIRECTED_REQUEST);

        gate.open(&created.vault).unwrap();
        assert!(gate.is_open());
        let (status, body) = answer(&gate, "localhost:7999").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.contains("device_authorization_endpoint"), "{body}");

        gate.close();
        let (status, _) = answer(&gate, "localhost:7999").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    }
}
