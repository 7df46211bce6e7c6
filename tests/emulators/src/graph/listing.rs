//! Paged listings of directory objects (`/users`, a group's members) and what they share with a
//! read of one user: `$select` held to the user resource (Graph's default properties without
//! it), `$expand=manager`, `$top` from 1 to 999 (100 without it) and `@odata.nextLink`
//! carrying a `$skiptoken` and the other options. The fault `repeat_cursor_at` makes that page
//! hand out the link that fetched it.

use axum::extract::Query as AxumQuery;
use axum::http::Uri;
use serde_json::{Value, json};

use super::{Answer, Shared, schema};

/// The properties `GET /users/{id}` (and a listing) returns without `$select`.
pub(super) const DEFAULT_PROPERTIES: [&str; 11] = [
    "businessPhones",
    "displayName",
    "givenName",
    "id",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
];

/// A request's query options, decoded.
pub(super) struct Query(Vec<(String, String)>);

impl Query {
    pub(super) fn of(uri: &Uri) -> Query {
        Query(
            AxumQuery::<Vec<(String, String)>>::try_from_uri(uri)
                .map(|q| q.0)
                .unwrap_or_default(),
        )
    }

    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The properties a `$select` names (the default ones without it); an unknown one is refused.
pub(super) fn selected(select: Option<&str>) -> Result<Vec<String>, Answer> {
    let Some(select) = select else {
        return Ok(DEFAULT_PROPERTIES.iter().map(|&p| p.to_owned()).collect());
    };
    let fields: Vec<String> = select
        .split(',')
        .map(|f| f.trim().to_owned())
        .filter(|f| !f.is_empty())
        .collect();
    match fields.iter().find(|f| !schema::selectable(f)) {
        Some(unknown) => Err(schema::unknown_select(unknown)),
        None => Ok(fields),
    }
}

/// The chosen properties of a user (with its id; null where it has none, `manager` only by
/// `$expand`).
pub(super) fn shown(resource: &Value, fields: &[String]) -> Value {
    let mut shown = json!({"id": resource["id"]});
    for field in fields.iter().filter(|f| *f != "manager") {
        shown[field.as_str()] = resource.get(field.as_str()).cloned().unwrap_or(Value::Null);
    }
    shown
}

/// Whether `$expand` asks for the manager.
pub(super) fn expands_manager(query: &Query) -> bool {
    query
        .get("$expand")
        .is_some_and(|e| e.starts_with("manager"))
}

/// Adds the expanded manager (its id) to a shown user that has one.
pub(super) fn expand_manager(shown: &mut Value, full: &Value) {
    if let Value::String(manager) = &full["manager"]["id"] {
        shown["manager"] = json!({"@odata.type": "#microsoft.graph.user", "id": manager});
    }
}

/// One object of a listing.
pub(super) enum Listed<'a> {
    /// A user, shown with the selected properties.
    User(&'a Value),
    /// A user in a list of directory objects: shown with its `@odata.type` too.
    TypedUser(&'a Value),
    /// Another directory object (a group, a device, a service principal), shown with its
    /// `@odata.type`, id and display name.
    Other(&'a Value),
}

/// A page of a listing of `total` objects, `objects(skip, top)` giving the ones a page shows:
/// `path` is the listing's path under `/v1.0` (for its next link) and `context` what its
/// `@odata.context` names (`users`, `directoryObjects`).
pub(super) fn page<'a>(
    shared: &Shared,
    uri: &Uri,
    path: &str,
    context: &str,
    total: usize,
    objects: impl FnOnce(usize, usize) -> Vec<Listed<'a>>,
) -> Answer {
    let query = Query::of(uri);
    if query.get("$filter").is_some() {
        return Answer::error(
            400,
            "Request_UnsupportedQuery",
            "This emulator supports no $filter.",
        );
    }
    let top = match query.get("$top").map(str::parse::<usize>) {
        None => 100,
        Some(Ok(top)) if (1..=999).contains(&top) => top.min(shared.config.max_page_size.max(1)),
        _ => {
            return Answer::error(
                400,
                "Request_BadRequest",
                "Invalid page size specified: $top must be between 1 and 999.",
            );
        }
    };
    let skip = match query.get("$skiptoken").map(str::parse::<usize>) {
        None => 0,
        Some(Ok(skip)) => skip,
        Some(Err(_)) => {
            return Answer::error(400, "Request_BadRequest", "Invalid $skiptoken.");
        }
    };
    let fields = match selected(query.get("$select")) {
        Ok(fields) => fields,
        Err(answer) => return answer,
    };
    let expand = expands_manager(&query);
    let value: Vec<Value> = objects(skip, top)
        .into_iter()
        .map(|object| match object {
            Listed::User(full) | Listed::TypedUser(full) => {
                let mut user = shown(full, &fields);
                if expand {
                    expand_manager(&mut user, full);
                }
                if matches!(object, Listed::TypedUser(_)) {
                    user["@odata.type"] = json!("#microsoft.graph.user");
                }
                user
            }
            Listed::Other(other) => json!({
                "@odata.type": other["@odata.type"],
                "id": other["id"],
                "displayName": other.get("displayName").cloned().unwrap_or(Value::Null),
            }),
        })
        .collect();
    let mut body = json!({
        "@odata.context": format!("{}/v1.0/$metadata#{context}", shared.origin),
        "value": value,
    });
    if skip + top < total {
        let repeated = shared.config.faults.repeat_cursor_at == Some(skip / top);
        let next_skip = if repeated { skip } else { skip + top };
        let mut next = format!(
            "{}/v1.0{path}?$top={top}&$skiptoken={next_skip}",
            shared.origin
        );
        for option in ["$select", "$expand"] {
            if let Some(value) = query.get(option) {
                next.push_str(&format!("&{option}={value}"));
            }
        }
        body["@odata.nextLink"] = json!(next);
    }
    Answer::json(200, body)
}
