//! The source port: an HR system streams pages of canonical employees. A failure on any page
//! fails the whole fetch, so a partial list is never mistaken for the complete one.

use async_trait::async_trait;
use futures::{StreamExt, stream::BoxStream};
use serde_json::Value;

use crate::sync::model::{Employee, RecordError};

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
    /// A secret the source needs could not be read. The message names the reference, never
    /// the value.
    #[error("{0}")]
    Secret(String),
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

    /// Why an employee may come without any email address, when the source knows a cause the
    /// customer can fix (such as a permission that shows the addresses): `skipped.csv` gives
    /// it as the detail of such an employee's `NoUsableEmail` row.
    fn missing_email_hint(&self) -> Option<&str> {
        None
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
