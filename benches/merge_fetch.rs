//! Fetching 100,000 employees from the Merge emulator at Merge's page size (100) and a
//! per-linked-account rate limit, compared with the floor those limits set:
//! 1,000 pages ÷ rate.
//!
//! `cargo bench --bench merge_fetch` runs the documented 600 requests/minute plan (10 a
//! second: floor 100 s) and a faster 100 a second (floor 10 s); `MERGE_BENCH_RATES=10` picks
//! the rates. The emulator enforces the same rate (429 + Retry-After above it, a burst of one
//! second's worth), so a client that paced badly would pay for it. Exits non-zero past 1.1×.

use std::time::{Duration, Instant};

use hris_emulators::{
    hr::CommonConfig,
    merge::{self, MergeConfig},
};
use hris_operator::{
    connectors::{
        http::{Auth, HttpClient, RetryPolicy},
        source::{api::ApiClient, merge::MergeSource},
    },
    sync::{
        model::{Email, EmailType, Employee, EmploymentStatus},
        ports::source::{Source, fetch_all},
    },
};

const EMPLOYEES: usize = 100_000;
const PAGE_SIZE: usize = hris_operator::connectors::source::merge::PAGE_SIZE;

fn employees() -> Vec<Employee> {
    (0..EMPLOYEES)
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
            e
        })
        .collect()
}

async fn run(rate: f64, records: Vec<serde_json::Value>) -> (Duration, usize, usize) {
    let emulator = merge::start(MergeConfig {
        records,
        common: CommonConfig {
            requests_per_second: Some(rate),
            burst: rate.ceil() as u32,
            ..CommonConfig::default()
        },
        ..MergeConfig::default()
    })
    .await
    .expect("emulator");
    let http = HttpClient::new(
        Auth::Bearer("merge-key".into()),
        Some(rate),
        Duration::from_secs(30),
        RetryPolicy::default(),
    )
    .expect("client");
    let source = MergeSource::new(
        ApiClient::with_http("Merge", "the bench key".into(), http),
        &emulator.base_url(),
        "account-token".into(),
        None,
    );
    let started = Instant::now();
    let data = fetch_all(&source as &dyn Source).await.expect("fetch");
    let elapsed = started.elapsed();
    let throttled = emulator
        .requests()
        .iter()
        .filter(|r| r.status == 429)
        .count();
    assert_eq!(data.employees.len(), EMPLOYEES);
    (elapsed, emulator.requests().len(), throttled)
}

#[tokio::main]
async fn main() {
    let rates: Vec<f64> = std::env::var("MERGE_BENCH_RATES")
        .unwrap_or_else(|_| "10,100".into())
        .split(',')
        .filter_map(|r| r.trim().parse().ok())
        .collect();
    let mut records = merge::records(&employees());
    // The last record is one deleted in the HR system; the bench reads live ones only.
    records.pop();
    let pages = EMPLOYEES.div_ceil(PAGE_SIZE);
    let mut failed = false;
    for rate in rates {
        let floor = Duration::from_secs_f64(pages as f64 / rate);
        let (elapsed, requests, throttled) = run(rate, records.clone()).await;
        let ratio = elapsed.as_secs_f64() / floor.as_secs_f64();
        println!(
            "merge_fetch: {EMPLOYEES} employees, page_size {PAGE_SIZE}, {rate} requests/s: {:.2} s, floor {:.2} s, {ratio:.3}x floor, {requests} requests ({throttled} throttled)",
            elapsed.as_secs_f64(),
            floor.as_secs_f64()
        );
        failed |= ratio > 1.1;
    }
    if failed {
        eprintln!("merge_fetch: slower than 1.1x the floor");
        std::process::exit(1);
    }
}
