//! The feed (write-back): while a linked grant may append to a container,
//! the desktop fetches the company's feed and hands its items here. Each
//! item is checked by a pure function ([`verify_feed_item`]: signed by a key
//! of the company's JWK Set, typed, addressed to this pod, for this grant),
//! used once (its `jti`), and stored by the pod API's own rule for a `POST`
//! under the grant ([`crate::pod::decide`]), logged `feed`. A bad item is
//! refused and logged (denied, with the reason); the rest still land. The
//! cursor is kept per grant.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::Serialize;
use serde_json::Value;

use super::metadata::{parse_jwks, Jwks};
use super::records::{FeedCursorRecord, FeedSeenRecord};
use super::request_object::{self, verified_claims};
use crate::audit::{Action, NewEntry, Outcome};
use crate::clock::format_time;
use crate::data::path::PodPath;
use crate::data::resource::{JSON, OCTET_STREAM};
use crate::pod::{self, Method, PodRequest};
use crate::sharing::grant::{Access, GrantStatus};
use crate::sharing::scope::Action as Scope;
use crate::vault::record::{self, OnConflict, StoredJson};
use crate::vault::store::Store;
use crate::{Error, Result};

/// The JWS `typ` every feed item carries.
pub const TYP: &str = "custodian-feed-item+jwt";

/// A grant whose feed is due: where to fetch it and how to check it.
#[derive(Debug, Clone, Serialize)]
pub struct FeedTarget {
    pub grant_id: String,
    pub client_id: String,
    pub feed_uri: String,
    /// Where the last fetch stopped (empty for the first).
    pub cursor: String,
    /// The company's JWK Set, as stored.
    pub jwks: Value,
    /// Where the company publishes it, when it does (fetched again when
    /// an item names a key the stored set lacks: see [`names_unknown_kid`]).
    pub jwks_uri: Option<String>,
}

/// What one batch of feed items came to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FeedOutcome {
    /// Paths of the resources created.
    pub stored: Vec<String>,
    /// Each refused item's reason.
    pub refused: Vec<String>,
}

/// A feed item whose signature and claims check out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedItem {
    pub jti: String,
    pub container: PodPath,
    pub slug: Option<String>,
    pub content_type: String,
    pub content: Vec<u8>,
}

fn refused(rule: impl Into<String>) -> Error {
    Error::LinkRefused { rule: rule.into() }
}

/// Checks one feed item of the company `client_id` (keys `jwks`) for the
/// grant `grant_id` of the pod `pod_id`.
pub fn verify_feed_item(
    jws: &str,
    client_id: &str,
    pod_id: &str,
    grant_id: &str,
    jwks: &Jwks,
) -> Result<FeedItem> {
    let (_, claims) = verified_claims(
        jws.trim(),
        jwks,
        &|typ| typ.is_some_and(|t| t.eq_ignore_ascii_case(TYP)),
        "a feed item's is custodian-feed-item+jwt",
    )?;
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    if text("iss") != Some(client_id) {
        return Err(refused("iss is not the company's client_id"));
    }
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => a == pod_id,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(pod_id)),
        _ => false,
    };
    if !aud_ok {
        return Err(refused("wrong aud: it must be this pod's id"));
    }
    if claims.get("iat").and_then(Value::as_i64).is_none() {
        return Err(refused("the claim iat is missing or not a time"));
    }
    let jti = text("jti").ok_or_else(|| refused("the claim jti is missing"))?;
    if !(1..=128).contains(&jti.chars().count()) || jti.chars().any(char::is_control) {
        return Err(refused("jti must be 1 to 128 printable characters"));
    }
    if text("grant_id") != Some(grant_id) {
        return Err(refused("the item is for another grant"));
    }
    let item = claims
        .get("item")
        .and_then(Value::as_object)
        .ok_or_else(|| refused("the claim item is missing"))?;
    let container = item
        .get("container")
        .and_then(Value::as_str)
        .ok_or_else(|| refused("the item names no container"))?;
    let container = PodPath::parse(container)
        .map_err(|rule| refused(format!("the item's container: {rule}")))?;
    if !container.is_container() {
        return Err(refused("the item's container must end in /"));
    }
    let slug = item.get("slug").and_then(Value::as_str).map(str::to_string);
    let named_type = item.get("content_type").and_then(Value::as_str);
    let (content_type, content) = match (item.get("content"), item.get("content_base64")) {
        (Some(v), None) => (
            named_type.unwrap_or(JSON).to_string(),
            serde_json::to_vec(v).map_err(|e| refused(e.to_string()))?,
        ),
        (None, Some(Value::String(b))) => (
            named_type.unwrap_or(OCTET_STREAM).to_string(),
            B64.decode(b)
                .map_err(|_| refused("the item's content_base64 is not base64"))?,
        ),
        _ => {
            return Err(refused(
                "the item must have exactly one of content and content_base64",
            ))
        }
    };
    Ok(FeedItem {
        jti: jti.to_string(),
        container,
        slug,
        content_type,
        content,
    })
}

/// Whether some item names a key (its header's `kid`) that the company's
/// stored JWK Set lacks: the company may have rotated its keys since the
/// person connected, and its `jwks_uri` is worth fetching again.
pub fn names_unknown_kid(jwks: &Value, items: &[String]) -> bool {
    let known: Vec<&str> = jwks
        .get("keys")
        .and_then(Value::as_array)
        .map(|keys| {
            keys.iter()
                .filter_map(|k| k.get("kid").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default();
    items
        .iter()
        .filter_map(|jws| unchecked_header_kid(jws))
        .any(|kid| !known.contains(&kid.as_str()))
}

/// The `kid` of a JWS's header, read without checking anything.
fn unchecked_header_kid(jws: &str) -> Option<String> {
    let header = request_object::header_of(jws.trim()).ok()?;
    header.get("kid")?.as_str().map(str::to_string)
}

/// The `jti` of an item, read without checking anything (for the log of a
/// refused one).
fn unchecked_jti(jws: &str) -> Option<String> {
    let claims = request_object::unverified_claims(jws.trim()).ok()?;
    claims
        .get("jti")?
        .as_str()
        .map(|s| s.chars().take(128).collect())
}

impl Store {
    /// The linked grants whose feed is due: active, allowed to append to
    /// a container, of a company that publishes a feed.
    pub fn due_feeds(&self) -> Result<Vec<FeedTarget>> {
        let now = format_time(self.clock.now());
        type Row = (String, String, String, String, String, Option<String>);
        let rows: Vec<Row> = self
            .conn
            .prepare_cached(
                "SELECT g.id, g.client_id, lc.feed_uri, lc.jwks, coalesce(fc.cursor, ''),
                        lc.jwks_uri
                 FROM linked_requests lr
                 JOIN grants g ON g.id = lr.grant_id
                 JOIN linked_clients lc ON lc.client_id = lr.client_id
                 LEFT JOIN feed_cursors fc ON fc.grant_id = g.id
                 WHERE lr.grant_id IS NOT NULL AND g.revoked_at IS NULL AND g.expires_at > ?1
                   AND lc.feed_uri IS NOT NULL
                 ORDER BY g.created_at, g.id",
            )?
            .query_map([&now], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let mut out = Vec::new();
        for (grant_id, client_id, feed_uri, jwks, cursor, jwks_uri) in rows {
            let grant = self.grant(&grant_id)?;
            let appends = grant.details.iter().any(|d| {
                d.actions.contains(&Scope::Append) && d.paths.iter().any(PodPath::is_container)
            });
            if grant.status == GrantStatus::Active && appends {
                out.push(FeedTarget {
                    grant_id,
                    client_id,
                    feed_uri,
                    cursor,
                    jwks: serde_json::from_str(&jwks).unwrap_or(Value::Null),
                    jwks_uri,
                });
            }
        }
        Ok(out)
    }

    /// Replaces a linked company's JWK Set with the one fetched again from
    /// its `jwks_uri` (checked as at connect): the company rotated its keys.
    pub fn refresh_company_keys(&self, client_id: &str, jwks: &[u8]) -> Result<()> {
        let jwks = parse_jwks(jwks)?;
        let tx = self.write_tx()?;
        let changed = tx.execute(
            "UPDATE linked_clients SET jwks = ?2 WHERE client_id = ?1 AND jwks_uri IS NOT NULL",
            rusqlite::params![client_id, StoredJson::of(&jwks.json)?],
        )?;
        if changed == 0 {
            return Err(Error::InvalidRequest(format!(
                "{client_id} is not a linked company that publishes jwks_uri"
            )));
        }
        tx.commit()?;
        Ok(())
    }

    /// Takes one fetch of a grant's feed: each item checked, used once and
    /// stored under the grant as the pod API's `POST` would, or refused;
    /// every one logged `feed`. Then keeps `next` as the grant's cursor.
    pub fn accept_feed(
        &self,
        grant_id: &str,
        items: &[String],
        next: Option<&str>,
    ) -> Result<FeedOutcome> {
        let grant = self.grant(grant_id)?;
        let (client_id, jwks): (String, String) = self
            .conn
            .prepare_cached(
                "SELECT lc.client_id, lc.jwks FROM linked_requests lr
                 JOIN linked_clients lc ON lc.client_id = lr.client_id WHERE lr.grant_id = ?1",
            )?
            .query_row([grant_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|_| {
                Error::InvalidRequest(format!("{grant_id} is not a linked company's grant"))
            })?;
        if grant.status != GrantStatus::Active {
            return Err(Error::InvalidGrant(format!(
                "{grant_id} is {}: its feed is no longer taken",
                grant.status.name()
            )));
        }
        let jwks = parse_jwks(jwks.as_bytes())?;
        let pod_id = self.pod_identity()?.id;
        let access = Access {
            client_id: client_id.clone(),
            grant,
        };
        let mut outcome = FeedOutcome::default();
        // Every item of the answer is taken (the answer is capped at 1 MiB
        // by the fetch, not at a number of items): the cursor moves past
        // all of them below, so one left out would be lost.
        for jws in items {
            match self.take_item(jws, &access, &pod_id, &jwks) {
                Ok(path) => outcome.stored.push(path),
                Err(Refused::Logged(reason)) => outcome.refused.push(reason),
                Err(Refused::Unlogged(reason)) => {
                    let mut entry = NewEntry::client(&client_id, Action::Feed);
                    entry.grant_id = Some(grant_id.to_string());
                    entry.outcome = Outcome::Denied;
                    entry.reason = Some(match unchecked_jti(jws) {
                        Some(jti) => format!("item {jti:?} refused: {reason}"),
                        None => format!("item refused: {reason}"),
                    });
                    self.append_audit(&[entry])?;
                    outcome.refused.push(reason);
                }
            }
        }
        let tx = self.write_tx()?;
        let now = self.now();
        let cursor = match next {
            Some(n) => n.to_string(),
            None => tx
                .query_row(
                    "SELECT cursor FROM feed_cursors WHERE grant_id = ?1",
                    [grant_id],
                    |r| r.get(0),
                )
                .unwrap_or_default(),
        };
        tx.execute("DELETE FROM feed_cursors WHERE grant_id = ?1", [grant_id])?;
        record::insert(
            &tx,
            &FeedCursorRecord {
                grant_id: grant_id.to_string(),
                cursor,
                polled_at: now,
            },
            &[],
            OnConflict::Fail,
        )?;
        tx.commit()?;
        Ok(outcome)
    }

    /// One item: checked, its `jti` used once, stored by the pod's rule
    /// for a `POST` and logged `feed`. The refusal's reason otherwise.
    fn take_item(
        &self,
        jws: &str,
        access: &Access,
        pod_id: &str,
        jwks: &Jwks,
    ) -> std::result::Result<String, Refused> {
        let item = verify_feed_item(jws, &access.client_id, pod_id, &access.grant.id, jwks)
            .map_err(|e| {
                Refused::Unlogged(match e {
                    Error::LinkRefused { rule } => rule,
                    other => other.to_string(),
                })
            })?;
        let fail = |e: Error| Refused::Unlogged(e.to_string());
        // Used once, even if the write below fails: an item is taken at
        // most once.
        let tx = self.write_tx().map_err(fail)?;
        let seen = FeedSeenRecord {
            client_id: access.client_id.clone(),
            jti: item.jti.clone(),
            grant_id: access.grant.id.clone(),
            seen_at: self.now(),
        };
        let fresh = record::insert(&tx, &seen, &[], OnConflict::Ignore).map_err(fail)?;
        tx.commit().map_err(|e| fail(e.into()))?;
        if fresh == 0 {
            return Err(Refused::Unlogged(
                "replayed jti: the item was already taken".into(),
            ));
        }
        // The resource and its log entry: one transaction (the POST's
        // write joins it).
        let tx = self.write_tx().map_err(fail)?;
        let decision = pod::decide(
            self,
            access,
            PodRequest {
                method: Method::Post,
                path: item.container,
                if_none_match: None,
                content_type: Some(item.content_type),
                slug: item.slug,
                range: None,
                page: Default::default(),
                body: item.content,
            },
        );
        // The pod's own entry for the POST (allowed, or denied with its
        // reason), under the feed's word.
        let mut entry = decision.entry;
        entry.action = Action::Feed;
        let path = entry.path.clone().unwrap_or_default();
        let result = match decision.result {
            Ok(_) => Ok(path),
            Err(refusal) => {
                let reason = refusal.to_string();
                entry.reason = Some(format!(
                    "item {:?} refused: {}",
                    item.jti,
                    entry.reason.as_deref().unwrap_or(&reason)
                ));
                Err(Refused::Logged(reason))
            }
        };
        crate::audit::append_in(&tx, &self.now(), [&entry]).map_err(fail)?;
        tx.commit().map_err(|e| fail(e.into()))?;
        result
    }
}

/// A refused item's reason, and whether its log entry is written already.
enum Refused {
    Logged(String),
    Unlogged(String),
}

#[cfg(test)]
#[path = "feed_tests.rs"]
mod tests;
