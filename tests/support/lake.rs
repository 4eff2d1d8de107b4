//! Reading staging tables back for assertions: each row's identity and LWW
//! values, independent of the ingest code path (a plain scan of the Delta table).

use std::collections::BTreeMap;

use manifold_runtime::arrow_array::cast::AsArray;
use manifold_runtime::arrow_array::types::{Int32Type, Int64Type};
use manifold_runtime::arrow_array::{Array, RecordBatch};
use manifold_runtime::lake::{Lake, TableName};
use manifold_runtime::produce::Expected;

/// One staged row's envelope values.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Staged {
    pub key: String,
    pub generation: i64,
    pub version: i64,
    pub is_tombstone: bool,
    pub workspace_id: String,
    /// The segment the record came from (`shard_id`).
    pub shard: String,
}

pub fn staged_rows(batches: &[RecordBatch]) -> Vec<Staged> {
    let mut out = Vec::new();
    for b in batches {
        let s = |n: &str| b.column_by_name(n).unwrap_or_else(|| panic!("no column {n}")).as_string::<i32>().clone();
        let i = |n: &str| b.column_by_name(n).unwrap().as_primitive::<Int64Type>().clone();
        let (key, ws, part) =
            (s("envelope_fields_resource_ari_value"), s("envelope_fields_workspace_id_value"), s("workspace_id"));
        let shard = s("shard_id");
        let (generation, version) = (i("envelope_fields_generation_counter"), i("envelope_fields_version"));
        let tomb = b.column_by_name("envelope_fields_is_tombstone").unwrap().as_boolean().clone();
        for r in 0..b.num_rows() {
            assert_eq!(ws.value(r), part.value(r), "the partition column is the envelope's workspace");
            assert!(!key.is_null(r));
            out.push(Staged {
                key: key.value(r).to_string(),
                generation: generation.value(r),
                version: version.value(r),
                is_tombstone: tomb.value(r),
                workspace_id: ws.value(r).to_string(),
                shard: shard.value(r).to_string(),
            });
        }
    }
    out.sort();
    out
}

/// Every staging table's rows, by staging table name (`manifold_entities.<Entity>`).
pub fn staging(lake: &Lake, rt: &tokio::runtime::Runtime) -> BTreeMap<String, Vec<Staged>> {
    let names = lake.list().unwrap().into_iter().filter(|n| n.schema == "manifold_entities");
    names.filter_map(|name| staged_table(lake, &name, rt)).collect()
}

/// [`staging`] for the tables of `registry` (works on object-store lakes,
/// which `Lake::list` does not).
pub fn staging_of(
    lake: &Lake,
    registry: &manifold_runtime::Registry,
    rt: &tokio::runtime::Runtime,
) -> BTreeMap<String, Vec<Staged>> {
    let names = registry.entities.iter().map(|e| TableName::new("manifold_entities", e.name));
    names.filter_map(|name| staged_table(lake, &name, rt)).collect()
}

/// One staging table's name and rows, if it exists.
fn staged_table(lake: &Lake, name: &TableName, rt: &tokio::runtime::Runtime) -> Option<(String, Vec<Staged>)> {
    let table = rt.block_on(lake.existing(name)).unwrap()?;
    Some((name.to_string(), staged_rows(&rt.block_on(table.scan()).unwrap())))
}

/// The staging tables deduplicated by last-writer-wins: per key the greatest
/// (generation, version, is_tombstone) — the oracle's rule, written again here.
pub fn deduplicated(staging: &BTreeMap<String, Vec<Staged>>) -> BTreeMap<(String, String), Expected> {
    let mut out: BTreeMap<(String, String), Expected> = BTreeMap::new();
    for (table, rows) in staging {
        for r in rows {
            let e = Expected {
                workspace_id: r.workspace_id.clone(),
                generation: r.generation,
                version: r.version,
                is_tombstone: r.is_tombstone,
            };
            let slot = out.entry((table.clone(), r.key.clone())).or_insert_with(|| e.clone());
            if (e.generation, e.version, e.is_tombstone) > (slot.generation, slot.version, slot.is_tombstone) {
                *slot = e;
            }
        }
    }
    out
}

/// One dead-letter row.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Letter {
    pub segment: String,
    pub offset: i64,
    pub reason_code: String,
    pub reason: String,
    pub raw: Vec<u8>,
    /// What the record says about itself, where its envelope reads.
    pub entity_type: Option<i32>,
    pub resource_ari: Option<String>,
}

pub fn letters(lake: &Lake, product: &str, rt: &tokio::runtime::Runtime) -> Vec<Letter> {
    let name = TableName::new("manifold_dead_letters", product);
    let batches = rt.block_on(async { lake.existing(&name).await.unwrap().unwrap().scan().await.unwrap() });
    let mut out = Vec::new();
    for b in &batches {
        let s = |n: &str| b.column_by_name(n).unwrap().as_string::<i32>().clone();
        let (segment, code, reason) = (s("segment"), s("reason_code"), s("reason"));
        let offset = b.column_by_name("offset").unwrap().as_primitive::<Int64Type>().clone();
        let raw = b.column_by_name("raw").unwrap().as_binary::<i32>().clone();
        let entity_type = b.column_by_name("entity_type").unwrap().as_primitive::<Int32Type>().clone();
        let ari = s("resource_ari");
        for r in 0..b.num_rows() {
            out.push(Letter {
                segment: segment.value(r).into(),
                offset: offset.value(r),
                reason_code: code.value(r).into(),
                reason: reason.value(r).into(),
                raw: raw.value(r).to_vec(),
                entity_type: entity_type.is_valid(r).then(|| entity_type.value(r)),
                resource_ari: ari.is_valid(r).then(|| ari.value(r).to_string()),
            });
        }
    }
    out.sort();
    out
}

/// Dead letters by reason code.
pub fn dead_letters(lake: &Lake, product: &str, rt: &tokio::runtime::Runtime) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for letter in letters(lake, product, rt) {
        *out.entry(letter.reason_code).or_default() += 1;
    }
    out
}
