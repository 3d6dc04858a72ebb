//! custodian-link: the desktop's outward door to companies on the internet.
//! It fetches companies' documents and delivers to them over HTTPS under the
//! fixed network rules (`guard`, `resolve`, `net`, `post`), and glues those
//! exchanges to the core's decisions (`connect`, `deliver`, `feeds`, `logo`), reaching
//! the vault only through short blocking steps (`vault`). Every rule about
//! what is accepted or sent lives in custodian-core; this crate does the wire.

pub mod connect;
pub mod deliver;
pub mod error;
pub mod feeds;
pub mod guard;
mod join;
pub mod logo;
pub mod net;
pub mod post;
pub mod resolve;
pub mod vault;

pub use connect::connect;
pub use deliver::{deliver_due, wait_until, DeliverySummary};
pub use error::NetError;
pub use feeds::{poll_feeds, FeedSummary};
pub use logo::logo_data_url;
pub use net::{Net, Options};
pub use post::PostOutcome;
pub use resolve::AddressRules;
pub use vault::{LinkError, VaultAccess};
