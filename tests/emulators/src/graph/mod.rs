//! An emulator of the Microsoft identity platform's token endpoint and Microsoft Graph's
//! `/v1.0/users` and `/v1.0/groups`, for tests and benchmarks.
//!
//! It enforces: client credentials at `POST /{tenant}/oauth2/v2.0/token` (tenant, client id,
//! secret, a `/.default` scope) and bearer tokens that expire; the required create fields
//! (`accountEnabled`, `displayName`, `mailNickname`, `userPrincipalName`, `passwordProfile`
//! with a complex password); unique `userPrincipalName` and mail (proxy addresses), answered
//! 400 `Request_BadRequest` as Graph does; `$select`, `$expand=manager`, `$top` ≤ 999 and
//! `@odata.nextLink` paging; `manager/$ref`; JSON `$batch` of at most 20 requests with each
//! request throttled on its own (429 + `Retry-After` inside the item); `GET /users/{id or
//! userPrincipalName}` with `$select` (Graph's default properties without it); error bodies
//! `{error:{code, message}}`. A tenant can be seeded with users holding the HR properties
//! (`employeeId`, `employeeHireDate`, `employeeLeaveDateTime`, `userType`, `otherMails`, …),
//! groups whose members are users, nested groups, devices and service principals, and the
//! application permissions its app registration was granted: a read or write the permissions
//! do not cover answers 403 `Authorization_RequestDenied`. `GET /groups/{id}/transitiveMembers`
//! lists the flattened members (each with its `@odata.type`), and with the OData cast
//! `/microsoft.graph.user` (or its alias `/graph.user`) only the users, paged like `/users`.
//! Faults: throttle chosen writes, fail whole requests, lose the answer to work done (a
//! create, or a whole `$batch`), as a gateway that timed out while Graph finished the work
//! would, and the HR emulators' page faults on listings (a failing or stalled page, a
//! repeated `@odata.nextLink`, a storm of 429s).
//!
//! This module holds the configuration, the handle with its fault switches, the request
//! handling and the token endpoint; `users` answers the `/users` requests, `groups` the
//! `/groups` ones, `tenant` seeds users and groups, and `batch` runs `$batch` through them.

mod batch;
mod groups;
mod listing;
mod permissions;
mod schema;
mod tenant;
mod users;

pub use groups::GraphGroup;
pub use tenant::{
    ALL_STAFF_GROUP, CUSTOM_FIELDS, ENGINEERING_GROUP, demo_tenant, object_id, users_of,
};

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
use serde_json::{Value, json};

use crate::{
    bucket::TokenBucket,
    hr::Faults,
    log::{Entry, LoggedRequest, RequestLog},
    server::{self, Server},
};

/// The application permissions an app registration of the default tenant holds: what the
/// `microsoftGraph` target and source need.
pub const DEFAULT_PERMISSIONS: [&str; 3] = [
    "User.ReadWrite.All",
    "User.Read.All",
    "GroupMember.Read.All",
];

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
    /// Reads (`GET` requests) a second before they answer 429 with `Retry-After`; `None`:
    /// unlimited.
    pub reads_per_second: Option<f64>,
    /// Reads that may come at once (token-bucket capacity).
    pub read_burst: u32,
    /// Added to every response.
    pub latency: Duration,
    /// Most users a page holds whatever `$top` asks (Graph pages server-side too).
    pub max_page_size: usize,
    /// Users the tenant holds from the start: user resources with their `id` (see
    /// [`users_of`]), `manager` as `{"id": …}`.
    pub users: Vec<Value>,
    /// Groups the tenant holds from the start.
    pub groups: Vec<GraphGroup>,
    /// Other directory objects groups may have as members: each with its `id`, its
    /// `@odata.type` (`#microsoft.graph.device`, `#microsoft.graph.servicePrincipal`, …) and a
    /// `displayName`.
    pub objects: Vec<Value>,
    /// Application permissions granted to the app registration (`User.Read.All`,
    /// `GroupMember.Read.All`, `User.ReadWrite.All`, `Directory.Read.All`, …).
    pub permissions: Vec<String>,
    /// Page faults of listings (`GET /users`, a group's members): pages count from 0 in a
    /// listing; the throttle storm answers the next requests 429 with `Retry-After: 1`.
    pub faults: Faults,
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
            reads_per_second: None,
            read_burst: 1,
            latency: Duration::ZERO,
            max_page_size: 999,
            users: Vec::new(),
            groups: Vec::new(),
            objects: Vec::new(),
            permissions: DEFAULT_PERMISSIONS.map(str::to_owned).to_vec(),
            faults: Faults::default(),
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
        let mut state = GraphState {
            bucket: config
                .writes_per_second
                .map(|rate| TokenBucket::new(rate, config.write_burst)),
            read_bucket: config
                .reads_per_second
                .map(|rate| TokenBucket::new(rate, config.read_burst)),
            fail_next: std::iter::repeat_n((429, Some(1)), config.faults.throttle_storm).collect(),
            ..GraphState::default()
        };
        tenant::seed(&mut state, &config);
        let shared = Arc::new(Shared {
            origin: format!("http://{address}"),
            log: RequestLog::default(),
            state: Mutex::new(state),
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

    /// The request log in the vendor checkers' format ([`RequestLog::to_json`]).
    pub fn request_log(&self) -> serde_json::Value {
        self.shared.log.to_json()
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

    /// Sets properties of a user as an administrator would in the Entra admin center (no
    /// write is counted): `changes` holds the properties and their new values, `null` to
    /// clear one.
    pub fn update_user(&self, id: &str, changes: Value) {
        let mut state = self.shared.lock();
        let user = state
            .users
            .get_mut(id)
            .unwrap_or_else(|| panic!("the tenant has no user {id}"));
        for (key, value) in changes.as_object().into_iter().flatten() {
            user.resource[key.as_str()] = value.clone();
        }
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
    groups: BTreeMap<String, GraphGroup>,
    /// Each listed group's transitive members of a type (`group/user`, or `group/` for every
    /// type), as computed for the first page and kept for the next ones until a write.
    memberships: HashMap<String, Arc<Vec<String>>>,
    /// Directory objects that are neither users nor groups, by id.
    objects: BTreeMap<String, Value>,
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
    read_bucket: Option<TokenBucket>,
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
    let entry = shared
        .log
        .arrived(Instant::now(), request.method().as_str(), request.uri());
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
    shared.log.body(entry, &body);
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
    if parts.method == Method::GET
        && let Some(bucket) = &mut shared.lock().read_bucket
        && let Err(wait) = bucket.take(Instant::now())
    {
        let mut answer = Answer::error(
            429,
            "TooManyRequests",
            "Too many requests. Please retry after the time in the Retry-After header.",
        );
        answer.headers.push((
            "retry-after",
            crate::bucket::retry_after_seconds(wait).max(1).to_string(),
        ));
        return answer;
    }
    if let Some(denied) = permissions::denied(&shared.config.permissions, &parts.method, rest) {
        return denied;
    }
    if let Some(failed) = page_fault(shared, &parts.method, rest, &parts.uri).await {
        return failed;
    }
    let json_body = || serde_json::from_slice::<Value>(&body).ok();
    if rest == "/$batch" && parts.method == Method::POST {
        return batch::batch(shared, entry, json_body());
    }
    if rest.starts_with("/groups") {
        return groups::resource(shared, &parts.method, rest, &parts.uri);
    }
    users::resource(shared, &parts.method, rest, &parts.uri, json_body())
}

/// The page a listing request asks for (its `$skiptoken` over its `$top`); `None` for a
/// request that is no listing.
fn listing_page(method: &Method, path: &str, uri: &Uri) -> Option<usize> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let listing = matches!(segments.as_slice(), ["users"])
        || matches!(segments.as_slice(), ["groups", _, "transitiveMembers", ..]);
    if *method != Method::GET || !listing {
        return None;
    }
    let query = listing::Query::of(uri);
    let top = query
        .get("$top")
        .and_then(|t| t.parse().ok())
        .unwrap_or(100usize)
        .max(1);
    let skip: usize = query
        .get("$skiptoken")
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    Some(skip / top)
}

/// The failing or stalled page of a listing, as the faults say.
async fn page_fault(shared: &Shared, method: &Method, path: &str, uri: &Uri) -> Option<Answer> {
    let page = listing_page(method, path, uri)?;
    let faults = &shared.config.faults;
    if let Some((stalled, delay)) = faults.stall_page
        && stalled == page
    {
        tokio::time::sleep(delay).await;
    }
    match faults.fail_page {
        Some((failing, status)) if failing == page => Some(Answer::error(
            status,
            if status == 503 {
                "ServiceNotAvailable"
            } else {
                "UnknownError"
            },
            "Injected failure of a page.",
        )),
        _ => None,
    }
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
