//! Compact JWS (RFC 7515 §7.1) for consent receipts, as pure functions:
//! signing with the pod's Ed25519 key (RFC 8037 `EdDSA`), reading the
//! parts without trusting them, and checking a signature.
//!
//! Signing is written here over the dalek key (so the private key stays in
//! types that zero themselves); checking a signature goes through the
//! `jsonwebtoken` crate's JWS code (its Ed25519 arithmetic is the same
//! ed25519-dalek; the end-to-end tests check with `jwt-simple`, whose
//! Ed25519 is another implementation). The signer is tested against
//! RFC 8037 appendix A.4's exact JWS.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;

use super::ReceiptFault;
use crate::vault::identity::{PodIdentity, PodKey};

/// The JWS `alg` of every receipt.
pub const ALG: &str = "EdDSA";

/// `BASE64URL(header) . BASE64URL(payload) . BASE64URL(signature)`.
pub(crate) fn sign(header: &serde_json::Value, payload: &[u8], key: &PodKey) -> String {
    let mut out = B64URL.encode(header.to_string().as_bytes());
    out.push('.');
    out.push_str(&B64URL.encode(payload));
    let signature = key.sign(out.as_bytes());
    out.push('.');
    out.push_str(&B64URL.encode(signature));
    out
}

/// A compact JWS split into its parts, the header and payload decoded but
/// nothing checked.
#[derive(Debug)]
pub(crate) struct Parts {
    pub header: serde_json::Map<String, serde_json::Value>,
    pub payload: serde_json::Value,
}

/// Splits and decodes a compact JWS, saying what is wrong with its shape.
pub(crate) fn parts(jws: &str) -> Result<Parts, ReceiptFault> {
    let not = |why: &str| ReceiptFault::NotCompactJws(why.to_string());
    let jws = jws.trim();
    let pieces: Vec<&str> = jws.split('.').collect();
    if pieces.len() != 3 {
        return Err(not(&format!(
            "a compact JWS has three parts separated by dots, this has {}",
            pieces.len()
        )));
    }
    let decode = |part: &str, name: &str| {
        B64URL
            .decode(part)
            .map_err(|_| not(&format!("its {name} is not base64url")))
    };
    let header = decode(pieces[0], "header")?;
    let payload = decode(pieces[1], "payload")?;
    let signature = decode(pieces[2], "signature")?;
    if signature.len() != 64 {
        return Err(not(&format!(
            "an Ed25519 signature has 64 bytes, this has {}",
            signature.len()
        )));
    }
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&header).map_err(|_| not("its header is not a JSON object"))?;
    let payload = serde_json::from_slice(&payload)
        .map_err(|e| ReceiptFault::BadClaims(format!("the payload is not JSON: {e}")))?;
    Ok(Parts { header, payload })
}

/// Checks the signature of `jws` with the public key of `identity`.
pub(crate) fn check_signature(jws: &str, identity: &PodIdentity) -> Result<(), ReceiptFault> {
    use jsonwebtoken::errors::ErrorKind;
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};
    let key = DecodingKey::from_ed_components(identity.x())
        .map_err(|e| ReceiptFault::BadClaims(format!("this pod's key does not load: {e}")))?;
    let mut validation = Validation::new(Algorithm::EdDSA);
    // A receipt is a record, not a session: it has no expiry or audience
    // to check here (the claims are checked by the caller).
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    match jsonwebtoken::decode::<serde_json::Value>(jws.trim(), &key, &validation) {
        Ok(_) => Ok(()),
        Err(e) => Err(match e.kind() {
            ErrorKind::InvalidSignature => ReceiptFault::BadSignature,
            ErrorKind::InvalidAlgorithm => ReceiptFault::WrongAlgorithm(String::from("not EdDSA")),
            ErrorKind::Json(_) => ReceiptFault::BadClaims(e.to_string()),
            _ => ReceiptFault::NotCompactJws(e.to_string()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::identity::tests::rfc8037_key;

    /// RFC 8037 appendix A.4: the JWS of "Example of Ed25519 signing" with
    /// the A.1 key and the header `{"alg":"EdDSA"}`.
    #[test]
    fn signs_exactly_as_rfc_8037_appendix_a4() {
        let header = serde_json::json!({"alg": "EdDSA"});
        let jws = sign(&header, b"Example of Ed25519 signing", &rfc8037_key());
        assert_eq!(
            jws,
            "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
        );
    }

    /// What this signer writes, jsonwebtoken verifies; a changed payload
    /// or another key it refuses.
    #[test]
    fn jsonwebtoken_checks_what_we_sign() {
        let key = rfc8037_key();
        let header = serde_json::json!({"alg": "EdDSA", "typ": super::super::TYP});
        let jws = sign(&header, br#"{"a":1}"#, &key);
        check_signature(&jws, &key.identity()).unwrap();
        let (head, rest) = jws.split_once('.').unwrap();
        let sig = rest.split_once('.').unwrap().1;
        let changed = format!("{head}.{}.{sig}", B64URL.encode(br#"{"a":2}"#));
        assert_eq!(
            check_signature(&changed, &key.identity()),
            Err(ReceiptFault::BadSignature)
        );
        let other = PodKey::from_seed(&[7; 32]).identity();
        assert_eq!(
            check_signature(&jws, &other),
            Err(ReceiptFault::BadSignature)
        );
    }

    #[test]
    fn shapes_that_are_not_a_jws_are_named() {
        for (text, says) in [
            ("abc", "three parts"),
            ("a.b.c.d", "three parts"),
            ("*.e30.AA", "header is not base64url"),
            ("e30.e30.AA", "64 bytes"),
        ] {
            let err = parts(text).unwrap_err().to_string();
            assert!(err.contains(says), "{text}: {err}");
        }
    }
}
