//! Steps the desktop tests share, on the app's screens by the selectors in
//! `docs/ui-contract.md`: going to a section (checking every control on it
//! has a name and keyboard reach), adding a resource, what the company asks
//! for, a grant's Receipt view and its download; and around the window, the scratch home the app and the CLI share,
//! the CLI on the same vault, and a search of files for a secret.

use std::path::{Path, PathBuf};

use custodian_core::sharing::receipts;
use serde_json::{json, Value};

use crate::app::Desktop;
use crate::{custodian, run_ok, PASSPHRASE};

/// `custodian --vault DIR ARGS…` with the right passphrase.
pub fn cli(home: &Path, vault: &Path, args: &[&str]) -> String {
    let mut cmd = custodian(home);
    cmd.arg("--vault")
        .arg(vault)
        .args(args)
        .env("CUSTODIAN_PASSPHRASE", PASSPHRASE);
    run_ok(cmd)
}

/// A vault made by the real CLI (`init`, then `put`) holding `/contact/email`.
pub fn cli_vault_with_email(home: &Path, vault: &Path) {
    let mut init = custodian(home);
    init.arg("init")
        .arg("--vault")
        .arg(vault)
        .env("CUSTODIAN_PASSPHRASE", PASSPHRASE);
    run_ok(init);
    cli(
        home,
        vault,
        &[
            "put",
            "/contact/email",
            "--json",
            r#"{"email":"ada@example.org"}"#,
        ],
    );
}

/// Every file under `dir` whose bytes contain `needle`.
pub fn files_containing(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                stack.push(path);
            } else if meta.is_file() {
                if let Ok(bytes) = std::fs::read(&path) {
                    if bytes.windows(needle.len()).any(|w| w == needle) {
                        found.push(path);
                    }
                }
            }
        }
    }
    found
}

/// Goes to a section by its navigation link and waits for its heading.
pub fn open_section(app: &Desktop, nav: &str, heading: &str) {
    app.click(&format!("[data-testid=nav-{nav}]"));
    app.wait_until(&format!("the {nav} screen's heading {heading:?}"), |d| {
        d.texts("main h2")
            .into_iter()
            .find(|h| h.to_lowercase().contains(&heading.to_lowercase()))
    });
    assert_labelled(app, nav);
}

/// Every control on screen has a name a screen reader can say (a label, an
/// aria-label or -labelledby, a title, or a button's text) and can be
/// reached with the keyboard.
pub fn assert_labelled(app: &Desktop, screen: &str) {
    let js = r#"
        const bad = [];
        for (const el of document.querySelectorAll('input, select, textarea, button')) {
          if (el.type === 'hidden' || el.getClientRects().length === 0) continue;
          const byId = (id) => (id ? document.getElementById(id)?.textContent ?? '' : '');
          const name = [
            ...(el.labels ? [...el.labels].map((l) => l.textContent) : []),
            el.getAttribute('aria-label') ?? '',
            (el.getAttribute('aria-labelledby') ?? '').split(' ').map(byId).join(' '),
            el.title ?? '',
            el.tagName === 'BUTTON' ? el.textContent : '',
          ].join(' ').trim();
          if (!name) bad.push('no name: ' + el.outerHTML.slice(0, 160));
          if (el.tabIndex < 0 && !el.disabled) bad.push('not focusable: ' + el.outerHTML.slice(0, 160));
        }
        return bad;
    "#;
    let bad = app.script(js, vec![]).expect("the label check ran");
    assert_eq!(
        bad,
        json!([]),
        "controls without a name or out of keyboard reach on the {screen} screen"
    );
}

/// Adds a JSON resource through My data → New resource.
pub fn add_resource(app: &Desktop, path: &str, content: &Value) {
    app.click("[data-testid=new-resource]");
    app.type_into("#resource-path", path);
    app.type_into("#resource-json", &content.to_string());
    app.click("[data-testid=save-resource]");
    app.wait_for(&format!("[data-path=\"{path}\"]"));
}

/// What the company asks for: contact details and the profile, to read.
pub fn contact_and_profile() -> Value {
    json!([{"type": "pod_access", "paths": ["/contact/", "/profile/"], "actions": ["read"],
            "datatypes": ["contact", "profile"],
            "purpose": "Sending your order confirmations"}])
}

/// A scratch directory (kept alive by the guard) with an empty `home` in it
/// for the app and the CLI.
pub fn scratch_home() -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::Builder::new()
        .prefix("custodian-e2e-")
        .tempdir()
        .unwrap();
    let home = tmp.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    (tmp, home)
}

/// Opens the receipts of the grant in `row` (approved narrower than asked)
/// and checks the Receipt view and its download; returns the pod id that
/// signed the receipt and the file downloaded.
pub fn check_grant_receipt(app: &Desktop, row: &str, home: &Path) -> (String, String) {
    app.click(&format!("{row} [data-testid=receipt]"));
    let view = format!("{row} [data-testid=receipt-view][data-event=given_narrower]");
    let event = app.wait_for_text(&format!("{view} [data-testid=receipt-event]"), "narrower");
    assert_eq!(event, "Given, narrower than asked");
    let company = app.text(&format!("{view} [data-testid=receipt-company]"));
    assert!(company.contains("Acme Shop"), "{company}");
    let asked = app.text(&format!("{view} [data-testid=receipt-asked]"));
    assert!(
        asked.contains("/profile/"),
        "what was asked is shown beside what was given: {asked}"
    );
    let verified = format!("{view} [data-testid=receipt-verified]");
    assert_eq!(
        app.attr(&verified, "data-verified").as_deref(),
        Some("true"),
        "{}",
        app.text(&verified)
    );
    assert_labelled(app, "receipt");
    app.script(
        "document.querySelector(arguments[0]).scrollIntoView({block: 'start'}); return true",
        vec![json!(row)],
    )
    .expect("scroll to the grant");
    app.screenshot("receipt");

    // Download: the file holds exactly the signed receipt, a compact JWS.
    let out = PathBuf::from(app.value(&format!("{view} [data-testid=receipt-path]")));
    assert!(out.starts_with(home), "{}", out.display());
    app.click(&format!("{view} [data-testid=download-receipt]"));
    app.wait_for_text(
        &format!("{view} [data-testid=receipt-saved]"),
        &out.display().to_string(),
    );
    let jws = std::fs::read_to_string(&out).expect("the receipt was written");
    let parts: Vec<&str> = jws.split('.').collect();
    assert!(
        parts.len() == 3
            && parts.iter().all(|p| !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')),
        "three base64url parts, nothing else: {jws:?}"
    );
    let header = receipts::decode_header(&jws).unwrap();
    assert_eq!(header["alg"], "EdDSA", "{header}");
    assert_eq!(header["typ"], receipts::TYP, "{header}");
    let claims = receipts::decode(&jws).unwrap();
    assert_eq!(claims["event"]["type"], "given_narrower", "{claims}");
    assert_eq!(claims["controller"]["name"], "Acme Shop", "{claims}");
    // A second download never replaces the file.
    app.click(&format!("{view} [data-testid=download-receipt]"));
    app.wait_for_text(&format!("{view} [role=alert]"), "exists");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), jws);
    app.click(&format!("{row} [data-testid=receipt]"));
    app.wait_gone(&view);
    let pod_id = claims["iss"].as_str().expect("the pod id").to_string();
    (pod_id, jws)
}
