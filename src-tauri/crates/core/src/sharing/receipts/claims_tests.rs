//! The claims of each event type (see `claims`).

use super::*;
use crate::sharing::scope::parse_requested;
use chrono::TimeZone;

fn t(h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, h, 0, 0).unwrap()
}

fn asked() -> Vec<PodAccess> {
    parse_requested(
        r#"[{"type":"pod_access","paths":["/contact/","/health/"],"actions":["read"],"datatypes":["contact","health"],"purpose":"Deliveries and care"}]"#,
    )
    .unwrap()
}

fn narrower() -> Vec<PodAccess> {
    parse_requested(
        r#"[{"type":"pod_access","paths":["/contact/"],"actions":["read"],"datatypes":["contact"],"purpose":"Deliveries and care"}]"#,
    )
    .unwrap()
}

fn facts(event: ReceiptEvent, grant: Option<Vec<PodAccess>>) -> Facts {
    Facts {
        receipt_id: "rcp_1".into(),
        event,
        at: t(12),
        issued_at: t(12),
        pod_id: "pod-thumbprint".into(),
        controller: Controller {
            client_id: "cli_acme".into(),
            name: "Acme".into(),
            uri: None,
            verified_domain: None,
        },
        ask: Some(AskFacts {
            id: "req_1".into(),
            details: asked(),
            lifetime_secs: 7200,
            details_sha256: "ab".repeat(32),
        }),
        grant: grant.map(|details| GrantFacts {
            id: "grt_1".into(),
            details,
            valid_from: t(10),
            valid_until: t(12) + chrono::Duration::hours(0),
        }),
        log_head: LogHead {
            seq: 7,
            hash: "cd".repeat(32),
        },
    }
}

/// Every receipt carries the same frame.
fn frame(c: &Value, event: &str, state: &str, dpv: &str) {
    assert_eq!(c["iss"], "pod-thumbprint");
    assert_eq!(c["sub"], "pod-thumbprint");
    assert_eq!(c["aud"], "cli_acme");
    assert_eq!(c["jti"], "rcp_1");
    assert_eq!(c["receipt_id"], "rcp_1");
    assert_eq!(c["iat"], t(12).timestamp());
    assert_eq!(c["schema_version"], SCHEMA_VERSION);
    assert_eq!(c["event"]["type"], event);
    assert_eq!(c["event"]["state"], state);
    assert_eq!(c["event"]["dpv_status"], dpv);
    assert_eq!(c["data_subject"]["agent"], "pod-thumbprint");
    assert_eq!(c["controller"]["name"], "Acme");
    assert_eq!(c["controller"]["client_id"], "cli_acme");
    assert_eq!(c["controller"]["identified_by"], CONTROLLER_IDENTIFIED_BY);
    assert_eq!(c["request"]["details_sha256"], "ab".repeat(32));
    assert_eq!(c["log_head"]["seq"], 7);
    assert_eq!(c["log_head"]["hash"], "cd".repeat(32));
    assert_eq!(c["processing"]["how_to_withdraw"], HOW_TO_WITHDRAW);
}

fn ticked(mut details: Vec<PodAccess>, c: &[Category]) -> Vec<PodAccess> {
    details[0].sensitive = c.to_vec();
    details
}

#[test]
fn as_asked_means_every_asked_sensitive_category_ticked() {
    assert!(answered_as_asked(
        &asked(),
        60,
        &ticked(asked(), &[Category::Health]),
        60
    ));
    assert!(
        !answered_as_asked(&asked(), 60, &asked(), 60),
        "health not ticked"
    );
    assert!(!answered_as_asked(
        &asked(),
        60,
        &ticked(asked(), &[Category::Health]),
        59
    ));
    assert!(!answered_as_asked(&asked(), 60, &narrower(), 60));
    assert!(answered_as_asked(&narrower(), 60, &narrower(), 60));
}

#[test]
fn given_as_asked_has_no_asked_beside_it() {
    let mut f = facts(
        ReceiptEvent::Given,
        Some(ticked(asked(), &[Category::Health])),
    );
    f.grant.as_mut().unwrap().valid_until = t(12);
    let c = claims(&f);
    frame(&c, "given", "given", "dpv:ConsentGiven");
    assert_eq!(c["grant"]["id"], "grt_1");
    assert_eq!(c["event"]["validity"]["from"], format_time(t(10)));
    assert_eq!(c["event"]["validity"]["until"], format_time(t(12)));
    assert_eq!(c["processing"]["purposes"], json!(["Deliveries and care"]));
    assert_eq!(
        c["processing"]["items"][0]["paths"],
        json!(["/contact/", "/health/"])
    );
    assert_eq!(c["processing"]["items"][0]["actions"], json!(["read"]));
    assert_eq!(c["processing"]["sensitive_categories"], json!(["health"]));
    assert_eq!(c["processing"]["sensitive"], true);
    assert_eq!(c["processing"]["lifetime_seconds"], 7200);
    assert!(c.get("asked").is_none(), "{c:#}");
}

#[test]
fn given_narrower_shows_what_was_asked_beside_what_was_given() {
    let c = claims(&facts(ReceiptEvent::GivenNarrower, Some(narrower())));
    frame(&c, "given_narrower", "given", "dpv:ConsentGiven");
    assert_eq!(c["processing"]["items"][0]["paths"], json!(["/contact/"]));
    assert_eq!(c["processing"]["sensitive"], false);
    assert_eq!(
        c["processing"]["items"][0]["data_categories"],
        json!(["contact"])
    );
    assert_eq!(
        c["asked"]["items"][0]["paths"],
        json!(["/contact/", "/health/"])
    );
    assert_eq!(c["asked"]["sensitive_categories"], json!(["health"]));
    assert_eq!(c["asked"]["lifetime_seconds"], 7200);
}

#[test]
fn a_shorter_lifetime_alone_is_narrower_too() {
    let mut f = facts(ReceiptEvent::GivenNarrower, Some(asked()));
    f.grant.as_mut().unwrap().valid_until = t(11);
    let c = claims(&f);
    assert_eq!(c["processing"]["lifetime_seconds"], 3600);
    assert_eq!(c["asked"]["lifetime_seconds"], 7200);
}

#[test]
fn refused_names_what_was_asked_and_nothing_valid() {
    let c = claims(&facts(ReceiptEvent::Refused, None));
    frame(&c, "refused", "refused", "dpv:ConsentRefused");
    assert_eq!(c["event"]["validity"], Value::Null);
    assert_eq!(c["grant"], Value::Null);
    assert_eq!(c["request"]["id"], "req_1");
    assert_eq!(
        c["processing"]["items"][0]["paths"],
        json!(["/contact/", "/health/"])
    );
}

#[test]
fn withdrawn_closes_the_validity_when_the_person_revoked() {
    let mut f = facts(ReceiptEvent::Withdrawn, Some(narrower()));
    f.at = t(11);
    let c = claims(&f);
    frame(&c, "withdrawn", "withdrawn", "dpv:ConsentWithdrawn");
    assert_eq!(c["event"]["time"], format_time(t(11)));
    assert_eq!(c["event"]["validity"]["until"], format_time(t(11)));
    assert_eq!(c["processing"]["items"][0]["paths"], json!(["/contact/"]));
}

#[test]
fn ended_by_the_company_is_revoked_in_dpv_terms() {
    let mut f = facts(ReceiptEvent::Ended, Some(narrower()));
    f.at = t(11);
    let c = claims(&f);
    frame(&c, "ended", "withdrawn", "dpv:ConsentRevoked");
    assert_eq!(c["event"]["validity"]["until"], format_time(t(11)));
}

#[test]
fn expired_ends_at_the_grants_end() {
    let mut f = facts(ReceiptEvent::Expired, Some(narrower()));
    f.grant.as_mut().unwrap().valid_until = t(11);
    f.at = t(11);
    f.issued_at = t(12);
    let c = claims(&f);
    assert_eq!(c["event"]["type"], "expired");
    assert_eq!(c["event"]["state"], "expired");
    assert_eq!(c["event"]["dpv_status"], "dpv:ConsentExpired");
    assert_eq!(c["event"]["time"], format_time(t(11)));
    assert_eq!(c["event"]["validity"]["until"], format_time(t(11)));
    assert_eq!(c["issued_at"], format_time(t(12)));
}

#[test]
fn cut_off_per_grant_or_for_the_company() {
    let mut f = facts(ReceiptEvent::CutOff, Some(narrower()));
    f.at = t(11);
    let c = claims(&f);
    frame(&c, "cut_off", "withdrawn", "dpv:ConsentWithdrawn");
    assert_eq!(c["grant"]["id"], "grt_1");
    let mut f = facts(ReceiptEvent::CutOff, None);
    f.ask = None;
    let c = claims(&f);
    assert_eq!(c["grant"], Value::Null);
    assert_eq!(c["request"], Value::Null);
    assert_eq!(c["processing"]["items"], json!([]));
}

/// A grant that keeps the asked datatypes but not the tick of a sensitive
/// one does not give that category: the given side names no sensitive
/// category and reaches contact data only; the asked side names health.
/// With the tick, the given side names health.
#[test]
fn a_sensitive_category_is_given_only_when_ticked() {
    let unticked = facts(ReceiptEvent::GivenNarrower, Some(asked()));
    let c = claims(&unticked);
    let given = &c["processing"];
    assert_eq!(given["sensitive"], false, "{given}");
    assert_eq!(given["sensitive_categories"], json!([]));
    assert_eq!(given["items"][0]["data_categories"], json!(["contact"]));
    assert_eq!(given["items"][0]["sensitive_categories"], json!([]));
    let asked_side = &c["asked"];
    assert_eq!(asked_side["sensitive_categories"], json!(["health"]));
    assert_eq!(
        asked_side["items"][0]["data_categories"],
        json!(["contact", "health"])
    );

    let ticked = facts(
        ReceiptEvent::Given,
        Some(ticked(asked(), &[Category::Health])),
    );
    let given = &claims(&ticked)["processing"];
    assert_eq!(given["sensitive_categories"], json!(["health"]));
    assert_eq!(
        given["items"][0]["data_categories"],
        json!(["contact", "health"])
    );
}

#[test]
fn a_linked_company_is_named_by_its_verified_domain() {
    let mut f = facts(ReceiptEvent::Given, Some(asked()));
    f.controller.client_id = "https://shop.test/custodian/client.json".into();
    f.controller.verified_domain = Some("shop.test".into());
    let c = claims(&f);
    let by = c["controller"]["identified_by"].as_str().unwrap();
    assert!(by.contains("domain shop.test verified"), "{by}");
    assert_eq!(c["collection_method"], LINKED_COLLECTION_METHOD);
    assert_eq!(c["aud"], "https://shop.test/custodian/client.json");
    // A device-flow company keeps its words.
    let c = claims(&facts(ReceiptEvent::Given, Some(asked())));
    assert_eq!(c["controller"]["identified_by"], CONTROLLER_IDENTIFIED_BY);
    assert_eq!(c["collection_method"], COLLECTION_METHOD);
}
