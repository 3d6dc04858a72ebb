//! A merge's large content staged in committed batches before its one
//! transaction (`staging`): the write-ahead log stays near one batch, a
//! merge failing at any point leaves no staged blob and nothing visible
//! changed, content stored here already is shared and not staged, and
//! staged blobs outlive a long first pass.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::large_tests::{blob_of, blobs, entries, generated, put, read, seal_again};
use super::tests::{export, quiet, recipient_pair};
use super::*;
use crate::clock::ManualClock;
use crate::data::resource::stream::BATCH;
use crate::data::resource::CHUNK;
use crate::testing::{memory_store, refuse_inserts};
use crate::Store;

/// A path and its content.
type Content = (&'static str, Vec<u8>);

/// A vault with content over two batches, two smaller blobs and a small
/// file, sealed into a bundle: `(its directory, the bundle, how to open it,
/// how to seal it again, the contents)`.
fn bundled() -> (tempfile::TempDir, PathBuf, Opener, Seal, Vec<Content>) {
    let (dir, store) = memory_store();
    let contents = vec![
        ("/files/big", generated(2 * BATCH * CHUNK + CHUNK / 2, 11)),
        ("/files/x", generated(3 * CHUNK + 7, 12)),
        ("/files/y", generated(2 * CHUNK + 1, 13)),
        ("/notes/small", b"small".to_vec()),
    ];
    for (p, bytes) in &contents {
        put(&store, p, bytes.clone());
    }
    let (seal, opener) = recipient_pair();
    let bundle = export(&store, dir.path(), &seal);
    (dir, bundle, opener, seal, contents)
}

fn count(store: &Store, sql: &str) -> i64 {
    store.conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

fn staging(store: &Store) -> i64 {
    count(store, "SELECT count(*) FROM blobs WHERE state = 'staging'")
}

/// Everything a person or a company could see change: the resources and
/// their versions, the log, the deliveries owed, and the blobs.
fn visible(store: &Store) -> Vec<String> {
    [
        "SELECT group_concat(path || ' ' || version, ',') FROM resources",
        "SELECT group_concat(path || ' ' || version || ' ' || etag, ',') FROM resource_versions",
        "SELECT group_concat(seq || ' ' || action, ',') FROM audit_log",
        "SELECT group_concat(id, ',') FROM outbox",
        "SELECT group_concat(id || ' ' || state, ',') FROM blobs",
        "SELECT CAST(count(*) AS TEXT) FROM blob_chunks",
    ]
    .iter()
    .map(|sql| {
        store
            .conn
            .query_row(sql, [], |r| r.get::<_, Option<String>>(0))
            .unwrap()
            .unwrap_or_default()
    })
    .collect()
}

fn wal_size(dir: &Path) -> u64 {
    std::fs::metadata(dir.join("t.db-wal")).map_or(0, |m| m.len())
}

/// The largest the log grew during a merge of the bundle into a vault
/// holding one file: measured after each entry of both passes (the log
/// file only grows until it is truncated, and SQLite cuts it back only
/// past `journal_size_limit`, 64 MiB, so its size then is the largest it
/// was).
#[test]
fn a_merge_keeps_its_log_near_one_batch() {
    let (_dir, bundle, opener, _seal, contents) = bundled();
    let (here_dir, here) = memory_store();
    // Pages spill into the log only once the page cache is full: with the
    // 32 MiB cache every connection has, this test's 22 MiB of content
    // would wait in memory until the commit whatever the merge does.
    here.use_small_page_cache().unwrap();
    put(&here, "/mine/only", b"stays".to_vec());
    let mut largest = 0;
    let report = merge_bundle(&here, &bundle, &opener, &mut |_| {
        largest = largest.max(wal_size(here_dir.path()));
    })
    .unwrap();
    assert_eq!(report.added.len(), 4, "{report:?}");
    for (p, bytes) in &contents {
        assert!(read(&here, p, None) == *bytes, "{p}");
    }
    let added: usize = contents.iter().map(|(_, b)| b.len()).sum();
    assert!(largest > 0, "the log was measured");
    // One batch of chunks, plus an eighth for what its pages carry besides
    // (each 4 KiB page's HMAC and IV, each frame's header, the b-tree's
    // own pages) and the rows of the final transaction: 8.6 MiB measured.
    // The whole merge in one transaction grew the log with everything
    // added (21.7 MiB measured of 21.5 MiB added, before the commit).
    let bound = (BATCH * CHUNK + BATCH * CHUNK / 8) as u64;
    assert!(
        largest < bound,
        "the log grew to {largest} bytes (bound {bound}, content added {added})"
    );
    assert_eq!(staging(&here), 0);
    assert_eq!(wal_size(here_dir.path()), 0, "truncated after the merge");
}

/// A merge that fails while staging (a damaged later entry, a full disk)
/// or in its final transaction (a full disk) leaves the vault exactly as
/// it was, with no staged blob.
#[test]
fn a_merge_failing_midway_leaves_nothing_staged_and_nothing_changed() {
    let (dir, bundle, opener, seal, _) = bundled();
    let (_d2, here) = memory_store();
    put(&here, "/mine/only", generated(2 * CHUNK, 9));
    let before = visible(&here);

    // A damaged entry after the content: the first pass has staged it all.
    let mut damaged = entries(&bundle, &opener);
    let last = damaged.len() - 1;
    damaged[last].1.push(b'\n');
    let damaged_bundle = dir.path().join("damaged.age");
    seal_again(&damaged, &seal, &damaged_bundle);
    let mut staged_most = 0;
    let e = merge_bundle(&here, &damaged_bundle, &opener, &mut |_| {
        staged_most = staged_most.max(staging(&here));
    })
    .unwrap_err();
    assert!(matches!(e, Error::BundleTampered { .. }), "{e}");
    assert_eq!(staged_most, 3, "every large content was staged first");
    assert_eq!(visible(&here), before, "damaged later entry");

    // The disk fills while the second content entry is staged.
    let mut refused = false;
    let e = merge_bundle(&here, &bundle, &opener, &mut |p| {
        if p.phase == Phase::Verifying && staging(&here) > 0 && !refused {
            refused = true;
            refuse_inserts(&here, "blob_chunks");
        }
    })
    .unwrap_err();
    assert!(e.to_string().contains("blob_chunks full"), "{e}");
    crate::testing::allow_inserts(&here, "blob_chunks");
    assert_eq!(visible(&here), before, "full disk while staging");

    // The disk fills at the very end of the final transaction, after the
    // staged blobs were attached.
    refuse_inserts(&here, "audit_log");
    let e = merge_bundle(&here, &bundle, &opener, &mut quiet()).unwrap_err();
    assert!(e.to_string().contains("audit_log full"), "{e}");
    crate::testing::allow_inserts(&here, "audit_log");
    assert_eq!(visible(&here), before, "full disk in the final transaction");

    // And then it goes through.
    let report = merge_bundle(&here, &bundle, &opener, &mut quiet()).unwrap();
    assert_eq!(report.added.len(), 4, "{report:?}");
}

/// Content a merge adds that is stored here already (at another path) is
/// shared: not staged, not stored twice.
#[test]
fn content_stored_here_already_is_shared_and_not_staged() {
    let (_dir, bundle, opener, _seal, contents) = bundled();
    let (_d2, here) = memory_store();
    let x = contents[1].1.clone();
    put(&here, "/mine/copy-of-x", x.clone());
    let mut staged_most = 0;
    merge_bundle(&here, &bundle, &opener, &mut |_| {
        staged_most = staged_most.max(staging(&here));
    })
    .unwrap();
    assert_eq!(staged_most, 2, "big and y staged, x not");
    assert_eq!(blobs(&here), 3, "x is stored once");
    assert_eq!(
        blob_of(&here, "/files/x", 1),
        blob_of(&here, "/mine/copy-of-x", 1)
    );
    assert!(read(&here, "/files/x", None) == x);
}

/// A resource written here between the passes is left alone, and what was
/// staged for it is dropped with the merge's commit.
#[test]
fn content_staged_for_a_resource_written_meanwhile_is_dropped() {
    let (_dir, bundle, opener, _seal, contents) = bundled();
    let (_d2, here) = memory_store();
    let mut written = false;
    let report = merge_bundle(&here, &bundle, &opener, &mut |p| {
        if p.phase == Phase::Verifying && p.items_done == p.items_total && !written {
            written = true;
            put(&here, "/files/y", b"mine".to_vec());
        }
    })
    .unwrap();
    assert!(written);
    assert_eq!(report.conflicts.len(), 1, "{report:?}");
    assert_eq!(report.conflicts[0].path, "/files/y");
    assert_eq!(read(&here, "/files/y", None), b"mine");
    assert_eq!(staging(&here), 0, "y's staged content is dropped");
    assert_eq!(blobs(&here), 2, "big and x");
    assert!(read(&here, "/files/big", None) == contents[0].1);
}

/// A first pass longer than the hour after which another process opening
/// the vault sweeps staging blobs away keeps its staged blobs touched.
#[test]
fn staged_content_outlives_a_long_first_pass() {
    let (_dir, bundle, opener, _seal, contents) = bundled();
    let (_d2, mut here) = memory_store();
    let clock = ManualClock::new(chrono::Utc::now());
    here.set_clock(Arc::new(clock.clone()));
    let mut swept = 0;
    let report = merge_bundle(&here, &bundle, &opener, &mut |p| {
        clock.advance(chrono::Duration::minutes(50));
        if p.phase == Phase::Verifying {
            swept += here.sweep_staging().unwrap();
        }
    })
    .unwrap();
    assert_eq!(swept, 0);
    assert_eq!(report.added.len(), 4, "{report:?}");
    for (p, bytes) in &contents {
        assert!(read(&here, p, None) == *bytes, "{p}");
    }
}
