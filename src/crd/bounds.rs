//! Size limits of the resource's strings, lists and maps.
//!
//! An API server estimates the worst-case cost of every CEL rule (`x-kubernetes-validations`)
//! from the `maxLength`, `maxItems` and `maxProperties` of what the rule reads and of the lists
//! and maps around it; a string without a bound counts as long as a whole request (3 MiB). It
//! refuses a CRD whose estimate exceeds its budget. So every string, list and map carries a
//! bound, chosen far above anything a real connection holds. `tests/it/crd.rs` fails on one
//! without.
//!
//! The status bounds are also what the controller writes: the writers use these constants, so a
//! status the controller makes is never one the API server refuses.

use kube::CustomResourceExt;
use schemars::Schema;
use serde_json::Value;

/// Kubernetes object names (Secrets, ConfigMaps, ServiceAccounts), Secret and ConfigMap keys,
/// DNS host names.
pub const NAME: usize = 253;
/// Job names: a Job's name becomes a label value.
pub const JOB_NAME: usize = 63;
/// DNS labels, such as a resource claim's name.
pub const LABEL: usize = 63;
/// Ids, user names, field, column and attribute names.
pub const ID: usize = 256;
/// URLs and container image references.
pub const URL: usize = 2048;
/// File paths.
pub const PATH: usize = 4096;
/// Templates, such as `userPrincipalNameTemplate`.
pub const TEMPLATE: usize = 512;
/// Free values: HR values in filters and aliases, OAuth scopes, org unit paths.
pub const VALUE: usize = 1024;
/// Email addresses (the longest a mail server accepts).
pub const EMAIL: usize = 254;
/// Language tags (BCP 47).
pub const LANGUAGE: usize = 64;
/// `externalIdPrefix`: it is repeated in every externalId the connection writes.
pub const PREFIX: usize = 64;
/// Cron expressions (a minute list of all 60 minutes is 170 characters).
pub const CRON: usize = 512;
/// Intervals such as `1h30m`.
pub const INTERVAL: usize = 32;
/// `startAt`: `YYYY-MM-DDTHH:MM` at most.
pub const START_AT: usize = 16;
/// IANA time zone names (the longest is 32 characters).
pub const TIME_ZONE: usize = 64;
/// One-word values: kinds, actions, phases.
pub const WORD: usize = 32;
/// Plan hashes, error categories and request values as status keeps them.
pub const REQUEST_KEY: usize = 64;

/// `attributeMapping` entries.
pub const ATTRIBUTE_MAPPINGS: usize = 100;
/// `filters` entries.
pub const FILTERS: usize = 64;
/// Values of one Include/Exclude filter.
pub const FILTER_VALUES: usize = 1000;
/// Aliases of one attribute mapping.
pub const ALIASES: usize = 1000;
/// Custom fields a source reads.
pub const CUSTOM_FIELDS: usize = 200;
/// Status values of a field map.
pub const STATUS_VALUES: usize = 100;
/// Groups a directory source reads the members of, or organizational units it reads the users
/// of.
pub const SCOPE_GROUPS: usize = 100;
/// Users a directory source lists one by one.
pub const SCOPE_USERS: usize = 1000;
/// A directory object id (a GUID has 36 characters; the rest is room for a clear refusal).
pub const OBJECT_ID: usize = 64;
/// Channels a Slack source reads the members of.
pub const SCOPE_CHANNELS: usize = 100;
/// A Slack id, such as a channel's `C0123ABCDEF` (11 characters today; the rest is room for
/// a clear refusal).
pub const SLACK_ID: usize = 32;
/// Date formats of a CSV source.
pub const DATE_FORMATS: usize = 16;
/// One date format, such as `MM/DD/YYYY`.
pub const DATE_FORMAT: usize = 32;
/// `matching`: each key once.
pub const MATCH_KEYS: usize = 2;
/// `emails.priority`: each type once.
pub const EMAIL_TYPES: usize = 5;
/// Resource claims, limits or requests of the sync container.
pub const RESOURCES: usize = 32;
/// Quantities such as `500m` or `1Gi`.
pub const QUANTITY: usize = 64;
/// `notifications` channels.
pub const NOTIFICATIONS: usize = 16;
/// Events of one notification channel: each of the seven once.
pub const NOTIFICATION_EVENTS: usize = 7;
/// Recipients of one email channel.
pub const EMAIL_RECIPIENTS: usize = 50;

/// Changes in `status.changeSample`.
pub const CHANGE_SAMPLE: usize = 20;
/// Attribute names of one sampled change.
pub const CHANGED_ATTRIBUTES: usize = 64;
/// Runs in `status.history`.
pub const HISTORY: usize = 10;
/// `status.conditions` (a handful of types).
pub const CONDITIONS: usize = 16;
/// A condition's type, as Kubernetes bounds it.
pub const CONDITION_TYPE: usize = 316;
/// A condition's reason, as Kubernetes bounds it.
pub const CONDITION_REASON: usize = 1024;
/// A condition's message, as Kubernetes bounds it.
pub const CONDITION_MESSAGE: usize = 32768;

/// A map of strings: at most `ENTRIES` keys, each value at most `LENGTH` characters. (A key
/// cannot be bounded in a Kubernetes schema; it counts towards the object's size only.)
pub fn string_map<const ENTRIES: usize, const LENGTH: usize>(schema: &mut Schema) {
    schema.insert("maxProperties".into(), ENTRIES.into());
    if let Some(values) = sub_schema(schema, "additionalProperties") {
        values.insert("maxLength".into(), LENGTH.into());
    }
}

/// `status.conditions`, Kubernetes' `Condition` bounded as `metav1.Condition` is upstream.
pub fn conditions(schema: &mut Schema) {
    schema.insert("maxItems".into(), CONDITIONS.into());
    let Some(condition) = sub_schema(schema, "items") else {
        return;
    };
    for (name, length) in [
        ("type", CONDITION_TYPE),
        ("reason", CONDITION_REASON),
        ("message", CONDITION_MESSAGE),
    ] {
        if let Some(property) = property(condition, name) {
            property.insert("maxLength".into(), length.into());
        }
    }
    if let Some(status) = property(condition, "status") {
        status.insert(
            "enum".into(),
            serde_json::json!(["True", "False", "Unknown"]),
        );
    }
}

/// The sync container's `resources` (Kubernetes' `ResourceRequirements`).
pub fn resources(schema: &mut Schema) {
    if let Some(claims) = property(schema, "claims") {
        claims.insert("maxItems".into(), RESOURCES.into());
        if let Some(claim) = sub_schema(claims, "items") {
            for name in ["name", "request"] {
                if let Some(property) = property(claim, name) {
                    property.insert("maxLength".into(), LABEL.into());
                }
            }
        }
    }
    for name in ["limits", "requests"] {
        if let Some(quantities) = property(schema, name) {
            string_map::<RESOURCES, QUANTITY>(quantities);
        }
    }
}

/// What in a spec (as JSON) exceeds the bounds, as `(field, message)` pairs: the check the API
/// server makes at `kubectl apply`, made for a manifest run without a cluster.
pub fn oversized(spec: &Value) -> Vec<(String, String)> {
    let crd = super::HrisConnection::crd();
    let schema = crd.spec.versions[0]
        .schema
        .as_ref()
        .and_then(|s| s.open_api_v3_schema.as_ref())
        .and_then(|s| serde_json::to_value(s).ok())
        .unwrap_or_default();
    let mut found = Vec::new();
    check_sizes(&schema["properties"]["spec"], spec, "spec", &mut found);
    found
}

fn check_sizes(schema: &Value, value: &Value, path: &str, found: &mut Vec<(String, String)>) {
    let bound = |key: &str| schema.get(key).and_then(Value::as_u64);
    match value {
        Value::String(text) => {
            let length = text.chars().count() as u64;
            if let Some(max) = bound("maxLength").filter(|max| length > *max) {
                found.push((
                    path.to_owned(),
                    format!("is {length} characters long; at most {max}"),
                ));
            }
        }
        Value::Array(items) => {
            let count = items.len() as u64;
            if let Some(max) = bound("maxItems").filter(|max| count > *max) {
                found.push((path.to_owned(), format!("has {count} items; at most {max}")));
            }
            for (index, item) in items.iter().enumerate() {
                check_sizes(&schema["items"], item, &format!("{path}[{index}]"), found);
            }
        }
        Value::Object(entries) => {
            let count = entries.len() as u64;
            if let Some(max) = bound("maxProperties").filter(|max| count > *max) {
                found.push((
                    path.to_owned(),
                    format!("has {count} entries; at most {max}"),
                ));
            }
            for (key, entry) in entries {
                let child = schema["properties"]
                    .get(key)
                    .or_else(|| schema.get("additionalProperties"))
                    .unwrap_or(&Value::Null);
                check_sizes(child, entry, &format!("{path}.{key}"), found);
            }
        }
        _ => {}
    }
}

fn sub_schema<'a>(schema: &'a mut Schema, key: &str) -> Option<&'a mut Schema> {
    schema
        .get_mut(key)
        .and_then(|value| <&mut Schema>::try_from(value).ok())
}

fn property<'a>(schema: &'a mut Schema, name: &str) -> Option<&'a mut Schema> {
    schema
        .get_mut("properties")
        .and_then(|properties| properties.get_mut(name))
        .and_then(|value| <&mut Schema>::try_from(value).ok())
}
