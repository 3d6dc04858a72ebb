//! The network rules against real local HTTPS servers: names mapped to
//! 127.0.0.1 by the test resolver, certificates from a test CA made here.

mod support;

use std::time::Duration;

use custodian_link::guard::AddressKind;
use custodian_link::resolve::parse_test_resolve;
use custodian_link::{AddressRules, Net, NetError, Options, PostOutcome};
use support::{serve, Reply, TestCa};

const JSON: &str = "application/json";

fn net(ca: &TestCa, map: &str) -> Net {
    net_with(ca, map, |_| {})
}

fn net_with(ca: &TestCa, map: &str, tweak: impl FnOnce(&mut Options)) -> Net {
    let mut options = Options {
        rules: AddressRules {
            allow_http_loopback: false,
            test_resolve: parse_test_resolve(map).unwrap(),
            trust_test_loopback: true,
        },
        extra_roots_pem: vec![ca.pem.clone()],
        ..Options::default()
    };
    tweak(&mut options);
    Net::new(options).unwrap()
}

#[tokio::test]
async fn fetches_a_document_from_a_mapped_name_with_the_test_ca() {
    let ca = TestCa::new();
    let shop = serve(Some(ca.server_config(&["shop.test"])), |_| {
        Reply::ok(r#"{"ok":true}"#)
    })
    .await;
    let net = net(&ca, "shop.test=127.0.0.1");
    let url = format!("https://shop.test:{}/client.json", shop.port);
    let body = net.fetch(&url, JSON, 1024).await.unwrap();
    assert_eq!(body, br#"{"ok":true}"#);
    let seen = shop.seen();
    assert_eq!(seen[0].path, "/client.json");
    assert_eq!(seen[0].header("accept"), Some(JSON));
}

#[tokio::test]
async fn a_certificate_from_an_unknown_authority_is_refused() {
    let ca = TestCa::new();
    let other = TestCa::new();
    let shop = serve(Some(ca.server_config(&["shop.test"])), |_| Reply::ok("x")).await;
    let net = net(&other, "shop.test=127.0.0.1");
    let err = net
        .fetch(&format!("https://shop.test:{}/", shop.port), JSON, 1024)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("certificate"), "{err}");
}

#[tokio::test]
async fn answers_over_the_cap_are_refused_with_or_without_a_length() {
    let ca = TestCa::new();
    let shop = serve(Some(ca.server_config(&["shop.test"])), |seen| {
        let reply = Reply::ok(vec![b'a'; 2048]);
        if seen.path == "/streamed" {
            Reply {
                no_length: true,
                ..reply
            }
        } else {
            reply
        }
    })
    .await;
    let net = net(&ca, "shop.test=127.0.0.1");
    for path in ["/declared", "/streamed"] {
        let url = format!("https://shop.test:{}{path}", shop.port);
        let err = net.fetch(&url, JSON, 1024).await.unwrap_err();
        assert!(
            matches!(err, NetError::TooLarge { cap: 1024, .. }),
            "{path}: {err}"
        );
        assert!(err.to_string().contains("larger than 1024 bytes"));
        // Under the cap the same answer is read whole.
        assert_eq!(net.fetch(&url, JSON, 4096).await.unwrap().len(), 2048);
    }
}

#[tokio::test]
async fn a_slow_body_hits_the_total_time_out() {
    let ca = TestCa::new();
    let shop = serve(Some(ca.server_config(&["shop.test"])), |_| Reply {
        drip: Some(Duration::from_millis(200)),
        ..Reply::ok(vec![b'a'; 100])
    })
    .await;
    let net = net_with(&ca, "shop.test=127.0.0.1", |o| {
        o.total_timeout = Duration::from_millis(700)
    });
    let err = net
        .fetch(&format!("https://shop.test:{}/", shop.port), JSON, 1024)
        .await
        .unwrap_err();
    assert!(matches!(err, NetError::TimedOut { .. }), "{err}");
    assert!(err.to_string().contains("timed out"));
}

#[tokio::test]
async fn same_origin_redirects_are_followed_up_to_three() {
    let ca = TestCa::new();
    let shop = serve(Some(ca.server_config(&["shop.test"])), |seen| {
        match seen.path.as_str() {
            "/a" => Reply::redirect("/b"),
            "/b" => Reply::ok("landed"),
            "/loop" => Reply::redirect("/loop"),
            _ => Reply::status(404),
        }
    })
    .await;
    let net = net(&ca, "shop.test=127.0.0.1");
    let base = format!("https://shop.test:{}", shop.port);
    assert_eq!(
        net.fetch(&format!("{base}/a"), JSON, 64).await.unwrap(),
        b"landed"
    );
    let err = net
        .fetch(&format!("{base}/loop"), JSON, 64)
        .await
        .unwrap_err();
    assert!(
        matches!(err, NetError::TooManyRedirects { max: 3, .. }),
        "{err}"
    );
    let loops = shop.seen().iter().filter(|s| s.path == "/loop").count();
    assert_eq!(loops, 4, "the first request and three redirects");
    let err = net
        .fetch(&format!("{base}/missing"), JSON, 64)
        .await
        .unwrap_err();
    assert!(matches!(err, NetError::Status { status: 404, .. }), "{err}");
}

#[tokio::test]
async fn a_redirect_to_another_origin_is_refused_without_contacting_it() {
    let ca = TestCa::new();
    let other = serve(Some(ca.server_config(&["other.test"])), |_| Reply::ok("no")).await;
    let to = format!("https://other.test:{}/x", other.port);
    let shop = serve(Some(ca.server_config(&["shop.test"])), move |_| {
        Reply::redirect(&to)
    })
    .await;
    let net = net(&ca, "shop.test=127.0.0.1,other.test=127.0.0.1");
    let err = net
        .fetch(&format!("https://shop.test:{}/", shop.port), JSON, 64)
        .await
        .unwrap_err();
    assert!(matches!(err, NetError::RedirectElsewhere { .. }), "{err}");
    assert!(err.to_string().contains("another origin"));
    assert_eq!(other.accepts(), 0);
    // Another port on the same host is another origin too.
    let shop2 = serve(Some(ca.server_config(&["shop.test"])), move |_| {
        Reply::redirect("https://shop.test:1/x")
    })
    .await;
    let err = net
        .fetch(&format!("https://shop.test:{}/", shop2.port), JSON, 64)
        .await
        .unwrap_err();
    assert!(matches!(err, NetError::RedirectElsewhere { .. }), "{err}");
}

#[tokio::test]
async fn a_redirect_to_a_private_address_is_refused_before_connecting() {
    let ca = TestCa::new();
    let shop = serve(Some(ca.server_config(&["shop.test"])), |_| {
        Reply::redirect("https://10.1.2.3/latest/meta-data")
    })
    .await;
    let net = net(&ca, "shop.test=127.0.0.1");
    let err = net
        .fetch(&format!("https://shop.test:{}/", shop.port), JSON, 64)
        .await
        .unwrap_err();
    assert!(matches!(err, NetError::RedirectElsewhere { .. }), "{err}");
    assert_eq!(net.clients_built(), 1, "only the first hop was connected");
}

#[tokio::test]
async fn names_mapped_to_private_addresses_are_refused_before_any_connection() {
    let ca = TestCa::new();
    // A listener that would see a connection if one were made to loopback.
    let trap = serve(Some(ca.server_config(&["trap.test"])), |_| Reply::ok("no")).await;
    let cases = [
        ("ten.test", "10.1.2.3", AddressKind::Private),
        ("home.test", "192.168.0.1", AddressKind::Private),
        ("meta.test", "169.254.169.254", AddressKind::LinkLocal),
        ("ula.test", "fc00::1", AddressKind::Private),
        ("trap.test", "::ffff:127.0.0.1", AddressKind::Loopback),
    ];
    let map = cases
        .iter()
        .map(|(n, a, _)| format!("{n}={a}"))
        .collect::<Vec<_>>()
        .join(",");
    let net = net(&ca, &map);
    for (name, addr, kind) in cases {
        let url = format!("https://{name}:{}/", trap.port);
        let err = net.fetch(&url, JSON, 64).await.unwrap_err();
        match &err {
            NetError::RefusedAddress {
                kind: k, addr: a, ..
            } => {
                assert_eq!(*k, kind, "{name}");
                assert_eq!(a.to_string(), addr, "{name}");
            }
            other => panic!("{name}: {other}"),
        }
        assert!(err.to_string().contains(kind.describe()), "{err}");
        let outcome = net.post_jwt(&url, "x.y.z").await;
        assert!(matches!(outcome, PostOutcome::Failed { .. }), "{name}");
    }
    assert_eq!(net.clients_built(), 0, "no client was built");
    assert_eq!(trap.accepts(), 0, "no connection reached the listener");
}

#[tokio::test]
async fn loopback_is_refused_unless_the_test_switch_trusts_it() {
    let ca = TestCa::new();
    let shop = serve(Some(ca.server_config(&["shop.test"])), |_| Reply::ok("x")).await;
    let net = net_with(&ca, "shop.test=127.0.0.1", |o| {
        o.rules.trust_test_loopback = false
    });
    let err = net
        .fetch(&format!("https://shop.test:{}/", shop.port), JSON, 64)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            NetError::RefusedAddress {
                kind: AddressKind::Loopback,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(shop.accepts(), 0);
}

#[tokio::test]
async fn plain_http_is_refused_unless_the_unsafe_switch_and_loopback() {
    let ca = TestCa::new();
    let plain = serve(None, |_| Reply::ok("plain")).await;
    let url = format!("http://127.0.0.1:{}/", plain.port);
    let strict = net(&ca, "");
    let err = strict.fetch(&url, JSON, 64).await.unwrap_err();
    assert!(matches!(err, NetError::NotHttps { .. }), "{err}");
    assert!(err.to_string().contains("only https is fetched"));
    assert_eq!(plain.accepts(), 0);

    let dev = net_with(&ca, "far.test=10.0.0.7", |o| {
        o.rules.allow_http_loopback = true
    });
    assert_eq!(dev.fetch(&url, JSON, 64).await.unwrap(), b"plain");
    let err = dev.fetch("http://far.test/", JSON, 64).await.unwrap_err();
    assert!(matches!(err, NetError::HttpNotLoopback { .. }), "{err}");
    assert_eq!(dev.clients_built(), 1);
}

#[tokio::test]
async fn deliveries_read_the_companys_answer() {
    let ca = TestCa::new();
    let shop = serve(Some(ca.server_config(&["shop.test"])), |seen| {
        match seen.path.as_str() {
            "/ok" => Reply::status(204),
            "/busy" => Reply::status(503).header("Retry-After", "7"),
            "/limit" => Reply::status(429),
            "/bad" => Reply::status(400).body("bad signature\n"),
            "/moved" => Reply::redirect("/ok"),
            _ => Reply::status(404),
        }
    })
    .await;
    let net = net(&ca, "shop.test=127.0.0.1");
    let base = format!("https://shop.test:{}", shop.port);
    assert_eq!(
        net.post_jwt(&format!("{base}/ok"), "a.b.c").await,
        PostOutcome::Delivered { status: 204 }
    );
    let seen = &shop.seen()[0];
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.header("content-type"), Some("application/jwt"));
    assert_eq!(seen.body, b"a.b.c");
    match net.post_jwt(&format!("{base}/busy"), "a.b.c").await {
        PostOutcome::Retry { retry_after, .. } => {
            assert_eq!(retry_after, Some(Duration::from_secs(7)))
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        net.post_jwt(&format!("{base}/limit"), "a.b.c").await,
        PostOutcome::Retry {
            retry_after: None,
            ..
        }
    ));
    assert_eq!(
        net.post_jwt(&format!("{base}/bad"), "a.b.c").await,
        PostOutcome::Failed {
            reason: "the company answered HTTP 400: bad signature".into()
        }
    );
    assert!(matches!(
        net.post_jwt(&format!("{base}/moved"), "a.b.c").await,
        PostOutcome::Failed { .. }
    ));
    assert_eq!(
        shop.seen().iter().filter(|s| s.path == "/ok").count(),
        1,
        "the redirect was not followed"
    );
}

#[tokio::test]
async fn a_company_that_is_down_or_slow_is_retried() {
    let ca = TestCa::new();
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let net = net(&ca, "shop.test=127.0.0.1");
    match net
        .post_jwt(&format!("https://shop.test:{port}/in"), "a.b.c")
        .await
    {
        PostOutcome::Retry { reason, .. } => assert!(reason.contains("connect"), "{reason}"),
        other => panic!("{other:?}"),
    }
    let slow = serve(Some(ca.server_config(&["shop.test"])), |_| Reply {
        delay: Some(Duration::from_secs(5)),
        ..Reply::status(204)
    })
    .await;
    let net = net_with(&ca, "shop.test=127.0.0.1", |o| {
        o.total_timeout = Duration::from_millis(600)
    });
    match net
        .post_jwt(&format!("https://shop.test:{}/in", slow.port), "a.b.c")
        .await
    {
        PostOutcome::Retry { reason, .. } => assert!(reason.contains("timed out"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_logo_is_shown_only_as_an_image_under_the_cap() {
    let ca = TestCa::new();
    let shop = serve(Some(ca.server_config(&["shop.test"])), |seen| {
        match seen.path.as_str() {
            "/logo.png" => Reply::ok(b"\x89PNG\r\n\x1a\nrest".to_vec()),
            "/logo.html" => Reply::ok("<html><script>alert(1)</script></html>"),
            _ => Reply::ok(vec![b'G'; 70 * 1024]),
        }
    })
    .await;
    let net = net(&ca, "shop.test=127.0.0.1");
    let base = format!("https://shop.test:{}", shop.port);
    let shown = custodian_link::logo_data_url(&net, &format!("{base}/logo.png")).await;
    assert_eq!(
        shown.as_deref(),
        Some("data:image/png;base64,iVBORw0KGgpyZXN0")
    );
    assert_eq!(
        custodian_link::logo_data_url(&net, &format!("{base}/logo.html")).await,
        None
    );
    assert_eq!(
        custodian_link::logo_data_url(&net, &format!("{base}/huge.gif")).await,
        None
    );
    assert_eq!(
        custodian_link::logo_data_url(&net, "https://10.0.0.1/logo.png").await,
        None
    );
}
