//! `kubectl hris`: requests are annotation patches the controller acts on once; `approve` picks
//! the hash status names; `status` summarises connections without personal data.

use hris_operator::{
    crd::HrisConnection,
    plugin::{annotate, hash_to_approve, invoked_as_plugin, status_table},
};
use http::{Method, Request, Response};
use kube::client::Body;
use serde_json::{Value, json};

fn connection(status: Value) -> HrisConnection {
    serde_json::from_value(json!({
        "apiVersion": "hris-operator.io/v1alpha1",
        "kind": "HrisConnection",
        "metadata": {"name": "acme", "namespace": "people"},
        "spec": {
            "mode": "Active",
            "source": {"csv": {"path": "e.csv"}},
            "target": {"file": {"path": "d.json"}},
            "externalIdPrefix": "acme:",
        },
        "status": status,
    }))
    .unwrap()
}

fn run(result: &str, hash: &str, at: &str) -> Value {
    json!({"result": result, "planHash": hash, "finishedAt": at,
        "counts": {"created": 3, "updated": 2, "deactivated": 1, "deleted": 0, "unchanged": 9,
                   "skipped": 0, "conflicts": 0, "errors": 0}})
}

#[tokio::test]
async fn a_request_is_a_merge_patch_of_one_annotation() {
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(service, "people");
    let verifier = tokio::spawn(async move {
        let (request, send) = handle.next_request().await.unwrap();
        assert_eq!(request.method(), Method::PATCH);
        assert_eq!(
            request.uri().path(),
            "/apis/hris-operator.io/v1alpha1/namespaces/people/hrisconnections/acme"
        );
        assert_eq!(
            request.headers()["content-type"],
            "application/merge-patch+json"
        );
        let body: Value =
            serde_json::from_slice(&request.into_body().collect_bytes().await.unwrap()).unwrap();
        assert_eq!(
            body,
            json!({"metadata": {"annotations": {"hris-operator.io/sync-requested-at": "2026-11-22T10:00:00Z"}}})
        );
        let reply = serde_json::to_vec(&connection(json!({}))).unwrap();
        send.send_response(Response::builder().body(Body::from(reply)).unwrap());
    });
    annotate(
        client,
        "people",
        "acme",
        "hris-operator.io/sync-requested-at",
        "2026-11-22T10:00:00Z",
    )
    .await
    .unwrap();
    verifier.await.unwrap();
}

#[test]
fn approve_picks_the_withheld_plan_first_then_the_last_simulation() {
    let withheld = connection(json!({
        "lastSync": run("Withheld", "f00d", "2026-11-22T02:00:00Z"),
        "lastSimulation": run("Succeeded", "abc", "2026-11-22T01:00:00Z"),
    }));
    assert_eq!(hash_to_approve(&withheld).as_deref(), Some("f00d"));
    let simulated = connection(json!({
        "lastSync": run("Succeeded", "0ld", "2026-11-21T02:00:00Z"),
        "lastSimulation": run("Succeeded", "abc", "2026-11-22T01:00:00Z"),
    }));
    assert_eq!(hash_to_approve(&simulated).as_deref(), Some("abc"));
    assert_eq!(hash_to_approve(&connection(json!({}))), None);
}

#[test]
fn status_shows_the_latest_run_of_each_connection() {
    let table = status_table(&[connection(json!({
        "conditions": [{"type": "Ready", "status": "True", "reason": "RunSucceeded", "message": "",
                        "lastTransitionTime": "2026-11-22T02:00:00Z"}],
        "lastSync": run("Succeeded", "0ld", "2026-11-21T02:00:00Z"),
        "lastSimulation": run("Withheld", "abc", "2026-11-22T01:00:00Z"),
    }))]);
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("NAMESPACE  NAME  MODE    READY  LAST RUN"),
        "{table}"
    );
    let row: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(
        row,
        [
            "people",
            "acme",
            "Active",
            "True",
            "2026-11-22T01:00:00Z",
            "Withheld",
            "+3",
            "~2",
            "-1",
            "x0",
            "abc"
        ]
    );
}

#[test]
fn the_binary_is_the_plugin_when_called_kubectl_hris() {
    assert!(invoked_as_plugin("/usr/local/bin/kubectl-hris"));
    assert!(invoked_as_plugin("kubectl-hris"));
    assert!(!invoked_as_plugin("/usr/local/bin/hris-operator"));
}

#[test]
fn started_as_kubectl_hris_the_binary_answers_as_the_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = dir.path().join("kubectl-hris");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_hris-operator"), &plugin).unwrap();
    let output = std::process::Command::new(&plugin)
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    assert!(help.contains("Usage: kubectl hris"), "{help}");
    for command in ["sync", "simulate", "approve", "report", "status"] {
        assert!(help.contains(command), "{command} in:\n{help}");
    }
}
