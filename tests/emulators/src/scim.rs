//! A SCIM 2.0 service provider (RFC 7643 / RFC 7644) that serves `User` resources from memory.
//!
//! It answers the way real SCIM servers do — `ListResponse` paging, filters, `PatchOp`, `Bulk`,
//! ETags, SCIM `Error` bodies — and can be told to misbehave the way real servers do: rate limits
//! (429 with `Retry-After`), latency, injected failures (per request, per write or per user),
//! writes held at a chosen point (to stop a client there), broken list pages (padded past a
//! size limit, empty before their end, users without an id), and quirks such as ignoring
//! `count`, a wrong `totalResults`, or booleans sent as strings.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use hris_emulators::scim::{ScimConfig, ScimEmulator};
//! let scim = ScimEmulator::start(ScimConfig::default()).await?;
//! let id = scim.insert_user(serde_json::json!({"userName": "ada@example.com"}));
//! // point a client at scim.base_url() with "Authorization: Bearer test-token" …
//! assert_eq!(scim.users()[0]["id"], id.as_str());
//! scim.stop().await;
//! # Ok(()) }
//! ```
//!
//! Everything lives under `/scim/v2`: `ServiceProviderConfig`, `Schemas`, `ResourceTypes`,
//! `Users` (`GET`, `POST`, `POST /Users/.search`, and `GET`/`PUT`/`PATCH`/`DELETE /Users/{id}`),
//! `POST /.search` (all resource types, i.e. Users) and `Bulk`. Any other path (including
//! `/Groups`) answers 404 with a SCIM error.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::bucket::{TokenBucket, retry_after_seconds};
use crate::log::{LoggedRequest, RequestLog};
use crate::server::{self, Server};

/// Schema URN of the core `User` resource.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// Schema URN of the enterprise `User` extension (also the key of its object in a resource).
pub const ENTERPRISE_USER_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const BULK_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
const SERVICE_PROVIDER_CONFIG_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
const SCIM_CONTENT_TYPE: &str = "application/scim+json";
const PREFIX: &str = "/scim/v2";
/// Largest request body read at all; `Bulk` enforces its own, smaller, advertised limit.
const MAX_BODY: usize = 64 << 20;
/// Core `User` attributes that are multi-valued (a single value given for them is wrapped).
const MULTI_VALUED: &[&str] = &[
    "emails",
    "phoneNumbers",
    "ims",
    "photos",
    "addresses",
    "groups",
    "entitlements",
    "roles",
    "x509Certificates",
];

/// How the emulated SCIM server behaves.
#[derive(Clone, Debug)]
pub struct ScimConfig {
    /// Required `Authorization: Bearer <token>`; anything else answers 401.
    pub token: String,
    /// Rate limit over all requests (token bucket refill rate); `None` = unlimited.
    pub requests_per_second: Option<f64>,
    /// Token-bucket capacity (0 counts as 1).
    pub burst: u32,
    /// Added to every response.
    pub latency: Duration,
    /// Server cap on `count`; also advertised as `filter.maxResults`.
    pub max_page_size: usize,
    /// Quirk: ignore the `count` parameter and always page by `max_page_size`.
    pub ignore_count: bool,
    /// Quirk: `totalResults` reports 7 more than the truth.
    pub miscount_total: bool,
    /// Advertise and accept PATCH; when false PATCH answers 501.
    pub patch: bool,
    /// Advertise ETags, send `ETag` headers and enforce `If-Match` (412 on mismatch).
    pub etag: bool,
    /// `(maxOperations, maxPayloadSize in bytes)`, advertised and enforced; `None` = Bulk
    /// unsupported (501).
    pub bulk: Option<(usize, usize)>,
    /// Quirk: responses carry `"active": "true"` / `"false"` strings.
    pub booleans_as_strings: bool,
}

impl Default for ScimConfig {
    fn default() -> Self {
        ScimConfig {
            token: "test-token".to_string(),
            requests_per_second: None,
            burst: 1,
            latency: Duration::ZERO,
            max_page_size: 100,
            ignore_count: false,
            miscount_total: false,
            patch: true,
            etag: true,
            bulk: Some((100, 1_048_576)),
            booleans_as_strings: false,
        }
    }
}

/// A running SCIM server on 127.0.0.1 (random port); stops on [`ScimEmulator::stop`] or drop.
pub struct ScimEmulator {
    shared: Arc<Shared>,
    server: Server,
}

impl ScimEmulator {
    /// Binds 127.0.0.1 on a random free port (port 0) and serves in a tokio task.
    pub async fn start(config: ScimConfig) -> std::io::Result<ScimEmulator> {
        Self::start_on(config, server::bind_local().await?).await
    }

    /// Serves on a listener bound by the caller (`hris-emulators scim`). Resource locations
    /// use the listener's address (127.0.0.1 / ::1 when it is bound to the unspecified one).
    pub async fn start_on(
        config: ScimConfig,
        listener: tokio::net::TcpListener,
    ) -> std::io::Result<ScimEmulator> {
        let shared = Arc::new(Shared::new(config, listener.local_addr()?));
        let server = Server::start(listener, router(shared.clone()))?;
        Ok(ScimEmulator { shared, server })
    }

    /// The SCIM base URL, e.g. `"http://127.0.0.1:41234/scim/v2"`.
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// Every request received, in arrival order (including ones answered 401/429/5xx).
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.shared.log.requests()
    }

    /// Current users as SCIM JSON resources (with `id`, `meta`, `schemas`), sorted by id.
    ///
    /// These are the stored resources: `active` is always a JSON boolean here, whatever
    /// [`ScimConfig::booleans_as_strings`] makes the wire carry.
    pub fn users(&self) -> Vec<Value> {
        let state = self.shared.lock();
        let mut users: Vec<(&str, Value)> = state
            .store
            .users
            .values()
            .map(|u| (u.id.as_str(), Value::Object(u.resource.clone())))
            .collect();
        users.sort_by(|a, b| a.0.cmp(b.0));
        users.into_iter().map(|(_, v)| v).collect()
    }

    /// Seeds a user (SCIM JSON without `id`/`meta`; the emulator assigns them). Returns the id.
    ///
    /// # Panics
    /// When the user is not a valid SCIM user (no `userName`, `active` not a boolean) or its
    /// `userName` is already taken: the server would refuse it, so seeding it is a test bug.
    pub fn insert_user(&self, user: Value) -> String {
        let mut state = self.shared.lock();
        let mut data = match user {
            Value::Object(map) => map,
            other => panic!("insert_user needs a JSON object, got {other}"),
        };
        if let Err(e) = normalise(&mut data, true) {
            panic!("insert_user: invalid user: {}", e.detail);
        }
        let name = user_name_of(&data).unwrap_or_default().to_string();
        assert!(
            !state.store.user_name_taken(&name, None),
            "insert_user: userName {name:?} is already taken"
        );
        let seq = state.store.insert(data, &self.shared.base_url);
        state.store.users[&seq].id.clone()
    }

    /// Answer the next `count` requests with `status` (e.g. 429, 503, 500), with a `Retry-After`
    /// header of `retry_after` seconds when `Some`. The requests still get logged. Calls queue up.
    pub fn fail_next(&self, count: usize, status: u16, retry_after: Option<u64>) {
        let mut state = self.shared.lock();
        state
            .fail_next
            .extend(std::iter::repeat_n((status, retry_after), count));
    }

    /// Like [`ScimEmulator::fail_next`], for writes only (POST/PUT/PATCH/DELETE, `/Bulk`
    /// included; searches are reads): the next `count` writes answer `status`. Reads pass.
    pub fn fail_next_writes(&self, count: usize, status: u16, retry_after: Option<u64>) {
        let mut state = self.shared.lock();
        state
            .fail_next_writes
            .extend(std::iter::repeat_n((status, retry_after), count));
    }

    /// Every write (POST/PUT/PATCH/DELETE, also inside `/Bulk`) touching a user whose
    /// `userName` equals `user_name` (case-insensitive) answers `status` with a SCIM error body.
    pub fn fail_user(&self, user_name: &str, status: u16) {
        let mut state = self.shared.lock();
        state.fail_users.insert(user_name.to_lowercase(), status);
    }

    /// Forgets every injected failure: queued ones ([`ScimEmulator::fail_next`],
    /// [`ScimEmulator::fail_next_writes`]), per-user ones ([`ScimEmulator::fail_user`]) and
    /// broken list pages ([`ScimEmulator::pad_lists`] and the switches after it).
    pub fn clear_failures(&self) {
        let mut state = self.shared.lock();
        state.list_faults = ListFaults::default();
        state.fail_next.clear();
        state.fail_next_writes.clear();
        state.fail_users.clear();
    }

    /// Pads every later list page (`GET /Users`, searches) with `bytes` of whitespace in an
    /// extension attribute: an answer larger than a client's size limit.
    pub fn pad_lists(&self, bytes: usize) {
        self.shared.lock().list_faults.padding = bytes;
    }

    /// List pages from `start_index` on come back without users while `totalResults` still
    /// counts them all: a server that lost the tail of its list.
    pub fn empty_pages_from(&self, start_index: usize) {
        self.shared.lock().list_faults.empty_from = Some(start_index);
    }

    /// Every user on a later list page is sent with `attribute` set to `value`, or without
    /// it when `value` is `None` (`("id", None)`: users without an id; `("active",
    /// Some(Value::Null))`: users whose state is not stated). Stored users are unchanged.
    pub fn rewrite_listed(&self, attribute: &str, value: Option<Value>) {
        self.shared
            .lock()
            .list_faults
            .rewrites
            .push((attribute.to_owned(), value));
    }

    /// Lets the next `count` authorised writes through (a `/Bulk` request counts as one), then
    /// holds every later write before it touches any user, until
    /// [`ScimEmulator::release_writes`]. The returned receiver completes when the first write
    /// is held: by then exactly the first `count` writes have been applied (when the client
    /// writes one at a time). Lets a test stop a client at a known point, say to kill it.
    pub fn hold_writes_after(&self, count: usize) -> futures::channel::oneshot::Receiver<()> {
        self.hold(count, false)
    }

    /// Like [`ScimEmulator::hold_writes_after`], but a held write is applied first and only
    /// its answer waits: the server made the change, the client has not heard of it (the
    /// receiver completes once the first held write is applied).
    pub fn hold_answers_after(&self, count: usize) -> futures::channel::oneshot::Receiver<()> {
        self.hold(count, true)
    }

    fn hold(&self, count: usize, apply_first: bool) -> futures::channel::oneshot::Receiver<()> {
        let (tx, rx) = futures::channel::oneshot::channel();
        let mut state = self.shared.lock();
        state.hold = WriteHold {
            let_through: 0,
            after: Some(count),
            apply_first,
            first_held: Some(tx),
            held: Vec::new(),
        };
        rx
    }

    /// Ends the hold: held writes answer (503 without being applied, or their answer when
    /// applied first; their client has usually gone by then), and later writes pass.
    pub fn release_writes(&self) {
        let held = {
            let mut state = self.shared.lock();
            std::mem::take(&mut state.hold).held
        };
        for write in held {
            let _ = write.send(());
        }
    }

    /// Stops the server: no new connections, idle ones are closed, in-flight requests finish.
    pub async fn stop(self) {
        self.server.stop().await;
    }
}

/// Serves on a listener you bound yourself (for a CLI command); runs until the future is dropped.
///
/// Resource locations use the listener's address (127.0.0.1 / ::1 when it is bound to the
/// unspecified address).
pub async fn serve(config: ScimConfig, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    let _serving = ScimEmulator::start_on(config, listener).await?;
    std::future::pending().await
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(handle).with_state(shared)
}

// ---------------------------------------------------------------------------------------------
// Server state

struct Shared {
    config: ScimConfig,
    base_url: String,
    log: RequestLog,
    state: Mutex<ServerState>,
}

struct ServerState {
    bucket: Option<TokenBucket>,
    fail_next: VecDeque<(u16, Option<u64>)>,
    fail_next_writes: VecDeque<(u16, Option<u64>)>,
    fail_users: HashMap<String, u16>,
    hold: WriteHold,
    list_faults: ListFaults,
    store: Store,
}

/// How list pages are broken on purpose (see [`ScimEmulator::pad_lists`] and the switches
/// after it).
#[derive(Default)]
struct ListFaults {
    /// Bytes of padding added to every list page.
    padding: usize,
    /// Pages at this startIndex or later come back empty (`totalResults` stays true).
    empty_from: Option<usize>,
    /// Attributes set (or, with `None`, left out) on every listed user.
    rewrites: Vec<(String, Option<Value>)>,
}

/// A write being held.
struct HeldWrite {
    released: futures::channel::oneshot::Receiver<()>,
    apply_first: bool,
    first: Option<futures::channel::oneshot::Sender<()>>,
}

/// Writes held back by [`ScimEmulator::hold_writes_after`].
#[derive(Default)]
struct WriteHold {
    /// Writes let through so far.
    let_through: usize,
    /// Writes let through before holding; `None`: no hold.
    after: Option<usize>,
    /// Held writes are applied, and only their answers wait.
    apply_first: bool,
    /// Told when the first write is held.
    first_held: Option<futures::channel::oneshot::Sender<()>>,
    /// One per held write; told (or dropped) on release.
    held: Vec<futures::channel::oneshot::Sender<()>>,
}

impl Shared {
    fn new(config: ScimConfig, address: SocketAddr) -> Shared {
        let base_url = format!("http://{}{PREFIX}", server::reachable(address));
        let bucket = config
            .requests_per_second
            .map(|rate| TokenBucket::new(rate, config.burst));
        Shared {
            config,
            base_url,
            log: RequestLog::default(),
            state: Mutex::new(ServerState {
                bucket,
                fail_next: VecDeque::new(),
                fail_next_writes: VecDeque::new(),
                fail_users: HashMap::new(),
                hold: WriteHold::default(),
                list_faults: ListFaults::default(),
                store: Store {
                    id_prefix: fastrand::u32(..),
                    ..Store::default()
                },
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, ServerState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Counts a write against the hold; when it is to be held: the receiver to wait on, whether
    /// to apply it first, and (for the first held write) whom to tell once it is held.
    fn hold_write(&self) -> Option<HeldWrite> {
        let mut state = self.lock();
        let hold = &mut state.hold;
        let after = hold.after?;
        if hold.let_through < after {
            hold.let_through += 1;
            return None;
        }
        let (tx, released) = futures::channel::oneshot::channel();
        hold.held.push(tx);
        Some(HeldWrite {
            released,
            apply_first: hold.apply_first,
            first: hold.first_held.take(),
        })
    }

    /// Rate limit, then injected failures: both come before authentication.
    fn admit(&self, at: Instant, write: bool) -> Result<(), ScimError> {
        let mut state = self.lock();
        if let Some(bucket) = &mut state.bucket
            && let Err(wait) = bucket.take(at)
        {
            let retry_after = retry_after_seconds(wait);
            return Err(ScimError::new(429, None, "rate limit").retry_after(Some(retry_after)));
        }
        if let Some((status, retry_after)) = state.fail_next.pop_front() {
            return Err(ScimError::new(status, None, "injected failure").retry_after(retry_after));
        }
        if write && let Some((status, retry_after)) = state.fail_next_writes.pop_front() {
            return Err(ScimError::new(status, None, "injected failure").retry_after(retry_after));
        }
        Ok(())
    }

    fn authorised(&self, headers: &HeaderMap) -> bool {
        let Some(value) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        else {
            return false;
        };
        let Some((scheme, token)) = value.trim().split_once(' ') else {
            return false;
        };
        scheme.eq_ignore_ascii_case("bearer") && token.trim() == self.config.token
    }

    fn check_if_match(&self, if_match: Option<&str>, version: u64) -> Result<(), ScimError> {
        let Some(if_match) = if_match.filter(|_| self.config.etag) else {
            return Ok(());
        };
        let current = version.to_string();
        let matches = if_match.split(',').map(str::trim).any(|tag| {
            let tag = tag.strip_prefix("W/").unwrap_or(tag);
            tag == "*" || tag.trim_matches('"') == current
        });
        if matches {
            Ok(())
        } else {
            Err(ScimError::new(
                412,
                None,
                format!("If-Match {if_match} does not match the current version W/\"{version}\""),
            ))
        }
    }

    fn version_tag(&self, version: u64) -> Option<String> {
        self.config.etag.then(|| format!("W/\"{version}\""))
    }
}

fn check_fail_user(state: &ServerState, names: &[Option<&str>]) -> Result<(), ScimError> {
    for name in names.iter().flatten() {
        if let Some(&status) = state.fail_users.get(&name.to_lowercase()) {
            return Err(ScimError::new(
                status,
                None,
                format!("injected failure for user {name}"),
            ));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// User store

struct StoredUser {
    id: String,
    version: u64,
    created: String,
    /// The full resource: `schemas`, `id`, the attributes, `meta`.
    resource: Map<String, Value>,
}

#[derive(Default)]
struct Store {
    id_prefix: u32,
    next_seq: u64,
    /// By creation order.
    users: BTreeMap<u64, StoredUser>,
    by_id: HashMap<String, u64>,
    by_user_name: HashMap<String, u64>,
    by_external_id: HashMap<String, Vec<u64>>,
}

impl Store {
    fn find(&self, id: &str) -> Option<u64> {
        self.by_id.get(id).copied()
    }

    fn user_name_taken(&self, name: &str, except: Option<u64>) -> bool {
        self.by_user_name
            .get(&name.to_lowercase())
            .is_some_and(|&seq| Some(seq) != except)
    }

    fn index(&mut self, seq: u64) {
        let resource = &self.users[&seq].resource;
        if let Some(name) = user_name_of(resource) {
            self.by_user_name.insert(name.to_lowercase(), seq);
        }
        if let Some(external) = resource.get("externalId").and_then(Value::as_str) {
            self.by_external_id
                .entry(external.to_string())
                .or_default()
                .push(seq);
        }
    }

    fn unindex(&mut self, seq: u64) {
        let resource = &self.users[&seq].resource;
        if let Some(name) = user_name_of(resource) {
            self.by_user_name.remove(&name.to_lowercase());
        }
        if let Some(external) = resource.get("externalId").and_then(Value::as_str)
            && let Some(seqs) = self.by_external_id.get_mut(external)
        {
            seqs.retain(|&s| s != seq);
            if seqs.is_empty() {
                self.by_external_id.remove(external);
            }
        }
    }

    fn insert(&mut self, data: Map<String, Value>, base_url: &str) -> u64 {
        self.next_seq += 1;
        let seq = self.next_seq;
        let id = format!("{:08x}-0000-4000-8000-{seq:012x}", self.id_prefix);
        let now = now_string();
        let resource = build_resource(&id, data, &now, &now, 1, base_url);
        self.users.insert(
            seq,
            StoredUser {
                id: id.clone(),
                version: 1,
                created: now,
                resource,
            },
        );
        self.by_id.insert(id, seq);
        self.index(seq);
        seq
    }

    /// Replaces the attributes; bumps version and lastModified when anything changed.
    fn update(&mut self, seq: u64, data: Map<String, Value>, base_url: &str) {
        if data_of(&self.users[&seq].resource) == data {
            return;
        }
        self.unindex(seq);
        let user = self.users.get_mut(&seq).expect("user exists");
        user.version += 1;
        user.resource = build_resource(
            &user.id,
            data,
            &user.created,
            &now_string(),
            user.version,
            base_url,
        );
        self.index(seq);
    }

    fn remove(&mut self, seq: u64) {
        self.unindex(seq);
        if let Some(user) = self.users.remove(&seq) {
            self.by_id.remove(&user.id);
        }
    }

    /// Users a filter can match, in creation order: narrowed by the indexes when the filter
    /// pins `id`, `userName` or `externalId` with `eq`.
    fn candidates(&self, filter: Option<&Filter>) -> Vec<u64> {
        if let Some(filter) = filter
            && let Some(seqs) = self.indexed(filter)
        {
            return seqs;
        }
        self.users.keys().copied().collect()
    }

    fn indexed(&self, filter: &Filter) -> Option<Vec<u64>> {
        match filter {
            Filter::And(a, b) => self.indexed(a).or_else(|| self.indexed(b)),
            Filter::Compare(path, CompareOp::Eq, Value::String(value))
                if path.container == Container::Core && path.sub.is_none() =>
            {
                let attr = path.attr.as_deref()?;
                let mut seqs: Vec<u64> = if attr.eq_ignore_ascii_case("id") {
                    self.by_id.get(value).copied().into_iter().collect()
                } else if attr.eq_ignore_ascii_case("userName") {
                    self.by_user_name
                        .get(&value.to_lowercase())
                        .copied()
                        .into_iter()
                        .collect()
                } else if attr.eq_ignore_ascii_case("externalId") {
                    self.by_external_id.get(value).cloned().unwrap_or_default()
                } else {
                    return None;
                };
                seqs.sort_unstable();
                Some(seqs)
            }
            _ => None,
        }
    }
}

fn now_string() -> String {
    format!("{:.3}", jiff::Timestamp::now())
}

fn build_resource(
    id: &str,
    data: Map<String, Value>,
    created: &str,
    last_modified: &str,
    version: u64,
    base_url: &str,
) -> Map<String, Value> {
    let mut schemas = vec![json!(USER_SCHEMA)];
    if data.contains_key(ENTERPRISE_USER_SCHEMA) {
        schemas.push(json!(ENTERPRISE_USER_SCHEMA));
    }
    let mut resource = Map::new();
    resource.insert("schemas".into(), Value::Array(schemas));
    resource.insert("id".into(), json!(id));
    resource.extend(data);
    resource.insert(
        "meta".into(),
        json!({
            "resourceType": "User",
            "created": created,
            "lastModified": last_modified,
            "location": format!("{base_url}/Users/{id}"),
            "version": format!("W/\"{version}\""),
        }),
    );
    resource
}

/// The client-owned attributes of a stored resource.
fn data_of(resource: &Map<String, Value>) -> Map<String, Value> {
    let mut data = resource.clone();
    for key in ["schemas", "id", "meta"] {
        data.remove(key);
    }
    data
}

fn user_name_of(data: &Map<String, Value>) -> Option<&str> {
    get_ci(data, "userName").and_then(Value::as_str)
}

/// Validates and normalises client-given attributes: drops read-only and null values, puts the
/// enterprise extension under its canonical key, accepts `active` (and `primary`) as
/// `"true"`/`"false"` strings, and wants a non-empty string `userName`.
///
/// `default_active` (for POST and PUT, which give the whole resource) makes a missing `active`
/// true; after a PATCH that removed it, it stays unassigned.
fn normalise(data: &mut Map<String, Value>, default_active: bool) -> Result<(), ScimError> {
    data.retain(|key, value| {
        !(key.eq_ignore_ascii_case("id")
            || key.eq_ignore_ascii_case("meta")
            || key.eq_ignore_ascii_case("schemas")
            || value.is_null()
            || value.as_array().is_some_and(Vec::is_empty))
    });
    if let Some(key) = key_ci(data, ENTERPRISE_USER_SCHEMA)
        && key != ENTERPRISE_USER_SCHEMA
    {
        let value = data.remove(&key).unwrap_or(Value::Null);
        data.insert(ENTERPRISE_USER_SCHEMA.to_string(), value);
    }
    if let Some(extension) = data.get_mut(ENTERPRISE_USER_SCHEMA) {
        let Some(extension) = extension.as_object_mut() else {
            return Err(ScimError::new(
                400,
                Some("invalidValue"),
                "the enterprise extension must be an object",
            ));
        };
        extension.retain(|_, value| !value.is_null());
        if let Some(key) = key_ci(extension, "manager") {
            match extension.get(&key) {
                Some(Value::String(s)) if s.is_empty() => {
                    extension.remove(&key);
                }
                Some(Value::String(s)) => {
                    let manager = json!({ "value": s });
                    extension.insert(key, manager);
                }
                Some(Value::Object(o)) if o.is_empty() => {
                    extension.remove(&key);
                }
                _ => {}
            }
        }
        if extension.is_empty() {
            data.remove(ENTERPRISE_USER_SCHEMA);
        }
    }
    let active_key = key_ci(data, "active").unwrap_or_else(|| "active".to_string());
    let active = match data.get(&active_key) {
        None => default_active.then_some(true),
        Some(value) => Some(as_bool(value).ok_or_else(|| {
            ScimError::new(
                400,
                Some("invalidValue"),
                format!("active must be a boolean, got {value}"),
            )
        })?),
    };
    if let Some(active) = active {
        data.insert(active_key, Value::Bool(active));
    }
    if let Some(Value::Array(emails)) = get_ci_mut(data, "emails") {
        for email in emails.iter_mut().filter_map(Value::as_object_mut) {
            if let Some(key) = key_ci(email, "primary")
                && let Some(primary) = email.get(&key).and_then(as_bool)
            {
                email.insert(key, Value::Bool(primary));
            }
        }
    }
    match get_ci(data, "userName") {
        Some(Value::String(name)) if !name.trim().is_empty() => Ok(()),
        Some(other) => Err(ScimError::new(
            400,
            Some("invalidValue"),
            format!("userName must be a non-empty string, got {other}"),
        )),
        None => Err(ScimError::new(
            400,
            Some("invalidValue"),
            "userName is required",
        )),
    }
}

fn as_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// The actual key of `map` naming `name` (exact match first, then case-insensitive).
fn key_ci(map: &Map<String, Value>, name: &str) -> Option<String> {
    if map.contains_key(name) {
        return Some(name.to_string());
    }
    map.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned()
}

fn get_ci<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    map.get(name).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

fn get_ci_mut<'a>(map: &'a mut Map<String, Value>, name: &str) -> Option<&'a mut Value> {
    let key = key_ci(map, name)?;
    map.get_mut(&key)
}

fn is_multi_valued(name: &str) -> bool {
    MULTI_VALUED.iter().any(|m| m.eq_ignore_ascii_case(name))
}

// ---------------------------------------------------------------------------------------------
// Errors and responses

#[derive(Clone, Debug)]
struct ScimError {
    status: u16,
    scim_type: Option<&'static str>,
    detail: String,
    retry_after: Option<u64>,
}

impl ScimError {
    fn new(status: u16, scim_type: Option<&'static str>, detail: impl Into<String>) -> ScimError {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
            retry_after: None,
        }
    }

    fn retry_after(mut self, seconds: Option<u64>) -> ScimError {
        self.retry_after = seconds;
        self
    }

    fn body(&self) -> Value {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.to_string(),
            "detail": self.detail,
        });
        if let Some(scim_type) = self.scim_type {
            body["scimType"] = json!(scim_type);
        }
        body
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = scim_json(status, &self.body());
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"scim\""),
            );
        }
        response
    }
}

fn scim_json(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(SCIM_CONTENT_TYPE),
        )],
        body.to_string(),
    )
        .into_response()
}

fn not_found(what: &str) -> ScimError {
    ScimError::new(404, None, format!("{what} not found"))
}

fn method_not_allowed(method: &Method, path: &str) -> ScimError {
    ScimError::new(405, None, format!("{method} is not supported on {path}"))
}

fn invalid_syntax(detail: impl Into<String>) -> ScimError {
    ScimError::new(400, Some("invalidSyntax"), detail)
}

// ---------------------------------------------------------------------------------------------
// HTTP handling

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let at = Instant::now();
    let entry = shared
        .log
        .arrived(at, request.method().as_str(), request.uri().path());
    let response = match process(&shared, at, request).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    };
    shared.log.answered(entry, response.status().as_u16());
    if !shared.config.latency.is_zero() {
        tokio::time::sleep(shared.config.latency).await;
    }
    response
}

async fn process(shared: &Shared, at: Instant, request: Request) -> Result<Response, ScimError> {
    let write = is_write(request.method(), request.uri().path());
    shared.admit(at, write)?;
    if !shared.authorised(request.headers()) {
        return Err(ScimError::new(401, None, "missing or invalid bearer token"));
    }
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| ScimError::new(413, Some("tooLarge"), "request body too large"))?;
    let request = Incoming {
        method: parts.method,
        uri: parts.uri,
        headers: parts.headers,
        body,
    };
    let Some(held) = write.then(|| shared.hold_write()).flatten() else {
        return shared.route(&request);
    };
    // Applied (or not) before anyone hears that the write is held.
    let answer = held.apply_first.then(|| shared.route(&request));
    if let Some(first) = held.first {
        let _ = first.send(());
    }
    let _ = held.released.await;
    answer.unwrap_or_else(|| {
        Err(ScimError::new(
            503,
            None,
            "the write was held and then abandoned",
        ))
    })
}

/// Whether a request changes users: POST (but not a search), PUT, PATCH and DELETE.
fn is_write(method: &Method, path: &str) -> bool {
    match *method {
        Method::POST => !path.ends_with("/.search"),
        Method::PUT | Method::PATCH | Method::DELETE => true,
        _ => false,
    }
}

struct Incoming {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
}

impl Incoming {
    fn query(&self, name: &str) -> Option<String> {
        let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(&self.uri).ok()?;
        pairs
            .into_iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    fn if_match(&self) -> Option<&str> {
        self.headers
            .get(header::IF_MATCH)
            .and_then(|v| v.to_str().ok())
    }

    fn json(&self) -> Result<Value, ScimError> {
        if let Some(content_type) = self.headers.get(header::CONTENT_TYPE) {
            let mime = content_type
                .to_str()
                .unwrap_or_default()
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            if mime != "application/json" && mime != SCIM_CONTENT_TYPE {
                return Err(ScimError::new(
                    415,
                    None,
                    format!("unsupported content type {mime}; send {SCIM_CONTENT_TYPE}"),
                ));
            }
        }
        if self.body.is_empty() {
            return Err(invalid_syntax("a JSON body is required"));
        }
        serde_json::from_slice(&self.body)
            .map_err(|e| invalid_syntax(format!("the body is not valid JSON: {e}")))
    }

    fn projection(&self) -> Result<Projection, ScimError> {
        Projection::parse(
            self.query("attributes").as_deref(),
            self.query("excludedAttributes").as_deref(),
        )
    }
}

impl Shared {
    fn route(&self, request: &Incoming) -> Result<Response, ScimError> {
        let full_path = request.uri.path();
        let Some(rest) = full_path.strip_prefix(PREFIX) else {
            return Err(not_found(full_path));
        };
        let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
        let method = &request.method;
        match segments.as_slice() {
            ["ServiceProviderConfig"] => {
                only_get(method, full_path)?;
                Ok(scim_json(StatusCode::OK, &self.service_provider_config()))
            }
            ["Schemas"] => {
                only_get(method, full_path)?;
                Ok(scim_json(
                    StatusCode::OK,
                    &list_response(self.schemas(), None, 1),
                ))
            }
            ["Schemas", id] => {
                only_get(method, full_path)?;
                let schema = self
                    .schemas()
                    .into_iter()
                    .find(|s| s["id"] == *id)
                    .ok_or_else(|| not_found(&format!("schema {id}")))?;
                Ok(scim_json(StatusCode::OK, &schema))
            }
            ["ResourceTypes"] => {
                only_get(method, full_path)?;
                Ok(scim_json(
                    StatusCode::OK,
                    &list_response(vec![self.user_resource_type()], None, 1),
                ))
            }
            ["ResourceTypes", id] => {
                only_get(method, full_path)?;
                if *id != "User" {
                    return Err(not_found(&format!("resource type {id}")));
                }
                Ok(scim_json(StatusCode::OK, &self.user_resource_type()))
            }
            ["Users"] => match *method {
                Method::GET => self.list_users(&ListParams::from_query(request)?),
                Method::POST => self.create_user_http(request),
                _ => Err(method_not_allowed(method, full_path)),
            },
            ["Users", ".search"] => match *method {
                Method::POST => self.list_users(&ListParams::from_search(&request.json()?)?),
                _ => Err(method_not_allowed(method, full_path)),
            },
            ["Users", id] => match *method {
                Method::GET => self.get_user_http(request, id),
                Method::PUT => self.replace_user_http(request, id),
                Method::PATCH => self.patch_user_http(request, id),
                Method::DELETE => {
                    let mut state = self.lock();
                    self.delete_user(&mut state, id, request.if_match())?;
                    Ok(StatusCode::NO_CONTENT.into_response())
                }
                _ => Err(method_not_allowed(method, full_path)),
            },
            ["Bulk"] => match *method {
                Method::POST => self.bulk(request),
                _ => Err(method_not_allowed(method, full_path)),
            },
            // A search from the root covers every resource type: here, only User.
            [".search"] => match *method {
                Method::POST => self.list_users(&ListParams::from_search(&request.json()?)?),
                _ => Err(method_not_allowed(method, full_path)),
            },
            _ => Err(not_found(full_path)),
        }
    }

    fn service_provider_config(&self) -> Value {
        let (bulk_supported, max_operations, max_payload) = match self.config.bulk {
            Some((ops, bytes)) => (true, ops, bytes),
            None => (false, 0, 0),
        };
        json!({
            "schemas": [SERVICE_PROVIDER_CONFIG_SCHEMA],
            "patch": {"supported": self.config.patch},
            "bulk": {
                "supported": bulk_supported,
                "maxOperations": max_operations,
                "maxPayloadSize": max_payload,
            },
            "filter": {"supported": true, "maxResults": self.config.max_page_size},
            "changePassword": {"supported": false},
            "sort": {"supported": false},
            "etag": {"supported": self.config.etag},
            "authenticationSchemes": [{
                "type": "oauthbearertoken",
                "name": "OAuth Bearer Token",
                "description": "Authentication with a bearer token (RFC 6750)",
                "specUri": "https://www.rfc-editor.org/info/rfc6750",
                "primary": true,
            }],
            "meta": {
                "resourceType": "ServiceProviderConfig",
                "location": format!("{}/ServiceProviderConfig", self.base_url),
            },
        })
    }

    fn user_resource_type(&self) -> Value {
        json!({
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "description": "User Account",
            "schema": USER_SCHEMA,
            "schemaExtensions": [{"schema": ENTERPRISE_USER_SCHEMA, "required": false}],
            "meta": {
                "resourceType": "ResourceType",
                "location": format!("{}/ResourceTypes/User", self.base_url),
            },
        })
    }

    fn schemas(&self) -> Vec<Value> {
        let string = |name: &str, description: &str| attribute(name, "string", description);
        let mut user_name = string("userName", "Unique identifier for the User.");
        user_name["required"] = json!(true);
        user_name["uniqueness"] = json!("server");
        let mut email_type = string("type", "A label indicating the e-mail's function.");
        email_type["canonicalValues"] = json!(["work", "home", "other"]);
        let mut emails = complex(
            "emails",
            "Email addresses for the user.",
            vec![
                string("value", "Email address for the User."),
                email_type,
                attribute(
                    "primary",
                    "boolean",
                    "Whether this is the primary e-mail address.",
                ),
            ],
        );
        emails["multiValued"] = json!(true);
        let user = json!({
            "schemas": [SCHEMA_SCHEMA],
            "id": USER_SCHEMA,
            "name": "User",
            "description": "User Account",
            "attributes": [
                user_name,
                complex("name", "The components of the user's name.", vec![
                    string("formatted", "The full name."),
                    string("familyName", "The family name."),
                    string("givenName", "The given name."),
                ]),
                string("displayName", "The name of the User, suitable for display."),
                string("title", "The user's title, such as \"Vice President\"."),
                string("preferredLanguage", "The User's preferred written or spoken language."),
                attribute("active", "boolean", "The User's administrative status."),
                emails,
            ],
            "meta": {
                "resourceType": "Schema",
                "location": format!("{}/Schemas/{USER_SCHEMA}", self.base_url),
            },
        });
        let mut manager_ref = attribute("$ref", "reference", "The URI of the manager.");
        manager_ref["referenceTypes"] = json!(["User"]);
        let mut manager_name = string("displayName", "The displayName of the manager.");
        manager_name["mutability"] = json!("readOnly");
        let enterprise = json!({
            "schemas": [SCHEMA_SCHEMA],
            "id": ENTERPRISE_USER_SCHEMA,
            "name": "EnterpriseUser",
            "description": "Enterprise User",
            "attributes": [
                string("employeeNumber", "Identifier assigned by the organization."),
                string("costCenter", "Identifies the name of a cost center."),
                string("organization", "Identifies the name of an organization."),
                string("division", "Identifies the name of a division."),
                string("department", "Identifies the name of a department."),
                complex("manager", "The User's manager.", vec![
                    string("value", "The id of the SCIM resource representing the manager."),
                    manager_ref,
                    manager_name,
                ]),
            ],
            "meta": {
                "resourceType": "Schema",
                "location": format!("{}/Schemas/{ENTERPRISE_USER_SCHEMA}", self.base_url),
            },
        });
        vec![user, enterprise]
    }

    /// A user as sent on the wire: projected, with the boolean quirk applied.
    fn wire(&self, resource: &Map<String, Value>, projection: &Projection) -> Value {
        let mut out = projection.apply(resource);
        if self.config.booleans_as_strings
            && let Some(key) = key_ci(&out, "active")
            && let Some(Value::Bool(active)) = out.get(&key)
        {
            let text = active.to_string();
            out.insert(key, Value::String(text));
        }
        Value::Object(out)
    }

    fn user_response(
        &self,
        status: StatusCode,
        user: &StoredUser,
        projection: &Projection,
    ) -> Response {
        let mut response = scim_json(status, &self.wire(&user.resource, projection));
        if let Some(tag) = self.version_tag(user.version)
            && let Ok(value) = HeaderValue::from_str(&tag)
        {
            response.headers_mut().insert(header::ETAG, value);
        }
        if status == StatusCode::CREATED
            && let Some(location) = user.resource["meta"]["location"].as_str()
            && let Ok(value) = HeaderValue::from_str(location)
        {
            response.headers_mut().insert(header::LOCATION, value);
        }
        response
    }

    fn list_users(&self, params: &ListParams) -> Result<Response, ScimError> {
        let filter = params
            .filter
            .as_deref()
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(parse_filter)
            .transpose()?;
        let state = self.lock();
        // Unfiltered pages walk the store in order without collecting it: listing n users a
        // page at a time stays cheap however many pages there are.
        let matches: Vec<&StoredUser> = match &filter {
            None => Vec::new(),
            Some(filter) => state
                .store
                .candidates(Some(filter))
                .into_iter()
                .map(|seq| &state.store.users[&seq])
                .filter(|user| filter.matches(&user.resource))
                .collect(),
        };
        let start_index = params.start_index.unwrap_or(1).max(1);
        let count = if self.config.ignore_count {
            self.config.max_page_size
        } else {
            params.count.map_or(self.config.max_page_size, |c| {
                usize::try_from(c.max(0))
                    .unwrap_or(usize::MAX)
                    .min(self.config.max_page_size)
            })
        };
        let skip = usize::try_from(start_index - 1).unwrap_or(usize::MAX);
        let (resources, total): (Vec<Value>, usize) = match filter {
            None => (
                state
                    .store
                    .users
                    .values()
                    .skip(skip)
                    .take(count)
                    .map(|user| self.wire(&user.resource, &params.projection))
                    .collect(),
                state.store.users.len(),
            ),
            Some(_) => (
                matches
                    .iter()
                    .skip(skip)
                    .take(count)
                    .map(|user| self.wire(&user.resource, &params.projection))
                    .collect(),
                matches.len(),
            ),
        };
        let total = total + if self.config.miscount_total { 7 } else { 0 };
        let faults = &state.list_faults;
        let mut resources = resources;
        if faults
            .empty_from
            .is_some_and(|from| usize::try_from(start_index).unwrap_or(usize::MAX) >= from)
        {
            resources.clear();
        }
        for resource in &mut resources {
            for (attribute, value) in &faults.rewrites {
                match (value, resource.as_object_mut()) {
                    (Some(value), Some(object)) => {
                        object.insert(attribute.clone(), value.clone());
                    }
                    (None, Some(object)) => {
                        object.remove(attribute);
                    }
                    (_, None) => {}
                }
            }
        }
        let mut body = list_response(resources, Some(total), start_index);
        if faults.padding > 0 {
            body["urn:hris-operator:emulator:padding"] = Value::String(" ".repeat(faults.padding));
        }
        Ok(scim_json(StatusCode::OK, &body))
    }

    fn get_user_http(&self, request: &Incoming, id: &str) -> Result<Response, ScimError> {
        let projection = request.projection()?;
        let state = self.lock();
        let seq = state
            .store
            .find(id)
            .ok_or_else(|| not_found(&format!("User {id}")))?;
        Ok(self.user_response(StatusCode::OK, &state.store.users[&seq], &projection))
    }

    fn create_user_http(&self, request: &Incoming) -> Result<Response, ScimError> {
        let projection = request.projection()?;
        let body = request.json()?;
        let mut state = self.lock();
        let seq = self.create_user(&mut state, body)?;
        Ok(self.user_response(StatusCode::CREATED, &state.store.users[&seq], &projection))
    }

    fn replace_user_http(&self, request: &Incoming, id: &str) -> Result<Response, ScimError> {
        let projection = request.projection()?;
        let body = request.json()?;
        let mut state = self.lock();
        let seq = self.replace_user(&mut state, id, body, request.if_match())?;
        Ok(self.user_response(StatusCode::OK, &state.store.users[&seq], &projection))
    }

    fn patch_user_http(&self, request: &Incoming, id: &str) -> Result<Response, ScimError> {
        if !self.config.patch {
            return Err(ScimError::new(501, None, "PATCH is not supported"));
        }
        let projection = request.projection()?;
        let body = request.json()?;
        let mut state = self.lock();
        let seq = self.patch_user(&mut state, id, &body, request.if_match())?;
        Ok(self.user_response(StatusCode::OK, &state.store.users[&seq], &projection))
    }

    fn create_user(&self, state: &mut ServerState, body: Value) -> Result<u64, ScimError> {
        let mut data = into_object(body)?;
        check_fail_user(state, &[user_name_of(&data)])?;
        normalise(&mut data, true)?;
        let name = user_name_of(&data).unwrap_or_default();
        if state.store.user_name_taken(name, None) {
            return Err(uniqueness(name));
        }
        Ok(state.store.insert(data, &self.base_url))
    }

    fn replace_user(
        &self,
        state: &mut ServerState,
        id: &str,
        body: Value,
        if_match: Option<&str>,
    ) -> Result<u64, ScimError> {
        let seq = state
            .store
            .find(id)
            .ok_or_else(|| not_found(&format!("User {id}")))?;
        let user = &state.store.users[&seq];
        self.check_if_match(if_match, user.version)?;
        let mut data = into_object(body)?;
        check_fail_user(state, &[user_name_of(&user.resource), user_name_of(&data)])?;
        normalise(&mut data, true)?;
        let name = user_name_of(&data).unwrap_or_default();
        if state.store.user_name_taken(name, Some(seq)) {
            return Err(uniqueness(name));
        }
        state.store.update(seq, data, &self.base_url);
        Ok(seq)
    }

    fn patch_user(
        &self,
        state: &mut ServerState,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> Result<u64, ScimError> {
        let seq = state
            .store
            .find(id)
            .ok_or_else(|| not_found(&format!("User {id}")))?;
        let user = &state.store.users[&seq];
        self.check_if_match(if_match, user.version)?;
        check_fail_user(state, &[user_name_of(&user.resource)])?;
        let mut data = data_of(&user.resource);
        apply_patch(&mut data, body)?;
        check_fail_user(state, &[user_name_of(&data)])?;
        normalise(&mut data, false)?;
        let name = user_name_of(&data).unwrap_or_default();
        if state.store.user_name_taken(name, Some(seq)) {
            return Err(uniqueness(name));
        }
        state.store.update(seq, data, &self.base_url);
        Ok(seq)
    }

    fn delete_user(
        &self,
        state: &mut ServerState,
        id: &str,
        if_match: Option<&str>,
    ) -> Result<(), ScimError> {
        let seq = state
            .store
            .find(id)
            .ok_or_else(|| not_found(&format!("User {id}")))?;
        let user = &state.store.users[&seq];
        self.check_if_match(if_match, user.version)?;
        check_fail_user(state, &[user_name_of(&user.resource)])?;
        state.store.remove(seq);
        Ok(())
    }

    fn bulk(&self, request: &Incoming) -> Result<Response, ScimError> {
        let Some((max_operations, max_payload)) = self.config.bulk else {
            return Err(ScimError::new(501, None, "Bulk is not supported"));
        };
        if request.body.len() > max_payload {
            return Err(ScimError::new(
                413,
                Some("tooLarge"),
                format!(
                    "the request is {} bytes; maxPayloadSize is {max_payload}",
                    request.body.len()
                ),
            ));
        }
        let body = request.json()?;
        let body = body
            .as_object()
            .ok_or_else(|| invalid_syntax("a BulkRequest must be an object"))?;
        let operations = get_ci(body, "Operations")
            .and_then(Value::as_array)
            .ok_or_else(|| invalid_syntax("a BulkRequest needs Operations"))?;
        if operations.len() > max_operations {
            return Err(ScimError::new(
                413,
                Some("tooMany"),
                format!(
                    "{} operations; maxOperations is {max_operations}",
                    operations.len()
                ),
            ));
        }
        let fail_on_errors = get_ci(body, "failOnErrors").and_then(Value::as_u64);
        let mut state = self.lock();
        let mut bulk_ids: HashMap<String, String> = HashMap::new();
        let mut results = Vec::new();
        let mut errors = 0u64;
        for operation in operations {
            if fail_on_errors.is_some_and(|limit| errors >= limit) {
                break;
            }
            let result = self.bulk_operation(&mut state, operation, &mut bulk_ids);
            if result["status"]
                .as_str()
                .and_then(|s| s.parse::<u16>().ok())
                .is_none_or(|s| s >= 400)
            {
                errors += 1;
            }
            results.push(result);
        }
        Ok(scim_json(
            StatusCode::OK,
            &json!({"schemas": [BULK_RESPONSE_SCHEMA], "Operations": results}),
        ))
    }

    fn bulk_operation(
        &self,
        state: &mut ServerState,
        operation: &Value,
        bulk_ids: &mut HashMap<String, String>,
    ) -> Value {
        let empty = Map::new();
        let operation = operation.as_object().unwrap_or(&empty);
        let method = get_ci(operation, "method")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_ascii_uppercase();
        let bulk_id = get_ci(operation, "bulkId")
            .and_then(Value::as_str)
            .map(str::to_string);
        let mut result = Map::new();
        result.insert("method".into(), json!(method));
        if let Some(bulk_id) = &bulk_id {
            result.insert("bulkId".into(), json!(bulk_id));
        }
        match self.run_bulk_operation(state, &method, operation, bulk_ids) {
            Ok((status, seq, id)) => {
                result.insert(
                    "location".into(),
                    json!(format!("{}/Users/{id}", self.base_url)),
                );
                if let Some(user) = seq.and_then(|seq| state.store.users.get(&seq)) {
                    if let Some(tag) = self.version_tag(user.version) {
                        result.insert("version".into(), json!(tag));
                    }
                    if let Some(bulk_id) = &bulk_id {
                        bulk_ids.insert(bulk_id.clone(), user.id.clone());
                    }
                }
                result.insert("status".into(), json!(status.to_string()));
            }
            Err(error) => {
                result.insert("status".into(), json!(error.status.to_string()));
                result.insert("response".into(), error.body());
            }
        }
        Value::Object(result)
    }

    /// Runs one Bulk operation; returns (status, stored user if any, id).
    fn run_bulk_operation(
        &self,
        state: &mut ServerState,
        method: &str,
        operation: &Map<String, Value>,
        bulk_ids: &HashMap<String, String>,
    ) -> Result<(u16, Option<u64>, String), ScimError> {
        let path = get_ci(operation, "path")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid_syntax("a bulk operation needs a path"))?;
        let path = resolve_bulk_ids(&Value::String(path.to_string()), bulk_ids)?;
        let path = path.as_str().unwrap_or_default();
        let data = get_ci(operation, "data")
            .map(|d| resolve_bulk_ids(d, bulk_ids))
            .transpose()?;
        let version = get_ci(operation, "version").and_then(Value::as_str);
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let need_data = || {
            data.clone()
                .ok_or_else(|| invalid_syntax("data is required"))
        };
        match (method, segments.as_slice()) {
            ("POST", ["Users"]) => {
                let seq = self.create_user(state, need_data()?)?;
                Ok((201, Some(seq), state.store.users[&seq].id.clone()))
            }
            ("PUT", ["Users", id]) => {
                let seq = self.replace_user(state, id, need_data()?, version)?;
                Ok((200, Some(seq), id.to_string()))
            }
            ("PATCH", ["Users", id]) => {
                if !self.config.patch {
                    return Err(ScimError::new(501, None, "PATCH is not supported"));
                }
                let seq = self.patch_user(state, id, &need_data()?, version)?;
                Ok((200, Some(seq), id.to_string()))
            }
            ("DELETE", ["Users", id]) => {
                self.delete_user(state, id, version)?;
                Ok((204, None, id.to_string()))
            }
            ("POST" | "PUT" | "PATCH" | "DELETE", ["Users", ..]) => Err(ScimError::new(
                405,
                None,
                format!("{method} is not supported on {path}"),
            )),
            ("POST" | "PUT" | "PATCH" | "DELETE", _) => Err(not_found(path)),
            _ => Err(invalid_syntax(format!(
                "unsupported bulk method {method:?}"
            ))),
        }
    }
}

fn only_get(method: &Method, path: &str) -> Result<(), ScimError> {
    if *method == Method::GET {
        Ok(())
    } else {
        Err(method_not_allowed(method, path))
    }
}

fn uniqueness(name: &str) -> ScimError {
    ScimError::new(
        409,
        Some("uniqueness"),
        format!("userName {name:?} is already taken"),
    )
}

fn into_object(body: Value) -> Result<Map<String, Value>, ScimError> {
    match body {
        Value::Object(map) => Ok(map),
        _ => Err(invalid_syntax("a User must be a JSON object")),
    }
}

/// Replaces `bulkId:<id>` references (whole strings or path segments) with the ids created
/// earlier in the same request.
fn resolve_bulk_ids(value: &Value, bulk_ids: &HashMap<String, String>) -> Result<Value, ScimError> {
    Ok(match value {
        Value::String(s) if s.contains("bulkId:") => {
            let mut parts = Vec::new();
            for part in s.split('/') {
                if let Some(reference) = part.strip_prefix("bulkId:") {
                    let id = bulk_ids.get(reference).ok_or_else(|| {
                        ScimError::new(
                            409,
                            Some("invalidValue"),
                            format!("bulkId {reference} is not (yet) defined"),
                        )
                    })?;
                    parts.push(id.as_str());
                } else {
                    parts.push(part);
                }
            }
            Value::String(parts.join("/"))
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| resolve_bulk_ids(v, bulk_ids))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), resolve_bulk_ids(v, bulk_ids)?)))
                .collect::<Result<_, ScimError>>()?,
        ),
        other => other.clone(),
    })
}

fn list_response(resources: Vec<Value>, total: Option<usize>, start_index: i64) -> Value {
    json!({
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": total.unwrap_or(resources.len()),
        "itemsPerPage": resources.len(),
        "startIndex": start_index,
        "Resources": resources,
    })
}

fn attribute(name: &str, kind: &str, description: &str) -> Value {
    json!({
        "name": name,
        "type": kind,
        "multiValued": false,
        "description": description,
        "required": false,
        "caseExact": false,
        "mutability": "readWrite",
        "returned": "default",
        "uniqueness": "none",
    })
}

fn complex(name: &str, description: &str, sub_attributes: Vec<Value>) -> Value {
    let mut attribute = attribute(name, "complex", description);
    attribute["subAttributes"] = Value::Array(sub_attributes);
    attribute
}

struct ListParams {
    filter: Option<String>,
    start_index: Option<i64>,
    count: Option<i64>,
    projection: Projection,
}

impl ListParams {
    fn from_query(request: &Incoming) -> Result<ListParams, ScimError> {
        let number = |name: &str| -> Result<Option<i64>, ScimError> {
            request
                .query(name)
                .map(|v| {
                    v.trim().parse::<i64>().map_err(|_| {
                        ScimError::new(
                            400,
                            Some("invalidValue"),
                            format!("{name} must be an integer, got {v:?}"),
                        )
                    })
                })
                .transpose()
        };
        Ok(ListParams {
            filter: request.query("filter"),
            start_index: number("startIndex")?,
            count: number("count")?,
            projection: request.projection()?,
        })
    }

    fn from_search(body: &Value) -> Result<ListParams, ScimError> {
        let body = body
            .as_object()
            .ok_or_else(|| invalid_syntax("a SearchRequest must be an object"))?;
        let list = |name: &str| {
            get_ci(body, name).map(|v| match v {
                Value::Array(items) => items
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
                Value::String(s) => s.clone(),
                _ => String::new(),
            })
        };
        let number = |name: &str| get_ci(body, name).and_then(Value::as_i64);
        Ok(ListParams {
            filter: get_ci(body, "filter")
                .and_then(Value::as_str)
                .map(str::to_string),
            start_index: number("startIndex"),
            count: number("count"),
            projection: Projection::parse(
                list("attributes").as_deref(),
                list("excludedAttributes").as_deref(),
            )?,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Attribute paths, filters, projections

#[derive(Clone, Copy, Debug, PartialEq)]
enum Container {
    Core,
    Enterprise,
}

/// `[urn:…:]attr[.sub]`; `attr` is `None` for the bare enterprise extension URN.
#[derive(Clone, Debug)]
struct AttrPath {
    container: Container,
    attr: Option<String>,
    sub: Option<String>,
}

/// Splits a schema URN prefix off: `(container, rest)`; `rest` is empty for the bare extension.
fn split_schema(path: &str) -> Option<(Container, &str)> {
    let lower = path.to_ascii_lowercase();
    for (urn, container) in [
        (ENTERPRISE_USER_SCHEMA, Container::Enterprise),
        (USER_SCHEMA, Container::Core),
    ] {
        if lower.starts_with(&urn.to_ascii_lowercase()) {
            let rest = &path[urn.len()..];
            if rest.is_empty() && container == Container::Enterprise {
                return Some((container, rest));
            }
            return rest.strip_prefix(':').map(|r| (container, r));
        }
    }
    if lower.starts_with("urn:") {
        return None;
    }
    Some((Container::Core, path))
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '$'))
}

fn parse_attr_path(text: &str) -> Option<AttrPath> {
    let (container, rest) = split_schema(text.trim())?;
    if rest.is_empty() {
        return Some(AttrPath {
            container,
            attr: None,
            sub: None,
        });
    }
    let (attr, sub) = match rest.split_once('.') {
        Some((attr, sub)) => (attr, Some(sub)),
        None => (rest, None),
    };
    if !valid_name(attr) || sub.is_some_and(|s| !valid_name(s)) {
        return None;
    }
    Some(AttrPath {
        container,
        attr: Some(attr.to_string()),
        sub: sub.map(str::to_string),
    })
}

impl AttrPath {
    /// The values this path names in `root` (multi-valued attributes flattened; nulls dropped).
    fn resolve<'a>(&self, root: &'a Map<String, Value>) -> Vec<&'a Value> {
        let container = match self.container {
            Container::Core => Some(root),
            Container::Enterprise => {
                get_ci(root, ENTERPRISE_USER_SCHEMA).and_then(Value::as_object)
            }
        };
        let Some(container) = container else {
            return Vec::new();
        };
        let Some(attr) = &self.attr else {
            return vec![get_ci(root, ENTERPRISE_USER_SCHEMA).expect("extension exists")];
        };
        let mut values = Vec::new();
        for value in flatten(get_ci(container, attr)) {
            match &self.sub {
                None => values.push(value),
                Some(sub) => {
                    if let Some(object) = value.as_object() {
                        values.extend(flatten(get_ci(object, sub)));
                    }
                }
            }
        }
        values
    }

    fn case_exact(&self) -> bool {
        self.container == Container::Core
            && self.sub.is_none()
            && self.attr.as_deref().is_some_and(|a| {
                a.eq_ignore_ascii_case("id") || a.eq_ignore_ascii_case("externalId")
            })
    }
}

fn flatten(value: Option<&Value>) -> Vec<&Value> {
    match value {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().filter(|v| !v.is_null()).collect(),
        Some(value) => vec![value],
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Clone, Debug)]
enum Filter {
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    Present(AttrPath),
    Compare(AttrPath, CompareOp, Value),
    /// `attr[filter]`: some value of the multi-valued `attr` matches the inner filter.
    ValuePath(AttrPath, Box<Filter>),
}

impl Filter {
    fn matches(&self, root: &Map<String, Value>) -> bool {
        match self {
            Filter::And(a, b) => a.matches(root) && b.matches(root),
            Filter::Or(a, b) => a.matches(root) || b.matches(root),
            Filter::Not(inner) => !inner.matches(root),
            Filter::Present(path) => path.resolve(root).iter().any(|v| match v {
                Value::String(s) => !s.is_empty(),
                Value::Object(o) => !o.is_empty(),
                _ => true,
            }),
            Filter::Compare(path, op, expected) => {
                let values = path.resolve(root);
                let case_exact = path.case_exact();
                match op {
                    CompareOp::Ne => !values
                        .iter()
                        .any(|v| compare(CompareOp::Eq, v, expected, case_exact)),
                    _ => {
                        if expected.is_null() {
                            return *op == CompareOp::Eq && values.is_empty();
                        }
                        values.iter().any(|v| compare(*op, v, expected, case_exact))
                    }
                }
            }
            Filter::ValuePath(path, inner) => path
                .resolve(root)
                .into_iter()
                .filter_map(Value::as_object)
                .any(|element| inner.matches(element)),
        }
    }

    /// The element an `add` to `attr[filter]` creates when nothing matched: the `eq` parts.
    fn template(&self) -> Option<Map<String, Value>> {
        match self {
            Filter::Compare(path, CompareOp::Eq, value)
                if path.container == Container::Core && path.sub.is_none() =>
            {
                let mut element = Map::new();
                element.insert(path.attr.clone()?, value.clone());
                Some(element)
            }
            Filter::And(a, b) => {
                let mut element = a.template()?;
                element.extend(b.template()?);
                Some(element)
            }
            _ => None,
        }
    }
}

fn compare(op: CompareOp, actual: &Value, expected: &Value, case_exact: bool) -> bool {
    let fold = |s: &str| {
        if case_exact {
            s.to_string()
        } else {
            s.to_lowercase()
        }
    };
    match (actual, expected) {
        (Value::String(a), Value::String(b)) => {
            let (a, b) = (fold(a), fold(b));
            match op {
                CompareOp::Eq => a == b,
                CompareOp::Ne => a != b,
                CompareOp::Co => a.contains(&b),
                CompareOp::Sw => a.starts_with(&b),
                CompareOp::Ew => a.ends_with(&b),
                CompareOp::Gt => a > b,
                CompareOp::Ge => a >= b,
                CompareOp::Lt => a < b,
                CompareOp::Le => a <= b,
            }
        }
        (Value::Bool(a), Value::Bool(b)) => match op {
            CompareOp::Eq => a == b,
            CompareOp::Ne => a != b,
            _ => false,
        },
        (Value::Bool(a), Value::String(b)) if matches!(op, CompareOp::Eq | CompareOp::Ne) => {
            let equal = Some(*a) == as_bool(&Value::String(b.clone()));
            (op == CompareOp::Eq) == equal
        }
        (Value::Number(a), Value::Number(b)) => {
            let (Some(a), Some(b)) = (a.as_f64(), b.as_f64()) else {
                return false;
            };
            match op {
                CompareOp::Eq => a == b,
                CompareOp::Ne => a != b,
                CompareOp::Gt => a > b,
                CompareOp::Ge => a >= b,
                CompareOp::Lt => a < b,
                CompareOp::Le => a <= b,
                _ => false,
            }
        }
        _ => false,
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Open,
    Close,
    OpenBracket,
    CloseBracket,
    Str(String),
    Word(String),
}

fn invalid_filter(detail: impl Into<String>) -> ScimError {
    ScimError::new(400, Some("invalidFilter"), detail)
}

fn tokenize(text: &str) -> Result<Vec<Token>, ScimError> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' | '[' | ']' => {
                chars.next();
                tokens.push(match c {
                    '(' => Token::Open,
                    ')' => Token::Close,
                    '[' => Token::OpenBracket,
                    _ => Token::CloseBracket,
                });
            }
            '"' => {
                chars.next();
                let mut end = None;
                let mut escaped = false;
                for (i, c) in chars.by_ref() {
                    if escaped {
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == '"' {
                        end = Some(i);
                        break;
                    }
                }
                let end = end.ok_or_else(|| invalid_filter("unterminated string"))?;
                let literal: String = serde_json::from_str(&text[start..=end])
                    .map_err(|_| invalid_filter("invalid string literal"))?;
                tokens.push(Token::Str(literal));
            }
            _ => {
                let mut end = text.len();
                while let Some(&(i, c)) = chars.peek() {
                    if c.is_whitespace() || matches!(c, '(' | ')' | '[' | ']' | '"') {
                        end = i;
                        break;
                    }
                    chars.next();
                }
                tokens.push(Token::Word(text[start..end].to_string()));
            }
        }
    }
    Ok(tokens)
}

fn parse_filter(text: &str) -> Result<Filter, ScimError> {
    let mut parser = FilterParser {
        tokens: tokenize(text)?,
        pos: 0,
    };
    let filter = parser.or()?;
    if parser.pos != parser.tokens.len() {
        return Err(invalid_filter(format!(
            "unexpected {:?} in filter {text:?}",
            parser.tokens[parser.pos]
        )));
    }
    Ok(filter)
}

struct FilterParser {
    tokens: Vec<Token>,
    pos: usize,
}

impl FilterParser {
    fn peek_word(&self, keyword: &str) -> bool {
        matches!(self.tokens.get(self.pos), Some(Token::Word(w)) if w.eq_ignore_ascii_case(keyword))
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        token
    }

    fn expect(&mut self, expected: Token) -> Result<(), ScimError> {
        match self.next() {
            Some(token) if token == expected => Ok(()),
            other => Err(invalid_filter(format!(
                "expected {expected:?}, found {other:?}"
            ))),
        }
    }

    fn or(&mut self) -> Result<Filter, ScimError> {
        let mut left = self.and()?;
        while self.peek_word("or") {
            self.pos += 1;
            left = Filter::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Filter, ScimError> {
        let mut left = self.unary()?;
        while self.peek_word("and") {
            self.pos += 1;
            left = Filter::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Filter, ScimError> {
        if self.peek_word("not") && self.tokens.get(self.pos + 1) == Some(&Token::Open) {
            self.pos += 2;
            let inner = self.or()?;
            self.expect(Token::Close)?;
            return Ok(Filter::Not(Box::new(inner)));
        }
        match self.next() {
            Some(Token::Open) => {
                let inner = self.or()?;
                self.expect(Token::Close)?;
                Ok(inner)
            }
            Some(Token::Word(word)) => {
                let path = parse_attr_path(&word)
                    .ok_or_else(|| invalid_filter(format!("invalid attribute path {word:?}")))?;
                if self.tokens.get(self.pos) == Some(&Token::OpenBracket) {
                    self.pos += 1;
                    let inner = self.or()?;
                    self.expect(Token::CloseBracket)?;
                    return Ok(Filter::ValuePath(path, Box::new(inner)));
                }
                let operator = match self.next() {
                    Some(Token::Word(op)) => op.to_ascii_lowercase(),
                    other => {
                        return Err(invalid_filter(format!(
                            "expected an operator after {word:?}, found {other:?}"
                        )));
                    }
                };
                let op = match operator.as_str() {
                    "pr" => return Ok(Filter::Present(path)),
                    "eq" => CompareOp::Eq,
                    "ne" => CompareOp::Ne,
                    "co" => CompareOp::Co,
                    "sw" => CompareOp::Sw,
                    "ew" => CompareOp::Ew,
                    "gt" => CompareOp::Gt,
                    "ge" => CompareOp::Ge,
                    "lt" => CompareOp::Lt,
                    "le" => CompareOp::Le,
                    _ => return Err(invalid_filter(format!("unknown operator {operator:?}"))),
                };
                let value = match self.next() {
                    Some(Token::Str(s)) => Value::String(s),
                    Some(Token::Word(w)) if w.eq_ignore_ascii_case("true") => Value::Bool(true),
                    Some(Token::Word(w)) if w.eq_ignore_ascii_case("false") => Value::Bool(false),
                    Some(Token::Word(w)) if w.eq_ignore_ascii_case("null") => Value::Null,
                    Some(Token::Word(w)) => match serde_json::from_str::<serde_json::Number>(&w) {
                        Ok(n) => Value::Number(n),
                        Err(_) => return Err(invalid_filter(format!("invalid value {w:?}"))),
                    },
                    other => {
                        return Err(invalid_filter(format!(
                            "expected a value after {operator}, found {other:?}"
                        )));
                    }
                };
                Ok(Filter::Compare(path, op, value))
            }
            other => Err(invalid_filter(format!("unexpected {other:?}"))),
        }
    }
}

/// `attributes` / `excludedAttributes` of a request.
#[derive(Default)]
struct Projection {
    include: Vec<AttrPath>,
    exclude: Vec<AttrPath>,
}

impl Projection {
    fn parse(attributes: Option<&str>, excluded: Option<&str>) -> Result<Projection, ScimError> {
        let list = |text: Option<&str>| -> Result<Vec<AttrPath>, ScimError> {
            text.unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| {
                    parse_attr_path(s).ok_or_else(|| {
                        ScimError::new(
                            400,
                            Some("invalidValue"),
                            format!("invalid attribute {s:?}"),
                        )
                    })
                })
                .collect()
        };
        Ok(Projection {
            include: list(attributes)?,
            exclude: list(excluded)?,
        })
    }

    fn apply(&self, resource: &Map<String, Value>) -> Map<String, Value> {
        let mut out = if self.include.is_empty() {
            resource.clone()
        } else {
            let mut out = Map::new();
            for always in ["schemas", "id"] {
                if let Some(value) = resource.get(always) {
                    out.insert(always.to_string(), value.clone());
                }
            }
            for path in &self.include {
                include_path(resource, &mut out, path);
            }
            out
        };
        for path in &self.exclude {
            exclude_path(&mut out, path);
        }
        out
    }
}

fn include_path(resource: &Map<String, Value>, out: &mut Map<String, Value>, path: &AttrPath) {
    let (source, target) = match path.container {
        Container::Core => (Some(resource), out),
        Container::Enterprise => {
            let source = get_ci(resource, ENTERPRISE_USER_SCHEMA).and_then(Value::as_object);
            if source.is_none() {
                return;
            }
            let target = out
                .entry(ENTERPRISE_USER_SCHEMA)
                .or_insert_with(|| json!({}));
            let Some(target) = target.as_object_mut() else {
                return;
            };
            if path.attr.is_none() {
                *target = source.cloned().unwrap_or_default();
                return;
            }
            (source, target)
        }
    };
    let (Some(source), Some(attr)) = (source, &path.attr) else {
        return;
    };
    let Some(key) = key_ci(source, attr) else {
        return;
    };
    let value = &source[&key];
    match (&path.sub, value) {
        (None, _) => {
            target.insert(key, value.clone());
        }
        (Some(sub), Value::Object(object)) => {
            if let Some(sub_key) = key_ci(object, sub) {
                let entry = target.entry(key).or_insert_with(|| json!({}));
                if let Some(entry) = entry.as_object_mut() {
                    entry.insert(sub_key.clone(), object[&sub_key].clone());
                }
            }
        }
        (Some(sub), Value::Array(items)) => {
            let entry = target
                .entry(key)
                .or_insert_with(|| Value::Array(vec![json!({}); items.len()]));
            if let Some(entry) = entry.as_array_mut() {
                for (item, projected) in items.iter().zip(entry.iter_mut()) {
                    if let (Some(item), Some(projected)) =
                        (item.as_object(), projected.as_object_mut())
                        && let Some(sub_key) = key_ci(item, sub)
                    {
                        projected.insert(sub_key.clone(), item[&sub_key].clone());
                    }
                }
            }
        }
        _ => {}
    }
}

fn exclude_path(out: &mut Map<String, Value>, path: &AttrPath) {
    let container = match path.container {
        Container::Core => out,
        Container::Enterprise => {
            let Some(key) = key_ci(out, ENTERPRISE_USER_SCHEMA) else {
                return;
            };
            if path.attr.is_none() {
                out.remove(&key);
                return;
            }
            match out.get_mut(&key).and_then(Value::as_object_mut) {
                Some(container) => container,
                None => return,
            }
        }
    };
    let Some(attr) = &path.attr else {
        return;
    };
    let Some(key) = key_ci(container, attr) else {
        return;
    };
    if path.container == Container::Core && (key == "id" || key == "schemas") {
        return;
    }
    match &path.sub {
        None => {
            container.remove(&key);
        }
        Some(sub) => match container.get_mut(&key) {
            Some(Value::Object(object)) => remove_ci(object, sub),
            Some(Value::Array(items)) => {
                for item in items.iter_mut().filter_map(Value::as_object_mut) {
                    remove_ci(item, sub);
                }
            }
            _ => {}
        },
    }
}

fn remove_ci(map: &mut Map<String, Value>, name: &str) {
    if let Some(key) = key_ci(map, name) {
        map.remove(&key);
    }
}

// ---------------------------------------------------------------------------------------------
// PATCH

#[derive(Clone, Copy, Debug, PartialEq)]
enum PatchKind {
    Add,
    Replace,
}

/// A PATCH `path`: `[urn:…:]attr[[filter]][.sub]`.
struct PatchPath {
    container: Container,
    /// `None` for the bare enterprise extension URN.
    attr: Option<String>,
    filter: Option<Filter>,
    sub: Option<String>,
}

fn invalid_path(path: &str) -> ScimError {
    ScimError::new(400, Some("invalidPath"), format!("invalid path {path:?}"))
}

fn parse_patch_path(text: &str) -> Result<PatchPath, ScimError> {
    let trimmed = text.trim();
    let (container, rest) = split_schema(trimmed).ok_or_else(|| invalid_path(text))?;
    if rest.is_empty() {
        return Ok(PatchPath {
            container,
            attr: None,
            filter: None,
            sub: None,
        });
    }
    let (attr, filter, sub) = if let Some(open) = rest.find('[') {
        let close = rest
            .rfind(']')
            .filter(|&c| c > open)
            .ok_or_else(|| invalid_path(text))?;
        let filter = parse_filter(&rest[open + 1..close]).map_err(|_| invalid_path(text))?;
        let after = &rest[close + 1..];
        let sub = if after.is_empty() {
            None
        } else {
            Some(after.strip_prefix('.').ok_or_else(|| invalid_path(text))?)
        };
        (&rest[..open], Some(filter), sub)
    } else {
        match rest.split_once('.') {
            Some((attr, sub)) => (attr, None, Some(sub)),
            None => (rest, None, None),
        }
    };
    if !valid_name(attr) || sub.is_some_and(|s| !valid_name(s)) {
        return Err(invalid_path(text));
    }
    if container == Container::Core
        && ["id", "meta", "schemas", "groups"]
            .iter()
            .any(|ro| ro.eq_ignore_ascii_case(attr))
    {
        return Err(ScimError::new(
            400,
            Some("mutability"),
            format!("{attr} is read-only"),
        ));
    }
    Ok(PatchPath {
        container,
        attr: Some(attr.to_string()),
        filter,
        sub: sub.map(str::to_string),
    })
}

/// Applies a `PatchOp` body to a user's attributes (all or nothing: the caller keeps the copy).
fn apply_patch(data: &mut Map<String, Value>, body: &Value) -> Result<(), ScimError> {
    let body = body
        .as_object()
        .ok_or_else(|| invalid_syntax("a PatchOp must be an object"))?;
    let schemas_ok = get_ci(body, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| s.iter().any(|s| s.as_str() == Some(PATCH_OP_SCHEMA)));
    if !schemas_ok {
        return Err(invalid_syntax(format!(
            "schemas must hold {PATCH_OP_SCHEMA}"
        )));
    }
    let operations = get_ci(body, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid_syntax("a PatchOp needs Operations"))?;
    for operation in operations {
        let operation = operation
            .as_object()
            .ok_or_else(|| invalid_syntax("an operation must be an object"))?;
        let op = get_ci(operation, "op")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_ascii_lowercase();
        let path = get_ci(operation, "path")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|p| !p.is_empty());
        let value = get_ci(operation, "value");
        let kind = match op.as_str() {
            "add" => PatchKind::Add,
            "replace" => PatchKind::Replace,
            "remove" => {
                let path = path
                    .ok_or_else(|| ScimError::new(400, Some("noTarget"), "remove needs a path"))?;
                patch_remove(data, &parse_patch_path(path)?, value)?;
                continue;
            }
            _ => return Err(invalid_syntax(format!("unknown op {op:?}"))),
        };
        let value = value.ok_or_else(|| invalid_syntax(format!("{op} needs a value")))?;
        match path {
            Some(path) => patch_set(data, kind, &parse_patch_path(path)?, value)?,
            None => {
                let object = value.as_object().ok_or_else(|| {
                    ScimError::new(
                        400,
                        Some("invalidValue"),
                        format!("{op} without a path needs an object value"),
                    )
                })?;
                for (key, value) in object {
                    if ["id", "meta", "schemas"]
                        .iter()
                        .any(|ro| ro.eq_ignore_ascii_case(key))
                    {
                        continue;
                    }
                    patch_set(data, kind, &parse_patch_path(key)?, value)?;
                }
            }
        }
    }
    Ok(())
}

/// The object a path's attribute lives in, created when missing.
fn container_mut(
    data: &mut Map<String, Value>,
    container: Container,
) -> Result<&mut Map<String, Value>, ScimError> {
    match container {
        Container::Core => Ok(data),
        Container::Enterprise => {
            let key = key_ci(data, ENTERPRISE_USER_SCHEMA)
                .unwrap_or_else(|| ENTERPRISE_USER_SCHEMA.to_string());
            let extension = data.entry(key).or_insert_with(|| json!({}));
            if extension.is_null() {
                *extension = json!({});
            }
            extension.as_object_mut().ok_or_else(|| {
                ScimError::new(
                    400,
                    Some("invalidValue"),
                    "the enterprise extension is not an object",
                )
            })
        }
    }
}

fn merge_into(target: &mut Map<String, Value>, source: &Map<String, Value>) {
    for (key, value) in source {
        let key = key_ci(target, key).unwrap_or_else(|| key.clone());
        if value.is_null() {
            target.remove(&key);
        } else {
            target.insert(key, value.clone());
        }
    }
}

fn patch_set(
    data: &mut Map<String, Value>,
    kind: PatchKind,
    path: &PatchPath,
    value: &Value,
) -> Result<(), ScimError> {
    let container = container_mut(data, path.container)?;
    let Some(attr) = &path.attr else {
        let object = value.as_object().ok_or_else(|| {
            ScimError::new(
                400,
                Some("invalidValue"),
                "the enterprise extension takes an object",
            )
        })?;
        for (key, value) in object {
            set_attribute(container, kind, key, value);
        }
        return Ok(());
    };
    match (&path.filter, &path.sub) {
        (None, None) => set_attribute(container, kind, attr, value),
        (None, Some(sub)) => set_sub_attribute(container, attr, sub, value),
        (Some(filter), sub) => {
            set_filtered(container, kind, attr, filter, sub.as_deref(), value)?;
        }
    }
    Ok(())
}

fn set_attribute(container: &mut Map<String, Value>, kind: PatchKind, name: &str, value: &Value) {
    let key = key_ci(container, name).unwrap_or_else(|| name.to_string());
    if value.is_null() {
        container.remove(&key);
        return;
    }
    let value = match value {
        Value::String(id) if name.eq_ignore_ascii_case("manager") => json!({ "value": id }),
        other => other.clone(),
    };
    match (container.get_mut(&key), value) {
        (Some(Value::Array(existing)), value) if kind == PatchKind::Add => {
            let items = match value {
                Value::Array(items) => items,
                single => vec![single],
            };
            for item in items {
                if !existing.contains(&item) {
                    existing.push(item);
                }
            }
        }
        (Some(Value::Object(existing)), Value::Object(value)) => merge_into(existing, &value),
        (_, value) => {
            let value = if is_multi_valued(name) && !value.is_array() {
                Value::Array(vec![value])
            } else {
                value
            };
            container.insert(key, value);
        }
    }
}

fn set_sub_attribute(container: &mut Map<String, Value>, name: &str, sub: &str, value: &Value) {
    let key = key_ci(container, name).unwrap_or_else(|| name.to_string());
    let set = |object: &mut Map<String, Value>| {
        let sub_key = key_ci(object, sub).unwrap_or_else(|| sub.to_string());
        if value.is_null() {
            object.remove(&sub_key);
        } else {
            object.insert(sub_key, value.clone());
        }
    };
    match container.get_mut(&key) {
        Some(Value::Array(items)) if !items.is_empty() => {
            items
                .iter_mut()
                .filter_map(Value::as_object_mut)
                .for_each(set);
        }
        Some(Value::Object(object)) => set(object),
        _ if value.is_null() => {}
        _ => {
            let mut object = Map::new();
            set(&mut object);
            let new = if is_multi_valued(name) {
                json!([object])
            } else {
                Value::Object(object)
            };
            container.insert(key, new);
        }
    }
}

fn set_filtered(
    container: &mut Map<String, Value>,
    kind: PatchKind,
    name: &str,
    filter: &Filter,
    sub: Option<&str>,
    value: &Value,
) -> Result<(), ScimError> {
    let key = key_ci(container, name).unwrap_or_else(|| name.to_string());
    let no_target = || {
        ScimError::new(
            400,
            Some("noTarget"),
            format!("no value of {name} matches the filter"),
        )
    };
    let entry = container.entry(key).or_insert_with(|| json!([]));
    if let Value::Object(single) = entry {
        *entry = json!([single.clone()]);
    }
    let items = entry.as_array_mut().ok_or_else(no_target)?;
    let mut matched = false;
    for item in items.iter_mut() {
        let Some(object) = item.as_object_mut() else {
            continue;
        };
        if !filter.matches(object) {
            continue;
        }
        matched = true;
        match (sub, value) {
            (Some(sub), value) => {
                let sub_key = key_ci(object, sub).unwrap_or_else(|| sub.to_string());
                if value.is_null() {
                    object.remove(&sub_key);
                } else {
                    object.insert(sub_key, value.clone());
                }
            }
            (None, Value::Object(value)) if kind == PatchKind::Add => merge_into(object, value),
            (None, Value::Object(value)) => *object = value.clone(),
            (None, _) => {
                return Err(ScimError::new(
                    400,
                    Some("invalidValue"),
                    format!("a value of {name} must be an object"),
                ));
            }
        }
    }
    if matched {
        return Ok(());
    }
    if kind == PatchKind::Replace {
        return Err(no_target());
    }
    let mut element = filter.template().ok_or_else(no_target)?;
    match (sub, value) {
        (Some(sub), value) => {
            element.insert(sub.to_string(), value.clone());
        }
        (None, Value::Object(value)) => merge_into(&mut element, value),
        (None, _) => return Err(no_target()),
    }
    items.push(Value::Object(element));
    Ok(())
}

fn patch_remove(
    data: &mut Map<String, Value>,
    path: &PatchPath,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    let container = match path.container {
        Container::Core => data,
        Container::Enterprise => {
            let Some(key) = key_ci(data, ENTERPRISE_USER_SCHEMA) else {
                return Ok(());
            };
            if path.attr.is_none() {
                data.remove(&key);
                return Ok(());
            }
            match data.get_mut(&key).and_then(Value::as_object_mut) {
                Some(extension) => extension,
                None => return Ok(()),
            }
        }
    };
    let Some(attr) = &path.attr else {
        return Ok(());
    };
    let Some(key) = key_ci(container, attr) else {
        return Ok(());
    };
    match (&path.filter, &path.sub) {
        (None, None) => match (container.get_mut(&key), value) {
            (Some(Value::Array(items)), Some(Value::Array(remove))) => {
                items.retain(|item| {
                    !remove.iter().any(|r| {
                        r == item
                            || (r.get("value").is_some() && r.get("value") == item.get("value"))
                    })
                });
                if items.is_empty() {
                    container.remove(&key);
                }
            }
            _ => {
                container.remove(&key);
            }
        },
        (None, Some(sub)) => match container.get_mut(&key) {
            Some(Value::Object(object)) => {
                remove_ci(object, sub);
                if object.is_empty() {
                    container.remove(&key);
                }
            }
            Some(Value::Array(items)) => {
                for item in items.iter_mut().filter_map(Value::as_object_mut) {
                    remove_ci(item, sub);
                }
            }
            _ => {}
        },
        (Some(filter), sub) => {
            if let Some(Value::Array(items)) = container.get_mut(&key) {
                match sub {
                    None => {
                        items.retain(|item| !item.as_object().is_some_and(|o| filter.matches(o)))
                    }
                    Some(sub) => {
                        for item in items.iter_mut().filter_map(Value::as_object_mut) {
                            if filter.matches(item) {
                                remove_ci(item, sub);
                            }
                        }
                    }
                }
                if items.is_empty() {
                    container.remove(&key);
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn filters_parse_and_match() {
        let u = user(json!({
            "id": "abc",
            "userName": "Ada@Example.com",
            "externalId": "E1",
            "active": true,
            "emails": [{"value": "ada@work.example", "type": "work"}],
            ENTERPRISE_USER_SCHEMA: {"employeeNumber": "42"},
        }));
        let yes = [
            r#"userName eq "ada@example.com""#,
            r#"externalId eq "E1" and active eq true"#,
            r#"emails.value eq "ADA@work.example""#,
            r#"emails[type eq "work" and value co "@work"]"#,
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "42""#,
            "title pr or userName pr",
            r#"not (externalId eq "e1")"#,
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "ada""#,
        ];
        for f in yes {
            assert!(parse_filter(f).unwrap().matches(&u), "{f}");
        }
        let no = [r#"externalId eq "e1""#, "title pr", r#"id eq "ABC""#];
        for f in no {
            assert!(!parse_filter(f).unwrap().matches(&u), "{f}");
        }
        for bad in [
            r#"userName eq"#,
            r#"userName xx "a""#,
            r#"(userName eq "a""#,
            "urn:x:y eq 1",
        ] {
            assert_eq!(
                parse_filter(bad).unwrap_err().scim_type,
                Some("invalidFilter"),
                "{bad}"
            );
        }
    }

    #[test]
    fn patch_paths() {
        let p = parse_patch_path(r#"emails[type eq "work"].value"#).unwrap();
        assert_eq!(p.attr.as_deref(), Some("emails"));
        assert_eq!(p.sub.as_deref(), Some("value"));
        assert!(p.filter.is_some());
        let p = parse_patch_path(&format!("{ENTERPRISE_USER_SCHEMA}:manager.value")).unwrap();
        assert_eq!(p.container, Container::Enterprise);
        assert_eq!(p.attr.as_deref(), Some("manager"));
        assert_eq!(p.sub.as_deref(), Some("value"));
        assert!(
            parse_patch_path(ENTERPRISE_USER_SCHEMA)
                .unwrap()
                .attr
                .is_none()
        );
        assert_eq!(
            parse_patch_path("id").err().unwrap().scim_type,
            Some("mutability")
        );
    }
}
