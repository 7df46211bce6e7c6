//! Microsoft Entra ID as a source: users read through Microsoft Graph with the app
//! registration's client-credentials token (the target's, [`crate::connectors::entra`]).
//!
//! Every read selects exactly the properties the mapping needs (`$select`), expands the
//! manager to its id (`$expand=manager($select=id)`), and pages at Graph's largest page
//! (`$top=999`) through `@odata.nextLink`: `GET /users` for the whole tenant, `GET
//! /groups/{id}/transitiveMembers/microsoft.graph.user` per group (the users among the
//! members, nested groups' included; a user in several groups is read once), or `GET
//! /users/{id or userPrincipalName}` per listed user. A `@odata.nextLink` that comes back a
//! second time stops the fetch with an error.
//!
//! The mapping: the object id is the employee id (and the manager's the manager id);
//! `givenName`/`surname` the names, split from `displayName` only when both are empty; `mail`
//! the Work address, `otherMails` Other ones, and `userPrincipalName` the Primary address when
//! mail can reach it (not a guest's `#EXT#` name, not an `onmicrosoft.com` one);
//! `accountEnabled: false` is Inactive, an enabled account states no status (its dates decide);
//! `employeeHireDate` / `employeeLeaveDateTime` the start and end dates, `employeeId` the
//! employee number, `department`, `jobTitle`, `officeLocation`, `preferredLanguage` as named.
//! Guests and accounts without a mailbox are left out unless `includeGuests`.

use std::collections::{HashSet, VecDeque};

use async_trait::async_trait;
use futures::stream::{self, BoxStream, StreamExt};
use reqwest::Method;
use serde_json::{Map, Value};

use super::{
    RetryDelays, SourceConnector,
    api::{ApiClient, url_path},
    rows::{self, Columns},
    values::email_problem,
};
use crate::{
    connectors::{ConnectorContext, checks::RequestSettings, entra},
    crd::{GraphScope, MicrosoftGraphSource as GraphSourceSpec, SecretKeyRef},
    sync::{
        model::{
            AddressPart, AddressType, Email, EmailType, Employee, EmploymentStatus, PhoneType,
            RecordError,
        },
        policy::SpecError,
        ports::source::{Source, SourceError, SourceField, SourcePage},
    },
};

/// Graph's largest page.
pub const PAGE_SIZE: usize = 999;
/// Listed users read per page of the fetch (one request each).
pub const LISTED_USERS_PER_PAGE: usize = 100;
/// The manager, expanded to its object id.
pub const EXPAND: &str = "manager($select=id)";
/// The user properties every read selects (custom fields add theirs).
pub const SELECT: [&str; 23] = [
    "id",
    "userPrincipalName",
    "mail",
    "otherMails",
    "userType",
    "accountEnabled",
    "givenName",
    "surname",
    "displayName",
    "employeeId",
    "employeeHireDate",
    "employeeLeaveDateTime",
    "department",
    "jobTitle",
    "officeLocation",
    "preferredLanguage",
    "businessPhones",
    "mobilePhone",
    "streetAddress",
    "city",
    "state",
    "postalCode",
    "country",
];
/// The key the first of `businessPhones` is read under (Graph allows one business number).
const BUSINESS_PHONE: &str = "businessPhones[0]";
/// Domains of the names every tenant gets, which receive no mail from outside.
const UNROUTABLE_DOMAINS: [&str; 4] = [
    ".onmicrosoft.com",
    ".onmicrosoft.us",
    ".onmicrosoft.de",
    ".partner.onmschina.cn",
];
/// What a source read of a spec is called in messages.
const VENDOR: &str = "Microsoft Graph";

/// Whose accounts are read.
#[derive(Clone, Debug, PartialEq)]
pub enum Scope {
    /// The whole tenant.
    AllUsers,
    /// The users among these groups' transitive members.
    Groups(Vec<String>),
    /// These users, by object id or userPrincipalName.
    Users(Vec<String>),
}

impl Scope {
    /// The scope a spec names; `None` unless it names exactly one.
    pub fn of(spec: &GraphScope) -> Option<Scope> {
        match (spec.all_users, &spec.groups, &spec.users) {
            (Some(true), None, None) => Some(Scope::AllUsers),
            (None | Some(false), Some(groups), None) => Some(Scope::Groups(groups.clone())),
            (None | Some(false), None, Some(users)) => Some(Scope::Users(users.clone())),
            _ => None,
        }
    }
}

/// Reads Entra ID users.
#[derive(Debug)]
pub struct GraphSource {
    api: ApiClient,
    graph: String,
    scope: Scope,
    include_guests: bool,
    columns: Columns,
    select: String,
    reference_employee_id: Option<String>,
}

/// Which user property feeds which canonical field, with `custom` (canonical name → property
/// path) as custom fields. The Primary and Other addresses and the status are read apart
/// ([`GraphSource::read_user`]).
pub fn columns(custom: Vec<(String, String)>) -> Columns {
    let some = |s: &str| Some(s.to_owned());
    Columns {
        id: "id".into(),
        employee_number: some("employeeId"),
        first_name: some("givenName"),
        last_name: some("surname"),
        preferred_name: None,
        work_email: some("mail"),
        personal_email: None,
        employment_status: None,
        start_date: some("employeeHireDate"),
        end_date: some("employeeLeaveDateTime"),
        manager_id: some("manager.id"),
        department: some("department"),
        title: some("jobTitle"),
        location: some("officeLocation"),
        preferred_language: some("preferredLanguage"),
        // `businessPhones` is a list: its first number is read apart, as `businessPhone`.
        phones: vec![
            (PhoneType::Work, BUSINESS_PHONE.into()),
            (PhoneType::Mobile, "mobilePhone".into()),
        ],
        addresses: rows::address_columns(
            AddressType::Work,
            &[
                (AddressPart::Street, "streetAddress"),
                (AddressPart::Locality, "city"),
                (AddressPart::Region, "state"),
                (AddressPart::PostalCode, "postalCode"),
                (AddressPart::Country, "country"),
            ],
        ),
        spec_named: Vec::new(),
        custom,
        custom_object: None,
        status_values: Vec::new(),
    }
}

impl GraphSource {
    /// The source a spec names, with its client secret read.
    pub async fn from_spec(
        spec: &GraphSourceSpec,
        context: &ConnectorContext,
        delays: RetryDelays,
    ) -> Result<Self, SourceError> {
        let scope = Scope::of(&spec.scope).ok_or_else(|| {
            SourceError::InvalidInput(format!("spec.source.microsoftGraph.scope: {SCOPE_RULE}"))
        })?;
        let secret_ref = &spec.app.client_secret_secret_ref;
        let secret = context.secrets.get(secret_ref).await?;
        let hint = format!(
            "the tenant (spec.source.microsoftGraph.tenantId), the app registration's client id \
             (spec.source.microsoftGraph.clientId) and its client secret (secret {}/{})",
            secret_ref.name, secret_ref.key
        );
        let api = ApiClient::new(
            VENDOR,
            hint,
            entra::auth(&spec.app, secret),
            spec.requests_per_second,
            spec.timeout_seconds,
            spec.max_tries,
            delays,
        )?
        .with_max_response_bytes(spec.max_response_bytes)
        .with_refusal_explanation(explain_refusal);
        let custom = spec
            .custom_fields
            .iter()
            .map(|(name, property)| (name.clone(), property.clone()))
            .collect();
        Ok(Self::new(
            api,
            &entra::graph_base(&spec.app),
            scope,
            spec.include_guests,
            custom,
            spec.reference_employee_id.clone(),
        ))
    }

    /// A source over a ready client.
    pub fn new(
        api: ApiClient,
        graph_url: &str,
        scope: Scope,
        include_guests: bool,
        custom: Vec<(String, String)>,
        reference_employee_id: Option<String>,
    ) -> Self {
        let mut select: Vec<&str> = SELECT.to_vec();
        for (_, property) in &custom {
            let top = property.split('.').next().unwrap_or(property);
            if !select.contains(&top) {
                select.push(top);
            }
        }
        let select = select.join(",");
        Self {
            api,
            graph: graph_url.trim_end_matches('/').to_owned(),
            scope,
            include_guests,
            columns: columns(custom),
            select,
            reference_employee_id,
        }
    }

    /// The URL of `segments` under Graph's base (each percent-encoded as a path segment: a
    /// guest's userPrincipalName holds `#`), with the selection and the manager expanded, and
    /// `top` users a page for a listing.
    fn url(&self, segments: &[&str], top: Option<usize>) -> String {
        let mut url = reqwest::Url::parse(&self.graph).expect("graphUrl is checked");
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        let top = top.map(|top| format!("&$top={top}")).unwrap_or_default();
        format!("{url}?$select={}&$expand={EXPAND}{top}", self.select)
    }

    /// The first page of the tenant's users.
    fn users_url(&self, top: usize) -> String {
        self.url(&["users"], Some(top))
    }

    /// The first page of the users among the members of group `id`.
    fn group_url(&self, id: &str, top: usize) -> String {
        self.url(
            &["groups", id, "transitiveMembers", "microsoft.graph.user"],
            Some(top),
        )
    }

    /// One user, by object id or userPrincipalName.
    fn user_url(&self, key: &str) -> String {
        self.url(&["users", key], None)
    }

    /// One page of a listing: its users and the next page's URL. A 404 is `None`.
    async fn listing_page(
        &self,
        url: &str,
    ) -> Result<Option<(Vec<Value>, Option<String>)>, SourceError> {
        let Some(body) = self
            .api
            .json_if_found(Method::GET, url, |request| request)
            .await
            .map_err(|error| self.custom_field_hint(error))?
        else {
            return Ok(None);
        };
        let values = body
            .get("value")
            .and_then(Value::as_array)
            .cloned()
            .ok_or_else(|| {
                SourceError::Unavailable(format!(
                    "{VENDOR} answered GET {} without `value`",
                    url_path(url)
                ))
            })?;
        let next = body
            .get("@odata.nextLink")
            .and_then(Value::as_str)
            .filter(|link| !link.is_empty())
            .map(str::to_owned);
        Ok(Some((values, next)))
    }

    /// One user by object id or userPrincipalName; `None` when Graph has no such user.
    async fn user(&self, key: &str) -> Result<Option<Value>, SourceError> {
        self.api
            .json_if_found(Method::GET, &self.user_url(key), |request| request)
            .await
            .map_err(|error| self.custom_field_hint(error))
    }

    /// A refused `$select` most often names a custom field's property that users do not have.
    fn custom_field_hint(&self, error: SourceError) -> SourceError {
        match error {
            SourceError::Unavailable(message)
                if message.contains(" answered 400 ") && !self.columns.custom.is_empty() =>
            {
                SourceError::Unavailable(format!(
                    "{message}; Graph refuses to select a property users do not have: check \
                     the properties spec.source.microsoftGraph.customFields names"
                ))
            }
            other => other,
        }
    }

    /// The next page of the fetch, or `None` after the last.
    async fn next_page(&self, walk: &mut Walk) -> Result<Option<SourcePage>, SourceError> {
        if let Scope::Users(keys) = &self.scope {
            return self.next_listed_users(keys, walk).await;
        }
        let (entry, url) = match walk.next.take() {
            Some(next) => next,
            None => match walk.listings.pop_front() {
                Some(first) => first,
                None => return Ok(None),
            },
        };
        let Some((values, next)) = self.listing_page(&url).await? else {
            return Err(match (&self.scope, entry) {
                (Scope::Groups(groups), Some(index)) if walk.first_of_listing(&url) => {
                    SourceError::InvalidInput(format!(
                        "spec.source.microsoftGraph.scope.groups[{index}] is `{}`, but \
                         {VENDOR} answered 404 to GET {}: the tenant has no group with this \
                         object id; use the Object ID the Entra admin center shows for the \
                         group",
                        groups[index],
                        url_path(&url)
                    ))
                }
                _ => SourceError::Unavailable(format!(
                    "{VENDOR} answered 404 to GET {} (a page of a listing it had begun)",
                    url_path(&url)
                )),
            });
        };
        walk.pages += 1;
        if let Some(next) = next {
            if !walk.links.insert(next.clone()) {
                return Err(SourceError::Unavailable(format!(
                    "{VENDOR} returned an @odata.nextLink it had returned before (after {} \
                     pages); the list read so far is not complete, so the run stops",
                    walk.pages
                )));
            }
            walk.next = Some((entry, next));
        }
        Ok(Some(self.read_page(&values, walk)))
    }

    /// The next listed users, one request each.
    async fn next_listed_users(
        &self,
        keys: &[String],
        walk: &mut Walk,
    ) -> Result<Option<SourcePage>, SourceError> {
        if walk.position >= keys.len() {
            return Ok(None);
        }
        let end = (walk.position + LISTED_USERS_PER_PAGE).min(keys.len());
        let mut found = Vec::new();
        let mut missing = Vec::new();
        for (index, key) in keys.iter().enumerate().take(end).skip(walk.position) {
            match self.user(key).await? {
                Some(user) => found.push(user),
                None => missing.push(RecordError {
                    line: None,
                    employee_id: None,
                    field: Some(format!("scope.users[{index}]")),
                    message: format!(
                        "{VENDOR} has no such user (404): spec.source.microsoftGraph.scope.\
                         users[{index}] names no object id or userPrincipalName of the tenant; \
                         fix or remove the entry"
                    ),
                }),
            }
        }
        walk.position = end;
        let mut page = self.read_page(&found, walk);
        page.errors.extend(missing);
        Ok(Some(page))
    }

    /// The employees of a page: users not read before, guests and accounts without a mailbox
    /// left out unless asked for.
    fn read_page(&self, values: &[Value], walk: &mut Walk) -> SourcePage {
        let mut page = SourcePage::default();
        for value in values {
            if let Some(id) = value.get("id").and_then(Value::as_str)
                && !walk.users.insert(id.to_owned())
            {
                continue;
            }
            match self.read_user(value) {
                None => {}
                Some(Ok(employee)) => page.employees.push(employee),
                Some(Err(error)) => page.errors.push(error),
            }
        }
        page
    }

    /// One user as an employee; `None` for what is not read (not a user, a guest, an account
    /// without a mailbox).
    pub fn read_user(&self, value: &Value) -> Option<Result<Employee, RecordError>> {
        let Some(user) = value.as_object() else {
            return Some(Err(rows::not_an_object(value)));
        };
        if user
            .get("@odata.type")
            .and_then(Value::as_str)
            .is_some_and(|kind| kind != "#microsoft.graph.user")
        {
            return None;
        }
        if !self.include_guests && (is_guest(user) || rows::lookup(user, "mail").is_none()) {
            return None;
        }
        Some(read_user(user, &self.columns))
    }
}

/// Where a fetch is.
#[derive(Debug, Default)]
struct Walk {
    /// Listings not begun: the scope entry each reads (a group's index) and its first URL.
    listings: VecDeque<(Option<usize>, String)>,
    /// The listing under way and the URL of its next page.
    next: Option<(Option<usize>, String)>,
    /// Every `@odata.nextLink` received.
    links: HashSet<String>,
    /// First-page URLs, to tell a missing group from a lost page.
    firsts: HashSet<String>,
    /// Ids of the users read.
    users: HashSet<String>,
    /// The listed user to read next (users scope).
    position: usize,
    /// Pages read.
    pages: usize,
}

impl Walk {
    fn first_of_listing(&self, url: &str) -> bool {
        self.firsts.contains(url)
    }
}

/// A guest of the tenant (`userType: Guest`).
fn is_guest(user: &Map<String, Value>) -> bool {
    user.get("userType")
        .and_then(Value::as_str)
        .is_some_and(|kind| kind.eq_ignore_ascii_case("guest"))
}

/// Reads a user (an object of Graph's user properties) into an employee.
pub fn read_user(user: &Map<String, Value>, columns: &Columns) -> Result<Employee, RecordError> {
    let named = |key: &str| rows::lookup(user, key).and_then(rows::as_text);
    // Copied only to put in the names split from the display name.
    let mut record = std::borrow::Cow::Borrowed(user);
    let id = named("id");
    if let Some(id) = id.as_ref()
        && named("givenName").is_none()
        && named("surname").is_none()
    {
        let Some((first, last)) = named("displayName").as_deref().and_then(split_display_name)
        else {
            return Err(RecordError {
                line: None,
                employee_id: Some(id.clone()),
                field: Some("firstName".into()),
                message: "givenName and surname are empty, and displayName is not a first and \
                          a last name to split (`First Last` or `Last, First`); set the user's \
                          first and last name in Entra ID"
                    .into(),
            });
        };
        let record = record.to_mut();
        record.insert("givenName".into(), Value::String(first));
        record.insert("surname".into(), Value::String(last));
    }
    if let Some(first) = user
        .get("businessPhones")
        .and_then(Value::as_array)
        .and_then(|phones| phones.first())
    {
        record.to_mut().insert(BUSINESS_PHONE.into(), first.clone());
    }
    let mut employee = rows::read_record(&record, columns)?;
    if user.get("accountEnabled") == Some(&Value::Bool(false)) {
        employee.employment_status = EmploymentStatus::Inactive;
        employee.status_stated = true;
    }
    if let Some(upn) = named("userPrincipalName").filter(|upn| routable(upn)) {
        employee.emails.insert(
            0,
            Email {
                address: upn,
                kind: EmailType::Primary,
            },
        );
    }
    let others = user.get("otherMails").and_then(Value::as_array);
    for other in others.into_iter().flatten() {
        let address = other.as_str().map(str::trim).unwrap_or_default();
        if let Some(problem) = email_problem(address)
            .or_else(|| super::values::has_line_break(address).then_some("it holds a line break"))
        {
            return Err(RecordError {
                line: None,
                employee_id: Some(employee.id.clone()),
                field: Some("otherEmail".into()),
                message: format!(
                    "`otherMails` holds a value that is not an email address: {problem}"
                ),
            });
        }
        employee.emails.push(Email {
            address: address.into(),
            kind: EmailType::Other,
        });
    }
    Ok(employee)
}

/// A display name as first and last name: `Last, First`, or the first word and the rest
/// (`Anna van der Berg` is Anna and van der Berg). One word is no split.
pub fn split_display_name(display: &str) -> Option<(String, String)> {
    let display = display.trim();
    if let Some((last, first)) = display.split_once(',') {
        let (first, last) = (first.trim(), last.trim());
        return (!first.is_empty() && !last.is_empty() && !first.contains(','))
            .then(|| (first.to_owned(), last.to_owned()));
    }
    let (first, last) = display.split_once(char::is_whitespace)?;
    let last = last.trim();
    (!first.is_empty() && !last.is_empty()).then(|| (first.to_owned(), last.to_owned()))
}

/// Whether a userPrincipalName is an address mail reaches: an address, not a guest's
/// `…#EXT#@…` name, not on a tenant's initial `onmicrosoft.com` domain.
pub fn routable(upn: &str) -> bool {
    let lower = upn.to_lowercase();
    email_problem(upn).is_none()
        && !lower.contains("#ext#")
        && !UNROUTABLE_DOMAINS
            .iter()
            .any(|domain| lower.ends_with(domain))
}

/// The rule of `scope`, for messages.
const SCOPE_RULE: &str = "set exactly one of allUsers: true, groups: [object ids], users: \
                          [object ids or userPrincipalNames]";

/// A refusal Graph explains: `Authorization_RequestDenied` is a permission the app lacks, not a
/// wrong secret.
fn explain_refusal(status: u16, path: &str, body: &Value) -> Option<String> {
    let code = body.pointer("/error/code").and_then(Value::as_str)?;
    if status != 403 || code != "Authorization_RequestDenied" {
        return None;
    }
    let needed = if path.contains("/groups/") {
        "GroupMember.Read.All and User.Read.All"
    } else {
        "User.Read.All"
    };
    Some(format!(
        "Authorization_RequestDenied: the app registration lacks a permission; grant it the \
         Microsoft Graph application permission {needed} and an administrator's consent (Entra \
         admin center: App registrations → API permissions)"
    ))
}

/// What the operator knows of a `microsoftGraph` source.
#[async_trait]
impl SourceConnector for GraphSourceSpec {
    fn secret_refs(&self) -> Vec<&SecretKeyRef> {
        vec![&self.app.client_secret_secret_ref]
    }

    fn validate(&self) -> Vec<SpecError> {
        let mut problems = RequestSettings {
            source: "microsoftGraph",
            base_url: None,
            allow_insecure_http: self.allow_insecure_http,
            requests_per_second: self.requests_per_second,
            timeout_seconds: self.timeout_seconds,
            max_tries: self.max_tries,
        }
        .problems();
        problems.extend(entra::url_problems(
            &self.app,
            self.allow_insecure_http,
            "spec.source.microsoftGraph",
        ));
        let mut error = |name: &str, message: String| {
            problems.push(SpecError {
                field: format!("spec.source.microsoftGraph.{name}"),
                message,
            });
        };
        match Scope::of(&self.scope) {
            None => error("scope", SCOPE_RULE.into()),
            Some(Scope::Groups(groups)) if groups.is_empty() => {
                error("scope.groups", "list at least one group object id".into())
            }
            Some(Scope::Users(users)) if users.is_empty() => error(
                "scope.users",
                "list at least one object id or userPrincipalName".into(),
            ),
            Some(Scope::Groups(groups)) => {
                for (index, group) in groups.iter().enumerate() {
                    if !is_object_id(group) {
                        error(
                            &format!("scope.groups[{index}]"),
                            format!(
                                "`{group}` is not a group object id; use the Object ID the \
                                 Entra admin center shows for the group, such as \
                                 0b3c2a4e-9d1f-4c4e-8a55-2f1b7c3d9e01"
                            ),
                        );
                    }
                }
            }
            Some(Scope::Users(users)) => {
                for (index, user) in users.iter().enumerate() {
                    if user.trim().is_empty() || user.contains('/') {
                        error(
                            &format!("scope.users[{index}]"),
                            "is not an object id or userPrincipalName".into(),
                        );
                    }
                }
            }
            Some(Scope::AllUsers) => {}
        }
        for (name, property) in &self.custom_fields {
            let valid = !property.is_empty()
                && property.split('.').all(|part| {
                    !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                });
            if !valid {
                error(
                    &format!("customFields.{name}"),
                    format!(
                        "`{property}` is not a user property; name one such as department or \
                         employeeOrgData.costCenter"
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
            GraphSource::from_spec(self, context, delays).await?,
        ))
    }
}

/// A directory object id: a GUID, `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` in hex.
fn is_object_id(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && parts
            .iter()
            .all(|p| p.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[async_trait]
impl Source for GraphSource {
    async fn check(&self) -> Result<(), SourceError> {
        match &self.scope {
            Scope::Groups(groups) if !groups.is_empty() => self
                .listing_page(&self.group_url(&groups[0], 1))
                .await
                .map(|_| ()),
            Scope::Users(users) if !users.is_empty() => self.user(&users[0]).await.map(|_| ()),
            _ => self.listing_page(&self.users_url(1)).await.map(|_| ()),
        }
    }

    fn pages(&self) -> BoxStream<'_, Result<SourcePage, SourceError>> {
        let mut walk = Walk::default();
        match &self.scope {
            Scope::AllUsers => walk.listings.push_back((None, self.users_url(PAGE_SIZE))),
            Scope::Groups(groups) => {
                for (index, group) in groups.iter().enumerate() {
                    let url = self.group_url(group, PAGE_SIZE);
                    walk.firsts.insert(url.clone());
                    walk.listings.push_back((Some(index), url));
                }
            }
            Scope::Users(_) => {}
        }
        stream::try_unfold(walk, move |mut walk| async move {
            Ok(self.next_page(&mut walk).await?.map(|page| (page, walk)))
        })
        .boxed()
    }

    async fn fields(&self) -> Result<Vec<SourceField>, SourceError> {
        let record = match (&self.reference_employee_id, &self.scope) {
            (Some(key), _) => Some(self.user(key).await?.ok_or_else(|| {
                super::unknown_reference_employee(
                    "microsoftGraph",
                    key,
                    &format!(
                        "{VENDOR} answered 404 to GET {}",
                        url_path(&self.user_url(key))
                    ),
                )
            })?),
            (None, Scope::Users(users)) if !users.is_empty() => self.user(&users[0]).await?,
            (None, Scope::Groups(groups)) if !groups.is_empty() => {
                self.first_user(&self.group_url(&groups[0], 1)).await?
            }
            (None, _) => self.first_user(&self.users_url(1)).await?,
        };
        let mut flat = record.as_ref().and_then(Value::as_object).cloned();
        if let Some(user) = flat.as_mut()
            && let Some(manager) = user.get_mut("manager").and_then(Value::as_object_mut)
        {
            manager.remove("@odata.type");
        }
        let selected: Vec<String> = self.select.split(',').map(str::to_owned).collect();
        let mut fields = rows::fields_of(flat.as_ref(), &self.columns, &selected);
        for field in &mut fields {
            let feeds = match field.name.as_str() {
                "userPrincipalName" => "primaryEmail",
                "otherMails" => "otherEmail",
                "accountEnabled" => "employmentStatus",
                _ => continue,
            };
            field.feeds = Some(feeds.into());
        }
        Ok(fields)
    }
}

impl GraphSource {
    /// The first user of a one-user page, if any.
    async fn first_user(&self, url: &str) -> Result<Option<Value>, SourceError> {
        Ok(self
            .listing_page(url)
            .await?
            .and_then(|(values, _)| values.into_iter().next()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use serde_json::json;

    fn read(user: Value) -> Result<Employee, RecordError> {
        read_user(user.as_object().unwrap(), &columns(Vec::new()))
    }

    #[test]
    fn a_user_maps_into_the_canonical_employee() {
        let employee = read(json!({
            "id": "0b3c2a4e-0000-4000-8000-000000000001",
            "userPrincipalName": "ada@contoso.example", "mail": "ada.lovelace@contoso.example",
            "otherMails": ["ada@home.example"], "userType": "Member", "accountEnabled": true,
            "givenName": "Ada", "surname": "Lovelace", "displayName": "Ada Lovelace",
            "employeeId": "1001", "employeeHireDate": "2024-02-01T00:00:00Z",
            "employeeLeaveDateTime": null, "department": "R&D", "jobTitle": "Engineer",
            "officeLocation": "Stockholm", "preferredLanguage": "sv-SE",
            "manager": {"@odata.type": "#microsoft.graph.user",
                        "id": "0b3c2a4e-0000-4000-8000-000000000002"}
        }))
        .unwrap();
        assert_eq!(employee.id, "0b3c2a4e-0000-4000-8000-000000000001");
        assert_eq!(employee.employee_number.as_deref(), Some("1001"));
        assert_eq!(
            (employee.first_name.as_str(), employee.last_name.as_str()),
            ("Ada", "Lovelace")
        );
        let emails: Vec<_> = employee
            .emails
            .iter()
            .map(|e| (e.kind, e.address.as_str()))
            .collect();
        assert_eq!(
            emails,
            [
                (EmailType::Primary, "ada@contoso.example"),
                (EmailType::Work, "ada.lovelace@contoso.example"),
                (EmailType::Other, "ada@home.example"),
            ]
        );
        assert!(
            !employee.status_stated,
            "an enabled account leaves it to the dates"
        );
        assert_eq!(employee.start_date, Some(date(2024, 2, 1)));
        assert_eq!(employee.end_date, None);
        assert_eq!(
            employee.manager_id.as_deref(),
            Some("0b3c2a4e-0000-4000-8000-000000000002")
        );
        assert_eq!(employee.title.as_deref(), Some("Engineer"));
        assert_eq!(employee.location.as_deref(), Some("Stockholm"));
        assert_eq!(employee.preferred_language.as_deref(), Some("sv-SE"));
    }

    #[test]
    fn a_disabled_account_is_inactive() {
        let employee = read(json!({"id": "1", "givenName": "A", "surname": "B",
            "accountEnabled": false, "employeeLeaveDateTime": "2026-03-31T00:00:00Z"}))
        .unwrap();
        assert_eq!(employee.employment_status, EmploymentStatus::Inactive);
        assert!(employee.status_stated);
        assert_eq!(employee.end_date, Some(date(2026, 3, 31)));
    }

    #[test]
    fn names_come_from_the_display_name_only_when_both_are_empty() {
        for (display, first, last) in [
            ("Ada Lovelace", "Ada", "Lovelace"),
            ("Anna van der Berg", "Anna", "van der Berg"),
            ("Lovelace, Ada", "Ada", "Lovelace"),
            ("  Zoë   Öberg ", "Zoë", "Öberg"),
        ] {
            let employee =
                read(json!({"id": "1", "givenName": null, "surname": "", "displayName": display}))
                    .unwrap();
            assert_eq!(
                (employee.first_name.as_str(), employee.last_name.as_str()),
                (first, last)
            );
        }
        let kept = read(json!({"id": "1", "givenName": "Ada", "displayName": "Someone Else"}));
        assert_eq!(kept.unwrap().last_name, "");
        for display in [json!("Reception"), json!(null), json!(""), json!("a, b, c")] {
            let error =
                read(json!({"id": "7", "givenName": "", "displayName": display})).unwrap_err();
            assert_eq!(error.employee_id.as_deref(), Some("7"));
            assert_eq!(error.field.as_deref(), Some("firstName"));
            assert!(error.message.contains("displayName"), "{}", error.message);
            assert!(!error.message.contains("Reception"), "{}", error.message);
        }
    }

    #[test]
    fn only_a_routable_user_principal_name_is_an_address() {
        assert!(routable("ada@contoso.example"));
        for upn in [
            "ada_fabrikam.example#EXT#@contoso.onmicrosoft.com",
            "ada@contoso.onmicrosoft.com",
            "ada@CONTOSO.OnMicrosoft.com",
            "ada@agency.onmicrosoft.us",
            "not an address",
        ] {
            assert!(!routable(upn), "{upn}");
        }
        let employee = read(json!({"id": "1", "givenName": "A", "surname": "B",
            "userPrincipalName": "a@contoso.onmicrosoft.com", "mail": "a@contoso.example"}))
        .unwrap();
        assert_eq!(employee.emails.len(), 1);
        assert_eq!(employee.emails[0].kind, EmailType::Work);
    }

    #[test]
    fn a_bad_other_address_is_an_error_naming_the_field_not_the_value() {
        let error = read(json!({"id": "1", "givenName": "A", "surname": "B",
            "otherMails": ["ok@home.example", "private words"]}))
        .unwrap_err();
        assert_eq!(error.field.as_deref(), Some("otherEmail"));
        assert!(!error.message.contains("private"), "{}", error.message);
    }

    #[test]
    fn a_missing_permission_names_the_permission_to_grant() {
        let denied = json!({"error": {"code": "Authorization_RequestDenied",
            "message": "Insufficient privileges to complete the operation."}});
        let groups = explain_refusal(
            403,
            "/v1.0/groups/x/transitiveMembers/microsoft.graph.user",
            &denied,
        )
        .unwrap();
        assert!(groups.contains("GroupMember.Read.All"), "{groups}");
        let users = explain_refusal(403, "/v1.0/users", &denied).unwrap();
        assert!(
            users.contains("User.Read.All") && !users.contains("GroupMember"),
            "{users}"
        );
        assert_eq!(explain_refusal(401, "/v1.0/users", &denied), None);
        let other = json!({"error": {"code": "InvalidAuthenticationToken"}});
        assert_eq!(explain_refusal(403, "/v1.0/users", &other), None);
    }

    #[test]
    fn scope_takes_exactly_one_kind_and_group_ids_are_object_ids() {
        let scope = |yaml: &str| Scope::of(&serde_saphyr::from_str::<GraphScope>(yaml).unwrap());
        assert_eq!(scope("{allUsers: true}"), Some(Scope::AllUsers));
        assert_eq!(scope("{allUsers: false}"), None);
        assert_eq!(scope("{}"), None);
        assert_eq!(scope("{allUsers: true, users: [a]}"), None);
        assert_eq!(scope("{groups: [g], users: [a]}"), None);
        assert_eq!(scope("{users: [a]}"), Some(Scope::Users(vec!["a".into()])));
        assert!(is_object_id("0b3c2a4e-9d1f-4c4e-8a55-2f1b7c3d9e01"));
        assert!(!is_object_id("Sales"));
        assert!(!is_object_id("0b3c2a4e-9d1f-4c4e-8a55-2f1b7c3d9e0g"));
    }
}
