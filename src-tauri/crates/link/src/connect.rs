//! Connecting a company by its link: parse the link (core), fetch the
//! request object, the client metadata and the company's keys under the
//! network rules, let the core check them all, and store the request as
//! pending. Nothing is stored unless every step passes.

use chrono::Utc;
use custodian_core::linked::link::claimed_client;
use custodian_core::linked::{
    jwks_from, parse_jwks, parse_link_with, parse_metadata_with, verify_request_object, Jwks,
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
    let request_uri = parsed.request_uri.clone();

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
    // (unverified until its signature is checked with that client's keys).
    let client_id = claimed_client(&parsed, &jws, allow_http)?;

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
        return Ok(jwks_from(inline.clone())?);
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
