//! Where a file's pages are, as the page walk reads them: the columns asked
//! for and their kinds, the page index, and a walk over chosen pages' values.

use std::ops::Range;
use std::sync::Arc;

use arrow_schema::{DataType, SchemaRef};
use deltalake::parquet::basic::{Compression, Encoding, Type as Physical};
use deltalake::parquet::column::page::{Page, PageReader as _};
use deltalake::parquet::errors::{ParquetError, Result};
use deltalake::parquet::file::metadata::ParquetMetaData;
use deltalake::parquet::file::page_index::column_index::ColumnIndexMetaData;
use deltalake::parquet::file::page_index::offset_index::PageLocation;
use deltalake::parquet::file::serialized_reader::SerializedPageReader;

use super::corrupt;
use super::fetched::Fetched;
use crate::lake::lookup::{Below, Cursor, KeyValues, Lookup, leaf_named};
use crate::lake::page_header;

/// How a column's values are stored, as this module reads them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Kind {
    Text,
    Int64,
    Int32,
    Boolean,
}

impl Kind {
    pub(super) fn of(data_type: &DataType, physical: Physical) -> Option<Kind> {
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
pub(super) struct Layout<'m> {
    pub(super) metadata: &'m ParquetMetaData,
    /// Per field of the schema asked for, its leaf column and kind.
    pub(super) leaves: Vec<(usize, Kind)>,
    /// The field of the lookup column.
    pub(super) key: usize,
    /// Each row group's first row in the file.
    pub(super) group_starts: Vec<u64>,
}

/// A page of a column chunk: its row group and its number in the chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct PageRef {
    pub(super) group: usize,
    pub(super) page: usize,
}

impl<'m> Layout<'m> {
    pub(super) fn of(metadata: &'m ParquetMetaData, schema: &SchemaRef, lookup: &Lookup) -> Option<Layout<'m>> {
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

    pub(super) fn pages(&self, group: usize, leaf: usize) -> &[PageLocation] {
        // `of` checked every chunk has its offset index.
        self.metadata.offset_index().expect("checked")[group][leaf].page_locations()
    }

    pub(super) fn rows_in(&self, group: usize) -> u64 {
        self.metadata.row_group(group).num_rows() as u64
    }

    /// The row group of a row of the file, and the row's place in it.
    pub(super) fn locate(&self, position: u64) -> (usize, i64) {
        let group = self.group_starts.partition_point(|&s| s <= position) - 1;
        (group, (position - self.group_starts[group]) as i64)
    }

    /// Per row at `positions` (ascending), whose key is `keys[k]` for its `k`
    /// in `matched`: whether the page index proves its `below.order` pair
    /// below the key's bound. Nothing is proven without a column index of
    /// exact 64-bit maxima for both columns.
    pub(super) fn proven_below(&self, below: &Below, positions: &[u64], matched: &[usize]) -> Vec<bool> {
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
    pub(super) fn key_pages(&self, lookup: &Lookup) -> Vec<PageRef> {
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
    pub(super) fn pages_holding(&self, leaf: usize, positions: &[u64]) -> Vec<PageRef> {
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
    pub(super) fn ranges(&self, leaf: usize, pages: &[PageRef]) -> Vec<Range<u64>> {
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
    pub(super) fn walk(
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
pub(super) enum Encoded<'p> {
    Plain(&'p [u8]),
    /// DELTA_BYTE_ARRAY text (see `prefixed`).
    Prefixed(&'p [u8]),
}

/// The page of a column chunk (its offset index) holding `row` of the row group.
pub(super) fn page_at(pages: &[PageLocation], row: i64) -> Option<usize> {
    pages.partition_point(|p| p.first_row_index <= row).checked_sub(1)
}
