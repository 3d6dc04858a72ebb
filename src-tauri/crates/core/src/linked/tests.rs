//! The outbox end to end in the store: what each decision and write
//! queues for a linked company (and never for a device-flow one), what a
//! restore and a merge keep, and what commits together. (Sending them is
//! `sending_tests`.)

use std::sync::Arc;

use chrono::{Timelike, Utc};
use serde_json::{json, Value};

use super::connect::tests::{connect, contact_read};
use super::*;
use crate::clock::ManualClock;
use crate::data::path::parse_path;
use crate::data::resource::NewResource;
use crate::sharing::receipts::jws;
use crate::sharing::request::Approval;
use crate::testing::{granted_token, memory_store};

pub(super) const CLIENT: &str = super::request_object::tests::CLIENT;

pub(super) fn put(store: &Store, path: &str, value: Value) {
    store
        .put(&parse_path(path).unwrap(), NewResource::json(&value))
        .unwrap();
}

/// The claims of a queued delivery's signed body.
pub(super) fn claims_of(body: &str) -> Value {
    jws::parts(body).unwrap().payload
}

pub(super) fn statuses(store: &Store) -> Vec<(String, String)> {
    store
        .deliveries(DeliveryFilter::default())
        .unwrap()
        .into_iter()
        .map(|d| (d.event, d.status))
        .collect()
}

pub(super) fn clocked() -> (tempfile::TempDir, Store, ManualClock) {
    let (d, mut store) = memory_store();
    let clock = ManualClock::new(Utc::now().with_nanosecond(0).unwrap());
    store.set_clock(Arc::new(clock.clone()));
    (d, store, clock)
}

#[test]
fn approval_queues_the_grant_with_what_it_covers_signed_by_the_pod() {
    let (_d, store) = memory_store();
    put(
        &store,
        "/contact/email",
        json!({"email": "ada@example.org"}),
    );
    put(&store, "/contact/phone", json!("+44"));
    put(&store, "/notes/secret", json!("not shared"));
    let request = connect(&store, "j1", contact_read());
    let grant = store
        .approve_request(&request.id, &Approval::default())
        .unwrap();
    let due = store.due_deliveries(10).unwrap();
    assert_eq!(due.len(), 1);
    let d = &due[0];
    assert_eq!((d.event.as_str(), d.attempts), ("granted", 0));
    assert_eq!(d.target, "https://shop.test/custodian/deliveries");
    assert_eq!(d.grant_id.as_deref(), Some(grant.id.as_str()));
    let c = claims_of(&d.body);
    let pod = store.pod_identity().unwrap();
    assert_eq!(c["iss"], json!(pod.id));
    assert_eq!(c["aud"], CLIENT);
    assert_eq!(c["jti"], json!(d.id));
    assert_eq!(c["state"], "st-1");
    assert_eq!(
        (c["seq"].as_i64(), c["request_id"].as_str()),
        (Some(1), Some(request.id.as_str()))
    );
    let e = &c["event"];
    assert_eq!(e["grant"]["id"], json!(grant.id));
    assert_eq!(
        (e["part"].as_i64(), e["parts"].as_i64()),
        (Some(1), Some(1))
    );
    let paths: Vec<&str> = e["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["/contact/email", "/contact/phone"]);
    assert_eq!(
        e["resources"][0]["content"],
        json!({"email": "ada@example.org"})
    );
    // The receipt it carries is the grant's own.
    let receipt = store.receipts_for_grant(&grant.id).unwrap().remove(0);
    assert_eq!(e["consent_receipt"], json!(receipt.jws));
    jws::check_signature(&d.body, &pod).unwrap();
}

#[test]
fn device_flow_grants_queue_nothing() {
    let (_d, store) = memory_store();
    let (grant_id, _token) = granted_token(&store);
    put(&store, "/contact/email", json!("x"));
    store.revoke_grant(&grant_id).unwrap();
    assert_eq!(statuses(&store), []);
    assert_eq!(store.next_delivery_at().unwrap(), None);
}

#[test]
fn writes_a_linked_grant_sees_are_queued_in_order() {
    let (_d, store) = memory_store();
    let request = connect(&store, "j1", contact_read());
    store
        .approve_request(&request.id, &Approval::default())
        .unwrap();
    put(&store, "/contact/email", json!("a"));
    put(&store, "/contact/email", json!("a")); // the same: nothing changes
    put(&store, "/contact/email", json!("b"));
    put(&store, "/notes/x", json!("outside the grant"));
    store
        .delete(&parse_path("/contact/email").unwrap())
        .unwrap();
    let all = store.deliveries(DeliveryFilter::default()).unwrap();
    let seen: Vec<(i64, String)> = all.iter().map(|d| (d.seq, d.event.clone())).collect();
    assert_eq!(
        seen,
        [
            (1, "granted"),
            (2, "updated"),
            (3, "updated"),
            (4, "updated")
        ]
        .map(|(n, e)| (n, e.to_string()))
    );
    // The request's whole queue is due, in order (the sender stops at the
    // first delivery that does not go through), each signed with its seq.
    let due = store.due_deliveries(10).unwrap();
    assert_eq!(
        due.iter().map(|d| d.event.as_str()).collect::<Vec<_>>(),
        ["granted", "updated", "updated", "updated"]
    );
    let claims: Vec<Value> = due.iter().map(|d| claims_of(&d.body)).collect();
    assert_eq!(
        claims.iter().map(|c| c["seq"].clone()).collect::<Vec<_>>(),
        [json!(1), json!(2), json!(3), json!(4)]
    );
    assert_eq!(claims[1]["event"]["changes"][0]["change"], "added");
    assert_eq!(claims[1]["event"]["changes"][0]["content"], "a");
    assert_eq!(claims[2]["event"]["changes"][0]["change"], "changed");
    assert_eq!(claims[2]["event"]["changes"][0]["content"], "b");
    assert_eq!(
        claims[3]["event"]["changes"],
        json!([{"change": "deleted", "path": "/contact/email"}])
    );
}

#[test]
fn a_sensitive_mark_takes_a_resource_out_of_what_the_grant_sees() {
    let (_d, store) = memory_store();
    put(&store, "/contact/email", json!("a"));
    let request = connect(&store, "j1", contact_read());
    store
        .approve_request(&request.id, &Approval::default())
        .unwrap();
    store
        .set_sensitive(&parse_path("/contact/email").unwrap(), true)
        .unwrap();
    let all = store.deliveries(DeliveryFilter::default()).unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[1].event, "updated");
}

#[test]
fn denial_and_the_end_of_a_grant_are_delivered_and_its_data_goes_moot() {
    let (_d, store) = memory_store();
    let denied = connect(&store, "j1", contact_read());
    store.deny_request(&denied.id).unwrap();
    let due = store.due_deliveries(10).unwrap();
    assert_eq!(due.len(), 1);
    let c = claims_of(&due[0].body);
    assert_eq!(c["event"]["type"], "denied");
    assert!(c.get("grant_id").is_none(), "{c}");

    let request = connect(&store, "j2", contact_read());
    let grant = store
        .approve_request(&request.id, &Approval::default())
        .unwrap();
    put(&store, "/contact/email", json!("a"));
    store.revoke_grant(&grant.id).unwrap();
    let filter = DeliveryFilter {
        grant_id: Some(grant.id.clone()),
        ..Default::default()
    };
    let events: Vec<(String, String)> = store
        .deliveries(filter)
        .unwrap()
        .into_iter()
        .map(|d| (d.event, d.status))
        .collect();
    assert_eq!(
        events,
        [
            ("granted", "moot"),
            ("updated", "moot"),
            ("revoked", "queued")
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    let due = store.due_deliveries(10).unwrap();
    let revoked = due.iter().find(|d| d.event == "revoked").unwrap();
    let c = claims_of(&revoked.body);
    assert_eq!(c["seq"], 3);
    let receipt = store.receipts_for_grant(&grant.id).unwrap().remove(0);
    assert_eq!(c["event"]["consent_receipt"], json!(receipt.jws));
    assert_eq!(c["event"]["type"], "revoked");
}

#[test]
fn cutting_a_company_off_and_expiry_are_delivered() {
    let (_d, store, clock) = clocked();
    let a = connect(&store, "j1", contact_read());
    let ga = store
        .approve_request(
            &a.id,
            &Approval {
                lifetime: Some(60),
                ..Default::default()
            },
        )
        .unwrap();
    let b = connect(&store, "j2", contact_read());
    let gb = store.approve_request(&b.id, &Approval::default()).unwrap();
    clock.advance(chrono::Duration::seconds(61));
    store.record_expirations().unwrap();
    store.revoke_client(CLIENT).unwrap();
    let events = |g: &str| -> Vec<String> {
        store
            .deliveries(DeliveryFilter {
                grant_id: Some(g.to_string()),
                ..Default::default()
            })
            .unwrap()
            .into_iter()
            .map(|d| format!("{} {}", d.event, d.status))
            .collect()
    };
    assert_eq!(events(&ga.id), ["granted moot", "expired queued"]);
    assert_eq!(events(&gb.id), ["granted moot", "revoked queued"]);
}

#[test]
fn a_restored_vault_still_knows_its_linked_companies_and_counts_on() {
    use crate::bundle::{export_bundle, merge_bundle, restore_bundle, Opener, Seal};
    let (dir, store) = memory_store();
    let request = connect(&store, "j1", contact_read());
    store
        .approve_request(&request.id, &Approval::default())
        .unwrap();
    put(&store, "/contact/email", json!("a"));
    let identity = age::x25519::Identity::generate();
    let seal = Seal::Recipient(Box::new(identity.to_public()));
    let opener = Opener::Identity(Box::new(identity));
    let bundle = dir.path().join("b.custodian.age");
    export_bundle(&store, &bundle, &seal, false, &mut |_| {}).unwrap();

    let target = dir.path().join("restored");
    let pass = crate::SecretString::from("a new passphrase".to_string());
    let before = chrono::Utc::now().timestamp_millis();
    let restored = restore_bundle(&bundle, &opener, &target, &pass, 4, &mut |_| {}).unwrap();
    assert_eq!(
        (
            restored.manifest.counts.linked_clients,
            restored.manifest.counts.linked_requests,
            restored.manifest.counts.deliveries_owed
        ),
        (1, 1, 2)
    );
    drop(restored);
    let vault = crate::Vault::open(&target, &pass).unwrap();
    let back = vault.store();
    assert_eq!(
        back.linked_company(CLIENT).unwrap(),
        store.linked_company(CLIENT).unwrap()
    );
    assert!(back.access_request(&request.id).unwrap().company.is_some());
    assert!(back.client(CLIENT).unwrap().verified);
    // What was still owed travelled, as signed: the restored vault sends
    // it, byte for byte, in the same order.
    let owed = |s: &Store| -> Vec<(String, String, String)> {
        s.conn
            .prepare("SELECT id, body, status FROM outbox ORDER BY seq")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    };
    assert_eq!(owed(back).len(), 2);
    assert_eq!(owed(back), owed(&store));
    // The grant goes on, and its count jumps past any number the old
    // vault may have used after the bundle was made.
    put(back, "/contact/email", json!("b"));
    let last = back
        .deliveries(DeliveryFilter::default())
        .unwrap()
        .pop()
        .unwrap();
    assert!(last.seq > before, "{} after {before}", last.seq);
    // Merging the same bundle back adds no delivery twice (same id).
    let report = merge_bundle(&store, &bundle, &opener, &mut |_| {}).unwrap();
    assert_eq!(report.deliveries_added, 0);
    assert_eq!(owed(&store).len(), 2);
    // Into another vault, a merge brings them.
    let (_d3, fresh) = memory_store();
    let report = merge_bundle(&fresh, &bundle, &opener, &mut |_| {}).unwrap();
    assert_eq!(report.deliveries_added, 2);
    assert_eq!(owed(&fresh)[..2], owed(&store)[..]);

    // A merge adds resources like any write: the linked grant is told.
    let (_d2, source) = memory_store();
    put(&source, "/contact/phone", json!("+44"));
    let other = dir.path().join("other.custodian.age");
    export_bundle(&source, &other, &seal, false, &mut |_| {}).unwrap();
    let report = merge_bundle(&store, &other, &opener, &mut |_| {}).unwrap();
    assert_eq!(report.added, ["/contact/phone"]);
    let last = store
        .deliveries(DeliveryFilter::default())
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!((last.event.as_str(), last.seq), ("updated", 3));
}

/// A decision and its delivery are one commit: when the delivery cannot
/// be queued, the decision is not made either (and the same for a write).
#[test]
fn a_decision_and_its_delivery_commit_together() {
    let (_d, store) = memory_store();
    let request = connect(&store, "j1", contact_read());
    crate::testing::refuse_inserts(&store, "outbox");
    assert!(store
        .approve_request(&request.id, &Approval::default())
        .is_err());
    assert!(store.grants().unwrap().is_empty());
    assert_eq!(
        store.access_request(&request.id).unwrap().status,
        crate::sharing::request::RequestStatus::Pending
    );
    crate::testing::allow_inserts(&store, "outbox");
    store
        .approve_request(&request.id, &Approval::default())
        .unwrap();
    crate::testing::refuse_inserts(&store, "outbox");
    let email = parse_path("/contact/email").unwrap();
    assert!(store.put(&email, NewResource::json(&json!("a"))).is_err());
    assert!(
        store.live_meta(&email).unwrap().is_none(),
        "the write rolled back"
    );
}

#[test]
fn large_content_is_named_by_its_size_and_never_read_for_a_delivery() {
    use crate::data::resource::{NewMeta, CHUNK, OCTET_STREAM};
    let (_d, store) = memory_store();
    let put_bytes = |path: &str, len: usize| {
        let bytes = vec![b'z'; len];
        store
            .put_stream(
                &parse_path(path).unwrap(),
                NewMeta::of_type(OCTET_STREAM),
                &mut &bytes[..],
                None,
                &crate::Author::Owner,
                &mut |_| {},
            )
            .unwrap();
    };
    put_bytes("/contact/scan", 2 * CHUNK);
    put_bytes("/contact/card", 300 * 1024);
    // Damaged: reading it would fail the approval. It is never read.
    store
        .conn
        .execute(
            "UPDATE blob_chunks SET data = randomblob(length(data))
             WHERE blob_id = (SELECT blob_id FROM resource_versions WHERE path = '/contact/scan')",
            [],
        )
        .unwrap();
    let request = connect(&store, "j1", contact_read());
    store
        .approve_request(&request.id, &Approval::default())
        .unwrap();
    let due = store.due_deliveries(10).unwrap();
    let e = &claims_of(&due[0].body)["event"];
    let scan = &e["resources"][1];
    assert_eq!(scan["path"], "/contact/scan");
    assert_eq!(scan["content_omitted"], "too_large");
    assert_eq!(scan["size"], json!(2 * CHUNK));
    let card = &e["resources"][0];
    assert_eq!(
        card["content_base64"].as_str().map(str::len),
        Some(300 * 1024 / 3 * 4)
    );
    // A later write of large content is announced the same way.
    put_bytes("/contact/scan", 3 * CHUNK);
    let all = store.deliveries(DeliveryFilter::default()).unwrap();
    store.send_now(&all[1].id).unwrap();
    let updated = store
        .due_deliveries(10)
        .unwrap()
        .into_iter()
        .find(|d| d.id == all[1].id)
        .unwrap();
    let change = &claims_of(&updated.body)["event"]["changes"][0];
    assert_eq!(change["content_omitted"], "too_large");
    assert_eq!(change["size"], json!(3 * CHUNK));
}
