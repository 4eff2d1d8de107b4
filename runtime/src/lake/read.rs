//! Reading a table back without a query engine: data files through the table's
//! object store, decoded with the parquet crate, with the partition columns
//! (which Delta keeps in the log, not in the files) re-attached.
//!
//! - `scan`: every active file (for `tables`, tests);
//! - `files` + `read_file`: the active files with their partition values and
//!   statistics, and one file's rows (the merge step picks the files it needs);
//! - `changes`: the rows that commits after a version added (the merge step
//!   reads new staging rows this way: the cost follows the new commits, not
//!   the table).
//!
//! Tables with deletion vectors are refused rather than read wrongly.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, StringArray};
use arrow_schema::SchemaRef;
use deltalake::arrow::compute::cast;
use deltalake::kernel::{Action, Remove};
use deltalake::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use futures::TryStreamExt as _;
use object_store::ObjectStoreExt as _;
use object_store::path::Path;

use super::{Result, Table, arrow_schema_of, delta_error, table_error};

/// An active data file of a table.
#[derive(Clone, Debug)]
pub struct DataFile {
    /// The path relative to the table root, decoded.
    pub path: String,
    pub partition_values: HashMap<String, Option<String>>,
    pub num_records: Option<u64>,
    /// Per column, the minimum and maximum in the file (from the log's statistics;
    /// absent when the writer did not record them).
    pub min_values: serde_json::Map<String, serde_json::Value>,
    pub max_values: serde_json::Map<String, serde_json::Value>,
    /// The action that removes this file (for a commit that replaces it).
    pub remove: Remove,
}

pub(super) async fn files(table: &Table) -> Result<Vec<DataFile>> {
    let views: Vec<_> =
        table.inner.get_active_add_actions_by_partitions(&[]).try_collect().await.map_err(|e| delta_error(table, e))?;
    let mut out = Vec::with_capacity(views.len());
    for f in views {
        if f.deletion_vector_descriptor().is_some() {
            return Err(table_error(
                table,
                format!("`{}` has a deletion vector; those are not supported yet", f.path()),
            ));
        }
        let stats: serde_json::Value = f.stats().and_then(|s| serde_json::from_str(&s).ok()).unwrap_or_default();
        let object = |k: &str| stats.get(k).and_then(|v| v.as_object()).cloned().unwrap_or_default();
        out.push(DataFile {
            path: f.path().into_owned(),
            partition_values: f.partition_values_map(),
            num_records: f.num_records().map(|n| n as u64),
            min_values: object("minValues"),
            max_values: object("maxValues"),
            remove: f.remove_action(true),
        });
    }
    Ok(out)
}

pub(super) async fn scan(table: &Table) -> Result<Vec<RecordBatch>> {
    let schema = arrow_schema_of(table)?;
    let mut out = Vec::new();
    for f in files(table).await? {
        out.extend(read_file(table, &schema, &f.path, &f.partition_values).await?);
    }
    Ok(out)
}

/// The rows of one data file, with the table's full schema.
pub(super) async fn read_file(
    table: &Table,
    schema: &SchemaRef,
    path: &str,
    partitions: &HashMap<String, Option<String>>,
) -> Result<Vec<RecordBatch>> {
    let location = Path::parse(path).unwrap_or_else(|_| Path::from(path));
    let store = table.inner.object_store();
    let bytes = store
        .get(&location)
        .await
        .map_err(|e| delta_error(table, e.into()))?
        .bytes()
        .await
        .map_err(|e| delta_error(table, e.into()))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
        .and_then(|b| b.build())
        .map_err(|e| table_error(table, format!("`{path}`: {e}")))?;
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| table_error(table, format!("`{path}`: {e}")))?;
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
        for field in schema.fields() {
            let column = match batch.column_by_name(field.name()) {
                Some(c) if c.data_type() == field.data_type() => c.clone(),
                Some(c) => cast(c, field.data_type()).map_err(|e| table_error(table, e.to_string()))?,
                None => {
                    // A partition column: one value for the whole file.
                    let value = partitions.get(field.name()).cloned().flatten();
                    let strings: ArrayRef = Arc::new(StringArray::from(vec![value; batch.num_rows()]));
                    cast(&strings, field.data_type()).map_err(|e| table_error(table, e.to_string()))?
                }
            };
            columns.push(column);
        }
        out.push(RecordBatch::try_new(schema.clone(), columns).map_err(|e| table_error(table, e.to_string()))?);
    }
    Ok(out)
}

/// The rows added by the commits `after + 1 ..= upto` (data changes only: a
/// compaction's re-adds are not new rows).
pub(super) async fn changes(table: &Table, after: i64, upto: i64) -> Result<Vec<RecordBatch>> {
    let schema = arrow_schema_of(table)?;
    let log = table.inner.log_store();
    let mut out = Vec::new();
    let first = (after + 1).max(0);
    if upto < first {
        return Ok(Vec::new());
    }
    for version in first as u64..=upto as u64 {
        let bytes = log.read_commit_entry(version).await.map_err(|e| delta_error(table, e))?.ok_or_else(|| {
            table_error(
                table,
                format!("commit {version} is no longer in the log (log retention removed it); the merge step cannot catch up from there"),
            )
        })?;
        let actions = deltalake::logstore::get_actions(version, &bytes).map_err(|e| delta_error(table, e))?;
        for action in actions {
            if let Action::Add(add) = action {
                if !add.data_change {
                    continue;
                }
                if add.deletion_vector.is_some() {
                    return Err(table_error(table, format!("`{}` has a deletion vector", add.path)));
                }
                let path = percent_encoding::percent_decode_str(&add.path).decode_utf8_lossy().into_owned();
                out.extend(read_file(table, &schema, &path, &add.partition_values).await?);
            }
        }
    }
    Ok(out)
}
