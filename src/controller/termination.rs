//! The sync Pod's termination message, read as untrusted input. Whatever wrote it — our sync
//! container, a broken image, or anyone who can write to the Pod — it reaches status,
//! conditions, Events and metric labels only after passing a strict check: a closed set of
//! categories, a bounded sample of plain identifiers, a plan hash of the form the planner
//! makes, and counts in range. Anything else is a failed run with category `InvalidSummary`.

use crate::{
    contract::termination::{NOTIFICATION_FAILURE_REASONS, TERMINATION_MESSAGE_LIMIT},
    crd::{NotificationChannel, NotificationEvent, bounds},
    sync::report::{NOTIFICATION_FAILURES_LISTED, NotificationReport, SAMPLE_SIZE, Summary},
};

/// Every category a run can end with (the metric label and the condition's wording), and the
/// ones the controller sets itself for a Job that left no valid summary.
pub const RUN_CATEGORIES: &[&str] = &[
    // Reading the source.
    "InvalidSourceData",
    "MissingSourceField",
    "SourceUnavailable",
    "CredentialsInvalid",
    // Writing the target.
    "UserConflict",
    "VersionMismatch",
    "NotFound",
    "LicenseLimitExceeded",
    "Rejected",
    "Throttled",
    "TargetUnavailable",
    "InvalidTargetData",
    // The sync Job itself.
    "InvalidSpec",
    "ConnectionUnreadable",
    "ReportNotStored",
    "ReportTooLarge",
    "LocalIoFailed",
    // Set by the controller.
    "NoSummary",
    "InvalidSummary",
    "JobFailed",
    "JobDeleted",
    "BackoffLimitExceeded",
    "DeadlineExceeded",
];

/// The category of a run whose termination message did not pass the check.
pub const INVALID_SUMMARY: &str = "InvalidSummary";

/// The most a count may say: far beyond any directory, far below any counter's wrap.
pub const MAX_COUNT: u64 = 100_000_000;

/// Longest identifier (externalId, attribute name) a sample may carry.
const MAX_IDENTIFIER: usize = crate::crd::bounds::ID;
/// Most attribute names per sampled change.
const MAX_ATTRIBUTES: usize = crate::crd::bounds::CHANGED_ATTRIBUTES;
/// Most tripped guards a summary may name.
const MAX_GUARDS: usize = 32;
/// Longest human text (a guard's limit) a summary may carry.
const MAX_TEXT: usize = 512;

/// A Job's category from the Kubernetes Job condition reason, mapped into the closed set.
pub fn job_failure_category(reason: &str) -> &'static str {
    RUN_CATEGORIES
        .iter()
        .find(|known| **known == reason)
        .copied()
        .unwrap_or("JobFailed")
}

/// Reads a termination message: the summary when it passes every check, otherwise what is
/// wrong (for the log; never the message itself, which may hold anything).
pub fn read_summary(message: &str) -> Result<Summary, &'static str> {
    if message.len() > TERMINATION_MESSAGE_LIMIT {
        return Err("longer than a termination message can be");
    }
    let summary: Summary = serde_json::from_str(message).map_err(|_| "not a run summary")?;
    check(&summary)?;
    Ok(summary)
}

fn check(summary: &Summary) -> Result<(), &'static str> {
    if let Some(category) = &summary.error_category
        && !RUN_CATEGORIES.contains(&category.as_str())
    {
        return Err("an unknown error category");
    }
    let hash = &summary.plan_hash;
    if !(hash.is_empty()
        || (hash.len() == 20
            && hash
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))))
    {
        return Err("a plan hash of the wrong form");
    }
    let c = &summary.counts;
    let counts = [
        c.created,
        c.updated,
        c.deactivated,
        c.deleted,
        c.unchanged,
        c.skipped,
        c.conflicts,
        c.errors,
        c.seat_limited,
        summary.license_failures,
        summary.seats.map_or(0, |s| s.active_before),
        summary.seats.map_or(0, |s| s.active_after),
        summary.source_employees as u64,
        summary.target_users as u64,
        summary.managed_users as u64,
    ];
    if counts.iter().any(|n| *n > MAX_COUNT) {
        return Err("a count out of range");
    }
    if summary.sample.len() > SAMPLE_SIZE {
        return Err("a change sample longer than a run writes");
    }
    for change in &summary.sample {
        if !matches!(
            change.action.as_str(),
            "Create" | "Update" | "Deactivate" | "Delete"
        ) || !identifier(&change.external_id)
            || change.attributes.len() > MAX_ATTRIBUTES
            || !change.attributes.iter().all(|a| identifier(a))
        {
            return Err("a change sample entry of the wrong form");
        }
    }
    if summary.connection.len() > 320 || summary.as_of.len() > 10 {
        return Err("a connection or date of the wrong form");
    }
    if summary.failures.len() > RUN_CATEGORIES.len()
        || summary
            .failures
            .iter()
            .any(|(category, n)| !RUN_CATEGORIES.contains(&category.as_str()) || *n > MAX_COUNT)
    {
        return Err("a failure count of the wrong form");
    }
    if let Some(notifications) = &summary.notifications {
        check_notifications(notifications)?;
    }
    if let Some(trip) = &summary.safeguard {
        let texts = trip
            .guards
            .iter()
            .flat_map(|g| [Some(g.limit.as_str()), g.attribute.as_deref()])
            .flatten()
            .chain([trip.limit.as_str()])
            .chain(trip.outdated_approval.as_deref());
        if trip.guards.len() > MAX_GUARDS
            || texts
                .into_iter()
                .any(|t| t.len() > MAX_TEXT * 4 || has_control(t))
            || trip.withheld as u64 > MAX_COUNT
            || trip.managed_users as u64 > MAX_COUNT
        {
            return Err("a safeguard of the wrong form");
        }
    }
    Ok(())
}

/// What the notifications came to: counts in range, and each listed failure a channel index,
/// kind, event and reason of their closed sets.
fn check_notifications(report: &NotificationReport) -> Result<(), &'static str> {
    let wrong = "a notification report of the wrong form";
    if report.sent > MAX_COUNT
        || report.failed > MAX_COUNT
        || report.failures.len() > NOTIFICATION_FAILURES_LISTED
        || report.failures.len() as u64 > report.failed
    {
        return Err(wrong);
    }
    for failure in &report.failures {
        if failure.channel >= bounds::NOTIFICATIONS
            || !NotificationChannel::KINDS.contains(&failure.kind.as_str())
            || NotificationEvent::from_name(&failure.event).is_none()
            || !NOTIFICATION_FAILURE_REASONS.contains(&failure.reason.as_str())
        {
            return Err(wrong);
        }
    }
    Ok(())
}

/// A printable identifier without spaces, of bounded length, that cannot be an email address.
fn identifier(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= MAX_IDENTIFIER
        && !text.contains('@')
        && text.chars().all(|c| !c.is_whitespace() && !c.is_control())
}

fn has_control(text: &str) -> bool {
    text.chars().any(char::is_control)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::report::{
        ChangeCounts, ChangeSample, NotificationFailure, RunMode, RunResult, SeatUse,
    };

    fn honest() -> Summary {
        Summary {
            connection: "people/acme".into(),
            mode: RunMode::Apply,
            as_of: "2026-11-22".into(),
            result: RunResult::Succeeded,
            counts: ChangeCounts {
                created: 2,
                ..ChangeCounts::default()
            },
            plan_hash: "9e61cd5df81596e3d99e".into(),
            safeguard: None,
            source_employees: 10,
            target_users: 8,
            managed_users: 8,
            sample: vec![ChangeSample {
                action: "Create".into(),
                external_id: "acme:E1".into(),
                attributes: vec!["title".into()],
            }],
            error_category: None,
            seats: None,
            license_failures: 0,
            failures: [("UserConflict".to_owned(), 1)].into(),
            notifications: Some(NotificationReport {
                sent: 2,
                failed: 1,
                failures: vec![NotificationFailure {
                    channel: 1,
                    kind: "webhook".into(),
                    event: "SyncFailed".into(),
                    reason: "Unreachable".into(),
                }],
            }),
        }
    }

    fn verdict(edit: impl FnOnce(&mut Summary)) -> Result<Summary, &'static str> {
        let mut summary = honest();
        edit(&mut summary);
        read_summary(&serde_json::to_string(&summary).unwrap())
    }

    #[test]
    fn an_honest_summary_passes() {
        assert_eq!(verdict(|_| {}), Ok(honest()));
        assert!(verdict(|s| s.error_category = Some("Rejected".into())).is_ok());
    }

    #[test]
    fn the_seat_limit_and_license_failures_pass_through() {
        let seats = Some(SeatUse {
            limit: 10,
            active_before: 8,
            active_after: 10,
        });
        let read = verdict(|s| {
            s.counts.seat_limited = 3;
            s.counts.skipped = 3;
            s.license_failures = 2;
            s.seats = seats;
        })
        .unwrap();
        assert_eq!(
            (read.counts.seat_limited, read.license_failures, read.seats),
            (3, 2, seats)
        );
        // A summary from a sync Job of an earlier version, without the new fields, still reads.
        let mut old = serde_json::to_value(honest()).unwrap();
        old["counts"].as_object_mut().unwrap().remove("seatLimited");
        let read = read_summary(&old.to_string()).unwrap();
        assert_eq!((read.counts.seat_limited, read.seats), (0, None));
    }

    #[test]
    fn forged_or_oversized_summaries_are_refused() {
        let refused = [
            verdict(|s| s.error_category = Some("anna@acme.example".into())),
            verdict(|s| s.error_category = Some("SomethingNew".into())),
            verdict(|s| s.plan_hash = "x".repeat(10_000)),
            verdict(|s| s.plan_hash = "9E61CD5DF81596E3D99E".into()),
            verdict(|s| s.counts.created = u64::MAX),
            verdict(|s| s.counts.seat_limited = MAX_COUNT + 1),
            verdict(|s| s.license_failures = u64::MAX),
            verdict(|s| {
                s.seats = Some(SeatUse {
                    limit: 10,
                    active_before: 8,
                    active_after: u64::MAX,
                })
            }),
            verdict(|s| s.managed_users = usize::MAX),
            verdict(|s| {
                s.sample = (0..500)
                    .map(|i| ChangeSample {
                        action: "Create".into(),
                        external_id: format!("acme:E{i}"),
                        attributes: vec![],
                    })
                    .collect()
            }),
            verdict(|s| s.sample[0].external_id = "anna.berg@acme.example".into()),
            verdict(|s| s.sample[0].action = "Rename".into()),
            verdict(|s| s.sample[0].attributes = vec!["a b".into()]),
            verdict(|s| {
                s.failures.insert("anna@acme.example".into(), 1);
            }),
            verdict(|s| {
                s.failures.insert("Rejected".into(), u64::MAX);
            }),
            verdict(|s| {
                s.notifications.as_mut().unwrap().failures[0].kind =
                    "https://hooks.example/secret".into()
            }),
            verdict(|s| s.notifications.as_mut().unwrap().failures[0].event = "Anything".into()),
            verdict(|s| s.notifications.as_mut().unwrap().failures[0].reason = "x y".into()),
            verdict(|s| s.notifications.as_mut().unwrap().failures[0].channel = 10_000),
            verdict(|s| s.notifications.as_mut().unwrap().failed = 0),
            verdict(|s| {
                let report = s.notifications.as_mut().unwrap();
                report.failed = 100;
                report.failures = vec![report.failures[0].clone(); 100];
            }),
        ];
        for (i, result) in refused.iter().enumerate() {
            assert!(result.is_err(), "case {i} passed: {result:?}");
        }
        assert!(read_summary("not json").is_err());
        assert!(read_summary(&"{".repeat(5000)).is_err());
    }

    #[test]
    fn job_failure_reasons_map_into_the_closed_set() {
        assert_eq!(job_failure_category("DeadlineExceeded"), "DeadlineExceeded");
        assert_eq!(job_failure_category("anything@else"), "JobFailed");
    }
}
