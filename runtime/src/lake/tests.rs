//! The lake against real Delta tables in a temporary directory.

use std::sync::Arc;

use arrow_array::{Array as _, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use deltalake::kernel::{Action, Transaction};
use roaring::RoaringTreemap;

use super::{DataFile, ENABLE_DELETION_VECTORS, KeyValues, LOOKUP_COLUMNS, Lake, Lookup, Scope, TableName};

fn schema(value_type: DataType) -> arrow_schema::SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("ws", DataType::Utf8, false),
        Field::new("id", DataType::Int64, false),
        Field::new("value", value_type, true),
    ]))
}

/// Runs `test` on a lake in a fresh temporary directory.
fn on_a_lake<F: std::future::Future<Output = ()>>(test: impl FnOnce(Lake) -> F) {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(test(Lake::open(dir.path().to_str().unwrap()).unwrap()));
}

fn rows(schema: &arrow_schema::SchemaRef, ws: &[&str], ids: &[i64], values: &[Option<&str>]) -> RecordBatch {
    let columns: Vec<arrow_array::ArrayRef> = vec![
        Arc::new(StringArray::from(ws.to_vec())),
        Arc::new(Int64Array::from(ids.to_vec())),
        Arc::new(StringArray::from(values.to_vec())),
    ];
    RecordBatch::try_new(schema.clone(), columns).unwrap()
}

#[test]
fn appends_commit_rows_with_their_txn_and_a_table_keeps_its_layout() {
    on_a_lake(|lake| async move {
        let name = TableName::new("s", "t");

        let s = schema(DataType::Utf8);
        let mut t = lake.table(&name, &s, &["ws"]).await.unwrap();
        let batch = rows(&s, &["a", "b", "a"], &[1, 2, 3], &[Some("x"), None, Some("z")]);
        let v = t.append(&[batch], Some(Transaction::new("src/seg", 42))).await.unwrap();
        assert_eq!(v, 1);
        // Only a txn: a commit without rows.
        assert_eq!(t.append(&[], Some(Transaction::new("src/seg", 50))).await.unwrap(), 2);
        let t = lake.existing(&name).await.unwrap().unwrap();
        assert_eq!(t.txn_version("src/seg").await.unwrap(), Some(50));
        assert_eq!(t.txn_version("other").await.unwrap(), None);
        assert_eq!(t.row_count().await.unwrap(), 3);
        let mut ids: Vec<(String, i64)> = Vec::new();
        for b in t.scan().await.unwrap() {
            let ws = b.column(0).as_any().downcast_ref::<StringArray>().unwrap();
            let id = b.column(1).as_any().downcast_ref::<Int64Array>().unwrap();
            ids.extend((0..b.num_rows()).map(|i| (ws.value(i).to_string(), id.value(i))));
        }
        ids.sort();
        assert_eq!(ids, [("a".into(), 1), ("a".into(), 3), ("b".into(), 2)]);
        assert_eq!(lake.list().unwrap(), std::slice::from_ref(&name));
        // The same name with a column retyped or another partitioning is refused, not altered.
        let err = lake.table(&name, &schema(DataType::Int64), &["ws"]).await.err().unwrap();
        assert!(err.to_string().contains("column `value` is string in the table and long"), "{err}");
        let err = lake.table(&name, &schema(DataType::Utf8), &[]).await.err().unwrap();
        assert!(err.to_string().contains("partitioned by"), "{err}");
        assert!(lake.existing(&TableName::new("s", "missing")).await.unwrap().is_none());
    });
}

/// Expand-contract reaches the tables: a build that adds a nullable column and
/// drops another writes into the table as it is (the new column added after the
/// old ones, the dropped one left NULL), and an older build still writes after.
#[test]
fn a_table_takes_added_and_dropped_nullable_columns() {
    on_a_lake(|lake| async move {
        let name = TableName::new("s", "t");
        let v1 = schema(DataType::Utf8);
        let mut t = lake.table(&name, &v1, &["ws"]).await.unwrap();
        t.append(&[rows(&v1, &["a"], &[1], &[Some("one")])], None).await.unwrap();

        // v2: `note` added before `id`, `value` dropped.
        let v2 = Arc::new(Schema::new(vec![
            Field::new("ws", DataType::Utf8, false),
            Field::new("note", DataType::Utf8, true),
            Field::new("id", DataType::Int64, false),
        ]));
        let mut t = lake.table(&name, &v2, &["ws"]).await.unwrap();
        let names: Vec<String> = t.schema().unwrap().fields().iter().map(|f| f.name().clone()).collect();
        assert_eq!(names, ["ws", "id", "value", "note"], "added after the existing columns");
        let batch = RecordBatch::try_new(
            v2.clone(),
            vec![
                Arc::new(StringArray::from(vec!["b"])),
                Arc::new(StringArray::from(vec![Some("two")])),
                Arc::new(Int64Array::from(vec![2])),
            ],
        )
        .unwrap();
        t.append(&[batch], None).await.unwrap();
        // v1 again (a release not yet rolled out everywhere): its rows land too.
        let mut t = lake.table(&name, &v1, &["ws"]).await.unwrap();
        t.append(&[rows(&v1, &["a"], &[3], &[Some("three")])], None).await.unwrap();

        let t = lake.existing(&name).await.unwrap().unwrap();
        let mut got: Vec<(i64, Option<String>, Option<String>)> = Vec::new();
        for b in t.scan().await.unwrap() {
            let col = |n: &str| b.column_by_name(n).unwrap().as_any().downcast_ref::<StringArray>().unwrap().clone();
            let (id, value, note) = (b.column_by_name("id").unwrap(), col("value"), col("note"));
            let id = id.as_any().downcast_ref::<Int64Array>().unwrap();
            for i in 0..b.num_rows() {
                let text = |a: &StringArray| a.is_valid(i).then(|| a.value(i).to_string());
                got.push((id.value(i), text(&value), text(&note)));
            }
        }
        got.sort();
        assert_eq!(
            got,
            [(1, Some("one".into()), None), (2, None, Some("two".into())), (3, Some("three".into()), None)]
        );
        // A new column NOT NULL cannot be added to rows already written.
        let strict = Arc::new(Schema::new(vec![
            Field::new("ws", DataType::Utf8, false),
            Field::new("id", DataType::Int64, false),
            Field::new("must", DataType::Utf8, false),
        ]));
        let err = lake.table(&name, &strict, &["ws"]).await.err().unwrap();
        assert!(err.to_string().contains("`must` is new and NOT NULL"), "{err}");
    });
}

/// The structs of an array column (an array field of structs) evolve like
/// the table's columns: a build that declares the struct's fields in another
/// order, adds a nullable one and drops one writes into the table as it is
/// (the new child after the table's, the dropped one NULL), the files written
/// before read NULL for the child they lack, and the first build still writes.
#[test]
fn the_structs_of_an_array_column_take_reordered_added_and_dropped_fields() {
    use arrow_array::builder::{ListBuilder, StringBuilder, StructBuilder};
    use arrow_schema::Fields;
    fn items(children: &[&str]) -> Fields {
        children.iter().map(|c| Field::new(*c, DataType::Utf8, true)).collect()
    }
    fn schema_of(children: &[&str]) -> arrow_schema::SchemaRef {
        let item = Field::new("item", DataType::Struct(items(children)), true);
        Arc::new(Schema::new(vec![
            Field::new("ws", DataType::Utf8, false),
            Field::new("id", DataType::Int64, false),
            Field::new("parts", DataType::List(Arc::new(item)), true),
        ]))
    }
    // One row per id, each with one struct of `children` holding `<child><id>`.
    fn batch(children: &[&str], ids: &[i64]) -> RecordBatch {
        let builders =
            children.iter().map(|_| Box::new(StringBuilder::new()) as Box<dyn arrow_array::builder::ArrayBuilder>);
        let mut parts = ListBuilder::new(StructBuilder::new(items(children), builders.collect()))
            .with_field(Arc::new(Field::new("item", DataType::Struct(items(children)), true)));
        for id in ids {
            let s = parts.values();
            for (i, c) in children.iter().enumerate() {
                s.field_builder::<StringBuilder>(i).unwrap().append_value(format!("{c}{id}"));
            }
            s.append(true);
            parts.append(true);
        }
        let columns: Vec<arrow_array::ArrayRef> = vec![
            Arc::new(StringArray::from(vec!["a"; ids.len()])),
            Arc::new(Int64Array::from(ids.to_vec())),
            Arc::new(parts.finish()),
        ];
        RecordBatch::try_new(schema_of(children), columns).unwrap()
    }
    on_a_lake(|lake| async move {
        let name = TableName::new("s", "t");
        let mut t = lake.table(&name, &schema_of(&["x", "y", "z"]), &["ws"]).await.unwrap();
        t.append(&[batch(&["x", "y", "z"], &[1])], None).await.unwrap();
        // Reordered, `w` added, `z` dropped.
        let mut t = lake.table(&name, &schema_of(&["y", "w", "x"]), &["ws"]).await.unwrap();
        let DataType::List(item) = t.schema().unwrap().field_with_name("parts").unwrap().data_type().clone() else {
            panic!("a list")
        };
        assert_eq!(
            item.data_type(),
            &DataType::Struct(items(&["x", "y", "z", "w"])),
            "the new child after the table's"
        );
        t.append(&[batch(&["y", "w", "x"], &[2])], None).await.unwrap();
        let mut t = lake.table(&name, &schema_of(&["x", "y", "z"]), &["ws"]).await.unwrap();
        t.append(&[batch(&["x", "y", "z"], &[3])], None).await.unwrap();

        let t = lake.existing(&name).await.unwrap().unwrap();
        let mut got: Vec<(i64, Vec<Option<String>>)> = Vec::new();
        for b in t.scan().await.unwrap() {
            let ids = b.column_by_name("id").unwrap().as_any().downcast_ref::<Int64Array>().unwrap().clone();
            let lists =
                b.column_by_name("parts").unwrap().as_any().downcast_ref::<arrow_array::ListArray>().unwrap().clone();
            for i in 0..b.num_rows() {
                let one = lists.value(i);
                let s = one.as_any().downcast_ref::<arrow_array::StructArray>().unwrap();
                let text = |c: &str| {
                    let a = s.column_by_name(c).unwrap().as_any().downcast_ref::<StringArray>().unwrap();
                    a.is_valid(0).then(|| a.value(0).to_string())
                };
                got.push((ids.value(i), ["x", "y", "z", "w"].map(text).to_vec()));
            }
        }
        got.sort();
        let some = |v: &str| Some(v.to_string());
        assert_eq!(
            got,
            [
                (1, vec![some("x1"), some("y1"), some("z1"), None]),
                (2, vec![some("x2"), some("y2"), None, some("w2")]),
                (3, vec![some("x3"), some("y3"), some("z3"), None]),
            ]
        );
        // A child whose type changed is still a type change.
        let retyped = Arc::new(Schema::new(vec![
            Field::new("ws", DataType::Utf8, false),
            Field::new("id", DataType::Int64, false),
            Field::new(
                "parts",
                DataType::List(Arc::new(Field::new(
                    "item",
                    DataType::Struct(vec![Field::new("x", DataType::Int64, true)].into()),
                    true,
                ))),
                true,
            ),
        ]));
        let err = lake.table(&name, &retyped, &["ws"]).await.err().unwrap();
        assert!(err.to_string().contains("column `parts`"), "{err}");
    });
}

/// A rolling deploy: an older release's ingest holds the table open while a
/// newer release adds a column. The older one's next commits land (on top of
/// the evolution, their files without the column read as NULL) rather than
/// failing on the metadata change; its own progress from another process
/// still conflicts.
#[test]
fn an_append_lands_on_top_of_another_release_adding_a_column() {
    on_a_lake(|lake| async move {
        let name = TableName::new("s", "t");
        let v1 = schema(DataType::Utf8);
        let mut old = lake.table(&name, &v1, &["ws"]).await.unwrap();
        old.append(&[rows(&v1, &["a"], &[1], &[Some("one")])], Some(Transaction::new("src/a", 1))).await.unwrap();

        let v2 = Arc::new(Schema::new(vec![
            Field::new("ws", DataType::Utf8, false),
            Field::new("id", DataType::Int64, false),
            Field::new("value", DataType::Utf8, true),
            Field::new("note", DataType::Utf8, true),
        ]));
        let mut new = lake.table(&name, &v2, &["ws"]).await.unwrap();
        let with_note = |id: i64| {
            RecordBatch::try_new(
                v2.clone(),
                vec![
                    Arc::new(StringArray::from(vec!["b"])),
                    Arc::new(Int64Array::from(vec![id])),
                    Arc::new(StringArray::from(vec![None::<&str>])),
                    Arc::new(StringArray::from(vec![Some("n")])),
                ],
            )
            .unwrap()
        };
        new.append(&[with_note(2)], Some(Transaction::new("src/b", 1))).await.unwrap();

        // The older handle read the table before `note` existed.
        old.append(&[rows(&v1, &["a"], &[3], &[Some("three")])], Some(Transaction::new("src/a", 2))).await.unwrap();
        // Its next write goes through a writer for the table as it is now.
        old.append(&[rows(&v1, &["a"], &[4], &[Some("four")])], Some(Transaction::new("src/a", 3))).await.unwrap();
        new.append(&[with_note(5)], Some(Transaction::new("src/b", 2))).await.unwrap();

        let t = lake.existing(&name).await.unwrap().unwrap();
        assert_eq!(t.txn_version("src/a").await.unwrap(), Some(3));
        let mut got: Vec<(i64, Option<String>)> = Vec::new();
        for b in t.scan().await.unwrap() {
            let id = b.column_by_name("id").unwrap().as_any().downcast_ref::<Int64Array>().unwrap().clone();
            let note = b.column_by_name("note").unwrap().as_any().downcast_ref::<StringArray>().unwrap().clone();
            got.extend((0..b.num_rows()).map(|i| (id.value(i), note.is_valid(i).then(|| note.value(i).to_string()))));
        }
        got.sort();
        assert_eq!(got, [(1, None), (2, Some("n".into())), (3, None), (4, None), (5, Some("n".into()))]);

        // Progress under the older handle's own app id, committed by another
        // process in between, is still a conflict (a second ingest of a source).
        let mut other = lake.existing(&name).await.unwrap().unwrap();
        other.append(&[], Some(Transaction::new("src/a", 4))).await.unwrap();
        let err =
            old.append(&[rows(&v1, &["a"], &[6], &[None])], Some(Transaction::new("src/a", 4))).await.unwrap_err();
        assert!(err.is_conflict(), "{err}");
    });
}

/// What makes maintenance safe beside merges: a commit that removes a file
/// a concurrent commit already removed is refused as a conflict (and the
/// caller redoes it), never applied over the other.
#[test]
fn removing_a_file_a_concurrent_commit_removed_is_a_conflict() {
    on_a_lake(|lake| async move {
        let name = TableName::new("s", "t");

        let s = schema(DataType::Utf8);
        let mut t = lake.table(&name, &s, &["ws"]).await.unwrap();
        for id in [1, 2] {
            let batch = rows(&s, &["a"], &[id], &[Some("x")]);
            t.append(&[batch], None).await.unwrap();
        }
        // Two handles on version 2: one compacts, the other (stale) merges.
        let mut compactor = lake.existing(&name).await.unwrap().unwrap();
        let mut merger = lake.existing(&name).await.unwrap().unwrap();
        let files = compactor.files().await.unwrap();
        let mut rows = Vec::new();
        for f in &files {
            rows.extend(compactor.read_file(f).await.unwrap());
        }
        compactor.compact(&rows, files.iter().map(|f| f.remove.clone()).collect()).await.unwrap();
        let stale = merger.files().await.unwrap();
        let err = merger.replace(&[], vec![Action::Remove(stale[0].remove.clone())], None, None).await.unwrap_err();
        assert!(err.is_conflict(), "{err}");
        // Redone on the fresh state, the merge sees the compacted file.
        let mut merger = lake.existing(&name).await.unwrap().unwrap();
        let fresh = merger.files().await.unwrap();
        assert_eq!(fresh.len(), 1);
        merger.replace(&[], vec![Action::Remove(fresh[0].remove.clone())], None, None).await.unwrap();
        assert_eq!(merger.row_count().await.unwrap(), 0);
    });
}

fn ids(batches: &[RecordBatch]) -> Vec<i64> {
    let mut out: Vec<i64> = batches
        .iter()
        .flat_map(|b| b.column(1).as_any().downcast_ref::<Int64Array>().unwrap().values().to_vec())
        .collect();
    out.sort();
    out
}

/// Rows marked in a deletion vector disappear from every read and count,
/// marks accumulate across commits, and a table without the feature
/// refuses them.
#[test]
fn marked_rows_are_hidden_and_marks_accumulate() {
    on_a_lake(|lake| async move {
        let s = schema(DataType::Utf8);
        let name = TableName::new("s", "dv");
        let mut t = lake.table_with_properties(&name, &s, &["ws"], &[ENABLE_DELETION_VECTORS]).await.unwrap();
        assert!(t.has_deletion_vectors().unwrap());
        let values = [Some("v"); 5];
        t.append(&[rows(&s, &["a"; 5], &[10, 11, 12, 13, 14], &values)], None).await.unwrap();
        let file = t.files().await.unwrap().remove(0);
        let (keys, positions, deleted) = t.live_keys(&file, &["id"]).await.unwrap();
        assert_eq!((keys.num_columns(), positions, deleted.len()), (1, vec![0, 1, 2, 3, 4], 0));
        let marks = t.mark(vec![(file, [1u64, 3].into_iter().collect())]).await.unwrap();
        t.replace(&[], marks, Some(Transaction::new("m", 1)), None).await.unwrap();
        let t2 = lake.existing(&name).await.unwrap().unwrap();
        assert_eq!(ids(&t2.scan().await.unwrap()), [10, 12, 14]);
        assert_eq!(t2.row_count().await.unwrap(), 3);
        // A second mark adds to the first; positions stay physical.
        let file = t.files().await.unwrap().remove(0);
        let (_, positions, deleted) = t.live_keys(&file, &["id"]).await.unwrap();
        assert_eq!(positions, [0, 2, 4]);
        assert_eq!(ids(&[t.rows_at(&file, &[2, 4]).await.unwrap()]), [12, 14]);
        let mut more = deleted;
        more.insert(4);
        let marks = t.mark(vec![(file, more)]).await.unwrap();
        t.replace(&[rows(&s, &["a"], &[99], &[None])], marks, None, None).await.unwrap();
        let t2 = lake.existing(&name).await.unwrap().unwrap();
        assert_eq!(ids(&t2.scan().await.unwrap()), [10, 12, 99]);
        assert_eq!(t2.row_count().await.unwrap(), 3);
        assert_eq!(t2.files().await.unwrap().len(), 2);
        // Without the feature, marking is refused.
        let plain = TableName::new("s", "plain");
        let mut p = lake.table(&plain, &s, &["ws"]).await.unwrap();
        p.append(&[rows(&s, &["a"], &[1], &[None])], None).await.unwrap();
        let file = p.files().await.unwrap().remove(0);
        let err = p.mark(vec![(file, RoaringTreemap::from_iter([0u64]))]).await.unwrap_err();
        assert!(err.to_string().contains("deletionVectors"), "{err}");
    });
}

/// Merges into different partitions do not conflict: the one that lost
/// the race commits on top of the other. A merge whose partition changed
/// meanwhile does conflict, and so does one without a scope.
#[test]
fn merges_conflict_only_within_their_partitions() {
    on_a_lake(|lake| async move {
        let name = TableName::new("s", "t");

        let s = schema(DataType::Utf8);
        let mut t = lake.table(&name, &s, &["ws"]).await.unwrap();
        t.append(&[rows(&s, &["a", "b"], &[1, 2], &[None, None])], None).await.unwrap();
        let scope = |ws: &str| Scope { partitions: [vec![Some(ws.to_string())]].into_iter().collect() };
        let file_of = |files: &[DataFile], ws: &str| {
            let f = files.iter().find(|f| f.partition_values["ws"].as_deref() == Some(ws)).unwrap();
            Action::Remove(f.remove.clone())
        };
        let mut handles = Vec::new();
        for _ in 0..4 {
            handles.push(lake.existing(&name).await.unwrap().unwrap());
        }
        let files = t.files().await.unwrap();
        let [m1, m2, m3, m4] = &mut handles[..] else { unreachable!() };
        let (a, b) = (scope("a"), scope("b"));
        m1.replace(&[rows(&s, &["a"], &[3], &[None])], vec![file_of(&files, "a")], None, Some(&a)).await.unwrap();
        m2.replace(&[rows(&s, &["b"], &[4], &[None])], vec![file_of(&files, "b")], None, Some(&b)).await.unwrap();
        let t = lake.existing(&name).await.unwrap().unwrap();
        assert_eq!(ids(&t.scan().await.unwrap()), [3, 4]);
        // Stale on partition a, which m1 changed.
        let err = m3.replace(&[rows(&s, &["a"], &[5], &[None])], vec![], None, Some(&a)).await.unwrap_err();
        assert!(err.is_conflict() && err.to_string().contains("partition this merge read"), "{err}");
        // Without a scope, any concurrent data change conflicts.
        let err = m4.replace(&[rows(&s, &["c"], &[6], &[None])], vec![], None, None).await.unwrap_err();
        assert!(err.is_conflict(), "{err}");
        assert_eq!(ids(&lake.existing(&name).await.unwrap().unwrap().scan().await.unwrap()), [3, 4]);
    });
}

/// A table with lookup columns is written in small pages, and a lookup reads
/// only the pages that may hold its values: exactly the rows holding one come
/// back, with their physical positions, deleted rows do not, and far fewer
/// rows than the file holds are decoded. A file written otherwise gives the
/// same rows through Arrow, decoding it whole.
#[test]
fn lookups_read_only_the_pages_that_may_hold_the_keys() {
    on_a_lake(|lake| async move {
        let s = Arc::new(Schema::new(vec![
            Field::new("ws", DataType::Utf8, false),
            Field::new("key", DataType::Utf8, false),
            Field::new("n", DataType::Int64, false),
        ]));
        let name = TableName::new("s", "lookup");
        let properties = [ENABLE_DELETION_VECTORS, (LOOKUP_COLUMNS, "key,n")];
        let mut t = lake.table_with_properties(&name, &s, &["ws"], &properties).await.unwrap();
        let total = 20_000;
        let keys: StringArray = (0..total).map(|i| Some(format!("ari:cloud:test:site:item/{i:06}"))).collect();
        let columns: Vec<arrow_array::ArrayRef> = vec![
            Arc::new(StringArray::from(vec!["a"; total])),
            Arc::new(keys),
            Arc::new(Int64Array::from_iter_values(0..total as i64)),
        ];
        t.append(&[RecordBatch::try_new(s.clone(), columns).unwrap()], None).await.unwrap();
        let file = t.files().await.unwrap().remove(0);
        let text = |ids: &[usize]| Lookup {
            column: "key".into(),
            values: KeyValues::Strings(ids.iter().map(|i| format!("ari:cloud:test:site:item/{i:06}")).collect()),
            below: None,
        };
        let numbers = |m: &crate::lake::Matches| -> Vec<i64> {
            m.rows.column(1).as_any().downcast_ref::<Int64Array>().unwrap().values().to_vec()
        };

        let lookup = text(&[100, 15_000, 25_000]);
        let found = t.rows_holding(&file, &["key", "n"], &lookup).await.unwrap();
        assert_eq!(found.positions, [100, 15_000]);
        assert_eq!(numbers(&found), [100, 15_000]);
        assert!(found.decoded < total / 20, "decoded {} of {total} rows", found.decoded);

        // A deleted row is not read back; the other key still is.
        let marks = t.mark(vec![(file, [100u64].into_iter().collect())]).await.unwrap();
        t.replace(&[], marks, None, None).await.unwrap();
        let file = t.files().await.unwrap().remove(0);
        let found = t.rows_holding(&file, &["key", "n"], &lookup).await.unwrap();
        assert!(found.deleted.contains(100));
        assert_eq!(
            (found.positions.as_slice(), numbers(&found).as_slice()),
            ([15_000].as_slice(), [15_000].as_slice())
        );

        // Integer values prune pages the same way (their rows are a superset);
        // a value in no page reads nothing.
        let seven = Lookup { column: "n".into(), values: KeyValues::Integers(vec![7_000]), below: None };
        let found = t.rows_holding(&file, &["n"], &seven).await.unwrap();
        assert!(found.positions.contains(&7_000) && found.decoded < total / 10, "decoded {}", found.decoded);
        let absent = Lookup { column: "n".into(), values: KeyValues::Integers(vec![total as i64 + 5]), below: None };
        assert!(!absent.may_hold(&file));
        assert_eq!(t.rows_holding(&file, &["n"], &absent).await.unwrap().positions, Vec::<u64>::new());

        // Without lookup columns a table is written as delta-rs writes it
        // (dictionary-encoded): the same rows, through Arrow, the whole file decoded.
        let plain = TableName::new("s", "plain");
        let mut p = lake.table(&plain, &s, &["ws"]).await.unwrap();
        let batch = t.scan().await.unwrap();
        p.append(&batch, None).await.unwrap();
        let file = p.files().await.unwrap().remove(0);
        let found = p.rows_holding(&file, &["key", "n"], &lookup).await.unwrap();
        assert_eq!((found.positions.as_slice(), found.decoded), ([14_999].as_slice(), total - 1));
        assert_eq!(numbers(&found), [15_000]);
    });
}

/// A partition's rows beyond the table's target file size go to further files.
#[test]
fn writes_roll_files_at_the_tables_target_size() {
    on_a_lake(|lake| async move {
        let s = schema(DataType::Utf8);
        let name = TableName::new("s", "sized");
        let mut t = lake.table_with_properties(&name, &s, &["ws"], &[("delta.targetFileSize", "65536")]).await.unwrap();
        let n = 60_000;
        let numbers: Vec<i64> = (0..n).collect();
        let values: Vec<String> =
            numbers.iter().map(|i| format!("value {i} with some text to fill the file")).collect();
        let values: Vec<Option<&str>> = values.iter().map(|v| Some(v.as_str())).collect();
        t.append(&[rows(&s, &vec!["a"; n as usize], &numbers, &values)], None).await.unwrap();
        let files = t.files().await.unwrap();
        assert!(files.len() > 1, "{} file(s)", files.len());
        assert_eq!(t.row_count().await.unwrap(), n as u64);
        assert_eq!(ids(&t.scan().await.unwrap()), numbers);
    });
}

/// A batch over more partitions than the writer holds open is flushed to files
/// as it is written (memory stays bounded: 20,000 workspaces peaked at 9.4 GB
/// before, 374 MB after), and the one commit adds every file.
#[test]
fn a_batch_over_many_partitions_lands_whole_in_one_commit() {
    on_a_lake(|lake| async move {
        let name = TableName::new("s", "t");
        let s = schema(DataType::Utf8);
        let mut t = lake.table(&name, &s, &["ws"]).await.unwrap();
        let n = super::write::OPEN_PARTITIONS * 2 + 7;
        let ws: Vec<String> = (0..n).map(|i| format!("ws-{i:04}")).collect();
        let keys: Vec<i64> = (0..n as i64).collect();
        let batch = rows(&s, &ws.iter().map(String::as_str).collect::<Vec<_>>(), &keys, &vec![None; n]);
        let version = t.append(&[batch], Some(Transaction::new("src/seg", 1))).await.unwrap();
        assert_eq!(version, 1, "one commit");
        let t = lake.existing(&name).await.unwrap().unwrap();
        assert_eq!(t.row_count().await.unwrap(), n as u64);
        assert_eq!(t.files().await.unwrap().len(), n, "a file per partition");
        let mut got = ids(&t.scan().await.unwrap());
        got.sort();
        assert_eq!(got, keys);
    });
}

/// delta-rs decodes a `%` + two hex digits in the lake's path once more than it
/// encodes it: such a lake is refused before anything is created; other unusual
/// characters (a lone `%`, spaces, `#`) hold tables as any path does.
#[test]
fn a_lake_path_with_a_percent_escape_is_refused_and_others_work() {
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("pct%20x");
    let err = Lake::open(local.to_str().unwrap()).err().unwrap().to_string();
    assert!(err.contains("has `%20` in its path") && err.contains("choose a path without"), "{err}");
    assert!(!local.exists(), "nothing is created");
    let url = format!("file://{}/pct%2541", dir.path().display());
    let err = Lake::open(&url).err().unwrap().to_string();
    assert!(err.contains("has `%41` in its path"), "{err}");
    let err = Lake::open_with("s3://lake/a%253Fb", []).err().unwrap().to_string();
    assert!(err.contains("has `%3F` in its path"), "{err}");

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    for name in ["pct%zz 100%", "a b#1", "é?x"] {
        let lake = Lake::open(dir.path().join(name).to_str().unwrap()).unwrap();
        rt.block_on(async {
            let s = schema(DataType::Utf8);
            let mut t = lake.table(&TableName::new("s", "t"), &s, &["ws"]).await.unwrap();
            t.append(&[rows(&s, &["a", "b"], &[1, 2], &[Some("x"), None])], None).await.unwrap();
            let t = lake.existing(&TableName::new("s", "t")).await.unwrap().unwrap();
            assert_eq!(t.row_count().await.unwrap(), 2, "{name}");
        });
    }
}

/// Partition values are the producers' text (workspace ids): values holding
/// what a path or URL escapes — `%20`, `/`, `=`, `#`, `..` — round-trip
/// through files, key reads, deletion vectors, `optimize` and `vacuum --orphans`,
/// and vacuum counts the files it deleted, once.
#[test]
fn partition_values_a_path_escapes_round_trip_through_every_table_operation() {
    on_a_lake(|lake| async move {
        let name = TableName::new("s", "t");
        let s = schema(DataType::Utf8);
        let mut t = lake.table_with_properties(&name, &s, &["ws"], &[ENABLE_DELETION_VECTORS]).await.unwrap();
        let ws = ["a%20b", "x/y", "k=v", "sp ace", "é", "#?", "..", "%", "a%2Fb"];
        let values: Vec<Option<&str>> = ws.iter().map(|w| Some(*w)).collect();
        // Two files per partition: ids 0.. then 100..
        for first in [0, 100] {
            let ids: Vec<i64> = (first..first + ws.len() as i64).collect();
            t.append(&[rows(&s, &ws, &ids, &values)], None).await.unwrap();
        }
        // Every row read back with its own value, in the partition it was written to.
        let row = |id: i64| (id, ws[id as usize % 100].to_string(), ws[id as usize % 100].to_string());
        let all: Vec<i64> = (0..ws.len() as i64).chain(100..100 + ws.len() as i64).collect();
        assert_eq!(live(&lake, &name).await, all.iter().map(|&i| row(i)).collect::<Vec<_>>());
        // Each partition's first file: its key read, its row marked deleted.
        let files = t.files().await.unwrap();
        assert_eq!(files.len(), 2 * ws.len());
        let mut marks = Vec::new();
        for file in files {
            let (keys, positions, _) = t.live_keys(&file, &["id"]).await.unwrap();
            assert_eq!((keys.num_rows(), positions), (1, vec![0]), "{:?}", file.partition_values);
            let id = keys.column(0).as_any().downcast_ref::<Int64Array>().unwrap().value(0);
            if id < 100 {
                marks.push((file, RoaringTreemap::from_iter([0u64])));
            }
        }
        let marks = t.mark(marks).await.unwrap();
        t.replace(&[], marks, None, None).await.unwrap();
        let kept: Vec<_> = (100..100 + ws.len() as i64).map(row).collect();
        assert_eq!(live(&lake, &name).await, kept);
        // `optimize` folds each partition into one file.
        let optimized = crate::maintain::optimize_table(&lake, &name, &["id"]).await.unwrap();
        assert_eq!((optimized.partitions, optimized.rows), (ws.len(), ws.len()));
        assert_eq!(live(&lake, &name).await, kept);
        let mut t = lake.existing(&name).await.unwrap().unwrap();
        assert_eq!(t.files().await.unwrap().len(), ws.len());
        // `vacuum --orphans` at zero retention deletes the replaced files, the
        // file of their deletion vectors (one per commit) and a stray file, and
        // no live file; a second one deletes nothing.
        let stray = lake.table_url(&name).to_file_path().unwrap().join("stray.parquet");
        std::fs::write(&stray, b"not a commit's").unwrap();
        assert_eq!(t.vacuum(std::time::Duration::ZERO, true).await.unwrap(), 2 * ws.len() + 1 + 1);
        assert!(!stray.exists());
        assert_eq!(live(&lake, &name).await, kept);
        assert_eq!(t.vacuum(std::time::Duration::ZERO, true).await.unwrap(), 0);
        assert_eq!(live(&lake, &name).await, kept);
    });
}

/// Every row of `name` as (id, ws, value), sorted.
async fn live(lake: &Lake, name: &TableName) -> Vec<(i64, String, String)> {
    let mut got: Vec<(i64, String, String)> = Vec::new();
    for b in lake.existing(name).await.unwrap().unwrap().scan().await.unwrap() {
        let w = b.column(0).as_any().downcast_ref::<StringArray>().unwrap();
        let id = b.column(1).as_any().downcast_ref::<Int64Array>().unwrap();
        let v = b.column(2).as_any().downcast_ref::<StringArray>().unwrap();
        got.extend((0..b.num_rows()).map(|i| (id.value(i), w.value(i).to_string(), v.value(i).to_string())));
    }
    got.sort();
    got
}

/// `last_added` names the files a commit added as the log holds them — the
/// `add.path` of the table's `DataFile`s, also where a partition value is
/// escaped in the path — and a commit may record several `txn`s.
#[test]
fn a_commit_names_the_files_it_added_and_records_every_txn() {
    on_a_lake(|lake| async move {
        let name = TableName::new("s", "t");
        let s = schema(DataType::Utf8);
        let mut t = lake.table(&name, &s, &["ws"]).await.unwrap();
        let first = rows(&s, &["plain", "ari:cloud:x::workspace/w+1 1%"], &[1, 2], &[None, None]);
        t.append(&[first], None).await.unwrap();
        let before: Vec<String> = t.files().await.unwrap().into_iter().map(|f| f.add.path).collect();
        assert_eq!(t.last_added().len(), 2);
        assert!(t.last_added().iter().all(|p| before.contains(p)), "{:?} {before:?}", t.last_added());

        let second = rows(&s, &["ari:cloud:x::workspace/w+1 1%", "new ws"], &[3, 4], &[None, None]);
        let txns = vec![Transaction::new("progress", 7), Transaction::new("progress#model", 1234)];
        t.replace(&[second], Vec::new(), txns, None).await.unwrap();
        let after: Vec<String> = t.files().await.unwrap().into_iter().map(|f| f.add.path).collect();
        let new: Vec<&String> = after.iter().filter(|p| !before.contains(p)).collect();
        let mut added: Vec<&String> = t.last_added().iter().collect();
        added.sort();
        let mut new_sorted = new.clone();
        new_sorted.sort();
        assert_eq!(added, new_sorted);
        let t = lake.existing(&name).await.unwrap().unwrap();
        assert_eq!(t.txn_version("progress").await.unwrap(), Some(7));
        assert_eq!(t.txn_version("progress#model").await.unwrap(), Some(1234));
    });
}
