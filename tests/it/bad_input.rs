//! Bad source records through the whole run (`sync::run::run`, real connectors, emulators on
//! 127.0.0.1, a file target): each bad record is one error in `errors.csv` and in the summary's
//! `errors` count while everyone else still syncs, and a bad record's existing user is left
//! alone (never treated as absent). A file that is unusable as a whole, a field map column no
//! record has, or a mapped field no employee has fails the run before anything is written;
//! through the real binary, such a run exits 2.

use crate::common;

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::{Command, Output},
};

use common::hr_sources::{HR_APIS, HrApi, HrOptions, start_hr_source};
use hris_emulators::{afas, bamboohr, hibob, hr::HrEmulator, merge, personio, workday};
use hris_operator::{
    connectors::{ConfigMapResolver, ConnectorContext, SecretResolver, connect},
    crd::HrisConnectionSpec,
    sync::{
        model::{Email, EmailType, Employee, EmploymentStatus},
        policy::SyncPolicy,
        report::{RunMode, RunResult, write_reports},
        run::{RunError, RunOptions, RunOutput, run},
    },
};
use jiff::civil::date;
use serde_json::{Value, json};

const PREFIX: &str = "acme:";
const ONE_MB: usize = 1 << 20;

/// A run's output and its report files.
struct Ran {
    output: RunOutput,
    reports: PathBuf,
}

impl Ran {
    /// The rows of a report CSV, as column → value maps.
    fn report(&self, name: &str) -> Vec<BTreeMap<String, String>> {
        report_rows(&self.reports, name)
    }

    /// `(employeeId, field)` of every source error in `errors.csv`, sorted.
    fn source_errors(&self) -> Vec<(String, String)> {
        let mut errors: Vec<_> = self
            .report("errors.csv")
            .into_iter()
            .map(|row| {
                assert_eq!(row["stage"], "source", "{row:?}");
                (row["employeeId"].clone(), row["field"].clone())
            })
            .collect();
        errors.sort();
        errors
    }

    /// Employee ids of `created.csv`, sorted.
    fn created(&self) -> Vec<String> {
        let mut ids: Vec<_> = self
            .report("created.csv")
            .into_iter()
            .map(|row| row["employeeId"].clone())
            .collect();
        ids.sort();
        ids
    }
}

/// The rows of the report CSV `name` in `reports`, as column → value maps.
fn report_rows(reports: &Path, name: &str) -> Vec<BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_path(reports.join(name)).unwrap();
    let header = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            header
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_owned(), v.to_owned()))
                .collect()
        })
        .collect()
}

fn connector_context(dir: &Path) -> ConnectorContext {
    ConnectorContext {
        base_dir: dir.to_path_buf(),
        secrets: SecretResolver::from_dir(dir.join("secrets")),
        config_maps: ConfigMapResolver::from_dir(dir.join("maps")),
    }
}

fn connection_spec(source: Value, dir: &Path) -> HrisConnectionSpec {
    serde_json::from_value(json!({
        "source": source,
        "target": {"file": {"path": dir.join("directory.json")}},
        "externalIdPrefix": PREFIX,
        // Let any removal through, so a wrongly absent user would show as a deactivation.
        "safeguards": {"maxDeletePercent": 100},
    }))
    .unwrap()
}

async fn run_in(dir: &Path, source: Value) -> Result<Ran, RunError> {
    let spec = connection_spec(source, dir);
    let policy = SyncPolicy::compile(&spec).unwrap();
    let options = RunOptions {
        mode: RunMode::Apply,
        as_of: date(2026, 11, 22),
        approved_hash: None,
    };
    let (source, target) = connect(&spec, &connector_context(dir)).await?;
    let output = run("people/acme", &policy, &*source, &*target, &options).await?;
    let reports = dir.join("reports");
    write_reports(
        &reports,
        &output.plan,
        &output.applied,
        &output.record_errors,
        &output.mapped,
        &output.summary,
    )
    .unwrap();
    Ok(Ran { output, reports })
}

/// Managed, active users of the given employee ids, as the file target stores them.
fn seed_directory(dir: &Path, ids: &[&str]) {
    let users: Vec<Value> = ids
        .iter()
        .map(|id| {
            json!({
                "id": format!("u-{id}"),
                "externalId": format!("{PREFIX}{id}"),
                "email": format!("e{id}@corp.example"),
                "firstName": "Known",
                "lastName": "Person",
                "active": true,
                "version": 1,
            })
        })
        .collect();
    std::fs::write(
        dir.join("directory.json"),
        serde_json::to_vec_pretty(&json!({ "users": users })).unwrap(),
    )
    .unwrap();
}

fn directory_users(dir: &Path) -> Vec<Value> {
    let bytes = std::fs::read(dir.join("directory.json")).unwrap();
    let directory: Value = serde_json::from_slice(&bytes).unwrap();
    directory["users"].as_array().unwrap().clone()
}

fn csv_source(file: &str) -> Value {
    json!({"csv": {"path": file}})
}

const CSV_HEADER: &str =
    "id,firstName,lastName,workEmail,employmentStatus,startDate,endDate,department\n";

fn csv_row(id: &str, first: &str) -> String {
    format!("{id},{first},Test,e{id}@corp.example,Active,2020-01-01,,Ops\n")
}

#[tokio::test]
async fn bad_csv_rows_are_per_record_errors_and_the_other_rows_sync() {
    let dir = tempfile::tempdir().unwrap();
    let mut file = CSV_HEADER.as_bytes().to_vec();
    let mut add = |row: &[u8]| file.extend_from_slice(row);
    add(csv_row("1", "Ada").as_bytes()); // line 2
    add(b"2,Bo,Test,e2@corp.example,Active,2026-02-30,,Ops\n"); // 3: no such day
    add(b"3,Cy,Test,e3@corp.example,Active,2020-01-01,31/12/2026,Ops\n"); // 4: not ISO
    add(b"4,Dan,Test\n"); // 5: too few fields
    add(b"5,Eva,Test,e5@corp.example,Active,2020-01-01,,Ops,surplus\n"); // 6: too many
    add(b"6,,,e6@corp.example,Active,2020-01-01,,Ops\n"); // 7: no name
    add(b",Nils,Test,nobody@corp.example,Active,2020-01-01,,Ops\n"); // 8: empty id
    add(csv_row("8", "Ole").as_bytes()); // 9: duplicate id …
    add(b"8,Per,Test,per@corp.example,Active,2020-01-01,,Ops\n"); // 10: … twice
    let huge = "x".repeat(ONE_MB);
    add(format!("9,Quinn,Test,e9@corp.example,Active,2020-01-01,,{huge}\n").as_bytes()); // 11
    add(format!("10,Rut,Test,e10@corp.example,Active,{huge},,Ops\n").as_bytes()); // 12
    add(csv_row("11", "Siv").as_bytes()); // 13
    std::fs::write(dir.path().join("employees.csv"), &file).unwrap();
    // The employees of the bad rows already have users: a bad row must not make them absent.
    // "12" is in no row: the row without an id might be theirs, so they are kept too.
    seed_directory(dir.path(), &["2", "3", "4", "5", "6", "10", "12"]);

    let ran = run_in(dir.path(), csv_source("employees.csv"))
        .await
        .unwrap();
    let summary = &ran.output.summary;
    assert_eq!(ran.created(), ["1", "11", "9"]);
    assert_eq!(summary.counts.created, 3);
    assert_eq!(summary.counts.errors, 7);
    assert_eq!(summary.counts.conflicts, 2, "the duplicate id, both rows");
    assert_eq!(summary.counts.deactivated, 0);
    assert_eq!(summary.counts.deleted, 0);
    assert_eq!(summary.result, RunResult::Succeeded);
    assert!(ran.output.plan.withheld.is_empty());

    let errors = ran.report("errors.csv");
    let by_line: Vec<(&str, &str, &str)> = errors
        .iter()
        .map(|r| {
            (
                r["line"].as_str(),
                r["employeeId"].as_str(),
                r["field"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        by_line,
        [
            ("3", "2", "startDate"),
            ("4", "3", "endDate"),
            ("5", "4", ""),
            ("6", "5", ""),
            ("7", "6", "firstName"),
            ("8", "", "id"),
            ("12", "10", "startDate"),
        ]
    );
    assert!(errors[2]["message"].contains("has 3 fields, the header has 8"));
    assert!(errors[3]["message"].contains("has 9 fields, the header has 8"));
    assert!(errors[4]["message"].contains("both empty"));
    // A huge value is named, not copied into the report (the report is stored in a Secret).
    assert!(
        errors[6]["message"].len() < 300,
        "{} bytes",
        errors[6]["message"].len()
    );
    let conflicts = ran.report("conflicts.csv");
    assert!(
        conflicts
            .iter()
            .all(|c| c["employeeId"] == "8" && c["kind"] == "DuplicateEmployeeId")
    );

    let skipped = ran.report("skipped.csv");
    let kept: Vec<_> = skipped
        .iter()
        .filter(|r| {
            r["reason"] == "AbsentWhileRecordsUnreadable"
                && r["detail"].contains("could not be read")
        })
        .map(|r| r["externalId"].as_str())
        .collect();
    assert_eq!(kept, ["acme:12"], "{skipped:?}");

    // The huge department did not stop its row; the bad rows' users are untouched.
    let users = directory_users(dir.path());
    assert_eq!(users.len(), 7 + 3);
    assert!(users.iter().all(|u| u["active"] == true));
}

#[tokio::test]
async fn a_bom_and_crlf_line_endings_are_read_like_any_csv() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "\u{feff}{}{}{}",
        CSV_HEADER,
        csv_row("1", "Ada"),
        csv_row("2", "Bo")
    )
    .replace('\n', "\r\n");
    std::fs::write(dir.path().join("employees.csv"), text).unwrap();
    let ran = run_in(dir.path(), csv_source("employees.csv"))
        .await
        .unwrap();
    assert_eq!(ran.source_errors(), Vec::<(String, String)>::new());
    assert_eq!(ran.created(), ["1", "2"]);
    let users = directory_users(dir.path());
    // No carriage return or BOM leaks into a value.
    for user in &users {
        for value in user.as_object().unwrap().values() {
            if let Some(text) = value.as_str() {
                assert!(
                    !text.contains('\r') && !text.contains('\u{feff}'),
                    "{text:?}"
                );
            }
        }
    }
    assert_eq!(users[0]["externalId"], "acme:1");
}

#[tokio::test]
async fn a_missing_required_column_fails_the_run_naming_it_and_removes_nobody() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("employees.csv"),
        "id,firstName,workEmail,employmentStatus\n1,Ada,e1@corp.example,Active\n",
    )
    .unwrap();
    seed_directory(dir.path(), &["1", "2", "3"]);
    let before = std::fs::read(dir.path().join("directory.json")).unwrap();

    let error = match run_in(dir.path(), csv_source("employees.csv")).await {
        Ok(_) => panic!("a file without lastName must fail the run"),
        Err(error) => error,
    };
    assert!(error.is_invalid_input(), "{error:?}");
    assert_eq!(error.category(), "InvalidSourceData");
    let message = error.to_string();
    assert!(message.contains("`lastName`"), "{message}");
    assert!(message.contains("add"), "says how to fix it: {message}");
    assert_eq!(
        std::fs::read(dir.path().join("directory.json")).unwrap(),
        before,
        "nothing written"
    );
}

#[tokio::test]
async fn a_file_that_is_not_utf8_fails_the_run_naming_the_line_and_removes_nobody() {
    // Excel's "CSV" in Windows-1252 read as UTF-8: every name with an accent is suspect, so the
    // whole file is refused rather than its accented rows.
    let dir = tempfile::tempdir().unwrap();
    let mut file = CSV_HEADER.as_bytes().to_vec();
    file.extend_from_slice(csv_row("1", "Ada").as_bytes());
    file.extend_from_slice(b"2,J\xf6rg,Test,e2@corp.example,Active,2020-01-01,,Ops\n");
    std::fs::write(dir.path().join("employees.csv"), &file).unwrap();
    seed_directory(dir.path(), &["3"]);
    let before = std::fs::read(dir.path().join("directory.json")).unwrap();

    let error = match run_in(dir.path(), csv_source("employees.csv")).await {
        Ok(_) => panic!("a file that is not UTF-8 must fail the run"),
        Err(error) => error,
    };
    assert_eq!(error.category(), "InvalidSourceData");
    let message = error.to_string();
    assert!(
        message.contains("(line 3 holds a byte that is not UTF-8)"),
        "{message}"
    );
    assert!(message.contains("spec.source.csv.encoding"), "{message}");
    assert_eq!(
        std::fs::read(dir.path().join("directory.json")).unwrap(),
        before,
        "nothing written"
    );

    // Read as what it is, the same file syncs.
    let source = json!({"csv": {"path": "employees.csv", "encoding": "Windows-1252"}});
    let ran = run_in(dir.path(), source).await.unwrap();
    assert_eq!(ran.created(), ["1", "2"]);
    let users = directory_users(dir.path());
    assert!(users.iter().any(|u| u["firstName"] == "Jörg"), "{users:?}");
}

/// Starts `kind`'s emulator serving `records` and returns the `source` spec that reads it.
async fn hr_source(kind: HrApi, records: Vec<Value>, dir: &Path) -> (Value, HrEmulator) {
    let tuning = json!({"requestsPerSecond": 1000, "maxTries": 2, "timeoutSeconds": 10});
    let (key, spec, emulator) = start_hr_source(
        kind,
        records,
        HrOptions::default(),
        &dir.join("secrets"),
        tuning.as_object().unwrap().clone(),
    )
    .await;
    (json!({ key: Value::Object(spec) }), emulator)
}

fn hr_employee(id: &str, first: &str) -> Employee {
    let mut e = Employee::new(id, first, "Test", EmploymentStatus::Active);
    // Workday's test field map names the employee number column, and a named column must be
    // in the report.
    e.employee_number = Some(format!("N-{id}").into());
    e.emails.push(Email {
        address: format!("{}@corp.example", id.to_lowercase()).into(),
        kind: EmailType::Work,
    });
    e.start_date = Some(date(2020, 1, 1));
    e.title = Some(format!("Title-{id}").into());
    e
}

/// Applies `change` to every value in `record` (at any depth) that `wanted` selects; returns
/// how many it changed. The APIs nest their fields differently; the values say which is which.
fn mutate(
    record: &mut Value,
    wanted: &dyn Fn(&Value) -> bool,
    change: &dyn Fn(&mut Value),
) -> usize {
    let mut changed = 0;
    match record {
        Value::Object(map) => {
            for value in map.values_mut() {
                if wanted(value) {
                    change(value);
                    changed += 1;
                } else {
                    changed += mutate(value, wanted, change);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                changed += mutate(item, wanted, change);
            }
        }
        _ => {}
    }
    changed
}

/// Removes, at any depth, every key whose value is `value`.
fn remove_value(record: &mut Value, value: &Value) -> usize {
    let mut removed = 0;
    match record {
        Value::Object(map) => {
            let before = map.len();
            map.retain(|_, v| v != value);
            removed += before - map.len();
            for v in map.values_mut() {
                removed += remove_value(v, value);
            }
        }
        Value::Array(items) => {
            for item in items {
                removed += remove_value(item, value);
            }
        }
        _ => {}
    }
    removed
}

fn is_text(text: &str) -> impl Fn(&Value) -> bool + '_ {
    move |v| v.as_str() == Some(text)
}

fn holds_text(record: &Value, text: &str) -> bool {
    match record {
        Value::String(s) => s == text,
        Value::Object(map) => map.values().any(|v| holds_text(v, text)),
        Value::Array(items) => items.iter().any(|v| holds_text(v, text)),
        _ => false,
    }
}

/// Records of nine employees, each but the first damaged in its own way, plus a list entry
/// that is no record at all.
fn damaged_records(kind: HrApi) -> Vec<Value> {
    let employees = [
        hr_employee("H01", "Ada"),
        hr_employee("H02", "Bo"),
        hr_employee("H03", "Cleo"),
        hr_employee("H04", "Dag"),
        hr_employee("H05", "Eli"),
        hr_employee("H06", "Fay"),
        hr_employee("H07", "Gus"),
        hr_employee("H08", "Hal"),
        hr_employee("H09", "Ivy"),
    ];
    let mut records = match kind {
        HrApi::Merge => merge::records(&employees),
        HrApi::BambooHr => bamboohr::records(&employees),
        HrApi::Personio => personio::records(&employees),
        HrApi::HiBob => hibob::records(&employees),
        HrApi::Afas => afas::records(&employees),
        HrApi::Workday => workday::records(&employees),
    };
    let mut damage = |id: &str, f: &dyn Fn(&mut Value) -> usize| {
        let index = records
            .iter()
            .position(|r| holds_text(r, id))
            .unwrap_or_else(|| panic!("{kind:?}: no record of {id}"));
        assert!(f(&mut records[index]) > 0, "{kind:?}: {id} not damaged");
    };
    // A number where the email should be: read as text, it is no address.
    damage("H02", &|r| {
        mutate(r, &is_text("h02@corp.example"), &|v| *v = json!(12345))
    });
    // A null first name: the last name is enough.
    damage("H03", &|r| {
        mutate(r, &is_text("Cleo"), &|v| *v = Value::Null)
    });
    // A list where the last name should be.
    damage("H04", &|r| {
        mutate(r, &|v| v.as_str() == Some("Test"), &|v| {
            *v = json!(["Te", "st"])
        })
    });
    // Fields the connector does not know.
    damage("H05", &|r| {
        let object = r.as_object_mut().unwrap();
        object.insert("unexpectedField".into(), json!({"deep": [1, {"x": null}]}));
        object.insert("zz_other".into(), json!(true));
        2
    });
    // A 1 MB title.
    damage("H06", &|r| {
        mutate(r, &is_text("Title-H06"), &|v| {
            *v = json!("t".repeat(ONE_MB))
        })
    });
    // No id at all.
    damage("H07", &|r| remove_value(r, &json!("H07")));
    // A number where the start date should be.
    damage("H08", &|r| {
        mutate(
            r,
            &|v| v.as_str().is_some_and(|s| s.starts_with("2020-01-01")),
            &|v| *v = json!(20200101),
        )
    });
    // No email field at all: not an error, an employee without a usable address (skipped).
    damage("H09", &|r| remove_value(r, &json!("h09@corp.example")));
    records.insert(3, json!("not a record"));
    records
}

#[tokio::test]
async fn bad_hr_api_records_are_per_record_errors_and_the_others_sync() {
    for kind in HR_APIS {
        let dir = tempfile::tempdir().unwrap();
        // H08's employee already has a user: an unreadable record must not remove it.
        seed_directory(dir.path(), &["H08"]);
        let (source, _emulator) = hr_source(kind, damaged_records(kind), dir.path()).await;
        let ran = run_in(dir.path(), source)
            .await
            .unwrap_or_else(|e| panic!("{kind:?}: the run failed as a whole: {e}"));

        assert_eq!(
            ran.created(),
            ["H01", "H03", "H05", "H06"],
            "{kind:?}: created"
        );
        let errors = ran.source_errors();
        let expected: Vec<(String, String)> = [
            ("", ""),
            ("", ""),
            ("H02", "workEmail"),
            ("H04", "lastName"),
            ("H08", "startDate"),
        ]
        .iter()
        .map(|(id, field)| ((*id).to_owned(), (*field).to_owned()))
        .collect();
        // The record without an id and the list entry that is no record name nobody; the
        // field they report depends on how the API reshapes them (some emulated APIs turn any
        // entry into an object of the requested fields), so only their count is compared.
        let errors: Vec<(String, String)> = errors
            .into_iter()
            .map(|(id, field)| {
                let field = if id.is_empty() { String::new() } else { field };
                (id, field)
            })
            .collect();
        assert_eq!(errors, expected, "{kind:?}: errors.csv");
        let summary = &ran.output.summary;
        assert_eq!(summary.counts.created, 4, "{kind:?}");
        assert_eq!(summary.counts.errors, 5, "{kind:?}");
        assert_eq!(summary.counts.deactivated, 0, "{kind:?}");
        assert_eq!(summary.result, RunResult::Succeeded, "{kind:?}");
        let skipped = ran.report("skipped.csv");
        assert_eq!(skipped.len(), 1, "{kind:?}: {skipped:?}");
        assert_eq!(skipped[0]["employeeId"], "H09", "{kind:?}");
        // No error message copies a value (an address, a huge string).
        for row in ran.report("errors.csv") {
            assert!(
                !row["message"].contains("corp.example") && row["message"].len() < 300,
                "{kind:?}: {row:?}"
            );
        }
        let users = directory_users(dir.path());
        let h08 = users
            .iter()
            .find(|u| u["externalId"] == "acme:H08")
            .unwrap();
        assert_eq!(h08["active"], true, "{kind:?}");
    }
}

/// Runs the real binary: `command -f manifest --out out` on the fixed evaluation date.
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

/// Writes a manifest reading `employees.csv` into `directory.json` with `attribute_mapping`
/// (YAML list items) and returns its path.
fn write_manifest(dir: &Path, attribute_mapping: &str) -> PathBuf {
    let manifest = dir.join("connection.yaml");
    std::fs::write(
        &manifest,
        format!(
            "apiVersion: hris-operator.io/v1alpha1
kind: HrisConnection
metadata: {{name: acme, namespace: people}}
spec:
  source: {{csv: {{path: employees.csv}}}}
  target: {{file: {{path: directory.json}}}}
  externalIdPrefix: \"{PREFIX}\"
  safeguards: {{maxDeletePercent: 100}}
  attributeMapping:
{attribute_mapping}"
        ),
    )
    .unwrap();
    manifest
}

/// Employees whose cost centre column is `customFields.costCenter`.
fn cost_center_csv(dir: &Path) {
    std::fs::write(
        dir.join("employees.csv"),
        "id,firstName,lastName,workEmail,employmentStatus,department,customFields.costCenter\n\
         1,Ada,Test,e1@corp.example,Active,Ops,CC-1\n\
         2,Bo,Test,e2@corp.example,Active,Ops,\n",
    )
    .unwrap();
}

#[test]
fn a_mapped_custom_field_no_employee_has_exits_2_naming_it_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    cost_center_csv(dir.path());
    seed_directory(dir.path(), &["1", "2", "3"]);
    let before = std::fs::read(dir.path().join("directory.json")).unwrap();
    // The data says costCenter; the mapping is misspelt.
    let manifest = write_manifest(
        dir.path(),
        "    - {from: department, to: department}\n    - {from: customFields.costCentre, to: costCenter}\n",
    );
    for command in ["simulate", "apply"] {
        let out = dir.path().join(format!("out-{command}"));
        let output = hris(command, &manifest, &out);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{command}: {stderr}");
        assert!(
            stderr.contains("spec.attributeMapping[1].from: `customFields.costCentre`"),
            "{command}: {stderr}"
        );
        assert!(stderr.contains("optional: true"), "{command}: {stderr}");
        let present = stderr
            .lines()
            .find(|line| line.starts_with("Fields the employees have: "))
            .unwrap_or_else(|| panic!("{command}: no list of fields: {stderr}"));
        assert!(
            present.contains("customFields.costCenter,"),
            "{command}: {present}"
        );
        assert!(
            stderr.contains("Nothing was changed"),
            "{command}: {stderr}"
        );
        // No value of the data reaches the terminal, only field names.
        assert!(!stderr.contains("CC-1"), "{command}: {stderr}");
        assert!(!stderr.contains("corp.example"), "{command}: {stderr}");
        assert_eq!(
            std::fs::read(dir.path().join("directory.json")).unwrap(),
            before,
            "{command}: nothing written"
        );
        assert!(!out.join("summary.json").exists(), "{command}: no reports");
    }
}

#[test]
fn a_target_url_that_is_no_https_url_exits_2_naming_the_field_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    cost_center_csv(dir.path());
    for (base_url, says) in [
        ("file:///etc/passwd", "is a file: URL"),
        ("not a url", "is not an absolute URL"),
        ("http://scim.example/v2", "is plain http to another machine"),
    ] {
        let manifest = dir.path().join("connection.yaml");
        std::fs::write(
            &manifest,
            format!(
                "apiVersion: hris-operator.io/v1alpha1
kind: HrisConnection
metadata: {{name: acme, namespace: people}}
spec:
  source: {{csv: {{path: employees.csv}}}}
  target: {{scim: {{baseUrl: '{base_url}', credentialsSecretRef: {{name: scim, key: token}}}}}}
  externalIdPrefix: \"{PREFIX}\"
"
            ),
        )
        .unwrap();
        let out = dir.path().join("out");
        let output = hris("simulate", &manifest, &out);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{base_url}: {stderr}");
        assert!(
            stderr.contains(&format!("spec.target.scim.baseUrl: `{base_url}` {says}")),
            "{base_url}: {stderr}"
        );
        assert!(!out.join("summary.json").exists(), "{base_url}: no reports");
    }
}

#[test]
fn an_optional_mapping_of_a_field_no_employee_has_runs() {
    let dir = tempfile::tempdir().unwrap();
    cost_center_csv(dir.path());
    let manifest = write_manifest(
        dir.path(),
        "    - {from: customFields.costCentre, to: costCenter, optional: true}\n    - {from: customFields.costCenter, to: costCentre}\n",
    );
    let output = hris("apply", &manifest, &dir.path().join("out"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let users = directory_users(dir.path());
    assert_eq!(users.len(), 2);
    let ada = users.iter().find(|u| u["externalId"] == "acme:1").unwrap();
    assert_eq!(ada["attributes"]["costCentre"], "CC-1", "{ada}");
    assert!(ada["attributes"].get("costCenter").is_none(), "{ada}");
}

#[test]
fn a_stray_quote_is_one_row_error_with_its_line_and_nobody_swallowed_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    let mut file = CSV_HEADER.to_owned();
    file += &csv_row("1", "Ada"); // line 2
    // Line 3 opens a quote that line 8 closes: lines 3 to 8 read as one record of the
    // header's width, with five people inside a first name.
    file += "2,\"Bo,Test,e2@corp.example,Active,2020-01-01,,Ops\n";
    for id in ["3", "4", "5", "6"] {
        file += &csv_row(id, "Swallowed"); // lines 4 to 7
    }
    file += "7,\"Gus\",Test,e7@corp.example,Active,2020-01-01,,Ops\n"; // line 8
    file += &csv_row("8", "Hal"); // line 9
    std::fs::write(dir.path().join("employees.csv"), file).unwrap();
    // Everyone already has a user; the swallowed ones must not look absent.
    seed_directory(dir.path(), &["1", "2", "3", "4", "5", "6", "7", "8"]);
    let manifest = write_manifest(dir.path(), "    - {from: department, to: department}\n");

    let out = dir.path().join("out");
    let output = hris("apply", &manifest, &out);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let errors = report_rows(&out, "errors.csv");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["line"], "3");
    // The record is several people's, so it names none of them.
    assert_eq!(errors[0]["employeeId"], "");
    assert_eq!(errors[0]["field"], "firstName");
    assert!(
        errors[0]["message"].contains("a stray quote may have merged rows"),
        "{errors:?}"
    );
    let summary: Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["counts"]["errors"], 1, "{summary}");
    assert_eq!(summary["counts"]["deactivated"], 0, "{summary}");
    assert_eq!(summary["counts"]["deleted"], 0, "{summary}");
    // The people of the merged record are absent, and kept.
    let mut kept: Vec<_> = report_rows(&out, "skipped.csv")
        .into_iter()
        .map(|row| row["externalId"].clone())
        .collect();
    kept.sort();
    assert_eq!(
        kept,
        ["acme:2", "acme:3", "acme:4", "acme:5", "acme:6", "acme:7"]
    );
    let users = directory_users(dir.path());
    assert_eq!(users.len(), 8);
    assert!(users.iter().all(|u| u["active"] == true), "{users:?}");
    // Bo's user kept its first name: the merged one was never written.
    let bo = users.iter().find(|u| u["externalId"] == "acme:2").unwrap();
    assert_eq!(bo["firstName"], "Known");
}

/// The field map sources: the spec key, the status column and the end-date column.
const FIELD_MAP_SOURCES: [(HrApi, &str, &str, &str); 2] = [
    (HrApi::Afas, "afas", "Status", "DatumUitDienst"),
    (
        HrApi::Workday,
        "workday",
        "Worker_Status",
        "Termination_Date",
    ),
];

/// Two employees and a leaver, as `kind`'s records without the `dropped` columns.
fn records_without(kind: HrApi, dropped: &[&str]) -> Vec<Value> {
    let mut leaver = hr_employee("H03", "Cleo");
    leaver.employment_status = EmploymentStatus::Inactive;
    leaver.end_date = Some(date(2026, 1, 31));
    let mut records = kind.records(&[hr_employee("H01", "Ada"), hr_employee("H02", "Bo"), leaver]);
    for record in &mut records {
        let record = record.as_object_mut().unwrap();
        for column in dropped {
            record.remove(*column);
        }
    }
    records
}

#[tokio::test]
async fn a_field_map_column_no_record_has_fails_the_run_naming_it_and_changes_nothing() {
    for (kind, key, status, end) in FIELD_MAP_SOURCES {
        let dir = tempfile::tempdir().unwrap();
        seed_directory(dir.path(), &["H01", "H02", "H03"]);
        let before = std::fs::read(dir.path().join("directory.json")).unwrap();
        // The report lost the status and end-date columns its field map names: read on,
        // everyone would be Active, the leaver too.
        let records = records_without(kind, &[status, end]);
        let (mut source, _emulator) = hr_source(kind, records, dir.path()).await;
        source[key]["fieldMap"]["employmentStatus"] = json!(status);
        source[key]["fieldMap"]["endDate"] = json!(end);

        let error = match run_in(dir.path(), source).await {
            Ok(_) => panic!("{kind:?}: a field map column no record has must fail the run"),
            Err(error) => error,
        };
        assert!(error.is_invalid_input(), "{kind:?}: {error:?}");
        assert_eq!(error.category(), "InvalidSourceData", "{kind:?}");
        let message = error.to_string();
        for (field, column) in [("employmentStatus", status), ("endDate", end)] {
            let expected = format!("spec.source.{key}.fieldMap.{field}: no record of the ");
            let line = message
                .lines()
                .find(|line| line.contains(&expected))
                .unwrap_or_else(|| panic!("{kind:?}: {field} not named: {message}"));
            assert!(
                line.ends_with(&format!("has the column `{column}`")),
                "{line}"
            );
        }
        let have = message
            .lines()
            .find(|line| line.starts_with("The records have the columns: "))
            .unwrap_or_else(|| panic!("{kind:?}: no list of columns: {message}"));
        let id_column = if kind == HrApi::Afas {
            "Medewerker"
        } else {
            "Employee_ID"
        };
        assert!(have.contains(id_column), "{kind:?}: {have}");
        assert!(!have.contains(status), "{kind:?}: {have}");
        assert!(
            !message.contains("corp.example"),
            "{kind:?}: no values: {message}"
        );
        assert_eq!(
            std::fs::read(dir.path().join("directory.json")).unwrap(),
            before,
            "{kind:?}: nothing written"
        );
    }
}

#[tokio::test]
async fn a_default_column_a_report_lacks_is_not_required() {
    for (kind, _, _, end) in FIELD_MAP_SOURCES {
        let dir = tempfile::tempdir().unwrap();
        // No end dates in the report, and the field map does not name the column: the
        // status still says who left.
        let records = records_without(kind, &[end]);
        let (source, _emulator) = hr_source(kind, records, dir.path()).await;
        let ran = run_in(dir.path(), source)
            .await
            .unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        assert_eq!(ran.created(), ["H01", "H02"], "{kind:?}");
        assert_eq!(ran.output.summary.counts.errors, 0, "{kind:?}");
    }
}
