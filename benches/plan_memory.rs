//! Heap needed to plan 100,000 employees against 100,000 directory users, per user.
//!
//! `cargo bench --bench plan_memory` — counts every allocation (dhat), so it runs apart from
//! the timing benchmark. "Peak" is the most heap held at once: the employees, the users, the
//! planner's indexes and the plan.

#[path = "support/mod.rs"]
mod support;

use hris_operator::sync::plan::plan;

#[global_allocator]
static ALLOCATOR: dhat::Alloc = dhat::Alloc;

fn main() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let n = 100_000;
    let policy = support::policy();
    let employees = support::employees(n);
    let users = support::users(&employees);
    let inputs = dhat::HeapStats::get().curr_bytes;
    let result = plan(&support::input(&employees, &users), &policy);
    let stats = dhat::HeapStats::get();
    let per_user = |bytes: usize| bytes as f64 / n as f64;
    println!(
        "inputs ({} employees + {} users): {:.0} bytes per user",
        employees.len(),
        users.len(),
        per_user(inputs)
    );
    println!(
        "plan kept ({} changes): {:.0} bytes per user",
        result.changes.len(),
        per_user(stats.curr_bytes - inputs)
    );
    println!(
        "peak heap: {:.1} MB = {:.0} bytes per user",
        stats.max_bytes as f64 / 1e6,
        per_user(stats.max_bytes)
    );
}
