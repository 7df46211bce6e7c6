//! A Slack workspace as a source: its members read through Slack's Web API with the app's bot
//! token (`Authorization: Bearer xoxb-…`).
//!
//! `allMembers` pages through `users.list` (`limit=200`, `include_locale=true`) by
//! `cursor`, the answer's `response_metadata.next_cursor`, until that is empty. `channels`
//! first pages through `conversations.members` of each channel the same way and keeps the
//! union of the member ids, then reads `users.list` and keeps the members in that union:
//! `conversations.members` gives only ids, `users.list` the profiles, two hundred a request,
//! where `users.info` would take one request a member. A cursor that comes back a second time
//! stops the fetch with an error.
//!
//! Slack answers a failed call with HTTP 200 and `{"ok": false, "error": "…"}`: a refused
//! token (`invalid_auth`, `not_authed`, `account_inactive`, `token_revoked`, `token_expired`)
//! is `CredentialsInvalid` naming the Secret, `missing_scope` names the scope to add (the
//! answer's `needed`), and `channel_not_found` names the entry of `scope.channels`. Throttled
//! requests (HTTP 429 with `Retry-After`, body `ratelimited`) are retried by the HTTP client.
//!
//! The mapping: the member id is the employee id; `profile.first_name`/`last_name` the names,
//! split from `real_name` only when both are empty; `profile.email` the Work address (Slack
//! shows it only to a token with `users:read.email`); `deleted: true` is Inactive, a member
//! not deleted states no status (no dates: Active); `profile.title` the title; `locale` the
//! preferred language. Bots, app users, workflow bots and Slackbot are never people; guests
//! (`is_restricted`, `is_ultra_restricted`) are left out unless `includeGuests`.

use std::collections::HashSet;

use async_trait::async_trait;
use futures::stream::{self, BoxStream, StreamExt};
use reqwest::Method;
use serde_json::{Map, Value};

use super::{
    RetryDelays, SourceConnector,
    api::{ApiClient, url_path},
    rows::{self, Columns},
};
use crate::{
    connectors::{
        ConnectorContext,
        checks::{RequestSettings, check_url},
        http::Auth,
    },
    crd::{SecretKeyRef, SlackScope, SlackSource as SlackSourceSpec},
    sync::{
        model::{Employee, EmploymentStatus, RecordError},
        policy::SpecError,
        ports::source::{Source, SourceError, SourceField, SourcePage},
    },
};

/// Members a `users.list` page asks for.
pub const PAGE_SIZE: usize = 200;
/// Member ids a `conversations.members` page asks for (Slack recommends at most 200).
pub const CHANNEL_PAGE_SIZE: usize = 200;
/// Slackbot's member id: `users.list` shows it with `is_bot: false`.
pub const SLACKBOT: &str = "USLACKBOT";
/// What the source is called in messages.
const VENDOR: &str = "Slack";
/// The errors of a token Slack refuses.
const REFUSED_TOKEN: [&str; 5] = [
    "invalid_auth",
    "not_authed",
    "account_inactive",
    "token_revoked",
    "token_expired",
];
/// Why a member may come without an address, for `skipped.csv`.
const MISSING_EMAIL_HINT: &str = "Slack shows a member's email address only to a token with \
                                  the users:read.email scope; add it to the app (OAuth & \
                                  Permissions → Bot Token Scopes) and reinstall the app";
/// The member fields the mapping reads, shown by `fields` even when the example lacks them.
const READ: [&str; 14] = [
    "id",
    "deleted",
    "is_bot",
    "is_app_user",
    "is_workflow_bot",
    "is_restricted",
    "is_ultra_restricted",
    "real_name",
    "locale",
    "profile.first_name",
    "profile.last_name",
    "profile.real_name",
    "profile.email",
    "profile.title",
];

/// Whose accounts are read.
#[derive(Clone, Debug, PartialEq)]
pub enum Scope {
    /// Every member of the workspace.
    AllMembers,
    /// The members of these channels.
    Channels(Vec<String>),
}

impl Scope {
    /// The scope a spec names; `None` unless it names exactly one.
    pub fn of(spec: &SlackScope) -> Option<Scope> {
        match (spec.all_members, &spec.channels) {
            (Some(true), None) => Some(Scope::AllMembers),
            (None | Some(false), Some(channels)) => Some(Scope::Channels(channels.clone())),
            _ => None,
        }
    }
}

/// The rule of `scope`, for messages.
const SCOPE_RULE: &str = "set exactly one of allMembers: true, channels: [channel ids]";

/// Which member field feeds which canonical field, with `custom` (canonical name → member
/// field path) as custom fields. The status is read apart ([`read_member`]).
pub fn columns(custom: Vec<(String, String)>) -> Columns {
    let some = |s: &str| Some(s.to_owned());
    Columns {
        id: "id".into(),
        first_name: some("profile.first_name"),
        last_name: some("profile.last_name"),
        work_email: some("profile.email"),
        title: some("profile.title"),
        preferred_language: some("locale"),
        custom,
        ..Columns::default()
    }
}

/// Reads the members of a Slack workspace.
#[derive(Debug)]
pub struct SlackSource {
    api: ApiClient,
    api_url: String,
    scope: Scope,
    include_guests: bool,
    columns: Columns,
    /// The Secret holding the token, for messages: `secret NAME/KEY`.
    secret: String,
    reference_employee_id: Option<String>,
}

/// What a request reads, to say which setting to fix when Slack refuses it.
#[derive(Clone, Copy, Debug)]
enum Call {
    /// `users.list` or `users.info`.
    Users,
    /// `conversations.members` of `scope.channels[i]`.
    Channel(usize),
}

impl SlackSource {
    /// The source a spec names, with its bot token read.
    pub async fn from_spec(
        spec: &SlackSourceSpec,
        context: &ConnectorContext,
        delays: RetryDelays,
    ) -> Result<Self, SourceError> {
        let scope = Scope::of(&spec.scope).ok_or_else(|| {
            SourceError::InvalidInput(format!("spec.source.slack.scope: {SCOPE_RULE}"))
        })?;
        let secret_ref = &spec.bot_token_secret_ref;
        let token = context.secrets.get(secret_ref).await?;
        let secret = format!("secret {}/{}", secret_ref.name, secret_ref.key);
        let api = ApiClient::new(
            VENDOR,
            format!("that {secret} holds the app's Bot User OAuth Token (xoxb-…)"),
            Auth::Bearer(token.trim().to_owned()),
            spec.requests_per_second,
            spec.timeout_seconds,
            spec.max_tries,
            delays,
        )?
        .with_max_response_bytes(spec.max_response_bytes);
        let custom = spec
            .custom_fields
            .iter()
            .map(|(name, field)| (name.clone(), field.clone()))
            .collect();
        Ok(Self::new(
            api,
            &spec.api_url,
            scope,
            spec.include_guests,
            custom,
            secret,
            spec.reference_employee_id.clone(),
        ))
    }

    /// A source over a ready client, with `custom` (canonical name → member field path) as
    /// custom fields; `secret` names the token's Secret in messages.
    pub fn new(
        api: ApiClient,
        api_url: &str,
        scope: Scope,
        include_guests: bool,
        custom: Vec<(String, String)>,
        secret: String,
        reference_employee_id: Option<String>,
    ) -> Self {
        Self {
            api,
            api_url: api_url.trim_end_matches('/').to_owned(),
            scope,
            include_guests,
            columns: columns(custom),
            secret,
            reference_employee_id,
        }
    }

    /// The URL of Web API method `method` with `params` as its query.
    fn url(&self, method: &str, params: &[(&str, &str)]) -> String {
        let mut url =
            reqwest::Url::parse(&format!("{}/{method}", self.api_url)).expect("apiUrl is checked");
        if !params.is_empty() {
            url.query_pairs_mut().extend_pairs(params);
        }
        url.into()
    }

    /// The first page (`cursor` `None`) or a later one of the members' profiles.
    fn users_url(&self, limit: usize, cursor: Option<&str>) -> String {
        let limit = limit.to_string();
        let mut params = vec![("limit", limit.as_str()), ("include_locale", "true")];
        params.extend(cursor.map(|cursor| ("cursor", cursor)));
        self.url("users.list", &params)
    }

    /// A page of the member ids of channel `channel`.
    fn channel_url(&self, channel: &str, limit: usize, cursor: Option<&str>) -> String {
        let limit = limit.to_string();
        let mut params = vec![("channel", channel), ("limit", limit.as_str())];
        params.extend(cursor.map(|cursor| ("cursor", cursor)));
        self.url("conversations.members", &params)
    }

    /// Calls a Web API method: the answer of an `ok` call; a refusal as the error it means.
    async fn call(&self, url: &str, call: Call) -> Result<Value, SourceError> {
        let method = method_of(url);
        let body = self
            .api
            .json(Method::GET, url, |request| request)
            .await
            .map_err(|error| match error {
                SourceError::Unavailable(message) if message.contains("status 429 after") => {
                    SourceError::Unavailable(format!(
                        "{message}: Slack kept answering `ratelimited`; lower \
                         spec.source.slack.requestsPerSecond (Slack allows {method} {})",
                        tier(&method)
                    ))
                }
                other => other,
            })?;
        match body.get("ok").and_then(Value::as_bool) {
            Some(true) => Ok(body),
            Some(false) => Err(self.refusal(&method, &body, call)),
            None => Err(SourceError::Unavailable(format!(
                "{VENDOR} answered GET {} without `ok`",
                url_path(url)
            ))),
        }
    }

    /// What an `{"ok": false}` answer of `method` means, and what to fix.
    fn refusal(&self, method: &str, body: &Value, call: Call) -> SourceError {
        let error = code(body.get("error")).unwrap_or("(no error code)");
        if REFUSED_TOKEN.contains(&error) {
            let why = match error {
                "not_authed" => "no token reached Slack: the secret is empty",
                "account_inactive" => "the token belongs to a deactivated app or user",
                "token_revoked" => {
                    "the token was revoked (the app was uninstalled, or its token regenerated)"
                }
                "token_expired" => "the token expired (the app rotates its tokens)",
                _ => "Slack does not know the token",
            };
            return SourceError::CredentialsInvalid(format!(
                "{VENDOR} answered `{error}` to {method}: {why}; check that {} holds the \
                 app's Bot User OAuth Token (xoxb-…) of an app installed in the workspace",
                self.secret
            ));
        }
        match (error, call) {
            ("missing_scope", _) => {
                let needed = code(body.get("needed")).unwrap_or("(not named)");
                let provided = code(body.get("provided")).unwrap_or("none");
                let purpose = needed
                    .split(',')
                    .filter_map(scope_purpose)
                    .collect::<Vec<_>>()
                    .join(", ");
                let purpose = if purpose.is_empty() {
                    String::new()
                } else {
                    format!(" ({purpose})")
                };
                SourceError::CredentialsInvalid(format!(
                    "{VENDOR} answered `missing_scope` to {method}: the app's bot token lacks \
                     the scope {needed}{purpose} and holds {provided}; add {needed} under OAuth \
                     & Permissions → Bot Token Scopes, reinstall the app to the workspace, and \
                     put the token it shows in {} if it changed",
                    self.secret
                ))
            }
            ("channel_not_found", Call::Channel(index)) => self.channel_problem(
                index,
                "channel_not_found",
                "the workspace has no such channel, or it is a private channel the app is \
                 not a member of; use the channel's ID (channel details → About, at the \
                 bottom), and invite the app to a private channel (/invite @app)",
            ),
            ("method_not_supported_for_channel_type", Call::Channel(index)) => self
                .channel_problem(
                    index,
                    error,
                    "it is a direct message, not a channel; list channel ids only",
                ),
            ("ratelimited", _) => SourceError::Unavailable(format!(
                "{VENDOR} answered `ratelimited` to {method}; lower \
                 spec.source.slack.requestsPerSecond (Slack allows {method} {})",
                tier(method)
            )),
            _ => SourceError::Unavailable(format!("{VENDOR} answered `{error}` to {method}")),
        }
    }

    /// An entry of `scope.channels` Slack refused.
    fn channel_problem(&self, index: usize, error: &str, fix: &str) -> SourceError {
        let channel = match &self.scope {
            Scope::Channels(channels) => channels.get(index).map(String::as_str),
            Scope::AllMembers => None,
        };
        SourceError::InvalidInput(format!(
            "spec.source.slack.scope.channels[{index}] is `{}`, but {VENDOR} answered `{error}` \
             to conversations.members: {fix}",
            channel.unwrap_or_default()
        ))
    }

    /// A page of a listing: its `key` array (members, or member ids) and the next cursor
    /// (`None` after the last page).
    async fn listing_page(
        &self,
        url: &str,
        key: &str,
        call: Call,
    ) -> Result<(Vec<Value>, Option<String>), SourceError> {
        let body = self.call(url, call).await?;
        let Some(Value::Array(values)) = body.get(key) else {
            return Err(SourceError::Unavailable(format!(
                "{VENDOR} answered GET {} without `{key}`",
                url_path(url)
            )));
        };
        let next = body
            .pointer("/response_metadata/next_cursor")
            .and_then(Value::as_str)
            .filter(|cursor| !cursor.is_empty())
            .map(str::to_owned);
        Ok((values.clone(), next))
    }

    /// The next page of the fetch, or `None` after the last. The channels' member ids are
    /// read first (those pages are no employees), then the profiles.
    async fn next_page(&self, walk: &mut Walk) -> Result<Option<SourcePage>, SourceError> {
        if let Scope::Channels(channels) = &self.scope {
            while walk.channel < channels.len() {
                let index = walk.channel;
                let url =
                    self.channel_url(&channels[index], CHANNEL_PAGE_SIZE, walk.cursor.as_deref());
                let (ids, next) = self
                    .listing_page(&url, "members", Call::Channel(index))
                    .await?;
                walk.pages += 1;
                let wanted = walk.wanted.get_or_insert_with(HashSet::new);
                wanted.extend(ids.iter().filter_map(Value::as_str).map(str::to_owned));
                match walk.follow(next)? {
                    true => {}
                    false => walk.channel += 1,
                }
            }
        }
        if walk.done {
            return Ok(None);
        }
        let url = self.users_url(PAGE_SIZE, walk.cursor.as_deref());
        let (members, next) = self.listing_page(&url, "members", Call::Users).await?;
        walk.pages += 1;
        if !walk.follow(next)? {
            walk.done = true;
        }
        Ok(Some(self.read_page(&members, walk)))
    }

    /// The employees of a page: members not read before, in the channels when the scope
    /// names channels; never bots, apps or Slackbot; guests only when asked for.
    fn read_page(&self, members: &[Value], walk: &mut Walk) -> SourcePage {
        let mut page = SourcePage::default();
        for member in members {
            let id = member.get("id").and_then(Value::as_str);
            if let (Some(wanted), Some(id)) = (&walk.wanted, id)
                && !wanted.contains(id)
            {
                continue;
            }
            if let Some(id) = id
                && !walk.read.insert(id.to_owned())
            {
                continue;
            }
            match self.read_member(member) {
                None => {}
                Some(Ok(employee)) => page.employees.push(employee),
                Some(Err(error)) => page.errors.push(error),
            }
        }
        page
    }

    /// One member as an employee; `None` for who is not read (a bot, an app, Slackbot, a
    /// guest unless `includeGuests`).
    pub fn read_member(&self, value: &Value) -> Option<Result<Employee, RecordError>> {
        let Some(member) = value.as_object() else {
            return Some(Err(rows::not_an_object(value)));
        };
        if !is_person(member) || (!self.include_guests && is_guest(member)) {
            return None;
        }
        Some(read_member(member, &self.columns))
    }

    /// One member by id (`users.info`); `None` when Slack knows no such member.
    async fn member(&self, id: &str) -> Result<Option<Value>, SourceError> {
        let url = self.url("users.info", &[("user", id), ("include_locale", "true")]);
        match self.call(&url, Call::Users).await {
            Ok(body) => Ok(body.get("user").cloned()),
            Err(SourceError::Unavailable(message))
                if message.starts_with("Slack answered `user_not_found`") =>
            {
                Ok(None)
            }
            Err(other) => Err(other),
        }
    }
}

/// Where a fetch is.
#[derive(Debug, Default)]
struct Walk {
    /// The channel whose members are read (channels scope).
    channel: usize,
    /// The cursor of the listing's next page.
    cursor: Option<String>,
    /// Every cursor of the listing under way.
    cursors: HashSet<String>,
    /// The union of the channels' member ids (channels scope).
    wanted: Option<HashSet<String>>,
    /// Ids of the members read.
    read: HashSet<String>,
    /// Pages read.
    pages: usize,
    /// The last page of `users.list` was read.
    done: bool,
}

impl Walk {
    /// Goes on with `next`, the cursor a page handed out: true to read the next page of the
    /// listing, false when it has ended (and the next listing starts from its first page).
    fn follow(&mut self, next: Option<String>) -> Result<bool, SourceError> {
        match next {
            Some(cursor) => {
                if !self.cursors.insert(cursor.clone()) {
                    return Err(SourceError::Unavailable(format!(
                        "{VENDOR} returned a next_cursor it had returned before (after {} \
                         pages); the list read so far is not complete, so the run stops",
                        self.pages
                    )));
                }
                self.cursor = Some(cursor);
                Ok(true)
            }
            None => {
                self.cursor = None;
                self.cursors.clear();
                Ok(false)
            }
        }
    }
}

/// A member that is a person: not a bot (`is_bot`), an app user (`is_app_user`), a workflow
/// bot (`is_workflow_bot`) or Slackbot (which `users.list` shows with `is_bot: false`).
pub fn is_person(member: &Map<String, Value>) -> bool {
    let flag = |key: &str| member.get(key) == Some(&Value::Bool(true));
    !(flag("is_bot")
        || flag("is_app_user")
        || flag("is_workflow_bot")
        || member.get("id").and_then(Value::as_str) == Some(SLACKBOT))
}

/// A multi-channel guest (`is_restricted`) or a single-channel guest (`is_ultra_restricted`).
pub fn is_guest(member: &Map<String, Value>) -> bool {
    let flag = |key: &str| member.get(key) == Some(&Value::Bool(true));
    flag("is_restricted") || flag("is_ultra_restricted")
}

/// Reads a member (an object of `users.list`) into an employee.
pub fn read_member(
    member: &Map<String, Value>,
    columns: &Columns,
) -> Result<Employee, RecordError> {
    let named = |key: &str| rows::lookup(member, key).and_then(rows::as_text);
    // Copied only to put in the names split from the full name.
    let mut record = std::borrow::Cow::Borrowed(member);
    if let Some(id) = named("id")
        && named("profile.first_name").is_none()
        && named("profile.last_name").is_none()
    {
        let full = named("profile.real_name").or_else(|| named("real_name"));
        let Some((first, last)) = full.as_deref().and_then(super::graph::split_display_name) else {
            return Err(RecordError {
                line: None,
                employee_id: Some(id),
                field: Some("firstName".into()),
                message: "profile.first_name and profile.last_name are empty, and real_name is \
                          not a first and a last name to split (`First Last` or `Last, First`); \
                          set the member's full name in Slack"
                    .into(),
            });
        };
        let record = record.to_mut();
        let profile = record
            .entry("profile")
            .or_insert_with(|| Value::Object(Map::new()));
        if !profile.is_object() {
            *profile = Value::Object(Map::new());
        }
        profile["first_name"] = Value::String(first);
        profile["last_name"] = Value::String(last);
    }
    let mut employee = rows::read_record(&record, columns)?;
    if member.get("deleted") == Some(&Value::Bool(true)) {
        employee.employment_status = EmploymentStatus::Inactive;
        employee.status_stated = true;
    }
    Ok(employee)
}

/// The Web API method of a URL: the last segment of its path.
fn method_of(url: &str) -> String {
    url_path(url)
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// An error code or scope list of an answer, when it is one: a short word of lower-case
/// letters, digits, `_`, `.`, `:` and `,` (anything else could quote data).
fn code(value: Option<&Value>) -> Option<&str> {
    value.and_then(Value::as_str).filter(|text| {
        !text.is_empty()
            && text.len() <= 256
            && text
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.:,-".contains(&b))
    })
}

/// What a scope lets the source read.
fn scope_purpose(scope: &str) -> Option<&'static str> {
    Some(match scope {
        "users:read" => "to list the members and their profiles",
        "users:read.email" => "to read their email addresses",
        "channels:read" => "to list the members of public channels",
        "groups:read" => "to list the members of private channels",
        "mpim:read" => "to list the members of group direct messages",
        "im:read" => "to read direct messages",
        _ => return None,
    })
}

/// A method's rate limit tier, for messages.
fn tier(method: &str) -> &'static str {
    match method {
        "users.list" => "20 requests a minute (Tier 2)",
        _ => "100 requests a minute (Tier 4)",
    }
}

/// Whether text is a channel id: `C` or `G` and upper-case letters and digits.
pub fn is_channel_id(text: &str) -> bool {
    let mut chars = text.chars();
    matches!(chars.next(), Some('C' | 'G'))
        && text.len() > 1
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// What the operator knows of a `slack` source.
#[async_trait]
impl SourceConnector for SlackSourceSpec {
    fn secret_refs(&self) -> Vec<&SecretKeyRef> {
        vec![&self.bot_token_secret_ref]
    }

    fn validate(&self) -> Vec<SpecError> {
        let mut problems = RequestSettings {
            source: "slack",
            base_url: None,
            allow_insecure_http: self.allow_insecure_http,
            requests_per_second: self.requests_per_second,
            timeout_seconds: self.timeout_seconds,
            max_tries: self.max_tries,
        }
        .problems();
        let mut error = |name: &str, message: String| {
            problems.push(SpecError {
                field: format!("spec.source.slack.{name}"),
                message,
            });
        };
        if let Err(message) = check_url(&self.api_url, self.allow_insecure_http) {
            error("apiUrl", message);
        }
        match Scope::of(&self.scope) {
            None => error("scope", SCOPE_RULE.into()),
            Some(Scope::Channels(channels)) if channels.is_empty() => {
                error("scope.channels", "list at least one channel id".into())
            }
            Some(Scope::Channels(channels)) => {
                for (index, channel) in channels.iter().enumerate() {
                    if !is_channel_id(channel) {
                        error(
                            &format!("scope.channels[{index}]"),
                            format!(
                                "`{channel}` is not a channel id; use the channel's ID, such \
                                 as C0123ABCDEF (channel details → About, at the bottom), not \
                                 its name"
                            ),
                        );
                    }
                }
            }
            Some(Scope::AllMembers) => {}
        }
        for (name, field) in &self.custom_fields {
            let valid = !field.is_empty()
                && field.split('.').all(|part| {
                    !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                });
            if !valid {
                error(
                    &format!("customFields.{name}"),
                    format!(
                        "`{field}` is not a member field; name one as users.list shows it, such \
                         as tz or profile.display_name"
                    ),
                );
            }
        }
        problems
    }

    async fn build(
        &self,
        context: &ConnectorContext,
        delays: RetryDelays,
    ) -> Result<Box<dyn Source>, SourceError> {
        Ok(Box::new(
            SlackSource::from_spec(self, context, delays).await?,
        ))
    }
}

#[async_trait]
impl Source for SlackSource {
    async fn check(&self) -> Result<(), SourceError> {
        self.listing_page(&self.users_url(1, None), "members", Call::Users)
            .await?;
        if let Scope::Channels(channels) = &self.scope
            && let Some(first) = channels.first()
        {
            self.listing_page(
                &self.channel_url(first, 1, None),
                "members",
                Call::Channel(0),
            )
            .await?;
        }
        Ok(())
    }

    fn pages(&self) -> BoxStream<'_, Result<SourcePage, SourceError>> {
        stream::try_unfold(Walk::default(), move |mut walk| async move {
            Ok(self.next_page(&mut walk).await?.map(|page| (page, walk)))
        })
        .boxed()
    }

    async fn fields(&self) -> Result<Vec<SourceField>, SourceError> {
        let record = match &self.reference_employee_id {
            Some(id) => Some(self.member(id).await?.ok_or_else(|| {
                super::unknown_reference_employee(
                    "slack",
                    id,
                    &format!("{VENDOR} answered `user_not_found` to users.info"),
                )
            })?),
            // The first person of the first page (the first members are often Slackbot and
            // bots), else the first member.
            None => {
                let (members, _) = self
                    .listing_page(&self.users_url(PAGE_SIZE, None), "members", Call::Users)
                    .await?;
                let person = members.iter().find(|member| {
                    member
                        .as_object()
                        .is_some_and(|m| is_person(m) && (self.include_guests || !is_guest(m)))
                });
                person.or(members.first()).cloned()
            }
        };
        let read: Vec<String> = READ.iter().map(|&name| name.to_owned()).collect();
        let mut fields = rows::fields_of(
            record.as_ref().and_then(Value::as_object),
            &self.columns,
            &read,
        );
        for field in &mut fields {
            if field.name == "deleted" {
                field.feeds = Some("employmentStatus".into());
            }
        }
        Ok(fields)
    }

    fn missing_email_hint(&self) -> Option<&str> {
        Some(MISSING_EMAIL_HINT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(member: Value) -> Result<Employee, RecordError> {
        read_member(member.as_object().unwrap(), &columns(Vec::new()))
    }

    #[test]
    fn a_member_maps_into_the_canonical_employee() {
        let employee = read(json!({
            "id": "U0123ABCDEF", "team_id": "T0123", "name": "ada", "deleted": false,
            "real_name": "Ada Lovelace", "tz": "Europe/Stockholm", "locale": "sv-SE",
            "is_bot": false, "is_app_user": false, "is_restricted": false,
            "profile": {"first_name": "Ada", "last_name": "Lovelace", "real_name": "Ada Lovelace",
                        "display_name": "ada", "email": "ada@corp.example", "title": "Engineer"}
        }))
        .unwrap();
        assert_eq!(employee.id, "U0123ABCDEF");
        assert_eq!(
            (employee.first_name.as_str(), employee.last_name.as_str()),
            ("Ada", "Lovelace")
        );
        assert_eq!(employee.emails.len(), 1);
        assert_eq!(employee.emails[0].address, "ada@corp.example");
        assert_eq!(employee.emails[0].kind, crate::sync::model::EmailType::Work);
        assert!(
            !employee.status_stated,
            "a member not deleted states no status"
        );
        assert_eq!(employee.title.as_deref(), Some("Engineer"));
        assert_eq!(employee.preferred_language.as_deref(), Some("sv-SE"));
        assert_eq!(employee.preferred_name, None);
        assert_eq!(employee.employee_number, None);
    }

    #[test]
    fn custom_fields_read_member_and_profile_fields() {
        let custom = vec![
            ("timeZone".to_owned(), "tz".to_owned()),
            (
                "slack.displayName".to_owned(),
                "profile.display_name".to_owned(),
            ),
            ("pronouns".to_owned(), "profile.pronouns".to_owned()),
        ];
        let employee = read_member(
            json!({"id": "U1", "tz": "Europe/Stockholm",
                   "profile": {"first_name": "A", "last_name": "B", "display_name": "ab"}})
            .as_object()
            .unwrap(),
            &columns(custom),
        )
        .unwrap();
        assert_eq!(
            employee.custom_fields.get("timeZone"),
            Some(&json!("Europe/Stockholm"))
        );
        assert_eq!(
            employee.custom_fields.get("slack"),
            Some(&json!({"displayName": "ab"}))
        );
        assert_eq!(employee.custom_fields.get("pronouns"), None);
    }

    #[test]
    fn a_deleted_member_is_inactive_and_one_without_an_address_has_none() {
        let employee = read(json!({"id": "U1", "deleted": true,
            "profile": {"first_name": "A", "last_name": "B"}}))
        .unwrap();
        assert_eq!(employee.employment_status, EmploymentStatus::Inactive);
        assert!(employee.status_stated);
        assert!(employee.emails.is_empty());
    }

    #[test]
    fn names_come_from_the_full_name_only_when_both_are_empty() {
        for (full, first, last) in [
            ("Ada Lovelace", "Ada", "Lovelace"),
            ("Anna van der Berg", "Anna", "van der Berg"),
            ("Lovelace, Ada", "Ada", "Lovelace"),
        ] {
            let employee = read(json!({"id": "U1",
                "profile": {"first_name": "", "last_name": null, "real_name": full}}))
            .unwrap();
            assert_eq!(
                (employee.first_name.as_str(), employee.last_name.as_str()),
                (first, last)
            );
        }
        // Without a profile name, the top-level real_name.
        let employee = read(json!({"id": "U1", "real_name": "Grace Hopper"})).unwrap();
        assert_eq!(employee.last_name, "Hopper");
        let kept = read(json!({"id": "U1", "profile": {"first_name": "Ada",
            "real_name": "Someone Else"}}));
        assert_eq!(kept.unwrap().last_name, "");
        for full in [json!("Reception"), json!(null), json!("")] {
            let error = read(json!({"id": "U7", "profile": {"real_name": full}})).unwrap_err();
            assert_eq!(error.employee_id.as_deref(), Some("U7"));
            assert_eq!(error.field.as_deref(), Some("firstName"));
            assert!(error.message.contains("real_name"), "{}", error.message);
            assert!(!error.message.contains("Reception"), "{}", error.message);
        }
    }

    #[test]
    fn bots_apps_workflow_bots_and_slackbot_are_never_people_and_guests_are_guests() {
        let person = |member: Value| is_person(member.as_object().unwrap());
        assert!(person(
            json!({"id": "U1", "is_bot": false, "is_app_user": false})
        ));
        assert!(person(json!({"id": "U1"})));
        for flag in ["is_bot", "is_app_user", "is_workflow_bot"] {
            assert!(!person(json!({"id": "U1", flag: true})), "{flag}");
        }
        assert!(!person(json!({"id": "USLACKBOT", "is_bot": false})));
        let guest = |member: Value| is_guest(member.as_object().unwrap());
        assert!(guest(json!({"is_restricted": true})));
        assert!(guest(
            json!({"is_restricted": true, "is_ultra_restricted": true})
        ));
        assert!(guest(json!({"is_ultra_restricted": true})));
        assert!(!guest(json!({"is_restricted": false})));
    }

    #[test]
    fn scope_takes_exactly_one_kind_and_channels_are_ids() {
        let scope = |yaml: &str| Scope::of(&serde_saphyr::from_str::<SlackScope>(yaml).unwrap());
        assert_eq!(scope("{allMembers: true}"), Some(Scope::AllMembers));
        assert_eq!(scope("{allMembers: false}"), None);
        assert_eq!(scope("{}"), None);
        assert_eq!(scope("{allMembers: true, channels: [C1]}"), None);
        assert_eq!(
            scope("{channels: [C1]}"),
            Some(Scope::Channels(vec!["C1".into()]))
        );
        for id in ["C0123ABCDEF", "G012AB"] {
            assert!(is_channel_id(id), "{id}");
        }
        for text in [
            "general", "#general", "C", "c0123", "U0123ABC", "C01-23", "",
        ] {
            assert!(!is_channel_id(text), "{text}");
        }
    }

    #[test]
    fn only_codes_are_quoted_from_an_answer() {
        assert_eq!(code(Some(&json!("missing_scope"))), Some("missing_scope"));
        assert_eq!(
            code(Some(&json!("users:read,users:read.email"))),
            Some("users:read,users:read.email")
        );
        assert_eq!(code(Some(&json!("Ada Lovelace"))), None);
        assert_eq!(code(Some(&json!(""))), None);
        assert_eq!(code(Some(&json!(7))), None);
        assert_eq!(
            method_of("http://127.0.0.1:9/api/users.list?limit=1"),
            "users.list"
        );
    }
}
