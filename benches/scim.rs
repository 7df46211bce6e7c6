//! SCIM throughput against a rate-limited provider, and what a no-op run sends.
//!
//! `cargo bench --bench scim` — 10,000 creates through the SCIM emulator limited to R requests a
//! second (R = 500 unless `SCIM_BENCH_RATE` says otherwise), compared with the floor 10,000 / R;
//! then a no-op run (list, plan, apply) over those 10,000 users, counting requests by kind.

use std::time::{Duration, Instant};

use hris_emulators::scim::{ScimConfig, ScimEmulator};
use hris_operator::{
    connectors::{
        http::{Auth, HttpClient, RetryPolicy},
        target::scim::ScimTarget,
    },
    crd::{HrisConnectionSpec, ScimQuirks},
    sync::{
        apply::apply,
        model::{Email, EmailType, Employee, EmploymentStatus, NewUser},
        plan::{PlanInput, plan},
        policy::SyncPolicy,
        ports::target::{Target, TargetOp},
    },
};

const USERS: usize = 10_000;

fn scim_target(emulator: &ScimEmulator, rate: f64) -> ScimTarget {
    let http = HttpClient::new(
        Auth::Bearer("test-token".into()),
        Some(rate),
        Duration::from_secs(30),
        RetryPolicy::default(),
    )
    .expect("client");
    ScimTarget::new(http, &emulator.base_url(), ScimQuirks::default(), 16)
}

#[tokio::main]
async fn main() {
    let rate: f64 = std::env::var("SCIM_BENCH_RATE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500.0);
    let emulator = ScimEmulator::start(ScimConfig {
        requests_per_second: Some(rate),
        burst: 5,
        bulk: None,
        ..ScimConfig::default()
    })
    .await
    .expect("emulator");

    let target = scim_target(&emulator, rate);
    target.check().await.expect("check");
    let creates: Vec<TargetOp> = (0..USERS)
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
    let results = target.apply(creates).await;
    let elapsed = start.elapsed().as_secs_f64();
    let failed = results.iter().filter(|r| r.is_err()).count();
    let log = emulator.requests();
    let throttled = log[before..].iter().filter(|r| r.status == 429).count();
    let floor = USERS as f64 / rate;
    println!(
        "creates: {USERS} at {rate} requests/s: {elapsed:.2} s, floor {floor:.2} s, ratio {:.3} ({failed} failed, {throttled} answered 429)",
        elapsed / floor
    );

    // A no-op run: a new run (a fresh client) lists, plans and applies; nothing changed.
    let spec: HrisConnectionSpec = serde_saphyr::from_str(
        "source: {csv: {path: e.csv}}\ntarget: {file: {path: d.json}}\nexternalIdPrefix: 'acme:'\n",
    )
    .expect("spec");
    let policy = SyncPolicy::compile(&spec).expect("policy");
    let employees: Vec<Employee> = (0..USERS)
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
    let run = scim_target(&emulator, rate);
    let before = emulator.requests().len();
    let users = run.list_users(&[]).await.expect("list");
    let planned = plan(
        &PlanInput {
            employees: &employees,
            record_errors: &[],
            users: &users,
            as_of: jiff::civil::date(2026, 11, 22),
            managers: true,
            deletes: true,
            approved_hash: None,
        },
        &policy,
    );
    apply(&planned, &users, &run).await;
    let log = emulator.requests();
    let sent = &log[before..];
    let gets = sent.iter().filter(|r| r.method == "GET").count();
    let lists = sent
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with("/Users"))
        .count();
    println!(
        "no-op run over {} users: {} changes planned, {} requests sent: {} GET ({} list pages, {} other), {} writes",
        users.len(),
        planned.changes.len(),
        sent.len(),
        gets,
        lists,
        gets - lists,
        sent.len() - gets
    );
    emulator.stop().await;
}
