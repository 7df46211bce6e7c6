//! The sync a Job runs, request by request against kube's mock API server: it reads its
//! connection, applies the plan, stores every report in one Secret owned by the connection
//! (server-side apply, our field manager) and leaves the summary in the termination log.

use std::path::Path;

use hris_operator::{
    sync::report::{REPORT_FILES, RunMode, RunResult, Summary},
    sync_job::{ReportLimits, SyncRequest, sync},
};
use http::{Method, Request, Response};
use kube::client::Body;
use serde_json::{Value, json};

const HEADER: &str = "id,firstName,lastName,workEmail,employmentStatus,startDate,managerId\n";

fn connection(dir: &Path) -> Value {
    json!({
        "apiVersion": "hris-operator.io/v1alpha1",
        "kind": "HrisConnection",
        "metadata": {"name": "acme", "namespace": "people", "uid": "uid-acme", "generation": 2},
        "spec": {
            "mode": "Active",
            "source": {"csv": {"path": dir.join("employees.csv")}},
            "target": {"file": {"path": dir.join("directory.json")}},
            "externalIdPrefix": "acme:",
        }
    })
}

type Handle = tower_test::mock::Handle<Request<Body>, Response<Body>>;

/// Two employees in `dir`'s CSV file; a client whose API server the test plays through the
/// handle, and the connection as that server returns it.
fn two_employees(dir: &std::path::Path) -> (kube::Client, Handle, Vec<u8>) {
    std::fs::write(
        dir.join("employees.csv"),
        format!("{HEADER}1,Ada,Lind,ada@acme.example,Active,2020-01-01,\n2,Bo,Berg,bo@acme.example,Active,2020-01-01,1\n"),
    )
    .unwrap();
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(service, "people");
    let body = serde_json::to_vec(&connection(dir)).unwrap();
    (client, handle, body)
}

#[tokio::test]
async fn a_sync_reads_its_connection_applies_and_stores_the_reports() {
    let dir = tempfile::tempdir().unwrap();
    let (client, mut handle, body) = two_employees(dir.path());

    let verifier = tokio::spawn(async move {
        let (request, send) = handle.next_request().await.expect("the connection is read");
        assert_eq!(request.method(), Method::GET);
        assert_eq!(
            request.uri().path(),
            "/apis/hris-operator.io/v1alpha1/namespaces/people/hrisconnections/acme"
        );
        send.send_response(Response::builder().body(Body::from(body)).unwrap());

        let (request, send) = handle.next_request().await.expect("the report is stored");
        assert_eq!(request.method(), Method::PATCH);
        assert_eq!(
            request.uri().path(),
            "/api/v1/namespaces/people/secrets/acme-apply-2-ab-report"
        );
        let query = request.uri().query().unwrap_or_default().to_owned();
        assert!(query.contains("fieldManager=hris-operator"), "{query}");
        assert!(query.contains("force=true"), "{query}");
        let bytes = request.into_body().collect_bytes().await.unwrap();
        let secret: Value = serde_json::from_slice(&bytes).unwrap();
        send.send_response(
            Response::builder()
                .body(Body::from(bytes.to_vec()))
                .unwrap(),
        );
        assert!(
            handle.next_request().await.is_none(),
            "no other request: one Secret holds the whole report"
        );
        secret
    });

    let request = SyncRequest {
        namespace: "people".into(),
        name: "acme".into(),
        kind: RunMode::Apply,
        secrets_dir: dir.path().join("secrets"),
        run_id: "ab".into(),
        report: "acme-apply-2-ab-report".into(),
        approve: None,
        termination_log: dir.path().join("termination-log"),
        scratch: dir.path().join("scratch"),
        report_limits: Default::default(),
    };
    let summary = sync(client, &request).await.unwrap();
    let secret = verifier.await.unwrap();

    assert_eq!(summary.result, RunResult::Succeeded);
    assert_eq!(summary.counts.created, 2);
    // The target was written.
    let directory: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("directory.json")).unwrap()).unwrap();
    assert_eq!(directory["users"].as_array().unwrap().len(), 2);
    // The report Secret is owned by the connection and holds every report file.
    assert_eq!(secret["kind"], "Secret");
    assert_eq!(secret["metadata"]["ownerReferences"][0]["uid"], "uid-acme");
    assert_eq!(secret["metadata"]["labels"]["hris-operator.io/run"], "ab");
    let data = secret["data"].as_object().unwrap();
    for file in REPORT_FILES {
        assert!(data.contains_key(file), "{file} stored");
    }
    // The termination message is the summary, without personal data.
    let message = std::fs::read_to_string(dir.path().join("termination-log")).unwrap();
    let parsed: Summary = serde_json::from_str(&message).unwrap();
    assert_eq!(parsed, summary);
    assert!(!message.contains("ada@acme.example") && !message.contains("Lind"));
}

#[tokio::test]
async fn a_connection_that_cannot_be_read_is_an_error() {
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(service, "people");
    let verifier = tokio::spawn(async move {
        let (_, send) = handle.next_request().await.unwrap();
        let status = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
            "message": "hrisconnections \"acme\" not found", "reason": "NotFound", "code": 404});
        send.send_response(
            Response::builder()
                .status(404)
                .body(Body::from(serde_json::to_vec(&status).unwrap()))
                .unwrap(),
        );
    });
    let dir = tempfile::tempdir().unwrap();
    let request = SyncRequest {
        namespace: "people".into(),
        name: "acme".into(),
        kind: RunMode::Simulate,
        secrets_dir: dir.path().into(),
        run_id: "x".into(),
        report: "r".into(),
        approve: None,
        termination_log: dir.path().join("log"),
        scratch: dir.path().join("scratch"),
        report_limits: Default::default(),
    };
    let error = sync(client, &request).await.unwrap_err();
    verifier.await.unwrap();
    assert_eq!(error.category(), "ConnectionUnreadable");
    assert!(error.to_string().contains("people/acme"));
}

#[tokio::test]
async fn reports_needing_more_secrets_than_the_role_names_are_refused_before_any_write() {
    let dir = tempfile::tempdir().unwrap();
    let (client, mut handle, body) = two_employees(dir.path());
    let verifier = tokio::spawn(async move {
        let (request, send) = handle.next_request().await.expect("the connection is read");
        assert_eq!(request.method(), Method::GET);
        send.send_response(Response::builder().body(Body::from(body)).unwrap());
        assert!(
            handle.next_request().await.is_none(),
            "no report Secret is written, not even the first"
        );
    });
    let request = SyncRequest {
        namespace: "people".into(),
        name: "acme".into(),
        kind: RunMode::Simulate,
        secrets_dir: dir.path().join("secrets"),
        run_id: "ab".into(),
        report: "acme-sim-2-ab-report".into(),
        approve: None,
        termination_log: dir.path().join("termination-log"),
        scratch: dir.path().join("scratch"),
        // Tiny Secrets, and only two of them allowed: the reports need more.
        report_limits: ReportLimits {
            secret_bytes: 64,
            max_secrets: 2,
        },
    };
    let error = sync(client, &request).await.unwrap_err();
    verifier.await.unwrap();
    assert_eq!(error.category(), "ReportTooLarge");
    let message = error.to_string();
    assert!(message.contains("at most 2"), "{message}");
    assert!(!message.contains("ada@acme.example"), "{message}");
}

#[tokio::test]
async fn a_mapped_field_no_employee_has_is_a_failed_run_that_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (client, mut handle, _) = two_employees(dir.path());
    let mut connection = connection(dir.path());
    connection["spec"]["attributeMapping"] =
        json!([{"from": "customFields.costCentre", "to": "costCenter"}]);
    let body = serde_json::to_vec(&connection).unwrap();
    let verifier = tokio::spawn(async move {
        let (request, send) = handle.next_request().await.expect("the connection is read");
        assert_eq!(request.method(), Method::GET);
        send.send_response(Response::builder().body(Body::from(body)).unwrap());
        assert!(
            handle.next_request().await.is_none(),
            "no report Secret is written"
        );
    });
    let request = SyncRequest {
        namespace: "people".into(),
        name: "acme".into(),
        kind: RunMode::Apply,
        secrets_dir: dir.path().join("secrets"),
        run_id: "ab".into(),
        report: "acme-apply-2-ab-report".into(),
        approve: None,
        termination_log: dir.path().join("termination-log"),
        scratch: dir.path().join("scratch"),
        report_limits: Default::default(),
    };
    let summary = sync(client, &request).await.unwrap();
    verifier.await.unwrap();
    assert_eq!(summary.result, RunResult::Failed);
    assert_eq!(
        summary.error_category.as_deref(),
        Some("MissingSourceField")
    );
    assert_eq!(summary.counts.created, 0);
    assert!(
        !dir.path().join("directory.json").exists(),
        "the target was not written"
    );
    let message = std::fs::read_to_string(dir.path().join("termination-log")).unwrap();
    let parsed: Summary = serde_json::from_str(&message).unwrap();
    assert_eq!(parsed, summary);
}
