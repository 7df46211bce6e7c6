//! Microsoft Graph throughput against the documented write limit, and what a no-op run sends.
//!
//! `cargo bench --bench graph` — 10,000 creates through the Graph emulator limited to R writes
//! a second (R = 20, Graph's 3,000 writes per 150 s, unless `GRAPH_BENCH_RATE` says otherwise;
//! `GRAPH_BENCH_USERS` changes the count), in `$batch` requests of 20, compared with the floor
//! writes / R; then a no-op run (list, plan, apply) over those users, counting requests.

use std::time::{Duration, Instant};

use hris_emulators::graph::{GraphConfig, GraphEmulator};
use hris_operator::{
    connectors::target::graph::GraphTarget,
    crd::{HrisConnectionSpec, MicrosoftGraphTarget},
    sync::{
        apply::apply,
        model::{Email, EmailType, Employee, EmploymentStatus, NewUser},
        plan::{PlanInput, plan},
        policy::SyncPolicy,
        ports::target::{Target, TargetOp},
    },
};
use serde_json::json;

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn target(emulator: &GraphEmulator, config: &GraphConfig, rate: f64) -> GraphTarget {
    let spec: MicrosoftGraphTarget = serde_json::from_value(json!({
        "tenantId": config.tenant_id,
        "clientId": config.client_id,
        "clientSecretSecretRef": {"name": "graph", "key": "clientSecret"},
        "authorityUrl": emulator.authority_url(),
        "graphUrl": emulator.graph_url(),
        "writesPerSecond": rate,
    }))
    .expect("spec");
    GraphTarget::new(&spec, config.client_secret.clone()).expect("target")
}

#[tokio::main]
async fn main() {
    let rate: f64 = env("GRAPH_BENCH_RATE", 20.0);
    let users: usize = env("GRAPH_BENCH_USERS", 10_000);
    let config = GraphConfig {
        writes_per_second: Some(rate),
        // Two batches' worth, so timer jitter of a well-paced client is not punished; the
        // long-run limit is `rate`.
        write_burst: 40,
        latency: Duration::from_millis(2),
        ..GraphConfig::default()
    };
    let emulator = GraphEmulator::start(config.clone())
        .await
        .expect("emulator");
    let graph = target(&emulator, &config, rate);
    graph.check().await.expect("check");

    let creates: Vec<TargetOp> = (0..users)
        .map(|n| {
            TargetOp::Create(NewUser {
                external_id: format!("acme:{n}").into(),
                email: format!("person{n}@acme.example").into(),
                first_name: format!("First{n}").into(),
                last_name: "Lind".into(),
                active: true,
                ..NewUser::default()
            })
        })
        .collect();
    let before = emulator.requests().len();
    let start = Instant::now();
    let results = graph.apply(creates).await;
    let elapsed = start.elapsed().as_secs_f64();
    let failed = results.iter().filter(|r| r.is_err()).count();
    let log = emulator.requests();
    let batches = log[before..]
        .iter()
        .filter(|r| r.path.ends_with("/$batch"))
        .count();
    let throttled = log[before..]
        .iter()
        .flat_map(|r| &r.items)
        .filter(|i| i.status == 429)
        .count();
    let floor = users as f64 / rate;
    println!(
        "creates: {users} at {rate} writes/s: {elapsed:.2} s, floor {floor:.2} s, ratio {:.4} \
         ({} writes in {batches} $batch requests, {failed} failed, {throttled} items answered 429)",
        elapsed / floor,
        emulator.writes(),
    );

    // A no-op run: a fresh client lists, plans and applies; nothing changed.
    let spec: HrisConnectionSpec = serde_saphyr::from_str(
        "source: {csv: {path: e.csv}}\ntarget: {file: {path: d.json}}\nexternalIdPrefix: 'acme:'\n",
    )
    .expect("spec");
    let policy = SyncPolicy::compile(&spec).expect("policy");
    let employees: Vec<Employee> = (0..users)
        .map(|n| {
            let mut e = Employee::new(
                n.to_string(),
                format!("First{n}"),
                "Lind",
                EmploymentStatus::Active,
            );
            e.emails.push(Email {
                address: format!("person{n}@acme.example").into(),
                kind: EmailType::Work,
            });
            e
        })
        .collect();
    let run = target(&emulator, &config, rate);
    let writes_before = emulator.writes();
    let before = emulator.requests().len();
    let listed = run.list_users(&[]).await.expect("list");
    let planned = plan(
        &PlanInput {
            employees: &employees,
            record_errors: &[],
            users: &listed,
            as_of: jiff::civil::date(2026, 11, 22),
            managers: true,
            deletes: true,
            approved_hash: None,
        },
        &policy,
    );
    apply(&planned, &listed, &run).await;
    let sent = &emulator.requests()[before..];
    let lists = sent
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with("/users"))
        .count();
    let tokens = sent.iter().filter(|r| r.path.ends_with("/token")).count();
    println!(
        "no-op run over {} users: {} changes planned, {} requests sent: {} list pages, {} token, {} other; {} writes",
        listed.len(),
        planned.changes.len(),
        sent.len(),
        lists,
        tokens,
        sent.len() - lists - tokens,
        emulator.writes() - writes_before
    );
}
