//! The plan hash: what a person approves. The same changes give the same hash on every run
//! and machine, so an approval names exactly one plan.

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::Change;

/// A stable hash of a list of changes and of the creates and reactivations the seat limit held
/// back: the same changes give the same hash on every run and machine. 20 hex digits (80 bits).
/// A plan that holds nobody back hashes as its changes alone.
pub(super) fn plan_hash(changes: &[Change], held_back: &[Change]) -> String {
    let mut hasher = Sha256::new();
    for change in changes {
        hash_change(&mut hasher, change);
    }
    if !held_back.is_empty() {
        hasher.update([0x1d]);
        hasher.update(b"SeatLimit");
        for change in held_back {
            hash_change(&mut hasher, change);
        }
    }
    let digest = hasher.finalize();
    digest[..10].iter().map(|b| format!("{b:02x}")).collect()
}

fn hash_change(hasher: &mut Sha256, change: &Change) {
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
