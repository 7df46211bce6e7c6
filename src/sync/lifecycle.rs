//! Joiner, mover and leaver decisions for one employee on one date.

use jiff::{ToSpan, civil::Date};

use super::model::{Employee, EmploymentStatus};
use crate::crd::{Lifecycle, RemovalAction, RemovalPolicy};

/// What the target should hold for an employee on the evaluation date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disposition {
    /// The user exists; `active` tells whether it may sign in yet.
    Provision {
        /// Active from start date + `activation.afterStartMonths`.
        active: bool,
    },
    /// Not provisioned yet: the pre-hire window opens on `from`. An existing user is left alone.
    NotYet {
        /// First day the user is created.
        from: Date,
    },
    /// The employee left: an existing user is deactivated.
    Deactivate,
    /// The employee left and removal is due: an existing user is deleted.
    Delete,
    /// The employee left and `inactiveUsers: Ignore`: an existing user is left alone.
    Leave,
    /// `Pending` with no start date: nothing can be decided; an existing user is left alone.
    NoStartDate,
}

impl Disposition {
    /// Whether the employee is a leaver.
    pub fn is_leaver(self) -> bool {
        matches!(
            self,
            Disposition::Deactivate | Disposition::Delete | Disposition::Leave
        )
    }
}

/// Decides an employee's disposition on `as_of`, a date in the connection's time zone.
///
/// A leaver is an employee whose status is `Inactive` or whose end date has passed (the end date
/// is the last working day). `Leave` counts as employed. Months are calendar months, clamped to
/// the month's last day (Jan 31 + 1 month = Feb 28).
pub fn disposition(employee: &Employee, rules: &Lifecycle, as_of: Date) -> Disposition {
    let ended = employee.employment_status == EmploymentStatus::Inactive
        || employee.end_date.is_some_and(|end| end < as_of);
    if ended {
        let removal_due = match rules.removal.policy {
            RemovalPolicy::Immediately => true,
            RemovalPolicy::Never => false,
            RemovalPolicy::AfterMonths => employee.end_date.is_some_and(|end| {
                add_months(end, rules.removal.months.unwrap_or(0)).is_some_and(|due| due < as_of)
            }),
        };
        return match rules.inactive_users {
            RemovalAction::Ignore => Disposition::Leave,
            RemovalAction::Delete => Disposition::Delete,
            RemovalAction::Deactivate if removal_due => Disposition::Delete,
            RemovalAction::Deactivate => Disposition::Deactivate,
        };
    }
    let Some(start) = employee.start_date else {
        return if employee.employment_status == EmploymentStatus::Pending {
            Disposition::NoStartDate
        } else {
            Disposition::Provision { active: true }
        };
    };
    let provision_from = start
        .checked_sub(i64::from(rules.pre_hire_days).days())
        .unwrap_or(start);
    if as_of < provision_from {
        return Disposition::NotYet {
            from: provision_from,
        };
    }
    let active_from = add_months(start, rules.activation.after_start_months).unwrap_or(start);
    Disposition::Provision {
        active: as_of >= active_from,
    }
}

fn add_months(date: Date, months: u32) -> Option<Date> {
    date.checked_add(i64::from(months).months()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::{Activation, Removal};
    use jiff::civil::date;

    fn rules() -> Lifecycle {
        Lifecycle::default()
    }

    fn employee(status: EmploymentStatus, start: Option<Date>, end: Option<Date>) -> Employee {
        let mut e = Employee::new("1", "A", "B", status);
        e.start_date = start;
        e.end_date = end;
        e
    }

    #[test]
    fn joiners_are_created_pre_hire_days_before_start_and_inactive_until_activation() {
        let mut rules = rules();
        rules.pre_hire_days = 7;
        rules.activation = Activation {
            after_start_months: 1,
        };
        let e = employee(EmploymentStatus::Pending, Some(date(2026, 1, 31)), None);
        assert_eq!(
            disposition(&e, &rules, date(2026, 1, 23)),
            Disposition::NotYet {
                from: date(2026, 1, 24)
            }
        );
        assert_eq!(
            disposition(&e, &rules, date(2026, 1, 24)),
            Disposition::Provision { active: false }
        );
        // Jan 31 + 1 month clamps to Feb 28.
        assert_eq!(
            disposition(&e, &rules, date(2026, 2, 27)),
            Disposition::Provision { active: false }
        );
        assert_eq!(
            disposition(&e, &rules, date(2026, 2, 28)),
            Disposition::Provision { active: true }
        );
    }

    #[test]
    fn without_pre_hire_days_a_joiner_appears_on_the_start_date() {
        let e = employee(EmploymentStatus::Active, Some(date(2026, 5, 4)), None);
        assert!(matches!(
            disposition(&e, &rules(), date(2026, 5, 3)),
            Disposition::NotYet { .. }
        ));
        assert_eq!(
            disposition(&e, &rules(), date(2026, 5, 4)),
            Disposition::Provision { active: true }
        );
    }

    #[test]
    fn leave_counts_as_employed_and_pending_without_start_waits() {
        let e = employee(EmploymentStatus::Leave, Some(date(2020, 1, 1)), None);
        assert_eq!(
            disposition(&e, &rules(), date(2026, 1, 1)),
            Disposition::Provision { active: true }
        );
        let e = employee(EmploymentStatus::Pending, None, None);
        assert_eq!(
            disposition(&e, &rules(), date(2026, 1, 1)),
            Disposition::NoStartDate
        );
        let e = employee(EmploymentStatus::Active, None, None);
        assert_eq!(
            disposition(&e, &rules(), date(2026, 1, 1)),
            Disposition::Provision { active: true }
        );
    }

    #[test]
    fn leavers_follow_inactive_users_and_removal() {
        let end = Some(date(2026, 1, 15));
        let e = employee(EmploymentStatus::Inactive, Some(date(2020, 1, 1)), end);
        let mut rules = rules();
        assert_eq!(
            disposition(&e, &rules, date(2026, 6, 1)),
            Disposition::Deactivate
        );
        rules.removal = Removal {
            policy: RemovalPolicy::AfterMonths,
            months: Some(6),
        };
        assert_eq!(
            disposition(&e, &rules, date(2026, 7, 15)),
            Disposition::Deactivate
        );
        assert_eq!(
            disposition(&e, &rules, date(2026, 7, 16)),
            Disposition::Delete
        );
        rules.removal = Removal {
            policy: RemovalPolicy::Immediately,
            months: None,
        };
        assert_eq!(
            disposition(&e, &rules, date(2026, 1, 16)),
            Disposition::Delete
        );
        rules.inactive_users = RemovalAction::Ignore;
        assert_eq!(
            disposition(&e, &rules, date(2026, 1, 16)),
            Disposition::Leave
        );
        rules.inactive_users = RemovalAction::Delete;
        rules.removal = Removal::default();
        assert_eq!(
            disposition(&e, &rules, date(2026, 1, 16)),
            Disposition::Delete
        );
    }

    #[test]
    fn an_active_employee_leaves_the_day_after_the_end_date() {
        let e = employee(
            EmploymentStatus::Active,
            Some(date(2020, 1, 1)),
            Some(date(2026, 3, 31)),
        );
        assert_eq!(
            disposition(&e, &rules(), date(2026, 3, 31)),
            Disposition::Provision { active: true }
        );
        assert_eq!(
            disposition(&e, &rules(), date(2026, 4, 1)),
            Disposition::Deactivate
        );
    }

    #[test]
    fn removal_after_months_needs_an_end_date() {
        let e = employee(EmploymentStatus::Inactive, Some(date(2020, 1, 1)), None);
        let mut rules = rules();
        rules.removal = Removal {
            policy: RemovalPolicy::AfterMonths,
            months: Some(0),
        };
        assert_eq!(
            disposition(&e, &rules, date(2030, 1, 1)),
            Disposition::Deactivate
        );
    }
}
