//! Safeguards: a limit on every kind of change a plan can make, so that a broken export, a typo
//! or a lost permission never changes many accounts without a person approving that plan.
//!
//! Each guard counts its changes against a base and trips past `maxPercent` of it or past
//! `maxCount`. The changes of every tripped guard are withheld together; everything else still
//! goes. Pure: the planner calls `withhold` on the finished plan, which applies an approval and
//! the empty-source rule and asks [`check`] for the guards' verdict.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    email::same_email,
    model::{Attr, DirectoryUser, EmailType, Employee},
    plan::{Change, ChangeKind, PlanInput, SafeguardTrip},
    policy::SyncPolicy,
};

/// The limits of one safeguard. A guard with neither set never trips.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Guard {
    /// Trip when the changes exceed this percentage of the guard's base.
    pub max_percent: Option<u32>,
    /// Trip when the changes exceed this count.
    pub max_count: Option<u32>,
}

/// The limits of every guard.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Guards {
    /// Deactivations plus deletions, against the active managed users (deletions of already
    /// deactivated users also against all managed users).
    pub removals: Guard,
    /// Changes of an existing user's email or login, and adoptions that move an externalId.
    pub identity_changes: Guard,
    /// Deactivated users made active again.
    pub reactivations: Guard,
    /// A mapped attribute going from a value to empty, per attribute.
    pub attribute_clears: Guard,
    /// New users.
    pub creates: Guard,
    /// The most active users the target may hold, managed or not (`None`: no limit). Not a
    /// guard that approval lifts: see `crate::sync::seats`.
    pub seat_limit: Option<u32>,
}

/// The kinds of change a safeguard limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum GuardKind {
    /// Deactivations and deletions.
    Removals,
    /// Changes of an existing user's email (its sign-in name on most targets), or of the
    /// externalId linking it to another system.
    IdentityChanges,
    /// Deactivated users made active again.
    Reactivations,
    /// A mapped attribute going from a value to empty.
    AttributeClears,
    /// New users.
    Creates,
    /// Creates and reactivations waiting for withheld removals to free their seats under
    /// `seatLimit` (see `crate::sync::seats`).
    SeatLimit,
}

impl GuardKind {
    /// The guard's field under `spec.safeguards`.
    pub fn field(self) -> &'static str {
        match self {
            GuardKind::Removals => "removals",
            GuardKind::IdentityChanges => "identityChanges",
            GuardKind::Reactivations => "reactivations",
            GuardKind::AttributeClears => "attributeClears",
            GuardKind::Creates => "creates",
            GuardKind::SeatLimit => "seatLimit",
        }
    }
}

/// One tripped guard, and by how much.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GuardTrip {
    /// Which guard.
    pub guard: GuardKind,
    /// The attribute, for an attribute-clears guard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribute: Option<String>,
    /// Changes of this kind in the plan.
    pub changes: usize,
    /// What the percentage is taken of.
    pub base: usize,
    /// The limit exceeded, for people.
    pub limit: String,
}

/// The users a plan's percentages are taken of.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Census {
    /// Users managed by this connection.
    pub managed: usize,
    /// Managed users that are active.
    pub active_managed: usize,
}

/// What the guards found: the tripped guards, and for each change whether it is withheld.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Verdict {
    /// Tripped guards, in guard order.
    pub trips: Vec<GuardTrip>,
    /// One flag per change: withheld by a tripped guard.
    pub withhold: Vec<bool>,
}

/// What one change does, as the guards see it.
#[derive(Default)]
struct Facts {
    removal: bool,
    active_removal: bool,
    identity: bool,
    personal_move: bool,
    reactivation: bool,
    clears: Vec<Arc<str>>,
    create: bool,
}

/// Checks a plan's changes against the guards.
pub fn check(
    changes: &[Change],
    users: &[DirectoryUser],
    employees: &[Employee],
    census: Census,
    guards: &Guards,
) -> Verdict {
    let facts = classify(changes, users, employees);
    let count = |test: fn(&Facts) -> bool| facts.iter().filter(|f| test(f)).count();
    let mut trips = Vec::new();

    let removals = count(|f| f.removal);
    let active_removals = count(|f| f.active_removal);
    let removals_trip = exceeds(
        GuardKind::Removals,
        &guards.removals,
        active_removals,
        census.active_managed,
        "active managed users",
    )
    .or_else(|| {
        exceeds(
            GuardKind::Removals,
            &guards.removals,
            removals,
            census.managed,
            "managed users",
        )
    });
    let identity_trip = exceeds(
        GuardKind::IdentityChanges,
        &guards.identity_changes,
        count(|f| f.identity),
        census.managed,
        "managed users",
    );
    let reactivations_trip = exceeds(
        GuardKind::Reactivations,
        &guards.reactivations,
        count(|f| f.reactivation),
        census.managed,
        "managed users",
    );
    let creates_trip = exceeds(
        GuardKind::Creates,
        &guards.creates,
        count(|f| f.create),
        census.managed,
        "managed users",
    );
    let held = [
        removals_trip.is_some(),
        identity_trip.is_some(),
        reactivations_trip.is_some(),
        creates_trip.is_some(),
    ];
    trips.extend(removals_trip);
    trips.extend(identity_trip);
    let personal_moves = count(|f| f.personal_move);
    if personal_moves > 0 {
        trips.push(GuardTrip {
            guard: GuardKind::IdentityChanges,
            attribute: None,
            changes: personal_moves,
            base: census.managed,
            limit: format!(
                "identityChanges: {personal_moves} users' email would move from a work address \
                 to a personal one, which always needs approval"
            ),
        });
    }
    trips.extend(reactivations_trip);
    let cleared_trips = clears_trips(&facts, &guards.attribute_clears, census.managed);
    let clears_held: Vec<Arc<str>> = cleared_trips
        .iter()
        .filter_map(|t| t.attribute.as_deref().map(Arc::from))
        .collect();
    trips.extend(cleared_trips);
    trips.extend(creates_trip);

    let [
        removals_held,
        identity_held,
        reactivations_held,
        creates_held,
    ] = held;
    let withhold = facts
        .iter()
        .map(|f| {
            (f.removal && removals_held)
                || (f.identity && identity_held)
                || f.personal_move
                || (f.reactivation && reactivations_held)
                || (f.create && creates_held)
                || f.clears.iter().any(|a| clears_held.contains(a))
        })
        .collect();
    Verdict { trips, withhold }
}

/// Splits a sorted plan into the changes that go and the ones the safeguards hold back.
///
/// An approval names one plan: a different plan is not applied at all, not even the changes no
/// guard would hold (they were never approved). An approved plan passes every guard but one:
/// a source that returned nobody never removes anyone.
pub(crate) fn withhold(
    mut changes: Vec<Change>,
    hash: &str,
    census: Census,
    input: &PlanInput<'_>,
    policy: &SyncPolicy,
) -> (Vec<Change>, Vec<Change>, Option<SafeguardTrip>) {
    let mut trip = SafeguardTrip {
        empty_source: false,
        outdated_approval: None,
        guards: Vec::new(),
        withheld: 0,
        managed_users: census.managed,
        limit: String::new(),
    };
    if let Some(approved) = input.approved_hash
        && approved != hash
        && !changes.is_empty()
    {
        trip.outdated_approval = Some(approved.to_owned());
        trip.withheld = changes.len();
        trip.limit = format!(
            "the plan changed since {approved} was approved (it is now {hash}); nothing is \
             applied until the new plan is approved"
        );
        return (Vec::new(), changes, Some(trip));
    }
    let empty_source = input.employees.is_empty()
        && input.record_errors.is_empty()
        && changes.iter().any(|c| c.kind.is_removal());
    let mut hold = if input.approved_hash == Some(hash) {
        vec![false; changes.len()]
    } else {
        let verdict = check(
            &changes,
            input.users,
            input.employees,
            census,
            &policy.safeguards,
        );
        trip.guards = verdict.trips;
        verdict.withhold
    };
    if empty_source {
        for (held, change) in hold.iter_mut().zip(&changes) {
            *held |= change.kind.is_removal();
        }
    }
    if !hold.contains(&true) {
        return (changes, Vec::new(), None);
    }
    let mut clauses: Vec<String> = Vec::new();
    if empty_source {
        trip.empty_source = true;
        clauses
            .push("the source returned no employees; nobody is removed on an empty source".into());
    }
    clauses.extend(trip.guards.iter().map(|g| g.limit.clone()));
    trip.limit = clauses.join("; ");
    let mut flags = hold.into_iter();
    let (withheld, kept): (Vec<Change>, Vec<Change>) = std::mem::take(&mut changes)
        .into_iter()
        .partition(|_| flags.next().unwrap_or(false));
    trip.withheld = withheld.len();
    (kept, withheld, Some(trip))
}

/// The attribute-clears guard, per attribute.
fn clears_trips(facts: &[Facts], guard: &Guard, managed: usize) -> Vec<GuardTrip> {
    let mut cleared: Vec<(&Arc<str>, usize)> = Vec::new();
    for attribute in facts.iter().flat_map(|f| &f.clears) {
        match cleared.iter_mut().find(|(name, _)| *name == attribute) {
            Some((_, n)) => *n += 1,
            None => cleared.push((attribute, 1)),
        }
    }
    cleared.sort();
    cleared
        .into_iter()
        .filter_map(|(attribute, n)| {
            let mut trip = exceeds(
                GuardKind::AttributeClears,
                guard,
                n,
                managed,
                "managed users",
            )?;
            trip.limit = format!("{} (attribute {attribute})", trip.limit);
            trip.attribute = Some(attribute.to_string());
            Some(trip)
        })
        .collect()
}

/// The trip of a guard when `changes` exceed its limits against `base`.
fn exceeds(
    kind: GuardKind,
    guard: &Guard,
    changes: usize,
    base: usize,
    base_name: &str,
) -> Option<GuardTrip> {
    if changes == 0 {
        return None;
    }
    let field = kind.field();
    let trip = |limit: String| GuardTrip {
        guard: kind,
        attribute: None,
        changes,
        base,
        limit,
    };
    if let Some(percent) = guard.max_percent
        && changes as u64 * 100 > u64::from(percent) * base as u64
    {
        let share = if base == 0 {
            "all".to_owned()
        } else {
            format!("{}%", (changes as u64 * 100).div_ceil(base as u64))
        };
        return Some(trip(format!(
            "{field}: {changes} of {base} {base_name} ({share}) is more than maxPercent {percent}%"
        )));
    }
    if let Some(count) = guard.max_count
        && changes > count as usize
    {
        return Some(trip(format!(
            "{field}: {changes} is more than maxCount {count}"
        )));
    }
    None
}

fn classify(changes: &[Change], users: &[DirectoryUser], employees: &[Employee]) -> Vec<Facts> {
    // Only deletions need the user's state, and only email changes the employee: both are
    // looked up in one pass over a set of the few ids concerned, never a map of everyone.
    let deleted: Vec<&str> = changes
        .iter()
        .filter(|c| c.kind == ChangeKind::Delete)
        .filter_map(|c| c.target_id.as_deref())
        .collect();
    let active: FastMap<&str, bool> = select(users, &deleted, |u| (u.id.as_str(), u.active));
    let renamed: Vec<&str> = changes
        .iter()
        .filter(|c| c.changes.iter().any(|a| a.attr == Attr::Email))
        .filter_map(|c| c.employee_id.as_deref())
        .collect();
    let employee_of: FastMap<&str, &Employee> = select(employees, &renamed, |e| (e.id.as_str(), e));
    changes
        .iter()
        .map(|change| {
            let mut facts = Facts {
                removal: change.kind.is_removal(),
                create: change.kind == ChangeKind::Create,
                ..Facts::default()
            };
            facts.active_removal = match change.kind {
                ChangeKind::Deactivate => true,
                ChangeKind::Delete => change
                    .target_id
                    .as_deref()
                    .and_then(|id| active.get(id).copied())
                    .unwrap_or(true),
                _ => false,
            };
            for attr in &change.changes {
                match (&attr.attr, &attr.before, &attr.after) {
                    (Attr::Email, Some(Value::String(before)), Some(Value::String(after)))
                        if !before.is_empty() =>
                    {
                        facts.identity = true;
                        facts.personal_move = change
                            .employee_id
                            .as_deref()
                            .and_then(|id| employee_of.get(id))
                            .is_some_and(|employee| moves_to_personal(employee, before, after));
                    }
                    // Adopting a user linked elsewhere moves its link: a prefix typo adopts
                    // every user of the old prefix at once.
                    (Attr::ExternalId, Some(Value::String(before)), _) if !before.is_empty() => {
                        facts.identity = true;
                    }
                    (Attr::Active, Some(Value::Bool(false)), Some(Value::Bool(true))) => {
                        facts.reactivation = true;
                    }
                    (Attr::Mapped(name), Some(before), None) if !is_empty(before) => {
                        facts.clears.push(name.clone());
                    }
                    _ => {}
                }
            }
            facts
        })
        .collect()
}

pub(super) type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// The entries of `items` whose key is among `wanted` (usually a handful).
pub(super) fn select<'a, T, V>(
    items: &'a [T],
    wanted: &[&str],
    entry: impl Fn(&'a T) -> (&'a str, V),
) -> FastMap<&'a str, V> {
    if wanted.is_empty() {
        return FastMap::default();
    }
    let wanted: std::collections::HashSet<&str, foldhash::fast::RandomState> =
        wanted.iter().copied().collect();
    items
        .iter()
        .map(entry)
        .filter(|(key, _)| wanted.contains(key))
        .collect()
}

/// Whether an email change goes from an address that is not one of the employee's personal
/// ones to one that is: what a source that stops returning work addresses looks like.
fn moves_to_personal(employee: &Employee, before: &str, after: &str) -> bool {
    let personal = |address: &str| {
        employee
            .emails
            .iter()
            .any(|e| e.kind == EmailType::Personal && same_email(&e.address, address))
    };
    personal(after) && !personal(before)
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(text) => text.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}
