//! Parquet page headers, read for the page walk (`pages`) of uncompressed
//! column chunks: what the walk needs of a header, nothing more.
//!
//! A text lookup column is walked page by page, a few hundred values each
//! (see `lookup::TEXT_PAGE_BYTES`), so a large file has tens of thousands of
//! them; the parquet crate's page reader decoded every header in full and
//! shared every page's bytes through a reference-counted buffer — a sixth of
//! a merge's `find` at 10M rows. A header is a Thrift struct in the compact
//! protocol; this reads its few fields and skips the rest (statistics, CRC,
//! future fields) by their wire types.

use deltalake::parquet::basic::Encoding;

/// The page types the walk reads (Parquet's `PageType`).
const DATA_PAGE: i32 = 0;
const DATA_PAGE_V2: i32 = 3;

/// Deeper nesting than this in a header is declined (headers nest two deep).
const MAX_DEPTH: usize = 8;

/// A data page's header.
#[derive(Debug, PartialEq)]
pub(super) struct Header {
    /// The header's own length in bytes: the page's data follows it.
    pub len: usize,
    /// The data's length in bytes (levels and values).
    pub data_len: usize,
    pub num_values: i32,
    /// Parquet's `Encoding` of the values.
    pub encoding: i32,
    /// Nulls in the page (a v2 header says; `None` for a v1 page, whose
    /// levels, if any, are in its data).
    pub num_nulls: Option<i32>,
    /// Bytes of repetition and definition levels before the values (v2).
    pub levels_len: usize,
}

impl Header {
    /// The values' encoding, if it is one the walk reads.
    pub fn encoding(&self) -> Option<Encoding> {
        match self.encoding {
            0 => Some(Encoding::PLAIN),
            7 => Some(Encoding::DELTA_BYTE_ARRAY),
            _ => None,
        }
    }
}

/// The header at the start of `bytes`; `None` for anything but a
/// well-formed data page header (v1 or v2) the walk can take.
pub(super) fn read(bytes: &[u8]) -> Option<Header> {
    let mut r = Reader { bytes, at: 0 };
    let (mut kind, mut data_len) = (None, None);
    let mut page = None;
    r.fields(0, |r, id, ty| {
        match (id, ty) {
            (1, I32) => kind = Some(r.int()?),
            (3, I32) => data_len = Some(usize::try_from(r.int()?).ok()?),
            (5 | 8, STRUCT) => page = Some(r.data_page(id == 8)?),
            _ => r.skip(ty, 1)?,
        }
        Some(())
    })?;
    let (num_values, encoding, num_nulls, levels_len) = page?;
    match (kind?, num_nulls) {
        (DATA_PAGE, None) | (DATA_PAGE_V2, Some(_)) => {}
        _ => return None,
    }
    let data_len = data_len?;
    (levels_len <= data_len).then_some(Header { len: r.at, data_len, num_values, encoding, num_nulls, levels_len })
}

// Compact protocol wire types.
const TRUE: u8 = 1;
const FALSE: u8 = 2;
const BYTE: u8 = 3;
const I16: u8 = 4;
const I32: u8 = 5;
const I64: u8 = 6;
const DOUBLE: u8 = 7;
const BINARY: u8 = 8;
const LIST: u8 = 9;
const SET: u8 = 10;
const MAP: u8 = 11;
const STRUCT: u8 = 12;

struct Reader<'b> {
    bytes: &'b [u8],
    at: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(b)
    }

    fn varint(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }

    fn int(&mut self) -> Option<i32> {
        let n = self.varint()?;
        i32::try_from((n >> 1) as i64 ^ -((n & 1) as i64)).ok()
    }

    /// Calls `each(id, type)` for every field of a struct up to its stop;
    /// `each` reads or skips the field's value.
    fn fields(&mut self, depth: usize, mut each: impl FnMut(&mut Self, i16, u8) -> Option<()>) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        let mut id = 0i16;
        loop {
            let head = self.byte()?;
            if head == 0 {
                return Some(());
            }
            let delta = head >> 4;
            id = if delta == 0 { i16::try_from(self.int()?).ok()? } else { id.checked_add(i16::from(delta))? };
            each(self, id, head & 0x0f)?;
        }
    }

    /// A `DataPageHeader` (v1) or `DataPageHeaderV2`: (values, encoding,
    /// nulls, levels' bytes).
    fn data_page(&mut self, v2: bool) -> Option<(i32, i32, Option<i32>, usize)> {
        let (mut values, mut encoding, mut nulls) = (None, None, None);
        let (mut definition, mut repetition) = (0usize, 0usize);
        self.fields(1, |r, id, ty| {
            match (v2, id, ty) {
                (_, 1, I32) => values = Some(r.int()?),
                (false, 2, I32) | (true, 4, I32) => encoding = Some(r.int()?),
                (true, 2, I32) => nulls = Some(r.int()?),
                (true, 5, I32) => definition = usize::try_from(r.int()?).ok()?,
                (true, 6, I32) => repetition = usize::try_from(r.int()?).ok()?,
                _ => r.skip(ty, 2)?,
            }
            Some(())
        })?;
        if v2 && nulls.is_none() {
            return None;
        }
        Some((values?, encoding?, nulls, definition.checked_add(repetition)?))
    }

    /// Skips a value of wire type `ty`.
    fn skip(&mut self, ty: u8, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        match ty {
            TRUE | FALSE => {}
            BYTE => self.at = self.at.checked_add(1)?,
            I16 | I32 | I64 => {
                self.varint()?;
            }
            DOUBLE => self.at = self.at.checked_add(8)?,
            BINARY => {
                let n = usize::try_from(self.varint()?).ok()?;
                self.at = self.at.checked_add(n)?;
            }
            LIST | SET => {
                let head = self.byte()?;
                let n = match head >> 4 {
                    15 => usize::try_from(self.varint()?).ok()?,
                    n => usize::from(n),
                };
                let element = head & 0x0f;
                for _ in 0..n {
                    // Booleans in a list take a byte each.
                    if matches!(element, TRUE | FALSE) {
                        self.byte()?;
                    } else {
                        self.skip(element, depth + 1)?;
                    }
                }
            }
            MAP => {
                let n = usize::try_from(self.varint()?).ok()?;
                if n > 0 {
                    let types = self.byte()?;
                    for _ in 0..n {
                        self.skip(types >> 4, depth + 1)?;
                        self.skip(types & 0x0f, depth + 1)?;
                    }
                }
            }
            STRUCT => self.fields(depth + 1, |r, _, ty| r.skip(ty, depth + 1))?,
            _ => return None,
        }
        (self.at <= self.bytes.len()).then_some(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
    use bytes::Bytes;
    use deltalake::parquet::arrow::ArrowWriter;
    use deltalake::parquet::basic::{Compression, Encoding};
    use deltalake::parquet::column::page::{Page, PageReader as _};
    use deltalake::parquet::file::metadata::{PageIndexPolicy, ParquetMetaDataReader};
    use deltalake::parquet::file::properties::{WriterProperties, WriterVersion};
    use deltalake::parquet::file::serialized_reader::SerializedPageReader;
    use proptest::prelude::*;

    use super::{Header, read};

    /// A file of a nullable text and an integer column, uncompressed, in
    /// small pages; every page header carrying statistics (to be skipped).
    fn file(v2: bool, encoding: Encoding) -> Bytes {
        let text: ArrayRef = Arc::new(StringArray::from_iter(
            (0..3_000).map(|i| (i % 7 != 0).then(|| format!("ari:cloud:test:item/{i:05}"))),
        ));
        let number: ArrayRef = Arc::new(Int64Array::from_iter_values((0..3_000).map(|i| i * 11)));
        let batch = RecordBatch::try_from_iter([("text", text), ("number", number)]).unwrap();
        let props = WriterProperties::builder()
            .set_writer_version(if v2 { WriterVersion::PARQUET_2_0 } else { WriterVersion::PARQUET_1_0 })
            .set_compression(Compression::UNCOMPRESSED)
            .set_dictionary_enabled(false)
            .set_encoding(Encoding::PLAIN)
            .set_column_encoding("text".into(), encoding)
            .set_data_page_size_limit(1024)
            .set_write_batch_size(100)
            .set_write_page_header_statistics(true)
            .build();
        let mut out = Vec::new();
        let mut writer = ArrowWriter::try_new(&mut out, batch.schema(), Some(props)).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        Bytes::from(out)
    }

    /// Per page of every column: its bytes (from the offset index) and what
    /// the parquet crate's page reader reads of it.
    fn pages(bytes: &Bytes) -> Vec<(Bytes, Page)> {
        let metadata = ParquetMetaDataReader::new()
            .with_page_index_policy(PageIndexPolicy::Required)
            .parse_and_finish(bytes)
            .unwrap();
        let group = metadata.row_group(0);
        let mut out = Vec::new();
        for leaf in 0..group.num_columns() {
            let locations = metadata.offset_index().unwrap()[0][leaf].page_locations().to_vec();
            let mut reader = SerializedPageReader::new(
                Arc::new(bytes.clone()),
                group.column(leaf),
                group.num_rows() as usize,
                Some(locations.clone()),
            )
            .unwrap();
            for location in &locations {
                let start = location.offset as usize;
                let page = reader.get_next_page().unwrap().unwrap();
                out.push((bytes.slice(start..start + location.compressed_page_size as usize), page));
            }
        }
        out
    }

    #[test]
    fn headers_read_as_the_parquet_crate_reads_them() {
        for v2 in [false, true] {
            for encoding in [Encoding::PLAIN, Encoding::DELTA_BYTE_ARRAY] {
                let bytes = file(v2, encoding);
                let pages = pages(&bytes);
                assert!(pages.len() > 10, "{} pages", pages.len());
                for (page_bytes, page) in pages {
                    let header = read(&page_bytes).unwrap_or_else(|| panic!("v2 {v2}, {encoding}: {page:?}"));
                    let expected = match &page {
                        Page::DataPage { buf, num_values, encoding, .. } => Header {
                            len: page_bytes.len() - buf.len(),
                            data_len: buf.len(),
                            num_values: *num_values as i32,
                            encoding: *encoding as i32,
                            num_nulls: None,
                            levels_len: 0,
                        },
                        Page::DataPageV2 {
                            buf,
                            num_values,
                            encoding,
                            num_nulls,
                            def_levels_byte_len,
                            rep_levels_byte_len,
                            ..
                        } => Header {
                            len: page_bytes.len() - buf.len(),
                            data_len: buf.len(),
                            num_values: *num_values as i32,
                            encoding: *encoding as i32,
                            num_nulls: Some(*num_nulls as i32),
                            levels_len: (*def_levels_byte_len + *rep_levels_byte_len) as usize,
                        },
                        other => panic!("not a data page: {other:?}"),
                    };
                    assert_eq!(header, expected);
                    assert_eq!(header.encoding(), Some(page.encoding()));
                }
            }
        }
    }

    proptest! {
        /// Damaged headers (bytes overwritten, cut short) give `None` or a
        /// header, never a panic, and a header read never runs past the bytes.
        #[test]
        fn damaged_headers_are_read_without_panicking(
            v2 in any::<bool>(),
            page in 0usize..20,
            damage in prop::collection::vec((0usize..64, any::<u8>()), 0..6),
            cut in prop::option::of(0usize..80),
        ) {
            let bytes = file(v2, Encoding::PLAIN);
            let pages = pages(&bytes);
            let mut header = pages[page % pages.len()].0.to_vec();
            for (at, byte) in damage {
                let n = header.len();
                header[at % n] = byte;
            }
            if let Some(cut) = cut {
                header.truncate(cut);
            }
            if let Some(h) = read(&header) {
                prop_assert!(h.len <= header.len());
                prop_assert!(h.levels_len <= h.data_len);
            }
        }
    }
}
