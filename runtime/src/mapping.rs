//! The contract between generated mapping code and the runtime.

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;

/// The envelope and pipeline values of one staged row (the columns every staging
/// table starts and ends with).
#[derive(Clone, Copy, Debug)]
pub struct RowMeta<'a> {
    /// `FacsimileRecord.resource_ari.value`: the row's identity.
    pub resource_ari: &'a str,
    pub version: i64,
    pub is_tombstone: bool,
    /// `FacsimileRecord.workspace_id.value`.
    pub workspace_id: &'a str,
    /// `FacsimileRecord.generation_watermark` (column `envelope_fields_generation_counter`).
    pub generation: i64,
    /// When the row was staged, in microseconds since the epoch (UTC).
    pub row_refreshed_at_micros: i64,
    /// The source partition the record came from.
    pub shard_id: &'a str,
}

/// Accumulates rows of one entity's staging table.
pub trait StagingTable: Send {
    /// Appends one record. `payload` is the encoded entity message; `None` (a
    /// tombstone without payload) leaves the entity's columns null. The
    /// message is read straight from the wire (`crate::wire`); a payload
    /// that does not decode appends nothing.
    fn append(&mut self, meta: &RowMeta<'_>, payload: Option<&[u8]>) -> Result<(), crate::wire::WireError>;
    /// Whether [`Self::append`] would take `payload`, without appending it:
    /// step 1 checks the records that lose to a newer one of their key this
    /// way (a record that does not decode is a dead letter whether or not it
    /// would have won), and appends only the winners.
    fn check(&self, payload: &[u8]) -> Result<(), crate::wire::WireError>;
    /// [`Self::append`] through prost's generated types: the reference the
    /// wire views are tested against (same rows, same payloads rejected).
    fn append_with_prost(&mut self, meta: &RowMeta<'_>, payload: Option<&[u8]>) -> Result<(), prost::DecodeError>;
    /// Rows appended since the last `finish`.
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The rows as one batch with the staging table's schema; the builder is empty afterwards.
    fn finish(&mut self) -> RecordBatch;
    /// The same rows exploded (for a table made with [`Explode::Yes`]; otherwise
    /// every batch is empty), one batch per array field, named after its child
    /// table (`jira_issue__fields`): one row per element with the envelope
    /// columns, the parent key's columns, `position` (0-based), the element's
    /// columns (a struct's flattened, a scalar's as `value`) and the pipeline
    /// columns — the child model's input before its casts. Empties the builders.
    fn finish_exploded(&mut self) -> Vec<(&'static str, RecordBatch)>;
}

/// Whether a staging table also builds the exploded rows of its array fields:
/// one row per element, with the envelope and pipeline columns repeated. Step 1
/// stages messages as they are (the child models explode them in step 2), so
/// ingestion does not pay for them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Explode {
    No,
    Yes,
}

/// How a model's rows reach its table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Writer {
    Append,
    Merge,
    MergeExploded,
}

/// A dbt model of the entity that the ingestion binaries run.
#[derive(Clone, Copy, Debug)]
pub struct ModelInfo {
    pub name: &'static str,
    pub writer: Writer,
    pub key: &'static [&'static str],
    pub partition_by: &'static [&'static str],
    /// The model's compiled SQL (Spark semantics).
    pub compiled_sql: &'static str,
    /// The Arrow schema of the model's table.
    pub schema: fn() -> SchemaRef,
    /// The compiled SQL lowered to Rust: staging rows → the table's rows.
    pub transform: fn(&RecordBatch) -> crate::transform::Result<RecordBatch>,
    /// For `merge_exploded`: the entity's main table, whose rows tell which
    /// (generation, version) of each parent is current.
    pub parent: Option<&'static str>,
    /// For a team's model, a hash of what it computes (its lowered transform,
    /// writer, key and partitioning; 63 bits): each fill of the model's table
    /// records it, and a release whose model has another fingerprint fills the
    /// table again (`merge::model_app_id`). `None` for generated models, whose
    /// SQL changes only as their entity's fields do.
    pub sql_fingerprint: Option<i64>,
}

/// Everything the runtime needs to know about one entity.
#[derive(Clone, Copy, Debug)]
pub struct EntityInfo {
    pub name: &'static str,
    pub product: &'static str,
    /// The entity's number in `schemas/manifold.lock`.
    pub entity_type: i32,
    /// `type.googleapis.com/manifold.<product>.v1.<Entity>`.
    pub type_url: &'static str,
    /// `manifold_entities.<Entity>`.
    pub staging_table: &'static str,
    pub staging_schema: fn() -> SchemaRef,
    /// The staging table's partition columns (`workspace_id`).
    pub staging_partition_by: &'static [&'static str],
    /// An empty staging table of the entity.
    pub new_staging: fn(Explode) -> Box<dyn StagingTable>,
    /// The child tables of the entity's array fields, in field order.
    pub child_tables: &'static [&'static str],
    pub models: &'static [ModelInfo],
}

/// The entities of one product.
#[derive(Clone, Copy, Debug)]
pub struct Registry {
    pub product: &'static str,
    /// The encoded `FileDescriptorSet` of the product's messages and their
    /// imports (for tools such as the synthetic producer; decoding does not use it).
    pub descriptor_set: &'static [u8],
    pub entities: &'static [EntityInfo],
}

impl Registry {
    pub fn by_type_url(&self, url: &str) -> Option<&'static EntityInfo> {
        self.entities.iter().find(|e| e.type_url == url)
    }

    pub fn by_entity_type(&self, entity_type: i32) -> Option<&'static EntityInfo> {
        self.entities.iter().find(|e| e.entity_type == entity_type)
    }
}
