//! Planning: employees + directory users → the changes that bring the directory in step.
//!
//! Pure: no I/O, no clock (the evaluation date is an input). Every sync rule of the README's
//! "How users are synced" that concerns *what* to change lives here; *how* to change it is the
//! apply step's.

use std::{
    cell::OnceCell,
    collections::HashMap,
    hash::{BuildHasher, Hash, Hasher},
};

use hashbrown::hash_table::{Entry, HashTable};

use compact_str::CompactString;
use jiff::civil::Date;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{
    email::{EmailKey, same_email},
    field::eq_ignore_case,
    filter,
    lifecycle::{self, Disposition, RemovalAction},
    map,
    model::{Attr, AttrChange, DirectoryUser, Employee, NewUser, RecordError},
    policy::{MatchKey, SyncPolicy},
    safeguard::{self, Census, GuardTrip},
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
    /// No address of an allowed type.
    NoUsableEmail,
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
    /// Whether the target can delete users; when not, deletions become deactivations.
    pub deletes: bool,
    /// A plan hash approved by a person: a plan with this hash is not withheld (except for an
    /// empty source).
    pub approved_hash: Option<&'a str>,
}

type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

fn fast_map<K, V>(capacity: usize) -> FastMap<K, V> {
    HashMap::with_capacity_and_hasher(capacity, Default::default())
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
        if bytes.len() <= 128 && self.0.is_ascii() {
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

/// Where a key was found: the first row and how many rows hold it.
#[derive(Clone, Copy, Debug, Default)]
struct Hits {
    first: u32,
    count: u32,
}

/// How an index compares its keys.
#[derive(Clone, Copy)]
enum Compare {
    /// Ids: case-insensitive.
    Caseless,
    /// Email addresses: see [`same_email`].
    Email,
}

impl Compare {
    fn eq(self, a: &str, b: &str) -> bool {
        match self {
            Compare::Caseless => eq_ignore_case(a, b),
            Compare::Email => same_email(a, b),
        }
    }

    fn hash(self, state: &foldhash::fast::RandomState, key: &str) -> u64 {
        match self {
            Compare::Caseless => state.hash_one(Caseless(key)),
            Compare::Email => state.hash_one(EmailKey(key)),
        }
    }
}

/// Rows indexed by a case-insensitive key. The table stores row references only (8 bytes a
/// slot, against 24 for a map of string keys); keys are read back from the rows.
struct KeyIndex {
    table: HashTable<Slot>,
    state: foldhash::fast::RandomState,
    compare: Compare,
}

/// A row reference (row number shifted left, low bit: which of the row's keys) and a count.
#[derive(Clone, Copy)]
struct Slot {
    key: u32,
    count: u32,
}

impl KeyIndex {
    fn with_capacity(capacity: usize, compare: Compare) -> Self {
        Self {
            table: HashTable::with_capacity(capacity),
            state: Default::default(),
            compare,
        }
    }

    fn hash(&self, key: &str) -> u64 {
        self.compare.hash(&self.state, key)
    }

    /// Adds a key; `key_of` reads a slot's key back from its row.
    fn add<'a>(&mut self, key: u32, value: &str, key_of: impl Fn(u32) -> &'a str) {
        let hash = self.hash(value);
        let (state, compare) = (&self.state, self.compare);
        match self.table.entry(
            hash,
            |slot| compare.eq(key_of(slot.key), value),
            |slot| compare.hash(state, key_of(slot.key)),
        ) {
            Entry::Occupied(mut slot) => slot.get_mut().count += 1,
            Entry::Vacant(vacant) => {
                vacant.insert(Slot { key, count: 1 });
            }
        }
    }

    fn get<'a>(&self, value: &str, key_of: impl Fn(u32) -> &'a str) -> Hits {
        self.table
            .find(self.hash(value), |slot| {
                self.compare.eq(key_of(slot.key), value)
            })
            .map_or_else(Hits::default, |slot| Hits {
                first: slot.key >> 1,
                count: slot.count,
            })
    }
}

/// Target users indexed by externalId and by login/email.
struct UserIndex<'a> {
    users: &'a [DirectoryUser],
    by_external_id: KeyIndex,
    by_email: KeyIndex,
}

impl<'a> UserIndex<'a> {
    fn new(users: &'a [DirectoryUser]) -> Self {
        let mut by_external_id = KeyIndex::with_capacity(users.len(), Compare::Caseless);
        let mut by_email = KeyIndex::with_capacity(users.len(), Compare::Email);
        for (row, user) in users.iter().enumerate() {
            let key = (row as u32) << 1;
            if let Some(external_id) = user.external_id.as_deref().filter(|id| !id.is_empty()) {
                by_external_id.add(key, external_id, |key| external_id_of(users, key));
            }
            if let Some(email) = user.email.as_deref().filter(|email| !email.is_empty()) {
                by_email.add(key, email, |key| email_of(users, key));
            }
            if let Some(user_name) = user.user_name.as_deref().filter(|name| !name.is_empty())
                && !user
                    .email
                    .as_deref()
                    .is_some_and(|email| same_email(email, user_name))
            {
                by_email.add(key | 1, user_name, |key| email_of(users, key));
            }
        }
        Self {
            users,
            by_external_id,
            by_email,
        }
    }

    fn hits(&self, key: MatchKey, value: &str) -> Hits {
        match key {
            MatchKey::ExternalId => self
                .by_external_id
                .get(value, |key| external_id_of(self.users, key)),
            MatchKey::Email => self.by_email.get(value, |key| email_of(self.users, key)),
        }
    }

    /// Every user a key finds (a scan only when several hold it, which is rare).
    fn all(&self, key: MatchKey, value: &str, hits: Hits) -> Vec<u32> {
        match hits.count {
            0 => Vec::new(),
            1 => vec![hits.first],
            _ => (0..self.users.len() as u32)
                .filter(|&i| {
                    let user = &self.users[i as usize];
                    match key {
                        MatchKey::ExternalId => user
                            .external_id
                            .as_deref()
                            .is_some_and(|v| eq_ignore_case(v, value)),
                        MatchKey::Email => [user.email.as_deref(), user.user_name.as_deref()]
                            .iter()
                            .flatten()
                            .any(|v| same_email(v, value)),
                    }
                })
                .collect(),
        }
    }
}

/// The externalId a slot of the externalId index refers to.
fn external_id_of(users: &[DirectoryUser], key: u32) -> &str {
    users[(key >> 1) as usize]
        .external_id
        .as_deref()
        .unwrap_or("")
}

/// The email (low bit 0) or login (low bit 1) a slot of the email index refers to.
fn email_of(users: &[DirectoryUser], key: u32) -> &str {
    let user = &users[(key >> 1) as usize];
    let value = if key & 1 == 0 {
        &user.email
    } else {
        &user.user_name
    };
    value.as_deref().unwrap_or("")
}

/// What pass one decided for a kept employee.
#[derive(Clone, Copy)]
enum Outcome {
    Create,
    Existing(u32),
}

struct Candidate<'a> {
    employee: &'a Employee,
    disposition: Disposition,
    outcome: Outcome,
}

impl<'a> Candidate<'a> {
    /// The chosen email (recomputed rather than stored: a candidate per employee adds up).
    fn email(&self, policy: &SyncPolicy) -> &'a str {
        map::choose_email(self.employee, &policy.email_priority)
            .expect("only employees with an email become candidates")
    }
}

/// Plans the changes that bring the target in step with the source.
pub fn plan(input: &PlanInput<'_>, policy: &SyncPolicy) -> Plan {
    let users = input.users;
    let index = UserIndex::new(users);
    let prefix = policy.external_id_prefix.as_str();
    let census = users.iter().filter(|u| owned_id(prefix, u).is_some()).fold(
        Census::default(),
        |census, user| Census {
            managed: census.managed + 1,
            active_managed: census.active_managed + usize::from(user.active),
        },
    );
    let managed_users = census.managed;

    let mut conflicts = Vec::new();
    let mut skipped = Vec::new();

    let employee_id = |key: u32| input.employees[(key >> 1) as usize].id.as_str();
    let mut id_counts = KeyIndex::with_capacity(input.employees.len(), Compare::Caseless);
    for (row, employee) in input.employees.iter().enumerate() {
        id_counts.add((row as u32) << 1, &employee.id, employee_id);
    }
    // Managed users whose employee is in the source (kept by the filters, or unreadable) are
    // never treated as absent.
    let mut protected = vec![false; users.len()];
    let mut protect = |employee_id: &str, hits: Hits| match hits.count {
        0 => {}
        1 => protected[hits.first as usize] = true,
        _ => {
            let external_id = policy.external_id(employee_id);
            for i in index.all(MatchKey::ExternalId, &external_id, hits) {
                protected[i as usize] = true;
            }
        }
    };
    for error in input.record_errors {
        if let Some(id) = &error.employee_id {
            let hits = index.hits(MatchKey::ExternalId, &policy.external_id(id));
            protect(id, hits);
        }
    }

    // Pass one: filter, lifecycle, match.
    let mut candidates: Vec<Candidate<'_>> = Vec::with_capacity(input.employees.len());
    let mut claims = vec![0u8; users.len()];
    let mut create_emails: FastMap<EmailKey<'_>, u32> = fast_map(0);
    for employee in input.employees {
        let email = map::choose_email(employee, &policy.email_priority);
        if !filter::keep(employee, email, &policy.filters) {
            continue;
        }
        let external_id = policy.external_id(&employee.id);
        if let Some(separator) = prefix.chars().last()
            && employee.id.contains(separator)
        {
            skipped.push(Skip {
                employee_id: Some(employee.id.clone()),
                external_id,
                reason: SkipReason::IdContainsSeparator(separator),
            });
            continue;
        }
        let by_external_id = index.hits(MatchKey::ExternalId, &external_id);
        protect(&employee.id, by_external_id);
        if id_counts.get(&employee.id, employee_id).count > 1 {
            conflicts.push(Conflict {
                employee_id: employee.id.clone(),
                email: email.map(Into::into),
                kind: ConflictKind::DuplicateEmployeeId,
                target_ids: Vec::new(),
                holders: Vec::new(),
                external_id,
            });
            continue;
        }
        let disposition = lifecycle::disposition(employee, &policy.lifecycle, input.as_of);
        let skip = |reason| Skip {
            employee_id: Some(employee.id.clone()),
            external_id: external_id.clone(),
            reason,
        };
        match disposition {
            Disposition::NotYet { from } => {
                skipped.push(skip(SkipReason::NotYetStarted(from)));
                continue;
            }
            Disposition::NoStartDate => {
                skipped.push(skip(SkipReason::PendingWithoutStartDate));
                continue;
            }
            _ => {}
        }
        let Some(email) = email else {
            if !disposition.is_leaver() || by_external_id.count > 0 {
                skipped.push(skip(SkipReason::NoUsableEmail));
            }
            continue;
        };
        // Looked up only when needed: most employees are found by externalId with their email.
        let mut by_email_cache = None;
        let mut by_email =
            || *by_email_cache.get_or_insert_with(|| index.hits(MatchKey::Email, email));
        let conflict = |kind, target_ids: &[u32]| Conflict {
            employee_id: employee.id.clone(),
            email: Some(email.into()),
            kind,
            target_ids: target_ids
                .iter()
                .map(|&i| users[i as usize].id.clone())
                .collect(),
            holders: target_ids
                .iter()
                .map(|&i| users[i as usize].external_id.clone().unwrap_or_default())
                .collect(),
            external_id: external_id.clone(),
        };

        let matched = policy.matching.iter().find_map(|key| {
            let hits = match key {
                MatchKey::ExternalId => by_external_id,
                MatchKey::Email => by_email(),
            };
            (hits.count > 0).then_some((*key, hits))
        });
        let outcome = match matched {
            Some((key, hits)) if hits.count > 1 => {
                let value = match key {
                    MatchKey::ExternalId => external_id.as_str(),
                    MatchKey::Email => email,
                };
                conflicts.push(conflict(
                    ConflictKind::MultipleMatches,
                    &index.all(key, value, hits),
                ));
                continue;
            }
            Some((via, hits)) => {
                let user_index = hits.first;
                let user = &users[user_index as usize];
                // Our externalId on another user too: which one is ours would be a guess.
                if by_external_id.count > 1
                    || (by_external_id.count == 1 && by_external_id.first != user_index)
                {
                    let mut all = index.all(MatchKey::ExternalId, &external_id, by_external_id);
                    all.push(user_index);
                    all.sort_unstable();
                    all.dedup();
                    conflicts.push(conflict(ConflictKind::MultipleMatches, &all));
                    continue;
                }
                if disposition.is_leaver() && by_external_id.count == 0 {
                    // A leaver's old address found on someone else's account: nothing of
                    // ours to remove. An unmanaged account is reported (never adopted only to
                    // be removed); another employee's account is simply not the leaver's.
                    if owned_id(prefix, user).is_none() {
                        skipped.push(skip(SkipReason::LeaverNotManaged));
                    }
                    continue;
                }
                if via == MatchKey::Email {
                    if let Some(owner) = owned_id(prefix, user) {
                        // Found by email, but the user belongs to another employee of ours;
                        // when that employee is gone from the source, HR probably re-keyed
                        // the person.
                        let kind = if id_counts.get(owner, employee_id).count == 0 {
                            ConflictKind::ReKeyed
                        } else {
                            ConflictKind::EmailTaken
                        };
                        conflicts.push(conflict(kind, &[user_index]));
                        continue;
                    }
                    if user
                        .external_id
                        .as_deref()
                        .is_some_and(|id| has_prefix_ignore_case(id, prefix))
                    {
                        // Under our prefix but not ours to manage (a connection with a longer
                        // prefix, such as acme:contractors:): another connection's user.
                        conflicts.push(conflict(ConflictKind::EmailTaken, &[user_index]));
                        continue;
                    }
                    if !user.active {
                        conflicts.push(conflict(ConflictKind::InactiveAccount, &[user_index]));
                        continue;
                    }
                    if let Disposition::Provision { active: false } = disposition {
                        // Adopting now would deactivate someone's working account until the
                        // start date: the joiner waits and is adopted once active.
                        skipped.push(skip(SkipReason::AdoptionWaitsForStart(employee.start_date)));
                        continue;
                    }
                }
                let holds_email = [user.email.as_deref(), user.user_name.as_deref()]
                    .iter()
                    .flatten()
                    .any(|current| same_email(current, email));
                if !holds_email && !disposition.is_leaver() && by_email().count > 0 {
                    let others: Vec<u32> = index
                        .all(MatchKey::Email, email, by_email())
                        .into_iter()
                        .filter(|&i| i != user_index)
                        .collect();
                    if !others.is_empty() {
                        conflicts.push(conflict(ConflictKind::EmailTaken, &others));
                        continue;
                    }
                }
                let claim = &mut claims[user_index as usize];
                *claim = claim.saturating_add(1);
                Outcome::Existing(user_index)
            }
            None => {
                if disposition.is_leaver() {
                    continue;
                }
                let hits = by_email();
                if hits.count > 0 {
                    conflicts.push(conflict(
                        ConflictKind::EmailTaken,
                        &index.all(MatchKey::Email, email, hits),
                    ));
                    continue;
                }
                *create_emails.entry(EmailKey(email)).or_default() += 1;
                Outcome::Create
            }
        };
        candidates.push(Candidate {
            employee,
            disposition,
            outcome,
        });
    }

    // Several employees on one user, or one new email: none of them is acted upon.
    candidates.retain(|candidate| {
        let (shared, kind, involved) = match candidate.outcome {
            Outcome::Existing(i) => (
                claims[i as usize] > 1,
                ConflictKind::SharedUser,
                Some(&users[i as usize]),
            ),
            Outcome::Create => (
                create_emails[&EmailKey(candidate.email(policy))] > 1,
                ConflictKind::DuplicateEmail,
                None,
            ),
        };
        if shared {
            conflicts.push(Conflict {
                employee_id: candidate.employee.id.clone(),
                email: Some(candidate.email(policy).into()),
                kind,
                target_ids: involved.iter().map(|u| u.id.clone()).collect(),
                holders: involved
                    .iter()
                    .map(|u| u.external_id.clone().unwrap_or_default())
                    .collect(),
                external_id: policy.external_id(&candidate.employee.id),
            });
        }
        !shared
    });

    // Every account in a conflict is left exactly as it is while the conflict stands.
    let frozen = conflicted_users(users, &conflicts);

    // Which users go away, and which employees have a user after the run (for manager links).
    let mut removed = vec![false; users.len()];
    for candidate in &candidates {
        if let (Disposition::Delete, Outcome::Existing(i)) =
            (candidate.disposition, candidate.outcome)
            && !frozen[i as usize]
        {
            removed[i as usize] = true;
        }
    }
    let absent: Vec<u32> = (0..users.len() as u32)
        .filter(|&i| {
            claims[i as usize] == 0
                && !protected[i as usize]
                && !frozen[i as usize]
                && owned_id(prefix, &users[i as usize]).is_some()
        })
        .collect();
    // A record that could not be read might be any absent user's (a garbled id, rows merged
    // by a stray quote, a file cut short): absent users are then kept and reported, never
    // removed on a guess.
    let unidentified = input.record_errors.len();
    if policy.lifecycle.absent_users == RemovalAction::Delete && unidentified == 0 {
        for &i in &absent {
            removed[i as usize] = true;
        }
    }
    // Users created or adopted in this run cannot be found by our externalId yet.
    let mut future: FastMap<Caseless<'_>, ManagerUser> = fast_map(0);
    if input.managers {
        for candidate in &candidates {
            let id = candidate.employee.id.as_str();
            match candidate.outcome {
                Outcome::Create => {
                    future.insert(Caseless(id), ManagerUser::New);
                }
                Outcome::Existing(i)
                    if !removed[i as usize]
                        && !owned_id(prefix, &users[i as usize])
                            .is_some_and(|owner| eq_ignore_case(owner, id)) =>
                {
                    future.insert(Caseless(id), ManagerUser::Existing(i));
                }
                Outcome::Existing(_) => {}
            }
        }
    }
    let managers = Managers {
        policy,
        index: &index,
        removed: &removed,
        future,
        by_target_id: OnceCell::new(),
        enabled: input.managers,
    };

    // Pass two: the changes.
    let mut changes = Vec::new();
    let mut unchanged = 0;
    for candidate in candidates {
        let employee = candidate.employee;
        let external_id = policy.external_id(&employee.id);
        if let Outcome::Existing(i) = candidate.outcome
            && frozen[i as usize]
        {
            skipped.push(Skip {
                employee_id: Some(employee.id.clone()),
                external_id,
                reason: SkipReason::InConflict,
            });
            continue;
        }
        match (candidate.outcome, candidate.disposition) {
            (Outcome::Create, Disposition::Provision { active }) => {
                let mut user = map::desired_user(employee, candidate.email(policy), active, policy);
                user.manager = managers
                    .resolve(employee)
                    .map(|(manager, _)| policy.external_id(manager));
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
                let current = &users[i as usize];
                let attr_changes =
                    diff(current, &candidate, &external_id, active, policy, &managers);
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
                    external_id.clone(),
                    Some(employee.id.clone()),
                    Some(candidate.email(policy).into()),
                    attr_changes,
                ));
            }
            // A leaver to deactivate, or one due for deletion on a target that cannot delete.
            (
                Outcome::Existing(i),
                disposition @ (Disposition::Deactivate | Disposition::Delete),
            ) if disposition == Disposition::Deactivate || !input.deletes => {
                let current = &users[i as usize];
                if !current.active {
                    unchanged += 1;
                    continue;
                }
                let reason = if disposition == Disposition::Deactivate {
                    Reason::Leaver
                } else {
                    Reason::RemovalDue
                };
                changes.push(existing_change(
                    ChangeKind::Deactivate,
                    reason,
                    current,
                    external_id.clone(),
                    Some(employee.id.clone()),
                    current.email.clone(),
                    vec![deactivation()],
                ));
            }
            (Outcome::Existing(i), Disposition::Delete) => {
                let current = &users[i as usize];
                let reason = if policy.lifecycle.inactive_users == RemovalAction::Delete {
                    Reason::Leaver
                } else {
                    Reason::RemovalDue
                };
                changes.push(existing_change(
                    ChangeKind::Delete,
                    reason,
                    current,
                    external_id.clone(),
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
        let user = &users[i as usize];
        let external_id = user.external_id.clone().unwrap_or_default();
        let kind = match policy.lifecycle.absent_users {
            RemovalAction::Ignore => continue,
            RemovalAction::Delete if input.deletes => ChangeKind::Delete,
            RemovalAction::Deactivate | RemovalAction::Delete if !user.active => {
                unchanged += 1;
                continue;
            }
            RemovalAction::Deactivate | RemovalAction::Delete => ChangeKind::Deactivate,
        };
        if unidentified > 0 {
            skipped.push(Skip {
                employee_id: None,
                external_id,
                reason: SkipReason::AbsentWhileRecordsUnreadable(unidentified),
            });
            continue;
        }
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

    let (changes, withheld, safeguard) = withhold(changes, &hash, census, input, policy);
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

/// Which users a conflict involves, by index.
fn conflicted_users(users: &[DirectoryUser], conflicts: &[Conflict]) -> Vec<bool> {
    let mut frozen = vec![false; users.len()];
    if conflicts.iter().all(|c| c.target_ids.is_empty()) {
        return frozen;
    }
    let by_id: FastMap<&str, usize> = users
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

/// A manager's user after the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ManagerUser {
    /// An existing user (by index).
    Existing(u32),
    /// Created in this run.
    New,
}

/// Resolves employees' managers to the users they will have after the run.
struct Managers<'a> {
    policy: &'a SyncPolicy,
    index: &'a UserIndex<'a>,
    removed: &'a [bool],
    future: FastMap<Caseless<'a>, ManagerUser>,
    by_target_id: OnceCell<FastMap<&'a str, u32>>,
    enabled: bool,
}

impl<'a> Managers<'a> {
    /// The employee's manager's HR id and user, when the manager has a user after the run.
    fn resolve<'e>(&self, employee: &'e Employee) -> Option<(&'e str, ManagerUser)> {
        if !self.enabled {
            return None;
        }
        let manager = map::manager_id(employee)?;
        let hits = self
            .index
            .hits(MatchKey::ExternalId, &self.policy.external_id(manager));
        if hits.count == 1 && !self.removed[hits.first as usize] {
            return Some((manager, ManagerUser::Existing(hits.first)));
        }
        if hits.count > 1 {
            return None;
        }
        self.future
            .get(&Caseless(manager))
            .map(|user| (manager, *user))
    }

    /// The current manager of a user, as reports show it: its externalId, else its target id.
    fn describe_current(&self, user: &'a DirectoryUser) -> Option<&'a str> {
        let manager = user.manager_id.as_deref()?;
        let users = self.index.users;
        let by_target_id = self.by_target_id.get_or_init(|| {
            let mut map = fast_map(users.len());
            for (i, user) in users.iter().enumerate() {
                map.insert(user.id.as_str(), i as u32);
            }
            map
        });
        Some(
            by_target_id
                .get(manager)
                .and_then(|&i| users[i as usize].external_id.as_deref())
                .unwrap_or(manager),
        )
    }
}

/// Splits a sorted plan into the changes that go and the ones the safeguards hold back.
///
/// An approval names one plan: a different plan is not applied at all, not even the changes no
/// guard would hold (they were never approved). An approved plan passes every guard but one:
/// a source that returned nobody never removes anyone.
fn withhold(
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
        let verdict = safeguard::check(
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

/// The attribute changes that make `current` the candidate's user. Compares borrowed values and
/// allocates only for what differs. Emails and externalIds compare case-insensitively; the
/// manager compares by the manager's externalId.
fn diff<'a>(
    current: &'a DirectoryUser,
    candidate: &Candidate<'_>,
    external_id: &str,
    active: bool,
    policy: &SyncPolicy,
    managers: &Managers<'a>,
) -> Vec<AttrChange> {
    let employee = candidate.employee;
    let email = candidate.email(policy);
    let mut changes = Vec::new();
    let text = |value: Option<&str>| value.map(|v| Value::String(v.to_owned()));
    let mut compare = |attr: Attr, before: Option<&str>, after: Option<&str>, caseless: bool| {
        let same = match (before, after) {
            (Some(b), Some(a)) if caseless && attr == Attr::Email => same_email(a, b),
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
        Some(external_id),
        true,
    );
    compare(Attr::Email, current.email.as_deref(), Some(email), true);
    compare(
        Attr::FirstName,
        current.first_name.as_deref(),
        Some(&employee.first_name),
        false,
    );
    compare(
        Attr::LastName,
        current.last_name.as_deref(),
        Some(&employee.last_name),
        false,
    );
    compare(
        Attr::PreferredLanguage,
        current.preferred_language.as_deref(),
        map::preferred_language(employee, policy),
        false,
    );
    if managers.enabled {
        let desired = managers.resolve(employee);
        let same = match (current.manager_id.as_deref(), desired) {
            (None, None) => true,
            (Some(current_id), Some((_, ManagerUser::Existing(i)))) => {
                managers.index.users[i as usize].id == current_id
            }
            _ => false,
        };
        if !same {
            changes.push(AttrChange {
                attr: Attr::Manager,
                before: text(managers.describe_current(current)),
                after: desired
                    .map(|(manager, _)| Value::String(policy.external_id(manager).into())),
            });
        }
    }
    if current.active != active {
        changes.push(AttrChange {
            attr: Attr::Active,
            before: Some(Value::Bool(current.active)),
            after: Some(Value::Bool(active)),
        });
    }
    for mapping in &policy.mappings {
        let before = current.attributes.get(&mapping.to);
        let after = map::mapped_value(mapping, employee, email);
        let same = match &after {
            Some(value) => value.matches(before),
            None => before.is_none(),
        };
        if !same {
            changes.push(AttrChange {
                attr: Attr::Mapped(mapping.to.clone()),
                before: before.cloned(),
                after: after.map(|value| value.to_json()),
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
                    attr.before
                        .as_ref()
                        .map(Value::to_string)
                        .unwrap_or_default(),
                    attr.after
                        .as_ref()
                        .map(Value::to_string)
                        .unwrap_or_default()
                )
                .as_bytes(),
            );
        }
        hasher.update([0x1e]);
    }
    let digest = hasher.finalize();
    digest[..10].iter().map(|b| format!("{b:02x}")).collect()
}

/// The employee id a managed user belongs to; `None` for users we do not manage. The prefix
/// ends in a separator, and the rest must not contain it: `acme:contractors:C1` belongs to the
/// connection of `acme:contractors:`, not to that of `acme:`.
fn owned_id<'u>(prefix: &str, user: &'u DirectoryUser) -> Option<&'u str> {
    // The separator is ASCII (the policy allows : / | # only), so a byte search finds it.
    let separator = *prefix.as_bytes().last()?;
    user.external_id
        .as_deref()
        .filter(|id| has_prefix_ignore_case(id, prefix))
        .map(|id| &id[prefix.len()..])
        .filter(|rest| !rest.is_empty() && !rest.bytes().any(|b| b == separator))
}

fn has_prefix_ignore_case(value: &str, prefix: &str) -> bool {
    value.len() >= prefix.len()
        && value.is_char_boundary(prefix.len())
        && eq_ignore_case(&value[..prefix.len()], prefix)
}
