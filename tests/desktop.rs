//! The desktop app end to end: the real `custodian-desktop` window under
//! Xvfb, driven through tauri-driver and WebKitWebDriver by the selectors in
//! `docs/ui-contract.md`, with a company played by a third-party OAuth 2.0
//! client (the `oauth2` crate's device flow) against the app's own sharing,
//! and a company on the internet (the HTTPS test company in `src/shop`)
//! that connects by a `custodian://` link opened on the desktop.
//! Screenshots of each main screen go to `target/debug/screenshots/`
//! (`make screenshots` refreshes the committed `docs/screenshots/`).
//!
//! Needs Xvfb, WebKitWebDriver and tauri-driver: `make setup` installs them;
//! without them these tests fail saying so.

use std::path::PathBuf;

use custodian_core::sharing::receipts::ReceiptEvent;
use custodian_core::{SecretString, Vault};
use custodian_e2e::app::{self, Desktop, Launch};
use custodian_e2e::company::{get_at, Company};
use custodian_e2e::screens::{
    add_resource, assert_labelled, check_grant_receipt, cli, cli_vault_with_email,
    contact_and_profile, files_containing, open_section, scratch_home,
};
use custodian_e2e::shop::{Ask, Outage, Shop};
use custodian_e2e::{custodian, run_ok, snapshot, PASSPHRASE};
use oauth2::TokenResponse;
use serde_json::{json, Value};

#[test]
fn a_person_sets_up_shares_narrowly_revokes_and_sees_the_reads() {
    let (tmp, home) = scratch_home();
    let vault = tmp.path().join("vault");
    let app = Desktop::launch(Launch {
        vault: &vault,
        home: &home,
    });

    // First run: no vault yet; choose a passphrase.
    app.wait_for("#new-passphrase");
    assert!(!vault.exists(), "nothing is written before the person asks");
    assert!(
        app.text("main").contains(&vault.display().to_string()),
        "the first-run screen says where the vault will be"
    );
    app.screenshot("first-run");
    assert_labelled(&app, "first-run");
    app.type_into("#new-passphrase", PASSPHRASE);
    app.type_into("#confirm-passphrase", PASSPHRASE);
    app.click("[data-testid=create-vault]");

    // The recovery key, shown once; typed back before going on.
    let key = app.wait_until("the recovery key", |d| {
        let k = d.text_content("[data-testid=recovery-key]");
        (!k.is_empty()).then_some(k)
    });
    assert!(
        key.starts_with("AGE-SECRET-KEY-1") && key.len() > 60,
        "the recovery key is an age identity: {key}"
    );
    for file in ["key.passphrase.age", "key.recovery.age", "vault.db"] {
        assert!(vault.join(file).is_file(), "{file} was created");
    }
    app.screenshot("recovery-key");
    assert_labelled(&app, "recovery-key");
    assert!(
        app.attr("[data-testid=recovery-done]", "disabled")
            .is_some(),
        "continuing waits for the type-back check"
    );
    app.type_into("#recovery-confirm", "ZZZZZZ");
    assert!(
        app.attr("[data-testid=recovery-done]", "disabled")
            .is_some(),
        "a wrong type-back does not let the person on"
    );
    app.type_into("#recovery-confirm", &key[key.len() - 6..]);
    app.click("[data-testid=recovery-done]");
    app.wait_for("[data-testid=nav-data]");
    assert_eq!(
        files_containing(tmp.path(), key.as_bytes()),
        Vec::<PathBuf>::new(),
        "the recovery key is written nowhere (vault, app data, WebKit storage)"
    );

    // My data: add a resource (and one the company will not be granted).
    open_section(&app, "data", "data");
    add_resource(&app, "/contact/email", &json!({"email": "ada@example.org"}));
    add_resource(&app, "/profile/card", &json!({"name": "Ada"}));
    app.click("[data-path=\"/contact/email\"]");
    // The resource opens in a form for its kind: the email is in a field.
    app.wait_until("the email shown in the resource's form", |d| {
        d.script(
            "return [...document.querySelectorAll('main input, main textarea')]\
               .some(el => el.value.includes(arguments[0]))",
            vec![json!("ada@example.org")],
        )
        .ok()?
        .as_bool()?
        .then_some(())
    });
    app.screenshot("data");

    // The sensitive mark: set, then lowered (which the log records).
    let sensitivity = |d: &Desktop| {
        d.script(
            "const dt = [...document.querySelectorAll('main dt')].find(e => e.textContent === 'Sensitivity');\
             return dt ? dt.nextElementSibling.textContent.trim() : null",
            vec![],
        )
        .ok()?
        .as_str()
        .map(str::to_string)
    };
    assert_eq!(sensitivity(&app).as_deref(), Some("normal"));
    app.click("#resource-sensitive");
    app.wait_until("the resource marked sensitive", |d| {
        (sensitivity(d)?.as_str() == "sensitive").then_some(())
    });
    app.click("#resource-sensitive");
    app.wait_until("the mark lowered", |d| {
        (sensitivity(d)?.as_str() == "normal").then_some(())
    });

    // Preferences: no phone calls, quiet from 21:00 to 08:00.
    open_section(&app, "preferences", "preferences");
    app.wait_for("#channel-phone");
    app.set_checked("#channel-phone", false);
    app.set_checked("#quiet-enabled", true);
    app.set_value("#quiet-start", "21:00");
    app.set_value("#quiet-end", "08:00");
    app.click("[data-testid=save-preferences]");
    app.wait_for("[data-testid=saved]");
    app.scroll_to_top();
    app.screenshot("preferences");

    // Sharing on: the pod API listens on the configured loopback port.
    open_section(&app, "requests", "sharing");
    app.wait_for("[data-testid=sharing-toggle]");
    assert!(
        !app.is_checked("[data-testid=sharing-toggle]"),
        "sharing starts off"
    );
    app.click("[data-testid=sharing-toggle]");
    // The app took any free loopback port (CUSTODIAN_SHARING_PORT=0; 7878
    // for `make screenshots`): the
    // address it shows is the one the company uses below.
    let base = app.wait_until("the sharing address", |d| {
        let shown = d.text("[data-testid=sharing-address]");
        shown.starts_with("http://127.0.0.1:").then_some(shown)
    });
    assert_ne!(base, "http://127.0.0.1:0", "{base}");

    // A company asks for contact details and the profile.
    let company = Company::at(&base, "Acme Shop");
    let auth = company.ask(contact_and_profile(), 86_400);
    let user_code = auth.user_code().secret().clone();
    let card = "[data-testid=request-card]";
    let card_text = app.wait_for_text(card, "Acme Shop");
    assert!(
        card_text.contains("Sending your order confirmations"),
        "{card_text}"
    );
    assert!(
        card_text.contains(&user_code),
        "the card shows the user code: {card_text}"
    );
    app.wait_until("the requests badge to count 1", |d| {
        (d.text("[data-testid=requests-badge]") == "1").then_some(())
    });
    let contact = format!("{card} input[type=checkbox][data-path=\"/contact/\"]");
    let profile = format!("{card} input[type=checkbox][data-path=\"/profile/\"]");
    assert!(
        app.is_checked(&contact) && app.is_checked(&profile),
        "all asked is ticked at first"
    );
    app.screenshot("sharing-request");
    assert_labelled(&app, "sharing-request");

    // Narrow it: contact only. Approve.
    app.set_checked(&profile, false);
    assert!(app.is_checked(&contact));
    app.click(&format!("{card} [data-testid=approve]"));
    app.wait_gone(card);
    app.wait_gone("[data-testid=requests-badge]");

    // The company's poll gets a token for what was granted, no more.
    let token = company.token(&auth).expect("a token after approval");
    let granted = &token.extra_fields().authorization_details;
    assert_eq!(granted[0]["paths"], json!(["/contact/"]), "{granted}");
    let secret = token.access_token().secret().clone();
    let r = get_at(&base, &secret, "/contact/email");
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<Value>().unwrap(),
        json!({"email": "ada@example.org"})
    );
    let r = get_at(&base, &secret, "/profile/card");
    assert_eq!(r.status(), 403, "the unticked path is refused");
    assert!(!r.text().unwrap().contains("Ada"));

    // Access: the grant, then revoke it.
    open_section(&app, "access", "access");
    let row = "[data-testid=grant-row][data-status=active]";
    let row_text = app.wait_for_text(row, "Acme Shop");
    assert!(row_text.contains("/contact/"), "{row_text}");
    assert!(
        !row_text.contains("/profile/"),
        "the grant is the narrowed one: {row_text}"
    );
    app.screenshot("access");
    let (pod_id, downloaded) = check_grant_receipt(&app, row, &home);
    app.click(&format!("{row} [data-testid=revoke]"));
    // The revoke button asks once before it acts (docs/ui-contract.md):
    // until the person confirms, the grant stays active and its token works.
    let confirm = "[data-testid=grant-row] [data-testid=confirm]";
    app.wait_for(confirm);
    assert!(
        app.exists(row),
        "nothing is revoked before the confirmation"
    );
    assert_eq!(
        get_at(&base, &secret, "/contact/email").status(),
        200,
        "the token still works while the confirmation is asked"
    );
    app.click(confirm);
    app.wait_gone(row);
    let r = get_at(&base, &secret, "/contact/email");
    assert_eq!(r.status(), 401, "a revoked token is refused");
    // The revocation has its receipt too, listed with every decision.
    let withdrawn = "[data-testid=receipt-row][data-event=withdrawn]";
    app.wait_for_text(withdrawn, "Acme Shop");
    app.click(&format!("{withdrawn} [data-testid=receipt]"));
    app.wait_for_text(
        &format!("{withdrawn} [data-testid=receipt-event]"),
        "Withdrawn by you",
    );

    // A second ask, denied in the window: a refusal is listed nowhere but
    // among the receipts, with what was asked.
    open_section(&app, "requests", "sharing");
    let again = company.ask(contact_and_profile(), 3600);
    app.wait_for_text(card, "Acme Shop");
    app.click(&format!("{card} [data-testid=deny]"));
    app.wait_gone(card);
    assert_eq!(company.token(&again).unwrap_err(), "access_denied");
    open_section(&app, "access", "access");
    let refused = "[data-testid=receipt-row][data-event=refused]";
    app.wait_for_text(refused, "Acme Shop");
    app.click(&format!("{refused} [data-testid=receipt]"));
    let view = app.wait_for_text(
        &format!("{refused} [data-testid=receipt-view]"),
        "What was asked and refused",
    );
    assert!(view.contains("/profile/"), "{view}");

    // Activity: the reads, allowed and refused.
    open_section(&app, "activity", "activity");
    let rows = "[data-testid=log-row]";
    app.wait_for_text(rows, "/contact/email");
    let log = app.texts(rows);
    let row_with = |needles: &[&str]| {
        log.iter()
            .find(|r| needles.iter().all(|n| r.contains(n)))
            .unwrap_or_else(|| panic!("no log row with {needles:?} in {log:#?}"))
    };
    row_with(&["Acme Shop", "GET", "/contact/email", "allowed"]);
    row_with(&["Acme Shop", "GET", "/profile/card", "denied"]);
    row_with(&["GET", "/contact/email", "denied", "revoked"]);
    row_with(&["You", "unmark", "/contact/email"]);
    row_with(&["Acme Shop", "company", "GET"]);
    assert!(
        !log.iter()
            .any(|r| r.contains("/profile/card") && r.contains("allowed")),
        "the refused path was never read: {log:#?}"
    );
    // The whole vault's check: pages, the log's chain, the kept counts.
    app.click("[data-testid=verify-log]");
    app.wait_for_text(
        "[data-testid=verify-result]",
        "entries intact; every page of the vault authenticates.",
    );
    app.screenshot("activity");

    // The remaining screens.
    open_section(&app, "bundle", "export");
    app.wait_for("[data-testid=export]");
    let bundle = PathBuf::from(app.value("#export-path"));
    assert!(
        bundle.starts_with(&home),
        "the default destination is in the person's home: {}",
        bundle.display()
    );
    app.type_into("#export-passphrase", "bundle passphrase 1");
    app.type_into("#export-passphrase-confirm", "bundle passphrase 1");
    app.screenshot("export");
    app.click("[data-testid=export]");
    let summary = app.wait_for_text("[data-testid=export-summary]", "Exported");
    assert!(
        summary.contains(&bundle.display().to_string()),
        "the summary names the file: {summary}"
    );
    let head = std::fs::read(&bundle).expect("the bundle was written");
    assert!(
        head.starts_with(b"age-encryption.org/v1\n-> scrypt "),
        "an age file sealed with a passphrase"
    );
    open_section(&app, "settings", "settings");
    app.wait_for("#auto-lock");
    app.wait_for("#current-passphrase");
    assert_eq!(
        app.wait_for_text("[data-testid=pod-id]", &pod_id),
        pod_id,
        "Settings shows the pod id that signs the receipts"
    );
    app.script(
        "document.querySelector('[data-testid=pod-id]').scrollIntoView({block: 'center'}); return true",
        vec![],
    )
    .expect("scroll to the pod id");
    app.screenshot("pod-id");
    app.scroll_to_top();
    app.screenshot("settings");

    // Lock, then unlock again: the data is still there.
    app.click("[data-testid=lock]");
    app.wait_for("#unlock-passphrase");
    assert!(
        !app.exists("[data-testid=nav-data]"),
        "locked: no data screens"
    );
    app.screenshot("unlock");
    assert_labelled(&app, "unlock");
    // While locked, sharing stays at its address and tells companies to
    // come back later; after unlock it serves (and refuses) as before.
    let locked = get_at(&base, &secret, "/contact/email");
    assert_eq!(locked.status(), 503, "a locked vault is unavailable");
    assert!(
        locked.headers().contains_key("retry-after"),
        "companies are told when to retry"
    );
    let body: Value = locked.json().unwrap();
    assert_eq!(body["error"], "vault_locked", "{body}");
    app.type_into("#unlock-passphrase", PASSPHRASE);
    app.click("[data-testid=unlock]");
    open_section(&app, "data", "data");
    assert_eq!(
        get_at(&base, &secret, "/contact/email").status(),
        401,
        "unlocked again: the pod answers, and the revoked token stays refused"
    );
    app.click("[data-path=\"/contact/\"]");
    app.wait_for("[data-path=\"/contact/email\"]");
    app.quit();

    // What the app wrote is in the vault, as the CLI reads it.
    let email: Value =
        serde_json::from_str(&cli(&home, &vault, &["get", "/contact/email"])).unwrap();
    assert_eq!(email, json!({"email": "ada@example.org"}));
    let prefs: Value =
        serde_json::from_str(&cli(&home, &vault, &["prefs", "show", "--json"])).unwrap();
    assert_eq!(prefs["channels"]["phone"], false, "{prefs}");
    assert_eq!(prefs["channels"]["email"], true, "{prefs}");
    assert_eq!(prefs["quiet_hours"]["start"], "21:00", "{prefs}");
    assert_eq!(prefs["quiet_hours"]["end"], "08:00", "{prefs}");
    // The downloaded receipt verifies against the vault that signed it.
    let opened = Vault::open(&vault, &SecretString::from(PASSPHRASE.to_string())).unwrap();
    let verified = opened.store().verify_receipt(&downloaded).unwrap();
    assert_eq!(verified.event, ReceiptEvent::GivenNarrower);
    drop(opened);

    // The bundle the app exported restores with the command line.
    let secret_file = tmp.path().join("bundle-passphrase");
    std::fs::write(&secret_file, "bundle passphrase 1").unwrap();
    let restored = tmp.path().join("restored");
    let mut import = custodian(&home);
    import
        .arg("--vault")
        .arg(&restored)
        .arg("import")
        .arg(&bundle)
        .arg("--bundle-passphrase-file")
        .arg(&secret_file)
        .env("CUSTODIAN_NEW_PASSPHRASE", PASSPHRASE);
    run_ok(import);
    let email: Value =
        serde_json::from_str(&cli(&home, &restored, &["get", "/contact/email"])).unwrap();
    assert_eq!(email, json!({"email": "ada@example.org"}));
}

#[test]
fn a_wrong_passphrase_shows_an_error_and_changes_nothing() {
    let (tmp, home) = scratch_home();
    let vault = tmp.path().join("vault");
    // A vault made by the real CLI, with some data.
    cli_vault_with_email(&home, &vault);
    let before = snapshot(&vault);

    let app = Desktop::launch(Launch {
        vault: &vault,
        home: &home,
    });
    app.wait_for("#unlock-passphrase");
    assert!(
        !app.exists("#new-passphrase"),
        "an existing vault is not offered creation"
    );
    app.type_into("#unlock-passphrase", "not the passphrase at all");
    app.click("[data-testid=unlock]");
    let alert = app.wait_until("an error message", |d| {
        d.texts("[role=alert]").into_iter().find(|t| !t.is_empty())
    });
    assert!(
        alert.to_lowercase().contains("passphrase"),
        "the message says what was wrong: {alert}"
    );
    assert!(!app.exists("[data-testid=nav-data]"), "still locked");
    app.screenshot("wrong-passphrase");
    assert_eq!(
        snapshot(&vault),
        before,
        "a wrong passphrase changes nothing in the vault (bytes and times)"
    );
    // The CLI still opens it with the right one.
    let email: Value =
        serde_json::from_str(&cli(&home, &vault, &["get", "/contact/email"])).unwrap();
    assert_eq!(email, json!({"email": "ada@example.org"}));
    // And so does the app.
    app.type_into("#unlock-passphrase", PASSPHRASE);
    app.click("[data-testid=unlock]");
    app.wait_for("[data-testid=nav-data]");
    app.quit();
}

#[test]
fn a_bundle_restores_into_a_new_vault_in_the_app() {
    let (tmp, home) = scratch_home();
    let old = tmp.path().join("old-vault");
    // The old machine: a vault with data, exported by the CLI.
    cli_vault_with_email(&home, &old);
    let secret_file = tmp.path().join("bundle-passphrase");
    std::fs::write(&secret_file, "bundle passphrase 1").unwrap();
    let bundle = tmp.path().join("move.custodian.age");
    cli(
        &home,
        &old,
        &[
            "export",
            "--out",
            bundle.to_str().unwrap(),
            "--bundle-passphrase-file",
            secret_file.to_str().unwrap(),
            "--quiet",
        ],
    );

    // The new machine: the app's first run restores it.
    let vault = tmp.path().join("vault");
    let app = Desktop::launch(Launch {
        vault: &vault,
        home: &home,
    });
    app.click("[data-testid=use-restore]");
    app.type_into("#restore-path", bundle.to_str().unwrap());
    app.type_into("#restore-bundle-passphrase", "not the bundle passphrase");
    app.type_into("#restore-new-passphrase", "a new passphrase here");
    app.type_into("#restore-confirm-passphrase", "a new passphrase here");
    app.click("[data-testid=restore]");
    let alert = app.wait_until("an error message", |d| {
        d.texts("[role=alert]").into_iter().find(|t| !t.is_empty())
    });
    assert!(
        alert.to_lowercase().contains("passphrase"),
        "a wrong bundle passphrase is named as such: {alert}"
    );
    assert!(!vault.exists(), "a failed restore leaves no vault behind");

    app.set_value("#restore-bundle-passphrase", "bundle passphrase 1");
    app.screenshot("restore");
    app.click("[data-testid=restore]");
    let key = app.wait_for_text("[data-testid=recovery-key]", "AGE-SECRET-KEY-1");
    assert!(app.text("[data-testid=restored]").contains("Restored"));
    let key = key.trim().to_string();
    app.type_into("#recovery-confirm", &key[key.len() - 6..]);
    app.click("[data-testid=recovery-done]");
    open_section(&app, "data", "data");
    app.click("[data-path=\"/contact/\"]");
    app.click("[data-path=\"/contact/email\"]");
    app.wait_until("the restored email in its field", |d| {
        (d.value("#field-email") == "ada@example.org").then_some(())
    });
    app.quit();

    // The restored vault opens with its new passphrase, and has the data.
    let mut get = custodian(&home);
    get.arg("--vault")
        .arg(&vault)
        .args(["get", "/contact/email"])
        .env("CUSTODIAN_PASSPHRASE", "a new passphrase here");
    let email: Value = serde_json::from_str(&run_ok(get)).unwrap();
    assert_eq!(email, json!({"email": "ada@example.org"}));
}

/// The desktop starts Custodian with a link when it is not running: the
/// link is opened once the person unlocks.
#[test]
fn a_link_given_at_start_is_opened_after_the_unlock() {
    let (tmp, home) = scratch_home();
    let vault = tmp.path().join("vault");
    cli_vault_with_email(&home, &vault);
    let app = Desktop::launch_with(
        Launch {
            vault: &vault,
            home: &home,
        },
        &[],
        &[PRIVATE_LINK],
    );
    app.wait_for("#unlock-passphrase");
    app.type_into("#unlock-passphrase", PASSPHRASE);
    app.click("[data-testid=unlock]");
    app.wait_until("the start link in Sharing → Connect a company", |d| {
        (d.value("[data-testid=connect-link]") == PRIVATE_LINK).then_some(())
    });
    app.wait_for("[data-testid=connect-error]");
    app.quit();
}

/// A link to a request address inside a private network: the app refuses it
/// by its address, before connecting to anything.
const PRIVATE_LINK: &str = "custodian://connect?client_id=https%3A%2F%2F10.1.2.3%2Fclient.json&request_uri=https%3A%2F%2F10.1.2.3%2Frequests%2Fr1";

/// A `custodian:` link opened on the desktop (the app started a second
/// time with the link as its only argument, as the desktop's handler does)
/// reaches the running window, which comes to Sharing → "Connect a company"
/// with the link filled in and fetched; a link that arrives while locked
/// waits for the unlock.
#[test]
fn a_link_opened_on_the_desktop_reaches_the_running_window() {
    let (tmp, home) = scratch_home();
    let vault = tmp.path().join("vault");
    cli_vault_with_email(&home, &vault);
    let app = Desktop::launch(Launch {
        vault: &vault,
        home: &home,
    });
    app.wait_for("#unlock-passphrase");
    app.open_link(PRIVATE_LINK);
    assert!(
        !app.exists("[data-testid=connect-link]"),
        "nothing is shown before the unlock"
    );
    app.type_into("#unlock-passphrase", PASSPHRASE);
    app.click("[data-testid=unlock]");
    app.wait_until("the link in Sharing → Connect a company", |d| {
        (d.value("[data-testid=connect-link]") == PRIVATE_LINK).then_some(())
    });
    assert_eq!(
        app.attr("[data-testid=nav-requests]", "aria-current")
            .as_deref(),
        Some("page"),
        "the window went to Sharing"
    );
    let refusal = app.wait_until("the refusal", |d| {
        d.texts("[data-testid=connect-error]").into_iter().next()
    });
    assert!(
        refusal.contains("10.1.2.3"),
        "the refusal names the address: {refusal}"
    );

    // While unlocked, on another screen: the window comes back to Sharing.
    open_section(&app, "data", "data");
    let other = PRIVATE_LINK.replace("r1", "r2");
    app.open_link(&other);
    app.wait_until("the second link in the field", |d| {
        (d.value("[data-testid=connect-link]") == other).then_some(())
    });
    app.quit();
}

/// A small logo the test company serves (an SVG: one of the shown types).
const SHOP_LOGO: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#c2410c"/><path d="M9 12h14l-2 12H11z" fill="#fff"/><path d="M12 12a4 4 0 0 1 8 0" fill="none" stroke="#fff" stroke-width="2"/></svg>"##;

/// A company on the internet, end to end in the window: the test company
/// serves its metadata, keys, logo and a signed request over real HTTPS
/// (a CA made in the test); its `custodian://connect` link is opened on the
/// desktop into the running window; the request card shows the verified
/// domain, the logo and the policy; approving it delivers the decision to
/// the company; Access shows the delivery, then a failing one (the company
/// down) with its reason and next attempt, and "Send now" once it is back;
/// the company's feed appends a record; Activity says it in plain words.
#[test]
fn a_company_connects_by_its_link_and_gets_what_was_approved() {
    let shop = Shop::start();
    let host = "shop.test";
    let mut metadata = shop.metadata(host);
    metadata["client_name"] = json!("Shop");
    metadata["logo_uri"] = json!(shop.url(host, "/logo.svg"));
    shop.set_metadata(host, metadata);
    shop.publish(host, "/logo.svg", SHOP_LOGO.as_bytes(), "image/svg+xml");
    let ask = Ask::new(json!([
        {"type": "pod_access", "paths": ["/contact/"], "actions": ["read"],
         "purpose": "Order updates by email"},
        {"type": "pod_access", "paths": ["/purchases/"], "actions": ["append"],
         "purpose": "Your receipts, kept with you"}
    ]));
    let link = shop.link(host, &shop.publish_request(host, &ask));

    let (tmp, home) = scratch_home();
    let vault = tmp.path().join("vault");
    cli_vault_with_email(&home, &vault);
    let resolve = shop.resolve_map();
    let app = Desktop::launch_with(
        Launch {
            vault: &vault,
            home: &home,
        },
        &[
            ("CUSTODIAN_TEST_RESOLVE", resolve.as_ref()),
            ("CUSTODIAN_TEST_TRUST_LOOPBACK", "1".as_ref()),
            ("CUSTODIAN_TEST_CA", shop.ca_path.as_os_str()),
        ],
        &[],
    );
    app.wait_for("#unlock-passphrase");
    app.type_into("#unlock-passphrase", PASSPHRASE);
    app.click("[data-testid=unlock]");
    app.wait_for("[data-testid=nav-data]");

    // The link, opened on the desktop, lands in the running window.
    app.open_link(&link);
    let badge = app.wait_until("the request card with the verified domain", |d| {
        d.texts("[data-testid=request-card] [data-testid=verified]")
            .into_iter()
            .next()
    });
    let domain = format!("{host}:{}", shop.port);
    assert_eq!(badge, format!("Verified: {domain}"));
    app.wait_for("[data-testid=connect-done]");
    app.wait_for("[data-testid=request-card] [data-testid=company-logo]");
    assert!(
        app.attr("[data-testid=company-logo]", "src")
            .is_some_and(|src| src.starts_with("data:image/svg+xml;base64,")),
        "the logo is shown from a data: URL, never loaded by the page"
    );
    assert_eq!(
        app.text("[data-testid=request-card] [data-testid=policy]"),
        shop.url(host, "/privacy")
    );
    assert!(
        !app.exists("[data-testid=request-card] [data-testid=user-code]"),
        "a linked company shows no code to compare: its domain is the check"
    );
    assert!(app
        .text("[data-testid=request-card]")
        .contains("Order updates by email"));
    app.script(
        "document.querySelector('[data-testid=request-card]').scrollIntoView({block: 'start'}); return true",
        vec![],
    )
    .expect("scroll the card into view");
    app.screenshot("request-verified");
    assert_labelled(&app, "requests");

    // Approved in the card: the decision is delivered to the company.
    app.click("[data-testid=request-card] [data-testid=approve]");
    app.wait_gone("[data-testid=request-card]");
    let delivered = shop.wait_deliveries(host, 1, app::DEADLINE);
    assert_eq!(delivered[0].event(), "granted");
    assert_eq!(delivered[0].seq(), 1);

    // Access: where it goes, when it last went.
    open_section(&app, "access", "access");
    app.wait_for_text("[data-testid=grant-row] [data-testid=verified]", &domain);
    app.wait_for_text("[data-testid=last-delivered]", "Last delivered");
    assert!(app
        .text("[data-testid=deliveries]")
        .contains(&shop.url(host, "/custodian/deliveries")));
    app.screenshot("delivery-status");

    // The company goes down; a change to the data it may read is queued
    // and fails, with the reason and the next attempt shown.
    shop.set_outage(Outage::Status {
        code: 503,
        retry_after: Some(3600),
    });
    cli(
        &home,
        &vault,
        &[
            "put",
            "/contact/email",
            "--json",
            r#"{"email":"ada@lovelace.org"}"#,
        ],
    );
    let failing = app.wait_until("the failing delivery", |d| {
        d.texts("[data-testid=delivery-failing]").into_iter().next()
    });
    assert!(failing.contains("503"), "the reason is shown: {failing}");
    assert!(
        failing.contains("Next attempt"),
        "and the next attempt: {failing}"
    );
    app.screenshot("delivery-failing");

    // Meanwhile the company has a receipt for the person (its feed).
    let granted = &delivered[0];
    shop.queue_feed_item(
        host,
        granted.pod_id(),
        granted.claims["grant_id"].as_str().expect("the grant id"),
        json!({"container": "/purchases/", "slug": "order-1234",
               "content_type": "application/json", "content": {"order": 1234}}),
        true,
    );

    // Back up: "Send now" sends it at once, not in an hour.
    shop.set_outage(Outage::None);
    app.click("[data-testid=send-now]");
    let delivered = shop.wait_deliveries(host, 2, app::DEADLINE);
    assert_eq!(delivered[1].event(), "updated");
    app.wait_gone("[data-testid=delivery-failing]");

    // Activity: the connection, the deliveries and the feed in plain words.
    open_section(&app, "activity", "activity");
    app.wait_for("[data-action=connect]");
    app.wait_for_text("[data-action=deliver]", "Sent to the company");
    app.wait_for_text("[data-action=feed]", "Added from the company");
    let stored: Value =
        serde_json::from_str(&cli(&home, &vault, &["get", "/purchases/order-1234"])).unwrap();
    assert_eq!(stored, json!({"order": 1234}));
    app.quit();
}
