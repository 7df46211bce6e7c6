//! The operator's decisions, as pure functions of the resource and the time: when a
//! connection runs (schedule), and (in later parts) which Job it runs and what status says.

pub mod job;
pub mod schedule;
