//! Consent receipts end to end: a company played by the `oauth2` crate gets
//! the signed receipt of each decision (the token response, a denial's
//! error body, the receipts endpoint with its token, also once its grant
//! was revoked or ran out) and checks it as any company would: with
//! `jwt-simple`, a JOSE library that is not the one the pod signs or
//! verifies with, and only the key found through the metadata's `jwks_uri`.
//! The person lists, shows, exports and verifies receipts with the real
//! CLI, which names what fails in a changed receipt or another pod's.

use std::collections::HashSet;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use custodian_core::sharing::request::Approval;
use custodian_e2e::company::{contact_and_health, get, http, open, served_vault, Company};
use custodian_e2e::{run_fail, Server, TestVault};
use jwt_simple::prelude::{Ed25519PublicKey, EdDSAPublicKeyLike, VerificationOptions};
use reqwest::header;
use serde_json::{json, Value};

/// The receipt's JWS `typ`.
const TYP: &str = "consent-receipt+jwt";

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// What a company learns of the pod's key: the metadata names `jwks_uri`,
/// which holds one Ed25519 JWK. Returns its `kid` and the key.
fn pod_key(base: &str) -> (String, Ed25519PublicKey) {
    let meta: Value = http()
        .get(format!("{base}/.well-known/oauth-authorization-server"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(meta["consent_receipt_types_supported"], json!([TYP]));
    assert_eq!(meta["consent_receipt_response_member"], "consent_receipt");
    assert_eq!(
        meta["consent_receipts_endpoint"],
        format!("{base}/oauth/receipts")
    );
    let uri = meta["jwks_uri"].as_str().expect("jwks_uri in the metadata");
    let r = http().get(uri).send().unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()[header::CONTENT_TYPE],
        "application/jwk-set+json"
    );
    assert!(r.headers()[header::CACHE_CONTROL]
        .to_str()
        .unwrap()
        .contains("max-age"));
    let set: Value = r.json().unwrap();
    // Behind the same Host check as every route.
    let foreign = http()
        .get(uri)
        .header(header::HOST, "evil.example")
        .send()
        .unwrap();
    assert_eq!(foreign.status(), 421);
    let keys = set["keys"].as_array().expect("a JWK Set");
    assert_eq!(keys.len(), 1, "{set}");
    let k = &keys[0];
    assert_eq!(
        (&k["kty"], &k["crv"], &k["alg"], &k["use"]),
        (
            &json!("OKP"),
            &json!("Ed25519"),
            &json!("EdDSA"),
            &json!("sig")
        )
    );
    assert!(k.get("d").is_none(), "never the private key: {k}");
    let x = B64URL.decode(k["x"].as_str().unwrap()).unwrap();
    let kid = k["kid"].as_str().unwrap().to_string();
    let key = Ed25519PublicKey::from_bytes(&x).unwrap().with_key_id(&kid);
    (kid, key)
}

/// Checks a receipt as a company would, with jwt-simple and the JWKS key
/// alone: its type, key id, issuer (the pod id) and audience (the
/// company). Returns every claim.
fn check(jws: &str, kid: &str, key: &Ed25519PublicKey, client_id: &str) -> Value {
    let options = VerificationOptions {
        required_signature_type: Some(TYP.into()),
        required_key_id: Some(kid.into()),
        allowed_issuers: Some(HashSet::from([kid.to_string()])),
        allowed_audiences: Some(HashSet::from([client_id.to_string()])),
        ..Default::default()
    };
    let claims = key
        .verify_token::<serde_json::Map<String, Value>>(jws, Some(options))
        .unwrap_or_else(|e| panic!("the receipt does not verify with jwt-simple: {e}"));
    assert_eq!(
        claims.subject.as_deref(),
        Some(kid),
        "the pod is the subject's agent"
    );
    assert!(claims.issued_at.is_some());
    let mut all = claims.custom;
    all.insert("jti".into(), json!(claims.jwt_id));
    Value::Object(all)
}

/// `GET /oauth/receipts` with a bearer token: (status, body).
fn fetch_receipts(base: &str, token: &str) -> (u16, Value) {
    let r = http()
        .get(format!("{base}/oauth/receipts"))
        .bearer_auth(token)
        .send()
        .unwrap();
    let status = r.status().as_u16();
    if status == 200 {
        assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
    }
    (status, r.json().unwrap_or(Value::Null))
}

fn paths(processing: &Value) -> Vec<Value> {
    processing["items"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|i| i["paths"].as_array().unwrap().clone())
        .collect()
}

#[test]
fn a_narrower_grant_and_its_withdrawal_come_with_receipts_a_company_can_check() {
    let (v, server) = served_vault();
    let company = Company::new(&server, "Acme Shop");
    let auth = company.ask(contact_and_health(), 86_400);
    let code = auth.user_code().secret().clone();
    v.ok(&[
        "requests",
        "approve",
        &code,
        "--only",
        "/contact/",
        "--expires",
        "1h",
    ]);
    let token = company.token(&auth).expect("the token");
    let access = oauth2::TokenResponse::access_token(&token).secret().clone();
    let jws = token
        .extra_fields()
        .consent_receipt
        .clone()
        .expect("the token response carries consent_receipt");

    // Only the key from the JWK Set, with another JOSE library.
    let (kid, key) = pod_key(&server.base);
    let claims = check(&jws, &kid, &key, &company.id);
    assert_eq!(claims["event"]["type"], "given_narrower");
    assert_eq!(claims["event"]["state"], "given");
    assert_eq!(claims["controller"]["name"], "Acme Shop");
    assert_eq!(claims["controller"]["client_id"], company.id.as_str());
    assert_eq!(paths(&claims["processing"]), [json!("/contact/")]);
    assert_eq!(claims["processing"]["lifetime_seconds"], 3600);
    assert_eq!(
        paths(&claims["asked"]),
        [
            json!("/contact/"),
            json!("/health/"),
            json!("/preferences/communication")
        ],
        "what was asked, beside what was given"
    );
    assert_eq!(claims["asked"]["lifetime_seconds"], 86_400);
    assert_eq!(
        claims["processing"]["purposes"],
        json!(["Delivering your orders"])
    );
    assert!(claims["log_head"]["hash"].as_str().unwrap().len() >= 32);
    // The person sees the same pod id.
    assert!(v.ok(&["status"]).contains(&kid), "status shows the pod id");
    assert_eq!(
        json_of(&v.ok(&["status", "--json"]))["pod_id"],
        kid.as_str()
    );

    // The company fetches its receipts with its token.
    assert_eq!(get(&server, &access, "/contact/email").status(), 200);
    let (status, body) = fetch_receipts(&server.base, &access);
    assert_eq!(status, 200, "{body}");
    let list = body["receipts"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{body}");
    assert_eq!(list[0]["event"], "given_narrower");
    assert_eq!(list[0]["consent_receipt"], jws.as_str());
    assert!(list[0]["id"].as_str().unwrap().starts_with("rcp_"));

    // The person revokes with the CLI; the token stops working, but still
    // fetches the company's receipts, now with the withdrawal first.
    let grants = json_of(&v.ok(&["grants", "list", "--json"]));
    let grant = grants[0]["id"].as_str().unwrap().to_string();
    v.ok(&["grants", "revoke", &grant]);
    assert_eq!(get(&server, &access, "/contact/email").status(), 401);
    let (status, body) = fetch_receipts(&server.base, &access);
    assert_eq!(status, 200, "{body}");
    let list = body["receipts"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{body}");
    assert_eq!(list[0]["event"], "withdrawn");
    let withdrawn = check(
        list[0]["consent_receipt"].as_str().unwrap(),
        &kid,
        &key,
        &company.id,
    );
    assert_eq!(withdrawn["event"]["type"], "withdrawn");
    assert_eq!(withdrawn["event"]["state"], "withdrawn");
    assert_eq!(withdrawn["grant"]["id"], grant.as_str());
    assert_eq!(paths(&withdrawn["processing"]), [json!("/contact/")]);
    // Each fetch is in the person's log, under the company's name.
    let log = json_of(&v.ok(&["log", "--json", "--limit", "0"]));
    let fetches = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "receipts" && e["client_id"] == company.id.as_str())
        .count();
    assert_eq!(fetches, 2, "{log}");

    // Unknown, malformed and missing tokens get nothing.
    for bad in [format!("cst_{:059}", 7), "not-a-token".to_string()] {
        let (status, body) = fetch_receipts(&server.base, &bad);
        assert_eq!(status, 401, "{bad}: {body}");
        assert_eq!(body["error"], "invalid_token");
        assert!(body.get("receipts").is_none());
    }
    let r = http()
        .get(format!("{}/oauth/receipts", server.base))
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
    // Guessing tokens here is counted and throttled as on /pod/, and
    // logged; the company's own (revoked) token is not slowed down.
    let mut guesses = 0;
    let throttled = loop {
        guesses += 1;
        let (status, _) = fetch_receipts(&server.base, &format!("cst_{:059}", 1000 + guesses));
        if status != 401 || guesses > 100 {
            break status;
        }
    };
    assert_eq!(throttled, 429, "guessing is throttled");
    assert!(guesses > 50, "not before the limit ({guesses} guesses)");
    assert_eq!(fetch_receipts(&server.base, &access).0, 200);
    let denied = json_of(&v.ok(&["log", "--denied", "--json", "--limit", "0"]));
    assert!(
        denied
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["path"] == "/oauth/receipts"),
        "refusals at the receipts endpoint are logged: {denied:#}"
    );
    // Another company's token sees only its own receipts.
    let other = Company::new(&server, "Other Shop");
    let auth = other.ask(contact_and_health(), 3600);
    // As asked, the sensitive category asked for ticked too: given as asked.
    v.ok(&[
        "requests",
        "approve",
        auth.user_code().secret(),
        "--allow-sensitive",
        "health",
    ]);
    let other_token = other.access_token(&auth);
    let (_, body) = fetch_receipts(&server.base, &other_token);
    let events: Vec<&Value> = body["receipts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["event"])
        .collect();
    assert_eq!(events, [&json!("given")], "{body}");

    // The person's side: list, show, export, verify.
    let listed = json_of(&v.ok(&["receipts", "list", "--client", "Acme Shop", "--json"]));
    assert_eq!(listed.as_array().unwrap().len(), 2);
    let given_id = listed[1]["id"].as_str().unwrap().to_string();
    assert_eq!(listed[1]["event"], "given_narrower");
    let table = v.ok(&["receipts", "list"]);
    assert!(
        table.contains("given, narrower than asked")
            && table.contains("withdrawn by you")
            && table.contains("Other Shop"),
        "{table}"
    );
    let shown = v.ok(&["receipts", "show", &given_id]);
    for part in [
        "given, narrower than asked",
        "Acme Shop",
        "Given:",
        "read /contact/",
        "Asked:",
        "/health/",
        "why: Delivering your orders",
        "for: 1 hour",
        "for: 1 day",
        "To withdraw:",
        "Pod id:",
        kid.as_str(),
        "Log head:",
    ] {
        assert!(shown.contains(part), "{part:?} missing from:\n{shown}");
    }
    let out = v.home().join("receipt.jws");
    let out_text = out.to_str().unwrap();
    v.ok(&["receipts", "export", &given_id, "--out", out_text]);
    assert_eq!(std::fs::read_to_string(&out).unwrap().trim(), jws);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "a private file");
    }
    let (status, err) = run_fail(v.cmd(&["receipts", "export", &given_id, "--out", out_text]));
    assert_eq!(status, 2);
    assert!(err.contains("already exists"), "{err}");
    v.ok(&[
        "receipts",
        "export",
        listed[0]["id"].as_str().unwrap(),
        "--out",
        out_text,
        "--force",
    ]);
    let verified = v.ok(&["receipts", "verify", out_text]);
    assert!(verified.starts_with("valid: "), "{verified}");
    assert!(verified.contains("withdrawn"), "{verified}");
    assert!(server.stop());
}

/// The company's raw token poll (the `oauth2` crate hides error bodies),
/// which must answer 400 `access_denied`; returns its body.
fn poll_refused(
    server: &Server,
    company: &Company,
    auth: &oauth2::StandardDeviceAuthorizationResponse,
) -> Value {
    let r = http()
        .post(format!("{}/oauth/token", server.base))
        .form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("device_code", auth.device_code().secret()),
            ("client_id", &company.id),
        ])
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().unwrap();
    assert_eq!(body["error"], "access_denied");
    body
}

#[test]
fn a_denial_carries_the_refusal_receipt_in_its_error_body() {
    let (v, server) = served_vault();
    let company = Company::new(&server, "Acme Shop");
    let auth = company.ask(contact_and_health(), 3600);
    v.ok(&["requests", "deny", auth.user_code().secret()]);
    let body = poll_refused(&server, &company, &auth);
    let jws = body["consent_receipt"]
        .as_str()
        .expect("the denial carries consent_receipt");
    let (kid, key) = pod_key(&server.base);
    let claims = check(jws, &kid, &key, &company.id);
    assert_eq!(claims["event"]["type"], "refused");
    assert_eq!(claims["event"]["state"], "refused");
    assert!(claims["event"]["validity"].is_null(), "{claims}");
    assert_eq!(
        paths(&claims["processing"]),
        [
            json!("/contact/"),
            json!("/health/"),
            json!("/preferences/communication")
        ],
        "what was asked and refused"
    );
    assert!(claims["request"]["details_sha256"].is_string());
    assert!(server.stop());
}

/// Approved, then revoked before the company came for its token: the
/// poll says `access_denied` and carries the withdrawal's receipt.
#[test]
fn a_grant_revoked_before_its_token_was_collected_answers_with_the_withdrawal() {
    let (v, server) = served_vault();
    let company = Company::new(&server, "Acme Shop");
    let auth = company.ask(contact_and_health(), 3600);
    v.ok(&["requests", "approve", auth.user_code().secret()]);
    let grants = json_of(&v.ok(&["grants", "list", "--json"]));
    let grant = grants[0]["id"].as_str().unwrap().to_string();
    v.ok(&["grants", "revoke", &grant]);
    let body = poll_refused(&server, &company, &auth);
    let (kid, key) = pod_key(&server.base);
    let claims = check(
        body["consent_receipt"].as_str().expect("consent_receipt"),
        &kid,
        &key,
        &company.id,
    );
    assert_eq!(claims["event"]["type"], "withdrawn");
    assert_eq!(claims["grant"]["id"], grant.as_str());
    assert!(server.stop());
}

#[test]
fn a_grant_that_ran_out_is_receipted_and_fetched_with_the_old_token() {
    let (v, server) = served_vault();
    let company = Company::new(&server, "Acme Shop");
    let auth = company.ask(contact_and_health(), 3600);
    let grant = open(&v)
        .store()
        .approve_request(
            auth.user_code().secret(),
            &Approval {
                lifetime: Some(1),
                ..Default::default()
            },
        )
        .unwrap();
    let access = company.access_token(&auth);
    let left = grant.expires_at - chrono::Utc::now();
    if let Ok(left) = left.to_std() {
        std::thread::sleep(left + std::time::Duration::from_millis(5));
    }
    assert_eq!(get(&server, &access, "/contact/email").status(), 401);
    let (status, body) = fetch_receipts(&server.base, &access);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["receipts"][0]["event"], "expired", "{body}");
    let (kid, key) = pod_key(&server.base);
    let claims = check(
        body["receipts"][0]["consent_receipt"].as_str().unwrap(),
        &kid,
        &key,
        &company.id,
    );
    assert_eq!(claims["event"]["state"], "expired");
    assert_eq!(claims["grant"]["id"], grant.id.as_str());
    assert!(server.stop());
}

/// A vault's one refusal receipt, made through the real server and CLI.
fn refusal_receipt(v: &TestVault) -> String {
    let server = Server::start(v, &[]);
    let company = Company::new(&server, "Acme Shop");
    let auth = company.ask(contact_and_health(), 3600);
    v.ok(&["requests", "deny", auth.user_code().secret()]);
    assert!(server.stop());
    let listed = json_of(&v.ok(&["receipts", "list", "--json"]));
    listed[0]["jws"].as_str().unwrap().to_string()
}

#[test]
fn a_changed_receipt_or_another_pods_fails_verify_naming_why() {
    let v = TestVault::new();
    let jws = refusal_receipt(&v);
    let file = v.home().join("r.jws");
    let verify = |text: &str| {
        std::fs::write(&file, text).unwrap();
        run_fail(v.cmd(&["receipts", "verify", file.to_str().unwrap()]))
    };
    std::fs::write(&file, &jws).unwrap();
    let ok = v.ok(&["receipts", "verify", file.to_str().unwrap()]);
    assert!(ok.starts_with("valid: "), "{ok}");

    // One byte of the signature flipped.
    let mut bytes = jws.clone().into_bytes();
    let at = jws.rfind('.').unwrap() + 10;
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    let (status, err) = verify(&String::from_utf8(bytes).unwrap());
    assert_eq!(status, 6, "{err}");
    assert!(err.contains("the signature does not match"), "{err}");

    // The claims changed (still a well-formed JWS), the signature kept.
    let parts: Vec<&str> = jws.split('.').collect();
    let mut claims = json_of(&String::from_utf8(B64URL.decode(parts[1]).unwrap()).unwrap());
    claims["event"]["type"] = json!("given");
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        B64URL.encode(claims.to_string()),
        parts[2]
    );
    let (status, err) = verify(&forged);
    assert_eq!(status, 6, "{err}");
    assert!(err.contains("the signature does not match"), "{err}");

    // Not a JWS at all.
    let (status, err) = verify("hello");
    assert_eq!(status, 6, "{err}");
    assert!(err.contains("not a compact JWS"), "{err}");

    // Another pod's receipt, valid there, is named as another pod's here.
    let other = TestVault::new();
    let foreign = refusal_receipt(&other);
    let other_id = json_of(&other.ok(&["status", "--json"]))["pod_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, err) = verify(&foreign);
    assert_eq!(status, 6, "{err}");
    assert!(
        err.contains("signed by another pod") && err.contains(&other_id),
        "{err}"
    );
}
