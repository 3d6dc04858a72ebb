//! The person's data: resources and their history ([`resource`]), the one
//! path normalizer ([`path`]), the category taxonomy ([`category`]), the
//! typed communication preferences ([`preferences`]) and search
//! ([`search`]).

pub mod category;
pub mod path;
pub mod preferences;
pub mod resource;
pub mod search;
