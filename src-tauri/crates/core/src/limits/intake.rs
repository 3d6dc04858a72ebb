//! What strangers may leave in the vault. Anyone who reaches the pod may
//! register and ask, without a token, so what they leave is bounded: a cap
//! on pending requests over all companies, a cap on registered companies
//! that never got a grant, and a purge of what no longer matters (requests
//! nobody answered, long expired; companies that never asked, or whose asks
//! are gone). The person's own lists then stay short whatever a flood
//! tries, and nothing the person decided is ever purged.

use chrono::Duration;
use rusqlite::params;

use crate::clock::format_time;
use crate::sharing::request::REQUEST_TTL_SECS;
use crate::vault::store::Store;
use crate::{Error, Result};

/// Pending (unanswered, unexpired) requests over all companies.
pub const MAX_PENDING_REQUESTS: usize = 100;
/// Registered companies that never got a grant.
pub const MAX_CLIENTS_WITHOUT_GRANT: usize = 100;
/// An unanswered request is kept this long after it expired (the company
/// polling it is told `expired_token` meanwhile), then purged.
pub const EXPIRED_REQUEST_KEPT_SECS: i64 = REQUEST_TTL_SECS;
/// A company with no grant and no request left is purged this long after it
/// registered.
pub const UNUSED_CLIENT_KEPT_SECS: i64 = REQUEST_TTL_SECS;

/// What one purge removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    pub requests: usize,
    pub clients: usize,
}

impl Store {
    /// Removes unanswered requests that expired long enough ago, and
    /// companies that never got a grant and have no request left. Denied,
    /// approved and completed requests, and every company with a grant, are
    /// the person's history and stay.
    pub fn purge_stale_asks(&self) -> Result<Purged> {
        let now = self.clock.now();
        let requests = self.conn.execute(
            "DELETE FROM access_requests WHERE status IN ('pending', 'expired') AND expires_at < ?1",
            [format_time(now - Duration::seconds(EXPIRED_REQUEST_KEPT_SECS))],
        )?;
        let clients = self.conn.execute(
            "DELETE FROM clients WHERE created_at < ?1
               AND NOT EXISTS (SELECT 1 FROM grants g WHERE g.client_id = clients.id)
               AND NOT EXISTS (SELECT 1 FROM access_requests r WHERE r.client_id = clients.id)",
            [format_time(
                now - Duration::seconds(UNUSED_CLIENT_KEPT_SECS),
            )],
        )?;
        // A linked company purged leaves no published metadata behind. Its
        // requests' rows stay: they remember each jti it used, so a
        // request id is never accepted twice, however long ago it came.
        if clients > 0 {
            self.conn.execute(
                "DELETE FROM linked_clients WHERE NOT EXISTS
                   (SELECT 1 FROM clients c WHERE c.id = linked_clients.client_id)",
                [],
            )?;
        }
        Ok(Purged { requests, clients })
    }

    /// Refuses a new request when the vault already holds
    /// [`MAX_PENDING_REQUESTS`] waiting for the person.
    pub(crate) fn check_pending_room(&self) -> Result<()> {
        let pending: i64 = self.conn.query_row(
            "SELECT count(*) FROM access_requests WHERE status = 'pending' AND expires_at > ?1",
            params![format_time(self.clock.now())],
            |r| r.get(0),
        )?;
        if pending as usize >= MAX_PENDING_REQUESTS {
            return Err(Error::PodFull {
                what: "requests waiting for an answer",
                max: MAX_PENDING_REQUESTS,
            });
        }
        Ok(())
    }

    /// Refuses a new registration when [`MAX_CLIENTS_WITHOUT_GRANT`]
    /// companies are registered that the person has not dealt with: no
    /// grant and no answered request. (Companies the person denied are
    /// history that is never purged; counting them would let a spam wave,
    /// once denied, close registration for good.)
    pub(crate) fn check_client_room(&self) -> Result<()> {
        let unused: i64 = self.conn.query_row(
            "SELECT count(*) FROM clients c
             WHERE NOT EXISTS (SELECT 1 FROM grants g WHERE g.client_id = c.id)
               AND NOT EXISTS (SELECT 1 FROM access_requests r WHERE r.client_id = c.id
                               AND r.status IN ('denied', 'approved', 'completed'))",
            [],
            |r| r.get(0),
        )?;
        if unused as usize >= MAX_CLIENTS_WITHOUT_GRANT {
            return Err(Error::PodFull {
                what: "registered companies without a grant",
                max: MAX_CLIENTS_WITHOUT_GRANT,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::Utc;

    use super::*;
    use crate::clock::ManualClock;
    use crate::sharing::client::ClientRegistration;
    use crate::sharing::request::Approval;
    use crate::sharing::scope;
    use crate::testing::memory_store;

    fn register(store: &Store, name: &str) -> Result<String> {
        store
            .register_client(&ClientRegistration {
                client_name: name.into(),
                ..Default::default()
            })
            .map(|c| c.id)
    }

    fn ask(store: &Store, client: &str) -> Result<String> {
        let details = scope::parse_requested(
            r#"[{"type": "pod_access", "paths": ["/contact/"], "actions": ["read"], "purpose": "Deliveries"}]"#,
        )
        .unwrap();
        store
            .request_access(client, details, 3600)
            .map(|a| a.request.id)
    }

    fn count(store: &Store, table: &str) -> i64 {
        store
            .conn
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    }

    /// Companies the person denied are history, not strangers waiting:
    /// a denied wave never closes registration.
    #[test]
    fn denied_companies_do_not_fill_the_cap() {
        let (_d, store) = memory_store();
        for i in 0..MAX_CLIENTS_WITHOUT_GRANT {
            let c = register(&store, &format!("Spam {i}")).unwrap();
            let req = ask(&store, &c).unwrap();
            store.deny_request(&req).unwrap();
        }
        assert!(register(&store, "Real Shop").is_ok());
    }

    /// A flood of registrations and requests stops at the caps (figures in
    /// docs/BENCHMARKS.md), and what a flood left is purged once it is stale,
    /// while what the person decided stays.
    #[test]
    fn a_flood_of_asks_stops_at_the_caps_and_is_purged_when_stale() {
        let (_d, mut store) = memory_store();
        let clock = ManualClock::new(Utc::now());
        store.set_clock(Arc::new(clock.clone()));

        let kept = register(&store, "Kept").unwrap();
        let decided = ask(&store, &kept).unwrap();
        store
            .approve_request(&decided, &Approval::default())
            .unwrap();

        let mut clients = Vec::new();
        let refused = loop {
            match register(&store, &format!("Flood {}", clients.len())) {
                Ok(id) => clients.push(id),
                Err(e) => break e,
            }
            assert!(clients.len() <= MAX_CLIENTS_WITHOUT_GRANT, "no cap");
        };
        assert!(matches!(refused, Error::PodFull { .. }), "{refused}");
        assert_eq!(clients.len(), MAX_CLIENTS_WITHOUT_GRANT);

        let mut pending = 0;
        let refused = 'flood: loop {
            for c in &clients {
                match ask(&store, c) {
                    Ok(_) => pending += 1,
                    Err(e) => break 'flood e,
                }
                assert!(pending <= MAX_PENDING_REQUESTS, "no cap");
            }
        };
        assert!(matches!(refused, Error::PodFull { .. }), "{refused}");
        assert_eq!(pending, MAX_PENDING_REQUESTS);
        assert_eq!(store.access_requests(false).unwrap().len(), pending);

        // Expired, then kept a while for the companies' polls, then purged.
        clock.advance(Duration::seconds(REQUEST_TTL_SECS + 1));
        assert!(store.access_requests(false).unwrap().is_empty());
        assert_eq!(store.purge_stale_asks().unwrap(), Purged::default());
        clock.advance(Duration::seconds(EXPIRED_REQUEST_KEPT_SECS));
        let purged = store.purge_stale_asks().unwrap();
        assert_eq!(purged.requests, MAX_PENDING_REQUESTS);
        assert_eq!(purged.clients, MAX_CLIENTS_WITHOUT_GRANT);
        assert_eq!(count(&store, "access_requests"), 1, "the approved one");
        assert_eq!(count(&store, "clients"), 1, "the company with a grant");
        assert!(register(&store, "New").is_ok(), "room again");
    }

    #[test]
    fn registering_and_asking_purge_on_the_way() {
        let (_d, mut store) = memory_store();
        let clock = ManualClock::new(Utc::now());
        store.set_clock(Arc::new(clock.clone()));
        let old = register(&store, "Old").unwrap();
        ask(&store, &old).unwrap();
        clock.advance(Duration::seconds(
            REQUEST_TTL_SECS + EXPIRED_REQUEST_KEPT_SECS + UNUSED_CLIENT_KEPT_SECS + 1,
        ));
        let fresh = register(&store, "Fresh").unwrap();
        assert_eq!(count(&store, "access_requests"), 0);
        ask(&store, &fresh).unwrap();
        assert_eq!(count(&store, "clients"), 1, "Old is gone");
    }
}
