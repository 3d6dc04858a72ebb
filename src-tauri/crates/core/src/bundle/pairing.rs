//! How both passes of an import pair a version's entries: its metadata
//! (`…#vN.meta.json`) and, right after it, its content (`…#vN`, of the
//! size the metadata gives). One place, so the first pass (which stages a
//! merge's large content) and the second (which writes it, and refuses a
//! bundle whose content is not where its metadata announced it) cannot
//! disagree about which entry is whose content.

use super::export::HashingReader;
use super::layout::{self, VersionRecord};
use super::reader::{check_digest, Ctx};
use super::tables::parse_record;
use super::{read_limited, ManifestEntry};
use crate::Result;

/// What an entry is to the versions.
#[derive(Debug)]
pub(super) enum Entry {
    /// The content of the version whose metadata came just before.
    Content(Box<VersionRecord>),
    /// Not the content the version just before announced (its name or
    /// size differs): the second pass refuses the bundle.
    NotAnnounced,
    /// A version's metadata, still to be read ([`read_meta`]).
    Meta,
    /// Anything else (a table, the README, the preferences).
    Other,
}

/// The live version whose content comes next, if any.
#[derive(Default)]
pub(super) struct Pairing {
    announced: Option<VersionRecord>,
}

impl Pairing {
    /// What the next entry of the manifest is.
    pub(super) fn next(&mut self, expected: &ManifestEntry) -> Entry {
        if let Some(record) = self.announced.take() {
            return if expected.name == layout::content_name(&record.path, record.version)
                && expected.size == record.size
            {
                Entry::Content(Box::new(record))
            } else {
                Entry::NotAnnounced
            };
        }
        if expected.name.starts_with("resources/") && expected.name.ends_with(".meta.json") {
            Entry::Meta
        } else {
            Entry::Other
        }
    }

    /// A live version's metadata was read: its content is the next entry.
    pub(super) fn announce(&mut self, record: VersionRecord) {
        self.announced = Some(record);
    }

    /// Whether a version's content is still awaited (at the end of the
    /// bundle: its history is incomplete).
    pub(super) fn waiting(&self) -> bool {
        self.announced.is_some()
    }
}

/// Reads a version's metadata entry whole (it is small) and checks it
/// against the manifest (the outer error), then parses it (the inner one:
/// the first pass leaves a record that does not parse to the second,
/// which refuses it once the whole bundle is known to be intact).
pub(super) fn read_meta(
    ctx: &Ctx,
    mut data: HashingReader<'_>,
    expected: &ManifestEntry,
) -> Result<Result<VersionRecord>> {
    let bytes = read_limited(&mut data, layout::MAX_RECORD_BYTES).map_err(|e| ctx.io_error(e))?;
    check_digest(ctx, data, expected)?;
    Ok(parse_record(ctx.path(), &expected.name, &bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(size: u64) -> VersionRecord {
        serde_json::from_value(serde_json::json!({
            "path": "/files/a", "version": 2, "content_type": "text/plain",
            "category": "documents", "sensitivity": "normal", "etag": "e",
            "size": size, "deleted": false, "author": "owner", "written_at": "2026-11-24T10:00:00.000Z",
            "live_since": "2026-11-24T10:00:00.000Z"
        }))
        .unwrap()
    }

    fn entry(name: &str, size: u64) -> ManifestEntry {
        ManifestEntry {
            name: name.into(),
            size,
            sha256: [0; 32],
            file: None,
        }
    }

    #[test]
    fn a_versions_content_is_the_entry_its_metadata_announced() {
        let mut pairing = Pairing::default();
        assert!(matches!(
            pairing.next(&entry("resources/files/a#v2.meta.json", 300)),
            Entry::Meta
        ));
        assert!(matches!(
            pairing.next(&entry("clients.jsonl", 3)),
            Entry::Other
        ));
        pairing.announce(record(10));
        assert!(pairing.waiting());
        assert!(matches!(
            pairing.next(&entry("resources/files/a#v2", 10)),
            Entry::Content(r) if r.version == 2
        ));
        assert!(!pairing.waiting());
        for (name, size) in [
            ("resources/files/a#v2", 11),
            ("resources/files/a#v1", 10),
            ("resources/files/b#v2", 10),
            ("resources/files/a#v3.meta.json", 10),
        ] {
            pairing.announce(record(10));
            assert!(
                matches!(pairing.next(&entry(name, size)), Entry::NotAnnounced),
                "{name} {size}"
            );
        }
    }
}
