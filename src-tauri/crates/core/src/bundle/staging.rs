//! A merge's large content, staged before its one transaction, so the
//! write-ahead log stays near one batch of chunks instead of growing to
//! the size of everything the merge adds.
//!
//! A bundle gives a version's metadata just before its content, and the
//! rows a merge writes (versions, companies, grants, the log entry) must
//! go in one transaction, which cannot be open while content is staged in
//! short transactions of its own. So the merge's first pass, which checks
//! every entry against the manifest, also stages: each content entry over
//! `INLINE_MAX` of a resource absent here streams into a staging blob in
//! committed batches, exactly as [`Store::put_stream`] stages (the same
//! `stage`, checked by [`CheckedContent`] against the manifest's size and
//! SHA-256 and the metadata's ETag as it goes). Content already stored
//! here (a complete blob with the same SHA-256) or already staged by this
//! merge is not staged again. The second pass, inside the merge's one
//! transaction, decides again what is added and [`Staged::attach`]es the
//! staged blobs (marked complete, or dropped for an identical complete
//! one, as `put_stream` does); what it did not use is dropped in that
//! transaction. When the merge fails, everything it staged is dropped
//! before the error returns ([`Staged::discard`]); the hour's
//! [`Store::sweep_staging`] is the backstop for a killed process. Memory
//! holds one batch of content, plus a small record per staged blob.

use std::collections::HashMap;
use std::path::Path;

use super::content::CheckedContent;
use super::export::HashingReader;
use super::import::{inspect_each, Checked};
use super::layout::{self, VersionRecord};
use super::reader::{check_digest, Ctx};
use super::tables::parse_record;
use super::{read_limited, ManifestEntry, Opener, Progress};
use crate::data::resource::blob::{self, BlobRef, BlobWriter, STAGING_STALE_SECONDS};
use crate::data::resource::INLINE_MAX;
use crate::vault::store::Store;
use crate::Result;

/// The blobs a merge staged.
#[derive(Default)]
pub(super) struct Staged {
    /// Staged content not attached yet, by its SHA-256 (content twice in a
    /// bundle is staged once).
    waiting: HashMap<[u8; 32], BlobWriter>,
    /// Every blob this merge staged, to drop them all when it fails.
    ids: Vec<i64>,
}

impl Staged {
    /// The blob holding an added version's content (whose SHA-256 the
    /// manifest gives): the one staged for it, now marked complete (or
    /// dropped for an identical complete one), else an identical complete
    /// one already stored. `None` when there is neither (the vault changed
    /// between the passes): the caller writes the content itself. Inside
    /// the merge's transaction.
    pub(super) fn attach(&mut self, store: &Store, sha256: &[u8; 32]) -> Result<Option<BlobRef>> {
        if let Some(mut writer) = self.waiting.remove(sha256) {
            return writer.complete(&store.conn, &store.now()).map(Some);
        }
        blob::complete_with(&store.conn, sha256)
    }

    /// Drops what was staged and not attached (a resource written here
    /// between the passes), inside the merge's transaction.
    pub(super) fn drop_unused(&mut self, store: &Store) -> Result<()> {
        for (_, writer) in self.waiting.drain() {
            if let Some(id) = writer.id() {
                blob::delete_staging(&store.conn, id)?;
            }
        }
        Ok(())
    }

    /// Drops everything this merge staged (it failed; its transaction, if
    /// it began, rolled back), then truncates the log. Best effort: what
    /// cannot be removed now (a disk too full even for that) is swept
    /// later.
    pub(super) fn discard(&self, store: &Store) {
        if self.ids.is_empty() {
            return;
        }
        let removed = in_own_tx(store, |store| {
            for id in &self.ids {
                blob::delete_staging(&store.conn, *id)?;
            }
            Ok(())
        });
        if let Err(e) = removed {
            tracing::warn!(error = %e, "could not remove a failed merge's staged content");
        }
        store.truncate_wal();
    }
}

/// Runs `work` in a write transaction of its own, or in the caller's when
/// one is open.
fn in_own_tx(store: &Store, work: impl FnOnce(&Store) -> Result<()>) -> Result<()> {
    if !store.conn.is_autocommit() {
        return work(store);
    }
    let tx = store.write_tx()?;
    work(store)?;
    Ok(tx.commit()?)
}

/// A merge's first pass: checks the bundle as [`super::import::inspect`]
/// does and stages the large content the merge will add. On failure,
/// whatever it staged is dropped before the error returns.
pub(super) fn check_and_stage(
    store: &Store,
    bundle: &Path,
    opener: &Opener,
    progress: &mut dyn FnMut(&Progress),
) -> Result<(Checked, Staged)> {
    let mut pass = FirstPass {
        store,
        staged: Staged::default(),
        pending: None,
        here: None,
        touched: store.clock.now(),
    };
    let checked = inspect_each(bundle, opener, progress, &mut |ctx, expected, data| {
        pass.entry(ctx, expected, data)
    });
    match checked {
        Ok(checked) => Ok((checked, pass.staged)),
        Err(e) => {
            pass.staged.discard(store);
            Err(e)
        }
    }
}

struct FirstPass<'s> {
    store: &'s Store,
    staged: Staged,
    /// The version whose metadata came just before (its content is next).
    pending: Option<VersionRecord>,
    /// The path seen last and whether it is absent here.
    here: Option<(String, bool)>,
    /// When the staged blobs were last touched.
    touched: chrono::DateTime<chrono::Utc>,
}

impl FirstPass<'_> {
    fn entry(
        &mut self,
        ctx: &Ctx,
        expected: &ManifestEntry,
        mut data: HashingReader<'_>,
    ) -> Result<()> {
        self.keep_alive()?;
        let name = expected.name.as_str();
        if let Some(record) = self.pending.take() {
            // What the second pass refuses (a content entry that is not
            // the one announced) is only checked here.
            if name == layout::content_name(&record.path, record.version)
                && expected.size == record.size
            {
                super::apply::check_size(self.store, &record)?;
                if self.stages(&record, &expected.sha256)? {
                    return self.stage(ctx, expected, &record, data);
                }
            }
            return check_digest(ctx, data, expected);
        }
        if name.starts_with("resources/") && name.ends_with(".meta.json") {
            let bytes =
                read_limited(&mut data, layout::MAX_RECORD_BYTES).map_err(|e| ctx.io_error(e))?;
            check_digest(ctx, data, expected)?;
            // A record that does not parse is refused by the second pass,
            // once the whole bundle is known to be intact.
            self.pending = parse_record::<VersionRecord>(ctx.path(), name, &bytes)
                .ok()
                .filter(|r| !r.deleted);
            return Ok(());
        }
        check_digest(ctx, data, expected)
    }

    /// Whether a version's content is staged: large content (a blob) of a
    /// resource absent here, neither stored here already nor staged by
    /// this merge (either is shared instead).
    fn stages(&mut self, record: &VersionRecord, sha256: &[u8; 32]) -> Result<bool> {
        if record.size <= INLINE_MAX as u64 {
            return Ok(false);
        }
        let absent = match &self.here {
            Some((path, absent)) if path == record.path.as_str() => *absent,
            _ => {
                let present: bool = self
                    .store
                    .conn
                    .prepare_cached(
                        "SELECT EXISTS (SELECT 1 FROM resource_versions WHERE path = ?1)",
                    )?
                    .query_row([record.path.as_str()], |r| r.get(0))?;
                self.here = Some((record.path.as_str().to_string(), !present));
                !present
            }
        };
        Ok(absent
            && !self.staged.waiting.contains_key(sha256)
            && blob::complete_with(&self.store.conn, sha256)?.is_none())
    }

    /// Streams one content entry into a staging blob, in committed
    /// batches, checked as it goes.
    fn stage(
        &mut self,
        ctx: &Ctx,
        expected: &ManifestEntry,
        record: &VersionRecord,
        data: HashingReader<'_>,
    ) -> Result<()> {
        let mut content = CheckedContent::new(ctx, expected, record, data);
        let mut writer = BlobWriter::new();
        let own = self.store.conn.is_autocommit();
        let staged = self.store.stage(
            &record.path,
            &mut content,
            own,
            &mut writer,
            None,
            &mut |_| {},
        );
        if let Some(id) = writer.id() {
            self.staged.ids.push(id);
        }
        staged?;
        content.finish()?;
        self.staged.waiting.insert(expected.sha256, writer);
        Ok(())
    }

    /// Touches every blob staged so far, every quarter of
    /// [`STAGING_STALE_SECONDS`]: a first pass over a huge bundle can
    /// outlast the hour after which another process opening the vault
    /// sweeps a staging blob away.
    fn keep_alive(&mut self) -> Result<()> {
        let now = self.store.clock.now();
        if now - self.touched < chrono::Duration::seconds(STAGING_STALE_SECONDS / 4) {
            return Ok(());
        }
        let text = crate::clock::format_time(now);
        in_own_tx(self.store, |store| {
            for writer in self.staged.waiting.values() {
                writer.touch(&store.conn, &text)?;
            }
            Ok(())
        })?;
        self.touched = now;
        Ok(())
    }
}
