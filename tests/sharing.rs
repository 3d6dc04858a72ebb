//! The person's side of sharing, through the real `custodian` binary while
//! `custodian serve` runs on the same vault: requests are answered, grants
//! revoked, and the log read, verified and reported with the CLI, and the
//! company (a real OAuth client) sees each decision on its next request.

use custodian_e2e::company::{contact_and_health, get, open, served_vault, Company};
use custodian_e2e::run_fail;
use oauth2::TokenResponse;
use serde_json::{json, Value};

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[test]
fn the_person_answers_with_the_cli_while_the_server_runs() {
    let (v, server) = served_vault();
    let company = Company::new(&server, "Acme Shop");
    let auth = company.ask(contact_and_health(), 86_400);
    let code = auth.user_code().secret().clone();

    // The request is listed and shown with who, what, why, how long, the code.
    let list = json_of(&v.ok(&["requests", "list", "--json"]));
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["user_code"], code.as_str());
    assert_eq!(list[0]["status"], "pending");
    let table = v.ok(&["requests", "list"]);
    assert!(
        table.contains(&code) && table.contains("Acme Shop") && table.contains("1 day"),
        "{table}"
    );
    let shown = v.ok(&["requests", "show", &code]);
    for part in [
        "Acme Shop (unverified",
        "read /contact/, /health/, /preferences/communication",
        "why: Delivering your orders",
        "For how long:  1 day",
        "Sensitive:     health",
        "custodian requests approve",
    ] {
        assert!(shown.contains(part), "{part:?} missing from:\n{shown}");
    }
    assert!(v
        .ok(&["status"])
        .contains("1 pending request, 0 active grants"));

    // Wider than asked is refused and changes nothing.
    let (status, err) = run_fail(v.cmd(&["requests", "approve", &code, "--expires", "2d"]));
    assert_eq!(status, 6);
    assert!(
        err.contains("the company asked for 1 day; a grant may be shorter"),
        "{err}"
    );
    let (status, err) = run_fail(v.cmd(&["requests", "approve", &code, "--only", "/finance/"]));
    assert_eq!(status, 6, "{err}");
    assert_eq!(
        json_of(&v.ok(&["requests", "list", "--json"]))[0]["status"],
        "pending"
    );

    // Narrower: only /contact/, for an hour. The running server sees it on the
    // company's next poll; nothing is restarted.
    let approved = v.ok(&[
        "requests",
        "approve",
        &code.to_lowercase(),
        "--only",
        "/contact/",
        "--expires",
        "1h",
    ]);
    assert!(
        approved.starts_with("Approved. Acme Shop may now read /contact/ until"),
        "{approved}"
    );
    let token = company
        .token(&auth)
        .expect("the token after a CLI approval");
    assert!(token.expires_in().unwrap().as_secs() <= 3600);
    let secret = token.access_token().secret().clone();
    assert_eq!(get(&server, &secret, "/contact/email").status(), 200);
    assert_eq!(get(&server, &secret, "/health/allergies").status(), 403);
    assert_eq!(
        get(&server, &secret, "/preferences/communication").status(),
        403
    );
    assert!(v
        .ok(&["status"])
        .contains("0 pending requests, 1 active grant"));

    // The grant is listed and shown; revoking it works on the next request.
    let grants = json_of(&v.ok(&["grants", "list", "--json"]));
    let grant_id = grants[0]["id"].as_str().unwrap().to_string();
    assert_eq!(grants[0]["status"], "active");
    assert_eq!(grants[0]["details"][0]["paths"], json!(["/contact/"]));
    let shown = v.ok(&["grants", "show", &grant_id]);
    assert!(
        shown.contains("why: Delivering your orders") && shown.contains("read /contact/"),
        "{shown}"
    );
    assert!(v
        .ok(&["grants", "revoke", &grant_id])
        .contains("Revoked grant"));
    assert_eq!(get(&server, &secret, "/contact/email").status(), 401);
    let grants = json_of(&v.ok(&["grants", "list", "--json"]));
    assert_eq!(grants[0]["status"], "revoked", "kept as history");
    assert!(v.ok(&["grants", "list", "--active"]).contains("No grants"));

    // The log shows each read, allowed and denied, attributed to the
    // company, and the stale token's attempt after the revocation.
    let log = json_of(&v.ok(&["log", "--client", "Acme Shop", "--json"]));
    let api: Vec<(String, String, String)> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["method"].is_string())
        .map(|e| {
            (
                e["path"].as_str().unwrap().to_string(),
                e["outcome"].as_str().unwrap().to_string(),
                e["reason"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        api[0],
        ("/contact/email".into(), "allowed".into(), "".into())
    );
    assert_eq!(api[1].1, "denied");
    assert_eq!(api[3].0, "/contact/email");
    assert!(api[3].2.contains("revoked"), "{api:?}");
    let denied = v.ok(&["log", "--denied", "--since", "1h"]);
    assert!(
        denied.contains("/health/allergies") && !denied.contains(" allowed "),
        "{denied}"
    );
    let text = v.ok(&["log"]);
    for part in [
        "you",
        "grant",
        "revoke",
        "Acme Shop",
        "GET",
        "/contact/email",
        "denied",
    ] {
        assert!(
            text.contains(part),
            "{part:?} missing from the log:\n{text}"
        );
    }
    assert!(v
        .ok(&["log", "verify"])
        .starts_with("The access log is intact"));

    let report = json_of(&v.ok(&["report", "--json"]));
    let acme = &report["companies"][0];
    assert_eq!(acme["client_name"], "Acme Shop");
    assert_eq!(
        (acme["allowed"].as_u64(), acme["denied"].as_u64()),
        (Some(1), Some(3))
    );
    assert_eq!(acme["distinct_resources_read"], 1);
    assert_eq!(
        (
            acme["grants_active"].as_u64(),
            acme["grants_total"].as_u64()
        ),
        (Some(0), Some(1))
    );
    let text = v.ok(&["report", "--since", "30d"]);
    assert!(
        text.contains("1 allowed, 3 denied") && text.contains("/contact/email (1×)"),
        "{text}"
    );
    assert!(server.stop());
}

#[test]
fn deny_and_cut_off_from_the_cli() {
    let (v, server) = served_vault();
    let company = Company::new(&server, "Acme Shop");
    let auth = company.ask(contact_and_health(), 3600);
    assert!(v
        .ok(&["requests", "deny", auth.user_code().secret()])
        .starts_with("Denied Acme Shop's request"));
    assert_eq!(company.token(&auth).unwrap_err(), "access_denied");
    let (status, err) = run_fail(v.cmd(&["requests", "approve", auth.user_code().secret()]));
    assert_eq!(
        status, 5,
        "a denied request's code no longer names a pending request: {err}"
    );

    // Two grants, then the company is cut off entirely by name.
    let mut tokens = Vec::new();
    for _ in 0..2 {
        let auth = company.ask(contact_and_health(), 3600);
        v.ok(&["requests", "approve", auth.user_code().secret()]);
        tokens.push(company.access_token(&auth));
    }
    let other = Company::new(&server, "Other Ltd");
    let auth = other.ask(contact_and_health(), 3600);
    v.ok(&["requests", "approve", auth.user_code().secret()]);
    let other_token = other.access_token(&auth);
    for t in &tokens {
        assert_eq!(get(&server, t, "/contact/email").status(), 200);
    }
    let out = v.ok(&["grants", "revoke", "--client", "acme"]);
    assert!(
        out.contains("Cut off Acme Shop") && out.contains("2 active grants revoked"),
        "{out}"
    );
    for t in &tokens {
        assert_eq!(get(&server, t, "/contact/email").status(), 401);
    }
    assert_eq!(
        get(&server, &other_token, "/contact/email").status(),
        200,
        "only that company"
    );
    assert!(v.ok(&["status"]).contains("1 active grant"));
    assert!(server.stop());
}

#[test]
fn log_verify_names_the_first_tampered_entry() {
    let (v, server) = served_vault();
    let company = Company::new(&server, "Acme Shop");
    let auth = company.ask(contact_and_health(), 3600);
    v.ok(&["requests", "approve", auth.user_code().secret()]);
    let token = company.access_token(&auth);
    for _ in 0..3 {
        get(&server, &token, "/contact/email");
    }
    assert!(server.stop());
    let intact = json_of(&v.ok(&["log", "verify", "--json"]));
    assert!(intact["first_broken"].is_null());
    let entries = intact["entries"].as_u64().unwrap();
    assert!(entries >= 7, "{intact}");

    // Someone with the key hides a read: the chain breaks exactly there.
    open(&v)
        .store()
        .execute_for_tests("UPDATE audit_log SET path = '/profile/card' WHERE seq = 6")
        .unwrap();
    let (status, err) = run_fail(v.cmd(&["log", "verify"]));
    assert_eq!(status, 1);
    assert!(
        err.contains("broken at entry 6") && err.contains("Entries 1 to 5 are intact"),
        "{err}"
    );

    // Removing an entry instead: the next one is named.
    let (v2, server) = served_vault();
    for name in ["One", "Two", "Three"] {
        Company::new(&server, name);
    }
    assert!(server.stop());
    open(&v2)
        .store()
        .execute_for_tests("DELETE FROM audit_log WHERE seq = 2")
        .unwrap();
    let (_, err) = run_fail(v2.cmd(&["log", "verify"]));
    assert!(err.contains("broken at entry 3"), "{err}");
}

/// What the person sees beside a path is what the grant holds: a company
/// asking for `/` read+write and `/contact/email` read, narrowed by the
/// person to the email alone, may read it and never write it.
#[test]
fn keeping_one_item_grants_only_what_was_shown_beside_it() {
    let (v, server) = served_vault();
    let company = Company::new(&server, "Acme Shop");
    let details = json!([
        {"type": "pod_access", "paths": ["/"], "actions": ["read", "write"], "purpose": "Managing your account"},
        {"type": "pod_access", "paths": ["/contact/email"], "actions": ["read"], "purpose": "Sending receipts"}
    ]);
    let auth = company.ask(details, 3600);
    let code = auth.user_code().secret().clone();
    let shown = json_of(&v.ok(&["requests", "show", &code, "--json"]));
    assert_eq!(
        shown["items"][1],
        json!({"path": "/contact/email", "actions": ["read"], "datatypes": [], "purposes": ["Sending receipts"]})
    );
    let approved = v.ok(&["requests", "approve", &code, "--only", "/contact/email"]);
    assert!(
        approved.starts_with("Approved. Acme Shop may now read /contact/email until"),
        "{approved}"
    );
    let token = company.access_token(&auth);
    assert_eq!(get(&server, &token, "/contact/email").status(), 200);
    let put = custodian_e2e::company::http()
        .put(format!("{}/pod/contact/email", server.base))
        .bearer_auth(&token)
        .header("Content-Type", "application/json")
        .body(r#"{"email": "mallory@example.org"}"#)
        .send()
        .unwrap();
    assert_eq!(
        put.status(),
        403,
        "write was never shown beside /contact/email"
    );
    assert!(v.ok(&["get", "/contact/email"]).contains("ada@example.org"));
    assert!(server.stop());
}

/// A resource the person marked sensitive stays out of broad grants after
/// any edit, until the person lowers the mark (which the log records).
#[test]
fn an_edit_keeps_the_sensitive_mark() {
    let (v, server) = served_vault();
    v.ok(&[
        "put",
        "/documents/passport",
        "--json",
        r#""P123""#,
        "--sensitive",
    ]);
    v.ok(&["put", "/documents/passport", "--json", r#""P456""#]);
    let meta = json_of(&v.ok(&["get", "/documents/passport", "--json"]));
    assert_eq!(meta["sensitivity"], "sensitive", "{meta}");

    let company = Company::new(&server, "Acme Shop");
    let broad = json!([{"type": "pod_access", "paths": ["/"], "actions": ["read"], "purpose": "Everything"}]);
    let auth = company.ask(broad, 3600);
    v.ok(&["requests", "approve", auth.user_code().secret()]);
    let token = company.access_token(&auth);
    assert_ne!(get(&server, &token, "/documents/passport").status(), 200);

    let lowered = v.ok(&["mark", "/documents/passport", "--not-sensitive"]);
    assert!(lowered.contains("no longer marked sensitive"), "{lowered}");
    assert_eq!(get(&server, &token, "/documents/passport").status(), 200);
    let log = v.ok(&["log"]);
    assert!(
        log.contains("unmark") && log.contains("/documents/passport"),
        "{log}"
    );
    let (status, err) = run_fail(v.cmd(&["mark", "/health/allergies", "--not-sensitive"]));
    assert_eq!(status, 6, "{err}");
    assert!(err.contains("always sensitive"), "{err}");
    assert!(server.stop());
}

#[test]
fn log_retention_replaces_old_entries_by_a_checkpoint_that_verifies() {
    let (v, server) = served_vault();
    for name in ["One", "Two", "Three"] {
        Company::new(&server, name);
    }
    assert!(server.stop());
    // The default keeps everything.
    assert!(v
        .ok(&["log", "retain"])
        .contains("Log retention: every entry is kept."));
    let before = json_of(&v.ok(&["log", "verify", "--json"]))["entries"]
        .as_u64()
        .unwrap();
    assert!(before >= 3);
    // The binary reads the system clock: the entries must be a second old.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let set = v.ok(&["log", "retain", "--older-than", "1s"]);
    assert!(
        set.contains("entries older than 1 second are replaced by a checkpoint")
            && set.contains(&format!("{before} older entries (up to entry {before})")),
        "{set}"
    );
    let verified = v.ok(&["log", "verify"]);
    assert!(
        verified.contains("The access log is intact: 2 entries")
            && verified.contains(&format!(
                "Entries 1 to {before} were removed by the retention policy; checkpoint entry {} stands for what was removed",
                before + 2
            )),
        "{verified}"
    );
    let log = json_of(&v.ok(&["log", "--json"]));
    let actions: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["retention", "checkpoint"]);
    assert!(v
        .ok(&["log", "retain", "--keep-all"])
        .contains("Log retention set: every entry is kept."));
}

/// Expiry has no event of its own: the person's `grants list` notices it
/// and signs the grant's `expired` receipt, which `receipts list` shows,
/// with no server running.
#[test]
fn the_cli_signs_an_expiry_receipt_when_it_lists_grants() {
    use custodian_core::sharing::client::ClientRegistration;
    use custodian_core::sharing::request::Approval;
    let v = custodian_e2e::TestVault::new();
    let grant = {
        let vault = open(&v);
        let store = vault.store();
        let client = store
            .register_client(&ClientRegistration {
                client_name: "Acme Shop".into(),
                ..Default::default()
            })
            .unwrap();
        let auth = store
            .request_access(
                &client.id,
                custodian_core::sharing::scope::parse_requested(&contact_and_health().to_string())
                    .unwrap(),
                3600,
            )
            .unwrap();
        store
            .approve_request(
                &auth.request.user_code,
                &Approval {
                    lifetime: Some(1),
                    ..Default::default()
                },
            )
            .unwrap()
    };
    // The grant's end is wall-clock time: wait for it.
    if let Ok(left) = (grant.expires_at - chrono::Utc::now()).to_std() {
        std::thread::sleep(left + std::time::Duration::from_millis(5));
    }
    v.ok(&["grants", "list"]);
    let list: Value = serde_json::from_str(&v.ok(&["receipts", "list", "--json"])).unwrap();
    let events: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["event"].as_str())
        .collect();
    assert_eq!(events, ["expired", "given_narrower"], "{list}");
}
