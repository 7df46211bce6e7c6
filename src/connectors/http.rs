//! The HTTP machinery every API client shares: pacing to a request rate, `Retry-After`,
//! bounded exponential back-off with jitter, timeouts, and authentication with cached tokens.
//!
//! Servers are not trusted to be well behaved: redirects are never followed (a 3xx is an
//! error naming where it pointed), and every answer is read in chunks up to a size limit, so a
//! server streaming without end fails the request instead of filling the memory.
//!
//! Logs carry the method, the path and the status only: never a header, a body or a query
//! (those can hold secrets or personal data).

use std::time::Duration;

use tokio::time::Instant;

use reqwest::{Method, RequestBuilder, Response, StatusCode, header::HeaderMap};

/// The default largest answer read: the spec's default `maxResponseBytes`.
pub use crate::crd::DEFAULT_MAX_RESPONSE_BYTES;

/// Paces requests to a rate: each request takes the next slot, `1 / rate` apart, in arrival
/// order. A request whose slot is due goes at once, without a timer: the limiter adds no cost
/// to a client slower than the rate.
///
/// Requests that must wait stand in a first-come-first-served line, and only the head of the
/// line waits on the clock. Slots are handed out when they come due, not reserved in advance:
/// with reservations, one late timer wake-up on a busy machine lets every waiter whose slot has
/// passed go at once, a burst a strict server refuses. Here a late wake-up may catch up by at
/// most one slot. The schedule itself sits behind a plain mutex that is never held across an
/// await, so a `Retry-After` pushes every later slot back at once, the head's included.
#[derive(Debug)]
pub struct RateLimiter {
    interval: Duration,
    /// When the next slot comes due.
    next: std::sync::Mutex<Instant>,
    /// The line of requests waiting for a slot (one permit: the head's).
    line: tokio::sync::Semaphore,
}

impl RateLimiter {
    /// A limiter of `per_second` requests a second; `None` or a non-positive rate: unlimited.
    pub fn new(per_second: Option<f64>) -> Self {
        let interval = match per_second {
            Some(rate) if rate > 0.0 && rate.is_finite() => Duration::from_secs_f64(1.0 / rate),
            _ => Duration::ZERO,
        };
        Self {
            interval,
            next: std::sync::Mutex::new(Instant::now()),
            line: tokio::sync::Semaphore::new(1),
        }
    }

    /// Waits for the next slot. Completes without waiting (and without a timer) when nobody is
    /// in line and the slot is due. Dropping the future leaves the line without taking a slot.
    pub async fn acquire(&self) {
        if self.interval.is_zero() {
            return;
        }
        // The semaphore hands a released permit to the first waiter, so this never jumps the
        // line.
        let _head = match self.line.try_acquire() {
            Ok(head) => head,
            Err(_) => self
                .line
                .acquire()
                .await
                .expect("the line's semaphore is never closed"),
        };
        let mut waited = false;
        while let Err(due) = self.take_slot(Instant::now(), waited) {
            tokio::time::sleep_until(due).await;
            waited = true;
        }
    }

    /// Takes the slot if it is due at `now`; otherwise says when it will be. A request that
    /// came after its slot takes `now` (the one after follows a whole interval later); one that
    /// waited for its slot and woke late keeps the slot's place, so the next may catch up, by
    /// one slot at most.
    fn take_slot(&self, now: Instant, waited: bool) -> Result<(), Instant> {
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        if *next > now {
            return Err(*next);
        }
        let slot = if waited { *next } else { now };
        let earliest = now.checked_sub(self.interval).unwrap_or(now);
        *next = slot.max(earliest) + self.interval;
        Ok(())
    }

    /// Holds every request back until `until` (a server asked us to wait).
    pub fn pause_until(&self, until: Instant) {
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        *next = (*next).max(until);
    }
}

/// How failed requests are retried.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Tries in all, the first included (at least 1).
    pub max_tries: u32,
    /// First back-off; doubles each try.
    pub base_delay: Duration,
    /// Longest back-off, and longest `Retry-After` honoured.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_tries: 5,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The back-off before try `attempt + 1` (attempt counts from 1): exponential with full
    /// jitter, so clients that failed together do not retry together.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exponential = self
            .base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let ceiling = exponential.min(self.max_delay);
        ceiling.mul_f64(0.5 + fastrand::f64() * 0.5)
    }
}

/// How requests are authenticated.
#[derive(Debug)]
pub enum Auth {
    /// `Authorization: Bearer <token>`.
    Bearer(String),
    /// HTTP Basic.
    Basic {
        /// User name.
        username: String,
        /// Password.
        password: String,
    },
    /// OAuth2 client credentials; the token is cached until shortly before it expires.
    ClientCredentials {
        /// Token endpoint.
        token_url: String,
        /// Client id.
        client_id: String,
        /// Client secret.
        client_secret: String,
        /// Requested scope, if any.
        scope: Option<String>,
        /// The cached token and when to stop using it.
        cached: tokio::sync::Mutex<Option<(String, std::time::Instant)>>,
    },
    /// A whole `Authorization` header value (for schemes such as AFAS's `AfasToken`).
    Header(String),
    /// A token from a JSON POST (such as Personio v1's `POST /v1/auth`), sent as Bearer and
    /// cached for `lifetime`; a 401 drops it and fetches a new one once.
    TokenExchange {
        /// Token endpoint.
        token_url: String,
        /// JSON body of the token request (holds the credentials).
        body: serde_json::Value,
        /// JSON pointer to the token in the answer, such as `/data/token`.
        token_pointer: String,
        /// How long a token is used.
        lifetime: Duration,
        /// The cached token and when to stop using it.
        cached: tokio::sync::Mutex<Option<(String, std::time::Instant)>>,
    },
    /// A bearer token from a connector's own token source (such as a signed-JWT grant).
    Token(std::sync::Arc<dyn TokenSource>),
}

/// Hands out bearer tokens, cached by the source; `forget` drops the cached one after a 401.
#[async_trait::async_trait]
pub trait TokenSource: Send + Sync + std::fmt::Debug {
    /// A valid access token (the bare token, without `Bearer`). Errors never carry secrets.
    async fn token(&self) -> Result<String, TokenError>;
    /// Drops the cached token; true when there was one.
    async fn forget(&self) -> bool;
}

/// Why a [`TokenSource`] has no token: the token endpoint's status when it answered one (a
/// refusal, 400, 401 or 403, is [`HttpErrorKind::TokenRefused`]; 429 and 5xx are retried like
/// any request), and what happened, without the answer (which would hold a token).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenError {
    /// The token endpoint's status, when it answered.
    pub status: Option<u16>,
    /// What happened, for messages.
    pub message: String,
}

impl TokenError {
    /// A failure without an answer from the token endpoint (an unreadable key, no connection).
    pub fn without_status(message: impl Into<String>) -> Self {
        Self {
            status: None,
            message: message.into(),
        }
    }
}

/// Tells a throttled answer an API gives with a status the client does not retry by itself
/// (the Directory API's 403 `rateLimitExceeded`), from the status and the body.
pub type ThrottledAnswer = fn(u16, &[u8]) -> bool;

/// What made a request fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HttpErrorKind {
    /// The server answered a status still failing after the tries (or the token endpoint did).
    Status,
    /// No answer: the connection failed or timed out.
    Transport,
    /// The server answered a redirect, which is not followed.
    Redirect,
    /// The answer was larger than the size limit.
    TooLarge,
    /// The answer was cut off.
    CutOff,
    /// The token endpoint refused the credentials: it answered the token request 400 (an
    /// unknown tenant or client), 401 or 403.
    TokenRefused,
}

/// A request that failed for good.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpError {
    /// What made it fail. Redirect, TooLarge and CutOff messages name the request (method and
    /// URL without its query); the others do not.
    pub kind: HttpErrorKind,
    /// The last status, when the server answered.
    pub status: Option<u16>,
    /// The last response body (an API error document), when there was one.
    pub body: Option<String>,
    /// What happened, for messages.
    pub message: String,
    /// Tries made.
    pub tries: u32,
}

/// An answer read whole, its body within the client's size limit.
#[derive(Clone, Debug)]
pub struct HttpResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl HttpResponse {
    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The body as it came.
    pub fn bytes(&self) -> &[u8] {
        &self.body
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }
}

/// Why an answer's body could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// The body is larger than the limit (by its `Content-Length`, or once that much arrived).
    #[error(
        "the answer is larger than {limit} bytes, the most this connector reads \
         (maxResponseBytes); nothing of it was used"
    )]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The connection broke or timed out before the body was complete.
    #[error("the answer was cut off before its end")]
    CutOff,
}

/// Reads a body chunk by chunk, failing as soon as it passes `limit` bytes: an oversized or
/// endless answer never sits in memory whole.
pub async fn read_body(mut response: Response, limit: u64) -> Result<Vec<u8>, BodyError> {
    if response
        .content_length()
        .is_some_and(|length| length > limit)
    {
        return Err(BodyError::TooLarge { limit });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|_| BodyError::CutOff)? {
        if (body.len() + chunk.len()) as u64 > limit {
            return Err(BodyError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A client builder with what every connector needs: the timeouts, our user agent, and no
/// redirects. A redirect is refused rather than followed because following it would send the
/// request (its body, and with a same-host redirect its credentials) somewhere the spec never
/// named; a provider that moved is fixed by changing the URL in the spec.
pub fn client_builder(timeout: Duration) -> reqwest::ClientBuilder {
    install_crypto_provider();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .user_agent(concat!("hris-operator/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
}

/// The message of a 3xx answer: the request (without its query, which can hold filters or
/// tokens), the status, and the host it pointed to (not the whole target, which can hold a
/// token too).
pub fn redirect_message(
    method: &Method,
    url: &str,
    status: StatusCode,
    headers: &HeaderMap,
) -> String {
    let request = without_query(url);
    let code = status.as_u16();
    let location = headers
        .get(reqwest::header::LOCATION)
        .and_then(|value| value.to_str().ok())
        .map(|location| {
            // A relative Location stays on the same host.
            reqwest::Url::parse(url)
                .and_then(|base| base.join(location))
                .ok()
                .and_then(|target| target.host_str().map(str::to_owned))
                .unwrap_or_else(|| "an unreadable location".to_owned())
        });
    match location {
        Some(host) => format!(
            "{method} {request}: the server redirected ({code}) to host {host}; redirects are \
             not followed, set the URL the server expects in the spec"
        ),
        None => format!(
            "{method} {request}: the server answered {code}, a redirect without a location; \
             redirects are not followed"
        ),
    }
}

/// An HTTP client with pacing, retries and authentication.
#[derive(Debug)]
pub struct HttpClient {
    client: reqwest::Client,
    limiter: RateLimiter,
    retry: RetryPolicy,
    auth: Auth,
    max_response_bytes: u64,
    throttled_answer: Option<ThrottledAnswer>,
}

/// Installs the TLS crypto provider once per process (reqwest is built without a default one).
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl HttpClient {
    /// A client with a per-request timeout.
    pub fn new(
        auth: Auth,
        requests_per_second: Option<f64>,
        timeout: Duration,
        retry: RetryPolicy,
    ) -> Result<Self, String> {
        let client = client_builder(timeout)
            .build()
            .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
        Ok(Self {
            client,
            limiter: RateLimiter::new(requests_per_second),
            retry,
            auth,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            throttled_answer: None,
        })
    }

    /// The client retrying, like a 429, the answers `throttled` recognises as throttling.
    pub fn with_throttled_answers(mut self, throttled: ThrottledAnswer) -> Self {
        self.throttled_answer = Some(throttled);
        self
    }

    /// The client with another limit on the size of an answer (at least 1 byte).
    pub fn with_max_response_bytes(mut self, limit: u64) -> Self {
        self.max_response_bytes = limit.max(1);
        self
    }

    /// Sends a request built by `build` (called again for every try), paced and retried:
    /// 429 and 503 (and what [`HttpClient::with_throttled_answers`] recognises) wait for
    /// `Retry-After` (or back off), other 5xx, timeouts and connection errors back off with
    /// jitter, up to the retry policy's tries. Other statuses return as they are, their body
    /// read within the size limit. A 401 with client credentials
    /// refreshes the token once. A 3xx is an error (redirects are not followed), and so is a
    /// body over the limit or cut off (neither is retried: a resent request would meet the
    /// same server, and a write may have been applied).
    pub async fn send(
        &self,
        method: Method,
        url: &str,
        build: impl Fn(RequestBuilder) -> RequestBuilder,
    ) -> Result<HttpResponse, HttpError> {
        let path = url_path(url);
        let mut refreshed = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.limiter.acquire().await;
            let authorization = match self.authorization().await {
                Ok(authorization) => authorization,
                // A throttled or failing token endpoint is retried like any request.
                Err((Some(status), _))
                    if attempt < self.retry.max_tries
                        && StatusCode::from_u16(status).is_ok_and(retryable) =>
                {
                    tokio::time::sleep(self.retry.backoff(attempt)).await;
                    continue;
                }
                Err((status, message)) => {
                    return Err(HttpError {
                        kind: match status {
                            Some(300..=399) => HttpErrorKind::Redirect,
                            Some(400 | 401 | 403) => HttpErrorKind::TokenRefused,
                            _ => HttpErrorKind::Status,
                        },
                        status,
                        body: None,
                        message,
                        tries: attempt,
                    });
                }
            };
            let request = build(self.client.request(method.clone(), url))
                .header(reqwest::header::AUTHORIZATION, authorization);
            let outcome = request.send().await;
            let wait = match outcome {
                Ok(response) => {
                    let status = response.status();
                    tracing::debug!(%method, path = %path, status = status.as_u16(), attempt, "http");
                    if status.is_redirection() {
                        return Err(HttpError {
                            kind: HttpErrorKind::Redirect,
                            status: Some(status.as_u16()),
                            body: None,
                            message: redirect_message(&method, url, status, response.headers()),
                            tries: attempt,
                        });
                    }
                    if status == StatusCode::UNAUTHORIZED && !refreshed && self.forget_token().await
                    {
                        refreshed = true;
                        attempt -= 1;
                        continue;
                    }
                    if !retryable(status) {
                        let headers = response.headers().clone();
                        let body = read_body(response, self.max_response_bytes).await.map_err(
                            |error| HttpError {
                                kind: match error {
                                    BodyError::TooLarge { .. } => HttpErrorKind::TooLarge,
                                    BodyError::CutOff => HttpErrorKind::CutOff,
                                },
                                status: Some(status.as_u16()),
                                body: None,
                                message: format!("{method} {}: {error}", without_query(url)),
                                tries: attempt,
                            },
                        )?;
                        if !self
                            .throttled_answer
                            .is_some_and(|throttled| throttled(status.as_u16(), &body))
                        {
                            return Ok(HttpResponse {
                                status,
                                headers,
                                body,
                            });
                        }
                        let code = status.as_u16();
                        if attempt >= self.retry.max_tries {
                            return Err(HttpError {
                                kind: HttpErrorKind::Status,
                                status: Some(code),
                                body: Some(String::from_utf8_lossy(&body).into_owned()),
                                message: format!("status {code} (throttled) after {attempt} tries"),
                                tries: attempt,
                            });
                        }
                        tracing::debug!(%method, path = %path, status = code, attempt, "throttled");
                        self.throttle_wait(&headers, attempt)
                    } else {
                        let headers = response.headers().clone();
                        if attempt >= self.retry.max_tries {
                            let code = status.as_u16();
                            let body = read_body(response, self.max_response_bytes).await.ok();
                            return Err(HttpError {
                                kind: HttpErrorKind::Status,
                                status: Some(code),
                                body: body.map(|b| String::from_utf8_lossy(&b).into_owned()),
                                message: format!("status {code} after {attempt} tries"),
                                tries: attempt,
                            });
                        }
                        self.throttle_wait(&headers, attempt)
                    }
                }
                Err(error) => {
                    let kind = if error.is_timeout() {
                        "timed out"
                    } else if error.is_connect() {
                        "could not connect"
                    } else {
                        "failed"
                    };
                    tracing::debug!(%method, path = %path, attempt, kind, "http");
                    if attempt >= self.retry.max_tries {
                        return Err(HttpError {
                            kind: HttpErrorKind::Transport,
                            status: None,
                            body: None,
                            message: format!("request {kind} after {attempt} tries"),
                            tries: attempt,
                        });
                    }
                    self.retry.backoff(attempt)
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// How long to wait after a throttled answer: its `Retry-After` (which holds back every
    /// request of this client), else the back-off of `attempt`.
    fn throttle_wait(&self, headers: &HeaderMap, attempt: u32) -> Duration {
        match retry_after(headers) {
            Some(delay) => {
                let delay = delay.min(self.retry.max_delay);
                self.limiter.pause_until(Instant::now() + delay);
                delay
            }
            None => self.retry.backoff(attempt),
        }
    }

    /// The `Authorization` value; on failure the token endpoint's status (if it answered).
    async fn authorization(&self) -> Result<String, (Option<u16>, String)> {
        match &self.auth {
            Auth::Header(value) => Ok(value.clone()),
            Auth::TokenExchange {
                token_url,
                body,
                token_pointer,
                lifetime,
                cached,
            } => {
                let mut cached = cached.lock().await;
                if let Some((token, valid_until)) = cached.as_ref()
                    && std::time::Instant::now() < *valid_until
                {
                    return Ok(format!("Bearer {token}"));
                }
                self.limiter.acquire().await;
                let response = self
                    .client
                    .post(token_url)
                    .json(body)
                    .send()
                    .await
                    .map_err(|e| {
                        (
                            None,
                            format!("the token request failed: {}", without_url(&e)),
                        )
                    })?;
                let status = response.status();
                tracing::debug!(
                    path = %url_path(token_url),
                    status = status.as_u16(),
                    "token"
                );
                let answer = self.token_answer(token_url, response).await?;
                let token = answer
                    .pointer(token_pointer)
                    .and_then(serde_json::Value::as_str)
                    .ok_or_else(|| {
                        (
                            None,
                            format!("the token endpoint answered no {token_pointer}"),
                        )
                    })?
                    .to_owned();
                *cached = Some((token.clone(), std::time::Instant::now() + *lifetime));
                Ok(format!("Bearer {token}"))
            }
            Auth::Bearer(token) => Ok(format!("Bearer {token}")),
            Auth::Token(source) => Ok(format!(
                "Bearer {}",
                source
                    .token()
                    .await
                    .map_err(|error| (error.status, error.message))?
            )),
            Auth::Basic { username, password } => {
                use base64::Engine;
                let credentials = format!("{username}:{password}");
                Ok(format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(credentials)
                ))
            }
            Auth::ClientCredentials {
                token_url,
                client_id,
                client_secret,
                scope,
                cached,
            } => {
                let mut cached = cached.lock().await;
                if let Some((token, valid_until)) = cached.as_ref()
                    && std::time::Instant::now() < *valid_until
                {
                    return Ok(format!("Bearer {token}"));
                }
                let mut form = vec![
                    ("grant_type", "client_credentials"),
                    ("client_id", client_id.as_str()),
                    ("client_secret", client_secret.as_str()),
                ];
                if let Some(scope) = scope {
                    form.push(("scope", scope.as_str()));
                }
                self.limiter.acquire().await;
                let response = self
                    .client
                    .post(token_url)
                    .form(&form)
                    .send()
                    .await
                    .map_err(|e| {
                        (
                            None,
                            format!("the token request failed: {}", without_url(&e)),
                        )
                    })?;
                let body = self.token_answer(token_url, response).await?;
                let token = body["access_token"]
                    .as_str()
                    .ok_or((
                        None,
                        "the token endpoint answered no access_token".to_owned(),
                    ))?
                    .to_owned();
                let lifetime = body["expires_in"].as_u64().unwrap_or(3600);
                // Renew a minute early (or at half-life for short tokens).
                let margin = (lifetime / 2).min(60);
                *cached = Some((
                    token.clone(),
                    std::time::Instant::now() + Duration::from_secs(lifetime - margin),
                ));
                Ok(format!("Bearer {token}"))
            }
        }
    }

    /// A token endpoint's JSON answer, read within the size limit; on failure its status (when
    /// it answered one) and a message without the answer (which would hold the token).
    async fn token_answer(
        &self,
        token_url: &str,
        response: Response,
    ) -> Result<serde_json::Value, (Option<u16>, String)> {
        let status = response.status();
        if status.is_redirection() {
            let message = redirect_message(&Method::POST, token_url, status, response.headers());
            return Err((
                Some(status.as_u16()),
                format!("the token request failed: {message}"),
            ));
        }
        if !status.is_success() {
            return Err((
                Some(status.as_u16()),
                format!(
                    "the token endpoint answered {} (check the client id and secret)",
                    status.as_u16()
                ),
            ));
        }
        let body = read_body(response, self.max_response_bytes)
            .await
            .map_err(|error| (None, format!("the token endpoint's answer: {error}")))?;
        serde_json::from_slice(&body)
            .map_err(|_| (None, "the token endpoint answered no JSON".to_owned()))
    }

    /// Drops a cached token; true when there was one to drop (so a retry can help).
    async fn forget_token(&self) -> bool {
        match &self.auth {
            Auth::ClientCredentials { cached, .. } | Auth::TokenExchange { cached, .. } => {
                cached.lock().await.take().is_some()
            }
            Auth::Token(source) => source.forget().await,
            _ => false,
        }
    }
}

fn retryable(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error() && status != StatusCode::NOT_IMPLEMENTED
}

/// `Retry-After` as a delay: delta-seconds or an HTTP date.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    parse_retry_after(value, jiff::Timestamp::now())
}

/// Parses a `Retry-After` value relative to `now`.
pub fn parse_retry_after(value: &str, now: jiff::Timestamp) -> Option<Duration> {
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
    let delay = when.duration_since(now);
    Some(Duration::try_from(delay).unwrap_or(Duration::ZERO))
}

/// The path of a URL as logs show it: without host and query, and without the address a
/// segment may hold (see [`without_addresses`]).
fn url_path(url: &str) -> String {
    let without_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = without_scheme
        .find('/')
        .map_or("/", |index| &without_scheme[index..]);
    without_addresses(path.split('?').next().unwrap_or(path))
}

/// A path with every segment that holds an `@` (plain or percent-encoded) shown as `<name>`:
/// a user is read by its userPrincipalName (`/users/ada@contoso.com`), which is personal data
/// and never goes into a log or a message.
pub fn without_addresses(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            if segment.contains('@') || segment.to_ascii_lowercase().contains("%40") {
                "<name>"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// A URL without its query and fragment, for messages.
/// A URL as a message may show it: scheme, host, port and path, without the user name,
/// password, query or fragment (which can carry credentials).
pub fn shown_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) => {
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            parsed.set_query(None);
            parsed.set_fragment(None);
            let shown = parsed.to_string();
            match shown.strip_suffix('/') {
                Some(trimmed) if !url.ends_with('/') => trimmed.to_owned(),
                _ => shown,
            }
        }
        Err(_) => "(a URL that does not parse)".to_owned(),
    }
}

/// A URL without its query and fragment, and without the addresses its path may hold, for
/// messages.
fn without_query(url: &str) -> String {
    let bare = url.split(['?', '#']).next().unwrap_or(url);
    match bare.find("://").map(|i| i + 3) {
        Some(after_scheme) => match bare[after_scheme..].find('/') {
            Some(slash) => {
                let (origin, path) = bare.split_at(after_scheme + slash);
                format!("{origin}{}", without_addresses(path))
            }
            None => bare.to_owned(),
        },
        None => without_addresses(bare),
    }
}

fn without_url(error: &reqwest::Error) -> String {
    let mut message = error.to_string();
    if let Some(url) = error.url() {
        message = message.replace(url.as_str(), "<url>");
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shown_url_keeps_no_credentials() {
        assert_eq!(
            shown_url("https://user:secret@scim.example:8443/scim/v2?token=abc#x"),
            "https://scim.example:8443/scim/v2"
        );
        assert_eq!(
            shown_url("http://127.0.0.1:1/scim/v2/"),
            "http://127.0.0.1:1/scim/v2/"
        );
        assert_eq!(shown_url("https://k8s.example"), "https://k8s.example");
        assert_eq!(shown_url("not a url"), "(a URL that does not parse)");
    }

    #[test]
    fn retry_after_takes_seconds_or_an_http_date() {
        let now: jiff::Timestamp = "2026-11-22T10:00:00Z".parse().unwrap();
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Sun, 22 Nov 2026 10:00:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Sun, 22 Nov 2026 09:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn backoff_grows_exponentially_with_jitter_and_a_ceiling() {
        let policy = RetryPolicy {
            max_tries: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        };
        for _ in 0..50 {
            let first = policy.backoff(1);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
            let third = policy.backoff(3);
            assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400));
            assert!(policy.backoff(9) <= Duration::from_secs(1));
        }
    }

    #[test]
    fn paths_are_logged_without_host_or_query() {
        assert_eq!(
            url_path("https://h.example/scim/v2/Users?filter=x"),
            "/scim/v2/Users"
        );
        assert_eq!(url_path("http://127.0.0.1:8080"), "/");
        assert_eq!(
            url_path("https://g.example/v1.0/users/ada%40contoso.com?$select=id"),
            "/v1.0/users/<name>"
        );
        assert_eq!(
            without_query("https://g.example/v1.0/users/ada@contoso.com/manager?x=1"),
            "https://g.example/v1.0/users/<name>/manager"
        );
    }

    /// Serves `app` on 127.0.0.1 and returns its port.
    async fn serve(app: axum::Router) -> u16 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, app).await });
        port
    }

    fn client(limit: u64) -> HttpClient {
        HttpClient::new(
            Auth::Bearer("t".into()),
            None,
            Duration::from_secs(20),
            RetryPolicy {
                max_tries: 3,
                base_delay: Duration::from_millis(5),
                max_delay: Duration::from_millis(50),
            },
        )
        .unwrap()
        .with_max_response_bytes(limit)
    }

    #[tokio::test]
    async fn a_redirect_is_an_error_naming_the_request_and_the_host_and_is_not_followed() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let reached = std::sync::Arc::new(AtomicUsize::new(0));
        let counter = reached.clone();
        let elsewhere = serve(axum::Router::new().fallback(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            async { "{}" }
        }))
        .await;
        let location = format!("http://localhost:{elsewhere}/steal?token=x");
        let origin = serve(axum::Router::new().fallback(move || {
            let location = location.clone();
            async move {
                (
                    StatusCode::TEMPORARY_REDIRECT,
                    [(reqwest::header::LOCATION, location)],
                )
            }
        }))
        .await;
        let url = format!("http://127.0.0.1:{origin}/scim/v2/Users?filter=secret");
        let error = client(1 << 20)
            .send(Method::POST, &url, |r| r.body("{\"userName\": \"ada\"}"))
            .await
            .unwrap_err();
        assert_eq!(error.kind, HttpErrorKind::Redirect);
        assert_eq!(error.status, Some(307));
        assert_eq!(error.tries, 1, "a redirect is not retried");
        assert_eq!(
            error.message,
            format!(
                "POST http://127.0.0.1:{origin}/scim/v2/Users: the server redirected (307) to \
                 host localhost; redirects are not followed, set the URL the server expects in \
                 the spec"
            )
        );
        assert_eq!(
            reached.load(Ordering::SeqCst),
            0,
            "nothing reached the other host"
        );
    }

    #[tokio::test]
    async fn an_endless_answer_fails_at_the_size_limit_without_waiting_for_its_end() {
        let port = serve(axum::Router::new().fallback(|| async {
            let chunk = axum::body::Bytes::from(vec![b' '; 8192]);
            axum::body::Body::from_stream(futures::stream::repeat_with(move || {
                Ok::<_, std::io::Error>(chunk.clone())
            }))
        }))
        .await;
        let started = std::time::Instant::now();
        let error = client(64 << 10)
            .send(
                Method::GET,
                &format!("http://127.0.0.1:{port}/Users"),
                |r| r,
            )
            .await
            .unwrap_err();
        assert_eq!(error.kind, HttpErrorKind::TooLarge);
        assert_eq!(
            error.message,
            format!(
                "GET http://127.0.0.1:{port}/Users: the answer is larger than 65536 bytes, the \
                 most this connector reads (maxResponseBytes); nothing of it was used"
            )
        );
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn a_declared_length_over_the_limit_fails_and_answers_within_it_are_read_whole() {
        let port = serve(
            axum::Router::new()
                .route("/big", axum::routing::get(|| async { " ".repeat(4097) }))
                .route("/fits", axum::routing::get(|| async { "x".repeat(4096) })),
        )
        .await;
        let client = client(4096);
        let big = client
            .send(Method::GET, &format!("http://127.0.0.1:{port}/big"), |r| r)
            .await
            .unwrap_err();
        assert_eq!((big.kind, big.status), (HttpErrorKind::TooLarge, Some(200)));
        let fits = client
            .send(Method::GET, &format!("http://127.0.0.1:{port}/fits"), |r| r)
            .await
            .unwrap();
        assert_eq!(fits.bytes().len(), 4096);
    }

    #[tokio::test(start_paused = true)]
    async fn n_requests_at_rate_r_take_n_minus_one_intervals_of_virtual_time() {
        let limiter = RateLimiter::new(Some(10.0));
        let start = Instant::now();
        let mut taken = Vec::new();
        for _ in 0..50 {
            limiter.acquire().await;
            taken.push(start.elapsed());
        }
        // Slots at 0, 100, 200, … 4,900 ms: (50 - 1) / 10 s, exactly.
        let expected: Vec<Duration> = (0..50).map(|k| Duration::from_millis(100 * k)).collect();
        assert_eq!(taken, expected);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_requests_share_one_rate() {
        let limiter = std::sync::Arc::new(RateLimiter::new(Some(20.0)));
        let start = Instant::now();
        let order = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let tasks: Vec<_> = (0..8)
            .map(|task| {
                let (limiter, order) = (limiter.clone(), order.clone());
                tokio::spawn(async move {
                    for _ in 0..5 {
                        limiter.acquire().await;
                        order.lock().unwrap().push((start.elapsed(), task));
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        let order = order.lock().unwrap();
        let times: Vec<Duration> = order.iter().map(|(at, _)| *at).collect();
        let expected: Vec<Duration> = (0..40).map(|k| Duration::from_millis(50 * k)).collect();
        assert_eq!(times, expected, "one slot every 50 ms, 39 × 50 ms in all");
        for task in 0..8 {
            assert_eq!(order.iter().filter(|(_, t)| *t == task).count(), 5);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_requests_are_served_first_come_first_served() {
        let limiter = std::sync::Arc::new(RateLimiter::new(Some(20.0)));
        limiter.acquire().await;
        let order = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        // Spawned in this order, so they ask in this order.
        let tasks: Vec<_> = (0..8)
            .map(|task| {
                let (limiter, order) = (limiter.clone(), order.clone());
                tokio::spawn(async move {
                    limiter.acquire().await;
                    order.lock().unwrap().push(task);
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), (0..8).collect::<Vec<_>>());
    }

    #[tokio::test(start_paused = true)]
    async fn a_due_slot_is_taken_at_once_without_the_timer() {
        use futures::FutureExt;
        let limiter = RateLimiter::new(Some(1000.0));
        let start = Instant::now();
        for _ in 0..100 {
            // A client slower than the rate: its slot is always due when it asks.
            assert!(
                limiter.acquire().now_or_never().is_some(),
                "a due slot completes on its first poll"
            );
            tokio::time::advance(Duration::from_millis(3)).await;
        }
        // Only the client's own time passed: no timer rounded a wait up to the next tick.
        assert_eq!(start.elapsed(), Duration::from_millis(300));
        // Once the client outpaces the rate, the slot is not due and the request waits.
        assert!(limiter.acquire().now_or_never().is_some());
        assert!(limiter.acquire().now_or_never().is_none());
    }

    #[test]
    fn due_slots_need_no_timer_at_all() {
        // A runtime without a time driver panics on any sleep: due slots must never reach one.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let limiter = RateLimiter::new(Some(1000.0));
        runtime.block_on(async {
            for _ in 0..20 {
                limiter.acquire().await;
                std::thread::sleep(Duration::from_millis(2));
            }
        });
    }

    #[tokio::test(start_paused = true)]
    async fn a_late_wake_up_catches_up_by_one_slot_at_most() {
        let limiter = std::sync::Arc::new(RateLimiter::new(Some(10.0)));
        let start = Instant::now();
        limiter.acquire().await;
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let limiter = limiter.clone();
                tokio::spawn(async move {
                    limiter.acquire().await;
                    start.elapsed()
                })
            })
            .collect();
        tokio::task::yield_now().await;
        // The machine stalls for a second while the first waiter's slot (100 ms) passes.
        tokio::time::advance(Duration::from_secs(1)).await;
        let mut taken = Vec::new();
        for task in tasks {
            taken.push(task.await.unwrap());
        }
        taken.sort();
        let ms = Duration::from_millis;
        // Not four at once: the late one, one catching up, then the interval again.
        assert_eq!(taken, vec![ms(1000), ms(1000), ms(1100), ms(1200)]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_back_every_later_request_even_one_already_waiting() {
        let limiter = std::sync::Arc::new(RateLimiter::new(Some(10.0)));
        let start = Instant::now();
        limiter.acquire().await;
        let waiting = {
            let limiter = limiter.clone();
            tokio::spawn(async move {
                limiter.acquire().await;
                start.elapsed()
            })
        };
        tokio::task::yield_now().await;
        // The waiter sleeps for its 100 ms slot when a server asks for two seconds' rest.
        limiter.pause_until(start + Duration::from_secs(2));
        assert_eq!(waiting.await.unwrap(), Duration::from_secs(2));
        limiter.acquire().await;
        assert_eq!(start.elapsed(), Duration::from_millis(2100));
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_given_up_while_waiting_leaves_the_line() {
        use futures::FutureExt;
        let limiter = RateLimiter::new(Some(10.0));
        let start = Instant::now();
        limiter.acquire().await;
        // Abandoned while waiting (a timeout, a cancelled run): it takes no slot and blocks
        // nobody.
        assert!(limiter.acquire().now_or_never().is_none());
        limiter.acquire().await;
        assert_eq!(start.elapsed(), Duration::from_millis(100));
    }

    #[tokio::test(start_paused = true)]
    async fn an_unlimited_limiter_never_waits() {
        use futures::FutureExt;
        for rate in [
            None,
            Some(0.0),
            Some(-1.0),
            Some(f64::NAN),
            Some(f64::INFINITY),
        ] {
            let limiter = RateLimiter::new(rate);
            for _ in 0..1000 {
                assert!(limiter.acquire().now_or_never().is_some(), "{rate:?}");
            }
        }
    }
}
