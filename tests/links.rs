//! Companies on the internet, end to end: a real HTTPS company (the test
//! company in `src/shop`, names such as `shop.test` pointed at 127.0.0.1
//! by the test-only resolver, a certificate from a CA made in the test)
//! and the real `custodian` binary. A link is fetched and shown with the
//! company's verified domain; the person answers with `requests
//! approve/deny`; `custodian deliver` (once, or `--watch`) sends the
//! answer, the granted data, later changes, revocation and expiry, which
//! the company verifies as any company would; a large grant comes in
//! parts under 1 MiB each. An outage is retried in order with a stable
//! `jti`, a killed CLI loses nothing, and an append feed stores the good
//! item and refuses the bad ones.
//! (Hostile links: `links_refused.rs`.)

use std::collections::HashSet;
use std::time::Duration;

use custodian_core::parse_path;
use custodian_e2e::company::{contact_and_health, open};
use custodian_e2e::linked::{eventually, json_of, Linked, SOON};
use custodian_e2e::shop::{jose, Ask, Outage, Verified};
use custodian_e2e::TestVault;
use serde_json::{json, Value};

/// The paths of every `authorization_details` item.
fn granted_paths(details: &Value) -> HashSet<String> {
    details
        .as_array()
        .expect("authorization_details")
        .iter()
        .flat_map(|d| d["paths"].as_array().cloned().unwrap_or_default())
        .filter_map(|p| p.as_str().map(str::to_string))
        .collect()
}

/// The ETag the vault holds for `path` now.
fn etag(v: &TestVault, path: &str) -> String {
    let vault = open(v);
    let etag = vault
        .store()
        .get(&parse_path(path).unwrap(), None)
        .unwrap()
        .meta
        .etag;
    etag.trim_matches('"').to_string()
}

fn unquote(v: &Value) -> String {
    v.as_str().unwrap_or_default().trim_matches('"').to_string()
}

#[test]
fn a_link_is_shown_verified_answered_narrower_and_kept_up_to_date() {
    let s = Linked::new();
    let client_id = s.shop.client_id("shop.test");
    let ask = Ask::new(contact_and_health());
    let link = s
        .shop
        .link("shop.test", &s.shop.publish_request("shop.test", &ask));

    // The request, as printed by `connect`, names the verified domain.
    let text = s.ok(&["connect", &link]);
    assert!(text.contains("shop.test"), "{text}");
    assert!(text.to_lowercase().contains("verified"), "{text}");
    let listed = s.requests();
    let mine: Vec<&Value> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            r["company"]["domain"]
                .as_str()
                .is_some_and(|d| d.contains("shop.test"))
        })
        .collect();
    assert_eq!(mine.len(), 1, "{listed:#}");
    assert_eq!(mine[0]["company"]["verified"], true);
    assert_eq!(mine[0]["status"], "pending");
    let id = mine[0]["id"].as_str().unwrap().to_string();
    let shown = s.ok(&["requests", "show", &id]);
    assert!(
        shown.contains("shop.test") && shown.contains("Delivering your orders"),
        "{shown}"
    );
    assert!(!shown.contains("unverified"), "{shown}");

    // Approved narrower: contact data and the preferences, no health data.
    s.ok(&[
        "requests",
        "approve",
        &id,
        "--only",
        "/contact/",
        "--only",
        "/preferences/communication",
    ]);
    let summary = s.ok(&["deliver", "--json"]);
    json_of(&summary);
    let got = s.shop.wait_deliveries("shop.test", 1, SOON);
    let granted = &got[0];
    assert_eq!(granted.event(), "granted", "{:#}", granted.claims);
    assert_eq!(granted.state(), ask.state);
    assert_eq!(granted.seq(), 1);
    assert_eq!(granted.claims["aud"], client_id.as_str());
    let event = &granted.claims["event"];
    let grant_id = event["grant"]["id"]
        .as_str()
        .expect("the grant's id")
        .to_string();
    assert_eq!(granted.claims["grant_id"], grant_id.as_str());
    assert_eq!(
        granted_paths(&event["grant"]["authorization_details"]),
        HashSet::from([
            "/contact/".to_string(),
            "/preferences/communication".to_string()
        ])
    );
    assert!(event["grant"]["expires_at"].is_string(), "{event:#}");
    assert_eq!((&event["part"], &event["parts"]), (&json!(1), &json!(1)));
    // Every covered resource, with content and ETag; nothing else.
    let resources = event["resources"].as_array().expect("resources");
    let by_path: std::collections::BTreeMap<String, &Value> = resources
        .iter()
        .map(|r| (r["path"].as_str().unwrap().to_string(), r))
        .collect();
    assert_eq!(
        by_path.keys().cloned().collect::<Vec<_>>(),
        [
            "/contact/email",
            "/contact/phone",
            "/preferences/communication"
        ],
        "{resources:#?}"
    );
    assert_eq!(
        by_path["/contact/email"]["content"],
        json!({"email": "ada@example.org"})
    );
    assert_eq!(
        by_path["/contact/email"]["content_type"],
        "application/json"
    );
    for (path, r) in &by_path {
        assert_eq!(unquote(&r["etag"]), etag(&s.v, path), "{path}");
    }
    // The consent receipt verifies with jwt-simple and the pod's key.
    let receipt = jose::verify_receipt(
        event["consent_receipt"]
            .as_str()
            .expect("a consent receipt"),
        granted,
        &client_id,
    )
    .unwrap();
    assert!(receipt.to_string().contains(&grant_id), "{receipt:#}");

    // While `deliver --watch` runs, writes to covered paths reach the
    // company within seconds; a write outside the grant does not.
    let watch = s.watch();
    s.ok(&["put", "/finance/bank", "--json", r#"{"iban": "GB99"}"#]);
    s.ok(&[
        "put",
        "/contact/email",
        "--json",
        r#"{"email": "ada@new.example"}"#,
    ]);
    let got = s.shop.wait_deliveries("shop.test", 2, SOON);
    let updated = &got[1];
    assert_eq!(updated.event(), "updated", "{:#}", updated.claims);
    assert_eq!(updated.seq(), 2);
    let changes = updated.claims["event"]["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{changes:#?}");
    assert_eq!(changes[0]["change"], "changed");
    assert_eq!(changes[0]["path"], "/contact/email");
    assert_eq!(changes[0]["content"], json!({"email": "ada@new.example"}));
    assert_eq!(unquote(&changes[0]["etag"]), etag(&s.v, "/contact/email"));

    s.ok(&["prefs", "set", "channels.sms", "true"]);
    let got = s.shop.wait_deliveries("shop.test", 3, SOON);
    let prefs = &got[2];
    assert_eq!(prefs.event(), "updated");
    assert_eq!(prefs.seq(), 3);
    let change = &prefs.claims["event"]["changes"][0];
    assert_eq!(
        change["path"], "/preferences/communication",
        "{:#}",
        prefs.claims
    );
    assert!(change["content"].to_string().contains("sms"), "{change:#}");

    // Revoked: the company is told, with the receipt of the withdrawal.
    s.ok(&["grants", "revoke", &grant_id]);
    let got = s.shop.wait_deliveries("shop.test", 4, SOON);
    let revoked = &got[3];
    assert_eq!(revoked.event(), "revoked");
    assert_eq!(revoked.seq(), 4);
    assert!(revoked.claims["event"]["at"].is_string());
    jose::verify_receipt(
        revoked.claims["event"]["consent_receipt"].as_str().unwrap(),
        revoked,
        &client_id,
    )
    .unwrap();
    // After the grant ended, writes are no longer delivered.
    s.ok(&["put", "/contact/phone", "--json", r#"{"phone": "0"}"#]);
    drop(watch);
    s.ok(&["deliver"]);
    assert_eq!(s.shop.seen(|seen| seen.unique_to("shop.test").len()), 4);

    // Same pod, same key in every delivery; nothing refused by the company.
    let pods: HashSet<String> = got.iter().map(|d| d.pod_id().to_string()).collect();
    assert_eq!(pods.len(), 1);
    assert_eq!(s.shop.seen(|seen| seen.rejected.clone()), vec![]);
    // The CLI says what was delivered; the log has each attempt.
    let events = eventually("four deliveries recorded as delivered", || {
        let statuses = s.deliveries();
        let list = statuses.as_array().unwrap();
        list.iter()
            .all(|d| d["status"] == "delivered")
            .then(|| list.iter().map(|d| d["event"].clone()).collect::<Vec<_>>())
    });
    assert_eq!(events, ["granted", "updated", "updated", "revoked"]);
    let log = json_of(&s.ok(&["log", "--json"]));
    let delivers = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "deliver" && e["outcome"] == "allowed")
        .count();
    assert_eq!(delivers, 4, "{log:#}");
    assert!(log.to_string().contains("\"connect\""), "{log:#}");
}

#[test]
fn a_denial_is_delivered_with_its_refusal_receipt() {
    let s = Linked::new();
    let ask = Ask::new(contact_and_health());
    let request = s.connect(&ask);
    s.ok(&["requests", "deny", request["id"].as_str().unwrap()]);
    s.ok(&["deliver"]);
    let got = s.shop.wait_deliveries("shop.test", 1, SOON);
    assert_eq!(got[0].event(), "denied");
    assert_eq!(got[0].state(), ask.state);
    assert!(
        got[0].claims.get("grant_id").is_none(),
        "{:#}",
        got[0].claims
    );
    let receipt = jose::verify_receipt(
        got[0].claims["event"]["consent_receipt"].as_str().unwrap(),
        &got[0],
        &s.shop.client_id("shop.test"),
    )
    .unwrap();
    assert!(
        receipt.to_string().contains("denied") || receipt.to_string().contains("refused"),
        "{receipt:#}"
    );
}

/// A grant of two seconds, and the moment it has ended by the clock.
fn short_grant(s: &Linked) -> Verified {
    let ask = Ask::new(contact_and_health());
    let (_, granted) = s.granted(&ask, &["--expires", "2s"]);
    let ends = chrono::DateTime::parse_from_rfc3339(
        granted.claims["event"]["grant"]["expires_at"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    // Readiness by the clock itself: the vault decides with the same one.
    while chrono::Utc::now() <= ends {
        std::thread::sleep(Duration::from_millis(100));
    }
    granted
}

fn check_expired(s: &Linked, got: &[Verified]) {
    assert_eq!(got[1].event(), "expired", "{:#}", got[1].claims);
    assert_eq!(got[1].seq(), 2);
    assert_eq!(got[1].claims["grant_id"], got[0].claims["grant_id"]);
    assert!(got[1].claims["event"]["at"].is_string());
    jose::verify_receipt(
        got[1].claims["event"]["consent_receipt"].as_str().unwrap(),
        &got[1],
        &s.shop.client_id("shop.test"),
    )
    .unwrap();
}

#[test]
fn a_short_grant_runs_out_and_the_company_is_told() {
    let s = Linked::new();
    short_grant(&s);
    // `deliver` runs the expiry step itself; a write after the end is not
    // delivered: the grant is over.
    s.ok(&[
        "put",
        "/contact/email",
        "--json",
        r#"{"email": "late@example.org"}"#,
    ]);
    s.ok(&["deliver"]);
    let got = s.shop.wait_deliveries("shop.test", 2, SOON);
    check_expired(&s, &got);
    s.ok(&["deliver"]);
    assert_eq!(s.shop.seen(|seen| seen.unique_to("shop.test").len()), 2);
}

#[test]
fn deliver_watch_wakes_at_a_grants_end_and_tells_the_company() {
    let s = Linked::new();
    short_grant(&s);
    let _watch = s.watch();
    let got = s.shop.wait_deliveries("shop.test", 2, SOON);
    check_expired(&s, &got);
}

/// The company's endpoint is down (`outage`) while three changes are
/// queued: each attempt is refused and retried; once it is back, all
/// arrive in order, each with the `jti` it was first sent with.
fn outage_then_back(outage: Outage) {
    let s = Linked::new();
    let ask = Ask::new(contact_and_health());
    let (_, granted) = s.granted(&ask, &[]);
    assert_eq!(granted.seq(), 1);

    s.shop.set_outage(outage.clone());
    for n in 1..=3 {
        s.ok(&[
            "put",
            "/contact/email",
            "--json",
            &format!(r#"{{"email": "ada+{n}@example.org"}}"#),
        ]);
    }
    s.ok(&["deliver"]);
    s.shop
        .wait_for("an attempt during the outage", SOON, |seen| {
            (seen.outage_attempts > 0).then_some(())
        });
    // The CLI shows the failing delivery, why, and when it is tried next;
    // the ones behind it wait their turn, untried.
    let statuses = s.deliveries();
    let list = statuses.as_array().unwrap();
    let why = match outage {
        Outage::Status { code, .. } => format!("the company answered HTTP {code}"),
        _ => "could not connect".to_string(),
    };
    let head = list.iter().find(|d| d["seq"] == 2).expect("seq 2");
    assert_eq!(head["status"], "queued", "{statuses:#}");
    assert!(head["attempts"].as_u64().unwrap() >= 1, "{statuses:#}");
    assert!(
        head["last_error"].as_str().unwrap().contains(&why),
        "{statuses:#}"
    );
    let at =
        |d: &Value, k: &str| chrono::DateTime::parse_from_rfc3339(d[k].as_str().unwrap()).unwrap();
    if let Outage::Status {
        retry_after: Some(secs),
        code,
    } = outage
    {
        assert_eq!(head["last_status"], code);
        // Retry-After is honoured: it asks longer than the first backoff
        // (5 to 10 s), so the next attempt is exactly that far away.
        let wait = at(head, "next_attempt_at") - at(head, "last_attempt_at");
        assert_eq!(wait.num_milliseconds(), secs as i64 * 1000, "{statuses:#}");
    } else {
        assert!(at(head, "next_attempt_at") > at(head, "last_attempt_at"));
    }
    for seq in [3, 4] {
        let d = list.iter().find(|d| d["seq"] == seq).unwrap();
        assert_eq!(
            (&d["status"], &d["attempts"]),
            (&json!("queued"), &json!(0)),
            "{statuses:#}"
        );
    }
    let table = s.ok(&["deliveries"]);
    assert!(table.contains(&why) && table.contains("next "), "{table}");

    // Back: everything arrives, in order, nothing lost. After a refused
    // connection the next try is seconds away (backoff); "Send now" makes
    // the whole grant's queue due, and one `deliver` sends it.
    s.shop.set_outage(Outage::None);
    let _watch = if outage == Outage::DropConnections {
        let grant = granted.claims["grant_id"].as_str().unwrap();
        let said = s.ok(&["deliveries", "retry", grant]);
        assert!(said.contains('3'), "three deliveries made due: {said}");
        s.ok(&["deliver"]);
        None
    } else {
        Some(s.watch())
    };
    let got = s
        .shop
        .wait_deliveries("shop.test", 4, Duration::from_secs(60));
    let seqs: Vec<u64> = got.iter().map(Verified::seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4]);
    let emails: Vec<Value> = got[1..]
        .iter()
        .map(|d| d.claims["event"]["changes"][0]["content"]["email"].clone())
        .collect();
    assert_eq!(
        emails,
        [
            json!("ada+1@example.org"),
            json!("ada+2@example.org"),
            json!("ada+3@example.org")
        ]
    );
    // The CLI records each answer just after the company saw it.
    eventually("every delivery recorded as delivered", || {
        let statuses = s.deliveries();
        statuses
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["status"] == "delivered")
            .then_some(())
    });
    // Whatever the company saw refused was sent again with the same jti.
    let delivered: HashSet<String> = got.iter().map(|d| d.jti().to_string()).collect();
    for jti in s.shop.seen(|seen| seen.refused_jtis.clone()) {
        assert!(
            delivered.contains(&jti),
            "{jti} was refused and never delivered"
        );
    }
    // At least once: duplicates (if any) are byte-for-byte resends.
    s.shop.seen(|seen| {
        for r in &seen.deliveries {
            let first = got.iter().find(|d| d.jti() == r.delivery.jti()).unwrap();
            assert_eq!(first.raw, r.delivery.raw);
        }
    });
}

#[test]
fn an_endpoint_answering_503_is_retried_and_gets_everything_in_order() {
    outage_then_back(Outage::Status {
        code: 503,
        retry_after: Some(12),
    });
}

#[test]
fn an_endpoint_dropping_connections_is_retried_and_gets_everything_in_order() {
    outage_then_back(Outage::DropConnections);
}

#[test]
fn deliveries_queued_when_the_cli_is_killed_are_sent_after_a_restart() {
    let s = Linked::new();
    let ask = Ask::new(contact_and_health());
    s.granted(&ask, &[]);
    s.shop.set_outage(Outage::Status {
        code: 429,
        retry_after: Some(1),
    });
    let watch = s.watch();
    s.ok(&[
        "put",
        "/contact/email",
        "--json",
        r#"{"email": "ada@killed.example"}"#,
    ]);
    s.shop
        .wait_for("an attempt during the outage", SOON, |seen| {
            (seen.outage_attempts > 0).then_some(())
        });
    s.ok(&["prefs", "set", "channels.sms", "true"]);
    watch.kill();
    s.shop.set_outage(Outage::None);
    let _watch = s.watch();
    let got = s
        .shop
        .wait_deliveries("shop.test", 3, Duration::from_secs(60));
    assert_eq!(got.iter().map(Verified::seq).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(
        got[1].claims["event"]["changes"][0]["path"],
        "/contact/email"
    );
    assert_eq!(
        got[2].claims["event"]["changes"][0]["path"],
        "/preferences/communication"
    );
}

#[test]
fn a_feed_appends_the_good_item_and_refuses_the_bad_ones() {
    let s = Linked::new();
    let ask = Ask::new(json!([{"type": "pod_access", "paths": ["/purchases/"],
        "actions": ["append"], "datatypes": [], "purpose": "Order receipts"}]));
    let request = s.connect(&ask);
    s.ok(&["requests", "approve", request["id"].as_str().unwrap()]);
    s.ok(&["deliver"]);
    let granted = s.shop.wait_deliveries("shop.test", 1, SOON).remove(0);
    assert_eq!(granted.event(), "granted");
    let (pod, grant) = (
        granted.pod_id(),
        granted.claims["grant_id"].as_str().unwrap(),
    );
    let item = |container: &str, slug: &str| {
        json!({"container": container, "slug": slug, "content_type": "application/json",
               "content": {"order": slug, "total": "12.50"}})
    };
    let feed =
        |item: Value, good: bool| s.shop.queue_feed_item("shop.test", pod, grant, item, good);
    let good = feed(item("/purchases/", "order-1234"), true);
    feed(item("/purchases/", "order-666"), false);
    feed(item("/finance/", "order-777"), true);

    let out = s.ok(&["deliver"]);
    assert!(out.contains("stored /purchases/order-1234"), "{out}");
    assert_eq!(out.matches("refused a feed item").count(), 2, "{out}");
    assert_eq!(
        json_of(&s.ok(&["get", "/purchases/order-1234"])),
        json!({"order": "order-1234", "total": "12.50"})
    );
    let listed = s.ok(&["ls", "/purchases/"]);
    assert!(!listed.contains("order-666"), "{listed}");
    let finance = s.ok(&["ls", "/finance/"]);
    assert!(
        !finance.contains("order-777"),
        "nothing outside the grant: {finance}"
    );
    let log = json_of(&s.ok(&["log", "--json"]));
    let feeds: Vec<(String, String)> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "feed")
        .map(|e| (e["outcome"].as_str().unwrap().to_string(), e.to_string()))
        .collect();
    assert_eq!(
        feeds.iter().filter(|(o, _)| o == "allowed").count(),
        1,
        "{feeds:#?}"
    );
    assert_eq!(
        feeds.iter().filter(|(o, _)| o == "denied").count(),
        2,
        "{feeds:#?}"
    );
    assert!(feeds
        .iter()
        .any(|(o, e)| o == "allowed" && e.contains("/purchases/order-1234")));

    // The cursor is kept: nothing is taken twice; a replayed item is refused.
    s.shop.queue_feed_jws("shop.test", grant, &good);
    let out = s.ok(&["deliver"]);
    assert!(out.contains("0 items stored, 1 refused"), "{out}");
    assert!(out.contains("replayed jti"), "{out}");
    assert_eq!(s.ok(&["ls", "/purchases/"]), listed);
}

#[test]
fn a_large_grant_arrives_in_parts_and_a_too_large_resource_without_content() {
    let s = Linked::new();
    {
        let vault = open(&s.v);
        let store = vault.store();
        for (name, kib) in [("a", 300), ("b", 300), ("c", 300), ("huge", 1100)] {
            store
                .put(
                    &parse_path(&format!("/docs/{name}")).unwrap(),
                    custodian_core::NewResource::json(&json!({"text": "x".repeat(kib * 1024)})),
                )
                .unwrap();
        }
    }
    let ask = Ask::new(json!([{"type": "pod_access", "paths": ["/docs/"],
        "actions": ["read"], "datatypes": [], "purpose": "Archiving"}]));
    let request = s.connect(&ask);
    s.ok(&["requests", "approve", request["id"].as_str().unwrap()]);
    s.ok(&["deliver"]);
    let first = s.shop.wait_deliveries("shop.test", 1, SOON).remove(0);
    let parts = first.claims["event"]["parts"].as_u64().unwrap() as usize;
    assert!(parts >= 2, "{} bytes in one part", first.raw.len());
    let got = s.shop.wait_deliveries("shop.test", parts, SOON);
    let mut paths = Vec::new();
    for (i, d) in got.iter().enumerate() {
        assert!(
            d.raw.len() <= 1 << 20,
            "part {} is {} bytes",
            i + 1,
            d.raw.len()
        );
        assert_eq!(d.event(), "granted");
        assert_eq!(d.seq(), i as u64 + 1);
        assert_eq!(d.claims["event"]["part"], i + 1);
        assert_eq!(d.claims["event"]["parts"], parts);
        assert_eq!(d.claims["grant_id"], first.claims["grant_id"]);
        for r in d.claims["event"]["resources"].as_array().unwrap() {
            paths.push(r["path"].as_str().unwrap().to_string());
            if r["path"] == "/docs/huge" {
                assert_eq!(r["content_omitted"], "too_large", "{}", r["path"]);
                assert!(r["size"].as_u64().unwrap() > 1100 * 1024);
                assert!(r.get("content").is_none());
            } else {
                assert_eq!(r["content"]["text"].as_str().unwrap().len(), 300 * 1024);
            }
        }
    }
    assert_eq!(paths, ["/docs/a", "/docs/b", "/docs/c", "/docs/huge"]);
}
