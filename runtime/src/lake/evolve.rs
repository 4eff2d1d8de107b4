//! A table's schema across releases: the changes `manifold check` lets through
//! (expand-contract) reach existing tables without a rewrite.
//!
//! - a column the build adds (an optional field, EC023) is added to the
//!   table, nullable, after its existing columns (Delta `ADD COLUMNS`); rows
//!   written before read it as NULL;
//! - a column the build no longer has (a field removed after its deprecation)
//!   stays in the table, where it was: new rows hold NULL there;
//! - the same inside a struct an array column holds (an array field of
//!   structs): the table's struct keeps its children in its order, gains the
//!   nullable ones the build adds (after them), and keeps those it dropped;
//!   children the build declares in another order are matched by name. The
//!   files written before read NULL for a child they lack;
//! - anything else — a type change, a new NOT NULL column, dropping a NOT NULL
//!   one — is refused with what it is, as the check would have refused it.
//!
//! Writes are put in the table's column order (by name), and their structs in
//! the table's struct shape, before they reach the writer, so a batch built
//! in the build's order lands in either case; reads put a file's columns in
//! the table's shape the same way.

use std::sync::Arc;

use arrow_array::cast::AsArray as _;
use arrow_array::{Array, ArrayRef, ListArray, RecordBatch, StructArray, new_null_array};
use arrow_schema::{DataType as ArrowType, SchemaRef};
use deltalake::kernel::{DataType, StructField, StructType};

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
            // Another shape of the same structs: the table grows the children
            // the build adds (delta-rs's ADD COLUMNS merges a column given
            // again by name, child by child), or keeps its shape.
            Some(have) if let Some(widens) = nested_fit(have.data_type(), field.data_type()) => {
                if widens {
                    added.push(field.clone());
                }
            }
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

/// Whether the build's column type `want` fits the table's `have` up to the
/// children of structs (inside arrays, at any depth): `Some(widens)` when
/// every child the two share fits the same way, the build's new children and
/// the table's dropped ones are nullable — `widens` if the build adds some —;
/// `None` for any other difference (a type change).
fn nested_fit(have: &DataType, want: &DataType) -> Option<bool> {
    match (have, want) {
        (a, b) if a == b => Some(false),
        (DataType::Array(a), DataType::Array(b)) if a.contains_null() || !b.contains_null() => {
            nested_fit(a.element_type(), b.element_type())
        }
        (DataType::Struct(a), DataType::Struct(b)) => {
            let mut widens = false;
            for child in b.fields() {
                match a.field(child.name()) {
                    Some(kept) if kept.is_nullable() || !child.is_nullable() => {
                        widens |= nested_fit(kept.data_type(), child.data_type())?;
                    }
                    None if child.is_nullable() => widens = true,
                    _ => return None,
                }
            }
            let dropped_required = a.fields().any(|kept| b.field(kept.name()).is_none() && !kept.is_nullable());
            (!dropped_required).then_some(widens)
        }
        _ => None,
    }
}

/// `array` in the shape of `to`: struct children matched by name and put in
/// `to`'s order, NULL for a nullable child `array` lacks, inside lists at any
/// depth. Other differences are cast when `cast_leaves` (reading a file, whose
/// Parquet types may differ from the table's Arrow types), and an error naming
/// both types otherwise (writing: a type the table does not have).
pub(super) fn adapt(array: &ArrayRef, to: &ArrowType, cast_leaves: bool) -> Result<ArrayRef, String> {
    match (array.data_type(), to) {
        (from, to) if from == to => Ok(array.clone()),
        (ArrowType::Struct(_), ArrowType::Struct(children)) => {
            let structs = array.as_struct();
            let mut columns = Vec::with_capacity(children.len());
            for child in children {
                match structs.column_by_name(child.name()) {
                    Some(column) => columns.push(adapt(column, child.data_type(), cast_leaves)?),
                    None if child.is_nullable() => columns.push(new_null_array(child.data_type(), array.len())),
                    None => {
                        return Err(format!(
                            "the rows' structs lack `{}`, which the table holds NOT NULL",
                            child.name()
                        ));
                    }
                }
            }
            let nulls = structs.nulls().cloned();
            Ok(Arc::new(StructArray::try_new(children.clone(), columns, nulls).map_err(|e| e.to_string())?))
        }
        (ArrowType::List(_), ArrowType::List(item)) => {
            let lists = array.as_list::<i32>();
            let values = adapt(lists.values(), item.data_type(), cast_leaves)?;
            let (offsets, nulls) = (lists.offsets().clone(), lists.nulls().cloned());
            Ok(Arc::new(ListArray::try_new(item.clone(), offsets, values, nulls).map_err(|e| e.to_string())?))
        }
        (from, to) if cast_leaves => {
            deltalake::arrow::compute::cast(array, to).map_err(|e| format!("{from} cannot be read as {to}: {e}"))
        }
        (from, to) => Err(format!("the rows hold {from} where the table holds {to}")),
    }
}

/// `batch` as the table stores rows: its columns in `table`'s order, by name,
/// NULL for a column the build no longer has, and structs in the table's
/// shape (see [`adapt`]). A column keeps its own field's name, nullability
/// and metadata (the writer checks them against the table, as for any batch).
pub(super) fn conform(batch: &RecordBatch, table: &SchemaRef) -> Result<RecordBatch, String> {
    let schema = batch.schema();
    let same_types = || schema.fields().iter().zip(table.fields()).all(|(a, b)| a.data_type() == b.data_type());
    if schema.fields().iter().map(|f| f.name()).eq(table.fields().iter().map(|f| f.name())) && same_types() {
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
                let own = &schema.fields()[i];
                let column = adapt(batch.column(i), field.data_type(), false)
                    .map_err(|e| format!("column `{}`: {e}", field.name()))?;
                fields.push(Arc::new(own.as_ref().clone().with_data_type(field.data_type().clone())));
                columns.push(column);
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
