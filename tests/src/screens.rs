//! Steps the desktop tests share, on the app's screens by the selectors in
//! `docs/ui-contract.md`: going to a section (checking every control on it
//! has a name and keyboard reach), adding a resource, what the company asks
//! for; and around the window, the scratch home the app and the CLI share,
//! the CLI on the same vault, and a search of files for a secret.

use std::path::{Path, PathBuf};

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
