//! The merge writer on a table laid out for lookups, large enough that a
//! batch's keys select only some pages of a file: the pruned read must still
//! find every stored row it replaces.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use arrow_array::cast::AsArray as _;
use arrow_array::types::Int64Type;
use arrow_array::{ArrayRef, BooleanArray, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use deltalake::kernel::Transaction;

use super::rows::{GENERATION, ROW_ID, TOMBSTONE, VERSION};
use super::{lookup_columns, writers};
use crate::lake::{ENABLE_DELETION_VECTORS, LOOKUP_COLUMNS, Lake, TableName};

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new(ROW_ID, DataType::Utf8, false),
        Field::new(VERSION, DataType::Int64, false),
        Field::new(TOMBSTONE, DataType::Boolean, false),
        Field::new(GENERATION, DataType::Int64, false),
        Field::new("workspace_id", DataType::Utf8, false),
    ]))
}

/// Rows (key number, version, tombstone), keys spread over two workspaces.
fn rows(rows: &[(usize, i64, bool)]) -> RecordBatch {
    let columns: Vec<ArrayRef> = vec![
        Arc::new(rows.iter().map(|r| Some(format!("ari:cloud:test:site:item/{:06}", r.0))).collect::<StringArray>()),
        Arc::new(rows.iter().map(|r| r.1).collect::<Int64Array>()),
        Arc::new(rows.iter().map(|r| Some(r.2)).collect::<BooleanArray>()),
        Arc::new(Int64Array::from(vec![1; rows.len()])),
        // Characters a partition folder's name escapes (`:`, `/`, `+`, `%`, space):
        // the stored rows are found through those escaped paths.
        Arc::new(
            rows.iter().map(|r| Some(format!("ari:cloud:x::workspace/w+{} 1%", r.0 % 2))).collect::<StringArray>(),
        ),
    ];
    RecordBatch::try_new(schema(), columns).unwrap()
}

/// The table `name` as the merge step makes its targets: laid out for lookups
/// by row id, with deletion vectors, partitioned by workspace.
async fn lookup_table(lake: &Lake, name: &TableName, schema: &SchemaRef) -> crate::lake::Table {
    let lookup = lookup_columns(&[ROW_ID]);
    let properties = [ENABLE_DELETION_VECTORS, (LOOKUP_COLUMNS, lookup.as_str())];
    lake.table_with_properties(name, schema, &["workspace_id"], &properties).await.unwrap()
}

#[test]
fn a_merge_through_the_page_index_replaces_exactly_the_older_stored_rows() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
        let name = TableName::new("m", "t");
        let mut table = lookup_table(&lake, &name, &schema()).await;
        let total = 40_000;
        let mut oracle: BTreeMap<usize, (i64, bool)> = (0..total).map(|k| (k, (5, false))).collect();
        let first: Vec<_> = (0..total).rev().map(|k| (k, 5, false)).collect();
        let written = writers::merge(&mut table, &[rows(&first)], &[ROW_ID], Transaction::new("t", 1)).await.unwrap();
        assert_eq!((written.rows, written.replaced), (total, 0));

        // Newer versions and tombstones replace; older versions lose; new keys land.
        let mut batch = Vec::new();
        for k in (0..total).step_by(997) {
            batch.push((k, 6, k % 3 == 0));
        }
        for k in (500..total).step_by(4001) {
            batch.push((k, 4, false));
        }
        batch.extend([(total + 1, 1, false), (total + 2, 1, true)]);
        let mut replaced = 0;
        for &(k, version, tombstone) in &batch {
            let stored = oracle.get(&k).copied();
            if stored.is_none_or(|(v, _)| version > v) {
                replaced += usize::from(stored.is_some());
                oracle.insert(k, (version, tombstone));
            }
        }
        let written = writers::merge(&mut table, &[rows(&batch)], &[ROW_ID], Transaction::new("t", 2)).await.unwrap();
        assert_eq!(written.replaced, replaced);

        let table = lake.existing(&name).await.unwrap().unwrap();
        let mut stored: BTreeMap<usize, (i64, bool)> = BTreeMap::new();
        for b in table.scan().await.unwrap() {
            let (keys, versions) = (b.column(0).as_string::<i32>(), b.column(1).as_primitive::<Int64Type>());
            let tombstones = b.column(2).as_boolean();
            for i in 0..b.num_rows() {
                let k: usize = keys.value(i).rsplit('/').next().unwrap().parse().unwrap();
                assert!(stored.insert(k, (versions.value(i), tombstones.value(i))).is_none(), "key {k} twice");
            }
        }
        assert_eq!(stored, oracle);
    });
}

/// A merge into a table an earlier release created: the build's new nullable
/// column is added, stored rows it replaces are found (their files lack the
/// column), and the rows it leaves alone read it as NULL.
#[test]
fn a_merge_after_a_column_was_added_replaces_the_rows_written_before() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
        let name = TableName::new("m", "t");
        let mut table = lookup_table(&lake, &name, &schema()).await;
        let first: Vec<_> = (0..100).map(|k| (k, 1, false)).collect();
        writers::merge(&mut table, &[rows(&first)], &[ROW_ID], Transaction::new("t", 1)).await.unwrap();

        let mut fields: Vec<Field> = schema().fields().iter().map(|f| f.as_ref().clone()).collect();
        fields.insert(1, Field::new("note", DataType::Utf8, true));
        let v2: SchemaRef = Arc::new(Schema::new(fields));
        let mut table = lookup_table(&lake, &name, &v2).await;
        let newer: Vec<_> = (0..100).step_by(10).map(|k| (k, 2, false)).collect();
        let old = rows(&newer);
        let mut columns = old.columns().to_vec();
        columns.insert(1, Arc::new(newer.iter().map(|r| Some(format!("n{}", r.0))).collect::<StringArray>()));
        let batch = RecordBatch::try_new(v2.clone(), columns).unwrap();
        let written = writers::merge(&mut table, &[batch], &[ROW_ID], Transaction::new("t", 2)).await.unwrap();
        assert_eq!((written.rows, written.replaced), (10, 10));

        let table = lake.existing(&name).await.unwrap().unwrap();
        let mut stored: BTreeMap<usize, (i64, Option<String>)> = BTreeMap::new();
        for b in table.scan().await.unwrap() {
            let keys = b.column_by_name(ROW_ID).unwrap().as_string::<i32>().clone();
            let versions = b.column_by_name(VERSION).unwrap().as_primitive::<Int64Type>().clone();
            let notes = b.column_by_name("note").unwrap().as_string::<i32>().clone();
            for i in 0..b.num_rows() {
                let k: usize = keys.value(i).rsplit('/').next().unwrap().parse().unwrap();
                let note = arrow_array::Array::is_valid(&notes, i).then(|| notes.value(i).to_string());
                assert!(stored.insert(k, (versions.value(i), note)).is_none(), "key {k} twice");
            }
        }
        let want: BTreeMap<usize, (i64, Option<String>)> =
            (0..100).map(|k| (k, if k % 10 == 0 { (2, Some(format!("n{k}"))) } else { (1, None) })).collect();
        assert_eq!(stored, want);
    });
}

/// Within a fill on top of a table's rows (`filled`: the files the fill has
/// written), a stored row of any other file gives way to the fill's row of
/// the same version whatever the content — also once an `optimize` between
/// two chunks has rewritten the old rows into a new file. Without the fill,
/// the content decides the tie.
#[test]
fn in_a_fill_rows_of_files_it_did_not_write_give_way_to_the_same_version() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
        let name = TableName::new("m", "t");
        let mut fields: Vec<Field> = schema().fields().iter().map(|f| f.as_ref().clone()).collect();
        fields.push(Field::new("note", DataType::Utf8, true));
        let with_note: SchemaRef = Arc::new(Schema::new(fields));
        let noted = |keys: std::ops::Range<usize>, note: &str| {
            let keys: Vec<_> = keys.map(|k| (k, 5, false)).collect();
            let mut columns = rows(&keys).columns().to_vec();
            columns.push(Arc::new(StringArray::from(vec![note; keys.len()])));
            RecordBatch::try_new(with_note.clone(), columns).unwrap()
        };
        let mut table = lookup_table(&lake, &name, &with_note).await;
        // An older SQL's rows: their content sorts after the fill's.
        writers::merge(&mut table, &[noted(0..100, "z-old")], &[ROW_ID], Transaction::new("t", 1)).await.unwrap();
        // Without a fill, the same version with other content loses the tie.
        let mut probe = lake.existing(&name).await.unwrap().unwrap();
        let w = writers::merge(&mut probe, &[noted(0..1, "a-new")], &[ROW_ID], Transaction::new("t", 1)).await.unwrap();
        assert_eq!((w.rows, w.replaced), (0, 0));

        let mut filled = HashSet::new();
        let mut table = lake.existing(&name).await.unwrap().unwrap();
        let txn = || vec![Transaction::new("t", 2)];
        let w =
            writers::merge_over(&mut table, &[noted(0..50, "a-new")], &[ROW_ID], txn(), Some(&filled)).await.unwrap();
        assert_eq!(w.replaced, 50);
        filled.extend(table.last_added().iter().cloned());
        // An optimize between the chunks: old rows and the fill's in new files.
        let optimized = crate::maintain::optimize_table(&lake, &name, &[ROW_ID]).await.unwrap();
        assert!(optimized.partitions > 0, "{optimized:?}");
        let mut table = lake.existing(&name).await.unwrap().unwrap();
        let w =
            writers::merge_over(&mut table, &[noted(50..100, "a-new")], &[ROW_ID], txn(), Some(&filled)).await.unwrap();
        assert_eq!(w.replaced, 50);

        let table = lake.existing(&name).await.unwrap().unwrap();
        let mut stored = BTreeMap::new();
        for b in table.scan().await.unwrap() {
            let keys = b.column_by_name(ROW_ID).unwrap().as_string::<i32>().clone();
            let notes = b.column_by_name("note").unwrap().as_string::<i32>().clone();
            for i in 0..b.num_rows() {
                assert!(stored.insert(keys.value(i).to_string(), notes.value(i).to_string()).is_none());
            }
        }
        assert_eq!(stored.len(), 100);
        assert!(stored.values().all(|n| n == "a-new"), "{stored:?}");
    });
}

/// A merge that gave up on its races says why it lost and what to look at.
#[test]
fn a_merge_that_kept_losing_races_asks_whether_another_merge_runs() {
    let lost = crate::lake::LakeError::Conflict {
        table: "jira.jira_board".into(),
        message: "a concurrent commit added rows to a partition this merge read (`ws=1/part-0.parquet`)".into(),
    };
    assert_eq!(
        super::MergeError::Raced { source: lost }.to_string(),
        "table `jira.jira_board`: a concurrent commit added rows to a partition this merge read \
         (`ws=1/part-0.parquet`); it lost to a concurrent commit 5 times in a row: is another `merge` or `run` of \
         this lake running? Run one per lake at a time. Nothing was lost: the next merge goes on from the last commit"
    );
}
