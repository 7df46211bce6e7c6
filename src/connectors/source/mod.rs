//! Sources: one connector per HR system or directory, each implementing the core's
//! [`crate::sync::ports::source::Source`] port.
//!
//! Sources that page with a cursor stop with an error when a cursor repeats: a server that
//! hands out a cursor it handed out before would loop, and what was read so far is not the
//! whole list.

pub mod afas;
pub mod api;
pub mod bamboohr;
pub mod csv;
pub mod google;
pub mod graph;
pub mod hibob;
pub mod merge;
pub mod personio;
pub mod rows;
pub mod slack;
pub mod values;
pub mod workday;

use std::time::Duration;

use async_trait::async_trait;

use super::ConnectorContext;
use crate::{
    crd::{ConfigMapKeyRef, SecretKeyRef, SourceSpec},
    sync::{
        policy::SpecError,
        ports::source::{Source, SourceError},
    },
};

/// What `fields()` answers when the spec's `referenceEmployeeId` names nobody the source has:
/// the field (under `spec.source.<kind>`), the id, what the source said (`finding`, such as
/// "Merge answered 404 to GET /employees/E9"), and the fix.
pub fn unknown_reference_employee(kind: &str, id: &str, finding: &str) -> SourceError {
    SourceError::InvalidInput(format!(
        "spec.source.{kind}.referenceEmployeeId is `{id}`, but {finding}; set it to the id of \
         an employee the source has, or remove it to take the examples from the first employee"
    ))
}

/// Back-off of retried requests: the spec sets the tries, this the delays (tests shorten them).
#[derive(Clone, Copy, Debug)]
pub struct RetryDelays {
    /// First back-off; doubles each try.
    pub base: Duration,
    /// Longest back-off, and longest `Retry-After` honoured.
    pub max: Duration,
}

impl Default for RetryDelays {
    fn default() -> Self {
        let policy = super::http::RetryPolicy::default();
        Self {
            base: policy.base_delay,
            max: policy.max_delay,
        }
    }
}

/// What the operator knows of one kind of source, kept with its connector: the secrets and
/// ConfigMaps its sync Job mounts, the checks of its settings, and how to build its client.
/// Each kind's spec implements it in the connector's own file; [`connector`] picks the one a
/// spec names.
#[async_trait]
pub trait SourceConnector: Sync {
    /// Every secret the source reads: the sync Job mounts exactly these.
    fn secret_refs(&self) -> Vec<&SecretKeyRef>;

    /// Every ConfigMap the source reads: the sync Job mounts exactly these.
    fn config_map_refs(&self) -> Vec<&ConfigMapKeyRef> {
        Vec::new()
    }

    /// Problems of the settings that the CRD schema cannot see (or that a local manifest
    /// never met), each naming its field under `spec.source`.
    fn validate(&self) -> Vec<SpecError>;

    /// Builds the source, reading its credentials.
    async fn build(
        &self,
        context: &ConnectorContext,
        delays: RetryDelays,
    ) -> Result<Box<dyn Source>, SourceError>;
}

/// The connector of the source a spec names: the one place that goes over every kind.
pub fn connector(spec: &SourceSpec) -> &dyn SourceConnector {
    match spec {
        SourceSpec::Csv(spec) => &**spec,
        SourceSpec::Merge(spec) => &**spec,
        SourceSpec::BambooHr(spec) => &**spec,
        SourceSpec::Personio(spec) => &**spec,
        SourceSpec::HiBob(spec) => &**spec,
        SourceSpec::Afas(spec) => &**spec,
        SourceSpec::Workday(spec) => &**spec,
        SourceSpec::MicrosoftGraph(spec) => &**spec,
        SourceSpec::GoogleWorkspace(spec) => &**spec,
        SourceSpec::Slack(spec) => &**spec,
    }
}

/// Builds the source a spec names, reading its credentials.
pub async fn build(
    spec: &SourceSpec,
    context: &ConnectorContext,
) -> Result<Box<dyn Source>, SourceError> {
    build_with(spec, context, RetryDelays::default()).await
}

/// [`build`] with chosen retry delays.
pub async fn build_with(
    spec: &SourceSpec,
    context: &ConnectorContext,
    delays: RetryDelays,
) -> Result<Box<dyn Source>, SourceError> {
    connector(spec).build(context, delays).await
}
