//! Paging a container listing on the wire: the `?limit=&after=` query a
//! company sends, and the `Link: <…>; rel="next"` header that points at the
//! page after this one (docs/PROTOCOL.md).

use axum::http::{HeaderValue, Uri};
use custodian_core::data::path::PodPath;
use custodian_core::pod::PageAsk;

use crate::error::ApiError;

/// The page a request's query asks for. `limit` is a whole number (the
/// core clamps it to its range), `after` a pod path (percent-decoded once);
/// each at most once. Other parameters are ignored, as they always were.
pub(super) fn page_ask(uri: &Uri) -> Result<PageAsk, ApiError> {
    let mut ask = PageAsk::default();
    let Some(query) = uri.query() else {
        return Ok(ask);
    };
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
        .map_err(|_| ApiError::bad_request("invalid_request", "the query is not a form"))?;
    let repeated =
        |name| ApiError::bad_request("invalid_request", format!("`{name}` is given twice"));
    for (name, value) in pairs {
        match name.as_str() {
            "limit" => {
                if ask.limit.is_some() {
                    return Err(repeated("limit"));
                }
                let n = value.parse::<usize>().map_err(|_| {
                    ApiError::bad_request("invalid_request", "`limit` is a whole number of members")
                })?;
                ask.limit = Some(n);
            }
            "after" => {
                if ask.after.is_some() {
                    return Err(repeated("after"));
                }
                ask.after = Some(value);
            }
            _ => {}
        }
    }
    Ok(ask)
}

/// The `Link` header value pointing at the next page of `container`.
pub(super) fn next_link(
    container: &PodPath,
    next: &str,
    limit: Option<usize>,
) -> Option<HeaderValue> {
    let mut query = vec![("after", next.to_string())];
    if let Some(limit) = limit {
        query.push(("limit", limit.to_string()));
    }
    let query = serde_urlencoded::to_string(query).ok()?;
    HeaderValue::from_str(&format!(
        "</pod{}?{query}>; rel=\"next\"",
        encode_path(container.as_str())
    ))
    .ok()
}

/// A normalized pod path as it goes in a URL: every byte outside RFC 3986's
/// unreserved set and `/` percent-encoded.
fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(q: &str) -> Result<PageAsk, ApiError> {
        page_ask(&format!("/pod/c/{q}").parse::<Uri>().unwrap())
    }

    #[test]
    fn the_query_names_the_page() {
        assert_eq!(ask("").unwrap(), PageAsk::default());
        assert_eq!(
            ask("?limit=2&after=%2Fc%2Fa%20b&other=1").unwrap(),
            PageAsk {
                after: Some("/c/a b".into()),
                limit: Some(2)
            }
        );
        for bad in [
            "?limit=-1",
            "?limit=x",
            "?limit=1&limit=2",
            "?after=a&after=b",
        ] {
            let e = ask(bad).unwrap_err();
            assert_eq!(e.error, "invalid_request", "{bad}");
        }
    }

    #[test]
    fn the_next_link_round_trips_through_the_query() {
        let c = custodian_core::parse_path("/My Files/").unwrap();
        let link = next_link(&c, "/My Files/a&b", Some(5)).unwrap();
        let text = link.to_str().unwrap();
        assert_eq!(
            text,
            "</pod/My%20Files/?after=%2FMy+Files%2Fa%26b&limit=5>; rel=\"next\""
        );
        let target = &text[1..text.find('>').unwrap()];
        let back = page_ask(&target.parse::<Uri>().unwrap()).unwrap();
        assert_eq!(back.after.as_deref(), Some("/My Files/a&b"));
        assert_eq!(back.limit, Some(5));
    }
}
