//! What `simulate`, `apply` and `fields` refuse, through the real binary, and how they say it:
//! each message names the file and what to change, and a refusal comes before anything is
//! written (exit code 2). Also: a report that cannot be written after an apply says the target
//! was changed; `controller` refuses sync Pod settings it cannot use before it starts; a SCIM
//! server that cannot be reached is named by its base URL, and a refused token by the secret it
//! was read from, never by its value.

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

/// The demo's employees into a SCIM target at `base_url`, the token read from
/// `secrets/scim/token`; returns the manifest's path.
fn scim_manifest(dir: &Path, base_url: &str, token: &str) -> PathBuf {
    let secrets = dir.join("secrets").join("scim");
    std::fs::create_dir_all(&secrets).unwrap();
    std::fs::write(secrets.join("token"), token).unwrap();
    write_manifest(
        dir,
        format!(
            "apiVersion: hris-operator.io/v1alpha1\nkind: HrisConnection\nmetadata: {{name: acme}}\n\
             spec:\n  source: {{csv: {{path: employees.csv}}}}\n  target:\n    scim:\n      \
             baseUrl: '{base_url}'\n      credentialsSecretRef: {{name: scim, key: token}}\n      \
             maxTries: 2\n  externalIdPrefix: 'acme:'\n"
        ),
    )
}

fn simulate_with_secrets(dir: &Path, manifest: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hris-operator"))
        .args(["simulate", "-f"])
        .arg(manifest)
        .arg("--secrets-dir")
        .arg(dir.join("secrets"))
        .arg("--out")
        .arg(dir.join("out"))
        .output()
        .unwrap()
}

#[test]
fn an_unreachable_scim_server_is_named_by_its_base_url_without_credentials() {
    let dir = demo_copy();
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let manifest = scim_manifest(
        dir.path(),
        &format!("http://someone:hunter2@127.0.0.1:{port}/scim/v2"),
        "the-token-value",
    );
    let output = simulate_with_secrets(dir.path(), &manifest);
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{message}");
    assert_eq!(
        message,
        format!(
            "error: listing the target failed: TargetUnavailable: cannot reach the SCIM server \
             at http://127.0.0.1:{port}/scim/v2 (request could not connect after 2 tries); check \
             spec.target.scim.baseUrl, and that the server is up and reachable from here\n\
             Nothing was changed in the target.\n"
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_scim_token_names_the_secret_it_came_from_never_the_token() {
    use hris_emulators::scim::{ScimConfig, ScimEmulator};
    let scim = ScimEmulator::start(ScimConfig {
        token: "the-right-token".into(),
        ..ScimConfig::default()
    })
    .await
    .unwrap();
    let dir = demo_copy();
    let manifest = scim_manifest(dir.path(), &scim.base_url(), "a-stale-token-value");
    let output = tokio::task::spawn_blocking({
        let dir = dir.path().to_path_buf();
        move || simulate_with_secrets(&dir, &manifest)
    })
    .await
    .unwrap();
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{message}");
    let file = dir.path().join("secrets/scim/token");
    assert!(
        message.starts_with("error: listing the target failed: CredentialsInvalid (status 401)"),
        "{message}"
    );
    assert!(
        message.contains(&format!(
            "; check the bearer token that spec.target.scim.credentialsSecretRef names, secret \
             scim/token (the file {})\n",
            file.display()
        )),
        "{message}"
    );
    for secret in ["a-stale-token-value", "the-right-token"] {
        assert!(!message.contains(secret), "{secret} in: {message}");
    }
    scim.stop().await;
}
