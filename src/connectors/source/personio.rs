//! Personio API v1: a token from `POST /v1/auth` (cached, fetched again once on a 401), then
//! `GET /v1/company/employees` with `limit` at its maximum (100) and a growing `offset`.
//! Every attribute comes as `{label, value, type, universal_id}`; departments, offices and
//! supervisors are nested objects whose name or id is read.

use std::{collections::BTreeMap, time::Duration};

use async_trait::async_trait;
use futures::stream::{self, BoxStream, StreamExt};
use reqwest::Method;
use serde_json::{Map, Value, json};

use super::{
    RetryDelays, SourceConnector,
    api::{ApiClient, trim_base, url_path},
    rows::{self, Columns},
};
use crate::{
    connectors::{ConnectorContext, checks::RequestSettings, http::Auth},
    crd::{PersonioSource as PersonioSpec, SecretKeyRef},
    sync::{
        model::EmploymentStatus,
        policy::SpecError,
        ports::source::{Source, SourceError, SourceField, SourcePage},
    },
};

/// Personio's documented base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.personio.de";
/// Largest `limit` of `/v1/company/employees`.
pub const PAGE_SIZE: usize = 100;
/// How long a token is used before a new one is fetched.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(23 * 3600);

/// Reads employees from Personio.
#[derive(Debug)]
pub struct PersonioSource {
    api: ApiClient,
    base: String,
    columns: Columns,
    reference_employee_id: Option<String>,
}

/// Which Personio attribute feeds which canonical field.
pub fn columns(
    custom: &BTreeMap<String, String>,
    personal_email_attribute: Option<&str>,
) -> Columns {
    let some = |s: &str| Some(s.to_owned());
    Columns {
        id: "id".into(),
        employee_number: None,
        first_name: some("first_name"),
        last_name: some("last_name"),
        preferred_name: some("preferred_name"),
        work_email: some("email"),
        personal_email: personal_email_attribute.map(str::to_owned),
        employment_status: some("status"),
        start_date: some("hire_date"),
        end_date: some("termination_date"),
        manager_id: some("supervisor"),
        department: some("department"),
        title: some("position"),
        location: some("office"),
        preferred_language: None,
        custom: custom
            .iter()
            .map(|(name, key)| (name.clone(), key.clone()))
            .collect(),
        phones: Vec::new(),
        addresses: Vec::new(),
        custom_object: None,
        status_values: vec![
            ("onboarding".into(), EmploymentStatus::Pending),
            ("active".into(), EmploymentStatus::Active),
            ("leave".into(), EmploymentStatus::Leave),
            ("inactive".into(), EmploymentStatus::Inactive),
        ],
        spec_named: personal_email_attribute
            .map(str::to_owned)
            .into_iter()
            .collect(),
    }
}

/// The token exchange of Personio v1 for these credentials.
pub fn auth(base_url: &str, client_id: &str, client_secret: &str) -> Auth {
    Auth::TokenExchange {
        token_url: format!("{}/v1/auth", trim_base(base_url)),
        body: json!({"client_id": client_id, "client_secret": client_secret}),
        token_pointer: "/data/token".into(),
        lifetime: TOKEN_LIFETIME,
        cached: Default::default(),
    }
}

impl PersonioSource {
    /// The source a spec names, with its secrets read.
    pub async fn from_spec(
        spec: &PersonioSpec,
        context: &ConnectorContext,
        delays: RetryDelays,
    ) -> Result<Self, SourceError> {
        let client_id = context.secrets.get(&spec.client_id_secret_ref).await?;
        let client_secret = context.secrets.get(&spec.client_secret_secret_ref).await?;
        let base = spec.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL);
        let hint = format!(
            "the client id (secret {}/{}) and client secret (secret {}/{})",
            spec.client_id_secret_ref.name,
            spec.client_id_secret_ref.key,
            spec.client_secret_secret_ref.name,
            spec.client_secret_secret_ref.key
        );
        let api = ApiClient::new(
            "Personio",
            hint,
            auth(base, &client_id, &client_secret),
            spec.requests_per_second,
            spec.timeout_seconds,
            spec.max_tries,
            delays,
        )?
        .with_max_response_bytes(spec.max_response_bytes);
        Ok(Self::new(
            api,
            base,
            columns(
                &spec.custom_fields,
                spec.personal_email_attribute.as_deref(),
            ),
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

    async fn page(
        &self,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<Value>, Option<u64>), SourceError> {
        let url = format!("{}/v1/company/employees", self.base);
        let (limit, offset) = (limit.to_string(), offset.to_string());
        let answer = self
            .api
            .json(Method::GET, &url, |request| {
                request.query(&[("limit", limit.as_str()), ("offset", offset.as_str())])
            })
            .await?;
        if answer.get("success") == Some(&Value::Bool(false)) {
            return Err(SourceError::Unavailable(
                "Personio answered /v1/company/employees with success: false".into(),
            ));
        }
        let data = answer
            .get("data")
            .and_then(Value::as_array)
            .cloned()
            .ok_or_else(|| {
                SourceError::Unavailable("Personio answered the employees without `data`".into())
            })?;
        let total = answer
            .pointer("/metadata/total_elements")
            .and_then(Value::as_u64);
        Ok((data, total))
    }
}

/// A Personio employee as a flat record of attribute values (nested objects reduced to their
/// name, or id for the supervisor), and its attributes' labels.
pub fn flatten_record(raw: &Value) -> (Map<String, Value>, Vec<(String, String)>) {
    let mut record = Map::new();
    let mut labels = Vec::new();
    let attributes = raw
        .get("attributes")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for (key, attribute) in attributes {
        if let Some(label) = attribute.get("label").and_then(Value::as_str) {
            labels.push((key.clone(), label.to_owned()));
        }
        let value = attribute.get("value").cloned().unwrap_or(Value::Null);
        let value = match value {
            Value::Object(object) => {
                let inner = object.get("attributes").cloned().unwrap_or(Value::Null);
                if key == "supervisor" {
                    inner
                        .pointer("/id/value")
                        .or_else(|| inner.get("id"))
                        .cloned()
                        .unwrap_or(Value::Null)
                } else {
                    inner.get("name").cloned().unwrap_or(Value::Null)
                }
            }
            other => other,
        };
        record.insert(key, value);
    }
    (record, labels)
}

/// What the operator knows of a `personio` source.
#[async_trait]
impl SourceConnector for PersonioSpec {
    fn secret_refs(&self) -> Vec<&SecretKeyRef> {
        vec![&self.client_id_secret_ref, &self.client_secret_secret_ref]
    }

    fn validate(&self) -> Vec<SpecError> {
        RequestSettings {
            source: "personio",
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
            PersonioSource::from_spec(self, context, delays).await?,
        ))
    }
}

#[async_trait]
impl Source for PersonioSource {
    async fn check(&self) -> Result<(), SourceError> {
        self.page(0, 1).await.map(|_| ())
    }

    fn pages(&self) -> BoxStream<'_, Result<SourcePage, SourceError>> {
        stream::try_unfold(Some(0usize), move |offset| async move {
            let Some(offset) = offset else {
                return Ok(None);
            };
            let (data, total) = self.page(offset, PAGE_SIZE).await?;
            let mut page = SourcePage::default();
            for raw in &data {
                let (record, _) = flatten_record(raw);
                match rows::read_record(&record, &self.columns) {
                    Ok(employee) => page.employees.push(employee),
                    Err(error) => page.errors.push(error),
                }
            }
            let read = offset + data.len();
            let more = data.len() == PAGE_SIZE && total.is_none_or(|t| (read as u64) < t);
            Ok(Some((page, more.then_some(read))))
        })
        .boxed()
    }

    async fn fields(&self) -> Result<Vec<SourceField>, SourceError> {
        let raw = match &self.reference_employee_id {
            Some(id) => {
                let url = format!("{}/v1/company/employees/{id}", self.base);
                let answer = self.api.json_if_found(Method::GET, &url, |r| r).await?;
                let finding = || format!("Personio answered 404 to GET {}", url_path(&url));
                let answer = answer
                    .ok_or_else(|| super::unknown_reference_employee("personio", id, &finding()))?;
                answer.get("data").cloned()
            }
            None => self.page(0, 1).await?.0.into_iter().next(),
        };
        let (record, labels) = raw.as_ref().map(flatten_record).unwrap_or_default();
        let mut fields = rows::fields_of(Some(&record), &self.columns, &[]);
        // The label is what people see in Personio: show it next to the key.
        for field in &mut fields {
            if let Some((_, label)) = labels.iter().find(|(key, _)| *key == field.name) {
                field.name = format!("{} ({label})", field.name);
            }
        }
        Ok(fields)
    }
}
