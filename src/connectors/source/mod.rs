//! HR sources. Every source streams pages of canonical employees; a failure on any page fails
//! the whole fetch, so a partial list is never mistaken for the complete one.
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

use async_trait::async_trait;
use futures::{StreamExt, stream::BoxStream};
use serde_json::Value;

use super::ConnectorContext;
use crate::{
    crd::SourceSpec,
    sync::model::{Employee, RecordError},
};

/// A page of employees, with the records of that page that could not be read.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SourcePage {
    /// Employees read.
    pub employees: Vec<Employee>,
    /// Records that could not be read.
    pub errors: Vec<RecordError>,
}

/// A whole fetch.
pub type SourceData = SourcePage;

/// One field a source offers, for building attribute mappings.
#[derive(Clone, Debug, PartialEq)]
pub struct SourceField {
    /// The field as the source names it (a dotted path into nested records).
    pub name: String,
    /// The canonical field it feeds (`firstName`, `customFields.costCenter`), if any.
    pub feeds: Option<String>,
    /// A value from the reference employee (or the first record), if it has one. Personal
    /// data: show it on a terminal, never log it.
    pub example: Option<Value>,
    /// Whether the source has this field: the example record holds it (even empty) or the
    /// API's metadata lists it. `false` for a field the spec names that the source lacks —
    /// most often a misspelt custom field.
    pub found: bool,
}

/// Why a source could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The source's data is unusable as a whole (a missing column, a malformed header).
    #[error("{0}")]
    InvalidInput(String),
    /// The source could not be reached or read.
    #[error("{0}")]
    Unavailable(String),
    /// The source rejected the credentials.
    #[error("credentials rejected: {0}")]
    CredentialsInvalid(String),
    /// A secret the source needs could not be read.
    #[error(transparent)]
    Secret(#[from] super::secrets::SecretError),
}

impl SourceError {
    /// Category for Events and metrics.
    pub fn category(&self) -> &'static str {
        match self {
            SourceError::InvalidInput(_) => "InvalidSourceData",
            SourceError::Unavailable(_) => "SourceUnavailable",
            SourceError::CredentialsInvalid(_) | SourceError::Secret(_) => "CredentialsInvalid",
        }
    }
}

/// An HR system.
#[async_trait]
pub trait Source: Send + Sync {
    /// Verifies that the source is reachable and accepts the credentials.
    async fn check(&self) -> Result<(), SourceError>;

    /// Streams every employee, page by page.
    fn pages(&self) -> BoxStream<'_, Result<SourcePage, SourceError>>;

    /// Every field the source offers (standard and custom), with an example value from the
    /// spec's `referenceEmployeeId` when set (many APIs leave empty custom fields out of a
    /// record), else from the first record.
    async fn fields(&self) -> Result<Vec<SourceField>, SourceError>;
}

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

/// Reads every page; the first failing page fails the fetch.
pub async fn fetch_all(source: &dyn Source) -> Result<SourceData, SourceError> {
    let mut data = SourceData::default();
    let mut pages = source.pages();
    while let Some(page) = pages.next().await {
        let page = page?;
        data.employees.extend(page.employees);
        data.errors.extend(page.errors);
    }
    Ok(data)
}
