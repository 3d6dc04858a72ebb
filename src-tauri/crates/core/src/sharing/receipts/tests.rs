//! Receipts issued by real decisions, verified, and tampered with.

use std::sync::Arc;

use secrecy::ExposeSecret;

use super::*;
use crate::clock::{Clock, ManualClock};
use crate::sharing::client::ClientRegistration;
use crate::sharing::request::{Approval, Poll};
use crate::sharing::scope::parse_requested;
use crate::testing::{granted_token, memory_store};

const ASK: &str = r#"[{"type":"pod_access","paths":["/contact/","/profile/"],"actions":["read"],"purpose":"Deliveries"}]"#;

fn ask(store: &Store, name: &str) -> crate::sharing::request::DeviceAuthorization {
    let client = store
        .register_client(&ClientRegistration {
            client_name: name.into(),
            ..Default::default()
        })
        .unwrap();
    store
        .request_access(&client.id, parse_requested(ASK).unwrap(), 3600)
        .unwrap()
}

fn fault(store: &Store, jws: &str) -> ReceiptFault {
    match store.verify_receipt(jws) {
        Err(Error::ReceiptInvalid { fault }) => fault,
        other => panic!("expected a fault, got {other:?}"),
    }
}

#[test]
fn approving_as_asked_signs_a_given_receipt_that_verifies() {
    let (_d, store) = memory_store();
    let (grant_id, _token) = granted_token(&store);
    let receipts = store.receipts_for_grant(&grant_id).unwrap();
    assert_eq!(receipts.len(), 1);
    let r = &receipts[0];
    assert_eq!(r.event, ReceiptEvent::Given);
    assert_eq!(store.receipt(&r.id).unwrap(), *r);
    let request_id = r.request_id.clone().unwrap();
    assert_eq!(store.receipts_for_request(&request_id).unwrap(), receipts);
    let verified = store.verify_receipt(&r.jws).unwrap();
    assert_eq!(verified.id, r.id);
    assert_eq!(verified.event, ReceiptEvent::Given);
    // The head it names is the decision's own log entry.
    let last = store.audit_log(&Default::default()).unwrap();
    let grant_entry = last
        .iter()
        .find(|e| e.action == crate::audit::Action::Grant)
        .unwrap();
    assert_eq!(
        verified.log_head,
        LogHeadCheck::InChain {
            seq: grant_entry.seq
        }
    );
    assert_eq!(verified.claims["log_head"]["hash"], grant_entry.hash);
    let header = decode_header(&r.jws).unwrap();
    assert_eq!(header["typ"], TYP);
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(header["kid"], store.pod_identity().unwrap().id);
    assert_eq!(decode(&r.jws).unwrap(), verified.claims);
}

#[test]
fn narrower_and_refused_answers_have_their_receipts() {
    let (_d, store) = memory_store();
    let a = ask(&store, "Narrow Co");
    let approval = Approval {
        lifetime: Some(600),
        ..Default::default()
    };
    store
        .approve_request(&a.request.user_code, &approval)
        .unwrap();
    let r = store.receipts_for_request(&a.request.id).unwrap();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].event, ReceiptEvent::GivenNarrower);
    let claims = store.verify_receipt(&r[0].jws).unwrap().claims;
    assert_eq!(claims["asked"]["lifetime_seconds"], 3600);
    assert_eq!(claims["processing"]["lifetime_seconds"], 600);

    let b = ask(&store, "Refused Co");
    assert!(store
        .receipts_for_request(&b.request.id)
        .unwrap()
        .is_empty());
    store.deny_request(&b.request.user_code).unwrap();
    let r = store.receipts_for_request(&b.request.id).unwrap();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].event, ReceiptEvent::Refused);
    assert_eq!(r[0].grant_id, None);
    store.verify_receipt(&r[0].jws).unwrap();
    assert_eq!(store.receipts(None).unwrap().len(), 2);
    assert_eq!(store.receipts(Some(&b.request.client_id)).unwrap().len(), 1);
}

#[test]
fn revoking_ending_and_cutting_off_each_sign_their_receipt() {
    let (_d, store) = memory_store();
    let (grant_id, _t) = granted_token(&store);
    store.revoke_grant(&grant_id).unwrap();
    let events: Vec<_> = store
        .receipts_for_grant(&grant_id)
        .unwrap()
        .iter()
        .map(|r| r.event)
        .collect();
    assert_eq!(events, [ReceiptEvent::Withdrawn, ReceiptEvent::Given]);
    // Revoking again signs nothing more.
    store.revoke_grant(&grant_id).unwrap();
    assert_eq!(store.receipts_for_grant(&grant_id).unwrap().len(), 2);

    let (grant_id, token) = granted_token(&store);
    let client_id = store.grant(&grant_id).unwrap().client_id;
    store.revoke_token(&client_id, &token).unwrap();
    let r = store.receipts_for_grant(&grant_id).unwrap();
    assert_eq!(r[0].event, ReceiptEvent::Ended);
    store.verify_receipt(&r[0].jws).unwrap();

    let (grant_id, _t) = granted_token(&store);
    let client_id = store.grant(&grant_id).unwrap().client_id;
    store.revoke_client(&client_id).unwrap();
    let r = store.receipts_for_grant(&grant_id).unwrap();
    assert_eq!(r[0].event, ReceiptEvent::CutOff);
    // Cut off again, with nothing in force: one receipt for the company.
    store.revoke_client(&client_id).unwrap();
    let all = store.receipts(Some(&client_id)).unwrap();
    assert_eq!(all[0].event, ReceiptEvent::CutOff);
    assert_eq!(all[0].grant_id, None);
    for r in store.receipts(None).unwrap() {
        store.verify_receipt(&r.jws).unwrap();
    }
}

#[test]
fn expiry_is_recorded_once() {
    let (_d, mut store) = memory_store();
    let clock = Arc::new(ManualClock::new(crate::clock::SystemClock.now()));
    store.set_clock(clock.clone());
    let (grant_id, _t) = granted_token(&store);
    assert!(store.record_expirations().unwrap().is_empty());
    clock.advance(chrono::Duration::hours(2));
    let expired = store.record_expirations().unwrap();
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].event, ReceiptEvent::Expired);
    assert_eq!(expired[0].grant_id.as_deref(), Some(grant_id.as_str()));
    let claims = store.verify_receipt(&expired[0].jws).unwrap().claims;
    assert_eq!(
        claims["event"]["time"],
        crate::clock::format_time(store.grant(&grant_id).unwrap().expires_at)
    );
    assert!(store.record_expirations().unwrap().is_empty());
    // Revoking an expired grant does not withdraw it again.
    store.revoke_grant(&grant_id).unwrap();
    assert_eq!(store.receipts_for_grant(&grant_id).unwrap().len(), 2);
}

/// Flipping any one bit of any byte of a real receipt makes it fail.
#[test]
fn changing_any_byte_of_a_receipt_fails_verification() {
    let (_d, store) = memory_store();
    let (grant_id, _t) = granted_token(&store);
    let jws = store.receipts_for_grant(&grant_id).unwrap()[0].jws.clone();
    store.verify_receipt(&jws).unwrap();
    let bytes = jws.as_bytes();
    for i in 0..bytes.len() {
        for bit in [0x01u8, 0x20, 0x80] {
            let mut changed = bytes.to_vec();
            changed[i] ^= bit;
            let text = String::from_utf8_lossy(&changed);
            assert!(
                store.verify_receipt(&text).is_err(),
                "byte {i} ^ {bit:#x} still verifies"
            );
        }
    }
}

#[test]
fn another_pods_receipt_names_its_key() {
    let (_d, ours) = memory_store();
    let (_e, theirs) = memory_store();
    let (grant_id, _t) = granted_token(&theirs);
    let jws = theirs.receipts_for_grant(&grant_id).unwrap()[0].jws.clone();
    let kid = theirs.pod_identity().unwrap().id;
    let f = fault(&ours, &jws);
    assert_eq!(
        f,
        ReceiptFault::OtherPod {
            kid: kid.clone(),
            ours: ours.pod_identity().unwrap().id
        }
    );
    assert!(Error::ReceiptInvalid { fault: f }
        .to_string()
        .contains(&format!("signed by another pod (kid {kid})")));
}

#[test]
fn each_failure_is_named() {
    let (_d, store) = memory_store();
    let (grant_id, _t) = granted_token(&store);
    let jws = store.receipts_for_grant(&grant_id).unwrap()[0].jws.clone();
    let key = crate::vault::identity::load_pod_key(&store.conn).unwrap();
    let id = key.identity().id;
    let parts: Vec<&str> = jws.split('.').collect();
    let payload = decode(&jws).unwrap();
    let resign = |header: serde_json::Value, payload: &serde_json::Value| {
        jws::sign(&header, payload.to_string().as_bytes(), &key)
    };
    assert!(matches!(
        fault(&store, "not a receipt"),
        ReceiptFault::NotCompactJws(_)
    ));
    let wrong_typ = resign(
        serde_json::json!({"alg":"EdDSA","kid":id,"typ":"JWT"}),
        &payload,
    );
    assert_eq!(
        fault(&store, &wrong_typ),
        ReceiptFault::WrongType(Some("JWT".into()))
    );
    let wrong_alg = resign(
        serde_json::json!({"alg":"none","kid":id,"typ":TYP}),
        &payload,
    );
    assert_eq!(
        fault(&store, &wrong_alg),
        ReceiptFault::WrongAlgorithm("none".into())
    );
    // Another receipt's signature on these claims.
    let other = format!("{}.{}.{}", parts[0], parts[1], {
        let mut p = payload.clone();
        p["receipt_id"] = "rcp_other".into();
        resign(decode_header(&jws).unwrap(), &p)
            .split('.')
            .nth(2)
            .unwrap()
            .to_string()
    });
    assert_eq!(fault(&store, &other), ReceiptFault::BadSignature);
    // Signed by this pod, but naming a log entry this vault never had.
    let mut p = payload.clone();
    p["log_head"]["hash"] = "00".repeat(32).into();
    let forged = resign(decode_header(&jws).unwrap(), &p);
    assert!(matches!(
        fault(&store, &forged),
        ReceiptFault::LogHeadNotInChain { .. }
    ));
    // The log changed before the entry the receipt names.
    store
        .conn
        .execute_batch("UPDATE audit_log SET reason = 'edited' WHERE seq = 1")
        .unwrap();
    assert!(matches!(
        fault(&store, &jws),
        ReceiptFault::ChainBroken { at: 1, .. }
    ));
}

#[test]
fn a_token_poll_is_not_a_decision() {
    let (_d, store) = memory_store();
    let a = ask(&store, "Poller");
    store
        .approve_request(&a.request.user_code, &Approval::default())
        .unwrap();
    let before = store.receipt_count().unwrap();
    let polled = store
        .poll_device_code(&a.request.client_id, a.device_code.expose_secret())
        .unwrap();
    assert!(matches!(polled, Poll::Issued { .. }));
    assert_eq!(store.receipt_count().unwrap(), before);
}

/// A receipt whose log entry the retention policy removed says so, rather
/// than failing as if it were forged.
#[test]
fn a_log_head_removed_by_retention_is_named_not_refused() {
    let (_d, mut store) = memory_store();
    let clock = Arc::new(ManualClock::new(crate::clock::SystemClock.now()));
    store.set_clock(clock.clone());
    let (grant_id, _t) = granted_token(&store);
    let jws = store.receipts_for_grant(&grant_id).unwrap()[0].jws.clone();
    let seq = decode(&jws).unwrap()["log_head"]["seq"].as_u64().unwrap();
    store
        .set_log_retention(crate::audit::retention::Retention::For(24 * 3600))
        .unwrap();
    clock.advance(chrono::Duration::days(2));
    let pruned = store.apply_log_retention().unwrap().expect("pruned");
    assert!(pruned.through >= seq);
    let verified = store.verify_receipt(&jws).unwrap();
    assert_eq!(
        verified.log_head,
        LogHeadCheck::RemovedByRetention {
            seq,
            through: pruned.through
        }
    );
    // A head past the checkpoint that the log never had is still refused.
    let key = crate::vault::identity::load_pod_key(&store.conn).unwrap();
    let mut claims = decode(&jws).unwrap();
    claims["log_head"]["seq"] = (pruned.checkpoint + 100).into();
    let forged = jws::sign(
        &decode_header(&jws).unwrap(),
        claims.to_string().as_bytes(),
        &key,
    );
    assert!(matches!(
        fault(&store, &forged),
        ReceiptFault::LogHeadNotInChain { .. }
    ));
}

/// A grant ends once, with one receipt: after the company gave its token
/// back (RFC 7009), the person revoking the grant or cutting the company
/// off signs no second end for it.
#[test]
fn a_grant_the_company_ended_is_not_ended_again() {
    let (_d, store) = memory_store();
    let (grant_id, token) = granted_token(&store);
    let client_id = store.grant(&grant_id).unwrap().client_id;
    store.revoke_token(&client_id, &token).unwrap();
    store.revoke_grant(&grant_id).unwrap();
    store.revoke_client(&client_id).unwrap();
    let events: Vec<_> = store
        .receipts_for_grant(&grant_id)
        .unwrap()
        .iter()
        .map(|r| r.event)
        .collect();
    assert_eq!(events, [ReceiptEvent::Ended, ReceiptEvent::Given]);
}

/// A grant whose stored details were damaged still gets its expiry
/// receipt (with nothing under it), so one bad row never blocks the step
/// that `serve` runs at start.
#[test]
fn a_damaged_grant_still_expires_with_a_receipt() {
    let (_d, mut store) = memory_store();
    let clock = Arc::new(ManualClock::new(crate::clock::SystemClock.now()));
    store.set_clock(clock.clone());
    let (grant_id, _t) = granted_token(&store);
    store
        .conn
        .execute(
            "UPDATE grants SET details = 'not json' WHERE id = ?1",
            [&grant_id],
        )
        .unwrap();
    clock.advance(chrono::Duration::hours(2));
    let expired = store.record_expirations().unwrap();
    assert_eq!(expired.len(), 1);
    let claims = store.verify_receipt(&expired[0].jws).unwrap().claims;
    assert_eq!(claims["processing"]["items"], serde_json::json!([]));
    assert!(store.record_expirations().unwrap().is_empty());
}

/// The end of a grant is tied to the request it came from: its receipt
/// carries the same request hash as the answer's.
#[test]
fn an_ending_receipt_names_the_request_hash() {
    let (_d, store) = memory_store();
    let (grant_id, _t) = granted_token(&store);
    store.revoke_grant(&grant_id).unwrap();
    let r = store.receipts_for_grant(&grant_id).unwrap();
    assert_eq!(r[0].event, ReceiptEvent::Withdrawn);
    let ended = store.verify_receipt(&r[0].jws).unwrap().claims;
    let given = store.verify_receipt(&r[1].jws).unwrap().claims;
    assert!(ended["request"]["details_sha256"].is_string(), "{ended}");
    assert_eq!(ended["request"], given["request"]);
    // The row still lists it under the grant, not as the request's answer.
    assert_eq!(r[0].request_id, None);
}
