//! Conflicts of an append or a merge, scoped to what it read.
//!
//! delta-rs without DataFusion cannot evaluate a read predicate, so it treats
//! a merge as having read the whole table: any concurrent data change — a
//! merge into another workspace — would conflict. A merge here knows exactly
//! what it read: the files of its partitions (the batch's). So its commit is
//! made without delta-rs's retries, and when another commit won the version,
//! the winners' actions are checked here: the merge is redone only when they
//! touch its partitions, remove a file it removes, record progress under its
//! application id or change the table's layout. Otherwise its actions are
//! committed as they are on top of the winners.
//!
//! A blind append read nothing: delta-rs commits it on top of other data
//! changes itself, but counts any metadata change as a conflict. Here a
//! metadata change that only adds nullable columns (another release's ingest
//! evolving the table, see `evolve.rs`) is not one: the files already written
//! lack the column, which Delta reads as NULL. So during a rolling deploy the
//! older release's commit lands instead of failing the ingest.

use std::collections::{HashMap, HashSet};

use deltalake::kernel::{Action, Metadata, StructType};

/// The partitions a merge read and wrote: values of the table's partition
/// columns, in their order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scope {
    pub partitions: HashSet<Vec<Option<String>>>,
}

impl Scope {
    fn holds(&self, columns: &[String], values: Option<&HashMap<String, Option<String>>>) -> bool {
        // Without partition values, assume it is ours (the safe side).
        let Some(values) = values else { return true };
        let tuple: Vec<Option<String>> = columns.iter().map(|c| values.get(c).cloned().flatten()).collect();
        self.partitions.contains(&tuple)
    }
}

/// The table's schema and partitioning as the losing commit wrote its files.
#[derive(Clone, Debug)]
pub struct Layout {
    pub schema: StructType,
    pub partition_columns: Vec<String>,
}

impl Layout {
    /// Whether `metadata` keeps every column of this layout as it was and the
    /// partitioning, adding only nullable columns: files written for this
    /// layout are still files of the table.
    fn admits(&self, metadata: &Metadata) -> bool {
        let Ok(schema) = metadata.parse_schema() else { return false };
        metadata.partition_columns() == self.partition_columns.as_slice()
            && self.schema.fields().all(|f| schema.field(f.name()) == Some(f))
            && schema.fields().all(|f| self.schema.field(f.name()).is_some() || f.is_nullable())
    }
}

/// Why the winning commits' `winners` conflict with ours (`ours`), if they do.
/// `scope`: the partitions ours read, or `None` for a blind append.
pub fn conflict(
    scope: Option<&Scope>,
    before: &Layout,
    ours: &[Action],
    app_id: Option<&str>,
    winners: &[Action],
) -> Option<String> {
    let removed: HashSet<&str> = ours
        .iter()
        .filter_map(|a| match a {
            Action::Remove(r) => Some(r.path.as_str()),
            _ => None,
        })
        .collect();
    let columns = &before.partition_columns;
    let read = |values| scope.is_some_and(|s| s.holds(columns, values));
    for action in winners {
        match action {
            Action::Add(add) if add.data_change && read(Some(&add.partition_values)) => {
                return Some(format!("a concurrent commit added rows to a partition this merge read (`{}`)", add.path));
            }
            Action::Remove(r) if removed.contains(r.path.as_str()) => {
                return Some(format!("a concurrent commit removed `{}`, which this merge replaces", r.path));
            }
            Action::Remove(r) if r.data_change && read(r.partition_values.as_ref()) => {
                return Some(format!("a concurrent commit changed rows in a partition this merge read (`{}`)", r.path));
            }
            Action::Txn(t) if Some(t.app_id.as_str()) == app_id => {
                return Some(format!("a concurrent commit recorded progress for `{}`", t.app_id));
            }
            Action::Metadata(m) if before.admits(m) => {}
            Action::Metadata(_) => {
                return Some(
                    "a concurrent commit changed the table's schema or partitioning beyond adding nullable columns"
                        .into(),
                );
            }
            Action::Protocol(_) => return Some("a concurrent commit changed the table's protocol".into()),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use deltalake::kernel::{Add, Remove, Transaction};

    use super::*;

    fn add(ws: &str, data_change: bool) -> Action {
        Action::Add(Add {
            path: format!("workspace_id={ws}/part.parquet"),
            partition_values: HashMap::from([("workspace_id".into(), Some(ws.into()))]),
            data_change,
            ..Add::default()
        })
    }

    fn remove(path: &str, ws: &str, data_change: bool) -> Action {
        Action::Remove(Remove {
            path: path.into(),
            partition_values: Some(HashMap::from([("workspace_id".into(), Some(ws.into()))])),
            data_change,
            ..Remove::default()
        })
    }

    #[test]
    fn only_changes_in_the_merges_partitions_conflict() {
        let scope = Scope { partitions: HashSet::from([vec![Some("a".to_string())]]) };
        let before = layout(&[("workspace_id", false), ("n", true)]);
        let ours = [remove("workspace_id=a/f1.parquet", "a", true), add("a", true)];
        let check = |winners: &[Action]| conflict(Some(&scope), &before, &ours, Some("src"), winners);
        // Another workspace: rows added, rows replaced, files compacted.
        assert_eq!(check(&[add("b", true), remove("workspace_id=b/x.parquet", "b", true)]), None);
        // Ours, compacted without a data change and not a file we replace: no conflict.
        assert_eq!(check(&[remove("workspace_id=a/f2.parquet", "a", false), add("a", false)]), None);
        assert!(check(&[add("a", true)]).unwrap().contains("added rows"));
        assert!(check(&[remove("workspace_id=a/f2.parquet", "a", true)]).unwrap().contains("changed rows"));
        assert!(check(&[remove("workspace_id=a/f1.parquet", "a", false)]).unwrap().contains("removed"));
        let txn = |id: &str| Action::Txn(Transaction::new(id, 3));
        assert!(check(&[txn("src")]).unwrap().contains("progress"));
        assert_eq!(check(&[txn("other")]), None);
        // A remove without partition values is taken as ours.
        let bare = Action::Remove(Remove { path: "x".into(), data_change: true, ..Remove::default() });
        assert!(check(&[bare]).is_some());
        // Another release adding a nullable column is no conflict; anything else is.
        assert_eq!(check(&[metadata(&[("workspace_id", false), ("n", true), ("color", true)], "workspace_id")]), None);
        assert!(check(&[metadata(&[("workspace_id", false), ("n", true), ("x", false)], "workspace_id")]).is_some());
    }

    #[test]
    fn a_blind_append_conflicts_only_with_its_own_progress_and_layout_changes() {
        let columns = [("workspace_id", false), ("n", true)];
        let before = layout(&columns);
        let ours = [add("a", true)];
        let check = |winners: &[Action]| conflict(None, &before, &ours, Some("src"), winners);
        // Rows added or replaced anywhere, even in the partitions it writes.
        assert_eq!(check(&[add("a", true), remove("workspace_id=a/x.parquet", "a", true)]), None);
        assert!(check(&[Action::Txn(Transaction::new("src", 9))]).unwrap().contains("progress"));
        // The same layout (a property set), or nullable columns added after the others.
        assert_eq!(check(&[metadata(&columns, "workspace_id")]), None);
        assert_eq!(check(&[metadata(&[("workspace_id", false), ("n", true), ("color", true)], "workspace_id")]), None);
        assert_eq!(check(&[metadata(&[("color", true), ("workspace_id", false), ("n", true)], "workspace_id")]), None);
        // A NOT NULL column added, a column dropped, retyped or tightened, or another partitioning.
        for changed in [
            metadata(&[("workspace_id", false), ("n", true), ("x", false)], "workspace_id"),
            metadata(&[("workspace_id", false)], "workspace_id"),
            metadata(&[("workspace_id", false), ("n", false)], "workspace_id"),
            metadata(&columns, "n"),
        ] {
            assert!(check(&[changed]).unwrap().contains("schema or partitioning"));
        }
        let retyped = Action::Metadata(metadata_with(
            r#"{"type":"struct","fields":[{"name":"workspace_id","type":"string","nullable":false,"metadata":{}},{"name":"n","type":"string","nullable":true,"metadata":{}}]}"#,
            "workspace_id",
        ));
        assert!(check(&[retyped]).is_some());
        let protocol: deltalake::kernel::Protocol =
            serde_json::from_value(serde_json::json!({"minReaderVersion": 1, "minWriterVersion": 2})).unwrap();
        assert!(check(&[Action::Protocol(protocol)]).unwrap().contains("protocol"));
    }

    /// A schema of `(name, nullable)` columns: `workspace_id` a string, the others longs.
    fn schema_json(columns: &[(&str, bool)]) -> String {
        let fields: Vec<_> = columns
            .iter()
            .map(|(name, nullable)| {
                let ty = if *name == "workspace_id" { "string" } else { "long" };
                serde_json::json!({"name": name, "type": ty, "nullable": nullable, "metadata": {}})
            })
            .collect();
        serde_json::json!({"type": "struct", "fields": fields}).to_string()
    }

    fn layout(columns: &[(&str, bool)]) -> Layout {
        Layout {
            schema: serde_json::from_str(&schema_json(columns)).unwrap(),
            partition_columns: vec!["workspace_id".into()],
        }
    }

    fn metadata_with(schema: &str, partition: &str) -> Metadata {
        serde_json::from_value(serde_json::json!({
            "id": "t",
            "format": {"provider": "parquet", "options": {}},
            "schemaString": schema,
            "partitionColumns": [partition],
            "configuration": {},
        }))
        .unwrap()
    }

    fn metadata(columns: &[(&str, bool)], partition: &str) -> Action {
        Action::Metadata(metadata_with(&schema_json(columns), partition))
    }
}
