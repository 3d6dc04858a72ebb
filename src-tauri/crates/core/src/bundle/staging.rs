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
//! transaction. Staged blobs are touched after every batch (at most every
//! quarter of the hour after which another process opening the vault
//! sweeps them, [`Store::sweep_staging`]) and once more just before the
//! final transaction, so one huge entry does not let the others' age
//! past it. When the merge fails, everything it staged is dropped before
//! the error returns ([`Staged::discard`]); the sweep is the backstop for
//! a killed process. Memory holds one batch of content, plus a small
//! record per staged blob. Progress is reported after each batch, in
//! [`Phase::Staging`].

use std::collections::HashMap;
use std::path::Path;

use chrono::{DateTime, Utc};

use super::content::CheckedContent;
use super::export::HashingReader;
use super::import::{inspect_each, Checked};
use super::layout::VersionRecord;
use super::merge::path_absent;
use super::pairing::{read_meta, Entry, Pairing};
use super::reader::{check_digest, Ctx};
use super::{ManifestEntry, Opener, Phase, Progress};
use crate::data::resource::blob::{self, BlobRef, BlobWriter, STAGING_STALE_SECONDS};
use crate::data::resource::INLINE_MAX;
use crate::vault::store::Store;
use crate::Result;

/// The blobs a merge staged.
pub(super) struct Staged {
    /// Staged content not attached yet, by its SHA-256 (content twice in a
    /// bundle is staged once).
    waiting: HashMap<[u8; 32], BlobWriter>,
    /// Every blob this merge staged and kept (see
    /// [`BlobWriter::kept_id`]), to drop them all when it fails.
    ids: Vec<i64>,
    /// When the waiting blobs were last touched.
    touched: DateTime<Utc>,
}

impl Staged {
    fn new(store: &Store) -> Self {
        Staged {
            waiting: HashMap::new(),
            ids: Vec::new(),
            touched: store.clock.now(),
        }
    }

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
            if let Some(id) = writer.kept_id() {
                blob::delete_staging(&store.conn, id)?;
            }
        }
        Ok(())
    }

    /// Drops everything this merge staged (it failed; its transaction, if
    /// it began, rolled back), as a failed `put_stream` drops its own.
    pub(super) fn discard(&self, store: &Store) {
        blob::discard_staged(store, &self.ids);
    }

    /// Touches every blob staged and waiting, when `always` or when they
    /// were last touched a quarter of [`STAGING_STALE_SECONDS`] ago or
    /// more: a first pass over a huge bundle, or over one huge entry, can
    /// outlast the hour after which another process opening the vault
    /// sweeps a staging blob away.
    fn keep_alive(&mut self, store: &Store, always: bool) -> Result<()> {
        let now = store.clock.now();
        let due = now - self.touched >= chrono::Duration::seconds(STAGING_STALE_SECONDS / 4);
        if !(always || due) || self.waiting.is_empty() {
            return Ok(());
        }
        let text = crate::clock::format_time(now);
        in_own_tx(store, |store| {
            for writer in self.waiting.values() {
                writer.touch(&store.conn, &text)?;
            }
            Ok(())
        })?;
        self.touched = now;
        Ok(())
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
/// does and stages the large content the merge will add, reporting
/// progress in [`Phase::Staging`]. On failure, whatever it staged is
/// dropped before the error returns.
pub(super) fn check_and_stage(
    store: &Store,
    bundle: &Path,
    opener: &Opener,
    progress: &mut dyn FnMut(&Progress),
) -> Result<(Checked, Staged)> {
    let mut pass = FirstPass {
        store,
        staged: Staged::new(store),
        pairing: Pairing::default(),
        here: None,
    };
    let checked = inspect_each(
        bundle,
        opener,
        Phase::Staging,
        progress,
        &mut |ctx, expected, data, within| pass.entry(ctx, expected, data, within),
    )
    // The second pass reads the whole bundle again before it attaches
    // what was staged, but inside the merge's transaction, where no
    // sweep can remove it: touched once more just before.
    .and_then(|checked| {
        pass.staged.keep_alive(store, true)?;
        Ok(checked)
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
    pairing: Pairing,
    /// The path seen last and whether it is absent here.
    here: Option<(String, bool)>,
}

impl FirstPass<'_> {
    fn entry(
        &mut self,
        ctx: &Ctx,
        expected: &ManifestEntry,
        data: HashingReader<'_>,
        within: &mut dyn FnMut(u64),
    ) -> Result<()> {
        self.staged.keep_alive(self.store, false)?;
        match self.pairing.next(expected) {
            Entry::Content(record) => {
                super::apply::check_size(self.store, &record)?;
                if self.stages(&record, &expected.sha256)? {
                    return self.stage(ctx, expected, &record, data, within);
                }
                check_digest(ctx, data, expected)
            }
            Entry::Meta => {
                // A record that does not parse is refused by the second
                // pass, once the whole bundle is known to be intact.
                if let Some(record) = read_meta(ctx, data, expected)?.ok().filter(|r| !r.deleted) {
                    self.pairing.announce(record);
                }
                Ok(())
            }
            // What the second pass refuses (a content entry that is not
            // the one announced) is only checked here.
            Entry::NotAnnounced | Entry::Other => check_digest(ctx, data, expected),
        }
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
                let absent = path_absent(self.store, &record.path)?;
                self.here = Some((record.path.as_str().to_string(), absent));
                absent
            }
        };
        Ok(absent
            && !self.staged.waiting.contains_key(sha256)
            && blob::complete_with(&self.store.conn, sha256)?.is_none())
    }

    /// Streams one content entry into a staging blob, in committed
    /// batches, checked as it goes; after each batch the other staged
    /// blobs are kept alive and progress is reported.
    fn stage(
        &mut self,
        ctx: &Ctx,
        expected: &ManifestEntry,
        record: &VersionRecord,
        data: HashingReader<'_>,
        within: &mut dyn FnMut(u64),
    ) -> Result<()> {
        let mut content = CheckedContent::new(ctx, expected, record, data);
        let mut writer = BlobWriter::new();
        let own = self.store.conn.is_autocommit();
        let store = self.store;
        let staged = &mut self.staged;
        let result = store.stage(
            &record.path,
            &mut content,
            own,
            &mut writer,
            None,
            &mut |size| {
                staged.keep_alive(store, false)?;
                within(size);
                Ok(())
            },
        );
        if let Some(id) = writer.kept_id() {
            self.staged.ids.push(id);
        }
        result?;
        content.finish()?;
        self.staged.waiting.insert(expected.sha256, writer);
        Ok(())
    }
}
