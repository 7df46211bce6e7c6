//! The safety rules where the behaviour is the target's, through the binary against the real
//! third-party scim2-server: a lost work address renames nobody until approved, leavers coming
//! back as Active are held as reactivations, a disabled account is never adopted, and a joiner
//! before its start date leaves a working account alone.

use crate::common;

use std::{path::Path, process::Output};

use common::{
    child_server::{block_on_thread, http_client},
    hr_sources::write_secret,
    scim2_server::Scim2Server,
};
use serde_json::{Value, json};

const TOKEN: &str = "safety-token";
const PREFIX: &str = "acme:";

struct Person {
    id: String,
    work: String,
    personal: String,
    status: &'static str,
    start: &'static str,
}

fn people(count: usize) -> Vec<Person> {
    (1..=count)
        .map(|n| Person {
            id: format!("E{n:03}"),
            work: format!("person{n:03}@corp.example"),
            personal: format!("person{n:03}@home.example"),
            status: "Active",
            start: "2020-01-01",
        })
        .collect()
}

/// Writes the export; `with_work` false drops every work address (a lost permission).
fn write_export(dir: &Path, people: &[Person], with_work: bool) {
    let mut text =
        String::from("id,firstName,lastName,workEmail,personalEmail,employmentStatus,startDate\n");
    for p in people {
        let work = if with_work { p.work.as_str() } else { "" };
        text.push_str(&format!(
            "{},First{},Last,{work},{},{},{}\n",
            p.id, p.id, p.personal, p.status, p.start
        ));
    }
    std::fs::write(dir.join("employees.csv"), text).unwrap();
}

fn write_manifest(dir: &Path, server: &Scim2Server, extra: &str) {
    let manifest = format!(
        "apiVersion: hris-operator.io/v1alpha1
kind: HrisConnection
metadata: {{name: safety, namespace: people}}
spec:
  mode: Active
  source: {{csv: {{path: employees.csv}}}}
  target:
    scim: {{baseUrl: '{}', credentialsSecretRef: {{name: scim, key: token}}, requestsPerSecond: 1000}}
  externalIdPrefix: '{PREFIX}'
  lifecycle: {{inactiveUsers: Deactivate, absentUsers: Deactivate, preHireDays: 14}}
{extra}",
        server.base_url()
    );
    std::fs::write(dir.join("connection.yaml"), manifest).unwrap();
    write_secret(&dir.join("secrets"), "scim", "token", TOKEN);
}

fn apply(dir: &Path, as_of: &str, approve: Option<&str>, out: &str) -> (Output, Value) {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_hris-operator"));
    command
        .args(["apply", "--as-of", as_of, "--secrets-dir"])
        .arg(dir.join("secrets"))
        .arg("-f")
        .arg(dir.join("connection.yaml"))
        .arg("--out")
        .arg(dir.join(out))
        .env("RUST_LOG", "warn");
    if let Some(hash) = approve {
        command.args(["--approve", hash]);
    }
    let output = command.output().unwrap();
    let summary = std::fs::read(dir.join(out).join("summary.json"))
        .map(|bytes| serde_json::from_slice(&bytes).unwrap())
        .unwrap_or(Value::Null);
    (output, summary)
}

fn describe(output: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Users by userName: (externalId, active, primary email).
fn users(server: &Scim2Server) -> Vec<(String, String, bool)> {
    let mut users: Vec<_> = server
        .users()
        .iter()
        .map(|u| {
            (
                u["userName"].as_str().unwrap_or("").to_owned(),
                u["externalId"].as_str().unwrap_or("").to_owned(),
                u["active"].as_bool().unwrap_or(true),
            )
        })
        .collect();
    users.sort();
    users
}

fn post_user(server: &Scim2Server, body: Value) {
    let url = format!("{}/Users", server.base_url());
    let status = block_on_thread(move || async move {
        http_client()
            .post(&url)
            .bearer_auth(TOKEN)
            .header("content-type", "application/scim+json")
            .json(&body)
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status, 201);
}

#[test]
fn work_addresses_lost_from_the_export_rename_nobody_until_approved() {
    let server = Scim2Server::start(TOKEN);
    let dir = tempfile::tempdir().unwrap();
    let staff = people(12);
    write_manifest(dir.path(), &server, "");
    write_export(dir.path(), &staff, true);
    let (first, summary) = apply(dir.path(), "2026-11-22", None, "first");
    assert_eq!(first.status.code(), Some(0), "{}", describe(&first));
    assert_eq!(summary["counts"]["created"], 12);
    let created = users(&server);

    // The export lost the work addresses: every login would move to a private address.
    write_export(dir.path(), &staff, false);
    let (held, summary) = apply(dir.path(), "2026-11-22", None, "held");
    let table = describe(&held);
    assert_eq!(held.status.code(), Some(3), "{table}");
    assert_eq!(summary["result"], "Withheld");
    assert_eq!(summary["counts"]["updated"], 0);
    let guards = &summary["safeguard"]["guards"];
    assert!(
        guards
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["guard"] == "IdentityChanges" && g["changes"] == 12),
        "{summary}"
    );
    assert!(
        table.contains("identityChanges: 12 of 12 managed users"),
        "{table}"
    );
    assert!(
        table.contains("personal one, which always needs approval"),
        "{table}"
    );
    assert_eq!(users(&server), created, "nothing on the server changed");

    // A person who approves exactly that plan lets it through.
    let hash = summary["planHash"].as_str().unwrap().to_owned();
    let (approved, summary) = apply(dir.path(), "2026-11-22", Some(&hash), "approved");
    assert_eq!(approved.status.code(), Some(0), "{}", describe(&approved));
    assert_eq!(summary["counts"]["updated"], 12);
    assert!(
        users(&server)
            .iter()
            .all(|(name, _, _)| name.ends_with("@home.example")),
        "{:?}",
        users(&server)
    );
}

#[test]
fn leavers_coming_back_as_active_are_held_as_reactivations() {
    let server = Scim2Server::start(TOKEN);
    let dir = tempfile::tempdir().unwrap();
    let mut staff = people(10);
    write_manifest(dir.path(), &server, "  safeguards: {removals: {}}\n");
    write_export(dir.path(), &staff, true);
    assert_eq!(
        apply(dir.path(), "2026-11-22", None, "a").0.status.code(),
        Some(0)
    );
    for p in &mut staff[..6] {
        p.status = "Inactive";
    }
    write_export(dir.path(), &staff, true);
    let (left, summary) = apply(dir.path(), "2026-11-22", None, "b");
    assert_eq!(left.status.code(), Some(0), "{}", describe(&left));
    assert_eq!(summary["counts"]["deactivated"], 6);

    // A broken export marks everyone Active again.
    for p in &mut staff {
        p.status = "Active";
    }
    write_export(dir.path(), &staff, true);
    let (held, summary) = apply(dir.path(), "2026-11-22", None, "c");
    assert_eq!(held.status.code(), Some(3), "{}", describe(&held));
    assert_eq!(summary["safeguard"]["guards"][0]["guard"], "Reactivations");
    assert_eq!(summary["safeguard"]["guards"][0]["changes"], 6);
    let inactive = users(&server).iter().filter(|u| !u.2).count();
    assert_eq!(inactive, 6, "still deactivated on the server");

    let hash = summary["planHash"].as_str().unwrap().to_owned();
    let (approved, summary) = apply(dir.path(), "2026-11-22", Some(&hash), "d");
    assert_eq!(approved.status.code(), Some(0), "{}", describe(&approved));
    assert_eq!(summary["counts"]["updated"], 6);
    assert!(users(&server).iter().all(|u| u.2));
}

#[test]
fn a_disabled_account_with_the_address_is_never_adopted() {
    let server = Scim2Server::start(TOKEN);
    let dir = tempfile::tempdir().unwrap();
    let staff = people(1);
    post_user(
        &server,
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": staff[0].work,
            "name": {"givenName": "Old", "familyName": "Account"},
            "emails": [{"value": staff[0].work, "type": "work", "primary": true}],
            "active": false,
        }),
    );
    let before = users(&server);
    write_manifest(dir.path(), &server, "");
    write_export(dir.path(), &staff, true);
    let (run, summary) = apply(dir.path(), "2026-11-22", None, "out");
    assert_eq!(run.status.code(), Some(0), "{}", describe(&run));
    assert_eq!(summary["counts"]["conflicts"], 1);
    assert_eq!(summary["counts"]["updated"], 0);
    assert_eq!(summary["counts"]["created"], 0);
    assert_eq!(users(&server), before, "the old account is untouched");
    let conflicts = std::fs::read_to_string(dir.path().join("out/conflicts.csv")).unwrap();
    assert!(conflicts.contains("InactiveAccount"), "{conflicts}");
    assert!(
        conflicts.contains("to adopt it deliberately"),
        "{conflicts}"
    );
}

#[test]
fn a_joiner_before_its_start_date_leaves_a_working_account_alone() {
    let server = Scim2Server::start(TOKEN);
    let dir = tempfile::tempdir().unwrap();
    let mut staff = people(1);
    staff[0].status = "Pending";
    staff[0].start = "2026-12-01";
    // A contractor's working account, about to become the employee's.
    post_user(
        &server,
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": staff[0].work,
            "name": {"givenName": "Contractor", "familyName": "Account"},
            "emails": [{"value": staff[0].work, "type": "work", "primary": true}],
            "active": true,
        }),
    );
    let before = users(&server);
    write_manifest(dir.path(), &server, "");
    write_export(dir.path(), &staff, true);
    let (early, summary) = apply(dir.path(), "2026-11-22", None, "early");
    assert_eq!(early.status.code(), Some(0), "{}", describe(&early));
    assert_eq!(summary["counts"]["skipped"], 1);
    assert_eq!(users(&server), before, "still active, not adopted");
    let skipped = std::fs::read_to_string(dir.path().join("early/skipped.csv")).unwrap();
    assert!(
        skipped.contains("adopted once the employee is active"),
        "{skipped}"
    );

    let (on_start, summary) = apply(dir.path(), "2026-12-01", None, "start");
    assert_eq!(on_start.status.code(), Some(0), "{}", describe(&on_start));
    assert_eq!(summary["counts"]["updated"], 1);
    assert_eq!(
        users(&server),
        [(staff[0].work.clone(), format!("{PREFIX}E001"), true)]
    );
}
