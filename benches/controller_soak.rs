//! The controller under a steady load: the `hris-operator controller` binary against the kmock
//! Kubernetes API emulator with N = 200 connections in Simulate mode on `interval: 1m`, for ten
//! minutes. The bench plays the Job controller and the kubelet: every Job the controller starts
//! gets a Pod owned by it, with a sync summary as its termination message, then the Job's
//! Complete condition. kmock's request log tells the controller's requests from the bench's.
//!
//! Then every connection is suspended (one simulation each for the new generation), those runs
//! complete, and the controller's requests are counted over a quiet minute.
//!
//! Run: `cargo bench --bench controller_soak` (`CONNECTIONS=N`, `SOAK_SECONDS=S`,
//! `IDLE_SECONDS=S` change the load). Needs tests/python-tools.sh's venv (kmock).

#[path = "support/kmock.rs"]
mod kmock;

use std::path::Path;
use std::time::{Duration, Instant};

use k8s_openapi::api::{batch::v1::Job, core::v1::Pod};
use kube::{
    Api, ResourceExt,
    api::{ListParams, Patch, PatchParams, PostParams},
};
use serde_json::{Value, json};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn peak_kib(pid: u32) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("reads /proc");
    text.lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM is in /proc/PID/status")
}

/// The controller's requests in kmock's log so far: (all, status writes, Events).
fn controller_requests(log: &Path) -> (u64, u64, u64) {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let mut counts = (0, 0, 0);
    for line in text.lines() {
        let Ok(entry) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if entry["harness"] == true {
            continue;
        }
        let path = entry["path"].as_str().unwrap_or("");
        let method = entry["method"].as_str().unwrap_or("");
        // Watches are long-lived streams, not load.
        if entry["query"]["watch"] == "true" || entry["query"]["watch"] == "1" {
            continue;
        }
        counts.0 += 1;
        if method == "PATCH" && path.ends_with("/status") && path.contains("hrisconnections") {
            counts.1 += 1;
        }
        if method == "POST" && path.ends_with("/events") {
            counts.2 += 1;
        }
    }
    counts
}

fn summary() -> Value {
    json!({
        "connection": "bench", "mode": "Simulate", "asOf": "2026-11-22", "result": "Succeeded",
        "counts": {"created": 1, "updated": 0, "deactivated": 0, "deleted": 0, "unchanged": 9,
                   "skipped": 0, "conflicts": 0, "errors": 0},
        "planHash": "0a1b2c3d4e5f60718293", "sourceEmployees": 10, "targetUsers": 9,
        "managedUsers": 9, "sample": [{"action": "Create", "externalId": "b:E1"}]
    })
}

/// Completes every running Job as the Job controller and the kubelet would; returns how many.
async fn complete_jobs(client: &kube::Client) -> usize {
    let jobs: Api<Job> = Api::all(client.clone());
    let mut done = 0;
    for job in jobs.list(&ListParams::default()).await.unwrap().items {
        let finished = job
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| !c.is_empty());
        if finished {
            continue;
        }
        let name = job.name_any();
        let namespace = job.namespace().unwrap();
        let now = jiff::Timestamp::now()
            .round(jiff::Unit::Second)
            .unwrap()
            .to_string();
        let pod: Pod = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": format!("{name}-pod"), "namespace": namespace,
                         "labels": {"job-name": name},
                         "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": name,
                                              "uid": job.uid().unwrap(), "controller": true}]},
            "spec": {"containers": [{"name": "sync", "image": "bench"}]},
            "status": {"containerStatuses": [{"name": "sync", "image": "bench", "imageID": "",
                "ready": false, "restartCount": 0,
                "state": {"terminated": {"exitCode": 0, "finishedAt": now,
                                         "message": summary().to_string()}}}]}
        }))
        .unwrap();
        let pods: Api<Pod> = Api::namespaced(client.clone(), &namespace);
        let _ = pods.create(&PostParams::default(), &pod).await;
        let namespaced: Api<Job> = Api::namespaced(client.clone(), &namespace);
        namespaced
            .patch_status(
                &name,
                &PatchParams::default(),
                &Patch::Merge(json!({"status": {"startTime": now, "completionTime": now,
                    "succeeded": 1,
                    "conditions": [{"type": "Complete", "status": "True",
                                    "lastTransitionTime": now}]}})),
            )
            .await
            .unwrap();
        done += 1;
    }
    done
}

#[tokio::main]
async fn main() {
    let count = env_or("CONNECTIONS", 200) as usize;
    let soak = Duration::from_secs(env_or("SOAK_SECONDS", 600));
    let idle = Duration::from_secs(env_or("IDLE_SECONDS", 60));
    let dir = std::env::temp_dir().join(format!("hris-soak-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("requests.jsonl");
    let (_kmock, url) = kmock::start(Some(&log));

    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut config = kube::Config::new(url.parse().unwrap());
    config.headers.push((
        http::HeaderName::from_static("x-hris-harness"),
        http::HeaderValue::from_static("1"),
    ));
    let client = kube::Client::try_from(config).unwrap();
    let created = jiff::Timestamp::now()
        .round(jiff::Unit::Second)
        .unwrap()
        .to_string();
    for index in 0..count {
        // One namespace per connection: kmock ignores label selectors.
        let namespace = format!("soak-{index:04}");
        let typed: Api<hris_operator::crd::HrisConnection> =
            Api::namespaced(client.clone(), &namespace);
        let connection = serde_json::from_value(json!({
            "apiVersion": "hris-operator.io/v1alpha1", "kind": "HrisConnection",
            "metadata": {"name": "connection", "namespace": namespace,
                         "uid": format!("uid-{index}"), "generation": 1,
                         "creationTimestamp": created},
            "spec": {"mode": "Simulate", "source": {"csv": {"path": "/data/employees.csv"}},
                     "target": {"scim": {"baseUrl": "https://scim.example/v2",
                                         "credentialsSecretRef": {"name": "scim", "key": "token"}}},
                     "externalIdPrefix": format!("conn{index}:"), "schedule": {"interval": "1m"},
                     "historyLimits": {"successful": 2, "failed": 1}}
        }))
        .unwrap();
        typed
            .create(&PostParams::default(), &connection)
            .await
            .unwrap();
    }

    let kubeconfig = kmock::kubeconfig(&dir, &url);
    let controller = kmock::controller(&kubeconfig);
    let pid = controller.0.id();

    let started = Instant::now();
    let mut runs = 0;
    while started.elapsed() < soak {
        runs += complete_jobs(&client).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    // Let the last completions be recorded before counting.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (requests, status_writes, events) = controller_requests(&log);
    println!(
        "controller_soak: {count} connections, interval 1m, {:.0} s: {runs} runs completed; \
         controller requests {requests} ({:.1}/run, {:.2}/s); status writes {status_writes} \
         ({:.2}/run); Events {events} ({:.2}/run); peak resident {:.1} MiB",
        soak.as_secs_f64(),
        requests as f64 / runs.max(1) as f64,
        requests as f64 / soak.as_secs_f64(),
        status_writes as f64 / runs.max(1) as f64,
        events as f64 / runs.max(1) as f64,
        peak_kib(pid) as f64 / 1024.0,
    );

    // Quiet: suspend every schedule, complete the simulations of the new generation, then count.
    for index in 0..count {
        let namespace = format!("soak-{index:04}");
        let typed: Api<hris_operator::crd::HrisConnection> =
            Api::namespaced(client.clone(), &namespace);
        typed
            .patch(
                "connection",
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"generation": 2},
                                     "spec": {"schedule": {"suspend": true}}})),
            )
            .await
            .unwrap();
    }
    // Until every connection has recorded the simulation of its new generation.
    let all: Api<hris_operator::crd::HrisConnection> = Api::all(client.clone());
    let settle = Instant::now();
    loop {
        complete_jobs(&client).await;
        let settled = all
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .iter()
            .filter(|c| {
                c.status.as_ref().is_some_and(|s| {
                    s.last_simulation.as_ref().and_then(|r| r.generation) == Some(2)
                        && s.phase.as_deref() != Some("Running")
                })
            })
            .count();
        if settled == count {
            break;
        }
        assert!(
            settle.elapsed() < Duration::from_secs(900),
            "only {settled} of {count} settled"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    // Let the last writes and Events land before the quiet minute starts.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let before = controller_requests(&log).0;
    tokio::time::sleep(idle).await;
    let quiet = controller_requests(&log).0 - before;
    println!(
        "controller_soak: idle (all suspended) {quiet} controller requests in {:.0} s = {:.3}/s; \
         peak resident {:.1} MiB",
        idle.as_secs_f64(),
        quiet as f64 / idle.as_secs_f64(),
        peak_kib(pid) as f64 / 1024.0,
    );
    if std::env::var_os("KEEP_LOG").is_some() {
        println!(
            "controller_soak: kmock's request log is in {}",
            log.display()
        );
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
}
