//! `/v1.0/groups/{id}` and its transitive members: the flattened membership of the group and
//! of every group nested in it (each object once, cycles harmless), listed with their
//! `@odata.type`, or through an OData cast (`/microsoft.graph.user`, or the alias `/graph.user`;
//! likewise `group`, `device`, `servicePrincipal`, `orgContact`) only the objects of that type.
//! Users listed through the cast are shown like `/users` shows them, paged the same way.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

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
    let mut state = shared.lock();
    let Some(group) = segments.get(1).and_then(|id| state.groups.get(*id)) else {
        return not_found(segments.get(1).copied().unwrap_or_default());
    };
    let group = group.clone();
    let kind = match segments.as_slice() {
        ["groups", _] => {
            let mut shown = group.resource();
            shown["@odata.context"] =
                json!(format!("{}/v1.0/$metadata#groups/$entity", shared.origin));
            return Answer::json(200, shown);
        }
        ["groups", _, "transitiveMembers"] => None,
        ["groups", _, "transitiveMembers", cast] => match cast
            .strip_prefix("microsoft.graph.")
            .or_else(|| cast.strip_prefix("graph."))
        {
            Some(kind) => Some(kind.to_owned()),
            None => {
                return Answer::error(
                    400,
                    "Request_BadRequest",
                    &format!(
                        "Unsupported segment '{cast}': cast to a type such as microsoft.graph.user."
                    ),
                );
            }
        },
        _ => {
            return Answer::error(
                400,
                "BadRequest",
                "Unsupported segment or method for this emulator.",
            );
        }
    };
    let members = memberships(&mut state, &group.id, kind.as_deref());
    let context = match kind.as_deref() {
        Some("user") => "users",
        _ => "directoryObjects",
    };
    let state = &*state;
    listing::page(shared, uri, path, context, members.len(), |skip, top| {
        members
            .iter()
            .skip(skip)
            .take(top)
            .map(|id| match (state.users.get(id), kind.is_some()) {
                (Some(user), true) => Listed::User(&user.resource),
                (Some(user), false) => Listed::TypedUser(&user.resource),
                (None, _) => Listed::Other(&state.objects[id]),
            })
            .collect()
    })
}

/// The ids of a group's transitive members of `kind` (`user`, `device`, …; every kind when
/// `None`), kept until the next write.
fn memberships(state: &mut GraphState, group: &str, kind: Option<&str>) -> Arc<Vec<String>> {
    let key = format!("{group}/{}", kind.unwrap_or_default());
    if let Some(members) = state.memberships.get(&key) {
        return members.clone();
    }
    let type_name = kind.map(|kind| format!("#microsoft.graph.{kind}"));
    let members: Vec<String> = transitive_members(state, group)
        .into_iter()
        .filter(|id| match &type_name {
            None => true,
            Some(_) if state.users.contains_key(id) => kind == Some("user"),
            Some(type_name) => state.objects[id]["@odata.type"] == *type_name,
        })
        .collect();
    let members = Arc::new(members);
    state.memberships.insert(key, members.clone());
    members
}

/// The ids of a group's members and of its nested groups' members, each once, in id order
/// (nested groups themselves included, as Graph lists them).
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
