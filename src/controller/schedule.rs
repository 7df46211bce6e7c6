//! When a connection runs on schedule: pure decisions from the schedule, the last scheduled run
//! and the current time. No clock, no I/O.
//!
//! Missed runs behave like a CronJob with a starting deadline: however many were missed, at
//! most one catch-up run starts, and only if the latest missed time is within the deadline.

use std::{str::FromStr, time::Duration};

use croner::Cron;
use jiff::{Timestamp, tz::TimeZone};

use crate::{crd::Schedule, sync::policy::parse_interval};

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
    /// A fixed interval.
    Interval(Duration),
    /// No schedule: runs happen only on spec changes and requests.
    Never,
}

/// What the schedule says now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Due {
    /// A scheduled run should start now, standing for this scheduled time.
    pub run_for: Option<Timestamp>,
    /// Scheduled times missed and not run (older than the latest, or past the deadline).
    pub skipped: u32,
    /// When the next scheduled run is due; `None` when suspended or unscheduled.
    pub next: Option<Timestamp>,
}

impl Cadence {
    /// Compiles a schedule, with a message naming the field on error.
    pub fn compile(schedule: &Schedule) -> Result<Cadence, String> {
        match (&schedule.cron, &schedule.interval) {
            (Some(_), Some(_)) => Err("spec.schedule: set cron or interval, not both".into()),
            (Some(expression), None) => {
                let cron = Cron::from_str(expression).map_err(|e| {
                    format!(
                        "spec.schedule.cron: `{expression}` is not a cron expression ({e}); write 5 fields such as \"0 3 * * *\""
                    )
                })?;
                // A sixth field would be read as seconds (or years): not what a cron means here.
                let fields = expression.split_whitespace().count();
                if !expression.trim_start().starts_with('@') && fields != 5 {
                    return Err(format!(
                        "spec.schedule.cron: `{expression}` has {fields} fields; write 5 (minute \
                         hour day-of-month month day-of-week) such as \"0 3 * * *\", or a macro \
                         such as @daily"
                    ));
                }
                let zone = TimeZone::get(&schedule.time_zone).map_err(|_| {
                    format!(
                        "spec.schedule.timeZone: `{}` is not an IANA time zone",
                        schedule.time_zone
                    )
                })?;
                Ok(Cadence::Cron {
                    cron: Box::new(cron),
                    zone,
                })
            }
            (None, Some(interval)) => parse_interval(interval)
                .map(|seconds| Cadence::Interval(Duration::from_secs(seconds)))
                .map_err(|e| format!("spec.schedule.interval: {e}")),
            (None, None) => Ok(Cadence::Never),
        }
    }

    /// The first scheduled time strictly after `after`.
    pub fn next_after(&self, after: Timestamp) -> Option<Timestamp> {
        match self {
            Cadence::Cron { cron, zone } => cron
                .find_next_occurrence(&after.to_zoned(zone.clone()), false)
                .ok()
                .map(|zoned| zoned.timestamp()),
            Cadence::Interval(interval) => after.checked_add(*interval).ok(),
            Cadence::Never => None,
        }
    }

    /// Decides whether a scheduled run is due at `now`.
    ///
    /// `anchor` is the scheduled time of the last run (or the connection's creation), so the
    /// cadence does not drift with how long runs take. `deadline` is how late a missed run may
    /// still start.
    pub fn due(&self, anchor: Timestamp, now: Timestamp, suspend: bool, deadline: Duration) -> Due {
        if suspend {
            return Due {
                run_for: None,
                skipped: 0,
                next: None,
            };
        }
        let Some(first) = self.next_after(anchor) else {
            return Due {
                run_for: None,
                skipped: 0,
                next: None,
            };
        };
        if first > now {
            return Due {
                run_for: None,
                skipped: 0,
                next: Some(first),
            };
        }
        // One or more scheduled times have come: find the latest one at or before now,
        // counting the missed ones (bounded, so a years-old anchor cannot spin).
        let (latest, missed) = match self {
            // Intervals are arithmetic: anchor + k × interval, however old the anchor.
            Cadence::Interval(interval) => {
                let step = interval.as_nanos().max(1);
                let elapsed = Duration::try_from(now.duration_since(first))
                    .unwrap_or_default()
                    .as_nanos();
                let steps = elapsed / step;
                let latest = u32::try_from(steps)
                    .ok()
                    .and_then(|k| interval.checked_mul(k))
                    .and_then(|offset| first.checked_add(offset).ok())
                    .unwrap_or(now);
                (latest, u32::try_from(steps + 1).unwrap_or(u32::MAX))
            }
            _ => {
                let mut latest = first;
                let mut missed = 1u32;
                while let Some(candidate) = self.next_after(latest) {
                    if candidate > now || missed == 10_000 {
                        break;
                    }
                    latest = candidate;
                    missed += 1;
                }
                if missed == 10_000 {
                    // Jump straight to now for extremely old anchors.
                    latest = self.previous_at_or_before(now).unwrap_or(latest);
                }
                (latest, missed)
            }
        };
        // The next scheduled time follows the latest one, on the cadence: never "now + interval",
        // which would move with every reconcile (and every status write would wake another).
        let next = self
            .next_after(latest)
            .filter(|next| *next > now)
            .or_else(|| self.next_after(now));
        let late = now.duration_since(latest);
        let in_time = Duration::try_from(late).is_ok_and(|late| late <= deadline);
        Due {
            run_for: in_time.then_some(latest),
            skipped: if in_time { missed - 1 } else { missed },
            next,
        }
    }

    fn previous_at_or_before(&self, now: Timestamp) -> Option<Timestamp> {
        match self {
            Cadence::Cron { cron, zone } => cron
                .find_previous_occurrence(&now.to_zoned(zone.clone()), true)
                .ok()
                .map(|zoned| zoned.timestamp()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(cron: Option<&str>, interval: Option<&str>, zone: &str) -> Schedule {
        Schedule {
            cron: cron.map(Into::into),
            interval: interval.map(Into::into),
            time_zone: zone.into(),
            suspend: false,
        }
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn cron_runs_at_local_time_in_the_zone() {
        let daily =
            Cadence::compile(&schedule(Some("0 3 * * *"), None, "Europe/Stockholm")).unwrap();
        // 03:00 in Stockholm in winter is 02:00 UTC.
        assert_eq!(
            daily.next_after(at("2026-11-22T00:00:00Z")),
            Some(at("2026-11-22T02:00:00Z"))
        );
        // In summer it is 01:00 UTC.
        assert_eq!(
            daily.next_after(at("2026-07-01T00:00:00Z")),
            Some(at("2026-07-01T01:00:00Z"))
        );
    }

    #[test]
    fn a_run_in_the_spring_forward_gap_starts_at_the_next_valid_minute() {
        // Stockholm skips 02:00-03:00 on 2026-03-29.
        let nightly =
            Cadence::compile(&schedule(Some("30 2 * * *"), None, "Europe/Stockholm")).unwrap();
        let next = nightly.next_after(at("2026-03-28T12:00:00Z")).unwrap();
        assert_eq!(
            next,
            at("2026-03-29T01:00:00Z"),
            "03:00 local, the first valid minute"
        );
        // And the day after, back to 02:30 local (00:30 UTC, summer time).
        assert_eq!(nightly.next_after(next), Some(at("2026-03-30T00:30:00Z")));
    }

    #[test]
    fn a_run_in_the_repeated_autumn_hour_happens_once() {
        // Stockholm repeats 02:00-03:00 on 2026-10-25.
        let nightly =
            Cadence::compile(&schedule(Some("30 2 * * *"), None, "Europe/Stockholm")).unwrap();
        let first = nightly.next_after(at("2026-10-24T12:00:00Z")).unwrap();
        assert_eq!(
            first,
            at("2026-10-25T00:30:00Z"),
            "the first 02:30 (summer time)"
        );
        let second = nightly.next_after(first).unwrap();
        assert_eq!(
            second,
            at("2026-10-26T01:30:00Z"),
            "not the repeated 02:30 an hour later"
        );
    }

    #[test]
    fn intervals_keep_their_cadence_from_the_anchor() {
        let every_six_hours = Cadence::compile(&schedule(None, Some("6h"), "UTC")).unwrap();
        let anchor = at("2026-11-22T00:00:00Z");
        let due = every_six_hours.due(anchor, at("2026-11-22T05:59:00Z"), false, HOUR);
        assert_eq!(due.run_for, None);
        assert_eq!(due.next, Some(at("2026-11-22T06:00:00Z")));
        let due = every_six_hours.due(anchor, at("2026-11-22T06:10:00Z"), false, HOUR);
        assert_eq!(due.run_for, Some(at("2026-11-22T06:00:00Z")));
        assert_eq!(due.next, Some(at("2026-11-22T12:00:00Z")));
    }

    #[test]
    fn the_next_time_of_an_old_interval_anchor_stands_still_between_reconciles() {
        // Created eight days ago, a daily run missed past the deadline: the next run is the
        // cadence's, the same at every reconcile (were it "now + 24h", every reconcile would
        // write a new status, and every write would bring another reconcile).
        let daily = Cadence::compile(&schedule(None, Some("24h"), "UTC")).unwrap();
        let anchor = at("2026-11-22T00:00:00Z");
        let first = daily.due(anchor, at("2026-11-30T12:40:00Z"), false, HOUR);
        let later = daily.due(anchor, at("2026-11-30T12:40:07Z"), false, HOUR);
        assert_eq!(first.run_for, None);
        assert_eq!(first.skipped, 8);
        assert_eq!(first.next, Some(at("2026-12-01T00:00:00Z")));
        assert_eq!(later.next, first.next);
        // Within the deadline: one catch-up run for the latest time, seven skipped.
        let due = daily.due(anchor, at("2026-11-30T00:20:00Z"), false, HOUR);
        assert_eq!(due.run_for, Some(at("2026-11-30T00:00:00Z")));
        assert_eq!(due.skipped, 7);
        assert_eq!(due.next, Some(at("2026-12-01T00:00:00Z")));
        // A minutely interval a week old (more than 10,000 missed times) stays on its cadence.
        let minutely = Cadence::compile(&schedule(None, Some("1m"), "UTC")).unwrap();
        let due = minutely.due(anchor, at("2026-11-30T12:40:30Z"), false, HOUR);
        assert_eq!(due.run_for, Some(at("2026-11-30T12:40:00Z")));
        assert_eq!(due.next, Some(at("2026-11-30T12:41:00Z")));
    }

    #[test]
    fn missed_runs_give_one_catch_up_run_within_the_deadline_never_a_burst() {
        let hourly = Cadence::compile(&schedule(Some("0 * * * *"), None, "UTC")).unwrap();
        // Down from 01:00 to 05:20: four runs missed (02, 03, 04, 05).
        let due = hourly.due(
            at("2026-11-22T01:00:00Z"),
            at("2026-11-22T05:20:00Z"),
            false,
            HOUR,
        );
        assert_eq!(
            due.run_for,
            Some(at("2026-11-22T05:00:00Z")),
            "only the latest"
        );
        assert_eq!(due.skipped, 3);
        assert_eq!(due.next, Some(at("2026-11-22T06:00:00Z")));
        // Past the deadline: no run at all, the next one as scheduled.
        let due = hourly.due(
            at("2026-11-22T01:00:00Z"),
            at("2026-11-22T05:20:00Z"),
            false,
            Duration::from_secs(600),
        );
        assert_eq!(due.run_for, None);
        assert_eq!(due.skipped, 4);
        assert_eq!(due.next, Some(at("2026-11-22T06:00:00Z")));
    }

    #[test]
    fn a_very_old_anchor_does_not_spin() {
        let minutely = Cadence::compile(&schedule(Some("* * * * *"), None, "UTC")).unwrap();
        let due = minutely.due(
            at("2020-01-01T00:00:00Z"),
            at("2026-11-22T05:20:30Z"),
            false,
            HOUR,
        );
        assert_eq!(due.run_for, Some(at("2026-11-22T05:20:00Z")));
    }

    #[test]
    fn suspend_and_no_schedule_run_nothing() {
        let daily = Cadence::compile(&schedule(Some("0 3 * * *"), None, "UTC")).unwrap();
        let due = daily.due(
            at("2026-11-20T00:00:00Z"),
            at("2026-11-22T05:00:00Z"),
            true,
            HOUR,
        );
        assert_eq!(
            due,
            Due {
                run_for: None,
                skipped: 0,
                next: None
            }
        );
        let never = Cadence::compile(&schedule(None, None, "UTC")).unwrap();
        let due = never.due(
            at("2026-11-20T00:00:00Z"),
            at("2026-11-22T05:00:00Z"),
            false,
            HOUR,
        );
        assert_eq!(due.next, None);
        assert_eq!(due.run_for, None);
    }

    #[test]
    fn bad_schedules_name_the_field() {
        let error = Cadence::compile(&schedule(Some("every day"), None, "UTC")).unwrap_err();
        assert!(
            error.starts_with("spec.schedule.cron: `every day` is not a cron expression"),
            "{error}"
        );
        let error = Cadence::compile(&schedule(Some("0 0 3 * * *"), None, "UTC")).unwrap_err();
        assert!(error.contains("has 6 fields; write 5"), "{error}");
        let error = Cadence::compile(&schedule(None, Some("1d"), "UTC")).unwrap_err();
        assert!(error.starts_with("spec.schedule.interval:"), "{error}");
        let error = Cadence::compile(&schedule(Some("0 3 * * *"), None, "Mars/Base")).unwrap_err();
        assert!(error.starts_with("spec.schedule.timeZone:"), "{error}");
    }
}
