//! What every reconcile shares: the client, the Job defaults, the Event reporter, the metrics,
//! the connections the watches hold, and the status this controller last wrote.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
    time::Duration,
};

use kube::{Client, ResourceExt, core::DeserializeGuard, runtime::events::Reporter};

use super::job::JobDefaults;
use crate::{
    crd::{HrisConnection, HrisConnectionStatus},
    metrics::Metrics,
};

/// What every reconcile shares.
pub struct Context {
    /// The API client.
    pub client: Client,
    /// Sync Job defaults from the chart.
    pub defaults: JobDefaults,
    /// How late a missed scheduled run may still start.
    pub starting_deadline: Duration,
    /// Who reports the Events.
    pub reporter: Reporter,
    /// Counters of finished runs and reconciles.
    pub metrics: Arc<Metrics>,
    /// Every connection the controller watches, to warn about overlapping prefixes.
    pub peers: Peers,
    /// Unreadable connections already reported, by uid and problem: reported once each.
    pub unreadable: std::sync::Mutex<HashSet<String>>,
    /// The status this controller last wrote, per connection uid. The controller is the only
    /// writer of status, so this is never older than the watch cache, which can lag behind a
    /// write: a reconcile started from a stale cache would record a finished run twice.
    pub written: WrittenStatus,
}

/// A connection as the watches hold it: readable, or the error that made it unreadable (a
/// CRD newer than this controller, say), so that one bad object never stops the others.
pub type Guarded = DeserializeGuard<HrisConnection>;

/// The connections the controller's watches hold, in every scope.
#[derive(Clone, Default)]
pub struct Peers(pub Arc<std::sync::Mutex<Vec<kube::runtime::reflector::Store<Guarded>>>>);

impl Peers {
    /// Every connection currently known, readable or not.
    pub fn all(&self) -> Vec<Arc<Guarded>> {
        self.0
            .lock()
            .expect("never poisoned")
            .iter()
            .flat_map(|store| store.state())
            .collect()
    }
}

/// The last status written per connection.
#[derive(Default)]
pub struct WrittenStatus(std::sync::Mutex<HashMap<String, HrisConnectionStatus>>);

impl WrittenStatus {
    fn key(connection: &HrisConnection) -> String {
        connection.metadata.uid.clone().unwrap_or_else(|| {
            format!(
                "{}/{}",
                connection.namespace().unwrap_or_default(),
                connection.name_any()
            )
        })
    }

    pub(super) fn get(&self, connection: &HrisConnection) -> Option<HrisConnectionStatus> {
        self.0
            .lock()
            .expect("never poisoned")
            .get(&Self::key(connection))
            .cloned()
    }

    pub(super) fn put(&self, connection: &HrisConnection, status: HrisConnectionStatus) {
        self.0
            .lock()
            .expect("never poisoned")
            .insert(Self::key(connection), status);
    }

    /// Forgets deleted connections (when there are more entries than connections).
    pub(super) fn forget_all_but(&self, connections: &[&HrisConnection]) {
        let mut map = self.0.lock().expect("never poisoned");
        if connections.is_empty() || map.len() <= connections.len() {
            return;
        }
        let keep: HashSet<String> = connections.iter().map(|c| Self::key(c)).collect();
        map.retain(|key, _| keep.contains(key));
    }
}
