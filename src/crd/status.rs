//! Status of an `HrisConnection`. Written by the controller only (one field manager).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::bounds;

/// Observed state of a connection. Holds no personal data: changes are identified by
/// externalId and attribute names only.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HrisConnectionStatus {
    /// The spec generation this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready`, `Synced`, `Simulated`, `SafeguardTriggered` and `CredentialsValid`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(transform = bounds::conditions)]
    pub conditions: Vec<Condition>,
    /// A one-word summary of the connection's state, one of [`Phase`] (set with
    /// [`HrisConnectionStatus::set_phase`]).
    // The schema's description is built from `Phase::ALL`, so `kubectl explain` lists exactly the
    // values the controller writes.
    #[schemars(description = Phase::description(), length(max = bounds::WORD))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// When the next scheduled run starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_sync_time: Option<Time>,
    /// The scheduled time the last scheduled run stood for (the schedule's anchor).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_schedule_time: Option<Time>,
    /// When the last finished run of either kind (sync or simulation) finished. The `Last Run`
    /// column of `kubectl get hrisconnections`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run_time: Option<Time>,
    /// `Simulate` or `Apply`: the kind of the last finished run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = bounds::WORD))]
    pub last_run_kind: Option<String>,
    /// `Succeeded`, `Failed` or `Withheld`: the result of the last finished run of either kind.
    /// The `Result` column of `kubectl get hrisconnections`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run_result: Option<RunResult>,
    /// The last run that applied changes (a `Simulate` connection has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync: Option<RunStatus>,
    /// The last simulation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_simulation: Option<RunStatus>,
    /// A bounded sample of the last run's changes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = bounds::CHANGE_SAMPLE))]
    pub change_sample: Vec<ChangeSample>,
    /// The trigger annotations already acted upon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_request: Option<HandledRequests>,
    /// The most recent runs, newest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = bounds::HISTORY))]
    pub history: Vec<RunRecord>,
    /// The Job of the run in progress, until it is recorded: a Job deleted before it finished
    /// is then recorded as a failed run (`JobDeleted`) instead of vanishing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = bounds::JOB_NAME))]
    pub active_job: Option<String>,
}

impl HrisConnectionStatus {
    /// Sets `phase`; the only way the controller writes it.
    pub fn set_phase(&mut self, phase: Phase) {
        self.phase = Some(phase.as_str().to_owned());
    }
}

/// Every value of `status.phase`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for the next scheduled or requested run; the last one did not fail.
    Idle,
    /// A sync Job is running.
    Running,
    /// A simulation's plan waits for approval before it is applied.
    AwaitingApproval,
    /// `spec.mode` is `Deactivated`: nothing runs.
    Deactivated,
    /// The last run withheld changes until a person approves its plan.
    Withheld,
    /// The last run failed, or the spec cannot be used.
    Failed,
}

impl Phase {
    /// Every phase, in the order the schema describes them.
    pub const ALL: [Phase; 6] = [
        Phase::Idle,
        Phase::Running,
        Phase::AwaitingApproval,
        Phase::Deactivated,
        Phase::Withheld,
        Phase::Failed,
    ];

    /// The value written to `status.phase`.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Idle => "Idle",
            Phase::Running => "Running",
            Phase::AwaitingApproval => "AwaitingApproval",
            Phase::Deactivated => "Deactivated",
            Phase::Withheld => "Withheld",
            Phase::Failed => "Failed",
        }
    }

    /// What the phase means, for the schema's description.
    pub fn meaning(self) -> &'static str {
        match self {
            Phase::Idle => "waiting for the next run; the last one did not fail",
            Phase::Running => "a sync Job is running",
            Phase::AwaitingApproval => {
                "a simulated plan waits for approval (hris-operator.io/approve-plan) before it is applied"
            }
            Phase::Deactivated => "spec.mode is Deactivated, nothing runs",
            Phase::Withheld => {
                "the last run withheld changes until a person approves its plan hash"
            }
            Phase::Failed => "the last run failed, or the spec cannot be used (see conditions)",
        }
    }

    /// The description of `status.phase`: every phase and what it means.
    pub fn description() -> String {
        let phases: Vec<String> = Phase::ALL
            .iter()
            .map(|phase| format!("`{}` ({})", phase.as_str(), phase.meaning()))
            .collect();
        format!(
            "A one-word summary of the connection's state: {}. Absent until the controller first \
             reconciles the connection.",
            phases.join(", ")
        )
    }
}

/// How a run ended: `Succeeded`, `Failed`, or `Withheld` (a safeguard held changes back until a
/// person approves the plan hash).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum RunResult {
    /// Every planned change was made (or, for a simulation, planned).
    Succeeded,
    /// The run failed; nothing after the failure was applied.
    Failed,
    /// A safeguard withheld the changes it guards; the other changes went through.
    Withheld,
}

impl RunResult {
    /// The name used in reports and status.
    pub fn as_str(self) -> &'static str {
        match self {
            RunResult::Succeeded => "Succeeded",
            RunResult::Failed => "Failed",
            RunResult::Withheld => "Withheld",
        }
    }
}

/// Counts of one run.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChangeCounts {
    /// Users created.
    pub created: u64,
    /// Users updated (including adopted and reactivated users).
    pub updated: u64,
    /// Users deactivated.
    pub deactivated: u64,
    /// Users deleted.
    pub deleted: u64,
    /// Users already in the desired state.
    pub unchanged: u64,
    /// Employees not provisioned yet, changes not allowed by `operations`, and every other row
    /// of skipped.csv.
    pub skipped: u64,
    /// Employees that could not be matched safely.
    pub conflicts: u64,
    /// Source records and writes that failed.
    pub errors: u64,
    /// Creates and reactivations not attempted because they would pass
    /// `spec.safeguards.seatLimit` (also counted in `skipped`).
    #[serde(default)]
    pub seat_limited: u64,
}

/// One run of a connection.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunStatus {
    /// When the run started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Time>,
    /// When the run finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Time>,
    /// The Job that ran it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = bounds::JOB_NAME))]
    pub job_name: Option<String>,
    /// The spec generation the run planned with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<i64>,
    /// `Succeeded`, `Failed` or `Withheld`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<RunResult>,
    /// What the run did (or, for a simulation, would do).
    #[serde(default)]
    pub counts: ChangeCounts,
    /// Hash of the plan; approve it with `hris-operator.io/approve-plan` to let it through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = bounds::REQUEST_KEY))]
    pub plan_hash: Option<String>,
    /// The Secret holding the run's reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = bounds::NAME))]
    pub report_ref: Option<String>,
    /// Error category of a failed run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = bounds::REQUEST_KEY))]
    pub error_category: Option<String>,
}

/// One change, without personal data.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChangeSample {
    /// `Create`, `Update`, `Deactivate` or `Delete`.
    #[schemars(length(max = bounds::WORD))]
    pub action: String,
    /// The user's externalId.
    #[schemars(length(max = bounds::ID))]
    pub external_id: String,
    /// Names of the changed attributes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = bounds::CHANGED_ATTRIBUTES), inner(length(max = bounds::ID)))]
    pub attributes: Vec<String>,
}

/// Trigger annotation values already handled.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HandledRequests {
    /// Last handled `hris-operator.io/sync-requested-at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = bounds::REQUEST_KEY))]
    pub sync_requested_at: Option<String>,
    /// Last handled `hris-operator.io/simulate-requested-at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = bounds::REQUEST_KEY))]
    pub simulate_requested_at: Option<String>,
    /// Last handled `hris-operator.io/approve-plan`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = bounds::REQUEST_KEY))]
    pub approved_plan: Option<String>,
    /// The spec generation whose simulated plan was approved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_generation: Option<i64>,
    /// How many requested runs have started: part of each run's id, so that a value used
    /// before (approving plan A, then B, then A again) starts a new run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<u64>,
}

/// A past run, kept in a short history.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunRecord {
    /// `Simulate` or `Apply`.
    #[schemars(length(max = bounds::WORD))]
    pub kind: String,
    /// The Job that ran it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = bounds::JOB_NAME))]
    pub job_name: Option<String>,
    /// When the run finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Time>,
    /// `Succeeded`, `Failed` or `Withheld`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<RunResult>,
    /// What the run did.
    #[serde(default)]
    pub counts: ChangeCounts,
}
