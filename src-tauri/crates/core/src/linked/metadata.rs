//! A company's client metadata document and its JWK Set, parsed and
//! checked as pure functions over the bytes fetched (the network door does
//! the fetching; docs/companies.md has the format).
//!
//! The metadata follows RFC 7591's names, in the pattern of the IETF OAuth
//! Client ID Metadata Document draft: the document says its own URL
//! (`client_id`), and the URLs the pod will use (`jwks_uri`,
//! `delivery_uri`, `feed_uri`) live on that same origin, so a company
//! proves its domain by serving them there.

use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, JwkSet};
use serde::{Deserialize, Serialize};

use super::link::{check_url, same_origin};
use crate::sharing::client::clean_name;
use crate::{Error, Result};

/// The largest metadata document accepted.
pub const MAX_METADATA_BYTES: usize = 16 * 1024;
/// The largest JWK Set accepted.
pub const MAX_JWKS_BYTES: usize = 16 * 1024;
/// The most keys a JWK Set may hold.
pub const MAX_JWKS_KEYS: usize = 10;

/// A company's metadata, checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientMetadata {
    pub client_id: String,
    /// Cleaned like a device-flow company's name.
    pub client_name: String,
    pub client_uri: Option<String>,
    pub logo_uri: Option<String>,
    pub policy_uri: Option<String>,
    #[serde(default)]
    pub contacts: Vec<String>,
    /// An inline JWK Set (exactly one of `jwks`, `jwks_uri`).
    pub jwks: Option<serde_json::Value>,
    pub jwks_uri: Option<String>,
    pub delivery_uri: String,
    pub feed_uri: Option<String>,
}

/// A company's public keys, checked: public signing keys only.
#[derive(Debug, Clone)]
pub struct Jwks {
    pub set: JwkSet,
    /// The set as published, kept in the vault.
    pub json: serde_json::Value,
}

fn refused(rule: impl Into<String>) -> Error {
    Error::LinkRefused { rule: rule.into() }
}

/// Checks the metadata document fetched from `fetched_from`. See
/// [`parse_metadata_with`].
pub fn parse_metadata(bytes: &[u8], fetched_from: &str) -> Result<ClientMetadata> {
    parse_metadata_with(bytes, fetched_from, false)
}

/// [`parse_metadata`], with the developer switch that accepts plain http.
pub fn parse_metadata_with(
    bytes: &[u8],
    fetched_from: &str,
    allow_http_loopback: bool,
) -> Result<ClientMetadata> {
    if bytes.len() > MAX_METADATA_BYTES {
        return Err(refused(format!(
            "the client metadata is larger than {MAX_METADATA_BYTES} bytes"
        )));
    }
    let mut meta: ClientMetadata = serde_json::from_slice(bytes).map_err(|e| {
        refused(format!(
            "the client metadata is not what it should be ({e})"
        ))
    })?;
    if meta.client_id != fetched_from {
        return Err(refused(format!(
            "the client metadata says client_id {:?}, but it was fetched from {fetched_from:?}",
            meta.client_id
        )));
    }
    let origin = check_url(&meta.client_id, "client_id", allow_http_loopback)?;
    meta.client_name = clean_name(&meta.client_name).map_err(|e| match e {
        Error::InvalidRequest(m) => refused(m),
        other => other,
    })?;
    let on_origin = |text: &str, what: &str| -> Result<()> {
        let url = check_url(text, what, allow_http_loopback)?;
        if !same_origin(&url, &origin) {
            return Err(refused(format!(
                "{what} must be on the client_id's host, like {}",
                super::link::domain_of(&origin)
            )));
        }
        Ok(())
    };
    on_origin(&meta.delivery_uri, "delivery_uri")?;
    if let Some(feed) = &meta.feed_uri {
        on_origin(feed, "feed_uri")?;
    }
    match (&meta.jwks, &meta.jwks_uri) {
        (Some(_), None) => {}
        (None, Some(uri)) => on_origin(uri, "jwks_uri")?,
        _ => {
            return Err(refused(
                "the client metadata must have exactly one of jwks and jwks_uri",
            ))
        }
    }
    for (value, what) in [
        (&meta.client_uri, "client_uri"),
        (&meta.logo_uri, "logo_uri"),
        (&meta.policy_uri, "policy_uri"),
    ] {
        if let Some(v) = value {
            check_url(v, what, allow_http_loopback)?;
        }
    }
    crate::sharing::client::contacts_rule(&meta.contacts).map_err(refused)?;
    Ok(meta)
}

/// Checks a JWK Set: at most [`MAX_JWKS_BYTES`] and [`MAX_JWKS_KEYS`],
/// public RSA, EC or Ed25519 keys only (no symmetric key, no private part).
pub fn parse_jwks(bytes: &[u8]) -> Result<Jwks> {
    if bytes.len() > MAX_JWKS_BYTES {
        return Err(refused(format!(
            "the JWK Set is larger than {MAX_JWKS_BYTES} bytes"
        )));
    }
    let json: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| refused(format!("the JWK Set is not JSON ({e})")))?;
    jwks_from(json)
}

/// A JWK Set already parsed as JSON (a client metadata's inline `jwks`,
/// which came within the metadata document's size cap), checked as
/// [`parse_jwks`] checks one.
pub fn jwks_from(json: serde_json::Value) -> Result<Jwks> {
    let keys = json
        .get("keys")
        .and_then(|k| k.as_array())
        .ok_or_else(|| refused("the JWK Set has no keys list"))?;
    if keys.is_empty() || keys.len() > MAX_JWKS_KEYS {
        return Err(refused(format!(
            "the JWK Set must hold 1 to {MAX_JWKS_KEYS} keys, it holds {}",
            keys.len()
        )));
    }
    for key in keys {
        if ["d", "p", "q", "dp", "dq", "qi", "k"]
            .iter()
            .any(|private| key.get(private).is_some())
        {
            return Err(refused(
                "the JWK Set holds a private or symmetric key; publish public keys only",
            ));
        }
    }
    let set: JwkSet = serde_json::from_value(json.clone())
        .map_err(|e| refused(format!("the JWK Set holds a key that is not a JWK ({e})")))?;
    for key in &set.keys {
        if matches!(key.algorithm, AlgorithmParameters::OctetKey(_)) {
            return Err(refused("the JWK Set holds a symmetric key"));
        }
    }
    Ok(Jwks { set, json })
}

impl Jwks {
    /// The key a signature names: by `kid`, or the only key when the set
    /// holds one and the signature names none.
    pub fn key_for(&self, kid: Option<&str>) -> Result<&Jwk> {
        match kid {
            Some(kid) => self.set.find(kid).ok_or_else(|| {
                refused(format!(
                    "unknown kid {kid:?}: no such key in the company's JWK Set"
                ))
            }),
            None if self.set.keys.len() == 1 => Ok(&self.set.keys[0]),
            None => Err(refused(
                "the signature names no kid, and the company's JWK Set holds more than one key",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CLIENT: &str = "https://shop.test/custodian/client.json";

    pub(crate) fn document() -> serde_json::Value {
        json!({
            "client_id": CLIENT,
            "client_name": "Shop\u{200B}  Online",
            "client_uri": "https://shop.test/",
            "logo_uri": "https://cdn.example/logo.png",
            "policy_uri": "https://shop.test/privacy",
            "contacts": ["privacy@shop.test"],
            "jwks_uri": "https://shop.test/custodian/jwks.json",
            "delivery_uri": "https://shop.test/custodian/deliveries",
            "feed_uri": "https://shop.test/custodian/feed"
        })
    }

    fn rule(doc: serde_json::Value) -> String {
        match parse_metadata(doc.to_string().as_bytes(), CLIENT) {
            Err(Error::LinkRefused { rule }) => rule,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_good_document_is_read_and_its_name_cleaned() {
        let m = parse_metadata(document().to_string().as_bytes(), CLIENT).unwrap();
        assert_eq!(m.client_name, "Shop Online");
        assert_eq!(m.delivery_uri, "https://shop.test/custodian/deliveries");
        assert_eq!(m.contacts, ["privacy@shop.test"]);
    }

    #[test]
    fn each_broken_rule_is_named() {
        let with = |k: &str, v: serde_json::Value| {
            let mut d = document();
            d[k] = v;
            d
        };
        let without = |k: &str| {
            let mut d = document();
            d.as_object_mut().unwrap().remove(k);
            d
        };
        for (doc, says) in [
            (
                with("client_id", json!("https://shop.test/other.json")),
                "fetched from",
            ),
            (
                with("delivery_uri", json!("https://evil.test/d")),
                "delivery_uri must be on the client_id's host",
            ),
            (
                with("feed_uri", json!("https://shop.test:444/f")),
                "feed_uri must be on",
            ),
            (
                with("jwks_uri", json!("https://cdn.test/j")),
                "jwks_uri must be on",
            ),
            (
                with("jwks", json!({"keys": []})),
                "exactly one of jwks and jwks_uri",
            ),
            (without("jwks_uri"), "exactly one of jwks and jwks_uri"),
            (
                with("policy_uri", json!("http://shop.test/p")),
                "policy_uri must be an https URL",
            ),
            (
                with("logo_uri", json!("https://shop.test/l#x")),
                "#fragment",
            ),
            (with("client_name", json!("you")), "reserved"),
            (
                with("contacts", json!(["a", "b", "c", "d", "e", "f"])),
                "at most 5",
            ),
            (
                with("contacts", json!(["a\u{200B}b"])),
                "invisible format characters",
            ),
            (
                with("contacts", json!(["a\nb"])),
                "contacts must be one line",
            ),
            (without("delivery_uri"), "delivery_uri"),
        ] {
            let got = rule(doc.clone());
            assert!(got.contains(says), "{doc}: {got}");
        }
        let big = format!("{{\"x\":\"{}\"}}", "a".repeat(MAX_METADATA_BYTES));
        let too_big = parse_metadata(big.as_bytes(), CLIENT)
            .unwrap_err()
            .to_string();
        assert!(too_big.contains("larger than"), "{too_big}");
    }

    fn ed_key(kid: &str) -> serde_json::Value {
        json!({"kty": "OKP", "crv": "Ed25519", "kid": kid,
               "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})
    }

    #[test]
    fn a_jwk_set_holds_public_signing_keys_only() {
        let good = json!({"keys": [ed_key("a"), ed_key("b")]});
        let jwks = parse_jwks(good.to_string().as_bytes()).unwrap();
        assert!(jwks.key_for(Some("b")).is_ok());
        assert!(jwks.key_for(None).is_err(), "two keys, no kid");
        assert!(jwks.key_for(Some("c")).is_err());
        let one = parse_jwks(json!({"keys": [ed_key("a")]}).to_string().as_bytes()).unwrap();
        assert!(one.key_for(None).is_ok());
        let mut private = ed_key("p");
        private["d"] = json!("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A");
        for (set, says) in [
            (json!({"keys": []}), "1 to 10 keys"),
            (json!({"keys": vec![ed_key("a"); 11]}), "1 to 10 keys"),
            (json!({"nokeys": 1}), "no keys list"),
            (json!({"keys": [private]}), "private or symmetric"),
            (
                json!({"keys": [{"kty": "oct", "k": "AAAA"}]}),
                "private or symmetric",
            ),
            (json!({"keys": [{"kty": "XYZ"}]}), "not a JWK"),
        ] {
            match parse_jwks(set.to_string().as_bytes()) {
                Err(Error::LinkRefused { rule }) => assert!(rule.contains(says), "{set}: {rule}"),
                other => panic!("{set}: {other:?}"),
            }
        }
    }
}
