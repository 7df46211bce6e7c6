//! The PATCH engine (RFC 7644 §3.5.2): `add`, `replace` and `remove` on attribute paths with
//! value filters (`emails[type eq "work"].value`) and the enterprise extension, all or nothing.

use serde_json::{Map, Value, json};

use super::ENTERPRISE_USER_SCHEMA;
use super::attrs::{get_ci, is_multi_valued, key_ci, remove_ci};
use super::error::{ScimError, invalid_syntax};
use super::filter::{Container, Filter, parse_filter, split_schema, valid_name};

const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

#[derive(Clone, Copy, Debug, PartialEq)]
enum PatchKind {
    Add,
    Replace,
}

/// A PATCH `path`: `[urn:…:]attr[[filter]][.sub]`.
struct PatchPath {
    container: Container,
    /// `None` for the bare enterprise extension URN.
    attr: Option<String>,
    filter: Option<Filter>,
    sub: Option<String>,
}

fn invalid_path(path: &str) -> ScimError {
    ScimError::new(400, Some("invalidPath"), format!("invalid path {path:?}"))
}

fn parse_patch_path(text: &str) -> Result<PatchPath, ScimError> {
    let trimmed = text.trim();
    let (container, rest) = split_schema(trimmed).ok_or_else(|| invalid_path(text))?;
    if rest.is_empty() {
        return Ok(PatchPath {
            container,
            attr: None,
            filter: None,
            sub: None,
        });
    }
    let (attr, filter, sub) = if let Some(open) = rest.find('[') {
        let close = rest
            .rfind(']')
            .filter(|&c| c > open)
            .ok_or_else(|| invalid_path(text))?;
        let filter = parse_filter(&rest[open + 1..close]).map_err(|_| invalid_path(text))?;
        let after = &rest[close + 1..];
        let sub = if after.is_empty() {
            None
        } else {
            Some(after.strip_prefix('.').ok_or_else(|| invalid_path(text))?)
        };
        (&rest[..open], Some(filter), sub)
    } else {
        match rest.split_once('.') {
            Some((attr, sub)) => (attr, None, Some(sub)),
            None => (rest, None, None),
        }
    };
    if !valid_name(attr) || sub.is_some_and(|s| !valid_name(s)) {
        return Err(invalid_path(text));
    }
    if container == Container::Core
        && ["id", "meta", "schemas", "groups"]
            .iter()
            .any(|ro| ro.eq_ignore_ascii_case(attr))
    {
        return Err(ScimError::new(
            400,
            Some("mutability"),
            format!("{attr} is read-only"),
        ));
    }
    Ok(PatchPath {
        container,
        attr: Some(attr.to_string()),
        filter,
        sub: sub.map(str::to_string),
    })
}

/// Applies a `PatchOp` body to a user's attributes (all or nothing: the caller keeps the copy).
pub(super) fn apply_patch(data: &mut Map<String, Value>, body: &Value) -> Result<(), ScimError> {
    let body = body
        .as_object()
        .ok_or_else(|| invalid_syntax("a PatchOp must be an object"))?;
    let schemas_ok = get_ci(body, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| s.iter().any(|s| s.as_str() == Some(PATCH_OP_SCHEMA)));
    if !schemas_ok {
        return Err(invalid_syntax(format!(
            "schemas must hold {PATCH_OP_SCHEMA}"
        )));
    }
    let operations = get_ci(body, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid_syntax("a PatchOp needs Operations"))?;
    for operation in operations {
        let operation = operation
            .as_object()
            .ok_or_else(|| invalid_syntax("an operation must be an object"))?;
        let op = get_ci(operation, "op")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_ascii_lowercase();
        let path = get_ci(operation, "path")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|p| !p.is_empty());
        let value = get_ci(operation, "value");
        let kind = match op.as_str() {
            "add" => PatchKind::Add,
            "replace" => PatchKind::Replace,
            "remove" => {
                let path = path
                    .ok_or_else(|| ScimError::new(400, Some("noTarget"), "remove needs a path"))?;
                patch_remove(data, &parse_patch_path(path)?, value)?;
                continue;
            }
            _ => return Err(invalid_syntax(format!("unknown op {op:?}"))),
        };
        let value = value.ok_or_else(|| invalid_syntax(format!("{op} needs a value")))?;
        match path {
            Some(path) => patch_set(data, kind, &parse_patch_path(path)?, value)?,
            None => {
                let object = value.as_object().ok_or_else(|| {
                    ScimError::new(
                        400,
                        Some("invalidValue"),
                        format!("{op} without a path needs an object value"),
                    )
                })?;
                for (key, value) in object {
                    if ["id", "meta", "schemas"]
                        .iter()
                        .any(|ro| ro.eq_ignore_ascii_case(key))
                    {
                        continue;
                    }
                    patch_set(data, kind, &parse_patch_path(key)?, value)?;
                }
            }
        }
    }
    Ok(())
}

/// The object a path's attribute lives in, created when missing.
fn container_mut(
    data: &mut Map<String, Value>,
    container: Container,
) -> Result<&mut Map<String, Value>, ScimError> {
    match container {
        Container::Core => Ok(data),
        Container::Enterprise => {
            let key = key_ci(data, ENTERPRISE_USER_SCHEMA)
                .unwrap_or_else(|| ENTERPRISE_USER_SCHEMA.to_string());
            let extension = data.entry(key).or_insert_with(|| json!({}));
            if extension.is_null() {
                *extension = json!({});
            }
            extension.as_object_mut().ok_or_else(|| {
                ScimError::new(
                    400,
                    Some("invalidValue"),
                    "the enterprise extension is not an object",
                )
            })
        }
    }
}

fn merge_into(target: &mut Map<String, Value>, source: &Map<String, Value>) {
    for (key, value) in source {
        let key = key_ci(target, key).unwrap_or_else(|| key.clone());
        if value.is_null() {
            target.remove(&key);
        } else {
            target.insert(key, value.clone());
        }
    }
}

fn patch_set(
    data: &mut Map<String, Value>,
    kind: PatchKind,
    path: &PatchPath,
    value: &Value,
) -> Result<(), ScimError> {
    let container = container_mut(data, path.container)?;
    let Some(attr) = &path.attr else {
        let object = value.as_object().ok_or_else(|| {
            ScimError::new(
                400,
                Some("invalidValue"),
                "the enterprise extension takes an object",
            )
        })?;
        for (key, value) in object {
            set_attribute(container, kind, key, value);
        }
        return Ok(());
    };
    match (&path.filter, &path.sub) {
        (None, None) => set_attribute(container, kind, attr, value),
        (None, Some(sub)) => set_sub_attribute(container, attr, sub, value),
        (Some(filter), sub) => {
            set_filtered(container, kind, attr, filter, sub.as_deref(), value)?;
        }
    }
    Ok(())
}

fn set_attribute(container: &mut Map<String, Value>, kind: PatchKind, name: &str, value: &Value) {
    let key = key_ci(container, name).unwrap_or_else(|| name.to_string());
    if value.is_null() {
        container.remove(&key);
        return;
    }
    let value = match value {
        Value::String(id) if name.eq_ignore_ascii_case("manager") => json!({ "value": id }),
        other => other.clone(),
    };
    match (container.get_mut(&key), value) {
        (Some(Value::Array(existing)), value) if kind == PatchKind::Add => {
            let items = match value {
                Value::Array(items) => items,
                single => vec![single],
            };
            for item in items {
                if !existing.contains(&item) {
                    existing.push(item);
                }
            }
        }
        (Some(Value::Object(existing)), Value::Object(value)) => merge_into(existing, &value),
        (_, value) => {
            let value = if is_multi_valued(name) && !value.is_array() {
                Value::Array(vec![value])
            } else {
                value
            };
            container.insert(key, value);
        }
    }
}

fn set_sub_attribute(container: &mut Map<String, Value>, name: &str, sub: &str, value: &Value) {
    let key = key_ci(container, name).unwrap_or_else(|| name.to_string());
    let set = |object: &mut Map<String, Value>| {
        let sub_key = key_ci(object, sub).unwrap_or_else(|| sub.to_string());
        if value.is_null() {
            object.remove(&sub_key);
        } else {
            object.insert(sub_key, value.clone());
        }
    };
    match container.get_mut(&key) {
        Some(Value::Array(items)) if !items.is_empty() => {
            items
                .iter_mut()
                .filter_map(Value::as_object_mut)
                .for_each(set);
        }
        Some(Value::Object(object)) => set(object),
        _ if value.is_null() => {}
        _ => {
            let mut object = Map::new();
            set(&mut object);
            let new = if is_multi_valued(name) {
                json!([object])
            } else {
                Value::Object(object)
            };
            container.insert(key, new);
        }
    }
}

fn set_filtered(
    container: &mut Map<String, Value>,
    kind: PatchKind,
    name: &str,
    filter: &Filter,
    sub: Option<&str>,
    value: &Value,
) -> Result<(), ScimError> {
    let key = key_ci(container, name).unwrap_or_else(|| name.to_string());
    let no_target = || {
        ScimError::new(
            400,
            Some("noTarget"),
            format!("no value of {name} matches the filter"),
        )
    };
    let entry = container.entry(key).or_insert_with(|| json!([]));
    if let Value::Object(single) = entry {
        *entry = json!([single.clone()]);
    }
    let items = entry.as_array_mut().ok_or_else(no_target)?;
    let mut matched = false;
    for item in items.iter_mut() {
        let Some(object) = item.as_object_mut() else {
            continue;
        };
        if !filter.matches(object) {
            continue;
        }
        matched = true;
        match (sub, value) {
            (Some(sub), value) => {
                let sub_key = key_ci(object, sub).unwrap_or_else(|| sub.to_string());
                if value.is_null() {
                    object.remove(&sub_key);
                } else {
                    object.insert(sub_key, value.clone());
                }
            }
            (None, Value::Object(value)) if kind == PatchKind::Add => merge_into(object, value),
            (None, Value::Object(value)) => *object = value.clone(),
            (None, _) => {
                return Err(ScimError::new(
                    400,
                    Some("invalidValue"),
                    format!("a value of {name} must be an object"),
                ));
            }
        }
    }
    if matched {
        return Ok(());
    }
    if kind == PatchKind::Replace {
        return Err(no_target());
    }
    let mut element = filter.template().ok_or_else(no_target)?;
    match (sub, value) {
        (Some(sub), value) => {
            element.insert(sub.to_string(), value.clone());
        }
        (None, Value::Object(value)) => merge_into(&mut element, value),
        (None, _) => return Err(no_target()),
    }
    items.push(Value::Object(element));
    Ok(())
}

fn patch_remove(
    data: &mut Map<String, Value>,
    path: &PatchPath,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    let container = match path.container {
        Container::Core => data,
        Container::Enterprise => {
            let Some(key) = key_ci(data, ENTERPRISE_USER_SCHEMA) else {
                return Ok(());
            };
            if path.attr.is_none() {
                data.remove(&key);
                return Ok(());
            }
            match data.get_mut(&key).and_then(Value::as_object_mut) {
                Some(extension) => extension,
                None => return Ok(()),
            }
        }
    };
    let Some(attr) = &path.attr else {
        return Ok(());
    };
    let Some(key) = key_ci(container, attr) else {
        return Ok(());
    };
    match (&path.filter, &path.sub) {
        (None, None) => match (container.get_mut(&key), value) {
            (Some(Value::Array(items)), Some(Value::Array(remove))) => {
                items.retain(|item| {
                    !remove.iter().any(|r| {
                        r == item
                            || (r.get("value").is_some() && r.get("value") == item.get("value"))
                    })
                });
                if items.is_empty() {
                    container.remove(&key);
                }
            }
            _ => {
                container.remove(&key);
            }
        },
        (None, Some(sub)) => match container.get_mut(&key) {
            Some(Value::Object(object)) => {
                remove_ci(object, sub);
                if object.is_empty() {
                    container.remove(&key);
                }
            }
            Some(Value::Array(items)) => {
                for item in items.iter_mut().filter_map(Value::as_object_mut) {
                    remove_ci(item, sub);
                }
            }
            _ => {}
        },
        (Some(filter), sub) => {
            if let Some(Value::Array(items)) = container.get_mut(&key) {
                match sub {
                    None => {
                        items.retain(|item| !item.as_object().is_some_and(|o| filter.matches(o)))
                    }
                    Some(sub) => {
                        for item in items.iter_mut().filter_map(Value::as_object_mut) {
                            if filter.matches(item) {
                                remove_ci(item, sub);
                            }
                        }
                    }
                }
                if items.is_empty() {
                    container.remove(&key);
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_paths() {
        let p = parse_patch_path(r#"emails[type eq "work"].value"#).unwrap();
        assert_eq!(p.attr.as_deref(), Some("emails"));
        assert_eq!(p.sub.as_deref(), Some("value"));
        assert!(p.filter.is_some());
        let p = parse_patch_path(&format!("{ENTERPRISE_USER_SCHEMA}:manager.value")).unwrap();
        assert_eq!(p.container, Container::Enterprise);
        assert_eq!(p.attr.as_deref(), Some("manager"));
        assert_eq!(p.sub.as_deref(), Some("value"));
        assert!(
            parse_patch_path(ENTERPRISE_USER_SCHEMA)
                .unwrap()
                .attr
                .is_none()
        );
        assert_eq!(
            parse_patch_path("id").err().unwrap().scim_type,
            Some("mutability")
        );
    }
}
