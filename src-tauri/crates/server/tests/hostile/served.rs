//! The hostile company's pod: a vault served on loopback with lowered
//! limits, the companies that speak to it, and what the tests read back.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use custodian_core::data::resource::{Mark, NewResource, OCTET_STREAM};
use custodian_core::limits::transfer::TransferLimits;
use custodian_core::{parse_path, Vault};
use custodian_server::{AllowedHosts, Config, Pod, ServeOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

use crate::answer::{read_answer, Answer};
use crate::support;

/// How the test pod is set up.
#[derive(Default)]
pub struct Setup {
    pub transfers: TransferLimits,
    /// The rows a listing page examines, lowered.
    pub examine_max: Option<usize>,
    /// The connections' write time-out, lowered.
    pub write_timeout: Option<Duration>,
    /// The body time-out, lowered.
    pub body_read_timeout: Option<Duration>,
}

/// A vault served on a free loopback port, and three companies' tokens
/// (Acme's, Globex's and Initech's), each allowed to read and write
/// `/notes/`.
pub struct Served {
    pub addr: SocketAddr,
    pub vault: Vault,
    pub acme: String,
    pub globex: String,
    pub initech: String,
    _stop: oneshot::Sender<()>,
    _dir: tempfile::TempDir,
}

impl Served {
    pub async fn start(setup: Setup) -> Served {
        let dir = tempfile::tempdir().unwrap();
        let vault = support::vault(dir.path());
        let (_, _, acme) = support::granted(vault.store(), "/notes/", "Files");
        let (_, _, globex) = support::granted(vault.store(), "/notes/", "Files");
        let (_, _, initech) = support::granted(vault.store(), "/notes/", "Files");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let store = || {
            let mut s = vault.open_store().unwrap();
            if let Some(max) = setup.examine_max {
                s.set_examine_max_for_tests(max);
            }
            s
        };
        let mut options = ServeOptions::default();
        if let Some(limit) = setup.write_timeout {
            options.write_timeout = limit;
        }

        let mut config = Config::new(AllowedHosts::for_bind(addr, None), options.max_body_bytes);
        config.transfers = setup.transfers;
        if let Some(limit) = setup.body_read_timeout {
            config.body_read_timeout = limit;
        }
        let stores = (0..custodian_server::POOL_SIZE).map(|_| store()).collect();
        let pod = Pod::new(config, stores, store(), store());
        let (stop, _) = support::spawn_pod(pod, listener, options);
        Served {
            addr,
            vault,
            acme,
            globex,
            initech,
            _stop: stop,
            _dir: dir,
        }
    }

    /// Sends a request's head (Host, `token` and `Connection: close`
    /// added) and then `body`; returns the connection.
    pub async fn send(&self, token: &str, head: &str, body: &[u8]) -> TcpStream {
        let mut s = TcpStream::connect(self.addr).await.unwrap();
        let head = head.replacen(
            "\r\n",
            &format!(
                "\r\nHost: {}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n",
                self.addr
            ),
            1,
        );
        s.write_all(head.as_bytes()).await.unwrap();
        s.write_all(body).await.unwrap();
        s
    }

    pub async fn exchange(&self, token: &str, head: &str) -> Answer {
        let mut s = self.send(token, head, b"").await;
        read_answer(&mut s).await.expect("an answer")
    }

    /// `content` stored at `path` by the person.
    pub fn put(&self, path: &str, content: Vec<u8>, mark: Mark) {
        let new = NewResource {
            content,
            content_type: OCTET_STREAM.into(),
            category: None,
            mark,
        };
        self.vault
            .store()
            .put(&parse_path(path).unwrap(), new)
            .unwrap();
    }

    pub fn stored(&self, path: &str) -> Option<u64> {
        let meta = self.vault.store().live_meta(&parse_path(path).unwrap());
        meta.unwrap().map(|m| m.size)
    }

    /// The log's entries for `path`, waited for (bounded) until there are
    /// `n`: the server has decided the requests.
    pub async fn logged(&self, path: &str, n: usize) -> Vec<custodian_core::audit::AuditEntry> {
        let started = Instant::now();
        loop {
            let entries: Vec<_> = self
                .vault
                .store()
                .audit_log(&Default::default())
                .unwrap()
                .into_iter()
                .filter(|e| e.path.as_deref() == Some(path))
                .collect();
            if entries.len() >= n {
                return entries;
            }
            assert!(started.elapsed() < Duration::from_secs(20), "never logged");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Reads a download's head (the status line at least) and leaves the body
/// waiting in the connection.
pub async fn started_download(s: &mut TcpStream) -> Vec<u8> {
    let mut first = vec![0u8; 4096];
    let n = s.read(&mut first).await.unwrap();
    first.truncate(n);
    first
}

/// A floor lowered so that tests see it act in well under a second.
pub fn quick_floor() -> TransferLimits {
    TransferLimits {
        min_rate: 256 * 1024,
        window: Duration::from_millis(200),
        grace: Duration::from_millis(200),
        ..TransferLimits::default()
    }
}
