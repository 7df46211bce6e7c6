//! hris-operator: HR-driven user provisioning, declared as Kubernetes resources.
#![forbid(unsafe_code)]

pub mod cli;
pub mod connectors;
pub mod controller;
pub mod crd;
pub mod manifest;
pub mod metrics;
pub mod plugin;
pub mod sync;
