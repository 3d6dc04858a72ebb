//! A stranger cannot exhaust the pod: the real server on loopback, held,
//! flooded and stopped by hand-written requests. Every count and wait here
//! is bounded; the time-outs are shortened through `ServeOptions`.

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use custodian_core::sharing::client::ClientRegistration;
use custodian_core::Vault;
use custodian_server::ServeOptions;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::oneshot;

/// A vault served on a free loopback port.
struct Served {
    addr: SocketAddr,
    vault: Vault,
    stop: Option<oneshot::Sender<()>>,
    done: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    _dir: tempfile::TempDir,
}

impl Served {
    async fn start(options: ServeOptions) -> Served {
        let dir = tempfile::tempdir().unwrap();
        let vault = support::vault(dir.path());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let pod = custodian_server::pod_for(&vault, &options, addr).unwrap();
        let (stop, done) = support::spawn_pod(pod, listener, options);
        Served {
            addr,
            vault,
            stop: Some(stop),
            done: Some(done),
            _dir: dir,
        }
    }

    /// Asks the server to stop; true when it stopped within `within`.
    async fn stop_within(&mut self, within: Duration) -> bool {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(within, self.done.take().unwrap())
            .await
            .is_ok()
    }

    fn log_entries(&self) -> u64 {
        self.vault.store().verify_audit_log().unwrap().entries
    }

    /// A company with a grant on `/contact/`: client id, grant id, token.
    fn granted(&self) -> (String, String, String) {
        support::granted(self.vault.store(), "/contact/", "Deliveries")
    }
}

/// A connection to `to` from the loopback address `from` (127.0.0.0/8).
async fn connect_from(from: [u8; 4], to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((from, 0))).unwrap();
    socket.connect(to).await.unwrap()
}

/// Sends `request` (the Host header is added) and reads the answer's
/// status; `None` when the server closed the connection without one.
async fn exchange(stream: &mut TcpStream, addr: SocketAddr, request: &str) -> Option<u16> {
    let request = request.replacen("\r\n", &format!("\r\nHost: {addr}\r\n"), 1);
    stream.write_all(request.as_bytes()).await.ok()?;
    status_of(stream).await
}

async fn status_of(stream: &mut TcpStream) -> Option<u16> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n") {
        match stream.read(&mut byte).await {
            Ok(1) => head.push(byte[0]),
            _ => return None,
        }
    }
    let line = String::from_utf8_lossy(&head);
    line.split(' ').nth(1)?.parse().ok()
}

/// One whole request on a new connection from `from`: the status.
async fn request_from(from: [u8; 4], addr: SocketAddr, request: &str) -> Option<u16> {
    answer_from(from, addr, request)
        .await
        .map(|(status, _)| status)
}

/// One whole request on a new connection from `from`: the status and the
/// whole answer, read until the server closes.
async fn answer_from(from: [u8; 4], addr: SocketAddr, request: &str) -> Option<(u16, String)> {
    let mut s = connect_from(from, addr).await;
    let request = request.replacen(
        "\r\n",
        &format!("\r\nHost: {addr}\r\nConnection: close\r\n"),
        1,
    );
    s.write_all(request.as_bytes()).await.ok()?;
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).await.ok()?;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text.split(' ').nth(1)?.parse().ok()?;
    Some((status, text))
}

/// True when the server closes `stream` within `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 256];
    let read = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(within, read).await.is_ok()
}

// Point 6: connections.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_sent_request_is_closed_after_the_header_time_out() {
    let served = Served::start(ServeOptions {
        header_read_timeout: Duration::from_millis(300),
        ..ServeOptions::default()
    })
    .await;
    let mut held = connect_from([127, 0, 0, 1], served.addr).await;
    held.write_all(b"GET /pod/contact/email HTTP/1.1\r\nHost: 127")
        .await
        .unwrap();
    assert!(
        closed_within(&mut held, Duration::from_secs(5)).await,
        "the half-sent request still holds its connection"
    );
    // A kept-alive connection that sends nothing more is closed too.
    let mut idle = connect_from([127, 0, 0, 1], served.addr).await;
    let status = exchange(
        &mut idle,
        served.addr,
        "GET /.well-known/oauth-authorization-server HTTP/1.1\r\n\r\n",
    )
    .await;
    assert_eq!(status, Some(200));
    assert!(closed_within(&mut idle, Duration::from_secs(5)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_cap_wait_and_are_served_once_idle_ones_time_out() {
    let timeout = Duration::from_millis(800);
    let served = Served::start(ServeOptions {
        header_read_timeout: timeout,
        max_connections: 4,
        ..ServeOptions::default()
    })
    .await;
    // Three times the cap: they are served four at a time, in the order
    // they came, each closed after the header time-out.
    let mut idle = Vec::new();
    for _ in 0..12 {
        idle.push(connect_from([127, 0, 0, 1], served.addr).await);
    }
    let started = Instant::now();
    let status = tokio::time::timeout(
        Duration::from_secs(10),
        request_from(
            [127, 0, 0, 1],
            served.addr,
            "GET /.well-known/oauth-authorization-server HTTP/1.1\r\n\r\n",
        ),
    )
    .await
    .expect("the real request starved");
    let waited = started.elapsed();
    assert_eq!(status, Some(200));
    // At most 4 connections are served at once: the real request waited
    // for the idle ones to be closed, and not for ever.
    assert!(waited >= timeout / 2, "served at once: no cap ({waited:?})");
    assert!(waited < Duration::from_secs(8), "{waited:?}");
}

/// Idle connections holding most slots for their whole time-out: the last
/// slots, taken while the pod is busy, turn over quickly, and a real
/// request is served long before the idle ones time out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_pod_gives_new_connections_less_time_to_speak() {
    let served = Served::start(ServeOptions {
        header_read_timeout: Duration::from_secs(20),
        busy_header_read_timeout: Duration::from_millis(200),
        max_connections: 8,
        ..ServeOptions::default()
    })
    .await;
    let mut idle = Vec::new();
    for _ in 0..20 {
        idle.push(connect_from([127, 0, 0, 1], served.addr).await);
    }
    let started = Instant::now();
    let status = tokio::time::timeout(
        Duration::from_secs(15),
        request_from(
            [127, 0, 0, 1],
            served.addr,
            "GET /.well-known/oauth-authorization-server HTTP/1.1\r\n\r\n",
        ),
    )
    .await
    .expect("the real request waited for the idle connections' whole time-out");
    assert_eq!(status, Some(200));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_does_not_arrive_in_time_is_refused() {
    let served = Served::start(ServeOptions {
        body_read_timeout: Duration::from_millis(300),
        ..ServeOptions::default()
    })
    .await;
    let mut s = connect_from([127, 0, 0, 1], served.addr).await;
    let status = tokio::time::timeout(
        Duration::from_secs(5),
        exchange(
            &mut s,
            served.addr,
            "POST /oauth/register HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"client",
        ),
    )
    .await
    .expect("the pod waits for the body for ever");
    assert_eq!(status, Some(408));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_is_checked_before_the_body_is_read() {
    let served = Served::start(ServeOptions::default()).await;
    let mut s = connect_from([127, 0, 0, 1], served.addr).await;
    let bad = format!("cst_{:059}", 7);
    let status = tokio::time::timeout(
        Duration::from_secs(5),
        exchange(
            &mut s,
            served.addr,
            &format!("PUT /pod/contact/email HTTP/1.1\r\nAuthorization: Bearer {bad}\r\nContent-Length: 1000000\r\n\r\n"),
        ),
    )
    .await
    .expect("the pod waited for the body of a request with a bad token");
    assert_eq!(status, Some(401));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_does_not_wait_for_ever_on_held_connections() {
    let mut served = Served::start(ServeOptions {
        header_read_timeout: Duration::from_secs(60),
        body_read_timeout: Duration::from_secs(60),
        shutdown_grace: Duration::from_millis(300),
        ..ServeOptions::default()
    })
    .await;
    let mut half_header = connect_from([127, 0, 0, 1], served.addr).await;
    half_header
        .write_all(b"GET /pod/ HTTP/1.1\r\n")
        .await
        .unwrap();
    let mut half_body = connect_from([127, 0, 0, 1], served.addr).await;
    let head = format!(
        "POST /oauth/register HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{",
        served.addr
    );
    half_body.write_all(head.as_bytes()).await.unwrap();
    // The body's first byte is in: its handler is running.
    tokio::task::yield_now().await;
    assert!(
        served.stop_within(Duration::from_secs(5)).await,
        "shutdown waited on the held connections"
    );
}

// Point 4: registrations and device requests, per peer.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registrations_and_device_requests_are_limited_per_peer() {
    let served = Served::start(ServeOptions::default()).await;
    let register = |n: u8| {
        let body = format!("{{\"client_name\": \"Flood {n}\"}}");
        format!(
            "POST /oauth/register HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    let mut statuses = Vec::new();
    // Every loopback address is the same machine.
    for n in 0..30u8 {
        statuses.push(request_from([127, 0, 0, n + 1], served.addr, &register(n)).await);
    }
    let created = statuses.iter().filter(|s| **s == Some(201)).count();
    assert_eq!(
        created,
        custodian_core::limits::rate::REGISTRATIONS_PER_MINUTE as usize,
        "{statuses:?}"
    );
    assert_eq!(statuses.last(), Some(&Some(429)));

    // Fifteen companies may hold five pending requests each: 75 asks, of
    // which one machine may make 60 a minute.
    let store = served.vault.store();
    let clients: Vec<String> = (0..15)
        .map(|n| {
            store
                .register_client(&ClientRegistration {
                    client_name: format!("Asker {n}"),
                    ..Default::default()
                })
                .unwrap()
                .id
        })
        .collect();
    let details = "%5B%7B%22type%22%3A%22pod_access%22%2C%22paths%22%3A%5B%22%2Fcontact%2F%22%5D%2C%22actions%22%3A%5B%22read%22%5D%2C%22purpose%22%3A%22p%22%7D%5D";
    let ask = |client: &str| {
        let body =
            format!("client_id={client}&authorization_details={details}&grant_lifetime=3600");
        format!(
            "POST /oauth/device_authorization HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    let mut answers = Vec::new();
    for n in 0..75usize {
        let from = [127, 1, 0, n as u8 + 1];
        answers.push(
            answer_from(from, served.addr, &ask(&clients[n % 15]))
                .await
                .unwrap(),
        );
    }
    let asked = answers.iter().filter(|(s, _)| *s == 200).count();
    assert_eq!(
        asked,
        custodian_core::limits::rate::DEVICE_REQUESTS_PER_MINUTE as usize
    );
    let (status, text) = answers.last().unwrap();
    assert_eq!(*status, 429);
    assert!(text.contains("from your address"), "{text}");
    assert!(text.contains("retry-after: 60"), "{text}");
}

// Point 5: refused tokens.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_a_revoked_token_costs_the_log_a_few_entries_and_a_summary() {
    let mut served = Served::start(ServeOptions::default()).await;
    let (client, grant, token) = served.granted();
    served.vault.store().revoke_grant(&grant).unwrap();
    let before = served.log_entries();
    let get = format!("GET /pod/contact/email HTTP/1.1\r\nAuthorization: Bearer {token}\r\n\r\n");
    let mut statuses = Vec::new();
    for n in 0..200u32 {
        let from = [127, 0, (n / 250) as u8, (n % 250) as u8 + 1];
        statuses.push(request_from(from, served.addr, &get).await);
    }
    assert_eq!(statuses[0], Some(401));
    assert!(statuses.iter().all(|s| matches!(s, Some(401 | 429))));
    assert_eq!(
        statuses.last(),
        Some(&Some(429)),
        "the stale token is slowed down"
    );
    assert!(served.stop_within(Duration::from_secs(10)).await);

    let store = served.vault.store();
    let added = store.verify_audit_log().unwrap().entries - before;
    // 270 bytes a request before: 200 entries. Now the first few, and one
    // summary that counts the rest.
    assert!(added <= 7, "{added} log entries for 200 refusals");
    let log = store
        .audit_log(&custodian_core::audit::LogFilter {
            client_id: Some(client),
            ..Default::default()
        })
        .unwrap();
    let summary = log
        .iter()
        .find(|e| e.action == custodian_core::audit::Action::Refusals)
        .expect("a summary entry");
    assert!(
        summary
            .reason
            .as_deref()
            .unwrap()
            .contains("195 more requests"),
        "{summary:?}"
    );
    assert_eq!(store.verify_audit_log().unwrap().first_broken, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guesses_from_many_loopback_addresses_are_one_peer_and_a_real_token_still_works() {
    let served = Served::start(ServeOptions::default()).await;
    let (_, _, token) = served.granted();
    let get = |t: &str| format!("GET /pod/contact/ HTTP/1.1\r\nAuthorization: Bearer {t}\r\n\r\n");
    let mut first_429 = None;
    for n in 0..100u32 {
        let guess = format!("cst_{n:059}");
        let from = [127, 3, 0, n as u8 + 1];
        let status = request_from(from, served.addr, &get(&guess)).await;
        if status == Some(429) {
            first_429 = Some(n);
            break;
        }
        assert_eq!(status, Some(401));
    }
    assert_eq!(
        first_429,
        Some(custodian_core::limits::refusals::PER_PEER_PER_MINUTE),
        "every 127.0.0.0/8 address counted apart"
    );
    let status = request_from([127, 3, 0, 7], served.addr, &get(&token)).await;
    // The vault holds nothing under /contact/ yet: 404, neither 401 nor 429.
    assert_eq!(status, Some(404), "a valid token is never slowed down");
}
