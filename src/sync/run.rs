//! One run: fetch → check the fields the spec reads → filter → map → plan → (apply) →
//! reports. Shared by the local `simulate`/`apply` commands and the sync Job.

use std::sync::Arc;

use jiff::civil::Date;

use super::{
    apply::{self, Applied},
    fields_present::{self, MissingFields},
    model::RecordError,
    plan::{self, Plan, PlanInput},
    policy::SyncPolicy,
    report::{self, RunMode, Summary},
};
use crate::{
    connectors::{ConnectorContext, source, target},
    crd::HrisConnectionSpec,
    sync::ports::{
        source::{SourceError, fetch_all},
        target::TargetError,
    },
};

/// How to run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Simulate or apply.
    pub mode: RunMode,
    /// Evaluation date; today in the connection's time zone when absent.
    pub as_of: Option<Date>,
    /// A plan hash a person approved (lets a withheld plan through).
    pub approved_hash: Option<String>,
}

/// A run that failed before planning. Nothing was written to the target.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The source could not be read; nobody is removed.
    #[error("reading the source failed: {0}")]
    Source(#[source] SourceError),
    /// The target could not be listed.
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

/// Runs the pipeline for one connection.
pub async fn run(
    connection: &str,
    spec: &HrisConnectionSpec,
    policy: &SyncPolicy,
    context: &ConnectorContext,
    options: &RunOptions,
) -> Result<RunOutput, RunError> {
    // One evaluation date per run, fixed before anything is read: a run that crosses midnight
    // judges every employee on the date it started.
    let as_of = options.as_of.unwrap_or_else(|| policy.today());
    let source = source::build(&spec.source, context)
        .await
        .map_err(RunError::Source)?;
    let target = target::build(&spec.target, context)
        .await
        .map_err(RunError::Target)?;
    let mapped = policy.mapped_attributes();

    // Both sides are read at once (neither depends on the other); a failed source still wins,
    // and nothing is written before both reads are whole.
    let (data, users) = futures::join!(
        source::rows::with_evaluation_date(as_of, fetch_all(source.as_ref())),
        target.list_users(&mapped)
    );
    let data = data.map_err(RunError::Source)?;
    let users = users.map_err(RunError::Target)?;
    tracing::info!(
        employees = data.employees.len(),
        record_errors = data.errors.len(),
        users = users.len(),
        "fetched"
    );
    // Before planning: a mapped or filtered field nobody has would change every account.
    fields_present::check(policy, &data.employees).map_err(RunError::MissingSourceField)?;

    let plan = plan::plan(
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
    let applied = match options.mode {
        RunMode::Simulate => Applied::simulated(&plan),
        RunMode::Apply => apply::apply(&plan, &users, target.as_ref()).await,
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
