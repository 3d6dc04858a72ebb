//! A vault and a bundle written by an earlier build (`tests/fixtures/compat`,
//! made by `scripts/make-compat-fixture` with the build named in its
//! `VERSION` file) opened by this one: the access log's hash chain still
//! verifies, every entry reads back as that build printed it, the report
//! counts the same, the counts kept since migration 8 are filled true, and
//! the bundle restores into a vault whose log and counts verify.
//! A change to how entries are hashed, stored or named fails here.

use std::path::{Path, PathBuf};

use custodian_e2e::{custodian, run_ok};
use serde_json::Value;

const PASSPHRASE: &str = "compat fixture passphrase, not a secret";
const BUNDLE_PASSPHRASE: &str = "compat fixture bundle passphrase, not a secret";

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/compat")
}

/// A copy of the fixture vault (opening it may write: the WAL, migrations).
fn copy_vault(to: &Path) -> PathBuf {
    let dir = to.join("vault");
    std::fs::create_dir(&dir).unwrap();
    for entry in std::fs::read_dir(fixture().join("vault")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
    }
    dir
}

fn run(home: &Path, vault: &Path, args: &[&str]) -> String {
    let mut cmd = custodian(home);
    cmd.arg("--vault")
        .arg(vault)
        .args(args)
        .env("CUSTODIAN_PASSPHRASE", PASSPHRASE)
        .env("CUSTODIAN_NEW_PASSPHRASE", PASSPHRASE)
        .env("CUSTODIAN_BUNDLE_PASSPHRASE", BUNDLE_PASSPHRASE);
    run_ok(cmd)
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn fixture_json(name: &str) -> Value {
    json(&std::fs::read_to_string(fixture().join(name)).unwrap())
}

/// The report without what moves with the clock: the window's end, and
/// which grants are still in force.
fn timeless(mut report: Value) -> Value {
    report["until"] = Value::Null;
    for c in report["companies"].as_array_mut().unwrap() {
        c["grants_active"] = Value::Null;
    }
    report
}

#[test]
fn an_earlier_builds_log_verifies_and_reads_back_the_same() {
    let tmp = tempfile::tempdir().unwrap();
    let vault = copy_vault(tmp.path());
    let verified = run(tmp.path(), &vault, &["log", "verify"]);
    assert!(verified.contains("intact"), "{verified}");
    // Opening it ran the migrations since: the counts they filled are true.
    let check = json(&run(tmp.path(), &vault, &["verify", "--json"]));
    assert_eq!(check["counts"]["differing"], 0, "{check}");

    let log = json(&run(tmp.path(), &vault, &["log", "--json", "--limit", "0"]));
    let earlier = fixture_json("log.json");
    assert!(earlier.as_array().unwrap().len() >= 20, "a thin fixture");
    assert_eq!(log, earlier, "the log reads back differently");

    let report = json(&run(
        tmp.path(),
        &vault,
        &["report", "--since", "all", "--json"],
    ));
    assert_eq!(timeless(report), timeless(fixture_json("report.json")));
}

#[test]
fn an_earlier_builds_bundle_restores_with_its_log_intact() {
    let tmp = tempfile::tempdir().unwrap();
    let restored = tmp.path().join("restored");
    let bundle = fixture().join("bundle.custodian.age");
    run(
        tmp.path(),
        &restored,
        &["import", bundle.to_str().unwrap(), "--quiet"],
    );
    let verified = run(tmp.path(), &restored, &["log", "verify"]);
    assert!(verified.contains("intact"), "{verified}");
    let log = json(&run(
        tmp.path(),
        &restored,
        &["log", "--json", "--limit", "0"],
    ));
    // Restoring keeps the log exactly as it was exported.
    assert_eq!(log, fixture_json("log.json"));
    let check = json(&run(tmp.path(), &restored, &["verify", "--json"]));
    assert_eq!(check["counts"]["differing"], 0, "{check}");
    let name = run(tmp.path(), &restored, &["get", "/profile/name"]);
    assert!(name.contains("Ada"), "{name}");
}
