//! SCIM 2.0 target (RFC 7643 / 7644).
//!
//! Reads `/ServiceProviderConfig` once per run and adapts: PATCH or PUT, Bulk within the
//! provider's limits, ETag / If-Match (a 412 re-reads the user once and retries). Users are
//! listed once per run with paging that survives servers ignoring `count` or miscounting
//! `totalResults`; a normal run makes no per-user GET. Every write is paced by the target's
//! rate limit and retried per its policy (see [`crate::connectors::http`]). A create refused
//! with 409 is looked up by externalId once: a retried POST whose first try was applied (its
//! answer lost) finds the user it made, and counts it created rather than failed.
//!
//! Failures say what to fix: a server that cannot be reached is named by its base URL (shown
//! without credentials), refused credentials by the Secret (or local file) they came from.

use std::{collections::HashMap, sync::Arc, time::Duration};

use async_trait::async_trait;
use compact_str::CompactString;
use futures::{StreamExt, stream};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::OnceCell;

pub use super::scim_path::{get_path, set_path};
use super::{
    TargetConnector,
    scim_path::{PatchStep, element_of, patch_step},
};
use crate::{
    connectors::{
        ConnectorContext,
        checks::{MIN_REQUESTS_PER_SECOND, RateRange, check_rate, check_url},
        http::{Auth, HttpClient, HttpError, HttpErrorKind, HttpResponse, RetryPolicy, shown_url},
    },
    crd::{ScimQuirks, ScimTarget as ScimSpec, SecretKeyRef},
    sync::{
        model::{Attr, AttrChange, Attributes, DirectoryUser, NewUser},
        policy::SpecError,
        ports::target::{
            OpResult, Target, TargetCapabilities, TargetError, TargetErrorKind, TargetOp,
        },
    },
};

/// The core User schema.
pub const CORE: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The enterprise extension.
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
const SCIM_JSON: &str = "application/scim+json";
const MANAGER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager";

/// What the provider's `/ServiceProviderConfig` says it supports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Provider {
    /// PATCH is supported.
    pub patch: bool,
    /// Bulk: (maxOperations, maxPayloadSize).
    pub bulk: Option<(usize, usize)>,
    /// ETags (meta.version, If-Match).
    pub etag: bool,
    /// Page size used for listing.
    pub page_size: usize,
}

impl Default for Provider {
    fn default() -> Self {
        Self {
            patch: true,
            bulk: None,
            etag: false,
            page_size: 100,
        }
    }
}

/// The `scim` target.
#[derive(Debug)]
pub struct ScimTarget {
    http: HttpClient,
    base: String,
    quirks: ScimQuirks,
    concurrency: usize,
    provider: OnceCell<Provider>,
    /// Listed resources, kept only when changes must be sent as PUT of the whole user.
    raw: std::sync::Mutex<HashMap<String, Value>>,
    /// The typed elements of mapped attributes (`addresses[type eq "work"]`) each listed user
    /// has, by user id; only users with one are kept.
    elements: std::sync::Mutex<HashMap<String, Vec<String>>>,
    /// What to check when the credentials are refused, such as "the token in secret
    /// scim/token"; never a value.
    credentials_hint: Option<String>,
}

impl ScimTarget {
    /// Builds the target from its spec, reading the credentials.
    pub async fn from_spec(
        spec: &ScimSpec,
        context: &ConnectorContext,
    ) -> Result<ScimTarget, TargetError> {
        let secret = |e: crate::connectors::secrets::SecretError| {
            TargetError::new(TargetErrorKind::CredentialsInvalid, e.to_string())
        };
        let hint = credentials_hint(spec, &context.secrets);
        let auth = if let Some(reference) = &spec.credentials_secret_ref {
            Auth::Bearer(context.secrets.get(reference).await.map_err(secret)?)
        } else if let Some(basic) = &spec.basic {
            Auth::Basic {
                username: basic.username.clone(),
                password: context
                    .secrets
                    .get(&basic.password_secret_ref)
                    .await
                    .map_err(secret)?,
            }
        } else if let Some(oauth) = &spec.oauth2 {
            Auth::ClientCredentials {
                token_url: oauth.token_url.clone(),
                client_id: oauth.client_id.clone(),
                client_secret: context
                    .secrets
                    .get(&oauth.client_secret_secret_ref)
                    .await
                    .map_err(secret)?,
                scope: oauth.scope.clone(),
                cached: Default::default(),
            }
        } else {
            return Err(TargetError::new(
                TargetErrorKind::CredentialsInvalid,
                "spec.target.scim needs credentialsSecretRef, basic or oauth2",
            ));
        };
        let http = HttpClient::new(
            auth,
            Some(spec.requests_per_second),
            Duration::from_secs(u64::from(spec.timeout_seconds)),
            RetryPolicy {
                max_tries: spec.max_tries.max(1),
                ..RetryPolicy::default()
            },
        )
        .map_err(|e| TargetError::new(TargetErrorKind::Unavailable, e))?
        .with_max_response_bytes(spec.max_response_bytes);
        Ok(Self::new(
            http,
            &spec.base_url,
            spec.quirks.clone(),
            spec.max_concurrency as usize,
        )
        .with_credentials_hint(hint))
    }

    /// A target over an HTTP client.
    pub fn new(http: HttpClient, base_url: &str, quirks: ScimQuirks, concurrency: usize) -> Self {
        Self {
            http,
            base: base_url.trim_end_matches('/').to_owned(),
            quirks,
            concurrency: concurrency.max(1),
            provider: OnceCell::new(),
            raw: Default::default(),
            elements: Default::default(),
            credentials_hint: None,
        }
    }

    /// The target with what to check when the credentials are refused (such as "the token in
    /// secret scim/token"), added to such errors. Never a value.
    pub fn with_credentials_hint(mut self, hint: impl Into<String>) -> Self {
        self.credentials_hint = Some(hint.into());
        self
    }

    /// A failed request as a typed error; one that reached no server names the base URL.
    fn http_error(&self, error: HttpError) -> TargetError {
        let unreached = error.kind == HttpErrorKind::Transport;
        let mut typed = http_error(error);
        if unreached {
            typed.detail = format!(
                "cannot reach the SCIM server at {} ({}); check spec.target.scim.baseUrl, and \
                 that the server is up and reachable from here",
                shown_url(&self.base),
                typed.detail
            );
        }
        typed
    }

    /// Refused credentials say which Secret (or local file) they came from.
    fn explained(&self, mut error: TargetError) -> TargetError {
        if error.kind == TargetErrorKind::CredentialsInvalid
            && let Some(hint) = &self.credentials_hint
        {
            error.detail = format!("{}; check {hint}", error.detail);
        }
        error
    }

    /// The provider's capabilities, read once.
    pub async fn provider(&self) -> Result<Provider, TargetError> {
        self.provider
            .get_or_try_init(|| async {
                let url = format!("{}/ServiceProviderConfig", self.base);
                let response = self
                    .http
                    .send(Method::GET, &url, accept_scim)
                    .await
                    .map_err(|e| self.http_error(e))?;
                let status = response.status().as_u16();
                if status == 404 {
                    return Ok(Provider::default());
                }
                let body = success_json(response).await?;
                let supported = |key: &str| truthy(&body[key]["supported"]);
                let page_size = body["filter"]["maxResults"]
                    .as_u64()
                    .map_or(100, |n| n.clamp(1, 1000) as usize);
                let bulk = supported("bulk").then(|| {
                    (
                        body["bulk"]["maxOperations"].as_u64().unwrap_or(1) as usize,
                        body["bulk"]["maxPayloadSize"].as_u64().unwrap_or(1_048_576) as usize,
                    )
                });
                Ok(Provider {
                    patch: supported("patch") && !self.quirks.no_patch,
                    bulk: bulk.filter(|(ops, _)| *ops > 1),
                    etag: supported("etag"),
                    page_size,
                })
            })
            .await
            .copied()
    }

    fn put_mode(&self) -> bool {
        self.quirks.no_patch || self.provider.get().is_some_and(|p| !p.patch)
    }

    /// Every user, page by page. The listing must be whole: planning on part of the directory
    /// would create the unseen users again. So the page that ends it must be believable, and
    /// the tolerated ways of ending are:
    /// - a page of users all listed before (a server ignoring `startIndex` repeats a page);
    /// - a page shorter than the server's pages (its last one) reaching `totalResults`;
    /// - an empty page when `totalResults` is absent or reached, or right after a short page:
    ///   the server was at its end and overstated `totalResults` (some count users they no
    ///   longer list);
    /// - an empty first page, whatever `totalResults` says: an empty directory on such a
    ///   server. No page came before it to contradict, and a run on an empty listing has no
    ///   user to deactivate or delete.
    ///
    /// An empty page right after a full one, while `totalResults` says more users exist, fails
    /// the listing: the server showed users up to the brim of a page, then none, with nothing
    /// marking an end. It may be an overstating server whose users happen to fill the last
    /// page exactly, but it may as well be one that lost the rest of the list, and only
    /// failing is safe for both (the next run lists again). A listed user without an id fails
    /// the listing too: dropping it would plan its employee as a new user.
    async fn list(&self, attributes: &[Arc<str>]) -> Result<Vec<DirectoryUser>, TargetError> {
        let provider = self.provider().await?;
        let keep_raw = self.put_mode();
        let mut users = Vec::new();
        let mut seen: std::collections::HashSet<String> = Default::default();
        let mut start = 1usize;
        // Users a page of this server holds: what we ask for until pages show otherwise (a
        // server may cap pages below `count`, or ignore it and send more).
        let mut page_holds = provider.page_size;
        let mut after_full_page = false;
        let mut element_paths: Vec<String> = attributes
            .iter()
            .filter_map(|name| element_of(name))
            .collect();
        element_paths.dedup();
        let mut elements = HashMap::new();
        loop {
            let url = format!(
                "{}/Users?startIndex={start}&count={}",
                self.base, provider.page_size
            );
            let body = success_json(
                self.http
                    .send(Method::GET, &url, accept_scim)
                    .await
                    .map_err(|e| self.http_error(e))?,
            )
            .await?;
            let ListPage { resources, total } = list_page(body)?;
            if resources.is_empty() {
                match total {
                    Some(total) if start <= total && after_full_page => {
                        return Err(TargetError::new(
                            TargetErrorKind::InvalidData,
                            format!(
                                "the provider's user list is inconsistent: the page at \
                                 startIndex {start} is empty, right after a full page, while \
                                 totalResults says {total} users exist ({} listed); nothing is \
                                 written on a partial list",
                                users.len()
                            ),
                        ));
                    }
                    _ => break,
                }
            }
            let delivered = resources.len();
            let mut fresh = Vec::with_capacity(delivered);
            for (offset, resource) in resources.into_iter().enumerate() {
                let Some(id) = resource["id"].as_str().filter(|id| !id.is_empty()) else {
                    return Err(TargetError::new(
                        TargetErrorKind::InvalidData,
                        format!(
                            "the provider listed a user without an id (startIndex {start}, \
                             position {}): it cannot be matched or changed, and its employee \
                             would be created again; nothing is written",
                            offset + 1
                        ),
                    ));
                };
                if seen.insert(id.to_owned()) {
                    fresh.push(resource);
                }
            }
            // A page of users already seen ends the list (a server that ignores startIndex
            // would otherwise loop forever).
            if fresh.is_empty() {
                break;
            }
            after_full_page = delivered >= page_holds;
            // A short first page is the whole list or the server's cap: assume the cap, so
            // the server's later pages count as full.
            page_holds = if start == 1 {
                delivered
            } else {
                page_holds.max(delivered)
            };
            let count = fresh.len();
            for resource in fresh {
                users.push(to_user(&resource, attributes)?);
                let held: Vec<String> = element_paths
                    .iter()
                    .filter(|path| get_path(&resource, path).is_some())
                    .cloned()
                    .collect();
                if !held.is_empty()
                    && let Some(id) = resource["id"].as_str()
                {
                    elements.insert(id.to_owned(), held);
                }
                if keep_raw && let Some(id) = resource["id"].as_str() {
                    self.raw
                        .lock()
                        .expect("raw lock")
                        .insert(id.to_owned(), resource);
                }
            }
            start += count;
            if total.is_some_and(|total| start > total) && count < provider.page_size {
                break;
            }
        }
        *self.elements.lock().expect("elements lock") = elements;
        Ok(users)
    }

    async fn one(&self, op: TargetOp, provider: Provider) -> OpResult {
        match op {
            TargetOp::Create(user) => {
                let url = format!("{}/Users", self.base);
                let body = self.new_resource(&user);
                let response = self
                    .http
                    .send(Method::POST, &url, |r| scim_body(r, &body))
                    .await
                    .map_err(|e| self.http_error(e))?;
                let created = success_json(response).await?;
                created["id"]
                    .as_str()
                    .map(|id| Some(CompactString::from(id)))
                    .ok_or_else(|| {
                        TargetError::new(
                            TargetErrorKind::InvalidData,
                            "the provider created the user but returned no id",
                        )
                    })
            }
            TargetOp::Deactivate { id, .. } if self.quirks.delete_deactivates => {
                self.delete(&id).await.map(|()| None)
            }
            TargetOp::Update {
                id,
                version,
                changes,
            }
            | TargetOp::Deactivate {
                id,
                version,
                changes,
            } => self
                .modify(&id, version.as_deref(), &changes, provider)
                .await
                .map(|()| None),
            TargetOp::Delete { id } => self.delete(&id).await.map(|()| None),
        }
    }

    async fn delete(&self, id: &str) -> Result<(), TargetError> {
        let url = format!("{}/Users/{id}", self.base);
        let response = self
            .http
            .send(Method::DELETE, &url, accept_scim)
            .await
            .map_err(|e| self.http_error(e))?;
        success(response).await.map(|_| ())
    }

    /// PATCH (or PUT) exactly the changes; a 412 re-reads the user once and retries.
    async fn modify(
        &self,
        id: &str,
        version: Option<&str>,
        changes: &[AttrChange],
        provider: Provider,
    ) -> Result<(), TargetError> {
        let url = format!("{}/Users/{id}", self.base);
        let mut version = version.filter(|_| provider.etag).map(str::to_owned);
        for attempt in 0..2 {
            let (method, body) = if self.put_mode() {
                let cached = self.raw.lock().expect("raw lock").get(id).cloned();
                let current = match cached {
                    Some(current) => current,
                    None => self.read(id).await?.0,
                };
                (Method::PUT, self.replaced(current, changes))
            } else {
                (Method::PATCH, self.patch_body(id, changes))
            };
            let if_match = version.clone();
            let response = self
                .http
                .send(method, &url, |r| {
                    let r = scim_body(r, &body);
                    match &if_match {
                        Some(v) => r.header(reqwest::header::IF_MATCH, v),
                        None => r,
                    }
                })
                .await
                .map_err(|e| self.http_error(e))?;
            if response.status().as_u16() == 412 && attempt == 0 {
                let (fresh, fresh_version) = self.read(id).await?;
                if self.put_mode() {
                    self.raw
                        .lock()
                        .expect("raw lock")
                        .insert(id.to_owned(), fresh);
                }
                version = fresh_version;
                continue;
            }
            let updated = success(response).await?;
            if self.put_mode()
                && let Some(resource) = updated.filter(|v| v.is_object())
            {
                self.raw
                    .lock()
                    .expect("raw lock")
                    .insert(id.to_owned(), resource);
            }
            return Ok(());
        }
        unreachable!("the loop returns on its second pass")
    }

    /// The id of the user with this externalId and userName (case-insensitive), if exactly
    /// one has both. Any failure to find out is "none".
    async fn own_user(&self, external_id: &str, user_name: &str) -> Option<CompactString> {
        let url = format!("{}/Users", self.base);
        let filter = format!(
            "externalId eq \"{}\"",
            external_id.replace('\\', "\\\\").replace('"', "\\\"")
        );
        let response = self
            .http
            .send(Method::GET, &url, |r| {
                accept_scim(r).query(&[("filter", filter.as_str())])
            })
            .await
            .ok()?;
        let body = success_json(response).await.ok()?;
        let mut own = body["Resources"].as_array()?.iter().filter(|r| {
            r["externalId"]
                .as_str()
                .is_some_and(|id| id.eq_ignore_ascii_case(external_id))
                && r["userName"]
                    .as_str()
                    .is_some_and(|name| name.eq_ignore_ascii_case(user_name))
        });
        let id = own.next()?["id"].as_str()?;
        own.next().is_none().then(|| CompactString::from(id))
    }

    async fn read(&self, id: &str) -> Result<(Value, Option<String>), TargetError> {
        let url = format!("{}/Users/{id}", self.base);
        let body = success_json(
            self.http
                .send(Method::GET, &url, accept_scim)
                .await
                .map_err(|e| self.http_error(e))?,
        )
        .await?;
        let version = body["meta"]["version"].as_str().map(str::to_owned);
        Ok((body, version))
    }

    fn boolean(&self, value: bool) -> Value {
        if self.quirks.booleans_as_strings {
            Value::String(if value { "True" } else { "False" }.into())
        } else {
            Value::Bool(value)
        }
    }

    fn op(&self, name: &str) -> String {
        if self.quirks.capitalized_patch_ops {
            let mut chars = name.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        } else {
            name.to_owned()
        }
    }

    /// The resource of a new user.
    pub fn new_resource(&self, user: &NewUser) -> Value {
        let mut resource = json!({
            "schemas": [CORE],
            "userName": user.email,
            "externalId": user.external_id,
            "name": {
                "givenName": user.first_name,
                "familyName": user.last_name,
                "formatted": format!("{} {}", user.first_name, user.last_name),
            },
            "displayName": format!("{} {}", user.first_name, user.last_name),
            "emails": [{"value": user.email, "type": "work", "primary": true}],
            "active": self.boolean(user.active),
        });
        if let Some(language) = &user.preferred_language {
            resource["preferredLanguage"] = json!(language);
        }
        if let Some(manager) = &user.manager {
            set_path(&mut resource, MANAGER, Some(json!({"value": manager})));
        }
        for (name, value) in user.attributes.iter() {
            set_path(&mut resource, name, Some(value.clone()));
        }
        add_extension_schemas(&mut resource);
        resource
    }

    /// (path, value) pairs a change writes; `None` removes the attribute.
    fn assignments(&self, change: &AttrChange) -> Vec<(String, Option<Value>)> {
        let text = || change.after.clone();
        match &change.attr {
            Attr::ExternalId => vec![("externalId".into(), text())],
            Attr::Email => vec![
                ("userName".into(), text()),
                (
                    "emails".into(),
                    text().map(|email| json!([{"value": email, "type": "work", "primary": true}])),
                ),
            ],
            Attr::FirstName => vec![("name.givenName".into(), text())],
            Attr::LastName => vec![("name.familyName".into(), text())],
            Attr::PreferredLanguage => vec![("preferredLanguage".into(), text())],
            Attr::Active => vec![(
                "active".into(),
                Some(self.boolean(change.after.as_ref().is_none_or(truthy))),
            )],
            Attr::Manager => vec![(
                MANAGER.into(),
                change.after.as_ref().map(|id| json!({"value": id})),
            )],
            Attr::Mapped(name) => vec![(name.to_string(), text())],
        }
    }

    /// A PatchOp with one operation per changed attribute, for user `id`. A typed element
    /// (`addresses[type eq "work"]`) the listing did not show on the user is added whole, in
    /// one `add` with every mapped sub-attribute: a `replace` of an element that does not
    /// exist fails (RFC 7644 §3.5.2.3), and an `add` per sub-attribute would make several.
    pub fn patch_body(&self, id: &str, changes: &[AttrChange]) -> Value {
        let existing = self
            .elements
            .lock()
            .expect("elements lock")
            .get(id)
            .cloned()
            .unwrap_or_default();
        let mut operations = Vec::new();
        // Each new element: its path (with the filter), its attribute and its value.
        let mut new_elements: Vec<(String, String, Value)> = Vec::new();
        let mut set = |path: String, value: Option<Value>| {
            operations.push(match value {
                Some(value) => json!({"op": self.op("replace"), "path": path, "value": value}),
                None => json!({"op": self.op("remove"), "path": path}),
            });
        };
        for change in changes {
            let element = match &change.attr {
                Attr::Mapped(name) => element_of(name).map(|element| (name, element)),
                _ => None,
            };
            let Some((name, element)) = element else {
                for (path, value) in self.assignments(change) {
                    set(path, value);
                }
                continue;
            };
            match patch_step(name, change.after.clone(), existing.contains(&element)) {
                PatchStep::Set(path, value) => set(path, value),
                PatchStep::AddElement {
                    attribute,
                    kind,
                    sub,
                    value,
                } => {
                    let index = match new_elements.iter().position(|(e, ..)| *e == element) {
                        Some(index) => index,
                        None => {
                            new_elements.push((element, attribute, json!({"type": kind})));
                            new_elements.len() - 1
                        }
                    };
                    set_path(&mut new_elements[index].2, &sub, Some(value));
                }
            }
        }
        for (_, attribute, element) in new_elements {
            operations.push(json!({"op": self.op("add"), "path": attribute, "value": [element]}));
        }
        json!({"schemas": [PATCH_OP], "Operations": operations})
    }

    /// The whole resource with the changes applied, for PUT.
    fn replaced(&self, mut resource: Value, changes: &[AttrChange]) -> Value {
        if let Some(object) = resource.as_object_mut() {
            object.remove("meta");
        }
        for change in changes {
            for (path, value) in self.assignments(change) {
                set_path(&mut resource, &path, value);
            }
        }
        add_extension_schemas(&mut resource);
        resource
    }

    /// Sends operations through `/Bulk`, in requests within the provider's limits, one request
    /// built at a time (so a run holds one request's JSON, not every operation's). Returns the
    /// indices that answered 412, for a retry one by one.
    async fn bulk(
        &self,
        ops: &[(usize, TargetOp)],
        limits: (usize, usize),
        results: &mut [Option<OpResult>],
    ) -> Vec<usize> {
        let (max_operations, max_payload) = limits;
        let mut retry = Vec::new();
        let mut chunk: Vec<(usize, Value)> = Vec::new();
        let mut size = 200;
        for (index, op) in ops {
            let operation = self.bulk_operation(*index, op);
            let length = operation.to_string().len() + 1;
            if !chunk.is_empty() && (chunk.len() >= max_operations || size + length > max_payload) {
                self.send_bulk(std::mem::take(&mut chunk), results, &mut retry)
                    .await;
                size = 200;
            }
            size += length;
            chunk.push((*index, operation));
        }
        if !chunk.is_empty() {
            self.send_bulk(chunk, results, &mut retry).await;
        }
        retry
    }

    /// Sends one `/Bulk` request and records each operation's outcome; 412s go to `retry`.
    async fn send_bulk(
        &self,
        chunk: Vec<(usize, Value)>,
        results: &mut [Option<OpResult>],
        retry: &mut Vec<usize>,
    ) {
        let url = format!("{}/Bulk", self.base);
        let body = json!({
            "schemas": [BULK_REQUEST],
            "Operations": chunk.iter().map(|(_, op)| op).collect::<Vec<_>>(),
        });
        let answer = match self
            .http
            .send(Method::POST, &url, |r| scim_body(r, &body))
            .await
        {
            Ok(response) => success_json(response).await,
            Err(error) => Err(self.http_error(error)),
        };
        let answer = match answer {
            Ok(answer) => answer,
            Err(error) => {
                for (index, _) in &chunk {
                    results[*index] = Some(Err(error.clone()));
                }
                return;
            }
        };
        let operations: Vec<&Value> = chunk.iter().map(|(_, operation)| operation).collect();
        let answers = bulk_answers(&operations, &answer);
        for ((index, operation), answer) in chunk.iter().zip(answers) {
            let Some(answer) = answer else {
                results[*index] = Some(Err(TargetError::new(
                    TargetErrorKind::InvalidData,
                    "the provider's bulk response omits this operation",
                )));
                continue;
            };
            let status = answer["status"]
                .as_str()
                .and_then(|s| s.get(..3))
                .and_then(|s| s.parse::<u16>().ok())
                .or_else(|| answer["status"].as_u64().map(|s| s as u16))
                .unwrap_or(500);
            results[*index] = Some(if (200..300).contains(&status) {
                // Only a create answers with an id: the user it made.
                let id = answer["location"]
                    .as_str()
                    .filter(|_| operation["method"] == "POST")
                    .and_then(|l| l.rsplit('/').next())
                    .map(CompactString::from);
                Ok(id)
            } else if status == 412 {
                retry.push(*index);
                continue;
            } else {
                Err(scim_error(status, &answer["response"]))
            });
        }
    }

    fn bulk_operation(&self, index: usize, op: &TargetOp) -> Value {
        let bulk_id = format!("op{index}");
        match op {
            TargetOp::Create(user) => json!({
                "method": "POST", "bulkId": bulk_id, "path": "/Users", "data": self.new_resource(user),
            }),
            TargetOp::Deactivate { id, .. } if self.quirks.delete_deactivates => json!({
                "method": "DELETE", "bulkId": bulk_id, "path": format!("/Users/{id}"),
            }),
            TargetOp::Update {
                id,
                version,
                changes,
            }
            | TargetOp::Deactivate {
                id,
                version,
                changes,
            } => {
                let mut operation = json!({
                    "method": "PATCH", "bulkId": bulk_id, "path": format!("/Users/{id}"),
                    "data": self.patch_body(id, changes),
                });
                if let Some(version) = version
                    .as_ref()
                    .filter(|_| self.provider.get().is_some_and(|p| p.etag))
                {
                    operation["version"] = json!(version);
                }
                operation
            }
            TargetOp::Delete { id } => json!({
                "method": "DELETE", "bulkId": bulk_id, "path": format!("/Users/{id}"),
            }),
        }
    }
}

/// The answer to each operation of a bulk request in the provider's BulkResponse, `None` where
/// there is none. RFC 7644 (§3.7) requires a `bulkId` only of POST operations, and a `location`
/// in every answer but a failed POST's: a PATCH, PUT or DELETE may be answered with its method,
/// its resource's location and a status alone (SCIMMY does so, whatever `bulkId` the request gave
/// it). So an operation takes the answer with its `bulkId` if there is one, else the first
/// unclaimed answer without a `bulkId` that has its method (never POST) and, when a location is
/// given, a location ending in its path.
fn bulk_answers<'a>(operations: &[&Value], response: &'a Value) -> Vec<Option<&'a Value>> {
    let answers: &[Value] = response["Operations"].as_array().map_or(&[], Vec::as_slice);
    let mut claimed = vec![false; answers.len()];
    let method = |value: &Value| value["method"].as_str().map(str::to_ascii_uppercase);
    operations
        .iter()
        .map(|operation| {
            let bulk_id = operation["bulkId"].as_str();
            let path = operation["path"].as_str().unwrap_or_default();
            let named = |answer: &Value| bulk_id.is_some() && answer["bulkId"].as_str() == bulk_id;
            let unnamed = |answer: &Value| {
                answer["bulkId"].is_null()
                    && method(operation) != Some("POST".into())
                    && method(answer) == method(operation)
                    && answer["location"]
                        .as_str()
                        .is_none_or(|l| l.ends_with(path))
            };
            let found = [&named as &dyn Fn(&Value) -> bool, &unnamed]
                .into_iter()
                .find_map(|matches| {
                    (0..answers.len()).find(|&i| !claimed[i] && matches(&answers[i]))
                })?;
            claimed[found] = true;
            Some(&answers[found])
        })
        .collect()
}

/// What the operator knows of a `scim` target.
#[async_trait]
impl TargetConnector for ScimSpec {
    fn secret_refs(&self) -> Vec<&SecretKeyRef> {
        let mut refs = Vec::new();
        refs.extend(self.credentials_secret_ref.as_ref());
        refs.extend(self.basic.as_ref().map(|b| &b.password_secret_ref));
        refs.extend(self.oauth2.as_ref().map(|o| &o.client_secret_secret_ref));
        refs
    }

    fn check_mapped_attribute(&self, to: &str) -> Option<String> {
        super::scim_path::check(to)
    }

    fn validate(&self) -> Vec<SpecError> {
        let mut problems = Vec::new();
        let insecure = self.allow_insecure_http;
        if let Err(message) = check_url(&self.base_url, insecure) {
            problems.push(SpecError {
                field: "spec.target.scim.baseUrl".into(),
                message,
            });
        }
        if let Some(oauth) = &self.oauth2
            && let Err(message) = check_url(&oauth.token_url, insecure)
        {
            problems.push(SpecError {
                field: "spec.target.scim.oauth2.tokenUrl".into(),
                message,
            });
        }
        if let Err(message) = check_rate(
            self.requests_per_second,
            RateRange::AtLeast(MIN_REQUESTS_PER_SECOND),
        ) {
            problems.push(SpecError {
                field: "spec.target.scim.requestsPerSecond".into(),
                message,
            });
        }
        problems
    }

    async fn build(&self, context: &ConnectorContext) -> Result<Box<dyn Target>, TargetError> {
        Ok(Box::new(ScimTarget::from_spec(self, context).await?))
    }
}

#[async_trait]
impl Target for ScimTarget {
    fn capabilities(&self) -> TargetCapabilities {
        let provider = self.provider.get().copied().unwrap_or_default();
        TargetCapabilities {
            managers: true,
            versions: provider.etag,
            max_batch: provider.bulk.map_or(1, |(ops, _)| ops),
            deletes: !self.quirks.delete_deactivates,
        }
    }

    async fn check(&self) -> Result<(), TargetError> {
        self.provider().await.map_err(|e| self.explained(e))?;
        // Many providers serve /ServiceProviderConfig without authentication: credentials are
        // proven by a call that needs them.
        let url = format!("{}/Users?startIndex=1&count=1", self.base);
        let response = self
            .http
            .send(Method::GET, &url, accept_scim)
            .await
            .map_err(|e| self.explained(self.http_error(e)))?;
        success(response)
            .await
            .map(|_| ())
            .map_err(|e| self.explained(e))
    }

    async fn list_users(&self, attributes: &[Arc<str>]) -> Result<Vec<DirectoryUser>, TargetError> {
        self.list(attributes).await.map_err(|e| self.explained(e))
    }

    async fn apply(&self, ops: Vec<TargetOp>) -> Vec<OpResult> {
        self.apply_all(ops)
            .await
            .into_iter()
            .map(|result| result.map_err(|e| self.explained(e)))
            .collect()
    }
}

impl ScimTarget {
    async fn apply_all(&self, ops: Vec<TargetOp>) -> Vec<OpResult> {
        let provider = match self.provider().await {
            Ok(provider) => provider,
            Err(error) => return ops.iter().map(|_| Err(error.clone())).collect(),
        };
        let mut results: Vec<Option<OpResult>> = vec![None; ops.len()];
        let creates: Vec<(usize, CompactString, CompactString)> = ops
            .iter()
            .enumerate()
            .filter_map(|(index, op)| match op {
                TargetOp::Create(user) => {
                    Some((index, user.external_id.clone(), user.email.clone()))
                }
                _ => None,
            })
            .collect();
        let indexed: Vec<(usize, TargetOp)> = ops.into_iter().enumerate().collect();
        let singles: Vec<(usize, TargetOp)> = match provider.bulk {
            Some(limits) if indexed.len() > 1 && !self.put_mode() => {
                let retry = self.bulk(&indexed, limits, &mut results).await;
                indexed
                    .into_iter()
                    .filter(|(index, _)| retry.contains(index))
                    .collect()
            }
            _ => indexed,
        };
        let done: Vec<(usize, OpResult)> = stream::iter(singles)
            .map(|(index, op)| async move { (index, self.one(op, provider).await) })
            .buffer_unordered(self.concurrency)
            .collect()
            .await;
        for (index, result) in done {
            results[index] = Some(result);
        }
        // A create refused as a duplicate may have been made by this very run: its first try
        // was applied but the answer was lost, and the retry hit the uniqueness rule. The user
        // holding our externalId and this userName is then the one we created.
        for (index, external_id, user_name) in creates {
            if let Some(Err(error)) = &results[index]
                && error.kind == TargetErrorKind::Conflict
                && let Some(id) = self.own_user(&external_id, &user_name).await
            {
                results[index] = Some(Ok(Some(id)));
            }
        }
        results
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| {
                    Err(TargetError::new(TargetErrorKind::InvalidData, "no outcome"))
                })
            })
            .collect()
    }
}

/// What to check when the provider refuses the credentials the spec names: the Secret (or the
/// local file) they are read from, and the spec field naming it.
fn credentials_hint(spec: &ScimSpec, secrets: &crate::connectors::SecretResolver) -> String {
    if let Some(reference) = &spec.credentials_secret_ref {
        format!(
            "the bearer token that spec.target.scim.credentialsSecretRef names, {}",
            secrets.describe(reference)
        )
    } else if let Some(basic) = &spec.basic {
        format!(
            "spec.target.scim.basic.username and the password that \
             spec.target.scim.basic.passwordSecretRef names, {}",
            secrets.describe(&basic.password_secret_ref)
        )
    } else if let Some(oauth) = &spec.oauth2 {
        format!(
            "spec.target.scim.oauth2.clientId and the client secret that \
             spec.target.scim.oauth2.clientSecretSecretRef names, {}",
            secrets.describe(&oauth.client_secret_secret_ref)
        )
    } else {
        "spec.target.scim's credentials".to_owned()
    }
}

fn accept_scim(request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    request.header(
        reqwest::header::ACCEPT,
        format!("{SCIM_JSON}, application/json"),
    )
}

fn scim_body(request: reqwest::RequestBuilder, body: &Value) -> reqwest::RequestBuilder {
    accept_scim(request)
        .header(reqwest::header::CONTENT_TYPE, SCIM_JSON)
        .body(body.to_string())
}

/// A boolean that some providers send as a string.
fn truthy(value: &Value) -> bool {
    match value {
        Value::Bool(b) => *b,
        Value::String(s) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// The body of a successful response (`None` for 204), or the provider's error.
async fn success(response: HttpResponse) -> Result<Option<Value>, TargetError> {
    let status = response.status().as_u16();
    let body: Option<Value> = response.json().ok();
    if (200..300).contains(&status) {
        Ok(body)
    } else {
        Err(scim_error(status, body.as_ref().unwrap_or(&Value::Null)))
    }
}

async fn success_json(response: HttpResponse) -> Result<Value, TargetError> {
    success(response).await?.ok_or_else(|| {
        TargetError::new(
            TargetErrorKind::InvalidData,
            "the provider answered without a JSON body",
        )
    })
}

/// A SCIM error document as a typed error.
fn scim_error(status: u16, body: &Value) -> TargetError {
    let scim_type = body["scimType"].as_str().map(str::to_owned);
    let detail = body["detail"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| format!("the provider answered {status}"));
    let lower = detail.to_lowercase();
    let kind = if lower.contains("licen") || lower.contains("seat") {
        TargetErrorKind::LicenseLimitExceeded
    } else {
        match status {
            409 => TargetErrorKind::Conflict,
            412 => TargetErrorKind::VersionMismatch,
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
        code: scim_type,
        detail,
    }
}

fn http_error(error: HttpError) -> TargetError {
    if let Some(unusable) = super::unusable_answer(&error) {
        return unusable;
    }
    if let (Some(status), Some(body)) = (error.status, &error.body)
        && let Ok(document) = serde_json::from_str::<Value>(body)
    {
        let mut typed = scim_error(status, &document);
        typed.detail = format!("{} ({})", typed.detail, error.message);
        return typed;
    }
    let kind = match error.status {
        Some(429) => TargetErrorKind::Throttled,
        // The token endpoint refused the credentials (its errors come without a body).
        Some(400 | 401 | 403) if error.body.is_none() => TargetErrorKind::CredentialsInvalid,
        _ => TargetErrorKind::Unavailable,
    };
    TargetError {
        kind,
        status: error.status,
        code: None,
        detail: error.message,
    }
}

/// Lists every extension the resource uses in `schemas`.
fn add_extension_schemas(resource: &mut Value) {
    let extensions: Vec<String> = resource
        .as_object()
        .map(|o| {
            o.keys()
                .filter(|k| k.starts_with("urn:"))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let mut schemas: Vec<Value> = resource["schemas"].as_array().cloned().unwrap_or_default();
    if !schemas.iter().any(|s| s == CORE) {
        schemas.insert(0, json!(CORE));
    }
    for extension in extensions {
        if !schemas
            .iter()
            .any(|s| s == &Value::String(extension.clone()))
        {
            schemas.push(Value::String(extension));
        }
    }
    resource["schemas"] = Value::Array(schemas);
}

/// One page of a SCIM list response (RFC 7644 §3.4.2).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ListPage {
    /// The page's resources, as the provider sent them.
    pub resources: Vec<Value>,
    /// `totalResults`, when the provider sent a number.
    pub total: Option<usize>,
}

/// Parses the body of a list response. A body that is not a list response (no `Resources`
/// and no `totalResults`, or `Resources` that is not a list) is an error, never an empty
/// directory: an empty listing would make the plan create every user again.
pub fn parse_list_page(body: &[u8]) -> Result<ListPage, TargetError> {
    let body: Value = serde_json::from_slice(body).map_err(|e| {
        TargetError::new(
            TargetErrorKind::InvalidData,
            format!("the provider's user list is not JSON: {e}"),
        )
    })?;
    list_page(body)
}

fn list_page(mut body: Value) -> Result<ListPage, TargetError> {
    let invalid = |message: &str| TargetError::new(TargetErrorKind::InvalidData, message);
    let Some(object) = body.as_object_mut() else {
        return Err(invalid("the provider's user list is not a JSON object"));
    };
    let total = object
        .get("totalResults")
        .and_then(Value::as_u64)
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    let resources = match object.remove("Resources") {
        Some(Value::Array(resources)) => resources,
        // Past the last page some providers leave `Resources` out; `totalResults` still shows
        // a list response.
        None | Some(Value::Null) if total.is_some() => Vec::new(),
        None | Some(Value::Null) => {
            return Err(invalid(
                "the provider's answer has neither Resources nor totalResults: not a user list",
            ));
        }
        Some(_) => {
            return Err(invalid(
                "the provider's user list has Resources that is not a list",
            ));
        }
    };
    Ok(ListPage { resources, total })
}

/// A SCIM user as a directory user.
pub fn to_user(resource: &Value, attributes: &[Arc<str>]) -> Result<DirectoryUser, TargetError> {
    let id = resource["id"]
        .as_str()
        .ok_or_else(|| TargetError::new(TargetErrorKind::InvalidData, "a listed user has no id"))?;
    let text = |value: &Value| value.as_str().map(CompactString::from);
    let emails = resource["emails"].as_array();
    let email = emails
        .and_then(|emails| {
            emails
                .iter()
                .find(|e| truthy(&e["primary"]))
                .or_else(|| emails.iter().find(|e| e["type"] == "work"))
                .or_else(|| emails.first())
        })
        .and_then(|e| text(&e["value"]));
    let manager = get_path(resource, MANAGER).and_then(|m| match m {
        Value::String(id) => Some(CompactString::from(id.as_str())),
        other => text(&other["value"]),
    });
    let mut mapped = Attributes::default();
    for name in attributes {
        if let Some(value) = get_path(resource, name) {
            mapped.set(name.clone(), value.clone());
        }
    }
    Ok(DirectoryUser {
        id: id.into(),
        external_id: text(&resource["externalId"]),
        user_name: text(&resource["userName"]),
        email,
        first_name: text(&resource["name"]["givenName"]),
        last_name: text(&resource["name"]["familyName"]),
        preferred_language: text(&resource["preferredLanguage"]),
        // `active` absent or null: the provider does not say. That reads as active, the state
        // of an account that exists until said otherwise: a leaver is still deactivated
        // (sending false again is harmless), and an active employee never gets a reactivation
        // sent, every run, to a provider that will not say.
        active: match &resource["active"] {
            Value::Null => true,
            stated => truthy(stated),
        },
        manager_id: manager,
        attributes: mapped,
        version: text(&resource["meta"]["version"]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_reach_core_sub_attributes_and_extensions() {
        let mut resource = json!({"name": {"givenName": "Ada"}});
        set_path(
            &mut resource,
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            Some(json!("R&D")),
        );
        set_path(&mut resource, "name.familyName", Some(json!("L")));
        assert_eq!(resource[ENTERPRISE]["department"], "R&D");
        assert_eq!(get_path(&resource, "name.familyName"), Some(&json!("L")));
        assert_eq!(
            get_path(
                &resource,
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"
            ),
            Some(&json!("R&D"))
        );
        set_path(&mut resource, "name.givenName", None);
        assert_eq!(get_path(&resource, "name.givenName"), None);
    }

    #[test]
    fn listed_users_tolerate_string_booleans_and_pick_the_primary_email() {
        let user = to_user(
            &json!({
                "id": "7", "userName": "ada@x.example", "active": "False",
                "emails": [{"value": "home@x.example", "type": "home"},
                           {"value": "ada@x.example", "type": "work", "primary": "true"}],
                ENTERPRISE: {"manager": {"value": "3"}, "costCenter": "CC-1"},
                "meta": {"version": "W/\"4\""}
            }),
            &[Arc::from(
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter",
            )],
        )
        .unwrap();
        assert!(!user.active);
        assert_eq!(user.email.as_deref(), Some("ada@x.example"));
        assert_eq!(user.manager_id.as_deref(), Some("3"));
        assert_eq!(user.version.as_deref(), Some("W/\"4\""));
        assert_eq!(user.attributes.iter().count(), 1);
    }

    #[test]
    fn an_active_not_stated_reads_as_active() {
        for resource in [
            json!({"id": "1", "userName": "a@x.example"}),
            json!({"id": "1", "userName": "a@x.example", "active": null}),
        ] {
            assert!(to_user(&resource, &[]).unwrap().active, "{resource}");
        }
        let stated = json!({"id": "1", "userName": "a@x.example", "active": false});
        assert!(!to_user(&stated, &[]).unwrap().active);
    }

    /// SCIMMY's BulkResponse (scimmy 1.3.5; RFC 7644 §3.7 allows it) repeats `bulkId` only for
    /// POST: PATCH and DELETE answers carry method, location and status alone. They were
    /// reported as "omitted" before, failing every update and delete sent in bulk.
    #[test]
    fn bulk_answers_without_a_bulk_id_are_matched_by_method_and_location() {
        let operations = [
            json!({"method": "POST", "bulkId": "op0", "path": "/Users", "data": {}}),
            json!({"method": "PATCH", "bulkId": "op1", "path": "/Users/a1", "data": {}}),
            json!({"method": "DELETE", "bulkId": "op2", "path": "/Users/b2"}),
            json!({"method": "PATCH", "bulkId": "op3", "path": "/Users/b2", "data": {}}),
            json!({"method": "POST", "bulkId": "op4", "path": "/Users", "data": {}}),
            json!({"method": "DELETE", "bulkId": "op5", "path": "/Users/c3"}),
        ];
        let base = "http://127.0.0.1:1/scim/v2/Users";
        let response = json!({"Operations": [
            {"method": "POST", "bulkId": "op0", "status": "201", "location": format!("{base}/n1")},
            {"method": "PATCH", "status": "200", "location": format!("{base}/a1")},
            {"method": "DELETE", "status": "204", "location": format!("{base}/b2")},
            {"method": "PATCH", "status": "404", "location": format!("{base}/b2"),
             "response": {"status": "404", "detail": "Resource b2 not found"}},
            {"method": "POST", "bulkId": "op4", "status": "409",
             "response": {"status": "409", "scimType": "uniqueness"}},
        ]});
        let refs: Vec<&Value> = operations.iter().collect();
        let statuses: Vec<Option<&str>> = bulk_answers(&refs, &response)
            .into_iter()
            .map(|answer| answer.and_then(|a| a["status"].as_str()))
            .collect();
        assert_eq!(
            statuses,
            [
                Some("201"),
                Some("200"),
                Some("204"),
                Some("404"),
                Some("409"),
                None
            ]
        );
        // Answers that repeat every bulkId, in any order, are matched by it.
        let named = json!({"Operations": [
            {"method": "DELETE", "bulkId": "op2", "status": "204"},
            {"method": "PATCH", "bulkId": "op1", "status": "200"},
        ]});
        let answers = bulk_answers(&refs[1..3], &named);
        assert_eq!(answers[0].unwrap()["bulkId"], "op1");
        assert_eq!(answers[1].unwrap()["bulkId"], "op2");
        // A POST answer without its bulkId cannot say which user it made: no match.
        let anonymous = json!({"Operations": [{"method": "POST", "status": "201",
                                               "location": format!("{base}/n9")}]});
        assert_eq!(bulk_answers(&refs[..1], &anonymous), [None]);
    }

    #[test]
    fn errors_map_to_categories() {
        let conflict = scim_error(409, &json!({"scimType": "uniqueness", "detail": "exists"}));
        assert_eq!(
            (conflict.kind, conflict.code.as_deref()),
            (TargetErrorKind::Conflict, Some("uniqueness"))
        );
        let seats = scim_error(403, &json!({"detail": "No seats left on this plan"}));
        assert_eq!(seats.kind, TargetErrorKind::LicenseLimitExceeded);
        assert_eq!(
            scim_error(400, &Value::Null).kind,
            TargetErrorKind::Rejected
        );
        assert_eq!(
            scim_error(503, &Value::Null).kind,
            TargetErrorKind::Unavailable
        );
    }
}
