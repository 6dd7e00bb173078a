//! When a backup policy runs next. Sub-daily frequencies run every `value` units after
//! the last run; daily, weekly and monthly ones run at `schedule_time` (UTC) on the
//! scheduled day, `value` days/weeks/months apart.

use super::{Period, PeriodUnit};
use crate::timestamp::Timestamp;
use time::{Date, Duration, Month, OffsetDateTime, Time, Weekday};

/// `schedule_time`, `HH:MM` in UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScheduleTime {
    pub hour: u8,
    pub minute: u8,
}

impl ScheduleTime {
    pub const MIDNIGHT: ScheduleTime = ScheduleTime { hour: 0, minute: 0 };

    /// Parses `HH:MM` (00:00 to 23:59).
    pub fn parse(text: &str) -> Option<Self> {
        let (hour, minute) = text.split_once(':')?;
        if hour.len() != 2 || minute.len() != 2 {
            return None;
        }
        let hour: u8 = hour.parse().ok()?;
        let minute: u8 = minute.parse().ok()?;
        (hour < 24 && minute < 60).then_some(Self { hour, minute })
    }

    fn time(self) -> Time {
        Time::from_hms(self.hour, self.minute, 0).unwrap_or(Time::MIDNIGHT)
    }
}

impl std::fmt::Display for ScheduleTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:02}:{:02}", self.hour, self.minute)
    }
}

fn to_datetime(at: Timestamp) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(at.unix_millis()) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn from_datetime(at: OffsetDateTime) -> Timestamp {
    Timestamp::from_unix_millis((at.unix_timestamp_nanos() / 1_000_000) as i64)
}

fn weekday(day: i64) -> Weekday {
    match day.rem_euclid(7) {
        0 => Weekday::Sunday,
        1 => Weekday::Monday,
        2 => Weekday::Tuesday,
        3 => Weekday::Wednesday,
        4 => Weekday::Thursday,
        5 => Weekday::Friday,
        _ => Weekday::Saturday,
    }
}

/// The `week`-th (0-based) `day` of the month of `(year, month)`.
fn nth_weekday(year: i32, month: Month, day: Weekday, week: i64) -> Date {
    let first = Date::from_calendar_date(year, month, 1).unwrap_or(Date::MIN);
    let offset = (i64::from(day.number_days_from_sunday())
        - i64::from(first.weekday().number_days_from_sunday()))
    .rem_euclid(7);
    first + Duration::days(offset + 7 * week.clamp(0, 3))
}

fn add_months(year: i32, month: Month, months: i64) -> (i32, Month) {
    let index = i64::from(year) * 12 + i64::from(month as u8) - 1 + months;
    let year = index.div_euclid(12) as i32;
    let month = Month::try_from((index.rem_euclid(12) + 1) as u8).unwrap_or(Month::January);
    (year, month)
}

/// The first run strictly after `after` for a policy of `frequency` scheduled at
/// `time` on `day` (0 = Sunday) of week `week` (0..3).
pub fn next_run_after(
    after: Timestamp,
    frequency: Period,
    time: ScheduleTime,
    day: Option<i64>,
    week: Option<i64>,
) -> Timestamp {
    let value = frequency.value.max(1);
    let now = to_datetime(after);
    let at = |date: Date| date.with_time(time.time()).assume_utc();
    let next = match frequency.unit {
        PeriodUnit::Second | PeriodUnit::Minute | PeriodUnit::Hour => {
            return after.plus_millis(frequency.millis().max(1));
        }
        PeriodUnit::Day => {
            let mut candidate = at(now.date());
            if candidate <= now {
                candidate += Duration::days(1);
            }
            candidate + Duration::days(value - 1)
        }
        PeriodUnit::Week => {
            let target = weekday(day.unwrap_or(0));
            let offset = (i64::from(target.number_days_from_sunday())
                - i64::from(now.weekday().number_days_from_sunday()))
            .rem_euclid(7);
            let mut candidate = at(now.date() + Duration::days(offset));
            if candidate <= now {
                candidate += Duration::days(7);
            }
            candidate + Duration::days(7 * (value - 1))
        }
        PeriodUnit::Month | PeriodUnit::Year => {
            let target = weekday(day.unwrap_or(0));
            let week = week.unwrap_or(0);
            let (year, month) = (now.year(), now.month());
            let mut candidate = at(nth_weekday(year, month, target, week));
            let mut skip = 0;
            if candidate <= now {
                skip = 1;
                let (y, m) = add_months(year, month, 1);
                candidate = at(nth_weekday(y, m, target, week));
            }
            let (y, m) = add_months(year, month, skip + value - 1);
            if value > 1 {
                candidate = at(nth_weekday(y, m, target, week));
            }
            candidate
        }
    };
    from_datetime(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(text: &str) -> Timestamp {
        Timestamp::parse_rfc3339(text).unwrap()
    }

    fn period(value: i64, unit: PeriodUnit) -> Period {
        Period { value, unit }
    }

    #[test]
    fn parses_schedule_times() {
        assert_eq!(
            ScheduleTime::parse("07:30"),
            Some(ScheduleTime {
                hour: 7,
                minute: 30
            })
        );
        assert_eq!(ScheduleTime::parse("7:30"), None);
        assert_eq!(ScheduleTime::parse("24:00"), None);
        assert_eq!(ScheduleTime::parse("12:60"), None);
        assert_eq!(ScheduleTime::parse("23:59").unwrap().to_string(), "23:59");
    }

    #[test]
    fn hourly_runs_follow_the_last_run() {
        let after = ts("2024-03-01T10:15:00Z");
        let next = next_run_after(
            after,
            period(12, PeriodUnit::Hour),
            ScheduleTime::MIDNIGHT,
            None,
            None,
        );
        assert_eq!(next, ts("2024-03-01T22:15:00Z"));
        let next = next_run_after(
            after,
            period(5, PeriodUnit::Second),
            ScheduleTime::MIDNIGHT,
            None,
            None,
        );
        assert_eq!(next, ts("2024-03-01T10:15:05Z"));
    }

    #[test]
    fn daily_runs_at_the_scheduled_time() {
        let time = ScheduleTime::parse("09:00").unwrap();
        let day = period(1, PeriodUnit::Day);
        assert_eq!(
            next_run_after(ts("2024-03-01T08:00:00Z"), day, time, None, None),
            ts("2024-03-01T09:00:00Z")
        );
        assert_eq!(
            next_run_after(ts("2024-03-01T09:00:00Z"), day, time, None, None),
            ts("2024-03-02T09:00:00Z"),
            "strictly after"
        );
        assert_eq!(
            next_run_after(
                ts("2024-03-01T10:00:00Z"),
                period(3, PeriodUnit::Day),
                time,
                None,
                None
            ),
            ts("2024-03-04T09:00:00Z")
        );
    }

    #[test]
    fn weekly_runs_on_the_scheduled_day() {
        // 2024-03-01 is a Friday; day 1 is Monday.
        let time = ScheduleTime::parse("02:00").unwrap();
        assert_eq!(
            next_run_after(
                ts("2024-03-01T12:00:00Z"),
                period(1, PeriodUnit::Week),
                time,
                Some(1),
                None
            ),
            ts("2024-03-04T02:00:00Z")
        );
        assert_eq!(
            next_run_after(
                ts("2024-03-04T02:00:00Z"),
                period(2, PeriodUnit::Week),
                time,
                Some(1),
                None
            ),
            ts("2024-03-18T02:00:00Z")
        );
    }

    #[test]
    fn monthly_runs_on_the_nth_weekday() {
        // Second (week 1) Sunday of March 2024 is the 10th; of April, the 14th.
        let time = ScheduleTime::MIDNIGHT;
        let month = period(1, PeriodUnit::Month);
        assert_eq!(
            next_run_after(ts("2024-03-01T00:00:00Z"), month, time, Some(0), Some(1)),
            ts("2024-03-10T00:00:00Z")
        );
        assert_eq!(
            next_run_after(ts("2024-03-10T00:00:00Z"), month, time, Some(0), Some(1)),
            ts("2024-04-14T00:00:00Z")
        );
        assert_eq!(
            next_run_after(ts("2024-12-20T00:00:00Z"), month, time, Some(0), Some(0)),
            ts("2025-01-05T00:00:00Z"),
            "rolls over the year"
        );
    }
}
