//! Step 1 of ingestion: replication records → the staging tables
//! `manifold_entities.<Entity>`, exactly once.
//!
//! The source is read in micro-batches, each within one segment. A batch is
//! decoded, offloaded payloads fetched, last-writer-wins applied per key, and
//! then committed table by table — every commit carrying the application
//! transaction `txn(<source id>/<segment>, <end offset of the batch>)` in the
//! same atomic commit as its rows. The batch ends with a commit to the
//! dead-letter table (rows or not): the progress marker.
//!
//! Restart: resume at the dead-letter table's last `txn` (everything before it
//! is committed everywhere). A crash can leave only the batch after it
//! partially committed; for that batch's segment each table's own `txn` says
//! which records it already holds, and those are not staged for it again. So
//! nothing is lost and nothing is written twice, wherever the process dies.

pub mod dead_letters;
pub mod offload;
mod redrive;
mod stage;
mod status;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use deltalake::kernel::Transaction;

pub use redrive::{Redriven, build_id};
pub use stage::{Context, Staged, StoreUnavailable, stage};
pub use status::{TableStatus, status};

use crate::lake::{Lake, LakeError, Table, TableName};
use crate::mapping::Registry;
use crate::source::{Frame, Position, SegmentDir, Source as _};
use crate::stop::Stop;

/// The schema of the staging tables.
pub const STAGING_SCHEMA: &str = "manifold_entities";

/// The properties a staging table is created with: file statistics for the
/// row key (`optimize` orders files by it) and the refresh time (a reader
/// selecting recent rows), not for every column. Nothing reads a staging
/// table's other statistics — the merge step reads the files each commit
/// added, whole — while delta-rs parses every file's statistics again after
/// each commit (`EagerSnapshot::update`): with all ~20 columns that parsing
/// was a quarter of an ingest committing 20 batches of 12 entities
/// (callgrind), and grew with the files the table held. Tables created by an
/// earlier release keep their statistics.
pub const STAGING_PROPERTIES: &[(&str, &str)] =
    &[(crate::lake::STATS_COLUMNS, "envelope_fields_resource_ari_value,row_refreshed_at")];

#[derive(Clone, Debug)]
pub struct Options {
    /// The directory of segment files.
    pub source: PathBuf,
    /// Names the source in the tables' `txn` app ids (`<source id>/<segment>`);
    /// by default the source directory's name.
    pub source_id: Option<String>,
    /// Keep reading new data instead of stopping at the end.
    pub follow: bool,
    /// Records per micro-batch (a batch never spans two segments).
    pub batch_records: usize,
    /// Record bytes per micro-batch, which also ends a batch: a batch's
    /// records are in memory at once, and 50,000 records of 1 MB would be
    /// 50 GB. A record over it makes a batch of its own. It bounds the
    /// offloaded payloads a batch fetches too (as their pointers state their
    /// sizes): the batch ends before the one that would go over, and the
    /// next batch starts with it.
    pub batch_bytes: usize,
    /// Records over this size are dead letters.
    pub max_record_bytes: usize,
    /// Payload bytes per Arrow batch of a staging table: a micro-batch's rows
    /// of one entity are split there (an Arrow column holds at most 2 GiB of
    /// text). Tests lower it to split small batches.
    pub payload_bytes_per_chunk: usize,
    /// How long to wait for new data when following.
    pub poll_interval: Duration,
    /// Object-store settings for offloaded payloads (`aws_endpoint`,
    /// `aws_region`, `aws_access_key_id`, …); by default from the environment
    /// (`offload::storage_options_from_env`).
    pub storage_options: Vec<(String, String)>,
    /// Stores given for origins of offloaded payloads (`s3://bucket`) instead
    /// of clients made from their URLs and `storage_options`
    /// (`offload::Stores::with_store`).
    pub offload_stores: Vec<(String, std::sync::Arc<dyn object_store::ObjectStore>)>,
    /// Local directories offloaded payloads may be read from besides the
    /// source directory; a pointer to a local file anywhere else is a dead
    /// letter (`offload::LocalDirs`).
    pub offload_dirs: Vec<PathBuf>,
    /// Once requested, the run ends after the batch in flight
    /// (`Report::stopped`); a following run waiting for data ends at once.
    pub stop: Stop,
}

impl Options {
    pub fn new(source: impl Into<PathBuf>) -> Self {
        Options {
            source: source.into(),
            source_id: None,
            follow: false,
            batch_records: 50_000,
            batch_bytes: 256 * 1024 * 1024,
            max_record_bytes: 16 * 1024 * 1024,
            payload_bytes_per_chunk: stage::PAYLOAD_BYTES_PER_CHUNK,
            poll_interval: Duration::from_millis(200),
            storage_options: offload::storage_options_from_env(),
            offload_stores: Vec::new(),
            offload_dirs: Vec::new(),
            stop: Stop::new(),
        }
    }

    /// The given id, or the source directory's name once `.` and `..` are
    /// resolved: `.`, `stream/` and `../x/stream` name the same source `stream`
    /// (taken from the path as written, `.` had no name and ingested a second
    /// time what `stream` had committed). Symbolic links are not followed: a
    /// link keeps naming the source it always named.
    pub fn source_id(&self) -> String {
        self.source_id.clone().unwrap_or_else(|| {
            let absolute = std::path::absolute(&self.source).unwrap_or_else(|_| self.source.clone());
            let mut resolved = PathBuf::new();
            for part in absolute.components() {
                match part {
                    std::path::Component::ParentDir => {
                        resolved.pop();
                    }
                    std::path::Component::CurDir => {}
                    other => resolved.push(other),
                }
            }
            let name = resolved.file_name().or_else(|| self.source.file_name());
            name.map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "source".into())
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error(transparent)]
    Offload(#[from] StoreUnavailable),
    #[error("reading the source `{dir}`: {source}")]
    Source { dir: String, source: std::io::Error },
    #[error("the offload directory `{dir}`: {source}")]
    OffloadDir { dir: String, source: std::io::Error },
    /// The lake's progress for this source id ends past the end of the
    /// segment it names: the directory is not the source the lake ingested
    /// under that id. Reading on would skip records without a trace.
    #[error(
        "the lake has committed source `{source_id}` up to {segment}@{offset}, but `{path}` has {len} bytes: \
         this is not the source the lake ingested as `{source_id}` (another directory of that name? give it its \
         own `--source-id`), or that segment was truncated or replaced; nothing is ingested from it until that is \
         settled"
    )]
    NotThisSource { source_id: String, segment: String, offset: u64, path: String, len: u64 },
    /// A commit lost to a concurrent one: another ingest of the same source
    /// (its `txn` won) or a table created beside this run.
    #[error(
        "another process committed to `{table}` while this ingest of `{source_id}` did: run one ingest per \
         source and lake. This one stopped before its batch; a rerun goes on from what is committed \
         (nothing is lost or written twice)"
    )]
    Concurrent {
        source_id: String,
        table: String,
        #[source]
        source: LakeError,
    },
    /// An interrupted redrive of another build staged some of a dead-letter
    /// file's records into `table`; this build might decode others.
    #[error(
        "`{table}` holds records of the dead-letter file `{file}` that another build ({other}) redrove before it \
         was interrupted; this build ({build}) may decode other records of it. Finish that redrive with that \
         build; nothing of the file was staged by this one"
    )]
    RedriveOfAnotherBuild { file: String, table: String, build: i64, other: i64 },
}

impl IngestError {
    /// `e` of an append to `table`, named for what it means when it is a lost race.
    fn of_append(e: LakeError, source_id: &str, table: &str) -> IngestError {
        if e.is_conflict() {
            IngestError::Concurrent { source_id: source_id.to_string(), table: table.to_string(), source: e }
        } else {
            IngestError::Lake(e)
        }
    }
}

/// What a run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub batches: u64,
    pub records: u64,
    /// Rows committed per staging table (`manifold_entities.<Entity>`).
    pub rows: HashMap<String, u64>,
    pub dead_letters: u64,
    /// Records that lost to a newer record of the same key within their batch.
    pub superseded: u64,
    /// Records that an earlier, interrupted run had already committed.
    pub already_committed: u64,
    /// Where the next run starts.
    pub position: Option<Position>,
    /// Whether the run ended on a stop request rather than at the source's end.
    pub stopped: bool,
    /// At the source's end: bytes past `position` that do not make a whole
    /// record yet. The last segment's writer may still be writing it, so it
    /// is left for the next run (a later segment makes it a dead letter).
    pub unfinished: Option<u64>,
    /// Staging tables this run created although the source's progress was
    /// already recorded: they hold no record before the position it started
    /// at. A new entity's earlier records were dead letters (an unknown
    /// type: `Ingest::redrive` stages them); a staging table deleted by hand
    /// is rebuilt only by a run without the progress marker (the dead-letter
    /// table deleted too), which reads the source from its start.
    pub created_after_progress: Vec<String>,
}

impl Report {
    pub fn rows_total(&self) -> u64 {
        self.rows.values().sum()
    }
}

/// The `txn` app id of one segment of a source.
pub fn app_id(source_id: &str, segment: &str) -> String {
    format!("{source_id}/{segment}")
}

/// The last source position `table` committed: its `txn` of the latest
/// segment that has one (segments are committed in order).
pub(crate) async fn last_position(
    table: &Table,
    source_id: &str,
    segments: &[String],
) -> Result<Option<Position>, IngestError> {
    for segment in segments.iter().rev() {
        if let Some(v) = table.txn_version(&app_id(source_id, segment)).await? {
            return Ok(Some(Position { segment: segment.clone(), offset: v as u64 }));
        }
    }
    Ok(None)
}

/// A position the lake committed for `options`' source must lie within its
/// segment, if the source still has it (a bus's retention removes old
/// segments; what follows them is read).
pub(crate) fn within_its_segment(options: &Options, at: &Position) -> Result<(), IngestError> {
    let path = options.source.join(&at.segment);
    match std::fs::metadata(&path) {
        Ok(m) if m.len() < at.offset => Err(IngestError::NotThisSource {
            source_id: options.source_id(),
            segment: at.segment.clone(),
            offset: at.offset,
            path: path.display().to_string(),
            len: m.len(),
        }),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(IngestError::Source { dir: options.source.display().to_string(), source: e })
        }
        _ => Ok(()),
    }
}

/// The source directory must exist before anything is made: a mistyped one
/// would otherwise leave a lake of empty tables behind its error. (A run that
/// follows a source waits for its segments, not for the directory.)
pub fn check_source(options: &Options) -> Result<(), IngestError> {
    let error = |source| IngestError::Source { dir: options.source.display().to_string(), source };
    if !std::fs::metadata(&options.source).map_err(error)?.is_dir() {
        return Err(error(std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a directory")));
    }
    Ok(())
}

/// The source directory and the `offload_dirs`, each of which must be a
/// directory: a mistyped one would otherwise turn every payload under it into
/// a dead letter.
fn local_dirs(options: &Options) -> Result<offload::LocalDirs, IngestError> {
    check_source(options)?;
    for dir in &options.offload_dirs {
        let error = |source| IngestError::OffloadDir { dir: dir.display().to_string(), source };
        if !std::fs::metadata(dir).map_err(error)?.is_dir() {
            return Err(error(std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a directory")));
        }
    }
    let dirs = std::iter::once(&options.source).chain(&options.offload_dirs);
    offload::LocalDirs::new(dirs.map(PathBuf::as_path))
        .map_err(|e| IngestError::Source { dir: options.source.display().to_string(), source: e })
}

/// An ingest of one product's records into one lake.
pub struct Ingest {
    registry: &'static Registry,
    options: Options,
    /// Staging tables by `staging_table` name.
    tables: HashMap<&'static str, Table>,
    dead: Table,
    /// The clients of offloaded payloads' stores, kept for the whole run.
    stores: offload::Stores,
}

impl Ingest {
    /// Opens (creating if needed) every staging table of `registry` and the dead-letter table.
    pub async fn open(registry: &'static Registry, lake: &Lake, options: Options) -> Result<Ingest, IngestError> {
        let local = local_dirs(&options)?; // before any table is created
        let mut tables = HashMap::new();
        for e in registry.entities {
            let name = TableName::new(STAGING_SCHEMA, e.name);
            let table = lake
                .table_with_properties(&name, &(e.staging_schema)(), e.staging_partition_by, STAGING_PROPERTIES)
                .await?;
            tables.insert(e.staging_table, table);
        }
        let dead = lake
            .table_with_properties(
                &dead_letters::table_name(registry.product),
                &dead_letters::schema(),
                &[],
                dead_letters::PROPERTIES,
            )
            .await?;
        let stores = options
            .offload_stores
            .iter()
            .fold(offload::Stores::new(options.storage_options.clone()), |stores, (origin, store)| {
                stores.with_store(origin, std::sync::Arc::clone(store))
            })
            .with_local_dirs(local);
        Ok(Ingest { registry, options, tables, dead, stores })
    }

    /// Where everything before is committed: the dead-letter table's last `txn`.
    pub async fn committed_position(&self) -> Result<Option<Position>, IngestError> {
        let source_id = self.options.source_id();
        if self.dead.version().unwrap_or(0) == 0 {
            return Ok(None); // only the table's creation: nothing ingested yet
        }
        last_position(&self.dead, &source_id, &self.segments()?).await
    }

    fn segments(&self) -> Result<Vec<String>, IngestError> {
        SegmentDir::segment_names(&self.options.source).map_err(|e| self.source_error(e))
    }

    fn source_error(&self, source: std::io::Error) -> IngestError {
        IngestError::Source { dir: self.options.source.display().to_string(), source }
    }

    /// Runs until the source ends (or forever when following), calling
    /// `progress` after every committed batch.
    /// Ends early once `Options::stop` is requested.
    pub async fn run(&mut self, mut progress: impl FnMut(&Report)) -> Result<Report, IngestError> {
        let stop = self.options.stop.clone();
        let source_id = self.options.source_id();
        let start = self.committed_position().await?;
        if let Some(position) = &start {
            within_its_segment(&self.options, position)?;
        }
        let mut source = SegmentDir::new(&self.options.source, start.clone());
        let mut report = Report { position: start.clone(), ..Report::default() };
        if let Some(position) = &start {
            let mut created: Vec<String> =
                self.tables.values().filter(|t| t.was_created()).map(|t| t.name().to_string()).collect();
            created.sort();
            let at = format!("{}@{}", position.segment, position.offset);
            for table in &created {
                tracing::warn!(
                    table,
                    position = at.as_str(),
                    "created after this source's progress: it holds no record before it"
                );
            }
            report.created_after_progress = created;
        }
        // Per table, the end offset its own `txn` records in the segment being
        // read. With the progress marker, only the first segment this run
        // reads can hold rows of an interrupted batch. Without it, but with
        // staging tables holding commits (the dead-letter table was deleted),
        // every segment is read again and each table's own `txn`s say which
        // of its records it already holds. (The same holds for a new source
        // into a lake other sources fill: its first run looks its segments up
        // in every staging table, a log read each, as those tables cannot
        // tell whether they saw it.)
        let every_segment = start.is_none() && self.tables.values().any(|t| t.version().unwrap_or(0) > 0);
        let mut loaded: Option<(String, HashMap<String, u64>)> = None;
        loop {
            if stop.requested() {
                report.stopped = true;
                break;
            }
            let frames =
                source.poll(self.options.batch_records, self.options.batch_bytes).map_err(|e| self.source_error(e))?;
            if frames.is_empty() {
                if !self.options.follow {
                    report.unfinished = source.unfinished();
                    break;
                }
                tokio::select! {
                    () = tokio::time::sleep(self.options.poll_interval) => {}
                    () = stop.wait() => {}
                }
                continue;
            }
            for group in frames.chunk_by(|a, b| a.position().segment == b.position().segment) {
                let segment = group[0].position().segment.clone();
                let app = app_id(&source_id, &segment);
                if loaded.is_none() || (every_segment && loaded.as_ref().is_some_and(|(s, _)| *s != segment)) {
                    loaded = Some((segment.clone(), self.committed_offsets(&app).await?));
                }
                let (loaded_segment, offsets) = loaded.as_ref().expect("set above");
                let committed = |table: &str, offset: u64| {
                    *loaded_segment == segment && offsets.get(table).is_some_and(|&end| offset < end)
                };
                // A batch whose offloaded payloads filled it ends early: the
                // rest of the frames make the next one.
                let mut rest = group;
                while !rest.is_empty() {
                    let taken = self.commit_batch(&source_id, &segment, &app, rest, &committed, &mut report).await?;
                    rest = &rest[taken..];
                    progress(&report);
                }
            }
        }
        Ok(report)
    }

    /// What staging a batch needs of this ingest, its rows stamped now.
    fn context(&self) -> Context<'_> {
        Context {
            registry: self.registry,
            max_record_bytes: self.options.max_record_bytes,
            payload_bytes_per_chunk: self.options.payload_bytes_per_chunk,
            base: &self.options.source,
            now_micros: now_micros(),
            stores: &self.stores,
            offloaded_bytes_per_batch: self.options.batch_bytes,
        }
    }

    async fn committed_offsets(&self, app: &str) -> Result<HashMap<String, u64>, IngestError> {
        let mut out = HashMap::new();
        for (name, table) in &self.tables {
            if let Some(v) = table.txn_version(app).await? {
                out.insert(name.to_string(), v as u64);
            }
        }
        Ok(out)
    }

    async fn commit_batch(
        &mut self,
        source_id: &str,
        segment: &str,
        app: &str,
        frames: &[Frame],
        committed: impl Fn(&str, u64) -> bool,
        report: &mut Report,
    ) -> Result<usize, IngestError> {
        let cx = self.context();
        let now = cx.now_micros;
        let staged = stage(&cx, segment, frames, &committed).await?;
        let frames = &frames[..staged.records];
        let end = frames.last().expect("a batch stages at least one frame").end();
        let txn = || Some(Transaction::new(app, end as i64));
        for (entity, batches) in &staged.tables {
            let table = self.tables.get_mut(entity.staging_table).expect("every entity has a table");
            table
                .append(batches, txn())
                .await
                .map_err(|e| IngestError::of_append(e, source_id, entity.staging_table))?;
            let rows: usize = batches.iter().map(arrow_array::RecordBatch::num_rows).sum();
            *report.rows.entry(entity.staging_table.to_string()).or_default() += rows as u64;
        }
        let letters = dead_letters::batches(&staged.letters, now);
        let dead_name = dead_letters::table_name(self.registry.product).to_string();
        self.dead.append(&letters, txn()).await.map_err(|e| IngestError::of_append(e, source_id, &dead_name))?;
        report.batches += 1;
        report.records += staged.records as u64;
        report.dead_letters += staged.letters.len() as u64;
        report.superseded += staged.superseded as u64;
        report.already_committed += staged.already_committed as u64;
        report.position = Some(Position { segment: segment.to_string(), offset: end });
        Ok(frames.len())
    }
}

fn now_micros() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_micros() as i64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::Options;

    #[test]
    fn a_source_is_named_by_its_directory_however_the_path_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let stream = dir.path().join("stream");
        std::fs::create_dir_all(stream.join("sub")).unwrap();
        for written in [stream.clone(), stream.join("sub/.."), stream.join("."), dir.path().join("stream/")] {
            assert_eq!(Options::new(&written).source_id(), "stream", "{}", written.display());
        }
        // A link names the source by its own name, as it always did.
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(&stream, dir.path().join("current")).unwrap();
            assert_eq!(Options::new(dir.path().join("current")).source_id(), "current");
        }
        let mut named = Options::new(&stream);
        named.source_id = Some("bus-partition-7".into());
        assert_eq!(named.source_id(), "bus-partition-7");
    }
}
