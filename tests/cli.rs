//! The `custodian` binary, end to end, on real vaults: each point of the
//! foundation issue, checked from the outside.

use std::fs;
use std::path::Path;
use std::process::Command;

use custodian_e2e::{custodian, faults, run_fail, run_ok, TestVault, PASSPHRASE};

fn recovery_key_from(init_stdout: &str) -> String {
    let keys: Vec<&str> = init_stdout
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("AGE-SECRET-KEY-1"))
        .collect();
    assert_eq!(
        keys.len(),
        1,
        "the recovery key is shown exactly once:\n{init_stdout}"
    );
    keys[0].to_string()
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// `grep -r -l -F NEEDLE DIR`, the real tool: the list of files containing it.
fn grep_files(needle: &str, dir: &Path) -> String {
    let out = Command::new("grep")
        .args(["-r", "-l", "-a", "-F", needle])
        .arg(dir)
        .output()
        .expect("grep");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn init_creates_an_encrypted_vault_and_shows_the_recovery_key_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("v");
    let mut cmd = custodian(tmp.path());
    cmd.args(["init", "--vault"])
        .arg(&dir)
        .env("CUSTODIAN_PASSPHRASE", PASSPHRASE);
    let out = run_ok(cmd);
    let key = recovery_key_from(&out);
    assert!(out.contains("keep it offline"), "{out}");
    assert_eq!(
        files_in(&dir),
        [
            "key.passphrase.age",
            "key.recovery.age",
            "vault.db",
            "vault.json"
        ]
    );
    let db = fs::read(dir.join("vault.db")).unwrap();
    assert!(!db.starts_with(b"SQLite format 3"));
    // The recovery key is never written to disk, in any form.
    assert_eq!(grep_files(&key, tmp.path()), "");
    assert_eq!(grep_files(&key[16..40], tmp.path()), "");
    // The key files are age files (the standard format).
    for f in ["key.passphrase.age", "key.recovery.age"] {
        assert!(
            fs::read(dir.join(f))
                .unwrap()
                .starts_with(b"age-encryption.org/v1\n"),
            "{f}"
        );
    }
    // Default preferences exist from the start.
    let mut show = custodian(tmp.path());
    show.args(["prefs", "show", "--json", "--vault"])
        .arg(&dir)
        .env("CUSTODIAN_PASSPHRASE", PASSPHRASE);
    let prefs: serde_json::Value = serde_json::from_str(&run_ok(show)).unwrap();
    assert_eq!(prefs["do_not_sell"], true);
    assert_eq!(prefs["personalisation"], "none");
}

#[test]
fn init_uses_the_default_location_and_the_environment_override() {
    let tmp = tempfile::tempdir().unwrap();
    let mut cmd = custodian(tmp.path());
    cmd.arg("init").env("CUSTODIAN_PASSPHRASE", PASSPHRASE);
    assert!(run_ok(cmd).contains(&tmp.path().join("data/custodian").display().to_string()));
    assert!(tmp.path().join("data/custodian/vault.db").exists());

    let elsewhere = tmp.path().join("elsewhere");
    let mut cmd = custodian(tmp.path());
    cmd.arg("init")
        .env("CUSTODIAN_PASSPHRASE", PASSPHRASE)
        .env("CUSTODIAN_VAULT", &elsewhere);
    run_ok(cmd);
    assert!(elsewhere.join("vault.db").exists());
    // The same variable is honoured by every command.
    let mut status = custodian(tmp.path());
    status
        .args(["status", "--json"])
        .env("CUSTODIAN_PASSPHRASE", PASSPHRASE)
        .env("CUSTODIAN_VAULT", &elsewhere);
    let status: serde_json::Value = serde_json::from_str(&run_ok(status)).unwrap();
    assert_eq!(status["path"], elsewhere.display().to_string());
}

#[test]
fn passphrase_from_file_and_refusal_of_weak_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("pass.txt");
    fs::write(&file, format!("{PASSPHRASE}\n")).unwrap();
    let dir = tmp.path().join("v");
    let mut cmd = custodian(tmp.path());
    cmd.arg("init")
        .arg("--vault")
        .arg(&dir)
        .arg("--passphrase-file")
        .arg(&file);
    run_ok(cmd);
    // The trailing newline was not part of the passphrase.
    let mut ls = custodian(tmp.path());
    ls.args(["ls", "--vault"])
        .arg(&dir)
        .env("CUSTODIAN_PASSPHRASE", PASSPHRASE);
    run_ok(ls);

    for (pass, reason) in [
        ("", "it is empty"),
        ("seven77", "it is shorter than 8 characters"),
    ] {
        let dir = tmp.path().join("weak");
        let mut cmd = custodian(tmp.path());
        cmd.arg("init")
            .arg("--vault")
            .arg(&dir)
            .env("CUSTODIAN_PASSPHRASE", pass);
        let (code, err) = run_fail(cmd);
        assert_eq!(code, 6);
        assert_eq!(err, format!("custodian: passphrase refused: {reason}\n"));
        assert!(!dir.exists(), "a refused init leaves nothing behind");
    }
}

/// A passphrase file named on the command line wins over a passphrase left
/// in the environment (another vault's, say), as the help says.
#[test]
fn a_passphrase_file_wins_over_the_environment() {
    let v = TestVault::new();
    let file = v.home().join("pass.txt");
    fs::write(&file, format!("{PASSPHRASE}\n")).unwrap();
    let mut cmd = v.cmd(&["ls", "/"]);
    cmd.arg("--passphrase-file")
        .arg(&file)
        .env("CUSTODIAN_PASSPHRASE", "another vault's passphrase");
    run_ok(cmd);
}

#[test]
fn no_passphrase_and_no_terminal_is_a_clear_error() {
    let v = TestVault::new();
    let mut cmd = custodian(v.home());
    cmd.args(["ls", "--vault"]).arg(&v.dir);
    let (code, err) = run_fail(cmd);
    assert_eq!(code, 2);
    assert_eq!(
        err,
        "custodian: no passphrase given and no terminal to ask on: set CUSTODIAN_PASSPHRASE or --passphrase-file\n"
    );
}

#[test]
fn prompts_are_hidden_and_init_asks_twice_on_a_terminal() {
    use rexpect::session::spawn_command;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("v");
    let mut cmd = custodian(tmp.path());
    cmd.arg("init").arg("--vault").arg(&dir);
    let mut p = spawn_command(cmd, Some(30_000)).unwrap();
    p.exp_string("New vault passphrase: ").unwrap();
    p.send_line("a passphrase typed").unwrap();
    p.exp_string("New vault passphrase again: ").unwrap();
    p.send_line("a different one typed").unwrap();
    p.exp_string("the two passphrases differ; nothing was changed")
        .unwrap();
    p.exp_eof().unwrap();
    assert!(!dir.exists());

    let mut cmd = custodian(tmp.path());
    cmd.arg("init").arg("--vault").arg(&dir);
    let mut p = spawn_command(cmd, Some(30_000)).unwrap();
    p.exp_string("New vault passphrase: ").unwrap();
    p.send_line("a passphrase typed").unwrap();
    p.exp_string("again: ").unwrap();
    p.send_line("a passphrase typed").unwrap();
    let (before, _) = p.exp_regex("AGE-SECRET-KEY-1[0-9A-Z]+").unwrap();
    assert!(
        !before.contains("a passphrase typed"),
        "the passphrase is never echoed"
    );
    p.exp_eof().unwrap();

    // Unlocking asks once, and the answer works.
    let mut cmd = custodian(tmp.path());
    cmd.args(["ls", "--vault"]).arg(&dir);
    let mut p = spawn_command(cmd, Some(30_000)).unwrap();
    p.exp_string("Passphrase: ").unwrap();
    p.send_line("a passphrase typed").unwrap();
    p.exp_string("/preferences/").unwrap();
    p.exp_eof().unwrap();
}

#[test]
fn no_plaintext_anywhere_in_the_vault_directory() {
    let v = TestVault::new();
    let secret = "plaintext-canary-4b1d9f-ada-lovelace";
    v.ok(&[
        "put",
        "/contact/email",
        "--json",
        &format!("{{\"email\": \"{secret}@example.org\"}}"),
    ]);
    v.ok_with_stdin(
        &["put", "/documents/diary.txt", "-"],
        format!("dear diary {secret}").as_bytes(),
    );
    assert_eq!(grep_files(secret, &v.dir), "", "after the CLI exits");

    // While a connection is open the write-ahead log holds the newest pages:
    // it must be encrypted too.
    let vault = custodian_core::Vault::open(
        &v.dir,
        &custodian_core::SecretString::from(PASSPHRASE.to_string()),
    )
    .unwrap();
    let path = custodian_core::parse_path("/profile/card").unwrap();
    vault
        .store()
        .put(
            &path,
            custodian_core::NewResource::json(&serde_json::json!({"name": secret})),
        )
        .unwrap();
    let names = files_in(&v.dir);
    assert!(
        names.contains(&"vault.db-wal".to_string()),
        "WAL present while open: {names:?}"
    );
    assert_eq!(grep_files(secret, &v.dir), "", "with the WAL present");
    drop(vault);
    assert_eq!(grep_files(secret, &v.dir), "");
    assert!(!fs::read(v.dir.join("vault.db"))
        .unwrap()
        .starts_with(b"SQLite format 3"));
}

#[test]
fn passwd_rewrites_only_the_passphrase_key_file() {
    let v = TestVault::new();
    v.ok(&["put", "/contact/email", "--json", "\"ada@example.org\""]);
    let before = v.snapshot();
    let mut cmd = v.cmd(&["passwd"]);
    cmd.env("CUSTODIAN_NEW_PASSPHRASE", "a brand new passphrase");
    assert!(run_ok(cmd).contains("Passphrase changed"));
    let after = v.snapshot();
    for (name, (bytes, _)) in &before {
        if name == "key.passphrase.age" {
            assert_ne!(
                &after[name].0, bytes,
                "the passphrase key file is rewritten"
            );
        } else if name != "." {
            assert_eq!(&after[name].0, bytes, "{name} is untouched");
        }
    }
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>(),
        "no temp file left"
    );
    let (code, _) = run_fail(v.cmd(&["ls"]));
    assert_eq!(code, 4, "the old passphrase no longer works");
    let mut cmd = v.cmd(&["get", "/contact/email"]);
    cmd.env("CUSTODIAN_PASSPHRASE", "a brand new passphrase");
    assert_eq!(run_ok(cmd), "\"ada@example.org\"\n");

    // From a file, too; and a weak new passphrase changes nothing.
    let file = v.home().join("new.txt");
    fs::write(&file, "short\n").unwrap();
    let before = v.snapshot();
    let mut cmd = v.cmd(&["passwd", "--new-passphrase-file"]);
    cmd.arg(&file)
        .env("CUSTODIAN_PASSPHRASE", "a brand new passphrase");
    let (code, err) = run_fail(cmd);
    assert_eq!(
        (code, err.as_str()),
        (
            6,
            "custodian: passphrase refused: it is shorter than 8 characters\n"
        )
    );
    assert_eq!(v.snapshot(), before);
}

#[test]
fn recover_sets_a_new_passphrase_with_the_recovery_key() {
    let v = TestVault::new();
    v.ok(&["put", "/profile/card", "--json", "{\"name\": \"Ada\"}"]);
    let key_file = v.home().join("recovery.txt");
    fs::write(
        &key_file,
        format!("# created by custodian init\n{}\n", v.recovery_key),
    )
    .unwrap();
    let mut cmd = custodian(v.home());
    cmd.args(["recover", "--vault"])
        .arg(&v.dir)
        .arg("--recovery-key-file")
        .arg(&key_file);
    cmd.env("CUSTODIAN_NEW_PASSPHRASE", "remembered at last");
    assert!(run_ok(cmd).contains("New passphrase set"));
    let mut get = custodian(v.home());
    get.args(["get", "/profile/card", "--vault"])
        .arg(&v.dir)
        .env("CUSTODIAN_PASSPHRASE", "remembered at last");
    assert_eq!(run_ok(get), "{\"name\": \"Ada\"}\n");
    // The recovery key keeps working.
    let mut again = custodian(v.home());
    again
        .args(["recover", "--vault"])
        .arg(&v.dir)
        .arg("--recovery-key-file")
        .arg(&key_file);
    again.env("CUSTODIAN_NEW_PASSPHRASE", "and once more please");
    run_ok(again);
}

#[test]
fn wrong_passphrase_or_recovery_key_changes_no_byte_and_no_mtime() {
    let v = TestVault::new();
    v.ok(&["put", "/contact/email", "--json", "\"ada@example.org\""]);
    let before = v.snapshot();
    for args in [
        &["ls"][..],
        &["put", "/x", "--json", "1"],
        &["passwd"],
        &["status"],
        &["rm", "/contact/email"],
    ] {
        let mut cmd = v.cmd(args);
        cmd.env("CUSTODIAN_PASSPHRASE", "not the passphrase")
            .env("CUSTODIAN_NEW_PASSPHRASE", "whatever new one");
        let (code, err) = run_fail(cmd);
        assert_eq!(code, 4, "{args:?}");
        assert_eq!(
            err,
            format!(
                "custodian: wrong passphrase for the vault at {} (nothing was changed)\n",
                v.dir.display()
            )
        );
        assert_eq!(v.snapshot(), before, "{args:?} changed the vault");
    }

    let other = TestVault::new();
    let key_file = v.home().join("other-recovery.txt");
    fs::write(&key_file, &other.recovery_key).unwrap();
    let mut cmd = custodian(v.home());
    cmd.args(["recover", "--vault"])
        .arg(&v.dir)
        .arg("--recovery-key-file")
        .arg(&key_file);
    cmd.env("CUSTODIAN_NEW_PASSPHRASE", "a brand new passphrase");
    let (code, err) = run_fail(cmd);
    assert_eq!(code, 4);
    assert_eq!(
        err,
        format!(
            "custodian: this recovery key does not belong to the vault at {}\n",
            v.dir.display()
        )
    );
    assert_eq!(v.snapshot(), before);
}

#[test]
fn damaged_missing_foreign_and_newer_vaults_get_their_own_message() {
    let v = TestVault::new();
    let expect = |dir: &Path, code: i32, message: String| {
        let mut cmd = custodian(v.home());
        cmd.args(["ls", "--vault"])
            .arg(dir)
            .env("CUSTODIAN_PASSPHRASE", PASSPHRASE);
        let (c, err) = run_fail(cmd);
        assert_eq!((c, err), (code, format!("custodian: {message}\n")));
    };
    let missing = v.home().join("missing");
    expect(
        &missing,
        3,
        format!(
            "no vault at {}: create one with `custodian init`",
            missing.display()
        ),
    );
    let foreign = v.home().join("foreign");
    fs::create_dir(&foreign).unwrap();
    fs::write(foreign.join("notes.txt"), "hello").unwrap();
    expect(
        &foreign,
        3,
        format!(
            "{} is not a Custodian vault (it has no vault.json)",
            foreign.display()
        ),
    );

    let info = fs::read_to_string(v.dir.join("vault.json")).unwrap();
    fs::write(
        v.dir.join("vault.json"),
        info.replace("\"format_version\": 1", "\"format_version\": 2"),
    )
    .unwrap();
    expect(&v.dir, 3, "this vault has format version 2, but this Custodian reads up to version 1: update Custodian to open it".into());
    fs::write(v.dir.join("vault.json"), "{ not json").unwrap();
    let (code, err) = {
        let mut cmd = v.cmd(&["ls"]);
        run_fail(std::mem::replace(&mut cmd, Command::new("true")))
    };
    assert_eq!(code, 3);
    assert!(
        err.contains("is not a Custodian vault (vault.json is unreadable"),
        "{err}"
    );
    fs::write(v.dir.join("vault.json"), &info).unwrap();

    let key = fs::read(v.dir.join("key.passphrase.age")).unwrap();
    fs::write(v.dir.join("key.passphrase.age"), &key[..40]).unwrap();
    let (code, err) = run_fail(v.cmd(&["ls"]));
    assert_eq!(code, 3);
    assert!(
        err.starts_with(&format!(
            "custodian: the key file {}/key.passphrase.age is damaged",
            v.dir.display()
        )),
        "{err}"
    );
    assert!(err.contains("custodian recover"), "{err}");
    fs::write(v.dir.join("key.passphrase.age"), &key).unwrap();

    let mut db = fs::read(v.dir.join("vault.db")).unwrap();
    let intact = db.clone();
    // Bytes flipped inside every page but the first (SQLCipher's pages are
    // 4096 bytes): the schema still reads, and the first page `ls` reads
    // after it is damaged.
    const PAGE: usize = 4096;
    assert!(db.len() >= 3 * PAGE, "a database of several pages");
    for page in (PAGE..db.len()).step_by(PAGE) {
        db[page + 1000..page + 1064].fill(0xAA);
    }
    fs::write(v.dir.join("vault.db"), &db).unwrap();
    let damaged = v.snapshot_files();
    let (code, err) = run_fail(v.cmd(&["ls"]));
    assert_eq!(code, 3, "{err}");
    assert!(
        err.starts_with(&format!(
            "custodian: the vault database {}/vault.db is damaged or does not belong to this vault's key (",
            v.dir.display()
        )) && err.trim_end().ends_with("restore it from a backup or an export"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "one line, no panic: {err}");
    assert_eq!(
        v.snapshot_files(),
        damaged,
        "a damaged vault is left as it was"
    );
    fs::write(v.dir.join("vault.db"), &intact).unwrap();
    v.ok(&["ls"]);
    db.truncate(1000);
    fs::write(v.dir.join("vault.db"), &db).unwrap();
    let (code, err) = run_fail(v.cmd(&["ls"]));
    assert_eq!(code, 3);
    assert!(
        err.starts_with(&format!(
            "custodian: the vault database {}/vault.db is damaged",
            v.dir.display()
        )),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    fs::write(v.dir.join("vault.db"), b"").unwrap();
    let (code, err) = run_fail(v.cmd(&["ls"]));
    assert_eq!(code, 3);
    assert!(
        err.contains("is damaged or does not belong to this vault's key (the file is empty)"),
        "{err}"
    );
}

#[test]
fn init_refuses_an_existing_vault_without_touching_it() {
    let v = TestVault::new();
    let before = v.snapshot();
    let (code, err) = run_fail(v.cmd(&["init"]));
    assert_eq!(code, 3);
    assert!(err.contains("already exists and is not empty"), "{err}");
    assert_eq!(v.snapshot(), before);
}

#[test]
fn resources_put_get_ls_rm_history_and_versions() {
    let v = TestVault::new();
    let out = v.ok(&[
        "put",
        "/contact/email",
        "--json",
        "{\"email\": \"ada@example.org\"}",
    ]);
    assert_eq!(
        out,
        "Saved /contact/email (version 1, contact, normal, 28 B).\n"
    );
    v.ok(&[
        "put",
        "/contact/email",
        "--json",
        "{\"email\": \"ada@lovelace.org\"}",
    ]);
    assert_eq!(
        v.ok(&["get", "/contact/email"]),
        "{\"email\": \"ada@lovelace.org\"}\n"
    );
    assert_eq!(
        v.ok(&["get", "/contact/email", "--version", "1"]),
        "{\"email\": \"ada@example.org\"}\n"
    );

    // Bytes in, the same bytes out, from a file and from stdin.
    let blob: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let file = v.home().join("scan.bin");
    fs::write(&file, &blob).unwrap();
    let mut cmd = v.cmd(&["put", "/documents/scan", "--file"]);
    cmd.arg(&file);
    run_ok(cmd);
    let out = v.cmd(&["get", "/documents/scan"]).output().unwrap();
    assert_eq!(out.stdout, blob);
    v.ok_with_stdin(
        &[
            "put",
            "/health/allergies",
            "-",
            "--content-type",
            "text/plain",
        ],
        b"peanuts",
    );
    let meta: serde_json::Value =
        serde_json::from_str(&v.ok(&["get", "/health/allergies", "--json"])).unwrap();
    assert_eq!(meta["content_type"], "text/plain");
    assert_eq!(meta["category"], "health");
    assert_eq!(meta["sensitivity"], "sensitive");
    assert_eq!(meta["content_base64"], "cGVhbnV0cw==");
    let meta: serde_json::Value =
        serde_json::from_str(&v.ok(&["get", "/contact/email", "--json"])).unwrap();
    assert_eq!(meta["content"]["email"], "ada@lovelace.org");
    assert_eq!(meta["version"], 2);
    assert_eq!(meta["etag"].as_str().unwrap().len(), 32);
    for key in ["created_at", "updated_at", "size", "path", "author"] {
        assert!(meta.get(key).is_some(), "{key} in {meta}");
    }
    let explicit = v.ok(&[
        "put",
        "/notes/a",
        "--json",
        "1",
        "--category",
        "interests",
        "--sensitive",
    ]);
    assert_eq!(
        explicit,
        "Saved /notes/a (version 1, interests, sensitive, 1 B).\n"
    );

    // Listing.
    let root = v.ok(&["ls"]);
    for c in [
        "/contact/",
        "/documents/",
        "/health/",
        "/notes/",
        "/preferences/",
    ] {
        assert!(root.contains(c), "{c} in\n{root}");
    }
    let contact = v.ok(&["ls", "/contact"]);
    assert!(
        contact.starts_with("/contact/email  application/json  contact"),
        "{contact}"
    );
    let listing: serde_json::Value = serde_json::from_str(&v.ok(&["ls", "/", "--json"])).unwrap();
    assert_eq!(listing["entries"][0]["kind"], "container");
    assert_eq!(listing["entries"][0]["path"], "/contact/");
    assert_eq!(listing["next"], serde_json::Value::Null);

    // A page at a time: the rest is told on stderr, and `--after` goes on.
    let out = v.cmd(&["ls", "/", "--limit", "2"]).output().unwrap();
    assert!(out.status.success());
    let shown = String::from_utf8(out.stdout).unwrap();
    assert_eq!(shown.lines().count(), 2, "{shown}");
    assert!(shown.starts_with("/contact/    container, "), "{shown}");
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "More members follow; for the next page: custodian ls / --after /documents/ --limit 2\n"
    );
    let page: serde_json::Value = serde_json::from_str(&v.ok(&[
        "ls",
        "/",
        "--limit",
        "2",
        "--after",
        "documents/",
        "--json",
    ]))
    .unwrap();
    assert_eq!(page["entries"][0]["path"], "/health/");
    assert_eq!(page["next"], page["entries"][1]["path"]);

    // Delete keeps history.
    assert!(v
        .ok(&["rm", "/contact/email"])
        .starts_with("Deleted /contact/email."));
    let (code, err) = run_fail(v.cmd(&["get", "/contact/email"]));
    assert_eq!(code, 5);
    assert!(err.contains("was deleted"), "{err}");
    assert_eq!(
        v.ok(&["get", "/contact/email", "--version", "2"]),
        "{\"email\": \"ada@lovelace.org\"}\n"
    );
    let history: serde_json::Value =
        serde_json::from_str(&v.ok(&["history", "/contact/email", "--json"])).unwrap();
    let versions: Vec<(u64, bool)> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["version"].as_u64().unwrap(),
                h["deleted"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(versions, [(1, false), (2, false), (3, true)]);
    let text = v.ok(&["history", "/contact/email"]);
    assert!(text.starts_with("VERSION  WHEN"), "{text}");
    assert!(text.contains("(deleted)"), "{text}");
}

#[test]
fn status_counts_resources() {
    let v = TestVault::new();
    v.ok(&["put", "/contact/email", "--json", "\"a@b.c\""]);
    v.ok(&["put", "/contact/phone", "--json", "\"+44\""]);
    let status: serde_json::Value = serde_json::from_str(&v.ok(&["status", "--json"])).unwrap();
    assert_eq!(status["path"], v.dir.display().to_string());
    assert_eq!(status["format_version"], 1);
    assert_eq!(status["schema_version"], custodian_core::schema_version());
    assert_eq!(status["resources"], 3);
    assert_eq!(status["by_category"]["contact"], 2);
    let text = v.ok(&["status"]);
    assert!(
        text.contains(&format!("Vault:          {}", v.dir.display())),
        "{text}"
    );
    assert!(
        text.contains("Resources:      3 (2 contact, 1 preferences)"),
        "{text}"
    );
}

/// `verify` checks the pages, the log and the counts; a count made wrong
/// (as a forgotten write path would) is rebuilt, and it says so.
#[test]
fn verify_checks_the_vault_and_rebuilds_a_wrong_count() {
    let v = TestVault::new();
    v.ok(&["put", "/contact/email", "--json", "\"a@b.c\""]);
    let text = v.ok(&["verify"]);
    assert!(
        text.starts_with(
            "Every page of the vault's database authenticates.\nThe access log is intact: "
        ),
        "{text}"
    );
    assert!(
        text.ends_with("The counts `ls` and `status` show match a fresh count.\n"),
        "{text}"
    );
    faults::open(&v.dir)
        .store()
        .execute_for_tests("UPDATE container_counts SET members = 9 WHERE container = '/contact/'")
        .unwrap();
    let contact_line = || {
        v.ok(&["ls", "/"])
            .lines()
            .find(|l| l.starts_with("/contact/ "))
            .map(|l| l.split_whitespace().skip(1).collect::<Vec<_>>().join(" "))
    };
    assert_eq!(contact_line().as_deref(), Some("container, 9 items"));
    let text = v.ok(&["verify"]);
    assert!(
        text.ends_with(
            "1 of the counts `ls` and `status` show differed from a fresh count; they were rebuilt:\n  \
             resources under /contact/: 9 kept, 1 counted\n"
        ),
        "{text}"
    );
    assert_eq!(contact_line().as_deref(), Some("container, 1 item"));
    let check: serde_json::Value = serde_json::from_str(&v.ok(&["verify", "--json"])).unwrap();
    assert_eq!(check["pages"], serde_json::json!([]));
    assert_eq!(check["counts"]["differing"], 0);
    assert_eq!(check["counts"]["repaired"], false);

    // A changed log entry is damage: named, and the command fails.
    v.ok(&["mark", "/contact/email", "--sensitive"]);
    v.ok(&["mark", "/contact/email", "--not-sensitive"]);
    faults::open(&v.dir)
        .store()
        .execute_for_tests(
            "UPDATE audit_log SET reason = 'nothing to see' \
             WHERE seq = (SELECT max(seq) FROM audit_log)",
        )
        .unwrap();
    let (code, err) = run_fail(v.cmd(&["verify"]));
    assert_eq!(code, 1);
    assert!(
        err.starts_with("custodian: the access log is broken at entry ")
            && err.contains(": it was changed, or an entry before it was removed or inserted."),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

/// A count damaged below 0 does not break `ls` or `status` (it shows as 0)
/// and `verify` repairs it.
#[test]
fn verify_repairs_a_negative_count_that_ls_shows_as_zero() {
    let v = TestVault::new();
    v.ok(&["put", "/contact/email", "--json", "\"a@b.c\""]);
    faults::open(&v.dir)
        .store()
        .execute_for_tests(
            "UPDATE container_counts SET members = -3 WHERE container = '/contact/';
         UPDATE version_total SET n = -3;",
        )
        .unwrap();
    let listed = v.ok(&["ls", "/"]);
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with("/contact/ ") && l.ends_with("container, 0 items")),
        "{listed}"
    );
    v.ok(&["status"]);
    let text = v.ok(&["verify"]);
    assert!(
        text.ends_with(
            "2 of the counts `ls` and `status` show differed from a fresh count; they were rebuilt:\n  \
             resources under /contact/: -3 kept, 1 counted\n  versions kept: -3 kept, 2 counted\n"
        ),
        "{text}"
    );
    assert!(v.ok(&["ls", "/"]).contains("container, 1 item"));
}

#[test]
fn preferences_show_and_set() {
    let v = TestVault::new();
    let shown = v.ok(&["prefs", "show"]);
    assert!(shown.contains("Contact me by:    email"), "{shown}");
    assert!(shown.contains("Do not sell:      yes"), "{shown}");
    v.ok(&["prefs", "set", "channels.sms", "true"]);
    v.ok(&[
        "prefs",
        "set",
        "quiet_hours",
        "21:00-08:00",
        "Europe/London",
    ]);
    v.ok(&["prefs", "set", "frequency_cap", "2/week"]);
    v.ok(&["prefs", "set", "topics", "orders,offers"]);
    let out = v.ok(&["prefs", "set", "personalisation", "light"]);
    assert!(out.contains("Personalisation:  light"), "{out}");
    v.ok(&["prefs", "set", "do_not_sell", "false"]);
    let prefs: serde_json::Value =
        serde_json::from_str(&v.ok(&["prefs", "show", "--json"])).unwrap();
    assert_eq!(prefs["channels"]["sms"], true);
    assert_eq!(
        prefs["quiet_hours"],
        serde_json::json!({"start": "21:00", "end": "08:00", "time_zone": "Europe/London"})
    );
    assert_eq!(
        prefs["frequency_cap"],
        serde_json::json!({"max": 2, "per": "week"})
    );
    assert_eq!(prefs["topics"], serde_json::json!(["orders", "offers"]));
    assert_eq!(prefs["personalisation"], "light");
    assert_eq!(prefs["do_not_sell"], false);
    // Stored as an ordinary resource, with history.
    let raw: serde_json::Value =
        serde_json::from_str(&v.ok(&["get", "/preferences/communication"])).unwrap();
    assert_eq!(raw, prefs);
    let history: serde_json::Value =
        serde_json::from_str(&v.ok(&["history", "/preferences/communication", "--json"])).unwrap();
    assert_eq!(history.as_array().unwrap().len(), 7);
    // A write that breaks the schema is refused, and no file changes.
    let before = v.snapshot_files();
    let (code, err) = run_fail(v.cmd(&[
        "put",
        "/preferences/communication",
        "--json",
        "{\"channels\": \"all\"}",
    ]));
    assert_eq!(code, 6);
    assert!(
        err.starts_with("custodian: invalid content for /preferences/communication:"),
        "{err}"
    );
    assert_eq!(v.snapshot_files(), before);
}

#[test]
fn migrations_are_recorded_in_the_database() {
    let v = TestVault::new();
    let vault = custodian_core::Vault::open(
        &v.dir,
        &custodian_core::SecretString::from(PASSPHRASE.to_string()),
    )
    .unwrap();
    assert_eq!(
        vault.store().schema_version().unwrap(),
        custodian_core::schema_version()
    );
    assert!(vault.store().integrity_check().unwrap().is_empty());
}

#[test]
fn a_stale_temp_key_file_from_a_crash_does_not_matter() {
    let v = TestVault::new();
    // A crash between writing the temp file and renaming it leaves this
    // behind; the vault opens with the old passphrase and passwd still works.
    fs::write(v.dir.join(".key.passphrase.age.tmp"), b"half-written").unwrap();
    v.ok(&["ls"]);
    let mut cmd = v.cmd(&["passwd"]);
    cmd.env("CUSTODIAN_NEW_PASSPHRASE", "after the crash");
    run_ok(cmd);
    assert!(!v.dir.join(".key.passphrase.age.tmp").exists());
    let mut cmd = v.cmd(&["ls"]);
    cmd.env("CUSTODIAN_PASSPHRASE", "after the crash");
    run_ok(cmd);
}

#[test]
fn output_to_a_closed_pipe_is_not_an_error() {
    let v = TestVault::new();
    for i in 0..30 {
        v.ok(&["put", &format!("/notes/n{i:02}"), "--json", "1"]);
    }
    // A pipe whose reading end is closed before the command starts: its
    // first write fails with EPIPE.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut cmd = v.cmd(&["ls", "/notes/"]);
    cmd.stdout(writer).stderr(std::process::Stdio::piped());
    let out = cmd.output().unwrap();
    assert_eq!(
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).as_ref()
        ),
        (Some(0), ""),
        "a reader that went away is no failure and no message"
    );
}
