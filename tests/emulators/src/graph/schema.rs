//! The properties of a Graph `user` (v1.0) and their types, as Graph's documentation of the user
//! resource lists them: this emulator's own copy. A create or update naming a property a user
//! does not have, or giving one a value of another type, is refused the way Graph refuses it;
//! so is a `$select` of an unknown property. Instance annotations (`@odata.type`) are accepted
//! and not stored. Directory extension properties (`extension_<app id>_<name>`) are strings.

use serde_json::Value;

use super::Answer;

/// The type of a user property.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Text,
    Bool,
    TextList,
    /// `Edm.DateTimeOffset`: an ISO 8601 date and time with its offset.
    DateTime,
    /// A complex type with these properties, each text (or null) unless listed as boolean.
    Complex(&'static [&'static str], &'static [&'static str]),
    /// A navigation property: set through its `$ref`, never in a body.
    Navigation,
}

const PASSWORD_PROFILE: Kind = Kind::Complex(
    &["password"],
    &[
        "forceChangePasswordNextSignIn",
        "forceChangePasswordNextSignInWithMfa",
    ],
);
const EMPLOYEE_ORG_DATA: Kind = Kind::Complex(&["division", "costCenter"], &[]);
const EXTENSION_ATTRIBUTES: Kind = Kind::Complex(
    &[
        "extensionAttribute1",
        "extensionAttribute2",
        "extensionAttribute3",
        "extensionAttribute4",
        "extensionAttribute5",
        "extensionAttribute6",
        "extensionAttribute7",
        "extensionAttribute8",
        "extensionAttribute9",
        "extensionAttribute10",
        "extensionAttribute11",
        "extensionAttribute12",
        "extensionAttribute13",
        "extensionAttribute14",
        "extensionAttribute15",
    ],
    &[],
);

const PROPERTIES: &[(&str, Kind)] = &[
    ("aboutMe", Kind::Text),
    ("accountEnabled", Kind::Bool),
    ("ageGroup", Kind::Text),
    ("birthday", Kind::DateTime),
    ("businessPhones", Kind::TextList),
    ("city", Kind::Text),
    ("companyName", Kind::Text),
    ("consentProvidedForMinor", Kind::Text),
    ("country", Kind::Text),
    ("createdDateTime", Kind::DateTime),
    ("creationType", Kind::Text),
    ("deletedDateTime", Kind::DateTime),
    ("department", Kind::Text),
    ("displayName", Kind::Text),
    ("employeeHireDate", Kind::DateTime),
    ("employeeId", Kind::Text),
    ("employeeLeaveDateTime", Kind::DateTime),
    ("employeeOrgData", EMPLOYEE_ORG_DATA),
    ("employeeType", Kind::Text),
    ("externalUserState", Kind::Text),
    ("faxNumber", Kind::Text),
    ("givenName", Kind::Text),
    ("hireDate", Kind::DateTime),
    ("id", Kind::Text),
    ("imAddresses", Kind::TextList),
    ("interests", Kind::TextList),
    ("jobTitle", Kind::Text),
    ("mail", Kind::Text),
    ("mailNickname", Kind::Text),
    ("manager", Kind::Navigation),
    ("mobilePhone", Kind::Text),
    ("mySite", Kind::Text),
    ("officeLocation", Kind::Text),
    ("onPremisesExtensionAttributes", EXTENSION_ATTRIBUTES),
    ("onPremisesImmutableId", Kind::Text),
    ("otherMails", Kind::TextList),
    ("passwordPolicies", Kind::Text),
    ("passwordProfile", PASSWORD_PROFILE),
    ("pastProjects", Kind::TextList),
    ("postalCode", Kind::Text),
    ("preferredDataLocation", Kind::Text),
    ("preferredLanguage", Kind::Text),
    ("preferredName", Kind::Text),
    ("proxyAddresses", Kind::TextList),
    ("responsibilities", Kind::TextList),
    ("schools", Kind::TextList),
    ("skills", Kind::TextList),
    ("state", Kind::Text),
    ("streetAddress", Kind::Text),
    ("surname", Kind::Text),
    ("usageLocation", Kind::Text),
    ("userPrincipalName", Kind::Text),
    ("userType", Kind::Text),
];

/// Collections a user always has: `[]` until set, never null.
pub(super) const COLLECTIONS: [&str; 9] = [
    "businessPhones",
    "imAddresses",
    "interests",
    "otherMails",
    "pastProjects",
    "proxyAddresses",
    "responsibilities",
    "schools",
    "skills",
];

/// A directory extension property: `extension_<app id without dashes>_<name>`.
fn is_extension(name: &str) -> bool {
    name.strip_prefix("extension_")
        .and_then(|rest| rest.split_once('_'))
        .is_some_and(|(app, property)| {
            app.len() == 32 && app.bytes().all(|b| b.is_ascii_hexdigit()) && !property.is_empty()
        })
}

fn kind(name: &str) -> Option<Kind> {
    if is_extension(name) {
        return Some(Kind::Text);
    }
    PROPERTIES
        .iter()
        .find(|(property, _)| *property == name)
        .map(|(_, kind)| *kind)
}

/// Whether `name` can be `$select`ed.
pub(super) fn selectable(name: &str) -> bool {
    kind(name).is_some()
}

/// The answer to a `$select` naming an unknown property.
pub(super) fn unknown_select(name: &str) -> Answer {
    Answer::error(
        400,
        "BadRequest",
        &format!(
            "Parsing OData Select and Expand failed: Could not find a property named '{name}' on type 'microsoft.graph.user'."
        ),
    )
}

fn date_time(text: &str) -> bool {
    text.parse::<jiff::Timestamp>().is_ok()
}

fn convert_error(value: &Value, edm: &str) -> Answer {
    Answer::error(
        400,
        "BadRequest",
        &format!("Cannot convert the literal '{value}' to the expected type '{edm}'."),
    )
}

fn check_value(name: &str, kind: Kind, value: &Value) -> Result<(), Answer> {
    let fits = match (kind, value) {
        (Kind::Navigation, _) => {
            return Err(Answer::error(
                400,
                "Request_BadRequest",
                &format!("Property '{name}' is read-only and cannot be set."),
            ));
        }
        (_, Value::Null) => true,
        (Kind::Text, Value::String(_)) | (Kind::Bool, Value::Bool(_)) => true,
        (Kind::TextList, Value::Array(items)) => items.iter().all(Value::is_string),
        (Kind::DateTime, Value::String(text)) => date_time(text),
        (Kind::Complex(texts, bools), Value::Object(inner)) => {
            for (key, value) in inner {
                if key.starts_with('@') {
                    continue;
                }
                let inner_kind = if texts.contains(&key.as_str()) {
                    Kind::Text
                } else if bools.contains(&key.as_str()) {
                    Kind::Bool
                } else {
                    return Err(unknown_property(key));
                };
                check_value(key, inner_kind, value)?;
            }
            true
        }
        _ => false,
    };
    if fits {
        return Ok(());
    }
    let edm = match kind {
        Kind::Text => "Edm.String",
        Kind::Bool => "Edm.Boolean",
        Kind::TextList => "Collection(Edm.String)",
        Kind::DateTime => "Edm.DateTimeOffset",
        Kind::Complex(..) | Kind::Navigation => "a complex value",
    };
    Err(convert_error(value, edm))
}

fn unknown_property(name: &str) -> Answer {
    Answer::error(
        400,
        "Request_BadRequest",
        &format!("Property '{name}' does not exist as a declared property or extension property."),
    )
}

/// Checks the properties of a create or update body, and drops its instance annotations
/// (`@odata.type`), which are not stored.
pub(super) fn check_body(body: &mut serde_json::Map<String, Value>) -> Result<(), Answer> {
    body.retain(|key, _| !key.starts_with('@'));
    for (name, value) in body.iter() {
        let kind = kind(name).ok_or_else(|| unknown_property(name))?;
        check_value(name, kind, value)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(body: Value) -> Result<Value, (u16, String)> {
        let Value::Object(mut body) = body else {
            panic!("an object")
        };
        check_body(&mut body)
            .map(|()| Value::Object(body))
            .map_err(|a| (a.status, a.body.unwrap()["error"]["message"].to_string()))
    }

    #[test]
    fn bodies_are_held_to_the_user_resource() {
        assert!(
            check(
                json!({"jobTitle": "CTO", "accountEnabled": true, "businessPhones": ["1"],
                "employeeHireDate": "2026-03-01T00:00:00Z", "employeeOrgData": {"division": "R&D"},
                "onPremisesExtensionAttributes": {"extensionAttribute3": "hr:1"},
                "extension_0123456789abcdef0123456789abcdef_employeeKey": "x",
                "passwordProfile": {"password": "x", "forceChangePasswordNextSignIn": true},
                "department": null})
            )
            .is_ok()
        );
        for (body, names) in [
            (json!({"jobTitel": "CTO"}), "jobTitel"),
            (json!({"employeeId": 5}), "Edm.String"),
            (
                json!({"employeeHireDate": "2026-03-01"}),
                "Edm.DateTimeOffset",
            ),
            (json!({"accountEnabled": "true"}), "Edm.Boolean"),
            (json!({"businessPhones": "1"}), "Collection"),
            (json!({"employeeOrgData": {"divison": "R&D"}}), "divison"),
            (json!({"manager": {"id": "x"}}), "read-only"),
            (json!({"extension_123_x": "x"}), "extension_123_x"),
        ] {
            let (status, message) = check(body.clone()).unwrap_err();
            assert_eq!(status, 400, "{body}");
            assert!(message.contains(names), "{body}: {message}");
        }
        assert_eq!(
            check(json!({"@odata.type": "#microsoft.graph.user", "jobTitle": "CTO"})).unwrap(),
            json!({"jobTitle": "CTO"})
        );
    }
}
