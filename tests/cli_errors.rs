//! Every error a person can cause has a case that shows its message: one
//! small file per case under `tests/cmd/`, with the exact expected stderr and
//! exit code (in the manner of rage's `tests/cmd`). A case on a vault also
//! proves that the failed command changed nothing.
//!
//! A case file:
//! ```toml
//! about = "what the person did wrong"
//! setup = "vault"          # vault | none | foreign-dir
//! args = ["get", "/a/../b"]
//! env = { CUSTODIAN_PASSPHRASE = "…" }   # default: the right passphrase
//! unset = ["CUSTODIAN_PASSPHRASE"]       # variables to remove
//! status = 6
//! stderr = "custodian: …\n"   # [VAULT] stands for the vault path
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use custodian_e2e::{custodian, TestVault, PASSPHRASE};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    about: String,
    setup: String,
    args: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    /// Variables to remove (the runner sets the right passphrase otherwise).
    #[serde(default)]
    unset: Vec<String>,
    status: i32,
    stderr: String,
}

fn run_case(file: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(file).map_err(|e| e.to_string())?;
    let case: Case = toml::from_str(&text).map_err(|e| format!("bad case file: {e}"))?;
    let vault = TestVault::new();
    let dir = match case.setup.as_str() {
        "vault" => vault.dir.clone(),
        "none" => vault.home().join("no-vault-here"),
        "foreign-dir" => {
            let d = vault.home().join("photos");
            std::fs::create_dir(&d).map_err(|e| e.to_string())?;
            std::fs::write(d.join("cat.jpg"), b"meow").map_err(|e| e.to_string())?;
            d
        }
        other => return Err(format!("unknown setup {other:?}")),
    };
    let before = vault.snapshot_files();
    let mut cmd = custodian(vault.home());
    cmd.current_dir(vault.home())
        .env("CUSTODIAN_VAULT", &dir)
        .env("CUSTODIAN_PASSPHRASE", PASSPHRASE);
    for (k, v) in &case.env {
        cmd.env(k, v);
    }
    for k in &case.unset {
        cmd.env_remove(k);
    }
    cmd.args(&case.args);
    let out = cmd.output().map_err(|e| e.to_string())?;
    let stderr =
        String::from_utf8_lossy(&out.stderr).replace(&dir.display().to_string(), "[VAULT]");
    let expected = case.stderr.clone();
    let mut problems = Vec::new();
    if out.status.code() != Some(case.status) {
        problems.push(format!(
            "exit code {:?}, expected {}",
            out.status.code(),
            case.status
        ));
    }
    if stderr != expected {
        problems.push(format!(
            "stderr:\n  got:      {stderr:?}\n  expected: {expected:?}"
        ));
    }
    if !out.stdout.is_empty() {
        problems.push(format!(
            "stdout should be empty, got {:?}",
            String::from_utf8_lossy(&out.stdout)
        ));
    }
    // Every file byte-identical with the same modification time.
    if vault.snapshot_files() != before {
        problems.push("the vault changed".into());
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} ({}):\n{}",
            file.display(),
            case.about,
            problems.join("\n")
        ))
    }
}

#[test]
fn every_error_case_shows_its_message_and_changes_nothing() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("cmd");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/cmd")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 20,
        "expected the full set of cases, found {}",
        files.len()
    );
    let failures: Vec<String> = files.iter().filter_map(|f| run_case(f).err()).collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        files.len(),
        failures.join("\n\n")
    );
}
