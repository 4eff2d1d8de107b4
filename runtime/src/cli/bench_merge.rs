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
//! each on a fresh copy, and the median run is shown.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use arrow_array::{ArrayRef, BooleanArray, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use deltalake::kernel::Transaction;
use rand::{Rng as _, SeedableRng as _};

use super::bench::{peak_rss, reset_peak_rss};
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
    theirs: Option<(f64, u64)>,
    rewritten: usize,
    files: usize,
}

pub fn run(args: &BenchMergeArgs) -> anyhow::Result<String> {
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    // Multi-thread, as the ingestion binaries run: the merge reads files in parallel.
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let name = TableName::new("bench", "target");
    let mut out = Vec::new();
    for &target in &args.targets {
        eprintln!("bench-merge: writing a {target}-row target");
        let base = dir.path().join(format!("base-{target}"));
        rt.block_on(async {
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
        for &batch in &args.batches {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(batch as u64);
            let mut keys: Vec<usize> = (0..batch).map(|_| rng.random_range(0..target)).collect();
            keys.sort_unstable();
            keys.dedup();
            let changed = rows(&keys, 2, args.workspaces);
            // Ours, each run on a fresh copy; the median run is shown.
            let mut runs = Vec::with_capacity(args.repeat);
            for run in 0..args.repeat {
                let copy = dir.path().join(format!("ours-{target}-{batch}-{run}"));
                copy_dir(&base, &copy)?;
                reset_peak_rss();
                let (written, seconds, cpu) = rt.block_on(async {
                    // Timed: opening the table and the merge (not counting its files after).
                    let (start, cpu) = (Instant::now(), super::bench::cpu_seconds());
                    let lake = Lake::open(&copy.to_string_lossy())?;
                    let mut table = lake.existing(&name).await?.context("the copied target")?;
                    let written = writers::merge(
                        &mut table,
                        std::slice::from_ref(&changed),
                        &[KEY],
                        Transaction::new("bench", 1),
                    )
                    .await?;
                    let seconds = start.elapsed().as_secs_f64();
                    let cpu = super::bench::cpu_since(cpu);
                    anyhow::Ok(((written, table.files().await?.len()), seconds, cpu))
                })?;
                anyhow::ensure!(
                    written.0.replaced == keys.len(),
                    "replaced {} of {} rows",
                    written.0.replaced,
                    keys.len()
                );
                std::fs::remove_dir_all(&copy).ok();
                runs.push(((seconds, peak_rss()), written, cpu));
            }
            let mut cpus: Vec<f64> = runs.iter().filter_map(|r| r.2).collect();
            cpus.sort_by(f64::total_cmp);
            let ours_cpu = (cpus.len() == runs.len()).then(|| cpus[cpus.len() / 2]);
            runs.sort_by(|a, b| a.0.0.total_cmp(&b.0.0));
            let (ours, written, _) = runs.swap_remove(runs.len() / 2);
            // delta-rs's MERGE, on another fresh copy.
            let copy = dir.path().join(format!("theirs-{target}-{batch}"));
            copy_dir(&base, &copy)?;
            let theirs = python_merge(&args.python, &copy.join("bench/target"), &changed, dir.path());
            let theirs = match theirs {
                Ok(t) => Some(t),
                Err(e) => {
                    eprintln!("bench-merge: skipping delta-rs's MERGE: {e:#}");
                    None
                }
            };
            std::fs::remove_dir_all(&copy).ok();
            eprintln!("bench-merge: {target} rows ← {} changed: ours {:.3}s", keys.len(), ours.0);
            out.push(Row {
                target,
                batch: keys.len(),
                ours,
                ours_cpu,
                theirs,
                rewritten: written.0.files_changed,
                files: written.1,
            });
        }
        std::fs::remove_dir_all(&base).ok();
    }
    Ok(render(args, &out))
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
    // Growth with the table, per batch size: how far the cost follows the batch.
    for &batch in &args.batches {
        let times: Vec<&Row> = rows.iter().filter(|r| r.batch <= batch && r.batch * 2 > batch).collect();
        if let (Some(small), Some(large)) = (times.first(), times.last())
            && large.target > small.target
        {
            let cpu = match (large.ours_cpu, small.ours_cpu) {
                (Some(l), Some(s)) => format!(" ({:.2}× in CPU time)", l / s),
                _ => String::new(),
            };
            let _ = writeln!(
                out,
                "\n~{batch} changed rows: ours {:.2}× slower at {} rows than at {} rows{cpu}",
                large.ours.0 / small.ours.0,
                large.target,
                small.target
            );
        }
    }
    out
}
