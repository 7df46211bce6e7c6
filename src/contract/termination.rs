//! The termination message of a sync Job: the run's summary (no personal data) as JSON, which
//! the controller reads back from the Pod's status. The controller treats it as untrusted input
//! and checks it before use.

use crate::sync::report::Summary;

/// Longest termination message Kubernetes keeps.
pub const TERMINATION_MESSAGE_LIMIT: usize = 4096;

/// Why a notification could not be delivered, as the summary names it: a Secret it reads could
/// not be read, the URL in it is not one messages may go to, an address or the SMTP host cannot
/// be used, the receiver could not be reached, or it answered with an error.
pub const NOTIFICATION_FAILURE_REASONS: &[&str] = &[
    "SecretUnreadable",
    "InvalidUrl",
    "InvalidAddress",
    "Unreachable",
    "Refused",
];

/// The termination message of a sync Job: the summary as JSON, its change sample cut until it
/// fits Kubernetes' limit.
pub fn termination_message(summary: &Summary) -> String {
    let mut summary = summary.clone();
    loop {
        let text = serde_json::to_string(&summary).expect("summaries serialize");
        if text.len() <= TERMINATION_MESSAGE_LIMIT || summary.sample.is_empty() {
            return text;
        }
        summary.sample.truncate(summary.sample.len() / 2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::report::{ChangeCounts, ChangeSample, RunMode, RunResult};

    #[test]
    fn the_termination_message_fits_and_reads_back() {
        let big = Summary {
            connection: "people/acme".into(),
            mode: RunMode::Apply,
            as_of: "2026-11-22".into(),
            result: RunResult::Succeeded,
            counts: ChangeCounts {
                created: 2,
                updated: 1,
                ..ChangeCounts::default()
            },
            plan_hash: "9e61cd5df81596e3d99e".into(),
            safeguard: None,
            source_employees: 10,
            target_users: 8,
            managed_users: 8,
            sample: (0..500)
                .map(|n| ChangeSample {
                    action: "Update".into(),
                    external_id: format!("acme:E{n:06}"),
                    attributes: vec!["department".into(), "title".into()],
                })
                .collect(),
            error_category: None,
            seats: None,
            license_failures: 0,
            failures: Default::default(),
            notifications: None,
        };
        let message = termination_message(&big);
        assert!(message.len() <= TERMINATION_MESSAGE_LIMIT);
        let back: Summary = serde_json::from_str(&message).unwrap();
        assert_eq!(back.counts, big.counts);
        assert!(!back.sample.is_empty() && back.sample.len() < 500);
    }
}
