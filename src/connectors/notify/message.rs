//! What a notification says, whatever carries it. A message is built from the run's summary
//! (counts, the plan hash, safeguard limits, error categories: no names and no addresses) and
//! says what happened, the facts, and the exact next step. Each channel renders it its way;
//! [`Message::text`] is the plain text of an email and Slack's fallback.

use std::{fmt::Write as _, path::Path};

use crate::{
    crd::NotificationEvent,
    sync::report::{RunMode, RunResult, Summary},
};

/// Where the run happened, which decides how the next steps are written.
#[derive(Clone, Copy, Debug)]
pub enum Origin<'a> {
    /// A sync Job in the cluster: the steps are `kubectl hris` commands.
    Cluster,
    /// `hris-operator simulate` or `apply` on a manifest file: the steps name the report
    /// folder and `hris-operator` commands.
    Local {
        /// The manifest file, as given on the command line.
        manifest: &'a Path,
        /// The report folder.
        out: &'a Path,
    },
}

/// The run a message is about.
#[derive(Clone, Debug)]
pub struct RunFacts<'a> {
    /// The connection's namespace.
    pub namespace: &'a str,
    /// The connection's name.
    pub name: &'a str,
    /// The run id: with the event, the key a receiver can drop a repeated message by.
    pub run_id: &'a str,
    /// The run's summary.
    pub summary: &'a Summary,
    /// Where the run happened.
    pub origin: Origin<'a>,
    /// The connection applies only approved simulations
    /// (`safeguards.requireSimulationApproval`).
    pub approval_required: bool,
    /// Which side refused the credentials, when one did: `source`, `target`, or `source or
    /// target`.
    pub refused_by: Option<&'static str>,
    /// The Secrets a person should check when the credentials were refused, as
    /// `spec.source.merge.apiKeySecretRef: Secret people-sync/merge, key apiKey`.
    pub secrets_to_check: Vec<String>,
}

impl RunFacts<'_> {
    /// `namespace/name`.
    pub fn connection(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// Failed writes of a category.
    fn failed(&self, category: &str) -> u64 {
        self.summary.failures.get(category).copied().unwrap_or(0)
    }
}

/// Users the target refused because their email addresses already exist.
pub fn refused_as_taken(summary: &Summary) -> u64 {
    summary.failures.get("UserConflict").copied().unwrap_or(0)
}

/// Users not added for lack of licenses or seats: what a `LicenseLimitExceeded` notification
/// counts. Writes the target refused (or that were not attempted because the seat a failed
/// removal was to free stayed taken), and creates or reactivations `safeguards.seatLimit` held
/// back.
pub fn license_limited(summary: &Summary) -> u64 {
    let refused = summary
        .failures
        .get("LicenseLimitExceeded")
        .copied()
        .unwrap_or(0)
        .max(summary.license_failures);
    refused + summary.counts.seat_limited
}

/// Whether the source or the target refused the credentials in this run.
pub fn credentials_refused(summary: &Summary) -> bool {
    summary.error_category.as_deref() == Some("CredentialsInvalid")
        || summary.failures.contains_key("CredentialsInvalid")
}

/// The events a run's summary calls for, in [`NotificationEvent::ALL`] order. A channel gets
/// one message for each of them it takes.
pub fn events_of(summary: &Summary) -> Vec<NotificationEvent> {
    let failed = summary.result == RunResult::Failed;
    NotificationEvent::ALL
        .into_iter()
        .filter(|event| match event {
            NotificationEvent::SimulationReady => summary.mode == RunMode::Simulate && !failed,
            NotificationEvent::SyncSucceeded => summary.mode == RunMode::Apply && !failed,
            NotificationEvent::SyncFailed => failed,
            NotificationEvent::SafeguardTriggered => summary.safeguard.is_some(),
            NotificationEvent::UserConflicts => {
                summary.counts.conflicts > 0 || refused_as_taken(summary) > 0
            }
            NotificationEvent::LicenseLimitExceeded => license_limited(summary) > 0,
            NotificationEvent::CredentialsInvalid => credentials_refused(summary),
        })
        .collect()
}

/// One thing to do next, with the exact command when there is one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// What to do and why.
    pub text: String,
    /// The command that does it.
    pub command: Option<String>,
}

/// A notification, ready to be rendered by a channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// The event.
    pub event: NotificationEvent,
    /// `namespace/name` of the connection.
    pub connection: String,
    /// One line saying what happened: the email subject, the card's title.
    pub headline: String,
    /// What happened and what it means, a sentence each.
    pub details: Vec<String>,
    /// Label and value: the connection, mode, result, counts, plan hash, run.
    pub facts: Vec<(&'static str, String)>,
    /// What to do next.
    pub steps: Vec<Step>,
}

/// The line every message ends with.
pub const FOOTER: &str = "Sent by hris-operator. This message holds counts and hashes only; \
                          the names and addresses are in the reports.";

fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

impl Message {
    /// The message of `event` about a run.
    pub fn new(event: NotificationEvent, run: &RunFacts) -> Message {
        let (headline, details, steps) = match event {
            NotificationEvent::SimulationReady => simulation_ready(run),
            NotificationEvent::SyncSucceeded => sync_succeeded(run),
            NotificationEvent::SyncFailed => sync_failed(run),
            NotificationEvent::SafeguardTriggered => safeguard_triggered(run),
            NotificationEvent::UserConflicts => user_conflicts(run),
            NotificationEvent::LicenseLimitExceeded => license_limit(run),
            NotificationEvent::CredentialsInvalid => credentials_invalid(run),
        };
        Message {
            event,
            connection: run.connection(),
            headline,
            details,
            facts: facts(run),
            steps,
        }
    }

    /// The message as plain text: the headline, the details, the facts in two columns, the
    /// steps with their commands indented, and the footer.
    pub fn text(&self) -> String {
        let mut out = format!("{}\n\n", self.headline);
        for detail in &self.details {
            let _ = writeln!(out, "{detail}");
        }
        out.push('\n');
        let width = self.facts.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
        for (label, value) in &self.facts {
            let _ = writeln!(out, "{label:width$}  {value}");
        }
        if !self.steps.is_empty() {
            out.push_str("\nNext steps\n");
            for step in &self.steps {
                let _ = writeln!(out, "- {}", step.text);
                if let Some(command) = &step.command {
                    let _ = writeln!(out, "    {command}");
                }
            }
        }
        let _ = writeln!(out, "\n{FOOTER}");
        out
    }
}

/// The verbs of the counts: a simulation's changes are still to be made.
fn changes(run: &RunFacts) -> String {
    let c = &run.summary.counts;
    let parts = match run.summary.mode {
        RunMode::Simulate => [
            (c.created, "to create"),
            (c.updated, "to update"),
            (c.deactivated, "to deactivate"),
            (c.deleted, "to delete"),
        ],
        RunMode::Apply => [
            (c.created, "created"),
            (c.updated, "updated"),
            (c.deactivated, "deactivated"),
            (c.deleted, "deleted"),
        ],
    };
    parts
        .iter()
        .map(|(n, verb)| format!("{n} {verb}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn facts(run: &RunFacts) -> Vec<(&'static str, String)> {
    let summary = run.summary;
    let c = &summary.counts;
    let mut facts = vec![
        ("Connection", run.connection()),
        (
            "Mode",
            match summary.mode {
                RunMode::Simulate => "Simulate (nothing is written)".to_owned(),
                RunMode::Apply => "Apply".to_owned(),
            },
        ),
        (
            "Result",
            match (&summary.result, &summary.error_category) {
                (RunResult::Failed, Some(category)) => format!("Failed ({category})"),
                (result, _) => result.as_str().to_owned(),
            },
        ),
    ];
    if !summary.as_of.is_empty() {
        facts.push(("As of", summary.as_of.clone()));
    }
    if !summary.plan_hash.is_empty() {
        facts.push(("Changes", changes(run)));
        facts.push((
            "Also",
            format!(
                "{} unchanged, {} skipped, {} conflicts, {} errors",
                c.unchanged, c.skipped, c.conflicts, c.errors
            ),
        ));
        facts.push(("Plan hash", summary.plan_hash.clone()));
    }
    facts.push(("Run", run.run_id.to_owned()));
    facts
}

/// The mode's noun: "simulation" or "sync".
fn run_noun(run: &RunFacts) -> &'static str {
    match run.summary.mode {
        RunMode::Simulate => "simulation",
        RunMode::Apply => "sync",
    }
}

fn report_step(run: &RunFacts, what: &str) -> Step {
    match run.origin {
        Origin::Cluster => {
            let which = match run.summary.mode {
                RunMode::Simulate => "--simulation",
                RunMode::Apply => "--sync",
            };
            Step {
                text: format!(
                    "{what}; the report files name the people, so keep them where you keep HR \
                     exports:"
                ),
                command: Some(format!(
                    "kubectl hris report {name} -n {ns} {which} --out ./{name}-report",
                    name = run.name,
                    ns = run.namespace
                )),
            }
        }
        Origin::Local { out, .. } => Step {
            text: format!(
                "{what}: the report files are in {} on the machine that ran it.",
                out.display()
            ),
            command: None,
        },
    }
}

fn approve_step(run: &RunFacts, text: String) -> Step {
    let hash = &run.summary.plan_hash;
    Step {
        text,
        command: Some(match run.origin {
            Origin::Cluster => format!(
                "kubectl hris approve {} -n {} --hash {hash}",
                run.name, run.namespace
            ),
            Origin::Local { manifest, .. } => format!(
                "hris-operator apply -f {} --approve {hash}",
                manifest.display()
            ),
        }),
    }
}

fn rerun_step(run: &RunFacts, text: &str) -> Step {
    Step {
        text: text.to_owned(),
        command: Some(match run.origin {
            Origin::Cluster => format!("kubectl hris sync {} -n {}", run.name, run.namespace),
            Origin::Local { manifest, .. } => {
                let command = match run.summary.mode {
                    RunMode::Simulate => "simulate",
                    RunMode::Apply => "apply",
                };
                format!("hris-operator {command} -f {}", manifest.display())
            }
        }),
    }
}

fn describe_step(run: &RunFacts) -> Step {
    match run.origin {
        Origin::Cluster => Step {
            text: "See why: the connection's conditions and Events say what failed, and the \
                   sync Job's log has the details:"
                .into(),
            command: Some(format!(
                "kubectl describe hrisconnection {} -n {}",
                run.name, run.namespace
            )),
        },
        Origin::Local { .. } => Step {
            text: "See why: the command's output says what failed.".into(),
            command: None,
        },
    }
}

/// Whether the run stopped before planning (nothing was planned, nothing was written).
fn failed_before_planning(run: &RunFacts) -> bool {
    run.summary.plan_hash.is_empty()
}

fn simulation_ready(run: &RunFacts) -> (String, Vec<String>, Vec<Step>) {
    let summary = run.summary;
    let headline = format!("Simulation ready: {}", changes(run));
    let mut details = vec![format!(
        "The simulation of {} as of {} planned these changes; nothing was written to the target.",
        run.connection(),
        summary.as_of
    )];
    let mut steps = vec![report_step(run, "Read what would change")];
    match &summary.safeguard {
        Some(trip) if trip.empty_source => details.push(format!(
            "The source returned no employees: its {} removals would be withheld.",
            trip.withheld
        )),
        Some(trip) => {
            details.push(format!(
                "Safeguards would withhold {}: {}.",
                plural(trip.withheld as u64, "change", "changes"),
                trip.limit
            ));
            steps.push(approve_step(
                run,
                "Approve this exact plan to let the next sync make these changes:".into(),
            ));
        }
        None if run.approval_required => steps.push(approve_step(
            run,
            "This connection syncs only an approved simulation. Approve this exact plan to let \
             the next sync make these changes:"
                .into(),
        )),
        None => {}
    }
    (headline, details, steps)
}

fn sync_succeeded(run: &RunFacts) -> (String, Vec<String>, Vec<Step>) {
    let headline = format!("Sync succeeded: {}", changes(run));
    let mut details = vec![format!(
        "The sync of {} as of {} made these changes in the target.",
        run.connection(),
        run.summary.as_of
    )];
    if let Some(trip) = &run.summary.safeguard {
        details.push(format!(
            "Safeguards withheld {}; they wait for approval.",
            plural(trip.withheld as u64, "change", "changes")
        ));
    }
    (
        headline,
        details,
        vec![report_step(run, "Read what changed")],
    )
}

/// A sentence on why a run failed before planning, by its category.
fn failure_sentence(category: &str) -> String {
    let why = match category {
        "SourceUnavailable" => "the HR source could not be read",
        "InvalidSourceData" => "the HR source's data could not be read",
        "MissingSourceField" => "a field the spec maps or filters on is carried by no employee",
        "CredentialsInvalid" => "the credentials were refused",
        "TargetUnavailable" | "Throttled" => "the target could not be listed",
        "InvalidTargetData" => "the target's users could not be read",
        "InvalidSpec" => "the connection's spec is invalid",
        _ => "the run could not plan",
    };
    format!(
        "The run stopped before planning ({category}): {why}. Nothing was changed in the target."
    )
}

fn sync_failed(run: &RunFacts) -> (String, Vec<String>, Vec<Step>) {
    let summary = run.summary;
    let category = summary.error_category.as_deref().unwrap_or("Failed");
    let noun = match summary.mode {
        RunMode::Simulate => "Simulation",
        RunMode::Apply => "Sync",
    };
    let headline = format!("{noun} failed: {category}");
    if failed_before_planning(run) {
        let mut steps = vec![describe_step(run)];
        steps.push(rerun_step(run, "Once it is fixed, run it again:"));
        return (headline, vec![failure_sentence(category)], steps);
    }
    let by_category: Vec<String> = summary
        .failures
        .iter()
        .map(|(category, n)| format!("{n} {category}"))
        .collect();
    let failed: u64 = summary.failures.values().sum();
    let details = vec![format!(
        "The {} of {} as of {}: {} failed ({}); the rest of the plan was {}.",
        run_noun(run),
        run.connection(),
        summary.as_of,
        plural(failed, "write", "writes"),
        by_category.join(", "),
        match summary.mode {
            RunMode::Simulate => "planned",
            RunMode::Apply => "applied",
        }
    )];
    let steps = vec![report_step(
        run,
        "See which writes failed and what the target said in errors.csv",
    )];
    (headline, details, steps)
}

fn safeguard_triggered(run: &RunFacts) -> (String, Vec<String>, Vec<Step>) {
    let summary = run.summary;
    let Some(trip) = &summary.safeguard else {
        return (
            "Changes withheld by a safeguard".into(),
            Vec::new(),
            vec![report_step(run, "Read the plan")],
        );
    };
    let withheld = plural(trip.withheld as u64, "change", "changes");
    if trip.empty_source {
        return (
            "Removals withheld: the source returned no employees".into(),
            vec![format!(
                "The source of {} returned no employees while {} are managed: {withheld} \
                 withheld. Nobody is removed on an empty source, and this cannot be approved.",
                run.connection(),
                plural(trip.managed_users as u64, "user", "users")
            )],
            vec![Step {
                text: "Check the source: an export that lost its people, a filter that \
                       matches nobody, or a permission that was taken away."
                    .into(),
                command: None,
            }],
        );
    }
    if trip.outdated_approval.is_some() {
        return (
            "Nothing applied: the approved plan has changed".into(),
            vec![format!(
                "The plan of {} changed after it was approved, so nothing was applied. The new \
                 plan's hash is {}.",
                run.connection(),
                summary.plan_hash
            )],
            vec![
                report_step(run, "Read the new plan"),
                approve_step(run, "Approve the new plan if it is right:".into()),
            ],
        );
    }
    let held = match summary.mode {
        RunMode::Simulate => "would withhold",
        RunMode::Apply => "withheld",
    };
    let need = if trip.withheld == 1 { "needs" } else { "need" };
    (
        format!("Changes withheld by a safeguard: {withheld} {need} approval"),
        vec![
            format!(
                "Safeguards of {} {held} {withheld}: {}.",
                run.connection(),
                trip.limit
            ),
            "Everything else in the plan went ahead; the withheld changes wait for a person to \
             approve exactly this plan."
                .into(),
        ],
        vec![
            report_step(run, "Read the withheld changes (outcome `withheld`)"),
            approve_step(run, "If they are right, approve exactly this plan:".into()),
        ],
    )
}

fn user_conflicts(run: &RunFacts) -> (String, Vec<String>, Vec<Step>) {
    let taken = refused_as_taken(run.summary);
    let unmatched = run.summary.counts.conflicts;
    let conflicts = plural(unmatched, "employee", "employees");
    let mut details = Vec::new();
    let headline = if taken > 0 {
        details.push(format!(
            "The target refused to add {}: it already holds their email addresses (errors.csv \
             names them, with what the target said).",
            plural(taken, "user", "users")
        ));
        if unmatched > 0 {
            details.push(format!(
                "Also, {conflicts} could not be matched safely and {} left untouched; \
                 conflicts.csv says, for each, what to change where.",
                if unmatched == 1 { "was" } else { "were" }
            ));
        }
        format!(
            "Failed to add {} because their email addresses already exist",
            plural(taken, "user", "users")
        )
    } else {
        details.push(
            "They were left untouched; conflicts.csv says, for each, what to change where (an \
             address another account holds, two people with one address, an id twice)."
                .into(),
        );
        format!("{conflicts} could not be matched safely")
    };
    (
        headline,
        details,
        vec![report_step(run, "Resolve them from the reports")],
    )
}

fn license_limit(run: &RunFacts) -> (String, Vec<String>, Vec<Step>) {
    let limited = license_limited(run.summary);
    let failed = run.failed("LicenseLimitExceeded");
    let held = run.summary.counts.seat_limited;
    let mut details = Vec::new();
    if held > 0 {
        details.push(format!(
            "safeguards.seatLimit held back {} (skipped.csv, reason SeatLimit; the earliest start \
             dates get the seats as they free up).",
            plural(held, "create or reactivation", "creates or reactivations")
        ));
    }
    if failed > 0 {
        details.push(format!(
            "The target of {} refused {} for lack of licenses or seats (errors.csv names them).",
            run.connection(),
            plural(failed, "user", "users")
        ));
    }
    details.push(
        "Free seats (in many directories a deactivated account still holds its license) or add \
         licenses; the next run adds them."
            .into(),
    );
    (
        format!(
            "Failed to add {}: license limit reached",
            plural(limited, "user", "users")
        ),
        details,
        vec![
            report_step(run, "See who is waiting"),
            rerun_step(run, "Once seats are free, run it again:"),
        ],
    )
}

fn credentials_invalid(run: &RunFacts) -> (String, Vec<String>, Vec<Step>) {
    let side = run.refused_by.unwrap_or("source or target");
    let outcome = if failed_before_planning(run) {
        "The run stopped before planning; nothing was changed in the target."
    } else {
        "Writes the target refused are in errors.csv."
    };
    let mut steps: Vec<Step> = run
        .secrets_to_check
        .iter()
        .map(|secret| Step {
            text: format!("Check {secret}."),
            command: None,
        })
        .collect();
    if steps.is_empty() {
        steps.push(Step {
            text: format!("Check the credentials of the {side} in the connection's spec."),
            command: None,
        });
    }
    steps.push(rerun_step(run, "Once they are fixed, run it again:"));
    (
        format!("Credentials refused by the {side}: check the Secret"),
        vec![format!(
            "The {side} of {} refused the credentials. {outcome}",
            run.connection()
        )],
        steps,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::{
        plan::SafeguardTrip,
        report::ChangeCounts,
        safeguard::{GuardKind, GuardTrip},
    };

    fn summary(mode: RunMode, result: RunResult) -> Summary {
        Summary {
            connection: "people-sync/acme".into(),
            mode,
            as_of: "2026-11-22".into(),
            result,
            counts: ChangeCounts {
                created: 22,
                updated: 34,
                deactivated: 10,
                deleted: 3,
                unchanged: 132,
                skipped: 13,
                conflicts: 6,
                errors: 3,
                seat_limited: 0,
            },
            plan_hash: "8b17325da5fe0369e8d7".into(),
            safeguard: None,
            source_employees: 222,
            target_users: 206,
            managed_users: 185,
            sample: Vec::new(),
            error_category: None,
            seats: None,
            license_failures: 0,
            failures: Default::default(),
            notifications: None,
        }
    }

    fn facts(summary: &Summary) -> RunFacts<'_> {
        RunFacts {
            namespace: "people-sync",
            name: "acme",
            run_id: "1f2e3d4c",
            summary,
            origin: Origin::Cluster,
            approval_required: false,
            refused_by: None,
            secrets_to_check: Vec::new(),
        }
    }

    fn commands(message: &Message) -> Vec<&str> {
        message
            .steps
            .iter()
            .filter_map(|s| s.command.as_deref())
            .collect()
    }

    #[test]
    fn a_simulation_says_what_would_change_and_how_to_read_it() {
        let summary = summary(RunMode::Simulate, RunResult::Succeeded);
        let message = Message::new(NotificationEvent::SimulationReady, &facts(&summary));
        assert_eq!(
            message.headline,
            "Simulation ready: 22 to create, 34 to update, 10 to deactivate, 3 to delete"
        );
        assert_eq!(
            commands(&message),
            ["kubectl hris report acme -n people-sync --simulation --out ./acme-report"]
        );
        let mut approval = facts(&summary);
        approval.approval_required = true;
        let message = Message::new(NotificationEvent::SimulationReady, &approval);
        assert_eq!(
            commands(&message)[1],
            "kubectl hris approve acme -n people-sync --hash 8b17325da5fe0369e8d7"
        );
        let text = message.text();
        assert!(
            text.contains("Plan hash   8b17325da5fe0369e8d7\n"),
            "{text}"
        );
        assert!(text.ends_with(&format!("{FOOTER}\n")), "{text}");
    }

    #[test]
    fn people_held_back_by_the_seat_limit_are_a_license_notification() {
        let mut summary = summary(RunMode::Apply, RunResult::Succeeded);
        summary.counts.seat_limited = 3;
        assert!(events_of(&summary).contains(&NotificationEvent::LicenseLimitExceeded));
        summary.failures = [("LicenseLimitExceeded".to_owned(), 2)].into();
        let run = facts(&summary);
        let license = Message::new(NotificationEvent::LicenseLimitExceeded, &run);
        assert_eq!(
            license.headline,
            "Failed to add 5 users: license limit reached"
        );
        assert!(
            license
                .details
                .iter()
                .any(|d| d.contains("seatLimit held back 3")),
            "{:?}",
            license.details
        );
    }

    #[test]
    fn refused_users_get_the_seed_wording() {
        let mut summary = summary(RunMode::Apply, RunResult::Failed);
        summary.failures = [
            ("LicenseLimitExceeded".to_owned(), 8),
            ("UserConflict".to_owned(), 12),
        ]
        .into();
        let run = facts(&summary);
        let license = Message::new(NotificationEvent::LicenseLimitExceeded, &run);
        assert_eq!(
            license.headline,
            "Failed to add 8 users: license limit reached"
        );
        assert_eq!(
            commands(&license)[1],
            "kubectl hris sync acme -n people-sync"
        );
        let conflicts = Message::new(NotificationEvent::UserConflicts, &run);
        assert_eq!(
            conflicts.headline,
            "Failed to add 12 users because their email addresses already exist"
        );
        assert_eq!(
            conflicts.details[1],
            "Also, 6 employees could not be matched safely and were left untouched; \
             conflicts.csv says, for each, what to change where."
        );
        let failed = Message::new(NotificationEvent::SyncFailed, &run);
        assert_eq!(
            failed.details,
            [
                "The sync of people-sync/acme as of 2026-11-22: 20 writes failed (8 \
              LicenseLimitExceeded, 12 UserConflict); the rest of the plan was applied."
            ]
        );
    }

    #[test]
    fn a_withheld_plan_names_the_guard_and_the_hash_to_approve() {
        let mut summary = summary(RunMode::Apply, RunResult::Withheld);
        summary.safeguard = Some(SafeguardTrip {
            empty_source: false,
            outdated_approval: None,
            guards: vec![GuardTrip {
                guard: GuardKind::Removals,
                attribute: None,
                changes: 62,
                base: 100,
                limit: "removals: 62 of 100 active managed users (62%) is more than maxPercent \
                        20%"
                .into(),
            }],
            withheld: 62,
            managed_users: 100,
            limit: "removals: 62 of 100 active managed users (62%) is more than maxPercent 20%"
                .into(),
        });
        let local = RunFacts {
            origin: Origin::Local {
                manifest: Path::new("acme.yaml"),
                out: Path::new("hris-reports"),
            },
            ..facts(&summary)
        };
        let message = Message::new(NotificationEvent::SafeguardTriggered, &local);
        assert_eq!(
            message.headline,
            "Changes withheld by a safeguard: 62 changes need approval"
        );
        assert!(message.details[0].contains("(62%) is more than maxPercent 20%"));
        assert_eq!(
            commands(&message),
            ["hris-operator apply -f acme.yaml --approve 8b17325da5fe0369e8d7"]
        );
        assert_eq!(
            message.steps[0].text,
            "Read the withheld changes (outcome `withheld`): the report files are in \
             hris-reports on the machine that ran it."
        );
    }

    #[test]
    fn refused_credentials_name_the_secrets_to_check() {
        let summary = Summary::failed(
            "people-sync/acme",
            RunMode::Apply,
            "2026-11-22".into(),
            "CredentialsInvalid",
        );
        let run = RunFacts {
            refused_by: Some("source"),
            secrets_to_check: vec!["Secret people-sync/merge, key apiKey".into()],
            ..facts(&summary)
        };
        let message = Message::new(NotificationEvent::CredentialsInvalid, &run);
        assert_eq!(
            message.headline,
            "Credentials refused by the source: check the Secret"
        );
        assert_eq!(
            message.steps[0].text,
            "Check Secret people-sync/merge, key apiKey."
        );
        let failed = Message::new(NotificationEvent::SyncFailed, &run);
        assert_eq!(failed.headline, "Sync failed: CredentialsInvalid");
        assert!(
            failed.facts.iter().all(|(label, _)| *label != "Plan hash"),
            "a run that stopped before planning has no plan: {:?}",
            failed.facts
        );
    }
}
