//! The users: stored resources with their indexes (by id, `userName` and `externalId`), the
//! validation and normalisation of what a client sends, and the writes shared by the single-user
//! endpoints and `Bulk` (with `If-Match` and the per-user injected failures).

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value, json};

use super::attrs::{as_bool, get_ci, get_ci_mut, key_ci};
use super::error::{ScimError, invalid_syntax, not_found};
use super::filter::{CompareOp, Container, Filter};
use super::patch::apply_patch;
use super::{ENTERPRISE_USER_SCHEMA, ServerState, Shared, USER_SCHEMA};

pub(super) struct StoredUser {
    pub(super) id: String,
    pub(super) version: u64,
    created: String,
    /// The full resource: `schemas`, `id`, the attributes, `meta`.
    pub(super) resource: Map<String, Value>,
}

#[derive(Default)]
pub(super) struct Store {
    id_prefix: u32,
    next_seq: u64,
    /// By creation order.
    pub(super) users: BTreeMap<u64, StoredUser>,
    by_id: HashMap<String, u64>,
    by_user_name: HashMap<String, u64>,
    by_external_id: HashMap<String, Vec<u64>>,
}

impl Store {
    /// An empty store. Its ids carry a random prefix, so that ids differ from one emulator to
    /// the next.
    pub(super) fn new() -> Store {
        Store {
            id_prefix: fastrand::u32(..),
            ..Store::default()
        }
    }

    pub(super) fn find(&self, id: &str) -> Option<u64> {
        self.by_id.get(id).copied()
    }

    pub(super) fn user_name_taken(&self, name: &str, except: Option<u64>) -> bool {
        self.by_user_name
            .get(&name.to_lowercase())
            .is_some_and(|&seq| Some(seq) != except)
    }

    fn index(&mut self, seq: u64) {
        let resource = &self.users[&seq].resource;
        if let Some(name) = user_name_of(resource) {
            self.by_user_name.insert(name.to_lowercase(), seq);
        }
        if let Some(external) = resource.get("externalId").and_then(Value::as_str) {
            self.by_external_id
                .entry(external.to_string())
                .or_default()
                .push(seq);
        }
    }

    fn unindex(&mut self, seq: u64) {
        let resource = &self.users[&seq].resource;
        if let Some(name) = user_name_of(resource) {
            self.by_user_name.remove(&name.to_lowercase());
        }
        if let Some(external) = resource.get("externalId").and_then(Value::as_str)
            && let Some(seqs) = self.by_external_id.get_mut(external)
        {
            seqs.retain(|&s| s != seq);
            if seqs.is_empty() {
                self.by_external_id.remove(external);
            }
        }
    }

    pub(super) fn insert(&mut self, data: Map<String, Value>, base_url: &str) -> u64 {
        self.next_seq += 1;
        let seq = self.next_seq;
        let id = format!("{:08x}-0000-4000-8000-{seq:012x}", self.id_prefix);
        let now = now_string();
        let resource = build_resource(&id, data, &now, &now, 1, base_url);
        self.users.insert(
            seq,
            StoredUser {
                id: id.clone(),
                version: 1,
                created: now,
                resource,
            },
        );
        self.by_id.insert(id, seq);
        self.index(seq);
        seq
    }

    /// Replaces the attributes; bumps version and lastModified when anything changed.
    fn update(&mut self, seq: u64, data: Map<String, Value>, base_url: &str) {
        if data_of(&self.users[&seq].resource) == data {
            return;
        }
        self.unindex(seq);
        let user = self.users.get_mut(&seq).expect("user exists");
        user.version += 1;
        user.resource = build_resource(
            &user.id,
            data,
            &user.created,
            &now_string(),
            user.version,
            base_url,
        );
        self.index(seq);
    }

    fn remove(&mut self, seq: u64) {
        self.unindex(seq);
        if let Some(user) = self.users.remove(&seq) {
            self.by_id.remove(&user.id);
        }
    }

    /// Users a filter can match, in creation order: narrowed by the indexes when the filter
    /// pins `id`, `userName` or `externalId` with `eq`.
    pub(super) fn candidates(&self, filter: Option<&Filter>) -> Vec<u64> {
        if let Some(filter) = filter
            && let Some(seqs) = self.indexed(filter)
        {
            return seqs;
        }
        self.users.keys().copied().collect()
    }

    fn indexed(&self, filter: &Filter) -> Option<Vec<u64>> {
        match filter {
            Filter::And(a, b) => self.indexed(a).or_else(|| self.indexed(b)),
            Filter::Compare(path, CompareOp::Eq, Value::String(value))
                if path.container == Container::Core && path.sub.is_none() =>
            {
                let attr = path.attr.as_deref()?;
                let mut seqs: Vec<u64> = if attr.eq_ignore_ascii_case("id") {
                    self.by_id.get(value).copied().into_iter().collect()
                } else if attr.eq_ignore_ascii_case("userName") {
                    self.by_user_name
                        .get(&value.to_lowercase())
                        .copied()
                        .into_iter()
                        .collect()
                } else if attr.eq_ignore_ascii_case("externalId") {
                    self.by_external_id.get(value).cloned().unwrap_or_default()
                } else {
                    return None;
                };
                seqs.sort_unstable();
                Some(seqs)
            }
            _ => None,
        }
    }
}

fn now_string() -> String {
    format!("{:.3}", jiff::Timestamp::now())
}

fn build_resource(
    id: &str,
    data: Map<String, Value>,
    created: &str,
    last_modified: &str,
    version: u64,
    base_url: &str,
) -> Map<String, Value> {
    let mut schemas = vec![json!(USER_SCHEMA)];
    if data.contains_key(ENTERPRISE_USER_SCHEMA) {
        schemas.push(json!(ENTERPRISE_USER_SCHEMA));
    }
    let mut resource = Map::new();
    resource.insert("schemas".into(), Value::Array(schemas));
    resource.insert("id".into(), json!(id));
    resource.extend(data);
    resource.insert(
        "meta".into(),
        json!({
            "resourceType": "User",
            "created": created,
            "lastModified": last_modified,
            "location": format!("{base_url}/Users/{id}"),
            "version": format!("W/\"{version}\""),
        }),
    );
    resource
}

/// The client-owned attributes of a stored resource.
fn data_of(resource: &Map<String, Value>) -> Map<String, Value> {
    let mut data = resource.clone();
    for key in ["schemas", "id", "meta"] {
        data.remove(key);
    }
    data
}

pub(super) fn user_name_of(data: &Map<String, Value>) -> Option<&str> {
    get_ci(data, "userName").and_then(Value::as_str)
}

/// Validates and normalises client-given attributes: drops read-only and null values, puts the
/// enterprise extension under its canonical key, accepts `active` (and `primary`) as
/// `"true"`/`"false"` strings, and wants a non-empty string `userName`.
///
/// `default_active` (for POST and PUT, which give the whole resource) makes a missing `active`
/// true; after a PATCH that removed it, it stays unassigned.
pub(super) fn normalise(
    data: &mut Map<String, Value>,
    default_active: bool,
) -> Result<(), ScimError> {
    data.retain(|key, value| {
        !(key.eq_ignore_ascii_case("id")
            || key.eq_ignore_ascii_case("meta")
            || key.eq_ignore_ascii_case("schemas")
            || value.is_null()
            || value.as_array().is_some_and(Vec::is_empty))
    });
    if let Some(key) = key_ci(data, ENTERPRISE_USER_SCHEMA)
        && key != ENTERPRISE_USER_SCHEMA
    {
        let value = data.remove(&key).unwrap_or(Value::Null);
        data.insert(ENTERPRISE_USER_SCHEMA.to_string(), value);
    }
    if let Some(extension) = data.get_mut(ENTERPRISE_USER_SCHEMA) {
        let Some(extension) = extension.as_object_mut() else {
            return Err(ScimError::new(
                400,
                Some("invalidValue"),
                "the enterprise extension must be an object",
            ));
        };
        extension.retain(|_, value| !value.is_null());
        if let Some(key) = key_ci(extension, "manager") {
            match extension.get(&key) {
                Some(Value::String(s)) if s.is_empty() => {
                    extension.remove(&key);
                }
                Some(Value::String(s)) => {
                    let manager = json!({ "value": s });
                    extension.insert(key, manager);
                }
                Some(Value::Object(o)) if o.is_empty() => {
                    extension.remove(&key);
                }
                _ => {}
            }
        }
        if extension.is_empty() {
            data.remove(ENTERPRISE_USER_SCHEMA);
        }
    }
    let active_key = key_ci(data, "active").unwrap_or_else(|| "active".to_string());
    let active = match data.get(&active_key) {
        None => default_active.then_some(true),
        Some(value) => Some(as_bool(value).ok_or_else(|| {
            ScimError::new(
                400,
                Some("invalidValue"),
                format!("active must be a boolean, got {value}"),
            )
        })?),
    };
    if let Some(active) = active {
        data.insert(active_key, Value::Bool(active));
    }
    if let Some(Value::Array(emails)) = get_ci_mut(data, "emails") {
        for email in emails.iter_mut().filter_map(Value::as_object_mut) {
            if let Some(key) = key_ci(email, "primary")
                && let Some(primary) = email.get(&key).and_then(as_bool)
            {
                email.insert(key, Value::Bool(primary));
            }
        }
    }
    match get_ci(data, "userName") {
        Some(Value::String(name)) if !name.trim().is_empty() => Ok(()),
        Some(other) => Err(ScimError::new(
            400,
            Some("invalidValue"),
            format!("userName must be a non-empty string, got {other}"),
        )),
        None => Err(ScimError::new(
            400,
            Some("invalidValue"),
            "userName is required",
        )),
    }
}

fn uniqueness(name: &str) -> ScimError {
    ScimError::new(
        409,
        Some("uniqueness"),
        format!("userName {name:?} is already taken"),
    )
}

fn into_object(body: Value) -> Result<Map<String, Value>, ScimError> {
    match body {
        Value::Object(map) => Ok(map),
        _ => Err(invalid_syntax("a User must be a JSON object")),
    }
}

/// The seat limit ([`super::ScimEmulator::limit_seats`]): a write that would make one user
/// more active than there are seats is refused, the way a provider refuses a user it has no
/// license for. `seq` is the user written, when it exists.
fn check_seats(
    state: &ServerState,
    data: &Map<String, Value>,
    seq: Option<u64>,
) -> Result<(), ScimError> {
    let Some(seats) = state.seats else {
        return Ok(());
    };
    let active = |user: &Map<String, Value>| get_ci(user, "active") == Some(&Value::Bool(true));
    let was_active = seq
        .and_then(|seq| state.store.users.get(&seq))
        .is_some_and(|user| active(&user.resource));
    if !active(data) || was_active {
        return Ok(());
    }
    let taken = state
        .store
        .users
        .values()
        .filter(|user| active(&user.resource))
        .count();
    if taken >= seats {
        return Err(ScimError::new(
            403,
            None,
            format!("license limit reached: all {seats} seats are taken"),
        ));
    }
    Ok(())
}

/// The failure injected for any of these users ([`super::ScimEmulator::fail_user`]).
fn check_fail_user(state: &ServerState, names: &[Option<&str>]) -> Result<(), ScimError> {
    for name in names.iter().flatten() {
        if let Some(&status) = state.fail_users.get(&name.to_lowercase()) {
            return Err(ScimError::new(
                status,
                None,
                format!("injected failure for user {name}"),
            ));
        }
    }
    Ok(())
}

impl Shared {
    pub(super) fn create_user(
        &self,
        state: &mut ServerState,
        body: Value,
    ) -> Result<u64, ScimError> {
        let mut data = into_object(body)?;
        check_fail_user(state, &[user_name_of(&data)])?;
        normalise(&mut data, true)?;
        let name = user_name_of(&data).unwrap_or_default();
        if state.store.user_name_taken(name, None) {
            return Err(uniqueness(name));
        }
        check_seats(state, &data, None)?;
        Ok(state.store.insert(data, &self.base_url))
    }

    pub(super) fn replace_user(
        &self,
        state: &mut ServerState,
        id: &str,
        body: Value,
        if_match: Option<&str>,
    ) -> Result<u64, ScimError> {
        let seq = state
            .store
            .find(id)
            .ok_or_else(|| not_found(&format!("User {id}")))?;
        let user = &state.store.users[&seq];
        self.check_if_match(if_match, user.version)?;
        let mut data = into_object(body)?;
        check_fail_user(state, &[user_name_of(&user.resource), user_name_of(&data)])?;
        normalise(&mut data, true)?;
        let name = user_name_of(&data).unwrap_or_default();
        if state.store.user_name_taken(name, Some(seq)) {
            return Err(uniqueness(name));
        }
        check_seats(state, &data, Some(seq))?;
        state.store.update(seq, data, &self.base_url);
        Ok(seq)
    }

    pub(super) fn patch_user(
        &self,
        state: &mut ServerState,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> Result<u64, ScimError> {
        let seq = state
            .store
            .find(id)
            .ok_or_else(|| not_found(&format!("User {id}")))?;
        let user = &state.store.users[&seq];
        self.check_if_match(if_match, user.version)?;
        check_fail_user(state, &[user_name_of(&user.resource)])?;
        let mut data = data_of(&user.resource);
        apply_patch(&mut data, body)?;
        check_fail_user(state, &[user_name_of(&data)])?;
        normalise(&mut data, false)?;
        let name = user_name_of(&data).unwrap_or_default();
        if state.store.user_name_taken(name, Some(seq)) {
            return Err(uniqueness(name));
        }
        check_seats(state, &data, Some(seq))?;
        state.store.update(seq, data, &self.base_url);
        Ok(seq)
    }

    pub(super) fn delete_user(
        &self,
        state: &mut ServerState,
        id: &str,
        if_match: Option<&str>,
    ) -> Result<(), ScimError> {
        let seq = state
            .store
            .find(id)
            .ok_or_else(|| not_found(&format!("User {id}")))?;
        let user = &state.store.users[&seq];
        self.check_if_match(if_match, user.version)?;
        check_fail_user(state, &[user_name_of(&user.resource)])?;
        state.store.remove(seq);
        Ok(())
    }
}
