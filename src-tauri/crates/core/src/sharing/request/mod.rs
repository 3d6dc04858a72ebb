//! Access requests: a company's ask (RFC 8628 device authorization with
//! RFC 9396 details), the person's answer, and the company's polling.
//!
//! The flow: `request_access` stores the ask and hands the company a device
//! code (kept only as its hash) and a user code (shown to the person). The
//! person approves — as asked or narrower — or denies. The company polls
//! with the device code and gets `Pending`, `SlowDown`, `Denied`, `Expired`,
//! or, once, its token.
//!
//! Here: the request and its row, a company's ask, the person's list. The
//! answer (approve as asked or narrower, deny) is in [`answer`]; the
//! company's polling in [`poll`].

pub mod answer;
pub mod poll;

use chrono::{DateTime, Duration, Utc};
use rusqlite::{params, OptionalExtension, Row};
use secrecy::SecretString;
use serde::Serialize;

use crate::audit::{self, Action, NewEntry};
use crate::clock::{format_time, parse_time};
use crate::data::category::Category;
use crate::data::path::PodPath;
use crate::linked::LinkedCompany;
pub use crate::sharing::consent::Approval;
use crate::sharing::consent::{self, AskedItem};
use crate::sharing::grant::Grant;
use crate::sharing::records::RequestRecord;
use crate::sharing::scope::{self, PodAccess};
use crate::sharing::token::{self};
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
    /// The company, when it connected by a link (its domain verified);
    /// `None` for a device-flow company, shown unverified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company: Option<LinkedCompany>,
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
    /// The person said no, or revoked the grant before its token was
    /// collected (then `grant_id` names it): the door finds the decision's
    /// receipt by these.
    Denied {
        request_id: String,
        grant_id: Option<String>,
    },
    Expired,
    /// The token, handed out exactly once.
    Issued {
        access_token: SecretString,
        grant: Grant,
        expires_in: i64,
    },
}

/// A request's row with its company's name.
pub(super) fn select_list() -> String {
    format!(
        "{}, c.name AS client_name",
        record::select_list::<RequestRecord>(Some("r"))
    )
}

pub(super) fn from_row(r: &Row<'_>) -> rusqlite::Result<AccessRequestRow> {
    Ok(AccessRequestRow {
        row: RequestRecord::from_row(r)?,
        client_name: r.get("client_name")?,
    })
}

#[derive(Clone)]
pub(super) struct AccessRequestRow {
    row: RequestRecord,
    client_name: String,
}

impl AccessRequestRow {
    /// The request, or (when its row cannot be read) a damaged one that
    /// shows in listings and can never be answered.
    pub(super) fn parse_or_damaged(self, now: DateTime<Utc>) -> AccessRequest {
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
            company: None,
        })
    }

    pub(super) fn parse(self, now: DateTime<Utc>) -> Result<AccessRequest> {
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
            company: None,
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
        self.with_company(row.parse_or_damaged(self.clock.now()))
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
            out.push(self.with_company(row?.parse_or_damaged(now))?);
        }
        Ok(out)
    }

    /// The request with its linked company, if it has one.
    fn with_company(&self, mut request: AccessRequest) -> Result<AccessRequest> {
        request.company = self.linked_company(&request.client_id)?;
        Ok(request)
    }

    pub(super) fn pending_request(&self, id_or_code: &str) -> Result<AccessRequest> {
        let request = self.access_request(id_or_code)?;
        if request.status != RequestStatus::Pending {
            return Err(Error::RequestNotPending {
                id: request.id,
                status: request.status.name().into(),
            });
        }
        Ok(request)
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
mod tests;
