//! `/groups/{groupKey}` and its members. A group's members are users of the account, other
//! groups, the customer itself (the Admin console's "all users in this domain", type
//! `CUSTOMER`) and people outside the account (type `USER`, no user of the account). With
//! `includeDerivedMembership=true` the listing also holds the members of nested groups and, for
//! a `CUSTOMER` member, every user of the account, while the group and customer entries stay
//! listed; each member is listed once, cycles are harmless. A group key is the group's email
//! address (any case) or its id.

use std::collections::{HashSet, VecDeque};

use axum::{http::Uri, response::Response};
use serde_json::{Value, json};

use super::{
    GoogleState, Shared, api_error, json_response, next_token, page_of, param, query_pairs,
};

/// A group of the account.
#[derive(Clone, Debug, PartialEq)]
pub struct GoogleGroup {
    /// The group's id.
    pub id: String,
    /// Its email address.
    pub email: String,
    /// Its name.
    pub name: String,
    /// Its direct members: ids of users of the account, of other groups (or their addresses),
    /// of people outside the account ([`super::GoogleConfig::outsiders`]), or the customer id.
    pub members: Vec<String>,
}

impl GoogleGroup {
    fn resource(&self) -> Value {
        json!({"kind": "admin#directory#group", "etag": "\"emulator\"", "id": self.id,
               "email": self.email, "name": self.name, "description": "",
               "directMembersCount": self.members.len().to_string(), "adminCreated": true})
    }
}

fn not_found() -> Response {
    api_error(404, "notFound", "Resource Not Found: groupKey")
}

fn find<'a>(state: &'a GoogleState, key: &str) -> Option<&'a GoogleGroup> {
    state.groups.get(key).or_else(|| {
        let key = key.to_lowercase();
        state
            .groups
            .values()
            .find(|g| g.email.to_lowercase() == key)
    })
}

pub(super) fn get(state: &GoogleState, key: &str) -> Response {
    match find(state, key) {
        Some(group) => json_response(200, group.resource()),
        None => not_found(),
    }
}

/// A member as the API shows it; `None` for an id the account does not know.
fn member(shared: &Shared, state: &GoogleState, id: &str) -> Option<Value> {
    let entry = |id: &str, email: Option<&Value>, kind: &str| {
        let mut member = json!({"kind": "admin#directory#member", "etag": "\"emulator\"",
            "id": id, "role": "MEMBER", "type": kind, "status": "ACTIVE"});
        if let Some(email) = email {
            member["email"] = email.clone();
        }
        member
    };
    if let Some(user) = state.users.get(id) {
        return Some(entry(id, user.get("primaryEmail"), "USER"));
    }
    if let Some(group) = find(state, id) {
        return Some(entry(&group.id, Some(&json!(group.email)), "GROUP"));
    }
    if id == shared.config.customer_id {
        return Some(entry(id, None, "CUSTOMER"));
    }
    state
        .outsiders
        .get(id)
        .map(|outsider| entry(id, outsider.get("email"), "USER"))
}

/// The members of a group: the direct ones, and with `derived` those of nested groups and of
/// the customer too, each once.
fn listed(shared: &Shared, state: &GoogleState, group: &GoogleGroup, derived: bool) -> Vec<Value> {
    let mut seen = HashSet::new();
    let mut found = Vec::new();
    let mut queue = VecDeque::from([group.id.clone()]);
    let mut expanded = HashSet::from([group.id.clone()]);
    while let Some(current) = queue.pop_front() {
        let members: Vec<String> = if current == shared.config.customer_id {
            state.users.keys().cloned().collect()
        } else {
            find(state, &current)
                .map(|g| g.members.clone())
                .unwrap_or_default()
        };
        for id in members {
            let Some(member) = member(shared, state, &id) else {
                continue;
            };
            let id = member["id"].as_str().unwrap_or_default().to_owned();
            if !seen.insert(id.clone()) {
                continue;
            }
            if derived && member["type"] != "USER" && expanded.insert(id.clone()) {
                queue.push_back(id);
            }
            found.push(member);
        }
        if !derived {
            break;
        }
    }
    found
}

pub(super) fn members(shared: &Shared, state: &GoogleState, key: &str, uri: &Uri) -> Response {
    let Some(group) = find(state, key) else {
        return not_found();
    };
    let pairs = query_pairs(uri);
    let derived = match param(&pairs, "includeDerivedMembership") {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            return api_error(
                400,
                "invalid",
                "Invalid value for: includeDerivedMembership",
            );
        }
    };
    let (skip, size) = match page_of(shared, &pairs, 200, 200) {
        Ok(page) => page,
        Err(refused) => return *refused,
    };
    let all = listed(shared, state, group, derived);
    let page: Vec<Value> = all.iter().skip(skip).take(size).cloned().collect();
    let mut body = json!({"kind": "admin#directory#members", "etag": "\"emulator\""});
    if !page.is_empty() {
        body["members"] = json!(page);
    }
    if let Some(next) = next_token(shared, skip, size, all.len()) {
        body["nextPageToken"] = json!(next);
    }
    json_response(200, body)
}
