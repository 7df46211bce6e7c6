//! Time to plan 100,000 employees against 100,000 directory users (one core).
//!
//! `cargo bench --bench plan` — prints the median and range over 15 runs.

#[path = "support/mod.rs"]
mod support;

use std::{hint::black_box, time::Instant};

use hris_operator::sync::plan::{ChangeKind, plan};

fn main() {
    let n: usize = std::env::var("PLAN_BENCH_EMPLOYEES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let policy = support::policy();
    let employees = support::employees(n);
    let users = support::users(&employees);
    let input = support::input(&employees, &users);
    let first = plan(&input, &policy);
    println!(
        "plan: {} employees, {} users -> {} creates, {} updates, {} deletes, {} unchanged",
        employees.len(),
        users.len(),
        first.count(ChangeKind::Create),
        first.count(ChangeKind::Update),
        first.count(ChangeKind::Delete),
        first.unchanged
    );
    assert!(
        first.safeguard.is_none(),
        "the benchmark plan is not withheld"
    );

    let mut times: Vec<f64> = (0..15)
        .map(|_| {
            let start = Instant::now();
            black_box(plan(black_box(&input), &policy));
            start.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    println!(
        "plan time over {} runs: median {:.1} ms (min {:.1} ms, max {:.1} ms)",
        times.len(),
        times[times.len() / 2],
        times[0],
        times[times.len() - 1]
    );
}
