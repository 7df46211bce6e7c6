//! `source.microsoftGraph` against the Graph emulator's demo tenant (`graph::demo_tenant`):
//! the group All Staff holds half of the people, the group Engineering (the other half, a guest
//! and a device) and a service principal and a shared account without a mailbox.
//! - group scope reads the users among the transitive members, each once, and never a group,
//!   device or service principal; guests and accounts without a mailbox only with
//!   `includeGuests`;
//! - users scope reads listed users by object id and by userPrincipalName, one request each;
//! - a disabled account is a leaver: its user is deactivated;
//! - a failing page or a repeated `@odata.nextLink` fails the fetch, and the run removes
//!   nobody; an unreadable user (an address that is none, no names to read) is a record error
//!   naming the field, and removes nobody either;
//! - a missing application permission is `CredentialsInvalid` naming the permission to grant;
//!   a group id the tenant lacks names the entry.
//!
//! The conformance of the mapping itself is in `source_conformance.rs`.

use crate::common;

use std::{collections::BTreeSet, path::Path};

use common::{
    graph_source::graph_source,
    source_runs::{self, context, short_delays},
};
use hris_emulators::{
    graph::{self, ALL_STAFF_GROUP, ENGINEERING_GROUP, GraphConfig, GraphEmulator},
    hr::demo_employees,
};
use hris_operator::{
    connectors::source,
    crd::SourceSpec,
    sync::{
        model::{Employee, EmploymentStatus},
        ports::source::{Source, SourceData, SourceError, fetch_all},
        run::RunError,
    },
};
use serde_json::{Map, Value, json};

/// People in the demo tenant (30 hold every status: index 29 has left).
const PEOPLE: usize = 30;
const GUEST: &str = "9e570000-0000-4000-8000-000000000001";
const SHARED_ACCOUNT: &str = "5ba4ed00-0000-4000-8000-000000000001";
const DEVICE: &str = "de71ce00-0000-4000-8000-000000000001";
const SERVICE_PRINCIPAL: &str = "5e871ce0-0000-4000-8000-000000000001";

/// The demo tenant with pages of `page_size` users.
fn tenant(page_size: usize) -> (GraphConfig, Vec<Employee>) {
    let employees = demo_employees(PEOPLE);
    let (users, groups, objects) = graph::demo_tenant(&employees);
    let config = GraphConfig {
        users,
        groups,
        objects,
        max_page_size: page_size,
        ..GraphConfig::default()
    };
    (config, employees)
}

/// A started emulator and a source built from a spec, as a run builds it.
struct Fixture {
    emulator: GraphEmulator,
    source: Box<dyn Source>,
    spec: Map<String, Value>,
    dir: tempfile::TempDir,
}

async fn fixture(config: GraphConfig, scope: Value, settings: Value) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let emulator = GraphEmulator::start(config.clone()).await.unwrap();
    let mut extra = settings.as_object().cloned().unwrap_or_default();
    extra.insert("maxTries".into(), json!(2));
    let spec = graph_source(
        &emulator,
        &config,
        &dir.path().join("secrets"),
        scope,
        extra,
        false,
    );
    let source_spec: SourceSpec =
        serde_json::from_value(json!({"microsoftGraph": Value::Object(spec.clone())})).unwrap();
    let source = source::build_with(&source_spec, &context(dir.path()), short_delays())
        .await
        .unwrap();
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

fn object_ids(employees: &[Employee]) -> BTreeSet<String> {
    employees.iter().map(|e| graph::object_id(&e.id)).collect()
}

/// The paths the source asked for, besides the token.
fn graph_paths(emulator: &GraphEmulator) -> Vec<String> {
    emulator
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/v1.0/"))
        .map(|r| r.path)
        .collect()
}

/// The JSON answer to a request.
async fn json_of(request: reqwest::RequestBuilder) -> Value {
    request.send().await.unwrap().json().await.unwrap()
}

#[tokio::test]
async fn group_scope_reads_the_users_among_transitive_members_and_nothing_else() {
    let (config, employees) = tenant(7);
    let f = fixture(config, json!({"groups": [ALL_STAFF_GROUP]}), json!({})).await;
    let data = fetch_all(f.source.as_ref()).await.unwrap();
    assert_eq!(data.errors, vec![]);
    // Everyone, the nested group's members included; no guest, no account without a mailbox,
    // and no group, device or service principal.
    assert_eq!(ids(&data), object_ids(&employees));
    assert_eq!(data.employees.len(), PEOPLE, "each user once");
    for other in [
        GUEST,
        SHARED_ACCOUNT,
        DEVICE,
        SERVICE_PRINCIPAL,
        ENGINEERING_GROUP,
    ] {
        assert!(!ids(&data).contains(other), "{other}");
    }
    // Pages of 7 through @odata.nextLink: 32 users in the listing (the guest and the shared
    // account are left out by the source) make 5 pages, all of them cast to users.
    let paths = graph_paths(&f.emulator);
    let members = format!("/v1.0/groups/{ALL_STAFF_GROUP}/transitiveMembers/microsoft.graph.user");
    assert_eq!(paths, vec![members; 5]);
    let log = f.emulator.request_log();
    assert!(
        log["requests"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["path"].as_str().unwrap().starts_with("/v1.0"))
            .all(|r| r["query"]
                .as_str()
                .unwrap()
                .contains("$expand=manager($select=id)")),
        "the manager is expanded on every page: {log}"
    );
    common::vendor::judge("graph", &log).await;

    // The emulator lists the other members too, when asked without the cast.
    let client = reqwest::Client::new();
    let token = json_of(
        client
            .post(format!(
                "{}/contoso.onmicrosoft.com/oauth2/v2.0/token",
                f.emulator.authority_url()
            ))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "11111111-2222-3333-4444-555555555555"),
                ("client_secret", "emulator-client-secret"),
                ("scope", "https://graph.microsoft.com/.default"),
            ]),
    )
    .await;
    let mut types = BTreeSet::new();
    let mut next = Some(format!(
        "{}/groups/{ALL_STAFF_GROUP}/transitiveMembers?$top=999",
        f.emulator.graph_url()
    ));
    while let Some(url) = next {
        let page = json_of(
            client
                .get(url)
                .bearer_auth(token["access_token"].as_str().unwrap()),
        )
        .await;
        for object in page["value"].as_array().unwrap() {
            types.insert(object["@odata.type"].as_str().unwrap().to_owned());
        }
        next = page["@odata.nextLink"].as_str().map(str::to_owned);
    }
    let types: BTreeSet<&str> = types.iter().map(String::as_str).collect();
    assert_eq!(
        types,
        BTreeSet::from([
            "#microsoft.graph.device",
            "#microsoft.graph.group",
            "#microsoft.graph.servicePrincipal",
            "#microsoft.graph.user",
        ])
    );
}

#[tokio::test]
async fn guests_and_accounts_without_a_mailbox_are_read_only_with_include_guests() {
    let (config, employees) = tenant(999);
    let f = fixture(
        config,
        json!({"groups": [ALL_STAFF_GROUP, ENGINEERING_GROUP]}),
        json!({"includeGuests": true}),
    )
    .await;
    let data = fetch_all(f.source.as_ref()).await.unwrap();
    let mut expected = object_ids(&employees);
    expected.insert(GUEST.into());
    assert_eq!(ids(&data), expected, "a user in both groups is read once");
    assert_eq!(data.employees.len(), PEOPLE + 1);
    let guest = data.employees.iter().find(|e| e.id == GUEST).unwrap();
    let kinds: Vec<_> = guest.emails.iter().map(|m| m.kind).collect();
    assert_eq!(
        kinds,
        [hris_operator::sync::model::EmailType::Work],
        "a guest's #EXT# name is no address"
    );
    // The shared account has no first and last name, and its display name is one word.
    assert_eq!(data.errors.len(), 1, "{:?}", data.errors);
    let error = &data.errors[0];
    assert_eq!(error.employee_id.as_deref(), Some(SHARED_ACCOUNT));
    assert_eq!(error.field.as_deref(), Some("firstName"));
    assert!(error.message.contains("displayName"), "{}", error.message);
    assert!(!error.message.contains("Reception"), "{}", error.message);
    assert_eq!(graph_paths(&f.emulator).len(), 2, "one page per group");
}

#[tokio::test]
async fn users_scope_reads_listed_users_by_object_id_and_by_user_principal_name() {
    let (config, employees) = tenant(999);
    let first = graph::object_id(&employees[0].id);
    let second_upn = employees[1].emails[0].address.to_string();
    let listed = json!([
        first,
        second_upn,
        // The first again, by its name: read once.
        employees[0].emails[0].address.as_str(),
        "pat_partner.example#EXT#@contoso.onmicrosoft.com",
        "nobody@contoso.example",
    ]);
    let f = fixture(
        config,
        json!({"users": listed}),
        json!({"includeGuests": true}),
    )
    .await;
    let data = fetch_all(f.source.as_ref()).await.unwrap();
    let expected: BTreeSet<String> = [
        first.clone(),
        graph::object_id(&employees[1].id),
        GUEST.to_owned(),
    ]
    .into();
    assert_eq!(ids(&data), expected);
    assert_eq!(data.employees.len(), 3);
    // The entry the tenant does not have is a record error naming the entry, not the name.
    assert_eq!(data.errors.len(), 1);
    assert_eq!(data.errors[0].field.as_deref(), Some("scope.users[4]"));
    assert!(!data.errors[0].message.contains("nobody"));
    // One request each, the names percent-encoded as path segments (`#` as %23).
    let paths = graph_paths(&f.emulator);
    assert_eq!(paths.len(), 5);
    assert_eq!(paths[0], format!("/v1.0/users/{first}"));
    assert_eq!(
        paths[3],
        "/v1.0/users/pat_partner.example%23EXT%23@contoso.onmicrosoft.com"
    );
    common::vendor::judge("graph", &f.emulator.request_log()).await;
}

/// A run of `spec_source` into a file directory in `dir`, applied on 2026-11-22.
async fn apply(dir: &Path, spec_source: &Map<String, Value>) -> Result<String, RunError> {
    source_runs::apply(dir, json!({"microsoftGraph": spec_source}), "entra:").await
}

#[tokio::test]
async fn a_disabled_account_becomes_a_leaver_whose_user_is_deactivated() {
    let (config, employees) = tenant(999);
    let f = fixture(config, json!({"groups": [ALL_STAFF_GROUP]}), json!({})).await;
    apply(f.dir.path(), &f.spec).await.unwrap();
    let before = source_runs::directory(f.dir.path());
    // Everyone employed has a user; the one who left (a disabled account) has none.
    let left = employees
        .iter()
        .filter(|e| e.employment_status == EmploymentStatus::Inactive)
        .count();
    assert!(left > 0);
    assert_eq!(before.len(), PEOPLE - left);
    assert!(before.iter().all(|(_, active)| *active));
    // An administrator disables one account.
    let leaver = &employees[3];
    let leaver_id = graph::object_id(&leaver.id);
    f.emulator
        .update_user(&leaver_id, json!({"accountEnabled": false}));
    apply(f.dir.path(), &f.spec).await.unwrap();
    let after = source_runs::directory(f.dir.path());
    let external_id = format!("entra:{leaver_id}");
    for (id, active) in &after {
        assert_eq!(*active, *id != external_id, "{id}");
    }
    assert_eq!(after.len(), before.len(), "deactivated, not deleted");
}

#[tokio::test]
async fn a_failing_page_or_a_repeated_next_link_fails_the_fetch_and_removes_nobody() {
    let (config, _) = tenant(7);
    let good = fixture(
        config.clone(),
        json!({"groups": [ALL_STAFF_GROUP]}),
        json!({}),
    )
    .await;
    apply(good.dir.path(), &good.spec).await.unwrap();
    let before = source_runs::directory(good.dir.path());
    assert!(!before.is_empty());
    for (faults, said) in source_runs::page_faults("@odata.nextLink it had returned before") {
        let broken = GraphEmulator::start(GraphConfig {
            faults,
            ..config.clone()
        })
        .await
        .unwrap();
        let mut spec = good.spec.clone();
        spec.insert("authorityUrl".into(), json!(broken.authority_url()));
        spec.insert("graphUrl".into(), json!(broken.graph_url()));
        let run = apply(good.dir.path(), &spec).await;
        source_runs::assert_removed_nobody(good.dir.path(), &before, run, said);
        broken.stop().await;
    }
}

#[tokio::test]
async fn a_missing_permission_names_the_permission_to_grant() {
    for (scope, granted, needed) in [
        (
            json!({"groups": [ALL_STAFF_GROUP]}),
            vec!["User.Read.All"],
            "GroupMember.Read.All",
        ),
        (
            json!({"allUsers": true}),
            vec!["GroupMember.Read.All"],
            "User.Read.All",
        ),
    ] {
        let (mut config, _) = tenant(999);
        config.permissions = granted.iter().map(|p| (*p).to_owned()).collect();
        let f = fixture(config, scope.clone(), json!({})).await;
        let error = fetch_all(f.source.as_ref()).await.unwrap_err();
        assert!(
            matches!(error, SourceError::CredentialsInvalid(_)),
            "{scope}: {error}"
        );
        let message = error.to_string();
        assert!(
            message.contains("Authorization_RequestDenied") && message.contains(needed),
            "{scope}: {message}"
        );
        assert_eq!(
            graph_paths(&f.emulator).len(),
            1,
            "{scope}: refused at once"
        );
    }
}

#[tokio::test]
async fn a_group_the_tenant_lacks_names_the_entry_and_the_fix() {
    let (config, _) = tenant(999);
    let missing = "0b3c2a4e-9d1f-4c4e-8a55-2f1b7c3d9e01";
    let f = fixture(
        config,
        json!({"groups": [ALL_STAFF_GROUP, missing]}),
        json!({}),
    )
    .await;
    let error = fetch_all(f.source.as_ref()).await.unwrap_err();
    assert!(matches!(error, SourceError::InvalidInput(_)), "{error}");
    let message = error.to_string();
    assert!(
        message.starts_with(&format!(
            "spec.source.microsoftGraph.scope.groups[1] is `{missing}`, but Microsoft Graph answered 404"
        )),
        "{message}"
    );
    assert!(message.contains("Object ID"), "{message}");
}

#[tokio::test]
async fn an_unreadable_user_is_reported_and_removes_nobody() {
    let (config, employees) = tenant(999);
    let f = fixture(config, json!({"allUsers": true}), json!({})).await;
    apply(f.dir.path(), &f.spec).await.unwrap();
    let before = source_runs::directory(f.dir.path());
    // An administrator types a name into the mail field of one account, and removes the
    // names of another whose display name is one word.
    let typo = graph::object_id(&employees[2].id);
    f.emulator
        .update_user(&typo, json!({"mail": "Grace Lovelace"}));
    let nameless = graph::object_id(&employees[4].id);
    f.emulator.update_user(
        &nameless,
        json!({"givenName": null, "surname": "", "displayName": "Barbara"}),
    );
    let source_spec: SourceSpec =
        serde_json::from_value(json!({"microsoftGraph": Value::Object(f.spec.clone())})).unwrap();
    let source = source::build(&source_spec, &context(f.dir.path()))
        .await
        .unwrap();
    let data = fetch_all(source.as_ref()).await.unwrap();
    let mut errors: Vec<(String, String)> = data
        .errors
        .iter()
        .map(|e| {
            (
                e.employee_id.as_deref().unwrap_or_default().to_owned(),
                e.field.clone().unwrap_or_default(),
            )
        })
        .collect();
    errors.sort();
    let mut expected = vec![
        (typo.clone(), "workEmail".to_owned()),
        (nameless.clone(), "firstName".to_owned()),
    ];
    expected.sort();
    assert_eq!(errors, expected);
    for error in &data.errors {
        assert!(
            !error.message.contains("Lovelace") && !error.message.contains("Barbara"),
            "{}",
            error.message
        );
    }
    // The run goes on without them, and while their records cannot be read nobody is removed.
    apply(f.dir.path(), &f.spec).await.unwrap();
    assert_eq!(source_runs::directory(f.dir.path()), before);
}
