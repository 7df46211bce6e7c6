//! The CRD: the committed file matches the binary's output, and an invalid manifest is refused
//! both by `simulate` (exit 2, naming the field) and by the CRD schema (its OpenAPI constraints
//! and its CEL rules, evaluated client-side the way an API server evaluates them).

#[path = "crd/cel_cost.rs"]
mod cel_cost;

use std::process::Command;

use hris_operator::crd::{HrisConnection, crd_yaml};
use kube::CustomResourceExt;
use serde_json::{Value, json};

#[test]
fn committed_crd_matches_the_generated_one() {
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/crds/hrisconnection.yaml"
    ))
    .expect("crds/hrisconnection.yaml exists");
    assert!(
        committed == crd_yaml(),
        "crds/hrisconnection.yaml is stale: run `cargo run -- crd > crds/hrisconnection.yaml`"
    );
    for copy in [
        "charts/hris-operator/crds/hrisconnection.yaml",
        "config/crd/hrisconnection.yaml",
    ] {
        let text = std::fs::read_to_string(format!("{}/{copy}", env!("CARGO_MANIFEST_DIR")))
            .unwrap_or_else(|e| panic!("{copy}: {e}"));
        assert!(
            text == committed,
            "{copy} differs from crds/hrisconnection.yaml: copy it over"
        );
    }
    let output = Command::new(env!("CARGO_BIN_EXE_hris-operator"))
        .arg("crd")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(output.stdout).unwrap(), committed);
}

#[test]
fn crd_names_and_printer_columns() {
    let crd = HrisConnection::crd();
    assert_eq!(
        crd.metadata.name.as_deref(),
        Some("hrisconnections.hris-operator.io")
    );
    assert_eq!(crd.spec.scope, "Namespaced");
    assert_eq!(
        crd.spec.names.short_names,
        Some(vec!["hrisconn".to_owned(), "hc".to_owned()])
    );
    let version = &crd.spec.versions[0];
    let columns: Vec<_> = version
        .additional_printer_columns
        .as_ref()
        .unwrap()
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(
        columns,
        [
            "Mode",
            "Ready",
            "Last Run",
            "Result",
            "Last Run Kind",
            "Next Run",
            "Age"
        ]
    );
    assert!(version.subresources.as_ref().unwrap().status.is_some());
}

/// The value a printer column's JSONPath selects: `.a.b` steps and `[?(@.key=="value")]`
/// filters (the first match), which is all the CRD's columns use.
fn select<'a>(path: &str, object: &'a Value) -> Option<&'a Value> {
    let mut current = object;
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(filter) = rest.strip_prefix("[?(@.") {
            let end = filter.find(")]").expect("a closed filter");
            let (key, wanted) = filter[..end].split_once("==").expect("an equality filter");
            let wanted: Value = serde_json::from_str(wanted).unwrap();
            current = current
                .as_array()?
                .iter()
                .find(|item| item[key] == wanted)?;
            rest = &filter[end + 2..];
        } else {
            let step = rest.strip_prefix('.').expect("a step starts with a dot");
            let end = step.find(['.', '[']).unwrap_or(step.len());
            current = current.get(&step[..end])?;
            rest = &step[end..];
        }
    }
    Some(current)
}

/// What `kubectl get` prints for a column's value: `<none>` for nothing, a `date` as the time
/// since it (and `<invalid>` for a time still to come), anything else as it is.
fn render(column_type: &str, value: Option<&Value>, now: jiff::Timestamp) -> String {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return "<none>".into();
    };
    let text = match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    if column_type != "date" {
        return text;
    }
    let at: jiff::Timestamp = text.parse().expect("a date column holds a time");
    let seconds = now.as_second() - at.as_second();
    match seconds {
        ..-1 => "<invalid>".into(),
        -1..120 => format!("{}s", seconds.max(0)),
        120..7_200 => format!("{}m", seconds / 60),
        7_200..172_800 => format!("{}h", seconds / 3_600),
        _ => format!("{}d", seconds / 86_400),
    }
}

/// The columns `kubectl get hc -o wide` prints for a connection, by column name.
fn printed(connection: &Value, now: jiff::Timestamp) -> Vec<(String, String)> {
    let crd = HrisConnection::crd();
    crd.spec.versions[0]
        .additional_printer_columns
        .as_ref()
        .unwrap()
        .iter()
        .map(|column| {
            (
                column.name.clone(),
                render(&column.type_, select(&column.json_path, connection), now),
            )
        })
        .collect()
}

/// A finished run as the controller records it.
fn record(
    status: &mut hris_operator::crd::HrisConnectionStatus,
    kind: hris_operator::sync::report::RunMode,
    result: hris_operator::sync::report::RunResult,
    at: &str,
) {
    use hris_operator::{
        controller::status::{Finished, record_run},
        sync::report::{RunMode, Summary},
    };
    let summary = Summary {
        connection: "people/acme".into(),
        mode: RunMode::Simulate,
        as_of: "2026-11-22".into(),
        result,
        counts: Default::default(),
        plan_hash: "9e61cd5df81596e3d99e".into(),
        safeguard: None,
        source_employees: 10,
        target_users: 8,
        managed_users: 8,
        sample: Vec::new(),
        error_category: None,
        seats: None,
        license_failures: 0,
        failures: Default::default(),
        notifications: None,
    };
    let finished = Finished {
        kind,
        job_name: "acme-run".into(),
        started_at: None,
        finished_at: at.parse().unwrap(),
        summary: Some(summary),
        failure: None,
        report: None,
    };
    record_run(status, &finished, 1);
}

fn with_status(mode: &str, status: &hris_operator::crd::HrisConnectionStatus) -> Value {
    let mut connection = valid();
    connection["spec"]["mode"] = json!(mode);
    connection["metadata"]["creationTimestamp"] = json!("2026-11-01T00:00:00Z");
    connection["status"] = serde_json::to_value(status).unwrap();
    connection["status"]["nextSyncTime"] = json!("2026-11-23T03:00:00Z");
    connection
}

#[test]
fn printer_columns_show_the_last_run_of_either_kind_and_the_next_run_as_a_time() {
    use hris_operator::{
        crd::HrisConnectionStatus,
        sync::report::{RunMode, RunResult},
    };
    let now: jiff::Timestamp = "2026-11-22T10:05:00Z".parse().unwrap();
    let columns = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect()
    };

    // A Simulate connection only ever simulates: its columns show the simulation.
    let mut simulated = HrisConnectionStatus::default();
    record(
        &mut simulated,
        RunMode::Simulate,
        RunResult::Succeeded,
        "2026-11-22T02:05:00Z",
    );
    assert!(simulated.last_sync.is_none());
    assert_eq!(
        printed(&with_status("Simulate", &simulated), now),
        columns(&[
            ("Mode", "Simulate"),
            ("Ready", "True"),
            ("Last Run", "8h"),
            ("Result", "Succeeded"),
            ("Last Run Kind", "Simulate"),
            ("Next Run", "2026-11-23T03:00:00Z"),
            ("Age", "21d"),
        ])
    );

    // An Active connection that synced, then simulated (a requested simulation, or one
    // awaiting approval): the later run is the one shown, whatever its kind.
    let mut active = HrisConnectionStatus::default();
    record(
        &mut active,
        RunMode::Apply,
        RunResult::Succeeded,
        "2026-11-22T02:05:00Z",
    );
    record(
        &mut active,
        RunMode::Simulate,
        RunResult::Withheld,
        "2026-11-22T09:35:00Z",
    );
    assert_eq!(
        printed(&with_status("Active", &active), now),
        columns(&[
            ("Mode", "Active"),
            ("Ready", "True"),
            ("Last Run", "30m"),
            ("Result", "Withheld"),
            ("Last Run Kind", "Simulate"),
            ("Next Run", "2026-11-23T03:00:00Z"),
            ("Age", "21d"),
        ])
    );
    record(
        &mut active,
        RunMode::Apply,
        RunResult::Failed,
        "2026-11-22T10:00:00Z",
    );
    let shown = printed(&with_status("Active", &active), now);
    assert_eq!(
        shown[2..5],
        columns(&[
            ("Last Run", "5m"),
            ("Result", "Failed"),
            ("Last Run Kind", "Apply")
        ])
    );
}

#[test]
fn the_root_description_says_what_an_hrisconnection_is() {
    let schema = openapi_schema();
    let description = schema["description"].as_str().unwrap();
    assert!(
        description.starts_with("An HrisConnection mirrors the people of one HR system")
            && !description.contains("Auto-generated"),
        "{description}"
    );
}

#[test]
fn the_phase_description_lists_exactly_the_phases_the_controller_sets() {
    use hris_operator::crd::Phase;
    let schema = openapi_schema();
    let description = schema["properties"]["status"]["properties"]["phase"]["description"]
        .as_str()
        .unwrap();
    let named: Vec<&str> = description.split('`').skip(1).step_by(2).collect();
    let phases: Vec<&str> = Phase::ALL.iter().map(|phase| phase.as_str()).collect();
    assert_eq!(named, phases, "{description}");

    // The controller sets the phase only through `Phase`, so the list above is every value.
    let mut stack = vec![std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src"
    ))];
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        if path.ends_with("src/crd/status.rs") || path.extension() != Some("rs".as_ref()) {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (number, line) in text.lines().enumerate() {
            assert!(
                !line.contains("phase = Some(") && !line.contains("\"phase\": \""),
                "{}:{}: set the phase with HrisConnectionStatus::set_phase: {line}",
                path.display(),
                number + 1
            );
        }
    }
}

/// A manifest that is valid, used as the base of every invalid variant.
fn valid() -> Value {
    json!({
        "apiVersion": "hris-operator.io/v1alpha1",
        "kind": "HrisConnection",
        "metadata": {"name": "acme", "namespace": "people"},
        "spec": {
            "mode": "Simulate",
            "source": {"csv": {"path": "employees.csv"}},
            "target": {"file": {"path": "directory.json"}},
            "externalIdPrefix": "acme:",
            "filters": [
                {"field": "department", "operator": "Exclude", "values": ["Contractors"]},
                {"field": "startDate", "operator": "OnOrBefore", "date": "2026-12-31"}
            ],
            "lifecycle": {
                "activation": {"afterStartMonths": 1},
                "removal": {"policy": "AfterMonths", "months": 6}
            },
            "safeguards": {"maxDeletePercent": 30},
            "schedule": {"cron": "0 3 * * *", "timeZone": "Europe/Stockholm"}
        }
    })
}

/// A valid `microsoftGraph` target with `extra` fields merged in.
fn graph_target(extra: Value) -> Value {
    let mut graph = json!({
        "tenantId": "contoso.onmicrosoft.com",
        "clientId": "11111111-2222-3333-4444-555555555555",
        "clientSecretSecretRef": {"name": "graph", "key": "clientSecret"},
        "userPrincipalNameTemplate": "{firstName}.{lastName}@contoso.com",
        "usageLocation": "SE"
    });
    for (key, value) in extra.as_object().unwrap() {
        graph[key] = value.clone();
    }
    json!({ "microsoftGraph": graph })
}

/// A valid `googleWorkspace` target with `extra` fields merged in.
fn google_target(extra: Value) -> Value {
    let mut google = json!({
        "serviceAccountKeySecretRef": {"name": "google", "key": "key.json"},
        "adminEmail": "admin@acme.example",
        "orgUnitPath": "/Staff"
    });
    for (key, value) in extra.as_object().unwrap() {
        google[key] = value.clone();
    }
    json!({ "googleWorkspace": google })
}

fn with(path: &[&str], value: Value) -> Value {
    let mut manifest = valid();
    let (last, parents) = path.split_last().unwrap();
    let pointer: String = parents.iter().map(|p| format!("/{p}")).collect();
    let parent = manifest.pointer_mut(&pointer).expect("the path exists");
    match last.parse::<usize>() {
        Ok(index) => parent[index] = value,
        Err(_) => parent[*last] = value,
    }
    manifest
}

/// Every invalid variant: the manifest, and what `simulate` must name.
fn invalid_cases() -> Vec<(&'static str, Value, &'static str)> {
    vec![
        (
            "unknown enum value",
            with(&["spec", "mode"], json!("Simulated")),
            "spec.mode: unknown variant `Simulated`, expected one of `Simulate`, `Active`, `Deactivated`",
        ),
        (
            "two source keys",
            with(
                &["spec", "source"],
                json!({"csv": {"path": "a.csv"}, "file": {"path": "b.json"}}),
            ),
            "spec.source: has 2 keys (csv, file); set exactly one",
        ),
        (
            "no target key",
            with(&["spec", "target"], json!({})),
            "spec.target: has 0 keys",
        ),
        (
            "negative months",
            with(
                &["spec", "lifecycle", "activation", "afterStartMonths"],
                json!(-1),
            ),
            "spec.lifecycle.activation.afterStartMonths: invalid value: integer `-1`, expected a whole number, 0 or more",
        ),
        (
            "malformed date",
            with(&["spec", "filters", "1", "date"], json!("2026-02-30")),
            "spec.filters[1].date: `2026-02-30` is not a calendar date",
        ),
        (
            "percent over 100",
            with(&["spec", "safeguards", "maxDeletePercent"], json!(101)),
            "spec.safeguards.maxDeletePercent: 101 is not a percentage",
        ),
        (
            "date filter with values",
            with(&["spec", "filters", "1", "values"], json!(["x"])),
            "spec.filters[1].values: a OnOrBefore filter compares one date",
        ),
        (
            "include filter without values",
            with(
                &["spec", "filters", "0"],
                json!({"field": "department", "operator": "Include"}),
            ),
            "spec.filters[0].values: an Include filter needs at least one value",
        ),
        (
            "removal months without AfterMonths",
            with(
                &["spec", "lifecycle", "removal"],
                json!({"policy": "Never", "months": 2}),
            ),
            "spec.lifecycle.removal.months: months applies only to policy AfterMonths",
        ),
        (
            "empty prefix",
            with(&["spec", "externalIdPrefix"], json!("")),
            "spec.externalIdPrefix: must not be empty",
        ),
        (
            "history limit over 10",
            with(&["spec", "historyLimits"], json!({"successful": 11})),
            "spec.historyLimits.successful: 11 is more than 10",
        ),
        (
            "file path longer than any file system takes",
            with(
                &["spec", "target"],
                json!({"file": {"path": "x".repeat(4097)}}),
            ),
            "spec.target.file.path: is 4097 characters long; at most 4096",
        ),
        (
            "more filter values than the schema allows",
            with(&["spec", "filters", "0", "values"], json!(vec!["x"; 1001])),
            "spec.filters[0].values: has 1001 items; at most 1000",
        ),
        (
            "startAt with cron",
            with(&["spec", "schedule", "startAt"], json!("02:00")),
            "spec.schedule.startAt: startAt anchors an interval and does not apply to cron",
        ),
        (
            "startAt without an interval",
            with(
                &["spec", "schedule"],
                json!({"startAt": "02:00", "timeZone": "Europe/Amsterdam"}),
            ),
            "spec.schedule.startAt: needs an interval to anchor; set interval, such as 6h",
        ),
        (
            "startAt of one hour digit",
            with(
                &["spec", "schedule"],
                json!({"interval": "6h", "startAt": "2:00", "timeZone": "Europe/Amsterdam"}),
            ),
            "spec.schedule.startAt: `2:00` is not a time of day or a date and time; write HH:MM such as 02:00, or YYYY-MM-DDTHH:MM such as 2026-01-05T02:00",
        ),
        (
            "startAt at 25 o'clock",
            with(
                &["spec", "schedule"],
                json!({"interval": "6h", "startAt": "2026-12-01T25:00"}),
            ),
            "spec.schedule.startAt: `2026-12-01T25:00` is not a time of day or a date and time",
        ),
        (
            "time-of-day startAt every two days",
            with(
                &["spec", "schedule"],
                json!({"interval": "48h", "startAt": "02:00"}),
            ),
            "spec.schedule.startAt: `02:00` is a time of day, where the count starts again every day, so interval must be 24h or less",
        ),
        (
            "malformed cron",
            with(&["spec", "schedule", "cron"], json!("every night")),
            "spec.schedule.cron: `every night` is not a cron expression",
        ),
        (
            "unknown UPN placeholder",
            with(
                &["spec", "target"],
                graph_target(json!({"userPrincipalNameTemplate": "{mail}@contoso.com"})),
            ),
            "spec.target.microsoftGraph.userPrincipalNameTemplate: `{mail}` is not a placeholder; use {email}, {emailLocal}, {firstName}, {lastName}, {firstInitial}",
        ),
        (
            "UPN template with two @",
            with(
                &["spec", "target"],
                graph_target(json!({"userPrincipalNameTemplate": "{email}@contoso.com"})),
            ),
            "spec.target.microsoftGraph.userPrincipalNameTemplate: `{email}@contoso.com` must yield exactly one @",
        ),
        (
            "Graph batch over 20",
            with(&["spec", "target"], graph_target(json!({"batchSize": 21}))),
            "spec.target.microsoftGraph.batchSize: 21 is not between 1 and 20",
        ),
        (
            "extension attribute 16",
            with(
                &["spec", "target"],
                graph_target(json!({"externalIdExtensionAttribute": 16})),
            ),
            "spec.target.microsoftGraph.externalIdExtensionAttribute: 16 is not between 1 and 15",
        ),
        (
            "Google admin without @",
            with(
                &["spec", "target"],
                google_target(json!({"adminEmail": "admin"})),
            ),
            "spec.target.googleWorkspace.adminEmail: must be the email address of a Workspace administrator",
        ),
        (
            "Google org unit without /",
            with(
                &["spec", "target"],
                google_target(json!({"orgUnitPath": "Staff"})),
            ),
            "spec.target.googleWorkspace.orgUnitPath: `Staff` must start with /",
        ),
        (
            "cron and interval",
            with(&["spec", "schedule", "interval"], json!("24h")),
            "spec.schedule: set cron or interval, not both",
        ),
        (
            "csv with a path and a configMapRef",
            with(
                &["spec", "source"],
                json!({"csv": {"path": "a.csv", "configMapRef": {"name": "people", "key": "e.csv"}}}),
            ),
            "spec.source.csv: set exactly one of path, configMapRef, secretRef",
        ),
        (
            "csv with no input",
            with(&["spec", "source"], json!({"csv": {"delimiter": ";"}})),
            "spec.source.csv: set exactly one of path, configMapRef, secretRef",
        ),
        (
            "merge rate of zero",
            with(
                &["spec", "source"],
                json!({"merge": {
                    "apiKeySecretRef": {"name": "merge", "key": "apiKey"},
                    "accountTokenSecretRef": {"name": "merge", "key": "accountToken"},
                    "requestsPerSecond": 0
                }}),
            ),
            "spec.source.merge.requestsPerSecond: 0 is too low",
        ),
        (
            "scim rate of zero",
            with(
                &["spec", "target"],
                json!({"scim": {
                    "baseUrl": "https://scim.example/v2",
                    "credentialsSecretRef": {"name": "scim", "key": "token"},
                    "requestsPerSecond": 0
                }}),
            ),
            "spec.target.scim.requestsPerSecond: 0 is too low; use at least 0.001",
        ),
        (
            "Graph writes rate of zero",
            with(
                &["spec", "target"],
                graph_target(json!({"writesPerSecond": 0})),
            ),
            "spec.target.microsoftGraph.writesPerSecond: 0 is out of range; use 0.01 to 1000",
        ),
        (
            "Google rate over 1000",
            with(
                &["spec", "target"],
                google_target(json!({"requestsPerSecond": 1001})),
            ),
            "spec.target.googleWorkspace.requestsPerSecond: 1001 is out of range; use 0.01 to 1000",
        ),
        (
            "afas without tries",
            with(
                &["spec", "source"],
                json!({"afas": {
                    "environmentId": "12345", "getConnector": "HrisEmployees",
                    "tokenSecretRef": {"name": "afas", "key": "token"}, "maxTries": 0
                }}),
            ),
            "spec.source.afas.maxTries: 0 is out of range; use 1 to 20",
        ),
        (
            "hiBob timeout over 600",
            with(
                &["spec", "source"],
                json!({"hiBob": {
                    "serviceUserId": "SERVICE-1",
                    "tokenSecretRef": {"name": "hibob", "key": "token"}, "timeoutSeconds": 601
                }}),
            ),
            "spec.source.hiBob.timeoutSeconds: 601 is out of range; use 1 to 600",
        ),
        (
            "bambooHr without companyDomain",
            with(
                &["spec", "source"],
                json!({"bambooHr": {"credentialsSecretRef": {"name": "bamboo", "key": "apiKey"}}}),
            ),
            "spec.source.bambooHr: missing field `companyDomain`",
        ),
        (
            "csv date format with an unknown token",
            with(
                &["spec", "source"],
                json!({"csv": {"path": "employees.csv", "dateFormats": ["MM/DD/YYYY", "DD.MM.YY"]}}),
            ),
            "spec.source.csv.dateFormats[1]: `YY` is not a token of `DD.MM.YY`; use YYYY, MM, M, DD, D (upper case)",
        ),
        (
            "csv encoding that is none",
            with(
                &["spec", "source"],
                json!({"csv": {"path": "employees.csv", "encoding": "UTF8"}}),
            ),
            "unknown variant `UTF8`, expected one of `UTF-8`, `UTF-16`, `Windows-1252`, `ISO-8859-1`",
        ),
        (
            "workday status value that is no status",
            with(
                &["spec", "source"],
                json!({"workday": {
                    "host": "wd.example", "tenant": "acme", "reportOwner": "isu",
                    "reportName": "workers", "username": "isu",
                    "passwordSecretRef": {"name": "workday", "key": "password"},
                    "fieldMap": {"statusValues": {"Terminated": "Gone"}}
                }}),
            ),
            "unknown variant `Gone`, expected one of `Active`, `Pending`, `Leave`, `Inactive`",
        ),
        (
            "a notification channel of two kinds",
            with(
                &["spec", "notifications"],
                json!([{
                    "slack": {"webhookUrlSecretRef": {"name": "hooks", "key": "slack"}},
                    "webhook": {"urlSecretRef": {"name": "hooks", "key": "events"}}
                }]),
            ),
            "spec.notifications[0]: has 2 of slack, msTeams, webhook, email; set exactly one",
        ),
        (
            "a notification event that is none",
            with(
                &["spec", "notifications"],
                json!([{"email": {"smtp": {"host": "smtp.acme.example"},
                                  "from": "hris@acme.example", "to": ["hr@acme.example"]},
                        "events": ["SyncFinished"]}]),
            ),
            "unknown variant `SyncFinished`, expected one of `SimulationReady`, `SyncSucceeded`",
        ),
    ]
}

fn simulate(manifest: &Value) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("connection.yaml");
    std::fs::write(&path, serde_json::to_string_pretty(manifest).unwrap()).unwrap();
    std::fs::write(
        dir.path().join("employees.csv"),
        "id,firstName,lastName,employmentStatus\n",
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_hris-operator"))
        .args(["simulate", "-f"])
        .arg(&path)
        .arg("--out")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn simulate_refuses_each_invalid_manifest_with_one_clear_message() {
    let (code, stderr) = simulate(&valid());
    assert_eq!(code, Some(0), "the valid manifest runs: {stderr}");
    for (name, manifest, expected) in invalid_cases() {
        let (code, stderr) = simulate(&manifest);
        assert_eq!(code, Some(2), "{name}: exit code 2, got {code:?}: {stderr}");
        assert!(
            stderr.contains(expected),
            "{name}: expected `{expected}` in:\n{stderr}"
        );
    }
}

#[test]
fn simulate_refuses_misspelt_fields_and_wrong_kinds() {
    let (code, stderr) = simulate(&with(&["spec", "lifecyle"], json!({})));
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("spec.lifecyle: is not a field of HrisConnection"),
        "{stderr}"
    );
    let (code, stderr) = simulate(&with(&["kind"], json!("Connection")));
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("kind: is `Connection`; set it to `HrisConnection`"),
        "{stderr}"
    );
    let (code, stderr) = simulate(&with(
        &["spec", "schedule", "timeZone"],
        json!("Mars/Olympus"),
    ));
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("spec.schedule.timeZone: `Mars/Olympus` is not an IANA time zone"),
        "{stderr}"
    );
}

fn openapi_schema() -> Value {
    let crd = HrisConnection::crd();
    serde_json::to_value(
        crd.spec.versions[0]
            .schema
            .as_ref()
            .unwrap()
            .open_api_v3_schema
            .as_ref()
            .unwrap(),
    )
    .unwrap()
}

/// The schema's OpenAPI constraints (the subset this CRD uses), as the API server applies them.
fn structural_errors(schema: &Value, value: &Value, path: &str, errors: &mut Vec<String>) {
    if value.is_null() {
        if schema["nullable"] != json!(true) {
            errors.push(format!("{path}: null"));
        }
        return;
    }
    let type_ok = match schema["type"].as_str() {
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("string") => value.is_string(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("number") => value.is_number(),
        Some("boolean") => value.is_boolean(),
        _ => true,
    };
    if !type_ok {
        errors.push(format!("{path}: wrong type"));
        return;
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        errors.push(format!("{path}: not one of the enum values"));
    }
    if let (Some(min), Some(n)) = (schema["minimum"].as_f64(), value.as_f64())
        && n < min
    {
        errors.push(format!("{path}: below minimum"));
    }
    if let (Some(max), Some(n)) = (schema["maximum"].as_f64(), value.as_f64())
        && n > max
    {
        errors.push(format!("{path}: above maximum"));
    }
    if let Some(text) = value.as_str() {
        let length = text.chars().count() as u64;
        if schema["minLength"].as_u64().is_some_and(|m| length < m) {
            errors.push(format!("{path}: too short"));
        }
        if schema["maxLength"].as_u64().is_some_and(|m| length > m) {
            errors.push(format!("{path}: too long"));
        }
        if schema["format"] == json!("date") && text.parse::<jiff::civil::Date>().is_err() {
            errors.push(format!("{path}: not a date"));
        }
    }
    if let (Some(max), Some(items)) = (schema["maxItems"].as_u64(), value.as_array())
        && items.len() as u64 > max
    {
        errors.push(format!("{path}: more than {max} items"));
    }
    if let (Some(max), Some(entries)) = (schema["maxProperties"].as_u64(), value.as_object())
        && entries.len() as u64 > max
    {
        errors.push(format!("{path}: more than {max} entries"));
    }
    if let Some(object) = value.as_object() {
        for required in schema["required"].as_array().into_iter().flatten() {
            if !object.contains_key(required.as_str().unwrap()) {
                errors.push(format!("{path}.{}: required", required.as_str().unwrap()));
            }
        }
        if let Some(one_of) = schema["oneOf"].as_array() {
            let matching = one_of
                .iter()
                .filter(|branch| {
                    branch["required"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .all(|key| object.contains_key(key.as_str().unwrap()))
                })
                .count();
            if matching != 1 {
                errors.push(format!("{path}: matches {matching} oneOf branches"));
            }
        }
        for (key, child) in object {
            let child_schema = schema["properties"]
                .get(key)
                .or_else(|| schema.get("additionalProperties").filter(|s| s.is_object()));
            if let Some(child_schema) = child_schema {
                structural_errors(child_schema, child, &format!("{path}.{key}"), errors);
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (index, item) in array.iter().enumerate() {
            structural_errors(items, item, &format!("{path}[{index}]"), errors);
        }
    }
}

/// Every reason the CRD schema refuses the object: OpenAPI constraints, then CEL rules.
fn schema_rejections(manifest: &Value) -> Vec<String> {
    let schema = openapi_schema();
    let mut errors = Vec::new();
    structural_errors(&schema, manifest, "", &mut errors);
    if errors.is_empty()
        && let Err(cel) = kube::core::cel::Validator::new().validate(&schema, manifest, None)
    {
        errors.push(cel.to_string());
    }
    errors
}

#[test]
fn the_crd_schema_refuses_the_same_manifests() {
    assert_eq!(schema_rejections(&valid()), Vec::<String>::new());
    for (name, manifest, _) in invalid_cases() {
        if name == "malformed date" {
            // `format: date` is what refuses it at the API server.
            let errors = schema_rejections(&manifest);
            assert_eq!(errors, vec![".spec.filters[1].date: not a date"], "{name}");
            continue;
        }
        let errors = schema_rejections(&manifest);
        assert!(!errors.is_empty(), "{name}: the CRD schema accepted it");
    }
}

#[test]
fn cel_rules_carry_readable_messages() {
    let two_keys = with(
        &["spec", "source"],
        json!({"csv": {"path": "a.csv"}, "file": {"path": "b.json"}}),
    );
    let schema = openapi_schema();
    let error = kube::core::cel::Validator::new()
        .validate(&schema, &two_keys, None)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("source must have exactly one key"),
        "{error}"
    );
    let no_values = with(
        &["spec", "filters", "0"],
        json!({"field": "department", "operator": "Include"}),
    );
    let error = kube::core::cel::Validator::new()
        .validate(&schema, &no_values, None)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("Include and Exclude filters take a non-empty values list"),
        "{error}"
    );
    let two_inputs = with(
        &["spec", "source"],
        json!({"csv": {"path": "a.csv", "secretRef": {"name": "people", "key": "e.csv"}}}),
    );
    let error = kube::core::cel::Validator::new()
        .validate(&schema, &two_inputs, None)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("csv takes exactly one of path, configMapRef, secretRef"),
        "{error}"
    );
    for format in ["DD.MM.YY", "%m/%d/%Y", "MM/DD", "MMM D, YYYY", "YYYYYYYY"] {
        let bad_format = with(
            &["spec", "source"],
            json!({"csv": {"path": "a.csv", "dateFormats": ["YYYY-MM-DD", format]}}),
        );
        let error = kube::core::cel::Validator::new()
            .validate(&schema, &bad_format, None)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("dateFormats take the tokens YYYY, MM, M, DD and D"),
            "{format}: {error}"
        );
    }
}

#[test]
fn the_crd_schema_accepts_every_source() {
    let secret = |name: &str| json!({"name": name, "key": "k"});
    for source in [
        json!({"csv": {"secretRef": secret("people")}}),
        json!({"csv": {"configMapRef": secret("people")}}),
        json!({"csv": {"secretRef": secret("people"), "encoding": "Windows-1252",
                       "dateFormats": ["DD.MM.YYYY", "D.M.YYYY", "M/D/YYYY", "YYYYMMDD", "DD-MM-YYYY"],
                       "fieldMap": {"id": "Personalnummer", "customFields": {"costCenter": "Kostenstelle"},
                                    "statusValues": {"Ausgetreten": "Inactive"}}}}),
        json!({"merge": {"apiKeySecretRef": secret("m"), "accountTokenSecretRef": secret("m")}}),
        json!({"bambooHr": {"companyDomain": "acme", "credentialsSecretRef": secret("b")}}),
        json!({"personio": {"clientIdSecretRef": secret("p"), "clientSecretSecretRef": secret("p")}}),
        json!({"hiBob": {"serviceUserId": "S", "tokenSecretRef": secret("h")}}),
        json!({"afas": {"environmentId": "1", "getConnector": "C", "tokenSecretRef": secret("a"),
                        "fieldMap": {"statusValues": {"Uit dienst": "Inactive"}}}}),
        json!({"workday": {"host": "h", "tenant": "t", "reportOwner": "o", "reportName": "r",
                           "username": "u", "passwordSecretRef": secret("w")}}),
        graph_source(json!({"allUsers": true})),
        slack_source(json!({"allMembers": true})),
    ] {
        let manifest = with(&["spec", "source"], source.clone());
        assert_eq!(
            schema_rejections(&manifest),
            Vec::<String>::new(),
            "{source}"
        );
    }
}

#[test]
fn source_samples_are_valid_manifests() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/config/samples/sources");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        hris_operator::manifest::Manifest::parse(&text, path.parent().unwrap().to_path_buf())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let manifest: Value = serde_saphyr::from_str(&text).unwrap();
        assert_eq!(
            schema_rejections(&manifest),
            Vec::<String>::new(),
            "{}",
            path.display()
        );
        let source = manifest["spec"]["source"].as_object().unwrap();
        names.push(source.keys().next().unwrap().clone());
    }
    names.sort();
    assert_eq!(
        names,
        [
            "afas",
            "bambooHr",
            "csv",
            "csv",
            "csv",
            "googleWorkspace",
            "hiBob",
            "merge",
            "microsoftGraph",
            "personio",
            "slack",
            "workday"
        ]
    );
}

#[test]
fn directory_targets_pass_the_schema_and_bad_ones_get_readable_cel_messages() {
    for target in [
        graph_target(json!({})),
        graph_target(json!({"userPrincipalNameTemplate": "{email}"})),
        graph_target(json!({"userPrincipalNameTemplate": "{firstInitial}{lastName}@c.example"})),
        google_target(json!({})),
    ] {
        let manifest = with(&["spec", "target"], target.clone());
        assert_eq!(
            schema_rejections(&manifest),
            Vec::<String>::new(),
            "{target}"
        );
    }
    let schema = openapi_schema();
    let cel = |manifest: &Value| {
        kube::core::cel::Validator::new()
            .validate(&schema, manifest, None)
            .unwrap_err()
            .to_string()
    };
    for template in [
        "{mail}@contoso.com",
        "{email}@contoso.com",
        "{firstName}.{lastName}",
        "user@contoso.com",
    ] {
        let error = cel(&with(
            &["spec", "target"],
            graph_target(json!({"userPrincipalNameTemplate": template})),
        ));
        assert!(
            error.contains("userPrincipalNameTemplate takes the placeholders"),
            "{template}: {error}"
        );
    }
    let error = cel(&with(
        &["spec", "target"],
        google_target(json!({"orgUnitPath": "Staff"})),
    ));
    assert!(error.contains("orgUnitPath must start with /"), "{error}");
    let missing = schema_rejections(&with(
        &["spec", "target"],
        json!({"microsoftGraph": {"tenantId": "t", "clientId": "c"}}),
    ));
    assert_eq!(
        missing,
        vec![".spec.target.microsoftGraph.clientSecretSecretRef: required"]
    );
}

fn google_source(scope: Value) -> Value {
    json!({"googleWorkspace": {"serviceAccountKeySecretRef": {"name": "google", "key": "key.json"},
        "adminEmail": "admin@acme.example", "scope": scope}})
}

fn graph_source(scope: Value) -> Value {
    json!({"microsoftGraph": {"tenantId": "contoso.onmicrosoft.com", "clientId": "c",
        "clientSecretSecretRef": {"name": "entra", "key": "clientSecret"}, "scope": scope}})
}

/// The scope checks of the directory source `kind` (`source` makes its spec of a scope): every
/// `valid` scope passes the schema and `check_spec`; every `invalid` one is refused by a CEL
/// rule with its message and by `check_spec` naming its field; an empty list under each of
/// `lists` is refused by the schema (`minItems`) and by `check_spec`.
fn check_scopes(
    kind: &str,
    source: fn(Value) -> Value,
    valid: &[Value],
    invalid: &[(Value, &str, &str)],
    lists: &[&str],
) {
    let spec_of = |manifest: &Value| -> hris_operator::crd::HrisConnectionSpec {
        serde_json::from_value(manifest["spec"].clone()).unwrap()
    };
    for scope in valid {
        let manifest = with(&["spec", "source"], source(scope.clone()));
        assert_eq!(
            schema_rejections(&manifest),
            Vec::<String>::new(),
            "{scope}"
        );
        assert!(
            hris_operator::connectors::check_spec(&spec_of(&manifest)).is_ok(),
            "{scope}"
        );
    }
    let schema = openapi_schema();
    for (scope, message, field) in invalid {
        let manifest = with(&["spec", "source"], source(scope.clone()));
        let error = kube::core::cel::Validator::new()
            .validate(&schema, &manifest, None)
            .map_err(|e| e.to_string())
            .unwrap_err();
        assert!(error.contains(message), "{scope}: {error}");
        // simulate names the same field.
        let errors = hris_operator::connectors::check_spec(&spec_of(&manifest)).unwrap_err();
        assert!(
            errors.0.iter().any(|e| e.field == *field),
            "{scope}: {errors:?}"
        );
    }
    for list in lists {
        let manifest = with(&["spec", "source"], source(json!({ *list: [] })));
        let minimum = &schema["properties"]["spec"]["properties"]["source"]["properties"][kind]["properties"]
            ["scope"]["properties"][*list]["minItems"];
        assert_eq!(minimum, &json!(1), "the API server refuses an empty {list}");
        let errors = hris_operator::connectors::check_spec(&spec_of(&manifest)).unwrap_err();
        assert!(
            errors.0[0].field.ends_with(&format!("scope.{list}"))
                && errors.0[0].message.starts_with("list at least one"),
            "{errors:?}"
        );
    }
}

fn slack_source(scope: Value) -> Value {
    json!({"slack": {"botTokenSecretRef": {"name": "slack", "key": "botToken"}, "scope": scope}})
}

#[test]
fn a_slack_source_takes_exactly_one_scope_and_bad_ones_get_readable_messages() {
    for scope in [
        json!({"allMembers": true}),
        json!({"channels": ["C0123ABCDEF", "G012AB"]}),
        json!({"allMembers": false, "channels": ["C0123ABCDEF"]}),
    ] {
        let manifest = with(&["spec", "source"], slack_source(scope.clone()));
        assert_eq!(
            schema_rejections(&manifest),
            Vec::<String>::new(),
            "{scope}"
        );
        let spec: hris_operator::crd::HrisConnectionSpec =
            serde_json::from_value(manifest["spec"].clone()).unwrap();
        assert!(
            hris_operator::connectors::check_spec(&spec).is_ok(),
            "{scope}"
        );
    }
    let schema = openapi_schema();
    let cel = |manifest: &Value| {
        kube::core::cel::Validator::new()
            .validate(&schema, manifest, None)
            .map_err(|e| e.to_string())
            .unwrap_err()
    };
    let exactly_one = "scope takes exactly one of allMembers: true, channels";
    for (scope, message, field) in [
        (json!({}), exactly_one, "spec.source.slack.scope"),
        (
            json!({"allMembers": false}),
            exactly_one,
            "spec.source.slack.scope",
        ),
        (
            json!({"allMembers": true, "channels": ["C0123ABCDEF"]}),
            exactly_one,
            "spec.source.slack.scope",
        ),
        (
            json!({"channels": ["C0123ABCDEF", "general"]}),
            "channels take channel ids",
            "spec.source.slack.scope.channels[1]",
        ),
        (
            json!({"channels": ["#general"]}),
            "channels take channel ids",
            "spec.source.slack.scope.channels[0]",
        ),
    ] {
        let manifest = with(&["spec", "source"], slack_source(scope.clone()));
        let error = cel(&manifest);
        assert!(error.contains(message), "{scope}: {error}");
        // simulate names the same field.
        let spec: hris_operator::crd::HrisConnectionSpec =
            serde_json::from_value(manifest["spec"].clone()).unwrap();
        let errors = hris_operator::connectors::check_spec(&spec).unwrap_err();
        assert!(
            errors.0.iter().any(|e| e.field == field),
            "{scope}: {errors:?}"
        );
    }
    let manifest = with(&["spec", "source"], slack_source(json!({"channels": []})));
    let minimum = &openapi_schema()["properties"]["spec"]["properties"]["source"]["properties"]["slack"]
        ["properties"]["scope"]["properties"]["channels"]["minItems"];
    assert_eq!(minimum, &json!(1), "the API server refuses an empty list");
    let spec: hris_operator::crd::HrisConnectionSpec =
        serde_json::from_value(manifest["spec"].clone()).unwrap();
    let errors = hris_operator::connectors::check_spec(&spec).unwrap_err();
    assert_eq!(errors.0[0].field, "spec.source.slack.scope.channels");
    assert!(
        errors.0[0].message.starts_with("list at least one"),
        "{errors:?}"
    );
    // The API URL and the rate are checked like every source's.
    let mut manifest = with(
        &["spec", "source"],
        slack_source(json!({"allMembers": true})),
    );
    manifest["spec"]["source"]["slack"]["apiUrl"] = json!("http://slack.example/api");
    manifest["spec"]["source"]["slack"]["requestsPerSecond"] = json!(0);
    let spec: hris_operator::crd::HrisConnectionSpec =
        serde_json::from_value(manifest["spec"].clone()).unwrap();
    let fields: Vec<String> = hris_operator::connectors::check_spec(&spec)
        .unwrap_err()
        .0
        .into_iter()
        .map(|e| e.field)
        .collect();
    assert_eq!(
        fields,
        [
            "spec.source.slack.requestsPerSecond",
            "spec.source.slack.apiUrl"
        ]
    );
}

#[test]
fn a_google_source_takes_exactly_one_scope_and_bad_ones_get_readable_messages() {
    let one = "scope takes exactly one of allUsers: true, orgUnits, groups";
    let scope = "spec.source.googleWorkspace.scope";
    check_scopes(
        "googleWorkspace",
        google_source,
        &[
            json!({"allUsers": true}),
            json!({"orgUnits": ["/", "/Sales", "/Sales Team/EMEA"]}),
            json!({"groups": ["all-staff@acme.example"]}),
            json!({"allUsers": false, "groups": ["all-staff@acme.example"]}),
        ],
        &[
            (json!({}), one, scope),
            (json!({"allUsers": false}), one, scope),
            (
                json!({"allUsers": true, "orgUnits": ["/Sales"]}),
                one,
                scope,
            ),
            (
                json!({"orgUnits": ["/Sales"], "groups": ["a@acme.example"]}),
                one,
                scope,
            ),
            (
                json!({"orgUnits": ["/Sales", "Sales"]}),
                "orgUnits take paths starting with /",
                "spec.source.googleWorkspace.scope.orgUnits[1]",
            ),
            (
                json!({"groups": ["all-staff"]}),
                "groups take group email addresses",
                "spec.source.googleWorkspace.scope.groups[0]",
            ),
        ],
        &["orgUnits", "groups"],
    );
    // A path the schema lets through that is still no path: the local check names it.
    let manifest = with(
        &["spec", "source"],
        google_source(json!({"orgUnits": ["/Sales/"]})),
    );
    let spec: hris_operator::crd::HrisConnectionSpec =
        serde_json::from_value(manifest["spec"].clone()).unwrap();
    let errors = hris_operator::connectors::check_spec(&spec).unwrap_err();
    assert_eq!(
        errors.0[0].field,
        "spec.source.googleWorkspace.scope.orgUnits[0]"
    );
    assert!(errors.0[0].message.contains("ends with /"), "{errors:?}");
}

#[test]
fn a_graph_source_takes_exactly_one_scope_and_bad_ones_get_readable_messages() {
    let group = "0b3c2a4e-9d1f-4c4e-8a55-2f1b7c3d9e01";
    let one = "scope takes exactly one of allUsers: true, groups, users";
    let scope = "spec.source.microsoftGraph.scope";
    check_scopes(
        "microsoftGraph",
        graph_source,
        &[
            json!({"allUsers": true}),
            json!({"groups": [group, group.to_uppercase()]}),
            json!({"users": ["ada@contoso.example", group]}),
            json!({"allUsers": false, "users": ["ada@contoso.example"]}),
        ],
        &[
            (json!({}), one, scope),
            (json!({"allUsers": false}), one, scope),
            (json!({"allUsers": true, "groups": [group]}), one, scope),
            (
                json!({"groups": [group], "users": ["ada@contoso.example"]}),
                one,
                scope,
            ),
            (
                json!({"groups": ["Sales"]}),
                "groups take group object ids",
                "spec.source.microsoftGraph.scope.groups[0]",
            ),
        ],
        &["users", "groups"],
    );
}

#[test]
fn every_sample_connection_passes_the_crd_schema() {
    let mut stack = vec![std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/samples"
    ))];
    let mut checked = 0;
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        if path.extension() != Some("yaml".as_ref()) {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let manifest: Value = serde_saphyr::from_str(&text).unwrap();
        if manifest["kind"] != "HrisConnection" {
            continue;
        }
        assert_eq!(
            schema_rejections(&manifest),
            Vec::<String>::new(),
            "{}",
            path.display()
        );
        checked += 1;
    }
    assert!(checked >= 9, "only {checked} sample connections found");
}

/// The paths of every string without `maxLength`, list without `maxItems` and map without
/// `maxProperties`. A string with `enum`, or with format `date`, `date-time` or `duration`, is
/// bounded already: the API server sizes it by its longest value or by the format.
fn unbounded(schema: &Value, path: &str, found: &mut Vec<String>) {
    let string_like =
        schema["type"] == "string" || schema["x-kubernetes-int-or-string"] == json!(true);
    let sized_by_format = matches!(
        schema["format"].as_str(),
        Some("date" | "date-time" | "duration")
    );
    if string_like
        && schema.get("maxLength").is_none()
        && schema.get("enum").is_none()
        && !sized_by_format
    {
        found.push(format!("{path}: a string without maxLength"));
    }
    if schema["type"] == "array" && schema.get("maxItems").is_none() {
        found.push(format!("{path}: a list without maxItems"));
    }
    let values = schema.get("additionalProperties").filter(|v| v.is_object());
    if values.is_some() && schema.get("maxProperties").is_none() {
        found.push(format!("{path}: a map without maxProperties"));
    }
    for (name, property) in schema["properties"].as_object().into_iter().flatten() {
        unbounded(property, &format!("{path}.{name}"), found);
    }
    if let Some(items) = schema.get("items") {
        unbounded(items, &format!("{path}[*]"), found);
    }
    if let Some(values) = values {
        unbounded(values, &format!("{path}{{*}}"), found);
    }
    for branches in ["oneOf", "anyOf", "allOf"] {
        for (index, branch) in schema[branches]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            unbounded(branch, &format!("{path}({branches}[{index}])"), found);
        }
    }
}

#[test]
fn every_string_list_and_map_of_the_schema_is_bounded() {
    let mut found = Vec::new();
    unbounded(&openapi_schema(), "", &mut found);
    assert!(
        found.is_empty(),
        "an API server sizes these as a whole request when it estimates the cost of CEL rules; \
         bound them (src/crd/bounds.rs):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_bounds_refuse_what_no_real_connection_holds() {
    let long = |n: usize| "x".repeat(n);
    let aliases: serde_json::Map<String, Value> =
        (0..1001).map(|n| (format!("v{n}"), json!("w"))).collect();
    let cases = [
        (
            with(
                &["spec", "source"],
                json!({"csv": {"secretRef": {"name": long(254), "key": "k"}}}),
            ),
            ".spec.source.csv.secretRef.name: too long",
            "spec.source.csv.secretRef.name: is 254 characters long; at most 253",
        ),
        (
            with(
                &["spec", "externalIdPrefix"],
                json!(format!("{}:", long(64))),
            ),
            ".spec.externalIdPrefix: too long",
            "spec.externalIdPrefix: is 65 characters long; at most 64",
        ),
        (
            with(
                &["spec", "attributeMapping"],
                json!([{"from": "department", "to": "department", "aliases": aliases}]),
            ),
            ".spec.attributeMapping[0].aliases: more than 1000 entries",
            "spec.attributeMapping[0].aliases: has 1001 entries; at most 1000",
        ),
    ];
    for (manifest, refused, named) in cases {
        assert_eq!(schema_rejections(&manifest), vec![refused.to_owned()]);
        let (code, stderr) = simulate(&manifest);
        assert_eq!(code, Some(2), "{stderr}");
        assert!(stderr.contains(named), "expected `{named}` in:\n{stderr}");
    }
}

#[test]
fn every_cel_rule_stays_well_within_the_api_servers_cost_limits() {
    use cel_cost::{
        PER_CALL_LIMIT, RuleCost, STATIC_ESTIMATED_COST_LIMIT, STATIC_ESTIMATED_CRD_COST_LIMIT,
        rule_costs,
    };
    let schema = openapi_schema();
    let costs = rule_costs(&schema);
    let in_schema = serde_json::to_string(&schema)
        .unwrap()
        .matches("\"rule\":")
        .count();
    assert_eq!(costs.len(), in_schema, "every rule is estimated");
    // Margins: each rule within the runtime limit of one evaluation, and a tenth of the static
    // limits, for what the approximation misses.
    let over: Vec<String> = costs
        .iter()
        .filter(|c| c.cost > PER_CALL_LIMIT || c.total() > STATIC_ESTIMATED_COST_LIMIT / 10)
        .map(|c| format!("{} `{}`: {} × {}", c.path, c.rule, c.cost, c.cardinality))
        .collect();
    assert!(over.is_empty(), "rules too costly:\n{}", over.join("\n"));
    let total: u64 = costs.iter().map(RuleCost::total).sum();
    assert!(
        total <= STATIC_ESTIMATED_CRD_COST_LIMIT / 10,
        "the CRD's rules cost {total} together"
    );
}

#[test]
fn the_cost_estimate_follows_the_api_servers_formulas() {
    use cel_cost::estimate;
    // `self` 1; matches: ⌈(10 × 4 bytes + 1) × 0.1⌉ = 5, times ⌈4-character regex × 0.25⌉ = 1.
    let bounded = json!({"type": "string", "maxLength": 10});
    assert_eq!(estimate("self.matches('^a+$')", &bounded), 1 + 5);
    // Without maxLength the string is as long as a request (3 MiB less the quotes).
    let unbounded = json!({"type": "string"});
    assert_eq!(estimate("self.matches('^a+$')", &unbounded), 1 + 314_573);
    // contains: ⌈40 × 0.1⌉ × ⌈1 × 0.1⌉; startsWith: ⌈1 × 0.1⌉.
    assert_eq!(estimate("self.contains('@')", &bounded), 1 + 4);
    assert_eq!(estimate("self.startsWith('/')", &bounded), 1 + 1);
    // An enum string is as long as its longest value: ⌈min(9, 11) × 0.1⌉ for ==.
    let policy = json!({"type": "string", "enum": ["Never", "Immediately", "AfterMonths"]});
    assert_eq!(estimate("self == 'AfterMonths'", &policy), 1 + 2);
    // A comprehension over a bounded list: the range's size times its loop.
    let list = json!({"type": "array", "maxItems": 3, "items": {"type": "string", "maxLength": 5}});
    let all = estimate("self.all(x, x.startsWith('a'))", &list);
    assert!((3 * 2..=3 * 6).contains(&(all - 1)), "{all}");
}

/// By this estimate the userPrincipalNameTemplate rule, unbounded, cost about 7.2 million: under
/// the static per-rule limit (10 million) but seven times what one evaluation may cost at runtime,
/// and one more string function on an unbounded field would have crossed the static limit.
#[test]
fn without_the_bounds_the_rules_would_cost_millions() {
    use cel_cost::{PER_CALL_LIMIT, rule_costs};
    fn strip(value: &mut Value) {
        match value {
            Value::Object(map) => {
                for bound in ["maxLength", "maxItems", "maxProperties"] {
                    map.remove(bound);
                }
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let upn = |costs: Vec<cel_cost::RuleCost>| {
        costs
            .into_iter()
            .find(|c| c.rule.contains("userPrincipalNameTemplate.matches"))
            .expect("the UPN template rule")
    };
    let bounded = upn(rule_costs(&openapi_schema()));
    let mut schema = openapi_schema();
    strip(&mut schema);
    let unbounded = upn(rule_costs(&schema));
    assert!(unbounded.cost > PER_CALL_LIMIT, "{unbounded:?}");
    assert!(bounded.cost * 1000 < unbounded.cost, "{bounded:?}");
}

#[test]
fn the_start_at_rules_name_the_field_and_the_fix() {
    let schema = openapi_schema();
    let cel = |schedule: Value| {
        kube::core::cel::Validator::new()
            .validate(&schema, &with(&["spec", "schedule"], schedule), None)
            .map_err(|e| e.to_string())
    };
    for valid in [
        json!({"interval": "6h", "startAt": "02:00", "timeZone": "Europe/Amsterdam"}),
        json!({"interval": "48h", "startAt": "2026-12-01T23:59"}),
    ] {
        assert_eq!(cel(valid.clone()), Ok(()), "{valid}");
        assert_eq!(
            schema_rejections(&with(&["spec", "schedule"], valid.clone())),
            Vec::<String>::new()
        );
    }
    let with_cron = cel(json!({"cron": "0 3 * * *", "startAt": "02:00"})).unwrap_err();
    assert!(
        with_cron.contains("spec.schedule.startAt")
            && with_cron.contains("startAt anchors an interval and does not apply to cron")
            && with_cron.contains("0 2,8,14,20 * * *"),
        "{with_cron}"
    );
    let every_two_days = cel(json!({"interval": "48h", "startAt": "02:00"})).unwrap_err();
    assert!(
        every_two_days.contains("spec.schedule.startAt")
            && every_two_days.contains("interval must be 24h or less"),
        "{every_two_days}"
    );
    assert_eq!(
        cel(json!({"interval": "1440m", "startAt": "02:00"})),
        Ok(())
    );
    let alone = cel(json!({"startAt": "02:00"})).unwrap_err();
    assert!(
        alone.contains("spec.schedule.startAt")
            && alone.contains("startAt needs an interval to anchor, such as interval: 6h"),
        "{alone}"
    );
    for bad in [
        "2:00",
        "24:00",
        "02:60",
        "2026-13-01T02:00",
        "2026-12-01 02:00",
        "02:00:00",
    ] {
        let error = cel(json!({"interval": "6h", "startAt": bad})).unwrap_err();
        assert!(
            error.contains("spec.schedule.startAt")
                && error.contains("startAt takes a time of day HH:MM, such as 02:00"),
            "{bad}: {error}"
        );
    }
    // A day the calendar lacks passes the pattern; simulate, and the controller, refuse it.
    let (code, stderr) = simulate(&with(
        &["spec", "schedule"],
        json!({"interval": "6h", "startAt": "2026-02-30T02:00"}),
    ));
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("spec.schedule.startAt: `2026-02-30T02:00` is not a time of day"),
        "{stderr}"
    );
}

#[test]
fn notification_channels_pass_the_schema_and_bad_ones_get_readable_cel_messages() {
    let hooks = |key: &str| json!({"name": "hooks", "key": key});
    let good = with(
        &["spec", "notifications"],
        json!([
            {"slack": {"webhookUrlSecretRef": hooks("slack")}},
            {"msTeams": {"webhookUrlSecretRef": hooks("teams")}, "events": ["SyncFailed"]},
            {"webhook": {"urlSecretRef": hooks("events"), "signingKeySecretRef": hooks("key")}},
            {"email": {"smtp": {"host": "smtp.acme.example", "port": 587, "tls": "StartTls",
                                "usernameSecretRef": hooks("user"),
                                "passwordSecretRef": hooks("password")},
                       "from": "HR provisioning <hris@acme.example>",
                       "to": ["hr@acme.example"]}},
        ]),
    );
    assert_eq!(schema_rejections(&good), Vec::<String>::new());
    let (code, stderr) = simulate(&good);
    assert_eq!(code, Some(0), "{stderr}");

    let schema = openapi_schema();
    let cel = |manifest: &Value| {
        kube::core::cel::Validator::new()
            .validate(&schema, manifest, None)
            .unwrap_err()
            .to_string()
    };
    let two_kinds = with(
        &["spec", "notifications"],
        json!([{"slack": {"webhookUrlSecretRef": hooks("slack")},
                "msTeams": {"webhookUrlSecretRef": hooks("teams")}}]),
    );
    let error = cel(&two_kinds);
    assert!(
        error
            .contains("a notification channel takes exactly one of slack, msTeams, webhook, email"),
        "{error}"
    );
    let user_only = with(
        &["spec", "notifications"],
        json!([{"email": {"smtp": {"host": "smtp.acme.example", "usernameSecretRef": hooks("user")},
                          "from": "hris@acme.example", "to": ["hr@acme.example"]}}]),
    );
    let error = cel(&user_only);
    assert!(
        error.contains("smtp takes usernameSecretRef and passwordSecretRef together, or neither"),
        "{error}"
    );
    let (code, stderr) = simulate(&user_only);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains(
            "spec.notifications[0].email.smtp: takes usernameSecretRef and passwordSecretRef \
             together, or neither"
        ),
        "{stderr}"
    );
}
