//! Conflicts of a merge, scoped to the partitions it read and wrote.
//!
//! delta-rs without DataFusion cannot evaluate a read predicate, so it treats
//! a merge as having read the whole table: any concurrent data change — a
//! merge into another workspace — would conflict. A merge here knows exactly
//! what it read: the files of its partitions (the batch's). So its commit is
//! made without delta-rs's retries, and when another commit won the version,
//! the winners' actions are checked here: the merge is redone only when they
//! touch its partitions, remove a file it removes, record progress under its
//! application id or change the table's metadata. Otherwise its actions are
//! committed as they are on top of the winners.

use std::collections::{HashMap, HashSet};

use deltalake::kernel::Action;

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

/// Why the winning commits' `winners` conflict with ours (`ours`), if they do.
pub fn conflict(
    scope: &Scope,
    partition_columns: &[String],
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
    for action in winners {
        match action {
            Action::Add(add) if add.data_change && scope.holds(partition_columns, Some(&add.partition_values)) => {
                return Some(format!("a concurrent commit added rows to a partition this merge read (`{}`)", add.path));
            }
            Action::Remove(r) if removed.contains(r.path.as_str()) => {
                return Some(format!("a concurrent commit removed `{}`, which this merge replaces", r.path));
            }
            Action::Remove(r) if r.data_change && scope.holds(partition_columns, r.partition_values.as_ref()) => {
                return Some(format!("a concurrent commit changed rows in a partition this merge read (`{}`)", r.path));
            }
            Action::Txn(t) if Some(t.app_id.as_str()) == app_id => {
                return Some(format!("a concurrent commit recorded progress for `{}`", t.app_id));
            }
            Action::Metadata(_) | Action::Protocol(_) => {
                return Some("a concurrent commit changed the table's metadata or protocol".into());
            }
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
        let columns = ["workspace_id".to_string()];
        let ours = [remove("workspace_id=a/f1.parquet", "a", true), add("a", true)];
        let check = |winners: &[Action]| conflict(&scope, &columns, &ours, Some("src"), winners);
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
    }
}
