//! Target users indexed by externalId and by login/email, compared as the planner compares
//! them (ids without case, addresses as [`same_email`] does), and which users are ours.

use std::{
    collections::HashMap,
    hash::{BuildHasher, Hash, Hasher},
};

use hashbrown::hash_table::{Entry, HashTable};

use crate::sync::{
    email::{EmailKey, same_email},
    field::eq_ignore_case,
    model::DirectoryUser,
    policy::MatchKey,
};

pub(super) type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

pub(super) fn fast_map<K, V>(capacity: usize) -> FastMap<K, V> {
    HashMap::with_capacity_and_hasher(capacity, Default::default())
}

/// A string compared and hashed case-insensitively, without allocating for short ASCII keys.
#[derive(Clone, Copy, Debug)]
pub(super) struct Caseless<'a>(pub(super) &'a str);

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
pub(super) struct Hits {
    /// The first row holding the key.
    pub(super) first: u32,
    /// How many rows hold it.
    pub(super) count: u32,
}

/// How an index compares its keys.
#[derive(Clone, Copy)]
pub(super) enum Compare {
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
pub(super) struct KeyIndex {
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
    pub(super) fn with_capacity(capacity: usize, compare: Compare) -> Self {
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
    pub(super) fn add<'a>(&mut self, key: u32, value: &str, key_of: impl Fn(u32) -> &'a str) {
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

    pub(super) fn get<'a>(&self, value: &str, key_of: impl Fn(u32) -> &'a str) -> Hits {
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
pub(super) struct UserIndex<'a> {
    /// The users, in the target's order.
    pub(super) users: &'a [DirectoryUser],
    by_external_id: KeyIndex,
    by_email: KeyIndex,
}

impl<'a> UserIndex<'a> {
    pub(super) fn new(users: &'a [DirectoryUser]) -> Self {
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

    pub(super) fn hits(&self, key: MatchKey, value: &str) -> Hits {
        match key {
            MatchKey::ExternalId => self
                .by_external_id
                .get(value, |key| external_id_of(self.users, key)),
            MatchKey::Email => self.by_email.get(value, |key| email_of(self.users, key)),
        }
    }

    /// Every user a key finds (a scan only when several hold it, which is rare).
    pub(super) fn all(&self, key: MatchKey, value: &str, hits: Hits) -> Vec<u32> {
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

/// The employee id a managed user belongs to; `None` for users we do not manage. The prefix
/// ends in a separator, and the rest must not contain it: `acme:contractors:C1` belongs to the
/// connection of `acme:contractors:`, not to that of `acme:`.
pub(super) fn owned_id<'u>(prefix: &str, user: &'u DirectoryUser) -> Option<&'u str> {
    // The separator is ASCII (the policy allows : / | # only), so a byte search finds it.
    let separator = *prefix.as_bytes().last()?;
    user.external_id
        .as_deref()
        .filter(|id| has_prefix_ignore_case(id, prefix))
        .map(|id| &id[prefix.len()..])
        .filter(|rest| !rest.is_empty() && !rest.bytes().any(|b| b == separator))
}

pub(super) fn has_prefix_ignore_case(value: &str, prefix: &str) -> bool {
    value.len() >= prefix.len()
        && value.is_char_boundary(prefix.len())
        && eq_ignore_case(&value[..prefix.len()], prefix)
}
