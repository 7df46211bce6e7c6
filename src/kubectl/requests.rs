//! Requests a person makes of a connection: annotations the controller acts on once.

use kube::{
    Api, Client,
    api::{Patch, PatchParams},
};
use serde_json::json;

use crate::crd::{HrisConnection, RunResult, RunStatus};

/// Sets a request annotation on a connection.
pub async fn annotate(
    client: Client,
    namespace: &str,
    name: &str,
    key: &str,
    value: &str,
) -> Result<(), kube::Error> {
    let patch = json!({"metadata": {"annotations": {key: value}}});
    Api::<HrisConnection>::namespaced(client, namespace)
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map(|_| ())
}

/// The plan hash a person would approve now: a withheld sync's, else the last simulation's.
pub fn hash_to_approve(connection: &HrisConnection) -> Option<String> {
    let status = connection.status.as_ref()?;
    let withheld = |run: &Option<RunStatus>| {
        run.as_ref()
            .filter(|r| r.result == Some(RunResult::Withheld))
            .and_then(|r| r.plan_hash.clone())
    };
    withheld(&status.last_sync)
        .or_else(|| withheld(&status.last_simulation))
        .or_else(|| {
            status
                .last_simulation
                .as_ref()
                .and_then(|r| r.plan_hash.clone())
        })
}
