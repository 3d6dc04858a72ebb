//! The chunk store: content larger than [`INLINE_MAX`] is a blob of
//! [`CHUNK`]-sized rows in `blob_chunks` (the last one shorter), each with
//! its own SHA-256, and reading it back a chunk at a time, each chunk
//! checked as it is read ([`ContentReader`]).
//!
//! A blob is written as `staging` ([`BlobWriter`]) and marked `complete`
//! in the transaction that writes the version naming it; a complete blob
//! with the same SHA-256 is shared instead (identical content is stored
//! once). What writes the batches and when is the caller's
//! (`super::stream`, and a bundle merge's first pass, `bundle::staging`).
//! A failed write removes what it staged (`discard_staged`): only the
//! blobs whose batches were kept (`BlobWriter::kept_id`), since a row
//! whose batch rolled back may be another writer's by then; a staging
//! blob left by a crash is removed by [`Store::sweep_staging`].

use std::io::{self, Read};

use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};

use crate::vault::store::Store;
use crate::{Error, Result};

use super::*;

/// A staging blob untouched this long was left by a crash (a writer
/// touches its blob at every batch, far more often than this).
pub const STAGING_STALE_SECONDS: i64 = 3600;

/// A complete blob: its row id and its size in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BlobRef {
    pub id: i64,
    pub size: u64,
}

/// A new blob being written, one chunk at a time, as `staging`.
pub(crate) struct BlobWriter {
    id: Option<i64>,
    /// Whether the row `id` names is known to be this writer's: its batch
    /// committed (or it lives in the caller's transaction, still open).
    /// A row whose batch rolled back may be another writer's by now.
    kept: bool,
    seq: i64,
    size: u64,
    whole: Sha256,
}

impl BlobWriter {
    pub(crate) fn new() -> Self {
        BlobWriter {
            id: None,
            kept: false,
            seq: 0,
            size: 0,
            whole: Sha256::new(),
        }
    }

    /// The staging blob's row, once its first chunk is written.
    pub(crate) fn id(&self) -> Option<i64> {
        self.id
    }

    /// The staging blob's row, once a batch holding it was kept
    /// ([`BlobWriter::mark_kept`]): the only id a failed write may delete. A
    /// row inserted by a batch that rolled back is gone, and SQLite may
    /// give its id to the next blob another writer stages.
    pub(crate) fn kept_id(&self) -> Option<i64> {
        self.id.filter(|_| self.kept)
    }

    /// Records that the batch just written is kept: committed, or written
    /// in the caller's transaction, which is still open.
    pub(crate) fn mark_kept(&mut self) {
        self.kept = self.id.is_some();
    }

    /// Bytes written so far.
    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    fn ensure_row(&mut self, conn: &Connection, now: &str) -> Result<i64> {
        if let Some(id) = self.id {
            return Ok(id);
        }
        conn.prepare_cached(
            "INSERT INTO blobs (sha256, size, state, touched_at) VALUES (NULL, 0, 'staging', ?1)",
        )?
        .execute([now])?;
        let id = conn.last_insert_rowid();
        self.id = Some(id);
        Ok(id)
    }

    /// Appends one chunk (at most [`CHUNK`] bytes; only the last may be
    /// shorter), creating the staging blob with the first.
    pub(crate) fn push(&mut self, conn: &Connection, data: &[u8], now: &str) -> Result<()> {
        let id = self.ensure_row(conn, now)?;
        let digest = Sha256::digest(data);
        let added = conn
            .prepare_cached(
                "INSERT INTO blob_chunks (blob_id, seq, sha256, data)
                 SELECT ?1, ?2, ?3, ?4 WHERE EXISTS
                     (SELECT 1 FROM blobs WHERE id = ?1 AND state = 'staging')",
            )?
            .execute(params![id, self.seq, digest.as_slice(), data])?;
        still_staging(added, id)?;
        self.whole.update(data);
        self.seq += 1;
        self.size += data.len() as u64;
        Ok(())
    }

    /// Records the size so far and that the writer is alive (each batch),
    /// so [`Store::sweep_staging`] leaves the blob alone.
    pub(crate) fn touch(&self, conn: &Connection, now: &str) -> Result<()> {
        if let Some(id) = self.id {
            let changed = conn
                .prepare_cached(
                    "UPDATE blobs SET size = ?2, touched_at = ?3
                     WHERE id = ?1 AND state = 'staging'",
                )?
                .execute(params![id, self.size, now])?;
            still_staging(changed, id)?;
        }
        Ok(())
    }

    /// Marks the blob complete, or, when a complete blob holds the same
    /// bytes, drops this one and returns that one (identical content is
    /// stored once). Inside the caller's write transaction.
    pub(crate) fn complete(&mut self, conn: &Connection, now: &str) -> Result<BlobRef> {
        let id = self.ensure_row(conn, now)?;
        let sha = self.whole.clone().finalize();
        if let Some(existing) = complete_with(conn, &sha.into())? {
            still_staging(delete_staging(conn, id)?, id)?;
            return Ok(existing);
        }
        let changed = conn
            .prepare_cached(
                "UPDATE blobs SET sha256 = ?2, size = ?3, state = 'complete', touched_at = ?4
                 WHERE id = ?1 AND state = 'staging'",
            )?
            .execute(params![id, sha.as_slice(), self.size, now])?;
        still_staging(changed, id)?;
        Ok(BlobRef {
            id,
            size: self.size,
        })
    }
}

/// The complete blob whose content has this SHA-256, if one is stored
/// (identical content is stored once: a new copy shares it).
pub(crate) fn complete_with(conn: &Connection, sha256: &[u8; 32]) -> Result<Option<BlobRef>> {
    Ok(conn
        .prepare_cached("SELECT id, size FROM blobs WHERE sha256 = ?1 AND state = 'complete'")?
        .query_row([sha256.as_slice()], |r| {
            Ok(BlobRef {
                id: r.get(0)?,
                size: r.get(1)?,
            })
        })
        .optional()?)
}

/// Fails unless exactly one staging row changed: a writer whose staging
/// blob was swept (untouched for [`STAGING_STALE_SECONDS`]) stops there and
/// stores nothing.
fn still_staging(changed: usize, id: i64) -> Result<()> {
    if changed == 1 {
        return Ok(());
    }
    Err(Error::Io {
        context: format!("writing large content (staged blob {id})"),
        source: io::Error::new(
            io::ErrorKind::TimedOut,
            "the staged content was removed after an hour without progress; nothing was stored",
        ),
    })
}

/// Removes a writer's own staging blob and its chunks (never a complete
/// one); returns how many blobs were removed (0 or 1).
pub(crate) fn delete_staging(conn: &Connection, id: i64) -> Result<usize> {
    conn.prepare_cached(
        "DELETE FROM blob_chunks WHERE blob_id = ?1
         AND EXISTS (SELECT 1 FROM blobs WHERE id = ?1 AND state = 'staging')",
    )?
    .execute([id])?;
    Ok(conn
        .prepare_cached("DELETE FROM blobs WHERE id = ?1 AND state = 'staging'")?
        .execute([id])?)
}

/// Removes a failed write's staging blobs (those its writers kept, see
/// [`BlobWriter::kept_id`]): in the caller's transaction when one is
/// open, else in one of its own, after which the log is truncated. Best
/// effort: what cannot be removed now (a disk too full even for that) is
/// swept later ([`Store::sweep_staging`]).
pub(crate) fn discard_staged(store: &Store, ids: &[i64]) {
    if ids.is_empty() {
        return;
    }
    let own = store.conn.is_autocommit();
    let delete_all = |conn: &Connection| -> Result<()> {
        for id in ids {
            delete_staging(conn, *id)?;
        }
        Ok(())
    };
    let removed = if own {
        store.write_tx().and_then(|tx| {
            delete_all(&tx)?;
            Ok(tx.commit()?)
        })
    } else {
        delete_all(&store.conn)
    };
    if let Err(e) = removed {
        tracing::warn!(error = %e, "could not remove a failed write's staged content");
    }
    if own {
        store.truncate_wal();
    }
}

/// Removes a blob and its chunks.
pub(crate) fn delete_blob(conn: &Connection, id: i64) -> Result<()> {
    conn.prepare_cached("DELETE FROM blob_chunks WHERE blob_id = ?1")?
        .execute([id])?;
    conn.prepare_cached("DELETE FROM blobs WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

/// Removes a complete blob no version names (a write that changed
/// nothing after all).
pub(crate) fn drop_if_unused(conn: &Connection, id: i64) -> Result<()> {
    let used: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM resource_versions WHERE blob_id = ?1)")?
        .query_row([id], |r| r.get(0))?;
    if !used {
        delete_blob(conn, id)?;
    }
    Ok(())
}

/// Reads `reader` to its end into a complete blob, inside the caller's
/// write transaction (an import). Memory holds one chunk.
pub(crate) fn write_blob(conn: &Connection, reader: &mut dyn Read, now: &str) -> Result<BlobRef> {
    let mut writer = BlobWriter::new();
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = fill(reader, &mut buf).map_err(|e| Error::from_read(e, "reading content"))?;
        if n == 0 {
            break;
        }
        writer.push(conn, &buf[..n], now)?;
        if n < CHUNK {
            break;
        }
    }
    writer.complete(conn, now)
}

/// Reads until `buf` is full or the reader ends; returns the bytes read.
pub(crate) fn fill(reader: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

impl Store {
    /// Removes the staging blobs a crashed write left behind: those
    /// untouched for [`STAGING_STALE_SECONDS`] (a live writer touches its
    /// own at every batch). Returns how many were removed.
    pub fn sweep_staging(&self) -> Result<u64> {
        let cutoff = crate::clock::format_time(
            self.clock.now() - chrono::Duration::seconds(STAGING_STALE_SECONDS),
        );
        // Most opens find nothing: asked first without the write lock, so
        // opening never waits for a busy writer.
        let any: bool = self
            .conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM blobs WHERE state = 'staging' AND touched_at < ?1)",
            )?
            .query_row([&cutoff], |r| r.get(0))?;
        if !any {
            return Ok(0);
        }
        let tx = self.write_tx()?;
        let stale: Vec<i64> = tx
            .prepare("SELECT id FROM blobs WHERE state = 'staging' AND touched_at < ?1")?
            .query_map([&cutoff], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for id in &stale {
            delete_blob(&tx, *id)?;
        }
        tx.commit()?;
        Ok(stale.len() as u64)
    }
}

fn damaged(what: &str, why: &str) -> Error {
    Error::DatabaseDamaged {
        path: std::path::PathBuf::from(crate::vault::DB_FILE),
        reason: format!("{what} {why}"),
    }
}

fn io_error(e: Error) -> io::Error {
    io::Error::other(e)
}

/// A blob's bytes from `pos` up to `end`, a chunk at a time, each chunk
/// checked against its SHA-256 and its expected length.
pub(crate) struct Chunks<'a> {
    conn: &'a Connection,
    blob: i64,
    size: u64,
    pos: u64,
    end: u64,
    buf: Vec<u8>,
    buf_seq: Option<u64>,
    /// What the bytes are, for messages ("/a version 2").
    what: String,
}

impl<'a> Chunks<'a> {
    pub(crate) fn new(conn: &'a Connection, blob: i64, size: u64, what: String) -> Self {
        Chunks {
            conn,
            blob,
            size,
            pos: 0,
            end: size,
            buf: Vec::new(),
            buf_seq: None,
            what,
        }
    }

    fn load(&mut self, seq: u64) -> Result<()> {
        let expected = (self.size - seq * CHUNK as u64).min(CHUNK as u64) as usize;
        self.buf.clear();
        self.buf_seq = None;
        let mut stmt = self.conn.prepare_cached(
            "SELECT sha256, data FROM blob_chunks WHERE blob_id = ?1 AND seq = ?2",
        )?;
        let mut rows = stmt.query(params![self.blob, seq])?;
        let Some(row) = rows.next()? else {
            return Err(damaged(&self.what, &format!("has lost chunk {seq}")));
        };
        let sha = row.get_ref(0)?.as_blob().map_err(rusqlite::Error::from)?;
        let data = row.get_ref(1)?.as_blob().map_err(rusqlite::Error::from)?;
        if data.len() != expected || Sha256::digest(data).as_slice() != sha {
            return Err(damaged(
                &self.what,
                &format!("reads back different from what was written (chunk {seq})"),
            ));
        }
        self.buf.extend_from_slice(data);
        self.buf_seq = Some(seq);
        Ok(())
    }

    fn read_into(&mut self, out: &mut [u8]) -> Result<usize> {
        if self.pos >= self.end || out.is_empty() {
            return Ok(0);
        }
        let seq = self.pos / CHUNK as u64;
        if self.buf_seq != Some(seq) {
            self.load(seq)?;
        }
        let offset = (self.pos - seq * CHUNK as u64) as usize;
        let n = (self.buf.len() - offset)
            .min(out.len())
            .min((self.end - self.pos) as usize);
        out[..n].copy_from_slice(&self.buf[offset..offset + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Read for Chunks<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        self.read_into(out).map_err(io_error)
    }
}

enum Source<'a> {
    /// Inline content, checked against its ETag when it was read.
    Inline {
        bytes: Vec<u8>,
        pos: usize,
        end: usize,
    },
    Blob(Chunks<'a>),
}

/// A resource's bytes, read a chunk at a time (inline content is one
/// small piece). Each chunk is checked against its SHA-256 as it is read,
/// and a whole read from the start against the ETag at its end; a mismatch
/// is an [`io::Error`] whose inner error is [`Error::DatabaseDamaged`]
/// ([`Error::from_read`] gets it back).
pub struct ContentReader<'a> {
    meta: ResourceMeta,
    source: Source<'a>,
    /// The ETag computed so far, while the read runs whole from the start.
    etag: Option<Sha256>,
}

impl<'a> ContentReader<'a> {
    pub(crate) fn inline(meta: ResourceMeta, bytes: Vec<u8>) -> Self {
        let end = bytes.len();
        ContentReader {
            meta,
            source: Source::Inline { bytes, pos: 0, end },
            etag: None,
        }
    }

    pub(crate) fn blob(conn: &'a Connection, meta: ResourceMeta, blob: i64) -> Self {
        let what = format!("{} version {}", meta.path, meta.version);
        let etag = super::content::etag_hasher(&meta.content_type);
        ContentReader {
            source: Source::Blob(Chunks::new(conn, blob, meta.size, what)),
            meta,
            etag: Some(etag),
        }
    }

    /// The metadata of the version being read.
    pub fn meta(&self) -> &ResourceMeta {
        &self.meta
    }

    /// Whether the content is a blob (larger than [`INLINE_MAX`]).
    pub fn is_blob(&self) -> bool {
        matches!(self.source, Source::Blob(_))
    }

    /// Moves to `offset` (at most the size); reading goes on from there
    /// to the end of the range. The ETag is then not checked at the end
    /// (each chunk still is).
    pub fn seek_to(&mut self, offset: u64) {
        self.etag = None;
        match &mut self.source {
            Source::Inline { bytes, pos, .. } => {
                *pos = offset.min(bytes.len() as u64) as usize;
            }
            Source::Blob(chunks) => chunks.pos = offset.min(chunks.size),
        }
    }

    /// Only bytes `start..=end_inclusive` (an HTTP `Range`), clamped to the
    /// content: what is left to read is [`ContentReader::remaining`].
    pub fn range(mut self, start: u64, end_inclusive: u64) -> Self {
        self.seek_to(start);
        let end = end_inclusive.saturating_add(1);
        match &mut self.source {
            Source::Inline { bytes, end: e, pos } => {
                *e = (end.min(bytes.len() as u64) as usize).max(*pos);
            }
            Source::Blob(chunks) => chunks.end = end.min(chunks.size).max(chunks.pos),
        }
        self
    }

    /// Bytes left to read.
    pub fn remaining(&self) -> u64 {
        match &self.source {
            Source::Inline { pos, end, .. } => (end - pos) as u64,
            Source::Blob(chunks) => chunks.end - chunks.pos,
        }
    }

    /// Reads the rest into memory: for content known to be small.
    pub fn into_bytes(mut self) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(self.remaining().min(1 << 30) as usize);
        let what = format!("reading {}", self.meta.path);
        self.read_to_end(&mut out)
            .map_err(|e| Error::from_read(e, what))?;
        Ok(out)
    }
}

impl Read for ContentReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = match &mut self.source {
            Source::Inline { bytes, pos, end } => {
                let n = (*end - *pos).min(out.len());
                out[..n].copy_from_slice(&bytes[*pos..*pos + n]);
                *pos += n;
                n
            }
            Source::Blob(chunks) => chunks.read_into(out).map_err(io_error)?,
        };
        if let Some(h) = &mut self.etag {
            if n > 0 {
                h.update(&out[..n]);
            } else if !out.is_empty() {
                let h = self.etag.take().unwrap_or_default();
                if super::content::finish_etag(h) != self.meta.etag {
                    return Err(io_error(damaged(
                        &format!("{} version {}", self.meta.path, self.meta.version),
                        "reads back different from what was written",
                    )));
                }
            }
        }
        Ok(n)
    }
}
