//! A synthetic company for the planning benchmarks: `n` employees and about `n` directory users.
//!
//! 97% of employees have an up-to-date user, 3% of those moved (a changed department), 3% are
//! joiners, 2% of users are managed leavers no longer in the source, 1% are unmanaged accounts.
//! Every employee has a manager, three mapped attributes (one with an alias) and a work email.

use hris_operator::{
    crd::HrisConnectionSpec,
    sync::{
        model::{Attributes, DirectoryUser, Email, EmailType, Employee, EmploymentStatus},
        plan::PlanInput,
        policy::SyncPolicy,
    },
};
use jiff::civil::date;
use serde_json::json;

pub const PREFIX: &str = "acme-hris:";

/// The benchmark's plan input: everyone evaluated on one fixed date.
pub fn input<'a>(employees: &'a [Employee], users: &'a [DirectoryUser]) -> PlanInput<'a> {
    PlanInput {
        employees,
        record_errors: &[],
        users,
        as_of: date(2026, 11, 22),
        managers: true,
        deletes: true,
        approved_hash: None,
    }
}

pub fn policy() -> SyncPolicy {
    let spec: HrisConnectionSpec = serde_saphyr::from_str(
        r#"
source: {csv: {path: e.csv}}
target: {file: {path: d.json}}
externalIdPrefix: "acme-hris:"
attributeMapping:
  - {from: department, to: department, aliases: {"R&D": Engineering}}
  - {from: title, to: title}
  - {from: customFields.costCenter, to: costCenter}
filters:
  - {field: department, operator: Exclude, values: [Contractors]}
lifecycle: {absentUsers: Delete}
"#,
    )
    .expect("benchmark spec");
    SyncPolicy::compile(&spec).expect("valid benchmark spec")
}

const DEPARTMENTS: [&str; 6] = ["R&D", "Sales", "Finance", "People", "Support", "Marketing"];
const TITLES: [&str; 5] = ["Engineer", "Manager", "Analyst", "Specialist", "Director"];

fn department(i: usize) -> &'static str {
    DEPARTMENTS[i % DEPARTMENTS.len()]
}

pub fn employees(n: usize) -> Vec<Employee> {
    (0..n)
        .map(|i| {
            let mut e = Employee::new(
                format!("E{i:07}"),
                format!("First{i}"),
                format!("Last{i}"),
                EmploymentStatus::Active,
            );
            e.emails.push(Email {
                address: format!("first{i}.last{i}@acme.example").into(),
                kind: EmailType::Work,
            });
            e.start_date = Some(date(2020, 1, 1));
            e.manager_id = (i >= 1000).then(|| format!("E{:07}", i % 1000).into());
            e.department = Some(department(i).into());
            e.title = Some(TITLES[i % TITLES.len()].into());
            e.custom_fields
                .insert("costCenter", json!(format!("CC-{}", i % 400)));
            e
        })
        .collect()
}

/// Users for `employees`: see the module docs for the mix.
pub fn users(employees: &[Employee]) -> Vec<DirectoryUser> {
    let n = employees.len();
    let existing = n * 97 / 100;
    let mut users = Vec::with_capacity(n + n / 100 * 3);
    for (i, e) in employees.iter().take(existing).enumerate() {
        let moved = i % 33 == 0;
        let dept = match department(if moved { i + 1 } else { i }) {
            "R&D" => "Engineering",
            other => other,
        };
        let mut attributes = Attributes::default();
        attributes.set("department".into(), json!(dept));
        attributes.set("title".into(), json!(TITLES[i % TITLES.len()]));
        attributes.set("costCenter".into(), json!(format!("CC-{}", i % 400)));
        users.push(DirectoryUser {
            id: format!("u{i:07}").into(),
            external_id: Some(format!("{PREFIX}{}", e.id).into()),
            user_name: None,
            email: Some(e.emails[0].address.clone()),
            first_name: Some(e.first_name.clone()),
            last_name: Some(e.last_name.clone()),
            preferred_language: None,
            active: true,
            manager_id: (i >= 1000).then(|| format!("u{:07}", i % 1000).into()),
            attributes,
            version: None,
        });
    }
    for j in 0..n / 50 {
        users.push(DirectoryUser {
            id: format!("x{j:07}").into(),
            external_id: Some(format!("{PREFIX}GONE{j}").into()),
            email: Some(format!("gone{j}@acme.example").into()),
            active: true,
            ..DirectoryUser::default()
        });
    }
    for j in 0..n / 100 {
        users.push(DirectoryUser {
            id: format!("s{j:07}").into(),
            email: Some(format!("service{j}@acme.example").into()),
            active: true,
            ..DirectoryUser::default()
        });
    }
    users
}
