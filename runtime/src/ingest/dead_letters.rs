//! The dead-letter table `manifold_dead_letters.<product>`: every record that
//! cannot be staged, with the reason, its raw bytes and its source position.
//!
//! Its commits are also the ingest's progress marker: each micro-batch ends
//! with one commit here (rows or not) carrying the batch's `txn`, so the last
//! `txn` of this table is the position up to which everything is committed.

use std::sync::Arc;

use arrow_array::builder::{BinaryBuilder, Int32Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};

use crate::columns::timestamp_type;
use crate::envelope::DeadLetter;
use crate::lake::TableName;

pub const SCHEMA_NAME: &str = "manifold_dead_letters";

pub fn table_name(product: &str) -> TableName {
    TableName::new(SCHEMA_NAME, product)
}

pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("segment", DataType::Utf8, false),
        Field::new("offset", DataType::Int64, false),
        Field::new("reason_code", DataType::Utf8, false),
        Field::new("reason", DataType::Utf8, false),
        Field::new("entity_type", DataType::Int32, true),
        Field::new("resource_ari", DataType::Utf8, true),
        Field::new("raw", DataType::Binary, false),
        Field::new("dead_lettered_at", timestamp_type(), false),
    ]))
}

/// Statistics for every column but `raw` (min/max of raw bytes help nobody).
pub const PROPERTIES: &[(&str, &str)] = &[(
    "delta.dataSkippingStatsColumns",
    "segment,offset,reason_code,reason,entity_type,resource_ari,dead_lettered_at",
)];

/// One dead letter, before it becomes a row.
#[derive(Clone, Debug)]
pub struct Letter {
    pub segment: String,
    pub offset: u64,
    pub reason: DeadLetter,
    pub entity_type: Option<i32>,
    pub resource_ari: Option<String>,
    pub raw: Vec<u8>,
}

pub fn batch(letters: &[Letter], now_micros: i64) -> RecordBatch {
    let mut segment = StringBuilder::new();
    let mut offset = Int64Builder::new();
    let mut code = StringBuilder::new();
    let mut reason = StringBuilder::new();
    let mut entity_type = Int32Builder::new();
    let mut ari = StringBuilder::new();
    let mut raw = BinaryBuilder::new();
    let mut at = TimestampMicrosecondBuilder::new().with_timezone("UTC");
    for l in letters {
        segment.append_value(&l.segment);
        offset.append_value(l.offset as i64);
        code.append_value(l.reason.code());
        reason.append_value(l.reason.to_string());
        entity_type.append_option(l.entity_type);
        ari.append_option(l.resource_ari.as_deref());
        raw.append_value(&l.raw);
        at.append_value(now_micros);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(segment.finish()),
        Arc::new(offset.finish()),
        Arc::new(code.finish()),
        Arc::new(reason.finish()),
        Arc::new(entity_type.finish()),
        Arc::new(ari.finish()),
        Arc::new(raw.finish()),
        Arc::new(at.finish()),
    ];
    RecordBatch::try_new(schema(), columns).expect("the columns match the schema")
}
