//! An emulator of the Microsoft identity platform's token endpoint and Microsoft Graph's
//! `/v1.0/users`, for tests and benchmarks (facts in `reference/apis.md`).
//!
//! It enforces: client credentials at `POST /{tenant}/oauth2/v2.0/token` (tenant, client id,
//! secret, a `/.default` scope) and bearer tokens that expire; the required create fields
//! (`accountEnabled`, `displayName`, `mailNickname`, `userPrincipalName`, `passwordProfile`
//! with a complex password); unique `userPrincipalName` and mail (proxy addresses), answered
//! 400 `Request_BadRequest` as Graph does; `$select`, `$expand=manager`, `$top` ≤ 999 and
//! `@odata.nextLink` paging; `manager/$ref`; JSON `$batch` of at most 20 requests with each
//! request throttled on its own (429 + `Retry-After` inside the item); `GET /users/{id or
//! userPrincipalName}` with `$select` (Graph's default properties without it); error bodies
//! `{error:{code, message}}`. Faults: throttle chosen writes, fail whole requests, and lose
//! the answer to work done (a create, or a whole `$batch`), as a gateway that timed out while
//! Graph finished the work would.

use std::{
    collections::{BTreeMap, HashMap, HashSet, VecDeque},
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use axum::{
    Router,
    extract::{Query, Request, State},
    http::{HeaderValue, Method, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use serde_json::{Map, Value, json};

use crate::{
    bucket::{TokenBucket, retry_after_seconds},
    log::{Entry, LoggedItem, LoggedRequest, RequestLog},
    server::{self, Server},
};

/// How the emulated tenant behaves.
#[derive(Clone, Debug)]
pub struct GraphConfig {
    /// Tenant id in the token endpoint's path.
    pub tenant_id: String,
    /// The app registration's client id.
    pub client_id: String,
    /// The client secret.
    pub client_secret: String,
    /// Lifetime of issued access tokens.
    pub token_lifetime: Duration,
    /// Writes a second (every request inside a batch counts); `None`: unlimited.
    pub writes_per_second: Option<f64>,
    /// Writes that may come at once (token-bucket capacity).
    pub write_burst: u32,
    /// Added to every response.
    pub latency: Duration,
    /// Most users a page holds whatever `$top` asks (Graph pages server-side too).
    pub max_page_size: usize,
}

impl Default for GraphConfig {
    fn default() -> Self {
        GraphConfig {
            tenant_id: "contoso.onmicrosoft.com".into(),
            client_id: "11111111-2222-3333-4444-555555555555".into(),
            client_secret: "emulator-client-secret".into(),
            token_lifetime: Duration::from_secs(3599),
            writes_per_second: None,
            write_burst: 20,
            latency: Duration::ZERO,
            max_page_size: 999,
        }
    }
}

/// A running emulator on 127.0.0.1 (random port); stops when dropped or on
/// [`GraphEmulator::stop`].
pub struct GraphEmulator {
    shared: Arc<Shared>,
    server: Server,
}

impl GraphEmulator {
    /// Binds 127.0.0.1 on a random port and serves in a tokio task.
    pub async fn start(config: GraphConfig) -> std::io::Result<GraphEmulator> {
        Self::start_on(config, server::bind_local().await?).await
    }

    /// Serves on a listener bound by the caller (`hris-emulators graph`).
    pub async fn start_on(
        config: GraphConfig,
        listener: tokio::net::TcpListener,
    ) -> std::io::Result<GraphEmulator> {
        let address = listener.local_addr()?;
        let shared = Arc::new(Shared {
            origin: format!("http://{address}"),
            log: RequestLog::default(),
            state: Mutex::new(GraphState {
                bucket: config
                    .writes_per_second
                    .map(|rate| TokenBucket::new(rate, config.write_burst)),
                ..GraphState::default()
            }),
            config,
        });
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let server = Server::start(listener, app)?;
        Ok(GraphEmulator { shared, server })
    }

    /// The authority URL (`authorityUrl` of the spec).
    pub fn authority_url(&self) -> String {
        self.shared.origin.clone()
    }

    /// The Graph base URL with its version (`graphUrl` of the spec).
    pub fn graph_url(&self) -> String {
        format!("{}/v1.0", self.shared.origin)
    }

    /// Every HTTP request received, in order.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.shared.log.requests()
    }

    /// Writes performed (created, patched, deleted users and manager links), throttled and
    /// refused ones not counted.
    pub fn writes(&self) -> usize {
        self.shared.lock().writes
    }

    /// The users, as stored (with `manager` as `{id}` when set), in id order.
    pub fn users(&self) -> Vec<Value> {
        let state = self.shared.lock();
        state.users.values().map(|u| u.resource.clone()).collect()
    }

    /// Every access token issued (for tests that check tokens never reach a log).
    pub fn issued_tokens(&self) -> Vec<String> {
        self.shared
            .lock()
            .tokens
            .iter()
            .map(|(t, _)| t.clone())
            .collect()
    }

    /// Every initial password received, refused creates' too (for tests that check they
    /// never reach a log).
    pub fn received_passwords(&self) -> Vec<String> {
        self.shared.lock().passwords.clone()
    }

    /// The write attempts numbered `ordinals` (0 is the first write attempt the emulator sees
    /// from now on, counting every write request inside or outside a batch) answer 429 with
    /// `Retry-After: retry_after` seconds.
    pub fn throttle_writes(&self, ordinals: &[usize], retry_after: u64) {
        let mut state = self.shared.lock();
        let base = state.write_attempts;
        state.throttled.extend(ordinals.iter().map(|n| base + n));
        state.throttle_retry_after = retry_after;
    }

    /// The next `count` HTTP requests to Graph answer `status` (with `Retry-After` when set).
    pub fn fail_next(&self, count: usize, status: u16, retry_after: Option<u64>) {
        let mut state = self.shared.lock();
        state
            .fail_next
            .extend(std::iter::repeat_n((status, retry_after), count));
    }

    /// The next `count` creates are made, then their answer is lost: the create answers
    /// `status` (its item's answer inside a `$batch`, whose other items answer as usual), so
    /// the client tries again a create that was applied.
    pub fn lose_create_answers(&self, count: usize, status: u16) {
        let mut state = self.shared.lock();
        state.lost_creates += count;
        state.lost_status = status;
    }

    /// The next `count` `$batch` requests are carried out, every item of them, then answered
    /// `status` as a whole, so the client sends again a batch that was applied.
    pub fn lose_batch_answers(&self, count: usize, status: u16) {
        let mut state = self.shared.lock();
        state.lost_batches += count;
        state.lost_status = status;
    }

    /// Invalidates every issued token (as if they expired).
    pub fn expire_tokens(&self) {
        self.shared.lock().tokens.clear();
    }

    /// Stops serving and waits until the server has.
    pub async fn stop(self) {
        self.server.stop().await;
    }
}

struct Shared {
    config: GraphConfig,
    origin: String,
    log: RequestLog,
    state: Mutex<GraphState>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, GraphState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[derive(Default)]
struct GraphState {
    users: BTreeMap<String, StoredUser>,
    upns: HashMap<String, String>,
    mails: HashMap<String, String>,
    sequence: u64,
    tokens: Vec<(String, Instant)>,
    passwords: Vec<String>,
    writes: usize,
    write_attempts: usize,
    throttled: HashSet<usize>,
    throttle_retry_after: u64,
    fail_next: VecDeque<(u16, Option<u64>)>,
    lost_creates: usize,
    lost_batches: usize,
    lost_status: u16,
    bucket: Option<TokenBucket>,
}

struct StoredUser {
    resource: Value,
}

/// An answer: status, extra headers, body.
struct Answer {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Option<Value>,
}

impl Answer {
    fn json(status: u16, body: Value) -> Answer {
        Answer {
            status,
            headers: Vec::new(),
            body: Some(body),
        }
    }

    fn empty(status: u16) -> Answer {
        Answer {
            status,
            headers: Vec::new(),
            body: None,
        }
    }

    fn error(status: u16, code: &str, message: &str) -> Answer {
        Answer::json(
            status,
            json!({"error": {"code": code, "message": message,
                "innerError": {"date": jiff::Timestamp::now().to_string(),
                               "request-id": "00000000-0000-0000-0000-000000000000"}}}),
        )
    }

    fn into_response(self) -> Response {
        let mut response = match self.body {
            Some(body) => (
                StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                [(header::CONTENT_TYPE, "application/json")],
                body.to_string(),
            )
                .into_response(),
            None => StatusCode::from_u16(self.status)
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
                .into_response(),
        };
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(name, value);
            }
        }
        response
    }
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let entry = shared.log.arrived(
        Instant::now(),
        request.method().as_str(),
        request.uri().path(),
    );
    let answer = process(&shared, entry, request).await;
    shared.log.answered(entry, answer.status);
    if !shared.config.latency.is_zero() {
        tokio::time::sleep(shared.config.latency).await;
    }
    answer.into_response()
}

async fn process(shared: &Shared, entry: Entry, request: Request) -> Answer {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, 8 * 1024 * 1024).await else {
        return Answer::error(
            413,
            "RequestEntityTooLarge",
            "The request body is too large.",
        );
    };
    let path = parts.uri.path().to_owned();
    let token_path = format!("/{}/oauth2/v2.0/token", shared.config.tenant_id);
    if parts.method == Method::POST && path.ends_with("/oauth2/v2.0/token") {
        return token(shared, path == token_path, &body);
    }
    let Some(rest) = path.strip_prefix("/v1.0") else {
        return Answer::error(404, "BadRequest", "Invalid version.");
    };
    let authorised = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|token| {
            let now = Instant::now();
            shared
                .lock()
                .tokens
                .iter()
                .any(|(t, until)| t == token && now < *until)
        });
    if !authorised {
        return Answer::error(
            401,
            "InvalidAuthenticationToken",
            "Access token is empty, expired or not valid.",
        );
    }
    if let Some((status, retry_after)) = shared.lock().fail_next.pop_front() {
        let mut answer = Answer::error(status, "TooManyRequests", "Injected failure.");
        if let Some(seconds) = retry_after {
            answer.headers.push(("retry-after", seconds.to_string()));
        }
        return answer;
    }
    let json_body = || serde_json::from_slice::<Value>(&body).ok();
    if rest == "/$batch" && parts.method == Method::POST {
        return batch(shared, entry, json_body());
    }
    resource(shared, &parts.method, rest, &parts.uri, json_body())
}

fn token(shared: &Shared, tenant_ok: bool, body: &[u8]) -> Answer {
    let form: Vec<(String, String)> = Query::<Vec<(String, String)>>::try_from_uri(
        &format!("/?{}", String::from_utf8_lossy(body))
            .parse::<Uri>()
            .unwrap_or_default(),
    )
    .map(|q| q.0)
    .unwrap_or_default();
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let oauth_error = |status: u16, error: &str, description: &str| {
        Answer::json(
            status,
            json!({"error": error, "error_description": description}),
        )
    };
    if !tenant_ok {
        return oauth_error(400, "invalid_request", "AADSTS90002: Tenant not found.");
    }
    if field("grant_type") != Some("client_credentials") {
        return oauth_error(
            400,
            "unsupported_grant_type",
            "AADSTS70003: The app requested an unsupported grant type.",
        );
    }
    if field("client_id") != Some(shared.config.client_id.as_str()) {
        return oauth_error(
            400,
            "unauthorized_client",
            "AADSTS700016: Application not found in the directory.",
        );
    }
    if field("client_secret") != Some(shared.config.client_secret.as_str()) {
        return oauth_error(
            401,
            "invalid_client",
            "AADSTS7000215: Invalid client secret provided.",
        );
    }
    if !field("scope").is_some_and(|s| s.ends_with("/.default")) {
        return oauth_error(
            400,
            "invalid_scope",
            "AADSTS1002012: The provided value for scope is not valid; client credentials need /.default.",
        );
    }
    let token: String = std::iter::repeat_with(fastrand::alphanumeric)
        .take(48)
        .collect();
    let lifetime = shared.config.token_lifetime;
    shared
        .lock()
        .tokens
        .push((token.clone(), Instant::now() + lifetime));
    Answer::json(
        200,
        json!({"token_type": "Bearer", "expires_in": lifetime.as_secs(),
               "ext_expires_in": lifetime.as_secs(), "access_token": token}),
    )
}

fn batch(shared: &Shared, entry: Entry, body: Option<Value>) -> Answer {
    let Some(requests) = body.as_ref().and_then(|b| b["requests"].as_array()) else {
        return Answer::error(400, "BadRequest", "Invalid batch payload format.");
    };
    if requests.len() > 20 {
        return Answer::error(
            400,
            "BadRequest",
            "Number of requests in batch exceeds the maximum of 20.",
        );
    }
    let mut responses = Vec::new();
    let mut items = Vec::new();
    for request in requests {
        let id = request["id"].as_str().unwrap_or_default().to_owned();
        let method = request["method"]
            .as_str()
            .and_then(|m| m.parse::<Method>().ok())
            .unwrap_or(Method::GET);
        let url = request["url"].as_str().unwrap_or_default();
        let uri: Uri = url.parse().unwrap_or_default();
        let path = uri.path().to_owned();
        let answer = if id.is_empty() || !url.starts_with('/') {
            Answer::error(
                400,
                "BadRequest",
                "Each request needs an id and a relative url.",
            )
        } else {
            let body = request.get("body").filter(|b| !b.is_null()).cloned();
            resource(shared, &method, &path, &uri, body)
        };
        items.push(LoggedItem {
            method: method.to_string(),
            path,
            status: answer.status,
        });
        let headers: Map<String, Value> = answer
            .headers
            .iter()
            .map(|(k, v)| {
                let name = if *k == "retry-after" {
                    "Retry-After"
                } else {
                    k
                };
                (name.to_owned(), json!(v))
            })
            .chain(std::iter::once((
                "Content-Type".to_owned(),
                json!("application/json"),
            )))
            .collect();
        let mut response = json!({"id": id, "status": answer.status, "headers": headers});
        if let Some(body) = answer.body {
            response["body"] = body;
        }
        responses.push(response);
    }
    shared.log.items(entry, items);
    let mut state = shared.lock();
    if state.lost_batches > 0 {
        state.lost_batches -= 1;
        return lost_answer(state.lost_status);
    }
    Answer::json(200, json!({ "responses": responses }))
}

/// The answer a client gets when the one to its request was lost on the way back.
fn lost_answer(status: u16) -> Answer {
    Answer::error(
        status,
        "UnknownError",
        "Injected failure: the request was carried out, its answer lost.",
    )
}

/// Admits one write: injected throttles first, then the write bucket.
fn admit_write(state: &mut GraphState) -> Result<(), Answer> {
    let attempt = state.write_attempts;
    state.write_attempts += 1;
    let throttled = |seconds: u64| {
        let mut answer = Answer::error(
            429,
            "TooManyRequests",
            "Too many requests. Please retry after the time in the Retry-After header.",
        );
        answer
            .headers
            .push(("retry-after", seconds.max(1).to_string()));
        answer
    };
    if state.throttled.remove(&attempt) {
        return Err(throttled(state.throttle_retry_after));
    }
    if let Some(bucket) = &mut state.bucket
        && let Err(wait) = bucket.take(Instant::now())
    {
        return Err(throttled(retry_after_seconds(wait)));
    }
    Ok(())
}

fn resource(
    shared: &Shared,
    method: &Method,
    path: &str,
    uri: &Uri,
    body: Option<Value>,
) -> Answer {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let write = *method != Method::GET;
    let mut state = shared.lock();
    if write && let Err(answer) = admit_write(&mut state) {
        return answer;
    }
    let answer = match (method.as_str(), segments.as_slice()) {
        ("GET", ["users"]) => list(shared, &state, uri),
        ("POST", ["users"]) => create(&mut state, body),
        ("GET", ["users", key]) => {
            let key = percent_decoded(key);
            let id = state
                .users
                .contains_key(&key)
                .then(|| key.clone())
                .or_else(|| state.upns.get(&key.to_lowercase()).cloned());
            match id.and_then(|id| state.users.get(&id)) {
                Some(user) => Answer::json(200, one_user(&user.resource, uri)),
                None => not_found(&key),
            }
        }
        ("PATCH", ["users", id]) => patch(&mut state, id, body),
        ("DELETE", ["users", id]) => {
            if state.users.remove(*id).is_none() {
                not_found(id)
            } else {
                forget_names(&mut state, id);
                for user in state.users.values_mut() {
                    if user.resource["manager"]["id"] == *id {
                        user.resource.as_object_mut().map(|o| o.remove("manager"));
                    }
                }
                Answer::empty(204)
            }
        }
        ("GET", ["users", id, "manager"]) => {
            match state
                .users
                .get(*id)
                .map(|u| u.resource["manager"]["id"].clone())
            {
                None => not_found(id),
                Some(Value::String(manager)) => match state.users.get(&manager) {
                    Some(m) => Answer::json(200, public(&m.resource)),
                    None => not_found(&manager),
                },
                Some(_) => not_found("manager"),
            }
        }
        ("PUT", ["users", id, "manager", "$ref"]) => {
            let target = body
                .as_ref()
                .and_then(|b| b["@odata.id"].as_str())
                .and_then(|r| r.rsplit('/').next())
                .map(str::to_owned);
            match target {
                None => Answer::error(
                    400,
                    "Request_BadRequest",
                    "The @odata.id of the reference is missing or malformed.",
                ),
                Some(manager) if !state.users.contains_key(&manager) => not_found(&manager),
                Some(manager) if manager == *id => Answer::error(
                    400,
                    "Request_BadRequest",
                    "A user cannot be their own manager.",
                ),
                Some(manager) => match state.users.get_mut(*id) {
                    None => not_found(id),
                    Some(user) => {
                        user.resource["manager"] = json!({"id": manager});
                        Answer::empty(204)
                    }
                },
            }
        }
        ("DELETE", ["users", id, "manager", "$ref"]) => match state.users.get_mut(*id) {
            None => not_found(id),
            Some(user) => match user
                .resource
                .as_object_mut()
                .and_then(|o| o.remove("manager"))
            {
                Some(_) => Answer::empty(204),
                None => not_found("manager"),
            },
        },
        _ => Answer::error(
            400,
            "BadRequest",
            "Unsupported segment or method for this emulator.",
        ),
    };
    if write && (200..300).contains(&answer.status) {
        state.writes += 1;
        if method == Method::POST && segments == ["users"] && state.lost_creates > 0 {
            state.lost_creates -= 1;
            return lost_answer(state.lost_status);
        }
    }
    answer
}

/// The properties `GET /users/{id}` returns without `$select`.
const DEFAULT_PROPERTIES: [&str; 11] = [
    "businessPhones",
    "displayName",
    "givenName",
    "id",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
];

/// One user as `GET /users/{id}` returns it: the `$select`ed properties, else the defaults.
fn one_user(resource: &Value, uri: &Uri) -> Value {
    let query: Vec<(String, String)> = Query::<Vec<(String, String)>>::try_from_uri(uri)
        .map(|q| q.0)
        .unwrap_or_default();
    let select: Vec<String> = match query.iter().find(|(k, _)| k == "$select") {
        Some((_, fields)) => fields.split(',').map(|f| f.trim().to_owned()).collect(),
        None => DEFAULT_PROPERTIES.iter().map(|&p| p.to_owned()).collect(),
    };
    let mut shown = json!({"id": resource["id"]});
    for field in select.iter().filter(|f| !f.is_empty() && *f != "manager") {
        shown[field.as_str()] = resource.get(field.as_str()).cloned().unwrap_or(Value::Null);
    }
    shown
}

/// A path segment with its `%XX` escapes decoded (invalid ones kept as they are).
fn percent_decoded(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escaped = (bytes[index] == b'%')
            .then(|| segment.get(index + 1..index + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                decoded.push(byte);
                index += 3;
            }
            None => {
                decoded.push(bytes[index]);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

fn not_found(id: &str) -> Answer {
    Answer::error(
        404,
        "Request_ResourceNotFound",
        &format!(
            "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
        ),
    )
}

/// The user as Graph returns it (no manager unless expanded, never a password).
fn public(resource: &Value) -> Value {
    let mut user = resource.clone();
    if let Some(object) = user.as_object_mut() {
        object.remove("manager");
        object.remove("passwordProfile");
    }
    user
}

fn list(shared: &Shared, state: &GraphState, uri: &Uri) -> Answer {
    let query: Vec<(String, String)> = Query::<Vec<(String, String)>>::try_from_uri(uri)
        .map(|q| q.0)
        .unwrap_or_default();
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if param("$filter").is_some() {
        return Answer::error(
            400,
            "Request_UnsupportedQuery",
            "This emulator supports no $filter.",
        );
    }
    let top = match param("$top").map(str::parse::<usize>) {
        None => 100,
        Some(Ok(top)) if (1..=999).contains(&top) => top.min(shared.config.max_page_size.max(1)),
        _ => {
            return Answer::error(
                400,
                "Request_BadRequest",
                "Invalid page size specified: $top must be between 1 and 999.",
            );
        }
    };
    let skip = match param("$skiptoken").map(str::parse::<usize>) {
        None => 0,
        Some(Ok(skip)) => skip,
        Some(Err(_)) => {
            return Answer::error(400, "Request_BadRequest", "Invalid $skiptoken.");
        }
    };
    let select: Option<Vec<&str>> = param("$select").map(|s| s.split(',').map(str::trim).collect());
    let expand_manager = param("$expand").is_some_and(|e| e.starts_with("manager"));
    let page: Vec<Value> = state
        .users
        .values()
        .skip(skip)
        .take(top)
        .map(|user| {
            let full = &user.resource;
            let mut shown = match &select {
                Some(fields) => {
                    let mut shown = json!({"id": full["id"]});
                    for field in fields {
                        if let Some(value) = full.get(*field) {
                            shown[*field] = value.clone();
                        } else if !field.is_empty() && *field != "manager" {
                            shown[*field] = Value::Null;
                        }
                    }
                    shown
                }
                None => public(full),
            };
            if expand_manager {
                if let Value::String(manager) = &full["manager"]["id"] {
                    shown["manager"] =
                        json!({"@odata.type": "#microsoft.graph.user", "id": manager});
                }
            } else if let Some(object) = shown.as_object_mut() {
                object.remove("manager");
            }
            shown
        })
        .collect();
    let mut body = json!({
        "@odata.context": format!("{}/v1.0/$metadata#users", shared.origin),
        "value": page,
    });
    if skip + top < state.users.len() {
        let mut next = format!(
            "{}/v1.0/users?$top={top}&$skiptoken={}",
            shared.origin,
            skip + top
        );
        if let Some(select) = param("$select") {
            next.push_str(&format!("&$select={select}"));
        }
        if let Some(expand) = param("$expand") {
            next.push_str(&format!("&$expand={expand}"));
        }
        body["@odata.nextLink"] = json!(next);
    }
    Answer::json(200, body)
}

fn complex_password(password: &str) -> bool {
    let classes = [
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_ascii_alphanumeric()),
    ];
    password.chars().count() >= 8 && classes.iter().filter(|c| **c).count() >= 3
}

/// A uniqueness problem of a user's names among the others (indexed, so a tenant of many
/// users answers as fast as an empty one).
fn taken(state: &GraphState, resource: &Value, except: Option<&str>) -> Option<Answer> {
    let lower = |v: &Value| v.as_str().map(str::to_lowercase);
    let other = |index: &HashMap<String, String>, key: &Option<String>| {
        key.as_ref()
            .and_then(|k| index.get(k))
            .is_some_and(|id| Some(id.as_str()) != except)
    };
    let upn = lower(&resource["userPrincipalName"]);
    let mail = lower(&resource["mail"]);
    if other(&state.upns, &upn) {
        return Some(Answer::error(
            400,
            "Request_BadRequest",
            "Another object with the same value for property userPrincipalName already exists.",
        ));
    }
    if other(&state.mails, &mail) || other(&state.upns, &mail) {
        return Some(Answer::error(
            400,
            "Request_BadRequest",
            "Another object with the same value for property proxyAddresses already exists.",
        ));
    }
    None
}

/// Forgets the names of a deleted user.
fn forget_names(state: &mut GraphState, id: &str) {
    state.upns.retain(|_, v| v != id);
    state.mails.retain(|_, v| v != id);
}

fn invalid(property: &str) -> Answer {
    Answer::error(
        400,
        "Request_BadRequest",
        &format!("Invalid value specified for property '{property}' of resource 'User'."),
    )
}

fn create(state: &mut GraphState, body: Option<Value>) -> Answer {
    let Some(Value::Object(mut user)) = body else {
        return Answer::error(400, "BadRequest", "Empty Payload. JSON content expected.");
    };
    if !user.get("accountEnabled").is_some_and(Value::is_boolean) {
        return invalid("accountEnabled");
    }
    for property in ["displayName", "mailNickname", "userPrincipalName"] {
        if user
            .get(property)
            .and_then(Value::as_str)
            .is_none_or(|s| s.trim().is_empty())
        {
            return invalid(property);
        }
    }
    let upn = user["userPrincipalName"].as_str().unwrap_or_default();
    if upn.matches('@').count() != 1 || upn.starts_with('@') || upn.ends_with('@') {
        return invalid("userPrincipalName");
    }
    let Some(password) = user
        .get("passwordProfile")
        .and_then(|p| p["password"].as_str())
        .map(str::to_owned)
    else {
        return invalid("passwordProfile");
    };
    if !complex_password(&password) {
        return Answer::error(
            400,
            "Request_BadRequest",
            "The specified password does not comply with password complexity requirements. Please provide a different password.",
        );
    }
    // Every password received is kept, refused creates' too, for tests that search logs.
    state.passwords.push(password);
    let candidate = Value::Object(user.clone());
    if let Some(answer) = taken(state, &candidate, None) {
        return answer;
    }
    state.sequence += 1;
    let id = format!("00000000-0000-4000-8000-{:012x}", state.sequence);
    user.insert("id".into(), json!(id));
    user.remove("passwordProfile");
    user.remove("manager");
    for (property, default) in [
        ("mail", Value::Null),
        ("givenName", Value::Null),
        ("surname", Value::Null),
        ("preferredLanguage", Value::Null),
    ] {
        user.entry(property).or_insert(default);
    }
    let resource = Value::Object(user);
    state.upns.insert(
        resource["userPrincipalName"]
            .as_str()
            .unwrap_or_default()
            .to_lowercase(),
        id.clone(),
    );
    if let Some(mail) = resource["mail"].as_str() {
        state.mails.insert(mail.to_lowercase(), id.clone());
    }
    state.users.insert(
        id.clone(),
        StoredUser {
            resource: resource.clone(),
        },
    );
    let mut created = public(&resource);
    created["@odata.context"] = json!("$metadata#users/$entity");
    Answer::json(201, created)
}

fn patch(state: &mut GraphState, id: &str, body: Option<Value>) -> Answer {
    let Some(Value::Object(changes)) = body else {
        return Answer::error(400, "BadRequest", "Empty Payload. JSON content expected.");
    };
    let Some(current) = state.users.get(id).map(|u| u.resource.clone()) else {
        return not_found(id);
    };
    let mut updated = current;
    for (key, value) in changes {
        if matches!(key.as_str(), "id" | "manager") {
            return Answer::error(
                400,
                "Request_BadRequest",
                &format!("Property '{key}' is read-only and cannot be set."),
            );
        }
        if key == "accountEnabled" && !value.is_boolean() {
            return invalid("accountEnabled");
        }
        if key == "passwordProfile" {
            if let Some(password) = value["password"].as_str() {
                if !complex_password(password) {
                    return invalid("passwordProfile");
                }
                state.passwords.push(password.to_owned());
            }
            continue;
        }
        match (updated.get_mut(&key), value) {
            (Some(Value::Object(existing)), Value::Object(inner)) => {
                for (k, v) in inner {
                    existing.insert(k, v);
                }
            }
            (_, value) => {
                updated[key.as_str()] = value;
            }
        }
    }
    for property in ["displayName", "mailNickname", "userPrincipalName"] {
        if updated[property].as_str().is_none_or(|s| s.is_empty()) {
            return invalid(property);
        }
    }
    if let Some(answer) = taken(state, &updated, Some(id)) {
        return answer;
    }
    let previous = state.users.get(id).map(|u| u.resource.clone());
    if let Some(previous) = previous {
        let lower = |v: &Value| v.as_str().map(str::to_lowercase);
        for (field, index) in [("userPrincipalName", true), ("mail", false)] {
            let (old, new) = (lower(&previous[field]), lower(&updated[field]));
            if old != new {
                let names = if index {
                    &mut state.upns
                } else {
                    &mut state.mails
                };
                if let Some(old) = old {
                    names.remove(&old);
                }
                if let Some(new) = new {
                    names.insert(new, id.to_owned());
                }
            }
        }
    }
    if let Some(user) = state.users.get_mut(id) {
        user.resource = updated;
    }
    Answer::empty(204)
}
