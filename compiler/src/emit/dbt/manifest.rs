//! `compiled/manifest.json`: every model with its config, dependencies and
//! compiled SQL, in the spirit of dbt's own manifest.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{DbtModel, Kind, Writer};

#[derive(Serialize)]
pub(super) struct ManifestJson {
    pub(super) metadata: Metadata,
    pub(super) nodes: BTreeMap<String, ManifestNode>,
}

#[derive(Serialize)]
pub(super) struct Metadata {
    pub(super) generated_by: &'static str,
    pub(super) dbt_project: &'static str,
    pub(super) target_schema: &'static str,
}

#[derive(Serialize)]
pub(super) struct ManifestNode {
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
    pub(super) fn new(m: &DbtModel, compiled_path: String) -> Self {
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
