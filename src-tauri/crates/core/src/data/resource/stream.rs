//! Writing from a stream ([`Store::put_stream`]): content up to
//! [`INLINE_MAX`] is written inline as [`Store::put_as`] does; larger
//! content is staged as a blob in batches of [`BATCH`] chunks, each read
//! from the caller with no transaction open and then written in a short
//! write transaction of its own (the write lock is never held while the
//! caller is slow, nor for the whole file), then one
//! final transaction checks it (JSON types must parse, read back from the
//! staged chunks by a streaming parser), shares an identical complete blob
//! if there is one, marks it complete and writes the version exactly as
//! every write does. Any failure (a read error, a full disk, content over
//! the maximum, bad JSON) removes the staged blob: the vault is as it was.
//! After a large write the write-ahead log is checkpointed and truncated
//! (best effort).

use std::io::{BufReader, Read};

use crate::data::path::PodPath;
use crate::data::preferences::COMMUNICATION_PATH;
use crate::vault::store::Store;
use crate::{Error, Result};

use super::blob::{self, fill, BlobWriter, Chunks};
use super::content::{check_content_type, etag_hasher, finish_etag, is_json_type};
use super::write::Body;
use super::*;

/// Chunks read from the caller, then written in one short write
/// transaction, while staging (8 MiB: the memory a large write holds).
pub const BATCH: usize = 8;

/// The preference document is small: its path refuses more than this.
pub const PREFERENCES_MAX: usize = 64 * 1024;

/// A write at least this large checkpoints and truncates the log after.
const CHECKPOINT_AFTER: u64 = 16 << 20;

impl Store {
    /// Streams `reader` into the resource at `path`. `len`, when known up
    /// front (a file, a `Content-Length`), is checked against the maximum
    /// ([`MAX_CONTENT`]) before anything is read or written; a stream that
    /// passes it midway is stopped and nothing stays. `progress` is called
    /// with the bytes stored so far (at most once per chunk: once
    /// per batch for large content). Writing the
    /// same content and metadata again changes nothing.
    pub fn put_stream(
        &self,
        path: &PodPath,
        meta: NewMeta,
        reader: &mut dyn Read,
        len: Option<u64>,
        author: &Author,
        progress: &mut dyn FnMut(u64),
    ) -> Result<ResourceMeta> {
        self.put_stream_if(path, meta, reader, len, author, progress, &mut |_| Ok(true))?
            .ok_or_else(|| Error::Internal("a write without a condition was refused".into()))
    }

    /// [`Store::put_stream`], asking `still_allowed` inside the write
    /// transaction that writes the version, just before it is written (a
    /// long upload's grant may have changed since it began): when it
    /// answers `false` the staged content is removed, nothing is written
    /// and the answer is `None`.
    #[allow(clippy::too_many_arguments)]
    pub fn put_stream_if(
        &self,
        path: &PodPath,
        meta: NewMeta,
        reader: &mut dyn Read,
        len: Option<u64>,
        author: &Author,
        progress: &mut dyn FnMut(u64),
        still_allowed: &mut dyn FnMut(&Store) -> Result<bool>,
    ) -> Result<Option<ResourceMeta>> {
        if path.is_container() {
            return Err(Error::IsContainer {
                path: path.to_string(),
                what: "a resource path must not end in /",
            });
        }
        check_content_type(path, &meta.content_type)?;
        let too_large = |size: Option<u64>| Error::TooLarge {
            path: path.to_string(),
            size,
            max: self.max_content,
        };
        if let Some(len) = len.filter(|&len| len > self.max_content) {
            return Err(too_large(Some(len)));
        }
        let reading = || format!("reading the content for {path}");
        let small_limit = if path.as_str() == COMMUNICATION_PATH {
            PREFERENCES_MAX
        } else {
            INLINE_MAX
        };
        let mut head = Vec::new();
        (&mut *reader)
            .take(small_limit as u64 + 1)
            .read_to_end(&mut head)
            .map_err(|e| Error::from_read(e, reading()))?;
        if head.len() as u64 > self.max_content {
            return Err(too_large(len));
        }
        if head.len() <= small_limit {
            let size = head.len() as u64;
            // The check and the write in one transaction (`put_as` joins it).
            let tx = if self.conn.is_autocommit() {
                Some(self.write_tx()?)
            } else {
                None
            };
            if !still_allowed(self)? {
                return Ok(None);
            }
            let written = self.put_as(
                path,
                NewResource {
                    content: head,
                    content_type: meta.content_type,
                    category: meta.category,
                    mark: meta.mark,
                },
                author,
            )?;
            if let Some(tx) = tx {
                tx.commit()?;
            }
            progress(size);
            return Ok(Some(written));
        }
        if small_limit == PREFERENCES_MAX {
            return Err(Error::InvalidContent {
                path: path.to_string(),
                reason: format!("the preference document is at most {PREFERENCES_MAX} bytes"),
            });
        }
        let mut rest = (&head[..]).chain(reader);
        let own = self.conn.is_autocommit();
        let mut writer = BlobWriter::new();
        let result = self.write_blob_version(
            path,
            &meta,
            &mut rest,
            author,
            own,
            &mut writer,
            progress,
            still_allowed,
        );
        if !matches!(result, Ok(Some(_))) {
            blob::discard_staged(self, writer.kept_id().as_slice());
        }
        let written = result?;
        if own && written.as_ref().is_some_and(|w| w.size >= CHECKPOINT_AFTER) {
            self.truncate_wal();
        }
        Ok(written)
    }

    #[allow(clippy::too_many_arguments)]
    fn write_blob_version(
        &self,
        path: &PodPath,
        meta: &NewMeta,
        reader: &mut dyn Read,
        author: &Author,
        own: bool,
        writer: &mut BlobWriter,
        progress: &mut dyn FnMut(u64),
        still_allowed: &mut dyn FnMut(&Store) -> Result<bool>,
    ) -> Result<Option<ResourceMeta>> {
        let mut etag = etag_hasher(&meta.content_type);
        self.stage(path, reader, own, writer, Some(&mut etag), &mut |size| {
            progress(size);
            Ok(())
        })?;
        let id = writer
            .id()
            .ok_or_else(|| Error::Internal("a large write staged nothing".into()))?;
        if is_json_type(&meta.content_type) {
            let staged = Chunks::new(&self.conn, id, writer.size(), format!("{path} (staged)"));
            serde_json::from_reader::<_, serde::de::IgnoredAny>(BufReader::with_capacity(
                64 * 1024,
                staged,
            ))
            .map_err(|e| {
                if e.is_io() {
                    Error::from_read(e.into(), format!("checking {path}"))
                } else {
                    Error::InvalidContent {
                        path: path.to_string(),
                        reason: format!("not valid JSON ({e})"),
                    }
                }
            })?;
        }
        let tx = if own { Some(self.write_tx()?) } else { None };
        if !still_allowed(self)? {
            return Ok(None);
        }
        let blob = writer.complete(&self.conn, &self.now())?;
        let written = self.write_version(
            path,
            meta,
            Body::Blob {
                id: blob.id,
                size: blob.size,
                etag: finish_etag(etag),
            },
            author,
        )?;
        // Nothing changed (the same content was already live inline).
        blob::drop_if_unused(&self.conn, blob.id)?;
        if let Some(tx) = tx {
            tx.commit()?;
        }
        Ok(Some(written))
    }

    /// Writes the stream into `writer`'s staging blob: reads up to
    /// [`BATCH`] chunks from the caller with no transaction open (a slow
    /// network body or stdin never holds the vault's write lock), then
    /// writes them and touches the blob in one short transaction (its own
    /// when `own`, else the caller's, whose content is already in memory).
    /// `etag`, when given, is fed every byte; `after_batch` is called with
    /// the bytes staged so far once each batch is kept (committed), and
    /// its error stops the staging. A bundle merge stages the content it
    /// will add the same way (`bundle::staging`).
    pub(crate) fn stage(
        &self,
        path: &PodPath,
        reader: &mut dyn Read,
        own: bool,
        writer: &mut BlobWriter,
        mut etag: Option<&mut sha2::Sha256>,
        after_batch: &mut dyn FnMut(u64) -> Result<()>,
    ) -> Result<()> {
        let mut buf = vec![0u8; BATCH * CHUNK];
        loop {
            let n = fill(reader, &mut buf)
                .map_err(|e| Error::from_read(e, format!("reading the content for {path}")))?;
            if n == 0 {
                break;
            }
            if writer.size() + n as u64 > self.max_content {
                return Err(Error::TooLarge {
                    path: path.to_string(),
                    size: None,
                    max: self.max_content,
                });
            }
            let tx = if own { Some(self.write_tx()?) } else { None };
            let now = self.now();
            let written = self.write_batch(writer, &buf[..n], etag.as_deref_mut(), &now);
            match tx {
                Some(tx) => {
                    written?;
                    tx.commit()?;
                }
                None => {
                    // Even a failed batch left the row in the caller's
                    // transaction, which the discard joins.
                    writer.mark_kept();
                    written?;
                }
            }
            writer.mark_kept();
            after_batch(writer.size())?;
            if n < buf.len() {
                break;
            }
        }
        Ok(())
    }

    /// Writes one batch's chunks into `writer`'s blob and touches it.
    fn write_batch(
        &self,
        writer: &mut BlobWriter,
        batch: &[u8],
        mut etag: Option<&mut sha2::Sha256>,
        now: &str,
    ) -> Result<()> {
        use sha2::Digest;
        for chunk in batch.chunks(CHUNK) {
            writer.push(&self.conn, chunk, now)?;
            if let Some(etag) = etag.as_deref_mut() {
                etag.update(chunk);
            }
        }
        writer.touch(&self.conn, now)
    }

    /// Copies the log into the database and truncates it to nothing, so a
    /// large write does not keep its size on disk beside the database.
    /// Best effort: a busy reader just means later (the log is then cut
    /// back to `journal_size_limit` when it next restarts).
    pub(crate) fn truncate_wal(&self) {
        let done = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                r.get::<_, i64>(0)
            });
        if let Err(e) = done {
            tracing::debug!(error = %e, "the log could not be truncated now");
        }
    }
}
