//! Emulators of the APIs hris-operator talks to, for tests, benchmarks and local samples.
pub mod google;
pub mod graph;
pub mod scim;
