//! `config/samples/scim/` runs as its comments say: `hris-operator emulate scim`, then simulate,
//! apply, and simulate again with nothing left to do. And a write the provider refuses lands in
//! the report with the provider's status and detail.

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
};

use hris_operator::emulators::scim::{ScimConfig, ScimEmulator};
use serde_json::Value;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The sample manifest pointed at `base_url`, with its CSV path made absolute.
fn sample_manifest(dir: &Path, base_url: &str) -> PathBuf {
    let text = std::fs::read_to_string(repo().join("config/samples/scim/connection.yaml")).unwrap();
    let demo_csv = repo().join("config/samples/demo/employees.csv");
    let text = text
        .replace("http://127.0.0.1:8090/scim/v2", base_url)
        .replace("../demo/employees.csv", demo_csv.to_str().unwrap());
    let path = dir.join("connection.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

fn hris(command: &str, manifest: &Path, out: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hris-operator"))
        .args([command, "--as-of", "2026-11-22", "-f"])
        .arg(manifest)
        .arg("--secrets-dir")
        .arg(repo().join("config/samples/scim/secrets"))
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

fn summary(out: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap()
}

/// Kills the emulator process when the test ends, however it ends.
struct Emulator(Child);

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_scim_sample_runs_against_the_emulate_command() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hris-operator"))
        .args(["emulate", "scim", "--port", "0", "--token", "demo-token"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first_line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first_line)
        .unwrap();
    let _emulator = Emulator(child);
    let base_url = first_line
        .trim()
        .strip_prefix("SCIM emulator on ")
        .unwrap_or_else(|| panic!("unexpected first line: {first_line}"))
        .to_owned();

    let dir = tempfile::tempdir().unwrap();
    let manifest = sample_manifest(dir.path(), &base_url);
    let simulated = hris("simulate", &manifest, &dir.path().join("sim"));
    assert_eq!(
        simulated.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&simulated.stderr)
    );
    let planned = summary(&dir.path().join("sim"));
    let creates = planned["counts"]["created"].as_u64().unwrap();
    assert!(creates > 150, "{planned:#}");

    let applied = hris("apply", &manifest, &dir.path().join("apply"));
    assert_eq!(
        applied.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&applied.stdout)
    );
    assert_eq!(
        summary(&dir.path().join("apply"))["counts"]["created"],
        creates
    );

    let again = hris("simulate", &manifest, &dir.path().join("again"));
    assert_eq!(again.status.code(), Some(0));
    let counts = &summary(&dir.path().join("again"))["counts"];
    for name in ["created", "updated", "deactivated", "deleted"] {
        assert_eq!(counts[name], 0, "{name} after apply: {counts:#}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_write_is_reported_with_the_providers_status_and_detail() {
    let emulator = ScimEmulator::start(ScimConfig {
        token: "demo-token".into(),
        ..ScimConfig::default()
    })
    .await
    .unwrap();
    emulator.fail_user("anna.johansson@acme.example", 500);
    let dir = tempfile::tempdir().unwrap();
    let manifest = sample_manifest(dir.path(), &emulator.base_url());
    let out = dir.path().join("out");
    let (manifest, out_dir) = (manifest.clone(), out.clone());
    let applied = tokio::task::spawn_blocking(move || hris("apply", &manifest, &out_dir))
        .await
        .unwrap();
    assert_eq!(
        applied.status.code(),
        Some(1),
        "a failed write fails the run"
    );
    let result = summary(&out);
    assert_eq!(result["result"], "Failed");
    assert_eq!(result["errorCategory"], "TargetUnavailable");
    let errors = std::fs::read_to_string(out.join("errors.csv")).unwrap();
    let row = errors
        .lines()
        .find(|line| line.contains("acme-hris:E1002"))
        .unwrap_or_else(|| panic!("E1002's failure in errors.csv:\n{errors}"));
    assert!(row.contains("status 500"), "{row}");
    // Everyone else was created.
    let created = result["counts"]["created"].as_u64().unwrap();
    assert_eq!(emulator.users().len() as u64, created);
    assert!(created > 150);
}
