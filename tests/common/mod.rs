//! Builders shared by the integration tests.
#![allow(dead_code)]

use hris_operator::{
    crd::HrisConnectionSpec,
    sync::{
        model::{DirectoryUser, Email, EmailType, Employee, EmploymentStatus},
        plan::{Plan, PlanInput, plan},
        policy::SyncPolicy,
    },
};
use jiff::civil::{Date, date};

pub const PREFIX: &str = "hr:";
pub const TODAY: Date = date(2026, 11, 22);

/// A spec from YAML lines added to a minimal valid spec.
pub fn spec(extra: &str) -> HrisConnectionSpec {
    let yaml = format!(
        "source: {{csv: {{path: e.csv}}}}\ntarget: {{file: {{path: d.json}}}}\nexternalIdPrefix: '{PREFIX}'\n{extra}"
    );
    serde_saphyr::from_str(&yaml).unwrap_or_else(|e| panic!("bad test spec: {e}\n{yaml}"))
}

pub fn policy(extra: &str) -> SyncPolicy {
    SyncPolicy::compile(&spec(extra)).expect("valid test spec")
}

/// An active employee with a work email `<first>@corp.example` who started in 2020.
pub fn employee(id: &str, first: &str) -> Employee {
    let mut e = Employee::new(id, first, "Test", EmploymentStatus::Active);
    e.emails.push(Email {
        address: format!("{}@corp.example", first.to_lowercase()).into(),
        kind: EmailType::Work,
    });
    e.start_date = Some(date(2020, 1, 1));
    e
}

/// The managed, active, up-to-date user of `employee(id, first)` under default policy.
pub fn user_of(target_id: &str, e: &Employee) -> DirectoryUser {
    DirectoryUser {
        id: target_id.into(),
        external_id: Some(format!("{PREFIX}{}", e.id).into()),
        user_name: None,
        email: e.emails.first().map(|m| m.address.clone()),
        first_name: Some(e.first_name.clone()),
        last_name: Some(e.last_name.clone()),
        preferred_language: None,
        active: true,
        manager_id: None,
        attributes: Default::default(),
        version: None,
    }
}

/// An unmanaged user with an email.
pub fn unmanaged(target_id: &str, email: &str) -> DirectoryUser {
    DirectoryUser {
        id: target_id.into(),
        email: Some(email.into()),
        first_name: Some("Some".into()),
        last_name: Some("One".into()),
        active: true,
        ..DirectoryUser::default()
    }
}

/// `count` employees, each with an up-to-date managed user.
pub fn staff(count: usize) -> (Vec<Employee>, Vec<DirectoryUser>) {
    let people: Vec<_> = (0..count)
        .map(|i| employee(&i.to_string(), &format!("P{i}")))
        .collect();
    let users = people
        .iter()
        .enumerate()
        .map(|(i, e)| user_of(&format!("u{i}"), e))
        .collect();
    (people, users)
}

/// The input of a plan on `TODAY`, with manager links, no errors and no approval.
pub fn input<'a>(employees: &'a [Employee], users: &'a [DirectoryUser]) -> PlanInput<'a> {
    PlanInput {
        employees,
        record_errors: &[],
        users,
        as_of: TODAY,
        managers: true,
        deletes: true,
        approved_hash: None,
    }
}

pub fn run(employees: &[Employee], users: &[DirectoryUser], policy: &SyncPolicy) -> Plan {
    plan(&input(employees, users), policy)
}

/// `(kind, externalId)` of every change, for compact assertions.
pub fn summary(plan: &Plan) -> Vec<(String, String)> {
    plan.changes
        .iter()
        .map(|c| (c.kind.as_str().to_owned(), c.external_id.to_string()))
        .collect()
}

pub fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}
pub mod child_server;
pub mod directories;
pub mod fault_proxy;
pub mod google_source;
pub mod graph_source;
pub mod hr_sources;
pub mod kmock;
pub mod receivers;
pub mod scim2_server;
pub mod scimmy;
pub mod slack_source;
pub mod source_runs;
pub mod vendor;
