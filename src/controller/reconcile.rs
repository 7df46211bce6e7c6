//! One reconcile of one connection: record the Jobs that finished, decide whether to start a
//! run, start it, forget runs beyond the history limits, and write status (server-side apply,
//! one field manager) and Events. The decisions themselves are the pure functions of this
//! module's siblings; this is the glue that reads and writes the API.

use std::{collections::HashMap, sync::Arc, time::Duration};

use k8s_openapi::{
    api::{batch::v1::Job, core::v1::Secret},
    apimachinery::pkg::apis::meta::v1::Time,
    jiff::Timestamp,
};
use kube::{
    Api, Resource, ResourceExt,
    api::{DeleteParams, ListParams, Patch, PatchParams, PostParams},
    runtime::{
        controller::Action,
        events::{Event, EventType, Recorder},
    },
};
use serde_json::json;

use super::{
    access::apply_sync_access,
    context::Context,
    decide::{Decision, Situation, Trigger, Waiting, decide, request_key},
    finished_runs::{mark_recorded, record_finished},
    job::{build_job, run_id},
    prefixes::note_overlap,
    prune::{finished_state, jobs_to_prune},
    schedule::{Due, Timetable},
    status::{EventNote, set_condition},
};
use crate::{
    contract::{
        FIELD_MANAGER,
        labels::{CONNECTION_LABEL, RUN_LABEL, connection_label},
        names::{job_name, report_name},
    },
    crd::{HandledRequests, HrisConnection, HrisConnectionStatus, Mode, Phase, RunResult},
    sync::{cadence::Cadence, report::RunMode},
};

/// How long a connection with nothing due waits at most before it is looked at again.
const IDLE_REQUEUE: Duration = Duration::from_secs(300);

/// Longest part of the spec's problems shown in the `Ready` condition.
const INVALID_SPEC_DETAIL: usize = 600;

/// A reconcile that could not finish; it is retried.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// The API refused or failed.
    #[error("Kubernetes API: {0}")]
    Api(#[from] kube::Error),
}

/// Reconciles a connection now.
pub async fn reconcile(
    connection: &HrisConnection,
    context: Arc<Context>,
) -> Result<Action, ReconcileError> {
    reconcile_at(connection, &context, Timestamp::now()).await
}

/// Reconciles a connection at `now`.
pub async fn reconcile_at(
    connection: &HrisConnection,
    context: &Context,
    now: Timestamp,
) -> Result<Action, ReconcileError> {
    let namespace = connection.namespace().unwrap_or_default();
    let jobs: Api<Job> = Api::namespaced(context.client.clone(), &namespace);
    let mut pass = Pass {
        connection,
        context,
        now,
        generation: connection.metadata.generation.unwrap_or(0),
        status: context
            .written
            .get(connection)
            .or_else(|| connection.status.clone())
            .unwrap_or_default(),
        notes: Vec::new(),
    };

    // Record the runs that finished since the last reconcile, oldest first.
    let owned = owned_jobs(&jobs, connection).await?;
    let running = owned.iter().any(|job| finished_state(job).is_none());
    let recorded = record_finished(
        context,
        connection,
        &owned,
        &mut pass.status,
        &mut pass.notes,
        now,
    )
    .await?;

    // Decide and start at most one run.
    let mut handled = pass.status.last_handled_request.clone().unwrap_or_default();
    let cadence = pass.check_spec();
    pass.note_overlapping_prefixes();
    let requeue = match cadence {
        Some(cadence) => {
            pass.run_if_due(&cadence, running, &mut handled, &jobs)
                .await?
        }
        None => IDLE_REQUEUE,
    };
    pass.status.last_handled_request = Some(handled);
    pass.status.observed_generation = Some(pass.generation);

    pass.prune_history(&jobs, &owned).await?;
    pass.write_status().await?;
    // Only once status holds them: a mark without a record would lose the run.
    mark_recorded(&jobs, &recorded).await?;
    pass.publish_events().await;
    Ok(Action::requeue(requeue))
}

/// One reconcile in progress: the connection, the time it runs at, and the status and Events it
/// is building.
struct Pass<'a> {
    connection: &'a HrisConnection,
    context: &'a Context,
    now: Timestamp,
    generation: i64,
    status: HrisConnectionStatus,
    notes: Vec<EventNote>,
}

/// The connection's Jobs. Some API servers (and emulators) ignore label selectors, so the
/// label is checked here too.
async fn owned_jobs(jobs: &Api<Job>, connection: &HrisConnection) -> Result<Vec<Job>, kube::Error> {
    let label = connection_label(&connection.name_any());
    Ok(jobs
        .list(&ListParams::default().labels(&format!("{CONNECTION_LABEL}={label}")))
        .await?
        .items
        .into_iter()
        .filter(|job| owned_by(job, connection, &label))
        .collect())
}

/// Whether a Job belongs to this very connection: its label, and (when both have one) an
/// ownerReference with the connection's uid, so a connection deleted and recreated under the
/// same name never takes the old one's runs as its own.
fn owned_by(job: &Job, connection: &HrisConnection, label: &str) -> bool {
    job.labels().get(CONNECTION_LABEL).map(String::as_str) == Some(label)
        && match connection.metadata.uid.as_deref() {
            Some(uid) => job.owner_references().iter().any(|owner| owner.uid == uid),
            None => true,
        }
}

impl Pass<'_> {
    /// The connection's cadence when its whole spec is valid; otherwise `Ready=False
    /// InvalidSpec`, and no run starts. The spec is checked as a sync Job would check it: an
    /// older CRD may let through what this version refuses (a negative backoffLimit, an empty
    /// prefix), and a Job started on it would only fail.
    fn check_spec(&mut self) -> Option<Cadence> {
        let spec = &self.connection.spec;
        let checked = crate::connectors::check_spec(spec)
            .map(|policy| policy.cadence)
            .map_err(|errors| {
                let text = errors.to_string().replace('\n', "; ");
                text.chars().take(INVALID_SPEC_DETAIL).collect::<String>()
            });
        match checked {
            Ok(cadence) => Some(cadence),
            Err(message) => {
                if self.set_ready(false, "InvalidSpec", message.clone()) {
                    self.notes.push(EventNote {
                        warning: true,
                        reason: "InvalidSpec",
                        message,
                    });
                }
                None
            }
        }
    }

    /// Sets the `Ready` condition; whether its status changed.
    fn set_ready(&mut self, ok: bool, reason: &str, message: String) -> bool {
        set_condition(
            &mut self.status.conditions,
            "Ready",
            ok,
            reason,
            message,
            self.generation,
            self.now,
        )
    }

    /// Warns when another connection writing to the same directory has an overlapping prefix,
    /// and forgets the status written for connections that are gone.
    fn note_overlapping_prefixes(&mut self) {
        let peers = self.context.peers.all();
        let readable: Vec<&HrisConnection> =
            peers.iter().filter_map(|g| g.0.as_ref().ok()).collect();
        self.notes.extend(note_overlap(
            self.connection,
            &readable,
            &mut self.status,
            self.generation,
            self.now,
        ));
        self.context.written.forget_all_but(&readable);
    }

    /// Decides whether a run starts now, starts it or records why not, and returns how long
    /// to wait before looking again.
    async fn run_if_due(
        &mut self,
        cadence: &Cadence,
        running: bool,
        handled: &mut HandledRequests,
        jobs: &Api<Job>,
    ) -> Result<Duration, ReconcileError> {
        let connection = self.connection;
        let anchor = self
            .status
            .last_schedule_time
            .as_ref()
            .map(|t| t.0)
            .or_else(|| connection.metadata.creation_timestamp.as_ref().map(|t| t.0))
            .unwrap_or(self.now);
        let due = cadence.due(
            anchor,
            self.now,
            connection.spec.schedule.suspend,
            self.context.starting_deadline,
        );
        let simulated_hash = self
            .status
            .last_simulation
            .as_ref()
            .and_then(|run| run.plan_hash.clone());
        let decision = decide(&Situation {
            mode: connection.spec.mode,
            generation: self.generation,
            annotations: connection.annotations(),
            handled,
            simulated_generation: self
                .status
                .last_simulation
                .as_ref()
                .and_then(|r| r.generation),
            simulated_hash: simulated_hash.as_deref(),
            approved_generation: handled.approved_generation,
            require_approval: connection.spec.safeguards.require_simulation_approval,
            job_running: running,
            scheduled: due.run_for,
        });
        self.note_reactivation();
        match decision {
            Decision::Run {
                kind,
                trigger,
                approved_hash,
            } => {
                self.start_run(kind, &trigger, approved_hash.as_deref(), handled, jobs)
                    .await?;
                self.mark_handled(trigger, handled, simulated_hash.as_deref());
                // The Job is watched: its end wakes this connection, no polling needed.
                self.status.set_phase(Phase::Running);
            }
            Decision::Wait(waiting) => self.wait(waiting),
        }
        Ok(self.next_look(&due, running))
    }

    /// A connection no longer Deactivated says it waits for its next run.
    fn note_reactivation(&mut self) {
        let reactivated = self.connection.spec.mode != Mode::Deactivated
            && self
                .status
                .conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.reason == "Deactivated");
        if reactivated {
            self.set_ready(
                false,
                "Reactivated",
                "spec.mode changed from Deactivated: waiting for the next run".into(),
            );
        }
    }

    /// Starts a run: this run's sync access (unless the connection brings its own
    /// ServiceAccount), then its Job, and records it as the run in progress.
    async fn start_run(
        &mut self,
        kind: RunMode,
        trigger: &Trigger,
        approved_hash: Option<&str>,
        handled: &HandledRequests,
        jobs: &Api<Job>,
    ) -> Result<(), ReconcileError> {
        let connection = self.connection;
        let id = run_id_of(connection, trigger, handled);
        // The Job's own ServiceAccount and this run's Role, before the Job: it never runs with
        // another run's permissions, nor without any.
        if connection.spec.job.service_account_name.is_empty() {
            apply_sync_access(
                &self.context.client,
                connection,
                &report_name(&job_name(connection, kind, &id)),
            )
            .await?;
        }
        let job = build_job(connection, kind, &id, approved_hash, &self.context.defaults);
        match jobs.create(&PostParams::default(), &job).await {
            Ok(_) => {}
            // A Job of this very run exists already: a reconcile that created it did not get
            // to write status. Run ids are unique per trigger and request, so this is that run.
            Err(kube::Error::Api(status)) if status.code == 409 => {}
            Err(error) => return Err(error.into()),
        }
        self.status.active_job = job.metadata.name.clone();
        Ok(())
    }

    /// Records the trigger of a started run as handled, so that it starts no second run.
    fn mark_handled(
        &mut self,
        trigger: Trigger,
        handled: &mut HandledRequests,
        simulated_hash: Option<&str>,
    ) {
        if trigger.is_request() {
            handled.requests = Some(handled.requests.unwrap_or(0) + 1);
        }
        match trigger {
            Trigger::SyncRequested(value) => handled.sync_requested_at = Some(request_key(&value)),
            Trigger::SimulateRequested(value) => {
                handled.simulate_requested_at = Some(request_key(&value))
            }
            Trigger::Approved(hash) => {
                if simulated_hash == Some(hash.as_str()) {
                    handled.approved_generation = Some(self.generation);
                }
                handled.approved_plan = Some(hash);
            }
            Trigger::Schedule(at) => self.status.last_schedule_time = Some(Time(at)),
            Trigger::SpecChanged => {}
        }
    }

    /// The phase (and for a Deactivated connection, the condition) of a connection that starts
    /// nothing now.
    fn wait(&mut self, waiting: Waiting) {
        match waiting {
            Waiting::Deactivated => {
                self.status.set_phase(Phase::Deactivated);
                self.set_ready(
                    false,
                    "Deactivated",
                    "spec.mode is Deactivated: no simulation or sync runs until it changes".into(),
                );
            }
            Waiting::JobRunning => self.status.set_phase(Phase::Running),
            Waiting::AwaitingApproval(_) => self.status.set_phase(Phase::AwaitingApproval),
            Waiting::NothingDue => {
                if self.status.phase.as_deref() == Some(Phase::Running.as_str())
                    || self.status.phase.is_none()
                {
                    self.status.set_phase(Phase::Idle);
                }
            }
        }
    }

    /// The next scheduled run in status, and how long until this connection is looked at
    /// again. While a Job runs, a run that comes due waits for it (and starts once, late): the
    /// next sync time stays as it was rather than moving on each interval, which would rewrite
    /// status (and wake this connection) for every interval a long run spans. The Job's end
    /// wakes the connection, so no timer is needed either.
    fn next_look(&mut self, due: &Due, running: bool) -> Duration {
        let mut requeue = IDLE_REQUEUE;
        if !running {
            self.status.next_sync_time = match self.connection.spec.mode {
                Mode::Deactivated => None,
                _ => due.next.map(Time),
            };
            if let Some(next) = due.next
                && let Ok(until) = Duration::try_from(next.duration_since(self.now))
            {
                requeue = requeue.min(until.max(Duration::from_secs(1)));
            }
        }
        requeue
    }

    /// Forgets finished runs beyond the history limits: the Job, and its report Secrets.
    async fn prune_history(&self, jobs: &Api<Job>, owned: &[Job]) -> Result<(), ReconcileError> {
        let connection = self.connection;
        let results: HashMap<String, RunResult> = self
            .status
            .history
            .iter()
            .filter_map(|run| Some((run.job_name.clone()?, run.result?)))
            .collect();
        let label = connection_label(&connection.name_any());
        let secrets: Api<Secret> = Api::namespaced(
            self.context.client.clone(),
            &connection.namespace().unwrap_or_default(),
        );
        for job in jobs_to_prune(owned, &results, &connection.spec.history_limits) {
            match jobs
                .delete(&job.name_any(), &DeleteParams::background())
                .await
            {
                Ok(_) => {}
                Err(kube::Error::Api(status)) if status.code == 404 => {}
                Err(error) => return Err(error.into()),
            }
            if let Some(run) = job.labels().get(RUN_LABEL) {
                secrets
                    .delete_collection(
                        &DeleteParams::default(),
                        &ListParams::default()
                            .labels(&format!("{CONNECTION_LABEL}={label},{RUN_LABEL}={run}")),
                    )
                    .await?;
            }
        }
        Ok(())
    }

    /// Writes status, unless nothing changed since the last write: every write would wake the
    /// watch and bring another reconcile.
    async fn write_status(&mut self) -> Result<(), ReconcileError> {
        let connection = self.connection;
        let written = self.context.written.get(connection);
        let unchanged = written.as_ref() == Some(&self.status)
            || (written.is_none() && connection.status.as_ref() == Some(&self.status));
        if unchanged {
            return Ok(());
        }
        let api: Api<HrisConnection> = Api::namespaced(
            self.context.client.clone(),
            &connection.namespace().unwrap_or_default(),
        );
        let patch = json!({
            "apiVersion": "hris-operator.io/v1alpha1",
            "kind": "HrisConnection",
            "status": self.status,
        });
        api.patch_status(
            &connection.name_any(),
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&patch),
        )
        .await?;
        self.context.written.put(connection, self.status.clone());
        Ok(())
    }

    /// Publishes the Events of this reconcile; one that cannot be published is logged.
    async fn publish_events(self) {
        if self.notes.is_empty() {
            return;
        }
        let recorder = Recorder::new(self.context.client.clone(), self.context.reporter.clone());
        let reference = self.connection.object_ref(&());
        for note in self.notes {
            let event = Event {
                type_: if note.warning {
                    EventType::Warning
                } else {
                    EventType::Normal
                },
                reason: note.reason.into(),
                note: Some(note.message),
                action: "Reconcile".into(),
                secondary: None,
            };
            if let Err(error) = recorder.publish(&event, &reference).await {
                tracing::warn!(reason = note.reason, %error, "could not publish an event");
            }
        }
    }
}

/// A run's id: the connection's uid (a recreated connection never meets the old one's Jobs),
/// the trigger, and for a request the count of requests so far (a value used before starts a
/// new run, never a 409 taken as "started").
fn run_id_of(connection: &HrisConnection, trigger: &Trigger, handled: &HandledRequests) -> String {
    let uid = connection.metadata.uid.as_deref().unwrap_or("");
    if trigger.is_request() {
        let sequence = handled.requests.unwrap_or(0);
        run_id(&format!("{uid}:{}:{sequence}", trigger.key()))
    } else {
        run_id(&format!("{uid}:{}", trigger.key()))
    }
}
