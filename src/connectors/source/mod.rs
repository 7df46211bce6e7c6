//! HR sources. Every source streams pages of canonical employees; a failure on any page fails
//! the whole fetch, so a partial list is never mistaken for the complete one.

pub mod csv;

use async_trait::async_trait;
use futures::{StreamExt, stream::BoxStream};

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
}

/// Builds the source a spec names.
pub fn build(spec: &SourceSpec, context: &ConnectorContext) -> Box<dyn Source> {
    match spec {
        SourceSpec::Csv(csv) => Box::new(csv::CsvSource::new(
            context.resolve_path(&csv.path),
            csv.delimiter.as_bytes().first().copied().unwrap_or(b','),
        )),
    }
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
