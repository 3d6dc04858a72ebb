//! The manifest's JSON, written and read a piece at a time: a vault of a
//! million resources has a manifest of two million entries (about 280 MB of
//! JSON), which neither the export nor the import holds as one buffer
//! beside the parsed entries. The bytes are exactly those of
//! [`Manifest::to_json`]: the header pretty-printed, then one entry per line.

use std::io::{self, BufReader, Read};

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{Counts, Manifest};
use crate::{Error, Result};

/// Reads the manifest's JSON, producing it as it goes (a header, then each
/// entry's line, then the closing lines).
pub(super) struct ManifestJson<'a> {
    manifest: &'a Manifest,
    /// The next entry to write.
    next: usize,
    /// Bytes made and not yet read.
    pending: Vec<u8>,
    at: usize,
    done: bool,
}

impl<'a> ManifestJson<'a> {
    pub(super) fn new(manifest: &'a Manifest) -> Result<Self> {
        Ok(ManifestJson {
            manifest,
            next: 0,
            pending: head(manifest)?,
            at: 0,
            done: false,
        })
    }

    /// The JSON's length in bytes, counted by making it once (nothing held).
    pub(super) fn len(manifest: &Manifest) -> Result<u64> {
        let mut json = ManifestJson::new(manifest)?;
        io::copy(&mut json, &mut io::sink()).map_err(|e| Error::Internal(e.to_string()))
    }

    /// Makes the next piece into `pending`; false when everything was made.
    fn refill(&mut self) -> io::Result<bool> {
        self.pending.clear();
        self.at = 0;
        if self.done {
            return Ok(false);
        }
        match self.manifest.entries.get(self.next) {
            Some(entry) => {
                self.pending.extend_from_slice(if self.next == 0 {
                    b"\n    "
                } else {
                    b",\n    "
                });
                serde_json::to_writer(&mut self.pending, entry).map_err(io::Error::other)?;
                self.next += 1;
            }
            None => {
                self.pending.extend_from_slice(b"\n  ]\n}\n");
                self.done = true;
            }
        }
        Ok(true)
    }
}

impl Read for ManifestJson<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.pending.len() {
            if !self.refill()? {
                return Ok(0);
            }
        }
        let n = buf.len().min(self.pending.len() - self.at);
        buf[..n].copy_from_slice(&self.pending[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// The header: every field but the entries, pretty-printed, then the
/// opening of the entries' array.
fn head(m: &Manifest) -> Result<Vec<u8>> {
    #[derive(Serialize)]
    struct Head<'a> {
        format: &'a str,
        format_version: u32,
        vault_id: &'a str,
        created_at: &'a str,
        written_by: &'a str,
        counts: &'a Counts,
    }
    let head = serde_json::to_string_pretty(&Head {
        format: &m.format,
        format_version: m.format_version,
        vault_id: &m.vault_id,
        created_at: &m.created_at,
        written_by: &m.written_by,
        counts: &m.counts,
    })
    .map_err(|e| Error::Internal(e.to_string()))?;
    let head = head
        .trim_end()
        .strip_suffix('}')
        .unwrap_or(&head)
        .trim_end();
    let mut out = Vec::with_capacity(head.len() + 20);
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(b",\n  \"entries\": [");
    Ok(out)
}

/// How much of a manifest is read to find its header (format and version)
/// before the whole is parsed.
pub(super) const HEAD_BYTES: u64 = 64 * 1024;

/// The header fields a reader checks before anything else.
#[derive(serde::Deserialize)]
pub(super) struct FormatHead {
    pub format: String,
    pub format_version: u32,
}

/// The format and version from the start of a manifest: the text before
/// its `"entries"` key closed as an object (a manifest as Custodian writes
/// it has its header first), or the whole when it is that short.
pub(super) fn format_head(start: &[u8]) -> Option<FormatHead> {
    if let Ok(head) = serde_json::from_slice(start) {
        return Some(head);
    }
    let key = start.windows(9).position(|w| w == b"\"entries\"")?;
    let before = std::str::from_utf8(&start[..key]).ok()?.trim_end();
    let before = before.strip_suffix(',').unwrap_or(before);
    serde_json::from_str(&format!("{before}}}")).ok()
}

/// Parses a manifest from `start` (bytes already read) and then `rest`,
/// hashing every byte: the manifest and the SHA-256 of its bytes. Never
/// holds the JSON as one buffer.
pub(super) fn parse_hashed(
    start: &[u8],
    rest: impl Read,
) -> serde_json::Result<(Manifest, [u8; 32])> {
    struct Hashing<R> {
        inner: R,
        hasher: Sha256,
    }
    impl<R: Read> Read for Hashing<R> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.inner.read(buf)?;
            self.hasher.update(&buf[..n]);
            Ok(n)
        }
    }
    let mut hashing = Hashing {
        inner: io::Cursor::new(start).chain(rest),
        hasher: Sha256::new(),
    };
    // serde_json reads to the end (only whitespace may follow), so every
    // byte passes through the hasher.
    let manifest = serde_json::from_reader(BufReader::with_capacity(1 << 16, &mut hashing))?;
    Ok((manifest, hashing.hasher.finalize().into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::ManifestEntry;

    fn manifest(n: usize) -> Manifest {
        Manifest {
            format: crate::bundle::FORMAT_NAME.into(),
            format_version: crate::bundle::FORMAT_VERSION,
            vault_id: "v".into(),
            created_at: "2026-11-30T00:00:00Z".into(),
            written_by: "test".into(),
            counts: Counts::default(),
            entries: (0..n)
                .map(|i| ManifestEntry {
                    name: format!("resources/r{i}/v1.json"),
                    size: i as u64,
                    sha256: [i as u8; 32],
                    file: None,
                })
                .collect(),
        }
    }

    #[test]
    fn the_streamed_json_is_the_manifest_and_reads_back_with_its_digest() {
        for n in [0, 1, 3, 1000] {
            let m = manifest(n);
            let mut streamed = Vec::new();
            // A small buffer: pieces cross every read boundary.
            let mut json = ManifestJson::new(&m).unwrap();
            let mut buf = [0u8; 7];
            loop {
                let k = json.read(&mut buf).unwrap();
                if k == 0 {
                    break;
                }
                streamed.extend_from_slice(&buf[..k]);
            }
            assert_eq!(ManifestJson::len(&m).unwrap(), streamed.len() as u64);
            let whole: Manifest = serde_json::from_slice(&streamed).unwrap();
            assert_eq!(whole, m);
            let head = format_head(&streamed[..streamed.len().min(HEAD_BYTES as usize)]).unwrap();
            assert_eq!(head.format_version, m.format_version);
            let (start, rest) = streamed.split_at(streamed.len() / 2);
            let (parsed, digest) = parse_hashed(start, rest).unwrap();
            assert_eq!(parsed, m);
            assert_eq!(digest, <[u8; 32]>::from(Sha256::digest(&streamed)));
        }
    }

    #[test]
    fn a_head_is_found_before_the_entries_or_not_at_all() {
        let head = format_head(
            b"{\n  \"format\": \"x\",\n  \"format_version\": 9,\n  \"entries\": [\n    {\"na",
        )
        .unwrap();
        assert_eq!((head.format.as_str(), head.format_version), ("x", 9));
        assert!(format_head(b"not json at all").is_none());
        assert!(format_head(b"{\"entries\": [").is_none());
    }
}
