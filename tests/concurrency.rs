//! The person's CLI and a running server write to one vault at the same
//! time: every write succeeds (no keying error, no "database is locked"),
//! every write is there afterwards, and the log's chain is whole.

use std::collections::BTreeMap;

use custodian_core::sharing::request::Approval;
use custodian_e2e::company::{http, Company};
use custodian_e2e::faults::{log_verifies, logged_writes, missing_writes, open, Killable};
use custodian_e2e::TestVault;
use serde_json::json;

#[test]
fn the_cli_and_a_running_server_write_together() {
    let v = TestVault::new();
    let server = Killable::serve(&v);
    let company = Company::at(&server.base, "Busy Writer");
    let auth = company.ask(
        json!([{"type": "pod_access", "paths": ["/shared/"], "actions": ["read", "write"],
                "purpose": "Writing while you do"}]),
        3600,
    );
    open(&v.dir)
        .store()
        .approve_request(auth.user_code().secret(), &Approval::default())
        .expect("approve");
    let token = company.access_token(&auth);

    const API_WRITERS: usize = 3;
    const API_WRITES: usize = 60;
    const CLI_WRITERS: usize = 4;
    const CLI_WRITES: usize = 8;
    let api: Vec<_> = (0..API_WRITERS)
        .map(|w| {
            let (base, token) = (server.base.clone(), token.clone());
            std::thread::spawn(move || {
                let client = http();
                (0..API_WRITES)
                    .map(|n| {
                        let path = format!("/shared/w{w}-{n}");
                        let body = json!({"writer": w, "n": n}).to_string();
                        let r = client
                            .put(format!("{base}/pod{path}"))
                            .bearer_auth(&token)
                            .header("Content-Type", "application/json")
                            .body(body.clone())
                            .send()
                            .expect("PUT");
                        let status = r.status();
                        assert!(
                            status.is_success(),
                            "PUT {path}: {status} {}",
                            r.text().unwrap_or_default()
                        );
                        (path, body)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    // Each CLI process opens the vault from scratch (its own first use of
    // SQLCipher), writes, and reads the log, while the server writes.
    let cli: Vec<_> = (0..CLI_WRITERS)
        .map(|w| {
            let cmds: Vec<_> = (0..CLI_WRITES)
                .map(|n| {
                    let path = format!("/own/w{w}-{n}");
                    let body = json!({"cli": w, "n": n}).to_string();
                    (v.cmd(&["put", &path, "--json", &body]), path, body)
                })
                .collect();
            let mut verify = v.cmd(&["log", "verify"]);
            std::thread::spawn(move || {
                let mut written = Vec::new();
                for (mut cmd, path, body) in cmds {
                    let out = cmd.output().expect("custodian put");
                    assert!(
                        out.status.success(),
                        "put {path} while the server writes: {}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                    written.push((path, body));
                    let out = verify.output().expect("custodian log verify");
                    assert!(
                        out.status.success(),
                        "log verify while the server writes: {}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
                written
            })
        })
        .collect();
    let mut expected = BTreeMap::new();
    let mut api_paths = Vec::new();
    for h in api {
        let written = h.join().expect("an API writer failed");
        api_paths.extend(written.iter().map(|(p, _)| p.clone()));
        expected.extend(written);
    }
    for h in cli {
        expected.extend(h.join().expect("a CLI writer failed"));
    }
    server.kill();
    let vault = open(&v.dir);
    if let Some(lost) = missing_writes(&vault, &expected, &BTreeMap::new()) {
        panic!("a write is missing: {lost}");
    }
    let logged = logged_writes(&vault);
    assert!(api_paths.iter().all(|p| logged.contains(p)));
    drop(vault);
    log_verifies(&v).unwrap();
}
