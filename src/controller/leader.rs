//! Leader election with a `coordination.k8s.io/v1` Lease, as client-go's elector does it: a
//! replica takes the Lease when it is free or has not been renewed for its duration, renews it
//! while it leads, and gives it up on shutdown so a standby takes over at once.
//!
//! The decision (may I take or keep this Lease now?) is a pure function; the loop around it
//! reads and writes the Lease. Writes carry the `resourceVersion` read, so two replicas racing
//! for the same Lease cannot both win on a real API server (the loser gets a 409).

use std::time::Duration;

use k8s_openapi::{
    api::coordination::v1::{Lease, LeaseSpec},
    apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta},
    jiff::{SignedDuration, Timestamp},
};
use kube::{
    Api, Client,
    api::{Patch, PatchParams, PostParams},
};
use serde_json::json;
use tokio::sync::watch;

/// Timing of the election (client-go's defaults: 15 s lease, renew every 2 s, give up
/// leadership when a renewal has not succeeded for 10 s).
#[derive(Clone, Copy, Debug)]
pub struct LeaseTiming {
    /// How long a Lease holds without renewal.
    pub lease_duration: Duration,
    /// How long a leader keeps trying to renew before it steps down.
    pub renew_deadline: Duration,
    /// Pause between tries.
    pub retry_period: Duration,
}

impl Default for LeaseTiming {
    fn default() -> Self {
        Self {
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }
}

/// What a replica may do with a Lease it has just read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeaseVerdict {
    /// It holds the Lease: renew it.
    Renew,
    /// The Lease is free or expired: take it.
    Acquire,
    /// Another replica holds it.
    HeldByOther,
}

/// Decides from the Lease's spec, the replica's identity and the time.
pub fn verdict(spec: Option<&LeaseSpec>, identity: &str, now: Timestamp) -> LeaseVerdict {
    let Some(spec) = spec else {
        return LeaseVerdict::Acquire;
    };
    match spec.holder_identity.as_deref() {
        Some(holder) if holder == identity => LeaseVerdict::Renew,
        None | Some("") => LeaseVerdict::Acquire,
        Some(_) => {
            let renewed = spec
                .renew_time
                .as_ref()
                .or(spec.acquire_time.as_ref())
                .map(|t| t.0);
            let duration = SignedDuration::from_secs(i64::from(
                spec.lease_duration_seconds.unwrap_or(15).max(1),
            ));
            match renewed {
                Some(renewed) if renewed + duration > now => LeaseVerdict::HeldByOther,
                _ => LeaseVerdict::Acquire,
            }
        }
    }
}

/// A replica's claim on one Lease.
pub struct LeaderElector {
    api: Api<Lease>,
    name: String,
    identity: String,
    timing: LeaseTiming,
}

impl LeaderElector {
    /// An elector for the Lease `namespace/name`, as the replica `identity`.
    pub fn new(
        client: Client,
        namespace: &str,
        name: &str,
        identity: &str,
        timing: LeaseTiming,
    ) -> Self {
        Self {
            api: Api::namespaced(client, namespace),
            name: name.to_owned(),
            identity: identity.to_owned(),
            timing,
        }
    }

    /// One try to take or renew the Lease. `Ok(true)`: this replica leads until
    /// `lease_duration` from now.
    pub async fn try_acquire_or_renew(&self) -> Result<bool, kube::Error> {
        let now = Timestamp::now();
        let lease = match crate::controller::get_if_exists(&self.api, &self.name).await? {
            Some(lease) => lease,
            None => {
                let lease = Lease {
                    metadata: ObjectMeta {
                        name: Some(self.name.clone()),
                        ..ObjectMeta::default()
                    },
                    spec: Some(self.held_spec(now, 0, true)),
                };
                return match self.api.create(&PostParams::default(), &lease).await {
                    Ok(_) => Ok(true),
                    Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
                    Err(error) => Err(error),
                };
            }
        };
        let spec = lease.spec.as_ref();
        let transitions = spec.and_then(|s| s.lease_transitions).unwrap_or(0);
        let new_spec = match verdict(spec, &self.identity, now) {
            LeaseVerdict::HeldByOther => return Ok(false),
            LeaseVerdict::Renew => {
                let mut spec = spec.cloned().unwrap_or_default();
                spec.renew_time = Some(MicroTime(now));
                spec.lease_duration_seconds = Some(self.duration_seconds());
                spec
            }
            LeaseVerdict::Acquire => self.held_spec(now, transitions + 1, true),
        };
        self.write(&lease, &new_spec).await
    }

    /// Gives the Lease up if this replica holds it, so a standby need not wait for it to expire.
    pub async fn release(&self) -> Result<(), kube::Error> {
        let Some(lease) = crate::controller::get_if_exists(&self.api, &self.name).await? else {
            return Ok(());
        };
        if verdict(lease.spec.as_ref(), &self.identity, Timestamp::now()) != LeaseVerdict::Renew {
            return Ok(());
        }
        let mut spec = lease.spec.clone().unwrap_or_default();
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        spec.renew_time = Some(MicroTime(Timestamp::now()));
        self.write(&lease, &spec).await.map(|_| ())
    }

    /// Waits until this replica leads, then keeps the Lease renewed. The returned receiver
    /// turns `false` (for good) when leadership is lost: the caller must stop reconciling.
    /// Sending on (or dropping) the returned sender stops the renewals; the task then hands
    /// the elector back, to `release` the Lease.
    pub async fn lead(
        self,
    ) -> (
        watch::Receiver<bool>,
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<Self>,
    ) {
        loop {
            match self.try_acquire_or_renew().await {
                Ok(true) => break,
                Ok(false) => {}
                Err(error) => tracing::warn!(%error, "could not read or take the leader Lease"),
            }
            tokio::time::sleep(self.timing.retry_period).await;
        }
        tracing::info!(lease = %self.name, "became the leader");
        let (tx, rx) = watch::channel(true);
        let (stop_tx, mut stop) = tokio::sync::oneshot::channel::<()>();
        let handle = tokio::spawn(async move {
            let mut last_renewal = tokio::time::Instant::now();
            loop {
                tokio::select! {
                    _ = &mut stop => return self,
                    _ = tokio::time::sleep(self.timing.retry_period) => {}
                }
                match self.try_acquire_or_renew().await {
                    Ok(true) => last_renewal = tokio::time::Instant::now(),
                    Ok(false) => {
                        tracing::error!(lease = %self.name, "another replica took the leader Lease");
                        let _ = tx.send(false);
                        return self;
                    }
                    Err(error) => {
                        tracing::warn!(%error, "could not renew the leader Lease");
                        if last_renewal.elapsed() > self.timing.renew_deadline {
                            tracing::error!(lease = %self.name, "lost the leader Lease");
                            let _ = tx.send(false);
                            return self;
                        }
                    }
                }
            }
        });
        (rx, stop_tx, handle)
    }

    fn duration_seconds(&self) -> i32 {
        i32::try_from(self.timing.lease_duration.as_secs()).unwrap_or(i32::MAX)
    }

    fn held_spec(&self, now: Timestamp, transitions: i32, acquired: bool) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(self.identity.clone()),
            lease_duration_seconds: Some(self.duration_seconds()),
            acquire_time: acquired.then_some(MicroTime(now)),
            renew_time: Some(MicroTime(now)),
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        }
    }

    /// A merge patch guarded by the `resourceVersion` read (a real API server answers 409 when
    /// another replica wrote in between, which counts as not winning).
    async fn write(&self, read: &Lease, spec: &LeaseSpec) -> Result<bool, kube::Error> {
        let mut patch = json!({ "spec": spec });
        if let Some(version) = &read.metadata.resource_version {
            patch["metadata"] = json!({ "resourceVersion": version });
        }
        // Fields the new spec leaves out must be cleared, not kept by the merge.
        for field in ["holderIdentity", "acquireTime"] {
            if patch["spec"].get(field).is_none() {
                patch["spec"][field] = serde_json::Value::Null;
            }
        }
        match self
            .api
            .patch(&self.name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
            Err(error) => Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(holder: Option<&str>, renewed: &str, seconds: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: holder.map(str::to_owned),
            renew_time: Some(MicroTime(renewed.parse().unwrap())),
            lease_duration_seconds: Some(seconds),
            ..LeaseSpec::default()
        }
    }

    #[test]
    fn a_missing_or_released_lease_is_taken() {
        let now: Timestamp = "2026-11-22T10:00:00Z".parse().unwrap();
        assert_eq!(verdict(None, "a", now), LeaseVerdict::Acquire);
        let released = spec(None, "2026-11-22T09:59:59Z", 15);
        assert_eq!(verdict(Some(&released), "a", now), LeaseVerdict::Acquire);
    }

    #[test]
    fn a_lease_held_by_another_is_respected_until_it_expires() {
        let held = spec(Some("b"), "2026-11-22T10:00:00Z", 15);
        let during: Timestamp = "2026-11-22T10:00:14Z".parse().unwrap();
        let after: Timestamp = "2026-11-22T10:00:15Z".parse().unwrap();
        assert_eq!(verdict(Some(&held), "a", during), LeaseVerdict::HeldByOther);
        assert_eq!(verdict(Some(&held), "a", after), LeaseVerdict::Acquire);
    }

    #[test]
    fn the_holder_renews_even_after_expiry() {
        let held = spec(Some("a"), "2026-11-22T10:00:00Z", 15);
        let later: Timestamp = "2026-11-22T11:00:00Z".parse().unwrap();
        assert_eq!(verdict(Some(&held), "a", later), LeaseVerdict::Renew);
    }
}
