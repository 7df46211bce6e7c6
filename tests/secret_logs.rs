//! No password, token or key in any log line: a TRACE subscriber captures everything the
//! process logs while whole runs create users through Microsoft Graph and Google Workspace
//! (tokens fetched, a throttled batch item retried, a UPN collision retried), Entra ID is read
//! as a source (users read by userPrincipalName), Google Workspace too (its org unit, and a
//! user read by primary email for `fields`) and a Slack workspace (a bot token, a throttled
//! page retried, a channel read), then the captured text is searched for every
//! secret the emulators saw.

mod common;

use std::{
    io::Write,
    sync::{Arc, Mutex},
};

use common::directories::*;
use hris_emulators::{
    google::{GoogleConfig, GoogleEmulator},
    graph::{GraphConfig, GraphEmulator},
    hr::Faults,
    slack::{self, SlackChannel, SlackConfig, SlackEmulator, SlackToken},
};
use hris_operator::sync::{
    model::NewUser,
    ports::target::{Target, TargetOp},
};
use serde_json::json;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Builds the source a spec names and reads it: the three users the runs created.
async fn read_three(
    spec: &hris_operator::crd::SourceSpec,
    context: &hris_operator::connectors::ConnectorContext,
) -> Box<dyn hris_operator::sync::ports::source::Source> {
    let source = hris_operator::connectors::source::build(spec, context)
        .await
        .unwrap();
    let read = hris_operator::sync::ports::source::fetch_all(source.as_ref())
        .await
        .unwrap();
    assert_eq!((read.employees.len(), read.errors.len()), (3, 0));
    source
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_password_token_key_or_personal_data_reaches_a_log_line() {
    let captured = Captured::default();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(captured.clone())
        .with_ansi(false)
        .init();

    let graph_config = GraphConfig {
        client_secret: "graph-client-secret-7f3a9c".into(),
        ..GraphConfig::default()
    };
    let graph_emulator = GraphEmulator::start(graph_config.clone()).await.unwrap();
    let google_config = GoogleConfig::new(GOOGLE_TEST_PUBLIC_KEY);
    let google_emulator = GoogleEmulator::start(google_config.clone()).await.unwrap();
    let key_file = google_key_file(&google_config, &google_emulator.token_url());
    let dir = workspace(&graph_config.client_secret, &key_file);

    // Whole runs through both targets: every employee created, managers linked.
    graph_emulator.throttle_writes(&[1], 1);
    let graph_run = sync(
        &connection(
            graph_target_json(&graph_emulator, &graph_config),
            graph_mappings(),
        ),
        dir.path(),
    )
    .await;
    assert_eq!(graph_run.summary.counts.created, 3);
    google_emulator.fail_next(1, 403, "userRateLimitExceeded");
    let google_run = sync(
        &connection(
            google_target_json(&google_emulator, &google_config),
            google_mappings(),
        ),
        dir.path(),
    )
    .await;
    assert_eq!(google_run.summary.counts.created, 3);

    // A name collision: the retried create carries a second generated password.
    let (collide_emulator, collide_target) = graph(
        graph_config.clone(),
        json!({"userPrincipalNameTemplate": "{firstName}.{lastName}@contoso.example"}),
    )
    .await;
    let twin = |n: u32| NewUser {
        external_id: format!("acme:twin{n}").into(),
        email: format!("twin{n}@acme.example").into(),
        first_name: "Twin".into(),
        last_name: "Lind".into(),
        active: true,
        ..NewUser::default()
    };
    let results = collide_target
        .apply(vec![TargetOp::Create(twin(1)), TargetOp::Create(twin(2))])
        .await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");

    // The users the run created, read back through the Graph source by their names.
    let source_spec: hris_operator::crd::SourceSpec = serde_json::from_value(json!({
        "microsoftGraph": {
            "tenantId": graph_config.tenant_id, "clientId": graph_config.client_id,
            "clientSecretSecretRef": {"name": "graph", "key": "clientSecret"},
            "authorityUrl": graph_emulator.authority_url(),
            "graphUrl": graph_emulator.graph_url(),
            "scope": {"users": ["ada@acme.example", "bo@acme.example", "cy@acme.example"]},
        }
    }))
    .unwrap();
    let context = hris_operator::connectors::ConnectorContext {
        base_dir: dir.path().to_path_buf(),
        secrets: hris_operator::connectors::SecretResolver::from_dir(dir.path().join("secrets")),
        config_maps: hris_operator::connectors::ConfigMapResolver::from_dir(dir.path()),
    };
    read_three(&source_spec, &context).await;

    // The users the Google run created, read back through the Google source: the root unit
    // and its sub-units, and one user by primary email for `fields`.
    let google_source: hris_operator::crd::SourceSpec = serde_json::from_value(json!({
        "googleWorkspace": {
            "serviceAccountKeySecretRef": {"name": "google", "key": "key.json"},
            "adminEmail": google_config.admin_email,
            "apiUrl": google_emulator.api_url(),
            "scope": {"orgUnits": ["/"]},
            "referenceEmployeeId": "bo@acme.example",
        }
    }))
    .unwrap();
    let source = read_three(&google_source, &context).await;
    let fields = source.fields().await.unwrap();
    assert!(fields.iter().any(|f| f.name == "primaryEmail"));

    // The same people as Slack members, read through a channel with a bot token; the first
    // answer is a 429 the client waits out.
    const SLACK_TOKEN: &str = "xoxb-secret-logs-5c1d93";
    let people: Vec<hris_operator::sync::model::Employee> = [
        ("1", "Ada", "Lind", "ada@acme.example"),
        ("2", "Bo", "Öst", "bo@acme.example"),
        ("3", "Cy", "Berg", "cy@acme.example"),
    ]
    .into_iter()
    .map(|(id, first, last, email)| {
        let mut e = hris_operator::sync::model::Employee::new(
            id,
            first,
            last,
            hris_operator::sync::model::EmploymentStatus::Active,
        );
        e.emails.push(hris_operator::sync::model::Email {
            address: email.into(),
            kind: hris_operator::sync::model::EmailType::Work,
        });
        e
    })
    .collect();
    let members = slack::members_of(&people);
    let slack_emulator = SlackEmulator::start(SlackConfig {
        tokens: vec![SlackToken {
            token: SLACK_TOKEN.into(),
            scopes: slack::DEFAULT_SCOPES.map(str::to_owned).to_vec(),
        }],
        channels: vec![SlackChannel {
            id: "C0PEOPLE01".into(),
            name: "people".into(),
            is_private: false,
            app_is_member: true,
            members: members
                .iter()
                .map(|m| m["id"].as_str().unwrap().to_owned())
                .collect(),
        }],
        members,
        faults: Faults {
            throttle_storm: 1,
            ..Faults::default()
        },
        ..SlackConfig::default()
    })
    .await
    .unwrap();
    std::fs::create_dir_all(dir.path().join("secrets/slack")).unwrap();
    std::fs::write(dir.path().join("secrets/slack/botToken"), SLACK_TOKEN).unwrap();
    let slack_spec: hris_operator::crd::SourceSpec = serde_json::from_value(json!({
        "slack": {
            "botTokenSecretRef": {"name": "slack", "key": "botToken"},
            "apiUrl": slack_emulator.api_url(),
            "scope": {"channels": ["C0PEOPLE01"]},
            "requestsPerSecond": 1000,
        }
    }))
    .unwrap();
    let source = hris_operator::connectors::source::build_with(
        &slack_spec,
        &context,
        hris_operator::connectors::source::RetryDelays {
            base: std::time::Duration::from_millis(2),
            max: std::time::Duration::from_millis(20),
        },
    )
    .await
    .unwrap();
    let read = hris_operator::sync::ports::source::fetch_all(source.as_ref())
        .await
        .unwrap();
    assert_eq!((read.employees.len(), read.errors.len()), (3, 0));
    assert_eq!(slack_emulator.throttled(), 1);

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        log.lines().count() > 20
            && log.contains("/v1.0/$batch")
            && log.contains("run finished")
            && log.contains("/admin/directory/v1/users/<name>"),
        "the capture works:\n{log}"
    );

    let mut secrets: Vec<(String, String)> = Vec::new();
    for password in graph_emulator
        .received_passwords()
        .into_iter()
        .chain(collide_emulator.received_passwords())
        .chain(google_emulator.received_passwords())
    {
        secrets.push(("a generated password".into(), password));
    }
    assert_eq!(
        secrets.len(),
        3 + 3 + 3,
        "passwords sent: 3 per run, 2 twins + 1 retry"
    );
    for token in graph_emulator
        .issued_tokens()
        .into_iter()
        .chain(collide_emulator.issued_tokens())
        .chain(google_emulator.issued_tokens())
    {
        secrets.push(("an access token".into(), token));
    }
    secrets.push((
        "the client secret".into(),
        graph_config.client_secret.clone(),
    ));
    secrets.push(("the Slack bot token".into(), SLACK_TOKEN.to_owned()));
    assert!(
        log.contains("/api/users.list"),
        "the Slack requests are captured"
    );
    for line in GOOGLE_TEST_KEY.lines().filter(|l| !l.starts_with("-----")) {
        secrets.push(("a line of the private key".into(), line.to_owned()));
    }
    for personal in [
        "ada@acme.example",
        "bo@acme.example",
        "cy@acme.example",
        "twin1@acme.example",
        "Lind",
        "Öst",
        "Berg",
    ] {
        secrets.push(("personal data".into(), personal.to_owned()));
    }
    for (what, value) in &secrets {
        assert!(value.len() >= 3);
        if let Some(line) = log.lines().find(|line| line.contains(value.as_str())) {
            panic!("{what} appears in a log line: {line}");
        }
    }
}
