//! Creating a table with deletion vectors. delta-rs's `CreateBuilder` cannot
//! be used for it here: turning the feature on moves the protocol to writer
//! version 7, where it also lists the legacy `invariants` feature — which
//! delta-rs built without DataFusion refuses to write to. So the first commit
//! is written directly: a protocol naming `deletionVectors` and nothing else
//! (what Spark writes for such a table), and the table's metadata.

use deltalake::DeltaTableBuilder;
use deltalake::kernel::transaction::{CommitBuilder, CommitProperties};
use deltalake::kernel::{Action, Metadata, Protocol, StructType};
use deltalake::protocol::{DeltaOperation, SaveMode};
use serde_json::json;

use super::{Lake, Result, Table, TableName, delta};

fn from_json<T: serde::de::DeserializeOwned>(name: &TableName, value: serde_json::Value) -> Result<T> {
    serde_json::from_value(value).map_err(|e| super::LakeError::Table {
        table: name.to_string(),
        message: format!("building the first commit: {e}"),
    })
}

/// Creates `name` (which must not exist yet) with the `deletionVectors`
/// feature and `properties` (which should include [`super::ENABLE_DELETION_VECTORS`]).
/// Losing a race with another creator is not an error: the table exists.
pub(super) async fn with_deletion_vectors(
    lake: &Lake,
    name: &TableName,
    schema: &StructType,
    partition_by: &[&str],
    properties: &[(&str, &str)],
) -> Result<Table> {
    let protocol: Protocol = from_json(
        name,
        json!({
            "minReaderVersion": 3,
            "minWriterVersion": 7,
            "readerFeatures": ["deletionVectors"],
            "writerFeatures": ["deletionVectors"],
        }),
    )?;
    let schema_string = serde_json::to_string(schema).map_err(|e| delta(name, e.into()))?;
    let metadata: Metadata = from_json(
        name,
        json!({
            "id": uuid::Uuid::new_v4().to_string(),
            "name": name.table,
            "format": { "provider": "parquet", "options": {} },
            "schemaString": schema_string,
            "partitionColumns": partition_by,
            "configuration": properties.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<std::collections::HashMap<_, _>>(),
            "createdTime": chrono::Utc::now().timestamp_millis(),
        }),
    )?;
    let url = lake.table_url(name);
    let table = DeltaTableBuilder::from_url(url.clone())
        .and_then(|b| b.with_storage_options(lake.storage_options.clone()).build())
        .map_err(|e| delta(name, e))?;
    let op = DeltaOperation::Create {
        mode: SaveMode::ErrorIfExists,
        location: url,
        protocol: protocol.clone(),
        metadata: metadata.clone(),
    };
    let committed = CommitBuilder::from(CommitProperties::default())
        .with_actions(vec![Action::Protocol(protocol), Action::Metadata(metadata)])
        .build(None, table.log_store(), op)
        .await;
    match committed {
        Ok(_) => {}
        // Another process created it first: use theirs (checked by the caller).
        Err(e) if lake.existing(name).await.ok().flatten().is_some() => {
            tracing::debug!(table = %name, error = %e, "table created concurrently");
        }
        Err(e) => return Err(delta(name, e)),
    }
    lake.existing(name).await?.ok_or_else(|| super::LakeError::Table {
        table: name.to_string(),
        message: "was created but cannot be opened".into(),
    })
}
