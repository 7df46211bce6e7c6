//! AFAS Profit: a GetConnector read with `skip`/`take` (ordered by the id column so pages do
//! not shift), columns mapped with the customer's field map.

use async_trait::async_trait;
use base64::Engine;
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
    crd::{AfasSource as AfasSpec, SecretKeyRef},
    sync::{
        policy::SpecError,
        ports::source::{Source, SourceError, SourceField, SourcePage},
    },
};

/// Reads employees from an AFAS GetConnector.
#[derive(Debug)]
pub struct AfasSource {
    api: ApiClient,
    url: String,
    columns: Columns,
    required: RequiredColumns,
    page_size: usize,
    reference_employee_id: Option<String>,
}

/// The columns used when the field map leaves a field unset.
pub fn default_columns() -> Columns {
    let some = |s: &str| Some(s.to_owned());
    Columns {
        id: "Medewerker".into(),
        employee_number: some("Personeelsnummer"),
        first_name: some("Voornaam"),
        last_name: some("Achternaam"),
        preferred_name: some("Roepnaam"),
        work_email: some("EmailWerk"),
        personal_email: some("EmailPrive"),
        employment_status: some("Status"),
        start_date: some("DatumInDienst"),
        end_date: some("DatumUitDienst"),
        manager_id: some("Leidinggevende"),
        department: some("Afdeling"),
        title: some("Functie"),
        location: some("Standplaats"),
        preferred_language: some("Taal"),
        ..Columns::default()
    }
}

/// The `Authorization` value for an app connector token (the whole `<token>` XML).
pub fn auth(token_xml: &str) -> Auth {
    Auth::Header(format!(
        "AfasToken {}",
        base64::engine::general_purpose::STANDARD.encode(token_xml.trim())
    ))
}

impl AfasSource {
    /// The source a spec names, with its secret read.
    pub async fn from_spec(
        spec: &AfasSpec,
        context: &ConnectorContext,
        delays: RetryDelays,
    ) -> Result<Self, SourceError> {
        let token = context.secrets.get(&spec.token_secret_ref).await?;
        let hint = format!(
            "the app connector token in secret {}/{} (the whole <token> XML)",
            spec.token_secret_ref.name, spec.token_secret_ref.key
        );
        let api = ApiClient::new(
            "AFAS",
            hint,
            auth(&token),
            spec.requests_per_second,
            spec.timeout_seconds,
            spec.max_tries,
            delays,
        )?
        .with_max_response_bytes(spec.max_response_bytes);
        let base = spec.base_url.clone().unwrap_or_else(|| {
            format!(
                "https://{}.rest.afas.online/profitrestservices",
                spec.environment_id
            )
        });
        let columns = Columns::from_field_map(&spec.field_map, &default_columns());
        let required = RequiredColumns::of_field_map(
            "AFAS GetConnector",
            "spec.source.afas.fieldMap",
            &spec.field_map,
            &columns,
        );
        Ok(Self::new(
            api,
            &base,
            &spec.get_connector,
            columns,
            required,
            spec.page_size as usize,
            spec.reference_employee_id.clone(),
        ))
    }

    /// A source over a ready client; a fetch fails when no row of any page has one of the
    /// `required` columns.
    pub fn new(
        api: ApiClient,
        base_url: &str,
        get_connector: &str,
        columns: Columns,
        required: RequiredColumns,
        page_size: usize,
        reference_employee_id: Option<String>,
    ) -> Self {
        Self {
            api,
            url: format!("{}/connectors/{get_connector}", trim_base(base_url)),
            columns,
            required,
            page_size: page_size.max(1),
            reference_employee_id,
        }
    }

    async fn rows(&self, query: &[(&str, &str)]) -> Result<Vec<Value>, SourceError> {
        let answer = self
            .api
            .json(Method::GET, &self.url, |request| request.query(query))
            .await?;
        answer
            .get("rows")
            .and_then(Value::as_array)
            .cloned()
            .ok_or_else(|| {
                SourceError::Unavailable("AFAS answered the GetConnector without `rows`".into())
            })
    }

    async fn page(&self, skip: usize, take: usize) -> Result<Vec<Value>, SourceError> {
        let (skip, take) = (skip.to_string(), take.to_string());
        self.rows(&[
            ("skip", skip.as_str()),
            ("take", take.as_str()),
            ("orderbyfieldids", self.columns.id.as_str()),
        ])
        .await
    }
}

/// What the operator knows of a `afas` source.
#[async_trait]
impl SourceConnector for AfasSpec {
    fn secret_refs(&self) -> Vec<&SecretKeyRef> {
        vec![&self.token_secret_ref]
    }

    fn validate(&self) -> Vec<SpecError> {
        let mut problems = RequestSettings {
            source: "afas",
            base_url: self.base_url.as_deref(),
            allow_insecure_http: self.allow_insecure_http,
            requests_per_second: self.requests_per_second,
            timeout_seconds: self.timeout_seconds,
            max_tries: self.max_tries,
        }
        .problems();
        if self.page_size == 0 || self.page_size > 10_000 {
            problems.push(SpecError {
                field: "spec.source.afas.pageSize".into(),
                message: format!("{} is out of range; use 1 to 10000", self.page_size),
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
            AfasSource::from_spec(self, context, delays).await?,
        ))
    }
}

#[async_trait]
impl Source for AfasSource {
    async fn check(&self) -> Result<(), SourceError> {
        self.page(0, 1).await.map(|_| ())
    }

    fn pages(&self) -> BoxStream<'_, Result<SourcePage, SourceError>> {
        // The column check spans every page: a column is missing only when no row of the
        // whole GetConnector has it, which is known after the last page, before it is handed on.
        let start = (Some(0usize), self.required.tracker());
        stream::try_unfold(start, move |(skip, mut tracker)| async move {
            let Some(skip) = skip else { return Ok(None) };
            let rows = self.page(skip, self.page_size).await?;
            tracker.observe(&rows);
            let more = rows.len() == self.page_size;
            if !more {
                tracker.finish()?;
            }
            let page = rows::read_page(&rows, &self.columns);
            Ok(Some((page, (more.then_some(skip + rows.len()), tracker))))
        })
        .boxed()
    }

    async fn fields(&self) -> Result<Vec<SourceField>, SourceError> {
        let rows = match &self.reference_employee_id {
            Some(id) => {
                let found = self
                    .rows(&[
                        ("filterfieldids", self.columns.id.as_str()),
                        ("filtervalues", id.as_str()),
                        ("operatortypes", "1"),
                        ("skip", "0"),
                        ("take", "1"),
                    ])
                    .await?;
                if found.is_empty() {
                    let finding = format!(
                        "the GetConnector has no row whose {} is that id",
                        self.columns.id
                    );
                    return Err(super::unknown_reference_employee("afas", id, &finding));
                }
                found
            }
            None => self.page(0, 1).await?,
        };
        Ok(rows::fields_of(
            rows.first().and_then(Value::as_object),
            &self.columns,
            &[],
        ))
    }
}
