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
    core::DeserializeGuard,
    runtime::{
        controller::Action,
        events::{Event, EventType, Recorder, Reporter},
    },
};
use serde_json::json;

use super::{
    access::apply_sync_access,
    decide::{Decision, Situation, Trigger, Waiting, decide, request_key},
    job::{JobDefaults, SYNC_CONTAINER, build_job, run_id},
    prune::{finished_state, jobs_to_prune},
    schedule::Cadence,
    status::{EventNote, Finished, record_run, set_condition},
    termination,
};
use crate::{
    contract::{
        FIELD_MANAGER,
        labels::{
            CONNECTION_LABEL, GENERATION_LABEL, RECORDED_LABEL, RUN_KIND_LABEL, RUN_LABEL,
            connection_label,
        },
        names::{job_name, kind_of_job_name, report_name},
    },
    crd::{HrisConnection, Phase, RunResult},
    metrics::Metrics,
    sync::report::{RunMode, Summary},
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

    /// Forgets deleted connections (when there are more entries than connections).
    fn forget_all_but(&self, connections: &[&HrisConnection]) {
        let mut map = self.0.lock().expect("never poisoned");
        if connections.is_empty() || map.len() <= connections.len() {
            return;
        }
        let keep: HashSet<String> = connections.iter().map(|c| Self::key(c)).collect();
        map.retain(|key, _| keep.contains(key));
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
    connection: &HrisConnection,
    context: Arc<Context>,
) -> Result<Action, ReconcileError> {
    reconcile_at(connection, &context, Timestamp::now()).await
}

/// Longest part of a deserialization error shown in a condition.
const UNREADABLE_DETAIL: usize = 300;

/// A connection this controller cannot read (its spec names something this version does not
/// know, typically after a rollback past a CRD change): condition `Ready=False InvalidSpec` and
/// one Event on that object, once per distinct problem; no run starts; every other connection
/// is reconciled as usual.
pub async fn report_unreadable(
    invalid: &kube::core::error_boundary::InvalidObject,
    context: &Context,
) -> Result<Action, ReconcileError> {
    let metadata = &invalid.metadata;
    let (Some(name), Some(namespace)) = (metadata.name.clone(), metadata.namespace.clone()) else {
        return Ok(Action::await_change());
    };
    let detail: String = invalid.error.chars().take(UNREADABLE_DETAIL).collect();
    let message = format!(
        "the controller cannot read this connection ({detail}); check that the CRD and the \
         controller are the same version, then fix the spec"
    );
    let key = format!("{}/{}", metadata.uid.as_deref().unwrap_or(&name), message);
    if !context
        .unreadable
        .lock()
        .expect("never poisoned")
        .insert(key)
    {
        return Ok(Action::await_change());
    }
    tracing::warn!(namespace = %namespace, name = %name, "a connection cannot be read");
    let api: Api<kube::core::DynamicObject> = Api::namespaced_with(
        context.client.clone(),
        &namespace,
        &kube::core::ApiResource::erase::<HrisConnection>(&()),
    );
    // The rest of status stays as it was: read its conditions, replace only Ready.
    let current = api.get(&name).await?;
    let mut conditions: Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition> = current
        .data
        .get("status")
        .and_then(|s| s.get("conditions"))
        .and_then(|c| serde_json::from_value(c.clone()).ok())
        .unwrap_or_default();
    let generation = metadata.generation.unwrap_or(0);
    let now = Timestamp::now();
    set_condition(
        &mut conditions,
        "Ready",
        false,
        "InvalidSpec",
        message.clone(),
        generation,
        now,
    );
    api.patch_status(
        &name,
        &PatchParams::default(),
        &Patch::Merge(
            json!({"status": {"conditions": conditions, "phase": Phase::Failed.as_str()}}),
        ),
    )
    .await?;
    let recorder = Recorder::new(context.client.clone(), context.reporter.clone());
    let reference = k8s_openapi::api::core::v1::ObjectReference {
        api_version: Some("hris-operator.io/v1alpha1".into()),
        kind: Some("HrisConnection".into()),
        name: Some(name),
        namespace: Some(namespace),
        uid: metadata.uid.clone(),
        ..Default::default()
    };
    let event = Event {
        type_: EventType::Warning,
        reason: "InvalidSpec".into(),
        note: Some(message),
        action: "Reconcile".into(),
        secondary: None,
    };
    if let Err(error) = recorder.publish(&event, &reference).await {
        tracing::warn!(%error, "could not publish an event");
    }
    Ok(Action::await_change())
}

/// What a finished Job's sync Pod said.
enum Said {
    /// A summary that passed every check.
    Summary(Box<Summary>),
    /// No Pod of the Job left a termination message.
    Nothing,
    /// The message failed the checks (see [`super::termination`]).
    Invalid,
}

/// The summary a finished Job's sync container left in its termination message. Only a Pod the
/// Job controls (an ownerReference with the Job's uid) counts: anyone who can create Pods can
/// label one `job-name=<job>`.
async fn termination_summary(
    client: &Client,
    namespace: &str,
    job: &Job,
) -> Result<Said, kube::Error> {
    let Some(job_uid) = job.metadata.uid.as_deref() else {
        return Ok(Said::Nothing);
    };
    let job_name = job.name_any();
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let list = pods
        .list(&ListParams::default().labels(&format!("job-name={job_name}")))
        .await?;
    let mut messages: Vec<(Option<Timestamp>, String)> = list
        .items
        .iter()
        .filter(|pod| {
            pod.owner_references().iter().any(|owner| {
                owner.controller == Some(true) && owner.kind == "Job" && owner.uid == job_uid
            })
        })
        .filter_map(|pod| {
            let statuses = pod.status.as_ref()?.container_statuses.as_ref()?;
            let terminated = statuses
                .iter()
                .find(|s| s.name == SYNC_CONTAINER)?
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
    Ok(match messages.pop() {
        None => Said::Nothing,
        Some((_, message)) => match super::termination::read_summary(&message) {
            Ok(summary) => Said::Summary(Box::new(summary)),
            Err(problem) => {
                tracing::warn!(job = %job_name, problem, "a sync Pod left an invalid termination message");
                Said::Invalid
            }
        },
    })
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

/// Records the finished Jobs not recorded yet, oldest first, and returns them.
async fn record_finished(
    context: &Context,
    namespace: &str,
    owned: &[Job],
    status: &mut crate::crd::HrisConnectionStatus,
    notes: &mut Vec<EventNote>,
    generation: i64,
    now: Timestamp,
) -> Result<Vec<String>, ReconcileError> {
    let in_history: HashSet<String> = status
        .history
        .iter()
        .filter_map(|run| run.job_name.clone())
        .collect();
    let mut finished: Vec<(Timestamp, &Job, Option<String>)> = owned
        .iter()
        .filter(|job| !job.labels().contains_key(RECORDED_LABEL))
        .filter(|job| !in_history.contains(&job.name_any()))
        .filter_map(|job| finished_state(job).map(|(at, failure)| (at, job, failure)))
        .collect();
    finished.sort_by_key(|(at, _, _)| *at);
    let mut recorded = Vec::new();
    for (at, job, failure) in finished {
        let job_name = job.name_any();
        let said = termination_summary(&context.client, namespace, job).await?;
        let (summary, failure) = match (failure, said) {
            // A Job that failed (deadline, back-off) failed, whatever its Pod said.
            (Some(reason), _) => (None, Some(termination::job_failure_category(&reason))),
            (None, Said::Summary(summary)) => (Some(*summary), None),
            (None, Said::Nothing) => (None, Some("NoSummary")),
            (None, Said::Invalid) => (None, Some(termination::INVALID_SUMMARY)),
        };
        let run = finished_run(job, at, summary, failure.map(str::to_owned));
        notes.extend(record_run(status, &run, job_generation(job, generation)));
        count_finished_run(&context.metrics, status, &run);
        recorded.push(job_name);
    }
    // The Job of the run in progress vanished before it was recorded: say so.
    if let Some(active) = status.active_job.clone() {
        let exists = owned.iter().any(|job| job.name_any() == active);
        let done = recorded.contains(&active)
            || status
                .history
                .iter()
                .any(|r| r.job_name.as_deref() == Some(active.as_str()));
        if !exists && !done {
            let kind = kind_of_job_name(&active);
            let run = Finished {
                kind,
                job_name: active.clone(),
                started_at: None,
                finished_at: now,
                summary: None,
                failure: Some("JobDeleted".into()),
                report: None,
            };
            notes.extend(record_run(status, &run, generation));
            count_finished_run(&context.metrics, status, &run);
        }
        if !exists || done || recorded.contains(&active) {
            status.active_job = None;
        }
    }
    Ok(recorded)
}

fn job_generation(job: &Job, current: i64) -> i64 {
    job.labels()
        .get(GENERATION_LABEL)
        .and_then(|g| g.parse().ok())
        .unwrap_or(current)
}

fn finished_run(
    job: &Job,
    at: Timestamp,
    summary: Option<Summary>,
    failure: Option<String>,
) -> Finished {
    let job_name = job.name_any();
    let kind = RunMode::from_value(job.labels().get(RUN_KIND_LABEL).map_or("", String::as_str));
    Finished {
        kind,
        report: summary.as_ref().map(|_| report_name(&job_name)),
        job_name,
        started_at: job
            .status
            .as_ref()
            .and_then(|s| s.start_time.as_ref().map(|t| t.0)),
        finished_at: at,
        summary,
        failure,
    }
}

/// Marks recorded Jobs, so that a run is recorded once however many Jobs the history limits
/// keep and however few runs `status.history` remembers.
async fn mark_recorded(jobs: &Api<Job>, names: &[String]) -> Result<(), ReconcileError> {
    for name in names {
        let patch = json!({"metadata": {"labels": {RECORDED_LABEL: "true"}}});
        match jobs
            .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => {}
            // Pruned in this very reconcile: nothing left to mark.
            Err(kube::Error::Api(status)) if status.code == 404 => {}
            Err(error) => return Err(error.into()),
        }
    }
    Ok(())
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
    let label = connection_label(&name);
    let owned: Vec<Job> = jobs
        .list(&ListParams::default().labels(&format!("{CONNECTION_LABEL}={label}")))
        .await?
        .items
        .into_iter()
        // Some API servers (and emulators) ignore label selectors: check here too.
        .filter(|job| owned_by(job, connection, &label))
        .collect();
    let running = owned.iter().any(|job| finished_state(job).is_none());
    let recorded = record_finished(
        context,
        &namespace,
        &owned,
        &mut status,
        &mut notes,
        generation,
        now,
    )
    .await?;

    // Decide and start at most one run.
    let mut handled = status.last_handled_request.clone().unwrap_or_default();
    // The whole spec is checked as a sync Job would check it: an older CRD may let through
    // what this version refuses (a negative backoffLimit, an empty prefix), and a Job started
    // on it would only fail.
    let checked = crate::sync::policy::SyncPolicy::compile(&connection.spec)
        .map_err(|errors| {
            let text = errors.to_string().replace('\n', "; ");
            text.chars().take(600).collect::<String>()
        })
        .and_then(|_| Cadence::compile(&connection.spec.schedule));
    let cadence = match checked {
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
    let peers = context.peers.all();
    let readable: Vec<&HrisConnection> = peers.iter().filter_map(|g| g.0.as_ref().ok()).collect();
    notes.extend(super::prefixes::note_overlap(
        connection,
        &readable,
        &mut status,
        generation,
        now,
    ));
    context.written.forget_all_but(&readable);
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
                // A run's id: the connection's uid (a recreated connection never meets the old
                // one's Jobs), the trigger, and for a request the count of requests so far (a
                // value used before starts a new run, never a 409 taken as "started").
                let requested = matches!(
                    trigger,
                    Trigger::SyncRequested(_)
                        | Trigger::SimulateRequested(_)
                        | Trigger::Approved(_)
                );
                let sequence = handled.requests.unwrap_or(0);
                let uid = connection.metadata.uid.as_deref().unwrap_or("");
                let id = if requested {
                    run_id(&format!("{uid}:{}:{sequence}", trigger.key()))
                } else {
                    run_id(&format!("{uid}:{}", trigger.key()))
                };
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
                    // A Job of this very run exists already: a reconcile that created it did
                    // not get to write status. Run ids are unique per trigger and request, so
                    // this is that run.
                    Err(kube::Error::Api(status)) if status.code == 409 => {}
                    Err(error) => return Err(error.into()),
                }
                status.active_job = job.metadata.name.clone();
                if requested {
                    handled.requests = Some(sequence + 1);
                }
                match trigger {
                    Trigger::SyncRequested(value) => {
                        handled.sync_requested_at = Some(request_key(&value))
                    }
                    Trigger::SimulateRequested(value) => {
                        handled.simulate_requested_at = Some(request_key(&value))
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
                // The Job is watched: its end wakes this connection, no polling needed.
                status.set_phase(Phase::Running);
            }
            Decision::Wait(Waiting::Deactivated) => {
                status.set_phase(Phase::Deactivated);
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
                status.set_phase(Phase::Running);
            }
            Decision::Wait(Waiting::AwaitingApproval(_)) => {
                status.set_phase(Phase::AwaitingApproval)
            }
            Decision::Wait(Waiting::NothingDue) => {
                if status.phase.as_deref() == Some(Phase::Running.as_str())
                    || status.phase.is_none()
                {
                    status.set_phase(Phase::Idle);
                }
            }
        }
        // While a Job runs, a run that comes due waits for it (and starts once, late): the next
        // sync time stays as it was rather than moving on each interval, which would rewrite
        // status (and wake this connection) for every interval a long run spans. The Job's end
        // wakes the connection, so no timer is needed either.
        if !running {
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
                        .labels(&format!("{CONNECTION_LABEL}={label},{RUN_LABEL}={run}")),
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
    // Only once status holds them: a mark without a record would lose the run.
    mark_recorded(&jobs, &recorded).await?;

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
        RunMode::Apply => status.last_sync.as_ref(),
        RunMode::Simulate => status.last_simulation.as_ref(),
    }
    .filter(|latest| latest.job_name.as_deref() == Some(run.job_name.as_str()));
    let Some(latest) = latest else { return };
    let result = latest.result.unwrap_or(RunResult::Failed);
    let applied = (run.kind == RunMode::Apply).then(|| {
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
