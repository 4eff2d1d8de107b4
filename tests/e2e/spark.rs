//! Spark is the reference semantics of every model: the same staging rows go
//! through the generated Rust and through a local Spark running the model's
//! compiled SQL (`tests/python/spark_conformance.py`, pyspark from
//! `scripts/setup-python.sh`, non-ANSI mode, UTC), and the rows must be equal.
//!
//! Two parts: the conformance table (`tests/fixtures/conformance/`: one model
//! with every construct that lowers, over edge values), and every ingestion
//! model of the example products over a produced stream.

use std::path::{Path, PathBuf};
use std::process::Command;

use manifold_e2e::conformance::proto::manifold::conformance::v1::{
    ConformanceSample, Option as Choice, Vec as VecMessage,
};
use manifold_e2e::models::write_parquet;
use manifold_e2e::{avocado, confluence, conformance, jira, opsgenie};
use manifold_runtime::arrow_array::RecordBatch;
use manifold_runtime::ingest::{Ingest, Options};
use manifold_runtime::lake::{Lake, TableName};
use manifold_runtime::produce::{self, ProduceOptions};
use manifold_runtime::prost::Message;
use manifold_runtime::{EntityInfo, Explode, Registry, RowMeta};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// One model to compare: its staging rows and our rows, as parquet files.
struct Case {
    model: String,
    source: String,
    staging_dir: PathBuf,
    ours: PathBuf,
    sql: String,
}

/// Writes `entity`'s staging rows and each of its models' rows under `dir`.
fn cases_of(dir: &Path, product: &str, entity: &EntityInfo, staging: &[RecordBatch]) -> Vec<Case> {
    let staging_dir = dir.join(product).join(entity.name);
    write_parquet(&staging_dir.join("part-0.parquet"), staging);
    let mut out = Vec::new();
    for m in entity.models {
        let rows: Vec<RecordBatch> = staging.iter().map(|b| (m.transform)(b).unwrap()).collect();
        let ours = dir.join(product).join(format!("{}.ours.parquet", m.name));
        write_parquet(&ours, &rows);
        out.push(Case {
            model: format!("{product}.{}", m.name),
            source: entity.staging_table.to_string(),
            staging_dir: staging_dir.clone(),
            ours,
            sql: m.compiled_sql.to_string(),
        });
    }
    out
}

/// Edge values of every type (NULLs, overflow, NaN, text that does not convert).
fn samples() -> Vec<ConformanceSample> {
    let ts = |seconds: i64, nanos: i32| Some(manifold_runtime::prost_types::Timestamp { seconds, nanos });
    let texts = [
        Some("42"),
        Some(" 7 "),
        Some("-3.9"),
        Some("abc"),
        Some(""),
        Some("2024-02-29"),
        Some("2024-01-05T07:08:09.5Z"),
        Some("b"),
        Some("true"),
        Some("1e3"),
        Some("  pad me  "),
        Some("\ttab\n "),
        Some("Ünïcödé"),
        None,
    ];
    let smalls = [Some(1), Some(i32::MAX), Some(-5), Some(7), None, Some(0), Some(100_000)];
    let bigs = [Some(4_294_967_297), Some(-2_147_483_649), Some(1_700_000_000), Some(0), None, Some(42)];
    let reals = [
        Some(1.5),
        Some(-2.9),
        Some(f64::NAN),
        Some(1e10),
        Some(0.1),
        Some(123_456.789),
        Some(1.0e7),
        None,
        Some(-0.0),
    ];
    let flags = [Some(true), Some(false), None];
    let ats = [
        ts(1_700_000_000, 123_456_789),
        ts(-1, 500_000_000),
        None,
        ts(0, 0),
        ts(951_782_400, 999_999_999),
        ts(i64::MAX, 999_999_999),
        ts(i64::MIN, 0),
        ts(253_402_300_800, 0),
        ts(-62_135_596_801, 0),
        ts(5, -1),
    ];
    let days = [Some("2024-02-29"), Some("2023-02-29"), Some("1999-12-31"), None, Some("2024-1-5"), Some("garbage")];
    let tags: [&[&str]; 3] = [&["a", "b"], &[], &["x"]];
    (0..texts.len() + 1)
        .map(|i| ConformanceSample {
            sample_id: Some(if i == texts.len() { "skipped".into() } else { format!("s{i:02}") }),
            text: texts[i % texts.len()].map(str::to_string),
            small: smalls[i % smalls.len()],
            big: bigs[i % bigs.len()],
            real: reals[i % reals.len()],
            flag: flags[i % flags.len()],
            at: ats[i % ats.len()],
            day: days[i % days.len()].map(str::to_string),
            tags: tags[i % tags.len()].iter().map(|t| t.to_string()).collect(),
            from: texts[(i + 1) % texts.len()].map(str::to_string),
            all: texts[(i + 2) % texts.len()].map(str::to_string),
            distinct: texts[(i + 3) % texts.len()].map(str::to_string),
            null: texts[(i + 4) % texts.len()].map(str::to_string),
            r#true: flags[(i + 1) % flags.len()],
            not: flags[(i + 2) % flags.len()],
            current_date: days[(i + 1) % days.len()].map(str::to_string),
            current_path: texts[(i + 5) % texts.len()].map(str::to_string),
            interval: bigs[(i + 1) % bigs.len()],
            r#struct: texts[(i + 6) % texts.len()].map(str::to_string),
            trim: texts[(i + 7) % texts.len()].map(str::to_string),
            r#type: texts[(i + 8) % texts.len()].map(str::to_string),
            order: smalls[(i + 1) % smalls.len()],
            vec: (i % 3 != 2).then(|| VecMessage {
                ok: texts[(i + 9) % texts.len()].map(str::to_string),
                some: [Some(Choice::Some as i32), Some(Choice::None as i32), None][i % 3],
            }),
            vecs: (0..i % 3).map(|j| VecMessage { ok: Some(format!("v{j}")), some: Some(j as i32) }).collect(),
        })
        .collect()
}

fn conformance_staging() -> RecordBatch {
    let entity = &conformance::REGISTRY.entities[0];
    let mut staging = (entity.new_staging)(Explode::No);
    for (i, s) in samples().iter().enumerate() {
        let key = format!("ari:cloud:conformance:site:sample/{i}");
        let meta = RowMeta {
            resource_ari: &key,
            version: i as i64,
            is_tombstone: false,
            workspace_id: "ws-1",
            generation: 1,
            row_refreshed_at_micros: 1_764_115_200_000_000,
            shard_id: "segment-0",
        };
        staging.append(&meta, Some(&s.encode_to_vec())).unwrap();
    }
    staging.finish()
}

fn staged_examples(dir: &Path, registry: &'static Registry) -> Vec<(&'static EntityInfo, Vec<RecordBatch>)> {
    let source = dir.join(registry.product).join("stream");
    let options = ProduceOptions { keys_per_entity: 6, bad_records: false, ..ProduceOptions::default() };
    produce::write(&source, &produce::synthesize(registry, &options), 2).unwrap();
    let lake = Lake::open(dir.join(registry.product).join("lake").to_str().unwrap()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        Ingest::open(registry, &lake, Options::new(&source)).await.unwrap().run(|_| {}).await.unwrap();
        let mut out = Vec::new();
        for e in registry.entities {
            let table = lake.existing(&TableName::new("manifold_entities", e.name)).await.unwrap().unwrap();
            out.push((e, table.scan().await.unwrap()));
        }
        out
    })
}

#[test]
fn every_model_means_on_spark_what_it_means_in_the_generated_rust() {
    let py = root().join("tools/venv/bin/python");
    assert!(py.exists(), "tools/venv is not installed: run `scripts/setup-python.sh` (scripts/test.sh does)");
    let dir = tempfile::tempdir().unwrap();
    let mut cases = cases_of(dir.path(), "conformance", &conformance::REGISTRY.entities[0], &[conformance_staging()]);
    for registry in [&avocado::REGISTRY, &confluence::REGISTRY, &jira::REGISTRY, &opsgenie::REGISTRY] {
        for (entity, staging) in staged_examples(dir.path(), registry) {
            cases.extend(cases_of(dir.path(), registry.product, entity, &staging));
        }
    }
    let models: usize =
        [&conformance::REGISTRY, &avocado::REGISTRY, &confluence::REGISTRY, &jira::REGISTRY, &opsgenie::REGISTRY]
            .iter()
            .flat_map(|r| r.entities.iter())
            .map(|e| e.models.len())
            .sum();
    assert_eq!(cases.len(), models, "every ingestion model of the examples and of the conformance product");
    let manifest: Vec<serde_json::Value> = cases
        .iter()
        .map(|c| {
            serde_json::json!({
                "model": c.model, "source": c.source, "staging": c.staging_dir, "ours": c.ours, "sql": c.sql,
            })
        })
        .collect();
    let manifest_path = dir.path().join("cases.json");
    std::fs::write(&manifest_path, serde_json::to_vec(&manifest).unwrap()).unwrap();
    let out = Command::new(py)
        .arg(root().join("tests/python/spark_conformance.py"))
        .arg(&manifest_path)
        .env("SPARK_LOCAL_IP", "127.0.0.1")
        .env("TZ", "UTC")
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "Spark and the generated Rust disagree:\n{stdout}\n{}", tail(&stderr));
    assert!(stdout.contains(&format!("OK: {} models", cases.len())), "{stdout}");
    eprintln!("{}", stdout.trim());
}

fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}
