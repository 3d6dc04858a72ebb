//! The link a company hands the person, and the rules every URL a company
//! names must follow: pure functions over text.
//!
//! A link is `custodian://connect?client_id=<https URL>&request_uri=<https
//! URL>`; a bare `https://…` request address is accepted too (its client is
//! then the request object's `iss`). The request must live on the client's
//! own host and port. Every URL is https, with a host, no user name or
//! password, no fragment. With the developer switch (`allow_http_loopback`)
//! plain `http://` is accepted as well: the network door then lets it reach
//! loopback addresses only.

use url::Url;

use super::request_object;

use crate::{Error, Result};

/// The longest URL accepted.
pub const MAX_URL_CHARS: usize = 2000;

/// A parsed link: where to fetch the company's metadata (absent for a bare
/// request address) and its request object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectLink {
    pub client_id: Option<String>,
    pub request_uri: String,
}

fn refused(rule: impl Into<String>) -> Error {
    Error::LinkRefused { rule: rule.into() }
}

/// `text` as a URL a company may name as `what`: https (or, with the
/// developer switch, http), a host, no user name or password, no fragment.
pub fn check_url(text: &str, what: &str, allow_http_loopback: bool) -> Result<Url> {
    if text.chars().count() > MAX_URL_CHARS {
        return Err(refused(format!(
            "{what} is longer than {MAX_URL_CHARS} characters"
        )));
    }
    let url = Url::parse(text).map_err(|e| refused(format!("{what} is not a URL ({e})")))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_http_loopback => {}
        other => {
            return Err(refused(format!(
                "{what} must be an https URL, not {other}:"
            )))
        }
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(refused(format!("{what} names no host")));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refused(format!(
            "{what} must not carry a user name or password"
        )));
    }
    if url.fragment().is_some() {
        return Err(refused(format!("{what} must not have a #fragment")));
    }
    Ok(url)
}

/// Whether two URLs are on the same origin (scheme, host and port).
pub fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// The host a URL is on, with its port when it is not the scheme's own:
/// `shop.test`, `shop.test:8443`. What the person is shown as verified.
pub fn domain_of(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    }
}

/// Parses what the person pasted or clicked: a `custodian://connect` link
/// or a bare https request address. See [`parse_link_with`].
pub fn parse_link(text: &str) -> Result<ConnectLink> {
    parse_link_with(text, false)
}

/// [`parse_link`], with the developer switch that accepts plain http.
pub fn parse_link_with(text: &str, allow_http_loopback: bool) -> Result<ConnectLink> {
    let text = text.trim();
    let lower = text.to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        let request = check_url(text, "the request address", allow_http_loopback)?;
        return Ok(ConnectLink {
            client_id: None,
            request_uri: request.to_string(),
        });
    }
    let link = Url::parse(text).map_err(|_| {
        refused("not a Custodian link: expected custodian://connect?client_id=…&request_uri=… or an https address")
    })?;
    let is_connect = link.scheme() == "custodian"
        && (link.host_str() == Some("connect") || link.path() == "connect");
    if !is_connect {
        return Err(refused(
            "not a Custodian link: expected custodian://connect?client_id=…&request_uri=…",
        ));
    }
    let mut client_id = None;
    let mut request_uri = None;
    for (name, value) in link.query_pairs() {
        let slot = match name.as_ref() {
            "client_id" => &mut client_id,
            "request_uri" => &mut request_uri,
            _ => continue,
        };
        if slot.replace(value.into_owned()).is_some() {
            return Err(refused(format!("the link names {name} twice")));
        }
    }
    let client_id = client_id.ok_or_else(|| refused("the link names no client_id"))?;
    let request_uri = request_uri.ok_or_else(|| refused("the link names no request_uri"))?;
    let client = check_url(&client_id, "client_id", allow_http_loopback)?;
    let request = check_url(&request_uri, "request_uri", allow_http_loopback)?;
    on_one_origin(&client, &request)?;
    Ok(ConnectLink {
        client_id: Some(client_id),
        request_uri,
    })
}

/// The company a fetched request object comes from: the link's
/// `client_id`, or for a bare request address the request's own unsigned
/// `iss`, which must be on the request's origin before anything is fetched
/// from it (its signature is checked later, with that company's keys).
pub fn claimed_client(
    link: &ConnectLink,
    request_object: &str,
    allow_http_loopback: bool,
) -> Result<String> {
    if let Some(client_id) = &link.client_id {
        return Ok(client_id.clone());
    }
    let claims = request_object::unverified_claims(request_object.trim())
        .map_err(|_| refused("the request object is not a compact JWS"))?;
    let iss = claims
        .get("iss")
        .and_then(|v| v.as_str())
        .ok_or_else(|| refused("the request object names no iss"))?;
    let client = check_url(iss, "the request object's iss", allow_http_loopback)?;
    let request = check_url(
        &link.request_uri,
        "the request address",
        allow_http_loopback,
    )?;
    on_one_origin(&client, &request)?;
    Ok(iss.to_string())
}

/// A company's request must be on its `client_id`'s origin.
fn on_one_origin(client: &Url, request: &Url) -> Result<()> {
    if same_origin(client, request) {
        Ok(())
    } else {
        Err(refused(format!(
            "the request is on another host ({}) than the company's client_id ({})",
            domain_of(request),
            domain_of(client)
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT: &str = "https://shop.test/custodian/client.json";
    const REQUEST: &str = "https://shop.test/custodian/requests/1";

    fn link(client: &str, request: &str) -> String {
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        format!(
            "custodian://connect?client_id={}&request_uri={}",
            enc(client),
            enc(request)
        )
    }

    fn rule(r: Result<ConnectLink>) -> String {
        match r {
            Err(Error::LinkRefused { rule }) => rule,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_bare_request_address_is_the_company_its_request_claims_on_its_own_origin() {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
        use base64::Engine;
        let jws = |claims: &str| format!("e30.{}.sig", B64URL.encode(claims));
        let bare = parse_link(REQUEST).unwrap();
        let claim = format!(r#"{{"iss":"{CLIENT}"}}"#);
        assert_eq!(claimed_client(&bare, &jws(&claim), false).unwrap(), CLIENT);
        let linked = parse_link(&link(CLIENT, REQUEST)).unwrap();
        assert_eq!(
            claimed_client(&linked, "not even a JWS", false).unwrap(),
            CLIENT,
            "a link's client_id is taken as it is"
        );
        let elsewhere = jws(r#"{"iss":"https://other.test/client.json"}"#);
        for (jws, rule) in [
            ("nodots".to_string(), "not a compact JWS"),
            ("e30.!!!.x".to_string(), "not a compact JWS"),
            (jws("{}"), "names no iss"),
            (
                elsewhere,
                "on another host (shop.test) than the company's client_id (other.test)",
            ),
        ] {
            match claimed_client(&bare, &jws, false) {
                Err(Error::LinkRefused { rule: got }) => assert!(got.contains(rule), "{got}"),
                other => panic!("{jws}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_link_names_the_client_and_its_request() {
        let parsed = parse_link(&format!("  {}\n", link(CLIENT, REQUEST))).unwrap();
        assert_eq!(
            parsed,
            ConnectLink {
                client_id: Some(CLIENT.into()),
                request_uri: REQUEST.into()
            }
        );
        let bare = parse_link(REQUEST).unwrap();
        assert_eq!((bare.client_id, bare.request_uri.as_str()), (None, REQUEST));
    }

    #[test]
    fn each_broken_rule_is_named() {
        for (text, says) in [
            ("mailto:a@b.c".to_string(), "not a Custodian link"),
            ("custodian://other?x=1".to_string(), "not a Custodian link"),
            (
                format!("custodian://connect?request_uri={REQUEST}"),
                "no client_id",
            ),
            (
                link(CLIENT, "https://evil.test/r"),
                "request is on another host (evil.test)",
            ),
            (
                link(CLIENT, "https://shop.test:8443/r"),
                "another host (shop.test:8443)",
            ),
            (link("http://shop.test/c", REQUEST), "https URL, not http"),
            (
                link("https://a:b@shop.test/c", REQUEST),
                "user name or password",
            ),
            (link(CLIENT, "https://shop.test/r#x"), "#fragment"),
            ("http://shop.test/r".to_string(), "https URL, not http"),
        ] {
            let got = rule(parse_link(&text));
            assert!(got.contains(says), "{text}: {got}");
        }
    }

    #[test]
    fn the_developer_switch_lets_plain_http_through() {
        let l = link("http://127.0.0.1:8080/c", "http://127.0.0.1:8080/r");
        assert!(parse_link(&l).is_err());
        assert!(parse_link_with(&l, true).is_ok());
        // Still one origin.
        let l = link("http://127.0.0.1:8080/c", "http://127.0.0.1:9090/r");
        assert!(parse_link_with(&l, true).is_err());
    }

    #[test]
    fn domains_keep_a_port_that_is_not_the_default() {
        let d = |u: &str| domain_of(&Url::parse(u).unwrap());
        assert_eq!(d("https://shop.test/x"), "shop.test");
        assert_eq!(d("https://shop.test:443/x"), "shop.test");
        assert_eq!(d("https://shop.test:8443/x"), "shop.test:8443");
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever is pasted, parsing never panics; a link it accepts
        /// has its request on its client's origin, both checked again.
        #[test]
        fn any_text_is_parsed_or_refused_by_name(
            text in "\\PC{0,200}",
            host in "[a-z.:0-9]{1,20}",
            other in proptest::option::of("[a-z.:0-9]{1,20}"),
            paths in ("[a-z/]{0,10}", "[a-z/]{0,10}"),
        ) {
            let client = format!("https://{host}/{}", paths.0);
            let request = format!("https://{}/{}", other.as_deref().unwrap_or(&host), paths.1);
            let _ = parse_link(&text);
            let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let link = format!("custodian://connect?client_id={}&request_uri={}", enc(&client), enc(&request));
            match parse_link(&link) {
                Ok(l) => {
                    let c = check_url(l.client_id.as_deref().unwrap(), "c", false).unwrap();
                    let r = check_url(&l.request_uri, "r", false).unwrap();
                    prop_assert!(same_origin(&c, &r));
                }
                Err(e) => prop_assert!(matches!(e, Error::LinkRefused { .. }), "{}", e),
            }
        }

        /// Untrusted documents and request objects are refused, never a panic.
        #[test]
        fn any_bytes_are_checked_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = crate::linked::parse_metadata(&bytes, "https://shop.test/c");
            let _ = crate::linked::parse_jwks(&bytes);
            let text = String::from_utf8_lossy(&bytes);
            let jwks = crate::linked::request_object::tests::company_jwks();
            let now = crate::linked::request_object::tests::now();
            let _ = crate::linked::verify_request_object(&text, "https://shop.test/c", &jwks, "https://shop.test/r", now);
            let _ = crate::linked::feed::verify_feed_item(&text, "https://shop.test/c", "pod", "grt_1", &jwks);
        }
    }
}
