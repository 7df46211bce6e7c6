//! Graph and Google Workspace targets wired to their emulators.

use std::time::Duration;

use hris_operator::{
    connectors::target::{google::GoogleTarget, graph::GraphTarget},
    crd::{GoogleWorkspaceTarget, MicrosoftGraphTarget},
    emulators::{
        google::{GoogleConfig, GoogleEmulator},
        graph::{GraphConfig, GraphEmulator},
    },
};
use serde_json::{Value, json};

/// The test-only service account key (generated for these tests; it guards nothing).
pub const GOOGLE_TEST_KEY: &str =
    include_str!("../fixtures/test-only-google-service-account.key.pem");
/// Its public half, for the emulator.
pub const GOOGLE_TEST_PUBLIC_KEY: &str =
    include_str!("../fixtures/test-only-google-service-account.pub.pem");

/// A Graph spec pointing at an emulator, with `extra` spec fields merged in.
pub fn graph_spec(emulator: &GraphEmulator, config: &GraphConfig, extra: Value) -> MicrosoftGraphTarget {
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
pub fn google_spec(emulator: &GoogleEmulator, config: &GoogleConfig, extra: Value) -> GoogleWorkspaceTarget {
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
