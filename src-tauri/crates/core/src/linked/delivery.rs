//! What a delivery says, as pure functions: the claims of the signed
//! delivery (docs/companies.md, "Deliveries"), each event's body, the
//! resources it carries, and the split of a large `granted` into parts that
//! each fit [`MAX_DELIVERY_BYTES`]. Signing uses the consent receipts' JWS
//! code with the pod's key; the header carries the public key (`jwk`), whose
//! RFC 7638 thumbprint is the `kid` and the `iss`, so a company can check
//! the signature with nothing but the delivery.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::clock::format_time;
use crate::data::resource::content::is_json_type;
use crate::sharing::receipts::jws;
use crate::vault::identity::{PodIdentity, PodKey};

/// The largest delivery body (the compact JWS) the pod sends.
pub const MAX_DELIVERY_BYTES: usize = 1 << 20;

/// The JWS `typ` of every delivery.
pub const TYP: &str = "custodian-delivery+jwt";

/// Room for an event's JSON inside a delivery: the body is base64url of
/// the claims (4/3 of their size) plus the header and signature (under
/// 1 KiB), and the claims around the event (ids, the company's client id
/// and state) stay under 4 KiB.
pub const EVENT_BUDGET: usize = (MAX_DELIVERY_BYTES - 1024) / 4 * 3 - 4096;

/// What every delivery of one request says besides its event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub pod_id: String,
    pub client_id: String,
    pub state: String,
    pub request_id: String,
    /// Absent on `denied`.
    pub grant_id: Option<String>,
}

/// The claims of one delivery.
pub fn claims(env: &Envelope, jti: &str, iat: DateTime<Utc>, seq: i64, event: Value) -> Value {
    let mut c = json!({
        "iss": env.pod_id,
        "aud": env.client_id,
        "iat": iat.timestamp(),
        "jti": jti,
        "state": env.state,
        "request_id": env.request_id,
        "seq": seq,
        "event": event,
    });
    if let Some(g) = &env.grant_id {
        c["grant_id"] = json!(g);
    }
    c
}

/// The JWS header of every delivery: the pod's public key named and given.
pub fn header(identity: &PodIdentity) -> Value {
    json!({"alg": jws::ALG, "typ": TYP, "kid": identity.id, "jwk": identity.jwk})
}

/// The signed delivery: a compact JWS over `claims`.
pub(crate) fn sign(claims: &Value, key: &PodKey) -> String {
    jws::sign(&header(&key.identity()), claims.to_string().as_bytes(), key)
}

/// A resource a delivery carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub path: String,
    pub etag: String,
    pub content_type: String,
    /// The content's size, known without reading it.
    pub size: u64,
    /// The content; left empty (not read) when [`carries`] says no
    /// delivery can hold it.
    pub content: Vec<u8>,
}

/// Whether content of `size` bytes might fit a delivery at all: larger
/// content is never read for one (it is sent as [`omitted`]).
pub fn carries(size: u64) -> bool {
    size <= MAX_DELIVERY_BYTES as u64
}

/// A resource as a delivery shows it: JSON content as JSON, anything else
/// as base64; content too large for any delivery, by its size alone, as
/// [`omitted`].
pub fn resource(item: &Item) -> Value {
    if !carries(item.size) {
        return omitted(item);
    }
    let mut r = json!({"path": item.path, "etag": item.etag, "content_type": item.content_type});
    match serde_json::from_slice::<Value>(&item.content) {
        Ok(v) if is_json_type(&item.content_type) => r["content"] = v,
        _ => r["content_base64"] = json!(B64.encode(&item.content)),
    }
    r
}

/// A resource too large for any delivery: named, with its size, no content.
pub fn omitted(item: &Item) -> Value {
    json!({"path": item.path, "etag": item.etag, "content_type": item.content_type,
           "content_omitted": "too_large", "size": item.size})
}

/// The grant as a `granted` event names it.
pub fn grant_summary(id: &str, details: &Value, expires_at: DateTime<Utc>) -> Value {
    json!({"id": id, "authorization_details": details, "expires_at": format_time(expires_at)})
}

/// The `granted` events for a grant covering `items` (in path order), split
/// into parts of at most [`EVENT_BUDGET`] bytes of JSON each.
pub fn granted(grant: &Value, receipt: &str, items: &[Item]) -> Vec<Value> {
    granted_within(grant, receipt, items, EVENT_BUDGET)
}

/// [`granted`] with the room given (so tests can split small grants).
pub fn granted_within(grant: &Value, receipt: &str, items: &[Item], budget: usize) -> Vec<Value> {
    let shell = |resources: Vec<Value>| {
        json!({"type": "granted", "grant": grant, "consent_receipt": receipt,
               "resources": resources, "part": 1, "parts": 1})
    };
    // The part and parts numbers may grow by a few digits.
    let base = shell(Vec::new()).to_string().len() + 16;
    let mut parts: Vec<Vec<Value>> = vec![Vec::new()];
    let mut used = base;
    for item in items {
        let mut r = resource(item);
        let mut size = r.to_string().len() + 1;
        if base + size > budget {
            r = omitted(item);
            size = r.to_string().len() + 1;
        }
        if used + size > budget && parts.last().is_some_and(|p| !p.is_empty()) {
            parts.push(Vec::new());
            used = base;
        }
        used += size;
        if let Some(last) = parts.last_mut() {
            last.push(r);
        }
    }
    let n = parts.len();
    parts
        .into_iter()
        .enumerate()
        .map(|(i, resources)| {
            let mut e = shell(resources);
            e["part"] = json!(i + 1);
            e["parts"] = json!(n);
            e
        })
        .collect()
}

/// What happened to one resource a grant sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Added,
    Changed,
    Deleted,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Added => "added",
            Change::Changed => "changed",
            Change::Deleted => "deleted",
        }
    }

    /// The change a write makes to what a grant sees, from whether the
    /// grant saw the resource before and after, and whether its content
    /// or type changed; `None` when the grant sees no difference.
    pub fn seen(before: bool, after: bool, same_etag: bool) -> Option<Change> {
        match (before, after) {
            (false, true) => Some(Change::Added),
            (true, false) => Some(Change::Deleted),
            (true, true) if !same_etag => Some(Change::Changed),
            _ => None,
        }
    }
}

/// An `updated` event for one resource (`item` absent when deleted).
pub fn updated(change: Change, path: &str, item: Option<&Item>) -> Value {
    let entry = match (change, item) {
        (Change::Deleted, _) | (_, None) => json!({"change": "deleted", "path": path}),
        (c, Some(item)) => {
            let mut r = resource(item);
            if r.to_string().len() + 512 > EVENT_BUDGET {
                r = omitted(item);
            }
            r["change"] = json!(c.as_str());
            r
        }
    };
    json!({"type": "updated", "changes": [entry]})
}

/// A `denied` event.
pub fn denied(receipt: &str) -> Value {
    json!({"type": "denied", "consent_receipt": receipt})
}

/// A grant's end: `revoked` or `expired`, when, and its receipt.
pub fn ended(kind: &str, at: DateTime<Utc>, receipt: &str) -> Value {
    json!({"type": kind, "at": format_time(at), "consent_receipt": receipt})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::identity::tests::rfc8037_key;

    fn item(path: &str, bytes: usize) -> Item {
        Item {
            path: path.into(),
            etag: "e".into(),
            content_type: "text/plain".into(),
            size: bytes as u64,
            content: vec![b'x'; bytes],
        }
    }

    #[test]
    fn a_delivery_is_signed_by_the_key_it_names() {
        let key = rfc8037_key();
        let env = Envelope {
            pod_id: key.identity().id,
            client_id: "https://shop.test/c".into(),
            state: "st".into(),
            request_id: "req_1".into(),
            grant_id: None,
        };
        let at = DateTime::from_timestamp(1_764_489_700, 0).unwrap();
        let c = claims(&env, "dlv_1", at, 3, denied("r.e.c"));
        assert_eq!(
            c,
            json!({"iss": env.pod_id, "aud": "https://shop.test/c", "iat": 1_764_489_700,
                   "jti": "dlv_1", "state": "st", "request_id": "req_1", "seq": 3,
                   "event": {"type": "denied", "consent_receipt": "r.e.c"}})
        );
        let body = sign(&c, &key);
        let parts = jws::parts(&body).unwrap();
        assert_eq!(parts.payload, c);
        assert_eq!(parts.header["typ"], TYP);
        assert_eq!(parts.header["kid"], json!(env.pod_id));
        // The key in the header proves itself: its thumbprint is the kid.
        let x = parts.header["jwk"]["x"].as_str().unwrap();
        assert_eq!(crate::vault::identity::thumbprint(x), env.pod_id);
        jws::check_signature(&body, &PodIdentity::from_public(x)).unwrap();
    }

    #[test]
    fn json_is_carried_as_json_and_the_rest_as_base64() {
        let mut i = item("/a", 0);
        i.content = br#"{"a":1}"#.to_vec();
        i.content_type = "application/json".into();
        assert_eq!(resource(&i)["content"], json!({"a": 1}));
        i.content_type = "text/plain".into();
        assert_eq!(resource(&i)["content_base64"], json!("eyJhIjoxfQ=="));
    }

    #[test]
    fn a_large_grant_is_split_in_path_order_and_a_huge_resource_sent_without_content() {
        let g = grant_summary("grt_1", &json!([]), DateTime::UNIX_EPOCH);
        let items = [
            item("/a", 300),
            item("/b", 300),
            item("/c", 5000),
            item("/d", 300),
        ];
        let budget = 1200;
        let parts = granted_within(&g, "r.e.c", &items, budget);
        assert_eq!(parts.len(), 2, "{parts:#?}");
        for (i, p) in parts.iter().enumerate() {
            assert!(p.to_string().len() <= budget, "part {i}");
            assert_eq!(
                (p["part"].as_u64(), p["parts"].as_u64()),
                (Some(i as u64 + 1), Some(2))
            );
        }
        let paths: Vec<&str> = parts
            .iter()
            .flat_map(|p| p["resources"].as_array().unwrap())
            .map(|r| r["path"].as_str().unwrap())
            .collect();
        assert_eq!(paths, ["/a", "/b", "/c", "/d"]);
        let c = &parts[1]["resources"][0];
        assert_eq!(
            (c["content_omitted"].as_str(), c["size"].as_u64()),
            (Some("too_large"), Some(5000))
        );
        // Nothing covered: one part, no resources.
        let none = granted(&g, "r.e.c", &[]);
        assert_eq!(none.len(), 1);
        assert_eq!(none[0]["resources"], json!([]));
    }

    #[test]
    fn the_largest_granted_part_fits_a_delivery() {
        let key = rfc8037_key();
        let env = Envelope {
            pod_id: key.identity().id,
            client_id: format!("https://shop.test/{}", "c".repeat(1900)),
            state: "s".repeat(256),
            request_id: "req_1".into(),
            grant_id: Some("grt_1".into()),
        };
        let g = grant_summary("grt_1", &json!([]), DateTime::UNIX_EPOCH);
        let items: Vec<Item> = (0..40)
            .map(|i| item(&format!("/r{i:02}"), 60_000))
            .collect();
        let parts = granted(&g, "r.e.c", &items);
        assert!(parts.len() > 1);
        for p in parts {
            let body = sign(&claims(&env, "dlv_1", DateTime::UNIX_EPOCH, 1, p), &key);
            assert!(body.len() <= MAX_DELIVERY_BYTES, "{}", body.len());
        }
    }

    #[test]
    fn a_change_is_what_the_grant_sees_of_it() {
        assert_eq!(Change::seen(false, true, false), Some(Change::Added));
        assert_eq!(Change::seen(true, false, true), Some(Change::Deleted));
        assert_eq!(Change::seen(true, true, false), Some(Change::Changed));
        assert_eq!(Change::seen(true, true, true), None);
        assert_eq!(Change::seen(false, false, false), None);
        assert_eq!(
            updated(Change::Deleted, "/a", None),
            json!({"type": "updated", "changes": [{"change": "deleted", "path": "/a"}]})
        );
        let u = updated(Change::Added, "/a", Some(&item("/a", 2)));
        assert_eq!(u["changes"][0]["change"], "added");
        assert_eq!(u["changes"][0]["content_base64"], "eHg=");
    }
}
