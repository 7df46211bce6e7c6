//! `kubectl hris`: requests are annotation patches the controller acts on once; `approve` picks
//! the hash status names; `status` summarises connections without personal data. A cluster
//! that cannot be reached (from the plugin, or from `hris-operator report`) is named by its API
//! server and kubeconfig context.

use clap::Parser;
use hris_operator::{
    cli::plugin::{PluginCli, PluginCommand, invoked_as_plugin},
    crd::HrisConnection,
    kubectl::{ClusterName, annotate, client_config, hash_to_approve, status_table},
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
    for command in ["sync", "simulate", "approve", "report", "status", "version"] {
        assert!(help.contains(command), "{command} in:\n{help}");
    }
}

#[test]
fn the_plugin_takes_kubectls_connection_flags_the_simulation_report_and_version() {
    let cli = PluginCli::try_parse_from([
        "kubectl hris",
        "--kubeconfig",
        "/tmp/kubeconfig",
        "--context",
        "staging",
        "report",
        "acme",
        "--out",
        "./report",
        "--simulation",
    ])
    .unwrap();
    assert_eq!(cli.kubeconfig.as_deref(), Some("/tmp/kubeconfig".as_ref()));
    assert_eq!(cli.context.as_deref(), Some("staging"));
    assert!(matches!(
        cli.command,
        PluginCommand::Report {
            simulation: true,
            sync: false,
            ..
        }
    ));
    // Global flags may also follow the subcommand, as with kubectl.
    let cli =
        PluginCli::try_parse_from(["kubectl hris", "status", "-A", "--context", "prod"]).unwrap();
    assert_eq!(cli.context.as_deref(), Some("prod"));
    assert!(matches!(
        PluginCli::try_parse_from(["kubectl hris", "version"])
            .unwrap()
            .command,
        PluginCommand::Version
    ));
    assert!(
        PluginCli::try_parse_from([
            "kubectl hris",
            "report",
            "acme",
            "--out",
            "r",
            "--simulation",
            "--sync"
        ])
        .is_err()
    );
}

const KUBECONFIG: &str = "apiVersion: v1
kind: Config
current-context: dev
clusters:
  - name: dev
    cluster: {server: 'https://dev.example:6443'}
  - name: prod
    cluster: {server: 'https://prod.example:6443'}
users:
  - name: someone
    user: {token: not-a-real-token}
contexts:
  - name: dev
    context: {cluster: dev, user: someone, namespace: people-dev}
  - name: prod
    context: {cluster: prod, user: someone, namespace: people}
";

#[tokio::test]
async fn kubeconfig_and_context_pick_the_cluster_and_namespace() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    std::fs::write(&path, KUBECONFIG).unwrap();
    let current = client_config(Some(&path), None).await.unwrap();
    assert_eq!(current.cluster_url.to_string(), "https://dev.example:6443/");
    assert_eq!(current.default_namespace, "people-dev");
    let prod = client_config(Some(&path), Some("prod")).await.unwrap();
    assert_eq!(prod.cluster_url.to_string(), "https://prod.example:6443/");
    assert_eq!(prod.default_namespace, "people");
    let error = client_config(Some(&path), Some("staging"))
        .await
        .unwrap_err();
    assert!(error.contains("staging"), "{error}");
    let error = client_config(Some(&dir.path().join("missing")), None)
        .await
        .unwrap_err();
    assert!(error.contains("--kubeconfig"), "{error}");
}

#[test]
fn version_answers_without_a_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = dir.path().join("kubectl-hris");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_hris-operator"), &plugin).unwrap();
    let output = std::process::Command::new(&plugin)
        .arg("version")
        .env("KUBECONFIG", dir.path().join("none"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        format!("kubectl-hris (hris-operator) {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn an_unwritable_report_folder_is_refused_before_the_cluster_is_asked() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = dir.path().join("kubectl-hris");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_hris-operator"), &plugin).unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let out = file.join("report");
    let output = std::process::Command::new(&plugin)
        .args(["report", "acme", "--out"])
        .arg(&out)
        .env("KUBECONFIG", dir.path().join("none"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "cannot write the report files to {}",
            out.display()
        )),
        "{stderr}"
    );
}

/// A kubeconfig whose current context `dev` and other context `staging` both point at a port
/// on 127.0.0.1 where nothing listens; returns the file and the server URL.
fn unreachable_kubeconfig(dir: &std::path::Path) -> (std::path::PathBuf, String) {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let server = format!("http://127.0.0.1:{port}");
    let path = dir.join("kubeconfig");
    std::fs::write(
        &path,
        KUBECONFIG
            .replace("https://dev.example:6443", &server)
            .replace("https://prod.example:6443", &server)
            .replace("name: prod", "name: staging")
            .replace("cluster: prod", "cluster: staging"),
    )
    .unwrap();
    (path, server)
}

fn assert_names_the_unreachable_cluster(
    output: &std::process::Output,
    server: &str,
    context: &str,
) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let expected =
        format!("error: cannot reach the Kubernetes API server {server} (context {context}): ");
    assert!(
        stderr.starts_with(&expected),
        "expected `{expected}` in:\n{stderr}"
    );
    assert!(stderr.contains("Connection refused"), "{stderr}");
    assert!(
        stderr.trim_end().ends_with(
            "check that the cluster is up, and that the kubeconfig (KUBECONFIG) and its \
             context point at it"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("not-a-real-token"), "{stderr}");
    assert_eq!(
        stderr.lines().count(),
        1,
        "one line, no log noise: {stderr}"
    );
}

#[test]
fn an_unreachable_cluster_is_named_by_its_api_server_and_context() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = dir.path().join("kubectl-hris");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_hris-operator"), &plugin).unwrap();
    let (kubeconfig, server) = unreachable_kubeconfig(dir.path());
    // The current context, from KUBECONFIG.
    let output = std::process::Command::new(&plugin)
        .args(["status"])
        .env("KUBECONFIG", &kubeconfig)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert_names_the_unreachable_cluster(&output, &server, "dev");
    // Another context, with the flags.
    let output = std::process::Command::new(&plugin)
        .args(["sync", "acme", "--context", "staging", "--kubeconfig"])
        .arg(&kubeconfig)
        .env_remove("KUBECONFIG")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert_names_the_unreachable_cluster(&output, &server, "staging");
}

#[test]
fn report_and_sync_name_an_unreachable_cluster_by_its_api_server_and_context() {
    let dir = tempfile::tempdir().unwrap();
    let (kubeconfig, server) = unreachable_kubeconfig(dir.path());
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hris-operator"))
        .args(["report", "acme", "--out"])
        .arg(dir.path().join("report"))
        .env("KUBECONFIG", &kubeconfig)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert_names_the_unreachable_cluster(&output, &server, "dev");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hris-operator"))
        .args(["sync", "--connection", "people/acme", "--mode", "simulate"])
        .args(["--run-id", "r1", "--report", "acme-r1", "--termination-log"])
        .arg(dir.path().join("termination-log"))
        .env("KUBECONFIG", &kubeconfig)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "error: cannot read HrisConnection people/acme: cannot reach the Kubernetes API \
             server {server} (context dev): "
        )),
        "{stderr}"
    );
}

#[test]
fn an_api_server_that_answered_is_named_with_its_answer() {
    let cluster = ClusterName {
        server: "https://prod.example:6443".into(),
        context: Some("prod".into()),
    };
    let not_found = kube::Error::Api(Box::new(
        kube::core::Status::failure(
            "hrisconnections.hris-operator.io \"acme\" not found",
            "NotFound",
        )
        .with_code(404),
    ));
    assert_eq!(
        cluster.explain(&not_found),
        "the Kubernetes API server https://prod.example:6443 (context prod) answered 404 \
         NotFound: hrisconnections.hris-operator.io \"acme\" not found"
    );
    let in_cluster = ClusterName {
        server: "https://10.96.0.1".into(),
        context: None,
    };
    assert_eq!(
        in_cluster.to_string(),
        "https://10.96.0.1 (in-cluster configuration)"
    );
}
