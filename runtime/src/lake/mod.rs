//! The lake: Delta tables under one root (a local directory by default, or a
//! URL: `file://`, `s3://` — see `stores.rs`), written through delta-rs's
//! writer and commit API — without DataFusion.
//!
//! A table lives at `<root>/<schema>/<table>/`, e.g.
//! `lake/manifold_entities/JiraIssue/`. Every commit that carries data can carry
//! an application transaction (`txn`: app id + version), which is how ingestion
//! records its source position in the same atomic commit as the rows.

mod conflict;
mod create;
mod dv;
mod evolve;
pub use evolve::Rows;
pub mod folders;
mod lookup;
mod page_header;
mod pages;
mod prefixed;
mod properties;
mod ranged;
mod read;
mod runs;
mod stores;
mod write;

pub use conflict::Scope;
pub use dv::ENABLE as ENABLE_DELETION_VECTORS;
pub use lookup::{Below, KeyValues, LOOKUP_COLUMNS, Lookup};
pub use properties::STATS_COLUMNS;

pub use read::{DataFile, Matches, Reader};
use write::{Change, Flushed, RACES};

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use deltalake::kernel::engine::arrow_conversion::TryIntoKernel as _;
use deltalake::kernel::{Action, Add, Remove, StructField, StructType, Transaction};
use deltalake::operations::create::CreateBuilder;
use deltalake::protocol::SaveMode;
use deltalake::writer::RecordBatchWriter;
use deltalake::{DeltaTable, DeltaTableBuilder, DeltaTableError};
use roaring::RoaringTreemap;
use url::Url;

/// Errors of the lake, with the table they concern.
#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    #[error("the lake location `{location}` is not usable: {source}")]
    Location { location: String, source: Box<DeltaTableError> },
    #[error("the lake location `{location}` is a file; a lake is a directory")]
    NotADirectory { location: String },
    /// A command that reads or maintains a lake was given a local directory
    /// that does not exist (a mistyped path would otherwise become a new,
    /// empty lake that reports nothing to do).
    #[error("there is no lake at `{location}`: the directory does not exist (`ingest` makes a lake)")]
    NoLake { location: String },
    #[error(
        "the lake location `{location}` has `{escape}` in its path, which delta-rs (1.1.3) decodes a second time: \
         it would write the tables' files under one path and look for them under another; choose a path without \
         `%` followed by two hex digits"
    )]
    EscapeInPath { location: String, escape: String },
    #[error("table `{table}`: {source}")]
    Delta { table: String, source: Box<DeltaTableError> },
    #[error("table `{table}`: {message}")]
    Table { table: String, message: String },
    /// A commit's rows can no longer be read (its file was compacted and
    /// vacuumed, or the commit itself removed by log retention).
    #[error("table `{table}`: {message}")]
    CommitGone { table: String, message: String },
    /// A concurrent commit changed what this one read (see `conflict.rs`).
    #[error("table `{table}`: {message}")]
    Conflict { table: String, message: String },
}

impl LakeError {
    /// Whether a commit lost a race with a concurrent one (and can be redone
    /// on the fresh table state).
    pub fn is_conflict(&self) -> bool {
        use deltalake::kernel::transaction::TransactionError;
        match self {
            LakeError::Conflict { .. } => true,
            LakeError::Delta { source, .. } => matches!(
                source.as_ref(),
                DeltaTableError::Transaction {
                    source: TransactionError::CommitConflict(_) | TransactionError::MaxCommitAttempts(_)
                } | DeltaTableError::VersionAlreadyExists(_)
            ),
            _ => false,
        }
    }
}

pub type Result<T> = std::result::Result<T, LakeError>;

/// A lake root.
#[derive(Clone, Debug)]
pub struct Lake {
    root: Url,
    /// Object-store settings (`aws_endpoint`, `aws_region`, …) for every table.
    storage_options: HashMap<String, String>,
}

/// `schema.table`, as the dbt project and the table schemas name it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TableName {
    pub schema: String,
    pub table: String,
}

impl TableName {
    pub fn new(schema: impl Into<String>, table: impl Into<String>) -> Self {
        TableName { schema: schema.into(), table: table.into() }
    }
}

impl std::fmt::Display for TableName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.schema, self.table)
    }
}

impl Lake {
    /// A local directory (created if missing) or a URL such as `file:///…` or
    /// `s3://bucket/prefix`, with object-store settings from the environment
    /// (see [`crate::ingest::offload::storage_options_from_env`]).
    pub fn open(location: &str) -> Result<Lake> {
        Lake::open_with(location, crate::ingest::offload::storage_options_from_env())
    }

    /// [`Lake::open`] for a lake that must exist already: a local directory
    /// that does not is [`LakeError::NoLake`], and nothing is created. (An
    /// object store has no directories to check: its tables are looked up.)
    pub fn open_existing(location: &str) -> Result<Lake> {
        if let Some(path) = local_path(location)
            && !path.exists()
        {
            return Err(LakeError::NoLake { location: location.to_string() });
        }
        Lake::open(location)
    }

    /// [`Lake::open`] for a command that only reads and may come before the
    /// first ingest (`status`): a local directory that does not exist is a
    /// lake without tables, and stays uncreated.
    pub fn open_unmade(location: &str) -> Result<Lake> {
        let absent = local_path(location).filter(|path| !path.exists()).and_then(|p| std::path::absolute(p).ok());
        match absent.and_then(|path| Url::from_directory_path(path).ok()) {
            Some(root) if escape_in_path(location).is_none() => Ok(Lake {
                root: with_trailing_slash(root),
                storage_options: crate::ingest::offload::storage_options_from_env().into_iter().collect(),
            }),
            _ => Lake::open(location),
        }
    }

    /// [`Lake::open`] with explicit object-store settings.
    pub fn open_with(location: &str, storage_options: impl IntoIterator<Item = (String, String)>) -> Result<Lake> {
        stores::register();
        // Before `ensure_table_uri`, which creates a local directory.
        if let Some(escape) = escape_in_path(location) {
            return Err(LakeError::EscapeInPath { location: location.to_string(), escape });
        }
        let root = deltalake::ensure_table_uri(location)
            .map_err(|source| LakeError::Location { location: location.to_string(), source: Box::new(source) })?;
        // Said here rather than as an object-store error on the first table.
        // (Collecting the components drops the URL's trailing slash.)
        if root.to_file_path().is_ok_and(|path| path.components().collect::<std::path::PathBuf>().is_file()) {
            return Err(LakeError::NotADirectory { location: location.to_string() });
        }
        Ok(Lake { root: with_trailing_slash(root), storage_options: storage_options.into_iter().collect() })
    }

    pub fn root(&self) -> &Url {
        &self.root
    }

    /// Where table `name` lives, its local folder made (delta-rs opens only
    /// a local table whose folder exists): for making or writing the table.
    pub fn table_url(&self, name: &TableName) -> Url {
        let url = self.table_location(name);
        if let Ok(path) = url.to_file_path() {
            let _ = std::fs::create_dir_all(path);
        }
        url
    }

    /// Where table `name` lives, nothing made.
    fn table_location(&self, name: &TableName) -> Url {
        // Segments escaped, not joined as text: `tables` lists any folder
        // holding a `_delta_log`, and a `#` or `?` in its name would start a
        // fragment or a query (`Copy#1` read as `Copy`, and that folder made).
        let mut url = self.root.clone();
        url.path_segments_mut().expect("the root is a hierarchical URL").pop_if_empty().extend([
            name.schema.as_str(),
            name.table.as_str(),
            "",
        ]);
        url
    }

    /// The table if it exists. Asking makes nothing: a local table without a
    /// `_delta_log` folder is absent without delta-rs opening it (which needs
    /// the table's folder made first).
    pub async fn existing(&self, name: &TableName) -> Result<Option<Table>> {
        if let Ok(path) = self.table_location(name).to_file_path()
            && !path.join("_delta_log").is_dir()
        {
            return Ok(None);
        }
        let mut inner = DeltaTableBuilder::from_url(self.table_url(name))
            .and_then(|b| b.with_storage_options(self.storage_options.clone()).build())
            .map_err(|e| delta(name, e))?;
        // Ask first, so that a missing table is an answer, not a logged error.
        if !inner.verify_deltatable_existence().await.map_err(|e| delta(name, e))? {
            return Ok(None);
        }
        inner.load().await.map_err(|e| delta(name, e))?;
        Ok(Some(Table {
            name: name.clone(),
            inner,
            writer: Default::default(),
            flushed: Default::default(),
            created: false,
            last_added: Vec::new(),
        }))
    }

    /// The table, created with `schema` and `partition_by` if it does not exist.
    /// An existing table must have that partitioning and a schema `schema`
    /// evolves from: columns it lacks are added (see `evolve.rs`).
    pub async fn table(&self, name: &TableName, schema: &SchemaRef, partition_by: &[&str]) -> Result<Table> {
        self.table_with_properties(name, schema, partition_by, &[]).await
    }

    /// [`Lake::table`], setting Delta table `properties` when it creates the table.
    pub async fn table_with_properties(
        &self,
        name: &TableName,
        schema: &SchemaRef,
        partition_by: &[&str],
        properties: &[(&str, &str)],
    ) -> Result<Table> {
        self.table_of(name, schema, partition_by, properties, Rows::Source).await
    }

    /// [`Lake::table_with_properties`] for a model's table, whose rows the
    /// merge step computes (see [`Rows::Computed`] for how it evolves).
    pub async fn model_table(
        &self,
        name: &TableName,
        schema: &SchemaRef,
        partition_by: &[&str],
        properties: &[(&str, &str)],
    ) -> Result<Table> {
        self.table_of(name, schema, partition_by, properties, Rows::Computed).await
    }

    async fn table_of(
        &self,
        name: &TableName,
        schema: &SchemaRef,
        partition_by: &[&str],
        properties: &[(&str, &str)],
        rows: Rows,
    ) -> Result<Table> {
        // A lost race — another process (an ingest and a merge starting
        // together, or two releases side by side) created or evolved the table
        // first — is followed by a look at what the winner made.
        for _ in 0..RACES {
            if let Some(t) = self.existing(name).await? {
                let added = t.check_layout(schema, partition_by, rows)?;
                if added.is_empty() {
                    return Ok(t);
                }
                match t.add_columns(added).await {
                    Err(e) if e.is_conflict() => continue,
                    evolved => return evolved,
                }
            }
            match self.create(name, schema, partition_by, properties).await {
                Err(e) if e.is_conflict() => continue,
                created => return created,
            }
        }
        Err(LakeError::Table {
            table: name.to_string(),
            message: format!("other processes kept changing it while it was opened ({RACES} attempts)"),
        })
    }

    async fn create(
        &self,
        name: &TableName,
        schema: &SchemaRef,
        partition_by: &[&str],
        properties: &[(&str, &str)],
    ) -> Result<Table> {
        let kernel: StructType = schema.as_ref().try_into_kernel().map_err(|e| LakeError::Table {
            table: name.to_string(),
            message: format!("the schema has no Delta equivalent: {e}"),
        })?;
        if properties.contains(&ENABLE_DELETION_VECTORS) {
            let mut t = create::with_deletion_vectors(self, name, &kernel, partition_by, properties).await?;
            t.check_layout(schema, partition_by, Rows::Source)?;
            t.created = true;
            return Ok(t);
        }
        let inner = CreateBuilder::new()
            .with_location(self.table_url(name).to_string())
            .with_storage_options(self.storage_options.clone())
            .with_table_name(name.table.clone())
            .with_columns(kernel.fields().cloned())
            .with_partition_columns(partition_by.iter().map(|c| c.to_string()))
            .with_configuration(properties.iter().map(|(k, v)| (k.to_string(), Some(v.to_string()))))
            .with_save_mode(SaveMode::Ignore)
            .await
            .map_err(|e| delta(name, e))?;
        Ok(Table {
            name: name.clone(),
            inner,
            writer: Default::default(),
            flushed: Default::default(),
            created: true,
            last_added: Vec::new(),
        })
    }

    /// Every table under the root: directories `<schema>/<table>/` holding a
    /// `_delta_log`. Local lakes only (listing an object store is not needed yet).
    pub fn list(&self) -> Result<Vec<TableName>> {
        let root = self.root.to_file_path().map_err(|()| LakeError::Table {
            table: self.root.to_string(),
            message: "listing tables needs a local lake".into(),
        })?;
        let mut out = Vec::new();
        for schema in dirs(&root) {
            for table in dirs(&root.join(&schema)) {
                if root.join(&schema).join(&table).join("_delta_log").is_dir() {
                    out.push(TableName::new(schema.clone(), table));
                }
            }
        }
        out.sort();
        Ok(out)
    }
}

fn dirs(path: &std::path::Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(path) else { return Vec::new() };
    entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.') && !n.starts_with('_'))
        .collect()
}

/// `location` as a URL, if it is one: a path is not, nor a Windows drive
/// (`C:\lake`, whose one letter would parse as a scheme).
fn as_url(location: &str) -> Option<Url> {
    Url::parse(location).ok().filter(|url| url.scheme().len() > 1)
}

/// The local directory `location` names: a path, or a `file://` URL; `None`
/// for an object store's URL.
fn local_path(location: &str) -> Option<std::path::PathBuf> {
    match as_url(location) {
        Some(url) if url.scheme() == "file" => url.to_file_path().ok(),
        Some(_) => None,
        None => Some(std::path::PathBuf::from(location)),
    }
}

/// The first `%` + two hex digits in the lake's path as the file system or the
/// object store names it (a URL's path decoded; a local path as written).
/// delta-rs decodes the path of a table's files once more than it encodes it,
/// so with such a sequence its commits land beside where it reads them
/// ("File not found" after a half-created table; seen with local and S3 lakes).
fn escape_in_path(location: &str) -> Option<String> {
    let path = match as_url(location) {
        Some(url) => percent_encoding::percent_decode_str(url.path()).decode_utf8_lossy().into_owned(),
        None => location.to_string(),
    };
    let bytes = path.as_bytes();
    (0..bytes.len().saturating_sub(2))
        .find(|&i| bytes[i] == b'%' && bytes[i + 1].is_ascii_hexdigit() && bytes[i + 2].is_ascii_hexdigit())
        .map(|i| path[i..i + 3].to_string())
}

fn with_trailing_slash(mut url: Url) -> Url {
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url
}

fn delta(name: &TableName, source: DeltaTableError) -> LakeError {
    LakeError::Delta { table: name.to_string(), source: Box::new(source) }
}

/// A table's live data files and rows (see [`Table::counts`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub files: u64,
    pub rows: u64,
}

/// A `txn` version naming `bytes` (a table's id, a build's descriptor set):
/// FNV-1a, stable across compilers and releases, made non-negative.
pub fn txn_hash(bytes: &[u8]) -> i64 {
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3));
    (hash & i64::MAX as u64) as i64
}

/// One Delta table.
pub struct Table {
    name: TableName,
    inner: DeltaTable,
    /// Reused across commits (it is reset by every flush) while the table's
    /// schema stays what it was made with; holds the rows
    /// `stage` wrote until the next commit. In a `Mutex` to make `Table` `Sync`
    /// (the writer holds upload futures that are not) and to let `stage` take
    /// `&self`; the lock is never held across an await.
    writer: std::sync::Mutex<Option<RecordBatchWriter>>,
    /// Files the writer flushed before the commit that adds them, and the
    /// partitions written since its last flush (see `stage`).
    flushed: std::sync::Mutex<Flushed>,
    /// Whether the `Lake::table*` call that returned this handle created the table.
    created: bool,
    /// The files (log paths) this handle's last commit added.
    last_added: Vec<String>,
}

impl Table {
    /// Whether the call that returned this handle created the table.
    pub fn was_created(&self) -> bool {
        self.created
    }

    pub fn name(&self) -> &TableName {
        &self.name
    }

    /// The table's latest version.
    pub fn version(&self) -> Option<i64> {
        self.inner.version().map(|v| v as i64)
    }

    pub fn delta(&self) -> &DeltaTable {
        &self.inner
    }

    /// The columns `schema` adds to the table (none: the same schema), or why
    /// the table cannot take its rows.
    fn check_layout(&self, schema: &SchemaRef, partition_by: &[&str], rows: Rows) -> Result<Vec<StructField>> {
        let snapshot = self.inner.snapshot().map_err(|e| delta(&self.name, e))?;
        let metadata = snapshot.metadata();
        let have: Vec<&str> = metadata.partition_columns().iter().map(String::as_str).collect();
        if have != partition_by {
            return Err(LakeError::Table {
                table: self.name.to_string(),
                message: match rows {
                    Rows::Source => format!("is partitioned by {have:?}, expected {partition_by:?}"),
                    Rows::Computed => format!(
                        "is partitioned by {have:?}, expected {partition_by:?}: delete the table, and the next \
                         merge fills it again"
                    ),
                },
            });
        }
        let want: StructType = schema
            .as_ref()
            .try_into_kernel()
            .map_err(|e| LakeError::Table { table: self.name.to_string(), message: e.to_string() })?;
        evolve::added_columns(snapshot.schema().as_ref(), &want, rows)
            .map_err(|message| LakeError::Table { table: self.name.to_string(), message })
    }

    /// The table with `fields` added (nullable, after its columns): one
    /// `ADD COLUMNS` commit.
    async fn add_columns(self, fields: Vec<StructField>) -> Result<Table> {
        let names: Vec<&str> = fields.iter().map(|f| f.name().as_str()).collect();
        tracing::info!(table = %self.name, columns = ?names, "adding the columns this build has to the table");
        let Table { name, inner, writer, flushed, created, last_added } = self;
        let inner = inner.add_columns().with_fields(fields).await.map_err(|e| delta(&name, e))?;
        Ok(Table { name, inner, writer, flushed, created, last_added })
    }

    /// The files (their paths as the log holds them, [`DataFile`]'s
    /// `add.path`) that this handle's last commit added.
    pub fn last_added(&self) -> &[String] {
        &self.last_added
    }

    /// The version last recorded for `app_id`, if any.
    pub async fn txn_version(&self, app_id: &str) -> Result<Option<i64>> {
        let snapshot = self.inner.snapshot().map_err(|e| delta(&self.name, e))?;
        snapshot.transaction_version(self.inner.log_store().as_ref(), app_id).await.map_err(|e| delta(&self.name, e))
    }

    /// Appends `batches` in one commit, with `txns` in the same commit (the
    /// first: the writer's progress, which a concurrent commit must not have
    /// recorded too), marked as a blind append (it read nothing, so it never
    /// conflicts with another append). With no rows, commits `txns` alone.
    /// Returns the new version.
    pub async fn append(
        &mut self,
        batches: &[RecordBatch],
        txns: impl IntoIterator<Item = Transaction>,
    ) -> Result<i64> {
        self.commit(batches, Vec::new(), txns.into_iter().collect(), Change::Append).await
    }

    /// Writes `batches` as new files in one commit with `retired` (removes of
    /// rewritten files, or re-adds with more rows deleted: see [`Table::mark`])
    /// and `txns` (as for [`Table::append`]) — a merge that replaced stored
    /// rows. Returns the new version.
    ///
    /// `scope`: the partitions the merge read and writes. With it, a commit
    /// that lost the race to commits outside those partitions is made on top
    /// of them (see `conflict.rs`); without it, any concurrent data change is
    /// a conflict.
    pub async fn replace(
        &mut self,
        batches: &[RecordBatch],
        retired: Vec<Action>,
        txns: impl IntoIterator<Item = Transaction>,
        scope: Option<&Scope>,
    ) -> Result<i64> {
        self.commit(batches, retired, txns.into_iter().collect(), Change::Merge(scope)).await
    }

    /// Replaces the files `removes` by `batches` (the same rows, rewritten) in
    /// one commit that changes no data (`dataChange: false`): a compaction.
    pub async fn compact(&mut self, batches: &[RecordBatch], removes: Vec<Remove>) -> Result<i64> {
        let removes = removes.into_iter().map(|r| Action::Remove(Remove { data_change: false, ..r })).collect();
        self.commit(batches, removes, Vec::new(), Change::Rearrange).await
    }

    /// The table's identity: Delta's metadata id (a UUID its creation gave
    /// it), hashed to a `txn` version (FNV-1a, non-negative). A table deleted
    /// and created again under its name has another.
    pub fn identity(&self) -> Result<i64> {
        let snapshot = self.inner.snapshot().map_err(|e| delta(&self.name, e))?;
        // The kernel keeps the id to itself; its serialized form has it.
        let metadata = serde_json::to_value(snapshot.metadata()).map_err(|e| self.error(e.to_string()))?;
        let id = metadata["id"].as_str().ok_or_else(|| self.error("its metadata has no id"))?;
        Ok(txn_hash(id.as_bytes()))
    }

    /// Whether writers may add deletion vectors: the table was created with
    /// [`ENABLE_DELETION_VECTORS`] (which also adds the protocol feature).
    pub fn has_deletion_vectors(&self) -> Result<bool> {
        let snapshot = self.inner.snapshot().map_err(|e| delta(&self.name, e))?;
        let (key, on) = ENABLE_DELETION_VECTORS;
        Ok(snapshot.metadata().configuration().get(key).is_some_and(|v| v.eq_ignore_ascii_case(on)))
    }

    /// Marks rows of data files deleted: per file, the positions to delete
    /// (added to those its deletion vector already holds). Writes one
    /// deletion-vector file and returns, per file, the remove of it as it was
    /// and the add of it with its new vector — for the commit that also adds
    /// the replacing rows ([`Table::replace`]). Until then nothing is visible.
    pub async fn mark(&self, marks: Vec<(DataFile, RoaringTreemap)>) -> Result<Vec<Action>> {
        if marks.is_empty() {
            return Ok(Vec::new());
        }
        if !self.has_deletion_vectors()? {
            return Err(self.error("cannot mark deleted rows: the table lacks the `deletionVectors` feature"));
        }
        let vectors: Vec<RoaringTreemap> = marks.iter().map(|(_, v)| v.clone()).collect();
        let descriptors = dv::write(&self.reader()?, &vectors).await?;
        let mut out = Vec::with_capacity(marks.len() * 2);
        for ((file, _), descriptor) in marks.into_iter().zip(descriptors) {
            out.push(Action::Remove(file.remove));
            // The statistics were computed over every row; with rows deleted
            // they are bounds, not exact (the protocol's `tightBounds`).
            let stats = file.add.stats.as_deref().and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok());
            let stats = stats.map(|mut s| {
                if let Some(o) = s.as_object_mut() {
                    o.insert("tightBounds".into(), serde_json::Value::Bool(false));
                }
                s.to_string()
            });
            out.push(Action::Add(Add {
                deletion_vector: Some(descriptor),
                data_change: true,
                stats: stats.or(file.add.stats),
                ..file.add
            }));
        }
        Ok(out)
    }

    /// Deletes files no version younger than `retention` refers to (delta-rs's
    /// vacuum): in `lite` mode the files the log removed; with `orphans`, also
    /// files in the table's directories that no commit ever added (left by a
    /// killed writer) and that are older than `retention` — younger ones may
    /// belong to a commit in flight. Returns how many files it deleted: those
    /// listed before and gone after. (delta-rs's own count names every file
    /// the log removed before the retention, deleted by an earlier vacuum or
    /// not, so a second vacuum reported the first one's files again.)
    pub async fn vacuum(&mut self, retention: std::time::Duration, orphans: bool) -> Result<usize> {
        use deltalake::operations::vacuum::VacuumMode;
        let retention = chrono::Duration::from_std(retention).map_err(|e| LakeError::Table {
            table: self.name.to_string(),
            message: format!("retention out of range: {e}"),
        })?;
        let before = self.stored_files().await?;
        let (table, _) = self
            .inner
            .clone()
            .vacuum()
            .with_retention_period(retention)
            .with_enforce_retention_duration(false)
            .with_mode(if orphans { VacuumMode::Full } else { VacuumMode::Lite })
            .await
            .map_err(|e| delta(&self.name, e))?;
        self.inner = table;
        let after = self.stored_files().await?;
        Ok(before.difference(&after).count())
    }

    /// Every object under the table outside its log: data files, deletion
    /// vectors, leftovers.
    async fn stored_files(&self) -> Result<std::collections::HashSet<object_store::path::Path>> {
        use futures::TryStreamExt as _;
        let log = object_store::path::Path::from("_delta_log");
        self.inner
            .object_store()
            .list(None)
            .try_filter(|meta| std::future::ready(!meta.location.prefix_matches(&log)))
            .map_ok(|meta| meta.location)
            .try_collect()
            .await
            .map_err(|e| LakeError::Table { table: self.name.to_string(), message: format!("listing its files: {e}") })
    }

    /// The table's partition columns, in order.
    pub fn partition_columns(&self) -> Result<Vec<String>> {
        Ok(self.inner.snapshot().map_err(|e| delta(&self.name, e))?.metadata().partition_columns().to_vec())
    }

    /// Rows in the table, from the log's file statistics (no data read).
    pub async fn row_count(&self) -> Result<u64> {
        Ok(self.counts().await?.rows)
    }

    /// Live data files and rows, from the log (no data read).
    pub async fn counts(&self) -> Result<Counts> {
        use futures::TryStreamExt as _;
        let files: Vec<_> = self
            .inner
            .get_active_add_actions_by_partitions(&[])
            .try_collect()
            .await
            .map_err(|e| delta(&self.name, e))?;
        let deleted = |f: &deltalake::kernel::LogicalFileView| {
            f.deletion_vector_descriptor().map_or(0, |dv| dv.cardinality.max(0) as u64)
        };
        let rows = files.iter().map(|f| (f.num_records().unwrap_or(0) as u64).saturating_sub(deleted(f))).sum();
        Ok(Counts { files: files.len() as u64, rows })
    }

    /// When commit `version` was made, in milliseconds since the epoch
    /// (`None` once log retention removed it).
    pub async fn committed_at(&self, version: i64) -> Result<Option<i64>> {
        read::committed_at(self, version).await
    }

    /// Every row, as batches with the table's full schema (partition columns
    /// re-attached: Delta data files do not hold them).
    pub async fn scan(&self) -> Result<Vec<RecordBatch>> {
        read::scan(self).await
    }

    /// The active data files, with partition values and statistics.
    pub async fn files(&self) -> Result<Vec<DataFile>> {
        read::files(self).await
    }

    /// The live rows of one active data file (those its deletion vector, if
    /// any, does not mark).
    pub async fn read_file(&self, file: &DataFile) -> Result<Vec<RecordBatch>> {
        read::read_file(&self.reader()?, file).await
    }

    /// `columns` of the live rows of one data file, each row's position in the
    /// file, and the positions already deleted.
    pub async fn live_keys(
        &self,
        file: &DataFile,
        columns: &[&str],
    ) -> Result<(RecordBatch, Vec<u64>, RoaringTreemap)> {
        read::live_keys(&self.reader()?, file, columns).await
    }

    /// `columns` of the live rows of one data file that may hold one of
    /// `lookup`'s values — exactly those for text values — decoding only the
    /// pages whose bounds may hold one (see [`Lookup`]).
    pub async fn rows_holding(&self, file: &DataFile, columns: &[&str], lookup: &Lookup) -> Result<Matches> {
        read::rows_holding(&self.reader()?, file, columns, lookup).await
    }

    /// The rows at `positions` (ascending) of one data file; only they are decoded.
    pub async fn rows_at(&self, file: &DataFile, positions: &[u64]) -> Result<RecordBatch> {
        read::rows_at(&self.reader()?, file, positions).await
    }

    fn error(&self, message: impl Into<String>) -> LakeError {
        LakeError::Table { table: self.name.to_string(), message: message.into() }
    }

    /// The rows added by the commits after version `after` up to `upto`.
    pub async fn changes(&self, after: i64, upto: i64) -> Result<Vec<RecordBatch>> {
        read::changes(self, after, upto).await
    }

    /// A handle for reading the table's data files from other tasks.
    pub fn reader(&self) -> Result<Reader> {
        Ok(Reader {
            name: self.name.to_string(),
            store: self.inner.object_store(),
            root: self.inner.table_url().clone(),
            schema: arrow_schema_of(self)?,
        })
    }

    /// The table's Arrow schema.
    pub fn schema(&self) -> Result<SchemaRef> {
        arrow_schema_of(self)
    }

    /// `batch`, built to this release's schema, in the table's column order
    /// (by name), with NULL for a column the release no longer has; see `evolve.rs`.
    pub fn conform(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        evolve::conform(batch, &arrow_schema_of(self)?)
            .map_err(|message| LakeError::Table { table: self.name.to_string(), message })
    }
}

/// Shared with `read`.
pub(crate) fn arrow_schema_of(table: &Table) -> Result<SchemaRef> {
    use deltalake::kernel::engine::arrow_conversion::TryIntoArrow as _;
    let snapshot = table.inner.snapshot().map_err(|e| delta(&table.name, e))?;
    let schema: arrow_schema::Schema = snapshot
        .schema()
        .as_ref()
        .try_into_arrow()
        .map_err(|e| LakeError::Table { table: table.name.to_string(), message: e.to_string() })?;
    Ok(Arc::new(schema))
}

/// Shared with `read`.
pub(crate) fn table_error(table: &Table, message: impl Into<String>) -> LakeError {
    LakeError::Table { table: table.name.to_string(), message: message.into() }
}

pub(crate) fn delta_error(table: &Table, source: DeltaTableError) -> LakeError {
    delta(&table.name, source)
}

#[cfg(test)]
mod tests;
