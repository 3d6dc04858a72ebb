//! Large content: chunked blobs written from a stream, read back a chunk
//! at a time, shared when identical, and nothing left by a failed write.

use std::io::{self, Read};

use super::*;
use crate::testing::memory_store;
use crate::vault::store::Store;
use crate::Error;

fn p(s: &str) -> PodPath {
    PodPath::parse(s).unwrap()
}

/// Deterministic bytes that differ from chunk to chunk (`seed` makes
/// different content of the same size).
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).rotate_right(13) as u8 ^ seed)
        .collect()
}

fn put_bytes(store: &Store, path: &str, bytes: &[u8]) -> Result<ResourceMeta> {
    store.put_stream(
        &p(path),
        NewMeta::of_type(OCTET_STREAM),
        &mut &bytes[..],
        Some(bytes.len() as u64),
        &Author::Owner,
        &mut |_| {},
    )
}

fn count(store: &Store, sql: &str) -> i64 {
    store.conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

fn blob_id(store: &Store, path: &str, version: u64) -> Option<i64> {
    store
        .conn
        .query_row(
            "SELECT blob_id FROM resource_versions WHERE path = ?1 AND version = ?2",
            rusqlite::params![path, version],
            |r| r.get(0),
        )
        .unwrap()
}

/// Nothing of a write stays: no blob (staging or complete), no chunk.
fn assert_no_blobs(store: &Store) {
    assert_eq!(count(store, "SELECT count(*) FROM blobs"), 0);
    assert_eq!(count(store, "SELECT count(*) FROM blob_chunks"), 0);
}

#[test]
fn content_round_trips_across_chunk_boundaries() {
    let (_d, store) = memory_store();
    for (i, len) in [
        0,
        1,
        INLINE_MAX - 1,
        INLINE_MAX,
        INLINE_MAX + 1,
        CHUNK - 1,
        CHUNK,
        CHUNK + 1,
        3 * CHUNK + 5,
    ]
    .into_iter()
    .enumerate()
    {
        let bytes = pattern(len, i as u8);
        let path = format!("/files/f{i}");
        let mut seen = Vec::new();
        let meta = store
            .put_stream(
                &p(&path),
                NewMeta::of_type(OCTET_STREAM),
                &mut &bytes[..],
                None,
                &Author::Owner,
                &mut |n| seen.push(n),
            )
            .unwrap();
        assert_eq!(meta.size, len as u64);
        assert_eq!(meta.etag, content::etag_of(OCTET_STREAM, &bytes), "{len}");
        assert_eq!(seen.last().copied().unwrap_or(0), len as u64);
        assert!(seen.len() <= len / CHUNK + 2, "at most once per chunk");
        assert_eq!(
            blob_id(&store, &path, 1).is_some(),
            len > INLINE_MAX,
            "{len}"
        );
        assert_eq!(store.get(&p(&path), None).unwrap().content, bytes, "{len}");
        let mut reader = store.open_content(&p(&path), Some(1)).unwrap();
        assert_eq!(reader.meta(), &meta);
        assert_eq!(reader.is_blob(), len > INLINE_MAX);
        let mut back = Vec::new();
        // Small reads cross every chunk boundary.
        let mut buf = [0u8; 4096 + 7];
        loop {
            let n = reader.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            back.extend_from_slice(&buf[..n]);
        }
        assert_eq!(back, bytes, "{len}");
    }
    // The blobs are in 1 MiB chunks, the last one shorter.
    assert_eq!(
        count(&store, "SELECT max(length(data)) FROM blob_chunks"),
        CHUNK as i64
    );
    assert_eq!(
        count(&store, "SELECT count(*) FROM blobs WHERE state = 'staging'"),
        0
    );
    // put of a large NewResource goes the same way.
    let big = pattern(2 * CHUNK + 3, 77);
    store
        .put(
            &p("/files/put"),
            NewResource {
                content: big.clone(),
                content_type: OCTET_STREAM.into(),
                category: None,
                mark: Mark::Keep,
            },
        )
        .unwrap();
    assert!(blob_id(&store, "/files/put", 1).is_some());
    assert_eq!(store.get(&p("/files/put"), None).unwrap().content, big);
}

#[test]
fn identical_content_is_stored_once() {
    let (_d, store) = memory_store();
    let bytes = pattern(2 * CHUNK + 10, 1);
    put_bytes(&store, "/a/one", &bytes).unwrap();
    put_bytes(&store, "/b/two", &bytes).unwrap();
    assert_eq!(blob_id(&store, "/a/one", 1), blob_id(&store, "/b/two", 1));
    assert_eq!(count(&store, "SELECT count(*) FROM blobs"), 1);
    assert_eq!(count(&store, "SELECT count(*) FROM blob_chunks"), 3);
    // The same content again at the same path changes nothing.
    let again = put_bytes(&store, "/a/one", &bytes).unwrap();
    assert_eq!(again.version, 1);
    assert_eq!(count(&store, "SELECT count(*) FROM blobs"), 1);
    // Other content is another blob.
    put_bytes(&store, "/b/two", &pattern(2 * CHUNK + 10, 2)).unwrap();
    assert_eq!(count(&store, "SELECT count(*) FROM blobs"), 2);
    assert_eq!(store.get(&p("/a/one"), None).unwrap().content, bytes);
}

#[test]
fn versions_restore_and_marks_reuse_the_blob() {
    let (_d, store) = memory_store();
    let first = pattern(CHUNK + 1, 1);
    let second = pattern(INLINE_MAX + 1, 2);
    put_bytes(&store, "/docs/scan", &first).unwrap();
    put_bytes(&store, "/docs/scan", &second).unwrap();
    store.delete(&p("/docs/scan")).unwrap();
    let restored = store.restore_version(&p("/docs/scan"), 1).unwrap();
    assert_eq!(restored.version, 4);
    assert_eq!(
        blob_id(&store, "/docs/scan", 4),
        blob_id(&store, "/docs/scan", 1)
    );
    assert_eq!(store.get(&p("/docs/scan"), None).unwrap().content, first);
    assert_eq!(
        store.get(&p("/docs/scan"), Some(2)).unwrap().content,
        second
    );
    let marked = store.set_sensitive(&p("/docs/scan"), true).unwrap();
    assert_eq!(marked.version, 5);
    assert_eq!(marked.etag, restored.etag);
    assert_eq!(
        blob_id(&store, "/docs/scan", 5),
        blob_id(&store, "/docs/scan", 1)
    );
    assert_eq!(count(&store, "SELECT count(*) FROM blobs"), 2, "no copy");
    let sizes: Vec<u64> = store
        .history(&p("/docs/scan"))
        .unwrap()
        .iter()
        .map(|v| v.size)
        .collect();
    assert_eq!(
        sizes,
        [
            first.len() as u64,
            second.len() as u64,
            0,
            first.len() as u64,
            first.len() as u64
        ]
    );
}

#[test]
fn a_range_is_read_without_the_rest() {
    let (_d, store) = memory_store();
    let bytes = pattern(3 * CHUNK, 5);
    put_bytes(&store, "/v/movie", &bytes).unwrap();
    let read = |start: u64, end: u64| {
        let reader = store.open_content(&p("/v/movie"), None).unwrap();
        let mut r = reader.range(start, end);
        let remaining = r.remaining();
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert_eq!(out.len() as u64, remaining);
        out
    };
    let c = CHUNK as u64;
    assert_eq!(read(c - 10, c + 9), &bytes[CHUNK - 10..CHUNK + 10]);
    assert_eq!(read(0, 0), &bytes[..1]);
    assert_eq!(read(3 * c - 5, u64::MAX), &bytes[3 * CHUNK - 5..]);
    // Chunk 2 damaged: a range in chunk 0 still reads.
    store
        .conn
        .execute(
            "UPDATE blob_chunks SET data = zeroblob(length(data)) WHERE seq = 2",
            [],
        )
        .unwrap();
    assert_eq!(read(5, 100), &bytes[5..101]);
    let mut reader = store.open_content(&p("/v/movie"), None).unwrap();
    reader.seek_to(2 * c + 1);
    let err = reader.read_to_end(&mut Vec::new()).unwrap_err();
    assert!(matches!(
        Error::from_read(err, "x"),
        Error::DatabaseDamaged { .. }
    ));
}

#[test]
fn a_damaged_chunk_is_damage_not_data() {
    let (dir, store) = memory_store();
    let bytes = pattern(2 * CHUNK + 100, 9);
    put_bytes(&store, "/docs/big", &bytes).unwrap();
    // Other bytes of the same length: only the chunk's SHA-256 tells.
    store
        .conn
        .execute(
            "UPDATE blob_chunks SET data = randomblob(length(data)) WHERE seq = 1",
            [],
        )
        .unwrap();
    let err = store.get(&p("/docs/big"), None).unwrap_err();
    assert!(matches!(err, Error::DatabaseDamaged { .. }), "{err}");
    assert!(err.to_string().contains("/docs/big version 1"), "{err}");
    assert!(err.to_string().contains("chunk 1"), "{err}");
    let mut reader = store.open_content(&p("/docs/big"), None).unwrap();
    let err = io::copy(&mut reader, &mut io::sink()).unwrap_err();
    assert!(matches!(
        Error::from_read(err, "x"),
        Error::DatabaseDamaged { .. }
    ));
    // A bundle export refuses it, with the same error.
    let exported = crate::bundle::export_plain(&store, &dir.path().join("plain"), &mut |_| {});
    assert!(
        matches!(exported, Err(Error::DatabaseDamaged { .. })),
        "{exported:?}"
    );
    // A lost chunk too.
    store
        .conn
        .execute("DELETE FROM blob_chunks WHERE seq = 1", [])
        .unwrap();
    let err = store.get(&p("/docs/big"), None).unwrap_err();
    assert!(err.to_string().contains("lost chunk 1"), "{err}");
}

/// A reader that yields `total` bytes of a pattern, then fails (`fail`),
/// counting what it handed out.
struct Source {
    total: usize,
    given: usize,
    fail: bool,
}

impl Read for Source {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.given >= self.total {
            return if self.fail {
                Err(io::Error::other("the disk went away"))
            } else {
                Ok(0)
            };
        }
        let n = out.len().min(self.total - self.given).min(100_000);
        for (i, b) in out[..n].iter_mut().enumerate() {
            *b = (self.given + i) as u8;
        }
        self.given += n;
        Ok(n)
    }
}

#[test]
fn too_large_is_refused_before_anything_is_written() {
    let (_d, mut store) = memory_store();
    store.set_max_content_for_tests(2 * CHUNK as u64);
    let mut source = Source {
        total: 3 * CHUNK,
        given: 0,
        fail: false,
    };
    let err = store
        .put_stream(
            &p("/files/huge"),
            NewMeta::of_type(OCTET_STREAM),
            &mut source,
            Some(3 * CHUNK as u64),
            &Author::Owner,
            &mut |_| {},
        )
        .unwrap_err();
    assert!(
        matches!(err, Error::TooLarge { size: Some(s), max, .. } if s == 3 * CHUNK as u64 && max == 2 * CHUNK as u64),
        "{err:?}"
    );
    assert_eq!(source.given, 0, "not a byte read");
    assert_no_blobs(&store);

    // Not known up front: stopped when it passes the maximum.
    let err = store
        .put_stream(
            &p("/files/huge"),
            NewMeta::of_type(OCTET_STREAM),
            &mut source,
            None,
            &Author::Owner,
            &mut |_| {},
        )
        .unwrap_err();
    assert!(matches!(err, Error::TooLarge { size: None, .. }), "{err:?}");
    assert!(source.given > 2 * CHUNK);
    assert_no_blobs(&store);
    assert!(matches!(
        store.get(&p("/files/huge"), None),
        Err(Error::NotFound { .. })
    ));
    // Exactly the maximum goes in.
    let ok = Source {
        total: 2 * CHUNK,
        given: 0,
        fail: false,
    };
    let meta = store
        .put_stream(
            &p("/files/huge"),
            NewMeta::of_type(OCTET_STREAM),
            &mut { ok },
            None,
            &Author::Owner,
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(meta.size, 2 * CHUNK as u64);
}

#[test]
fn a_reader_failing_midway_leaves_nothing() {
    let (_d, store) = memory_store();
    put_bytes(&store, "/files/keep", &pattern(CHUNK + 1, 3)).unwrap();
    let before = count(&store, "SELECT count(*) FROM blob_chunks");
    // Past one whole batch, so a batch was committed before the failure.
    let mut source = Source {
        total: (stream::BATCH + 2) * CHUNK,
        given: 0,
        fail: true,
    };
    let err = store
        .put_stream(
            &p("/files/broken"),
            NewMeta::of_type(OCTET_STREAM),
            &mut source,
            None,
            &Author::Owner,
            &mut |_| {},
        )
        .unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("the disk went away"), "{err}");
    assert_eq!(count(&store, "SELECT count(*) FROM blob_chunks"), before);
    assert_eq!(count(&store, "SELECT count(*) FROM blobs"), 1);
    assert!(matches!(
        store.get(&p("/files/broken"), None),
        Err(Error::NotFound { .. })
    ));
}

#[test]
fn large_json_must_parse_and_nothing_stays_when_it_does_not() {
    let (_d, store) = memory_store();
    let mut valid = b"[".to_vec();
    while valid.len() < CHUNK + 10 {
        valid.extend_from_slice(b"{\"n\": 12345}, ");
    }
    valid.extend_from_slice(b"0]");
    let json = NewMeta::of_type(JSON);
    let put = |bytes: &[u8]| {
        store.put_stream(
            &p("/data/list"),
            json.clone(),
            &mut &bytes[..],
            None,
            &Author::Owner,
            &mut |_| {},
        )
    };
    put(&valid).unwrap();
    let mut invalid = valid.clone();
    invalid.truncate(invalid.len() - 1); // no closing bracket
    let err = put(&invalid).unwrap_err();
    assert!(matches!(err, Error::InvalidContent { .. }), "{err}");
    assert!(err.to_string().contains("not valid JSON"), "{err}");
    assert_eq!(count(&store, "SELECT count(*) FROM blobs"), 1);
    assert_eq!(store.history(&p("/data/list")).unwrap().len(), 1);
}

#[test]
fn the_preference_document_stays_small() {
    let (_d, store) = memory_store();
    let big = format!("{{\"x\": \"{}\"}}", "a".repeat(stream::PREFERENCES_MAX));
    let err = store
        .put_stream(
            &p(crate::data::preferences::COMMUNICATION_PATH),
            NewMeta::of_type(JSON),
            &mut big.as_bytes(),
            None,
            &Author::Owner,
            &mut |_| {},
        )
        .unwrap_err();
    assert!(matches!(err, Error::InvalidContent { .. }), "{err}");
    assert_no_blobs(&store);
}

#[test]
fn sweeping_removes_only_old_staging_blobs() {
    let (_d, store) = memory_store();
    put_bytes(&store, "/files/done", &pattern(CHUNK + 1, 4)).unwrap();
    let stage = |touched: &str| {
        let mut w = blob::BlobWriter::new();
        w.push(&store.conn, &pattern(CHUNK, 6), touched).unwrap();
        w.id().unwrap()
    };
    let old = stage("2026-01-01T00:00:00.000Z");
    let fresh = stage(&store.now());
    assert_eq!(store.sweep_staging().unwrap(), 1);
    let left: Vec<(i64, String)> = store
        .conn
        .prepare("SELECT id, state FROM blobs ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(left.iter().all(|(id, _)| *id != old));
    assert!(left.contains(&(fresh, "staging".into())));
    assert_eq!(count(&store, "SELECT count(*) FROM blob_chunks"), 3);
    assert_eq!(store.sweep_staging().unwrap(), 0);
}

#[test]
fn the_log_does_not_keep_a_large_write_on_disk() {
    let (dir, store) = memory_store();
    put_bytes(&store, "/files/big", &pattern(80 * CHUNK, 8)).unwrap();
    let wal = std::fs::metadata(dir.path().join("t.db-wal")).map_or(0, |m| m.len());
    assert_eq!(wal, 0, "the log is truncated after a large write");
    let limit: i64 = count(&store, "PRAGMA journal_size_limit");
    assert_eq!(limit as u64, crate::vault::db::JOURNAL_SIZE_LIMIT);
}

#[test]
fn a_blob_version_survives_a_bundle_round_trip() {
    let (dir, store) = memory_store();
    let bytes = pattern(2 * CHUNK + 1, 10);
    put_bytes(&store, "/docs/scan", &bytes).unwrap();
    put_bytes(&store, "/docs/copy", &bytes).unwrap();
    let plain = dir.path().join("plain");
    crate::bundle::export_plain(&store, &plain, &mut |_| {}).unwrap();
    let (seal, opener) = {
        let identity = age::x25519::Identity::generate();
        (
            crate::bundle::Seal::Recipient(Box::new(identity.to_public())),
            crate::bundle::Opener::Identity(Box::new(identity)),
        )
    };
    let out = dir.path().join("b.custodian.age");
    crate::bundle::export_bundle(&store, &out, &seal, false, &mut |_| {}).unwrap();
    let (_d2, other) = memory_store();
    crate::bundle::merge_bundle(&other, &out, &opener, &mut |_| {}).unwrap();
    assert_eq!(other.get(&p("/docs/scan"), None).unwrap().content, bytes);
    assert_eq!(other.get(&p("/docs/copy"), None).unwrap().content, bytes);
    assert!(blob_id(&other, "/docs/scan", 1).is_some());
    assert_eq!(
        count(&other, "SELECT count(*) FROM blobs"),
        1,
        "shared again"
    );
}
