//! The Graph emulator as a run's source (`source.microsoftGraph`): its app registration's
//! secret written as a secret file (`DIR/NAME/KEY`, as the sync Job mounts it) and the source
//! settings that read it.

use std::path::Path;

use hris_emulators::graph::{GraphConfig, GraphEmulator};
use serde_json::{Map, Value, json};

use super::hr_sources::write_secret;

/// The secret reference the settings name.
pub const SECRET: (&str, &str) = ("graph", "clientSecret");

/// The `microsoftGraph` settings that read `emulator` (started with `config`) for `scope`,
/// with `settings` added; writes the client secret under `secrets` (a wrong one when
/// `wrong_secret`).
pub fn graph_source(
    emulator: &GraphEmulator,
    config: &GraphConfig,
    secrets: &Path,
    scope: Value,
    settings: Map<String, Value>,
    wrong_secret: bool,
) -> Map<String, Value> {
    let secret = if wrong_secret {
        format!("{}-wrong", config.client_secret)
    } else {
        config.client_secret.clone()
    };
    write_secret(secrets, SECRET.0, SECRET.1, &secret);
    let mut spec = settings;
    for (key, value) in [
        ("tenantId", json!(config.tenant_id)),
        ("clientId", json!(config.client_id)),
        (
            "clientSecretSecretRef",
            json!({"name": SECRET.0, "key": SECRET.1}),
        ),
        ("authorityUrl", json!(emulator.authority_url())),
        ("graphUrl", json!(emulator.graph_url())),
        ("scope", scope),
    ] {
        spec.insert(key.into(), value);
    }
    spec
}
