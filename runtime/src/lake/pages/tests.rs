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
