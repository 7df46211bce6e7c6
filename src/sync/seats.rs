//! The seat limit (`spec.safeguards.seatLimit`): the most active users the target may hold,
//! counted as licenses count them — every active user of the target, whether this connection
//! manages it or not. Unlike the guards of `safeguard` it is no share of a plan that a person
//! approves: a change that would pass it is not attempted at all.
//!
//! A change takes a seat when it makes a user active (the create of an active user, a
//! reactivation) and frees one when it makes an active user inactive or deletes it. Planning
//! counts the seats the plan's removals free as free, gives the free seats to the seat-takers
//! in seat order (earliest start date first, ties by employee id, no start date last) and holds
//! back the rest ([`SeatCheck::hold_back`]). When the safeguards then withhold removals, the
//! seats those would have freed stay taken: the seat-takers that needed them are withheld with
//! them ([`SeatCheck::wait_for_withheld_removals`]), so approving the withheld plan lets both
//! through and the limit is never passed. The apply step checks once more when a removal fails
//! ([`Seats::takers_allowed`]).
//!
//! Pure: the planner calls it on its sorted changes.

use std::collections::HashSet;

use compact_str::CompactString;
use jiff::civil::Date;
use serde_json::Value;

use super::{
    field::eq_ignore_case_key,
    model::{Attr, DirectoryUser, Employee},
    plan::{Change, ChangeKind, PlanInput, SafeguardTrip, Skip, SkipReason},
    safeguard::{FastMap, GuardKind, GuardTrip, select},
};

/// The seats of a planned run.
#[derive(Clone, Debug, PartialEq)]
pub struct Seats {
    /// `spec.safeguards.seatLimit`.
    pub limit: u32,
    /// Active users in the target before the run, managed by this connection or not.
    pub active_before: usize,
    /// Active users once the plan's changes are made (withheld ones not counted).
    pub active_after: usize,
    /// Creates and reactivations not attempted for lack of seats, sorted like the plan's
    /// changes.
    pub held_back: Vec<Change>,
    /// The plan's changes that free a seat (indices into `Plan::changes`).
    pub freeing: Vec<usize>,
    /// The plan's changes that take a seat (indices into `Plan::changes`), in seat order.
    pub taking: Vec<usize>,
}

impl Seats {
    /// How many of the seat-takers may go when only `freed` of the removals that free a seat
    /// were made: the first ones in seat order get the seats.
    pub fn takers_allowed(&self, freed: usize) -> usize {
        (self.limit as usize + freed).saturating_sub(self.active_before)
    }
}

/// What a change does to the number of active users.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Effect {
    /// It makes a user active.
    Takes,
    /// It makes an active user inactive, or deletes it.
    Frees,
    /// Neither.
    Neutral,
}

/// What a list of changes does to the seats.
struct Survey {
    /// Seats its removals free.
    freed: usize,
    /// Its seat-takers (indices), in seat order.
    taking: Vec<usize>,
    /// Its seat-freeing removals (indices).
    freeing: Vec<usize>,
}

/// The seat limit of one plan, with what it reads.
pub(crate) struct SeatCheck<'a> {
    limit: u32,
    active_before: usize,
    users: &'a [DirectoryUser],
    employees: &'a [Employee],
}

/// The changes that go and the ones held back for lack of seats.
pub(crate) struct HeldBack {
    /// Changes that go.
    pub(crate) kept: Vec<Change>,
    /// Changes not attempted.
    pub(crate) held: Vec<Change>,
    /// Updates left with nothing to do once their manager link to a held-back user is dropped.
    pub(crate) emptied: usize,
}

impl<'a> SeatCheck<'a> {
    /// The limit `limit` on the target users of `input`.
    pub(crate) fn new(input: &PlanInput<'a>, limit: u32) -> Self {
        SeatCheck {
            limit,
            active_before: input.users.iter().filter(|u| u.active).count(),
            users: input.users,
            employees: input.employees,
        }
    }

    /// Seats free once `freed` of them are freed.
    fn free(&self, freed: usize) -> usize {
        (self.limit as usize + freed).saturating_sub(self.active_before)
    }

    /// Holds back the seat-takers past the limit, counting the seats every removal of the plan
    /// frees. Each held-back employee is reported as skipped; a kept change's manager link to a
    /// held-back user is dropped (a later run sets it, once that user exists).
    pub(crate) fn hold_back(&self, changes: Vec<Change>, skipped: &mut Vec<Skip>) -> HeldBack {
        let survey = self.survey(&changes);
        let free = self.free(survey.freed);
        if survey.taking.len() <= free {
            return HeldBack {
                kept: changes,
                held: Vec::new(),
                emptied: 0,
            };
        }
        let mut hold = vec![false; changes.len()];
        for &i in &survey.taking[free..] {
            hold[i] = true;
        }
        let mut flags = hold.into_iter();
        let (held, kept): (Vec<Change>, Vec<Change>) = changes
            .into_iter()
            .partition(|_| flags.next().unwrap_or(false));
        let starts = self.start_dates(&held);
        for change in &held {
            let start = change
                .employee_id
                .as_deref()
                .and_then(|id| starts.get(id).copied())
                .flatten();
            skipped.push(Skip {
                employee_id: change.employee_id.clone(),
                external_id: change.external_id.clone(),
                reason: SkipReason::SeatLimit {
                    limit: self.limit,
                    reactivation: change.kind == ChangeKind::Update,
                    start,
                },
            });
        }
        let (kept, emptied) = unlink_managers(kept, &held);
        HeldBack {
            kept,
            held,
            emptied,
        }
    }

    /// When the safeguards withheld removals, the seats they would have freed stay taken: the
    /// kept seat-takers past the limit are withheld with them (the last in seat order first),
    /// and the trip says so. Returns the changes that go and the withheld ones, sorted.
    pub(crate) fn wait_for_withheld_removals(
        &self,
        kept: Vec<Change>,
        mut withheld: Vec<Change>,
        trip: &mut Option<SafeguardTrip>,
        managed_users: usize,
    ) -> (Vec<Change>, Vec<Change>) {
        let survey = self.survey(&kept);
        let free = self.free(survey.freed);
        if survey.taking.len() <= free {
            return (kept, withheld);
        }
        let waiting = survey.taking.len() - free;
        let mut wait = vec![false; kept.len()];
        for &i in &survey.taking[free..] {
            wait[i] = true;
        }
        let mut flags = wait.into_iter();
        let (waits, kept): (Vec<Change>, Vec<Change>) = kept
            .into_iter()
            .partition(|_| flags.next().unwrap_or(false));
        withheld.extend(waits);
        withheld.sort_by(|a, b| (a.kind, &a.external_id).cmp(&(b.kind, &b.external_id)));
        let guard = GuardTrip {
            guard: GuardKind::SeatLimit,
            attribute: None,
            changes: waiting,
            base: self.limit as usize,
            limit: format!(
                "seatLimit: {waiting} creates or reactivations wait for the withheld removals \
                 that free their seats ({} active users, seatLimit {})",
                self.active_before, self.limit
            ),
        };
        let trip = trip.get_or_insert_with(|| SafeguardTrip {
            empty_source: false,
            outdated_approval: None,
            guards: Vec::new(),
            withheld: 0,
            managed_users,
            limit: String::new(),
        });
        trip.limit = if trip.limit.is_empty() {
            guard.limit.clone()
        } else {
            format!("{}; {}", trip.limit, guard.limit)
        };
        trip.guards.push(guard);
        trip.withheld = withheld.len();
        (kept, withheld)
    }

    /// The seats of the finished plan: `changes` go, `held_back` were held back.
    pub(crate) fn seats(&self, changes: &[Change], held_back: Vec<Change>) -> Seats {
        let survey = self.survey(changes);
        Seats {
            limit: self.limit,
            active_before: self.active_before,
            active_after: (self.active_before + survey.taking.len()).saturating_sub(survey.freed),
            held_back,
            freeing: survey.freeing,
            taking: survey.taking,
        }
    }

    /// The effect of every change, the seats freed, and the seat-takers in seat order.
    fn survey(&self, changes: &[Change]) -> Survey {
        let deleted: Vec<&str> = changes
            .iter()
            .filter(|c| c.kind == ChangeKind::Delete)
            .filter_map(|c| c.target_id.as_deref())
            .collect();
        let active: FastMap<&str, bool> =
            select(self.users, &deleted, |u| (u.id.as_str(), u.active));
        let mut taking = Vec::new();
        let mut freeing = Vec::new();
        for (i, change) in changes.iter().enumerate() {
            match effect(change, &active) {
                Effect::Takes => taking.push(i),
                Effect::Frees => freeing.push(i),
                Effect::Neutral => {}
            }
        }
        let takers: Vec<&Change> = taking.iter().map(|&i| &changes[i]).collect();
        let starts = self.start_dates(takers.iter().copied());
        let start = |change: &Change| {
            change
                .employee_id
                .as_deref()
                .and_then(|id| starts.get(id).copied())
                .flatten()
        };
        // Earliest start first, a missing start date last, ties by employee id.
        taking.sort_by_cached_key(|&i| {
            let change = &changes[i];
            let start = start(change);
            (
                start.is_none(),
                start,
                change
                    .employee_id
                    .clone()
                    .unwrap_or_else(|| change.external_id.clone()),
            )
        });
        Survey {
            freed: freeing.len(),
            taking,
            freeing,
        }
    }

    /// The start dates of the employees of `changes`, by employee id.
    fn start_dates<'c>(
        &self,
        changes: impl IntoIterator<Item = &'c Change>,
    ) -> FastMap<&'a str, Option<Date>> {
        let ids: Vec<&str> = changes
            .into_iter()
            .filter_map(|c| c.employee_id.as_deref())
            .collect();
        select(self.employees, &ids, |e| (e.id.as_str(), e.start_date))
    }
}

/// What `change` does to the number of active users. `active` holds the state of the users
/// the plan deletes; a deletion of a user not found there frees no seat (the cautious count).
fn effect(change: &Change, active: &FastMap<&str, bool>) -> Effect {
    match change.kind {
        ChangeKind::Create if change.create.as_ref().is_some_and(|user| user.active) => {
            Effect::Takes
        }
        ChangeKind::Create => Effect::Neutral,
        ChangeKind::Deactivate => Effect::Frees,
        ChangeKind::Delete
            if change
                .target_id
                .as_deref()
                .and_then(|id| active.get(id).copied())
                .unwrap_or(false) =>
        {
            Effect::Frees
        }
        ChangeKind::Delete => Effect::Neutral,
        ChangeKind::Update if reactivates(change) => Effect::Takes,
        ChangeKind::Update => Effect::Neutral,
    }
}

/// Whether an update makes its user active.
fn reactivates(change: &Change) -> bool {
    change
        .changes
        .iter()
        .any(|c| c.attr == Attr::Active && c.after == Some(Value::Bool(true)))
}

/// Drops the manager links of `kept` that point at a user of `held` (never created or
/// reactivated in this run): a create gets no manager yet, an update loses its manager change.
/// An update with nothing else to do is dropped. Returns the changes and how many were dropped.
fn unlink_managers(kept: Vec<Change>, held: &[Change]) -> (Vec<Change>, usize) {
    let held: HashSet<CompactString> = held
        .iter()
        .map(|c| eq_ignore_case_key(&c.external_id).into())
        .collect();
    let is_held = |manager: &str| held.contains(eq_ignore_case_key(manager).as_ref());
    let before = kept.len();
    let kept: Vec<Change> = kept
        .into_iter()
        .filter_map(|mut change| {
            if let Some(user) = &mut change.create
                && user.manager.as_deref().is_some_and(is_held)
            {
                user.manager = None;
            }
            let linked_to_held = |c: &super::model::AttrChange| {
                c.attr == Attr::Manager
                    && c.after
                        .as_ref()
                        .and_then(Value::as_str)
                        .is_some_and(is_held)
            };
            if change.changes.iter().any(linked_to_held) {
                change.changes.retain(|c| !linked_to_held(c));
                if change.changes.is_empty() && change.kind == ChangeKind::Update {
                    return None;
                }
            }
            Some(change)
        })
        .collect();
    let emptied = before - kept.len();
    (kept, emptied)
}
