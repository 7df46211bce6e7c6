//! `/v1.0/groups/{id}` and its transitive members: the flattened membership of the group and
//! of every group nested in it (each object once, cycles harmless), listed with their
//! `@odata.type`, or through an OData cast (`/microsoft.graph.user`, or the alias `/graph.user`;
//! likewise `group`, `device`, `servicePrincipal`, `orgContact`) only the objects of that type.
//! Users listed through the cast are shown like `/users` shows them, paged the same way.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use axum::http::{Method, Uri};
use serde_json::{Value, json};

use super::listing::{self, Listed};
use super::users::{not_found, percent_decoded};
use super::{Answer, GraphState, Shared};

/// A group of the tenant.
#[derive(Clone, Debug, PartialEq)]
pub struct GraphGroup {
    /// Object id.
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// Object ids of its direct members: users, groups and other directory objects.
    pub members: Vec<String>,
}

impl GraphGroup {
    /// The group as Graph shows it.
    fn resource(&self) -> Value {
        json!({"@odata.type": "#microsoft.graph.group", "id": self.id,
               "displayName": self.display_name, "description": null, "groupTypes": [],
               "securityEnabled": true, "mailEnabled": false})
    }
}

pub(super) fn resource(shared: &Shared, method: &Method, path: &str, uri: &Uri) -> Answer {
    let segments: Vec<String> = path
        .trim_matches('/')
        .split('/')
        .map(percent_decoded)
        .collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    if *method != Method::GET {
        return Answer::error(400, "BadRequest", "This emulator only reads groups.");
    }
    let state = shared.lock();
    let group = match segments.get(1).and_then(|id| state.groups.get(*id)) {
        Some(group) => group,
        None => return not_found(segments.get(1).copied().unwrap_or_default()),
    };
    match segments.as_slice() {
        ["groups", _] => {
            let mut shown = group.resource();
            shown["@odata.context"] =
                json!(format!("{}/v1.0/$metadata#groups/$entity", shared.origin));
            Answer::json(200, shown)
        }
        ["groups", _, "transitiveMembers"] => {
            let members = transitive_members(&state, &group.id);
            let listed = members
                .iter()
                .map(|member| listed(&state, member))
                .collect();
            listing::page(shared, uri, path, "directoryObjects", listed)
        }
        ["groups", _, "transitiveMembers", cast] => {
            let Some(kind) = cast
                .strip_prefix("microsoft.graph.")
                .or_else(|| cast.strip_prefix("graph."))
            else {
                return Answer::error(
                    400,
                    "Request_BadRequest",
                    &format!(
                        "Unsupported segment '{cast}': cast to a type such as microsoft.graph.user."
                    ),
                );
            };
            let type_name = format!("#microsoft.graph.{kind}");
            let members = transitive_members(&state, &group.id);
            let listed: Vec<Listed<'_>> = members
                .iter()
                .map(|member| listed(&state, member))
                .filter(|object| match object {
                    Listed::User(_) | Listed::TypedUser(_) => kind == "user",
                    Listed::Other(other) => other["@odata.type"] == type_name,
                })
                .map(|object| match object {
                    Listed::TypedUser(user) => Listed::User(user),
                    other => other,
                })
                .collect();
            let context = if kind == "user" {
                "users"
            } else {
                "directoryObjects"
            };
            listing::page(shared, uri, path, context, listed)
        }
        _ => Answer::error(
            400,
            "BadRequest",
            "Unsupported segment or method for this emulator.",
        ),
    }
}

/// A member as a listing shows it.
fn listed<'a>(state: &'a GraphState, id: &str) -> Listed<'a> {
    match state.users.get(id) {
        Some(user) => Listed::TypedUser(&user.resource),
        None => Listed::Other(
            state
                .objects
                .get(id)
                .expect("transitive members are known objects"),
        ),
    }
}

/// The ids of a group's members and of its nested groups' members, each once, in id order
/// (nested groups themselves included, as Graph lists them). Groups are shown as objects.
fn transitive_members(state: &GraphState, group: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut visited = BTreeSet::from([group.to_owned()]);
    let mut queue = VecDeque::from([group.to_owned()]);
    while let Some(current) = queue.pop_front() {
        let Some(group) = state.groups.get(&current) else {
            continue;
        };
        for member in &group.members {
            let known = state.users.contains_key(member) || state.objects.contains_key(member);
            if known {
                found.insert(member.clone());
            }
            if state.groups.contains_key(member) && visited.insert(member.clone()) {
                queue.push_back(member.clone());
            }
        }
    }
    found
}

/// Stores the groups, each also as a directory object other groups can hold.
pub(super) fn seed(
    groups: &mut BTreeMap<String, GraphGroup>,
    objects: &mut BTreeMap<String, Value>,
    seeded: &[GraphGroup],
) {
    for group in seeded {
        objects.insert(group.id.clone(), group.resource());
        groups.insert(group.id.clone(), group.clone());
    }
}
