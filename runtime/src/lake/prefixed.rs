//! Text pages in Parquet's DELTA_BYTE_ARRAY encoding, read for the page walk
//! (`pages`): each value is stored as the length of the prefix it shares with
//! the value before it, and the rest of it (its suffix). A page holds the
//! prefix lengths (DELTA_BINARY_PACKED), then the suffix lengths (the same),
//! then the suffixes back to back.
//!
//! Lookup columns are written so (see `properties`): keys sorted in a file
//! share long prefixes (`ari:cloud:jira:<site>:issue/…`), so a value costs a
//! few bytes, pages need no compression, and — what the walk is for — the
//! prefix lengths tell how a value compares with a key without comparing
//! their bytes ([`scan`]).

use std::cmp::Ordering;

use super::lookup::Cursor;

/// Bit widths above this are declined (a page of 32-bit lengths never has
/// them); it lets every value be read with one unaligned 64-bit load.
const MAX_WIDTH: usize = 56;

/// Blocks larger than this are declined (writers use 128 values); it keeps
/// every offset computed from a block far from overflowing.
const MAX_BLOCK: usize = 1 << 16;

/// Reads one DELTA_BINARY_PACKED run of integers from the start of `bytes`
/// into `out` (replacing its contents); returns how many bytes it took.
/// `None` when it is malformed, holds more than `limit` values, or is packed
/// wider than this reader takes.
fn read_packed(bytes: &[u8], limit: usize, out: &mut Vec<i64>) -> Option<usize> {
    let mut at = 0;
    let block = usize::try_from(uleb(bytes, &mut at)?).ok()?;
    let minis = usize::try_from(uleb(bytes, &mut at)?).ok()?;
    let total = usize::try_from(uleb(bytes, &mut at)?).ok()?;
    let first = zigzag(uleb(bytes, &mut at)?);
    out.clear();
    if total == 0 {
        return Some(at);
    }
    // The format requires a multiple of 32 values per miniblock; a multiple
    // of 8 keeps every miniblock whole bytes, all this reader relies on.
    if minis == 0 || block % minis != 0 || (block / minis) % 8 != 0 || block > MAX_BLOCK || total > limit {
        return None;
    }
    let per_mini = block / minis;
    // Filled by index, not pushed: the loop below is the page walk's hottest.
    out.resize(total, 0);
    out[0] = first;
    let mut filled = 1;
    let mut last = first;
    while filled < total {
        let min_delta = zigzag(uleb(bytes, &mut at)?);
        let widths = bytes.get(at..at.checked_add(minis)?)?;
        at += minis;
        for &width in widths {
            // The widths of miniblocks past the last value are present, their
            // bodies are not.
            if filled == total {
                break;
            }
            let width = usize::from(width);
            if width > MAX_WIDTH {
                return None;
            }
            let body_len = per_mini * width / 8;
            if at + body_len > bytes.len() {
                return None;
            }
            let take = per_mini.min(total - filled);
            let run = Run { body: &bytes[at..], min_delta };
            let out = &mut out[filled..filled + take];
            match width {
                0 => out.iter_mut().for_each(|v| *v = run.next(&mut last, 0)),
                1 => run.narrow::<1>(&mut last, out),
                2 => run.narrow::<2>(&mut last, out),
                3 => run.narrow::<3>(&mut last, out),
                4 => run.narrow::<4>(&mut last, out),
                5 => run.narrow::<5>(&mut last, out),
                6 => run.narrow::<6>(&mut last, out),
                7 => run.narrow::<7>(&mut last, out),
                8 => run.narrow::<8>(&mut last, out),
                _ => run.wide(width, &mut last, out),
            }
            filled += take;
            at += body_len;
        }
    }
    Some(at)
}

/// A miniblock's packed deltas (`body` starts at them and may run on past
/// them) and the minimum delta they are over.
struct Run<'b> {
    body: &'b [u8],
    min_delta: i64,
}

impl Run<'_> {
    fn next(&self, last: &mut i64, delta: u64) -> i64 {
        *last = last.wrapping_add(self.min_delta).wrapping_add(delta as i64);
        *last
    }

    /// The 8 bytes from `start` (zeros past the end of the page).
    fn word(&self, start: usize) -> u64 {
        match self.body.get(start..start + 8) {
            Some(word) => u64::from_le_bytes(word.try_into().expect("8 bytes")),
            None => {
                let mut word = [0u8; 8];
                let tail = &self.body[start.min(self.body.len())..];
                word[..tail.len()].copy_from_slice(tail);
                u64::from_le_bytes(word)
            }
        }
    }

    /// Values `W` ≤ 8 bits wide (lengths mostly are), eight to a load: eight
    /// of them take `W` bytes.
    fn narrow<const W: usize>(&self, last: &mut i64, out: &mut [i64]) {
        let mask = (1u64 << W) - 1;
        for (n, eight) in out.chunks_mut(8).enumerate() {
            let word = self.word(n * W);
            for (k, v) in eight.iter_mut().enumerate() {
                *v = self.next(last, (word >> (k * W)) & mask);
            }
        }
    }

    /// Values up to `MAX_WIDTH` bits wide, one load each.
    fn wide(&self, width: usize, last: &mut i64, out: &mut [i64]) {
        let mask = (1u64 << width) - 1;
        for (j, v) in out.iter_mut().enumerate() {
            let bit = j * width;
            *v = self.next(last, (self.word(bit / 8) >> (bit % 8)) & mask);
        }
    }
}

fn uleb(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(*at)?;
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

fn zigzag(n: u64) -> i64 {
    (n >> 1) as i64 ^ -((n & 1) as i64)
}

/// Decoding buffers for DELTA_BYTE_ARRAY pages, reused from page to page.
#[derive(Default)]
pub(super) struct Prefixed {
    prefixes: Vec<i64>,
    suffixes: Vec<i64>,
    /// A value put together from its prefix and suffix.
    value: Vec<u8>,
}

/// One page's values: per value its prefix length and its suffix.
pub(super) struct Page<'p> {
    state: &'p mut Prefixed,
    data: &'p [u8],
}

impl Prefixed {
    /// The `count` values of a page's value bytes; `None` when they are not
    /// a well-formed DELTA_BYTE_ARRAY encoding of `count` values.
    pub(super) fn page<'p>(&'p mut self, bytes: &'p [u8], count: usize) -> Option<Page<'p>> {
        let taken = read_packed(bytes, count, &mut self.prefixes)?;
        let rest = &bytes[taken..];
        let taken_too = read_packed(rest, count, &mut self.suffixes)?;
        if self.prefixes.len() != count || self.suffixes.len() != count {
            return None;
        }
        Some(Page { data: &rest[taken_too..], state: self })
    }
}

impl Page<'_> {
    /// Calls `each(i, prefix, suffix)` for every value in order, having
    /// checked that the prefix is no longer than the value before it and the
    /// suffix lies within the page.
    fn each(&mut self, mut each: impl FnMut(usize, usize, &[u8], &mut Vec<u8>)) -> Result<(), &'static str> {
        let state = &mut *self.state;
        let mut data = self.data;
        let mut before = 0;
        for (i, (&prefix, &suffix)) in state.prefixes.iter().zip(&state.suffixes).enumerate() {
            let prefix =
                usize::try_from(prefix).ok().filter(|&p| p <= before).ok_or("a prefix longer than its value")?;
            let suffix = usize::try_from(suffix).ok().filter(|&s| s <= data.len()).ok_or("a suffix past the page")?;
            let (bytes, rest) = data.split_at(suffix);
            data = rest;
            before = prefix + suffix;
            each(i, prefix, bytes, &mut state.value);
        }
        Ok(())
    }

    /// Calls `each(value)` with the value at each of `wanted` (ascending indices).
    pub(super) fn values_at(&mut self, wanted: &[usize], mut each: impl FnMut(&[u8])) -> Result<(), &'static str> {
        let mut next = 0;
        self.each(|i, prefix, suffix, value| {
            value.truncate(prefix);
            value.extend_from_slice(suffix);
            while wanted.get(next) == Some(&i) {
                each(value);
                next += 1;
            }
        })?;
        if next == wanted.len() { Ok(()) } else { Err("a row past the page's values") }
    }
}

/// Where the value before lies among the sorted keys.
#[derive(Clone, Copy)]
enum Place {
    /// Equal to `keys[j]`.
    At(usize),
    /// Strictly between `keys[j - 1]` and `keys[j]` (either may be absent),
    /// sharing `below` bytes with the first and `above` with the second
    /// (`-1` for an absent key).
    Between { j: usize, below: isize, above: isize },
}

/// Walks a page's values against the sorted `keys` with `cursor`, calling
/// `found(i, k)` for each value `i` equal to `keys[k]`.
///
/// A value is compared with nothing when it shares more bytes with the
/// value before than that value shared with either neighbouring key: it
/// then lies between the same two keys, sharing as much with each. In a
/// file sorted by key that is nearly every value. A value sharing fewer
/// bytes is compared with the neighbouring keys from there on only (its
/// prefix is theirs); only a value not between them any more is put
/// together and placed by the cursor, which takes any order.
pub(super) fn scan(
    page: &mut Page<'_>,
    keys: &[String],
    cursor: &mut Cursor,
    mut found: impl FnMut(usize, usize),
) -> Result<(), &'static str> {
    let mut place = Place::Between { j: 0, below: isize::MAX, above: isize::MAX };
    page.each(|i, prefix, suffix, value| {
        let p = prefix as isize;
        if let Place::Between { j, below, above } = place {
            if p > below && p > above {
                return;
            }
            if i > 0 {
                // Against each neighbour: what the value shares with it, and
                // whether it is still on its side.
                let above = match keys.get(j) {
                    Some(key) if p <= above => side(prefix, suffix, key.as_bytes(), Ordering::Less),
                    _ => Some(above),
                };
                let below = match j.checked_sub(1) {
                    Some(b) if p <= below => side(prefix, suffix, keys[b].as_bytes(), Ordering::Greater),
                    _ => Some(below),
                };
                if let (Some(above), Some(below)) = (above, below) {
                    place = Place::Between { j, below, above };
                    return;
                }
            }
        }
        let base = match place {
            // The first value of a page shares nothing.
            _ if i == 0 => "",
            Place::At(j) => &keys[j],
            Place::Between { j, above, .. } if p <= above => &keys[j],
            Place::Between { j, .. } => &keys[j - 1],
        };
        value.clear();
        value.extend_from_slice(&base.as_bytes()[..prefix]);
        value.extend_from_slice(suffix);
        place = locate(value, keys, cursor);
        if let Place::At(k) = place {
            found(i, k);
        }
    })
}

/// The bytes a value shares with `key`, if the value compares with it as
/// `side`; the value is `key[..prefix]` followed by `suffix`.
fn side(prefix: usize, suffix: &[u8], key: &[u8], side: Ordering) -> Option<isize> {
    let rest = &key[prefix..];
    let shared = common_prefix(suffix, rest);
    let order = match (suffix.get(shared), rest.get(shared)) {
        (Some(a), Some(b)) => a.cmp(b),
        (a, b) => a.is_some().cmp(&b.is_some()),
    };
    (order == side).then_some((prefix + shared) as isize)
}

fn locate(value: &[u8], keys: &[String], cursor: &mut Cursor) -> Place {
    if let Some(k) = cursor.matching(keys, value) {
        return Place::At(k);
    }
    // The cursor is at the first key above the value.
    let j = cursor.at();
    let shared = |k: Option<&String>| k.map_or(-1, |k| common_prefix(value, k.as_bytes()) as isize);
    Place::Between { j, below: shared(j.checked_sub(1).map(|b| &keys[b])), above: shared(keys.get(j)) }
}

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + 8 <= n {
        let x = u64::from_le_bytes(a[i..i + 8].try_into().expect("8 bytes"));
        let y = u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
        if x != y {
            return i + ((x ^ y).trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    i + a[i..n].iter().zip(&b[i..n]).take_while(|(x, y)| x == y).count()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, RecordBatch, StringArray};
    use bytes::Bytes;
    use deltalake::parquet::arrow::ArrowWriter;
    use deltalake::parquet::basic::{Compression, Encoding};
    use deltalake::parquet::column::page::Page;
    use deltalake::parquet::file::properties::WriterProperties;
    use deltalake::parquet::file::reader::{FileReader as _, SerializedFileReader};
    use proptest::prelude::*;

    use super::{Prefixed, scan};
    use crate::lake::lookup::Cursor;

    /// The DELTA_BYTE_ARRAY pages the parquet crate writes for `values`, as
    /// (value count, value bytes).
    fn pages(values: &[String], page_bytes: usize) -> Vec<(usize, Vec<u8>)> {
        let column: ArrayRef = Arc::new(StringArray::from_iter_values(values));
        let batch = RecordBatch::try_from_iter([("k", column)]).unwrap();
        let props = WriterProperties::builder()
            .set_dictionary_enabled(false)
            .set_encoding(Encoding::DELTA_BYTE_ARRAY)
            .set_compression(Compression::UNCOMPRESSED)
            .set_data_page_size_limit(page_bytes)
            .set_write_batch_size(16)
            .build();
        let mut out = Vec::new();
        let mut writer = ArrowWriter::try_new(&mut out, batch.schema(), Some(props)).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        let reader = SerializedFileReader::new(Bytes::from(out)).unwrap();
        let mut pages = Vec::new();
        for g in 0..reader.num_row_groups() {
            let mut page_reader = reader.get_row_group(g).unwrap().get_column_page_reader(0).unwrap();
            while let Some(page) = page_reader.get_next_page().unwrap() {
                let Page::DataPage { buf, num_values, encoding, .. } = page else { panic!("a v1 data page") };
                assert_eq!(encoding, Encoding::DELTA_BYTE_ARRAY);
                pages.push((num_values as usize, buf.to_vec()));
            }
        }
        pages
    }

    fn text() -> impl Strategy<Value = String> {
        // Few letters, so values share prefixes and repeat.
        prop_oneof![Just(String::new()), "[ab]{1,3}", "ari:cloud:x/[0-9]{1,4}", "[a-c]{0,40}"]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// Every value comes back, and the scan finds exactly the values
        /// equal to a key, sorted or not.
        #[test]
        fn reads_and_scans_what_the_parquet_crate_writes(
            mut values in proptest::collection::vec(text(), 1..600),
            mut keys in proptest::collection::vec(text(), 0..40),
            sorted in any::<bool>(),
            page_bytes in prop_oneof![Just(64usize), Just(1024usize)],
        ) {
            if sorted {
                values.sort();
            }
            keys.sort();
            keys.dedup();
            let mut state = Prefixed::default();
            let mut read = Vec::new();
            let mut hits = Vec::new();
            let mut cursor = Cursor::default();
            for (count, bytes) in pages(&values, page_bytes) {
                let mut page = state.page(&bytes, count).expect("well formed");
                let first = read.len();
                let every: Vec<usize> = (0..count).collect();
                page.values_at(&every, |v| read.push(String::from_utf8(v.to_vec()).unwrap())).unwrap();
                let mut page = state.page(&bytes, count).unwrap();
                scan(&mut page, &keys, &mut cursor, |i, k| hits.push((first + i, k))).unwrap();
            }
            prop_assert_eq!(&read, &values);
            let expected: Vec<(usize, usize)> = values
                .iter()
                .enumerate()
                .filter_map(|(i, v)| keys.binary_search(v).ok().map(|k| (i, k)))
                .collect();
            prop_assert_eq!(hits, expected);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// A page with bytes overwritten, cut short, or a wrong value count
        /// is read and scanned without panicking: values, an error, or a
        /// decline.
        #[test]
        fn damaged_pages_are_read_without_panicking(
            values in proptest::collection::vec(text(), 1..60),
            damage in proptest::collection::vec((any::<proptest::sample::Index>(), any::<u8>()), 0..6),
            cut in any::<proptest::sample::Index>(),
            count_shift in -2i64..=2,
        ) {
            let keys: Vec<String> = ["", "a", "ab", "ari:cloud:x/1", "b"].iter().map(|k| k.to_string()).collect();
            let (count, mut page) = pages(&values, 1 << 20).swap_remove(0);
            for (at, byte) in damage {
                let i = at.index(page.len());
                page[i] = byte;
            }
            page.truncate(cut.index(page.len() + 1));
            let count = (count as i64 + count_shift).max(0) as usize;
            let mut state = Prefixed::default();
            if let Some(mut page) = state.page(&page, count) {
                let _ = scan(&mut page, &keys, &mut Cursor::default(), |_, _| {});
            }
            if let Some(mut page) = state.page(&page, count) {
                let every: Vec<usize> = (0..count).collect();
                let _ = page.values_at(&every, |_| {});
            }
        }
    }

    #[test]
    fn malformed_runs_are_declined() {
        let mut out = Vec::new();
        // Truncated header, zero miniblocks, a width too wide for 32-bit lengths.
        assert_eq!(super::read_packed(&[0x80], 9, &mut out), None);
        assert_eq!(super::read_packed(&[128, 1, 0, 4, 2], 9, &mut out), None);
        assert_eq!(super::read_packed(&[128, 1, 4, 2, 0, 0, 60, 0, 0, 0], 9, &mut out), None);
        // One value: just the header.
        assert_eq!(super::read_packed(&[128, 1, 4, 1, 6], 9, &mut out), Some(5));
        assert_eq!(out, [3]);
        // More values than the page holds.
        assert_eq!(super::read_packed(&[128, 1, 4, 10, 6], 9, &mut out), None);
        // A prefix longer than the value before it.
        let mut state = Prefixed::default();
        let mut page = [128, 1, 4, 1, 2].to_vec(); // prefixes: [1]
        page.extend([128, 1, 4, 1, 0]); // suffixes: [0]
        let mut values = state.page(&page, 1).unwrap();
        assert!(values.values_at(&[0], |_| {}).is_err());
    }
}
