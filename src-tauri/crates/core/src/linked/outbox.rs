//! The outbox: what the pod owes linked companies, queued in the same
//! transaction as its cause and signed once, then. The hooks here are called
//! by the decisions (approve → `granted`, deny → `denied`, revoke and cut
//! off → `revoked`, the expiry step → `expired`) and by every resource write
//! (→ `updated` for each active linked grant that sees a difference). A
//! request or grant that did not come by a link has no deliveries: every
//! hook returns at once for it. A delivery delivered or gone moot keeps its
//! metadata (for the listing) but not its body. The sending side is in
//! [`super::attempts`].

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};
use serde_json::Value;

use super::delivery::{self, Change, Envelope, Item};
use super::records::OutboxRecord;
use crate::clock::{format_time, parse_time};
use crate::data::path::PodPath;
use crate::data::resource::ResourceMeta;
use crate::sharing::scope::{self, Action, PodAccess, Target};
use crate::sharing::token;
use crate::vault::identity::load_pod_key;
use crate::vault::record::{self, OnConflict};
use crate::vault::store::Store;
use crate::Result;

/// Where one linked request's deliveries go.
#[derive(Debug, Clone)]
pub(crate) struct Route {
    pub request_id: String,
    pub client_id: String,
    pub state: String,
    pub target: String,
}

const ROUTE: &str = "SELECT lr.request_id, lr.client_id, lr.state, lc.delivery_uri
     FROM linked_requests lr JOIN linked_clients lc ON lc.client_id = lr.client_id";

fn route(r: &rusqlite::Row<'_>) -> rusqlite::Result<Route> {
    Ok(Route {
        request_id: r.get(0)?,
        client_id: r.get(1)?,
        state: r.get(2)?,
        target: r.get(3)?,
    })
}

impl Store {
    fn route_of_request(&self, request_id: &str) -> Result<Option<Route>> {
        Ok(self
            .conn
            .prepare_cached(&format!("{ROUTE} WHERE lr.request_id = ?1"))?
            .query_row([request_id], route)
            .optional()?)
    }

    fn route_of_grant(&self, grant_id: &str) -> Result<Option<Route>> {
        Ok(self
            .conn
            .prepare_cached(&format!("{ROUTE} WHERE lr.grant_id = ?1"))?
            .query_row([grant_id], route)
            .optional()?)
    }

    /// Signs and queues one delivery of `event` on `route`'s request, next
    /// in its order; returns its id (the `jti`).
    fn queue(&self, route: &Route, grant_id: Option<&str>, event: Value) -> Result<String> {
        let kind = event["type"].as_str().unwrap_or_default().to_string();
        self.conn
            .prepare_cached(
                "UPDATE linked_requests SET last_seq = last_seq + 1 WHERE request_id = ?1",
            )?
            .execute([&route.request_id])?;
        let number: i64 = self
            .conn
            .prepare_cached("SELECT last_seq FROM linked_requests WHERE request_id = ?1")?
            .query_row([&route.request_id], |r| r.get(0))?;
        let key = load_pod_key(&self.conn)?;
        let id = token::new_id("dlv_")?;
        let at = self.clock.now();
        let envelope = Envelope {
            pod_id: key.identity().id,
            client_id: route.client_id.clone(),
            state: route.state.clone(),
            request_id: route.request_id.clone(),
            grant_id: grant_id.map(str::to_string),
        };
        let body = delivery::sign(&delivery::claims(&envelope, &id, at, number, event), &key);
        let now = format_time(at);
        record::insert(
            &self.conn,
            &OutboxRecord {
                id: id.clone(),
                client_id: route.client_id.clone(),
                request_id: route.request_id.clone(),
                number,
                grant_id: grant_id.map(str::to_string),
                event: kind,
                target: route.target.clone(),
                body,
                status: "queued".into(),
                attempts: 0,
                created_at: now.clone(),
                next_attempt_at: now,
                last_attempt_at: None,
                last_error: None,
                last_status: None,
                delivered_at: None,
            },
            &[],
            OnConflict::Fail,
        )?;
        Ok(id)
    }

    /// After an approval: the grant, its receipt and the content of every
    /// resource it lets the company read, in one or more `granted` parts.
    pub(crate) fn queue_granted(
        &self,
        request_id: &str,
        grant_id: &str,
        receipt: &str,
    ) -> Result<()> {
        let Some(route) = self.route_of_request(request_id)? else {
            return Ok(());
        };
        self.conn.execute(
            "UPDATE linked_requests SET grant_id = ?2 WHERE request_id = ?1",
            params![request_id, grant_id],
        )?;
        let grant = self.grant(grant_id)?;
        let summary = delivery::grant_summary(
            grant_id,
            &serde_json::to_value(&grant.details).unwrap_or(Value::Null),
            grant.expires_at,
        );
        let items = self.covered_items(&grant.details)?;
        for event in delivery::granted(&summary, receipt, &items) {
            self.queue(&route, Some(grant_id), event)?;
        }
        Ok(())
    }

    /// After a denial.
    pub(crate) fn queue_denied(&self, request_id: &str, receipt: &str) -> Result<()> {
        if let Some(route) = self.route_of_request(request_id)? {
            self.queue(&route, None, delivery::denied(receipt))?;
        }
        Ok(())
    }

    /// After a grant ended (`revoked` or `expired`): what is still queued
    /// about its data will never be sent (moot), and the end is.
    pub(crate) fn queue_ended(
        &self,
        grant_id: &str,
        kind: &str,
        at: DateTime<Utc>,
        receipt: &str,
    ) -> Result<()> {
        let Some(route) = self.route_of_grant(grant_id)? else {
            return Ok(());
        };
        self.conn.execute(
            "UPDATE outbox SET status = 'moot', body = '' WHERE grant_id = ?1
               AND event IN ('granted', 'updated') AND status IN ('queued', 'failed')",
            [grant_id],
        )?;
        self.queue(&route, Some(grant_id), delivery::ended(kind, at, receipt))?;
        Ok(())
    }

    /// After a write at `path` (`before` its live metadata then, `after` the
    /// new one with its content when the write holds it inline, `None` to
    /// read it when needed; `after` itself `None` for a deletion): an
    /// `updated` for each active linked grant that sees a difference. With
    /// no linked grant, one look into an index that is empty.
    pub(crate) fn queue_updates(
        &self,
        path: &PodPath,
        before: Option<&ResourceMeta>,
        after: Option<(&ResourceMeta, Option<&[u8]>)>,
    ) -> Result<()> {
        let now = format_time(self.clock.now());
        let grants: Vec<(Route, String, String)> = self
            .conn
            .prepare_cached(
                "SELECT lr.request_id, lr.client_id, lr.state, lc.delivery_uri, g.id, g.details
                 FROM linked_requests lr
                 JOIN grants g ON g.id = lr.grant_id
                 JOIN linked_clients lc ON lc.client_id = lr.client_id
                 WHERE lr.grant_id IS NOT NULL AND g.revoked_at IS NULL AND g.expires_at > ?1",
            )?
            .query_map([&now], |r| Ok((route(r)?, r.get(4)?, r.get(5)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (route, grant_id, details) in grants {
            let Ok(details) = serde_json::from_str::<Vec<PodAccess>>(&details) else {
                continue;
            };
            let sees = |m: &ResourceMeta| scope::allows(&details, &Target::of(m), Action::Read);
            let same_etag = match (before, after) {
                (Some(b), Some((a, _))) => b.etag == a.etag,
                _ => false,
            };
            let Some(change) = Change::seen(
                before.is_some_and(sees),
                after.is_some_and(|(a, _)| sees(a)),
                same_etag,
            ) else {
                continue;
            };
            let item = after
                .map(|(meta, content)| self.item_of(meta, content))
                .transpose()?;
            let event = delivery::updated(change, path.as_str(), item.as_ref());
            self.queue(&route, Some(&grant_id), event)?;
        }
        Ok(())
    }

    /// After a merge added the resource at `path` (stored text): an
    /// `added` for each linked grant that sees it, if it is live.
    pub(crate) fn queue_merged(&self, path: &str) -> Result<()> {
        let Ok(path) = PodPath::from_stored(path) else {
            return Ok(());
        };
        match self.live_meta(&path)? {
            Some(meta) => self.queue_updates(&path, None, Some((&meta, None))),
            None => Ok(()),
        }
    }

    /// Every live resource `details` let the company read, in path order.
    pub(crate) fn covered_items(&self, details: &[PodAccess]) -> Result<Vec<Item>> {
        let mut paths = BTreeSet::new();
        for detail in details.iter().filter(|d| d.actions.contains(&Action::Read)) {
            for scope_path in &detail.paths {
                let text = scope_path.as_str();
                if scope_path.is_container() {
                    // Everything under the container: paths from "/a/" up to
                    // (not including) "/a0", '0' being the character after '/'.
                    let end = format!("{}0", &text[..text.len() - 1]);
                    let mut stmt = self.conn.prepare_cached(
                        "SELECT path FROM resources WHERE path >= ?1 AND path < ?2",
                    )?;
                    for p in stmt.query_map(params![text, end], |r| r.get::<_, String>(0))? {
                        paths.insert(p?);
                    }
                } else {
                    paths.insert(text.to_string());
                }
            }
        }
        let mut out = Vec::new();
        for text in paths {
            let Ok(path) = PodPath::from_stored(&text) else {
                continue;
            };
            let Some(meta) = self.live_meta(&path)? else {
                continue;
            };
            if scope::allows(details, &Target::of(&meta), Action::Read) {
                out.push(self.item_of(&meta, None)?);
            }
        }
        Ok(out)
    }
}

impl Store {
    /// A resource as a delivery carries it: its content read (unless
    /// `content` is given) only when its size lets a delivery carry it;
    /// a larger one is named with its size and never loaded.
    fn item_of(&self, meta: &ResourceMeta, content: Option<&[u8]>) -> Result<Item> {
        let content = if !delivery::carries(meta.size) {
            Vec::new()
        } else if let Some(c) = content {
            c.to_vec()
        } else {
            self.open_content(&meta.path, Some(meta.version))?
                .into_bytes()?
        };
        Ok(Item {
            path: meta.path.to_string(),
            etag: meta.etag.clone(),
            content_type: meta.content_type.clone(),
            size: meta.size,
            content,
        })
    }
}

/// A stored time, or the epoch when unreadable (a damaged row sorts first).
pub(crate) fn stored_time(text: &str) -> DateTime<Utc> {
    parse_time(text).unwrap_or(DateTime::UNIX_EPOCH)
}
