//! What may be stored at a path (content types, JSON that parses, the
//! preference schema) and a version's ETag.

use sha2::{Digest, Sha256};

use crate::data::path::PodPath;
use crate::{Error, Result};

use super::*;

pub(crate) fn is_json_type(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == JSON || essence.ends_with("+json")
}

pub(super) fn etag_of(content_type: &str, content: &[u8]) -> String {
    let mut h = etag_hasher(content_type);
    h.update(content);
    finish_etag(h)
}

/// The ETag's hash before the content: fed the bytes as they stream by,
/// then [`finish_etag`].
pub(crate) fn etag_hasher(content_type: &str) -> Sha256 {
    let mut h = Sha256::new();
    h.update(content_type.as_bytes());
    h.update([0]);
    h
}

pub(crate) fn finish_etag(h: Sha256) -> String {
    hex::encode(&h.finalize()[..16])
}

/// Checks content read back against the checksum stored beside it (the
/// ETag). SQLCipher zeroes a page whose HMAC fails and reports the damage
/// only on later reads, so the last page of a row that spills over several
/// pages can come back as zeros with no error: this turns that into
/// [`Error::DatabaseDamaged`] instead of handing zeros out as the content.
pub(crate) fn check_content(
    path: &str,
    version: u64,
    content_type: &str,
    etag: &str,
    content: &[u8],
) -> Result<()> {
    if etag_of(content_type, content) == etag {
        Ok(())
    } else {
        Err(Error::DatabaseDamaged {
            path: std::path::PathBuf::from(crate::vault::DB_FILE),
            reason: format!("{path} version {version} reads back different from what was written"),
        })
    }
}

pub(super) fn check_content_type(path: &PodPath, content_type: &str) -> Result<()> {
    let ok = !content_type.is_empty()
        && content_type.len() <= 255
        && content_type.contains('/')
        && !content_type.chars().any(|c| c.is_control());
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidContent {
            path: path.to_string(),
            reason: format!("{content_type:?} is not a content type like application/json"),
        })
    }
}
