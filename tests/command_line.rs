//! What `simulate`, `apply` and `fields` refuse, through the real binary, and how they say it:
//! each message names the file and what to change, and a refusal comes before anything is
//! written (exit code 2). Also: a report that cannot be written after an apply says the target
//! was changed, and `controller` refuses sync Pod settings it cannot use before it starts.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

/// A copy of the demo (manifest, employees, directory) in a temporary folder.
fn demo_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/samples/demo");
    for name in ["connection.yaml", "employees.csv", "directory.json"] {
        std::fs::copy(demo.join(name), dir.path().join(name)).unwrap();
    }
    dir
}

fn manifest_text() -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("config/samples/demo/connection.yaml"),
    )
    .unwrap()
}

/// Writes `bytes` as the manifest of the demo copy `dir`; returns its path.
fn write_manifest(dir: &Path, bytes: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join("connection.yaml");
    std::fs::write(&path, bytes).unwrap();
    path
}

fn hris(command: &str, manifest: &Path, out: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hris-operator"))
        .arg(command)
        .arg("-f")
        .arg(manifest)
        .args(["--as-of", "2026-11-22", "--out"])
        .arg(out)
        .output()
        .unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs `simulate` on `manifest` and expects exit code 2 with `expected` in the message.
fn refused(dir: &Path, manifest: &Path, expected: &str) -> String {
    let output = hris("simulate", manifest, &dir.join("out"));
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{message}");
    assert!(
        message.contains(expected),
        "expected `{expected}` in:\n{message}"
    );
    message
}

#[test]
fn two_documents_in_one_file_are_named_as_such() {
    let dir = demo_copy();
    let text = manifest_text();
    let path = write_manifest(dir.path(), format!("{text}\n---\n{text}"));
    let message = refused(
        dir.path(),
        &path,
        "this file holds 2 documents; put one HrisConnection per file",
    );
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(!message.contains("from_str_multiple"), "{message}");
    // An empty document, as a trailing `---` makes, is no document.
    let path = write_manifest(dir.path(), format!("---\n{text}\n---\n"));
    let output = hris("simulate", &path, &dir.path().join("out"));
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let path = write_manifest(dir.path(), "# nothing yet\n");
    refused(dir.path(), &path, "this file holds no YAML document");
}

#[test]
fn a_wrong_api_version_or_kind_says_what_to_set_it_to() {
    let dir = demo_copy();
    let text = manifest_text();
    let path = write_manifest(
        dir.path(),
        text.replace("hris-operator.io/v1alpha1", "hris-operator.io/v1"),
    );
    let message = refused(
        dir.path(),
        &path,
        "apiVersion: is `hris-operator.io/v1`; set it to `hris-operator.io/v1alpha1`",
    );
    assert!(!message.contains("Some("), "{message}");
    let path = write_manifest(
        dir.path(),
        text.replace("apiVersion: hris-operator.io/v1alpha1\n", ""),
    );
    refused(
        dir.path(),
        &path,
        "apiVersion: is missing; set it to `hris-operator.io/v1alpha1`",
    );
    let path = write_manifest(
        dir.path(),
        text.replace("kind: HrisConnection", "kind: [HrisConnection]"),
    );
    refused(
        dir.path(),
        &path,
        "kind: is `[\"HrisConnection\"]`, not text; set it to `HrisConnection`",
    );
}

#[test]
fn a_manifest_that_is_not_utf8_names_the_line() {
    let dir = demo_copy();
    let text = manifest_text();
    // Latin-1 `ö` in a comment on line 3, as an editor saving in Latin-1 writes it.
    let mut bytes = Vec::new();
    for (number, line) in text.lines().enumerate() {
        bytes.extend_from_slice(line.as_bytes());
        if number == 2 {
            bytes.extend_from_slice(b" # Malm\xf6");
        }
        bytes.push(b'\n');
    }
    let path = write_manifest(dir.path(), bytes);
    let message = refused(
        dir.path(),
        &path,
        "is not UTF-8 text (line 3 holds a byte that is not UTF-8): save it as UTF-8",
    );
    assert!(message.contains(&path.display().to_string()), "{message}");
}

#[test]
fn a_missing_manifest_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("conection.yaml");
    for command in ["simulate", "apply"] {
        let output = hris(command, &missing, &dir.path().join("out"));
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{command}: {message}");
        assert!(
            message.contains(&format!("cannot read {}", missing.display())),
            "{message}"
        );
    }
    let output = Command::new(env!("CARGO_BIN_EXE_hris-operator"))
        .args(["fields", "-f"])
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
}

/// The controller reads the sync Pod settings (the chart's `sync.pod`) before it contacts the
/// cluster, and stops at once, naming the field, when they would fail every Job.
#[test]
fn the_controller_refuses_sync_pod_settings_it_cannot_use_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let settings = dir.path().join("sync-pod.yaml");
    let cases = [
        (
            "{tolerations: [{key: dedicated, operator: Equals}]}",
            "tolerations[0]: operator `Equals` is not Exists or Equal",
        ),
        (
            "{env: [{name: HTTPS_PROXY, value: 'http://proxy:3128'}], nodeSelectr: {a: b}}",
            "nodeSelectr: is not a field here",
        ),
        ("{env: [{value: x}]}", "env[0].name: is required"),
    ];
    for (text, expected) in cases {
        std::fs::write(&settings, text).unwrap();
        let output = Command::new(env!("CARGO_BIN_EXE_hris-operator"))
            .args(["controller", "--sync-pod-settings"])
            .arg(&settings)
            .env("KUBECONFIG", dir.path().join("no-kubeconfig"))
            .output()
            .unwrap();
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{text}: {message}");
        assert!(
            message.contains(&format!("--sync-pod-settings {}", settings.display()))
                && message.contains(expected),
            "expected `{expected}` in:\n{message}"
        );
    }
    let output = Command::new(env!("CARGO_BIN_EXE_hris-operator"))
        .args(["controller", "--sync-pod-settings"])
        .arg(dir.path().join("missing.yaml"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("cannot read it"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn apply_refuses_a_deactivated_connection_and_simulate_still_plans_it() {
    let dir = demo_copy();
    let path = write_manifest(
        dir.path(),
        manifest_text().replace("mode: Simulate", "mode: Deactivated"),
    );
    let before = std::fs::read(dir.path().join("directory.json")).unwrap();
    let output = hris("apply", &path, &dir.path().join("out"));
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{message}");
    assert!(
        message.contains("spec.mode is Deactivated, which runs nothing")
            && message.contains("set spec.mode to Active"),
        "{message}"
    );
    assert_eq!(
        std::fs::read(dir.path().join("directory.json")).unwrap(),
        before
    );
    assert!(
        !dir.path().join("out").exists(),
        "no report of a refused run"
    );
    let output = hris("simulate", &path, &dir.path().join("out"));
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

#[test]
fn an_unwritable_out_is_refused_before_the_target_is_touched() {
    let dir = demo_copy();
    let path = dir.path().join("connection.yaml");
    let before = std::fs::read(dir.path().join("directory.json")).unwrap();
    // A folder inside a file cannot be made, whoever runs the test (root included).
    let blocker = dir.path().join("reports");
    std::fs::write(&blocker, "").unwrap();
    let out = blocker.join("today");
    let output = hris("apply", &path, &out);
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{message}");
    assert!(
        message.contains(&format!(
            "cannot write the report files to {}",
            out.display()
        )),
        "{message}"
    );
    assert!(
        message.contains("Nothing was changed in the target"),
        "{message}"
    );
    assert_eq!(
        std::fs::read(dir.path().join("directory.json")).unwrap(),
        before
    );

    // A report file that cannot be replaced (here a folder of its name) is found first too.
    let out = dir.path().join("out");
    std::fs::create_dir_all(out.join("deleted.csv")).unwrap();
    let output = hris("apply", &path, &out);
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{message}");
    assert!(
        message.contains(&format!(
            "cannot write the report files to {}",
            out.join("deleted.csv").display()
        )),
        "{message}"
    );
    assert_eq!(
        std::fs::read(dir.path().join("directory.json")).unwrap(),
        before
    );
}

#[test]
fn reports_that_fail_after_an_apply_say_the_target_was_changed() {
    let dir = demo_copy();
    // The directory lives where summary.json is to be written: the check before the run finds
    // nothing there, the apply makes the folder, and the last report file then cannot be
    // written (as when a disk fills up during the run).
    let path = write_manifest(
        dir.path(),
        manifest_text().replace(
            "file: {path: directory.json}",
            "file: {path: out/summary.json/directory.json}",
        ),
    );
    let output = hris("apply", &path, &dir.path().join("out"));
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{message}");
    assert!(
        message.contains("cannot write the reports to")
            && message.contains("The target WAS changed: ")
            && message.contains("changes were written before the reports failed"),
        "{message}"
    );
    assert!(!message.contains("Nothing was changed"), "{message}");
    // The table is then the only record, so it is printed.
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("Result: "), "{stdout}");
    assert!(
        dir.path().join("out/summary.json/directory.json").is_file(),
        "the apply wrote its users"
    );
}
