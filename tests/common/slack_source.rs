//! The Slack emulator as a run's source (`source.slack`): its bot token written as a secret
//! file (`DIR/NAME/KEY`, as the sync Job mounts it) and the source settings that read it.

use std::path::Path;

use hris_emulators::slack::{SlackConfig, SlackEmulator};
use serde_json::{Map, Value, json};

use super::hr_sources::write_secret;

/// The secret reference the settings name.
pub const SECRET: (&str, &str) = ("slack", "botToken");

/// The `slack` settings that read `emulator` (started with `config`, whose first token they
/// use) for `scope`, with `settings` added; writes the token under `secrets` (a wrong one when
/// `wrong_token`).
pub fn slack_source(
    emulator: &SlackEmulator,
    config: &SlackConfig,
    secrets: &Path,
    scope: Value,
    settings: Map<String, Value>,
    wrong_token: bool,
) -> Map<String, Value> {
    let token = &config.tokens[0].token;
    let token = if wrong_token {
        format!("{token}-wrong")
    } else {
        token.clone()
    };
    write_secret(secrets, SECRET.0, SECRET.1, &token);
    let mut spec = settings;
    for (key, value) in [
        (
            "botTokenSecretRef",
            json!({"name": SECRET.0, "key": SECRET.1}),
        ),
        ("apiUrl", json!(emulator.api_url())),
        ("scope", scope),
    ] {
        spec.insert(key.into(), value);
    }
    spec
}
