//! Emulators of the APIs hris-operator talks to, for its tests, benchmarks and local samples:
//! test equipment, never part of the product. Each one serves on 127.0.0.1 (a random port)
//! from a handle that stops it when dropped, enforces the API's auth, paging, limits and error
//! shapes as the vendor documents them, and has switches for the faults a test needs.
//!
//! An emulator keeps its own copy of every fact about its API (scopes, limits, formats) and
//! never imports the connectors it judges, so that a misunderstanding shared with a connector
//! fails a test instead of passing it. The only thing taken from `hris-operator` is the seed
//! data model (`sync::model::Employee`), which the HR emulators turn into their own records.
//!
//! The `hris-emulators` binary ([`serve`]) serves one by hand:
//! `hris-emulators scim|graph|google|slack|merge|bamboohr|personio|hibob|afas|workday [flags]`.
#![forbid(unsafe_code)]

pub mod afas;
pub mod bamboohr;
pub mod bucket;
pub mod google;
pub mod graph;
pub mod hibob;
pub mod hr;
pub mod log;
pub mod merge;
pub mod personio;
pub mod scim;
pub mod serve;
pub mod server;
pub mod slack;
pub mod workday;
