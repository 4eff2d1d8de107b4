//! Finding rows by key without decoding every key of a file.
//!
//! A merge must find where the stored rows of a batch's keys are. The log's
//! statistics (min/max of the key per file) prune whole files, but keys spread
//! over a table touch nearly every file, so reading whole key columns makes a
//! merge's cost follow the table. Parquet's page index narrows it to pages:
//! per page, the key's min/max and the page's first row. A table whose
//! configuration names its lookup columns ([`LOOKUP_COLUMNS`]) has them written
//! for that:
//! - in small pages ([`TEXT_PAGE_BYTES`] of prefix-compressed text: a few
//!   hundred ARIs; [`PAGE_BYTES`] otherwise) so a page spans a narrow key
//!   range when rows are written sorted by key (the merge writers and
//!   `optimize` sort them);
//! - without dictionary encoding: a dictionary page is read whole whatever
//!   rows are selected, and unique keys gain nothing from one;
//! - with page bounds long enough to tell keys with long common prefixes apart.
//!
//! A reader given a [`Lookup`] then decodes only the pages whose bounds may
//! hold one of the keys. Pruning is only ever conservative: a file written
//! otherwise (no page index, unsorted rows, another writer) is read whole.

use std::cmp::Ordering;
use std::ops::Range;

use arrow_array::cast::AsArray as _;
use arrow_array::types::{Int32Type, Int64Type};
use arrow_array::{Array, ArrayRef, StringArray};
use deltalake::parquet::file::metadata::ParquetMetaData;
use deltalake::parquet::file::page_index::column_index::ColumnIndexMetaData;

use super::DataFile;

/// The table property naming the lookup columns (comma-separated).
pub const LOOKUP_COLUMNS: &str = "manifold.lookupColumns";

/// The page size of a lookup column: small enough that a batch's keys select
/// few pages of a large file, large enough that page headers stay noise.
/// (The writer cuts text columns at this size; fixed-width ones at the first
/// write batch, 1,024 values, that reaches it.)
pub const PAGE_BYTES: usize = 4096;

/// The page size of a text lookup column, prefix-compressed (DELTA_BYTE_ARRAY,
/// see `prefixed`): sorted ARIs cost 2–4 bytes each, so a page holds 150–300
/// of them. Walking a page costs a few nanoseconds a value; a smaller page
/// costs its page index entry (two whole keys) in every lookup of the file.
pub const TEXT_PAGE_BYTES: usize = 512;

/// The lookup columns a table's configuration names.
pub(super) fn columns_of(configuration: &std::collections::HashMap<String, String>) -> Vec<&str> {
    configuration
        .get(LOOKUP_COLUMNS)
        .map(|v| v.split(',').map(str::trim).filter(|c| !c.is_empty()).collect())
        .unwrap_or_default()
}

/// The sorted, distinct values of a key column that a lookup asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum KeyValues {
    Strings(Vec<String>),
    Integers(Vec<i64>),
}

impl KeyValues {
    /// The non-null values of `array` at `rows`; `None` for a type whose
    /// statistics this module does not compare.
    pub fn of(array: &ArrayRef, rows: &[usize]) -> Option<KeyValues> {
        let valid = |i: &&usize| array.is_valid(**i);
        let mut out = if let Some(s) = array.as_string_opt::<i32>() {
            KeyValues::Strings(rows.iter().filter(valid).map(|&i| s.value(i).to_string()).collect())
        } else if let Some(n) = array.as_primitive_opt::<Int64Type>() {
            KeyValues::Integers(rows.iter().filter(valid).map(|&i| n.value(i)).collect())
        } else if let Some(n) = array.as_primitive_opt::<Int32Type>() {
            KeyValues::Integers(rows.iter().filter(valid).map(|&i| i64::from(n.value(i))).collect())
        } else {
            return None;
        };
        match &mut out {
            KeyValues::Strings(v) => {
                v.sort_unstable();
                v.dedup();
            }
            KeyValues::Integers(v) => {
                v.sort_unstable();
                v.dedup();
            }
        }
        Some(out)
    }

    /// How many values there are.
    pub fn len(&self) -> usize {
        match self {
            KeyValues::Strings(v) => v.len(),
            KeyValues::Integers(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// For each of `rows` of `array`, where its value is among these (text)
    /// values, if it is; `None` for integer values or a non-text array. Rows
    /// in ascending order of value cost a comparison or two each (see
    /// `Cursor`), any other order a binary search each.
    pub fn places(&self, array: &ArrayRef, rows: &[usize]) -> Option<Vec<Option<usize>>> {
        let (KeyValues::Strings(keys), Some(text)) = (self, array.as_string_opt::<i32>()) else { return None };
        let mut cursor = Cursor::default();
        Some(
            rows.iter()
                .map(|&i| text.is_valid(i).then(|| cursor.matching(keys, text.value(i).as_bytes())).flatten())
                .collect(),
        )
    }

    /// The rows of `values` that hold one of these (text) values; `None` for
    /// integer values. Rows written sorted by key (the merge writers and
    /// `optimize` sort them) are matched in one forward walk over both sorted
    /// lists — a comparison or two per row, where hashing every row cost more
    /// than decoding it; a row smaller than the keys already passed restarts
    /// the walk with a binary search, so any order gives the same rows.
    pub fn rows_holding(&self, values: &StringArray) -> Option<Vec<usize>> {
        let KeyValues::Strings(keys) = self else { return None };
        let mut cursor = Cursor::default();
        let mut out = Vec::new();
        for i in 0..values.len() {
            if values.is_valid(i) {
                let v = values.value(i).as_bytes();
                if cursor.matching(keys, v).is_some() {
                    out.push(i);
                }
            }
        }
        Some(out)
    }

    /// Whether a value lies in `lo..=hi` (byte order, as Parquet orders text).
    fn any_text_within(&self, lo: &[u8], hi: &[u8]) -> bool {
        self.any_text_within_from(&mut Cursor::default(), lo, hi)
    }

    /// [`Self::any_text_within`] for ranges that mostly come in ascending
    /// order (the pages of a file sorted by key): `cursor` carries the
    /// position from one range to the next.
    fn any_text_within_from(&self, cursor: &mut Cursor, lo: &[u8], hi: &[u8]) -> bool {
        let KeyValues::Strings(v) = self else { return true };
        cursor.seek(v, lo).is_some_and(|k| k <= hi)
    }

    fn any_integer_within(&self, lo: i64, hi: i64) -> bool {
        let KeyValues::Integers(v) = self else { return true };
        let at = v.partition_point(|k| *k < lo);
        v.get(at).is_some_and(|k| *k <= hi)
    }
}

/// A position in sorted, distinct text keys for probes that mostly ascend
/// (rows or pages of a file sorted by key): an ascending probe gallops
/// forward from the last position — a comparison or two when it moved by
/// a key or none — and a smaller one binary-searches from the start, so any
/// order of probes costs at most a binary search each.
#[derive(Default)]
pub(super) struct Cursor {
    /// Every key before it is smaller than the last probe.
    at: usize,
}

impl Cursor {
    /// The first of `keys` not below `v`.
    fn seek<'k>(&mut self, keys: &'k [String], v: &[u8]) -> Option<&'k [u8]> {
        self.seek_to(keys, v);
        keys.get(self.at).map(String::as_bytes)
    }

    /// Where the first key not below the last probe is in `keys` (their
    /// length if none is).
    pub(super) fn at(&self) -> usize {
        self.at
    }

    /// Where in `keys` the key equal to `v` is, if there is one.
    pub(super) fn matching(&mut self, keys: &[String], v: &[u8]) -> Option<usize> {
        let known = self.seek_to(keys, v);
        let key = keys.get(self.at)?;
        let order = known.unwrap_or_else(|| key.as_bytes().cmp(v));
        (order == Ordering::Equal).then_some(self.at)
    }

    /// Moves to the first of `keys` not below `v`; returns how that key
    /// compares with `v` when the move compared them already. An ascending
    /// probe that stays at the same key — most rows of a file, when the keys
    /// are few — costs one comparison besides the check that it ascends.
    fn seek_to(&mut self, keys: &[String], v: &[u8]) -> Option<Ordering> {
        let below = |k: &String| k.as_bytes() < v;
        if self.at > 0 && !below(&keys[self.at - 1]) {
            self.at = keys.partition_point(below);
            return None;
        }
        // Every key before `lo` is below `v`; gallop until a key is not.
        let (mut lo, mut step) = (self.at, 1);
        let (hi, order) = loop {
            let probe = lo + step - 1;
            let Some(key) = keys.get(probe) else { break (keys.len(), None) };
            match key.as_bytes().cmp(v) {
                Ordering::Less => {
                    lo = probe + 1;
                    step *= 2;
                }
                order => break (probe, Some(order)),
            }
        };
        self.at = lo + keys[lo..hi].partition_point(below);
        order.filter(|_| self.at == hi)
    }
}

/// The leaf column of a file's schema that is the top-level column `name`.
pub(super) fn leaf_named(metadata: &ParquetMetaData, name: &str) -> Option<usize> {
    metadata.file_metadata().schema_descr().columns().iter().position(|c| c.path().parts() == [name])
}

/// Which rows of a table a reader needs: those whose `column` holds one of `values`.
#[derive(Clone, Debug)]
pub struct Lookup {
    pub column: String,
    pub values: KeyValues,
    /// Rows to find without reading them whole, if any (see [`Below`]).
    pub below: Option<Below>,
}

/// The rows of a lookup that need only be found, not read: those whose pair
/// of `order` columns (compared as a pair) is provably below the bound held
/// for their key, by the maxima the page index gives for the pages holding
/// them. Their `unread` columns are not read (a reader that cannot prove it
/// reads them).
///
/// A merge holds its batch's (generation, version) per key: a stored row
/// below it is replaced whatever its version is, so the pages of the stamp
/// columns are read only where they may hold a row as new as the batch's —
/// when versions grow with time, almost nowhere.
#[derive(Clone, Debug, PartialEq)]
pub struct Below {
    pub order: [String; 2],
    /// Per value of the lookup, in the order of [`Lookup::values`].
    pub bounds: Vec<(i64, i64)>,
    /// The columns a row proven below is not read for.
    pub unread: Vec<String>,
}

impl Below {
    /// Whether every row of pages whose `order` maxima are `max` is below `bound`.
    pub(super) fn proves(bound: (i64, i64), max: (i64, i64)) -> bool {
        // Each row's pair is at most (max.0, max.1) column-wise, so it is
        // below the bound if the bound's first exceeds max.0, or equals it
        // and the bound's second exceeds max.1.
        bound.0 > max.0 || (bound.0 == max.0 && bound.1 > max.1)
    }
}

impl Lookup {
    /// Whether `file` may hold one of the values, by the log's statistics
    /// (a file without them may).
    pub fn may_hold(&self, file: &DataFile) -> bool {
        use serde_json::Value;
        match (&self.values, file.min_values.get(&self.column), file.max_values.get(&self.column)) {
            (KeyValues::Strings(_), Some(Value::String(lo)), Some(Value::String(hi))) => {
                self.values.any_text_within(lo.as_bytes(), hi.as_bytes())
            }
            (KeyValues::Integers(_), Some(lo), Some(hi)) => match (lo.as_i64(), hi.as_i64()) {
                (Some(lo), Some(hi)) => self.values.any_integer_within(lo, hi),
                _ => true,
            },
            _ => true,
        }
    }

    /// The row ranges of a file (ascending, disjoint) whose pages may hold one
    /// of the values, by the page index; `None` when the file has none for the
    /// column (then every row may).
    pub(super) fn rows(&self, metadata: &ParquetMetaData) -> Option<Vec<Range<usize>>> {
        let leaf = leaf_named(metadata, &self.column)?;
        let (indexes, offsets) = (metadata.column_index()?, metadata.offset_index()?);
        let mut out: Vec<Range<usize>> = Vec::new();
        let mut push = |r: Range<usize>| match out.last_mut() {
            Some(last) if last.end == r.start => last.end = r.end,
            _ if r.is_empty() => {}
            _ => out.push(r),
        };
        let mut base = 0usize;
        let mut cursor = Cursor::default();
        for (g, group) in metadata.row_groups().iter().enumerate() {
            let rows = usize::try_from(group.num_rows()).ok()?;
            let (index, pages) = (indexes.get(g)?.get(leaf)?, offsets.get(g)?.get(leaf)?.page_locations());
            let starts: Vec<usize> = pages.iter().map(|p| p.first_row_index as usize).collect();
            for (p, &start) in starts.iter().enumerate() {
                let end = starts.get(p + 1).copied().unwrap_or(rows);
                if self.page_may_hold(index, p, &mut cursor) {
                    push(base + start..base + end);
                }
            }
            base += rows;
        }
        Some(out)
    }

    pub(super) fn page_may_hold(&self, index: &ColumnIndexMetaData, page: usize, cursor: &mut Cursor) -> bool {
        // No column index for the column (a writer without page statistics),
        // or fewer entries than pages: nothing to prune by.
        if matches!(index, ColumnIndexMetaData::NONE) || page as u64 >= index.num_pages() {
            return true;
        }
        if index.is_null_page(page) {
            return false;
        }
        match index {
            ColumnIndexMetaData::BYTE_ARRAY(i) => match (i.min_value(page), i.max_value(page)) {
                (Some(lo), Some(hi)) => self.values.any_text_within_from(cursor, lo, hi),
                _ => true,
            },
            ColumnIndexMetaData::INT64(i) => match (i.min_value(page), i.max_value(page)) {
                (Some(lo), Some(hi)) => self.values.any_integer_within(*lo, *hi),
                _ => true,
            },
            ColumnIndexMetaData::INT32(i) => match (i.min_value(page), i.max_value(page)) {
                (Some(lo), Some(hi)) => self.values.any_integer_within(i64::from(*lo), i64::from(*hi)),
                _ => true,
            },
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, RecordBatch, StringArray};
    use arrow_schema::{DataType, Field, Schema};
    use deltalake::parquet::arrow::ArrowWriter;
    use deltalake::parquet::arrow::arrow_reader::{ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
    use deltalake::parquet::file::metadata::PageIndexPolicy;
    use deltalake::parquet::file::properties::{EnabledStatistics, WriterProperties};
    use deltalake::parquet::schema::types::ColumnPath;

    use super::{KeyValues, Lookup};

    #[test]
    fn rows_holding_a_key_are_found_in_any_row_order() {
        let keys = KeyValues::Strings(["b", "d", "f"].map(String::from).to_vec());
        let rows = |values: &[Option<&str>]| keys.rows_holding(&StringArray::from(values.to_vec())).unwrap();
        // Sorted, with repeats, nulls, and values before, between and after the keys.
        let sorted = [Some("a"), Some("b"), Some("b"), None, Some("c"), Some("d"), Some("e"), Some("f"), Some("g")];
        assert_eq!(rows(&sorted), vec![1, 2, 5, 7]);
        // Unsorted: a row smaller than the keys already passed is still found.
        let unsorted = [Some("f"), Some("b"), Some("g"), Some("d"), Some("a"), Some("f"), Some("b")];
        assert_eq!(rows(&unsorted), vec![0, 1, 3, 5, 6]);
        // Against a set, on shuffled rows drawn around the keys.
        let keys: Vec<String> = (0..50).map(|i| format!("ari:key/{:04}", i * 7)).collect();
        let set: std::collections::HashSet<&str> = keys.iter().map(String::as_str).collect();
        let values: Vec<String> = (0..400).map(|i| format!("ari:key/{:04}", (i * 7919) % 400)).collect();
        let array = StringArray::from(values.iter().map(String::as_str).collect::<Vec<_>>());
        let expected: Vec<usize> = (0..values.len()).filter(|&i| set.contains(values[i].as_str())).collect();
        assert!(expected.len() > 10, "the rows hit some keys");
        assert_eq!(KeyValues::Strings(keys).rows_holding(&array), Some(expected));
        assert_eq!(KeyValues::Integers(vec![1]).rows_holding(&array), None);
    }

    /// Each row's place among the values, whatever the rows' order; none
    /// for a null or a value not among them, and nothing for integers.
    #[test]
    fn places_are_where_each_row_s_value_is() {
        let keys = KeyValues::Strings(vec!["b".into(), "d".into(), "f".into()]);
        let array: ArrayRef =
            Arc::new(StringArray::from(vec![Some("d"), None, Some("b"), Some("c"), Some("f"), Some("b")]));
        let rows = [4, 0, 1, 2, 3, 5, 0];
        let places = keys.places(&array, &rows).unwrap();
        assert_eq!(places, [Some(2), Some(1), None, Some(0), None, Some(0), Some(1)]);
        assert_eq!(KeyValues::Integers(vec![1]).places(&array, &rows), None);
    }

    #[test]
    fn a_cursor_finds_what_a_binary_search_finds_whatever_the_order_of_probes() {
        let keys: Vec<String> = (0..100).map(|i| format!("k{:03}", i * 3)).collect();
        // Ascending, alternating far apart, repeated, past either end.
        let mut probes: Vec<String> = (0..320).map(|i| format!("k{i:03}")).collect();
        probes.extend((0..100).map(|i| format!("k{:03}", if i % 2 == 0 { i } else { 299 - i })));
        probes.extend(["a", "k150", "k150", "z", "k000"].map(String::from));
        let (mut cursor, mut matcher) = (super::Cursor::default(), super::Cursor::default());
        for p in &probes {
            let at = keys.partition_point(|k| k.as_bytes() < p.as_bytes());
            assert_eq!(cursor.seek(&keys, p.as_bytes()), keys.get(at).map(|k| k.as_bytes()), "probe {p}");
            let equal = keys.get(at).filter(|k| *k == p).map(|_| at);
            assert_eq!(matcher.matching(&keys, p.as_bytes()), equal, "probe {p}");
        }
    }

    /// A file whose writer kept no page statistics for the key column (its
    /// column index is absent while the offset index is there): every row may
    /// hold a key, and nothing panics.
    #[test]
    fn a_file_without_page_statistics_for_the_key_is_read_whole() {
        let schema = Arc::new(Schema::new(vec![Field::new("key", DataType::Utf8, false)]));
        let keys: StringArray = (0..5_000).map(|i| Some(format!("key-{i:05}"))).collect();
        let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(keys)]).unwrap();
        let properties = WriterProperties::builder()
            .set_column_statistics_enabled(ColumnPath::from("key"), EnabledStatistics::None)
            .set_column_data_page_size_limit(ColumnPath::from("key"), 1024)
            .set_column_dictionary_enabled(ColumnPath::from("key"), false)
            .build();
        let mut bytes = Vec::new();
        let mut writer = ArrowWriter::try_new(&mut bytes, schema, Some(properties)).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        let options = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Optional);
        let reader = ParquetRecordBatchReaderBuilder::try_new_with_options(bytes::Bytes::from(bytes), options).unwrap();
        let pages = reader.metadata().offset_index().map(|o| o[0][0].page_locations().len());
        assert!(pages.is_some_and(|p| p > 1), "{pages:?} pages");
        let lookup = Lookup { column: "key".into(), values: KeyValues::Strings(vec!["key-00042".into()]), below: None };
        let every_row: Vec<std::ops::Range<usize>> = std::iter::once(0..5_000).collect();
        assert_eq!(lookup.rows(reader.metadata()), Some(every_row));
    }
}
