//! HR sources: one connector per HR system, each implementing the core's
//! [`Source`](crate::sync::ports::source::Source) port.
//!
//! Sources that page with a cursor stop with an error when a cursor repeats: a server that
//! hands out a cursor it handed out before would loop, and what was read so far is not the
//! whole list.

pub mod afas;
pub mod api;
pub mod bamboohr;
pub mod csv;
pub mod hibob;
pub mod merge;
pub mod personio;
pub mod rows;
pub mod values;
pub mod workday;

use std::time::Duration;

use super::ConnectorContext;
use crate::{
    crd::SourceSpec,
    sync::ports::source::{Source, SourceError},
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
    Ok(match spec {
        SourceSpec::Csv(csv) => Box::new(csv::CsvSource::from_spec(csv, context)?),
        SourceSpec::Merge(spec) => {
            Box::new(merge::MergeSource::from_spec(spec, context, delays).await?)
        }
        SourceSpec::BambooHr(spec) => {
            Box::new(bamboohr::BambooHrSource::from_spec(spec, context, delays).await?)
        }
        SourceSpec::Personio(spec) => {
            Box::new(personio::PersonioSource::from_spec(spec, context, delays).await?)
        }
        SourceSpec::HiBob(spec) => {
            Box::new(hibob::HiBobSource::from_spec(spec, context, delays).await?)
        }
        SourceSpec::Afas(spec) => {
            Box::new(afas::AfasSource::from_spec(spec, context, delays).await?)
        }
        SourceSpec::Workday(spec) => {
            Box::new(workday::WorkdaySource::from_spec(spec, context, delays).await?)
        }
    })
}
