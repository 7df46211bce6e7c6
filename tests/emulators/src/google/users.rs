//! `/users`: listings (all of a customer's users, or of an organizational unit and the units
//! below it), a user by id or primary email, and the writes: insert, update with patch
//! semantics, delete.

use axum::{
    http::{StatusCode, Uri},
    response::{IntoResponse, Response},
};
use serde_json::{Map, Value, json};

use super::{
    GoogleState, Shared, api_error, json_response, next_token, page_of, param, query_pairs,
};

/// The fields of a user resource (Directory API `User`): a request body naming any other is
/// refused, as Google refuses an unknown name in a JSON payload.
const USER_FIELDS: [&str; 45] = [
    "addresses",
    "agreedToTerms",
    "aliases",
    "archived",
    "changePasswordAtNextLogin",
    "creationTime",
    "customSchemas",
    "customerId",
    "deletionTime",
    "emails",
    "etag",
    "externalIds",
    "gender",
    "hashFunction",
    "id",
    "ims",
    "includeInGlobalAddressList",
    "ipWhitelisted",
    "isAdmin",
    "isDelegatedAdmin",
    "isEnforcedIn2Sv",
    "isEnrolledIn2Sv",
    "isMailboxSetup",
    "keywords",
    "kind",
    "languages",
    "lastLoginTime",
    "locations",
    "name",
    "nonEditableAliases",
    "notes",
    "orgUnitPath",
    "organizations",
    "password",
    "phones",
    "posixAccounts",
    "primaryEmail",
    "recoveryEmail",
    "recoveryPhone",
    "relations",
    "sshPublicKeys",
    "suspended",
    "suspensionReason",
    "thumbnailPhotoUrl",
    "websites",
];

/// The first field of a user body that a user resource does not have.
fn unknown_field(user: &Map<String, Value>) -> Option<&str> {
    user.keys()
        .map(String::as_str)
        .find(|field| !USER_FIELDS.contains(field))
}

fn unknown_name(field: &str) -> Response {
    api_error(
        400,
        "invalid",
        &format!(
            "Invalid JSON payload received. Unknown name \"{field}\" at 'resource': Cannot find field."
        ),
    )
}

/// The refusal of a user without a given or a family name.
fn unnamed(user: &Map<String, Value>) -> Option<Response> {
    let name = user.get("name");
    let missing = ["givenName", "familyName"].into_iter().find(|field| {
        name.and_then(|n| n[*field].as_str())
            .is_none_or(|s| s.trim().is_empty())
    })?;
    let label = if missing == "givenName" {
        "GivenName"
    } else {
        "FamilyName"
    };
    Some(api_error(
        400,
        "invalid",
        &format!("Invalid Given/Family Name: {label}"),
    ))
}

fn not_found() -> Response {
    api_error(404, "notFound", "Resource Not Found: userKey")
}

/// Stores a user an administrator made (with its `id` when it has one). Returns its id.
pub(super) fn seed(state: &mut GoogleState, mut user: Map<String, Value>) -> String {
    let id = match user.get("id").and_then(Value::as_str) {
        Some(id) => id.to_owned(),
        None => {
            state.sequence += 1;
            format!("1{:020}", state.sequence)
        }
    };
    user.insert("id".into(), json!(id));
    user.entry("kind").or_insert(json!("admin#directory#user"));
    user.entry("orgUnitPath").or_insert(json!("/"));
    user.entry("suspended").or_insert(json!(false));
    user.entry("archived").or_insert(json!(false));
    full_name(&mut user);
    add_org_unit(state, user["orgUnitPath"].as_str().unwrap_or("/"));
    state.users.insert(id.clone(), Value::Object(user));
    id
}

/// Records an organizational unit and its parents.
pub(super) fn add_org_unit(state: &mut GoogleState, path: &str) {
    let mut unit = path.trim_end_matches('/').to_lowercase();
    while !unit.is_empty() {
        state.org_units.insert(unit.clone());
        unit.truncate(unit.rfind('/').unwrap_or(0));
    }
    state.org_units.insert("/".into());
}

fn find(state: &GoogleState, key: &str) -> Option<String> {
    if state.users.contains_key(key) {
        return Some(key.to_owned());
    }
    let key = key.to_lowercase();
    state
        .users
        .iter()
        .find(|(_, u)| u["primaryEmail"].as_str().map(str::to_lowercase) == Some(key.clone()))
        .map(|(id, _)| id.clone())
}

fn email_taken(state: &GoogleState, email: &str, except: Option<&str>) -> bool {
    let email = email.to_lowercase();
    state.users.iter().any(|(id, u)| {
        Some(id.as_str()) != except
            && u["primaryEmail"].as_str().map(str::to_lowercase) == Some(email.clone())
    })
}

pub(super) fn get(state: &GoogleState, key: &str) -> Response {
    match find(state, key) {
        Some(id) => json_response(200, state.users[&id].clone()),
        None => not_found(),
    }
}

pub(super) fn delete(state: &mut GoogleState, key: &str) -> Response {
    match find(state, key) {
        Some(id) => {
            state.users.remove(&id);
            StatusCode::NO_CONTENT.into_response()
        }
        None => not_found(),
    }
}

/// The organizational unit a search `query` names: `orgUnitPath='/Sales'` (quotes and
/// backslashes escaped with a backslash inside) or `orgUnitPath=/Sales`. `Err` for any other
/// query, which this emulator does not search by.
fn org_unit_of(query: &str) -> Result<String, ()> {
    let value = query.trim().strip_prefix("orgUnitPath=").ok_or(())?;
    let Some(quoted) = value.strip_prefix('\'') else {
        return match value.contains(char::is_whitespace) || value.is_empty() {
            true => Err(()),
            false => Ok(value.to_owned()),
        };
    };
    let mut path = String::new();
    let mut chars = quoted.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => path.push(chars.next().ok_or(())?),
            '\'' => {
                return match chars.as_str().trim().is_empty() {
                    true => Ok(path),
                    false => Err(()),
                };
            }
            c => path.push(c),
        }
    }
    Err(())
}

/// Whether a user's unit is `unit` or below it (`unit` lower case).
fn in_unit(user: &Value, unit: &str) -> bool {
    let path = user["orgUnitPath"].as_str().unwrap_or("/").to_lowercase();
    unit == "/" || path == unit || path.starts_with(&format!("{unit}/"))
}

pub(super) fn list(shared: &Shared, state: &GoogleState, uri: &Uri) -> Response {
    let pairs = query_pairs(uri);
    let customer = param(&pairs, "customer");
    if customer.is_none() && param(&pairs, "domain").is_none() {
        return api_error(400, "badRequest", "Bad Request");
    }
    if let Some(customer) = customer
        && customer != "my_customer"
        && customer != shared.config.customer_id
    {
        return api_error(400, "badRequest", "Bad Request");
    }
    let unit = match param(&pairs, "query").map(org_unit_of) {
        None => None,
        Some(Ok(unit)) => Some(unit.trim_end_matches('/').to_lowercase()),
        Some(Err(())) => return api_error(400, "invalid", "Invalid Input: query"),
    };
    let unit = unit.map(|u| if u.is_empty() { "/".to_owned() } else { u });
    if let Some(unit) = &unit
        && !state.org_units.contains(unit)
    {
        return api_error(400, "invalid", "Invalid Input: INVALID_OU_ID");
    }
    let (skip, size) = match page_of(shared, &pairs, 100, 500) {
        Ok(page) => page,
        Err(refused) => return *refused,
    };
    let matching: Vec<&Value> = state
        .users
        .values()
        .filter(|user| unit.as_deref().is_none_or(|unit| in_unit(user, unit)))
        .collect();
    let users: Vec<Value> = matching
        .iter()
        .skip(skip)
        .take(size)
        .map(|u| (*u).clone())
        .collect();
    // Google leaves an empty list out.
    let mut body = json!({"kind": "admin#directory#users", "etag": "\"emulator\""});
    if !users.is_empty() {
        body["users"] = json!(users);
    }
    if let Some(next) = next_token(shared, skip, size, matching.len()) {
        body["nextPageToken"] = json!(next);
    }
    json_response(200, body)
}

pub(super) fn insert(state: &mut GoogleState, body: Option<Value>) -> Response {
    let Some(Value::Object(mut user)) = body else {
        return api_error(400, "parseError", "Parse Error");
    };
    if let Some(field) = unknown_field(&user) {
        return unknown_name(field);
    }
    let email = user
        .get("primaryEmail")
        .and_then(Value::as_str)
        .filter(|e| e.contains('@'))
        .map(str::to_owned);
    let Some(email) = email else {
        return api_error(400, "invalid", "Invalid Input: primary_user_email");
    };
    if let Some(refused) = unnamed(&user) {
        return refused;
    }
    let Some(password) = user
        .get("password")
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        return api_error(400, "invalid", "Invalid Password");
    };
    if password.chars().count() < 8 {
        return api_error(400, "invalid", "Invalid Password");
    }
    if email_taken(state, &email, None) {
        return api_error(409, "duplicate", "Entity already exists.");
    }
    if let Some(path) = user.get("orgUnitPath").and_then(Value::as_str)
        && !path.starts_with('/')
    {
        return api_error(400, "invalid", "Invalid Input: orgUnitPath");
    }
    state.passwords.push(password);
    user.remove("password");
    user.remove("hashFunction");
    user.remove("id");
    user.insert("isAdmin".into(), json!(false));
    let id = seed(state, user);
    json_response(200, state.users[&id].clone())
}

fn full_name(user: &mut Map<String, Value>) {
    if let Some(Value::Object(name)) = user.get_mut("name") {
        let full = format!(
            "{} {}",
            name.get("givenName")
                .and_then(Value::as_str)
                .unwrap_or_default(),
            name.get("familyName")
                .and_then(Value::as_str)
                .unwrap_or_default()
        );
        name.insert("fullName".into(), json!(full.trim()));
    }
}

pub(super) fn update(state: &mut GoogleState, key: &str, body: Option<Value>) -> Response {
    let Some(id) = find(state, key) else {
        return not_found();
    };
    let Some(Value::Object(changes)) = body else {
        return api_error(400, "parseError", "Parse Error");
    };
    if let Some(field) = unknown_field(&changes) {
        return unknown_name(field);
    }
    let Some(Value::Object(mut user)) = state.users.get(&id).cloned() else {
        return not_found();
    };
    for (field, value) in changes {
        match field.as_str() {
            "id" | "kind" | "isAdmin" => continue,
            "password" => {
                if let Some(password) = value.as_str() {
                    if password.chars().count() < 8 {
                        return api_error(400, "invalid", "Invalid Password");
                    }
                    state.passwords.push(password.to_owned());
                }
                continue;
            }
            "primaryEmail" => {
                let Some(email) = value.as_str().filter(|e| e.contains('@')) else {
                    return api_error(400, "invalid", "Invalid Input: primary_user_email");
                };
                if email_taken(state, email, Some(&id)) {
                    return api_error(409, "duplicate", "Entity already exists.");
                }
            }
            "suspended" if !value.is_boolean() => {
                return api_error(400, "invalid", "Invalid Input: suspended");
            }
            "orgUnitPath" if !value.as_str().is_some_and(|p| p.starts_with('/')) => {
                return api_error(400, "invalid", "Invalid Input: orgUnitPath");
            }
            _ => {}
        }
        match (user.get_mut(&field), value) {
            (Some(Value::Object(existing)), Value::Object(inner)) => {
                for (k, v) in inner {
                    if v.is_null() {
                        existing.remove(&k);
                    } else {
                        existing.insert(k, v);
                    }
                }
            }
            (_, Value::Null) => {
                user.remove(&field);
            }
            (_, value) => {
                user.insert(field, value);
            }
        }
    }
    if let Some(refused) = unnamed(&user) {
        return refused;
    }
    full_name(&mut user);
    if let Some(path) = user.get("orgUnitPath").and_then(Value::as_str) {
        let path = path.to_owned();
        add_org_unit(state, &path);
    }
    let resource = Value::Object(user);
    state.users.insert(id, resource.clone());
    json_response(200, resource)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_may_name_only_fields_of_a_user() {
        let body = |v: Value| v.as_object().unwrap().clone();
        assert_eq!(
            unknown_field(&body(json!({"primaryEmail": "a@x.example", "name": {},
                "organizations": [], "orgUnitPath": "/", "suspended": false}))),
            None
        );
        // The form a mapping like `organizations[primary].title` would write.
        assert_eq!(
            unknown_field(&body(json!({"organizations[primary]": {"title": "CTO"}}))),
            Some("organizations[primary]")
        );
        assert_eq!(
            unknown_field(&body(json!({"jobTitle": "CTO"}))),
            Some("jobTitle")
        );
    }

    #[test]
    fn a_query_names_an_organizational_unit_quoted_or_not() {
        assert_eq!(org_unit_of("orgUnitPath='/Sales'"), Ok("/Sales".into()));
        assert_eq!(org_unit_of("orgUnitPath=/Sales"), Ok("/Sales".into()));
        assert_eq!(
            org_unit_of("orgUnitPath='/Sales Team/O\\'Brien'"),
            Ok("/Sales Team/O'Brien".into())
        );
        assert_eq!(org_unit_of("orgUnitPath='/Sales"), Err(()));
        assert_eq!(org_unit_of("orgUnitPath='/a' isSuspended=true"), Err(()));
        assert_eq!(org_unit_of("givenName:Ada"), Err(()));
        let user = json!({"orgUnitPath": "/Staff/Engineering"});
        assert!(in_unit(&user, "/staff"));
        assert!(in_unit(&user, "/staff/engineering"));
        assert!(in_unit(&user, "/"));
        assert!(!in_unit(&user, "/staff/eng"));
        assert!(!in_unit(&json!({"orgUnitPath": "/Staffing"}), "/staff"));
    }
}
