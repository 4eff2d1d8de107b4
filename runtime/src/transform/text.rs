//! Spark's text forms of numbers, dates and timestamps (UTC), both ways.

use chrono::{DateTime, Datelike as _, NaiveDate, NaiveDateTime, NaiveTime, Timelike as _};

const MICROS_PER_DAY: i64 = 86_400_000_000;
/// Days from 0001-01-01 (CE day 1) to 1970-01-01.
const EPOCH_CE_DAYS: i32 = 719_163;

pub(super) fn date_of_days(days: i32) -> Option<NaiveDate> {
    NaiveDate::from_num_days_from_ce_opt(days.checked_add(EPOCH_CE_DAYS)?)
}

pub(super) fn days_of_date(d: NaiveDate) -> i32 {
    d.num_days_from_ce() - EPOCH_CE_DAYS
}

pub(super) fn datetime_of_micros(micros: i64) -> Option<NaiveDateTime> {
    DateTime::from_timestamp_micros(micros).map(|d| d.naive_utc())
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
    date_of_days(days).map(|d| d.format("%Y-%m-%d").to_string())
}

/// `yyyy-MM-dd HH:mm:ss[.fraction]`, the fraction without trailing zeros.
pub(super) fn format_timestamp(micros: i64) -> Option<String> {
    let t = datetime_of_micros(micros)?;
    let mut s = t.format("%Y-%m-%d %H:%M:%S").to_string();
    let frac = t.and_utc().timestamp_subsec_micros();
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
    let t = datetime_of_micros(micros)?;
    let frac = format!("{:06}", t.and_utc().timestamp_subsec_micros());
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
            'y' if n == 2 => out.push_str(&pad(t.year().rem_euclid(100) as u32, 2)),
            'y' => out.push_str(&format!("{:0n$}", t.year())),
            'M' if n >= 4 => out.push_str(MONTHS[t.month0() as usize]),
            'M' if n == 3 => out.push_str(&MONTHS[t.month0() as usize][..3]),
            'M' => out.push_str(&pad(t.month(), n)),
            'd' => out.push_str(&pad(t.day(), n)),
            'H' => out.push_str(&pad(t.hour(), n)),
            'm' => out.push_str(&pad(t.minute(), n)),
            's' => out.push_str(&pad(t.second(), n)),
            'S' => out.push_str(&format!("{frac:0<n$}")[..n]),
            other => out.extend(std::iter::repeat_n(other, n)),
        }
        i += n;
    }
    Some(out)
}
