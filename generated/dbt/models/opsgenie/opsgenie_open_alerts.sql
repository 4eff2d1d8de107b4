{{ config(writer='merge_exploded', unique_key='envelope_fields_resource_ari_value', partition_by=['workspace_id']) }}
-- The alerts open now: a filtered ingestion model. Its writer replaces each
-- alert's rows as a whole (here none or one), so an alert whose newer version
-- is closed or deleted leaves the table; a `merge` model could not filter.
SELECT
  {{ select_envelope_fields() }}
  CAST(alert_id AS STRING) AS alert_id,
  CAST(message AS STRING) AS message,
  CAST(priority AS STRING) AS priority,
  CAST(updated_at_seconds + CAST(updated_at_nanos / 1e9 AS DOUBLE) AS TIMESTAMP) AS updated_at,
  {{ select_required_fields() }}
FROM {{ source('manifold_entities', 'OpsgenieAlert') }}
WHERE status = 'OPEN'
  AND NOT envelope_fields_is_tombstone
