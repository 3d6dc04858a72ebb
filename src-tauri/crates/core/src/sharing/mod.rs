//! Sharing with companies: who they are ([`client`]), what they may ask and
//! how access is scoped ([`scope`]), what the person is shown and how an
//! answer narrows a request ([`consent`]), the device flow ([`request`]),
//! grants and their tokens ([`grant`], [`token`]), the signed consent
//! receipt of every decision ([`receipts`]), the pod API's memory of recent
//! reads ([`read_cache`]), and the rows of their tables as stored
//! (`records`).

pub mod client;
pub mod consent;
pub mod grant;
pub mod read_cache;
pub mod receipts;
pub(crate) mod records;
pub mod request;
pub mod scope;
pub mod token;
