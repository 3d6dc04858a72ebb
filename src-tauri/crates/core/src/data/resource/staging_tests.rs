//! Staging a large write beside other writers: the caller is never read
//! while the write lock is held, and a writer whose staging blob was swept
//! stops cleanly without touching anyone else's blob, nor does a writer
//! whose first batch rolled back.

use std::io::{self, Read};
use std::sync::{mpsc, Arc};

use super::*;
use crate::clock::ManualClock;
use crate::testing::{allow_inserts, refuse_inserts, two_stores, Meanwhile};
use crate::Error;

fn p(s: &str) -> PodPath {
    PodPath::parse(s).unwrap()
}

/// Bytes arriving in pieces over a channel, blocking in between (a slow
/// upload); the stream ends when the sender is dropped.
struct Trickle {
    pieces: mpsc::Receiver<Vec<u8>>,
    piece: Vec<u8>,
    pos: usize,
}

impl Read for Trickle {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.piece.len() {
            match self.pieces.recv() {
                Ok(piece) => {
                    self.piece = piece;
                    self.pos = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = (self.piece.len() - self.pos).min(out.len());
        out[..n].copy_from_slice(&self.piece[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[test]
fn a_slow_upload_never_holds_the_write_lock() {
    let (_d, writer, other) = two_stores();
    other
        .conn
        .execute_batch("PRAGMA busy_timeout = 100")
        .unwrap();
    let (send, pieces) = mpsc::sync_channel::<Vec<u8>>(0);
    let upload = std::thread::spawn(move || {
        let mut reader = Trickle {
            pieces,
            piece: Vec::new(),
            pos: 0,
        };
        writer.put_stream(
            &p("/files/slow"),
            NewMeta::of_type(OCTET_STREAM),
            &mut reader,
            None,
            &Author::Owner,
            &mut |_| {},
        )
    });
    // Once the third piece is taken, the writer has had more than its first
    // whole chunk and waits on the caller for more.
    for _ in 0..3 {
        send.send(vec![7u8; CHUNK]).unwrap();
    }
    let meanwhile = other.put(
        &p("/notes/meanwhile"),
        NewResource::json(&serde_json::json!({"written": "during the upload"})),
    );
    drop(send);
    let uploaded = upload.join().unwrap().unwrap();
    meanwhile.expect("another writer is not locked out by a slow upload");
    assert_eq!(uploaded.size, 3 * CHUNK as u64);
}

#[test]
fn a_writer_whose_staging_blob_was_swept_stops_and_touches_no_other_blob() {
    let (_d, mut writer, mut other) = two_stores();
    let clock = ManualClock::new(chrono::Utc::now());
    writer.set_clock(Arc::new(clock.clone()));
    other.set_clock(Arc::new(clock.clone()));
    let mut theirs = None;
    let hook = || {
        // The writer seems gone for two hours: its blob is swept, and a new
        // writer starts a blob of its own.
        clock.advance(chrono::Duration::hours(2));
        assert_eq!(other.sweep_staging().unwrap(), 1);
        let mut w = blob::BlobWriter::new();
        w.push(&other.conn, &[9u8; 1000], &other.now()).unwrap();
        w.touch(&other.conn, &other.now()).unwrap();
        theirs = w.id();
    };
    // The hook borrows `theirs` until the reader is gone.
    let err = {
        let mut reader = Meanwhile::new(
            stream::BATCH * CHUNK + CHUNK + 5,
            stream::BATCH * CHUNK,
            hook,
        );
        writer
            .put_stream(
                &p("/files/swept"),
                NewMeta::of_type(OCTET_STREAM),
                &mut reader,
                None,
                &Author::Owner,
                &mut |_| {},
            )
            .unwrap_err()
    };
    assert!(err.to_string().contains("removed after an hour"), "{err}");
    assert!(matches!(
        writer.get(&p("/files/swept"), None),
        Err(Error::NotFound { .. })
    ));
    let theirs = theirs.expect("the hook ran");
    let (state, chunks, size): (String, i64, i64) = writer
        .conn
        .query_row(
            "SELECT state, (SELECT count(*) FROM blob_chunks WHERE blob_id = ?1),
                    (SELECT sum(length(data)) FROM blob_chunks WHERE blob_id = ?1)
             FROM blobs WHERE id = ?1",
            [theirs],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!((state.as_str(), chunks, size), ("staging", 1, 1000));
    let blobs: i64 = writer
        .conn
        .query_row("SELECT count(*) FROM blobs", [], |r| r.get(0))
        .unwrap();
    assert_eq!(blobs, 1, "only the other writer's blob is left");
}

/// A first batch that rolls back takes its blob's row with it, and SQLite
/// may give that row's id to the next blob staged (here, another writer's):
/// a failed write then drops only the blobs whose batches were kept.
#[test]
fn a_write_whose_first_batch_rolled_back_drops_no_other_writers_blob() {
    let (_d, writer, other) = two_stores();
    refuse_inserts(&writer, "blob_chunks");
    let mut mine = blob::BlobWriter::new();
    let mut content = io::repeat(7).take((stream::BATCH * CHUNK + 5) as u64);
    let err = writer
        .stage(
            &p("/files/mine"),
            &mut content,
            true,
            &mut mine,
            None,
            &mut |_| Ok(()),
        )
        .unwrap_err();
    assert!(err.to_string().contains("blob_chunks full"), "{err}");
    allow_inserts(&writer, "blob_chunks");
    let mut theirs = blob::BlobWriter::new();
    theirs
        .push(&other.conn, &[9u8; 1000], &other.now())
        .unwrap();
    theirs.touch(&other.conn, &other.now()).unwrap();
    assert_eq!(theirs.id(), mine.id(), "the id rolled back is given again");
    blob::discard_staged(&writer, mine.kept_id().as_slice());
    let left: Vec<(i64, String)> = writer
        .conn
        .prepare("SELECT id, state FROM blobs")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(left, vec![(theirs.id().unwrap(), "staging".to_string())]);
}
