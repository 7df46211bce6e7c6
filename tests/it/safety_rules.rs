//! What a broken export, a typo or a lying source does to a plan, through the pure planner:
//! every kind of change has a guard, conflicts freeze the accounts in them, adoption happens
//! only when certain, prefixes cannot nest, and emails match only when they are one address.

use crate::common;

use common::*;
use hris_operator::sync::{
    model::{Attr, DirectoryUser, Email, EmailType, Employee, EmploymentStatus},
    plan::{ChangeKind, ConflictKind, Plan, PlanInput, Reason, SkipReason, plan},
    policy::SyncPolicy,
    safeguard::GuardKind,
};
use jiff::civil::date;
use serde_json::json;

fn approve(
    employees: &[Employee],
    users: &[DirectoryUser],
    policy: &SyncPolicy,
    hash: &str,
) -> Plan {
    plan(
        &PlanInput {
            approved_hash: Some(hash),
            ..input(employees, users)
        },
        policy,
    )
}

fn guards(plan: &Plan) -> Vec<(GuardKind, usize, usize)> {
    plan.safeguard
        .iter()
        .flat_map(|t| &t.guards)
        .map(|g| (g.guard, g.changes, g.base))
        .collect()
}

#[test]
fn removals_count_against_the_active_managed_users_not_the_long_deactivated_ones() {
    // 10 active users and 40 leavers deactivated years ago (removal: Never keeps them); the
    // export returns only the 40 leavers.
    let policy = policy("");
    let (mut people, mut users) = staff(50);
    for (person, user) in people.iter_mut().zip(&mut users).skip(10) {
        person.employment_status = EmploymentStatus::Inactive;
        person.end_date = Some(date(2021, 3, 31));
        user.active = false;
    }
    let plan = run(&people[10..], &users, &policy);
    assert!(plan.changes.is_empty(), "{:?}", summary(&plan));
    assert_eq!(plan.withheld.len(), 10);
    assert!(
        plan.withheld
            .iter()
            .all(|c| c.kind == ChangeKind::Deactivate)
    );
    assert_eq!(guards(&plan), [(GuardKind::Removals, 10, 10)]);
    let limit = &plan.safeguard.as_ref().unwrap().limit;
    assert!(
        limit.contains("10 of 10 active managed users (100%)"),
        "{limit}"
    );
}

#[test]
fn deleting_many_deactivated_users_at_once_is_guarded_against_all_managed_users() {
    let policy = policy("lifecycle: {absentUsers: Delete}");
    let (people, mut users) = staff(50);
    for user in &mut users[10..] {
        user.active = false;
    }
    // The export lost the 40 deactivated people: deleting them is 40 of 50 managed users.
    let plan = run(&people[..10], &users, &policy);
    assert_eq!(plan.withheld.len(), 40);
    assert_eq!(guards(&plan), [(GuardKind::Removals, 40, 50)]);
}

#[test]
fn an_ordinary_day_trips_no_guard() {
    // 200 people: two joiners, two leavers, five movers, one married name and address,
    // one rehire, one title cleared.
    let policy = policy("attributeMapping: [{from: title, to: title}]");
    let (mut people, mut users) = staff(200);
    for (person, user) in people.iter_mut().zip(&mut users) {
        person.title = Some("Engineer".into());
        user.attributes.set("title".into(), json!("Engineer"));
    }
    people.push(employee("new1", "Newa"));
    people.push(employee("new2", "Newb"));
    for person in &mut people[0..2] {
        person.employment_status = EmploymentStatus::Inactive;
    }
    for person in &mut people[2..7] {
        person.title = Some("Senior Engineer".into());
    }
    people[7].last_name = "Lind".into();
    people[7].emails[0].address = "p7.lind@corp.example".into();
    users[8].active = false;
    people[9].title = None;
    let plan = run(&people, &users, &policy);
    assert!(plan.safeguard.is_none(), "{:?}", plan.safeguard);
    assert_eq!(plan.count(ChangeKind::Create), 2);
    assert_eq!(plan.count(ChangeKind::Deactivate), 2);
    assert_eq!(plan.count(ChangeKind::Update), 8);
}

#[test]
fn work_addresses_replaced_by_personal_ones_are_held_even_for_one_person() {
    // The source stopped returning work addresses (a permission lost): everyone's email and
    // login would move to a private address.
    let policy = policy("");
    let (mut people, users) = staff(50);
    for person in &mut people {
        let personal = format!("{}@home.example", person.first_name.to_lowercase());
        person.emails = vec![Email {
            address: personal.into(),
            kind: EmailType::Personal,
        }];
    }
    let plan = run(&people, &users, &policy);
    assert!(plan.changes.is_empty());
    assert_eq!(plan.withheld.len(), 50);
    assert!(
        plan.withheld
            .iter()
            .all(|c| c.changes.iter().any(|a| a.attr == Attr::Email))
    );
    assert!(guards(&plan).contains(&(GuardKind::IdentityChanges, 50, 50)));

    // One person of fifty is below every percentage, and still held: approval releases it.
    let (mut people, users) = staff(50);
    people[3].emails.insert(
        0,
        Email {
            address: "p3@home.example".into(),
            kind: EmailType::Personal,
        },
    );
    people[3].emails.truncate(1);
    let one = run(&people, &users, &policy);
    assert_eq!(one.withheld.len(), 1);
    let limit = &one.safeguard.as_ref().unwrap().limit;
    assert!(
        limit.contains("personal one, which always needs approval"),
        "{limit}"
    );
    let approved = approve(&people, &users, &policy, &one.hash);
    assert!(approved.safeguard.is_none());
    assert_eq!(approved.changes.len(), 1);
}

#[test]
fn many_email_changes_are_held_as_identity_changes() {
    let policy = policy("");
    let (mut people, users) = staff(20);
    for person in &mut people[..3] {
        person.emails[0].address = format!("{}.new@corp.example", person.first_name).into();
    }
    let plan = run(&people, &users, &policy);
    assert_eq!(guards(&plan), [(GuardKind::IdentityChanges, 3, 20)]);
    assert_eq!(plan.withheld.len(), 3);
    // Two of twenty is within 10%.
    people[0].emails[0].address = "p0@corp.example".into();
    let fine = run(&people, &users, &policy);
    assert!(fine.safeguard.is_none(), "{:?}", fine.safeguard);
    assert_eq!(fine.count(ChangeKind::Update), 2);
}

#[test]
fn leavers_coming_back_as_active_are_held_as_reactivations() {
    // maxDeleteCount says nothing about reactivations; their own guard holds them.
    let policy = policy("safeguards: {maxDeletePercent: 20, maxDeleteCount: 5}");
    let (people, mut users) = staff(50);
    for user in &mut users[20..] {
        user.active = false;
    }
    let plan = run(&people, &users, &policy);
    assert!(plan.changes.is_empty());
    assert_eq!(plan.withheld.len(), 30);
    assert!(
        plan.withheld
            .iter()
            .all(|c| c.reason == Reason::Reactivated)
    );
    assert_eq!(guards(&plan), [(GuardKind::Reactivations, 30, 50)]);
}

#[test]
fn attribute_clears_are_guarded_per_attribute() {
    let policy = policy(
        "attributeMapping: [{from: customFields.costCenter, to: costCenter}, {from: title, to: title}]",
    );
    let (mut people, mut users) = staff(10);
    for (person, user) in people.iter_mut().zip(&mut users) {
        user.attributes.set("costCenter".into(), json!("CC-1"));
        user.attributes.set("title".into(), json!("Engineer"));
        person.title = Some("Engineer".into());
    }
    // Every cost center is gone from the export; one title is cleared in HR.
    people[0].title = None;
    let plan = run(&people, &users, &policy);
    assert_eq!(guards(&plan), [(GuardKind::AttributeClears, 10, 10)]);
    let trip = &plan.safeguard.as_ref().unwrap().guards[0];
    assert_eq!(trip.attribute.as_deref(), Some("costCenter"));
    // Each user clears costCenter, so every update is held, the title clear with it.
    assert_eq!(plan.withheld.len(), 10);
    assert!(plan.changes.is_empty());

    // The title clear alone (1 of 10) goes.
    for (person, user) in people.iter_mut().zip(&users) {
        person.custom_fields.insert(
            "costCenter",
            user.attributes.get("costCenter").unwrap().clone(),
        );
    }
    let plan = run(&people, &users, &policy);
    assert!(plan.safeguard.is_none());
    assert_eq!(summary(&plan), pairs(&[("Update", "hr:0")]));
}

#[test]
fn creates_are_unguarded_by_default_and_guarded_when_set() {
    let (people, _) = staff(20);
    let first_sync = run(&people, &[], &policy(""));
    assert_eq!(first_sync.count(ChangeKind::Create), 20);
    assert!(first_sync.safeguard.is_none());

    let limited = run(
        &people,
        &[],
        &policy("safeguards: {creates: {maxCount: 5}}"),
    );
    assert_eq!(limited.withheld.len(), 20);
    assert_eq!(guards(&limited), [(GuardKind::Creates, 20, 0)]);
    assert!(
        limited
            .safeguard
            .as_ref()
            .unwrap()
            .limit
            .contains("creates: 20 is more than maxCount 5")
    );
}

#[test]
fn tripped_guards_hold_their_changes_together_and_one_approval_releases_them() {
    let policy = policy("");
    let (mut people, mut users) = staff(20);
    for user in &mut users[10..15] {
        user.active = false;
    }
    for person in &mut people[..3] {
        person.emails[0].address = format!("{}.new@corp.example", person.first_name).into();
    }
    people[19].last_name = "Moved".into();
    let plan = run(&people[..19], &users, &policy);
    let tripped: Vec<_> = guards(&plan).into_iter().map(|g| g.0).collect();
    assert_eq!(
        tripped,
        [GuardKind::IdentityChanges, GuardKind::Reactivations]
    );
    // One removal of 15 active users is within 20%; 3 identity changes and 5 reactivations
    // of 20 are not: both are held, the removal goes.
    assert_eq!(summary(&plan), pairs(&[("Deactivate", "hr:19")]));
    assert_eq!(plan.withheld.len(), 8);
    let approved = approve(&people[..19], &users, &policy, &plan.hash);
    assert_eq!(approved.changes.len(), 9);
}

#[test]
fn a_rekeyed_person_freezes_the_old_account_and_says_what_to_change() {
    // HR gave E5 the new id 5X; the target still holds hr:5 with the address.
    let policy = policy("safeguards: {removals: {}}");
    let (mut people, users) = staff(10);
    people[5].id = "5X".into();
    let plan = run(&people, &users, &policy);
    assert_eq!(plan.conflicts.len(), 1);
    let conflict = &plan.conflicts[0];
    assert_eq!(conflict.kind, ConflictKind::ReKeyed);
    assert_eq!(conflict.target_ids, ["u5"]);
    let resolution = conflict.resolution();
    assert!(
        resolution.contains("set that user's externalId to hr:5X in the target"),
        "{resolution}"
    );
    // The old account is neither deactivated as absent nor changed.
    assert!(plan.changes.is_empty(), "{:?}", summary(&plan));
    assert!(plan.withheld.is_empty());
}

#[test]
fn a_leaver_whose_old_address_now_belongs_to_a_new_hire_raises_no_conflict() {
    let policy = policy("");
    let mut leaver = employee("1", "Ada");
    leaver.employment_status = EmploymentStatus::Inactive;
    let mut hire = employee("2", "Ada");
    hire.last_name = "Other".into();
    let hire_user = user_of("u2", &hire);
    let plan = run(&[leaver, hire.clone()], &[hire_user], &policy);
    assert!(plan.conflicts.is_empty(), "{:?}", plan.conflicts);
    assert!(plan.skipped.is_empty(), "{:?}", plan.skipped);
    assert!(plan.changes.is_empty());
    assert_eq!(plan.unchanged, 1);
}

#[test]
fn a_disabled_unmanaged_account_is_never_adopted() {
    let policy = policy("");
    let mut old = unmanaged("u9", "ada@corp.example");
    old.active = false;
    let plan = run(&[employee("1", "Ada")], &[old], &policy);
    assert!(plan.changes.is_empty());
    assert_eq!(plan.conflicts.len(), 1);
    assert_eq!(plan.conflicts[0].kind, ConflictKind::InactiveAccount);
    assert!(
        plan.conflicts[0]
            .resolution()
            .contains("set its externalId to hr:1 to adopt it deliberately")
    );
}

#[test]
fn a_pre_hire_joiner_waits_for_its_start_date_before_adopting_an_active_account() {
    // A contractor becoming an employee on 2026-12-01 keeps working until then.
    let policy = policy("lifecycle: {preHireDays: 14}");
    let mut joiner = employee("1", "Ada");
    joiner.employment_status = EmploymentStatus::Pending;
    joiner.start_date = Some(date(2026, 12, 1));
    let contractor = unmanaged("u9", "ada@corp.example");
    let plan = run(
        std::slice::from_ref(&joiner),
        std::slice::from_ref(&contractor),
        &policy,
    );
    assert!(plan.changes.is_empty());
    assert_eq!(
        plan.skipped[0].reason,
        SkipReason::AdoptionWaitsForStart(Some(date(2026, 12, 1)))
    );

    let employees = [joiner];
    let users = [contractor];
    let on_start = plan_on(&employees, &users, &policy, date(2026, 12, 1));
    assert_eq!(summary(&on_start), pairs(&[("Update", "hr:1")]));
    assert_eq!(on_start.changes[0].reason, Reason::Adopted);
    assert!(
        !on_start.changes[0]
            .changes
            .iter()
            .any(|c| c.attr == Attr::Active)
    );
}

fn plan_on(
    employees: &[Employee],
    users: &[DirectoryUser],
    policy: &SyncPolicy,
    as_of: jiff::civil::Date,
) -> Plan {
    plan(
        &PlanInput {
            as_of,
            ..input(employees, users)
        },
        policy,
    )
}

#[test]
fn a_connection_never_manages_the_users_of_a_longer_prefix() {
    // Connection A is hr:, connection B is hr:contractors:.
    let policy = policy("lifecycle: {absentUsers: Delete}\nsafeguards: {removals: {}}");
    let (people, mut users) = staff(3);
    let mut contractor = unmanaged("c1", "carl@corp.example");
    contractor.external_id = Some("hr:contractors:C1".into());
    users.push(contractor);
    let plan = run(&people, &users, &policy);
    assert!(plan.changes.is_empty(), "{:?}", summary(&plan));
    assert_eq!(plan.managed_users, 3);

    // An employee of A with B's user's address is a conflict, not an adoption.
    let carl = employee("9", "Carl");
    let plan = run(&[carl], &users[3..], &policy);
    assert!(plan.changes.is_empty());
    assert_eq!(plan.conflicts[0].kind, ConflictKind::EmailTaken);
}

#[test]
fn prefixes_must_end_in_a_separator_after_two_characters() {
    for (prefix, refused) in [
        ("acme-hris", true),
        ("a:", true),
        (":", true),
        (" acme:", true),
        ("acme-hris:", false),
        ("hr/", false),
        ("acme|", false),
    ] {
        let yaml = format!(
            "source: {{csv: {{path: e.csv}}}}\ntarget: {{file: {{path: d.json}}}}\nexternalIdPrefix: '{prefix}'"
        );
        let spec = serde_saphyr::from_str(&yaml).unwrap();
        let result = SyncPolicy::compile(&spec);
        assert_eq!(result.is_err(), refused, "{prefix}: {result:?}");
        if let Err(errors) = result {
            assert_eq!(errors.0[0].field, "spec.externalIdPrefix");
        }
    }
}

#[test]
fn an_id_holding_the_separator_is_skipped_not_guessed() {
    let plan = run(&[employee("a:b", "Ada")], &[], &policy(""));
    assert!(plan.changes.is_empty());
    assert_eq!(plan.skipped[0].reason, SkipReason::IdContainsSeparator(':'));
}

#[test]
fn a_kelvin_sign_never_adopts_kates_account() {
    let policy = policy("");
    let mut kate = employee("1", "Kate");
    kate.emails[0].address = "\u{212A}ate@corp.example".into();
    let account = unmanaged("u1", "kate@corp.example");
    let plan = run(&[kate], &[account], &policy);
    assert_eq!(summary(&plan), pairs(&[("Create", "hr:1")]));
    assert!(plan.changes.iter().all(|c| c.target_id.is_none()));
}

#[test]
fn nfd_spellings_and_punycode_domains_find_the_existing_account() {
    let policy = policy("");
    let mut jose = employee("1", "Jose");
    jose.emails[0].address = "jose\u{301}@b\u{fc}cher.example".into();
    let account = unmanaged("u1", "jos\u{e9}@xn--bcher-kva.example");
    let plan = run(&[jose], &[account], &policy);
    assert_eq!(summary(&plan), pairs(&[("Update", "hr:1")]));
    assert_eq!(plan.changes[0].reason, Reason::Adopted);
    assert!(
        !plan.changes[0]
            .changes
            .iter()
            .any(|c| c.attr == Attr::Email),
        "the address is the same one: {:?}",
        plan.changes[0].changes
    );
}

#[test]
fn a_manager_id_differing_only_in_case_is_the_employee_itself() {
    let policy = policy("");
    let mut ada = employee("E5", "Ada");
    ada.manager_id = Some("e5".into());
    let plan = run(&[ada], &[], &policy);
    assert_eq!(plan.changes[0].create.as_ref().unwrap().manager, None);
}

#[test]
fn a_changed_prefix_adopting_every_user_is_held_as_identity_changes() {
    // The users carry the old prefix; the spec now says hr: (a typo, or a rename).
    let policy = policy("");
    let (people, mut users) = staff(20);
    for user in &mut users {
        let old = user.external_id.take().unwrap();
        user.external_id = Some(old.replace("hr:", "acme-hris:").into());
    }
    let plan = run(&people, &users, &policy);
    assert!(plan.changes.is_empty());
    assert_eq!(plan.withheld.len(), 20);
    assert!(plan.withheld.iter().all(|c| c.reason == Reason::Adopted));
    // A base of zero managed users: any such adoption is over any percentage.
    assert_eq!(guards(&plan), [(GuardKind::IdentityChanges, 20, 0)]);
}
