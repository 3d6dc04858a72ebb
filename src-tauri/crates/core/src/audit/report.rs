//! The data access report: per company, what it was granted, what it asked
//! the pod API for, what was let through and refused, and which resources
//! it read. Built from the access log and the grants, over a time window.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::audit::{Action, Method, Outcome};
use crate::clock::{format_time, parse_time};
use crate::sharing::grant::GrantStatus;
use crate::vault::record::column;
use crate::vault::store::Store;
use crate::Result;

/// How many of a company's most-read resources the report names.
pub const TOP_RESOURCES: usize = 10;

/// The report over a window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccessReport {
    /// The start of the window (`None`: since the vault was created).
    pub since: Option<DateTime<Utc>>,
    pub until: DateTime<Utc>,
    /// One per company that holds a grant or made a request in the window,
    /// the busiest first.
    pub companies: Vec<CompanyReport>,
    /// Requests with a token nobody holds (guesses, typos): refused, and
    /// not attributable to any company.
    pub unidentified_denied: u64,
}

/// One company's part of the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompanyReport {
    pub client_id: String,
    pub client_name: String,
    /// Grants active now.
    pub grants_active: usize,
    /// Every grant ever given to the company (active, expired, revoked).
    pub grants_total: usize,
    /// API requests let through in the window.
    pub allowed: u64,
    /// API requests refused in the window (outside the grant, or a stale token).
    pub denied: u64,
    /// Distinct resources (not listings) it read successfully.
    pub distinct_resources_read: u64,
    /// Its most-read resources, most first.
    pub top_resources: Vec<ResourceReads>,
    /// Successful reads per day (UTC), oldest first; days without reads omitted.
    pub reads_by_day: Vec<DayReads>,
    pub last_request_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResourceReads {
    pub path: String,
    pub reads: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayReads {
    pub day: NaiveDate,
    pub reads: u64,
}

#[derive(Default)]
struct Tally {
    allowed: u64,
    denied: u64,
    reads: BTreeMap<String, u64>,
    days: BTreeMap<NaiveDate, u64>,
    last: Option<DateTime<Utc>>,
}

impl Store {
    /// The report from `since` (or the beginning) until now.
    pub fn access_report(&self, since: Option<DateTime<Utc>>) -> Result<AccessReport> {
        let until = self.clock.now();
        let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
        let mut unidentified_denied: u64 = 0;
        const READ: &[&str] = &[
            "at",
            "client_id",
            "method",
            "path",
            "outcome",
            "action",
            "reason",
        ];
        let mut stmt = self.conn.prepare(
            "SELECT at, client_id, method, path, outcome, action, reason FROM audit_log
             WHERE (method IS NOT NULL OR action = ?2) AND (?1 IS NULL OR at >= ?1) ORDER BY seq",
        )?;
        let mut rows = stmt.query(rusqlite::params![since.map(format_time), Action::Refusals])?;
        while let Some(r) = rows.next()? {
            let at = parse_time(&column::<String>(r, READ, "at")?)?;
            let client: Option<String> = column(r, READ, "client_id")?;
            let method: Option<Method> = column(r, READ, "method")?;
            let path: Option<String> = column(r, READ, "path")?;
            // Anything but `allowed` (a row edited after it was written
            // included) counts as refused.
            let allowed = matches!(
                Outcome::from_text(&column::<String>(r, READ, "outcome")?),
                Some(Outcome::Allowed)
            );
            // A summary entry stands for the refusals it counts.
            let refused = match column::<Action>(r, READ, "action")? {
                Action::Refusals => {
                    let reason: Option<String> = column(r, READ, "reason")?;
                    reason
                        .as_deref()
                        .and_then(crate::limits::refusals::summary_count)
                        .unwrap_or(1)
                }
                _ => 1,
            };
            let Some(client) = client else {
                if !allowed {
                    unidentified_denied = unidentified_denied.saturating_add(refused);
                }
                continue;
            };
            let t = tallies.entry(client).or_default();
            t.last = Some(at);
            if !allowed {
                t.denied = t.denied.saturating_add(refused);
                continue;
            }
            t.allowed += 1;
            let is_read = method.as_ref().is_some_and(Method::is_read);
            if let (true, Some(path)) = (is_read, path) {
                *t.days.entry(at.date_naive()).or_default() += 1;
                if !path.ends_with('/') {
                    *t.reads.entry(path).or_default() += 1;
                }
            }
        }
        drop(rows);

        let grants = self.grants()?;
        let mut names: BTreeMap<String, String> = self
            .clients()?
            .into_iter()
            .map(|c| (c.id, c.name))
            .collect();
        for g in &grants {
            tallies.entry(g.client_id.clone()).or_default();
        }
        let mut companies: Vec<CompanyReport> = tallies
            .into_iter()
            .map(|(client_id, t)| {
                let theirs = grants.iter().filter(|g| g.client_id == client_id);
                let grants_total = theirs.clone().count();
                let grants_active = theirs.filter(|g| g.status == GrantStatus::Active).count();
                let mut top: Vec<ResourceReads> = t
                    .reads
                    .iter()
                    .map(|(path, &reads)| ResourceReads {
                        path: path.clone(),
                        reads,
                    })
                    .collect();
                top.sort_by(|a, b| b.reads.cmp(&a.reads).then_with(|| a.path.cmp(&b.path)));
                let distinct_resources_read = top.len() as u64;
                top.truncate(TOP_RESOURCES);
                CompanyReport {
                    client_name: names
                        .remove(&client_id)
                        .unwrap_or_else(|| client_id.clone()),
                    client_id,
                    grants_active,
                    grants_total,
                    allowed: t.allowed,
                    denied: t.denied,
                    distinct_resources_read,
                    top_resources: top,
                    reads_by_day: t
                        .days
                        .into_iter()
                        .map(|(day, reads)| DayReads { day, reads })
                        .collect(),
                    last_request_at: t.last,
                }
            })
            .collect();
        companies.sort_by(|a, b| {
            (b.allowed + b.denied)
                .cmp(&(a.allowed + a.denied))
                .then_with(|| a.client_name.cmp(&b.client_name))
        });
        Ok(AccessReport {
            since,
            until,
            companies,
            unidentified_denied,
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use crate::audit::{Action, Actor, Method, NewEntry, Outcome};
    use crate::clock::{Clock, ManualClock};
    use crate::sharing::client::ClientRegistration;
    use crate::sharing::request::Approval;

    fn api(client: Option<&str>, method: Method, path: &str, outcome: Outcome) -> NewEntry {
        let actor = client.map_or(Actor::Anonymous, |c| Actor::Client(c.into()));
        NewEntry {
            client_id: client.map(str::to_string),
            method: Some(method),
            path: Some(path.into()),
            outcome,
            ..NewEntry::new(actor, Action::Read)
        }
    }

    #[test]
    fn counts_per_company_within_the_window() {
        let (_d, mut store) = crate::testing::memory_store();
        let clock = ManualClock::new("2026-11-01T09:00:00Z".parse().unwrap());
        store.set_clock(std::sync::Arc::new(clock.clone()));
        let reg = |name: &str| ClientRegistration {
            client_name: name.into(),
            client_uri: None,
            contacts: vec![],
        };
        let acme = store.register_client(&reg("Acme")).unwrap();
        let quiet = store.register_client(&reg("Quiet Ltd")).unwrap();
        let details = crate::sharing::scope::parse_requested(
            r#"[{"type":"pod_access","paths":["/contact/"],"actions":["read"],"purpose":"Orders"}]"#,
        )
        .unwrap();
        let ask = store.request_access(&quiet.id, details, 3600).unwrap();
        store
            .approve_request(&ask.request.id, &Approval::default())
            .unwrap();

        // An old read, outside a 7-day window.
        store
            .append_audit(&[api(
                Some(&acme.id),
                Method::Get,
                "/contact/old",
                Outcome::Allowed,
            )])
            .unwrap();
        clock.advance(Duration::days(20));
        store
            .append_audit(&[
                api(Some(&acme.id), Method::Get, "/contact/email", Outcome::Allowed),
                api(Some(&acme.id), Method::Get, "/contact/email", Outcome::Allowed),
                api(Some(&acme.id), Method::Get, "/contact/", Outcome::Allowed),
                api(Some(&acme.id), Method::Get, "/health/x", Outcome::Denied),
                api(Some(&acme.id), Method::Put, "/contact/email", Outcome::Allowed),
                api(None, Method::Get, "/contact/email", Outcome::Denied),
                // A flood of stale tokens, summarised: it counts as 40.
                NewEntry {
                    outcome: Outcome::Denied,
                    reason: Some("invalid_token: 40 more requests with expired or revoked tokens refused from a to b, not logged one by one".into()),
                    ..NewEntry::client(&acme.id, Action::Refusals)
                },
            ])
            .unwrap();
        clock.advance(Duration::days(1));
        store
            .append_audit(&[api(
                Some(&acme.id),
                Method::Head,
                "/contact/phone",
                Outcome::Allowed,
            )])
            .unwrap();

        let report = store
            .access_report(Some(clock.now() - Duration::days(7)))
            .unwrap();
        assert_eq!(report.unidentified_denied, 1);
        assert_eq!(
            report.companies.len(),
            2,
            "a company with a grant is listed even if silent"
        );
        let a = &report.companies[0];
        assert_eq!(
            (a.client_name.as_str(), a.allowed, a.denied),
            ("Acme", 5, 41)
        );
        assert_eq!(
            a.distinct_resources_read, 2,
            "listings and writes are not reads of a resource"
        );
        assert_eq!(a.top_resources[0].path, "/contact/email");
        assert_eq!(a.top_resources[0].reads, 2);
        assert_eq!(
            a.reads_by_day.iter().map(|d| d.reads).collect::<Vec<_>>(),
            [3, 1]
        );
        assert_eq!((a.grants_active, a.grants_total), (0, 0));
        let q = &report.companies[1];
        assert_eq!(
            (q.client_name.as_str(), q.allowed, q.grants_total),
            ("Quiet Ltd", 0, 1)
        );
        assert_eq!(q.grants_active, 0, "its one-hour grant ran out days ago");

        let all = store.access_report(None).unwrap();
        assert_eq!(all.companies[0].distinct_resources_read, 3);
    }
}
