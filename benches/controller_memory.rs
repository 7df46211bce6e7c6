//! The controller's memory with many connections: the `hris-operator controller` binary runs
//! against the kmock Kubernetes API emulator (tests/kmock/serve.py, installed by
//! tests/python-tools.sh) holding N HrisConnections in Simulate mode. Each gets its simulation
//! Job and its status; once every connection has been reconciled, the controller's peak resident
//! memory (VmHWM) and current resident memory (VmRSS) are read from /proc.
//!
//! Each connection lives in its own namespace: kmock ignores label selectors, so connections
//! sharing a namespace would each be sent every other connection's Jobs and Pods, traffic a real
//! API server never produces.
//!
//! Run: `cargo bench --bench controller_memory` (N=1000; `CONNECTIONS=N` to change it).

#[path = "support/kmock.rs"]
mod kmock;

use std::time::{Duration, Instant};

use hris_operator::crd::HrisConnection;
use kube::{
    Api,
    api::{ListParams, PostParams},
};
use serde_json::json;

fn proc_status_kib(pid: u32, field: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("reads /proc");
    text.lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("the field is in /proc/PID/status")
}

#[tokio::main]
async fn main() {
    let count: usize = std::env::var("CONNECTIONS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000);
    let (_kmock, url) = kmock::start(None);

    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = kube::Client::try_from(kube::Config::new(url.parse().unwrap())).unwrap();
    // One namespace per connection: kmock ignores label selectors, so connections sharing a
    // namespace would each list every other's Jobs, which a real API server never sends.
    let connections: Api<HrisConnection> = Api::all(client.clone());
    for index in 0..count {
        let namespace = format!("people-{index:04}");
        let namespaced: Api<HrisConnection> = Api::namespaced(client.clone(), &namespace);
        let connection: HrisConnection = serde_json::from_value(json!({
            "apiVersion": "hris-operator.io/v1alpha1", "kind": "HrisConnection",
            "metadata": {"name": "connection", "namespace": namespace,
                         "uid": format!("uid-{index}"), "generation": 1,
                         "creationTimestamp": "2026-11-22T00:00:00Z"},
            "spec": {"mode": "Simulate", "source": {"csv": {"path": "/data/employees.csv"}},
                     "target": {"scim": {"baseUrl": "https://scim.example/v2",
                                         "credentialsSecretRef": {"name": "scim", "key": "token"}}},
                     "externalIdPrefix": format!("conn{index}:"), "schedule": {"interval": "24h"}}
        }))
        .unwrap();
        namespaced
            .create(&PostParams::default(), &connection)
            .await
            .unwrap();
    }

    let dir = std::env::temp_dir().join(format!("hris-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let kubeconfig = kmock::kubeconfig(&dir, &url);
    let started = Instant::now();
    let controller = kmock::controller(&kubeconfig);
    let pid = controller.0.id();

    let deadline = Instant::now() + Duration::from_secs(1800);
    let mut reported = Instant::now();
    loop {
        let list = connections.list(&ListParams::default()).await.unwrap();
        let done = list
            .items
            .iter()
            .filter(|c| c.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
            .count();
        if done == count {
            break;
        }
        if reported.elapsed() > Duration::from_secs(30) {
            eprintln!(
                "  {done} of {count} reconciled after {:.0} s; resident {:.1} MiB",
                started.elapsed().as_secs_f64(),
                proc_status_kib(pid, "VmRSS:") as f64 / 1024.0
            );
            reported = Instant::now();
        }
        assert!(
            Instant::now() < deadline,
            "only {done} of {count} reconciled"
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let elapsed = started.elapsed();
    let peak = proc_status_kib(pid, "VmHWM:");
    let resident = proc_status_kib(pid, "VmRSS:");
    println!(
        "controller_memory: {count} connections (and {count} Jobs) reconciled in {:.1} s; \
         peak resident {:.1} MiB, resident now {:.1} MiB",
        elapsed.as_secs_f64(),
        peak as f64 / 1024.0,
        resident as f64 / 1024.0
    );
    let _ = std::fs::remove_dir_all(&dir);
}
