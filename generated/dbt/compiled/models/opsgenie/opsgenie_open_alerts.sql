
-- The alerts open now: a filtered ingestion model. Its writer replaces each
-- alert's rows as a whole (here none or one), so an alert whose newer version
-- is closed or deleted leaves the table; a `merge` model could not filter.
SELECT
  
    CAST(envelope_fields_resource_ari_value AS STRING) AS envelope_fields_resource_ari_value,
    CAST(envelope_fields_version AS LONG) AS envelope_fields_version,
    CAST(envelope_fields_is_tombstone AS BOOLEAN) AS envelope_fields_is_tombstone,
    CAST(envelope_fields_workspace_id_value AS STRING) AS envelope_fields_workspace_id_value,
    CAST(envelope_fields_generation_counter AS LONG) AS envelope_fields_generation_counter,

  CAST(alert_id AS STRING) AS alert_id,
  CAST(message AS STRING) AS message,
  CAST(priority AS STRING) AS priority,
  CAST(updated_at_seconds + CAST(updated_at_nanos / 1e9 AS DOUBLE) AS TIMESTAMP) AS updated_at,
  
    CAST(row_refreshed_at AS TIMESTAMP) AS row_refreshed_at,
    CAST(row_refreshed_at_day AS DATE) AS row_refreshed_at_day,
    CAST(shard_id AS STRING) AS shard_id,
    CAST(workspace_id AS STRING) AS workspace_id

FROM manifold_entities.OpsgenieAlert
WHERE status = 'OPEN'
  AND NOT envelope_fields_is_tombstone