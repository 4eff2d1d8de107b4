//! The models' tables for assertions: every row rendered as text (pipeline
//! columns left out: they say when and from where a row was staged, which
//! differs between two deliveries of one record), and the oracle — what each
//! table must hold, computed in one go from the whole staging table.

use std::collections::BTreeMap;

use deltalake::arrow::util::display::{ArrayFormatter, FormatOptions};
use manifold_runtime::arrow_array::cast::AsArray;
use manifold_runtime::arrow_array::types::Int64Type;
use manifold_runtime::arrow_array::{RecordBatch, UInt32Array};
use manifold_runtime::lake::{Lake, TableName};
use manifold_runtime::{Registry, Writer};

const PIPELINE: [&str; 3] = ["row_refreshed_at", "row_refreshed_at_day", "shard_id"];

/// The rows of `batches` as sorted text, one `name=value` list per row.
pub fn rendered(batches: &[RecordBatch]) -> Vec<String> {
    let options = FormatOptions::default().with_null("NULL");
    let mut out = Vec::new();
    for b in batches {
        let schema = b.schema();
        let columns: Vec<(String, ArrayFormatter<'_>)> = schema
            .fields()
            .iter()
            .zip(b.columns())
            .filter(|(f, _)| !PIPELINE.contains(&f.name().as_str()))
            .map(|(f, c)| (f.name().clone(), ArrayFormatter::try_new(c.as_ref(), &options).unwrap()))
            .collect();
        for r in 0..b.num_rows() {
            out.push(columns.iter().map(|(n, f)| format!("{n}={}", f.value(r))).collect::<Vec<_>>().join(", "));
        }
    }
    out.sort();
    out
}

/// Writes `batches` (one schema) as one parquet file.
pub fn write_parquet(path: &std::path::Path, batches: &[RecordBatch]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let file = std::fs::File::create(path).unwrap();
    let mut writer =
        deltalake::parquet::arrow::ArrowWriter::try_new(file, batches[0].schema(), None).expect("a parquet writer");
    for b in batches {
        writer.write(b).unwrap();
    }
    writer.close().unwrap();
}

/// Every model table of `registry` in the lake, rendered (absent tables left out).
pub fn model_tables(registry: &Registry, lake: &Lake, rt: &tokio::runtime::Runtime) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for e in registry.entities {
        for m in e.models {
            let name = TableName::new(registry.product, m.name);
            if let Some(t) = rt.block_on(lake.existing(&name)).unwrap() {
                out.insert(name.to_string(), rendered(&rt.block_on(t.scan()).unwrap()));
            }
        }
    }
    out
}

/// Files of the model tables of `registry` that carry a deletion vector.
pub fn files_with_deletion_vectors(registry: &Registry, lake: &Lake, rt: &tokio::runtime::Runtime) -> usize {
    let mut n = 0;
    for e in registry.entities {
        for m in e.models {
            if let Some(t) = rt.block_on(lake.existing(&TableName::new(registry.product, m.name))).unwrap() {
                n += rt.block_on(t.files()).unwrap().iter().filter(|f| f.deletion_vector.is_some()).count();
            }
        }
    }
    n
}

/// The oracle: per model table, its rows computed from the whole staging table
/// at once — `append` models over every staging row, `merge` and
/// `merge_exploded` models over each key's last-writer-wins row (greatest
/// (generation, version, tombstone)). The merge step, chunk by chunk and across
/// restarts, must end with exactly these.
pub fn expected_models(
    registry: &Registry,
    lake: &Lake,
    rt: &tokio::runtime::Runtime,
) -> BTreeMap<String, Vec<String>> {
    oracle(registry, lake, rt).into_iter().map(|(name, rows)| (name, rendered(&[rows]))).collect()
}

/// [`expected_models`] as Arrow batches, by table name.
pub fn oracle(registry: &Registry, lake: &Lake, rt: &tokio::runtime::Runtime) -> BTreeMap<String, RecordBatch> {
    let mut out = BTreeMap::new();
    for e in registry.entities {
        let Some(staging) = rt.block_on(lake.existing(&TableName::new("manifold_entities", e.name))).unwrap() else {
            continue;
        };
        let batches = rt.block_on(staging.scan()).unwrap();
        let schema = (e.staging_schema)();
        let all = manifold_runtime::arrow_select::concat::concat_batches(&staging.schema().unwrap(), &batches).unwrap();
        assert_eq!(all.schema().fields().len(), schema.fields().len());
        let key = all.column_by_name("envelope_fields_resource_ari_value").unwrap().as_string::<i32>().clone();
        let int = |n: &str| all.column_by_name(n).unwrap().as_primitive::<Int64Type>().clone();
        let (generation, version) = (int("envelope_fields_generation_counter"), int("envelope_fields_version"));
        let tomb = all.column_by_name("envelope_fields_is_tombstone").unwrap().as_boolean().clone();
        let mut best: BTreeMap<&str, usize> = BTreeMap::new();
        for i in 0..all.num_rows() {
            let stamp = |i: usize| (generation.value(i), version.value(i), tomb.value(i));
            let slot = best.entry(key.value(i)).or_insert(i);
            if stamp(i) > stamp(*slot) {
                *slot = i;
            }
        }
        let winners = UInt32Array::from(best.values().map(|&i| i as u32).collect::<Vec<_>>());
        let winners = manifold_runtime::arrow_select::take::take_record_batch(&all, &winners).unwrap();
        for m in e.models {
            let input = if m.writer == Writer::Append { &all } else { &winners };
            let rows = (m.transform)(input).unwrap();
            out.insert(TableName::new(registry.product, m.name).to_string(), rows);
        }
    }
    out
}
