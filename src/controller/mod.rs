//! The controller (`hris-operator controller`): it watches HrisConnections and the Jobs they
//! own, decides when a connection runs, starts its sync Job, and turns finished Jobs into status,
//! conditions and Events. It never calls an HR or target API, and shares with the sync Job and
//! the kubectl side only the contract (`crate::contract`).
//!
//! The decisions are pure functions of the resource and the time: when a connection runs
//! (`schedule`), whether and how it runs now (`decide`: modes, request annotations, the approval
//! gate, one Job at a time), the Job of a run (`job`, with the operator-wide Pod settings of
//! `sync_pod`) and what it may do (`access`), status from a finished run (`status`, from a
//! termination message `termination` has checked), overlapping prefixes (`prefixes`) and which
//! runs to forget (`prune`). `reconcile` is the glue that reads and writes the API, with
//! `finished_runs` and `unreadable`; `context` is what every reconcile shares; `operator` runs
//! the reconcilers, and `leader` holds the leader Lease.

pub mod access;
pub mod context;
pub(crate) mod decide;
mod finished_runs;
pub mod job;
pub(crate) mod leader;
pub mod operator;
pub(crate) mod prefixes;
pub(crate) mod prune;
pub mod reconcile;
pub(crate) mod schedule;
pub mod status;
pub(crate) mod sync_pod;
pub(crate) mod termination;
mod unreadable;

/// The object, or `None` when the API answers 404 (whatever reason string comes with it).
pub async fn get_if_exists<K>(api: &kube::Api<K>, name: &str) -> Result<Option<K>, kube::Error>
where
    K: Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    match api.get(name).await {
        Ok(object) => Ok(Some(object)),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(None),
        Err(error) => Err(error),
    }
}
