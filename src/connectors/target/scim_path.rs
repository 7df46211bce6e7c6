//! SCIM attribute paths (RFC 7644 §3.10 and the PATCH `valuePath` of §3.5.2): a plain path
//! (`title`, `name.givenName`, `urn:…:User:department`) or one whose multi-valued attribute
//! selects its element by type (`phoneNumbers[type eq "work"].value`,
//! `addresses[type eq "home"].postalCode`).
//!
//! Reading and writing a whole resource (listing, create, PUT) follow the path; a PATCH needs
//! more care, since RFC 7644 fails a `replace` whose filter matches no element (`noTarget`):
//! an element that does not exist yet is added whole (one `add` of the multi-valued attribute
//! with every mapped sub-attribute of that element), one that exists is changed in place.

use serde_json::{Map, Value, json};

/// One step of a path: an attribute, and for a multi-valued one the `type` of the element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step<'a> {
    /// The attribute's name.
    pub name: &'a str,
    /// `Some("work")` for `[type eq "work"]`.
    pub kind: Option<&'a str>,
}

/// A parsed path: the extension schema it is in, and its steps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Path<'a> {
    /// `urn:…:User` for an extension attribute.
    pub schema: Option<&'a str>,
    /// The steps from the resource (or the extension object) down.
    pub steps: Vec<Step<'a>>,
}

impl<'a> Path<'a> {
    /// Parses a path; `None` when it is not one this connector can follow (a filter other
    /// than `type eq "…"`, brackets unclosed, an empty step).
    pub fn parse(path: &'a str) -> Option<Path<'a>> {
        let (schema, attribute) = match path.find('[') {
            // The schema ends at the last colon before any filter (a type may hold a colon).
            Some(open) if path.starts_with("urn:") => {
                let colon = path[..open].rfind(':')?;
                (Some(&path[..colon]), &path[colon + 1..])
            }
            None if path.starts_with("urn:") => {
                let (schema, attribute) = path.rsplit_once(':')?;
                (Some(schema), attribute)
            }
            _ => (None, path),
        };
        let mut steps = Vec::new();
        let mut rest = attribute;
        loop {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            let name = &rest[..end];
            if name.is_empty() {
                return None;
            }
            rest = &rest[end..];
            let mut kind = None;
            if let Some(after) = rest.strip_prefix('[') {
                let close = after.find(']')?;
                kind = Some(type_filter(&after[..close])?);
                rest = &after[close + 1..];
            }
            steps.push(Step { name, kind });
            match rest.strip_prefix('.') {
                Some(next) => rest = next,
                None if rest.is_empty() => break,
                None => return None,
            }
        }
        Some(Path { schema, steps })
    }

    /// The element a path selects by type (`phoneNumbers[type eq "work"]`), when it does: the
    /// index of its step.
    pub fn filtered_step(&self) -> Option<usize> {
        self.steps.iter().position(|step| step.kind.is_some())
    }

    /// The path written out up to and including step `last` (with its filter).
    pub fn prefix(&self, last: usize) -> String {
        let mut out = String::new();
        if let Some(schema) = self.schema {
            out.push_str(schema);
            out.push(':');
        }
        for (index, step) in self.steps[..=last].iter().enumerate() {
            if index > 0 {
                out.push('.');
            }
            out.push_str(step.name);
            if let Some(kind) = step.kind {
                out.push_str(&format!("[type eq \"{kind}\"]"));
            }
        }
        out
    }

    /// The path of step `last`'s attribute itself, without its filter.
    pub fn attribute(&self, last: usize) -> String {
        let with_filter = self.prefix(last);
        match with_filter.find('[') {
            Some(open) if self.steps[last].kind.is_some() => with_filter[..open].to_owned(),
            _ => with_filter,
        }
    }
}

/// The type a filter selects: `type eq "work"` (operator and attribute case-insensitive).
fn type_filter(filter: &str) -> Option<&str> {
    let filter = filter.trim();
    let (attribute, rest) = filter.split_once(char::is_whitespace)?;
    if !attribute.eq_ignore_ascii_case("type") {
        return None;
    }
    let (operator, value) = rest.trim_start().split_once(char::is_whitespace)?;
    if !operator.eq_ignore_ascii_case("eq") {
        return None;
    }
    let value = value.trim().strip_prefix('"')?.strip_suffix('"')?;
    (!value.is_empty() && !value.contains('"')).then_some(value)
}

/// Whether an element of a multi-valued attribute is of `kind` (types compare without case).
fn of_kind(element: &Value, kind: &str) -> bool {
    element["type"]
        .as_str()
        .is_some_and(|t| t.eq_ignore_ascii_case(kind))
}

/// The value at an attribute path.
pub fn get_path<'v>(resource: &'v Value, path: &str) -> Option<&'v Value> {
    let parsed = Path::parse(path)?;
    let mut value = match parsed.schema {
        Some(schema) => resource.get(schema)?,
        None => resource,
    };
    for step in &parsed.steps {
        value = value.get(step.name)?;
        if let Some(kind) = step.kind {
            value = value.as_array()?.iter().find(|e| of_kind(e, kind))?;
        }
    }
    (!value.is_null()).then_some(value)
}

/// Sets (or, with `None`, removes) the value at an attribute path. A selected element that
/// does not exist is added with its `type`; one left with nothing but its type is removed,
/// and so is a multi-valued attribute left empty.
pub fn set_path(resource: &mut Value, path: &str, value: Option<Value>) {
    let Some(parsed) = Path::parse(path) else {
        return;
    };
    let Some(object) = resource.as_object_mut() else {
        return;
    };
    let object = match parsed.schema {
        Some(schema) => match child_object(object, schema, value.is_some()) {
            Some(object) => object,
            None => return,
        },
        None => object,
    };
    set_steps(object, &parsed.steps, value);
}

fn child_object<'m>(
    object: &'m mut Map<String, Value>,
    key: &str,
    create: bool,
) -> Option<&'m mut Map<String, Value>> {
    if !create && !object.get(key).is_some_and(Value::is_object) {
        return None;
    }
    let entry = object
        .entry(key.to_owned())
        .or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    entry.as_object_mut()
}

fn set_steps(object: &mut Map<String, Value>, steps: &[Step], value: Option<Value>) {
    let Some((step, rest)) = steps.split_first() else {
        return;
    };
    let Some(kind) = step.kind else {
        if rest.is_empty() {
            match value {
                Some(value) => {
                    object.insert(step.name.to_owned(), value);
                }
                None => {
                    object.remove(step.name);
                }
            }
        } else if let Some(child) = child_object(object, step.name, value.is_some()) {
            set_steps(child, rest, value);
        }
        return;
    };
    let creating = value.is_some();
    if !object.get(step.name).is_some_and(Value::is_array) {
        if !creating {
            return;
        }
        object.insert(step.name.to_owned(), json!([]));
    }
    let Some(items) = object.get_mut(step.name).and_then(Value::as_array_mut) else {
        return;
    };
    let index = match items.iter().position(|e| of_kind(e, kind)) {
        Some(index) => index,
        None if creating => {
            items.push(json!({"type": kind}));
            items.len() - 1
        }
        None => return,
    };
    match items[index].as_object_mut() {
        Some(element) if rest.is_empty() => match value {
            Some(Value::Object(fields)) => {
                element.extend(fields);
            }
            Some(_) => {}
            None => {
                items.remove(index);
            }
        },
        Some(element) => set_steps(element, rest, value),
        None => return,
    }
    if let Some(element) = items.get(index).and_then(Value::as_object)
        && element.keys().all(|key| key == "type" || key == "primary")
    {
        items.remove(index);
    }
    if items.is_empty() {
        object.remove(step.name);
    }
}

/// A mapped attribute's PATCH operation, before the ones of one new element are merged.
#[derive(Clone, Debug, PartialEq)]
pub enum PatchStep {
    /// `replace` (or with `None`, `remove`) at a path.
    Set(String, Option<Value>),
    /// An element that does not exist yet: added whole to `attribute`, with `sub` set.
    AddElement {
        /// The multi-valued attribute (`phoneNumbers`).
        attribute: String,
        /// The element's type.
        kind: String,
        /// The sub-attribute path within the element (`value`, `postalCode`).
        sub: String,
        /// Its value.
        value: Value,
    },
}

/// The PATCH step of one mapped attribute's change; `element_exists` says whether the user
/// holds an element of the selected type.
pub fn patch_step(path: &str, after: Option<Value>, element_exists: bool) -> PatchStep {
    let Some(parsed) = Path::parse(path) else {
        return PatchStep::Set(path.to_owned(), after);
    };
    let Some(filtered) = parsed.filtered_step() else {
        return PatchStep::Set(path.to_owned(), after);
    };
    let sub: Vec<&str> = parsed.steps[filtered + 1..]
        .iter()
        .map(|step| step.name)
        .collect();
    match after {
        Some(value) if !element_exists => PatchStep::AddElement {
            attribute: parsed.attribute(filtered),
            kind: parsed.steps[filtered].kind.unwrap_or_default().to_owned(),
            sub: sub.join("."),
            value,
        },
        Some(value) => PatchStep::Set(path.to_owned(), Some(value)),
        // A phone's `value` is the element: without it the element is removed whole.
        None if sub == ["value"] => PatchStep::Set(parsed.prefix(filtered), None),
        None => PatchStep::Set(path.to_owned(), None),
    }
}

/// The element a path selects (`phoneNumbers[type eq "work"]`), written out; `None` for a
/// plain path.
pub fn element_of(path: &str) -> Option<String> {
    let parsed = Path::parse(path)?;
    parsed.filtered_step().map(|index| parsed.prefix(index))
}

/// Why `to` cannot be a SCIM mapping target, if it cannot: a path this connector cannot
/// follow, more than one filter, or a filtered element without the sub-attribute a value goes
/// to (`phoneNumbers[type eq "work"]` alone would take no text).
pub fn check(to: &str) -> Option<String> {
    let writable = |path: &Path| match path.filtered_step() {
        None => true,
        Some(index) => {
            index + 1 < path.steps.len() && path.steps[index + 1..].iter().all(|s| s.kind.is_none())
        }
    };
    match Path::parse(to) {
        Some(path) if writable(&path) => None,
        _ => Some(format!(
            "`{to}` is not a SCIM attribute path this connector can write: use a name \
             (`title`), a sub-attribute (`name.givenName`), an extension attribute \
             (`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`), or one \
             typed element of a multi-valued attribute (`phoneNumbers[type eq \"work\"].value`, \
             `addresses[type eq \"work\"].postalCode`)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_parse_with_type_filters_and_extensions() {
        let path = Path::parse(r#"addresses[type eq "work"].postalCode"#).unwrap();
        assert_eq!(path.schema, None);
        assert_eq!(
            path.steps,
            vec![
                Step {
                    name: "addresses",
                    kind: Some("work")
                },
                Step {
                    name: "postalCode",
                    kind: None
                }
            ]
        );
        assert_eq!(path.prefix(0), r#"addresses[type eq "work"]"#);
        assert_eq!(path.attribute(0), "addresses");
        let ext =
            Path::parse("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value")
                .unwrap();
        assert_eq!(
            ext.schema,
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
        );
        assert_eq!(ext.steps.len(), 2);
        assert!(Path::parse(r#"PhoneNumbers[TYPE EQ "mobile"].value"#).is_some());
        for bad in [
            r#"phoneNumbers[value eq "x"].value"#,
            r#"phoneNumbers[type co "w"].value"#,
            r#"phoneNumbers[type eq work].value"#,
            r#"phoneNumbers[type eq "work".value"#,
            "name..givenName",
            "",
        ] {
            assert_eq!(Path::parse(bad), None, "{bad}");
            assert!(check(bad).is_some(), "{bad}");
        }
        // Parsed, but nowhere for a value to go.
        for unwritable in [
            r#"phoneNumbers[type eq "work"]"#,
            r#"addresses[type eq "work"].x[type eq "y"].z"#,
        ] {
            assert!(Path::parse(unwritable).is_some(), "{unwritable}");
            assert!(check(unwritable).is_some(), "{unwritable}");
        }
        assert_eq!(check(r#"phoneNumbers[type eq "work"].value"#), None);
        assert_eq!(check("title"), None);
    }

    #[test]
    fn typed_elements_are_read_made_and_removed() {
        let mut user = json!({"phoneNumbers": [{"type": "Mobile", "value": "+46 70 1"}]});
        assert_eq!(
            get_path(&user, r#"phoneNumbers[type eq "mobile"].value"#),
            Some(&json!("+46 70 1"))
        );
        assert_eq!(
            get_path(&user, r#"phoneNumbers[type eq "work"].value"#),
            None
        );
        set_path(
            &mut user,
            r#"phoneNumbers[type eq "work"].value"#,
            Some(json!("+46 8 1")),
        );
        set_path(
            &mut user,
            r#"addresses[type eq "work"].locality"#,
            Some(json!("Malmö")),
        );
        assert_eq!(
            user,
            json!({
                "phoneNumbers": [{"type": "Mobile", "value": "+46 70 1"},
                                 {"type": "work", "value": "+46 8 1"}],
                "addresses": [{"type": "work", "locality": "Malmö"}],
            })
        );
        set_path(&mut user, r#"addresses[type eq "work"].locality"#, None);
        set_path(&mut user, r#"phoneNumbers[type eq "mobile"].value"#, None);
        assert_eq!(
            user,
            json!({"phoneNumbers": [{"type": "work", "value": "+46 8 1"}]})
        );
        // Removing what is not there changes nothing.
        set_path(&mut user, r#"addresses[type eq "home"].region"#, None);
        assert_eq!(
            user,
            json!({"phoneNumbers": [{"type": "work", "value": "+46 8 1"}]})
        );
    }

    #[test]
    fn a_new_element_is_added_and_an_existing_one_changed_in_place() {
        let path = r#"addresses[type eq "work"].postalCode"#;
        assert_eq!(
            patch_step(path, Some(json!("21119")), false),
            PatchStep::AddElement {
                attribute: "addresses".into(),
                kind: "work".into(),
                sub: "postalCode".into(),
                value: json!("21119")
            }
        );
        assert_eq!(
            patch_step(path, Some(json!("21119")), true),
            PatchStep::Set(path.into(), Some(json!("21119")))
        );
        assert_eq!(
            patch_step(path, None, true),
            PatchStep::Set(path.into(), None)
        );
        assert_eq!(
            patch_step(r#"phoneNumbers[type eq "work"].value"#, None, true),
            PatchStep::Set(r#"phoneNumbers[type eq "work"]"#.into(), None)
        );
        assert_eq!(
            patch_step("title", Some(json!("CTO")), true),
            PatchStep::Set("title".into(), Some(json!("CTO")))
        );
    }
}
