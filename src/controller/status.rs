//! Status from a finished run: pure. A sync Job's termination message carries the run's
//! summary (no personal data); this turns it, or the Job's failure, into `lastSync` /
//! `lastSimulation`, conditions (with `observedGeneration`, changed only on transitions), a
//! change sample, a short history, and the Events to emit, only on transitions.

use k8s_openapi::{
    apimachinery::pkg::apis::meta::v1::{Condition, Time},
    jiff::Timestamp,
};

use crate::{
    crd::{
        ChangeCounts, ChangeSample, HrisConnectionStatus, Phase, RunRecord, RunResult, RunStatus,
    },
    sync::report::{self, RunMode, Summary},
};

/// Runs kept in `status.history`.
pub const HISTORY: usize = crate::crd::bounds::HISTORY;

/// What the controller learned about a finished Job.
#[derive(Clone, Debug, PartialEq)]
pub struct Finished {
    /// Simulate or apply.
    pub kind: RunMode,
    /// The Job.
    pub job_name: String,
    /// When it started and finished.
    pub started_at: Option<Timestamp>,
    /// When it finished.
    pub finished_at: Timestamp,
    /// The summary from the termination message; `None` when the Job failed without one.
    pub summary: Option<Summary>,
    /// The failure category when the Job failed without a summary (for example
    /// `DeadlineExceeded`, `BackoffLimitExceeded`).
    pub failure: Option<String>,
    /// The Secret holding the reports.
    pub report: Option<String>,
}

/// An Event to emit: reason (PascalCase, no personal data), type and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventNote {
    /// `Normal` or `Warning`.
    pub warning: bool,
    /// The reason: one of the Event reasons the README lists.
    pub reason: &'static str,
    /// A short note: counts and hashes only.
    pub message: String,
}

fn condition_status(ok: bool) -> &'static str {
    if ok { "True" } else { "False" }
}

/// Sets a condition; the transition time changes only when the status does.
pub fn set_condition(
    conditions: &mut Vec<Condition>,
    type_: &str,
    ok: bool,
    reason: &str,
    message: String,
    generation: i64,
    now: Timestamp,
) -> bool {
    let status = condition_status(ok);
    let message = within_schema(message);
    match conditions.iter_mut().find(|c| c.type_ == type_) {
        Some(existing) => {
            let changed = existing.status != status;
            if changed {
                existing.last_transition_time = Time(now);
            }
            existing.status = status.into();
            existing.reason = reason.into();
            existing.message = message;
            existing.observed_generation = Some(generation);
            changed
        }
        None => {
            conditions.push(Condition {
                type_: type_.into(),
                status: status.into(),
                reason: reason.into(),
                message,
                observed_generation: Some(generation),
                last_transition_time: Time(now),
            });
            true
        }
    }
}

/// The message cut to the length the CRD allows: a longer one would make the API server refuse
/// the whole status.
fn within_schema(mut message: String) -> String {
    if let Some((end, _)) = message
        .char_indices()
        .nth(crate::crd::bounds::CONDITION_MESSAGE)
    {
        message.truncate(end);
    }
    message
}

fn condition_is(conditions: &[Condition], type_: &str, status: &str) -> bool {
    conditions
        .iter()
        .any(|c| c.type_ == type_ && c.status == status)
}

/// Records a finished run in the status and returns the Events its transitions call for.
pub fn record_run(
    status: &mut HrisConnectionStatus,
    finished: &Finished,
    generation: i64,
) -> Vec<EventNote> {
    let recording = Recording::of(finished, generation);
    let was_ok = condition_is(&status.conditions, recording.run_condition(), "True");
    recording.record_latest(status);
    let mut events = Vec::new();
    events.extend(recording.note_result(status, was_ok));
    events.extend(recording.note_safeguard(status));
    events.extend(recording.note_credentials(status));
    events.extend(recording.note_license(status));
    events.extend(recording.note_conflicts(status));
    events.extend(recording.note_notifications());
    let credentials_bad = recording.credentials_bad();
    let Recording {
        ok,
        category,
        result,
        ..
    } = recording;
    set_condition(
        &mut status.conditions,
        "Ready",
        ok && !credentials_bad,
        if ok { "RunSucceeded" } else { "RunFailed" },
        if ok {
            "the last run finished".into()
        } else {
            format!("the last run failed: {}", category.unwrap_or_default())
        },
        generation,
        finished.finished_at,
    );
    status.observed_generation = Some(generation);
    status.set_phase(match result {
        RunResult::Succeeded => Phase::Idle,
        RunResult::Withheld => Phase::Withheld,
        RunResult::Failed => Phase::Failed,
    });
    events
}

/// A finished run being recorded: what it came to, read once from its summary or failure.
struct Recording<'a> {
    finished: &'a Finished,
    generation: i64,
    result: RunResult,
    /// Its error category (for a run without a summary, the Job's failure).
    category: Option<String>,
    counts: ChangeCounts,
    /// Not failed (succeeded, or withheld).
    ok: bool,
}

impl<'a> Recording<'a> {
    fn of(finished: &'a Finished, generation: i64) -> Self {
        let (result, category) = match &finished.summary {
            Some(summary) => (summary.result.into(), summary.error_category.clone()),
            None => (
                RunResult::Failed,
                Some(
                    finished
                        .failure
                        .clone()
                        .unwrap_or_else(|| "JobFailed".into()),
                ),
            ),
        };
        let counts: ChangeCounts = finished
            .summary
            .as_ref()
            .map(|s| s.counts.clone().into())
            .unwrap_or_default();
        Recording {
            finished,
            generation,
            result,
            category,
            counts,
            ok: result != RunResult::Failed,
        }
    }

    /// The condition a run of this kind sets: `Simulated` or `Synced`.
    fn run_condition(&self) -> &'static str {
        match self.finished.kind {
            RunMode::Simulate => "Simulated",
            RunMode::Apply => "Synced",
        }
    }

    fn set(
        &self,
        status: &mut HrisConnectionStatus,
        type_: &str,
        ok: bool,
        reason: &str,
        message: String,
    ) {
        set_condition(
            &mut status.conditions,
            type_,
            ok,
            reason,
            message,
            self.generation,
            self.finished.finished_at,
        );
    }

    /// The run as `lastSimulation` or `lastSync`, in the printer columns' fields, the change
    /// sample and the history.
    fn record_latest(&self, status: &mut HrisConnectionStatus) {
        let finished = self.finished;
        let now = finished.finished_at;
        let run = RunStatus {
            started_at: finished.started_at.map(Time),
            finished_at: Some(Time(now)),
            job_name: Some(finished.job_name.clone()),
            generation: Some(self.generation),
            result: Some(self.result),
            counts: self.counts.clone(),
            plan_hash: finished.summary.as_ref().map(|s| s.plan_hash.clone()),
            report_ref: finished.report.clone(),
            error_category: (self.result == RunResult::Failed)
                .then(|| self.category.clone())
                .flatten(),
        };
        match finished.kind {
            RunMode::Simulate => status.last_simulation = Some(run),
            RunMode::Apply => status.last_sync = Some(run),
        }
        // The printer columns read these, whatever the kind: a Simulate connection never fills
        // `lastSync`, and a column on either would show an old or empty run.
        let kind_name = finished.kind.status_name();
        status.last_run_time = Some(Time(now));
        status.last_run_kind = Some(kind_name.into());
        status.last_run_result = Some(self.result);
        if let Some(summary) = &finished.summary {
            status.change_sample = summary.sample.iter().cloned().map(Into::into).collect();
        }
        status.history.insert(
            0,
            RunRecord {
                kind: kind_name.into(),
                job_name: Some(finished.job_name.clone()),
                finished_at: Some(Time(now)),
                result: Some(self.result),
                counts: self.counts.clone(),
            },
        );
        status.history.truncate(HISTORY);
    }

    /// `Simulated` or `Synced` from the result; a success is announced each time, a failure
    /// once (unless the connection was not failing already).
    fn note_result(&self, status: &mut HrisConnectionStatus, was_ok: bool) -> Option<EventNote> {
        let counts = &self.counts;
        let changes = format!(
            "{} created, {} updated, {} deactivated, {} deleted, {} conflicts, {} errors",
            counts.created,
            counts.updated,
            counts.deactivated,
            counts.deleted,
            counts.conflicts,
            counts.errors
        );
        let reason = match (self.finished.kind, self.result) {
            (RunMode::Simulate, RunResult::Failed) | (RunMode::Apply, RunResult::Failed) => {
                "SyncFailed"
            }
            (RunMode::Simulate, _) => "SimulationReady",
            (RunMode::Apply, _) => "SyncSucceeded",
        };
        self.set(
            status,
            self.run_condition(),
            self.ok,
            if self.ok { reason } else { "SyncFailed" },
            match &self.category {
                Some(category) if !self.ok => format!("{category}: {changes}"),
                _ => changes.clone(),
            },
        );
        if self.ok {
            return Some(EventNote {
                warning: false,
                reason,
                message: changes,
            });
        }
        (was_ok || !condition_is(&status.conditions, "Ready", "False")).then(|| EventNote {
            warning: true,
            reason: "SyncFailed",
            message: format!(
                "{} failed: {}",
                self.finished.job_name,
                self.category.clone().unwrap_or_default()
            ),
        })
    }

    /// `SafeguardTriggered`, announced when it turns on.
    fn note_safeguard(&self, status: &mut HrisConnectionStatus) -> Option<EventNote> {
        let withheld = self.result == RunResult::Withheld;
        let was_withheld = condition_is(&status.conditions, "SafeguardTriggered", "True");
        let (reason, message) = match &self.finished.summary {
            Some(summary) if withheld => withheld_reason(summary),
            _ => ("WithinLimits", "no changes withheld".into()),
        };
        self.set(
            status,
            "SafeguardTriggered",
            withheld,
            reason,
            message.clone(),
        );
        (withheld && !was_withheld).then_some(EventNote {
            warning: true,
            reason: "SafeguardTriggered",
            message,
        })
    }

    fn credentials_bad(&self) -> bool {
        self.category.as_deref() == Some("CredentialsInvalid")
    }

    /// `CredentialsValid`, announced when it turns false.
    fn note_credentials(&self, status: &mut HrisConnectionStatus) -> Option<EventNote> {
        let bad = self.credentials_bad();
        let were_bad = condition_is(&status.conditions, "CredentialsValid", "False");
        self.set(
            status,
            "CredentialsValid",
            !bad,
            if bad {
                "CredentialsInvalid"
            } else {
                "Accepted"
            },
            if bad {
                "the source or target rejected the credentials".into()
            } else {
                "the last run authenticated".into()
            },
        );
        (bad && !were_bad).then(|| EventNote {
            warning: true,
            reason: "CredentialsInvalid",
            message: "the source or target rejected the credentials".into(),
        })
    }

    /// `LicenseLimitExceeded`: `spec.safeguards.seatLimit` held creates or reactivations
    /// back, or writes failed for lack of licenses or seats. Every run that planned sets it;
    /// it is announced when it turns on, when the number held back changes, and on every run
    /// with such failed writes.
    fn note_license(&self, status: &mut HrisConnectionStatus) -> Option<EventNote> {
        let summary = self.finished.summary.as_ref()?;
        // A summary from before failures were counted names them only by category.
        let failed = summary.license_failures.max(u64::from(
            self.category.as_deref() == Some("LicenseLimitExceeded"),
        ));
        if summary.plan_hash.is_empty() && failed == 0 {
            // The run ended before planning: it says nothing about seats.
            return None;
        }
        let held = summary.counts.seat_limited;
        let exceeded = held > 0 || failed > 0;
        let was_exceeded = condition_is(&status.conditions, "LicenseLimitExceeded", "True");
        let previous_held = status
            .history
            .get(1)
            .map_or(0, |previous| previous.counts.seat_limited);
        let (reason, message) = license_condition(summary, held, failed);
        self.set(
            status,
            "LicenseLimitExceeded",
            exceeded,
            reason,
            message.clone(),
        );
        (exceeded && (!was_exceeded || held != previous_held || failed > 0)).then_some(EventNote {
            warning: true,
            reason: "LicenseLimitExceeded",
            message,
        })
    }

    /// Employees that could not be matched safely (announced when their number changes).
    fn note_conflicts(&self, status: &HrisConnectionStatus) -> Option<EventNote> {
        let conflicts = self.counts.conflicts;
        let previous_conflicts = status
            .history
            .get(1)
            .map_or(0, |previous| previous.counts.conflicts);
        (conflicts > 0 && conflicts != previous_conflicts).then(|| EventNote {
            warning: true,
            reason: "UserConflicts",
            message: format!(
                "{conflicts} employees could not be matched safely (see conflicts.csv)"
            ),
        })
    }
}

/// The reason and message of the `LicenseLimitExceeded` condition: `held` creates or
/// reactivations held back by the seat limit, `failed` writes failed for lack of licenses.
fn license_condition(summary: &Summary, held: u64, failed: u64) -> (&'static str, String) {
    let seats = summary.seats.as_ref();
    let mut clauses = Vec::new();
    if held > 0 {
        clauses.push(match seats {
            Some(seats) => format!(
                "{held} creates or reactivations held back: seatLimit {} is reached ({} active \
                 users in the target before the run, {} after; see skipped.csv, reason \
                 SeatLimit)",
                seats.limit, seats.active_before, seats.active_after
            ),
            None => format!("{held} creates or reactivations held back: seatLimit is reached"),
        });
    }
    if failed > 0 {
        clauses.push(format!(
            "{failed} writes failed for lack of licenses or seats (see errors.csv): the target \
             holds fewer licenses than it needs, or than seatLimit says"
        ));
    }
    match (held, failed) {
        (0, 0) => (
            "WithinLimit",
            match seats {
                Some(seats) => format!(
                    "nobody held back: {} active users of seatLimit {} after the last run",
                    seats.active_after, seats.limit
                ),
                None => "no write failed for lack of licenses or seats".into(),
            },
        ),
        (_, 0) => ("SeatLimitReached", clauses.join("; ")),
        _ => ("WritesFailed", clauses.join("; ")),
    }
}

impl Recording<'_> {
    /// `NotificationFailed`, every run whose sync Job could not deliver a notification (after
    /// its retries). The run's result stays what it was.
    fn note_notifications(&self) -> Option<EventNote> {
        let report = self.finished.summary.as_ref()?.notifications.as_ref()?;
        if report.failed == 0 {
            return None;
        }
        let listed: Vec<String> = report.failures.iter().map(ToString::to_string).collect();
        let more = report.failed.saturating_sub(listed.len() as u64);
        Some(EventNote {
            warning: true,
            reason: "NotificationFailed",
            message: format!(
                "{} of {} notifications were not delivered after retries: {}{}; the run's \
                 result is unchanged (the sync Job's log says why)",
                report.failed,
                report.failed + report.sent,
                listed.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            ),
        })
    }
}

/// Why a withheld run's changes were withheld, and what to do. An empty source is never
/// approvable (the planner withholds its removals whatever the approval), so its message must
/// not point at the approve-plan annotation.
fn withheld_reason(summary: &Summary) -> (&'static str, String) {
    match &summary.safeguard {
        Some(trip) if trip.empty_source => (
            "EmptySource",
            format!(
                "the source returned no employees while {} users are managed; {} removals \
                 withheld, nobody is removed on an empty source (check the source)",
                trip.managed_users, trip.withheld
            ),
        ),
        Some(trip) if trip.outdated_approval.is_some() => (
            "ApprovalOutdated",
            format!(
                "the plan changed since it was approved; nothing was applied: approve plan \
                 {} with the hris-operator.io/approve-plan annotation",
                summary.plan_hash
            ),
        ),
        Some(trip) => (
            "ChangesWithheld",
            format!(
                "{} changes withheld ({}); approve plan {} with the \
                 hris-operator.io/approve-plan annotation",
                trip.withheld, trip.limit, summary.plan_hash
            ),
        ),
        None => (
            "ChangesWithheld",
            format!(
                "changes withheld; approve plan {} with the hris-operator.io/approve-plan \
                 annotation",
                summary.plan_hash
            ),
        ),
    }
}

// The status holds a run's whole change sample.
const _: () = assert!(report::SAMPLE_SIZE <= crate::crd::bounds::CHANGE_SAMPLE);

// The core's summary types become the status's here, where the controller records a run. The
// resource's types know nothing of the core: the core reads the CRD (in its policy), so a crd
// that imported the core would close an import cycle (tests/it/architecture_modules.rs).

impl From<report::RunResult> for RunResult {
    fn from(result: report::RunResult) -> Self {
        match result {
            report::RunResult::Succeeded => RunResult::Succeeded,
            report::RunResult::Failed => RunResult::Failed,
            report::RunResult::Withheld => RunResult::Withheld,
        }
    }
}

impl From<report::ChangeCounts> for ChangeCounts {
    fn from(counts: report::ChangeCounts) -> Self {
        let report::ChangeCounts {
            created,
            updated,
            deactivated,
            deleted,
            unchanged,
            skipped,
            conflicts,
            errors,
            seat_limited,
        } = counts;
        ChangeCounts {
            created,
            updated,
            deactivated,
            deleted,
            unchanged,
            skipped,
            conflicts,
            errors,
            seat_limited,
        }
    }
}

impl From<report::ChangeSample> for ChangeSample {
    fn from(sample: report::ChangeSample) -> Self {
        let report::ChangeSample {
            action,
            external_id,
            attributes,
        } = sample;
        ChangeSample {
            action,
            external_id,
            attributes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::report::{self, ChangeSample};

    fn summary(result: report::RunResult, conflicts: u64) -> Summary {
        Summary {
            connection: "people/acme".into(),
            mode: RunMode::Apply,
            as_of: "2026-11-22".into(),
            result,
            counts: report::ChangeCounts {
                created: 2,
                updated: 1,
                conflicts,
                ..report::ChangeCounts::default()
            },
            plan_hash: "9e61cd5df81596e3d99e".into(),
            safeguard: None,
            source_employees: 10,
            target_users: 8,
            managed_users: 8,
            sample: vec![ChangeSample {
                action: "Create".into(),
                external_id: "acme:E1".into(),
                attributes: vec![],
            }],
            error_category: None,
            seats: None,
            license_failures: 0,
            failures: Default::default(),
            notifications: None,
        }
    }

    fn finished(kind: RunMode, summary: Option<Summary>, at: &str) -> Finished {
        Finished {
            kind,
            job_name: "acme-apply-3-abcd".into(),
            started_at: None,
            finished_at: at.parse().unwrap(),
            summary,
            failure: Some("BackoffLimitExceeded".into()),
            report: Some("acme-report-abcd".into()),
        }
    }

    fn reasons(events: &[EventNote]) -> Vec<&'static str> {
        events.iter().map(|e| e.reason).collect()
    }

    #[test]
    fn a_condition_message_never_exceeds_what_the_crd_allows() {
        let mut conditions = Vec::new();
        let long = "é".repeat(crate::crd::bounds::CONDITION_MESSAGE + 10);
        set_condition(
            &mut conditions,
            "Ready",
            false,
            "InvalidSpec",
            long,
            1,
            "2026-11-22T10:00:00Z".parse().unwrap(),
        );
        assert_eq!(
            conditions[0].message.chars().count(),
            crate::crd::bounds::CONDITION_MESSAGE
        );
    }

    #[test]
    fn undelivered_notifications_make_one_warning_event_and_leave_the_result() {
        let mut delivered = summary(report::RunResult::Succeeded, 0);
        delivered.notifications = Some(report::NotificationReport {
            sent: 2,
            failed: 0,
            failures: vec![],
        });
        let mut status = HrisConnectionStatus::default();
        let run = finished(
            RunMode::Apply,
            Some(delivered.clone()),
            "2026-11-22T02:05:00Z",
        );
        assert_eq!(
            reasons(&record_run(&mut status, &run, 3)),
            ["SyncSucceeded"]
        );

        let mut undelivered = delivered;
        undelivered.notifications = Some(report::NotificationReport {
            sent: 1,
            failed: 2,
            failures: vec![report::NotificationFailure {
                channel: 1,
                kind: "webhook".into(),
                event: "SyncSucceeded".into(),
                reason: "Unreachable".into(),
            }],
        });
        let run = finished(RunMode::Apply, Some(undelivered), "2026-11-23T02:05:00Z");
        let events = record_run(&mut status, &run, 3);
        assert_eq!(reasons(&events), ["SyncSucceeded", "NotificationFailed"]);
        let note = events
            .iter()
            .find(|e| e.reason == "NotificationFailed")
            .unwrap();
        assert!(note.warning);
        assert_eq!(
            note.message,
            "2 of 3 notifications were not delivered after retries: spec.notifications[1] \
             (webhook) SyncSucceeded: Unreachable and 1 more; the run's result is unchanged \
             (the sync Job's log says why)"
        );
        assert_eq!(
            status.last_sync.as_ref().unwrap().result,
            Some(RunResult::Succeeded)
        );
        assert_eq!(status.phase.as_deref(), Some("Idle"));
    }

    #[test]
    fn a_successful_sync_sets_last_sync_conditions_and_one_event() {
        let mut status = HrisConnectionStatus::default();
        let events = record_run(
            &mut status,
            &finished(
                RunMode::Apply,
                Some(summary(report::RunResult::Succeeded, 0)),
                "2026-11-22T02:05:00Z",
            ),
            3,
        );
        assert_eq!(reasons(&events), ["SyncSucceeded"]);
        let last = status.last_sync.as_ref().unwrap();
        assert_eq!(last.result, Some(RunResult::Succeeded));
        assert_eq!(last.counts.created, 2);
        assert_eq!(last.plan_hash.as_deref(), Some("9e61cd5df81596e3d99e"));
        assert_eq!(status.observed_generation, Some(3));
        let ready = status
            .conditions
            .iter()
            .find(|c| c.type_ == "Ready")
            .unwrap();
        assert_eq!(
            (ready.status.as_str(), ready.observed_generation),
            ("True", Some(3))
        );
        assert_eq!(status.change_sample[0].external_id, "acme:E1");
        assert_eq!(status.phase.as_deref(), Some("Idle"));
        assert_eq!(
            (
                status.last_run_kind.as_deref(),
                status.last_run_result,
                status.last_run_time.as_ref().map(|t| t.0.to_string())
            ),
            (
                Some("Apply"),
                Some(RunResult::Succeeded),
                Some("2026-11-22T02:05:00Z".to_owned())
            )
        );
    }

    #[test]
    fn transition_times_and_events_change_only_on_transitions() {
        let mut status = HrisConnectionStatus::default();
        let withheld = |at| {
            finished(
                RunMode::Apply,
                Some(summary(report::RunResult::Withheld, 0)),
                at,
            )
        };
        let first = record_run(&mut status, &withheld("2026-11-22T02:05:00Z"), 3);
        assert!(reasons(&first).contains(&"SafeguardTriggered"));
        let since = status
            .conditions
            .iter()
            .find(|c| c.type_ == "SafeguardTriggered")
            .unwrap()
            .last_transition_time
            .clone();
        let second = record_run(&mut status, &withheld("2026-11-23T02:05:00Z"), 3);
        assert!(
            !reasons(&second).contains(&"SafeguardTriggered"),
            "no repeat while still withheld"
        );
        let condition = status
            .conditions
            .iter()
            .find(|c| c.type_ == "SafeguardTriggered")
            .unwrap();
        assert_eq!(condition.last_transition_time, since);
        assert!(
            condition
                .message
                .contains("approve plan 9e61cd5df81596e3d99e")
        );
        assert_eq!(status.phase.as_deref(), Some("Withheld"));
    }

    #[test]
    fn an_empty_source_is_named_and_no_approval_is_suggested() {
        let mut status = HrisConnectionStatus::default();
        let mut empty = summary(report::RunResult::Withheld, 0);
        empty.safeguard = Some(crate::sync::plan::SafeguardTrip {
            empty_source: true,
            outdated_approval: None,
            guards: Vec::new(),
            withheld: 8,
            managed_users: 8,
            limit: "the source returned no employees".into(),
        });
        let events = record_run(
            &mut status,
            &finished(RunMode::Apply, Some(empty), "2026-11-22T02:05:00Z"),
            3,
        );
        assert!(reasons(&events).contains(&"SafeguardTriggered"));
        let condition = status
            .conditions
            .iter()
            .find(|c| c.type_ == "SafeguardTriggered")
            .unwrap();
        assert_eq!(
            (condition.status.as_str(), condition.reason.as_str()),
            ("True", "EmptySource")
        );
        assert!(
            condition
                .message
                .starts_with("the source returned no employees while 8 users are managed"),
            "{}",
            condition.message
        );
        assert!(!condition.message.contains("approve"));
    }

    #[test]
    fn a_failed_job_without_summary_is_sync_failed_with_its_category() {
        let mut status = HrisConnectionStatus::default();
        let events = record_run(
            &mut status,
            &finished(RunMode::Apply, None, "2026-11-22T02:05:00Z"),
            3,
        );
        assert_eq!(reasons(&events), ["SyncFailed"]);
        let last = status.last_sync.as_ref().unwrap();
        assert_eq!(last.result, Some(RunResult::Failed));
        assert_eq!(last.error_category.as_deref(), Some("BackoffLimitExceeded"));
        let ready = status
            .conditions
            .iter()
            .find(|c| c.type_ == "Ready")
            .unwrap();
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str()),
            ("False", "RunFailed")
        );
    }

    #[test]
    fn rejected_credentials_flip_the_condition_and_warn_once() {
        let mut status = HrisConnectionStatus::default();
        let mut bad = summary(report::RunResult::Failed, 0);
        bad.error_category = Some("CredentialsInvalid".into());
        let run = finished(RunMode::Simulate, Some(bad), "2026-11-22T02:05:00Z");
        let events = record_run(&mut status, &run, 3);
        assert!(reasons(&events).contains(&"CredentialsInvalid"));
        let again = record_run(&mut status, &run, 3);
        assert!(!reasons(&again).contains(&"CredentialsInvalid"));
        let condition = status
            .conditions
            .iter()
            .find(|c| c.type_ == "CredentialsValid")
            .unwrap();
        assert_eq!(condition.status, "False");
    }

    #[test]
    fn conflicts_are_announced_when_their_number_changes_and_history_is_bounded() {
        let mut status = HrisConnectionStatus::default();
        let with = |conflicts| {
            finished(
                RunMode::Simulate,
                Some(summary(report::RunResult::Succeeded, conflicts)),
                "2026-11-22T02:05:00Z",
            )
        };
        assert!(reasons(&record_run(&mut status, &with(2), 3)).contains(&"UserConflicts"));
        assert!(!reasons(&record_run(&mut status, &with(2), 3)).contains(&"UserConflicts"));
        assert!(reasons(&record_run(&mut status, &with(3), 3)).contains(&"UserConflicts"));
        for _ in 0..20 {
            record_run(&mut status, &with(3), 3);
        }
        assert_eq!(status.history.len(), HISTORY);
        assert!(status.last_simulation.is_some() && status.last_sync.is_none());
    }

    fn seat_limited(held: u64, failures: u64) -> Finished {
        let mut run = summary(report::RunResult::Succeeded, 0);
        run.counts.seat_limited = held;
        run.counts.skipped = held;
        run.license_failures = failures;
        run.seats = Some(report::SeatUse {
            limit: 10,
            active_before: 8,
            active_after: 10,
        });
        finished(RunMode::Apply, Some(run), "2026-11-22T02:05:00Z")
    }

    fn condition<'a>(status: &'a HrisConnectionStatus, type_: &str) -> &'a Condition {
        status
            .conditions
            .iter()
            .find(|c| c.type_ == type_)
            .unwrap_or_else(|| panic!("no {type_} condition"))
    }

    #[test]
    fn held_back_users_set_license_limit_exceeded_and_warn_when_their_number_changes() {
        let mut status = HrisConnectionStatus::default();
        let events = record_run(&mut status, &seat_limited(3, 0), 3);
        let warning = events
            .iter()
            .find(|e| e.reason == "LicenseLimitExceeded")
            .expect("an Event");
        assert!(warning.warning);
        let license = condition(&status, "LicenseLimitExceeded");
        assert_eq!(
            (license.status.as_str(), license.reason.as_str()),
            ("True", "SeatLimitReached")
        );
        assert_eq!(license.message, warning.message);
        assert!(
            license.message.starts_with(
                "3 creates or reactivations held back: seatLimit 10 is reached (8 active users \
                 in the target before the run, 10 after"
            ),
            "{}",
            license.message
        );
        // The same number again: no second Event; another number: one.
        let again = record_run(&mut status, &seat_limited(3, 0), 3);
        assert!(!reasons(&again).contains(&"LicenseLimitExceeded"));
        let fewer = record_run(&mut status, &seat_limited(2, 0), 3);
        assert!(reasons(&fewer).contains(&"LicenseLimitExceeded"));
        // Nobody held back: the condition turns False, quietly.
        let within = record_run(&mut status, &seat_limited(0, 0), 3);
        assert!(!reasons(&within).contains(&"LicenseLimitExceeded"));
        let license = condition(&status, "LicenseLimitExceeded");
        assert_eq!(
            (license.status.as_str(), license.reason.as_str()),
            ("False", "WithinLimit")
        );
        assert_eq!(status.last_sync.as_ref().unwrap().counts.seat_limited, 0);
        assert_eq!(status.history[1].counts.seat_limited, 2);
    }

    #[test]
    fn writes_the_target_refuses_for_licenses_set_the_condition_and_warn_every_run() {
        let mut status = HrisConnectionStatus::default();
        for _ in 0..2 {
            let events = record_run(&mut status, &seat_limited(0, 2), 3);
            assert!(reasons(&events).contains(&"LicenseLimitExceeded"));
            let license = condition(&status, "LicenseLimitExceeded");
            assert_eq!(
                (license.status.as_str(), license.reason.as_str()),
                ("True", "WritesFailed")
            );
            assert!(
                license
                    .message
                    .starts_with("2 writes failed for lack of licenses or seats"),
                "{}",
                license.message
            );
        }
        // A summary that names the failure only by its category counts as one.
        let mut older = summary(report::RunResult::Failed, 0);
        older.error_category = Some("LicenseLimitExceeded".into());
        let mut status = HrisConnectionStatus::default();
        let events = record_run(
            &mut status,
            &finished(RunMode::Apply, Some(older), "2026-11-22T02:05:00Z"),
            3,
        );
        assert!(reasons(&events).contains(&"LicenseLimitExceeded"));
        assert_eq!(
            condition(&status, "LicenseLimitExceeded").reason,
            "WritesFailed"
        );
    }

    #[test]
    fn a_run_that_never_planned_leaves_the_license_condition_as_it_was() {
        let mut status = HrisConnectionStatus::default();
        record_run(&mut status, &seat_limited(3, 0), 3);
        let failed = Summary::failed(
            "people/acme",
            RunMode::Apply,
            "2026-11-23".into(),
            "SourceUnavailable",
        );
        record_run(
            &mut status,
            &finished(RunMode::Apply, Some(failed), "2026-11-23T02:05:00Z"),
            3,
        );
        record_run(
            &mut status,
            &finished(RunMode::Apply, None, "2026-11-24T02:05:00Z"),
            3,
        );
        let license = condition(&status, "LicenseLimitExceeded");
        assert_eq!(
            (license.status.as_str(), license.reason.as_str()),
            ("True", "SeatLimitReached")
        );
    }
}
