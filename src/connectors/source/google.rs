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

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
    time::Duration,
};

use async_trait::async_trait;
use futures::stream::{self, BoxStream, StreamExt};
use reqwest::Method;
use serde_json::{Map, Value};

use super::{
    RetryDelays, SourceConnector,
    api::{ApiClient, url_path},
    rows::{self, Columns},
    values::{email_problem, has_line_break},
};
use crate::{
    connectors::{ConnectorContext, checks::RequestSettings, google, http::Auth},
    crd::{GoogleScope, GoogleWorkspaceSource as GoogleSourceSpec, SecretKeyRef},
    sync::{
        model::{Email, EmailType, Employee, EmploymentStatus, RecordError},
        policy::SpecError,
        ports::source::{Source, SourceError, SourceField, SourcePage},
    },
};

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

/// Which field of a user's [`view`] feeds which canonical field, with `custom` (canonical name
/// → path) as custom fields. The addresses, the status and the manager are read apart
/// ([`read_user`], [`GoogleSource`]).
pub fn columns(custom: Vec<(String, String)>) -> Columns {
    let some = |s: &str| Some(s.to_owned());
    Columns {
        id: "id".into(),
        employee_number: some("externalIds.organization"),
        first_name: some("name.givenName"),
        last_name: some("name.familyName"),
        department: some("organizations.department"),
        title: some("organizations.title"),
        location: some("locations.area"),
        preferred_language: some("languages.languageCode"),
        custom,
        ..Columns::default()
    }
}

/// A user with each list the mapping reads taken down to one entry, so that a dotted path
/// names one value: `organizations` the primary organization (else the first), `locations` the
/// desk location (else the first), `languages` the preferred language (else the first), and
/// `externalIds` and `relations` objects from each entry's type (its `customType` for type
/// `custom`) to its value, the first entry of a type winning. Everything else is as Google
/// answered it.
pub fn view(user: &Map<String, Value>) -> Map<String, Value> {
    let mut view = user.clone();
    let list = |key: &str| user.get(key).and_then(Value::as_array);
    for (key, field, wanted) in [
        ("organizations", "primary", Value::Bool(true)),
        ("locations", "type", Value::from("desk")),
        ("languages", "preference", Value::from("preferred")),
    ] {
        let chosen = list(key).and_then(|entries| {
            entries
                .iter()
                .find(|entry| entry[field] == wanted)
                .or_else(|| entries.first())
                .cloned()
        });
        match chosen {
            Some(entry) => view.insert(key.into(), entry),
            None => view.remove(key),
        };
    }
    for key in ["externalIds", "relations"] {
        let Some(entries) = list(key) else {
            continue;
        };
        let mut typed = Map::new();
        for entry in entries {
            let kind = match entry["type"].as_str() {
                Some("custom") => entry["customType"].as_str(),
                kind => kind,
            };
            if let Some(kind) = kind
                && !typed.contains_key(kind)
            {
                typed.insert(kind.to_owned(), entry["value"].clone());
            }
        }
        view.insert(key.into(), Value::Object(typed));
    }
    view
}

/// One user as an employee, without its manager (the caller resolves the manager's address),
/// and the manager's address the user names, if any.
pub fn read_user(
    user: &Map<String, Value>,
    columns: &Columns,
) -> Result<(Employee, Option<String>), RecordError> {
    let view = view(user);
    let mut employee = rows::read_record(&view, columns)?;
    let error = |field: &str, message: String| RecordError {
        line: None,
        employee_id: Some(employee.id.clone()),
        field: Some(field.to_owned()),
        message,
    };
    let flag = |key: &str| user.get(key) == Some(&Value::Bool(true));
    if flag("suspended") || flag("archived") {
        employee.employment_status = EmploymentStatus::Inactive;
        employee.status_stated = true;
    }
    let mut emails = Vec::new();
    if let Some(primary) = rows::lookup(user, "primaryEmail") {
        let address = primary.as_str().unwrap_or_default().trim();
        if let Some(problem) = address_problem(address) {
            return Err(error(
                "primaryEmail",
                format!("`primaryEmail` does not hold an email address: {problem}"),
            ));
        }
        emails.push(Email {
            address: address.into(),
            kind: EmailType::Primary,
        });
    }
    let entries = user.get("emails").and_then(Value::as_array);
    for entry in entries.into_iter().flatten() {
        // Google restates the primary address among the others, marked primary.
        if entry["primary"] == true {
            continue;
        }
        let (kind, field) = match entry["type"].as_str() {
            Some("work") => (EmailType::Work, "workEmail"),
            _ => (EmailType::Other, "otherEmail"),
        };
        let address = entry["address"].as_str().unwrap_or_default().trim();
        if let Some(problem) = address_problem(address) {
            return Err(error(
                field,
                format!("`emails` holds an entry that is not an email address: {problem}"),
            ));
        }
        emails.push(Email {
            address: address.into(),
            kind,
        });
    }
    employee.emails = emails;
    let manager = rows::lookup(&view, "relations.manager")
        .and_then(Value::as_str)
        .map(|address| address.trim().to_lowercase());
    Ok((employee, manager))
}

/// What is wrong with a text as an address, if anything.
fn address_problem(address: &str) -> Option<&'static str> {
    email_problem(address).or_else(|| has_line_break(address).then_some("it holds a line break"))
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

/// What a fetch has read so far.
#[derive(Debug, Default)]
struct Fetched {
    /// The users read, in order, each once, with the manager address each names.
    read: Vec<(Result<Employee, RecordError>, Option<String>)>,
    /// Ids of the users read.
    ids: HashSet<String>,
    /// Every address of every user listed (read or not), lower case, to its user's id.
    addresses: HashMap<String, String>,
    /// Pages read.
    pages: usize,
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
        Err(SourceError::InvalidInput(format!(
            "{SPEC}.scope.groups[{index}] is `{group}`, but {VENDOR} answered 404 to GET {}: \
             the account has no group with this address; use the group's email address as the \
             Admin console shows it (Directory → Groups)",
            url_path(&self.members_url(group, MEMBERS_PAGE, None))
        )))
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
                let mut members = HashSet::new();
                self.group_members(0, group, &mut members).await?;
                let mut ids: Vec<&String> = members.iter().collect();
                ids.sort();
                match ids.first() {
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

impl Fetched {
    /// Takes one listed user: its addresses always (a manager may be anyone), the user itself
    /// when `keep` accepts its id and it was not read before.
    fn take(&mut self, user: &Value, columns: &Columns, keep: &(dyn Fn(&str) -> bool + Sync)) {
        let Some(object) = user.as_object() else {
            self.read.push((Err(rows::not_an_object(user)), None));
            return;
        };
        let id = object.get("id").and_then(Value::as_str);
        if let Some(id) = id {
            let primary = object.get("primaryEmail").and_then(Value::as_str);
            let others = object
                .get("emails")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|entry| entry["address"].as_str());
            for address in primary.into_iter().chain(others) {
                self.addresses
                    .entry(address.trim().to_lowercase())
                    .or_insert_with(|| id.to_owned());
            }
            if !keep(id) || !self.ids.insert(id.to_owned()) {
                return;
            }
        }
        match read_user(object, columns) {
            Ok((employee, manager)) => self.read.push((Ok(employee), manager)),
            Err(error) => self.read.push((Err(error), None)),
        }
    }

    /// The employees read, each manager's address resolved to the id of the user who has it.
    fn into_page(self) -> SourcePage {
        let mut page = SourcePage::default();
        for (read, manager) in self.read {
            match read {
                Ok(mut employee) => {
                    employee.manager_id = manager
                        .and_then(|address| self.addresses.get(&address))
                        .map(|id| id.as_str().into());
                    page.employees.push(employee);
                }
                Err(error) => page.errors.push(error),
            }
        }
        page
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

/// What the operator knows of a `googleWorkspace` source.
#[async_trait]
impl SourceConnector for GoogleSourceSpec {
    fn secret_refs(&self) -> Vec<&SecretKeyRef> {
        vec![&self.account.service_account_key_secret_ref]
    }

    fn validate(&self) -> Vec<SpecError> {
        let mut problems = RequestSettings {
            source: "googleWorkspace",
            base_url: None,
            allow_insecure_http: self.allow_insecure_http,
            requests_per_second: self.requests_per_second,
            timeout_seconds: self.timeout_seconds,
            max_tries: self.max_tries,
        }
        .problems();
        problems.extend(google::problems(
            &self.account,
            self.allow_insecure_http,
            SPEC,
        ));
        let mut error = |name: &str, message: String| {
            problems.push(SpecError {
                field: format!("{SPEC}.{name}"),
                message,
            });
        };
        match Scope::of(&self.scope) {
            None => error("scope", SCOPE_RULE.into()),
            Some(Scope::OrgUnits(units)) if units.is_empty() => error(
                "scope.orgUnits",
                "list at least one organizational unit path, such as /Sales".into(),
            ),
            Some(Scope::Groups(groups)) if groups.is_empty() => error(
                "scope.groups",
                "list at least one group email address".into(),
            ),
            Some(Scope::OrgUnits(units)) => {
                for (index, unit) in units.iter().enumerate() {
                    if let Some(problem) = org_unit_problem(unit) {
                        error(&format!("scope.orgUnits[{index}]"), problem);
                    }
                }
            }
            Some(Scope::Groups(groups)) => {
                for (index, group) in groups.iter().enumerate() {
                    let valid = group.contains('@')
                        && !group.contains('/')
                        && !group.chars().any(char::is_whitespace);
                    if !valid {
                        error(
                            &format!("scope.groups[{index}]"),
                            format!(
                                "`{group}` is not a group email address; use the group's \
                                 address, such as all-staff@acme.example"
                            ),
                        );
                    }
                }
            }
            Some(Scope::AllUsers) => {}
        }
        for (name, path) in &self.custom_fields {
            let valid = !path.is_empty()
                && path
                    .split('.')
                    .all(|part| !part.is_empty() && !part.chars().any(char::is_whitespace));
            if !valid {
                error(
                    &format!("customFields.{name}"),
                    format!(
                        "`{path}` is not a path into a user; name one such as \
                         organizations.costCenter or customSchemas.Employment.badge"
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
            GoogleSource::from_spec(self, context, delays).await?,
        ))
    }
}

/// What is wrong with an organizational unit path, if anything.
fn org_unit_problem(unit: &str) -> Option<String> {
    if !unit.starts_with('/') {
        return Some(format!(
            "`{unit}` must start with / (the root is /), such as /Sales"
        ));
    }
    if unit.len() > 1 && unit.ends_with('/') {
        return Some(format!(
            "`{unit}` ends with /; write the path without it, such as /Sales"
        ));
    }
    if unit.contains("//") {
        return Some(format!("`{unit}` has an empty unit name between two /"));
    }
    None
}

#[async_trait]
impl Source for GoogleSource {
    async fn check(&self) -> Result<(), SourceError> {
        match &self.scope {
            Scope::Groups(groups) => match groups.first() {
                Some(group) => {
                    let url = self.members_url(group, 1, None);
                    match self.api.json_if_found(Method::GET, &url, |r| r).await? {
                        Some(_) => Ok(()),
                        None => self.group_members(0, group, &mut HashSet::new()).await,
                    }
                }
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

    fn read(user: Value) -> Result<(Employee, Option<String>), RecordError> {
        read_user(user.as_object().unwrap(), &columns(Vec::new()))
    }

    #[test]
    fn a_user_maps_into_the_canonical_employee() {
        let (employee, manager) = read(json!({
            "id": "100000000000000000001", "primaryEmail": "ada@acme.example",
            "name": {"givenName": "Ada", "familyName": "Lovelace", "fullName": "Ada Lovelace"},
            "emails": [
                {"address": "ada@acme.example", "primary": true},
                {"address": "a.lovelace@acme.example", "type": "work"},
                {"address": "ada@home.example", "type": "home"},
                {"address": "ada@other.example", "type": "custom", "customType": "x"}
            ],
            "suspended": false, "archived": false, "orgUnitPath": "/Engineering",
            "organizations": [
                {"title": "Former", "department": "Old", "primary": false},
                {"title": "Engineer", "department": "R&D", "costCenter": "CC-1", "primary": true}
            ],
            "locations": [
                {"type": "default", "area": "Elsewhere"},
                {"type": "desk", "area": "Stockholm", "buildingId": "STO-1"}
            ],
            "languages": [{"languageCode": "sv", "preference": "preferred"}],
            "externalIds": [
                {"type": "custom", "customType": "hris-operator", "value": "acme:1"},
                {"type": "organization", "value": "1001"}
            ],
            "relations": [{"type": "manager", "value": "Grace@Acme.example"}]
        }))
        .unwrap();
        let mut expected = Employee::new(
            "100000000000000000001",
            "Ada",
            "Lovelace",
            EmploymentStatus::Active,
        );
        expected.status_stated = false;
        expected.employee_number = Some("1001".into());
        expected.emails = [
            (EmailType::Primary, "ada@acme.example"),
            (EmailType::Work, "a.lovelace@acme.example"),
            (EmailType::Other, "ada@home.example"),
            (EmailType::Other, "ada@other.example"),
        ]
        .map(|(kind, address)| Email {
            address: address.into(),
            kind,
        })
        .to_vec();
        expected.department = Some("R&D".into());
        expected.title = Some("Engineer".into());
        expected.location = Some("Stockholm".into());
        expected.preferred_language = Some("sv".into());
        // An active account states no status; the manager is resolved by the caller.
        assert_eq!(employee, expected);
        assert_eq!(manager.as_deref(), Some("grace@acme.example"));
    }

    #[test]
    fn a_suspended_or_archived_account_is_inactive() {
        for flag in ["suspended", "archived"] {
            let mut user = json!({"id": "1", "primaryEmail": "a@acme.example",
                "name": {"givenName": "A", "familyName": "B"}});
            user[flag] = json!(true);
            let (employee, _) = read(user).unwrap();
            assert_eq!(
                employee.employment_status,
                EmploymentStatus::Inactive,
                "{flag}"
            );
            assert!(employee.status_stated);
        }
    }

    #[test]
    fn lists_fall_back_to_their_first_entry() {
        let viewed = view(
            json!({"organizations": [{"title": "A"}, {"title": "B"}],
                   "locations": [{"type": "default", "area": "X"}],
                   "languages": [{"languageCode": "de"}, {"languageCode": "en"}],
                   "relations": [{"type": "assistant", "value": "x@acme.example"}]})
            .as_object()
            .unwrap(),
        );
        assert_eq!(viewed["organizations"]["title"], "A");
        assert_eq!(viewed["locations"]["area"], "X");
        assert_eq!(viewed["languages"]["languageCode"], "de");
        assert_eq!(viewed["relations"], json!({"assistant": "x@acme.example"}));
        let (employee, manager) = read(json!({"id": "1", "primaryEmail": "a@acme.example",
            "name": {"givenName": "A", "familyName": "B"},
            "relations": [{"type": "assistant", "value": "x@acme.example"}]}))
        .unwrap();
        assert_eq!((employee.manager_id, manager), (None, None));
    }

    #[test]
    fn a_bad_address_is_an_error_naming_the_field_not_the_value() {
        let error = read(json!({"id": "7", "primaryEmail": "a@acme.example",
            "name": {"givenName": "A", "familyName": "B"},
            "emails": [{"address": "private words", "type": "work"}]}))
        .unwrap_err();
        assert_eq!(error.employee_id.as_deref(), Some("7"));
        assert_eq!(error.field.as_deref(), Some("workEmail"));
        assert!(!error.message.contains("private"), "{}", error.message);
        let error = read(json!({"id": "7", "primaryEmail": "no address",
            "name": {"givenName": "A", "familyName": "B"}}))
        .unwrap_err();
        assert_eq!(error.field.as_deref(), Some("primaryEmail"));
    }

    #[test]
    fn managers_resolve_by_any_address_of_a_listed_user_and_never_by_guess() {
        let mut fetched = Fetched::default();
        let columns = columns(Vec::new());
        let user = |id: &str, email: &str, manager: Option<&str>| {
            let mut user = json!({"id": id, "primaryEmail": email,
                "name": {"givenName": "A", "familyName": "B"},
                "emails": [{"address": format!("alias.{email}")}]});
            if let Some(manager) = manager {
                user["relations"] = json!([{"type": "manager", "value": manager}]);
            }
            user
        };
        // The manager comes after the report, and outside what is kept.
        fetched.take(
            &user("2", "bo@acme.example", Some("ALIAS.ada@acme.example")),
            &columns,
            &|_| true,
        );
        fetched.take(
            &user("3", "cy@acme.example", Some("gone@acme.example")),
            &columns,
            &|_| true,
        );
        fetched.take(&user("1", "ada@acme.example", None), &columns, &|id| {
            id != "1"
        });
        fetched.take(&user("2", "bo@acme.example", None), &columns, &|_| true);
        let page = fetched.into_page();
        let managers: Vec<_> = page
            .employees
            .iter()
            .map(|e| (e.id.as_str(), e.manager_id.as_deref()))
            .collect();
        assert_eq!(managers, [("2", Some("1")), ("3", None)], "each once");
    }

    #[test]
    fn org_unit_queries_quote_the_path() {
        assert_eq!(org_unit_query("/Sales"), "orgUnitPath='/Sales'");
        assert_eq!(
            org_unit_query("/Sales Team/O'Brien\\x"),
            "orgUnitPath='/Sales Team/O\\'Brien\\\\x'"
        );
        assert_eq!(org_unit_problem("Sales").is_some(), true);
        assert_eq!(org_unit_problem("/Sales/").is_some(), true);
        assert_eq!(org_unit_problem("/"), None);
        assert_eq!(org_unit_problem("/Sales/EMEA"), None);
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
