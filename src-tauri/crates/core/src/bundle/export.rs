//! Writing bundles: a walk over the vault that yields entries one at a time,
//! and the sinks that hash them, tar and encrypt them, or write them as
//! plain files.

use std::fs;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use rusqlite::params;
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::layout::{self, AuditRecord, ClientRecord, GrantRecord, RequestRecord, VersionRecord};
use super::{
    Counts, Manifest, ManifestEntry, Phase, Progress, Seal, FORMAT_NAME, FORMAT_VERSION, MANIFEST,
};
use crate::path::PodPath;
use crate::store::Store;
use crate::{fsutil, Error, Result};

/// Rows fetched per query while walking a table (keyset pagination keeps
/// memory flat without holding a statement across entries).
const PAGE: i64 = 512;

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportSummary {
    pub path: PathBuf,
    pub counts: Counts,
    /// Entries in the bundle, the manifest included.
    pub entries: u64,
    /// Bytes of the entries before encryption.
    pub plain_bytes: u64,
    /// Bytes of the file written.
    pub file_bytes: u64,
}

/// Receives entries in bundle order.
trait Sink {
    fn entry(&mut self, name: &str, data: &mut dyn Read) -> Result<()>;
}

/// Writes an encrypted bundle to `out` (through a temporary file renamed
/// into place, so a failure leaves nothing behind). Refuses to replace an
/// existing file unless `replace`.
pub fn export_bundle(
    store: &Store,
    out: &Path,
    seal: &Seal,
    replace: bool,
    progress: &mut dyn FnMut(&Progress),
) -> Result<ExportSummary> {
    if !replace && out.exists() {
        return Err(Error::InvalidRequest(format!(
            "{} already exists; choose another name or replace it explicitly",
            out.display()
        )));
    }
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = out
        .file_name()
        .ok_or_else(|| Error::InvalidRequest(format!("{} is not a file name", out.display())))?
        .to_string_lossy()
        .into_owned();
    let temp = dir.join(format!(".{name}.{}.partial", Uuid::new_v4()));
    let result = write_encrypted(store, &temp, seal, progress);
    match result {
        Ok((manifest, plain_bytes)) => {
            fs::rename(&temp, out).map_err(|e| {
                let _ = fs::remove_file(&temp);
                Error::io(format!("writing {}", out.display()), e)
            })?;
            fsutil::sync_dir(&dir)?;
            let file_bytes = fs::metadata(out)
                .map_err(|e| Error::io(format!("reading {}", out.display()), e))?
                .len();
            Ok(ExportSummary {
                path: out.to_path_buf(),
                entries: manifest.entries.len() as u64 + 1,
                counts: manifest.counts,
                plain_bytes,
                file_bytes,
            })
        }
        Err(e) => {
            let _ = fs::remove_file(&temp);
            Err(e)
        }
    }
}

fn write_encrypted(
    store: &Store,
    temp: &Path,
    seal: &Seal,
    progress: &mut dyn FnMut(&Progress),
) -> Result<(Manifest, u64)> {
    // One read transaction: both walks see the same snapshot, even with a
    // server writing to the vault meanwhile.
    let tx = store.conn.unchecked_transaction()?;
    let manifest = hash_pass(store, progress)?;
    let file = create_private(temp)?;
    let io_err = |e: io::Error| Error::io(format!("writing {}", temp.display()), e);
    let encryptor = match seal {
        Seal::Passphrase {
            passphrase,
            work_factor,
        } => {
            let mut r = age::scrypt::Recipient::new(passphrase.clone());
            r.set_work_factor(*work_factor);
            age::Encryptor::with_recipients(std::iter::once(&r as &dyn age::Recipient))
        }
        Seal::Recipient(r) => {
            age::Encryptor::with_recipients(std::iter::once(r.as_ref() as &dyn age::Recipient))
        }
    }
    .map_err(|e| Error::Internal(format!("age refused the recipient: {e}")))?;
    let encrypted = encryptor
        .wrap_output(BufWriter::with_capacity(1 << 20, file))
        .map_err(io_err)?;
    let mut builder = tar::Builder::new(encrypted);
    let manifest_json =
        serde_json::to_vec_pretty(&manifest).map_err(|e| Error::Internal(e.to_string()))?;
    let bytes_total: u64 =
        manifest.entries.iter().map(|e| e.size).sum::<u64>() + manifest_json.len() as u64;
    let mut sink = TarSink {
        builder: &mut builder,
        manifest: &manifest,
        next: 0,
        mtime: chrono::Utc::now().timestamp().max(0) as u64,
        progress: Progress {
            phase: Phase::Writing,
            items_done: 0,
            items_total: manifest.entries.len() as u64 + 1,
            bytes_done: 0,
            bytes_total,
        },
        report: progress,
    };
    sink.append(
        MANIFEST,
        manifest_json.len() as u64,
        &mut manifest_json.as_slice(),
    )?;
    drop(manifest_json);
    walk(store, &manifest.vault_id, &manifest.created_at, &mut sink)?;
    if sink.next != manifest.entries.len() {
        return Err(Error::Internal(
            "the vault changed during the export".into(),
        ));
    }
    let encrypted = builder.into_inner().map_err(io_err)?;
    let buffered = encrypted.finish().map_err(io_err)?;
    let file = buffered.into_inner().map_err(|e| io_err(e.into_error()))?;
    file.sync_all().map_err(io_err)?;
    tx.finish()?;
    Ok((manifest, bytes_total))
}

/// The first walk: every entry's size and SHA-256, for the manifest.
fn hash_pass(store: &Store, progress: &mut dyn FnMut(&Progress)) -> Result<Manifest> {
    let vault_id = store.meta("vault_id")?.unwrap_or_default();
    let created_at = store.now();
    let mut sink = HashSink {
        entries: Vec::new(),
        progress: Progress {
            phase: Phase::Hashing,
            items_done: 0,
            items_total: 0,
            bytes_done: 0,
            bytes_total: 0,
        },
        report: progress,
    };
    let counts = walk(store, &vault_id, &created_at, &mut sink)?;
    Ok(Manifest {
        format: FORMAT_NAME.into(),
        format_version: FORMAT_VERSION,
        vault_id,
        created_at,
        written_by: format!("custodian {}", env!("CARGO_PKG_VERSION")),
        counts,
        entries: sink.entries,
    })
}

/// Writes the bundle's files unencrypted into `dir` (which must not exist
/// or be empty), for a person who wants plain JSON.
pub fn export_plain(
    store: &Store,
    dir: &Path,
    progress: &mut dyn FnMut(&Progress),
) -> Result<ExportSummary> {
    match fs::read_dir(dir).map(|mut d| d.next().is_some()) {
        Ok(true) => {
            return Err(Error::InvalidRequest(format!(
                "{} is not empty; choose a new directory",
                dir.display()
            )))
        }
        Ok(false) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(format!("reading {}", dir.display()), e)),
    }
    fs::create_dir_all(dir).map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    let tx = store.conn.unchecked_transaction()?;
    let vault_id = store.meta("vault_id")?.unwrap_or_default();
    let created_at = store.now();
    let mut sink = DirSink {
        dir,
        hashes: HashSink {
            entries: Vec::new(),
            progress: Progress {
                phase: Phase::Writing,
                items_done: 0,
                items_total: 0,
                bytes_done: 0,
                bytes_total: 0,
            },
            report: progress,
        },
    };
    let counts = walk(store, &vault_id, &created_at, &mut sink)?;
    tx.finish()?;
    let manifest = Manifest {
        format: FORMAT_NAME.into(),
        format_version: FORMAT_VERSION,
        vault_id,
        created_at,
        written_by: format!("custodian {}", env!("CARGO_PKG_VERSION")),
        counts,
        entries: sink.hashes.entries,
    };
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| Error::Internal(e.to_string()))?;
    write_file(&dir.join(MANIFEST), &mut json.as_slice())?;
    let plain_bytes = manifest.entries.iter().map(|e| e.size).sum::<u64>() + json.len() as u64;
    Ok(ExportSummary {
        path: dir.to_path_buf(),
        entries: manifest.entries.len() as u64 + 1,
        counts: manifest.counts,
        plain_bytes,
        file_bytes: plain_bytes,
    })
}

fn create_private(path: &Path) -> Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
        .open(path)
        .map_err(|e| Error::io(format!("creating {}", path.display()), e))
}

fn write_file(path: &Path, data: &mut dyn Read) -> Result<u64> {
    let mut file = create_private(path)?;
    let n = io::copy(data, &mut file)
        .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
    Ok(n)
}

/// Every entry after the manifest, in bundle order.
fn walk(store: &Store, vault_id: &str, created_at: &str, sink: &mut dyn Sink) -> Result<Counts> {
    let mut counts = Counts::default();
    sink.entry(
        layout::README,
        &mut layout::readme(vault_id, created_at).as_bytes(),
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
                let content: Vec<u8> = store.conn.query_row(
                    "SELECT content FROM resource_versions WHERE path = ?1 AND version = ?2",
                    params![record.path.as_str(), record.version],
                    |r| r.get(0),
                )?;
                counts.content_bytes += content.len() as u64;
                sink.entry(
                    &layout::content_name(&record.path, record.version),
                    &mut content.as_slice(),
                )?;
            }
        }
    }

    let (prefs, _) = store.communication_preferences()?;
    let prefs = serde_json::to_vec_pretty(&prefs).map_err(|e| Error::Internal(e.to_string()))?;
    sink.entry(layout::PREFERENCES, &mut prefs.as_slice())?;

    counts.clients = jsonl(store, sink, layout::CLIENTS, client_page)?;
    counts.requests = jsonl(store, sink, layout::REQUESTS, request_page)?;
    counts.grants = jsonl(store, sink, layout::GRANTS, grant_page)?;
    counts.audit_entries = jsonl(store, sink, layout::AUDIT, audit_page)?;
    Ok(counts)
}

fn json_line<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    let mut line = serde_json::to_vec(value).map_err(|e| Error::Internal(e.to_string()))?;
    line.push(b'\n');
    Ok(line)
}

fn version_page(store: &Store, after: Option<&(String, u64)>) -> Result<Vec<VersionRecord>> {
    let (path, version) = after.cloned().unwrap_or_default();
    let mut stmt = store.conn.prepare_cached(
        "SELECT v.path, v.version, v.deleted, v.content_type, v.category, v.sensitivity, v.etag,
                v.size, v.author, v.written_at, r.created_at
         FROM resource_versions v
         LEFT JOIN resources r ON r.path = v.path AND r.version = v.version
         WHERE (v.path, v.version) > (?1, ?2)
         ORDER BY v.path, v.version LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![path, version, PAGE], |r| {
        Ok((
            r.get::<_, String>(0)?,
            VersionRecord {
                path: PodPath::root(),
                version: r.get(1)?,
                deleted: r.get(2)?,
                content_type: r.get(3)?,
                category: r.get(4)?,
                sensitivity: r.get(5)?,
                etag: r.get(6)?,
                size: r.get(7)?,
                author: r.get(8)?,
                written_at: r.get(9)?,
                live_since: r.get(10)?,
            },
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (path, mut record) = row?;
        record.path = PodPath::from_stored(&path)
            .map_err(|_| Error::Internal(format!("bad stored path {path}")))?;
        out.push(record);
    }
    Ok(out)
}

/// A page of one table as JSON lines, after the key given; returns the
/// lines and the last key.
type PageFn = fn(&Store, &str) -> Result<Vec<(String, Vec<u8>)>>;

/// Streams a table into one JSON Lines entry, a page at a time.
fn jsonl(store: &Store, sink: &mut dyn Sink, name: &str, page: PageFn) -> Result<u64> {
    let mut reader = JsonlReader {
        store,
        page,
        after: String::new(),
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

struct JsonlReader<'a> {
    store: &'a Store,
    page: PageFn,
    after: String,
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

fn client_page(store: &Store, after: &str) -> Result<Vec<(String, Vec<u8>)>> {
    let mut stmt = store.conn.prepare_cached(
        "SELECT id, name, uri, contacts, created_at FROM clients WHERE id > ?1 ORDER BY id LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![after, PAGE], |r| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get::<_, String>(3)?,
            r.get(4)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, name, uri, contacts, created_at): (
            String,
            String,
            Option<String>,
            String,
            String,
        ) = row?;
        let record = ClientRecord {
            id: id.clone(),
            name,
            uri,
            contacts: parse_stored_json(&contacts)?,
            created_at,
        };
        out.push((id, json_line(&record)?));
    }
    Ok(out)
}

fn request_page(store: &Store, after: &str) -> Result<Vec<(String, Vec<u8>)>> {
    let mut stmt = store.conn.prepare_cached(
        "SELECT id, client_id, details, grant_lifetime, user_code, status, poll_interval,
                created_at, expires_at, last_polled_at, decided_at, grant_id
         FROM access_requests WHERE id > ?1 ORDER BY id LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![after, PAGE], |r| {
        Ok((
            r.get::<_, String>(2)?,
            RequestRecord {
                id: r.get(0)?,
                client_id: r.get(1)?,
                details: serde_json::Value::Null,
                grant_lifetime: r.get(3)?,
                user_code: r.get(4)?,
                status: r.get(5)?,
                poll_interval: r.get(6)?,
                created_at: r.get(7)?,
                expires_at: r.get(8)?,
                last_polled_at: r.get(9)?,
                decided_at: r.get(10)?,
                grant_id: r.get(11)?,
            },
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (details, mut record) = row?;
        record.details = parse_stored_json(&details)?;
        out.push((record.id.clone(), json_line(&record)?));
    }
    Ok(out)
}

fn grant_page(store: &Store, after: &str) -> Result<Vec<(String, Vec<u8>)>> {
    let mut stmt = store.conn.prepare_cached(
        "SELECT id, client_id, request_id, details, created_at, expires_at, revoked_at
         FROM grants WHERE id > ?1 ORDER BY id LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![after, PAGE], |r| {
        Ok((
            r.get::<_, String>(3)?,
            GrantRecord {
                id: r.get(0)?,
                client_id: r.get(1)?,
                request_id: r.get(2)?,
                details: serde_json::Value::Null,
                created_at: r.get(4)?,
                expires_at: r.get(5)?,
                revoked_at: r.get(6)?,
            },
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (details, mut record) = row?;
        record.details = parse_stored_json(&details)?;
        out.push((record.id.clone(), json_line(&record)?));
    }
    Ok(out)
}

fn audit_page(store: &Store, after: &str) -> Result<Vec<(String, Vec<u8>)>> {
    let after: i64 = after.parse().unwrap_or(0);
    let mut stmt = store.conn.prepare_cached(
        "SELECT seq, at, actor, client_id, action, method, path, outcome, reason, grant_id, prev_hash, hash
         FROM audit_log WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![after, PAGE], |r| {
        Ok(AuditRecord {
            seq: r.get(0)?,
            at: r.get(1)?,
            actor: r.get(2)?,
            client_id: r.get(3)?,
            action: r.get(4)?,
            method: r.get(5)?,
            path: r.get(6)?,
            outcome: r.get(7)?,
            reason: r.get(8)?,
            grant_id: r.get(9)?,
            prev_hash: r.get(10)?,
            hash: r.get(11)?,
        })
    })?;
    let mut out = Vec::new();
    for row in rows {
        let record = row?;
        out.push((record.seq.to_string(), json_line(&record)?));
    }
    Ok(out)
}

fn parse_stored_json(text: &str) -> Result<serde_json::Value> {
    serde_json::from_str(text).map_err(|e| Error::Internal(format!("stored JSON: {e}")))
}

/// Pass one: hashes each entry as it streams by.
struct HashSink<'p> {
    entries: Vec<ManifestEntry>,
    progress: Progress,
    report: &'p mut dyn FnMut(&Progress),
}

impl Sink for HashSink<'_> {
    fn entry(&mut self, name: &str, data: &mut dyn Read) -> Result<()> {
        let mut hasher = HashingWriter::default();
        let size =
            io::copy(data, &mut hasher).map_err(|e| Error::io(format!("reading {name}"), e))?;
        self.entries.push(ManifestEntry {
            name: name.to_string(),
            size,
            sha256: hex::encode(hasher.0.finalize()),
        });
        self.progress.items_done += 1;
        self.progress.bytes_done += size;
        (self.report)(&self.progress);
        Ok(())
    }
}

#[derive(Default)]
struct HashingWriter(Sha256);

impl Write for HashingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Pass two: tars each entry with the size the manifest promised, and
/// checks it hashes the same.
struct TarSink<'a, 'p, W: Write> {
    builder: &'a mut tar::Builder<W>,
    manifest: &'a Manifest,
    next: usize,
    mtime: u64,
    progress: Progress,
    report: &'p mut dyn FnMut(&Progress),
}

impl<W: Write> TarSink<'_, '_, W> {
    fn append(&mut self, name: &str, size: u64, data: &mut dyn Read) -> Result<Sha256> {
        let mut header = tar::Header::new_gnu();
        header.set_size(size);
        header.set_mode(0o600);
        header.set_mtime(self.mtime);
        header.set_entry_type(tar::EntryType::Regular);
        let mut hashing = HashingReader {
            inner: data,
            hasher: Sha256::new(),
            read: 0,
        };
        self.builder
            .append_data(&mut header, name, &mut hashing)
            .map_err(|e| Error::io(format!("writing {name} into the bundle"), e))?;
        if hashing.read != size {
            return Err(Error::Internal(format!(
                "{name} changed size during the export"
            )));
        }
        self.progress.items_done += 1;
        self.progress.bytes_done += size;
        (self.report)(&self.progress);
        Ok(hashing.hasher)
    }
}

impl<W: Write> Sink for TarSink<'_, '_, W> {
    fn entry(&mut self, name: &str, data: &mut dyn Read) -> Result<()> {
        let expected = self
            .manifest
            .entries
            .get(self.next)
            .filter(|e| e.name == name)
            .cloned()
            .ok_or_else(|| Error::Internal("the vault changed during the export".into()))?;
        self.next += 1;
        let hasher = self.append(name, expected.size, data)?;
        if hex::encode(hasher.finalize()) != expected.sha256 {
            return Err(Error::Internal(format!("{name} changed during the export")));
        }
        Ok(())
    }
}

pub(super) struct HashingReader<'r> {
    pub inner: &'r mut dyn Read,
    pub hasher: Sha256,
    pub read: u64,
}

impl Read for HashingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.read += n as u64;
        Ok(n)
    }
}

/// The plain export: files under a directory, hashed on the way.
struct DirSink<'a, 'p> {
    dir: &'a Path,
    hashes: HashSink<'p>,
}

impl Sink for DirSink<'_, '_> {
    fn entry(&mut self, name: &str, data: &mut dyn Read) -> Result<()> {
        let path = self.dir.join(name);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .map_err(|e| Error::io(format!("creating {}", parent.display()), e))?;
        }
        let mut tee = TeeReader {
            inner: data,
            hasher: Sha256::new(),
        };
        let size = write_file(&path, &mut tee)?;
        self.hashes.entries.push(ManifestEntry {
            name: name.to_string(),
            size,
            sha256: hex::encode(tee.hasher.finalize()),
        });
        self.hashes.progress.items_done += 1;
        self.hashes.progress.bytes_done += size;
        (self.hashes.report)(&self.hashes.progress);
        Ok(())
    }
}

struct TeeReader<'r> {
    inner: &'r mut dyn Read,
    hasher: Sha256,
}

impl Read for TeeReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}
