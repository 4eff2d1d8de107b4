//! Reading a table back without a query engine: data files through the table's
//! object store, decoded with the parquet crate, with the partition columns
//! (which Delta keeps in the log, not in the files) re-attached.
//!
//! - `scan`: every active file (for `tables`, tests);
//! - `files` + `read_file`: the active files with their partition values and
//!   statistics, and one file's rows (the merge step picks the files it needs);
//! - `changes`: the rows that commits after a version added (the merge step
//!   reads new staging rows this way: the cost follows the new commits, not
//!   the table).
//!
//! A file's deletion vector (see `dv`) hides its deleted rows from every
//! reader here; `live_keys` and `rows_at` give the merge step physical row
//! positions, which is what a new deletion vector marks.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use arrow_array::cast::AsArray as _;
use arrow_array::{ArrayRef, RecordBatch, StringArray};
use arrow_schema::SchemaRef;
use deltalake::arrow::compute::cast;
use deltalake::kernel::{Action, Add, DeletionVectorDescriptor, Remove};
use deltalake::parquet::arrow::ParquetRecordBatchStreamBuilder;
use deltalake::parquet::arrow::ProjectionMask;
use deltalake::parquet::arrow::arrow_reader::{ArrowReaderOptions, RowSelection};
use deltalake::parquet::arrow::async_reader::AsyncFileReader as _;
use deltalake::parquet::file::metadata::PageIndexPolicy;
use futures::TryStreamExt as _;
use object_store::path::Path;
use roaring::RoaringTreemap;

use deltalake::DeltaTableError;
use deltalake::logstore::ObjectStoreRef;

use super::lookup::Lookup;
use super::{LakeError, Result, Table, delta_error, table_error};

/// An active data file of a table.
#[derive(Clone, Debug)]
pub struct DataFile {
    /// The path relative to the table root, decoded.
    pub path: String,
    pub partition_values: HashMap<String, Option<String>>,
    pub num_records: Option<u64>,
    /// Per column, the minimum and maximum in the file (from the log's statistics;
    /// absent when the writer did not record them).
    pub min_values: serde_json::Map<String, serde_json::Value>,
    pub max_values: serde_json::Map<String, serde_json::Value>,
    /// The rows marked deleted, if any (the file's other rows are its live ones).
    pub deletion_vector: Option<DeletionVectorDescriptor>,
    /// The action that removes this file (for a commit that replaces it).
    pub remove: Remove,
    /// The action that adds it as it is (to re-add it with a new deletion vector).
    pub add: Add,
}

/// What reading a table's data files takes: cheap to clone and `'static`, so
/// reads can run as tasks of their own (the merge step reads files in parallel).
#[derive(Clone)]
pub struct Reader {
    pub(super) name: String,
    pub(super) store: ObjectStoreRef,
    pub(super) root: url::Url,
    pub(super) schema: SchemaRef,
}

impl Reader {
    pub(super) fn error(&self, message: impl Into<String>) -> LakeError {
        LakeError::Table { table: self.name.clone(), message: message.into() }
    }

    pub(super) fn delta_error(&self, source: DeltaTableError) -> LakeError {
        LakeError::Delta { table: self.name.clone(), source: Box::new(source) }
    }

    /// See [`Table::live_keys`].
    pub async fn live_keys(
        &self,
        file: &DataFile,
        columns: &[&str],
    ) -> Result<(RecordBatch, Vec<u64>, RoaringTreemap)> {
        live_keys(self, file, columns).await
    }

    /// See [`Table::rows_holding`].
    pub async fn rows_holding(&self, file: &DataFile, columns: &[&str], lookup: &Lookup) -> Result<Matches> {
        rows_holding(self, file, columns, lookup).await
    }
}

/// The live rows of a data file that may hold a lookup's values (see
/// [`Reader::rows_holding`]).
#[derive(Debug)]
pub struct Matches {
    /// The rows' columns asked for.
    pub rows: RecordBatch,
    /// Each row's position in the file (what a deletion vector marks).
    pub positions: Vec<u64>,
    /// The rows the file's deletion vector marks already.
    pub deleted: RoaringTreemap,
    /// The rows decoded to find them: what the page index did not prune.
    pub decoded: usize,
    /// Per row, whether it was proven below its key's bound and left unread
    /// (see [`super::Below`]): its `unread` columns then hold zeros (or
    /// empty text), not its values.
    pub unread: Vec<bool>,
    /// Per row, the place of its key among the lookup's text values, when
    /// the rows were found page by page (`None` when read through Arrow).
    pub keys: Option<Vec<usize>>,
}

/// Rows decoded at a time while looking rows up: the read's buffers stay
/// small (and in cache) however many pages it selects, and only the rows
/// that match are kept.
const LOOKUP_BATCH_ROWS: usize = 8192;

pub(super) async fn files(table: &Table) -> Result<Vec<DataFile>> {
    let views: Vec<_> =
        table.inner.get_active_add_actions_by_partitions(&[]).try_collect().await.map_err(|e| delta_error(table, e))?;
    let mut out = Vec::with_capacity(views.len());
    for f in views {
        let stats: serde_json::Value = f.stats().and_then(|s| serde_json::from_str(&s).ok()).unwrap_or_default();
        let object = |k: &str| stats.get(k).and_then(|v| v.as_object()).cloned().unwrap_or_default();
        out.push(DataFile {
            path: f.path().into_owned(),
            partition_values: f.partition_values_map(),
            num_records: f.num_records().map(|n| n as u64),
            min_values: object("minValues"),
            max_values: object("maxValues"),
            deletion_vector: f.deletion_vector_descriptor(),
            remove: f.remove_action(true),
            // The only public way to the add action as the log holds it.
            #[allow(deprecated)]
            add: f.add_action(),
        });
    }
    Ok(out)
}

pub(super) async fn scan(table: &Table) -> Result<Vec<RecordBatch>> {
    let reader = table.reader()?;
    let mut out = Vec::new();
    for f in files(table).await? {
        out.extend(read_file(&reader, &f).await?);
    }
    Ok(out)
}

/// The live rows of one data file, with the table's full schema.
pub async fn read_file(reader: &Reader, file: &DataFile) -> Result<Vec<RecordBatch>> {
    let (batches, _) = read_parquet(reader, &reader.schema, Part::of(file), Select::All).await?;
    let Some(dv) = &file.deletion_vector else { return Ok(batches) };
    let deleted = super::dv::read(reader, dv).await?;
    let mut out = Vec::with_capacity(batches.len());
    let mut start = 0u64;
    for batch in batches {
        let n = batch.num_rows() as u64;
        let live: arrow_array::BooleanArray = (start..start + n).map(|i| Some(!deleted.contains(i))).collect();
        start += n;
        out.push(arrow_select::filter::filter_record_batch(&batch, &live).map_err(|e| reader.error(e.to_string()))?);
    }
    Ok(out)
}

/// The live rows' `columns` of one data file, with each row's position in the
/// file (what a deletion vector marks), and the file's deleted rows so far.
pub async fn live_keys(
    reader: &Reader,
    file: &DataFile,
    columns: &[&str],
) -> Result<(RecordBatch, Vec<u64>, RoaringTreemap)> {
    let schema = projection(reader, columns)?;
    let (batches, read) = read_parquet(reader, &schema, Part::of(file), Select::All).await?;
    let deleted = deleted_rows(reader, file).await?;
    let all = arrow_select::concat::concat_batches(&schema, &batches).map_err(|e| reader.error(e.to_string()))?;
    let read: Vec<u64> = read.into_iter().flatten().map(|p| p as u64).collect();
    if read.len() != all.num_rows() {
        return Err(reader.error(format!("`{}`: read {} rows of {} selected", file.path, all.num_rows(), read.len())));
    }
    if deleted.is_empty() {
        return Ok((all, read, deleted));
    }
    let (indices, positions): (Vec<u64>, Vec<u64>) =
        read.iter().enumerate().filter(|(_, p)| !deleted.contains(**p)).map(|(i, p)| (i as u64, *p)).unzip();
    let live = arrow_select::take::take_record_batch(&all, &arrow_array::UInt64Array::from(indices))
        .map_err(|e| reader.error(e.to_string()))?;
    Ok((live, positions, deleted))
}

/// `columns` of the live rows of one data file that may hold one of
/// `lookup`'s values: only pages whose bounds may hold one are decoded (see
/// `lookup`), a batch at a time, and of their rows only those whose lookup
/// column holds one of the values are kept — exactly those for text values;
/// for integer values every row of those pages (a superset).
pub async fn rows_holding(reader: &Reader, file: &DataFile, columns: &[&str], lookup: &Lookup) -> Result<Matches> {
    let schema = projection(reader, columns)?;
    let deleted = deleted_rows(reader, file).await?;
    // Files laid out for lookups are read page by page (`pages`); any other
    // through Arrow, below (its metadata read again: only foreign files pay that).
    let mut ranged = Part::of(file).ranged(reader)?;
    let fail = |e: deltalake::parquet::errors::ParquetError| reader.error(format!("`{}`: {e}", file.path));
    let options = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Optional);
    let metadata = ranged.get_metadata(Some(&options)).await.map_err(fail)?;
    let fetch = |ranges: Vec<Range<u64>>| {
        let mut file = ranged.clone();
        async move { file.get_byte_ranges(ranges).await }
    };
    if let Some(found) =
        super::pages::rows_holding(&metadata, ranged.size, &schema, lookup, &deleted, fetch).await.map_err(fail)?
    {
        let super::pages::Found { rows, positions, decoded, unread, keys } = found;
        return Ok(Matches { rows, positions, deleted, decoded, unread, keys: Some(keys) });
    }
    let mut kept = Vec::new();
    let mut positions = Vec::new();
    let mut decoded = 0;
    let select = Select::Lookup(lookup);
    read_parquet_each(reader, &schema, Part::of(file), select, LOOKUP_BATCH_ROWS, |batch, at| {
        decoded += batch.num_rows();
        let values = batch.column_by_name(&lookup.column).and_then(|c| c.as_string_opt::<i32>());
        let holding = values.and_then(|v| lookup.values.rows_holding(v));
        let rows: Vec<usize> = match holding {
            Some(rows) => rows.into_iter().filter(|&i| !deleted.contains(at[i])).collect(),
            None => (0..batch.num_rows()).filter(|&i| !deleted.contains(at[i])).collect(),
        };
        if rows.len() == batch.num_rows() {
            positions.extend_from_slice(at);
            kept.push(batch);
        } else if !rows.is_empty() {
            positions.extend(rows.iter().map(|&i| at[i]));
            let indices = arrow_array::UInt64Array::from_iter_values(rows.iter().map(|&i| i as u64));
            kept.push(
                arrow_select::take::take_record_batch(&batch, &indices).map_err(|e| reader.error(e.to_string()))?,
            );
        }
        Ok(())
    })
    .await?;
    let rows = arrow_select::concat::concat_batches(&schema, &kept).map_err(|e| reader.error(e.to_string()))?;
    // Read whole: nothing is left unread.
    let unread = vec![false; positions.len()];
    Ok(Matches { rows, positions, deleted, decoded, unread, keys: None })
}

/// The table's schema narrowed to `columns`.
fn projection(reader: &Reader, columns: &[&str]) -> Result<SchemaRef> {
    let full = reader.schema.clone();
    Ok(Arc::new(full.project(&indices_of(reader, &full, columns)?).map_err(|e| reader.error(e.to_string()))?))
}

/// The rows a data file's deletion vector marks (none without one).
async fn deleted_rows(reader: &Reader, file: &DataFile) -> Result<RoaringTreemap> {
    match &file.deletion_vector {
        Some(dv) => super::dv::read(reader, dv).await,
        None => Ok(RoaringTreemap::new()),
    }
}

/// The rows at `positions` (ascending) of one data file, with the table's full
/// schema: only those rows are decoded.
pub async fn rows_at(reader: &Reader, file: &DataFile, positions: &[u64]) -> Result<RecordBatch> {
    let schema = reader.schema.clone();
    let select = Select::Positions(positions);
    let (batches, _) = read_parquet(reader, &schema, Part::of(file), select).await?;
    arrow_select::concat::concat_batches(&schema, &batches).map_err(|e| reader.error(e.to_string()))
}

fn indices_of(reader: &Reader, schema: &SchemaRef, columns: &[&str]) -> Result<Vec<usize>> {
    columns.iter().map(|c| schema.index_of(c).map_err(|_| reader.error(format!("has no column `{c}`")))).collect()
}

/// Which rows of a data file to read.
enum Select<'a> {
    All,
    /// These positions (ascending).
    Positions(&'a [u64]),
    /// The pages that may hold the lookup's values.
    Lookup(&'a Lookup),
}

/// A data file to read, as its add action gives it.
#[derive(Clone, Copy)]
struct Part<'a> {
    /// Relative to the table root, decoded.
    path: &'a str,
    size: i64,
    partitions: &'a HashMap<String, Option<String>>,
}

impl<'a> Part<'a> {
    fn of(file: &'a DataFile) -> Self {
        Part { path: &file.path, size: file.add.size, partitions: &file.partition_values }
    }

    /// The file's path in the table's store.
    fn location(&self) -> Path {
        Path::parse(self.path).unwrap_or_else(|_| Path::from(self.path))
    }

    /// The file read through the table's store by byte ranges.
    fn ranged(&self, reader: &Reader) -> Result<super::ranged::Ranged> {
        let (path, location) = (self.path, self.location());
        let size =
            u64::try_from(self.size).map_err(|_| reader.error(format!("`{path}`: a negative size in the log")))?;
        Ok(super::ranged::Ranged { store: reader.store.clone(), path: location, size })
    }
}

/// Reads a data file as `schema` (a projection of the table's: columns the
/// file does not hold are partition columns, filled from its partition
/// values): the rows `select` picks, in one batch, and those rows' positions
/// as ascending ranges.
async fn read_parquet(
    reader: &Reader,
    schema: &SchemaRef,
    part: Part<'_>,
    select: Select<'_>,
) -> Result<(Vec<RecordBatch>, Vec<Range<usize>>)> {
    let mut out = Vec::new();
    // One batch: callers hold every row read anyway, and concatenating one
    // batch copies nothing.
    let ranges = read_parquet_each(reader, schema, part, select, usize::MAX, |batch, _| {
        out.push(batch);
        Ok(())
    })
    .await?;
    Ok((out, ranges))
}

/// [`read_parquet`] handing the rows to `each` in batches of up to
/// `batch_rows`, with each batch's row positions; returns the ranges read.
async fn read_parquet_each(
    reader: &Reader,
    schema: &SchemaRef,
    part: Part<'_>,
    select: Select<'_>,
    batch_rows: usize,
    mut each: impl FnMut(RecordBatch, &[u64]) -> Result<()>,
) -> Result<Vec<Range<usize>>> {
    let (path, partitions) = (part.path, part.partitions);
    // Ranged reads: only the projected columns' chunks (and, with the page
    // index, only the selected rows' pages) are fetched.
    let file = part.ranged(reader)?;
    let fail = |e: deltalake::parquet::errors::ParquetError| reader.error(format!("`{path}`: {e}"));
    let policy = if matches!(select, Select::All) { PageIndexPolicy::Skip } else { PageIndexPolicy::Optional };
    let options = ArrowReaderOptions::new().with_page_index_policy(policy);
    let mut builder = ParquetRecordBatchStreamBuilder::new_with_options(file, options).await.map_err(fail)?;
    let in_file: Vec<usize> = builder
        .schema()
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, f)| schema.field_with_name(f.name()).is_ok())
        .map(|(i, _)| i)
        .collect();
    let mask = ProjectionMask::roots(builder.parquet_schema(), in_file);
    builder = builder.with_projection(mask);
    let total = builder.metadata().file_metadata().num_rows() as usize;
    let whole = || std::iter::once(0..total).collect::<Vec<_>>();
    let ranges = match select {
        Select::All => whole(),
        Select::Positions(positions) => positions.iter().map(|&p| p as usize..p as usize + 1).collect(),
        Select::Lookup(lookup) => match lookup.rows(builder.metadata()) {
            // Decoding scattered pages costs more per row than a whole
            // column: when most rows are selected, all are read.
            Some(rows) if rows.iter().map(|r| r.len()).sum::<usize>() <= total / 2 => rows,
            _ => whole(),
        },
    };
    if ranges.is_empty() {
        return Ok(ranges);
    }
    if !matches!(ranges.as_slice(), [r] if *r == (0..total)) {
        builder = builder.with_row_selection(RowSelection::from_consecutive_ranges(ranges.iter().cloned(), total));
    }
    builder = builder.with_batch_size(ranges.iter().map(|r| r.len()).sum::<usize>().clamp(1, batch_rows));
    let mut stream = builder.build().map_err(fail)?;
    let mut positions = ranges.iter().flat_map(|r| r.clone()).map(|p| p as u64);
    let mut at = Vec::new();
    while let Some(batch) = stream.try_next().await.map_err(fail)? {
        at.clear();
        at.extend(positions.by_ref().take(batch.num_rows()));
        if at.len() != batch.num_rows() {
            return Err(reader.error(format!("`{path}`: the reader returned more rows than were selected")));
        }
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
        for field in schema.fields() {
            let column = match batch.column_by_name(field.name()) {
                Some(c) if c.data_type() == field.data_type() => c.clone(),
                // Written before the table's structs grew or by another
                // release: in the table's shape (see `evolve.rs`).
                Some(c) => super::evolve::adapt(c, field.data_type(), true)
                    .map_err(|e| reader.error(format!("`{path}`, column `{}`: {e}", field.name())))?,
                None => {
                    // A partition column: one value for the whole file.
                    let value = partitions.get(field.name()).cloned().flatten();
                    let strings: ArrayRef = Arc::new(StringArray::from(vec![value; batch.num_rows()]));
                    cast(&strings, field.data_type()).map_err(|e| reader.error(e.to_string()))?
                }
            };
            columns.push(column);
        }
        each(RecordBatch::try_new(schema.clone(), columns).map_err(|e| reader.error(e.to_string()))?, &at)?;
    }
    if positions.next().is_some() {
        return Err(reader.error(format!("`{path}`: the reader returned fewer rows than were selected")));
    }
    Ok(ranges)
}

/// When commit `version` was made (its `commitInfo` timestamp, milliseconds
/// since the epoch); `None` if the log no longer holds it or it has none.
pub(super) async fn committed_at(table: &Table, version: i64) -> Result<Option<i64>> {
    let Ok(version) = u64::try_from(version) else { return Ok(None) };
    let Some(bytes) = table.inner.log_store().read_commit_entry(version).await.map_err(|e| delta_error(table, e))?
    else {
        return Ok(None);
    };
    let actions = deltalake::logstore::get_actions(version, &bytes).map_err(|e| delta_error(table, e))?;
    Ok(actions.into_iter().find_map(|a| match a {
        Action::CommitInfo(info) => info.in_commit_timestamp.or(info.timestamp),
        _ => None,
    }))
}

/// The actions of the commits `after + 1 ..= upto`.
pub(super) async fn actions_between(table: &Table, after: i64, upto: i64) -> Result<Vec<Action>> {
    let log = table.inner.log_store();
    let mut out = Vec::new();
    for version in (after + 1).max(0)..=upto {
        let version = version as u64;
        let bytes = log.read_commit_entry(version).await.map_err(|e| delta_error(table, e))?;
        let bytes = bytes.ok_or_else(|| table_error(table, format!("commit {version} is not in the log")))?;
        out.extend(deltalake::logstore::get_actions(version, &bytes).map_err(|e| delta_error(table, e))?);
    }
    Ok(out)
}

fn gone_error(table: &Table, message: String) -> LakeError {
    LakeError::CommitGone { table: table.name.to_string(), message }
}

/// The rows added by the commits `after + 1 ..= upto` (data changes only: a
/// compaction's re-adds are not new rows).
pub(super) async fn changes(table: &Table, after: i64, upto: i64) -> Result<Vec<RecordBatch>> {
    let reader = table.reader()?;
    let schema = reader.schema.clone();
    let log = table.inner.log_store();
    let mut out = Vec::new();
    let first = (after + 1).max(0);
    if upto < first {
        return Ok(Vec::new());
    }
    for version in first as u64..=upto as u64 {
        let bytes = log.read_commit_entry(version).await.map_err(|e| delta_error(table, e))?.ok_or_else(|| {
            gone_error(
                table,
                format!("commit {version} is no longer in the log (log retention removed it); the merge step cannot catch up from there"),
            )
        })?;
        let actions = deltalake::logstore::get_actions(version, &bytes).map_err(|e| delta_error(table, e))?;
        for action in actions {
            if let Action::Add(add) = action {
                if !add.data_change {
                    continue;
                }
                if add.deletion_vector.is_some() {
                    return Err(table_error(table, format!("`{}` has a deletion vector", add.path)));
                }
                // `Add::path` comes out of the log already percent-decoded (as
                // `LogicalFileView::path` does): decoding it again would turn a
                // partition folder's own escapes (`ws%2B5` for `ws+5`) into
                // characters, and name a file that does not exist.
                let part = Part { path: &add.path, size: add.size, partitions: &add.partition_values };
                let location = part.location();
                let (batches, _) = match read_parquet(&reader, &schema, part, Select::All).await {
                    Ok(read) => read,
                    Err(e) => {
                        use object_store::ObjectStoreExt as _;
                        let gone =
                            matches!(reader.store.head(&location).await, Err(object_store::Error::NotFound { .. }));
                        if !gone {
                            return Err(e);
                        }
                        // Said plainly: the commit's rows live on only in the
                        // files `optimize` rewrote them into.
                        return Err(gone_error(
                            table,
                            format!(
                                "commit {version} added `{}`, which is gone (`optimize` rewrote it and `vacuum` \
                                 deleted it): the merge step cannot read that commit's rows any more ({e})",
                                add.path
                            ),
                        ));
                    }
                };
                out.extend(batches);
            }
        }
    }
    Ok(out)
}
