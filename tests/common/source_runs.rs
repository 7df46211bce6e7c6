//! Runs of a directory source (Entra ID, Google Workspace, Slack) into a `file` target, for the tests
//! that check what a source's answers do to the users: the connector context of a folder, short
//! retry delays, one applied run, and the users the run left.

use std::{path::Path, time::Duration};

use hris_emulators::hr::Faults;
use hris_operator::{
    connectors::{ConfigMapResolver, ConnectorContext, SecretResolver, connect, source},
    crd::HrisConnectionSpec,
    sync::{
        policy::SyncPolicy,
        ports::source::SourceError,
        report::RunMode,
        run::{RunError, RunOptions, RunOutput, run},
    },
};
use jiff::civil::date;
use serde_json::{Value, json};

/// The connector context of `dir`: secrets from `dir/secrets`, ConfigMaps from `dir/maps`.
pub fn context(dir: &Path) -> ConnectorContext {
    ConnectorContext {
        base_dir: dir.to_path_buf(),
        secrets: SecretResolver::from_dir(dir.join("secrets")),
        config_maps: ConfigMapResolver::from_dir(dir.join("maps")),
    }
}

/// Retry delays short enough for tests (which also cap `Retry-After`).
pub fn short_delays() -> source::RetryDelays {
    source::RetryDelays {
        base: Duration::from_millis(2),
        max: Duration::from_millis(20),
    }
}

/// An applied run of `source` (a one-of `spec.source` object) into the file directory
/// `dir/directory.json` under `prefix`, on 2026-11-22, leavers and absentees deactivated;
/// returns the counts as JSON.
pub async fn apply(dir: &Path, source: Value, prefix: &str) -> Result<String, RunError> {
    let output = apply_output(dir, source, prefix).await?;
    Ok(serde_json::to_string(&output.summary.counts).unwrap())
}

/// [`apply`], returning what the run produced (its plan, its summary).
pub async fn apply_output(dir: &Path, source: Value, prefix: &str) -> Result<RunOutput, RunError> {
    let spec: HrisConnectionSpec = serde_json::from_value(json!({
        "mode": "Active",
        "source": source,
        "target": {"file": {"path": dir.join("directory.json")}},
        "externalIdPrefix": prefix,
        "lifecycle": {"inactiveUsers": "Deactivate", "absentUsers": "Deactivate"},
        "safeguards": {"removals": {"maxPercent": 100}},
    }))
    .unwrap();
    let policy = SyncPolicy::compile(&spec).unwrap();
    let options = RunOptions {
        mode: RunMode::Apply,
        as_of: date(2026, 11, 22),
        approved_hash: None,
    };
    let (source, target) = connect(&spec, &context(dir)).await?;
    run("people/directory", &policy, &*source, &*target, &options).await
}

/// The users of the file directory in `dir`: externalId → active, sorted.
pub fn directory(dir: &Path) -> Vec<(String, bool)> {
    let text = std::fs::read_to_string(dir.join("directory.json")).unwrap();
    let document: Value = serde_json::from_str(&text).unwrap();
    let mut users: Vec<(String, bool)> = document["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["externalId"].as_str().unwrap().to_owned(),
                u["active"].as_bool().unwrap(),
            )
        })
        .collect();
    users.sort();
    users
}

/// The page faults a paged source must meet without removing anyone, each with what its error
/// says: the third page failing with 503, and the second page handing out the cursor that
/// fetched it (`repeated`: how the source says so).
pub fn page_faults(repeated: &'static str) -> [(Faults, &'static str); 2] {
    [
        (
            Faults {
                fail_page: Some((2, 503)),
                ..Faults::default()
            },
            "503",
        ),
        (
            Faults {
                repeat_cursor_at: Some(1),
                ..Faults::default()
            },
            repeated,
        ),
    ]
}

/// Asserts that a run failed reading its source, saying `said`, and left the file directory
/// in `dir` as it was (`before`).
pub fn assert_removed_nobody(
    dir: &Path,
    before: &[(String, bool)],
    run: Result<String, RunError>,
    said: &str,
) {
    let error = run.expect_err("the run fails");
    assert!(
        matches!(error, RunError::Source(SourceError::Unavailable(_))),
        "{error}"
    );
    assert!(error.to_string().contains(said), "{error}");
    assert_eq!(directory(dir), before, "nobody removed: {said}");
}
