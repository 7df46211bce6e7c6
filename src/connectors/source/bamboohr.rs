//! BambooHR: the `employee` dataset (`POST /api/v2/datasets/employee/data`) at its largest
//! page (1,000), asking for the standard fields and the mapped custom ones. Chosen over
//! `/employees/directory` plus one `GET /employees/{id}` per person: one request per
//! thousand people instead of one per person, and it includes past employees.

use async_trait::async_trait;
use futures::stream::{self, BoxStream, StreamExt};
use reqwest::Method;
use serde_json::{Value, json};

use super::{
    RetryDelays, SourceConnector,
    api::{ApiClient, trim_base, url_path},
    rows::{self, Columns},
};
use crate::{
    connectors::{ConnectorContext, checks::RequestSettings, http::Auth},
    crd::{BambooHrSource as BambooSpec, SecretKeyRef},
    sync::{
        model::{AddressPart, AddressType, PhoneType},
        policy::SpecError,
        ports::source::{Source, SourceError, SourceField, SourcePage},
    },
};

/// The dataset read.
pub const DATASET: &str = "employee";
/// The dataset API's largest page.
pub const PAGE_SIZE: usize = 1000;

/// Reads employees from BambooHR.
#[derive(Debug)]
pub struct BambooHrSource {
    api: ApiClient,
    base: String,
    columns: Columns,
    reference_employee_id: Option<String>,
}

/// Which BambooHR field feeds which canonical field, plus the mapped custom fields.
pub fn columns(custom: &std::collections::BTreeMap<String, String>) -> Columns {
    let some = |s: &str| Some(s.to_owned());
    Columns {
        id: "id".into(),
        employee_number: some("employeeNumber"),
        first_name: some("firstName"),
        last_name: some("lastName"),
        preferred_name: some("preferredName"),
        work_email: some("workEmail"),
        personal_email: some("homeEmail"),
        employment_status: some("status"),
        start_date: some("hireDate"),
        end_date: some("terminationDate"),
        manager_id: some("supervisorEId"),
        department: some("department"),
        title: some("jobTitle"),
        location: some("location"),
        preferred_language: None,
        phones: vec![
            (PhoneType::Work, "workPhone".into()),
            (PhoneType::Mobile, "mobilePhone".into()),
            (PhoneType::Home, "homePhone".into()),
        ],
        // BambooHR holds the home address; the work address is a location name.
        addresses: rows::address_columns(
            AddressType::Home,
            &[
                (AddressPart::Street, "address1"),
                (AddressPart::Street, "address2"),
                (AddressPart::Locality, "city"),
                (AddressPart::Region, "state"),
                (AddressPart::PostalCode, "zipcode"),
                (AddressPart::Country, "country"),
            ],
        ),
        custom: custom
            .iter()
            .map(|(name, field)| (name.clone(), field.clone()))
            .collect(),
        custom_object: None,
        status_values: Vec::new(),
        spec_named: Vec::new(),
    }
}

impl BambooHrSource {
    /// The source a spec names, with its secret read.
    pub async fn from_spec(
        spec: &BambooSpec,
        context: &ConnectorContext,
        delays: RetryDelays,
    ) -> Result<Self, SourceError> {
        let api_key = context.secrets.get(&spec.credentials_secret_ref).await?;
        let hint = format!(
            "the API key in secret {}/{}",
            spec.credentials_secret_ref.name, spec.credentials_secret_ref.key
        );
        let api = ApiClient::new(
            "BambooHR",
            hint,
            Auth::Basic {
                username: api_key,
                password: "x".into(),
            },
            spec.requests_per_second,
            spec.timeout_seconds,
            spec.max_tries,
            delays,
        )?
        .with_max_response_bytes(spec.max_response_bytes);
        let base = spec
            .base_url
            .clone()
            .unwrap_or_else(|| format!("https://{}.bamboohr.com", spec.company_domain));
        Ok(Self::new(
            api,
            &base,
            columns(&spec.custom_fields),
            spec.reference_employee_id.clone(),
        ))
    }

    /// A source over a ready client.
    pub fn new(
        api: ApiClient,
        base_url: &str,
        columns: Columns,
        reference_employee_id: Option<String>,
    ) -> Self {
        Self {
            api,
            base: trim_base(base_url),
            columns,
            reference_employee_id,
        }
    }

    async fn page(&self, page: usize, size: usize) -> Result<(Vec<Value>, bool), SourceError> {
        let url = format!("{}/api/v2/datasets/{DATASET}/data", self.base);
        let body = json!({"fields": self.columns.requested()});
        let (page_text, size_text) = (page.to_string(), size.to_string());
        let answer = self
            .api
            .json(Method::POST, &url, |request| {
                request
                    .query(&[
                        ("page", page_text.as_str()),
                        ("pageSize", size_text.as_str()),
                    ])
                    .json(&body)
            })
            .await?;
        let data = answer
            .get("data")
            .and_then(Value::as_array)
            .cloned()
            .ok_or_else(|| {
                SourceError::Unavailable("BambooHR answered the dataset without `data`".into())
            })?;
        let answered_page = answer.pointer("/meta/page").and_then(Value::as_u64);
        if answered_page.is_some_and(|p| p != page as u64) {
            return Err(SourceError::Unavailable(format!(
                "BambooHR answered page {} when asked for page {page}; the list read so far is not complete, so the run stops",
                answered_page.unwrap_or_default()
            )));
        }
        let total_pages = answer.pointer("/meta/totalPages").and_then(Value::as_u64);
        let next = answer
            .pointer("/links/next")
            .is_some_and(|n| n.as_str().is_some_and(|s| !s.is_empty()));
        let more = next && total_pages.is_none_or(|total| (page as u64) < total);
        Ok((data, more))
    }
}

/// What the operator knows of a `bambooHr` source.
#[async_trait]
impl SourceConnector for BambooSpec {
    fn secret_refs(&self) -> Vec<&SecretKeyRef> {
        vec![&self.credentials_secret_ref]
    }

    fn validate(&self) -> Vec<SpecError> {
        let mut problems = RequestSettings {
            source: "bambooHr",
            base_url: self.base_url.as_deref(),
            allow_insecure_http: self.allow_insecure_http,
            requests_per_second: self.requests_per_second,
            timeout_seconds: self.timeout_seconds,
            max_tries: self.max_tries,
        }
        .problems();
        if self.company_domain.trim().is_empty() {
            problems.push(SpecError {
                field: "spec.source.bambooHr.companyDomain".into(),
                message: "must name the BambooHR subdomain, such as acme for acme.bamboohr.com"
                    .into(),
            });
        }
        problems
    }

    async fn build(
        &self,
        context: &ConnectorContext,
        delays: RetryDelays,
    ) -> Result<Box<dyn Source>, SourceError> {
        Ok(Box::new(
            BambooHrSource::from_spec(self, context, delays).await?,
        ))
    }
}

#[async_trait]
impl Source for BambooHrSource {
    async fn check(&self) -> Result<(), SourceError> {
        self.page(1, 1).await.map(|_| ())
    }

    fn pages(&self) -> BoxStream<'_, Result<SourcePage, SourceError>> {
        stream::try_unfold(Some(1usize), move |page| async move {
            let Some(page) = page else { return Ok(None) };
            let (data, more) = self.page(page, PAGE_SIZE).await?;
            let out = rows::read_page(&data, &self.columns);
            Ok(Some((out, more.then_some(page + 1))))
        })
        .boxed()
    }

    async fn fields(&self) -> Result<Vec<SourceField>, SourceError> {
        let meta = self
            .api
            .json(
                Method::GET,
                &format!("{}/api/v1/meta/fields", self.base),
                |r| r.header("Accept", "application/json"),
            )
            .await?;
        let names: Vec<String> = meta
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|field| {
                field
                    .get("alias")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .or_else(|| {
                        field
                            .get("id")
                            .map(|id| id.to_string().trim_matches('"').to_owned())
                    })
            })
            .collect();
        let record =
            match &self.reference_employee_id {
                Some(id) => {
                    let mut wanted = self.columns.requested();
                    wanted.extend(names.iter().cloned());
                    let fields = wanted.join(",");
                    let url = format!("{}/api/v1/employees/{id}", self.base);
                    let found = self
                        .api
                        .json_if_found(Method::GET, &url, |r| {
                            r.header("Accept", "application/json")
                                .query(&[("fields", fields.as_str())])
                        })
                        .await?;
                    let finding = || format!("BambooHR answered 404 to GET {}", url_path(&url));
                    Some(found.ok_or_else(|| {
                        super::unknown_reference_employee("bambooHr", id, &finding())
                    })?)
                }
                None => self.page(1, 1).await?.0.into_iter().next(),
            };
        Ok(rows::fields_of(
            record.as_ref().and_then(Value::as_object),
            &self.columns,
            &names,
        ))
    }
}
