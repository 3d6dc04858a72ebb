//! Opening a bundle: the age layer (telling a wrong key, a truncated file
//! and a damaged one apart), then the tar entries, each checked against the
//! manifest as it streams by.

use std::cell::Cell;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use sha2::Digest;

use super::export::HashingReader;
use super::manifest_json::{format_head, parse_hashed, FormatHead, HEAD_BYTES};
use super::{Manifest, ManifestEntry, Opener, FORMAT_NAME, FORMAT_VERSION, MANIFEST};
use crate::{Error, Result};

/// The largest manifest accepted (about four million entries).
const MAX_MANIFEST_BYTES: u64 = 1 << 30;

pub(super) fn tampered(bundle: &Path, reason: String) -> Error {
    Error::BundleTampered {
        path: bundle.to_path_buf(),
        reason,
    }
}

/// Refuses what is not an age file at all (a photo, a zip) before age
/// itself says something less clear.
pub(super) fn check_magic(path: &Path) -> Result<()> {
    const MAGIC: &[u8] = b"age-encryption.org/v1\n";
    let mut head = Vec::with_capacity(MAGIC.len());
    File::open(path)
        .and_then(|f| f.take(MAGIC.len() as u64).read_to_end(&mut head))
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    if head.as_slice() == MAGIC {
        Ok(())
    } else if MAGIC.starts_with(&head) {
        Err(Error::BundleTruncated {
            path: path.to_path_buf(),
        })
    } else if head.starts_with(b"-----BEGIN AGE") {
        Err(Error::BundleFormat {
            path: path.to_path_buf(),
            reason: "it is ASCII-armored; dearmor it first (age -d works on it)".into(),
        })
    } else {
        Err(Error::BundleFormat {
            path: path.to_path_buf(),
            reason: "it is not an age-encrypted file".into(),
        })
    }
}

/// The age header could not be read.
pub(super) fn header_error(path: &Path, e: age::DecryptError) -> Error {
    match e {
        age::DecryptError::Io(io) if io.kind() == io::ErrorKind::UnexpectedEof => {
            Error::BundleTruncated {
                path: path.to_path_buf(),
            }
        }
        other => Error::BundleFormat {
            path: path.to_path_buf(),
            reason: format!("it is not an age-encrypted file ({other})"),
        },
    }
}

/// A file reader that remembers whether it reached the end, to tell a
/// truncated bundle (the error comes at the end) from a damaged one.
pub(super) struct EofTracking {
    file: File,
    at_end: Rc<Cell<bool>>,
}

impl Read for EofTracking {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.at_end.set(true);
        }
        Ok(n)
    }
}

pub(super) type Decrypted = age::stream::StreamReader<EofTracking>;
pub(super) type Entries<'a> = tar::Entries<'a, Decrypted>;

/// What a read error means, given where it happened.
pub(super) struct Ctx {
    path: PathBuf,
    at_end: Rc<Cell<bool>>,
}

impl Ctx {
    /// The bundle being read.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    pub(super) fn io_error(&self, e: io::Error) -> Error {
        if self.at_end.get() || e.kind() == io::ErrorKind::UnexpectedEof {
            Error::BundleTruncated {
                path: self.path.clone(),
            }
        } else if e.kind() == io::ErrorKind::InvalidData {
            tampered(&self.path, "its encryption does not authenticate".into())
        } else {
            Error::io(format!("reading {}", self.path.display()), e)
        }
    }

    fn not_bundle(&self, reason: String) -> Error {
        Error::BundleFormat {
            path: self.path.clone(),
            reason,
        }
    }
}

/// Decrypts the bundle and hands its entries to `body`; then checks nothing
/// follows the last entry and reads the stream to its end, where age
/// authenticates the final chunk.
pub(super) fn read_bundle<T>(
    path: &Path,
    opener: &Opener,
    body: impl FnOnce(&Ctx, &mut Entries<'_>) -> Result<T>,
) -> Result<T> {
    check_magic(path)?;
    let file = File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    let ctx = Ctx {
        path: path.to_path_buf(),
        at_end: Rc::new(Cell::new(false)),
    };
    // Unbuffered on purpose: age reads whole chunks, and "the file has been
    // read to its end" then means the failing chunk was the last one.
    let tracked = EofTracking {
        file,
        at_end: ctx.at_end.clone(),
    };
    let decryptor = age::Decryptor::new(tracked).map_err(|e| header_error(path, e))?;
    let wrong_kind = |how| Error::BundleKeyKind {
        path: path.to_path_buf(),
        how,
    };
    let (result, what) = match opener {
        Opener::Passphrase(p) => {
            if !decryptor.is_scrypt() {
                return Err(wrong_kind(
                    "to a recipient key, not with a passphrase: give the identity file that matches it",
                ));
            }
            let mut identity = age::scrypt::Identity::new(p.clone());
            identity.set_max_work_factor(crate::vault::keys::MAX_BUNDLE_WORK_FACTOR);
            (
                decryptor.decrypt(std::iter::once(&identity as &dyn age::Identity)),
                "passphrase",
            )
        }
        Opener::Identity(i) => {
            if decryptor.is_scrypt() {
                return Err(wrong_kind(
                    "with a passphrase, not to a recipient key: give its passphrase",
                ));
            }
            (
                decryptor.decrypt(std::iter::once(i.as_ref() as &dyn age::Identity)),
                "identity",
            )
        }
    };
    let stream = result.map_err(|e| match e {
        age::DecryptError::ExcessiveWork { required, .. } => Error::BundleExcessiveWork {
            path: path.to_path_buf(),
            required,
            max: crate::vault::keys::MAX_BUNDLE_WORK_FACTOR,
        },
        age::DecryptError::DecryptionFailed | age::DecryptError::NoMatchingKeys => {
            Error::BundleWrongKey {
                path: path.to_path_buf(),
                what,
            }
        }
        other => header_error(path, other),
    })?;
    let mut archive = tar::Archive::new(stream);
    let out = {
        let mut entries = archive.entries().map_err(|e| ctx.io_error(e))?;
        let out = body(&ctx, &mut entries)?;
        if let Some(extra) = next_raw(&ctx, &mut entries)? {
            return Err(tampered(
                path,
                format!("it holds an unlisted entry {}", entry_name(&extra)),
            ));
        }
        out
    };
    let mut rest = archive.into_inner();
    io::copy(&mut rest, &mut io::sink()).map_err(|e| ctx.io_error(e))?;
    Ok(out)
}

pub(super) fn next_raw<'a>(
    ctx: &Ctx,
    entries: &mut Entries<'a>,
) -> Result<Option<tar::Entry<'a, Decrypted>>> {
    match entries.next() {
        None => Ok(None),
        Some(Ok(e)) => Ok(Some(e)),
        Some(Err(e)) => Err(ctx.io_error(e)),
    }
}

/// The manifest, which must come first, of a format this build reads.
pub(super) fn read_manifest(ctx: &Ctx, entries: &mut Entries<'_>) -> Result<(Manifest, [u8; 32])> {
    let first = match entries.next() {
        None => None,
        Some(Ok(e)) => Some(e),
        // Decrypted, but not a tar stream: something else age-encrypted.
        Some(Err(e)) if e.kind() == io::ErrorKind::Other && !ctx.at_end.get() => {
            return Err(ctx.not_bundle("it holds no tar stream".into()))
        }
        Some(Err(e)) => return Err(ctx.io_error(e)),
    };
    let mut first = first.ok_or_else(|| ctx.not_bundle("it is empty".into()))?;
    if entry_name(&first) != MANIFEST {
        return Err(ctx.not_bundle("it does not start with manifest.json".into()));
    }
    // Never the whole JSON as one buffer (a million resources make about
    // 280 MB of it): the header from its first bytes, then the whole parsed
    // as it is read, hashed on the way.
    let mut limited = (&mut first).take(MAX_MANIFEST_BYTES + 1);
    let mut start = Vec::new();
    (&mut limited)
        .take(HEAD_BYTES)
        .read_to_end(&mut start)
        .map_err(|e| ctx.io_error(e))?;
    // The header as Custodian writes it, first; a manifest whose keys come
    // in another order is checked once it is parsed whole.
    let head = format_head(&start);
    if let Some(head) = &head {
        check_format(ctx, head)?;
    }
    let mut counted = Counted {
        inner: limited,
        read: start.len() as u64,
        failed: None,
    };
    let parsed = parse_hashed(&start, &mut counted);
    if counted.read > MAX_MANIFEST_BYTES {
        return Err(ctx.not_bundle(format!(
            "its manifest.json is larger than {} MiB",
            MAX_MANIFEST_BYTES >> 20
        )));
    }
    if let Some(e) = counted.failed {
        // A read failing under the parser: a damaged or truncated bundle.
        return Err(ctx.io_error(e));
    }
    let (manifest, digest) = parsed.map_err(|e| match head {
        Some(_) => ctx.not_bundle(format!("its manifest.json is malformed ({e})")),
        None => ctx.not_bundle("its manifest.json is not a Custodian manifest".into()),
    })?;
    check_format(
        ctx,
        &FormatHead {
            format: manifest.format.clone(),
            format_version: manifest.format_version,
        },
    )?;
    Ok((manifest, digest))
}

/// A manifest of this format, at a version this build reads.
fn check_format(ctx: &Ctx, head: &FormatHead) -> Result<()> {
    if head.format != FORMAT_NAME {
        return Err(ctx.not_bundle(format!(
            "its format is {:?}, not {FORMAT_NAME}",
            head.format
        )));
    }
    if head.format_version > FORMAT_VERSION {
        return Err(ctx.not_bundle(format!(
            "it has format version {}, newer than the {FORMAT_VERSION} this Custodian reads: update Custodian",
            head.format_version
        )));
    }
    Ok(())
}

/// Counts the bytes read through it, and keeps the first read error as it
/// was (the parser above it sees only that reading failed).
struct Counted<R> {
    inner: R,
    read: u64,
    failed: Option<io::Error>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.read += n as u64;
                Ok(n)
            }
            // Retried by the parser, not a failure.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Err(e),
            Err(e) => {
                let kind = e.kind();
                self.failed.get_or_insert(e);
                Err(io::Error::new(kind, "reading the manifest failed"))
            }
        }
    }
}

/// The manifest's bytes, hashed but not parsed again (the second pass
/// checks it is the one the first pass read).
pub(super) fn manifest_digest(ctx: &Ctx, entries: &mut Entries<'_>) -> Result<[u8; 32]> {
    let Some(mut first) = next_raw(ctx, entries)? else {
        return Err(ctx.not_bundle("it is empty".into()));
    };
    if entry_name(&first) != MANIFEST {
        return Err(ctx.not_bundle("it does not start with manifest.json".into()));
    }
    let mut hasher = sha2::Sha256::new();
    io::copy(
        &mut (&mut first).take(MAX_MANIFEST_BYTES),
        &mut HashWrite(&mut hasher),
    )
    .map_err(|e| ctx.io_error(e))?;
    Ok(hasher.finalize().into())
}

struct HashWrite<'a>(&'a mut sha2::Sha256);

impl io::Write for HashWrite<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The next entry, which must be the one the manifest lists next.
pub(super) fn next_entry<'a>(
    ctx: &Ctx,
    entries: &mut Entries<'a>,
    expected: &ManifestEntry,
) -> Result<tar::Entry<'a, Decrypted>> {
    // A cut-short file fails in age (which authenticates every chunk and
    // knows the last one); a tar stream that ends early was made that way.
    let Some(entry) = next_raw(ctx, entries)? else {
        return Err(tampered(&ctx.path, format!("{} is missing", expected.name)));
    };
    let name = entry_name(&entry);
    if name != expected.name {
        return Err(tampered(
            &ctx.path,
            format!("found {name} where {} should be", expected.name),
        ));
    }
    Ok(entry)
}

/// Reads whatever is left of an entry and checks its size and SHA-256.
pub(super) fn check_digest(
    ctx: &Ctx,
    mut data: HashingReader<'_>,
    expected: &ManifestEntry,
) -> Result<()> {
    io::copy(&mut data, &mut io::sink()).map_err(|e| ctx.io_error(e))?;
    if data.read != expected.size || <[u8; 32]>::from(data.hasher.finalize()) != expected.sha256 {
        return Err(tampered(
            &ctx.path,
            format!("{} does not match its checksum", expected.name),
        ));
    }
    Ok(())
}

/// Every entry's name and bytes, for tests that look inside a bundle.
#[cfg(test)]
pub(super) fn read_all_for_tests(
    bundle: &Path,
    opener: &Opener,
    each: &mut dyn FnMut(&str, &[u8]),
) -> Result<()> {
    read_bundle(bundle, opener, |ctx, entries| {
        while let Some(mut e) = next_raw(ctx, entries)? {
            let name = entry_name(&e);
            let mut bytes = Vec::new();
            e.read_to_end(&mut bytes).map_err(|e| ctx.io_error(e))?;
            each(&name, &bytes);
        }
        Ok(())
    })
}

pub(super) fn hashing(inner: &mut dyn Read) -> HashingReader<'_> {
    HashingReader {
        inner,
        hasher: sha2::Sha256::new(),
        read: 0,
    }
}

pub(super) fn entry_name<R: Read>(entry: &tar::Entry<'_, R>) -> String {
    String::from_utf8_lossy(&entry.path_bytes()).into_owned()
}
