//! Parsers of the CLI's numeric options: a value that cannot mean what its
//! option asks for is an error naming the option, not clamped in silence
//! (`--batch-records 0` ran one record per batch) nor a panic (`--interval
//! inf` and `--retention-hours NaN` failed converting to a `Duration`).

use std::time::Duration;

/// A count of one or more.
pub(super) fn count(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("not a count: {e}")),
    }
}

/// A record size limit: at least a byte, at most the framing's limit
/// (`source::MAX_FRAME`, 256 MiB), past which a frame is over the limit
/// whatever this says. (`0` made every record a dead letter.)
pub(super) fn record_bytes(text: &str) -> Result<usize, String> {
    let n = count(text)?;
    let max = crate::source::MAX_FRAME;
    if n as u64 > max {
        return Err(format!("must be at most {max} bytes (256 MiB), the largest frame a segment may hold"));
    }
    Ok(n)
}

/// Seconds, more than zero.
pub(super) fn seconds(text: &str) -> Result<Duration, String> {
    let value = number(text)?;
    if value <= 0.0 {
        return Err("must be more than 0 seconds".into());
    }
    Duration::try_from_secs_f64(value).map_err(|_| "too long a time".into())
}

/// Hours, zero or more.
pub(super) fn hours(text: &str) -> Result<Duration, String> {
    let value = number(text)?;
    if value < 0.0 {
        return Err("must be 0 hours or more".into());
    }
    Duration::try_from_secs_f64(value * 3600.0).map_err(|_| "too long a time".into())
}

/// A finite number.
fn number(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err("must be a finite number".into()),
        Err(e) => Err(format!("not a number: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_one_or_more() {
        assert_eq!(count("50000"), Ok(50_000));
        assert_eq!(count("0"), Err("must be at least 1".into()));
        assert!(count("-1").unwrap_err().starts_with("not a count"));
        assert!(count("many").unwrap_err().starts_with("not a count"));
    }

    #[test]
    fn record_limits_are_a_byte_to_the_frame_limit() {
        assert_eq!(record_bytes("16777216"), Ok(16 * 1024 * 1024));
        assert_eq!(record_bytes("268435456"), Ok(256 * 1024 * 1024));
        assert!(record_bytes("268435457").unwrap_err().contains("at most 268435456 bytes"));
        assert_eq!(record_bytes("0"), Err("must be at least 1".into()));
    }

    #[test]
    fn times_are_finite_and_in_range() {
        assert_eq!(seconds("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(hours("168"), Ok(Duration::from_secs(168 * 3600)));
        assert_eq!(hours("0"), Ok(Duration::ZERO));
        assert_eq!(seconds("0"), Err("must be more than 0 seconds".into()));
        assert_eq!(hours("-1"), Err("must be 0 hours or more".into()));
        for bad in ["inf", "NaN", "-inf"] {
            assert_eq!(seconds(bad), Err("must be a finite number".into()), "{bad}");
            assert_eq!(hours(bad), Err("must be a finite number".into()), "{bad}");
        }
        assert_eq!(hours("1e300"), Err("too long a time".into()));
        assert!(seconds("soon").unwrap_err().starts_with("not a number"));
    }
}
