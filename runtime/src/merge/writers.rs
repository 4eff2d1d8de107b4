//! The three writers. Each writes one chunk of a model's rows in one commit
//! that carries the model's progress (`txn`), so a chunk is applied entirely or
//! not at all.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use arrow_array::RecordBatch;
use deltalake::kernel::{Action, Transaction};

use super::MergeError;
use super::files::{self, Probe, Stamps};
use super::rows::take;
use super::rows::{ROW_ID, Versioned};
use crate::lake::Table;
use crate::lww;

/// What one writer call did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Written {
    /// New rows written (not counting rewritten survivors).
    pub rows: usize,
    /// Stored rows replaced (or deleted).
    pub replaced: usize,
    pub files_read: usize,
    /// Files rewritten (copy-on-write) or re-added with more rows deleted.
    pub files_changed: usize,
}

fn concat(table: &Table, rows: &[RecordBatch]) -> Result<RecordBatch, MergeError> {
    let schema = table.schema()?;
    // In the table's column order: a table an earlier release created can hold
    // its columns in another order than this release builds them.
    let rows: Vec<RecordBatch> = rows.iter().map(|b| table.conform(b)).collect::<Result<_, _>>()?;
    arrow_select::concat::concat_batches(&schema, &rows).map_err(|e| MergeError::Model(e.to_string()))
}

/// `append`: the rows as they are, in one commit recording `txns` (the
/// first: the progress).
pub async fn append(table: &mut Table, rows: &[RecordBatch], txns: Vec<Transaction>) -> Result<Written, MergeError> {
    table.append(rows, txns).await?;
    Ok(Written { rows: rows.iter().map(RecordBatch::num_rows).sum(), ..Written::default() })
}

/// `append` filling a table: the rows in one commit that removes every file
/// the table holds (none for a new table), so that a table filled again
/// holds each row once.
pub async fn append_replacing(
    table: &mut Table,
    rows: &[RecordBatch],
    txns: Vec<Transaction>,
) -> Result<Written, MergeError> {
    let held = table.files().await?;
    let replaced = held.iter().filter_map(|f| f.num_records).sum::<u64>() as usize;
    let held = held.into_iter().map(|f| Action::Remove(f.remove)).collect();
    table.replace(rows, held, txns, None).await?;
    Ok(Written { rows: rows.iter().map(RecordBatch::num_rows).sum(), replaced, ..Written::default() })
}

/// `merge`: upsert by `key`. Of the chunk's rows and the stored row of a key,
/// the greatest by last-writer-wins stays — so a tombstone replaces, and an
/// older update never resurrects it.
pub async fn merge(
    table: &mut Table,
    rows: &[RecordBatch],
    key: &[&str],
    txn: Transaction,
) -> Result<Written, MergeError> {
    merge_over(table, rows, key, vec![txn], None).await
}

/// [`merge`] within a fill on top of rows the table held (`filled`: the
/// files this fill has written, by their log paths; see `snapshot.rs`): a
/// stored row in any other file loses a tie of last-writer-wins stamps to the
/// chunk's row whatever the content — it is the same version of the record,
/// computed by what may be an older SQL of the model. (Other files, not the
/// files present when the fill began: an `optimize` beside the fill rewrites
/// those rows into new files.)
pub async fn merge_over(
    table: &mut Table,
    rows: &[RecordBatch],
    key: &[&str],
    txns: Vec<Transaction>,
    filled: Option<&HashSet<String>>,
) -> Result<Written, MergeError> {
    let started = std::time::Instant::now();
    let all = concat(table, rows)?;
    let versioned = Versioned::of(&all, key)?;
    let candidates: Vec<lww::Candidate<'_>> = (0..versioned.len()).map(|i| versioned.candidate(i)).collect();
    // The chunk's winners in key order, the order new rows are written in (a
    // file's pages then span narrow key ranges, see `lake::Lookup`); sorted
    // once here, the probe's key lists come out already sorted. Row `i` of
    // `batch` is row `chosen[i]` of `all` (and of `versioned`).
    let mut chosen = lww::winners(&candidates);
    chosen.sort_unstable_by(|&a, &b| versioned.key(a).cmp(versioned.key(b)));
    let batch = take(&all, &chosen)?;
    let partitions = table.partition_columns()?;
    let every_row: Vec<usize> = (0..batch.num_rows()).collect();
    let probe = Probe::new(&batch, key, &partitions, &every_row, Stamps::UnlessOlder)?;
    let mut loses = vec![false; batch.num_rows()];
    let mut replaced = 0;
    let prepared = started.elapsed();
    let (holdings, files_read) = files::find(table, &probe).await?;
    let found = started.elapsed();
    let mut retiring = Vec::new();
    for holding in holdings {
        let mut out = Vec::new();
        let mut ties = Vec::new();
        for stored in &holding.rows {
            let i = stored.row;
            // No stamp: the page index proved the stored row older.
            let order = stored.stamp.map_or(Ordering::Greater, |stamp| versioned.stamp(chosen[i]).cmp(&stamp));
            match order {
                Ordering::Greater => out.push(stored.position),
                Ordering::Less => loses[i] = true,
                Ordering::Equal => ties.push((i, stored.position)),
            }
        }
        if filled.is_some_and(|files| !files.contains(&holding.file.add.path)) {
            // The stored rows give way to this version of them.
            out.extend(ties.drain(..).map(|(_, position)| position));
            out.sort_unstable();
        }
        if !ties.is_empty() {
            // Equal stamps: the content decides (whole stored rows, these only).
            let positions: Vec<u64> = ties.iter().map(|(_, p)| *p).collect();
            let stored = Versioned::of(&files::content(table, &holding, &positions).await?, key)?;
            for (m, &(i, position)) in ties.iter().enumerate() {
                if lww::compare(&versioned.candidate(chosen[i]), &stored.candidate(m)) == Ordering::Greater {
                    out.push(position);
                } else {
                    loses[i] = true;
                }
            }
            out.sort_unstable();
        }
        replaced += out.len();
        retiring.push((holding, out));
    }
    let retired = files::retire(table, &probe, retiring).await?;
    let decided = started.elapsed();
    // Still in key order.
    let new_rows = if loses.contains(&true) {
        take(&batch, &(0..batch.num_rows()).filter(|&i| !loses[i]).collect::<Vec<_>>())?
    } else {
        batch
    };
    let written = Written { rows: new_rows.num_rows(), replaced, files_read, files_changed: retired.files_changed };
    let scope = probe.scope(&new_rows)?;
    table.replace(&[new_rows], retired.actions, txns, Some(&scope)).await?;
    tracing::debug!(
        table = %table.name(),
        rows = written.rows,
        files_read,
        prepare_ms = prepared.as_millis(),
        find_ms = (found - prepared).as_millis(),
        retire_ms = (decided - found).as_millis(),
        commit_ms = (started.elapsed() - decided).as_millis(),
        "merged"
    );
    Ok(written)
}

/// `merge_exploded`: a child table keyed by (parent row id, …). For every
/// parent in the chunk whose version here is the one the entity's main table
/// holds, the parent's stored child rows are replaced by the chunk's — fewer,
/// more or none (an emptied array, a tombstone). A parent whose main-table
/// version is newer than the chunk's is left for the chunk that brings it.
///
/// `staging`: the chunk's staging rows (every parent, also those without
/// children); `rows`: the model's rows for them; `main`: the main table, merged
/// up to at least this chunk (the merge step runs it first).
pub async fn merge_exploded(
    table: &mut Table,
    main: &Table,
    staging: &[RecordBatch],
    rows: &[RecordBatch],
    key: &[&str],
    txns: Vec<Transaction>,
) -> Result<Written, MergeError> {
    // The chunk's last-writer-wins version of every parent.
    let Some(first) = staging.first() else {
        table.append(&[], txns).await?;
        return Ok(Written::default());
    };
    let parents =
        arrow_select::concat::concat_batches(&first.schema(), staging).map_err(|e| MergeError::Model(e.to_string()))?;
    let parent_v = Versioned::of(&parents, &[ROW_ID])?;
    let mut chunk: HashMap<&[u8], (i64, i64, bool)> = HashMap::new();
    for i in 0..parent_v.len() {
        let stamp = parent_v.stamp(i);
        chunk.entry(parent_v.key(i)).and_modify(|s| *s = (*s).max(stamp)).or_insert(stamp);
    }
    let every_row: Vec<usize> = (0..parents.num_rows()).collect();
    let probe = Probe::new(&parents, &[ROW_ID], &main.partition_columns()?, &every_row, Stamps::All)?;
    let current: HashMap<Vec<u8>, (i64, i64, bool)> = files::stamps(main, &probe)
        .await?
        .into_iter()
        .filter(|(k, stamp)| chunk.get(k.as_slice()) == Some(stamp))
        .collect();
    // The chunk's child rows of the current parents, one per child key.
    let all = concat(table, rows)?;
    let by_parent = Versioned::of(&all, &[ROW_ID])?;
    let eligible: Vec<usize> =
        (0..all.num_rows()).filter(|&i| current.get(by_parent.key(i)) == Some(&by_parent.stamp(i))).collect();
    let eligible = take(&all, &eligible)?;
    let versioned = Versioned::of(&eligible, key)?;
    let candidates: Vec<lww::Candidate<'_>> = (0..versioned.len()).map(|i| versioned.candidate(i)).collect();
    let mut winners = lww::winners(&candidates);
    winners.sort_unstable_by(|&a, &b| versioned.key(a).cmp(versioned.key(b)));
    let new_rows = take(&eligible, &winners)?;
    // Every stored child row of a current parent goes.
    let current_rows: Vec<usize> = every_row.into_iter().filter(|&i| current.contains_key(parent_v.key(i))).collect();
    // Every stored child row of theirs goes, whatever its stamp: positions only.
    let probe = Probe::new(&parents, &[ROW_ID], &table.partition_columns()?, &current_rows, Stamps::None)?;
    let (holdings, files_read) = files::find(table, &probe).await?;
    let replaced = holdings.iter().map(|h| h.rows.len()).sum();
    let retiring = holdings
        .into_iter()
        .map(|h| {
            let positions = h.rows.iter().map(|r| r.position).collect();
            (h, positions)
        })
        .collect();
    let retired = files::retire(table, &probe, retiring).await?;
    let files_changed = retired.files_changed;
    let written = Written { rows: new_rows.num_rows(), replaced, files_read, files_changed };
    let scope = probe.scope(&new_rows)?;
    table.replace(&[new_rows], retired.actions, txns, Some(&scope)).await?;
    Ok(written)
}
