//! The sync pipeline: fetch → filter → map → plan → apply. Only fetch and apply do I/O.

pub mod apply;
pub mod cadence;
pub mod email;
pub mod field;
pub mod fields_present;
pub mod filter;
pub mod lifecycle;
pub mod map;
pub mod model;
pub mod plan;
pub mod policy;
pub mod ports;
pub mod report;
pub mod run;
pub mod safeguard;
