//! `attributes` and `excludedAttributes`: which attributes of a resource an answer carries.

use serde_json::{Map, Value, json};

use super::ENTERPRISE_USER_SCHEMA;
use super::attrs::{get_ci, key_ci, remove_ci};
use super::error::ScimError;
use super::filter::{AttrPath, Container, parse_attr_path};

/// `attributes` / `excludedAttributes` of a request.
#[derive(Default)]
pub(super) struct Projection {
    include: Vec<AttrPath>,
    exclude: Vec<AttrPath>,
}

impl Projection {
    pub(super) fn parse(
        attributes: Option<&str>,
        excluded: Option<&str>,
    ) -> Result<Projection, ScimError> {
        let list = |text: Option<&str>| -> Result<Vec<AttrPath>, ScimError> {
            text.unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| {
                    parse_attr_path(s).ok_or_else(|| {
                        ScimError::new(
                            400,
                            Some("invalidValue"),
                            format!("invalid attribute {s:?}"),
                        )
                    })
                })
                .collect()
        };
        Ok(Projection {
            include: list(attributes)?,
            exclude: list(excluded)?,
        })
    }

    pub(super) fn apply(&self, resource: &Map<String, Value>) -> Map<String, Value> {
        let mut out = if self.include.is_empty() {
            resource.clone()
        } else {
            let mut out = Map::new();
            for always in ["schemas", "id"] {
                if let Some(value) = resource.get(always) {
                    out.insert(always.to_string(), value.clone());
                }
            }
            for path in &self.include {
                include_path(resource, &mut out, path);
            }
            out
        };
        for path in &self.exclude {
            exclude_path(&mut out, path);
        }
        out
    }
}

fn include_path(resource: &Map<String, Value>, out: &mut Map<String, Value>, path: &AttrPath) {
    let (source, target) = match path.container {
        Container::Core => (Some(resource), out),
        Container::Enterprise => {
            let source = get_ci(resource, ENTERPRISE_USER_SCHEMA).and_then(Value::as_object);
            if source.is_none() {
                return;
            }
            let target = out
                .entry(ENTERPRISE_USER_SCHEMA)
                .or_insert_with(|| json!({}));
            let Some(target) = target.as_object_mut() else {
                return;
            };
            if path.attr.is_none() {
                *target = source.cloned().unwrap_or_default();
                return;
            }
            (source, target)
        }
    };
    let (Some(source), Some(attr)) = (source, &path.attr) else {
        return;
    };
    let Some(key) = key_ci(source, attr) else {
        return;
    };
    let value = &source[&key];
    match (&path.sub, value) {
        (None, _) => {
            target.insert(key, value.clone());
        }
        (Some(sub), Value::Object(object)) => {
            if let Some(sub_key) = key_ci(object, sub) {
                let entry = target.entry(key).or_insert_with(|| json!({}));
                if let Some(entry) = entry.as_object_mut() {
                    entry.insert(sub_key.clone(), object[&sub_key].clone());
                }
            }
        }
        (Some(sub), Value::Array(items)) => {
            let entry = target
                .entry(key)
                .or_insert_with(|| Value::Array(vec![json!({}); items.len()]));
            if let Some(entry) = entry.as_array_mut() {
                for (item, projected) in items.iter().zip(entry.iter_mut()) {
                    if let (Some(item), Some(projected)) =
                        (item.as_object(), projected.as_object_mut())
                        && let Some(sub_key) = key_ci(item, sub)
                    {
                        projected.insert(sub_key.clone(), item[&sub_key].clone());
                    }
                }
            }
        }
        _ => {}
    }
}

fn exclude_path(out: &mut Map<String, Value>, path: &AttrPath) {
    let container = match path.container {
        Container::Core => out,
        Container::Enterprise => {
            let Some(key) = key_ci(out, ENTERPRISE_USER_SCHEMA) else {
                return;
            };
            if path.attr.is_none() {
                out.remove(&key);
                return;
            }
            match out.get_mut(&key).and_then(Value::as_object_mut) {
                Some(container) => container,
                None => return,
            }
        }
    };
    let Some(attr) = &path.attr else {
        return;
    };
    let Some(key) = key_ci(container, attr) else {
        return;
    };
    if path.container == Container::Core && (key == "id" || key == "schemas") {
        return;
    }
    match &path.sub {
        None => {
            container.remove(&key);
        }
        Some(sub) => match container.get_mut(&key) {
            Some(Value::Object(object)) => remove_ci(object, sub),
            Some(Value::Array(items)) => {
                for item in items.iter_mut().filter_map(Value::as_object_mut) {
                    remove_ci(item, sub);
                }
            }
            _ => {}
        },
    }
}
