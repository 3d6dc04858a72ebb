//! Writing bundles: the sinks that take the walk's entries one at a time
//! (see `walk`) and hash them, tar and encrypt them, or write them as
//! plain files.

use std::fs;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::manifest_json::ManifestJson;
use super::walk::{walk, Sink};
use super::{
    Counts, Manifest, ManifestEntry, Phase, Progress, Seal, FORMAT_NAME, FORMAT_VERSION, MANIFEST,
};
use crate::vault::store::Store;
use crate::{fsutil, Error, Result};

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
    // The manifest's JSON is made as it is written, never held whole (two
    // million entries are about 280 MB of it).
    let manifest_len = ManifestJson::len(&manifest)?;
    let bytes_total: u64 = manifest.entries.iter().map(|e| e.size).sum::<u64>() + manifest_len;
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
    sink.append(MANIFEST, manifest_len, &mut ManifestJson::new(&manifest)?)?;
    walk(
        store,
        &manifest.vault_id,
        &manifest.created_at,
        true,
        &mut sink,
    )?;
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
    let counts = walk(store, &vault_id, &created_at, true, &mut sink)?;
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
    let made_dir = !dir.exists();
    create_private_dirs(dir)?;
    // An empty directory given by the person becomes private too: the names
    // of the files (`health/…`) say what they hold.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .map_err(|e| Error::io(format!("making {} private", dir.display()), e))?;
    }
    let written = write_plain(store, dir, progress);
    if written.is_err() {
        // Nothing half-written stays behind, sensitive files least of all.
        if made_dir {
            let _ = fs::remove_dir_all(dir);
        } else if let Ok(entries) = fs::read_dir(dir) {
            for e in entries.flatten() {
                let _ = match e.file_type() {
                    Ok(t) if t.is_dir() => fs::remove_dir_all(e.path()),
                    _ => fs::remove_file(e.path()),
                };
            }
        }
    }
    written
}

/// Creates `dir` and its missing parents, each private to the user.
fn create_private_dirs(dir: &Path) -> Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(|e| Error::io(format!("creating {}", dir.display()), e))
}

fn write_plain(
    store: &Store,
    dir: &Path,
    progress: &mut dyn FnMut(&Progress),
) -> Result<ExportSummary> {
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
    let counts = walk(store, &vault_id, &created_at, false, &mut sink)?;
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
    let json_len = write_file(&dir.join(MANIFEST), &mut ManifestJson::new(&manifest)?)?;
    let plain_bytes = manifest.entries.iter().map(|e| e.size).sum::<u64>() + json_len;
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
            file: None,
            name: name.to_string(),
            size,
            sha256: hasher.0.finalize().into(),
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
        if <[u8; 32]>::from(hasher.finalize()) != expected.sha256 {
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
        let file = super::layout::plain_file_name(name);
        let path = self.dir.join(&file);
        if let Some(parent) = path.parent() {
            create_private_dirs(parent)?;
        }
        let mut tee = HashingReader {
            inner: data,
            hasher: Sha256::new(),
            read: 0,
        };
        let size = write_file(&path, &mut tee)?;
        self.hashes.entries.push(ManifestEntry {
            file: (file != name).then_some(file),
            name: name.to_string(),
            size,
            sha256: tee.hasher.finalize().into(),
        });
        self.hashes.progress.items_done += 1;
        self.hashes.progress.bytes_done += size;
        (self.hashes.report)(&self.hashes.progress);
        Ok(())
    }
}
