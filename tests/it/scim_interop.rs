//! The SCIM target against two third-party SCIM servers, the real `scim2-server` (PyPI) and one
//! built on SCIMMY (npm, tests/scimmy/server.js), through the binary: create (with enterprise
//! attributes and a manager), update, deactivate, delete, a conflict on an existing userName, and
//! a second run that writes nothing. The same case runs against each server; assertions read the
//! server's state, not only our report.

use crate::common;

use std::{path::Path, process::Command};

use common::{
    child_server::{ChildServer, block_on_thread, http_client},
    scim2_server::Scim2Server,
    scimmy::ScimmyServer,
};
use serde_json::{Value, json};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const HEADER: &str = "id,firstName,lastName,workEmail,employmentStatus,startDate,endDate,managerId,department,title\n";

/// The HR export of the second and third runs: a mover (CTO), a leaver (3) and an absent one (4).
const SECOND_EXPORT: &str = "1,Cecilia,Wallenberg,cecilia@acme.example,Active,2015-01-01,,,Executive,CEO\n\
         2,Anna,Berg,anna@acme.example,Active,2016-01-01,,1,R&D,CTO\n\
         3,Jörg,Baumann,jorg@acme.example,Inactive,2020-01-01,2026-10-31,2,R&D,Engineer\n\
         5,Taken,Name,taken@acme.example,Active,2021-01-01,,1,Sales,Rep\n";

fn manifest(base_url: &str) -> String {
    format!(
        r#"apiVersion: hris-operator.io/v1alpha1
kind: HrisConnection
metadata: {{name: interop, namespace: test}}
spec:
  source: {{csv: {{path: employees.csv}}}}
  target:
    scim:
      baseUrl: {base_url}
      credentialsSecretRef: {{name: scim, key: token}}
      requestsPerSecond: 200
  externalIdPrefix: "acme:"
  matching: [externalId]
  attributeMapping:
    - {{from: department, to: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"}}
    - {{from: title, to: title}}
  lifecycle: {{absentUsers: Delete}}
  safeguards: {{maxDeletePercent: 100}}
"#
    )
}

fn run(dir: &Path, command: &str, employees: &str) -> Value {
    std::fs::write(dir.join("employees.csv"), format!("{HEADER}{employees}")).unwrap();
    let out = dir.join(format!("out-{command}"));
    let output = Command::new(env!("CARGO_BIN_EXE_hris-operator"))
        .args([command, "--as-of", "2026-11-22", "--secrets-dir"])
        .arg(dir.join("secrets"))
        .arg("-f")
        .arg(dir.join("connection.yaml"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap()
}

fn by_external_id<'a>(users: &'a [Value], external_id: &str) -> &'a Value {
    users
        .iter()
        .find(|u| u["externalId"] == external_id)
        .unwrap_or_else(|| panic!("{external_id} on the server: {users:#?}"))
}

fn counts(summary: &Value) -> [u64; 5] {
    ["created", "updated", "deactivated", "deleted", "conflicts"]
        .map(|name| summary["counts"][name].as_u64().unwrap())
}

#[test]
fn provisions_into_scim2_server_and_a_second_run_writes_nothing() {
    provisions_and_a_second_run_writes_nothing(&Scim2Server::start("interop-token"));
}

#[test]
fn provisions_into_scimmy_and_a_second_run_writes_nothing() {
    provisions_and_a_second_run_writes_nothing(&ScimmyServer::start("interop-token"));
}

fn provisions_and_a_second_run_writes_nothing(server: &ChildServer) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("secrets/scim")).unwrap();
    std::fs::write(
        dir.path().join("secrets/scim/token"),
        format!("{}\n", server.token()),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("connection.yaml"),
        manifest(&server.base_url()),
    )
    .unwrap();

    // Another system's account already holds a userName one employee would get.
    let url = format!("{}/Users", server.base_url());
    let token = server.token().to_owned();
    block_on_thread(move || async move {
        let response = http_client()
            .post(url)
            .bearer_auth(token)
            .json(&json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "taken@acme.example",
                "externalId": "other-system:1",
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 201);
    });

    let first = run(
        dir.path(),
        "apply",
        "1,Cecilia,Wallenberg,cecilia@acme.example,Active,2015-01-01,,,Executive,CEO\n\
         2,Anna,Berg,anna@acme.example,Active,2016-01-01,,1,R&D,VP Engineering\n\
         3,Jörg,Baumann,jorg@acme.example,Active,2020-01-01,,2,R&D,Engineer\n\
         4,Erik,Lind,erik@acme.example,Active,2021-01-01,,2,R&D,Engineer\n\
         5,Taken,Name,taken@acme.example,Active,2021-01-01,,1,Sales,Rep\n",
    );
    assert_eq!(counts(&first), [4, 0, 0, 0, 1], "{first:#}");
    let users = server.users();
    assert_eq!(
        users.len(),
        5,
        "four created next to the other system's user"
    );
    let ceo = by_external_id(&users, "acme:1");
    let vp = by_external_id(&users, "acme:2");
    let engineer = by_external_id(&users, "acme:3");
    assert_eq!(vp["userName"], "anna@acme.example");
    assert_eq!(vp["name"]["givenName"], "Anna");
    assert_eq!(vp["title"], "VP Engineering");
    assert_eq!(vp[ENTERPRISE]["department"], "R&D");
    assert_eq!(vp[ENTERPRISE]["manager"]["value"], ceo["id"]);
    assert_eq!(engineer[ENTERPRISE]["manager"]["value"], vp["id"]);
    assert_eq!(engineer["active"], true);
    assert_eq!(engineer["name"]["givenName"], "Jörg");
    // The conflicting employee was not created, and the other system's user is untouched.
    let taken: Vec<_> = users
        .iter()
        .filter(|u| u["userName"] == "taken@acme.example")
        .collect();
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0]["externalId"], "other-system:1");

    // A mover, a leaver and an absent employee.
    let second = run(dir.path(), "apply", SECOND_EXPORT);
    assert_eq!(counts(&second), [0, 1, 1, 1, 1], "{second:#}");
    let users = server.users();
    assert_eq!(by_external_id(&users, "acme:2")["title"], "CTO");
    assert_eq!(by_external_id(&users, "acme:3")["active"], false);
    assert!(users.iter().all(|u| u["externalId"] != "acme:4"), "deleted");

    // Nothing changed in HR: nothing is written. Every user keeps its meta: its version where the
    // server keeps versions (scim2-server), its lastModified everywhere.
    let metas = |users: &[Value]| -> Vec<(Value, Value)> {
        let mut v: Vec<_> = users
            .iter()
            .map(|u| (u["id"].clone(), u["meta"].clone()))
            .collect();
        v.sort_by_key(|(id, _)| id.to_string());
        v
    };
    assert!(
        users.iter().all(|u| u["meta"]["lastModified"].is_string()),
        "every user says when it last changed: {users:#?}"
    );
    let before = metas(&users);
    let third = run(dir.path(), "apply", SECOND_EXPORT);
    assert_eq!(counts(&third), [0, 0, 0, 0, 1], "{third:#}");
    assert_eq!(metas(&server.users()), before);
}
