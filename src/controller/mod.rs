//! The operator's decisions, as pure functions of the resource and the time: when a
//! connection runs (`schedule`), whether and how it runs now (`decide`: modes, request
//! annotations, the approval gate, one Job at a time) and the Job of a run (`job`, with the
//! operator-wide Pod settings of `sync_pod`).

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
