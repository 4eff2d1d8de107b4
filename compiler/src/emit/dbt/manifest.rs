//! `compiled/manifest.json`: every model with its config, dependencies and
//! compiled SQL, in the spirit of dbt's own manifest.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{DbtModel, Kind, Writer};

/// The manifest as `serde_json::to_string_pretty` would print `{metadata, nodes}`
/// (plus a final newline), from the entries of `nodes` already printed by
/// [`node_entry`] (by key): they are the bulk of the file and print
/// independently, on every core.
pub(super) fn render(metadata: &Metadata, entries: &BTreeMap<String, String>) -> String {
    let metadata = serde_json::to_string_pretty(metadata).expect("metadata serializes");
    let mut out = String::with_capacity(entries.values().map(|e| e.len() + 6).sum::<usize>() + metadata.len() + 64);
    out.push_str("{\n  \"metadata\": ");
    out.push_str(&indent(&metadata, "  "));
    out.push_str(",\n  \"nodes\": ");
    if entries.is_empty() {
        out.push_str("{}");
    } else {
        out.push('{');
        for (i, entry) in entries.values().enumerate() {
            out.push_str(if i == 0 { "\n    " } else { ",\n    " });
            out.push_str(entry);
        }
        out.push_str("\n  }");
    }
    out.push_str("\n}\n");
    out
}

/// Pretty JSON nested one level deeper: every line but the first indented. JSON
/// strings escape their newlines, so every `\n` is a line break.
fn indent(json: &str, by: &str) -> String {
    json.replace('\n', &format!("\n{by}"))
}

/// One model's `"<key>": <node>` entry in `nodes`, pretty-printed at its depth.
pub(super) fn node_entry(key: &str, m: &DbtModel, compiled_path: String) -> String {
    let node = serde_json::to_string_pretty(&ManifestNode::new(m, compiled_path)).expect("a manifest node serializes");
    entry(key, &node)
}

fn entry(key: &str, pretty: &str) -> String {
    let mut entry = serde_json::to_string(key).expect("a string serializes");
    entry.push_str(": ");
    entry.push_str(&indent(pretty, "    "));
    entry
}

#[derive(Serialize)]
pub(super) struct Metadata {
    pub(super) generated_by: &'static str,
    pub(super) dbt_project: &'static str,
    pub(super) target_schema: &'static str,
}

#[derive(Serialize)]
struct ManifestNode {
    name: String,
    product: String,
    /// `ingestion` (run by the ingestion binaries) or `analytics` (run by dbt).
    kind: &'static str,
    writer: Option<Writer>,
    unique_key: Vec<String>,
    partition_by: Vec<String>,
    original_file_path: String,
    compiled_path: String,
    config: serde_json::Map<String, serde_json::Value>,
    depends_on: DependsOn,
    compiled_sql: String,
}

#[derive(Serialize)]
struct DependsOn {
    sources: Vec<String>,
    refs: Vec<String>,
}

impl ManifestNode {
    fn new(m: &DbtModel, compiled_path: String) -> Self {
        ManifestNode {
            name: m.name.clone(),
            product: m.product.clone(),
            kind: match m.kind {
                Kind::Ingestion(_) => "ingestion",
                Kind::Analytics => "analytics",
            },
            writer: match m.kind {
                Kind::Ingestion(w) => Some(w),
                Kind::Analytics => None,
            },
            unique_key: m.key.clone(),
            partition_by: m.partition_by.clone(),
            original_file_path: m.path(),
            compiled_path,
            config: m.compiled.config.clone(),
            depends_on: DependsOn {
                sources: m.compiled.sources.iter().cloned().collect(),
                refs: m.compiled.refs.iter().cloned().collect(),
            },
            compiled_sql: m.compiled.sql.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Serialize;

    use super::{Metadata, entry, render};

    /// `render` must print exactly what serde_json's pretty printer prints for the
    /// whole document, with and without nodes.
    #[test]
    fn render_matches_serde_json_pretty() {
        #[derive(Serialize)]
        struct Whole<'a> {
            metadata: &'a Metadata,
            nodes: &'a BTreeMap<String, serde_json::Value>,
        }
        let metadata = Metadata { generated_by: "manifold", dbt_project: "manifold", target_schema: "t" };
        let mut values: BTreeMap<String, serde_json::Value> = BTreeMap::new();
        for n in 0..3 {
            let entries: BTreeMap<String, String> =
                values.iter().map(|(k, v)| (k.clone(), entry(k, &serde_json::to_string_pretty(v).unwrap()))).collect();
            let expected = serde_json::to_string_pretty(&Whole { metadata: &metadata, nodes: &values }).unwrap() + "\n";
            assert_eq!(render(&metadata, &entries), expected, "with {} nodes", values.len());
            values.insert(
                format!("model.manifold.m{n}\"q"),
                serde_json::json!({"sql": "SELECT 1\nFROM t", "list": [1, {"a": []}], "empty": {}}),
            );
        }
    }
}
