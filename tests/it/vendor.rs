//! The vendors judge the emulators and the connectors, so a connector and its emulator cannot
//! pass by sharing one misreading of the documentation. Each API has a script in
//! `tests/vendor/` (run on `$HRIS_TEST_VENV`, see `common::vendor`):
//! - `sdk`: the vendor's own SDK drives the emulator and parses every answer into its typed
//!   models, and the suite compares the values it reads with what it wrote;
//! - `requests`: a request log is checked against the vendor's schema (method and path
//!   template, query parameters and their values, body fields and their types). The target and
//!   source conformance suites run it on everything the connectors send
//!   (`target_conformance`, `source_conformance::every_source_yields_the_same_employees`).
//!
//! Each judge is shown to fail, here, with one deliberate mutation per API and side:
//! - Google, answer: `--mutate suspended-string` makes the emulator's `suspended` arrive as the
//!   string `"false"`; request: a logged insert whose `organizations[0].title` is renamed
//!   `titel` (a field the Directory API's `UserOrganization` does not have).
//! - Merge, answer: `--mutate next-cursor-repeated` makes the second page hand back the cursor
//!   that fetched it; request: the connector's `expand` parameter renamed `expnd`.
//! - Graph, answer: `--mutate` makes `accountEnabled` arrive as the string `"true"`; request: a
//!   logged create whose `jobTitle` is renamed `jobTitel` (not a property of
//!   `microsoft.graph.user`).
//! - Slack, answer: `--mutate next-cursor-dropped` drops `response_metadata` from the first
//!   `users.list` page, so the SDK's pagination ends early; request: the source's `limit`
//!   argument renamed `limt` (not an argument of `WebClient.users_list`).

use crate::common;

use std::time::Duration;

use common::directories::{GOOGLE_TEST_PUBLIC_KEY, google_key_file};
use common::vendor::{judge, problems, run, said};
use hris_emulators::{
    google::{GoogleConfig, GoogleEmulator, GoogleGroup},
    graph::{GraphConfig, GraphEmulator},
    hr::{HrEmulator, demo_employees},
    merge::{self, MergeConfig},
    slack::{self, SlackConfig, SlackEmulator, SlackToken},
};
use hris_operator::{
    connectors::{ConfigMapResolver, ConnectorContext, SecretResolver},
    sync::ports::target::{Target, TargetOp},
};
use serde_json::{Value, json};

/// Renames the field at `path` to `to` in every logged request body that has it (a `$batch`'s
/// inner requests and its logged items included): the connector's request, altered. Panics
/// when no body has it.
fn rename_body_field(log: &mut Value, path: &[&str], to: &str) {
    fn rename(value: &mut Value, path: &[&str], to: &str) -> bool {
        let Some((last, parents)) = path.split_last() else {
            return false;
        };
        let mut at = &mut *value;
        for parent in parents {
            let next = match parent.parse::<usize>() {
                Ok(index) => at.get_mut(index),
                Err(_) => at.get_mut(*parent),
            };
            match next {
                Some(next) => at = next,
                None => return false,
            }
        }
        match at.as_object_mut().and_then(|o| o.remove(*last)) {
            Some(moved) => {
                at[to] = moved;
                true
            }
            None => false,
        }
    }
    let mut renamed = 0;
    for request in log["requests"].as_array_mut().unwrap() {
        let body = &mut request["body"];
        renamed += usize::from(rename(body, path, to));
        if let Some(inner) = body.get_mut("requests").and_then(Value::as_array_mut) {
            for item in inner {
                renamed += usize::from(rename(&mut item["body"], path, to));
            }
        }
        for item in request["items"].as_array_mut().unwrap() {
            renamed += usize::from(rename(&mut item["body"], path, to));
        }
    }
    assert!(renamed > 0, "no request body has {path:?}");
}

// --- Google Workspace: google-api-python-client with its bundled discovery document ---

/// The group of the emulator the SDK lists the members of: its one member is the customer.
const EVERYONE: &str = "everyone@acme.example";

async fn google_emulator() -> (GoogleEmulator, GoogleConfig) {
    let mut config = GoogleConfig::new(GOOGLE_TEST_PUBLIC_KEY);
    config.groups = vec![GoogleGroup {
        id: "03everyone00001".into(),
        email: EVERYONE.into(),
        name: "Everyone".into(),
        members: vec![config.customer_id.clone()],
    }];
    (GoogleEmulator::start(config.clone()).await.unwrap(), config)
}

async fn google_sdk(mutate: Option<&str>) -> std::process::Output {
    let (emulator, config) = google_emulator().await;
    let key = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(key.path(), google_key_file(&config, &emulator.token_url())).unwrap();
    let (api, token, key_path) = (
        emulator.api_url(),
        emulator.token_url(),
        key.path().to_string_lossy().into_owned(),
    );
    let mut args = vec![
        "sdk",
        "--api-url",
        &api,
        "--token-uri",
        &token,
        "--key-file",
        &key_path,
        "--admin-email",
        &config.admin_email,
        "--group",
        EVERYONE,
    ];
    if let Some(kind) = mutate {
        args.extend(["--mutate", kind]);
    }
    run("google", &args).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn google_sdk_reads_every_answer_of_the_emulator() {
    let output = google_sdk(None).await;
    assert!(output.status.success(), "{}", said(&output));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn google_sdk_fails_on_an_altered_answer() {
    let output = google_sdk(Some("suspended-string")).await;
    assert!(!output.status.success(), "{}", said(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("suspended"),
        "{}",
        said(&output)
    );
}

#[tokio::test]
async fn google_schema_refuses_an_altered_request() {
    let (emulator, target) =
        common::directories::google(GoogleConfig::new(GOOGLE_TEST_PUBLIC_KEY), json!({})).await;
    create_one(&target, "organizations.title").await;
    let mut log = emulator.request_log();
    judge("google", &log).await;
    rename_body_field(&mut log, &["organizations", "0", "title"], "titel");
    let found = problems("google", &log).await;
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].starts_with("POST /admin/directory/v1/users") && found[0].contains("titel"),
        "{found:#?}"
    );
}

/// Creates one user with a mapped title through `target`.
async fn create_one(target: &dyn Target, title_attribute: &str) {
    let mut attributes = hris_operator::sync::model::Attributes::default();
    attributes.set(title_attribute.into(), json!("Engineer"));
    let user = hris_operator::sync::model::NewUser {
        external_id: "acme:1".into(),
        email: "ada@acme.example".into(),
        first_name: "Ada".into(),
        last_name: "Lind".into(),
        preferred_language: Some("sv".into()),
        active: true,
        manager: None,
        attributes,
    };
    let results = target.apply(vec![TargetOp::Create(user)]).await;
    assert!(results[0].is_ok(), "{results:?}");
}

// --- Merge: MergePythonClient ---

const MERGE_EMPLOYEES: usize = 250;

async fn merge_emulator() -> (HrEmulator, MergeConfig) {
    let config = MergeConfig {
        records: merge::records(&demo_employees(MERGE_EMPLOYEES)),
        ..MergeConfig::default()
    };
    (merge::start(config.clone()).await.unwrap(), config)
}

async fn merge_sdk(mutate: Option<&str>) -> std::process::Output {
    let (emulator, config) = merge_emulator().await;
    let base = emulator.base_url();
    let employees = MERGE_EMPLOYEES.to_string();
    let mut args = vec![
        "sdk",
        "--base-url",
        &base,
        "--api-key",
        &config.api_key,
        "--account-token",
        &config.account_token,
        "--employees",
        &employees,
    ];
    if let Some(kind) = mutate {
        args.extend(["--mutate", kind]);
    }
    run("merge", &args).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_sdk_reads_every_answer_of_the_emulator() {
    let output = merge_sdk(None).await;
    assert!(output.status.success(), "{}", said(&output));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_sdk_fails_on_an_altered_answer() {
    let output = merge_sdk(Some("next-cursor-repeated")).await;
    assert!(!output.status.success(), "{}", said(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("next"),
        "{}",
        said(&output)
    );
}

#[tokio::test]
async fn merge_schema_refuses_an_altered_request() {
    let (emulator, config) = merge_emulator().await;
    let dir = tempfile::tempdir().unwrap();
    common::hr_sources::write_secret(dir.path(), "merge", "apiKey", &config.api_key);
    common::hr_sources::write_secret(dir.path(), "merge", "accountToken", &config.account_token);
    let spec: hris_operator::crd::SourceSpec = serde_json::from_value(json!({"merge": {
        "baseUrl": emulator.base_url(),
        "apiKeySecretRef": {"name": "merge", "key": "apiKey"},
        "accountTokenSecretRef": {"name": "merge", "key": "accountToken"},
    }}))
    .unwrap();
    let context = ConnectorContext {
        base_dir: dir.path().to_path_buf(),
        secrets: SecretResolver::from_dir(dir.path()),
        config_maps: ConfigMapResolver::from_dir(dir.path()),
    };
    let source = hris_operator::connectors::source::build(&spec, &context)
        .await
        .unwrap();
    let employees = hris_operator::sync::ports::source::fetch_all(source.as_ref())
        .await
        .unwrap();
    assert_eq!(employees.employees.len(), MERGE_EMPLOYEES);
    let mut log = emulator.request_log();
    judge("merge", &log).await;
    let first = &mut log["requests"][0]["query"];
    let altered = first.as_str().unwrap().replacen("expand=", "expnd=", 1);
    assert_ne!(
        first.as_str().unwrap(),
        altered,
        "the first request expands"
    );
    *first = json!(altered);
    let found = problems("merge", &log).await;
    assert!(found.iter().any(|p| p.contains("'expnd'")), "{found:#?}");
}

// --- Microsoft Graph: msgraph-sdk ---

async fn graph_sdk(mutate: bool) -> std::process::Output {
    // The demo tenant: a group whose members the suite reads as the source does.
    let (users, groups, objects) = hris_emulators::graph::demo_tenant(&demo_employees(12));
    let config = GraphConfig {
        users,
        groups,
        objects,
        ..GraphConfig::default()
    };
    let emulator = GraphEmulator::start(config.clone()).await.unwrap();
    let (authority, graph) = (emulator.authority_url(), emulator.graph_url());
    let mut args = vec![
        "sdk",
        "--authority-url",
        &authority,
        "--graph-url",
        &graph,
        "--tenant-id",
        &config.tenant_id,
        "--client-id",
        &config.client_id,
        "--client-secret",
        &config.client_secret,
        "--group-id",
        hris_emulators::graph::ALL_STAFF_GROUP,
    ];
    if mutate {
        args.push("--mutate");
    }
    run("graph", &args).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_sdk_reads_every_answer_of_the_emulator() {
    let output = graph_sdk(false).await;
    assert!(output.status.success(), "{}", said(&output));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_sdk_fails_on_an_altered_answer() {
    let output = graph_sdk(true).await;
    assert!(!output.status.success(), "{}", said(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("accountEnabled"),
        "{}",
        said(&output)
    );
}

#[tokio::test]
async fn graph_schema_refuses_an_altered_request() {
    let (emulator, target) = common::directories::graph(GraphConfig::default(), json!({})).await;
    create_one(&target, "jobTitle").await;
    let mut log = emulator.request_log();
    judge("graph", &log).await;
    rename_body_field(&mut log, &["jobTitle"], "jobTitel");
    let found = problems("graph", &log).await;
    assert!(!found.is_empty(), "the altered create passed");
    assert!(found.iter().all(|p| p.contains("jobTitel")), "{found:#?}");
}

// --- Slack: slack_sdk's WebClient ---

/// A token without `users:read`, for the SDK suite's `missing_scope`.
const LIMITED_TOKEN: &str = "xoxb-emulator-limited-token";

async fn slack_sdk(mutate: bool) -> std::process::Output {
    // The demo workspace, with a second token lacking users:read, and a first answer
    // throttled (429, Retry-After: 1) for the SDK's retry handler to wait out.
    let (members, channels) = slack::demo_workspace(&demo_employees(12));
    let mut config = SlackConfig {
        members,
        channels,
        ..SlackConfig::default()
    };
    config.tokens.push(SlackToken {
        token: LIMITED_TOKEN.into(),
        scopes: vec!["channels:read".into(), "groups:read".into()],
    });
    config.faults.throttle_storm = 1;
    let engineering = config
        .channels
        .iter()
        .find(|c| c.id == slack::ENGINEERING_CHANNEL)
        .unwrap()
        .members
        .len()
        .to_string();
    let member_count = config.members.len().to_string();
    let emulator = SlackEmulator::start(config).await.unwrap();
    let api = emulator.api_url();
    let mut args = vec![
        "sdk",
        "--api-url",
        &api,
        "--token",
        slack::BOT_TOKEN,
        "--limited-token",
        LIMITED_TOKEN,
        "--members",
        &member_count,
        "--channel",
        slack::ENGINEERING_CHANNEL,
        "--channel-members",
        &engineering,
        "--expect-throttled",
    ];
    if mutate {
        args.extend(["--mutate", "next-cursor-dropped"]);
    }
    let output = run("slack", &args).await;
    let requests = emulator.requests();
    assert_eq!(
        requests[0].status, 429,
        "the storm met the SDK's first call"
    );
    assert!(requests.len() > 6, "the SDK paged: {requests:?}");
    output
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_sdk_reads_every_answer_of_the_emulator() {
    let output = slack_sdk(false).await;
    assert!(output.status.success(), "{}", said(&output));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_sdk_fails_on_an_altered_answer() {
    let output = slack_sdk(true).await;
    assert!(!output.status.success(), "{}", said(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("next_cursor"),
        "{}",
        said(&output)
    );
}

#[tokio::test]
async fn slack_requests_refuse_an_altered_request() {
    let (members, channels) = slack::demo_workspace(&demo_employees(12));
    let config = SlackConfig {
        members,
        channels,
        max_page_size: 5,
        ..SlackConfig::default()
    };
    let emulator = SlackEmulator::start(config.clone()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let spec = common::slack_source::slack_source(
        &emulator,
        &config,
        dir.path(),
        json!({"channels": [slack::ENGINEERING_CHANNEL]}),
        json!({"requestsPerSecond": 1000})
            .as_object()
            .cloned()
            .unwrap(),
        false,
    );
    let spec: hris_operator::crd::SourceSpec =
        serde_json::from_value(json!({"slack": spec})).unwrap();
    let context = ConnectorContext {
        base_dir: dir.path().to_path_buf(),
        secrets: SecretResolver::from_dir(dir.path()),
        config_maps: ConfigMapResolver::from_dir(dir.path()),
    };
    let source = hris_operator::connectors::source::build(&spec, &context)
        .await
        .unwrap();
    let read = hris_operator::sync::ports::source::fetch_all(source.as_ref())
        .await
        .unwrap();
    assert!(!read.employees.is_empty());
    let mut log = emulator.request_log();
    judge("slack", &log).await;
    let last = log["requests"].as_array().unwrap().len() - 1;
    let query = &mut log["requests"][last]["query"];
    let altered = query.as_str().unwrap().replacen("limit=", "limt=", 1);
    assert_ne!(query.as_str().unwrap(), altered, "users.list sends a limit");
    *query = json!(altered);
    let found = problems("slack", &log).await;
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].starts_with("GET /api/users.list") && found[0].contains("'limt'"),
        "{found:#?}"
    );
}

#[test]
fn every_vendor_script_has_its_self_test() {
    // The checkers' own good and bad logs: each bad one must be reported. The four run at
    // once: each spends its time importing its SDK.
    const APIS: [&str; 4] = ["google", "merge", "graph", "slack"];
    let outputs = common::child_server::block_on_thread(|| async {
        let runs = APIS.map(|api| async move {
            tokio::time::timeout(Duration::from_secs(120), run(api, &["self-test"]))
                .await
                .expect("the self-test ends")
        });
        futures::future::join_all(runs).await
    });
    for (api, output) in APIS.iter().zip(outputs) {
        assert!(output.status.success(), "{api}: {}", said(&output));
    }
}
