//! A company on the internet, for tests: a real HTTPS server on
//! 127.0.0.1 (random port) that answers for `shop.test`, `other.test` and
//! `*.bench.test` with a certificate from a CA made in the test. Each name
//! is a company with its own Ed25519 key: it serves its client metadata
//! document, its JWK Set, the request objects a test publishes (good ones
//! and deliberately bad ones), a feed of items to append, and receives
//! deliveries, which it verifies as any company would (see [`jose`]) and
//! records for the test to wait on. The CLI finds it through the test-only
//! hooks: [`Shop::env`] sets `CUSTODIAN_TEST_RESOLVE`,
//! `CUSTODIAN_TEST_TRUST_LOOPBACK` and `CUSTODIAN_TEST_CA`.

mod ask;
pub mod jose;
mod routes;
mod tls;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use jwt_simple::prelude::Ed25519KeyPair;
use serde_json::{json, Value};

pub use ask::{Ask, Flaw};
pub use jose::Verified;
pub use tls::{install_provider, issue};

/// A delivery body is at most 1 MiB (`MAX_DELIVERY_BYTES`); read a little
/// more so an oversized one is seen, not cut.
const READ_CAP: usize = 2 << 20;

/// How the delivery endpoint misbehaves ("down for a while").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outage {
    /// Up: deliveries are verified and answered 200.
    None,
    /// Every delivery is answered with this status (and `Retry-After`
    /// seconds when given) and not recorded.
    Status { code: u16, retry_after: Option<u64> },
    /// Every connection is closed before the TLS handshake.
    DropConnections,
}

/// A text no earlier call in this process returned.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "{prefix}-{}-{nanos:x}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// A delivery the company accepted, and the name it was sent to.
#[derive(Debug, Clone)]
pub struct Received {
    pub host: String,
    pub delivery: Verified,
}

/// What the company has seen, for a test's readiness checks.
#[derive(Debug, Default)]
pub struct Seen {
    /// Verified deliveries in arrival order (duplicates included: the
    /// company de-duplicates by `jti`, the test counts).
    pub deliveries: Vec<Received>,
    /// Deliveries refused by the company's checks: (host, why).
    pub rejected: Vec<(String, String)>,
    /// Delivery attempts refused by an outage (answered or dropped).
    pub outage_attempts: usize,
    /// The `jti` of each delivery answered with an outage status, in order
    /// (unverified: to check a retry resends the same JWS).
    pub refused_jtis: Vec<String>,
    /// Every request: `METHOD host path?query`.
    pub hits: Vec<String>,
}

impl Seen {
    /// The accepted deliveries to `host`, first copy of each `jti` only.
    pub fn unique_to(&self, host: &str) -> Vec<Verified> {
        let mut seen = std::collections::HashSet::new();
        self.deliveries
            .iter()
            .filter(|r| r.host == host && seen.insert(r.delivery.jti().to_string()))
            .map(|r| r.delivery.clone())
            .collect()
    }
}

enum Doc {
    Bytes { body: Vec<u8>, content_type: String },
    Slow { body: Vec<u8>, every: Duration },
    Redirect(String),
}

struct Company {
    key: Ed25519KeyPair,
    /// A key of nobody's JWK Set, for bad signatures.
    stranger: Ed25519KeyPair,
    kid: String,
    metadata: Option<Value>,
    /// (grant id, item JWS) in the order queued.
    feed: Vec<(String, String)>,
}

impl Company {
    fn new() -> Self {
        Company {
            key: Ed25519KeyPair::generate(),
            stranger: Ed25519KeyPair::generate(),
            kid: unique("key"),
            metadata: None,
            feed: Vec::new(),
        }
    }
}

#[derive(Default)]
struct Inner {
    companies: HashMap<String, Company>,
    documents: HashMap<(String, String), Doc>,
    outage: Option<Outage>,
    seen: Seen,
    /// The pod id first seen per (host, state): a delivery naming another
    /// pod for the same state is refused.
    pins: HashMap<(String, String), String>,
}

/// The server's shared state.
pub struct State {
    port: u16,
    inner: Mutex<Inner>,
    changed: Condvar,
    connections: AtomicUsize,
}

impl State {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
    fn outage(&self) -> Outage {
        self.lock().outage.clone().unwrap_or(Outage::None)
    }
    fn note_attempt(&self) {
        self.lock().seen.outage_attempts += 1;
        self.changed.notify_all();
    }
    fn client_id(&self, host: &str) -> String {
        format!("https://{host}:{}/custodian/client.json", self.port)
    }
    fn origin(&self, host: &str) -> String {
        format!("https://{host}:{}", self.port)
    }
}

/// The running company server; stopped when dropped.
pub struct Shop {
    pub port: u16,
    state: Arc<State>,
    runtime: Option<tokio::runtime::Runtime>,
    _dir: tempfile::TempDir,
    /// The test CA's PEM (for `CUSTODIAN_TEST_CA`).
    pub ca_path: PathBuf,
    /// Names the test resolver maps, with their addresses.
    resolve: Mutex<Vec<(String, String)>>,
}

impl Shop {
    /// `shop.test` and `other.test`.
    pub fn start() -> Shop {
        Shop::with_names(&["shop.test", "other.test"])
    }

    /// A server for `names` (each mapped to 127.0.0.1 by the test resolver;
    /// `*.bench.test` names are covered by the wildcard certificate).
    pub fn with_names(names: &[&str]) -> Shop {
        let dir = tempfile::tempdir().expect("temp dir");
        let ca_path = dir.path().join("test-ca.pem");
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let config = tls::make_certificates(&names, &ca_path);
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        std_listener.set_nonblocking(true).expect("non-blocking");
        let port = std_listener.local_addr().expect("local address").port();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let state = Arc::new(State {
            port,
            inner: Mutex::new(Inner::default()),
            changed: Condvar::new(),
            connections: AtomicUsize::new(0),
        });
        {
            let _guard = runtime.enter();
            let listener = tokio::net::TcpListener::from_std(std_listener).expect("tokio listener");
            runtime.spawn(tls::serve(listener, config, Arc::clone(&state)));
        }
        Shop {
            port,
            state,
            runtime: Some(runtime),
            _dir: dir,
            ca_path,
            resolve: Mutex::new(
                names
                    .into_iter()
                    .map(|n| (n, "127.0.0.1".to_string()))
                    .collect(),
            ),
        }
    }

    /// `https://HOST:PORT/custodian/client.json`
    pub fn client_id(&self, host: &str) -> String {
        self.state.client_id(host)
    }

    /// `https://HOST:PORT{path}`
    pub fn url(&self, host: &str, path: &str) -> String {
        format!("{}{path}", self.state.origin(host))
    }

    /// Has the test resolver answer `name` with `addr` (for the hostile
    /// cases: `inside.test` → 10.1.2.3 and the like).
    pub fn map_name(&self, name: &str, addr: &str) {
        self.resolve
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((name.to_string(), addr.to_string()));
    }

    /// `CUSTODIAN_TEST_RESOLVE`'s value: `name=addr,…`.
    pub fn resolve_map(&self) -> String {
        self.resolve
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(n, a)| format!("{n}={a}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Points the CLI at this company: the test resolver, loopback trusted
    /// as the internet, and the test CA.
    pub fn env<'a>(&self, cmd: &'a mut Command) -> &'a mut Command {
        cmd.env("CUSTODIAN_TEST_RESOLVE", self.resolve_map())
            .env("CUSTODIAN_TEST_TRUST_LOOPBACK", "1")
            .env("CUSTODIAN_TEST_CA", &self.ca_path)
    }

    /// TCP connections accepted so far (all names).
    pub fn connections(&self) -> usize {
        self.state.connections.load(Ordering::SeqCst)
    }

    fn with_company<T>(&self, host: &str, f: impl FnOnce(&mut Company) -> T) -> T {
        let mut inner = self.state.lock();
        f(inner
            .companies
            .entry(host.to_string())
            .or_insert_with(Company::new))
    }

    /// The metadata document `host` serves.
    pub fn metadata(&self, host: &str) -> Value {
        let default = default_metadata(&self.state, host);
        self.with_company(host, |c| c.metadata.clone().unwrap_or(default))
    }

    /// Replaces the metadata document `host` serves.
    pub fn set_metadata(&self, host: &str, metadata: Value) {
        self.with_company(host, |c| c.metadata = Some(metadata));
    }

    /// The JWK Set `host` serves.
    pub fn jwks(&self, host: &str) -> Value {
        self.with_company(
            host,
            |c| json!({"keys": [jose::public_jwk(&c.key, &c.kid)]}),
        )
    }

    /// Signs `ask` as `host` (spoiled as its flaw says), publishes it at
    /// `/custodian/requests/N`, and returns that address.
    pub fn publish_request(&self, host: &str, ask: &Ask) -> String {
        let client_id = self.client_id(host);
        let jws = self.with_company(host, |c| {
            ask::request_object(
                c,
                &client_id,
                &self.url("other.test", "/custodian/client.json"),
                ask,
            )
        });
        self.publish_as(host, &jws)
    }

    /// Publishes a request object (any text) at a new address on `host`.
    pub fn publish_as(&self, host: &str, jws: &str) -> String {
        let path = format!("/custodian/requests/{}", unique("r"));
        self.publish(
            host,
            &path,
            jws.as_bytes(),
            "application/oauth-authz-req+jwt",
        );
        self.url(host, &path)
    }

    /// Serves `body` at `path` on `host`.
    pub fn publish(&self, host: &str, path: &str, body: &[u8], content_type: &str) {
        self.state.lock().documents.insert(
            (host.to_string(), path.to_string()),
            Doc::Bytes {
                body: body.to_vec(),
                content_type: content_type.to_string(),
            },
        );
    }

    /// Serves `body` at `path` on `host` one byte every `every`.
    pub fn publish_slow(&self, host: &str, path: &str, body: &[u8], every: Duration) {
        self.state.lock().documents.insert(
            (host.to_string(), path.to_string()),
            Doc::Slow {
                body: body.to_vec(),
                every,
            },
        );
    }

    /// Answers `path` on `host` with a 302 to `location`.
    pub fn redirect(&self, host: &str, path: &str, location: &str) {
        self.state.lock().documents.insert(
            (host.to_string(), path.to_string()),
            Doc::Redirect(location.to_string()),
        );
    }

    /// `custodian://connect?client_id=…&request_uri=…` for `host`'s client id.
    pub fn link(&self, host: &str, request_uri: &str) -> String {
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        format!(
            "custodian://connect?client_id={}&request_uri={}",
            enc(&self.client_id(host)),
            enc(request_uri)
        )
    }

    /// Puts the delivery endpoint down (or back up with [`Outage::None`]).
    pub fn set_outage(&self, outage: Outage) {
        self.state.lock().outage = Some(outage);
    }

    /// Queues a feed item for `grant_id` at `host`, addressed to `pod_id`,
    /// signed by the company's key (`good`) or a stranger's under the same
    /// `kid`. Returns the item's JWS.
    pub fn queue_feed_item(
        &self,
        host: &str,
        pod_id: &str,
        grant_id: &str,
        item: Value,
        good: bool,
    ) -> String {
        let client_id = self.client_id(host);
        let jti = unique("item");
        self.with_company(host, |c| {
            let claims = json!({"iss": client_id, "aud": pod_id, "iat": now(), "jti": jti,
                                "grant_id": grant_id, "item": item});
            let header = json!({"alg": "EdDSA", "typ": jose::FEED_ITEM_TYP, "kid": c.kid});
            let jws = jose::sign(if good { &c.key } else { &c.stranger }, &header, &claims);
            c.feed.push((grant_id.to_string(), jws.clone()));
            jws
        })
    }

    /// Queues an item's JWS as it is (a replay, say).
    pub fn queue_feed_jws(&self, host: &str, grant_id: &str, jws: &str) {
        self.with_company(host, |c| {
            c.feed.push((grant_id.to_string(), jws.to_string()))
        });
    }

    /// A look at what the company has seen (under its lock: `f` must not
    /// call the shop).
    pub fn seen<T>(&self, f: impl FnOnce(&Seen) -> T) -> T {
        f(&self.state.lock().seen)
    }

    /// Waits (at most `timeout`) until `check` returns `Some`, re-checking
    /// whenever the company sees something; panics naming `what`. `check`
    /// runs under the company's lock: it reads its argument and must not
    /// call the shop (that would wait for ever).
    pub fn wait_for<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut check: impl FnMut(&Seen) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + timeout;
        let mut inner = self.state.lock();
        loop {
            if let Some(found) = check(&inner.seen) {
                return found;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let events: Vec<String> = inner
                    .seen
                    .deliveries
                    .iter()
                    .map(|r| {
                        format!(
                            "{} {} seq {} {}",
                            r.host,
                            r.delivery.event(),
                            r.delivery.seq(),
                            r.delivery.jti()
                        )
                    })
                    .collect();
                panic!(
                    "timed out after {timeout:?} waiting for {what}; deliveries: {events:#?}; rejected: {:?}; outage attempts: {}",
                    inner.seen.rejected, inner.seen.outage_attempts
                );
            }
            inner = self
                .state
                .changed
                .wait_timeout(inner, left)
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
        }
    }

    /// Waits for `n` distinct deliveries to `host`; returns them in order.
    pub fn wait_deliveries(&self, host: &str, n: usize, timeout: Duration) -> Vec<Verified> {
        self.wait_for(&format!("{n} deliveries to {host}"), timeout, |seen| {
            let unique = seen.unique_to(host);
            (unique.len() >= n).then_some(unique)
        })
    }
}

impl Drop for Shop {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

fn default_metadata(state: &State, host: &str) -> Value {
    let origin = state.origin(host);
    json!({
        "client_id": state.client_id(host),
        "client_name": format!("Shop at {host}"),
        "client_uri": format!("{origin}/"),
        "policy_uri": format!("{origin}/privacy"),
        "contacts": [format!("privacy@{host}")],
        "jwks_uri": format!("{origin}/custodian/jwks.json"),
        "delivery_uri": format!("{origin}/custodian/deliveries"),
        "feed_uri": format!("{origin}/custodian/feed"),
    })
}
