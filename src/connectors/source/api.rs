//! What the HTTP sources share: a JSON call whose failures become [`SourceError`]s that name
//! the API, the path and the fix (never a value, a header or a body), and the client set-up.

use std::time::Duration;

use reqwest::{Method, RequestBuilder};
use serde_json::Value;

use super::RetryDelays;
use crate::{
    connectors::http::{
        Auth, HttpClient, HttpError, HttpErrorKind, RetryPolicy, ThrottledAnswer, without_addresses,
    },
    sync::ports::source::SourceError,
};

/// Says what a refusal (401 or 403) means from the API's error document, when it means more
/// than wrong credentials (such as a permission the app lacks): given the status, the path
/// (without host, query or addresses) and the answer's JSON.
pub type RefusalExplanation = fn(u16, &str, &Value) -> Option<String>;

/// One HR API: a paced, retrying client and the vendor's name for messages.
#[derive(Debug)]
pub struct ApiClient {
    http: HttpClient,
    vendor: &'static str,
    /// What to check when the credentials are refused, such as "the secret merge/apiKey".
    credentials_hint: String,
    explain_refusal: Option<RefusalExplanation>,
}

impl ApiClient {
    /// A client with the spec's request settings.
    pub fn new(
        vendor: &'static str,
        credentials_hint: String,
        auth: Auth,
        requests_per_second: f64,
        timeout_seconds: u32,
        max_tries: u32,
        delays: RetryDelays,
    ) -> Result<Self, SourceError> {
        let http = HttpClient::new(
            auth,
            Some(requests_per_second),
            Duration::from_secs(u64::from(timeout_seconds.max(1))),
            RetryPolicy {
                max_tries: max_tries.max(1),
                base_delay: delays.base,
                max_delay: delays.max,
            },
        )
        .map_err(SourceError::Unavailable)?;
        Ok(Self {
            http,
            vendor,
            credentials_hint,
            explain_refusal: None,
        })
    }

    /// The client with another limit on the size of an answer.
    pub fn with_max_response_bytes(mut self, limit: u64) -> Self {
        self.http = self.http.with_max_response_bytes(limit);
        self
    }

    /// A client over a ready HTTP client (tests, benchmarks).
    pub fn with_http(vendor: &'static str, credentials_hint: String, http: HttpClient) -> Self {
        Self {
            http,
            vendor,
            credentials_hint,
            explain_refusal: None,
        }
    }

    /// The client retrying the answers `throttled` recognises as throttling, as it retries 429.
    pub fn with_throttled_answers(mut self, throttled: ThrottledAnswer) -> Self {
        self.http = self.http.with_throttled_answers(throttled);
        self
    }

    /// The client with an API's own reading of its refusals.
    pub fn with_refusal_explanation(mut self, explain: RefusalExplanation) -> Self {
        self.explain_refusal = Some(explain);
        self
    }

    /// Sends a request and reads a JSON answer. 401 and 403 are `CredentialsInvalid` at once
    /// (no retries); other failures, after the retry policy's tries, are `Unavailable`.
    pub async fn json(
        &self,
        method: Method,
        url: &str,
        build: impl Fn(RequestBuilder) -> RequestBuilder,
    ) -> Result<Value, SourceError> {
        self.answer(method, url, build, false)
            .await
            .map(|answer| answer.expect("only a 404 is no answer, and it is an error here"))
    }

    /// [`ApiClient::json`] of a single record, where a 404 means there is no such record:
    /// `None` then, for the caller to say what was not found.
    pub async fn json_if_found(
        &self,
        method: Method,
        url: &str,
        build: impl Fn(RequestBuilder) -> RequestBuilder,
    ) -> Result<Option<Value>, SourceError> {
        self.answer(method, url, build, true).await
    }

    async fn answer(
        &self,
        method: Method,
        url: &str,
        build: impl Fn(RequestBuilder) -> RequestBuilder,
        missing_is_none: bool,
    ) -> Result<Option<Value>, SourceError> {
        let path = url_path(url);
        let response = match self.http.send(method.clone(), url, build).await {
            Ok(response) => response,
            // The token endpoint refused the credentials.
            Err(HttpError {
                status: Some(status),
                kind: HttpErrorKind::TokenRefused,
                ..
            }) => {
                return Err(SourceError::CredentialsInvalid(format!(
                    "{}'s token endpoint answered {status} to the token request for {method} \
                     {path}; check {}",
                    self.vendor, self.credentials_hint
                )));
            }
            // A refusal is a refusal; a 403 that was throttling, still throttled after the
            // tries, is a source that could not be read.
            Err(HttpError {
                status: Some(status @ (401 | 403)),
                kind,
                ..
            }) if kind != HttpErrorKind::Status => return Err(self.refused(status, &path)),
            // These messages name the request themselves.
            Err(
                error @ HttpError {
                    kind: HttpErrorKind::Redirect | HttpErrorKind::TooLarge | HttpErrorKind::CutOff,
                    ..
                },
            ) => {
                return Err(SourceError::Unavailable(format!(
                    "{}: {}",
                    self.vendor, error.message
                )));
            }
            Err(error) => {
                let detail = error_detail(&Default::default(), error.body);
                return Err(SourceError::Unavailable(format!(
                    "{} {method} {path}: {}{detail}",
                    self.vendor, error.message
                )));
            }
        };
        let status = response.status().as_u16();
        if status == 401 || status == 403 {
            let explained = self
                .explain_refusal
                .zip(response.json::<Value>().ok())
                .and_then(|(explain, body)| explain(status, &path, &body));
            return Err(match explained {
                Some(explanation) => SourceError::CredentialsInvalid(format!(
                    "{} answered {status} to {path}: {explanation}",
                    self.vendor
                )),
                None => self.refused(status, &path),
            });
        }
        if status == 404 && missing_is_none {
            return Ok(None);
        }
        if !response.status().is_success() {
            let detail = error_detail(response.headers(), Some(response.text()));
            return Err(SourceError::Unavailable(format!(
                "{} answered {status} to {method} {path}{detail}",
                self.vendor
            )));
        }
        response.json().map(Some).map_err(|e| {
            SourceError::Unavailable(format!(
                "{} answered {method} {path} with malformed JSON (line {}, column {})",
                self.vendor,
                e.line(),
                e.column()
            ))
        })
    }

    fn refused(&self, status: u16, path: &str) -> SourceError {
        SourceError::CredentialsInvalid(format!(
            "{} answered {status} to {path}; check {}",
            self.vendor, self.credentials_hint
        ))
    }
}

/// Error codes an API gives in its error answer, without free text (which may quote data).
fn error_detail(headers: &reqwest::header::HeaderMap, body: Option<String>) -> String {
    let mut parts = Vec::new();
    if headers.contains_key("x-bamboohr-error-message") {
        parts.push("see the X-BambooHR-Error-Message header".to_owned());
    }
    if let Some(document) = body.and_then(|b| serde_json::from_str::<Value>(&b).ok()) {
        for key in [
            "errorNumber",
            "profitLogReference",
            "type",
            "title",
            "code",
            "error_code",
        ] {
            if let Some(value) = document.get(key).filter(|v| v.is_string() || v.is_number()) {
                parts.push(format!("{key} {value}"));
            }
        }
        if let Some(code) = document.pointer("/error/code").filter(|v| !v.is_null()) {
            parts.push(format!("error code {code}"));
        }
        // Google's reason, a word such as `invalid` or `notFound`.
        if let Some(reason) = document
            .pointer("/error/errors/0/reason")
            .and_then(Value::as_str)
        {
            parts.push(format!("reason {reason}"));
        }
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join(", "))
    }
}

/// The path of a URL, without host and query (those can carry ids or tokens), and without
/// the addresses a segment may hold (a user read by its userPrincipalName).
pub fn url_path(url: &str) -> String {
    reqwest::Url::parse(url)
        .map(|u| without_addresses(u.path()))
        .unwrap_or_else(|_| "<url>".to_owned())
}

/// A base URL without its trailing slash.
pub fn trim_base(url: &str) -> String {
    url.trim_end_matches('/').to_owned()
}
