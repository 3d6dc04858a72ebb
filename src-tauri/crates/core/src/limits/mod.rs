//! What a stranger may cost the pod: who is knocking ([`peer`]), turns per
//! minute ([`rate`]), caps on what may be left waiting ([`intake`]), and
//! how refused tokens are counted and logged ([`refusals`]).

pub mod intake;
pub mod peer;
pub mod rate;
pub mod refusals;
