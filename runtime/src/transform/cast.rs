//! `CAST(x AS <type>)` with Spark's non-ANSI meaning: a value that does not
//! convert is NULL; narrowing integers wrap; DOUBLE → integer truncates and
//! saturates (NaN → 0); a number cast to TIMESTAMP is seconds since the epoch.

use std::sync::Arc;

use arrow_array::types::{Date32Type, Float64Type, Int32Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{
    Array, ArrayRef, BooleanArray, Date32Array, Float64Array, Int32Array, Int64Array, StringArray,
    TimestampMicrosecondArray,
};

use super::ops::{booleans, prim, strings};
use super::text;
use super::{Result, TransformError, Ty, error};

/// The values of an array, read once, in the widest Rust type of their kind.
enum Values {
    Str(Vec<Option<String>>),
    Bool(Vec<Option<bool>>),
    Int(Vec<Option<i64>>),
    Double(Vec<Option<f64>>),
    Timestamp(Vec<Option<i64>>),
    Date(Vec<Option<i32>>),
}

fn read(a: &ArrayRef) -> Result<Values> {
    let ty = Ty::of(a.data_type()).ok_or_else(|| TransformError(format!("cannot cast a {}", a.data_type())))?;
    Ok(match ty {
        Ty::String => Values::Str(strings(a)?.iter().map(|v| v.map(str::to_string)).collect()),
        Ty::Boolean => Values::Bool(booleans(a)?.iter().collect()),
        Ty::Integer => Values::Int(prim::<Int32Type>(a)?.iter().map(|v| v.map(i64::from)).collect()),
        Ty::Long => Values::Int(prim::<Int64Type>(a)?.iter().collect()),
        Ty::Double => Values::Double(prim::<Float64Type>(a)?.iter().collect()),
        Ty::Timestamp => Values::Timestamp(prim::<TimestampMicrosecondType>(a)?.iter().collect()),
        Ty::Date => Values::Date(prim::<Date32Type>(a)?.iter().collect()),
    })
}

/// Spark's `UTF8String.toLong`: optional sign, digits, optionally `.digits`
/// (dropped); surrounding whitespace ignored; anything else or overflow → None.
fn parse_integral(s: &str) -> Option<i64> {
    let s = text::trim_spark(s);
    let (negative, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (whole, frac) = body.split_once('.').unwrap_or((body, ""));
    if body.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut v: i64 = 0;
    for b in whole.bytes() {
        let d = (b - b'0') as i64;
        v = v.checked_mul(10)?;
        v = if negative { v.checked_sub(d)? } else { v.checked_add(d)? };
    }
    Some(v)
}

fn parse_boolean(s: &str) -> Option<bool> {
    match text::trim_spark(s).to_ascii_lowercase().as_str() {
        "t" | "true" | "y" | "yes" | "1" => Some(true),
        "f" | "false" | "n" | "no" | "0" => Some(false),
        _ => None,
    }
}

fn parse_double(s: &str) -> Option<f64> {
    let s = text::trim_spark(s);
    // Java's parser accepts a trailing `d`/`f` type suffix; Rust's does not.
    let s =
        s.strip_suffix(['d', 'D', 'f', 'F']).filter(|r| !r.is_empty() && !r.ends_with(['.', 'e', 'E'])).unwrap_or(s);
    s.parse::<f64>().ok()
}

fn timestamp_array(v: impl IntoIterator<Item = Option<i64>>) -> ArrayRef {
    Arc::new(TimestampMicrosecondArray::from_iter(v).with_timezone("UTC"))
}

/// `CAST(a AS to)`.
pub fn cast(a: &ArrayRef, to: Ty) -> Result<ArrayRef> {
    if Ty::of(a.data_type()) == Some(to) {
        return Ok(a.clone());
    }
    let values = read(a)?;
    let bad = |from: &str| error(format!("no cast from {from} to {to:?}"));
    Ok(match to {
        Ty::String => {
            let out: StringArray = match values {
                Values::Str(v) => v.into_iter().collect(),
                Values::Bool(v) => v.into_iter().map(|b| b.map(|b| b.to_string())).collect(),
                Values::Int(v) => v.into_iter().map(|i| i.map(|i| i.to_string())).collect(),
                Values::Double(v) => v.into_iter().map(|d| d.map(text::java_double)).collect(),
                Values::Timestamp(v) => v.into_iter().map(|t| t.and_then(text::format_timestamp)).collect(),
                Values::Date(v) => v.into_iter().map(|d| d.and_then(text::format_date)).collect(),
            };
            Arc::new(out)
        }
        Ty::Boolean => {
            let out: BooleanArray = match values {
                Values::Str(v) => v.iter().map(|s| s.as_deref().and_then(parse_boolean)).collect(),
                Values::Int(v) => v.into_iter().map(|i| i.map(|i| i != 0)).collect(),
                Values::Double(v) => v.into_iter().map(|d| d.map(|d| d != 0.0)).collect(),
                _ => return bad("this type"),
            };
            Arc::new(out)
        }
        Ty::Integer | Ty::Long => {
            let wide: Vec<Option<i64>> = match values {
                Values::Str(v) => v
                    .iter()
                    .map(|s| {
                        let n = parse_integral(s.as_deref()?)?;
                        // Out of an INTEGER's range is NULL, not wrapped, when parsing.
                        (to == Ty::Long || i32::try_from(n).is_ok()).then_some(n)
                    })
                    .collect(),
                Values::Bool(v) => v.into_iter().map(|b| b.map(i64::from)).collect(),
                Values::Int(v) => v,
                // Java's (long)/(int) casts: truncate toward zero, saturate, NaN → 0.
                Values::Double(v) => v
                    .into_iter()
                    .map(|d| d.map(|d| if to == Ty::Integer { d as i32 as i64 } else { d as i64 }))
                    .collect(),
                Values::Timestamp(v) if to == Ty::Long => {
                    v.into_iter().map(|t| t.map(|t| t.div_euclid(1_000_000))).collect()
                }
                _ => return bad("this type"),
            };
            if to == Ty::Integer {
                Arc::new(wide.into_iter().map(|v| v.map(|v| v as i32)).collect::<Int32Array>())
            } else {
                Arc::new(wide.into_iter().collect::<Int64Array>())
            }
        }
        Ty::Double => {
            let out: Float64Array = match values {
                Values::Str(v) => v.iter().map(|s| s.as_deref().and_then(parse_double)).collect(),
                Values::Bool(v) => v.into_iter().map(|b| b.map(|b| if b { 1.0 } else { 0.0 })).collect(),
                Values::Int(v) => v.into_iter().map(|i| i.map(|i| i as f64)).collect(),
                _ => return bad("this type"),
            };
            Arc::new(out)
        }
        Ty::Timestamp => match values {
            Values::Str(v) => timestamp_array(v.iter().map(|s| s.as_deref().and_then(text::parse_timestamp))),
            Values::Int(v) => timestamp_array(v.into_iter().map(|s| s.map(|s| s.saturating_mul(1_000_000)))),
            // Seconds as a DOUBLE: micros truncated toward zero; NaN and ±∞ → NULL.
            Values::Double(v) => {
                timestamp_array(v.into_iter().map(|d| d.filter(|d| d.is_finite()).map(|d| (d * 1_000_000.0) as i64)))
            }
            Values::Date(v) => timestamp_array(v.into_iter().map(|d| d.map(text::micros_of_days))),
            _ => return bad("this type"),
        },
        Ty::Date => {
            let out: Date32Array = match values {
                Values::Str(v) => v.iter().map(|s| s.as_deref().and_then(text::parse_date)).collect(),
                Values::Timestamp(v) => v.into_iter().map(|t| t.map(text::days_of_micros)).collect(),
                _ => return bad("this type"),
            };
            Arc::new(out)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_parse_as_spark_parses_them() {
        assert_eq!(parse_integral(" 42 "), Some(42));
        assert_eq!(parse_integral("-7.9"), Some(-7));
        assert_eq!(parse_integral("1e3"), None);
        assert_eq!(parse_integral("9223372036854775808"), None);
        assert_eq!(parse_integral("-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_boolean(" Yes"), Some(true));
        assert_eq!(parse_boolean("2"), None);
        assert_eq!(parse_double("1.5d"), Some(1.5));
        assert_eq!(parse_double("abc"), None);
    }
}
