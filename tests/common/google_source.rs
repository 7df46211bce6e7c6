//! The Google emulator as a run's source (`source.googleWorkspace`): the test service account's
//! key file written as a secret file (`DIR/NAME/KEY`, as the sync Job mounts it) and the source
//! settings that read the emulator.

use std::path::Path;

use hris_emulators::google::{GoogleConfig, GoogleEmulator};
use serde_json::{Map, Value, json};

use super::{directories::google_key_file, hr_sources::write_secret};

/// The secret reference the settings name.
pub const SECRET: (&str, &str) = ("google", "serviceAccountKey.json");

/// The `googleWorkspace` settings that read `emulator` (started with `config`) for `scope`,
/// with `settings` added; writes the key file under `secrets` (with another service account's
/// name when `wrong_account`, which the token endpoint refuses).
pub fn google_source(
    emulator: &GoogleEmulator,
    config: &GoogleConfig,
    secrets: &Path,
    scope: Value,
    settings: Map<String, Value>,
    wrong_account: bool,
) -> Map<String, Value> {
    let mut key: Value = serde_json::from_str(&google_key_file(config, &emulator.token_url()))
        .expect("a JSON key file");
    if wrong_account {
        key["client_email"] = json!(format!("{}-wrong", config.client_email));
    }
    write_secret(secrets, SECRET.0, SECRET.1, &key.to_string());
    let mut spec = settings;
    for (key, value) in [
        (
            "serviceAccountKeySecretRef",
            json!({"name": SECRET.0, "key": SECRET.1}),
        ),
        ("adminEmail", json!(config.admin_email)),
        ("tokenUrl", json!(emulator.token_url())),
        ("apiUrl", json!(emulator.api_url())),
        ("scope", scope),
    ] {
        spec.insert(key.into(), value);
    }
    spec
}
