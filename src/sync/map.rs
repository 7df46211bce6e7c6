//! From an employee to the user the target should hold.

use compact_str::CompactString;
use serde_json::Value;

use super::{
    field::fold_case,
    model::{Attributes, EmailType, Employee, NewUser},
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

/// The mapped attributes of an employee, with aliases applied.
pub fn mapped_attributes(employee: &Employee, email: &str, policy: &SyncPolicy) -> Attributes {
    let mut attributes = Attributes::default();
    for mapping in &policy.mappings {
        let Some(mut value) = mapping.from.get(employee, Some(email)).to_json() else {
            continue;
        };
        if let Value::String(text) = &value
            && !mapping.aliases.is_empty()
        {
            let folded = fold_case(text.trim());
            if let Some((_, written)) = mapping.aliases.iter().find(|(hr, _)| *hr == folded) {
                value = Value::String(written.clone());
            }
        }
        attributes.set(mapping.to.clone(), value);
    }
    attributes
}

/// The user an employee should be, given the chosen email and whether it is active yet.
/// The manager is the manager's externalId; the apply step resolves it to a target id.
pub fn desired_user(
    employee: &Employee,
    email: &str,
    active: bool,
    policy: &SyncPolicy,
) -> NewUser {
    let language = employee
        .preferred_language
        .as_ref()
        .filter(|language| !language.is_empty())
        .or(policy.default_language.as_ref())
        .cloned();
    NewUser {
        external_id: policy.external_id(&employee.id),
        email: CompactString::from(email),
        first_name: employee.first_name.clone(),
        last_name: employee.last_name.clone(),
        preferred_language: language,
        active,
        manager: employee
            .manager_id
            .as_ref()
            .filter(|manager| !manager.is_empty() && **manager != employee.id)
            .map(|manager| policy.external_id(manager)),
        attributes: mapped_attributes(employee, email, policy),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::{AttributeMapping, HrisConnectionSpec};
    use crate::sync::model::{Email, EmploymentStatus};
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

    fn policy(yaml: &str) -> SyncPolicy {
        let spec: HrisConnectionSpec = serde_saphyr::from_str(yaml).unwrap();
        SyncPolicy::compile(&spec).unwrap()
    }

    const BASE: &str = "source: {csv: {path: x.csv}}\ntarget: {file: {path: d.json}}\nexternalIdPrefix: 'p:'\n";

    #[test]
    fn mappings_apply_aliases_case_insensitively_and_skip_missing_values() {
        let mut spec: HrisConnectionSpec = serde_saphyr::from_str(BASE).unwrap();
        spec.defaults.preferred_language = Some("en".into());
        spec.attribute_mapping = vec![
            AttributeMapping {
                from: "department".into(),
                to: "dept".into(),
                aliases: [("R&D".to_owned(), "Engineering".to_owned())].into(),
            },
            AttributeMapping {
                from: "customFields.cost.center".into(),
                to: "costCenter".into(),
                aliases: Default::default(),
            },
            AttributeMapping {
                from: "title".into(),
                to: "title".into(),
                aliases: Default::default(),
            },
        ];
        let policy = SyncPolicy::compile(&spec).unwrap();
        let mut e = Employee::new("7", "Ada", "L", EmploymentStatus::Active);
        e.department = Some("r&d".into());
        e.manager_id = Some("3".into());
        e.custom_fields.insert("cost".into(), json!({"center": 4410}));
        let user = desired_user(&e, "ada@corp.example", true, &policy);
        assert_eq!(user.external_id, "p:7");
        assert_eq!(user.manager.as_deref(), Some("p:3"));
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
