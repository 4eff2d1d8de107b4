//! `manifold check` against the runtime: random edits of the example
//! schemas and team models (fields removed, retyped, renamed, reordered,
//! added, deprecated; keys; entity states; enum values; team models' columns,
//! writers and partitioning). Whatever the check lets through, the runtime's
//! lake must take: every table of the baseline, created with its baseline
//! schema, opens with the new build's schema (evolving as `lake/evolve.rs`
//! does), and keeps its writer and key: the seam between the two halves. A
//! first version of this (run longer, by hand) found two defects there:
//! struct fields inside arrays (the lake refused what the check let through)
//! and analytics models' columns (not compared). Edits land on random files,
//! so a regression confined to one file (the structs of `opsgenie/common.ts`)
//! needs many cases to show here; `lake/tests.rs` pins that one down.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use deltalake::kernel::StructType;
use deltalake::kernel::engine::arrow_conversion::TryIntoArrow as _;
use manifold_compiler::evolve;
use manifold_runtime::lake::{Lake, TableName};
use proptest::prelude::*;

/// One edit: which file, what to do, where and with what (indices wrap).
type Edit = (usize, u8, usize, usize);

const FIELD_TYPES: &[&str] = &["String", "Int", "Long", "Double", "Boolean", "Timestamp", "ARI", "String[]", "Date"];
const SQL_TYPES: &[&str] = &["STRING", "BIGINT", "INTEGER", "DOUBLE", "BOOLEAN", "TIMESTAMP", "DATE"];

/// A schema file with one edit applied to an interface field or enum value.
fn edit_schema(text: &str, (_, op, at, pick): Edit) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let is_field = |l: &str| {
        let t = l.trim();
        l.starts_with("  ") && !l.starts_with("   ") && t.ends_with(';') && t.contains(": ")
    };
    let manifest = ["owner", "status", "deprecated", "replacement", "sunset"];
    let fields: Vec<usize> = (0..lines.len())
        .filter(|&i| is_field(&lines[i]) && !manifest.iter().any(|m| lines[i].trim().starts_with(m)))
        .collect();
    let values: Vec<usize> = (0..lines.len()).filter(|&i| lines[i].trim().ends_with("\",")).collect();
    let Some(&i) = fields.get(at % fields.len().max(1)) else { return text.to_string() };
    let line = lines[i].clone();
    let (name, ty) = line.trim().trim_end_matches(';').split_once(": ").expect("a field line");
    let (bare, optional) = (name.trim_end_matches('?'), name.ends_with('?'));
    let q = if optional { "?" } else { "" };
    let keys: Vec<usize> = (0..lines.len()).filter(|&i| lines[i].contains("@key")).collect();
    match op % 12 {
        0 => drop(lines.remove(i)),
        9 if !keys.is_empty() => drop(lines.remove(keys[pick % keys.len()])),
        10 => lines.insert(i, "  /** @key */".into()),
        11 => {
            let state = ["EntityState.DEPRECATED", "EntityState.RETIRED"][pick % 2];
            lines.iter_mut().for_each(|l| *l = l.replace("EntityState.ACTIVE", state));
        }
        1 => lines[i] = format!("  {name}: {};", FIELD_TYPES[pick % FIELD_TYPES.len()]),
        2 => lines[i] = format!("  {bare}{}: {ty};", if optional { "" } else { "?" }),
        3 => lines[i] = format!("  {bare}Renamed{q}: {ty};"),
        4 => {
            // Mostly optional: a required one is always EC011.
            let optional = ["?", "?", "?", ""][pick % 4];
            lines.insert(i, format!("  added{pick}{optional}: {};", FIELD_TYPES[pick % FIELD_TYPES.len()]))
        }
        5 => lines.insert(i, "  /** @deprecated gone */".into()),
        6 if !values.is_empty() => drop(lines.remove(values[pick % values.len()])),
        7 if !values.is_empty() => lines.insert(values[pick % values.len()], "  ADDED_VALUE = \"ADDED_VALUE\",".into()),
        // Two neighbouring fields, mostly of one interface.
        _ => lines.swap(i, fields[(fields.iter().position(|&f| f == i).unwrap_or(0) + 1) % fields.len()]),
    }
    lines.join("\n") + "\n"
}

/// A team model with one edit applied to a column line or its config.
fn edit_model(text: &str, (_, op, at, pick): Edit) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let columns: Vec<usize> =
        (0..lines.len()).filter(|&i| lines[i].contains(" AS ") && lines[i].ends_with(',')).collect();
    let Some(&i) = columns.get(at % columns.len().max(1)) else { return text.to_string() };
    match op % 6 {
        0 => drop(lines.remove(i)),
        1 => {
            let to = SQL_TYPES[pick % SQL_TYPES.len()];
            if let Some(from) = SQL_TYPES.iter().find(|t| lines[i].contains(&format!("AS {t})"))) {
                lines[i] = lines[i].replacen(&format!("AS {from})"), &format!("AS {to})"), 1);
            }
        }
        2 => lines[i] = lines[i].replacen(" AS ", " AS renamed_", 1),
        3 => lines.insert(i, format!("  CAST({pick} AS BIGINT) AS added_{pick},")),
        4 => {
            lines[0] = lines[0]
                .replace("writer='append'", "writer='merge', unique_key='envelope_fields_resource_ari_value'")
                .replace("writer='merge_exploded'", "writer='append'")
        }
        _ => lines[0] = lines[0].replace(", partition_by=['workspace_id']", ""),
    }
    lines.join("\n") + "\n"
}

fn repo_schemas() -> Vec<(String, String)> {
    fn walk(root: &Path, rel: &str, out: &mut Vec<(String, String)>) {
        for e in std::fs::read_dir(root.join(rel)).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            let path = if rel.is_empty() { name.clone() } else { format!("{rel}/{name}") };
            if e.file_type().unwrap().is_dir() {
                walk(root, &path, out);
            } else if name.ends_with(".ts") || name.ends_with(".sql") {
                out.push((path, std::fs::read_to_string(e.path()).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas"), "", &mut out);
    out.sort();
    out
}

/// A table's schema file → its Arrow schema and partition columns.
fn layout(table: &serde_json::Value) -> (manifold_runtime::arrow_schema::SchemaRef, Vec<String>) {
    let schema: StructType = serde_json::from_value(table["schema"].clone()).expect("Delta's schema JSON");
    let arrow: manifold_runtime::arrow_schema::Schema = (&schema).try_into_arrow().expect("an Arrow schema");
    let partitions = serde_json::from_value(table["partition_columns"].clone()).expect("partition columns");
    (Arc::new(arrow), partitions)
}

/// Whether the lake takes `new` (a table's schema file) for a table created
/// as `old`: what keeps it from doing so, if anything.
async fn lake_takes(lake: &Lake, index: usize, old: &serde_json::Value, new: &serde_json::Value) -> Option<String> {
    for k in ["writer", "key"] {
        if old[k] != new[k] {
            return Some(format!("{k} {} -> {}", old[k], new[k]));
        }
    }
    let name = TableName::new("s", format!("t{index}"));
    if let Some(e) = open(lake, &name, old).await {
        panic!("the baseline's table does not create: {e}");
    }
    open(lake, &name, new).await
}

/// Opens (creating it the first time) table `name` with the layout of a
/// table's schema file, as the runtime opens a staging or a model's table.
async fn open(lake: &Lake, name: &TableName, table: &serde_json::Value) -> Option<String> {
    let (schema, partitions) = layout(table);
    let partitions: Vec<&str> = partitions.iter().map(String::as_str).collect();
    let opened = match table["kind"] == "staging" {
        true => lake.table(name, &schema, &partitions).await,
        false => lake.model_table(name, &schema, &partitions, &[]).await,
    };
    opened.err().map(|e| e.to_string())
}

fn tables(c: &manifold_compiler::Compilation) -> Option<BTreeMap<String, serde_json::Value>> {
    let out = manifold_compiler::emit(c);
    (!out.diagnostics.has_errors()).then(|| {
        out.artifacts
            .iter()
            .filter(|a| a.path.starts_with("tables/"))
            .map(|a| (a.path.clone(), serde_json::from_slice(&a.bytes).unwrap()))
            .collect()
    })
}

fn cases() -> u32 {
    std::env::var("MANIFOLD_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).map_or(64, |n: u32| n / 10)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn whatever_check_lets_through_the_lake_takes(
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<usize>(), 0usize..1000), 1..3),
    ) {
        let files = repo_schemas();
        let lock = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/manifold.lock")).unwrap();
        let compile = |files: &[(String, String)]| {
            let loaded = manifold_compiler::load::from_memory(files, Some(&lock));
            manifold_compiler::compile_loaded(loaded, "manifold.lock".into())
        };
        // Half the edits on team models (a few files), half on schemas (many).
        let (models, schemas): (Vec<usize>, Vec<usize>) =
            (0..files.len()).filter(|&i| files[i].0 != "manifold.ts").partition(|&i| files[i].0.ends_with(".sql"));
        let mut after = files.clone();
        for edit in &edits {
            let pool = if edit.0 % 2 == 0 { &models } else { &schemas };
            let f = pool[edit.0 / 2 % pool.len()];
            after[f].1 = if after[f].0.ends_with(".sql") { edit_model(&after[f].1, *edit) } else { edit_schema(&after[f].1, *edit) };
        }
        let before = compile(&files);
        let was = tables(&before).expect("the example schemas build");
        let now = compile(&after);
        // Only a change that builds is checked.
        let Some(is) = (!now.diagnostics.has_errors()).then(|| tables(&now)).flatten() else { return Ok(()) };
        let baseline = evolve::Baseline {
            name: "baseline.lock".into(),
            lock_text: before.lock_text.clone(),
            compiled: Some(before),
            released_columns: Default::default(),
        };
        let report = evolve::check(now, baseline, &evolve::Config::default(), "2026-11-26");
        if report.diagnostics.has_errors() || report.is_breaking() {
            return Ok(());
        }
        // Every table the change touched, created as the baseline's build
        // made it and opened by the new build.
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let mut problems = Vec::new();
        for (index, (path, old)) in was.iter().enumerate() {
            match is.get(path) {
                Some(new) if new == old => {}
                Some(new) => problems.extend(rt.block_on(lake_takes(&lake, index, old, new)).map(|e| format!("{path}: {e}"))),
                None => problems.push(format!("{path} is gone")),
            }
        }
        let changed: Vec<&String> = after.iter().zip(&files).filter(|(a, b)| a != b).map(|(a, _)| &a.0).collect();
        prop_assert!(problems.is_empty(), "check passed edits of {changed:?}:\n{}", problems.join("\n"));
    }
}
