//! `ingest-<product> bench-merge`: the `merge` writer beside delta-rs's own
//! MERGE (through the Python `deltalake` package, which has DataFusion) on the
//! same data. Prints one table.
//!
//! Per target size: a table of that many rows (a compact schema: the envelope
//! columns, two payload columns, partitioned by `workspace_id` over
//! `--workspaces` workspaces), written in 1M-row appends and optimized (a file
//! per partition, sorted by key); per batch size: that many changed
//! rows (a newer version of existing keys, spread over every workspace) merged
//! into a fresh copy of the target by each side, timed, with peak RSS (Linux:
//! the high-water mark is reset before each run). Ours runs `--repeat` times,
//! each on a fresh copy, and the median run is shown; the targets take turns
//! (run 1 into each, then run 2 into each, …), and the growth from the
//! smallest target to the largest is the median ratio of those side-by-side
//! runs.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use arrow_array::{ArrayRef, BooleanArray, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use deltalake::kernel::Transaction;
use rand::{Rng as _, SeedableRng as _};

use super::bench::{median_by, paired_ratios, peak_rss, reset_peak_rss};
use crate::lake::{Lake, TableName};
use crate::merge::writers;

pub struct BenchMergeArgs {
    pub targets: Vec<usize>,
    pub batches: Vec<usize>,
    pub workspaces: usize,
    /// Runs of our merge per cell (the median is shown).
    pub repeat: usize,
    pub python: PathBuf,
}

const KEY: &str = "envelope_fields_resource_ari_value";

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("envelope_fields_resource_ari_value", DataType::Utf8, false),
        Field::new("envelope_fields_version", DataType::Int64, false),
        Field::new("envelope_fields_is_tombstone", DataType::Boolean, false),
        Field::new("envelope_fields_generation_counter", DataType::Int64, false),
        Field::new("payload", DataType::Utf8, true),
        Field::new("amount", DataType::Int64, true),
        Field::new("workspace_id", DataType::Utf8, false),
    ]))
}

/// Rows for keys `keys`, at `version`.
fn rows(keys: &[usize], version: i64, workspaces: usize) -> RecordBatch {
    let ari: StringArray = keys.iter().map(|k| Some(format!("ari:cloud:bench:site:item/{k:09}"))).collect();
    let payload: StringArray = keys.iter().map(|k| Some(format!("payload {k} v{version}"))).collect();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(ari),
        Arc::new(Int64Array::from_value(version, keys.len())),
        Arc::new(BooleanArray::from(vec![false; keys.len()])),
        Arc::new(Int64Array::from_value(1, keys.len())),
        Arc::new(payload),
        Arc::new(Int64Array::from_iter_values(keys.iter().map(|k| *k as i64 * version))),
        Arc::new(keys.iter().map(|k| Some(format!("ws-{:03}", k % workspaces))).collect::<StringArray>()),
    ];
    RecordBatch::try_new(schema(), columns).expect("the bench schema")
}

struct Row {
    target: usize,
    batch: usize,
    /// Seconds and peak RSS of the median run.
    ours: (f64, Option<u64>),
    /// The median of the runs' CPU seconds (the process's, all threads):
    /// steadier than wall time on a machine shared with noisy neighbours.
    ours_cpu: Option<f64>,
    /// Every run's seconds, in the order the runs were made.
    seconds: Vec<f64>,
    theirs: Option<(f64, u64)>,
    rewritten: usize,
    files: usize,
}

pub fn run(args: &BenchMergeArgs) -> anyhow::Result<String> {
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    // Multi-thread, as the ingestion binaries run: the merge reads files in parallel.
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let name = TableName::new("bench", "target");
    // Every target is written first, so that the runs of one batch size can
    // take turns between the targets (see below) — on a runtime of its own,
    // whose threads (and the memory their allocator heaps keep) are gone
    // before the merges are measured.
    let mut bases = Vec::with_capacity(args.targets.len());
    let writing = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    for &target in &args.targets {
        eprintln!("bench-merge: writing a {target}-row target");
        let base = dir.path().join(format!("base-{target}"));
        writing.block_on(async {
            let lake = Lake::open(&base.to_string_lossy())?;
            let lookup = crate::merge::lookup_columns(&[KEY]);
            let properties = [crate::lake::ENABLE_DELETION_VECTORS, (crate::lake::LOOKUP_COLUMNS, &lookup)];
            let mut table = lake.table_with_properties(&name, &schema(), &["workspace_id"], &properties).await?;
            let keys: Vec<usize> = (0..target).collect();
            for chunk in keys.chunks(1_000_000) {
                table.append(&[rows(chunk, 1, args.workspaces)], None).await?;
            }
            // As `optimize` leaves a table: a file per partition, sorted by key.
            crate::maintain::optimize_table(&lake, &name, &[KEY]).await?;
            anyhow::Ok(())
        })?;
        bases.push((target, base));
    }
    drop(writing);
    let mut out = Vec::new();
    for &batch in &args.batches {
        // Per target, `batch` random keys of it (deduplicated).
        let cells: Vec<(usize, &PathBuf, Vec<usize>)> = bases
            .iter()
            .map(|(target, base)| {
                let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(batch as u64);
                let mut keys: Vec<usize> = (0..batch).map(|_| rng.random_range(0..*target)).collect();
                keys.sort_unstable();
                keys.dedup();
                (*target, base, keys)
            })
            .collect();
        let changed: Vec<RecordBatch> = cells.iter().map(|(_, _, keys)| rows(keys, 2, args.workspaces)).collect();
        // Ours, each run on a fresh copy. Run `r` of every target comes
        // before run `r + 1` of any: this machine's speed drifts over
        // seconds, and the growth with the table is read off pairs of runs
        // made side by side, not off runs made a minute apart.
        let mut runs: Vec<Vec<Run>> = cells.iter().map(|_| Vec::with_capacity(args.repeat)).collect();
        for run in 0..args.repeat {
            for (c, (target, base, keys)) in cells.iter().enumerate() {
                let copy = dir.path().join(format!("ours-{target}-{batch}-{run}"));
                copy_dir(base, &copy)?;
                runs[c].push(ours_once(&rt, &copy, &name, &changed[c], keys.len())?);
                std::fs::remove_dir_all(&copy).ok();
            }
        }
        for (((target, base, keys), changed), runs) in cells.iter().zip(&changed).zip(runs) {
            let seconds: Vec<f64> = runs.iter().map(|r| r.seconds).collect();
            let cpus: Vec<f64> = runs.iter().filter_map(|r| r.cpu).collect();
            let ours_cpu = (cpus.len() == runs.len()).then(|| median_by(&cpus, |c| *c));
            let median = median_by(&runs, |r| r.seconds);
            // delta-rs's MERGE, on another fresh copy.
            let copy = dir.path().join(format!("theirs-{target}-{batch}"));
            copy_dir(base, &copy)?;
            let theirs = python_merge(&args.python, &copy.join("bench/target"), changed, dir.path());
            let theirs = match theirs {
                Ok(t) => Some(t),
                Err(e) => {
                    eprintln!("bench-merge: skipping delta-rs's MERGE: {}", super::causes::one_line(&e));
                    None
                }
            };
            std::fs::remove_dir_all(&copy).ok();
            eprintln!("bench-merge: {target} rows ← {} changed: ours {:.3}s", keys.len(), median.seconds);
            out.push(Row {
                target: *target,
                batch: keys.len(),
                ours: (median.seconds, median.peak_rss),
                ours_cpu,
                seconds,
                theirs,
                rewritten: median.files_changed,
                files: median.files,
            });
        }
    }
    for (_, base) in &bases {
        std::fs::remove_dir_all(base).ok();
    }
    out.sort_by_key(|r| (r.target, r.batch));
    Ok(render(args, &out))
}

/// One timed run of our merge.
#[derive(Clone)]
struct Run {
    seconds: f64,
    cpu: Option<f64>,
    peak_rss: Option<u64>,
    files_changed: usize,
    /// The table's files after the merge.
    files: usize,
}

/// Our merge of `changed` (`keys` distinct keys, all stored) into the table
/// at `copy`, timed from opening the table to its commit.
fn ours_once(
    rt: &tokio::runtime::Runtime,
    copy: &Path,
    name: &TableName,
    changed: &RecordBatch,
    keys: usize,
) -> anyhow::Result<Run> {
    reset_peak_rss();
    let (written, files, seconds, cpu) = rt.block_on(async {
        let (start, cpu) = (Instant::now(), super::bench::cpu_seconds());
        let lake = Lake::open(&copy.to_string_lossy())?;
        let mut table = lake.existing(name).await?.context("the copied target")?;
        let written =
            writers::merge(&mut table, std::slice::from_ref(changed), &[KEY], Transaction::new("bench", 1)).await?;
        let seconds = start.elapsed().as_secs_f64();
        let cpu = super::bench::cpu_since(cpu);
        anyhow::Ok((written, table.files().await?.len(), seconds, cpu))
    })?;
    anyhow::ensure!(written.replaced == keys, "replaced {} of {keys} rows", written.replaced);
    Ok(Run { seconds, cpu, peak_rss: peak_rss(), files_changed: written.files_changed, files })
}

fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    let status = std::process::Command::new("cp").arg("-r").arg(from).arg(to).status()?;
    anyhow::ensure!(status.success(), "cp -r {} {}", from.display(), to.display());
    // The copy's dirty pages are written back now, not during the timed merge
    // (at 10M rows that is about a gigabyte the kernel would otherwise flush
    // while the merge creates its files).
    let status = std::process::Command::new("sync").status()?;
    anyhow::ensure!(status.success(), "sync after copying {}", from.display());
    Ok(())
}

fn python_merge(python: &Path, table: &Path, changed: &RecordBatch, scratch: &Path) -> anyhow::Result<(f64, u64)> {
    let batch_file = scratch.join("changed.parquet");
    let file = std::fs::File::create(&batch_file)?;
    let mut writer = deltalake::parquet::arrow::ArrowWriter::try_new(file, changed.schema(), None)?;
    writer.write(changed)?;
    writer.close()?;
    let args = [table.as_os_str(), batch_file.as_os_str()];
    let v = super::bench::run_python(python, include_str!("../../python/merge_deltalake.py"), &args)?;
    let updated = v["updated"].as_u64().context("no updated count")?;
    anyhow::ensure!(
        updated as usize == changed.num_rows(),
        "delta-rs's MERGE updated {updated} of {} rows",
        changed.num_rows()
    );
    Ok((v["seconds"].as_f64().context("no seconds")?, v["peak_rss_bytes"].as_u64().context("no peak_rss_bytes")?))
}

fn render(args: &BenchMergeArgs, rows: &[Row]) -> String {
    use std::fmt::Write as _;
    let mb = |b: Option<u64>| b.map(|b| format!("{:.0} MB", b as f64 / 1e6)).unwrap_or_else(|| "-".into());
    let mut out = format!(
        "merge of changed rows (a newer version of existing keys, spread over {} workspaces) into a target table\n\n",
        args.workspaces
    );
    out.push_str("| target rows | changed rows | ours s | ours CPU s | ours peak RSS | files changed / files | delta-rs MERGE s | delta-rs peak RSS | speed-up |\n");
    out.push_str("|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for r in rows {
        let (theirs_s, theirs_rss, ratio) = match r.theirs {
            Some((s, rss)) => (format!("{s:.2}"), mb(Some(rss)), format!("{:.1}×", s / r.ours.0)),
            None => ("-".into(), "-".into(), "-".into()),
        };
        let cpu = r.ours_cpu.map(|c| format!("{c:.3}")).unwrap_or_else(|| "-".into());
        let _ = writeln!(
            out,
            "| {} | {} | {:.3} | {cpu} | {} | {} / {} | {theirs_s} | {theirs_rss} | {ratio} |",
            r.target,
            r.batch,
            r.ours.0,
            mb(r.ours.1),
            r.rewritten,
            r.files
        );
    }
    // Growth with the table, per batch size: how far the cost follows the
    // batch. Read off the runs made side by side (run `r` of the smaller
    // target beside run `r` of the larger): the median of those ratios, and
    // their range.
    for &batch in &args.batches {
        let times: Vec<&Row> = rows.iter().filter(|r| r.batch <= batch && r.batch * 2 > batch).collect();
        if let (Some(small), Some(large)) = (times.first(), times.last())
            && large.target > small.target
        {
            let ratios = paired_ratios(&large.seconds, &small.seconds);
            let (Some(low), Some(high)) = (ratios.first(), ratios.last()) else { continue };
            let cpu = match (large.ours_cpu, small.ours_cpu) {
                (Some(l), Some(s)) => format!("; {:.2}× in median CPU time", l / s),
                _ => String::new(),
            };
            let _ = writeln!(
                out,
                "\n~{batch} changed rows: ours {:.2}× slower at {} rows than at {} rows (median of {} runs side by side, range {low:.2}–{high:.2}×{cpu})",
                median_by(&ratios, |r| *r),
                large.target,
                small.target,
                ratios.len(),
            );
        }
    }
    out
}
