//! HiBob: one `POST /people/search` with `showInactive: true` returns everyone (HiBob does not
//! page), asking for the standard fields and the mapped custom ones. Records are nested by
//! category (`root`, `work`, `home`, `internal`, …); fields are read by dotted path.

use std::collections::BTreeMap;

use async_trait::async_trait;
use futures::stream::{self, BoxStream, StreamExt};
use reqwest::Method;
use serde_json::{Value, json};

use super::{
    RetryDelays, SourceConnector,
    api::{ApiClient, trim_base},
    rows::{self, Columns},
};
use crate::{
    connectors::{ConnectorContext, checks::RequestSettings, http::Auth},
    crd::{HiBobSource as HiBobSpec, SecretKeyRef},
    sync::{
        model::EmploymentStatus,
        policy::SpecError,
        ports::source::{Source, SourceError, SourceField, SourcePage},
    },
};

/// HiBob's documented base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.hibob.com/v1";

/// Reads employees from HiBob.
#[derive(Debug)]
pub struct HiBobSource {
    api: ApiClient,
    base: String,
    columns: Columns,
    reference_employee_id: Option<String>,
}

/// Which HiBob field feeds which canonical field (tenants differ: `hris-operator fields` lists
/// the ids a tenant returns), plus the mapped custom fields.
pub fn columns(custom: &BTreeMap<String, String>) -> Columns {
    let some = |s: &str| Some(s.to_owned());
    Columns {
        id: "root.id".into(),
        employee_number: some("work.employeeIdInCompany"),
        first_name: some("root.firstName"),
        last_name: some("root.surname"),
        preferred_name: some("personal.shortName"),
        work_email: some("root.email"),
        personal_email: some("home.privateEmail"),
        employment_status: some("internal.lifecycleStatus"),
        start_date: some("work.startDate"),
        end_date: some("internal.terminationDate"),
        manager_id: some("work.reportsTo.id"),
        department: some("work.department"),
        title: some("work.title"),
        location: some("work.site"),
        preferred_language: None,
        custom: custom
            .iter()
            .map(|(name, path)| (name.clone(), path.clone()))
            .collect(),
        phones: Vec::new(),
        addresses: Vec::new(),
        custom_object: None,
        status_values: vec![
            ("hired".into(), EmploymentStatus::Pending),
            ("employed".into(), EmploymentStatus::Active),
            ("on leave".into(), EmploymentStatus::Leave),
            ("leave".into(), EmploymentStatus::Leave),
            ("terminated".into(), EmploymentStatus::Inactive),
        ],
        spec_named: Vec::new(),
    }
}

/// A dotted field path as HiBob's search names it: `work.title` → `/work/title`.
pub fn search_path(column: &str) -> String {
    format!("/{}", column.replace('.', "/"))
}

impl HiBobSource {
    /// The source a spec names, with its secret read.
    pub async fn from_spec(
        spec: &HiBobSpec,
        context: &ConnectorContext,
        delays: RetryDelays,
    ) -> Result<Self, SourceError> {
        let token = context.secrets.get(&spec.token_secret_ref).await?;
        let hint = format!(
            "serviceUserId and the token in secret {}/{}",
            spec.token_secret_ref.name, spec.token_secret_ref.key
        );
        let api = ApiClient::new(
            "HiBob",
            hint,
            Auth::Basic {
                username: spec.service_user_id.clone(),
                password: token,
            },
            spec.requests_per_second,
            spec.timeout_seconds,
            spec.max_tries,
            delays,
        )?
        .with_max_response_bytes(spec.max_response_bytes);
        Ok(Self::new(
            api,
            spec.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL),
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

    async fn search(&self) -> Result<Vec<Value>, SourceError> {
        let fields: Vec<String> = self
            .columns
            .requested()
            .iter()
            .map(|c| search_path(c))
            .collect();
        let body = json!({"fields": fields, "filters": [], "showInactive": true});
        let answer = self
            .api
            .json(
                Method::POST,
                &format!("{}/people/search", self.base),
                |request| request.json(&body),
            )
            .await?;
        answer
            .get("employees")
            .and_then(Value::as_array)
            .cloned()
            .ok_or_else(|| {
                SourceError::Unavailable("HiBob answered /people/search without `employees`".into())
            })
    }

    async fn field_ids(&self) -> Result<Vec<String>, SourceError> {
        let answer = self
            .api
            .json(
                Method::GET,
                &format!("{}/company/people/fields", self.base),
                |r| r,
            )
            .await?;
        Ok(answer
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|field| field.get("id").and_then(Value::as_str))
            .map(|id| id.trim_start_matches('/').replace('/', "."))
            .collect())
    }
}

/// What the operator knows of a `hiBob` source.
#[async_trait]
impl SourceConnector for HiBobSpec {
    fn secret_refs(&self) -> Vec<&SecretKeyRef> {
        vec![&self.token_secret_ref]
    }

    fn validate(&self) -> Vec<SpecError> {
        RequestSettings {
            source: "hiBob",
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
            HiBobSource::from_spec(self, context, delays).await?,
        ))
    }
}

#[async_trait]
impl Source for HiBobSource {
    async fn check(&self) -> Result<(), SourceError> {
        self.field_ids().await.map(|_| ())
    }

    fn pages(&self) -> BoxStream<'_, Result<SourcePage, SourceError>> {
        stream::once(async move {
            let employees = self.search().await?;
            Ok(rows::read_page(&employees, &self.columns))
        })
        .boxed()
    }

    async fn fields(&self) -> Result<Vec<SourceField>, SourceError> {
        let names = self.field_ids().await?;
        let employees = self.search().await?;
        let record = rows::reference_record(
            &employees,
            &self.columns,
            self.reference_employee_id.as_deref(),
        );
        if let (None, Some(id)) = (record, &self.reference_employee_id) {
            let finding = format!(
                "the {} employees HiBob's people search returned have no such id (it returns \
                 only active employees unless showInactive is set)",
                employees.len()
            );
            return Err(super::unknown_reference_employee("hiBob", id, &finding));
        }
        Ok(rows::fields_of(record, &self.columns, &names))
    }
}
