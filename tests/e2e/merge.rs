//! Step 2 end to end: staging tables → the models' tables with the three
//! writers, compared with the oracle (every table computed in one go from the
//! whole staging table): convergence over random streams, batches and chunks,
//! and exactly once across SIGKILLs of the real `ingest-jira merge`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use manifold_e2e::kill::{duplicated_and_shuffled, kill_repeatedly, spawn};
use manifold_e2e::lake::{deduplicated, staging};
use manifold_e2e::models::{expected_models, files_with_deletion_vectors, model_tables, oracle, write_parquet};
use manifold_e2e::{jira, opsgenie, write_stream};
use manifold_runtime::arrow_array::RecordBatch;
use manifold_runtime::ingest::{Ingest, Options};
use manifold_runtime::lake::{Lake, TableName};
use manifold_runtime::merge::{self, MergeOptions, TableMerge};
use manifold_runtime::produce::{self, ProduceOptions};
use manifold_runtime::{EntityInfo, ModelInfo, Registry, Writer};
use proptest::prelude::*;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

fn lake_at(dir: &Path) -> Lake {
    Lake::open(dir.to_str().unwrap()).unwrap()
}

fn ingest(rt: &tokio::runtime::Runtime, registry: &'static Registry, lake: &Lake, source: &Path, batch: usize) {
    let mut options = Options::new(source);
    options.batch_records = batch;
    rt.block_on(async { Ingest::open(registry, lake, options).await.unwrap().run(|_| {}).await.unwrap() });
}

fn merge(rt: &tokio::runtime::Runtime, registry: &'static Registry, lake: &Lake, chunk_rows: usize) -> Vec<TableMerge> {
    rt.block_on(merge::merge(lake, registry, &MergeOptions { chunk_rows, ..MergeOptions::default() })).unwrap()
}

/// Moves the segment files from index `from` on out of `source` into `to`
/// (to bring them back later: a stream that grows while it is ingested).
fn move_segments(source: &Path, to: &Path, from: usize) {
    std::fs::create_dir_all(to).unwrap();
    let mut names: Vec<String> = std::fs::read_dir(source)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("segment-"))
        .collect();
    names.sort();
    for n in names.into_iter().skip(from) {
        std::fs::rename(source.join(&n), to.join(&n)).unwrap();
    }
}

#[test]
fn the_writers_replace_by_version_and_a_rerun_commits_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (source, synthetic) = write_stream(
        dir.path(),
        &opsgenie::REGISTRY,
        &ProduceOptions { keys_per_entity: 40, segments: 4, bad_records: false, ..ProduceOptions::default() },
    );
    move_segments(&source, &dir.path().join("later"), 2);
    let (rt, lake) = (rt(), lake_at(&dir.path().join("lake")));
    ingest(&rt, &opsgenie::REGISTRY, &lake, &source, 50);
    let first = merge(&rt, &opsgenie::REGISTRY, &lake, 100);
    assert!(first.iter().all(|m| m.written.replaced == 0), "nothing to replace in empty tables: {first:?}");
    move_segments(&dir.path().join("later"), &source, 0);
    ingest(&rt, &opsgenie::REGISTRY, &lake, &source, 50);
    let second = merge(&rt, &opsgenie::REGISTRY, &lake, 100);
    // Later versions of the same keys replaced rows, in each writer that replaces.
    let replaced = |w: Writer| second.iter().filter(|m| m.writer == w).map(|m| m.written.replaced).sum::<usize>();
    assert!(replaced(Writer::Merge) > 0 && replaced(Writer::MergeExploded) > 0, "{second:?}");
    assert_eq!(replaced(Writer::Append), 0, "append never replaces");
    // Only files of the touched partitions whose key range covers a key are read.
    for m in &second {
        let files = rt.block_on(lake.existing(&m.table)).unwrap().unwrap();
        let total = rt.block_on(files.files()).unwrap().len();
        assert!(m.written.files_changed <= m.written.files_read, "{m:?}");
        assert!(m.written.files_read <= total + m.written.files_changed, "{m:?}");
    }
    assert_eq!(deduplicated(&staging(&lake, &rt)), synthetic.expected);
    assert_eq!(model_tables(&opsgenie::REGISTRY, &lake, &rt), expected_models(&opsgenie::REGISTRY, &lake, &rt));
    // Tombstones are rows of the main table; the history keeps only live versions (its WHERE).
    let tables = model_tables(&opsgenie::REGISTRY, &lake, &rt);
    assert!(tables["opsgenie.opsgenie_alert"].iter().any(|r| r.contains("envelope_fields_is_tombstone=true")));
    assert!(tables["opsgenie.opsgenie_alert_history"].iter().all(|r| r.contains("envelope_fields_is_tombstone=false")));
    // A third run finds nothing new and commits nothing.
    let versions = |lake: &Lake| {
        let names: Vec<_> = lake.list().unwrap();
        names.iter().map(|n| rt.block_on(lake.existing(n)).unwrap().unwrap().version()).collect::<Vec<_>>()
    };
    let before = versions(&lake);
    let third = merge(&rt, &opsgenie::REGISTRY, &lake, 100);
    assert!(third.iter().all(|m| m.staging_rows == 0 && m.commits == 0), "{third:?}");
    assert_eq!(versions(&lake), before);
}

/// A merge asked to stop before its next chunk applies nothing more — here,
/// asked before it starts, not even the model tables are created — and the
/// next merge does all of it.
#[test]
fn a_stopped_merge_applies_nothing_more_and_the_next_one_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let (source, _) = write_stream(
        dir.path(),
        &opsgenie::REGISTRY,
        &ProduceOptions { keys_per_entity: 20, segments: 2, bad_records: false, ..ProduceOptions::default() },
    );
    let (rt, lake) = (rt(), lake_at(&dir.path().join("lake")));
    ingest(&rt, &opsgenie::REGISTRY, &lake, &source, 50);
    let tables_before = lake.list().unwrap();
    let stop = manifold_runtime::stop::Stop::new();
    stop.request();
    let stopped = rt.block_on(merge::merge(
        &lake,
        &opsgenie::REGISTRY,
        &MergeOptions { chunk_rows: 100, stop, ..MergeOptions::default() },
    ));
    assert!(stopped.unwrap().is_empty());
    assert_eq!(lake.list().unwrap(), tables_before, "no model table touched");
    let merged = merge(&rt, &opsgenie::REGISTRY, &lake, 100);
    assert!(merged.iter().all(|m| m.from == -1 && m.commits > 0), "{merged:?}");
    assert_eq!(model_tables(&opsgenie::REGISTRY, &lake, &rt), expected_models(&opsgenie::REGISTRY, &lake, &rt));
}

/// Model tables created without the `deletionVectors` feature (e.g. by an
/// older Manifold) are merged copy-on-write, to the same rows.
#[test]
fn tables_without_deletion_vectors_are_merged_copy_on_write() {
    let dir = tempfile::tempdir().unwrap();
    let (source, _) = write_stream(
        dir.path(),
        &opsgenie::REGISTRY,
        &ProduceOptions { keys_per_entity: 30, segments: 3, bad_records: false, ..ProduceOptions::default() },
    );
    let (rt, lake) = (rt(), lake_at(&dir.path().join("lake")));
    for e in opsgenie::REGISTRY.entities {
        for m in e.models {
            let name = merge::target_name(opsgenie::REGISTRY.product, m);
            let table = rt.block_on(lake.table(&name, &(m.schema)(), m.partition_by)).unwrap();
            assert!(!table.has_deletion_vectors().unwrap());
        }
    }
    ingest(&rt, &opsgenie::REGISTRY, &lake, &source, 20);
    let merges = merge(&rt, &opsgenie::REGISTRY, &lake, 25);
    assert!(merges.iter().any(|m| m.written.files_changed > 0), "some chunk rewrote files: {merges:?}");
    assert_eq!(files_with_deletion_vectors(&opsgenie::REGISTRY, &lake, &rt), 0);
    assert_eq!(model_tables(&opsgenie::REGISTRY, &lake, &rt), expected_models(&opsgenie::REGISTRY, &lake, &rt));
    // Filled again by a release whose models compute other rows, in chunks
    // that rewrite files: rows a chunk keeps are rewritten too, and a later
    // chunk still replaces them (they are the old SQL's).
    let new = opsgenie_release(true);
    let merges = merge(&rt, new, &lake, 25);
    assert!(merges.iter().any(|m| m.written.files_changed > 0 && m.commits > 1), "{merges:?}");
    assert_eq!(model_tables(new, &lake, &rt), expected_models(new, &lake, &rt));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    /// Any permutation and duplication of the same records, ingested in any
    /// batch size, arriving in two parts, merged in any chunk size, gives every
    /// model table exactly what the oracle computes from the whole staging table.
    #[test]
    fn every_writer_converges_to_the_oracle(
        seed in 0u64..1_000,
        shuffle in 0u64..u64::MAX,
        copies in prop::collection::vec(0usize..3, 1..300),
        batch in 8usize..80,
        chunk in 1usize..120,
        split in 1usize..4,
    ) {
        let options = ProduceOptions {
            seed,
            keys_per_entity: 8,
            segments: 4,
            bad_records: false,
            duplicate_ratio: 0.0,
            ..ProduceOptions::default()
        };
        let mut synthetic = produce::synthesize(&opsgenie::REGISTRY, &options);
        synthetic.records = duplicated_and_shuffled(&synthetic.records, &copies, shuffle);
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("stream");
        produce::write(&source, &synthetic, options.segments).unwrap();
        move_segments(&source, &dir.path().join("later"), split);
        let (rt, lake) = (rt(), lake_at(&dir.path().join("lake")));
        ingest(&rt, &opsgenie::REGISTRY, &lake, &source, batch);
        merge(&rt, &opsgenie::REGISTRY, &lake, chunk);
        move_segments(&dir.path().join("later"), &source, 0);
        ingest(&rt, &opsgenie::REGISTRY, &lake, &source, batch);
        merge(&rt, &opsgenie::REGISTRY, &lake, chunk);
        prop_assert_eq!(deduplicated(&staging(&lake, &rt)), synthetic.expected);
        prop_assert_eq!(
            model_tables(&opsgenie::REGISTRY, &lake, &rt),
            expected_models(&opsgenie::REGISTRY, &lake, &rt)
        );
    }
}

/// The merged tables — after chunks that rewrote files — read back by Python's
/// `deltalake` and by DuckDB's delta extension equal the oracle
/// (tests/python/read_back.py; the venv comes from `scripts/setup-python.sh`).
#[test]
fn python_deltalake_and_duckdb_read_the_merged_tables_back() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let py = root.join("tools/venv/bin/python");
    assert!(py.exists(), "tools/venv is not installed: run `scripts/setup-python.sh` (scripts/test.sh does)");
    let dir = tempfile::tempdir().unwrap();
    let (source, _) = write_stream(
        dir.path(),
        &opsgenie::REGISTRY,
        &ProduceOptions { keys_per_entity: 30, segments: 3, bad_records: false, ..ProduceOptions::default() },
    );
    let (rt, lake) = (rt(), lake_at(&dir.path().join("lake")));
    ingest(&rt, &opsgenie::REGISTRY, &lake, &source, 30);
    let merges = merge(&rt, &opsgenie::REGISTRY, &lake, 40);
    assert!(merges.iter().any(|m| m.written.files_changed > 0), "some chunk rewrote files: {merges:?}");
    // The readers must honour deletion vectors: the tables carry some.
    let marked = files_with_deletion_vectors(&opsgenie::REGISTRY, &lake, &rt);
    assert!(marked > 0, "no file carries a deletion vector");
    let cases: Vec<serde_json::Value> = oracle(&opsgenie::REGISTRY, &lake, &rt)
        .into_iter()
        .map(|(table, rows)| {
            let oracle = dir.path().join("oracle").join(format!("{table}.parquet"));
            write_parquet(&oracle, &[rows]);
            let (schema, name) = table.split_once('.').unwrap();
            serde_json::json!({ "table": table, "path": dir.path().join("lake").join(schema).join(name), "oracle": oracle })
        })
        .collect();
    let mut cases = cases;
    // And a table whose array of structs evolved (see `nested_evolution`).
    let nested = dir.path().join("nested");
    let rows = nested_evolution(&rt, &nested);
    let oracle = dir.path().join("oracle/nested.parquet");
    write_parquet(&oracle, &[rows]);
    cases.push(serde_json::json!({ "table": "s.nested", "path": nested.join("s/nested"), "oracle": oracle }));
    let manifest = dir.path().join("cases.json");
    std::fs::write(&manifest, serde_json::to_vec(&cases).unwrap()).unwrap();
    let out = Command::new(py).arg(root.join("tests/python/read_back.py")).arg(&manifest).output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.starts_with(&format!("OK: {} tables", cases.len())), "{stdout}");
}

/// A table `s.nested` in a lake at `dir` whose array column's structs
/// evolved: rows written by a build with structs {x, y, z}, then by one
/// declaring {y, w, x} (reordered, `w` added, `z` dropped); returns the
/// rows as they must read: {x, y, z, w}, NULL where a build had no value.
fn nested_evolution(rt: &tokio::runtime::Runtime, dir: &Path) -> RecordBatch {
    use deltalake::arrow::buffer::OffsetBuffer;
    use manifold_runtime::arrow_array::{ArrayRef, Int64Array, ListArray, StringArray, StructArray};
    use manifold_runtime::arrow_schema::{DataType, Field, Fields, Schema};
    use std::sync::Arc;
    let text = |values: Vec<Option<&str>>| Arc::new(StringArray::from(values)) as ArrayRef;
    // One row per id, each holding one struct of `children`.
    let batch = |children: &[(&str, Vec<Option<&str>>)], ids: Vec<i64>| {
        let fields: Fields = children.iter().map(|(c, _)| Field::new(*c, DataType::Utf8, true)).collect();
        let structs = StructArray::new(fields.clone(), children.iter().map(|(_, v)| text(v.clone())).collect(), None);
        let item = Arc::new(Field::new("element", DataType::Struct(fields), true));
        let lengths = vec![1; ids.len()];
        let parts = ListArray::new(item.clone(), OffsetBuffer::from_lengths(lengths), Arc::new(structs), None);
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("parts", DataType::List(item), true),
        ]));
        RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(ids)), Arc::new(parts)]).unwrap()
    };
    let first = batch(&[("x", vec![Some("x1")]), ("y", vec![Some("y1")]), ("z", vec![Some("z1")])], vec![1]);
    let second = batch(&[("y", vec![Some("y2")]), ("w", vec![Some("w2")]), ("x", vec![Some("x2")])], vec![2]);
    let lake = Lake::open(dir.to_str().unwrap()).unwrap();
    let name = TableName::new("s", "nested");
    rt.block_on(async {
        for b in [&first, &second] {
            let mut table = lake.table(&name, &b.schema(), &[]).await.unwrap();
            table.append(std::slice::from_ref(b), None).await.unwrap();
        }
    });
    batch(
        &[
            ("x", vec![Some("x1"), Some("x2")]),
            ("y", vec![Some("y1"), Some("y2")]),
            ("z", vec![Some("z1"), None]),
            ("w", vec![None, Some("w2")]),
        ],
        vec![1, 2],
    )
}

/// Commits of the model tables of the lake at `dir` (the merge step's progress).
fn model_commits(dir: &Path) -> usize {
    let product = dir.join("jira");
    let Ok(tables) = std::fs::read_dir(product) else { return 0 };
    tables
        .filter_map(|t| std::fs::read_dir(t.ok()?.path().join("_delta_log")).ok())
        .flat_map(|log| log.filter_map(|e| e.ok()))
        .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
        .count()
}

/// SIGKILLs the generated binary's `merge` at random points (at least 20
/// times, or `MANIFOLD_KILLS`), restarting it each time, until a run finishes:
/// the model tables then equal one uninterrupted merge and the oracle.
#[test]
fn killing_the_merge_at_random_points_loses_nothing_and_applies_nothing_twice() {
    let kills_wanted: usize = std::env::var("MANIFOLD_KILLS").ok().and_then(|v| v.parse().ok()).unwrap_or(20);
    let bin = env!("CARGO_BIN_EXE_e2e-ingest-jira");
    let dir = tempfile::tempdir().unwrap();
    let (source, _) = write_stream(
        dir.path(),
        &jira::REGISTRY,
        &ProduceOptions { keys_per_entity: 20 + kills_wanted, segments: 3, ..ProduceOptions::default() },
    );
    let rt = rt();
    let clean = lake_at(&dir.path().join("clean"));
    ingest(&rt, &jira::REGISTRY, &clean, &source, 40);
    merge(&rt, &jira::REGISTRY, &clean, 250_000);
    let crashed_dir = dir.path().join("crashed");
    let crashed = lake_at(&crashed_dir);
    ingest(&rt, &jira::REGISTRY, &crashed, &source, 40);
    let args = ["merge".as_ref(), "--lake".as_ref(), crashed_dir.as_os_str(), "--chunk-rows".as_ref(), "12".as_ref()];
    let mut kill_points = std::collections::BTreeSet::new();
    kill_repeatedly(
        kills_wanted,
        11,
        30,
        || spawn(bin, &args),
        || model_commits(&crashed_dir),
        || {
            kill_points.insert(model_commits(&crashed_dir));
        },
    );
    eprintln!("{kills_wanted} kills at model-table commit counts {kill_points:?}");
    assert!(kill_points.len() >= kills_wanted / 2, "kills landed at too few points: {kill_points:?}");
    let expected = expected_models(&jira::REGISTRY, &clean, &rt);
    assert_eq!(model_tables(&jira::REGISTRY, &clean, &rt), expected);
    assert_eq!(model_tables(&jira::REGISTRY, &crashed, &rt), expected, "after {kills_wanted} kills");

    // What the killed runs wrote but never committed is deleted by `vacuum
    // --orphans` (one more orphan is planted, so there is at least one), and
    // nothing the tables hold goes with it.
    let (table, file) = rt.block_on(async {
        let name = crashed.list().unwrap().pop().unwrap();
        let table = crashed.existing(&name).await.unwrap().unwrap();
        (crashed_dir.join(&name.schema).join(&name.table), table.files().await.unwrap().remove(0).path)
    });
    let planted = table.join(Path::new(&file).with_file_name("part-00000-orphan-c000.snappy.parquet"));
    std::fs::copy(table.join(&file), &planted).unwrap();
    assert!(stray_files(&rt, &crashed, &crashed_dir).contains(&planted), "the planted orphan");
    let args = ["vacuum", "--lake", crashed_dir.to_str().unwrap(), "--retention-hours", "0", "--orphans"];
    let status = Command::new(bin).args(args).stdout(Stdio::null()).status().unwrap();
    assert!(status.success());
    assert_eq!(stray_files(&rt, &crashed, &crashed_dir), Vec::<std::path::PathBuf>::new());
    assert_eq!(model_tables(&jira::REGISTRY, &crashed, &rt), expected, "after vacuum --orphans");
}

/// Parquet files in the lake's table directories that no table holds.
fn stray_files(rt: &tokio::runtime::Runtime, lake: &Lake, root: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for name in lake.list().unwrap() {
        let dir = root.join(&name.schema).join(&name.table);
        let table = rt.block_on(lake.existing(&name)).unwrap().unwrap();
        let active: std::collections::HashSet<_> =
            rt.block_on(table.files()).unwrap().into_iter().map(|f| dir.join(f.path)).collect();
        let mut pending = vec![dir.clone()];
        while let Some(d) = pending.pop() {
            for entry in std::fs::read_dir(&d).unwrap().map(Result::unwrap) {
                let path = entry.path();
                if path.is_dir() && entry.file_name() != "_delta_log" {
                    pending.push(path);
                } else if path.extension().is_some_and(|e| e == "parquet") && !active.contains(&path) {
                    out.push(path);
                }
            }
        }
    }
    out.sort();
    out
}

/// Files per partition of every table of the lake (for the optimize checks).
fn most_files_in_a_partition(rt: &tokio::runtime::Runtime, lake: &Lake) -> usize {
    let mut most = 0;
    for name in lake.list().unwrap() {
        let files = rt.block_on(async { lake.existing(&name).await.unwrap().unwrap().files().await.unwrap() });
        let mut per: std::collections::BTreeMap<Vec<(String, Option<String>)>, usize> = Default::default();
        for f in files {
            let mut p: Vec<_> = f.partition_values.into_iter().collect();
            p.sort();
            *per.entry(p).or_default() += 1;
        }
        most = most.max(per.values().copied().max().unwrap_or(0));
    }
    most
}

/// `optimize` leaves one file per partition (far below the target size) and
/// `vacuum` deletes the removed ones; the rows stay the oracle's, and later merges still see only new
/// staging rows (a compaction's re-added staging files are not new data).
#[test]
fn optimize_and_vacuum_change_files_not_rows() {
    let dir = tempfile::tempdir().unwrap();
    let (source, synthetic) = write_stream(
        dir.path(),
        &opsgenie::REGISTRY,
        &ProduceOptions { keys_per_entity: 30, segments: 4, bad_records: false, ..ProduceOptions::default() },
    );
    move_segments(&source, &dir.path().join("later"), 2);
    let (rt, lake) = (rt(), lake_at(&dir.path().join("lake")));
    ingest(&rt, &opsgenie::REGISTRY, &lake, &source, 20);
    merge(&rt, &opsgenie::REGISTRY, &lake, 30);
    assert!(most_files_in_a_partition(&rt, &lake) > 1);
    assert!(files_with_deletion_vectors(&opsgenie::REGISTRY, &lake, &rt) > 0);
    let optimized = rt.block_on(manifold_runtime::maintain::optimize(&lake, &opsgenie::REGISTRY)).unwrap();
    assert!(optimized.iter().any(|o| o.partitions > 0), "{optimized:?}");
    assert_eq!(most_files_in_a_partition(&rt, &lake), 1);
    // Optimize folds the deletion vectors into the rewritten files.
    assert_eq!(files_with_deletion_vectors(&opsgenie::REGISTRY, &lake, &rt), 0);
    assert_eq!(model_tables(&opsgenie::REGISTRY, &lake, &rt), expected_models(&opsgenie::REGISTRY, &lake, &rt));
    move_segments(&dir.path().join("later"), &source, 0);
    ingest(&rt, &opsgenie::REGISTRY, &lake, &source, 20);
    merge(&rt, &opsgenie::REGISTRY, &lake, 30);
    assert_eq!(deduplicated(&staging(&lake, &rt)), synthetic.expected);
    assert_eq!(model_tables(&opsgenie::REGISTRY, &lake, &rt), expected_models(&opsgenie::REGISTRY, &lake, &rt));
    // Vacuum keeps the deletion-vector files live files refer to.
    assert!(files_with_deletion_vectors(&opsgenie::REGISTRY, &lake, &rt) > 0);
    let vacuumed =
        rt.block_on(manifold_runtime::maintain::vacuum(&lake, &opsgenie::REGISTRY, Duration::ZERO, false)).unwrap();
    assert!(vacuumed.iter().map(|(_, n)| n).sum::<usize>() > 0, "{vacuumed:?}");
    assert_eq!(model_tables(&opsgenie::REGISTRY, &lake, &rt), expected_models(&opsgenie::REGISTRY, &lake, &rt));
}

/// `optimize` runs over and over while the real binary merges: commits that
/// conflict are redone on either side, and the tables end as the oracle's.
#[test]
fn optimize_beside_a_running_merge_loses_nothing() {
    let bin = env!("CARGO_BIN_EXE_e2e-ingest-jira");
    let dir = tempfile::tempdir().unwrap();
    let (source, _) = write_stream(
        dir.path(),
        &jira::REGISTRY,
        &ProduceOptions { keys_per_entity: 30, segments: 3, bad_records: false, ..ProduceOptions::default() },
    );
    let lake_dir = dir.path().join("lake");
    let (rt, lake) = (rt(), lake_at(&lake_dir));
    ingest(&rt, &jira::REGISTRY, &lake, &source, 15);
    // Compact the staging tables first, so that the rounds beside the merge are short.
    rt.block_on(manifold_runtime::maintain::optimize(&lake, &jira::REGISTRY)).unwrap();
    let mut child = Command::new(bin)
        .args(["merge", "--lake"])
        .arg(&lake_dir)
        .args(["--chunk-rows", "2"])
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (mut rounds, mut retries) = (0, 0);
    while child.try_wait().unwrap().is_none() {
        let done = rt
            .block_on(manifold_runtime::maintain::optimize(&lake, &jira::REGISTRY))
            .unwrap_or_else(|e| panic!("optimize beside the merge failed: {e:?}"));
        retries += done.iter().map(|o| o.retries).sum::<usize>();
        rounds += 1;
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    eprintln!("{rounds} optimize rounds beside the merge, {retries} optimize commits redone");
    // Overlap is what is tested: a second round started while the merge ran,
    // or an optimize commit raced a merge commit and was redone.
    assert!(rounds > 1 || retries > 0, "optimize never ran beside the merge: make the stream longer");
    assert_eq!(model_tables(&jira::REGISTRY, &lake, &rt), expected_models(&jira::REGISTRY, &lake, &rt));
}

/// `bench-merge` on small targets: one table row per target and batch size,
/// each merge replacing every changed row (the bench checks that itself), and
/// the growth read off side-by-side runs. Without Python it says why it skips
/// delta-rs's side.
#[test]
fn the_merge_bench_prints_a_table_and_the_growth_of_paired_runs() {
    let bin = env!("CARGO_BIN_EXE_e2e-ingest-jira");
    let dir = tempfile::tempdir().unwrap();
    let args = ["bench-merge", "--targets", "2000,20000", "--batches", "100", "--workspaces", "4", "--repeat", "3"];
    let (stdout, stderr) = manifold_e2e::run_bench(bin, &args, dir.path());
    let rows: Vec<&str> = stdout.lines().filter(|l| l.starts_with("| 2000") || l.starts_with("| 20000")).collect();
    assert_eq!(rows.len(), 2, "{stdout}");
    assert!(rows[0].starts_with("| 2000 | ") && rows[1].starts_with("| 20000 | "), "{stdout}");
    assert!(rows.iter().all(|r| r.ends_with("| - | - | - |")), "{stdout}");
    assert!(stdout.contains("at 20000 rows than at 2000 rows (median of 3 runs side by side, range "), "{stdout}");
    assert!(stderr.contains("skipping delta-rs's MERGE"), "{stderr}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "the bench removes its tables");
}

/// The segments of a stream after its first, moved aside (into `held`) and
/// given back one at a time: a stream that arrives in parts.
struct HeldBack {
    source: std::path::PathBuf,
    held: std::path::PathBuf,
    segments: Vec<std::ffi::OsString>,
}

impl HeldBack {
    fn new(source: &Path, held: &Path) -> HeldBack {
        std::fs::create_dir_all(held).unwrap();
        let mut segments: Vec<_> = std::fs::read_dir(source).unwrap().map(|e| e.unwrap().file_name()).collect();
        segments.retain(|n| n.to_str().unwrap().ends_with(".pb"));
        segments.sort();
        for name in &segments[1..] {
            std::fs::rename(source.join(name), held.join(name)).unwrap();
        }
        HeldBack { source: source.to_path_buf(), held: held.to_path_buf(), segments }
    }

    /// Gives segment `i` (1 for the second) back to the source.
    fn release(&self, i: usize) {
        std::fs::rename(self.held.join(&self.segments[i]), self.source.join(&self.segments[i])).unwrap();
    }
}

/// A merge chunk ends at `chunk_bytes` of staging rows as well as at
/// `chunk_rows` (the writers hold a chunk as one Arrow batch, whose text
/// columns stop at 2 GiB): at one byte, a fresh table is filled one staging
/// file per commit (an `append` table in one), and a later merge applies every
/// staging commit as a chunk of its own; the tables still equal the oracle.
#[test]
fn a_chunk_ends_at_its_byte_budget() {
    let dir = tempfile::tempdir().unwrap();
    let options = ProduceOptions { keys_per_entity: 10, segments: 2, bad_records: false, ..ProduceOptions::default() };
    let (source, _) = write_stream(dir.path(), &opsgenie::REGISTRY, &options);
    // The second segment is ingested after the first merge.
    let held = HeldBack::new(&source, &dir.path().join("later"));
    let (rt, lake) = (rt(), lake_at(&dir.path().join("lake")));
    ingest(&rt, &opsgenie::REGISTRY, &lake, &source, 25);
    let options = MergeOptions { chunk_rows: usize::MAX, chunk_bytes: 1, ..MergeOptions::default() };
    let merges = rt.block_on(merge::merge(&lake, &opsgenie::REGISTRY, &options)).unwrap();
    for m in &merges {
        let entity = opsgenie::REGISTRY.entities.iter().find(|e| e.models.iter().any(|x| x.name == m.table.table));
        let staging = manifold_runtime::lake::TableName::new("manifold_entities", entity.unwrap().name);
        let files = rt.block_on(async { lake.existing(&staging).await.unwrap().unwrap().files().await.unwrap().len() });
        let want = if m.writer == Writer::Append { 1 } else { files };
        assert_eq!((m.from, m.commits), (-1, want), "one commit per staging file: {m:?}");
    }
    assert!(merges.iter().any(|m| m.commits > 3), "{merges:?}");
    assert_eq!(model_tables(&opsgenie::REGISTRY, &lake, &rt), expected_models(&opsgenie::REGISTRY, &lake, &rt));
    held.release(1);
    ingest(&rt, &opsgenie::REGISTRY, &lake, &source, 25);
    let merges = rt.block_on(merge::merge(&lake, &opsgenie::REGISTRY, &options)).unwrap();
    for m in &merges {
        assert_eq!(m.commits as i64, m.to - m.from, "one commit per staging version: {m:?}");
    }
    assert!(merges.iter().any(|m| m.commits > 1), "{merges:?}");
    assert_eq!(model_tables(&opsgenie::REGISTRY, &lake, &rt), expected_models(&opsgenie::REGISTRY, &lake, &rt));
}

/// A jira stream ingested into `dir/lake` and merged once.
fn a_merged_jira_lake(dir: &Path) -> (tokio::runtime::Runtime, Lake, std::path::PathBuf) {
    let (source, _) = write_stream(
        dir,
        &jira::REGISTRY,
        &ProduceOptions { keys_per_entity: 8, segments: 2, bad_records: false, ..ProduceOptions::default() },
    );
    let (rt, lake) = (rt(), lake_at(&dir.join("lake")));
    ingest(&rt, &jira::REGISTRY, &lake, &source, 20);
    merge(&rt, &jira::REGISTRY, &lake, 1_000_000);
    (rt, lake, source)
}

fn merge_error(rt: &tokio::runtime::Runtime, lake: &Lake) -> String {
    rt.block_on(merge::merge(lake, &jira::REGISTRY, &MergeOptions::default())).expect_err("the merge stops").to_string()
}

/// A staging table deleted by hand and created again restarts its versions;
/// the models' tables recorded the old ones. The merge stops with an error
/// naming both instead of skipping the new table's first versions.
#[test]
fn a_recreated_staging_table_stops_the_merge_instead_of_being_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let (rt, lake, source) = a_merged_jira_lake(dir.path());
    assert!(merge(&rt, &jira::REGISTRY, &lake, 1_000_000).iter().all(|t| t.from == t.to), "up to date");
    let issues = TableName::new("manifold_entities", "JiraIssue");
    let version = |lake: &Lake| rt.block_on(lake.existing(&issues)).unwrap().unwrap().version().unwrap();
    let merged = version(&lake);
    std::fs::remove_dir_all(dir.path().join("lake/manifold_entities/JiraIssue")).unwrap();
    ingest(&rt, &jira::REGISTRY, &lake, &source, 20);
    let err = merge_error(&rt, &lake);
    assert!(
        err.contains("has merged `manifold_entities.JiraIssue` up to its version")
            && err.contains("but that table is at version 0: it was recreated"),
        "{err}"
    );
    // Another source's records take the new table past the version merged:
    // its versions still are not the ones merged (they were taken for them).
    let (more, _) = write_stream(
        &dir.path().join("more"),
        &jira::REGISTRY,
        &ProduceOptions { seed: 7, keys_per_entity: 8, segments: 2, bad_records: false, ..ProduceOptions::default() },
    );
    let mut options = Options::new(&more);
    (options.batch_records, options.source_id) = (1, Some("more".into()));
    rt.block_on(async { Ingest::open(&jira::REGISTRY, &lake, options).await.unwrap().run(|_| {}).await.unwrap() });
    assert!(version(&lake) > merged, "{} after {merged}", version(&lake));
    let err = merge_error(&rt, &lake);
    assert!(err.contains("has merged another `manifold_entities.JiraIssue` than the one there now"), "{err}");
    // `status` counts none of the new table as merged.
    let status = rt.block_on(merge::status(&lake, &jira::REGISTRY)).unwrap();
    let issue = status.iter().find(|s| s.table.table == "jira_issue").unwrap();
    assert_eq!((issue.merged, issue.behind), (None, version(&lake) + 1), "{issue:?}");
}

/// The way to rebuild a staging table deleted by hand from a source that
/// still holds its segments: delete the dead-letter table (the progress
/// marker) too. The next ingest reads the source from its first segment;
/// each other table's own `txn`s keep what it holds from being staged twice,
/// and the new table gets every record. The merge then stops on the model
/// tables that merged the old one; deleted, they are filled from the new one
/// and end as they were.
#[test]
fn a_staging_table_is_rebuilt_from_the_source_with_the_dead_letter_table() {
    let dir = tempfile::tempdir().unwrap();
    let (rt, lake, source) = a_merged_jira_lake(dir.path());
    let (staged, models) = (deduplicated(&staging(&lake, &rt)), model_tables(&jira::REGISTRY, &lake, &rt));
    let rows = |lake: &Lake| -> Vec<usize> { staging(lake, &rt).values().map(Vec::len).collect() };
    let before = rows(&lake);
    for table in ["manifold_entities/JiraIssue", "manifold_dead_letters/jira"] {
        std::fs::remove_dir_all(dir.path().join("lake").join(table)).unwrap();
    }
    ingest(&rt, &jira::REGISTRY, &lake, &source, 20);
    assert_eq!(rows(&lake), before, "every table as it was: the others staged nothing twice");
    assert_eq!(deduplicated(&staging(&lake, &rt)), staged);
    let err = merge_error(&rt, &lake);
    assert!(err.contains("has merged another `manifold_entities.JiraIssue`"), "{err}");
    let issue = jira::REGISTRY.entities.iter().find(|e| e.name == "JiraIssue").unwrap();
    for model in issue.models {
        std::fs::remove_dir_all(dir.path().join("lake/jira").join(model.name)).unwrap();
    }
    merge(&rt, &jira::REGISTRY, &lake, 1_000_000);
    assert_eq!(model_tables(&jira::REGISTRY, &lake, &rt), models);
}

/// Model tables deleted to be rebuilt — or added by a later release — after
/// `optimize` rewrote the staging files and `vacuum` deleted the old ones,
/// whose commits can no longer be read: they are filled from the staging
/// table's current files and end as they were. A main table rebuilt takes its
/// child tables along (they are applied against it); a child table rebuilt
/// alone is filled against its complete main table. Tables still behind such
/// commits are filled the same way, on top of what they hold.
#[test]
fn model_tables_are_rebuilt_from_the_staging_files_after_vacuum() {
    let dir = tempfile::tempdir().unwrap();
    let (rt, lake, _) = a_merged_jira_lake(dir.path());
    let before = model_tables(&jira::REGISTRY, &lake, &rt);
    assert_eq!(before, expected_models(&jira::REGISTRY, &lake, &rt));
    rt.block_on(manifold_runtime::maintain::optimize(&lake, &jira::REGISTRY)).unwrap();
    rt.block_on(manifold_runtime::maintain::vacuum(&lake, &jira::REGISTRY, Duration::ZERO, false)).unwrap();
    for table in ["jira_issue", "jira_project__issue_types"] {
        std::fs::remove_dir_all(dir.path().join("lake/jira").join(table)).unwrap();
    }
    let merges = merge(&rt, &jira::REGISTRY, &lake, 1_000_000);
    // Only the filled tables commit: the others hold every staging version.
    let filled: Vec<&str> = merges.iter().filter(|m| m.commits > 0).map(|m| m.table.table.as_str()).collect();
    assert!(filled.contains(&"jira_issue") && filled.contains(&"jira_issue__labels"), "{filled:?}");
    assert!(filled.contains(&"jira_project__issue_types") && !filled.contains(&"jira_project"), "{filled:?}");
    assert_eq!(model_tables(&jira::REGISTRY, &lake, &rt), before);
    // A model table behind commits whose files are gone cannot catch up
    // through them, and the error says what to do.
    // A stream of three segments, the second and third held back.
    let options = ProduceOptions { keys_per_entity: 8, segments: 3, bad_records: false, ..ProduceOptions::default() };
    let (source, _) = write_stream(&dir.path().join("two"), &jira::REGISTRY, &options);
    let held = HeldBack::new(&source, &dir.path().join("held"));
    let (rt2, lake2) = (rt, lake_at(&dir.path().join("lake2")));
    ingest(&rt2, &jira::REGISTRY, &lake2, &source, 20);
    merge(&rt2, &jira::REGISTRY, &lake2, 1_000_000);
    let release = |i: usize| {
        held.release(i);
        ingest(&rt2, &jira::REGISTRY, &lake2, &source, 20);
    };
    // A main table rebuilt while its child tables are behind: they are filled
    // after it, not merged against it while it is still empty.
    release(1);
    std::fs::remove_dir_all(dir.path().join("lake2/jira/jira_issue")).unwrap();
    merge(&rt2, &jira::REGISTRY, &lake2, 1_000_000);
    assert_eq!(model_tables(&jira::REGISTRY, &lake2, &rt2), expected_models(&jira::REGISTRY, &lake2, &rt2));
    release(2);
    rt2.block_on(manifold_runtime::maintain::optimize(&lake2, &jira::REGISTRY)).unwrap();
    rt2.block_on(manifold_runtime::maintain::vacuum(&lake2, &jira::REGISTRY, Duration::ZERO, false)).unwrap();
    // Every table is behind commits whose files are gone: they are filled
    // from the staging files on top of what they hold.
    let merges = merge(&rt2, &jira::REGISTRY, &lake2, 1_000_000);
    assert!(merges.iter().all(|m| m.commits > 0 || m.staging_rows == 0), "{merges:?}");
    assert_eq!(model_tables(&jira::REGISTRY, &lake2, &rt2), expected_models(&jira::REGISTRY, &lake2, &rt2));
}

/// An `append` table behind a staging commit whose file is gone is filled
/// again from the staging files in one commit that replaces its files (filled
/// on top, its rows would be there twice).
#[test]
fn an_append_table_behind_vanished_commits_is_filled_again() {
    let dir = tempfile::tempdir().unwrap();
    let options = ProduceOptions { keys_per_entity: 8, segments: 2, bad_records: false, ..ProduceOptions::default() };
    let (source, _) = write_stream(dir.path(), &opsgenie::REGISTRY, &options);
    let held = HeldBack::new(&source, &dir.path().join("held"));
    let (rt, lake) = (rt(), lake_at(&dir.path().join("lake")));
    ingest(&rt, &opsgenie::REGISTRY, &lake, &source, 20);
    merge(&rt, &opsgenie::REGISTRY, &lake, 1_000_000);
    held.release(1);
    ingest(&rt, &opsgenie::REGISTRY, &lake, &source, 20);
    rt.block_on(manifold_runtime::maintain::optimize(&lake, &opsgenie::REGISTRY)).unwrap();
    rt.block_on(manifold_runtime::maintain::vacuum(&lake, &opsgenie::REGISTRY, Duration::ZERO, false)).unwrap();
    let merges = merge(&rt, &opsgenie::REGISTRY, &lake, 1_000_000);
    let history = merges.iter().find(|m| m.table.table == "opsgenie_alert_history").unwrap();
    assert!(history.commits == 1 && history.written.replaced > 0, "{history:?}");
    assert_eq!(model_tables(&opsgenie::REGISTRY, &lake, &rt), expected_models(&opsgenie::REGISTRY, &lake, &rt));
}

/// `transform` of the opsgenie model `name`, then as a later release might
/// compute it: every text column but the row id and the workspace gets a `!`
/// — after the value in rows whose row id ends in an even digit, before it in
/// the others, so that a tie of versions decided by content would keep some
/// old rows either way — and a `merge_exploded` model keeps only the rows
/// whose row id ends in an even digit.
fn recomputed(name: &str, staging: &RecordBatch) -> manifold_runtime::transform::Result<RecordBatch> {
    use manifold_runtime::arrow_array::cast::AsArray as _;
    use manifold_runtime::arrow_array::{ArrayRef, StringArray};
    let model = opsgenie::REGISTRY.entities.iter().flat_map(|e| e.models).find(|m| m.name == name).unwrap();
    let rows = (model.transform)(staging)?;
    let ids = rows.column_by_name(merge::ROW_ID).unwrap().as_string::<i32>().clone();
    let even: Vec<bool> = ids.iter().map(|id| id.is_some_and(|id| id.ends_with(['0', '2', '4', '6', '8']))).collect();
    let columns: Vec<ArrayRef> = rows
        .schema()
        .fields()
        .iter()
        .zip(rows.columns())
        .map(|(f, c)| match c.as_string_opt::<i32>() {
            Some(text) if f.name() != merge::ROW_ID && f.name() != "workspace_id" => {
                let marked = text.iter().zip(&even).map(|(v, &even)| {
                    v.map(|v| match even {
                        true => format!("{v}!"),
                        false => format!("!{v}"),
                    })
                });
                std::sync::Arc::new(marked.collect::<StringArray>()) as ArrayRef
            }
            _ => c.clone(),
        })
        .collect();
    // And a new NOT NULL column.
    let mut columns = columns;
    columns.push(std::sync::Arc::new(manifold_runtime::arrow_array::Int64Array::from(vec![1; rows.num_rows()])));
    let rows = RecordBatch::try_new(with_mark((model.schema)()), columns).unwrap();
    if model.writer != Writer::MergeExploded {
        return Ok(rows);
    }
    let keep: manifold_runtime::arrow_array::BooleanArray = even.iter().map(|&e| Some(e)).collect();
    Ok(manifold_runtime::arrow_select::filter::filter_record_batch(&rows, &keep).unwrap())
}

/// `schema` and a NOT NULL column `mark`: what [`recomputed`] adds.
fn with_mark(schema: manifold_runtime::arrow_schema::SchemaRef) -> manifold_runtime::arrow_schema::SchemaRef {
    use manifold_runtime::arrow_schema::{DataType, Field, Schema};
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(Field::new("mark", DataType::Int64, false));
    std::sync::Arc::new(Schema::new(fields))
}

fn model_schema(name: &str) -> manifold_runtime::arrow_schema::SchemaRef {
    let model = opsgenie::REGISTRY.entities.iter().flat_map(|e| e.models).find(|m| m.name == name).unwrap();
    (model.schema)()
}
fn recomputed_alert_schema() -> manifold_runtime::arrow_schema::SchemaRef {
    with_mark(model_schema("opsgenie_alert"))
}
fn recomputed_history_schema() -> manifold_runtime::arrow_schema::SchemaRef {
    with_mark(model_schema("opsgenie_alert_history"))
}
fn recomputed_open_alerts_schema() -> manifold_runtime::arrow_schema::SchemaRef {
    with_mark(model_schema("opsgenie_open_alerts"))
}

fn recomputed_alert(b: &RecordBatch) -> manifold_runtime::transform::Result<RecordBatch> {
    recomputed("opsgenie_alert", b)
}
fn recomputed_history(b: &RecordBatch) -> manifold_runtime::transform::Result<RecordBatch> {
    recomputed("opsgenie_alert_history", b)
}
fn recomputed_open_alerts(b: &RecordBatch) -> manifold_runtime::transform::Result<RecordBatch> {
    recomputed("opsgenie_open_alerts", b)
}

/// opsgenie as a release where the alert's main model (`merge`) carries a
/// fingerprint (generated models have none: here it stands for a team's
/// `merge` model), and, with `recompute`, a later release where it, the
/// alert history (`append`) and the open alerts (`merge_exploded`) compute
/// other rows ([`recomputed`]) under other fingerprints.
fn opsgenie_release(recompute: bool) -> &'static Registry {
    let entities: Vec<EntityInfo> = opsgenie::REGISTRY
        .entities
        .iter()
        .map(|e| {
            let models: Vec<ModelInfo> = e
                .models
                .iter()
                .map(|m| {
                    type Transform = fn(&RecordBatch) -> manifold_runtime::transform::Result<RecordBatch>;
                    type Schema = fn() -> manifold_runtime::arrow_schema::SchemaRef;
                    let (transform, schema): (Transform, Schema) = match m.name {
                        "opsgenie_alert" => (recomputed_alert, recomputed_alert_schema),
                        "opsgenie_alert_history" => (recomputed_history, recomputed_history_schema),
                        "opsgenie_open_alerts" => (recomputed_open_alerts, recomputed_open_alerts_schema),
                        _ => return *m,
                    };
                    let fingerprint = m.sql_fingerprint.unwrap_or(7);
                    match recompute {
                        false => ModelInfo { sql_fingerprint: Some(fingerprint), ..*m },
                        true => ModelInfo { transform, schema, sql_fingerprint: Some(fingerprint ^ 1), ..*m },
                    }
                })
                .collect();
            EntityInfo { models: Box::leak(models.into_boxed_slice()), ..*e }
        })
        .collect();
    Box::leak(Box::new(Registry { entities: Box::leak(entities.into_boxed_slice()), ..opsgenie::REGISTRY }))
}

/// A release whose models compute something else (a team changed their SQL,
/// adding a NOT NULL column) fills their tables again, replacing the rows the
/// old SQL computed — for each writer, and across a chunked fill and a
/// rollback.
#[test]
fn a_model_that_computes_something_else_fills_its_table_again() {
    let dir = tempfile::tempdir().unwrap();
    let options = ProduceOptions { keys_per_entity: 12, segments: 2, bad_records: false, ..ProduceOptions::default() };
    let (source, _) = write_stream(dir.path(), &opsgenie::REGISTRY, &options);
    let held = HeldBack::new(&source, &dir.path().join("held"));
    let (rt, lake) = (rt(), lake_at(&dir.path().join("lake")));
    let (old, new) = (opsgenie_release(false), opsgenie_release(true));
    ingest(&rt, old, &lake, &source, 20);
    merge(&rt, old, &lake, 1_000_000);
    let before = model_tables(old, &lake, &rt);
    assert_eq!(before, expected_models(old, &lake, &rt));
    let changed = ["opsgenie.opsgenie_alert", "opsgenie.opsgenie_alert_history", "opsgenie.opsgenie_open_alerts"];
    let expected = expected_models(new, &lake, &rt);
    for table in changed {
        assert_ne!(before[table], expected[table], "{table}: the new release must compute other rows");
    }

    // The status of the new release: the changed tables have merged nothing of it.
    let status = rt.block_on(merge::status(&lake, new)).unwrap();
    for s in &status {
        assert_eq!(s.merged.is_none(), changed.contains(&s.table.to_string().as_str()), "{s:?}");
    }
    // Small chunks: the merging tables are filled over several commits. The
    // alert's child tables are filled again with its main table.
    let merges = merge(&rt, new, &lake, 7);
    for m in &merges {
        let alert = m.table.table.starts_with("opsgenie_alert") || m.table.table == "opsgenie_open_alerts";
        assert_eq!(m.commits > 0, alert, "{m:?}");
    }
    assert_eq!(model_tables(new, &lake, &rt), expected);
    assert!(merge(&rt, new, &lake, 1_000_000).iter().all(|m| m.commits == 0), "filled once");
    assert!(rt.block_on(merge::status(&lake, new)).unwrap().iter().all(|s| s.behind == 0));

    // The new release goes on from there.
    held.release(1);
    ingest(&rt, new, &lake, &source, 20);
    merge(&rt, new, &lake, 1_000_000);
    assert_eq!(model_tables(new, &lake, &rt), expected_models(new, &lake, &rt));
    // Rolled back: the old release's rows again, everywhere (the new
    // release's column stays in the tables, NULL in every row).
    let merges = merge(&rt, old, &lake, 1_000_000);
    assert!(merges.iter().filter(|m| m.commits > 0).count() >= changed.len(), "{merges:?}");
    let mut tables = model_tables(old, &lake, &rt);
    for table in changed {
        for row in tables.get_mut(table).unwrap() {
            *row = row.strip_suffix(", mark=NULL").unwrap_or_else(|| panic!("{table}: {row}")).to_string();
        }
    }
    assert_eq!(tables, expected_models(old, &lake, &rt));
}
