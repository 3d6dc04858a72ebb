//! The pod API end to end: the real `custodian serve` on a free port, a
//! company played by a third-party OAuth 2.0 client (the `oauth2` crate's
//! device flow), and the person answering through the vault.

use std::time::{Duration, Instant};

use custodian_core::audit::{Action, Method, Outcome};
use custodian_core::sharing::request::Approval;
use custodian_core::{parse_path, Category, NewResource};
use custodian_e2e::company::{contact_and_health, get, http, open, served_vault, Company};
use custodian_e2e::{Server, TestVault};
use oauth2::TokenResponse;
use reqwest::blocking::Response;
use reqwest::header;
use serde_json::{json, Value};

fn error_of(r: Response) -> (u16, String, Option<String>) {
    let status = r.status().as_u16();
    let www = r
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .map(|h| h.to_str().unwrap().to_string());
    let body: Value = r.json().unwrap_or(Value::Null);
    assert!(
        body.get("error_description").is_some(),
        "error bodies carry a description: {body}"
    );
    (
        status,
        body["error"].as_str().unwrap_or_default().to_string(),
        www,
    )
}

/// One GET with the request target sent exactly as given (no client-side
/// normalisation). Returns the status and the body.
fn raw_get(addr: &str, target: &str, token: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(stream, "GET {target} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n").unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    let status = reply
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = reply
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// Approves the pending request with this user code, narrower: only /contact/.
fn approve(v: &TestVault, user_code: &str, approval: Approval) -> String {
    open(v)
        .store()
        .approve_request(user_code, &approval)
        .expect("approve")
        .id
}

/// "Acme Shop" asks for contact and health data for an hour, the person
/// approves as asked, and the company polls its token.
fn granted_company(v: &TestVault, server: &Server) -> (Company, String) {
    let company = Company::new(server, "Acme Shop");
    let auth = company.ask(contact_and_health(), 3600);
    approve(v, auth.user_code().secret(), Approval::default());
    let token = company.access_token(&auth);
    (company, token)
}

#[test]
fn a_company_asks_is_granted_less_reads_inside_and_is_refused_outside() {
    let (v, server) = served_vault();
    let company = Company::new(&server, "Acme Shop");
    let auth = company.ask(contact_and_health(), 86_400);
    let code = auth.user_code().secret().clone();
    assert_eq!(code.len(), 9);

    // The person narrows: contact only, one hour, health not ticked.
    approve(
        &v,
        &code,
        Approval {
            only: vec![parse_path("/contact/").unwrap()],
            lifetime: Some(3600),
            sensitive: vec![],
        },
    );
    let token = company.token(&auth).expect("token after approval");
    let secret = token.access_token().secret().clone();
    assert!(secret.starts_with("cst_"));
    assert!(token.expires_in().unwrap() <= Duration::from_secs(3600));
    let granted = &token.extra_fields().authorization_details;
    assert_eq!(
        granted[0]["paths"],
        json!(["/contact/"]),
        "the token carries the narrower grant"
    );

    // Inside: 200 with an ETag, then 304 when unchanged.
    let r = get(&server, &secret, "/contact/email");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()[header::CONTENT_TYPE], "application/json");
    let etag = r.headers()[header::ETAG].to_str().unwrap().to_string();
    assert_eq!(r.json::<Value>().unwrap()["email"], "ada@example.org");
    let r = http()
        .get(format!("{}/pod/contact/email", server.base))
        .bearer_auth(&secret)
        .header(header::IF_NONE_MATCH, &etag)
        .send()
        .unwrap();
    assert_eq!(r.status(), 304);
    let listing: Value = get(&server, &secret, "/contact/").json().unwrap();
    let members: Vec<&str> = listing["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["path"].as_str().unwrap())
        .collect();
    assert_eq!(members, ["/contact/email", "/contact/phone"]);

    // Outside: 403 insufficient_scope, never the data.
    for path in [
        "/profile/card",
        "/health/allergies",
        "/contactx",
        "/",
        "/finance/bank",
        "/contact",
    ] {
        let (status, error, www) = error_of(get(&server, &secret, path));
        assert_eq!(
            (status, error.as_str()),
            (403, "insufficient_scope"),
            "{path}"
        );
        assert!(www.unwrap().contains("error=\"insufficient_scope\""));
    }
    // Writing needs a write grant.
    let r = http()
        .put(format!("{}/pod/contact/email", server.base))
        .bearer_auth(&secret)
        .body("{}")
        .send()
        .unwrap();
    assert_eq!(error_of(r).0, 403);

    // Every request is in the log, allowed and denied, attributed to the company.
    let log = open(&v).store().audit_log(&Default::default()).unwrap();
    let reads: Vec<_> = log
        .iter()
        .filter(|e| e.client_id.as_deref() == Some(company.id.as_str()) && e.method.is_some())
        .collect();
    assert!(reads
        .iter()
        .any(|e| e.path.as_deref() == Some("/contact/email") && e.outcome == Outcome::Allowed));
    assert!(reads
        .iter()
        .any(|e| e.path.as_deref() == Some("/health/allergies") && e.outcome == Outcome::Denied));
    assert!(open(&v)
        .store()
        .verify_audit_log()
        .unwrap()
        .first_broken
        .is_none());
    assert!(server.stop(), "clean shutdown on SIGTERM");
}

#[test]
fn revocation_and_expiry_take_effect_on_the_next_request() {
    let (v, server) = served_vault();
    let company = Company::new(&server, "Acme Shop");
    let auth = company.ask(contact_and_health(), 3600);
    let grant = approve(&v, auth.user_code().secret(), Approval::default());
    let token = company.access_token(&auth);
    assert_eq!(get(&server, &token, "/contact/email").status(), 200);
    open(&v).store().revoke_grant(&grant).unwrap();
    let (status, error, www) = error_of(get(&server, &token, "/contact/email"));
    assert_eq!((status, error.as_str()), (401, "invalid_token"));
    assert!(www
        .unwrap()
        .starts_with("Bearer realm=\"custodian\", error=\"invalid_token\""));

    // A two-second grant: readable before its end, and refused by the very
    // first request after it (the pod has the read in memory by then).
    let auth = company.ask(contact_and_health(), 3600);
    let grant = approve(
        &v,
        auth.user_code().secret(),
        Approval {
            lifetime: Some(2),
            ..Default::default()
        },
    );
    let token = company.access_token(&auth);
    let end = open(&v).store().grant(&grant).unwrap().expires_at;
    for _ in 0..3 {
        assert_eq!(get(&server, &token, "/contact/email").status(), 200);
    }
    assert!(
        chrono::Utc::now() < end,
        "the reads above were answered before the grant's end"
    );
    wait_until_expired(&v, &[&grant]);
    let (status, error, _) = error_of(get(&server, &token, "/contact/email"));
    assert_eq!((status, error.as_str()), (401, "invalid_token"));
}

#[test]
fn deny_pending_slow_down_and_single_use_device_codes() {
    let (v, server) = served_vault();
    let company = Company::new(&server, "Acme Shop");
    let auth = company.ask(contact_and_health(), 3600);
    let poll = |device_code: &str| -> (u16, String) {
        let r = http()
            .post(format!("{}/oauth/token", server.base))
            .form(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("device_code", device_code),
                ("client_id", &company.id),
            ])
            .send()
            .unwrap();
        let status = r.status().as_u16();
        (
            status,
            r.json::<Value>().unwrap()["error"]
                .as_str()
                .unwrap_or("")
                .to_string(),
        )
    };
    let device_code = auth.device_code().secret().clone();
    assert_eq!(poll(&device_code), (400, "authorization_pending".into()));
    assert_eq!(
        poll(&device_code),
        (400, "slow_down".into()),
        "polling faster than interval"
    );
    open(&v)
        .store()
        .deny_request(auth.user_code().secret())
        .unwrap();
    assert_eq!(company.token(&auth).unwrap_err(), "access_denied");

    let auth = company.ask(contact_and_health(), 3600);
    approve(&v, auth.user_code().secret(), Approval::default());
    company.token(&auth).expect("token");
    assert_eq!(
        poll(auth.device_code().secret()),
        (400, "invalid_grant".into()),
        "a device code is spent once used"
    );
    assert_eq!(poll("csd_not-a-real-code"), (400, "invalid_grant".into()));
}

#[test]
fn sensitive_categories_need_the_persons_tick() {
    let (v, server) = served_vault();
    let company = Company::new(&server, "Clinic");
    let auth = company.ask(contact_and_health(), 3600);
    approve(
        &v,
        auth.user_code().secret(),
        Approval {
            sensitive: vec![Category::Health],
            ..Default::default()
        },
    );
    let token = company.access_token(&auth);
    assert_eq!(get(&server, &token, "/health/allergies").status(), 200);

    let broad = json!([{"type": "pod_access", "paths": ["/"], "actions": ["read"], "purpose": "Everything"}]);
    let auth = company.ask(broad, 3600);
    approve(&v, auth.user_code().secret(), Approval::default());
    let token = company.access_token(&auth);
    assert_eq!(get(&server, &token, "/profile/card").status(), 200);
    for sensitive in ["/health/allergies", "/finance/bank"] {
        assert_eq!(
            error_of(get(&server, &token, sensitive)).0,
            403,
            "{sensitive} under a broad grant"
        );
    }
    let root: Value = get(&server, &token, "/").json().unwrap();
    let listed: Vec<&str> = root["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["path"].as_str().unwrap())
        .collect();
    assert!(
        listed.contains(&"/contact/") && listed.contains(&"/profile/"),
        "{listed:?}"
    );
}

#[test]
fn writes_append_and_history_under_a_grant() {
    let (v, server) = served_vault();
    let company = Company::new(&server, "Notes App");
    let details = json!([
        {"type": "pod_access", "paths": ["/notes/"], "actions": ["read", "write"], "purpose": "Syncing your notes"},
        {"type": "pod_access", "paths": ["/purchases/"], "actions": ["append"], "purpose": "Adding your receipts"}
    ]);
    let auth = company.ask(details, 3600);
    approve(&v, auth.user_code().secret(), Approval::default());
    let token = company.access_token(&auth);
    let put = |path: &str, body: &str| {
        http()
            .put(format!("{}/pod{path}", server.base))
            .bearer_auth(&token)
            .header(header::CONTENT_TYPE, "application/json")
            .body(body.to_string())
            .send()
            .unwrap()
    };
    assert_eq!(put("/notes/a", "{\"v\": 1}").status(), 201);
    assert_eq!(put("/notes/a", "{\"v\": 2}").status(), 204);
    assert_eq!(put("/notes/b", "{not json").status(), 400);
    let r = http()
        .post(format!("{}/pod/purchases/", server.base))
        .bearer_auth(&token)
        .header(header::CONTENT_TYPE, "application/json")
        .header("Slug", "order-1")
        .body("{\"total\": 10}")
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()[header::LOCATION], "/pod/purchases/order-1");
    let r = http()
        .post(format!("{}/pod/purchases/", server.base))
        .bearer_auth(&token)
        .header("Slug", "order-1")
        .body("{}")
        .send()
        .unwrap();
    assert_eq!(r.status(), 409, "append never overwrites");
    assert_eq!(
        put("/purchases/order-1", "{}").status(),
        403,
        "append is not write"
    );
    assert_eq!(
        get(&server, &token, "/purchases/order-1").status(),
        403,
        "append is not read"
    );
    let r = http()
        .delete(format!("{}/pod/notes/a", server.base))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(r.status(), 204);

    let vault = open(&v);
    let history = vault
        .store()
        .history(&parse_path("/notes/a").unwrap())
        .unwrap();
    assert_eq!(history.len(), 3, "two versions and the deletion are kept");
    assert!(history.iter().all(
        |h| serde_json::to_value(&h.author).unwrap() == json!(format!("client:{}", company.id))
    ));
}

#[test]
fn hostile_requests_are_refused() {
    let (v, server) = served_vault();
    let (company, token) = granted_company(&v, &server);

    // Traversal and encoding tricks: refused by the one normalizer, with its rule.
    // (Sent as raw bytes: an HTTP client library would resolve `%2e%2e`
    // itself, before the server ever saw it.)
    for raw in [
        "/pod/contact/%2e%2e/finance/bank",
        "/pod/contact/%2E%2E/finance/bank",
        "/pod/contact/../finance/bank",
        "/pod/contact/./email",
        "/pod/contact%2Femail",
        "/pod/contact/..%2Ffinance",
        "/pod/contact/%2e%2e%2ffinance%2fbank",
        "/pod/contact//email",
        "/pod/contact/%00",
        "/pod/contact/%zz",
    ] {
        let (status, body) = raw_get(&server.addr, raw, &token);
        assert_eq!(status, 400, "{raw}: {body}");
        assert!(
            body.contains("\"error\":\"invalid_request\"") && !body.contains("ada@example.org"),
            "{raw}: {body}"
        );
    }
    // The same path the client library resolved is simply outside the grant.
    assert_eq!(
        error_of(get(&server, &token, "/contact/%2e%2e/finance/bank")).0,
        403
    );
    // Prefix confusion: /contactx is not under /contact/.
    assert_eq!(error_of(get(&server, &token, "/contactx")).0, 403);

    // DNS rebinding: only the pod's own names, at its own port.
    let port = server.addr.rsplit(':').next().unwrap().to_string();
    let other_port = format!("127.0.0.1:{}", port.parse::<u16>().unwrap().wrapping_add(1));
    for host in [
        "evil.com",
        &format!("localhost.evil.com:{port}"),
        &format!("127.0.0.1.nip.io:{port}"),
        &other_port,
        "localhost",
    ] {
        let r = http()
            .get(format!("{}/pod/contact/email", server.base))
            .bearer_auth(&token)
            .header(header::HOST, host)
            .send()
            .unwrap();
        assert_eq!(r.status(), 421, "Host {host}");
    }
    let r = http()
        .get(format!("{}/pod/contact/email", server.base))
        .bearer_auth(&token)
        .header(header::HOST, format!("localhost:{port}"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200, "the pod's own name works");
    // Foreign origins and preflights: no CORS at all.
    let r = http()
        .get(format!("{}/pod/contact/email", server.base))
        .bearer_auth(&token)
        .header(header::ORIGIN, "https://evil.com")
        .send()
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r
        .headers()
        .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
        .is_none());
    let r = http()
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/pod/contact/email", server.base),
        )
        .header("Access-Control-Request-Private-Network", "true")
        .send()
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r
        .headers()
        .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
        .is_none());

    // Tokens only in the Authorization header.
    let r = http()
        .get(format!(
            "{}/pod/contact/email?access_token={token}",
            server.base
        ))
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
    // Unknown, mistyped, truncated, missing tokens: 401.
    let mut typo = token.clone().into_bytes();
    typo[10] = if typo[10] == b'a' { b'b' } else { b'a' };
    for bad in [
        String::from_utf8(typo).unwrap(),
        token[..30].to_string(),
        "cst_".to_string() + &"a".repeat(59),
    ] {
        let (status, error, _) = error_of(get(&server, &bad, "/contact/email"));
        assert_eq!((status, error.as_str()), (401, "invalid_token"));
    }
    let r = http()
        .get(format!("{}/pod/contact/email", server.base))
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.headers()[header::WWW_AUTHENTICATE],
        "Bearer realm=\"custodian\""
    );

    // Oversized bodies: a clear JSON 413.
    let big = "x".repeat(10_000);
    let r = http()
        .post(format!("{}/oauth/register", server.base))
        .header(header::CONTENT_TYPE, "application/json")
        .body(big)
        .send()
        .unwrap();
    let (status, _, _) = error_of(r);
    assert_eq!(status, 413);

    // Flooding: a bounded number of pending requests per client.
    let flooder = Company::new(&server, "Flooder");
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let r = http()
            .post(format!("{}/oauth/device_authorization", server.base))
            .form(&[
                ("client_id", flooder.id.as_str()),
                ("authorization_details", &contact_and_health().to_string()),
                ("grant_lifetime", "3600"),
            ])
            .send()
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429, 429, 429]);
    // ...and the person's own company is not slowed down by the flood.
    assert_eq!(get(&server, &token, "/contact/email").status(), 200);

    // Guessing tokens: after a minute's worth of unknown tokens the guesser
    // is slowed down, while a real token still works.
    let mut guesses = 0;
    let throttled = loop {
        guesses += 1;
        let guess = format!("cst_{:059}", guesses);
        let status = get(&server, &guess, "/contact/email").status().as_u16();
        if status != 401 || guesses > 100 {
            break status;
        }
    };
    assert_eq!(throttled, 429, "guessing is throttled");
    assert!(guesses > 50, "not before the limit ({guesses} guesses)");
    assert_eq!(get(&server, &token, "/contact/email").status(), 200);

    // Bad asks are refused with RFC 9396's error.
    let r = http()
        .post(format!("{}/oauth/device_authorization", server.base))
        .form(&[
            ("client_id", company.id.as_str()),
            (
                "authorization_details",
                r#"[{"type":"pod_access","paths":["/x"],"actions":["read"]}]"#,
            ),
            ("grant_lifetime", "3600"),
        ])
        .send()
        .unwrap();
    assert_eq!(error_of(r).1, "invalid_authorization_details");
}

#[test]
fn revocation_and_introspection_endpoints() {
    let (v, server) = served_vault();
    let (company, token) = granted_company(&v, &server);
    let introspect = |t: &str| -> Value {
        http()
            .post(format!("{}/oauth/introspect", server.base))
            .form(&[("token", t)])
            .send()
            .unwrap()
            .json()
            .unwrap()
    };
    let active = introspect(&token);
    assert_eq!(active["active"], true);
    assert_eq!(active["client_id"], company.id);
    assert!(active["authorization_details"].is_array());
    let r = http()
        .post(format!("{}/oauth/revoke", server.base))
        .form(&[
            ("token", token.as_str()),
            ("client_id", company.id.as_str()),
        ])
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(introspect(&token), json!({"active": false}));
    assert_eq!(get(&server, &token, "/contact/email").status(), 401);
    let metadata: Value = http()
        .get(format!(
            "{}/.well-known/oauth-authorization-server",
            server.base
        ))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        metadata["authorization_details_types_supported"],
        json!(["pod_access"])
    );
    assert_eq!(
        metadata["device_authorization_endpoint"],
        format!("{}/oauth/device_authorization", server.base)
    );
}

#[test]
fn many_clients_at_once_while_grants_are_revoked_get_no_wrong_answer() {
    let (v, server) = served_vault();
    // Each company: a valid token, a token to be revoked mid-run, an expired one.
    struct Holder {
        token: String,
        grant: String,
        kind: &'static str,
    }
    let mut holders = Vec::new();
    for i in 0..6 {
        let company = Company::new(&server, &format!("Company {i}"));
        for kind in ["valid", "revoke-midway", "expired"] {
            let auth = company.ask(contact_and_health(), 3600);
            let lifetime = if kind == "expired" { Some(1) } else { None };
            let grant = approve(
                &v,
                auth.user_code().secret(),
                Approval {
                    lifetime,
                    ..Default::default()
                },
            );
            let token = company.access_token(&auth);
            holders.push(Holder { token, grant, kind });
        }
    }
    // The one-second grants have run out before the storm.
    let expired: Vec<&str> = holders
        .iter()
        .filter(|h| h.kind == "expired")
        .map(|h| h.grant.as_str())
        .collect();
    wait_until_expired(&v, &expired);
    // Every client makes 40 requests. The mid-way grants are revoked once
    // every client has made 10 (requests go on meanwhile), and every client
    // makes its last 10 only after the revocation has committed.
    const REQUESTS: usize = 40;
    const REVOKE_AFTER: usize = 10;
    const AFTER_REVOCATION: usize = 10;
    let started = std::sync::Barrier::new(holders.len() + 1);
    let revoked = std::sync::Barrier::new(holders.len() + 1);
    let revoked_at = std::sync::Mutex::new(None::<Instant>);
    let wrong = std::sync::atomic::AtomicUsize::new(0);
    let allowed = std::sync::atomic::AtomicUsize::new(0);
    let refused_after_revocation = std::sync::atomic::AtomicUsize::new(0);
    use std::sync::atomic::Ordering::SeqCst;
    std::thread::scope(|scope| {
        for h in &holders {
            let (started, revoked, revoked_at, wrong, allowed, refused_after_revocation, base) = (
                &started,
                &revoked,
                &revoked_at,
                &wrong,
                &allowed,
                &refused_after_revocation,
                &server.base,
            );
            scope.spawn(move || {
                let client = http();
                for n in 0..REQUESTS {
                    if n == REVOKE_AFTER {
                        started.wait();
                    }
                    if n == REQUESTS - AFTER_REVOCATION {
                        revoked.wait();
                    }
                    let sent_at = Instant::now();
                    let path = if n % 5 == 0 {
                        "/profile/card"
                    } else {
                        "/contact/email"
                    };
                    let status = client
                        .get(format!("{base}/pod{path}"))
                        .bearer_auth(&h.token)
                        .send()
                        .unwrap()
                        .status()
                        .as_u16();
                    let revoked_before = revoked_at.lock().unwrap().is_some_and(|t| t < sent_at);
                    // A stale token is answered 401, and 429 once it has
                    // been refused ten times in the minute.
                    let ok = match (h.kind, path) {
                        (_, _) if status >= 500 => false,
                        ("expired", _) => status == 401 || status == 429,
                        ("valid", "/profile/card") => status == 403,
                        ("valid", _) => status == 200,
                        ("revoke-midway", _) if revoked_before => status == 401 || status == 429,
                        // Sent while the revocation may be committing:
                        // either answer, and 429 once refused ten times.
                        ("revoke-midway", "/profile/card") => {
                            matches!(status, 403 | 401 | 429)
                        }
                        ("revoke-midway", _) => matches!(status, 200 | 401 | 429),
                        _ => false,
                    };
                    if !ok {
                        eprintln!("wrong answer: {} {path} -> {status} (request {n})", h.kind);
                        wrong.fetch_add(1, SeqCst);
                    }
                    if status == 200 {
                        allowed.fetch_add(1, SeqCst);
                    }
                    if h.kind == "revoke-midway" && revoked_before {
                        refused_after_revocation.fetch_add(1, SeqCst);
                    }
                }
            });
        }
        // Revoke the mid-way grants while the storm runs.
        let vault = open(&v);
        started.wait();
        for h in holders.iter().filter(|h| h.kind == "revoke-midway") {
            vault.store().revoke_grant(&h.grant).unwrap();
        }
        *revoked_at.lock().unwrap() = Some(Instant::now());
        revoked.wait();
    });
    assert_eq!(wrong.load(SeqCst), 0);
    assert!(
        refused_after_revocation.load(SeqCst) >= 6 * AFTER_REVOCATION,
        "requests were sent after the revocation committed"
    );
    let report = open(&v).store().verify_audit_log().unwrap();
    assert!(report.first_broken.is_none());
    assert!(server.stop());
    let log = open(&v).store().audit_log(&Default::default()).unwrap();
    let summarised: u64 = log
        .iter()
        .filter(|e| e.action == Action::Refusals)
        .map(|e| {
            let reason = e.reason.as_deref().unwrap();
            let n = reason.split(' ').nth(1).unwrap();
            n.parse::<u64>().unwrap()
        })
        .sum();
    let reads = |outcome: &str| {
        log.iter()
            .filter(|e| e.method == Some(Method::Get) && e.outcome.as_str() == outcome)
            .count() as u64
    };
    // Every answered request is logged once: each 200 as an allowed read,
    // each refusal on its own or, past the first few a minute per token,
    // in a summary entry written when the server stopped.
    let allowed = allowed.load(SeqCst) as u64;
    assert_eq!(reads("allowed"), allowed, "one entry per 200");
    assert_eq!(
        reads("denied") + summarised,
        (holders.len() * REQUESTS) as u64 - allowed,
        "one entry or one summarised count per refusal"
    );
}

/// Waits until these grants' end has passed by the system clock (which the
/// server reads too), known from the vault: no guessed delay.
fn wait_until_expired(v: &TestVault, grants: &[&str]) {
    let vault = open(v);
    let end = grants
        .iter()
        .map(|id| vault.store().grant(id).unwrap().expires_at)
        .max()
        .expect("a grant");
    let left = end - chrono::Utc::now();
    if let Ok(left) = left.to_std() {
        std::thread::sleep(left + Duration::from_millis(1));
    }
    assert!(chrono::Utc::now() > end);
}

#[test]
fn clients_hanging_up_mid_request_do_not_break_the_pod() {
    use std::io::Write;
    let (v, server) = served_vault();
    let (_company, token) = granted_company(&v, &server);
    // Tokens not used yet: their first read is not in the pod's memory.
    let fresh: Vec<String> = (0..4).map(|_| granted_company(&v, &server).1).collect();
    // Many connections send a request and close at once, while it waits for
    // a database connection: each must go back to the pool. A listing is
    // never answered from memory, so each of them takes a pooled connection.
    for _ in 0..5 {
        let streams: Vec<_> = (0..40)
            .map(|_| {
                let mut s = std::net::TcpStream::connect(&server.addr).unwrap();
                write!(
                    s,
                    "GET /pod/contact/ HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\r\n",
                    server.addr
                )
                .unwrap();
                s
            })
            .collect();
        drop(streams);
    }
    // Then more requests than the pool has connections, at once, each of
    // which needs one: listings, writes (refused by the read-only grant,
    // after the database has checked the token) and a fresh token's first
    // read. A lost connection shows as a 500.
    let requests = 4 * custodian_server::POOL_SIZE;
    let go = std::sync::Barrier::new(requests);
    let statuses: Vec<(usize, u16)> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..requests)
            .map(|i| {
                let (go, token, fresh, base) = (&go, &token, &fresh, &server.base);
                scope.spawn(move || {
                    let client = http();
                    let pod = format!("{base}/pod");
                    let request = match i % 3 {
                        0 => client.get(format!("{pod}/contact/")).bearer_auth(token),
                        1 => client
                            .put(format!("{pod}/contact/email"))
                            .bearer_auth(token)
                            .header(header::CONTENT_TYPE, "application/json")
                            .body("{}"),
                        _ => client
                            .get(format!("{pod}/contact/email"))
                            .bearer_auth(&fresh[i % fresh.len()]),
                    };
                    go.wait();
                    (i % 3, request.send().unwrap().status().as_u16())
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    for (kind, status) in statuses {
        let expected = if kind == 1 { 403 } else { 200 };
        assert_eq!(status, expected, "request kind {kind}");
    }
    assert!(server.stop());
}

#[test]
fn a_change_made_by_another_process_is_seen_by_the_next_read() {
    // The pod answers repeated reads from memory; a change made by the CLI
    // (another process) must still show on the very next request, and every
    // read is logged exactly once, however it was answered.
    let (v, server) = served_vault();
    let (_company, token) = granted_company(&v, &server);
    let body = |r: Response| -> (u16, Option<String>, Value) {
        let status = r.status().as_u16();
        let etag = r
            .headers()
            .get(header::ETAG)
            .map(|e| e.to_str().unwrap().to_string());
        (status, etag, r.json().unwrap_or(Value::Null))
    };
    let first = body(get(&server, &token, "/contact/email"));
    let second = body(get(&server, &token, "/contact/email"));
    assert_eq!(first.0, 200);
    assert_eq!(first, second);

    v.ok(&[
        "put",
        "/contact/email",
        "--json",
        r#"{"email":"ada@new.example.org"}"#,
    ]);
    let third = body(get(&server, &token, "/contact/email"));
    assert_eq!(third.0, 200);
    assert_eq!(third.2, json!({"email": "ada@new.example.org"}));
    assert_ne!(third.1, first.1, "a new version has a new ETag");

    v.ok(&["rm", "/contact/email"]);
    assert_eq!(get(&server, &token, "/contact/email").status(), 404);

    let log: Value =
        serde_json::from_str(&v.ok(&["log", "--client", "Acme Shop", "--json"])).unwrap();
    let reads = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["path"] == "/contact/email" && e["method"] == "GET")
        .count();
    assert_eq!(reads, 4, "one entry per read: {log:#}");
}

/// Absence reveals nothing: outside what a grant reaches, every method is
/// answered the same (status, headers, body) whether or not something is
/// stored there; inside a granted path, a resource the grant does not
/// reach (here, one marked sensitive) is answered like nothing at all.
#[test]
fn an_answer_never_tells_what_is_stored_outside_the_grant() {
    let (v, server) = served_vault();
    {
        let vault = open(&v);
        let passport = custodian_core::NewResource {
            mark: custodian_core::Mark::Sensitive,
            ..custodian_core::NewResource::json(&json!("P123"))
        };
        let s = vault.store();
        s.put(&parse_path("/notes/passport").unwrap(), passport)
            .unwrap();
        s.put(
            &parse_path("/notes/taken").unwrap(),
            custodian_core::NewResource::json(&json!(1)),
        )
        .unwrap();
        let scan = custodian_core::NewResource {
            mark: custodian_core::Mark::Sensitive,
            ..custodian_core::NewResource::json(&json!("x-ray"))
        };
        s.put(&parse_path("/notes/medical/scan").unwrap(), scan)
            .unwrap();
    }
    let company = Company::new(&server, "Notes App");
    let details = json!([
        {"type": "pod_access", "paths": ["/notes/"], "actions": ["read", "write"], "purpose": "Syncing your notes"}
    ]);
    let auth = company.ask(details, 3600);
    approve(&v, auth.user_code().secret(), Approval::default());
    let token = company.access_token(&auth);

    // Whole answers, minus the per-request Date.
    let answer = |method: reqwest::Method, path: &str, slug: Option<&str>| {
        let mut r = http()
            .request(method, format!("{}/pod{path}", server.base))
            .bearer_auth(&token)
            .header(header::CONTENT_TYPE, "application/json")
            .body("{}");
        if let Some(s) = slug {
            r = r.header("Slug", s);
        }
        let r = r.send().unwrap();
        // The path itself is named in error texts: blank it out (the
        // paths compared have names of the same length).
        let name = path
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or_default();
        let blank = |t: &str| {
            if name.is_empty() {
                t.to_string()
            } else {
                t.replace(name, "X")
            }
        };
        let mut headers: Vec<(String, String)> = r
            .headers()
            .iter()
            .filter(|(k, _)| *k != header::DATE)
            .map(|(k, v)| (k.to_string(), blank(v.to_str().unwrap())))
            .collect();
        headers.sort();
        (r.status().as_u16(), headers, blank(&r.text().unwrap()))
    };
    use reqwest::Method as M;
    // Outside the grant: /contact/email and /finance/bank exist, the others not.
    for (there, absent) in [
        ("/contact/email", "/contact/zzzzz"),
        ("/finance/bank", "/finance/zzzz"),
    ] {
        for method in [M::GET, M::PUT, M::POST, M::DELETE] {
            let a = answer(method.clone(), there, None);
            let b = answer(method.clone(), absent, None);
            assert_eq!(a.0, 403, "{method} {there}: {a:?}");
            assert_eq!(a, b, "{method} {there} vs {absent}");
        }
    }
    // POST with a Slug into a container outside the grant.
    let taken = answer(M::POST, "/contact/", Some("email"));
    let free = answer(M::POST, "/contact/", Some("zzzzz"));
    assert_eq!(taken.0, 403, "{taken:?}");
    assert_eq!(taken, free);
    // Inside the grant, a name that is taken is a conflict (POST only creates).
    assert_eq!(answer(M::POST, "/notes/", Some("taken")).0, 409);

    // Inside the granted path: the sensitive passport reads like nothing.
    let passport = answer(M::GET, "/notes/passport", None);
    let nothing = answer(M::GET, "/notes/zzzzzzzz", None);
    assert_eq!(passport.0, 404, "{passport:?}");
    assert_eq!(passport, nothing);
    // Listings: a folder holding only what the grant cannot read is not
    // listed, and reads exactly like an empty one.
    let listing = answer(M::GET, "/notes/", None);
    assert_eq!(listing.0, 200, "{listing:?}");
    assert!(
        listing.2.contains("/X/taken")
            && !listing.2.contains("medical")
            && !listing.2.contains("passport"),
        "{listing:?}"
    );
    let hidden = answer(M::GET, "/notes/medical/", None);
    let empty = answer(M::GET, "/notes/zzzzzzz/", None);
    assert_eq!(hidden.0, 404, "{hidden:?}");
    assert_eq!(hidden, empty);

    let del = answer(M::DELETE, "/notes/passport", None);
    assert_eq!(del.0, 404, "{del:?}");
    // The person's log keeps the real reason.
    let log = open(&v).store().audit_log(&Default::default()).unwrap();
    assert!(
        log.iter()
            .any(|e| e.path.as_deref() == Some("/notes/passport")
                && e.reason.as_deref() == Some("sensitive_not_granted")),
        "{log:?}"
    );
    assert!(server.stop());
}

/// `serve --header-timeout` reaches the server: a connection that sends
/// nothing is closed after it, long before the default 10 s.
#[test]
fn serve_flags_set_the_connection_limits() {
    use std::io::Read;
    let v = TestVault::new();
    let server = Server::start(&v, &["--header-timeout", "200ms"]);
    let mut idle = std::net::TcpStream::connect(&server.addr).unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 64];
    let n = idle
        .read(&mut buf)
        .expect("closed by the server, not timed out here");
    assert_eq!(n, 0, "the server closed the silent connection");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(server.stop());
}

#[test]
fn a_large_container_is_listed_a_page_at_a_time_through_link_headers() {
    let (v, server) = served_vault();
    {
        let vault = open(&v);
        let s = vault.store();
        let items = (0..25)
            .map(|i| format!("/contact/book/p{i:02}"))
            .chain([
                "/contact/book/sub/a".to_string(),
                "/contact/book/sub/b".into(),
            ])
            .map(|p| (parse_path(&p).unwrap(), NewResource::json(&json!(1))));
        s.put_batched(items, 100).unwrap();
        // Only what the grant may read: a sensitive one in its own
        // sub-container never shows, nor costs a page.
        let hidden = NewResource {
            mark: custodian_core::Mark::Sensitive,
            ..NewResource::json(&json!("x"))
        };
        s.put(&parse_path("/contact/book/secret/a").unwrap(), hidden)
            .unwrap();
    }
    let (_company, token) = granted_company(&v, &server);

    // A container that fits one page: the answer as it always was.
    let small = get(&server, &token, "/contact/");
    assert_eq!(small.status(), 200);
    assert!(small.headers().get("link").is_none());

    let mut next = Some(format!("{}/pod/contact/book/?limit=10", server.base));
    let mut seen = Vec::new();
    let mut pages = 0;
    while let Some(url) = next.take() {
        let r = http().get(&url).bearer_auth(&token).send().unwrap();
        assert_eq!(r.status(), 200, "{url}");
        pages += 1;
        next = r.headers().get("link").map(|l| {
            let l = l.to_str().unwrap();
            assert!(l.ends_with(">; rel=\"next\""), "{l}");
            format!("{}{}", server.base, &l[1..l.find('>').unwrap()])
        });
        let body: Value = r.json().unwrap();
        assert_eq!(body["path"], "/contact/book/");
        let members = body["members"].as_array().unwrap();
        assert!(members.len() <= 10);
        seen.extend(
            members
                .iter()
                .map(|m| m["path"].as_str().unwrap().to_string()),
        );
    }
    let mut want: Vec<String> = (0..25).map(|i| format!("/contact/book/p{i:02}")).collect();
    want.push("/contact/book/sub/".into());
    assert_eq!(seen, want);
    assert_eq!(pages, 3);

    for bad in ["?limit=x", "?after=/health/allergies", "?limit=1&limit=2"] {
        let r = http()
            .get(format!("{}/pod/contact/book/{bad}", server.base))
            .bearer_auth(&token)
            .send()
            .unwrap();
        assert_eq!(error_of(r).0, 400, "{bad}");
    }
}
