//! The sync rules of the README, one test per rule, through the pure planner.

use crate::common;

use common::*;
use hris_operator::sync::{
    model::{Attr, Email, EmailType, EmploymentStatus, RecordError},
    plan::{ChangeKind, ConflictKind, PlanInput, Reason, SkipReason, plan},
    safeguard::GuardKind,
};
use jiff::civil::date;
use serde_json::{Value, json};

#[test]
fn joiners_are_created_with_standard_fields_and_default_language() {
    let policy = policy("defaults: {preferredLanguage: sv}");
    let mut ada = employee("1", "Ada");
    ada.preferred_language = Some("en".into());
    let bo = employee("2", "Bo");
    let plan = run(&[ada, bo], &[], &policy);
    assert_eq!(
        summary(&plan),
        pairs(&[("Create", "hr:1"), ("Create", "hr:2")])
    );
    let created = plan.changes[1].create.as_ref().unwrap();
    assert_eq!(created.email, "bo@corp.example");
    assert_eq!(created.first_name, "Bo");
    assert_eq!(created.preferred_language.as_deref(), Some("sv"));
    assert!(created.active);
    assert_eq!(
        plan.changes[0]
            .create
            .as_ref()
            .unwrap()
            .preferred_language
            .as_deref(),
        Some("en")
    );
}

#[test]
fn an_up_to_date_user_is_unchanged_and_a_mover_gets_exactly_the_changed_attributes() {
    let policy =
        policy("attributeMapping: [{from: department, to: dept}, {from: title, to: title}]");
    let mut ada = employee("1", "Ada");
    ada.department = Some("Sales".into());
    ada.title = Some("Rep".into());
    let mut user = user_of("u1", &ada);
    user.attributes.set("dept".into(), json!("Sales"));
    user.attributes.set("title".into(), json!("Rep"));
    let plan_same = run(
        std::slice::from_ref(&ada),
        std::slice::from_ref(&user),
        &policy,
    );
    assert!(plan_same.changes.is_empty());
    assert_eq!(plan_same.unchanged, 1);

    ada.department = Some("Engineering".into());
    ada.last_name = "Married".into();
    let plan = run(&[ada], &[user], &policy);
    assert_eq!(summary(&plan), pairs(&[("Update", "hr:1")]));
    let changed: Vec<_> = plan.changes[0]
        .changes
        .iter()
        .map(|c| (c.attr.name().to_owned(), c.before.clone(), c.after.clone()))
        .collect();
    assert_eq!(
        changed,
        vec![
            (
                "lastName".into(),
                Some(json!("Test")),
                Some(json!("Married"))
            ),
            (
                "dept".into(),
                Some(json!("Sales")),
                Some(json!("Engineering"))
            ),
        ]
    );
    assert_eq!(plan.changes[0].reason, Reason::Changed);
}

#[test]
fn a_mapped_value_removed_in_hr_is_cleared_in_the_target() {
    // One user of one clears every title: the guard on clears is off to see the rule alone.
    let policy =
        policy("attributeMapping: [{from: title, to: title}]\nsafeguards: {attributeClears: {}}");
    let ada = employee("1", "Ada");
    let mut user = user_of("u1", &ada);
    user.attributes.set("title".into(), json!("Rep"));
    let plan = run(&[ada], &[user], &policy);
    assert_eq!(plan.changes[0].changes[0].after, None);
}

#[test]
fn emails_compare_case_insensitively() {
    let policy = policy("");
    let ada = employee("1", "Ada");
    let mut user = user_of("u1", &ada);
    user.email = Some("ADA@Corp.Example".into());
    let plan = run(&[ada], &[user], &policy);
    assert!(plan.changes.is_empty(), "{:?}", plan.changes);
}

#[test]
fn personal_addresses_are_used_only_when_allowed() {
    let mut bo = employee("2", "Bo");
    bo.emails = vec![Email {
        address: "bo@home.example".into(),
        kind: EmailType::Personal,
    }];
    let allowed = run(std::slice::from_ref(&bo), &[], &policy(""));
    assert_eq!(
        allowed.changes[0].create.as_ref().unwrap().email,
        "bo@home.example"
    );
    let denied = run(&[bo], &[], &policy("emails: {includePersonal: false}"));
    assert!(denied.changes.is_empty());
    assert_eq!(denied.skipped[0].reason, SkipReason::NoUsableEmail(None));
}

#[test]
fn unmanaged_user_found_by_email_is_adopted_and_others_are_never_touched() {
    let policy = policy("");
    let ada = employee("1", "Ada");
    let users = [
        unmanaged("u1", "ADA@corp.example"),
        unmanaged("u2", "build-bot@corp.example"),
    ];
    let plan = run(&[ada], &users, &policy);
    assert_eq!(summary(&plan), pairs(&[("Update", "hr:1")]));
    let change = &plan.changes[0];
    assert_eq!(change.reason, Reason::Adopted);
    assert_eq!(change.target_id.as_deref(), Some("u1"));
    assert!(
        change
            .changes
            .iter()
            .any(|c| c.attr == Attr::ExternalId && c.after == Some(json!("hr:1")))
    );
    assert_eq!(plan.managed_users, 0);
}

#[test]
fn an_email_held_by_another_managed_user_is_a_conflict_not_a_guess() {
    let policy = policy("");
    let ada = employee("1", "Ada");
    let mut other = unmanaged("u9", "ada@corp.example");
    other.external_id = Some("hr:77".into());
    // p:77 is still an employee, so it is not absent either.
    let mut seventy_seven = employee("77", "Sven");
    seventy_seven.emails[0].address = "sven@corp.example".into();
    let plan = run(&[ada, seventy_seven], &[other], &policy);
    assert_eq!(plan.conflicts.len(), 1);
    assert_eq!(plan.conflicts[0].kind, ConflictKind::EmailTaken);
    assert_eq!(plan.conflicts[0].target_ids, vec!["u9"]);
    assert_eq!(plan.conflicts[0].holders, vec!["hr:77"]);
    assert!(plan.conflicts[0].resolution().contains("user u9 (hr:77)"));
    // The account in the conflict is left exactly as it is, even by its own employee, until
    // a person resolves the conflict.
    assert!(plan.changes.is_empty());
    assert_eq!(plan.skipped.len(), 1);
    assert_eq!(plan.skipped[0].external_id, "hr:77");
    assert_eq!(plan.skipped[0].reason, SkipReason::InConflict);
}

#[test]
fn matching_more_than_one_user_or_one_user_twice_is_a_conflict() {
    let policy = policy("");
    let ada = employee("1", "Ada");
    let mut twin = user_of("u2", &ada);
    twin.email = Some("other@corp.example".into());
    let plan = run(
        std::slice::from_ref(&ada),
        &[user_of("u1", &ada), twin],
        &policy,
    );
    assert_eq!(plan.conflicts[0].kind, ConflictKind::MultipleMatches);
    assert_eq!(plan.conflicts[0].target_ids, vec!["u1", "u2"]);
    assert!(
        plan.changes.is_empty(),
        "both users are protected: {:?}",
        plan.changes
    );

    // Two employees whose email finds the same unmanaged user.
    let mut ada2 = employee("2", "Ada");
    ada2.last_name = "Other".into();
    let plan = run(
        &[ada, ada2],
        &[unmanaged("u1", "ada@corp.example")],
        &policy,
    );
    let kinds: Vec<_> = plan.conflicts.iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds,
        vec![ConflictKind::SharedUser, ConflictKind::SharedUser]
    );
    assert!(plan.changes.is_empty());
}

#[test]
fn duplicate_new_emails_and_duplicate_ids_are_conflicts() {
    let policy = policy("");
    let ada = employee("1", "Ada");
    let mut ada_again = employee("2", "Ada");
    ada_again.last_name = "Two".into();
    let dup_id_a = employee("3", "Cy");
    let dup_id_b = employee("3", "Di");
    let plan = run(&[ada, ada_again, dup_id_a, dup_id_b], &[], &policy);
    let kinds: Vec<_> = plan
        .conflicts
        .iter()
        .map(|c| (c.employee_id.to_string(), c.kind))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("1".into(), ConflictKind::DuplicateEmail),
            ("2".into(), ConflictKind::DuplicateEmail),
            ("3".into(), ConflictKind::DuplicateEmployeeId),
            ("3".into(), ConflictKind::DuplicateEmployeeId),
        ]
    );
    assert!(plan.changes.is_empty());
}

#[test]
fn matching_order_email_only_still_protects_external_ids() {
    let policy = policy("matching: [externalId]");
    let ada = employee("1", "Ada");
    // Email matching is off: an unmanaged holder of the email blocks the create.
    let plan = run(&[ada], &[unmanaged("u1", "ada@corp.example")], &policy);
    assert_eq!(plan.conflicts[0].kind, ConflictKind::EmailTaken);
    assert!(plan.changes.is_empty());
}

#[test]
fn leavers_are_deactivated_then_deleted_after_the_removal_delay() {
    let policy = policy(
        "lifecycle: {removal: {policy: AfterMonths, months: 6}}\nsafeguards: {maxDeletePercent: 100}",
    );
    let mut left_recently = employee("1", "Ada");
    left_recently.employment_status = EmploymentStatus::Inactive;
    left_recently.end_date = Some(date(2026, 10, 31));
    let mut left_long_ago = employee("2", "Bo");
    left_long_ago.employment_status = EmploymentStatus::Inactive;
    left_long_ago.end_date = Some(date(2026, 3, 31));
    let mut never_provisioned = employee("3", "Cy");
    never_provisioned.employment_status = EmploymentStatus::Inactive;
    let users = [user_of("u1", &left_recently), user_of("u2", &left_long_ago)];
    let plan = run(
        &[left_recently, left_long_ago, never_provisioned],
        &users,
        &policy,
    );
    assert_eq!(
        summary(&plan),
        pairs(&[("Deactivate", "hr:1"), ("Delete", "hr:2")])
    );
    assert_eq!(plan.changes[1].reason, Reason::RemovalDue);
}

#[test]
fn an_already_deactivated_leaver_is_unchanged() {
    let policy = policy("");
    let mut ada = employee("1", "Ada");
    ada.employment_status = EmploymentStatus::Inactive;
    let mut user = user_of("u1", &ada);
    user.active = false;
    let plan = run(&[ada], &[user], &policy);
    assert!(plan.changes.is_empty());
    assert_eq!(plan.unchanged, 1);
}

#[test]
fn a_rehire_reactivates_the_same_user_instead_of_creating_another() {
    let policy = policy("safeguards: {reactivations: {}}");
    let ada = employee("1", "Ada");
    let mut user = user_of("u1", &ada);
    user.active = false;
    let plan = run(&[ada], &[user], &policy);
    assert_eq!(summary(&plan), pairs(&[("Update", "hr:1")]));
    assert_eq!(plan.changes[0].reason, Reason::Reactivated);
    assert_eq!(plan.changes[0].target_id.as_deref(), Some("u1"));
}

#[test]
fn a_leaver_matching_an_unmanaged_user_is_skipped_not_adopted() {
    let policy = policy("");
    let mut ada = employee("1", "Ada");
    ada.employment_status = EmploymentStatus::Inactive;
    let plan = run(&[ada], &[unmanaged("u1", "ada@corp.example")], &policy);
    assert!(plan.changes.is_empty());
    assert_eq!(plan.skipped[0].reason, SkipReason::LeaverNotManaged);
}

#[test]
fn pre_hires_are_created_inactive_and_activated_on_the_start_date() {
    let policy = policy("lifecycle: {preHireDays: 10}\nsafeguards: {reactivations: {}}");
    let mut joiner = employee("1", "Ada");
    joiner.employment_status = EmploymentStatus::Pending;
    joiner.start_date = Some(date(2026, 12, 1));
    let mut far_future = employee("2", "Bo");
    far_future.start_date = Some(date(2027, 1, 10));
    let plan = run(&[joiner.clone(), far_future], &[], &policy);
    assert_eq!(summary(&plan), pairs(&[("Create", "hr:1")]));
    assert!(!plan.changes[0].create.as_ref().unwrap().active);
    assert_eq!(plan.changes[0].reason, Reason::PreHire);
    assert_eq!(
        plan.skipped[0].reason,
        SkipReason::NotYetStarted(date(2026, 12, 31))
    );

    let mut inactive_user = user_of("u1", &joiner);
    inactive_user.active = false;
    let (employees, users) = ([joiner], [inactive_user]);
    let on_start = hris_operator::sync::plan::plan(
        &PlanInput {
            as_of: date(2026, 12, 1),
            ..input(&employees, &users)
        },
        &policy,
    );
    assert_eq!(summary(&on_start), pairs(&[("Update", "hr:1")]));
    assert_eq!(on_start.changes[0].reason, Reason::Reactivated);
}

#[test]
fn absent_and_filtered_out_managed_users_follow_absent_users() {
    let policy = policy(
        "filters: [{field: department, operator: Exclude, values: [contractors]}]\nlifecycle: {absentUsers: Delete}\nsafeguards: {maxDeletePercent: 100}",
    );
    let stays = employee("1", "Ada");
    let mut contractor = employee("2", "Bo");
    contractor.department = Some("Contractors".into());
    let gone = employee("3", "Cy");
    let users = [
        user_of("u1", &stays),
        user_of("u2", &contractor),
        user_of("u3", &gone),
        unmanaged("u4", "it-admin@corp.example"),
    ];
    let plan = run(&[stays, contractor], &users, &policy);
    assert_eq!(
        summary(&plan),
        pairs(&[("Delete", "hr:2"), ("Delete", "hr:3")])
    );
    assert!(plan.changes.iter().all(|c| c.reason == Reason::Absent));

    let deactivate = policy_with_absent("Deactivate");
    let plan = run(&[employee("1", "Ada")], &users, &deactivate);
    assert_eq!(
        summary(&plan),
        pairs(&[("Deactivate", "hr:2"), ("Deactivate", "hr:3")])
    );
    let ignore = policy_with_absent("Ignore");
    assert!(
        run(&[employee("1", "Ada")], &users, &ignore)
            .changes
            .is_empty()
    );
}

fn policy_with_absent(action: &str) -> hris_operator::sync::policy::SyncPolicy {
    policy(&format!(
        "lifecycle: {{absentUsers: {action}}}\nsafeguards: {{maxDeletePercent: 100}}"
    ))
}

#[test]
fn an_unreadable_source_record_protects_its_user() {
    let policy = policy("lifecycle: {absentUsers: Delete}\nsafeguards: {maxDeletePercent: 100}");
    let ada = employee("1", "Ada");
    let broken = employee("2", "Bo");
    let users = [user_of("u1", &ada), user_of("u2", &broken)];
    let errors = [RecordError {
        line: Some(3),
        employee_id: Some("2".into()),
        field: Some("startDate".into()),
        message: "bad".into(),
    }];
    let employees = [ada];
    let plan = plan(
        &PlanInput {
            record_errors: &errors,
            ..input(&employees, &users)
        },
        &policy,
    );
    assert!(plan.changes.is_empty(), "{:?}", plan.changes);
}

#[test]
fn a_source_record_that_names_no_employee_keeps_every_absent_user() {
    // The record could be anyone's: no absent user is removed on a guess, each is reported.
    for action in ["Delete", "Deactivate"] {
        let policy = policy_with_absent(action);
        let ada = employee("1", "Ada");
        let users = [
            user_of("u1", &ada),
            user_of("u2", &employee("2", "Bo")),
            user_of("u3", &employee("3", "Cy")),
        ];
        let errors = [RecordError {
            line: Some(4),
            employee_id: None,
            field: Some("id".into()),
            message: "the id is empty".into(),
        }];
        let employees = [ada.clone()];
        let kept = plan(
            &PlanInput {
                record_errors: &errors,
                ..input(&employees, &users)
            },
            &policy,
        );
        assert!(kept.changes.is_empty(), "{action}: {:?}", kept.changes);
        let skipped: Vec<_> = kept
            .skipped
            .iter()
            .map(|s| (s.external_id.as_str(), s.reason.clone()))
            .collect();
        assert_eq!(
            skipped,
            vec![
                ("hr:2", SkipReason::AbsentWhileRecordsUnreadable(1)),
                ("hr:3", SkipReason::AbsentWhileRecordsUnreadable(1)),
            ],
            "{action}"
        );
        // Once the record is readable (or gone), the absent users follow absentUsers again.
        let removed = run(&employees, &users, &policy);
        assert_eq!(
            summary(&removed),
            pairs(&[(action, "hr:2"), (action, "hr:3")]),
            "{action}"
        );
    }
}

#[test]
fn managers_are_linked_by_external_id_including_managers_created_in_the_same_run() {
    let policy = policy("");
    let boss = employee("1", "Boss");
    let mut new_lead = employee("2", "Lead");
    new_lead.manager_id = Some("1".into());
    let mut new_report = employee("3", "Report");
    new_report.manager_id = Some("2".into());
    let mut existing = employee("4", "Old");
    existing.manager_id = Some("2".into());
    let mut orphan = employee("5", "Orphan");
    orphan.manager_id = Some("999".into());
    let boss_user = user_of("u1", &boss);
    let mut existing_user = user_of("u4", &existing);
    existing_user.manager_id = Some("u1".into());
    let plan = run(
        &[boss, new_lead, new_report, existing, orphan],
        &[boss_user, existing_user],
        &policy,
    );
    let manager_of = |ext: &str| {
        plan.changes
            .iter()
            .find(|c| c.external_id == ext)
            .and_then(|c| c.create.as_ref())
            .and_then(|u| u.manager.clone())
    };
    assert_eq!(manager_of("hr:2").as_deref(), Some("hr:1"));
    assert_eq!(manager_of("hr:3").as_deref(), Some("hr:2"));
    assert_eq!(manager_of("hr:5"), None, "an unknown manager is not linked");
    let moved = plan
        .changes
        .iter()
        .find(|c| c.external_id == "hr:4")
        .unwrap();
    assert_eq!(moved.changes[0].attr, Attr::Manager);
    assert_eq!(moved.changes[0].before, Some(json!("hr:1")));
    assert_eq!(moved.changes[0].after, Some(json!("hr:2")));
}

#[test]
fn operation_switches_turn_kinds_of_changes_into_skips() {
    let policy = policy(
        "operations: {create: true, update: false, deactivate: false, delete: false}\nlifecycle: {absentUsers: Delete}\nsafeguards: {maxDeletePercent: 100}",
    );
    let mut mover = employee("1", "Ada");
    let user = user_of("u1", &mover);
    mover.last_name = "New".into();
    let joiner = employee("2", "Bo");
    let absent = employee("3", "Cy");
    let plan = run(&[mover, joiner], &[user, user_of("u3", &absent)], &policy);
    assert_eq!(summary(&plan), pairs(&[("Create", "hr:2")]));
    let skipped: Vec<_> = plan.skipped.iter().map(|s| s.reason.clone()).collect();
    assert_eq!(
        skipped,
        vec![
            SkipReason::OperationDisabled(ChangeKind::Update),
            SkipReason::OperationDisabled(ChangeKind::Delete),
        ]
    );
}

fn approve(
    employees: &[hris_operator::sync::model::Employee],
    users: &[hris_operator::sync::model::DirectoryUser],
    policy: &hris_operator::sync::policy::SyncPolicy,
    hash: &str,
) -> hris_operator::sync::plan::Plan {
    plan(
        &PlanInput {
            approved_hash: Some(hash),
            ..input(employees, users)
        },
        policy,
    )
}

#[test]
fn safeguards_withhold_removals_but_let_creates_and_updates_through() {
    let policy = policy("safeguards: {maxDeletePercent: 20}");
    let (people, users) = staff(10);
    let mut remaining: Vec<_> = people[3..].to_vec();
    remaining[0].last_name = "Moved".into();
    remaining.push(employee("new", "Newbie"));
    let plan = run(&remaining, &users, &policy);
    assert_eq!(
        summary(&plan),
        pairs(&[("Create", "hr:new"), ("Update", "hr:3")])
    );
    assert_eq!(plan.withheld.len(), 3);
    let trip = plan.safeguard.as_ref().unwrap();
    assert_eq!((trip.withheld, trip.managed_users), (3, 10));
    assert_eq!(trip.guards.len(), 1);
    assert_eq!(trip.guards[0].guard, GuardKind::Removals);
    assert_eq!((trip.guards[0].changes, trip.guards[0].base), (3, 10));
    assert_eq!(
        trip.limit,
        "removals: 3 of 10 active managed users (30%) is more than maxPercent 20%"
    );

    // The hash is stable, and approving it lets exactly that plan through.
    let again = run(&remaining, &users, &policy);
    assert_eq!(again.hash, plan.hash);
    let approved = approve(&remaining, &users, &policy, &plan.hash);
    assert!(approved.safeguard.is_none());
    assert_eq!(approved.count(ChangeKind::Deactivate), 3);
    // A different plan is not let through by that approval: none of it is applied.
    let fewer = approve(&remaining[1..], &users, &policy, &plan.hash);
    assert!(
        fewer
            .safeguard
            .as_ref()
            .unwrap()
            .limit
            .contains("the plan changed since")
    );
    assert!(fewer.changes.is_empty(), "not even its creates and updates");
    assert!(fewer.withheld.iter().any(|c| c.kind == ChangeKind::Create));
}

#[test]
fn the_count_safeguard_applies_when_set() {
    let policy = policy("safeguards: {maxDeletePercent: 100, maxDeleteCount: 2}");
    let (people, users) = staff(10);
    assert!(run(&people[2..], &users, &policy).safeguard.is_none());
    let plan = run(&people[3..], &users, &policy);
    assert!(
        plan.safeguard
            .as_ref()
            .unwrap()
            .limit
            .contains("removals: 3 is more than maxCount 2")
    );
}

#[test]
fn an_empty_source_never_removes_anyone_even_when_approved() {
    let policy = policy("safeguards: {maxDeletePercent: 100}\nlifecycle: {absentUsers: Delete}");
    let (_, users) = staff(3);
    let plan = run(&[], &users, &policy);
    assert!(plan.changes.is_empty());
    assert_eq!(plan.withheld.len(), 3);
    assert!(plan.safeguard.as_ref().unwrap().empty_source);
    let approved = approve(&[], &users, &policy, &plan.hash);
    assert!(approved.changes.is_empty());
}

#[test]
fn not_yet_active_users_are_counted_as_removals() {
    let policy = policy("lifecycle: {activation: {afterStartMonths: 2}}");
    let mut ada = employee("1", "Ada");
    ada.start_date = Some(date(2026, 11, 1));
    let user = user_of("u1", &ada);
    let plan = run(&[ada], &[user], &policy);
    assert_eq!(plan.safeguard.as_ref().map(|t| t.withheld), Some(1));
    assert_eq!(plan.withheld[0].reason, Reason::NotYetActive);
    assert_eq!(plan.withheld[0].changes[0].after, Some(Value::Bool(false)));
}

#[test]
fn a_target_that_cannot_delete_gets_deactivations_instead() {
    let policy = policy(
        "lifecycle: {absentUsers: Delete, inactiveUsers: Delete}\nsafeguards: {maxDeletePercent: 100}",
    );
    let mut leaver = employee("1", "Ada");
    leaver.employment_status = EmploymentStatus::Inactive;
    let gone = employee("2", "Bo");
    let mut gone_inactive_user = user_of("u3", &employee("3", "Cy"));
    gone_inactive_user.active = false;
    let users = [
        user_of("u1", &leaver),
        user_of("u2", &gone),
        gone_inactive_user,
    ];
    let employees = [leaver];
    let plan = plan(
        &PlanInput {
            deletes: false,
            ..input(&employees, &users)
        },
        &policy,
    );
    assert_eq!(
        summary(&plan),
        pairs(&[("Deactivate", "hr:1"), ("Deactivate", "hr:2")])
    );
    assert_eq!(plan.unchanged, 1, "an already inactive user needs nothing");
}
