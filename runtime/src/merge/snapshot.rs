//! Filling a model table that has merged nothing yet — a model added in a
//! later release, a child table of a new array field, a table deleted to be
//! rebuilt — from the staging table's current files instead of its commits.
//!
//! The commits may no longer be readable: `optimize` rewrites staging files
//! and `vacuum` deletes the old ones a week later, and log retention removes
//! commit files after 30 days. A model added after that could never catch up
//! through the change feed. The current files hold the same rows (staging is
//! append-only, and a compaction keeps every row), so applying them gives the
//! table what applying every commit would have.
//!
//! Exactly once, without a position inside the snapshot: the merging writers
//! are idempotent (a stored row and the same row again: one stays; a parent's
//! child rows replaced by the same rows), so a snapshot is applied in chunks
//! of whole files, and only the last chunk's commit records the staging
//! version (`txn(<staging>, v)`) — a run that stops half-way is redone from the
//! start by the next, at no cost to correctness. The `append` writer is not
//! idempotent: its rows are gathered and written in one commit, which holds
//! the whole table in memory once (a model that appends every staging row
//! verbatim is expected to be small, or rebuilt rarely), and which removes
//! every file the table held, so filling it again never doubles a row.
//!
//! A fill on top of rows the table holds (it is behind a commit that is gone,
//! or another version of its model computed them) must end where a
//! fill of the empty table would: the rows may be an older SQL's. So the
//! `merge` writer gives each stored row of a file the fill did not write
//! (`Target::filled`) up to the fill's row of its key and version, where a
//! tie otherwise goes by content; `merge_exploded` replaces each parent's
//! rows whatever they hold; `append` replaces the files.

use arrow_array::RecordBatch;
use deltalake::kernel::Transaction;

use super::{MergeError, MergeOptions, Target, transform, write};
use crate::lake::{Lake, Table};
use crate::mapping::Writer;

/// The app id of a snapshot's chunks before the last: informative only (a
/// chunk applied again changes nothing).
fn chunk_app_id(app_id: &str) -> String {
    format!("{app_id}#snapshot")
}

/// Applies `staging`'s files at version `upto` (the handle's) to every target
/// marked `fresh`, in order (a main table before its child tables), leaving
/// each at `done == upto`. Stops between chunks when asked; the targets then
/// stay fresh and the next merge starts over.
pub(super) async fn fill(
    lake: &Lake,
    staging: &Table,
    targets: &mut [Target],
    upto: i64,
    options: &MergeOptions,
) -> Result<(), MergeError> {
    let fresh: Vec<usize> = (0..targets.len()).filter(|&i| targets[i].fresh).collect();
    if fresh.is_empty() {
        return Ok(());
    }
    let mut files = staging.files().await?.into_iter().peekable();
    // Per append target, its model's rows so far (written with the last chunk).
    let mut appended: Vec<Vec<RecordBatch>> = vec![Vec::new(); targets.len()];
    let mut chunk_no = 0;
    loop {
        if options.stop.requested() {
            return Ok(());
        }
        let (mut chunk, mut rows, mut bytes) = (Vec::new(), 0, 0);
        while let Some(file) = files.next_if(|_| rows < options.chunk_rows && bytes < options.chunk_bytes) {
            let batches = staging.read_file(&file).await?;
            rows += batches.iter().map(RecordBatch::num_rows).sum::<usize>();
            bytes += batches.iter().map(RecordBatch::get_array_memory_size).sum::<usize>();
            chunk.extend(batches.into_iter().filter(|b| b.num_rows() > 0));
        }
        let last = files.peek().is_none();
        chunk_no += 1;
        for &i in &fresh {
            // The last chunk records the fill's progress and which model
            // computed the rows (`super::model_app_id`).
            let (progress, model_txn) = (targets[i].progress.clone(), targets[i].model_txn.clone());
            let staging_txn = targets[i].staging_txn.clone();
            let txn = || match last {
                true => [Transaction::new(&progress, upto), staging_txn.clone()]
                    .into_iter()
                    .chain(model_txn.clone())
                    .collect(),
                false => vec![Transaction::new(chunk_app_id(&progress), chunk_no)],
            };
            targets[i].report.staging_rows += rows;
            let model = targets[i].model;
            let model_rows = transform(model, &chunk)?;
            let (staging_rows, model_rows) = if model.writer == Writer::Append {
                appended[i].extend(model_rows);
                if !last {
                    continue;
                }
                (&[][..], std::mem::take(&mut appended[i]))
            } else {
                (&chunk[..], model_rows)
            };
            let mut attempt = 0;
            let written = loop {
                let written = write(targets, i, staging_rows, &model_rows, txn()).await;
                if written.is_err() {
                    targets[i].table.discard_staged();
                }
                match written {
                    // A concurrent optimize removed a file this chunk rewrote:
                    // the chunk again, on the fresh table state.
                    Err(MergeError::Lake(e)) if e.is_conflict() && attempt + 1 < super::ATTEMPTS => {
                        attempt += 1;
                        targets[i].reopen_after_race(lake, attempt).await?;
                    }
                    Err(MergeError::Lake(e)) if e.is_conflict() => return Err(MergeError::Raced { source: e }),
                    other => break other?,
                }
            };
            let t = &mut targets[i];
            // With deletion vectors, the files a commit added hold only the
            // fill's rows; copy-on-write also rewrites rows it kept, which may
            // be an older SQL's: those files stay outside `filled`.
            if let Some(filled) = t.filled.as_mut()
                && t.table.has_deletion_vectors()?
            {
                filled.extend(t.table.last_added().iter().cloned());
            }
            t.count(written);
        }
        if last {
            break;
        }
    }
    for &i in &fresh {
        let t = &mut targets[i];
        (t.done, t.report.to, t.fresh, t.filled) = (upto, upto, false, None);
    }
    Ok(())
}
