use std::fs;
use std::path::Path;

use super::directory::STAGING_PREFIX;
use super::*;
use crate::data::resource::NewResource;
use crate::{Error, RecoveryKey, SecretString};
use age::secrecy::ExposeSecret;

const LOW: u8 = 4;

fn pass(s: &str) -> SecretString {
    SecretString::from(s.to_string())
}

fn new_vault(dir: &Path) -> Created {
    Vault::create_with_work_factor(dir, &pass("correct horse"), LOW).unwrap()
}

fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>, std::time::SystemTime)> {
    let mut out: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                fs::read(e.path()).unwrap(),
                m.modified().unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn create_then_open_with_passphrase() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("v");
    let created = new_vault(&dir);
    let id = created.vault.info().id;
    drop(created);
    let vault = Vault::open(&dir, &pass("correct horse")).unwrap();
    assert_eq!(vault.info().id, id);
    let (_, saved) = vault.store().communication_preferences().unwrap();
    assert!(saved, "init saves default preferences");
    assert_eq!(
        probe(&dir),
        Probe::Vault {
            id: id.to_string(),
            format_version: 1
        }
    );
    let names: Vec<_> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["v"], "no staging directory left behind");
}

/// A killed `init` or `import` leaves its staging directory; the next
/// vault made beside it removes it, never one whose process still runs.
#[test]
fn abandoned_staging_directories_are_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let dead = tmp.path().join(format!("{STAGING_PREFIX}{}-abc", u32::MAX));
    let alive = tmp
        .path()
        .join(format!("{STAGING_PREFIX}{}-def", std::process::id()));
    fs::create_dir(&dead).unwrap();
    fs::write(dead.join("vault.db"), b"half").unwrap();
    fs::create_dir(&alive).unwrap();
    drop(new_vault(&tmp.path().join("v")));
    assert!(!dead.exists(), "the dead process's staging is gone");
    assert!(alive.exists(), "a running process's staging is kept");
}

#[cfg(unix)]
#[test]
fn every_file_in_the_vault_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let modes = |dir: &Path| -> Vec<(String, u32)> {
        let mut out: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let mode = e.metadata().unwrap().permissions().mode() & 0o777;
                (e.file_name().to_string_lossy().into_owned(), mode)
            })
            .collect();
        out.sort();
        out
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("v");
    let created = new_vault(&dir);
    // The WAL and shared-memory files exist while the vault is open.
    let files = modes(&dir);
    assert!(files.iter().any(|(n, _)| n.ends_with("-wal")), "{files:?}");
    for (name, mode) in &files {
        assert_eq!(mode & 0o077, 0, "{name} is {mode:o}");
    }
    assert_eq!(fs::metadata(&dir).unwrap().permissions().mode() & 0o077, 0);
    drop(created);
    // A vault from before: its database readable by others, mended on open.
    let db = dir.join(DB_FILE);
    fs::set_permissions(&db, fs::Permissions::from_mode(0o644)).unwrap();
    let vault = Vault::open(&dir, &pass("correct horse")).unwrap();
    for (name, mode) in modes(&dir) {
        assert_eq!(mode & 0o077, 0, "{name} is {mode:o} after open");
    }
    drop(vault);
}

#[test]
fn wrong_passphrase_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("v");
    drop(new_vault(&dir));
    let before = snapshot(&dir);
    let err = Vault::open(&dir, &pass("wrong horse!")).err().unwrap();
    assert!(matches!(err, Error::WrongPassphrase { .. }));
    assert_eq!(snapshot(&dir), before);
}

#[test]
fn create_refuses_existing_and_weak() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("v");
    drop(new_vault(&dir));
    assert!(matches!(
        Vault::create_with_work_factor(&dir, &pass("correct horse"), LOW),
        Err(Error::VaultExists { .. })
    ));
    let empty = tmp.path().join("empty");
    fs::create_dir(&empty).unwrap();
    assert!(matches!(
        Vault::create_with_work_factor(&empty, &pass("short"), LOW),
        Err(Error::WeakPassphrase { .. })
    ));
    assert!(fs::read_dir(&empty).unwrap().next().is_none());
    // An empty directory is a fine place for a new vault.
    drop(new_vault(&empty));
    assert!(matches!(probe(&empty), Probe::Vault { .. }));
}

#[test]
fn change_passphrase_and_recover() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("v");
    let Created {
        vault,
        recovery_key,
    } = new_vault(&dir);
    vault
        .store()
        .put(
            &crate::parse_path("/x").unwrap(),
            NewResource::json(&serde_json::json!(1)),
        )
        .unwrap();
    let db_before = fs::read(dir.join(DB_FILE)).unwrap();
    vault.change_passphrase(&pass("second passphrase")).unwrap();
    drop(vault);
    assert!(Vault::open(&dir, &pass("correct horse")).is_err());
    drop(Vault::open(&dir, &pass("second passphrase")).unwrap());
    let text = recovery_key.expose().expose_secret().to_string();
    let recovered = Vault::recover(
        &dir,
        &RecoveryKey::parse(&text).unwrap(),
        &pass("third passphrase"),
    )
    .unwrap();
    assert_eq!(
        recovered
            .store()
            .get(&crate::parse_path("/x").unwrap(), None)
            .unwrap()
            .content,
        b"1"
    );
    drop(recovered);
    drop(Vault::open(&dir, &pass("third passphrase")).unwrap());
    let _ = db_before;
}

#[test]
fn recover_with_wrong_key_or_weak_passphrase_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("v");
    drop(new_vault(&dir));
    let before = snapshot(&dir);
    let other = RecoveryKey::generate();
    assert!(matches!(
        Vault::recover(&dir, &other, &pass("new passphrase")),
        Err(Error::WrongRecoveryKey { .. })
    ));
    assert!(matches!(
        Vault::recover(&dir, &other, &pass("short")),
        Err(Error::WeakPassphrase { .. })
    ));
    assert_eq!(snapshot(&dir), before);
}

#[test]
fn missing_foreign_newer_and_damaged_vaults_are_told_apart() {
    let tmp = tempfile::tempdir().unwrap();
    let p = pass("correct horse");
    assert!(matches!(
        Vault::open(&tmp.path().join("nope"), &p),
        Err(Error::VaultNotFound { .. })
    ));
    assert!(matches!(
        Vault::open(tmp.path(), &p),
        Err(Error::NotAVault { .. })
    ));
    assert_eq!(probe(tmp.path()), Probe::NotAVault);
    assert_eq!(probe(&tmp.path().join("nope")), Probe::Missing);

    let dir = tmp.path().join("v");
    drop(new_vault(&dir));
    let info = fs::read_to_string(dir.join(INFO_FILE)).unwrap();
    fs::write(
        dir.join(INFO_FILE),
        info.replace("\"format_version\": 1", "\"format_version\": 7"),
    )
    .unwrap();
    assert!(matches!(
        Vault::open(&dir, &p),
        Err(Error::NewerFormat {
            found: 7,
            supported: 1
        })
    ));
    fs::write(dir.join(INFO_FILE), &info).unwrap();

    let key = fs::read(dir.join(PASSPHRASE_KEY_FILE)).unwrap();
    fs::write(dir.join(PASSPHRASE_KEY_FILE), &key[..key.len() / 2]).unwrap();
    assert!(matches!(
        Vault::open(&dir, &p),
        Err(Error::KeyFileDamaged { .. })
    ));
    fs::write(dir.join(PASSPHRASE_KEY_FILE), &key).unwrap();

    let mut db_bytes = fs::read(dir.join(DB_FILE)).unwrap();
    db_bytes.truncate(100);
    fs::write(dir.join(DB_FILE), &db_bytes).unwrap();
    let err = Vault::open(&dir, &p).err().unwrap();
    assert!(matches!(err, Error::DatabaseDamaged { .. }), "{err}");
}

#[test]
fn a_database_from_another_vault_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    drop(new_vault(&a));
    drop(new_vault(&b));
    fs::copy(b.join(DB_FILE), a.join(DB_FILE)).unwrap();
    let err = Vault::open(&a, &pass("correct horse")).err().unwrap();
    assert!(matches!(err, Error::DatabaseDamaged { .. }), "{err}");
}
