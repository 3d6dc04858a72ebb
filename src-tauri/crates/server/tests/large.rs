//! Large resources through the pod API: the real server on loopback,
//! spoken to in plain HTTP/1.1. Bodies over the inline size stream in and
//! out; `Range`, `If-Range` and `HEAD` say what they should; a body over
//! the maximum, one that breaks off and one that stalls store nothing.

#[path = "support/answer.rs"]
mod answer;
mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use custodian_core::data::resource::INLINE_MAX;
use custodian_core::{parse_path, Vault};
use custodian_server::{AllowedHosts, Config, Pod, ServeOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

use answer::{answer_within, pattern, read_answer, Answer};

/// A vault served on a free loopback port, and a token that may read and
/// write `/notes/`.
struct Served {
    addr: SocketAddr,
    vault: Vault,
    token: String,
    _stop: oneshot::Sender<()>,
    _dir: tempfile::TempDir,
}

impl Served {
    async fn start(options: ServeOptions) -> Served {
        Served::start_with_max(options, None).await
    }

    /// The same with the largest content a write accepts lowered to `max`.
    async fn start_with_max(options: ServeOptions, max: Option<u64>) -> Served {
        let dir = tempfile::tempdir().unwrap();
        let vault = support::vault(dir.path());
        let (_, _, token) = support::granted(vault.store(), "/notes/", "Files");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let store = || {
            let mut s = vault.open_store().unwrap();
            if let Some(max) = max {
                s.set_max_content_for_tests(max);
            }
            s
        };
        let mut config = Config::new(AllowedHosts::for_bind(addr, None), options.max_body_bytes);
        config.body_read_timeout = options.body_read_timeout;
        let stores = (0..custodian_server::POOL_SIZE).map(|_| store()).collect();
        let pod = Pod::new(config, stores, store(), store());
        let (stop, _) = support::spawn_pod(pod, listener, options);
        Served {
            addr,
            vault,
            token,
            _stop: stop,
            _dir: dir,
        }
    }

    /// Sends a request's head (Host, token and `Connection: close` added)
    /// and then `body`; returns the connection to read the answer from.
    async fn send(&self, head: &str, body: &[u8]) -> TcpStream {
        let mut s = TcpStream::connect(self.addr).await.unwrap();
        let head = head.replacen(
            "\r\n",
            &format!(
                "\r\nHost: {}\r\nAuthorization: Bearer {}\r\nConnection: close\r\n",
                self.addr, self.token
            ),
            1,
        );
        s.write_all(head.as_bytes()).await.unwrap();
        s.write_all(body).await.unwrap();
        s
    }

    /// One whole exchange: the answer.
    async fn exchange(&self, head: &str, body: &[u8]) -> Answer {
        let mut s = self.send(head, body).await;
        read_answer(&mut s).await.expect("an answer")
    }

    fn stored(&self, path: &str) -> Option<u64> {
        let meta = self.vault.store().live_meta(&parse_path(path).unwrap());
        meta.unwrap().map(|m| m.size)
    }

    /// Waits (bounded) until the log holds an entry for `path`: the server
    /// has decided the request.
    async fn logged(&self, path: &str) -> custodian_core::audit::AuditEntry {
        let started = Instant::now();
        loop {
            let entries = self.vault.store().audit_log(&Default::default()).unwrap();
            if let Some(e) = entries
                .into_iter()
                .find(|e| e.path.as_deref() == Some(path))
            {
                return e;
            }
            assert!(started.elapsed() < Duration::from_secs(20), "never logged");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn put_head(path: &str, len: usize) -> String {
    format!("PUT /pod{path} HTTP/1.1\r\nContent-Type: application/octet-stream\r\nContent-Length: {len}\r\n\r\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_put_comes_back_byte_exact_with_get_and_head() {
    let served = Served::start(ServeOptions::default()).await;
    let content = pattern(3 * INLINE_MAX * 4 + 17);
    let put = served
        .exchange(&put_head("/notes/big", content.len()), &content)
        .await;
    assert_eq!(put.status, 201, "{put:?}");
    let etag = put.header("etag").unwrap().to_string();
    assert_eq!(served.stored("/notes/big"), Some(content.len() as u64));

    let get = served
        .exchange("GET /pod/notes/big HTTP/1.1\r\n\r\n", b"")
        .await;
    assert_eq!(get.status, 200);
    assert_eq!(
        get.header("content-length"),
        Some(&*content.len().to_string())
    );
    assert_eq!(get.header("accept-ranges"), Some("bytes"));
    assert_eq!(get.header("etag"), Some(&*etag));
    assert!(get.body == content, "the content came back changed");

    let head = served
        .exchange("HEAD /pod/notes/big HTTP/1.1\r\n\r\n", b"")
        .await;
    assert_eq!(head.status, 200);
    assert_eq!(
        head.header("content-length"),
        Some(&*content.len().to_string())
    );
    assert_eq!(head.header("accept-ranges"), Some("bytes"));
    assert!(head.body.is_empty());

    // A body of unknown length (chunked) streams in too.
    let mut chunked = Vec::new();
    for piece in content.chunks(100_000) {
        chunked.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        chunked.extend_from_slice(piece);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let post = served
        .exchange(
            "POST /pod/notes/ HTTP/1.1\r\nSlug: chunked\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n",
            &chunked,
        )
        .await;
    assert_eq!(post.status, 201, "{post:?}");
    assert_eq!(post.header("etag"), Some(&*etag), "the same bytes");
    assert_eq!(served.stored("/notes/chunked"), Some(content.len() as u64));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ranges_are_answered_206_or_416_and_if_range_guards_them() {
    let served = Served::start(ServeOptions::default()).await;
    let large = pattern(INLINE_MAX * 5 + 3);
    let small = pattern(1000);
    for (path, content) in [("/notes/large", &large), ("/notes/small", &small)] {
        let put = served
            .exchange(&put_head(path, content.len()), content)
            .await;
        let etag = put.header("etag").unwrap().to_string();
        let size = content.len();
        let get = |range: &str, if_range: Option<&str>| {
            let if_range = if_range.map_or(String::new(), |v| format!("If-Range: {v}\r\n"));
            format!("GET /pod{path} HTTP/1.1\r\nRange: {range}\r\n{if_range}\r\n")
        };

        let middle = served.exchange(&get("bytes=100-899", None), b"").await;
        assert_eq!(middle.status, 206, "{path}");
        assert_eq!(
            middle.header("content-range"),
            Some(&*format!("bytes 100-899/{size}"))
        );
        assert_eq!(middle.header("content-length"), Some("800"));
        assert!(middle.body == content[100..900], "{path}: the wrong bytes");

        let tail = served.exchange(&get("bytes=-10", None), b"").await;
        assert_eq!(tail.status, 206);
        assert!(tail.body == content[size - 10..]);

        let past = served
            .exchange(&get(&format!("bytes={size}-"), None), b"")
            .await;
        assert_eq!(past.status, 416, "{path}");
        assert_eq!(
            past.header("content-range"),
            Some(&*format!("bytes */{size}"))
        );

        let same = served.exchange(&get("bytes=0-9", Some(&etag)), b"").await;
        assert_eq!(same.status, 206);
        assert!(same.body == content[..10]);
        let stale = served
            .exchange(&get("bytes=0-9", Some("\"not-it\"")), b"")
            .await;
        assert_eq!(stale.status, 200, "another version: all of it");
        assert_eq!(stale.body.len(), size);

        let several = served.exchange(&get("bytes=0-1,4-5", None), b"").await;
        assert_eq!(several.status, 200, "several ranges: all of it");
        assert_eq!(several.body.len(), size);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_maximum_is_refused_before_it_is_read() {
    let served = Served::start(ServeOptions::default()).await;
    let over = custodian_core::data::resource::MAX_CONTENT + 1;
    // No byte of the body is sent: the answer comes from the header.
    let mut s = served
        .send(
            &format!("PUT /pod/notes/huge HTTP/1.1\r\nContent-Length: {over}\r\n\r\n"),
            b"",
        )
        .await;
    let answer = answer_within(&mut s, "the pod waited for the body").await;
    assert_eq!(answer.status, 413, "{answer:?}");
    assert_eq!(served.stored("/notes/huge"), None);
    // The company's token was good: the refusal is in the person's log.
    let entry = served.logged("/notes/huge").await;
    assert_eq!(entry.outcome.to_string(), "denied", "{entry:?}");
    assert_eq!(entry.reason.as_deref(), Some("invalid_request"));

    // Outside the grant, the body is not read either: 403 at once.
    let mut s = served
        .send(&put_head("/health/huge", 10 * INLINE_MAX), b"")
        .await;
    let answer = answer_within(
        &mut s,
        "the pod waited for the body of a write its grant refuses",
    )
    .await;
    assert_eq!(answer.status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_breaks_off_midway_stores_nothing() {
    let served = Served::start(ServeOptions::default()).await;
    let content = pattern(4 * INLINE_MAX);
    let mut s = served
        .send(&put_head("/notes/cut", 3 * content.len()), &content)
        .await;
    // The company hangs up after a third of what it announced.
    s.shutdown().await.unwrap();
    drop(s);
    let entry = served.logged("/notes/cut").await;
    assert_eq!(entry.outcome.to_string(), "denied", "{entry:?}");
    assert_eq!(entry.reason.as_deref(), Some("invalid_request"));
    assert_eq!(served.stored("/notes/cut"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_stalls_is_cut_off_with_408_and_stores_nothing() {
    let served = Served::start(ServeOptions {
        body_read_timeout: Duration::from_millis(300),
        ..ServeOptions::default()
    })
    .await;
    let content = pattern(2 * INLINE_MAX);
    let mut s = served
        .send(&put_head("/notes/slow", 2 * content.len()), &content)
        .await;
    // Half sent, then nothing: the answer comes without the rest.
    let answer = answer_within(&mut s, "the pod waited for ever").await;
    assert_eq!(answer.status, 408, "{answer:?}");
    assert_eq!(served.stored("/notes/slow"), None);
    let entry = served.logged("/notes/slow").await;
    assert_eq!(entry.reason.as_deref(), Some("request_timeout"));
}

/// A damaged chunk cuts the transfer: the company gets fewer bytes than
/// `Content-Length` said, every one of them right; a part before the
/// damage still reads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_chunk_cuts_the_transfer_and_never_sends_wrong_bytes() {
    let served = Served::start(ServeOptions::default()).await;
    let content = pattern(4 * (1 << 20) + 5);
    let put = served
        .exchange(&put_head("/notes/scan", content.len()), &content)
        .await;
    assert_eq!(put.status, 201);
    served
        .vault
        .store()
        .execute_for_tests("UPDATE blob_chunks SET data = randomblob(length(data)) WHERE seq = 2")
        .unwrap();
    let got = served
        .exchange("GET /pod/notes/scan HTTP/1.1\r\n\r\n", b"")
        .await;
    assert_eq!(got.status, 200);
    assert_eq!(
        got.header("content-length"),
        Some(&*content.len().to_string())
    );
    assert!(got.body.len() < content.len(), "the transfer was not cut");
    assert!(
        got.body == content[..got.body.len()],
        "wrong bytes were sent"
    );
    let before = served
        .exchange(
            "GET /pod/notes/scan HTTP/1.1\r\nRange: bytes=10-1000\r\n\r\n",
            b"",
        )
        .await;
    assert_eq!(before.status, 206);
    assert!(before.body == content[10..=1000]);
}

/// Companies that hang up mid-transfer give their connections back: more
/// of them than the pod has stream turns and connections, then a whole
/// read still goes through at once.
/// Chunks that are each as written but a whole that is not what the ETag
/// says: a whole read is checked at its end, and its last piece is never
/// sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_read_that_does_not_match_its_etag_is_cut() {
    let served = Served::start(ServeOptions::default()).await;
    let content = pattern(3 * (1 << 20) + 5);
    let put = served
        .exchange(&put_head("/notes/etag", content.len()), &content)
        .await;
    assert_eq!(put.status, 201);
    served
        .vault
        .store()
        .execute_for_tests(
            "UPDATE resource_versions SET etag = '\"00000000000000000000000000000000\"'
             WHERE path = '/notes/etag'",
        )
        .unwrap();
    let got = served
        .exchange("GET /pod/notes/etag HTTP/1.1\r\n\r\n", b"")
        .await;
    assert_eq!(got.status, 200);
    assert!(got.body.len() < content.len(), "the transfer was not cut");
    assert!(got.body == content[..got.body.len()]);
    // A range is checked chunk by chunk only: it still reads.
    let part = served
        .exchange(
            "GET /pod/notes/etag HTTP/1.1\r\nRange: bytes=10-1000\r\n\r\n",
            b"",
        )
        .await;
    assert_eq!(part.status, 206);
    assert_eq!(part.body, content[10..=1000]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_hang_up_mid_transfer_free_their_connections() {
    let served = Served::start(ServeOptions::default()).await;
    let content = pattern(24 << 20);
    let put = served
        .exchange(&put_head("/notes/film", content.len()), &content)
        .await;
    assert_eq!(put.status, 201);
    let started = Instant::now();
    let mut hung_up = 0;
    while hung_up < 2 * custodian_server::POOL_SIZE {
        let mut s = served
            .send("GET /pod/notes/film HTTP/1.1\r\n\r\n", b"")
            .await;
        let mut first = [0u8; 4096];
        let n = s.read(&mut first).await.unwrap();
        drop(s);
        // One company holds two transfers at most: a turn its last hang-up
        // has not given back yet is 429 for a moment.
        if first[..n].starts_with(b"HTTP/1.1 429") {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "never given back"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        }
        assert!(first[..n].starts_with(b"HTTP/1.1 200"));
        hung_up += 1;
    }
    // The last hang-up's turn may still be on its way back: 429 until it is.
    let whole = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let got = served
                .exchange("GET /pod/notes/film HTTP/1.1\r\n\r\n", b"")
                .await;
            if got.status != 429 {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the pod's connections were still held by departed clients");
    assert_eq!(whole.status, 200);
    assert!(whole.body == content);
}

/// A body of unknown length that passes the largest content midway: 413,
/// and nothing stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_body_that_passes_the_maximum_midway_is_413_and_stores_nothing() {
    let max = 3 * INLINE_MAX as u64;
    let served = Served::start_with_max(ServeOptions::default(), Some(max)).await;
    let content = pattern(4 * INLINE_MAX);
    let mut chunked = Vec::new();
    for piece in content.chunks(50_000) {
        chunked.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        chunked.extend_from_slice(piece);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let put = served
        .exchange(
            "PUT /pod/notes/over HTTP/1.1\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n",
            &chunked,
        )
        .await;
    assert_eq!(put.status, 413, "{put:?}");
    assert_eq!(served.stored("/notes/over"), None);
    let entry = served.logged("/notes/over").await;
    assert_eq!(entry.reason.as_deref(), Some("invalid_request"));
    // Just under the maximum still goes in.
    let fits = pattern(max as usize);
    let put = served
        .exchange(&put_head("/notes/fits", fits.len()), &fits)
        .await;
    assert_eq!(put.status, 201);
}
