//! `safeguards.seatLimit`: the most active users the target may hold.
//!
//! Through the pure planner: the earliest start dates get the free seats (ties by employee id,
//! no start date last), every active user of the target counts (managed or not, inactive ones
//! not), a reactivation takes a seat like a create and a pre-hire created inactive takes none,
//! deactivations and deletions of active users in the same run free seats, the plan hash names
//! who is held back, seat-takers that need the seats of removals a safeguard withholds wait
//! with them, and a kept user's manager link to a held-back user is left for a later run.
//!
//! Through the whole pipeline: a sync Job against the file target (ten seats, eight active
//! users, five joiners) creates the two earliest and reports three — in skipped.csv, the
//! summary, the termination message and, through the controller's reconcile, the
//! `LicenseLimitExceeded` condition and Event — and after one leaver creates exactly one more.
//! Against the SCIM emulator: a target that refuses a write for licensing sets the condition
//! too, and when a removal that was to free a seat fails, the create waiting for that seat is
//! not attempted.

use crate::common;

use std::{collections::BTreeMap, path::Path, sync::Arc, time::Duration};

use common::*;
use hris_emulators::scim::{ScimConfig, ScimEmulator};
use hris_operator::{
    connectors::{ConfigMapResolver, ConnectorContext, SecretResolver, connect},
    contract::report_secrets::report_files,
    controller::{
        context::Context,
        job::JobDefaults,
        reconcile::reconcile_at,
        status::{EventNote, Finished, record_run},
    },
    crd::{HrisConnection, HrisConnectionSpec, HrisConnectionStatus},
    metrics::Metrics,
    sync::{
        apply::Outcome,
        model::{Attr, Employee, EmploymentStatus},
        plan::{ChangeKind, Plan, PlanInput, Reason, SkipReason, plan},
        policy::SyncPolicy,
        ports::target::TargetErrorKind,
        report::{RunMode, RunResult, Summary},
        run::{self, RunOptions, RunOutput},
        safeguard::GuardKind,
    },
    sync_job::{SyncRequest, sync},
};
use http::{Method, Request, Response};
use jiff::civil::{Date, date};
use kube::{client::Body, runtime::events::Reporter};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// The planner

/// An active joiner with no user yet, who starts (or started) on `start`.
fn joiner(id: &str, start: Option<Date>) -> Employee {
    let mut e = employee(id, &format!("Joiner{id}"));
    e.start_date = start;
    e
}

fn seats(limit: u32) -> SyncPolicy {
    policy(&format!("safeguards: {{seatLimit: {limit}}}"))
}

fn created(plan: &Plan) -> Vec<String> {
    plan.changes
        .iter()
        .filter(|c| c.kind == ChangeKind::Create)
        .map(|c| c.external_id.to_string())
        .collect()
}

fn held_back(plan: &Plan) -> Vec<String> {
    plan.held_back()
        .iter()
        .map(|c| c.external_id.to_string())
        .collect()
}

/// `(externalId, start date)` of every `SeatLimit` row of skipped.csv.
fn seat_limited(plan: &Plan) -> Vec<(String, Option<Date>)> {
    plan.skipped
        .iter()
        .filter_map(|s| match s.reason {
            SkipReason::SeatLimit { start, .. } => Some((s.external_id.to_string(), start)),
            _ => None,
        })
        .collect()
}

#[test]
fn ten_seats_eight_active_users_and_five_joiners_create_the_two_earliest() {
    // Six managed users and two accounts nobody manages are active; one old account is not.
    let (mut people, mut users) = staff(6);
    users.push(unmanaged("x1", "it-admin@corp.example"));
    users.push(unmanaged("x2", "build-bot@corp.example"));
    let mut retired = unmanaged("x3", "old-bot@corp.example");
    retired.active = false;
    users.push(retired);
    people.extend([
        joiner("J1", Some(date(2026, 11, 10))),
        joiner("J2", Some(date(2026, 10, 1))),
        joiner("J3", Some(date(2026, 11, 20))),
        joiner("J4", Some(date(2026, 9, 15))),
        joiner("J5", None),
    ]);
    let plan = run(&people, &users, &seats(10));
    assert_eq!(created(&plan), ["hr:J2", "hr:J4"]);
    assert_eq!(held_back(&plan), ["hr:J1", "hr:J3", "hr:J5"]);
    assert_eq!(
        seat_limited(&plan),
        [
            ("hr:J1".to_owned(), Some(date(2026, 11, 10))),
            ("hr:J3".to_owned(), Some(date(2026, 11, 20))),
            ("hr:J5".to_owned(), None),
        ]
    );
    let seats = plan.seats.as_ref().unwrap();
    assert_eq!((seats.active_before, seats.active_after), (8, 10));
    assert!(plan.safeguard.is_none(), "no approval lifts a seat limit");
    // Without the limit the same data creates all five, under another hash.
    let unlimited = run(&people, &users, &policy(""));
    assert_eq!(created(&unlimited).len(), 5);
    assert!(unlimited.seats.is_none());
    assert_ne!(unlimited.hash, plan.hash);
}

#[test]
fn ties_go_by_employee_id_and_a_missing_start_date_comes_last() {
    let (mut people, users) = staff(7);
    people.extend([
        joiner("B", Some(date(2026, 11, 1))),
        joiner("C", None),
        joiner("A", Some(date(2026, 11, 1))),
        joiner("D", Some(date(2026, 11, 15))),
        joiner("AZ", None),
    ]);
    let plan = run(&people, &users, &seats(10));
    assert_eq!(created(&plan), ["hr:A", "hr:B", "hr:D"]);
    assert_eq!(held_back(&plan), ["hr:AZ", "hr:C"]);
    // One seat more: of the two without a start date, the lower id.
    let plan = run(&people, &users, &seats(11));
    assert_eq!(held_back(&plan), ["hr:C"]);
}

#[test]
fn unmanaged_active_users_take_seats_and_inactive_users_do_not() {
    let (mut people, mut users) = staff(2);
    users.extend((0..3).map(|i| unmanaged(&format!("x{i}"), &format!("svc{i}@corp.example"))));
    people.push(joiner("J1", Some(date(2026, 11, 1))));
    let full = run(&people, &users, &seats(5));
    assert_eq!(held_back(&full), ["hr:J1"]);
    assert!(created(&full).is_empty());
    users[4].active = false;
    let one_free = run(&people, &users, &seats(5));
    assert_eq!(created(&one_free), ["hr:J1"]);
    assert!(held_back(&one_free).is_empty());
}

#[test]
fn a_reactivation_takes_a_seat_like_a_create() {
    // Twenty people, one of them back from a leave the target recorded as a deactivation: 19
    // active users and 20 seats, one joiner and one reactivation.
    let (mut people, mut users) = staff(20);
    users[0].active = false;
    people.push(joiner("J1", Some(date(2026, 11, 1))));
    people[0].start_date = Some(date(2026, 11, 15));
    let plan = run(&people, &users, &seats(20));
    assert_eq!(created(&plan), ["hr:J1"]);
    assert_eq!(held_back(&plan), ["hr:0"]);
    assert!(matches!(
        plan.skipped
            .iter()
            .find(|s| s.external_id == "hr:0")
            .unwrap()
            .reason,
        SkipReason::SeatLimit {
            limit: 20,
            reactivation: true,
            ..
        }
    ));
    // Returning earlier than the joiner starts, the person gets the seat.
    people[0].start_date = Some(date(2026, 10, 1));
    let plan = run(&people, &users, &seats(20));
    assert!(created(&plan).is_empty());
    assert_eq!(held_back(&plan), ["hr:J1"]);
    let reactivated = plan
        .changes
        .iter()
        .find(|c| c.external_id == "hr:0")
        .unwrap();
    assert_eq!(reactivated.reason, Reason::Reactivated);
}

#[test]
fn a_pre_hire_created_inactive_takes_no_seat() {
    let (mut people, users) = staff(10);
    let mut pre_hire = joiner("J1", Some(date(2026, 11, 30)));
    pre_hire.employment_status = EmploymentStatus::Pending;
    people.push(pre_hire);
    let plan = run(
        &people,
        &users,
        &policy("safeguards: {seatLimit: 10}\nlifecycle: {preHireDays: 14}"),
    );
    assert_eq!(created(&plan), ["hr:J1"]);
    assert_eq!(plan.changes[0].reason, Reason::PreHire);
    assert!(held_back(&plan).is_empty());
    assert_eq!(plan.seats.as_ref().unwrap().active_after, 10);
}

#[test]
fn deactivations_and_deletions_of_active_users_in_the_same_run_free_seats() {
    // All 20 seats taken; one leaver and two joiners.
    let (mut people, users) = staff(20);
    people[3].employment_status = EmploymentStatus::Inactive;
    people.push(joiner("J1", Some(date(2026, 11, 1))));
    people.push(joiner("J2", Some(date(2026, 11, 2))));
    let plan = run(&people, &users, &seats(20));
    assert_eq!(plan.count(ChangeKind::Deactivate), 1);
    assert_eq!(created(&plan), ["hr:J1"]);
    assert_eq!(held_back(&plan), ["hr:J2"]);
    assert_eq!(plan.seats.as_ref().unwrap().active_after, 20);

    // A person gone from the source whose active user is deleted frees a seat too; deleting a
    // user that is already inactive frees none.
    let deleting = policy("safeguards: {seatLimit: 20}\nlifecycle: {absentUsers: Delete}");
    let mut people = people[..20].to_vec();
    people[3].employment_status = EmploymentStatus::Active;
    people.remove(5);
    people.push(joiner("J1", Some(date(2026, 11, 1))));
    let plan = run(&people, &users, &deleting);
    assert_eq!(plan.count(ChangeKind::Delete), 1);
    assert_eq!(created(&plan), ["hr:J1"]);
    let mut users = users;
    users[5].active = false;
    let plan = run(
        &people,
        &users,
        &policy("safeguards: {seatLimit: 19}\nlifecycle: {absentUsers: Delete}"),
    );
    assert_eq!(plan.count(ChangeKind::Delete), 1);
    assert_eq!(held_back(&plan), ["hr:J1"]);
}

#[test]
fn the_plan_hash_names_who_is_held_back() {
    let (people, users) = staff(10);
    let with = |ids: &[&str]| {
        let mut all = people.clone();
        all.extend(ids.iter().map(|id| joiner(id, Some(date(2026, 11, 1)))));
        run(&all, &users, &seats(10))
    };
    let ab = with(&["A", "B"]);
    let ac = with(&["A", "C"]);
    let nobody = with(&[]);
    assert!(ab.changes.is_empty() && ac.changes.is_empty() && nobody.changes.is_empty());
    assert_eq!(held_back(&ab), ["hr:A", "hr:B"]);
    assert_ne!(ab.hash, ac.hash, "other people held back, another plan");
    assert_ne!(ab.hash, nobody.hash);
    assert_eq!(
        with(&["A", "B"]).hash,
        ab.hash,
        "the same plan, the same hash"
    );
    // A limit that holds nobody back leaves the hash as it was without one.
    let mut all = people.clone();
    all.push(joiner("A", Some(date(2026, 11, 1))));
    assert_eq!(
        run(&all, &users, &seats(11)).hash,
        run(&all, &users, &policy("")).hash
    );
}

#[test]
fn seat_takers_needing_the_seats_of_withheld_removals_wait_with_them_until_approved() {
    // Ten seats, all taken; half the people leave (the removals guard trips) and seven join.
    let (mut people, users) = staff(10);
    for person in &mut people[..5] {
        person.employment_status = EmploymentStatus::Inactive;
    }
    people.extend((1..=7).map(|day| joiner(&format!("J{day}"), Some(date(2026, 11, day)))));
    let policy = seats(10);
    let plan = run(&people, &users, &policy);
    // Five seats are freed if the removals go: five joiners are planned, two held back.
    assert_eq!(held_back(&plan), ["hr:J6", "hr:J7"]);
    assert!(plan.changes.is_empty(), "{:?}", summary(&plan));
    assert_eq!(plan.withheld.len(), 10);
    let trip = plan.safeguard.as_ref().unwrap();
    let guards: Vec<_> = trip.guards.iter().map(|g| (g.guard, g.changes)).collect();
    assert_eq!(
        guards,
        [(GuardKind::Removals, 5), (GuardKind::SeatLimit, 5)]
    );
    assert!(
        trip.limit
            .contains("seatLimit: 5 creates or reactivations wait for the withheld removals"),
        "{}",
        trip.limit
    );
    // What the run leaves undone is the plan the next run computes, so approving it releases
    // exactly that; the seat limit still holds the two back.
    assert_eq!(plan.withheld_hash().as_deref(), Some(plan.hash.as_str()));
    let approved = plan_of(
        &PlanInput {
            approved_hash: Some(&plan.hash),
            ..input(&people, &users)
        },
        &policy,
    );
    assert!(approved.safeguard.is_none());
    assert_eq!(approved.count(ChangeKind::Deactivate), 5);
    assert_eq!(
        created(&approved),
        ["hr:J1", "hr:J2", "hr:J3", "hr:J4", "hr:J5"]
    );
    assert_eq!(held_back(&approved), ["hr:J6", "hr:J7"]);
    assert_eq!(approved.seats.as_ref().unwrap().active_after, 10);
}

#[test]
fn some_seats_free_without_the_withheld_removals_go_to_the_earliest() {
    // Eight of ten seats taken; five leave (withheld), four join: two seats are free anyway.
    let (mut people, mut users) = staff(10);
    for user in &mut users[8..] {
        user.active = false;
        user.external_id = None;
        user.email = Some(format!("retired{}@corp.example", user.id).into());
    }
    for person in &mut people[..5] {
        person.employment_status = EmploymentStatus::Inactive;
    }
    people.truncate(8);
    people.extend((1..=4).map(|day| joiner(&format!("J{day}"), Some(date(2026, 11, day)))));
    let plan = run(&people, &users, &seats(10));
    assert_eq!(created(&plan), ["hr:J1", "hr:J2"]);
    let waiting: Vec<_> = plan
        .withheld
        .iter()
        .filter(|c| c.kind == ChangeKind::Create)
        .map(|c| c.external_id.as_str())
        .collect();
    assert_eq!(waiting, ["hr:J3", "hr:J4"]);
    assert!(held_back(&plan).is_empty());
    assert_eq!(plan.seats.as_ref().unwrap().active_after, 10);
}

#[test]
fn a_kept_users_manager_link_to_a_held_back_user_is_left_for_a_later_run() {
    // The new team lead starts after their first report; one seat is free.
    let (mut people, users) = staff(9);
    people.push(joiner("LEAD", Some(date(2026, 11, 20))));
    let mut report = joiner("R1", Some(date(2026, 11, 1)));
    report.manager_id = Some("LEAD".into());
    people.push(report);
    people[0].manager_id = Some("LEAD".into());
    let plan = run(&people, &users, &seats(10));
    assert_eq!(held_back(&plan), ["hr:LEAD"]);
    assert_eq!(created(&plan), ["hr:R1"]);
    let create = plan.changes[0].create.as_ref().unwrap();
    assert_eq!(
        create.manager, None,
        "no link to a user that is not created"
    );
    // The existing user whose only change was the new manager is left as it is.
    assert!(
        !plan
            .changes
            .iter()
            .any(|c| c.changes.iter().any(|a| a.attr == Attr::Manager)),
        "{:?}",
        summary(&plan)
    );
    assert_eq!(plan.unchanged, 9);
    // With a seat for the lead too, both links are planned.
    let plan = run(&people, &users, &seats(11));
    assert_eq!(created(&plan), ["hr:LEAD", "hr:R1"]);
    assert_eq!(plan.count(ChangeKind::Update), 1);
}

fn plan_of(input: &PlanInput<'_>, policy: &SyncPolicy) -> Plan {
    plan(input, policy)
}

// ---------------------------------------------------------------------------------------------
// The whole pipeline: a sync Job against the file target, and the controller

const CSV_HEADER: &str = "id,firstName,lastName,workEmail,employmentStatus,startDate,endDate\n";

/// The six people who have users, and five joiners (start dates long past, so every run date
/// finds them started); `leaver` has left.
fn write_people(dir: &Path, leaver: Option<&str>) {
    let mut csv = String::from(CSV_HEADER);
    for i in 1..=6 {
        let id = format!("E0{i}");
        let (status, end) = if leaver == Some(id.as_str()) {
            ("Inactive", "2024-06-30")
        } else {
            ("Active", "")
        };
        csv.push_str(&format!(
            "{id},First{i},Last{i},e0{i}@acme.example,{status},2020-01-01,{end}\n"
        ));
    }
    for (id, start) in [
        ("J1", "2024-03-01"),
        ("J2", "2024-01-15"),
        ("J3", "2024-05-01"),
        ("J4", "2023-11-01"),
        ("J5", "2024-02-01"),
    ] {
        let lower = id.to_lowercase();
        csv.push_str(&format!(
            "{id},New{id},Joiner,{lower}@acme.example,Active,{start},\n"
        ));
    }
    std::fs::write(dir.join("employees.csv"), csv).unwrap();
}

/// Eight active users (the six people's and two service accounts nobody manages) and one
/// deactivated account.
fn write_directory(dir: &Path) {
    let mut users: Vec<Value> = (1..=6)
        .map(|i| {
            json!({"id": format!("u{i}"), "externalId": format!("acme:E0{i}"),
                   "userName": format!("e0{i}@acme.example"), "email": format!("e0{i}@acme.example"),
                   "firstName": format!("First{i}"), "lastName": format!("Last{i}"),
                   "active": true, "version": 1})
        })
        .collect();
    for (id, name, active) in [
        ("s1", "it-admin", true),
        ("s2", "build-bot", true),
        ("s3", "old-bot", false),
    ] {
        users.push(json!({"id": id, "userName": name, "email": format!("{name}@acme.example"),
                          "firstName": name, "lastName": "Service", "active": active, "version": 1}));
    }
    std::fs::write(
        dir.join("directory.json"),
        serde_json::to_vec_pretty(&json!({ "users": users })).unwrap(),
    )
    .unwrap();
}

fn connection(dir: &Path) -> Value {
    json!({
        "apiVersion": "hris-operator.io/v1alpha1",
        "kind": "HrisConnection",
        "metadata": {"name": "acme", "namespace": "people", "uid": "uid-acme", "generation": 1,
                     "creationTimestamp": "2026-11-22T00:00:00Z"},
        "spec": {
            "mode": "Active",
            "source": {"csv": {"path": dir.join("employees.csv")}},
            "target": {"file": {"path": dir.join("directory.json")}},
            "externalIdPrefix": "acme:",
            "safeguards": {"seatLimit": 10},
        }
    })
}

/// What one sync Job left: its summary, its report files and its termination message.
struct JobRun {
    summary: Summary,
    reports: BTreeMap<String, String>,
    termination: String,
}

impl JobRun {
    /// The rows of a CSV report, by column name.
    fn rows(&self, file: &str) -> Vec<BTreeMap<String, String>> {
        let mut reader = csv::Reader::from_reader(self.reports[file].as_bytes());
        let headers = reader.headers().unwrap().clone();
        reader
            .records()
            .map(|r| {
                headers
                    .iter()
                    .zip(r.unwrap().iter())
                    .map(|(h, v)| (h.to_owned(), v.to_owned()))
                    .collect()
            })
            .collect()
    }

    fn column(&self, file: &str, column: &str) -> Vec<String> {
        self.rows(file)
            .into_iter()
            .map(|r| r[column].clone())
            .collect()
    }
}

type ApiHandle = tower_test::mock::Handle<Request<Body>, Response<Body>>;

fn respond(send: tower_test::mock::SendResponse<Response<Body>>, body: &Value) {
    send.send_response(
        Response::builder()
            .body(Body::from(serde_json::to_vec(body).unwrap()))
            .unwrap(),
    );
}

async fn body_of(request: Request<Body>) -> Value {
    serde_json::from_slice(&request.into_body().collect_bytes().await.unwrap()).unwrap()
}

/// Runs the sync Job (`hris-operator sync --mode apply`) of the connection in `dir` against a
/// mock API server that serves the connection and stores the report Secret.
async fn sync_job(dir: &Path, run_id: &str) -> JobRun {
    let (service, mut handle): (_, ApiHandle) = tower_test::mock::pair();
    let client = kube::Client::new(service, "people");
    let body = connection(dir);
    let report = format!("acme-apply-1-{run_id}-report");
    let verifier = tokio::spawn(async move {
        let (request, send) = handle.next_request().await.expect("the connection is read");
        assert_eq!(request.method(), Method::GET);
        respond(send, &body);
        let (request, send) = handle.next_request().await.expect("the report is stored");
        assert_eq!(request.method(), Method::PATCH);
        let secret = body_of(request).await;
        respond(send, &secret);
        assert!(handle.next_request().await.is_none());
        secret
    });
    let request = SyncRequest {
        namespace: "people".into(),
        name: "acme".into(),
        kind: RunMode::Apply,
        secrets_dir: dir.join("secrets"),
        run_id: run_id.into(),
        report,
        approve: None,
        termination_log: dir.join(format!("termination-{run_id}")),
        scratch: dir.join(format!("scratch-{run_id}")),
        report_limits: Default::default(),
    };
    let summary = sync(client, &request).await.unwrap();
    let secret = serde_json::from_value(verifier.await.unwrap()).unwrap();
    let reports = report_files(&[secret])
        .unwrap()
        .into_iter()
        .map(|(name, bytes)| (name, String::from_utf8(bytes).unwrap()))
        .collect();
    let termination = std::fs::read_to_string(dir.join(format!("termination-{run_id}"))).unwrap();
    JobRun {
        summary,
        reports,
        termination,
    }
}

fn directory_users(dir: &Path) -> Vec<Value> {
    let directory: Value =
        serde_json::from_slice(&std::fs::read(dir.join("directory.json")).unwrap()).unwrap();
    directory["users"].as_array().unwrap().clone()
}

fn controller_context(client: kube::Client) -> Context {
    Context {
        client,
        defaults: JobDefaults {
            image: "hris-operator:0.1.0".into(),
            image_pull_secrets: vec![],
            ttl_seconds_after_finished: 86_400,
            log_level: "info".into(),
            pod: Default::default(),
        },
        starting_deadline: Duration::from_secs(3600),
        reporter: Reporter {
            controller: "hris-operator".into(),
            instance: None,
        },
        metrics: Arc::new(Metrics::new()),
        peers: Default::default(),
        unreadable: Default::default(),
        written: Default::default(),
    }
}

/// The controller reconciles the connection once its apply Job finished with `termination` in
/// the sync container's termination message: returns the status it wrote and the Events.
async fn controller_records(dir: &Path, job_name: &str, termination: &str) -> (Value, Vec<Value>) {
    let owner = json!({"apiVersion": "hris-operator.io/v1alpha1", "kind": "HrisConnection",
                       "name": "acme", "uid": "uid-acme", "controller": true});
    let job = json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": job_name, "namespace": "people", "uid": "uid-job",
                     "labels": {"hris-operator.io/connection": "acme",
                                "hris-operator.io/run-kind": "apply",
                                "hris-operator.io/generation": "1"},
                     "ownerReferences": [owner]},
        "spec": {"template": {"spec": {"containers": []}}},
        "status": {"startTime": "2026-11-22T02:59:00Z",
                   "conditions": [{"type": "Complete", "status": "True",
                                   "lastTransitionTime": "2026-11-22T03:00:00Z"}]}
    });
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": format!("{job_name}-x"), "namespace": "people",
                     "labels": {"job-name": job_name},
                     "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": job_name,
                                          "uid": "uid-job", "controller": true}]},
        "status": {"containerStatuses": [{"name": "sync", "image": "i", "imageID": "", "ready": false,
            "restartCount": 0, "state": {"terminated": {"exitCode": 0,
            "finishedAt": "2026-11-22T03:00:00Z", "message": termination}}}]}
    });
    let mut whole = connection(dir);
    whole["status"] = json!({"phase": "Running"});
    let answer = whole.clone();
    let (service, mut handle): (_, ApiHandle) = tower_test::mock::pair();
    let context = controller_context(kube::Client::new(service, "people"));
    let verifier = tokio::spawn(async move {
        let (request, send) = handle.next_request().await.expect("jobs are listed");
        assert_eq!(
            request.uri().path(),
            "/apis/batch/v1/namespaces/people/jobs"
        );
        respond(
            send,
            &json!({"apiVersion": "v1", "kind": "JobList", "metadata": {}, "items": [job]}),
        );
        let (request, send) = handle
            .next_request()
            .await
            .expect("the Job's pods are read");
        assert_eq!(request.uri().path(), "/api/v1/namespaces/people/pods");
        respond(
            send,
            &json!({"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": [pod]}),
        );
        let (request, send) = handle.next_request().await.expect("status is written");
        assert!(
            request
                .uri()
                .path()
                .ends_with("/hrisconnections/acme/status")
        );
        let status = body_of(request).await["status"].clone();
        let mut answer = answer;
        answer["status"] = status.clone();
        respond(send, &answer);
        let mut events = Vec::new();
        while let Some((request, send)) = handle.next_request().await {
            let body = body_of(request).await;
            respond(send, &body);
            if body["kind"] == "Event" {
                events.push(body);
            }
        }
        (status, events)
    });
    let connection: HrisConnection = serde_json::from_value(whole).unwrap();
    reconcile_at(
        &connection,
        &context,
        "2026-11-22T03:00:05Z".parse().unwrap(),
    )
    .await
    .unwrap();
    drop(context);
    verifier.await.unwrap()
}

fn condition<'a>(status: &'a Value, type_: &str) -> &'a Value {
    status["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == type_)
        .unwrap_or_else(|| panic!("no {type_} condition: {status}"))
}

#[tokio::test]
async fn ten_seats_eight_active_five_joiners_through_the_sync_job_and_the_controller() {
    let dir = tempfile::tempdir().unwrap();
    write_people(dir.path(), None);
    write_directory(dir.path());

    // First run: two seats are free; the two earliest starters get them.
    let first = sync_job(dir.path(), "r1").await;
    let summary = &first.summary;
    assert_eq!(summary.result, RunResult::Succeeded);
    assert_eq!(
        (
            summary.counts.created,
            summary.counts.seat_limited,
            summary.counts.skipped
        ),
        (2, 3, 3)
    );
    let seats = summary.seats.unwrap();
    assert_eq!(
        (seats.limit, seats.active_before, seats.active_after),
        (10, 8, 10)
    );
    assert_eq!(first.column("created.csv", "employeeId"), ["J2", "J4"]);
    let skipped = first.rows("skipped.csv");
    assert_eq!(
        skipped
            .iter()
            .map(|r| (
                r["employeeId"].as_str(),
                r["reason"].as_str(),
                r["outcome"].as_str()
            ))
            .collect::<Vec<_>>(),
        [
            ("J1", "SeatLimit", "skipped"),
            ("J3", "SeatLimit", "skipped"),
            ("J5", "SeatLimit", "skipped"),
        ]
    );
    assert!(
        skipped[0]["detail"].contains("this employee starts 2024-03-01"),
        "{skipped:?}"
    );
    let summary_json: Value = serde_json::from_str(&first.reports["summary.json"]).unwrap();
    assert_eq!(summary_json["counts"]["seatLimited"], 3);
    assert_eq!(summary_json["seats"]["activeAfter"], 10);
    let active = |users: &[Value]| users.iter().filter(|u| u["active"] == true).count();
    assert_eq!(active(&directory_users(dir.path())), 10);

    // The controller learns the run from the termination message alone.
    let learned: Summary = serde_json::from_str(&first.termination).unwrap();
    assert_eq!(&learned, summary);
    let (status, events) =
        controller_records(dir.path(), "acme-apply-1-r1", &first.termination).await;
    assert_eq!(status["lastSync"]["counts"]["seatLimited"], 3);
    let license = condition(&status, "LicenseLimitExceeded");
    assert_eq!(license["status"], "True");
    assert_eq!(license["reason"], "SeatLimitReached");
    let message = license["message"].as_str().unwrap();
    assert!(
        message.starts_with("3 creates or reactivations held back: seatLimit 10 is reached"),
        "{message}"
    );
    let warning = events
        .iter()
        .find(|e| e["reason"] == "LicenseLimitExceeded")
        .unwrap_or_else(|| panic!("a LicenseLimitExceeded Event: {events:?}"));
    assert_eq!(warning["type"], "Warning");
    assert_eq!(warning["note"], message);

    // Second run: one person left; the seat it frees goes to the next joiner in line.
    write_people(dir.path(), Some("E03"));
    let second = sync_job(dir.path(), "r2").await;
    let counts = &second.summary.counts;
    assert_eq!(
        (counts.deactivated, counts.created, counts.seat_limited),
        (1, 1, 2)
    );
    assert_eq!(second.column("created.csv", "employeeId"), ["J5"]);
    assert_eq!(second.column("deactivated.csv", "employeeId"), ["E03"]);
    assert_eq!(second.column("skipped.csv", "employeeId"), ["J1", "J3"]);
    let users = directory_users(dir.path());
    assert_eq!(active(&users), 10);
    assert_eq!(users.len(), 9 + 3);
    // Recorded after the first run, the changed number is announced again.
    let mut recorded: HrisConnectionStatus = serde_json::from_value(status).unwrap();
    let events = record_run(
        &mut recorded,
        &finished(serde_json::from_str(&second.termination).unwrap()),
        1,
    );
    assert!(events.iter().any(|e| e.reason == "LicenseLimitExceeded"));
    assert!(
        recorded
            .conditions
            .iter()
            .any(|c| c.type_ == "LicenseLimitExceeded" && c.message.starts_with("2 creates"))
    );
}

fn finished(summary: Summary) -> Finished {
    Finished {
        kind: summary.mode,
        job_name: "acme-apply-1-r2".into(),
        started_at: None,
        finished_at: "2026-11-23T03:00:00Z".parse().unwrap(),
        summary: Some(summary),
        failure: None,
        report: Some("acme-apply-1-r2-report".into()),
    }
}

// ---------------------------------------------------------------------------------------------
// Against the SCIM emulator: the target's own license limit, and a removal that fails

const TOKEN: &str = "test-token";

/// `count` active SCIM users of employees `E01`…, managed under `acme:`.
fn seed_scim(scim: &ScimEmulator, count: usize) {
    for i in 1..=count {
        scim.insert_user(json!({
            "userName": format!("e{i:02}@acme.example"),
            "externalId": format!("acme:E{i:02}"),
            "name": {"givenName": format!("First{i}"), "familyName": format!("Last{i}")},
            "emails": [{"value": format!("e{i:02}@acme.example"), "type": "work", "primary": true}],
            "active": true,
        }));
    }
}

/// The employees of `seed_scim(…, people)` (`leaver` has left), and joiners `J1`… starting on
/// consecutive days of November 2026.
fn write_scim_people(dir: &Path, people: usize, leaver: Option<usize>, joiners: usize) {
    let mut csv = String::from(CSV_HEADER);
    for i in 1..=people {
        let (status, end) = if leaver == Some(i) {
            ("Inactive", "2026-10-31")
        } else {
            ("Active", "")
        };
        csv.push_str(&format!(
            "E{i:02},First{i},Last{i},e{i:02}@acme.example,{status},2020-01-01,{end}\n"
        ));
    }
    for j in 1..=joiners {
        csv.push_str(&format!(
            "J{j},New{j},Joiner,j{j}@acme.example,Active,2026-11-{j:02},\n"
        ));
    }
    std::fs::write(dir.join("employees.csv"), csv).unwrap();
}

async fn apply_against(scim: &ScimEmulator, dir: &Path, extra: Value) -> RunOutput {
    let secrets = dir.join("secrets/scim");
    std::fs::create_dir_all(&secrets).unwrap();
    std::fs::write(secrets.join("token"), TOKEN).unwrap();
    let mut spec = json!({
        "mode": "Active",
        "source": {"csv": {"path": "employees.csv"}},
        "target": {"scim": {"baseUrl": scim.base_url(), "allowInsecureHttp": true,
                            "credentialsSecretRef": {"name": "scim", "key": "token"},
                            "requestsPerSecond": 1000, "maxTries": 1}},
        "externalIdPrefix": "acme:",
    });
    for (key, value) in extra.as_object().unwrap() {
        spec[key] = value.clone();
    }
    let spec: HrisConnectionSpec = serde_json::from_value(spec).unwrap();
    let policy = SyncPolicy::compile(&spec).unwrap();
    let context = ConnectorContext {
        base_dir: dir.to_path_buf(),
        secrets: SecretResolver::from_dir(dir.join("secrets")),
        config_maps: ConfigMapResolver::none(),
    };
    let (source, target) = connect(&spec, &context).await.unwrap();
    let options = RunOptions {
        mode: RunMode::Apply,
        as_of: date(2026, 11, 22),
        approved_hash: None,
    };
    run::run("people/acme", &policy, &*source, &*target, &options)
        .await
        .unwrap()
}

fn events_of(summary: &Summary) -> (HrisConnectionStatus, Vec<EventNote>) {
    let mut status = HrisConnectionStatus::default();
    let events = record_run(&mut status, &finished(summary.clone()), 1);
    (status, events)
}

fn active_scim_users(scim: &ScimEmulator) -> Vec<String> {
    scim.users()
        .iter()
        .filter(|u| u["active"] == true)
        .map(|u| u["userName"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_target_that_refuses_users_for_licensing_sets_the_condition_beside_its_failure_rows() {
    let dir = tempfile::tempdir().unwrap();
    let scim = ScimEmulator::start(ScimConfig::default()).await.unwrap();
    // The target sells 10 seats; the spec, wrongly, says 12.
    seed_scim(&scim, 8);
    scim.limit_seats(Some(10));
    write_scim_people(dir.path(), 8, None, 3);
    let ran = apply_against(&scim, dir.path(), json!({"safeguards": {"seatLimit": 12}})).await;
    let summary = &ran.summary;
    assert_eq!(summary.counts.created, 2);
    assert_eq!(summary.counts.seat_limited, 0);
    assert_eq!(summary.license_failures, 1);
    assert_eq!(summary.result, RunResult::Failed);
    let refused = ran
        .applied
        .outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Failed(e) => Some(e.kind),
            _ => None,
        })
        .collect::<Vec<_>>();
    assert_eq!(refused, [TargetErrorKind::LicenseLimitExceeded]);
    assert_eq!(active_scim_users(&scim).len(), 10);
    let (status, events) = events_of(summary);
    let license = status
        .conditions
        .iter()
        .find(|c| c.type_ == "LicenseLimitExceeded")
        .unwrap();
    assert_eq!(
        (license.status.as_str(), license.reason.as_str()),
        ("True", "WritesFailed")
    );
    assert!(
        license
            .message
            .starts_with("1 writes failed for lack of licenses or seats"),
        "{}",
        license.message
    );
    assert!(events.iter().any(|e| e.reason == "LicenseLimitExceeded"));
    // Without any seatLimit in the spec, the refusal is reported the same way.
    let dir = tempfile::tempdir().unwrap();
    write_scim_people(dir.path(), 8, None, 4);
    let ran = apply_against(&scim, dir.path(), json!({})).await;
    assert_eq!(ran.summary.license_failures, 2);
    assert!(ran.summary.seats.is_none());
    let (status, _) = events_of(&ran.summary);
    assert!(
        status
            .conditions
            .iter()
            .any(|c| c.type_ == "LicenseLimitExceeded" && c.status == "True")
    );
    scim.stop().await;
}

#[tokio::test]
async fn a_failed_deactivation_keeps_its_seat_and_the_create_waiting_for_it_is_not_attempted() {
    let dir = tempfile::tempdir().unwrap();
    let scim = ScimEmulator::start(ScimConfig::default()).await.unwrap();
    seed_scim(&scim, 10);
    // The target itself holds ten seats too: a create before the deactivation would be refused.
    scim.limit_seats(Some(10));
    // E03 leaves, two join: one seat is freed in the plan, but its deactivation fails.
    scim.fail_user("e03@acme.example", 500);
    write_scim_people(dir.path(), 10, Some(3), 2);
    let extra = json!({"safeguards": {"seatLimit": 10}});
    let ran = apply_against(&scim, dir.path(), extra.clone()).await;
    let plan = &ran.plan;
    assert_eq!(plan.count(ChangeKind::Deactivate), 1);
    assert_eq!(created(plan), ["acme:J1"]);
    assert_eq!(held_back(plan), ["acme:J2"]);
    let create = plan
        .changes
        .iter()
        .position(|c| c.kind == ChangeKind::Create)
        .unwrap();
    match &ran.applied.outcomes[create] {
        Outcome::Failed(error) => {
            assert_eq!(error.kind, TargetErrorKind::LicenseLimitExceeded);
            assert!(error.detail.starts_with("not attempted"), "{error}");
        }
        other => panic!("the create was attempted: {other:?}"),
    }
    assert!(
        !scim
            .users()
            .iter()
            .any(|u| u["userName"] == "j1@acme.example"),
        "the create never reached the target"
    );
    assert_eq!(active_scim_users(&scim).len(), 10);
    // Once the deactivation goes through, the seat is used.
    scim.clear_failures();
    let ran = apply_against(&scim, dir.path(), extra).await;
    assert_eq!(ran.summary.result, RunResult::Succeeded);
    assert_eq!(
        (ran.summary.counts.deactivated, ran.summary.counts.created),
        (1, 1)
    );
    let active = active_scim_users(&scim);
    assert_eq!(active.len(), 10);
    assert!(active.contains(&"j1@acme.example".to_owned()));
    scim.stop().await;
}
