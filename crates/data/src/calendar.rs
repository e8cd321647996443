//! Dates read from a date column, the calendar inputs derived from them, and the dates that
//! continue a series after its end.

use jiff::civil::{Date, DateTime, Time};
use jiff::{SignedDuration, Span};
use serde::{Deserialize, Serialize};

/// The date forms [`parse_date`] reads, as an error message lists them.
pub const DATE_FORMS: &str = "1962-12-03, 2012/01/01, 1949-01, 1949/01 or 1821, \
                              optionally followed by a time of day as 13:45 or 13:45:30 \
                              (after a space or a T)";

/// Reads a date in one of the [`DATE_FORMS`]: a day, a month (its first day) or a year (its
/// first of January), with `-` or `/` between the parts, and an optional time of day (midnight
/// without one). `None` when `text` is none of them.
pub fn parse_date(text: &str) -> Option<DateTime> {
    let text = text.trim();
    let (date, time) = match text.find(['T', ' ']) {
        Some(at) => (&text[..at], Some(text[at + 1..].trim())),
        None => (text, None),
    };
    let date = date.replace('/', "-");
    // A four-digit year first: `12/03` is no date (it would read as the year 12).
    let year = date.split('-').next().unwrap_or_default();
    if year.len() != 4 || !year.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let date = match date.matches('-').count() {
        2 => Date::strptime("%Y-%m-%d", &date).ok()?,
        1 => Date::strptime("%Y-%m-%d", format!("{date}-01")).ok()?,
        0 => Date::strptime("%Y-%m-%d", format!("{date}-01-01")).ok()?,
        _ => return None,
    };
    let time = match time {
        None => Time::midnight(),
        Some(time) => ["%H:%M:%S", "%H:%M"]
            .iter()
            .find_map(|format| Time::strptime(format, time).ok())?,
    };
    Some(date.to_datetime(time))
}

/// A calendar input: a position in a cycle of the date, fed to the model as a sine and cosine
/// pair so that the end of each cycle sits next to its start (December beside January, Sunday
/// beside Monday, 23:00 beside midnight), in two inputs where one-hot would take up to 366.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum CalendarFeature {
    /// The month of the year (a cycle of 12).
    Month,
    /// The day of the week (a cycle of 7, from Monday).
    Weekday,
    /// The day of the month (a cycle of that month's days).
    Day,
    /// The day of the year (a cycle of that year's days).
    Yearday,
    /// The time of day, to the minute (a cycle of 24 hours).
    Hour,
    /// The minute of the hour (a cycle of 60).
    Minute,
}

impl CalendarFeature {
    /// Where `date` lies in this feature's cycle, from 0 (its start) up to 1 (excluded).
    pub fn phase(self, date: DateTime) -> f64 {
        let (position, cycle) = match self {
            Self::Month => (i32::from(date.month()) - 1, 12),
            Self::Weekday => (i32::from(date.weekday().to_monday_zero_offset()), 7),
            Self::Day => (i32::from(date.day()) - 1, i32::from(date.days_in_month())),
            Self::Yearday => (
                i32::from(date.day_of_year()) - 1,
                i32::from(date.date().days_in_year()),
            ),
            Self::Hour => (
                i32::from(date.hour()) * 60 + i32::from(date.minute()),
                24 * 60,
            ),
            Self::Minute => (i32::from(date.minute()), 60),
        };
        f64::from(position) / f64::from(cycle)
    }

    /// The two inputs of `date`: `[sin, cos]` of 2π times its [`phase`](Self::phase).
    pub fn encode(self, date: DateTime) -> [f64; 2] {
        let angle = std::f64::consts::TAU * self.phase(date);
        [angle.sin(), angle.cos()]
    }

    /// The feature's name, as `--calendar` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Month => "month",
            Self::Weekday => "weekday",
            Self::Day => "day",
            Self::Yearday => "yearday",
            Self::Hour => "hour",
            Self::Minute => "minute",
        }
    }
}

/// The `count` dates after `dates`' last one, continuing the step between its last two: in
/// whole months when both fall on the same day of the month at the same time (monthly,
/// quarterly, yearly data), as a fixed duration otherwise (days, hours...). `None` with fewer
/// than two dates or when the last does not come after the one before it.
pub fn continue_dates(dates: &[DateTime], count: usize) -> Option<Vec<DateTime>> {
    let [.., before, last] = dates else {
        return None;
    };
    let (before, last) = (*before, *last);
    if last <= before {
        return None;
    }
    let months = (i32::from(last.year()) - i32::from(before.year())) * 12 + i32::from(last.month())
        - i32::from(before.month());
    let monthly = last.day() == before.day() && last.time() == before.time() && months > 0;
    let step: SignedDuration = last.duration_since(before);
    (1..=count)
        .map(|k| {
            let k = i32::try_from(k).ok()?;
            if monthly {
                last.checked_add(Span::new().try_months(months.checked_mul(k)?).ok()?)
                    .ok()
            } else {
                last.checked_add(step.checked_mul(k)?).ok()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn the_common_forms_are_read() {
        let day = date(1962, 12, 3).at(0, 0, 0, 0);
        assert_eq!(parse_date("1962-12-03"), Some(day));
        assert_eq!(parse_date(" 1962/12/03 "), Some(day));
        assert_eq!(parse_date("1949-01"), Some(date(1949, 1, 1).at(0, 0, 0, 0)));
        assert_eq!(parse_date("1949/01"), Some(date(1949, 1, 1).at(0, 0, 0, 0)));
        assert_eq!(parse_date("1821"), Some(date(1821, 1, 1).at(0, 0, 0, 0)));
        let evening = date(1962, 12, 3).at(13, 45, 0, 0);
        assert_eq!(parse_date("1962-12-03 13:45"), Some(evening));
        assert_eq!(parse_date("1962-12-03T13:45:00"), Some(evening));
        for bad in [
            "",
            "03.12.1962",
            "1962-13-01",
            "1962-02-30",
            "12/03",
            "1962-12-03 25:00",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn december_sits_next_to_january() {
        let month = |m| CalendarFeature::Month.encode(date(2020, m, 15).at(0, 0, 0, 0));
        let distance =
            |a: [f64; 2], b: [f64; 2]| ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt();
        let (january, june, december) = (month(1), month(6), month(12));
        assert!((january[0] - 0.0).abs() < 1e-12 && (january[1] - 1.0).abs() < 1e-12);
        assert!((distance(december, january) - distance(january, month(2))).abs() < 1e-12);
        assert!(distance(june, january) > 1.9);
        // Monday starts the week; Sunday is one step before it.
        let weekday = |d| CalendarFeature::Weekday.phase(date(2024, 1, d).at(0, 0, 0, 0));
        assert_eq!((weekday(1), weekday(7)), (0.0, 6.0 / 7.0));
        let noon = date(2024, 1, 1).at(12, 30, 0, 0);
        assert_eq!(CalendarFeature::Hour.phase(noon), 750.0 / 1440.0);
        assert_eq!(CalendarFeature::Minute.phase(noon), 0.5);
        assert_eq!(
            CalendarFeature::Day.phase(date(2024, 2, 29).at(0, 0, 0, 0)),
            28.0 / 29.0
        );
        assert_eq!(
            CalendarFeature::Yearday.phase(date(2023, 12, 31).at(0, 0, 0, 0)),
            364.0 / 365.0
        );
    }

    #[test]
    fn dates_continue_by_months_or_by_a_fixed_step() {
        let monthly = [date(1960, 11, 1), date(1960, 12, 1)].map(|d| d.at(0, 0, 0, 0));
        let next = continue_dates(&monthly, 3).expect("monthly");
        let expected = [date(1961, 1, 1), date(1961, 2, 1), date(1961, 3, 1)];
        assert_eq!(next, expected.map(|d| d.at(0, 0, 0, 0)));
        let yearly = [date(1933, 1, 1), date(1934, 1, 1)].map(|d| d.at(0, 0, 0, 0));
        assert_eq!(
            continue_dates(&yearly, 1),
            Some(vec![date(1935, 1, 1).at(0, 0, 0, 0)])
        );
        let daily = [date(2015, 12, 30), date(2015, 12, 31)].map(|d| d.at(0, 0, 0, 0));
        let next = continue_dates(&daily, 2).expect("daily");
        assert_eq!(
            next,
            [date(2016, 1, 1), date(2016, 1, 2)].map(|d| d.at(0, 0, 0, 0))
        );
        let hourly = [
            date(2024, 1, 1).at(22, 0, 0, 0),
            date(2024, 1, 1).at(23, 0, 0, 0),
        ];
        assert_eq!(
            continue_dates(&hourly, 1),
            Some(vec![date(2024, 1, 2).at(0, 0, 0, 0)])
        );
        assert_eq!(continue_dates(&daily[..1], 1), None);
        assert_eq!(continue_dates(&[daily[1], daily[0]], 1), None);
    }
}
