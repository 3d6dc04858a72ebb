//! The feed: what is taken, what is refused and logged, and the cursor.

use jsonwebtoken::Algorithm;
use serde_json::json;

use super::*;
use crate::linked::connect::tests::connect;
use crate::linked::request_object::tests::{company_jwks, sign, CLIENT};
use crate::sharing::request::Approval;
use crate::testing::memory_store;

fn purchases() -> Value {
    json!([
        {"type": "pod_access", "paths": ["/purchases/"], "actions": ["append", "read"],
         "purpose": "Your receipts"}
    ])
}

/// A linked grant that may append to `/purchases/`: (store guard, store, grant id, pod id).
fn appending() -> (tempfile::TempDir, Store, String, String) {
    let (d, store) = memory_store();
    let r = connect(&store, "j1", purchases());
    let g = store.approve_request(&r.id, &Approval::default()).unwrap();
    let pod = store.pod_identity().unwrap().id;
    (d, store, g.id, pod)
}

fn item(pod: &str, grant: &str, jti: &str, container: &str, slug: &str) -> String {
    let claims = json!({
        "iss": CLIENT, "aud": pod, "iat": 1_764_489_700, "jti": jti, "grant_id": grant,
        "item": {"container": container, "slug": slug, "content_type": "application/json",
                 "content": {"order": slug}}
    });
    sign(Algorithm::EdDSA, Some("ed"), Some(TYP), &claims)
}

#[test]
fn a_grant_that_may_append_has_a_feed_with_its_cursor() {
    let (_d, store, grant, pod) = appending();
    let due = store.due_feeds().unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(
        (
            due[0].grant_id.as_str(),
            due[0].client_id.as_str(),
            due[0].cursor.as_str()
        ),
        (grant.as_str(), CLIENT, "")
    );
    assert_eq!(due[0].feed_uri, "https://shop.test/custodian/feed");
    store
        .accept_feed(
            &grant,
            &[item(&pod, &grant, "i1", "/purchases/", "o1")],
            Some("c1"),
        )
        .unwrap();
    assert_eq!(store.due_feeds().unwrap()[0].cursor, "c1");
    // No next: the cursor stays.
    store.accept_feed(&grant, &[], None).unwrap();
    assert_eq!(store.due_feeds().unwrap()[0].cursor, "c1");
    // A read-only linked grant has no feed; a revoked one neither.
    let r = connect(&store, "j2", crate::linked::connect::tests::contact_read());
    store.approve_request(&r.id, &Approval::default()).unwrap();
    assert_eq!(store.due_feeds().unwrap().len(), 1);
    store.revoke_grant(&grant).unwrap();
    assert!(store.due_feeds().unwrap().is_empty());
    assert!(matches!(
        store.accept_feed(&grant, &[], None),
        Err(Error::InvalidGrant(_))
    ));
}

#[test]
fn good_items_land_and_bad_ones_are_refused_and_logged() {
    let (_d, store, grant, pod) = appending();
    let good = item(&pod, &grant, "i1", "/purchases/", "order-1");
    let mut tampered = item(&pod, &grant, "i2", "/purchases/", "order-2");
    tampered.push('A');
    let items = vec![
        good.clone(),
        tampered,
        item(&pod, &grant, "i3", "/contact/", "x"),
        item("another-pod", &grant, "i4", "/purchases/", "o4"),
        item(&pod, "grt_other", "i5", "/purchases/", "o5"),
        good,
        item(&pod, &grant, "i6", "/purchases/", "order-6"),
    ];
    let out = store.accept_feed(&grant, &items, Some("c7")).unwrap();
    assert_eq!(out.stored, ["/purchases/order-1", "/purchases/order-6"]);
    assert_eq!(out.refused.len(), 5, "{:?}", out.refused);
    for (reason, says) in out.refused.iter().zip([
        "signature",
        "grant does not allow",
        "wrong aud",
        "another grant",
        "replayed jti",
    ]) {
        assert!(reason.contains(says), "{reason} / {says}");
    }
    let stored = store
        .get(&crate::parse_path("/purchases/order-1").unwrap(), None)
        .unwrap();
    assert_eq!(stored.content, br#"{"order":"order-1"}"#);
    assert_eq!(stored.meta.author, crate::Author::Client(CLIENT.into()));
    let feed: Vec<(Outcome, Option<String>)> = store
        .audit_log(&Default::default())
        .unwrap()
        .into_iter()
        .filter(|e| e.action == Action::Feed)
        .map(|e| (e.outcome, e.path))
        .collect();
    use Outcome::{Allowed, Denied};
    assert_eq!(
        feed.iter().map(|(o, _)| *o).collect::<Vec<_>>(),
        [Allowed, Denied, Denied, Denied, Denied, Denied, Allowed]
    );
    assert_eq!(feed[0].1.as_deref(), Some("/purchases/order-1"));
    // The company's own append is an update its grant sees (it may read
    // /purchases/): queued like any other write.
    let events: Vec<String> = store
        .deliveries(Default::default())
        .unwrap()
        .into_iter()
        .map(|d| d.event)
        .collect();
    assert_eq!(events, ["granted", "updated", "updated"]);
}

#[test]
fn each_broken_rule_of_an_item_is_named() {
    let jwks = company_jwks();
    let base = json!({
        "iss": CLIENT, "aud": "pod", "iat": 1, "jti": "i", "grant_id": "grt_1",
        "item": {"container": "/purchases/", "content_base64": "aGk="}
    });
    let check = |claims: &Value, typ: Option<&str>| {
        verify_feed_item(
            &sign(Algorithm::EdDSA, Some("ed"), typ, claims),
            CLIENT,
            "pod",
            "grt_1",
            &jwks,
        )
    };
    let ok = check(&base, Some(TYP)).unwrap();
    assert_eq!(
        (ok.content.as_slice(), ok.content_type.as_str()),
        (&b"hi"[..], OCTET_STREAM)
    );
    let with = |path: &[&str], v: Value| {
        let mut c = base.clone();
        let mut at = &mut c;
        for p in &path[..path.len() - 1] {
            at = &mut at[*p];
        }
        at[path[path.len() - 1]] = v;
        c
    };
    for (claims, typ, says) in [
        (base.clone(), None, "typ"),
        (base.clone(), Some("JWT"), "typ"),
        (with(&["iss"], json!("https://x.test/c")), Some(TYP), "iss"),
        (
            with(&["item", "container"], json!("/purchases/x")),
            Some(TYP),
            "must end in /",
        ),
        (
            with(&["item", "container"], json!("/a/../b/")),
            Some(TYP),
            "container",
        ),
        (
            with(&["item", "content"], json!(1)),
            Some(TYP),
            "exactly one of content",
        ),
        (
            with(&["item", "content_base64"], json!("***")),
            Some(TYP),
            "not base64",
        ),
        (with(&["jti"], json!("")), Some(TYP), "jti"),
    ] {
        match check(&claims, typ) {
            Err(Error::LinkRefused { rule }) => assert!(rule.contains(says), "{says}: {rule}"),
            other => panic!("{says}: {other:?}"),
        }
    }
}

/// A restored vault stands where the feed was, and an item taken before
/// the bundle was made is not taken again.
#[test]
fn a_restored_vault_keeps_its_feed_cursor_and_the_items_taken() {
    use crate::bundle::{export_bundle, restore_bundle, Opener, Seal};
    let (dir, store, grant, pod) = appending();
    let taken = item(&pod, &grant, "i1", "/purchases/", "o1");
    store
        .accept_feed(&grant, std::slice::from_ref(&taken), Some("c1"))
        .unwrap();
    let identity = age::x25519::Identity::generate();
    let seal = Seal::Recipient(Box::new(identity.to_public()));
    let opener = Opener::Identity(Box::new(identity));
    let bundle = dir.path().join("b.custodian.age");
    export_bundle(&store, &bundle, &seal, false, &mut |_| {}).unwrap();
    let target = dir.path().join("restored");
    let pass = crate::SecretString::from("a new passphrase".to_string());
    let restored = restore_bundle(&bundle, &opener, &target, &pass, 4, &mut |_| {}).unwrap();
    let counts = &restored.manifest.counts;
    assert_eq!((counts.feed_cursors, counts.feed_items_seen), (1, 1));
    drop(restored);
    let vault = crate::Vault::open(&target, &pass).unwrap();
    let back = vault.store();
    assert_eq!(back.due_feeds().unwrap()[0].cursor, "c1");
    let out = back.accept_feed(&grant, &[taken], None).unwrap();
    assert!(out.stored.is_empty());
    assert!(out.refused[0].contains("replayed jti"), "{:?}", out.refused);
}

/// Every item of a fetch is taken, however many (the answer is capped at
/// 1 MiB, not at a number of items): none is lost when the cursor moves on.
#[test]
fn every_item_of_a_long_page_is_taken() {
    let (_d, store, grant, pod) = appending();
    let items: Vec<String> = (0..150)
        .map(|i| {
            item(
                &pod,
                &grant,
                &format!("i{i}"),
                "/purchases/",
                &format!("o{i}"),
            )
        })
        .collect();
    let out = store.accept_feed(&grant, &items, Some("c150")).unwrap();
    assert_eq!(
        (out.stored.len(), out.refused.len()),
        (150, 0),
        "{:?}",
        out.refused.first()
    );
}

/// An item's resource and its log entry commit together: when the entry
/// cannot be written, the item is not stored either (its jti stays used).
#[test]
fn an_item_and_its_log_entry_commit_together() {
    let (_d, store, grant, pod) = appending();
    store
        .conn
        .execute_batch(
            "CREATE TEMP TRIGGER no_feed_log BEFORE INSERT ON audit_log WHEN NEW.action = 'feed'
             BEGIN SELECT RAISE(ABORT, 'log full'); END;",
        )
        .unwrap();
    let one = item(&pod, &grant, "i1", "/purchases/", "o1");
    assert!(
        matches!(
            store.accept_feed(&grant, &[one], None),
            Err(Error::Database(_))
        ),
        "the log's failure stops the take"
    );
    let path = crate::parse_path("/purchases/o1").unwrap();
    assert!(
        store.live_meta(&path).unwrap().is_none(),
        "the write rolled back"
    );
}

/// A company that rotated its keys: an item signed by a key the stored set
/// lacks is noticed (so the desktop fetches `jwks_uri` again), refused until
/// the new set is stored, then taken.
#[test]
fn a_rotated_key_is_taken_once_the_set_is_fetched_again() {
    let (_d, store, grant, pod) = appending();
    let one = item(&pod, &grant, "i1", "/purchases/", "o1");
    // Connected when the company's set held only its P-256 key.
    let all = company_jwks().json;
    let old = json!({"keys": [all["keys"][1].clone()]});
    store
        .conn
        .execute(
            "UPDATE linked_clients SET jwks = ?1, jwks_uri = 'https://shop.test/custodian/jwks.json'",
            [old.to_string()],
        )
        .unwrap();
    let target = store.due_feeds().unwrap().remove(0);
    assert_eq!(
        target.jwks_uri.as_deref(),
        Some("https://shop.test/custodian/jwks.json")
    );
    assert!(names_unknown_kid(&target.jwks, std::slice::from_ref(&one)));
    let out = store
        .accept_feed(&grant, std::slice::from_ref(&one), None)
        .unwrap();
    assert!(out.refused[0].contains("kid"), "{:?}", out.refused);

    store
        .refresh_company_keys(CLIENT, all.to_string().as_bytes())
        .unwrap();
    let target = store.due_feeds().unwrap().remove(0);
    assert!(!names_unknown_kid(&target.jwks, std::slice::from_ref(&one)));
    let again = item(&pod, &grant, "i2", "/purchases/", "o2");
    let out = store.accept_feed(&grant, &[again], None).unwrap();
    assert_eq!(out.stored, ["/purchases/o2"]);
    // A set that is not one is refused; a company without jwks_uri has
    // nothing to fetch again.
    assert!(matches!(
        store.refresh_company_keys(CLIENT, b"{}"),
        Err(Error::LinkRefused { rule }) if rule.contains("no keys list")
    ));
    store
        .conn
        .execute("UPDATE linked_clients SET jwks_uri = NULL", [])
        .unwrap();
    assert!(matches!(
        store.refresh_company_keys(CLIENT, all.to_string().as_bytes()),
        Err(Error::InvalidRequest(why)) if why.contains("publishes jwks_uri")
    ));
}
