//! Where a listing page starts, and the sealed cursor that carries it when
//! it must not be read.
//!
//! A company's page examines a bounded number of rows ([`super::list`]);
//! when the budget runs out on a row the company may not see, the next page
//! must start after that row, yet the `next` cursor must not name it. Such
//! a cursor is sealed: the start point encrypted and authenticated
//! (XChaCha20-Poly1305, a random nonce each) under a random key that lives
//! only in memory, one per unlocked vault ([`CursorKey`]), bound to the
//! container it lists and to the company it was given to. A company can
//! hand it back but neither read nor forge it, nor use it for another
//! container or pass it to another company; after the vault is locked and
//! opened again (the pod restarted), the old cursors no longer open and
//! the listing starts again. The start point is padded to the longest
//! allowed path before it is sealed, so every sealed cursor has the same
//! length whatever it names.

use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use zeroize::{Zeroize, Zeroizing};

use crate::data::path::MAX_PATH_BYTES;
use crate::{Error, Result};

/// The first character of a sealed cursor; a path starts with `/`.
const SEALED: char = '~';
/// The nonce's length (XChaCha20).
const NONCE: usize = 24;
/// The sealed plaintext's length: the `inclusive` flag, the start's length
/// (two bytes, big-endian), the start padded with zeros to the longest
/// allowed path.
const PLAIN: usize = 3 + MAX_PATH_BYTES;

/// Where a page starts in the `resources` key: at or after `from`
/// (`inclusive`), or strictly after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Start {
    pub(super) from: String,
    pub(super) inclusive: bool,
}

/// The key that seals cursors: 32 random bytes, made on first use, held
/// in memory only (shared by every connection of one unlocked vault),
/// wiped when dropped.
#[derive(Default)]
pub struct CursorKey(OnceLock<[u8; 32]>);

impl Drop for CursorKey {
    fn drop(&mut self) {
        if let Some(k) = self.0.get_mut() {
            k.zeroize();
        }
    }
}

impl std::fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorKey(…)")
    }
}

impl CursorKey {
    fn cipher(&self) -> Result<XChaCha20Poly1305> {
        let key = match self.0.get() {
            Some(k) => k,
            None => {
                // The stack copy is wiped once moved into place.
                let mut k = Zeroizing::new([0u8; 32]);
                getrandom::fill(k.as_mut())
                    .map_err(|e| Error::Internal(format!("no randomness for a cursor key: {e}")))?;
                self.0.get_or_init(|| *k)
            }
        };
        Ok(XChaCha20Poly1305::new(key.into()))
    }
}

/// Whether `after` is a sealed cursor rather than a path.
pub(super) fn is_sealed(after: &str) -> bool {
    after.starts_with(SEALED)
}

/// What a cursor is bound to: the container `prefix` and the company
/// `viewer`, each preceded by its length so no two pairs read alike.
fn bound_to(prefix: &str, viewer: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(16 + prefix.len() + viewer.len());
    for part in [prefix, viewer] {
        aad.extend_from_slice(&(part.len() as u64).to_be_bytes());
        aad.extend_from_slice(part.as_bytes());
    }
    aad
}

/// `start`, a point inside the container `prefix`, sealed for the next
/// page `viewer` (the company's client id) asks for.
pub(super) fn seal(key: &CursorKey, prefix: &str, viewer: &str, start: &Start) -> Result<String> {
    let from = start.from.as_bytes();
    let len = u16::try_from(from.len())
        .ok()
        .filter(|&n| usize::from(n) <= MAX_PATH_BYTES)
        .ok_or_else(|| Error::Internal("a listing cursor longer than a path".into()))?;
    let mut nonce = [0u8; NONCE];
    getrandom::fill(&mut nonce)
        .map_err(|e| Error::Internal(format!("no randomness for a cursor: {e}")))?;
    let mut plain = Vec::with_capacity(PLAIN);
    plain.push(u8::from(start.inclusive));
    plain.extend_from_slice(&len.to_be_bytes());
    plain.extend_from_slice(from);
    plain.resize(PLAIN, 0);
    let sealed = key
        .cipher()?
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: &plain,
                aad: &bound_to(prefix, viewer),
            },
        )
        .map_err(|_| Error::Internal("sealing a listing cursor failed".into()))?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    Ok(format!("{SEALED}{}", URL_SAFE_NO_PAD.encode(out)))
}

/// Why a cursor is refused: the same words whatever is wrong with it
/// (forged, changed, foreign, stale, or a path a company may not start
/// after), so the refusal tells nothing more.
pub(super) fn refused() -> Error {
    Error::InvalidRequest(
        "the listing's cursor is not one this pod gave for this container, or it was \
         given before the pod restarted; start the listing again from its beginning"
            .into(),
    )
}

/// The start point a sealed cursor carries, if `key` sealed it for the
/// container `prefix` and the company `viewer`; anything else (forged,
/// changed, from another container or company, or sealed before the vault
/// was last opened) is refused.
pub(super) fn open(key: &CursorKey, prefix: &str, viewer: &str, cursor: &str) -> Result<Start> {
    let bytes = cursor
        .strip_prefix(SEALED)
        .and_then(|b| URL_SAFE_NO_PAD.decode(b).ok())
        .filter(|b| b.len() > NONCE)
        .ok_or_else(refused)?;
    let (nonce, sealed) = bytes.split_at(NONCE);
    let plain = key
        .cipher()?
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: sealed,
                aad: &bound_to(prefix, viewer),
            },
        )
        .map_err(|_| refused())?;
    if plain.len() != PLAIN {
        return Err(refused());
    }
    let len = usize::from(u16::from_be_bytes([plain[1], plain[2]]));
    let inclusive = plain[0];
    let from = plain.get(3..3 + len).ok_or_else(refused)?;
    let from = String::from_utf8(from.to_vec()).map_err(|_| refused())?;
    if inclusive > 1 || !from.starts_with(prefix) {
        return Err(refused());
    }
    Ok(Start {
        from,
        inclusive: inclusive == 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start(from: &str, inclusive: bool) -> Start {
        Start {
            from: from.into(),
            inclusive,
        }
    }

    #[test]
    fn a_sealed_cursor_opens_to_its_start_and_reveals_nothing() {
        let key = CursorKey::default();
        for s in [start("/c/secret", false), start("/c/d0", true)] {
            let sealed = seal(&key, "/c/", "co", &s).unwrap();
            assert!(is_sealed(&sealed));
            assert!(!sealed.contains("secret") && !sealed.contains("/c/"));
            assert_eq!(open(&key, "/c/", "co", &sealed).unwrap(), s);
            // A fresh nonce each time: equal starts do not look equal.
            assert_ne!(seal(&key, "/c/", "co", &s).unwrap(), sealed);
        }
        assert!(!is_sealed("/c/a"));
    }

    #[test]
    fn every_sealed_cursor_has_one_length_whatever_it_names() {
        let key = CursorKey::default();
        let longest = format!("/c/{}", "x".repeat(MAX_PATH_BYTES - 3));
        let lengths: Vec<usize> = ["/c/a", "/c/a-much-longer-hidden-name", &longest]
            .iter()
            .map(|from| seal(&key, "/c/", "co", &start(from, false)).unwrap().len())
            .collect();
        assert!(lengths.iter().all(|&n| n == lengths[0]), "{lengths:?}");
        let sealed = seal(&key, "/c/", "co", &start(&longest, true)).unwrap();
        assert_eq!(open(&key, "/c/", "co", &sealed).unwrap().from, longest);
    }

    #[test]
    fn a_forged_changed_stale_or_moved_cursor_is_refused() {
        let key = CursorKey::default();
        let sealed = seal(&key, "/c/", "co", &start("/c/x", false)).unwrap();
        let refused = |r: Result<Start>| match r {
            Err(Error::InvalidRequest(m)) => assert!(m.contains("start the listing again"), "{m}"),
            other => panic!("not refused: {other:?}"),
        };
        // Each character changed in turn.
        for i in 1..sealed.len() {
            let mut b = sealed.clone().into_bytes();
            b[i] = if b[i] == b'A' { b'B' } else { b'A' };
            refused(open(&key, "/c/", "co", &String::from_utf8(b).unwrap()));
        }
        refused(open(&key, "/d/", "co", &sealed));
        // Bound to the company it was given to.
        refused(open(&key, "/c/", "other", &sealed));
        refused(open(&CursorKey::default(), "/c/", "co", &sealed));
        for forged in ["~", "~AAAA", "~!!", "/c/x", ""] {
            refused(open(&key, "/c/", "co", forged));
        }
    }
}
