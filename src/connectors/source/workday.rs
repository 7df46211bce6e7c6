//! Workday: a RaaS custom report in JSON, read in one call (`?format=json`, no paging),
//! columns mapped with the customer's field map.

use async_trait::async_trait;
use futures::stream::{self, BoxStream, StreamExt};
use reqwest::Method;
use serde_json::Value;

use super::{
    RetryDelays, SourceConnector,
    api::{ApiClient, trim_base},
    rows::{self, Columns, RequiredColumns},
};
use crate::{
    connectors::{ConnectorContext, checks::RequestSettings, http::Auth},
    crd::{SecretKeyRef, WorkdaySource as WorkdaySpec},
    sync::{
        policy::SpecError,
        ports::source::{Source, SourceError, SourceField, SourcePage},
    },
};

/// Reads employees from a Workday report.
#[derive(Debug)]
pub struct WorkdaySource {
    api: ApiClient,
    url: String,
    columns: Columns,
    required: RequiredColumns,
    reference_employee_id: Option<String>,
}

/// The columns used when the field map leaves a field unset.
pub fn default_columns() -> Columns {
    let some = |s: &str| Some(s.to_owned());
    Columns {
        id: "Employee_ID".into(),
        employee_number: None,
        first_name: some("Legal_Name_First_Name"),
        last_name: some("Legal_Name_Last_Name"),
        preferred_name: some("Preferred_Name_First_Name"),
        work_email: some("Email_Address_Work"),
        personal_email: some("Email_Address_Home"),
        employment_status: some("Worker_Status"),
        start_date: some("Hire_Date"),
        end_date: some("Termination_Date"),
        manager_id: some("Manager_Employee_ID"),
        department: some("Supervisory_Organization"),
        title: some("Business_Title"),
        location: some("Location"),
        preferred_language: some("Preferred_Language"),
        ..Columns::default()
    }
}

impl WorkdaySource {
    /// The source a spec names, with its secret read.
    pub async fn from_spec(
        spec: &WorkdaySpec,
        context: &ConnectorContext,
        delays: RetryDelays,
    ) -> Result<Self, SourceError> {
        let password = context.secrets.get(&spec.password_secret_ref).await?;
        let hint = format!(
            "username and the password in secret {}/{}",
            spec.password_secret_ref.name, spec.password_secret_ref.key
        );
        let api = ApiClient::new(
            "Workday",
            hint,
            Auth::Basic {
                username: spec.username.clone(),
                password,
            },
            spec.requests_per_second,
            spec.timeout_seconds,
            spec.max_tries,
            delays,
        )?
        .with_max_response_bytes(spec.max_response_bytes);
        let base = spec.base_url.clone().unwrap_or_else(|| {
            format!(
                "https://{}/ccx/service/customreport2/{}",
                spec.host, spec.tenant
            )
        });
        let columns = Columns::from_field_map(&spec.field_map, &default_columns());
        let required = RequiredColumns::of_field_map(
            "Workday report",
            "spec.source.workday.fieldMap",
            &spec.field_map,
            &columns,
        );
        Ok(Self::new(
            api,
            &format!(
                "{}/{}/{}",
                trim_base(&base),
                spec.report_owner,
                spec.report_name
            ),
            columns,
            required,
            spec.reference_employee_id.clone(),
        ))
    }

    /// A source reading the report at `report_url` (without the query); a fetch fails when
    /// no entry of the report has one of the `required` columns.
    pub fn new(
        api: ApiClient,
        report_url: &str,
        columns: Columns,
        required: RequiredColumns,
        reference_employee_id: Option<String>,
    ) -> Self {
        Self {
            api,
            url: report_url.to_owned(),
            columns,
            required,
            reference_employee_id,
        }
    }

    async fn report(&self) -> Result<Vec<Value>, SourceError> {
        let answer = self
            .api
            .json(Method::GET, &self.url, |r| r.query(&[("format", "json")]))
            .await?;
        answer
            .get("Report_Entry")
            .and_then(Value::as_array)
            .cloned()
            .ok_or_else(|| {
                SourceError::Unavailable(
                    "Workday answered the report without `Report_Entry`; is it a RaaS report with JSON output?"
                        .into(),
                )
            })
    }
}

/// What the operator knows of a `workday` source.
#[async_trait]
impl SourceConnector for WorkdaySpec {
    fn secret_refs(&self) -> Vec<&SecretKeyRef> {
        vec![&self.password_secret_ref]
    }

    fn validate(&self) -> Vec<SpecError> {
        RequestSettings {
            source: "workday",
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
            WorkdaySource::from_spec(self, context, delays).await?,
        ))
    }
}

#[async_trait]
impl Source for WorkdaySource {
    async fn check(&self) -> Result<(), SourceError> {
        self.report().await.map(|_| ())
    }

    fn pages(&self) -> BoxStream<'_, Result<SourcePage, SourceError>> {
        stream::once(async move {
            let entries = self.report().await?;
            let mut tracker = self.required.tracker();
            tracker.observe(&entries);
            tracker.finish()?;
            Ok(rows::read_page(&entries, &self.columns))
        })
        .boxed()
    }

    async fn fields(&self) -> Result<Vec<SourceField>, SourceError> {
        let entries = self.report().await?;
        let record = rows::reference_record(
            &entries,
            &self.columns,
            self.reference_employee_id.as_deref(),
        );
        if let (None, Some(id)) = (record, &self.reference_employee_id) {
            let finding = format!(
                "the {} entries of the Workday report have no such id",
                entries.len()
            );
            return Err(super::unknown_reference_employee("workday", id, &finding));
        }
        Ok(rows::fields_of(record, &self.columns, &[]))
    }
}
