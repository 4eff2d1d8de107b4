//! Rows of a model's table as the merge writers compare them: the key columns
//! and the row's content encoded with arrow's row format (byte-comparable), and
//! the envelope's version columns.

use arrow_array::cast::AsArray as _;
use arrow_array::types::Int64Type;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_row::{RowConverter, Rows, SortField};

use super::MergeError;

/// The envelope columns a merge needs in every model's output.
pub const ROW_ID: &str = "envelope_fields_resource_ari_value";
pub const GENERATION: &str = "envelope_fields_generation_counter";
pub const VERSION: &str = "envelope_fields_version";
pub const TOMBSTONE: &str = "envelope_fields_is_tombstone";
/// Pipeline columns: when a row was staged and where from. They differ between
/// two deliveries of one record, so they never decide which row wins.
const PIPELINE: [&str; 3] = ["row_refreshed_at", "row_refreshed_at_day", "shard_id"];

/// The comparable view of a batch's rows.
pub struct Versioned {
    keys: Rows,
    content: Rows,
    generation: Vec<i64>,
    version: Vec<i64>,
    tombstone: Vec<bool>,
}

fn column<'b>(batch: &'b RecordBatch, name: &str) -> Result<&'b ArrayRef, MergeError> {
    batch.column_by_name(name).ok_or_else(|| MergeError::Model(format!("the model's rows have no column `{name}`")))
}

/// `columns` of `batch`, row-encoded: equal values give equal bytes.
pub fn encode_columns(batch: &RecordBatch, columns: &[&str]) -> Result<Rows, MergeError> {
    encode(columns.iter().map(|k| column(batch, k).cloned()).collect::<Result<_, _>>()?)
}

/// A column's values as Delta writes partition values (text).
pub fn as_strings(batch: &RecordBatch, name: &str) -> Result<Vec<Option<String>>, MergeError> {
    let c = deltalake::arrow::compute::cast(column(batch, name)?, &arrow_schema::DataType::Utf8)
        .map_err(|e| MergeError::Model(e.to_string()))?;
    Ok(c.as_string::<i32>().iter().map(|v| v.map(str::to_string)).collect())
}

/// The rows `rows` of `batch`, in that order.
pub fn take(batch: &RecordBatch, rows: &[usize]) -> Result<RecordBatch, MergeError> {
    let indices = arrow_array::UInt32Array::from(rows.iter().map(|&i| i as u32).collect::<Vec<_>>());
    arrow_select::take::take_record_batch(batch, &indices).map_err(|e| MergeError::Model(e.to_string()))
}

fn encode(columns: Vec<ArrayRef>) -> Result<Rows, MergeError> {
    let fields = columns.iter().map(|c| SortField::new(c.data_type().clone())).collect();
    let converter = RowConverter::new(fields).map_err(|e| MergeError::Model(e.to_string()))?;
    converter.convert_columns(&columns).map_err(|e| MergeError::Model(e.to_string()))
}

/// The columns a stored row's stamp is read from (see [`stamps`]).
pub const STAMP: [&str; 3] = [GENERATION, VERSION, TOMBSTONE];

/// What a merge reads to find the stored rows of keys `key`: the key and
/// stamp columns (`STAMP`: generation, version, tombstone), comma-separated
/// (a table's `lake::LOOKUP_COLUMNS`).
pub fn lookup_columns(key: &[&str]) -> String {
    key_and_stamp(key).join(",")
}

/// The key columns, then the [`STAMP`] columns not among them: what `find` reads.
pub fn key_and_stamp<'k>(key: &[&'k str]) -> Vec<&'k str> {
    let mut columns: Vec<&str> = key.to_vec();
    columns.extend(STAMP.iter().filter(|c| !key.contains(c)));
    columns
}

type StampColumns = (Vec<i64>, Vec<i64>, Vec<bool>);

fn stamp_columns(batch: &RecordBatch) -> Result<StampColumns, MergeError> {
    let int64 = |name: &str| -> Result<Vec<i64>, MergeError> {
        let c = column(batch, name)?;
        let c =
            c.as_primitive_opt::<Int64Type>().ok_or_else(|| MergeError::Model(format!("`{name}` is not a LONG")))?;
        Ok((0..c.len()).map(|i| if c.is_null(i) { i64::MIN } else { c.value(i) }).collect())
    };
    let tombstone = column(batch, TOMBSTONE)?
        .as_boolean_opt()
        .ok_or_else(|| MergeError::Model(format!("`{TOMBSTONE}` is not a BOOLEAN")))?;
    let tombstone = (0..tombstone.len()).map(|i| tombstone.is_valid(i) && tombstone.value(i)).collect();
    Ok((int64(GENERATION)?, int64(VERSION)?, tombstone))
}

/// (generation, version, tombstone) of every row of `batch`, which needs only
/// the [`STAMP`] columns. Ordered as last-writer-wins orders them; rows whose
/// stamps are equal are told apart by their content.
pub fn stamps(batch: &RecordBatch) -> Result<Vec<(i64, i64, bool)>, MergeError> {
    let (g, v, t) = stamp_columns(batch)?;
    Ok((0..g.len()).map(|i| (g[i], v[i], t[i])).collect())
}

impl Versioned {
    /// `key`: the model's key columns. The version columns must be present.
    pub fn of(batch: &RecordBatch, key: &[&str]) -> Result<Versioned, MergeError> {
        let keys = encode_columns(batch, key)?;
        let schema = batch.schema();
        let content_columns: Vec<ArrayRef> = schema
            .fields()
            .iter()
            .zip(batch.columns())
            .filter(|(f, _)| !PIPELINE.contains(&f.name().as_str()))
            .map(|(_, c)| c.clone())
            .collect();
        let content = encode(content_columns)?;
        let (generation, version, tombstone) = stamp_columns(batch)?;
        Ok(Versioned { keys, content, generation, version, tombstone })
    }

    pub fn len(&self) -> usize {
        self.generation.len()
    }

    pub fn key(&self, i: usize) -> &[u8] {
        self.keys.row(i).data()
    }

    /// Row `i` as a last-writer-wins candidate (the content is the last tie-breaker).
    pub fn candidate(&self, i: usize) -> crate::lww::Candidate<'_> {
        crate::lww::Candidate {
            key: self.keys.row(i).data(),
            generation: self.generation[i],
            version: self.version[i],
            is_tombstone: self.tombstone[i],
            bytes: self.content.row(i).data(),
        }
    }

    /// (generation, version, tombstone) of row `i`: which version of its record it is.
    pub fn stamp(&self, i: usize) -> (i64, i64, bool) {
        (self.generation[i], self.version[i], self.tombstone[i])
    }
}
