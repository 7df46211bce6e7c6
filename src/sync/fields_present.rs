//! Every field the spec reads must be carried by someone. A mapped or filtered field that no
//! employee of the whole fetch has is far more often a misspelt name, a renamed column or a lost
//! permission than a field empty for everyone, and planning on would clear the mapped attribute
//! for the whole company, or let a filter keep or drop everyone. So the run stops before
//! planning, naming the field and the fields the data does have.

use std::{collections::BTreeSet, fmt};

use serde_json::Value;

use super::{
    field::{Field, FieldValue, STANDARD_FIELDS},
    map::choose_email,
    model::Employee,
    policy::{CompiledFilter, SyncPolicy},
};

/// How many of the fields the data has an error lists; a company can have hundreds of custom
/// fields, and the message goes to a terminal and to logs.
pub const LISTED_FIELDS: usize = 40;

/// A field the spec reads that no employee carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MissingField {
    /// Where the spec names it: `spec.attributeMapping[2].from`, `spec.filters[0].field`.
    pub spec_path: String,
    /// The field, as the spec writes it: `customFields.costCentre`.
    pub field: String,
    /// Whether it is read by a mapping (which can be marked optional) rather than a filter.
    pub mapping: bool,
}

/// The fields the spec reads that no employee carries, and what the data has instead.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct MissingFields {
    /// Each missing field, in spec order (mappings, then filters).
    pub missing: Vec<MissingField>,
    /// Fields some employee carries (canonical fields and custom field paths), sorted, at most
    /// [`LISTED_FIELDS`].
    pub present: Vec<String>,
    /// How many more fields the data has than `present` lists.
    pub more_present: usize,
}

impl fmt::Display for MissingFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "no employee in the source has a value for a field the spec reads; a misspelt name, \
             a renamed column or a lost permission would otherwise change that field for everyone:"
        )?;
        for missing in &self.missing {
            let fix = if missing.mapping {
                "fix the name, or set `optional: true` on the mapping if the field may be empty \
                 for everyone (one HR fills in later)"
            } else {
                "fix the name (a filter on a field nobody has would keep or drop everyone)"
            };
            writeln!(f, "  {}: `{}` — {fix}", missing.spec_path, missing.field)?;
        }
        write!(f, "Fields the employees have: ")?;
        if self.present.is_empty() {
            write!(f, "none")?;
        } else {
            write!(f, "{}", self.present.join(", "))?;
        }
        if self.more_present > 0 {
            write!(f, " and {} more", self.more_present)?;
        }
        Ok(())
    }
}

/// Checks that every field `policy` maps (unless the mapping is optional) or filters on has a
/// value on at least one of `employees`. A source without employees is not judged: the planner
/// already handles an empty source.
pub fn check(policy: &SyncPolicy, employees: &[Employee]) -> Result<(), MissingFields> {
    if employees.is_empty() {
        return Ok(());
    }
    // A compiled policy holds one mapping per spec mapping and one filter per spec filter, in
    // order (compiling fails on any invalid one), so positions are the spec's indexes.
    let mapped = policy
        .mappings
        .iter()
        .enumerate()
        .filter(|(_, mapping)| !mapping.optional)
        .map(|(index, mapping)| {
            (
                format!("spec.attributeMapping[{index}].from"),
                &mapping.from,
                true,
            )
        });
    let filtered = policy.filters.iter().enumerate().map(|(index, filter)| {
        let field = match filter {
            CompiledFilter::Values { field, .. } | CompiledFilter::Date { field, .. } => field,
        };
        (format!("spec.filters[{index}].field"), field, false)
    });
    let missing: Vec<MissingField> = mapped
        .chain(filtered)
        .filter(|(_, field, _)| !employees.iter().any(|e| carries(policy, e, field)))
        .map(|(spec_path, field, mapping)| MissingField {
            spec_path,
            field: field.to_string(),
            mapping,
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let present = present_fields(policy, employees);
    let more_present = present.len().saturating_sub(LISTED_FIELDS);
    Err(MissingFields {
        missing,
        present: present.into_iter().take(LISTED_FIELDS).collect(),
        more_present,
    })
}

/// Whether the employee has a value for the field; `email` is the address the policy chooses.
fn carries(policy: &SyncPolicy, employee: &Employee, field: &Field) -> bool {
    let email = choose_email(employee, &policy.email_priority);
    match field.get(employee, email) {
        FieldValue::Missing => false,
        // The names are always text, empty when the source had none.
        FieldValue::Text(text) => !text.is_empty(),
        FieldValue::Date(_) | FieldValue::Json(_) => true,
    }
}

/// Every field some employee has: the canonical ones and each custom field path (to its
/// innermost values), sorted.
fn present_fields(policy: &SyncPolicy, employees: &[Employee]) -> Vec<String> {
    let mut present: BTreeSet<String> = STANDARD_FIELDS
        .iter()
        .filter(|field| employees.iter().any(|e| carries(policy, e, field)))
        .map(ToString::to_string)
        .collect();
    for employee in employees {
        for (name, value) in employee.custom_fields.iter() {
            custom_paths(&format!("customFields.{name}"), value, &mut present);
        }
    }
    present.into_iter().collect()
}

/// Adds `path` when `value` is a value, or the paths inside it when it is an object.
fn custom_paths(path: &str, value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(object) if !object.is_empty() => {
            for (key, inner) in object {
                custom_paths(&format!("{path}.{key}"), inner, out);
            }
        }
        Value::Null => {}
        Value::String(text) if text.is_empty() => {}
        _ => {
            if !out.contains(path) {
                out.insert(path.to_owned());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::model::{Email, EmailType, EmploymentStatus};
    use serde_json::json;

    fn policy(extra: &str) -> SyncPolicy {
        crate::sync::policy::testing::policy(&format!(
            "source: {{csv: {{path: e.csv}}}}\ntarget: {{file: {{path: d.json}}}}\nexternalIdPrefix: 'hr:'\n{extra}"
        ))
    }

    /// Two employees: one with a cost center and a department, one with a nested address.
    fn employees() -> Vec<Employee> {
        let mut a = Employee::new("1", "Ada", "L", EmploymentStatus::Active);
        a.department = Some("R&D".into());
        a.custom_fields.insert("costCenter", json!("4410"));
        a.custom_fields.insert("empty", json!(""));
        let mut b = Employee::new("2", "Bo", "M", EmploymentStatus::Active);
        b.custom_fields
            .insert("address", json!({"city": "Malmö", "zip": null}));
        b.emails.push(Email {
            address: "bo@home.example".into(),
            kind: EmailType::Personal,
        });
        vec![a, b]
    }

    #[test]
    fn a_field_one_employee_carries_passes() {
        let policy = policy(
            "attributeMapping:\n- {from: customFields.costCenter, to: cc}\n- {from: customFields.address.city, to: city}\n- {from: department, to: dept}\nfilters:\n- {field: firstName, operator: Exclude, values: [x]}",
        );
        assert_eq!(check(&policy, &employees()), Ok(()));
    }

    #[test]
    fn a_mapped_field_nobody_carries_names_the_spec_path_and_what_exists() {
        let policy = policy(
            "attributeMapping:\n- {from: department, to: dept}\n- {from: title, to: title}\n- {from: customFields.costCentre, to: cc}",
        );
        let error = check(&policy, &employees()).unwrap_err();
        let missing: Vec<_> = error
            .missing
            .iter()
            .map(|m| (m.spec_path.as_str(), m.field.as_str()))
            .collect();
        assert_eq!(
            missing,
            [
                ("spec.attributeMapping[1].from", "title"),
                ("spec.attributeMapping[2].from", "customFields.costCentre"),
            ]
        );
        assert_eq!(
            error.present,
            [
                "customFields.address.city",
                "customFields.costCenter",
                "department",
                "email",
                "employmentStatus",
                "firstName",
                "id",
                "lastName",
                "personalEmail",
            ]
        );
        let message = error.to_string();
        assert!(
            message.contains("spec.attributeMapping[2].from: `customFields.costCentre`"),
            "{message}"
        );
        assert!(message.contains("optional: true"), "{message}");
        assert!(message.contains("customFields.costCenter,"), "{message}");
    }

    #[test]
    fn an_optional_mapping_may_be_empty_for_everyone_but_a_filter_may_not() {
        let optional =
            policy("attributeMapping:\n- {from: customFields.costCentre, to: cc, optional: true}");
        assert_eq!(check(&optional, &employees()), Ok(()));
        let filtered = policy(
            "attributeMapping:\n- {from: customFields.costCentre, to: cc, optional: true}\nfilters:\n- {field: location, operator: Include, values: [Malmö]}\n- {field: customFields.hired, operator: Before, date: '2026-01-01'}",
        );
        let error = check(&filtered, &employees()).unwrap_err();
        let missing: Vec<_> = error
            .missing
            .iter()
            .map(|m| (m.spec_path.as_str(), m.field.as_str(), m.mapping))
            .collect();
        assert_eq!(
            missing,
            [
                ("spec.filters[0].field", "location", false),
                ("spec.filters[1].field", "customFields.hired", false),
            ]
        );
        assert!(!error.to_string().contains("optional"), "{error}");
    }

    #[test]
    fn email_counts_as_carried_only_when_the_policy_would_choose_an_address() {
        let mapping = "attributeMapping:\n- {from: email, to: mail}\n";
        assert_eq!(check(&policy(mapping), &employees()), Ok(()));
        // Bo's only address is personal, and personal addresses are not chosen.
        let strict = policy(&format!("{mapping}emails: {{includePersonal: false}}"));
        let error = check(&strict, &employees()).unwrap_err();
        assert_eq!(error.missing[0].field, "email");
        assert!(!error.present.contains(&"email".to_owned()));
    }

    #[test]
    fn an_empty_source_is_not_judged() {
        let policy = policy("attributeMapping:\n- {from: customFields.costCentre, to: cc}");
        assert_eq!(check(&policy, &[]), Ok(()));
    }

    #[test]
    fn the_list_of_present_fields_is_capped() {
        let mut employee = Employee::new("1", "Ada", "L", EmploymentStatus::Active);
        for index in 0..100 {
            employee
                .custom_fields
                .insert(format!("field{index:03}"), json!(index));
        }
        let policy = policy("attributeMapping:\n- {from: customFields.costCentre, to: cc}");
        let error = check(&policy, &[employee]).unwrap_err();
        assert_eq!(error.present.len(), LISTED_FIELDS);
        // 100 custom fields and id, firstName, lastName, employmentStatus.
        assert_eq!(error.more_present, 104 - LISTED_FIELDS);
        assert!(error.to_string().ends_with(" and 64 more"), "{error}");
    }
}
