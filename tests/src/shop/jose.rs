//! The company's JOSE, done as a company would with jwt-simple: signing its
//! request objects and feed items (or deliberately spoiling them), and
//! verifying each delivery from the pod with nothing but the key its header
//! names, after checking that key's RFC 7638 thumbprint is the pod id.

use std::collections::HashSet;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use jwt_simple::prelude::{
    Ed25519KeyPair, Ed25519PublicKey, EdDSAKeyPairLike, EdDSAPublicKeyLike, VerificationOptions,
};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

/// The `typ` of a delivery (pod → company).
pub const DELIVERY_TYP: &str = "custodian-delivery+jwt";
/// The `typ` of a request object (RFC 9101).
pub const REQUEST_TYP: &str = "oauth-authz-req+jwt";
/// The `typ` of a feed item (company → pod).
pub const FEED_ITEM_TYP: &str = "custodian-feed-item+jwt";

/// A compact JWS over `header` and `claims`, signed with `key`'s Ed25519
/// private key (jwt-simple's, raw, so the test controls every member).
pub fn sign(key: &Ed25519KeyPair, header: &Value, claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        B64URL.encode(header.to_string()),
        B64URL.encode(claims.to_string())
    );
    let signature = key.key_pair().as_ref().sk.sign(input.as_bytes(), None);
    format!("{input}.{}", B64URL.encode(signature.as_ref()))
}

/// `alg: none` and an empty signature: the JWS every verifier must refuse.
pub fn unsigned(claims: &Value) -> String {
    format!(
        "{}.{}.",
        B64URL.encode(json!({"alg": "none", "typ": REQUEST_TYP}).to_string()),
        B64URL.encode(claims.to_string())
    )
}

/// The public JWK of an Ed25519 key (RFC 8037), with its `kid`.
pub fn public_jwk(key: &Ed25519KeyPair, kid: &str) -> Value {
    json!({"kty": "OKP", "crv": "Ed25519", "x": B64URL.encode(key.public_key().to_bytes()),
           "kid": kid, "alg": "EdDSA", "use": "sig"})
}

/// The RFC 7638 thumbprint of an OKP JWK: SHA-256 over the required members
/// in lexicographic order, no white space, base64url. Computed here rather
/// than by any library the pod uses, so a shared mistake cannot hide.
pub fn okp_thumbprint(jwk: &Value) -> Option<String> {
    let crv = jwk.get("crv")?.as_str()?;
    let kty = jwk.get("kty")?.as_str()?;
    let x = jwk.get("x")?.as_str()?;
    let canonical = format!(
        "{{\"crv\":{},\"kty\":{},\"x\":{}}}",
        Value::from(crv),
        Value::from(kty),
        Value::from(x)
    );
    Some(B64URL.encode(Sha256::digest(canonical.as_bytes())))
}

/// The JSON of one base64url segment of a compact JWS.
pub fn segment(jws: &str, index: usize) -> Option<Value> {
    let part = jws.split('.').nth(index)?;
    serde_json::from_slice(&B64URL.decode(part).ok()?).ok()
}

/// A delivery the company accepted: its header, every claim, and the bytes.
#[derive(Debug, Clone)]
pub struct Verified {
    pub header: Value,
    pub claims: Value,
    pub raw: String,
}

impl Verified {
    pub fn jti(&self) -> &str {
        self.claims["jti"].as_str().unwrap_or_default()
    }
    pub fn event(&self) -> &str {
        self.claims["event"]["type"].as_str().unwrap_or_default()
    }
    pub fn seq(&self) -> u64 {
        self.claims["seq"].as_u64().unwrap_or_default()
    }
    pub fn state(&self) -> &str {
        self.claims["state"].as_str().unwrap_or_default()
    }
    pub fn pod_id(&self) -> &str {
        self.claims["iss"].as_str().unwrap_or_default()
    }
}

/// Verifies a delivery as the wire format tells a company to: the header's
/// `jwk` thumbprint equals `kid` equals `iss`, the signature verifies with
/// that key (EdDSA), `typ` is a delivery's and `aud` is this company.
/// (Delivery `iat` may be old: the JWS is made once, when queued, and
/// resent byte for byte, so there is no lower bound.)
pub fn verify_delivery(jws: &str, client_id: &str) -> Result<Verified, String> {
    let header = segment(jws, 0).ok_or("the header is not base64url JSON")?;
    if header["alg"] != "EdDSA" {
        return Err(format!("alg {} is not EdDSA", header["alg"]));
    }
    if header["typ"] != DELIVERY_TYP {
        return Err(format!("typ {} is not {DELIVERY_TYP}", header["typ"]));
    }
    let jwk = header.get("jwk").ok_or("no jwk in the header")?;
    if jwk.get("d").is_some() {
        return Err("the header's jwk holds a private key".into());
    }
    if jwk["kty"] != "OKP" || jwk["crv"] != "Ed25519" {
        return Err(format!("the header's jwk is not an Ed25519 key: {jwk}"));
    }
    let thumbprint = okp_thumbprint(jwk).ok_or("the header's jwk lacks crv/kty/x")?;
    let kid = header["kid"].as_str().ok_or("no kid in the header")?;
    if thumbprint != kid {
        return Err(format!(
            "kid {kid} is not the jwk's thumbprint {thumbprint}"
        ));
    }
    let x = B64URL
        .decode(jwk["x"].as_str().unwrap_or_default())
        .map_err(|e| format!("the jwk's x is not base64url: {e}"))?;
    let key = Ed25519PublicKey::from_bytes(&x).map_err(|e| format!("not an Ed25519 key: {e}"))?;
    // jwt-simple's token API cannot read this header (it types `jwk` as a
    // string, RFC 7515 makes it an object), so its Ed25519 (ed25519-compact,
    // not the pod's dalek) checks the signature over the signing input, and
    // the claims are checked here.
    let (input, signature) = jws.rsplit_once('.').ok_or("not a compact JWS")?;
    let signature = B64URL
        .decode(signature)
        .map_err(|e| format!("the signature is not base64url: {e}"))?;
    let signature = signature
        .as_slice()
        .try_into()
        .map_err(|e| format!("not an Ed25519 signature: {e}"))?;
    key.public_key()
        .as_ref()
        .verify(input.as_bytes(), &signature)
        .map_err(|e| format!("the signature does not verify: {e}"))?;
    let claims = segment(jws, 1).ok_or("the claims are not base64url JSON")?;
    if claims["iss"] != kid {
        return Err(format!("iss {} is not the kid {kid}", claims["iss"]));
    }
    if claims["aud"] != client_id {
        return Err(format!("aud {} is not {client_id}", claims["aud"]));
    }
    let iat = claims["iat"].as_i64().ok_or("no numeric iat")?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    if iat > now + 60 {
        return Err(format!("iat {iat} is in the future"));
    }
    for member in ["jti", "iat", "state", "request_id", "seq", "event"] {
        if claims.get(member).is_none() {
            return Err(format!("no {member} in the claims"));
        }
    }
    Ok(Verified {
        header,
        claims,
        raw: jws.to_string(),
    })
}

/// Verifies a consent receipt carried by a delivery with the pod's key
/// taken from that delivery's header (the receipt's `kid` must be the pod
/// id): returns its claims.
pub fn verify_receipt(
    receipt: &str,
    delivery: &Verified,
    client_id: &str,
) -> Result<Value, String> {
    let jwk = &delivery.header["jwk"];
    let x = B64URL
        .decode(jwk["x"].as_str().unwrap_or_default())
        .map_err(|e| e.to_string())?;
    let pod = delivery.pod_id();
    let key = Ed25519PublicKey::from_bytes(&x)
        .map_err(|e| e.to_string())?
        .with_key_id(pod);
    let options = VerificationOptions {
        required_signature_type: Some("consent-receipt+jwt".into()),
        required_key_id: Some(pod.into()),
        allowed_issuers: Some(HashSet::from([pod.to_string()])),
        allowed_audiences: Some(HashSet::from([client_id.to_string()])),
        ..Default::default()
    };
    key.verify_token::<Map<String, Value>>(receipt, Some(options))
        .map_err(|e| format!("jwt-simple refuses the receipt: {e}"))?;
    segment(receipt, 1).ok_or_else(|| "the receipt's claims are not JSON".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8037 appendix A.3: the thumbprint of its Ed25519 example key.
    #[test]
    fn thumbprint_matches_rfc_8037() {
        let jwk = json!({"kty": "OKP", "crv": "Ed25519",
                         "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"});
        assert_eq!(
            okp_thumbprint(&jwk).unwrap(),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }
}
