//! Applying a plan to a target: deactivations and deletions first (they free the seats or
//! licenses the creates and reactivations may need), then creates, then updates, then the
//! manager links that could not be set on the way.
//!
//! Managers are plan values (externalIds); here they become target ids, using the users that
//! existed and the ones just created, so a manager created in the same run is linked.
//!
//! Under a seat limit the plan counted every removal's seat as free. When a removal fails, its
//! seat stays taken: the seat-takers it was freeing a seat for (the last in seat order) are
//! not attempted, and fail with `LicenseLimitExceeded`.

use std::collections::HashMap;

use compact_str::CompactString;
use serde_json::Value;

use super::ports::target::{Target, TargetError, TargetErrorKind, TargetOp};
use super::{
    model::{Attr, AttrChange, DirectoryUser},
    plan::{Change, ChangeKind, Plan},
};

/// What happened to one planned change.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Planned only (a simulation).
    Planned,
    /// Made.
    Applied,
    /// The target refused or failed it.
    Failed(TargetError),
    /// Held back by a safeguard.
    Withheld,
}

impl Outcome {
    /// Name of [`Outcome::Failed`] in reports, also of every row of `errors.csv`.
    pub const FAILED: &'static str = "failed";

    /// Name in reports.
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Planned => "planned",
            Outcome::Applied => "applied",
            Outcome::Failed(_) => Outcome::FAILED,
            Outcome::Withheld => "withheld",
        }
    }
}

/// A manager link that could not be set after its user was created.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkFailure {
    /// The report's externalId.
    pub external_id: CompactString,
    /// Why.
    pub error: TargetError,
}

/// Outcomes of a run, one per change of the plan (in plan order).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Applied {
    /// One outcome per `plan.changes` entry.
    pub outcomes: Vec<Outcome>,
    /// Manager links that failed after a successful create.
    pub link_failures: Vec<LinkFailure>,
}

impl Applied {
    /// Outcomes of a simulation: everything planned.
    pub fn simulated(plan: &Plan) -> Self {
        Self {
            outcomes: vec![Outcome::Planned; plan.changes.len()],
            link_failures: Vec::new(),
        }
    }

    /// Writes that failed.
    pub fn failures(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Failed(_)))
            .count()
            + self.link_failures.len()
    }
}

/// Applies a plan's changes (never its withheld ones) and reports each one's outcome.
pub async fn apply(plan: &Plan, users: &[DirectoryUser], target: &dyn Target) -> Applied {
    let mut target_ids: HashMap<String, CompactString> = users
        .iter()
        .filter_map(|u| Some((u.external_id.as_deref()?.to_lowercase(), u.id.clone())))
        .collect();
    // Adopted users take our externalId in this run.
    for change in &plan.changes {
        if let Some(id) = &change.target_id
            && change.kind != ChangeKind::Delete
        {
            target_ids.insert(key(&change.external_id), id.clone());
        }
    }
    let mut outcomes = vec![Outcome::Planned; plan.changes.len()];
    let by_kind = |kind: ChangeKind| {
        plan.changes
            .iter()
            .enumerate()
            .filter(move |(_, c)| c.kind == kind)
            .map(|(i, _)| i)
            .collect::<Vec<_>>()
    };

    // Removals first: they free seats. A manager link a deactivation sets to a user created
    // in this run is set once that user exists.
    let mut pending_links = Vec::new();
    let mut removals = by_kind(ChangeKind::Deactivate);
    removals.extend(by_kind(ChangeKind::Delete));
    if !removals.is_empty() {
        let ops = removals
            .iter()
            .map(|&i| {
                let (op, unresolved) = existing_op(&plan.changes[i], &target_ids);
                pending_links.extend(unresolved.map(|manager| (i, manager)));
                op
            })
            .collect();
        for (&i, result) in removals.iter().zip(target.apply(ops).await) {
            outcomes[i] = match result {
                Ok(_) => Outcome::Applied,
                Err(error) => Outcome::Failed(error),
            };
        }
    }
    hold_seats_still_taken(plan, &mut outcomes);

    // Creates, managers before their reports where both are new, so most links are set at
    // creation; the rest are linked afterwards.
    let creates = order_managers_first(plan, not_done(by_kind(ChangeKind::Create), &outcomes));
    for wave in creates {
        let mut ops = Vec::with_capacity(wave.len());
        for &i in &wave {
            let mut user = plan.changes[i]
                .create
                .clone()
                .expect("a Create carries its user");
            if let Some(manager) = user.manager.take() {
                match target_ids.get(&key(&manager)) {
                    Some(id) => user.manager = Some(id.clone()),
                    None => pending_links.push((i, manager)),
                }
            }
            ops.push(TargetOp::Create(user));
        }
        for (&i, result) in wave.iter().zip(target.apply(ops).await) {
            outcomes[i] = match result {
                Ok(Some(id)) => {
                    target_ids.insert(key(&plan.changes[i].external_id), id);
                    Outcome::Applied
                }
                Ok(None) => Outcome::Failed(TargetError::new(
                    TargetErrorKind::InvalidData,
                    "the target created the user but returned no id",
                )),
                Err(error) => Outcome::Failed(error),
            };
        }
    }

    // Updates, once the users they may link to as manager exist. A manager whose create
    // failed is left for a later run.
    let updates = not_done(by_kind(ChangeKind::Update), &outcomes);
    if !updates.is_empty() {
        let ops = updates
            .iter()
            .map(|&i| existing_op(&plan.changes[i], &target_ids).0)
            .collect();
        for (&i, result) in updates.iter().zip(target.apply(ops).await) {
            outcomes[i] = match result {
                Ok(_) => Outcome::Applied,
                Err(error) => Outcome::Failed(error),
            };
        }
    }

    // Manager links of users created in this run whose manager was not there yet.
    let mut link_failures = Vec::new();
    let mut links = Vec::new();
    let mut ops = Vec::new();
    for (i, manager) in pending_links {
        let change = &plan.changes[i];
        let (Outcome::Applied, Some(id), Some(manager_id)) = (
            &outcomes[i],
            target_ids.get(&key(&change.external_id)),
            target_ids.get(&key(&manager)),
        ) else {
            // A manager whose create a safeguard withheld is linked once that plan is approved.
            let manager_withheld = plan
                .withheld
                .iter()
                .any(|w| w.kind == ChangeKind::Create && key(&w.external_id) == key(&manager));
            if outcomes[i] == Outcome::Applied && !manager_withheld {
                link_failures.push(LinkFailure {
                    external_id: change.external_id.clone(),
                    error: TargetError::new(
                        TargetErrorKind::NotFound,
                        format!("manager {manager} was not created; linked on a later run"),
                    ),
                });
            }
            continue;
        };
        links.push(i);
        ops.push(TargetOp::Update {
            id: id.clone(),
            version: None,
            changes: vec![AttrChange {
                attr: Attr::Manager,
                before: None,
                after: Some(Value::String(manager_id.to_string())),
            }],
        });
    }
    if !ops.is_empty() {
        for (&i, result) in links.iter().zip(target.apply(ops).await) {
            if let Err(error) = result {
                link_failures.push(LinkFailure {
                    external_id: plan.changes[i].external_id.clone(),
                    error,
                });
            }
        }
    }

    Applied {
        outcomes,
        link_failures,
    }
}

/// The target operation of a change to an existing user, with manager externalIds resolved to
/// target ids, and the manager left out when it does not exist (yet): its externalId is
/// returned, for a link once it is created (or, when its creation failed, a later run).
fn existing_op(
    change: &Change,
    target_ids: &HashMap<String, CompactString>,
) -> (TargetOp, Option<CompactString>) {
    let id = change
        .target_id
        .clone()
        .expect("changes to existing users carry the id");
    let mut unresolved = None;
    let changes: Vec<AttrChange> = change
        .changes
        .iter()
        .filter_map(|c| {
            if c.attr != Attr::Manager {
                return Some(c.clone());
            }
            let after = match c.after.as_ref().and_then(Value::as_str) {
                None => None,
                Some(manager) => match target_ids.get(&key(manager)) {
                    Some(id) => Some(Value::String(id.to_string())),
                    None => {
                        unresolved = Some(CompactString::from(manager));
                        return None;
                    }
                },
            };
            Some(AttrChange {
                attr: Attr::Manager,
                before: c.before.clone(),
                after,
            })
        })
        .collect();
    let version = change.version.clone();
    let op = match change.kind {
        ChangeKind::Delete => TargetOp::Delete { id },
        ChangeKind::Deactivate => TargetOp::Deactivate {
            id,
            version,
            changes,
        },
        _ => TargetOp::Update {
            id,
            version,
            changes,
        },
    };
    (op, unresolved)
}

/// The changes among `indices` that are still to be made.
fn not_done(indices: Vec<usize>, outcomes: &[Outcome]) -> Vec<usize> {
    indices
        .into_iter()
        .filter(|&i| outcomes[i] == Outcome::Planned)
        .collect()
}

/// Under a seat limit, marks the seat-takers that no seat is left for once some removals
/// failed (their seats stay taken): the last ones in seat order are not attempted.
fn hold_seats_still_taken(plan: &Plan, outcomes: &mut [Outcome]) {
    let Some(seats) = &plan.seats else {
        return;
    };
    let freed = seats
        .freeing
        .iter()
        .filter(|&&i| outcomes[i] == Outcome::Applied)
        .count();
    if freed == seats.freeing.len() {
        return;
    }
    for &i in seats.taking.iter().skip(seats.takers_allowed(freed)) {
        outcomes[i] = Outcome::Failed(TargetError::new(
            TargetErrorKind::LicenseLimitExceeded,
            format!(
                "not attempted: a removal that was to free a seat failed, and this would pass \
                 seatLimit {}; a later run tries again",
                seats.limit
            ),
        ));
    }
}

/// Splits creates into waves: users whose manager is not being created, then their reports,
/// and so on. Cycles (bad HR data) end up in the last wave and are linked afterwards.
fn order_managers_first(plan: &Plan, creates: Vec<usize>) -> Vec<Vec<usize>> {
    let index_of: HashMap<String, usize> = creates
        .iter()
        .map(|&i| (key(&plan.changes[i].external_id), i))
        .collect();
    let manager_of = |i: usize| {
        plan.changes[i]
            .create
            .as_ref()
            .and_then(|u| u.manager.as_ref())
            .and_then(|m| index_of.get(&key(m)).copied())
            .filter(|&m| m != i)
    };
    let mut waves: Vec<Vec<usize>> = Vec::new();
    let mut placed: HashMap<usize, usize> = HashMap::new();
    let mut remaining = creates;
    while !remaining.is_empty() {
        let wave_number = waves.len();
        let (ready, waiting): (Vec<usize>, Vec<usize>) = remaining.into_iter().partition(|&i| {
            manager_of(i).is_none_or(|m| placed.get(&m).is_some_and(|&w| w < wave_number))
        });
        if ready.is_empty() {
            waves.push(waiting);
            break;
        }
        for &i in &ready {
            placed.insert(i, wave_number);
        }
        waves.push(ready);
        remaining = waiting;
    }
    waves
}

/// Case-insensitive map key of an externalId.
fn key(value: &str) -> String {
    value.to_lowercase()
}
