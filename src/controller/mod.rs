//! The operator's decisions, as pure functions of the resource and the time: when a
//! connection runs (`schedule`), whether and how it runs now (`decide`: modes, request
//! annotations, the approval gate, one Job at a time) and the Job of a run (`job`).

pub mod decide;
pub mod fetch_report;
pub mod job;
pub mod prune;
pub mod reconcile;
pub mod reports;
pub mod schedule;
pub mod status;
pub mod sync_run;
