//! Requests a person makes of a connection: annotations the controller acts on once.

use kube::{
    Api, Client,
    api::{Patch, PatchParams},
};
use serde_json::json;

use crate::{
    contract::labels::{APPROVE_PLAN, SIMULATE_REQUESTED, SYNC_REQUESTED},
    crd::{HrisConnection, RunResult, RunStatus},
};

/// Requests one sync of a connection (a simulation in Simulate mode), as asked at `now`.
pub async fn request_sync(
    client: Client,
    namespace: &str,
    name: &str,
    now: &str,
) -> Result<(), kube::Error> {
    annotate(client, namespace, name, SYNC_REQUESTED, now).await
}

/// Requests one simulation of a connection, as asked at `now`.
pub async fn request_simulation(
    client: Client,
    namespace: &str,
    name: &str,
    now: &str,
) -> Result<(), kube::Error> {
    annotate(client, namespace, name, SIMULATE_REQUESTED, now).await
}

/// Why a plan could not be approved.
#[derive(Debug, thiserror::Error)]
pub enum ApproveError {
    /// The API refused or failed.
    #[error("{0}")]
    Api(#[from] kube::Error),
    /// No hash was given and the connection's status names no plan yet.
    #[error("the connection has no plan to approve yet")]
    NothingToApprove,
}

/// Approves `hash`, or when none is given the plan status names (see [`hash_to_approve`]);
/// returns the hash approved.
pub async fn approve(
    client: Client,
    namespace: &str,
    name: &str,
    hash: Option<String>,
) -> Result<String, ApproveError> {
    let hash = match hash {
        Some(hash) => hash,
        None => {
            let connection = Api::<HrisConnection>::namespaced(client.clone(), namespace)
                .get(name)
                .await?;
            hash_to_approve(&connection).ok_or(ApproveError::NothingToApprove)?
        }
    };
    annotate(client, namespace, name, APPROVE_PLAN, &hash).await?;
    Ok(hash)
}

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
