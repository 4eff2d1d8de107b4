{{ config(writer='append', partition_by=['workspace_id']) }}
-- Every version of every alert, appended verbatim: the audit trail of status
-- changes (an ingestion model with the append writer).
SELECT
  {{ select_envelope_fields() }}
  CAST(alert_id AS STRING) AS alert_id,
  CAST(status AS STRING) AS status,
  CAST(priority AS STRING) AS priority,
  CAST(acknowledged AS BOOLEAN) AS acknowledged,
  CAST(count AS INTEGER) AS occurrences,
  CAST(updated_at_seconds + CAST(updated_at_nanos / 1e9 AS DOUBLE) AS TIMESTAMP) AS updated_at,
  {{ select_required_fields() }}
FROM {{ source('manifold_entities', 'OpsgenieAlert') }}
WHERE NOT envelope_fields_is_tombstone
