//! Redriving dead letters: the records of the dead-letter table decoded again
//! by this build — a newer release that knows their type, an offloaded
//! payload that is there now — and staged like any record; those that still
//! fail stay where they were.
//!
//! The unit of work is one data file of the dead-letter table (its rows never
//! change: a file is only ever replaced as a whole). Its records are staged,
//! each staging table's commit carrying `txn(redrive/<file>, <build>)`, and
//! then one commit replaces the file by its rows that are still dead letters.
//! Killed between the two, a rerun finds the file again: a table whose `txn`
//! names this build already holds its rows (the same build decodes the same
//! records the same way) and is skipped, the others are staged. A table whose
//! `txn` names another build refuses the file — that build staged some of its
//! records, and this one might decode others: redrive it with that build.
//! A record that fails again stays with the reason this build gives.
//!
//! An oversized record's row holds only its head: one this build's limit
//! (`--max-record-bytes`) takes is read again, whole, from the source at its
//! position — if the source still holds it there (its head matches) — and
//! redriven like the others.
//!
//! A redriven record is staged late, behind newer versions of its key that
//! were staged meanwhile; last-writer-wins in the merge step keeps the newer
//! ones, so only the tables that keep every version (append models) gain it.

use std::collections::BTreeMap;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{BooleanArray, RecordBatch};
use bytes::Bytes;
use deltalake::kernel::{Action, Transaction};

use super::dead_letters::{self, Letter};
use super::stage::stage;
use super::{Ingest, IngestError};
use crate::envelope::DeadLetter;
use crate::lake::{DataFile, Scope};
use crate::mapping::Registry;
use crate::source::{self, Frame, Position, RecordAt, SegmentDir};

/// What a redrive did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Redriven {
    /// Dead letters read (every row of the dead-letter table).
    pub letters: u64,
    /// Of them, records staged now (or superseded within their file by a
    /// newer version of their key that was).
    pub staged: u64,
    /// Rows committed per staging table.
    pub rows: BTreeMap<String, u64>,
    /// Of them, dead letters still: they fail this build too, or hold no
    /// whole record (a corrupt frame; an oversized record's head that this
    /// build's limit does not take, or that the source no longer holds).
    pub still_dead: u64,
    /// Those by the reason they have now.
    pub still_dead_by_reason: BTreeMap<String, u64>,
    /// Dead-letter files an interrupted redrive of this build had staged in
    /// part, finished now.
    pub resumed: u64,
}

/// The build's identity in a redrive's `txn`: its descriptor set decides
/// which records decode and how.
pub fn build_id(registry: &Registry) -> i64 {
    crate::lake::txn_hash(registry.descriptor_set)
}

fn app_id(file: &DataFile) -> String {
    format!("redrive/{}", file.path)
}

/// One dead letter as stored.
struct Stored {
    segment: String,
    offset: u64,
    reason_code: String,
    whole: bool,
    raw: Bytes,
}

/// Whether a dead letter of this reason holds its whole record: a corrupt
/// frame's row holds the bytes read (no record), an oversized record's its
/// first `max_record_bytes` — decoding those again would only give them
/// another, wrong reason.
fn is_whole(reason_code: &str) -> bool {
    let partial = [DeadLetter::Corrupt(String::new()), DeadLetter::Oversized { size: 0, limit: 0 }];
    !partial.iter().any(|reason| reason.code() == reason_code)
}

fn stored(batch: &RecordBatch) -> Vec<Stored> {
    let column =
        |name: &str| batch.column_by_name(name).unwrap_or_else(|| panic!("the dead-letter schema has `{name}`"));
    let segments = column("segment").as_string::<i32>();
    let offsets = column("offset").as_primitive::<Int64Type>();
    let reasons = column("reason_code").as_string::<i32>();
    let raws = column("raw").as_binary::<i32>();
    (0..batch.num_rows())
        .map(|i| Stored {
            segment: segments.value(i).to_string(),
            offset: offsets.value(i) as u64,
            reason_code: reasons.value(i).to_string(),
            whole: is_whole(reasons.value(i)),
            raw: Bytes::copy_from_slice(raws.value(i)),
        })
        .collect()
}

impl Ingest {
    /// Redrives every dead letter of the product's dead-letter table (see the
    /// module's documentation).
    pub async fn redrive(&mut self) -> Result<Redriven, IngestError> {
        let build = build_id(self.registry);
        let mut out = Redriven::default();
        let mut files = self.dead.files().await?;
        files.sort_by(|a, b| a.path.cmp(&b.path));
        let mut segments = None;
        for file in files {
            self.redrive_file(&file, build, &mut segments, &mut out).await?;
        }
        Ok(out)
    }

    /// `segments`: the source's listing, made once when an oversized letter
    /// first needs it.
    async fn redrive_file(
        &mut self,
        file: &DataFile,
        build: i64,
        segments: &mut Option<Vec<String>>,
        out: &mut Redriven,
    ) -> Result<(), IngestError> {
        let batches = self.dead.read_file(file).await?;
        let mut letters: Vec<Stored> = batches.iter().flat_map(stored).collect();
        self.read_oversized_again(&mut letters, segments)?;
        out.letters += letters.len() as u64;
        // The whole records, by segment and offset (as the source held them).
        let mut frames: BTreeMap<&str, Vec<Frame>> = BTreeMap::new();
        for l in letters.iter().filter(|l| l.whole) {
            let position = Position { segment: l.segment.clone(), offset: l.offset };
            frames.entry(&l.segment).or_default().push(Frame::Record { position, bytes: l.raw.clone() });
        }
        let cx = self.context();
        let now = cx.now_micros;
        // This build's dead letters among them, by position.
        let mut dead: BTreeMap<(String, u64), Letter> = BTreeMap::new();
        let mut rows: BTreeMap<&'static str, Vec<RecordBatch>> = BTreeMap::new();
        for (segment, mut frames) in frames {
            frames.sort_by_key(|f| f.position().offset);
            let mut rest = &frames[..];
            while !rest.is_empty() {
                let staged = stage(&cx, segment, rest, |_, _| false).await?;
                for (entity, batches) in staged.tables {
                    rows.entry(entity.staging_table).or_default().extend(batches);
                }
                dead.extend(staged.letters.into_iter().map(|l| ((l.segment.clone(), l.offset), l)));
                rest = &rest[staged.records..];
            }
        }
        let whole = letters.iter().filter(|l| l.whole).count();
        let staged = whole - dead.len();
        let reasons_changed = letters
            .iter()
            .any(|l| dead.get(&(l.segment.clone(), l.offset)).is_some_and(|d| d.reason.code() != l.reason_code));
        out.staged += staged as u64;
        out.still_dead += (letters.len() - staged) as u64;
        for l in &letters {
            let reason = match dead.get(&(l.segment.clone(), l.offset)) {
                Some(d) => d.reason.code(),
                None if !l.whole => l.reason_code.as_str(),
                None => continue, // staged
            };
            *out.still_dead_by_reason.entry(reason.to_string()).or_default() += 1;
        }
        if staged == 0 && !reasons_changed {
            return Ok(()); // as dead as it was: the file stays as it is
        }
        let app = app_id(file);
        // Which tables an interrupted redrive staged the file into: all
        // looked up before anything is staged, so a refusal stages nothing.
        let mut todo = Vec::new();
        let mut resumed = false;
        for (name, batches) in rows {
            match self.tables[name].txn_version(&app).await? {
                Some(v) if v == build => resumed = true,
                Some(other) => {
                    let (file, table) = (file.path.clone(), name.to_string());
                    return Err(IngestError::RedriveOfAnotherBuild { file, table, build, other });
                }
                None => todo.push((name, batches)),
            }
        }
        out.resumed += u64::from(resumed);
        for (name, batches) in todo {
            let table = self.tables.get_mut(name).expect("every entity has a table");
            table.append(&batches, Some(Transaction::new(&app, build))).await?;
            let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
            *out.rows.entry(name.to_string()).or_default() += rows as u64;
        }
        // The file, replaced in one commit by its dead letters still: the
        // corrupt frames' rows as they were, and the records this build
        // cannot stage either with the reason it gives. Concurrent ingests'
        // dead letters are other files and do not conflict with it.
        let mut remaining = Vec::new();
        let mut row = 0;
        for b in &batches {
            let mask: BooleanArray = (row..row + b.num_rows()).map(|r| Some(!letters[r].whole)).collect();
            row += b.num_rows();
            let corrupt = arrow_select::filter::filter_record_batch(b, &mask).expect("a mask of the batch's length");
            if corrupt.num_rows() > 0 {
                remaining.push(corrupt);
            }
        }
        let dead: Vec<Letter> = dead.into_values().collect();
        if !dead.is_empty() {
            remaining.extend(dead_letters::batches(&dead, now));
        }
        let remove = Action::Remove(deltalake::kernel::Remove { data_change: true, ..file.remove.clone() });
        self.dead.replace(&remaining, vec![remove], Vec::new(), Some(&Scope::default())).await?;
        Ok(())
    }

    /// The oversized records among `letters` that this build's limit takes,
    /// read whole from the source at their positions: only where the record
    /// there starts with the head the row kept (the segment may have been
    /// rewritten, or the letter come from another source of the lake).
    fn read_oversized_again(
        &self,
        letters: &mut [Stored],
        segments: &mut Option<Vec<String>>,
    ) -> Result<(), IngestError> {
        let oversized = DeadLetter::Oversized { size: 0, limit: 0 }.code();
        let limit = self.options.max_record_bytes as u64;
        let dir = &self.options.source;
        let failed = |source| IngestError::Source { dir: dir.display().to_string(), source };
        for l in letters.iter_mut().filter(|l| l.reason_code == oversized) {
            let segments = match segments {
                Some(listed) => listed,
                None => segments.insert(SegmentDir::segment_names(dir).map_err(failed)?),
            };
            let at = Position { segment: l.segment.clone(), offset: l.offset };
            let read = source::record_at(dir, segments, &at, limit).map_err(failed)?;
            if let RecordAt::Record(record) = read
                && record.starts_with(&l.raw)
            {
                (l.raw, l.whole) = (record, true);
            }
        }
        Ok(())
    }
}
