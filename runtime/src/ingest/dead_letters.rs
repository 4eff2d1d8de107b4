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
pub const PROPERTIES: &[(&str, &str)] =
    &[(crate::lake::STATS_COLUMNS, "segment,offset,reason_code,reason,entity_type,resource_ari,dead_lettered_at")];

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

/// Raw bytes per batch of rows. Arrow's `Binary` counts a column's bytes with
/// 32-bit offsets: a batch holding 2 GiB of dead letters (a burst of records
/// just under the size limit, each kept whole) could not be built at all, and
/// the ingest would fail on that batch on every run.
const RAW_BYTES_PER_BATCH: usize = 256 * 1024 * 1024;

/// The rows of `letters`, in batches of at most `RAW_BYTES_PER_BATCH` raw
/// bytes (a letter's raw bytes are at most a frame, 256 MiB).
pub fn batches(letters: &[Letter], now_micros: i64) -> Vec<RecordBatch> {
    batches_of(letters, now_micros, RAW_BYTES_PER_BATCH)
}

fn batches_of(letters: &[Letter], now_micros: i64, budget: usize) -> Vec<RecordBatch> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, l) in letters.iter().enumerate() {
        if i > start && bytes + l.raw.len() > budget {
            out.push(batch(&letters[start..i], now_micros));
            (start, bytes) = (i, 0);
        }
        bytes += l.raw.len();
    }
    if start < letters.len() || out.is_empty() {
        out.push(batch(&letters[start..], now_micros));
    }
    out
}

fn batch(letters: &[Letter], now_micros: i64) -> RecordBatch {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::DeadLetter;

    #[test]
    fn rows_go_out_in_batches_of_bounded_raw_bytes() {
        let letter = |n: usize| Letter {
            segment: "s".into(),
            offset: n as u64,
            reason: DeadLetter::Corrupt("x".into()),
            entity_type: None,
            resource_ari: None,
            raw: vec![7; n],
        };
        let letters: Vec<Letter> = [40, 50, 20, 100, 1, 0].into_iter().map(letter).collect();
        let out = batches_of(&letters, 0, 100);
        let rows: Vec<usize> = out.iter().map(RecordBatch::num_rows).collect();
        assert_eq!(rows, [2, 1, 1, 2], "40+50 | 20 | 100 | 1+0");
        assert_eq!(batches_of(&[], 0, 100).len(), 1, "an empty batch still carries the txn");
        assert_eq!(batches_of(&letters[3..4], 0, 10)[0].num_rows(), 1, "a letter over the budget goes alone");
    }
}
