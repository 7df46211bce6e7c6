//! A tenant's seed: employees as Entra ID users with their HR properties, and the demo tenant
//! `hris-emulators graph` serves (groups with nested groups, a device, a service principal, a
//! guest and an account without a mailbox among the members).

use hris_operator::sync::model::{
    AddressPart, AddressType, EmailType, Employee, EmploymentStatus, PhoneType,
};
use serde_json::{Value, json};

use super::{GraphConfig, GraphGroup, GraphState, groups, users};

/// Custom fields of the seed and the user property each is kept in.
pub const CUSTOM_FIELDS: [(&str, &str); 2] = [
    ("costCenter", "employeeOrgData.costCenter"),
    (
        "address.city",
        "onPremisesExtensionAttributes.extensionAttribute1",
    ),
];

/// The demo tenant's group of everyone: Engineering nested in it, the other half of the
/// people, a service principal and an account without a mailbox.
pub const ALL_STAFF_GROUP: &str = "5a1e5a1e-0000-4000-8000-000000000001";
/// The demo tenant's nested group: half of the people, a guest and a device.
pub const ENGINEERING_GROUP: &str = "5a1e5a1e-0000-4000-8000-000000000002";

/// The object id of an employee's user: a GUID made from the employee id's bytes (ids of up
/// to 16 bytes, as every seed has), so two employees never share one.
pub fn object_id(employee_id: &str) -> String {
    let mut hex: String = employee_id
        .bytes()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect();
    while hex.len() < 32 {
        hex.push('0');
    }
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Employees as Entra ID users: the object id from the employee id (see [`object_id`]); the
/// work address as `mail` and `userPrincipalName` (without one: no mailbox, and a name on the
/// tenant's `onmicrosoft.com` domain); the private one in `otherMails`; the names, with
/// `displayName`; an account disabled for a leaver (Inactive), enabled otherwise (Entra ID has
/// no Pending or Leave); the number as `employeeId`; the dates at midnight UTC; department,
/// title, location and language; the manager by object id; and the custom fields of
/// [`CUSTOM_FIELDS`].
pub fn users_of(employees: &[Employee]) -> Vec<Value> {
    employees.iter().map(user_of).collect()
}

fn user_of(e: &Employee) -> Value {
    let email = |kind| {
        e.emails
            .iter()
            .find(|m| m.kind == kind)
            .map(|m| m.address.to_string())
    };
    let work = email(EmailType::Work);
    let upn = work
        .clone()
        .unwrap_or_else(|| format!("{}@contoso.onmicrosoft.com", e.id.to_lowercase()));
    let text = |v: Option<&str>| v.map_or(Value::Null, |s| json!(s));
    let day =
        |d: Option<jiff::civil::Date>| d.map_or(Value::Null, |d| json!(format!("{d}T00:00:00Z")));
    let mut user = json!({
        "id": object_id(&e.id),
        "userPrincipalName": upn,
        "mail": work,
        "otherMails": email(EmailType::Personal).into_iter().collect::<Vec<_>>(),
        "userType": "Member",
        "accountEnabled": e.employment_status != EmploymentStatus::Inactive,
        "givenName": e.first_name.as_str(),
        "surname": e.last_name.as_str(),
        "displayName": format!("{} {}", e.first_name, e.last_name),
        "mailNickname": e.id.to_lowercase(),
        "employeeId": text(e.employee_number.as_deref()),
        "employeeHireDate": day(e.start_date),
        "employeeLeaveDateTime": day(e.end_date),
        "department": text(e.department.as_deref()),
        "jobTitle": text(e.title.as_deref()),
        "officeLocation": text(e.location.as_deref()),
        "preferredLanguage": text(e.preferred_language.as_deref()),
        "businessPhones": e.phone(PhoneType::Work).into_iter().collect::<Vec<_>>(),
        "mobilePhone": text(e.phone(PhoneType::Mobile)),
    });
    // Entra ID holds one address, the office's.
    let work = e.address(AddressType::Work);
    for (property, part) in [
        ("streetAddress", AddressPart::Street),
        ("city", AddressPart::Locality),
        ("state", AddressPart::Region),
        ("postalCode", AddressPart::PostalCode),
        ("country", AddressPart::Country),
    ] {
        user[property] = text(work.and_then(|a| a.part(part)).map(|v| v.as_str()));
    }
    if let Some(manager) = &e.manager_id {
        user["manager"] = json!({"id": object_id(manager)});
    }
    for (field, property) in CUSTOM_FIELDS {
        let mut path = field.split('.');
        let first = e.custom_fields.get(path.next().unwrap_or_default());
        let value = path.fold(first, |value, part| value.and_then(|v| v.get(part)));
        if let Some(value) = value {
            match property.split_once('.') {
                Some((outer, inner)) => user[outer] = json!({ inner: value }),
                None => user[property] = value.clone(),
            }
        }
    }
    user
}

/// The demo tenant of `hris-emulators graph`: `employees` as users, with a guest (a `#EXT#`
/// name, `userType: Guest`) and a shared account without a mailbox; the groups
/// [`ALL_STAFF_GROUP`] and [`ENGINEERING_GROUP`] (nested in it); a device and a service
/// principal as members. Returns the users, the groups and the other directory objects.
pub fn demo_tenant(employees: &[Employee]) -> (Vec<Value>, Vec<GraphGroup>, Vec<Value>) {
    let mut users = users_of(employees);
    let guest = "9e570000-0000-4000-8000-000000000001";
    let shared_account = "5ba4ed00-0000-4000-8000-000000000001";
    users.push(json!({
        "id": guest, "userPrincipalName": "pat_partner.example#EXT#@contoso.onmicrosoft.com",
        "mail": "pat@partner.example", "userType": "Guest", "accountEnabled": true,
        "givenName": "Pat", "surname": "Partner", "displayName": "Pat Partner",
        "mailNickname": "pat_partner.example#EXT#",
    }));
    users.push(json!({
        "id": shared_account, "userPrincipalName": "reception@contoso.onmicrosoft.com",
        "mail": null, "userType": "Member", "accountEnabled": true,
        "displayName": "Reception", "mailNickname": "reception",
    }));
    let device = "de71ce00-0000-4000-8000-000000000001";
    let service_principal = "5e871ce0-0000-4000-8000-000000000001";
    let objects = vec![
        json!({"@odata.type": "#microsoft.graph.device", "id": device,
               "displayName": "Meeting room display"}),
        json!({"@odata.type": "#microsoft.graph.servicePrincipal", "id": service_principal,
               "displayName": "Payroll connector"}),
    ];
    let ids: Vec<String> = employees.iter().map(|e| object_id(&e.id)).collect();
    let (engineering, rest) = ids.split_at(ids.len() / 2);
    let mut engineering_members = engineering.to_vec();
    engineering_members.extend([guest.to_owned(), device.to_owned()]);
    let mut all_members = vec![ENGINEERING_GROUP.to_owned()];
    all_members.extend(rest.iter().cloned());
    all_members.extend([service_principal.to_owned(), shared_account.to_owned()]);
    let groups = vec![
        GraphGroup {
            id: ALL_STAFF_GROUP.into(),
            display_name: "All Staff".into(),
            members: all_members,
        },
        GraphGroup {
            id: ENGINEERING_GROUP.into(),
            display_name: "Engineering".into(),
            members: engineering_members,
        },
    ];
    (users, groups, objects)
}

/// Puts a config's seed into a new tenant's state.
pub(super) fn seed(state: &mut GraphState, config: &GraphConfig) {
    for user in &config.users {
        if let Some(user) = user.as_object() {
            users::store(state, user.clone());
        }
    }
    for object in &config.objects {
        if let Some(id) = object["id"].as_str() {
            state.objects.insert(id.to_owned(), object.clone());
        }
    }
    groups::seed(&mut state.groups, &mut state.objects, &config.groups);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_ids_are_guids_unique_per_employee_id() {
        assert_eq!(object_id("E0001"), "45303030-3100-0000-0000-000000000000");
        assert_ne!(object_id("E0001"), object_id("E0002"));
        assert_eq!(object_id("1001").len(), 36);
    }

    #[test]
    fn the_demo_tenant_nests_engineering_in_all_staff_with_other_objects() {
        let employees = crate::hr::demo_employees(30);
        let (users, groups, objects) = demo_tenant(&employees);
        assert_eq!(users.len(), 32);
        assert!(groups[0].members.contains(&ENGINEERING_GROUP.to_owned()));
        assert_eq!(objects.len(), 2);
        let leaver = employees
            .iter()
            .position(|e| e.employment_status == EmploymentStatus::Inactive)
            .expect("the demo employees hold a leaver");
        assert_eq!(users[leaver]["accountEnabled"], false);
        assert_eq!(users[0]["accountEnabled"], true);
    }
}
