//! Connecting a company by its link: parse the link (core), fetch the
//! request object, the client metadata and the company's keys under the
//! network rules, let the core check them all, and store the request as
//! pending. Nothing is stored unless every step passes.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use chrono::Utc;
use custodian_core::linked::link::{check_url, domain_of, same_origin};
use custodian_core::linked::{
    parse_jwks, parse_link_with, parse_metadata_with, verify_request_object, Jwks,
};
use custodian_core::sharing::request::AccessRequest;

use crate::net::Net;
use crate::vault::{LinkError, VaultAccess};

/// The largest request object fetched.
pub const REQUEST_OBJECT_CAP: usize = 32 * 1024;
/// The largest client metadata document fetched.
pub const METADATA_CAP: usize = 16 * 1024;
/// The largest JWK Set fetched.
pub const JWKS_CAP: usize = 16 * 1024;

/// The media type of a request object (RFC 9101).
const REQUEST_OBJECT_TYPE: &str = "application/oauth-authz-req+jwt";
const JSON: &str = "application/json";

fn refused(rule: impl Into<String>) -> LinkError {
    LinkError::Core(custodian_core::Error::LinkRefused { rule: rule.into() })
}

/// Fetches, checks and stores the request a link (or a bare https request
/// address) points to; returns it, pending the person's answer.
pub async fn connect(
    net: &Net,
    vault: &impl VaultAccess,
    link: &str,
) -> Result<AccessRequest, LinkError> {
    let allow_http = net.allows_http_loopback();
    let parsed = parse_link_with(link, allow_http)?;
    let request_uri = parsed.request_uri;

    let jws = net
        .fetch(&request_uri, REQUEST_OBJECT_TYPE, REQUEST_OBJECT_CAP)
        .await
        .map_err(|source| LinkError::Fetch {
            what: "the request object",
            source,
        })?;
    let jws = String::from_utf8(jws).map_err(|_| refused("the request object is not text"))?;
    let jws = jws.trim().to_owned();

    // A bare request address names no client: the request says whose it is
    // (unverified until its signature is checked with that client's keys,
    // and the core checks the request is on that client's host).
    let client_id = match parsed.client_id {
        Some(id) => id,
        None => {
            let iss = claimed_issuer(&jws)?;
            on_same_origin(&iss, &request_uri, allow_http)?;
            iss
        }
    };

    let meta_bytes = net
        .fetch(&client_id, JSON, METADATA_CAP)
        .await
        .map_err(|source| LinkError::Fetch {
            what: "the client metadata",
            source,
        })?;
    let meta = parse_metadata_with(&meta_bytes, &client_id, allow_http)?;
    let jwks = company_keys(net, &meta).await?;
    let request = verify_request_object(&jws, &meta.client_id, &jwks, &request_uri, Utc::now())?;
    vault.with_store(|store| store.connect_request(&meta, &jwks, &request, &request_uri))
}

/// The company's JWK Set: inline in its metadata, or fetched from its
/// `jwks_uri` (on its own origin: the core checked that).
async fn company_keys(
    net: &Net,
    meta: &custodian_core::linked::ClientMetadata,
) -> Result<Jwks, LinkError> {
    if let Some(inline) = &meta.jwks {
        let bytes = serde_json::to_vec(inline).map_err(|e| refused(format!("jwks: {e}")))?;
        return Ok(parse_jwks(&bytes)?);
    }
    let Some(uri) = &meta.jwks_uri else {
        return Err(refused(
            "the client metadata names neither jwks nor jwks_uri",
        ));
    };
    let bytes = net
        .fetch(uri, JSON, JWKS_CAP)
        .await
        .map_err(|source| LinkError::Fetch {
            what: "the company's keys (jwks_uri)",
            source,
        })?;
    Ok(parse_jwks(&bytes)?)
}

/// A bare request address's claimed company must be on the request's own
/// origin before anything is fetched from it.
fn on_same_origin(client_id: &str, request_uri: &str, allow_http: bool) -> Result<(), LinkError> {
    let client = check_url(client_id, "the request object's iss", allow_http)?;
    let request = check_url(request_uri, "the request address", allow_http)?;
    if same_origin(&client, &request) {
        Ok(())
    } else {
        Err(refused(format!(
            "the request is on another host ({}) than the company's client_id ({})",
            domain_of(&request),
            domain_of(&client)
        )))
    }
}

/// The `iss` a compact JWS claims, read without checking anything: only to
/// know where the company's metadata is.
fn claimed_issuer(jws: &str) -> Result<String, LinkError> {
    let not_jws = || refused("the request object is not a compact JWS");
    let payload = jws.split('.').nth(1).ok_or_else(not_jws)?;
    let bytes = B64URL.decode(payload).map_err(|_| not_jws())?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| not_jws())?;
    claims
        .get("iss")
        .and_then(|v| v.as_str())
        .map(str::to_owned)
        .ok_or_else(|| refused("the request object names no iss"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_claimed_issuer_is_read_from_the_payload() {
        let payload = B64URL.encode(br#"{"iss":"https://shop.test/c.json"}"#);
        assert_eq!(
            claimed_issuer(&format!("e30.{payload}.sig")).unwrap(),
            "https://shop.test/c.json"
        );
        for bad in [
            "nodots",
            "e30.!!!.x",
            &format!("e30.{}.x", B64URL.encode(b"{}")),
        ] {
            assert!(claimed_issuer(bad).is_err(), "{bad}");
        }
    }
}
