//! When a connection runs on schedule: pure decisions from the compiled schedule (the core's
//! `Cadence`, read from the spec with the rest of the policy), the last scheduled run and the
//! current time. No clock, no I/O.
//!
//! Missed runs behave like a CronJob with a starting deadline: however many were missed, at
//! most one catch-up run starts, and only if the latest missed time is within the deadline.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp, civil, tz::AmbiguousOffset};

use crate::sync::cadence::{Anchored, Cadence, StartAt};

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

/// Most local times tried for one answer: a repeated hour of runs every second needs 3,600.
const MAX_STEPS: usize = 100_000;

/// When a compiled cadence runs, and whether a run is due now. A trait of the controller's on
/// the core's type: the core compiles the schedule, the controller decides when it runs.
pub trait Timetable {
    /// The first scheduled time strictly after `after`.
    fn next_after(&self, after: Timestamp) -> Option<Timestamp>;

    /// Decides whether a scheduled run is due at `now`.
    ///
    /// `anchor` is the scheduled time of the last run (or the connection's creation), so the
    /// cadence does not drift with how long runs take. `deadline` is how late a missed run may
    /// still start.
    fn due(&self, anchor: Timestamp, now: Timestamp, suspend: bool, deadline: Duration) -> Due;
}

impl Timetable for Cadence {
    fn next_after(&self, after: Timestamp) -> Option<Timestamp> {
        match self {
            Cadence::Cron { cron, zone } => cron
                .find_next_occurrence(&after.to_zoned(zone.clone()), false)
                .ok()
                .map(|zoned| zoned.timestamp()),
            Cadence::Interval(interval) => after.checked_add(*interval).ok(),
            Cadence::Anchored(anchored) => next_anchored_after(anchored, after),
            Cadence::Never => None,
        }
    }

    fn due(&self, anchor: Timestamp, now: Timestamp, suspend: bool, deadline: Duration) -> Due {
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
                    latest = previous_at_or_before(self, now).unwrap_or(latest);
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
}

/// The last scheduled time at or before `now`, for the cadences whose times are not arithmetic.
fn previous_at_or_before(cadence: &Cadence, now: Timestamp) -> Option<Timestamp> {
    match cadence {
        Cadence::Cron { cron, zone } => cron
            .find_previous_occurrence(&now.to_zoned(zone.clone()), true)
            .ok()
            .map(|zoned| zoned.timestamp()),
        Cadence::Anchored(anchored) => previous_anchored_at_or_before(anchored, now),
        _ => None,
    }
}

/// The first run of an anchored interval strictly after `after`.
fn next_anchored_after(anchored: &Anchored, after: Timestamp) -> Option<Timestamp> {
    let mut local = first_local_after(anchored, after.to_zoned(anchored.zone.clone()).datetime())?;
    // Local times are tried in order: in a repeated hour one can stand for an instant at or
    // before `after`, and the next one may not.
    for _ in 0..MAX_STEPS {
        let at = instant(anchored, local)?;
        if at > after {
            return Some(at);
        }
        local = first_local_after(anchored, local)?;
    }
    None
}

/// The last run of an anchored interval at or before `now`.
fn previous_anchored_at_or_before(anchored: &Anchored, now: Timestamp) -> Option<Timestamp> {
    let mut local =
        last_local_at_or_before(anchored, now.to_zoned(anchored.zone.clone()).datetime())?;
    // Later local times in a repeated hour can still be at or before `now`.
    for _ in 0..MAX_STEPS {
        match first_local_after(anchored, local) {
            Some(next) if instant(anchored, next)? <= now => local = next,
            _ => break,
        }
    }
    instant(anchored, local)
}

/// The first local run time strictly after the local time `after`.
fn first_local_after(anchored: &Anchored, after: civil::DateTime) -> Option<civil::DateTime> {
    match anchored.start {
        StartAt::Once(first) if after < first => Some(first),
        StartAt::Once(first) => step(anchored, first, after, 1),
        StartAt::Daily(time) => {
            let base = day_start(after, time)?;
            let next_day = base.date().tomorrow().ok()?.to_datetime(time);
            let candidate = step(anchored, base, after, 1)?;
            Some(candidate.min(next_day))
        }
    }
}

/// The last local run time at or before the local time `at`.
fn last_local_at_or_before(anchored: &Anchored, at: civil::DateTime) -> Option<civil::DateTime> {
    match anchored.start {
        StartAt::Once(first) if at < first => None,
        StartAt::Once(first) => step(anchored, first, at, 0),
        StartAt::Daily(time) => step(anchored, day_start(at, time)?, at, 0),
    }
}

/// `base` + (whole intervals from `base` to `at`, plus `extra`) × the interval.
fn step(
    anchored: &Anchored,
    base: civil::DateTime,
    at: civil::DateTime,
    extra: i64,
) -> Option<civil::DateTime> {
    let every = anchored.every.as_secs().max(1);
    let whole = at.duration_since(base).as_secs().div_euclid(every);
    let offset = whole.checked_add(extra)?.checked_mul(every)?;
    base.checked_add(SignedDuration::from_secs(offset)).ok()
}

/// The instant of a local time, as cron reads one: a time skipped by a daylight-saving
/// change is the first instant after the gap; a repeated one its first occurrence.
fn instant(anchored: &Anchored, local: civil::DateTime) -> Option<Timestamp> {
    match anchored.zone.to_ambiguous_timestamp(local).offset() {
        AmbiguousOffset::Unambiguous { offset } => offset.to_timestamp(local).ok(),
        AmbiguousOffset::Fold { before, .. } => before.to_timestamp(local).ok(),
        AmbiguousOffset::Gap { after, .. } => {
            // Read with the later offset, the local time is an instant before the change.
            let before_change = after.to_timestamp(local).ok()?;
            anchored
                .zone
                .following(before_change)
                .next()
                .map(|transition| transition.timestamp())
        }
    }
}

/// The time of day `time` on the day of `at`, or on the day before when `at` is earlier.
fn day_start(at: civil::DateTime, time: civil::Time) -> Option<civil::DateTime> {
    let today = at.date().to_datetime(time);
    if today <= at {
        Some(today)
    } else {
        Some(at.date().yesterday().ok()?.to_datetime(time))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::cadence::ScheduleText;

    fn schedule<'a>(
        cron: Option<&'a str>,
        interval: Option<&'a str>,
        zone: &'a str,
    ) -> ScheduleText<'a> {
        ScheduleText {
            cron,
            interval,
            start_at: None,
            time_zone: zone,
        }
    }

    fn anchored(interval: &str, start_at: &str, zone: &str) -> Cadence {
        Cadence::compile(&ScheduleText {
            start_at: Some(start_at),
            ..schedule(None, Some(interval), zone)
        })
        .unwrap()
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    /// The next `count` scheduled times after `after`.
    fn runs(cadence: &Cadence, after: &str, count: usize) -> Vec<Timestamp> {
        let mut times = Vec::new();
        let mut last = at(after);
        for _ in 0..count {
            last = cadence.next_after(last).unwrap();
            times.push(last);
        }
        times
    }

    fn times(texts: &[&str]) -> Vec<Timestamp> {
        texts.iter().map(|text| at(text)).collect()
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
    fn a_time_of_day_anchors_the_interval_every_day() {
        let six_hourly = anchored("6h", "02:00", "UTC");
        assert_eq!(
            runs(&six_hourly, "2026-11-22T01:59:00Z", 5),
            times(&[
                "2026-11-22T02:00:00Z",
                "2026-11-22T08:00:00Z",
                "2026-11-22T14:00:00Z",
                "2026-11-22T20:00:00Z",
                "2026-11-23T02:00:00Z",
            ])
        );
        // From any moment, the next run is on that cadence, never "now + interval".
        assert_eq!(
            six_hourly.next_after(at("2026-11-22T10:17:00Z")),
            Some(at("2026-11-22T14:00:00Z"))
        );
        let daily = anchored("24h", "02:30", "UTC");
        assert_eq!(
            runs(&daily, "2026-11-22T12:00:00Z", 2),
            times(&["2026-11-23T02:30:00Z", "2026-11-24T02:30:00Z"])
        );
    }

    #[test]
    fn an_interval_that_does_not_divide_a_day_starts_again_at_start_at_each_day() {
        // 02:00 every 5 hours: 02, 07, 12, 17, 22, then 02:00 again (4 hours after 22:00).
        let five_hourly = anchored("5h", "02:00", "UTC");
        assert_eq!(
            runs(&five_hourly, "2026-11-22T00:00:00Z", 7),
            times(&[
                "2026-11-22T02:00:00Z",
                "2026-11-22T07:00:00Z",
                "2026-11-22T12:00:00Z",
                "2026-11-22T17:00:00Z",
                "2026-11-22T22:00:00Z",
                "2026-11-23T02:00:00Z",
                "2026-11-23T07:00:00Z",
            ])
        );
        assert_eq!(
            five_hourly.next_after(at("2026-11-22T23:00:00Z")),
            Some(at("2026-11-23T02:00:00Z"))
        );
        // A day's runs go on until the next day's startAt: 07:30, 17:30, 03:30, then 07:30.
        let ten_hourly = anchored("10h", "07:30", "UTC");
        assert_eq!(
            runs(&ten_hourly, "2026-11-22T03:00:00Z", 4),
            times(&[
                "2026-11-22T03:30:00Z",
                "2026-11-22T07:30:00Z",
                "2026-11-22T17:30:00Z",
                "2026-11-23T03:30:00Z",
            ])
        );
    }

    #[test]
    fn a_time_of_day_keeps_its_local_times_across_daylight_saving_in_amsterdam() {
        let six_hourly = anchored("6h", "02:00", "Europe/Amsterdam");
        // 2026-03-29: 02:00-03:00 is skipped. 02:00 runs at 03:00 CEST (01:00Z), the first
        // minute after the gap, then 08:00 CEST as every day.
        assert_eq!(
            runs(&six_hourly, "2026-03-28T19:00:00Z", 3),
            times(&[
                "2026-03-29T01:00:00Z",
                "2026-03-29T06:00:00Z",
                "2026-03-29T12:00:00Z",
            ])
        );
        // 2026-10-25: 02:00-03:00 happens twice. 02:00 runs once, the first time (CEST,
        // 00:00Z), not again an hour later; 08:00 is CET (07:00Z).
        assert_eq!(
            runs(&six_hourly, "2026-10-24T18:00:00Z", 3),
            times(&[
                "2026-10-25T00:00:00Z",
                "2026-10-25T07:00:00Z",
                "2026-10-25T13:00:00Z",
            ])
        );
    }

    #[test]
    fn a_time_of_day_keeps_its_local_times_across_daylight_saving_in_new_york() {
        // 2026-11-01: 01:00-02:00 happens twice. 01:30 runs the first time (EDT, 05:30Z);
        // 13:30 is EST (18:30Z), 13 hours later.
        let twice_a_day = anchored("12h", "01:30", "America/New_York");
        assert_eq!(
            runs(&twice_a_day, "2026-10-31T17:30:00Z", 3),
            times(&[
                "2026-11-01T05:30:00Z",
                "2026-11-01T18:30:00Z",
                "2026-11-02T06:30:00Z",
            ])
        );
        // 2026-03-08: 02:00-03:00 is skipped. 02:30 runs at 03:00 EDT (07:00Z).
        let daily = anchored("24h", "02:30", "America/New_York");
        assert_eq!(
            runs(&daily, "2026-03-07T00:00:00Z", 3),
            times(&[
                "2026-03-07T07:30:00Z",
                "2026-03-08T07:00:00Z",
                "2026-03-09T06:30:00Z",
            ])
        );
    }

    #[test]
    fn a_time_of_day_runs_when_a_daily_cron_at_each_of_its_times_runs_all_year() {
        // Daylight saving handled as the cron path handles a job at one time of day: a skipped
        // time runs at the end of the gap, a repeated one once. (A cron listing several hours,
        // such as `0 2,8,14,20 * * *`, runs a repeated time twice.)
        let start = "2026-01-01T00:00:00Z";
        for zone in ["Europe/Amsterdam", "America/New_York"] {
            let anchored = runs(&anchored("6h", "02:00", zone), start, 4 * 365);
            let mut crons: Vec<Timestamp> = ["0 2 * * *", "0 8 * * *", "0 14 * * *", "0 20 * * *"]
                .into_iter()
                .flat_map(|cron| {
                    let cron = Cadence::compile(&schedule(Some(cron), None, zone)).unwrap();
                    runs(&cron, start, 365)
                })
                .collect();
            crons.sort();
            let differ = anchored.iter().zip(&crons).position(|(a, c)| a != c);
            assert_eq!(
                differ,
                None,
                "{zone}: {:?}",
                differ.map(|i| (anchored[i], crons[i]))
            );
        }
    }

    #[test]
    fn a_date_and_time_in_the_future_means_no_run_before_it() {
        let from_december = anchored("6h", "2026-12-01T02:00", "Europe/Amsterdam");
        let created = at("2026-11-22T00:00:00Z");
        let due = from_december.due(created, at("2026-11-25T10:00:00Z"), false, HOUR);
        assert_eq!(due.run_for, None);
        assert_eq!(due.next, Some(at("2026-12-01T01:00:00Z")), "02:00 CET");
        let due = from_december.due(created, at("2026-12-01T01:10:00Z"), false, HOUR);
        assert_eq!(due.run_for, Some(at("2026-12-01T01:00:00Z")));
        assert_eq!(due.skipped, 0);
        assert_eq!(due.next, Some(at("2026-12-01T07:00:00Z")));
    }

    #[test]
    fn a_date_and_time_counts_on_across_days() {
        // Every 5 hours from 22:00 on 1 December: the count does not start again each day.
        let every_five_hours = anchored("5h", "2026-12-01T22:00", "UTC");
        assert_eq!(
            runs(&every_five_hours, "2026-11-30T00:00:00Z", 3),
            times(&[
                "2026-12-01T22:00:00Z",
                "2026-12-02T03:00:00Z",
                "2026-12-02T08:00:00Z",
            ])
        );
        // Anchored in the past, the first run after the creation is on the anchor's cadence.
        let every_two_days = anchored("48h", "2026-01-05T02:00", "UTC");
        assert_eq!(
            every_two_days.next_after(at("2026-11-22T10:00:00Z")),
            Some(at("2026-11-23T02:00:00Z"))
        );
    }

    #[test]
    fn an_old_anchor_of_an_anchored_interval_gives_one_run_and_stands_still() {
        let minutely = anchored("1m", "00:00", "Europe/Amsterdam");
        let due = minutely.due(
            at("2020-01-01T00:00:00Z"),
            at("2026-11-22T05:20:30Z"),
            false,
            HOUR,
        );
        assert_eq!(due.run_for, Some(at("2026-11-22T05:20:00Z")));
        assert_eq!(due.next, Some(at("2026-11-22T05:21:00Z")));
        let daily = anchored("24h", "02:00", "UTC");
        let created = at("2026-11-22T00:00:00Z");
        let first = daily.due(created, at("2026-11-30T12:40:00Z"), false, HOUR);
        let later = daily.due(created, at("2026-11-30T12:40:07Z"), false, HOUR);
        assert_eq!(first.run_for, None);
        assert_eq!(first.next, Some(at("2026-12-01T02:00:00Z")));
        assert_eq!(later.next, first.next);
    }
}
