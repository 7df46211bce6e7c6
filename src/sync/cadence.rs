//! A connection's schedule, compiled: a cron expression in a time zone, a fixed interval
//! (anchored by `startAt` on the zone's clock, or not), or no schedule. Each part is parsed
//! and checked here, and an error names its field. When a compiled cadence runs, and whether a
//! run is due, is the controller's to decide.

use std::{fmt, str::FromStr, time::Duration};

use croner::Cron;
use jiff::{SignedDuration, civil, tz::TimeZone};

/// The schedule as the spec writes it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScheduleText<'a> {
    /// A cron expression (5 fields, or a macro such as `@daily`).
    pub cron: Option<&'a str>,
    /// An interval such as `24h` or `1h30m`.
    pub interval: Option<&'a str>,
    /// Where the interval starts: `HH:MM` or `YYYY-MM-DDTHH:MM`.
    pub start_at: Option<&'a str>,
    /// The IANA time zone of the cron expression and `startAt`.
    pub time_zone: &'a str,
}

/// A compiled schedule.
#[derive(Clone, Debug)]
pub enum Cadence {
    /// A cron expression evaluated in a time zone.
    Cron {
        /// The expression.
        cron: Box<Cron>,
        /// The zone its fields are read in.
        zone: TimeZone,
    },
    /// A fixed interval, counted from the connection's creation.
    Interval(Duration),
    /// A fixed interval counted on a time zone's clock from `startAt`.
    Anchored(Box<Anchored>),
    /// No schedule: runs happen only on spec changes and requests.
    Never,
}

/// An interval anchored by `startAt`: runs at `startAt` + k × `every`, on the local clock of
/// `zone` (so `02:00` every 6 hours stays at 02:00, 08:00, 14:00 and 20:00 across
/// daylight-saving changes, as a daily cron job at each of those times would).
#[derive(Clone, Debug)]
pub struct Anchored {
    /// Where the count starts.
    pub start: StartAt,
    /// The interval, at most 24 hours with a time of day.
    pub every: SignedDuration,
    /// The zone whose clock `start` is read on.
    pub zone: TimeZone,
}

/// What `startAt` says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartAt {
    /// A time of day: the count starts again at it every day.
    Daily(civil::Time),
    /// A date and time: the count starts once, with no run before it.
    Once(civil::DateTime),
}

/// A schedule that does not compile, by the field at fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CadenceError {
    /// Both `cron` and `interval` are set.
    CronAndInterval,
    /// `cron` is not a 5-field cron expression.
    Cron(String),
    /// `interval` is not a positive interval.
    Interval(String),
    /// `startAt` is malformed, or does not fit the interval (or the cron).
    StartAt(String),
    /// `timeZone` is not an IANA time zone.
    TimeZone(String),
}

impl CadenceError {
    /// Path of the field at fault.
    pub fn field(&self) -> &'static str {
        match self {
            CadenceError::CronAndInterval => "spec.schedule",
            CadenceError::Cron(_) => "spec.schedule.cron",
            CadenceError::Interval(_) => "spec.schedule.interval",
            CadenceError::StartAt(_) => "spec.schedule.startAt",
            CadenceError::TimeZone(_) => "spec.schedule.timeZone",
        }
    }

    /// What is wrong and how to fix it.
    pub fn message(&self) -> &str {
        match self {
            CadenceError::CronAndInterval => "set cron or interval, not both",
            CadenceError::Cron(message)
            | CadenceError::Interval(message)
            | CadenceError::StartAt(message)
            | CadenceError::TimeZone(message) => message,
        }
    }
}

impl fmt::Display for CadenceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field(), self.message())
    }
}

impl std::error::Error for CadenceError {}

impl Cadence {
    /// Compiles a schedule.
    pub fn compile(schedule: &ScheduleText<'_>) -> Result<Cadence, CadenceError> {
        match (schedule.cron, schedule.interval, schedule.start_at) {
            (Some(_), Some(_), _) => Err(CadenceError::CronAndInterval),
            (Some(_), None, Some(_)) => Err(CadenceError::StartAt(
                "startAt anchors an interval and does not apply to cron; remove it, or write \
                 the start into the cron expression, such as \"0 2,8,14,20 * * *\""
                    .into(),
            )),
            (Some(expression), None, None) => compile_cron(expression, schedule.time_zone),
            (None, Some(interval), start_at) => {
                let seconds = parse_interval(interval).map_err(CadenceError::Interval)?;
                match start_at {
                    None => Ok(Cadence::Interval(Duration::from_secs(seconds))),
                    Some(start_at) => Anchored::compile(start_at, seconds, schedule.time_zone)
                        .map(|anchored| Cadence::Anchored(Box::new(anchored))),
                }
            }
            (None, None, Some(_)) => Err(CadenceError::StartAt(
                "needs an interval to anchor; set interval, such as 6h".into(),
            )),
            (None, None, None) => Ok(Cadence::Never),
        }
    }
}

fn compile_cron(expression: &str, zone_name: &str) -> Result<Cadence, CadenceError> {
    let cron = Cron::from_str(expression).map_err(|e| {
        CadenceError::Cron(format!(
            "`{expression}` is not a cron expression ({e}); write 5 fields such as \"0 3 * * *\""
        ))
    })?;
    // A sixth field would be read as seconds (or years): not what a cron means here.
    let fields = expression.split_whitespace().count();
    if !expression.trim_start().starts_with('@') && fields != 5 {
        return Err(CadenceError::Cron(format!(
            "`{expression}` has {fields} fields; write 5 (minute hour day-of-month month \
             day-of-week) such as \"0 3 * * *\", or a macro such as @daily"
        )));
    }
    Ok(Cadence::Cron {
        cron: Box::new(cron),
        zone: time_zone(zone_name)?,
    })
}

/// The time zone a schedule (and the lifecycle dates) are read in.
pub fn time_zone(name: &str) -> Result<TimeZone, CadenceError> {
    TimeZone::get(name).map_err(|_| {
        CadenceError::TimeZone(format!(
            "`{name}` is not an IANA time zone; use a name such as Europe/Stockholm or UTC"
        ))
    })
}

impl Anchored {
    fn compile(start_at: &str, seconds: u64, zone_name: &str) -> Result<Anchored, CadenceError> {
        let start = StartAt::parse(start_at).map_err(CadenceError::StartAt)?;
        if matches!(start, StartAt::Daily(_)) && seconds > 24 * 3600 {
            return Err(CadenceError::StartAt(format!(
                "`{start_at}` is a time of day, where the count starts again every day, so \
                 interval must be 24h or less; for a longer interval give a date and time, such \
                 as 2026-01-05T{start_at}"
            )));
        }
        let every = i64::try_from(seconds)
            .map(SignedDuration::from_secs)
            .map_err(|_| CadenceError::Interval("too long".into()))?;
        Ok(Anchored {
            start,
            every,
            zone: time_zone(zone_name)?,
        })
    }
}

impl StartAt {
    /// Reads `HH:MM` or `YYYY-MM-DDTHH:MM`, with a message saying how to write it.
    pub fn parse(text: &str) -> Result<StartAt, String> {
        let shaped = |pattern: &str| {
            text.len() == pattern.len()
                && text.bytes().zip(pattern.bytes()).all(|(c, p)| match p {
                    b'9' => c.is_ascii_digit(),
                    _ => c == p,
                })
        };
        let parsed = if shaped("99:99") {
            text.parse().ok().map(StartAt::Daily)
        } else if shaped("9999-99-99T99:99") {
            text.parse().ok().map(StartAt::Once)
        } else {
            None
        };
        parsed.ok_or_else(|| {
            format!(
                "`{text}` is not a time of day or a date and time; write HH:MM such as 02:00, or \
                 YYYY-MM-DDTHH:MM such as 2026-01-05T02:00"
            )
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(cron: Option<&str>, interval: Option<&str>, start_at: Option<&str>) -> String {
        Cadence::compile(&ScheduleText {
            cron,
            interval,
            start_at,
            time_zone: "Europe/Amsterdam",
        })
        .map(|cadence| format!("{cadence:?}"))
        .unwrap_or_else(|error| error.to_string())
    }

    #[test]
    fn bad_schedules_name_the_field() {
        let error = compile(Some("every day"), None, None);
        assert!(
            error.starts_with("spec.schedule.cron: `every day` is not a cron expression"),
            "{error}"
        );
        let error = compile(Some("0 0 3 * * *"), None, None);
        assert!(error.contains("has 6 fields; write 5"), "{error}");
        let error = compile(None, Some("1d"), None);
        assert!(error.starts_with("spec.schedule.interval:"), "{error}");
        let zone = Cadence::compile(&ScheduleText {
            cron: Some("0 3 * * *"),
            time_zone: "Mars/Base",
            ..ScheduleText::default()
        })
        .unwrap_err();
        assert_eq!(zone.field(), "spec.schedule.timeZone");
        assert_eq!(
            compile(Some("0 3 * * *"), Some("6h"), None),
            "spec.schedule: set cron or interval, not both"
        );
    }

    #[test]
    fn bad_start_ats_name_the_field_and_the_fix() {
        let with_cron = compile(Some("0 3 * * *"), None, Some("02:00"));
        assert!(
            with_cron.starts_with(
                "spec.schedule.startAt: startAt anchors an interval and does not apply to cron"
            ) && with_cron.contains("0 2,8,14,20 * * *"),
            "{with_cron}"
        );
        let alone = compile(None, None, Some("02:00"));
        assert!(
            alone.starts_with("spec.schedule.startAt: needs an interval"),
            "{alone}"
        );
        for bad in [
            "2:00",
            "25:00",
            "02:60",
            "2026-02-30T02:00",
            "2026-12-01 02:00",
            "02:00:00",
        ] {
            let message = compile(None, Some("6h"), Some(bad));
            assert_eq!(
                message,
                format!(
                    "spec.schedule.startAt: `{bad}` is not a time of day or a date and time; \
                     write HH:MM such as 02:00, or YYYY-MM-DDTHH:MM such as 2026-01-05T02:00"
                )
            );
        }
        let too_long = compile(None, Some("48h"), Some("02:00"));
        assert!(
            too_long.starts_with("spec.schedule.startAt: `02:00` is a time of day")
                && too_long.contains("2026-01-05T02:00"),
            "{too_long}"
        );
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
