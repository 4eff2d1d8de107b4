//! What the CLI prints: plain-text tables for people, and the progress bar.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};

use crate::ingest::{Report, TableStatus, dead_letters};
use crate::lake::Lake;
use crate::maintain::Optimized;
use crate::mapping::Writer;
use crate::merge::{MergeStatus, TableMerge};
use crate::source::{bytes_before, segment_sizes};

/// What a redrive did: one line, and the rows per staging table.
pub fn redriven(r: &crate::ingest::Redriven) -> String {
    let mut out = format!(
        "{} dead letters: {} staged now, {} still dead letters (this build cannot stage them either)",
        r.letters, r.staged, r.still_dead
    );
    if r.resumed > 0 {
        let _ = write!(out, "; finished {} files an interrupted redrive had staged in part", r.resumed);
    }
    out.push('\n');
    for (table, rows) in &r.rows {
        let _ = writeln!(out, "  {table}: {rows} rows");
    }
    if !r.still_dead_by_reason.is_empty() {
        let reasons: Vec<String> = r.still_dead_by_reason.iter().map(|(reason, n)| format!("{reason} {n}")).collect();
        let _ = writeln!(out, "  still dead: {}", reasons.join(", "));
    }
    if r.staged > 0 {
        out.push_str("the next merge applies them\n");
    }
    out
}

pub fn summary(r: &Report) -> String {
    let position = match &r.position {
        Some(p) => format!("{}@{}", p.segment, p.offset),
        None => "the start".into(),
    };
    let mut out = format!(
        "{}{} records in {} batches: {} rows staged, {} superseded within their batch, {} dead letters, {} already committed; next position: {position}",
        if r.stopped { "stopped on request: " } else { "" },
        r.records,
        r.batches,
        r.rows_total(),
        r.superseded,
        r.dead_letters,
        r.already_committed
    );
    for table in &r.created_after_progress {
        let _ = write!(
            out,
            "\n`{table}` was created by this run, after the source's progress was recorded: it holds none of the \
             records before where this run started. A new entity's earlier records are dead letters (an unknown \
             type), which `redrive` stages now; a staging table deleted by hand is rebuilt from the source only \
             when the dead-letter table is deleted too (the next run then reads the source from its start), and \
             the models' tables that merged it stop the merge until they are deleted"
        );
    }
    if let Some(bytes) = r.unfinished {
        let _ = write!(
            out,
            "\nthe last segment ends inside a record ({bytes} bytes at {position}): left for the next run, as its \
             writer may still be writing it (once a later segment exists, it is a dead letter)"
        );
    }
    out
}

/// A table with aligned columns; the first row is the header.
fn grid(rows: &[Vec<String>]) -> String {
    let widths: Vec<usize> =
        (0..rows[0].len()).map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        let cells: Vec<String> = row.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        let _ = writeln!(out, "{}", cells.join("  ").trim_end());
        if i == 0 {
            let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
            let _ = writeln!(out, "{}", rule.join("  "));
        }
    }
    out
}

/// Files in one table from which `status` suggests `optimize`: each commit
/// goes over every file's entry (~0.2 ms a file on the machine the README's
/// figures come from), so at this many a commit spends ~0.2 s on it.
pub const OPTIMIZE_AT_FILES: u64 = 1000;

pub fn status_table(status: &[TableStatus]) -> String {
    let mut rows = vec![["table", "version", "rows", "files", "committed", "lag (bytes)"].map(String::from).to_vec()];
    for s in status {
        rows.push(vec![
            s.table.to_string(),
            s.version.map(|v| v.to_string()).unwrap_or_else(|| "-".into()),
            s.rows.to_string(),
            s.files.to_string(),
            s.committed.as_ref().map(|p| format!("{}@{}", p.segment, p.offset)).unwrap_or_else(|| "-".into()),
            s.lag_bytes.to_string(),
        ]);
    }
    let mut out = grid(&rows);
    let crowded: Vec<String> =
        status.iter().filter(|s| s.files >= OPTIMIZE_AT_FILES).map(|s| s.table.to_string()).collect();
    if !crowded.is_empty() {
        let _ = writeln!(
            out,
            "{}: {OPTIMIZE_AT_FILES} files or more; every commit goes over each file's entry, so commits slow \
             down as files pile up (`optimize` leaves one file per partition)",
            crowded.join(", ")
        );
    }
    out
}

/// Step 2's progress per model table: the staging version merged and how far
/// behind (commits, and the age of the oldest one not merged, against `now_ms`).
pub fn merge_status_table(status: &[MergeStatus], now_ms: i64) -> String {
    let mut rows = vec![
        ["model table", "writer", "version", "rows", "merged", "behind (commits)", "oldest unmerged"]
            .map(String::from)
            .to_vec(),
    ];
    let dash = || "-".to_string();
    for s in status {
        let oldest = match s.waiting_since {
            Some(at) => format!("{} ago", age((now_ms - at).max(0))),
            None if s.behind > 0 => "no longer in the log".into(),
            None => dash(),
        };
        rows.push(vec![
            s.table.to_string(),
            writer_name(s.writer).into(),
            s.version.map_or_else(dash, |v| v.to_string()),
            s.rows.to_string(),
            s.merged.map_or_else(dash, |v| v.to_string()),
            s.behind.to_string(),
            oldest,
        ]);
    }
    grid(&rows)
}

/// `ms` as a person reads a lag: `850 ms`, `42 s`, `7 min`, `3 h`.
fn age(ms: i64) -> String {
    match ms {
        ..1_000 => format!("{ms} ms"),
        1_000..120_000 => format!("{} s", ms / 1_000),
        120_000..7_200_000 => format!("{} min", ms / 60_000),
        _ => format!("{} h", ms / 3_600_000),
    }
}

fn writer_name(writer: Writer) -> &'static str {
    match writer {
        Writer::Append => "append",
        Writer::Merge => "merge",
        Writer::MergeExploded => "merge_exploded",
    }
}

/// What the merge step did, per target table.
pub fn merge_table(merges: &[TableMerge]) -> String {
    let mut rows = vec![
        [
            "table",
            "writer",
            "staging versions",
            "staging rows",
            "rows written",
            "replaced",
            "files read",
            "files changed",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for m in merges {
        let writer = writer_name(m.writer);
        let versions = if m.to > m.from { format!("{}..={}", m.from + 1, m.to) } else { "up to date".into() };
        rows.push(vec![
            m.table.to_string(),
            writer.into(),
            versions,
            m.staging_rows.to_string(),
            m.written.rows.to_string(),
            m.written.replaced.to_string(),
            m.written.files_read.to_string(),
            m.written.files_changed.to_string(),
        ]);
    }
    grid(&rows)
}

/// What `optimize` did, per table.
pub fn optimize_table(done: &[Optimized]) -> String {
    let mut rows = vec![
        ["table", "partitions compacted", "files removed", "rows rewritten", "retries"].map(String::from).to_vec(),
    ];
    for o in done {
        rows.push(vec![
            o.table.to_string(),
            o.partitions.to_string(),
            o.files_removed.to_string(),
            o.rows.to_string(),
            o.retries.to_string(),
            o.skipped_busy.to_string(),
        ]);
    }
    grid(&rows)
}

pub async fn tables(lake: &Lake) -> anyhow::Result<String> {
    let mut rows = vec![vec!["table".into(), "version".into(), "rows".into()]];
    // A table folder without a commit: its creation was interrupted (or it
    // is being created). It is listed, not an error for the whole listing.
    let mut uncommitted = Vec::new();
    for name in lake.list()? {
        let Some(table) = lake.existing(&name).await? else {
            rows.push(vec![name.to_string(), "-".into(), "-".into()]);
            uncommitted.push(name.to_string());
            continue;
        };
        rows.push(vec![
            name.to_string(),
            table.version().map(|v| v.to_string()).unwrap_or_default(),
            table.row_count().await?.to_string(),
        ]);
    }
    if rows.len() == 1 {
        return Ok(format!("no tables in {}\n", lake.root()));
    }
    let mut out = grid(&rows);
    if !uncommitted.is_empty() {
        let _ = writeln!(
            out,
            "{}: a `_delta_log` without a commit (a creation interrupted, or under way); the next ingest or merge \
             creates the table",
            uncommitted.join(", ")
        );
    }
    Ok(out)
}

/// The dead letters counted by reason code, as a grid; empty when there are none.
pub async fn dead_letter_reasons(lake: &Lake, product: &str) -> anyhow::Result<String> {
    use arrow_array::cast::AsArray as _;
    let Some(table) = lake.existing(&dead_letters::table_name(product)).await? else {
        return Ok(String::new());
    };
    // Only the reason column is read: the rows' raw records can be megabytes each.
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for file in table.files().await? {
        let (batch, _, _) = table.live_keys(&file, &["reason_code"]).await?;
        let codes = batch.column_by_name("reason_code").context("the dead-letter table has no reason_code")?;
        for code in codes.as_string::<i32>().iter().flatten() {
            *counts.entry(code.to_string()).or_default() += 1;
        }
    }
    if counts.is_empty() {
        return Ok(String::new());
    }
    let mut rows = vec![vec!["dead-letter reason".into(), "records".into()]];
    rows.extend(counts.into_iter().map(|(c, n)| vec![c, n.to_string()]));
    Ok(grid(&rows))
}

/// A progress bar over the source's bytes (hidden when stderr is not a terminal).
pub struct Progress {
    bar: ProgressBar,
    sizes: Vec<(String, u64)>,
}

impl Progress {
    pub fn new(source: &Path) -> Progress {
        let sizes = segment_sizes(source).unwrap_or_default();
        let bar = ProgressBar::new(sizes.iter().map(|(_, n)| n).sum());
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} {msg}")
                .expect("the template is valid"),
        );
        Progress { bar, sizes }
    }

    pub fn update(&self, r: &Report) {
        if let Some(p) = &r.position {
            self.bar.set_position(bytes_before(&self.sizes, p));
        }
        self.bar.set_message(format!("{} records, {} dead letters", r.records, r.dead_letters));
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lake::TableName;
    use crate::source::Position;

    /// A lake in a fresh directory, a runtime, and a one-column schema.
    fn a_lake() -> (tempfile::TempDir, tokio::runtime::Runtime, Lake, arrow_schema::SchemaRef) {
        let dir = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
        let field = arrow_schema::Field::new("id", arrow_schema::DataType::Utf8, true);
        (dir, rt, lake, std::sync::Arc::new(arrow_schema::Schema::new(vec![field])))
    }

    #[test]
    fn tables_lists_a_table_folder_without_a_commit_instead_of_failing() {
        let (dir, rt, lake, schema) = a_lake();
        rt.block_on(lake.table(&TableName::new("s", "made"), &schema, &[])).unwrap();
        // What a creation killed before its first commit leaves.
        std::fs::create_dir_all(dir.path().join("s/half/_delta_log")).unwrap();
        let out = rt.block_on(tables(&lake)).unwrap();
        let lines: Vec<Vec<&str>> = out.lines().map(|l| l.split_whitespace().collect()).collect();
        assert_eq!(lines[2], ["s.half", "-", "-"], "{out}");
        assert_eq!(lines[3], ["s.made", "0", "0"], "{out}");
        assert!(out.lines().last().unwrap().starts_with("s.half: a `_delta_log` without a commit"), "{out}");
    }

    /// Folder names are the file system's: a copy of a table in `Copy#1 a?b`
    /// is listed as itself, and listing makes no folder.
    #[test]
    fn tables_lists_folders_whose_names_a_url_escapes() {
        let (dir, rt, lake, schema) = a_lake();
        let odd = TableName::new("s", "Copy#1 a?b");
        let mut table = rt.block_on(lake.table(&odd, &schema, &[])).unwrap();
        let rows = arrow_array::RecordBatch::try_new(
            schema.clone(),
            vec![std::sync::Arc::new(arrow_array::StringArray::from(vec!["x", "y"]))],
        )
        .unwrap();
        rt.block_on(table.append(&[rows], None)).unwrap();
        let out = rt.block_on(tables(&lake)).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3, "{out}");
        let cells: Vec<&str> = lines[2].split("  ").map(str::trim).filter(|c| !c.is_empty()).collect();
        assert_eq!(cells, ["s.Copy#1 a?b", "1", "2"], "{out}");
        let folders: Vec<String> = std::fs::read_dir(dir.path().join("s"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(folders, ["Copy#1 a?b"]);
    }

    #[test]
    fn the_summary_says_when_the_last_segment_ends_inside_a_record() {
        let mut r = Report {
            records: 3,
            batches: 1,
            position: Some(Position { segment: "0001.pb".into(), offset: 42 }),
            ..Report::default()
        };
        let done = summary(&r);
        assert_eq!(done.lines().count(), 1, "{done}");
        assert!(done.ends_with("next position: 0001.pb@42"), "{done}");
        r.unfinished = Some(7);
        let waiting = summary(&r);
        let second = waiting.lines().nth(1).unwrap_or_default();
        assert!(second.starts_with("the last segment ends inside a record (7 bytes at 0001.pb@42)"), "{waiting}");
        assert!(second.contains("left for the next run"), "{waiting}");
        r.created_after_progress = vec!["manifold_entities.JiraIssue".into()];
        let created = summary(&r);
        let line = created.lines().nth(1).unwrap_or_default();
        assert!(
            line.starts_with("`manifold_entities.JiraIssue` was created by this run, after the source's"),
            "{created}"
        );
    }

    #[test]
    fn status_counts_files_and_suggests_optimize_when_they_pile_up() {
        let row = |table: &str, files| TableStatus {
            table: TableName::new("manifold_entities", table),
            version: Some(3),
            rows: 10,
            files,
            committed: Some(Position { segment: "0001.pb".into(), offset: 42 }),
            lag_bytes: 0,
        };
        let calm = status_table(&[row("A", 2), row("B", OPTIMIZE_AT_FILES - 1)]);
        let lines: Vec<&str> = calm.lines().collect();
        assert_eq!(lines[0].split_whitespace().collect::<Vec<_>>()[3], "files", "{calm}");
        assert_eq!(lines[2].split_whitespace().collect::<Vec<_>>()[3], "2", "{calm}");
        assert_eq!(lines.len(), 4, "no hint: {calm}");
        let crowded = status_table(&[row("A", 2), row("B", OPTIMIZE_AT_FILES), row("C", 5000)]);
        let hint = crowded.lines().last().unwrap();
        assert!(hint.starts_with("manifold_entities.B, manifold_entities.C: 1000 files or more;"), "{crowded}");
        assert!(hint.contains("`optimize`"), "{hint}");
    }

    #[test]
    fn merge_status_says_how_far_behind_and_since_when() {
        let row = |behind, waiting_since| MergeStatus {
            table: TableName::new("p", "t"),
            writer: Writer::Merge,
            version: Some(4),
            rows: 10,
            merged: Some(7),
            behind,
            waiting_since,
        };
        let now = 10_000_000;
        let out = merge_status_table(&[row(0, None), row(3, Some(now - 42_500)), row(2, None)], now);
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[2].ends_with(" 0                 -"), "{out}");
        assert!(lines[3].ends_with(" 3                 42 s ago"), "{out}");
        assert!(lines[4].ends_with("no longer in the log"), "{out}");
        assert_eq!([age(850), age(7 * 60_000), age(3 * 3_600_000 + 5)], ["850 ms", "7 min", "3 h"]);
    }
}
