//! Reading a table back without a query engine: every active data file through
//! the table's object store, decoded with the parquet crate, with the partition
//! columns (which Delta keeps in the log, not in the files) re-attached.
//!
//! Used by `tables`, by tests and by the merge step; tables with deletion
//! vectors are refused rather than read wrongly.

use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, StringArray};
use deltalake::arrow::compute::cast;
use deltalake::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use futures::TryStreamExt as _;
use object_store::ObjectStoreExt as _;

use super::{Result, Table, arrow_schema_of, delta_error, table_error};

pub(super) async fn scan(table: &Table) -> Result<Vec<RecordBatch>> {
    let schema = arrow_schema_of(table)?;
    let files: Vec<_> =
        table.inner.get_active_add_actions_by_partitions(&[]).try_collect().await.map_err(|e| delta_error(table, e))?;
    let store = table.inner.object_store();
    let mut out = Vec::new();
    for f in files {
        if f.deletion_vector_descriptor().is_some() {
            return Err(table_error(
                table,
                format!("`{}` has a deletion vector; reading those is not supported", f.path()),
            ));
        }
        let bytes = store
            .get(&f.object_store_path())
            .await
            .map_err(|e| delta_error(table, e.into()))?
            .bytes()
            .await
            .map_err(|e| delta_error(table, e.into()))?;
        let partitions = f.partition_values_map();
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
            .and_then(|b| b.build())
            .map_err(|e| table_error(table, format!("`{}`: {e}", f.path())))?;
        for batch in reader {
            let batch = batch.map_err(|e| table_error(table, format!("`{}`: {e}", f.path())))?;
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
    }
    Ok(out)
}
