//! One Directory API user as a canonical employee: the view of a user in which each list Google
//! keeps is one entry, the mapping, and a fetch's users with their managers resolved by address.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::super::{
    rows::{self, Columns},
    values::{email_problem, has_line_break},
};
use crate::sync::{
    model::{
        AddressPart, AddressType, Email, EmailType, Employee, EmploymentStatus, PhoneType,
        RecordError,
    },
    ports::source::SourcePage,
};

/// Which field of a user's [`view`] feeds which canonical field, with `custom` (canonical name
/// → path) as custom fields. The addresses, the status and the manager are read apart
/// ([`read_user`], [`GoogleSource`]).
pub fn columns(custom: Vec<(String, String)>) -> Columns {
    let some = |s: &str| Some(s.to_owned());
    Columns {
        id: "id".into(),
        employee_number: some("externalIds.organization"),
        first_name: some("name.givenName"),
        last_name: some("name.familyName"),
        department: some("organizations.department"),
        title: some("organizations.title"),
        location: some("locations.area"),
        preferred_language: some("languages.languageCode"),
        phones: vec![
            (PhoneType::Work, "phones.work".into()),
            (PhoneType::Mobile, "phones.mobile".into()),
            (PhoneType::Home, "phones.home".into()),
        ],
        addresses: [(AddressType::Work, "work"), (AddressType::Home, "home")]
            .into_iter()
            .flat_map(|(kind, key)| {
                rows::address_columns(
                    kind,
                    &[
                        (
                            AddressPart::Street,
                            &format!("addresses.{key}.streetAddress"),
                        ),
                        (AddressPart::Locality, &format!("addresses.{key}.locality")),
                        (AddressPart::Region, &format!("addresses.{key}.region")),
                        (
                            AddressPart::PostalCode,
                            &format!("addresses.{key}.postalCode"),
                        ),
                        (AddressPart::Country, &format!("addresses.{key}.country")),
                    ],
                )
            })
            .collect(),
        custom,
        ..Columns::default()
    }
}

/// A user with each list the mapping reads taken down to one entry, so that a dotted path
/// names one value: `organizations` the primary organization (else the first), `locations` the
/// desk location (else the first), `languages` the preferred language (else the first), and
/// `externalIds`, `relations` and `phones` objects from each entry's type (its `customType` for
/// type `custom`) to its value, and `addresses` from each entry's type to the entry, the first
/// entry of a type winning. Everything else is as Google answered it.
pub fn view(user: &Map<String, Value>) -> Map<String, Value> {
    let mut view = user.clone();
    let list = |key: &str| user.get(key).and_then(Value::as_array);
    for (key, field, wanted) in [
        ("organizations", "primary", Value::Bool(true)),
        ("locations", "type", Value::from("desk")),
        ("languages", "preference", Value::from("preferred")),
    ] {
        let chosen = list(key).and_then(|entries| {
            entries
                .iter()
                .find(|entry| entry[field] == wanted)
                .or_else(|| entries.first())
                .cloned()
        });
        match chosen {
            Some(entry) => view.insert(key.into(), entry),
            None => view.remove(key),
        };
    }
    for key in ["externalIds", "relations", "phones", "addresses"] {
        let Some(entries) = list(key) else {
            continue;
        };
        let whole = key == "addresses";
        let mut typed = Map::new();
        for entry in entries {
            let kind = match entry["type"].as_str() {
                Some("custom") => entry["customType"].as_str(),
                kind => kind,
            };
            if let Some(kind) = kind
                && !typed.contains_key(kind)
            {
                let value = if whole {
                    entry.clone()
                } else {
                    entry["value"].clone()
                };
                typed.insert(kind.to_owned(), value);
            }
        }
        view.insert(key.into(), Value::Object(typed));
    }
    view
}

/// One user as an employee, without its manager (the caller resolves the manager's address),
/// and the manager's address the user names, if any.
pub fn read_user(
    user: &Map<String, Value>,
    columns: &Columns,
) -> Result<(Employee, Option<String>), RecordError> {
    let view = view(user);
    let mut employee = rows::read_record(&view, columns)?;
    let error = |field: &str, message: String| RecordError {
        line: None,
        employee_id: Some(employee.id.clone()),
        field: Some(field.to_owned()),
        message,
    };
    let flag = |key: &str| user.get(key) == Some(&Value::Bool(true));
    if flag("suspended") || flag("archived") {
        employee.employment_status = EmploymentStatus::Inactive;
        employee.status_stated = true;
    }
    let mut emails = Vec::new();
    if let Some(primary) = rows::lookup(user, "primaryEmail") {
        let address = primary.as_str().unwrap_or_default().trim();
        if let Some(problem) = address_problem(address) {
            return Err(error(
                "primaryEmail",
                format!("`primaryEmail` does not hold an email address: {problem}"),
            ));
        }
        emails.push(Email {
            address: address.into(),
            kind: EmailType::Primary,
        });
    }
    let entries = user.get("emails").and_then(Value::as_array);
    for entry in entries.into_iter().flatten() {
        // Google restates the primary address among the others, marked primary.
        if entry["primary"] == true {
            continue;
        }
        let (kind, field) = match entry["type"].as_str() {
            Some("work") => (EmailType::Work, "workEmail"),
            _ => (EmailType::Other, "otherEmail"),
        };
        let address = entry["address"].as_str().unwrap_or_default().trim();
        if let Some(problem) = address_problem(address) {
            return Err(error(
                field,
                format!("`emails` holds an entry that is not an email address: {problem}"),
            ));
        }
        emails.push(Email {
            address: address.into(),
            kind,
        });
    }
    employee.emails = emails;
    let manager = rows::lookup(&view, "relations.manager")
        .and_then(Value::as_str)
        .map(|address| address.trim().to_lowercase());
    Ok((employee, manager))
}

/// What is wrong with a text as an address, if anything.
fn address_problem(address: &str) -> Option<&'static str> {
    email_problem(address).or_else(|| has_line_break(address).then_some("it holds a line break"))
}

/// What a fetch has read so far.
#[derive(Debug, Default)]
pub(super) struct Fetched {
    /// The users read, in order, each once, with the manager address each names.
    pub(super) read: Vec<(Result<Employee, RecordError>, Option<String>)>,
    /// Ids of the users read.
    pub(super) ids: HashSet<String>,
    /// Every address of every user listed (read or not), lower case, to its user's id.
    pub(super) addresses: HashMap<String, String>,
    /// Pages read.
    pub(super) pages: usize,
}

impl Fetched {
    /// Takes one listed user: its addresses always (a manager may be anyone), the user itself
    /// when `keep` accepts its id and it was not read before.
    pub(super) fn take(
        &mut self,
        user: &Value,
        columns: &Columns,
        keep: &(dyn Fn(&str) -> bool + Sync),
    ) {
        let Some(object) = user.as_object() else {
            self.read.push((Err(rows::not_an_object(user)), None));
            return;
        };
        let id = object.get("id").and_then(Value::as_str);
        if let Some(id) = id {
            let primary = object.get("primaryEmail").and_then(Value::as_str);
            let others = object
                .get("emails")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|entry| entry["address"].as_str());
            for address in primary.into_iter().chain(others) {
                self.addresses
                    .entry(address.trim().to_lowercase())
                    .or_insert_with(|| id.to_owned());
            }
            if !keep(id) || !self.ids.insert(id.to_owned()) {
                return;
            }
        }
        match read_user(object, columns) {
            Ok((employee, manager)) => self.read.push((Ok(employee), manager)),
            Err(error) => self.read.push((Err(error), None)),
        }
    }

    /// The employees read, each manager's address resolved to the id of the user who has it.
    pub(super) fn into_page(self) -> SourcePage {
        let mut page = SourcePage::default();
        for (read, manager) in self.read {
            match read {
                Ok(mut employee) => {
                    employee.manager_id = manager
                        .and_then(|address| self.addresses.get(&address))
                        .map(|id| id.as_str().into());
                    page.employees.push(employee);
                }
                Err(error) => page.errors.push(error),
            }
        }
        page
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(user: Value) -> Result<(Employee, Option<String>), RecordError> {
        read_user(user.as_object().unwrap(), &columns(Vec::new()))
    }

    #[test]
    fn a_user_maps_into_the_canonical_employee() {
        let (employee, manager) = read(json!({
            "id": "100000000000000000001", "primaryEmail": "ada@acme.example",
            "name": {"givenName": "Ada", "familyName": "Lovelace", "fullName": "Ada Lovelace"},
            "emails": [
                {"address": "ada@acme.example", "primary": true},
                {"address": "a.lovelace@acme.example", "type": "work"},
                {"address": "ada@home.example", "type": "home"},
                {"address": "ada@other.example", "type": "custom", "customType": "x"}
            ],
            "suspended": false, "archived": false, "orgUnitPath": "/Engineering",
            "organizations": [
                {"title": "Former", "department": "Old", "primary": false},
                {"title": "Engineer", "department": "R&D", "costCenter": "CC-1", "primary": true}
            ],
            "locations": [
                {"type": "default", "area": "Elsewhere"},
                {"type": "desk", "area": "Stockholm", "buildingId": "STO-1"}
            ],
            "languages": [{"languageCode": "sv", "preference": "preferred"}],
            "externalIds": [
                {"type": "custom", "customType": "hris-operator", "value": "acme:1"},
                {"type": "organization", "value": "1001"}
            ],
            "relations": [{"type": "manager", "value": "Grace@Acme.example"}]
        }))
        .unwrap();
        let mut expected = Employee::new(
            "100000000000000000001",
            "Ada",
            "Lovelace",
            EmploymentStatus::Active,
        );
        expected.status_stated = false;
        expected.employee_number = Some("1001".into());
        expected.emails = [
            (EmailType::Primary, "ada@acme.example"),
            (EmailType::Work, "a.lovelace@acme.example"),
            (EmailType::Other, "ada@home.example"),
            (EmailType::Other, "ada@other.example"),
        ]
        .map(|(kind, address)| Email {
            address: address.into(),
            kind,
        })
        .to_vec();
        expected.department = Some("R&D".into());
        expected.title = Some("Engineer".into());
        expected.location = Some("Stockholm".into());
        expected.preferred_language = Some("sv".into());
        // An active account states no status; the manager is resolved by the caller.
        assert_eq!(employee, expected);
        assert_eq!(manager.as_deref(), Some("grace@acme.example"));
    }

    #[test]
    fn a_suspended_or_archived_account_is_inactive() {
        for flag in ["suspended", "archived"] {
            let mut user = json!({"id": "1", "primaryEmail": "a@acme.example",
                "name": {"givenName": "A", "familyName": "B"}});
            user[flag] = json!(true);
            let (employee, _) = read(user).unwrap();
            assert_eq!(
                employee.employment_status,
                EmploymentStatus::Inactive,
                "{flag}"
            );
            assert!(employee.status_stated);
        }
    }

    #[test]
    fn lists_fall_back_to_their_first_entry() {
        let viewed = view(
            json!({"organizations": [{"title": "A"}, {"title": "B"}],
                   "locations": [{"type": "default", "area": "X"}],
                   "languages": [{"languageCode": "de"}, {"languageCode": "en"}],
                   "relations": [{"type": "assistant", "value": "x@acme.example"}]})
            .as_object()
            .unwrap(),
        );
        assert_eq!(viewed["organizations"]["title"], "A");
        assert_eq!(viewed["locations"]["area"], "X");
        assert_eq!(viewed["languages"]["languageCode"], "de");
        assert_eq!(viewed["relations"], json!({"assistant": "x@acme.example"}));
        let (employee, manager) = read(json!({"id": "1", "primaryEmail": "a@acme.example",
            "name": {"givenName": "A", "familyName": "B"},
            "relations": [{"type": "assistant", "value": "x@acme.example"}]}))
        .unwrap();
        assert_eq!((employee.manager_id, manager), (None, None));
    }

    #[test]
    fn a_bad_address_is_an_error_naming_the_field_not_the_value() {
        let error = read(json!({"id": "7", "primaryEmail": "a@acme.example",
            "name": {"givenName": "A", "familyName": "B"},
            "emails": [{"address": "private words", "type": "work"}]}))
        .unwrap_err();
        assert_eq!(error.employee_id.as_deref(), Some("7"));
        assert_eq!(error.field.as_deref(), Some("workEmail"));
        assert!(!error.message.contains("private"), "{}", error.message);
        let error = read(json!({"id": "7", "primaryEmail": "no address",
            "name": {"givenName": "A", "familyName": "B"}}))
        .unwrap_err();
        assert_eq!(error.field.as_deref(), Some("primaryEmail"));
    }

    #[test]
    fn managers_resolve_by_any_address_of_a_listed_user_and_never_by_guess() {
        let mut fetched = Fetched::default();
        let columns = columns(Vec::new());
        let user = |id: &str, email: &str, manager: Option<&str>| {
            let mut user = json!({"id": id, "primaryEmail": email,
                "name": {"givenName": "A", "familyName": "B"},
                "emails": [{"address": format!("alias.{email}")}]});
            if let Some(manager) = manager {
                user["relations"] = json!([{"type": "manager", "value": manager}]);
            }
            user
        };
        // The manager comes after the report, and outside what is kept.
        fetched.take(
            &user("2", "bo@acme.example", Some("ALIAS.ada@acme.example")),
            &columns,
            &|_| true,
        );
        fetched.take(
            &user("3", "cy@acme.example", Some("gone@acme.example")),
            &columns,
            &|_| true,
        );
        fetched.take(&user("1", "ada@acme.example", None), &columns, &|id| {
            id != "1"
        });
        fetched.take(&user("2", "bo@acme.example", None), &columns, &|_| true);
        let page = fetched.into_page();
        let managers: Vec<_> = page
            .employees
            .iter()
            .map(|e| (e.id.as_str(), e.manager_id.as_deref()))
            .collect();
        assert_eq!(managers, [("2", Some("1")), ("3", None)], "each once");
    }
}
