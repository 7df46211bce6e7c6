//! Slack's Web API, the methods a source reads a workspace's members with: `users.list`,
//! `conversations.members` and `users.info`, at `/api/{method}` (GET with the arguments in the
//! query, or POST with them form-encoded, as Slack takes both).
//!
//! As Slack documents them: the token as `Authorization: Bearer` (or a `token` argument);
//! every answer HTTP 200 with `{"ok": true, …}` or `{"ok": false, "error": "…"}`, and
//! `missing_scope` with `needed` and `provided`; tokens with scopes (`users:read` to list
//! members, `users:read.email` to see their `profile.email`, `channels:read` and
//! `groups:read` for the members of public and private channels); a private channel the app
//! is not a member of is `channel_not_found`; cursor paging through
//! `response_metadata.next_cursor` (an opaque base64 cursor, `""` after the last page), at most
//! 1,000 members a page for `users.list` and 999 ids for `conversations.members` (whose
//! `limit` outside 1–999 is `invalid_limit`); `locale` only with `include_locale`; rate
//! limits per method by tier (Tier 2 for `users.list`, Tier 4 for the others; configurable
//! per minute), answered HTTP 429 with `Retry-After` and `{"ok": false, "error":
//! "ratelimited"}`. Faults: the HR emulators' page faults on listings (a failing or stalled
//! page, a repeated cursor, a storm of 429s).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
    time::Instant,
};

use axum::{
    Router,
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
};
use base64::Engine;
use serde_json::{Value, json};

use crate::{
    bucket::{TokenBucket, retry_after_seconds},
    hr::{self, Faults},
    log::{LoggedRequest, RequestLog},
    server::{self, Server},
};
use hris_operator::sync::model::{EmailType, Employee, EmploymentStatus};

/// The workspace's team id.
pub const TEAM_ID: &str = "T0EMULATOR";
/// The bot token of the default configuration.
pub const BOT_TOKEN: &str = "xoxb-emulator-bot-token";
/// The scopes the default bot token holds: what the `slack` source needs.
pub const DEFAULT_SCOPES: [&str; 4] = [
    "users:read",
    "users:read.email",
    "channels:read",
    "groups:read",
];
/// Most members a `users.list` page holds, whatever `limit` asks.
pub const MAX_USERS_LIMIT: usize = 1000;
/// Most ids a `conversations.members` page holds (`limit` must be under 1,000).
pub const MAX_MEMBERS_LIMIT: usize = 999;
/// `conversations.members` without `limit`.
const DEFAULT_MEMBERS_LIMIT: usize = 100;
/// Slackbot's member id.
pub const SLACKBOT: &str = "USLACKBOT";
/// The demo workspace's `#general`: every person, a bot and an app.
pub const GENERAL_CHANNEL: &str = "C0GENERAL01";
/// The demo workspace's `#engineering`: the first half of the people, a bot, a workflow bot
/// and a multi-channel guest.
pub const ENGINEERING_CHANNEL: &str = "C0ENGINEER1";
/// The demo workspace's private `#people-ops`: the second half of the people, three of the
/// first half, both guests and an app user.
pub const PEOPLE_OPS_CHANNEL: &str = "G0PEOPLEOPS";
/// The demo workspace's private `#leadership`, which the app is not a member of.
pub const LEADERSHIP_CHANNEL: &str = "G0LEADERS01";

/// A token the workspace accepts, with its scopes.
#[derive(Clone, Debug, PartialEq)]
pub struct SlackToken {
    /// The token (`xoxb-…`).
    pub token: String,
    /// Its scopes, such as `users:read`.
    pub scopes: Vec<String>,
}

/// A channel of the workspace.
#[derive(Clone, Debug, PartialEq)]
pub struct SlackChannel {
    /// Channel id (`C…`, `G…`).
    pub id: String,
    /// Name, without `#`.
    pub name: String,
    /// A private channel (its members need `groups:read`, and the app must be a member).
    pub is_private: bool,
    /// Whether the app is a member (only matters for a private channel).
    pub app_is_member: bool,
    /// Member ids.
    pub members: Vec<String>,
}

/// How the emulated workspace behaves.
#[derive(Clone, Debug)]
pub struct SlackConfig {
    /// Tokens it accepts.
    pub tokens: Vec<SlackToken>,
    /// Tokens that were revoked: `token_revoked`.
    pub revoked: Vec<String>,
    /// Members as `users.list` shows them (see [`members_of`]); `locale` is shown only with
    /// `include_locale`, `profile.email` only to a token with `users:read.email`.
    pub members: Vec<Value>,
    /// Channels.
    pub channels: Vec<SlackChannel>,
    /// `users.list` calls a minute (Tier 2: 20) before 429; `None`: unlimited.
    pub tier2_per_minute: Option<f64>,
    /// `conversations.members` and `users.info` calls a minute (Tier 4: 100); `None`:
    /// unlimited.
    pub tier4_per_minute: Option<f64>,
    /// Calls of one method that may come at once (token-bucket capacity).
    pub burst: u32,
    /// Most entries a page holds whatever `limit` asks (Slack may answer fewer).
    pub max_page_size: usize,
    /// Page faults of listings (pages count from 0 in each listing); the throttle storm
    /// answers the next requests 429 with `Retry-After: 1`.
    pub faults: Faults,
}

impl Default for SlackConfig {
    fn default() -> Self {
        Self {
            tokens: vec![SlackToken {
                token: BOT_TOKEN.into(),
                scopes: DEFAULT_SCOPES.map(str::to_owned).to_vec(),
            }],
            revoked: Vec::new(),
            members: Vec::new(),
            channels: Vec::new(),
            tier2_per_minute: None,
            tier4_per_minute: None,
            burst: 1,
            max_page_size: MAX_USERS_LIMIT,
            faults: Faults::default(),
        }
    }
}

/// A running emulator on 127.0.0.1 (random port); stops when dropped or on
/// [`SlackEmulator::stop`].
pub struct SlackEmulator {
    shared: Arc<Shared>,
    server: Server,
}

impl SlackEmulator {
    /// Binds 127.0.0.1 on a random port and serves in a tokio task.
    pub async fn start(config: SlackConfig) -> std::io::Result<SlackEmulator> {
        Self::start_on(config, server::bind_local().await?).await
    }

    /// Serves on a listener bound by the caller (`hris-emulators slack`).
    pub async fn start_on(
        config: SlackConfig,
        listener: tokio::net::TcpListener,
    ) -> std::io::Result<SlackEmulator> {
        let state = SlackState {
            members: config.members.clone(),
            storm_left: config.faults.throttle_storm,
            buckets: HashMap::new(),
        };
        let shared = Arc::new(Shared {
            config,
            log: RequestLog::default(),
            state: Mutex::new(state),
        });
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let server = Server::start(listener, app)?;
        Ok(SlackEmulator { shared, server })
    }

    /// The Web API's base URL (`apiUrl` of the spec): `http://127.0.0.1:PORT/api`.
    pub fn api_url(&self) -> String {
        format!("{}/api", self.server.origin())
    }

    /// Every HTTP request received, in order (throttled and refused ones included).
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.shared.log.requests()
    }

    /// The request log in the vendor checkers' format ([`RequestLog::to_json`]).
    pub fn request_log(&self) -> Value {
        self.shared.log.to_json()
    }

    /// Requests answered 429.
    pub fn throttled(&self) -> usize {
        self.requests().iter().filter(|r| r.status == 429).count()
    }

    /// Changes a member as a workspace admin would (`{"deleted": true}` deactivates it):
    /// `changes` holds the fields and their new values, objects merged into objects.
    pub fn update_member(&self, id: &str, changes: Value) {
        let mut state = self.shared.lock();
        let member = state
            .members
            .iter_mut()
            .find(|m| m["id"] == id)
            .unwrap_or_else(|| panic!("the workspace has no member {id}"));
        merge(member, &changes);
    }

    /// Stops serving and waits until the server has.
    pub async fn stop(self) {
        self.server.stop().await;
    }
}

fn merge(into: &mut Value, changes: &Value) {
    match (into, changes) {
        (Value::Object(into), Value::Object(changes)) => {
            for (key, value) in changes {
                match into.get_mut(key) {
                    Some(existing) if existing.is_object() && value.is_object() => {
                        merge(existing, value)
                    }
                    _ => {
                        into.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (into, changes) => *into = changes.clone(),
    }
}

struct Shared {
    config: SlackConfig,
    log: RequestLog,
    state: Mutex<SlackState>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, SlackState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

struct SlackState {
    members: Vec<Value>,
    storm_left: usize,
    /// One bucket per method, as Slack limits each method on its own.
    buckets: HashMap<String, TokenBucket>,
}

/// An answer: status, `Retry-After`, body.
struct Answer {
    status: u16,
    retry_after: Option<u64>,
    body: Value,
}

impl Answer {
    fn ok(mut body: Value) -> Answer {
        body["ok"] = json!(true);
        Answer {
            status: 200,
            retry_after: None,
            body,
        }
    }

    /// Slack's way to fail a call: HTTP 200 and `{"ok": false, "error": …}`.
    fn error(error: &str) -> Answer {
        Answer {
            status: 200,
            retry_after: None,
            body: json!({"ok": false, "error": error}),
        }
    }

    fn ratelimited(retry_after: u64) -> Answer {
        Answer {
            status: 429,
            retry_after: Some(retry_after),
            body: json!({"ok": false, "error": "ratelimited"}),
        }
    }

    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (
            status,
            [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
            self.body.to_string(),
        )
            .into_response();
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_str(&seconds.to_string()).expect("digits"),
            );
        }
        response
    }
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let entry = shared
        .log
        .arrived(Instant::now(), request.method().as_str(), request.uri());
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    shared.log.body(entry, &body);
    let answer = answer(&shared, &parts.method, &parts.uri, &parts.headers, &body).await;
    shared.log.answered(entry, answer.status);
    answer.into_response()
}

/// The call's arguments: the query's, and a form body's.
fn arguments(uri: &axum::http::Uri, headers: &HeaderMap, body: &[u8]) -> Vec<(String, String)> {
    let mut pairs = uri.query().map(hr::url_pairs).unwrap_or_default();
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if form {
        pairs.extend(hr::url_pairs(&String::from_utf8_lossy(body)));
    }
    pairs
}

async fn answer(
    shared: &Shared,
    method: &Method,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Answer {
    {
        let mut state = shared.lock();
        if state.storm_left > 0 {
            state.storm_left -= 1;
            return Answer::ratelimited(1);
        }
    }
    let Some(api_method) = uri.path().strip_prefix("/api/").map(str::to_owned) else {
        return Answer {
            status: 404,
            retry_after: None,
            body: json!({"ok": false, "error": "unknown_method"}),
        };
    };
    if *method != Method::GET && *method != Method::POST {
        return Answer::error("method_not_supported");
    }
    let args = arguments(uri, headers, body);
    let token = hr::credentials(headers, "Bearer").or_else(|| {
        args.iter()
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v.clone())
    });
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Answer::error("not_authed");
    };
    if shared.config.revoked.contains(&token) {
        return Answer::error("token_revoked");
    }
    let Some(token) = shared.config.tokens.iter().find(|t| t.token == token) else {
        return Answer::error("invalid_auth");
    };
    let per_minute = match api_method.as_str() {
        "users.list" => shared.config.tier2_per_minute,
        "conversations.members" | "users.info" => shared.config.tier4_per_minute,
        _ => return Answer::error("unknown_method"),
    };
    if let Some(per_minute) = per_minute {
        let mut state = shared.lock();
        let bucket = state
            .buckets
            .entry(api_method.clone())
            .or_insert_with(|| TokenBucket::new(per_minute / 60.0, shared.config.burst));
        if let Err(wait) = bucket.take(Instant::now()) {
            return Answer::ratelimited(retry_after_seconds(wait));
        }
    }
    let call = Call {
        shared,
        token,
        args: &args,
    };
    match api_method.as_str() {
        "users.list" => call.users_list().await,
        "conversations.members" => call.conversations_members().await,
        _ => call.users_info(),
    }
}

/// A page of a listing.
struct Page {
    /// Its number in the listing, from 0.
    number: usize,
    /// The entries it shows.
    range: std::ops::Range<usize>,
    /// The cursor of the next page, `""` after the last.
    next: String,
}

/// One authenticated call.
struct Call<'a> {
    shared: &'a Shared,
    token: &'a SlackToken,
    args: &'a [(String, String)],
}

impl<'a> Call<'a> {
    /// An argument's value.
    fn arg(&self, name: &str) -> Option<&'a str> {
        self.args
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn has(&self, scope: &str) -> bool {
        self.token.scopes.iter().any(|s| s == scope)
    }

    fn missing_scope(&self, needed: &str) -> Answer {
        let mut answer = Answer::error("missing_scope");
        answer.body["needed"] = json!(needed);
        answer.body["provided"] = json!(self.token.scopes.join(","));
        answer
    }

    /// A boolean argument: Slack takes `true`/`false` and `1`/`0`.
    fn flag(&self, name: &str) -> bool {
        matches!(self.arg(name), Some("true" | "1"))
    }

    /// A member as this call shows it.
    fn shown(&self, member: &Value) -> Value {
        let mut shown = member.clone();
        if let Some(object) = shown.as_object_mut()
            && !self.flag("include_locale")
        {
            object.remove("locale");
        }
        if !self.has("users:read.email")
            && let Some(profile) = shown.get_mut("profile").and_then(Value::as_object_mut)
        {
            profile.remove("email");
        }
        shown
    }

    /// The page a listing's cursor starts at: `Ok(None)` for an invalid cursor.
    fn offset(&self, ids: &[&str]) -> Option<usize> {
        let Some(cursor) = self.arg("cursor").filter(|c| !c.is_empty()) else {
            return Some(0);
        };
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(cursor)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())?;
        let id = decoded.strip_prefix("user:")?;
        ids.iter().position(|candidate| *candidate == id)
    }

    /// The page of a listing of `ids` (in order) starting at its cursor with `limit` entries:
    /// its number (from 0), the range shown and the next cursor.
    fn page(&self, ids: &[&str], limit: usize) -> Result<Page, Answer> {
        let Some(offset) = self.offset(ids) else {
            return Err(Answer::error("invalid_cursor"));
        };
        let limit = limit.min(self.shared.config.max_page_size.max(1));
        let page = offset / limit;
        let faults = &self.shared.config.faults;
        let end = (offset + limit).min(ids.len());
        let cursor = |at: usize| {
            base64::engine::general_purpose::STANDARD.encode(format!("user:{}", ids[at]))
        };
        let next = if faults.repeat_cursor_at == Some(page) {
            cursor(offset.min(ids.len().saturating_sub(1)))
        } else if end < ids.len() {
            cursor(end)
        } else {
            String::new()
        };
        Ok(Page {
            number: page,
            range: offset..end,
            next,
        })
    }

    /// The answer to page `number` as the faults make it: a stall, then the failing status.
    async fn fault(&self, number: usize, answer: Answer) -> Answer {
        let faults = &self.shared.config.faults;
        if let Some((stalled, delay)) = faults.stall_page
            && stalled == number
        {
            tokio::time::sleep(delay).await;
        }
        match faults.fail_page {
            Some((failing, status)) if failing == number => Answer {
                status,
                retry_after: None,
                body: json!({"ok": false, "error": "internal_error"}),
            },
            _ => answer,
        }
    }

    async fn users_list(&self) -> Answer {
        if !self.has("users:read") {
            return self.missing_scope("users:read");
        }
        let (number, answer) = {
            let state = self.shared.lock();
            let members = &state.members;
            let limit = match self.arg("limit").map(str::parse::<usize>) {
                None | Some(Ok(0)) if members.len() > MAX_USERS_LIMIT => {
                    return Answer::error("limit_required");
                }
                None | Some(Ok(0)) => MAX_USERS_LIMIT,
                Some(Ok(limit)) => limit.min(MAX_USERS_LIMIT),
                Some(Err(_)) => return Answer::error("invalid_limit"),
            };
            let ids: Vec<&str> = members
                .iter()
                .map(|m| m["id"].as_str().unwrap_or_default())
                .collect();
            let page = match self.page(&ids, limit) {
                Ok(page) => page,
                Err(answer) => return answer,
            };
            let shown: Vec<Value> = members[page.range].iter().map(|m| self.shown(m)).collect();
            let answer = Answer::ok(json!({
                "members": shown,
                "cache_ts": jiff::Timestamp::now().as_second(),
                "response_metadata": {"next_cursor": page.next},
            }));
            (page.number, answer)
        };
        self.fault(number, answer).await
    }

    async fn conversations_members(&self) -> Answer {
        let Some(channel) = self
            .arg("channel")
            .and_then(|id| self.shared.config.channels.iter().find(|c| c.id == id))
        else {
            return Answer::error("channel_not_found");
        };
        let needed = if channel.is_private {
            "groups:read"
        } else {
            "channels:read"
        };
        if !self.has(needed) {
            return self.missing_scope(needed);
        }
        if channel.is_private && !channel.app_is_member {
            return Answer::error("channel_not_found");
        }
        let limit = match self.arg("limit").map(str::parse::<usize>) {
            None => DEFAULT_MEMBERS_LIMIT,
            Some(Ok(limit)) if (1..=MAX_MEMBERS_LIMIT).contains(&limit) => limit,
            Some(_) => return Answer::error("invalid_limit"),
        };
        let ids: Vec<&str> = channel.members.iter().map(String::as_str).collect();
        let page = match self.page(&ids, limit) {
            Ok(page) => page,
            Err(answer) => return answer,
        };
        let answer = Answer::ok(json!({
            "members": ids[page.range],
            "response_metadata": {"next_cursor": page.next},
        }));
        self.fault(page.number, answer).await
    }

    fn users_info(&self) -> Answer {
        if !self.has("users:read") {
            return self.missing_scope("users:read");
        }
        let state = self.shared.lock();
        let found = self
            .arg("user")
            .and_then(|id| state.members.iter().find(|m| m["id"].as_str() == Some(id)));
        match found {
            Some(member) => Answer::ok(json!({"user": self.shown(member)})),
            None => Answer::error("user_not_found"),
        }
    }
}

/// The member id of an employee: `U` and the employee id's bytes in upper-case hex (ids of
/// up to 10 bytes, as every seed has), so two employees never share one.
pub fn member_id(employee_id: &str) -> String {
    let hex: String = employee_id
        .bytes()
        .take(10)
        .map(|b| format!("{b:02X}"))
        .collect();
    format!("U{hex}")
}

/// Employees as Slack members: the id from the employee id (see [`member_id`]); the names as
/// `profile.first_name`/`last_name` and `real_name`; the work address as `profile.email`
/// (none without one: Slack has no private address); a leaver `deleted` (Slack has no Pending
/// or Leave); the title as `profile.title` (`""` without one); the preferred language as
/// `locale`. Slack has no employee number, preferred name, dates, manager, department or
/// location among the fields `users.list` shows.
pub fn members_of(employees: &[Employee]) -> Vec<Value> {
    employees.iter().map(member_of).collect()
}

fn member_of(e: &Employee) -> Value {
    let real_name = format!("{} {}", e.first_name, e.last_name);
    let handle = e
        .emails
        .iter()
        .find(|m| m.kind == EmailType::Work)
        .and_then(|m| m.address.split('@').next())
        .map_or_else(|| e.id.to_lowercase().to_string(), str::to_owned);
    let mut profile = json!({
        "title": e.title.as_deref().unwrap_or_default(),
        "phone": "", "skype": "",
        "real_name": real_name, "real_name_normalized": real_name,
        "display_name": "", "display_name_normalized": "",
        "fields": null, "status_text": "", "status_emoji": "", "status_expiration": 0,
        "avatar_hash": "g0123456789a",
        "first_name": e.first_name.as_str(), "last_name": e.last_name.as_str(),
        "image_24": "https://a.slack-edge.com/avatar-24.png",
        "image_72": "https://a.slack-edge.com/avatar-72.png",
        "team": TEAM_ID,
    });
    if let Some(work) = e.emails.iter().find(|m| m.kind == EmailType::Work) {
        profile["email"] = json!(work.address.as_str());
    }
    let mut member = json!({
        "id": member_id(&e.id), "team_id": TEAM_ID, "name": handle,
        "deleted": e.employment_status == EmploymentStatus::Inactive,
        "color": "9f69e7", "real_name": real_name,
        "tz": "Europe/Stockholm", "tz_label": "Central European Time", "tz_offset": 3600,
        "profile": profile,
        "is_admin": false, "is_owner": false, "is_primary_owner": false,
        "is_restricted": false, "is_ultra_restricted": false,
        "is_bot": false, "is_app_user": false,
        "updated": 1_700_000_000, "is_email_confirmed": true,
        "who_can_share_contact_card": "EVERYONE",
    });
    if let Some(language) = &e.preferred_language {
        member["locale"] = json!(language.as_str());
    }
    member
}

/// Slackbot, as every workspace has it: `is_bot: false`, no address.
pub fn slackbot() -> Value {
    json!({
        "id": SLACKBOT, "team_id": TEAM_ID, "name": "slackbot", "deleted": false,
        "color": "757575", "real_name": "Slackbot",
        "tz": "America/Los_Angeles", "tz_label": "Pacific Standard Time", "tz_offset": -28800,
        "profile": {"title": "", "phone": "", "skype": "", "real_name": "Slackbot",
                    "real_name_normalized": "Slackbot", "display_name": "Slackbot",
                    "display_name_normalized": "Slackbot", "fields": null,
                    "status_text": "", "status_emoji": "", "status_expiration": 0,
                    "avatar_hash": "sv41d8cd98f0", "always_active": true,
                    "first_name": "slackbot", "last_name": "", "team": TEAM_ID},
        "is_admin": false, "is_owner": false, "is_primary_owner": false,
        "is_restricted": false, "is_ultra_restricted": false,
        "is_bot": false, "is_app_user": false, "updated": 0,
        "is_email_confirmed": false, "who_can_share_contact_card": "EVERYONE",
    })
}

/// A member that is not a person, or a guest: `flags` set on a member of id `id` named
/// `name`, with an address when `email` is given.
fn other_member(id: &str, name: &str, flags: &[&str], email: Option<&str>) -> Value {
    let (first, last) = name.split_once(' ').unwrap_or((name, ""));
    let mut member = json!({
        "id": id, "team_id": TEAM_ID, "name": name.to_lowercase().replace(' ', "."),
        "deleted": false, "color": "e7392d", "real_name": name,
        "tz": "Europe/Stockholm", "tz_label": "Central European Time", "tz_offset": 3600,
        "profile": {"title": "", "phone": "", "skype": "", "real_name": name,
                    "real_name_normalized": name, "display_name": "", "display_name_normalized": "",
                    "fields": null, "status_text": "", "status_emoji": "", "status_expiration": 0,
                    "avatar_hash": "b0123456789a", "first_name": first, "last_name": last,
                    "team": TEAM_ID},
        "is_admin": false, "is_owner": false, "is_primary_owner": false,
        "is_restricted": false, "is_ultra_restricted": false,
        "is_bot": false, "is_app_user": false, "updated": 1_700_000_000,
        "is_email_confirmed": email.is_some(), "who_can_share_contact_card": "EVERYONE",
    });
    for flag in flags {
        member[*flag] = json!(true);
    }
    if let Some(email) = email {
        member["profile"]["email"] = json!(email);
    }
    if flags.contains(&"is_bot") {
        member["profile"]["bot_id"] = json!(format!("B{}", &id[1..]));
    }
    member
}

/// The bot of the demo workspace.
pub const BOT: &str = "U0DEPLOYBOT";
/// The app user of the demo workspace (`is_app_user`).
pub const APP_USER: &str = "U0STANDUPAP";
/// The workflow bot of the demo workspace.
pub const WORKFLOW_BOT: &str = "U0WORKFLOW1";
/// The multi-channel guest of the demo workspace (`is_restricted`).
pub const GUEST: &str = "U0GUESTMULT";
/// The single-channel guest of the demo workspace (`is_ultra_restricted`).
pub const SINGLE_CHANNEL_GUEST: &str = "U0GUESTSING";

/// The demo workspace of `hris-emulators slack`: `employees` as members (see [`members_of`]),
/// Slackbot, a bot, an app user, a workflow bot, a multi-channel and a single-channel guest;
/// the channels [`GENERAL_CHANNEL`], [`ENGINEERING_CHANNEL`], [`PEOPLE_OPS_CHANNEL`] (private)
/// and [`LEADERSHIP_CHANNEL`] (private, without the app). Returns the members and the
/// channels.
pub fn demo_workspace(employees: &[Employee]) -> (Vec<Value>, Vec<SlackChannel>) {
    let mut members = vec![slackbot()];
    members.extend(members_of(employees));
    members.extend([
        other_member(BOT, "Deploy Bot", &["is_bot"], None),
        other_member(APP_USER, "Standup App", &["is_app_user"], None),
        other_member(
            WORKFLOW_BOT,
            "Onboarding Workflow",
            &["is_bot", "is_workflow_bot"],
            None,
        ),
        other_member(
            GUEST,
            "Pat Partner",
            &["is_restricted"],
            Some("pat@partner.example"),
        ),
        other_member(
            SINGLE_CHANNEL_GUEST,
            "Sam Agency",
            &["is_restricted", "is_ultra_restricted"],
            Some("sam@agency.example"),
        ),
    ]);
    let people: Vec<String> = employees.iter().map(|e| member_id(&e.id)).collect();
    let (first, second) = people.split_at(people.len() / 2);
    let channel = |id: &str, name: &str, is_private: bool, members: Vec<String>| SlackChannel {
        id: id.into(),
        name: name.into(),
        is_private,
        app_is_member: true,
        members,
    };
    let mut general = people.clone();
    general.extend([BOT.to_owned(), APP_USER.to_owned()]);
    let mut engineering = first.to_vec();
    engineering.extend([BOT.into(), WORKFLOW_BOT.into(), GUEST.into()]);
    let mut people_ops = second.to_vec();
    people_ops.extend(first.iter().take(3).cloned());
    people_ops.extend([GUEST.into(), SINGLE_CHANNEL_GUEST.into(), APP_USER.into()]);
    let mut leadership = channel(
        LEADERSHIP_CHANNEL,
        "leadership",
        true,
        first.iter().take(2).cloned().collect(),
    );
    leadership.app_is_member = false;
    let channels = vec![
        channel(GENERAL_CHANNEL, "general", false, general),
        channel(ENGINEERING_CHANNEL, "engineering", false, engineering),
        channel(PEOPLE_OPS_CHANNEL, "people-ops", true, people_ops),
        leadership,
    ];
    (members, channels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_ids_are_slack_ids_unique_per_employee_id() {
        assert_eq!(member_id("E0001"), "U4530303031");
        assert_ne!(member_id("E0001"), member_id("E0002"));
        assert!(
            member_id("1001")
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        );
    }

    #[test]
    fn the_demo_workspace_has_people_bots_guests_and_channels() {
        let employees = crate::hr::demo_employees(20);
        let (members, channels) = demo_workspace(&employees);
        assert_eq!(members.len(), 20 + 6);
        assert_eq!(members[0]["id"], SLACKBOT);
        assert_eq!(members[0]["is_bot"], false);
        let engineering = &channels[1].members;
        let people_ops = &channels[2].members;
        let overlap = engineering
            .iter()
            .filter(|id| people_ops.contains(id))
            .count();
        assert_eq!(overlap, 4, "three people and the guest are in both");
        assert!(channels[2].is_private && channels[3].is_private);
        assert!(!channels[3].app_is_member);
    }
}
