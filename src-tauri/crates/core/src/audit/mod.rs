//! The person's record of what happened: the hash-chained access log
//! ([`log`]) in its typed words ([`vocabulary`]), new entries written only
//! through [`append`] (a bundle restore copies rows as exported); the
//! retention policy that trims it behind a checkpoint
//! ([`retention`]), the per-company report read from it ([`report`]), and
//! the log's row as stored (`records`).

pub mod append;
pub mod log;
pub(crate) mod records;
pub mod report;
pub mod retention;
pub mod vocabulary;

pub use append::*;
pub use log::*;
pub use vocabulary::*;
