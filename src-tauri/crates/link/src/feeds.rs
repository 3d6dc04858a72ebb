//! Taking companies' feeds (write-back): for each grant whose feed is due
//! (the core says which), `GET feed_uri?grant_id=…&after=<cursor>` under the
//! network rules (at most [`FEED_CAP`]), and hand the items to the core,
//! which checks each one (signature, claims, scope, replay), stores the good
//! ones, logs both, and keeps the cursor. One feed's failure (fetching,
//! reading, or the core refusing the page) does not stop the others'.

use serde::{Deserialize, Serialize};

use custodian_core::linked::{names_unknown_kid, FeedTarget};

use crate::connect::JWKS_CAP;
use crate::net::Net;
use crate::vault::{LinkError, VaultAccess};

/// The largest feed answer fetched.
pub const FEED_CAP: usize = 1024 * 1024;

/// The feed's envelope: `{"items": ["<JWS>", …], "next": "<cursor>"}`.
#[derive(Debug, Deserialize)]
struct Envelope {
    #[serde(default)]
    items: Vec<String>,
    #[serde(default)]
    next: Option<String>,
}

/// What one run of [`poll_feeds`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FeedSummary {
    /// Feeds fetched.
    pub feeds: usize,
    /// Items stored, by path.
    pub stored: Vec<String>,
    /// Items refused, with the reason.
    pub refused: Vec<String>,
    /// Feeds that could not be fetched or read, with the reason.
    pub failed: Vec<String>,
}

/// Fetches every due feed once. A feed that cannot be fetched, read or
/// taken in is named in [`FeedSummary::failed`] (by its address without the
/// query, which carries the grant id) and the next feed is still taken;
/// only a vault that locked meanwhile stops the round.
pub async fn poll_feeds(net: &Net, vault: &impl VaultAccess) -> Result<FeedSummary, LinkError> {
    let targets = vault.with_store(|store| store.due_feeds())?;
    let mut summary = FeedSummary::default();
    let mut refreshed: Vec<String> = Vec::new();
    for target in targets {
        let shown = without_query(&target.feed_uri);
        let Some(url) = feed_url(&target.feed_uri, &target.grant_id, &target.cursor) else {
            summary.failed.push(format!("{shown}: not a URL"));
            continue;
        };
        let envelope = match net.fetch(&url, "application/json", FEED_CAP).await {
            Ok(bytes) => match serde_json::from_slice::<Envelope>(&bytes) {
                Ok(envelope) => envelope,
                Err(e) => {
                    summary.failed.push(format!("{shown}: not a feed ({e})"));
                    continue;
                }
            },
            Err(e) => {
                summary.failed.push(e.to_string().replace(&url, &shown));
                continue;
            }
        };
        summary.feeds += 1;
        refresh_keys(net, vault, &target, &envelope.items, &mut refreshed).await;
        let taken = vault.with_store(|store| {
            store.accept_feed(&target.grant_id, &envelope.items, envelope.next.as_deref())
        });
        match taken {
            Ok(outcome) => {
                summary.stored.extend(outcome.stored);
                summary.refused.extend(outcome.refused);
            }
            Err(LinkError::Locked) => return Err(LinkError::Locked),
            Err(e) => summary.failed.push(format!("{shown}: {e}")),
        }
    }
    Ok(summary)
}

/// When an item names a key the company's stored JWK Set lacks (it rotated
/// its keys), fetches its `jwks_uri` again, at most once per company per
/// poll, and has the core store the set. A failure keeps the stored set:
/// the items it cannot check are then refused ("unknown kid") and logged.
async fn refresh_keys(
    net: &Net,
    vault: &impl VaultAccess,
    target: &FeedTarget,
    items: &[String],
    refreshed: &mut Vec<String>,
) {
    let Some(uri) = &target.jwks_uri else { return };
    if refreshed.contains(&target.client_id) || !names_unknown_kid(&target.jwks, items) {
        return;
    }
    refreshed.push(target.client_id.clone());
    if let Ok(bytes) = net.fetch(uri, "application/json", JWKS_CAP).await {
        let _ = vault.with_store(|store| store.refresh_company_keys(&target.client_id, &bytes));
    }
}

/// A feed's address as printed and logged: without its query (ours carries
/// the grant id) or fragment.
fn without_query(feed_uri: &str) -> String {
    match url::Url::parse(feed_uri) {
        Ok(mut url) => {
            url.set_query(None);
            url.set_fragment(None);
            url.to_string()
        }
        Err(_) => feed_uri.split(['?', '#']).next().unwrap_or("").to_string(),
    }
}

/// `feed_uri?grant_id=…&after=…`, keeping any query the company put there.
fn feed_url(feed_uri: &str, grant_id: &str, cursor: &str) -> Option<String> {
    let mut url = url::Url::parse(feed_uri).ok()?;
    url.query_pairs_mut()
        .append_pair("grant_id", grant_id)
        .append_pair("after", cursor);
    Some(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_feed_is_named_without_its_query() {
        assert_eq!(
            without_query("https://shop.test/feed?v=1&grant_id=grt_a&after=c#x"),
            "https://shop.test/feed"
        );
        assert_eq!(without_query("not a url?grant_id=grt_a"), "not a url");
    }

    #[test]
    fn the_feed_address_carries_the_grant_and_cursor() {
        assert_eq!(
            feed_url("https://shop.test/feed?v=1", "grt_a", "").unwrap(),
            "https://shop.test/feed?v=1&grant_id=grt_a&after="
        );
        assert_eq!(
            feed_url("https://shop.test/feed", "grt_a", "c 2").unwrap(),
            "https://shop.test/feed?grant_id=grt_a&after=c+2"
        );
    }
}
