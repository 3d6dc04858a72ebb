//! The test company itself, proven before any Custodian code talks to it:
//! reqwest, trusting only the CA made in the test and resolving the test
//! names to the server, fetches its documents over HTTPS; its request
//! objects verify with jwt-simple (and the spoiled ones do not); it accepts
//! a well-formed delivery and refuses one whose key does not prove itself;
//! its outages, redirects, slow documents and feed behave as the link tests
//! rely on.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use custodian_e2e::shop::jose::{self, okp_thumbprint, segment, DELIVERY_TYP};
use custodian_e2e::shop::{install_provider, Ask, Flaw, Outage, Shop};
use jwt_simple::prelude::{
    Ed25519KeyPair, Ed25519PublicKey, EdDSAPublicKeyLike, VerificationOptions,
};
use reqwest::blocking::Client;
use serde_json::{json, Map, Value};

fn client(shop: &Shop, names: &[&str], timeout: Duration) -> Client {
    install_provider();
    let ca = std::fs::read(&shop.ca_path).unwrap();
    let addr: SocketAddr = ([127, 0, 0, 1], shop.port).into();
    let mut builder = Client::builder()
        .no_proxy()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout);
    for name in names {
        builder = builder.resolve(name, addr);
    }
    builder.build().unwrap()
}

fn details() -> Value {
    json!([{"type": "pod_access", "paths": ["/contact/"], "actions": ["read"],
            "datatypes": [], "purpose": "Order updates"}])
}

/// The company's key as a pod would find it: `jwks_uri` in the metadata.
fn company_key(http: &Client, shop: &Shop, host: &str) -> Ed25519PublicKey {
    let meta: Value = http
        .get(shop.client_id(host))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let set: Value = http
        .get(meta["jwks_uri"].as_str().unwrap())
        .send()
        .unwrap()
        .json()
        .unwrap();
    let k = &set["keys"][0];
    let x = B64URL.decode(k["x"].as_str().unwrap()).unwrap();
    Ed25519PublicKey::from_bytes(&x)
        .unwrap()
        .with_key_id(k["kid"].as_str().unwrap())
}

fn verify_request(key: &Ed25519PublicKey, jws: &str, client_id: &str) -> Result<Value, String> {
    let options = VerificationOptions {
        allowed_issuers: Some(HashSet::from([client_id.to_string()])),
        allowed_audiences: Some(HashSet::from(["custodian".to_string()])),
        required_signature_type: Some(jose::REQUEST_TYP.into()),
        ..Default::default()
    };
    key.verify_token::<Map<String, Value>>(jws, Some(options))
        .map(|_| segment(jws, 1).unwrap())
        .map_err(|e| e.to_string())
}

/// A delivery signed as the pod signs one, by a key made here.
fn delivery(pod: &Ed25519KeyPair, aud: &str, state: &str, seq: u64, lie_about_kid: bool) -> String {
    let x = B64URL.encode(pod.public_key().to_bytes());
    let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": x});
    let pod_id = okp_thumbprint(&jwk).unwrap();
    let kid = if lie_about_kid {
        "someone-else".to_string()
    } else {
        pod_id.clone()
    };
    let header = json!({"alg": "EdDSA", "typ": DELIVERY_TYP, "kid": kid, "jwk": jwk});
    let claims = json!({"iss": kid, "aud": aud, "iat": chrono::Utc::now().timestamp(),
                        "jti": format!("dlv_{seq}"), "state": state, "request_id": "req_1",
                        "seq": seq, "event": {"type": "denied", "consent_receipt": "x"}});
    jose::sign(pod, &header, &claims)
}

fn post(http: &Client, url: &str, body: &str) -> reqwest::Result<reqwest::blocking::Response> {
    http.post(url)
        .header("content-type", "application/jwt")
        .body(body.to_string())
        .send()
}

#[test]
fn the_company_serves_its_documents_over_https_from_the_test_ca() {
    let shop = Shop::start();
    let http = client(
        &shop,
        &["shop.test", "other.test", "company-0007.bench.test"],
        Duration::from_secs(10),
    );
    let meta: Value = http
        .get(shop.client_id("shop.test"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(meta["client_id"], shop.client_id("shop.test"));
    assert_eq!(meta, shop.metadata("shop.test"));
    // Every name is a company of its own, with its own key.
    let other = company_key(&http, &shop, "other.test");
    let bench: Value = http
        .get(shop.client_id("company-0007.bench.test"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        bench["client_id"],
        shop.client_id("company-0007.bench.test")
    );
    let key = company_key(&http, &shop, "shop.test");
    assert_ne!(key.to_bytes(), other.to_bytes());

    // A good request object verifies with the JWKS key, with the claims asked for.
    let ask = Ask::new(details()).lifetime(3600);
    let uri = shop.publish_request("shop.test", &ask);
    assert!(uri.starts_with(&format!(
        "https://shop.test:{}/custodian/requests/",
        shop.port
    )));
    let r = http.get(&uri).send().unwrap();
    assert_eq!(
        r.headers()["content-type"],
        "application/oauth-authz-req+jwt"
    );
    let jws = r.text().unwrap();
    let claims = verify_request(&key, &jws, &shop.client_id("shop.test")).unwrap();
    assert_eq!(claims["state"], ask.state.as_str());
    assert_eq!(claims["jti"], ask.jti.as_str());
    assert_eq!(claims["grant_lifetime"], 3600);
    assert_eq!(claims["authorization_details"], details());
    assert!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap() <= 600);
    let link = shop.link("shop.test", &uri);
    assert!(
        link.starts_with("custodian://connect?client_id=https%3A%2F%2Fshop.test%3A"),
        "{link}"
    );

    // Each spoiled one is spoiled the way it says.
    for (flaw, says) in [
        (Flaw::Expired, "expired"),
        (Flaw::WrongKey, "signature"),
        (Flaw::BadSignature, "signature"),
        (Flaw::AlgNone, ""),
        (Flaw::WrongAudience, "audience"),
        (Flaw::IssuerNotClientId, "issuer"),
    ] {
        let uri = shop.publish_request("shop.test", &Ask::new(details()).flaw(flaw));
        let jws = http.get(&uri).send().unwrap().text().unwrap();
        let err = verify_request(&key, &jws, &shop.client_id("shop.test"))
            .expect_err(&format!("{flaw:?} verified"));
        assert!(err.to_lowercase().contains(says), "{flaw:?}: {err}");
    }
    let jws = http
        .get(shop.publish_request("shop.test", &Ask::new(details()).flaw(Flaw::NotYetValid)))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let claims = segment(&jws, 1).unwrap();
    assert!(claims["iat"].as_i64().unwrap() > chrono::Utc::now().timestamp() + 200);
}

#[test]
fn the_company_verifies_deliveries_and_goes_down_when_told() {
    let shop = Shop::start();
    let http = client(&shop, &["shop.test"], Duration::from_secs(10));
    let url = shop.url("shop.test", "/custodian/deliveries");
    let aud = shop.client_id("shop.test");
    let pod = Ed25519KeyPair::generate();

    let r = post(&http, &url, &delivery(&pod, &aud, "s1", 1, false)).unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().unwrap());
    let got = shop.wait_deliveries("shop.test", 1, Duration::from_secs(10));
    assert_eq!(got[0].seq(), 1);
    assert_eq!(got[0].event(), "denied");

    // A key that does not prove itself, another audience, another pod for
    // the same state: each refused, none recorded.
    assert_eq!(
        post(&http, &url, &delivery(&pod, &aud, "s1", 2, true))
            .unwrap()
            .status(),
        400
    );
    assert_eq!(
        post(
            &http,
            &url,
            &delivery(&pod, "https://elsewhere.test/c.json", "s1", 3, false)
        )
        .unwrap()
        .status(),
        400
    );
    let stranger = Ed25519KeyPair::generate();
    assert_eq!(
        post(&http, &url, &delivery(&stranger, &aud, "s1", 4, false))
            .unwrap()
            .status(),
        400
    );
    let rejected = shop.seen(|s| s.rejected.clone());
    assert_eq!(rejected.len(), 3, "{rejected:?}");
    assert!(rejected[0].1.contains("thumbprint"), "{rejected:?}");
    assert!(rejected[2].1.contains("pinned"), "{rejected:?}");
    assert_eq!(shop.seen(|s| s.deliveries.len()), 1);

    // Down: 503 with Retry-After, then connections dropped, then back.
    shop.set_outage(Outage::Status {
        code: 503,
        retry_after: Some(7),
    });
    let r = post(&http, &url, &delivery(&pod, &aud, "s1", 5, false)).unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "7");
    shop.set_outage(Outage::DropConnections);
    let fresh = client(&shop, &["shop.test"], Duration::from_secs(10));
    assert!(post(&fresh, &url, &delivery(&pod, &aud, "s1", 5, false)).is_err());
    assert_eq!(shop.seen(|s| s.outage_attempts), 2);
    shop.set_outage(Outage::None);
    let fresh = client(&shop, &["shop.test"], Duration::from_secs(10));
    assert_eq!(
        post(&fresh, &url, &delivery(&pod, &aud, "s1", 5, false))
            .unwrap()
            .status(),
        200
    );
    let got = shop.wait_deliveries("shop.test", 2, Duration::from_secs(10));
    assert_eq!(got[1].seq(), 5);
}

#[test]
fn the_company_redirects_stalls_and_feeds_when_told() {
    let shop = Shop::start();
    let http = client(&shop, &["shop.test"], Duration::from_secs(2));
    shop.redirect("shop.test", "/moved", "https://inside.test/secret");
    let r = http.get(shop.url("shop.test", "/moved")).send().unwrap();
    assert_eq!(r.status(), 302);
    assert_eq!(r.headers()["location"], "https://inside.test/secret");

    shop.publish_slow(
        "shop.test",
        "/slow",
        &[b' '; 100],
        Duration::from_millis(500),
    );
    let err = http
        .get(shop.url("shop.test", "/slow"))
        .send()
        .and_then(|r| r.text());
    assert!(err.is_err(), "a 50-second body arrived within 2 s");

    shop.publish(
        "shop.test",
        "/big",
        &vec![b'x'; 100_000],
        "application/json",
    );
    assert_eq!(
        http.get(shop.url("shop.test", "/big"))
            .send()
            .unwrap()
            .bytes()
            .unwrap()
            .len(),
        100_000
    );

    let key = company_key(&http, &shop, "shop.test");
    let item = json!({"container": "/purchases/", "slug": "order-1", "content_type": "application/json", "content": {"total": 12}});
    let good = shop.queue_feed_item("shop.test", "pod-1", "grt_1", item.clone(), true);
    let _bad = shop.queue_feed_item("shop.test", "pod-1", "grt_1", item.clone(), false);
    shop.queue_feed_item("shop.test", "pod-1", "grt_2", item, true);
    let feed: Value = http
        .get(shop.url("shop.test", "/custodian/feed?grant_id=grt_1&after="))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let items = feed["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(feed["next"], "2");
    let options = || VerificationOptions {
        required_signature_type: Some(jose::FEED_ITEM_TYP.into()),
        allowed_audiences: Some(HashSet::from(["pod-1".to_string()])),
        ..Default::default()
    };
    let claims = key
        .verify_token::<Map<String, Value>>(items[0].as_str().unwrap(), Some(options()))
        .unwrap();
    assert_eq!(
        claims.jwt_id.as_deref(),
        segment(&good, 1).unwrap()["jti"].as_str()
    );
    assert!(key
        .verify_token::<Map<String, Value>>(items[1].as_str().unwrap(), Some(options()))
        .is_err());
    let rest: Value = http
        .get(shop.url("shop.test", "/custodian/feed?grant_id=grt_1&after=2"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(rest["items"], json!([]));
}
