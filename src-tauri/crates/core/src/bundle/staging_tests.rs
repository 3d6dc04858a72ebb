//! A merge's large content staged in committed batches before its one
//! transaction (`staging`): the write-ahead log stays near one batch, a
//! merge failing at any point leaves no staged blob and nothing visible
//! changed, content stored here already (or written between the passes)
//! is shared and not staged, content twice in a bundle is staged once,
//! staged blobs outlive a long first pass and one long entry, and
//! progress moves with each batch staged.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::large_tests::{blob_of, blobs, entries, generated, put, read, seal_again};
use super::tests::{export, quiet};
use super::*;
use crate::clock::ManualClock;
use crate::data::resource::stream::BATCH;
use crate::data::resource::CHUNK;
use crate::testing::{memory_store, recipient_pair, refuse_inserts, two_stores};
use crate::{NewResource, Store};

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
        if p.phase == Phase::Staging && staging(&here) > 0 && !refused {
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
        if p.phase == Phase::Staging && p.items_done == p.items_total && !written {
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

/// Time passing as a merge reads: `step` for each report that follows
/// bytes read (a report after each batch staged, after each entry), none
/// for a report after none (an entry's own after its last batch's).
fn reading_takes(clock: &ManualClock, step: chrono::Duration) -> impl FnMut(&Progress) + '_ {
    let mut last = None;
    move |p: &Progress| {
        if last != Some((p.phase, p.bytes_done)) {
            clock.advance(step);
            last = Some((p.phase, p.bytes_done));
        }
    }
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
    let mut reading = reading_takes(&clock, chrono::Duration::minutes(50));
    let report = merge_bundle(&here, &bundle, &opener, &mut |p| {
        reading(p);
        if p.phase == Phase::Staging {
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

/// One entry whose staging outlasts the hour (its batches an hour apart)
/// keeps the blobs staged before it touched: another process's sweep
/// removes none of them and the merge goes through.
#[test]
fn staged_content_outlives_one_long_entry() {
    let (_dir, source) = memory_store();
    let contents = [
        ("/files/a", generated(2 * CHUNK + 1, 21)),
        ("/files/b", generated(3 * BATCH * CHUNK + 1, 22)),
    ];
    for (p, bytes) in &contents {
        put(&source, p, bytes.clone());
    }
    let (seal, opener) = recipient_pair();
    let bundle = export(&source, _dir.path(), &seal);
    let (_d2, mut here, mut other) = two_stores();
    let clock = ManualClock::new(chrono::Utc::now());
    here.set_clock(Arc::new(clock.clone()));
    other.set_clock(Arc::new(clock.clone()));
    let (mut swept, mut batches_of_b) = (0, 0);
    let mut reading = reading_takes(&clock, chrono::Duration::minutes(50));
    let report = merge_bundle(&here, &bundle, &opener, &mut |p| {
        if p.phase == Phase::Staging {
            batches_of_b += u64::from(staging(&here) == 2);
            reading(p);
            swept += other.sweep_staging().unwrap();
        }
    })
    .unwrap();
    assert!(batches_of_b >= 3, "b took {batches_of_b} batches");
    assert_eq!(swept, 0);
    assert_eq!(report.added.len(), 2, "{report:?}");
    for (p, bytes) in &contents {
        assert!(read(&here, p, None) == *bytes, "{p}");
    }
}

/// While a merge stages, progress is reported after each batch, in its
/// own phase, its bytes never going back nor past the total; then the
/// second pass reports to the end.
#[test]
fn a_merge_reports_progress_while_it_stages_each_batch() {
    let (_dir, bundle, opener, _seal, _) = bundled();
    let (_d2, here) = memory_store();
    let mut seen: Vec<Progress> = Vec::new();
    merge_bundle(&here, &bundle, &opener, &mut |p| seen.push(*p)).unwrap();
    let staging_reports: Vec<&Progress> =
        seen.iter().filter(|p| p.phase == Phase::Staging).collect();
    let items = staging_reports.last().unwrap().items_total;
    // Every entry once, and big's three batches, x's and y's one each
    // (their last report is the entry's own).
    assert_eq!(staging_reports.len() as u64, items - 1 + 3 + 1 + 1);
    let inside_entries = staging_reports
        .windows(2)
        .filter(|w| w[0].items_done == w[1].items_done)
        .count();
    assert_eq!(inside_entries, 5, "reports within an entry");
    for w in staging_reports.windows(2) {
        assert!(w[0].bytes_done <= w[1].bytes_done, "{w:?}");
        assert!(w[1].bytes_done <= w[1].bytes_total, "{w:?}");
    }
    let last = seen.last().unwrap();
    assert_eq!(last.phase, Phase::Restoring);
    assert_eq!(
        (last.items_done, last.bytes_done),
        (last.items_total, last.bytes_total)
    );
}

/// Content staged by the first pass that is stored here by the time the
/// final transaction attaches it (written between the passes, at another
/// path) is shared: the staged copy is dropped, one blob holds it.
#[test]
fn content_written_here_between_the_passes_is_shared_at_attach() {
    let (_dir, bundle, opener, _seal, contents) = bundled();
    let (_d2, here) = memory_store();
    let x = contents[1].1.clone();
    let mut written = false;
    merge_bundle(&here, &bundle, &opener, &mut |p| {
        if p.phase == Phase::Staging && p.items_done == p.items_total && !written {
            written = true;
            assert_eq!(staging(&here), 3, "x was staged");
            put(&here, "/mine/copy-of-x", x.clone());
        }
    })
    .unwrap();
    assert!(written);
    assert_eq!(staging(&here), 0);
    assert_eq!(blobs(&here), 3, "big, y and x once");
    assert_eq!(
        blob_of(&here, "/files/x", 1),
        blob_of(&here, "/mine/copy-of-x", 1)
    );
    assert!(read(&here, "/files/x", None) == x);
    assert!(read(&here, "/mine/copy-of-x", None) == x);
}

/// The same large bytes under two content types (two ETags) in one merge
/// are staged once and stored once, and both read back whole.
#[test]
fn the_same_large_bytes_under_two_content_types_are_stored_once() {
    let (dir, source) = memory_store();
    let bytes = generated(2 * CHUNK + 5, 31);
    for (p, content_type) in [
        ("/files/p", "application/octet-stream"),
        ("/files/q", "text/plain"),
    ] {
        source
            .put(
                &super::large_tests::path(p),
                NewResource {
                    content: bytes.clone(),
                    content_type: content_type.into(),
                    category: None,
                    mark: crate::Mark::Keep,
                },
            )
            .unwrap();
    }
    let (seal, opener) = recipient_pair();
    let bundle = export(&source, dir.path(), &seal);
    let (_d2, here) = memory_store();
    let mut staged_most = 0;
    let report = merge_bundle(&here, &bundle, &opener, &mut |_| {
        staged_most = staged_most.max(staging(&here));
    })
    .unwrap();
    assert_eq!(report.added.len(), 2, "{report:?}");
    assert_eq!(staged_most, 1, "staged once");
    assert_eq!(blobs(&here), 1, "stored once");
    let etags: Vec<String> = ["/files/p", "/files/q"]
        .iter()
        .map(|p| {
            here.get(&super::large_tests::path(p), None)
                .unwrap()
                .meta
                .etag
        })
        .collect();
    assert_ne!(etags[0], etags[1]);
    for p in ["/files/p", "/files/q"] {
        assert!(read(&here, p, None) == bytes, "{p}");
    }
}
