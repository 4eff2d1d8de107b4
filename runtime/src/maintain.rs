//! Table maintenance on the ingestion binaries, safe beside ingestion:
//!
//! - `optimize`: per partition with more than one file or with deleted rows
//!   (deletion vectors), the live rows are rewritten sorted by the table's key,
//!   as files of the table's target size (`delta.targetFileSize`, 100 MiB by
//!   default) holding disjoint key ranges (clustering: key statistics then
//!   prune the merge step's reads; deletion vectors are folded away). Our own
//!   rewrite — delta-rs's optimize needs DataFusion. Its commit changes no data (`dataChange: false`), so the merge
//!   step does not read the rewritten staging rows as new. A commit that
//!   conflicts with a concurrent merge (both removed a file) is retried on the
//!   fresh table state; a partition that loses every race is left for the next
//!   optimize (reported as busy), never half-done. A table it rewrote gets a
//!   checkpoint: optimize commits once per partition, and without one every
//!   open would replay those commits (and the appends before them) from JSON.
//! - `vacuum`: delta-rs's, deleting files the log removed longer ago than the
//!   retention — and with `orphans`, files no commit added (a killed run's
//!   uncommitted output) older than the retention; it never conflicts.

use std::collections::BTreeMap;
use std::time::Duration;

use arrow_array::RecordBatch;

use crate::ingest::STAGING_SCHEMA;
use crate::lake::{DataFile, Lake, LakeError, TableName};
use crate::mapping::Registry;
use crate::merge::{self, ROW_ID};

/// What `optimize` did to one table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Optimized {
    pub table: TableName,
    /// Partitions rewritten (each into files of the table's target size).
    pub partitions: usize,
    pub files_removed: usize,
    pub rows: usize,
    /// Commits that lost a race with a concurrent writer and were redone.
    pub retries: usize,
    /// Partitions left as they were after losing every race (a busy partition:
    /// the next optimize takes it).
    pub skipped_busy: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum MaintainError {
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error("table `{table}`: {message}")]
    Table { table: TableName, message: String },
}

/// A conflicting commit is redone at most this many times.
const ATTEMPTS: usize = 5;

/// Every staging and model table of `registry`, with the key it is clustered on.
fn tables(registry: &Registry) -> Vec<(TableName, Vec<&'static str>)> {
    let mut out = Vec::new();
    for e in registry.entities {
        out.push((TableName::new(STAGING_SCHEMA, e.name), vec![ROW_ID]));
        for m in e.models {
            out.push((merge::target_name(registry.product, m), m.key.to_vec()));
        }
    }
    out
}

/// Compacts and clusters every table of `registry` in the lake.
pub async fn optimize(lake: &Lake, registry: &Registry) -> Result<Vec<Optimized>, MaintainError> {
    let mut out = Vec::new();
    for (name, key) in tables(registry) {
        if lake.existing(&name).await?.is_some() {
            out.push(optimize_table(lake, &name, &key).await?);
        }
    }
    Ok(out)
}

type PartitionKey = Vec<(String, Option<String>)>;

pub(crate) async fn optimize_table(lake: &Lake, name: &TableName, key: &[&str]) -> Result<Optimized, MaintainError> {
    let mut report =
        Optimized { table: name.clone(), partitions: 0, files_removed: 0, rows: 0, retries: 0, skipped_busy: 0 };
    let mut table = lake.existing(name).await?.expect("checked by the caller");
    let target_size = table.target_file_size()?;
    let mut partitions: BTreeMap<PartitionKey, Vec<DataFile>> = BTreeMap::new();
    for f in table.files().await? {
        partitions.entry(partition_of(&f)).or_default().push(f);
    }
    for (partition, _) in
        partitions.into_iter().filter(|(_, files)| worth_rewriting(files, key.first().copied(), target_size))
    {
        let mut attempt = 0;
        loop {
            // The partition's files as of now (a retry sees the winner's changes).
            let files: Vec<DataFile> =
                table.files().await?.into_iter().filter(|f| partition_of(f) == partition).collect();
            if !worth_rewriting(&files, key.first().copied(), target_size) {
                break;
            }
            let mut batches = Vec::new();
            for f in &files {
                batches.extend(table.read_file(f).await?);
            }
            let sorted = sort_by_key(name, &batches, key)?;
            let rows = sorted.num_rows();
            match table.compact(&[sorted], files.iter().map(|f| f.remove.clone()).collect()).await {
                Ok(_) => {
                    report.partitions += 1;
                    report.files_removed += files.len();
                    report.rows += rows;
                    break;
                }
                Err(e) if e.is_conflict() => {
                    attempt += 1;
                    table = lake.existing(name).await?.expect("a table does not vanish");
                    if attempt == ATTEMPTS {
                        tracing::warn!(table = %name, ?partition, "partition busy: left for the next optimize");
                        report.skipped_busy += 1;
                        break;
                    }
                    report.retries += 1;
                    tracing::info!(table = %name, attempt, "optimize lost a race with a concurrent commit; retrying");
                    tokio::time::sleep(std::time::Duration::from_millis(25 * attempt as u64)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    if report.partitions > 0 {
        table.checkpoint().await?;
    }
    Ok(report)
}

/// A partition's files are rewritten when some hold deleted rows, when all of
/// them would fit in one file of the target size, or when their ranges of the
/// key's first column overlap (by the log's statistics). What optimize leaves —
/// one file, or full files of disjoint ranges — is therefore not rewritten
/// again until writers add to it. (A table without a key: only the first two.)
fn worth_rewriting(files: &[DataFile], key: Option<&str>, target_size: u64) -> bool {
    if files.iter().any(|f| f.deletion_vector.is_some()) {
        return true;
    }
    if files.len() < 2 {
        return false;
    }
    let total: u64 = files.iter().map(|f| u64::try_from(f.add.size).unwrap_or(0)).sum();
    total < target_size || key.is_some_and(|k| ranges_overlap(files, k))
}

/// Whether two files' `[min, max]` of `column` overlap; files without
/// comparable statistics count as not overlapping.
fn ranges_overlap(files: &[DataFile], column: &str) -> bool {
    use serde_json::Value;
    fn order(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
        match (a, b) {
            (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
            (Value::Number(a), Value::Number(b)) => match (a.as_i64(), b.as_i64()) {
                (Some(a), Some(b)) => Some(a.cmp(&b)),
                _ => a.as_f64()?.partial_cmp(&b.as_f64()?),
            },
            _ => None,
        }
    }
    let mut ranges: Vec<(&Value, &Value)> =
        files.iter().filter_map(|f| Some((f.min_values.get(column)?, f.max_values.get(column)?))).collect();
    ranges.sort_by(|a, b| order(a.0, b.0).unwrap_or(std::cmp::Ordering::Equal));
    ranges.windows(2).any(|w| order(w[1].0, w[0].1).is_some_and(|o| o.is_le()))
}

fn partition_of(f: &DataFile) -> PartitionKey {
    let mut p: PartitionKey = f.partition_values.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    p.sort();
    p
}

fn sort_by_key(name: &TableName, batches: &[RecordBatch], key: &[&str]) -> Result<RecordBatch, MaintainError> {
    let fail = |message: String| MaintainError::Table { table: name.clone(), message };
    let all = arrow_select::concat::concat_batches(&batches[0].schema(), batches).map_err(|e| fail(e.to_string()))?;
    let keys = merge::encode_columns(&all, key).map_err(|e| fail(e.to_string()))?;
    let mut order: Vec<u32> = (0..all.num_rows() as u32).collect();
    order.sort_by(|a, b| keys.row(*a as usize).cmp(&keys.row(*b as usize)));
    arrow_select::take::take_record_batch(&all, &arrow_array::UInt32Array::from(order)).map_err(|e| fail(e.to_string()))
}

/// Vacuums every table of `registry` (and its dead-letter table): files
/// removed from the log more than `retention` ago are deleted; with
/// `orphans`, also files no commit added that are older than `retention`.
pub async fn vacuum(
    lake: &Lake,
    registry: &Registry,
    retention: Duration,
    orphans: bool,
) -> Result<Vec<(TableName, usize)>, MaintainError> {
    let mut names: Vec<TableName> = tables(registry).into_iter().map(|(n, _)| n).collect();
    names.push(crate::ingest::dead_letters::table_name(registry.product));
    let mut out = Vec::new();
    for name in names {
        if let Some(mut table) = lake.existing(&name).await? {
            let deleted = table.vacuum(retention, orphans).await?;
            out.push((name, deleted));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Int64Array, RecordBatch, StringArray};
    use arrow_schema::{DataType, Field, Schema};

    use crate::lake::{Lake, TableName};

    /// A partition larger than the target size is rewritten into several
    /// files with disjoint key ranges, which the next optimize leaves alone.
    #[test]
    fn optimize_splits_a_partition_at_the_target_size_and_is_then_stable() {
        let dir = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
            let s = Arc::new(Schema::new(vec![
                Field::new("ws", DataType::Utf8, false),
                Field::new("id", DataType::Int64, false),
                Field::new("text", DataType::Utf8, false),
            ]));
            let name = TableName::new("s", "t");
            let properties = [("delta.targetFileSize", "262144")];
            let mut t = lake.table_with_properties(&name, &s, &["ws"], &properties).await.unwrap();
            // Three appends whose key ranges interleave.
            for part in 0..3i64 {
                let ids: Vec<i64> = (0..30_000).map(|i| i * 3 + part).collect();
                let text: StringArray =
                    ids.iter().map(|i| Some(format!("row {i}: some text to make it heavier"))).collect();
                let columns: Vec<arrow_array::ArrayRef> = vec![
                    Arc::new(StringArray::from(vec!["a"; ids.len()])),
                    Arc::new(Int64Array::from(ids)),
                    Arc::new(text),
                ];
                t.append(&[RecordBatch::try_new(s.clone(), columns).unwrap()], None).await.unwrap();
            }
            let report = super::optimize_table(&lake, &name, &["id"]).await.unwrap();
            assert_eq!((report.partitions, report.rows), (1, 90_000));
            // Creation, three appends and the rewrite: a checkpoint at
            // version 4, which the reopened table below is read from.
            let log = dir.path().join("s/t/_delta_log");
            assert!(log.join("00000000000000000004.checkpoint.parquet").exists());
            let t = lake.existing(&name).await.unwrap().unwrap();
            let mut ranges: Vec<(i64, i64)> = t
                .files()
                .await
                .unwrap()
                .iter()
                .map(|f| (f.min_values["id"].as_i64().unwrap(), f.max_values["id"].as_i64().unwrap()))
                .collect();
            ranges.sort();
            assert!(ranges.len() > 1, "{ranges:?}");
            assert!(ranges.windows(2).all(|w| w[0].1 < w[1].0), "key ranges overlap: {ranges:?}");
            assert_eq!(t.row_count().await.unwrap(), 90_000);
            let again = super::optimize_table(&lake, &name, &["id"]).await.unwrap();
            assert_eq!(again.partitions, 0, "{again:?}");
        });
    }
}
