//! Merge HRIS: `GET /employees` with cursor paging at Merge's largest page (100), the same
//! parameters on every page, `expand` for job titles, teams and locations.

use std::collections::HashSet;

use async_trait::async_trait;
use futures::stream::{self, BoxStream, StreamExt};
use reqwest::Method;
use serde_json::{Map, Value};

use super::{
    RetryDelays, SourceConnector,
    api::{ApiClient, trim_base, url_path},
    rows::{self, Columns},
};
use crate::{
    connectors::{ConnectorContext, checks::RequestSettings, http::Auth},
    crd::{MergeSource as MergeSpec, SecretKeyRef},
    sync::{
        model::{AddressPart, AddressType, PhoneType},
        policy::SpecError,
        ports::source::{Source, SourceError, SourceField, SourcePage},
    },
};

/// Merge's documented base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.merge.dev/api/hris/v1";
/// Merge's largest page.
pub const PAGE_SIZE: usize = 100;
/// What `expand` asks for (job titles live in employments).
pub const EXPAND: &str = "employments,team,work_location,home_location";

/// Reads employees from Merge.
#[derive(Debug)]
pub struct MergeSource {
    api: ApiClient,
    base: String,
    account_token: String,
    reference_employee_id: Option<String>,
}

/// Which Merge field feeds which canonical field (after [`flatten_record`]).
pub fn columns() -> Columns {
    let some = |s: &str| Some(s.to_owned());
    Columns {
        id: "id".into(),
        employee_number: some("employee_number"),
        first_name: some("first_name"),
        last_name: some("last_name"),
        preferred_name: some("preferred_name"),
        work_email: some("work_email"),
        personal_email: some("personal_email"),
        employment_status: some("employment_status"),
        start_date: some("start_date"),
        end_date: some("termination_date"),
        manager_id: some("manager"),
        department: some("team.name"),
        title: some("job_title"),
        location: some("work_location.name"),
        preferred_language: None,
        phones: vec![
            (PhoneType::Mobile, "mobile_phone_number".into()),
            // The number of the home location is the home phone.
            (PhoneType::Home, "home_location.phone_number".into()),
        ],
        addresses: [
            (AddressType::Work, "work_location"),
            (AddressType::Home, "home_location"),
        ]
        .into_iter()
        .flat_map(|(kind, location)| {
            rows::address_columns(
                kind,
                &[
                    (AddressPart::Street, &format!("{location}.street_1")),
                    (AddressPart::Street, &format!("{location}.street_2")),
                    (AddressPart::Locality, &format!("{location}.city")),
                    (AddressPart::Region, &format!("{location}.state")),
                    (AddressPart::PostalCode, &format!("{location}.zip_code")),
                    (AddressPart::Country, &format!("{location}.country")),
                ],
            )
        })
        .collect(),
        custom: Vec::new(),
        custom_object: some("custom_fields"),
        status_values: Vec::new(),
        spec_named: Vec::new(),
    }
}

impl MergeSource {
    /// The source a spec names, with its secrets read.
    pub async fn from_spec(
        spec: &MergeSpec,
        context: &ConnectorContext,
        delays: RetryDelays,
    ) -> Result<Self, SourceError> {
        let api_key = context.secrets.get(&spec.api_key_secret_ref).await?;
        let account_token = context.secrets.get(&spec.account_token_secret_ref).await?;
        let hint = format!(
            "the API key (secret {}/{}) and the linked account token (secret {}/{})",
            spec.api_key_secret_ref.name,
            spec.api_key_secret_ref.key,
            spec.account_token_secret_ref.name,
            spec.account_token_secret_ref.key
        );
        let api = ApiClient::new(
            "Merge",
            hint,
            Auth::Bearer(api_key),
            spec.requests_per_second,
            spec.timeout_seconds,
            spec.max_tries,
            delays,
        )?
        .with_max_response_bytes(spec.max_response_bytes);
        Ok(Self::new(
            api,
            spec.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL),
            account_token,
            spec.reference_employee_id.clone(),
        ))
    }

    /// A source over a ready client.
    pub fn new(
        api: ApiClient,
        base_url: &str,
        account_token: String,
        reference_employee_id: Option<String>,
    ) -> Self {
        Self {
            api,
            base: trim_base(base_url),
            account_token,
            reference_employee_id,
        }
    }

    async fn get(&self, url: &str, query: &[(&str, &str)]) -> Result<Value, SourceError> {
        self.api
            .json(Method::GET, url, |request| {
                request
                    .header("X-Account-Token", &self.account_token)
                    .query(query)
            })
            .await
    }

    async fn page(
        &self,
        cursor: Option<&str>,
    ) -> Result<(Vec<Value>, Option<String>), SourceError> {
        let page_size = PAGE_SIZE.to_string();
        let mut query = vec![
            ("page_size", page_size.as_str()),
            ("expand", EXPAND),
            ("include_deleted_data", "false"),
        ];
        if let Some(cursor) = cursor {
            query.push(("cursor", cursor));
        }
        let body = self
            .get(&format!("{}/employees", self.base), &query)
            .await?;
        let results = body
            .get("results")
            .and_then(Value::as_array)
            .cloned()
            .ok_or_else(|| {
                SourceError::Unavailable("Merge answered /employees without `results`".into())
            })?;
        let next = body
            .get("next")
            .and_then(Value::as_str)
            .filter(|c| !c.is_empty())
            .map(str::to_owned);
        Ok((results, next))
    }
}

/// A Merge employee as a flat record: expanded objects reduced to what is read, the start
/// date falling back to the hire date. `None` for a record deleted in the HR system.
pub fn flatten_record(raw: &Value) -> Option<Map<String, Value>> {
    let mut record = raw.as_object()?.clone();
    if record.get("remote_was_deleted") == Some(&Value::Bool(true)) {
        return None;
    }
    if rows::lookup(&record, "start_date").is_none()
        && let Some(hire) = record.get("hire_date").cloned()
    {
        record.insert("start_date".into(), hire);
    }
    // Unexpanded references are ids: not names.
    for key in ["team", "work_location", "home_location"] {
        if record.get(key).is_some_and(|v| !v.is_object()) {
            record.remove(key);
        }
    }
    if let Some(Value::Object(manager)) = record.get("manager").cloned() {
        record.insert(
            "manager".into(),
            manager.get("id").cloned().unwrap_or(Value::Null),
        );
    }
    let title = record
        .get("employments")
        .and_then(Value::as_array)
        .and_then(|all| all.iter().find_map(|e| e.get("job_title")))
        .cloned();
    if let Some(title) = title {
        record.insert("job_title".into(), title);
    }
    Some(record)
}

fn read_page(results: &[Value]) -> SourcePage {
    let columns = columns();
    let mut page = SourcePage::default();
    for raw in results {
        if !raw.is_object() {
            page.errors.push(rows::not_an_object(raw));
            continue;
        }
        let Some(record) = flatten_record(raw) else {
            continue;
        };
        match rows::read_record(&record, &columns) {
            Ok(employee) => page.employees.push(employee),
            Err(error) => page.errors.push(error),
        }
    }
    page
}

/// What the operator knows of a `merge` source.
#[async_trait]
impl SourceConnector for MergeSpec {
    fn secret_refs(&self) -> Vec<&SecretKeyRef> {
        vec![&self.api_key_secret_ref, &self.account_token_secret_ref]
    }

    fn validate(&self) -> Vec<SpecError> {
        RequestSettings {
            source: "merge",
            base_url: self.base_url.as_deref(),
            allow_insecure_http: self.allow_insecure_http,
            requests_per_second: self.requests_per_second,
            timeout_seconds: self.timeout_seconds,
            max_tries: self.max_tries,
        }
        .problems()
    }

    async fn build(
        &self,
        context: &ConnectorContext,
        delays: RetryDelays,
    ) -> Result<Box<dyn Source>, SourceError> {
        Ok(Box::new(
            MergeSource::from_spec(self, context, delays).await?,
        ))
    }
}

#[async_trait]
impl Source for MergeSource {
    async fn check(&self) -> Result<(), SourceError> {
        self.get(&format!("{}/employees", self.base), &[("page_size", "1")])
            .await
            .map(|_| ())
    }

    fn pages(&self) -> BoxStream<'_, Result<SourcePage, SourceError>> {
        struct State {
            cursor: Option<String>,
            seen: HashSet<String>,
            done: bool,
        }
        let start = State {
            cursor: None,
            seen: HashSet::new(),
            done: false,
        };
        stream::try_unfold(start, move |mut state| async move {
            if state.done {
                return Ok(None);
            }
            let (results, next) = self.page(state.cursor.as_deref()).await?;
            match next {
                Some(next) if !state.seen.insert(next.clone()) => {
                    return Err(SourceError::Unavailable(format!(
                        "Merge returned a cursor it had returned before (after {} pages); the list read so far is not complete, so the run stops",
                        state.seen.len()
                    )));
                }
                Some(next) => state.cursor = Some(next),
                None => state.done = true,
            }
            Ok(Some((read_page(&results), state)))
        })
        .boxed()
    }

    async fn fields(&self) -> Result<Vec<SourceField>, SourceError> {
        let record =
            match &self.reference_employee_id {
                Some(id) => {
                    let url = format!("{}/employees/{id}", self.base);
                    let query = [("expand", EXPAND)];
                    let found = self
                        .api
                        .json_if_found(Method::GET, &url, |request| {
                            request
                                .header("X-Account-Token", &self.account_token)
                                .query(&query)
                        })
                        .await?;
                    let finding = || format!("Merge answered 404 to GET {}", url_path(&url));
                    Some(found.ok_or_else(|| {
                        super::unknown_reference_employee("merge", id, &finding())
                    })?)
                }
                None => self.page(None).await?.0.into_iter().next(),
            };
        let flat = record.as_ref().and_then(flatten_record);
        Ok(rows::fields_of(flat.as_ref(), &columns(), &[]))
    }
}
