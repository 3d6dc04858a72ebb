//! The floor for `scripts/bench-api`: an axum handler that does nothing but
//! answer `GET /pod/{*path}` with fixed bytes, on the same tokio runtime as
//! `custodian serve` (`custodian_server::runtime`: the same scheduler and
//! worker count) and the same HTTP library. No token, no database, no log: what is left is
//! the cost of HTTP itself, which the pod API cannot beat.
//!
//! Usage: `noop_floor PORT BODY` (BODY is served as `application/json`, with
//! the same static headers the pod sends). Prints
//! `Serving the no-op floor on http://ADDR` once it is listening.

use std::net::SocketAddr;

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

fn usage() -> ! {
    eprintln!("usage: noop_floor PORT BODY");
    std::process::exit(2);
}

fn main() -> std::io::Result<()> {
    custodian_server::runtime()?.block_on(serve())
}

async fn serve() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let port: u16 = args
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| usage());
    let body: &'static [u8] = args.next().unwrap_or_else(|| usage()).into_bytes().leak();

    let app = Router::new().route("/pod/{*path}", get(move || async move { reply(body) }));
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    println!(
        "Serving the no-op floor on http://{}",
        listener.local_addr()?
    );
    axum::serve(listener, app).await
}

/// The bytes and headers the pod answers a JSON resource with, minus the
/// per-resource ETag (a fixed one stands in for it).
fn reply(body: &'static [u8]) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(
        header::ETAG,
        HeaderValue::from_static("\"00000000000000000000000000000000\""),
    );
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
