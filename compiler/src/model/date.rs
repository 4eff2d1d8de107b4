//! Calendar dates as the schemas write them (`sunset: "2026-12-31"`) and
//! `manifold check --today` takes them: `YYYY-MM-DD`, proleptic Gregorian,
//! counted in days since 1970-01-01 (civil-from-days, no time zones).

/// Days since 1970-01-01 of an ISO date `YYYY-MM-DD` (None if malformed or
/// not a day of the calendar, such as `2026-02-30`).
pub fn days_from_civil(date: &str) -> Option<i64> {
    let days = days_from_fields(date)?;
    (civil_date(days) == date).then_some(days)
}

/// [`days_from_civil`] without the calendar check: `2026-02-30` is March 2nd.
fn days_from_fields(date: &str) -> Option<i64> {
    let mut parts = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, m, d) = (parts.next()??, parts.next()??, parts.next()??);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || date.len() != 10 {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// The date `days` days after 1970-01-01.
pub fn civil_date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn civil_dates() {
        assert_eq!(super::civil_date(0), "1970-01-01");
        assert_eq!(super::civil_date(20_418), "2025-11-26");
        assert_eq!(super::civil_date(11_016), "2000-02-29");
        assert_eq!(super::civil_date(-1), "1969-12-31");
        for days in [-1, 0, 11_016, 20_418, 40_000] {
            assert_eq!(super::days_from_civil(&super::civil_date(days)), Some(days));
        }
        for bad in ["2026-13-01", "2026-02-29", "2025-04-31", "2026-1-01", "+026-01-01", "2026-01-01x"] {
            assert_eq!(super::days_from_civil(bad), None, "{bad}");
        }
        assert_eq!(super::days_from_civil("2028-02-29"), Some(21_243));
    }
}
