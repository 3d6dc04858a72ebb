//! Hostile links, each refused through the real `custodian connect` with
//! the rule it broke, and nothing stored (`requests list` unchanged):
//! private, link-local, shared and loopback targets (names the test
//! resolver maps there, an IP literal, loopback without the test switch
//! that trusts it — the company's server never sees a connection), a
//! redirect to another origin, plain http, request objects that are
//! expired, not yet valid, too long-lived, badly signed, unsigned, for
//! another audience or issuer, under an unknown key, on another host or
//! replayed, and documents too large or too slow.

use std::process::Command;
use std::time::{Duration, Instant};

use custodian_e2e::company::contact_and_health;
use custodian_e2e::linked::Linked;
use custodian_e2e::run_fail;
use custodian_e2e::shop::{Ask, Flaw};
use serde_json::json;

/// Connecting `link` fails with every one of `says` in its message, and
/// nothing is stored: `requests list` is as before.
fn refused(s: &Linked, cmd: Command, says: &[&str]) {
    let before = s.requests();
    let t = Instant::now();
    let (_, err) = run_fail(cmd);
    for part in says.iter().chain(&["nothing was stored"]) {
        assert!(err.contains(part), "{part:?} missing from: {err}");
    }
    assert_eq!(s.requests(), before, "something was stored: {err}");
    assert!(t.elapsed() < Duration::from_secs(30), "{err}");
}

#[test]
fn private_and_loopback_targets_are_refused_before_any_connection() {
    let s = Linked::new();
    let port = s.shop.port;
    for (name, addr, kind) in [
        ("ten.test", "10.1.2.3", "a private address"),
        ("one-seven-two.test", "172.16.5.4", "a private address"),
        ("one-nine-two.test", "192.168.1.1", "a private address"),
        ("metadata.test", "169.254.169.254", "a link-local address"),
        ("ula.test", "fc00::1", "a private address"),
        ("cgnat.test", "100.64.0.1", "a shared"),
    ] {
        s.shop.map_name(name, addr);
        let link = format!("https://{name}:{port}/custodian/requests/1");
        refused(
            &s,
            s.cmd(&["connect", &link]),
            &[name, addr, kind, "refused"],
        );
    }
    // shop.test is on 127.0.0.1: without the test switch that trusts it,
    // loopback is refused and the server never sees a connection.
    let uri = s
        .shop
        .publish_request("shop.test", &Ask::new(contact_and_health()));
    let before = s.shop.connections();
    let mut cmd = s.cmd(&["connect", &s.shop.link("shop.test", &uri)]);
    cmd.env_remove("CUSTODIAN_TEST_TRUST_LOOPBACK");
    refused(
        &s,
        cmd,
        &["shop.test resolves to 127.0.0.1, a loopback address: refused"],
    );
    // An IP literal is checked the same way, trust switch or not.
    let literal = format!("https://127.0.0.1:{port}/custodian/client.json");
    refused(
        &s,
        s.cmd(&["connect", &literal]),
        &["a loopback address", "refused"],
    );
    assert_eq!(
        s.shop.connections(),
        before,
        "a refused target was contacted"
    );
    // And plain http is not fetched at all.
    let http = format!("http://shop.test:{port}/custodian/client.json");
    refused(&s, s.cmd(&["connect", &http]), &["must be an https URL"]);
}

#[test]
fn a_redirect_to_another_origin_is_refused() {
    let s = Linked::new();
    s.shop.map_name("ten.test", "10.1.2.3");
    let target = format!("https://ten.test:{}/custodian/requests/1", s.shop.port);
    s.shop
        .redirect("shop.test", "/custodian/requests/moved", &target);
    let link = s.shop.link(
        "shop.test",
        &s.shop.url("shop.test", "/custodian/requests/moved"),
    );
    refused(
        &s,
        s.cmd(&["connect", &link]),
        &["redirects to https://ten.test:", "another origin: refused"],
    );
}

#[test]
fn bad_request_objects_are_refused_naming_the_rule() {
    let s = Linked::new();
    let details = contact_and_health();
    for (flaw, says) in [
        (Flaw::Expired, "the request object has expired"),
        (Flaw::NotYetValid, "not yet valid"),
        (Flaw::LongLifetime, "lifetime is over 600 s"),
        (Flaw::WrongKey, "bad signature"),
        (Flaw::BadSignature, "bad signature"),
        (Flaw::MissingSignature, "signature"),
        (Flaw::AlgNone, "alg \"none\" is not allowed"),
        (Flaw::WrongAudience, "wrong aud"),
        (Flaw::IssuerNotClientId, "is not the company's client_id"),
        (Flaw::UnknownKid, "unknown kid"),
    ] {
        let ask = Ask::new(details.clone()).flaw(flaw);
        let link = s
            .shop
            .link("shop.test", &s.shop.publish_request("shop.test", &ask));
        refused(&s, s.cmd(&["connect", &link]), &[says]);
    }
    // A request published on another host than the client id's.
    let uri = s
        .shop
        .publish_request("other.test", &Ask::new(details.clone()));
    refused(
        &s,
        s.cmd(&["connect", &s.shop.link("shop.test", &uri)]),
        &["the request is on another host (other.test:"],
    );
    // Replayed: the same jti a second time, even in a fresh document.
    let first = Ask::new(details.clone());
    s.connect(&first);
    let again = Ask::new(details).jti(&first.jti);
    let link = s
        .shop
        .link("shop.test", &s.shop.publish_request("shop.test", &again));
    refused(
        &s,
        s.cmd(&["connect", &link]),
        &["replayed jti", &first.jti],
    );
}

#[test]
fn oversized_and_slow_documents_are_refused() {
    let s = Linked::new();
    let ask = Ask::new(contact_and_health());
    // A metadata document over 16 KiB.
    let mut meta = s.shop.metadata("other.test");
    meta["contacts"] = json!(vec!["x".repeat(100); 200]);
    s.shop.set_metadata("other.test", meta);
    let uri = s.shop.publish_request("other.test", &ask);
    refused(
        &s,
        s.cmd(&["connect", &s.shop.link("other.test", &uri)]),
        &["larger than"],
    );
    // A request object over 32 KiB.
    s.shop.publish(
        "shop.test",
        "/custodian/requests/big",
        &vec![b'e'; 40 * 1024],
        "application/oauth-authz-req+jwt",
    );
    let link = s.shop.link(
        "shop.test",
        &s.shop.url("shop.test", "/custodian/requests/big"),
    );
    refused(
        &s,
        s.cmd(&["connect", &link]),
        &["the answer is larger than 32768 bytes"],
    );
    // A request object that trickles in a byte every half second.
    s.shop.publish_slow(
        "shop.test",
        "/custodian/requests/slow",
        &[b'e'; 200],
        Duration::from_millis(500),
    );
    let link = s.shop.link(
        "shop.test",
        &s.shop.url("shop.test", "/custodian/requests/slow"),
    );
    refused(
        &s,
        s.cmd(&["connect", &link]),
        &["no complete answer within 15s: timed out"],
    );
}
