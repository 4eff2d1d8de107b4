
-- Issues resolved per workspace and month: an analytics model (an aggregation),
-- run by dbt on the warehouse; the ingestion binaries skip it.
SELECT
  workspace_id,
  DATE_FORMAT(resolution_at, 'yyyy-MM') AS resolution_month,
  COUNT(*) AS resolved_issues,
  SUM(story_points) AS resolved_story_points
FROM manifold.jira_issue
WHERE resolution_at IS NOT NULL
  AND NOT envelope_fields_is_tombstone
GROUP BY workspace_id, DATE_FORMAT(resolution_at, 'yyyy-MM')