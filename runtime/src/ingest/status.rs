//! `status`: per table, the source position its commits reached and how far
//! behind the source's end that is (the lag), read from the tables' `txn`s.

use super::{IngestError, Options, STAGING_SCHEMA, dead_letters, last_position, within_its_segment};
use crate::lake::{Lake, TableName};
use crate::mapping::Registry;
use crate::source::{Position, bytes_before, segment_sizes};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableStatus {
    pub table: TableName,
    /// The table's Delta version; `None` if it does not exist yet.
    pub version: Option<i64>,
    pub rows: u64,
    /// Live data files: a commit's cost grows with them (see the README on `optimize`).
    pub files: u64,
    /// The last source position this table committed.
    pub committed: Option<Position>,
    /// Source bytes after `committed`. A staging table only commits batches that
    /// have rows for it, so its lag can exceed the dead-letter table's, which
    /// commits every batch and is the ingest's true position.
    pub lag_bytes: u64,
}

/// The status of every table of `registry` in `lake` against the source.
pub async fn status(registry: &Registry, lake: &Lake, options: &Options) -> Result<Vec<TableStatus>, IngestError> {
    let source_error = |source| IngestError::Source { dir: options.source.display().to_string(), source };
    let sizes = segment_sizes(&options.source).map_err(source_error)?;
    let segments: Vec<String> = sizes.iter().map(|(s, _)| s.clone()).collect();
    let total: u64 = sizes.iter().map(|(_, n)| n).sum();
    let lag = |at: &Option<Position>| total - at.as_ref().map_or(0, |p| bytes_before(&sizes, p));
    let mut names: Vec<TableName> = registry.entities.iter().map(|e| TableName::new(STAGING_SCHEMA, e.name)).collect();
    names.push(dead_letters::table_name(registry.product));
    let source_id = options.source_id();
    let mut out = Vec::new();
    for name in names {
        let table = lake.existing(&name).await?;
        let (version, counts, committed) = match &table {
            Some(t) => (t.version(), t.counts().await?, last_position(t, &source_id, &segments).await?),
            None => (None, Default::default(), None),
        };
        if let Some(at) = &committed {
            within_its_segment(options, at)?;
        }
        let lag_bytes = lag(&committed);
        out.push(TableStatus { table: name, version, rows: counts.rows, files: counts.files, committed, lag_bytes });
    }
    Ok(out)
}
