//! `source.slack` against the Slack emulator's demo workspace (`slack::demo_workspace`): the
//! people, Slackbot, a bot, an app user, a workflow bot, a multi-channel and a single-channel
//! guest; #engineering holds the first half of the people (a bot, the workflow bot and the
//! multi-channel guest too), the private #people-ops the second half, three of the first half,
//! both guests and the app user.
//! - channel scope reads the union of the channels' members, each once;
//! - bots, app users, workflow bots and Slackbot are never read, guests only with
//!   `includeGuests`;
//! - a deleted member is a leaver: its user follows `lifecycle.inactiveUsers`;
//! - a failing page or a repeated cursor fails the fetch, and the run removes nobody;
//! - `missing_scope` names the scope to add (and a token without `users:read.email` leaves the
//!   members without addresses, which `skipped.csv` explains); a refused token names the
//!   Secret; a channel the app cannot read names the entry;
//! - a 429 with `Retry-After` is waited out.
//!
//! The conformance of the mapping itself is in `source_conformance.rs`.

use crate::common;

use std::{collections::BTreeSet, path::Path, time::Duration};

use common::{
    slack_source::slack_source,
    source_runs::{self, context, short_delays},
};
use hris_emulators::{
    hr::demo_employees,
    slack::{
        self, APP_USER, BOT, ENGINEERING_CHANNEL, GUEST, LEADERSHIP_CHANNEL, PEOPLE_OPS_CHANNEL,
        SINGLE_CHANNEL_GUEST, SLACKBOT, SlackConfig, SlackEmulator, SlackToken, WORKFLOW_BOT,
    },
};
use hris_operator::{
    connectors::source,
    crd::SourceSpec,
    sync::{
        model::{Employee, EmploymentStatus},
        ports::source::{Source, SourceData, SourceError, fetch_all},
        run::{RunError, RunOutput},
    },
};
use serde_json::{Map, Value, json};

/// People in the demo workspace (30 hold every status: index 29 has left).
const PEOPLE: usize = 30;
/// What is never a person.
const NOT_PEOPLE: [&str; 4] = [SLACKBOT, BOT, APP_USER, WORKFLOW_BOT];

/// The demo workspace with pages of at most `page_size` entries.
fn workspace(page_size: usize) -> (SlackConfig, Vec<Employee>) {
    let employees = demo_employees(PEOPLE);
    let (members, channels) = slack::demo_workspace(&employees);
    let config = SlackConfig {
        members,
        channels,
        max_page_size: page_size,
        ..SlackConfig::default()
    };
    (config, employees)
}

/// A started emulator and a source built from a spec, as a run builds it.
struct Fixture {
    emulator: SlackEmulator,
    source: Box<dyn Source>,
    spec: Map<String, Value>,
    dir: tempfile::TempDir,
}

async fn fixture(config: SlackConfig, scope: Value, settings: Value) -> Fixture {
    fixture_with(config, scope, settings, short_delays()).await
}

async fn fixture_with(
    config: SlackConfig,
    scope: Value,
    settings: Value,
    delays: source::RetryDelays,
) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let emulator = SlackEmulator::start(config.clone()).await.unwrap();
    let mut extra = json!({"maxTries": 2, "requestsPerSecond": 1000});
    for (key, value) in settings.as_object().cloned().unwrap_or_default() {
        extra[key.as_str()] = value;
    }
    let spec = slack_source(
        &emulator,
        &config,
        &dir.path().join("secrets"),
        scope,
        extra.as_object().cloned().unwrap(),
        false,
    );
    let source_spec: SourceSpec =
        serde_json::from_value(json!({"slack": Value::Object(spec.clone())})).unwrap();
    let source = source::build_with(&source_spec, &context(dir.path()), delays)
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

fn member_ids(employees: &[Employee]) -> BTreeSet<String> {
    employees.iter().map(|e| slack::member_id(&e.id)).collect()
}

/// The Web API methods the source called, in order.
fn methods(emulator: &SlackEmulator) -> Vec<String> {
    emulator
        .requests()
        .into_iter()
        .map(|r| r.path.trim_start_matches("/api/").to_owned())
        .collect()
}

#[tokio::test]
async fn channel_scope_reads_the_union_of_the_channels_members_once_each() {
    let (config, employees) = workspace(7);
    let channels = &config.channels;
    let engineering = channels[1].members.len();
    let people_ops = channels[2].members.len();
    let members = config.members.len();
    let f = fixture(
        config.clone(),
        json!({"channels": [ENGINEERING_CHANNEL, PEOPLE_OPS_CHANNEL]}),
        json!({}),
    )
    .await;
    let data = fetch_all(f.source.as_ref()).await.unwrap();
    assert_eq!(data.errors, vec![]);
    // The first half of the people in #engineering, the second half and three of the first in
    // #people-ops: everyone, each once; no bot, app, Slackbot or guest.
    assert_eq!(ids(&data), member_ids(&employees));
    assert_eq!(data.employees.len(), PEOPLE, "each member once");
    // Pages of 7: the member ids of each channel, then the profiles of the whole workspace.
    let pages = |n: usize| n.div_ceil(7);
    let mut expected = vec!["conversations.members".to_owned(); pages(engineering)];
    expected.extend(vec!["conversations.members".to_owned(); pages(people_ops)]);
    expected.extend(vec!["users.list".to_owned(); pages(members)]);
    assert_eq!(methods(&f.emulator), expected);
    let requests = f.emulator.requests();
    assert!(
        requests[0]
            .query
            .starts_with(&format!("channel={ENGINEERING_CHANNEL}&limit=200"))
            && requests
                .last()
                .unwrap()
                .query
                .contains("include_locale=true"),
        "{requests:?}"
    );
    common::vendor::judge("slack", &f.emulator.request_log()).await;

    // A channel in the list twice, or a person in every channel, is read once still.
    let f = fixture(
        config,
        json!({"channels": [ENGINEERING_CHANNEL, slack::GENERAL_CHANNEL, ENGINEERING_CHANNEL]}),
        json!({}),
    )
    .await;
    let data = fetch_all(f.source.as_ref()).await.unwrap();
    assert_eq!(ids(&data), member_ids(&employees));
}

#[tokio::test]
async fn bots_apps_and_slackbot_are_never_read_and_guests_only_with_include_guests() {
    let (config, employees) = workspace(1000);
    let f = fixture(config.clone(), json!({"allMembers": true}), json!({})).await;
    let data = fetch_all(f.source.as_ref()).await.unwrap();
    assert_eq!(data.errors, vec![], "not people are not unreadable people");
    assert_eq!(ids(&data), member_ids(&employees));
    assert_eq!(methods(&f.emulator), ["users.list"]);

    let f = fixture(
        config.clone(),
        json!({"allMembers": true}),
        json!({"includeGuests": true}),
    )
    .await;
    let data = fetch_all(f.source.as_ref()).await.unwrap();
    let mut expected = member_ids(&employees);
    expected.extend([GUEST.to_owned(), SINGLE_CHANNEL_GUEST.to_owned()]);
    assert_eq!(ids(&data), expected);
    for id in NOT_PEOPLE {
        assert!(!ids(&data).contains(id), "{id}");
    }
    let guest = data.employees.iter().find(|e| e.id == GUEST).unwrap();
    assert_eq!(guest.emails[0].address, "pat@partner.example");

    // In a channel scope too: #people-ops holds both guests and the app user.
    let f = fixture(
        config,
        json!({"channels": [PEOPLE_OPS_CHANNEL]}),
        json!({"includeGuests": true}),
    )
    .await;
    let data = fetch_all(f.source.as_ref()).await.unwrap();
    assert!(ids(&data).contains(SINGLE_CHANNEL_GUEST));
    assert!(!ids(&data).contains(APP_USER));
}

/// A run of `spec_source` into a file directory in `dir` (see `source_runs::apply`).
async fn apply(dir: &Path, spec_source: &Map<String, Value>) -> Result<RunOutput, RunError> {
    source_runs::apply_output(dir, json!({"slack": spec_source}), "slack:").await
}

#[tokio::test]
async fn a_deleted_member_becomes_a_leaver_whose_user_is_deactivated() {
    let (config, employees) = workspace(1000);
    let f = fixture(
        config,
        json!({"channels": [ENGINEERING_CHANNEL, PEOPLE_OPS_CHANNEL]}),
        json!({}),
    )
    .await;
    apply(f.dir.path(), &f.spec).await.unwrap();
    let before = source_runs::directory(f.dir.path());
    // Everyone employed has a user; the one who left (a deleted member) has none.
    let left = employees
        .iter()
        .filter(|e| e.employment_status == EmploymentStatus::Inactive)
        .count();
    assert!(left > 0);
    assert_eq!(before.len(), PEOPLE - left);
    assert!(before.iter().all(|(_, active)| *active));
    // An admin deactivates one member.
    let leaver = slack::member_id(&employees[3].id);
    f.emulator.update_member(&leaver, json!({"deleted": true}));
    apply(f.dir.path(), &f.spec).await.unwrap();
    let after = source_runs::directory(f.dir.path());
    let external_id = format!("slack:{leaver}");
    for (id, active) in &after {
        assert_eq!(*active, *id != external_id, "{id}");
    }
    assert_eq!(after.len(), before.len(), "deactivated, not deleted");
}

#[tokio::test]
async fn a_failing_page_or_a_repeated_cursor_fails_the_fetch_and_removes_nobody() {
    let (config, _) = workspace(7);
    let scope = json!({"channels": [ENGINEERING_CHANNEL, PEOPLE_OPS_CHANNEL]});
    let good = fixture(config.clone(), scope, json!({})).await;
    apply(good.dir.path(), &good.spec).await.unwrap();
    let before = source_runs::directory(good.dir.path());
    assert!(!before.is_empty());
    for (faults, said) in source_runs::page_faults("next_cursor it had returned before") {
        let broken = SlackEmulator::start(SlackConfig {
            faults,
            ..config.clone()
        })
        .await
        .unwrap();
        let mut spec = good.spec.clone();
        spec.insert("apiUrl".into(), json!(broken.api_url()));
        let run = source_runs::apply(good.dir.path(), json!({"slack": spec}), "slack:").await;
        source_runs::assert_removed_nobody(good.dir.path(), &before, run, said);
        broken.stop().await;
    }
}

/// The default token without `scope`.
fn without(scope: &str) -> Vec<SlackToken> {
    let mut scopes: Vec<String> = slack::DEFAULT_SCOPES.map(str::to_owned).to_vec();
    scopes.retain(|s| s != scope);
    vec![SlackToken {
        token: slack::BOT_TOKEN.into(),
        scopes,
    }]
}

#[tokio::test]
async fn a_missing_scope_names_the_scope_to_add() {
    for (scope, lacking, method) in [
        (json!({"allMembers": true}), "users:read", "users.list"),
        (
            json!({"channels": [ENGINEERING_CHANNEL]}),
            "channels:read",
            "conversations.members",
        ),
        (
            json!({"channels": [ENGINEERING_CHANNEL, PEOPLE_OPS_CHANNEL]}),
            "groups:read",
            "conversations.members",
        ),
    ] {
        let (mut config, _) = workspace(1000);
        config.tokens = without(lacking);
        let f = fixture(config, scope.clone(), json!({})).await;
        let error = fetch_all(f.source.as_ref()).await.unwrap_err();
        assert!(
            matches!(error, SourceError::CredentialsInvalid(_)),
            "{scope}: {error}"
        );
        let message = error.to_string();
        assert!(
            message.contains(&format!("answered `missing_scope` to {method}"))
                && message.contains(&format!("lacks the scope {lacking} ("))
                && message.contains(&format!("add {lacking} under OAuth & Permissions"))
                && message.contains("secret slack/botToken"),
            "{scope}: {message}"
        );
        assert_eq!(
            f.emulator.requests().last().unwrap().status,
            200,
            "{scope}: Slack refuses with 200"
        );
    }
}

#[tokio::test]
async fn without_users_read_email_the_members_are_skipped_with_that_hint() {
    let (mut config, employees) = workspace(1000);
    config.tokens = without("users:read.email");
    let f = fixture(config, json!({"allMembers": true}), json!({})).await;
    let data = fetch_all(f.source.as_ref()).await.unwrap();
    assert_eq!(data.employees.len(), PEOPLE);
    assert!(data.employees.iter().all(|e| e.emails.is_empty()));
    let output = apply(f.dir.path(), &f.spec).await.unwrap();
    assert_eq!(output.summary.counts.created, 0);
    let employed = employees
        .iter()
        .filter(|e| e.employment_status != EmploymentStatus::Inactive)
        .count();
    let hinted: Vec<String> = output
        .plan
        .skipped
        .iter()
        .filter(|s| s.reason.code() == "NoUsableEmail")
        .map(|s| s.reason.describe())
        .collect();
    assert_eq!(hinted.len(), employed, "{hinted:?}");
    assert!(
        hinted
            .iter()
            .all(|d| d.starts_with("no email address: ") && d.contains("users:read.email")),
        "{hinted:?}"
    );
}

#[tokio::test]
async fn a_refused_token_names_the_secret() {
    for (error, revoked) in [("invalid_auth", false), ("token_revoked", true)] {
        let (mut config, _) = workspace(1000);
        if revoked {
            config.revoked = vec![slack::BOT_TOKEN.into()];
        }
        let dir = tempfile::tempdir().unwrap();
        let emulator = SlackEmulator::start(config.clone()).await.unwrap();
        let spec = slack_source(
            &emulator,
            &config.clone(),
            &dir.path().join("secrets"),
            json!({"allMembers": true}),
            Map::new(),
            !revoked,
        );
        let spec: SourceSpec = serde_json::from_value(json!({"slack": spec})).unwrap();
        let source = source::build_with(&spec, &context(dir.path()), short_delays())
            .await
            .unwrap();
        let refused = fetch_all(source.as_ref()).await.unwrap_err();
        assert!(
            matches!(refused, SourceError::CredentialsInvalid(_)),
            "{refused}"
        );
        let message = refused.to_string();
        assert!(
            message.contains(&format!("Slack answered `{error}` to users.list"))
                && message.contains(
                    "check that secret slack/botToken holds the app's Bot User \
                                     OAuth Token (xoxb-…)"
                ),
            "{message}"
        );
        assert!(!message.contains("xoxb-emulator"), "no token in {message}");
        assert_eq!(emulator.requests().len(), 1, "refused at once");
        let check = source.check().await.unwrap_err();
        assert!(matches!(check, SourceError::CredentialsInvalid(_)));
    }
}

#[tokio::test]
async fn a_channel_the_app_cannot_read_names_the_entry_and_the_fix() {
    let (config, _) = workspace(1000);
    let f = fixture(
        config,
        json!({"channels": [ENGINEERING_CHANNEL, LEADERSHIP_CHANNEL]}),
        json!({}),
    )
    .await;
    let error = fetch_all(f.source.as_ref()).await.unwrap_err();
    assert!(matches!(error, SourceError::InvalidInput(_)), "{error}");
    let message = error.to_string();
    assert!(
        message.starts_with(&format!(
            "spec.source.slack.scope.channels[1] is `{LEADERSHIP_CHANNEL}`, but Slack answered \
             `channel_not_found` to conversations.members"
        )) && message.contains("/invite @app"),
        "{message}"
    );
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_out() {
    // users.list at one call a second, a burst of one: the client, paced far faster, sends
    // the second page at once and is answered 429 with Retry-After: 1.
    let (mut config, employees) = workspace(20);
    config.tier2_per_minute = Some(60.0);
    let delays = source::RetryDelays {
        base: Duration::from_millis(2),
        max: Duration::from_secs(5),
    };
    let f = fixture_with(
        config,
        json!({"allMembers": true}),
        json!({"maxTries": 3}),
        delays,
    )
    .await;
    let data = fetch_all(f.source.as_ref()).await.unwrap();
    assert_eq!(ids(&data), member_ids(&employees));
    let requests = f.emulator.requests();
    let throttled: Vec<usize> = (0..requests.len())
        .filter(|&i| requests[i].status == 429)
        .collect();
    assert!(!throttled.is_empty(), "{requests:?}");
    for i in throttled {
        let next = &requests[i + 1];
        assert_eq!(next.query, requests[i].query, "the same page again");
        let waited = next.at.duration_since(requests[i].at);
        assert!(
            waited >= Duration::from_millis(990),
            "asked again after {waited:?}, before Retry-After: 1 ran out"
        );
    }
    assert_eq!(requests.last().unwrap().status, 200);
    let pages = (PEOPLE + 6).div_ceil(20);
    assert_eq!(requests.iter().filter(|r| r.status == 200).count(), pages);
}

/// The emulator enforces what a client must respect: each method's own tier, and the range of
/// `limit`.
#[tokio::test]
async fn the_emulator_limits_each_method_on_its_own_tier_and_refuses_bad_limits() {
    let (mut config, _) = workspace(1000);
    config.tier2_per_minute = Some(20.0);
    config.tier4_per_minute = Some(100.0);
    let emulator = SlackEmulator::start(config).await.unwrap();
    hris_operator::connectors::http::install_crypto_provider();
    let client = reqwest::Client::new();
    let call = |method: &str, query: &str| {
        client
            .get(format!("{}/{method}?{query}", emulator.api_url()))
            .bearer_auth(slack::BOT_TOKEN)
            .send()
    };
    let mut answers = Vec::new();
    for (method, query) in [
        ("users.list", "limit=1"),
        ("users.list", "limit=1"),
        ("conversations.members", "channel=C0ENGINEER1"),
        ("conversations.members", "channel=C0ENGINEER1&limit=1000"),
        ("conversations.members", "channel=C0ENGINEER1&limit=0"),
    ] {
        let answer = call(method, query).await.unwrap();
        let status = answer.status().as_u16();
        let retry_after = answer
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        let body: Value = answer.json().await.unwrap();
        answers.push((
            status,
            retry_after,
            body["error"].as_str().map(str::to_owned),
        ));
    }
    assert_eq!(
        answers,
        [
            (200, None, None),
            // Tier 2 at 20 a minute: the next token comes in three seconds.
            (429, Some("3".to_owned()), Some("ratelimited".to_owned())),
            // conversations.members has a bucket of its own.
            (200, None, None),
            (429, Some("1".to_owned()), Some("ratelimited".to_owned())),
            (429, Some("1".to_owned()), Some("ratelimited".to_owned())),
        ]
    );
    let (config, _) = workspace(1000);
    let emulator = SlackEmulator::start(config).await.unwrap();
    for limit in ["1000", "0", "x"] {
        let answer: Value = client
            .get(format!(
                "{}/conversations.members?channel=C0ENGINEER1&limit={limit}",
                emulator.api_url()
            ))
            .bearer_auth(slack::BOT_TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            answer,
            json!({"ok": false, "error": "invalid_limit"}),
            "{limit}"
        );
    }
}
