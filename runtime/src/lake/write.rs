//! Writing a table: rows into Parquet data files (`stage`), and the commit
//! that adds them with whatever else the change needs — files retired,
//! `txn`s — made again on top of the commits that won a race where they do
//! not touch what it read (see `conflict.rs`).

use arrow_array::RecordBatch;
use deltalake::DeltaTableError;
use deltalake::kernel::transaction::{CommitBuilder, CommitProperties};
use deltalake::kernel::{Action, Add, Transaction};
use deltalake::protocol::{DeltaOperation, SaveMode};
use deltalake::writer::{DeltaWriter as _, RecordBatchWriter};

use super::{LakeError, Result, Scope, Table, conflict, delta, lookup, properties, read, runs};

/// What a commit does, for its `commitInfo` and conflict checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Change<'s> {
    /// Only adds files: a blind append.
    Append,
    /// Retires replaced rows (removes, or re-adds with deletion vectors) and
    /// adds their replacements; with the partitions it read and writes.
    Merge(Option<&'s Scope>),
    /// Rewrites files without changing the rows (compaction, clustering).
    Rearrange,
}

/// How many times an append or a scoped merge commit is made again on top of
/// commits that won the race without touching what it read.
pub(super) const RACES: usize = 20;

/// See [`Table::stage`].
#[derive(Default)]
pub(super) struct Flushed {
    adds: Vec<Add>,
    partitions_since: usize,
}

/// Partitions the writer holds open before it flushes them to files: each
/// holds a Parquet writer with its buffers (about 0.5 MB at 20 columns), so a
/// batch spread over 20,000 workspaces peaked at 9.4 GB.
pub(super) const OPEN_PARTITIONS: usize = 256;

impl Table {
    /// Writes `batch` into the table's pending files without committing: the
    /// next commit (`append`, `replace`, `compact`) adds them. Lets a merge
    /// stream the rows it keeps from rewritten files instead of holding them.
    pub async fn stage(&self, batch: &RecordBatch) -> Result<()> {
        let conformed = self.conform(batch)?;
        let batch = &conformed;
        let taken = self.writer.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        let mut writer = match taken {
            Some(w) => w,
            None => self.new_writer(batch)?,
        };
        let result = self.write_rows(&mut writer, batch).await;
        if result.is_err() {
            writer.reset();
        }
        *self.writer.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(writer);
        result.map_err(|e| delta(&self.name, e))
    }

    /// Writes `batch` into `writer`: as slices, one per partition, when its
    /// partitions' rows are contiguous (see `runs`); else whole. A batch over
    /// many partitions (workspaces) would hold a Parquet writer open for each
    /// until the commit: every `OPEN_PARTITIONS` partitions they are flushed to
    /// files, which the commit adds with the rest.
    async fn write_rows(
        &self,
        writer: &mut RecordBatchWriter,
        batch: &RecordBatch,
    ) -> std::result::Result<(), DeltaTableError> {
        use deltalake::kernel::scalars::ScalarExt;
        let columns = self.partition_columns().unwrap_or_default();
        let Some(runs) = runs::partition_runs(batch, &columns) else {
            return writer.write(batch.clone()).await;
        };
        let mut parts = Vec::with_capacity(runs.len());
        for run in runs {
            let slice = batch.slice(run.start, run.len());
            let mut values = indexmap::IndexMap::new();
            for c in &columns {
                let array = slice.column_by_name(c).expect("partition_runs found it");
                let Some(value) = ScalarExt::from_array(array.as_ref(), 0) else {
                    // A type without a partition value: the writer's own split decides.
                    return writer.write(batch.clone()).await;
                };
                values.insert(c.clone(), value);
            }
            parts.push((slice, values));
        }
        for (slice, values) in parts {
            writer.write_partition(slice, &values, deltalake::writer::WriteMode::Default).await?;
            let open = {
                let mut flushed = self.flushed.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                flushed.partitions_since += 1;
                flushed.partitions_since
            };
            if open >= OPEN_PARTITIONS {
                let adds = writer.flush().await?;
                let mut flushed = self.flushed.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                flushed.adds.extend(adds);
                flushed.partitions_since = 0;
            }
        }
        Ok(())
    }

    /// A writer for the table's data files, starting with `first`: files of
    /// the table's target size (`delta.targetFileSize`, 100 MiB by default; a
    /// partition's rows beyond it go to further files), encoded as
    /// `properties` decides from the table's lookup columns and `first`.
    fn new_writer(&self, first: &RecordBatch) -> Result<RecordBatchWriter> {
        let snapshot = self.inner.snapshot().map_err(|e| delta(&self.name, e))?;
        let configuration = snapshot.metadata().configuration();
        let lookup = lookup::columns_of(configuration);
        let statistics = properties::statistics_columns(configuration);
        Ok(RecordBatchWriter::for_table(&self.inner)
            .map_err(|e| delta(&self.name, e))?
            .with_target_file_size(self.target_file_size()?)
            .with_writer_properties(properties::writer_properties(&lookup, statistics.as_deref(), first)))
    }

    /// The size data files are written up to (`delta.targetFileSize`).
    pub fn target_file_size(&self) -> Result<u64> {
        use deltalake::table::config::TablePropertiesExt as _;
        let snapshot = self.inner.snapshot().map_err(|e| delta(&self.name, e))?;
        Ok(snapshot.table_config().target_file_size().get())
    }

    /// Writes a checkpoint of the table's current version, so that opening it
    /// reads one Parquet file instead of replaying the JSON commits before.
    /// Readers that never saw it lose nothing: the commits stay.
    pub async fn checkpoint(&self) -> Result<()> {
        deltalake::checkpoints::create_checkpoint(&self.inner, None).await.map_err(|e| delta(&self.name, e))
    }

    /// Drops the rows staged since the last commit (after a failed merge).
    pub fn discard_staged(&self) {
        if let Some(w) = self.writer.lock().unwrap_or_else(std::sync::PoisonError::into_inner).as_mut() {
            w.reset();
        }
        // Files already flushed stay unreferenced, for vacuum to remove.
        *self.flushed.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Flushed::default();
    }

    pub(super) async fn commit(
        &mut self,
        batches: &[RecordBatch],
        retired: Vec<Action>,
        txns: Vec<Transaction>,
        change: Change<'_>,
    ) -> Result<i64> {
        let data_change = change != Change::Rearrange;
        let started = std::time::Instant::now();
        let mut actions = retired;
        for b in batches.iter().filter(|b| b.num_rows() > 0) {
            self.stage(b).await?;
        }
        // The rows of `batches` and any staged before (see `stage`).
        let mut adds = std::mem::take(self.flushed.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner)).adds;
        if let Some(writer) = self.writer.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner) {
            adds.extend(writer.flush().await.map_err(|e| delta(&self.name, e))?);
        }
        let added: Vec<String> = adds.iter().map(|add| add.path.clone()).collect();
        actions.extend(adds.into_iter().map(|add| Action::Add(Add { data_change, ..add })));
        if actions.is_empty() && txns.is_empty() {
            return Ok(self.version().unwrap_or(0));
        }
        let app_id = txns.first().map(|t| t.app_id.clone());
        let props = || {
            let mut props = CommitProperties::default();
            if change == Change::Append {
                props = props.with_metadata([("isBlindAppend".to_string(), serde_json::Value::Bool(true))]);
            }
            for txn in &txns {
                props = props.with_application_transaction(txn.clone());
            }
            if let Change::Merge(Some(_)) = change {
                // Races are judged by `conflict.rs`, not by delta-rs's whole-table rule.
                props = props.with_max_retries(0);
            }
            props
        };
        let partition_by = self.partition_columns()?;
        let op = match change {
            Change::Append => DeltaOperation::Write {
                mode: SaveMode::Append,
                partition_by: (!partition_by.is_empty()).then_some(partition_by),
                predicate: None,
            },
            Change::Rearrange => DeltaOperation::Optimize { predicate: None, target_size: 0 },
            Change::Merge(_) => DeltaOperation::Merge {
                predicate: None,
                merge_predicate: Some("last writer wins by key".into()),
                matched_predicates: Vec::new(),
                not_matched_predicates: Vec::new(),
                not_matched_by_source_predicates: Vec::new(),
            },
        };
        let written = started.elapsed();
        let mut races = 0;
        loop {
            let snapshot = self.inner.snapshot().map_err(|e| delta(&self.name, e))?;
            let read = snapshot.version();
            let built = CommitBuilder::from(props())
                .with_actions(actions.clone())
                .build(Some(snapshot), self.inner.log_store(), op.clone())
                .await;
            let error = match built {
                Ok(commit) => {
                    // The commit brings the table state up to its own version:
                    // loading it again would re-read the whole log for nothing.
                    let version = commit.version() as i64;
                    self.inner.state = Some(commit.snapshot);
                    self.last_added = added;
                    tracing::debug!(
                        table = %self.name,
                        version,
                        write_ms = written.as_millis(),
                        log_ms = (started.elapsed() - written).as_millis(),
                        "committed"
                    );
                    return Ok(version);
                }
                Err(e) => delta(&self.name, e),
            };
            // What this commit read: nothing (a blind append), or a merge's partitions.
            let read_scope = match change {
                Change::Append => None,
                Change::Merge(Some(scope)) => Some(scope),
                _ => return Err(error),
            };
            if !error.is_conflict() || races == RACES {
                return Err(error);
            }
            races += 1;
            let before = {
                let snapshot = self.inner.snapshot().map_err(|e| delta(&self.name, e))?;
                conflict::Layout {
                    schema: snapshot.schema().as_ref().clone(),
                    partition_columns: snapshot.metadata().partition_columns().to_vec(),
                }
            };
            self.inner.update_state().await.map_err(|e| delta(&self.name, e))?;
            let latest = self.version().unwrap_or(read as i64);
            let winners = read::actions_between(self, read as i64, latest).await?;
            if let Some(why) = conflict::conflict(read_scope, &before, &actions, app_id.as_deref(), &winners) {
                return Err(LakeError::Conflict { table: self.name.to_string(), message: why });
            }
            // The winners may have added columns (another release's ingest):
            // the files written stay valid (a column a file lacks reads as
            // NULL), but the next rows are written with the table's new schema.
            if self.inner.snapshot().map_err(|e| delta(&self.name, e))?.schema().as_ref() != &before.schema {
                *self.writer.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner) = None;
            }
            tracing::debug!(table = %self.name, races, "commit raced commits that do not touch what it read; committing on top");
        }
    }
}
