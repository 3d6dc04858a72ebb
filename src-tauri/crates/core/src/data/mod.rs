//! The person's data: resources and their history ([`resource`]), the one
//! path normalizer ([`path`]), the category taxonomy ([`category`]), the
//! typed communication preferences ([`preferences`]), search ([`search`]),
//! and a resource version's row as stored (`records`).

pub mod category;
pub mod path;
pub mod preferences;
pub(crate) mod records;
pub mod resource;
pub mod search;
