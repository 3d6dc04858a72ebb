//! The export bundle end to end: the real `custodian export`/`import`, and
//! the real `age` and `tar` binaries opening a bundle without Custodian.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use custodian_e2e::{custodian, run_fail, run_ok, TestVault};
use serde_json::Value;
use sha2::{Digest, Sha256};

const NEW_PASSPHRASE: &str = "a brand new passphrase";

/// A vault with JSON, history, a deletion and a binary file of several MiB.
fn filled() -> (TestVault, Vec<u8>) {
    let v = TestVault::new();
    v.ok(&[
        "put",
        "/contact/email",
        "--json",
        r#"{"email":"ada@example.org"}"#,
    ]);
    v.ok(&[
        "put",
        "/contact/email",
        "--json",
        r#"{"email":"ada@lovelace.org"}"#,
    ]);
    v.ok(&["put", "/notes/draft", "--json", r#""soon gone""#]);
    v.ok(&["rm", "/notes/draft"]);
    v.ok(&["prefs", "set", "channels.sms", "false"]);
    // 5 MiB of bytes that are not all the same (so nothing compresses them away).
    let big: Vec<u8> = (0..5 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let file = v.home().join("scan.bin");
    std::fs::write(&file, &big).unwrap();
    v.ok(&[
        "put",
        "/documents/scan.bin",
        "--file",
        file.to_str().unwrap(),
        "--category",
        "documents",
    ]);
    (v, big)
}

/// `age -d -i KEY BUNDLE | tar x -C DIR`, with the real binaries.
fn open_with_age_and_tar(bundle: &Path, key: &Path, into: &Path) {
    std::fs::create_dir_all(into).unwrap();
    let mut age = Command::new("age")
        .args(["-d", "-i"])
        .arg(key)
        .arg(bundle)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let tar = Command::new("tar")
        .arg("x")
        .arg("-C")
        .arg(into)
        .stdin(age.stdout.take().unwrap())
        .status()
        .unwrap();
    assert!(
        age.wait().unwrap().success() && tar.success(),
        "age -d | tar x failed"
    );
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The manifest's entries without the README (which names the vault and time).
fn lasting_entries(dir: &Path) -> Vec<Value> {
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    manifest["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["name"] != "README.txt")
        .cloned()
        .collect()
}

#[test]
fn a_bundle_opens_with_age_and_tar_and_restores_exactly() {
    let (v, big) = filled();
    let (key, recipient) = custodian_e2e::age_keygen(v.home());
    let bundle = v.home().join("out.custodian.age");
    let (out, err) = {
        let o = v
            .cmd(&[
                "export",
                "--out",
                bundle.to_str().unwrap(),
                "--recipient",
                &recipient,
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        (
            String::from_utf8(o.stdout).unwrap(),
            String::from_utf8(o.stderr).unwrap(),
        )
    };
    assert!(out.starts_with("Exported 3 resources ("), "{out}");
    assert!(
        err.is_empty(),
        "no progress bar when stderr is not a terminal: {err:?}"
    );
    let raw = std::fs::read(&bundle).unwrap();
    assert!(raw.starts_with(b"age-encryption.org/v1"));
    assert!(
        !raw.windows(16).any(|w| w == &big[1000..1016]),
        "the content is encrypted"
    );

    // Standard tools alone give readable files, each matching the manifest.
    let plain = v.home().join("opened");
    open_with_age_and_tar(&bundle, &key, &plain);
    assert_eq!(
        std::fs::read(plain.join("resources/documents/scan.bin#v1")).unwrap(),
        big
    );
    let email: Value =
        serde_json::from_slice(&std::fs::read(plain.join("resources/contact/email#v2")).unwrap())
            .unwrap();
    assert_eq!(email["email"], "ada@lovelace.org");
    let meta: Value = serde_json::from_slice(
        &std::fs::read(plain.join("resources/notes/draft#v2.meta.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(meta["deleted"], true);
    let prefs: Value =
        serde_json::from_slice(&std::fs::read(plain.join("preferences.json")).unwrap()).unwrap();
    assert_eq!(prefs["channels"]["sms"], false);
    for entry in lasting_entries(&plain) {
        let bytes = std::fs::read(plain.join(entry["name"].as_str().unwrap())).unwrap();
        assert_eq!(sha(&bytes), entry["sha256"], "{}", entry["name"]);
    }
    // The encrypted bundle carries the pod's signing key (so a restored
    // vault keeps its pod id), and says so; no other key.
    let readme = std::fs::read_to_string(plain.join("README.txt")).unwrap();
    assert!(readme.contains("No vault key, recovery key or access token"));
    assert!(readme.contains("pod_key.jsonl"));
    assert!(plain.join("pod_key.jsonl").exists());
    assert!(plain.join("receipts.jsonl").exists());

    // Restore into a new vault, with a new passphrase and a new recovery key.
    let restored = v.home().join("restored");
    let out = run_ok({
        let mut c = custodian(v.home());
        c.arg("--vault")
            .arg(&restored)
            .arg("import")
            .arg(&bundle)
            .arg("--identity-file")
            .arg(&key);
        c.env("CUSTODIAN_NEW_PASSPHRASE", NEW_PASSPHRASE);
        c
    });
    assert!(
        out.contains("Restored 3 resources") && out.contains("AGE-SECRET-KEY-1"),
        "{out}"
    );
    let in_restored = |args: &[&str]| {
        let mut c = custodian(v.home());
        c.arg("--vault")
            .arg(&restored)
            .args(args)
            .env("CUSTODIAN_PASSPHRASE", NEW_PASSPHRASE);
        c
    };
    let got = in_restored(&["get", "/documents/scan.bin"])
        .output()
        .unwrap();
    assert_eq!(got.stdout, big);
    assert!(run_ok(in_restored(&["history", "/notes/draft"])).contains("deleted"));
    assert!(run_ok(in_restored(&["log", "verify"])).starts_with("The access log is intact"));

    // Export again: the same resources, versions, preferences and log.
    let again = v.home().join("again.custodian.age");
    run_ok(in_restored(&[
        "export",
        "--out",
        again.to_str().unwrap(),
        "--recipient",
        &recipient,
    ]));
    let plain_again = v.home().join("opened-again");
    open_with_age_and_tar(&again, &key, &plain_again);
    assert_eq!(lasting_entries(&plain_again), lasting_entries(&plain));
}

#[test]
fn passphrase_bundles_and_every_refusal_leave_nothing_behind() {
    let (v, _) = filled();
    let pass_file = v.home().join("bundle-pass.txt");
    std::fs::write(&pass_file, "bundle passphrase\n").unwrap();
    // The default name, in the current directory.
    let day_before_export = chrono_today();
    let out = run_ok({
        let mut c = v.cmd(&[
            "export",
            "--bundle-passphrase-file",
            pass_file.to_str().unwrap(),
        ]);
        c.current_dir(v.home());
        c
    });
    // The name carries the day the export ran: today, or tomorrow if
    // midnight passed while it ran.
    let names: Vec<String> = [day_before_export, chrono_today()]
        .iter()
        .map(|day| format!("custodian-{day}.custodian.age"))
        .collect();
    let name = names
        .iter()
        .find(|name| out.contains(name.as_str()))
        .unwrap_or_else(|| panic!("none of {names:?} in {out}"))
        .clone();
    let bundle = v.home().join(&name);
    assert!(bundle.is_file());
    let (status, err) = run_fail({
        let mut c = v.cmd(&[
            "export",
            "--bundle-passphrase-file",
            pass_file.to_str().unwrap(),
        ]);
        c.current_dir(v.home());
        c
    });
    assert_eq!(status, 2);
    assert!(
        err.contains("already exists") && err.contains("--force"),
        "{err}"
    );

    let target = v.home().join("new-vault");
    let import = |file: &Path, extra: &[&str]| {
        let mut c = custodian(v.home());
        c.arg("--vault")
            .arg(&target)
            .arg("import")
            .arg(file)
            .args(extra);
        c.env("CUSTODIAN_NEW_PASSPHRASE", NEW_PASSPHRASE);
        c
    };
    let wrong = v.home().join("wrong.txt");
    std::fs::write(&wrong, "not the passphrase\n").unwrap();
    let cases: Vec<(PathBuf, Vec<&str>, i32, &str)> = {
        let bytes = std::fs::read(&bundle).unwrap();
        let cut = v.home().join("cut.custodian.age");
        std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
        let flipped = v.home().join("flipped.custodian.age");
        let mut f = bytes.clone();
        let at = f.len() / 3;
        f[at] ^= 1;
        std::fs::write(&flipped, &f).unwrap();
        let photo = v.home().join("photo.jpg");
        std::fs::write(&photo, b"\xff\xd8\xff\xe0JFIF").unwrap();
        vec![
            (
                bundle.clone(),
                vec!["--bundle-passphrase-file", wrong.to_str().unwrap()],
                4,
                "does not open with this passphrase",
            ),
            (
                cut,
                vec!["--bundle-passphrase-file", pass_file.to_str().unwrap()],
                6,
                "is truncated",
            ),
            (
                flipped,
                vec!["--bundle-passphrase-file", pass_file.to_str().unwrap()],
                6,
                "was damaged or changed after export",
            ),
            (
                photo,
                vec!["--bundle-passphrase-file", pass_file.to_str().unwrap()],
                6,
                "is not a bundle this Custodian can read",
            ),
        ]
    };
    for (file, extra, code, says) in cases {
        let (status, err) = run_fail(import(&file, &extra));
        assert_eq!(status, code, "{}: {err}", file.display());
        assert!(
            err.contains(says) && err.contains("nothing was written"),
            "{}: {err}",
            file.display()
        );
        assert!(!target.exists(), "no vault directory is left behind");
    }
    let out = run_ok(import(
        &bundle,
        &["--bundle-passphrase-file", pass_file.to_str().unwrap()],
    ));
    assert!(out.contains("Restored 3 resources"), "{out}");
}

#[test]
fn merge_adds_what_is_missing_and_changes_nothing_that_differs() {
    let (source, big) = filled();
    let (key, recipient) = custodian_e2e::age_keygen(source.home());
    let bundle = source.home().join("b.custodian.age");
    source.ok(&[
        "export",
        "--out",
        bundle.to_str().unwrap(),
        "--recipient",
        &recipient,
    ]);

    let here = TestVault::new();
    here.ok(&[
        "put",
        "/contact/email",
        "--json",
        r#"{"email":"someone@else.org"}"#,
    ]);
    here.ok(&["put", "/mine", "--json", "1"]);
    let out = here.ok(&[
        "import",
        bundle.to_str().unwrap(),
        "--identity-file",
        key.to_str().unwrap(),
        "--merge",
    ]);
    assert!(out.contains("resources added"), "{out}");
    assert!(
        out.contains("/contact/email") && out.contains("differ here and were left as they are"),
        "{out}"
    );
    assert_eq!(
        here.ok(&["get", "/contact/email"]).trim_end(),
        r#"{"email":"someone@else.org"}"#
    );
    assert_eq!(here.ok(&["get", "/mine"]).trim_end(), "1");
    let got = here.cmd(&["get", "/documents/scan.bin"]).output().unwrap();
    assert_eq!(got.stdout, big, "missing resources come over");
    assert!(here.ok(&["log"]).contains("merged bundle"));

    // Without --merge, an existing vault is never restored over.
    let (status, err) = run_fail(here.cmd(&[
        "import",
        bundle.to_str().unwrap(),
        "--identity-file",
        key.to_str().unwrap(),
    ]));
    assert_eq!(status, 3);
    assert!(
        err.contains("is not empty: restore into a new directory"),
        "{err}"
    );

    // A truncated bundle merges nothing at all.
    let bytes = std::fs::read(&bundle).unwrap();
    let cut = here.home().join("cut.age");
    std::fs::write(&cut, &bytes[..bytes.len() - 100]).unwrap();
    let before = here.ok(&["ls", "/", "--json"]);
    let (status, err) = run_fail(here.cmd(&[
        "import",
        cut.to_str().unwrap(),
        "--identity-file",
        key.to_str().unwrap(),
        "--merge",
    ]));
    assert_eq!(status, 6, "{err}");
    assert_eq!(here.ok(&["ls", "/", "--json"]), before);
}

#[test]
fn plain_export_warns_and_writes_files() {
    let (v, big) = filled();
    let dir = v.home().join("plain");
    let o = v
        .cmd(&["export", "--plain", "--out", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("UNENCRYPTED") && err.contains("delete them"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(dir.join("resources/documents/scan.bin#v1")).unwrap(),
        big
    );
    assert!(dir.join("manifest.json").is_file() && dir.join("audit.jsonl").is_file());
    // Receipts are public records and travel; the pod's key never does.
    assert!(dir.join("receipts.jsonl").is_file());
    assert!(!dir.join("pod_key.jsonl").exists());
    let readme = std::fs::read_to_string(dir.join("README.txt")).unwrap();
    assert!(readme.contains("No key of any kind"), "{readme}");
}

/// A passphrase bundle made by `custodian export` opens with the real
/// `age -d`, the passphrase typed at its terminal prompt, and `tar x`.
#[test]
fn a_passphrase_bundle_opens_with_age_typed_at_a_terminal() {
    use rexpect::session::spawn_command;
    let (v, big) = filled();
    let pass_file = v.home().join("bundle-pass.txt");
    std::fs::write(&pass_file, "a passphrase for age\n").unwrap();
    let bundle = v.home().join("pass.custodian.age");
    run_ok(v.cmd(&[
        "export",
        "--out",
        bundle.to_str().unwrap(),
        "--bundle-passphrase-file",
        pass_file.to_str().unwrap(),
    ]));
    // age reads a passphrase only from its terminal, so it runs in a pty.
    let tar_file = v.home().join("pass.tar");
    let mut age = Command::new("age");
    age.arg("-d").arg("-o").arg(&tar_file).arg(&bundle);
    let mut p = spawn_command(age, Some(60_000)).unwrap();
    p.exp_string("Enter passphrase").unwrap();
    p.send_line("a passphrase for age").unwrap();
    p.exp_eof().unwrap();
    let status = p.process().wait().unwrap();
    assert!(
        matches!(status, rexpect::process::WaitStatus::Exited(_, 0)),
        "age -d: {status:?}"
    );
    let plain = v.home().join("opened-with-passphrase");
    std::fs::create_dir_all(&plain).unwrap();
    let tar = Command::new("tar")
        .arg("xf")
        .arg(&tar_file)
        .arg("-C")
        .arg(&plain)
        .status()
        .unwrap();
    assert!(tar.success());
    assert_eq!(
        std::fs::read(plain.join("resources/documents/scan.bin#v1")).unwrap(),
        big
    );
    for entry in lasting_entries(&plain) {
        let bytes = std::fs::read(plain.join(entry["name"].as_str().unwrap())).unwrap();
        assert_eq!(sha(&bytes), entry["sha256"], "{}", entry["name"]);
    }
}

fn chrono_today() -> String {
    let out = Command::new("date").arg("+%Y-%m-%d").output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// `cmd` run on a terminal that echoes what is typed, as a person's does
/// (rexpect's pty starts with echo off, which would hide an echo).
fn echoing(cmd: Command) -> Command {
    let mut sh = Command::new("sh");
    sh.arg("-c")
        .arg("stty echo && exec \"$@\"")
        .arg("sh")
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (key, value) in cmd.get_envs() {
        match value {
            Some(value) => sh.env(key, value),
            None => sh.env_remove(key),
        };
    }
    sh
}

#[test]
fn on_a_terminal_export_asks_twice_and_shows_progress() {
    use rexpect::session::spawn_command;
    let (v, _) = filled();
    let out = v.home().join("tty.custodian.age");
    let cmd = v.cmd(&["export", "--out", out.to_str().unwrap()]);
    let mut p = spawn_command(echoing(cmd), Some(60_000)).unwrap();
    // Everything the terminal showed, prompts and matches included: an
    // echo of the typed passphrase would be in it.
    let mut transcript = String::new();
    transcript += &p.exp_string("Bundle passphrase: ").unwrap();
    transcript += "Bundle passphrase: ";
    p.send_line("bundle passphrase typed").unwrap();
    transcript += &p.exp_string("Bundle passphrase again: ").unwrap();
    transcript += "Bundle passphrase again: ";
    p.send_line("bundle passphrase typed").unwrap();
    // The progress bar names its phase, with bytes and items.
    let (before, phase) = p.exp_regex("(Reading the vault|Writing)").unwrap();
    transcript += &before;
    transcript += &phase;
    transcript += &p.exp_string("Exported").unwrap();
    transcript += "Exported";
    transcript += &p.exp_eof().unwrap();
    assert!(
        transcript.contains("Exported") && !transcript.contains("passphrase typed"),
        "the passphrase is never echoed: {transcript:?}"
    );
    assert!(out.is_file());

    // And import asks for it once.
    let target = v.home().join("from-tty");
    let mut cmd = custodian(v.home());
    cmd.arg("--vault")
        .arg(&target)
        .arg("import")
        .arg(&out)
        .env("CUSTODIAN_NEW_PASSPHRASE", NEW_PASSPHRASE);
    cmd.stdin(Stdio::inherit());
    let mut p = spawn_command(cmd, Some(60_000)).unwrap();
    p.exp_string("Bundle passphrase: ").unwrap();
    p.send_line("bundle passphrase typed").unwrap();
    p.exp_string("Restored").unwrap();
    p.exp_eof().unwrap();
    assert!(target.is_dir());
}
