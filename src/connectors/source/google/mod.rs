//! Google Workspace as a source: users read through the Admin SDK Directory API by a service
//! account acting as an administrator (domain-wide delegation), with the token code the
//! Google Workspace target uses ([`crate::connectors::google`]), asked only for read-only
//! scopes: [`USER_SCOPE`], and [`GROUP_SCOPE`] as well for a group scope.
//!
//! Reading: `GET /users?customer=…&maxResults=500&projection=full`, page by page through
//! `pageToken`, for the whole account; with `query=orgUnitPath='/Sales'` once per listed
//! organizational unit (Google's search matches the unit and every unit below it; a user under
//! two listed units is read once); for groups, `GET /groups/{email}/members?
//! includeDerivedMembership=true&maxResults=200` per group (members of nested groups included,
//! the nested groups themselves and members of other types left out), then the whole account's
//! users, kept when they are members. A `pageToken` that comes back a second time stops the
//! fetch with an error.
//!
//! The mapping reads a view of the user in which each list Google keeps is one entry
//! ([`view`]): the user id is the employee id; `name.givenName` / `name.familyName` the names;
//! `primaryEmail` the Primary address, `emails[]` entries of type `work` Work ones and the
//! other entries (not the one restating the primary address) Other ones; `suspended` or
//! `archived` is Inactive, an active account states no status (Google keeps no dates, so such
//! a person is Active); the primary organization's `department` and `title`; the desk
//! location's (else the first location's) `area` the location; the preferred (else the first)
//! language's `languageCode`; the `externalIds` entry of type `organization` the employee
//! number; the `relations` entry of type `manager`, an email address, the manager's id: the id
//! of the user read with that address, and none when no user read has it (never a guess).
//!
//! This module reads; `user` maps a user into an employee and resolves the managers, `spec`
//! holds what the operator knows of a spec (its Secret, the checks of its settings, its
//! builder).

mod spec;
mod user;

pub use user::{columns, read_user, view};

use std::{collections::HashSet, sync::Arc, time::Duration};

use async_trait::async_trait;
use futures::stream::{self, BoxStream, StreamExt};
use reqwest::Method;
use serde_json::Value;

use super::{
    RetryDelays,
    api::{ApiClient, url_path},
    rows::{self, Columns},
};
use crate::{
    connectors::{ConnectorContext, google, http::Auth},
    crd::{GoogleScope, GoogleWorkspaceSource as GoogleSourceSpec},
    sync::ports::source::{Source, SourceError, SourceField, SourcePage},
};
use user::Fetched;

/// Reading users: what every scope needs.
pub const USER_SCOPE: &str = "https://www.googleapis.com/auth/admin.directory.user.readonly";
/// Reading groups and their members: what a group scope needs besides [`USER_SCOPE`].
pub const GROUP_SCOPE: &str = "https://www.googleapis.com/auth/admin.directory.group.readonly";
/// The Directory API's largest page of users.
pub const USERS_PAGE: usize = 500;
/// The Directory API's largest page of group members.
pub const MEMBERS_PAGE: usize = 200;
/// What the source is called in messages.
const VENDOR: &str = "Google Workspace";
/// Where the spec's settings are.
const SPEC: &str = "spec.source.googleWorkspace";

/// Whose accounts are read.
#[derive(Clone, Debug, PartialEq)]
pub enum Scope {
    /// The whole account.
    AllUsers,
    /// The users of these organizational units and of the units below them.
    OrgUnits(Vec<String>),
    /// The users among these groups' members, nested groups' members included.
    Groups(Vec<String>),
}

impl Scope {
    /// The scope a spec names; `None` unless it names exactly one.
    pub fn of(spec: &GoogleScope) -> Option<Scope> {
        match (spec.all_users, &spec.org_units, &spec.groups) {
            (Some(true), None, None) => Some(Scope::AllUsers),
            (None | Some(false), Some(units), None) => Some(Scope::OrgUnits(units.clone())),
            (None | Some(false), None, Some(groups)) => Some(Scope::Groups(groups.clone())),
            _ => None,
        }
    }

    /// The OAuth scopes a token for this scope asks for (the read-only ones it needs).
    pub fn oauth_scopes(&self) -> Vec<&'static str> {
        match self {
            Scope::Groups(_) => vec![USER_SCOPE, GROUP_SCOPE],
            _ => vec![USER_SCOPE],
        }
    }
}

/// Reads Google Workspace users.
#[derive(Debug)]
pub struct GoogleSource {
    api: ApiClient,
    base: String,
    customer: String,
    scope: Scope,
    columns: Columns,
    reference_employee_id: Option<String>,
}

impl GoogleSource {
    /// The source a spec names, with its service account key read.
    pub async fn from_spec(
        spec: &GoogleSourceSpec,
        context: &ConnectorContext,
        delays: RetryDelays,
    ) -> Result<Self, SourceError> {
        let scope = Scope::of(&spec.scope)
            .ok_or_else(|| SourceError::InvalidInput(format!("{SPEC}.scope: {SCOPE_RULE}")))?;
        let secret_ref = &spec.account.service_account_key_secret_ref;
        let key_file = context.secrets.get(secret_ref).await?;
        let scopes = scope.oauth_scopes();
        let timeout = Duration::from_secs(u64::from(spec.timeout_seconds.max(1)));
        let tokens = google::tokens(
            &spec.account,
            &key_file,
            &scopes,
            timeout,
            spec.max_response_bytes,
        )
        .map_err(|problem| {
            SourceError::CredentialsInvalid(format!(
                "secret {}/{}: {problem}; store the service account's JSON key file there",
                secret_ref.name, secret_ref.key
            ))
        })?;
        let hint = format!(
            "the service account key (secret {}/{}), the administrator it acts as \
             ({SPEC}.adminEmail), and that the Admin console's domain-wide delegation \
             (Security → API controls → Domain-wide delegation) grants the key's client id the \
             scopes {}",
            secret_ref.name,
            secret_ref.key,
            scopes.join(", ")
        );
        let api = ApiClient::new(
            VENDOR,
            hint,
            Auth::Token(Arc::new(tokens)),
            spec.requests_per_second,
            spec.timeout_seconds,
            spec.max_tries,
            delays,
        )?
        .with_max_response_bytes(spec.max_response_bytes)
        .with_throttled_answers(google::throttled_answer)
        .with_refusal_explanation(explain_refusal);
        let custom = spec
            .custom_fields
            .iter()
            .map(|(name, path)| (name.clone(), path.clone()))
            .collect();
        Ok(Self::new(
            api,
            &google::api_base(&spec.account),
            &spec.account.customer,
            scope,
            custom,
            spec.reference_employee_id.clone(),
        ))
    }

    /// A source over a ready client.
    pub fn new(
        api: ApiClient,
        api_url: &str,
        customer: &str,
        scope: Scope,
        custom: Vec<(String, String)>,
        reference_employee_id: Option<String>,
    ) -> Self {
        Self {
            api,
            base: api_url.trim_end_matches('/').to_owned(),
            customer: customer.to_owned(),
            scope,
            columns: columns(custom),
            reference_employee_id,
        }
    }

    /// The URL of `segments` under the API's base (each percent-encoded as a path segment)
    /// with the query `pairs`.
    fn url(&self, segments: &[&str], pairs: &[(&str, &str)]) -> String {
        let mut url = reqwest::Url::parse(&self.base).expect("apiUrl is checked");
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        if !pairs.is_empty() {
            url.query_pairs_mut().extend_pairs(pairs);
        }
        url.into()
    }

    /// A page of the account's users (of an organizational unit, with `org_unit`).
    fn users_url(&self, org_unit: Option<&str>, size: usize, token: Option<&str>) -> String {
        let size = size.to_string();
        let query = org_unit.map(org_unit_query);
        let mut pairs = vec![
            ("customer", self.customer.as_str()),
            ("maxResults", size.as_str()),
            ("projection", "full"),
        ];
        if let Some(query) = &query {
            pairs.push(("query", query));
        }
        if let Some(token) = token {
            pairs.push(("pageToken", token));
        }
        self.url(&["users"], &pairs)
    }

    /// A page of a group's members, nested groups' members included.
    fn members_url(&self, group: &str, size: usize, token: Option<&str>) -> String {
        let size = size.to_string();
        let mut pairs = vec![
            ("includeDerivedMembership", "true"),
            ("maxResults", size.as_str()),
        ];
        if let Some(token) = token {
            pairs.push(("pageToken", token));
        }
        self.url(&["groups", group, "members"], &pairs)
    }

    /// One user by id or primary email, with every field.
    fn user_url(&self, key: &str) -> String {
        self.url(&["users", key], &[("projection", "full")])
    }

    /// Every page of a listing, each handed to `page` with its entries under `items`: `url`
    /// makes a page's URL from its token. `Ok(false)` when the first page answers 404 (the
    /// listing's object does not exist). A token handed out twice stops it with an error.
    async fn listing(
        &self,
        url: impl Fn(Option<&str>) -> String,
        items: &str,
        mut page: impl FnMut(&[Value]),
    ) -> Result<bool, SourceError> {
        let mut tokens: HashSet<String> = HashSet::new();
        let mut token: Option<String> = None;
        let mut pages = 0;
        loop {
            let address = url(token.as_deref());
            let Some(body) = self
                .api
                .json_if_found(Method::GET, &address, |request| request)
                .await?
            else {
                if pages == 0 {
                    return Ok(false);
                }
                return Err(SourceError::Unavailable(format!(
                    "{VENDOR} answered 404 to GET {} (a page of a listing it had begun)",
                    url_path(&address)
                )));
            };
            pages += 1;
            let entries = match body.get(items) {
                None | Some(Value::Null) => &[][..],
                Some(Value::Array(entries)) => entries.as_slice(),
                Some(_) => {
                    return Err(SourceError::Unavailable(format!(
                        "{VENDOR} answered GET {} with `{items}` that is not a list",
                        url_path(&address)
                    )));
                }
            };
            page(entries);
            match body.get("nextPageToken").and_then(Value::as_str) {
                Some(next) if !next.is_empty() => {
                    if !tokens.insert(next.to_owned()) {
                        return Err(SourceError::Unavailable(format!(
                            "{VENDOR} returned a pageToken it had returned before (after \
                             {pages} pages of GET {}); the list read so far is not complete, \
                             so the run stops",
                            url_path(&address)
                        )));
                    }
                    token = Some(next.to_owned());
                }
                _ => return Ok(true),
            }
        }
    }

    /// Reads a listing of users, keeping those `keep` accepts (by id).
    async fn read_users(
        &self,
        org_unit: Option<&str>,
        fetched: &mut Fetched,
        keep: &(dyn Fn(&str) -> bool + Sync),
    ) -> Result<(), SourceError> {
        let columns = &self.columns;
        self.listing(
            |token| self.users_url(org_unit, USERS_PAGE, token),
            "users",
            |users| {
                fetched.pages += 1;
                for user in users {
                    fetched.take(user, columns, keep);
                }
            },
        )
        .await
        .and_then(|found| {
            if found {
                return Ok(());
            }
            let url = self.users_url(org_unit, USERS_PAGE, None);
            Err(SourceError::Unavailable(format!(
                "{VENDOR} answered 404 to GET {}: check {SPEC}.apiUrl (the Directory API's \
                 base, such as https://admin.googleapis.com/admin/directory/v1) and \
                 {SPEC}.customer",
                url_path(&url)
            )))
        })
        .map_err(|error| match (org_unit, error) {
            (Some(unit), SourceError::Unavailable(message))
                if message.contains(" answered 400 ") =>
            {
                let index = self.scope_index(unit);
                SourceError::InvalidInput(format!(
                    "{SPEC}.scope.orgUnits[{index}] is `{unit}`, but {message}: the account has \
                     no organizational unit at this path; use the path the Admin console shows \
                     (Directory → Organizational units), such as /Sales or /Sales/EMEA"
                ))
            }
            (_, error) => error,
        })
    }

    /// The index of an organizational unit in the scope, for messages.
    fn scope_index(&self, unit: &str) -> usize {
        match &self.scope {
            Scope::OrgUnits(units) => units.iter().position(|u| u == unit).unwrap_or(0),
            _ => 0,
        }
    }

    /// The ids of the users among a group's members (nested groups' members included).
    async fn group_members(
        &self,
        index: usize,
        group: &str,
        members: &mut HashSet<String>,
    ) -> Result<(), SourceError> {
        let found = self
            .listing(
                |token| self.members_url(group, MEMBERS_PAGE, token),
                "members",
                |page| {
                    for member in page {
                        if member["type"] == "USER"
                            && let Some(id) = member["id"].as_str()
                        {
                            members.insert(id.to_owned());
                        }
                    }
                },
            )
            .await?;
        if found {
            return Ok(());
        }
        Err(self.missing_group(index, group))
    }

    /// The error of a group the account does not have (its members answered 404).
    fn missing_group(&self, index: usize, group: &str) -> SourceError {
        SourceError::InvalidInput(format!(
            "{SPEC}.scope.groups[{index}] is `{group}`, but {VENDOR} answered 404 to GET {}: \
             the account has no group with this address; use the group's email address as the \
             Admin console shows it (Directory → Groups)",
            url_path(&self.members_url(group, MEMBERS_PAGE, None))
        ))
    }

    /// The first page of a group's members, at most `size` (`None`: no such group).
    async fn first_members(
        &self,
        group: &str,
        size: usize,
    ) -> Result<Option<Vec<Value>>, SourceError> {
        let url = self.members_url(group, size, None);
        let body = self.api.json_if_found(Method::GET, &url, |r| r).await?;
        Ok(
            body.map(|mut body| match body.get_mut("members").map(Value::take) {
                Some(Value::Array(members)) => members,
                _ => Vec::new(),
            }),
        )
    }

    /// Reads the scope's users: every page, then the managers resolved.
    async fn read(&self) -> Result<SourcePage, SourceError> {
        let mut fetched = Fetched::default();
        match &self.scope {
            Scope::AllUsers => self.read_users(None, &mut fetched, &|_| true).await?,
            Scope::OrgUnits(units) => {
                for unit in units {
                    self.read_users(Some(unit), &mut fetched, &|_| true).await?;
                }
            }
            Scope::Groups(groups) => {
                let mut members = HashSet::new();
                for (index, group) in groups.iter().enumerate() {
                    self.group_members(index, group, &mut members).await?;
                }
                // One paged read of every user, kept when a member, costs a request per 500
                // users; a GET per member would cost one per member.
                self.read_users(None, &mut fetched, &|id| members.contains(id))
                    .await?;
            }
        }
        Ok(fetched.into_page())
    }

    /// The first user of the scope, if any, for `fields`.
    async fn first_user(&self) -> Result<Option<Value>, SourceError> {
        let first = |body: Option<Value>, items: &str| {
            body.and_then(|mut body| match body.get_mut(items).map(Value::take) {
                Some(Value::Array(entries)) => entries.into_iter().next(),
                _ => None,
            })
        };
        let one_page = |unit: Option<&str>| self.users_url(unit, 1, None);
        match &self.scope {
            Scope::AllUsers => {
                let body = self.api.json(Method::GET, &one_page(None), |r| r).await?;
                Ok(first(Some(body), "users"))
            }
            Scope::OrgUnits(units) => {
                let body = self
                    .api
                    .json(
                        Method::GET,
                        &one_page(units.first().map(String::as_str)),
                        |r| r,
                    )
                    .await?;
                Ok(first(Some(body), "users"))
            }
            Scope::Groups(groups) => {
                let Some(group) = groups.first() else {
                    return Ok(None);
                };
                let members = self
                    .first_members(group, MEMBERS_PAGE)
                    .await?
                    .ok_or_else(|| self.missing_group(0, group))?;
                let user = members
                    .iter()
                    .find(|member| member["type"] == "USER")
                    .and_then(|member| member["id"].as_str());
                match user {
                    Some(id) => self.user(id).await,
                    None => Ok(None),
                }
            }
        }
    }

    /// One user by id or primary email; `None` when the account has no such user.
    async fn user(&self, key: &str) -> Result<Option<Value>, SourceError> {
        self.api
            .json_if_found(Method::GET, &self.user_url(key), |request| request)
            .await
    }
}

/// The search query of the users of an organizational unit and of the units below it: the
/// path in single quotes, its quotes and backslashes escaped.
pub fn org_unit_query(path: &str) -> String {
    let escaped = path.replace('\\', "\\\\").replace('\'', "\\'");
    format!("orgUnitPath='{escaped}'")
}

/// The rule of `scope`, for messages.
const SCOPE_RULE: &str = "set exactly one of allUsers: true, orgUnits: [paths such as /Sales], \
                          groups: [group email addresses]";

/// A refusal Google explains: a 403 `forbidden` ("Not Authorized to access this resource/api")
/// or `insufficientPermissions` is a scope the service account was not granted, or an
/// administrator who may not read what is asked, not a wrong key.
fn explain_refusal(status: u16, path: &str, body: &Value) -> Option<String> {
    let reason = google::reason(body)?;
    if status != 403 || !matches!(reason, "forbidden" | "insufficientPermissions") {
        return None;
    }
    let (what, scopes) = if path.contains("/groups/") {
        ("groups", format!("{GROUP_SCOPE} (with {USER_SCOPE})"))
    } else {
        ("users", USER_SCOPE.to_owned())
    };
    Some(format!(
        "{reason}: the service account may not read {what}; in the Admin console grant its \
         client id the scope {scopes} (Security → API controls → Domain-wide delegation), and \
         make {SPEC}.adminEmail an administrator whose role may read {what}"
    ))
}

#[async_trait]
impl Source for GoogleSource {
    async fn check(&self) -> Result<(), SourceError> {
        match &self.scope {
            Scope::Groups(groups) => match groups.first() {
                Some(group) => match self.first_members(group, 1).await? {
                    Some(_) => Ok(()),
                    None => Err(self.missing_group(0, group)),
                },
                None => Ok(()),
            },
            Scope::OrgUnits(units) => {
                let url = self.users_url(units.first().map(String::as_str), 1, None);
                self.api.json(Method::GET, &url, |r| r).await.map(|_| ())
            }
            Scope::AllUsers => {
                let url = self.users_url(None, 1, None);
                self.api.json(Method::GET, &url, |r| r).await.map(|_| ())
            }
        }
    }

    fn pages(&self) -> BoxStream<'_, Result<SourcePage, SourceError>> {
        // Managers are named by address, and a manager may come on any page: the employees go
        // out once every page is read.
        stream::once(self.read()).boxed()
    }

    async fn fields(&self) -> Result<Vec<SourceField>, SourceError> {
        let record = match &self.reference_employee_id {
            Some(key) => Some(self.user(key).await?.ok_or_else(|| {
                super::unknown_reference_employee(
                    "googleWorkspace",
                    key,
                    &format!(
                        "{VENDOR} answered 404 to GET {}",
                        url_path(&self.user_url(key))
                    ),
                )
            })?),
            None => self.first_user().await?,
        };
        let viewed = record.as_ref().and_then(Value::as_object).map(view);
        let extra: Vec<String> = ["primaryEmail", "emails", "suspended", "archived"]
            .map(str::to_owned)
            .to_vec();
        let mut fields = rows::fields_of(viewed.as_ref(), &self.columns, &extra);
        for field in &mut fields {
            let feeds = match field.name.as_str() {
                "primaryEmail" => "primaryEmail",
                "emails" => "workEmail, otherEmail",
                "suspended" | "archived" => "employmentStatus",
                "relations.manager" => "managerId",
                _ => continue,
            };
            field.feeds = Some(feeds.into());
        }
        Ok(fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn org_unit_queries_quote_the_path() {
        assert_eq!(org_unit_query("/Sales"), "orgUnitPath='/Sales'");
        assert_eq!(
            org_unit_query("/Sales Team/O'Brien\\x"),
            "orgUnitPath='/Sales Team/O\\'Brien\\\\x'"
        );
    }

    #[test]
    fn a_missing_scope_names_the_scope_to_grant() {
        let forbidden = json!({"error": {"code": 403,
            "message": "Not Authorized to access this resource/api",
            "errors": [{"reason": "forbidden"}]}});
        let groups =
            explain_refusal(403, "/admin/directory/v1/groups/<name>/members", &forbidden).unwrap();
        assert!(groups.contains(GROUP_SCOPE), "{groups}");
        assert!(groups.contains("Domain-wide delegation"), "{groups}");
        let users = explain_refusal(403, "/admin/directory/v1/users", &forbidden).unwrap();
        assert!(
            users.contains(USER_SCOPE) && !users.contains(GROUP_SCOPE),
            "{users}"
        );
        assert_eq!(
            explain_refusal(401, "/admin/directory/v1/users", &forbidden),
            None
        );
        let other = json!({"error": {"code": 403, "errors": [{"reason": "domainCannotUseApis"}]}});
        assert_eq!(
            explain_refusal(403, "/admin/directory/v1/users", &other),
            None
        );
    }

    #[test]
    fn scope_takes_exactly_one_kind_and_asks_for_the_scopes_it_needs() {
        let scope = |yaml: &str| Scope::of(&serde_saphyr::from_str::<GoogleScope>(yaml).unwrap());
        assert_eq!(scope("{allUsers: true}"), Some(Scope::AllUsers));
        assert_eq!(scope("{allUsers: false}"), None);
        assert_eq!(scope("{orgUnits: [/a], groups: [g@x]}"), None);
        let groups = scope("{groups: [g@acme.example]}").unwrap();
        assert_eq!(groups.oauth_scopes(), [USER_SCOPE, GROUP_SCOPE]);
        assert_eq!(
            scope("{orgUnits: [/Sales]}").unwrap().oauth_scopes(),
            [USER_SCOPE]
        );
    }
}
