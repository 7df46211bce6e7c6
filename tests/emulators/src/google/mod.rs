//! An emulator of Google's OAuth token endpoint (JWT bearer grant) and the Admin SDK Directory
//! API's users and group members, for tests.
//!
//! It enforces: a JWT assertion signed RS256 by the service account's key (verified with its
//! public key), with the right issuer, subject (the admin), audience (always Google's token
//! endpoint, wherever the assertion is sent), lifetime, and scopes that the domain-wide
//! delegation grants, every one of them (else 401 `unauthorized_client`); bearer tokens that
//! expire and carry their scopes, each request needing one of its method's scopes (else 403
//! `insufficientPermissions`), and the administrator's role covering what is read (else 403
//! `forbidden`, "Not Authorized to access this resource/api"); `customer` (or `domain`) on user
//! listings, `maxResults` ≤ 500 (≤ 200 for members) and `pageToken` paging; `query` with
//! `orgUnitPath='…'` (the unit and every unit below it; an unknown unit answers 400
//! `INVALID_OU_ID`); a group's members with `includeDerivedMembership` (nested groups' and the
//! customer's members listed too, the group and customer entries kept); the required insert
//! fields (`primaryEmail`, `name.givenName`, `name.familyName`, `password` of 8 characters or
//! more); unique primary emails (409 `duplicate`); update with patch semantics; user keys
//! percent-encoded or not; a body field a user resource does not have refused (400, as Google
//! refuses an unknown name); a request-rate limit answered 403 `userRateLimitExceeded` (or 429);
//! error bodies `{error:{code, message, errors:[{reason}]}}`.
//! Faults: fail the next requests, lose the answer to an insert that was made (as a gateway
//! that timed out while the API finished the work would), and the HR emulators' page faults
//! on listings (a failing or stalled page, a repeated `pageToken`, a storm of throttled
//! answers).
//!
//! This module holds the configuration, the handle with its switches and the request
//! handling; `token` answers the token endpoint, `access` judges scopes and the admin's role,
//! `users` and `groups` answer their requests, and `workspace` seeds an account.

mod access;
mod groups;
mod token;
mod users;
mod workspace;

pub use groups::GoogleGroup;
pub use workspace::{
    ALL_STAFF_GROUP, CONTRACTORS_UNIT, CUSTOM_FIELDS, DemoWorkspace, ENGINEERING_GROUP,
    EVERYONE_GROUP, ORG_UNITS, SIBLING_UNIT, STAFF_UNIT, demo_workspace, user_id, users_of,
};

use std::{
    collections::{BTreeMap, VecDeque},
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use axum::{
    Router,
    extract::{Query, Request, State},
    http::{HeaderValue, Method, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use base64::Engine;
use serde_json::{Value, json};

use crate::{
    bucket::TokenBucket,
    hr::Faults,
    log::{Entry, LoggedRequest, RequestLog},
    server::{self, Server},
};

const API_PREFIX: &str = "/admin/directory/v1";
/// Managing users.
pub const USER_SCOPE: &str = "https://www.googleapis.com/auth/admin.directory.user";
/// Reading users.
pub const USER_READ_SCOPE: &str = "https://www.googleapis.com/auth/admin.directory.user.readonly";
/// Reading groups and their members.
pub const GROUP_READ_SCOPE: &str = "https://www.googleapis.com/auth/admin.directory.group.readonly";

/// The DER bytes of a PEM block, whatever its label: the base64 between
/// `-----BEGIN …-----` and `-----END …-----`.
pub(crate) fn pem_body(pem: &str) -> Option<Vec<u8>> {
    let body: String = pem.split("-----").nth(2)?.split_whitespace().collect();
    base64::engine::general_purpose::STANDARD.decode(body).ok()
}

/// How the emulated Workspace behaves.
#[derive(Clone, Debug)]
pub struct GoogleConfig {
    /// The service account (`iss` of the assertion).
    pub client_email: String,
    /// The administrator the service account may act as (`sub`).
    pub admin_email: String,
    /// The service account's public key, PEM (`RSA PUBLIC KEY`, PKCS#1).
    pub public_key_pem: String,
    /// The scopes the Admin console's domain-wide delegation grants the service account's
    /// client id: an assertion asking for any other is refused.
    pub delegated_scopes: Vec<String>,
    /// What the administrator's role may read and manage: `users`, `groups`.
    pub admin_privileges: Vec<String>,
    /// The account's customer id (what `my_customer` stands for; a `CUSTOMER` member's id).
    pub customer_id: String,
    /// Lifetime of issued access tokens.
    pub token_lifetime: Duration,
    /// Requests a second over the API (token bucket); `None`: unlimited.
    pub requests_per_second: Option<f64>,
    /// Bucket capacity.
    pub burst: u32,
    /// Status of a rate-limited request: 403 (`userRateLimitExceeded`) or 429
    /// (`rateLimitExceeded`, with `Retry-After: 1`).
    pub throttle_status: u16,
    /// Most users (or members) a page holds, whatever `maxResults` asks.
    pub max_page_size: usize,
    /// Users the account holds from the start: user resources with their `id` (see
    /// [`users_of`]).
    pub users: Vec<Value>,
    /// Organizational units the account has besides those of its users (and their parents).
    pub org_units: Vec<String>,
    /// Groups the account holds from the start.
    pub groups: Vec<GoogleGroup>,
    /// Members of groups that are not users of the account (people of other domains): each
    /// with its `id` and `email`.
    pub outsiders: Vec<Value>,
    /// Page faults of listings (users, a group's members): pages count from 0 in a listing;
    /// the throttle storm answers the next requests as `throttle_status` does.
    pub faults: Faults,
}

impl GoogleConfig {
    /// A configuration for a service account whose public key is `public_key_pem`, delegated
    /// the scopes the Google Workspace target and source ask for, of an administrator who may
    /// read and manage users and groups.
    pub fn new(public_key_pem: impl Into<String>) -> Self {
        GoogleConfig {
            client_email: "hris-sync@test-project.iam.gserviceaccount.com".into(),
            admin_email: "admin@acme.example".into(),
            public_key_pem: public_key_pem.into(),
            delegated_scopes: [USER_SCOPE, USER_READ_SCOPE, GROUP_READ_SCOPE]
                .map(str::to_owned)
                .to_vec(),
            admin_privileges: ["users", "groups"].map(str::to_owned).to_vec(),
            customer_id: "C03az79cb".into(),
            token_lifetime: Duration::from_secs(3599),
            requests_per_second: None,
            burst: 10,
            throttle_status: 403,
            max_page_size: 500,
            users: Vec::new(),
            org_units: Vec::new(),
            groups: Vec::new(),
            outsiders: Vec::new(),
            faults: Faults::default(),
        }
    }
}

/// A running emulator on 127.0.0.1 (random port); stops when dropped or on
/// [`GoogleEmulator::stop`].
pub struct GoogleEmulator {
    shared: Arc<Shared>,
    server: Server,
}

impl GoogleEmulator {
    /// Binds 127.0.0.1 on a random port and serves in a tokio task.
    pub async fn start(config: GoogleConfig) -> std::io::Result<GoogleEmulator> {
        Self::start_on(config, server::bind_local().await?).await
    }

    /// Serves on a listener bound by the caller (`hris-emulators google`).
    pub async fn start_on(
        config: GoogleConfig,
        listener: tokio::net::TcpListener,
    ) -> std::io::Result<GoogleEmulator> {
        let public_key = pem_body(&config.public_key_pem).ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "public_key_pem is no PEM")
        })?;
        let address = listener.local_addr()?;
        let mut state = GoogleState {
            bucket: config
                .requests_per_second
                .map(|rate| TokenBucket::new(rate, config.burst)),
            storm_left: config.faults.throttle_storm,
            ..GoogleState::default()
        };
        workspace::seed(&mut state, &config);
        let shared = Arc::new(Shared {
            origin: format!("http://{address}"),
            public_key,
            log: RequestLog::default(),
            state: Mutex::new(state),
            config,
        });
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let server = Server::start(listener, app)?;
        Ok(GoogleEmulator { shared, server })
    }

    /// The token endpoint (`tokenUrl` of the spec).
    pub fn token_url(&self) -> String {
        format!("{}/token", self.shared.origin)
    }

    /// The Directory API base URL (`apiUrl` of the spec).
    pub fn api_url(&self) -> String {
        format!("{}{API_PREFIX}", self.shared.origin)
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.shared.log.requests()
    }

    /// The request log in the vendor checkers' format ([`RequestLog::to_json`]).
    pub fn request_log(&self) -> serde_json::Value {
        self.shared.log.to_json()
    }

    /// Writes performed (insert, update, delete); refused ones not counted.
    pub fn writes(&self) -> usize {
        self.shared.lock().writes
    }

    /// The users as stored, in id order.
    pub fn users(&self) -> Vec<Value> {
        self.shared.lock().users.values().cloned().collect()
    }

    /// Every access token issued.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.shared
            .lock()
            .tokens
            .iter()
            .map(|t| t.token.clone())
            .collect()
    }

    /// Every password received.
    pub fn received_passwords(&self) -> Vec<String> {
        self.shared.lock().passwords.clone()
    }

    /// Seeds a user (Directory JSON without `id`; `primaryEmail` and `name` required, no
    /// password needed) as if an administrator had made it. Returns its id.
    pub fn insert_user(&self, user: Value) -> String {
        let mut state = self.shared.lock();
        let Value::Object(user) = user else {
            panic!("insert_user needs a JSON object");
        };
        users::seed(&mut state, user)
    }

    /// Sets fields of a user as an administrator would in the Admin console (no write is
    /// counted): `changes` holds the fields and their new values, `null` to clear one.
    pub fn update_user(&self, id: &str, changes: Value) {
        let mut state = self.shared.lock();
        let user = state
            .users
            .get_mut(id)
            .unwrap_or_else(|| panic!("the account has no user {id}"));
        for (key, value) in changes.as_object().into_iter().flatten() {
            user[key.as_str()] = value.clone();
        }
    }

    /// The next `count` API requests answer `status` with the error `reason` (such as 403
    /// `quotaExceeded`).
    pub fn fail_next(&self, count: usize, status: u16, reason: &str) {
        let mut state = self.shared.lock();
        state
            .fail_next
            .extend(std::iter::repeat_n((status, reason.to_owned()), count));
    }

    /// The next `count` inserts are made, then their answer is lost: they answer `status`
    /// (`backendError`), so the client tries again an insert that was applied.
    pub fn lose_insert_answers(&self, count: usize, status: u16) {
        let mut state = self.shared.lock();
        state.lost_inserts += count;
        state.lost_status = status;
    }

    /// Invalidates every issued token (as if they expired or were revoked).
    pub fn expire_tokens(&self) {
        self.shared.lock().tokens.clear();
    }

    /// Stops serving and waits until the server has.
    pub async fn stop(self) {
        self.server.stop().await;
    }
}

struct Shared {
    config: GoogleConfig,
    origin: String,
    public_key: Vec<u8>,
    log: RequestLog,
    state: Mutex<GoogleState>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, GoogleState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// An access token the endpoint issued.
struct Issued {
    token: String,
    until: Instant,
    scopes: Vec<String>,
}

#[derive(Default)]
struct GoogleState {
    users: BTreeMap<String, Value>,
    groups: BTreeMap<String, GoogleGroup>,
    /// Organizational units, lower case, each with its parents.
    org_units: std::collections::BTreeSet<String>,
    /// Members that are not users of the account, by id.
    outsiders: BTreeMap<String, Value>,
    sequence: u64,
    tokens: Vec<Issued>,
    passwords: Vec<String>,
    writes: usize,
    fail_next: VecDeque<(u16, String)>,
    storm_left: usize,
    lost_inserts: usize,
    lost_status: u16,
    bucket: Option<TokenBucket>,
}

fn json_response(status: u16, body: Value) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body.to_string(),
    )
        .into_response()
}

fn api_error(status: u16, reason: &str, message: &str) -> Response {
    json_response(
        status,
        json!({"error": {"code": status, "message": message,
            "errors": [{"message": message, "domain": "global", "reason": reason}]}}),
    )
}

/// The throttled answer: 403 `userRateLimitExceeded`, or 429 `rateLimitExceeded` with
/// `Retry-After: 1`.
fn throttled(config: &GoogleConfig) -> Response {
    let message = "Quota exceeded for quota metric 'Queries'.";
    if config.throttle_status == 429 {
        let mut response = api_error(429, "rateLimitExceeded", message);
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        response
    } else {
        api_error(403, "userRateLimitExceeded", message)
    }
}

/// A request's query pairs, decoded.
fn query_pairs(uri: &Uri) -> Vec<(String, String)> {
    Query::<Vec<(String, String)>>::try_from_uri(uri)
        .map(|q| q.0)
        .unwrap_or_default()
}

/// One query parameter.
fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A page of `total` entries as `maxResults` (at most `limit`, default `default`) and
/// `pageToken` ask: the entries to skip and to show, or the 400 answer of a bad value.
fn page_of(
    shared: &Shared,
    pairs: &[(String, String)],
    default: usize,
    limit: usize,
) -> Result<(usize, usize), Box<Response>> {
    let invalid = |name: &str| {
        Box::new(api_error(
            400,
            "invalid",
            &format!("Invalid value for: {name}"),
        ))
    };
    let max = match param(pairs, "maxResults").map(str::parse::<usize>) {
        None => default,
        Some(Ok(n)) if (1..=limit).contains(&n) => n,
        _ => return Err(invalid("maxResults")),
    };
    let size = max.min(shared.config.max_page_size.max(1));
    let skip = match param(pairs, "pageToken").map(|t| {
        t.strip_prefix("page-")
            .and_then(|n| n.parse::<usize>().ok())
    }) {
        None => 0,
        Some(Some(skip)) => skip,
        Some(None) => return Err(invalid("pageToken")),
    };
    Ok((skip, size))
}

/// The `nextPageToken` after a page: none after the last; the page's own token when the fault
/// `repeat_cursor_at` hits it.
fn next_token(shared: &Shared, skip: usize, size: usize, total: usize) -> Option<String> {
    if skip + size >= total {
        return None;
    }
    let repeated = shared.config.faults.repeat_cursor_at == Some(skip / size);
    let next = if repeated { skip } else { skip + size };
    Some(format!("page-{next}"))
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let entry = shared
        .log
        .arrived(Instant::now(), request.method().as_str(), request.uri());
    let response = process(&shared, entry, request).await;
    shared.log.answered(entry, response.status().as_u16());
    response
}

async fn process(shared: &Shared, entry: Entry, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, 8 * 1024 * 1024).await else {
        return api_error(413, "tooLarge", "Request too large");
    };
    shared.log.body(entry, &body);
    let path = parts.uri.path().to_owned();
    if path == "/token" && parts.method == Method::POST {
        return token::token(shared, &body);
    }
    let Some(rest) = path.strip_prefix(API_PREFIX) else {
        return api_error(404, "notFound", "Not Found");
    };
    let bearer = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let scopes = bearer.and_then(|token| {
        let now = Instant::now();
        shared
            .lock()
            .tokens
            .iter()
            .find(|t| t.token == token && now < t.until)
            .map(|t| t.scopes.clone())
    });
    let Some(scopes) = scopes else {
        return api_error(401, "authError", "Invalid Credentials");
    };
    {
        let mut state = shared.lock();
        if let Some((status, reason)) = state.fail_next.pop_front() {
            return api_error(status, &reason, "Injected failure");
        }
        if state.storm_left > 0 {
            state.storm_left -= 1;
            return throttled(&shared.config);
        }
        let now = Instant::now();
        if let Some(bucket) = &mut state.bucket
            && bucket.take(now).is_err()
        {
            return throttled(&shared.config);
        }
    }
    // A key may come percent-encoded (`ada%40acme.example`), as clients encode a path.
    let decoded: Vec<String> = rest
        .trim_matches('/')
        .split('/')
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    let segments: Vec<&str> = decoded.iter().map(String::as_str).collect();
    if let Some(refused) = access::refused(&shared.config, &scopes, &parts.method, &segments) {
        return refused;
    }
    if let Some(failed) = page_fault(shared, &parts.method, &segments, &parts.uri).await {
        return failed;
    }
    let json_body = serde_json::from_slice::<Value>(&body).ok();
    let mut state = shared.lock();
    let response = match (parts.method.as_str(), segments.as_slice()) {
        ("GET", ["users"]) => users::list(shared, &state, &parts.uri),
        ("POST", ["users"]) => users::insert(&mut state, json_body),
        ("GET", ["users", key]) => users::get(&state, key),
        ("PUT" | "PATCH", ["users", key]) => users::update(&mut state, key, json_body),
        ("DELETE", ["users", key]) => users::delete(&mut state, key),
        ("GET", ["groups", key]) => groups::get(&state, key),
        ("GET", ["groups", key, "members"]) => groups::members(shared, &state, key, &parts.uri),
        _ => api_error(404, "notFound", "Not Found"),
    };
    if parts.method != Method::GET && response.status().is_success() {
        state.writes += 1;
        if parts.method == Method::POST && segments == ["users"] && state.lost_inserts > 0 {
            state.lost_inserts -= 1;
            return api_error(
                state.lost_status,
                "backendError",
                "Injected failure: the request was carried out, its answer lost.",
            );
        }
    }
    response
}

/// The failing or stalled page of a listing (users, a group's members), as the faults say.
async fn page_fault(
    shared: &Shared,
    method: &Method,
    segments: &[&str],
    uri: &Uri,
) -> Option<Response> {
    let listing = matches!(segments, ["users"] | ["groups", _, "members"]);
    if *method != Method::GET || !listing {
        return None;
    }
    let pairs = query_pairs(uri);
    let default = if segments[0] == "users" { 100 } else { 200 };
    let size = param(&pairs, "maxResults")
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(default)
        .clamp(1, shared.config.max_page_size.max(1));
    let skip = param(&pairs, "pageToken")
        .and_then(|t| t.strip_prefix("page-"))
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(0);
    let page = skip / size;
    let faults = &shared.config.faults;
    if let Some((stalled, delay)) = faults.stall_page
        && stalled == page
    {
        tokio::time::sleep(delay).await;
    }
    match faults.fail_page {
        Some((failing, status)) if failing == page => Some(api_error(
            status,
            "backendError",
            "Injected failure of a page.",
        )),
        _ => None,
    }
}
