//! What generated model transforms are made of: a [`Frame`] over a batch of
//! staging rows (optionally exploded), and kernels over Arrow arrays with Spark's
//! meaning (non-ANSI: a value that does not convert or divides by zero is NULL,
//! integers wrap; timestamps are UTC).
//!
//! The compiler lowers each ingestion model's SQL to a typed plan and emits a
//! function of straight-line kernel calls (`emit/rust/transform.rs`): every
//! operand already has the type the kernel expects (the plan made each implicit
//! conversion an explicit `cast`), so the kernels never guess.

mod cast;
mod functions;
mod ops;
mod text;

use std::sync::Arc;

use arrow_array::cast::AsArray as _;
use arrow_array::{Array, ArrayRef, BooleanArray, Int32Array, RecordBatch, UInt32Array};
use arrow_schema::{DataType, SchemaRef};

pub use cast::cast;
pub use functions::{abs, concat, date_format, day, length, lower, month, substring, trim, upper, year};
pub use ops::{
    ArithOp, CmpOp, and, arith, case, coalesce, compare, in_list, is_null, literal_boolean, literal_double,
    literal_integer, literal_long, literal_null, literal_string, negate, not, or,
};

/// A SQL type of the plan, as Arrow holds it in Delta tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    String,
    Boolean,
    Integer,
    Long,
    Double,
    /// Microseconds since the epoch, UTC.
    Timestamp,
    /// Days since the epoch.
    Date,
}

impl Ty {
    pub fn data_type(self) -> DataType {
        match self {
            Ty::String => DataType::Utf8,
            Ty::Boolean => DataType::Boolean,
            Ty::Integer => DataType::Int32,
            Ty::Long => DataType::Int64,
            Ty::Double => DataType::Float64,
            Ty::Timestamp => crate::columns::timestamp_type(),
            Ty::Date => DataType::Date32,
        }
    }

    fn of(data_type: &DataType) -> Option<Ty> {
        Some(match data_type {
            DataType::Utf8 => Ty::String,
            DataType::Boolean => Ty::Boolean,
            DataType::Int32 => Ty::Integer,
            DataType::Int64 => Ty::Long,
            DataType::Float64 => Ty::Double,
            DataType::Timestamp(arrow_schema::TimeUnit::Microsecond, _) => Ty::Timestamp,
            DataType::Date32 => Ty::Date,
            _ => return None,
        })
    }
}

/// Why a batch could not be transformed (a mismatch between the staging data
/// and the generated code, or a NULL in a NOT NULL column).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TransformError(pub String);

pub type Result<T> = std::result::Result<T, TransformError>;

fn error<T>(message: impl Into<String>) -> Result<T> {
    Err(TransformError(message.into()))
}

/// The rows a model reads: staging rows, or one row per element of an array column.
pub struct Frame<'a> {
    batch: &'a RecordBatch,
    /// For an exploded frame: the parent row of each output row.
    parents: Option<UInt32Array>,
    position: Option<ArrayRef>,
    element: Option<ArrayRef>,
    /// Rows kept by `filter`, applied lazily to every column read afterwards.
    keep: Option<BooleanArray>,
    rows: usize,
}

impl<'a> Frame<'a> {
    pub fn new(batch: &'a RecordBatch) -> Frame<'a> {
        Frame { batch, parents: None, position: None, element: None, keep: None, rows: batch.num_rows() }
    }

    /// `LATERAL VIEW POSEXPLODE(column)`: one row per element, with its 0-based
    /// position; a NULL or empty array gives no rows (Spark's non-outer explode).
    pub fn explode(batch: &'a RecordBatch, column: &str) -> Result<Frame<'a>> {
        let array = batch.column_by_name(column).ok_or_else(|| TransformError(format!("no column `{column}`")))?;
        let Some(list) = array.as_list_opt::<i32>() else {
            return error(format!("`{column}` is a {}, not a list", array.data_type()));
        };
        let offsets = list.value_offsets();
        let mut parents = Vec::new();
        let mut positions = Vec::new();
        let mut items = Vec::new();
        for row in 0..list.len() {
            if list.is_null(row) {
                continue;
            }
            let (start, end) = (offsets[row], offsets[row + 1]);
            for i in start..end {
                parents.push(row as u32);
                positions.push(i - start);
                items.push(i as u32);
            }
        }
        let element = arrow_select::take::take(list.values().as_ref(), &UInt32Array::from(items), None)
            .map_err(|e| TransformError(format!("exploding `{column}`: {e}")))?;
        let rows = parents.len();
        Ok(Frame {
            batch,
            parents: Some(UInt32Array::from(parents)),
            position: Some(Arc::new(Int32Array::from(positions))),
            element: Some(element),
            keep: None,
            rows,
        })
    }

    /// Rows in the frame (after `filter`).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// A primitive column of the source table, row-aligned with the frame.
    pub fn column(&self, name: &str) -> Result<ArrayRef> {
        let array = self.batch.column_by_name(name).ok_or_else(|| TransformError(format!("no column `{name}`")))?;
        if Ty::of(array.data_type()).is_none() {
            return error(format!("`{name}` is a {}, not a primitive column", array.data_type()));
        }
        let array = match &self.parents {
            Some(p) => take(array, p)?,
            None => array.clone(),
        };
        self.kept(array)
    }

    /// `POSEXPLODE`'s position (INTEGER).
    pub fn position(&self) -> Result<ArrayRef> {
        self.kept(self.position.clone().ok_or_else(|| TransformError("the frame is not exploded".into()))?)
    }

    /// The exploded element, or the field `field` of a struct element.
    pub fn element(&self, field: Option<&str>) -> Result<ArrayRef> {
        let element = self.element.clone().ok_or_else(|| TransformError("the frame is not exploded".into()))?;
        let array = match field {
            None => element,
            Some(f) => match element.as_struct_opt() {
                Some(s) => {
                    s.column_by_name(f).cloned().ok_or_else(|| TransformError(format!("no element field `{f}`")))?
                }
                None => return error(format!("the element is a {}, not a struct", element.data_type())),
            },
        };
        self.kept(array)
    }

    /// Keeps the rows where every condition is TRUE (NULL drops a row).
    pub fn filter(mut self, conditions: &[ArrayRef]) -> Result<Frame<'a>> {
        let mut mask: Option<BooleanArray> = None;
        for c in conditions {
            let c = c.as_boolean_opt().ok_or_else(|| TransformError("a WHERE condition is not BOOLEAN".into()))?;
            // NULL counts as FALSE: fold the nulls into the values.
            let c: BooleanArray = c.iter().map(|v| Some(v == Some(true))).collect();
            mask = Some(match mask {
                None => c,
                Some(m) => arrow_arith::boolean::and(&m, &c).map_err(|e| TransformError(e.to_string()))?,
            });
        }
        if let Some(mask) = mask {
            self.rows = mask.true_count();
            self.keep = Some(mask);
        }
        Ok(self)
    }

    fn kept(&self, array: ArrayRef) -> Result<ArrayRef> {
        match &self.keep {
            Some(mask) => arrow_select::filter::filter(array.as_ref(), mask).map_err(|e| TransformError(e.to_string())),
            None => Ok(array),
        }
    }
}

fn take(array: &ArrayRef, indices: &UInt32Array) -> Result<ArrayRef> {
    arrow_select::take::take(array.as_ref(), indices, None).map_err(|e| TransformError(e.to_string()))
}

/// The model's output batch; a NULL in a NOT NULL column is an error naming it.
pub fn output(schema: SchemaRef, columns: Vec<ArrayRef>) -> Result<RecordBatch> {
    for (field, column) in schema.fields().iter().zip(&columns) {
        if !field.is_nullable() && column.null_count() > 0 {
            return error(format!("`{}` is NOT NULL, but {} row(s) compute NULL", field.name(), column.null_count()));
        }
    }
    RecordBatch::try_new(schema, columns).map_err(|e| TransformError(format!("the output does not fit its table: {e}")))
}

#[cfg(test)]
mod tests;
