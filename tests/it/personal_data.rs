//! No secret and no employee's email or name leaves a sync anywhere but its reports.
//!
//! The `hris-operator` binary runs whole syncs at the most verbose log level (`RUST_LOG=trace`,
//! every crate): Merge (API key and account token), Personio (client credentials exchanged
//! for tokens), Entra ID (an app registration's client secret exchanged for tokens; users
//! read by their userPrincipalName, an address, in the path), Google Workspace (a service
//! account's key signing token requests; a group read by its address, in the path) and Slack
//! (a bot token; a member without an address skipped with the scope to add) into a SCIM
//! provider (bearer token), creating, updating and deactivating users,
//! with a write the provider refuses, an email held by another connection's user (a conflict),
//! an employee with only a personal address (no usable email), a simulation, a run whose
//! source refuses the credentials, a run whose `seatLimit` holds a create and a reactivation
//! back, and one whose provider refuses a reactivation for lack of licenses. Everything a sync publishes is gathered: its log lines
//! (stderr, which is the Job's Pod log), the summary the controller reads (the termination
//! message), what the controller makes of it — the connection's status, the Events and the
//! metrics text — and every notification the runs sent (`--notify`: Slack, Teams and webhook
//! bodies as local servers received them, and the emails as a real SMTP server received them).
//! None of it may contain a secret value, an employee email or a name.
//!
//! The reports must still hold the people (they are the product, kept in Secrets); the test
//! checks that too, so it cannot pass by running syncs that touch nobody.

use std::{path::Path, process::Command};

use crate::common::{
    directories::{GOOGLE_TEST_KEY, GOOGLE_TEST_PUBLIC_KEY, google_key_file},
    receivers::{HttpReceiver, SmtpServer},
};
use hris_emulators::{
    google::{self, GoogleConfig, GoogleEmulator, GoogleGroup},
    graph::{self, GraphConfig, GraphEmulator},
    merge::{self, MergeConfig},
    personio::{self, PersonioConfig},
    scim::{ScimConfig, ScimEmulator},
    slack::{self, SlackConfig, SlackEmulator, SlackToken},
};
use hris_operator::{
    contract::termination::termination_message,
    controller::status::{Finished, record_run},
    crd::HrisConnectionStatus,
    metrics::Metrics,
    sync::{
        model::{
            AddressPart, AddressType, Email, EmailType, Employee, EmploymentStatus, PhoneType,
        },
        report::{RunMode, Summary},
    },
};
use serde_json::{Value, json};

const SCIM_TOKEN: &str = "scim-bearer-4f1c9e2d7a";
const MERGE_KEY: &str = "merge-api-key-93be1a";
const MERGE_ACCOUNT: &str = "merge-account-token-5d2c7f";
const PERSONIO_ID: &str = "personio-client-id-8a1e";
const PERSONIO_SECRET: &str = "personio-client-secret-c3f90b";
/// The credential part of the Slack webhook URL.
const SLACK_TOKEN: &str = "slack-hook-token-77d0e2";
/// The signature in the Teams Workflows URL.
const TEAMS_SIG: &str = "teams-workflow-sig-3b9f10";
const SIGNING_KEY: &str = "webhook-signing-key-e41a7c";
const GRAPH_SECRET: &str = "graph-client-secret-71d0e4";
const SLACK_BOT_TOKEN: &str = "xoxb-slack-bot-token-2e8a51";

/// (first name, last name, work email, personal email, status).
const PEOPLE: [(&str, &str, Option<&str>, &str, EmploymentStatus); 6] = [
    (
        "Quirina",
        "Vasquez-Ortega",
        Some("quirina.vasquez@corp.example"),
        "qv.home@mail.example",
        EmploymentStatus::Active,
    ),
    (
        "Theodric",
        "Blomqvist",
        Some("theodric.blomqvist@corp.example"),
        "tb.home@mail.example",
        EmploymentStatus::Active,
    ),
    (
        "Wilhelmina",
        "Zetterlund",
        Some("wilhelmina.zetterlund@corp.example"),
        "wz.home@mail.example",
        EmploymentStatus::Active,
    ),
    (
        "Oswaldo",
        "Kringelbach",
        Some("oswaldo.kringelbach@corp.example"),
        "ok.home@mail.example",
        EmploymentStatus::Inactive,
    ),
    (
        "Perpetua",
        "Achterberg",
        None,
        "perpetua.achterberg@mail.example",
        EmploymentStatus::Active,
    ),
    (
        "Leopoldine",
        "Fairweather",
        Some("leopoldine.fairweather@corp.example"),
        "lf.home@mail.example",
        EmploymentStatus::Active,
    ),
];

/// The provider refuses writes to this user.
const REFUSED: &str = "wilhelmina.zetterlund@corp.example";
/// A user managed under another external ID holds this address: a conflict.
const CONFLICTING: &str = "leopoldine.fairweather@corp.example";

/// The people as the HR system has them; before `leavers_left`, everyone is still employed.
fn employees(title: &str, leavers_left: bool) -> Vec<Employee> {
    PEOPLE
        .iter()
        .enumerate()
        .map(|(index, (first, last, work, personal, status))| {
            let status = if leavers_left {
                *status
            } else {
                EmploymentStatus::Active
            };
            let mut employee = Employee::new(format!("P{index:03}"), *first, *last, status);
            if let Some(work) = work {
                employee.emails.push(Email {
                    address: (*work).into(),
                    kind: EmailType::Work,
                });
            }
            employee.emails.push(Email {
                address: (*personal).into(),
                kind: EmailType::Personal,
            });
            employee.title = Some(title.into());
            employee.start_date = Some(jiff::civil::date(2024, 1, 15));
            // A private number and home address (personal data), a mobile number.
            employee.set_phone(PhoneType::Home, Some(home_phone(index).into()));
            employee.set_phone(PhoneType::Mobile, Some(mobile_phone(index).into()));
            employee.set_address_part(
                AddressType::Home,
                AddressPart::Street,
                Some(home_street(index).into()),
            );
            employee.set_address_part(
                AddressType::Home,
                AddressPart::PostalCode,
                Some(format!("9{index:04}1").into()),
            );
            employee
        })
        .collect()
}

fn home_phone(index: usize) -> String {
    format!("+46 40 918 7{index:03}")
}

fn mobile_phone(index: usize) -> String {
    format!("+46 73 627 1{index:03}")
}

fn home_street(index: usize) -> String {
    format!("Hemlighetsgränd {index}B")
}

/// Values that must appear nowhere but in the reports.
fn forbidden() -> Vec<(&'static str, String)> {
    let mut values = vec![
        ("the SCIM token", SCIM_TOKEN.to_owned()),
        ("the Merge API key", MERGE_KEY.to_owned()),
        ("the Merge account token", MERGE_ACCOUNT.to_owned()),
        ("the Personio client id", PERSONIO_ID.to_owned()),
        ("the Personio client secret", PERSONIO_SECRET.to_owned()),
        ("the Graph client secret", GRAPH_SECRET.to_owned()),
        ("the Slack bot token", SLACK_BOT_TOKEN.to_owned()),
        // The Personio emulator issues `token-N-<random>`: no issued token may be logged.
        ("a Personio access token", "token-1-".to_owned()),
        ("the Slack webhook URL's token", SLACK_TOKEN.to_owned()),
        ("the Teams workflow URL's signature", TEAMS_SIG.to_owned()),
        ("the webhook signing key", SIGNING_KEY.to_owned()),
    ];
    for index in 0..PEOPLE.len() {
        values.push(("a home phone number", home_phone(index)));
        values.push(("a mobile phone number", mobile_phone(index)));
        values.push(("a home street", home_street(index)));
    }
    for line in GOOGLE_TEST_KEY.lines().filter(|l| !l.starts_with("-----")) {
        values.push((
            "a line of the Google service account's key",
            line.to_owned(),
        ));
    }
    for (first, last, work, personal, _) in PEOPLE {
        values.push(("a first name", first.to_owned()));
        values.push(("a last name", last.to_owned()));
        values.push(("a personal email", personal.to_owned()));
        if let Some(work) = work {
            values.push(("a work email", work.to_owned()));
            // The local part alone (as in a userName or a log of `user@…`).
            values.push((
                "an email's local part",
                work.split('@').next().unwrap().to_owned(),
            ));
        }
    }
    values
}

fn write_file(dir: &Path, name: &str, key: &str, value: &str) {
    std::fs::create_dir_all(dir.join(name)).unwrap();
    std::fs::write(dir.join(name).join(key), value).unwrap();
}

/// What one run published, by where it went.
struct Published {
    /// The run's label.
    label: String,
    /// Where, and the text.
    texts: Vec<(String, String)>,
    /// The run's report files (personal data is expected there).
    reports: String,
}

/// Where the runs send their notifications.
struct Receivers {
    slack: HttpReceiver,
    teams: HttpReceiver,
    events: HttpReceiver,
    smtp: SmtpServer,
}

impl Receivers {
    /// The channels of every run: all four kinds, taking every event.
    fn channels(&self) -> Value {
        let all = json!([
            "SimulationReady",
            "SyncSucceeded",
            "SyncFailed",
            "SafeguardTriggered",
            "UserConflicts",
            "LicenseLimitExceeded",
            "CredentialsInvalid"
        ]);
        json!([
            {"slack": {"webhookUrlSecretRef": {"name": "hooks", "key": "slack"}}, "events": all},
            {"msTeams": {"webhookUrlSecretRef": {"name": "hooks", "key": "teams"}}, "events": all},
            {"webhook": {"urlSecretRef": {"name": "hooks", "key": "events"},
                         "signingKeySecretRef": {"name": "hooks", "key": "signing"}},
             "events": all},
            {"email": {"smtp": {"host": "127.0.0.1", "port": self.smtp.port(), "tls": "None"},
                       "from": "hris@acme.example", "to": ["hr-team@acme.example"]},
             "events": all},
        ])
    }

    /// Every message received, by where it went.
    fn messages(&self) -> Vec<(String, String)> {
        let mut messages = Vec::new();
        for (kind, receiver) in [
            ("Slack", &self.slack),
            ("Teams", &self.teams),
            ("webhook", &self.events),
        ] {
            for (index, received) in receiver.requests().iter().enumerate() {
                messages.push((format!("{kind} message {index}"), received.text()));
            }
        }
        for (index, email) in self.smtp.emails().iter().enumerate() {
            messages.push((format!("email {index}"), email.raw.clone()));
        }
        messages
    }
}

/// Where the runs write and publish: the SCIM provider, the notification receivers, the
/// working folder and the controller's metrics.
#[derive(Clone, Copy)]
struct Sinks<'a> {
    scim: &'a ScimEmulator,
    receivers: &'a Receivers,
    dir: &'a Path,
    metrics: &'a Metrics,
}

/// Runs the binary (`apply` or `simulate`, with `--notify`) at trace level and gathers what it
/// published.
fn run(
    label: &str,
    command: &str,
    source: Value,
    seat_limit: Option<u32>,
    sinks: &Sinks,
) -> Published {
    let Sinks {
        scim,
        receivers,
        dir,
        metrics,
    } = *sinks;
    let manifest = dir.join(format!("{label}.yaml"));
    let mut connection = json!({
        "apiVersion": "hris-operator.io/v1alpha1",
        "kind": "HrisConnection",
        "metadata": {"name": label, "namespace": "people"},
        "spec": {
            "mode": "Active",
            "externalIdPrefix": "acme:",
            "source": source,
            "target": {"scim": {"baseUrl": scim.base_url(),
                                "credentialsSecretRef": {"name": "scim", "key": "token"},
                                "requestsPerSecond": 1000, "maxTries": 2}},
            "attributeMapping": [
                {"from": "title", "to": "title"},
                {"from": "homePhone", "to": "phoneNumbers[type eq \"home\"].value", "optional": true},
                {"from": "mobilePhone", "to": "phoneNumbers[type eq \"mobile\"].value", "optional": true},
                {"from": "homeAddress.street", "to": "addresses[type eq \"home\"].streetAddress", "optional": true},
                {"from": "homeAddress.postalCode", "to": "addresses[type eq \"home\"].postalCode", "optional": true},
            ],
            "emails": {"priority": ["Work", "Personal"], "includePersonal": false},
            "lifecycle": {"inactiveUsers": "Deactivate", "absentUsers": "Deactivate"},
            // The Personio run clears the numbers and addresses Personio does not hold.
            "safeguards": {"maxDeletePercent": 100, "attributeClears": {"maxPercent": 100}},
            "schedule": {"interval": "24h", "timeZone": "Europe/Stockholm"},
            "notifications": receivers.channels(),
        },
    });
    if let Some(limit) = seat_limit {
        // The seat runs are about a reactivation: no share of them is withheld for approval.
        connection["spec"]["safeguards"]["seatLimit"] = json!(limit);
        connection["spec"]["safeguards"]["reactivations"] = json!({});
    }
    std::fs::write(&manifest, serde_json::to_string(&connection).unwrap()).unwrap();
    let out = dir.join(format!("{label}-out"));
    let output = Command::new(env!("CARGO_BIN_EXE_hris-operator"))
        .arg(command)
        .arg("-f")
        .arg(&manifest)
        .arg("--secrets-dir")
        .arg(dir.join("secrets"))
        .arg("--out")
        .arg(&out)
        .arg("--as-of")
        .arg("2026-11-30")
        .arg("--notify")
        .env("RUST_LOG", "trace")
        .env_remove("NO_COLOR")
        .output()
        .expect("run the binary");
    let log = String::from_utf8_lossy(&output.stderr).into_owned();
    let mut texts = vec![(format!("{label}: log"), log)];
    let mut reports = String::new();
    if let Ok(summary_json) = std::fs::read_to_string(out.join("summary.json")) {
        let summary: Summary = serde_json::from_str(&summary_json).unwrap();
        // The controller learns a run only from its termination message.
        let message = termination_message(&summary);
        let learned: Summary = serde_json::from_str(&message).unwrap();
        let finished = Finished {
            kind: RunMode::Apply,
            job_name: format!("{label}-apply-1"),
            started_at: None,
            finished_at: jiff::Timestamp::UNIX_EPOCH,
            summary: Some(learned.clone()),
            failure: None,
            report: Some(format!("{label}-apply-1-report")),
        };
        let mut status = HrisConnectionStatus::default();
        let events = record_run(&mut status, &finished, 1);
        let counts = &learned.counts;
        metrics.run_finished(
            "apply",
            learned.result.into(),
            learned.error_category.as_deref(),
            Some([
                ("created", counts.created),
                ("updated", counts.updated),
                ("deactivated", counts.deactivated),
                ("deleted", counts.deleted),
            ]),
        );
        texts.push((format!("{label}: termination message"), message));
        texts.push((
            format!("{label}: status"),
            serde_json::to_string(&status).unwrap(),
        ));
        for event in events {
            texts.push((
                format!("{label}: Event {}", event.reason),
                format!("{} {}", event.reason, event.message),
            ));
        }
        for entry in std::fs::read_dir(&out).unwrap() {
            let path = entry.unwrap().path();
            reports.push_str(&std::fs::read_to_string(&path).unwrap_or_default());
        }
    }
    Published {
        label: label.to_owned(),
        texts,
        reports,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_emails_and_names_stay_out_of_logs_status_events_and_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("secrets");
    write_file(&secrets, "scim", "token", SCIM_TOKEN);
    write_file(&secrets, "merge", "apiKey", MERGE_KEY);
    write_file(&secrets, "merge", "accountToken", MERGE_ACCOUNT);
    write_file(&secrets, "merge-wrong", "apiKey", "merge-api-key-refused");
    write_file(&secrets, "personio", "clientId", PERSONIO_ID);
    write_file(&secrets, "personio", "clientSecret", PERSONIO_SECRET);
    let receivers = Receivers {
        slack: HttpReceiver::start().await,
        teams: HttpReceiver::start().await,
        events: HttpReceiver::start().await,
        smtp: SmtpServer::start(0),
    };
    let slack = receivers
        .slack
        .url(&format!("/services/T0001/B0001/{SLACK_TOKEN}"));
    write_file(&secrets, "hooks", "slack", &slack);
    let teams = receivers.teams.url(&format!(
        "/workflows/9c/triggers/manual/paths/invoke?sig={TEAMS_SIG}"
    ));
    write_file(&secrets, "hooks", "teams", &teams);
    write_file(
        &secrets,
        "hooks",
        "events",
        &receivers.events.url("/events"),
    );
    write_file(&secrets, "hooks", "signing", SIGNING_KEY);
    write_file(&secrets, "graph", "clientSecret", GRAPH_SECRET);
    write_file(&secrets, "slack", "botToken", SLACK_BOT_TOKEN);

    let scim = ScimEmulator::start(ScimConfig {
        token: SCIM_TOKEN.into(),
        ..ScimConfig::default()
    })
    .await
    .unwrap();
    scim.fail_user(REFUSED, 500);
    scim.insert_user(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": CONFLICTING,
        "externalId": "acme:P999",
        "name": {"givenName": "Someone", "familyName": "Else"},
        "emails": [{"value": CONFLICTING, "type": "work", "primary": true}],
        "active": true,
    }));

    let merge = merge::start(MergeConfig {
        api_key: MERGE_KEY.into(),
        account_token: MERGE_ACCOUNT.into(),
        records: merge::records(&employees("Engineer", false)),
        ..MergeConfig::default()
    })
    .await
    .unwrap();
    let personio = personio::start(PersonioConfig {
        client_id: PERSONIO_ID.into(),
        client_secret: PERSONIO_SECRET.into(),
        records: personio::records(&employees("Principal Engineer", true)),
        // Tokens expire after a few requests: the run exchanges credentials more than once.
        token_uses: Some(2),
        ..PersonioConfig::default()
    })
    .await
    .unwrap();
    let merge_source = |key_secret: &str| {
        json!({"merge": {"baseUrl": merge.base_url(),
                         "apiKeySecretRef": {"name": key_secret, "key": "apiKey"},
                         "accountTokenSecretRef": {"name": "merge", "key": "accountToken"},
                         "requestsPerSecond": 1000, "maxTries": 2}})
    };
    let personio_source = json!({"personio": {
        "baseUrl": personio.base_url(),
        "clientIdSecretRef": {"name": "personio", "key": "clientId"},
        "clientSecretSecretRef": {"name": "personio", "key": "clientSecret"},
        "requestsPerSecond": 1000, "maxTries": 2}});

    // Entra ID, into a SCIM provider of its own: the same people as users, listed by their
    // userPrincipalName (the work address, or a name on the tenant's onmicrosoft.com domain).
    let graph_config = GraphConfig {
        client_secret: GRAPH_SECRET.into(),
        users: graph::users_of(&employees("Engineer", true)),
        ..GraphConfig::default()
    };
    let graph = GraphEmulator::start(graph_config.clone()).await.unwrap();
    let listed: Vec<String> = graph_config
        .users
        .iter()
        .map(|u| u["userPrincipalName"].as_str().unwrap().to_owned())
        .collect();
    let graph_source = json!({"microsoftGraph": {
        "tenantId": graph_config.tenant_id, "clientId": graph_config.client_id,
        "clientSecretSecretRef": {"name": "graph", "key": "clientSecret"},
        "authorityUrl": graph.authority_url(), "graphUrl": graph.graph_url(),
        "scope": {"users": listed}, "requestsPerSecond": 1000, "maxTries": 2}});
    let entra_scim = ScimEmulator::start(ScimConfig {
        token: SCIM_TOKEN.into(),
        ..ScimConfig::default()
    })
    .await
    .unwrap();

    // Google Workspace, into a SCIM provider of its own: the same people as the users of a
    // group, read by the group's address. Their primary address is restated as a work address
    // (the spec's emails.priority takes Work); the person without one has an address on the
    // account's domain.
    let mut google_users = google::users_of(&employees("Engineer", true));
    for user in &mut google_users {
        let primary = user["primaryEmail"].clone();
        user["emails"]
            .as_array_mut()
            .unwrap()
            .push(json!({"address": primary, "type": "work"}));
    }
    let google_config = GoogleConfig {
        groups: vec![GoogleGroup {
            id: "03people0000001".into(),
            email: "people.everyone@acme.example".into(),
            name: "People".into(),
            members: google_users
                .iter()
                .map(|u| u["id"].as_str().unwrap().to_owned())
                .collect(),
        }],
        users: google_users,
        ..GoogleConfig::new(GOOGLE_TEST_PUBLIC_KEY)
    };
    let google = GoogleEmulator::start(google_config.clone()).await.unwrap();
    write_file(
        &secrets,
        "google",
        "key.json",
        &google_key_file(&google_config, &google.token_url()),
    );
    let google_source = json!({"googleWorkspace": {
        "serviceAccountKeySecretRef": {"name": "google", "key": "key.json"},
        "adminEmail": google_config.admin_email, "apiUrl": google.api_url(),
        "scope": {"groups": ["people.everyone@acme.example"]},
        "requestsPerSecond": 1000, "maxTries": 2}});
    let google_scim = ScimEmulator::start(ScimConfig {
        token: SCIM_TOKEN.into(),
        ..ScimConfig::default()
    })
    .await
    .unwrap();

    // Slack, into a SCIM provider of its own: the same people as members (a leaver
    // deactivated; the one without a work address has none in Slack), Slackbot among them.
    let mut members = vec![slack::slackbot()];
    members.extend(slack::members_of(&employees("Engineer", true)));
    let slack_emulator = SlackEmulator::start(SlackConfig {
        tokens: vec![SlackToken {
            token: SLACK_BOT_TOKEN.into(),
            scopes: slack::DEFAULT_SCOPES.map(str::to_owned).to_vec(),
        }],
        members,
        ..SlackConfig::default()
    })
    .await
    .unwrap();
    let slack_source = json!({"slack": {
        "botTokenSecretRef": {"name": "slack", "key": "botToken"},
        "apiUrl": slack_emulator.api_url(), "scope": {"allMembers": true},
        "requestsPerSecond": 1000, "maxTries": 2}});
    let slack_scim = ScimEmulator::start(ScimConfig {
        token: SCIM_TOKEN.into(),
        ..ScimConfig::default()
    })
    .await
    .unwrap();

    let metrics = Metrics::new();
    let path = dir.path();
    let sinks = Sinks {
        scim: &scim,
        receivers: &receivers,
        dir: path,
        metrics: &metrics,
    };
    let mut runs = vec![
        run("simulated", "simulate", merge_source("merge"), None, &sinks),
        run("created", "apply", merge_source("merge"), None, &sinks),
        // Same people from Personio under the same prefix: titles change (updates), the
        // leaver is deactivated, the refused write and the conflict come back.
        run("updated", "apply", personio_source, None, &sinks),
        run(
            "refused",
            "apply",
            merge_source("merge-wrong"),
            None,
            &sinks,
        ),
        run(
            "entra",
            "apply",
            graph_source,
            None,
            &Sinks {
                scim: &entra_scim,
                ..sinks
            },
        ),
        run(
            "google",
            "apply",
            google_source,
            None,
            &Sinks {
                scim: &google_scim,
                ..sinks
            },
        ),
        run(
            "slack",
            "apply",
            slack_source,
            None,
            &Sinks {
                scim: &slack_scim,
                ..sinks
            },
        ),
    ];

    // The runs did what the test needs them to: users created and updated, a write refused,
    // a conflict, a leaver deactivated, a failed source — and the reports name the people.
    let users = scim.users();
    let user_names: Vec<&str> = users
        .iter()
        .filter_map(|u| u["userName"].as_str())
        .collect();
    assert!(
        user_names.contains(&"quirina.vasquez@corp.example")
            && user_names.contains(&"oswaldo.kringelbach@corp.example"),
        "the syncs created users: {user_names:?}"
    );
    assert!(
        users.iter().any(|u| u["title"] == "Principal Engineer"),
        "the Personio run updated titles"
    );
    assert!(
        users
            .iter()
            .any(|u| u["userName"] == "oswaldo.kringelbach@corp.example" && u["active"] == false),
        "the leaver was deactivated"
    );

    // Everyone employed again: the leaver's reactivation and the refused create would take
    // seats, and none of three is free.
    runs.push(run(
        "seats",
        "apply",
        merge_source("merge"),
        Some(3),
        &sinks,
    ));
    // Seats enough in the spec, but the provider has three licenses: it refuses the
    // reactivation.
    scim.limit_seats(Some(3));
    runs.push(run(
        "licenses",
        "apply",
        merge_source("merge"),
        Some(5),
        &sinks,
    ));
    let published = |label: &str, what: &str| -> String {
        runs.iter()
            .flat_map(|r| r.texts.iter())
            .find(|(name, _)| name == &format!("{label}: {what}"))
            .map(|(_, text)| text.clone())
            .unwrap_or_else(|| panic!("no {what} for {label}"))
    };
    let created: Value =
        serde_json::from_str(&published("created", "termination message")).expect("the summary");
    assert_eq!(created["counts"]["created"], 3, "{created}");
    assert!(
        created["counts"]["conflicts"].as_u64() >= Some(1),
        "{created}"
    );
    assert!(created["counts"]["errors"].as_u64() >= Some(1), "{created}");
    assert!(
        created["counts"]["skipped"].as_u64() >= Some(1),
        "{created}"
    );
    let updated: Value =
        serde_json::from_str(&published("updated", "termination message")).expect("the summary");
    assert!(
        updated["counts"]["updated"].as_u64() >= Some(2),
        "{updated}"
    );
    // The leaver; the account holding the conflicting address is left alone (it is part of a
    // conflict, so it is neither changed nor removed).
    assert_eq!(updated["counts"]["deactivated"], 1, "{updated}");
    assert!(!published("refused", "log").is_empty());
    let seats: Value =
        serde_json::from_str(&published("seats", "termination message")).expect("the summary");
    assert_eq!(seats["counts"]["seatLimited"], 2, "{seats}");
    assert_eq!(seats["seats"]["activeBefore"], 3, "{seats}");
    let licenses: Value =
        serde_json::from_str(&published("licenses", "termination message")).expect("the summary");
    assert_eq!(licenses["licenseFailures"], 1, "{licenses}");
    for label in ["seats", "licenses"] {
        assert!(
            published(label, "status").contains("LicenseLimitExceeded"),
            "{label}: the condition"
        );
        assert!(!published(label, "Event LicenseLimitExceeded").is_empty());
    }
    // (The seat run holds the refused person's create back: skipped.csv names it by id.)
    // (The Entra, Google and Slack runs read other people, from their own directories into
    // their own providers.)
    let (seat_run, others): (Vec<_>, Vec<_>) = runs
        .iter()
        .filter(|r| !["entra", "google", "slack"].contains(&r.label.as_str()))
        .enumerate()
        .partition(|(_, r)| r.label == "seats");
    assert!(
        others
            .iter()
            .all(|(_, r)| r.texts.len() == 1 || r.reports.contains(REFUSED)),
        "every run that planned reports the refused user by email"
    );
    assert!(seat_run[0].1.reports.contains("P002,acme:P002,SeatLimit"));
    assert!(runs[1].reports.contains("Vasquez-Ortega"));
    // The Entra run read every listed user by name and created the employed ones with a
    // mailbox (four: the leaver is not created, the account without a mailbox not read).
    let entra: Value =
        serde_json::from_str(&published("entra", "termination message")).expect("the summary");
    assert_eq!(entra["counts"]["created"], 4, "{entra}");
    assert_eq!(entra_scim.users().len(), 4);
    let entra_run = runs.iter().find(|r| r.label == "entra").unwrap();
    assert!(entra_run.reports.contains("Zetterlund"));
    let entra_log = published("entra", "log");
    assert!(
        entra_log.contains("/v1.0/users/<name>"),
        "the reads by name are logged without the name"
    );
    let tokens = graph.issued_tokens();
    assert!(!tokens.is_empty());
    // The Google run read the group's members and created the employed (five: the leaver's
    // account is suspended; the person without a work address has one on the account's domain).
    let google_summary: Value =
        serde_json::from_str(&published("google", "termination message")).expect("the summary");
    assert_eq!(google_summary["counts"]["created"], 5, "{google_summary}");
    assert_eq!(google_scim.users().len(), 5);
    let google_run = runs.iter().find(|r| r.label == "google").unwrap();
    assert!(google_run.reports.contains("Vasquez-Ortega"));
    assert!(
        published("google", "log").contains("/admin/directory/v1/groups/<name>/members"),
        "the group is logged without its address"
    );
    let google_tokens = google.issued_tokens();
    assert!(!google_tokens.is_empty());
    // The Slack run created the employed members with an address (four: the leaver is
    // deactivated in Slack and not created, the one without an address is skipped, with the
    // scope that shows addresses), and never Slackbot.
    let slack_summary: Value =
        serde_json::from_str(&published("slack", "termination message")).expect("the summary");
    assert_eq!(slack_summary["counts"]["created"], 4, "{slack_summary}");
    assert_eq!(slack_scim.users().len(), 4);
    let slack_run = runs.iter().find(|r| r.label == "slack").unwrap();
    assert!(slack_run.reports.contains("Zetterlund"));
    assert!(
        slack_run.reports.contains(
            "NoUsableEmail,no email address: Slack shows a member's \
                                    email address only to a token with the users:read.email scope"
        ),
        "{}",
        slack_run.reports
    );
    assert!(
        published("slack", "log").contains("/api/users.list"),
        "the Slack requests are logged, without their arguments"
    );
    assert!(slack_emulator.requests().iter().all(|r| r.status == 200));

    // Trace level really was on, in our code and in the HTTP stack below it.
    let log = published("created", "log");
    assert!(
        log.contains("TRACE") && log.lines().count() > 30,
        "trace logging is on:\n{log}"
    );

    let mut everything = runs
        .iter()
        .flat_map(|r| r.texts.iter().cloned())
        .collect::<Vec<_>>();
    let metrics_text = metrics.encode();
    assert!(
        metrics_text.contains("result=\"Succeeded\""),
        "{metrics_text}"
    );
    everything.push(("metrics".into(), metrics_text));
    // Every run notified every channel: the simulation, the syncs (each failed for the refused
    // write, with a conflict), and the run whose source refused the credentials.
    let messages = receivers.messages();
    for (kind, receiver) in [
        ("Slack", &receivers.slack),
        ("Teams", &receivers.teams),
        ("webhook", &receivers.events),
    ] {
        let events: Vec<String> = receiver
            .requests()
            .iter()
            .filter_map(|r| r.header("idempotency-key").map(str::to_owned))
            .collect();
        for event in [
            "SimulationReady",
            "SyncFailed",
            "UserConflicts",
            "CredentialsInvalid",
        ] {
            assert!(
                events.iter().any(|key| key.ends_with(&format!(":{event}"))),
                "{kind} got no {event} message: {events:?}"
            );
        }
    }
    assert_eq!(
        receivers.smtp.emails().len(),
        receivers.slack.requests().len(),
        "an email for every Slack message"
    );
    everything.extend(messages);
    let mut forbidden = forbidden();
    forbidden.extend(tokens.into_iter().map(|t| ("a Graph access token", t)));
    forbidden.extend(
        google_tokens
            .into_iter()
            .map(|t| ("a Google access token", t)),
    );
    for (where_, text) in &everything {
        for (what, value) in &forbidden {
            if let Some(line) = text.lines().find(|line| line.contains(value.as_str())) {
                panic!("{what} ({value}) appears in {where_}: {line}");
            }
        }
    }
}
