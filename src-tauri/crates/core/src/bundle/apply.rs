//! Import's second pass: the bundle is read again, in manifest order, and
//! written into the vault inside the caller's transaction. Each entry is
//! checked against the manifest as it streams by; each resource's versions
//! must arrive as a whole history (1, 2, 3… ending live or deleted), and
//! each JSON Lines entry is handed line by line to its table in
//! [`super::tables::TABLES`]. Where it goes is the [`Target`]: a restore
//! writes everything, a merge only what the vault is missing.

use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use super::content::CheckedContent;
use super::export::HashingReader;
use super::import::{start_progress, Checked};
use super::layout::{self, VersionRecord};
use super::merge::Merging;
use super::pairing::{read_meta, Entry, Pairing};
use super::reader::{
    check_digest, hashing, manifest_digest, next_entry, read_bundle, tampered, Ctx,
};
use super::tables::TABLES;
use super::{ManifestEntry, Opener, Phase, Progress};
use crate::clock::parse_time;
use crate::data::category::Category;
use crate::vault::store::Store;
use crate::{Error, Result};

/// A restore commits after this much content (and truncates the log), so
/// the write-ahead log stays near this size however large the bundle.
pub(super) const RESTORE_COMMIT_BYTES: u64 = 256 << 20;

/// Where the bundle's rows go.
pub(super) enum Target {
    /// Into a vault that holds nothing yet: every row. It is built beside
    /// its place and thrown away whole if anything fails, so it commits
    /// after every `commit_every` bytes of content.
    Restore { commit_every: u64 },
    /// Into a vault with rows of its own: what it is missing, in one
    /// transaction, its large content staged before (`staging`).
    Merge(Box<Merging>),
}

/// Checks that a resource's versions arrive as 1, 2, 3… and end live or
/// deleted, with nothing after the live one.
#[derive(Default)]
struct HistoryCheck {
    path: Option<String>,
    last: u64,
    live: bool,
    deleted: bool,
}

impl HistoryCheck {
    fn complete(&self) -> bool {
        self.path.is_none() || self.live || self.deleted
    }
}

/// The second pass: reads the bundle again (its manifest must be the one
/// the first pass checked) and writes each entry into `target`, reporting
/// progress after each; then checks that every grant and request refers to
/// a company and request the vault now holds.
pub(super) fn apply(
    store: &Store,
    bundle: &Path,
    opener: &Opener,
    checked: &Checked,
    target: &mut Target,
    progress: &mut dyn FnMut(&Progress),
) -> Result<()> {
    let manifest = &checked.manifest;
    read_bundle(bundle, opener, |ctx, entries| {
        if manifest_digest(ctx, entries)? != checked.digest {
            return Err(tampered(
                bundle,
                "it changed while it was being read".into(),
            ));
        }
        let mut p = start_progress(manifest, Phase::Restoring);
        let mut history = HistoryCheck::default();
        let mut pairing = Pairing::default();
        let mut uncommitted = 0u64;
        for expected in &manifest.entries {
            let mut entry = next_entry(ctx, entries, expected)?;
            let data = hashing(&mut entry);
            let name = expected.name.as_str();
            match pairing.next(expected) {
                Entry::Content(record) => {
                    check_size(store, &record)?;
                    // Streams into the vault (a blob a chunk at a time),
                    // checked as it goes; a mismatch fails the write or
                    // `finish` (which reads what a merge did not: content
                    // it keeps its own of, or staged in the first pass).
                    let mut content = CheckedContent::new(ctx, expected, &record, data);
                    put_version(store, target, &record, Some(&expected.sha256), &mut content)?;
                    content.finish()?;
                    if let Target::Restore { commit_every } = target {
                        uncommitted += record.size;
                        if uncommitted >= *commit_every {
                            commit_so_far(store)?;
                            uncommitted = 0;
                        }
                    }
                }
                Entry::NotAnnounced => {
                    return Err(tampered(
                        bundle,
                        format!("{name} is not the content its metadata announced"),
                    ));
                }
                Entry::Meta => {
                    let mut record = read_meta(ctx, data, expected)??;
                    let category = check_version(bundle, name, &record, &mut history)?;
                    // Stored by its canonical name, however the bundle
                    // spells it (`Health`, ` health`): what every write
                    // stores and the counts count under. Not part of the
                    // ETag (the content type and content are).
                    record.category = category.name().to_string();
                    if record.deleted {
                        put_version(store, target, &record, None, &mut io::empty())?;
                    } else {
                        pairing.announce(record);
                    }
                }
                Entry::Other => other_entry(store, ctx, bundle, expected, data, target)?,
            }
            p.items_done += 1;
            p.bytes_done += expected.size;
            progress(&p);
        }
        if pairing.waiting() || !history.complete() {
            return Err(tampered(
                bundle,
                "a resource's history is incomplete".into(),
            ));
        }
        Ok(())
    })?;
    if store.conn.prepare("PRAGMA foreign_key_check")?.exists([])? {
        return Err(tampered(
            bundle,
            "grants or requests refer to companies or requests not in it".into(),
        ));
    }
    Ok(())
}

/// An entry that is not a version's: the README and the preferences are
/// only checked; each line of a table's JSON Lines goes to its table.
fn other_entry(
    store: &Store,
    ctx: &Ctx,
    bundle: &Path,
    expected: &ManifestEntry,
    mut data: HashingReader<'_>,
    target: &mut Target,
) -> Result<()> {
    let name = expected.name.as_str();
    if name == layout::README || name == layout::PREFERENCES {
        return check_digest(ctx, data, expected);
    }
    let Some(table) = TABLES.iter().find(|t| t.file == name) else {
        return Err(Error::BundleFormat {
            path: bundle.to_path_buf(),
            reason: format!("it holds an entry this Custodian does not know: {name}"),
        });
    };
    let mut lines = BufReader::new(&mut data);
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = (&mut lines)
            .take(layout::MAX_RECORD_BYTES + 1)
            .read_until(b'\n', &mut line)
            .map_err(|e| ctx.io_error(e))?;
        if n == 0 {
            break;
        }
        if n as u64 > layout::MAX_RECORD_BYTES {
            return Err(tampered(bundle, format!("{name} has an oversized line")));
        }
        if !line.iter().all(u8::is_ascii_whitespace) {
            (table.put)(store, bundle, name, &line, target)?;
        }
    }
    drop(lines);
    check_digest(ctx, data, expected)
}

/// Commits what a restore wrote so far, lets the log be copied into the
/// database and truncated, and goes on in a new transaction (the caller's
/// guard commits or rolls back the last one).
fn commit_so_far(store: &Store) -> Result<()> {
    store.conn.execute_batch("COMMIT")?;
    store.truncate_wal();
    store.conn.execute_batch("BEGIN IMMEDIATE")?;
    Ok(())
}

/// Checks one version's metadata against the history so far; returns its
/// category, parsed.
fn check_version(
    bundle: &Path,
    name: &str,
    r: &VersionRecord,
    h: &mut HistoryCheck,
) -> Result<Category> {
    let bad = |why: &str| tampered(bundle, format!("{name}: {why}"));
    if name != layout::meta_name(&r.path, r.version) {
        return Err(bad("its name does not match its path and version"));
    }
    if r.path.is_container() {
        return Err(bad("a container cannot hold content"));
    }
    let category = r
        .category
        .parse::<Category>()
        .map_err(|_| bad("unknown category"))?;
    match r.sensitivity.as_str() {
        "sensitive" => {}
        "normal" if !category.is_sensitive() => {}
        "normal" => return Err(bad("sensitive category marked normal")),
        _ => return Err(bad("unknown sensitivity")),
    }
    parse_time(&r.written_at).map_err(|_| bad("bad time"))?;
    if let Some(t) = &r.live_since {
        parse_time(t).map_err(|_| bad("bad time"))?;
    }
    if r.deleted && (r.live_since.is_some() || r.size != 0) {
        return Err(bad("a deletion record cannot be live or hold content"));
    }
    if h.path.as_deref() == Some(r.path.as_str()) {
        if h.live || r.version != h.last + 1 {
            return Err(bad("versions out of order"));
        }
    } else {
        if !h.complete() {
            return Err(bad(
                "the resource before it has no live or deleted last version",
            ));
        }
        if r.version != 1 {
            return Err(bad("a history must start at version 1"));
        }
        h.path = Some(r.path.as_str().to_string());
    }
    h.last = r.version;
    h.live = r.live_since.is_some();
    h.deleted = r.deleted;
    Ok(category)
}

/// Refuses a version whose content is over the vault's maximum, before
/// any of it is written.
pub(super) fn check_size(store: &Store, record: &VersionRecord) -> Result<()> {
    if record.size > store.max_content {
        return Err(Error::TooLarge {
            path: record.path.to_string(),
            size: Some(record.size),
            max: store.max_content,
        });
    }
    Ok(())
}

/// Writes one version (`content` empty for a deletion record, `sha256` its
/// content's otherwise); a merge that keeps its own version, or staged
/// its content, reads none of it.
fn put_version(
    store: &Store,
    target: &mut Target,
    r: &VersionRecord,
    sha256: Option<&[u8; 32]>,
    content: &mut dyn Read,
) -> Result<()> {
    match target {
        Target::Restore { .. } => r.insert_from(&store.conn, content),
        Target::Merge(merging) => merging.version(store, r, sha256, content),
    }
}
