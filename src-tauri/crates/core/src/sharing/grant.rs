//! Grants and the tokens that carry them. A grant is the person's answer:
//! what a company may do, until when. Revoking a grant (or the whole
//! company) kills its tokens on their very next use; expired and revoked
//! grants stay listed as history.

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, Row};
use serde::Serialize;

use crate::audit::{self, Action, NewEntry};
use crate::clock::{format_time, parse_time};
use crate::sharing::receipts::{self, Decision, ReceiptEvent};
use crate::sharing::records::GrantRecord;
use crate::sharing::scope::PodAccess;
use crate::sharing::token::{self, Malformed, TokenHash};
use crate::vault::store::Store;
use crate::{Error, Result};

/// Where a grant stands, now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GrantStatus {
    Active,
    Expired,
    Revoked,
    /// Its stored row cannot be read (see `Grant::damage`): it allows
    /// nothing, and a listing shows it instead of failing.
    Damaged,
}

impl GrantStatus {
    pub fn name(self) -> &'static str {
        match self {
            GrantStatus::Active => "active",
            GrantStatus::Expired => "expired",
            GrantStatus::Revoked => "revoked",
            GrantStatus::Damaged => "damaged",
        }
    }
}

/// A grant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Grant {
    pub id: String,
    pub client_id: String,
    pub client_name: String,
    pub request_id: Option<String>,
    pub details: Vec<PodAccess>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub status: GrantStatus,
    /// Why a damaged grant's row could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub damage: Option<String>,
}

impl Grant {
    /// Whether a token carrying this grant may be used at `now`: the one
    /// rule for revocation and expiry, whether the grant was just read or
    /// remembered. A damaged grant allows nothing, as if revoked.
    pub fn usable_at(&self, now: DateTime<Utc>) -> Result<(), TokenRejected> {
        let holder = || Holder {
            client_id: self.client_id.clone(),
            grant_id: self.id.clone(),
        };
        if self.revoked_at.is_some() || self.status == GrantStatus::Damaged {
            Err(TokenRejected::Revoked(holder()))
        } else if now >= self.expires_at {
            Err(TokenRejected::Expired(holder()))
        } else {
            Ok(())
        }
    }
}

/// A valid token's holder and what it may do.
#[derive(Debug, Clone)]
pub struct Access {
    pub client_id: String,
    pub grant: Grant,
}

/// Why a bearer token was refused (all are RFC 6750 `invalid_token`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenRejected {
    Malformed(Malformed),
    Unknown,
    /// A real token whose grant ran out: the log names its holder.
    Expired(Holder),
    /// A real token revoked by the person or given back by the company.
    Revoked(Holder),
}

/// Whose token it was, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub client_id: String,
    pub grant_id: String,
}

impl TokenRejected {
    /// The company and grant behind a real (expired or revoked) token.
    pub fn holder(&self) -> Option<&Holder> {
        match self {
            TokenRejected::Expired(h) | TokenRejected::Revoked(h) => Some(h),
            TokenRejected::Malformed(_) | TokenRejected::Unknown => None,
        }
    }
}

impl std::fmt::Display for TokenRejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenRejected::Malformed(m) => write!(f, "{m}"),
            TokenRejected::Unknown => f.write_str("the token is not known"),
            TokenRejected::Expired(_) => f.write_str("the token has expired"),
            TokenRejected::Revoked(_) => f.write_str("the token has been revoked"),
        }
    }
}

/// RFC 7662 introspection of a token.
#[derive(Debug, Clone, Serialize)]
pub struct Introspection {
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_details: Option<Vec<PodAccess>>,
}

impl Introspection {
    fn inactive() -> Self {
        Introspection {
            active: false,
            client_id: None,
            exp: None,
            iat: None,
            token_type: None,
            authorization_details: None,
        }
    }
}

/// A grant's row with its company's name.
fn select_list() -> String {
    format!(
        "{}, c.name AS client_name",
        crate::vault::record::select_list::<GrantRecord>(Some("g"))
    )
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<(GrantRecord, String)> {
    use crate::vault::record::TableRecord;
    Ok((GrantRecord::from_row(r)?, r.get("client_name")?))
}

/// A grant as listed: read from its row, or shown as damaged (allowing
/// nothing) when the row cannot be read, so one bad row never hides the rest.
fn parse_or_damaged(row: (GrantRecord, String), now: DateTime<Utc>) -> Grant {
    let kept = row.clone();
    parse(row, now).unwrap_or_else(|e| {
        let (row, client_name) = kept;
        Grant {
            id: row.id,
            client_id: row.client_id,
            client_name: crate::sharing::client::shown_name(&client_name),
            request_id: row.request_id,
            details: Vec::new(),
            created_at: DateTime::UNIX_EPOCH,
            expires_at: DateTime::UNIX_EPOCH,
            revoked_at: None,
            status: GrantStatus::Damaged,
            damage: Some(e.to_string()),
        }
    })
}

fn parse((row, client_name): (GrantRecord, String), now: DateTime<Utc>) -> Result<Grant> {
    let expires_at = parse_time(&row.expires_at)?;
    let revoked_at = row.revoked_at.as_deref().map(parse_time).transpose()?;
    let status = if revoked_at.is_some() {
        GrantStatus::Revoked
    } else if now >= expires_at {
        GrantStatus::Expired
    } else {
        GrantStatus::Active
    };
    Ok(Grant {
        id: row.id,
        client_id: row.client_id,
        client_name: crate::sharing::client::shown_name(&client_name),
        request_id: row.request_id,
        details: serde_json::from_str(row.details.as_str())
            .map_err(|e| Error::Internal(format!("stored details: {e}")))?,
        created_at: parse_time(&row.created_at)?,
        expires_at,
        revoked_at,
        status,
        damage: None,
    })
}

impl Store {
    /// One grant.
    pub fn grant(&self, id: &str) -> Result<Grant> {
        self.grant_at(id, self.clock.now())
    }

    /// One grant, its status as of `now`.
    fn grant_at(&self, id: &str, now: DateTime<Utc>) -> Result<Grant> {
        let sql = format!(
            "SELECT {} FROM grants g JOIN clients c ON c.id = g.client_id WHERE g.id = ?1",
            select_list()
        );
        let row = self
            .conn
            .prepare_cached(&sql)?
            .query_row([id], from_row)
            .optional()?;
        Ok(parse_or_damaged(
            row.ok_or_else(|| Error::UnknownGrant { id: id.to_string() })?,
            now,
        ))
    }

    /// Every grant, newest first (active, expired and revoked).
    pub fn grants(&self) -> Result<Vec<Grant>> {
        let sql = format!("SELECT {} FROM grants g JOIN clients c ON c.id = g.client_id ORDER BY g.created_at DESC, g.id", select_list());
        let now = self.clock.now();
        let rows: Vec<_> = self
            .conn
            .prepare_cached(&sql)?
            .query_map([], from_row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows.into_iter().map(|r| parse_or_damaged(r, now)).collect())
    }

    /// Revokes one grant; its tokens stop working on their next request.
    /// A grant in force gets a `Withdrawn` receipt; one already past its
    /// end gets its `Expired` receipt first (if it has none).
    pub fn revoke_grant(&self, id: &str) -> Result<Grant> {
        let tx = self.write_tx()?;
        self.expire_due_in(&tx)?;
        let grant = self.grant(id)?;
        let at = self.clock.now();
        let now = format_time(at);
        if grant.status != GrantStatus::Revoked {
            tx.execute(
                "UPDATE grants SET revoked_at = ?2 WHERE id = ?1",
                params![id, now],
            )?;
            let mut entry = NewEntry::owner(Action::Revoke);
            entry.client_id = Some(grant.client_id.clone());
            entry.grant_id = Some(grant.id.clone());
            audit::append_in(&tx, &now, &[entry])?;
            // A grant the company already ended (RFC 7009) has its receipt.
            if grant.status == GrantStatus::Active && !receipts::grant_has_ended(&tx, &grant.id)? {
                let receipt =
                    self.receipt_ending(ReceiptEvent::Withdrawn, &grant.client_id, &grant.id, at)?;
                self.queue_ended(&grant.id, "revoked", at, &receipt.jws)?;
            }
        }
        let revoked = self.grant(id)?;
        tx.commit()?;
        Ok(revoked)
    }

    /// Cuts a company off: revokes every grant it holds. Returns how many
    /// grants were active or expired-but-unrevoked before. Receipts: one
    /// `CutOff` per grant in force that it ends (grants already past their
    /// end get their `Expired` receipt), or a single `CutOff` for the
    /// company, naming no grant, when none was in force.
    pub fn revoke_client(&self, client_id: &str) -> Result<usize> {
        let tx = self.write_tx()?;
        self.client(client_id)?;
        self.expire_due_in(&tx)?;
        let at = self.clock.now();
        let now = format_time(at);
        let in_force: Vec<String> = tx
            .prepare_cached(
                // In force: not revoked, not past its end, not ended by the
                // company giving its token back (RFC 7009).
                "SELECT g.id FROM grants g WHERE g.client_id = ?1 AND g.revoked_at IS NULL AND g.expires_at > ?2
                   AND NOT EXISTS (SELECT 1 FROM receipts r WHERE r.grant_id = g.id
                       AND r.event IN ('expired', 'withdrawn', 'ended', 'cut_off'))
                 ORDER BY g.created_at, g.id",
            )?
            .query_map(params![client_id, now], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let n = tx.execute(
            "UPDATE grants SET revoked_at = ?2 WHERE client_id = ?1 AND revoked_at IS NULL",
            params![client_id, now],
        )?;
        let mut entry = NewEntry::owner(Action::Revoke);
        entry.client_id = Some(client_id.to_string());
        entry.reason = Some(format!("cut off: {n} grant(s) revoked"));
        audit::append_in(&tx, &now, &[entry])?;
        for grant_id in &in_force {
            let receipt = self.receipt_ending(ReceiptEvent::CutOff, client_id, grant_id, at)?;
            self.queue_ended(grant_id, "revoked", at, &receipt.jws)?;
        }
        if in_force.is_empty() {
            self.issue_receipt(&Decision {
                event: ReceiptEvent::CutOff,
                client_id,
                request_id: None,
                grant_id: None,
                at,
            })?;
        }
        tx.commit()?;
        Ok(n)
    }

    /// Checks a bearer token, already parsed at the door
    /// ([`token::check_access`]): its hash, then its grant's revocation and
    /// expiry, right now.
    pub fn authenticate(&self, token: &TokenHash) -> Result<Result<Access, TokenRejected>> {
        let row: Option<(String, String, Option<String>)> = self
            .conn
            .prepare_cached("SELECT grant_id, client_id, revoked_at FROM tokens WHERE hash = ?1")?
            .query_row([token.as_str()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        let Some((grant_id, client_id, token_revoked)) = row else {
            return Ok(Err(TokenRejected::Unknown));
        };
        if token_revoked.is_some() {
            return Ok(Err(TokenRejected::Revoked(Holder {
                client_id,
                grant_id,
            })));
        }
        // One instant for the grant's status and the rule.
        let now = self.clock.now();
        let grant = self.grant_at(&grant_id, now)?;
        Ok(grant.usable_at(now).map(|()| Access { client_id, grant }))
    }

    /// RFC 7009: a client gives its token back. Unknown or foreign tokens are
    /// ignored (the answer is the same, so nothing leaks).
    pub fn revoke_token(&self, client_id: &str, presented: &str) -> Result<()> {
        let Ok(hash) = token::check_access(presented) else {
            return Ok(());
        };
        let at = self.clock.now();
        let now = format_time(at);
        let tx = self.write_tx()?;
        let n = tx.execute(
            "UPDATE tokens SET revoked_at = ?3 WHERE hash = ?1 AND client_id = ?2 AND revoked_at IS NULL",
            params![hash.as_str(), client_id, now],
        )?;
        if n > 0 {
            audit::append_in(
                &tx,
                &now,
                &[NewEntry::client(client_id, Action::TokenRevoke)],
            )?;
            // The company ended its grant: a receipt if it was in force.
            if let Some(grant_id) = receipts::grant_of_token(&tx, hash.as_str())? {
                if self.grant_at(&grant_id, at)?.status == GrantStatus::Active {
                    self.receipt_ending(ReceiptEvent::Ended, client_id, &grant_id, at)?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// RFC 7662 for the token's own holder: active or not, and its scope.
    pub fn introspect(&self, presented: &str) -> Result<Introspection> {
        let Ok(hash) = token::check_access(presented) else {
            return Ok(Introspection::inactive());
        };
        Ok(match self.authenticate(&hash)? {
            Ok(access) => Introspection {
                active: true,
                client_id: Some(access.client_id),
                exp: Some(access.grant.expires_at.timestamp()),
                iat: Some(access.grant.created_at.timestamp()),
                token_type: Some("Bearer"),
                authorization_details: Some(access.grant.details),
            },
            Err(_) => Introspection::inactive(),
        })
    }

    /// Counts for `status`: pending requests and active grants.
    pub fn sharing_counts(&self) -> Result<(usize, usize)> {
        let pending = self.access_requests(false)?.len();
        let active = self
            .grants()?
            .iter()
            .filter(|g| g.status == GrantStatus::Active)
            .count();
        Ok((pending, active))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{granted_token, memory_store};

    /// One unreadable row (a crafted import, a damaged page) never makes the
    /// whole listing fail: it is shown as damaged and allows nothing.
    #[test]
    fn a_bad_row_is_listed_as_damaged_and_allows_nothing() {
        let (_d, store) = memory_store();
        let (bad_id, token) = granted_token(&store);
        let (good_id, _) = granted_token(&store);
        store
            .conn
            .execute(
                r#"UPDATE grants SET details = '[{"type":"pod_access","paths":["no-slash"]}]' WHERE id = ?1"#,
                [&bad_id],
            )
            .unwrap();
        let grants = store.grants().unwrap();
        assert_eq!(grants.len(), 2);
        let bad = grants.iter().find(|g| g.id == bad_id).unwrap();
        assert_eq!(bad.status, GrantStatus::Damaged);
        assert!(bad.details.is_empty() && bad.damage.is_some());
        let good = grants.iter().find(|g| g.id == good_id).unwrap();
        assert_eq!(good.status, GrantStatus::Active);
        assert!(matches!(
            store
                .authenticate(&token::check_access(&token).unwrap())
                .unwrap(),
            Err(TokenRejected::Revoked(_))
        ));
        assert_eq!(store.sharing_counts().unwrap(), (0, 1));
    }

    /// One rule for revocation and expiry: a revoked or damaged grant
    /// answers revoked (even before it would expire), an expired one
    /// expired from its very expiry instant, each naming its holder.
    #[test]
    fn a_grant_is_usable_until_it_expires_or_is_revoked() {
        let start = chrono::Utc::now();
        let grant = Grant {
            id: "grt_g".into(),
            client_id: "cli_c".into(),
            client_name: "C".into(),
            request_id: None,
            details: vec![],
            created_at: start,
            expires_at: start + chrono::Duration::seconds(10),
            revoked_at: None,
            status: GrantStatus::Active,
            damage: None,
        };
        let holder = Holder {
            client_id: "cli_c".into(),
            grant_id: "grt_g".into(),
        };
        let just_before = start + chrono::Duration::milliseconds(9_999);
        assert_eq!(grant.usable_at(just_before), Ok(()));
        assert_eq!(
            grant.usable_at(grant.expires_at),
            Err(TokenRejected::Expired(holder.clone()))
        );
        let revoked = Grant {
            revoked_at: Some(start),
            status: GrantStatus::Revoked,
            ..grant.clone()
        };
        assert_eq!(
            revoked.usable_at(start),
            Err(TokenRejected::Revoked(holder.clone()))
        );
        let damaged = Grant {
            status: GrantStatus::Damaged,
            ..grant
        };
        assert_eq!(
            damaged.usable_at(start),
            Err(TokenRejected::Revoked(holder))
        );
    }
}
