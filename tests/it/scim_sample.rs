//! A write the SCIM provider refuses, in the SCIM sample, lands in the report with the
//! provider's status and detail (`tests/it/samples.rs` runs the sample as its comments say).

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

use hris_emulators::scim::{ScimConfig, ScimEmulator};
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
        .arg(repo().join("config/samples/secrets"))
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

fn summary(out: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap()
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
