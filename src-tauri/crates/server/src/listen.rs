//! Connections: accepting them, and how long a stranger may hold one.
//!
//! `axum::serve` waits for ever on a client that sends half a request, has
//! no cap on connections, and its graceful shutdown waits for every one of
//! them. Here each connection is served by hyper with a header-read
//! time-out (it also closes a kept-alive connection that sends nothing),
//! shorter when the pod is busy, and a write time-out (a client that takes
//! nothing of an answer for that long is cut: `stalled`), at most
//! `max_connections` are served at once (the rest wait in the listener's
//! backlog until a slot frees), and shutdown gives connections a bounded
//! grace period before closing them.

mod stalled;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tower::ServiceExt;

/// How long connections may take, and how many there may be.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// The whole header of a request must arrive within this time, and a
    /// kept-alive connection is closed after this long without one.
    pub header_read_timeout: Duration,
    /// The same when fewer than a quarter of the slots are free: a busy pod
    /// gives a new connection less time to say what it wants, so a flood of
    /// idle connections cycles through the last slots quickly and a real
    /// request (whose header comes at once) is not kept waiting behind it.
    pub busy_header_read_timeout: Duration,
    /// How long a write may wait on a client that takes nothing before
    /// the connection is cut.
    pub write_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
    /// How long requests still running at shutdown may take to finish.
    pub shutdown_grace: Duration,
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets running
/// requests finish for at most the grace period and closes what is left.
pub async fn serve_connections(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let (stop, stopping) = watch::channel(());
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // A slot first: past the cap, new connections wait in the backlog.
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => slot.map_err(std::io::Error::other)?,
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little
                    // instead of spinning.
                    tracing::warn!(error = %e, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        while connections.try_join_next().is_some() {}
        let service = app
            .clone()
            .map_request(move |mut request: Request<Incoming>| {
                request
                    .extensions_mut()
                    .insert(ConnectInfo::<SocketAddr>(peer));
                request
            });
        let mut stopping = stopping.clone();
        let write_timeout = limits.write_timeout;
        let busy = slots.available_permits() < limits.max_connections / 4;
        let header_read_timeout = if busy {
            limits
                .busy_header_read_timeout
                .min(limits.header_read_timeout)
        } else {
            limits.header_read_timeout
        };
        connections.spawn(async move {
            let _slot = slot;
            let _ = stream.set_nodelay(true);
            let mut builder = http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(header_read_timeout);
            let connection = builder.serve_connection(
                TokioIo::new(stalled::WriteTimeout::new(stream, write_timeout)),
                TowerToHyperService::new(service),
            );
            let mut connection = std::pin::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => return,
                _ = stopping.changed() => connection.as_mut().graceful_shutdown(),
            }
            let _ = connection.await;
        });
    }
    drop(listener);
    let _ = stop.send(());
    let drained = tokio::time::timeout(limits.shutdown_grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::info!(
            open = connections.len(),
            "closing connections still open after the shutdown grace period"
        );
        connections.shutdown().await;
    }
    Ok(())
}
