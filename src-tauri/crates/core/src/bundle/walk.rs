//! What a vault yields for a bundle, entry by entry in bundle order: the
//! README, each resource version's metadata and content, the preferences,
//! then each table of [`super::tables::TABLES`] as JSON Lines (a plain
//! export leaves out the tables that hold a secret: the pod's key). Versions and
//! tables are read a page at a time (keyset pagination), so memory stays
//! flat however large the vault.

use std::io::{self, Read};

use rusqlite::params;

use super::layout::{self, VersionRecord};
use super::tables::{json_line, Key, PageFn, TABLES};
use super::Counts;
use crate::vault::record::TableRecord;
use crate::vault::store::Store;
use crate::{Error, Result};

/// Versions fetched per query.
const PAGE: i64 = 512;

/// Receives entries in bundle order.
pub(super) trait Sink {
    fn entry(&mut self, name: &str, data: &mut dyn Read) -> Result<()>;
}

/// Every entry after the manifest, in bundle order.
pub(super) fn walk(
    store: &Store,
    vault_id: &str,
    created_at: &str,
    with_secrets: bool,
    sink: &mut dyn Sink,
) -> Result<Counts> {
    let mut counts = Counts::default();
    sink.entry(
        layout::README,
        &mut layout::readme(vault_id, created_at, with_secrets).as_bytes(),
    )?;

    // Resources: each version's metadata, then its content.
    let mut after: Option<(String, u64)> = None;
    loop {
        let page = version_page(store, after.as_ref())?;
        let Some(last) = page.last() else { break };
        after = Some((last.path.as_str().to_string(), last.version));
        for record in page {
            counts.versions += 1;
            if record.live_since.is_some() {
                counts.resources += 1;
            }
            let meta = json_line(&record)?;
            sink.entry(
                &layout::meta_name(&record.path, record.version),
                &mut meta.as_slice(),
            )?;
            if !record.deleted {
                // Inline content is checked against its ETag as it is
                // opened; a blob's chunks as they stream into the bundle.
                let reader = store.open_content(&record.path, Some(record.version))?;
                let mut content = Stashing {
                    inner: reader,
                    error: None,
                };
                let written = sink.entry(
                    &layout::content_name(&record.path, record.version),
                    &mut content,
                );
                if let Some(e) = content.error.take() {
                    return Err(e);
                }
                written?;
                counts.content_bytes += record.size;
            }
        }
    }

    let (prefs, _) = store.communication_preferences()?;
    let prefs = serde_json::to_vec_pretty(&prefs).map_err(|e| Error::Internal(e.to_string()))?;
    sink.entry(layout::PREFERENCES, &mut prefs.as_slice())?;

    for table in TABLES.iter().filter(|t| with_secrets || !t.secret) {
        *(table.counted)(&mut counts) =
            jsonl(store, sink, table.file, (table.first_key)(), table.page)?;
    }
    Ok(counts)
}

fn version_page(store: &Store, after: Option<&(String, u64)>) -> Result<Vec<VersionRecord>> {
    let (path, version) = after.cloned().unwrap_or_default();
    let mut stmt = store.conn.prepare_cached(&VersionRecord::page_sql())?;
    let rows = stmt.query_map(params![path, version, PAGE], VersionRecord::from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Streams a table into one JSON Lines entry, a page at a time.
fn jsonl(
    store: &Store,
    sink: &mut dyn Sink,
    name: &str,
    first_key: Key,
    page: PageFn,
) -> Result<u64> {
    let mut reader = JsonlReader {
        store,
        page,
        after: first_key,
        buf: Vec::new(),
        pos: 0,
        done: false,
        rows: 0,
        error: None,
    };
    let result = sink.entry(name, &mut reader);
    if let Some(e) = reader.error.take() {
        return Err(e);
    }
    result?;
    Ok(reader.rows)
}

/// A version's content on its way into the bundle: damage found mid-read
/// is kept whole (the sink would flatten it into an I/O error).
struct Stashing<R> {
    inner: R,
    error: Option<Error>,
}

impl<R: Read> Read for Stashing<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        self.inner.read(out).map_err(|e| {
            self.error = Some(Error::from_read(e, "reading the vault"));
            io::Error::other("reading the vault")
        })
    }
}

struct JsonlReader<'a> {
    store: &'a Store,
    page: PageFn,
    after: Key,
    buf: Vec<u8>,
    pos: usize,
    done: bool,
    rows: u64,
    /// A database error, kept whole (io::Error would flatten it).
    error: Option<Error>,
}

impl Read for JsonlReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.buf.len() && !self.done {
            self.buf.clear();
            self.pos = 0;
            match (self.page)(self.store, &self.after) {
                Ok(rows) if rows.is_empty() => self.done = true,
                Ok(rows) => {
                    for (key, line) in rows {
                        self.rows += 1;
                        self.after = key;
                        self.buf.extend_from_slice(&line);
                    }
                }
                Err(e) => {
                    self.error = Some(e);
                    return Err(io::Error::other("reading the vault"));
                }
            }
        }
        let n = (self.buf.len() - self.pos).min(out.len());
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}
