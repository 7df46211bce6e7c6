//! Pass two of planning: the change each candidate's user needs (create, update, deactivate,
//! delete, or none), the removal of managed users whose employee is gone, and the changes
//! `operations` switches off, reported as skipped.

use compact_str::CompactString;
use serde_json::Value;

use super::{
    Change, ChangeKind, PlanInput, Reason, Skip, SkipReason,
    index::owned_id,
    managers::{ManagerUser, Managers},
    matching::{Candidate, Outcome},
};
use crate::sync::{
    email::same_email,
    field::eq_ignore_case,
    lifecycle::{Disposition, RemovalAction},
    map,
    model::{Attr, AttrChange, DirectoryUser},
    policy::{Operations, SyncPolicy},
};

/// The users a run removes, and the managed users whose employee is gone.
pub(super) struct Leaving {
    /// Per user: deleted by this run (so no manager link may point at it).
    pub(super) removed: Vec<bool>,
    /// Managed users that no employee in scope claims, none protects and no conflict holds.
    pub(super) absent: Vec<u32>,
}

impl Leaving {
    /// Who leaves, from pass one's candidates and claims; `frozen` marks the users in a
    /// conflict, which are left exactly as they are.
    pub(super) fn new(
        input: &PlanInput<'_>,
        policy: &SyncPolicy,
        candidates: &[Candidate<'_>],
        claims: &[u8],
        protected: &[bool],
        frozen: &[bool],
    ) -> Self {
        let users = input.users;
        let prefix = policy.external_id_prefix.as_str();
        let mut removed = vec![false; users.len()];
        for candidate in candidates {
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
        // A record that could not be read might be any absent user's (a garbled id, rows
        // merged by a stray quote, a file cut short): absent users are then kept and reported,
        // never removed on a guess.
        if policy.lifecycle.absent_users == RemovalAction::Delete && input.record_errors.is_empty()
        {
            for &i in &absent {
                removed[i as usize] = true;
            }
        }
        Self { removed, absent }
    }
}

/// The changes worked out so far, and how many users need none.
#[derive(Default)]
pub(super) struct Planned {
    /// Changes to make, in the order found.
    pub(super) changes: Vec<Change>,
    /// Users already in their desired state.
    pub(super) unchanged: usize,
}

impl Planned {
    /// The change of every candidate's user. A user in a conflict (`frozen`) is left as it is.
    pub(super) fn of_candidates<'a>(
        &mut self,
        candidates: Vec<Candidate<'a>>,
        frozen: &[bool],
        managers: &Managers<'a>,
        input: &PlanInput<'a>,
        policy: &SyncPolicy,
        skipped: &mut Vec<Skip>,
    ) {
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
            self.of_candidate(&candidate, external_id, managers, input, policy);
        }
    }

    fn of_candidate<'a>(
        &mut self,
        candidate: &Candidate<'a>,
        external_id: CompactString,
        managers: &Managers<'a>,
        input: &PlanInput<'a>,
        policy: &SyncPolicy,
    ) {
        let users = input.users;
        let employee = candidate.employee;
        match (candidate.outcome, candidate.disposition) {
            (Outcome::Create, Disposition::Provision { active }) => {
                let mut user = map::desired_user(employee, candidate.email(policy), active, policy);
                user.manager = managers
                    .resolve(employee)
                    .map(|(manager, _)| policy.external_id(manager));
                self.changes.push(Change {
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
                let attr_changes = diff(current, candidate, &external_id, active, policy, managers);
                self.update(current, candidate, external_id, attr_changes, policy);
            }
            // A leaver to deactivate, or one due for deletion on a target that cannot delete.
            (
                Outcome::Existing(i),
                disposition @ (Disposition::Deactivate | Disposition::Delete),
            ) if disposition == Disposition::Deactivate || !input.deletes => {
                let current = &users[i as usize];
                if !current.active {
                    self.unchanged += 1;
                    return;
                }
                let reason = if disposition == Disposition::Deactivate {
                    Reason::Leaver
                } else {
                    Reason::RemovalDue
                };
                self.changes.push(existing_change(
                    ChangeKind::Deactivate,
                    reason,
                    current,
                    external_id,
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
                self.changes.push(existing_change(
                    ChangeKind::Delete,
                    reason,
                    current,
                    external_id,
                    Some(employee.id.clone()),
                    current.email.clone(),
                    Vec::new(),
                ));
            }
            (Outcome::Existing(_), _) => self.unchanged += 1,
            (Outcome::Create, _) => {}
        }
    }

    /// The change that makes an existing user its employee's, named by what it does.
    fn update(
        &mut self,
        current: &DirectoryUser,
        candidate: &Candidate<'_>,
        external_id: CompactString,
        attr_changes: Vec<AttrChange>,
        policy: &SyncPolicy,
    ) {
        if attr_changes.is_empty() {
            self.unchanged += 1;
            return;
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
        self.changes.push(existing_change(
            kind,
            reason,
            current,
            external_id,
            Some(candidate.employee.id.clone()),
            Some(candidate.email(policy).into()),
            attr_changes,
        ));
    }

    /// The removal of every absent managed user, as `absentUsers` says; while some source
    /// records could not be read, absent users are kept and reported.
    pub(super) fn of_absent(
        &mut self,
        absent: &[u32],
        input: &PlanInput<'_>,
        policy: &SyncPolicy,
        skipped: &mut Vec<Skip>,
    ) {
        let unidentified = input.record_errors.len();
        for &i in absent {
            let user = &input.users[i as usize];
            let external_id = user.external_id.clone().unwrap_or_default();
            let kind = match policy.lifecycle.absent_users {
                RemovalAction::Ignore => continue,
                RemovalAction::Delete if input.deletes => ChangeKind::Delete,
                RemovalAction::Deactivate | RemovalAction::Delete if !user.active => {
                    self.unchanged += 1;
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
            self.changes.push(existing_change(
                kind,
                Reason::Absent,
                user,
                external_id,
                None,
                user.email.clone(),
                attr_changes,
            ));
        }
    }

    /// Takes out the changes whose kind `operations` switches off, reporting them as skipped.
    pub(super) fn drop_disabled(&mut self, operations: &Operations, skipped: &mut Vec<Skip>) {
        self.changes.retain(|change| {
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
    }
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
