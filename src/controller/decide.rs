//! Whether a connection should start a run now, and which: a pure function of the mode, the
//! spec generation, the request annotations, what status says was already done, the schedule
//! and whether a Job is running.

use std::collections::BTreeMap;

use jiff::Timestamp;
use sha2::{Digest, Sha256};

use crate::{
    contract::labels::{APPROVE_PLAN, SIMULATE_REQUESTED, SYNC_REQUESTED},
    crd::{HandledRequests, Mode},
    sync::report::RunMode,
};

/// What the decision reads.
#[derive(Clone, Debug)]
pub struct Situation<'a> {
    /// The connection's mode.
    pub mode: Mode,
    /// `metadata.generation`.
    pub generation: i64,
    /// `metadata.annotations`.
    pub annotations: &'a BTreeMap<String, String>,
    /// `status.lastHandledRequest`: request values already acted upon.
    pub handled: &'a HandledRequests,
    /// Generation of the last finished simulation.
    pub simulated_generation: Option<i64>,
    /// Plan hash of the last finished simulation.
    pub simulated_hash: Option<&'a str>,
    /// Generation whose simulated plan was approved (and so may be applied on schedule).
    pub approved_generation: Option<i64>,
    /// `spec.safeguards.requireSimulationApproval`.
    pub require_approval: bool,
    /// A Job of this connection is running (at most one at a time).
    pub job_running: bool,
    /// A scheduled run is due, for this scheduled time.
    pub scheduled: Option<Timestamp>,
}

/// Why a run starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// The spec changed since the last simulation.
    SpecChanged,
    /// The schedule came round.
    Schedule(Timestamp),
    /// `sync-requested-at` has this new value.
    SyncRequested(String),
    /// `simulate-requested-at` has this new value.
    SimulateRequested(String),
    /// `approve-plan` has this new value.
    Approved(String),
}

impl Trigger {
    /// Whether a person asked for this run (an annotation), rather than the spec or the
    /// schedule.
    pub fn is_request(&self) -> bool {
        matches!(
            self,
            Trigger::SyncRequested(_) | Trigger::SimulateRequested(_) | Trigger::Approved(_)
        )
    }

    /// A stable text for the run id.
    pub fn key(&self) -> String {
        match self {
            Trigger::SpecChanged => "spec".into(),
            Trigger::Schedule(at) => format!("schedule:{at}"),
            Trigger::SyncRequested(value) => format!("sync:{value}"),
            Trigger::SimulateRequested(value) => format!("simulate:{value}"),
            Trigger::Approved(hash) => format!("approved:{hash}"),
        }
    }
}

/// Why nothing starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Waiting {
    /// `mode: Deactivated`.
    Deactivated,
    /// A Job is running.
    JobRunning,
    /// An Active connection with `requireSimulationApproval` waits for this plan's approval.
    AwaitingApproval(Option<String>),
    /// Nothing is due.
    NothingDue,
}

/// The decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Start a run.
    Run {
        /// Simulate or apply.
        kind: RunMode,
        /// Why.
        trigger: Trigger,
        /// A plan hash the run may apply even past the safeguards (exactly that plan).
        approved_hash: Option<String>,
    },
    /// Start nothing.
    Wait(Waiting),
}

/// Longest request value status keeps as written; a longer one is kept as its hash.
const REQUEST_KEY_LIMIT: usize = crate::crd::bounds::REQUEST_KEY;

/// What status keeps of a request annotation's value: the value, or for a long one (anything
/// may be written into an annotation) a short hash of it, so status stays small.
pub fn request_key(value: &str) -> String {
    if value.len() <= REQUEST_KEY_LIMIT {
        return value.to_owned();
    }
    let digest = Sha256::digest(value.as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// Whether a value has the form of a plan hash (20 lower-case hex digits): an approval of
/// anything else could never match a plan.
pub fn is_plan_hash(value: &str) -> bool {
    value.len() == 20
        && value
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn new_value<'a>(
    annotations: &'a BTreeMap<String, String>,
    key: &str,
    handled: Option<&String>,
) -> Option<&'a str> {
    annotations
        .get(key)
        .map(String::as_str)
        .filter(|value| !value.is_empty() && Some(&request_key(value)) != handled)
}

/// Decides whether and how a connection runs now.
pub fn decide(situation: &Situation<'_>) -> Decision {
    use Decision::{Run, Wait};
    let s = situation;
    if s.mode == Mode::Deactivated {
        return Wait(Waiting::Deactivated);
    }
    if s.job_running {
        return Wait(Waiting::JobRunning);
    }
    let active = s.mode == Mode::Active;
    let spec_changed = s.simulated_generation != Some(s.generation);
    let gated = active && s.require_approval && s.approved_generation != Some(s.generation);
    let simulate = |trigger| Run {
        kind: RunMode::Simulate,
        trigger,
        approved_hash: None,
    };

    if let Some(value) = new_value(
        s.annotations,
        SIMULATE_REQUESTED,
        s.handled.simulate_requested_at.as_ref(),
    ) {
        return simulate(Trigger::SimulateRequested(value.to_owned()));
    }
    // An approval is keyed by generation and hash: the same hash approved again is new when
    // a new generation's simulation planned exactly that plan (an empty plan, or a
    // schedule-only edit), or the gate would stay shut for good.
    let approval = s
        .annotations
        .get(APPROVE_PLAN)
        .map(String::as_str)
        .filter(|hash| is_plan_hash(hash));
    let reapproved =
        approval.filter(|hash| gated && !spec_changed && s.simulated_hash == Some(*hash));
    let approved = new_value(
        s.annotations,
        APPROVE_PLAN,
        s.handled.approved_plan.as_ref(),
    )
    .filter(|hash| is_plan_hash(hash))
    .or(reapproved);
    if let Some(hash) = approved
        && active
    {
        // Approving the simulated plan of the current spec opens the gate; any other hash is
        // passed to an apply, which goes through only if its plan has exactly that hash.
        let gate_approval = s.require_approval && !spec_changed && s.simulated_hash == Some(hash);
        if !gated || gate_approval {
            return Run {
                kind: RunMode::Apply,
                trigger: Trigger::Approved(hash.to_owned()),
                approved_hash: Some(hash.to_owned()),
            };
        }
    }
    if let Some(value) = new_value(
        s.annotations,
        SYNC_REQUESTED,
        s.handled.sync_requested_at.as_ref(),
    ) {
        // In Simulate mode, or before an approval, a requested sync only plans.
        let kind = if active && !gated && !(s.require_approval && spec_changed) {
            RunMode::Apply
        } else {
            RunMode::Simulate
        };
        return Run {
            kind,
            trigger: Trigger::SyncRequested(value.to_owned()),
            approved_hash: None,
        };
    }
    if spec_changed && (!active || s.require_approval) {
        return simulate(Trigger::SpecChanged);
    }
    match s.scheduled {
        Some(at) if !active => simulate(Trigger::Schedule(at)),
        Some(_) if gated => Wait(Waiting::AwaitingApproval(
            s.simulated_hash.map(str::to_owned),
        )),
        Some(at) => Run {
            kind: RunMode::Apply,
            trigger: Trigger::Schedule(at),
            approved_hash: None,
        },
        None => Wait(Waiting::NothingDue),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Case {
        mode: Mode,
        annotations: BTreeMap<String, String>,
        handled: HandledRequests,
        simulated_generation: Option<i64>,
        approved_generation: Option<i64>,
        require_approval: bool,
        job_running: bool,
        scheduled: bool,
    }

    impl Case {
        fn new(mode: Mode) -> Self {
            Self {
                mode,
                annotations: BTreeMap::new(),
                handled: HandledRequests::default(),
                simulated_generation: Some(3),
                approved_generation: None,
                require_approval: false,
                job_running: false,
                scheduled: false,
            }
        }

        fn annotate(mut self, key: &str, value: &str) -> Self {
            self.annotations.insert(key.into(), value.into());
            self
        }

        fn decide(&self) -> Decision {
            decide(&Situation {
                mode: self.mode,
                generation: 3,
                annotations: &self.annotations,
                handled: &self.handled,
                simulated_generation: self.simulated_generation,
                simulated_hash: Some("abcdef0123456789abcd"),
                approved_generation: self.approved_generation,
                require_approval: self.require_approval,
                job_running: self.job_running,
                scheduled: self
                    .scheduled
                    .then(|| "2026-11-22T02:00:00Z".parse().unwrap()),
            })
        }
    }

    fn kind(decision: Decision) -> Option<RunMode> {
        match decision {
            Decision::Run { kind, .. } => Some(kind),
            Decision::Wait(_) => None,
        }
    }

    #[test]
    fn deactivated_runs_nothing_whatever_is_asked() {
        let mut case = Case::new(Mode::Deactivated).annotate(SYNC_REQUESTED, "now");
        case.scheduled = true;
        case.simulated_generation = Some(1);
        assert_eq!(case.decide(), Decision::Wait(Waiting::Deactivated));
    }

    #[test]
    fn one_job_at_a_time() {
        let mut case = Case::new(Mode::Active).annotate(SYNC_REQUESTED, "now");
        case.job_running = true;
        assert_eq!(case.decide(), Decision::Wait(Waiting::JobRunning));
    }

    #[test]
    fn simulate_mode_simulates_on_spec_changes_and_on_schedule_never_applies() {
        let mut case = Case::new(Mode::Simulate);
        assert_eq!(case.decide(), Decision::Wait(Waiting::NothingDue));
        case.simulated_generation = Some(2);
        assert!(matches!(
            case.decide(),
            Decision::Run {
                kind: RunMode::Simulate,
                trigger: Trigger::SpecChanged,
                ..
            }
        ));
        case.simulated_generation = Some(3);
        case.scheduled = true;
        assert_eq!(kind(case.decide()), Some(RunMode::Simulate));
        let requested = Case::new(Mode::Simulate).annotate(SYNC_REQUESTED, "t1");
        assert_eq!(kind(requested.decide()), Some(RunMode::Simulate));
    }

    #[test]
    fn active_mode_applies_on_schedule() {
        let mut case = Case::new(Mode::Active);
        case.scheduled = true;
        assert!(matches!(
            case.decide(),
            Decision::Run {
                kind: RunMode::Apply,
                trigger: Trigger::Schedule(_),
                approved_hash: None
            }
        ));
        // A spec change alone does not run an Active connection without the approval gate.
        case.scheduled = false;
        case.simulated_generation = Some(2);
        assert_eq!(case.decide(), Decision::Wait(Waiting::NothingDue));
    }

    #[test]
    fn each_request_value_acts_once() {
        let mut case = Case::new(Mode::Active).annotate(SYNC_REQUESTED, "2026-11-22T10:00:00Z");
        assert!(matches!(
            case.decide(),
            Decision::Run {
                kind: RunMode::Apply,
                trigger: Trigger::SyncRequested(_),
                ..
            }
        ));
        case.handled.sync_requested_at = Some("2026-11-22T10:00:00Z".into());
        assert_eq!(case.decide(), Decision::Wait(Waiting::NothingDue));
        let case = case.annotate(SIMULATE_REQUESTED, "later");
        assert!(matches!(
            case.decide(),
            Decision::Run {
                kind: RunMode::Simulate,
                trigger: Trigger::SimulateRequested(_),
                ..
            }
        ));
    }

    #[test]
    fn the_approval_gate_simulates_first_and_applies_only_the_approved_plan() {
        let mut case = Case::new(Mode::Active);
        case.require_approval = true;
        case.simulated_generation = Some(2);
        // After a spec change: simulate first.
        assert!(matches!(
            case.decide(),
            Decision::Run {
                kind: RunMode::Simulate,
                trigger: Trigger::SpecChanged,
                ..
            }
        ));
        // Simulated, not approved: the schedule waits, naming the hash to approve.
        case.simulated_generation = Some(3);
        case.scheduled = true;
        assert_eq!(
            case.decide(),
            Decision::Wait(Waiting::AwaitingApproval(Some(
                "abcdef0123456789abcd".into()
            )))
        );
        // A requested sync only simulates while the gate is closed.
        let requested = Case {
            scheduled: false,
            ..case
        }
        .annotate(SYNC_REQUESTED, "t");
        assert_eq!(kind(requested.decide()), Some(RunMode::Simulate));
        // Approving another hash does not open the gate.
        let mut wrong = Case::new(Mode::Active).annotate(APPROVE_PLAN, "other");
        wrong.require_approval = true;
        wrong.scheduled = true;
        assert_eq!(
            wrong.decide(),
            Decision::Wait(Waiting::AwaitingApproval(Some(
                "abcdef0123456789abcd".into()
            )))
        );
        // Approving the simulated hash applies exactly that plan.
        let mut right = Case::new(Mode::Active).annotate(APPROVE_PLAN, "abcdef0123456789abcd");
        right.require_approval = true;
        assert_eq!(
            right.decide(),
            Decision::Run {
                kind: RunMode::Apply,
                trigger: Trigger::Approved("abcdef0123456789abcd".into()),
                approved_hash: Some("abcdef0123456789abcd".into())
            }
        );
        // Once approved for this generation, scheduled runs apply.
        right.handled.approved_plan = Some("abcdef0123456789abcd".into());
        right.approved_generation = Some(3);
        right.scheduled = true;
        assert_eq!(kind(right.decide()), Some(RunMode::Apply));
    }

    #[test]
    fn approving_a_withheld_plan_starts_an_apply_carrying_that_hash() {
        let case = Case::new(Mode::Active).annotate(APPROVE_PLAN, "f00df00df00df00df00d");
        assert_eq!(
            case.decide(),
            Decision::Run {
                kind: RunMode::Apply,
                trigger: Trigger::Approved("f00df00df00df00df00d".into()),
                approved_hash: Some("f00df00df00df00df00d".into())
            }
        );
        // In Simulate mode an approval applies nothing.
        let simulate = Case::new(Mode::Simulate).annotate(APPROVE_PLAN, "f00df00df00df00df00d");
        assert_eq!(simulate.decide(), Decision::Wait(Waiting::NothingDue));
    }

    #[test]
    fn the_same_hash_approved_again_opens_the_gate_of_a_new_generation() {
        // Generation 2's plan abc… was approved; generation 3 (a schedule-only edit) simulated
        // the very same plan: the annotation still says abc…, and that is its approval.
        let mut case = Case::new(Mode::Active).annotate(APPROVE_PLAN, "abcdef0123456789abcd");
        case.require_approval = true;
        case.approved_generation = Some(2);
        case.handled.approved_plan = Some("abcdef0123456789abcd".into());
        case.handled.approved_generation = Some(2);
        case.scheduled = true;
        assert_eq!(
            case.decide(),
            Decision::Run {
                kind: RunMode::Apply,
                trigger: Trigger::Approved("abcdef0123456789abcd".into()),
                approved_hash: Some("abcdef0123456789abcd".into())
            }
        );
        // Once that generation is approved, the annotation starts nothing more.
        case.approved_generation = Some(3);
        case.scheduled = false;
        assert_eq!(case.decide(), Decision::Wait(Waiting::NothingDue));
        // Without the gate, an already handled approval stays handled.
        let mut plain = Case::new(Mode::Active).annotate(APPROVE_PLAN, "abcdef0123456789abcd");
        plain.handled.approved_plan = Some("abcdef0123456789abcd".into());
        assert_eq!(plain.decide(), Decision::Wait(Waiting::NothingDue));
    }

    #[test]
    fn an_approval_that_is_not_a_plan_hash_starts_nothing() {
        let case = Case::new(Mode::Active).annotate(APPROVE_PLAN, &"x".repeat(10_000));
        assert_eq!(case.decide(), Decision::Wait(Waiting::NothingDue));
    }

    #[test]
    fn long_request_values_are_kept_as_a_short_hash() {
        let long = "9".repeat(10_000);
        let key = request_key(&long);
        assert!(key.starts_with("sha256:") && key.len() < 80, "{key}");
        assert_eq!(request_key("2026-11-22T10:00:00Z"), "2026-11-22T10:00:00Z");
        let mut case = Case::new(Mode::Active).annotate(SYNC_REQUESTED, &long);
        assert_eq!(kind(case.decide()), Some(RunMode::Apply));
        case.handled.sync_requested_at = Some(key);
        assert_eq!(case.decide(), Decision::Wait(Waiting::NothingDue));
    }
}
