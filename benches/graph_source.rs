//! Reading an Entra ID group of 50,000 transitive members through the `microsoftGraph` source,
//! compared with the floor Graph's paging and the read rate set: pages ÷ rate, a page being
//! Graph's largest, 999 users.
//!
//! `cargo bench --bench graph_source` builds a tenant whose group holds 50 nested groups of
//! 1,000 users each, and reads it at 10 requests a second, the source's default;
//! `GRAPH_SOURCE_BENCH_RATES=2,10,50` picks the rates, `GRAPH_SOURCE_BENCH_MEMBERS` the size. The
//! emulator enforces the same read rate (429 + Retry-After above it, a burst of one second's
//! worth), so a client that paced badly would pay for it. Exits non-zero past 1.1×.

use std::time::{Duration, Instant};

use hris_emulators::graph::{GraphConfig, GraphEmulator, GraphGroup, object_id, users_of};
use hris_operator::{
    connectors::{
        entra,
        http::{HttpClient, RetryPolicy},
        source::{
            api::ApiClient,
            graph::{GraphSource, PAGE_SIZE, Scope},
        },
    },
    crd::GraphAppRegistration,
    sync::{
        model::{Email, EmailType, Employee, EmploymentStatus},
        ports::source::{Source, fetch_all},
    },
};
use serde_json::json;

const GROUP: &str = "5a1e5a1e-0000-4000-8000-00000000beef";
const NESTED: usize = 50;

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A tenant whose group [`GROUP`] holds `members` users through [`NESTED`] nested groups.
fn tenant(members: usize, rate: f64) -> GraphConfig {
    let employees: Vec<Employee> = (0..members)
        .map(|i| {
            let mut e = Employee::new(
                format!("E{i:06}"),
                "First",
                "Last",
                EmploymentStatus::Active,
            );
            e.emails.push(Email {
                address: format!("person{i}@corp.example").into(),
                kind: EmailType::Work,
            });
            e.department = Some("Engineering".into());
            e.manager_id = (i > 0).then(|| format!("E{:06}", i / 10).into());
            e
        })
        .collect();
    let per_group = members.div_ceil(NESTED);
    let mut groups: Vec<GraphGroup> = employees
        .chunks(per_group)
        .enumerate()
        .map(|(index, chunk)| GraphGroup {
            id: format!("5a1e5a1e-0000-4000-8000-{index:012}"),
            display_name: format!("Team {index}"),
            members: chunk.iter().map(|e| object_id(&e.id)).collect(),
        })
        .collect();
    groups.push(GraphGroup {
        id: GROUP.into(),
        display_name: "Everyone".into(),
        members: groups.iter().map(|g| g.id.clone()).collect(),
    });
    GraphConfig {
        users: users_of(&employees),
        groups,
        reads_per_second: Some(rate),
        read_burst: rate.ceil() as u32,
        ..GraphConfig::default()
    }
}

async fn run(members: usize, rate: f64) -> (Duration, usize, usize) {
    let config = tenant(members, rate);
    let emulator = GraphEmulator::start(config.clone())
        .await
        .expect("emulator");
    let app: GraphAppRegistration = serde_json::from_value(json!({
        "tenantId": config.tenant_id,
        "clientId": config.client_id,
        "clientSecretSecretRef": {"name": "graph", "key": "clientSecret"},
        "authorityUrl": emulator.authority_url(),
        "graphUrl": emulator.graph_url(),
    }))
    .expect("app registration");
    let http = HttpClient::new(
        entra::auth(&app, config.client_secret.clone()),
        Some(rate),
        Duration::from_secs(30),
        RetryPolicy::default(),
    )
    .expect("client");
    let source = GraphSource::new(
        ApiClient::with_http("Microsoft Graph", "the bench secret".into(), http),
        &emulator.graph_url(),
        Scope::Groups(vec![GROUP.into()]),
        false,
        Vec::new(),
        None,
    );
    let started = Instant::now();
    let data = fetch_all(&source as &dyn Source).await.expect("fetch");
    let elapsed = started.elapsed();
    assert_eq!(data.employees.len(), members);
    assert!(data.errors.is_empty());
    let requests = emulator.requests();
    let throttled = requests.iter().filter(|r| r.status == 429).count();
    (elapsed, requests.len(), throttled)
}

#[tokio::main]
async fn main() {
    let members: usize = env("GRAPH_SOURCE_BENCH_MEMBERS", 50_000);
    let rates: Vec<f64> = std::env::var("GRAPH_SOURCE_BENCH_RATES")
        .unwrap_or_else(|_| "10".into())
        .split(',')
        .filter_map(|r| r.trim().parse().ok())
        .collect();
    let pages = members.div_ceil(PAGE_SIZE);
    let mut failed = false;
    for rate in rates {
        let floor = Duration::from_secs_f64(pages as f64 / rate);
        let (elapsed, requests, throttled) = run(members, rate).await;
        let ratio = elapsed.as_secs_f64() / floor.as_secs_f64();
        println!(
            "graph_source: a group of {members} transitive members ({NESTED} nested groups), \
             $top={PAGE_SIZE}, {rate} requests/s: {:.2} s, floor {:.2} s ({pages} pages), \
             {ratio:.3}x floor, {requests} requests ({throttled} throttled)",
            elapsed.as_secs_f64(),
            floor.as_secs_f64()
        );
        failed |= ratio > 1.1;
    }
    if failed {
        eprintln!("graph_source: slower than 1.1x the floor");
        std::process::exit(1);
    }
}
