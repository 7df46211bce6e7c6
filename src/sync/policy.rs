//! The spec compiled into what the pure pipeline needs, validating every field on the way.
//!
//! The CRD schema refuses most bad manifests at `kubectl apply`; this repeats those checks (and
//! the ones a schema cannot express, such as time zones and field names) for manifests run
//! locally, each error naming its field and the fix.

use std::{fmt, sync::Arc};

use compact_str::CompactString;
use jiff::{civil::Date, tz::TimeZone};

use super::field::{Field, fold_case};
use crate::crd::{
    EmailType, FilterOperator, HrisConnectionSpec, Lifecycle, MatchKey, Operations, RemovalPolicy,
    Safeguards, SourceSpec, TargetSpec, UpnTemplate,
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
        /// Before, OnOrBefore, After or OnOrAfter.
        operator: FilterOperator,
        /// The date compared with.
        date: Date,
    },
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
    pub lifecycle: Lifecycle,
    /// Allowed operations.
    pub operations: Operations,
    /// Removal limits.
    pub safeguards: Safeguards,
    /// Zone in which "today" and lifecycle dates are evaluated.
    pub time_zone: TimeZone,
}

impl SyncPolicy {
    /// Compiles and validates a spec, collecting every problem rather than the first.
    pub fn compile(spec: &HrisConnectionSpec) -> Result<SyncPolicy, SpecErrors> {
        let mut errors = Vec::new();
        let mut error = |field: String, message: String| errors.push(SpecError { field, message });

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
        if spec.emails.priority.is_empty() {
            error(
                "spec.emails.priority".into(),
                "must list at least one of Primary, Work, Secondary, Personal, Other".into(),
            );
        }
        let email_priority: Vec<EmailType> = spec
            .emails
            .priority
            .iter()
            .copied()
            .filter(|kind| spec.emails.include_personal || *kind != EmailType::Personal)
            .collect();

        let mut mappings = Vec::with_capacity(spec.attribute_mapping.len());
        for (index, mapping) in spec.attribute_mapping.iter().enumerate() {
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
            } else if spec.attribute_mapping[..index]
                .iter()
                .any(|other| other.to == mapping.to)
            {
                error(
                    format!("{path}.to"),
                    format!(
                        "`{}` is already written by an earlier mapping; map each target attribute once",
                        mapping.to
                    ),
                );
            }
            if let Some(from) = from {
                mappings.push(Mapping {
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

        let mut filters = Vec::with_capacity(spec.filters.len());
        for (index, filter) in spec.filters.iter().enumerate() {
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
                    Some(Ok(date)) => filters.push(CompiledFilter::Date {
                        field,
                        operator: filter.operator,
                        date,
                    }),
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
                    Some(values) if !values.is_empty() => filters.push(CompiledFilter::Values {
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

        let removal = &spec.lifecycle.removal;
        match (removal.policy, removal.months) {
            (RemovalPolicy::AfterMonths, None) => error(
                "spec.lifecycle.removal.months".into(),
                "policy AfterMonths needs months (0 or more)".into(),
            ),
            (RemovalPolicy::Immediately | RemovalPolicy::Never, Some(_)) => error(
                "spec.lifecycle.removal.months".into(),
                format!(
                    "months applies only to policy AfterMonths, not {:?}; remove it",
                    removal.policy
                ),
            ),
            _ => {}
        }
        let safeguards = compile_safeguards(&spec.safeguards, &mut error);

        let schedule = &spec.schedule;
        if schedule.cron.is_some() && schedule.interval.is_some() {
            error(
                "spec.schedule".into(),
                "set cron or interval, not both".into(),
            );
        }
        if let Err(message) = crate::controller::schedule::Cadence::compile(schedule) {
            // The cadence names its field ("spec.schedule.cron: …"); the time zone and the
            // cron/interval exclusivity are reported below and above.
            if let Some((field, message)) = message.split_once(": ")
                && matches!(
                    field,
                    "spec.schedule.cron" | "spec.schedule.interval" | "spec.schedule.startAt"
                )
            {
                error(field.into(), message.into());
            }
        }
        let time_zone = match TimeZone::get(&schedule.time_zone) {
            Ok(zone) => zone,
            Err(_) => {
                error(
                    "spec.schedule.timeZone".into(),
                    format!(
                        "`{}` is not an IANA time zone; use a name such as Europe/Stockholm or UTC",
                        schedule.time_zone
                    ),
                );
                TimeZone::UTC
            }
        };
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
        match &spec.source {
            SourceSpec::Csv(csv) => {
                if csv.delimiter.len() != 1 {
                    error(
                        "spec.source.csv.delimiter".into(),
                        format!(
                            "`{}` is not a single ASCII character; use for example \",\" or \";\"",
                            csv.delimiter
                        ),
                    );
                }
                let inputs = [
                    csv.path.is_some(),
                    csv.config_map_ref.is_some(),
                    csv.secret_ref.is_some(),
                ];
                if inputs.iter().filter(|set| **set).count() != 1 {
                    error(
                        "spec.source.csv".into(),
                        "set exactly one of path, configMapRef, secretRef".into(),
                    );
                } else if csv.path.as_deref().is_some_and(|p| p.trim().is_empty()) {
                    error(
                        "spec.source.csv.path".into(),
                        "must name the CSV file".into(),
                    );
                }
            }
            SourceSpec::Merge(s) => {
                check_source_http(
                    "merge",
                    (s.base_url.as_deref(), s.allow_insecure_http),
                    s.requests_per_second,
                    s.timeout_seconds,
                    s.max_tries,
                    &mut error,
                );
            }
            SourceSpec::BambooHr(s) => {
                check_source_http(
                    "bambooHr",
                    (s.base_url.as_deref(), s.allow_insecure_http),
                    s.requests_per_second,
                    s.timeout_seconds,
                    s.max_tries,
                    &mut error,
                );
                if s.company_domain.trim().is_empty() {
                    error(
                        "spec.source.bambooHr.companyDomain".into(),
                        "must name the BambooHR subdomain, such as acme for acme.bamboohr.com"
                            .into(),
                    );
                }
            }
            SourceSpec::Personio(s) => {
                check_source_http(
                    "personio",
                    (s.base_url.as_deref(), s.allow_insecure_http),
                    s.requests_per_second,
                    s.timeout_seconds,
                    s.max_tries,
                    &mut error,
                );
            }
            SourceSpec::HiBob(s) => {
                check_source_http(
                    "hiBob",
                    (s.base_url.as_deref(), s.allow_insecure_http),
                    s.requests_per_second,
                    s.timeout_seconds,
                    s.max_tries,
                    &mut error,
                );
            }
            SourceSpec::Afas(s) => {
                check_source_http(
                    "afas",
                    (s.base_url.as_deref(), s.allow_insecure_http),
                    s.requests_per_second,
                    s.timeout_seconds,
                    s.max_tries,
                    &mut error,
                );
                if s.page_size == 0 || s.page_size > 10_000 {
                    error(
                        "spec.source.afas.pageSize".into(),
                        format!("{} is out of range; use 1 to 10000", s.page_size),
                    );
                }
            }
            SourceSpec::Workday(s) => {
                check_source_http(
                    "workday",
                    (s.base_url.as_deref(), s.allow_insecure_http),
                    s.requests_per_second,
                    s.timeout_seconds,
                    s.max_tries,
                    &mut error,
                );
            }
        }
        match &spec.target {
            TargetSpec::Scim(scim) => {
                let insecure = scim.allow_insecure_http;
                if let Err(message) = check_url(&scim.base_url, insecure) {
                    error("spec.target.scim.baseUrl".into(), message);
                }
                if let Some(oauth) = &scim.oauth2
                    && let Err(message) = check_url(&oauth.token_url, insecure)
                {
                    error("spec.target.scim.oauth2.tokenUrl".into(), message);
                }
                check_rate(
                    "spec.target.scim.requestsPerSecond",
                    scim.requests_per_second,
                    RateRange::AtLeast(MIN_REQUESTS_PER_SECOND),
                    &mut error,
                );
            }
            TargetSpec::MicrosoftGraph(graph) => {
                let field = |name: &str| format!("spec.target.microsoftGraph.{name}");
                for (name, url) in [
                    ("authorityUrl", &graph.authority_url),
                    ("graphUrl", &graph.graph_url),
                ] {
                    if let Err(message) = check_url(url, graph.allow_insecure_http) {
                        error(field(name), message);
                    }
                }
                if let Err(message) = UpnTemplate::parse(&graph.user_principal_name_template) {
                    error(field("userPrincipalNameTemplate"), message);
                }
                if !(1..=20).contains(&graph.batch_size) {
                    error(
                        field("batchSize"),
                        format!(
                            "{} is not between 1 and 20, the most requests a Graph $batch takes",
                            graph.batch_size
                        ),
                    );
                }
                if !(1..=15).contains(&graph.external_id_extension_attribute) {
                    error(
                        field("externalIdExtensionAttribute"),
                        format!(
                            "{} is not between 1 and 15 (extensionAttribute1 to extensionAttribute15)",
                            graph.external_id_extension_attribute
                        ),
                    );
                }
                check_rate(
                    &field("writesPerSecond"),
                    graph.writes_per_second,
                    RateRange::Between(0.01, 1000.0),
                    &mut error,
                );
            }
            TargetSpec::GoogleWorkspace(google) => {
                for (name, url) in [
                    ("apiUrl", Some(&google.api_url)),
                    ("tokenUrl", google.token_url.as_ref()),
                ] {
                    if let Some(url) = url
                        && let Err(message) = check_url(url, google.allow_insecure_http)
                    {
                        error(format!("spec.target.googleWorkspace.{name}"), message);
                    }
                }
                if !google.admin_email.contains('@') {
                    error(
                        "spec.target.googleWorkspace.adminEmail".into(),
                        "must be the email address of a Workspace administrator".into(),
                    );
                }
                if !google.org_unit_path.starts_with('/') {
                    error(
                        "spec.target.googleWorkspace.orgUnitPath".into(),
                        format!(
                            "`{}` must start with / (the root is /)",
                            google.org_unit_path
                        ),
                    );
                }
                check_rate(
                    "spec.target.googleWorkspace.requestsPerSecond",
                    google.requests_per_second,
                    RateRange::Between(0.01, 1000.0),
                    &mut error,
                );
            }
            TargetSpec::File(_) => {}
        }

        if !errors.is_empty() {
            return Err(SpecErrors(errors));
        }
        Ok(SyncPolicy {
            external_id_prefix: spec.external_id_prefix.as_str().into(),
            matching: spec.matching.clone(),
            email_priority,
            default_language: spec
                .defaults
                .preferred_language
                .as_deref()
                .filter(|language| !language.is_empty())
                .map(Into::into),
            mappings,
            filters,
            lifecycle: spec.lifecycle.clone(),
            operations: spec.operations.clone(),
            safeguards,
            time_zone,
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

    /// Today's date in the policy's time zone.
    pub fn today(&self) -> Date {
        self.date_at(jiff::Timestamp::now())
    }

    /// The calendar date of an instant in the policy's time zone: lifecycle rules use it.
    pub fn date_at(&self, instant: jiff::Timestamp) -> Date {
        instant.to_zoned(self.time_zone.clone()).date()
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
fn compile_safeguards(
    safeguards: &Safeguards,
    error: &mut impl FnMut(String, String),
) -> Safeguards {
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
    compiled
}

/// Checks a URL credentials and personal data are sent to: an absolute `https://` URL, or an
/// `http://` one to this machine (127.0.0.0/8, ::1, `localhost`: nothing crosses the network)
/// or with `allowInsecureHttp`. Anything else (another scheme such as `file://`, or text that
/// is no URL) would at best fail at the first request, at worst send the credentials in the
/// clear: the spec is refused before anything runs.
pub fn check_url(value: &str, allow_insecure_http: bool) -> Result<(), String> {
    let example = "such as https://api.example.com/scim/v2";
    let url = reqwest::Url::parse(value).map_err(|_| {
        format!(
            "{} is not an absolute URL; write one {example}",
            quoted(value)
        )
    })?;
    match url.scheme() {
        "https" => Ok(()),
        "http" if allow_insecure_http || is_loopback(&url) => Ok(()),
        "http" => Err(format!(
            "{} is plain http to another machine: credentials and personal data would cross the \
             network unencrypted. Use https, or set allowInsecureHttp: true for a server on a \
             trusted network",
            quoted(value)
        )),
        scheme => Err(format!(
            "{} is a {scheme}: URL; only https (or http to this machine) is accepted, {example}",
            quoted(value)
        )),
    }
}

/// Whether the URL's host is this machine: 127.0.0.0/8, ::1 or `localhost`.
fn is_loopback(url: &reqwest::Url) -> bool {
    // The parser has normalised the host: IPv4 in dotted form, IPv6 in brackets, names in
    // lower case.
    let Some(host) = url.host_str() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host == "localhost",
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

/// Parses an interval such as `24h`, `90m` or `1h30m` into seconds.
pub fn parse_interval(value: &str) -> Result<u64, String> {
    let invalid = || {
        format!(
            "`{value}` is not an interval; write hours, minutes and seconds such as 24h, 90m or 1h30m"
        )
    };
    let mut seconds: u64 = 0;
    let mut number = String::new();
    let mut last_unit = 0;
    for ch in value.chars() {
        if ch.is_ascii_digit() {
            number.push(ch);
            continue;
        }
        let (unit, rank) = match ch {
            'h' => (3600, 1),
            'm' => (60, 2),
            's' => (1, 3),
            _ => return Err(invalid()),
        };
        if number.is_empty() || rank <= last_unit {
            return Err(invalid());
        }
        let amount: u64 = number.parse().map_err(|_| invalid())?;
        seconds = amount
            .checked_mul(unit)
            .and_then(|s| seconds.checked_add(s))
            .ok_or_else(invalid)?;
        number.clear();
        last_unit = rank;
    }
    if !number.is_empty() || last_unit == 0 {
        return Err(invalid());
    }
    if seconds == 0 {
        return Err(format!("`{value}` is zero; an interval must be positive"));
    }
    Ok(seconds)
}

/// The lowest `requestsPerSecond` of the HTTP sources and the SCIM target (one request every
/// 1,000 seconds), as their CRD schema says. Zero is refused rather than read as "unlimited":
/// an unlimited rate is asked for with a large number, never by accident.
pub const MIN_REQUESTS_PER_SECOND: f64 = 0.001;

/// The rates a request-rate field accepts, as its CRD schema states them.
#[derive(Clone, Copy, Debug)]
enum RateRange {
    /// This or more.
    AtLeast(f64),
    /// From the first to the second, both included.
    Between(f64, f64),
}

/// Checks a request rate the way the CRD schema does, so a manifest the cluster refuses is
/// refused by the local commands too (and the other way round).
fn check_rate(field: &str, rate: f64, range: RateRange, error: &mut impl FnMut(String, String)) {
    let message = match range {
        _ if !rate.is_finite() => format!("{rate} is not a number of requests a second"),
        RateRange::AtLeast(min) if rate < min => {
            format!("{rate} is too low; use at least {min} (decimals allowed)")
        }
        RateRange::Between(min, max) if !(min..=max).contains(&rate) => {
            format!("{rate} is out of range; use {min} to {max} (decimals allowed)")
        }
        _ => return,
    };
    error(field.to_owned(), message);
}

/// The request settings every HTTP source has, checked as the CRD schema checks them, and
/// its `baseUrl` when set.
fn check_source_http(
    source: &str,
    (base_url, allow_insecure_http): (Option<&str>, bool),
    requests_per_second: f64,
    timeout_seconds: u32,
    max_tries: u32,
    error: &mut impl FnMut(String, String),
) {
    if let Some(url) = base_url
        && let Err(message) = check_url(url, allow_insecure_http)
    {
        error(format!("spec.source.{source}.baseUrl"), message);
    }
    check_rate(
        &format!("spec.source.{source}.requestsPerSecond"),
        requests_per_second,
        RateRange::AtLeast(MIN_REQUESTS_PER_SECOND),
        error,
    );
    if !(1..=600).contains(&timeout_seconds) {
        error(
            format!("spec.source.{source}.timeoutSeconds"),
            format!("{timeout_seconds} is out of range; use 1 to 600"),
        );
    }
    if !(1..=20).contains(&max_tries) {
        error(
            format!("spec.source.{source}.maxTries"),
            format!("{max_tries} is out of range; use 1 to 20"),
        );
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

    #[test]
    fn urls_must_be_https_or_http_to_this_machine() {
        for url in [
            "https://api.example.com/scim/v2",
            "http://127.0.0.1:8090/scim/v2",
            "http://127.5.6.7/",
            "http://[::1]:8080/v2",
            "http://localhost:8090",
            "http://LOCALHOST/scim",
        ] {
            assert_eq!(check_url(url, false), Ok(()), "{url}");
        }
        for url in [
            "http://scim.people.svc:8090/scim/v2",
            "http://127.0.0.1.nip.io/",
            "http://localhost.example.com/",
            "http://10.0.0.1/",
        ] {
            let message = check_url(url, false).unwrap_err();
            assert!(
                message.contains("allowInsecureHttp: true"),
                "{url}: {message}"
            );
            assert_eq!(check_url(url, true), Ok(()), "{url}");
        }
        for url in [
            "file:///etc/passwd",
            "ftp://x.example/",
            "not a url",
            "",
            "/scim/v2",
        ] {
            for insecure in [false, true] {
                let message = check_url(url, insecure).unwrap_err();
                assert!(message.contains("https"), "{url}: {message}");
            }
        }
    }

    fn errors_of(yaml: &str) -> Vec<SpecError> {
        let spec: HrisConnectionSpec = serde_saphyr::from_str(yaml).unwrap();
        SyncPolicy::compile(&spec).map_or_else(|e| e.0, |_| Vec::new())
    }

    #[test]
    fn a_scim_rate_of_zero_is_refused_naming_the_field_as_the_crd_schema_does() {
        let scim = |rate: &str| {
            errors_of(&format!(
                "source: {{csv: {{path: e.csv}}}}\nexternalIdPrefix: 'hr:'\ntarget: {{scim: \
                 {{baseUrl: 'https://scim.example/v2', credentialsSecretRef: {{name: s, key: t}}, \
                 requestsPerSecond: {rate}}}}}"
            ))
            .into_iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
        };
        assert_eq!(
            scim("0"),
            [
                "spec.target.scim.requestsPerSecond: 0 is too low; use at least 0.001 (decimals allowed)"
            ]
        );
        assert_eq!(
            scim("-5"),
            [
                "spec.target.scim.requestsPerSecond: -5 is too low; use at least 0.001 (decimals allowed)"
            ]
        );
        assert_eq!(
            scim(".nan"),
            ["spec.target.scim.requestsPerSecond: NaN is not a number of requests a second"]
        );
        assert!(scim("0.001").is_empty(), "the schema's minimum is accepted");
        assert!(scim("100000").is_empty(), "the schema sets no maximum");
    }

    #[test]
    fn every_url_a_connector_sends_credentials_to_is_checked_naming_its_field() {
        let fields =
            |yaml: &str| -> Vec<String> { errors_of(yaml).into_iter().map(|e| e.field).collect() };
        let prefix = "externalIdPrefix: 'hr:'";
        let scim = |base: &str, extra: &str| {
            format!(
                "source: {{csv: {{path: e.csv}}}}\n{prefix}\ntarget: {{scim: {{baseUrl: '{base}', \
                 credentialsSecretRef: {{name: s, key: t}}{extra}}}}}"
            )
        };
        assert_eq!(
            fields(&scim("file:///etc/passwd", "")),
            ["spec.target.scim.baseUrl"]
        );
        assert_eq!(fields(&scim("not a url", "")), ["spec.target.scim.baseUrl"]);
        assert_eq!(
            fields(&scim("http://scim.svc/v2", "")),
            ["spec.target.scim.baseUrl"]
        );
        assert!(fields(&scim("http://scim.svc/v2", ", allowInsecureHttp: true")).is_empty());
        assert!(fields(&scim("http://127.0.0.1:1/v2", "")).is_empty());
        let oauth = format!(
            "source: {{csv: {{path: e.csv}}}}\n{prefix}\ntarget: {{scim: {{baseUrl: \
             'https://x.example', oauth2: {{tokenUrl: 'http://x.example/token', clientId: c, \
             clientSecretSecretRef: {{name: s, key: t}}}}}}}}"
        );
        assert_eq!(fields(&oauth), ["spec.target.scim.oauth2.tokenUrl"]);
        let merge = format!(
            "source: {{merge: {{baseUrl: 'http://merge.example', apiKeySecretRef: {{name: m, \
             key: k}}, accountTokenSecretRef: {{name: m, key: t}}}}}}\n{prefix}\ntarget: \
             {{file: {{path: d.json}}}}"
        );
        assert_eq!(fields(&merge), ["spec.source.merge.baseUrl"]);
        let graph = format!(
            "source: {{csv: {{path: e.csv}}}}\n{prefix}\ntarget: {{microsoftGraph: {{tenantId: t, \
             clientId: c, clientSecretSecretRef: {{name: s, key: t}}, graphUrl: 'graph', \
             authorityUrl: 'file:///x'}}}}"
        );
        assert_eq!(
            fields(&graph),
            [
                "spec.target.microsoftGraph.authorityUrl",
                "spec.target.microsoftGraph.graphUrl"
            ]
        );
        let google = format!(
            "source: {{csv: {{path: e.csv}}}}\n{prefix}\ntarget: {{googleWorkspace: \
             {{serviceAccountKeySecretRef: {{name: s, key: k}}, adminEmail: a@x.example, \
             tokenUrl: 'http://oauth.example/token'}}}}"
        );
        assert_eq!(fields(&google), ["spec.target.googleWorkspace.tokenUrl"]);
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
    fn intervals_parse_in_unit_order() {
        assert_eq!(parse_interval("24h"), Ok(86_400));
        assert_eq!(parse_interval("1h30m"), Ok(5_400));
        assert_eq!(parse_interval("45s"), Ok(45));
        assert!(parse_interval("30m1h").is_err());
        assert!(parse_interval("10").is_err());
        assert!(parse_interval("0m").is_err());
        assert!(parse_interval("h").is_err());
    }
}
