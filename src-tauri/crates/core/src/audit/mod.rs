//! The person's record of what happened: the hash-chained access log
//! ([`log`]), the retention policy that trims it behind a checkpoint
//! ([`retention`]), and the per-company report read from it ([`report`]).

pub mod log;
pub mod report;
pub mod retention;

pub use log::*;
