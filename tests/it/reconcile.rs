//! Reconcile, request by request against kube's mock API server (the controller-rs fixture
//! pattern): a new connection gets its sync ServiceAccount, this run's Role and their binding,
//! then its simulation Job; a finished Job becomes status and an Event; a deactivated connection
//! starts nothing; a connection with a ServiceAccount of its own gets no RBAC objects.
//!
//! And the controller's promises under forged or odd cluster state: a forged or planted
//! termination message makes a `Failed/InvalidSummary` run and nothing else; a run is recorded
//! once however many Jobs the limits keep; a Job deleted while running, or failed whatever its
//! Pod says, is a failed run; a 100-character name runs with labels within 63 characters; the
//! same hash approves a new generation; a hash approved before starts a new run; a namesake's
//! old Job is not this connection's; a spec an older CRD let through starts no Job; an interval
//! anchored by `startAt` shows its next run, and starts nothing before it.

use std::{sync::Arc, time::Duration};

use hris_operator::{
    controller::{context::Context, job::JobDefaults, reconcile::reconcile_at},
    crd::HrisConnection,
    metrics::Metrics,
};
use http::{Method, Request, Response};
use kube::{client::Body, runtime::events::Reporter};
use serde_json::{Value, json};
use tower_test::mock::{Handle, SendResponse};

type ApiHandle = Handle<Request<Body>, Response<Body>>;

fn connection(mode: &str, status: Value) -> HrisConnection {
    serde_json::from_value(json!({
        "apiVersion": "hris-operator.io/v1alpha1",
        "kind": "HrisConnection",
        "metadata": {"name": "acme", "namespace": "people", "uid": "uid-acme", "generation": 1,
                     "creationTimestamp": "2026-11-22T00:00:00Z"},
        "spec": {
            "mode": mode,
            "source": {"csv": {"path": "e.csv"}},
            "target": {"file": {"path": "d.json"}},
            "externalIdPrefix": "acme:",
        },
        "status": status,
    }))
    .unwrap()
}

fn context(client: kube::Client) -> Context {
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

fn respond(send: SendResponse<Response<Body>>, body: &Value) {
    send.send_response(
        Response::builder()
            .body(Body::from(serde_json::to_vec(body).unwrap()))
            .unwrap(),
    );
}

async fn body_of(request: Request<Body>) -> Value {
    serde_json::from_slice(&request.into_body().collect_bytes().await.unwrap()).unwrap()
}

fn list(kind: &str, items: Vec<Value>) -> Value {
    json!({"apiVersion": "v1", "kind": kind, "metadata": {}, "items": items})
}

/// Answers the Jobs list, then returns the next request.
/// A run's counts that changed nothing.
fn no_changes() -> Value {
    json!({"created": 0, "updated": 0, "deactivated": 0, "deleted": 0, "unchanged": 0,
           "skipped": 0, "conflicts": 0, "errors": 0})
}

/// A Simulate connection whose status already records these simulation Jobs, newest first.
fn with_history(jobs: impl Iterator<Item = String>) -> HrisConnection {
    let history: Vec<Value> = jobs
        .map(|job| {
            json!({"kind": "Simulate", "jobName": job, "result": "Succeeded",
                          "counts": no_changes()})
        })
        .collect();
    connection(
        "Simulate",
        json!({"history": history,
               "lastSimulation": {"generation": 1, "result": "Succeeded", "counts": no_changes()}}),
    )
}

/// The ownerReference the controller puts on the Jobs of the connection `acme`.
fn owner_of_jobs() -> Value {
    json!({"apiVersion": "hris-operator.io/v1alpha1", "kind": "HrisConnection", "name": "acme",
           "uid": "uid-acme", "controller": true})
}

/// What the API server answers to the recorded mark (the Job, labelled).
fn job_for_mark() -> Value {
    json!({"apiVersion": "batch/v1", "kind": "Job",
           "metadata": {"name": "acme-sim-1-ab", "namespace": "people",
                        "labels": {"hris-operator.io/recorded": "true"}}})
}

async fn jobs_listed(handle: &mut ApiHandle, jobs: Vec<Value>) {
    let (request, send) = handle.next_request().await.expect("jobs are listed");
    assert_eq!(request.method(), Method::GET);
    assert_eq!(
        request.uri().path(),
        "/apis/batch/v1/namespaces/people/jobs"
    );
    respond(send, &list("JobList", jobs));
}

async fn status_patched(handle: &mut ApiHandle) -> Value {
    let (request, send) = handle.next_request().await.expect("status is written");
    assert_eq!(request.method(), Method::PATCH);
    assert_eq!(
        request.uri().path(),
        "/apis/hris-operator.io/v1alpha1/namespaces/people/hrisconnections/acme/status"
    );
    assert!(
        request
            .uri()
            .query()
            .unwrap()
            .contains("fieldManager=hris-operator")
    );
    let body = body_of(request).await;
    // The API server answers with the whole object.
    let mut whole = serde_json::to_value(connection("Simulate", json!({}))).unwrap();
    whole["status"] = body["status"].clone();
    respond(send, &whole);
    body["status"].clone()
}

/// Answers one server-side apply (PATCH, our field manager, forced) of `path`, and returns the
/// applied object.
async fn applied(handle: &mut ApiHandle, path: &str) -> Value {
    let (request, send) = handle
        .next_request()
        .await
        .unwrap_or_else(|| panic!("{path} is applied"));
    assert_eq!(request.method(), Method::PATCH, "{path}");
    assert_eq!(request.uri().path(), path);
    let query = request.uri().query().unwrap_or_default().to_owned();
    assert!(query.contains("fieldManager=hris-operator"), "{query}");
    assert!(query.contains("force=true"), "{query}");
    assert_eq!(
        request.headers()["content-type"],
        "application/apply-patch+yaml"
    );
    let object = body_of(request).await;
    respond(send, &object);
    object
}

/// The connection's sync ServiceAccount, Role and RoleBinding, applied in that order.
async fn sync_access_applied(handle: &mut ApiHandle) -> (Value, Value, Value) {
    let account = applied(
        handle,
        "/api/v1/namespaces/people/serviceaccounts/acme-sync",
    )
    .await;
    let role = applied(
        handle,
        "/apis/rbac.authorization.k8s.io/v1/namespaces/people/roles/acme-sync",
    )
    .await;
    let binding = applied(
        handle,
        "/apis/rbac.authorization.k8s.io/v1/namespaces/people/rolebindings/acme-sync",
    )
    .await;
    (account, role, binding)
}

#[tokio::test]
async fn a_new_connection_starts_its_simulation_job() {
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let context = context(kube::Client::new(service, "people"));
    let verifier = tokio::spawn(async move {
        jobs_listed(&mut handle, vec![]).await;
        let access = sync_access_applied(&mut handle).await;
        let (request, send) = handle
            .next_request()
            .await
            .expect("a Job is created, after its access");
        assert_eq!(request.method(), Method::POST);
        assert_eq!(
            request.uri().path(),
            "/apis/batch/v1/namespaces/people/jobs"
        );
        let job = body_of(request).await;
        respond(send, &job);
        let status = status_patched(&mut handle).await;
        assert!(handle.next_request().await.is_none(), "nothing else");
        (access, job, status)
    });
    let connection = connection("Simulate", json!({}));
    reconcile_at(
        &connection,
        &context,
        "2026-11-22T10:00:00Z".parse().unwrap(),
    )
    .await
    .unwrap();
    drop(context);
    let ((account, role, binding), job, status) = verifier.await.unwrap();
    let name = job["metadata"]["name"].as_str().unwrap();
    assert!(name.starts_with("acme-sim-1-"), "{name}");
    // The Job runs as the connection's own ServiceAccount ...
    assert_eq!(
        job["spec"]["template"]["spec"]["serviceAccountName"],
        "acme-sync"
    );
    assert_eq!(account["kind"], "ServiceAccount");
    // ... whose Role reads this connection and writes this run's reports, by name.
    assert_eq!(role["kind"], "Role");
    let rules = role["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 2);
    assert_eq!(
        rules[0],
        json!({"apiGroups": ["hris-operator.io"], "resources": ["hrisconnections"],
               "verbs": ["get"], "resourceNames": ["acme"]})
    );
    assert_eq!(rules[1]["apiGroups"], json!([""]));
    assert_eq!(rules[1]["resources"], json!(["secrets"]));
    assert_eq!(rules[1]["verbs"], json!(["create", "patch"]));
    let secrets = rules[1]["resourceNames"].as_array().unwrap();
    assert_eq!(secrets[0], format!("{name}-report"));
    assert_eq!(secrets[1], format!("{name}-report-2"));
    assert_eq!(
        secrets.len(),
        hris_operator::contract::names::MAX_REPORT_SECRETS
    );
    assert_eq!(
        binding["roleRef"],
        json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "acme-sync"})
    );
    assert_eq!(
        binding["subjects"],
        json!([{"kind": "ServiceAccount", "name": "acme-sync", "namespace": "people"}])
    );
    // All three go with the connection.
    for object in [&account, &role, &binding] {
        assert_eq!(object["metadata"]["ownerReferences"][0]["uid"], "uid-acme");
        assert_eq!(object["metadata"]["ownerReferences"][0]["controller"], true);
    }
    assert_eq!(
        job["spec"]["template"]["spec"]["containers"][0]["args"][4],
        "simulate"
    );
    assert_eq!(job["metadata"]["ownerReferences"][0]["uid"], "uid-acme");
    assert_eq!(status["phase"], "Running");
    assert_eq!(status["observedGeneration"], 1);
}

#[tokio::test]
async fn a_finished_job_becomes_status_and_an_event() {
    let summary = json!({
        "connection": "people/acme", "mode": "Simulate", "asOf": "2026-11-22", "result": "Succeeded",
        "counts": {"created": 4, "updated": 1, "deactivated": 0, "deleted": 0, "unchanged": 7,
                   "skipped": 0, "conflicts": 0, "errors": 0},
        "planHash": "9e61cd5df81596e3d99e", "sourceEmployees": 12, "targetUsers": 8, "managedUsers": 8,
        "sample": [{"action": "Create", "externalId": "acme:E1"}]
    });
    let job = json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "acme-sim-1-ab", "namespace": "people", "uid": "uid-job-ab",
                     "labels": {"hris-operator.io/connection": "acme", "hris-operator.io/run-kind": "simulate",
                                "hris-operator.io/generation": "1"},
                     "ownerReferences": [owner_of_jobs()]},
        "spec": {"template": {"spec": {"containers": []}}},
        "status": {"startTime": "2026-11-22T09:59:00Z",
                   "conditions": [{"type": "Complete", "status": "True", "lastTransitionTime": "2026-11-22T10:00:00Z"}]}
    });
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "acme-sim-1-ab-x", "namespace": "people",
                     "labels": {"job-name": "acme-sim-1-ab"},
                     "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": "acme-sim-1-ab",
                                          "uid": "uid-job-ab", "controller": true}]},
        "status": {"containerStatuses": [{"name": "sync", "image": "i", "imageID": "", "ready": false,
            "restartCount": 0, "state": {"terminated": {"exitCode": 0, "finishedAt": "2026-11-22T10:00:00Z",
            "message": summary.to_string()}}}]}
    });
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let context = context(kube::Client::new(service, "people"));
    let verifier = tokio::spawn(async move {
        jobs_listed(&mut handle, vec![job.clone()]).await;
        let (request, send) = handle
            .next_request()
            .await
            .expect("the Job's pods are read");
        assert_eq!(request.uri().path(), "/api/v1/namespaces/people/pods");
        assert!(
            request
                .uri()
                .query()
                .unwrap()
                .contains("job-name%3Dacme-sim-1-ab")
        );
        respond(send, &list("PodList", vec![pod]));
        let status = status_patched(&mut handle).await;
        // Then the Job is marked recorded: a run is recorded once, whatever the history keeps.
        let (request, send) = handle.next_request().await.expect("the Job is marked");
        assert_eq!(request.method(), Method::PATCH);
        assert_eq!(
            request.uri().path(),
            "/apis/batch/v1/namespaces/people/jobs/acme-sim-1-ab"
        );
        let mark = body_of(request).await;
        assert_eq!(
            mark["metadata"]["labels"]["hris-operator.io/recorded"],
            "true"
        );
        respond(send, &job_for_mark());
        let (request, send) = handle.next_request().await.expect("an Event is published");
        assert_eq!(request.method(), Method::POST);
        assert_eq!(
            request.uri().path(),
            "/apis/events.k8s.io/v1/namespaces/people/events"
        );
        let event = body_of(request).await;
        respond(send, &event);
        // A second reconcile from the same (stale) cached object records nothing twice: no
        // Pod read, no second Event, and no status write (nothing changed).
        jobs_listed(&mut handle, vec![job]).await;
        assert!(handle.next_request().await.is_none(), "nothing else");
        (status, event)
    });
    let connection = connection("Simulate", json!({"phase": "Running"}));
    reconcile_at(
        &connection,
        &context,
        "2026-11-22T10:00:05Z".parse().unwrap(),
    )
    .await
    .unwrap();
    reconcile_at(
        &connection,
        &context,
        "2026-11-22T10:00:06Z".parse().unwrap(),
    )
    .await
    .unwrap();
    let metrics = context.metrics.encode();
    drop(context);
    let (status, event) = verifier.await.unwrap();
    assert!(
        metrics.contains(r#"hris_operator_sync_runs_total{kind="simulate",result="Succeeded"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"hris_operator_changes_total{change="created"} 0"#),
        "a simulation changes nobody: {metrics}"
    );
    let simulation = &status["lastSimulation"];
    assert_eq!(simulation["result"], "Succeeded");
    assert_eq!(simulation["counts"]["created"], 4);
    assert_eq!(simulation["planHash"], "9e61cd5df81596e3d99e");
    assert_eq!(simulation["generation"], 1);
    assert_eq!(simulation["reportRef"], "acme-sim-1-ab-report");
    assert_eq!(
        status["phase"], "Idle",
        "simulated this generation; nothing else due"
    );
    assert_eq!(status["changeSample"][0]["externalId"], "acme:E1");
    assert_eq!(event["reason"], "SimulationReady");
    assert_eq!(event["type"], "Normal");
}

#[tokio::test]
async fn a_deactivated_connection_starts_nothing_and_says_so() {
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let context = context(kube::Client::new(service, "people"));
    let verifier = tokio::spawn(async move {
        jobs_listed(&mut handle, vec![]).await;
        let status = status_patched(&mut handle).await;
        assert!(handle.next_request().await.is_none(), "no Job, no Event");
        status
    });
    let connection = connection("Deactivated", json!({}));
    reconcile_at(
        &connection,
        &context,
        "2026-11-22T10:00:00Z".parse().unwrap(),
    )
    .await
    .unwrap();
    drop(context);
    let status = verifier.await.unwrap();
    assert_eq!(status["phase"], "Deactivated");
    assert!(status.get("nextSyncTime").is_none());
    assert_eq!(status["conditions"][0]["type"], "Ready");
    assert_eq!(status["conditions"][0]["status"], "False");
    assert_eq!(status["conditions"][0]["reason"], "Deactivated");
}

#[tokio::test]
async fn runs_beyond_the_history_limits_are_forgotten_with_their_reports() {
    // Five finished, already recorded simulations; the limit keeps two.
    let job = |n: u32| {
        json!({
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": format!("acme-sim-1-r{n}"), "namespace": "people",
                         "labels": {"hris-operator.io/connection": "acme", "hris-operator.io/run-kind": "simulate",
                                    "hris-operator.io/generation": "1", "hris-operator.io/run": format!("r{n}")},
                         "ownerReferences": [owner_of_jobs()]},
            "spec": {"template": {"spec": {"containers": []}}},
            "status": {"conditions": [{"type": "Complete", "status": "True",
                                       "lastTransitionTime": format!("2026-11-22T0{n}:00:00Z")}]}
        })
    };
    let mut connection = with_history((1..=5).rev().map(|n| format!("acme-sim-1-r{n}")));
    connection.spec.history_limits.successful = 2;

    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let context = context(kube::Client::new(service, "people"));
    let verifier = tokio::spawn(async move {
        jobs_listed(&mut handle, (1..=5).map(job).collect()).await;
        let mut deleted = Vec::new();
        for _ in 0..3 {
            let (request, send) = handle.next_request().await.expect("a Job is deleted");
            assert_eq!(request.method(), Method::DELETE);
            deleted.push(request.uri().path().rsplit('/').next().unwrap().to_owned());
            respond(
                send,
                &json!({"kind": "Status", "apiVersion": "v1", "status": "Success", "metadata": {}}),
            );
            let (request, send) = handle.next_request().await.expect("its report is deleted");
            assert_eq!(request.method(), Method::DELETE);
            assert_eq!(request.uri().path(), "/api/v1/namespaces/people/secrets");
            let query = request.uri().query().unwrap().to_owned();
            assert!(query.contains("hris-operator.io%2Frun%3Dr"), "{query}");
            respond(send, &list("SecretList", vec![]));
        }
        status_patched(&mut handle).await;
        deleted
    });
    reconcile_at(
        &connection,
        &context,
        "2026-11-22T10:00:00Z".parse().unwrap(),
    )
    .await
    .unwrap();
    drop(context);
    assert_eq!(
        verifier.await.unwrap(),
        ["acme-sim-1-r1", "acme-sim-1-r2", "acme-sim-1-r3"],
        "the oldest three go; the newest two stay"
    );
}

#[tokio::test]
async fn a_connection_with_its_own_service_account_gets_no_rbac_objects() {
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let context = context(kube::Client::new(service, "people"));
    let verifier = tokio::spawn(async move {
        jobs_listed(&mut handle, vec![]).await;
        let (request, send) = handle.next_request().await.expect("the Job, at once");
        assert_eq!(request.method(), Method::POST);
        assert_eq!(
            request.uri().path(),
            "/apis/batch/v1/namespaces/people/jobs"
        );
        let job = body_of(request).await;
        respond(send, &job);
        status_patched(&mut handle).await;
        assert!(handle.next_request().await.is_none(), "nothing else");
        job
    });
    let mut connection = connection("Simulate", json!({}));
    connection.spec.job.service_account_name = "people-sync".into();
    reconcile_at(
        &connection,
        &context,
        "2026-11-22T10:00:00Z".parse().unwrap(),
    )
    .await
    .unwrap();
    drop(context);
    let job = verifier.await.unwrap();
    assert_eq!(
        job["spec"]["template"]["spec"]["serviceAccountName"],
        "people-sync"
    );
}

/// A finished simulation Job of `acme` with a uid, as the controller makes them.
fn finished_job(name: &str, uid: &str, finished: &str, labels: Value) -> Value {
    let mut all = json!({"hris-operator.io/connection": "acme", "hris-operator.io/run-kind": "simulate",
                         "hris-operator.io/generation": "1"});
    for (key, value) in labels.as_object().unwrap() {
        all[key] = value.clone();
    }
    json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "namespace": "people", "uid": uid, "labels": all,
                     "ownerReferences": [owner_of_jobs()]},
        "spec": {"template": {"spec": {"containers": []}}},
        "status": {"conditions": [{"type": "Complete", "status": "True", "lastTransitionTime": finished}]}
    })
}

/// A Pod whose sync container left `message`, owned by the Job `owner_uid` (or by nobody).
fn sync_pod(
    name: &str,
    job: &str,
    owner_uid: Option<&str>,
    finished: &str,
    message: &Value,
) -> Value {
    let owners: Vec<Value> = owner_uid
        .map(|uid| json!({"apiVersion": "batch/v1", "kind": "Job", "name": job, "uid": uid, "controller": true}))
        .into_iter()
        .collect();
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "people", "labels": {"job-name": job},
                     "ownerReferences": owners},
        "status": {"containerStatuses": [{"name": "sync", "image": "i", "imageID": "", "ready": false,
            "restartCount": 0, "state": {"terminated": {"exitCode": 0, "finishedAt": finished,
            "message": message.to_string()}}}]}
    })
}

fn honest_summary() -> Value {
    json!({
        "connection": "people/acme", "mode": "Simulate", "asOf": "2026-11-22", "result": "Succeeded",
        "counts": {"created": 4, "updated": 1, "deactivated": 0, "deleted": 0, "unchanged": 7,
                   "skipped": 0, "conflicts": 0, "errors": 0},
        "planHash": "9e61cd5df81596e3d99e", "sourceEmployees": 12, "targetUsers": 8, "managedUsers": 8,
        "sample": [{"action": "Create", "externalId": "acme:E1"}]
    })
}

/// What the controller makes of the finished simulation Job `acme-sim-1-ab` whose Pods (those
/// the Job's label selects) are `pods`: the status it writes, the Events it creates, and its
/// metrics text afterwards.
async fn record_finished_simulation(pods: Vec<Value>) -> (Value, Vec<Value>, String) {
    let job = finished_job(
        "acme-sim-1-ab",
        "uid-job-ab",
        "2026-11-22T10:00:00Z",
        json!({}),
    );
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let context = context(kube::Client::new(service, "people"));
    let verifier = tokio::spawn(async move {
        jobs_listed(&mut handle, vec![job]).await;
        let (_, send) = handle
            .next_request()
            .await
            .expect("the Job's pods are read");
        respond(send, &list("PodList", pods));
        let status = status_patched(&mut handle).await;
        let (_, send) = handle.next_request().await.expect("the Job is marked");
        respond(send, &job_for_mark());
        let mut events = Vec::new();
        while let Some((request, send)) = handle.next_request().await {
            assert!(
                request.uri().path().ends_with("/events"),
                "{}",
                request.uri()
            );
            let event = body_of(request).await;
            respond(send, &event);
            events.push(event);
        }
        (status, events)
    });
    let connection = connection("Simulate", json!({"phase": "Running"}));
    reconcile_at(
        &connection,
        &context,
        "2026-11-22T11:00:00Z".parse().unwrap(),
    )
    .await
    .unwrap();
    let metrics = context.metrics.encode();
    drop(context);
    let (status, events) = verifier.await.unwrap();
    (status, events, metrics)
}

/// What the controller makes of a finished simulation whose sync Pod left `message`. For the
/// tests of other files, which produce the message the way a sync Job does.
pub(crate) async fn record_simulation_message(message: &str) -> (Value, Vec<Value>, String) {
    let summary: Value = serde_json::from_str(message).unwrap();
    record_finished_simulation(vec![sync_pod(
        "own",
        "acme-sim-1-ab",
        Some("uid-job-ab"),
        "2026-11-22T10:00:00Z",
        &summary,
    )])
    .await
}

#[tokio::test]
async fn forged_and_planted_termination_messages_make_a_failed_run_and_nothing_else() {
    // The Job's own Pod left a forged summary; a Pod planted later with the Job's label says
    // Succeeded with a hash of the planter's choosing.
    let mut forged = honest_summary();
    forged["result"] = json!("Failed");
    forged["errorCategory"] = json!("anna.berg@acme.example");
    forged["counts"]["created"] = json!(u64::MAX);
    let mut planted = honest_summary();
    planted["planHash"] = json!("00000000000000000bad");
    let pods = vec![
        sync_pod(
            "own",
            "acme-sim-1-ab",
            Some("uid-job-ab"),
            "2026-11-22T10:00:00Z",
            &forged,
        ),
        sync_pod(
            "planted",
            "acme-sim-1-ab",
            None,
            "2026-11-22T10:30:00Z",
            &planted,
        ),
    ];
    let (status, events, metrics) = record_finished_simulation(pods).await;
    assert_eq!(events.len(), 1, "one Event: {events:?}");
    let event = &events[0];
    let run = &status["lastSimulation"];
    assert_eq!(run["result"], "Failed");
    assert_eq!(run["errorCategory"], "InvalidSummary");
    assert!(
        run.get("planHash").is_none() || run["planHash"].is_null(),
        "{run}"
    );
    assert_eq!(run["counts"]["created"], 0);
    assert_eq!(event["reason"], "SyncFailed");
    for text in [status.to_string(), event.to_string(), metrics.clone()] {
        assert!(!text.contains('@'), "{text}");
        assert!(!text.contains("0bad"), "the planted hash: {text}");
    }
    assert!(
        metrics.contains(r#"hris_operator_sync_failures_total{category="InvalidSummary"} 1"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_run_is_recorded_once_however_many_jobs_the_limits_keep() {
    // 13 finished runs, all kept ({successful: 10, failed: 10}); status remembers the newest
    // 10, the 3 older carry the recorded mark. Nothing is recorded again: no Pod is read, and
    // a second reconcile writes nothing.
    let jobs: Vec<Value> = (1..=13)
        .map(|n| {
            let labels = if n <= 3 {
                json!({"hris-operator.io/recorded": "true"})
            } else {
                json!({})
            };
            let mut job = finished_job(
                &format!("acme-sim-1-r{n:02}"),
                &format!("uid-{n}"),
                &format!("2026-11-22T{n:02}:00:00Z"),
                labels,
            );
            if n <= 3 {
                // The three oldest failed: ten successful and three failed runs are all kept.
                job["status"]["conditions"][0]["type"] = json!("Failed");
            }
            job
        })
        .collect();
    let mut connection = with_history((4..=13).rev().map(|n| format!("acme-sim-1-r{n:02}")));
    connection.spec.history_limits.successful = 10;
    connection.spec.history_limits.failed = 10;
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let context = context(kube::Client::new(service, "people"));
    let listed = jobs.clone();
    let fixture = serde_json::to_value(&connection).unwrap();
    let verifier = tokio::spawn(async move {
        let mut requests = Vec::new();
        jobs_listed(&mut handle, listed.clone()).await;
        // The first reconcile may settle status once (phase, observedGeneration).
        let (request, send) = handle.next_request().await.expect("a request");
        requests.push(format!("{} {}", request.method(), request.uri().path()));
        if request.uri().path().ends_with("/status") {
            let body = body_of(request).await;
            let mut whole = fixture;
            whole["status"] = body["status"].clone();
            respond(send, &whole);
            jobs_listed(&mut handle, listed).await;
        } else {
            respond(send, &json!({}));
        }
        assert!(
            handle.next_request().await.is_none(),
            "nothing else: {requests:?}"
        );
        requests
    });
    for at in ["2026-11-22T14:00:00Z", "2026-11-22T14:00:10Z"] {
        reconcile_at(&connection, &context, at.parse().unwrap())
            .await
            .unwrap();
    }
    drop(context);
    let requests = verifier.await.unwrap();
    assert!(
        requests.iter().all(|r| !r.contains("/pods")),
        "no run is recorded again: {requests:?}"
    );
}

#[tokio::test]
async fn a_running_job_deleted_before_it_finished_is_a_failed_run() {
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let context = context(kube::Client::new(service, "people"));
    let verifier = tokio::spawn(async move {
        jobs_listed(&mut handle, vec![]).await;
        let status = status_patched(&mut handle).await;
        let (request, send) = handle.next_request().await.expect("an Event");
        let event = body_of(request).await;
        respond(send, &event);
        (status, event)
    });
    let connection = connection(
        "Simulate",
        json!({"phase": "Running", "activeJob": "acme-sim-1-gone",
               "lastSimulation": {"generation": 1, "result": "Succeeded",
                                  "counts": {"created": 0, "updated": 0, "deactivated": 0, "deleted": 0,
                                             "unchanged": 0, "skipped": 0, "conflicts": 0, "errors": 0}}}),
    );
    reconcile_at(
        &connection,
        &context,
        "2026-11-22T12:00:00Z".parse().unwrap(),
    )
    .await
    .unwrap();
    drop(context);
    let (status, event) = verifier.await.unwrap();
    assert_eq!(status["lastSimulation"]["result"], "Failed");
    assert_eq!(status["lastSimulation"]["errorCategory"], "JobDeleted");
    assert_eq!(status["history"][0]["jobName"], "acme-sim-1-gone");
    assert!(status.get("activeJob").is_none(), "{status}");
    assert_eq!(event["reason"], "SyncFailed");
}

#[tokio::test]
async fn a_connection_with_a_100_character_name_runs_with_labels_within_63_characters() {
    let long = format!("acme-{}", "x".repeat(95));
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let context = context(kube::Client::new(service, "people"));
    let verifier = tokio::spawn(async move {
        let (request, send) = handle.next_request().await.expect("jobs are listed");
        let query = request.uri().query().unwrap_or_default().to_owned();
        respond(send, &list("JobList", vec![]));
        let mut objects = Vec::new();
        for _ in 0..3 {
            let (request, send) = handle.next_request().await.expect("sync access is applied");
            let object = body_of(request).await;
            respond(send, &object);
            objects.push(object);
        }
        let (request, send) = handle.next_request().await.expect("a Job is created");
        assert_eq!(request.method(), Method::POST);
        let job = body_of(request).await;
        respond(send, &job);
        objects.push(job);
        let (request, send) = handle.next_request().await.expect("status is written");
        let body = body_of(request).await;
        let mut whole = serde_json::to_value(connection("Simulate", json!({}))).unwrap();
        whole["status"] = body["status"].clone();
        respond(send, &whole);
        (query, objects)
    });
    let mut connection = connection("Simulate", json!({}));
    connection.metadata.name = Some(long.clone());
    reconcile_at(
        &connection,
        &context,
        "2026-11-22T10:00:00Z".parse().unwrap(),
    )
    .await
    .unwrap();
    drop(context);
    let (query, objects) = verifier.await.unwrap();
    let selector = query
        .split('&')
        .find(|p| p.starts_with("labelSelector="))
        .unwrap()
        .to_owned();
    assert!(selector.len() < 120, "{selector}");
    for object in &objects {
        for (key, value) in object["metadata"]["labels"].as_object().unwrap() {
            let value = value.as_str().unwrap();
            assert!(value.len() <= 63, "{key}={value} ({})", value.len());
        }
        let name = object["metadata"]["name"].as_str().unwrap();
        assert!(name.len() <= 63, "{name}");
    }
    let job = objects.last().unwrap();
    let label = job["metadata"]["labels"]["hris-operator.io/connection"]
        .as_str()
        .unwrap();
    assert!(long.starts_with(&label[..40]), "{label}");
}

#[tokio::test]
async fn approving_the_same_hash_for_a_new_generation_applies() {
    // Generation 1's plan was approved; generation 2 changed only the schedule and simulated
    // the same plan. The annotation still names it: that approves generation 2.
    let hash = "9e61cd5df81596e3d99e";
    let mut connection = connection(
        "Active",
        json!({"lastSimulation": {"generation": 2, "result": "Succeeded", "planHash": hash,
                                  "counts": {"created": 1, "updated": 0, "deactivated": 0, "deleted": 0,
                                             "unchanged": 0, "skipped": 0, "conflicts": 0, "errors": 0}},
               "lastHandledRequest": {"approvedPlan": hash, "approvedGeneration": 1}}),
    );
    connection.metadata.generation = Some(2);
    connection.spec.safeguards.require_simulation_approval = true;
    connection.metadata.annotations =
        Some([("hris-operator.io/approve-plan".to_owned(), hash.to_owned())].into());
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let context = context(kube::Client::new(service, "people"));
    let verifier = tokio::spawn(async move {
        jobs_listed(&mut handle, vec![]).await;
        sync_access_applied(&mut handle).await;
        let (request, send) = handle.next_request().await.expect("a Job is created");
        assert_eq!(request.method(), Method::POST);
        let job = body_of(request).await;
        respond(send, &job);
        let status = status_patched(&mut handle).await;
        (job, status)
    });
    reconcile_at(
        &connection,
        &context,
        "2026-11-22T10:00:00Z".parse().unwrap(),
    )
    .await
    .unwrap();
    drop(context);
    let (job, status) = verifier.await.unwrap();
    assert_eq!(
        job["metadata"]["labels"]["hris-operator.io/run-kind"],
        "apply"
    );
    assert_eq!(
        job["metadata"]["annotations"]["hris-operator.io/approved-hash"],
        hash
    );
    assert_eq!(status["lastHandledRequest"]["approvedGeneration"], 2);
}

#[tokio::test]
async fn a_spec_an_older_crd_let_through_starts_no_job_and_says_why() {
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let context = context(kube::Client::new(service, "people"));
    let verifier = tokio::spawn(async move {
        jobs_listed(&mut handle, vec![]).await;
        let status = status_patched(&mut handle).await;
        let (request, send) = handle.next_request().await.expect("an Event");
        let event = body_of(request).await;
        respond(send, &event);
        assert!(handle.next_request().await.is_none(), "no Job");
        (status, event)
    });
    let mut connection = connection("Simulate", json!({}));
    connection.spec.job.backoff_limit = -1;
    reconcile_at(
        &connection,
        &context,
        "2026-11-22T10:00:00Z".parse().unwrap(),
    )
    .await
    .unwrap();
    drop(context);
    let (status, event) = verifier.await.unwrap();
    let ready = &status["conditions"][0];
    assert_eq!(
        (ready["type"].as_str(), ready["reason"].as_str()),
        (Some("Ready"), Some("InvalidSpec"))
    );
    assert!(
        ready["message"]
            .as_str()
            .unwrap()
            .contains("spec.job.backoffLimit"),
        "{ready}"
    );
    assert_eq!(event["reason"], "InvalidSpec");
}

#[tokio::test]
async fn a_job_of_a_deleted_namesake_is_not_this_connections_run() {
    // `acme` was deleted and created again: a finished Job of the old one (another uid) is
    // still there. It is neither recorded nor taken for this connection's first run.
    let mut old = finished_job(
        "acme-sim-1-ab",
        "uid-old-job",
        "2026-11-22T09:00:00Z",
        json!({}),
    );
    old["metadata"]["ownerReferences"][0]["uid"] = json!("uid-acme-before");
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let context = context(kube::Client::new(service, "people"));
    let verifier = tokio::spawn(async move {
        jobs_listed(&mut handle, vec![old]).await;
        sync_access_applied(&mut handle).await;
        let (request, send) = handle.next_request().await.expect("its own Job is created");
        assert_eq!(request.method(), Method::POST);
        let job = body_of(request).await;
        respond(send, &job);
        let status = status_patched(&mut handle).await;
        assert!(
            handle.next_request().await.is_none(),
            "no Pod read, no Event"
        );
        (job, status)
    });
    let connection = connection("Simulate", json!({}));
    reconcile_at(
        &connection,
        &context,
        "2026-11-22T10:00:00Z".parse().unwrap(),
    )
    .await
    .unwrap();
    drop(context);
    let (job, status) = verifier.await.unwrap();
    assert_ne!(job["metadata"]["name"], "acme-sim-1-ab");
    assert!(status.get("history").is_none(), "{status}");
    assert_eq!(status["activeJob"], job["metadata"]["name"]);
}

#[tokio::test]
async fn a_job_that_failed_is_a_failed_run_whatever_its_pod_says() {
    let mut job = finished_job(
        "acme-sim-1-ab",
        "uid-job-ab",
        "2026-11-22T10:00:00Z",
        json!({}),
    );
    job["status"]["conditions"][0] = json!({"type": "Failed", "status": "True",
        "reason": "DeadlineExceeded", "lastTransitionTime": "2026-11-22T10:00:00Z"});
    let pod = sync_pod(
        "own",
        "acme-sim-1-ab",
        Some("uid-job-ab"),
        "2026-11-22T09:59:00Z",
        &honest_summary(),
    );
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let context = context(kube::Client::new(service, "people"));
    let verifier = tokio::spawn(async move {
        jobs_listed(&mut handle, vec![job]).await;
        let (_, send) = handle.next_request().await.expect("pods are read");
        respond(send, &list("PodList", vec![pod]));
        let status = status_patched(&mut handle).await;
        let (_, send) = handle.next_request().await.expect("the Job is marked");
        respond(send, &job_for_mark());
        let (request, send) = handle.next_request().await.expect("an Event");
        let event = body_of(request).await;
        respond(send, &event);
        status
    });
    let connection = connection("Simulate", json!({"phase": "Running"}));
    reconcile_at(
        &connection,
        &context,
        "2026-11-22T10:00:05Z".parse().unwrap(),
    )
    .await
    .unwrap();
    drop(context);
    let status = verifier.await.unwrap();
    assert_eq!(status["lastSimulation"]["result"], "Failed");
    assert_eq!(
        status["lastSimulation"]["errorCategory"],
        "DeadlineExceeded"
    );
}

#[tokio::test]
async fn approving_a_hash_used_before_in_this_generation_starts_a_new_run() {
    // A was approved (request 0), then B (request 1); now A again.
    let (a, b) = ("aaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbb");
    let mut connection = connection(
        "Active",
        json!({"lastSimulation": {"generation": 1, "result": "Succeeded", "planHash": b,
                                  "counts": {"created": 0, "updated": 0, "deactivated": 0, "deleted": 0,
                                             "unchanged": 0, "skipped": 0, "conflicts": 0, "errors": 0}},
               "lastHandledRequest": {"approvedPlan": b, "requests": 2}}),
    );
    connection.metadata.annotations =
        Some([("hris-operator.io/approve-plan".to_owned(), a.to_owned())].into());
    let first_time = hris_operator::contract::names::job_name(
        &connection,
        hris_operator::sync::report::RunMode::Apply,
        &hris_operator::controller::job::run_id(&format!("uid-acme:approved:{a}:0")),
    );
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let context = context(kube::Client::new(service, "people"));
    let verifier = tokio::spawn(async move {
        jobs_listed(&mut handle, vec![]).await;
        sync_access_applied(&mut handle).await;
        let (request, send) = handle.next_request().await.expect("a Job is created");
        let job = body_of(request).await;
        respond(send, &job);
        let status = status_patched(&mut handle).await;
        (job, status)
    });
    reconcile_at(
        &connection,
        &context,
        "2026-11-22T10:00:00Z".parse().unwrap(),
    )
    .await
    .unwrap();
    drop(context);
    let (job, status) = verifier.await.unwrap();
    assert_ne!(
        job["metadata"]["name"],
        first_time.as_str(),
        "a new Job, never a 409"
    );
    assert_eq!(
        job["metadata"]["annotations"]["hris-operator.io/approved-hash"],
        a
    );
    assert_eq!(status["lastHandledRequest"]["approvedPlan"], a);
    assert_eq!(status["lastHandledRequest"]["requests"], 3);
}

#[tokio::test]
async fn an_anchored_interval_shows_its_next_run_and_runs_nothing_before_its_start() {
    use hris_operator::crd::Schedule;
    // (startAt, the next run status must show at 2026-11-22T10:00Z)
    for (start_at, next) in [
        // 02:00 every 6 hours in Amsterdam: 02, 08, 14, 20 CET; 10:00Z is 11:00 CET.
        ("02:00", "2026-11-22T13:00:00Z"),
        // From 1 December, 02:00 CET: nothing before it.
        ("2026-12-01T02:00", "2026-12-01T01:00:00Z"),
    ] {
        let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let context = context(kube::Client::new(service, "people"));
        let verifier = tokio::spawn(async move {
            jobs_listed(&mut handle, vec![]).await;
            let status = status_patched(&mut handle).await;
            assert!(handle.next_request().await.is_none(), "no Job, no Event");
            status
        });
        let mut connection = connection("Active", json!({}));
        connection.spec.schedule = Schedule {
            interval: Some("6h".into()),
            start_at: Some(start_at.into()),
            time_zone: "Europe/Amsterdam".into(),
            ..Schedule::default()
        };
        reconcile_at(
            &connection,
            &context,
            "2026-11-22T10:00:00Z".parse().unwrap(),
        )
        .await
        .unwrap();
        drop(context);
        let status = verifier.await.unwrap();
        assert_eq!(status["nextSyncTime"], next, "{start_at}");
        assert_eq!(status["phase"], "Idle", "{start_at}");
    }
}
