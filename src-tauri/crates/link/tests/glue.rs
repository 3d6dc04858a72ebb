//! connect and deliver end to end inside the crate: a test company on a
//! local HTTPS server (its metadata, keys, signed request object and
//! delivery endpoint), a real vault, the core's rules in between.

mod support;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use custodian_core::sharing::consent::Approval;
use custodian_core::{NewResource, Store, Vault};
use custodian_link::resolve::parse_test_resolve;
use custodian_link::{
    connect, deliver_due, poll_feeds, AddressRules, LinkError, Net, NetError, Options, VaultAccess,
};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::SecretString;
use serde_json::{json, Value};
use support::hooked::Hooked;
use support::{serve, Reply, Seen, Server, TestCa};

/// RFC 8037 A.1's Ed25519 key: its seed as PKCS#8 DER, its public `x`.
const ED_SEED_HEX: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
const ED_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

/// PKCS#8 DER of an Ed25519 key, up to its 32-byte seed.
fn ed_key_der_prefix() -> Vec<u8> {
    vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ]
}

fn ed_key() -> EncodingKey {
    let mut der = ed_key_der_prefix();
    der.extend((0..32).map(|i| u8::from_str_radix(&ED_SEED_HEX[2 * i..2 * i + 2], 16).unwrap()));
    EncodingKey::from_ed_der(&der)
}

/// A compact JWS as the company signs it (Ed25519, kid `ed`).
fn sign(typ: &str, claims: &Value, key: &EncodingKey) -> String {
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some("ed".into());
    header.typ = Some(typ.into());
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

/// The test company: what it serves, and what it received.
struct Company {
    server: Server,
    /// Status codes the delivery endpoint answers, in turn (then 204).
    answers: Arc<Mutex<VecDeque<u16>>>,
    /// Request objects by path, signed when the test asks.
    requests: Arc<Mutex<Vec<(String, String)>>>,
    /// The feed's items, served at once.
    feed: Arc<Mutex<Vec<String>>>,
    /// The JWK Set served at `jwks_uri` (with `keys_by_uri`).
    jwks: Arc<Mutex<Value>>,
}

impl Company {
    async fn start(ca: &TestCa) -> Company {
        Company::start_with(ca, false).await
    }

    /// With `keys_by_uri`, the metadata names `jwks_uri` instead of
    /// carrying `jwks`.
    async fn start_with(ca: &TestCa, keys_by_uri: bool) -> Company {
        let answers: Arc<Mutex<VecDeque<u16>>> = Arc::default();
        let requests: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let feed: Arc<Mutex<Vec<String>>> = Arc::default();
        let jwks = Arc::new(Mutex::new(
            json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "ed", "x": ED_X}]}),
        ));
        let (a, r, f, j) = (
            answers.clone(),
            requests.clone(),
            feed.clone(),
            jwks.clone(),
        );
        let server = serve(
            Some(ca.server_config(&["shop.test"])),
            move |seen: &Seen| {
                let host = seen.header("host").unwrap_or("shop.test").to_string();
                let base = format!("https://{host}/custodian");
                let keys =
                    json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "ed", "x": ED_X}]});
                match seen.path.as_str() {
                    "/custodian/client.json" => {
                        let mut meta = json!({
                            "client_id": format!("{base}/client.json"),
                            "client_name": "Shop",
                            "client_uri": format!("https://{host}/"),
                            "policy_uri": format!("https://{host}/privacy"),
                            "delivery_uri": format!("{base}/deliveries"),
                            "feed_uri": format!("{base}/feed"),
                        });
                        if keys_by_uri {
                            meta["jwks_uri"] = json!(format!("{base}/jwks.json"));
                        } else {
                            meta["jwks"] = keys;
                        }
                        Reply::ok(meta.to_string())
                    }
                    "/custodian/jwks.json" if keys_by_uri => {
                        Reply::ok(j.lock().unwrap().to_string())
                    }
                    p if p.starts_with("/custodian/feed?") => Reply::ok(
                        json!({"items": *f.lock().unwrap(), "next": "cursor-1"}).to_string(),
                    ),
                    "/custodian/deliveries" => {
                        Reply::status(a.lock().unwrap().pop_front().unwrap_or(204))
                    }
                    path => match r.lock().unwrap().iter().find(|(p, _)| p == path) {
                        Some((_, jws)) => Reply::ok(jws.clone()),
                        None => Reply::status(404),
                    },
                }
            },
        )
        .await;
        Company {
            server,
            answers,
            requests,
            feed,
            jwks,
        }
    }

    fn origin(&self) -> String {
        format!("https://shop.test:{}", self.server.port)
    }

    fn client_id(&self) -> String {
        format!("{}/custodian/client.json", self.origin())
    }

    /// Publishes a signed request object at `path`; returns its address.
    fn publish(&self, path: &str, jti: &str, iss: &str) -> String {
        let details = json!([{"type": "pod_access", "paths": ["/contact/"],
                              "actions": ["read"], "purpose": "Order updates"}]);
        self.publish_asking(path, jti, iss, details)
    }

    fn publish_asking(&self, path: &str, jti: &str, iss: &str, details: Value) -> String {
        let now = chrono::Utc::now().timestamp();
        let claims = json!({
            "iss": iss, "aud": "custodian", "iat": now - 5, "exp": now + 300, "jti": jti,
            "authorization_details": details,
            "grant_lifetime": 86400, "state": "state-1",
        });
        let jws = sign("oauth-authz-req+jwt", &claims, &ed_key());
        self.requests.lock().unwrap().push((path.to_string(), jws));
        format!("{}{path}", self.origin())
    }

    fn link(&self, request_uri: &str) -> String {
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        format!(
            "custodian://connect?client_id={}&request_uri={}",
            enc(&self.client_id()),
            enc(request_uri)
        )
    }

    /// The deliveries it received, decoded (header, claims), in order.
    fn deliveries(&self) -> Vec<(Value, Value)> {
        self.server
            .seen()
            .iter()
            .filter(|s| s.path == "/custodian/deliveries")
            .map(|s| {
                assert_eq!(s.header("content-type"), Some("application/jwt"));
                let text = String::from_utf8(s.body.clone()).unwrap();
                let parts: Vec<&str> = text.split('.').collect();
                let part = |i: usize| -> Value {
                    serde_json::from_slice(&B64URL.decode(parts[i]).unwrap()).unwrap()
                };
                (part(0), part(1))
            })
            .collect()
    }
}

fn vault(dir: &tempfile::TempDir) -> Mutex<Vault> {
    let pass = SecretString::from("correct horse battery staple");
    let created = Vault::create_with_work_factor(&dir.path().join("v"), &pass, 10).unwrap();
    Mutex::new(created.vault)
}

fn net(ca: &TestCa, map: &str) -> Net {
    Net::new(Options {
        rules: AddressRules {
            allow_http_loopback: false,
            test_resolve: parse_test_resolve(map).unwrap(),
            trust_test_loopback: true,
        },
        extra_roots_pem: vec![ca.pem.clone()],
        ..Options::default()
    })
    .unwrap()
}

fn approve(vault: &Mutex<Vault>, id: &str) -> String {
    vault
        .with_store(|s| {
            s.approve_request(
                id,
                &Approval {
                    only: vec![],
                    lifetime: None,
                    sensitive: vec![],
                },
            )
        })
        .unwrap()
        .id
}

fn put(vault: &Mutex<Vault>, path: &str, value: Value) {
    vault
        .with_store(|s| {
            s.put(
                &custodian_core::parse_path(path)?,
                NewResource::json(&value),
            )
        })
        .unwrap();
}

#[tokio::test]
async fn a_delivery_whose_grant_is_revoked_after_it_was_taken_is_not_posted() {
    let ca = TestCa::new();
    let company = Company::start(&ca).await;
    let net = net(&ca, "shop.test=127.0.0.1");
    let dir = tempfile::tempdir().unwrap();
    let vault = vault(&dir);
    let uri = company.publish("/custodian/requests/1", "jti-1", &company.client_id());
    let request = connect(&net, &vault, &company.link(&uri)).await.unwrap();
    let grant = approve(&vault, &request.id);
    // Step 1 takes the due `granted`; before step 2 the person revokes.
    let revoking = Hooked::new(&vault, 2, |s: &Store| s.revoke_grant(&grant).map(|_| ()));
    let summary = deliver_due(&net, &revoking).await.unwrap();
    assert_eq!(summary.delivered, 1, "{summary:?}");
    let got: Vec<Value> = company
        .deliveries()
        .into_iter()
        .map(|(_, claims)| claims["event"]["type"].clone())
        .collect();
    assert_eq!(got, [json!("revoked")], "the grant's data is not sent");
}

#[tokio::test]
async fn a_linked_request_is_stored_and_its_grant_delivered_in_order() {
    let ca = TestCa::new();
    let company = Company::start(&ca).await;
    let net = net(&ca, "shop.test=127.0.0.1");
    let dir = tempfile::tempdir().unwrap();
    let vault = vault(&dir);
    put(
        &vault,
        "/contact/email",
        json!({"email": "ada@example.org"}),
    );

    let uri = company.publish("/custodian/requests/1", "jti-1", &company.client_id());
    let request = connect(&net, &vault, &company.link(&uri)).await.unwrap();
    let linked = vault
        .with_store(|s| s.linked_company(&request.client_id))
        .unwrap()
        .expect("a linked company");
    assert_eq!(linked.domain, format!("shop.test:{}", company.server.port));

    // The company is down at first: the granted delivery waits, then goes.
    company.answers.lock().unwrap().push_back(503);
    let grant = approve(&vault, &request.id);
    let first = deliver_due(&net, &vault).await.unwrap();
    assert_eq!((first.delivered, first.retrying), (0, 1));
    vault.with_store(|s| s.send_now(&grant)).unwrap();
    let second = deliver_due(&net, &vault).await.unwrap();
    assert_eq!(second.delivered, 1, "{second:?}");

    put(
        &vault,
        "/contact/email",
        json!({"email": "ada@new.example"}),
    );
    let third = deliver_due(&net, &vault).await.unwrap();
    assert_eq!(third.delivered, 1, "{third:?}");

    let got = company.deliveries();
    assert_eq!(got.len(), 3, "one refused, then two");
    let (header, granted) = &got[1];
    assert_eq!(header["typ"], "custodian-delivery+jwt");
    assert_eq!(granted["event"]["type"], "granted");
    assert_eq!(granted["aud"], company.client_id().as_str());
    assert_eq!(granted["state"], "state-1");
    assert_eq!(got[0].1["jti"], granted["jti"], "the same delivery resent");
    let (_, updated) = &got[2];
    assert_eq!(updated["event"]["type"], "updated");
    assert_eq!(
        updated["seq"].as_i64().unwrap(),
        granted["seq"].as_i64().unwrap() + 1
    );
    assert_eq!(deliver_due(&net, &vault).await.unwrap().attempted(), 0);
}

#[tokio::test]
async fn a_bare_request_address_names_its_company_by_iss() {
    let ca = TestCa::new();
    let company = Company::start(&ca).await;
    let net = net(&ca, "shop.test=127.0.0.1");
    let dir = tempfile::tempdir().unwrap();
    let vault = vault(&dir);
    let uri = company.publish("/custodian/requests/2", "jti-2", &company.client_id());
    let request = connect(&net, &vault, &uri).await.unwrap();
    assert_eq!(request.client_id, company.client_id());
}

#[tokio::test]
async fn the_companys_keys_may_be_fetched_from_its_jwks_uri() {
    let ca = TestCa::new();
    let company = Company::start_with(&ca, true).await;
    let net = net(&ca, "shop.test=127.0.0.1");
    let dir = tempfile::tempdir().unwrap();
    let vault = vault(&dir);
    let uri = company.publish("/custodian/requests/6", "jti-6", &company.client_id());
    connect(&net, &vault, &company.link(&uri)).await.unwrap();
    let paths: Vec<String> = company.server.seen().into_iter().map(|s| s.path).collect();
    assert_eq!(
        paths,
        vec![
            "/custodian/requests/6",
            "/custodian/client.json",
            "/custodian/jwks.json"
        ]
    );
}

#[tokio::test]
async fn refused_links_store_nothing() {
    let ca = TestCa::new();
    let company = Company::start(&ca).await;
    let net = net(
        &ca,
        "shop.test=127.0.0.1,other.test=127.0.0.1,inside.test=10.1.2.3",
    );
    let dir = tempfile::tempdir().unwrap();
    let vault = vault(&dir);
    let nothing_stored = || {
        assert!(vault
            .with_store(|s| s.access_requests(true))
            .unwrap()
            .is_empty());
    };

    // A request whose iss is on another host than the request.
    let uri = company.publish(
        "/custodian/requests/3",
        "jti-3",
        "https://other.test/custodian/client.json",
    );
    let err = connect(&net, &vault, &uri).await.unwrap_err();
    assert!(err.to_string().contains("another host"), "{err}");
    nothing_stored();

    // A company whose documents are on a private address: nothing connects.
    let built = net.clients_built();
    let link = "custodian://connect?client_id=https%3A%2F%2Finside.test%2Fc.json&request_uri=https%3A%2F%2Finside.test%2Fr";
    match connect(&net, &vault, link).await.unwrap_err() {
        LinkError::Fetch {
            source: NetError::RefusedAddress { .. },
            ..
        } => {}
        other => panic!("{other}"),
    }
    assert_eq!(net.clients_built(), built);
    nothing_stored();

    // The same request object twice: the second is a replay.
    let uri = company.publish("/custodian/requests/4", "jti-4", &company.client_id());
    connect(&net, &vault, &company.link(&uri)).await.unwrap();
    let err = connect(&net, &vault, &company.link(&uri))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("jti"), "{err}");
    assert_eq!(
        vault.with_store(|s| s.access_requests(true)).unwrap().len(),
        1
    );
}

/// A company that rotated its keys after the person connected: the item
/// signed by the new key names an unknown kid, so its `jwks_uri` is
/// fetched again (once in the poll), and the item lands.
#[tokio::test]
async fn a_rotated_key_is_fetched_again_from_jwks_uri() {
    let ca = TestCa::new();
    let company = Company::start_with(&ca, true).await;
    let net = net(&ca, "shop.test=127.0.0.1");
    let dir = tempfile::tempdir().unwrap();
    let vault = vault(&dir);
    let details = json!([{"type": "pod_access", "paths": ["/purchases/"],
                          "actions": ["append"], "purpose": "Your receipts"}]);
    let uri = company.publish_asking(
        "/custodian/requests/7",
        "jti-7",
        &company.client_id(),
        details,
    );
    let request = connect(&net, &vault, &company.link(&uri)).await.unwrap();
    let grant = approve(&vault, &request.id);
    let pod_id = vault.with_store(|s| s.pod_identity()).unwrap().id;
    // The same key under a new kid stands for the new key.
    *company.jwks.lock().unwrap() =
        json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "ed-2", "x": ED_X}]});
    let item = |jti: &str| {
        let claims = json!({"iss": company.client_id(), "aud": pod_id,
               "iat": chrono::Utc::now().timestamp(), "jti": jti, "grant_id": grant,
               "item": {"container": "/purchases/", "slug": jti,
                        "content_type": "application/json", "content": {"order": jti}}});
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some("ed-2".into());
        header.typ = Some("custodian-feed-item+jwt".into());
        jsonwebtoken::encode(&header, &claims, &ed_key()).unwrap()
    };
    *company.feed.lock().unwrap() = vec![item("r-1"), item("r-2")];
    let summary = poll_feeds(&net, &vault).await.unwrap();
    assert_eq!(summary.stored.len(), 2, "{summary:?}");
    let keys_fetched = |c: &Company| {
        c.server
            .seen()
            .iter()
            .filter(|s| s.path == "/custodian/jwks.json")
            .count()
    };
    // Once at connect, once in the poll.
    assert_eq!(keys_fetched(&company), 2);
    // Known now: not fetched again.
    *company.feed.lock().unwrap() = vec![item("r-3")];
    poll_feeds(&net, &vault).await.unwrap();
    assert_eq!(keys_fetched(&company), 2);
}

#[tokio::test]
async fn a_feed_lands_its_good_items_and_refuses_a_forged_one() {
    let ca = TestCa::new();
    let company = Company::start(&ca).await;
    let net = net(&ca, "shop.test=127.0.0.1");
    let dir = tempfile::tempdir().unwrap();
    let vault = vault(&dir);
    let details = json!([{"type": "pod_access", "paths": ["/purchases/"],
                          "actions": ["append"], "purpose": "Your receipts"}]);
    let uri = company.publish_asking(
        "/custodian/requests/5",
        "jti-5",
        &company.client_id(),
        details,
    );
    let request = connect(&net, &vault, &company.link(&uri)).await.unwrap();
    let grant = approve(&vault, &request.id);
    let pod_id = vault.with_store(|s| s.pod_identity()).unwrap().id;

    let item = |jti: &str, slug: &str| {
        json!({"iss": company.client_id(), "aud": pod_id, "iat": chrono::Utc::now().timestamp(),
               "jti": jti, "grant_id": grant,
               "item": {"container": "/purchases/", "slug": slug,
                        "content_type": "application/json", "content": {"order": slug}}})
    };
    // Another Ed25519 key, not in the company's JWK Set (RFC 8032 test 2).
    let mut forged_der = ed_key_der_prefix();
    forged_der.extend([0x4c; 32]);
    let forged = EncodingKey::from_ed_der(&forged_der);
    *company.feed.lock().unwrap() = vec![
        sign(
            "custodian-feed-item+jwt",
            &item("f-1", "order-1"),
            &ed_key(),
        ),
        sign("custodian-feed-item+jwt", &item("f-2", "order-2"), &forged),
    ];
    let summary = poll_feeds(&net, &vault).await.unwrap();
    assert_eq!(summary.feeds, 1);
    assert_eq!(summary.stored.len(), 1, "{summary:?}");
    assert!(
        summary.stored[0].starts_with("/purchases/order-1"),
        "{summary:?}"
    );
    assert_eq!(summary.refused.len(), 1, "{summary:?}");
    let fetched = company
        .server
        .seen()
        .into_iter()
        .filter(|s| s.path.starts_with("/custodian/feed"))
        .map(|s| s.path)
        .collect::<Vec<_>>();
    assert_eq!(
        fetched,
        vec![format!("/custodian/feed?grant_id={grant}&after=")]
    );

    // The next fetch starts at the company's cursor; the same item again is a replay.
    *company.feed.lock().unwrap() = vec![sign(
        "custodian-feed-item+jwt",
        &item("f-1", "order-1"),
        &ed_key(),
    )];
    let again = poll_feeds(&net, &vault).await.unwrap();
    assert_eq!(
        (again.stored.len(), again.refused.len()),
        (0, 1),
        "{again:?}"
    );
    let last = company.server.seen().last().unwrap().path.clone();
    assert!(last.ends_with("&after=cursor-1"), "{last}");
}

#[tokio::test]
async fn a_feed_that_fails_does_not_stop_the_next() {
    let ca = TestCa::new();
    let company = Company::start(&ca).await;
    let net = net(&ca, "shop.test=127.0.0.1");
    let dir = tempfile::tempdir().unwrap();
    let vault = vault(&dir);
    let details = json!([{"type": "pod_access", "paths": ["/purchases/"],
                          "actions": ["append"], "purpose": "Your receipts"}]);
    let mut grants = Vec::new();
    for n in 1..=2 {
        let uri = company.publish_asking(
            &format!("/custodian/requests/{n}"),
            &format!("jti-{n}"),
            &company.client_id(),
            details.clone(),
        );
        let request = connect(&net, &vault, &company.link(&uri)).await.unwrap();
        grants.push(approve(&vault, &request.id));
    }
    let pod_id = vault.with_store(|s| s.pod_identity()).unwrap().id;
    // The same page for both feeds: one item for each grant.
    *company.feed.lock().unwrap() = grants
        .iter()
        .enumerate()
        .map(|(n, grant)| {
            let claims = json!({"iss": company.client_id(), "aud": pod_id,
                "iat": chrono::Utc::now().timestamp(), "jti": format!("f-{n}"),
                "grant_id": grant, "item": {"container": "/purchases/", "slug": format!("o-{n}"),
                "content_type": "application/json", "content": {"n": n}}});
            sign("custodian-feed-item+jwt", &claims, &ed_key())
        })
        .collect();
    // Step 1 lists the feeds; step 2 (taking in the first) fails.
    let failing = Hooked::new(&vault, 2, |_: &Store| {
        Err(custodian_core::Error::InvalidRequest(
            "the disk is full".into(),
        ))
    });
    let summary = poll_feeds(&net, &failing).await.unwrap();
    assert_eq!(summary.failed.len(), 1, "{summary:?}");
    assert!(
        summary.failed[0].contains("the disk is full"),
        "{summary:?}"
    );
    assert!(!summary.failed[0].contains("grt_"), "no grant id shown");
    assert_eq!((summary.feeds, summary.stored.len()), (2, 1), "{summary:?}");
}
