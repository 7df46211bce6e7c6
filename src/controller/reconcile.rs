//! One reconcile of one connection: record the Jobs that finished, decide whether to start a
//! run, start it, and write status (server-side apply, one field manager) and Events. The
//! decisions themselves are the pure functions of this module's siblings; this is the glue
//! that reads and writes the API.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
    time::Duration,
};

use k8s_openapi::{
    api::{
        batch::v1::Job,
        core::v1::{Pod, Secret},
    },
    apimachinery::pkg::apis::meta::v1::Time,
    jiff::Timestamp,
};
use kube::{
    Api, Client, Resource, ResourceExt,
    api::{DeleteParams, ListParams, Patch, PatchParams, PostParams},
    runtime::{
        controller::Action,
        events::{Event, EventType, Recorder, Reporter},
    },
};
use serde_json::json;

use super::{
    access::apply_sync_access,
    decide::{Decision, Situation, Trigger, Waiting, decide},
    job::{
        CONNECTION_LABEL, GENERATION_LABEL, JobDefaults, RUN_KIND_LABEL, RunKind, build_job,
        job_name, run_id,
    },
    prune::{finished_state, jobs_to_prune},
    reports::{RUN_LABEL, report_name},
    schedule::Cadence,
    status::{EventNote, Finished, record_run, set_condition},
    sync_run::FIELD_MANAGER,
};
use crate::{
    crd::{HrisConnection, RunResult},
    metrics::Metrics,
    sync::report::Summary,
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
    /// The status this controller last wrote, per connection uid. The controller is the only
    /// writer of status, so this is never older than the watch cache, which can lag behind a
    /// write: a reconcile started from a stale cache would record a finished run twice.
    pub written: WrittenStatus,
}

/// The connections the controller's watches hold, in every scope.
#[derive(Clone, Default)]
pub struct Peers(pub Arc<std::sync::Mutex<Vec<kube::runtime::reflector::Store<HrisConnection>>>>);

impl Peers {
    /// Every connection currently known.
    pub fn all(&self) -> Vec<Arc<HrisConnection>> {
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
pub struct WrittenStatus(std::sync::Mutex<HashMap<String, crate::crd::HrisConnectionStatus>>);

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

    fn get(&self, connection: &HrisConnection) -> Option<crate::crd::HrisConnectionStatus> {
        self.0
            .lock()
            .expect("never poisoned")
            .get(&Self::key(connection))
            .cloned()
    }

    fn put(&self, connection: &HrisConnection, status: crate::crd::HrisConnectionStatus) {
        self.0
            .lock()
            .expect("never poisoned")
            .insert(Self::key(connection), status);
    }
}

/// A reconcile that could not finish; it is retried.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// The API refused or failed.
    #[error("Kubernetes API: {0}")]
    Api(#[from] kube::Error),
}

/// Reconciles a connection now.
pub async fn reconcile(
    connection: Arc<HrisConnection>,
    context: Arc<Context>,
) -> Result<Action, ReconcileError> {
    reconcile_at(&connection, &context, Timestamp::now()).await
}

/// The summary a finished Job's sync container left in its termination message.
async fn termination_summary(
    client: &Client,
    namespace: &str,
    job: &str,
) -> Result<Option<Summary>, kube::Error> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let list = pods
        .list(&ListParams::default().labels(&format!("job-name={job}")))
        .await?;
    let mut messages: Vec<(Option<Timestamp>, String)> = list
        .items
        .iter()
        // Some API servers (and emulators) ignore label selectors: check the label here too.
        .filter(|pod| pod.labels().get("job-name").map(String::as_str) == Some(job))
        .filter_map(|pod| {
            let statuses = pod.status.as_ref()?.container_statuses.as_ref()?;
            let terminated = statuses
                .iter()
                .find(|s| s.name == "sync")?
                .state
                .as_ref()?
                .terminated
                .as_ref()?;
            Some((
                terminated.finished_at.as_ref().map(|t| t.0),
                terminated.message.clone()?,
            ))
        })
        .collect();
    messages.sort();
    Ok(messages
        .pop()
        .and_then(|(_, message)| serde_json::from_str(&message).ok()))
}

/// Reconciles a connection at `now`.
pub async fn reconcile_at(
    connection: &HrisConnection,
    context: &Context,
    now: Timestamp,
) -> Result<Action, ReconcileError> {
    let namespace = connection.namespace().unwrap_or_default();
    let name = connection.name_any();
    let generation = connection.metadata.generation.unwrap_or(0);
    let mut status = context
        .written
        .get(connection)
        .or_else(|| connection.status.clone())
        .unwrap_or_default();
    let mut notes: Vec<EventNote> = Vec::new();

    // Record the runs that finished since the last reconcile, oldest first.
    let jobs: Api<Job> = Api::namespaced(context.client.clone(), &namespace);
    let owned = jobs
        .list(&ListParams::default().labels(&format!("{CONNECTION_LABEL}={name}")))
        .await?;
    let recorded: HashSet<String> = status
        .history
        .iter()
        .filter_map(|run| run.job_name.clone())
        .collect();
    let mut running = false;
    let mut finished: Vec<(Timestamp, &Job, Option<String>)> = Vec::new();
    let owned: Vec<Job> = owned
        .items
        .into_iter()
        .filter(|job| job.labels().get(CONNECTION_LABEL) == Some(&name))
        .collect();
    for job in &owned {
        match finished_state(job) {
            None => running = true,
            Some((at, failure)) if !recorded.contains(&job.name_any()) => {
                finished.push((at, job, failure));
            }
            Some(_) => {}
        }
    }
    finished.sort_by_key(|(at, _, _)| *at);
    for (at, job, failure) in finished {
        let job_name = job.name_any();
        let labels = job.labels();
        let kind = if labels.get(RUN_KIND_LABEL).map(String::as_str) == Some("apply") {
            RunKind::Apply
        } else {
            RunKind::Simulate
        };
        let job_generation = labels
            .get(GENERATION_LABEL)
            .and_then(|g| g.parse().ok())
            .unwrap_or(generation);
        let summary = termination_summary(&context.client, &namespace, &job_name).await?;
        let report = summary.as_ref().map(|_| report_name(&job_name));
        let run = Finished {
            kind,
            job_name,
            started_at: job
                .status
                .as_ref()
                .and_then(|s| s.start_time.as_ref().map(|t| t.0)),
            finished_at: at,
            failure: if summary.is_none() {
                failure.or_else(|| Some("NoSummary".into()))
            } else {
                None
            },
            summary,
            report,
        };
        notes.extend(record_run(&mut status, &run, job_generation));
        count_finished_run(&context.metrics, &status, &run);
    }

    // Decide and start at most one run.
    let mut handled = status.last_handled_request.clone().unwrap_or_default();
    let cadence = match Cadence::compile(&connection.spec.schedule) {
        Ok(cadence) => Some(cadence),
        Err(message) => {
            if set_condition(
                &mut status.conditions,
                "Ready",
                false,
                "InvalidSpec",
                message.clone(),
                generation,
                now,
            ) {
                notes.push(EventNote {
                    warning: true,
                    reason: "InvalidSpec",
                    message,
                });
            }
            None
        }
    };
    notes.extend(super::prefixes::note_overlap(
        connection,
        &context.peers.all(),
        &mut status,
        generation,
        now,
    ));
    let mut requeue = Duration::from_secs(300);
    if let Some(cadence) = cadence {
        let anchor = status
            .last_schedule_time
            .as_ref()
            .map(|t| t.0)
            .or_else(|| connection.metadata.creation_timestamp.as_ref().map(|t| t.0))
            .unwrap_or(now);
        let due = cadence.due(
            anchor,
            now,
            connection.spec.schedule.suspend,
            context.starting_deadline,
        );
        let annotations = connection.annotations().clone();
        let simulated = status.last_simulation.clone();
        let decision = decide(&Situation {
            mode: connection.spec.mode,
            generation,
            annotations: &annotations,
            handled: &handled,
            simulated_generation: simulated.as_ref().and_then(|run| run.generation),
            simulated_hash: simulated.as_ref().and_then(|run| run.plan_hash.as_deref()),
            approved_generation: handled.approved_generation,
            require_approval: connection.spec.safeguards.require_simulation_approval,
            job_running: running,
            scheduled: due.run_for,
        });
        let reactivated = connection.spec.mode != crate::crd::Mode::Deactivated
            && status
                .conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.reason == "Deactivated");
        if reactivated {
            set_condition(
                &mut status.conditions,
                "Ready",
                false,
                "Reactivated",
                "spec.mode changed from Deactivated: waiting for the next run".into(),
                generation,
                now,
            );
        }
        match decision {
            Decision::Run {
                kind,
                trigger,
                approved_hash,
            } => {
                let id = run_id(&trigger.key());
                // The Job's own ServiceAccount and this run's Role, before the Job: it never
                // runs with another run's permissions, nor without any.
                if connection.spec.job.service_account_name.is_empty() {
                    apply_sync_access(
                        &context.client,
                        connection,
                        &report_name(&job_name(connection, kind, &id)),
                    )
                    .await?;
                }
                let job = build_job(
                    connection,
                    kind,
                    &id,
                    approved_hash.as_deref(),
                    &context.defaults,
                );
                match jobs.create(&PostParams::default(), &job).await {
                    Ok(_) => {}
                    // A Job of this very run exists already (a repeated reconcile).
                    Err(kube::Error::Api(status)) if status.code == 409 => {}
                    Err(error) => return Err(error.into()),
                }
                match trigger {
                    Trigger::SyncRequested(value) => handled.sync_requested_at = Some(value),
                    Trigger::SimulateRequested(value) => {
                        handled.simulate_requested_at = Some(value)
                    }
                    Trigger::Approved(hash) => {
                        if simulated.as_ref().and_then(|run| run.plan_hash.as_deref())
                            == Some(hash.as_str())
                        {
                            handled.approved_generation = Some(generation);
                        }
                        handled.approved_plan = Some(hash);
                    }
                    Trigger::Schedule(at) => status.last_schedule_time = Some(Time(at)),
                    Trigger::SpecChanged => {}
                }
                status.phase = Some("Running".into());
                requeue = Duration::from_secs(30);
            }
            Decision::Wait(Waiting::Deactivated) => {
                status.phase = Some("Deactivated".into());
                set_condition(
                    &mut status.conditions,
                    "Ready",
                    false,
                    "Deactivated",
                    "spec.mode is Deactivated: no simulation or sync runs until it changes".into(),
                    generation,
                    now,
                );
            }
            Decision::Wait(Waiting::JobRunning) => {
                status.phase = Some("Running".into());
                requeue = Duration::from_secs(30);
            }
            Decision::Wait(Waiting::AwaitingApproval(_)) => {
                status.phase = Some("AwaitingApproval".into())
            }
            Decision::Wait(Waiting::NothingDue) => {
                if status.phase.as_deref() == Some("Running") || status.phase.is_none() {
                    status.phase = Some("Idle".into());
                }
            }
        }
        status.next_sync_time = match connection.spec.mode {
            crate::crd::Mode::Deactivated => None,
            _ => due.next.map(Time),
        };
        if let Some(next) = due.next
            && let Ok(until) = Duration::try_from(next.duration_since(now))
        {
            requeue = requeue.min(until.max(Duration::from_secs(1)));
        }
    }
    status.last_handled_request = Some(handled);
    status.observed_generation = Some(generation);

    // Forget finished runs beyond the history limits: the Job, and its report Secrets.
    let results: HashMap<String, RunResult> = status
        .history
        .iter()
        .filter_map(|run| Some((run.job_name.clone()?, run.result?)))
        .collect();
    let secrets: Api<Secret> = Api::namespaced(context.client.clone(), &namespace);
    for job in jobs_to_prune(&owned, &results, &connection.spec.history_limits) {
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
                        .labels(&format!("{CONNECTION_LABEL}={name},{RUN_LABEL}={run}")),
                )
                .await?;
        }
    }

    // Nothing changed since the last write: write nothing (every write would wake the watch
    // and bring another reconcile).
    let unchanged = context.written.get(connection).as_ref() == Some(&status)
        || (context.written.get(connection).is_none()
            && connection.status.as_ref() == Some(&status));
    let api: Api<HrisConnection> = Api::namespaced(context.client.clone(), &namespace);
    let patch = json!({
        "apiVersion": "hris-operator.io/v1alpha1",
        "kind": "HrisConnection",
        "status": status,
    });
    if !unchanged {
        api.patch_status(
            &name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&patch),
        )
        .await?;
        context.written.put(connection, status);
    }

    if !notes.is_empty() {
        let recorder = Recorder::new(context.client.clone(), context.reporter.clone());
        let reference = connection.object_ref(&());
        for note in notes {
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
    Ok(Action::requeue(requeue))
}

/// Counts a run `record_run` has just put into status.
fn count_finished_run(
    metrics: &Metrics,
    status: &crate::crd::HrisConnectionStatus,
    run: &Finished,
) {
    let latest = match run.kind {
        RunKind::Apply => status.last_sync.as_ref(),
        RunKind::Simulate => status.last_simulation.as_ref(),
    }
    .filter(|latest| latest.job_name.as_deref() == Some(run.job_name.as_str()));
    let Some(latest) = latest else { return };
    let result = latest.result.unwrap_or(RunResult::Failed);
    let applied = (run.kind == RunKind::Apply).then(|| {
        let counts = &latest.counts;
        [
            ("created", counts.created),
            ("updated", counts.updated),
            ("deactivated", counts.deactivated),
            ("deleted", counts.deleted),
        ]
    });
    metrics.run_finished(
        run.kind.as_str(),
        result,
        latest.error_category.as_deref(),
        applied,
    );
}
