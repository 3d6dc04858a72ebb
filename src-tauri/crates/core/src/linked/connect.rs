//! A linked company's request, stored: the company (its `clients` row,
//! with its client_id URL as id, and what it published), the request as
//! pending for [`LINK_REQUEST_TTL_SECS`], its `jti` used once, and the
//! `connect` log entry, in one transaction. The checks on what was fetched
//! are pure and done before (see [`super::metadata`],
//! [`super::request_object`]).

use chrono::Duration;
use rusqlite::{params, OptionalExtension};

use super::link::{check_url, domain_of};
use super::metadata::{ClientMetadata, Jwks};
use super::records::{LinkedClientRecord, LinkedRequestRecord};
use super::request_object::RequestObject;
use crate::audit::{self, Action, NewEntry};
use crate::clock::format_time;
use crate::sharing::records::{ClientRecord, RequestRecord};
use crate::sharing::request::{
    describe_paths, AccessRequest, RequestStatus, MAX_PENDING_PER_CLIENT, POLL_INTERVAL_SECS,
};
use crate::sharing::token;
use crate::vault::record::{self, OnConflict, StoredJson};
use crate::vault::store::Store;
use crate::{Error, Result};

/// How long a linked request waits for the person: a week (the person
/// may open the link long after the company made it).
pub const LINK_REQUEST_TTL_SECS: i64 = 7 * 24 * 3600;

/// What a linked request's row holds in place of a device code hash: no
/// device code exists, and this text is never the hash of one.
pub(crate) fn no_device_code(request_id: &str) -> String {
    format!("linked:{request_id}")
}

impl Store {
    /// Registers or refreshes the linked company (a `clients` row with id
    /// = its client_id URL, verified, plus its `linked_clients` row),
    /// refuses a replayed `jti`, stores the request as pending (its
    /// `linked_requests` row beside the `access_requests` one), logs
    /// `connect`. One transaction. `meta`, `jwks` and `req` are checked
    /// already; `request_uri` is where `req` was fetched.
    pub fn connect_request(
        &self,
        meta: &ClientMetadata,
        jwks: &Jwks,
        req: &RequestObject,
        request_uri: &str,
    ) -> Result<AccessRequest> {
        if req.iss != meta.client_id {
            return Err(Error::LinkRefused {
                rule: "the request object's iss is not the company's client_id".into(),
            });
        }
        let origin = check_url(&meta.client_id, "client_id", true)?;
        let at = self.clock.now();
        let now = format_time(at);
        let tx = self.write_tx()?;
        self.purge_stale_asks()?;
        let known = self.find_client(&meta.client_id)?.is_some();
        let client = ClientRecord {
            id: meta.client_id.clone(),
            name: meta.client_name.clone(),
            uri: meta.client_uri.clone(),
            contacts: StoredJson::of(&meta.contacts)?,
            created_at: now.clone(),
        };
        if known {
            tx.execute(
                "UPDATE clients SET name = ?2, uri = ?3, contacts = ?4 WHERE id = ?1",
                params![client.id, client.name, client.uri, client.contacts],
            )?;
        } else {
            self.check_client_room()?;
            record::insert(&tx, &client, &[], OnConflict::Fail)?;
        }
        let linked = LinkedClientRecord {
            client_id: meta.client_id.clone(),
            host: domain_of(&origin),
            metadata: StoredJson::of(meta)?,
            jwks: StoredJson::of(&jwks.json)?,
            jwks_uri: meta.jwks_uri.clone(),
            delivery_uri: meta.delivery_uri.clone(),
            feed_uri: meta.feed_uri.clone(),
            logo_uri: meta.logo_uri.clone(),
            policy_uri: meta.policy_uri.clone(),
            client_uri: meta.client_uri.clone(),
            fetched_at: now.clone(),
        };
        tx.execute(
            "DELETE FROM linked_clients WHERE client_id = ?1",
            [&linked.client_id],
        )?;
        record::insert(&tx, &linked, &[], OnConflict::Fail)?;

        let replayed: Option<String> = tx
            .prepare_cached(
                "SELECT request_id FROM linked_requests WHERE client_id = ?1 AND jti = ?2",
            )?
            .query_row(params![meta.client_id, req.jti], |r| r.get(0))
            .optional()?;
        if replayed.is_some() {
            return Err(Error::LinkRefused {
                rule: format!(
                    "replayed jti: the company already sent a request with jti {:?}",
                    req.jti
                ),
            });
        }
        self.check_pending_room()?;
        let pending: i64 = tx.query_row(
            "SELECT count(*) FROM access_requests WHERE client_id = ?1 AND status = 'pending' AND expires_at > ?2",
            params![meta.client_id, now],
            |r| r.get(0),
        )?;
        if pending as usize >= MAX_PENDING_PER_CLIENT {
            return Err(Error::TooManyPending {
                id: meta.client_id.clone(),
                max: MAX_PENDING_PER_CLIENT,
            });
        }
        let id = token::new_id("req_")?;
        let row = RequestRecord {
            id: id.clone(),
            client_id: meta.client_id.clone(),
            details: StoredJson::of(&req.details)?,
            grant_lifetime: req.grant_lifetime,
            user_code: token::user_code()?,
            status: RequestStatus::Pending.name().into(),
            poll_interval: POLL_INTERVAL_SECS,
            created_at: now.clone(),
            expires_at: format_time(at + Duration::seconds(LINK_REQUEST_TTL_SECS)),
            last_polled_at: None,
            decided_at: None,
            grant_id: None,
        };
        record::insert(
            &tx,
            &row,
            &[(RequestRecord::DEVICE_CODE_HASH, &no_device_code(&id))],
            OnConflict::Fail,
        )?;
        record::insert(
            &tx,
            &LinkedRequestRecord {
                request_id: id.clone(),
                client_id: meta.client_id.clone(),
                request_uri: request_uri.to_string(),
                state: req.state.clone(),
                jti: req.jti.clone(),
                request_object: req.raw.clone(),
                grant_id: None,
                last_seq: 0,
                created_at: now.clone(),
            },
            &[],
            OnConflict::Fail,
        )?;
        audit::append_in(
            &tx,
            &now,
            &[NewEntry {
                reason: Some(format!(
                    "asked for {} (signed request from {}, domain verified)",
                    describe_paths(&req.details),
                    linked.host
                )),
                ..NewEntry::client(&meta.client_id, Action::Connect)
            }],
        )?;
        let request = self.access_request(&id)?;
        tx.commit()?;
        Ok(request)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::linked::metadata::parse_metadata;
    use crate::linked::request_object::tests::{claims, company_jwks, now, sign, CLIENT, REQUEST};
    use crate::linked::request_object::verify_request_object;
    use crate::testing::{logged_actions, memory_store};
    use jsonwebtoken::Algorithm;

    pub(crate) fn metadata() -> ClientMetadata {
        let doc = serde_json::json!({
            "client_id": CLIENT,
            "client_name": "Shop",
            "client_uri": "https://shop.test/",
            "policy_uri": "https://shop.test/privacy",
            "contacts": ["privacy@shop.test"],
            "jwks_uri": "https://shop.test/custodian/jwks.json",
            "delivery_uri": "https://shop.test/custodian/deliveries",
            "feed_uri": "https://shop.test/custodian/feed"
        });
        parse_metadata(doc.to_string().as_bytes(), CLIENT).unwrap()
    }

    /// A checked request object with `jti` and these details.
    pub(crate) fn request_object(jti: &str, details: serde_json::Value) -> RequestObject {
        let mut c = claims(jti);
        c["authorization_details"] = details;
        let jws = sign(Algorithm::EdDSA, Some("ed"), None, &c);
        verify_request_object(&jws, CLIENT, &company_jwks(), REQUEST, now()).unwrap()
    }

    /// A linked company's pending request in `store`.
    pub(crate) fn connect(store: &Store, jti: &str, details: serde_json::Value) -> AccessRequest {
        store
            .connect_request(
                &metadata(),
                &company_jwks(),
                &request_object(jti, details),
                REQUEST,
            )
            .unwrap()
    }

    pub(crate) fn contact_read() -> serde_json::Value {
        serde_json::json!([{"type": "pod_access", "paths": ["/contact/"], "actions": ["read"],
                            "purpose": "Order updates"}])
    }

    #[test]
    fn a_linked_request_is_stored_pending_for_a_week_and_logged() {
        let (_d, store) = memory_store();
        let r = connect(&store, "j1", contact_read());
        assert_eq!(r.status, RequestStatus::Pending);
        assert_eq!(r.client_id, CLIENT);
        assert_eq!(r.client_name, "Shop");
        assert_eq!(
            (r.expires_at - r.created_at).num_seconds(),
            LINK_REQUEST_TTL_SECS
        );
        let company = r.company.clone().unwrap();
        assert_eq!(company.domain, "shop.test");
        assert!(company.verified);
        assert_eq!(
            company.delivery_uri,
            "https://shop.test/custodian/deliveries"
        );
        let client = store.client(CLIENT).unwrap();
        assert!(client.verified);
        assert_eq!(client.company, Some(company));
        assert_eq!(logged_actions(&store), ["connect"]);
        let log = store.audit_log(&Default::default()).unwrap();
        assert_eq!(log[0].client_id.as_deref(), Some(CLIENT));
        assert!(
            log[0].reason.as_deref().unwrap().contains("shop.test"),
            "{:?}",
            log[0].reason
        );
        // The same company again: refreshed, not duplicated.
        connect(&store, "j2", contact_read());
        assert_eq!(store.clients().unwrap().len(), 1);
        assert_eq!(store.access_requests(false).unwrap().len(), 2);
    }

    #[test]
    fn a_replayed_jti_is_refused_and_nothing_is_stored() {
        let (_d, store) = memory_store();
        connect(&store, "j1", contact_read());
        let again = store.connect_request(
            &metadata(),
            &company_jwks(),
            &request_object("j1", contact_read()),
            REQUEST,
        );
        match again {
            Err(Error::LinkRefused { rule }) => assert!(rule.contains("replayed jti"), "{rule}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(store.access_requests(true).unwrap().len(), 1);
        assert_eq!(logged_actions(&store), ["connect"]);
    }

    #[test]
    fn a_jti_is_refused_even_after_its_company_was_purged() {
        let (_d, mut store) = memory_store();
        let clock = crate::clock::ManualClock::new(chrono::Utc::now());
        store.set_clock(std::sync::Arc::new(clock.clone()));
        connect(&store, "j1", contact_read());
        clock.advance(chrono::Duration::days(400));
        let purged = store.purge_stale_asks().unwrap();
        assert_eq!((purged.requests, purged.clients), (1, 1));
        assert_eq!(store.linked_company(CLIENT).unwrap(), None);
        let again = store.connect_request(
            &metadata(),
            &company_jwks(),
            &request_object("j1", contact_read()),
            REQUEST,
        );
        assert!(
            matches!(&again, Err(Error::LinkRefused { rule }) if rule.contains("replayed")),
            "{again:?}"
        );
        connect(&store, "j2", contact_read());
        assert!(store.linked_company(CLIENT).unwrap().is_some());
    }

    /// The company, its request and the `connect` entry commit together:
    /// when the log cannot be written, nothing is left behind.
    #[test]
    fn connecting_is_one_transaction() {
        let (_d, store) = memory_store();
        crate::testing::refuse_inserts(&store, "audit_log");
        let failed = store.connect_request(
            &metadata(),
            &company_jwks(),
            &request_object("j1", contact_read()),
            REQUEST,
        );
        assert!(failed.is_err());
        assert_eq!(store.clients().unwrap(), vec![]);
        assert_eq!(store.linked_company(CLIENT).unwrap(), None);
        crate::testing::allow_inserts(&store, "audit_log");
        // The jti was not used up by the failed attempt.
        connect(&store, "j1", contact_read());
    }

    #[test]
    fn a_device_flow_company_stays_unverified() {
        let (_d, store) = memory_store();
        let c = store
            .register_client(&crate::sharing::client::ClientRegistration {
                client_name: "Acme".into(),
                ..Default::default()
            })
            .unwrap();
        assert!(!c.verified);
        assert_eq!(c.company, None);
    }
}
