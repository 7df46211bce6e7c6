//! Lifecycle time rules: one evaluation date per run, the calendar date of the
//! run's instant in `schedule.timeZone`. Dates flip at local midnight (tested one second either
//! side), daylight-saving nights included, and day and month offsets count calendar days.
//!
//! Instants go through `SyncPolicy::date_at`, the seam `today()` uses, so no test reads the
//! clock.

use crate::common;

use common::{PREFIX, employee, policy, user_of};
use hris_operator::sync::{
    model::{DirectoryUser, Employee, EmploymentStatus},
    plan::{ChangeKind, Plan, PlanInput, Reason, SkipReason, plan},
    policy::SyncPolicy,
};
use jiff::{
    SignedDuration, Timestamp,
    civil::{Date, date},
    tz::TimeZone,
};

const ZONES: [&str; 5] = [
    "UTC",
    "Europe/Amsterdam",
    "Asia/Tokyo",
    "America/New_York",
    "America/Los_Angeles",
];

fn ts(text: &str) -> Timestamp {
    text.parse().unwrap()
}

/// A policy in `zone` whose safeguards let every change through (they are tested elsewhere).
fn in_zone(zone: &str, extra: &str) -> SyncPolicy {
    policy(&format!(
        "schedule: {{timeZone: {zone}}}\nsafeguards: {{removals: {{}}, reactivations: {{}}}}\n{extra}"
    ))
}

/// The instant a date begins in a zone.
fn local_midnight(zone: &str, day: Date) -> Timestamp {
    day.to_zoned(TimeZone::get(zone).unwrap())
        .unwrap()
        .timestamp()
}

fn second_before(instant: Timestamp) -> Timestamp {
    instant - SignedDuration::from_secs(1)
}

/// Plans the way a run does: the date taken once, from the run's instant.
fn plan_at(
    instant: Timestamp,
    policy: &SyncPolicy,
    employees: &[Employee],
    users: &[DirectoryUser],
) -> Plan {
    let as_of = policy.date_at(instant);
    plan(
        &PlanInput {
            employees,
            record_errors: &[],
            users,
            as_of,
            managers: true,
            deletes: true,
            approved_hash: None,
        },
        policy,
    )
}

/// What a plan does to one employee, compactly.
fn outcome(plan: &Plan, employee_id: &str) -> String {
    let external_id = format!("{PREFIX}{employee_id}");
    if let Some(change) = plan.changes.iter().find(|c| c.external_id == external_id) {
        let active = change
            .create
            .as_ref()
            .map(|u| if u.active { " active" } else { " inactive" })
            .unwrap_or("");
        return format!("{}{active} {:?}", change.kind.as_str(), change.reason);
    }
    if let Some(change) = plan.withheld.iter().find(|c| c.external_id == external_id) {
        return format!("Withheld {}", change.kind.as_str());
    }
    if let Some(skip) = plan.skipped.iter().find(|s| s.external_id == external_id) {
        return match &skip.reason {
            SkipReason::NotYetStarted(from) => format!("NotYet {from}"),
            other => format!("Skipped {other:?}"),
        };
    }
    "Unchanged".into()
}

fn joiner(id: &str, start: Date) -> Employee {
    let mut e = employee(id, &format!("j{id}"));
    e.start_date = Some(start);
    e
}

fn leaver(id: &str, end: Date, status: EmploymentStatus) -> (Employee, DirectoryUser) {
    let mut e = employee(id, &format!("l{id}"));
    e.end_date = Some(end);
    e.employment_status = status;
    let user = user_of(&format!("u{id}"), &e);
    (e, user)
}

#[test]
fn one_instant_is_a_different_date_in_each_zone() {
    let instant = ts("2026-03-01T23:30:00Z");
    let date_in = |zone: &str| in_zone(zone, "").date_at(instant);
    assert_eq!(date_in("UTC"), date(2026, 3, 1));
    // 00:30 on the 2nd in Amsterdam (UTC+1), 08:30 on the 2nd in Tokyo (UTC+9).
    assert_eq!(date_in("Europe/Amsterdam"), date(2026, 3, 2));
    assert_eq!(date_in("Asia/Tokyo"), date(2026, 3, 2));
    assert_eq!(date_in("America/New_York"), date(2026, 3, 1));

    // The same instant, the same source: a joiner starting on the 2nd is created in Tokyo
    // and Amsterdam, not yet in UTC or New York.
    let employees = [joiner("1", date(2026, 3, 2))];
    for (zone, expected) in [
        ("UTC", "NotYet 2026-03-02"),
        ("America/New_York", "NotYet 2026-03-02"),
        ("Europe/Amsterdam", "Create active Joiner"),
        ("Asia/Tokyo", "Create active Joiner"),
    ] {
        let plan = plan_at(instant, &in_zone(zone, ""), &employees, &[]);
        assert_eq!(outcome(&plan, "1"), expected, "{zone}");
    }
}

#[test]
fn start_end_pre_hire_and_removal_flip_exactly_at_local_midnight() {
    let day = date(2026, 3, 2);
    for zone in ZONES {
        let midnight = local_midnight(zone, day);
        let before = second_before(midnight);
        let policy = in_zone(
            zone,
            "lifecycle: {preHireDays: 5, removal: {policy: AfterMonths, months: 1}}",
        );
        assert_eq!(policy.date_at(before), date(2026, 3, 1), "{zone}");
        assert_eq!(policy.date_at(midnight), day, "{zone}");

        // Starts today (created as pre-hire until today, then active), starts in 5 days (the
        // pre-hire window opens today), worked the last day yesterday, removal due yesterday
        // (end 2026-02-01 + 1 month = 2026-03-01 has passed from the 2nd).
        let starts = joiner("start", day);
        let pre_hire = joiner("prehire", date(2026, 3, 7));
        let (ended, ended_user) = leaver("end", date(2026, 3, 1), EmploymentStatus::Active);
        let (removed, removed_user) =
            leaver("removal", date(2026, 2, 1), EmploymentStatus::Inactive);
        let employees = [starts, pre_hire, ended, removed];
        let users = [ended_user, removed_user];

        let plan = plan_at(before, &policy, &employees, &users);
        assert_eq!(plan.as_of, date(2026, 3, 1), "{zone}");
        assert_eq!(
            [
                outcome(&plan, "start"),
                outcome(&plan, "prehire"),
                outcome(&plan, "end"),
                outcome(&plan, "removal"),
            ],
            [
                "Create inactive PreHire".to_owned(),
                "NotYet 2026-03-02".into(),
                "Unchanged".into(),
                "Deactivate Leaver".into(),
            ],
            "{zone}: one second before midnight"
        );
        let plan = plan_at(midnight, &policy, &employees, &users);
        assert_eq!(plan.as_of, day, "{zone}");
        assert_eq!(
            [
                outcome(&plan, "start"),
                outcome(&plan, "prehire"),
                outcome(&plan, "end"),
                outcome(&plan, "removal"),
            ],
            [
                "Create active Joiner".to_owned(),
                "Create inactive PreHire".into(),
                "Deactivate Leaver".into(),
                "Delete RemovalDue".into(),
            ],
            "{zone}: at midnight"
        );
    }
}

/// Local midnights around each daylight-saving switch of 2026, as UTC instants: the day of the
/// switch is 23 or 25 hours long, so "the previous midnight + 24 h" is the wrong instant.
const DST_DAYS: [(&str, Date, &str, &str, i64); 4] = [
    // Spring forward at 02:00 EST → 03:00 EDT.
    (
        "America/New_York",
        date(2026, 3, 8),
        "2026-03-08T05:00:00Z",
        "2026-03-09T04:00:00Z",
        23,
    ),
    // Fall back at 02:00 EDT → 01:00 EST.
    (
        "America/New_York",
        date(2026, 11, 1),
        "2026-11-01T04:00:00Z",
        "2026-11-02T05:00:00Z",
        25,
    ),
    // 02:00 CET → 03:00 CEST.
    (
        "Europe/Amsterdam",
        date(2026, 3, 29),
        "2026-03-28T23:00:00Z",
        "2026-03-29T22:00:00Z",
        23,
    ),
    // 03:00 CEST → 02:00 CET.
    (
        "Europe/Amsterdam",
        date(2026, 10, 25),
        "2026-10-24T22:00:00Z",
        "2026-10-25T23:00:00Z",
        25,
    ),
];

#[test]
fn local_midnight_around_daylight_saving_switches_resolves_to_the_right_date() {
    for (zone, day, starts, next_starts, hours) in DST_DAYS {
        let policy = in_zone(zone, "");
        let (starts, next_starts) = (ts(starts), ts(next_starts));
        assert_eq!(local_midnight(zone, day), starts, "{zone} {day}");
        assert_eq!(
            local_midnight(zone, day.tomorrow().unwrap()),
            next_starts,
            "{zone} {day}"
        );
        assert_eq!(
            next_starts.duration_since(starts),
            SignedDuration::from_hours(hours),
            "{zone} {day} lasts {hours} hours"
        );
        let next = day.tomorrow().unwrap();
        assert_eq!(
            policy.date_at(second_before(starts)),
            day.yesterday().unwrap()
        );
        assert_eq!(policy.date_at(starts), day, "{zone}");
        assert_eq!(policy.date_at(second_before(next_starts)), day, "{zone}");
        assert_eq!(policy.date_at(next_starts), next, "{zone}");
        // 24 hours after the switch day began is still that day (a long day) or already the
        // next (a short one); only the calendar decides.
        let day_later = policy.date_at(starts + SignedDuration::from_hours(24));
        assert_eq!(day_later, if hours == 23 { next } else { day }, "{zone}");

        // A joiner starting the day after the switch appears exactly at its local midnight.
        let employees = [joiner("1", next)];
        let plan = plan_at(second_before(next_starts), &policy, &employees, &[]);
        assert_eq!(outcome(&plan, "1"), format!("NotYet {next}"), "{zone}");
        let plan = plan_at(next_starts, &policy, &employees, &[]);
        assert_eq!(outcome(&plan, "1"), "Create active Joiner", "{zone}");
    }
}

#[test]
fn activation_pre_hire_and_removal_count_calendar_days_across_daylight_saving() {
    // New York springs forward on 2026-03-08 (a 23-hour day).
    let ny = "America/New_York";
    let switch_day = local_midnight(ny, date(2026, 3, 8));
    let next_day = local_midnight(ny, date(2026, 3, 9));
    // Activated one calendar month after a 2026-02-08 start: from the 8th of March, which
    // begins at 05:00 UTC (EST), although the 9th begins at 04:00 UTC (EDT).
    let policy = in_zone(ny, "lifecycle: {activation: {afterStartMonths: 1}}");
    let mut hired = employee("1", "ada");
    hired.start_date = Some(date(2026, 2, 8));
    let mut user = user_of("u1", &hired);
    user.active = false;
    let employees = [hired];
    let users = [user];
    let plan = plan_at(second_before(switch_day), &policy, &employees, &users);
    assert_eq!(outcome(&plan, "1"), "Unchanged");
    let plan = plan_at(switch_day, &policy, &employees, &users);
    assert_eq!(outcome(&plan, "1"), "Update Reactivated");

    // Created two calendar days before a 2026-03-10 start: on the 8th (23 hours long) — not
    // 48 hours before the start's midnight (which falls at 23:00 on the 7th, local time).
    let policy = in_zone(ny, "lifecycle: {preHireDays: 2}");
    let employees = [joiner("2", date(2026, 3, 10))];
    let start = local_midnight(ny, date(2026, 3, 10));
    let forty_eight_hours_before = start - SignedDuration::from_hours(48);
    assert!(forty_eight_hours_before < switch_day);
    let plan = plan_at(forty_eight_hours_before, &policy, &employees, &[]);
    assert_eq!(outcome(&plan, "2"), "NotYet 2026-03-08");
    let plan = plan_at(switch_day, &policy, &employees, &[]);
    assert_eq!(outcome(&plan, "2"), "Create inactive PreHire");
    let plan = plan_at(next_day, &policy, &employees, &[]);
    assert_eq!(outcome(&plan, "2"), "Create inactive PreHire");

    // Amsterdam falls back on 2026-10-25 (25 hours). End date 2026-09-25, removal one month
    // later: due on 2026-10-25, so deleted from local midnight of the 26th (23:00 UTC on the
    // 25th), not 24 hours after the 25th began (22:00 UTC).
    let ams = "Europe/Amsterdam";
    let policy = in_zone(
        ams,
        "lifecycle: {removal: {policy: AfterMonths, months: 1}}",
    );
    let (gone, gone_user) = leaver("3", date(2026, 9, 25), EmploymentStatus::Inactive);
    let employees = [gone];
    let users = [gone_user];
    let due_day = local_midnight(ams, date(2026, 10, 25));
    let delete_from = local_midnight(ams, date(2026, 10, 26));
    assert_eq!(delete_from, ts("2026-10-25T23:00:00Z"));
    let plan = plan_at(
        due_day + SignedDuration::from_hours(24),
        &policy,
        &employees,
        &users,
    );
    assert_eq!(outcome(&plan, "3"), "Deactivate Leaver");
    let plan = plan_at(second_before(delete_from), &policy, &employees, &users);
    assert_eq!(outcome(&plan, "3"), "Deactivate Leaver");
    let plan = plan_at(delete_from, &policy, &employees, &users);
    assert_eq!(outcome(&plan, "3"), "Delete RemovalDue");
}

#[test]
fn end_dates_in_the_past_and_future_and_removal_never() {
    let now = ts("2026-11-22T12:00:00Z");
    let (future, future_user) = leaver("future", date(2027, 1, 31), EmploymentStatus::Active);
    let (past, past_user) = leaver("past", date(2026, 6, 30), EmploymentStatus::Active);
    let (gone, gone_user) = leaver("gone", date(2026, 6, 30), EmploymentStatus::Inactive);
    let employees = [future, past, gone];
    let users = [future_user, past_user, gone_user];
    let outcomes = |extra: &str, instant: Timestamp| {
        let plan = plan_at(instant, &in_zone("UTC", extra), &employees, &users);
        ["future", "past", "gone"].map(|id| outcome(&plan, id))
    };

    // Default: leavers are deactivated, never deleted.
    assert_eq!(
        outcomes("", now),
        ["Unchanged", "Deactivate Leaver", "Deactivate Leaver"]
    );
    // Removal immediately deletes once the end date has passed, not before.
    assert_eq!(
        outcomes("lifecycle: {removal: {policy: Immediately}}", now),
        ["Unchanged", "Delete RemovalDue", "Delete RemovalDue"]
    );
    // inactiveUsers: Delete deletes at once too.
    assert_eq!(
        outcomes("lifecycle: {inactiveUsers: Delete}", now),
        ["Unchanged", "Delete Leaver", "Delete Leaver"]
    );
    // After six months: due 2026-12-30, deleted from the 31st.
    let six = "lifecycle: {removal: {policy: AfterMonths, months: 6}}";
    assert_eq!(
        outcomes(six, ts("2026-12-30T23:59:59Z")),
        ["Unchanged", "Deactivate Leaver", "Deactivate Leaver"]
    );
    assert_eq!(
        outcomes(six, ts("2026-12-31T00:00:00Z")),
        ["Unchanged", "Delete RemovalDue", "Delete RemovalDue"]
    );
    // Never: deactivated, and still not deleted ten years on (the future leaver too, once
    // its end date has passed).
    let never = "lifecycle: {removal: {policy: Never}}";
    assert_eq!(
        outcomes(never, ts("2036-11-22T12:00:00Z")),
        [
            "Deactivate Leaver",
            "Deactivate Leaver",
            "Deactivate Leaver"
        ]
    );
    // The future end date is the last working day: active through it, gone the day after.
    assert_eq!(outcomes("", ts("2027-01-31T23:59:59Z"))[0], "Unchanged");
    assert_eq!(
        outcomes("", ts("2027-02-01T00:00:00Z"))[0],
        "Deactivate Leaver"
    );
}

#[test]
fn start_dates_in_the_past_and_future_with_pre_hire_days() {
    let now = ts("2026-11-22T12:00:00Z");
    let mut pending = joiner("pending", date(2026, 12, 1));
    pending.employment_status = EmploymentStatus::Pending;
    let employees = [
        joiner("past", date(2020, 1, 1)),
        joiner("window", date(2026, 11, 30)),
        joiner("later", date(2027, 3, 1)),
        pending,
    ];
    let outcomes = |extra: &str| {
        let plan = plan_at(now, &in_zone("UTC", extra), &employees, &[]);
        ["past", "window", "later", "pending"].map(|id| outcome(&plan, id))
    };
    assert_eq!(
        outcomes(""),
        [
            "Create active Joiner",
            "NotYet 2026-11-30",
            "NotYet 2027-03-01",
            "NotYet 2026-12-01",
        ]
    );
    // Ten days ahead: the start on the 30th (8 days away) and on Dec 1st (9 days) are inside
    // the window and created inactive; March is not.
    assert_eq!(
        outcomes("lifecycle: {preHireDays: 10}"),
        [
            "Create active Joiner",
            "Create inactive PreHire",
            "NotYet 2027-02-19",
            "Create inactive PreHire",
        ]
    );
    // Exactly on the window's first day (Dec 1st − 9 days = Nov 22nd), not the day before.
    let nine = in_zone("UTC", "lifecycle: {preHireDays: 9}");
    let plan = plan_at(now, &nine, &employees, &[]);
    assert_eq!(outcome(&plan, "pending"), "Create inactive PreHire");
    let plan = plan_at(ts("2026-11-21T23:59:59Z"), &nine, &employees, &[]);
    assert_eq!(outcome(&plan, "pending"), "NotYet 2026-11-22");
}

#[test]
fn a_run_straddling_midnight_evaluates_everyone_on_the_date_it_started() {
    // A run that starts one second before midnight in Tokyo and takes a while: every employee
    // is judged on the start's date, whatever the clock says by the time their turn comes.
    let zone = "Asia/Tokyo";
    let policy = in_zone(zone, "");
    let midnight = local_midnight(zone, date(2026, 4, 1));
    let started = second_before(midnight);
    let employees: Vec<Employee> = (0..500)
        .map(|i| joiner(&format!("{i:03}"), date(2026, 4, 1)))
        .collect();
    let plan = plan_at(started, &policy, &employees, &[]);
    assert_eq!(plan.as_of, date(2026, 3, 31));
    assert_eq!(plan.count(ChangeKind::Create), 0);
    assert_eq!(plan.skipped.len(), 500);
    assert!(
        plan.skipped
            .iter()
            .all(|s| s.reason == SkipReason::NotYetStarted(date(2026, 4, 1)))
    );
    // The next run, after midnight, creates them all.
    let plan = plan_at(midnight, &policy, &employees, &[]);
    assert_eq!(plan.count(ChangeKind::Create), 500);
    assert!(plan.changes.iter().all(|c| c.reason == Reason::Joiner));
}

/// A whole run through a real source: records without a status are judged on the run's
/// evaluation date (here an `--as-of` date years back), not on the clock of whoever reads them.
#[tokio::test]
async fn records_without_a_status_are_judged_on_the_run_date_not_the_clock() {
    use hris_emulators::merge;
    use hris_operator::{
        connectors::{ConfigMapResolver, ConnectorContext, SecretResolver, connect},
        crd::HrisConnectionSpec,
        sync::{
            report::RunMode,
            run::{RunOptions, run},
        },
    };
    use serde_json::json;

    let dir = tempfile::tempdir().unwrap();
    let as_of = date(2020, 6, 30);
    let mut last_day = employee("last-day", "ada"); // works through as_of
    last_day.end_date = Some(as_of);
    let mut gone = employee("gone", "bo"); // left the day before
    gone.end_date = Some(date(2020, 6, 29));
    let starts = joiner("starts", date(2020, 7, 1)); // starts the day after
    let mut records = merge::records(&[last_day, gone, starts]);
    for record in &mut records {
        record.as_object_mut().unwrap().remove("employment_status");
    }
    let config = merge::MergeConfig {
        records,
        ..Default::default()
    };
    let secrets = dir.path().join("secrets").join("merge");
    std::fs::create_dir_all(&secrets).unwrap();
    std::fs::write(secrets.join("apiKey"), &config.api_key).unwrap();
    std::fs::write(secrets.join("accountToken"), &config.account_token).unwrap();
    let emulator = merge::start(config).await.unwrap();
    let spec: HrisConnectionSpec = serde_json::from_value(json!({
        "source": {"merge": {
            "baseUrl": emulator.base_url(),
            "apiKeySecretRef": {"name": "merge", "key": "apiKey"},
            "accountTokenSecretRef": {"name": "merge", "key": "accountToken"},
        }},
        "target": {"file": {"path": dir.path().join("directory.json")}},
        "externalIdPrefix": PREFIX,
        "schedule": {"timeZone": "America/Los_Angeles"},
    }))
    .unwrap();
    let policy = SyncPolicy::compile(&spec).unwrap();
    let context = ConnectorContext {
        base_dir: dir.path().to_path_buf(),
        secrets: SecretResolver::from_dir(dir.path().join("secrets")),
        config_maps: ConfigMapResolver::from_dir(dir.path().join("maps")),
    };
    let options = RunOptions {
        mode: RunMode::Simulate,
        as_of,
        approved_hash: None,
    };
    let (source, target) = connect(&spec, &context).await.unwrap();
    let output = run("people/acme", &policy, &*source, &*target, &options)
        .await
        .unwrap();
    assert_eq!(output.summary.as_of, "2020-06-30");
    assert_eq!(output.record_errors, vec![]);
    assert_eq!(outcome(&output.plan, "last-day"), "Create active Joiner");
    assert_eq!(outcome(&output.plan, "starts"), "NotYet 2020-07-01");
    assert_eq!(
        outcome(&output.plan, "gone"),
        "Unchanged",
        "a leaver is not created"
    );
    assert_eq!(output.plan.count(ChangeKind::Create), 1);
}
