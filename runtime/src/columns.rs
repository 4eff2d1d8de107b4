//! Column builders the generated staging tables are made of: the envelope and
//! pipeline columns every table shares, and list columns.

use std::sync::Arc;

use arrow_array::builder::{BooleanBuilder, Date32Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder};
use arrow_array::{ArrayRef, ListArray};
use arrow_buffer::{NullBufferBuilder, OffsetBuffer};
use arrow_schema::{DataType, Field, FieldRef, TimeUnit};

use crate::RowMeta;

/// The Arrow type of Delta's `timestamp`: microseconds, UTC.
pub fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// The item field of a list column (Delta's `element`).
pub fn list_item(data_type: DataType) -> FieldRef {
    Arc::new(Field::new("element", data_type, true))
}

/// The envelope columns every staging table starts with.
pub fn envelope_fields() -> Vec<Field> {
    vec![
        Field::new("envelope_fields_resource_ari_value", DataType::Utf8, false),
        Field::new("envelope_fields_version", DataType::Int64, false),
        Field::new("envelope_fields_is_tombstone", DataType::Boolean, false),
        Field::new("envelope_fields_workspace_id_value", DataType::Utf8, false),
        Field::new("envelope_fields_generation_counter", DataType::Int64, false),
    ]
}

/// The pipeline columns every staging table ends with.
pub fn required_fields() -> Vec<Field> {
    vec![
        Field::new("row_refreshed_at", timestamp_type(), false),
        Field::new("row_refreshed_at_day", DataType::Date32, false),
        Field::new("shard_id", DataType::Utf8, false),
        Field::new("workspace_id", DataType::Utf8, false),
    ]
}

/// Builders of the envelope columns.
#[derive(Default)]
pub struct EnvelopeColumns {
    resource_ari: StringBuilder,
    version: Int64Builder,
    is_tombstone: BooleanBuilder,
    workspace_id: StringBuilder,
    generation: Int64Builder,
}

impl EnvelopeColumns {
    pub fn append(&mut self, meta: &RowMeta<'_>) {
        self.resource_ari.append_value(meta.resource_ari);
        self.version.append_value(meta.version);
        self.is_tombstone.append_value(meta.is_tombstone);
        self.workspace_id.append_value(meta.workspace_id);
        self.generation.append_value(meta.generation);
    }

    pub fn finish(&mut self) -> Vec<ArrayRef> {
        vec![
            Arc::new(self.resource_ari.finish()),
            Arc::new(self.version.finish()),
            Arc::new(self.is_tombstone.finish()),
            Arc::new(self.workspace_id.finish()),
            Arc::new(self.generation.finish()),
        ]
    }
}

/// Builders of the pipeline columns; `workspace_id` is the partition column.
pub struct RequiredColumns {
    refreshed_at: TimestampMicrosecondBuilder,
    refreshed_day: Date32Builder,
    shard_id: StringBuilder,
    workspace_id: StringBuilder,
}

impl Default for RequiredColumns {
    fn default() -> Self {
        RequiredColumns {
            refreshed_at: TimestampMicrosecondBuilder::new().with_timezone("UTC"),
            refreshed_day: Date32Builder::new(),
            shard_id: StringBuilder::new(),
            workspace_id: StringBuilder::new(),
        }
    }
}

const MICROS_PER_DAY: i64 = 86_400_000_000;

impl RequiredColumns {
    pub fn append(&mut self, meta: &RowMeta<'_>) {
        self.refreshed_at.append_value(meta.row_refreshed_at_micros);
        self.refreshed_day.append_value(meta.row_refreshed_at_micros.div_euclid(MICROS_PER_DAY) as i32);
        self.shard_id.append_value(meta.shard_id);
        self.workspace_id.append_value(meta.workspace_id);
    }

    pub fn finish(&mut self) -> Vec<ArrayRef> {
        vec![
            Arc::new(self.refreshed_at.finish()),
            Arc::new(self.refreshed_day.finish()),
            Arc::new(self.shard_id.finish()),
            Arc::new(self.workspace_id.finish()),
        ]
    }
}

/// Offsets and validity of a list column whose items are built separately.
pub struct ListOffsets {
    offsets: Vec<i32>,
    validity: NullBufferBuilder,
}

impl Default for ListOffsets {
    fn default() -> Self {
        ListOffsets { offsets: vec![0], validity: NullBufferBuilder::new(0) }
    }
}

impl ListOffsets {
    /// Ends a list of `len` items (appended to the item builders already).
    pub fn push_list(&mut self, len: usize) {
        let last = *self.offsets.last().expect("offsets start with 0");
        self.offsets.push(last + len as i32);
        self.validity.append_non_null();
    }

    /// A null list (no message, e.g. a tombstone).
    pub fn push_null(&mut self) {
        let last = *self.offsets.last().expect("offsets start with 0");
        self.offsets.push(last);
        self.validity.append_null();
    }

    /// The list column over `values` (the finished items).
    pub fn finish(&mut self, item: FieldRef, values: ArrayRef) -> ArrayRef {
        let offsets = std::mem::replace(&mut self.offsets, vec![0]);
        let nulls = self.validity.finish();
        Arc::new(ListArray::new(item, OffsetBuffer::new(offsets.into()), values, nulls))
    }
}
