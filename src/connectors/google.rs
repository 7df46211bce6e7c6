//! What the Google Workspace target and the Google Workspace source share: the service account
//! they act as ([`GoogleServiceAccount`]), its access tokens from signed JWT assertions
//! ([`ServiceAccountTokens`], asked for the scopes each connector needs), the Directory API's
//! error document (`{error:{code, message, errors:[{reason}]}}`) with the reasons that mean
//! throttling, and the checks of the shared settings.
//!
//! Authentication: the service account's key signs a JWT (RS256) asserting the administrator it
//! acts for (`sub`, domain-wide delegation) and the scopes; the token endpoint trades it for an
//! access token, cached until a minute before it expires. The endpoint refuses the whole
//! request (401 `unauthorized_client`) when the domain-wide delegation of the key's client id
//! lacks any of the scopes asked for.

use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use reqwest::Method;
use serde_json::{Value, json};

use super::{
    checks::check_url,
    http::{self, TokenError, TokenSource},
};
use crate::{crd::GoogleServiceAccount, sync::policy::SpecError};

const DEFAULT_TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
/// The audience of every assertion: Google's token endpoint requires exactly this value, also
/// when the assertion is sent elsewhere (a `tokenUrl` or the key file's `token_uri` changes where
/// the request goes, not what the assertion claims). Google's own auth library does the same.
const AUDIENCE: &str = "https://oauth2.googleapis.com/token";
const JWT_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// The error reasons of a throttled Directory API request (with 403 or 429).
pub const RATE_REASONS: [&str; 3] = [
    "userRateLimitExceeded",
    "quotaExceeded",
    "rateLimitExceeded",
];

/// Access tokens for a service account, from signed JWT assertions.
pub struct ServiceAccountTokens {
    client: reqwest::Client,
    max_response_bytes: u64,
    token_url: String,
    client_email: String,
    subject: String,
    scope: String,
    key: ring::signature::RsaKeyPair,
    cached: tokio::sync::Mutex<Option<(String, std::time::Instant)>>,
}

impl std::fmt::Debug for ServiceAccountTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccountTokens")
            .field("token_url", &self.token_url)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl ServiceAccountTokens {
    /// Reads a service-account JSON key file; the tokens are for `subject` and `scopes`.
    /// `token_url` overrides the key's `token_uri`. Errors name what is missing, never the
    /// key's content.
    pub fn from_key_file(
        key_file: &str,
        subject: &str,
        scopes: &[&str],
        token_url: Option<&str>,
        timeout: Duration,
    ) -> Result<Self, String> {
        let key: Value = serde_json::from_str(key_file)
            .map_err(|_| "the service account key is not a JSON key file".to_owned())?;
        let client_email = key["client_email"]
            .as_str()
            .ok_or("the service account key has no client_email")?
            .to_owned();
        let pem = key["private_key"]
            .as_str()
            .ok_or("the service account key has no private_key")?;
        let der = pem_body(pem)
            .ok_or("the service account key's private_key is not a PEM private key")?;
        let key_pair = ring::signature::RsaKeyPair::from_pkcs8(&der)
            .map_err(|_| "the service account key's private_key is not a PKCS#8 RSA key")?;
        let token_url = token_url
            .map(str::to_owned)
            .or_else(|| key["token_uri"].as_str().map(str::to_owned))
            .unwrap_or_else(|| DEFAULT_TOKEN_URL.to_owned());
        let client = http::client_builder(timeout)
            .build()
            .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
        Ok(Self {
            client,
            max_response_bytes: http::DEFAULT_MAX_RESPONSE_BYTES,
            token_url,
            client_email,
            subject: subject.to_owned(),
            scope: scopes.join(" "),
            key: key_pair,
            cached: Default::default(),
        })
    }

    /// The token source with another limit on the size of the token endpoint's answer.
    pub fn with_max_response_bytes(mut self, limit: u64) -> Self {
        self.max_response_bytes = limit.max(1);
        self
    }

    /// A signed JWT assertion for the token endpoint.
    pub fn assertion(&self, now: u64) -> Result<String, String> {
        let encode = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let header = encode(br#"{"alg":"RS256","typ":"JWT"}"#);
        let claims = encode(
            json!({
                "iss": self.client_email,
                "sub": self.subject,
                "scope": self.scope,
                "aud": AUDIENCE,
                "iat": now,
                "exp": now + 3600,
            })
            .to_string()
            .as_bytes(),
        );
        let message = format!("{header}.{claims}");
        let mut signature = vec![0u8; self.key.public().modulus_len()];
        self.key
            .sign(
                &ring::signature::RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                message.as_bytes(),
                &mut signature,
            )
            .map_err(|_| "cannot sign the token request".to_owned())?;
        Ok(format!("{message}.{}", encode(&signature)))
    }
}

/// The DER bytes of a PEM block (whatever its label).
pub fn pem_body(pem: &str) -> Option<Vec<u8>> {
    let body: String = pem
        .lines()
        .map(str::trim)
        .filter(|line| !line.starts_with("-----") && !line.is_empty())
        .collect();
    base64::engine::general_purpose::STANDARD.decode(body).ok()
}

#[async_trait]
impl TokenSource for ServiceAccountTokens {
    async fn token(&self) -> Result<String, TokenError> {
        let mut cached = self.cached.lock().await;
        if let Some((token, valid_until)) = cached.as_ref()
            && std::time::Instant::now() < *valid_until
        {
            return Ok(token.clone());
        }
        let now = jiff::Timestamp::now().as_second().max(0) as u64;
        let assertion = self.assertion(now).map_err(TokenError::without_status)?;
        let response = self
            .client
            .post(&self.token_url)
            .form(&[("grant_type", JWT_GRANT), ("assertion", assertion.as_str())])
            .send()
            .await
            .map_err(|_| TokenError::without_status("the token request failed"))?;
        let status = response.status();
        if status.is_redirection() {
            let message =
                http::redirect_message(&Method::POST, &self.token_url, status, response.headers());
            return Err(TokenError {
                status: Some(status.as_u16()),
                message: format!("the token request failed: {message}"),
            });
        }
        if !status.is_success() {
            return Err(TokenError {
                status: Some(status.as_u16()),
                message: format!(
                    "the token endpoint answered {} (check the key, the admin email and the \
                     domain-wide delegation)",
                    status.as_u16()
                ),
            });
        }
        let body = http::read_body(response, self.max_response_bytes)
            .await
            .map_err(|error| {
                TokenError::without_status(format!("the token endpoint's answer: {error}"))
            })?;
        let body: Value = serde_json::from_slice(&body)
            .map_err(|_| TokenError::without_status("the token endpoint answered no JSON"))?;
        let token = body["access_token"]
            .as_str()
            .ok_or_else(|| {
                TokenError::without_status("the token endpoint answered no access_token")
            })?
            .to_owned();
        let lifetime = body["expires_in"].as_u64().unwrap_or(3600);
        let margin = (lifetime / 2).min(60);
        *cached = Some((
            token.clone(),
            std::time::Instant::now() + Duration::from_secs(lifetime - margin),
        ));
        Ok(token)
    }

    async fn forget(&self) -> bool {
        self.cached.lock().await.take().is_some()
    }
}

/// The token source of `account` for `scopes`, from its JSON key file.
pub fn tokens(
    account: &GoogleServiceAccount,
    key_file: &str,
    scopes: &[&str],
    timeout: Duration,
    max_response_bytes: u64,
) -> Result<ServiceAccountTokens, String> {
    Ok(ServiceAccountTokens::from_key_file(
        key_file,
        &account.admin_email,
        scopes,
        account.token_url.as_deref(),
        timeout,
    )?
    .with_max_response_bytes(max_response_bytes))
}

/// The Directory API's base URL, without a trailing slash.
pub fn api_base(account: &GoogleServiceAccount) -> String {
    account.api_url.trim_end_matches('/').to_owned()
}

/// The first reason of a Directory API error document (`error.errors[0].reason`).
pub fn reason(body: &Value) -> Option<&str> {
    body["error"]["errors"][0]["reason"].as_str()
}

/// Whether an error document says the request was throttled.
pub fn rate_limited(body: &Value) -> bool {
    body["error"]["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|e| {
            e["reason"]
                .as_str()
                .is_some_and(|r| RATE_REASONS.contains(&r))
        })
}

/// Whether an answer is the Directory API's throttling with a 403 (the HTTP client retries 429
/// by itself): for [`http::HttpClient::with_throttled_answers`].
pub fn throttled_answer(status: u16, body: &[u8]) -> bool {
    status == 403
        && serde_json::from_slice::<Value>(body)
            .ok()
            .is_some_and(|document| rate_limited(&document))
}

/// Problems of the shared settings (`apiUrl`, `tokenUrl`, `adminEmail`), each named under
/// `spec_path` (`spec.target.googleWorkspace`).
pub fn problems(
    account: &GoogleServiceAccount,
    allow_insecure_http: bool,
    spec_path: &str,
) -> Vec<SpecError> {
    let mut problems = Vec::new();
    for (name, url) in [
        ("apiUrl", Some(&account.api_url)),
        ("tokenUrl", account.token_url.as_ref()),
    ] {
        if let Some(url) = url
            && let Err(message) = check_url(url, allow_insecure_http)
        {
            problems.push(SpecError {
                field: format!("{spec_path}.{name}"),
                message,
            });
        }
    }
    if !account.admin_email.contains('@') {
        problems.push(SpecError {
            field: format!("{spec_path}.adminEmail"),
            message: "must be the email address of a Workspace administrator".into(),
        });
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_errors_never_show_the_key() {
        let error = ServiceAccountTokens::from_key_file(
            r#"{"client_email": "sa@p.iam.gserviceaccount.com", "private_key": "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWJ5dGVz\n-----END PRIVATE KEY-----\n"}"#,
            "admin@x.example",
            &["https://www.googleapis.com/auth/admin.directory.user"],
            None,
            Duration::from_secs(5),
        )
        .unwrap_err();
        assert_eq!(
            error,
            "the service account key's private_key is not a PKCS#8 RSA key"
        );
        assert!(!error.contains("c2VjcmV0"));
    }

    #[test]
    fn throttling_is_told_by_its_reasons() {
        let limited = json!({"error": {"code": 403, "message": "Quota exceeded",
            "errors": [{"reason": "userRateLimitExceeded"}]}});
        assert!(rate_limited(&limited));
        assert!(throttled_answer(403, limited.to_string().as_bytes()));
        assert!(!throttled_answer(400, limited.to_string().as_bytes()));
        let denied = json!({"error": {"code": 403,
            "message": "Not Authorized to access this resource/api",
            "errors": [{"reason": "forbidden"}]}});
        assert!(!rate_limited(&denied));
        assert!(!throttled_answer(403, denied.to_string().as_bytes()));
        assert!(!throttled_answer(403, b"not json"));
        assert_eq!(reason(&denied), Some("forbidden"));
    }

    #[test]
    fn shared_settings_are_checked_naming_their_field() {
        let account: GoogleServiceAccount = serde_json::from_value(json!({
            "serviceAccountKeySecretRef": {"name": "g", "key": "k"},
            "adminEmail": "admin", "apiUrl": "ftp://x", "tokenUrl": "http://google.example/t",
        }))
        .unwrap();
        let fields: Vec<String> = problems(&account, false, "spec.source.googleWorkspace")
            .into_iter()
            .map(|p| p.field)
            .collect();
        assert_eq!(
            fields,
            [
                "spec.source.googleWorkspace.apiUrl",
                "spec.source.googleWorkspace.tokenUrl",
                "spec.source.googleWorkspace.adminEmail"
            ]
        );
        assert_eq!(account.customer, "my_customer");
    }
}
