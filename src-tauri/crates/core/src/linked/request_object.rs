//! A company's request object (RFC 9101, a JWT-secured authorization
//! request): checked as a pure function of the JWS, the company's client
//! id and keys, where it was fetched from, and the time. Every refusal
//! names the rule it broke. Whether its `jti` was used before is the
//! store's to say (`Store::connect_request`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use chrono::{DateTime, Utc};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Serialize;
use serde_json::Value;

use super::link::{check_url, same_origin};
use super::metadata::Jwks;
use crate::sharing::request::{MAX_GRANT_LIFETIME_SECS, MIN_GRANT_LIFETIME_SECS};
use crate::sharing::scope::{self, PodAccess};
use crate::{Error, Result};

/// The audience a request object names: this kind of pod, not one pod.
pub const AUDIENCE: &str = "custodian";
/// The `typ` a request object may carry (RFC 9101 §10.8).
pub const TYP: &str = "oauth-authz-req+jwt";
/// The longest a request object may be valid for (`exp` − `iat`).
pub const MAX_LIFETIME_SECS: i64 = 600;
/// How far a company's clock may run ahead of ours.
pub const CLOCK_SKEW_SECS: i64 = 60;
/// The largest request object accepted.
pub const MAX_REQUEST_OBJECT_BYTES: usize = 32 * 1024;

/// A request object whose signature and claims check out.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestObject {
    pub iss: String,
    pub jti: String,
    pub iat: DateTime<Utc>,
    pub exp: DateTime<Utc>,
    pub details: Vec<PodAccess>,
    /// Seconds the company asks the grant to last.
    pub grant_lifetime: i64,
    pub state: String,
    /// The compact JWS as received.
    pub raw: String,
}

fn refused(rule: impl Into<String>) -> Error {
    Error::LinkRefused { rule: rule.into() }
}

/// The signature algorithms a company may sign with: never `none`, never
/// a shared secret (HMAC).
fn algorithm(name: &str) -> Result<Algorithm> {
    match name {
        "EdDSA" => Ok(Algorithm::EdDSA),
        "ES256" => Ok(Algorithm::ES256),
        "RS256" => Ok(Algorithm::RS256),
        "PS256" => Ok(Algorithm::PS256),
        other => Err(refused(format!(
            "alg {other:?} is not allowed: sign with EdDSA, ES256, RS256 or PS256"
        ))),
    }
}

/// Whether `key` is the kind of key `alg` signs with.
fn key_fits(alg: Algorithm, key: &Jwk) -> bool {
    match (&key.algorithm, alg) {
        (AlgorithmParameters::OctetKeyPair(p), Algorithm::EdDSA) => {
            p.curve == EllipticCurve::Ed25519
        }
        (AlgorithmParameters::EllipticCurve(p), Algorithm::ES256) => p.curve == EllipticCurve::P256,
        (AlgorithmParameters::RSA(_), Algorithm::RS256 | Algorithm::PS256) => true,
        _ => false,
    }
}

/// The JWS header, decoded without trusting it.
pub(crate) fn header_of(jws: &str) -> Result<serde_json::Map<String, Value>> {
    part_of(jws, 0, "header")
}

/// The JWS claims, decoded without checking the signature: only to know
/// whose keys check it, or what to write in the log of a refused one.
pub(crate) fn unverified_claims(jws: &str) -> Result<serde_json::Map<String, Value>> {
    part_of(jws, 1, "payload")
}

/// Part `index` of a compact JWS, a JSON object named `what`.
fn part_of(jws: &str, index: usize, what: &str) -> Result<serde_json::Map<String, Value>> {
    let part = jws
        .split('.')
        .nth(index)
        .filter(|_| jws.split('.').count() == 3)
        .ok_or_else(|| refused("it is not a compact JWS (three parts separated by dots)"))?;
    let bytes = B64URL
        .decode(part)
        .map_err(|_| refused(format!("its JWS {what} is not base64url")))?;
    serde_json::from_slice(&bytes)
        .map_err(|_| refused(format!("its JWS {what} is not a JSON object")))
}

/// Checks the signature of `jws` with the key of `jwks` its header names,
/// for one of the allowed algorithms; returns the header and the claims.
pub(crate) fn verified_claims(
    jws: &str,
    jwks: &Jwks,
    typ_allowed: &dyn Fn(Option<&str>) -> bool,
    typ_rule: &str,
) -> Result<(serde_json::Map<String, Value>, Value)> {
    let header = header_of(jws)?;
    let alg = algorithm(header.get("alg").and_then(Value::as_str).unwrap_or("none"))?;
    let typ = header.get("typ").and_then(Value::as_str);
    if !typ_allowed(typ) {
        return Err(refused(format!("typ {typ:?} is not allowed: {typ_rule}")));
    }
    let kid = header.get("kid").and_then(Value::as_str);
    let key = jwks.key_for(kid)?;
    if !key_fits(alg, key) {
        return Err(refused(format!(
            "the key named is not a key for {alg:?} signatures"
        )));
    }
    let decoding = DecodingKey::from_jwk(key)
        .map_err(|e| refused(format!("the company's key does not load ({e})")))?;
    let mut validation = Validation::new(alg);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    let data = jsonwebtoken::decode::<Value>(jws, &decoding, &validation).map_err(|e| {
        use jsonwebtoken::errors::ErrorKind;
        match e.kind() {
            ErrorKind::InvalidSignature => {
                refused("bad signature: it does not match the company's key")
            }
            _ => refused(format!("it does not verify ({e})")),
        }
    })?;
    Ok((header, data.claims))
}

fn time_claim(claims: &Value, name: &str) -> Result<DateTime<Utc>> {
    claims
        .get(name)
        .and_then(Value::as_i64)
        .and_then(|t| DateTime::from_timestamp(t, 0))
        .ok_or_else(|| refused(format!("the claim {name} is missing or not a time")))
}

fn printable(text: &str, max: usize) -> bool {
    (1..=max).contains(&text.chars().count())
        && text.chars().all(|c| c.is_ascii_graphic() || c == ' ')
}

/// Checks a request object fetched from `request_uri` for the company
/// `client_id` with keys `jwks`, at `now`.
pub fn verify_request_object(
    jws: &str,
    client_id: &str,
    jwks: &Jwks,
    request_uri: &str,
    now: DateTime<Utc>,
) -> Result<RequestObject> {
    let jws = jws.trim();
    if jws.len() > MAX_REQUEST_OBJECT_BYTES {
        return Err(refused(format!(
            "the request object is larger than {MAX_REQUEST_OBJECT_BYTES} bytes"
        )));
    }
    let client = check_url(client_id, "client_id", true)?;
    let request = check_url(request_uri, "request_uri", true)?;
    if !same_origin(&client, &request) {
        return Err(refused(
            "the request is on another host than the company's client_id",
        ));
    }
    let (_, claims) = verified_claims(
        jws,
        jwks,
        &|typ| {
            typ.is_none_or(|t| {
                t.eq_ignore_ascii_case(TYP)
                    || t.eq_ignore_ascii_case("application/oauth-authz-req+jwt")
            })
        },
        "a request object's is oauth-authz-req+jwt",
    )?;
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    let iss = text("iss").ok_or_else(|| refused("the claim iss is missing"))?;
    if iss != client_id {
        return Err(refused(format!(
            "iss {iss:?} is not the company's client_id {client_id:?}"
        )));
    }
    if let Some(cid) = claims.get("client_id") {
        if cid.as_str() != Some(client_id) {
            return Err(refused("the claim client_id is not the same as iss"));
        }
    }
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => a == AUDIENCE,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(AUDIENCE)),
        _ => false,
    };
    if !aud_ok {
        return Err(refused(format!("wrong aud: it must be {AUDIENCE:?}")));
    }
    let iat = time_claim(&claims, "iat")?;
    let exp = time_claim(&claims, "exp")?;
    if exp <= now {
        return Err(refused(
            "the request object has expired (its exp has passed)",
        ));
    }
    if iat > now + chrono::Duration::seconds(CLOCK_SKEW_SECS) {
        return Err(refused(
            "the request object is not yet valid (iat in the future)",
        ));
    }
    if claims.get("nbf").is_some() {
        let nbf = time_claim(&claims, "nbf")?;
        if nbf > now + chrono::Duration::seconds(CLOCK_SKEW_SECS) {
            return Err(refused("the request object is not yet valid (nbf)"));
        }
    }
    if (exp - iat).num_seconds() > MAX_LIFETIME_SECS {
        return Err(refused(format!(
            "the request object's lifetime is over {MAX_LIFETIME_SECS} s (exp - iat)"
        )));
    }
    let jti = text("jti").ok_or_else(|| refused("the claim jti is missing"))?;
    if !printable(jti, 128) {
        return Err(refused("jti must be 1 to 128 printable characters"));
    }
    let state = text("state").ok_or_else(|| refused("the claim state is missing"))?;
    if !printable(state, 256) {
        return Err(refused("state must be 1 to 256 printable characters"));
    }
    let details = claims
        .get("authorization_details")
        .ok_or_else(|| refused("the claim authorization_details is missing"))?;
    let details = scope::parse_requested(&details.to_string())
        .map_err(|e| refused(format!("authorization_details: {e}")))?;
    let grant_lifetime = claims
        .get("grant_lifetime")
        .and_then(Value::as_i64)
        .ok_or_else(|| refused("the claim grant_lifetime is missing or not a number"))?;
    if !(MIN_GRANT_LIFETIME_SECS..=MAX_GRANT_LIFETIME_SECS).contains(&grant_lifetime) {
        return Err(refused(format!(
            "grant_lifetime must be between {MIN_GRANT_LIFETIME_SECS} and {MAX_GRANT_LIFETIME_SECS} seconds"
        )));
    }
    Ok(RequestObject {
        iss: iss.to_string(),
        jti: jti.to_string(),
        iat,
        exp,
        details,
        grant_lifetime,
        state: state.to_string(),
        raw: jws.to_string(),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::linked::metadata::parse_jwks;
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    pub(crate) const CLIENT: &str = "https://shop.test/custodian/client.json";
    pub(crate) const REQUEST: &str = "https://shop.test/custodian/requests/1";
    const EC_PEM: &str = include_str!("testdata/ec-p256.pem");
    const RSA_PEM: &str = include_str!("testdata/rsa-2048.pem");

    /// The company's test keys: an Ed25519 seed (RFC 8037 A.1), the P-256
    /// (PKCS#8) and RSA (PKCS#1) keys in `testdata/`, made for these tests
    /// only.
    pub(crate) fn company_jwks() -> Jwks {
        parse_jwks(
            json!({"keys": [
                {"kty": "OKP", "crv": "Ed25519", "kid": "ed",
                 "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
                {"kty": "EC", "crv": "P-256", "kid": "ec",
                 "x": "DRzvxHFwt3m1D3WHzEpTvslRuUdNasbQKsbfAG0BenM",
                 "y": "txXjIpHKs9GdmGyxsgqCsImvprldPwC1nw5bYwT2Gn8"},
                {"kty": "RSA", "kid": "rsa", "e": "AQAB",
                 "n": "5iTLVzUHONRdisoGCsnHlhB53hw7AU0L0rbPumZXcleg9UDW7S1c9qW4JOIM2_OnzsLummO8xHAxbKBvlen7GQt1d3xYGihEOdf33B2zh5ns_ZRoNUN_9yIZWAB8pku0hAaIUEtWlFS_1mVkAcKE_H7Zz32QaW_8l5JawCXr4hrrD-nJtuTYLQ1yf6nTYQby3Y7EwXfeui_IXrFBAgQNcGI1hzkZzgJJD8KTt3inQ0NEW7kw5xt-h4wT7FNOIAnAiBZDnTqNrj3bJ615gDuDBRKQKRMZyUXUYnEbzXFmZns1klVJBdULKn0yqAx6h_oPLMgYCnJrE1gtOC5CrrjbNw"}
            ]})
            .to_string()
            .as_bytes(),
        )
        .unwrap()
    }

    /// Signs `claims` as the company would, with the key for `alg` and
    /// `kid` (and `typ`) in the header.
    pub(crate) fn sign(
        alg: Algorithm,
        kid: Option<&str>,
        typ: Option<&str>,
        claims: &Value,
    ) -> String {
        let key = match alg {
            Algorithm::EdDSA => {
                // The RFC 8037 A.1 seed as PKCS#8 DER.
                let mut der = hex::decode("302e020100300506032b657004220420").unwrap();
                der.extend(
                    hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
                        .unwrap(),
                );
                EncodingKey::from_ed_der(&der)
            }
            Algorithm::ES256 => EncodingKey::from_ec_der(&pem_body(EC_PEM)),
            _ => EncodingKey::from_rsa_der(&pem_body(RSA_PEM)),
        };
        let mut header = Header::new(alg);
        header.kid = kid.map(str::to_string);
        header.typ = typ.map(str::to_string);
        jsonwebtoken::encode(&header, claims, &key).unwrap()
    }

    /// The DER inside a PEM file (PKCS#8 for EC, PKCS#1 for RSA).
    fn pem_body(pem: &str) -> Vec<u8> {
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap()
    }

    pub(crate) fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_764_489_700, 0).unwrap()
    }

    pub(crate) fn claims(jti: &str) -> Value {
        let iat = now().timestamp() - 100;
        json!({
            "iss": CLIENT, "client_id": CLIENT, "aud": "custodian",
            "iat": iat, "exp": iat + 300, "jti": jti,
            "authorization_details": [{"type": "pod_access", "paths": ["/contact/"],
                "actions": ["read"], "purpose": "Order updates"}],
            "grant_lifetime": 2_592_000, "state": "st-1"
        })
    }

    fn check(jws: &str) -> Result<RequestObject> {
        verify_request_object(jws, CLIENT, &company_jwks(), REQUEST, now())
    }

    #[test]
    fn each_allowed_algorithm_verifies() {
        for (alg, kid) in [
            (Algorithm::EdDSA, "ed"),
            (Algorithm::ES256, "ec"),
            (Algorithm::RS256, "rsa"),
            (Algorithm::PS256, "rsa"),
        ] {
            let jws = sign(alg, Some(kid), Some(TYP), &claims("j1"));
            let r = check(&jws).unwrap_or_else(|e| panic!("{alg:?}: {e}"));
            assert_eq!(
                (r.iss.as_str(), r.jti.as_str(), r.state.as_str()),
                (CLIENT, "j1", "st-1")
            );
            assert_eq!(r.grant_lifetime, 2_592_000);
            assert_eq!(r.details[0].purpose, "Order updates");
            assert_eq!(r.raw, jws);
        }
    }

    fn rule(r: Result<RequestObject>) -> String {
        match r {
            Err(Error::LinkRefused { rule }) => rule,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn each_broken_rule_is_named() {
        let with = |k: &str, v: Value| {
            let mut c = claims("j");
            c[k] = v;
            c
        };
        let t = now().timestamp();
        let ed = |c: &Value| sign(Algorithm::EdDSA, Some("ed"), None, c);
        for (jws, says) in [
            (ed(&with("exp", json!(t - 1))), "expired"),
            (ed(&with("iat", json!(t + 120))), "not yet valid"),
            (
                ed(&{
                    let mut c = with("iat", json!(t - 700));
                    c["exp"] = json!(t + 10);
                    c
                }),
                "lifetime is over 600",
            ),
            (ed(&with("aud", json!("someone"))), "wrong aud"),
            (
                ed(&with("iss", json!("https://shop.test/other"))),
                "is not the company's client_id",
            ),
            (
                ed(&with("client_id", json!("https://x.test/c"))),
                "client_id is not the same as iss",
            ),
            (ed(&with("jti", json!(""))), "jti must be"),
            (ed(&with("state", json!("a\u{1}b"))), "state must be"),
            (
                ed(&with("grant_lifetime", json!(5))),
                "grant_lifetime must be",
            ),
            (
                ed(&with("authorization_details", json!([{"type": "x"}]))),
                "authorization_details",
            ),
            (
                sign(Algorithm::EdDSA, Some("nope"), None, &claims("j")),
                "unknown kid",
            ),
            (
                sign(Algorithm::EdDSA, None, None, &claims("j")),
                "names no kid",
            ),
            (
                sign(Algorithm::EdDSA, Some("ec"), None, &claims("j")),
                "not a key for EdDSA",
            ),
            (
                sign(Algorithm::EdDSA, Some("ed"), Some("JWT"), &claims("j")),
                "typ",
            ),
            ("a.b".to_string(), "compact JWS"),
        ] {
            let got = rule(check(&jws));
            assert!(got.contains(says), "{says}: {got}");
        }
        // A changed payload: bad signature.
        let jws = ed(&claims("j"));
        let mut parts: Vec<&str> = jws.split('.').collect();
        let other = B64URL.encode(with("state", json!("other")).to_string());
        parts[1] = &other;
        assert!(rule(check(&parts.join("."))).contains("bad signature"));
        // alg none, unsigned.
        let none = format!(
            "{}.{}.",
            B64URL.encode(r#"{"alg":"none"}"#),
            B64URL.encode(claims("j").to_string())
        );
        assert!(rule(check(&none)).contains("alg \"none\" is not allowed"));
        // A shared secret (HMAC), whatever key it names.
        let hmac = format!(
            "{}.{}.{}",
            B64URL.encode(r#"{"alg":"HS256","kid":"ed"}"#),
            B64URL.encode(claims("j").to_string()),
            B64URL.encode([0u8; 32])
        );
        assert!(rule(check(&hmac)).contains("alg \"HS256\" is not allowed"));
        // The request on another host than the client.
        let r = verify_request_object(
            &ed(&claims("j")),
            CLIENT,
            &company_jwks(),
            "https://evil.test/r",
            now(),
        );
        assert!(rule(r).contains("another host"));
    }
}
