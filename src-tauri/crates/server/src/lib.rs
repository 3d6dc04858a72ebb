//! custodian-server: the company-facing pod API over custodian-core.
//!
//! Standards only: RFC 8414 metadata, RFC 7591 registration, RFC 8628 device
//! flow with RFC 9396 authorization details, RFC 6750 bearer tokens,
//! RFC 7009 revocation, RFC 7662 introspection, and LDP-style `/pod/…`.
//! Loopback by default; every request's `Host` is checked before routing.

mod body;
pub mod error;
pub mod gate;
pub mod host;
mod oauth;
mod pod;
pub mod state;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::routing::{any, get, post};
use axum::Router;
use custodian_core::Vault;

pub use gate::{serve_gated, Gate};
pub use host::AllowedHosts;
pub use state::{Config, Pod};

/// The default bind: loopback only.
pub const DEFAULT_BIND: &str = "127.0.0.1:7878";
/// Default largest request body: 1 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
/// Database connections serving requests at once.
pub const POOL_SIZE: usize = 8;

/// Options for [`serve`].
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub bind: SocketAddr,
    pub public_name: Option<String>,
    pub max_body_bytes: usize,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            bind: DEFAULT_BIND
                .parse()
                .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 7878))),
            public_name: None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }
}

/// The routes, with the host check in front of all of them.
pub fn router(pod: Arc<Pod>) -> Router {
    Router::new()
        .route(
            "/.well-known/oauth-authorization-server",
            get(oauth::metadata),
        )
        .route("/oauth/register", post(oauth::register))
        .route(
            "/oauth/device_authorization",
            post(oauth::device_authorization),
        )
        .route("/oauth/token", post(oauth::token))
        .route("/oauth/revoke", post(oauth::revoke))
        .route("/oauth/introspect", post(oauth::introspect))
        .route("/device", get(oauth::device_page))
        .route("/pod", any(pod::handle))
        .route("/pod/", any(pod::handle))
        .route("/pod/{*path}", any(pod::handle))
        .fallback(|| async {
            error::ApiError::new(
                axum::http::StatusCode::NOT_FOUND,
                "not_found",
                "no such endpoint; see /.well-known/oauth-authorization-server",
            )
        })
        .layer(axum::middleware::from_fn_with_state(
            pod.clone(),
            host::check,
        ))
        .with_state(pod)
}

/// Builds the shared state over an unlocked vault.
pub fn pod_for(
    vault: &Vault,
    options: &ServeOptions,
    bound: SocketAddr,
) -> custodian_core::Result<Arc<Pod>> {
    let stores = (0..POOL_SIZE)
        .map(|_| vault.open_store())
        .collect::<custodian_core::Result<Vec<_>>>()?;
    let config = Config {
        allowed_hosts: AllowedHosts::for_bind(bound, options.public_name.as_deref()),
        max_body_bytes: options.max_body_bytes,
        failed_auth_per_minute: 60,
    };
    Ok(Pod::new(
        config,
        stores,
        vault.open_store()?,
        vault.open_store()?,
    ))
}

/// Serves the pod on `listener` until `shutdown` resolves; in-flight requests
/// finish and the audit log is flushed before it returns.
pub async fn serve(
    vault: &Vault,
    listener: tokio::net::TcpListener,
    options: &ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let bound = listener.local_addr()?;
    let pod = pod_for(vault, options, bound).map_err(|e| std::io::Error::other(e.to_string()))?;
    let app = router(pod.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    pod.audit.close();
    result
}
