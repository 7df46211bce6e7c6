//! Microsoft Graph and Google Workspace targets against their emulators, beyond the
//! conformance suite: whole runs of the pipeline (managers created in the same run, a second
//! run writing nothing), per-item throttling inside a `$batch`, name collisions, tokens, the
//! Directory API's rate-limit errors, and creates whose answer was lost (recognised as our own
//! user, never duplicated, while anyone else's user stays a conflict).

use crate::common;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use common::directories::*;
use hris_emulators::{
    google::{GoogleConfig, GoogleEmulator},
    graph::{GraphConfig, GraphEmulator},
    log::LoggedItem,
};
use hris_operator::{
    connectors::{
        google::ServiceAccountTokens,
        target::google::{GoogleTarget, SCOPE},
    },
    sync::{
        model::{Attr, AttrChange, Attributes, NewUser},
        ports::target::{Target, TargetErrorKind, TargetOp},
    },
};
use serde_json::{Value, json};

fn person(n: u32, first: &str, last: &str) -> NewUser {
    NewUser {
        external_id: format!("acme:{n}").into(),
        email: format!("person{n}@acme.example").into(),
        first_name: first.into(),
        last_name: last.into(),
        preferred_language: None,
        active: true,
        manager: None,
        attributes: Attributes::default(),
    }
}

fn by_external_id<'a>(users: &'a [Value], pointer: &str, external_id: &str) -> &'a Value {
    users
        .iter()
        .find(|u| u.pointer(pointer).and_then(Value::as_str) == Some(external_id))
        .unwrap_or_else(|| panic!("no user {external_id}"))
}

#[tokio::test]
async fn graph_run_links_managers_created_in_the_same_run_and_a_second_run_writes_nothing() {
    let config = GraphConfig::default();
    let emulator = GraphEmulator::start(config.clone()).await.unwrap();
    let dir = workspace(&config.client_secret, "{}");
    let spec = connection(graph_target_json(&emulator, &config), graph_mappings());

    let first = sync(&spec, dir.path()).await;
    assert_eq!(first.summary.counts.created, 3);
    assert_eq!(first.applied.failures(), 0, "{:?}", first.applied);
    let users = emulator.users();
    let ext = "/onPremisesExtensionAttributes/extensionAttribute15";
    let ada = by_external_id(&users, ext, "acme:1");
    let bo = by_external_id(&users, ext, "acme:2");
    let cy = by_external_id(&users, ext, "acme:3");
    assert_eq!(bo["manager"]["id"], ada["id"]);
    assert_eq!(cy["manager"]["id"], bo["id"]);
    assert_eq!(ada.get("manager"), None);
    assert_eq!(cy["userPrincipalName"], "cy@acme.example");
    assert_eq!(cy["mail"], "cy@acme.example");
    assert_eq!(cy["mailNickname"], "cy");
    assert_eq!(cy["displayName"], "Cy Öst");
    assert_eq!(cy["surname"], "Öst");
    assert_eq!(cy["accountEnabled"], true);
    assert_eq!(cy["usageLocation"], "SE");
    assert_eq!(cy["department"], "Sales");
    assert_eq!(cy["jobTitle"], "Seller");
    assert_eq!(cy["employeeId"], "3");
    assert_eq!(cy["employeeHireDate"], "2022-03-01T00:00:00Z");
    // Three creates and two manager links.
    assert_eq!(emulator.writes(), 5);

    let before = emulator.requests().len();
    let second = sync(&spec, dir.path()).await;
    assert!(second.plan.changes.is_empty(), "{:?}", second.plan.changes);
    assert_eq!(second.summary.counts.unchanged, 3);
    assert_eq!(emulator.writes(), 5, "the second run wrote");
    let sent: Vec<(String, String)> = emulator.requests()[before..]
        .iter()
        .map(|r| (r.method.clone(), r.path.clone()))
        .collect();
    let token_path = format!("/{}/oauth2/v2.0/token", config.tenant_id);
    assert_eq!(
        sent,
        vec![
            ("POST".to_owned(), token_path),
            ("GET".to_owned(), "/v1.0/users".to_owned())
        ],
        "a no-op run only lists"
    );
}

#[tokio::test]
async fn google_run_links_managers_created_in_the_same_run_and_a_second_run_writes_nothing() {
    let config = GoogleConfig::new(GOOGLE_TEST_PUBLIC_KEY);
    let emulator = GoogleEmulator::start(config.clone()).await.unwrap();
    let dir = workspace(
        "unused",
        &google_key_file(&config, "http://unused.invalid/token"),
    );
    let spec = connection(google_target_json(&emulator, &config), google_mappings());

    let first = sync(&spec, dir.path()).await;
    assert_eq!(first.summary.counts.created, 3);
    assert_eq!(first.applied.failures(), 0, "{:?}", first.applied);
    let users = emulator.users();
    let find = |external_id: &str| {
        users
            .iter()
            .find(|u| u["externalIds"][0]["value"] == external_id)
            .unwrap_or_else(|| panic!("no user {external_id}"))
    };
    let (ada, bo, cy) = (find("acme:1"), find("acme:2"), find("acme:3"));
    assert_eq!(
        bo["relations"],
        json!([{"type": "manager", "value": "ada@acme.example"}])
    );
    assert_eq!(
        cy["relations"],
        json!([{"type": "manager", "value": "bo@acme.example"}])
    );
    assert_eq!(ada.get("relations"), None);
    assert_eq!(
        cy["externalIds"],
        json!([{"type": "custom", "customType": "hris-operator", "value": "acme:3"}])
    );
    assert_eq!(cy["primaryEmail"], "cy@acme.example");
    assert_eq!(cy["name"]["familyName"], "Öst");
    assert_eq!(cy["orgUnitPath"], "/Staff");
    assert_eq!(cy["suspended"], false);
    assert_eq!(
        cy["organizations"],
        json!([{"department": "Sales", "title": "Seller", "primary": true}])
    );
    // Managers came first, so every relation was set at insert: three writes.
    assert_eq!(emulator.writes(), 3);

    let before = emulator.requests().len();
    let second = sync(&spec, dir.path()).await;
    assert!(second.plan.changes.is_empty(), "{:?}", second.plan.changes);
    assert_eq!(emulator.writes(), 3, "the second run wrote");
    let sent: Vec<(String, String)> = emulator.requests()[before..]
        .iter()
        .map(|r| (r.method.clone(), r.path.clone()))
        .collect();
    assert_eq!(
        sent,
        vec![
            ("POST".to_owned(), "/token".to_owned()),
            ("GET".to_owned(), "/admin/directory/v1/users".to_owned())
        ]
    );
}

#[tokio::test]
async fn graph_batch_with_one_throttled_item_retries_only_that_item() {
    let (emulator, target) = graph(GraphConfig::default(), json!({})).await;
    let ops = (1..=5)
        .map(|n| TargetOp::Create(person(n, "Ann", &format!("Lee{n}"))))
        .collect();
    emulator.throttle_writes(&[2], 1);
    let start = Instant::now();
    let results = target.apply(ops).await;
    assert!(
        results.iter().all(|r| matches!(r, Ok(Some(_)))),
        "{results:?}"
    );
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "Retry-After honoured"
    );
    let batches: Vec<Vec<(String, String, u16)>> = emulator
        .requests()
        .into_iter()
        .filter(|r| r.path == "/v1.0/$batch")
        .map(|r| {
            r.items
                .into_iter()
                .map(|item| (item.method, item.path, item.status))
                .collect()
        })
        .collect();
    let item = |status: u16| ("POST".to_owned(), "/users".to_owned(), status);
    assert_eq!(
        batches,
        vec![
            vec![item(201), item(201), item(429), item(201), item(201)],
            vec![item(201)],
        ]
    );
    assert_eq!(emulator.users().len(), 5);
    assert_eq!(emulator.writes(), 5);
    let mut external_ids: Vec<String> = emulator
        .users()
        .iter()
        .map(|u| u["onPremisesExtensionAttributes"]["extensionAttribute15"].to_string())
        .collect();
    external_ids.sort();
    external_ids.dedup();
    assert_eq!(external_ids.len(), 5, "no duplicate create");
}

#[tokio::test]
async fn graph_writes_go_in_batches_of_at_most_the_batch_size_and_are_paced() {
    let (emulator, target) = graph(
        GraphConfig {
            writes_per_second: Some(20.0),
            write_burst: 25,
            ..GraphConfig::default()
        },
        json!({"writesPerSecond": 20.0, "batchSize": 20}),
    )
    .await;
    let ops = (1..=45)
        .map(|n| TargetOp::Create(person(n, "Ann", &format!("Lee{n}"))))
        .collect();
    let start = Instant::now();
    let results = target.apply(ops).await;
    let elapsed = start.elapsed();
    assert!(results.iter().all(|r| matches!(r, Ok(Some(_)))));
    let sizes: Vec<usize> = emulator
        .requests()
        .iter()
        .filter(|r| r.path == "/v1.0/$batch")
        .map(|r| r.items.len())
        .collect();
    assert_eq!(sizes, vec![20, 20, 5]);
    let throttled = emulator
        .requests()
        .iter()
        .flat_map(|r| r.items.clone())
        .filter(|i| i.status == 429)
        .count();
    assert_eq!(throttled, 0, "paced below the limit");
    // 45 writes at 20 a second: the 45th slot is 2.2 s after the first.
    assert!(elapsed >= Duration::from_millis(2150), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(4), "{elapsed:?}");
}

#[tokio::test]
async fn graph_name_built_upns_take_a_suffix_then_conflict() {
    let (emulator, target) = graph(
        GraphConfig::default(),
        json!({"userPrincipalNameTemplate": "{firstName}.{lastName}@contoso.example",
               "uniqueNameTries": 2}),
    )
    .await;
    let results = target
        .apply(vec![
            TargetOp::Create(person(1, "Åsa", "Lind")),
            TargetOp::Create(person(2, "Asa", "Lind")),
            TargetOp::Create(person(3, "ASA", "Lind")),
        ])
        .await;
    assert!(matches!(results[0], Ok(Some(_))));
    let conflicts = results
        .iter()
        .filter(|r| {
            r.as_ref()
                .is_err_and(|e| e.kind == TargetErrorKind::Conflict)
        })
        .count();
    assert_eq!(conflicts, 1, "{results:?}");
    let mut upns: Vec<String> = emulator
        .users()
        .iter()
        .map(|u| u["userPrincipalName"].as_str().unwrap().to_owned())
        .collect();
    upns.sort();
    assert_eq!(
        upns,
        ["asa.lind2@contoso.example", "asa.lind@contoso.example"]
    );
    let nicknames: Vec<String> = emulator
        .users()
        .iter()
        .map(|u| u["mailNickname"].as_str().unwrap().to_owned())
        .collect();
    assert!(nicknames.iter().any(|n| n == "asa.lind2"), "{nicknames:?}");
    let error = results.iter().find_map(|r| r.as_ref().err()).unwrap();
    assert!(!error.to_string().contains("asa"), "{error}");
}

#[tokio::test]
async fn graph_token_is_cached_renewed_before_expiry_and_refreshed_after_a_401() {
    let (emulator, target) = graph(
        GraphConfig {
            token_lifetime: Duration::from_secs(2),
            ..GraphConfig::default()
        },
        json!({}),
    )
    .await;
    let token_requests = |e: &GraphEmulator| {
        e.requests()
            .iter()
            .filter(|r| r.path.ends_with("/oauth2/v2.0/token"))
            .count()
    };
    target.check().await.unwrap();
    target.check().await.unwrap();
    assert_eq!(token_requests(&emulator), 1, "cached");
    // Renewed a second early (half of a 2 s lifetime).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    target.check().await.unwrap();
    assert_eq!(token_requests(&emulator), 2, "renewed before expiry");
    emulator.expire_tokens();
    target.check().await.unwrap();
    assert_eq!(token_requests(&emulator), 3, "refreshed after a 401");
    let statuses: Vec<u16> = emulator.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 200, 200, 200, 200, 401, 200, 200]);
}

#[tokio::test]
async fn graph_wrong_secret_is_credentials_invalid_without_the_secret() {
    let config = GraphConfig::default();
    let emulator = GraphEmulator::start(config.clone()).await.unwrap();
    let spec = graph_spec(&emulator, &config, json!({}));
    let target = hris_operator::connectors::target::graph::GraphTarget::new(
        &spec,
        "wrong-secret-value".into(),
    )
    .unwrap();
    let error = target.check().await.unwrap_err();
    assert_eq!(error.kind, TargetErrorKind::CredentialsInvalid, "{error}");
    assert!(!error.to_string().contains("wrong-secret-value"));
    let statuses: Vec<u16> = emulator.requests().iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [401],
        "one token request, refused, and no API call"
    );
}

#[tokio::test]
async fn graph_whole_batch_429_is_retried_after_retry_after() {
    let (emulator, target) = graph(GraphConfig::default(), json!({})).await;
    target.check().await.unwrap();
    emulator.fail_next(1, 429, Some(1));
    let results = target
        .apply(vec![TargetOp::Create(person(1, "Ann", "Lee"))])
        .await;
    assert!(matches!(results[0], Ok(Some(_))));
    let batches: Vec<u16> = emulator
        .requests()
        .iter()
        .filter(|r| r.path == "/v1.0/$batch")
        .map(|r| r.status)
        .collect();
    assert_eq!(batches, [429, 200]);
    assert_eq!(emulator.users().len(), 1);
}

#[tokio::test]
async fn google_rate_limit_errors_back_off_and_retry() {
    let (emulator, target) = google(GoogleConfig::new(GOOGLE_TEST_PUBLIC_KEY), json!({})).await;
    target.check().await.unwrap();
    emulator.fail_next(1, 403, "userRateLimitExceeded");
    emulator.fail_next(1, 403, "quotaExceeded");
    emulator.fail_next(1, 429, "rateLimitExceeded");
    let results = target
        .apply(vec![TargetOp::Create(person(1, "Ann", "Lee"))])
        .await;
    assert!(matches!(results[0], Ok(Some(_))), "{results:?}");
    let inserts: Vec<u16> = emulator
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/users"))
        .map(|r| r.status)
        .collect();
    assert_eq!(inserts, [403, 403, 429, 200]);
    assert_eq!(emulator.users().len(), 1);
    assert_eq!(emulator.writes(), 1);
    // Any other 403 is not retried.
    emulator.fail_next(1, 403, "forbidden");
    let results = target
        .apply(vec![TargetOp::Create(person(2, "Bo", "Lee"))])
        .await;
    assert_eq!(
        results[0].as_ref().unwrap_err().kind,
        TargetErrorKind::CredentialsInvalid
    );
}

#[tokio::test]
async fn google_rate_limited_emulator_is_ridden_out() {
    let (emulator, target) = google(
        GoogleConfig {
            requests_per_second: Some(10.0),
            burst: 2,
            ..GoogleConfig::new(GOOGLE_TEST_PUBLIC_KEY)
        },
        json!({"maxTries": 12, "maxConcurrency": 4}),
    )
    .await;
    let ops = (1..=12)
        .map(|n| TargetOp::Create(person(n, "Ann", &format!("Lee{n}"))))
        .collect();
    let results = target.apply(ops).await;
    assert!(
        results.iter().all(|r| matches!(r, Ok(Some(_)))),
        "{results:?}"
    );
    assert_eq!(emulator.users().len(), 12);
    let refused = emulator
        .requests()
        .iter()
        .filter(|r| r.status == 403)
        .count();
    assert!(refused > 0, "the emulator throttled");
}

#[tokio::test]
async fn google_token_endpoint_verifies_the_signature_subject_and_scope() {
    let config = GoogleConfig::new(GOOGLE_TEST_PUBLIC_KEY);
    let emulator = GoogleEmulator::start(config.clone()).await.unwrap();
    let key_file = google_key_file(&config, &emulator.token_url());
    let tokens = ServiceAccountTokens::from_key_file(
        &key_file,
        &config.admin_email,
        &[SCOPE],
        None,
        SHORT * 1000,
    )
    .unwrap();
    let now = jiff::Timestamp::now().as_second() as u64;
    let good = tokens.assertion(now).unwrap();
    // Change one character inside the signature (not the last, whose spare bits must be 0).
    let mut tampered: Vec<char> = good.chars().collect();
    let at = tampered.len() - 10;
    tampered[at] = if tampered[at] == 'A' { 'B' } else { 'A' };
    let tampered: String = tampered.into_iter().collect();
    hris_operator::connectors::http::install_crypto_provider();
    let client = reqwest::Client::new();
    let post = |assertion: String| {
        client
            .post(emulator.token_url())
            .form(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                ("assertion", assertion.as_str()),
            ])
            .send()
    };
    let refused = post(tampered).await.unwrap();
    assert_eq!(refused.status().as_u16(), 400);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error_description"], "Invalid JWT Signature.");
    let accepted = post(good).await.unwrap();
    assert_eq!(accepted.status().as_u16(), 200);

    // A subject without delegation is refused at the token endpoint: CredentialsInvalid.
    let spec = google_spec(
        &emulator,
        &config,
        json!({"adminEmail": "someone@acme.example"}),
    );
    let target = GoogleTarget::new(&spec, &key_file).unwrap();
    let error = target.check().await.unwrap_err();
    assert_eq!(error.kind, TargetErrorKind::CredentialsInvalid, "{error}");
    assert!(error.detail.contains("answered 401"), "{error}");
}

#[tokio::test]
async fn google_updates_keep_the_list_entries_this_connection_does_not_own() {
    let (emulator, target) = google(GoogleConfig::new(GOOGLE_TEST_PUBLIC_KEY), json!({})).await;
    let boss = emulator.insert_user(json!({
        "primaryEmail": "boss@acme.example",
        "name": {"givenName": "Boss", "familyName": "One"},
    }));
    let id = emulator.insert_user(json!({
        "primaryEmail": "ann@acme.example",
        "name": {"givenName": "Ann", "familyName": "Lee"},
        "externalIds": [{"type": "organization", "value": "HR-7"}],
        "relations": [{"type": "assistant", "value": "pa@acme.example"}],
        "organizations": [{"primary": true, "title": "Engineer", "costCenter": "CC-1"}],
    }));
    let names = [
        Arc::from("organizations.title"),
        Arc::from("organizations.costCenter"),
    ];
    let listed = target.list_users(&names).await.unwrap();
    let ann = listed.iter().find(|u| u.id == id).unwrap();
    assert_eq!(ann.external_id, None);
    assert_eq!(
        ann.attributes.get("organizations.costCenter"),
        Some(&json!("CC-1"))
    );
    let change = |attr, after: Value| AttrChange {
        attr,
        before: None,
        after: Some(after),
    };
    let results = target
        .apply(vec![TargetOp::Update {
            id: id.as_str().into(),
            version: None,
            changes: vec![
                change(Attr::ExternalId, json!("acme:7")),
                change(Attr::Manager, json!(boss)),
                change(
                    Attr::Mapped(Arc::from("organizations.title")),
                    json!("Lead"),
                ),
            ],
        }])
        .await;
    assert_eq!(results, vec![Ok(None)]);
    let stored = emulator
        .users()
        .into_iter()
        .find(|u| u["id"] == id.as_str())
        .unwrap();
    assert_eq!(
        stored["externalIds"],
        json!([{"type": "organization", "value": "HR-7"},
               {"type": "custom", "customType": "hris-operator", "value": "acme:7"}])
    );
    assert_eq!(
        stored["relations"],
        json!([{"type": "assistant", "value": "pa@acme.example"},
               {"type": "manager", "value": "boss@acme.example"}])
    );
    assert_eq!(
        stored["organizations"],
        json!([{"primary": true, "title": "Lead", "costCenter": "CC-1"}])
    );
    let relisted = target.list_users(&names).await.unwrap();
    let ann = relisted.iter().find(|u| u.id == id).unwrap();
    assert_eq!(ann.external_id.as_deref(), Some("acme:7"));
    assert_eq!(ann.manager_id.as_deref(), Some(boss.as_str()));
    // The token was fetched once for all of it.
    let tokens = emulator
        .requests()
        .iter()
        .filter(|r| r.path == "/token")
        .count();
    assert_eq!(tokens, 1);
}

#[tokio::test]
async fn graph_renames_keep_display_name_whole_and_patch_only_changes() {
    let (emulator, target) = graph(GraphConfig::default(), json!({})).await;
    let id = match &target
        .apply(vec![TargetOp::Create(person(1, "Ann", "Lee"))])
        .await[0]
    {
        Ok(Some(id)) => id.to_string(),
        other => panic!("{other:?}"),
    };
    let fresh = hris_operator::connectors::target::graph::GraphTarget::new(
        &graph_spec(&emulator, &GraphConfig::default(), json!({})),
        GraphConfig::default().client_secret,
    )
    .unwrap();
    fresh.list_users(&[]).await.unwrap();
    let results = fresh
        .apply(vec![TargetOp::Update {
            id: id.as_str().into(),
            version: None,
            changes: vec![AttrChange {
                attr: Attr::LastName,
                before: Some(json!("Lee")),
                after: Some(json!("Berg")),
            }],
        }])
        .await;
    assert_eq!(results, vec![Ok(None)]);
    let user = &emulator.users()[0];
    assert_eq!(user["surname"], "Berg");
    assert_eq!(user["displayName"], "Ann Berg");
    assert_eq!(user["givenName"], "Ann");
    assert_eq!(
        user["userPrincipalName"], "person1@acme.example",
        "sign-in kept"
    );
}

// ---------------------------------------------------------------------------------------------
// A create applied whose answer was lost: the retry is refused as taken, and the user holding
// the name is recognised as this run's own (by our externalId), never duplicated. A name held
// by anyone else stays a conflict.

const GRAPH_MARK: &str = "/onPremisesExtensionAttributes/extensionAttribute15";
const GOOGLE_MARK: &str = "/externalIds/0/value";

/// Every external id is held by exactly one user.
fn assert_one_user_each(users: &[Value], pointer: &str, external_ids: &[&str]) {
    for external_id in external_ids {
        let holders = users
            .iter()
            .filter(|u| u.pointer(pointer).and_then(Value::as_str) == Some(*external_id))
            .count();
        assert_eq!(holders, 1, "users holding {external_id}: {users:#?}");
    }
    assert_eq!(users.len(), external_ids.len(), "{users:#?}");
}

/// The statuses of the creates (`POST /users`) Graph answered, inside batches or not.
fn graph_create_statuses(emulator: &GraphEmulator) -> Vec<u16> {
    emulator
        .requests()
        .into_iter()
        .flat_map(|r| {
            if r.items.is_empty() {
                vec![LoggedItem {
                    method: r.method,
                    path: r.path,
                    status: r.status,
                    ..LoggedItem::default()
                }]
            } else {
                r.items
            }
        })
        .filter(|item| item.method == "POST" && item.path.ends_with("/users"))
        .map(|item| item.status)
        .collect()
}

/// A whole run against Graph with one answer lost, then a rerun: the run counts every user
/// created and none failed, each exists once with its manager linked, and the rerun writes
/// nothing.
async fn graph_run_survives_a_lost_answer(lose: impl FnOnce(&GraphEmulator)) -> Vec<u16> {
    let config = GraphConfig::default();
    let emulator = GraphEmulator::start(config.clone()).await.unwrap();
    let dir = workspace(&config.client_secret, "{}");
    let spec = connection(graph_target_json(&emulator, &config), graph_mappings());
    lose(&emulator);

    let first = sync(&spec, dir.path()).await;
    assert_eq!(first.applied.failures(), 0, "{:#?}", first.applied);
    assert_eq!(first.summary.counts.created, 3, "{:#?}", first.summary);
    assert_eq!(first.summary.counts.errors, 0);
    let users = emulator.users();
    assert_one_user_each(&users, GRAPH_MARK, &["acme:1", "acme:2", "acme:3"]);
    let ada = by_external_id(&users, GRAPH_MARK, "acme:1");
    let bo = by_external_id(&users, GRAPH_MARK, "acme:2");
    assert_eq!(bo["manager"]["id"], ada["id"], "the manager link follows");
    let statuses = graph_create_statuses(&emulator);

    let writes = emulator.writes();
    let rerun = sync(&spec, dir.path()).await;
    assert!(rerun.plan.changes.is_empty(), "{:?}", rerun.plan.changes);
    assert_eq!(emulator.writes(), writes, "the rerun wrote");
    assert_one_user_each(
        &emulator.users(),
        GRAPH_MARK,
        &["acme:1", "acme:2", "acme:3"],
    );
    statuses
}

#[tokio::test]
async fn graph_create_whose_batch_item_answer_was_lost_counts_created_once() {
    let statuses = graph_run_survives_a_lost_answer(|e| e.lose_create_answers(1, 503)).await;
    // Ada first (she manages the others): made but answered 503, resent alone and refused as
    // taken; then Bo and Cy.
    assert_eq!(statuses, [503, 400, 201, 201]);
}

#[tokio::test]
async fn graph_create_whose_whole_batch_answer_was_lost_counts_created_once() {
    let statuses = graph_run_survives_a_lost_answer(|e| e.lose_batch_answers(1, 504)).await;
    // The batch with Ada's create was carried out and answered 504 as a whole; the client sent
    // it again.
    assert_eq!(statuses, [201, 400, 201, 201]);
}

#[tokio::test]
async fn graph_lost_create_with_a_name_built_upn_takes_no_suffix() {
    let (emulator, target) = graph(
        GraphConfig::default(),
        json!({"userPrincipalNameTemplate": "{firstName}.{lastName}@contoso.example",
               "uniqueNameTries": 3}),
    )
    .await;
    emulator.lose_create_answers(1, 503);
    let results = target
        .apply(vec![TargetOp::Create(person(1, "Åsa", "Lind"))])
        .await;
    let users = emulator.users();
    assert_one_user_each(&users, GRAPH_MARK, &["acme:1"]);
    assert_eq!(users[0]["userPrincipalName"], "asa.lind@contoso.example");
    assert_eq!(
        results[0].as_ref().unwrap().as_deref(),
        users[0]["id"].as_str(),
        "{results:?}"
    );
}

#[tokio::test]
async fn graph_create_refused_for_someone_elses_user_stays_a_conflict() {
    let (emulator, target) = graph(GraphConfig::default(), json!({})).await;
    let results = target
        .apply(vec![TargetOp::Create(person(1, "Ann", "Lee"))])
        .await;
    assert!(matches!(results[0], Ok(Some(_))), "{results:?}");
    // Another employee with the same address: the holder of the name carries another
    // externalId, so it is not adopted.
    let mut other = person(2, "Ann", "Lee");
    other.email = "person1@acme.example".into();
    let results = target.apply(vec![TargetOp::Create(other)]).await;
    let error = results[0].as_ref().unwrap_err();
    assert_eq!(error.kind, TargetErrorKind::Conflict, "{error}");
    assert_one_user_each(&emulator.users(), GRAPH_MARK, &["acme:1"]);
    assert!(
        emulator
            .requests()
            .iter()
            .any(|r| r.method == "GET" && r.path == "/v1.0/users/person1@acme.example"),
        "the holder of the name was looked at"
    );
}

#[tokio::test]
async fn google_insert_whose_answer_was_lost_counts_created_once() {
    let config = GoogleConfig::new(GOOGLE_TEST_PUBLIC_KEY);
    let emulator = GoogleEmulator::start(config.clone()).await.unwrap();
    let dir = workspace(
        "unused",
        &google_key_file(&config, "http://unused.invalid/token"),
    );
    let spec = connection(google_target_json(&emulator, &config), google_mappings());
    emulator.lose_insert_answers(1, 503);

    let first = sync(&spec, dir.path()).await;
    assert_eq!(first.applied.failures(), 0, "{:#?}", first.applied);
    assert_eq!(first.summary.counts.created, 3, "{:#?}", first.summary);
    let users = emulator.users();
    assert_one_user_each(&users, GOOGLE_MARK, &["acme:1", "acme:2", "acme:3"]);
    let bo = by_external_id(&users, GOOGLE_MARK, "acme:2");
    assert_eq!(
        bo["relations"],
        json!([{"type": "manager", "value": "ada@acme.example"}])
    );
    let inserts: Vec<u16> = emulator
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/admin/directory/v1/users")
        .map(|r| r.status)
        .collect();
    // Ada's insert made but answered 503, resent and refused as a duplicate; then Bo and Cy.
    assert_eq!(inserts, [503, 409, 200, 200]);

    let writes = emulator.writes();
    let rerun = sync(&spec, dir.path()).await;
    assert!(rerun.plan.changes.is_empty(), "{:?}", rerun.plan.changes);
    assert_eq!(emulator.writes(), writes, "the rerun wrote");
    assert_one_user_each(
        &emulator.users(),
        GOOGLE_MARK,
        &["acme:1", "acme:2", "acme:3"],
    );
}

#[tokio::test]
async fn google_insert_refused_for_someone_elses_user_stays_a_conflict() {
    let (emulator, target) = google(GoogleConfig::new(GOOGLE_TEST_PUBLIC_KEY), json!({})).await;
    // Held under another externalId, and held by an account with none (made by an admin).
    emulator.insert_user(json!({
        "primaryEmail": "person1@acme.example",
        "name": {"givenName": "Ann", "familyName": "Lee"},
        "externalIds": [{"type": "custom", "customType": "hris-operator", "value": "acme:9"}],
    }));
    emulator.insert_user(json!({
        "primaryEmail": "person2@acme.example",
        "name": {"givenName": "Bo", "familyName": "Berg"},
    }));
    let results = target
        .apply(vec![
            TargetOp::Create(person(1, "Ann", "Lee")),
            TargetOp::Create(person(2, "Bo", "Berg")),
        ])
        .await;
    for result in &results {
        let error = result.as_ref().unwrap_err();
        assert_eq!(error.kind, TargetErrorKind::Conflict, "{error}");
    }
    assert_eq!(emulator.users().len(), 2);
    let looked_at = emulator
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.starts_with("/admin/directory/v1/users/person"))
        .count();
    assert_eq!(looked_at, 2, "each holder was looked at");
}
