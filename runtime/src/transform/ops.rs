//! Literals, arithmetic, comparison, boolean logic, CASE, COALESCE and IN.

use std::cmp::Ordering;
use std::sync::Arc;

use arrow_array::cast::AsArray as _;
use arrow_array::types::{ArrowPrimitiveType, Date32Type, Float64Type, Int32Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int32Array, Int64Array, PrimitiveArray, StringArray, new_null_array,
};

use super::{Result, TransformError, Ty, error};

pub(super) fn prim<T: ArrowPrimitiveType>(a: &ArrayRef) -> Result<&PrimitiveArray<T>> {
    a.as_primitive_opt::<T>()
        .ok_or_else(|| TransformError(format!("expected {:?}, got {}", T::DATA_TYPE, a.data_type())))
}

pub(super) fn strings(a: &ArrayRef) -> Result<&StringArray> {
    a.as_string_opt::<i32>().ok_or_else(|| TransformError(format!("expected STRING, got {}", a.data_type())))
}

pub(super) fn booleans(a: &ArrayRef) -> Result<&BooleanArray> {
    a.as_boolean_opt().ok_or_else(|| TransformError(format!("expected BOOLEAN, got {}", a.data_type())))
}

fn arrow<T>(r: std::result::Result<T, arrow_schema::ArrowError>) -> Result<T> {
    r.map_err(|e| TransformError(e.to_string()))
}

pub fn literal_null(rows: usize, ty: Ty) -> ArrayRef {
    new_null_array(&ty.data_type(), rows)
}

pub fn literal_boolean(rows: usize, v: bool) -> ArrayRef {
    Arc::new(BooleanArray::from(vec![v; rows]))
}

pub fn literal_integer(rows: usize, v: i32) -> ArrayRef {
    Arc::new(Int32Array::from_value(v, rows))
}

pub fn literal_long(rows: usize, v: i64) -> ArrayRef {
    Arc::new(Int64Array::from_value(v, rows))
}

pub fn literal_double(rows: usize, v: f64) -> ArrayRef {
    Arc::new(Float64Array::from_value(v, rows))
}

pub fn literal_string(rows: usize, v: &str) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(std::iter::repeat_n(v, rows)))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArithOp {
    Add,
    Subtract,
    Multiply,
    Divide,
    Remainder,
}

/// `a <op> b`, both of `ty`. Integers wrap on overflow; `/` (DOUBLE only) and
/// `%` by zero are NULL — Spark's non-ANSI arithmetic.
pub fn arith(op: ArithOp, a: &ArrayRef, b: &ArrayRef, ty: Ty) -> Result<ArrayRef> {
    macro_rules! integral {
        ($t:ty, $arr:ty) => {{
            let (a, b) = (prim::<$t>(a)?, prim::<$t>(b)?);
            let out: $arr = a
                .iter()
                .zip(b.iter())
                .map(|(x, y)| {
                    let (x, y) = (x?, y?);
                    match op {
                        ArithOp::Add => Some(x.wrapping_add(y)),
                        ArithOp::Subtract => Some(x.wrapping_sub(y)),
                        ArithOp::Multiply => Some(x.wrapping_mul(y)),
                        ArithOp::Remainder => (y != 0).then(|| x.wrapping_rem(y)),
                        ArithOp::Divide => None,
                    }
                })
                .collect();
            Arc::new(out) as ArrayRef
        }};
    }
    if op == ArithOp::Divide && ty != Ty::Double {
        return error("`/` divides DOUBLEs");
    }
    Ok(match ty {
        Ty::Integer => integral!(Int32Type, Int32Array),
        Ty::Long => integral!(Int64Type, Int64Array),
        Ty::Double => {
            let (a, b) = (prim::<Float64Type>(a)?, prim::<Float64Type>(b)?);
            let out: Float64Array = a
                .iter()
                .zip(b.iter())
                .map(|(x, y)| {
                    let (x, y) = (x?, y?);
                    match op {
                        ArithOp::Add => Some(x + y),
                        ArithOp::Subtract => Some(x - y),
                        ArithOp::Multiply => Some(x * y),
                        ArithOp::Divide | ArithOp::Remainder if y == 0.0 => None,
                        ArithOp::Divide => Some(x / y),
                        ArithOp::Remainder => Some(x % y),
                    }
                })
                .collect();
            Arc::new(out)
        }
        other => return error(format!("arithmetic on {other:?}")),
    })
}

/// `-a`; integers wrap.
pub fn negate(a: &ArrayRef, ty: Ty) -> Result<ArrayRef> {
    Ok(match ty {
        Ty::Integer => Arc::new(prim::<Int32Type>(a)?.iter().map(|v| v.map(i32::wrapping_neg)).collect::<Int32Array>()),
        Ty::Long => Arc::new(prim::<Int64Type>(a)?.iter().map(|v| v.map(i64::wrapping_neg)).collect::<Int64Array>()),
        Ty::Double => Arc::new(prim::<Float64Type>(a)?.iter().map(|v| v.map(|x| -x)).collect::<Float64Array>()),
        other => return error(format!("negating {other:?}")),
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
}

impl CmpOp {
    fn holds(self, o: Ordering) -> bool {
        match self {
            CmpOp::Eq => o == Ordering::Equal,
            CmpOp::NotEq => o != Ordering::Equal,
            CmpOp::Lt => o == Ordering::Less,
            CmpOp::LtEq => o != Ordering::Greater,
            CmpOp::Gt => o == Ordering::Greater,
            CmpOp::GtEq => o != Ordering::Less,
        }
    }
}

/// Spark orders doubles with NaN equal to itself and above everything, and
/// -0.0 equal to 0.0.
pub(super) fn compare_doubles(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => a.partial_cmp(&b).expect("neither is NaN"),
    }
}

/// `a <op> b`, both of one type; NULL if either is NULL. Strings compare by
/// their UTF-8 bytes, as Spark's do.
pub fn compare(op: CmpOp, a: &ArrayRef, b: &ArrayRef) -> Result<ArrayRef> {
    fn by<T, I: Iterator<Item = Option<T>>>(a: I, b: I, op: CmpOp, cmp: impl Fn(&T, &T) -> Ordering) -> ArrayRef {
        Arc::new(a.zip(b).map(|(x, y)| Some(op.holds(cmp(&x?, &y?)))).collect::<BooleanArray>())
    }
    if a.data_type() != b.data_type() {
        return error(format!("comparing {} with {}", a.data_type(), b.data_type()));
    }
    let ty = Ty::of(a.data_type()).ok_or_else(|| TransformError(format!("comparing {}", a.data_type())))?;
    Ok(match ty {
        Ty::String => by(strings(a)?.iter(), strings(b)?.iter(), op, |x, y| x.cmp(y)),
        Ty::Boolean => by(booleans(a)?.iter(), booleans(b)?.iter(), op, |x, y| x.cmp(y)),
        Ty::Integer => by(prim::<Int32Type>(a)?.iter(), prim::<Int32Type>(b)?.iter(), op, |x, y| x.cmp(y)),
        Ty::Long => by(prim::<Int64Type>(a)?.iter(), prim::<Int64Type>(b)?.iter(), op, |x, y| x.cmp(y)),
        Ty::Double => {
            by(prim::<Float64Type>(a)?.iter(), prim::<Float64Type>(b)?.iter(), op, |x, y| compare_doubles(*x, *y))
        }
        Ty::Timestamp => {
            by(prim::<TimestampMicrosecondType>(a)?.iter(), prim::<TimestampMicrosecondType>(b)?.iter(), op, |x, y| {
                x.cmp(y)
            })
        }
        Ty::Date => by(prim::<Date32Type>(a)?.iter(), prim::<Date32Type>(b)?.iter(), op, |x, y| x.cmp(y)),
    })
}

/// Three-valued AND.
pub fn and(a: &ArrayRef, b: &ArrayRef) -> Result<ArrayRef> {
    Ok(Arc::new(arrow(arrow_arith::boolean::and_kleene(booleans(a)?, booleans(b)?))?))
}

/// Three-valued OR.
pub fn or(a: &ArrayRef, b: &ArrayRef) -> Result<ArrayRef> {
    Ok(Arc::new(arrow(arrow_arith::boolean::or_kleene(booleans(a)?, booleans(b)?))?))
}

pub fn not(a: &ArrayRef) -> Result<ArrayRef> {
    Ok(Arc::new(arrow(arrow_arith::boolean::not(booleans(a)?))?))
}

/// `a IS NULL` (or `IS NOT NULL`): never NULL itself.
pub fn is_null(a: &ArrayRef, negated: bool) -> Result<ArrayRef> {
    let r =
        if negated { arrow_arith::boolean::is_not_null(a.as_ref()) } else { arrow_arith::boolean::is_null(a.as_ref()) };
    Ok(Arc::new(arrow(r)?))
}

/// `x IN (items…)`: TRUE if any item equals `x`; otherwise NULL if `x` or an
/// item is NULL; otherwise FALSE. `NOT IN` negates that.
pub fn in_list(x: &ArrayRef, items: &[ArrayRef], negated: bool) -> Result<ArrayRef> {
    let mut acc: Option<ArrayRef> = None;
    for item in items {
        let eq = compare(CmpOp::Eq, x, item)?;
        acc = Some(match acc {
            None => eq,
            Some(a) => or(&a, &eq)?,
        });
    }
    let acc = acc.ok_or_else(|| TransformError("IN with an empty list".into()))?;
    if negated { not(&acc) } else { Ok(acc) }
}

/// The rows where `mask` is TRUE (NULL counts as FALSE).
fn true_mask(mask: &ArrayRef) -> Result<BooleanArray> {
    Ok(booleans(mask)?.iter().map(|v| Some(v == Some(true))).collect())
}

/// `CASE WHEN c1 THEN v1 … ELSE e END`: the first branch whose condition is
/// TRUE; else `otherwise` (NULL without one).
pub fn case(rows: usize, branches: &[(ArrayRef, ArrayRef)], otherwise: Option<ArrayRef>, ty: Ty) -> Result<ArrayRef> {
    let mut result = otherwise.unwrap_or_else(|| literal_null(rows, ty));
    for (cond, value) in branches.iter().rev() {
        result = arrow(arrow_select::zip::zip(&true_mask(cond)?, value, &result))?;
    }
    Ok(result)
}

/// The first non-NULL argument.
pub fn coalesce(args: &[ArrayRef]) -> Result<ArrayRef> {
    let (last, rest) = args.split_last().ok_or_else(|| TransformError("COALESCE without arguments".into()))?;
    let mut result = last.clone();
    for a in rest.iter().rev() {
        let valid: BooleanArray = (0..a.len()).map(|i| Some(a.is_valid(i))).collect();
        result = arrow(arrow_select::zip::zip(&valid, a, &result))?;
    }
    Ok(result)
}
