//! How a table's data files are encoded: Snappy pages, with two choices made
//! per column from what is known when the table's writer starts:
//! - a column whose first rows are mostly distinct (ids, ARIs, free text,
//!   timestamps, versions, amounts) is written without a dictionary. Parquet's
//!   default dictionary-encodes every column and falls back to plain only once
//!   the dictionary outgrows its page; a small file of distinct values never
//!   reaches that, so each value is hashed and interned for nothing. In step 1
//!   that interning was a third of the Parquet encoding time for text, and
//!   then, numbers being interned by their bytes, half of what was left.
//!   Low-cardinality columns (enum names, statuses, flags) keep their dictionary;
//! - lookup columns are laid out for lookups (see `lookup`);
//! - a table that keeps Delta statistics of some columns only
//!   (`delta.dataSkippingStatsColumns`, as the staging tables do) gets Parquet
//!   statistics of those only (and of its lookup columns, whose page index
//!   lookups prune by): the others would be computed — a comparison with the
//!   page's minimum and maximum per value — for no reader.
//!
//! The choice only changes the encoding, never the values: any reader decodes
//! both.

// The sample is hashed once per column and table writer, each micro-batch:
// with SipHash that was 5% of an update-heavy ingest (callgrind).
use foldhash::{HashSet, HashSetExt as _};

use arrow_array::cast::AsArray as _;
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use deltalake::parquet::basic::{Compression, Encoding};
use deltalake::parquet::file::properties::{EnabledStatistics, WriterProperties};
use deltalake::parquet::schema::types::ColumnPath;

use super::lookup::{PAGE_BYTES, TEXT_PAGE_BYTES};

/// Rows of the first batch a column's cardinality is judged on.
const SAMPLE_ROWS: usize = 1024;

/// Fewer sampled rows than this decide nothing: every column keeps its
/// dictionary (a tiny batch looks distinct whatever the column holds).
const MIN_SAMPLE_ROWS: usize = 256;

/// The Delta table property naming the columns a table keeps file
/// statistics of (all, up to `delta.dataSkippingNumIndexedCols`, without it).
pub const STATS_COLUMNS: &str = "delta.dataSkippingStatsColumns";

/// The columns `configuration` keeps statistics of, if it names them: paths
/// of field names (`a.b` is field `b` of struct `a`; backquotes dropped).
pub(super) fn statistics_columns(configuration: &std::collections::HashMap<String, String>) -> Option<Vec<ColumnPath>> {
    let names = configuration.get(STATS_COLUMNS)?;
    let path = |name: &str| ColumnPath::new(name.split('.').map(|part| part.trim().replace('`', "")).collect());
    Some(names.split(',').map(str::trim).filter(|n| !n.is_empty()).map(path).collect())
}

/// The properties of a table's files. `lookup`: the table's lookup columns;
/// `statistics`: the columns it keeps statistics of, if not all
/// ([`statistics_columns`]); `first`: the first batch its writer receives.
pub(super) fn writer_properties(
    lookup: &[&str],
    statistics: Option<&[ColumnPath]>,
    first: &RecordBatch,
) -> WriterProperties {
    let mut builder = WriterProperties::builder()
        .set_created_by(format!("manifold-runtime {} (delta-rs)", env!("CARGO_PKG_VERSION")))
        .set_compression(Compression::SNAPPY)
        .set_column_index_truncate_length(Some(256));
    if let Some(columns) = statistics {
        builder = builder.set_statistics_enabled(EnabledStatistics::None);
        for column in columns {
            builder = builder.set_column_statistics_enabled(column.clone(), EnabledStatistics::Page);
        }
    }
    for name in mostly_distinct(first) {
        builder = builder.set_column_dictionary_enabled(ColumnPath::from(name), false);
    }
    for column in lookup {
        let path = ColumnPath::from(*column);
        // Lookups prune pages by the page index, whatever the table's statistics.
        builder = builder.set_column_statistics_enabled(path.clone(), EnabledStatistics::Page);
        builder = builder.set_column_dictionary_enabled(path.clone(), false);
        builder = if is_text(first, column) {
            builder
                .set_column_encoding(path.clone(), Encoding::DELTA_BYTE_ARRAY)
                .set_column_compression(path.clone(), Compression::UNCOMPRESSED)
                .set_column_data_page_size_limit(path, TEXT_PAGE_BYTES)
        } else {
            builder.set_column_data_page_size_limit(path, PAGE_BYTES)
        };
    }
    builder.build()
}

fn is_text(batch: &RecordBatch, column: &str) -> bool {
    batch
        .schema()
        .field_with_name(column)
        .is_ok_and(|f| matches!(f.data_type(), DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View))
}

/// The top-level text and fixed-width columns of `batch` whose sampled values
/// are more than half distinct.
fn mostly_distinct(batch: &RecordBatch) -> Vec<String> {
    let rows = batch.num_rows().min(SAMPLE_ROWS);
    if rows < MIN_SAMPLE_ROWS {
        return Vec::new();
    }
    let schema = batch.schema();
    let mut out = Vec::new();
    for (field, column) in schema.fields().iter().zip(batch.columns()) {
        let distinct = match field.data_type() {
            DataType::Utf8 => distinct_of(column.as_string::<i32>().iter().take(rows)),
            DataType::LargeUtf8 => distinct_of(column.as_string::<i64>().iter().take(rows)),
            DataType::Utf8View => distinct_of(column.as_string_view().iter().take(rows)),
            // Numbers, dates and timestamps: compared by their bytes, as the
            // dictionary encoder compares them.
            t if t.is_primitive() => {
                let width = t.primitive_width().expect("a primitive type has a width");
                let data = column.to_data();
                let values = &data.buffers()[0].as_slice()[data.offset() * width..];
                let present = (0..rows).filter(|&i| column.is_valid(i));
                let mut seen = HashSet::with_capacity(rows);
                seen.extend(present.map(|i| &values[i * width..(i + 1) * width]));
                seen.len()
            }
            _ => continue,
        };
        let present = rows - column.slice(0, rows).null_count();
        if present > 0 && distinct * 2 > present {
            out.push(field.name().clone());
        }
    }
    out
}

fn distinct_of<'a>(values: impl Iterator<Item = Option<&'a str>>) -> usize {
    let mut seen = HashSet::with_capacity(SAMPLE_ROWS);
    seen.extend(values.flatten());
    seen.len()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Int32Array, Int64Array, RecordBatch, StringArray};
    use deltalake::parquet::basic::{Compression, Encoding};
    use deltalake::parquet::schema::types::ColumnPath;

    use super::writer_properties;

    fn batch(rows: usize) -> RecordBatch {
        let ids: StringArray = (0..rows).map(|i| Some(format!("ari:cloud:jira:site:issue/{i}"))).collect();
        let status: StringArray = (0..rows).map(|i| Some(["OPEN", "DONE", "IN_PROGRESS"][i % 3])).collect();
        // Mostly null: judged on the values present, which are distinct.
        let notes: StringArray = (0..rows).map(|i| (i % 10 == 0).then(|| format!("note {i}"))).collect();
        let amount = Int64Array::from_iter_values(0..rows as i64);
        let priority = Int64Array::from_iter_values((0..rows as i64).map(|i| i % 5));
        // Distinct where present: a slice of a longer array that starts with zeros.
        let rows32 = rows as i32;
        let at: Int32Array = (0..2 * rows32).map(|i| (i % 3 != 0).then_some(if i < rows32 { 0 } else { i })).collect();
        let at = at.slice(rows, rows);
        let columns: Vec<(&str, ArrayRef)> = vec![
            ("id", Arc::new(ids)),
            ("status", Arc::new(status)),
            ("notes", Arc::new(notes)),
            ("amount", Arc::new(amount)),
            ("priority", Arc::new(priority)),
            ("at", Arc::new(at)),
        ];
        RecordBatch::try_from_iter(columns).unwrap()
    }

    fn dictionary(props: &deltalake::parquet::file::properties::WriterProperties, column: &str) -> bool {
        props.dictionary_enabled(&ColumnPath::from(column))
    }

    #[test]
    fn distinct_columns_are_written_without_a_dictionary_and_repeated_ones_with_one() {
        let props = writer_properties(&[], None, &batch(2_000));
        assert!(!dictionary(&props, "id"));
        assert!(!dictionary(&props, "notes"));
        assert!(dictionary(&props, "status"));
        assert!(!dictionary(&props, "amount"));
        assert!(!dictionary(&props, "at"));
        assert!(dictionary(&props, "priority"));
    }

    #[test]
    fn a_small_first_batch_decides_nothing() {
        let props = writer_properties(&[], None, &batch(100));
        assert!(dictionary(&props, "id"));
        assert!(dictionary(&props, "status"));
    }

    #[test]
    fn a_table_keeping_statistics_of_some_columns_gets_parquet_statistics_of_those_only() {
        use deltalake::parquet::file::properties::EnabledStatistics;
        let configuration =
            [(super::STATS_COLUMNS.to_string(), "id, `amount`,author.name".to_string())].into_iter().collect();
        let columns = super::statistics_columns(&configuration).unwrap();
        assert_eq!(
            columns,
            [ColumnPath::from("id"), ColumnPath::from("amount"), ColumnPath::new(vec!["author".into(), "name".into()])]
        );
        let props = writer_properties(&[], Some(&columns), &batch(100));
        for kept in ["id", "amount"] {
            assert_eq!(props.statistics_enabled(&ColumnPath::from(kept)), EnabledStatistics::Page, "{kept}");
        }
        for dropped in ["status", "notes", "priority"] {
            assert_eq!(props.statistics_enabled(&ColumnPath::from(dropped)), EnabledStatistics::None, "{dropped}");
        }
        // A lookup column keeps its page statistics (the page index) anyway.
        let props = writer_properties(&["status"], Some(&columns), &batch(100));
        assert_eq!(props.statistics_enabled(&ColumnPath::from("status")), EnabledStatistics::Page);
        assert_eq!(props.statistics_enabled(&ColumnPath::from("notes")), EnabledStatistics::None);
        // Without the property, every column keeps Parquet's default.
        assert!(super::statistics_columns(&Default::default()).is_none());
        let props = writer_properties(&[], None, &batch(100));
        assert_eq!(props.statistics_enabled(&ColumnPath::from("status")), EnabledStatistics::Page);
    }

    #[test]
    fn lookup_columns_are_laid_out_for_lookups_whatever_the_sample() {
        let props = writer_properties(&["status", "amount"], None, &batch(100));
        let (status, amount) = (ColumnPath::from("status"), ColumnPath::from("amount"));
        assert!(!dictionary(&props, "status"));
        assert!(!dictionary(&props, "amount"));
        // Text: prefix-compressed, in pages of their own size, not compressed again.
        assert_eq!(props.encoding(&status), Some(Encoding::DELTA_BYTE_ARRAY));
        assert_eq!(props.compression(&status), Compression::UNCOMPRESSED);
        assert_eq!(props.column_data_page_size_limit(&status), super::TEXT_PAGE_BYTES);
        // Anything else: PLAIN (the writer's default), small Snappy pages.
        assert_eq!(props.encoding(&amount), None);
        assert_eq!(props.compression(&amount), Compression::SNAPPY);
        assert_eq!(props.column_data_page_size_limit(&amount), super::PAGE_BYTES);
    }
}
