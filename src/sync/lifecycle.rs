//! Joiner, mover and leaver decisions for one employee on one date, and the status of a record
//! that states none, from its dates on that date.

use jiff::{ToSpan, civil::Date};

use super::model::{Employee, EmploymentStatus};

/// Joiner, mover and leaver rules, evaluated on one date in the connection's time zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rules {
    /// What happens to the user of an employee whose status is Inactive or whose end date has
    /// passed.
    pub inactive_users: RemovalAction,
    /// What happens to managed users whose employee is no longer in the source (or is now
    /// dropped by a filter).
    pub absent_users: RemovalAction,
    /// Months after the start date at which a new employee's user becomes active.
    pub active_after_start_months: u32,
    /// Users are created this many days before their start date, inactive until activation.
    pub pre_hire_days: u32,
    /// When a deactivated leaver's user is deleted.
    pub removal: Removal,
}

/// What to do with a user whose employee left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RemovalAction {
    /// Set the user inactive (and delete it later per [`Removal`]).
    Deactivate,
    /// Delete the user at once.
    Delete,
    /// Leave the user as it is.
    Ignore,
}

/// When a leaver's user is deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Removal {
    /// As soon as the employee has left.
    Immediately,
    /// This many months after the end date (never without an end date).
    AfterMonths(u32),
    /// Never: deactivate only.
    Never,
}

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
pub fn disposition(employee: &Employee, rules: &Rules, as_of: Date) -> Disposition {
    let ended = employee.employment_status == EmploymentStatus::Inactive
        || employee.end_date.is_some_and(|end| end < as_of);
    if ended {
        let removal_due = match rules.removal {
            Removal::Immediately => true,
            Removal::Never => false,
            Removal::AfterMonths(months) => employee
                .end_date
                .is_some_and(|end| add_months(end, months).is_some_and(|due| due < as_of)),
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
    let active_from = add_months(start, rules.active_after_start_months).unwrap_or(start);
    Disposition::Provision {
        active: as_of >= active_from,
    }
}

/// A status from the dates alone, on `as_of`: Pending before the start date, Inactive after
/// the end date (the last working day), Active otherwise.
pub fn status_from_dates(start: Option<Date>, end: Option<Date>, as_of: Date) -> EmploymentStatus {
    if start.is_some_and(|start| start > as_of) {
        EmploymentStatus::Pending
    } else if end.is_some_and(|end| end < as_of) {
        EmploymentStatus::Inactive
    } else {
        EmploymentStatus::Active
    }
}

/// Gives every employee whose record states no status the one its dates give on `as_of`, the
/// run's evaluation date. Done once, before anything reads a status (filters, mappings,
/// lifecycle), so that a run judges every record on the date it started, whatever the clock
/// of whoever reads the source says.
pub fn settle_statuses(employees: &mut [Employee], as_of: Date) {
    for employee in employees.iter_mut().filter(|e| !e.status_stated) {
        employee.employment_status =
            status_from_dates(employee.start_date, employee.end_date, as_of);
    }
}

fn add_months(date: Date, months: u32) -> Option<Date> {
    date.checked_add(i64::from(months).months()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    /// The rules of a spec that sets none.
    fn rules() -> Rules {
        Rules {
            inactive_users: RemovalAction::Deactivate,
            absent_users: RemovalAction::Deactivate,
            active_after_start_months: 0,
            pre_hire_days: 0,
            removal: Removal::Never,
        }
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
        rules.active_after_start_months = 1;
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
        rules.removal = Removal::AfterMonths(6);
        assert_eq!(
            disposition(&e, &rules, date(2026, 7, 15)),
            Disposition::Deactivate
        );
        assert_eq!(
            disposition(&e, &rules, date(2026, 7, 16)),
            Disposition::Delete
        );
        rules.removal = Removal::Immediately;
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
        rules.removal = Removal::Never;
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
    fn without_a_status_the_dates_decide() {
        let today = date(2026, 11, 22);
        let pending = status_from_dates(Some(date(2027, 1, 1)), None, today);
        let gone = status_from_dates(Some(date(2020, 1, 1)), Some(date(2026, 1, 1)), today);
        let here = status_from_dates(Some(date(2020, 1, 1)), Some(date(2026, 11, 22)), today);
        assert_eq!(
            [pending, gone, here],
            [
                EmploymentStatus::Pending,
                EmploymentStatus::Inactive,
                EmploymentStatus::Active
            ]
        );
    }

    #[test]
    fn records_without_a_status_are_settled_on_the_run_date_and_stated_ones_kept() {
        let mut unstated = employee(EmploymentStatus::Active, None, Some(date(2026, 6, 30)));
        unstated.status_stated = false;
        let stated = employee(EmploymentStatus::Leave, None, Some(date(2026, 6, 30)));
        let on = |as_of| {
            let mut employees = vec![unstated.clone(), stated.clone()];
            settle_statuses(&mut employees, as_of);
            [
                employees[0].employment_status,
                employees[1].employment_status,
            ]
        };
        assert_eq!(
            on(date(2026, 6, 30)),
            [EmploymentStatus::Active, EmploymentStatus::Leave]
        );
        assert_eq!(
            on(date(2026, 7, 1)),
            [EmploymentStatus::Inactive, EmploymentStatus::Leave]
        );
    }

    #[test]
    fn removal_after_months_needs_an_end_date() {
        let e = employee(EmploymentStatus::Inactive, Some(date(2020, 1, 1)), None);
        let mut rules = rules();
        rules.removal = Removal::AfterMonths(0);
        assert_eq!(
            disposition(&e, &rules, date(2030, 1, 1)),
            Disposition::Deactivate
        );
    }
}
