//! `hris-operator fields` lists a source's fields with example values from the reference
//! employee, on stdout only; `simulate` reads a csv source's configMapRef from
//! `--config-maps-dir`.

use std::path::Path;

use hris_emulators::merge;
use hris_operator::sync::model::{Email, EmailType, Employee, EmploymentStatus};
use serde_json::json;

fn manifest(dir: &Path, source: &str) -> std::path::PathBuf {
    let path = dir.join("connection.yaml");
    std::fs::write(
        &path,
        format!(
            "apiVersion: hris-operator.io/v1alpha1\nkind: HrisConnection\nmetadata: {{name: acme}}\n\
             spec:\n  source: {source}\n  target: {{file: {{path: directory.json}}}}\n  externalIdPrefix: 'acme:'\n"
        ),
    )
    .unwrap();
    path
}

/// The words of the row of `field` in the table `fields` printed.
fn row<'a>(stdout: &'a str, field: &str) -> Vec<&'a str> {
    stdout
        .lines()
        .find(|l| l.split_whitespace().next() == Some(field))
        .map(|l| l.split_whitespace().collect())
        .unwrap_or_else(|| panic!("no {field} in {stdout}"))
}

fn write(dir: &Path, name: &str, key: &str, value: &str) {
    std::fs::create_dir_all(dir.join(name)).unwrap();
    std::fs::write(dir.join(name).join(key), value).unwrap();
}

const CSV: &str = "id,firstName,lastName,workEmail,employmentStatus,customFields.costCenter\n\
                   1,Ada,Lovelace,ada@corp.example,Active,\n\
                   2,Grace,Hopper,grace@corp.example,Leave,CC-4410\n";

#[test]
fn fields_of_a_csv_config_map_show_the_reference_row() {
    let dir = tempfile::tempdir().unwrap();
    let maps = dir.path().join("maps");
    write(&maps, "people", "employees.csv", CSV);
    let path = manifest(
        dir.path(),
        "{csv: {configMapRef: {name: people, key: employees.csv}, referenceEmployeeId: '2'}}",
    );
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hris-operator"))
        .args(["fields", "-f"])
        .arg(&path)
        .arg("--config-maps-dir")
        .arg(&maps)
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(output.status.success(), "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["FIELD", "FEEDS", "EXAMPLE"]
    );
    let cost = lines
        .iter()
        .find(|l| l.starts_with("customFields.costCenter"))
        .unwrap();
    assert_eq!(
        cost.split_whitespace().collect::<Vec<_>>(),
        [
            "customFields.costCenter",
            "customFields.costCenter",
            "CC-4410"
        ]
    );
    assert!(stdout.contains("6 fields."), "{stdout}");

    // Without the directory, the message names the flag.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hris-operator"))
        .args(["fields", "-f"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("configMap people/employees.csv"),
        "{stderr}"
    );
    assert!(stderr.contains("--config-maps-dir"), "{stderr}");
}

#[test]
fn simulate_reads_a_csv_config_map_from_the_config_maps_dir() {
    let dir = tempfile::tempdir().unwrap();
    let maps = dir.path().join("maps");
    write(&maps, "people", "employees.csv", CSV);
    let path = manifest(
        dir.path(),
        "{csv: {configMapRef: {name: people, key: employees.csv}}}",
    );
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hris-operator"))
        .args(["simulate", "-f"])
        .arg(&path)
        .arg("--config-maps-dir")
        .arg(&maps)
        .arg("--out")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("out/summary.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(summary["counts"]["created"], json!(2), "{summary}");
}

/// Every column the CSV source reads, one employee with a value in each.
const EVERY_COLUMN: &str = "id,employeeNumber,firstName,lastName,preferredName,primaryEmail,\
workEmail,secondaryEmail,personalEmail,otherEmail,employmentStatus,startDate,endDate,managerId,\
department,title,location,preferredLanguage,customFields.costCenter\n\
1,0001,Ada,Lovelace,Ada,ada.p@corp.example,ada@corp.example,ada.s@corp.example,\
ada@home.example,ada.o@corp.example,Active,2020-01-01,2030-01-01,1,R&D,Engineer,Malmo,en,CC-1\n";

#[test]
fn every_name_fields_shows_under_feeds_is_a_name_attribute_mapping_takes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("employees.csv"), EVERY_COLUMN).unwrap();
    let path = manifest(dir.path(), "{csv: {path: employees.csv}}");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hris-operator"))
        .args(["fields", "-f"])
        .arg(&path)
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(output.status.success(), "{stdout}");
    let feeds: Vec<String> = stdout
        .lines()
        .skip(1)
        .take_while(|line| !line.contains(" fields. "))
        .flat_map(|line| {
            let columns: Vec<&str> = line.split_whitespace().collect();
            columns[1].split(',').map(str::to_owned).collect::<Vec<_>>()
        })
        .filter(|name| name != "-")
        .collect();
    assert_eq!(feeds.len(), 19, "{stdout}");
    assert!(feeds.iter().any(|name| name == "workEmail"), "{stdout}");

    // Map every one of them: the manifest is accepted and each value lands in its attribute.
    let mapping: String = feeds
        .iter()
        .enumerate()
        .map(|(index, name)| format!("    - {{from: {name}, to: attr{index}}}\n"))
        .collect();
    let text = std::fs::read_to_string(&path).unwrap() + "  attributeMapping:\n" + &mapping;
    std::fs::write(&path, text).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hris-operator"))
        .args(["simulate", "-f"])
        .arg(&path)
        .args(["--as-of", "2026-11-22", "--out"])
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let created = std::fs::read_to_string(dir.path().join("out/created.csv")).unwrap();
    let mut rows = csv::Reader::from_reader(created.as_bytes());
    let header = rows.headers().unwrap().clone();
    let row = rows.records().next().unwrap().unwrap();
    let value = |name: &str| {
        let index = feeds.iter().position(|f| f == name).unwrap();
        let column = header
            .iter()
            .position(|h| h == format!("attr{index}"))
            .unwrap();
        row[column].to_owned()
    };
    assert_eq!(value("workEmail"), "ada@corp.example");
    assert_eq!(value("personalEmail"), "ada@home.example");
    assert_eq!(value("customFields.costCenter"), "CC-1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fields_of_merge_print_examples_but_never_log_them() {
    let mut employee = Employee::new("E1", "Ada", "Lovelace", EmploymentStatus::Active);
    employee.emails.push(Email {
        address: "ada@corp.example".into(),
        kind: EmailType::Work,
    });
    employee.custom_fields.insert("costCenter", json!("CC-7"));
    let other = Employee::new("E2", "Grace", "Hopper", EmploymentStatus::Active);
    let emulator = merge::start(merge::MergeConfig {
        records: merge::records(&[other, employee]),
        ..Default::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("secrets");
    write(&secrets, "merge", "apiKey", "merge-key");
    write(&secrets, "merge", "accountToken", "account-token");
    let path = manifest(
        dir.path(),
        &format!(
            "{{merge: {{baseUrl: '{}', apiKeySecretRef: {{name: merge, key: apiKey}}, accountTokenSecretRef: {{name: merge, key: accountToken}}, referenceEmployeeId: E1}}}}",
            emulator.base_url()
        ),
    );
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_hris-operator"))
        .args(["fields", "-f"])
        .arg(&path)
        .arg("--secrets-dir")
        .arg(&secrets)
        .env("RUST_LOG", "trace")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(output.status.success(), "{stdout}{stderr}");
    let row = |field: &str| row(&stdout, field);
    assert_eq!(
        row("work_email"),
        ["work_email", "workEmail", "ada@corp.example"]
    );
    assert_eq!(
        row("custom_fields.costCenter"),
        [
            "custom_fields.costCenter",
            "customFields.costCenter",
            "CC-7"
        ]
    );
    for personal in ["ada@corp.example", "Lovelace", "CC-7"] {
        assert!(!stderr.contains(personal), "{personal} logged: {stderr}");
    }
    let paths: Vec<String> = emulator.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/api/hris/v1/employees/E1"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_reference_employee_is_named_with_the_field_and_the_fix() {
    let employee = Employee::new("E1", "Ada", "Lovelace", EmploymentStatus::Active);
    let emulator = merge::start(merge::MergeConfig {
        records: merge::records(&[employee]),
        ..Default::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("secrets");
    write(&secrets, "merge", "apiKey", "merge-key");
    write(&secrets, "merge", "accountToken", "account-token");
    let path = manifest(
        dir.path(),
        &format!(
            "{{merge: {{baseUrl: '{}', apiKeySecretRef: {{name: merge, key: apiKey}}, accountTokenSecretRef: {{name: merge, key: accountToken}}, referenceEmployeeId: E9}}}}",
            emulator.base_url()
        ),
    );
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_hris-operator"))
        .args(["fields", "-f"])
        .arg(&path)
        .arg("--secrets-dir")
        .arg(&secrets)
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        "error: spec.source.merge.referenceEmployeeId is `E9`, but Merge answered 404 to GET \
         /api/hris/v1/employees/E9; set it to the id of an employee the source has, or remove it \
         to take the examples from the first employee"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulate_serves_an_hr_api_that_fields_can_read() {
    use clap::Parser;
    use hris_emulators::serve::{Cli, start};
    let cli = Cli::try_parse_from([
        "hris-emulators",
        "personio",
        "--port",
        "0",
        "--employees",
        "3",
    ])
    .unwrap();
    let emulator = start(cli.emulator).await.unwrap();
    let line = emulator.first_line().to_owned();
    assert!(
        line.starts_with("Personio emulator on http://127.0.0.1:"),
        "{line}"
    );
    let base_url = line.split_whitespace().nth(3).unwrap().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("secrets");
    write(&secrets, "personio", "id", "personio-id");
    write(&secrets, "personio", "secret", "personio-secret");
    let path = manifest(
        dir.path(),
        &format!(
            "{{personio: {{baseUrl: '{base_url}', clientIdSecretRef: {{name: personio, key: id}}, clientSecretSecretRef: {{name: personio, key: secret}}}}}}"
        ),
    );
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_hris-operator"))
        .args(["fields", "-f"])
        .arg(&path)
        .arg("--secrets-dir")
        .arg(&secrets)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(output.status.success(), "{stdout}");
    let first_name = stdout
        .lines()
        .find(|l| l.starts_with("first_name"))
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>();
    assert_eq!(
        first_name,
        ["first_name", "(First", "name)", "firstName", "Ada"]
    );
    drop(emulator);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fields_warns_about_a_field_the_spec_names_that_the_source_lacks() {
    use hris_emulators::{hr, personio};
    let emulator = personio::start(personio::PersonioConfig {
        records: personio::records(&hr::demo_employees(3)),
        ..Default::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("secrets");
    write(&secrets, "personio", "clientId", "personio-id");
    write(&secrets, "personio", "clientSecret", "personio-secret");
    let fields = |custom: &str| {
        let path = manifest(
            dir.path(),
            &format!(
                "{{personio: {{baseUrl: '{}', clientIdSecretRef: {{name: personio, key: clientId}}, \
                 clientSecretSecretRef: {{name: personio, key: clientSecret}}, \
                 personalEmailAttribute: dynamic_private_email, customFields: {{costCenter: {custom}}}}}}}",
                emulator.base_url()
            ),
        );
        std::process::Command::new(env!("CARGO_BIN_EXE_hris-operator"))
            .args(["fields", "-f"])
            .arg(&path)
            .arg("--secrets-dir")
            .arg(&secrets)
            .output()
            .unwrap()
    };

    // Spelt as the source has it: no warning, the example shown.
    let output = fields("dynamic_cost_center");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(output.status.success(), "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
    assert!(stdout.contains("CC-100"), "{stdout}");

    // Misspelt: still listed (it is what the spec reads), marked, and warned about by name.
    let output = fields("dynamic_1234567");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(output.status.success(), "{stderr}");
    let row = stdout
        .lines()
        .find(|line| line.starts_with("dynamic_1234567"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(row.ends_with("(not in the source)"), "{row}");
    assert!(
        stderr.contains("warning: the spec reads 1 field(s)")
            && stderr.contains("dynamic_1234567 (for customFields.costCenter)"),
        "{stderr}"
    );
    // Standard fields the API leaves out of a record are not warned about.
    assert!(!stderr.contains("termination_date"), "{stderr}");
}

#[test]
fn fields_of_a_csv_export_show_its_columns_and_what_each_feeds() {
    let dir = tempfile::tempdir().unwrap();
    // A Windows-1252 export (as Excel saves "CSV") with the HR system's column names.
    let mut export = b"Employee #;Vorname;Nachname;Status;Eintritt;Notiz;Kostenstelle\r\n".to_vec();
    export.extend_from_slice(b"1001;J\xf6rg;Wei\xdf;Aktiv;01.02.2024;;KS-10\r\n");
    std::fs::write(dir.path().join("export.csv"), export).unwrap();
    let fields = |cost_center: &str| {
        let path = manifest(
            dir.path(),
            &format!(
                "{{csv: {{path: export.csv, delimiter: ';', encoding: Windows-1252, \
                 dateFormats: [DD.MM.YYYY], fieldMap: {{id: 'Employee #', firstName: Vorname, \
                 lastName: Nachname, employmentStatus: Status, startDate: Eintritt, \
                 customFields: {{costCenter: {cost_center}}}, statusValues: {{Aktiv: Active}}}}}}}}"
            ),
        );
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_hris-operator"))
            .args(["fields", "-f"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        (
            String::from_utf8(output.stdout).unwrap(),
            String::from_utf8(output.stderr).unwrap(),
        )
    };
    let (stdout, stderr) = fields("Kostenstelle");
    assert_eq!(stderr, "", "no warning");
    let row = |name: &str| -> Vec<String> {
        let line = stdout
            .lines()
            .find(|line| line.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} in {stdout}"));
        line[name.len()..]
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(row("Employee #"), ["id", "1001"]);
    assert_eq!(
        row("Vorname"),
        ["firstName", "Jörg"],
        "decoded from Windows-1252"
    );
    assert_eq!(row("Nachname"), ["lastName", "Weiß"]);
    assert_eq!(row("Eintritt"), ["startDate", "01.02.2024"]);
    assert_eq!(row("Notiz"), ["-"], "read by nothing");
    assert_eq!(row("Kostenstelle"), ["customFields.costCenter", "KS-10"]);
    assert!(stdout.contains("7 fields."), "{stdout}");

    // A column the spec names that the header lacks: listed, marked, and warned about.
    let (stdout, stderr) = fields("Kostenstele");
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("Kostenstele") && l.ends_with("(not in the source)")),
        "{stdout}"
    );
    assert!(
        stderr.contains("Kostenstele (for customFields.costCenter)"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fields_of_an_entra_group_show_what_each_property_feeds_and_never_log_a_name() {
    use clap::Parser;
    use hris_emulators::serve::{Cli, start};
    let cli = Cli::try_parse_from(["hris-emulators", "graph", "--port", "0"]).unwrap();
    let emulator = start(cli.emulator).await.unwrap();
    let origin = format!("http://{}", emulator.address());
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("secrets");
    write(&secrets, "graph", "clientSecret", "emulator-client-secret");
    let fields = |custom: &str| {
        let path = manifest(
            dir.path(),
            &format!(
                "{{microsoftGraph: {{tenantId: contoso.onmicrosoft.com, \
                 clientId: 11111111-2222-3333-4444-555555555555, \
                 clientSecretSecretRef: {{name: graph, key: clientSecret}}, \
                 authorityUrl: '{origin}', graphUrl: '{origin}/v1.0', \
                 scope: {{groups: [{}]}}, referenceEmployeeId: user1007@example.com, \
                 customFields: {{costCenter: {custom}}}}}}}",
                hris_emulators::graph::ALL_STAFF_GROUP
            ),
        );
        std::process::Command::new(env!("CARGO_BIN_EXE_hris-operator"))
            .args(["fields", "-f"])
            .arg(&path)
            .arg("--secrets-dir")
            .arg(&secrets)
            .env("RUST_LOG", "trace")
            .output()
            .unwrap()
    };
    let output = fields("employeeOrgData.costCenter");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(output.status.success(), "{stdout}{stderr}");
    let row = |field: &str| row(&stdout, field)[1..].to_vec();
    // The reference user, read by its userPrincipalName (demo employee 1007).
    assert_eq!(
        row("userPrincipalName"),
        ["primaryEmail", "user1007@example.com"]
    );
    assert_eq!(row("mail"), ["workEmail", "user1007@example.com"]);
    assert_eq!(row("givenName"), ["firstName", "Grace"]);
    assert_eq!(row("accountEnabled"), ["employmentStatus", "true"]);
    assert_eq!(row("employeeId"), ["employeeNumber", "1007"]);
    assert_eq!(
        row("manager.id"),
        [
            "managerId",
            hris_emulators::graph::object_id("1002").as_str()
        ]
    );
    assert_eq!(
        row("employeeOrgData.costCenter"),
        ["customFields.costCenter", "CC-102"]
    );
    assert_eq!(row("displayName"), ["-", "Grace", "Hopper"]);
    for personal in ["user1007", "Grace", "Hopper", "CC-102"] {
        assert!(!stderr.contains(personal), "{personal} logged: {stderr}");
    }
    assert!(
        stderr.contains("/v1.0/users/<name>"),
        "the request is logged without the name: {stderr}"
    );

    // A property users do not have: Graph refuses the selection, and the message says where
    // to look.
    let output = fields("costCentre");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("answered 400")
            && stderr.contains("spec.source.microsoftGraph.customFields"),
        "{stderr}"
    );
    drop(emulator);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fields_of_a_google_org_unit_show_what_each_field_feeds_and_never_log_a_name() {
    use clap::Parser;
    use hris_emulators::serve::{Cli, start};
    let key = concat!(env!("CARGO_MANIFEST_DIR"), "/config/samples/secrets/google");
    let cli = Cli::try_parse_from([
        "hris-emulators",
        "google",
        "--port",
        "0",
        "--service-account-key",
        &format!("{key}/serviceAccountKey.json"),
    ])
    .unwrap();
    let emulator = start(cli.emulator).await.unwrap();
    let origin = format!("http://{}", emulator.address());
    let dir = tempfile::tempdir().unwrap();
    let fields = |custom: &str| {
        let path = manifest(
            dir.path(),
            &format!(
                "{{googleWorkspace: {{serviceAccountKeySecretRef: \
                 {{name: google, key: serviceAccountKey.json}}, adminEmail: admin@acme.example, \
                 tokenUrl: '{origin}/token', apiUrl: '{origin}/admin/directory/v1', \
                 scope: {{orgUnits: [/Staff]}}, referenceEmployeeId: user1007@example.com, \
                 customFields: {{costCenter: {custom}}}}}}}"
            ),
        );
        std::process::Command::new(env!("CARGO_BIN_EXE_hris-operator"))
            .args(["fields", "-f"])
            .arg(&path)
            .arg("--secrets-dir")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/config/samples/secrets"
            ))
            .env("RUST_LOG", "trace")
            .output()
            .unwrap()
    };
    let output = fields("organizations.costCenter");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(output.status.success(), "{stdout}{stderr}");
    let row = |field: &str| row(&stdout, field)[1..].to_vec();
    // The reference user, read by its primary email (demo employee 1007).
    assert_eq!(
        row("primaryEmail"),
        ["primaryEmail", "user1007@example.com"]
    );
    assert_eq!(row("name.givenName"), ["firstName", "Grace"]);
    assert_eq!(row("suspended"), ["employmentStatus", "false"]);
    assert_eq!(row("externalIds.organization"), ["employeeNumber", "1007"]);
    assert_eq!(
        row("relations.manager"),
        ["managerId", "user1002@example.com"]
    );
    assert_eq!(row("organizations.title"), ["title", "Engineer"]);
    assert_eq!(row("locations.area"), ["location", "Stockholm"]);
    assert_eq!(
        row("organizations.costCenter"),
        ["customFields.costCenter", "CC-102"]
    );
    assert_eq!(row("orgUnitPath"), ["-", "/Staff/Engineering"]);
    for personal in ["user1007", "user1002", "Grace", "Hopper", "CC-102"] {
        assert!(!stderr.contains(personal), "{personal} logged: {stderr}");
    }
    assert!(
        stderr.contains("/admin/directory/v1/users/<name>"),
        "the request is logged without the name: {stderr}"
    );

    // A field users do not have: listed, marked and warned about.
    let output = fields("organizations.costCentre");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(output.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.lines().any(
            |l| l.starts_with("organizations.costCentre") && l.ends_with("(not in the source)")
        ),
        "{stdout}"
    );
    assert!(
        stderr.contains("organizations.costCentre (for customFields.costCenter)"),
        "{stderr}"
    );
    drop(emulator);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fields_of_slack_channels_show_what_each_member_field_feeds_and_never_log_a_name() {
    use clap::Parser;
    use hris_emulators::serve::{Cli, start};
    use hris_emulators::slack;
    let cli = Cli::try_parse_from(["hris-emulators", "slack", "--port", "0"]).unwrap();
    let emulator = start(cli.emulator).await.unwrap();
    let api = format!("http://{}/api", emulator.address());
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("secrets");
    write(&secrets, "slack", "botToken", slack::BOT_TOKEN);
    let fields = |reference: &str| {
        let path = manifest(
            dir.path(),
            &format!(
                "{{slack: {{botTokenSecretRef: {{name: slack, key: botToken}}, apiUrl: '{api}', \
                 requestsPerSecond: 50, scope: {{channels: [{}]}}, \
                 customFields: {{timeZone: tz}}{reference}}}}}",
                slack::ENGINEERING_CHANNEL
            ),
        );
        std::process::Command::new(env!("CARGO_BIN_EXE_hris-operator"))
            .args(["fields", "-f"])
            .arg(&path)
            .arg("--secrets-dir")
            .arg(&secrets)
            .env("RUST_LOG", "trace")
            .output()
            .unwrap()
    };
    // The reference member: demo employee 1007.
    let output = fields(&format!(
        ", referenceEmployeeId: {}",
        slack::member_id("1007")
    ));
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(output.status.success(), "{stdout}{stderr}");
    let shown = |field: &str| row(&stdout, field)[1..].to_vec();
    assert_eq!(shown("id"), ["id", slack::member_id("1007").as_str()]);
    assert_eq!(
        shown("profile.email"),
        ["workEmail", "user1007@example.com"]
    );
    assert_eq!(shown("profile.first_name"), ["firstName", "Grace"]);
    assert_eq!(shown("profile.last_name"), ["lastName", "Hopper"]);
    assert_eq!(shown("deleted"), ["employmentStatus", "false"]);
    assert_eq!(shown("profile.title"), ["title", "Engineer"]);
    assert_eq!(shown("locale"), ["preferredLanguage", "en"]);
    assert_eq!(shown("tz"), ["customFields.timeZone", "Europe/Stockholm"]);
    assert_eq!(shown("real_name"), ["-", "Grace", "Hopper"]);
    for personal in ["user1007", "Grace", "Hopper"] {
        assert!(!stderr.contains(personal), "{personal} logged: {stderr}");
    }
    assert!(
        stderr.contains("/api/users.info"),
        "the request is logged: {stderr}"
    );

    // Without a reference: the first person of the first page, not Slackbot (listed first).
    let output = fields("");
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(output.status.success(), "{stdout}");
    assert_eq!(row(&stdout, "id")[2], slack::member_id("1001"));
    assert_eq!(row(&stdout, "is_bot")[2], "false");

    // A member the workspace does not have names the field.
    let output = fields(", referenceEmployeeId: U0NOBODY00");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("spec.source.slack.referenceEmployeeId is `U0NOBODY00`, but Slack answered `user_not_found` to users.info"),
        "{stderr}"
    );
    drop(emulator);
}
