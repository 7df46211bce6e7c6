//! An emulator of Google's OAuth token endpoint (JWT bearer grant) and the Admin SDK Directory
//! API's users collection, for tests.
//!
//! It enforces: a JWT assertion signed RS256 by the service account's key (verified with its
//! public key), with the right issuer, subject (the admin), audience (always Google's token
//! endpoint, wherever the assertion is sent), scope and lifetime;
//! bearer tokens that expire; `customer` (or `domain`) on listings, `maxResults` ≤ 500 and
//! `pageToken` paging; the required insert fields (`primaryEmail`, `name.givenName`,
//! `name.familyName`, `password` of 8 characters or more); unique primary emails (409
//! `duplicate`); update with patch semantics; user keys percent-encoded or not; a body field a
//! user resource does not have refused (400, as Google refuses an unknown name); a request-rate limit answered 403
//! `userRateLimitExceeded` (or 429); error bodies `{error:{code, message, errors:[{reason}]}}`.
//! Faults: fail the next requests, and lose the answer to an insert that was made (as a
//! gateway that timed out while the API finished the work would).

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
use serde_json::{Map, Value, json};

use crate::{
    bucket::TokenBucket,
    log::{Entry, LoggedRequest, RequestLog},
    server::{self, Server},
};

const API_PREFIX: &str = "/admin/directory/v1";
/// The OAuth scope an assertion must ask for: managing the directory's users.
const SCOPE: &str = "https://www.googleapis.com/auth/admin.directory.user";
/// The audience every assertion must name, wherever it is sent: Google's token endpoint.
const AUDIENCE: &str = "https://oauth2.googleapis.com/token";
/// The fields of a user resource (Directory API `User`): a request body naming any other is
/// refused, as Google refuses an unknown name in a JSON payload.
const USER_FIELDS: [&str; 45] = [
    "addresses",
    "agreedToTerms",
    "aliases",
    "archived",
    "changePasswordAtNextLogin",
    "creationTime",
    "customSchemas",
    "customerId",
    "deletionTime",
    "emails",
    "etag",
    "externalIds",
    "gender",
    "hashFunction",
    "id",
    "ims",
    "includeInGlobalAddressList",
    "ipWhitelisted",
    "isAdmin",
    "isDelegatedAdmin",
    "isEnforcedIn2Sv",
    "isEnrolledIn2Sv",
    "isMailboxSetup",
    "keywords",
    "kind",
    "languages",
    "lastLoginTime",
    "locations",
    "name",
    "nonEditableAliases",
    "notes",
    "orgUnitPath",
    "organizations",
    "password",
    "phones",
    "posixAccounts",
    "primaryEmail",
    "recoveryEmail",
    "recoveryPhone",
    "relations",
    "sshPublicKeys",
    "suspended",
    "suspensionReason",
    "thumbnailPhotoUrl",
    "websites",
];

/// The first field of a user body that a user resource does not have.
fn unknown_field(user: &Map<String, Value>) -> Option<&str> {
    user.keys()
        .map(String::as_str)
        .find(|field| !USER_FIELDS.contains(field))
}

fn unknown_name(field: &str) -> Response {
    api_error(
        400,
        "invalid",
        &format!(
            "Invalid JSON payload received. Unknown name \"{field}\" at 'resource': Cannot find field."
        ),
    )
}

/// The DER bytes of a PEM block, whatever its label.
fn pem_body(pem: &str) -> Option<Vec<u8>> {
    let body: String = pem
        .lines()
        .map(str::trim)
        .filter(|line| !line.starts_with("-----") && !line.is_empty())
        .collect();
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
    /// Lifetime of issued access tokens.
    pub token_lifetime: Duration,
    /// Requests a second over the API (token bucket); `None`: unlimited.
    pub requests_per_second: Option<f64>,
    /// Bucket capacity.
    pub burst: u32,
    /// Status of a rate-limited request: 403 (`userRateLimitExceeded`) or 429
    /// (`rateLimitExceeded`).
    pub throttle_status: u16,
    /// Most users a page holds, whatever `maxResults` asks.
    pub max_page_size: usize,
}

impl GoogleConfig {
    /// A configuration for a service account whose public key is `public_key_pem`.
    pub fn new(public_key_pem: impl Into<String>) -> Self {
        GoogleConfig {
            client_email: "hris-sync@test-project.iam.gserviceaccount.com".into(),
            admin_email: "admin@acme.example".into(),
            public_key_pem: public_key_pem.into(),
            token_lifetime: Duration::from_secs(3599),
            requests_per_second: None,
            burst: 10,
            throttle_status: 403,
            max_page_size: 500,
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
        let shared = Arc::new(Shared {
            origin: format!("http://{address}"),
            public_key,
            log: RequestLog::default(),
            state: Mutex::new(GoogleState {
                bucket: config
                    .requests_per_second
                    .map(|rate| TokenBucket::new(rate, config.burst)),
                ..GoogleState::default()
            }),
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
            .map(|(t, _)| t.clone())
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
        let Value::Object(mut user) = user else {
            panic!("insert_user needs a JSON object");
        };
        state.sequence += 1;
        let id = format!("1{:020}", state.sequence);
        user.insert("id".into(), json!(id));
        user.entry("orgUnitPath").or_insert(json!("/"));
        user.entry("suspended").or_insert(json!(false));
        full_name(&mut user);
        state.users.insert(id.clone(), Value::Object(user));
        id
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

#[derive(Default)]
struct GoogleState {
    users: BTreeMap<String, Value>,
    sequence: u64,
    tokens: Vec<(String, Instant)>,
    passwords: Vec<String>,
    writes: usize,
    fail_next: VecDeque<(u16, String)>,
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
        return token(shared, &body);
    }
    let Some(rest) = path.strip_prefix(API_PREFIX) else {
        return api_error(404, "notFound", "Not Found");
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
        return api_error(401, "authError", "Invalid Credentials");
    }
    {
        let mut state = shared.lock();
        if let Some((status, reason)) = state.fail_next.pop_front() {
            return api_error(status, &reason, "Injected failure");
        }
        let now = Instant::now();
        if let Some(bucket) = &mut state.bucket
            && bucket.take(now).is_err()
        {
            let (status, reason) = if shared.config.throttle_status == 429 {
                (429, "rateLimitExceeded")
            } else {
                (403, "userRateLimitExceeded")
            };
            return api_error(status, reason, "Quota exceeded for quota metric 'Queries'.");
        }
    }
    // A user key may come percent-encoded (`ada%40acme.example`), as clients encode a path.
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
    let json_body = serde_json::from_slice::<Value>(&body).ok();
    let mut state = shared.lock();
    let response = match (parts.method.as_str(), segments.as_slice()) {
        ("GET", ["users"]) => list(shared, &state, &parts.uri),
        ("POST", ["users"]) => insert(&mut state, json_body),
        ("GET", ["users", key]) => match find(&state, key) {
            Some(id) => json_response(200, state.users[&id].clone()),
            None => api_error(404, "notFound", "Resource Not Found: userKey"),
        },
        ("PUT" | "PATCH", ["users", key]) => update(&mut state, key, json_body),
        ("DELETE", ["users", key]) => match find(&state, key) {
            Some(id) => {
                state.users.remove(&id);
                StatusCode::NO_CONTENT.into_response()
            }
            None => api_error(404, "notFound", "Resource Not Found: userKey"),
        },
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

fn token(shared: &Shared, body: &[u8]) -> Response {
    let uri: Uri = format!("/?{}", String::from_utf8_lossy(body))
        .parse()
        .unwrap_or_default();
    let form: Vec<(String, String)> = Query::<Vec<(String, String)>>::try_from_uri(&uri)
        .map(|q| q.0)
        .unwrap_or_default();
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let oauth_error = |status: u16, error: &str, description: &str| {
        json_response(
            status,
            json!({"error": error, "error_description": description}),
        )
    };
    if field("grant_type") != Some("urn:ietf:params:oauth:grant-type:jwt-bearer") {
        return oauth_error(400, "unsupported_grant_type", "Invalid grant_type.");
    }
    let Some(assertion) = field("assertion") else {
        return oauth_error(
            400,
            "invalid_request",
            "Missing required parameter: assertion",
        );
    };
    let parts: Vec<&str> = assertion.split('.').collect();
    let decode = |part: &str| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .ok()
    };
    let (Some(header), Some(claims), Some(signature)) = (
        parts.first().and_then(|p| decode(p)),
        parts.get(1).and_then(|p| decode(p)),
        parts.get(2).and_then(|p| decode(p)),
    ) else {
        return oauth_error(400, "invalid_grant", "Invalid JWT: malformed.");
    };
    if parts.len() != 3 {
        return oauth_error(400, "invalid_grant", "Invalid JWT: malformed.");
    }
    let header: Value = serde_json::from_slice(&header).unwrap_or(Value::Null);
    if header["alg"] != "RS256" {
        return oauth_error(400, "invalid_grant", "Invalid JWT: alg must be RS256.");
    }
    let key = ring::signature::UnparsedPublicKey::new(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        &shared.public_key,
    );
    let signed = format!("{}.{}", parts[0], parts[1]);
    if key.verify(signed.as_bytes(), &signature).is_err() {
        return oauth_error(400, "invalid_grant", "Invalid JWT Signature.");
    }
    let claims: Value = serde_json::from_slice(&claims).unwrap_or(Value::Null);
    let now = jiff::Timestamp::now().as_second();
    let (Some(iat), Some(exp)) = (claims["iat"].as_i64(), claims["exp"].as_i64()) else {
        return oauth_error(
            400,
            "invalid_grant",
            "Invalid JWT: iat and exp are required.",
        );
    };
    if exp <= now || iat > now + 60 || exp - iat > 3600 {
        return oauth_error(
            400,
            "invalid_grant",
            "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.",
        );
    }
    if claims["aud"] != AUDIENCE {
        return oauth_error(400, "invalid_grant", "Invalid JWT: audience.");
    }
    if claims["iss"] != shared.config.client_email.as_str() {
        return oauth_error(400, "invalid_grant", "Invalid JWT: issuer.");
    }
    let scopes_ok = claims["scope"]
        .as_str()
        .is_some_and(|s| s.split(' ').any(|scope| scope == SCOPE));
    if claims["sub"] != shared.config.admin_email.as_str() || !scopes_ok {
        return oauth_error(
            401,
            "unauthorized_client",
            "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.",
        );
    }
    let token: String = std::iter::repeat_with(fastrand::alphanumeric)
        .take(64)
        .collect();
    let lifetime = shared.config.token_lifetime;
    shared
        .lock()
        .tokens
        .push((format!("ya29.{token}"), Instant::now() + lifetime));
    json_response(
        200,
        json!({"access_token": format!("ya29.{token}"), "expires_in": lifetime.as_secs(),
               "token_type": "Bearer"}),
    )
}

fn find(state: &GoogleState, key: &str) -> Option<String> {
    if state.users.contains_key(key) {
        return Some(key.to_owned());
    }
    let key = key.to_lowercase();
    state
        .users
        .iter()
        .find(|(_, u)| u["primaryEmail"].as_str().map(str::to_lowercase) == Some(key.clone()))
        .map(|(id, _)| id.clone())
}

fn email_taken(state: &GoogleState, email: &str, except: Option<&str>) -> bool {
    let email = email.to_lowercase();
    state.users.iter().any(|(id, u)| {
        Some(id.as_str()) != except
            && u["primaryEmail"].as_str().map(str::to_lowercase) == Some(email.clone())
    })
}

fn list(shared: &Shared, state: &GoogleState, uri: &Uri) -> Response {
    let query: Vec<(String, String)> = Query::<Vec<(String, String)>>::try_from_uri(uri)
        .map(|q| q.0)
        .unwrap_or_default();
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if param("customer").is_none() && param("domain").is_none() {
        return api_error(400, "badRequest", "Bad Request");
    }
    let max = match param("maxResults").map(str::parse::<usize>) {
        None => 100,
        Some(Ok(n)) if (1..=500).contains(&n) => n,
        _ => return api_error(400, "invalid", "Invalid value for: maxResults"),
    };
    let page = max.min(shared.config.max_page_size.max(1));
    let skip = match param("pageToken").map(|t| {
        t.strip_prefix("page-")
            .and_then(|n| n.parse::<usize>().ok())
    }) {
        None => 0,
        Some(Some(skip)) => skip,
        Some(None) => return api_error(400, "invalid", "Invalid value for: pageToken"),
    };
    let users: Vec<Value> = state
        .users
        .values()
        .skip(skip)
        .take(page)
        .cloned()
        .collect();
    let mut body = json!({"kind": "admin#directory#users", "etag": "\"emulator\"", "users": users});
    if skip + page < state.users.len() {
        body["nextPageToken"] = json!(format!("page-{}", skip + page));
    }
    json_response(200, body)
}

fn insert(state: &mut GoogleState, body: Option<Value>) -> Response {
    let Some(Value::Object(mut user)) = body else {
        return api_error(400, "parseError", "Parse Error");
    };
    if let Some(field) = unknown_field(&user) {
        return unknown_name(field);
    }
    let email = user
        .get("primaryEmail")
        .and_then(Value::as_str)
        .filter(|e| e.contains('@'))
        .map(str::to_owned);
    let Some(email) = email else {
        return api_error(400, "invalid", "Invalid Input: primary_user_email");
    };
    for (field, label) in [("givenName", "GivenName"), ("familyName", "FamilyName")] {
        if user
            .get("name")
            .and_then(|n| n[field].as_str())
            .is_none_or(|s| s.trim().is_empty())
        {
            return api_error(
                400,
                "invalid",
                &format!("Invalid Given/Family Name: {label}"),
            );
        }
    }
    let Some(password) = user
        .get("password")
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        return api_error(400, "invalid", "Invalid Password");
    };
    if password.chars().count() < 8 {
        return api_error(400, "invalid", "Invalid Password");
    }
    if email_taken(state, &email, None) {
        return api_error(409, "duplicate", "Entity already exists.");
    }
    if let Some(path) = user.get("orgUnitPath").and_then(Value::as_str)
        && !path.starts_with('/')
    {
        return api_error(400, "invalid", "Invalid Input: orgUnitPath");
    }
    state.passwords.push(password);
    state.sequence += 1;
    let id = format!("1{:020}", state.sequence);
    user.remove("password");
    user.remove("hashFunction");
    user.insert("kind".into(), json!("admin#directory#user"));
    user.insert("id".into(), json!(id));
    user.entry("orgUnitPath").or_insert(json!("/"));
    user.entry("suspended").or_insert(json!(false));
    user.insert("isAdmin".into(), json!(false));
    full_name(&mut user);
    let resource = Value::Object(user);
    state.users.insert(id, resource.clone());
    json_response(200, resource)
}

fn full_name(user: &mut Map<String, Value>) {
    if let Some(Value::Object(name)) = user.get_mut("name") {
        let full = format!(
            "{} {}",
            name.get("givenName")
                .and_then(Value::as_str)
                .unwrap_or_default(),
            name.get("familyName")
                .and_then(Value::as_str)
                .unwrap_or_default()
        );
        name.insert("fullName".into(), json!(full.trim()));
    }
}

fn update(state: &mut GoogleState, key: &str, body: Option<Value>) -> Response {
    let Some(id) = find(state, key) else {
        return api_error(404, "notFound", "Resource Not Found: userKey");
    };
    let Some(Value::Object(changes)) = body else {
        return api_error(400, "parseError", "Parse Error");
    };
    if let Some(field) = unknown_field(&changes) {
        return unknown_name(field);
    }
    let Some(Value::Object(mut user)) = state.users.get(&id).cloned() else {
        return api_error(404, "notFound", "Resource Not Found: userKey");
    };
    for (field, value) in changes {
        match field.as_str() {
            "id" | "kind" | "isAdmin" => continue,
            "password" => {
                if let Some(password) = value.as_str() {
                    if password.chars().count() < 8 {
                        return api_error(400, "invalid", "Invalid Password");
                    }
                    state.passwords.push(password.to_owned());
                }
                continue;
            }
            "primaryEmail" => {
                let Some(email) = value.as_str().filter(|e| e.contains('@')) else {
                    return api_error(400, "invalid", "Invalid Input: primary_user_email");
                };
                if email_taken(state, email, Some(&id)) {
                    return api_error(409, "duplicate", "Entity already exists.");
                }
            }
            "suspended" if !value.is_boolean() => {
                return api_error(400, "invalid", "Invalid Input: suspended");
            }
            "orgUnitPath" if !value.as_str().is_some_and(|p| p.starts_with('/')) => {
                return api_error(400, "invalid", "Invalid Input: orgUnitPath");
            }
            _ => {}
        }
        match (user.get_mut(&field), value) {
            (Some(Value::Object(existing)), Value::Object(inner)) => {
                for (k, v) in inner {
                    if v.is_null() {
                        existing.remove(&k);
                    } else {
                        existing.insert(k, v);
                    }
                }
            }
            (_, Value::Null) => {
                user.remove(&field);
            }
            (_, value) => {
                user.insert(field, value);
            }
        }
    }
    for (field, label) in [("givenName", "GivenName"), ("familyName", "FamilyName")] {
        if user
            .get("name")
            .and_then(|n| n[field].as_str())
            .is_none_or(|s| s.trim().is_empty())
        {
            return api_error(
                400,
                "invalid",
                &format!("Invalid Given/Family Name: {label}"),
            );
        }
    }
    full_name(&mut user);
    let resource = Value::Object(user);
    state.users.insert(id, resource.clone());
    json_response(200, resource)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_may_name_only_fields_of_a_user() {
        let body = |v: Value| v.as_object().unwrap().clone();
        assert_eq!(
            unknown_field(&body(json!({"primaryEmail": "a@x.example", "name": {},
                "organizations": [], "orgUnitPath": "/", "suspended": false}))),
            None
        );
        // The form a mapping like `organizations[primary].title` would write.
        assert_eq!(
            unknown_field(&body(json!({"organizations[primary]": {"title": "CTO"}}))),
            Some("organizations[primary]")
        );
        assert_eq!(
            unknown_field(&body(json!({"jobTitle": "CTO"}))),
            Some("jobTitle")
        );
    }
}
