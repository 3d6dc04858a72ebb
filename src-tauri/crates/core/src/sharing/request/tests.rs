use std::sync::Arc;

use super::*;
use crate::clock::ManualClock;
use crate::data::category::Sensitivity;
use crate::sharing::client::ClientRegistration;
use crate::sharing::grant::GrantStatus;
use crate::sharing::grant::{Holder, TokenRejected};
use crate::sharing::scope::{Action, Target};
use crate::testing::memory_store;
use secrecy::ExposeSecret;

fn setup() -> (tempfile::TempDir, Store, ManualClock, String) {
    let (dir, mut store) = memory_store();
    let clock = ManualClock::new(Utc::now());
    store.set_clock(Arc::new(clock.clone()));
    let client = store
        .register_client(&ClientRegistration {
            client_name: "Acme".into(),
            ..Default::default()
        })
        .unwrap();
    (dir, store, clock, client.id)
}

fn ask(store: &Store, client: &str) -> DeviceAuthorization {
    let details = scope::parse_requested(
        r#"[{"type": "pod_access", "paths": ["/contact/", "/health/"], "actions": ["read"],
             "datatypes": ["contact", "health"], "purpose": "Deliveries"}]"#,
    )
    .unwrap();
    store.request_access(client, details, 3600).unwrap()
}

fn poll(store: &Store, client: &str, auth: &DeviceAuthorization) -> Result<Poll> {
    store.poll_device_code(client, auth.device_code.expose_secret())
}

#[test]
fn full_flow_pending_slow_down_approve_token_once() {
    let (_d, store, clock, client) = setup();
    let auth = ask(&store, &client);
    assert_eq!(auth.request.sensitive_asked, [Category::Health]);
    assert!(matches!(poll(&store, &client, &auth), Ok(Poll::Pending)));
    assert!(matches!(
        poll(&store, &client, &auth),
        Ok(Poll::SlowDown { interval: 10 })
    ));
    clock.advance(Duration::seconds(11));
    assert!(matches!(poll(&store, &client, &auth), Ok(Poll::Pending)));

    let approval = Approval {
        only: vec![PodPath::parse("/contact/").unwrap()],
        lifetime: Some(600),
        sensitive: vec![],
    };
    let grant = store
        .approve_request(&auth.request.user_code.to_lowercase(), &approval)
        .unwrap();
    assert_eq!(
        grant.details[0].paths,
        [PodPath::parse("/contact/").unwrap()]
    );
    assert!(grant.details[0].sensitive.is_empty());
    let Ok(Poll::Issued {
        access_token,
        expires_in,
        ..
    }) = poll(&store, &client, &auth)
    else {
        panic!("no token")
    };
    assert_eq!(expires_in, 600);
    assert!(
        matches!(poll(&store, &client, &auth), Err(Error::InvalidGrant(_))),
        "a device code works once"
    );

    let access = store
        .authenticate(&token::check_access(access_token.expose_secret()).unwrap())
        .unwrap()
        .unwrap();
    let email = PodPath::parse("/contact/email").unwrap();
    let t = Target {
        path: &email,
        category: Category::Contact,
        sensitivity: Sensitivity::Normal,
    };
    assert!(scope::allows(&access.grant.details, &t, Action::Read));

    clock.advance(Duration::seconds(601));
    assert_eq!(
        store
            .authenticate(&token::check_access(access_token.expose_secret()).unwrap())
            .unwrap()
            .unwrap_err(),
        TokenRejected::Expired(Holder {
            client_id: client.clone(),
            grant_id: grant.id.clone()
        })
    );
    assert_eq!(store.grant(&grant.id).unwrap().status, GrantStatus::Expired);
}

#[test]
fn revocation_takes_effect_at_once() {
    let (_d, store, _clock, client) = setup();
    let auth = ask(&store, &client);
    let grant = store
        .approve_request(&auth.request.id, &Approval::default())
        .unwrap();
    let Ok(Poll::Issued { access_token, .. }) = poll(&store, &client, &auth) else {
        panic!()
    };
    assert!(store
        .authenticate(&token::check_access(access_token.expose_secret()).unwrap())
        .unwrap()
        .is_ok());
    store.revoke_grant(&grant.id).unwrap();
    assert_eq!(
        store
            .authenticate(&token::check_access(access_token.expose_secret()).unwrap())
            .unwrap()
            .unwrap_err(),
        TokenRejected::Revoked(Holder {
            client_id: client.clone(),
            grant_id: grant.id.clone()
        })
    );
    assert_eq!(
        store.grants().unwrap()[0].status,
        GrantStatus::Revoked,
        "kept as history"
    );
}

#[test]
fn no_token_for_a_grant_revoked_or_run_out_before_the_first_poll() {
    let (_d, store, clock, client) = setup();
    let auth = ask(&store, &client);
    let grant = store
        .approve_request(&auth.request.id, &Approval::default())
        .unwrap();
    store.revoke_grant(&grant.id).unwrap();
    assert!(matches!(
        poll(&store, &client, &auth),
        Ok(Poll::Denied { .. })
    ));
    assert!(matches!(
        poll(&store, &client, &auth),
        Ok(Poll::Denied { .. })
    ));

    let auth = ask(&store, &client);
    let short = Approval {
        lifetime: Some(60),
        ..Default::default()
    };
    store.approve_request(&auth.request.id, &short).unwrap();
    clock.advance(Duration::seconds(61));
    assert!(matches!(poll(&store, &client, &auth), Ok(Poll::Expired)));
    let tokens: i64 = store
        .conn
        .query_row("SELECT count(*) FROM tokens", [], |r| r.get(0))
        .unwrap();
    assert_eq!(tokens, 0);
}

#[test]
fn deny_expire_and_bounds() {
    let (_d, store, clock, client) = setup();
    let denied = ask(&store, &client);
    store.deny_request(&denied.request.id).unwrap();
    assert!(matches!(
        poll(&store, &client, &denied),
        Ok(Poll::Denied { .. })
    ));
    assert!(matches!(
        store.approve_request(&denied.request.id, &Approval::default()),
        Err(Error::RequestNotPending { .. })
    ));

    let late = ask(&store, &client);
    clock.advance(Duration::seconds(REQUEST_TTL_SECS + 1));
    assert_eq!(
        store.access_request(&late.request.id).unwrap().status,
        RequestStatus::Expired
    );
    assert!(matches!(poll(&store, &client, &late), Ok(Poll::Expired)));

    for _ in 0..MAX_PENDING_PER_CLIENT {
        ask(&store, &client);
    }
    let details = late.request.details.clone();
    assert!(matches!(
        store.request_access(&client, details.clone(), 3600),
        Err(Error::TooManyPending { .. })
    ));
    assert!(matches!(
        store.request_access(&client, details, 10),
        Err(Error::InvalidRequest(_))
    ));

    let other = store
        .register_client(&ClientRegistration {
            client_name: "Other".into(),
            ..Default::default()
        })
        .unwrap();
    let fresh = ask(&store, &other.id);
    assert!(
        matches!(poll(&store, &client, &fresh), Err(Error::InvalidGrant(_))),
        "another client's device code"
    );
    assert!(matches!(
        store.poll_device_code(&client, "csd_garbage"),
        Err(Error::InvalidGrant(_))
    ));
}

#[test]
fn approvals_can_narrow_but_never_widen() {
    let (_d, store, _clock, client) = setup();
    let auth = ask(&store, &client);
    let id = auth.request.id.clone();
    let wider = Approval {
        only: vec![PodPath::parse("/").unwrap()],
        ..Default::default()
    };
    let elsewhere = Approval {
        only: vec![PodPath::parse("/finance/").unwrap()],
        ..Default::default()
    };
    let longer = Approval {
        lifetime: Some(7200),
        ..Default::default()
    };
    let unasked = Approval {
        sensitive: vec![Category::Finance],
        ..Default::default()
    };
    // `--only /` covers everything asked: the grant is exactly the request.
    let as_asked = store.approve_request(&id, &wider).unwrap();
    assert_eq!(as_asked.details[0].paths, auth.request.details[0].paths);
    let auth2 = ask(&store, &client);
    for bad in [elsewhere, longer, unasked] {
        assert!(
            matches!(
                store.approve_request(&auth2.request.id, &bad),
                Err(Error::WiderThanAsked(_))
            ),
            "{bad:?}"
        );
    }
    let ticked = Approval {
        sensitive: vec![Category::Health],
        ..Default::default()
    };
    let g = store.approve_request(&auth2.request.id, &ticked).unwrap();
    assert_eq!(g.details[0].sensitive, [Category::Health]);
}

#[test]
fn owner_actions_and_requests_are_logged_in_the_chain() {
    let (_d, store, _clock, client) = setup();
    let auth = ask(&store, &client);
    let grant = store
        .approve_request(&auth.request.id, &Approval::default())
        .unwrap();
    store.revoke_grant(&grant.id).unwrap();
    // The company's registration (in `setup`) is logged with it.
    assert_eq!(
        crate::testing::logged_actions(&store),
        ["register", "request", "grant", "revoke"]
    );
    assert_eq!(store.verify_audit_log().unwrap().first_broken, None);
}
