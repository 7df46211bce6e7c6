//! One sync of 100,000 employees end to end, the way a user runs it: the `hris-operator`
//! binary's `apply` reads every employee from the Merge emulator (1,000 pages of 100), plans
//! against the SCIM emulator and creates every user there; then a second `apply` with nothing
//! changed. The emulators are served by the bench's own process (the `hris-emulators` command
//! line, on free ports) and each `apply` is a process of its own, so the memory measured is the
//! sync's alone: its peak resident memory (VmHWM, read from /proc while it runs) and its wall
//! time.
//!
//! `cargo bench --bench load` (`LOAD_EMPLOYEES=N` for another size). Exits non-zero when a run
//! fails, when the first run does not create every employee the plan says should exist, or when
//! the second run writes anything.

use std::{
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use clap::Parser;
use hris_emulators::serve::{Cli, Serving, start};
use serde_json::Value;

/// The emulators, served by this process until it ends.
struct Emulators {
    // Declared first, so they stop before the runtime that serves them goes.
    serving: Vec<Serving>,
    runtime: tokio::runtime::Runtime,
}

impl Emulators {
    fn new() -> Emulators {
        Emulators {
            serving: Vec::new(),
            runtime: tokio::runtime::Runtime::new().expect("a runtime for the emulators"),
        }
    }

    /// Serves `hris-emulators ARGS` and reads the base URL from its first line.
    fn start(&mut self, args: &[&str]) -> String {
        let cli =
            Cli::try_parse_from(std::iter::once("hris-emulators").chain(args.iter().copied()))
                .expect("emulator arguments");
        let serving = self
            .runtime
            .block_on(start(cli.emulator))
            .expect("start the emulator");
        let base_url = serving
            .first_line()
            .split_whitespace()
            .find(|word| word.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in {:?}", serving.first_line()))
            .to_owned();
        self.serving.push(serving);
        base_url
    }
}

/// A finished `apply`: wall time, peak resident memory and the summary it wrote.
struct Run {
    elapsed: Duration,
    peak_kib: u64,
    summary: Value,
}

fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn apply(manifest: &Path, secrets: &Path, out: &Path) -> Run {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_hris-operator"))
        .args(["apply", "-f"])
        .arg(manifest)
        .arg("--secrets-dir")
        .arg(secrets)
        .arg("--out")
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start apply");
    let pid = child.id();
    let mut peak_kib = 0;
    let status = loop {
        // VmHWM only grows; the last reading before exit is the peak (to within one interval).
        if let Some(kib) = proc_status_kib(pid, "VmHWM:") {
            peak_kib = peak_kib.max(kib);
        }
        if let Some(status) = child.try_wait().expect("wait for apply") {
            break status;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let elapsed = started.elapsed();
    assert!(status.success(), "apply failed: {status}");
    let summary: Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).expect("summary.json"))
            .expect("summary JSON");
    Run {
        elapsed,
        peak_kib,
        summary,
    }
}

fn count(summary: &Value, key: &str) -> u64 {
    summary["counts"][key].as_u64().unwrap_or(0)
}

fn main() {
    let employees: usize = std::env::var("LOAD_EMPLOYEES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let mut emulators = Emulators::new();
    let merge_url = emulators.start(&[
        "merge",
        "--port",
        "0",
        "--employees",
        &employees.to_string(),
    ]);
    let scim_url = emulators.start(&["scim", "--port", "0", "--token", "load-token"]);

    let dir = tempfile::tempdir().expect("temporary directory");
    let secrets = dir.path().join("secrets");
    for (name, key, value) in [
        ("merge", "apiKey", "merge-key"),
        ("merge", "accountToken", "account-token"),
        ("scim", "token", "load-token"),
    ] {
        std::fs::create_dir_all(secrets.join(name)).expect("secret folder");
        std::fs::write(secrets.join(name).join(key), value).expect("secret file");
    }
    let manifest = dir.path().join("connection.yaml");
    std::fs::write(
        &manifest,
        format!(
            r#"apiVersion: hris-operator.io/v1alpha1
kind: HrisConnection
metadata: {{name: load, namespace: people}}
spec:
  mode: Active
  externalIdPrefix: "load:"
  source:
    merge:
      baseUrl: {merge_url}
      apiKeySecretRef: {{name: merge, key: apiKey}}
      accountTokenSecretRef: {{name: merge, key: accountToken}}
      requestsPerSecond: 1000
  target:
    scim:
      baseUrl: {scim_url}
      credentialsSecretRef: {{name: scim, key: token}}
      requestsPerSecond: 100000
      maxConcurrency: 32
  schedule: {{interval: 24h, timeZone: Europe/Amsterdam}}
"#,
        ),
    )
    .expect("connection manifest");

    println!("End-to-end sync of {employees} employees: Merge emulator → plan → SCIM emulator");
    println!(
        "| run | wall time | peak RSS of the sync | employees read | created | updated | unchanged | skipped | errors |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut failures = Vec::new();
    for (index, name) in ["first sync (every user created)", "second sync (no change)"]
        .into_iter()
        .enumerate()
    {
        let run = apply(
            &manifest,
            &secrets,
            &dir.path().join(format!("out-{index}")),
        );
        let summary = &run.summary;
        println!(
            "| {name} | {:.1} s | {:.1} MiB | {} | {} | {} | {} | {} | {} |",
            run.elapsed.as_secs_f64(),
            run.peak_kib as f64 / 1024.0,
            summary["sourceEmployees"],
            count(summary, "created"),
            count(summary, "updated"),
            count(summary, "unchanged"),
            count(summary, "skipped"),
            count(summary, "errors"),
        );
        if summary["result"] != "Succeeded" {
            failures.push(format!("{name}: result {}", summary["result"]));
        }
        let writes: u64 = ["created", "updated", "deactivated", "deleted", "errors"]
            .iter()
            .map(|key| count(summary, key))
            .sum();
        if index == 0 && count(summary, "created") == 0 {
            failures.push(format!("{name}: nobody created"));
        }
        if index == 1 && writes != 0 {
            failures.push(format!("{name}: {writes} writes, expected none"));
        }
    }
    if !failures.is_empty() {
        eprintln!("FAILED: {}", failures.join("; "));
        std::process::exit(1);
    }
}
