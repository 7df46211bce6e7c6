//! Google Workspace users through the Admin SDK Directory API (`/admin/directory/v1/users`).
//!
//! Authentication: the service account's token for the scope [`SCOPE`], signed with its key
//! ([`crate::connectors::google`], shared with the Google Workspace source).
//!
//! Users are listed once per run (`customer`, `projection=full`, 500 a page, `pageToken`).
//! Where our data lives: the externalId in `externalIds` (type `custom`, the spec's
//! `customType`), the email in `primaryEmail`, active as `suspended` (inverted), the preferred
//! language in `languages`, the manager in `relations` (type `manager`, the manager's primary
//! email). Mapped attributes are `organizations.<field>` (`title`, `department`, `costCenter`,
//! … of the primary organization) or one of the other text fields `orgUnitPath`,
//! `name.displayName`, `recoveryEmail`, `recoveryPhone` (checked with the spec). Updates send only the changed fields (the API's update has
//! patch semantics); lists (`externalIds`, `organizations`, `relations`) are sent whole, with
//! the entries this connection does not own kept as they were listed.
//!
//! 429 and 403 `userRateLimitExceeded` / `quotaExceeded` / `rateLimitExceeded` back off and
//! retry (the shared HTTP client, told by [`google::throttled_answer`]). New users get a random
//! initial password that is never logged, reported or kept.
//!
//! An insert refused as a duplicate (409 `duplicate`) reads the user holding that primary
//! email: when it carries our externalId, the insert was ours, applied on an earlier try whose
//! answer was lost (resent after a 5xx), and it counts as created. Anyone else's user is a
//! conflict.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use compact_str::CompactString;
use futures::{StreamExt, stream};
use reqwest::Method;
use serde_json::{Value, json};

use super::{
    TargetConnector,
    graph::generate_password,
    scim::{get_path, set_path},
    scim_path::Path,
};
use crate::{
    connectors::{
        ConnectorContext,
        checks::{RateRange, check_rate},
        google,
        http::{Auth, HttpClient, HttpError, RetryPolicy},
    },
    crd::{GoogleWorkspaceTarget as GoogleSpec, SecretKeyRef},
    sync::{
        model::{Attr, AttrChange, Attributes, DirectoryUser, NewUser},
        policy::SpecError,
        ports::target::{
            OpResult, Target, TargetCapabilities, TargetError, TargetErrorKind, TargetOp,
        },
    },
};

/// The OAuth scope the target needs.
pub const SCOPE: &str = "https://www.googleapis.com/auth/admin.directory.user";

/// What a listing told about a user that updates need: lists are replaced whole.
#[derive(Clone, Debug, Default)]
struct Known {
    email: String,
    external_ids: Vec<Value>,
    organizations: Vec<Value>,
    relations: Vec<Value>,
    /// `phones` and `addresses`, as an object holding the two lists.
    typed: Value,
}

impl Known {
    fn of(resource: &Value) -> Known {
        let list = |key: &str| resource[key].as_array().cloned().unwrap_or_default();
        Known {
            email: resource["primaryEmail"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            external_ids: list("externalIds"),
            organizations: list("organizations"),
            relations: list("relations"),
            typed: json!({"phones": list("phones"), "addresses": list("addresses")}),
        }
    }
}

/// The `googleWorkspace` target.
#[derive(Debug)]
pub struct GoogleTarget {
    http: HttpClient,
    api: String,
    customer: String,
    org_unit_path: String,
    custom_type: String,
    concurrency: usize,
    known: Mutex<HashMap<String, Known>>,
}

impl GoogleTarget {
    /// Builds the target from its spec, reading the key file.
    pub async fn from_spec(
        spec: &GoogleSpec,
        context: &ConnectorContext,
    ) -> Result<GoogleTarget, TargetError> {
        let key = context
            .secrets
            .get(&spec.account.service_account_key_secret_ref)
            .await
            .map_err(|e| TargetError::new(TargetErrorKind::CredentialsInvalid, e.to_string()))?;
        Self::new(spec, &key)
    }

    /// A target from its spec and the service account's JSON key file.
    pub fn new(spec: &GoogleSpec, key_file: &str) -> Result<GoogleTarget, TargetError> {
        let timeout = Duration::from_secs(u64::from(spec.timeout_seconds.max(1)));
        let tokens = google::tokens(
            &spec.account,
            key_file,
            &[SCOPE],
            timeout,
            spec.max_response_bytes,
        )
        .map_err(|e| TargetError::new(TargetErrorKind::CredentialsInvalid, e))?;
        let retry = RetryPolicy {
            max_tries: spec.max_tries.max(1),
            ..RetryPolicy::default()
        };
        let http = HttpClient::new(
            Auth::Token(Arc::new(tokens)),
            Some(spec.requests_per_second),
            timeout,
            retry,
        )
        .map_err(|e| TargetError::new(TargetErrorKind::Unavailable, e))?
        .with_max_response_bytes(spec.max_response_bytes)
        .with_throttled_answers(google::throttled_answer);
        Ok(GoogleTarget {
            http,
            api: google::api_base(&spec.account),
            customer: spec.account.customer.clone(),
            org_unit_path: spec.org_unit_path.clone(),
            custom_type: spec.external_id_custom_type.clone(),
            concurrency: spec.max_concurrency.max(1) as usize,
            known: Default::default(),
        })
    }

    /// One request (throttled answers, 429 and 5xx retried by the shared client). Returns the
    /// status and the JSON body (null when none).
    async fn call(
        &self,
        method: Method,
        url: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<(u16, Value), TargetError> {
        let text = body.map(Value::to_string);
        let response = self
            .http
            .send(method, url, |r| {
                let r = r.query(query);
                match &text {
                    Some(text) => r
                        .header(reqwest::header::CONTENT_TYPE, "application/json")
                        .body(text.clone()),
                    None => r,
                }
            })
            .await
            .map_err(http_error)?;
        let answer: Value = response.json().unwrap_or(Value::Null);
        Ok((response.status().as_u16(), answer))
    }

    async fn call_ok(
        &self,
        method: Method,
        url: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Value, TargetError> {
        let (status, answer) = self.call(method, url, query, body).await?;
        if (200..300).contains(&status) {
            Ok(answer)
        } else {
            Err(google_error(status, &answer))
        }
    }

    async fn list(&self, attributes: &[Arc<str>]) -> Result<Vec<DirectoryUser>, TargetError> {
        let url = format!("{}/users", self.api);
        let mut resources = Vec::new();
        let mut page_token: Option<String> = None;
        loop {
            let mut query = vec![
                ("customer", self.customer.as_str()),
                ("projection", "full"),
                ("maxResults", "500"),
            ];
            if let Some(token) = &page_token {
                query.push(("pageToken", token.as_str()));
            }
            let body = self.call_ok(Method::GET, &url, &query, None).await?;
            resources.extend(body["users"].as_array().cloned().unwrap_or_default());
            match body["nextPageToken"].as_str() {
                Some(token) if !token.is_empty() && page_token.as_deref() != Some(token) => {
                    page_token = Some(token.to_owned());
                }
                _ => break,
            }
        }
        let ids_by_email: HashMap<String, String> = resources
            .iter()
            .filter_map(|r| {
                Some((
                    r["primaryEmail"].as_str()?.to_lowercase(),
                    r["id"].as_str()?.to_owned(),
                ))
            })
            .collect();
        let mut known = HashMap::new();
        let mut users = Vec::with_capacity(resources.len());
        for resource in &resources {
            let user = self.to_user(resource, attributes, &ids_by_email)?;
            known.insert(user.id.to_string(), Known::of(resource));
            users.push(user);
        }
        *self.known.lock().expect("known lock") = known;
        Ok(users)
    }

    /// A Directory user as a directory user; managers' emails resolve through `ids_by_email`.
    fn to_user(
        &self,
        resource: &Value,
        attributes: &[Arc<str>],
        ids_by_email: &HashMap<String, String>,
    ) -> Result<DirectoryUser, TargetError> {
        let id = resource["id"].as_str().ok_or_else(|| {
            TargetError::new(TargetErrorKind::InvalidData, "a listed user has no id")
        })?;
        let text = |value: &Value| value.as_str().map(CompactString::from);
        let entries = |key: &str| resource[key].as_array().cloned().unwrap_or_default();
        let external_id = entries("externalIds")
            .iter()
            .find(|e| e["type"] == "custom" && e["customType"] == self.custom_type.as_str())
            .and_then(|e| text(&e["value"]));
        let languages = entries("languages");
        let preferred_language = languages
            .iter()
            .find(|l| l["preference"] == "preferred")
            .or_else(|| languages.first())
            .and_then(|l| text(&l["languageCode"]).or_else(|| text(&l["customLanguage"])));
        let manager_id = entries("relations")
            .iter()
            .find(|r| r["type"] == "manager")
            .and_then(|r| r["value"].as_str())
            .and_then(|email| ids_by_email.get(&email.to_lowercase()))
            .map(|id| CompactString::from(id.as_str()));
        let organizations = entries("organizations");
        let primary_organization = primary(&organizations);
        let mut mapped = Attributes::default();
        for name in attributes {
            let value = match name.strip_prefix("organizations.") {
                Some(field) => primary_organization
                    .and_then(|o| o.get(field))
                    .filter(|v| !v.is_null()),
                None => get_path(resource, name),
            };
            if let Some(value) = value {
                mapped.set(name.clone(), value.clone());
            }
        }
        let email = text(&resource["primaryEmail"]);
        Ok(DirectoryUser {
            id: id.into(),
            external_id,
            user_name: email.clone(),
            email,
            first_name: text(&resource["name"]["givenName"]),
            last_name: text(&resource["name"]["familyName"]),
            preferred_language,
            active: !resource["suspended"].as_bool().unwrap_or(false),
            manager_id,
            attributes: mapped,
            version: None,
        })
    }

    /// The primary email of a user id: from the listing or this run's creates, else read.
    async fn email_of(&self, id: &str) -> Result<String, TargetError> {
        if let Some(known) = self.known.lock().expect("known lock").get(id) {
            return Ok(known.email.clone());
        }
        let user = self
            .call_ok(Method::GET, &format!("{}/users/{id}", self.api), &[], None)
            .await?;
        let known = Known::of(&user);
        let email = known.email.clone();
        self.known
            .lock()
            .expect("known lock")
            .insert(id.to_owned(), known);
        Ok(email)
    }

    /// The user whose primary email is `email` when it carries `external_id` in our
    /// `externalIds` entry (case-insensitive). Any failure to find out is "none": the conflict
    /// stands.
    async fn own_user(&self, email: &str, external_id: &str) -> Option<Value> {
        let mut url = reqwest::Url::parse(&format!("{}/users", self.api)).ok()?;
        url.path_segments_mut().ok()?.push(email);
        let user = self
            .call_ok(Method::GET, url.as_str(), &[], None)
            .await
            .ok()?;
        let ours = user["externalIds"].as_array()?.iter().any(|entry| {
            entry["type"] == "custom"
                && entry["customType"] == self.custom_type.as_str()
                && entry["value"]
                    .as_str()
                    .is_some_and(|value| value.eq_ignore_ascii_case(external_id))
        });
        (ours && user["id"].is_string()).then_some(user)
    }

    fn our_external_id(&self, value: &str) -> Value {
        json!({"type": "custom", "customType": self.custom_type, "value": value})
    }

    async fn insert_body(&self, user: &NewUser) -> Result<Value, TargetError> {
        let mut body = json!({
            "primaryEmail": user.email,
            "name": {"givenName": user.first_name, "familyName": user.last_name},
            "password": generate_password(),
            "changePasswordAtNextLogin": true,
            "suspended": !user.active,
            "orgUnitPath": self.org_unit_path,
            "externalIds": [self.our_external_id(&user.external_id)],
        });
        if let Some(language) = &user.preferred_language {
            body["languages"] = json!([{"languageCode": language, "preference": "preferred"}]);
        }
        if let Some(manager) = &user.manager {
            let email = self.email_of(manager).await?;
            body["relations"] = json!([{"type": "manager", "value": email}]);
        }
        let mut organization = serde_json::Map::new();
        for (name, value) in user.attributes.iter() {
            match name.strip_prefix("organizations.") {
                Some(field) => {
                    organization.insert(field.to_owned(), value.clone());
                }
                None => set_path(&mut body, name, Some(value.clone())),
            }
        }
        if !organization.is_empty() {
            organization.insert("primary".into(), json!(true));
            body["organizations"] = json!([organization]);
        }
        Ok(body)
    }

    async fn update_body(&self, id: &str, changes: &[AttrChange]) -> Result<Value, TargetError> {
        let known = self
            .known
            .lock()
            .expect("known lock")
            .get(id)
            .cloned()
            .unwrap_or_default();
        let mut body = json!({});
        let mut organizations = known.organizations.clone();
        let mut organizations_changed = false;
        let mut typed = known.typed.clone();
        let mut typed_changed: Vec<&str> = Vec::new();
        for change in changes {
            let after = change.after.clone().unwrap_or(Value::Null);
            match &change.attr {
                Attr::ExternalId => {
                    let mut entries: Vec<Value> = known
                        .external_ids
                        .iter()
                        .filter(|e| {
                            !(e["type"] == "custom" && e["customType"] == self.custom_type.as_str())
                        })
                        .cloned()
                        .collect();
                    if let Some(value) = after.as_str() {
                        entries.push(self.our_external_id(value));
                    }
                    body["externalIds"] = Value::Array(entries);
                }
                Attr::Email => body["primaryEmail"] = after,
                Attr::FirstName => body["name"]["givenName"] = after,
                Attr::LastName => body["name"]["familyName"] = after,
                Attr::PreferredLanguage => {
                    body["languages"] = match after.as_str() {
                        Some(code) => json!([{"languageCode": code, "preference": "preferred"}]),
                        None => json!([]),
                    };
                }
                Attr::Active => {
                    let active = match &after {
                        Value::Bool(active) => *active,
                        Value::String(text) => text.eq_ignore_ascii_case("true"),
                        _ => true,
                    };
                    body["suspended"] = json!(!active);
                }
                Attr::Manager => {
                    let mut relations: Vec<Value> = known
                        .relations
                        .iter()
                        .filter(|r| r["type"] != "manager")
                        .cloned()
                        .collect();
                    if let Some(manager) = after.as_str() {
                        let email = self.email_of(manager).await?;
                        relations.push(json!({"type": "manager", "value": email}));
                    }
                    body["relations"] = Value::Array(relations);
                }
                Attr::Mapped(name) => match name.strip_prefix("organizations.") {
                    Some(field) => {
                        organizations_changed = true;
                        let index = organizations
                            .iter()
                            .position(|o| o["primary"] == true)
                            .unwrap_or(0);
                        if organizations.is_empty() {
                            organizations.push(json!({"primary": true}));
                        }
                        if let Some(organization) = organizations[index].as_object_mut() {
                            if after.is_null() {
                                organization.remove(field);
                            } else {
                                organization.insert(field.to_owned(), after);
                            }
                        }
                    }
                    None => match typed_list(name) {
                        // Lists are replaced whole: the user's other entries go along.
                        Some(list) => {
                            set_path(&mut typed, name, (!after.is_null()).then_some(after));
                            typed_changed.push(list);
                        }
                        None => set_path(&mut body, name, Some(after)),
                    },
                },
            }
        }
        if organizations_changed {
            body["organizations"] = Value::Array(organizations);
        }
        for list in typed_changed {
            body[list] = typed.get(list).cloned().unwrap_or_else(|| json!([]));
        }
        Ok(body)
    }

    async fn one(&self, op: TargetOp) -> OpResult {
        match op {
            TargetOp::Create(user) => {
                let body = self.insert_body(&user).await?;
                let url = format!("{}/users", self.api);
                let created = match self.call_ok(Method::POST, &url, &[], Some(&body)).await {
                    Ok(created) => created,
                    // A taken email may be our own insert, applied on a try whose answer was
                    // lost.
                    Err(error) if error.kind == TargetErrorKind::Conflict => {
                        match self.own_user(&user.email, &user.external_id).await {
                            Some(ours) => {
                                tracing::info!(
                                    "an insert refused as a duplicate was this run's own, \
                                     applied on an earlier try"
                                );
                                ours
                            }
                            None => return Err(error),
                        }
                    }
                    Err(error) => return Err(error),
                };
                let id = created["id"].as_str().ok_or_else(|| {
                    TargetError::new(
                        TargetErrorKind::InvalidData,
                        "the Directory API created the user but returned no id",
                    )
                })?;
                self.known
                    .lock()
                    .expect("known lock")
                    .insert(id.to_owned(), Known::of(&created));
                Ok(Some(id.into()))
            }
            TargetOp::Update { id, changes, .. } | TargetOp::Deactivate { id, changes, .. } => {
                let body = self.update_body(&id, &changes).await?;
                let url = format!("{}/users/{id}", self.api);
                let updated = self.call_ok(Method::PUT, &url, &[], Some(&body)).await?;
                if updated["id"].is_string() {
                    self.known
                        .lock()
                        .expect("known lock")
                        .insert(id.to_string(), Known::of(&updated));
                }
                Ok(None)
            }
            TargetOp::Delete { id } => {
                let url = format!("{}/users/{id}", self.api);
                self.call_ok(Method::DELETE, &url, &[], None).await?;
                self.known.lock().expect("known lock").remove(id.as_str());
                Ok(None)
            }
        }
    }
}

/// The fields of the primary organization (`UserOrganization`) a mapping may write as
/// `organizations.<field>`: the text ones (`primary` is ours).
const ORGANIZATION_FIELDS: [&str; 10] = [
    "title",
    "department",
    "costCenter",
    "description",
    "location",
    "name",
    "symbol",
    "domain",
    "type",
    "customType",
];

/// The other text fields of a user a mapping may write; the rest of a user is written by the
/// connector itself (names, email, suspension, externalIds, relations, languages) or is not
/// text.
const USER_TEXT_FIELDS: [&str; 4] = [
    "orgUnitPath",
    "name.displayName",
    "recoveryEmail",
    "recoveryPhone",
];

/// The typed lists a mapping may write one entry of: `phones[type eq "work"].value`,
/// `addresses[type eq "home"].postalCode` (the element of that type; Google's types are
/// lower case).
const TYPED_LISTS: [(&str, &[&str]); 2] = [
    ("phones", &["value"]),
    (
        "addresses",
        &[
            "streetAddress",
            "locality",
            "region",
            "postalCode",
            "country",
            "countryCode",
            "poBox",
            "extendedAddress",
            "formatted",
        ],
    ),
];

/// The typed list a mapping's `to` writes an entry of, when it is a known one.
fn typed_list(to: &str) -> Option<&'static str> {
    let path = Path::parse(to)?;
    let [list, field] = path.steps.as_slice() else {
        return None;
    };
    list.kind?;
    TYPED_LISTS
        .iter()
        .find(|(name, fields)| *name == list.name && fields.contains(&field.name))
        .map(|(name, _)| *name)
}

/// What the operator knows of a `googleWorkspace` target.
#[async_trait]
impl TargetConnector for GoogleSpec {
    fn secret_refs(&self) -> Vec<&SecretKeyRef> {
        vec![&self.account.service_account_key_secret_ref]
    }

    fn check_mapped_attribute(&self, to: &str) -> Option<String> {
        let known = match to.strip_prefix("organizations.") {
            Some(field) => ORGANIZATION_FIELDS.contains(&field),
            None => USER_TEXT_FIELDS.contains(&to) || typed_list(to).is_some(),
        };
        (!known).then(|| {
            format!(
                "`{to}` is not a Google Workspace user field a mapping can write; use \
                 `organizations.<field>` (the primary organization's {}), one typed entry of \
                 `phones` (`phones[type eq \"work\"].value`) or `addresses` \
                 (`addresses[type eq \"home\"].<field>`, field one of {}), or one of {}",
                ORGANIZATION_FIELDS.join(", "),
                TYPED_LISTS[1].1.join(", "),
                USER_TEXT_FIELDS.join(", ")
            )
        })
    }

    fn validate(&self) -> Vec<SpecError> {
        let mut problems = google::problems(
            &self.account,
            self.allow_insecure_http,
            "spec.target.googleWorkspace",
        );
        let mut error = |name: &str, message: String| {
            problems.push(SpecError {
                field: format!("spec.target.googleWorkspace.{name}"),
                message,
            });
        };
        if !self.org_unit_path.starts_with('/') {
            error(
                "orgUnitPath",
                format!("`{}` must start with / (the root is /)", self.org_unit_path),
            );
        }
        if let Err(message) = check_rate(self.requests_per_second, RateRange::Between(0.01, 1000.0))
        {
            error("requestsPerSecond", message);
        }
        problems
    }

    async fn build(&self, context: &ConnectorContext) -> Result<Box<dyn Target>, TargetError> {
        Ok(Box::new(GoogleTarget::from_spec(self, context).await?))
    }
}

#[async_trait]
impl Target for GoogleTarget {
    fn capabilities(&self) -> TargetCapabilities {
        TargetCapabilities {
            managers: true,
            versions: false,
            max_batch: 1,
            deletes: true,
        }
    }

    async fn check(&self) -> Result<(), TargetError> {
        let url = format!("{}/users", self.api);
        self.call_ok(
            Method::GET,
            &url,
            &[("customer", self.customer.as_str()), ("maxResults", "1")],
            None,
        )
        .await
        .map(|_| ())
    }

    async fn list_users(&self, attributes: &[Arc<str>]) -> Result<Vec<DirectoryUser>, TargetError> {
        self.list(attributes).await
    }

    async fn apply(&self, ops: Vec<TargetOp>) -> Vec<OpResult> {
        let mut results: Vec<(usize, OpResult)> = stream::iter(ops.into_iter().enumerate())
            .map(|(index, op)| async move { (index, self.one(op).await) })
            .buffer_unordered(self.concurrency)
            .collect()
            .await;
        results.sort_by_key(|(index, _)| *index);
        results.into_iter().map(|(_, result)| result).collect()
    }
}

fn primary(organizations: &[Value]) -> Option<&serde_json::Map<String, Value>> {
    organizations
        .iter()
        .find(|o| o["primary"] == true)
        .or_else(|| organizations.first())
        .and_then(Value::as_object)
}

/// A Directory API error (`{error:{code, message, errors:[{reason}]}}`) as a typed error.
/// Messages name fields and reasons, not values.
fn google_error(status: u16, body: &Value) -> TargetError {
    let reason = google::reason(body).map(str::to_owned);
    let message = body["error"]["message"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| format!("the Directory API answered {status}"));
    let kind = match (status, reason.as_deref()) {
        (409, _) | (_, Some("duplicate")) => TargetErrorKind::Conflict,
        (412, _) if message.to_lowercase().contains("limit") => {
            TargetErrorKind::LicenseLimitExceeded
        }
        (404, _) => TargetErrorKind::NotFound,
        (429, _) => TargetErrorKind::Throttled,
        (403, Some(reason)) if google::RATE_REASONS.contains(&reason) => TargetErrorKind::Throttled,
        (401 | 403, _) => TargetErrorKind::CredentialsInvalid,
        (500..=599, _) => TargetErrorKind::Unavailable,
        _ => TargetErrorKind::Rejected,
    };
    TargetError {
        kind,
        status: Some(status),
        code: reason,
        detail: message,
    }
}

fn http_error(error: HttpError) -> TargetError {
    if let Some(unusable) = super::unusable_answer(&error) {
        return unusable;
    }
    if let (Some(status), Some(body)) = (error.status, &error.body)
        && let Ok(document) = serde_json::from_str::<Value>(body)
    {
        let mut typed = google_error(status, &document);
        typed.detail = format!("{} ({})", typed.detail, error.message);
        return typed;
    }
    let kind = match error.status {
        Some(429) => TargetErrorKind::Throttled,
        // The token endpoint refused the credentials (its errors come without a body).
        Some(400 | 401 | 403) if error.body.is_none() => TargetErrorKind::CredentialsInvalid,
        None if error.message.contains("token") || error.message.contains("key") => {
            TargetErrorKind::CredentialsInvalid
        }
        _ => TargetErrorKind::Unavailable,
    };
    TargetError {
        kind,
        status: error.status,
        code: None,
        detail: error.message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_map_to_categories() {
        let duplicate = json!({"error": {"code": 409, "message": "Entity already exists.",
            "errors": [{"reason": "duplicate"}]}});
        assert_eq!(
            google_error(409, &duplicate).kind,
            TargetErrorKind::Conflict
        );
        let limited = json!({"error": {"code": 403, "message": "Quota exceeded",
            "errors": [{"reason": "userRateLimitExceeded"}]}});
        assert_eq!(google_error(403, &limited).kind, TargetErrorKind::Throttled);
        let denied = json!({"error": {"code": 403, "message": "Not Authorized to access this resource/api",
            "errors": [{"reason": "forbidden"}]}});
        assert_eq!(
            google_error(403, &denied).kind,
            TargetErrorKind::CredentialsInvalid
        );
    }
}
