//! The table emitter: the Delta schema of every table, as JSON under `tables/`.
//!
//! - `tables/manifold_entities/<Entity>.json`: the staging (source) table, straight
//!   from the column plan (`columns::source_table`).
//! - `tables/<product>/<model>.json`: every model's table, *derived from its
//!   compiled SQL* (`derive.rs`), so a team's hand-written model gets a checked
//!   schema too: an unknown column, an underivable type, a missing key or
//!   partition column, or a break of the merging writers' rules (`rules.rs`)
//!   is an `E002` at the model's file and line.
//!
//! `schema` is Delta's own schema JSON (the protocol's `schemaString`), so the
//! runtime creates tables with it as is, and `manifold check` diffs it.

pub mod derive;
mod rules;
mod schema_json;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};

use rayon::prelude::*;
use serde::Serialize;

use self::derive::{Catalog, ColType, Column};
use self::rules::{Problem, check, check_lowering};
use self::schema_json::StructJson;
use super::Artifact;
use super::columns::{self, SourceColumn, SourceType};
use super::dbt::{DbtModel, Kind, Origin, TARGET_SCHEMA, Writer, line_span};
use crate::diag::{Diagnostic, Diagnostics, codes};
use crate::lock::Lock;
use crate::lower;
use crate::model::Model;
use crate::source::Span;

/// A table's schema file.
#[derive(Serialize)]
struct TableJson<'c> {
    name: String,
    product: String,
    /// `staging`, `ingestion` or `analytics`.
    kind: &'static str,
    writer: Option<Writer>,
    key: Vec<String>,
    partition_columns: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    entity_type: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    type_url: Option<String>,
    sources: Vec<String>,
    refs: Vec<String>,
    schema: StructJson<'c>,
}

pub struct Tables {
    pub files: Vec<Artifact>,
    pub diagnostics: Diagnostics,
    /// Every model's derived columns, by model name (what `manifold check`
    /// compares across two trees).
    pub models: BTreeMap<String, Vec<Column>>,
}

pub fn emit(model: &Model, lock: &Lock, models: &[DbtModel]) -> Tables {
    let mut files = Vec::new();
    let mut diagnostics = Diagnostics::new();
    let entities: Vec<_> = model.products.iter().flat_map(|p| p.entities.iter().map(move |e| (p, e))).collect();
    let staged: Vec<(Artifact, String, Vec<Column>)> = entities
        .par_iter()
        .map(|(p, e)| {
            let cols: Vec<Column> = columns::source_table(model, e).iter().map(source_column).collect();
            let table = TableJson {
                name: e.name.clone(),
                product: p.name.clone(),
                kind: "staging",
                writer: Some(Writer::Append),
                key: Vec::new(),
                partition_columns: vec![columns::PARTITION_COLUMN.to_string()],
                entity_type: lock.entity(&e.name).map(|l| l.entity_type),
                type_url: Some(super::proto::type_url(&p.name, &e.name)),
                sources: Vec::new(),
                refs: Vec::new(),
                schema: StructJson(&cols),
            };
            let file = json_artifact(format!("tables/manifold_entities/{}.json", e.name), &table);
            (file, format!("manifold_entities.{}", e.name).to_ascii_lowercase(), cols)
        })
        .collect();
    let mut staging: BTreeMap<String, Vec<Column>> = BTreeMap::new();
    for (file, name, cols) in staged {
        files.push(file);
        staging.insert(name, cols);
    }
    let mut catalog = Known { tables: staging };
    let mut derived_models = BTreeMap::new();
    // An entity's staging columns for lowering, found by its exact name (the
    // catalog's names are lowercased for SQL).
    let entity_names: HashSet<&str> = entities.iter().map(|(_, e)| e.name.as_str()).collect();
    // Derive in dependency order: a model after every model it `ref()`s.
    let mut pending: Vec<&DbtModel> = models.iter().collect();
    while !pending.is_empty() {
        let (ready, waiting): (Vec<&DbtModel>, Vec<&DbtModel>) = pending.into_iter().partition(|m| {
            m.compiled.refs.iter().all(|r| {
                catalog.tables.contains_key(&format!("{TARGET_SCHEMA}.{r}")) || !models.iter().any(|x| &x.name == r)
            })
        });
        if ready.is_empty() {
            for m in &waiting {
                diagnostics.push(model_error(model, m, "its `ref()`s form a cycle".into(), None));
            }
            break;
        }
        // Models of one level are independent: parse each once, derive its
        // columns, lower it (an ingestion model) and print its schema, on every core.
        let derived: Vec<_> = ready
            .par_iter()
            .map(|m| {
                let query = derive::parse(&m.compiled.sql).map_err(Problem::from)?;
                let cols = derive::derive_query(&query, &catalog).map_err(Problem::from)?;
                let cols = check(m, cols)?;
                let staging = |entity: &str| {
                    let name = format!("manifold_entities.{entity}").to_ascii_lowercase();
                    let cols = entity_names.contains(entity).then(|| catalog.tables.get(&name)).flatten()?;
                    Some(Cow::Borrowed(cols.as_slice()))
                };
                let lowered = (m.kind != Kind::Analytics).then(|| lower::lower_model_query(m, &query, staging));
                let disagrees = lowered.and_then(|plan| check_lowering(model, m, plan, &cols));
                let file = json_artifact(format!("tables/{}/{}.json", m.product, m.name), &model_table(m, &cols));
                Ok((cols, disagrees, file))
            })
            .collect();
        for (m, result) in ready.into_iter().zip(derived) {
            match result {
                Ok((cols, disagrees, file)) => {
                    if let Some(d) = disagrees {
                        diagnostics.push(d);
                    }
                    files.push(file);
                    derived_models.insert(m.name.clone(), cols.clone());
                    catalog.tables.insert(format!("{TARGET_SCHEMA}.{}", m.name), cols);
                }
                Err(Problem { message, near, help }) => {
                    let d = model_error(model, m, message, near);
                    diagnostics.push(match (help, &m.origin) {
                        (Some(help), Origin::User { .. }) => d.help(help),
                        _ => d,
                    });
                }
            }
        }
        pending = waiting;
    }
    Tables { files, diagnostics, models: derived_models }
}

struct Known {
    /// Lowercased `schema.table` → columns.
    tables: BTreeMap<String, Vec<Column>>,
}

impl Catalog for Known {
    fn table(&self, name: &str) -> Option<Vec<Column>> {
        self.tables.get(&name.to_ascii_lowercase()).cloned()
    }
}

pub(super) fn writer_name(m: &DbtModel) -> &'static str {
    match m.kind {
        Kind::Ingestion(Writer::Append) => "append",
        Kind::Ingestion(Writer::Merge) => "merge",
        Kind::Ingestion(Writer::MergeExploded) => "merge_exploded",
        Kind::Analytics => "analytics",
    }
}

pub(super) fn model_error(model: &Model, m: &DbtModel, message: String, near: Option<String>) -> Diagnostic {
    match &m.origin {
        Origin::User { file } => {
            let um = model.products.iter().flat_map(|p| &p.models).find(|u| u.file == *file).expect("user model");
            let span = near
                .as_deref()
                .and_then(|n| find_word(&um.sql, n).map(|(s, e)| Span::new(*file, s as u32, e as u32)))
                .unwrap_or_else(|| line_span(um, 1));
            Diagnostic::error(codes::E002, format!("model `{}`: {message}", m.name))
                .primary(span, "here")
                .help("check the name against the source table in `generated/tables/manifold_entities/` (or the model it `ref()`s); mark models that join or aggregate `config(analytics=true)`")
        }
        Origin::Generated { entity, .. } => {
            let span =
                model.entity_by_name(entity).map(|e| e.span).unwrap_or(Span::new(crate::source::FileId(0), 0, 0));
            Diagnostic::error(codes::E001, format!("the generated model `{}` does not check: {message}", m.name))
                .primary(span, "for this entity")
                .help("this is a bug in Manifold's emitters; please report it with your schemas")
        }
    }
}

/// The byte range of the first whole-word occurrence of `word` in `text`.
fn find_word(text: &str, word: &str) -> Option<(usize, usize)> {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let lower = text.to_ascii_lowercase();
    let word = word.to_ascii_lowercase();
    lower
        .match_indices(&word)
        .map(|(i, _)| i)
        .find(|&i| {
            let before = lower[..i].chars().next_back();
            let after = lower[i + word.len()..].chars().next();
            !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
        })
        .map(|i| (i, i + word.len()))
}

fn model_table<'c>(m: &DbtModel, cols: &'c [Column]) -> TableJson<'c> {
    let (kind, writer) = match m.kind {
        Kind::Ingestion(w) => ("ingestion", Some(w)),
        Kind::Analytics => ("analytics", None),
    };
    TableJson {
        name: m.name.clone(),
        product: m.product.clone(),
        kind,
        writer,
        key: m.key.clone(),
        partition_columns: m.partition_by.clone(),
        entity_type: None,
        type_url: None,
        sources: m.compiled.sources.iter().cloned().collect(),
        refs: m.compiled.refs.iter().cloned().collect(),
        schema: StructJson(cols),
    }
}

fn json_artifact(path: String, value: &impl Serialize) -> Artifact {
    let mut s = serde_json::to_string_pretty(value).expect("schema serializes");
    s.push('\n');
    Artifact::text(path, s)
}

pub(crate) fn source_column(c: &SourceColumn) -> Column {
    let ty = match &c.ty {
        SourceType::Primitive(t) => ColType::Primitive(*t),
        SourceType::Array(t) => ColType::Array(Box::new(ColType::Primitive(*t))),
        SourceType::ArrayOfStruct(fields) => {
            ColType::Array(Box::new(ColType::Struct(fields.iter().map(source_column).collect())))
        }
    };
    Column { name: c.name.clone(), ty, nullable: c.nullable }
}
