//! Step 2's part of `status`: per model table, the staging versions merged
//! into it and how far behind its staging table it is — in commits, and as the
//! age of the oldest staging commit it has not merged (the lag that matters
//! to whoever waits for the rows, and to lag-driven scaling).

use super::{MergeError, computed_by_another_model, merged_another_staging, target_name};
use crate::ingest::STAGING_SCHEMA;
use crate::lake::{Lake, TableName};
use crate::mapping::{Registry, Writer};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MergeStatus {
    pub table: TableName,
    pub writer: Writer,
    /// The model table's Delta version; `None` before its first merge.
    pub version: Option<i64>,
    pub rows: u64,
    /// The last staging version merged into the table (its `txn`).
    pub merged: Option<i64>,
    /// Staging commits not merged yet.
    pub behind: i64,
    /// When the oldest of those was committed (milliseconds since the epoch),
    /// if any and if the staging log still holds it.
    pub waiting_since: Option<i64>,
}

/// The merge status of every model of the entities with a staging table.
pub async fn status(lake: &Lake, registry: &Registry) -> Result<Vec<MergeStatus>, MergeError> {
    let mut out = Vec::new();
    for entity in registry.entities {
        let staging_name = TableName::new(STAGING_SCHEMA, entity.name);
        let Some(staging) = lake.existing(&staging_name).await? else { continue };
        let upto = staging.version().unwrap_or(0);
        let identity = staging.identity()?;
        let progress = staging_name.to_string();
        for model in entity.models {
            let name = target_name(registry.product, model);
            let (version, rows, merged) = match lake.existing(&name).await? {
                // Rows another version of the model computed: every staging
                // commit is still to merge (the next merge fills it again).
                Some(t) if computed_by_another_model(&t, &staging_name, model).await?.is_some() => {
                    (t.version(), t.row_count().await?, None)
                }
                // Merged from another staging table of that name (recreated):
                // nothing of this one is merged (and the merge stops, saying so).
                Some(t) if merged_another_staging(&t, &staging_name, identity).await? => {
                    (t.version(), t.row_count().await?, None)
                }
                Some(t) => (t.version(), t.row_count().await?, t.txn_version(&progress).await?),
                None => (None, 0, None),
            };
            let done = merged.unwrap_or(-1);
            let behind = (upto - done).max(0);
            let waiting_since = if behind > 0 { staging.committed_at(done + 1).await? } else { None };
            out.push(MergeStatus { table: name, writer: model.writer, version, rows, merged, behind, waiting_since });
        }
    }
    Ok(out)
}
