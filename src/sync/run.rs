//! One run: fetch → settle the statuses records leave to their dates → check the fields the
//! spec reads → filter → map → plan → (apply) → reports. Shared by the local
//! `simulate`/`apply` commands and the sync Job, which build the source and the target and fix
//! the evaluation date before they call it.

use std::sync::Arc;

use jiff::civil::Date;

use super::{
    apply::{self, Applied},
    fields_present::{self, MissingFields},
    lifecycle,
    model::{self, RecordError},
    plan::{self, Plan, PlanInput, SkipReason},
    policy::SyncPolicy,
    ports::{
        source::{Source, SourceError, fetch_all},
        target::{Target, TargetError},
    },
    report::{self, RunMode, Summary},
};

/// How to run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Simulate or apply.
    pub mode: RunMode,
    /// Evaluation date: lifecycle rules, and records that state no status, are judged on it.
    /// The caller fixes it once, before anything is read (today in the connection's time zone,
    /// or a date asked for), so a run that crosses midnight judges everyone on one date.
    pub as_of: Date,
    /// A plan hash a person approved (lets a withheld plan through).
    pub approved_hash: Option<String>,
}

/// A run that failed before planning. Nothing was written to the target.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The source could not be built or read; nobody is removed.
    #[error("reading the source failed: {0}")]
    Source(#[source] SourceError),
    /// The target could not be built or listed.
    #[error("listing the target failed: {0}")]
    Target(#[source] TargetError),
    /// A field the spec maps or filters on is carried by no employee: a misspelt name or a
    /// lost permission, which planning on would turn into a change for everyone.
    #[error("{0}")]
    MissingSourceField(#[source] MissingFields),
}

impl RunError {
    /// Category for Events and metrics.
    pub fn category(&self) -> &'static str {
        match self {
            RunError::Source(e) => e.category(),
            RunError::Target(e) => e.kind.as_str(),
            RunError::MissingSourceField(_) => "MissingSourceField",
        }
    }

    /// Whether the failure lies in the input (bad source data, or a spec that reads fields the
    /// data lacks), not in reaching a system.
    pub fn is_invalid_input(&self) -> bool {
        matches!(
            self,
            RunError::Source(SourceError::InvalidInput(_)) | RunError::MissingSourceField(_)
        )
    }
}

/// Everything a finished run produced.
#[derive(Debug)]
pub struct RunOutput {
    /// The plan.
    pub plan: Plan,
    /// What happened to each change.
    pub applied: Applied,
    /// Source records that could not be read.
    pub record_errors: Vec<RecordError>,
    /// The mapped attribute names (report columns).
    pub mapped: Vec<Arc<str>>,
    /// The summary.
    pub summary: Summary,
}

/// Runs the pipeline for one connection, reading from `source` and writing to `target`.
pub async fn run(
    connection: &str,
    policy: &SyncPolicy,
    source: &dyn Source,
    target: &dyn Target,
    options: &RunOptions,
) -> Result<RunOutput, RunError> {
    let as_of = options.as_of;
    let mapped = policy.mapped_attributes();

    // Both sides are read at once (neither depends on the other); a failed source still wins,
    // and nothing is written before both reads are whole.
    let (data, users) = futures::join!(fetch_all(source), target.list_users(&mapped));
    let mut data = data.map_err(RunError::Source)?;
    let users = users.map_err(RunError::Target)?;
    lifecycle::settle_statuses(&mut data.employees, as_of);
    tracing::info!(
        employees = data.employees.len(),
        record_errors = data.errors.len(),
        users = users.len(),
        "fetched"
    );
    // Before planning: a mapped or filtered field nobody has would change every account.
    fields_present::check(policy, &data.employees).map_err(RunError::MissingSourceField)?;

    let mut plan = plan::plan(
        &PlanInput {
            employees: &data.employees,
            record_errors: &data.errors,
            users: &users,
            as_of,
            managers: target.capabilities().managers,
            deletes: target.capabilities().deletes,
            approved_hash: options.approved_hash.as_deref(),
        },
        policy,
    );
    if let Some(hint) = source.missing_email_hint() {
        explain_missing_emails(&mut plan, &data.employees, hint);
    }
    let applied = match options.mode {
        RunMode::Simulate => Applied::simulated(&plan),
        RunMode::Apply => apply::apply(&plan, &users, target).await,
    };
    let summary = report::summarize(
        connection,
        options.mode,
        &plan,
        &applied,
        &data.errors,
        users.len(),
    );
    tracing::info!(
        result = summary.result.as_str(),
        created = summary.counts.created,
        updated = summary.counts.updated,
        deactivated = summary.counts.deactivated,
        deleted = summary.counts.deleted,
        conflicts = summary.counts.conflicts,
        errors = summary.counts.errors,
        seat_limited = summary.counts.seat_limited,
        license_failures = summary.license_failures,
        plan_hash = %summary.plan_hash,
        "run finished"
    );
    Ok(RunOutput {
        plan,
        applied,
        record_errors: data.errors,
        mapped,
        summary,
    })
}

/// Gives the source's `hint` to the `NoUsableEmail` skips of employees without any address
/// (one with an address of a type the policy does not allow needs no hint from the source).
fn explain_missing_emails(plan: &mut Plan, employees: &[model::Employee], hint: &str) {
    let without: std::collections::HashSet<&str> = employees
        .iter()
        .filter(|e| e.emails.is_empty())
        .map(|e| e.id.as_str())
        .collect();
    if without.is_empty() {
        return;
    }
    let hint: Arc<str> = hint.into();
    for skip in &mut plan.skipped {
        if let SkipReason::NoUsableEmail(explained @ None) = &mut skip.reason
            && skip
                .employee_id
                .as_deref()
                .is_some_and(|id| without.contains(id))
        {
            *explained = Some(hint.clone());
        }
    }
}
