//! The controller binary end to end over HTTP, against the `kmock` Kubernetes API emulator
//! (tests/kmock/serve.py): it takes the leader Lease, turns a new connection into a simulation
//! Job with the expected spec, turns that Job's completion into status, conditions, an Event and
//! a metric, starts a new simulation after a spec change, starts nothing for a Deactivated
//! connection, and on SIGTERM stops cleanly and gives the Lease up. Before each run it applies
//! the connection's sync ServiceAccount, Role and RoleBinding, the Role naming only that run's
//! report Secrets.
//!
//! RBAC, from kmock's request log: every request the controller made is one
//! tests/manifests/controller-rules.json allows, and every verb there was used or is delegated
//! (granted on to the sync Roles). And a real sync (`sync_job::sync`) against kmock makes only
//! requests the Role the controller builds for its run allows.
//!
//! A connection the controller cannot read (a source kind of a newer CRD), there before the
//! controller starts, gets `Ready=False InvalidSpec` and an Event while its neighbour runs.
//!
//! The test plays the parts of a cluster kmock does not: it completes Jobs (a Pod with the sync
//! container's termination message, then the Job's Complete condition) and bumps
//! `metadata.generation` on spec changes. Waiting is polling for a state with a deadline.

use crate::common;

use std::time::{Duration, Instant};

use std::collections::BTreeSet;

use common::child_server::http_client;
use common::kmock::{ControllerProcess, Kmock, LoggedRequest};
use hris_operator::{
    contract::names::{MAX_REPORT_SECRETS, job_name, report_name},
    controller::access::sync_role,
    crd::HrisConnection,
    sync::report::RunMode,
    sync_job::{SyncRequest, sync},
};
use k8s_openapi::api::{
    batch::v1::Job,
    coordination::v1::Lease,
    core::v1::{Pod, Secret, ServiceAccount},
    events::v1::Event,
    rbac::v1::{Role, RoleBinding},
};
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

/// One API request as RBAC sees it: the verbs it is authorised as, the API group, the resource
/// (`resource/subresource`), the namespace and the object's name.
#[derive(Debug)]
struct Access {
    verbs: Vec<&'static str>,
    group: String,
    resource: String,
    namespace: Option<String>,
    name: Option<String>,
}

/// How the API server authorises `request` (a server-side apply that creates its object also
/// needs `create` of that name). Panics on a path that is not a resource's.
fn access_of(request: &LoggedRequest) -> Access {
    let segments: Vec<&str> = request.path.trim_matches('/').split('/').collect();
    let (group, mut rest) = match segments.as_slice() {
        ["api", _version, rest @ ..] => (String::new(), rest),
        ["apis", group, _version, rest @ ..] => ((*group).to_owned(), rest),
        _ => panic!("not a resource request: {request:?}"),
    };
    let mut namespace = None;
    if rest.len() >= 3 && rest[0] == "namespaces" {
        namespace = Some(rest[1].to_owned());
        rest = &rest[2..];
    }
    assert!(!rest.is_empty(), "no resource in {request:?}");
    let name = rest.get(1).map(|name| (*name).to_owned());
    let resource = match rest.get(2) {
        Some(sub) => format!("{}/{sub}", rest[0]),
        None => rest[0].to_owned(),
    };
    let watch = matches!(
        request.query.get("watch").map(String::as_str),
        Some("true" | "1")
    );
    let verbs = match (request.method.as_str(), name.is_some()) {
        ("GET", _) if watch => vec!["watch"],
        ("GET", true) => vec!["get"],
        ("GET", false) => vec!["list"],
        ("POST", _) => vec!["create"],
        ("PUT", _) => vec!["update"],
        ("PATCH", _) if request.created => vec!["patch", "create"],
        ("PATCH", _) => vec!["patch"],
        ("DELETE", true) => vec!["delete"],
        ("DELETE", false) => vec!["deletecollection"],
        (method, _) => panic!("unexpected method {method} in {request:?}"),
    };
    Access {
        verbs,
        group,
        resource,
        namespace,
        name,
    }
}

/// One entry of tests/manifests/controller-rules.json.
struct ContractRule {
    group: String,
    resource: String,
    verbs: Vec<String>,
    delegated: bool,
}

/// The controller's rules: (in every watched namespace, leader election).
fn controller_contract() -> (Vec<ContractRule>, Vec<ContractRule>) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/manifests/controller-rules.json");
    let contract: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let rules = |key: &str| -> Vec<ContractRule> {
        contract[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|entry| ContractRule {
                group: entry["apiGroup"].as_str().unwrap().to_owned(),
                resource: entry["resource"].as_str().unwrap().to_owned(),
                verbs: entry["verbs"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|verb| verb.as_str().unwrap().to_owned())
                    .collect(),
                delegated: entry["delegated"].as_bool().unwrap_or(false),
            })
            .collect()
    };
    (rules("watched"), rules("leaderElection"))
}

fn contract_allows(rules: &[ContractRule], verb: &str, group: &str, resource: &str) -> bool {
    rules.iter().any(|rule| {
        rule.group == group && rule.resource == resource && rule.verbs.iter().any(|v| v == verb)
    })
}

/// Checks every request the controller made (those with its kubeconfig's token) against the
/// contract: leases only in `lease_namespace` and by the leader-election rules, everything else
/// by the watched-namespace rules and, when the controller watches one namespace, only there.
/// Returns the (group, resource, verb) used.
fn controller_requests_allowed(
    kmock: &Kmock,
    lease_namespace: &str,
    watched: Option<&str>,
) -> BTreeSet<(String, String, String)> {
    let (rules, lease_rules) = controller_contract();
    let mut used = BTreeSet::new();
    let requests: Vec<LoggedRequest> = kmock.requests().into_iter().filter(|r| r.auth).collect();
    assert!(!requests.is_empty(), "the controller made no request");
    for request in &requests {
        let access = access_of(request);
        for verb in &access.verbs {
            if access.resource == "leases" {
                assert!(
                    contract_allows(&lease_rules, verb, &access.group, &access.resource),
                    "{verb} {request:?} is not in the leader-election rules"
                );
                assert_eq!(
                    access.namespace.as_deref(),
                    Some(lease_namespace),
                    "{request:?}"
                );
            } else {
                assert!(
                    contract_allows(&rules, verb, &access.group, &access.resource),
                    "the controller made a request its RBAC does not grant: {verb} {}/{} ({request:?})",
                    access.group,
                    access.resource
                );
                if let Some(namespace) = watched {
                    assert_eq!(
                        access.namespace.as_deref(),
                        Some(namespace),
                        "outside the watched namespace: {request:?}"
                    );
                }
            }
            used.insert((
                access.group.clone(),
                access.resource.clone(),
                (*verb).to_owned(),
            ));
        }
    }
    used
}

/// Whether `role` lets a subject do `verb` on `group`/`resource` named `name`, as RBAC decides
/// (a rule with resourceNames matches only requests that name one of them).
fn allows(role: &Role, verb: &str, group: &str, resource: &str, name: Option<&str>) -> bool {
    role.rules.iter().flatten().any(|rule| {
        let has = |list: &Option<Vec<String>>, value: &str| {
            list.iter().flatten().any(|item| item == value)
        };
        has(&rule.api_groups, group)
            && has(&rule.resources, resource)
            && rule.verbs.iter().any(|v| v == verb)
            && match &rule.resource_names {
                None => true,
                Some(names) if names.is_empty() => true,
                Some(names) => name.is_some_and(|name| names.iter().any(|n| n == name)),
            }
    })
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
            // Keep one finished run: the second makes the controller prune the first.
            "historyLimits": {"successful": 1, "failed": 1},
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
/// `summary` as its message at `hour`:00, then the Job's Complete condition.
async fn complete(client: &kube::Client, job: &Job, summary: &Value, hour: u32) {
    let finished = format!("2026-11-22T{hour:02}:00:00Z");
    let started = format!("2026-11-22T{:02}:59:00Z", hour - 1);
    let name = job.name_any();
    let pods: Api<Pod> = Api::namespaced(client.clone(), NAMESPACE);
    let pod: Pod = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": format!("{name}-pod"), "namespace": NAMESPACE,
                     "labels": {"job-name": name},
                     "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": name,
                                          "uid": job.metadata.uid.clone().unwrap(),
                                          "controller": true}]},
        "spec": {"containers": [{"name": "sync", "image": SYNC_IMAGE}]},
        "status": {"containerStatuses": [{"name": "sync", "image": SYNC_IMAGE, "imageID": "",
            "ready": false, "restartCount": 0,
            "state": {"terminated": {"exitCode": 0, "finishedAt": finished,
                                     "message": summary.to_string()}}}]}
    }))
    .unwrap();
    pods.create(&PostParams::default(), &pod).await.unwrap();
    let jobs: Api<Job> = Api::namespaced(client.clone(), NAMESPACE);
    jobs.patch_status(
        &name,
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {
            "startTime": started, "completionTime": finished,
            "succeeded": 1,
            "conditions": [{"type": "Complete", "status": "True",
                            "lastTransitionTime": finished}]}})),
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
    // The sync Pod settings as the chart mounts them (its sync.pod values).
    let pod_settings = dir.path().join("sync-pod.yaml");
    std::fs::write(
        &pod_settings,
        "env:\n- {name: HTTPS_PROXY, value: 'http://proxy.corp.example:3128'}\n\
         tolerations:\n- {key: dedicated, operator: Equal, value: batch, effect: NoSchedule}\n\
         labels: {team: identity, app.kubernetes.io/component: other}\n",
    )
    .unwrap();
    let controller = ControllerProcess::start(
        &kubeconfig,
        &["--leader-elect", "--namespaces", NAMESPACE],
        &[
            ("POD_NAMESPACE", "hris-system"),
            ("POD_NAME", "hris-operator-e2e-0"),
            ("HRIS_SYNC_IMAGE", SYNC_IMAGE),
            ("HRIS_SYNC_IMAGE_PULL_SECRETS", "regcred"),
            ("HRIS_SYNC_POD_SETTINGS", pod_settings.to_str().unwrap()),
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
    let template = &job.spec.as_ref().unwrap().template;
    let pod = template.spec.as_ref().unwrap();
    assert_eq!(pod.service_account_name.as_deref(), Some("acme-sync"));
    // The sync Pod settings are in the Job; the controller's own label is not overridden.
    let labels = template.metadata.as_ref().unwrap().labels.as_ref().unwrap();
    assert_eq!(
        (
            labels["team"].as_str(),
            labels["app.kubernetes.io/component"].as_str()
        ),
        ("identity", "sync")
    );
    assert!(
        pod.containers[0]
            .env
            .iter()
            .flatten()
            .any(|var| var.name == "HTTPS_PROXY")
    );
    assert_eq!(
        pod.tolerations.as_ref().unwrap()[0].key.as_deref(),
        Some("dedicated")
    );
    assert_eq!(
        pod.image_pull_secrets
            .iter()
            .flatten()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>(),
        ["regcred"]
    );
    // The Job's ServiceAccount, Role and RoleBinding are there, owned by the connection; the
    // Role reads this connection and writes this run's report Secrets, by name, nothing else.
    let account = Api::<ServiceAccount>::namespaced(client.clone(), NAMESPACE)
        .get("acme-sync")
        .await
        .unwrap();
    let roles: Api<Role> = Api::namespaced(client.clone(), NAMESPACE);
    let role = roles.get("acme-sync").await.unwrap();
    let binding = Api::<RoleBinding>::namespaced(client.clone(), NAMESPACE)
        .get("acme-sync")
        .await
        .unwrap();
    for meta in [&account.metadata, &role.metadata, &binding.metadata] {
        let owner = &meta.owner_references.as_ref().unwrap()[0];
        assert_eq!(
            (owner.kind.as_str(), owner.uid.as_str()),
            ("HrisConnection", "uid-acme")
        );
    }
    let report = format!("{name}-report");
    let rules = serde_json::to_value(role.rules.as_ref().unwrap()).unwrap();
    assert_eq!(rules.as_array().unwrap().len(), 2, "{rules}");
    assert_eq!(
        rules[0],
        json!({"apiGroups": ["hris-operator.io"], "resources": ["hrisconnections"],
               "verbs": ["get"], "resourceNames": ["acme"]})
    );
    let mut secret_names = vec![report.clone()];
    secret_names.extend((2..=MAX_REPORT_SECRETS).map(|n| format!("{report}-{n}")));
    assert_eq!(
        rules[1],
        json!({"apiGroups": [""], "resources": ["secrets"], "verbs": ["create", "patch"],
               "resourceNames": secret_names})
    );
    assert_eq!(
        serde_json::to_value(&binding.role_ref).unwrap(),
        json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "acme-sync"})
    );
    assert_eq!(
        serde_json::to_value(binding.subjects.as_ref().unwrap()).unwrap(),
        json!([{"kind": "ServiceAccount", "name": "acme-sync", "namespace": NAMESPACE}])
    );
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
    complete(&client, &job, &summary(), 10).await;
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

    // The sync would have stored the run's report; a credentials Secret sits beside it.
    let secrets: Api<Secret> = Api::namespaced(client.clone(), NAMESPACE);
    let run = job.labels()["hris-operator.io/run"].clone();
    for (secret, labels) in [
        (
            report.as_str(),
            json!({"hris-operator.io/connection": "acme", "hris-operator.io/run": run}),
        ),
        ("scim", json!({})),
    ] {
        let object: Secret = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": secret, "namespace": NAMESPACE, "labels": labels},
            "data": {"token": "eA=="}
        }))
        .unwrap();
        secrets
            .create(&PostParams::default(), &object)
            .await
            .unwrap();
    }

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

    // Its Role now names the second run's reports, and none of the first's.
    let rules = roles.get("acme-sync").await.unwrap().rules.unwrap();
    let names = rules[1].resource_names.clone().unwrap();
    assert_eq!(names[0], format!("{}-report", second.name_any()));
    assert!(!names.contains(&report), "{names:?}");

    // The second run finishes: with one successful run kept, the first is forgotten, its Job
    // and its report Secrets (by label), and nothing else.
    complete(&client, &second, &summary(), 11).await;
    eventually("the first run to be pruned", || async {
        let names: Vec<String> = jobs_of(&jobs, "acme")
            .await
            .iter()
            .map(|job| job.name_any())
            .collect();
        (names == [second.name_any()]).then_some(())
    })
    .await;
    eventually("the first run's report to be pruned", || async {
        hris_operator::controller::get_if_exists(&secrets, &report)
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    assert!(
        hris_operator::controller::get_if_exists(&secrets, "scim")
            .await
            .unwrap()
            .is_some(),
        "an unlabelled Secret is never pruned"
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

    // The controller's RBAC lists exactly what it uses: every request it made is allowed by
    // tests/manifests/controller-rules.json (in the watched namespace; leases in its own), and
    // every verb there was used here or is delegated to the sync Roles.
    let used = controller_requests_allowed(&kmock, "hris-system", Some(NAMESPACE));
    let (rules, lease_rules) = controller_contract();
    for rule in rules.iter().chain(&lease_rules) {
        for verb in &rule.verbs {
            let key = (rule.group.clone(), rule.resource.clone(), verb.clone());
            if rule.delegated {
                assert!(
                    !used.contains(&key),
                    "{key:?} is marked delegated, but the controller uses it"
                );
            } else {
                assert!(
                    used.contains(&key),
                    "{key:?} is granted but the controller never used it: {used:?}"
                );
            }
        }
    }
    assert!(
        !used.iter().any(|(group, resource, verb)| group.is_empty()
            && resource == "secrets"
            && ["get", "list", "watch"].contains(&verb.as_str())),
        "the controller never reads a Secret: {used:?}"
    );
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
    // Watching every namespace, it still asks for nothing beyond its rules.
    controller_requests_allowed(&kmock, "hris-system", None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_job_makes_only_the_requests_its_role_allows() {
    let kmock = Kmock::start();
    let client = kmock.client();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("employees.csv"),
        "id,firstName,lastName,workEmail,employmentStatus,startDate,managerId\n\
         1,Ada,Lind,ada@acme.example,Active,2020-01-01,\n\
         2,Bo,Berg,bo@acme.example,Active,2020-01-01,1\n",
    )
    .unwrap();
    let connections: Api<HrisConnection> = Api::namespaced(client.clone(), NAMESPACE);
    for name in ["acme", "other"] {
        let connection: HrisConnection = serde_json::from_value(json!({
            "apiVersion": "hris-operator.io/v1alpha1", "kind": "HrisConnection",
            "metadata": {"name": name, "namespace": NAMESPACE, "uid": format!("uid-{name}"),
                         "generation": 1},
            "spec": {
                "mode": "Simulate",
                "source": {"csv": {"path": dir.path().join("employees.csv")}},
                "target": {"file": {"path": dir.path().join(format!("{name}.json"))}},
                "externalIdPrefix": "acme:",
            },
        }))
        .unwrap();
        connections
            .create(&PostParams::default(), &connection)
            .await
            .unwrap();
    }
    // The Role the controller builds for this run.
    let connection = connections.get("acme").await.unwrap();
    let job = job_name(&connection, RunMode::Simulate, "ab12cd34");
    let report = report_name(&job);
    let role = sync_role(&connection, &report);

    let before = kmock.requests().len();
    let request = SyncRequest {
        namespace: NAMESPACE.into(),
        name: "acme".into(),
        kind: RunMode::Simulate,
        secrets_dir: dir.path().join("secrets"),
        run_id: "ab12cd34".into(),
        report: report.clone(),
        approve: None,
        termination_log: dir.path().join("termination-log"),
        scratch: dir.path().join("scratch"),
        report_limits: Default::default(),
    };
    let summary = sync(client.clone(), &request).await.unwrap();
    let requests = kmock.requests()[before..].to_vec();
    assert_eq!(summary.counts.created, 2);
    let stored = Api::<Secret>::namespaced(client.clone(), NAMESPACE)
        .get(&report)
        .await
        .unwrap();
    assert!(stored.data.unwrap().contains_key("summary.json"));

    // Every request of the sync is one its Role allows, in its namespace.
    let mut seen = Vec::new();
    for request in &requests {
        let access = access_of(request);
        assert_eq!(access.namespace.as_deref(), Some(NAMESPACE), "{request:?}");
        for verb in &access.verbs {
            assert!(
                allows(
                    &role,
                    verb,
                    &access.group,
                    &access.resource,
                    access.name.as_deref()
                ),
                "the sync's Role does not allow {verb} {}/{} {:?}",
                access.group,
                access.resource,
                access.name
            );
            seen.push(format!(
                "{verb} {} {}",
                access.resource,
                access.name.as_deref().unwrap_or("")
            ));
        }
    }
    assert_eq!(
        seen,
        [
            "get hrisconnections acme".to_owned(),
            format!("patch secrets {report}"),
            format!("create secrets {report}"),
        ],
        "read the connection, then create its one report Secret by server-side apply"
    );

    // And it refuses everything else: another connection, the credentials beside it, reading
    // even its own report, listing, and a report Secret beyond the last it names.
    let refused = [
        ("get", "hris-operator.io", "hrisconnections", Some("other")),
        ("list", "hris-operator.io", "hrisconnections", None),
        ("patch", "hris-operator.io", "hrisconnections", Some("acme")),
        ("get", "", "secrets", Some("scim")),
        ("patch", "", "secrets", Some("scim")),
        ("create", "", "secrets", Some("scim")),
        ("get", "", "secrets", Some(report.as_str())),
        ("list", "", "secrets", None),
        ("watch", "", "secrets", None),
        ("delete", "", "secrets", Some(report.as_str())),
        ("create", "", "secrets", None),
    ];
    for (verb, group, resource, name) in refused {
        assert!(
            !allows(&role, verb, group, resource, name),
            "the Role allows {verb} {group}/{resource} {name:?}"
        );
    }
    let beyond = format!("{report}-{}", MAX_REPORT_SECRETS + 1);
    assert!(!allows(&role, "create", "", "secrets", Some(&beyond)));
    let last = format!("{report}-{MAX_REPORT_SECRETS}");
    assert!(allows(&role, "create", "", "secrets", Some(&last)));
    let other_run = report_name(&job_name(&connection, RunMode::Apply, "ffff0000"));
    assert!(!allows(&role, "patch", "", "secrets", Some(&other_run)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_connection_gets_invalid_spec_while_its_neighbour_runs_after_a_restart() {
    // A connection written through a newer CRD (a source kind this version does not know) is
    // already there when the controller starts, next to a good one.
    let kmock = Kmock::start();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = kmock.kubeconfig(dir.path());
    let client = kmock.client();
    let resource = kube::core::ApiResource::erase::<HrisConnection>(&());
    let raw: Api<kube::core::DynamicObject> =
        Api::namespaced_with(client.clone(), NAMESPACE, &resource);
    let mut unreadable = serde_json::to_value(connection("newer", "Simulate")).unwrap();
    unreadable["spec"]["source"] =
        json!({"slack": {"tokenSecretRef": {"name": "slack", "key": "token"}}});
    raw.create(
        &PostParams::default(),
        &serde_json::from_value(unreadable).unwrap(),
    )
    .await
    .unwrap();
    let connections: Api<HrisConnection> = Api::namespaced(client.clone(), NAMESPACE);
    connections
        .create(&PostParams::default(), &connection("good", "Simulate"))
        .await
        .unwrap();

    let controller = ControllerProcess::start(
        &kubeconfig,
        &["--namespaces", NAMESPACE],
        &[("HRIS_SYNC_IMAGE", SYNC_IMAGE)],
    );
    let jobs: Api<Job> = Api::namespaced(client.clone(), NAMESPACE);
    eventually("the good connection's simulation Job", || async {
        jobs_of(&jobs, "good").await.into_iter().next()
    })
    .await;
    let condition = eventually("InvalidSpec on the unreadable connection", || async {
        let object = raw.get("newer").await.ok()?;
        let conditions = object
            .data
            .get("status")?
            .get("conditions")?
            .as_array()?
            .clone();
        conditions.into_iter().find(|c| c["type"] == "Ready")
    })
    .await;
    assert_eq!(condition["status"], "False");
    assert_eq!(condition["reason"], "InvalidSpec");
    let message = condition["message"].as_str().unwrap();
    assert!(message.contains("cannot read this connection"), "{message}");
    assert!(message.len() < 600, "{message}");
    assert!(jobs_of(&jobs, "newer").await.is_empty(), "no run for it");
    let events: Api<Event> = Api::namespaced(client.clone(), NAMESPACE);
    eventually("an InvalidSpec Event", || async {
        let list = events.list(&ListParams::default()).await.ok()?;
        list.items
            .into_iter()
            .find(|e| e.reason.as_deref() == Some("InvalidSpec"))
    })
    .await;
    let http = http_client();
    let ready = http
        .get(format!("{}/readyz", controller.health))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
}
