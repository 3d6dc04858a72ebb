//! Reading bundles: a first pass that checks every entry against the
//! manifest and writes nothing ([`inspect_bundle`]), then a restore into a
//! new vault ([`restore_bundle`], built beside its place and committed as it
//! goes) or a merge into an existing one ([`merge_bundle`]: its first pass
//! also stages the large content it will add, `staging`, and its second
//! writes every row in one transaction). The second pass itself is
//! `apply`; what a merge does with resources is `merge`, with table rows
//! `tables`.

use std::path::Path;

use age::secrecy::SecretString;

use super::apply::{apply, Target, RESTORE_COMMIT_BYTES};
use super::export::HashingReader;
pub use super::merge::MergeReport;
use super::merge::Merging;
use super::reader::{check_digest, hashing, next_entry, read_bundle, read_manifest, tampered, Ctx};
use super::staging;
use super::{Manifest, ManifestEntry, Opener, Phase, Progress};
use crate::audit::{self, Action, NewEntry};
use crate::vault::store::Store;
use crate::vault::{Created, Vault};
use crate::{Error, Result};

/// A restored vault.
pub struct Restored {
    pub created: Created,
    pub manifest: Manifest,
}

/// Checks a bundle completely without writing anything: it opens with
/// `opener`, its manifest is of a format this build reads, and every entry
/// is present, in order, with the size and SHA-256 the manifest gives.
pub fn inspect_bundle(
    bundle: &Path,
    opener: &Opener,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Manifest> {
    Ok(inspect(bundle, opener, progress)?.manifest)
}

/// A bundle that passed the first pass: its manifest, and the digest of
/// the manifest's bytes, which the second pass must find again.
pub(crate) struct Checked {
    pub manifest: Manifest,
    pub digest: [u8; 32],
}

pub(crate) fn inspect(
    bundle: &Path,
    opener: &Opener,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Checked> {
    inspect_each(
        bundle,
        opener,
        Phase::Verifying,
        progress,
        &mut |ctx, expected, data, _| check_digest(ctx, data, expected),
    )
}

/// What the first pass does with each entry after the manifest: reads it
/// to its end and checks it, reporting the bytes of it done so far
/// through the last argument when it likes (a merge, as it stages).
pub(super) type EachEntry<'e> =
    dyn FnMut(&Ctx, &ManifestEntry, HashingReader<'_>, &mut dyn FnMut(u64)) -> Result<()> + 'e;

/// The first pass, handing every entry after the manifest, in order, to
/// `each`, which reads it to its end and checks it against the manifest
/// ([`check_digest`] does both; a merge also stages content, `staging`,
/// and reports the bytes of the entry it has staged so far through the
/// callback it is given).
pub(super) fn inspect_each(
    bundle: &Path,
    opener: &Opener,
    phase: Phase,
    progress: &mut dyn FnMut(&Progress),
    each: &mut EachEntry<'_>,
) -> Result<Checked> {
    read_bundle(bundle, opener, |ctx, entries| {
        let (manifest, digest) = read_manifest(ctx, entries)?;
        let mut p = start_progress(&manifest, phase);
        for expected in &manifest.entries {
            let mut entry = next_entry(ctx, entries, expected)?;
            let before = p;
            each(ctx, expected, hashing(&mut entry), &mut |within| {
                progress(&Progress {
                    bytes_done: before.bytes_done + within.min(expected.size),
                    ..before
                })
            })?;
            p.items_done += 1;
            p.bytes_done += expected.size;
            progress(&p);
        }
        Ok(Checked { manifest, digest })
    })
}

/// Restores a bundle into a new vault at `dir` with a new passphrase and a
/// new recovery key. The bundle is checked completely first; the vault is
/// built beside `dir` and renamed into place only when everything is in, so
/// a failure leaves no directory behind.
pub fn restore_bundle(
    bundle: &Path,
    opener: &Opener,
    dir: &Path,
    passphrase: &SecretString,
    work_factor: u8,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Restored> {
    let checked = inspect(bundle, opener, progress)?;
    let created = Vault::create_filled(dir, passphrase, work_factor, &mut |store| {
        restore_into(store, bundle, opener, &checked, progress)
    })?;
    Ok(Restored {
        created,
        manifest: checked.manifest,
    })
}

/// Restores into a store that holds nothing but a new vault's defaults,
/// built beside its place (it commits as it goes: a failure must throw the
/// whole vault away, as [`restore_bundle`] does).
pub(crate) fn restore_into(
    store: &Store,
    bundle: &Path,
    opener: &Opener,
    checked: &Checked,
    progress: &mut dyn FnMut(&Progress),
) -> Result<()> {
    restore_committing(
        store,
        bundle,
        opener,
        checked,
        RESTORE_COMMIT_BYTES,
        progress,
    )
}

/// [`restore_into`], committing after every `commit_every` bytes of
/// content.
pub(crate) fn restore_committing(
    store: &Store,
    bundle: &Path,
    opener: &Opener,
    checked: &Checked,
    commit_every: u64,
    progress: &mut dyn FnMut(&Progress),
) -> Result<()> {
    let tx = store.write_tx()?;
    tx.execute_batch(
        "DELETE FROM resources; DELETE FROM resource_versions; DELETE FROM audit_log;",
    )?;
    crate::data::resource::counts::clear(&tx)?;
    let mut target = Target::Restore { commit_every };
    apply(store, bundle, opener, checked, &mut target, progress)?;
    let chain = store.verify_audit_log()?;
    if let Some(seq) = chain.first_broken {
        return Err(tampered(
            bundle,
            format!("the access log's hash chain breaks at entry {seq}"),
        ));
    }
    tx.commit()?;
    store.truncate_wal();
    Ok(())
}

/// Adds what the vault is missing from the bundle and reports what
/// differs without overwriting anything. The first pass checks the bundle
/// and stages the large content the merge will add, in committed batches
/// (`staging`); the second writes every row in one transaction, attaching
/// the staged blobs. A failure leaves the vault as it was, staged content
/// dropped.
pub fn merge_bundle(
    store: &Store,
    bundle: &Path,
    opener: &Opener,
    progress: &mut dyn FnMut(&Progress),
) -> Result<MergeReport> {
    let (checked, staged) = staging::check_and_stage(store, bundle, opener, progress)?;
    let mut target = Target::Merge(Box::new(Merging::new(staged)));
    let merged = merge_rows(store, bundle, opener, &checked, &mut target, progress);
    if let (Err(_), Target::Merge(merging)) = (&merged, &target) {
        merging.staged.discard(store);
    }
    // The log held the rows (and any content written in the transaction)
    // until the commit, and one batch of staged content before.
    store.truncate_wal();
    merged
}

/// The merge's second pass and its one transaction: the rows, the staged
/// blobs attached, the deliveries owed for what was added, the log entry.
fn merge_rows(
    store: &Store,
    bundle: &Path,
    opener: &Opener,
    checked: &Checked,
    target: &mut Target,
    progress: &mut dyn FnMut(&Progress),
) -> Result<MergeReport> {
    let tx = store.write_tx()?;
    apply(store, bundle, opener, checked, target, progress)?;
    let Target::Merge(merging) = target else {
        return Err(Error::Internal("merge target lost".into()));
    };
    merging.staged.drop_unused(store)?;
    let report = merging.finish();
    // The resources added are writes like any other: a linked company
    // whose grant sees one is told (queued), in this transaction.
    for path in &report.added {
        store.queue_merged(path)?;
    }
    let mut entry = NewEntry::owner(Action::Import);
    entry.reason = Some(format!(
        "merged bundle of vault {}: {} resources added, {} conflicts, {} log entries left in the bundle",
        checked.manifest.vault_id,
        report.added.len(),
        report.conflicts.len(),
        report.log_entries_not_merged
    ));
    audit::append_in(&tx, &store.now(), &[entry])?;
    tx.commit()?;
    Ok(report)
}

/// Progress at the start of a pass: the manifest counted as done.
pub(super) fn start_progress(manifest: &Manifest, phase: Phase) -> Progress {
    Progress {
        phase,
        items_done: 1,
        items_total: manifest.entries.len() as u64 + 1,
        bytes_done: 0,
        bytes_total: manifest.entries.iter().map(|e| e.size).sum(),
    }
}
