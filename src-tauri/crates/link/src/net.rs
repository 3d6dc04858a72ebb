//! [`Net`]: the one HTTPS client of the outward door. Every exchange resolves
//! the host once, checks every address (`resolve`), and then connects only to
//! those addresses: the reqwest client is built per exchange, pinned with
//! `resolve_to_addrs`, with a resolver that refuses every other name, no
//! proxy, no automatic redirects, rustls with the ring provider, and the
//! connect and total time-outs.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Once};
use std::time::Duration;

use url::Url;

use crate::error::NetError;
use crate::resolve::{self, AddressRules, Target};

/// Connect time-out of the network rules.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Total time-out of one exchange (redirects and body included).
pub const TOTAL_TIMEOUT: Duration = Duration::from_secs(15);
/// Redirects followed (same origin only).
pub const MAX_REDIRECTS: usize = 3;

/// How a [`Net`] is set up.
#[derive(Debug, Clone)]
pub struct Options {
    /// Which addresses are allowed (developer switch, test hooks).
    pub rules: AddressRules,
    /// Extra trusted root certificates, PEM (the test CA).
    pub extra_roots_pem: Vec<String>,
    /// Connect time-out.
    pub connect_timeout: Duration,
    /// Total time-out of one fetch or post.
    pub total_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            rules: AddressRules::default(),
            extra_roots_pem: Vec::new(),
            connect_timeout: CONNECT_TIMEOUT,
            total_timeout: TOTAL_TIMEOUT,
        }
    }
}

impl Options {
    /// The rules' defaults plus what the environment switches on: the unsafe
    /// developer switch always; the test hooks (`CUSTODIAN_TEST_RESOLVE`,
    /// `CUSTODIAN_TEST_TRUST_LOOPBACK`, `CUSTODIAN_TEST_CA`) only in debug
    /// builds or with the `test-hooks` feature.
    pub fn from_env() -> Result<Options, NetError> {
        #[allow(unused_mut)]
        let mut options = Options {
            rules: AddressRules::from_env()?,
            ..Options::default()
        };
        #[cfg(any(debug_assertions, feature = "test-hooks"))]
        if let Ok(path) = std::env::var("CUSTODIAN_TEST_CA") {
            let pem = std::fs::read_to_string(&path).map_err(|e| NetError::Setup {
                reason: format!("CUSTODIAN_TEST_CA {path}: {e}"),
            })?;
            options.extra_roots_pem.push(pem);
        }
        Ok(options)
    }
}

/// The outward door's HTTPS client.
#[derive(Debug)]
pub struct Net {
    options: Options,
    roots: Vec<reqwest::Certificate>,
    clients_built: AtomicUsize,
}

/// A response whose status has been read; the body is still on the wire.
pub(crate) struct Answer {
    pub url: Url,
    pub response: reqwest::Response,
}

impl Net {
    /// A client with these options.
    pub fn new(options: Options) -> Result<Net, NetError> {
        install_ring_provider();
        let mut roots = Vec::new();
        for pem in &options.extra_roots_pem {
            let found = reqwest::Certificate::from_pem_bundle(pem.as_bytes()).map_err(|e| {
                NetError::Setup {
                    reason: format!("extra root certificate: {e}"),
                }
            })?;
            roots.extend(found);
        }
        Ok(Net {
            options,
            roots,
            clients_built: AtomicUsize::new(0),
        })
    }

    /// A client set up from the environment ([`Options::from_env`]).
    pub fn from_env() -> Result<Net, NetError> {
        Net::new(Options::from_env()?)
    }

    /// The options in force.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Whether the unsafe developer switch (plain http to loopback) is on.
    pub fn allows_http_loopback(&self) -> bool {
        self.options.rules.allow_http_loopback
    }

    /// How many pinned clients this `Net` has built. A client is built only
    /// after every address passed the rules, so a refusal that leaves this
    /// unchanged attempted no connection.
    pub fn clients_built(&self) -> usize {
        self.clients_built.load(Ordering::SeqCst)
    }

    /// Parses a URL; which schemes and hosts may be used is `resolve::check`'s.
    pub(crate) fn parse(&self, url: &str) -> Result<Url, NetError> {
        Url::parse(url).map_err(|e| NetError::BadUrl {
            url: url.to_owned(),
            reason: e.to_string(),
        })
    }

    /// Checks a URL's addresses and builds a client pinned to them.
    pub(crate) async fn pinned(&self, url: &Url) -> Result<(Target, reqwest::Client), NetError> {
        let target = resolve::check(&self.options.rules, url).await?;
        let client = self.client(&target)?;
        Ok((target, client))
    }

    fn client(&self, target: &Target) -> Result<reqwest::Client, NetError> {
        let mut builder = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .referer(false)
            .connect_timeout(self.options.connect_timeout)
            .timeout(self.options.total_timeout)
            .user_agent(concat!("Custodian/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(RefuseEveryName))
            .tls_built_in_root_certs(true);
        if let Some(name) = &target.pin_name {
            builder = builder.resolve_to_addrs(name, &target.addrs);
        }
        for root in &self.roots {
            builder = builder.add_root_certificate(root.clone());
        }
        let client = builder.build().map_err(|e| NetError::Setup {
            reason: e.to_string(),
        })?;
        self.clients_built.fetch_add(1, Ordering::SeqCst);
        Ok(client)
    }

    /// `GET url` under the rules, following same-origin redirects (each
    /// checked again), reading at most `cap` bytes of a 2xx answer.
    pub async fn fetch(&self, url: &str, accept: &str, cap: usize) -> Result<Vec<u8>, NetError> {
        let total = self.options.total_timeout;
        match tokio::time::timeout(total, self.fetch_within(url, accept, cap)).await {
            Ok(result) => result,
            Err(_) => Err(NetError::TimedOut {
                url: url.to_owned(),
                after: total,
            }),
        }
    }

    async fn fetch_within(&self, url: &str, accept: &str, cap: usize) -> Result<Vec<u8>, NetError> {
        let answer = self.get_following(url, accept).await?;
        let status = answer.response.status();
        if !status.is_success() {
            return Err(NetError::Status {
                url: answer.url.to_string(),
                status: status.as_u16(),
            });
        }
        read_capped(answer, cap, self.options.total_timeout).await
    }

    /// `GET` with redirects handled by hand: same origin only, at most
    /// [`MAX_REDIRECTS`], every hop resolved and checked again.
    async fn get_following(&self, url: &str, accept: &str) -> Result<Answer, NetError> {
        let first = self.parse(url)?;
        let mut current = first.clone();
        let mut hops = 0;
        loop {
            let (target, client) = self.pinned(&current).await?;
            let response = client
                .get(target.url.clone())
                .header(reqwest::header::ACCEPT, accept)
                .send()
                .await
                .map_err(|e| {
                    NetError::from_reqwest(current.as_str(), &e, self.options.total_timeout)
                })?;
            if !response.status().is_redirection() {
                return Ok(Answer {
                    url: current,
                    response,
                });
            }
            let next = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|loc| current.join(loc).ok())
                .ok_or_else(|| NetError::BadRedirect {
                    url: current.to_string(),
                })?;
            if next.origin() != first.origin() {
                return Err(NetError::RedirectElsewhere {
                    from: current.to_string(),
                    to: next.to_string(),
                });
            }
            hops += 1;
            if hops > MAX_REDIRECTS {
                return Err(NetError::TooManyRedirects {
                    url: first.to_string(),
                    max: MAX_REDIRECTS,
                });
            }
            current = next;
        }
    }
}

/// Reads a body as it streams, refusing as soon as it passes `cap` (and
/// before reading when `Content-Length` already says so).
pub(crate) async fn read_capped(
    answer: Answer,
    cap: usize,
    total: Duration,
) -> Result<Vec<u8>, NetError> {
    let Answer { url, mut response } = answer;
    let too_large = || NetError::TooLarge {
        url: url.to_string(),
        cap,
    };
    if response
        .content_length()
        .is_some_and(|len| len > cap as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| NetError::from_reqwest(url.as_str(), &e, total))?
    {
        if body.len() + chunk.len() > cap {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The resolver behind the pinned names: every name not pinned is refused,
/// so nothing is ever resolved twice or behind the rules' back.
struct RefuseEveryName;

impl reqwest::dns::Resolve for RefuseEveryName {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let name = name.as_str().to_owned();
        Box::pin(async move {
            Err(format!("{name} was not resolved and checked first: refused").into())
        })
    }
}

/// rustls needs one crypto provider; the workspace builds ring only.
fn install_ring_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Err means a provider is already installed, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
