//! The vault key and its two wrappings.
//!
//! The database is encrypted under a random 256-bit key that never touches
//! disk in the clear. It is wrapped with `age` twice: under the passphrase
//! (an scrypt recipient, which age requires to be alone in its file) and under
//! an X25519 recovery identity shown to the person once. Both files open with
//! the standard `age` tool, so nothing here is proprietary.

use std::io::{Read, Write};
use std::iter;
use std::path::Path;

use age::secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use crate::{Error, Result};

/// Length of the raw vault key, in bytes.
pub const VAULT_KEY_LEN: usize = 32;

/// scrypt work factor (log2 N) for new passphrase wrappings. Measured to take
/// about a second per unlock on the reference machine in a release build
/// (see docs/BENCHMARKS.md). Fixed rather than machine-derived, so a vault
/// made on a fast machine still opens on a slow one.
pub const DEFAULT_WORK_FACTOR: u8 = 18;

/// The highest scrypt work factor accepted when unwrapping: 16× the default,
/// enough for a vault made on a much faster machine, low enough that a
/// hostile key file cannot make us compute for hours.
pub const MAX_WORK_FACTOR: u8 = 22;

/// The highest scrypt work factor accepted when opening a passphrase
/// bundle: what Custodian's own bundles and `age -p` use. A bundle is a file
/// anyone may hand over, so a header asking for more (4 GiB of memory at
/// 22) is refused before any key is derived.
pub const MAX_BUNDLE_WORK_FACTOR: u8 = DEFAULT_WORK_FACTOR;

/// Shortest passphrase accepted for a new vault or a new passphrase.
pub const MIN_PASSPHRASE_CHARS: usize = 8;

/// The raw key that opens the database. Zeroed when dropped.
pub struct VaultKey(Zeroizing<[u8; VAULT_KEY_LEN]>);

impl VaultKey {
    /// A fresh key from the operating system's random source.
    pub fn generate() -> Result<Self> {
        let mut bytes = Zeroizing::new([0u8; VAULT_KEY_LEN]);
        getrandom::fill(bytes.as_mut())
            .map_err(|e| Error::Internal(format!("no randomness from the OS: {e}")))?;
        Ok(VaultKey(bytes))
    }

    fn from_slice(bytes: &[u8]) -> Option<Self> {
        let array: [u8; VAULT_KEY_LEN] = bytes.try_into().ok()?;
        Some(VaultKey(Zeroizing::new(array)))
    }

    /// The `PRAGMA key` statement that selects SQLCipher's raw-key mode (the
    /// `x'…'` literal skips SQLCipher's own KDF).
    pub(crate) fn sqlcipher_pragma(&self) -> Zeroizing<String> {
        let hex = Zeroizing::new(hex::encode(&self.0[..]));
        Zeroizing::new(format!("PRAGMA key = \"x'{}'\";", hex.as_str()))
    }

    #[cfg(test)]
    pub(crate) fn hex(&self) -> String {
        hex::encode(&self.0[..])
    }
}

/// The recovery key: an age X25519 identity (`AGE-SECRET-KEY-1…`) shown once
/// at creation and never stored.
pub struct RecoveryKey(age::x25519::Identity);

impl RecoveryKey {
    pub(crate) fn generate() -> Self {
        RecoveryKey(age::x25519::Identity::generate())
    }

    /// Parses a recovery key as the person typed or saved it (surrounding
    /// white space and `#` comment lines, as age writes them, are ignored).
    pub fn parse(text: &str) -> Result<Self> {
        let line = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))
            .ok_or(Error::MalformedRecoveryKey)?;
        line.to_ascii_uppercase()
            .parse::<age::x25519::Identity>()
            .map(RecoveryKey)
            .map_err(|_| Error::MalformedRecoveryKey)
    }

    /// The key as text, to show the person once.
    pub fn expose(&self) -> SecretString {
        self.0.to_string()
    }
}

/// Refuses passphrases too weak to protect a vault.
pub fn check_new_passphrase(passphrase: &SecretString) -> Result<()> {
    let text = passphrase.expose_secret();
    if text.trim().is_empty() {
        return Err(Error::WeakPassphrase {
            reason: "it is empty",
        });
    }
    if text.chars().count() < MIN_PASSPHRASE_CHARS {
        return Err(Error::WeakPassphrase {
            reason: "it is shorter than 8 characters",
        });
    }
    Ok(())
}

/// Encrypts the vault key under a passphrase, with an explicit work factor.
pub(crate) fn wrap_with_passphrase(
    key: &VaultKey,
    passphrase: &SecretString,
    work_factor: u8,
) -> Result<Vec<u8>> {
    let mut recipient = age::scrypt::Recipient::new(passphrase.clone());
    recipient.set_work_factor(work_factor);
    wrap(key, &recipient)
}

/// Encrypts the vault key to the recovery identity's public half.
pub(crate) fn wrap_for_recovery(key: &VaultKey, recovery: &RecoveryKey) -> Result<Vec<u8>> {
    wrap(key, &recovery.0.to_public())
}

fn wrap(key: &VaultKey, recipient: &dyn age::Recipient) -> Result<Vec<u8>> {
    let encryptor = age::Encryptor::with_recipients(iter::once(recipient))
        .map_err(|e| Error::Internal(format!("age refused the recipient: {e}")))?;
    let mut out = Vec::with_capacity(256);
    let wrap_err = |e: std::io::Error| Error::Internal(format!("wrapping the vault key: {e}"));
    let mut writer = encryptor.wrap_output(&mut out).map_err(wrap_err)?;
    writer.write_all(key.0.as_ref()).map_err(wrap_err)?;
    writer.finish().map_err(wrap_err)?;
    Ok(out)
}

/// Decrypts a passphrase-wrapped key file's bytes.
pub(crate) fn unwrap_with_passphrase(
    data: &[u8],
    passphrase: &SecretString,
    file: &Path,
    vault_dir: &Path,
) -> Result<VaultKey> {
    unwrap_with_passphrase_capped(data, passphrase, file, vault_dir, MAX_WORK_FACTOR)
}

fn unwrap_with_passphrase_capped(
    data: &[u8],
    passphrase: &SecretString,
    file: &Path,
    vault_dir: &Path,
    max_work_factor: u8,
) -> Result<VaultKey> {
    let mut identity = age::scrypt::Identity::new(passphrase.clone());
    identity.set_max_work_factor(max_work_factor);
    unwrap(data, &identity, file).map_err(|e| match e {
        Unwrap::NoMatch => Error::WrongPassphrase {
            path: vault_dir.to_path_buf(),
        },
        Unwrap::Excessive(required) => Error::ExcessiveWork {
            path: file.to_path_buf(),
            required,
            max: max_work_factor,
        },
        Unwrap::Other(e) => e,
    })
}

/// Decrypts the recovery-wrapped key file's bytes.
pub(crate) fn unwrap_with_recovery(
    data: &[u8],
    recovery: &RecoveryKey,
    file: &Path,
    vault_dir: &Path,
) -> Result<VaultKey> {
    unwrap(data, &recovery.0, file).map_err(|e| match e {
        Unwrap::NoMatch | Unwrap::Excessive(_) => Error::WrongRecoveryKey {
            path: vault_dir.to_path_buf(),
        },
        Unwrap::Other(e) => e,
    })
}

enum Unwrap {
    NoMatch,
    Excessive(u8),
    Other(Error),
}

fn unwrap(data: &[u8], identity: &dyn age::Identity, file: &Path) -> Result<VaultKey, Unwrap> {
    let damaged = |reason: String| {
        Unwrap::Other(Error::KeyFileDamaged {
            path: file.to_path_buf(),
            reason,
        })
    };
    let decryptor = age::Decryptor::new(data).map_err(|e| damaged(e.to_string()))?;
    let mut reader = match decryptor.decrypt(iter::once(identity)) {
        Ok(r) => r,
        Err(age::DecryptError::DecryptionFailed | age::DecryptError::NoMatchingKeys) => {
            return Err(Unwrap::NoMatch)
        }
        Err(age::DecryptError::ExcessiveWork { required, .. }) => {
            return Err(Unwrap::Excessive(required))
        }
        Err(e) => return Err(damaged(e.to_string())),
    };
    let mut plain = Zeroizing::new(Vec::with_capacity(VAULT_KEY_LEN));
    reader
        .read_to_end(&mut plain)
        .map_err(|e| damaged(e.to_string()))?;
    VaultKey::from_slice(&plain)
        .ok_or_else(|| damaged(format!("holds {} bytes, not a 32-byte key", plain.len())))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOW: u8 = 4;

    fn pass(s: &str) -> SecretString {
        SecretString::from(s.to_string())
    }

    #[test]
    fn passphrase_round_trip_and_wrong_passphrase() {
        let key = VaultKey::generate().unwrap();
        let wrapped = wrap_with_passphrase(&key, &pass("correct horse"), LOW).unwrap();
        let dir = Path::new("/v");
        let back = unwrap_with_passphrase(&wrapped, &pass("correct horse"), dir, dir).unwrap();
        assert_eq!(back.hex(), key.hex());
        let err = unwrap_with_passphrase(&wrapped, &pass("wrong horse"), dir, dir)
            .err()
            .unwrap();
        assert!(matches!(err, Error::WrongPassphrase { .. }), "{err}");
    }

    #[test]
    fn recovery_round_trip_and_wrong_recovery_key() {
        let key = VaultKey::generate().unwrap();
        let recovery = RecoveryKey::generate();
        let wrapped = wrap_for_recovery(&key, &recovery).unwrap();
        let text = recovery.expose().expose_secret().to_string();
        assert!(text.starts_with("AGE-SECRET-KEY-1"));
        let parsed = RecoveryKey::parse(&format!("# saved\n  {}\n", text.to_lowercase())).unwrap();
        let dir = Path::new("/v");
        assert_eq!(
            unwrap_with_recovery(&wrapped, &parsed, dir, dir)
                .unwrap()
                .hex(),
            key.hex()
        );
        let other = RecoveryKey::generate();
        let err = unwrap_with_recovery(&wrapped, &other, dir, dir)
            .err()
            .unwrap();
        assert!(matches!(err, Error::WrongRecoveryKey { .. }), "{err}");
    }

    #[test]
    fn damaged_and_excessive_key_files_are_named() {
        let dir = Path::new("/v");
        let err = unwrap_with_passphrase(b"garbage", &pass("x"), dir, dir)
            .err()
            .unwrap();
        assert!(matches!(err, Error::KeyFileDamaged { .. }), "{err}");
        let key = VaultKey::generate().unwrap();
        let wrapped = wrap_with_passphrase(&key, &pass("p"), LOW + 1).unwrap();
        let err = unwrap_with_passphrase_capped(&wrapped, &pass("p"), dir, dir, LOW)
            .err()
            .unwrap();
        assert!(
            matches!(
                err,
                Error::ExcessiveWork {
                    required: 5,
                    max: 4,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn malformed_recovery_keys_are_refused() {
        for text in [
            "",
            "   ",
            "# only a comment",
            "AGE-SECRET-KEY-1NOPE",
            "age1abc",
        ] {
            assert!(
                matches!(RecoveryKey::parse(text), Err(Error::MalformedRecoveryKey)),
                "{text:?}"
            );
        }
    }

    #[test]
    fn weak_passphrases_are_refused() {
        assert!(check_new_passphrase(&pass("")).is_err());
        assert!(check_new_passphrase(&pass("        ")).is_err());
        assert!(check_new_passphrase(&pass("short")).is_err());
        assert!(check_new_passphrase(&pass("éééééééé")).is_ok());
    }

    #[test]
    fn pragma_uses_raw_key_literal() {
        let key = VaultKey::generate().unwrap();
        let pragma = key.sqlcipher_pragma();
        assert_eq!(
            pragma.as_str(),
            format!("PRAGMA key = \"x'{}'\";", key.hex())
        );
    }
}
