//! hris-operator: HR-driven user provisioning, declared as Kubernetes resources.
#![forbid(unsafe_code)]

pub mod cli;
pub mod connectors;
pub mod contract;
pub mod controller;
pub mod crd;
pub mod kubectl;
pub mod manifest;
pub mod metrics;
pub mod sync;
pub mod sync_job;
