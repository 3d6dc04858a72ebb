//! Content over `INLINE_MAX` and over several chunks through a bundle:
//! export, restore and merge byte-exact, identical content stored once,
//! and a content entry that does not match its ETag refused while it
//! streams, with nothing changed.

use std::io::Read;
use std::path::Path;

use age::secrecy::SecretString;
use sha2::{Digest, Sha256};

use super::tests::{export, quiet};
use super::*;
use crate::data::resource::{CHUNK, INLINE_MAX};
use crate::testing::memory_store;
use crate::testing::recipient_pair;
use crate::{NewResource, PodPath, Store};

pub(super) fn path(p: &str) -> PodPath {
    PodPath::parse(p).unwrap()
}

/// Bytes that differ chunk to chunk (so no two chunks are alike).
pub(super) fn generated(len: usize, seed: u8) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    let mut block = Sha256::digest([seed]);
    while out.len() < len {
        out.extend_from_slice(&block);
        block = Sha256::digest(block);
    }
    out.truncate(len);
    out
}

pub(super) fn put(store: &Store, p: &str, content: Vec<u8>) {
    store
        .put(
            &path(p),
            NewResource {
                content,
                content_type: "application/octet-stream".into(),
                category: None,
                mark: crate::Mark::Keep,
            },
        )
        .unwrap();
}

/// A version's bytes, read through the chunk reader.
pub(super) fn read(store: &Store, p: &str, version: Option<u64>) -> Vec<u8> {
    let mut out = Vec::new();
    store
        .open_content(&path(p), version)
        .unwrap()
        .read_to_end(&mut out)
        .unwrap();
    out
}

pub(super) fn blobs(store: &Store) -> u64 {
    store
        .conn
        .query_row("SELECT COUNT(*) FROM blobs", [], |r| r.get(0))
        .unwrap()
}

pub(super) fn blob_of(store: &Store, p: &str, version: u64) -> Option<i64> {
    store
        .conn
        .query_row(
            "SELECT blob_id FROM resource_versions WHERE path = ?1 AND version = ?2",
            rusqlite::params![p, version],
            |r| r.get(0),
        )
        .unwrap()
}

/// A version's path, number and bytes.
type Version = (&'static str, u64, Vec<u8>);

/// Three chunks and a bit, its second version, the same bytes at a second
/// path, content just over the inline limit, and a small file.
fn large_vault() -> (tempfile::TempDir, Store, Vec<Version>) {
    let (dir, store) = memory_store();
    let big = generated(3 * CHUNK + 12_345, 1);
    let big2 = generated(2 * CHUNK, 2);
    let medium = generated(INLINE_MAX + 1, 3);
    put(&store, "/files/a", big.clone());
    put(&store, "/files/a", big2.clone());
    put(&store, "/files/b", big.clone());
    put(&store, "/files/c", medium.clone());
    put(&store, "/notes/small", b"small".to_vec());
    assert_eq!(blobs(&store), 3, "identical content is one blob");
    let versions = vec![
        ("/files/a", 1, big.clone()),
        ("/files/a", 2, big2),
        ("/files/b", 1, big),
        ("/files/c", 1, medium),
        ("/notes/small", 1, b"small".to_vec()),
    ];
    (dir, store, versions)
}

fn assert_same(store: &Store, versions: &[Version]) {
    for (p, v, bytes) in versions {
        assert!(read(store, p, Some(*v)) == *bytes, "{p} version {v}");
    }
    assert_eq!(blobs(store), 3, "identical content is still one blob");
    assert_eq!(blob_of(store, "/files/a", 1), blob_of(store, "/files/b", 1));
    assert!(blob_of(store, "/files/a", 1).is_some());
    assert!(
        blob_of(store, "/notes/small", 1).is_none(),
        "small stays inline"
    );
}

#[test]
fn large_content_restores_and_merges_byte_exact_and_shared() {
    let (dir, store, versions) = large_vault();
    let (seal, opener) = recipient_pair();
    let bundle = export(&store, dir.path(), &seal);

    let checked = import::inspect(&bundle, &opener, &mut quiet()).unwrap();
    let (_d2, restored) = memory_store();
    import::restore_into(&restored, &bundle, &opener, &checked, &mut quiet()).unwrap();
    assert_same(&restored, &versions);
    // And out again: the same entries, byte for byte.
    let again = export(&restored, dir.path(), &seal);
    let again = import::inspect(&again, &opener, &mut quiet()).unwrap();
    let contents = |m: &Manifest| {
        m.entries
            .iter()
            .filter(|e| e.name.starts_with("resources/"))
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(contents(&again.manifest), contents(&checked.manifest));

    let (_d3, here) = memory_store();
    put(&here, "/mine/only", b"stays".to_vec());
    let report = merge_bundle(&here, &bundle, &opener, &mut quiet()).unwrap();
    assert_eq!(report.added.len(), 4, "{report:?}");
    assert_same(&here, &versions);
    // Merging again reads the content without storing it again.
    let again = merge_bundle(&here, &bundle, &opener, &mut quiet()).unwrap();
    assert!(
        again.added.is_empty() && again.conflicts.is_empty(),
        "{again:?}"
    );
    assert_eq!(blobs(&here), 3);
}

/// Every entry of a bundle, and a way to seal a changed list again (as
/// someone holding the recipient key could).
pub(super) fn entries(bundle: &Path, opener: &Opener) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    reader::read_all_for_tests(bundle, opener, &mut |name, bytes| {
        out.push((name.to_string(), bytes.to_vec()));
    })
    .unwrap();
    out
}

pub(super) fn seal_again(entries: &[(String, Vec<u8>)], seal: &Seal, out: &Path) {
    let Seal::Recipient(recipient) = seal else {
        unreachable!()
    };
    let mut tar = tar::Builder::new(Vec::new());
    for (n, b) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_size(b.len() as u64);
        h.set_mode(0o600);
        tar.append_data(&mut h, n, b.as_slice()).unwrap();
    }
    let plain = tar.into_inner().unwrap();
    let enc =
        age::Encryptor::with_recipients(std::iter::once(recipient.as_ref() as &dyn age::Recipient))
            .unwrap();
    let mut sealed = Vec::new();
    let mut w = enc.wrap_output(&mut sealed).unwrap();
    std::io::Write::write_all(&mut w, &plain).unwrap();
    w.finish().unwrap();
    std::fs::write(out, sealed).unwrap();
}

/// A content entry changed and its manifest line changed with it passes
/// the first pass; its ETag (in the version's metadata) still tells, as
/// the content streams in: the import fails and leaves nothing.
#[test]
fn a_damaged_content_entry_is_refused_while_it_streams_and_nothing_changes() {
    let (dir, store, _) = large_vault();
    let (seal, opener) = recipient_pair();
    let bundle = export(&store, dir.path(), &seal);
    let mut changed = entries(&bundle, &opener);
    let name = "resources/files/c#v1";
    let i = changed.iter().position(|(n, _)| n == name).unwrap();
    let last = changed[i].1.len() - 1;
    changed[i].1[last] ^= 1;
    let sha = hex::encode(Sha256::digest(&changed[i].1));
    let mut manifest: serde_json::Value = serde_json::from_slice(&changed[0].1).unwrap();
    for e in manifest["entries"].as_array_mut().unwrap() {
        if e["name"] == name {
            e["sha256"] = serde_json::json!(sha);
        }
    }
    changed[0].1 = serde_json::to_vec(&manifest).unwrap();
    let forged = dir.path().join("forged.age");
    seal_again(&changed, &seal, &forged);
    inspect_bundle(&forged, &opener, &mut quiet()).expect("the first pass cannot tell");

    let refused = |e: &Error| {
        matches!(e, Error::BundleTampered { reason, .. }
            if reason.contains(name) && reason.contains("ETag"))
    };
    let target = dir.path().join("restored");
    let pass = SecretString::from("new passphrase".to_string());
    let e = restore_bundle(&forged, &opener, &target, &pass, 4, &mut quiet())
        .err()
        .unwrap();
    assert!(refused(&e), "{e}");
    assert!(!target.exists());

    let (_d2, here) = memory_store();
    put(&here, "/mine/only", generated(2 * CHUNK, 9));
    let log = here.verify_audit_log().unwrap().entries;
    let e = merge_bundle(&here, &forged, &opener, &mut quiet()).unwrap_err();
    assert!(refused(&e), "{e}");
    assert_eq!(blobs(&here), 1, "no blob of the bundle stays");
    assert!(here.history(&path("/files/a")).is_err());
    assert_eq!(here.verify_audit_log().unwrap().entries, log);
}

#[test]
fn content_over_the_vaults_maximum_is_refused() {
    let (dir, store, _) = large_vault();
    let (seal, opener) = recipient_pair();
    let bundle = export(&store, dir.path(), &seal);
    let (_d2, mut here) = memory_store();
    here.set_max_content_for_tests(2 * CHUNK as u64);
    let e = merge_bundle(&here, &bundle, &opener, &mut quiet()).unwrap_err();
    assert!(
        matches!(&e, Error::TooLarge { path, size: Some(_), .. } if path == "/files/a"),
        "{e}"
    );
    assert_eq!(blobs(&here), 0);
}

/// The largest the restored vault's write-ahead log grew during a restore
/// that commits after every `commit_every` bytes of content.
fn largest_log(bundle: &Path, opener: &Opener, commit_every: u64) -> u64 {
    let checked = import::inspect(bundle, opener, &mut quiet()).unwrap();
    let (dir, restored) = memory_store();
    // Pages spill into the log only once the page cache is full: with the
    // 32 MiB cache every connection has, this test's few MiB of content
    // would wait in memory until the commit whatever the interval.
    restored.use_small_page_cache().unwrap();
    let wal = dir.path().join("t.db-wal");
    let mut largest = 0;
    import::restore_committing(
        &restored,
        bundle,
        opener,
        &checked,
        commit_every,
        &mut |_| largest = largest.max(std::fs::metadata(&wal).map_or(0, |m| m.len())),
    )
    .unwrap();
    largest
}

/// A restore commits as it goes (its vault is thrown away whole on
/// failure), so its log stays near one commit's worth of content instead
/// of growing to the size of the bundle.
#[test]
fn a_restore_keeps_its_log_bounded() {
    let (dir, store, _) = large_vault();
    let (seal, opener) = recipient_pair();
    let bundle = export(&store, dir.path(), &seal);
    let content: u64 = (3 * CHUNK + 12_345 + 2 * CHUNK + INLINE_MAX + 1) as u64;
    let whole = largest_log(&bundle, &opener, u64::MAX);
    assert!(whole > content, "one transaction: {whole}");
    let bounded = largest_log(&bundle, &opener, CHUNK as u64);
    assert!(
        bounded < 4 * CHUNK as u64 + (1 << 20),
        "committing: {bounded}"
    );
}
