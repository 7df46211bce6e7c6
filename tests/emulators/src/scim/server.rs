//! Requests in, answers out: admission (rate limit, injected failures, then the bearer token),
//! held writes, routing under `/scim/v2`, listing and the single-user endpoints, and the
//! `ListResponse` shape.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::attrs::{get_ci, key_ci};
use super::error::{ScimError, invalid_syntax, method_not_allowed, not_found, scim_json};
use super::filter::parse_filter;
use super::projection::Projection;
use super::store::StoredUser;
use super::{HeldWrite, PREFIX, SCIM_CONTENT_TYPE, Shared};
use crate::bucket::retry_after_seconds;
use crate::log::Entry;

const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/// Largest request body read at all; `Bulk` enforces its own, smaller, advertised limit.
const MAX_BODY: usize = 64 << 20;

pub(super) async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let at = Instant::now();
    let entry = shared
        .log
        .arrived(at, request.method().as_str(), request.uri());
    let response = match process(&shared, at, entry, request).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    };
    shared.log.answered(entry, response.status().as_u16());
    if !shared.config.latency.is_zero() {
        tokio::time::sleep(shared.config.latency).await;
    }
    response
}

async fn process(
    shared: &Shared,
    at: Instant,
    entry: Entry,
    request: Request,
) -> Result<Response, ScimError> {
    let write = is_write(request.method(), request.uri().path());
    shared.admit(at, write)?;
    if !shared.authorised(request.headers()) {
        return Err(ScimError::new(401, None, "missing or invalid bearer token"));
    }
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| ScimError::new(413, Some("tooLarge"), "request body too large"))?;
    shared.log.body(entry, &body);
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

pub(super) struct Incoming {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    pub(super) body: Bytes,
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

    pub(super) fn json(&self) -> Result<Value, ScimError> {
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

fn only_get(method: &Method, path: &str) -> Result<(), ScimError> {
    if *method == Method::GET {
        Ok(())
    } else {
        Err(method_not_allowed(method, path))
    }
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

impl Shared {
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

    pub(super) fn check_if_match(
        &self,
        if_match: Option<&str>,
        version: u64,
    ) -> Result<(), ScimError> {
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

    pub(super) fn version_tag(&self, version: u64) -> Option<String> {
        self.config.etag.then(|| format!("W/\"{version}\""))
    }

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
}
