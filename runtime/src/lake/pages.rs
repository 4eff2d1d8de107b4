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

use std::future::Future;
use std::ops::Range;
use std::sync::Arc;

use arrow_array::cast::AsArray as _;
use arrow_array::types::{Int32Type, Int64Type};
use arrow_array::{ArrayRef, BooleanArray, Int32Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, SchemaRef};
use bytes::Bytes;
use deltalake::parquet::basic::{Compression, Encoding, Type as Physical};
use deltalake::parquet::column::page::{Page, PageReader as _};
use deltalake::parquet::errors::{ParquetError, Result};
use deltalake::parquet::file::metadata::ParquetMetaData;
use deltalake::parquet::file::page_index::column_index::ColumnIndexMetaData;
use deltalake::parquet::file::page_index::offset_index::PageLocation;
use deltalake::parquet::file::reader::{ChunkReader, Length};
use deltalake::parquet::file::serialized_reader::SerializedPageReader;
use roaring::RoaringTreemap;

use super::lookup::{Below, Cursor, KeyValues, Lookup, leaf_named};
use super::page_header;
use super::prefixed::{self, Prefixed};

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

/// How a column's values are stored, as this module reads them.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Text,
    Int64,
    Int32,
    Boolean,
}

impl Kind {
    fn of(data_type: &DataType, physical: Physical) -> Option<Kind> {
        match (data_type, physical) {
            (DataType::Utf8, Physical::BYTE_ARRAY) => Some(Kind::Text),
            (DataType::Int64, Physical::INT64) => Some(Kind::Int64),
            (DataType::Int32, Physical::INT32) => Some(Kind::Int32),
            (DataType::Boolean, Physical::BOOLEAN) => Some(Kind::Boolean),
            _ => None,
        }
    }
}

/// A file this module can read the columns of `schema` from.
struct Layout<'m> {
    metadata: &'m ParquetMetaData,
    /// Per field of the schema asked for, its leaf column and kind.
    leaves: Vec<(usize, Kind)>,
    /// The field of the lookup column.
    key: usize,
    /// Each row group's first row in the file.
    group_starts: Vec<u64>,
}

/// A page of a column chunk: its row group and its number in the chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct PageRef {
    group: usize,
    page: usize,
}

impl<'m> Layout<'m> {
    fn of(metadata: &'m ParquetMetaData, schema: &SchemaRef, lookup: &Lookup) -> Option<Layout<'m>> {
        if !matches!(lookup.values, KeyValues::Strings(_)) {
            return None;
        }
        let offsets = metadata.offset_index()?;
        let descr = metadata.file_metadata().schema_descr();
        let mut leaves = Vec::with_capacity(schema.fields().len());
        for field in schema.fields() {
            let leaf = leaf_named(metadata, field.name())?;
            let column = descr.column(leaf);
            if column.max_def_level() != 0 || column.max_rep_level() != 0 {
                return None;
            }
            leaves.push((leaf, Kind::of(field.data_type(), column.physical_type())?));
        }
        let key = schema.index_of(&lookup.column).ok()?;
        if leaves[key].1 != Kind::Text {
            return None;
        }
        let mut group_starts = Vec::with_capacity(metadata.num_row_groups());
        let mut start = 0u64;
        for (g, group) in metadata.row_groups().iter().enumerate() {
            group_starts.push(start);
            start += u64::try_from(group.num_rows()).ok()?;
            for &(leaf, _) in &leaves {
                let chunk = group.column(leaf);
                let pages = offsets.get(g)?.get(leaf)?.page_locations();
                // A dictionary page (declared, or the gap before the first
                // data page) means dictionary-encoded values.
                let first = pages.first()?;
                if chunk.dictionary_page_offset().is_some()
                    || u64::try_from(first.offset).ok()? != chunk.byte_range().0
                    || first.first_row_index != 0
                {
                    return None;
                }
            }
        }
        Some(Layout { metadata, leaves, key, group_starts })
    }

    fn pages(&self, group: usize, leaf: usize) -> &[PageLocation] {
        // `of` checked every chunk has its offset index.
        self.metadata.offset_index().expect("checked")[group][leaf].page_locations()
    }

    fn rows_in(&self, group: usize) -> u64 {
        self.metadata.row_group(group).num_rows() as u64
    }

    /// The row group of a row of the file, and the row's place in it.
    fn locate(&self, position: u64) -> (usize, i64) {
        let group = self.group_starts.partition_point(|&s| s <= position) - 1;
        (group, (position - self.group_starts[group]) as i64)
    }

    /// Per row at `positions` (ascending), whose key is `keys[k]` for its `k`
    /// in `matched`: whether the page index proves its `below.order` pair
    /// below the key's bound. Nothing is proven without a column index of
    /// exact 64-bit maxima for both columns.
    fn proven_below(&self, below: &Below, positions: &[u64], matched: &[usize]) -> Vec<bool> {
        let descr = self.metadata.file_metadata().schema_descr();
        let leaf = |name: &str| {
            let leaf = leaf_named(self.metadata, name)?;
            (descr.column(leaf).physical_type() == Physical::INT64).then_some(leaf)
        };
        let (Some(first), Some(second)) = (leaf(&below.order[0]), leaf(&below.order[1])) else {
            return vec![false; positions.len()];
        };
        positions
            .iter()
            .zip(matched)
            .map(|(&position, &k)| {
                let (group, row) = self.locate(position);
                let max = (self.page_max(group, first, row), self.page_max(group, second, row));
                match (below.bounds.get(k), max) {
                    (Some(&bound), (Some(a), Some(b))) => Below::proves(bound, (a, b)),
                    _ => false,
                }
            })
            .collect()
    }

    /// The maximum of an INT64 column's page holding `row` of a row group,
    /// from the page index (any leaf of the file, not only those read).
    fn page_max(&self, group: usize, leaf: usize, row: i64) -> Option<i64> {
        let page = page_at(self.metadata.offset_index()?.get(group)?.get(leaf)?.page_locations(), row)?;
        match self.metadata.column_index()?.get(group)?.get(leaf)? {
            ColumnIndexMetaData::INT64(index) if !index.is_null_page(page) => index.max_value(page).copied(),
            _ => None,
        }
    }

    /// The key column's pages whose bounds may hold one of the keys.
    fn key_pages(&self, lookup: &Lookup) -> Vec<PageRef> {
        let leaf = self.leaves[self.key].0;
        let mut cursor = Cursor::default();
        let mut out = Vec::new();
        for group in 0..self.group_starts.len() {
            let index = self.metadata.column_index().and_then(|i| i.get(group)).and_then(|g| g.get(leaf));
            for page in 0..self.pages(group, leaf).len() {
                if index.is_none_or(|index| lookup.page_may_hold(index, page, &mut cursor)) {
                    out.push(PageRef { group, page });
                }
            }
        }
        out
    }

    /// The pages of a column holding the rows at `positions` (ascending).
    fn pages_holding(&self, leaf: usize, positions: &[u64]) -> Vec<PageRef> {
        let mut out: Vec<PageRef> = Vec::new();
        for &position in positions {
            let (group, row) = self.locate(position);
            let page = page_at(self.pages(group, leaf), row).expect("a row group's first page starts at row 0");
            let at = PageRef { group, page };
            if out.last() != Some(&at) {
                out.push(at);
            }
        }
        out
    }

    /// The byte ranges of `pages` (ascending) of a column, adjacent ones joined.
    fn ranges(&self, leaf: usize, pages: &[PageRef]) -> Vec<Range<u64>> {
        let mut out: Vec<Range<u64>> = Vec::new();
        for p in pages {
            let location = &self.pages(p.group, leaf)[p.page];
            let start = location.offset as u64;
            let end = start + location.compressed_page_size as u64;
            match out.last_mut() {
                Some(last) if last.end == start => last.end = end,
                _ => out.push(start..end),
            }
        }
        out
    }

    /// Calls `each` with every page of `pages` (ascending) of a column: its
    /// number of values and their bytes. `Ok(false)` when a page is stored
    /// in another encoding, or `each` declines one.
    fn walk(
        &self,
        bytes: &Arc<Fetched>,
        leaf: usize,
        pages: &[PageRef],
        mut each: impl FnMut(PageRef, usize, Encoded<'_>) -> Result<bool>,
    ) -> Result<bool> {
        let mut at = 0;
        while at < pages.len() {
            let group = pages[at].group;
            let chunk = self.metadata.row_group(group).column(leaf);
            let rows = self.rows_in(group) as usize;
            let starts = self.pages(group, leaf);
            let end = at + pages[at..].iter().take_while(|p| p.group == group).count();
            // A flat required column has a value per row: a page must hold
            // the rows the offset index gives it, or positions computed from
            // it would be wrong.
            let mut call = |page: PageRef, count: i64, encoding: Encoding, values: &[u8]| {
                let last = starts.get(page.page + 1).map_or(rows as i64, |p| p.first_row_index);
                let values = match encoding {
                    Encoding::PLAIN => Encoded::Plain(values),
                    Encoding::DELTA_BYTE_ARRAY => Encoded::Prefixed(values),
                    _ => return Ok(false),
                };
                match usize::try_from(count) {
                    Ok(n) if count == last - starts[page.page].first_row_index => each(page, n, values),
                    _ => Ok(false),
                }
            };
            if chunk.compression() == Compression::UNCOMPRESSED {
                // Pages are read where the offset index puts them, their
                // headers by `page_header` (see there for why).
                for &page in &pages[at..end] {
                    let location = &starts[page.page];
                    let bytes = bytes.slice(location.offset as u64, location.compressed_page_size as usize)?;
                    let Some(header) = page_header::read(bytes) else { return Ok(false) };
                    let Some(encoding) = header.encoding() else { return Ok(false) };
                    if header.len + header.data_len != bytes.len() || header.num_nulls.is_some_and(|n| n != 0) {
                        return Ok(false);
                    }
                    let values = &bytes[header.len + header.levels_len..];
                    if !call(page, i64::from(header.num_values), encoding, values)? {
                        return Ok(false);
                    }
                }
                at = end;
                continue;
            }
            let mut reader = SerializedPageReader::new(Arc::clone(bytes), chunk, rows, Some(starts.to_vec()))?;
            let mut next = 0;
            for &page in &pages[at..end] {
                while next < page.page {
                    reader.skip_next_page()?;
                    next += 1;
                }
                let Some(read) = reader.get_next_page()? else {
                    return Err(ParquetError::General(format!("page {} of row group {group} is missing", page.page)));
                };
                next += 1;
                let (count, encoding, values) = match &read {
                    Page::DataPage { buf, num_values, encoding, .. } => (*num_values, *encoding, &buf[..]),
                    Page::DataPageV2 {
                        buf,
                        num_values,
                        encoding,
                        num_nulls: 0,
                        def_levels_byte_len,
                        rep_levels_byte_len,
                        ..
                    } => {
                        let levels = (*def_levels_byte_len + *rep_levels_byte_len) as usize;
                        (*num_values, *encoding, buf.get(levels..).ok_or_else(|| corrupt(group, page.page))?)
                    }
                    _ => return Ok(false),
                };
                if !call(page, i64::from(count), encoding, values)? {
                    return Ok(false);
                }
            }
            at = end;
        }
        Ok(true)
    }
}

/// A page's value bytes, by encoding.
#[derive(Clone, Copy)]
enum Encoded<'p> {
    Plain(&'p [u8]),
    /// DELTA_BYTE_ARRAY text (see `prefixed`).
    Prefixed(&'p [u8]),
}

/// The page of a column chunk (its offset index) holding `row` of the row group.
fn page_at(pages: &[PageLocation], row: i64) -> Option<usize> {
    pages.partition_point(|p| p.first_row_index <= row).checked_sub(1)
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

/// Fetched byte ranges of a file, read by `SerializedPageReader` as if it
/// were the file.
struct Fetched {
    /// (start, bytes), ascending and disjoint.
    blocks: Vec<(u64, Bytes)>,
    len: u64,
}

impl Fetched {
    fn new(ranges: &[Range<u64>], bytes: Vec<Bytes>, len: u64) -> Result<Fetched> {
        if bytes.len() != ranges.len() || ranges.iter().zip(&bytes).any(|(r, b)| (r.end - r.start) as usize != b.len())
        {
            return Err(ParquetError::General("the store returned other ranges than were asked for".into()));
        }
        Ok(Fetched { blocks: ranges.iter().map(|r| r.start).zip(bytes).collect(), len })
    }
}

impl Length for Fetched {
    fn len(&self) -> u64 {
        self.len
    }
}

impl ChunkReader for Fetched {
    type T = bytes::buf::Reader<Bytes>;

    fn get_read(&self, start: u64) -> Result<Self::T> {
        let (from, block) = self.block(start)?;
        Ok(bytes::Buf::reader(block.slice((start - from) as usize..)))
    }

    fn get_bytes(&self, start: u64, length: usize) -> Result<Bytes> {
        let (from, block) = self.block(start)?;
        let at = (start - from) as usize;
        if at + length > block.len() {
            return Err(ParquetError::General(format!("bytes {start}..+{length} were not fetched")));
        }
        Ok(block.slice(at..at + length))
    }
}

impl Fetched {
    /// `length` bytes from `start`, which must have been fetched.
    fn slice(&self, start: u64, length: usize) -> Result<&[u8]> {
        let (from, block) = self.block(start)?;
        let at = (start - from) as usize;
        block
            .get(at..at + length)
            .ok_or_else(|| ParquetError::General(format!("bytes {start}..+{length} were not fetched")))
    }

    fn block(&self, start: u64) -> Result<(u64, &Bytes)> {
        let i = self.blocks.partition_point(|(s, _)| *s <= start);
        match i.checked_sub(1).map(|i| &self.blocks[i]) {
            Some((from, block)) if start < from + block.len() as u64 => Ok((*from, block)),
            _ => Err(ParquetError::General(format!("byte {start} was not fetched"))),
        }
    }
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

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::sync::Arc;

    use arrow_array::cast::AsArray as _;
    use arrow_array::types::{Int32Type, Int64Type};
    use arrow_array::{ArrayRef, BooleanArray, Int32Array, Int64Array, RecordBatch, StringArray};
    use arrow_schema::{DataType, Field, Schema, SchemaRef};
    use bytes::Bytes;
    use deltalake::parquet::arrow::ArrowWriter;
    use deltalake::parquet::basic::{Compression, Encoding};
    use deltalake::parquet::file::metadata::{PageIndexPolicy, ParquetMetaData, ParquetMetaDataReader};
    use deltalake::parquet::file::properties::{WriterProperties, WriterVersion};
    use deltalake::parquet::schema::types::ColumnPath;
    use proptest::prelude::*;
    use roaring::RoaringTreemap;

    use super::{Found, rows_holding};
    use crate::lake::lookup::{Below, KeyValues, Lookup, PAGE_BYTES, TEXT_PAGE_BYTES};

    fn schema(nullable_key: bool) -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("key", DataType::Utf8, nullable_key),
            Field::new("version", DataType::Int64, false),
            Field::new("tombstone", DataType::Boolean, false),
            Field::new("small", DataType::Int32, false),
            Field::new("label", DataType::Utf8, false),
            Field::new("generation", DataType::Int64, false),
        ]))
    }

    /// The (generation, version) of the rows of key `i` (see `batch`).
    fn stamp(i: u32) -> (i64, i64) {
        (i64::from(i / 1_000), i64::from(i) * 3 - 7)
    }

    fn key(i: u32) -> String {
        format!("ari:cloud:test:site:item/{i:06}")
    }

    fn batch(schema: &SchemaRef, ids: &[u32]) -> RecordBatch {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(ids.iter().map(|&i| key(i)))),
            Arc::new(Int64Array::from_iter_values(ids.iter().map(|&i| stamp(i).1))),
            Arc::new(BooleanArray::from_iter(ids.iter().map(|&i| Some(i % 3 == 0)))),
            Arc::new(Int32Array::from_iter_values(ids.iter().map(|&i| i as i32 % 1000 - 500))),
            Arc::new(StringArray::from_iter_values(ids.iter().map(|&i| "x".repeat(i as usize % 7)))),
            Arc::new(Int64Array::from_iter_values(ids.iter().map(|&i| stamp(i).0))),
        ];
        RecordBatch::try_new(schema.clone(), columns).unwrap()
    }

    /// How the file is written: the lookup layout, varied as other writers vary it.
    #[derive(Clone, Copy, Debug)]
    struct Writing {
        v2: bool,
        snappy: bool,
        page_bytes: usize,
        group_rows: usize,
        dictionary: bool,
        /// PLAIN for every column, as version 1 pages (and other writers'
        /// version 2 pages) have it; else the parquet crate's version 2
        /// defaults (RLE booleans, DELTA integers and text).
        plain: bool,
        /// Text columns in DELTA_BYTE_ARRAY, uncompressed, in pages of
        /// `page_bytes` scaled as `properties` scales text lookup columns.
        prefixed: bool,
    }

    impl Writing {
        /// As our writers write lookup columns (see `properties`).
        const OURS: Writing = Writing {
            v2: false,
            snappy: true,
            page_bytes: PAGE_BYTES,
            group_rows: 1_000_000,
            dictionary: false,
            plain: true,
            prefixed: true,
        };
    }

    fn write(batch: &RecordBatch, w: &Writing) -> (Bytes, ParquetMetaData) {
        let mut props = WriterProperties::builder()
            .set_writer_version(if w.v2 { WriterVersion::PARQUET_2_0 } else { WriterVersion::PARQUET_1_0 })
            .set_compression(if w.snappy { Compression::SNAPPY } else { Compression::UNCOMPRESSED })
            .set_dictionary_enabled(w.dictionary)
            .set_max_row_group_row_count(Some(w.group_rows))
            .set_write_batch_size(64);
        // As `properties` writes lookup columns: the key and the stamps.
        for column in ["key", "generation", "version", "tombstone"] {
            props = props.set_column_data_page_size_limit(ColumnPath::from(column), w.page_bytes);
        }
        if w.plain {
            props = props.set_encoding(Encoding::PLAIN);
        }
        if w.prefixed {
            for column in ["key", "label"] {
                let path = ColumnPath::from(column);
                props = props
                    .set_column_encoding(path.clone(), Encoding::DELTA_BYTE_ARRAY)
                    .set_column_compression(path.clone(), Compression::UNCOMPRESSED)
                    .set_column_data_page_size_limit(path, w.page_bytes * TEXT_PAGE_BYTES / PAGE_BYTES);
            }
        }
        let mut out = Vec::new();
        let mut writer = ArrowWriter::try_new(&mut out, batch.schema(), Some(props.build())).unwrap();
        writer.write(batch).unwrap();
        writer.close().unwrap();
        let bytes = Bytes::from(out);
        let metadata = ParquetMetaDataReader::new()
            .with_page_index_policy(PageIndexPolicy::Optional)
            .parse_and_finish(&bytes)
            .unwrap();
        (bytes, metadata)
    }

    fn find(bytes: &Bytes, metadata: &ParquetMetaData, lookup: &Lookup, deleted: &RoaringTreemap) -> Option<Found> {
        find_columns(bytes, metadata, &schema(false), lookup, deleted)
    }

    fn find_columns(
        bytes: &Bytes,
        metadata: &ParquetMetaData,
        schema: &SchemaRef,
        lookup: &Lookup,
        deleted: &RoaringTreemap,
    ) -> Option<Found> {
        find_counting(bytes, metadata, schema, lookup, deleted).0
    }

    /// [`find_columns`], and how many byte ranges it fetched.
    fn find_counting(
        bytes: &Bytes,
        metadata: &ParquetMetaData,
        schema: &SchemaRef,
        lookup: &Lookup,
        deleted: &RoaringTreemap,
    ) -> (Option<Found>, usize) {
        let fetched = std::cell::Cell::new(0);
        let fetch = |ranges: Vec<std::ops::Range<u64>>| {
            fetched.set(fetched.get() + ranges.len());
            let bytes = bytes.clone();
            async move { Ok(ranges.into_iter().map(|r| bytes.slice(r.start as usize..r.end as usize)).collect()) }
        };
        let found = rows_holding(metadata, bytes.len() as u64, schema, lookup, deleted, fetch);
        (futures::executor::block_on(found).unwrap(), fetched.get())
    }

    fn lookup(ids: &[u32]) -> Lookup {
        let mut keys: Vec<String> = ids.iter().map(|&i| key(i)).collect();
        keys.sort();
        keys.dedup();
        Lookup { column: "key".into(), values: KeyValues::Strings(keys), below: None }
    }

    /// [`lookup`] with each key's bound: its rows' stamp shifted by `shift`;
    /// the stamp columns are left unread for rows proven below it.
    fn lookup_below(ids: &[u32], shift: (i64, i64)) -> Lookup {
        let mut lookup = lookup(ids);
        let KeyValues::Strings(keys) = &lookup.values else { unreachable!() };
        let id = |k: &String| k.rsplit('/').next().unwrap().parse::<u32>().unwrap();
        let bounds = keys.iter().map(|k| (stamp(id(k)).0 + shift.0, stamp(id(k)).1 + shift.1)).collect();
        let [order, unread] = [vec!["generation", "version"], vec!["generation", "version", "tombstone"]]
            .map(|c| c.into_iter().map(String::from).collect::<Vec<_>>());
        lookup.below = Some(Below { order: [order[0].clone(), order[1].clone()], bounds, unread });
        lookup
    }

    /// `rows` (of `columns` of the test schema) as a lookup returns them: the
    /// unread columns of the rows `unread` marks zeroed.
    fn zeroed(rows: &RecordBatch, unread: &[bool], below: &Below) -> RecordBatch {
        let schema = rows.schema();
        let columns = schema
            .fields()
            .iter()
            .zip(rows.columns())
            .map(|(f, c)| if below.unread.contains(f.name()) { zero(c, unread) } else { c.clone() })
            .collect();
        RecordBatch::try_new(schema, columns).unwrap()
    }

    fn zero(column: &ArrayRef, unread: &[bool]) -> ArrayRef {
        let kept: Vec<u64> = (0..unread.len() as u64).filter(|&i| !unread[i as usize]).collect();
        let read = arrow_select::take::take(column, &arrow_array::UInt64Array::from(kept), None).unwrap();
        super::spread(&read, unread)
    }

    /// What reading the whole file and filtering it gives.
    fn oracle(batch: &RecordBatch, wanted: &[u32], deleted: &RoaringTreemap) -> (Vec<u64>, RecordBatch) {
        let wanted: HashSet<String> = wanted.iter().map(|&i| key(i)).collect();
        let keys = batch.column(0).as_string::<i32>();
        let rows: Vec<u64> = (0..batch.num_rows())
            .filter(|&i| wanted.contains(keys.value(i)) && !deleted.contains(i as u64))
            .map(|i| i as u64)
            .collect();
        let indices = arrow_array::UInt64Array::from(rows.clone());
        (rows, arrow_select::take::take_record_batch(batch, &indices).unwrap())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        /// Whatever the order of the rows, the repeats of a key, the pages,
        /// row groups and compression, and whichever rows are deleted: the
        /// rows found are exactly those holding a key, with their values.
        #[test]
        fn finds_exactly_the_rows_a_full_read_finds(
            mut ids in proptest::collection::vec(0u32..3_000, 1..2_500),
            sorted in any::<bool>(),
            wanted in proptest::collection::vec(0u32..3_200, 0..200),
            deleted in proptest::collection::vec(0u64..2_500, 0..50),
            v2 in any::<bool>(),
            snappy in any::<bool>(),
            prefixed in any::<bool>(),
            page_bytes in prop_oneof![Just(256usize), Just(4096usize)],
            group_rows in prop_oneof![Just(300usize), Just(1_000_000usize)],
            below in proptest::option::of((-1i64..=1, prop_oneof![Just(-2i64), Just(0), Just(2), Just(100_000)])),
        ) {
            if sorted {
                ids.sort_unstable();
            }
            let writing = Writing { v2, snappy, page_bytes, group_rows, dictionary: false, plain: true, prefixed };
            let batch = batch(&schema(false), &ids);
            let (bytes, metadata) = write(&batch, &writing);
            let deleted: RoaringTreemap = deleted.into_iter().collect();
            // Whichever columns are asked for, in any order.
            let columns: Vec<usize> = if v2 { vec![0, 4, 1] } else { vec![0, 5, 1, 2, 3, 4] };
            let projected = Arc::new(batch.schema().project(&columns).unwrap());
            let lookup = match below {
                Some(shift) => lookup_below(&wanted, shift),
                None => lookup(&wanted),
            };
            let found = find_columns(&bytes, &metadata, &projected, &lookup, &deleted);
            let found = found.expect("laid out for lookups");
            let (positions, rows) = oracle(&batch.project(&columns).unwrap(), &wanted, &deleted);
            prop_assert_eq!(&found.positions, &positions);
            prop_assert_eq!(found.unread.len(), positions.len());
            // Each row's key's place among the lookup's values.
            let KeyValues::Strings(values) = &lookup.values else { unreachable!() };
            let places: Vec<&String> = found.keys.iter().map(|&k| &values[k]).collect();
            let expected: Vec<String> = positions.iter().map(|&p| key(ids[p as usize])).collect();
            prop_assert_eq!(places, expected.iter().collect::<Vec<_>>());
            // A row left unread is below its key's bound, and only its unread
            // columns are missing; every other row is read whole.
            match &lookup.below {
                Some(b) => {
                    for (c, &p) in positions.iter().enumerate().filter(|(c, _)| found.unread[*c]) {
                        let id = ids[p as usize];
                        let k = wanted.iter().map(|&w| key(w)).collect::<std::collections::BTreeSet<_>>();
                        let at = k.iter().position(|w| *w == key(id)).unwrap();
                        prop_assert!(stamp(id) < b.bounds[at], "row {} ({:?}) is not below {:?}", c, stamp(id), b.bounds[at]);
                    }
                    prop_assert_eq!(&found.rows, &zeroed(&rows, &found.unread, b));
                }
                None => {
                    prop_assert!(!found.unread.contains(&true));
                    prop_assert_eq!(&found.rows, &rows);
                }
            }
            prop_assert!(found.decoded <= ids.len());
        }
    }

    #[test]
    fn a_sorted_file_is_walked_only_where_its_pages_may_hold_a_key() {
        let ids: Vec<u32> = (0..20_000).collect();
        let writing = Writing::OURS;
        let batch = batch(&schema(false), &ids);
        let (bytes, metadata) = write(&batch, &writing);
        let found = find(&bytes, &metadata, &lookup(&[100, 15_000, 25_000]), &RoaringTreemap::new()).unwrap();
        assert_eq!(found.positions, vec![100, 15_000]);
        assert_eq!(found.rows.column(1).as_primitive::<Int64Type>().values(), &[293, 44_993]);
        assert_eq!(found.rows.column(3).as_primitive::<Int32Type>().values(), &[-400, -500]);
        assert!(found.decoded < 1_000, "walked {} rows", found.decoded);
    }

    /// Rows whose stamps the page index proves below their keys' bounds are
    /// found without fetching a page of the stamp columns; rows it cannot
    /// prove below are read.
    #[test]
    fn stamp_pages_are_fetched_only_for_rows_not_proven_older() {
        let ids: Vec<u32> = (0..20_000).collect();
        let batch = batch(&schema(false), &ids);
        let (bytes, metadata) = write(&batch, &Writing::OURS);
        let projected = Arc::new(batch.schema().project(&[0, 5, 1, 2]).unwrap());
        let none = RoaringTreemap::new();
        let wanted = [100, 5_000, 15_000];
        // Newer than everything stored: the key pages alone are fetched.
        let newer = lookup_below(&wanted, (1, 0));
        let (found, fetched) = find_counting(&bytes, &metadata, &projected, &newer, &none);
        let found = found.unwrap();
        assert_eq!(
            (found.positions.as_slice(), found.unread.as_slice()),
            ([100, 5_000, 15_000].as_slice(), [true; 3].as_slice())
        );
        assert_eq!(fetched, 3, "one range of key pages per key");
        // The same generation, a version above the row's own but not above
        // its page's: not provable, so read.
        let (found, fetched) = find_counting(&bytes, &metadata, &projected, &lookup_below(&wanted, (0, 1)), &none);
        let found = found.unwrap();
        assert_eq!(found.unread, [false; 3]);
        assert_eq!(found.rows.column(2).as_primitive::<Int64Type>().values(), &[293, 14_993, 44_993]);
        // The key pages, a page of each integer stamp column per row, and
        // the one page of the bit-packed tombstones.
        assert_eq!(fetched, 3 + 2 * 3 + 1);
    }

    /// Files laid out otherwise are left to the Arrow reader.
    #[test]
    fn other_layouts_are_declined() {
        let ids: Vec<u32> = (0..2_000).collect();
        let plain = Writing::OURS;
        let wanted = lookup(&[5]);
        let none = RoaringTreemap::new();
        // Dictionary-encoded values.
        let (bytes, metadata) = write(&batch(&schema(false), &ids), &Writing { dictionary: true, ..plain });
        assert!(find(&bytes, &metadata, &wanted, &none).is_none());
        // A nullable key column (definition levels).
        let (bytes, metadata) = write(&batch(&schema(true), &ids), &plain);
        assert!(find(&bytes, &metadata, &wanted, &none).is_none());
        // Integer values to look up.
        let (bytes, metadata) = write(&batch(&schema(false), &ids), &plain);
        let numbers = Lookup { column: "version".into(), values: KeyValues::Integers(vec![2]), below: None };
        assert!(find(&bytes, &metadata, &numbers, &none).is_none());
        // Version 2 pages with the parquet crate's encodings (RLE, DELTA_*).
        let (bytes, metadata) = write(&batch(&schema(false), &ids), &Writing { v2: true, plain: false, ..plain });
        assert!(find(&bytes, &metadata, &wanted, &none).is_none());
        // No offset index.
        let metadata = ParquetMetaDataReader::new().parse_and_finish(&bytes).unwrap();
        assert!(find(&bytes, &metadata, &wanted, &none).is_none());
    }
}
