//! Rows found by key straight from a file's Parquet pages.
//!
//! Reading through Arrow (`read::rows_holding`'s other path) decodes every
//! selected page of the key and stamp columns into arrays: offsets, a copy of
//! every value, UTF-8 checks, and per page the reader's row-selection
//! machinery. A merge only asks which rows hold one of its batch's keys, and
//! those rows' stamps. This module answers that from the pages themselves,
//! for files laid out as the merge writers and `optimize` write lookup
//! columns (see `lookup`):
//! - the key column: the pages whose bounds may hold a key are fetched, and
//!   their values walked against the sorted keys; a value is copied only
//!   when it matches;
//! - every other column asked for (stamps, further key columns): only the
//!   pages holding a matched row are fetched, and each matched row's value is
//!   read at its place in the page.
//!
//! A lookup with a [`Below`] bound skips the third step for rows the page
//! index proves below their key's bound: the stamp pages of a merge whose
//! batch is newer than everything they hold are never fetched.
//!
//! It reads flat, required (non-null) columns without a dictionary, in files
//! with an offset index: PLAIN values, and text in DELTA_BYTE_ARRAY (which
//! our writers use for text lookup columns: a key is walked by its shared
//! prefixes, see `prefixed`). Any other file (another encoding or writer,
//! nulls, a partition column, text looked up in a non-text column) gets
//! `None`, and the caller reads it through Arrow: the same rows, only slower.

mod fetched;
mod layout;
#[cfg(test)]
mod tests;

use std::future::Future;
use std::ops::Range;
use std::sync::Arc;

use arrow_array::cast::AsArray as _;
use arrow_array::types::{Int32Type, Int64Type};
use arrow_array::{ArrayRef, BooleanArray, Int32Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::SchemaRef;
use bytes::Bytes;
use deltalake::parquet::errors::{ParquetError, Result};
use deltalake::parquet::file::metadata::ParquetMetaData;
use roaring::RoaringTreemap;

use super::lookup::{Cursor, KeyValues, Lookup};
use super::prefixed::{self, Prefixed};

use fetched::Fetched;
use layout::{Encoded, Kind, Layout, PageRef};

/// The rows of a file holding one of a lookup's keys.
pub(super) struct Found {
    /// The columns asked for, of those rows.
    pub rows: RecordBatch,
    /// Each row's position in the file.
    pub positions: Vec<u64>,
    /// The key column's values walked to find them.
    pub decoded: usize,
    /// Per row, whether it was proven below its key's bound (its `unread`
    /// columns hold zeros, not its values).
    pub unread: Vec<bool>,
    /// Per row, the place of its key among the lookup's values.
    pub keys: Vec<usize>,
}

/// The live rows of a file (`metadata`'s) whose lookup column holds one of
/// `lookup`'s keys, with `schema`'s columns (a projection of the table's);
/// `fetch` reads byte ranges of the file. `None` when the file is not laid
/// out for this (see the module's documentation).
pub(super) async fn rows_holding<F, Fut>(
    metadata: &ParquetMetaData,
    file_len: u64,
    schema: &SchemaRef,
    lookup: &Lookup,
    deleted: &RoaringTreemap,
    mut fetch: F,
) -> Result<Option<Found>>
where
    F: FnMut(Vec<Range<u64>>) -> Fut,
    Fut: Future<Output = Result<Vec<Bytes>>>,
{
    let Some(layout) = Layout::of(metadata, schema, lookup) else { return Ok(None) };
    let KeyValues::Strings(keys) = &lookup.values else { return Ok(None) };
    // The key column: every value of the pages that may hold a key, walked
    // against the keys (both ascending in a sorted file; any order works).
    let leaf = layout.leaves[layout.key].0;
    let pages = layout.key_pages(lookup);
    let ranges = layout.ranges(leaf, &pages);
    let bytes = Arc::new(Fetched::new(&ranges, fetch(ranges.clone()).await?, file_len)?);
    let mut positions = Vec::new();
    // Per row found, its key's place in `keys`.
    let mut matched: Vec<usize> = Vec::new();
    let mut decoded = 0;
    let mut cursor = Cursor::default();
    let mut prefixed = Prefixed::default();
    let walked = layout.walk(&bytes, leaf, &pages, |at, count, values| {
        let first = layout.group_starts[at.group] + layout.pages(at.group, leaf)[at.page].first_row_index as u64;
        decoded += count;
        let mut found = |i: usize, key: usize| {
            let position = first + i as u64;
            if !deleted.contains(position) {
                positions.push(position);
                matched.push(key);
            }
        };
        match values {
            Encoded::Plain(values) => {
                for (i, value) in texts(values, count, at.group, at.page).enumerate() {
                    if let Some(key) = cursor.matching(keys, value?) {
                        found(i, key);
                    }
                }
            }
            Encoded::Prefixed(values) => {
                let Some(mut page) = prefixed.page(values, count) else { return Ok(false) };
                prefixed::scan(&mut page, keys, &mut cursor, found).map_err(|e| malformed(at, e))?;
            }
        }
        Ok(true)
    })?;
    if !walked {
        return Ok(None);
    }
    // Rows come in file order; `positions` ascend. Rows proven below their
    // key's bound are read only for the columns they are not unread for.
    let unread = match &lookup.below {
        Some(below) => layout.proven_below(below, &positions, &matched),
        None => vec![false; positions.len()],
    };
    let read: Vec<u64> = positions.iter().zip(&unread).filter(|(_, u)| !**u).map(|(&p, _)| p).collect();
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(layout.leaves.len());
    for (field, &(leaf, kind)) in layout.leaves.iter().enumerate() {
        if field == layout.key {
            columns.push(Arc::new(StringArray::from_iter_values(matched.iter().map(|&k| &keys[k]))));
            continue;
        }
        let name = schema.field(field).name();
        let skips = lookup.below.as_ref().is_some_and(|b| b.unread.contains(name)) && read.len() < positions.len();
        let wanted = if skips { &read } else { &positions };
        let pages = layout.pages_holding(leaf, wanted);
        let ranges = layout.ranges(leaf, &pages);
        let bytes = Arc::new(Fetched::new(&ranges, fetch(ranges.clone()).await?, file_len)?);
        match values_at(&layout, &bytes, leaf, kind, &pages, wanted)? {
            Some(column) if skips => columns.push(spread(&column, &unread)),
            Some(column) => columns.push(column),
            None => return Ok(None),
        }
    }
    let rows = RecordBatch::try_new(schema.clone(), columns).map_err(|e| ParquetError::General(e.to_string()))?;
    Ok(Some(Found { rows, positions, decoded, unread, keys: matched }))
}

/// `read`, the values of the rows `unread` does not mark, spread over every
/// row: a zero (false, empty text) in each marked row's place.
fn spread(read: &ArrayRef, unread: &[bool]) -> ArrayRef {
    fn fill<T: Copy + Default>(values: &[T], unread: &[bool]) -> Vec<T> {
        let mut next = values.iter();
        unread.iter().map(|&u| if u { T::default() } else { *next.next().expect("a value per row read") }).collect()
    }
    if let Some(a) = read.as_primitive_opt::<Int64Type>() {
        Arc::new(Int64Array::from(fill(a.values(), unread)))
    } else if let Some(a) = read.as_primitive_opt::<Int32Type>() {
        Arc::new(Int32Array::from(fill(a.values(), unread)))
    } else if let Some(a) = read.as_boolean_opt() {
        Arc::new(BooleanArray::from(fill(&a.values().iter().collect::<Vec<_>>(), unread)))
    } else {
        let a = read.as_string::<i32>();
        let texts: Vec<&str> = fill(&(0..read.len()).map(|i| a.value(i)).collect::<Vec<_>>(), unread);
        Arc::new(StringArray::from(texts))
    }
}

/// A column's values at `positions` (ascending), from its `pages` holding them.
fn values_at(
    layout: &Layout<'_>,
    bytes: &Arc<Fetched>,
    leaf: usize,
    kind: Kind,
    pages: &[PageRef],
    positions: &[u64],
) -> Result<Option<ArrayRef>> {
    let mut next = 0;
    let mut int64 = Vec::new();
    let mut int32 = Vec::new();
    let mut booleans = Vec::new();
    let mut texts_out: Vec<Vec<u8>> = Vec::new();
    let mut prefixed = Prefixed::default();
    let walked = layout.walk(bytes, leaf, pages, |at, count, values| {
        let first = layout.group_starts[at.group] + layout.pages(at.group, leaf)[at.page].first_row_index as u64;
        let bad = || corrupt(at.group, at.page);
        // The page's rows asked for, as places in the page.
        let end = next + positions[next..].partition_point(|&p| p < first + count as u64);
        let rows: Vec<usize> = positions[next..end].iter().map(|&p| (p - first) as usize).collect();
        next = end;
        match (values, kind) {
            // Text values are only known in order: one pass up to the last row asked for.
            (Encoded::Prefixed(values), Kind::Text) => {
                let Some(mut page) = prefixed.page(values, count) else { return Ok(false) };
                page.values_at(&rows, |v| texts_out.push(v.to_vec())).map_err(|e| malformed(at, e))?;
            }
            (Encoded::Prefixed(_), _) => return Ok(false),
            (Encoded::Plain(values), Kind::Text) => {
                let mut wanted = rows.iter().peekable();
                for (i, value) in texts(values, count, at.group, at.page).enumerate() {
                    if wanted.peek().is_none() {
                        break;
                    }
                    let value = value?;
                    while wanted.next_if(|&&r| r == i).is_some() {
                        texts_out.push(value.to_vec());
                    }
                }
                if wanted.peek().is_some() {
                    return Err(bad());
                }
            }
            (Encoded::Plain(values), Kind::Int64) => {
                for &i in &rows {
                    let bytes = values.get(i * 8..i * 8 + 8).ok_or_else(bad)?;
                    int64.push(i64::from_le_bytes(bytes.try_into().expect("8 bytes")));
                }
            }
            (Encoded::Plain(values), Kind::Int32) => {
                for &i in &rows {
                    let bytes = values.get(i * 4..i * 4 + 4).ok_or_else(bad)?;
                    int32.push(i32::from_le_bytes(bytes.try_into().expect("4 bytes")));
                }
            }
            (Encoded::Plain(values), Kind::Boolean) => {
                for &i in &rows {
                    booleans.push(values.get(i / 8).ok_or_else(bad)? >> (i % 8) & 1 == 1);
                }
            }
        }
        Ok(true)
    })?;
    if !walked {
        return Ok(None);
    }
    if next != positions.len() {
        return Err(ParquetError::General(format!(
            "{} of {} rows are past the column's pages",
            positions.len() - next,
            positions.len()
        )));
    }
    Ok(Some(match kind {
        Kind::Int64 => Arc::new(Int64Array::from(int64)),
        Kind::Int32 => Arc::new(Int32Array::from(int32)),
        Kind::Boolean => Arc::new(BooleanArray::from(booleans)),
        Kind::Text => {
            let texts = texts_out.iter().map(|t| std::str::from_utf8(t)).collect::<std::result::Result<Vec<_>, _>>();
            let texts = texts.map_err(|e| ParquetError::General(format!("a text value is not UTF-8: {e}")))?;
            Arc::new(StringArray::from(texts))
        }
    }))
}

fn malformed(at: PageRef, what: &str) -> ParquetError {
    ParquetError::General(format!("page {} of row group {}: {what}", at.page, at.group))
}

fn corrupt(group: usize, page: usize) -> ParquetError {
    ParquetError::General(format!("page {page} of row group {group} ends before its values do"))
}

/// The PLAIN-encoded text values of a page, in order.
fn texts(values: &[u8], count: usize, group: usize, page: usize) -> impl Iterator<Item = Result<&[u8]>> {
    let mut rest = values;
    (0..count).map(move |_| {
        let (len, tail) = rest.split_first_chunk::<4>().ok_or_else(|| corrupt(group, page))?;
        let len = u32::from_le_bytes(*len) as usize;
        let (value, tail) = tail.split_at_checked(len).ok_or_else(|| corrupt(group, page))?;
        rest = tail;
        Ok(value)
    })
}
