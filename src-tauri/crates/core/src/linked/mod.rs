//! Companies on the internet (docs/companies.md): a company that publishes
//! a client metadata document and its keys at an https address connects by
//! a link; its signed request is answered in the vault like any other; the
//! pod then pushes each decision, and every change to what a grant covers,
//! to the company's delivery address, and (for a grant that may append)
//! takes the company's feed of new records.
//!
//! Here: the link and URL rules ([`link`]), the metadata and keys
//! ([`metadata`]), the signed request ([`request_object`]), all pure; the
//! stored company and its request ([`connect`]); what a delivery says
//! ([`delivery`], pure); the queue of deliveries and its hooks ([`outbox`])
//! and its sending side ([`attempts`]); the feed ([`feed`]); the rows of
//! their tables (`records`). Nothing here touches the network: the link
//! door (custodian-link) fetches and posts, and calls these.

pub mod attempts;
pub mod connect;
pub mod delivery;
pub mod feed;
pub mod link;
pub mod metadata;
pub mod outbox;
pub(crate) mod records;
pub mod request_object;
#[cfg(test)]
mod sending_tests;
#[cfg(test)]
mod tests;

use rusqlite::OptionalExtension;
use serde::Serialize;

use crate::vault::record::{self, TableRecord};
use crate::vault::store::Store;
use crate::Result;
use records::LinkedClientRecord;

pub use attempts::{backoff, Attempt, DeliveryFilter, DeliveryStatus, OutgoingDelivery};
pub use connect::LINK_REQUEST_TTL_SECS;
pub use delivery::MAX_DELIVERY_BYTES;
pub use feed::{names_unknown_kid, FeedOutcome, FeedTarget};
pub use link::{check_url, parse_link, parse_link_with, ConnectLink};
pub use metadata::{
    jwks_from, parse_jwks, parse_metadata, parse_metadata_with, ClientMetadata, Jwks,
};
pub use request_object::{verify_request_object, RequestObject};

/// A company that connected by a link: its domain was verified by serving
/// its metadata, keys and signed request there over https.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkedCompany {
    /// The host (and port, when not 443) of its client_id.
    pub domain: String,
    /// Always true: a linked company proved its domain.
    pub verified: bool,
    pub logo_uri: Option<String>,
    pub policy_uri: Option<String>,
    pub client_uri: Option<String>,
    pub delivery_uri: String,
}

impl Store {
    /// The linked company behind a client id, if it connected by a link
    /// (`None` for a company that registered by the device flow).
    pub fn linked_company(&self, client_id: &str) -> Result<Option<LinkedCompany>> {
        let sql = format!(
            "SELECT {} FROM linked_clients WHERE client_id = ?1",
            record::select_list::<LinkedClientRecord>(None)
        );
        let row = self
            .conn
            .prepare_cached(&sql)?
            .query_row([client_id], LinkedClientRecord::from_row)
            .optional()?;
        Ok(row.map(|r| LinkedCompany {
            domain: r.host,
            verified: true,
            logo_uri: r.logo_uri,
            policy_uri: r.policy_uri,
            client_uri: r.client_uri,
            delivery_uri: r.delivery_uri,
        }))
    }
}
