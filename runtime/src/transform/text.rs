//! Spark's text forms of numbers, dates and timestamps (UTC), both ways.

use chrono::{Datelike as _, NaiveDate, NaiveTime, Timelike as _};

const MICROS_PER_DAY: i64 = 86_400_000_000;
/// Days from 0001-01-01 (CE day 1) to 1970-01-01.
const EPOCH_CE_DAYS: i32 = 719_163;

/// A day of the proleptic Gregorian calendar in astronomical years (year 0 is
/// 1 BC), as Spark counts them, over the whole range of its dates and
/// timestamps: a TIMESTAMP reaches years ±290,000, past chrono's ±262,143.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
}

/// The calendar day `days` after 1970-01-01 (Howard Hinnant's
/// `civil_from_days`: 400-year eras of 146,097 days, years starting in March).
pub(super) fn civil_of_days(days: i64) -> Civil {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    Civil { year: yoe + era * 400 + i64::from(month <= 2), month, day }
}

/// A timestamp in UTC: its day and the microseconds into it.
fn civil_of_micros(micros: i64) -> (Civil, i64) {
    (civil_of_days(micros.div_euclid(MICROS_PER_DAY)), micros.rem_euclid(MICROS_PER_DAY))
}

pub(super) fn days_of_date(d: NaiveDate) -> i32 {
    d.num_days_from_ce() - EPOCH_CE_DAYS
}

/// A year as Java's `DateTimeFormatter` prints the proleptic year with `n`
/// pattern letters (Spark's `y`): two letters print its last two digits; four
/// or more pad to `n` digits and sign a year with more digits (`+10000`), one
/// or three sign only negative years. Negative years always carry `-`.
fn year_text(year: i64, n: usize) -> String {
    let digits = format!("{:0n$}", year.unsigned_abs());
    match n {
        2 => format!("{:02}", year.unsigned_abs() % 100),
        _ if year < 0 => format!("-{digits}"),
        4.. if digits.len() > n => format!("+{digits}"),
        _ => digits,
    }
}

/// The day a timestamp falls on, in UTC.
pub(super) fn days_of_micros(micros: i64) -> i32 {
    micros.div_euclid(MICROS_PER_DAY) as i32
}

pub(super) fn micros_of_days(days: i32) -> i64 {
    days as i64 * MICROS_PER_DAY
}

/// Java's `Double.toString`, which Spark's `CAST(double AS STRING)` uses:
/// plain notation for 1e-3 ≤ |d| < 1e7, else `1.0E10`; always a fractional digit.
pub(super) fn java_double(d: f64) -> String {
    if d.is_nan() {
        return "NaN".into();
    }
    if d.is_infinite() {
        return if d > 0.0 { "Infinity".into() } else { "-Infinity".into() };
    }
    if d == 0.0 {
        return if d.is_sign_negative() { "-0.0".into() } else { "0.0".into() };
    }
    // The shortest digits that round-trip, and the decimal exponent.
    let sci = format!("{:e}", d.abs());
    let (mantissa, exp) = sci.split_once('e').expect("`{:e}` has an exponent");
    let exp: i32 = exp.parse().expect("an integer exponent");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let sign = if d < 0.0 { "-" } else { "" };
    if (-3..7).contains(&exp) {
        let point = exp + 1; // digits before the decimal point
        let s = if point <= 0 {
            format!("0.{}{}", "0".repeat((-point) as usize), digits)
        } else if point as usize >= digits.len() {
            format!("{}{}.0", digits, "0".repeat(point as usize - digits.len()))
        } else {
            format!("{}.{}", &digits[..point as usize], &digits[point as usize..])
        };
        format!("{sign}{s}")
    } else {
        let frac = if digits.len() > 1 { &digits[1..] } else { "0" };
        format!("{sign}{}.{frac}E{exp}", &digits[..1])
    }
}

/// `yyyy-MM-dd`.
pub(super) fn format_date(days: i32) -> Option<String> {
    let d = civil_of_days(i64::from(days));
    Some(format!("{}-{:02}-{:02}", year_text(d.year, 4), d.month, d.day))
}

/// `yyyy-MM-dd HH:mm:ss[.fraction]`, the fraction without trailing zeros.
pub(super) fn format_timestamp(micros: i64) -> Option<String> {
    let (d, of_day) = civil_of_micros(micros);
    let seconds = of_day / 1_000_000;
    let mut s = format!(
        "{}-{:02}-{:02} {:02}:{:02}:{:02}",
        year_text(d.year, 4),
        d.month,
        d.day,
        seconds / 3_600,
        seconds / 60 % 60,
        seconds % 60
    );
    let frac = of_day % 1_000_000;
    if frac != 0 {
        let f = format!("{frac:06}");
        s.push('.');
        s.push_str(f.trim_end_matches('0'));
    }
    Some(s)
}

/// Spark trims these around a value it parses (`UTF8String.trimAll`).
pub(super) fn trim_spark(s: &str) -> &str {
    s.trim_matches(|c: char| c <= ' ')
}

fn number(s: &str, min: usize, max: usize) -> Option<u32> {
    if s.len() < min || s.len() > max || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// The date part: `yyyy`, `yyyy-[m]m`, `yyyy-[m]m-[d]d`; returns it and the rest.
fn parse_date_part(s: &str) -> Option<(NaiveDate, &str)> {
    let end = s.find([' ', 'T']).unwrap_or(s.len());
    let (date, rest) = s.split_at(end);
    let mut parts = date.split('-');
    let year = number(parts.next()?, 4, 6)? as i32;
    let month = parts.next().map(|m| number(m, 1, 2)).unwrap_or(Some(1))?;
    let day = parts.next().map(|d| number(d, 1, 2)).unwrap_or(Some(1))?;
    if parts.next().is_some() {
        return None;
    }
    Some((NaiveDate::from_ymd_opt(year, month, day)?, rest))
}

/// `CAST(string AS DATE)`: a date, optionally followed by ` ` or `T` and anything.
pub(super) fn parse_date(s: &str) -> Option<i32> {
    parse_date_part(trim_spark(s)).map(|(d, _)| days_of_date(d))
}

/// `CAST(string AS TIMESTAMP)`: a date, then optionally `[ T]HH:mm[:ss[.fraction]]`
/// and a zone (`Z`, `UTC`, `±HH[:mm]`); without a zone the time is UTC.
pub(super) fn parse_timestamp(s: &str) -> Option<i64> {
    let (date, rest) = parse_date_part(trim_spark(s))?;
    let base = days_of_date(date) as i64 * MICROS_PER_DAY;
    if rest.is_empty() {
        return Some(base);
    }
    let rest = &rest[1..];
    let zone_at = rest.find(['Z', '+', '-', 'U']).unwrap_or(rest.len());
    let (time, zone) = rest.split_at(zone_at);
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let mut fields = hms.split(':');
    let h = number(fields.next()?, 1, 2)?;
    let m = number(fields.next()?, 1, 2)?;
    let sec = fields.next().map(|x| number(x, 1, 2)).unwrap_or(Some(0))?;
    if fields.next().is_some() || (frac.is_empty() && time.ends_with('.')) {
        return None;
    }
    let time = NaiveTime::from_hms_opt(h, m, sec)?;
    let micros_frac = if frac.is_empty() {
        0
    } else {
        number(frac, 1, 9)?;
        let six: String = frac.chars().chain(std::iter::repeat('0')).take(6).collect();
        six.parse::<i64>().ok()?
    };
    let offset_secs: i64 = match zone {
        "" | "Z" | "UTC" => 0,
        z if z.starts_with('+') || z.starts_with('-') => {
            let sign = if z.starts_with('-') { -1 } else { 1 };
            let (hh, mm) = z[1..].split_once(':').unwrap_or((&z[1..], "0"));
            sign * (number(hh, 1, 2)? as i64 * 3600 + number(mm, 1, 2)? as i64 * 60)
        }
        _ => return None,
    };
    let seconds = time.num_seconds_from_midnight() as i64 - offset_secs;
    Some(base + seconds * 1_000_000 + micros_frac)
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// `DATE_FORMAT(ts, pattern)` for the letters the compiler admits (y M d H m s S),
/// quoted text and punctuation, as Java's `DateTimeFormatter` prints them.
pub(super) fn format_pattern(micros: i64, pattern: &str) -> Option<String> {
    let (d, of_day) = civil_of_micros(micros);
    let seconds = (of_day / 1_000_000) as u32;
    let frac = format!("{:06}", of_day % 1_000_000);
    let mut out = String::new();
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let mut n = 1;
        while i + n < chars.len() && chars[i + n] == c && c != '\'' {
            n += 1;
        }
        let pad = |v: u32, n: usize| format!("{v:0n$}");
        match c {
            '\'' => {
                // `''` is a quote; otherwise text up to the closing quote.
                if chars.get(i + 1) == Some(&'\'') {
                    out.push('\'');
                    i += 2;
                    continue;
                }
                let close = chars[i + 1..].iter().position(|&x| x == '\'').map(|p| i + 1 + p)?;
                out.extend(&chars[i + 1..close]);
                i = close + 1;
                continue;
            }
            'y' => out.push_str(&year_text(d.year, n)),
            'M' if n >= 4 => out.push_str(MONTHS[d.month as usize - 1]),
            'M' if n == 3 => out.push_str(&MONTHS[d.month as usize - 1][..3]),
            'M' => out.push_str(&pad(d.month, n)),
            'd' => out.push_str(&pad(d.day, n)),
            'H' => out.push_str(&pad(seconds / 3_600, n)),
            'm' => out.push_str(&pad(seconds / 60 % 60, n)),
            's' => out.push_str(&pad(seconds % 60, n)),
            'S' => out.push_str(&format!("{frac:0<n$}")[..n]),
            other => out.extend(std::iter::repeat_n(other, n)),
        }
        i += n;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_days_agree_with_chrono_where_chrono_reaches() {
        let chrono_days = |days: i64| NaiveDate::from_num_days_from_ce_opt(days as i32 + EPOCH_CE_DAYS).unwrap();
        let mut days = -95_000_000_i64; // about 260,000 years before 1970
        while days < 95_000_000 {
            let (ours, theirs) = (civil_of_days(days), chrono_days(days));
            assert_eq!(
                (ours.year, ours.month, ours.day),
                (theirs.year() as i64, theirs.month(), theirs.day()),
                "{days}"
            );
            days += 9_973; // a prime step: every month and leap rule is met
        }
        for days in [-719_528, -719_162, -1, 0, 59, 60, 11_016, 2_932_896] {
            let (ours, theirs) = (civil_of_days(days), chrono_days(days));
            assert_eq!(
                (ours.year, ours.month, ours.day),
                (theirs.year() as i64, theirs.month(), theirs.day()),
                "{days}"
            );
        }
    }

    /// Spark 4.2's text for timestamps beyond year 9999 and at the ends of
    /// its range (read off the conformance test's Spark).
    #[test]
    fn timestamps_print_as_spark_prints_them_over_its_whole_range() {
        assert_eq!(format_timestamp(i64::MAX).unwrap(), "+294247-01-10 04:00:54.775807");
        assert_eq!(format_timestamp(i64::MIN).unwrap(), "-290308-12-21 19:59:05.224192");
        assert_eq!(format_timestamp(253_402_300_800_000_000).unwrap(), "+10000-01-01 00:00:00");
        assert_eq!(format_timestamp(-62_135_596_801_000_000).unwrap(), "0000-12-31 23:59:59");
        assert_eq!(format_pattern(i64::MAX, "MMM yyyy").unwrap(), "Jan +294247");
        assert_eq!(format_pattern(253_402_300_800_000_000, "yy/M/d y").unwrap(), "00/1/1 10000");
        assert_eq!(format_date(-719_529).unwrap(), "-0001-12-31");
        assert_eq!(format_pattern(-62_198_755_200_000_000, "yy y yyy yyyy").unwrap(), "01 -1 -001 -0001");
    }
}
