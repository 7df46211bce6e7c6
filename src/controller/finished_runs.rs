//! Runs that finished: the summary each Job's sync Pod left in its termination message, or the
//! Job's failure, recorded in status once (the Job is then labelled recorded) and counted in
//! the metrics.

use std::collections::HashSet;

use k8s_openapi::{
    api::{batch::v1::Job, core::v1::Pod},
    jiff::Timestamp,
};
use kube::{
    Api, Client, ResourceExt,
    api::{ListParams, Patch, PatchParams},
};
use serde_json::json;

use super::{
    context::Context,
    job::SYNC_CONTAINER,
    prune::finished_state,
    status::{EventNote, Finished, record_run},
    termination,
};
use crate::{
    contract::{
        labels::{GENERATION_LABEL, RECORDED_LABEL, RUN_KIND_LABEL},
        names::{kind_of_job_name, report_name},
    },
    crd::{HrisConnection, HrisConnectionStatus, RunResult},
    metrics::Metrics,
    sync::report::{RunMode, Summary},
};

/// What a finished Job's sync Pod said.
enum Said {
    /// A summary that passed every check.
    Summary(Box<Summary>),
    /// No Pod of the Job left a termination message.
    Nothing,
    /// The message failed the checks (see [`termination`]).
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
        Some((_, message)) => match termination::read_summary(&message) {
            Ok(summary) => Said::Summary(Box::new(summary)),
            Err(problem) => {
                tracing::warn!(job = %job_name, problem, "a sync Pod left an invalid termination message");
                Said::Invalid
            }
        },
    })
}

/// Records in `status` the finished Jobs not recorded yet, oldest first, and the run whose Job
/// vanished before it was recorded; returns the names of the Jobs recorded.
pub(super) async fn record_finished(
    context: &Context,
    connection: &HrisConnection,
    owned: &[Job],
    status: &mut HrisConnectionStatus,
    notes: &mut Vec<EventNote>,
    now: Timestamp,
) -> Result<Vec<String>, kube::Error> {
    let namespace = connection.namespace().unwrap_or_default();
    let generation = connection.metadata.generation.unwrap_or(0);
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
        let said = termination_summary(&context.client, &namespace, job).await?;
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
    record_vanished_active_job(context, owned, &recorded, status, notes, generation, now);
    Ok(recorded)
}

/// The Job of the run in progress vanished before it was recorded: say so. Either way, a
/// run in progress whose Job is gone or recorded is no longer in progress.
fn record_vanished_active_job(
    context: &Context,
    owned: &[Job],
    recorded: &[String],
    status: &mut HrisConnectionStatus,
    notes: &mut Vec<EventNote>,
    generation: i64,
    now: Timestamp,
) {
    let Some(active) = status.active_job.clone() else {
        return;
    };
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
pub(super) async fn mark_recorded(jobs: &Api<Job>, names: &[String]) -> Result<(), kube::Error> {
    for name in names {
        let patch = json!({"metadata": {"labels": {RECORDED_LABEL: "true"}}});
        match jobs
            .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => {}
            // Pruned in this very reconcile: nothing left to mark.
            Err(kube::Error::Api(status)) if status.code == 404 => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

/// Counts a run `record_run` has just put into status.
fn count_finished_run(metrics: &Metrics, status: &HrisConnectionStatus, run: &Finished) {
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
    if let Some(notifications) = run.summary.as_ref().and_then(|s| s.notifications.as_ref()) {
        metrics.notifications(notifications.sent, notifications.failed);
    }
}
