//! Secrets handed to companies (access tokens, device codes), the codes a
//! person reads (user codes), and ids.
//!
//! Tokens look like GitHub's: a prefix a secret scanner can spot (`cst_`
//! for access tokens, `csd_` for device codes), 256 random bits, and a short
//! checksum, so a mistyped or truncated token is told apart from an unknown
//! one without a database read. Only the SHA-256 of a token is ever stored.

use std::fmt;

use data_encoding::BASE32_NOPAD;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::{Error, Result};

/// Prefix of access tokens.
pub const ACCESS_TOKEN_PREFIX: &str = "cst_";
/// Prefix of device codes.
pub const DEVICE_CODE_PREFIX: &str = "csd_";

const SECRET_BYTES: usize = 32;
/// Base32 of 32 bytes, unpadded.
const BODY_CHARS: usize = 52;
/// Base32 of a 4-byte CRC32, unpadded.
const CHECKSUM_CHARS: usize = 7;

/// The SHA-256 of a token or device code, hex: what the database keeps.
///
/// Made only by [`generate`] (a new secret) and [`check`] (a presented
/// one, parsed once at the door), so holding one means the token's shape
/// and checksum were right; everything after the door passes this, never
/// the token's text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenHash(String);

impl TokenHash {
    /// The hex text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A hash with the given text, for tests that only count by it.
    #[cfg(test)]
    pub(crate) fn for_tests(text: &str) -> Self {
        TokenHash(text.to_string())
    }
}

/// Why a presented token was rejected before any lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    WrongPrefix,
    WrongLength,
    BadCharacters,
    BadChecksum,
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Malformed::WrongPrefix => "the token has the wrong prefix",
            Malformed::WrongLength => "the token has the wrong length (truncated?)",
            Malformed::BadCharacters => "the token has characters a token never has",
            Malformed::BadChecksum => "the token's checksum does not match (mistyped?)",
        })
    }
}

fn random_bytes<const N: usize>() -> Result<Zeroizing<[u8; N]>> {
    let mut bytes = Zeroizing::new([0u8; N]);
    getrandom::fill(bytes.as_mut())
        .map_err(|e| Error::Internal(format!("no randomness from the OS: {e}")))?;
    Ok(bytes)
}

fn checksum(body: &[u8]) -> String {
    BASE32_NOPAD
        .encode(&crc32fast::hash(body).to_be_bytes())
        .to_ascii_lowercase()
}

/// Creates a new secret with `prefix`; returns it (to hand out once) and its hash.
pub fn generate(prefix: &str) -> Result<(SecretString, TokenHash)> {
    let bytes = random_bytes::<SECRET_BYTES>()?;
    let body = Zeroizing::new(BASE32_NOPAD.encode(bytes.as_ref()).to_ascii_lowercase());
    let text = format!("{prefix}{}{}", body.as_str(), checksum(bytes.as_ref()));
    let hash = hash_token(&text);
    Ok((SecretString::from(text), hash))
}

/// The stored form of a token.
fn hash_token(token: &str) -> TokenHash {
    TokenHash(hex::encode(Sha256::digest(token.as_bytes())))
}

/// Checks a presented token's shape and checksum; returns the hash to look
/// up. Costs no database read.
pub fn check(token: &str, prefix: &str) -> Result<TokenHash, Malformed> {
    let rest = token.strip_prefix(prefix).ok_or(Malformed::WrongPrefix)?;
    if rest.len() != BODY_CHARS + CHECKSUM_CHARS {
        return Err(Malformed::WrongLength);
    }
    if !rest
        .bytes()
        .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b))
    {
        return Err(Malformed::BadCharacters);
    }
    let (body, sum) = rest.split_at(BODY_CHARS);
    let bytes = Zeroizing::new(
        BASE32_NOPAD
            .decode(body.to_ascii_uppercase().as_bytes())
            .map_err(|_| Malformed::BadCharacters)?,
    );
    if checksum(&bytes) != sum {
        return Err(Malformed::BadChecksum);
    }
    Ok(hash_token(token))
}

/// Parses a presented access token (`cst_…`) once, at the door: its hash,
/// or why it cannot be one.
pub fn check_access(token: &str) -> Result<TokenHash, Malformed> {
    check(token, ACCESS_TOKEN_PREFIX)
}

/// Letters a person can read aloud and type without confusion (no vowels, so
/// no words; no 0/O, 1/I).
const USER_CODE_ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";

/// A user code like `WDJB-MJHT` (RFC 8628 §6.1): 20^8 ≈ 2.6·10^10 values.
pub fn user_code() -> Result<String> {
    let bytes = random_bytes::<8>()?;
    let chars: String = bytes
        .iter()
        .map(|b| USER_CODE_ALPHABET[(*b as usize) % USER_CODE_ALPHABET.len()] as char)
        .collect();
    Ok(format!("{}-{}", &chars[..4], &chars[4..]))
}

/// Normalises what a person typed as a user code: case and dashes do not matter.
pub fn normalize_user_code(typed: &str) -> Option<String> {
    let letters: String = typed
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (letters.len() == 8 && letters.bytes().all(|b| USER_CODE_ALPHABET.contains(&b)))
        .then(|| format!("{}-{}", &letters[..4], &letters[4..]))
}

/// A short random id with a readable prefix (`cli_`, `req_`, `grt_`).
pub fn new_id(prefix: &str) -> Result<String> {
    let bytes = random_bytes::<10>()?;
    Ok(format!(
        "{prefix}{}",
        BASE32_NOPAD.encode(bytes.as_ref()).to_ascii_lowercase()
    ))
}

/// Exposes a secret's text (for the one response that hands it out).
pub fn reveal(secret: &SecretString) -> &str {
    secret.expose_secret()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_check_and_hash() {
        let (token, hash) = generate(ACCESS_TOKEN_PREFIX).unwrap();
        let text = token.expose_secret();
        assert!(text.starts_with("cst_"));
        assert_eq!(text.len(), 4 + 52 + 7);
        assert_eq!(check(text, ACCESS_TOKEN_PREFIX), Ok(hash.clone()));
        assert_eq!(hash.as_str().len(), 64);
        assert_ne!(hash.as_str(), text);
        let (other, _) = generate(ACCESS_TOKEN_PREFIX).unwrap();
        assert_ne!(other.expose_secret(), text);
    }

    #[test]
    fn malformed_tokens_are_told_apart() {
        let (token, _) = generate(ACCESS_TOKEN_PREFIX).unwrap();
        let text = token.expose_secret().to_string();
        assert_eq!(
            check(&text, DEVICE_CODE_PREFIX),
            Err(Malformed::WrongPrefix)
        );
        assert_eq!(
            check(&text[..40], ACCESS_TOKEN_PREFIX),
            Err(Malformed::WrongLength)
        );
        let mut typo = text.clone().into_bytes();
        let i = 10;
        typo[i] = if typo[i] == b'a' { b'b' } else { b'a' };
        assert_eq!(
            check(std::str::from_utf8(&typo).unwrap(), ACCESS_TOKEN_PREFIX),
            Err(Malformed::BadChecksum)
        );
        let upper = format!("cst_{}", text[4..].to_ascii_uppercase());
        assert_eq!(
            check(&upper, ACCESS_TOKEN_PREFIX),
            Err(Malformed::BadCharacters)
        );
    }

    #[test]
    fn user_codes_are_readable_and_normalised() {
        let code = user_code().unwrap();
        assert_eq!(code.len(), 9);
        assert_eq!(
            normalize_user_code(&code.to_lowercase().replace('-', "")),
            Some(code.clone())
        );
        assert_eq!(normalize_user_code("wdjb mjht"), Some("WDJB-MJHT".into()));
        assert_eq!(normalize_user_code("AEIO-UUUU"), None);
        assert_eq!(normalize_user_code("WDJB"), None);
    }

    #[test]
    fn ids_have_their_prefix() {
        let id = new_id("grt_").unwrap();
        assert!(id.starts_with("grt_") && id.len() == 4 + 16, "{id}");
    }
}
