//! `source.googleWorkspace` against the Google emulator's demo account
//! (`google::demo_workspace`): the people in the unit /Staff and a unit per department below
//! it, a contractor in /Contractors and someone in /Staffing; the group all-staff holds the
//! group engineering (half of the people and a partner from outside the account), the other
//! half, and the first person again; the group everyone holds the customer.
//! - org unit scope reads the units and every unit below them, nothing else, each user once;
//! - group scope reads the users among the derived members (nested groups' members included),
//!   once each, and never a group, the customer entry or a member outside the account;
//! - a suspended and an archived account are leavers: their users are deactivated;
//! - a failing page or a repeated `pageToken` fails the fetch, and the run removes nobody;
//! - a scope the domain-wide delegation does not grant, or an administrator whose role may not
//!   read groups, is `CredentialsInvalid` naming the scope to grant; a 401 names the Secret;
//! - an org unit or group the account lacks names the entry; a manager outside the users read
//!   is no manager (never a guess);
//! - `check` and `fields` read one user of the scope.
//!
//! The conformance of the mapping itself is in `source_conformance.rs`.

use crate::common;

use std::{collections::BTreeSet, path::Path, time::Duration};

use common::{
    directories::GOOGLE_TEST_PUBLIC_KEY,
    google_source::google_source,
    source_runs::{self, context, short_delays},
};
use hris_emulators::{
    google::{
        self, ALL_STAFF_GROUP, CONTRACTORS_UNIT, ENGINEERING_GROUP, EVERYONE_GROUP, GoogleConfig,
        GoogleEmulator, SIBLING_UNIT, STAFF_UNIT,
    },
    hr::demo_employees,
};
use hris_operator::{
    connectors::source::{
        self,
        google::{GROUP_SCOPE, USER_SCOPE},
    },
    crd::SourceSpec,
    sync::{
        model::{Employee, EmploymentStatus},
        ports::source::{Source, SourceData, SourceError, fetch_all},
        run::RunError,
    },
};
use serde_json::{Map, Value, json};

/// People in the demo account (30 hold every status: index 29 has left).
const PEOPLE: usize = 30;
const CONTRACTOR: &str = "199000000000000000001";
const SIBLING: &str = "199000000000000000002";
const OUTSIDER: &str = "199000000000000000009";
const USERS_PATH: &str = "/admin/directory/v1/users";

/// The demo account with pages of `page_size` users (and members).
fn workspace(page_size: usize) -> (GoogleConfig, Vec<Employee>) {
    let employees = demo_employees(PEOPLE);
    let mut config = GoogleConfig::new(GOOGLE_TEST_PUBLIC_KEY);
    let demo = google::demo_workspace(&employees, &config.customer_id);
    config.users = demo.users;
    config.groups = demo.groups;
    config.outsiders = demo.outsiders;
    config.max_page_size = page_size;
    (config, employees)
}

/// A started emulator and a source built from a spec, as a run builds it.
struct Fixture {
    emulator: GoogleEmulator,
    source: Box<dyn Source>,
    spec: Map<String, Value>,
    dir: tempfile::TempDir,
}

async fn build(spec: &Map<String, Value>, dir: &Path) -> Result<Box<dyn Source>, SourceError> {
    let source_spec: SourceSpec =
        serde_json::from_value(json!({"googleWorkspace": Value::Object(spec.clone())})).unwrap();
    source::build_with(&source_spec, &context(dir), short_delays()).await
}

async fn fixture(config: GoogleConfig, scope: Value) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let emulator = GoogleEmulator::start(config.clone()).await.unwrap();
    let mut settings = Map::new();
    settings.insert("maxTries".into(), json!(2));
    let spec = google_source(
        &emulator,
        &config,
        &dir.path().join("secrets"),
        scope,
        settings,
        false,
    );
    let source = build(&spec, dir.path()).await.unwrap();
    Fixture {
        emulator,
        source,
        spec,
        dir,
    }
}

fn ids(data: &SourceData) -> BTreeSet<String> {
    data.employees.iter().map(|e| e.id.to_string()).collect()
}

fn user_ids<'a>(employees: impl IntoIterator<Item = &'a Employee>) -> BTreeSet<String> {
    employees
        .into_iter()
        .map(|e| google::user_id(&e.id))
        .collect()
}

/// The paths and queries the source asked the Directory API for, besides the token.
fn api_requests(emulator: &GoogleEmulator) -> Vec<(String, String)> {
    emulator
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/admin/"))
        .map(|r| (r.path, r.query))
        .collect()
}

#[tokio::test]
async fn org_unit_scope_reads_the_units_and_their_sub_units_and_nothing_else() {
    let (config, employees) = workspace(7);
    let f = fixture(config, json!({"orgUnits": [STAFF_UNIT]})).await;
    let data = fetch_all(f.source.as_ref()).await.unwrap();
    assert_eq!(data.errors, vec![]);
    // Everyone on the staff, in /Staff/<department>; not the contractor, and not /Staffing,
    // whose name only begins like /Staff.
    assert_eq!(ids(&data), user_ids(&employees));
    assert_eq!(data.employees.len(), PEOPLE);
    assert!(!ids(&data).contains(CONTRACTOR) && !ids(&data).contains(SIBLING));
    // Pages of 7: 30 users make 5 pages, each asking for the unit.
    let requests = api_requests(&f.emulator);
    assert_eq!(requests.len(), 5);
    for (path, query) in &requests {
        assert_eq!(path, USERS_PATH);
        assert!(
            query.contains("query=orgUnitPath%3D%27%2FStaff%27")
                && query.contains("customer=my_customer")
                && query.contains("projection=full")
                && query.contains("maxResults=500"),
            "{query}"
        );
    }
    common::vendor::judge("google", &f.emulator.request_log()).await;

    // A unit and one below it: the engineers, each once; two units side by side: both.
    let engineers = employees
        .iter()
        .filter(|e| e.department.as_deref() == Some("Engineering"));
    for (units, expected) in [
        (
            json!([
                "/Staff/Engineering",
                "/Staff/engineering",
                "/Staff/Engineering"
            ]),
            user_ids(engineers.clone()),
        ),
        (
            json!([CONTRACTORS_UNIT, SIBLING_UNIT]),
            [CONTRACTOR, SIBLING].map(str::to_owned).into(),
        ),
    ] {
        let (config, _) = workspace(500);
        let f = fixture(config, json!({"orgUnits": units})).await;
        let data = fetch_all(f.source.as_ref()).await.unwrap();
        assert_eq!(ids(&data), expected, "{units}");
        assert_eq!(data.employees.len(), expected.len(), "{units}: each once");
    }
}

#[tokio::test]
async fn group_scope_reads_the_users_among_derived_members_once_each_and_nothing_else() {
    let (config, employees) = workspace(7);
    let f = fixture(
        config,
        json!({"groups": [ALL_STAFF_GROUP, ENGINEERING_GROUP]}),
    )
    .await;
    let data = fetch_all(f.source.as_ref()).await.unwrap();
    assert_eq!(data.errors, vec![]);
    // Everyone, the nested group's members included; the first person (in both groups, and
    // in all-staff twice) once; no contractor, no partner from outside the account.
    assert_eq!(ids(&data), user_ids(&employees));
    assert_eq!(data.employees.len(), PEOPLE, "each user once");
    assert!(!ids(&data).contains(OUTSIDER) && !ids(&data).contains(CONTRACTOR));
    // Members with derived membership, 7 a page (all-staff lists 32: the nested group, 30
    // people and the partner; engineering 16: 15 people and the partner), then every user of the account
    // once, 7 a page (32 users).
    let requests = api_requests(&f.emulator);
    let members = |group: &str| format!("/admin/directory/v1/groups/{group}/members");
    let paths: Vec<&str> = requests.iter().map(|(p, _)| p.as_str()).collect();
    let expected: Vec<String> = [
        vec![members(ALL_STAFF_GROUP); 5],
        vec![members(ENGINEERING_GROUP); 3],
        vec![USERS_PATH.to_owned(); 5],
    ]
    .concat();
    assert_eq!(paths, expected);
    assert!(
        requests[..8]
            .iter()
            .all(|(_, q)| q.contains("includeDerivedMembership=true")
                && q.contains("maxResults=200")),
        "{requests:?}"
    );
    assert!(
        requests[8..].iter().all(|(_, q)| !q.contains("query=")),
        "{requests:?}"
    );
    common::vendor::judge("google", &f.emulator.request_log()).await;

    // The emulator lists the nested group and the partner as members: the source left them.
    let listed = members_of(&f, ALL_STAFF_GROUP).await;
    assert!(listed.contains(&("GROUP".into(), "03engineering01".into())));
    assert!(listed.contains(&("USER".into(), OUTSIDER.into())));

    // The customer as a member stands for every user of the account: derived membership
    // lists them all, the customer entry itself is no person.
    let (config, _) = workspace(500);
    let f = fixture(config, json!({"groups": [EVERYONE_GROUP]})).await;
    let data = fetch_all(f.source.as_ref()).await.unwrap();
    assert_eq!(data.employees.len(), PEOPLE + 2);
    let listed = members_of(&f, EVERYONE_GROUP).await;
    assert!(listed.contains(&("CUSTOMER".into(), "C03az79cb".into())));
}

/// The (type, id) of every member the emulator lists for a group with derived membership.
async fn members_of(f: &Fixture, group: &str) -> BTreeSet<(String, String)> {
    hris_operator::connectors::http::install_crypto_provider();
    let key = std::fs::read_to_string(f.dir.path().join("secrets/google/serviceAccountKey.json"))
        .unwrap();
    let tokens = hris_operator::connectors::google::ServiceAccountTokens::from_key_file(
        &key,
        "admin@acme.example",
        &[GROUP_SCOPE],
        None,
        Duration::from_secs(10),
    )
    .unwrap();
    use hris_operator::connectors::http::TokenSource;
    let token = tokens.token().await.unwrap();
    let mut listed = BTreeSet::new();
    let mut page_token: Option<String> = None;
    loop {
        let mut request = reqwest::Client::new()
            .get(format!("{}/groups/{group}/members", f.emulator.api_url()))
            .query(&[("includeDerivedMembership", "true")])
            .bearer_auth(&token);
        if let Some(page_token) = &page_token {
            request = request.query(&[("pageToken", page_token)]);
        }
        let page: Value = request.send().await.unwrap().json().await.unwrap();
        for member in page["members"].as_array().unwrap() {
            listed.insert((
                member["type"].as_str().unwrap().to_owned(),
                member["id"].as_str().unwrap().to_owned(),
            ));
        }
        match page["nextPageToken"].as_str() {
            Some(next) => page_token = Some(next.to_owned()),
            None => break,
        }
    }
    listed
}

/// A run of `spec_source` into a file directory in `dir`, applied on 2026-11-22.
async fn apply(dir: &Path, spec_source: &Map<String, Value>) -> Result<String, RunError> {
    source_runs::apply(dir, json!({"googleWorkspace": spec_source}), "gws:").await
}

#[tokio::test]
async fn a_suspended_and_an_archived_account_become_leavers_whose_users_are_deactivated() {
    let (config, employees) = workspace(500);
    let f = fixture(config, json!({"allUsers": true})).await;
    apply(f.dir.path(), &f.spec).await.unwrap();
    let before = source_runs::directory(f.dir.path());
    // Everyone employed has a user; the one who left (a suspended account) has none.
    let left = employees
        .iter()
        .filter(|e| e.employment_status == EmploymentStatus::Inactive)
        .count();
    assert!(left > 0);
    assert_eq!(
        before.len(),
        PEOPLE + 2 - left,
        "with the contractor and /Staffing"
    );
    assert!(before.iter().all(|(_, active)| *active));
    // An administrator suspends one account and archives another.
    let suspended = google::user_id(&employees[3].id);
    let archived = google::user_id(&employees[4].id);
    f.emulator
        .update_user(&suspended, json!({"suspended": true}));
    f.emulator.update_user(&archived, json!({"archived": true}));
    let counts: Value = serde_json::from_str(&apply(f.dir.path(), &f.spec).await.unwrap()).unwrap();
    assert_eq!(counts["deactivated"], 2, "{counts}");
    let after = source_runs::directory(f.dir.path());
    let leavers = [format!("gws:{suspended}"), format!("gws:{archived}")];
    for (id, active) in &after {
        assert_eq!(*active, !leavers.contains(id), "{id}");
    }
    assert_eq!(after.len(), before.len(), "deactivated, not deleted");
}

#[tokio::test]
async fn a_failing_page_or_a_repeated_page_token_fails_the_fetch_and_removes_nobody() {
    let (config, _) = workspace(7);
    let good = fixture(config.clone(), json!({"groups": [ALL_STAFF_GROUP]})).await;
    apply(good.dir.path(), &good.spec).await.unwrap();
    let before = source_runs::directory(good.dir.path());
    assert!(!before.is_empty());
    for (faults, said) in source_runs::page_faults("pageToken it had returned before") {
        let broken = GoogleEmulator::start(GoogleConfig {
            faults,
            ..config.clone()
        })
        .await
        .unwrap();
        let mut spec = good.spec.clone();
        spec.insert("tokenUrl".into(), json!(broken.token_url()));
        spec.insert("apiUrl".into(), json!(broken.api_url()));
        let run = apply(good.dir.path(), &spec).await;
        source_runs::assert_removed_nobody(good.dir.path(), &before, run, said);
        broken.stop().await;
    }
}

#[tokio::test]
async fn a_scope_not_granted_names_the_scope_to_grant() {
    // The domain-wide delegation lacks the group scope: the token endpoint refuses the token
    // (it refuses a request for any scope not granted), before any read.
    let (mut config, _) = workspace(500);
    config.delegated_scopes = vec![USER_SCOPE.to_owned()];
    let f = fixture(config, json!({"groups": [ALL_STAFF_GROUP]})).await;
    let error = fetch_all(f.source.as_ref()).await.unwrap_err();
    assert!(
        matches!(error, SourceError::CredentialsInvalid(_)),
        "{error}"
    );
    let message = error.to_string();
    for part in [
        "token endpoint answered 401",
        GROUP_SCOPE,
        USER_SCOPE,
        "Domain-wide delegation",
        "secret google/serviceAccountKey.json",
    ] {
        assert!(message.contains(part), "`{part}` not in: {message}");
    }
    assert_eq!(api_requests(&f.emulator), vec![], "refused before any read");
    // Without groups in the scope, the same delegation is enough.
    let (mut config, _) = workspace(500);
    config.delegated_scopes = vec![USER_SCOPE.to_owned()];
    let f = fixture(config, json!({"allUsers": true})).await;
    assert_eq!(
        fetch_all(f.source.as_ref()).await.unwrap().employees.len(),
        PEOPLE + 2
    );

    // An administrator whose role may not read groups (or users): 403 forbidden, "Not
    // Authorized to access this resource/api", at once.
    for (scope, role, needed) in [
        (json!({"groups": [ALL_STAFF_GROUP]}), "users", GROUP_SCOPE),
        (json!({"allUsers": true}), "groups", USER_SCOPE),
    ] {
        let (mut config, _) = workspace(500);
        config.admin_privileges = vec![role.to_owned()];
        let f = fixture(config, scope.clone()).await;
        let error = fetch_all(f.source.as_ref()).await.unwrap_err();
        assert!(
            matches!(error, SourceError::CredentialsInvalid(_)),
            "{scope}: {error}"
        );
        let message = error.to_string();
        assert!(
            message.contains("answered 403")
                && message.contains("forbidden")
                && message.contains(needed)
                && message.contains("spec.source.googleWorkspace.adminEmail"),
            "{scope}: {message}"
        );
        assert_eq!(
            api_requests(&f.emulator).len(),
            1,
            "{scope}: refused at once"
        );
    }
}

#[tokio::test]
async fn a_refused_token_names_the_secret() {
    let (config, _) = workspace(500);
    let f = fixture(config, json!({"allUsers": true})).await;
    // Google answers 401 to the token it issued (revoked, say): the client fetches a new
    // token once, and a second 401 stops the fetch naming the Secret to check.
    f.emulator.fail_next(2, 401, "authError");
    let error = fetch_all(f.source.as_ref()).await.unwrap_err();
    assert!(
        matches!(error, SourceError::CredentialsInvalid(_)),
        "{error}"
    );
    let message = error.to_string();
    assert!(
        message.contains(&format!("answered 401 to {USERS_PATH}"))
            && message.contains("secret google/serviceAccountKey.json"),
        "{message}"
    );
    let statuses: Vec<(String, u16)> = f
        .emulator
        .requests()
        .into_iter()
        .map(|r| (r.path, r.status))
        .collect();
    assert_eq!(
        statuses,
        [
            ("/token".to_owned(), 200),
            (USERS_PATH.to_owned(), 401),
            ("/token".to_owned(), 200),
            (USERS_PATH.to_owned(), 401),
        ]
    );

    // A key file of another service account: the token endpoint refuses it.
    let dir = tempfile::tempdir().unwrap();
    let mut spec = google_source(
        &f.emulator,
        &GoogleConfig::new(GOOGLE_TEST_PUBLIC_KEY),
        &dir.path().join("secrets"),
        json!({"allUsers": true}),
        Map::new(),
        true,
    );
    spec.insert("maxTries".into(), json!(2));
    let source = build(&spec, dir.path()).await.unwrap();
    let error = fetch_all(source.as_ref()).await.unwrap_err();
    assert!(
        matches!(error, SourceError::CredentialsInvalid(_)),
        "{error}"
    );
    assert!(
        error.to_string().contains("token endpoint answered 400")
            && error
                .to_string()
                .contains("secret google/serviceAccountKey.json"),
        "{error}"
    );
    // And a Secret that holds no key file names it.
    std::fs::write(
        dir.path().join("secrets/google/serviceAccountKey.json"),
        "not a key",
    )
    .unwrap();
    let Err(error) = build(&spec, dir.path()).await else {
        panic!("a Secret without a key file builds no source");
    };
    let error = error.to_string();
    assert!(
        error.contains("secret google/serviceAccountKey.json")
            && error.contains("not a JSON key file"),
        "{error}"
    );
}

#[tokio::test]
async fn an_org_unit_or_group_the_account_lacks_names_the_entry() {
    for (scope, field, fix) in [
        (
            json!({"orgUnits": [STAFF_UNIT, "/Sales"]}),
            "spec.source.googleWorkspace.scope.orgUnits[1] is `/Sales`",
            "Organizational units",
        ),
        (
            json!({"groups": [ALL_STAFF_GROUP, "nobody@acme.example"]}),
            "spec.source.googleWorkspace.scope.groups[1] is `nobody@acme.example`",
            "Directory → Groups",
        ),
    ] {
        let (config, _) = workspace(500);
        let f = fixture(config, scope.clone()).await;
        let error = fetch_all(f.source.as_ref()).await.unwrap_err();
        assert!(matches!(error, SourceError::InvalidInput(_)), "{error}");
        let message = error.to_string();
        assert!(message.starts_with(field), "{scope}: {message}");
        assert!(message.contains(fix), "{scope}: {message}");
    }
}

#[tokio::test]
async fn a_manager_outside_the_users_read_is_no_manager() {
    let (config, employees) = workspace(500);
    // Employee 6 (Engineering) reports to employee 1 (Sales).
    let report = &employees[6];
    assert_eq!(report.department.as_deref(), Some("Engineering"));
    assert_eq!(report.manager_id.as_deref(), Some(employees[1].id.as_str()));
    let read = |data: &SourceData| {
        data.employees
            .iter()
            .find(|e| e.id == google::user_id(&report.id))
            .unwrap()
            .manager_id
            .clone()
    };
    let f = fixture(config.clone(), json!({"allUsers": true})).await;
    let data = fetch_all(f.source.as_ref()).await.unwrap();
    assert_eq!(
        read(&data).as_deref(),
        Some(google::user_id(&employees[1].id).as_str())
    );
    let f = fixture(config, json!({"orgUnits": ["/Staff/Engineering"]})).await;
    let data = fetch_all(f.source.as_ref()).await.unwrap();
    assert_eq!(read(&data), None, "the manager's address names nobody read");
}

#[tokio::test]
async fn check_and_fields_read_one_user_of_the_scope() {
    for scope in [
        json!({"allUsers": true}),
        json!({"orgUnits": ["/Staff/Sales"]}),
        json!({"groups": [ENGINEERING_GROUP]}),
    ] {
        let (config, _) = workspace(500);
        let f = fixture(config, scope.clone()).await;
        f.source.check().await.unwrap();
        let fields = f.source.fields().await.unwrap();
        let first = fields.iter().find(|f| f.name == "name.givenName").unwrap();
        assert!(first.example.is_some(), "{scope}: {fields:?}");
        // One page of one user (a group's first page of members, then that user), and the
        // check's one.
        let requests = api_requests(&f.emulator);
        assert!(requests.len() <= 3, "{scope}: {requests:?}");
        assert!(
            requests.iter().all(|(_, q)| !q.contains("pageToken")),
            "{scope}: {requests:?}"
        );
    }
    // A group the account lacks fails the check naming the entry.
    let (config, _) = workspace(500);
    let f = fixture(config, json!({"groups": ["nobody@acme.example"]})).await;
    let error = f.source.check().await.unwrap_err().to_string();
    assert!(
        error.starts_with("spec.source.googleWorkspace.scope.groups[0] is `nobody@acme.example`"),
        "{error}"
    );
}
