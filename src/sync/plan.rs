//! Planning: employees + directory users → the changes that bring the directory in step.
//!
//! Pure: no I/O, no clock (the evaluation date is an input). Every rule of DESIGN §4 that
//! concerns *what* to change lives here; *how* to change it is the apply step's.

use std::{
    collections::{HashMap, HashSet},
    hash::{Hash, Hasher},
};

use compact_str::CompactString;
use jiff::civil::Date;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{
    field::eq_ignore_case,
    filter,
    lifecycle::{self, Disposition},
    map,
    model::{Attr, AttrChange, DirectoryUser, Employee, NewUser, RecordError},
    policy::SyncPolicy,
};
use crate::crd::{MatchKey, RemovalAction};

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
}

/// Why an employee or change was skipped.
#[derive(Clone, Debug, PartialEq)]
pub enum SkipReason {
    /// Before the pre-hire window; created from the given date.
    NotYetStarted(Date),
    /// Pending with no start date.
    PendingWithoutStartDate,
    /// No address of an allowed type.
    NoUsableEmail,
    /// A leaver matched an unmanaged user, which is never adopted just to remove it.
    LeaverNotManaged,
    /// The change's kind is switched off in `operations`.
    OperationDisabled(ChangeKind),
}

impl SkipReason {
    /// Text for reports.
    pub fn describe(&self) -> String {
        match self {
            SkipReason::NotYetStarted(from) => format!("not started yet; created from {from}"),
            SkipReason::PendingWithoutStartDate => "pending without a start date".into(),
            SkipReason::NoUsableEmail => "no email of an allowed type".into(),
            SkipReason::LeaverNotManaged => {
                "left, but the matching user is not managed by this connection".into()
            }
            SkipReason::OperationDisabled(kind) => {
                format!("{} is switched off in operations", kind.as_str())
            }
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

/// Why removals were withheld.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SafeguardTrip {
    /// The source returned no employees while the target has managed users. Not approvable.
    pub empty_source: bool,
    /// Planned removals (deactivations plus deletions).
    pub removals: usize,
    /// Users managed by this connection.
    pub managed_users: usize,
    /// Human-readable limit that was exceeded.
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
    /// Hash of every planned change (including withheld ones); see [`plan_hash`].
    pub hash: String,
}

impl Plan {
    /// Hash of what a run leaves undone when it withholds removals: the plan the next run will
    /// compute if nothing else changes, so approving it lets exactly those removals through.
    pub fn withheld_hash(&self) -> Option<String> {
        (!self.withheld.is_empty()).then(|| plan_hash(&self.withheld))
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
    /// A plan hash approved by a person: a plan with this hash is not withheld (except for an
    /// empty source).
    pub approved_hash: Option<&'a str>,
}

/// A string compared and hashed case-insensitively, without allocating for short ASCII keys.
#[derive(Clone, Copy, Debug)]
struct Caseless<'a>(&'a str);

impl PartialEq for Caseless<'_> {
    fn eq(&self, other: &Self) -> bool {
        eq_ignore_case(self.0, other.0)
    }
}

impl Eq for Caseless<'_> {}

impl Hash for Caseless<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let bytes = self.0.as_bytes();
        if self.0.is_ascii() && bytes.len() <= 128 {
            let mut folded = [0u8; 128];
            for (slot, byte) in folded.iter_mut().zip(bytes) {
                *slot = byte.to_ascii_lowercase();
            }
            state.write(&folded[..bytes.len()]);
        } else {
            let folded: String = self.0.chars().flat_map(char::to_lowercase).collect();
            state.write(folded.as_bytes());
        }
        state.write_u8(0xff);
    }
}

/// Target users indexed by externalId and by login/email: the first index and a count.
struct UserIndex<'a> {
    users: &'a [DirectoryUser],
    by_external_id: HashMap<Caseless<'a>, (u32, u32)>,
    by_email: HashMap<Caseless<'a>, (u32, u32)>,
}

impl<'a> UserIndex<'a> {
    fn new(users: &'a [DirectoryUser]) -> Self {
        let mut by_external_id = HashMap::with_capacity(users.len());
        let mut by_email = HashMap::with_capacity(users.len());
        let add = |map: &mut HashMap<Caseless<'a>, (u32, u32)>, key: &'a str, index: u32| {
            if !key.is_empty() {
                map.entry(Caseless(key))
                    .and_modify(|(_, count)| *count += 1)
                    .or_insert((index, 1));
            }
        };
        for (index, user) in users.iter().enumerate() {
            let index = index as u32;
            if let Some(external_id) = &user.external_id {
                add(&mut by_external_id, external_id, index);
            }
            if let Some(email) = &user.email {
                add(&mut by_email, email, index);
            }
            if let Some(user_name) = &user.user_name
                && !user
                    .email
                    .as_deref()
                    .is_some_and(|email| eq_ignore_case(email, user_name))
            {
                add(&mut by_email, user_name, index);
            }
        }
        Self {
            users,
            by_external_id,
            by_email,
        }
    }

    /// Every user index the key finds.
    fn lookup(&self, key: MatchKey, value: &str) -> Vec<u32> {
        let (map, field): (_, fn(&DirectoryUser) -> [Option<&str>; 2]) = match key {
            MatchKey::ExternalId => (&self.by_external_id, |u| [u.external_id.as_deref(), None]),
            MatchKey::Email => (&self.by_email, |u| {
                [u.email.as_deref(), u.user_name.as_deref()]
            }),
        };
        match map.get(&Caseless(value)) {
            None => Vec::new(),
            Some(&(first, 1)) => vec![first],
            Some(_) => (0..self.users.len() as u32)
                .filter(|&i| {
                    field(&self.users[i as usize])
                        .iter()
                        .flatten()
                        .any(|v| eq_ignore_case(v, value))
                })
                .collect(),
        }
    }
}

/// What pass one decided for a kept employee.
enum Outcome {
    Create,
    Existing(u32),
}

struct Candidate<'a> {
    employee: &'a Employee,
    email: &'a str,
    disposition: Disposition,
    outcome: Outcome,
}

/// Plans the changes that bring the target in step with the source.
pub fn plan(input: &PlanInput<'_>, policy: &SyncPolicy) -> Plan {
    let index = UserIndex::new(input.users);
    let prefix = policy.external_id_prefix.as_str();
    let is_managed = |user: &DirectoryUser| {
        user.external_id
            .as_deref()
            .is_some_and(|id| has_prefix_ignore_case(id, prefix))
    };
    let managed_users = input.users.iter().filter(|u| is_managed(u)).count();

    let mut conflicts = Vec::new();
    let mut skipped = Vec::new();

    // Employee ids present in the source (kept by the filters, or unreadable): their managed
    // users are never treated as absent.
    let mut seen_ids: HashMap<Caseless<'_>, u32> = HashMap::with_capacity(input.employees.len());
    for employee in input.employees {
        *seen_ids.entry(Caseless(&employee.id)).or_default() += 1;
    }
    let mut protected: HashSet<Caseless<'_>> = input
        .record_errors
        .iter()
        .filter_map(|e| e.employee_id.as_deref())
        .map(Caseless)
        .collect();

    // Pass one: filter, lifecycle, match.
    let mut candidates: Vec<Candidate<'_>> = Vec::with_capacity(input.employees.len());
    let mut claims: HashMap<u32, u32> = HashMap::new();
    let mut create_emails: HashMap<Caseless<'_>, u32> = HashMap::new();
    for employee in input.employees {
        let email = map::choose_email(employee, &policy.email_priority);
        if !filter::keep(employee, email, &policy.filters) {
            continue;
        }
        protected.insert(Caseless(&employee.id));
        let external_id = policy.external_id(&employee.id);
        if seen_ids[&Caseless(&employee.id)] > 1 {
            conflicts.push(Conflict {
                employee_id: employee.id.clone(),
                email: email.map(Into::into),
                kind: ConflictKind::DuplicateEmployeeId,
                target_ids: Vec::new(),
            });
            continue;
        }
        let disposition = lifecycle::disposition(employee, &policy.lifecycle, input.as_of);
        match disposition {
            Disposition::NotYet { from } => {
                skipped.push(Skip {
                    employee_id: Some(employee.id.clone()),
                    external_id,
                    reason: SkipReason::NotYetStarted(from),
                });
                continue;
            }
            Disposition::NoStartDate => {
                skipped.push(Skip {
                    employee_id: Some(employee.id.clone()),
                    external_id,
                    reason: SkipReason::PendingWithoutStartDate,
                });
                continue;
            }
            _ => {}
        }
        let by_external_id = index.lookup(MatchKey::ExternalId, &external_id);
        let Some(email) = email else {
            if !disposition.is_leaver() || !by_external_id.is_empty() {
                skipped.push(Skip {
                    employee_id: Some(employee.id.clone()),
                    external_id,
                    reason: SkipReason::NoUsableEmail,
                });
            }
            continue;
        };
        let by_email = index.lookup(MatchKey::Email, email);
        let conflict = |kind, target_ids: &[u32]| Conflict {
            employee_id: employee.id.clone(),
            email: Some(email.into()),
            kind,
            target_ids: target_ids
                .iter()
                .map(|&i| input.users[i as usize].id.clone())
                .collect(),
        };

        let mut matched = None;
        let mut via = None;
        for key in &policy.matching {
            let hits = match key {
                MatchKey::ExternalId => &by_external_id,
                MatchKey::Email => &by_email,
            };
            if !hits.is_empty() {
                matched = Some(hits.clone());
                via = Some(*key);
                break;
            }
        }
        let outcome = match matched {
            Some(hits) if hits.len() > 1 => {
                conflicts.push(conflict(ConflictKind::MultipleMatches, &hits));
                continue;
            }
            Some(hits) => {
                let user_index = hits[0];
                let user = &input.users[user_index as usize];
                // Our externalId on another user too: which one is ours would be a guess.
                if by_external_id.iter().any(|&i| i != user_index) {
                    let mut all = by_external_id.clone();
                    all.push(user_index);
                    all.sort_unstable();
                    all.dedup();
                    conflicts.push(conflict(ConflictKind::MultipleMatches, &all));
                    continue;
                }
                if via == Some(MatchKey::Email) && is_managed(user) {
                    // Found by email, but the user belongs to another employee of ours.
                    conflicts.push(conflict(ConflictKind::EmailTaken, &hits));
                    continue;
                }
                let holds_email = [user.email.as_deref(), user.user_name.as_deref()]
                    .iter()
                    .flatten()
                    .any(|current| eq_ignore_case(current, email));
                let others: Vec<u32> = by_email
                    .iter()
                    .copied()
                    .filter(|&i| i != user_index)
                    .collect();
                if !holds_email && !others.is_empty() {
                    conflicts.push(conflict(ConflictKind::EmailTaken, &others));
                    continue;
                }
                if disposition.is_leaver() && !is_managed(user) {
                    skipped.push(Skip {
                        employee_id: Some(employee.id.clone()),
                        external_id,
                        reason: SkipReason::LeaverNotManaged,
                    });
                    continue;
                }
                *claims.entry(user_index).or_default() += 1;
                Outcome::Existing(user_index)
            }
            None => {
                if disposition.is_leaver() {
                    continue;
                }
                if !by_email.is_empty() {
                    conflicts.push(conflict(ConflictKind::EmailTaken, &by_email));
                    continue;
                }
                *create_emails.entry(Caseless(email)).or_default() += 1;
                Outcome::Create
            }
        };
        candidates.push(Candidate {
            employee,
            email,
            disposition,
            outcome,
        });
    }

    // Several employees on one user, or one new email: none of them is acted upon.
    candidates.retain(|candidate| {
        let (shared, kind, target_ids) = match candidate.outcome {
            Outcome::Existing(i) => (
                claims[&i] > 1,
                ConflictKind::SharedUser,
                vec![input.users[i as usize].id.clone()],
            ),
            Outcome::Create => (
                create_emails[&Caseless(candidate.email)] > 1,
                ConflictKind::DuplicateEmail,
                Vec::new(),
            ),
        };
        if shared {
            conflicts.push(Conflict {
                employee_id: candidate.employee.id.clone(),
                email: Some(candidate.email.into()),
                kind,
                target_ids,
            });
        }
        !shared
    });

    // Users that will exist after the run, by externalId, for manager links.
    let deleted: HashSet<u32> = candidates
        .iter()
        .filter_map(|c| match (c.disposition, &c.outcome) {
            (Disposition::Delete, Outcome::Existing(i)) => Some(*i),
            _ => None,
        })
        .collect();
    let claimed: HashSet<u32> = claims.keys().copied().collect();
    let absent: Vec<u32> = (0..input.users.len() as u32)
        .filter(|i| {
            let user = &input.users[*i as usize];
            is_managed(user)
                && !claimed.contains(i)
                && !user.external_id.as_deref().is_some_and(|id| {
                    protected.contains(&Caseless(strip_prefix_ignore_case(id, prefix)))
                })
        })
        .collect();
    let absent_deleted = policy.lifecycle.absent_users == RemovalAction::Delete;
    let mut will_exist: HashSet<Caseless<'_>> = HashSet::with_capacity(input.users.len());
    for (i, user) in input.users.iter().enumerate() {
        let i = i as u32;
        if deleted.contains(&i) || (absent_deleted && absent.binary_search(&i).is_ok()) {
            continue;
        }
        if let Some(external_id) = &user.external_id {
            will_exist.insert(Caseless(external_id));
        }
    }
    // Created and adopted users carry our externalId after the run.
    let future_ids: Vec<CompactString> = candidates
        .iter()
        .filter(|c| match c.outcome {
            Outcome::Create => true,
            Outcome::Existing(i) => !deleted.contains(&i),
        })
        .map(|c| policy.external_id(&c.employee.id))
        .collect();
    for id in &future_ids {
        will_exist.insert(Caseless(id));
    }
    let resolvable = |manager: Option<CompactString>| {
        manager.filter(|m| input.managers && will_exist.contains(&Caseless(m)))
    };
    let external_id_of_target: HashMap<&str, &str> = if input.managers {
        input
            .users
            .iter()
            .filter_map(|u| Some((u.id.as_str(), u.external_id.as_deref()?)))
            .collect()
    } else {
        HashMap::new()
    };

    // Pass two: the changes.
    let mut changes = Vec::new();
    let mut unchanged = 0;
    for candidate in &candidates {
        let employee = candidate.employee;
        let external_id = policy.external_id(&employee.id);
        match (&candidate.outcome, candidate.disposition) {
            (Outcome::Create, Disposition::Provision { active }) => {
                let mut user = map::desired_user(employee, candidate.email, active, policy);
                user.manager = resolvable(user.manager);
                changes.push(Change {
                    kind: ChangeKind::Create,
                    reason: if active {
                        Reason::Joiner
                    } else {
                        Reason::PreHire
                    },
                    external_id,
                    employee_id: Some(employee.id.clone()),
                    target_id: None,
                    version: None,
                    email: Some(user.email.clone()),
                    create: Some(user),
                    changes: Vec::new(),
                });
            }
            (Outcome::Existing(i), Disposition::Provision { active }) => {
                let current = &input.users[*i as usize];
                let mut desired = map::desired_user(employee, candidate.email, active, policy);
                desired.manager = resolvable(desired.manager);
                let attr_changes = diff(current, &desired, policy, &external_id_of_target, input);
                if attr_changes.is_empty() {
                    unchanged += 1;
                    continue;
                }
                let deactivates = attr_changes
                    .iter()
                    .any(|c| c.attr == Attr::Active && c.after == Some(Value::Bool(false)));
                let (kind, reason) = if deactivates {
                    (ChangeKind::Deactivate, Reason::NotYetActive)
                } else if attr_changes.iter().any(|c| c.attr == Attr::ExternalId) {
                    (ChangeKind::Update, Reason::Adopted)
                } else if attr_changes.iter().any(|c| c.attr == Attr::Active) {
                    (ChangeKind::Update, Reason::Reactivated)
                } else {
                    (ChangeKind::Update, Reason::Changed)
                };
                changes.push(existing_change(
                    kind,
                    reason,
                    current,
                    external_id,
                    Some(employee.id.clone()),
                    Some(desired.email),
                    attr_changes,
                ));
            }
            (Outcome::Existing(i), Disposition::Deactivate) => {
                let current = &input.users[*i as usize];
                if !current.active {
                    unchanged += 1;
                    continue;
                }
                changes.push(existing_change(
                    ChangeKind::Deactivate,
                    Reason::Leaver,
                    current,
                    external_id,
                    Some(employee.id.clone()),
                    current.email.clone(),
                    vec![deactivation()],
                ));
            }
            (Outcome::Existing(i), Disposition::Delete) => {
                let current = &input.users[*i as usize];
                let reason = if policy.lifecycle.inactive_users == RemovalAction::Delete {
                    Reason::Leaver
                } else {
                    Reason::RemovalDue
                };
                changes.push(existing_change(
                    ChangeKind::Delete,
                    reason,
                    current,
                    external_id,
                    Some(employee.id.clone()),
                    current.email.clone(),
                    Vec::new(),
                ));
            }
            (Outcome::Existing(_), _) => unchanged += 1,
            (Outcome::Create, _) => {}
        }
    }

    for &i in &absent {
        let user = &input.users[i as usize];
        let external_id = user.external_id.clone().unwrap_or_default();
        let kind = match policy.lifecycle.absent_users {
            RemovalAction::Ignore => continue,
            RemovalAction::Deactivate if !user.active => {
                unchanged += 1;
                continue;
            }
            RemovalAction::Deactivate => ChangeKind::Deactivate,
            RemovalAction::Delete => ChangeKind::Delete,
        };
        let attr_changes = if kind == ChangeKind::Deactivate {
            vec![deactivation()]
        } else {
            Vec::new()
        };
        changes.push(existing_change(
            kind,
            Reason::Absent,
            user,
            external_id,
            None,
            user.email.clone(),
            attr_changes,
        ));
    }

    // Operations switched off: the change is reported as skipped.
    let operations = &policy.operations;
    changes.retain(|change| {
        let allowed = match change.kind {
            ChangeKind::Create => operations.create,
            ChangeKind::Update => operations.update,
            ChangeKind::Deactivate => operations.deactivate,
            ChangeKind::Delete => operations.delete,
        };
        if !allowed {
            skipped.push(Skip {
                employee_id: change.employee_id.clone(),
                external_id: change.external_id.clone(),
                reason: SkipReason::OperationDisabled(change.kind),
            });
        }
        allowed
    });

    changes.sort_by(|a, b| (a.kind, &a.external_id).cmp(&(b.kind, &b.external_id)));
    conflicts.sort_by(|a, b| a.employee_id.cmp(&b.employee_id));
    skipped.sort_by(|a, b| a.external_id.cmp(&b.external_id));
    let hash = plan_hash(&changes);

    let removals = changes.iter().filter(|c| c.kind.is_removal()).count();
    let safeguard = safeguard(
        input.employees.len() + input.record_errors.len(),
        removals,
        managed_users,
        policy,
        input.approved_hash == Some(hash.as_str()),
    );
    let withheld = if safeguard.is_some() {
        let (withheld, kept) = changes.into_iter().partition(|c| c.kind.is_removal());
        changes = kept;
        withheld
    } else {
        Vec::new()
    };

    Plan {
        as_of: input.as_of,
        changes,
        withheld,
        safeguard,
        conflicts,
        skipped,
        unchanged,
        managed_users,
        employees: input.employees.len(),
        hash,
    }
}

fn safeguard(
    source_records: usize,
    removals: usize,
    managed_users: usize,
    policy: &SyncPolicy,
    approved: bool,
) -> Option<SafeguardTrip> {
    if removals == 0 {
        return None;
    }
    let trip = |empty_source, limit: String| SafeguardTrip {
        empty_source,
        removals,
        managed_users,
        limit,
    };
    if source_records == 0 {
        return Some(trip(
            true,
            "the source returned no employees; nobody is removed on an empty source".into(),
        ));
    }
    if approved {
        return None;
    }
    let limits = &policy.safeguards;
    let percent = u64::from(limits.max_delete_percent);
    if removals as u64 * 100 > percent * managed_users as u64 {
        return Some(trip(
            false,
            format!(
                "{removals} of {managed_users} managed users is more than maxDeletePercent {percent}%"
            ),
        ));
    }
    let count = limits.max_delete_count;
    if count > 0 && removals > count as usize {
        return Some(trip(
            false,
            format!("{removals} removals is more than maxDeleteCount {count}"),
        ));
    }
    None
}

fn deactivation() -> AttrChange {
    AttrChange {
        attr: Attr::Active,
        before: Some(Value::Bool(true)),
        after: Some(Value::Bool(false)),
    }
}

fn existing_change(
    kind: ChangeKind,
    reason: Reason,
    user: &DirectoryUser,
    external_id: CompactString,
    employee_id: Option<CompactString>,
    email: Option<CompactString>,
    changes: Vec<AttrChange>,
) -> Change {
    Change {
        kind,
        reason,
        external_id,
        employee_id,
        target_id: Some(user.id.clone()),
        version: user.version.clone(),
        email,
        create: None,
        changes,
    }
}

/// The attribute changes from `current` to `desired`. Emails and externalIds compare
/// case-insensitively; the manager compares by the manager's externalId.
fn diff(
    current: &DirectoryUser,
    desired: &NewUser,
    policy: &SyncPolicy,
    external_id_of_target: &HashMap<&str, &str>,
    input: &PlanInput<'_>,
) -> Vec<AttrChange> {
    let mut changes = Vec::new();
    let text = |value: Option<&str>| value.map(|v| Value::String(v.to_owned()));
    let mut compare = |attr: Attr, before: Option<&str>, after: Option<&str>, caseless: bool| {
        let same = match (before, after) {
            (Some(b), Some(a)) if caseless => eq_ignore_case(a, b),
            (b, a) => b.filter(|v| !v.is_empty()) == a.filter(|v| !v.is_empty()),
        };
        if !same {
            changes.push(AttrChange {
                attr,
                before: text(before),
                after: text(after),
            });
        }
    };
    compare(
        Attr::ExternalId,
        current.external_id.as_deref(),
        Some(&desired.external_id),
        true,
    );
    compare(
        Attr::Email,
        current.email.as_deref(),
        Some(&desired.email),
        true,
    );
    compare(
        Attr::FirstName,
        current.first_name.as_deref(),
        Some(&desired.first_name),
        false,
    );
    compare(
        Attr::LastName,
        current.last_name.as_deref(),
        Some(&desired.last_name),
        false,
    );
    compare(
        Attr::PreferredLanguage,
        current.preferred_language.as_deref(),
        desired.preferred_language.as_deref(),
        false,
    );
    if input.managers {
        let current_manager = current
            .manager_id
            .as_deref()
            .map(|id| external_id_of_target.get(id).copied().unwrap_or(id));
        compare(
            Attr::Manager,
            current_manager,
            desired.manager.as_deref(),
            true,
        );
    }
    if current.active != desired.active {
        changes.push(AttrChange {
            attr: Attr::Active,
            before: Some(Value::Bool(current.active)),
            after: Some(Value::Bool(desired.active)),
        });
    }
    for mapping in &policy.mappings {
        let before = current.attributes.get(&mapping.to);
        let after = desired.attributes.get(&mapping.to);
        if before != after {
            changes.push(AttrChange {
                attr: Attr::Mapped(mapping.to.clone()),
                before: before.cloned(),
                after: after.cloned(),
            });
        }
    }
    changes
}

/// A stable hash of a list of changes: the same changes give the same hash on every run and
/// machine. 20 hex digits (80 bits).
pub fn plan_hash(changes: &[Change]) -> String {
    let mut hasher = Sha256::new();
    for change in changes {
        hasher.update(change.kind.as_str().as_bytes());
        hasher.update([0x1f]);
        hasher.update(change.external_id.to_lowercase().as_bytes());
        hasher.update([0x1f]);
        hasher.update(change.target_id.as_deref().unwrap_or("").as_bytes());
        if let Some(user) = &change.create {
            hasher.update(
                format!(
                    "\x1f{}\x1f{}\x1f{}\x1f{:?}\x1f{}\x1f{:?}",
                    user.email.to_lowercase(),
                    user.first_name,
                    user.last_name,
                    user.preferred_language,
                    user.active,
                    user.manager
                )
                .as_bytes(),
            );
            for (name, value) in user.attributes.iter() {
                hasher.update(format!("\x1f{name}={value}").as_bytes());
            }
        }
        for attr in &change.changes {
            hasher.update(
                format!(
                    "\x1f{}:{}>{}",
                    attr.attr.name(),
                    attr.before.as_ref().map(Value::to_string).unwrap_or_default(),
                    attr.after.as_ref().map(Value::to_string).unwrap_or_default()
                )
                .as_bytes(),
            );
        }
        hasher.update([0x1e]);
    }
    let digest = hasher.finalize();
    digest[..10].iter().map(|b| format!("{b:02x}")).collect()
}

fn has_prefix_ignore_case(value: &str, prefix: &str) -> bool {
    value.len() >= prefix.len()
        && value.is_char_boundary(prefix.len())
        && eq_ignore_case(&value[..prefix.len()], prefix)
}

fn strip_prefix_ignore_case<'a>(value: &'a str, prefix: &str) -> &'a str {
    if has_prefix_ignore_case(value, prefix) {
        &value[prefix.len()..]
    } else {
        value
    }
}
