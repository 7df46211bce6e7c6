//! Emulators of the APIs hris-operator talks to, for tests, benchmarks and local samples.
pub mod afas;
pub mod bamboohr;
pub mod bucket;
pub mod google;
pub mod graph;
pub mod hibob;
pub mod hr;
pub mod merge;
pub mod personio;
pub mod scim;
pub mod serve;
pub mod workday;
