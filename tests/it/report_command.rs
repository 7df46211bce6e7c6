//! `report`: the latest run's report files, read back from its Secrets (a report split over two
//! Secrets here), request by request against kube's mock API server.

use hris_operator::{
    contract::{names::report_name, report_secrets::report_secrets},
    crd::HrisConnection,
    kubectl::{Which, fetch_report},
};
use http::{Method, Request, Response};
use kube::client::Body;
use serde_json::{Value, json};

fn connection() -> Value {
    json!({
        "apiVersion": "hris-operator.io/v1alpha1",
        "kind": "HrisConnection",
        "metadata": {"name": "acme", "namespace": "people", "uid": "uid-acme", "generation": 2},
        "spec": {
            "source": {"csv": {"path": "e.csv"}},
            "target": {"file": {"path": "d.json"}},
            "externalIdPrefix": "acme:",
        },
        "status": {
            "lastSimulation": {"finishedAt": "2026-11-21T02:00:00Z", "reportRef": "acme-sim-2-old-report", "counts": {"created": 0, "updated": 0, "deactivated": 0, "deleted": 0, "unchanged": 0, "skipped": 0, "conflicts": 0, "errors": 0}},
            "lastSync": {"finishedAt": "2026-11-22T02:00:00Z", "reportRef": "acme-apply-2-ab-report", "counts": {"created": 1, "updated": 0, "deactivated": 0, "deleted": 0, "unchanged": 0, "skipped": 0, "conflicts": 0, "errors": 0}}
        }
    })
}

fn respond(send: tower_test::mock::SendResponse<Response<Body>>, body: &Value) {
    send.send_response(
        Response::builder()
            .body(Body::from(serde_json::to_vec(body).unwrap()))
            .unwrap(),
    );
}

#[tokio::test]
async fn the_latest_report_is_reassembled_from_its_secrets() {
    let files = vec![
        ("created.csv".to_owned(), vec![b'x'; 3_000]),
        (
            "summary.json".to_owned(),
            b"{\"result\":\"Succeeded\"}".to_vec(),
        ),
    ];
    let owner: HrisConnection = serde_json::from_value(connection()).unwrap();
    let secrets = report_secrets(&owner, &report_name("acme-apply-2-ab"), "ab", &files, 2_048);
    assert_eq!(secrets.len(), 2, "the report spans two Secrets");
    let first = serde_json::to_value(&secrets[0]).unwrap();
    let list = json!({"apiVersion": "v1", "kind": "SecretList", "metadata": {},
        "items": [serde_json::to_value(&secrets[1]).unwrap(), first.clone()]});

    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(service, "people");
    let verifier = tokio::spawn(async move {
        let (request, send) = handle.next_request().await.unwrap();
        assert_eq!(
            request.uri().path(),
            "/apis/hris-operator.io/v1alpha1/namespaces/people/hrisconnections/acme"
        );
        respond(send, &connection());
        let (request, send) = handle.next_request().await.unwrap();
        assert_eq!(
            request.uri().path(),
            "/api/v1/namespaces/people/secrets/acme-apply-2-ab-report",
            "the latest run (the sync) is chosen"
        );
        respond(send, &first);
        let (request, send) = handle.next_request().await.unwrap();
        assert_eq!(request.method(), Method::GET);
        assert_eq!(request.uri().path(), "/api/v1/namespaces/people/secrets");
        let query = request
            .uri()
            .query()
            .unwrap_or_default()
            .replace("%3D", "=")
            .replace("%2C", ",")
            .replace("%2F", "/");
        assert!(
            query.contains("hris-operator.io/connection=acme,hris-operator.io/run=ab"),
            "{query}"
        );
        respond(send, &list);
    });

    let out = tempfile::tempdir().unwrap();
    let written = fetch_report(client, "people", "acme", Which::Latest, out.path())
        .await
        .unwrap();
    verifier.await.unwrap();
    assert_eq!(written, ["created.csv", "summary.json"]);
    for (name, bytes) in files {
        assert_eq!(
            std::fs::read(out.path().join(&name)).unwrap(),
            bytes,
            "{name}"
        );
    }
}

#[tokio::test]
async fn a_connection_without_a_report_says_so() {
    let mut bare = connection();
    bare["status"] = json!({});
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(service, "people");
    let verifier = tokio::spawn(async move {
        let (_, send) = handle.next_request().await.unwrap();
        respond(send, &bare);
    });
    let out = tempfile::tempdir().unwrap();
    let error = fetch_report(client, "people", "acme", Which::Sync, out.path())
        .await
        .unwrap_err();
    verifier.await.unwrap();
    assert!(
        error.to_string().contains("people/acme has no report yet"),
        "{error}"
    );
}
