//! Planning: employees + directory users → the changes that bring the directory in step.
//!
//! Pure: no I/O, no clock (the evaluation date is an input). Every sync rule of the README's
//! "How users are synced" that concerns *what* to change lives here; *how* to change it is the
//! apply step's. The steps, in order: `matching` (pass one: who is in scope, and which user
//! is theirs), `managers` (whose user a manager link points at), `changes` (pass two: what each
//! user needs), the seat limit (`seats`: creates and reactivations past
//! `safeguards.seatLimit` are held back), the `hash` a person approves and the safeguards
//! (`safeguard::withhold`).

mod changes;
mod hash;
mod index;
mod managers;
mod matching;

use compact_str::CompactString;
use jiff::civil::Date;
use serde::Serialize;

use self::{
    changes::{Leaving, Planned},
    hash::plan_hash,
    index::{UserIndex, owned_id},
    managers::Managers,
    matching::Matched,
};
use super::{
    model::{AttrChange, DirectoryUser, Employee, NewUser, RecordError},
    policy::SyncPolicy,
    safeguard::{self, Census, GuardTrip},
    seats::{HeldBack, SeatCheck, Seats},
};

/// What a change does to a user.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum ChangeKind {
    /// Create a user.
    Create,
    /// Change attributes (including adopting and reactivating).
    Update,
    /// Set a user inactive.
    Deactivate,
    /// Delete a user.
    Delete,
}

impl ChangeKind {
    /// Name in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Create => "Create",
            ChangeKind::Update => "Update",
            ChangeKind::Deactivate => "Deactivate",
            ChangeKind::Delete => "Delete",
        }
    }

    /// Whether the change removes access (the kinds safeguards count).
    pub fn is_removal(self) -> bool {
        matches!(self, ChangeKind::Deactivate | ChangeKind::Delete)
    }
}

/// Why a change is planned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Reason {
    /// A new employee who is active now.
    Joiner,
    /// A new employee inside the pre-hire window, created inactive.
    PreHire,
    /// An existing unmanaged user matched by email, linked to its employee.
    Adopted,
    /// An inactive user whose employee is active again (rehire or activation date reached).
    Reactivated,
    /// HR data changed.
    Changed,
    /// The activation date moved into the future.
    NotYetActive,
    /// The employee left.
    Leaver,
    /// The employee left and the removal delay has passed.
    RemovalDue,
    /// The employee is no longer in the source, or a filter now drops them.
    Absent,
}

/// One planned change of one user.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    /// What is done.
    pub kind: ChangeKind,
    /// Why.
    pub reason: Reason,
    /// The user's externalId (ours after the change).
    pub external_id: CompactString,
    /// HR id of the employee, when there is one.
    pub employee_id: Option<CompactString>,
    /// Target id of an existing user.
    pub target_id: Option<CompactString>,
    /// Version tag of the existing user, for optimistic concurrency.
    pub version: Option<CompactString>,
    /// The user's email (current for removals, desired otherwise).
    pub email: Option<CompactString>,
    /// The user to create, for a Create.
    pub create: Option<NewUser>,
    /// Attribute changes, for Update and Deactivate.
    pub changes: Vec<AttrChange>,
}

/// Why an employee could not be matched safely.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ConflictKind {
    /// The email is held by another user (managed under another externalId, or unmanaged while
    /// email matching is off), so it cannot be given to this employee.
    EmailTaken,
    /// The employee matches more than one target user.
    MultipleMatches,
    /// Several employees match the same target user.
    SharedUser,
    /// Several employees would be created with the same email.
    DuplicateEmail,
    /// The source holds the employee id more than once.
    DuplicateEmployeeId,
    /// The email is held by a user of ours whose employee is no longer in the source: most
    /// likely the same person under a new HR id.
    ReKeyed,
    /// The email belongs to a deactivated account this connection does not manage. Adopting it
    /// would revive whatever data and groups it kept.
    InactiveAccount,
}

/// An employee left untouched because matching it would be a guess.
#[derive(Clone, Debug, PartialEq)]
pub struct Conflict {
    /// HR id.
    pub employee_id: CompactString,
    /// The chosen email.
    pub email: Option<CompactString>,
    /// What kind of conflict.
    pub kind: ConflictKind,
    /// Target ids of the users involved.
    pub target_ids: Vec<CompactString>,
    /// The externalIds those users hold ("" for none), in the same order.
    pub holders: Vec<CompactString>,
    /// The externalId the employee's user would have.
    pub external_id: CompactString,
}

impl Conflict {
    /// What a person can do to resolve the conflict: what to change, and where.
    pub fn resolution(&self) -> String {
        let users = || {
            self.target_ids
                .iter()
                .zip(&self.holders)
                .map(|(id, holder)| match holder.as_str() {
                    "" => format!("user {id} (no externalId)"),
                    holder => format!("user {id} ({holder})"),
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let employee = &self.employee_id;
        match self.kind {
            ConflictKind::EmailTaken => format!(
                "the address is held by {}: give employee {employee} its own address in the HR \
                 system, or free the address in the target",
                users()
            ),
            ConflictKind::ReKeyed => {
                let old = self.holders.first().map_or("", |h| h.as_str());
                format!(
                    "the address is held by {}, whose employee is no longer in the source. If \
                     employee {employee} is that person under a new HR id, set that user's \
                     externalId to {} in the target (the next run then updates it), or give \
                     the person the old id back in the HR system; if it is someone else, free \
                     the address. Until then neither account is changed or removed ({old} \
                     included)",
                    users(),
                    self.external_id
                )
            }
            ConflictKind::InactiveAccount => format!(
                "the address belongs to the deactivated {}, which this connection does not \
                 manage: delete or rename that account in the target to create a fresh one, or \
                 set its externalId to {} to adopt it deliberately",
                users(),
                self.external_id
            ),
            ConflictKind::MultipleMatches => format!(
                "several users match employee {employee} ({}): remove the duplicate in the \
                 target",
                users()
            ),
            ConflictKind::SharedUser => format!(
                "several employees match {}: correct the duplicated address or id in the HR \
                 system",
                users()
            ),
            ConflictKind::DuplicateEmail => format!(
                "several new employees have this address: give each its own in the HR system \
                 (employee {employee} is one)"
            ),
            ConflictKind::DuplicateEmployeeId => format!(
                "the source holds employee id {employee} more than once: remove the duplicate \
                 record in the HR system or export"
            ),
        }
    }
}

/// Why an employee or change was skipped.
#[derive(Clone, Debug, PartialEq)]
pub enum SkipReason {
    /// Before the pre-hire window; created from the given date.
    NotYetStarted(Date),
    /// Pending with no start date.
    PendingWithoutStartDate,
    /// No address of an allowed type. For an employee without any address, the source's
    /// explanation when it has one ([`Source::missing_email_hint`], added by the run).
    ///
    /// [`Source::missing_email_hint`]: crate::sync::ports::source::Source::missing_email_hint
    NoUsableEmail(Option<std::sync::Arc<str>>),
    /// A leaver matched an unmanaged user, which is never adopted just to remove it.
    LeaverNotManaged,
    /// The change's kind is switched off in `operations`.
    OperationDisabled(ChangeKind),
    /// A managed user absent from the source is kept: this many source records could not be
    /// read, and one of them may be this user's.
    AbsentWhileRecordsUnreadable(usize),
    /// A joiner before its start date whose email matches an active account we do not manage:
    /// adopting it now would deactivate it, so it is adopted once the joiner is active.
    AdoptionWaitsForStart(Option<Date>),
    /// The user is part of a conflict (see conflicts.csv): it is neither changed nor removed
    /// while the conflict stands.
    InConflict,
    /// The employee id contains the prefix's separator, so its externalId could be confused
    /// with another connection's.
    IdContainsSeparator(char),
    /// Creating (or, for `reactivation`, reactivating) the user would pass `seatLimit`, with
    /// the employee's start date, which decides who gets a free seat.
    SeatLimit {
        /// `spec.safeguards.seatLimit`.
        limit: u32,
        /// A reactivation rather than a create.
        reactivation: bool,
        /// The employee's start date.
        start: Option<Date>,
    },
}

impl SkipReason {
    /// The reason's name in reports.
    pub fn code(&self) -> &'static str {
        match self {
            SkipReason::NotYetStarted(_) => "NotYetStarted",
            SkipReason::PendingWithoutStartDate => "PendingWithoutStartDate",
            SkipReason::NoUsableEmail(_) => "NoUsableEmail",
            SkipReason::LeaverNotManaged => "LeaverNotManaged",
            SkipReason::OperationDisabled(_) => "OperationDisabled",
            SkipReason::AbsentWhileRecordsUnreadable(_) => "AbsentWhileRecordsUnreadable",
            SkipReason::AdoptionWaitsForStart(_) => "AdoptionWaitsForStart",
            SkipReason::InConflict => "InConflict",
            SkipReason::IdContainsSeparator(_) => "IdContainsSeparator",
            SkipReason::SeatLimit { .. } => "SeatLimit",
        }
    }

    /// Text for reports.
    pub fn describe(&self) -> String {
        match self {
            SkipReason::NotYetStarted(from) => format!("not started yet; created from {from}"),
            SkipReason::PendingWithoutStartDate => "pending without a start date".into(),
            SkipReason::NoUsableEmail(None) => "no email of an allowed type".into(),
            SkipReason::NoUsableEmail(Some(hint)) => format!("no email address: {hint}"),
            SkipReason::LeaverNotManaged => {
                "left, but the matching user is not managed by this connection".into()
            }
            SkipReason::OperationDisabled(kind) => {
                format!("{} is switched off in operations", kind.as_str())
            }
            SkipReason::AbsentWhileRecordsUnreadable(count) => format!(
                "absent from the source, but kept: {count} source record(s) could not be read \
                 (see errors.csv) and one may be this user's; once they are fixed, a run \
                 removes it"
            ),
            SkipReason::AdoptionWaitsForStart(start) => format!(
                "the email matches an active account this connection does not manage; it is \
                 adopted once the employee is active{}, never deactivated before",
                start.map(|d| format!(" (starts {d})")).unwrap_or_default()
            ),
            SkipReason::InConflict => {
                "the user is part of a conflict (see conflicts.csv); it is neither changed nor \
                 removed until the conflict is resolved"
                    .into()
            }
            SkipReason::IdContainsSeparator(separator) => format!(
                "the employee id contains `{separator}`, the separator that ends \
                 externalIdPrefix; choose a prefix ending in a character no id contains"
            ),
            SkipReason::SeatLimit {
                limit,
                reactivation,
                start,
            } => format!(
                "not {}: seatLimit {limit} is reached (every seat is taken once this run's \
                 removals are made); free seats go to the earliest start dates ({}), and a \
                 later run {} the user once a seat is free",
                if *reactivation {
                    "reactivated"
                } else {
                    "created"
                },
                match start {
                    Some(date) => format!("this employee starts {date}"),
                    None => "this employee has no start date, so comes last".into(),
                },
                if *reactivation {
                    "reactivates"
                } else {
                    "creates"
                },
            ),
        }
    }
}

/// An employee or change not acted upon.
#[derive(Clone, Debug, PartialEq)]
pub struct Skip {
    /// HR id, when there is one.
    pub employee_id: Option<CompactString>,
    /// The externalId concerned.
    pub external_id: CompactString,
    /// Why.
    pub reason: SkipReason,
}

/// Why changes were withheld.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SafeguardTrip {
    /// The source returned no employees while the target has managed users: its removals are
    /// withheld whatever is approved.
    pub empty_source: bool,
    /// The plan hash a person approved, when the plan has changed since: nothing is applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outdated_approval: Option<String>,
    /// The guards that tripped, and by how much.
    #[serde(default)]
    pub guards: Vec<GuardTrip>,
    /// Changes withheld.
    pub withheld: usize,
    /// Users managed by this connection.
    pub managed_users: usize,
    /// What was exceeded, for people: one clause per tripped guard.
    pub limit: String,
}

/// The outcome of planning.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The date lifecycle rules were evaluated on.
    pub as_of: Date,
    /// Changes to make, sorted by kind then externalId.
    pub changes: Vec<Change>,
    /// Removals withheld by a safeguard.
    pub withheld: Vec<Change>,
    /// Why removals were withheld.
    pub safeguard: Option<SafeguardTrip>,
    /// Employees not matched safely.
    pub conflicts: Vec<Conflict>,
    /// Employees and changes skipped.
    pub skipped: Vec<Skip>,
    /// Users already in their desired state.
    pub unchanged: usize,
    /// Users managed by this connection before the run.
    pub managed_users: usize,
    /// Employees the source returned.
    pub employees: usize,
    /// Hash of every planned change (including withheld ones, and the ones the seat limit held
    /// back): what a person approves.
    pub hash: String,
    /// The seats, when `spec.safeguards.seatLimit` is set.
    pub seats: Option<Seats>,
}

impl Plan {
    /// Hash of what a run leaves undone when it withholds removals: the plan the next run will
    /// compute if nothing else changes, so approving it lets exactly those removals through.
    pub fn withheld_hash(&self) -> Option<String> {
        (!self.withheld.is_empty()).then(|| plan_hash(&self.withheld, self.held_back()))
    }

    /// The creates and reactivations the seat limit held back.
    pub fn held_back(&self) -> &[Change] {
        self.seats.as_ref().map_or(&[], |seats| &seats.held_back)
    }

    /// Number of planned changes of a kind (not counting withheld ones).
    pub fn count(&self, kind: ChangeKind) -> usize {
        self.changes.iter().filter(|c| c.kind == kind).count()
    }
}

/// Everything planning reads.
#[derive(Clone, Copy, Debug)]
pub struct PlanInput<'a> {
    /// Employees from the source.
    pub employees: &'a [Employee],
    /// Source records that could not be read; their employees' users are protected.
    pub record_errors: &'a [RecordError],
    /// Users in the target.
    pub users: &'a [DirectoryUser],
    /// The evaluation date, in the connection's time zone.
    pub as_of: Date,
    /// Whether the target can hold manager links.
    pub managers: bool,
    /// Whether the target can delete users; when not, deletions become deactivations.
    pub deletes: bool,
    /// A plan hash approved by a person: a plan with this hash is not withheld (except for an
    /// empty source).
    pub approved_hash: Option<&'a str>,
}

/// Plans the changes that bring the target in step with the source.
pub fn plan(input: &PlanInput<'_>, policy: &SyncPolicy) -> Plan {
    let users = input.users;
    let index = UserIndex::new(users);
    let census = census(users, policy);
    let Matched {
        candidates,
        protected,
        claims,
        mut conflicts,
        mut skipped,
    } = matching::match_employees(input, policy, &index);
    // Every account in a conflict is left exactly as it is while the conflict stands.
    let frozen = conflicted_users(users, &conflicts);
    let leaving = Leaving::new(input, policy, &candidates, &claims, &protected, &frozen);
    let managers = Managers::new(
        policy,
        &index,
        &leaving.removed,
        &candidates,
        input.managers,
    );

    let mut planned = Planned::default();
    planned.of_candidates(candidates, &frozen, &managers, input, policy, &mut skipped);
    planned.of_absent(&leaving.absent, input, policy, &mut skipped);
    planned.drop_disabled(&policy.operations, &mut skipped);
    let Planned {
        mut changes,
        mut unchanged,
    } = planned;

    changes.sort_by(|a, b| (a.kind, &a.external_id).cmp(&(b.kind, &b.external_id)));
    let seat_check = policy
        .safeguards
        .seat_limit
        .map(|limit| SeatCheck::new(input, limit));
    let mut held_back = Vec::new();
    if let Some(check) = &seat_check {
        let HeldBack {
            kept,
            held,
            emptied,
        } = check.hold_back(changes, &mut skipped);
        changes = kept;
        held_back = held;
        unchanged += emptied;
    }
    conflicts.sort_by(|a, b| a.employee_id.cmp(&b.employee_id));
    skipped.sort_by(|a, b| a.external_id.cmp(&b.external_id));
    let hash = plan_hash(&changes, &held_back);

    let (mut changes, mut withheld, mut safeguard) =
        safeguard::withhold(changes, &hash, census, input, policy);
    let mut seats = None;
    if let Some(check) = seat_check {
        (changes, withheld) =
            check.wait_for_withheld_removals(changes, withheld, &mut safeguard, census.managed);
        seats = Some(check.seats(&changes, held_back));
    }
    Plan {
        as_of: input.as_of,
        changes,
        withheld,
        safeguard,
        conflicts,
        skipped,
        unchanged,
        managed_users: census.managed,
        employees: input.employees.len(),
        hash,
        seats,
    }
}

/// The users a plan's percentages are taken of: those this connection manages, and the active
/// ones among them.
fn census(users: &[DirectoryUser], policy: &SyncPolicy) -> Census {
    let prefix = policy.external_id_prefix.as_str();
    users.iter().filter(|u| owned_id(prefix, u).is_some()).fold(
        Census::default(),
        |census, user| Census {
            managed: census.managed + 1,
            active_managed: census.active_managed + usize::from(user.active),
        },
    )
}

/// Which users a conflict involves, by index.
fn conflicted_users(users: &[DirectoryUser], conflicts: &[Conflict]) -> Vec<bool> {
    let mut frozen = vec![false; users.len()];
    if conflicts.iter().all(|c| c.target_ids.is_empty()) {
        return frozen;
    }
    let by_id: index::FastMap<&str, usize> = users
        .iter()
        .enumerate()
        .map(|(i, user)| (user.id.as_str(), i))
        .collect();
    for id in conflicts.iter().flat_map(|c| &c.target_ids) {
        if let Some(&i) = by_id.get(id.as_str()) {
            frozen[i] = true;
        }
    }
    frozen
}
