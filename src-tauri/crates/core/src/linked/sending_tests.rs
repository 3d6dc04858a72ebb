//! Sending the outbox in the store: the order deliveries go out in,
//! attempts and their backoff, failures that hold a request's queue, moot
//! deliveries, "Send now", and when there is next something to send.

use std::time::Duration;

use serde_json::json;

use super::connect::tests::{connect, contact_read};
use super::tests::{claims_of, clocked, put, statuses, CLIENT};
use super::*;
use crate::clock::Clock;
use crate::sharing::request::Approval;
use crate::testing::{logged_actions, memory_store};

#[test]
fn attempts_retry_with_backoff_stop_on_failure_and_are_logged() {
    let (_d, store, clock) = clocked();
    let request = connect(&store, "j1", contact_read());
    store.deny_request(&request.id).unwrap();
    let id = store.due_deliveries(1).unwrap().remove(0).id;
    store
        .delivery_attempted_with(
            &id,
            Attempt::Retry {
                reason: "HTTP 503 Service Unavailable".into(),
                retry_after: None,
            },
            1.0,
        )
        .unwrap();
    assert!(
        store.due_deliveries(10).unwrap().is_empty(),
        "not before its time"
    );
    let next = store.next_delivery_at().unwrap().unwrap();
    assert_eq!((next - clock.now()).num_seconds(), 10);
    clock.advance(chrono::Duration::seconds(10));
    let d = store.due_deliveries(10).unwrap().remove(0);
    assert_eq!(d.attempts, 1);
    let body_before = d.body.clone();
    store
        .delivery_attempted_with(
            &id,
            Attempt::Retry {
                reason: "timed out".into(),
                retry_after: Some(Duration::from_secs(120)),
            },
            0.0,
        )
        .unwrap();
    clock.advance(chrono::Duration::seconds(120));
    let d = store.due_deliveries(10).unwrap().remove(0);
    assert_eq!(d.body, body_before, "resent byte for byte");
    store
        .delivery_attempted(
            &id,
            Attempt::Failed {
                reason: "HTTP 400 Bad Request".into(),
            },
        )
        .unwrap();
    assert!(store.due_deliveries(10).unwrap().is_empty(), "failed stops");
    let listed = store
        .deliveries(DeliveryFilter::default())
        .unwrap()
        .remove(0);
    assert_eq!((listed.status.as_str(), listed.attempts), ("failed", 3));
    assert_eq!(listed.last_status, Some(400));
    assert_eq!(store.send_now(&request.id).unwrap(), 1);
    store
        .delivery_attempted(&id, Attempt::Delivered { status: 202 })
        .unwrap();
    let listed = store
        .deliveries(DeliveryFilter::default())
        .unwrap()
        .remove(0);
    assert_eq!(listed.status, "delivered");
    assert!(listed.delivered_at.is_some());
    assert_eq!(
        store.next_delivery_at().unwrap(),
        None,
        "a denial: no grant to end"
    );
    let log = store.audit_log(&Default::default()).unwrap();
    let delivers: Vec<_> = log
        .iter()
        .filter(|e| e.action == crate::audit::Action::Deliver)
        .map(|e| (e.outcome, e.client_id.clone().unwrap_or_default()))
        .collect();
    use crate::audit::Outcome::{Allowed, Denied};
    assert_eq!(
        delivers,
        [Denied, Denied, Denied, Allowed].map(|o| (o, CLIENT.to_string()))
    );
    assert!(matches!(
        store.send_now("grt_nothing"),
        Err(crate::Error::UnknownGrant { .. })
    ));
}

#[test]
fn a_failed_delivery_holds_its_request_but_not_the_others() {
    let (_d, store) = memory_store();
    let a = connect(&store, "j1", contact_read());
    let b = connect(&store, "j2", contact_read());
    store.approve_request(&a.id, &Approval::default()).unwrap();
    store.approve_request(&b.id, &Approval::default()).unwrap();
    put(&store, "/contact/email", json!("a"));
    // Each request's whole queue is due, in order; the sender stops a
    // request at its first delivery that does not go through.
    let due = store.due_deliveries(10).unwrap();
    assert_eq!(
        due.iter().map(|d| d.event.as_str()).collect::<Vec<_>>(),
        ["granted", "granted", "updated", "updated"]
    );
    store
        .delivery_attempted(
            &due[0].id,
            Attempt::Failed {
                reason: "HTTP 404".into(),
            },
        )
        .unwrap();
    store
        .delivery_attempted(&due[1].id, Attempt::Delivered { status: 200 })
        .unwrap();
    let due = store.due_deliveries(10).unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(
        (due[0].event.as_str(), due[0].request_id.as_str()),
        ("updated", b.id.as_str())
    );
    assert_eq!(
        logged_actions(&store)
            .iter()
            .filter(|a| *a == "deliver")
            .count(),
        2
    );
}

#[test]
fn undelivered_ends_are_given_up_after_thirty_days() {
    let (_d, store, clock) = clocked();
    let request = connect(&store, "j1", contact_read());
    store.deny_request(&request.id).unwrap();
    clock.advance(chrono::Duration::days(30));
    assert!(store.due_deliveries(10).unwrap().is_empty());
    assert_eq!(
        statuses(&store),
        [("denied".to_string(), "moot".to_string())]
    );
}

#[test]
fn a_delivery_that_went_moot_while_sent_stays_moot() {
    let (_d, store) = memory_store();
    let request = connect(&store, "j1", contact_read());
    let grant = store
        .approve_request(&request.id, &Approval::default())
        .unwrap();
    let d = store.due_deliveries(1).unwrap().remove(0);
    store.revoke_grant(&grant.id).unwrap();
    store
        .delivery_attempted(
            &d.id,
            Attempt::Retry {
                reason: "HTTP 503".into(),
                retry_after: None,
            },
        )
        .unwrap();
    assert_eq!(
        statuses(&store)[0],
        ("granted".to_string(), "moot".to_string())
    );
    assert_eq!(store.due_deliveries(10).unwrap()[0].event, "revoked");
}

#[test]
fn a_grant_that_runs_out_is_delivered_without_anyone_else_noticing() {
    let (_d, store, clock) = clocked();
    let request = connect(&store, "j1", contact_read());
    let grant = store
        .approve_request(
            &request.id,
            &Approval {
                lifetime: Some(120),
                ..Default::default()
            },
        )
        .unwrap();
    let d = store.due_deliveries(10).unwrap().remove(0);
    store
        .delivery_attempted(&d.id, Attempt::Delivered { status: 200 })
        .unwrap();
    // Nothing queued: the next thing to send is the grant's end.
    assert_eq!(store.next_delivery_at().unwrap(), Some(grant.expires_at));
    clock.advance(chrono::Duration::seconds(120));
    let due = store.due_deliveries(10).unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(claims_of(&due[0].body)["event"]["type"], "expired");
    store
        .delivery_attempted(&due[0].id, Attempt::Delivered { status: 200 })
        .unwrap();
    assert_eq!(store.next_delivery_at().unwrap(), None);
}

#[test]
fn a_delivery_whose_grant_ends_after_it_was_taken_is_no_longer_due() {
    let (_d, store) = memory_store();
    let request = connect(&store, "j1", contact_read());
    let grant = store
        .approve_request(&request.id, &Approval::default())
        .unwrap();
    let d = store.due_deliveries(1).unwrap().remove(0);
    assert!(store.delivery_still_due(&d.id).unwrap());
    store.revoke_grant(&grant.id).unwrap();
    assert!(
        !store.delivery_still_due(&d.id).unwrap(),
        "revoked meanwhile"
    );
    let revoked = store.due_deliveries(1).unwrap().remove(0);
    assert_eq!(revoked.event, "revoked");
    assert!(store.delivery_still_due(&revoked.id).unwrap());
    store
        .delivery_attempted(&revoked.id, Attempt::Delivered { status: 204 })
        .unwrap();
    assert!(
        !store.delivery_still_due(&revoked.id).unwrap(),
        "sent already"
    );
}

#[test]
fn delivered_and_moot_deliveries_keep_their_listing_but_not_their_body() {
    let (_d, store) = memory_store();
    let request = connect(&store, "j1", contact_read());
    let grant = store
        .approve_request(&request.id, &Approval::default())
        .unwrap();
    let granted = store.due_deliveries(1).unwrap().remove(0);
    store
        .delivery_attempted(&granted.id, Attempt::Delivered { status: 200 })
        .unwrap();
    put(&store, "/contact/email", json!({"email": "b@example.org"}));
    store.revoke_grant(&grant.id).unwrap();
    let body = |id: &str| -> String {
        store
            .conn
            .query_row("SELECT body FROM outbox WHERE id = ?1", [id], |r| r.get(0))
            .unwrap()
    };
    let listed = store.deliveries(DeliveryFilter::default()).unwrap();
    let shown: Vec<(&str, &str)> = listed
        .iter()
        .map(|d| (d.event.as_str(), d.status.as_str()))
        .collect();
    assert_eq!(
        shown,
        [
            ("granted", "delivered"),
            ("updated", "moot"),
            ("revoked", "queued")
        ]
    );
    assert_eq!(body(&listed[0].id), "", "delivered: body gone");
    assert_eq!(body(&listed[1].id), "", "moot: body gone");
    assert!(!body(&listed[2].id).is_empty(), "queued: body kept");
}

#[test]
fn a_delivery_whose_grant_ran_out_after_it_was_taken_is_no_longer_due() {
    let (_d, store, clock) = clocked();
    let request = connect(&store, "j1", contact_read());
    store
        .approve_request(
            &request.id,
            &Approval {
                lifetime: Some(120),
                ..Default::default()
            },
        )
        .unwrap();
    let d = store.due_deliveries(1).unwrap().remove(0);
    clock.advance(chrono::Duration::seconds(120));
    assert!(!store.delivery_still_due(&d.id).unwrap());
}

#[test]
fn nothing_is_due_behind_an_open_delivery_of_its_request() {
    let (_d, store) = memory_store();
    let request = connect(&store, "j1", contact_read());
    store
        .approve_request(&request.id, &Approval::default())
        .unwrap();
    put(&store, "/contact/email", json!("a"));
    let due = store.due_deliveries(10).unwrap();
    assert_eq!(due.len(), 2, "the whole queue is handed out");
    assert!(store.delivery_still_due(&due[0].id).unwrap());
    assert!(
        !store.delivery_still_due(&due[1].id).unwrap(),
        "not before the granted ahead of it is sent"
    );
    store
        .delivery_attempted(
            &due[0].id,
            Attempt::Retry {
                reason: "HTTP 503".into(),
                retry_after: None,
            },
        )
        .unwrap();
    assert!(
        !store.delivery_still_due(&due[1].id).unwrap(),
        "the update waits behind the granted that is to be tried again"
    );
    store
        .delivery_attempted(&due[0].id, Attempt::Delivered { status: 200 })
        .unwrap();
    assert!(store.delivery_still_due(&due[1].id).unwrap());
}

/// What the due query costs for a backlog of `n` deliveries queued in one
/// request: SQLite's count of virtual-machine steps (not a timing).
fn due_query_steps(n: usize) -> i32 {
    let (_d, store) = memory_store();
    let request = connect(&store, "j1", contact_read());
    store
        .approve_request(&request.id, &Approval::default())
        .unwrap();
    for i in 0..n {
        put(&store, &format!("/contact/n{i}"), json!(i));
    }
    let mut stmt = store.conn.prepare(&attempts::due_sql()).unwrap();
    let page: Vec<i64> = stmt
        .query_map(rusqlite::params!["9999", 256], |r| r.get("number"))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let first: Vec<i64> = (1..=256).collect();
    assert_eq!(page, first, "the first 256 of the queue, in order");
    stmt.get_status(rusqlite::StatementStatus::VmStep)
}

#[test]
fn handing_out_a_backlog_costs_in_proportion_to_it() {
    let small = due_query_steps(300);
    let large = due_query_steps(600);
    assert!(
        large < small * 3,
        "twice the backlog cost {large} steps against {small}: not linear"
    );
}
