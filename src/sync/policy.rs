//! The spec compiled into what the pure pipeline needs, validating every field on the way: the
//! one place in the core that reads the CRD's types. It turns them into the core's own (match
//! keys, email types, filters, lifecycle rules, operations, guards, the cadence), so nothing
//! else in the core depends on the resource's shape.
//!
//! The CRD schema refuses most bad manifests at `kubectl apply`; this repeats those checks (and
//! the ones a schema cannot express, such as time zones and field names) for manifests run
//! locally, each error naming its field and the fix. The settings of a source or target are
//! their connector's to check, beside this, where the spec is read.

use std::{fmt, sync::Arc};

use compact_str::CompactString;
use jiff::{civil::Date, tz::TimeZone};

use super::{
    cadence::{self, Cadence, CadenceError, ScheduleText},
    field::{Field, fold_case},
    lifecycle::{self, Removal, RemovalAction},
    model::EmailType,
    safeguard::{Guard, Guards},
};
use crate::crd::{
    self, AttributeMapping, EmailPolicy, Filter, FilterOperator, HrisConnectionSpec, RemovalPolicy,
    Safeguards,
};

/// One problem in a spec, with the path of the field it concerns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecError {
    /// Path of the field, such as `spec.filters[1].date`.
    pub field: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// All problems found in a spec.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
pub struct SpecErrors(pub Vec<SpecError>);

/// A compiled attribute mapping.
#[derive(Clone, Debug)]
pub struct Mapping {
    /// The HR field read.
    pub from: Field,
    /// The target attribute written.
    pub to: Arc<str>,
    /// Case-folded HR value → value written.
    pub aliases: Vec<(String, String)>,
    /// Whether the field may be empty for every employee without failing the run.
    pub optional: bool,
}

/// A compiled filter.
#[derive(Clone, Debug)]
pub enum CompiledFilter {
    /// Keep (`include: true`) or drop (`include: false`) employees whose value is listed.
    Values {
        /// The field tested.
        field: Field,
        /// Include or Exclude.
        include: bool,
        /// Case-folded values.
        values: Vec<String>,
    },
    /// Keep employees whose date satisfies the comparison (employees without it are kept).
    Date {
        /// The field tested.
        field: Field,
        /// How the employee's date must compare with `date`.
        operator: DateComparison,
        /// The date compared with.
        date: Date,
    },
}

/// How a date filter compares an employee's date with its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateComparison {
    /// Before the filter's date.
    Before,
    /// On or before it.
    OnOrBefore,
    /// After it.
    After,
    /// On or after it.
    OnOrAfter,
}

/// A way to find an existing target user for an employee.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MatchKey {
    /// The user's externalId equals the prefix + the employee id.
    ExternalId,
    /// The user's userName or email equals the employee's chosen email.
    Email,
}

/// Kinds of writes the connection may perform.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Operations {
    /// Create users for joiners.
    pub create: bool,
    /// Update changed attributes, adopt matched users and reactivate rehires.
    pub update: bool,
    /// Deactivate leavers and absent users.
    pub deactivate: bool,
    /// Delete users.
    pub delete: bool,
}

/// Everything the pure pipeline needs from a spec.
#[derive(Clone, Debug)]
pub struct SyncPolicy {
    /// Prefix of our externalIds.
    pub external_id_prefix: CompactString,
    /// Matching keys in order.
    pub matching: Vec<MatchKey>,
    /// Email types in order, with Personal dropped when not allowed.
    pub email_priority: Vec<EmailType>,
    /// Preferred language for employees without one.
    pub default_language: Option<CompactString>,
    /// Attribute mappings.
    pub mappings: Vec<Mapping>,
    /// Filters, ANDed.
    pub filters: Vec<CompiledFilter>,
    /// Lifecycle rules.
    pub lifecycle: lifecycle::Rules,
    /// Allowed operations.
    pub operations: Operations,
    /// The limit of every kind of change.
    pub safeguards: Guards,
    /// Zone in which "today" and lifecycle dates are evaluated.
    pub time_zone: TimeZone,
    /// When the connection runs on schedule.
    pub cadence: Cadence,
}

impl SyncPolicy {
    /// Compiles and validates a spec, collecting every problem rather than the first.
    pub fn compile(spec: &HrisConnectionSpec) -> Result<SyncPolicy, SpecErrors> {
        let mut errors = Vec::new();
        let mut error = |field: String, message: String| errors.push(SpecError { field, message });
        check_keys(spec, &mut error);
        let email_priority = compile_emails(&spec.emails, &mut error);
        let mappings = compile_mappings(&spec.attribute_mapping, &mut error);
        let filters = compile_filters(&spec.filters, &mut error);
        let removal = compile_removal(&spec.lifecycle.removal, &mut error);
        let safeguards = compile_safeguards(&spec.safeguards, &mut error);
        let (cadence, time_zone) = compile_schedule(&spec.schedule, &mut error);
        check_limits(spec, &mut error);

        let (true, Some(cadence)) = (errors.is_empty(), cadence) else {
            return Err(SpecErrors(errors));
        };
        Ok(SyncPolicy {
            external_id_prefix: spec.external_id_prefix.as_str().into(),
            matching: spec.matching.iter().map(|&key| match_key(key)).collect(),
            email_priority,
            default_language: spec
                .defaults
                .preferred_language
                .as_deref()
                .filter(|language| !language.is_empty())
                .map(Into::into),
            mappings,
            filters,
            lifecycle: lifecycle::Rules {
                inactive_users: removal_action(spec.lifecycle.inactive_users),
                absent_users: removal_action(spec.lifecycle.absent_users),
                active_after_start_months: spec.lifecycle.activation.after_start_months,
                pre_hire_days: spec.lifecycle.pre_hire_days,
                removal,
            },
            operations: Operations {
                create: spec.operations.create,
                update: spec.operations.update,
                deactivate: spec.operations.deactivate,
                delete: spec.operations.delete,
            },
            safeguards,
            time_zone,
            cadence,
        })
    }

    /// The externalId of an employee id.
    pub fn external_id(&self, employee_id: &str) -> CompactString {
        let mut id = self.external_id_prefix.clone();
        id.push_str(employee_id);
        id
    }

    /// The mapped attribute names, in mapping order.
    pub fn mapped_attributes(&self) -> Vec<Arc<str>> {
        self.mappings.iter().map(|m| m.to.clone()).collect()
    }

    /// The calendar date of an instant in the policy's time zone: the evaluation date of a run
    /// that starts at `instant` (the caller reads the clock; the core never does).
    pub fn date_at(&self, instant: jiff::Timestamp) -> Date {
        instant.to_zoned(self.time_zone.clone()).date()
    }
}

/// The externalId prefix and the matching keys.
fn check_keys(spec: &HrisConnectionSpec, error: &mut impl FnMut(String, String)) {
    if let Err(message) = check_prefix(&spec.external_id_prefix) {
        error("spec.externalIdPrefix".into(), message);
    }
    if spec.matching.is_empty() {
        error(
            "spec.matching".into(),
            "must list at least one of externalId, email".into(),
        );
    }
    for (index, key) in spec.matching.iter().enumerate() {
        if spec.matching[..index].contains(key) {
            error(
                format!("spec.matching[{index}]"),
                format!("{key:?} is listed twice"),
            );
        }
    }
}

/// The email types in order of preference, with Personal dropped when not allowed.
fn compile_emails(emails: &EmailPolicy, error: &mut impl FnMut(String, String)) -> Vec<EmailType> {
    if emails.priority.is_empty() {
        error(
            "spec.emails.priority".into(),
            "must list at least one of Primary, Work, Secondary, Personal, Other".into(),
        );
    }
    emails
        .priority
        .iter()
        .map(|&kind| email_type(kind))
        .filter(|kind| emails.include_personal || *kind != EmailType::Personal)
        .collect()
}

fn compile_mappings(
    mappings: &[AttributeMapping],
    error: &mut impl FnMut(String, String),
) -> Vec<Mapping> {
    let mut compiled = Vec::with_capacity(mappings.len());
    for (index, mapping) in mappings.iter().enumerate() {
        let path = format!("spec.attributeMapping[{index}]");
        let from = match Field::parse(&mapping.from) {
            Ok(field) => Some(field),
            Err(message) => {
                error(format!("{path}.from"), message);
                None
            }
        };
        if mapping.to.trim().is_empty() {
            error(
                format!("{path}.to"),
                "must name the target attribute".into(),
            );
        } else if mappings[..index].iter().any(|other| other.to == mapping.to) {
            error(
                format!("{path}.to"),
                format!(
                    "`{}` is already written by an earlier mapping; map each target attribute once",
                    mapping.to
                ),
            );
        }
        if let Some(from) = from {
            compiled.push(Mapping {
                from,
                to: Arc::from(mapping.to.as_str()),
                aliases: mapping
                    .aliases
                    .iter()
                    .map(|(hr, written)| (fold_case(hr).into_owned(), written.clone()))
                    .collect(),
                optional: mapping.optional,
            });
        }
    }
    compiled
}

fn compile_filters(
    filters: &[Filter],
    error: &mut impl FnMut(String, String),
) -> Vec<CompiledFilter> {
    let mut compiled = Vec::with_capacity(filters.len());
    for (index, filter) in filters.iter().enumerate() {
        let path = format!("spec.filters[{index}]");
        let field = match Field::parse(&filter.field) {
            Ok(field) => field,
            Err(message) => {
                error(format!("{path}.field"), message);
                continue;
            }
        };
        if filter.operator.is_date() {
            if filter.values.is_some() {
                error(
                    format!("{path}.values"),
                    format!(
                        "a {:?} filter compares one date: remove values and set date",
                        filter.operator
                    ),
                );
            }
            if !field.may_hold_date() {
                error(
                    format!("{path}.field"),
                    format!(
                        "`{}` holds no date; date operators apply to startDate, endDate or a custom field",
                        filter.field
                    ),
                );
            }
            match filter.date.as_deref().map(parse_date) {
                None => error(
                    format!("{path}.date"),
                    format!("a {:?} filter needs a date (YYYY-MM-DD)", filter.operator),
                ),
                Some(Err(message)) => error(format!("{path}.date"), message),
                Some(Ok(date)) => {
                    compiled.extend(date_comparison(filter.operator).map(|operator| {
                        CompiledFilter::Date {
                            field,
                            operator,
                            date,
                        }
                    }))
                }
            }
        } else {
            if filter.date.is_some() {
                error(
                    format!("{path}.date"),
                    format!(
                        "an {:?} filter compares values: remove date and set values",
                        filter.operator
                    ),
                );
            }
            match &filter.values {
                Some(values) if !values.is_empty() => compiled.push(CompiledFilter::Values {
                    field,
                    include: filter.operator == FilterOperator::Include,
                    values: values.iter().map(|v| fold_case(v).into_owned()).collect(),
                }),
                _ => error(
                    format!("{path}.values"),
                    format!("an {:?} filter needs at least one value", filter.operator),
                ),
            }
        }
    }
    compiled
}

/// When a leaver's user is deleted.
fn compile_removal(removal: &crd::Removal, error: &mut impl FnMut(String, String)) -> Removal {
    match (removal.policy, removal.months) {
        (RemovalPolicy::AfterMonths, None) => {
            error(
                "spec.lifecycle.removal.months".into(),
                "policy AfterMonths needs months (0 or more)".into(),
            );
            Removal::Never
        }
        (RemovalPolicy::Immediately | RemovalPolicy::Never, Some(_)) => {
            error(
                "spec.lifecycle.removal.months".into(),
                format!(
                    "months applies only to policy AfterMonths, not {:?}; remove it",
                    removal.policy
                ),
            );
            Removal::Never
        }
        (RemovalPolicy::AfterMonths, Some(months)) => Removal::AfterMonths(months),
        (RemovalPolicy::Immediately, None) => Removal::Immediately,
        (RemovalPolicy::Never, None) => Removal::Never,
    }
}

/// The cadence (none when it does not compile) and the time zone of the schedule.
fn compile_schedule(
    schedule: &crd::Schedule,
    error: &mut impl FnMut(String, String),
) -> (Option<Cadence>, TimeZone) {
    let cadence = match Cadence::compile(&ScheduleText {
        cron: schedule.cron.as_deref(),
        interval: schedule.interval.as_deref(),
        start_at: schedule.start_at.as_deref(),
        time_zone: &schedule.time_zone,
    }) {
        Ok(cadence) => Some(cadence),
        // Reported once, just below, as the zone of the lifecycle dates too.
        Err(CadenceError::TimeZone(_)) => None,
        Err(problem) => {
            error(problem.field().into(), problem.message().into());
            None
        }
    };
    let time_zone = match cadence::time_zone(&schedule.time_zone) {
        Ok(zone) => zone,
        Err(problem) => {
            error(problem.field().into(), problem.message().into());
            TimeZone::UTC
        }
    };
    (cadence, time_zone)
}

/// The history kept and the Job's limits.
fn check_limits(spec: &HrisConnectionSpec, error: &mut impl FnMut(String, String)) {
    for (field, kept) in [
        ("successful", spec.history_limits.successful),
        ("failed", spec.history_limits.failed),
    ] {
        if kept > 10 {
            error(
                format!("spec.historyLimits.{field}"),
                format!("{kept} is more than 10, the runs status remembers; use 0 to 10"),
            );
        }
    }
    if spec.job.active_deadline_seconds < 1 {
        error(
            "spec.job.activeDeadlineSeconds".into(),
            "must be at least 1".into(),
        );
    }
    if spec.job.backoff_limit < 0 {
        error("spec.job.backoffLimit".into(), "must be 0 or more".into());
    }
}

/// The characters an externalId prefix may end in: none of them occurs in the ids HR systems
/// hand out (numbers, codes such as E1001, UUIDs).
pub const PREFIX_SEPARATORS: [char; 4] = [':', '/', '|', '#'];

/// Checks an externalId prefix: at least two characters, then a separator. Users whose
/// externalId is the prefix, then an id without the separator, are this connection's; so
/// `acme:` and `acme:contractors:` never claim each other's users.
pub fn check_prefix(prefix: &str) -> Result<(), String> {
    let example = "such as \"acme-hris:\"";
    if prefix.trim().is_empty() {
        return Err(format!(
            "must not be empty: set a prefix {example}; it marks the users this connection manages"
        ));
    }
    if prefix.trim() != prefix {
        return Err(format!(
            "{} starts or ends with a space; write the prefix without one, {example}",
            quoted(prefix)
        ));
    }
    let mut chars = prefix.chars();
    let last = chars.next_back();
    if !last.is_some_and(|c| PREFIX_SEPARATORS.contains(&c)) {
        return Err(format!(
            "{} must end in a separator, one of : / | # ({example}), so that it cannot be the \
             start of another connection's prefix",
            quoted(prefix)
        ));
    }
    if chars.count() < 2 {
        return Err(format!(
            "{} is too short: write at least two characters before the separator, {example}",
            quoted(prefix)
        ));
    }
    Ok(())
}

/// The guards with the deprecated removal settings folded in, each percentage checked.
fn compile_safeguards(safeguards: &Safeguards, error: &mut impl FnMut(String, String)) -> Guards {
    let mut compiled = safeguards.clone();
    let deprecated =
        safeguards.max_delete_percent.is_some() || safeguards.max_delete_count.is_some();
    if deprecated && safeguards.removals != Safeguards::default().removals {
        error(
            "spec.safeguards.maxDeletePercent".into(),
            "maxDeletePercent and maxDeleteCount are the old names of removals.maxPercent and \
             removals.maxCount: set removals only"
                .into(),
        );
    }
    if let Some(percent) = safeguards.max_delete_percent {
        compiled.removals.max_percent = Some(percent);
    }
    if let Some(count) = safeguards.max_delete_count {
        // The old setting used 0 for "no count limit".
        compiled.removals.max_count = (count > 0).then_some(count);
    }
    compiled.max_delete_percent = None;
    compiled.max_delete_count = None;
    if safeguards.max_delete_percent.is_some_and(|p| p > 100) {
        error(
            "spec.safeguards.maxDeletePercent".into(),
            format!(
                "{} is not a percentage: use 0 to 100",
                safeguards.max_delete_percent.unwrap_or_default()
            ),
        );
    }
    for (name, guard) in [
        ("removals", &safeguards.removals),
        ("identityChanges", &safeguards.identity_changes),
        ("reactivations", &safeguards.reactivations),
        ("attributeClears", &safeguards.attribute_clears),
        ("creates", &safeguards.creates),
    ] {
        if let Some(percent) = guard.max_percent.filter(|p| *p > 100) {
            error(
                format!("spec.safeguards.{name}.maxPercent"),
                format!("{percent} is not a percentage: use 0 to 100"),
            );
        }
    }
    if safeguards.seat_limit == Some(0) {
        error(
            "spec.safeguards.seatLimit".into(),
            "0 seats would let no user be active: set the number of active users the target \
             may hold (1 or more), or leave seatLimit out for no limit"
                .into(),
        );
    }
    let guard = |guard: &crd::Guard| Guard {
        max_percent: guard.max_percent,
        max_count: guard.max_count,
    };
    Guards {
        removals: guard(&compiled.removals),
        identity_changes: guard(&compiled.identity_changes),
        reactivations: guard(&compiled.reactivations),
        attribute_clears: guard(&compiled.attribute_clears),
        creates: guard(&compiled.creates),
        seat_limit: safeguards.seat_limit,
    }
}

fn match_key(key: crd::MatchKey) -> MatchKey {
    match key {
        crd::MatchKey::ExternalId => MatchKey::ExternalId,
        crd::MatchKey::Email => MatchKey::Email,
    }
}

fn email_type(kind: crd::EmailType) -> EmailType {
    match kind {
        crd::EmailType::Primary => EmailType::Primary,
        crd::EmailType::Work => EmailType::Work,
        crd::EmailType::Secondary => EmailType::Secondary,
        crd::EmailType::Personal => EmailType::Personal,
        crd::EmailType::Other => EmailType::Other,
    }
}

/// The comparison of a date operator; `None` for Include and Exclude, which compare values.
fn date_comparison(operator: FilterOperator) -> Option<DateComparison> {
    match operator {
        FilterOperator::Before => Some(DateComparison::Before),
        FilterOperator::OnOrBefore => Some(DateComparison::OnOrBefore),
        FilterOperator::After => Some(DateComparison::After),
        FilterOperator::OnOrAfter => Some(DateComparison::OnOrAfter),
        FilterOperator::Include | FilterOperator::Exclude => None,
    }
}

fn removal_action(action: crd::RemovalAction) -> RemovalAction {
    match action {
        crd::RemovalAction::Deactivate => RemovalAction::Deactivate,
        crd::RemovalAction::Delete => RemovalAction::Delete,
        crd::RemovalAction::Ignore => RemovalAction::Ignore,
    }
}

/// Parses a YYYY-MM-DD date, with an error message that says so.
pub fn parse_date(value: &str) -> Result<Date, String> {
    let trimmed = value.trim();
    let shaped = trimmed.len() == 10
        && trimmed.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if !shaped {
        return Err(format!(
            "{} is not a date in YYYY-MM-DD form",
            quoted(value)
        ));
    }
    trimmed
        .parse()
        .map_err(|_| format!("`{value}` is not a calendar date (YYYY-MM-DD)"))
}

/// Most characters of a value quoted in an error message.
pub const QUOTED_CHARS: usize = 40;

/// A value for an error message, in backticks and cut to [`QUOTED_CHARS`] characters: a
/// source field can hold megabytes, and errors end up in reports and logs.
pub fn quoted(value: &str) -> String {
    match value.char_indices().nth(QUOTED_CHARS) {
        None => format!("`{value}`"),
        Some((cut, _)) => format!("`{}…` ({} bytes)", &value[..cut], value.len()),
    }
}

/// Policies for the core's unit tests, compiled from spec YAML.
#[cfg(test)]
pub(crate) mod testing {
    use super::SyncPolicy;

    /// The policy of a spec written in YAML; panics when the spec is invalid.
    pub(crate) fn policy(yaml: &str) -> SyncPolicy {
        let spec: crate::crd::HrisConnectionSpec =
            serde_saphyr::from_str(yaml).expect("a spec in YAML");
        SyncPolicy::compile(&spec).expect("a valid spec")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_must_be_calendar_days_in_iso_form() {
        assert_eq!(parse_date("2026-02-28").unwrap().to_string(), "2026-02-28");
        assert!(
            parse_date("2026-02-30")
                .unwrap_err()
                .contains("not a calendar date")
        );
        assert!(parse_date("28/02/2026").unwrap_err().contains("YYYY-MM-DD"));
        assert!(parse_date("2026-2-8").is_err());
        let huge = parse_date(&"9".repeat(1 << 20)).unwrap_err();
        assert!(huge.len() < 100, "{huge}");
        assert!(huge.contains("(1048576 bytes)"), "{huge}");
        assert_eq!(quoted("Åsa"), "`Åsa`");
    }

    fn policy_in(zone: &str) -> SyncPolicy {
        let spec: HrisConnectionSpec = serde_saphyr::from_str(&format!(
            "source: {{csv: {{path: e.csv}}}}\ntarget: {{file: {{path: d.json}}}}\nexternalIdPrefix: 'hr:'\nschedule: {{timeZone: {zone}}}"
        ))
        .unwrap();
        SyncPolicy::compile(&spec).unwrap()
    }

    #[test]
    fn the_evaluation_date_is_the_calendar_date_in_the_schedule_time_zone() {
        let date_in = |zone: &str, instant: &str| {
            policy_in(zone)
                .date_at(instant.parse().unwrap())
                .to_string()
        };
        assert_eq!(date_in("UTC", "2026-11-22T23:30:00Z"), "2026-11-22");
        // Stockholm is UTC+1 in November: already the 23rd there.
        assert_eq!(
            date_in("Europe/Stockholm", "2026-11-22T23:30:00Z"),
            "2026-11-23"
        );
        // Los Angeles is UTC-8: still the 22nd at 07:59 UTC on the 23rd.
        assert_eq!(
            date_in("America/Los_Angeles", "2026-11-23T07:59:00Z"),
            "2026-11-22"
        );
        // Across the spring-forward night (Stockholm, 2026-03-29 02:00 → 03:00).
        assert_eq!(
            date_in("Europe/Stockholm", "2026-03-28T22:59:00Z"),
            "2026-03-28"
        );
        assert_eq!(
            date_in("Europe/Stockholm", "2026-03-28T23:00:00Z"),
            "2026-03-29"
        );
    }

    fn errors_of(yaml: &str) -> Vec<SpecError> {
        let spec: HrisConnectionSpec = serde_saphyr::from_str(yaml).unwrap();
        SyncPolicy::compile(&spec).map_or_else(|e| e.0, |_| Vec::new())
    }

    #[test]
    fn start_at_errors_name_the_field_once() {
        let errors = |schedule: &str| -> Vec<String> {
            errors_of(&format!(
                "source: {{csv: {{path: e.csv}}}}\ntarget: {{file: {{path: d.json}}}}\n\
                 externalIdPrefix: 'hr:'\nschedule: {schedule}"
            ))
            .into_iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect()
        };
        assert!(errors("{interval: 6h, startAt: '02:00', timeZone: Europe/Amsterdam}").is_empty());
        assert!(errors("{interval: 6h, startAt: '2026-12-01T02:00'}").is_empty());
        let with_cron = errors("{cron: '0 3 * * *', startAt: '02:00'}");
        assert_eq!(with_cron.len(), 1, "{with_cron:?}");
        assert!(
            with_cron[0].starts_with("spec.schedule.startAt: startAt anchors an interval"),
            "{with_cron:?}"
        );
        let malformed = errors("{interval: 6h, startAt: '2026-12-01'}");
        assert_eq!(
            malformed,
            [
                "spec.schedule.startAt: `2026-12-01` is not a time of day or a date and time; \
              write HH:MM such as 02:00, or YYYY-MM-DDTHH:MM such as 2026-01-05T02:00"
            ]
        );
        // A bad time zone is named once, as the time zone.
        let zone = errors("{interval: 6h, startAt: '02:00', timeZone: Mars/Base}");
        assert_eq!(zone.len(), 1, "{zone:?}");
        assert!(zone[0].starts_with("spec.schedule.timeZone:"), "{zone:?}");
    }

    #[test]
    fn a_seat_limit_of_zero_is_refused_naming_the_field_and_the_fix() {
        let spec = |seats: &str| {
            format!(
                "source: {{csv: {{path: e.csv}}}}\ntarget: {{file: {{path: d.json}}}}\n\
                 externalIdPrefix: 'hr:'\nsafeguards: {{seatLimit: {seats}}}"
            )
        };
        assert!(errors_of(&spec("1")).is_empty());
        assert_eq!(
            testing::policy(&spec("250")).safeguards.seat_limit,
            Some(250)
        );
        let zero = errors_of(&spec("0"));
        assert_eq!(zero.len(), 1, "{zero:?}");
        assert_eq!(zero[0].field, "spec.safeguards.seatLimit");
        assert!(
            zero[0].message.contains("leave seatLimit out for no limit"),
            "{zero:?}"
        );
    }
}
