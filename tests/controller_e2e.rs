//! The controller binary end to end over HTTP, against the `kmock` Kubernetes API emulator
//! (tests/kmock/serve.py): it takes the leader Lease, turns a new connection into a simulation
//! Job with the expected spec, turns that Job's completion into status, conditions, an Event and
//! a metric, starts a new simulation after a spec change, starts nothing for a Deactivated
//! connection, and on SIGTERM stops cleanly and gives the Lease up.
//!
//! The test plays the parts of a cluster kmock does not: it completes Jobs (a Pod with the sync
//! container's termination message, then the Job's Complete condition) and bumps
//! `metadata.generation` on spec changes. Waiting is polling for a state with a deadline.

mod common;

use std::time::{Duration, Instant};

use common::kmock::{ControllerProcess, Kmock};
use common::scim2_server::http_client;
use hris_operator::crd::HrisConnection;
use k8s_openapi::api::{batch::v1::Job, coordination::v1::Lease, core::v1::Pod, events::v1::Event};
use kube::{
    Api, ResourceExt,
    api::{ListParams, Patch, PatchParams, PostParams},
};
use serde_json::{Value, json};

const NAMESPACE: &str = "people";
const DEADLINE: Duration = Duration::from_secs(60);
const SYNC_IMAGE: &str = "registry.example/hris-operator:e2e";

/// Polls `check` every 100 ms until it returns something, or fails after the deadline.
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn connection(name: &str, mode: &str) -> HrisConnection {
    serde_json::from_value(json!({
        "apiVersion": "hris-operator.io/v1alpha1",
        "kind": "HrisConnection",
        // kmock assigns no uid, generation or creation time: the test does, as an API server would.
        "metadata": {"name": name, "namespace": NAMESPACE, "uid": format!("uid-{name}"),
                     "generation": 1, "creationTimestamp": "2026-11-22T00:00:00Z"},
        "spec": {
            "mode": mode,
            "source": {"csv": {"path": "/data/employees.csv"}},
            "target": {"scim": {"baseUrl": "https://scim.example/v2",
                                "credentialsSecretRef": {"name": "scim", "key": "token"}}},
            "externalIdPrefix": "acme:",
            "schedule": {"interval": "24h"},
        },
    }))
    .unwrap()
}

/// Jobs of a connection (kmock ignores label selectors, so the label is checked here).
async fn jobs_of(jobs: &Api<Job>, name: &str) -> Vec<Job> {
    let mut found: Vec<Job> = jobs
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|job| job.labels().get("hris-operator.io/connection") == Some(&name.to_owned()))
        .collect();
    found.sort_by_key(|job| job.name_any());
    found
}

/// Does what the Job controller and kubelet would: a Pod whose sync container terminated with
/// `summary` as its message, then the Job's Complete condition.
async fn complete(client: &kube::Client, job: &Job, summary: &Value) {
    let name = job.name_any();
    let pods: Api<Pod> = Api::namespaced(client.clone(), NAMESPACE);
    let pod: Pod = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": format!("{name}-pod"), "namespace": NAMESPACE,
                     "labels": {"job-name": name}},
        "spec": {"containers": [{"name": "sync", "image": SYNC_IMAGE}]},
        "status": {"containerStatuses": [{"name": "sync", "image": SYNC_IMAGE, "imageID": "",
            "ready": false, "restartCount": 0,
            "state": {"terminated": {"exitCode": 0, "finishedAt": "2026-11-22T10:00:00Z",
                                     "message": summary.to_string()}}}]}
    }))
    .unwrap();
    pods.create(&PostParams::default(), &pod).await.unwrap();
    let jobs: Api<Job> = Api::namespaced(client.clone(), NAMESPACE);
    jobs.patch_status(
        &name,
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {
            "startTime": "2026-11-22T09:59:00Z", "completionTime": "2026-11-22T10:00:00Z",
            "succeeded": 1,
            "conditions": [{"type": "Complete", "status": "True",
                            "lastTransitionTime": "2026-11-22T10:00:00Z"}]}})),
    )
    .await
    .unwrap();
}

fn summary() -> Value {
    json!({
        "connection": "people/acme", "mode": "Simulate", "asOf": "2026-11-22", "result": "Succeeded",
        "counts": {"created": 4, "updated": 1, "deactivated": 2, "deleted": 0, "unchanged": 7,
                   "skipped": 0, "conflicts": 0, "errors": 0},
        "planHash": "0a1b2c3d4e5f60718293", "sourceEmployees": 12, "targetUsers": 10,
        "managedUsers": 10, "sample": [{"action": "Create", "externalId": "acme:E1"}]
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_controller_runs_simulations_and_reports_them_in_status() {
    let kmock = Kmock::start();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = kmock.kubeconfig(dir.path());
    let client = kmock.client();
    let controller = ControllerProcess::start(
        &kubeconfig,
        &["--leader-elect", "--namespaces", NAMESPACE],
        &[
            ("POD_NAMESPACE", "hris-system"),
            ("POD_NAME", "hris-operator-e2e-0"),
            ("HRIS_SYNC_IMAGE", SYNC_IMAGE),
            ("HRIS_SYNC_SERVICE_ACCOUNT", "hris-sync"),
        ],
    );
    let http = http_client();

    // It takes the Lease, fills its caches and says it is ready.
    let leases: Api<Lease> = Api::namespaced(client.clone(), "hris-system");
    let lease = eventually("the leader Lease", || async {
        hris_operator::controller::get_if_exists(&leases, "hris-operator-leader")
            .await
            .unwrap()
    })
    .await;
    let spec = lease.spec.unwrap();
    assert_eq!(spec.holder_identity.as_deref(), Some("hris-operator-e2e-0"));
    assert_eq!(spec.lease_duration_seconds, Some(15));
    eventually("/readyz to answer 200", || async {
        let response = http
            .get(format!("{}/readyz", controller.health))
            .send()
            .await
            .ok()?;
        response.status().is_success().then_some(())
    })
    .await;
    let healthz = http
        .get(format!("{}/healthz", controller.health))
        .send()
        .await
        .unwrap();
    assert_eq!(healthz.status(), 200);

    // A new Simulate connection gets a simulation Job with the expected spec.
    let connections: Api<HrisConnection> = Api::namespaced(client.clone(), NAMESPACE);
    connections
        .create(&PostParams::default(), &connection("acme", "Simulate"))
        .await
        .unwrap();
    let jobs: Api<Job> = Api::namespaced(client.clone(), NAMESPACE);
    let job = eventually("a simulation Job", || async {
        jobs_of(&jobs, "acme").await.into_iter().next()
    })
    .await;
    let name = job.name_any();
    assert!(name.starts_with("acme-sim-1-"), "{name}");
    let owner = &job.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.uid.as_str()),
        ("HrisConnection", "uid-acme")
    );
    assert_eq!(owner.controller, Some(true));
    let pod = job.spec.as_ref().unwrap().template.spec.as_ref().unwrap();
    assert_eq!(pod.service_account_name.as_deref(), Some("hris-sync"));
    let container = &pod.containers[0];
    assert_eq!(container.image.as_deref(), Some(SYNC_IMAGE));
    let args = container.args.as_ref().unwrap().join(" ");
    assert!(
        args.starts_with("sync --connection people/acme --mode simulate"),
        "{args}"
    );
    let security = container.security_context.as_ref().unwrap();
    assert_eq!(security.read_only_root_filesystem, Some(true));
    assert_eq!(security.run_as_non_root, Some(true));
    let mounts: Vec<&str> = container
        .volume_mounts
        .iter()
        .flatten()
        .map(|m| m.mount_path.as_str())
        .collect();
    assert!(
        mounts.contains(&"/var/run/secrets/hris-operator/scim"),
        "the SCIM token is mounted as a file: {mounts:?}"
    );

    // The finished Job becomes status, conditions, an Event and a metric.
    complete(&client, &job, &summary()).await;
    let status = eventually("the simulation in status", || async {
        let status = connections.get("acme").await.unwrap().status?;
        status
            .last_simulation
            .as_ref()
            .is_some_and(|run| run.result.is_some())
            .then_some(status)
    })
    .await;
    let simulation = status.last_simulation.as_ref().unwrap();
    assert_eq!(simulation.result.map(|r| r.as_str()), Some("Succeeded"));
    assert_eq!(simulation.job_name.as_deref(), Some(name.as_str()));
    assert_eq!(simulation.counts.created, 4);
    assert_eq!(simulation.counts.deactivated, 2);
    assert_eq!(
        simulation.plan_hash.as_deref(),
        Some("0a1b2c3d4e5f60718293")
    );
    assert_eq!(simulation.generation, Some(1));
    assert_eq!(status.observed_generation, Some(1));
    let simulated = status
        .conditions
        .iter()
        .find(|c| c.type_ == "Simulated")
        .expect("a Simulated condition");
    assert_eq!(simulated.status, "True");
    assert_eq!(simulated.observed_generation, Some(1));
    assert_eq!(status.change_sample[0].external_id, "acme:E1");
    let events: Api<Event> = Api::namespaced(client.clone(), NAMESPACE);
    let event = eventually("a SimulationReady Event", || async {
        events
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .find(|e| e.reason.as_deref() == Some("SimulationReady"))
    })
    .await;
    assert_eq!(event.type_.as_deref(), Some("Normal"));
    assert_eq!(
        event.regarding.as_ref().and_then(|r| r.name.as_deref()),
        Some("acme")
    );
    let metrics = http
        .get(format!("{}/metrics", controller.metrics))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"hris_operator_sync_runs_total{kind="simulate",result="Succeeded"} 1"#),
        "{metrics}"
    );
    assert!(metrics.contains("hris_operator_leader 1"), "{metrics}");
    // Every metric the chart's alerts and dashboard use is one the controller exports.
    let chart = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("charts/hris-operator");
    for file in [
        "templates/prometheusrule.yaml",
        "files/grafana-dashboard.json",
    ] {
        let text = std::fs::read_to_string(chart.join(file)).unwrap();
        let mut used: Vec<&str> = text
            .match_indices("hris_operator_")
            .map(|(at, _)| {
                let rest = &text[at..];
                let end = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                &rest[..end]
            })
            .collect();
        used.dedup();
        assert!(!used.is_empty(), "{file} uses no metric");
        for name in used {
            let family = name.strip_suffix("_total").unwrap_or(name);
            assert!(
                metrics.contains(&format!("# TYPE {family} ")),
                "{file} uses {name}, which the controller does not export"
            );
        }
    }
    assert!(
        !metrics.contains("acme"),
        "no connection name in a metric: {metrics}"
    );

    // A spec change in Simulate mode brings a new simulation of the new generation.
    connections
        .patch(
            "acme",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"generation": 2},
                                 "spec": {"defaults": {"preferredLanguage": "sv"}}})),
        )
        .await
        .unwrap();
    let second = eventually("a simulation Job of generation 2", || async {
        jobs_of(&jobs, "acme")
            .await
            .into_iter()
            .find(|job| job.name_any().starts_with("acme-sim-2-"))
    })
    .await;
    assert_eq!(
        jobs_of(&jobs, "acme").await.len(),
        2,
        "one new Job, not a burst"
    );
    assert_eq!(
        second
            .labels()
            .get("hris-operator.io/generation")
            .map(String::as_str),
        Some("2")
    );

    // A Deactivated connection runs nothing and says so.
    connections
        .create(
            &PostParams::default(),
            &connection("dormant", "Deactivated"),
        )
        .await
        .unwrap();
    let status = eventually("the Deactivated phase", || async {
        let status = connections.get("dormant").await.unwrap().status?;
        (status.phase.as_deref() == Some("Deactivated")).then_some(status)
    })
    .await;
    let ready = status
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .unwrap();
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("False", "Deactivated")
    );
    assert!(status.next_sync_time.is_none());
    assert!(
        jobs_of(&jobs, "dormant").await.is_empty(),
        "no Job for a Deactivated connection"
    );

    // SIGTERM: a clean exit, and the Lease is given up for a standby to take at once.
    let (clean, lines) = controller.terminate();
    assert!(clean, "the controller exits 0 on SIGTERM");
    assert!(
        lines.iter().any(|line| line.contains("shutting down")),
        "{lines:?}"
    );
    let lease = leases.get("hris-operator-leader").await.unwrap();
    assert_eq!(lease.spec.unwrap().holder_identity, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_replica_waits_for_the_lease_and_reconciles_nothing() {
    let kmock = Kmock::start();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = kmock.kubeconfig(dir.path());
    let client = kmock.client();
    // Another replica holds the Lease and renews it (the test renews it for it).
    let leases: Api<Lease> = Api::namespaced(client.clone(), "hris-system");
    let held = |now: String| -> Lease {
        serde_json::from_value(json!({
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": "hris-operator-leader", "namespace": "hris-system"},
            "spec": {"holderIdentity": "other-replica", "leaseDurationSeconds": 3600,
                     "acquireTime": now, "renewTime": now}
        }))
        .unwrap()
    };
    let now = k8s_openapi::jiff::Timestamp::now().to_string();
    leases
        .create(&PostParams::default(), &held(now))
        .await
        .unwrap();
    let connections: Api<HrisConnection> = Api::namespaced(client.clone(), NAMESPACE);
    connections
        .create(&PostParams::default(), &connection("acme", "Simulate"))
        .await
        .unwrap();

    let controller = ControllerProcess::start(
        &kubeconfig,
        &["--leader-elect"],
        &[("POD_NAMESPACE", "hris-system"), ("POD_NAME", "standby-0")],
    );
    let http = http_client();
    // Ready (standing by is its job), not leading, and it has touched nothing.
    eventually("/readyz to answer 200", || async {
        let response = http
            .get(format!("{}/readyz", controller.health))
            .send()
            .await
            .ok()?;
        response.status().is_success().then_some(())
    })
    .await;
    let metrics = http
        .get(format!("{}/metrics", controller.metrics))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("hris_operator_leader 0"), "{metrics}");
    // The Lease is still the other replica's, and the connection is untouched.
    let lease = leases.get("hris-operator-leader").await.unwrap();
    assert_eq!(
        lease.spec.unwrap().holder_identity.as_deref(),
        Some("other-replica")
    );
    let jobs: Api<Job> = Api::namespaced(client.clone(), NAMESPACE);
    assert!(jobs_of(&jobs, "acme").await.is_empty());
    assert!(connections.get("acme").await.unwrap().status.is_none());

    // The other replica gives the Lease up: the standby takes over and reconciles.
    leases
        .patch(
            "hris-operator-leader",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"holderIdentity": null, "leaseDurationSeconds": 1}})),
        )
        .await
        .unwrap();
    eventually("the standby to take the Lease", || async {
        let lease = leases.get("hris-operator-leader").await.unwrap();
        (lease.spec?.holder_identity.as_deref() == Some("standby-0")).then_some(())
    })
    .await;
    eventually("a simulation Job from the new leader", || async {
        jobs_of(&jobs, "acme").await.into_iter().next()
    })
    .await;
    let (clean, _) = controller.terminate();
    assert!(clean);
}
