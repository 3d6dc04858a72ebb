//! Damage: a flipped byte in a database page, a deleted or truncated WAL, a
//! truncated key file, and a full disk during `put`, `export` and `import`.
//! Each gives a clear message, and nothing is lost without a word.
//!
//! The "full disk" is RLIMIT_FSIZE (`ulimit -f`, SIGXFSZ ignored): a write
//! past the limit fails with EFBIG, as one on a full disk fails with ENOSPC.
//! No root and no mount are needed; see `faults::under_file_size_limit`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use custodian_core::audit::{Action, NewEntry};
use custodian_core::{parse_path, Error, NewResource, SecretString, Vault};
use custodian_e2e::faults::{log_verifies, missing_writes, open, under_file_size_limit, Rng};
use custodian_e2e::{custodian, run_fail, TestVault, PASSPHRASE};
use serde_json::json;

/// SQLCipher's page size.
const PAGE: usize = 4096;

/// A vault with resources of several sizes (some spill onto overflow pages)
/// and log entries; closed, so everything is in `vault.db`.
fn filled_vault() -> (TestVault, BTreeMap<String, String>) {
    let v = TestVault::new();
    let mut expected = BTreeMap::new();
    let vault = open(&v.dir);
    for i in 0..40 {
        let path = format!("/notes/n{i:02}");
        let doc = json!({"n": i, "text": "lorem ipsum ".repeat(i * i)}).to_string();
        vault
            .store()
            .put(
                &parse_path(&path).unwrap(),
                NewResource::json(&serde_json::from_str::<serde_json::Value>(&doc).unwrap()),
            )
            .unwrap();
        let stored = vault
            .store()
            .get(&parse_path(&path).unwrap(), None)
            .unwrap();
        expected.insert(path, String::from_utf8(stored.content).unwrap());
        vault
            .store()
            .append_audit(&[NewEntry::owner(Action::Other("test".into()))])
            .unwrap();
    }
    drop(vault);
    assert!(
        !v.dir.join("vault.db-wal").exists(),
        "closing checkpoints the WAL"
    );
    (v, expected)
}

/// Copies a (flat) vault directory.
fn copy_vault(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

fn open_at(dir: &Path) -> Result<Vault, Error> {
    Vault::open(dir, &SecretString::from(PASSPHRASE.to_string()))
}

/// What reading everything back found.
enum Found {
    /// Everything there and equal, the log whole.
    Whole,
    /// A read was refused with this error.
    Refused(Error),
    /// `log verify` names the first broken entry.
    LogBroken,
}

/// Reads every resource and verifies the log. Panics on a silent
/// difference: content that reads back different without an error.
fn read_back(dir: &Path, expected: &BTreeMap<String, String>) -> Found {
    let vault = match open_at(dir) {
        Ok(v) => v,
        Err(e) => return Found::Refused(e),
    };
    for (path, content) in expected {
        match vault.store().get(&parse_path(path).unwrap(), None) {
            Ok(r) => assert_eq!(
                String::from_utf8_lossy(&r.content),
                *content,
                "{path} reads back different without an error"
            ),
            Err(e) => return Found::Refused(e),
        }
    }
    match vault.store().verify_audit_log() {
        Ok(chain) => match chain.first_broken {
            Some(_) => Found::LogBroken,
            None => Found::Whole,
        },
        Err(e) => Found::Refused(e),
    }
}

#[test]
fn a_flipped_byte_in_any_database_page_is_refused_never_read_as_data() {
    let (v, expected) = filled_vault();
    let (mut rng, seed) = Rng::from_env("damage-page");
    let db = fs::read(v.dir.join("vault.db")).unwrap();
    let pages = db.len() / PAGE;
    assert!(pages >= 8, "the fixture spans {pages} pages");
    let (mut refused_on_read, mut found_by_check, mut log_broken) = (0, 0, 0);
    let mut cli_shown = false;
    for page in 0..pages {
        let dir = v.home().join(format!("page{page}"));
        copy_vault(&v.dir, &dir);
        let mut bytes = db.clone();
        let at = page * PAGE + rng.below(PAGE as u64) as usize;
        bytes[at] ^= 1 << rng.below(8);
        fs::write(dir.join("vault.db"), &bytes).unwrap();
        let context = format!("page {page}, byte {at} (seed {seed})");
        match read_back(&dir, &expected) {
            Found::LogBroken => log_broken += 1,
            Found::Whole => {
                // Nothing this vault holds sits on that page (a free page, or
                // a page's unused tail): the page's own check still finds it.
                let vault = open_at(&dir).unwrap();
                let problems = vault.store().integrity_check().unwrap();
                assert!(
                    !problems.is_empty(),
                    "{context}: a damaged page that no check notices"
                );
                found_by_check += 1;
            }
            Found::Refused(e) => {
                assert_eq!(e.kind(), "database_damaged", "{context}: {e}");
                refused_on_read += 1;
                if !cli_shown {
                    // The person sees one clear line, and exit code 3.
                    let mut cmd = custodian(v.home());
                    cmd.arg("--vault")
                        .arg(&dir)
                        .env("CUSTODIAN_PASSPHRASE", PASSPHRASE)
                        .args(["export", "--plain", "--out"])
                        .arg(v.home().join(format!("plain{page}")));
                    let (code, err) = run_fail(cmd);
                    assert_eq!(code, 3, "{context}: {err}");
                    // Damage found on open names the whole path; found later
                    // by a read, the file's name.
                    assert!(
                        err.starts_with("custodian: the vault database ")
                            && err.contains("vault.db is damaged"),
                        "{context}: {err}"
                    );
                    assert_eq!(err.lines().count(), 1, "{err}");
                    cli_shown = true;
                }
            }
        }
        fs::remove_dir_all(&dir).unwrap();
    }
    eprintln!(
        "damage-page: {pages} pages, one flipped bit each: {refused_on_read} refused when read, {log_broken} shown by `log verify`, {found_by_check} only by the integrity check, none read as data (seed {seed})"
    );
    assert!(cli_shown);
}

/// A crash image: the files of a vault that a process was writing to when
/// it died (its committed writes still in `vault.db-wal`), and the order of
/// those writes.
fn crash_image(v: &TestVault) -> (PathBuf, Vec<(String, String)>) {
    let vault = open(&v.dir);
    let mut writes = Vec::new();
    for i in 0..30 {
        let path = format!("/journal/e{i:02}");
        let doc = json!({"entry": i, "text": "x".repeat(300)});
        vault
            .store()
            .put(&parse_path(&path).unwrap(), NewResource::json(&doc))
            .unwrap();
        vault
            .store()
            .append_audit(&[NewEntry::owner(Action::Other("test".into()))])
            .unwrap();
        writes.push((path, doc.to_string()));
    }
    let image = v.home().join("image");
    fs::create_dir(&image).unwrap();
    for name in [
        "vault.json",
        "key.passphrase.age",
        "key.recovery.age",
        "vault.db",
        "vault.db-wal",
    ] {
        fs::copy(v.dir.join(name), image.join(name)).unwrap();
    }
    drop(vault);
    (image, writes)
}

/// How many of `writes` the vault at `dir` holds; they must be a prefix of
/// the order they were made in, each exactly as written, and the vault must
/// open, pass its integrity check and keep a whole log.
fn surviving_prefix(dir: &Path, writes: &[(String, String)], context: &str) -> usize {
    let vault = open_at(dir).unwrap_or_else(|e| panic!("{context}: does not open: {e}"));
    let mut present = 0;
    for (i, (path, content)) in writes.iter().enumerate() {
        match vault.store().get(&parse_path(path).unwrap(), None) {
            Ok(r) => {
                assert_eq!(
                    present, i,
                    "{context}: {path} is there but an earlier write is not"
                );
                assert_eq!(
                    String::from_utf8_lossy(&r.content),
                    *content,
                    "{context}: {path}"
                );
                present += 1;
            }
            Err(Error::NotFound { .. }) => {}
            Err(e) => panic!("{context}: {path}: {e}"),
        }
    }
    assert_eq!(
        vault.store().integrity_check().unwrap(),
        Vec::<String>::new(),
        "{context}"
    );
    let chain = vault.store().verify_audit_log().unwrap();
    assert_eq!(chain.first_broken, None, "{context}");
    present
}

#[test]
fn a_deleted_or_truncated_wal_leaves_a_whole_earlier_vault() {
    let v = TestVault::new();
    let (image, writes) = crash_image(&v);
    let wal = fs::read(image.join("vault.db-wal")).unwrap();
    let try_with = |name: &str, wal_bytes: Option<&[u8]>| -> usize {
        let dir = v.home().join(name);
        copy_vault(&image, &dir);
        match wal_bytes {
            Some(b) => fs::write(dir.join("vault.db-wal"), b).unwrap(),
            None => fs::remove_file(dir.join("vault.db-wal")).unwrap(),
        }
        let kept = surviving_prefix(&dir, &writes, name);
        // The real binary opens it and its log verifies.
        let probe = TestVault {
            tmp: tempfile::tempdir().unwrap(),
            dir: dir.clone(),
            recovery_key: String::new(),
        };
        log_verifies(&probe).unwrap_or_else(|e| panic!("{name}: {e}"));
        kept
    };
    // The crash image as it is: the WAL replays every committed write.
    assert_eq!(try_with("intact", Some(&wal)), writes.len());
    let mut results = vec![];
    for (name, bytes) in [
        ("deleted", None),
        ("empty", Some(&wal[..0])),
        ("header-only", Some(&wal[..32])),
        ("half", Some(&wal[..wal.len() / 2])),
        ("last-byte-cut", Some(&wal[..wal.len() - 1])),
    ] {
        results.push((name, try_with(name, bytes)));
    }
    let mut flipped = wal.clone();
    let middle = wal.len() / 2;
    flipped[middle] ^= 0x10;
    results.push(("flipped", try_with("flipped", Some(&flipped))));
    eprintln!(
        "damage-wal: {} writes in the WAL; kept after each damage: {results:?}",
        writes.len()
    );
    // Losing the WAL loses what only it held (SQLite cannot know it is
    // gone): what is left is the whole vault as it was before those writes,
    // never a mix; a cut or damaged WAL keeps the transactions before the
    // cut. `surviving_prefix` checked both for every case.
    for (name, kept) in &results[..3] {
        assert_eq!(*kept, 0, "{name}");
    }
}

#[test]
fn a_truncated_key_file_is_named_and_the_other_key_still_opens_the_vault() {
    let (v, expected) = filled_vault();
    let key_path = v.dir.join("key.passphrase.age");
    let key = fs::read(&key_path).unwrap();
    let recovery_file = v.home().join("recovery.txt");
    fs::write(&recovery_file, &v.recovery_key).unwrap();
    for len in [0, 1, 21, key.len() / 2, key.len() - 17, key.len() - 1] {
        fs::write(&key_path, &key[..len]).unwrap();
        let (code, err) = run_fail(v.cmd(&["ls", "/"]));
        assert_eq!(code, 3, "{len} bytes: {err}");
        assert!(
            err.starts_with(&format!(
                "custodian: the key file {} is damaged (",
                key_path.display()
            )) && err.contains("`custodian recover`"),
            "{len} bytes: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    // The recovery key sets a new passphrase key file; nothing was lost.
    let mut recover = v.cmd(&["recover", "--recovery-key-file"]);
    recover
        .arg(&recovery_file)
        .env("CUSTODIAN_NEW_PASSPHRASE", "a brand new passphrase");
    custodian_e2e::run_ok(recover);
    let vault = Vault::open(
        &v.dir,
        &SecretString::from("a brand new passphrase".to_string()),
    )
    .unwrap();
    assert_eq!(missing_writes(&vault, &expected, &BTreeMap::new()), None);
    drop(vault);

    // A damaged recovery key file is named too, and the passphrase still works.
    let recovery_path = v.dir.join("key.recovery.age");
    let wrapped = fs::read(&recovery_path).unwrap();
    fs::write(&recovery_path, &wrapped[..wrapped.len() / 2]).unwrap();
    let mut recover = v.cmd(&["recover", "--recovery-key-file"]);
    recover
        .arg(&recovery_file)
        .env("CUSTODIAN_NEW_PASSPHRASE", "yet another passphrase");
    let (code, err) = run_fail(recover);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.starts_with(&format!(
            "custodian: the key file {} is damaged (",
            recovery_path.display()
        )),
        "{err}"
    );
    assert!(Vault::open(
        &v.dir,
        &SecretString::from("a brand new passphrase".to_string())
    )
    .is_ok());
}

/// A JSON document of about `bytes` bytes.
fn big_doc(bytes: usize) -> String {
    json!({"blob": "y".repeat(bytes)}).to_string()
}

/// One resource of 1 MiB, so a bundle outgrows a 256 KiB limit.
fn put_big(v: &TestVault) {
    let doc: serde_json::Value = serde_json::from_str(&big_doc(1 << 20)).unwrap();
    open(&v.dir)
        .store()
        .put(&parse_path("/notes/big").unwrap(), NewResource::json(&doc))
        .unwrap();
}

#[test]
fn a_full_disk_during_put_fails_clearly_and_keeps_everything_else() {
    let (v, expected) = filled_vault();
    let db_len = fs::metadata(v.dir.join("vault.db")).unwrap().len();
    let file = v.home().join("big.json");
    fs::write(&file, big_doc(2 << 20)).unwrap();
    // Room for the database as it is and a little WAL, not for 2 MiB more.
    let limit = db_len + 256 * 1024;
    let small = under_file_size_limit(
        &v.cmd(&["put", "/notes/small", "--json", "{\"ok\": 1}"]),
        limit,
    );
    custodian_e2e::run_ok(small);
    let (code, err) = run_fail(under_file_size_limit(
        &v.cmd(&["put", "/notes/big", "--file", file.to_str().unwrap()]),
        limit,
    ));
    eprintln!("damage-full-put: exit {code}: {err}");
    assert_ne!(code, 0);
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.starts_with("custodian: "), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("could not be written"), "{err}");
    // Nothing else changed; the failed write is not there, not even in part.
    let vault = open(&v.dir);
    assert_eq!(missing_writes(&vault, &expected, &BTreeMap::new()), None);
    assert!(matches!(
        vault.store().get(&parse_path("/notes/big").unwrap(), None),
        Err(Error::NotFound { .. })
    ));
    assert!(vault.store().integrity_check().unwrap().is_empty());
    drop(vault);
    log_verifies(&v).unwrap();
    // With room again, the same write works.
    v.ok(&["put", "/notes/big", "--file", file.to_str().unwrap()]);
}

#[test]
fn a_full_disk_during_export_fails_clearly_and_leaves_no_partial_bundle() {
    let (v, _) = filled_vault();
    put_big(&v);
    let before = v.snapshot_files();
    let out = v.home().join("all.custodian.age");
    let mut cmd = v.cmd(&["export", "--quiet", "--out", out.to_str().unwrap()]);
    cmd.env("CUSTODIAN_BUNDLE_PASSPHRASE", "a bundle passphrase here");
    let (code, err) = run_fail(under_file_size_limit(&cmd, 256 * 1024));
    eprintln!("damage-full-export: exit {code}: {err}");
    assert_ne!(code, 0);
    assert!(
        err.starts_with("custodian: ") && !err.contains("panicked"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("File too large"), "{err}");
    assert!(
        !out.exists(),
        "a partial bundle was left at {}",
        out.display()
    );
    let leftovers: Vec<_> = fs::read_dir(v.home())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("custodian.age"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert_eq!(v.snapshot_files(), before, "export changed the vault");
}

#[test]
fn a_full_disk_during_import_leaves_no_vault_and_merges_nothing() {
    let (source, _) = filled_vault();
    put_big(&source);
    let bundle = source.home().join("all.custodian.age");
    let mut export = source.cmd(&["export", "--quiet", "--out", bundle.to_str().unwrap()]);
    export.env("CUSTODIAN_BUNDLE_PASSPHRASE", "a bundle passphrase here");
    custodian_e2e::run_ok(export);

    // Restore into a new vault: the database outgrows the limit.
    let target = source.home().join("restored");
    let mut cmd = custodian(source.home());
    cmd.arg("--vault")
        .arg(&target)
        .args(["import", "--quiet"])
        .arg(&bundle)
        .env("CUSTODIAN_BUNDLE_PASSPHRASE", "a bundle passphrase here")
        .env("CUSTODIAN_NEW_PASSPHRASE", PASSPHRASE);
    let (code, err) = run_fail(under_file_size_limit(&cmd, 256 * 1024));
    eprintln!("damage-full-import: exit {code}: {err}");
    assert_ne!(code, 0);
    assert!(
        err.starts_with("custodian: ") && !err.contains("panicked"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("File too large") || err.contains("full"),
        "{err}"
    );
    assert!(!target.exists(), "a half vault at {}", target.display());
    let staging: Vec<_> = fs::read_dir(source.home())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".custodian-init-"))
        .collect();
    assert!(staging.is_empty(), "left behind: {staging:?}");

    // Merge into an existing vault: one transaction, so nothing or all.
    let other = TestVault::new();
    other.ok(&["put", "/mine", "--json", "1"]);
    // What the vault holds: resources, versions, companies, requests, grants.
    let holdings = |dir: &Path| {
        let vault = open(dir);
        let s = vault.store();
        (
            s.resource_counts().unwrap(),
            s.clients().unwrap().len(),
            s.access_requests(true).unwrap().len(),
            s.grants().unwrap().len(),
        )
    };
    let before = holdings(&other.dir);
    let mut merge = other.cmd(&["import", "--quiet", "--merge"]);
    merge
        .arg(&bundle)
        .env("CUSTODIAN_BUNDLE_PASSPHRASE", "a bundle passphrase here");
    let (code, err) = run_fail(under_file_size_limit(&merge, 256 * 1024));
    eprintln!("damage-full-merge: exit {code}: {err}");
    assert_ne!(code, 0);
    assert!(
        err.starts_with("custodian: ") && !err.contains("panicked"),
        "{err}"
    );
    assert!(
        err.contains("File too large") || err.contains("full"),
        "{err}"
    );
    let vault = open(&other.dir);
    assert!(matches!(
        vault.store().get(&parse_path("/notes/n01").unwrap(), None),
        Err(Error::NotFound { .. })
    ));
    assert_eq!(
        vault
            .store()
            .get(&parse_path("/mine").unwrap(), None)
            .unwrap()
            .content,
        b"1"
    );
    drop(vault);
    assert_eq!(holdings(&other.dir), before, "nothing merged");
    log_verifies(&other).unwrap();
}
