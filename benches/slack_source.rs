//! Reading a Slack workspace of 20,000 members through the `slack` source's `users.list` at
//! Tier 2 pacing, compared with the floor that pacing sets: pages × the pacing interval, a
//! page being the source's 200 members.
//!
//! Slack's Tier 2 allows `users.list` 20 times a minute, one page every 3 s: 100 pages take
//! five minutes. By default the bench scales the interval down on both sides, to 100 ms: the
//! emulator allows `users.list` once every 100 ms (token bucket, 429 + `Retry-After` above it,
//! a burst of two), and the source is paced at the same interval (`requestsPerSecond` 10).
//! `SLACK_SOURCE_BENCH_REAL=1` runs at Slack's own interval, 3 s (20 a minute on both sides);
//! `SLACK_SOURCE_BENCH_INTERVAL_MS` picks another interval and `SLACK_SOURCE_BENCH_MEMBERS` the
//! size. The emulator counts the 429s it answered. Exits non-zero past 1.1× the floor or on
//! a throttled answer.

use std::time::{Duration, Instant};

use hris_emulators::slack::{self, SlackConfig, SlackEmulator};
use hris_operator::{
    connectors::{
        http::{Auth, HttpClient, RetryPolicy},
        source::{
            api::ApiClient,
            slack::{PAGE_SIZE, Scope, SlackSource},
        },
    },
    sync::{
        model::{Email, EmailType, Employee, EmploymentStatus},
        ports::source::{Source, fetch_all},
    },
};

/// Slack's Tier 2: 20 requests a minute.
const TIER_2_INTERVAL: Duration = Duration::from_secs(3);

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A workspace of `members` people.
fn workspace(members: usize, interval: Duration) -> SlackConfig {
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
            e.title = Some("Engineer".into());
            e
        })
        .collect();
    SlackConfig {
        members: slack::members_of(&employees),
        tier2_per_minute: Some(60.0 / interval.as_secs_f64()),
        burst: 2,
        ..SlackConfig::default()
    }
}

async fn run(members: usize, interval: Duration) -> (Duration, usize, usize) {
    let config = workspace(members, interval);
    let emulator = SlackEmulator::start(config).await.expect("emulator");
    let http = HttpClient::new(
        Auth::Bearer(slack::BOT_TOKEN.into()),
        Some(1.0 / interval.as_secs_f64()),
        Duration::from_secs(30),
        RetryPolicy::default(),
    )
    .expect("client");
    let source = SlackSource::new(
        ApiClient::with_http("Slack", "the bench token".into(), http),
        &emulator.api_url(),
        Scope::AllMembers,
        false,
        Vec::new(),
        "the bench secret".into(),
        None,
    );
    let started = Instant::now();
    let data = fetch_all(&source as &dyn Source).await.expect("fetch");
    let elapsed = started.elapsed();
    assert_eq!(data.employees.len(), members);
    assert!(data.errors.is_empty());
    (elapsed, emulator.requests().len(), emulator.throttled())
}

#[tokio::main]
async fn main() {
    let members: usize = env("SLACK_SOURCE_BENCH_MEMBERS", 20_000);
    let real = std::env::var("SLACK_SOURCE_BENCH_REAL").is_ok_and(|v| v == "1");
    let interval = if real {
        TIER_2_INTERVAL
    } else {
        Duration::from_millis(env("SLACK_SOURCE_BENCH_INTERVAL_MS", 100))
    };
    let pages = members.div_ceil(PAGE_SIZE);
    let floor = interval * pages as u32;
    let (elapsed, requests, throttled) = run(members, interval).await;
    let ratio = elapsed.as_secs_f64() / floor.as_secs_f64();
    println!(
        "slack_source: users.list over {members} members, limit={PAGE_SIZE}, one page every \
         {} ms{}: {:.2} s, floor {:.2} s ({pages} pages), {ratio:.3}x floor, {requests} \
         requests ({throttled} throttled)",
        interval.as_millis(),
        if real { " (Tier 2)" } else { "" },
        elapsed.as_secs_f64(),
        floor.as_secs_f64()
    );
    if ratio > 1.1 || throttled > 0 {
        eprintln!("slack_source: slower than 1.1x the floor, or throttled");
        std::process::exit(1);
    }
}
