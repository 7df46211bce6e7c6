//! Microsoft Entra ID users through Microsoft Graph (`/v1.0/users`).
//!
//! Users are listed once per run with `$select` (only the attributes the run needs),
//! `$expand=manager($select=id)` and `@odata.nextLink` paging at `$top=999`. Writes go through
//! JSON `$batch` requests of up to 20, paced to the write limit (3,000 writes per 150 s per app
//! and tenant: 20 a second, every request inside a batch counting); an item answered 429 is
//! retried on its own after its `Retry-After`, the other items of its batch are done.
//!
//! Where our data lives: the externalId in `onPremisesExtensionAttributes.extensionAttributeN`
//! (N from the spec, 15 by default), the email in `mail`, the names in `givenName` / `surname`
//! (and `displayName`), active in `accountEnabled`, the manager in `manager/$ref`. Mapped
//! attributes are Graph property names (`department`, `jobTitle`, `employeeId`,
//! `employeeHireDate`, `employeeLeaveDateTime`, `usageLocation`, `employeeOrgData.costCenter`,
//! …); the two HR dates take a calendar date and are written as midnight UTC.
//!
//! New users get a random initial password (`passwordProfile`, change at next sign-in) that
//! exists only in the request body: it is never logged, reported or kept.
//!
//! A create refused because its name is taken reads the user holding that
//! `userPrincipalName`: when it carries our externalId, the create was ours, applied on an
//! earlier try whose answer was lost (a `$batch` or an item resent after a 5xx), and it counts
//! as created. Anyone else's user is a conflict (or, with a name-built UPN, the next suffix).

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use compact_str::CompactString;
use futures::{StreamExt, stream::FuturesUnordered};
use reqwest::Method;
use serde_json::{Map, Value, json};
use tokio::time::Instant;

use super::{
    TargetConnector,
    scim::{get_path, set_path},
};
use crate::{
    connectors::{
        ConnectorContext,
        checks::{RateRange, check_rate},
        entra,
        http::{HttpClient, HttpError, RateLimiter, RetryPolicy, parse_retry_after},
    },
    crd::{MicrosoftGraphTarget as GraphSpec, SecretKeyRef, UpnTemplate},
    sync::{
        model::{Attr, AttrChange, Attributes, DirectoryUser, NewUser},
        policy::SpecError,
        ports::target::{
            OpResult, Target, TargetCapabilities, TargetError, TargetErrorKind, TargetOp,
        },
    },
};

/// Graph properties holding a date-time that the HR side gives as a calendar date.
const DATE_PROPERTIES: [&str; 2] = ["employeeHireDate", "employeeLeaveDateTime"];

/// `$batch` requests on their way at once.
const BATCHES_IN_FLIGHT: usize = 3;

/// Properties every listing selects.
const BASE_SELECT: [&str; 9] = [
    "id",
    "userPrincipalName",
    "mail",
    "givenName",
    "surname",
    "displayName",
    "preferredLanguage",
    "accountEnabled",
    "onPremisesExtensionAttributes",
];

/// The `microsoftGraph` target.
#[derive(Debug)]
pub struct GraphTarget {
    http: HttpClient,
    writes: RateLimiter,
    graph: String,
    template: UpnTemplate,
    usage_location: Option<String>,
    extension_attribute: String,
    batch_size: usize,
    unique_name_tries: u32,
    retry: RetryPolicy,
    /// Given name and surname of listed and created users, to keep `displayName` whole when
    /// only one of them changes.
    names: Mutex<HashMap<String, (String, String)>>,
}

impl GraphTarget {
    /// Builds the target from its spec, reading the client secret.
    pub async fn from_spec(
        spec: &GraphSpec,
        context: &ConnectorContext,
    ) -> Result<GraphTarget, TargetError> {
        let secret = context
            .secrets
            .get(&spec.app.client_secret_secret_ref)
            .await
            .map_err(|e| TargetError::new(TargetErrorKind::CredentialsInvalid, e.to_string()))?;
        Self::new(spec, secret)
    }

    /// A target from its spec and client secret.
    pub fn new(spec: &GraphSpec, client_secret: String) -> Result<GraphTarget, TargetError> {
        let template = UpnTemplate::parse(&spec.user_principal_name_template).map_err(|e| {
            TargetError::new(
                TargetErrorKind::Rejected,
                format!("userPrincipalNameTemplate: {e}"),
            )
        })?;
        let graph = entra::graph_base(&spec.app);
        let retry = RetryPolicy {
            max_tries: spec.max_tries.max(1),
            ..RetryPolicy::default()
        };
        let http = HttpClient::new(
            entra::auth(&spec.app, client_secret),
            None,
            Duration::from_secs(u64::from(spec.timeout_seconds.max(1))),
            retry,
        )
        .map_err(|e| TargetError::new(TargetErrorKind::Unavailable, e))?
        .with_max_response_bytes(spec.max_response_bytes);
        Ok(GraphTarget {
            http,
            writes: RateLimiter::new(Some(spec.writes_per_second)),
            graph,
            template,
            usage_location: spec.usage_location.clone(),
            extension_attribute: format!(
                "extensionAttribute{}",
                spec.external_id_extension_attribute.clamp(1, 15)
            ),
            batch_size: spec.batch_size.clamp(1, 20) as usize,
            unique_name_tries: spec.unique_name_tries.max(1),
            retry,
            names: Default::default(),
        })
    }

    fn external_id_path(&self) -> String {
        format!("onPremisesExtensionAttributes.{}", self.extension_attribute)
    }

    async fn get_json(&self, url: &str) -> Result<Value, TargetError> {
        let response = self
            .http
            .send(Method::GET, url, |r| r)
            .await
            .map_err(http_error)?;
        let status = response.status().as_u16();
        let body: Value = response.json().unwrap_or(Value::Null);
        if (200..300).contains(&status) {
            Ok(body)
        } else {
            Err(graph_error(status, &body))
        }
    }

    async fn list(&self, attributes: &[Arc<str>]) -> Result<Vec<DirectoryUser>, TargetError> {
        let mut select: Vec<&str> = BASE_SELECT.to_vec();
        for name in attributes {
            let top = name.split('.').next().unwrap_or_default();
            if !top.is_empty() && !select.contains(&top) {
                select.push(top);
            }
        }
        let mut url = Some(format!(
            "{}/users?$select={}&$expand=manager($select=id)&$top=999",
            self.graph,
            select.join(",")
        ));
        let mut users = Vec::new();
        let mut names = HashMap::new();
        while let Some(page_url) = url.take() {
            let body = self.get_json(&page_url).await?;
            for resource in body["value"].as_array().into_iter().flatten() {
                let user = self.to_user(resource, attributes)?;
                names.insert(
                    user.id.to_string(),
                    (
                        user.first_name.as_deref().unwrap_or_default().to_owned(),
                        user.last_name.as_deref().unwrap_or_default().to_owned(),
                    ),
                );
                users.push(user);
            }
            url = body["@odata.nextLink"].as_str().map(str::to_owned);
        }
        *self.names.lock().expect("names lock") = names;
        Ok(users)
    }

    /// The id of the user whose `userPrincipalName` is `upn` when it carries `external_id`
    /// (case-insensitive), our mark. Any failure to find out is "none": the conflict stands.
    async fn own_user(&self, upn: &str, external_id: &str) -> Option<String> {
        let mut url = reqwest::Url::parse(&format!("{}/users", self.graph)).ok()?;
        url.path_segments_mut().ok()?.push(upn);
        let url = format!("{url}?$select=id,onPremisesExtensionAttributes");
        let user = self.get_json(&url).await.ok()?;
        let mark = get_path(&user, &self.external_id_path())?.as_str()?;
        if !mark.eq_ignore_ascii_case(external_id) {
            return None;
        }
        user["id"].as_str().map(str::to_owned)
    }

    /// Records a user this run created: its id for the outcome, its names for later renames,
    /// and its manager link queued.
    fn record_created(
        &self,
        item: &Item,
        user: &NewUser,
        id: &str,
        created: &mut [Option<CompactString>],
        queue: &mut VecDeque<Item>,
    ) {
        created[item.op] = Some(id.into());
        self.names.lock().expect("names lock").insert(
            id.to_owned(),
            (user.first_name.to_string(), user.last_name.to_string()),
        );
        if let Some(manager) = &user.manager {
            queue.push_back(self.manager_item(item.op, id, Some(manager.to_string())));
        }
    }

    /// A Graph user as a directory user.
    pub fn to_user(
        &self,
        resource: &Value,
        attributes: &[Arc<str>],
    ) -> Result<DirectoryUser, TargetError> {
        let id = resource["id"].as_str().ok_or_else(|| {
            TargetError::new(TargetErrorKind::InvalidData, "a listed user has no id")
        })?;
        let text = |value: &Value| value.as_str().map(CompactString::from);
        let mut mapped = Attributes::default();
        for name in attributes {
            let value = match get_path(resource, name) {
                Some(Value::Array(phones)) if name.as_ref() == BUSINESS_PHONES => phones.first(),
                value => value,
            };
            if let Some(value) = value {
                let value = if DATE_PROPERTIES.contains(&name.as_ref()) {
                    date_from_graph(value)
                } else {
                    value.clone()
                };
                mapped.set(name.clone(), value);
            }
        }
        let upn = text(&resource["userPrincipalName"]);
        Ok(DirectoryUser {
            id: id.into(),
            external_id: get_path(resource, &self.external_id_path()).and_then(text),
            email: text(&resource["mail"]).or_else(|| upn.clone()),
            user_name: upn,
            first_name: text(&resource["givenName"]),
            last_name: text(&resource["surname"]),
            preferred_language: text(&resource["preferredLanguage"]),
            active: resource["accountEnabled"].as_bool().unwrap_or(true),
            manager_id: text(&resource["manager"]["id"]),
            attributes: mapped,
            version: None,
        })
    }

    /// The body of `POST /users` (the UPN with `suffix` when set) and the password it carries.
    fn create_body(&self, user: &NewUser, suffix: Option<u32>) -> Value {
        let upn = self
            .template
            .render(&user.email, &user.first_name, &user.last_name, suffix);
        let mut body = json!({
            "accountEnabled": user.active,
            "displayName": display_name(&user.first_name, &user.last_name),
            "givenName": user.first_name,
            "surname": user.last_name,
            "mail": user.email,
            "mailNickname": mail_nickname(&upn),
            "userPrincipalName": upn,
            "passwordProfile": {
                "forceChangePasswordNextSignIn": true,
                "password": generate_password(),
            },
        });
        set_path(
            &mut body,
            &self.external_id_path(),
            Some(json!(user.external_id)),
        );
        if let Some(language) = &user.preferred_language {
            body["preferredLanguage"] = json!(language);
        }
        if let Some(location) = &self.usage_location {
            body["usageLocation"] = json!(location);
        }
        for (name, value) in user.attributes.iter() {
            set_path(&mut body, name, Some(graph_value(name, value)));
        }
        body
    }

    /// The PATCH body of a change set (`None` when only the manager changes) and the manager
    /// link to set (`Some(Some(id))`) or remove (`Some(None)`).
    fn patch(&self, id: &str, changes: &[AttrChange]) -> (Option<Value>, Option<Option<String>>) {
        let mut body = Value::Object(Map::new());
        let mut manager = None;
        let text = |change: &AttrChange| {
            change
                .after
                .as_ref()
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let (mut first, mut last) = self
            .names
            .lock()
            .expect("names lock")
            .get(id)
            .cloned()
            .unwrap_or_default();
        let mut renamed = false;
        for change in changes {
            match &change.attr {
                Attr::ExternalId => {
                    set_path(
                        &mut body,
                        &self.external_id_path(),
                        Some(change.after.clone().unwrap_or(Value::Null)),
                    );
                }
                Attr::Email => {
                    body["mail"] = change.after.clone().unwrap_or(Value::Null);
                    if !self.template.name_based()
                        && let Some(email) = text(change)
                    {
                        let upn = self.template.render(&email, "", "", None);
                        body["mailNickname"] = json!(mail_nickname(&upn));
                        body["userPrincipalName"] = json!(upn);
                    }
                }
                Attr::FirstName => {
                    first = text(change).unwrap_or_default();
                    body["givenName"] = change.after.clone().unwrap_or(Value::Null);
                    renamed = true;
                }
                Attr::LastName => {
                    last = text(change).unwrap_or_default();
                    body["surname"] = change.after.clone().unwrap_or(Value::Null);
                    renamed = true;
                }
                Attr::PreferredLanguage => {
                    body["preferredLanguage"] = change.after.clone().unwrap_or(Value::Null);
                }
                Attr::Active => {
                    let active = match &change.after {
                        Some(Value::Bool(active)) => *active,
                        Some(Value::String(text)) => text.eq_ignore_ascii_case("true"),
                        _ => true,
                    };
                    body["accountEnabled"] = json!(active);
                }
                Attr::Manager => manager = Some(text(change)),
                Attr::Mapped(name) => {
                    let value = match &change.after {
                        Some(value) => graph_value(name, value),
                        // A collection is emptied, never nulled.
                        None if name.as_ref() == BUSINESS_PHONES => json!([]),
                        None => Value::Null,
                    };
                    set_path(&mut body, name, Some(value));
                }
            }
        }
        if renamed {
            let name = display_name(&first, &last);
            if !name.is_empty() {
                body["displayName"] = json!(name);
            }
            self.names
                .lock()
                .expect("names lock")
                .insert(id.to_owned(), (first, last));
        }
        let empty = body.as_object().is_none_or(Map::is_empty);
        ((!empty).then_some(body), manager)
    }

    fn manager_item(&self, op: usize, id: &str, manager: Option<String>) -> Item {
        let url = format!("/users/{id}/manager/$ref");
        match manager {
            Some(manager) => Item {
                op,
                method: "PUT",
                url,
                body: Some(json!({"@odata.id": format!("{}/users/{manager}", self.graph)})),
                stage: Stage::Other,
                tries: 0,
            },
            None => Item {
                op,
                method: "DELETE",
                url,
                body: None,
                stage: Stage::Other,
                tries: 0,
            },
        }
    }

    /// Sends one `$batch` and returns each item's (status, Retry-After, body) by position, or
    /// the failure of the whole batch.
    async fn send_batch(&self, items: &[Item]) -> Result<Vec<ItemAnswer>, TargetError> {
        let requests: Vec<Value> = items
            .iter()
            .enumerate()
            .map(|(index, item)| {
                let mut request = json!({
                    "id": index.to_string(),
                    "method": item.method,
                    "url": item.url,
                });
                if let Some(body) = &item.body {
                    request["headers"] = json!({"Content-Type": "application/json"});
                    request["body"] = body.clone();
                }
                request
            })
            .collect();
        let body = json!({ "requests": requests }).to_string();
        let url = format!("{}/$batch", self.graph);
        let response = self
            .http
            .send(Method::POST, &url, |r| {
                r.header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.clone())
            })
            .await
            .map_err(http_error)?;
        let status = response.status().as_u16();
        let answer: Value = response.json().unwrap_or(Value::Null);
        if !(200..300).contains(&status) {
            return Err(graph_error(status, &answer));
        }
        let mut answers: Vec<Option<ItemAnswer>> = vec![None; items.len()];
        for response in answer["responses"].as_array().into_iter().flatten() {
            let Some(index) = response["id"]
                .as_str()
                .and_then(|id| id.parse::<usize>().ok())
                .filter(|&i| i < items.len())
            else {
                continue;
            };
            let headers = response["headers"].as_object();
            let retry_after = headers
                .and_then(|h| {
                    h.iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case("retry-after"))
                        .map(|(_, v)| v)
                })
                .and_then(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .or_else(|| v.as_u64().map(|n| n.to_string()))
                })
                .and_then(|v| parse_retry_after(v.trim(), jiff::Timestamp::now()));
            answers[index] = Some(ItemAnswer {
                status: response["status"].as_u64().unwrap_or(500) as u16,
                retry_after,
                body: response["body"].clone(),
            });
        }
        Ok(answers
            .into_iter()
            .map(|a| {
                a.unwrap_or(ItemAnswer {
                    status: 500,
                    retry_after: None,
                    body: json!({"error": {"code": "MissingResponse",
                        "message": "the batch response omits this request"}}),
                })
            })
            .collect())
    }
}

/// What one queued request is for.
#[derive(Clone, Debug)]
enum Stage {
    /// `POST /users`, the `attempt`-th name (0: as the template says), then the manager link.
    Create { user: Box<NewUser>, attempt: u32 },
    /// Any other request.
    Other,
}

#[derive(Clone, Debug)]
struct Item {
    op: usize,
    method: &'static str,
    url: String,
    body: Option<Value>,
    stage: Stage,
    tries: u32,
}

#[derive(Clone, Debug)]
struct ItemAnswer {
    status: u16,
    retry_after: Option<Duration>,
    body: Value,
}

/// What the operator knows of a `microsoftGraph` target.
#[async_trait]
impl TargetConnector for GraphSpec {
    fn secret_refs(&self) -> Vec<&SecretKeyRef> {
        vec![&self.app.client_secret_secret_ref]
    }

    fn validate(&self) -> Vec<SpecError> {
        let mut problems = entra::url_problems(
            &self.app,
            self.allow_insecure_http,
            "spec.target.microsoftGraph",
        );
        let mut error = |name: &str, message: String| {
            problems.push(SpecError {
                field: format!("spec.target.microsoftGraph.{name}"),
                message,
            });
        };
        if let Err(message) = UpnTemplate::parse(&self.user_principal_name_template) {
            error("userPrincipalNameTemplate", message);
        }
        if !(1..=20).contains(&self.batch_size) {
            error(
                "batchSize",
                format!(
                    "{} is not between 1 and 20, the most requests a Graph $batch takes",
                    self.batch_size
                ),
            );
        }
        if !(1..=15).contains(&self.external_id_extension_attribute) {
            error(
                "externalIdExtensionAttribute",
                format!(
                    "{} is not between 1 and 15 (extensionAttribute1 to extensionAttribute15)",
                    self.external_id_extension_attribute
                ),
            );
        }
        if let Err(message) = check_rate(self.writes_per_second, RateRange::Between(0.01, 1000.0)) {
            error("writesPerSecond", message);
        }
        problems
    }

    async fn build(&self, context: &ConnectorContext) -> Result<Box<dyn Target>, TargetError> {
        Ok(Box::new(GraphTarget::from_spec(self, context).await?))
    }
}

#[async_trait]
impl Target for GraphTarget {
    fn capabilities(&self) -> TargetCapabilities {
        TargetCapabilities {
            managers: true,
            versions: false,
            max_batch: self.batch_size,
            deletes: true,
        }
    }

    async fn check(&self) -> Result<(), TargetError> {
        self.get_json(&format!("{}/users?$select=id&$top=1", self.graph))
            .await
            .map(|_| ())
    }

    async fn list_users(&self, attributes: &[Arc<str>]) -> Result<Vec<DirectoryUser>, TargetError> {
        self.list(attributes).await
    }

    async fn apply(&self, ops: Vec<TargetOp>) -> Vec<OpResult> {
        let count = ops.len();
        let mut created: Vec<Option<CompactString>> = vec![None; count];
        let mut errors: Vec<Option<TargetError>> = vec![None; count];
        let mut queue: VecDeque<Item> = VecDeque::new();
        for (op, operation) in ops.into_iter().enumerate() {
            match operation {
                TargetOp::Create(user) => {
                    let body = self.create_body(&user, None);
                    queue.push_back(Item {
                        op,
                        method: "POST",
                        url: "/users".into(),
                        body: Some(body),
                        stage: Stage::Create {
                            user: Box::new(user),
                            attempt: 0,
                        },
                        tries: 0,
                    });
                }
                TargetOp::Update { id, changes, .. } | TargetOp::Deactivate { id, changes, .. } => {
                    let (body, manager) = self.patch(&id, &changes);
                    if let Some(body) = body {
                        queue.push_back(Item {
                            op,
                            method: "PATCH",
                            url: format!("/users/{id}"),
                            body: Some(body),
                            stage: Stage::Other,
                            tries: 0,
                        });
                    }
                    if let Some(manager) = manager {
                        queue.push_back(self.manager_item(op, &id, manager));
                    }
                }
                TargetOp::Delete { id } => queue.push_back(Item {
                    op,
                    method: "DELETE",
                    url: format!("/users/{id}"),
                    body: None,
                    stage: Stage::Other,
                    tries: 0,
                }),
            }
        }
        // Up to a few batches in flight: the next batch takes its write slots while the one
        // before is answered, so answer time never adds to the pacing. A batch takes all its
        // slots in one turn, so batches leave whole and in order.
        let turn = tokio::sync::Mutex::new(());
        let mut in_flight = FuturesUnordered::new();
        loop {
            while in_flight.len() < BATCHES_IN_FLIGHT && !queue.is_empty() {
                let take = queue.len().min(self.batch_size);
                let mut batch: Vec<Item> = queue.drain(..take).collect();
                for item in &mut batch {
                    item.tries += 1;
                }
                let turn = &turn;
                in_flight.push(async move {
                    {
                        let _turn = turn.lock().await;
                        for _ in 0..batch.len() {
                            self.writes.acquire().await;
                        }
                    }
                    let answers = self.send_batch(&batch).await;
                    (batch, answers)
                });
            }
            let Some((batch, answers)) = in_flight.next().await else {
                break;
            };
            let answers = match answers {
                Ok(answers) => answers,
                Err(error) => {
                    for item in &batch {
                        errors[item.op].get_or_insert_with(|| error.clone());
                    }
                    continue;
                }
            };
            let mut wait: Option<Duration> = None;
            for (mut item, answer) in batch.into_iter().zip(answers) {
                let op = item.op;
                let retryable = answer.status == 429
                    || (answer.status >= 500 && answer.status != 501)
                    || answer.status == 503;
                if retryable && item.tries < self.retry.max_tries {
                    let delay = answer
                        .retry_after
                        .map(|d| d.min(self.retry.max_delay))
                        .unwrap_or_else(|| self.retry.backoff(item.tries));
                    wait = Some(wait.map_or(delay, |w| w.max(delay)));
                    tracing::debug!(
                        method = item.method,
                        status = answer.status,
                        tries = item.tries,
                        "graph batch item retried"
                    );
                    queue.push_back(item);
                    continue;
                }
                if (200..300).contains(&answer.status) {
                    if let Stage::Create { user, .. } = &item.stage {
                        let Some(id) = answer.body["id"].as_str() else {
                            errors[op].get_or_insert_with(|| {
                                TargetError::new(
                                    TargetErrorKind::InvalidData,
                                    "Graph created the user but returned no id",
                                )
                            });
                            continue;
                        };
                        self.record_created(&item, user, id, &mut created, &mut queue);
                    }
                    continue;
                }
                let error = graph_error(answer.status, &answer.body);
                // A taken name may be our own create, applied on a try whose answer was lost.
                if let Stage::Create { user, .. } = &item.stage
                    && error.kind == TargetErrorKind::Conflict
                    && let Some(upn) = item
                        .body
                        .as_ref()
                        .and_then(|b| b["userPrincipalName"].as_str())
                    && let Some(id) = self.own_user(upn, &user.external_id).await
                {
                    tracing::info!(
                        "a create refused as taken was this run's own, applied on an earlier try"
                    );
                    self.record_created(&item, user, &id, &mut created, &mut queue);
                    continue;
                }
                if let Stage::Create { user, attempt } = &mut item.stage
                    && error.kind == TargetErrorKind::Conflict
                    && upn_taken(&answer.body)
                    && self.template.name_based()
                    && *attempt + 1 < self.unique_name_tries
                {
                    *attempt += 1;
                    item.body = Some(self.create_body(user, Some(*attempt + 1)));
                    item.tries = 0;
                    queue.push_back(item);
                    continue;
                }
                if created[op].is_some() {
                    // The user exists; its manager link failed and is retried by the next run,
                    // which finds the manager missing.
                    tracing::warn!(
                        kind = error.kind.as_str(),
                        status = answer.status,
                        "manager link of a created user failed"
                    );
                    continue;
                }
                errors[op].get_or_insert(error);
            }
            if let Some(wait) = wait {
                self.writes.pause_until(Instant::now() + wait);
            }
        }
        (0..count)
            .map(|op| match errors[op].take() {
                Some(error) if created[op].is_none() => Err(error),
                _ => Ok(created[op].take()),
            })
            .collect()
    }
}

fn display_name(first: &str, last: &str) -> String {
    format!("{first} {last}").trim().to_owned()
}

/// The part of a UPN before the @, limited to what `mailNickname` accepts.
fn mail_nickname(upn: &str) -> String {
    let local = upn.split('@').next().unwrap_or_default();
    let nickname: String = local
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .take(64)
        .collect();
    if nickname.is_empty() {
        "user".into()
    } else {
        nickname
    }
}

/// The user's business numbers: a collection of strings, of which Entra ID keeps one. A
/// mapping to it writes and reads that one number.
const BUSINESS_PHONES: &str = "businessPhones";

/// A mapped value as Graph takes it: HR calendar dates become midnight UTC date-times, a
/// business number the one-number `businessPhones` collection.
fn graph_value(name: &str, value: &Value) -> Value {
    if name == BUSINESS_PHONES && !value.is_array() {
        return json!([value]);
    }
    if DATE_PROPERTIES.contains(&name)
        && let Some(text) = value.as_str()
        && text.len() == 10
        && text.parse::<jiff::civil::Date>().is_ok()
    {
        return Value::String(format!("{text}T00:00:00Z"));
    }
    value.clone()
}

/// A Graph date-time at midnight UTC read back as the calendar date it was written from.
fn date_from_graph(value: &Value) -> Value {
    match value.as_str() {
        Some(text) if text.len() == 20 && text.ends_with("T00:00:00Z") => {
            Value::String(text[..10].to_owned())
        }
        _ => value.clone(),
    }
}

/// Whether a create failed because the userPrincipalName (not the mail) is taken.
fn upn_taken(body: &Value) -> bool {
    body["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("userPrincipalName"))
}

/// A random initial password: 20 characters from upper and lower case letters, digits and
/// symbols, with each class present (Entra ID wants three of four). Drawn from the operating
/// system's cryptographic generator.
pub fn generate_password() -> String {
    use ring::rand::{SecureRandom, SystemRandom};
    const CLASSES: [&[u8]; 4] = [
        b"ABCDEFGHJKLMNPQRSTUVWXYZ",
        b"abcdefghijkmnopqrstuvwxyz",
        b"23456789",
        b"!#$%&*+-=?@^_~",
    ];
    let all: Vec<u8> = CLASSES.concat();
    let rng = SystemRandom::new();
    let mut bytes = [0u8; 24];
    rng.fill(&mut bytes).expect("the system random generator");
    let mut password: Vec<u8> = bytes[..20]
        .iter()
        .map(|b| all[usize::from(*b) % all.len()])
        .collect();
    // One of each class at positions chosen by the remaining random bytes.
    for (class, byte) in CLASSES.iter().zip(&bytes[20..]) {
        let position = usize::from(*byte) % password.len();
        password[position] = class[usize::from(byte.rotate_left(3)) % class.len()];
    }
    // Distinct positions are not guaranteed above; make sure every class is present.
    for (index, class) in CLASSES.iter().enumerate() {
        if !password.iter().any(|c| class.contains(c)) {
            password[index * 5] = class[index];
        }
    }
    String::from_utf8(password).expect("ASCII")
}

/// A Graph error document (`{error:{code, message}}`) as a typed error. Graph messages name
/// properties, never values, so they are safe to keep.
fn graph_error(status: u16, body: &Value) -> TargetError {
    let code = body["error"]["code"].as_str().map(str::to_owned);
    let message = body["error"]["message"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| format!("Graph answered {status}"));
    let lower = message.to_lowercase();
    let kind = if lower.contains("already exists") || status == 409 {
        TargetErrorKind::Conflict
    } else if lower.contains("licen") {
        TargetErrorKind::LicenseLimitExceeded
    } else {
        match status {
            404 => TargetErrorKind::NotFound,
            401 | 403 => TargetErrorKind::CredentialsInvalid,
            429 => TargetErrorKind::Throttled,
            500..=599 => TargetErrorKind::Unavailable,
            _ => TargetErrorKind::Rejected,
        }
    };
    TargetError {
        kind,
        status: Some(status),
        code,
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
        let mut typed = graph_error(status, &document);
        typed.detail = format!("{} ({})", typed.detail, error.message);
        return typed;
    }
    let kind = match error.status {
        Some(429) => TargetErrorKind::Throttled,
        // The token endpoint refused the credentials (its errors come without a body).
        Some(400 | 401 | 403) if error.body.is_none() => TargetErrorKind::CredentialsInvalid,
        None if error.message.contains("token") => TargetErrorKind::CredentialsInvalid,
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
    fn passwords_are_strong_and_different() {
        let a = generate_password();
        let b = generate_password();
        assert_ne!(a, b);
        assert_eq!(a.len(), 20);
        assert!(a.chars().any(|c| c.is_ascii_uppercase()));
        assert!(a.chars().any(|c| c.is_ascii_lowercase()));
        assert!(a.chars().any(|c| c.is_ascii_digit()));
        assert!(a.chars().any(|c| !c.is_ascii_alphanumeric()));
    }

    #[test]
    fn dates_round_trip_and_nicknames_are_clean() {
        assert_eq!(
            graph_value("employeeHireDate", &json!("2026-03-01")),
            json!("2026-03-01T00:00:00Z")
        );
        assert_eq!(
            graph_value("department", &json!("2026-03-01")),
            json!("2026-03-01")
        );
        assert_eq!(
            date_from_graph(&json!("2026-03-01T00:00:00Z")),
            json!("2026-03-01")
        );
        assert_eq!(mail_nickname("o'neil+x@contoso.com"), "oneilx");
    }

    #[test]
    fn graph_errors_map_to_categories() {
        let taken = json!({"error": {"code": "Request_BadRequest",
            "message": "Another object with the same value for property userPrincipalName already exists."}});
        assert_eq!(graph_error(400, &taken).kind, TargetErrorKind::Conflict);
        assert!(upn_taken(&taken));
        let missing = json!({"error": {"code": "Request_ResourceNotFound", "message": "Resource does not exist."}});
        assert_eq!(graph_error(404, &missing).kind, TargetErrorKind::NotFound);
        assert_eq!(
            graph_error(403, &Value::Null).kind,
            TargetErrorKind::CredentialsInvalid
        );
    }
}
