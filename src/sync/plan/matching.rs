//! Pass one of planning: which employees are in scope (filters, lifecycle), and the user each
//! gets or keeps — found by the matching keys in order, or new. A match that would be a guess
//! is a conflict, never acted upon: an email held by someone else, several users for one
//! employee, several employees for one user.

use compact_str::CompactString;

use super::{
    Conflict, ConflictKind, PlanInput, Skip, SkipReason,
    index::{
        Compare, FastMap, Hits, KeyIndex, UserIndex, fast_map, has_prefix_ignore_case, owned_id,
    },
};
use crate::sync::{
    email::{EmailKey, same_email},
    filter,
    lifecycle::{self, Disposition},
    map,
    model::{DirectoryUser, Employee},
    policy::{MatchKey, SyncPolicy},
};

/// What pass one decided for a kept employee.
#[derive(Clone, Copy)]
pub(super) enum Outcome {
    /// A user is created.
    Create,
    /// The existing user (by index) is the employee's.
    Existing(u32),
}

/// An employee that gets or keeps a user.
pub(super) struct Candidate<'a> {
    /// The employee.
    pub(super) employee: &'a Employee,
    /// What the target should hold for them on the evaluation date.
    pub(super) disposition: Disposition,
    /// Their user.
    pub(super) outcome: Outcome,
}

impl<'a> Candidate<'a> {
    /// The chosen email (recomputed rather than stored: a candidate per employee adds up).
    pub(super) fn email(&self, policy: &SyncPolicy) -> &'a str {
        map::choose_email(self.employee, &policy.email_priority)
            .expect("only employees with an email become candidates")
    }
}

/// What pass one found.
pub(super) struct Matched<'a> {
    /// The employees that get or keep a user.
    pub(super) candidates: Vec<Candidate<'a>>,
    /// Per user: its employee is in the source (kept by the filters, or unreadable), so it is
    /// never treated as absent.
    pub(super) protected: Vec<bool>,
    /// Per user: how many employees it was matched to.
    pub(super) claims: Vec<u8>,
    /// Employees not matched safely.
    pub(super) conflicts: Vec<Conflict>,
    /// Employees left alone, and why.
    pub(super) skipped: Vec<Skip>,
}

/// Pass one: filter, lifecycle, match, for every employee; then employees sharing one user,
/// or one new email, are taken out as conflicts.
pub(super) fn match_employees<'a>(
    input: &PlanInput<'a>,
    policy: &SyncPolicy,
    index: &UserIndex<'a>,
) -> Matched<'a> {
    let mut matcher = Matcher::new(input, policy, index);
    for error in input.record_errors {
        if let Some(id) = &error.employee_id {
            let hits = index.hits(MatchKey::ExternalId, &policy.external_id(id));
            matcher.protect(id, hits);
        }
    }
    let mut candidates = Vec::with_capacity(input.employees.len());
    for employee in input.employees {
        candidates.extend(matcher.consider(employee));
    }
    matcher.drop_shared(&mut candidates);
    Matched {
        candidates,
        protected: matcher.protected,
        claims: matcher.claims,
        conflicts: matcher.conflicts,
        skipped: matcher.skipped,
    }
}

/// The state of pass one.
struct Matcher<'p, 'a> {
    input: &'p PlanInput<'a>,
    policy: &'p SyncPolicy,
    index: &'p UserIndex<'a>,
    /// The source's employee ids, to find one held twice.
    id_counts: KeyIndex,
    protected: Vec<bool>,
    claims: Vec<u8>,
    /// How many new users would get each email.
    create_emails: FastMap<EmailKey<'a>, u32>,
    conflicts: Vec<Conflict>,
    skipped: Vec<Skip>,
}

/// An employee in scope, with a usable email, being matched.
struct InScope<'a> {
    employee: &'a Employee,
    email: &'a str,
    external_id: CompactString,
    /// The users holding the employee's externalId.
    by_external_id: Hits,
    disposition: Disposition,
}

impl InScope<'_> {
    fn conflict(
        &self,
        users: &[DirectoryUser],
        kind: ConflictKind,
        target_ids: &[u32],
    ) -> Conflict {
        Conflict {
            employee_id: self.employee.id.clone(),
            email: Some(self.email.into()),
            kind,
            target_ids: target_ids
                .iter()
                .map(|&i| users[i as usize].id.clone())
                .collect(),
            holders: target_ids
                .iter()
                .map(|&i| users[i as usize].external_id.clone().unwrap_or_default())
                .collect(),
            external_id: self.external_id.clone(),
        }
    }

    fn skip(&self, reason: SkipReason) -> Skip {
        skip(self.employee, &self.external_id, reason)
    }
}

fn skip(employee: &Employee, external_id: &CompactString, reason: SkipReason) -> Skip {
    Skip {
        employee_id: Some(employee.id.clone()),
        external_id: external_id.clone(),
        reason,
    }
}

/// The users an email finds, looked up only when needed: most employees are found by
/// externalId with their email.
struct EmailHits<'i, 'a> {
    index: &'i UserIndex<'a>,
    email: &'i str,
    hits: Option<Hits>,
}

impl EmailHits<'_, '_> {
    fn get(&mut self) -> Hits {
        let (index, email) = (self.index, self.email);
        *self
            .hits
            .get_or_insert_with(|| index.hits(MatchKey::Email, email))
    }
}

/// The employee id a slot of the employee id index refers to.
fn employee_id_of(employees: &[Employee], key: u32) -> &str {
    employees[(key >> 1) as usize].id.as_str()
}

impl<'p, 'a> Matcher<'p, 'a> {
    fn new(input: &'p PlanInput<'a>, policy: &'p SyncPolicy, index: &'p UserIndex<'a>) -> Self {
        let employees = input.employees;
        let mut id_counts = KeyIndex::with_capacity(employees.len(), Compare::Caseless);
        for (row, employee) in employees.iter().enumerate() {
            id_counts.add((row as u32) << 1, &employee.id, |key| {
                employee_id_of(employees, key)
            });
        }
        let users = input.users.len();
        Self {
            input,
            policy,
            index,
            id_counts,
            protected: vec![false; users],
            claims: vec![0; users],
            create_emails: fast_map(0),
            conflicts: Vec::new(),
            skipped: Vec::new(),
        }
    }

    /// Marks the managed users of an employee in the source (kept by the filters, or
    /// unreadable): they are never treated as absent.
    fn protect(&mut self, employee_id: &str, hits: Hits) {
        match hits.count {
            0 => {}
            1 => self.protected[hits.first as usize] = true,
            _ => {
                let external_id = self.policy.external_id(employee_id);
                for i in self.index.all(MatchKey::ExternalId, &external_id, hits) {
                    self.protected[i as usize] = true;
                }
            }
        }
    }

    /// Pass one for one employee; `None` when it is out of scope, skipped or in a conflict.
    fn consider(&mut self, employee: &'a Employee) -> Option<Candidate<'a>> {
        let policy = self.policy;
        let email = map::choose_email(employee, &policy.email_priority);
        if !filter::keep(employee, email, &policy.filters) {
            return None;
        }
        let external_id = policy.external_id(&employee.id);
        if let Some(separator) = policy.external_id_prefix.chars().last()
            && employee.id.contains(separator)
        {
            let reason = SkipReason::IdContainsSeparator(separator);
            self.skipped.push(skip(employee, &external_id, reason));
            return None;
        }
        let by_external_id = self.index.hits(MatchKey::ExternalId, &external_id);
        self.protect(&employee.id, by_external_id);
        let employees = self.input.employees;
        let same_id = self
            .id_counts
            .get(&employee.id, |key| employee_id_of(employees, key));
        if same_id.count > 1 {
            self.conflicts.push(Conflict {
                employee_id: employee.id.clone(),
                email: email.map(Into::into),
                kind: ConflictKind::DuplicateEmployeeId,
                target_ids: Vec::new(),
                holders: Vec::new(),
                external_id,
            });
            return None;
        }
        let disposition = lifecycle::disposition(employee, &policy.lifecycle, self.input.as_of);
        let reason = match disposition {
            Disposition::NotYet { from } => Some(SkipReason::NotYetStarted(from)),
            Disposition::NoStartDate => Some(SkipReason::PendingWithoutStartDate),
            _ => None,
        };
        if let Some(reason) = reason {
            self.skipped.push(skip(employee, &external_id, reason));
            return None;
        }
        let Some(email) = email else {
            if !disposition.is_leaver() || by_external_id.count > 0 {
                let reason = SkipReason::NoUsableEmail(None);
                self.skipped.push(skip(employee, &external_id, reason));
            }
            return None;
        };
        let in_scope = InScope {
            employee,
            email,
            external_id,
            by_external_id,
            disposition,
        };
        let outcome = self.find_user(&in_scope)?;
        Some(Candidate {
            employee,
            disposition,
            outcome,
        })
    }

    /// The user an employee in scope gets or keeps, by the matching keys in order.
    fn find_user(&mut self, found: &InScope<'a>) -> Option<Outcome> {
        let users = self.input.users;
        let mut by_email = EmailHits {
            index: self.index,
            email: found.email,
            hits: None,
        };
        let matched = self.policy.matching.iter().find_map(|key| {
            let hits = match key {
                MatchKey::ExternalId => found.by_external_id,
                MatchKey::Email => by_email.get(),
            };
            (hits.count > 0).then_some((*key, hits))
        });
        match matched {
            Some((key, hits)) if hits.count > 1 => {
                let value = match key {
                    MatchKey::ExternalId => found.external_id.as_str(),
                    MatchKey::Email => found.email,
                };
                let all = self.index.all(key, value, hits);
                self.conflicts
                    .push(found.conflict(users, ConflictKind::MultipleMatches, &all));
                None
            }
            Some((via, hits)) => self.existing_user(found, via, hits.first, &mut by_email),
            None => {
                if found.disposition.is_leaver() {
                    return None;
                }
                let hits = by_email.get();
                if hits.count > 0 {
                    let all = self.index.all(MatchKey::Email, found.email, hits);
                    self.conflicts
                        .push(found.conflict(users, ConflictKind::EmailTaken, &all));
                    return None;
                }
                *self.create_emails.entry(EmailKey(found.email)).or_default() += 1;
                Some(Outcome::Create)
            }
        }
    }

    /// An employee matched to the existing user `user_index` (found `via` a key) keeps it,
    /// unless that would be a guess.
    fn existing_user(
        &mut self,
        found: &InScope<'a>,
        via: MatchKey,
        user_index: u32,
        by_email: &mut EmailHits<'_, 'a>,
    ) -> Option<Outcome> {
        let users = self.input.users;
        let user = &users[user_index as usize];
        let by_external_id = found.by_external_id;
        // Our externalId on another user too: which one is ours would be a guess.
        if by_external_id.count > 1
            || (by_external_id.count == 1 && by_external_id.first != user_index)
        {
            let mut all = self
                .index
                .all(MatchKey::ExternalId, &found.external_id, by_external_id);
            all.push(user_index);
            all.sort_unstable();
            all.dedup();
            self.conflicts
                .push(found.conflict(users, ConflictKind::MultipleMatches, &all));
            return None;
        }
        if found.disposition.is_leaver() && by_external_id.count == 0 {
            // A leaver's old address found on someone else's account: nothing of ours to
            // remove. An unmanaged account is reported (never adopted only to be removed);
            // another employee's account is simply not the leaver's.
            if owned_id(&self.policy.external_id_prefix, user).is_none() {
                self.skipped.push(found.skip(SkipReason::LeaverNotManaged));
            }
            return None;
        }
        if via == MatchKey::Email && !self.may_adopt(found, user_index) {
            return None;
        }
        let holds_email = [user.email.as_deref(), user.user_name.as_deref()]
            .iter()
            .flatten()
            .any(|current| same_email(current, found.email));
        if !holds_email && !found.disposition.is_leaver() && by_email.get().count > 0 {
            let others: Vec<u32> = self
                .index
                .all(MatchKey::Email, found.email, by_email.get())
                .into_iter()
                .filter(|&i| i != user_index)
                .collect();
            if !others.is_empty() {
                self.conflicts
                    .push(found.conflict(users, ConflictKind::EmailTaken, &others));
                return None;
            }
        }
        let claim = &mut self.claims[user_index as usize];
        *claim = claim.saturating_add(1);
        Some(Outcome::Existing(user_index))
    }

    /// Whether the user an employee's email found may be adopted: only when certain, and
    /// never to disable an account. Otherwise the conflict or skip is recorded.
    fn may_adopt(&mut self, found: &InScope<'a>, user_index: u32) -> bool {
        let users = self.input.users;
        let user = &users[user_index as usize];
        let prefix = self.policy.external_id_prefix.as_str();
        let employees = self.input.employees;
        if let Some(owner) = owned_id(prefix, user) {
            // Found by email, but the user belongs to another employee of ours; when that
            // employee is gone from the source, HR probably re-keyed the person.
            let kind = if self
                .id_counts
                .get(owner, |key| employee_id_of(employees, key))
                .count
                == 0
            {
                ConflictKind::ReKeyed
            } else {
                ConflictKind::EmailTaken
            };
            self.conflicts
                .push(found.conflict(users, kind, &[user_index]));
            return false;
        }
        if user
            .external_id
            .as_deref()
            .is_some_and(|id| has_prefix_ignore_case(id, prefix))
        {
            // Under our prefix but not ours to manage (a connection with a longer prefix, such
            // as acme:contractors:): another connection's user.
            self.conflicts
                .push(found.conflict(users, ConflictKind::EmailTaken, &[user_index]));
            return false;
        }
        if !user.active {
            self.conflicts.push(found.conflict(
                users,
                ConflictKind::InactiveAccount,
                &[user_index],
            ));
            return false;
        }
        if let Disposition::Provision { active: false } = found.disposition {
            // Adopting now would deactivate someone's working account until the start date:
            // the joiner waits and is adopted once active.
            let reason = SkipReason::AdoptionWaitsForStart(found.employee.start_date);
            self.skipped.push(found.skip(reason));
            return false;
        }
        true
    }

    /// Several employees on one user, or one new email: none of them is acted upon.
    fn drop_shared(&mut self, candidates: &mut Vec<Candidate<'a>>) {
        let users = self.input.users;
        let policy = self.policy;
        candidates.retain(|candidate| {
            let (shared, kind, involved) = match candidate.outcome {
                Outcome::Existing(i) => (
                    self.claims[i as usize] > 1,
                    ConflictKind::SharedUser,
                    Some(&users[i as usize]),
                ),
                Outcome::Create => (
                    self.create_emails[&EmailKey(candidate.email(policy))] > 1,
                    ConflictKind::DuplicateEmail,
                    None,
                ),
            };
            if shared {
                self.conflicts.push(Conflict {
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
    }
}
