//! Faults never remove a user by mistake, a rerun converges with no duplicate, and the report
//! and the status say exactly what happened.
//!
//! Each case breaks one thing, on the wire, against the emulators (and once against the real
//! third-party scim2-server behind a fault-injecting proxy):
//! - an HR source failing in the middle of paging (Merge, Personio): the run fails before
//!   planning, nothing reaches the target, the summary and the status name the source failure,
//!   and once the source answers again (after one throttled answer) a rerun converges;
//! - an HR source returning nobody while the target has managed users: nothing is removed or
//!   deactivated, not even with the safeguards opened wide or the plan approved, and the
//!   summary, the table and the status say the source was empty;
//! - a target throttling (429 + `Retry-After`) and failing (5xx) for a stretch: the run rides it
//!   out, every user is created exactly once, the counts are exact and the log shows the retries;
//! - a target refusing two users: the others are created, the two are per-record failures in
//!   the report files and the status, and a rerun creates exactly those two;
//! - the `apply` process killed in the middle of its writes (SIGKILL at a point the SCIM
//!   emulator holds it at: before a write, or after the server applied it but before the
//!   process heard so): a rerun creates exactly the rest, and a third run writes nothing;
//! - scim2-server behind a proxy that throttles the first writes, loses one answer and refuses
//!   one user;
//! - a target whose user list fails on a later page: nothing is written (a partial list would
//!   have meant duplicates), and a rerun converges;
//! - the answer to an applied create lost (the client retries, the server says 409): the user
//!   exists once and the run counts it created;
//! - a target redirecting its writes to another host: the run fails, the redirect is not
//!   followed, nothing reaches the other host;
//! - a target list that cannot be trusted (an empty page before its end, a user without an id,
//!   a page over `maxResponseBytes`): nothing is written, and a rerun converges; users listed
//!   with `active: null` are not reactivated.
//!
//! Retry-After values are 0 s and failing sources get two tries, so no case waits long; no case
//! depends on timing.

use crate::common;

use std::{
    collections::{BTreeSet, HashMap},
    path::{Path, PathBuf},
    process::Stdio,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use common::{
    fault_proxy::{FaultProxy, ProxyFaults, is_write},
    hr_sources::{HrApi, HrOptions, start_hr_source, write_secret},
    scim2_server::Scim2Server,
};
use hris_emulators::{
    hr::{CommonConfig, Faults, HrEmulator},
    log::LoggedRequest,
    scim::{ScimConfig, ScimEmulator},
};
use hris_operator::{
    connectors::{ConfigMapResolver, ConnectorContext, SecretResolver, connect},
    controller::status::{EventNote, Finished, record_run},
    crd::{self, HrisConnectionSpec, HrisConnectionStatus},
    sync::{
        apply::Outcome,
        model::{Email, EmailType, Employee, EmploymentStatus},
        policy::SyncPolicy,
        ports::source::SourceError,
        report::{self, ChangeCounts, RunMode, RunResult, Summary},
        run::{self, RunError, RunOptions, RunOutput},
    },
    sync_job::{ReportLimits, SyncRequest, sync},
};
use http::{Method, Request, Response};
use jiff::civil::{Date, date};
use kube::client::Body;
use serde_json::{Value, json};

const AS_OF: Date = date(2026, 11, 22);
const PREFIX: &str = "acme:";
const SCIM_TOKEN: &str = "test-token";
/// Longest any single step may take before the test gives up (a hang is a failure, not a wait).
const STEP_DEADLINE: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------------------------
// Data and specs

fn employee_id(index: usize) -> String {
    format!("E{:04}", index + 1)
}

fn email_of(index: usize) -> String {
    format!("person{:04}@corp.example", index + 1)
}

fn external_id(index: usize) -> String {
    format!("{PREFIX}{}", employee_id(index))
}

/// Active employees with a work email, started in 2020.
fn employees(indices: impl IntoIterator<Item = usize>) -> Vec<Employee> {
    indices
        .into_iter()
        .map(|i| {
            let mut e = Employee::new(
                employee_id(i),
                format!("First{i}"),
                format!("Last{i}"),
                EmploymentStatus::Active,
            );
            e.emails.push(Email {
                address: email_of(i).into(),
                kind: EmailType::Work,
            });
            e.start_date = Some(date(2020, 1, 1));
            e
        })
        .collect()
}

/// A directory for one case: secrets (the SCIM token; each source writes its own), reports, CSV
/// files.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("secrets");
    write_secret(&secrets, "scim", "token", SCIM_TOKEN);
    dir
}

/// The paged HR sources the source cases run against (both page by 100).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Hr {
    Merge,
    Personio,
}

impl Hr {
    /// The path every page request goes to.
    fn page_path(self) -> &'static str {
        match self {
            Hr::Merge => "/employees",
            Hr::Personio => "/v1/company/employees",
        }
    }
}

/// Starts `hr`'s emulator serving `records` (None: the API's records of `employees`) with
/// `faults`, its credentials in `dir`'s secrets, and returns it with the `source` part of a spec
/// pointing at it.
async fn start_hr(
    hr: Hr,
    dir: &Path,
    employees: &[Employee],
    records: Option<Vec<Value>>,
    faults: Faults,
) -> (HrEmulator, Value) {
    let api = match hr {
        Hr::Merge => HrApi::Merge,
        Hr::Personio => HrApi::Personio,
    };
    let options = HrOptions {
        common: CommonConfig {
            retry_after: Some(0),
            faults,
            ..CommonConfig::default()
        },
        wrong_credentials: false,
    };
    let tuning = json!({"requestsPerSecond": 1000, "maxTries": 2, "timeoutSeconds": 10});
    let (key, source, emulator) = start_hr_source(
        api,
        records.unwrap_or_else(|| api.records(employees)),
        options,
        &dir.join("secrets"),
        tuning.as_object().unwrap().clone(),
    )
    .await;
    (emulator, json!({ key: Value::Object(source) }))
}

/// A spec from a `source`, the SCIM target at `scim_base_url`, and extra top-level fields.
fn spec_of(source: Value, scim_base_url: &str, scim_extra: Value, extra: Value) -> Value {
    let mut target = json!({
        "baseUrl": scim_base_url,
        "credentialsSecretRef": {"name": "scim", "key": "token"},
        "requestsPerSecond": 1000,
        "timeoutSeconds": 10,
    });
    for (key, value) in scim_extra.as_object().into_iter().flatten() {
        target[key] = value.clone();
    }
    let mut spec = json!({
        "mode": "Active",
        "source": source,
        "target": {"scim": target},
        "externalIdPrefix": PREFIX,
    });
    for (key, value) in extra.as_object().into_iter().flatten() {
        spec[key] = value.clone();
    }
    spec
}

fn csv_source() -> Value {
    json!({"csv": {"path": "employees.csv"}})
}

fn write_csv(dir: &Path, employees: &[Employee]) {
    let mut text = String::from("id,firstName,lastName,workEmail,employmentStatus,startDate\n");
    for e in employees {
        text.push_str(&format!(
            "{},{},{},{},Active,2020-01-01\n",
            e.id, e.first_name, e.last_name, e.emails[0].address
        ));
    }
    std::fs::write(dir.join("employees.csv"), text).unwrap();
}

/// One run of the pipeline, in process, the way `apply -f` runs it.
async fn run_in(
    dir: &Path,
    spec: &Value,
    approved_hash: Option<String>,
) -> Result<RunOutput, RunError> {
    let spec: HrisConnectionSpec = serde_json::from_value(spec.clone()).expect("a valid spec");
    let policy = SyncPolicy::compile(&spec).expect("a valid spec");
    let context = ConnectorContext {
        base_dir: dir.to_path_buf(),
        secrets: SecretResolver::from_dir(dir.join("secrets")),
        config_maps: ConfigMapResolver::none(),
    };
    let options = RunOptions {
        mode: RunMode::Apply,
        as_of: AS_OF,
        approved_hash,
    };
    let ran = async {
        let (source, target) = connect(&spec, &context).await?;
        run::run("people/acme", &policy, &*source, &*target, &options).await
    };
    tokio::time::timeout(STEP_DEADLINE, ran)
        .await
        .expect("the run finishes")
}

async fn apply_ok(dir: &Path, spec: &Value) -> RunOutput {
    run_in(dir, spec, None)
        .await
        .unwrap_or_else(|e| panic!("the run fails before planning: {e}"))
}

fn counts(created: u64, updated: u64, unchanged: u64, errors: u64) -> ChangeCounts {
    ChangeCounts {
        created,
        updated,
        unchanged,
        errors,
        ..ChangeCounts::default()
    }
}

// ---------------------------------------------------------------------------------------------
// What the target holds and what it was asked

fn writes(log: &[LoggedRequest]) -> Vec<&LoggedRequest> {
    log.iter()
        .filter(|r| is_write(&r.method, &r.path))
        .collect()
}

/// Asserts the target saw no write since request `since` and holds exactly `users_before`.
fn assert_untouched(scim: &ScimEmulator, since: usize, users_before: &[Value], what: &str) {
    let requests = scim.requests();
    assert_eq!(
        writes(&requests[since..]),
        Vec::<&LoggedRequest>::new(),
        "{what}: no write"
    );
    assert_eq!(scim.users(), users_before, "{what}");
}

/// Users by externalId; panics on a duplicate externalId or userName.
fn by_external_id(users: &[Value]) -> HashMap<String, Value> {
    let mut user_names = BTreeSet::new();
    let mut map = HashMap::new();
    for user in users {
        let name = user["userName"].as_str().unwrap().to_lowercase();
        assert!(user_names.insert(name.clone()), "duplicate userName {name}");
        if let Some(external_id) = user["externalId"].as_str() {
            let previous = map.insert(external_id.to_owned(), user.clone());
            assert!(previous.is_none(), "duplicate externalId {external_id}");
        }
    }
    map
}

/// Every employee of `indices` has exactly one active user, and nobody else is managed.
fn assert_exactly_one_active_user_each(users: &[Value], indices: impl IntoIterator<Item = usize>) {
    let users = by_external_id(users);
    let expected: BTreeSet<String> = indices.into_iter().map(external_id).collect();
    let managed: BTreeSet<String> = users
        .keys()
        .filter(|id| id.starts_with(PREFIX))
        .cloned()
        .collect();
    assert_eq!(managed, expected, "managed users");
    for id in &expected {
        assert_eq!(users[id]["active"], true, "{id} is active");
    }
}

// ---------------------------------------------------------------------------------------------
// Status

fn finished(summary: Summary) -> Finished {
    Finished {
        kind: RunMode::Apply,
        job_name: "acme-apply-2-ab".into(),
        started_at: None,
        finished_at: "2026-11-22T02:05:00Z".parse().unwrap(),
        summary: Some(summary),
        failure: None,
        report: Some("acme-apply-2-ab-report".into()),
    }
}

/// `(status, reason, message)` of a condition.
fn condition(status: &HrisConnectionStatus, type_: &str) -> (String, String, String) {
    let c = status
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .unwrap_or_else(|| panic!("no {type_} condition: {:#?}", status.conditions));
    (c.status.clone(), c.reason.clone(), c.message.clone())
}

fn reasons(events: &[EventNote]) -> Vec<&'static str> {
    events.iter().map(|e| e.reason).collect()
}

// ---------------------------------------------------------------------------------------------
// 1. The source fails in the middle of paging

/// The connection object the sync Job reads, with `spec`.
fn connection(spec: &Value) -> Value {
    json!({
        "apiVersion": "hris-operator.io/v1alpha1",
        "kind": "HrisConnection",
        "metadata": {"name": "acme", "namespace": "people", "uid": "uid-acme", "generation": 2},
        "spec": spec,
    })
}

/// Runs the sync Job's code against a mock API server that serves the connection and expects
/// no other request (a run that fails before planning stores no report). Returns the summary
/// and the termination message.
async fn sync_job(dir: &Path, spec: &Value) -> (Summary, String) {
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(service, "people");
    let body = serde_json::to_vec(&connection(spec)).unwrap();
    let verifier = tokio::spawn(async move {
        let (request, send) = handle.next_request().await.expect("the connection is read");
        assert_eq!(request.method(), Method::GET);
        send.send_response(Response::builder().body(Body::from(body)).unwrap());
        if let Some((request, _)) = handle.next_request().await {
            panic!(
                "no other request after a failed fetch, got {} {}",
                request.method(),
                request.uri()
            );
        }
    });
    let request = SyncRequest {
        namespace: "people".into(),
        name: "acme".into(),
        kind: RunMode::Apply,
        secrets_dir: dir.join("secrets"),
        run_id: "ab".into(),
        report: "acme-apply-2-ab-report".into(),
        approve: None,
        termination_log: dir.join("termination-log"),
        scratch: dir.join("scratch"),
        report_limits: ReportLimits::default(),
    };
    let summary = tokio::time::timeout(STEP_DEADLINE, sync(client, &request))
        .await
        .expect("the sync finishes")
        .expect("a failed fetch still ends the sync with a summary");
    verifier.await.unwrap();
    let message = std::fs::read_to_string(dir.join("termination-log")).unwrap();
    (summary, message)
}

#[tokio::test]
async fn a_source_failing_in_the_middle_of_paging_writes_nothing_and_a_rerun_converges() {
    // 450 employees: five pages of 100. Page 3 (index 2) fails; pages 4 and 5 are never read.
    const EMPLOYEES: usize = 450;
    // Managed users whose employees are on every page: read (1, 2), failing (3), unread (4, 5).
    const SEEDED: [usize; 5] = [0, 150, 250, 350, 449];
    for hr in [Hr::Merge, Hr::Personio] {
        let dir = workspace();
        let scim = ScimEmulator::start(ScimConfig::default()).await.unwrap();
        scim.insert_user(json!({"userName": "someone@else.example", "externalId": "other:1"}));

        // A previous run created the managed users.
        let (seed_source, seed_spec) =
            start_hr(hr, dir.path(), &employees(SEEDED), None, Faults::default()).await;
        let seeded = apply_ok(
            dir.path(),
            &spec_of(seed_spec, &scim.base_url(), json!({}), json!({})),
        )
        .await;
        assert_eq!(seeded.summary.counts, counts(5, 0, 0, 0), "{hr:?}");
        drop(seed_source);
        let users_before = scim.users();
        let requests_before = scim.requests().len();

        let all = employees(0..EMPLOYEES);
        let failing = Faults {
            fail_page: Some((2, 503)),
            ..Faults::default()
        };
        let (source, source_spec) = start_hr(hr, dir.path(), &all, None, failing).await;
        let spec = spec_of(source_spec, &scim.base_url(), json!({}), json!({}));

        // The run fails before planning, with the source's category.
        let error = run_in(dir.path(), &spec, None)
            .await
            .expect_err("a failing page fails the run");
        assert!(
            matches!(error, RunError::Source(SourceError::Unavailable(_))),
            "{hr:?}: {error:?}"
        );
        assert_eq!(error.category(), "SourceUnavailable");
        // Pages 1 and 2 were read, page 3 was tried twice (maxTries), 4 and 5 never asked for.
        let pages: Vec<u16> = source
            .requests()
            .iter()
            .filter(|r: &&LoggedRequest| r.path.ends_with(hr.page_path()))
            .map(|r| r.status)
            .collect();
        assert_eq!(pages, [200, 200, 503, 503], "{hr:?}");

        // What the sync Job reports: a failed run, named by the source failure, no counts.
        let (summary, message) = sync_job(dir.path(), &spec).await;
        assert_eq!(summary.result, RunResult::Failed);
        assert_eq!(summary.error_category.as_deref(), Some("SourceUnavailable"));
        assert_eq!(summary.counts, ChangeCounts::default());
        assert_eq!(serde_json::from_str::<Summary>(&message).unwrap(), summary);

        // Nothing reached the target: no write at all, every user as it was (still active).
        assert_untouched(
            &scim,
            requests_before,
            &users_before,
            &format!("{hr:?}: the target is untouched"),
        );
        assert_exactly_one_active_user_each(&scim.users(), SEEDED);

        // What the status says.
        let mut status = HrisConnectionStatus::default();
        let events = record_run(&mut status, &finished(summary), 2);
        assert_eq!(reasons(&events), ["SyncFailed"]);
        let (ready, ready_reason, ready_message) = condition(&status, "Ready");
        assert_eq!(
            (ready.as_str(), ready_reason.as_str()),
            ("False", "RunFailed")
        );
        assert!(
            ready_message.contains("SourceUnavailable"),
            "{ready_message}"
        );
        let (synced, synced_reason, synced_message) = condition(&status, "Synced");
        assert_eq!(
            (synced.as_str(), synced_reason.as_str()),
            ("False", "SyncFailed")
        );
        assert!(
            synced_message
                .starts_with("SourceUnavailable: 0 created, 0 updated, 0 deactivated, 0 deleted"),
            "{synced_message}"
        );
        let last = status.last_sync.as_ref().unwrap();
        assert_eq!(last.result, Some(crd::RunResult::Failed));
        assert_eq!(last.error_category.as_deref(), Some("SourceUnavailable"));
        assert_eq!(last.counts, crd::ChangeCounts::default());
        assert_eq!(status.phase.as_deref(), Some("Failed"));
        assert_eq!(condition(&status, "CredentialsValid").0, "True");

        // The source answers again (throttling once): a rerun converges, with no duplicate.
        drop(source);
        let throttling_once = Faults {
            throttle_storm: 1,
            ..Faults::default()
        };
        let (source, source_spec) = start_hr(hr, dir.path(), &all, None, throttling_once).await;
        let spec = spec_of(source_spec, &scim.base_url(), json!({}), json!({}));
        let rerun = apply_ok(dir.path(), &spec).await;
        assert_eq!(rerun.summary.result, RunResult::Succeeded, "{hr:?}");
        assert_eq!(
            rerun.summary.counts,
            counts((EMPLOYEES - SEEDED.len()) as u64, 0, SEEDED.len() as u64, 0),
            "{hr:?}"
        );
        assert_eq!(source.requests()[0].status, 429, "{hr:?}: throttled first");
        assert_exactly_one_active_user_each(&scim.users(), 0..EMPLOYEES);
        let again = apply_ok(dir.path(), &spec).await;
        assert_eq!(again.summary.counts, counts(0, 0, EMPLOYEES as u64, 0));
        drop(source);
        scim.stop().await;
    }
}

// ---------------------------------------------------------------------------------------------
// 2. The source returns nobody

#[tokio::test]
async fn a_source_returning_nobody_removes_nobody_even_when_approved() {
    const SEEDED: [usize; 5] = [0, 1, 2, 3, 4];
    for hr in [Hr::Merge, Hr::Personio] {
        let dir = workspace();
        let scim = ScimEmulator::start(ScimConfig::default()).await.unwrap();
        let (seed_source, seed_spec) =
            start_hr(hr, dir.path(), &employees(SEEDED), None, Faults::default()).await;
        // Safeguards opened wide and absent users deleted: only the empty-source rule stands.
        let open = json!({
            "lifecycle": {"absentUsers": "Delete"},
            "safeguards": {"maxDeletePercent": 100},
        });
        let seeded = apply_ok(
            dir.path(),
            &spec_of(seed_spec, &scim.base_url(), json!({}), open.clone()),
        )
        .await;
        assert_eq!(seeded.summary.counts, counts(5, 0, 0, 0));
        drop(seed_source);
        let users_before = scim.users();
        let requests_before = scim.requests().len();

        let (source, source_spec) =
            start_hr(hr, dir.path(), &[], Some(Vec::new()), Faults::default()).await;
        let spec = spec_of(source_spec, &scim.base_url(), json!({}), open);
        let output = apply_ok(dir.path(), &spec).await;
        let summary = &output.summary;
        assert_eq!(summary.result, RunResult::Withheld, "{hr:?}: {summary:#?}");
        assert_eq!(summary.counts, ChangeCounts::default(), "{hr:?}");
        assert_eq!((summary.source_employees, summary.managed_users), (0, 5));
        let trip = summary.safeguard.as_ref().expect("the safeguard says why");
        assert!(trip.empty_source, "{trip:?}");
        assert_eq!(trip.withheld, 5);
        assert_eq!(output.plan.withheld.len(), 5);
        let table = report::render_table(summary, &output.plan, &output.applied);
        assert!(
            table.contains("the source returned no employees"),
            "{table}"
        );
        assert!(
            !table.contains("--approve"),
            "an empty source is not approvable: {table}"
        );

        // Approving the withheld plan's hash changes nothing: an empty source never removes.
        let approved = run_in(dir.path(), &spec, Some(summary.plan_hash.clone()))
            .await
            .unwrap();
        assert_eq!(approved.summary.result, RunResult::Withheld);
        assert_eq!(approved.summary.counts, ChangeCounts::default());

        assert_untouched(
            &scim,
            requests_before,
            &users_before,
            &format!("{hr:?}: nobody removed or deactivated"),
        );

        // The status: withheld, not failed, and it does not ask for an approval that cannot
        // help.
        let mut status = HrisConnectionStatus::default();
        let events = record_run(&mut status, &finished(summary.clone()), 2);
        assert!(
            reasons(&events).contains(&"SafeguardTriggered"),
            "{events:?}"
        );
        let (triggered, reason, message) = condition(&status, "SafeguardTriggered");
        assert_eq!(
            (triggered.as_str(), reason.as_str()),
            ("True", "EmptySource")
        );
        assert!(
            message.contains("the source returned no employees"),
            "{message}"
        );
        assert!(!message.contains("approve"), "{message}");
        assert_eq!(condition(&status, "Ready").0, "True");
        assert_eq!(status.phase.as_deref(), Some("Withheld"));
        assert_eq!(
            status.last_sync.as_ref().unwrap().result,
            Some(crd::RunResult::Withheld)
        );
        drop(source);
        scim.stop().await;
    }
}

// ---------------------------------------------------------------------------------------------
// 3. The target throttles and fails for a stretch

#[tokio::test]
async fn a_target_throttling_and_failing_for_a_stretch_is_ridden_out_with_exact_counts() {
    const EMPLOYEES: usize = 20;
    // User by user, and in one Bulk request.
    for bulk in [None, Some((100, 1_048_576))] {
        let dir = workspace();
        write_csv(dir.path(), &employees(0..EMPLOYEES));
        let scim = ScimEmulator::start(ScimConfig {
            bulk,
            ..ScimConfig::default()
        })
        .await
        .unwrap();
        // The first two requests (reading the provider's configuration), then the first three
        // writes.
        scim.fail_next(2, 503, Some(0));
        scim.fail_next_writes(2, 429, Some(0));
        scim.fail_next_writes(1, 503, Some(0));
        let spec = spec_of(csv_source(), &scim.base_url(), json!({}), json!({}));

        let output = apply_ok(dir.path(), &spec).await;
        assert_eq!(output.summary.result, RunResult::Succeeded, "bulk {bulk:?}");
        assert_eq!(output.summary.counts, counts(EMPLOYEES as u64, 0, 0, 0));
        assert_eq!(output.summary.error_category, None);
        assert_exactly_one_active_user_each(&scim.users(), 0..EMPLOYEES);

        // The log shows the retries: the first two requests refused, the first three writes
        // refused and sent again, then every write accepted.
        let log = scim.requests();
        assert_eq!(
            log[..2].iter().map(|r| r.status).collect::<Vec<_>>(),
            [503, 503]
        );
        let statuses: Vec<u16> = writes(&log).iter().map(|r| r.status).collect();
        let accepted = if bulk.is_some() { 1 } else { EMPLOYEES };
        assert_eq!(statuses.len(), 3 + accepted, "bulk {bulk:?}: {statuses:?}");
        assert_eq!(statuses[..3], [429, 429, 503]);
        assert!(
            statuses[3..].iter().all(|s| (200..300).contains(s)),
            "{statuses:?}"
        );

        // Nothing changed since: nothing is written.
        let before = writes(&scim.requests()).len();
        let again = apply_ok(dir.path(), &spec).await;
        assert_eq!(again.summary.counts, counts(0, 0, EMPLOYEES as u64, 0));
        assert_eq!(writes(&scim.requests()).len(), before);
        scim.stop().await;
    }
}

// ---------------------------------------------------------------------------------------------
// 4. Some writes fail

fn csv_rows(path: PathBuf) -> Vec<HashMap<String, String>> {
    let mut reader = csv::Reader::from_path(&path).unwrap();
    let header = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            header
                .iter()
                .map(str::to_owned)
                .zip(r.unwrap().iter().map(str::to_owned))
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn writes_refused_for_two_users_are_reported_and_a_rerun_creates_exactly_those() {
    const EMPLOYEES: usize = 12;
    // (index, status): a uniqueness conflict and a server error.
    const REFUSED: [(usize, u16); 2] = [(3, 409), (8, 500)];
    let dir = workspace();
    write_csv(dir.path(), &employees(0..EMPLOYEES));
    let scim = ScimEmulator::start(ScimConfig::default()).await.unwrap();
    for (index, status) in REFUSED {
        scim.fail_user(&email_of(index), status);
    }
    let spec = spec_of(csv_source(), &scim.base_url(), json!({}), json!({}));

    let output = apply_ok(dir.path(), &spec).await;
    let summary = &output.summary;
    assert_eq!(summary.result, RunResult::Failed);
    assert_eq!(summary.counts, counts(EMPLOYEES as u64 - 2, 0, 0, 2));
    // The first failure in plan order (by externalId): the conflict.
    assert_eq!(summary.error_category.as_deref(), Some("UserConflict"));
    assert_eq!(output.applied.failures(), 2);

    // The report files name the two records.
    let reports = dir.path().join("reports");
    report::write_reports(
        &reports,
        &output.plan,
        &output.applied,
        &output.record_errors,
        &output.mapped,
        summary,
    )
    .unwrap();
    let refused: BTreeSet<String> = REFUSED.iter().map(|(i, _)| external_id(*i)).collect();
    let errors = csv_rows(reports.join("errors.csv"));
    assert_eq!(
        errors
            .iter()
            .map(|r| r["externalId"].clone())
            .collect::<BTreeSet<_>>(),
        refused,
        "{errors:?}"
    );
    for row in &errors {
        assert_eq!(row["stage"], "target");
        assert_eq!(
            row["employeeId"],
            row["externalId"].trim_start_matches(PREFIX)
        );
    }
    let by_id: HashMap<String, String> = errors
        .iter()
        .map(|r| (r["externalId"].clone(), r["message"].clone()))
        .collect();
    assert!(by_id[&external_id(3)].contains("409"), "{by_id:?}");
    assert!(by_id[&external_id(8)].contains("500"), "{by_id:?}");
    let created = csv_rows(reports.join("created.csv"));
    assert_eq!(created.len(), EMPLOYEES);
    for row in &created {
        let expected = if refused.contains(&row["externalId"]) {
            "failed"
        } else {
            "applied"
        };
        assert_eq!(row["outcome"], expected, "{row:?}");
        assert_eq!(row["error"].is_empty(), expected == "applied", "{row:?}");
    }
    let written: Summary =
        serde_json::from_slice(&std::fs::read(reports.join("summary.json")).unwrap()).unwrap();
    assert_eq!(&written, summary);

    // The status: a failed sync with its counts.
    let mut status = HrisConnectionStatus::default();
    let events = record_run(&mut status, &finished(summary.clone()), 2);
    assert_eq!(reasons(&events), ["SyncFailed"]);
    let (synced, reason, message) = condition(&status, "Synced");
    assert_eq!((synced.as_str(), reason.as_str()), ("False", "SyncFailed"));
    assert_eq!(
        message,
        "UserConflict: 10 created, 0 updated, 0 deactivated, 0 deleted, 0 conflicts, 2 errors"
    );
    let (ready, ready_reason, _) = condition(&status, "Ready");
    assert_eq!(
        (ready.as_str(), ready_reason.as_str()),
        ("False", "RunFailed")
    );
    let last = status.last_sync.as_ref().unwrap();
    assert_eq!(
        last.counts,
        crd::ChangeCounts::from(counts(EMPLOYEES as u64 - 2, 0, 0, 2))
    );
    assert_eq!(last.error_category.as_deref(), Some("UserConflict"));

    // The target accepts them again: the rerun creates exactly the two, touches no other user.
    let users_before = by_external_id(&scim.users());
    scim.clear_failures();
    let rerun = apply_ok(dir.path(), &spec).await;
    assert_eq!(rerun.summary.result, RunResult::Succeeded);
    assert_eq!(rerun.summary.counts, counts(2, 0, EMPLOYEES as u64 - 2, 0));
    let users_after = by_external_id(&scim.users());
    let new: BTreeSet<String> = users_after
        .keys()
        .filter(|id| !users_before.contains_key(*id))
        .cloned()
        .collect();
    assert_eq!(new, refused);
    for (id, user) in &users_before {
        assert_eq!(&users_after[id], user, "{id} untouched");
    }
    assert_exactly_one_active_user_each(&scim.users(), 0..EMPLOYEES);
    scim.stop().await;
}

// ---------------------------------------------------------------------------------------------
// 5. The process is killed in the middle of apply

fn binary(dir: &Path, out: &str) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_hris-operator"));
    command
        .args(["apply", "--as-of", "2026-11-22", "--secrets-dir"])
        .arg(dir.join("secrets"))
        .arg("-f")
        .arg(dir.join("connection.yaml"))
        .arg("--out")
        .arg(dir.join(out))
        .env("RUST_LOG", "warn")
        .kill_on_drop(true);
    command
}

async fn apply_binary(dir: &Path, out: &str) -> Summary {
    let output = tokio::time::timeout(STEP_DEADLINE, binary(dir, out).output())
        .await
        .expect("apply finishes")
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&std::fs::read(dir.join(out).join("summary.json")).unwrap()).unwrap()
}

/// Where the SCIM emulator stops the process before it is killed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KillPoint {
    /// Before the server sees write `n + 1`: `n` users exist.
    BeforeTheWrite,
    /// After the server applied write `n + 1`, before the process hears of it: `n + 1` exist.
    BeforeTheAnswer,
}

/// Kills `apply` at `point` after 4 of 10 creates, then reruns it twice.
async fn kill_apply_and_rerun(point: KillPoint) {
    const EMPLOYEES: usize = 10;
    const LET_THROUGH: usize = 4;
    let existing = match point {
        KillPoint::BeforeTheWrite => LET_THROUGH,
        KillPoint::BeforeTheAnswer => LET_THROUGH + 1,
    };
    let dir = workspace();
    write_csv(dir.path(), &employees(0..EMPLOYEES));
    // User by user, one at a time, so the hold stops the process at exactly one write.
    let scim = ScimEmulator::start(ScimConfig {
        bulk: None,
        ..ScimConfig::default()
    })
    .await
    .unwrap();
    let manifest = json!({
        "apiVersion": "hris-operator.io/v1alpha1",
        "kind": "HrisConnection",
        "metadata": {"name": "acme", "namespace": "people"},
        "spec": spec_of(csv_source(), &scim.base_url(), json!({"maxConcurrency": 1}), json!({})),
    });
    std::fs::write(
        dir.path().join("connection.yaml"),
        serde_json::to_string_pretty(&manifest).unwrap(),
    )
    .unwrap();

    let held = match point {
        KillPoint::BeforeTheWrite => scim.hold_writes_after(LET_THROUGH),
        KillPoint::BeforeTheAnswer => scim.hold_answers_after(LET_THROUGH),
    };
    let mut child = binary(dir.path(), "out-killed")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    tokio::select! {
        reached = held => reached.expect("the hold is kept until released"),
        exit = child.wait() => panic!("apply ended before reaching the hold: {exit:?}"),
        () = tokio::time::sleep(STEP_DEADLINE) => panic!("apply never reached the hold"),
    }
    assert_eq!(scim.users().len(), existing, "{point:?}");
    child.kill().await.unwrap();
    scim.release_writes();
    assert!(
        !dir.path().join("out-killed/summary.json").exists(),
        "the killed run wrote no report"
    );

    let second = apply_binary(dir.path(), "out-second").await;
    assert_eq!(second.result, RunResult::Succeeded);
    assert_eq!(
        second.counts,
        counts((EMPLOYEES - existing) as u64, 0, existing as u64, 0),
        "{point:?}: {second:#?}"
    );
    assert_exactly_one_active_user_each(&scim.users(), 0..EMPLOYEES);

    let before = writes(&scim.requests()).len();
    let third = apply_binary(dir.path(), "out-third").await;
    assert_eq!(third.counts, counts(0, 0, EMPLOYEES as u64, 0));
    assert_eq!(writes(&scim.requests()).len(), before, "idempotent");
    scim.stop().await;
}

#[tokio::test]
async fn apply_killed_before_a_write_converges_on_the_next_run_without_duplicates() {
    kill_apply_and_rerun(KillPoint::BeforeTheWrite).await;
}

#[tokio::test]
async fn apply_killed_before_hearing_of_an_applied_write_converges_without_duplicates() {
    kill_apply_and_rerun(KillPoint::BeforeTheAnswer).await;
}

// ---------------------------------------------------------------------------------------------
// 6. The real scim2-server behind a fault-injecting proxy

#[tokio::test]
async fn scim2_server_behind_a_faulty_proxy_retries_reports_and_converges() {
    const EMPLOYEES: usize = 8;
    const REFUSED: usize = 5;
    let server = Scim2Server::start(SCIM_TOKEN);
    let proxy = FaultProxy::start(
        &format!("http://127.0.0.1:{}", server.port()),
        ProxyFaults {
            next_writes: [(429, Some(0)), (429, Some(0)), (503, Some(0))].into(),
            fail_user: Some((email_of(REFUSED), 400)),
            lose_write_answers: 1,
            hide_bulk: true,
            ..ProxyFaults::default()
        },
    )
    .await;
    let dir = workspace();
    write_csv(dir.path(), &employees(0..EMPLOYEES));
    let spec = spec_of(csv_source(), &proxy.url("/v2"), json!({}), json!({}));

    let output = apply_ok(dir.path(), &spec).await;
    let summary = &output.summary;
    assert_eq!(summary.result, RunResult::Failed);
    assert_eq!(summary.counts, counts(EMPLOYEES as u64 - 1, 0, 0, 1));
    assert_eq!(summary.error_category.as_deref(), Some("Rejected"));
    let failed: Vec<String> = output
        .plan
        .changes
        .iter()
        .zip(&output.applied.outcomes)
        .filter(|(_, o)| o.as_str() == "failed")
        .map(|(c, _)| c.external_id.to_string())
        .collect();
    assert_eq!(failed, [external_id(REFUSED)]);
    let all_but_refused = (0..EMPLOYEES).filter(|&i| i != REFUSED);
    assert_exactly_one_active_user_each(&server.users(), all_but_refused);

    // The proxy's log: three writes refused and retried, the refused user's one create, and
    // one create of every other employee reached the server, one of them twice: its first
    // answer was lost, and the 409 of its retry was recognised as our own user.
    let log = proxy.requests();
    let injected: Vec<u16> = log
        .iter()
        .filter(|r| !r.forwarded)
        .map(|r| r.status)
        .collect();
    assert_eq!(injected.iter().filter(|s| **s != 400).count(), 3, "{log:?}");
    assert_eq!(
        injected.iter().filter(|s| **s == 400).count(),
        1,
        "not retried: {log:?}"
    );
    let forwarded_writes: Vec<_> = log
        .iter()
        .filter(|r| r.forwarded && is_write(&r.method, &r.path))
        .collect();
    assert!(forwarded_writes.iter().all(|r| r.method == "POST"));
    let mut statuses: Vec<u16> = forwarded_writes.iter().map(|r| r.status).collect();
    statuses.sort_unstable();
    let mut expected = vec![201; EMPLOYEES - 2];
    expected.extend([409, 503]);
    assert_eq!(statuses, expected, "{log:?}");

    // The faults cleared, a rerun creates the refused user only; a third run writes nothing.
    proxy.set_faults(ProxyFaults {
        hide_bulk: true,
        ..ProxyFaults::default()
    });
    let rerun = apply_ok(dir.path(), &spec).await;
    assert_eq!(rerun.summary.result, RunResult::Succeeded);
    assert_eq!(rerun.summary.counts, counts(1, 0, EMPLOYEES as u64 - 1, 0));
    assert_exactly_one_active_user_each(&server.users(), 0..EMPLOYEES);
    let before = proxy.requests().len();
    let third = apply_ok(dir.path(), &spec).await;
    assert_eq!(third.summary.counts, counts(0, 0, EMPLOYEES as u64, 0));
    assert!(
        proxy.requests()[before..]
            .iter()
            .all(|r| !is_write(&r.method, &r.path)),
        "idempotent"
    );
}

// ---------------------------------------------------------------------------------------------
// 7. The target's user list fails on a later page

#[tokio::test]
async fn a_target_list_failing_on_a_later_page_writes_nothing_and_a_rerun_converges() {
    const SEEDED: usize = 12;
    const EMPLOYEES: usize = 15;
    let dir = workspace();
    // Five users a page: the list needs three pages.
    let scim = ScimEmulator::start(ScimConfig {
        max_page_size: 5,
        ..ScimConfig::default()
    })
    .await
    .unwrap();
    write_csv(dir.path(), &employees(0..SEEDED));
    let direct = spec_of(csv_source(), &scim.base_url(), json!({}), json!({}));
    let seeded = apply_ok(dir.path(), &direct).await;
    assert_eq!(seeded.summary.counts, counts(SEEDED as u64, 0, 0, 0));
    let users_before = scim.users();
    let requests_before = scim.requests().len();

    // Three joiners, and the list's second page fails every try: had the run planned on the
    // first page alone, it would have created duplicates of the seven users it did not see.
    write_csv(dir.path(), &employees(0..EMPLOYEES));
    let upstream = scim.base_url().trim_end_matches("/scim/v2").to_owned();
    let proxy = FaultProxy::start(
        &upstream,
        ProxyFaults {
            fail_reads: Some(("startIndex=6".into(), 500)),
            ..ProxyFaults::default()
        },
    )
    .await;
    let spec = spec_of(
        csv_source(),
        &proxy.url("/scim/v2"),
        json!({"maxTries": 2}),
        json!({}),
    );
    let error = run_in(dir.path(), &spec, None)
        .await
        .expect_err("an incomplete list fails the run");
    assert!(matches!(error, RunError::Target(_)), "{error:?}");
    assert_eq!(error.category(), "TargetUnavailable");
    let list_pages: Vec<u16> = proxy
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with("/Users"))
        .map(|r| r.status)
        .collect();
    assert_eq!(list_pages, [200, 500, 500], "page 1, then page 2 twice");
    assert!(
        proxy
            .requests()
            .iter()
            .all(|r| !is_write(&r.method, &r.path))
    );
    assert_untouched(&scim, requests_before, &users_before, "the list failed");

    // The Job's summary and the status name the target.
    let summary = Summary::failed(
        "people/acme",
        RunMode::Apply,
        AS_OF.to_string(),
        error.category(),
    );
    let mut status = HrisConnectionStatus::default();
    record_run(&mut status, &finished(summary), 2);
    let (ready, reason, message) = condition(&status, "Ready");
    assert_eq!((ready.as_str(), reason.as_str()), ("False", "RunFailed"));
    assert!(message.contains("TargetUnavailable"), "{message}");
    assert_eq!(
        status.last_sync.as_ref().unwrap().error_category.as_deref(),
        Some("TargetUnavailable")
    );

    // The list answers again: the joiners are created, nobody twice.
    proxy.set_faults(ProxyFaults::default());
    let rerun = apply_ok(dir.path(), &spec).await;
    assert_eq!(rerun.summary.result, RunResult::Succeeded);
    assert_eq!(
        rerun.summary.counts,
        counts((EMPLOYEES - SEEDED) as u64, 0, SEEDED as u64, 0)
    );
    assert_exactly_one_active_user_each(&scim.users(), 0..EMPLOYEES);
    scim.stop().await;
}

// ---------------------------------------------------------------------------------------------
// 8. The answer to an applied create is lost

#[tokio::test]
async fn a_lost_answer_to_an_applied_create_never_duplicates_the_user() {
    const EMPLOYEES: usize = 6;
    let dir = workspace();
    write_csv(dir.path(), &employees(0..EMPLOYEES));
    let scim = ScimEmulator::start(ScimConfig {
        bulk: None,
        ..ScimConfig::default()
    })
    .await
    .unwrap();
    let upstream = scim.base_url().trim_end_matches("/scim/v2").to_owned();
    // The first create is made, but its answer is a 503: the client sends it again.
    let proxy = FaultProxy::start(
        &upstream,
        ProxyFaults {
            lose_write_answers: 1,
            ..ProxyFaults::default()
        },
    )
    .await;
    let spec = spec_of(
        csv_source(),
        &proxy.url("/scim/v2"),
        json!({"maxConcurrency": 1}),
        json!({}),
    );
    let first = apply_ok(dir.path(), &spec).await;
    // Every employee has exactly one user, the one whose answer was lost included, and the
    // summary says so: the retried create's 409 was our own first try.
    assert_exactly_one_active_user_each(&scim.users(), 0..EMPLOYEES);
    assert_eq!(first.summary.result, RunResult::Succeeded, "{first:#?}");
    assert_eq!(first.summary.counts, counts(EMPLOYEES as u64, 0, 0, 0));
    let statuses: Vec<u16> = writes(&scim.requests()).iter().map(|r| r.status).collect();
    assert_eq!(statuses[..2], [201, 409], "the lost create, then its retry");
    assert_eq!(statuses.len(), EMPLOYEES + 1);

    // The rerun finds every user by externalId: nothing to create, nothing written.
    let before = writes(&scim.requests()).len();
    let rerun = apply_ok(dir.path(), &spec).await;
    assert_eq!(rerun.summary.result, RunResult::Succeeded);
    assert_eq!(rerun.summary.counts, counts(0, 0, EMPLOYEES as u64, 0));
    assert_eq!(writes(&scim.requests()).len(), before);
    scim.stop().await;
}

// ---------------------------------------------------------------------------------------------
// 9. A target that redirects writes elsewhere, lists inconsistently or answers too much

/// A server on 127.0.0.1 that answers 200 to anything and counts what reached it: requests,
/// and the bytes of their bodies.
async fn elsewhere() -> (u16, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let requests = Arc::new(AtomicUsize::new(0));
    let bytes = Arc::new(AtomicUsize::new(0));
    let (r, b) = (requests.clone(), bytes.clone());
    let app = axum::Router::new().fallback(move |body: axum::body::Bytes| {
        r.fetch_add(1, Ordering::SeqCst);
        b.fetch_add(body.len(), Ordering::SeqCst);
        async { "{}" }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (port, requests, bytes)
}

#[tokio::test]
async fn a_target_redirecting_writes_to_another_host_fails_the_run_and_nothing_reaches_it() {
    let dir = workspace();
    let scim = ScimEmulator::start(ScimConfig::default()).await.unwrap();
    let (port, requests, bytes) = elsewhere().await;
    let upstream = scim.base_url().trim_end_matches("/scim/v2").to_owned();
    // Another host: `localhost`, where the target is `127.0.0.1`.
    let proxy = FaultProxy::start(
        &upstream,
        ProxyFaults {
            redirect_writes: Some(format!("http://localhost:{port}")),
            hide_bulk: true,
            ..ProxyFaults::default()
        },
    )
    .await;
    write_csv(dir.path(), &employees(0..3));
    let spec = spec_of(csv_source(), &proxy.url("/scim/v2"), json!({}), json!({}));
    let output = run_in(dir.path(), &spec, None)
        .await
        .expect("the run lists the target, plans and tries to write");
    assert_eq!(output.summary.result, RunResult::Failed);
    assert_eq!(output.summary.counts.created, 0);
    assert_eq!(output.summary.counts.errors, 3);
    assert_eq!(
        output.summary.error_category.as_deref(),
        Some("TargetUnavailable")
    );
    for outcome in &output.applied.outcomes {
        let Outcome::Failed(error) = outcome else {
            panic!("every create fails: {outcome:?}");
        };
        assert_eq!(error.status, Some(307));
        assert_eq!(
            error.detail,
            format!(
                "POST {}/Users: the server redirected (307) to host localhost; redirects are \
                 not followed, set the URL the server expects in the spec",
                proxy.url("/scim/v2")
            )
        );
    }
    let redirected = proxy
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.status == 307)
        .count();
    assert_eq!(
        redirected, 3,
        "one try per create: a redirect is not retried"
    );
    assert_eq!(
        requests.load(Ordering::SeqCst),
        0,
        "no request reached the other host"
    );
    assert_eq!(
        bytes.load(Ordering::SeqCst),
        0,
        "no body reached the other host"
    );
    assert!(scim.users().is_empty());
    scim.stop().await;
}

#[tokio::test]
async fn a_target_list_ending_early_or_oversized_fails_the_run_and_writes_nothing() {
    const SEEDED: usize = 12;
    const EMPLOYEES: usize = 15;
    let dir = workspace();
    let scim = ScimEmulator::start(ScimConfig {
        max_page_size: 5,
        ..ScimConfig::default()
    })
    .await
    .unwrap();
    write_csv(dir.path(), &employees(0..SEEDED));
    let spec = spec_of(
        csv_source(),
        &scim.base_url(),
        json!({"maxResponseBytes": 16384}),
        json!({}),
    );
    let seeded = apply_ok(dir.path(), &spec).await;
    assert_eq!(seeded.summary.counts, counts(SEEDED as u64, 0, 0, 0));
    let users_before = scim.users();
    write_csv(dir.path(), &employees(0..EMPLOYEES));

    // The second page comes back empty while totalResults still says 12: had the run planned
    // on the first page alone, it would have created the seven users it did not see again.
    // Then a page padded past maxResponseBytes.
    type Fault = fn(&ScimEmulator);
    let faults: [(Fault, &str, &str); 3] = [
        (
            |scim| scim.empty_pages_from(6),
            "InvalidTargetData",
            "the page at startIndex 6 is empty, right after a full page, while totalResults \
             says 12 users exist (5 listed)",
        ),
        (
            |scim| scim.rewrite_listed("id", None),
            "InvalidTargetData",
            "the provider listed a user without an id",
        ),
        (
            |scim| scim.pad_lists(32 << 10),
            "InvalidTargetData",
            "the answer is larger than 16384 bytes, the most this connector reads \
             (maxResponseBytes)",
        ),
    ];
    for (fault, category, message) in faults {
        fault(&scim);
        let requests_before = scim.requests().len();
        let error = run_in(dir.path(), &spec, None)
            .await
            .expect_err("a list that cannot be trusted fails the run");
        assert!(matches!(error, RunError::Target(_)), "{error:?}");
        assert_eq!(error.category(), category, "{error}");
        assert!(error.to_string().contains(message), "{error}");
        assert_untouched(&scim, requests_before, &users_before, message);
        scim.clear_failures();
    }

    // The list answers whole again: the joiners are created, nobody twice.
    let rerun = apply_ok(dir.path(), &spec).await;
    assert_eq!(rerun.summary.result, RunResult::Succeeded);
    assert_eq!(
        rerun.summary.counts,
        counts((EMPLOYEES - SEEDED) as u64, 0, SEEDED as u64, 0)
    );
    assert_exactly_one_active_user_each(&scim.users(), 0..EMPLOYEES);
    scim.stop().await;
}

#[tokio::test]
async fn users_listed_with_active_null_are_not_reactivated() {
    let dir = workspace();
    let scim = ScimEmulator::start(ScimConfig::default()).await.unwrap();
    write_csv(dir.path(), &employees(0..4));
    let spec = spec_of(csv_source(), &scim.base_url(), json!({}), json!({}));
    apply_ok(dir.path(), &spec).await;
    let writes_before = writes(&scim.requests()).len();
    // The provider stops stating `active`: nothing says the users were deactivated.
    scim.rewrite_listed("active", Some(Value::Null));
    let rerun = apply_ok(dir.path(), &spec).await;
    assert_eq!(rerun.summary.result, RunResult::Succeeded);
    assert_eq!(rerun.summary.counts, counts(0, 0, 4, 0));
    assert_eq!(
        writes(&scim.requests()).len(),
        writes_before,
        "nothing written"
    );
    scim.stop().await;
}
