//! The feed (write-back): while a linked grant may append to a container,
//! the desktop fetches the company's feed and hands its items here; each
//! is checked (signature by a key of the company's JWK Set, claims, the
//! grant's scope by the pod API's own rule for a `POST`, a `jti` used once)
//! and stored as a new resource, logged `feed`; a bad item is refused and
//! logged, and the rest still land. The cursor is kept per grant.

use serde::Serialize;

/// A grant whose feed is due: where to fetch it and how to check it.
#[derive(Debug, Clone, Serialize)]
pub struct FeedTarget {
    pub grant_id: String,
    pub client_id: String,
    pub feed_uri: String,
    /// Where the last fetch stopped (empty for the first).
    pub cursor: String,
    /// The company's JWK Set, as stored.
    pub jwks: serde_json::Value,
}

/// What one batch of feed items came to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FeedOutcome {
    /// Paths of the resources created.
    pub stored: Vec<String>,
    /// Each refused item's reason.
    pub refused: Vec<String>,
}
