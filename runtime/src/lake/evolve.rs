//! A table's schema across releases: the changes `manifold check` lets through
//! (expand-contract) reach existing tables without a rewrite.
//!
//! - a column the build adds (an optional field, EC023) is added to the
//!   table, nullable, after its existing columns (Delta `ADD COLUMNS`); rows
//!   written before read it as NULL;
//! - a column the build no longer has (a field removed after its deprecation)
//!   stays in the table, where it was: new rows hold NULL there;
//! - anything else — a type change, a new NOT NULL column, dropping a NOT NULL
//!   one — is refused with what it is, as the check would have refused it.
//!
//! Writes are put in the table's column order (by name) before they reach the
//! writer, so a batch built in the build's order lands in either case.

use std::sync::Arc;

use arrow_array::{RecordBatch, new_null_array};
use arrow_schema::SchemaRef;
use deltalake::kernel::{StructField, StructType};

/// What a table's rows are, which decides how its schema may evolve.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rows {
    /// Records as they arrived (a staging table): its schema follows the
    /// entity's fields, and a change `manifold check` forbids is refused.
    Source,
    /// Computed from a staging table (a model's table), which the merge step
    /// can compute again: a new NOT NULL column is added nullable — the rows
    /// written before read NULL there until they are computed again, which a
    /// changed model's table is (`merge::model_app_id`) — and what cannot
    /// evolve says to delete the table, which the next merge fills again.
    Computed,
}

/// The columns `want` adds to `table` (a table of `rows`), or why the table
/// cannot take `want`'s rows.
pub(super) fn added_columns(table: &StructType, want: &StructType, rows: Rows) -> Result<Vec<StructField>, String> {
    let rebuild = match rows {
        Rows::Source => "",
        Rows::Computed => {
            ". A model's table holds only what its SQL computes from the staging table: delete the table, and \
             the next merge fills it again"
        }
    };
    let mut added = Vec::new();
    for field in want.fields() {
        match table.field(field.name()) {
            Some(have) if have.data_type() == field.data_type() => {}
            Some(have) => {
                let change = match rows {
                    Rows::Source => "a type change is a new field (manifold check EC006)",
                    Rows::Computed => "a column's type cannot change in place",
                };
                return Err(format!(
                    "column `{}` is {} in the table and {} in this build: {change}{rebuild}",
                    field.name(),
                    have.data_type(),
                    field.data_type()
                ));
            }
            None if field.is_nullable() => added.push(field.clone()),
            None if rows == Rows::Computed => {
                added.push(StructField::new(field.name(), field.data_type().clone(), true));
            }
            None => {
                return Err(format!(
                    "column `{}` is new and NOT NULL: the rows already written have no value for it \
                     (add it optional first, manifold check EC011)",
                    field.name()
                ));
            }
        }
    }
    if let Some(kept) = table.fields().find(|f| want.field(f.name()).is_none() && !f.is_nullable()) {
        return Err(format!(
            "column `{}` is NOT NULL in the table and not in this build: new rows would have no value for \
             it{rebuild}",
            kept.name()
        ));
    }
    Ok(added)
}

/// `batch` as the table stores rows: its columns in `table`'s order, by name,
/// and NULL for a column the build no longer has. A column keeps its own field
/// (the writer checks types and nullability against the table, as for any batch).
pub(super) fn conform(batch: &RecordBatch, table: &SchemaRef) -> Result<RecordBatch, String> {
    let schema = batch.schema();
    if schema.fields().iter().map(|f| f.name()).eq(table.fields().iter().map(|f| f.name())) {
        return Ok(batch.clone());
    }
    if let Some(extra) = schema.fields().iter().find(|f| table.field_with_name(f.name()).is_err()) {
        return Err(format!("the rows have a column `{}` the table does not", extra.name()));
    }
    let mut fields = Vec::with_capacity(table.fields().len());
    let mut columns = Vec::with_capacity(table.fields().len());
    for field in table.fields() {
        match schema.index_of(field.name()) {
            Ok(i) => {
                fields.push(schema.fields()[i].clone());
                columns.push(batch.column(i).clone());
            }
            Err(_) if field.is_nullable() => {
                fields.push(field.clone());
                columns.push(new_null_array(field.data_type(), batch.num_rows()));
            }
            Err(_) => {
                return Err(format!("the rows have no column `{}`, which the table holds NOT NULL", field.name()));
            }
        }
    }
    let schema = arrow_schema::Schema::new_with_metadata(fields, schema.metadata().clone());
    RecordBatch::try_new(Arc::new(schema), columns).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Int64Array, StringArray};
    use arrow_schema::{DataType as ArrowType, Field, Schema};
    use deltalake::kernel::DataType;

    fn kernel(fields: &[(&str, DataType, bool)]) -> StructType {
        StructType::try_new(fields.iter().map(|(n, t, null)| StructField::new(*n, t.clone(), *null))).unwrap()
    }

    #[test]
    fn only_nullable_additions_and_removals_evolve_a_table() {
        let table = kernel(&[("id", DataType::STRING, false), ("old", DataType::LONG, true)]);
        let want = kernel(&[("id", DataType::STRING, false), ("new", DataType::STRING, true)]);
        let added = added_columns(&table, &want, Rows::Source).unwrap();
        assert_eq!(added.iter().map(|f| f.name().as_str()).collect::<Vec<_>>(), ["new"]);
        assert!(added_columns(&table, &table, Rows::Source).unwrap().is_empty());

        let retyped = kernel(&[("id", DataType::LONG, false)]);
        assert!(added_columns(&table, &retyped, Rows::Source).unwrap_err().contains("EC006"));
        let required = kernel(&[("id", DataType::STRING, false), ("new", DataType::STRING, false)]);
        assert!(added_columns(&table, &required, Rows::Source).unwrap_err().contains("EC011"));
        let without_id = kernel(&[("old", DataType::LONG, true)]);
        assert!(
            added_columns(&table, &without_id, Rows::Source).unwrap_err().contains("`id` is NOT NULL in the table")
        );
    }

    /// A model's table is computed again from its staging table: a new NOT
    /// NULL column is added nullable, and what cannot evolve says to delete
    /// the table.
    #[test]
    fn a_computed_table_takes_a_new_not_null_column_as_nullable() {
        let table = kernel(&[("id", DataType::STRING, false), ("old", DataType::LONG, true)]);
        let required = kernel(&[("id", DataType::STRING, false), ("new", DataType::STRING, false)]);
        let added = added_columns(&table, &required, Rows::Computed).unwrap();
        assert_eq!(added, [StructField::new("new", DataType::STRING, true)]);
        let retyped = kernel(&[("id", DataType::LONG, false)]);
        let err = added_columns(&table, &retyped, Rows::Computed).unwrap_err();
        assert!(err.contains("cannot change in place") && err.contains("delete the table"), "{err}");
        let without_id = kernel(&[("old", DataType::LONG, true)]);
        let err = added_columns(&table, &without_id, Rows::Computed).unwrap_err();
        assert!(err.contains("`id` is NOT NULL in the table") && err.contains("delete the table"), "{err}");
    }

    #[test]
    fn rows_are_put_in_the_tables_order_with_nulls_for_columns_the_build_dropped() {
        let table: SchemaRef = Arc::new(Schema::new(vec![
            Field::new("id", ArrowType::Utf8, false),
            Field::new("old", ArrowType::Int64, true),
            Field::new("new", ArrowType::Utf8, true),
        ]));
        let built = Arc::new(Schema::new(vec![
            Field::new("new", ArrowType::Utf8, true),
            Field::new("id", ArrowType::Utf8, false),
        ]));
        let batch = RecordBatch::try_new(
            built,
            vec![Arc::new(StringArray::from(vec![Some("n"), None])), Arc::new(StringArray::from(vec!["a", "b"]))],
        )
        .unwrap();
        let out = conform(&batch, &table).unwrap();
        assert_eq!(out.schema().fields(), table.fields());
        assert_eq!(out.column(0).as_ref(), &StringArray::from(vec!["a", "b"]) as &dyn arrow_array::Array);
        assert_eq!(out.column(1).null_count(), 2);
        assert_eq!(out.column(2).as_ref(), &StringArray::from(vec![Some("n"), None]) as &dyn arrow_array::Array);

        let only_old = Arc::new(Schema::new(vec![Field::new("old", ArrowType::Int64, true)]));
        let no_id = RecordBatch::try_new(only_old, vec![Arc::new(Int64Array::from(vec![1]))]).unwrap();
        assert!(conform(&no_id, &table).unwrap_err().contains("`id`"));
    }
}
