{{ config(analytics=true, materialized='table') }}
-- Alerts per responding team and day: an analytics model (a join and an
-- aggregation), run by dbt on the warehouse; the ingestion binaries skip it.
SELECT
  alert.workspace_id,
  responder.recipient_value AS team,
  CAST(alert.created_at AS DATE) AS alert_day,
  COUNT(DISTINCT alert.alert_id) AS alerts,
  SUM(CASE WHEN alert.priority IN ('P1', 'P2') THEN 1 ELSE 0 END) AS urgent_alerts
FROM {{ ref('opsgenie_alert') }} AS alert
JOIN {{ ref('opsgenie_alert__responders') }} AS responder
  ON responder.envelope_fields_resource_ari_value = alert.envelope_fields_resource_ari_value
WHERE responder.recipient_type = 'TEAM'
  AND NOT alert.envelope_fields_is_tombstone
GROUP BY alert.workspace_id, responder.recipient_value, CAST(alert.created_at AS DATE)
