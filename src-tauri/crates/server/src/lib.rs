//! custodian-server: the company-facing pod API over custodian-core.
//!
//! Standards only: RFC 8414 metadata, RFC 7591 registration, RFC 8628 device
//! flow with RFC 9396 authorization details, RFC 6750 bearer tokens,
//! RFC 7009 revocation, RFC 7662 introspection, and LDP-style `/pod/…`;
//! the pod's key as an RFC 7517 JWK Set and its signed consent receipts.
//! Loopback by default; every request's `Host` is checked before routing.

pub mod audit_writer;
mod body;
pub mod error;
pub mod gate;
pub mod host;
pub mod limits;
pub mod listen;
mod oauth;
mod pod;
pub mod receipts;
pub mod state;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::routing::{any, get, post};
use axum::Router;
use custodian_core::limits::transfer::TransferLimits;
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
/// A request's whole header must arrive within this time; a kept-alive
/// connection with no new request is closed after it.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// A request's whole body must arrive within this time (408 otherwise).
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// A write that the client takes nothing of for this long cuts its
/// connection (a client that stops reading an answer).
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// Large transfers streamed at once: half the pool's connections.
pub const STREAM_SLOTS: usize = POOL_SIZE / 2;
/// The most `--transfers-per-company` may be: half the stream slots.
pub const MAX_TRANSFERS_PER_COMPANY: usize =
    custodian_core::limits::transfer::max_per_company(STREAM_SLOTS);
/// Connections served at once; more wait in the listener's backlog.
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;
/// The header-read time-out of a connection taken when fewer than a
/// quarter of the connection slots are free.
pub const DEFAULT_BUSY_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(1);
/// How long running requests may take to finish once shutdown is asked.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// How often the summaries of refused-token floods are written.
pub(crate) const SUMMARY_INTERVAL: Duration = Duration::from_secs(10);

/// Options for [`serve`].
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub bind: SocketAddr,
    pub public_name: Option<String>,
    pub max_body_bytes: usize,
    pub header_read_timeout: Duration,
    pub busy_header_read_timeout: Duration,
    pub body_read_timeout: Duration,
    /// How long a write may wait on a client that takes nothing.
    pub write_timeout: Duration,
    pub max_connections: usize,
    pub shutdown_grace: Duration,
    /// Streamed transfers per company, and the floor on their rate.
    pub transfers: TransferLimits,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            bind: DEFAULT_BIND
                .parse()
                .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 7878))),
            public_name: None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            busy_header_read_timeout: DEFAULT_BUSY_HEADER_READ_TIMEOUT,
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
            write_timeout: DEFAULT_WRITE_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            transfers: TransferLimits::default(),
        }
    }
}

impl ServeOptions {
    /// The connection limits of these options.
    pub fn connection_limits(&self) -> listen::ConnectionLimits {
        listen::ConnectionLimits {
            header_read_timeout: self.header_read_timeout,
            busy_header_read_timeout: self.busy_header_read_timeout,
            write_timeout: self.write_timeout,
            max_connections: self.max_connections,
            shutdown_grace: self.shutdown_grace,
        }
    }
}

/// The tokio runtime `custodian serve` runs on (and the benchmark's no-op
/// floor, so that both are measured alike): one worker fewer than the
/// machine has cores, leaving one to the access log's writer thread, which
/// is busy whenever companies are (every answer waits for its entry's
/// commit); with a single worker, tokio's current-thread scheduler, which
/// does the same work without the multi-threaded one's queues and hand-offs.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let workers = std::thread::available_parallelism()
        .map(|n| n.get().saturating_sub(1))
        .unwrap_or(1);
    let mut builder = if workers > 1 {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(workers);
        b
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    builder.enable_all().build()
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
        .route(receipts::JWKS_PATH, get(receipts::jwks))
        .route(receipts::RECEIPTS_PATH, get(receipts::list))
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
    let mut config = Config::new(
        AllowedHosts::for_bind(bound, options.public_name.as_deref()),
        options.max_body_bytes,
    );
    config.body_read_timeout = options.body_read_timeout;
    config.transfers = options.transfers;
    // The log writer and its checkpointer never read resources: a small
    // page cache each (docs/DESIGN.md, "Memory").
    let audit_store = vault.open_store()?;
    audit_store.use_small_page_cache()?;
    let checkpoint_store = vault.open_store()?;
    checkpoint_store.use_small_page_cache()?;
    Ok(Pod::new(config, stores, audit_store, checkpoint_store))
}

/// Serves the pod on `listener` until `shutdown` resolves; in-flight requests
/// get the grace period to finish, and the audit log is flushed before it
/// returns.
pub async fn serve(
    vault: &Vault,
    listener: tokio::net::TcpListener,
    options: &ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let bound = listener.local_addr()?;
    let pod = pod_for(vault, options, bound).map_err(|e| std::io::Error::other(e.to_string()))?;
    serve_pod(Arc::clone(&pod), listener, options, shutdown).await
}

/// Serves an already built pod (see [`serve`]); closes it at the end.
pub async fn serve_pod(
    pod: Arc<Pod>,
    listener: tokio::net::TcpListener,
    options: &ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let summaries = {
        let pod = Arc::clone(&pod);
        tokio::spawn(write_summaries(move || Some(Arc::clone(&pod))))
    };
    let result = listen::serve_connections(
        listener,
        router(Arc::clone(&pod)),
        options.connection_limits(),
        shutdown,
    )
    .await;
    summaries.abort();
    pod.close();
    result
}

/// Writes the summaries of refused-token floods as their minutes end, and
/// the receipts of grants that have reached their end (expiry happens with
/// no event, so it is noticed here), for whichever pod `current` names at
/// each tick (the app's gate changes it).
pub(crate) async fn write_summaries(current: impl Fn() -> Option<Arc<Pod>>) {
    let mut every = tokio::time::interval(SUMMARY_INTERVAL);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if let Some(pod) = current() {
            pod.write_due_summaries();
            record_expirations(&pod).await;
        }
    }
}

/// Logs and signs the expiry of every grant past its end that has no
/// receipt ending it yet (the core's step; idempotent, and cheap when
/// there is none).
pub(crate) async fn record_expirations(pod: &Arc<Pod>) {
    match pod.with_store(|store| store.record_expirations()).await {
        Ok(Ok(receipts)) if !receipts.is_empty() => {
            tracing::info!(
                count = receipts.len(),
                "expired grants given their receipts"
            );
        }
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::error!(error = %e, "recording expired grants failed"),
        Err(_) => tracing::error!("recording expired grants failed"),
    }
}
