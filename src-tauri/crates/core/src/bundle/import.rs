//! Reading bundles: a first pass that checks every entry against the
//! manifest and writes nothing, then a restore into a new vault or a merge
//! into an existing one, each in one transaction.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use age::secrecy::SecretString;
use rusqlite::{params, OptionalExtension};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::layout::{
    self, AuditRecord, CheckedRecord, ClientRecord, GrantRecord, RequestRecord, VersionRecord,
};
use super::reader::{
    check_digest, hashing, manifest_digest, next_entry, read_bundle, read_manifest, tampered,
};
use super::{read_limited, Manifest, Opener, Phase, Progress};
use crate::audit::{self, Action, NewEntry};
use crate::clock::parse_time;
use crate::data::category::Category;
use crate::vault::store::Store;
use crate::vault::{Created, Vault};
use crate::{Error, Result};

/// The largest single resource accepted.
const MAX_CONTENT_BYTES: u64 = 4 << 30;

/// A restored vault.
pub struct Restored {
    pub created: Created,
    pub manifest: Manifest,
}

/// What a merge did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MergeReport {
    /// Resources that were missing here and were added with their history.
    pub added: Vec<String>,
    /// Resources here with the same history (or a longer one).
    pub unchanged: u64,
    /// Resources whose history here differs from the bundle's: left as they are.
    pub conflicts: Vec<Conflict>,
    pub clients_added: u64,
    pub requests_added: u64,
    pub grants_added: u64,
    /// The bundle's log entries, kept in the bundle: a hash chain cannot be
    /// spliced into another.
    pub log_entries_not_merged: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conflict {
    pub path: String,
    pub reason: String,
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
    digest: [u8; 32],
}

pub(crate) fn inspect(
    bundle: &Path,
    opener: &Opener,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Checked> {
    read_bundle(bundle, opener, |ctx, entries| {
        let (manifest, digest) = read_manifest(ctx, entries)?;
        let mut p = start_progress(&manifest, Phase::Verifying);
        for expected in &manifest.entries {
            let mut entry = next_entry(ctx, entries, expected)?;
            check_digest(ctx, hashing(&mut entry), expected)?;
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

/// Restores into a store that holds nothing but a new vault's defaults.
pub(crate) fn restore_into(
    store: &Store,
    bundle: &Path,
    opener: &Opener,
    checked: &Checked,
    progress: &mut dyn FnMut(&Progress),
) -> Result<()> {
    let tx = store.write_tx()?;
    tx.execute_batch(
        "DELETE FROM resources; DELETE FROM resource_versions; DELETE FROM audit_log;",
    )?;
    let mut target = Target::Restore;
    apply(store, bundle, opener, checked, &mut target, progress)?;
    let chain = store.verify_audit_log()?;
    if let Some(seq) = chain.first_broken {
        return Err(tampered(
            bundle,
            format!("the access log's hash chain breaks at entry {seq}"),
        ));
    }
    tx.commit()?;
    Ok(())
}

/// Adds what the vault is missing from the bundle, in one transaction, and
/// reports what differs without overwriting anything.
pub fn merge_bundle(
    store: &Store,
    bundle: &Path,
    opener: &Opener,
    progress: &mut dyn FnMut(&Progress),
) -> Result<MergeReport> {
    let checked = inspect(bundle, opener, progress)?;
    let manifest = &checked.manifest;
    let tx = store.write_tx()?;
    let mut target = Target::Merge {
        report: MergeReport::default(),
        path: None,
    };
    apply(store, bundle, opener, &checked, &mut target, progress)?;
    let Target::Merge { mut report, path } = target else {
        return Err(Error::Internal("merge target lost".into()));
    };
    if let Some(state) = path {
        finish_merged_path(state, &mut report);
    }
    let mut entry = NewEntry::owner(Action::Import);
    entry.reason = Some(format!(
        "merged bundle of vault {}: {} resources added, {} conflicts, {} log entries left in the bundle",
        manifest.vault_id,
        report.added.len(),
        report.conflicts.len(),
        report.log_entries_not_merged
    ));
    audit::append_in(&tx, &store.now(), &[entry])?;
    tx.commit()?;
    Ok(report)
}

enum Target {
    Restore,
    Merge {
        report: MergeReport,
        path: Option<MergePath>,
    },
}

/// A resource being merged: added (absent here) or compared version by version.
struct MergePath {
    path: String,
    adding: bool,
    compared: u64,
    conflict: Option<String>,
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

fn apply(
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
        let mut pending: Option<VersionRecord> = None;
        for expected in &manifest.entries {
            let mut entry = next_entry(ctx, entries, expected)?;
            let mut data = hashing(&mut entry);
            let name = expected.name.as_str();
            if let Some(record) = pending.take() {
                // The content of the version whose metadata came just before.
                if name != layout::content_name(&record.path, record.version)
                    || expected.size != record.size
                {
                    return Err(tampered(
                        bundle,
                        format!("{name} is not the content its metadata announced"),
                    ));
                }
                let content =
                    read_limited(&mut data, MAX_CONTENT_BYTES).map_err(|e| ctx.io_error(e))?;
                check_digest(ctx, data, expected)?;
                put_version(store, target, &record, &content)?;
            } else if name.starts_with("resources/") && name.ends_with(".meta.json") {
                let bytes = read_limited(&mut data, layout::MAX_RECORD_BYTES)
                    .map_err(|e| ctx.io_error(e))?;
                check_digest(ctx, data, expected)?;
                let record: VersionRecord = parse_record(bundle, name, &bytes)?;
                check_version(bundle, name, &record, &mut history)?;
                if record.deleted {
                    put_version(store, target, &record, &[])?;
                } else {
                    pending = Some(record);
                }
            } else {
                match name {
                    layout::README | layout::PREFERENCES => check_digest(ctx, data, expected)?,
                    layout::CLIENTS | layout::REQUESTS | layout::GRANTS | layout::AUDIT => {
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
                                return Err(tampered(
                                    bundle,
                                    format!("{name} has an oversized line"),
                                ));
                            }
                            put_line(store, bundle, target, name, &line)?;
                        }
                        drop(lines);
                        check_digest(ctx, data, expected)?;
                    }
                    other => {
                        return Err(Error::BundleFormat {
                            path: bundle.to_path_buf(),
                            reason: format!(
                                "it holds an entry this Custodian does not know: {other}"
                            ),
                        })
                    }
                }
            }
            p.items_done += 1;
            p.bytes_done += expected.size;
            progress(&p);
        }
        if pending.is_some() || !history.complete() {
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

fn check_version(bundle: &Path, name: &str, r: &VersionRecord, h: &mut HistoryCheck) -> Result<()> {
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
    Ok(())
}

fn put_version(
    store: &Store,
    target: &mut Target,
    r: &VersionRecord,
    content: &[u8],
) -> Result<()> {
    match target {
        Target::Restore => insert_version(store, r, content),
        Target::Merge { report, path } => {
            if path.as_ref().map(|p| p.path.as_str()) != Some(r.path.as_str()) {
                if let Some(done) = path.take() {
                    finish_merged_path(done, report);
                }
                let here: u64 = store.conn.query_row(
                    "SELECT COUNT(*) FROM resource_versions WHERE path = ?1",
                    [r.path.as_str()],
                    |row| row.get(0),
                )?;
                *path = Some(MergePath {
                    path: r.path.as_str().to_string(),
                    adding: here == 0,
                    compared: 0,
                    conflict: None,
                });
            }
            let Some(state) = path.as_mut() else {
                return Err(Error::Internal("merge state lost".into()));
            };
            if state.adding {
                return insert_version(store, r, content);
            }
            state.compared += 1;
            if state.conflict.is_none() {
                let mine: Option<(bool, String, u64)> = store
                    .conn
                    .query_row(
                        "SELECT deleted, etag, size FROM resource_versions WHERE path = ?1 AND version = ?2",
                        params![r.path.as_str(), r.version],
                        |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                    )
                    .optional()?;
                state.conflict = match mine {
                    None => Some(format!(
                        "the bundle has newer versions (from version {})",
                        r.version
                    )),
                    Some(m) if m != (r.deleted, r.etag.clone(), r.size) => {
                        Some(format!("version {} differs from the one here", r.version))
                    }
                    Some(_) => None,
                };
            }
            Ok(())
        }
    }
}

fn finish_merged_path(state: MergePath, report: &mut MergeReport) {
    if state.adding {
        report.added.push(state.path);
    } else if let Some(reason) = state.conflict {
        report.conflicts.push(Conflict {
            path: state.path,
            reason,
        });
    } else {
        report.unchanged += 1;
    }
}

fn insert_version(store: &Store, r: &VersionRecord, content: &[u8]) -> Result<()> {
    store
        .conn
        .prepare_cached(
            "INSERT INTO resource_versions
                 (path, version, deleted, content_type, category, sensitivity, etag, size, content, author, written_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?
        .execute(params![
            r.path.as_str(),
            r.version,
            r.deleted,
            r.content_type,
            r.category,
            r.sensitivity,
            r.etag,
            r.size,
            content,
            r.author,
            r.written_at
        ])?;
    if let Some(since) = &r.live_since {
        store
            .conn
            .prepare_cached(
                "INSERT INTO resources (path, version, created_at) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![r.path.as_str(), r.version, since])?;
    }
    Ok(())
}

fn put_line(
    store: &Store,
    bundle: &Path,
    target: &mut Target,
    name: &str,
    line: &[u8],
) -> Result<()> {
    if line.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    let merging = matches!(target, Target::Merge { .. });
    let verb = if merging {
        "INSERT OR IGNORE"
    } else {
        "INSERT"
    };
    let changed = match name {
        layout::CLIENTS => {
            let c: ClientRecord = parse_row(bundle, name, line)?;
            store.conn.prepare_cached(&format!(
                "{verb} INTO clients (id, name, uri, contacts, created_at) VALUES (?1, ?2, ?3, ?4, ?5)"
            ))?
            .execute(params![c.id, c.name, c.uri, c.contacts.to_string(), c.created_at])?
        }
        layout::REQUESTS => {
            let mut r: RequestRecord = parse_row(bundle, name, line)?;
            // No company can ever poll a restored request (its device code
            // stays behind), so one still waiting arrives expired: a merge
            // cannot add requests the person would answer in vain.
            if r.status == "pending" {
                r.status = "expired".into();
            }
            // The device code never leaves a vault: a restored request can
            // be read, but never polled.
            let no_code = format!("not-exported:{}", r.id);
            store.conn.prepare_cached(&format!(
                "{verb} INTO access_requests (id, client_id, details, grant_lifetime, user_code, device_code_hash,
                     status, poll_interval, created_at, expires_at, last_polled_at, decided_at, grant_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
            ))?
            .execute(params![
                r.id, r.client_id, r.details.to_string(), r.grant_lifetime, r.user_code, no_code,
                r.status, r.poll_interval, r.created_at, r.expires_at, r.last_polled_at, r.decided_at, r.grant_id
            ])?
        }
        layout::GRANTS => {
            let g: GrantRecord = parse_row(bundle, name, line)?;
            store.conn.prepare_cached(&format!(
                "{verb} INTO grants (id, client_id, request_id, details, created_at, expires_at, revoked_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
            ))?
            .execute(params![g.id, g.client_id, g.request_id, g.details.to_string(), g.created_at, g.expires_at, g.revoked_at])?
        }
        layout::AUDIT => {
            let a: AuditRecord = parse_row(bundle, name, line)?;
            if merging {
                if let Target::Merge { report, .. } = target {
                    report.log_entries_not_merged += 1;
                }
                return Ok(());
            }
            store.conn.prepare_cached(
                "INSERT INTO audit_log (seq, at, actor, client_id, action, method, path, outcome, reason, grant_id, prev_hash, hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )?
            .execute(params![
                a.seq, a.at, a.actor, a.client_id, a.action, a.method, a.path, a.outcome, a.reason, a.grant_id,
                a.prev_hash, a.hash
            ])?
        }
        _ => return Err(Error::Internal(format!("no table for {name}"))),
    };
    if let Target::Merge { report, .. } = target {
        let n = changed as u64;
        match name {
            layout::CLIENTS => report.clients_added += n,
            layout::REQUESTS => report.requests_added += n,
            _ => report.grants_added += n,
        }
    }
    Ok(())
}

fn parse_record<T: DeserializeOwned>(bundle: &Path, name: &str, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| Error::BundleFormat {
        path: bundle.to_path_buf(),
        reason: format!("{name} does not hold what this Custodian expects ({e})"),
    })
}

/// A table's record, parsed and checked in its typed form before any row
/// is written.
fn parse_row<T: DeserializeOwned + CheckedRecord>(
    bundle: &Path,
    name: &str,
    bytes: &[u8],
) -> Result<T> {
    let record: T = parse_record(bundle, name, bytes)?;
    record.check().map_err(|why| Error::BundleFormat {
        path: bundle.to_path_buf(),
        reason: format!("{name} holds a record that is not valid ({why})"),
    })?;
    Ok(record)
}

fn start_progress(manifest: &Manifest, phase: Phase) -> Progress {
    Progress {
        phase,
        items_done: 1,
        items_total: manifest.entries.len() as u64 + 1,
        bytes_done: 0,
        bytes_total: manifest.entries.iter().map(|e| e.size).sum(),
    }
}
