//! Which `Host` and `Origin` values the pod answers to. Checked before any
//! routing, so a web page that rebinds its DNS name to 127.0.0.1 (or
//! `localhost.evil.com`, `127.0.0.1.nip.io`, a wrong port) is refused.

use std::net::SocketAddr;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::state::Pod;
use std::sync::Arc;

/// The exact `host[:port]` values accepted, lowercase.
#[derive(Debug, Clone)]
pub struct AllowedHosts(Vec<String>);

impl AllowedHosts {
    /// The loopback names and addresses of the bind, plus a configured public
    /// name (`pod.example.org` or `pod.example.org:8443`).
    pub fn for_bind(bind: SocketAddr, public_name: Option<&str>) -> Self {
        let port = bind.port();
        let mut hosts = vec![format!("localhost:{port}")];
        let ip = bind.ip();
        if ip.is_unspecified() || ip.is_ipv4() {
            hosts.push(format!("127.0.0.1:{port}"));
        }
        if ip.is_unspecified() || ip.is_ipv6() {
            hosts.push(format!("[::1]:{port}"));
        }
        if !ip.is_loopback() && !ip.is_unspecified() {
            hosts.push(bind.to_string());
        }
        if let Some(name) = public_name {
            let name = name.to_ascii_lowercase();
            if name.contains(':') {
                hosts.push(name);
            } else {
                hosts.push(format!("{name}:{port}"));
                if port == 80 || port == 443 {
                    hosts.push(name);
                }
            }
        }
        if port == 80 {
            hosts.push("localhost".into());
            hosts.push("127.0.0.1".into());
        }
        AllowedHosts(hosts)
    }

    pub fn allows(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        self.0.contains(&host)
    }

    fn allows_origin(&self, origin: &str) -> bool {
        let origin = origin.to_ascii_lowercase();
        ["http://", "https://"]
            .iter()
            .filter_map(|scheme| origin.strip_prefix(scheme))
            .any(|rest| self.allows(rest))
    }
}

/// Middleware: refuse foreign hosts and origins, and every CORS preflight.
pub async fn check(State(pod): State<Arc<Pod>>, request: Request, next: Next) -> Response {
    match refusal(&pod.config.allowed_hosts, &request) {
        Some(refused) => refused.into_response(),
        None => next.run(request).await,
    }
}

/// Why `request` must be refused before routing, if it must: a missing or
/// foreign `Host`, a foreign `Origin`, or a CORS preflight.
pub fn refusal(hosts: &AllowedHosts, request: &Request) -> Option<ApiError> {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok());
    match host {
        None => {
            return Some(ApiError::bad_request(
                "invalid_request",
                "missing Host header",
            ))
        }
        Some(h) if !hosts.allows(h) => {
            return Some(ApiError::new(
                StatusCode::MISDIRECTED_REQUEST,
                "invalid_request",
                "this pod does not serve that host",
            ))
        }
        Some(_) => {}
    }
    if let Some(origin) = request.headers().get(header::ORIGIN) {
        let ok = origin
            .to_str()
            .map(|o| hosts.allows_origin(o))
            .unwrap_or(false);
        if !ok {
            return Some(ApiError::new(
                StatusCode::FORBIDDEN,
                "invalid_request",
                "cross-origin requests are not allowed",
            ));
        }
    }
    if request.method() == axum::http::Method::OPTIONS {
        // No CORS, no Private Network Access: browsers' preflights fail here.
        return Some(ApiError::new(
            StatusCode::FORBIDDEN,
            "invalid_request",
            "cross-origin requests are not allowed",
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_bind_accepts_exactly_its_names() {
        let h = AllowedHosts::for_bind("127.0.0.1:7878".parse().unwrap(), None);
        for ok in ["127.0.0.1:7878", "localhost:7878", "LOCALHOST:7878"] {
            assert!(h.allows(ok), "{ok}");
        }
        for bad in [
            "localhost",
            "127.0.0.1",
            "127.0.0.1:7879",
            "localhost.evil.com:7878",
            "127.0.0.1.nip.io:7878",
            "evil.com",
            "[::1]:7878",
            "",
        ] {
            assert!(!h.allows(bad), "{bad}");
        }
        assert!(h.allows_origin("http://localhost:7878"));
        assert!(!h.allows_origin("http://evil.com"));
        assert!(!h.allows_origin("null"));
    }

    #[test]
    fn public_name_is_added_when_configured() {
        let h = AllowedHosts::for_bind("0.0.0.0:8443".parse().unwrap(), Some("pod.example.org"));
        assert!(h.allows("pod.example.org:8443"));
        assert!(h.allows("127.0.0.1:8443"));
        assert!(!h.allows("pod.example.org.evil.com:8443"));
    }
}
