//! Step 2 of ingestion: the staging tables' new rows → every ingestion model's
//! table, through the model's generated transform and its writer.
//!
//! Progress is recorded in each target table's own commits: every commit
//! carries `txn(manifold_entities.<Entity>, <staging version>)`, the last staging
//! version whose rows it holds. A run reads the staging commits after the
//! smallest such version (only their added files: the cost follows the new
//! data, not the table), in chunks of about [`MergeOptions::chunk_rows`] rows,
//! and gives each target the rows of the versions it has not seen — so a crash
//! anywhere neither loses nor repeats work. A target that has merged nothing
//! yet (a new model, a table deleted to be rebuilt) is filled from the staging
//! table's current files instead, once the others have caught up
//! (`snapshot.rs`): the commits it would need may be gone. So is a target
//! behind a staging commit that can no longer be read (`refill_behind`), and
//! a team model's table whose rows another version of the model computed:
//! the fill's last commit records the model's fingerprint
//! (`txn(<staging>#model, <fingerprint>)`, see [`model_app_id`]), and a
//! release whose model has another fingerprint — a changed SQL, or a release
//! rolled back — fills the table again, replacing what it holds
//! (`snapshot.rs`).
//!
//! Within a chunk the targets run in order: an entity's main table before its
//! `merge_exploded` child tables, which ask the main table which version of
//! each parent is current (see `writers::merge_exploded`).
//!
//! The merging writers find the stored rows of the chunk's keys by reading the
//! key and stamp columns of only the files (log statistics) and pages (page
//! index) that can hold them, and mark the replaced rows in deletion vectors
//! (see `files.rs`); model tables are created with both in mind
//! (`lake::ENABLE_DELETION_VECTORS`, `lake::LOOKUP_COLUMNS`).

mod files;
mod rows;
mod snapshot;
mod status;
#[cfg(test)]
mod tests;
pub(crate) mod writers;

use std::collections::HashSet;

use arrow_array::RecordBatch;
use deltalake::kernel::Transaction;

pub use rows::{GENERATION, ROW_ID, TOMBSTONE, VERSION, encode_columns, lookup_columns};
pub use status::{MergeStatus, status};
pub use writers::Written;

use crate::ingest::STAGING_SCHEMA;
use crate::lake::{Lake, LakeError, Table, TableName};
use crate::mapping::{ModelInfo, Registry, Writer};
use crate::stop::Stop;

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error("model `{model}`: {source}")]
    Transform { model: String, source: crate::transform::TransformError },
    #[error("{0}")]
    Model(String),
    /// A target recorded a staging version the staging table has not reached:
    /// the staging table is not the one it merged from (it was recreated).
    #[error(
        "`{target}` has merged `{staging}` up to its version {merged}, but that table is at version {current}: it \
         was recreated (deleted by hand?), and its versions are not the ones merged. Restore the staging table, or \
         delete this entity's model tables too so that they are rebuilt from the new one"
    )]
    StagingRecreated { target: String, staging: String, merged: i64, current: i64 },
    /// A target recorded another staging table's identity than the one of
    /// that name now (`Table::identity`): it was deleted and created again.
    #[error(
        "`{target}` has merged another `{staging}` than the one there now: it was recreated (deleted by hand?), \
         and its versions are not the ones merged. Restore the staging table, or delete this entity's model \
         tables too so that they are rebuilt from the new one"
    )]
    StagingReplaced { target: String, staging: String },
    /// A table's commit lost to concurrent commits [`ATTEMPTS`] times in a
    /// row. An `optimize` beside the merge loses now and then; losing every
    /// time means another merge is applying the same staging rows.
    #[error(
        "{source}; it lost to a concurrent commit {ATTEMPTS} times in a row: is another `merge` or `run` of this \
         lake running? Run one per lake at a time. Nothing was lost: the next merge goes on from the last commit"
    )]
    Raced { source: LakeError },
}

#[derive(Clone, Debug)]
pub struct MergeOptions {
    /// Staging rows per chunk (one commit per target table and chunk); a chunk
    /// always holds whole staging commits.
    pub chunk_rows: usize,
    /// Arrow bytes of staging rows per chunk, which also ends a chunk: the
    /// writers hold a chunk's rows as one Arrow batch, whose text columns hold
    /// at most 2 GiB (32-bit offsets), and large rows reach that long before
    /// `chunk_rows`.
    pub chunk_bytes: usize,
    /// Once requested, the merge ends after the chunk in flight (every target
    /// of an entity then holds the same staging versions; the next merge goes
    /// on from there).
    pub stop: Stop,
}

impl Default for MergeOptions {
    fn default() -> Self {
        MergeOptions { chunk_rows: 250_000, chunk_bytes: 1 << 30, stop: Stop::new() }
    }
}

/// What the merge step did to one table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableMerge {
    pub table: TableName,
    pub writer: Writer,
    /// The staging versions applied: after `from` up to `to` (equal: nothing new).
    pub from: i64,
    pub to: i64,
    pub staging_rows: usize,
    pub commits: usize,
    pub written: Written,
}

/// The target table of a model: `<product>.<model>`.
pub fn target_name(product: &str, model: &ModelInfo) -> TableName {
    TableName::new(product, model.name)
}

/// The app id of the `txn` whose version says which model computed a model
/// table's rows: the model's fingerprint (`ModelInfo::sql_fingerprint`),
/// recorded by the last commit of each fill.
pub fn model_app_id(staging: &TableName) -> String {
    format!("{staging}#model")
}

/// The app id under which a target records which staging table it merged
/// from (its `Table::identity`).
pub fn staging_app_id(staging: &TableName) -> String {
    format!("{staging}#table")
}

/// Whether `table` merged from another staging table named `staging` than
/// the one whose identity is `identity` (deleted and created again since).
async fn merged_another_staging(table: &Table, staging: &TableName, identity: i64) -> Result<bool, MergeError> {
    Ok(table.txn_version(&staging_app_id(staging)).await?.is_some_and(|m| m != identity))
}

/// Whether `table`, which has merged before, holds rows of another version
/// of `model` than this release's: if so, `Some` of the fingerprint the table
/// recorded (`None` inside: it recorded none, as a release before
/// fingerprints left it). A model without a fingerprint: `None`.
async fn computed_by_another_model(
    table: &Table,
    staging: &TableName,
    model: &ModelInfo,
) -> Result<Option<Option<i64>>, MergeError> {
    let Some(fingerprint) = model.sql_fingerprint else { return Ok(None) };
    let recorded = table.txn_version(&model_app_id(staging)).await?;
    Ok((recorded != Some(fingerprint)).then_some(recorded))
}

/// A chunk whose commit conflicts is redone at most this many times.
const ATTEMPTS: usize = 5;

struct Target {
    model: &'static ModelInfo,
    table: Table,
    /// The app id its commits record progress under: the staging table's name.
    progress: String,
    /// What the last commit of a fill also records: the model's fingerprint.
    model_txn: Option<Transaction>,
    /// What every commit recording progress also records: the staging
    /// table's identity (`staging_app_id`), so that one created again under
    /// its name is told apart whatever its version.
    staging_txn: Transaction,
    done: i64,
    /// Merged nothing yet: filled from the staging table's current files
    /// (`snapshot.rs`), not its commits.
    fresh: bool,
    /// For a fill on top of rows the table holds: the files the fill has
    /// written (log paths). Rows of other files yield to the fill's
    /// (`writers::merge_over`): they may be what an older SQL of the model
    /// computed.
    filled: Option<HashSet<String>>,
    report: TableMerge,
}

/// Runs step 2 once over every entity with a staging table.
pub async fn merge(
    lake: &Lake,
    registry: &'static Registry,
    options: &MergeOptions,
) -> Result<Vec<TableMerge>, MergeError> {
    let mut out = Vec::new();
    for entity in registry.entities {
        if options.stop.requested() {
            break;
        }
        let staging_name = TableName::new(STAGING_SCHEMA, entity.name);
        let Some(staging) = lake.existing(&staging_name).await? else { continue };
        let upto = staging.version().unwrap_or(0);
        let identity = staging.identity()?;
        // Parents first: merge_exploded models read their main table.
        let mut models: Vec<&'static ModelInfo> = entity.models.iter().collect();
        models.sort_by_key(|m| m.writer == Writer::MergeExploded);
        let mut targets = Vec::new();
        for model in models {
            let name = target_name(registry.product, model);
            // Merging writers retire replaced rows with deletion vectors and
            // find them by key through the page index.
            let lookup = rows::lookup_columns(model.key);
            let properties: Vec<(&str, &str)> = match model.writer {
                Writer::Append => Vec::new(),
                _ => vec![crate::lake::ENABLE_DELETION_VECTORS, (crate::lake::LOOKUP_COLUMNS, &lookup)],
            };
            let table = lake.model_table(&name, &(model.schema)(), model.partition_by, &properties).await?;
            let progress = staging_name.to_string();
            let done = table.txn_version(&progress).await?.unwrap_or(-1);
            // Ahead of the staging version read above: a concurrent merge of
            // later staging commits, unless the staging table is younger still.
            if done > upto {
                let now = lake.existing(&staging_name).await?.and_then(|t| t.version()).unwrap_or(-1);
                if now < done {
                    return Err(MergeError::StagingRecreated {
                        target: name.to_string(),
                        staging: staging_name.to_string(),
                        merged: done,
                        current: now,
                    });
                }
            }
            // Merged from another table of that name (deleted and created
            // again): its versions say nothing about this one's.
            if done >= 0 && merged_another_staging(&table, &staging_name, identity).await? {
                return Err(MergeError::StagingReplaced {
                    target: name.to_string(),
                    staging: staging_name.to_string(),
                });
            }
            let report = TableMerge {
                table: name,
                writer: model.writer,
                from: done,
                to: done,
                staging_rows: 0,
                commits: 0,
                written: Written::default(),
            };
            let other_model = match done {
                0.. => computed_by_another_model(&table, &staging_name, model).await?,
                _ => None,
            };
            let fresh = upto > 0 && (done < 0 || other_model.is_some() || parent_is_fresh(model, &targets));
            let model_txn = model.sql_fingerprint.map(|f| Transaction::new(model_app_id(&staging_name), f));
            let staging_txn = Transaction::new(staging_app_id(&staging_name), identity);
            let mut target =
                Target { model, table, progress, model_txn, staging_txn, done, fresh, filled: None, report };
            if let (true, Some(recorded)) = (fresh, other_model) {
                let recorded = recorded.map_or("none".to_string(), |f| format!("{f:016x}"));
                tracing::warn!(
                    table = %target.report.table,
                    "its rows were computed by another version of its model (fingerprint {recorded}, this \
                     release's {:016x}): computing them again from the staging table's current files",
                    model.sql_fingerprint.unwrap_or_default()
                );
            }
            if fresh {
                target.fill_on_top().await?;
            }
            targets.push(target);
        }
        // Tables that merged before catch up through the commits first, so that
        // a fresh child table finds its main table complete.
        let behind = |targets: &[Target]| targets.iter().filter(|t| !t.fresh).map(|t| t.done).min().unwrap_or(upto);
        let mut at = behind(&targets);
        'chunks: while at < upto && !options.stop.requested() {
            // Whole staging commits, up to about `chunk_rows` rows.
            let mut chunk: Vec<(i64, Vec<RecordBatch>)> = Vec::new();
            let (mut rows, mut bytes) = (0, 0);
            let mut end = at;
            while end < upto && rows < options.chunk_rows && bytes < options.chunk_bytes {
                end += 1;
                let batches = match staging.changes(end - 1, end).await {
                    Ok(batches) => batches,
                    Err(gone @ LakeError::CommitGone { .. }) => {
                        refill_behind(&mut targets, end, gone).await?;
                        at = behind(&targets);
                        continue 'chunks;
                    }
                    Err(e) => return Err(e.into()),
                };
                rows += batches.iter().map(RecordBatch::num_rows).sum::<usize>();
                bytes += batches.iter().map(RecordBatch::get_array_memory_size).sum::<usize>();
                chunk.push((end, batches));
            }
            for i in 0..targets.len() {
                let mut attempt = 0;
                loop {
                    match apply(&mut targets, i, &chunk, end).await {
                        // A concurrent commit (an optimize) removed a file this
                        // chunk rewrote: redo the chunk on the fresh table state.
                        Err(MergeError::Lake(e)) if e.is_conflict() && attempt + 1 < ATTEMPTS => {
                            attempt += 1;
                            let t = &mut targets[i];
                            t.reopen_after_race(lake, attempt).await?;
                            t.done = t.table.txn_version(&t.progress).await?.unwrap_or(-1);
                        }
                        Err(MergeError::Lake(e)) if e.is_conflict() => return Err(MergeError::Raced { source: e }),
                        other => break other?,
                    }
                }
            }
            at = end;
        }
        if at >= upto {
            snapshot::fill(lake, &staging, &mut targets, upto, options).await?;
        }
        out.extend(targets.into_iter().map(|t| t.report));
    }
    Ok(out)
}

/// Applies the chunk's versions that target `i` has not seen, in one commit.
async fn apply(
    targets: &mut [Target],
    i: usize,
    chunk: &[(i64, Vec<RecordBatch>)],
    end: i64,
) -> Result<(), MergeError> {
    let done = targets[i].done;
    if done >= end || targets[i].fresh {
        return Ok(()); // a fresh table is filled from the snapshot after
    }
    let staging: Vec<RecordBatch> = chunk
        .iter()
        .filter(|(v, _)| *v > done)
        .flat_map(|(_, b)| b.iter().filter(|b| b.num_rows() > 0).cloned())
        .collect();
    if staging.is_empty() {
        // Nothing for this table: its progress is caught up without a commit.
        return Ok(());
    }
    let rows = transform(targets[i].model, &staging)?;
    let txns = vec![Transaction::new(&targets[i].progress, end), targets[i].staging_txn.clone()];
    let written = write(targets, i, &staging, &rows, txns).await;
    if written.is_err() {
        // Rows a failed merge staged must not reach a later commit.
        targets[i].table.discard_staged();
    }
    let written = written?;
    let t = &mut targets[i];
    t.done = end;
    t.report.to = end;
    t.report.staging_rows += staging.iter().map(RecordBatch::num_rows).sum::<usize>();
    t.count(written);
    Ok(())
}

/// Whether `model` is a child table whose main table, among `targets`, is
/// to be filled from the snapshot: its rows are applied against the main
/// table's, so it is filled after it too.
fn parent_is_fresh(model: &ModelInfo, targets: &[Target]) -> bool {
    model.parent.is_some_and(|p| targets.iter().any(|t| t.fresh && t.model.name == p))
}

/// Staging commit `version` can no longer be read (`gone`): the targets that
/// still need it are filled from the staging table's current files instead,
/// on top of what they hold — applying every row again ends where applying
/// the missing commits would have (an `append` table's fill replaces its
/// files: see `snapshot.rs`).
async fn refill_behind(targets: &mut [Target], version: i64, gone: LakeError) -> Result<(), MergeError> {
    for i in 0..targets.len() {
        let t = &targets[i];
        let needs = !t.fresh && t.done < version;
        if needs || (!t.fresh && parent_is_fresh(t.model, &targets[..i])) {
            tracing::warn!(table = %t.report.table, "{gone}; filling it from the staging table's current files");
            targets[i].fresh = true;
            targets[i].fill_on_top().await?;
        }
    }
    Ok(())
}

/// `model`'s rows of the staging rows `batches`.
fn transform(model: &ModelInfo, batches: &[RecordBatch]) -> Result<Vec<RecordBatch>, MergeError> {
    batches
        .iter()
        .map(|b| (model.transform)(b))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| MergeError::Transform { model: model.name.to_string(), source })
}

impl Target {
    /// Before this (fresh) target is filled: whether it holds rows already,
    /// which the fill replaces (none for a new table).
    async fn fill_on_top(&mut self) -> Result<(), MergeError> {
        let holds_rows = !self.table.files().await?.is_empty();
        self.filled = holds_rows.then(HashSet::new);
        Ok(())
    }

    /// The table's fresh state after its commit lost race number `attempt`
    /// (a concurrent optimize removed a file the commit rewrote), after a
    /// pause that grows with the attempts.
    async fn reopen_after_race(&mut self, lake: &Lake, attempt: usize) -> Result<(), MergeError> {
        tracing::info!(table = %self.report.table, attempt, "merge lost a race; retrying");
        self.table = lake.existing(&self.report.table).await?.expect("a table does not vanish");
        tokio::time::sleep(std::time::Duration::from_millis(25 * attempt as u64)).await;
        Ok(())
    }

    /// One more commit, which wrote `written`, in the report.
    fn count(&mut self, written: Written) {
        self.report.commits += 1;
        let w = &mut self.report.written;
        w.rows += written.rows;
        w.replaced += written.replaced;
        w.files_read += written.files_read;
        w.files_changed += written.files_changed;
    }
}

/// Target `i`'s writer over the chunk's rows.
async fn write(
    targets: &mut [Target],
    i: usize,
    staging: &[RecordBatch],
    rows: &[RecordBatch],
    txns: Vec<Transaction>,
) -> Result<Written, MergeError> {
    let model = targets[i].model;
    Ok(match model.writer {
        // A fill writes an `append` table's rows in one commit, which
        // replaces what it held (no files for a new table).
        Writer::Append if targets[i].fresh => writers::append_replacing(&mut targets[i].table, rows, txns).await?,
        Writer::Append => writers::append(&mut targets[i].table, rows, txns).await?,
        Writer::Merge => {
            let t = &mut targets[i];
            writers::merge_over(&mut t.table, rows, model.key, txns, t.filled.as_ref()).await?
        }
        Writer::MergeExploded => {
            let parent = model.parent.ok_or_else(|| {
                MergeError::Model(format!("`{}` is merge_exploded but names no main table", model.name))
            })?;
            let p = targets[..i].iter().position(|t| t.model.name == parent).ok_or_else(|| {
                MergeError::Model(format!(
                    "`{}` needs its main table `{parent}`, which is not an ingestion model",
                    model.name
                ))
            })?;
            let (before, rest) = targets.split_at_mut(i);
            writers::merge_exploded(&mut rest[0].table, &before[p].table, staging, rows, model.key, txns).await?
        }
    })
}
