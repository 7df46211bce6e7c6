//! Notifications, end to end: `hris-operator simulate --notify` sends each channel one message
//! per event the run calls for, received by local HTTP servers (standing in for Slack, Teams
//! and a CloudEvents endpoint) and by a real SMTP server (aiosmtpd, `tests/smtp/serve.py`),
//! and each is held to its format: Block Kit blocks and a text fallback for Slack (also judged by
//! Slack's own SDK, `tests/vendor/slack.py`), an Adaptive
//! Card of schema version 1.4 for Teams, a CloudEvent with every required attribute and a
//! signature the test recomputes, an email with a plain-text and an HTML part and the subject
//! of its event. Without `--notify` a local run sends nothing. A delivery answered 500 twice is
//! delivered once on the third try; a receiver that is down leaves the run's result as it was,
//! and the controller turns what the sync Job reports into a `NotificationFailed` Event and
//! the metric.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use http::{Method, Request, Response};
use kube::client::Body;
use serde_json::{Value, json};

use crate::common::{
    receivers::{Email, HttpReceiver, Received, SmtpServer},
    vendor,
};
use hris_operator::{
    connectors::notify::{self, Message, Origin, RunFacts},
    contract::termination::termination_message,
    crd::NotificationEvent,
    sync::{
        plan::SafeguardTrip,
        report::{ChangeCounts, RunMode, RunResult, Summary},
        safeguard::{GuardKind, GuardTrip},
    },
    sync_job::{SyncRequest, sync},
};

const SIGNING_KEY: &str = "signing-key-5a9c1e";
/// Part of the Slack webhook's path: the credential a Slack URL carries.
const SLACK_TOKEN: &str = "slack-token-0c7f33";
/// The signature a Teams Workflows URL carries in its query.
const TEAMS_SIG: &str = "teams-sig-81d2a4";

/// (id, first name, last name): everyone in the data, so a test can look for them.
const PEOPLE: [(&str, &str, &str); 12] = [
    ("E01", "Rosalind", "Quennell"),
    ("E02", "Bartholomew", "Ashdown"),
    ("E03", "Cordelia", "Fenwright"),
    ("E04", "Ignatius", "Pembury"),
    ("E05", "Philippa", "Carrow"),
    ("E06", "Evander", "Thistlewood"),
    ("E07", "Marigold", "Hathersage"),
    ("E08", "Lysander", "Wolstenholme"),
    ("E09", "Octavia", "Brackenbury"),
    ("E10", "Peregrine", "Ottershaw"),
    ("E11", "Seraphina", "Goodacre"),
    ("E12", "Thaddeus", "Merriweather"),
];

fn email_of(id: &str) -> String {
    format!("{}@corp.example", id.to_lowercase())
}

/// A folder with the connection's data: ten managed users of which the source still has six
/// (removing four of ten trips the removals safeguard), a joiner, and a joiner whose address
/// an account this connection does not manage holds (a conflict, with email matching off).
fn scenario(dir: &Path) {
    let mut csv = String::from("id,firstName,lastName,workEmail,employmentStatus,startDate\n");
    for (id, first, last) in PEOPLE {
        let number: u32 = id[1..].parse().unwrap();
        if (7..=10).contains(&number) {
            continue;
        }
        let email = if id == "E11" {
            "taken@corp.example".to_owned()
        } else {
            email_of(id)
        };
        csv.push_str(&format!("{id},{first},{last},{email},Active,2020-01-01\n"));
    }
    std::fs::write(dir.join("employees.csv"), csv).unwrap();
    let mut users: Vec<Value> = PEOPLE[..10]
        .iter()
        .enumerate()
        .map(|(index, (id, first, last))| {
            json!({"id": format!("u{index}"), "externalId": format!("acme:{id}"),
                   "userName": email_of(id), "email": email_of(id), "firstName": first,
                   "lastName": last, "active": true, "attributes": {}, "version": 1})
        })
        .collect();
    users.push(json!({"id": "u99", "userName": "taken@corp.example",
                      "email": "taken@corp.example", "firstName": "Someone", "lastName": "Else",
                      "active": true, "attributes": {}, "version": 1}));
    std::fs::write(
        dir.join("directory.json"),
        serde_json::to_string(&json!({"users": users})).unwrap(),
    )
    .unwrap();
}

/// The receivers of one test.
struct Receivers {
    slack: HttpReceiver,
    teams: HttpReceiver,
    events: HttpReceiver,
    smtp: SmtpServer,
}

impl Receivers {
    async fn start(smtp_defer: u32) -> Receivers {
        Receivers {
            slack: HttpReceiver::start().await,
            teams: HttpReceiver::start().await,
            events: HttpReceiver::start().await,
            smtp: SmtpServer::start(smtp_defer),
        }
    }
}

fn write_secret(dir: &Path, name: &str, key: &str, value: &str) {
    std::fs::create_dir_all(dir.join(name)).unwrap();
    std::fs::write(dir.join(name).join(key), value).unwrap();
}

/// The manifest (written to `dir/connection.yaml`) with its four channels, and their Secrets in
/// `dir/secrets`.
fn manifest(dir: &Path, receivers: &Receivers, mode: &str) -> PathBuf {
    let secrets = dir.join("secrets");
    write_secret(
        &secrets,
        "hooks",
        "slack",
        &receivers
            .slack
            .url(&format!("/services/T0001/B0001/{SLACK_TOKEN}")),
    );
    write_secret(
        &secrets,
        "hooks",
        "teams",
        &receivers.teams.url(&format!(
            "/workflows/4a1b/triggers/manual/paths/invoke?api-version=2016-06-01&sig={TEAMS_SIG}"
        )),
    );
    write_secret(
        &secrets,
        "hooks",
        "events",
        &receivers.events.url("/events"),
    );
    write_secret(&secrets, "hooks", "signing", SIGNING_KEY);
    let connection = json!({
        "apiVersion": "hris-operator.io/v1alpha1",
        "kind": "HrisConnection",
        "metadata": {"name": "acme", "namespace": "people"},
        "spec": {
            "mode": mode,
            "source": {"csv": {"path": "employees.csv"}},
            "target": {"file": {"path": "directory.json"}},
            "externalIdPrefix": "acme:",
            "matching": ["externalId"],
            "notifications": [
                {"slack": {"webhookUrlSecretRef": {"name": "hooks", "key": "slack"}}},
                {"msTeams": {"webhookUrlSecretRef": {"name": "hooks", "key": "teams"}},
                 "events": ["SafeguardTriggered"]},
                {"webhook": {"urlSecretRef": {"name": "hooks", "key": "events"},
                             "signingKeySecretRef": {"name": "hooks", "key": "signing"}},
                 "events": ["SimulationReady", "SafeguardTriggered", "UserConflicts", "SyncFailed"]},
                {"email": {"smtp": {"host": "127.0.0.1", "port": receivers.smtp.port(), "tls": "None"},
                           "from": "HR provisioning <hris@acme.example>",
                           "to": ["hr-team@acme.example", "HR leads <hr-leads@acme.example>"]}},
            ],
        },
    });
    let path = dir.join("connection.yaml");
    std::fs::write(&path, serde_json::to_string_pretty(&connection).unwrap()).unwrap();
    path
}

/// Runs the binary; returns its exit code and stdout.
async fn run(command: &str, manifest: &Path, extra: &[&str]) -> (Option<i32>, String, String) {
    let dir = manifest.parent().unwrap();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_hris-operator"))
        .arg(command)
        .arg("-f")
        .arg(manifest)
        .arg("--secrets-dir")
        .arg(dir.join("secrets"))
        .arg("--out")
        .arg(dir.join("out"))
        .args(["--as-of", "2026-11-22"])
        .args(extra)
        .env("RUST_LOG", "info")
        .output()
        .await
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The event a delivery is about, from its idempotency key (`<run id>:<event>`).
fn event_of(received: &Received) -> String {
    let key = received
        .header("idempotency-key")
        .unwrap_or_else(|| panic!("{}: no Idempotency-Key", received.path));
    key.rsplit_once(':').unwrap().1.to_owned()
}

/// Block Kit as Slack's incoming webhooks take it: `blocks` of `section` (a text object, or up
/// to 10 `fields`) and `context` (up to 10 elements), text objects of type `mrkdwn` or
/// `plain_text` within Slack's lengths, at most 50 blocks, and a plain `text` fallback.
fn check_block_kit(payload: &Value) {
    let text_object = |object: &Value, most: usize| {
        assert!(
            matches!(object["type"].as_str(), Some("mrkdwn" | "plain_text")),
            "a text object's type: {object}"
        );
        let text = object["text"].as_str().expect("text");
        assert!(!text.is_empty() && text.chars().count() <= most, "{object}");
    };
    let fallback = payload["text"].as_str().expect("a text fallback");
    assert!(!fallback.trim().is_empty());
    let blocks = payload["blocks"].as_array().expect("blocks");
    assert!(!blocks.is_empty() && blocks.len() <= 50);
    for block in blocks {
        let keys: Vec<&str> = block
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        match block["type"].as_str() {
            Some("section") => {
                match (&block.get("text"), &block.get("fields")) {
                    (Some(text), None) => text_object(text, 3000),
                    (text, Some(fields)) => {
                        if let Some(text) = text {
                            text_object(text, 3000);
                        }
                        let fields = fields.as_array().unwrap();
                        assert!(!fields.is_empty() && fields.len() <= 10, "{block}");
                        for field in fields {
                            text_object(field, 2000);
                        }
                    }
                    (None, None) => panic!("a section without text or fields: {block}"),
                }
                assert!(
                    keys.iter()
                        .all(|k| ["type", "text", "fields", "block_id"].contains(k)),
                    "{block}"
                );
            }
            Some("context") => {
                let elements = block["elements"].as_array().unwrap();
                assert!(!elements.is_empty() && elements.len() <= 10, "{block}");
                for element in elements {
                    text_object(element, 3000);
                }
            }
            other => panic!("a block of type {other:?}: only section and context are sent"),
        }
    }
}

/// A Teams Workflows message: one attachment carrying an Adaptive Card of schema version 1.4
/// (or 1.5), whose body holds only elements that version defines.
fn check_adaptive_card(payload: &Value) {
    assert_eq!(payload["type"], "message");
    let attachments = payload["attachments"].as_array().unwrap();
    assert_eq!(attachments.len(), 1);
    assert_eq!(
        attachments[0]["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    let card = &attachments[0]["content"];
    assert_eq!(card["type"], "AdaptiveCard");
    assert_eq!(
        card["$schema"],
        "http://adaptivecards.io/schemas/adaptive-card.json"
    );
    assert!(
        matches!(card["version"].as_str(), Some("1.4" | "1.5")),
        "{}",
        card["version"]
    );
    for element in card["body"].as_array().unwrap() {
        match element["type"].as_str() {
            Some("TextBlock") => {
                assert!(element["text"].as_str().is_some_and(|t| !t.is_empty()));
                if let Some(font) = element.get("fontType") {
                    assert!(matches!(font.as_str(), Some("Default" | "Monospace")));
                }
            }
            Some("FactSet") => {
                for fact in element["facts"].as_array().unwrap() {
                    assert!(
                        fact["title"].is_string() && fact["value"].is_string(),
                        "{fact}"
                    );
                }
            }
            other => panic!("an element of type {other:?}"),
        }
    }
}

/// A CloudEvents 1.0 structured-mode event: the content type, every required attribute (and
/// the optional ones we send, in their formats), and the signature over the exact body.
fn check_cloud_event(received: &Received) -> Value {
    assert_eq!(
        received.header("content-type"),
        Some("application/cloudevents+json")
    );
    let signature = received
        .header("x-hris-signature-256")
        .expect("a signature header");
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, SIGNING_KEY.as_bytes());
    let expected: String = ring::hmac::sign(&key, &received.body)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(signature, format!("sha256={expected}"));
    let event = received.json();
    assert_eq!(event["specversion"], "1.0");
    for attribute in ["id", "source", "type"] {
        assert!(
            event[attribute].as_str().is_some_and(|v| !v.is_empty()),
            "{attribute}: {event}"
        );
    }
    let kind = event["type"].as_str().unwrap();
    let name = kind.strip_prefix("io.hris-operator.").expect(kind);
    assert_eq!(
        event["id"],
        format!("{}:{name}", event["runid"].as_str().unwrap())
    );
    assert_eq!(
        received.header("idempotency-key"),
        event["id"].as_str(),
        "the header and the id are one key"
    );
    assert_eq!(
        event["source"],
        "/apis/hris-operator.io/v1alpha1/namespaces/people/hrisconnections/acme"
    );
    assert_eq!(event["subject"], "people/acme");
    assert_eq!(event["datacontenttype"], "application/json");
    event["time"]
        .as_str()
        .unwrap()
        .parse::<jiff::Timestamp>()
        .expect("time is RFC 3339");
    assert_eq!(event["data"]["event"], name);
    event
}

/// Every text a message put in front of people must be free of the people in the data.
fn assert_no_personal_data(where_: &str, text: &str) {
    for (id, first, last) in PEOPLE {
        for value in [first.to_owned(), last.to_owned(), email_of(id)] {
            assert!(
                !text.contains(&value),
                "{value} appears in {where_}:\n{text}"
            );
        }
    }
    assert!(!text.contains("taken@corp.example"), "{where_}:\n{text}");
}

fn by_event(received: &[Received]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for r in received {
        *counts.entry(event_of(r)).or_insert(0) += 1;
    }
    counts
}

fn counts(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(e, n)| ((*e).to_owned(), *n)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_channel_gets_one_valid_message_per_event_it_takes() {
    let dir = tempfile::tempdir().unwrap();
    scenario(dir.path());
    let receivers = Receivers::start(0).await;
    let manifest = manifest(dir.path(), &receivers, "Simulate");

    let (code, stdout, stderr) = run("simulate", &manifest, &["--notify"]).await;
    assert_eq!(
        code,
        Some(3),
        "withheld, as without notifications:\n{stdout}{stderr}"
    );
    assert!(
        stdout.contains("Notifications: 10 sent, 0 not delivered"),
        "{stdout}{stderr}"
    );

    // One message per channel and event: the run called for three events; Teams takes one.
    let three = counts(&[
        ("SafeguardTriggered", 1),
        ("SimulationReady", 1),
        ("UserConflicts", 1),
    ]);
    assert_eq!(by_event(&receivers.slack.requests()), three);
    assert_eq!(
        by_event(&receivers.teams.requests()),
        counts(&[("SafeguardTriggered", 1)])
    );
    assert_eq!(by_event(&receivers.events.requests()), three);
    let emails = receivers.smtp.emails();
    assert_eq!(emails.len(), 3);

    // Slack: Block Kit, at the path the Secret's URL named.
    for received in receivers.slack.requests() {
        assert_eq!(
            received.path,
            format!("/services/T0001/B0001/{SLACK_TOKEN}")
        );
        assert_eq!(received.header("content-type"), Some("application/json"));
        check_block_kit(&received.json());
        assert_no_personal_data("a Slack message", &received.text());
    }
    let slack_withheld = receivers
        .slack
        .requests()
        .into_iter()
        .find(|r| event_of(r) == "SafeguardTriggered")
        .unwrap()
        .json();
    let fallback = slack_withheld["text"].as_str().unwrap();
    assert!(
        fallback.starts_with("Changes withheld by a safeguard: 4 changes need approval\n"),
        "{fallback}"
    );
    // Slack's own SDK reads every block as sent and finds it within Slack's limits; a section
    // of eleven fields (one too many) it refuses, so the judge can fail.
    let mut files = Vec::new();
    for (index, received) in receivers.slack.requests().iter().enumerate() {
        let file = dir.path().join(format!("slack-{index}.json"));
        std::fs::write(&file, &received.body).unwrap();
        files.push(file.display().to_string());
    }
    let mut files: Vec<&str> = files.iter().map(String::as_str).collect();
    files.insert(0, "blocks");
    let judged = vendor::run("slack", &files).await;
    assert!(judged.status.success(), "{}", vendor::said(&judged));
    let mut too_wide = slack_withheld.clone();
    let fields = too_wide["blocks"][1]["fields"].as_array().unwrap().clone();
    too_wide["blocks"][1]["fields"] = json!(fields.iter().cycle().take(11).collect::<Vec<_>>());
    let bad = dir.path().join("slack-too-wide.json");
    std::fs::write(&bad, too_wide.to_string()).unwrap();
    let judged = vendor::run("slack", &["blocks", bad.to_str().unwrap()]).await;
    assert_eq!(judged.status.code(), Some(1), "{}", vendor::said(&judged));
    assert!(
        String::from_utf8_lossy(&judged.stderr)
            .contains("blocks[1] (section): fields attribute cannot exceed 10 items"),
        "{}",
        vendor::said(&judged)
    );

    // Teams: an Adaptive Card, with the query (the workflow's signature) as the Secret had it.
    let teams = receivers.teams.requests();
    assert!(teams[0].path.ends_with(&format!("&sig={TEAMS_SIG}")));
    check_adaptive_card(&teams[0].json());
    assert_no_personal_data("a Teams card", &teams[0].text());

    // The webhook: CloudEvents, signed, with the plan hash to approve in the data.
    let mut run_ids = Vec::new();
    for received in receivers.events.requests() {
        let event = check_cloud_event(&received);
        assert_no_personal_data("a CloudEvent", &received.text());
        run_ids.push(event["runid"].as_str().unwrap().to_owned());
        if event["type"] == "io.hris-operator.SafeguardTriggered" {
            let hash = event["data"]["planHash"].as_str().unwrap();
            assert_eq!(hash.len(), 20);
            assert_eq!(event["data"]["safeguard"]["withheld"], 4);
            let approve = event["data"]["nextSteps"]
                .as_array()
                .unwrap()
                .iter()
                .find_map(|s| s["command"].as_str().filter(|c| c.contains("--approve")))
                .unwrap();
            assert_eq!(
                approve,
                format!(
                    "hris-operator apply -f {} --approve {hash}",
                    manifest.display()
                )
            );
        }
    }
    run_ids.dedup();
    assert_eq!(run_ids.len(), 1, "one run, one run id: {run_ids:?}");

    // Email: both parts, the subject of each event, to every recipient.
    let subjects: Vec<&str> = emails.iter().map(Email::subject).collect();
    assert_eq!(
        subjects,
        [
            "[hris-operator] people/acme: Changes withheld by a safeguard: 4 changes need approval",
            "[hris-operator] people/acme: 1 employee could not be matched safely",
            "[hris-operator] people/acme: Simulation ready: 1 to create, 0 to update, 0 to \
             deactivate, 0 to delete",
        ]
    );
    for email in &emails {
        assert_eq!(email.record["contentType"], "multipart/alternative");
        assert_eq!(
            email.record["rcptTos"],
            json!(["hr-team@acme.example", "hr-leads@acme.example"])
        );
        assert_eq!(email.record["mailFrom"], "hris@acme.example");
        let text = email.part("text/plain").expect("a text/plain part");
        let html = email.part("text/html").expect("a text/html part");
        assert!(text.starts_with(&email.subject()["[hris-operator] people/acme: ".len()..]));
        assert!(html.contains("<h2>") && html.contains("</table>"), "{html}");
        assert!(
            text.contains("Run ") && text.contains(&run_ids[0]),
            "{text}"
        );
        assert_no_personal_data("an email", &email.raw);
        let message_id = email.record["messageId"].as_str().unwrap();
        assert!(
            message_id.starts_with(&format!("<{}.", run_ids[0])),
            "{message_id}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_run_without_notify_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    scenario(dir.path());
    let receivers = Receivers::start(0).await;
    let manifest = manifest(dir.path(), &receivers, "Simulate");

    let (code, stdout, stderr) = run("simulate", &manifest, &[]).await;
    assert_eq!(code, Some(3), "{stdout}{stderr}");
    assert!(
        stdout.contains(
            "Notifications: not sent (4 channel(s) in spec.notifications; pass --notify to send \
             them)"
        ),
        "{stdout}"
    );
    for receiver in [&receivers.slack, &receivers.teams, &receivers.events] {
        assert!(receiver.requests().is_empty());
    }
    assert!(receivers.smtp.emails().is_empty());
    // The same receivers do get the run with --notify: they were listening.
    let (code, _, _) = run("simulate", &manifest, &["--notify"]).await;
    assert_eq!(code, Some(3));
    assert_eq!(receivers.teams.requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_failing_twice_gets_exactly_one_message_on_the_third_try() {
    let dir = tempfile::tempdir().unwrap();
    scenario(dir.path());
    let receivers = Receivers::start(1).await;
    receivers.teams.answer(&[500, 500]);
    let manifest = manifest(dir.path(), &receivers, "Simulate");

    let (code, stdout, stderr) = run("simulate", &manifest, &["--notify"]).await;
    assert_eq!(code, Some(3), "{stdout}{stderr}");
    assert!(
        stdout.contains("Notifications: 10 sent, 0 not delivered"),
        "{stdout}"
    );
    let tries = receivers.teams.requests();
    assert_eq!(
        tries.iter().map(|r| r.status).collect::<Vec<_>>(),
        [500, 500, 200]
    );
    assert_eq!(receivers.teams.delivered().len(), 1);
    // The same message each time, with the same key a receiver can drop a repeat by.
    assert!(tries.iter().all(|r| r.body == tries[0].body));
    assert!(
        tries
            .iter()
            .all(|r| r.header("idempotency-key") == tries[0].header("idempotency-key"))
    );
    // The SMTP server deferred the first email (451): it came on the next try, once.
    let emails = receivers.smtp.emails();
    assert_eq!(emails.len(), 3);
    let subjects: std::collections::BTreeSet<&str> = emails.iter().map(Email::subject).collect();
    assert_eq!(subjects.len(), 3);
}

/// The connection as the mock API server returns it, with webhooks to the URLs in the Secret
/// keys `url_key` and `up`, and a Slack channel whose Secret is missing.
fn cluster_connection(dir: &Path, url_key: &str) -> Value {
    json!({
        "apiVersion": "hris-operator.io/v1alpha1",
        "kind": "HrisConnection",
        "metadata": {"name": "acme", "namespace": "people", "uid": "uid-acme", "generation": 2},
        "spec": {
            "mode": "Active",
            "source": {"csv": {"path": dir.join("employees.csv")}},
            "target": {"file": {"path": dir.join("directory.json")}},
            "externalIdPrefix": "acme:",
            "notifications": [
                {"webhook": {"urlSecretRef": {"name": "hooks", "key": url_key}},
                 "events": ["SimulationReady"]},
                {"webhook": {"urlSecretRef": {"name": "hooks", "key": "up"}},
                 "events": ["SimulationReady"]},
                {"slack": {"webhookUrlSecretRef": {"name": "missing", "key": "url"}},
                 "events": ["SimulationReady"]},
            ],
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_is_down_leaves_the_result_and_the_controller_records_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("employees.csv"),
        "id,firstName,lastName,workEmail,employmentStatus,startDate\n\
         1,Rosalind,Quennell,e01@corp.example,Active,2020-01-01\n",
    )
    .unwrap();
    let up = std::sync::Arc::new(HttpReceiver::start().await);
    let down = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/events", listener.local_addr().unwrap());
        drop(listener);
        url
    };
    let secrets = dir.path().join("secrets");
    write_secret(&secrets, "hooks", "down", &down);
    write_secret(&secrets, "hooks", "up", &up.url("/events"));

    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(service, "people");
    let body = serde_json::to_vec(&cluster_connection(dir.path(), "down")).unwrap();
    let up_when_stored = up.clone();
    let api = tokio::spawn(async move {
        let (request, send) = handle.next_request().await.expect("the connection is read");
        assert_eq!(request.method(), Method::GET);
        send.send_response(Response::builder().body(Body::from(body)).unwrap());
        let (request, send) = handle.next_request().await.expect("the report is stored");
        assert_eq!(request.method(), Method::PATCH);
        assert!(
            up_when_stored.requests().is_empty(),
            "a notification went out before the reports were stored"
        );
        let bytes = request.into_body().collect_bytes().await.unwrap();
        send.send_response(
            Response::builder()
                .body(Body::from(bytes.to_vec()))
                .unwrap(),
        );
    });
    let request = SyncRequest {
        namespace: "people".into(),
        name: "acme".into(),
        kind: RunMode::Simulate,
        secrets_dir: secrets,
        run_id: "5e6f7a8b".into(),
        report: "acme-sim-2-5e6f7a8b-report".into(),
        approve: None,
        termination_log: dir.path().join("termination-log"),
        scratch: dir.path().join("scratch"),
        report_limits: Default::default(),
    };
    let summary = sync(client, &request).await.unwrap();
    api.await.unwrap();

    // The run's result is what it was: a simulation that plans one user, succeeded.
    assert_eq!(summary.result, RunResult::Succeeded);
    assert_eq!(summary.counts.created, 1);
    let delivered = up.delivered();
    assert_eq!(
        delivered.len(),
        1,
        "the receiver that is up got its one message"
    );
    assert_eq!(
        delivered[0].header("idempotency-key"),
        Some("5e6f7a8b:SimulationReady")
    );
    let report = summary
        .notifications
        .clone()
        .expect("a notification report");
    assert_eq!((report.sent, report.failed), (1, 2));
    let reasons: Vec<(usize, &str, &str)> = report
        .failures
        .iter()
        .map(|f| (f.channel, f.kind.as_str(), f.reason.as_str()))
        .collect();
    assert_eq!(
        reasons,
        [
            (0, "webhook", "Unreachable"),
            (2, "slack", "SecretUnreadable")
        ]
    );

    // The controller learns it from the termination message: an Event, the metrics, and
    // the run's result as the sync Job reported it.
    let message = std::fs::read_to_string(dir.path().join("termination-log")).unwrap();
    assert_eq!(message, termination_message(&summary));
    let (status, events, metrics) = crate::reconcile::record_simulation_message(&message).await;
    let reasons: Vec<&str> = events.iter().filter_map(|e| e["reason"].as_str()).collect();
    assert_eq!(reasons, ["SimulationReady", "NotificationFailed"]);
    let failed = &events[1];
    assert_eq!(failed["type"], "Warning");
    let note = failed["note"].as_str().unwrap();
    assert!(
        note.starts_with(
            "2 of 3 notifications were not delivered after retries: spec.notifications[0] \
             (webhook) SimulationReady: Unreachable, spec.notifications[2] (slack) \
             SimulationReady: SecretUnreadable"
        ),
        "{note}"
    );
    assert_eq!(status["lastSimulation"]["result"], "Succeeded");
    assert!(
        metrics.contains("hris_operator_notifications_failed_total 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("hris_operator_notifications_sent_total 1"),
        "{metrics}"
    );
}

/// The runs the README's pictures show: a sync that a safeguard held back (email), a
/// simulation (Slack), a sync the target refused users for licenses (Teams) and for taken
/// addresses (the webhook).
fn readme_summaries() -> [Summary; 4] {
    let base = |mode: RunMode, result: RunResult, as_of: &str| Summary {
        connection: "people-sync/acme-hr".into(),
        mode,
        as_of: as_of.into(),
        result,
        counts: ChangeCounts::default(),
        plan_hash: String::new(),
        safeguard: None,
        source_employees: 0,
        target_users: 0,
        managed_users: 0,
        sample: Vec::new(),
        error_category: None,
        seats: None,
        license_failures: 0,
        failures: Default::default(),
        notifications: None,
    };
    let counts = |c: [u64; 8]| ChangeCounts {
        created: c[0],
        updated: c[1],
        deactivated: c[2],
        deleted: c[3],
        unchanged: c[4],
        skipped: c[5],
        conflicts: c[6],
        errors: c[7],
        seat_limited: 0,
    };
    let mut withheld = base(RunMode::Apply, RunResult::Withheld, "2026-11-23");
    withheld.counts = counts([3, 5, 0, 0, 180, 2, 0, 0]);
    withheld.plan_hash = "4be0a5d21c9f7e3a6b18".into();
    let limit = "removals: 62 of 100 active managed users (62%) is more than maxPercent 20%";
    withheld.safeguard = Some(SafeguardTrip {
        empty_source: false,
        outdated_approval: None,
        guards: vec![GuardTrip {
            guard: GuardKind::Removals,
            attribute: None,
            changes: 62,
            base: 100,
            limit: limit.into(),
        }],
        withheld: 62,
        managed_users: 100,
        limit: limit.into(),
    });
    let mut simulated = base(RunMode::Simulate, RunResult::Succeeded, "2026-11-22");
    simulated.counts = counts([22, 34, 10, 3, 132, 13, 6, 3]);
    simulated.plan_hash = "8b17325da5fe0369e8d7".into();
    let mut licenses = base(RunMode::Apply, RunResult::Failed, "2026-11-24");
    licenses.counts = counts([4, 0, 0, 0, 190, 0, 0, 8]);
    licenses.plan_hash = "0e9f51c7a2d84b6310fe".into();
    licenses.error_category = Some("LicenseLimitExceeded".into());
    licenses.failures = [("LicenseLimitExceeded".to_owned(), 8)].into();
    let mut taken = base(RunMode::Apply, RunResult::Failed, "2026-11-25");
    taken.counts = counts([10, 2, 0, 0, 188, 0, 0, 12]);
    taken.plan_hash = "c35a0b7e9d1f2486ab0c".into();
    taken.error_category = Some("UserConflict".into());
    taken.failures = [("UserConflict".to_owned(), 12)].into();
    [withheld, simulated, licenses, taken]
}

fn readme_facts(summary: &Summary) -> RunFacts<'_> {
    RunFacts {
        namespace: "people-sync",
        name: "acme-hr",
        run_id: "7c1d9e24",
        summary,
        origin: Origin::Cluster,
        approval_required: false,
        refused_by: None,
        secrets_to_check: Vec::new(),
    }
}

/// Slack's mrkdwn as it reads on screen: no asterisks, entities decoded, a code block on its
/// own indented line.
fn shown_mrkdwn(text: &str) -> String {
    let mut shown = String::new();
    for (index, part) in text.split("```").enumerate() {
        if index % 2 == 1 {
            shown = format!("{}\n    {part}", shown.trim_end());
        } else {
            shown.push_str(&part.replace('*', ""));
        }
    }
    shown
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
        .trim_end()
        .to_owned()
}

/// A Slack message as it shows: each block in turn, a section's fields in two columns.
fn shown_in_slack(payload: &Value) -> String {
    let mut blocks = Vec::new();
    for block in payload["blocks"].as_array().unwrap() {
        if let Some(fields) = block["fields"].as_array() {
            let cells: Vec<(String, String)> = fields
                .iter()
                .map(|f| {
                    let text = shown_mrkdwn(f["text"].as_str().unwrap());
                    let (label, value) = text.split_once('\n').unwrap();
                    (label.to_owned(), value.to_owned())
                })
                .collect();
            let width = cells
                .iter()
                .step_by(2)
                .flat_map(|(label, value)| [label.len(), value.len()])
                .max()
                .unwrap_or(0)
                + 4;
            let mut rows = Vec::new();
            for pair in cells.chunks(2) {
                for part in [
                    |c: &(String, String)| c.0.clone(),
                    |c: &(String, String)| c.1.clone(),
                ] {
                    let right = pair.get(1).map(part).unwrap_or_default();
                    rows.push(
                        format!("{:<width$}{right}", part(&pair[0]))
                            .trim_end()
                            .to_owned(),
                    );
                }
            }
            blocks.push(rows.join("\n"));
        } else if let Some(text) = block["text"]["text"].as_str() {
            blocks.push(shown_mrkdwn(text));
        } else if let Some(elements) = block["elements"].as_array() {
            for element in elements {
                blocks.push(shown_mrkdwn(element["text"].as_str().unwrap()));
            }
        }
    }
    blocks.join("\n\n")
}

/// An Adaptive Card as Teams shows it: its elements apart, a command right under its step,
/// the facts in two columns.
fn shown_in_teams(payload: &Value) -> String {
    let mut shown = String::new();
    for element in payload["attachments"][0]["content"]["body"]
        .as_array()
        .unwrap()
    {
        if let Some(facts) = element["facts"].as_array() {
            let width = facts
                .iter()
                .map(|f| f["title"].as_str().unwrap().len())
                .max()
                .unwrap_or(0)
                + 2;
            shown.push_str("\n\n");
            let rows: Vec<String> = facts
                .iter()
                .map(|f| {
                    format!(
                        "{:<width$}{}",
                        f["title"].as_str().unwrap(),
                        f["value"].as_str().unwrap()
                    )
                })
                .collect();
            shown.push_str(&rows.join("\n"));
        } else if element["fontType"] == "Monospace" {
            shown.push_str(&format!("\n    {}", element["text"].as_str().unwrap()));
        } else {
            shown.push_str(&format!("\n\n{}", element["text"].as_str().unwrap()));
        }
    }
    shown.trim_start().to_owned()
}

#[test]
fn the_readme_shows_each_message_as_it_is_rendered() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let [withheld, simulated, licenses, taken] = readme_summaries();
    let email = Message::new(
        NotificationEvent::SafeguardTriggered,
        &readme_facts(&withheld),
    );
    let slack = Message::new(
        NotificationEvent::SimulationReady,
        &readme_facts(&simulated),
    );
    let teams = Message::new(
        NotificationEvent::LicenseLimitExceeded,
        &readme_facts(&licenses),
    );
    let hook = Message::new(NotificationEvent::UserConflicts, &readme_facts(&taken));
    let time: jiff::Timestamp = "2026-11-25T03:00:07Z".parse().unwrap();
    let pictures = [
        (
            "email",
            format!(
                "Subject: {}\n\n{}",
                notify::email::subject(&email),
                email.text()
            ),
        ),
        (
            "Slack",
            shown_in_slack(&notify::slack::payload(&slack)) + "\n",
        ),
        (
            "Teams",
            shown_in_teams(&notify::teams::payload(&teams)) + "\n",
        ),
        (
            "webhook",
            serde_json::to_string_pretty(&notify::webhook::event(
                &hook,
                &readme_facts(&taken),
                time,
            ))
            .unwrap()
                + "\n",
        ),
    ];
    let mut missing = String::new();
    for (channel, picture) in &pictures {
        if !readme.contains(&format!("```\n{picture}```\n")) {
            missing.push_str(&format!(
                "the README's {channel} message is not what the code sends; it is:\n```\n{picture}```\n\n"
            ));
        }
    }
    assert!(missing.is_empty(), "{missing}");
    // The table of events has a row for each.
    for event in NotificationEvent::ALL {
        assert!(
            readme.contains(&format!("\n| `{}` |", event.as_str())),
            "{event:?} is missing from the README's table of events"
        );
    }
}

#[tokio::test]
async fn a_receiver_that_never_answers_costs_the_run_no_more_than_the_budget() {
    // It takes connections and never answers them.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            open.push(stream);
        }
    });
    let dir = tempfile::tempdir().unwrap();
    write_secret(dir.path(), "hooks", "slow", &url);
    let channels: Vec<hris_operator::crd::NotificationChannel> = serde_json::from_value(json!([
        {"webhook": {"urlSecretRef": {"name": "hooks", "key": "slow"}},
         "events": ["SimulationReady", "UserConflicts"]}
    ]))
    .unwrap();
    let secrets = hris_operator::connectors::SecretResolver::from_dir(dir.path());
    let [_, mut simulated, _, _] = readme_summaries();
    simulated.counts.conflicts = 2;
    let started = std::time::Instant::now();
    let report = notify::Notifier::new(&channels, &secrets)
        .unwrap()
        .with_retry(
            hris_operator::connectors::http::RetryPolicy {
                max_tries: 4,
                base_delay: std::time::Duration::from_millis(10),
                max_delay: std::time::Duration::from_millis(10),
            },
            std::time::Duration::from_secs(2),
        )
        .send(&readme_facts(&simulated))
        .await;
    let took = started.elapsed();
    held.abort();
    assert_eq!((report.sent, report.failed), (0, 2));
    assert!(report.failures.iter().all(|f| f.reason == "Unreachable"));
    // Both messages ran out of the one budget, well before a single try's 15 s timeout.
    assert!(
        took >= std::time::Duration::from_secs(2) && took < std::time::Duration::from_secs(5),
        "{took:?}"
    );
}
