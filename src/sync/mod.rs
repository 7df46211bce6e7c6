//! The sync core: fetch → filter → map → plan → apply → reports. Only fetch and apply do I/O,
//! through the ports the core owns (`ports`: the `Source` and `Target` traits, which the
//! connectors implement and the callers build). The core depends on no connector, controller,
//! Kubernetes or HTTP crate, never reads the clock (the evaluation date is an argument), and
//! reads the resource's types in one place, `policy`, which compiles a spec into the core's own
//! rules. An architecture test (`tests/it/architecture.rs`) holds it to that.
//!
//! Modules that the binary, the tests and the benchmarks use are public; the others are the
//! crate's.

pub mod apply;
pub(crate) mod cadence;
pub(crate) mod email;
pub mod field;
pub(crate) mod fields_present;
pub mod filter;
pub(crate) mod lifecycle;
pub mod map;
pub mod model;
pub mod plan;
pub mod policy;
pub mod ports;
pub mod report;
pub mod run;
pub mod safeguard;
pub mod seats;
