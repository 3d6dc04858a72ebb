//! custodian-link: the desktop's outward door to companies on the internet.
//! It fetches companies' documents and delivers to them over HTTPS under the
//! fixed network rules (`guard`, `resolve`, `net`), and glues those exchanges
//! to the core's decisions. Every rule about what is accepted or sent lives in
//! custodian-core; this crate only does the wire.

pub mod error;
pub mod guard;
pub mod net;
pub mod post;
pub mod resolve;

pub use error::NetError;
pub use net::{Net, Options};
pub use post::PostOutcome;
pub use resolve::AddressRules;
