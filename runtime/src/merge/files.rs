//! Finding and rewriting the stored rows a batch replaces, reading only the
//! files that can hold them: a file is read when its partition values are among
//! the batch's and its key statistics (min/max of the first key column) cover
//! one of the batch's keys. A file with replaced rows is removed and its other
//! rows written again (copy-on-write); the caller commits both with the new rows.

use std::collections::{HashMap, HashSet};

use arrow_array::cast::AsArray as _;
use arrow_array::types::{Int32Type, Int64Type};
use arrow_array::{Array, BooleanArray, RecordBatch};
use deltalake::kernel::Remove;

use super::MergeError;
use super::rows::take;
use crate::lake::{DataFile, Table};

/// The keys a batch touches, and what prunes the files to read.
pub struct Probe {
    /// The columns keys are made of (row-encoded).
    columns: Vec<String>,
    keys: HashSet<Vec<u8>>,
    partition_columns: Vec<String>,
    partitions: HashSet<Vec<Option<String>>>,
    first_key: FirstKey,
    /// The first key column's text values (the fast path of a single text key).
    strings: HashSet<String>,
}

/// The sorted values of the first key column, when its statistics can prune.
enum FirstKey {
    Strings(Vec<String>),
    Integers(Vec<i64>),
    Unknown,
}

impl Probe {
    /// The keys (`columns`, row-encoded) of `rows` of `batch`.
    pub fn new(
        batch: &RecordBatch,
        columns: &[&str],
        partition_columns: &[String],
        rows: &[usize],
    ) -> Result<Probe, MergeError> {
        let encoded = super::rows::encode_columns(batch, columns)?;
        let keys = rows.iter().map(|&i| encoded.row(i).data().to_vec()).collect();
        let partition_strings =
            partition_columns.iter().map(|c| super::rows::as_strings(batch, c)).collect::<Result<Vec<_>, _>>()?;
        let partitions = rows.iter().map(|&i| partition_strings.iter().map(|p| p[i].clone()).collect()).collect();
        let first = batch.column_by_name(columns[0]).expect("encode_columns checked it");
        let first_key = if let Some(s) = first.as_string_opt::<i32>() {
            let mut v: Vec<String> = rows.iter().filter(|&&i| s.is_valid(i)).map(|&i| s.value(i).to_string()).collect();
            v.sort();
            FirstKey::Strings(v)
        } else if let Some(n) = first.as_primitive_opt::<Int64Type>() {
            let mut v: Vec<i64> = rows.iter().filter(|&&i| n.is_valid(i)).map(|&i| n.value(i)).collect();
            v.sort();
            FirstKey::Integers(v)
        } else if let Some(n) = first.as_primitive_opt::<Int32Type>() {
            let mut v: Vec<i64> = rows.iter().filter(|&&i| n.is_valid(i)).map(|&i| n.value(i) as i64).collect();
            v.sort();
            FirstKey::Integers(v)
        } else {
            FirstKey::Unknown
        };
        let strings = match &first_key {
            FirstKey::Strings(v) => v.iter().cloned().collect(),
            _ => HashSet::new(),
        };
        Ok(Probe {
            strings,
            columns: columns.iter().map(|c| c.to_string()).collect(),
            keys,
            partition_columns: partition_columns.to_vec(),
            partitions,
            first_key,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The rows of `batch` that may hold a key: with a single text key, the
    /// rows whose value is one of the keys (no encoding of the others); else all.
    fn candidates(&self, batch: &RecordBatch, columns: &[&str]) -> Result<Vec<usize>, MergeError> {
        let all = || (0..batch.num_rows()).collect();
        let (FirstKey::Strings(_), [column]) = (&self.first_key, columns) else { return Ok(all()) };
        let Some(values) = batch.column_by_name(column).and_then(|c| c.as_string_opt::<i32>()) else {
            return Ok(all());
        };
        Ok((0..values.len()).filter(|&i| values.is_valid(i) && self.strings.contains(values.value(i))).collect())
    }

    /// Whether `file` can hold one of the keys.
    fn may_hold(&self, file: &DataFile) -> bool {
        let tuple: Vec<Option<String>> =
            self.partition_columns.iter().map(|c| file.partition_values.get(c).cloned().flatten()).collect();
        if !self.partitions.contains(&tuple) {
            return false;
        }
        let (min, max) = (file.min_values.get(&self.columns[0]), file.max_values.get(&self.columns[0]));
        match (&self.first_key, min, max) {
            (FirstKey::Strings(v), Some(serde_json::Value::String(lo)), Some(serde_json::Value::String(hi))) => {
                let at = v.partition_point(|k| k.as_str() < lo.as_str());
                v.get(at).is_some_and(|k| k.as_str() <= hi.as_str())
            }
            (FirstKey::Integers(v), Some(lo), Some(hi)) => match (lo.as_i64(), hi.as_i64()) {
                (Some(lo), Some(hi)) => {
                    let at = v.partition_point(|k| *k < lo);
                    v.get(at).is_some_and(|k| *k <= hi)
                }
                _ => true,
            },
            _ => true,
        }
    }
}

/// What a pass over the stored rows changed. The surviving rows of every file
/// that lost rows are already staged in the table (`Table::stage`): the next
/// commit, which must carry `removes`, adds them.
#[derive(Default)]
pub struct Rewrite {
    pub removes: Vec<Remove>,
    pub files_read: usize,
}

/// Calls `decide(batch, matched)` for every stored batch with rows whose key is
/// in `probe` (`matched`: those rows and their keys), reading only files that
/// may hold one; `decide` returns the rows it replaces. Files with replaced rows
/// are rewritten (see [`Rewrite`]); memory holds one file at a time.
pub async fn visit(
    table: &Table,
    probe: &Probe,
    mut decide: impl FnMut(&RecordBatch, &[(usize, &[u8])]) -> Result<Vec<usize>, MergeError>,
) -> Result<Rewrite, MergeError> {
    let mut out = Rewrite::default();
    if probe.is_empty() {
        return Ok(out);
    }
    let columns: Vec<&str> = probe.columns.iter().map(String::as_str).collect();
    for file in table.files().await?.into_iter().filter(|f| probe.may_hold(f)) {
        out.files_read += 1;
        let mut kept = Vec::new();
        let mut replaced_any = false;
        for batch in table.read_file(&file).await? {
            let candidates = probe.candidates(&batch, &columns)?;
            let keys = super::rows::encode_columns(&take(&batch, &candidates)?, &columns)?;
            let matched: Vec<(usize, &[u8])> = candidates
                .iter()
                .enumerate()
                .map(|(c, &i)| (i, keys.row(c).data()))
                .filter(|(_, k)| probe.keys.contains(*k))
                .collect();
            let replaced = if matched.is_empty() { Vec::new() } else { decide(&batch, &matched)? };
            replaced_any |= !replaced.is_empty();
            let mut keep = vec![true; batch.num_rows()];
            for i in replaced {
                keep[i] = false;
            }
            kept.push((batch, BooleanArray::from(keep)));
        }
        if replaced_any {
            for (batch, keep) in kept {
                let rest = arrow_select::filter::filter_record_batch(&batch, &keep)
                    .map_err(|e| MergeError::Model(e.to_string()))?;
                if rest.num_rows() > 0 {
                    table.stage(&rest).await?;
                }
            }
            out.removes.push(file.remove);
        }
    }
    Ok(out)
}

/// Per key, the stamp (generation, version, tombstone) of the stored row: how
/// the entity's main table says which version of a record is current.
pub async fn stamps(table: &Table, probe: &Probe) -> Result<HashMap<Vec<u8>, (i64, i64, bool)>, MergeError> {
    let mut found = HashMap::new();
    visit(table, probe, |batch, matched| {
        let rows: Vec<usize> = matched.iter().map(|(i, _)| *i).collect();
        let v = super::rows::Versioned::of(&take(batch, &rows)?, &[super::rows::ROW_ID])?;
        for (m, (_, key)) in matched.iter().enumerate() {
            found.insert(key.to_vec(), v.stamp(m));
        }
        Ok(Vec::new())
    })
    .await?;
    Ok(found)
}
