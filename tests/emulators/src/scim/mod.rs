//! A SCIM 2.0 service provider (RFC 7643 / RFC 7644) that serves `User` resources from memory.
//!
//! It answers the way real SCIM servers do — `ListResponse` paging, filters, `PatchOp`, `Bulk`,
//! ETags, SCIM `Error` bodies — and can be told to misbehave the way real servers do: rate limits
//! (429 with `Retry-After`), latency, injected failures (per request, per write or per user), a
//! seat limit (403 once a write would make more users active than there are licenses), writes
//! held at a chosen point (to stop a client there), broken list pages (padded past a
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
//!
//! The emulator is split by concern: this module holds its configuration, its handle and the
//! fault switches; `server` routes, authenticates and answers requests; `store` keeps users and
//! validates them; `filter`, `projection` and `patch` are the RFC 7644 filter language,
//! `attributes`/`excludedAttributes` and the PATCH engine; `bulk` runs `/Bulk`; `discovery`
//! serves the `ServiceProviderConfig`, `Schemas` and `ResourceTypes` documents.

mod attrs;
mod bulk;
mod discovery;
mod error;
mod filter;
mod patch;
mod projection;
mod server;
mod store;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use serde_json::Value;

use crate::bucket::TokenBucket;
use crate::log::{LoggedRequest, RequestLog};
use crate::server::{self as serving, Server};

use self::server::handle;
use self::store::{Store, normalise, user_name_of};

/// Schema URN of the core `User` resource.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// Schema URN of the enterprise `User` extension (also the key of its object in a resource).
pub const ENTERPRISE_USER_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// The media type of every body the server sends (and one of the two it accepts).
const SCIM_CONTENT_TYPE: &str = "application/scim+json";
/// Where everything lives, after the address.
const PREFIX: &str = "/scim/v2";

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
        Self::start_on(config, serving::bind_local().await?).await
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

    /// The request log in the vendor checkers' format ([`RequestLog::to_json`]).
    pub fn request_log(&self) -> serde_json::Value {
        self.shared.log.to_json()
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

    /// Holds at most `seats` active users (`None`: no limit): a create or update that would
    /// make one more user active answers 403 with a SCIM error whose detail says the license
    /// limit is reached, as providers that sell seats do. Users already active stay so.
    pub fn limit_seats(&self, seats: Option<usize>) {
        self.shared.lock().seats = seats;
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

/// What every request handler and the handle share.
struct Shared {
    config: ScimConfig,
    base_url: String,
    log: RequestLog,
    state: Mutex<ServerState>,
}

/// What changes as requests come in or a test flips a switch, behind one lock.
struct ServerState {
    bucket: Option<TokenBucket>,
    fail_next: VecDeque<(u16, Option<u64>)>,
    fail_next_writes: VecDeque<(u16, Option<u64>)>,
    fail_users: HashMap<String, u16>,
    seats: Option<usize>,
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
        let base_url = format!("http://{}{PREFIX}", serving::reachable(address));
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
                seats: None,
                hold: WriteHold::default(),
                list_faults: ListFaults::default(),
                store: Store::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, ServerState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
