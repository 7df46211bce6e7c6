//! Which employees are in scope.

use super::{
    field::{FieldValue, eq_ignore_case},
    model::Employee,
    policy::{CompiledFilter, DateComparison},
};

/// Whether an employee passes every filter. `email` is the address the email policy chose.
///
/// Include/Exclude compare case-insensitively. A date filter only drops employees whose date is
/// present and fails the comparison: a missing date never removes anyone by accident.
pub fn keep(employee: &Employee, email: Option<&str>, filters: &[CompiledFilter]) -> bool {
    filters.iter().all(|filter| match filter {
        CompiledFilter::Values {
            field,
            include,
            values,
        } => {
            let listed = field
                .get(employee, email)
                .as_text()
                .is_some_and(|value| values.iter().any(|v| eq_ignore_case(v, value.trim())));
            listed == *include
        }
        CompiledFilter::Date {
            field,
            operator,
            date,
        } => match field.get(employee, email) {
            FieldValue::Missing => true,
            value => value.as_date().is_none_or(|actual| match operator {
                DateComparison::Before => actual < *date,
                DateComparison::OnOrBefore => actual <= *date,
                DateComparison::After => actual > *date,
                DateComparison::OnOrAfter => actual >= *date,
            }),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::{field::Field, model::EmploymentStatus};
    use jiff::civil::date;

    fn employee(department: &str) -> Employee {
        let mut e = Employee::new("1", "A", "B", EmploymentStatus::Active);
        e.department = Some(department.into());
        e.start_date = Some(date(2026, 3, 1));
        e
    }

    fn values(include: bool, values: &[&str]) -> CompiledFilter {
        CompiledFilter::Values {
            field: Field::Department,
            include,
            values: values.iter().map(|v| v.to_lowercase()).collect(),
        }
    }

    #[test]
    fn include_keeps_only_listed_values_ignoring_case() {
        let filters = [values(true, &["Engineering", "Sales"])];
        assert!(keep(&employee("ENGINEERING"), None, &filters));
        assert!(keep(&employee("sales"), None, &filters));
        assert!(!keep(&employee("Finance"), None, &filters));
    }

    #[test]
    fn exclude_drops_listed_values_and_keeps_missing_ones() {
        let filters = [values(false, &["Contractors"])];
        assert!(!keep(&employee("contractors"), None, &filters));
        assert!(keep(&employee("Engineering"), None, &filters));
        let mut no_department = employee("x");
        no_department.department = None;
        assert!(keep(&no_department, None, &filters));
        assert!(!keep(&no_department, None, &[values(true, &["x"])]));
    }

    #[test]
    fn date_filters_compare_and_keep_employees_without_the_date() {
        let on_or_before = |d| CompiledFilter::Date {
            field: Field::StartDate,
            operator: DateComparison::OnOrBefore,
            date: d,
        };
        assert!(keep(
            &employee("x"),
            None,
            &[on_or_before(date(2026, 3, 1))]
        ));
        assert!(!keep(
            &employee("x"),
            None,
            &[on_or_before(date(2026, 2, 28))]
        ));
        let before = CompiledFilter::Date {
            field: Field::StartDate,
            operator: DateComparison::Before,
            date: date(2026, 3, 1),
        };
        assert!(!keep(&employee("x"), None, std::slice::from_ref(&before)));
        let mut undated = employee("x");
        undated.start_date = None;
        assert!(keep(&undated, None, &[before]));
    }

    #[test]
    fn filters_are_anded() {
        let filters = [
            values(false, &["Contractors"]),
            CompiledFilter::Date {
                field: Field::StartDate,
                operator: DateComparison::After,
                date: date(2026, 1, 1),
            },
        ];
        assert!(keep(&employee("Engineering"), None, &filters));
        assert!(!keep(&employee("Contractors"), None, &filters));
    }
}
