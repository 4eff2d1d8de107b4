//! `ingest-<product> bench`: throughput of step 1 on this machine, beside the
//! Python `deltalake` package writing the same rows. Prints one table.
//!
//! Rows: decode + flatten alone (envelope, generated staging builder, Arrow
//! batches) on the calling thread; step 1 end to end (source, decode, LWW,
//! Parquet, Delta commits with `txn`) on a current-thread runtime; and
//! `write_deltalake` of the Arrow batches decode + flatten built, with the
//! same partitioning. Those batches reach Python through an Arrow IPC file,
//! rows in the stream's order: step 1 gets the workspaces interleaved, as a
//! stream delivers them, and so does Python (the staged table read back, its
//! input before, comes grouped by workspace, which is cheaper to partition).
//! MB/s is over the records' encoded bytes in every row.
//! Peak RSS is per run (Linux: the high-water mark is reset before each).
//!
//! Every row runs `--repeat` times and shows its median run. Step 1 and
//! Python take turns (step 1, Python, step 1, …), each into a new table, and
//! step 1 is compared with Python by the median ratio of those side-by-side
//! pairs: this machine's speed drifts over seconds, and one run of each, made
//! a minute apart, could read 1.0× one time and 1.5× the next.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context as _;
use arrow_array::RecordBatch;

use crate::envelope::{self, Body};
use crate::ingest::{Ingest, Options};
use crate::lake::Lake;
use crate::mapping::{EntityInfo, Explode, Registry};
use crate::produce;

pub struct BenchArgs {
    pub entity: Option<String>,
    pub records: usize,
    pub workspaces: usize,
    /// Records per micro-batch of the end-to-end row.
    pub batch_records: usize,
    /// Runs of every row.
    pub repeat: usize,
    pub python: PathBuf,
}

/// One timed run.
#[derive(Clone, Copy)]
struct Run {
    seconds: f64,
    /// CPU time of this process over the step (all threads): steadier than
    /// wall time on a machine shared with noisy neighbours.
    cpu_seconds: Option<f64>,
    peak_rss: Option<u64>,
}

struct Row {
    what: String,
    /// In the order they were made.
    runs: Vec<Run>,
}

impl Row {
    /// The run of median time.
    fn median(&self) -> Run {
        median_by(&self.runs, |r| r.seconds)
    }
}

/// The median of `runs` by `key` (the upper middle one of an even count).
pub(super) fn median_by<T: Clone>(runs: &[T], key: impl Fn(&T) -> f64) -> T {
    let mut sorted = runs.to_vec();
    sorted.sort_by(|a, b| key(a).total_cmp(&key(b)));
    sorted[sorted.len() / 2].clone()
}

/// The ratios `a[i] / b[i]` of runs made side by side, ascending.
pub(super) fn paired_ratios(a: &[f64], b: &[f64]) -> Vec<f64> {
    let mut ratios: Vec<f64> = a.iter().zip(b).map(|(a, b)| a / b).collect();
    ratios.sort_by(f64::total_cmp);
    ratios
}

pub fn run(registry: &'static Registry, args: &BenchArgs) -> anyhow::Result<String> {
    let entity = pick_entity(registry, args.entity.as_deref())?;
    let columns = (entity.staging_schema)().fields().len();
    eprintln!("bench: synthesizing {} records of {}", args.records, entity.name);
    let records = produce::synthesize_entity(registry, entity, args.records, args.workspaces);
    let bytes: usize = records.iter().map(Vec::len).sum();
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let source = dir.path().join("stream");
    let synthetic = produce::Synthetic { records, ..Default::default() };
    produce::write(&source, &synthetic, 1).context("writing the stream")?;

    // Python's input, made first (untimed) and not held: the batches decode
    // + flatten builds, written to an Arrow IPC file. Holding them made the
    // timed runs fault in a gigabyte, and would have raised their baseline.
    let flattened = dir.path().join("flattened.arrow");
    write_ipc(&flattened, &decode_and_flatten(registry, &shared_frames(&synthetic.records), true)?.1)?;

    // The records as the source hands them out: slices of one segment buffer.
    let frames = shared_frames(&synthetic.records);
    let mut decoding = Row { what: "decode + flatten (one thread)".into(), runs: Vec::new() };
    for _ in 0..args.repeat {
        reset_peak_rss();
        let (start, cpu) = (Instant::now(), cpu_seconds());
        let (staged, _) = decode_and_flatten(registry, &frames, false)?;
        decoding.runs.push(Run { seconds: secs(start), cpu_seconds: cpu_since(cpu), peak_rss: peak_rss() });
        anyhow::ensure!(staged == args.records, "staged {staged} of {} records", args.records);
    }
    drop((synthetic, frames));

    let mut step1 = Row { what: "step 1 end to end (current-thread runtime)".into(), runs: Vec::new() };
    let mut python = Row {
        what: format!("python deltalake.write_deltalake, same rows, partitioned by {:?}", entity.staging_partition_by),
        runs: Vec::new(),
    };
    for run in 0..args.repeat {
        let lake_dir = dir.path().join(format!("lake-{run}"));
        let lake = Lake::open(&lake_dir.to_string_lossy())?;
        reset_peak_rss();
        let (start, cpu) = (Instant::now(), cpu_seconds());
        let report = tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
            let mut options = Options::new(&source);
            options.batch_records = args.batch_records;
            let mut ingest = Ingest::open(registry, &lake, options).await?;
            ingest.run(|_| {}).await
        })?;
        let seconds = secs(start);
        step1.runs.push(Run { seconds, cpu_seconds: cpu_since(cpu), peak_rss: peak_rss() });
        eprintln!("bench: step 1, run {}: {seconds:.3} s", run + 1);
        anyhow::ensure!(report.rows_total() as usize == args.records, "{report:?}");
        std::fs::remove_dir_all(&lake_dir).ok();
        // Python, unless it already failed.
        if python.runs.len() == run {
            let target = dir.path().join(format!("python-{run}"));
            match python_write(&args.python, &flattened, &target, entity.staging_partition_by) {
                Ok((seconds, peak)) => {
                    eprintln!("bench: python, run {}: {seconds:.3} s", run + 1);
                    python.runs.push(Run { seconds, cpu_seconds: None, peak_rss: Some(peak) });
                }
                Err(e) => eprintln!("bench: skipping the Python row: {}", super::causes::one_line(&e)),
            }
            std::fs::remove_dir_all(&target).ok();
        }
    }
    let python = (!python.runs.is_empty()).then_some(&python);
    Ok(render(entity, columns, args, bytes, [&decoding, &step1], python))
}

fn pick_entity(registry: &'static Registry, name: Option<&str>) -> anyhow::Result<&'static EntityInfo> {
    match name {
        Some(n) => registry
            .entities
            .iter()
            .find(|e| e.name == n)
            .with_context(|| format!("no entity `{n}` in {}", registry.product)),
        // The entity whose staging table is closest to 20 columns.
        None => registry
            .entities
            .iter()
            .min_by_key(|e| ((e.staging_schema)().fields().len() as i64 - 20).abs())
            .context("the product has no entities"),
    }
}

/// `records` as slices of shared buffers, as a source hands them out (a
/// buffer per 10,000 records: one buffer of the whole input would be freed as
/// one block before the end-to-end phase, whose peak would then count it).
fn shared_frames(records: &[Vec<u8>]) -> Vec<bytes::Bytes> {
    let mut out = Vec::with_capacity(records.len());
    for chunk in records.chunks(10_000) {
        let all = bytes::Bytes::from(chunk.concat());
        let mut start = 0;
        for r in chunk {
            out.push(all.slice(start..start + r.len()));
            start += r.len();
        }
    }
    out
}

/// How many rows `records` flatten to, and, if `keep`, their staging batches
/// in the records' order (the bench's records are all of one entity).
fn decode_and_flatten(
    registry: &Registry,
    records: &[bytes::Bytes],
    keep: bool,
) -> anyhow::Result<(usize, Vec<RecordBatch>)> {
    let mut builders: Vec<Box<dyn crate::StagingTable>> =
        registry.entities.iter().map(|e| (e.new_staging)(Explode::No)).collect();
    let mut staged = 0;
    let mut batches = Vec::new();
    let mut finish = |b: &mut Box<dyn crate::StagingTable>| {
        let batch = b.finish();
        staged += batch.num_rows();
        if keep && batch.num_rows() > 0 {
            batches.push(batch);
        }
    };
    for (i, r) in records.iter().enumerate() {
        let d = envelope::decode(r, registry, usize::MAX).map_err(|e| anyhow::anyhow!("record {i}: {e}"))?;
        let index = registry.entities.iter().position(|e| e.name == d.entity.name).expect("from the registry");
        let payload = match &d.body {
            Body::Inline(b) => Some(*b),
            _ => None,
        };
        let meta = d.row_meta(0, "bench");
        builders[index].append(&meta, payload)?;
        if builders[index].len() == 100_000 {
            finish(&mut builders[index]);
        }
    }
    for b in &mut builders {
        finish(b);
    }
    Ok((staged, batches))
}

fn write_ipc(path: &Path, batches: &[RecordBatch]) -> anyhow::Result<()> {
    let schema = batches.first().context("no batches")?.schema();
    let file = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut writer = arrow_ipc::writer::FileWriter::try_new(std::io::BufWriter::new(file), &schema)?;
    for b in batches {
        writer.write(b)?;
    }
    writer.finish()?;
    Ok(())
}

/// Runs a bench script (`source`, with `peak.py` beside it) under `python`
/// and returns the JSON object it prints.
pub(super) fn run_python(python: &Path, source: &str, args: &[&std::ffi::OsStr]) -> anyhow::Result<serde_json::Value> {
    anyhow::ensure!(python.exists(), "no Python at {} (scripts/setup-python.sh installs tools/venv)", python.display());
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("peak.py"), include_str!("../../python/peak.py"))?;
    let script = dir.path().join("bench.py");
    std::fs::write(&script, source)?;
    let out = std::process::Command::new(python)
        .arg(&script)
        .args(args)
        .output()
        .with_context(|| format!("running {}", python.display()))?;
    anyhow::ensure!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).context("reading the Python result")
}

fn python_write(python: &Path, batches: &Path, target: &Path, partition: &[&str]) -> anyhow::Result<(f64, u64)> {
    let partition = partition.first().copied().unwrap_or("");
    let args = [batches.as_os_str(), target.as_os_str(), partition.as_ref()];
    let v = run_python(python, include_str!("../../python/write_deltalake.py"), &args)?;
    let seconds = v["seconds"].as_f64().context("no seconds")?;
    let peak = v["peak_rss_bytes"].as_u64().context("no peak_rss_bytes")?;
    Ok((seconds, peak))
}

/// The table: `ours` (decode + flatten, step 1), then Python's row if it ran.
fn render(
    entity: &EntityInfo,
    columns: usize,
    args: &BenchArgs,
    bytes: usize,
    ours: [&Row; 2],
    python: Option<&Row>,
) -> String {
    use std::fmt::Write as _;
    let mb = bytes as f64 / 1e6;
    let mut out = format!(
        "{} records of {}.{} ({columns} staging columns), {mb:.1} MB encoded, {} workspaces, batches of {}\n\n",
        args.records, entity.product, entity.name, args.workspaces, args.batch_records
    );
    let _ = write!(out, "median of {} runs", args.repeat);
    if python.is_some() {
        out.push_str("; step 1 and Python took turns, and step 1's \"vs python\" is the median of those pairs' ratios");
    }
    out.push_str("\n\n| step | seconds | CPU s | records/s | MB/s | peak RSS | vs python |\n|---|---:|---:|---:|---:|---:|---:|\n");
    // Each row, and whether its runs took turns with Python's.
    let [decoding, step1] = ours;
    let rows = [(decoding, false), (step1, true)].into_iter().chain(python.map(|p| (p, false)));
    for (r, paired) in rows {
        let median = r.median();
        let ratio = match python {
            // Side by side with Python: the median of the pairs' ratios.
            Some(p) if paired && p.runs.len() == r.runs.len() => {
                let seconds = |row: &Row| row.runs.iter().map(|r| r.seconds).collect::<Vec<_>>();
                format!("{:.2}×", median_by(&paired_ratios(&seconds(p), &seconds(r)), |x| *x))
            }
            Some(p) => format!("{:.2}×", p.median().seconds / median.seconds),
            None => "-".into(),
        };
        let rss = median.peak_rss.map(|b| format!("{:.0} MB", b as f64 / 1e6)).unwrap_or_else(|| "-".into());
        let cpu = median.cpu_seconds.map(|c| format!("{c:.2}")).unwrap_or_else(|| "-".into());
        let _ = writeln!(
            out,
            "| {} | {:.3} | {cpu} | {:.0} | {:.1} | {rss} | {ratio} |",
            r.what,
            median.seconds,
            args.records as f64 / median.seconds,
            mb / median.seconds
        );
    }
    out
}

fn secs(start: Instant) -> f64 {
    start.elapsed().as_secs_f64()
}

/// This process's CPU time so far (user + system, all threads), to the
/// nanosecond (`CLOCK_PROCESS_CPUTIME_ID`); `None` off Unix.
pub(super) fn cpu_seconds() -> Option<f64> {
    #[cfg(unix)]
    {
        let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: `t` is a valid, writable timespec for the call's duration.
        let ok = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut t) } == 0;
        ok.then(|| t.tv_sec as f64 + t.tv_nsec as f64 / 1e9)
    }
    #[cfg(not(unix))]
    None
}

pub(super) fn cpu_since(start: Option<f64>) -> Option<f64> {
    Some(cpu_seconds()? - start?)
}

/// Resets the process's peak RSS (Linux ≥ 4.0; elsewhere a no-op).
pub(super) fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

pub(super) fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
