//! `/v1.0/users`: listing with `$select`, `$expand=manager` and paging, single users, creates
//! with Graph's required fields and password rules, updates, deletes and `manager/$ref`; writes
//! pass the write throttle first, and names stay unique. Bodies and `$select` are held to the
//! user resource's properties and types (`schema`).

use std::collections::HashMap;
use std::time::Instant;

use axum::http::{Method, Uri};
use serde_json::{Value, json};

use super::schema::{self, COLLECTIONS};
use super::{Answer, GraphState, Shared, StoredUser, listing};
use crate::bucket::retry_after_seconds;

/// The answer a client gets when the one to its request was lost on the way back.
pub(super) fn lost_answer(status: u16) -> Answer {
    Answer::error(
        status,
        "UnknownError",
        "Injected failure: the request was carried out, its answer lost.",
    )
}

/// Admits one write: injected throttles first, then the write bucket.
fn admit_write(state: &mut GraphState) -> Result<(), Answer> {
    let attempt = state.write_attempts;
    state.write_attempts += 1;
    let throttled = |seconds: u64| {
        let mut answer = Answer::error(
            429,
            "TooManyRequests",
            "Too many requests. Please retry after the time in the Retry-After header.",
        );
        answer
            .headers
            .push(("retry-after", seconds.max(1).to_string()));
        answer
    };
    if state.throttled.remove(&attempt) {
        return Err(throttled(state.throttle_retry_after));
    }
    if let Some(bucket) = &mut state.bucket
        && let Err(wait) = bucket.take(Instant::now())
    {
        return Err(throttled(retry_after_seconds(wait)));
    }
    Ok(())
}

pub(super) fn resource(
    shared: &Shared,
    method: &Method,
    path: &str,
    uri: &Uri,
    body: Option<Value>,
) -> Answer {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let write = *method != Method::GET;
    let mut state = shared.lock();
    if write && let Err(answer) = admit_write(&mut state) {
        return answer;
    }
    let answer = match (method.as_str(), segments.as_slice()) {
        ("GET", ["users"]) => list(shared, &state, uri),
        ("POST", ["users"]) => create(&mut state, &shared.origin, body),
        ("GET", ["users", key]) => {
            let key = percent_decoded(key);
            let id = state
                .users
                .contains_key(&key)
                .then(|| key.clone())
                .or_else(|| state.upns.get(&key.to_lowercase()).cloned());
            match id.and_then(|id| state.users.get(&id)) {
                Some(user) => match one_user(&user.resource, uri) {
                    Ok(shown) => Answer::json(200, shown),
                    Err(answer) => answer,
                },
                None => not_found(&key),
            }
        }
        ("PATCH", ["users", id]) => patch(&mut state, id, body),
        ("DELETE", ["users", id]) => {
            if state.users.remove(*id).is_none() {
                not_found(id)
            } else {
                forget_names(&mut state, id);
                for user in state.users.values_mut() {
                    if user.resource["manager"]["id"] == *id {
                        user.resource.as_object_mut().map(|o| o.remove("manager"));
                    }
                }
                Answer::empty(204)
            }
        }
        ("GET", ["users", id, "manager"]) => {
            match state
                .users
                .get(*id)
                .map(|u| u.resource["manager"]["id"].clone())
            {
                None => not_found(id),
                Some(Value::String(manager)) => match state.users.get(&manager) {
                    Some(m) => Answer::json(200, public(&m.resource)),
                    None => not_found(&manager),
                },
                Some(_) => not_found("manager"),
            }
        }
        ("PUT", ["users", id, "manager", "$ref"]) => {
            let target = body
                .as_ref()
                .and_then(|b| b["@odata.id"].as_str())
                .and_then(|r| r.rsplit('/').next())
                .map(str::to_owned);
            match target {
                None => Answer::error(
                    400,
                    "Request_BadRequest",
                    "The @odata.id of the reference is missing or malformed.",
                ),
                Some(manager) if !state.users.contains_key(&manager) => not_found(&manager),
                Some(manager) if manager == *id => Answer::error(
                    400,
                    "Request_BadRequest",
                    "A user cannot be their own manager.",
                ),
                Some(manager) => match state.users.get_mut(*id) {
                    None => not_found(id),
                    Some(user) => {
                        user.resource["manager"] = json!({"id": manager});
                        Answer::empty(204)
                    }
                },
            }
        }
        ("DELETE", ["users", id, "manager", "$ref"]) => match state.users.get_mut(*id) {
            None => not_found(id),
            Some(user) => match user
                .resource
                .as_object_mut()
                .and_then(|o| o.remove("manager"))
            {
                Some(_) => Answer::empty(204),
                None => not_found("manager"),
            },
        },
        _ => Answer::error(
            400,
            "BadRequest",
            "Unsupported segment or method for this emulator.",
        ),
    };
    if write && (200..300).contains(&answer.status) {
        state.writes += 1;
        // A deleted user leaves every group it was in.
        state.memberships.clear();
        if method == Method::POST && segments == ["users"] && state.lost_creates > 0 {
            state.lost_creates -= 1;
            return lost_answer(state.lost_status);
        }
    }
    answer
}

/// One user as `GET /users/{id}` returns it: the `$select`ed properties, else the defaults,
/// and its manager when `$expand` asks.
fn one_user(resource: &Value, uri: &Uri) -> Result<Value, Answer> {
    let query = listing::Query::of(uri);
    let mut user = listing::shown(resource, &listing::selected(query.get("$select"))?);
    if listing::expands_manager(&query) {
        listing::expand_manager(&mut user, resource);
    }
    Ok(user)
}

/// A path segment with its `%XX` escapes decoded (invalid ones kept as they are).
pub(super) fn percent_decoded(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escaped = (bytes[index] == b'%')
            .then(|| segment.get(index + 1..index + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                decoded.push(byte);
                index += 3;
            }
            None => {
                decoded.push(bytes[index]);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

pub(super) fn not_found(id: &str) -> Answer {
    Answer::error(
        404,
        "Request_ResourceNotFound",
        &format!(
            "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
        ),
    )
}

/// The user as Graph returns it (no manager unless expanded, never a password).
pub(super) fn public(resource: &Value) -> Value {
    let mut user = resource.clone();
    if let Some(object) = user.as_object_mut() {
        object.remove("manager");
        object.remove("passwordProfile");
    }
    user
}

fn list(shared: &Shared, state: &GraphState, uri: &Uri) -> Answer {
    listing::page(
        shared,
        uri,
        "/users",
        "users",
        state.users.len(),
        |skip, top| {
            state
                .users
                .values()
                .skip(skip)
                .take(top)
                .map(|user| listing::Listed::User(&user.resource))
                .collect()
        },
    )
}

fn complex_password(password: &str) -> bool {
    let classes = [
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_ascii_alphanumeric()),
    ];
    password.chars().count() >= 8 && classes.iter().filter(|c| **c).count() >= 3
}

/// A uniqueness problem of a user's names among the others (indexed, so a tenant of many
/// users answers as fast as an empty one).
fn taken(state: &GraphState, resource: &Value, except: Option<&str>) -> Option<Answer> {
    let lower = |v: &Value| v.as_str().map(str::to_lowercase);
    let other = |index: &HashMap<String, String>, key: &Option<String>| {
        key.as_ref()
            .and_then(|k| index.get(k))
            .is_some_and(|id| Some(id.as_str()) != except)
    };
    let upn = lower(&resource["userPrincipalName"]);
    let mail = lower(&resource["mail"]);
    if other(&state.upns, &upn) {
        return Some(Answer::error(
            400,
            "Request_BadRequest",
            "Another object with the same value for property userPrincipalName already exists.",
        ));
    }
    if other(&state.mails, &mail) || other(&state.upns, &mail) {
        return Some(Answer::error(
            400,
            "Request_BadRequest",
            "Another object with the same value for property proxyAddresses already exists.",
        ));
    }
    None
}

/// Forgets the names of a deleted user.
fn forget_names(state: &mut GraphState, id: &str) {
    state.upns.retain(|_, v| v != id);
    state.mails.retain(|_, v| v != id);
}

fn invalid(property: &str) -> Answer {
    Answer::error(
        400,
        "Request_BadRequest",
        &format!("Invalid value specified for property '{property}' of resource 'User'."),
    )
}

fn create(state: &mut GraphState, origin: &str, body: Option<Value>) -> Answer {
    let Some(Value::Object(mut user)) = body else {
        return Answer::error(400, "BadRequest", "Empty Payload. JSON content expected.");
    };
    if let Err(answer) = schema::check_body(&mut user) {
        return answer;
    }
    if !user.get("accountEnabled").is_some_and(Value::is_boolean) {
        return invalid("accountEnabled");
    }
    for property in ["displayName", "mailNickname", "userPrincipalName"] {
        if user
            .get(property)
            .and_then(Value::as_str)
            .is_none_or(|s| s.trim().is_empty())
        {
            return invalid(property);
        }
    }
    let upn = user["userPrincipalName"].as_str().unwrap_or_default();
    if upn.matches('@').count() != 1 || upn.starts_with('@') || upn.ends_with('@') {
        return invalid("userPrincipalName");
    }
    let Some(password) = user
        .get("passwordProfile")
        .and_then(|p| p["password"].as_str())
        .map(str::to_owned)
    else {
        return invalid("passwordProfile");
    };
    if !complex_password(&password) {
        return Answer::error(
            400,
            "Request_BadRequest",
            "The specified password does not comply with password complexity requirements. Please provide a different password.",
        );
    }
    // Every password received is kept, refused creates' too, for tests that search logs.
    state.passwords.push(password);
    let candidate = Value::Object(user.clone());
    if let Some(answer) = taken(state, &candidate, None) {
        return answer;
    }
    state.sequence += 1;
    let id = format!("00000000-0000-4000-8000-{:012x}", state.sequence);
    user.insert("id".into(), json!(id));
    user.remove("passwordProfile");
    user.remove("manager");
    let resource = store(state, user);
    let mut created = public(&resource);
    created["@odata.context"] = json!(format!("{origin}/v1.0/$metadata#users/$entity"));
    Answer::json(201, created)
}

/// Stores a user that has its `id`: properties a user always has are null (collections `[]`)
/// until set, and its names are indexed.
pub(super) fn store(state: &mut GraphState, mut user: serde_json::Map<String, Value>) -> Value {
    for (property, default) in [
        ("mail", Value::Null),
        ("givenName", Value::Null),
        ("surname", Value::Null),
        ("preferredLanguage", Value::Null),
    ] {
        user.entry(property).or_insert(default);
    }
    for collection in COLLECTIONS {
        user.entry(collection).or_insert(json!([]));
    }
    let resource = Value::Object(user);
    let id = resource["id"].as_str().unwrap_or_default().to_owned();
    state.upns.insert(
        resource["userPrincipalName"]
            .as_str()
            .unwrap_or_default()
            .to_lowercase(),
        id.clone(),
    );
    if let Some(mail) = resource["mail"].as_str() {
        state.mails.insert(mail.to_lowercase(), id.clone());
    }
    state.users.insert(
        id,
        StoredUser {
            resource: resource.clone(),
        },
    );
    resource
}

fn patch(state: &mut GraphState, id: &str, body: Option<Value>) -> Answer {
    let Some(Value::Object(mut changes)) = body else {
        return Answer::error(400, "BadRequest", "Empty Payload. JSON content expected.");
    };
    if changes.contains_key("id") {
        return Answer::error(
            400,
            "Request_BadRequest",
            "Property 'id' is read-only and cannot be set.",
        );
    }
    if let Err(answer) = schema::check_body(&mut changes) {
        return answer;
    }
    let Some(current) = state.users.get(id).map(|u| u.resource.clone()) else {
        return not_found(id);
    };
    let mut updated = current;
    for (key, value) in changes {
        if matches!(key.as_str(), "id" | "manager") {
            return Answer::error(
                400,
                "Request_BadRequest",
                &format!("Property '{key}' is read-only and cannot be set."),
            );
        }
        if key == "accountEnabled" && !value.is_boolean() {
            return invalid("accountEnabled");
        }
        if key == "passwordProfile" {
            if let Some(password) = value["password"].as_str() {
                if !complex_password(password) {
                    return invalid("passwordProfile");
                }
                state.passwords.push(password.to_owned());
            }
            continue;
        }
        match (updated.get_mut(&key), value) {
            (Some(Value::Object(existing)), Value::Object(inner)) => {
                for (k, v) in inner {
                    existing.insert(k, v);
                }
            }
            (_, value) => {
                updated[key.as_str()] = value;
            }
        }
    }
    for property in ["displayName", "mailNickname", "userPrincipalName"] {
        if updated[property].as_str().is_none_or(|s| s.is_empty()) {
            return invalid(property);
        }
    }
    if let Some(answer) = taken(state, &updated, Some(id)) {
        return answer;
    }
    let previous = state.users.get(id).map(|u| u.resource.clone());
    if let Some(previous) = previous {
        let lower = |v: &Value| v.as_str().map(str::to_lowercase);
        for (field, index) in [("userPrincipalName", true), ("mail", false)] {
            let (old, new) = (lower(&previous[field]), lower(&updated[field]));
            if old != new {
                let names = if index {
                    &mut state.upns
                } else {
                    &mut state.mails
                };
                if let Some(old) = old {
                    names.remove(&old);
                }
                if let Some(new) = new {
                    names.insert(new, id.to_owned());
                }
            }
        }
    }
    if let Some(user) = state.users.get_mut(id) {
        user.resource = updated;
    }
    Answer::empty(204)
}
