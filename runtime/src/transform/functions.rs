//! The string and date functions ingestion models may call, with Spark's meaning.

use std::sync::Arc;

use arrow_array::types::{Date32Type, Float64Type, Int32Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, ArrayRef, Float64Array, Int32Array, Int64Array, StringArray};

use super::ops::{prim, strings};
use super::text;
use super::{Result, Ty, error};

fn map_strings(a: &ArrayRef, f: impl Fn(&str) -> String) -> Result<ArrayRef> {
    Ok(Arc::new(strings(a)?.iter().map(|v| v.map(&f)).collect::<StringArray>()))
}

pub fn upper(a: &ArrayRef) -> Result<ArrayRef> {
    map_strings(a, str::to_uppercase)
}

pub fn lower(a: &ArrayRef) -> Result<ArrayRef> {
    map_strings(a, str::to_lowercase)
}

/// Spark's `trim` removes spaces (U+0020) only, not other whitespace.
pub fn trim(a: &ArrayRef) -> Result<ArrayRef> {
    map_strings(a, |s| s.trim_matches(' ').to_string())
}

/// Characters (code points), not bytes.
pub fn length(a: &ArrayRef) -> Result<ArrayRef> {
    Ok(Arc::new(strings(a)?.iter().map(|v| v.map(|s| s.chars().count() as i32)).collect::<Int32Array>()))
}

/// NULL if any argument is NULL.
pub fn concat(args: &[ArrayRef]) -> Result<ArrayRef> {
    let arrays = args.iter().map(strings).collect::<Result<Vec<_>>>()?;
    let rows = arrays.first().map(|a| a.len()).unwrap_or(0);
    let out: StringArray = (0..rows)
        .map(|i| arrays.iter().map(|a| (!a.is_null(i)).then(|| a.value(i))).collect::<Option<String>>())
        .collect();
    Ok(Arc::new(out))
}

/// `SUBSTRING(s, pos[, len])` as Spark's `UTF8String.substringSQL`: 1-based,
/// `pos` 0 acts as 1, a negative `pos` counts from the end; characters, not bytes.
pub fn substring(args: &[ArrayRef]) -> Result<ArrayRef> {
    let (s, pos) = match args {
        [s, pos] | [s, pos, _] => (strings(s)?, prim::<Int32Type>(pos)?),
        _ => return error("SUBSTRING takes 2 or 3 arguments"),
    };
    let len = args.get(2).map(prim::<Int32Type>).transpose()?;
    let out: StringArray = (0..s.len())
        .map(|i| {
            if s.is_null(i) || pos.is_null(i) || len.is_some_and(|l| l.is_null(i)) {
                return None;
            }
            let chars: Vec<char> = s.value(i).chars().collect();
            let n = chars.len() as i64;
            let p = pos.value(i) as i64;
            let start = if p > 0 {
                p - 1
            } else if p < 0 {
                n + p
            } else {
                0
            };
            let end = match len {
                Some(l) => start + l.value(i) as i64,
                None => i64::MAX,
            };
            let start = start.max(0);
            if start >= end || start >= n {
                return Some(String::new());
            }
            Some(chars[start as usize..end.min(n) as usize].iter().collect())
        })
        .collect();
    Ok(Arc::new(out))
}

/// `DATE_FORMAT(ts, pattern)` in UTC.
pub fn date_format(a: &ArrayRef, pattern: &str) -> Result<ArrayRef> {
    let ts = prim::<TimestampMicrosecondType>(a)?;
    Ok(Arc::new(ts.iter().map(|t| t.and_then(|t| text::format_pattern(t, pattern))).collect::<StringArray>()))
}

fn date_part(a: &ArrayRef, part: impl Fn(text::Civil) -> i32) -> Result<ArrayRef> {
    let dates = prim::<Date32Type>(a)?;
    let civil = |days: i32| text::civil_of_days(i64::from(days));
    Ok(Arc::new(dates.iter().map(|d| d.map(civil).map(&part)).collect::<Int32Array>()))
}

pub fn year(a: &ArrayRef) -> Result<ArrayRef> {
    // A DATE's year fits: Spark's dates span ±5.8 million years.
    date_part(a, |d| d.year as i32)
}

pub fn month(a: &ArrayRef) -> Result<ArrayRef> {
    date_part(a, |d| d.month as i32)
}

pub fn day(a: &ArrayRef) -> Result<ArrayRef> {
    date_part(a, |d| d.day as i32)
}

/// Integers wrap (`abs` of the minimum is the minimum), as in Spark.
pub fn abs(a: &ArrayRef, ty: Ty) -> Result<ArrayRef> {
    Ok(match ty {
        Ty::Integer => Arc::new(prim::<Int32Type>(a)?.iter().map(|v| v.map(i32::wrapping_abs)).collect::<Int32Array>()),
        Ty::Long => Arc::new(prim::<Int64Type>(a)?.iter().map(|v| v.map(i64::wrapping_abs)).collect::<Int64Array>()),
        Ty::Double => Arc::new(prim::<Float64Type>(a)?.iter().map(|v| v.map(f64::abs)).collect::<Float64Array>()),
        other => return error(format!("abs of {other:?}")),
    })
}
