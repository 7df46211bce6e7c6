//! The controller's Prometheus metrics.
//!
//! Labels hold only small closed sets (run kind, result, error category, phase): never a
//! connection's name or namespace, a user, or anything from a spec. Which connection needs
//! attention is what `kubectl hris status` and each connection's conditions say; the metrics
//! say *that* one does, which is what an alert needs.

use std::sync::atomic::{AtomicI64, AtomicU64};

use k8s_openapi::jiff::Timestamp;
use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};

use crate::{
    crd::{HrisConnection, Mode, RunResult},
    sync::report::RunMode,
};

/// Labels of a finished run.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RunLabels {
    /// `simulate` or `apply`.
    pub kind: String,
    /// `Succeeded`, `Failed` or `Withheld`.
    pub result: String,
}

/// Labels of a failed run.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FailureLabels {
    /// The error category (`SourceUnavailable`, `CredentialsInvalid`, `JobFailed`, ...).
    pub category: String,
}

/// Labels of applied changes.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ChangeLabels {
    /// `created`, `updated`, `deactivated` or `deleted`.
    pub change: String,
}

/// Labels of the connection gauges.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PhaseLabels {
    /// The connection's `status.phase` (one of [`crate::crd::Phase`]), or `Pending` before its
    /// first reconcile.
    pub phase: String,
}

/// Every metric the controller exports.
pub struct Metrics {
    registry: Registry,
    runs: Family<RunLabels, Counter>,
    failures: Family<FailureLabels, Counter>,
    changes: Family<ChangeLabels, Counter>,
    reconciles: Counter,
    reconcile_errors: Counter,
    reconcile_duration: Histogram,
    connections: Family<PhaseLabels, Gauge>,
    notifications_sent: Counter,
    notifications_failed: Counter,
    withheld: Gauge,
    oldest_success: Gauge<f64, AtomicU64>,
    leader: Gauge<i64, AtomicI64>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric under the `hris_operator` prefix.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("hris_operator");
        let runs = Family::<RunLabels, Counter>::default();
        registry.register(
            "sync_runs",
            "Sync Jobs finished, by kind (simulate, apply) and result",
            runs.clone(),
        );
        let failures = Family::<FailureLabels, Counter>::default();
        registry.register(
            "sync_failures",
            "Failed sync Jobs, by error category",
            failures.clone(),
        );
        let changes = Family::<ChangeLabels, Counter>::default();
        registry.register(
            "changes",
            "Users changed in target directories by applied syncs, by change",
            changes.clone(),
        );
        let reconciles = Counter::default();
        registry.register("reconciles", "Reconciles run", reconciles.clone());
        let reconcile_errors = Counter::default();
        registry.register(
            "reconcile_errors",
            "Reconciles that failed and will be retried",
            reconcile_errors.clone(),
        );
        let reconcile_duration =
            Histogram::new([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5]);
        registry.register(
            "reconcile_duration_seconds",
            "Time a reconcile takes",
            reconcile_duration.clone(),
        );
        let connections = Family::<PhaseLabels, Gauge>::default();
        registry.register(
            "connections",
            "HrisConnections watched, by phase",
            connections.clone(),
        );
        let withheld = Gauge::default();
        registry.register(
            "connections_withheld",
            "HrisConnections whose last run had removals withheld by a safeguard",
            withheld.clone(),
        );
        let notifications_sent = Counter::default();
        registry.register(
            "notifications_sent",
            "Notifications sync Jobs delivered (spec.notifications)",
            notifications_sent.clone(),
        );
        let notifications_failed = Counter::default();
        registry.register(
            "notifications_failed",
            "Notifications sync Jobs could not deliver after their retries (each also makes a \
             NotificationFailed Event on its connection; the run's result is unchanged)",
            notifications_failed.clone(),
        );
        let oldest_success = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "oldest_success_timestamp_seconds",
            "Over Active connections, the oldest time of a last successful sync (a connection \
             that never succeeded counts from its creation); 0 when there is none",
            oldest_success.clone(),
        );
        let leader = Gauge::<i64, AtomicI64>::default();
        registry.register(
            "leader",
            "1 while this replica holds the leader Lease and reconciles",
            leader.clone(),
        );
        // Start the closed label sets at zero, so that `increase()` sees the first run and the
        // families are exported before anything happened.
        for kind in [RunMode::Simulate, RunMode::Apply] {
            for result in [RunResult::Succeeded, RunResult::Failed, RunResult::Withheld] {
                let _ = runs.get_or_create(&RunLabels {
                    kind: kind.as_str().to_owned(),
                    result: result.as_str().to_owned(),
                });
            }
        }
        for change in ["created", "updated", "deactivated", "deleted"] {
            let _ = changes.get_or_create(&ChangeLabels {
                change: change.to_owned(),
            });
        }
        Self {
            registry,
            runs,
            failures,
            changes,
            reconciles,
            reconcile_errors,
            reconcile_duration,
            connections,
            notifications_sent,
            notifications_failed,
            withheld,
            oldest_success,
            leader,
        }
    }

    /// Counts the notifications of a finished run: delivered, and not delivered.
    pub fn notifications(&self, sent: u64, failed: u64) {
        self.notifications_sent.inc_by(sent);
        self.notifications_failed.inc_by(failed);
    }

    /// Counts a finished run, and its changes when it applied any.
    pub fn run_finished(
        &self,
        kind: &str,
        result: RunResult,
        failure: Option<&str>,
        applied: Option<[(&'static str, u64); 4]>,
    ) {
        self.runs
            .get_or_create(&RunLabels {
                kind: kind.to_owned(),
                result: result.as_str().to_owned(),
            })
            .inc();
        if let Some(category) = failure {
            self.failures
                .get_or_create(&FailureLabels {
                    category: category.to_owned(),
                })
                .inc();
        }
        for (change, count) in applied.into_iter().flatten() {
            self.changes
                .get_or_create(&ChangeLabels {
                    change: change.to_owned(),
                })
                .inc_by(count);
        }
    }

    /// Counts a reconcile and its duration.
    pub fn reconciled(&self, seconds: f64, failed: bool) {
        self.reconciles.inc();
        self.reconcile_duration.observe(seconds);
        if failed {
            self.reconcile_errors.inc();
        }
    }

    /// Whether this replica leads.
    pub fn set_leader(&self, leading: bool) {
        self.leader.set(i64::from(leading));
    }

    /// Recomputes the connection gauges from the cached connections.
    pub fn observe_connections<'a>(
        &self,
        connections: impl IntoIterator<Item = &'a HrisConnection>,
    ) {
        let gauges = ConnectionGauges::compute(connections);
        self.connections.clear();
        for (phase, count) in gauges.phases {
            self.connections
                .get_or_create(&PhaseLabels { phase })
                .set(count);
        }
        self.withheld.set(gauges.withheld);
        self.oldest_success.set(gauges.oldest_success);
    }

    /// The text exposition format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }
}

/// The connection gauges, computed from connections alone.
#[derive(Debug, Default, PartialEq)]
pub struct ConnectionGauges {
    /// Connections by phase, sorted by phase.
    pub phases: Vec<(String, i64)>,
    /// Connections whose last run withheld removals.
    pub withheld: i64,
    /// The oldest last successful sync over Active connections, in Unix seconds; 0 for none.
    pub oldest_success: f64,
}

impl ConnectionGauges {
    /// Computes the gauges.
    pub fn compute<'a>(connections: impl IntoIterator<Item = &'a HrisConnection>) -> Self {
        let mut phases = std::collections::BTreeMap::<String, i64>::new();
        let mut withheld = 0;
        let mut oldest: Option<Timestamp> = None;
        for connection in connections {
            let status = connection.status.as_ref();
            let phase = status
                .and_then(|s| s.phase.clone())
                .unwrap_or_else(|| "Pending".to_owned());
            *phases.entry(phase).or_default() += 1;
            if status.is_some_and(|s| {
                s.conditions
                    .iter()
                    .any(|c| c.type_ == "SafeguardTriggered" && c.status == "True")
            }) {
                withheld += 1;
            }
            if connection.spec.mode == Mode::Active && !connection.spec.schedule.suspend {
                let success = status
                    .and_then(|s| {
                        s.history
                            .iter()
                            .filter(|run| {
                                run.kind == RunMode::Apply.status_name()
                                    && run.result == Some(RunResult::Succeeded)
                            })
                            .filter_map(|run| run.finished_at.as_ref().map(|t| t.0))
                            .max()
                    })
                    .or_else(|| {
                        status
                            .and_then(|s| s.last_sync.as_ref())
                            .filter(|run| run.result == Some(RunResult::Succeeded))
                            .and_then(|run| run.finished_at.as_ref().map(|t| t.0))
                    })
                    .or_else(|| connection.metadata.creation_timestamp.as_ref().map(|t| t.0));
                if let Some(at) = success {
                    oldest = Some(oldest.map_or(at, |o| o.min(at)));
                }
            }
        }
        Self {
            phases: phases.into_iter().collect(),
            withheld,
            oldest_success: oldest.map_or(0.0, |t| t.as_millisecond() as f64 / 1000.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_success_is_the_last_successful_sync_even_after_a_failed_one() {
        let connection: HrisConnection = serde_json::from_value(serde_json::json!({
            "apiVersion": "hris-operator.io/v1alpha1",
            "kind": "HrisConnection",
            "metadata": {"name": "acme", "namespace": "people",
                         "creationTimestamp": "2026-11-01T00:00:00Z"},
            "spec": {
                "mode": "Active",
                "source": {"csv": {"path": "e.csv"}},
                "target": {"file": {"path": "d.json"}},
                "externalIdPrefix": "acme:",
            },
            "status": {
                "lastSync": {"result": "Failed", "finishedAt": "2026-11-22T02:00:00Z"},
                "history": [
                    {"kind": "Apply", "result": "Failed", "finishedAt": "2026-11-22T02:00:00Z"},
                    {"kind": "Simulate", "result": "Succeeded",
                     "finishedAt": "2026-11-21T12:00:00Z"},
                    {"kind": "Apply", "result": "Succeeded", "finishedAt": "2026-11-21T02:00:00Z"},
                ],
            },
        }))
        .unwrap();
        let at: Timestamp = "2026-11-21T02:00:00Z".parse().unwrap();
        assert_eq!(
            ConnectionGauges::compute([&connection]).oldest_success,
            at.as_second() as f64
        );
    }
}
