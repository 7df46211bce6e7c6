//! From an employee to the user the target should hold.

use compact_str::CompactString;
use serde_json::Value;

use super::{
    field::{FieldValue, eq_ignore_case, fold_case},
    model::{Attributes, EmailType, Employee, NewUser},
    policy::Mapping,
    policy::SyncPolicy,
};

/// The email the policy picks: the first non-empty address of the first listed type present.
pub fn choose_email<'a>(employee: &'a Employee, priority: &[EmailType]) -> Option<&'a str> {
    priority.iter().find_map(|kind| {
        employee
            .emails
            .iter()
            .find(|email| email.kind == *kind && !email.address.trim().is_empty())
            .map(|email| email.address.trim())
    })
}

/// A mapped attribute's value for one employee, borrowed where it can be.
#[derive(Clone, Debug, PartialEq)]
pub enum MappedValue<'a> {
    /// Text (after aliases).
    Text(&'a str),
    /// A date or a non-text custom value.
    Json(std::borrow::Cow<'a, Value>),
}

impl MappedValue<'_> {
    /// Whether the target's current value is this one.
    pub fn matches(&self, current: Option<&Value>) -> bool {
        match (self, current) {
            (MappedValue::Text(text), Some(Value::String(current))) => text == current,
            (MappedValue::Json(value), Some(current)) => value.as_ref() == current,
            _ => false,
        }
    }

    /// The value as JSON.
    pub fn to_json(&self) -> Value {
        match self {
            MappedValue::Text(text) => Value::String((*text).to_owned()),
            MappedValue::Json(value) => value.as_ref().clone(),
        }
    }
}

/// The value a mapping writes for an employee, with aliases applied; `None` when the employee
/// has no value.
pub fn mapped_value<'a>(
    mapping: &'a Mapping,
    employee: &'a Employee,
    email: &'a str,
) -> Option<MappedValue<'a>> {
    let value = mapping.from.get(employee, Some(email));
    let text = match &value {
        FieldValue::Missing => return None,
        FieldValue::Text(text) => Some(*text),
        FieldValue::Json(Value::String(text)) => Some(text.as_str()),
        FieldValue::Date(_) | FieldValue::Json(_) => None,
    };
    match text {
        Some(text) => {
            let alias = (!mapping.aliases.is_empty())
                .then(|| {
                    let folded = fold_case(text.trim());
                    mapping
                        .aliases
                        .iter()
                        .find(|(hr, _)| *hr == folded)
                        .map(|(_, written)| written.as_str())
                })
                .flatten();
            Some(MappedValue::Text(alias.unwrap_or(text)))
        }
        None => Some(MappedValue::Json(match value {
            FieldValue::Json(json) => std::borrow::Cow::Borrowed(json),
            other => std::borrow::Cow::Owned(other.to_json().unwrap_or(Value::Null)),
        })),
    }
}

/// The mapped attributes of an employee, with aliases applied.
pub fn mapped_attributes(employee: &Employee, email: &str, policy: &SyncPolicy) -> Attributes {
    let mut attributes = Attributes::default();
    for mapping in &policy.mappings {
        if let Some(value) = mapped_value(mapping, employee, email) {
            attributes.set(mapping.to.clone(), value.to_json());
        }
    }
    attributes
}

/// The preferred language of an employee, or the policy's default.
pub fn preferred_language<'a>(employee: &'a Employee, policy: &'a SyncPolicy) -> Option<&'a str> {
    employee
        .preferred_language
        .as_deref()
        .filter(|language| !language.is_empty())
        .or(policy.default_language.as_deref())
}

/// The HR id of an employee's manager, unless it is missing or the employee themself. Ids are
/// compared as employee ids are everywhere (without case), so `e5` is E5's own id.
pub fn manager_id(employee: &Employee) -> Option<&str> {
    employee
        .manager_id
        .as_deref()
        .map(str::trim)
        .filter(|manager| !manager.is_empty() && !eq_ignore_case(manager, &employee.id))
}

/// The user an employee should be, given the chosen email and whether it is active yet.
/// The manager is the manager's externalId; the apply step resolves it to a target id.
pub fn desired_user(
    employee: &Employee,
    email: &str,
    active: bool,
    policy: &SyncPolicy,
) -> NewUser {
    NewUser {
        external_id: policy.external_id(&employee.id),
        email: CompactString::from(email),
        first_name: employee.first_name.clone(),
        last_name: employee.last_name.clone(),
        preferred_language: preferred_language(employee, policy).map(Into::into),
        active,
        manager: manager_id(employee).map(|manager| policy.external_id(manager)),
        attributes: mapped_attributes(employee, email, policy),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::{
        model::{Email, EmploymentStatus},
        policy::testing::policy,
    };
    use serde_json::json;

    fn email(address: &str, kind: EmailType) -> Email {
        Email {
            address: address.into(),
            kind,
        }
    }

    #[test]
    fn email_priority_picks_the_first_present_type() {
        let mut e = Employee::new("1", "A", "B", EmploymentStatus::Active);
        e.emails = vec![
            email("home@example.org", EmailType::Personal),
            email("a@corp.example", EmailType::Work),
        ];
        let all = EmailType::ALL;
        assert_eq!(choose_email(&e, &all), Some("a@corp.example"));
        assert_eq!(
            choose_email(&e, &[EmailType::Personal, EmailType::Work]),
            Some("home@example.org")
        );
        e.emails[1].address = " ".into();
        assert_eq!(choose_email(&e, &all), Some("home@example.org"));
        assert_eq!(choose_email(&e, &[EmailType::Work, EmailType::Other]), None);
    }

    const BASE: &str =
        "source: {csv: {path: x.csv}}\ntarget: {file: {path: d.json}}\nexternalIdPrefix: 'hr:'\n";

    #[test]
    fn mappings_apply_aliases_case_insensitively_and_skip_missing_values() {
        let policy = policy(&format!(
            "{BASE}defaults: {{preferredLanguage: en}}\nattributeMapping:\n\
             - {{from: department, to: dept, aliases: {{'R&D': Engineering}}}}\n\
             - {{from: customFields.cost.center, to: costCenter}}\n\
             - {{from: title, to: title}}\n"
        ));
        let mut e = Employee::new("7", "Ada", "L", EmploymentStatus::Active);
        e.department = Some("r&d".into());
        e.manager_id = Some("3".into());
        e.custom_fields.insert("cost", json!({"center": 4410}));
        let user = desired_user(&e, "ada@corp.example", true, &policy);
        assert_eq!(user.external_id, "hr:7");
        assert_eq!(user.manager.as_deref(), Some("hr:3"));
        assert_eq!(user.preferred_language.as_deref(), Some("en"));
        assert_eq!(user.attributes.get("dept"), Some(&json!("Engineering")));
        assert_eq!(user.attributes.get("costCenter"), Some(&json!(4410)));
        assert_eq!(user.attributes.get("title"), None);
    }

    #[test]
    fn an_employee_is_never_their_own_manager() {
        let policy = policy(BASE);
        let mut e = Employee::new("7", "Ada", "L", EmploymentStatus::Active);
        e.manager_id = Some("7".into());
        assert_eq!(desired_user(&e, "a@b.c", true, &policy).manager, None);
    }
}
