//! Graph and Google Workspace targets wired to their emulators.

use std::time::Duration;

use hris_emulators::{
    google::{GoogleConfig, GoogleEmulator},
    graph::{GraphConfig, GraphEmulator},
};
use hris_operator::{
    connectors::target::{google::GoogleTarget, graph::GraphTarget},
    crd::{GoogleWorkspaceTarget, MicrosoftGraphTarget},
};
use serde_json::{Value, json};

/// The test-only service account key (generated for these tests; it guards nothing).
pub const GOOGLE_TEST_KEY: &str =
    include_str!("../fixtures/test-only-google-service-account.key.pem");
/// Its public half, for the emulator.
pub const GOOGLE_TEST_PUBLIC_KEY: &str =
    include_str!("../fixtures/test-only-google-service-account.pub.pem");

/// A Graph spec pointing at an emulator, with `extra` spec fields merged in.
pub fn graph_spec(
    emulator: &GraphEmulator,
    config: &GraphConfig,
    extra: Value,
) -> MicrosoftGraphTarget {
    let mut spec = json!({
        "tenantId": config.tenant_id,
        "clientId": config.client_id,
        "clientSecretSecretRef": {"name": "graph", "key": "clientSecret"},
        "authorityUrl": emulator.authority_url(),
        "graphUrl": emulator.graph_url(),
        "writesPerSecond": 1000.0,
        "maxTries": 4,
        "timeoutSeconds": 10,
    });
    for (key, value) in extra.as_object().into_iter().flatten() {
        spec[key] = value.clone();
    }
    serde_json::from_value(spec).expect("a valid microsoftGraph spec")
}

/// A Graph emulator and a target using it.
pub async fn graph(config: GraphConfig, extra: Value) -> (GraphEmulator, GraphTarget) {
    let emulator = GraphEmulator::start(config.clone()).await.unwrap();
    let spec = graph_spec(&emulator, &config, extra);
    let target = GraphTarget::new(&spec, config.client_secret.clone()).unwrap();
    (emulator, target)
}

/// The service account key file of the test key, as the Google console writes it.
pub fn google_key_file(config: &GoogleConfig, token_uri: &str) -> String {
    json!({
        "type": "service_account",
        "project_id": "test-project",
        "private_key_id": "0123456789abcdef",
        "private_key": GOOGLE_TEST_KEY,
        "client_email": config.client_email,
        "client_id": "100000000000000000001",
        "token_uri": token_uri,
    })
    .to_string()
}

/// A Google spec pointing at an emulator, with `extra` spec fields merged in.
pub fn google_spec(
    emulator: &GoogleEmulator,
    config: &GoogleConfig,
    extra: Value,
) -> GoogleWorkspaceTarget {
    let mut spec = json!({
        "serviceAccountKeySecretRef": {"name": "google", "key": "key.json"},
        "adminEmail": config.admin_email,
        "apiUrl": emulator.api_url(),
        "requestsPerSecond": 1000.0,
        "maxTries": 4,
        "timeoutSeconds": 10,
    });
    for (key, value) in extra.as_object().into_iter().flatten() {
        spec[key] = value.clone();
    }
    serde_json::from_value(spec).expect("a valid googleWorkspace spec")
}

/// A Google emulator and a target using it (the key file's token_uri is the emulator's).
pub async fn google(config: GoogleConfig, extra: Value) -> (GoogleEmulator, GoogleTarget) {
    let emulator = GoogleEmulator::start(config.clone()).await.unwrap();
    let spec = google_spec(&emulator, &config, extra);
    let key = google_key_file(&config, &emulator.token_url());
    let target = GoogleTarget::new(&spec, &key).unwrap();
    (emulator, target)
}

/// Short waits for tests.
pub const SHORT: Duration = Duration::from_millis(5);

/// Three employees: Ada manages Bo, Bo manages Cy (listed reports first, so the run must
/// order the creates itself).
pub const EMPLOYEES_CSV: &str = "\
id,firstName,lastName,workEmail,employmentStatus,startDate,managerId,department,title
3,Cy,Öst,cy@acme.example,Active,2022-03-01,2,Sales,Seller
2,Bo,Berg,bo@acme.example,Active,2021-02-01,1,Engineering,Engineer
1,Ada,Lind,ada@acme.example,Active,2020-01-01,,Engineering,CTO
";

/// A folder with `employees.csv` and the secrets `graph/clientSecret` and `google/key.json`.
pub fn workspace(graph_secret: &str, google_key: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("employees.csv"), EMPLOYEES_CSV).unwrap();
    for (name, key, value) in [
        ("graph", "clientSecret", graph_secret),
        ("google", "key.json", google_key),
    ] {
        std::fs::create_dir_all(dir.path().join("secrets").join(name)).unwrap();
        std::fs::write(dir.path().join("secrets").join(name).join(key), value).unwrap();
    }
    dir
}

/// A connection spec reading `employees.csv` into `target` with `mappings`.
pub fn connection(target: Value, mappings: Value) -> hris_operator::crd::HrisConnectionSpec {
    serde_json::from_value(json!({
        "source": {"csv": {"path": "employees.csv"}},
        "target": target,
        "externalIdPrefix": "acme:",
        "attributeMapping": mappings,
    }))
    .expect("a valid connection spec")
}

/// One applied run of the whole pipeline (build the target from the spec, list, plan, apply).
pub async fn sync(
    spec: &hris_operator::crd::HrisConnectionSpec,
    dir: &std::path::Path,
) -> hris_operator::sync::run::RunOutput {
    use hris_operator::{
        connectors::{ConnectorContext, SecretResolver, connect},
        sync::{
            policy::SyncPolicy,
            report::RunMode,
            run::{RunOptions, run},
        },
    };
    let policy = SyncPolicy::compile(spec).expect("valid policy");
    let context = ConnectorContext {
        base_dir: dir.to_path_buf(),
        secrets: SecretResolver::from_dir(dir.join("secrets")),
        config_maps: hris_operator::connectors::ConfigMapResolver::none(),
    };
    let (source, target) = connect(spec, &context).await.expect("the connectors build");
    run(
        "people/acme",
        &policy,
        &*source,
        &*target,
        &RunOptions {
            mode: RunMode::Apply,
            as_of: jiff::civil::date(2026, 11, 22),
            approved_hash: None,
        },
    )
    .await
    .expect("the run succeeds")
}

/// The `microsoftGraph` target of a connection against an emulator.
pub fn graph_target_json(emulator: &GraphEmulator, config: &GraphConfig) -> Value {
    json!({"microsoftGraph": {
        "tenantId": config.tenant_id,
        "clientId": config.client_id,
        "clientSecretSecretRef": {"name": "graph", "key": "clientSecret"},
        "authorityUrl": emulator.authority_url(),
        "graphUrl": emulator.graph_url(),
        "usageLocation": "SE",
        "writesPerSecond": 200.0,
    }})
}

/// The `googleWorkspace` target of a connection against an emulator.
pub fn google_target_json(emulator: &GoogleEmulator, config: &GoogleConfig) -> Value {
    json!({"googleWorkspace": {
        "serviceAccountKeySecretRef": {"name": "google", "key": "key.json"},
        "adminEmail": config.admin_email,
        "tokenUrl": emulator.token_url(),
        "apiUrl": emulator.api_url(),
        "orgUnitPath": "/Staff",
        "requestsPerSecond": 200.0,
    }})
}

/// Graph mappings of the HR fields.
pub fn graph_mappings() -> Value {
    json!([
        {"from": "department", "to": "department"},
        {"from": "title", "to": "jobTitle"},
        {"from": "startDate", "to": "employeeHireDate"},
        {"from": "id", "to": "employeeId"},
    ])
}

/// Google mappings of the HR fields.
pub fn google_mappings() -> Value {
    json!([
        {"from": "department", "to": "organizations.department"},
        {"from": "title", "to": "organizations.title"},
    ])
}
