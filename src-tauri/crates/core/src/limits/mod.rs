//! What a stranger may cost the pod: who is knocking ([`peer`]), turns per
//! minute ([`rate`]), caps on what may be left waiting ([`intake`]), how
//! refused tokens are counted and logged ([`refusals`]), and what a
//! company's large transfers may hold: a floor on their rate
//! ([`transfer`]) and a cap on how many run at once ([`turns`]).

pub mod intake;
pub mod peer;
pub mod rate;
pub mod refusals;
pub mod transfer;
pub mod turns;
