//! Properties of the pipeline over generated employees and directories:
//! - applying a plan and planning again yields an empty plan;
//! - filters ignore case;
//! - an empty source removes nobody;
//! - no single unreadable row removes anyone;
//! - no plan changes more than the guards allow without approval, and what a guard holds back
//!   is exactly what its kind of change would have done;
//! - a seat limit is never passed, the free seats go in start-date order, and a second plan
//!   holds the same people back and changes nothing else.

use crate::common;

use common::{PREFIX, TODAY, input, policy};
use hris_operator::{
    connectors::target::file::{self, Directory, FileTarget, FileUser},
    sync::{
        apply::{Outcome, apply},
        filter::keep,
        map::choose_email,
        model::{
            Attr, AttrChange, DirectoryUser, Email, EmailType, Employee, EmploymentStatus,
            RecordError,
        },
        plan::{ChangeKind, PlanInput, Reason, plan},
        policy::SyncPolicy,
        ports::target::Target,
    },
};
use jiff::{ToSpan, civil::Date};
use proptest::prelude::*;
use serde_json::json;

const IDS: usize = 24;
const DEPARTMENTS: [&str; 6] = [
    "Engineering",
    "engineering",
    "SALES",
    "Sales",
    "Contractors",
    "r&d",
];

fn date_from(offset_days: i32) -> Date {
    TODAY.checked_add(i64::from(offset_days).days()).unwrap()
}

#[derive(Clone, Debug)]
struct GenEmployee {
    status: usize,
    start: Option<i32>,
    end: Option<i32>,
    department: usize,
    manager: Option<usize>,
    email: usize,
    last_name: usize,
}

fn gen_employee() -> impl Strategy<Value = GenEmployee> {
    (
        0..4usize,
        proptest::option::of(-2000..60i32),
        proptest::option::of(-400..60i32),
        0..DEPARTMENTS.len(),
        proptest::option::of(0..IDS),
        0..4usize,
        0..3usize,
    )
        .prop_map(
            |(status, start, end, department, manager, email, last_name)| GenEmployee {
                status,
                start,
                end,
                department,
                manager,
                email,
                last_name,
            },
        )
}

fn build_employee(id: usize, g: &GenEmployee) -> Employee {
    let status = [
        EmploymentStatus::Active,
        EmploymentStatus::Pending,
        EmploymentStatus::Leave,
        EmploymentStatus::Inactive,
    ][g.status];
    let mut e = Employee::new(
        format!("e{id}"),
        format!("First{id}"),
        ["Lind", "Berg", "Öberg"][g.last_name],
        status,
    );
    e.start_date = g.start.map(date_from);
    e.end_date = g.end.map(date_from);
    e.department = Some(DEPARTMENTS[g.department].into());
    e.manager_id = g.manager.map(|m| format!("e{m}").into());
    let address = format!("person{id}@corp.example");
    match g.email {
        0 => e.emails.push(Email {
            address: address.into(),
            kind: EmailType::Work,
        }),
        1 => e.emails.push(Email {
            address: address.to_uppercase().into(),
            kind: EmailType::Primary,
        }),
        2 => e.emails.push(Email {
            address: format!("person{id}@home.example").into(),
            kind: EmailType::Personal,
        }),
        _ => {}
    }
    e
}

/// What the directory holds for an id: nothing, a managed user (current email or a stale one
/// of its own), or an unmanaged user with the employee's email.
fn gen_user() -> impl Strategy<Value = GenUser> {
    (
        0..4usize,
        any::<bool>(),
        0..DEPARTMENTS.len(),
        proptest::option::of(0..IDS),
    )
}

fn build_users(users: &[GenUser]) -> Directory {
    let mut directory = Directory::default();
    for (id, (variant, active, department, manager)) in users.iter().enumerate() {
        let email = match variant {
            0 => continue,
            2 => format!("old{id}@corp.example"),
            _ => format!("person{id}@corp.example"),
        };
        directory.users.push(FileUser {
            id: format!("u{:06}", id + 1),
            external_id: (*variant != 3).then(|| format!("{PREFIX}e{id}")),
            user_name: Some(email.clone()),
            email: Some(email),
            first_name: Some(format!("Old{id}")),
            last_name: Some("Lind".into()),
            preferred_language: None,
            active: *active,
            manager_id: manager.map(|m| format!("u{:06}", m + 1)),
            attributes: [("dept".to_owned(), json!(DEPARTMENTS[*department]))]
                .into_iter()
                .collect(),
            version: 1,
        });
    }
    directory
}

/// What the directory holds for each id (see `gen_user`).
type GenUser = (usize, bool, usize, Option<usize>);

fn scenario() -> impl Strategy<Value = (Vec<Option<GenEmployee>>, Vec<GenUser>)> {
    (
        proptest::collection::vec(proptest::option::weighted(0.8, gen_employee()), IDS),
        proptest::collection::vec(gen_user(), IDS),
    )
}

fn employees_of(generated: &[Option<GenEmployee>]) -> Vec<Employee> {
    generated
        .iter()
        .enumerate()
        .filter_map(|(id, g)| g.as_ref().map(|g| build_employee(id, g)))
        .collect()
}

fn converging_policy(absent: &str) -> SyncPolicy {
    policy(&format!(
        "emails: {{includePersonal: false}}
attributeMapping: [{{from: department, to: dept, aliases: {{'R&D': Engineering}}}}]
filters: [{{field: department, operator: Exclude, values: [contractors]}}]
lifecycle: {{absentUsers: {absent}, preHireDays: 14, removal: {{policy: AfterMonths, months: 3}}}}
safeguards: {NO_GUARDS}"
    ))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn applying_a_plan_then_planning_again_yields_an_empty_plan(
        (generated, users) in scenario(),
        absent in prop_oneof![Just("Delete"), Just("Deactivate"), Just("Ignore")],
    ) {
        let policy = converging_policy(absent);
        let employees = employees_of(&generated);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.json");
        file::store(&path, &build_users(&users)).unwrap();
        let target = FileTarget::new(path);
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let mapped = policy.mapped_attributes();

        let plan_now = |users: &[hris_operator::sync::model::DirectoryUser]| plan(&input(&employees, users), &policy);
        let before = runtime.block_on(target.list_users(&mapped)).unwrap();
        let first = plan_now(&before);
        let applied = runtime.block_on(apply(&first, &before, &target));
        prop_assert!(
            applied.outcomes.iter().all(|o| *o == Outcome::Applied),
            "every write succeeds: {:?}", applied.outcomes
        );
        prop_assert!(applied.link_failures.is_empty());
        let after = runtime.block_on(target.list_users(&mapped)).unwrap();
        let second = plan_now(&after);
        prop_assert!(second.changes.is_empty(), "second plan: {:#?}", second.changes);
        prop_assert!(second.withheld.is_empty());
        prop_assert_eq!(&second.conflicts, &first.conflicts);
        // No duplicates: every externalId is held once.
        let mut ids: Vec<_> = after.iter().filter_map(|u| u.external_id.as_deref()).collect();
        let total = ids.len();
        ids.sort_unstable();
        ids.dedup();
        prop_assert_eq!(ids.len(), total);
    }

    #[test]
    fn filters_ignore_case(
        g in gen_employee(),
        values in proptest::collection::vec(0..DEPARTMENTS.len(), 1..3),
        include in any::<bool>(),
        upper in any::<bool>(),
    ) {
        let operator = if include { "Include" } else { "Exclude" };
        let listed: Vec<String> = values.iter().map(|&v| DEPARTMENTS[v].to_owned()).collect();
        let recased: Vec<String> = listed
            .iter()
            .map(|v| if upper { v.to_uppercase() } else { v.to_lowercase() })
            .collect();
        let spec_of = |values: &[String]| policy(&format!(
            "filters: [{{field: department, operator: {operator}, values: {values:?}}}]"
        ));
        let (a, b) = (spec_of(&listed), spec_of(&recased));
        let mut employee = build_employee(1, &g);
        let original = keep(&employee, None, &a.filters);
        prop_assert_eq!(original, keep(&employee, None, &b.filters));
        let department = employee.department.clone().unwrap();
        employee.department = Some(if upper { department.to_lowercase() } else { department.to_uppercase() });
        prop_assert_eq!(original, keep(&employee, None, &a.filters));
        // And the outcome is the membership test itself.
        let member = listed.iter().any(|v| v.to_lowercase() == department.to_lowercase());
        prop_assert_eq!(original, member == include);
    }

    #[test]
    fn an_empty_source_removes_nobody(
        users in proptest::collection::vec(gen_user(), IDS),
        absent in prop_oneof![Just("Delete"), Just("Deactivate")],
        approve in any::<bool>(),
    ) {
        let policy = converging_policy(absent);
        let directory = build_users(&users);
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.json");
        file::store(&path, &directory).unwrap();
        let listed = runtime.block_on(FileTarget::new(path).list_users(&[])).unwrap();
        let first = plan(&input(&[], &listed), &policy);
        let approved = first.hash.clone();
        let plan = plan(
            &PlanInput { approved_hash: approve.then_some(approved.as_str()), ..input(&[], &listed) },
            &policy,
        );
        prop_assert!(plan.changes.iter().all(|c| !c.kind.is_removal()));
    }

    #[test]
    fn no_single_unreadable_row_removes_anyone(
        (generated, users) in scenario(),
        unreadable in 0..IDS,
        named in 0..3usize,
        absent in prop_oneof![Just("Delete"), Just("Deactivate")],
    ) {
        let policy = converging_policy(absent);
        let mut employees = employees_of(&generated);
        prop_assume!(!employees.is_empty());
        let lost = employees.remove(unreadable % employees.len());
        // The row names its employee, names someone else (a garbled id), or names nobody.
        let employee_id = match named {
            0 => Some(lost.id.clone()),
            1 => Some("e9999".into()),
            _ => None,
        };
        let errors = [RecordError { line: Some(7), employee_id, field: None, message: "bad row".into() }];
        let listed = listed_users(&users);
        let plan = plan(&PlanInput { record_errors: &errors, ..input(&employees, &listed) }, &policy);
        for change in plan.changes.iter().chain(&plan.withheld) {
            prop_assert!(
                !(change.kind.is_removal() && change.reason == Reason::Absent),
                "an absent user is removed while a row is unreadable: {change:?}"
            );
            let lost_id = format!("{PREFIX}{}", lost.id);
            prop_assert!(change.external_id != lost_id);
        }
    }

    #[test]
    fn no_plan_changes_more_than_the_guards_allow_without_approval(
        (generated, users) in scenario(),
        percents in proptest::collection::vec(proptest::option::of(0u32..60), 5),
        counts in proptest::collection::vec(proptest::option::of(0u32..6), 5),
    ) {
        let guard = |i: usize| {
            let mut fields = Vec::new();
            if let Some(p) = percents[i] { fields.push(format!("maxPercent: {p}")); }
            if let Some(c) = counts[i] { fields.push(format!("maxCount: {c}")); }
            format!("{{{}}}", fields.join(", "))
        };
        let guarded = policy(&format!(
            "attributeMapping: [{{from: department, to: dept}}]\n\
             filters: [{{field: department, operator: Exclude, values: [contractors]}}]\n\
             lifecycle: {{absentUsers: Delete}}\n\
             safeguards: {{removals: {}, identityChanges: {}, reactivations: {}, attributeClears: {}, creates: {}}}",
            guard(0), guard(1), guard(2), guard(3), guard(4)
        ));
        let mut unguarded = guarded.clone();
        unguarded.safeguards = policy(&format!("safeguards: {NO_GUARDS}")).safeguards;
        let employees = employees_of(&generated);
        let listed = listed_users(&users);
        let input = input(&employees, &listed);
        let limited = plan(&input, &guarded);
        let whole = plan(&input, &unguarded);

        // Nothing is lost or invented: what goes plus what is held is the unguarded plan
        // (less what an empty source never removes, and moves to a personal address, which
        // no setting lets through).
        let mut all: Vec<_> = limited.changes.iter().chain(&limited.withheld).cloned().collect();
        all.sort_by(|a, b| (a.kind, &a.external_id).cmp(&(b.kind, &b.external_id)));
        let mut expected: Vec<_> = whole.changes.iter().chain(&whole.withheld).cloned().collect();
        expected.sort_by(|a, b| (a.kind, &a.external_id).cmp(&(b.kind, &b.external_id)));
        prop_assert_eq!(&all, &expected);
        prop_assert_eq!(limited.safeguard.is_some(), !limited.withheld.is_empty());

        // What goes stays within every limit.
        let managed: Vec<_> = listed.iter().filter(|u| is_managed(u)).collect();
        let active_managed = managed.iter().filter(|u| u.active).count();
        let within = |n: usize, i: usize, base: usize| {
            percents[i].is_none_or(|p| n as u64 * 100 <= u64::from(p) * base as u64)
                && counts[i].is_none_or(|c| n <= c as usize)
        };
        let going = &limited.changes;
        let active_by_id: std::collections::HashMap<_, _> =
            listed.iter().map(|u| (u.id.clone(), u.active)).collect();
        let removals = going.iter().filter(|c| c.kind.is_removal()).count();
        let active_removals = going
            .iter()
            .filter(|c| c.kind.is_removal())
            .filter(|c| c.target_id.as_ref().is_some_and(|id| active_by_id[id]))
            .count();
        prop_assert!(within(active_removals, 0, active_managed) && within(removals, 0, managed.len()),
            "removals {removals} ({active_removals} active) of {} ({active_managed} active)", managed.len());
        let with_attr = |test: &dyn Fn(&AttrChange) -> bool| {
            going.iter().filter(|c| c.changes.iter().any(test)).count()
        };
        let identity = with_attr(&|a| a.attr == Attr::Email
            && a.before.as_ref().and_then(|v| v.as_str()).is_some_and(|v| !v.is_empty()));
        prop_assert!(within(identity, 1, managed.len()), "identity changes {identity}");
        let reactivations = with_attr(&|a| a.attr == Attr::Active
            && a.before == Some(json!(false)) && a.after == Some(json!(true)));
        prop_assert!(within(reactivations, 2, managed.len()), "reactivations {reactivations}");
        let clears = with_attr(&|a| matches!(&a.attr, Attr::Mapped(_))
            && a.before.is_some() && a.after.is_none());
        prop_assert!(within(clears, 3, managed.len()), "clears {clears}");
        let creates = going.iter().filter(|c| c.kind == ChangeKind::Create).count();
        prop_assert!(within(creates, 4, managed.len()), "creates {creates}");

        // Approving the plan's hash lets all of it through, but for what no approval releases.
        let approved = plan(&PlanInput { approved_hash: Some(&limited.hash), ..input }, &guarded);
        let approved_whole = plan(&PlanInput { approved_hash: Some(&whole.hash), ..input }, &unguarded);
        prop_assert_eq!(limited.hash, whole.hash.clone());
        prop_assert_eq!(approved.changes, approved_whole.changes);
    }

    #[test]
    fn a_seat_limit_is_never_passed_and_the_seats_go_in_start_date_order(
        (generated, users) in scenario(),
        limit in 1u32..30,
        absent in prop_oneof![Just("Delete"), Just("Deactivate")],
    ) {
        let mut policy = converging_policy(absent);
        policy.safeguards.seat_limit = Some(limit);
        let employees = employees_of(&generated);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.json");
        file::store(&path, &build_users(&users)).unwrap();
        let target = FileTarget::new(path);
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let mapped = policy.mapped_attributes();
        let plan_now = |users: &[DirectoryUser]| plan(&input(&employees, users), &policy);
        let active = |users: &[DirectoryUser]| users.iter().filter(|u| u.active).count();

        let before = runtime.block_on(target.list_users(&mapped)).unwrap();
        let first = plan_now(&before);
        let applied = runtime.block_on(apply(&first, &before, &target));
        prop_assert!(applied.outcomes.iter().all(|o| *o == Outcome::Applied), "{:?}", applied.outcomes);
        prop_assert!(applied.link_failures.is_empty(), "{:?}", applied.link_failures);
        let after = runtime.block_on(target.list_users(&mapped)).unwrap();
        let seats = first.seats.as_ref().unwrap();
        prop_assert_eq!(seats.active_before, active(&before));
        prop_assert_eq!(seats.active_after, active(&after));
        // Nobody took a seat past the limit; when someone waits, no seat is left unused.
        let limit = limit as usize;
        prop_assert!(seats.taking.is_empty() || active(&after) <= limit);
        if !first.held_back().is_empty() {
            let freed = seats.freeing.len();
            prop_assert_eq!(active(&after), limit.max(seats.active_before - freed));
        }
        // Whoever waits starts no earlier than anyone who got a seat.
        let place = |employee_id: Option<&str>| {
            let start = employees
                .iter()
                .find(|e| Some(e.id.as_str()) == employee_id)
                .and_then(|e| e.start_date);
            (start.is_none(), start, employee_id.unwrap_or_default().to_owned())
        };
        let last_seated = seats.taking.iter().map(|&i| place(first.changes[i].employee_id.as_deref())).max();
        let first_waiting = first.held_back().iter().map(|c| place(c.employee_id.as_deref())).min();
        if let (Some(seated), Some(waiting)) = (last_seated, first_waiting) {
            prop_assert!(seated < waiting, "{seated:?} got a seat before {waiting:?}");
        }
        // Planned again: nothing to do, and the same people wait.
        let second = plan_now(&after);
        prop_assert!(second.changes.is_empty(), "second plan: {:#?}", second.changes);
        let ids = |plan: &hris_operator::sync::plan::Plan| -> Vec<String> {
            plan.held_back().iter().map(|c| c.external_id.to_string()).collect()
        };
        prop_assert_eq!(ids(&second), ids(&first));
    }
}

/// Guards that never trip, so a property about another rule sees the whole plan.
const NO_GUARDS: &str =
    "{removals: {}, identityChanges: {}, reactivations: {}, attributeClears: {}, creates: {}}";

fn is_managed(user: &DirectoryUser) -> bool {
    user.external_id
        .as_deref()
        .and_then(|id| id.strip_prefix(PREFIX))
        .is_some_and(|rest| !rest.is_empty() && !rest.contains(':'))
}

fn listed_users(users: &[GenUser]) -> Vec<DirectoryUser> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.json");
    file::store(&path, &build_users(users)).unwrap();
    runtime
        .block_on(FileTarget::new(path).list_users(&["dept".into()]))
        .unwrap()
}

#[test]
fn the_chosen_email_is_what_email_filters_see() {
    let mut e = build_employee(
        3,
        &GenEmployee {
            status: 0,
            start: None,
            end: None,
            department: 0,
            manager: None,
            email: 1,
            last_name: 0,
        },
    );
    e.emails.push(Email {
        address: "x@home.example".into(),
        kind: EmailType::Personal,
    });
    let policy =
        policy("filters: [{field: email, operator: Include, values: [person3@corp.example]}]");
    let email = choose_email(&e, &policy.email_priority);
    assert!(keep(&e, email, &policy.filters));
}

/// 96 cases by default; `PROPTEST_CASES` raises it for a deeper search.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(96)
}
