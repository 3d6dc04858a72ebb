//! A version's content on its way from a bundle into the vault: read from
//! the tar entry (inside age) a buffer at a time, never whole, and checked
//! while it streams — its size and SHA-256 against the manifest, its ETag
//! against the version's metadata. A mismatch fails the read at the end of
//! the entry (or as soon as it runs past its size), so the blob being
//! written fails with it and the import's transaction rolls back.

use std::io::{self, Read};

use sha2::{Digest, Sha256};

use super::export::HashingReader;
use super::layout::VersionRecord;
use super::reader::{tampered, Ctx};
use super::ManifestEntry;
use crate::data::resource::content::{etag_hasher, finish_etag};
use crate::{Error, Result};

/// What is wrong with a content entry that streamed to its end, if
/// anything: its size, its SHA-256 (against the manifest) or its ETag
/// (against the version's metadata).
pub(super) fn mismatch(
    expected: &ManifestEntry,
    record_etag: &str,
    read: u64,
    sha256: [u8; 32],
    etag: &str,
) -> Option<&'static str> {
    if read != expected.size || sha256 != expected.sha256 {
        Some("does not match its checksum")
    } else if etag != record_etag {
        Some("does not match the ETag its metadata gives")
    } else {
        None
    }
}

/// The content entry of one version, checked as it is read.
pub(super) struct CheckedContent<'a, 'r> {
    ctx: &'a Ctx,
    expected: &'a ManifestEntry,
    record: &'a VersionRecord,
    data: HashingReader<'r>,
    etag: Sha256,
    /// The checks passed (the end was reached and matched).
    checked: bool,
}

impl<'a, 'r> CheckedContent<'a, 'r> {
    pub(super) fn new(
        ctx: &'a Ctx,
        expected: &'a ManifestEntry,
        record: &'a VersionRecord,
        data: HashingReader<'r>,
    ) -> Self {
        CheckedContent {
            ctx,
            expected,
            record,
            data,
            etag: etag_hasher(&record.content_type),
            checked: false,
        }
    }

    fn refused(&self, why: &str) -> Error {
        tampered(self.ctx.path(), format!("{} {why}", self.expected.name))
    }

    fn check_end(&mut self) -> Result<()> {
        let etag = finish_etag(std::mem::take(&mut self.etag));
        let sha256: [u8; 32] = std::mem::take(&mut self.data.hasher).finalize().into();
        match mismatch(
            self.expected,
            &self.record.etag,
            self.data.read,
            sha256,
            &etag,
        ) {
            Some(why) => Err(self.refused(why)),
            None => {
                self.checked = true;
                Ok(())
            }
        }
    }

    /// Reads what the writer left (a merge that keeps its own version
    /// reads none of it) and checks the whole entry.
    pub(super) fn finish(mut self) -> Result<()> {
        if self.checked {
            return Ok(());
        }
        io::copy(&mut self, &mut io::sink()).map_err(|e| Error::from_read(e, "reading"))?;
        if self.checked {
            Ok(())
        } else {
            Err(Error::Internal("a content entry was not checked".into()))
        }
    }
}

/// Errors come out as `io::Error`s holding the core error (a truncated or
/// tampered bundle), which [`Error::from_read`] gives back whole.
impl Read for CheckedContent<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.checked || buf.is_empty() {
            return Ok(0);
        }
        let n = self
            .data
            .read(buf)
            .map_err(|e| io::Error::other(self.ctx.io_error(e)))?;
        if self.data.read > self.expected.size {
            return Err(io::Error::other(
                self.refused("does not match its checksum"),
            ));
        }
        if n == 0 {
            self.check_end().map_err(io::Error::other)?;
        } else {
            self.etag.update(&buf[..n]);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(size: u64, content: &[u8]) -> ManifestEntry {
        ManifestEntry {
            name: "resources/a#v1".into(),
            size,
            sha256: Sha256::digest(content).into(),
            file: None,
        }
    }

    #[test]
    fn a_content_entry_must_match_its_size_checksum_and_etag() {
        let content = b"some bytes";
        let sha: [u8; 32] = Sha256::digest(content).into();
        let good = entry(10, content);
        assert_eq!(mismatch(&good, "e", 10, sha, "e"), None);
        assert!(mismatch(&good, "e", 9, sha, "e").is_some(), "size");
        assert!(mismatch(&good, "e", 10, [0; 32], "e").is_some(), "sha");
        assert_eq!(
            mismatch(&good, "e", 10, sha, "f"),
            Some("does not match the ETag its metadata gives")
        );
    }
}
