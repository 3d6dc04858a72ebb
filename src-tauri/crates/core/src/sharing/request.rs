//! Access requests: a company's ask (RFC 8628 device authorization with
//! RFC 9396 details), the person's answer, and the company's polling.
//!
//! The flow: `request_access` stores the ask and hands the company a device
//! code (kept only as its hash) and a user code (shown to the person). The
//! person approves — as asked or narrower — or denies. The company polls
//! with the device code and gets `Pending`, `SlowDown`, `Denied`, `Expired`,
//! or, once, its token.

use chrono::{DateTime, Duration, Utc};
use rusqlite::{params, OptionalExtension, Row};
use secrecy::SecretString;
use serde::Serialize;

use crate::audit::{self, Action, NewEntry};
use crate::clock::{format_time, parse_time};
use crate::data::category::Category;
use crate::data::path::PodPath;
pub use crate::sharing::consent::Approval;
use crate::sharing::consent::{self, AskedItem};
use crate::sharing::grant::{Grant, GrantStatus};
use crate::sharing::records::{GrantRecord, RequestRecord};
use crate::sharing::scope::{self, PodAccess};
use crate::sharing::token::{self, TokenHash};
use crate::vault::record::{self, OnConflict, StoredJson, TableRecord};
use crate::vault::store::Store;
use crate::{Error, Result};

/// How long a request waits for an answer.
pub const REQUEST_TTL_SECS: i64 = 600;
/// The polling interval handed to companies (seconds).
pub const POLL_INTERVAL_SECS: i64 = 5;
/// `slow_down` adds this to the interval (RFC 8628 §3.5).
pub const SLOW_DOWN_STEP_SECS: i64 = 5;
/// Pending requests one client may hold at once.
pub const MAX_PENDING_PER_CLIENT: usize = 5;
/// Bounds on the grant lifetime a company may ask for.
pub const MIN_GRANT_LIFETIME_SECS: i64 = 60;
/// The shortest grant the person may give (narrowing can go this far).
pub const MIN_GRANTED_LIFETIME_SECS: i64 = 1;
pub const MAX_GRANT_LIFETIME_SECS: i64 = 366 * 24 * 3600;

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RequestStatus {
    /// Waiting for the person.
    Pending,
    /// Approved; the company has not collected its token yet.
    Approved,
    /// Approved and the token handed out.
    Completed,
    Denied,
    /// Nobody answered in time.
    Expired,
    /// Its stored row cannot be read: shown, never answerable.
    Damaged,
}

impl RequestStatus {
    pub fn name(self) -> &'static str {
        match self {
            RequestStatus::Pending => "pending",
            RequestStatus::Approved => "approved",
            RequestStatus::Completed => "completed",
            RequestStatus::Denied => "denied",
            RequestStatus::Expired => "expired",
            RequestStatus::Damaged => "damaged",
        }
    }

    fn parse(s: &str) -> RequestStatus {
        match s {
            "approved" => RequestStatus::Approved,
            "completed" => RequestStatus::Completed,
            "denied" => RequestStatus::Denied,
            "expired" => RequestStatus::Expired,
            _ => RequestStatus::Pending,
        }
    }
}

/// A company's ask, as the person sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccessRequest {
    pub id: String,
    pub client_id: String,
    pub client_name: String,
    pub details: Vec<PodAccess>,
    /// The details as the person is shown them: each asked path once, with
    /// what was asked beside it. Keeping an item grants exactly that.
    pub items: Vec<AskedItem>,
    /// Seconds the company asked the grant to last.
    pub grant_lifetime: i64,
    pub user_code: String,
    pub status: RequestStatus,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub grant_id: Option<String>,
    /// Sensitive categories asked for by datatype: ticked one by one or not at all.
    pub sensitive_asked: Vec<Category>,
}

/// What a company gets back when it asks.
pub struct DeviceAuthorization {
    pub request: AccessRequest,
    /// Handed out once; stored only as its hash.
    pub device_code: SecretString,
    pub expires_in: i64,
    pub interval: i64,
}

/// What a poll with a device code yields.
pub enum Poll {
    Pending,
    SlowDown {
        interval: i64,
    },
    Denied,
    Expired,
    /// The token, handed out exactly once.
    Issued {
        access_token: SecretString,
        grant: Grant,
        expires_in: i64,
    },
}

/// A request's row with its company's name.
fn select_list() -> String {
    format!(
        "{}, c.name AS client_name",
        record::select_list::<RequestRecord>(Some("r"))
    )
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<AccessRequestRow> {
    Ok(AccessRequestRow {
        row: RequestRecord::from_row(r)?,
        client_name: r.get("client_name")?,
    })
}

#[derive(Clone)]
struct AccessRequestRow {
    row: RequestRecord,
    client_name: String,
}

impl AccessRequestRow {
    /// The request, or (when its row cannot be read) a damaged one that
    /// shows in listings and can never be answered.
    fn parse_or_damaged(self, now: DateTime<Utc>) -> AccessRequest {
        let kept = self.clone();
        self.parse(now).unwrap_or_else(|_| AccessRequest {
            id: kept.row.id,
            client_id: kept.row.client_id,
            client_name: crate::sharing::client::shown_name(&kept.client_name),
            details: Vec::new(),
            items: Vec::new(),
            grant_lifetime: kept.row.grant_lifetime,
            user_code: kept.row.user_code,
            status: RequestStatus::Damaged,
            created_at: DateTime::UNIX_EPOCH,
            expires_at: DateTime::UNIX_EPOCH,
            decided_at: None,
            grant_id: kept.row.grant_id,
            sensitive_asked: Vec::new(),
        })
    }

    fn parse(self, now: DateTime<Utc>) -> Result<AccessRequest> {
        let AccessRequestRow { row, client_name } = self;
        let details: Vec<PodAccess> = serde_json::from_str(row.details.as_str())
            .map_err(|e| Error::Internal(format!("stored details: {e}")))?;
        let expires_at = parse_time(&row.expires_at)?;
        let mut status = RequestStatus::parse(&row.status);
        if status == RequestStatus::Pending && now >= expires_at {
            status = RequestStatus::Expired;
        }
        Ok(AccessRequest {
            sensitive_asked: scope::sensitive_categories_asked(&details),
            items: consent::asked_items(&details),
            id: row.id,
            client_id: row.client_id,
            client_name: crate::sharing::client::shown_name(&client_name),
            details,
            grant_lifetime: row.grant_lifetime,
            user_code: row.user_code,
            status,
            created_at: parse_time(&row.created_at)?,
            expires_at,
            decided_at: row.decided_at.as_deref().map(parse_time).transpose()?,
            grant_id: row.grant_id,
        })
    }
}

impl Store {
    /// A company asks for access. Checks the client, the details and the
    /// lifetime, and bounds how many requests a client may have pending.
    pub fn request_access(
        &self,
        client_id: &str,
        details: Vec<PodAccess>,
        grant_lifetime: i64,
    ) -> Result<DeviceAuthorization> {
        if !(MIN_GRANT_LIFETIME_SECS..=MAX_GRANT_LIFETIME_SECS).contains(&grant_lifetime) {
            return Err(Error::InvalidRequest(format!(
                "grant_lifetime must be between {MIN_GRANT_LIFETIME_SECS} and {MAX_GRANT_LIFETIME_SECS} seconds"
            )));
        }
        let tx = self.write_tx()?;
        self.purge_stale_asks()?;
        let client = self.client(client_id)?;
        self.check_pending_room()?;
        let now = self.clock.now();
        let pending: i64 = tx.query_row(
            "SELECT count(*) FROM access_requests WHERE client_id = ?1 AND status = 'pending' AND expires_at > ?2",
            params![client_id, format_time(now)],
            |r| r.get(0),
        )?;
        if pending as usize >= MAX_PENDING_PER_CLIENT {
            return Err(Error::TooManyPending {
                id: client_id.to_string(),
                max: MAX_PENDING_PER_CLIENT,
            });
        }
        let id = token::new_id("req_")?;
        let (device_code, hash) = token::generate(token::DEVICE_CODE_PREFIX)?;
        let user_code = token::user_code()?;
        let expires_at = now + Duration::seconds(REQUEST_TTL_SECS);
        let row = RequestRecord {
            id: id.clone(),
            client_id: client.id.clone(),
            details: StoredJson::of(&details)?,
            grant_lifetime,
            user_code,
            status: RequestStatus::Pending.name().into(),
            poll_interval: POLL_INTERVAL_SECS,
            created_at: format_time(now),
            expires_at: format_time(expires_at),
            last_polled_at: None,
            decided_at: None,
            grant_id: None,
        };
        record::insert(
            &tx,
            &row,
            &[(RequestRecord::DEVICE_CODE_HASH, &hash.as_str())],
            OnConflict::Fail,
        )?;
        audit::append_in(
            &tx,
            &format_time(now),
            &[NewEntry {
                reason: Some(format!("asked for {}", describe_paths(&details))),
                ..NewEntry::client(&client.id, Action::Request)
            }],
        )?;
        let request = self.access_request(&id)?;
        tx.commit()?;
        Ok(DeviceAuthorization {
            request,
            device_code,
            expires_in: REQUEST_TTL_SECS,
            interval: POLL_INTERVAL_SECS,
        })
    }

    /// One request, by id (`req_…`) or user code (`WDJB-MJHT`, any case).
    pub fn access_request(&self, id_or_code: &str) -> Result<AccessRequest> {
        let code = token::normalize_user_code(id_or_code).unwrap_or_default();
        let sql = format!(
            "SELECT {} FROM access_requests r JOIN clients c ON c.id = r.client_id
             WHERE r.id = ?1 OR (r.user_code = ?2 AND r.status = 'pending')
             ORDER BY r.created_at DESC LIMIT 1",
            select_list()
        );
        let row = self
            .conn
            .query_row(&sql, params![id_or_code, code], from_row)
            .optional()?;
        let row = row.ok_or_else(|| Error::UnknownRequest {
            id: id_or_code.to_string(),
        })?;
        Ok(row.parse_or_damaged(self.clock.now()))
    }

    /// Requests, newest first: the pending ones, or (`all`) every one. The
    /// pending ones are chosen by the database, so the app's once-a-second
    /// look reads only those.
    pub fn access_requests(&self, all: bool) -> Result<Vec<AccessRequest>> {
        let sql = format!(
            "SELECT {} FROM access_requests r JOIN clients c ON c.id = r.client_id
             WHERE ?1 OR (r.status = 'pending' AND r.expires_at > ?2)
             ORDER BY r.created_at DESC, r.id",
            select_list()
        );
        let now = self.clock.now();
        let mut out = Vec::new();
        let mut stmt = self.conn.prepare_cached(&sql)?;
        for row in stmt.query_map(params![all, format_time(now)], from_row)? {
            out.push(row?.parse_or_damaged(now));
        }
        Ok(out)
    }

    fn pending_request(&self, id_or_code: &str) -> Result<AccessRequest> {
        let request = self.access_request(id_or_code)?;
        if request.status != RequestStatus::Pending {
            return Err(Error::RequestNotPending {
                id: request.id,
                status: request.status.name().into(),
            });
        }
        Ok(request)
    }

    /// The person approves, as asked or narrower. Returns the grant; the
    /// company collects its token on its next poll.
    pub fn approve_request(&self, id_or_code: &str, approval: &Approval) -> Result<Grant> {
        let tx = self.write_tx()?;
        let request = self.pending_request(id_or_code)?;
        let granted = consent::narrow(&request.details, approval)?;
        let lifetime = match approval.lifetime {
            Some(l) if l > request.grant_lifetime => {
                return Err(Error::WiderThanAsked(format!(
                    "the company asked for {}; a grant may be shorter, not longer",
                    crate::clock::human_duration(request.grant_lifetime)
                )))
            }
            Some(l) if l < MIN_GRANTED_LIFETIME_SECS => {
                return Err(Error::InvalidRequest(format!(
                    "a grant lasts at least {MIN_GRANTED_LIFETIME_SECS} second"
                )))
            }
            Some(l) => l,
            None => request.grant_lifetime,
        };
        let now = self.clock.now();
        let grant_id = token::new_id("grt_")?;
        let row = GrantRecord {
            id: grant_id.clone(),
            client_id: request.client_id.clone(),
            request_id: Some(request.id.clone()),
            details: StoredJson::of(&granted)?,
            created_at: format_time(now),
            expires_at: format_time(now + Duration::seconds(lifetime)),
            revoked_at: None,
        };
        record::insert(&tx, &row, &[], OnConflict::Fail)?;
        tx.execute(
            "UPDATE access_requests SET status = 'approved', decided_at = ?2, grant_id = ?3 WHERE id = ?1",
            params![request.id, format_time(now), grant_id],
        )?;
        let mut entry = NewEntry::owner(Action::Grant);
        entry.client_id = Some(request.client_id.clone());
        entry.grant_id = Some(grant_id.clone());
        entry.reason = Some(format!(
            "granted {} for {}",
            describe_paths(&granted),
            crate::clock::human_duration(lifetime)
        ));
        audit::append_in(&tx, &format_time(now), &[entry])?;
        let grant = self.grant(&grant_id)?;
        tx.commit()?;
        Ok(grant)
    }

    /// The person says no.
    pub fn deny_request(&self, id_or_code: &str) -> Result<AccessRequest> {
        let tx = self.write_tx()?;
        let request = self.pending_request(id_or_code)?;
        let now = format_time(self.clock.now());
        tx.execute(
            "UPDATE access_requests SET status = 'denied', decided_at = ?2 WHERE id = ?1",
            params![request.id, now],
        )?;
        let mut entry = NewEntry::owner(Action::Deny);
        entry.client_id = Some(request.client_id.clone());
        audit::append_in(&tx, &now, &[entry])?;
        let denied = self.access_request(&request.id)?;
        tx.commit()?;
        Ok(denied)
    }

    /// A company polls with its device code (RFC 8628 §3.4).
    pub fn poll_device_code(&self, client_id: &str, device_code: &str) -> Result<Poll> {
        let invalid = || Error::InvalidGrant("unknown, used or foreign device code".into());
        let hash: TokenHash =
            token::check(device_code, token::DEVICE_CODE_PREFIX).map_err(|_| invalid())?;
        let tx = self.write_tx()?;
        let sql = format!(
            "SELECT {} FROM access_requests WHERE device_code_hash = ?1",
            record::select_list::<RequestRecord>(None)
        );
        let row = tx
            .query_row(&sql, [hash.as_str()], RequestRecord::from_row)
            .optional()?;
        let Some(RequestRecord {
            id,
            client_id: owner,
            status,
            poll_interval: interval,
            last_polled_at: last_polled,
            grant_id,
            expires_at,
            ..
        }) = row
        else {
            return Err(invalid());
        };
        if owner != client_id {
            return Err(invalid());
        }
        let now = self.clock.now();
        let now_text = format_time(now);
        let outcome = match RequestStatus::parse(&status) {
            RequestStatus::Completed | RequestStatus::Damaged => return Err(invalid()),
            RequestStatus::Denied => Poll::Denied,
            RequestStatus::Expired => Poll::Expired,
            RequestStatus::Pending if now >= parse_time(&expires_at)? => {
                tx.execute(
                    "UPDATE access_requests SET status = 'expired' WHERE id = ?1",
                    [&id],
                )?;
                Poll::Expired
            }
            RequestStatus::Pending => {
                let too_soon = match last_polled.as_deref().map(parse_time).transpose()? {
                    Some(last) => now < last + Duration::seconds(interval),
                    None => false,
                };
                if too_soon {
                    let slower = interval + SLOW_DOWN_STEP_SECS;
                    tx.execute(
                        "UPDATE access_requests SET poll_interval = ?2, last_polled_at = ?3 WHERE id = ?1",
                        params![id, slower, now_text],
                    )?;
                    Poll::SlowDown { interval: slower }
                } else {
                    tx.execute(
                        "UPDATE access_requests SET last_polled_at = ?2 WHERE id = ?1",
                        params![id, now_text],
                    )?;
                    Poll::Pending
                }
            }
            RequestStatus::Approved => {
                let grant_id = grant_id
                    .ok_or_else(|| Error::Internal("approved request without grant".into()))?;
                let grant = self.grant(&grant_id)?;
                // Revoked or run out before the company came for its token:
                // no token is ever issued for it.
                match grant.status {
                    GrantStatus::Revoked | GrantStatus::Damaged => return Ok(Poll::Denied),
                    GrantStatus::Expired => return Ok(Poll::Expired),
                    GrantStatus::Active => {}
                }
                let (access_token, hash) = token::generate(token::ACCESS_TOKEN_PREFIX)?;
                tx.execute(
                    "INSERT INTO tokens (hash, grant_id, client_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![hash.as_str(), grant.id, client_id, now_text, format_time(grant.expires_at)],
                )?;
                tx.execute("UPDATE access_requests SET status = 'completed', last_polled_at = ?2 WHERE id = ?1", params![id, now_text])?;
                let mut entry = NewEntry::client(client_id, Action::Token);
                entry.grant_id = Some(grant.id.clone());
                audit::append_in(&tx, &now_text, &[entry])?;
                // Rounded up: stored times have millisecond precision.
                let expires_in = ((grant.expires_at - now).num_milliseconds().max(0) + 999) / 1000;
                Poll::Issued {
                    access_token,
                    grant,
                    expires_in,
                }
            }
        };
        tx.commit()?;
        Ok(outcome)
    }
}

/// `/contact/, /preferences/communication (read)` for log lines.
pub fn describe_paths(details: &[PodAccess]) -> String {
    details
        .iter()
        .map(|d| {
            let paths: Vec<&str> = d.paths.iter().map(PodPath::as_str).collect();
            let actions: Vec<&str> = d.actions.iter().map(|a| a.name()).collect();
            format!("{} ({})", paths.join(", "), actions.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::ManualClock;
    use crate::data::category::Sensitivity;
    use crate::sharing::client::ClientRegistration;
    use crate::sharing::grant::{Holder, TokenRejected};
    use crate::sharing::scope::{Action, Target};
    use crate::testing::memory_store;
    use secrecy::ExposeSecret;

    fn setup() -> (tempfile::TempDir, Store, ManualClock, String) {
        let (dir, mut store) = memory_store();
        let clock = ManualClock::new(Utc::now());
        store.set_clock(Arc::new(clock.clone()));
        let client = store
            .register_client(&ClientRegistration {
                client_name: "Acme".into(),
                ..Default::default()
            })
            .unwrap();
        (dir, store, clock, client.id)
    }

    fn ask(store: &Store, client: &str) -> DeviceAuthorization {
        let details = scope::parse_requested(
            r#"[{"type": "pod_access", "paths": ["/contact/", "/health/"], "actions": ["read"],
                 "datatypes": ["contact", "health"], "purpose": "Deliveries"}]"#,
        )
        .unwrap();
        store.request_access(client, details, 3600).unwrap()
    }

    fn poll(store: &Store, client: &str, auth: &DeviceAuthorization) -> Result<Poll> {
        store.poll_device_code(client, auth.device_code.expose_secret())
    }

    #[test]
    fn full_flow_pending_slow_down_approve_token_once() {
        let (_d, store, clock, client) = setup();
        let auth = ask(&store, &client);
        assert_eq!(auth.request.sensitive_asked, [Category::Health]);
        assert!(matches!(poll(&store, &client, &auth), Ok(Poll::Pending)));
        assert!(matches!(
            poll(&store, &client, &auth),
            Ok(Poll::SlowDown { interval: 10 })
        ));
        clock.advance(Duration::seconds(11));
        assert!(matches!(poll(&store, &client, &auth), Ok(Poll::Pending)));

        let approval = Approval {
            only: vec![PodPath::parse("/contact/").unwrap()],
            lifetime: Some(600),
            sensitive: vec![],
        };
        let grant = store
            .approve_request(&auth.request.user_code.to_lowercase(), &approval)
            .unwrap();
        assert_eq!(
            grant.details[0].paths,
            [PodPath::parse("/contact/").unwrap()]
        );
        assert!(grant.details[0].sensitive.is_empty());
        let Ok(Poll::Issued {
            access_token,
            expires_in,
            ..
        }) = poll(&store, &client, &auth)
        else {
            panic!("no token")
        };
        assert_eq!(expires_in, 600);
        assert!(
            matches!(poll(&store, &client, &auth), Err(Error::InvalidGrant(_))),
            "a device code works once"
        );

        let access = store
            .authenticate(&token::check_access(access_token.expose_secret()).unwrap())
            .unwrap()
            .unwrap();
        let email = PodPath::parse("/contact/email").unwrap();
        let t = Target {
            path: &email,
            category: Category::Contact,
            sensitivity: Sensitivity::Normal,
        };
        assert!(scope::allows(&access.grant.details, &t, Action::Read));

        clock.advance(Duration::seconds(601));
        assert_eq!(
            store
                .authenticate(&token::check_access(access_token.expose_secret()).unwrap())
                .unwrap()
                .unwrap_err(),
            TokenRejected::Expired(Holder {
                client_id: client.clone(),
                grant_id: grant.id.clone()
            })
        );
        assert_eq!(store.grant(&grant.id).unwrap().status, GrantStatus::Expired);
    }

    #[test]
    fn revocation_takes_effect_at_once() {
        let (_d, store, _clock, client) = setup();
        let auth = ask(&store, &client);
        let grant = store
            .approve_request(&auth.request.id, &Approval::default())
            .unwrap();
        let Ok(Poll::Issued { access_token, .. }) = poll(&store, &client, &auth) else {
            panic!()
        };
        assert!(store
            .authenticate(&token::check_access(access_token.expose_secret()).unwrap())
            .unwrap()
            .is_ok());
        store.revoke_grant(&grant.id).unwrap();
        assert_eq!(
            store
                .authenticate(&token::check_access(access_token.expose_secret()).unwrap())
                .unwrap()
                .unwrap_err(),
            TokenRejected::Revoked(Holder {
                client_id: client.clone(),
                grant_id: grant.id.clone()
            })
        );
        assert_eq!(
            store.grants().unwrap()[0].status,
            GrantStatus::Revoked,
            "kept as history"
        );
    }

    #[test]
    fn no_token_for_a_grant_revoked_or_run_out_before_the_first_poll() {
        let (_d, store, clock, client) = setup();
        let auth = ask(&store, &client);
        let grant = store
            .approve_request(&auth.request.id, &Approval::default())
            .unwrap();
        store.revoke_grant(&grant.id).unwrap();
        assert!(matches!(poll(&store, &client, &auth), Ok(Poll::Denied)));
        assert!(matches!(poll(&store, &client, &auth), Ok(Poll::Denied)));

        let auth = ask(&store, &client);
        let short = Approval {
            lifetime: Some(60),
            ..Default::default()
        };
        store.approve_request(&auth.request.id, &short).unwrap();
        clock.advance(Duration::seconds(61));
        assert!(matches!(poll(&store, &client, &auth), Ok(Poll::Expired)));
        let tokens: i64 = store
            .conn
            .query_row("SELECT count(*) FROM tokens", [], |r| r.get(0))
            .unwrap();
        assert_eq!(tokens, 0);
    }

    #[test]
    fn deny_expire_and_bounds() {
        let (_d, store, clock, client) = setup();
        let denied = ask(&store, &client);
        store.deny_request(&denied.request.id).unwrap();
        assert!(matches!(poll(&store, &client, &denied), Ok(Poll::Denied)));
        assert!(matches!(
            store.approve_request(&denied.request.id, &Approval::default()),
            Err(Error::RequestNotPending { .. })
        ));

        let late = ask(&store, &client);
        clock.advance(Duration::seconds(REQUEST_TTL_SECS + 1));
        assert_eq!(
            store.access_request(&late.request.id).unwrap().status,
            RequestStatus::Expired
        );
        assert!(matches!(poll(&store, &client, &late), Ok(Poll::Expired)));

        for _ in 0..MAX_PENDING_PER_CLIENT {
            ask(&store, &client);
        }
        let details = late.request.details.clone();
        assert!(matches!(
            store.request_access(&client, details.clone(), 3600),
            Err(Error::TooManyPending { .. })
        ));
        assert!(matches!(
            store.request_access(&client, details, 10),
            Err(Error::InvalidRequest(_))
        ));

        let other = store
            .register_client(&ClientRegistration {
                client_name: "Other".into(),
                ..Default::default()
            })
            .unwrap();
        let fresh = ask(&store, &other.id);
        assert!(
            matches!(poll(&store, &client, &fresh), Err(Error::InvalidGrant(_))),
            "another client's device code"
        );
        assert!(matches!(
            store.poll_device_code(&client, "csd_garbage"),
            Err(Error::InvalidGrant(_))
        ));
    }

    #[test]
    fn approvals_can_narrow_but_never_widen() {
        let (_d, store, _clock, client) = setup();
        let auth = ask(&store, &client);
        let id = auth.request.id.clone();
        let wider = Approval {
            only: vec![PodPath::parse("/").unwrap()],
            ..Default::default()
        };
        let elsewhere = Approval {
            only: vec![PodPath::parse("/finance/").unwrap()],
            ..Default::default()
        };
        let longer = Approval {
            lifetime: Some(7200),
            ..Default::default()
        };
        let unasked = Approval {
            sensitive: vec![Category::Finance],
            ..Default::default()
        };
        // `--only /` covers everything asked: the grant is exactly the request.
        let as_asked = store.approve_request(&id, &wider).unwrap();
        assert_eq!(as_asked.details[0].paths, auth.request.details[0].paths);
        let auth2 = ask(&store, &client);
        for bad in [elsewhere, longer, unasked] {
            assert!(
                matches!(
                    store.approve_request(&auth2.request.id, &bad),
                    Err(Error::WiderThanAsked(_))
                ),
                "{bad:?}"
            );
        }
        let ticked = Approval {
            sensitive: vec![Category::Health],
            ..Default::default()
        };
        let g = store.approve_request(&auth2.request.id, &ticked).unwrap();
        assert_eq!(g.details[0].sensitive, [Category::Health]);
    }

    #[test]
    fn owner_actions_and_requests_are_logged_in_the_chain() {
        let (_d, store, _clock, client) = setup();
        let auth = ask(&store, &client);
        let grant = store
            .approve_request(&auth.request.id, &Approval::default())
            .unwrap();
        store.revoke_grant(&grant.id).unwrap();
        // The company's registration (in `setup`) is logged with it.
        assert_eq!(
            crate::testing::logged_actions(&store),
            ["register", "request", "grant", "revoke"]
        );
        assert_eq!(store.verify_audit_log().unwrap().first_broken, None);
    }
}
