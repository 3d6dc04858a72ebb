//! The pod's identity: its Ed25519 signing key (RFC 8032) and the id every
//! company and auditor knows it by, the key's JWK thumbprint (RFC 7638).
//!
//! The key is made from the OS random generator when the vault's database
//! is created, or by migration 5 when an older vault is first opened after
//! the upgrade (in that migration's own transaction), and it lives only in
//! the `pod_key` table of the encrypted database: never in a file of its
//! own, never in a plain export. In memory it is held in types that zero
//! themselves on drop (the seed in `Zeroizing`, the dalek `SigningKey`).
//! Its public half is an OKP JWK (RFC 8037): `{"crv":"Ed25519","kty":"OKP","x":…}`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use ed25519_dalek::SigningKey;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::vault::record::{column, TableRecord};
use crate::vault::store::Store;
use crate::{Error, Result};

/// Who the pod is, as companies and auditors see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PodIdentity {
    /// The RFC 7638 thumbprint (SHA-256, base64url) of the public JWK.
    pub id: String,
    /// The public key as an OKP Ed25519 JWK, with `kid` = [`PodIdentity::id`],
    /// `alg` = EdDSA, `use` = sig.
    pub jwk: serde_json::Value,
}

impl PodIdentity {
    /// The identity of the public key `x` (32 bytes, base64url).
    pub fn from_public(x: &str) -> PodIdentity {
        let id = thumbprint(x);
        PodIdentity {
            jwk: serde_json::json!({
                "kty": "OKP",
                "crv": "Ed25519",
                "x": x,
                "kid": id,
                "alg": "EdDSA",
                "use": "sig",
            }),
            id,
        }
    }

    /// The JWK Set (RFC 7517 §5) that publishes the key: `{"keys":[jwk]}`.
    pub fn jwks(&self) -> serde_json::Value {
        serde_json::json!({ "keys": [self.jwk] })
    }

    /// The public key's `x`, base64url.
    pub fn x(&self) -> &str {
        self.jwk["x"].as_str().unwrap_or_default()
    }
}

/// RFC 7638 §3: SHA-256 over the required members of the OKP JWK, in
/// lexicographic order with no white space, base64url without padding.
pub fn thumbprint(x: &str) -> String {
    // `x` is base64url text (no character JSON would escape), so the
    // canonical form is this exact string.
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
    B64URL.encode(Sha256::digest(canonical.as_bytes()))
}

/// The pod's private key, loaded for one signature and zeroed on drop.
pub(crate) struct PodKey {
    key: SigningKey,
}

impl PodKey {
    /// From the 32-byte seed (RFC 8032 private key).
    pub(crate) fn from_seed(seed: &[u8; 32]) -> PodKey {
        PodKey {
            key: SigningKey::from_bytes(seed),
        }
    }

    /// A new key from the OS random generator.
    fn generate() -> Result<PodKey> {
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut())
            .map_err(|e| Error::Internal(format!("no randomness for the pod key: {e}")))?;
        Ok(PodKey::from_seed(&seed))
    }

    /// The public key's `x`, base64url.
    pub(crate) fn public_x(&self) -> String {
        B64URL.encode(self.key.verifying_key().as_bytes())
    }

    /// The identity this key signs as.
    pub(crate) fn identity(&self) -> PodIdentity {
        PodIdentity::from_public(&self.public_x())
    }

    /// An Ed25519 signature over `message`.
    pub(crate) fn sign(&self, message: &[u8]) -> [u8; 64] {
        use ed25519_dalek::Signer;
        self.key.sign(message).to_bytes()
    }

    /// The seed, for the encrypted bundle only.
    pub(crate) fn seed(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.key.to_bytes())
    }
}

/// Gives the database its key if it has none yet: run once, by migration
/// 5, inside that migration's transaction (a new vault at creation, an
/// older vault on its first open after the upgrade).
pub(crate) fn ensure_pod_key(conn: &Connection, now: &str) -> Result<()> {
    let has: bool = conn.query_row("SELECT count(*) FROM pod_key", [], |r| {
        r.get::<_, i64>(0).map(|n| n > 0)
    })?;
    if !has {
        let key = PodKey::generate()?;
        store_pod_key(conn, &key, now)?;
    }
    Ok(())
}

/// Writes `key` as the pod's key, replacing any other (a restore).
pub(crate) fn store_pod_key(conn: &Connection, key: &PodKey, created_at: &str) -> Result<()> {
    let seed = key.seed();
    conn.execute(
        "INSERT INTO pod_key (id, secret, public, created_at) VALUES (1, ?1, ?2, ?3)
         ON CONFLICT (id) DO UPDATE SET secret = excluded.secret, public = excluded.public,
             created_at = excluded.created_at",
        params![&seed[..], key.public_x(), created_at],
    )?;
    Ok(())
}

/// Reads the pod's key from the database.
pub(crate) fn load_pod_key(conn: &Connection) -> Result<PodKey> {
    let seed: Option<Zeroizing<[u8; 32]>> = conn
        .query_row("SELECT secret FROM pod_key WHERE id = 1", [], |r| {
            let blob = r.get_ref(0)?.as_blob()?;
            let mut seed = Zeroizing::new([0u8; 32]);
            if blob.len() != 32 {
                return Err(rusqlite::Error::InvalidColumnType(
                    0,
                    "secret".into(),
                    rusqlite::types::Type::Blob,
                ));
            }
            seed.copy_from_slice(blob);
            Ok(seed)
        })
        .optional()?;
    let seed = seed.ok_or_else(|| Error::Internal("the vault has no pod key".into()))?;
    Ok(PodKey::from_seed(&seed))
}

/// The seed column of `pod_key`: a blob in the database, base64url in the
/// encrypted bundle; zeroed on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct Seed(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for Seed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Seed([redacted])")
    }
}

impl rusqlite::types::ToSql for Seed {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(rusqlite::types::ToSqlOutput::Borrowed(
            rusqlite::types::ValueRef::Blob(&self.0[..]),
        ))
    }
}

impl rusqlite::types::FromSql for Seed {
    fn column_result(v: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        let blob = v.as_blob()?;
        let mut seed = Zeroizing::new([0u8; 32]);
        if blob.len() != 32 {
            return Err(rusqlite::types::FromSqlError::InvalidBlobSize {
                expected_size: 32,
                blob_size: blob.len(),
            });
        }
        seed.copy_from_slice(blob);
        Ok(Seed(seed))
    }
}

impl Serialize for Seed {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&Zeroizing::new(B64URL.encode(&self.0[..])))
    }
}

impl<'de> serde::Deserialize<'de> for Seed {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = Zeroizing::new(String::deserialize(d)?);
        let bytes = Zeroizing::new(
            B64URL
                .decode(text.as_bytes())
                .map_err(|_| serde::de::Error::custom("the seed is not base64url"))?,
        );
        let mut seed = Zeroizing::new([0u8; 32]);
        if bytes.len() != 32 {
            return Err(serde::de::Error::custom("the seed is not 32 bytes"));
        }
        seed.copy_from_slice(&bytes);
        Ok(Seed(seed))
    }
}

/// The row of `pod_key` (its `id` is always 1): what the encrypted bundle
/// carries so a restored vault keeps its identity. Never in a plain export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PodKeyRecord {
    /// The Ed25519 seed (RFC 8032 private key), base64url.
    pub secret: Seed,
    /// Its public key `x`, base64url.
    pub public: String,
    pub created_at: String,
}

impl PodKeyRecord {
    /// Whether `public` is the seed's public key.
    pub fn consistent(&self) -> bool {
        PodKey::from_seed(&self.secret.0).public_x() == self.public
    }
}

impl TableRecord for PodKeyRecord {
    const TABLE: &'static str = "pod_key";
    const COLUMNS: &'static [&'static str] = &["secret", "public", "created_at"];

    fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(PodKeyRecord {
            secret: column(r, Self::COLUMNS, "secret")?,
            public: column(r, Self::COLUMNS, "public")?,
            created_at: column(r, Self::COLUMNS, "created_at")?,
        })
    }

    fn values(&self) -> Vec<&dyn rusqlite::types::ToSql> {
        vec![&self.secret, &self.public, &self.created_at]
    }
}

impl Store {
    /// The pod's id and public key.
    pub fn pod_identity(&self) -> Result<PodIdentity> {
        let x: Option<String> = self
            .conn
            .query_row("SELECT public FROM pod_key WHERE id = 1", [], |r| r.get(0))
            .optional()?;
        let x = x.ok_or_else(|| Error::Internal("the vault has no pod key".into()))?;
        Ok(PodIdentity::from_public(&x))
    }

    /// The pod's private key (tests).
    #[cfg(test)]
    pub(crate) fn pod_key(&self) -> Result<PodKey> {
        load_pod_key(&self.conn)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::testing::memory_store;

    /// RFC 8037 appendix A.1 (the private seed `d`), A.2 (its public `x`)
    /// and A.3 (the JWK thumbprint).
    const RFC8037_D: &str = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
    const RFC8037_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
    const RFC8037_THUMBPRINT: &str = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k";

    pub(crate) fn rfc8037_key() -> PodKey {
        let d = B64URL.decode(RFC8037_D).unwrap();
        PodKey::from_seed(&d.try_into().unwrap())
    }

    #[test]
    fn the_pod_id_is_the_rfc_7638_thumbprint_of_rfc_8037s_example() {
        let key = rfc8037_key();
        assert_eq!(key.public_x(), RFC8037_X);
        assert_eq!(thumbprint(RFC8037_X), RFC8037_THUMBPRINT);
        let id = key.identity();
        assert_eq!(id.id, RFC8037_THUMBPRINT);
        assert_eq!(id.jwk["kid"], RFC8037_THUMBPRINT);
        assert_eq!(id.jwk["kty"], "OKP");
        assert_eq!(id.jwk["crv"], "Ed25519");
        assert_eq!(id.jwk["alg"], "EdDSA");
        assert_eq!(id.jwk["use"], "sig");
        assert!(id.jwk.get("d").is_none(), "the public JWK holds no secret");
        assert_eq!(id.jwks()["keys"][0], id.jwk);
    }

    /// A vault made before migration 5 gets its key when first opened.
    #[test]
    fn an_older_vault_gets_its_key_when_first_opened() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.db");
        let key = crate::vault::keys::VaultKey::generate().unwrap();
        let now = "2026-11-24T10:00:00.000Z";
        let conn = crate::vault::db::create_encrypted(&path, &key, now).unwrap();
        conn.execute_batch(
            "DROP TABLE pod_key; DROP INDEX receipts_client; DROP INDEX receipts_grant;
             DROP INDEX receipts_request; DROP TABLE receipts;
             DROP TABLE linked_clients; DROP TABLE linked_requests; DROP TABLE outbox;
             DROP TABLE feed_cursors; DROP TABLE feed_seen;
             DROP INDEX resource_versions_blob; DROP TABLE resource_versions;
             DROP TABLE blob_chunks; DROP TABLE blobs;
             DROP TABLE container_counts; DROP TABLE category_counts; DROP TABLE version_total;
             CREATE TABLE resource_versions (path TEXT NOT NULL, version INTEGER NOT NULL,
                 deleted INTEGER NOT NULL DEFAULT 0, content_type TEXT NOT NULL,
                 category TEXT NOT NULL, sensitivity TEXT NOT NULL, etag TEXT NOT NULL,
                 size INTEGER NOT NULL, content BLOB NOT NULL, author TEXT NOT NULL,
                 written_at TEXT NOT NULL, PRIMARY KEY (path, version));
             DELETE FROM schema_migrations WHERE version >= 5;",
        )
        .unwrap();
        drop(conn);
        let store = Store::new(crate::vault::db::open_encrypted(&path, &key, now).unwrap());
        let id = store.pod_identity().unwrap();
        assert_eq!(store.pod_key().unwrap().identity(), id);
        assert_eq!(store.schema_version().unwrap(), crate::schema_version());
        drop(store);
        let again = Store::new(crate::vault::db::open_encrypted(&path, &key, now).unwrap());
        assert_eq!(again.pod_identity().unwrap(), id, "made once, kept");
    }

    #[test]
    fn a_new_vault_has_a_key_of_its_own_that_stays() {
        let (_d, a) = memory_store();
        let (_e, b) = memory_store();
        let id = a.pod_identity().unwrap();
        assert_ne!(id, b.pod_identity().unwrap());
        assert_eq!(a.pod_key().unwrap().identity(), id);
        // Running the step again keeps the key.
        ensure_pod_key(&a.conn, "2026-11-30T00:00:00.000Z").unwrap();
        assert_eq!(a.pod_identity().unwrap(), id);
    }
}
