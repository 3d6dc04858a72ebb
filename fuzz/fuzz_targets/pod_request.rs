//! The HTTP request path of the pod: method, path, headers and body as a
//! stranger or a company can send them, through the real router (host
//! check, token, the core's path normalizer, scope, store, access log), with
//! a valid token on some inputs. Any answer is fine but a panic or a 5xx.
#![no_main]

use std::cell::RefCell;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Method, Request};
use custodian_core::sharing::client::ClientRegistration;
use custodian_core::sharing::request::{Approval, Poll};
use custodian_core::sharing::scope;
use custodian_core::{ExposeSecret, SecretString, Vault};
use custodian_server::{pod_for, router, Pod, ServeOptions};
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;

struct World {
    _dir: tempfile::TempDir,
    _vault: Vault,
    pod: Arc<Pod>,
    runtime: tokio::runtime::Runtime,
    token: String,
}

const BIND: &str = "127.0.0.1:7878";

fn world() -> World {
    let dir = tempfile::tempdir_in("/dev/shm")
        .or_else(|_| tempfile::tempdir())
        .expect("temp dir");
    let vault = Vault::create_with_work_factor(
        &dir.path().join("v"),
        &SecretString::from("correct horse battery".to_string()),
        4,
    )
    .expect("vault")
    .vault;
    let store = vault.store();
    for (path, doc) in [
        ("/contact/email", "\"ada@example.org\""),
        ("/health/allergies", "[\"peanuts\"]"),
        ("/fuzz/a", "{\"a\": 1}"),
    ] {
        store
            .put(
                &custodian_core::parse_path(path).expect("path"),
                custodian_core::NewResource {
                    content: doc.as_bytes().to_vec(),
                    content_type: "application/json".into(),
                    category: None,
                    mark_sensitive: false,
                },
            )
            .expect("put");
    }
    let client = store
        .register_client(&ClientRegistration {
            client_name: "Fuzz Co".into(),
            client_uri: None,
            contacts: vec![],
        })
        .expect("client")
        .id;
    let details = scope::parse_requested(
        r#"[{"type": "pod_access", "paths": ["/fuzz/", "/contact/"], "actions": ["read", "append", "write"], "purpose": "Fuzzing"}]"#,
    )
    .expect("details");
    let auth = store.request_access(&client, details, 86_400).expect("ask");
    store
        .approve_request(&auth.request.id, &Approval::default())
        .expect("approve");
    let token = match store
        .poll_device_code(&client, auth.device_code.expose_secret())
        .expect("poll")
    {
        Poll::Issued { access_token, .. } => access_token.expose_secret().to_string(),
        _ => panic!("no token after approval"),
    };
    let bind: SocketAddr = BIND.parse().expect("bind");
    let pod = pod_for(&vault, &ServeOptions::default(), bind).expect("pod");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    World {
        _dir: dir,
        _vault: vault,
        pod,
        runtime,
        token,
    }
}

thread_local! {
    static WORLD: RefCell<Option<World>> = const { RefCell::new(None) };
}

const METHODS: [&str; 8] = [
    "GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS", "PATCH", "get",
];

fuzz_target!(|data: &[u8]| {
    // [method][flags][peer][path length][path…][header value length][value…][body…]
    if data.len() < 4 {
        return;
    }
    let (method, flags, peer, path_len) = (data[0], data[1], data[2], data[3] as usize);
    let rest = &data[4..];
    let (path, rest) = rest.split_at(path_len.min(rest.len()));
    let (value_len, rest) = match rest.split_first() {
        Some((&n, rest)) => (n as usize, rest),
        None => (0, rest),
    };
    let (value, body) = rest.split_at(value_len.min(rest.len()));
    let Ok(method) = Method::from_bytes(METHODS[method as usize % METHODS.len()].as_bytes()) else {
        return;
    };
    // Only what could arrive on the wire: hyper refuses a request line whose
    // target is not a URI before any of our code runs.
    let mut target = b"/pod".to_vec();
    target.extend_from_slice(path);
    let Ok(uri) = axum::http::Uri::try_from(target) else {
        return;
    };
    WORLD.with(|w| {
        let mut w = w.borrow_mut();
        let w = w.get_or_insert_with(world);
        let mut request = Request::builder().method(method).uri(uri).header(
            header::HOST,
            if flags & 0x80 == 0 {
                BIND
            } else {
                "evil.example"
            },
        );
        match flags & 3 {
            1 => request = request.header(header::AUTHORIZATION, format!("Bearer {}", w.token)),
            2 => {
                if let Ok(v) = header::HeaderValue::from_bytes(value) {
                    request = request.header(header::AUTHORIZATION, v);
                }
            }
            _ => {}
        }
        if flags & 4 != 0 {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        if flags & 8 != 0 {
            if let Ok(v) = header::HeaderValue::from_bytes(value) {
                request = request.header("slug", v);
            }
        }
        if flags & 16 != 0 {
            if let Ok(v) = header::HeaderValue::from_bytes(value) {
                request = request.header(header::IF_MATCH, v);
            }
        }
        if flags & 32 != 0 {
            if let Ok(v) = header::HeaderValue::from_bytes(value) {
                request = request.header(header::CONTENT_TYPE, v);
            }
        }
        let Ok(mut request) = request.body(Body::from(body.to_vec())) else {
            return;
        };
        // A different peer now and then, so the failed-token limiter does
        // not answer every bad token with 429 after the first sixty.
        let peer = SocketAddr::from(([10, 0, peer >> 4, peer & 15], 40_000));
        request.extensions_mut().insert(ConnectInfo(peer));
        let app = router(w.pod.clone());
        let (status, text) = w.runtime.block_on(async move {
            let response = app.oneshot(request).await.expect("infallible");
            let status = response.status();
            let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .expect("a whole answer");
            (status, String::from_utf8_lossy(&bytes).into_owned())
        });
        if std::env::var_os("CUSTODIAN_FUZZ_TRACE").is_some() {
            // To see what a corpus reaches: `CUSTODIAN_FUZZ_TRACE=1 … -runs=0`.
            eprintln!("{status} {}", text.chars().take(80).collect::<String>());
        }
        assert!(!status.is_server_error(), "{status}: {text}");
    });
});
