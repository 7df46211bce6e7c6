//! An account's seed: employees as Workspace users with what the Directory API keeps of them,
//! and the demo account `hris-emulators google` serves (organizational units with sub-units,
//! groups with a nested group, a member from outside the account and the customer as a
//! member).

use std::collections::HashMap;

use hris_operator::sync::model::{
    AddressPart, AddressType, EmailType, Employee, EmploymentStatus, PhoneType,
};
use serde_json::{Value, json};

use super::{GoogleConfig, GoogleGroup, GoogleState, users};

/// Custom fields of the seed and where a user keeps each: the primary organization's cost
/// centre, and a custom schema's field.
pub const CUSTOM_FIELDS: [(&str, &str); 2] = [
    ("costCenter", "organizations.costCenter"),
    ("address.city", "customSchemas.Address.city"),
];

/// The demo account's unit of the employees; each department is a unit below it.
pub const STAFF_UNIT: &str = "/Staff";
/// The demo account's unit of a contractor, beside [`STAFF_UNIT`].
pub const CONTRACTORS_UNIT: &str = "/Contractors";
/// A unit whose name begins with [`STAFF_UNIT`]'s without being below it.
pub const SIBLING_UNIT: &str = "/Staffing";
/// The demo account's units besides the department units.
pub const ORG_UNITS: [&str; 3] = [STAFF_UNIT, CONTRACTORS_UNIT, SIBLING_UNIT];
/// The demo account's group of everyone on the staff: [`ENGINEERING_GROUP`] nested in it, the
/// other half of the people, and the first person again.
pub const ALL_STAFF_GROUP: &str = "all-staff@acme.example";
/// The demo account's nested group: half of the people and a member from outside the account.
pub const ENGINEERING_GROUP: &str = "engineering@acme.example";
/// The demo account's group whose one member is the customer ("all users in this domain").
pub const EVERYONE_GROUP: &str = "everyone@acme.example";

/// The user id of an employee: `1` and the employee id's bytes as three-digit numbers, padded
/// to 21 digits (Google's ids are decimal numbers), so two employees never share one.
pub fn user_id(employee_id: &str) -> String {
    let digits: String = employee_id.bytes().map(|b| format!("{b:03}")).collect();
    format!("1{digits:0>20}")
}

/// The primary address of an employee's account: the work address, else one made on the
/// account's domain (every account has one).
fn primary_email(e: &Employee) -> String {
    e.emails
        .iter()
        .find(|m| m.kind == EmailType::Work)
        .map(|m| m.address.to_string())
        .unwrap_or_else(|| format!("{}@workspace.example", e.id.to_lowercase()))
}

/// Employees as Workspace users: the id from the employee id (see [`user_id`]); the primary
/// address (see [`primary_email`]), restated in `emails` as Google does, and the private one as
/// a `home` entry; the names; `suspended` for a leaver (Google has no Pending or Leave, and no
/// dates); the unit [`STAFF_UNIT`]`/<department>` (or [`STAFF_UNIT`]); the department, title
/// and cost centre in the primary organization; the location as a desk location's area; the
/// language as the preferred one; the number as the `organization` external id; the manager as
/// a `manager` relation to the manager's primary address; and the custom fields of
/// [`CUSTOM_FIELDS`].
pub fn users_of(employees: &[Employee]) -> Vec<Value> {
    let primaries: HashMap<&str, String> = employees
        .iter()
        .map(|e| (e.id.as_str(), primary_email(e)))
        .collect();
    employees.iter().map(|e| user_of(e, &primaries)).collect()
}

fn user_of(e: &Employee, primaries: &HashMap<&str, String>) -> Value {
    let primary = primaries[e.id.as_str()].clone();
    let mut emails = vec![json!({"address": primary, "primary": true})];
    if let Some(home) = e.emails.iter().find(|m| m.kind == EmailType::Personal) {
        emails.push(json!({"address": home.address.as_str(), "type": "home"}));
    }
    let unit = match &e.department {
        Some(department) => format!("{STAFF_UNIT}/{department}"),
        None => STAFF_UNIT.to_owned(),
    };
    let mut user = json!({
        "kind": "admin#directory#user",
        "id": user_id(&e.id),
        "primaryEmail": primary,
        "name": {"givenName": e.first_name.as_str(), "familyName": e.last_name.as_str(),
                 "fullName": format!("{} {}", e.first_name, e.last_name)},
        "emails": emails,
        "isAdmin": false,
        "suspended": e.employment_status == EmploymentStatus::Inactive,
        "archived": false,
        "orgUnitPath": unit,
    });
    let mut organization = serde_json::Map::new();
    organization.insert("primary".into(), json!(true));
    for (field, value) in [
        ("department", e.department.as_deref()),
        ("title", e.title.as_deref()),
        (
            "costCenter",
            e.custom_fields.get("costCenter").and_then(Value::as_str),
        ),
    ] {
        if let Some(value) = value {
            organization.insert(field.into(), json!(value));
        }
    }
    if organization.len() > 1 {
        user["organizations"] = json!([organization]);
    }
    if let Some(location) = &e.location {
        user["locations"] = json!([{"type": "desk", "area": location.as_str()}]);
    }
    if let Some(language) = &e.preferred_language {
        user["languages"] = json!([{"languageCode": language.as_str(), "preference": "preferred"}]);
    }
    if let Some(number) = &e.employee_number {
        user["externalIds"] = json!([{"type": "organization", "value": number.as_str()}]);
    }
    if let Some(manager) = e.manager_id.as_deref().and_then(|m| primaries.get(m)) {
        user["relations"] = json!([{"type": "manager", "value": manager}]);
    }
    if let Some(city) = e.custom_fields.get("address").and_then(|a| a.get("city")) {
        user["customSchemas"] = json!({"Address": {"city": city}});
    }
    let phones: Vec<Value> = [
        (PhoneType::Work, "work"),
        (PhoneType::Mobile, "mobile"),
        (PhoneType::Home, "home"),
    ]
    .into_iter()
    .filter_map(|(kind, name)| e.phone(kind).map(|n| json!({"value": n, "type": name})))
    .collect();
    if !phones.is_empty() {
        user["phones"] = json!(phones);
    }
    let addresses: Vec<Value> = [(AddressType::Work, "work"), (AddressType::Home, "home")]
        .into_iter()
        .filter_map(|(kind, name)| {
            let address = e.address(kind)?;
            let mut entry = json!({"type": name});
            for (field, part) in [
                ("streetAddress", AddressPart::Street),
                ("locality", AddressPart::Locality),
                ("region", AddressPart::Region),
                ("postalCode", AddressPart::PostalCode),
                ("country", AddressPart::Country),
            ] {
                if let Some(value) = address.part(part) {
                    entry[field] = json!(value.as_str());
                }
            }
            Some(entry)
        })
        .collect();
    if !addresses.is_empty() {
        user["addresses"] = json!(addresses);
    }
    user
}

/// The demo account of `hris-emulators google`.
#[derive(Clone, Debug, Default)]
pub struct DemoWorkspace {
    /// The users: the employees, a contractor in [`CONTRACTORS_UNIT`] and someone in
    /// [`SIBLING_UNIT`].
    pub users: Vec<Value>,
    /// The groups [`ALL_STAFF_GROUP`], [`ENGINEERING_GROUP`] (nested in it) and
    /// [`EVERYONE_GROUP`].
    pub groups: Vec<GoogleGroup>,
    /// The member from outside the account.
    pub outsiders: Vec<Value>,
}

/// The demo account: `employees` as users (see [`users_of`]) with a contractor and someone in
/// a unit whose name begins like the staff's; the groups all-staff (engineering nested in it,
/// the other half of the people, and the first person again, who is also in engineering),
/// engineering (half of the people and a partner from outside the account) and everyone (the
/// customer as its member) on the customer `customer_id`.
pub fn demo_workspace(employees: &[Employee], customer_id: &str) -> DemoWorkspace {
    let mut users = users_of(employees);
    let contractor = "199000000000000000001";
    let sibling = "199000000000000000002";
    let outsider = "199000000000000000009";
    users.push(json!({
        "kind": "admin#directory#user", "id": contractor,
        "primaryEmail": "casey.contractor@acme.example",
        "name": {"givenName": "Casey", "familyName": "Contractor", "fullName": "Casey Contractor"},
        "emails": [{"address": "casey.contractor@acme.example", "primary": true}],
        "isAdmin": false, "suspended": false, "archived": false,
        "orgUnitPath": CONTRACTORS_UNIT,
    }));
    users.push(json!({
        "kind": "admin#directory#user", "id": sibling,
        "primaryEmail": "sam.staffing@acme.example",
        "name": {"givenName": "Sam", "familyName": "Staffing", "fullName": "Sam Staffing"},
        "emails": [{"address": "sam.staffing@acme.example", "primary": true}],
        "isAdmin": false, "suspended": false, "archived": false,
        "orgUnitPath": SIBLING_UNIT,
    }));
    let ids: Vec<String> = employees.iter().map(|e| user_id(&e.id)).collect();
    let (engineering, rest) = ids.split_at(ids.len() / 2);
    let mut engineering_members = engineering.to_vec();
    engineering_members.push(outsider.to_owned());
    let mut all_members = vec![ENGINEERING_GROUP.to_owned()];
    all_members.extend(rest.iter().cloned());
    all_members.extend(ids.first().cloned());
    let groups = vec![
        GoogleGroup {
            id: "03all0staff0001".into(),
            email: ALL_STAFF_GROUP.into(),
            name: "All Staff".into(),
            members: all_members,
        },
        GoogleGroup {
            id: "03engineering01".into(),
            email: ENGINEERING_GROUP.into(),
            name: "Engineering".into(),
            members: engineering_members,
        },
        GoogleGroup {
            id: "03everyone00001".into(),
            email: EVERYONE_GROUP.into(),
            name: "Everyone".into(),
            members: vec![customer_id.to_owned()],
        },
    ];
    let outsiders = vec![json!({"id": outsider, "email": "pat@partner.example"})];
    DemoWorkspace {
        users,
        groups,
        outsiders,
    }
}

/// Puts a config's seed into a new account's state.
pub(super) fn seed(state: &mut GoogleState, config: &GoogleConfig) {
    for user in &config.users {
        if let Some(user) = user.as_object() {
            users::seed(state, user.clone());
        }
    }
    for unit in &config.org_units {
        users::add_org_unit(state, unit);
    }
    for group in &config.groups {
        state.groups.insert(group.id.clone(), group.clone());
    }
    for outsider in &config.outsiders {
        if let Some(id) = outsider["id"].as_str() {
            state.outsiders.insert(id.to_owned(), outsider.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_are_decimal_and_unique_per_employee_id() {
        assert_eq!(user_id("E0001"), "100000069048048048049");
        assert_ne!(user_id("E0001"), user_id("E0002"));
        assert_ne!(user_id("1"), user_id("01"));
        assert!(user_id("1001").chars().all(|c| c.is_ascii_digit()));
    }

    #[test]
    fn the_demo_workspace_nests_engineering_in_all_staff() {
        let employees = crate::hr::demo_employees(30);
        let demo = demo_workspace(&employees, "C03az79cb");
        assert_eq!(demo.users.len(), 32);
        assert!(
            demo.groups[0]
                .members
                .contains(&ENGINEERING_GROUP.to_owned())
        );
        let leaver = employees
            .iter()
            .position(|e| e.employment_status == EmploymentStatus::Inactive)
            .expect("the demo employees hold a leaver");
        assert_eq!(demo.users[leaver]["suspended"], true);
        assert_eq!(
            demo.users[1]["relations"][0]["value"],
            "user1001@example.com"
        );
        assert_eq!(demo.users[0]["orgUnitPath"], "/Staff/Engineering");
    }
}
