//! Managers: an employee's manager resolves to the user the manager has after the run (an
//! existing one that stays, or one this run creates or adopts), so manager links point at
//! users that exist once the run is applied.

use std::cell::OnceCell;

use super::{
    index::{Caseless, FastMap, UserIndex, fast_map, owned_id},
    matching::{Candidate, Outcome},
};
use crate::sync::{
    field::eq_ignore_case,
    map,
    model::{DirectoryUser, Employee},
    policy::{MatchKey, SyncPolicy},
};

/// A manager's user after the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ManagerUser {
    /// An existing user (by index).
    Existing(u32),
    /// Created in this run.
    New,
}

/// Resolves employees' managers to the users they will have after the run.
pub(super) struct Managers<'a> {
    policy: &'a SyncPolicy,
    /// Target users, indexed.
    pub(super) index: &'a UserIndex<'a>,
    removed: &'a [bool],
    future: FastMap<Caseless<'a>, ManagerUser>,
    by_target_id: OnceCell<FastMap<&'a str, u32>>,
    /// Whether the target holds manager links at all.
    pub(super) enabled: bool,
}

impl<'a> Managers<'a> {
    /// The managers of a run on a target that holds manager links when `enabled`. `removed`
    /// marks the users this run removes; `candidates` are the employees that have a user after
    /// it (users created or adopted in this run cannot be found by our externalId yet).
    pub(super) fn new(
        policy: &'a SyncPolicy,
        index: &'a UserIndex<'a>,
        removed: &'a [bool],
        candidates: &[Candidate<'a>],
        enabled: bool,
    ) -> Self {
        let prefix = policy.external_id_prefix.as_str();
        let mut future: FastMap<Caseless<'a>, ManagerUser> = fast_map(0);
        if enabled {
            for candidate in candidates {
                let id = candidate.employee.id.as_str();
                match candidate.outcome {
                    Outcome::Create => {
                        future.insert(Caseless(id), ManagerUser::New);
                    }
                    Outcome::Existing(i)
                        if !removed[i as usize]
                            && !owned_id(prefix, &index.users[i as usize])
                                .is_some_and(|owner| eq_ignore_case(owner, id)) =>
                    {
                        future.insert(Caseless(id), ManagerUser::Existing(i));
                    }
                    Outcome::Existing(_) => {}
                }
            }
        }
        Self {
            policy,
            index,
            removed,
            future,
            by_target_id: OnceCell::new(),
            enabled,
        }
    }

    /// The employee's manager's HR id and user, when the manager has a user after the run.
    pub(super) fn resolve<'e>(&self, employee: &'e Employee) -> Option<(&'e str, ManagerUser)> {
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
    pub(super) fn describe_current(&self, user: &'a DirectoryUser) -> Option<&'a str> {
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
