//! The dbt emitter: one dbt project for the lake under `dbt/`.
//!
//! - `dbt_project.yml`, `macros/manifold.sql` (`select_envelope_fields()`,
//!   `select_required_fields()`);
//! - per product `models/<product>/`: `sources.yml` (the staging tables with their
//!   flattened columns), one model per target table — the entity's main table
//!   (writer `merge`) and one child table per array field (writer
//!   `merge_exploded`) — in the seed's `WITH cte_0 AS (…) SELECT … FROM cte_0`
//!   shape, the team's own models copied from `schemas/<product>/models/`, and
//!   `schema.yml` with enforced contracts;
//! - `compiled/`: every model compiled (macros expanded, `source()`/`ref()`
//!   resolved, see `compile.rs`) as files and as `manifest.json`.

pub mod compile;
mod manifest;
mod yaml;

use std::collections::{BTreeMap, HashSet};

use self::manifest::Metadata;
use self::yaml::{schema_yml, sources_yml};
use rayon::prelude::*;
use serde::Serialize;

use super::columns::{self, TargetColumn};
use super::{Artifact, templates};
use crate::diag::{Diagnostic, Diagnostics, codes};
use crate::lock::Lock;
use crate::model::{Entity, Field, Model, Product, Type, UserModel, naming};
use crate::source::{FileId, Span};

pub use compile::{CompileError, Compiled, TARGET_SCHEMA};

/// How a model's rows reach its table (DESIGN.md, "Writers").
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Writer {
    /// Rows appended verbatim.
    Append,
    /// Upsert by key; the greatest (generation, version) wins.
    Merge,
    /// All child rows of a parent key replaced when the parent version is newer.
    MergeExploded,
}

impl Writer {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "append" => Some(Writer::Append),
            "merge" => Some(Writer::Merge),
            "merge_exploded" => Some(Writer::MergeExploded),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Writer::Append => "append",
            Writer::Merge => "merge",
            Writer::MergeExploded => "merge_exploded",
        }
    }
}

/// Whether the ingestion binaries run a model, or dbt on the warehouse.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Run by the ingestion binaries with the model's writer.
    Ingestion(Writer),
    /// `config(analytics=true)`: joins, aggregations; run by dbt, skipped by ingestion.
    Analytics,
}

/// Where a model comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Generated for an entity's main table (`field` is `None`) or an array field.
    Generated { entity: String, field: Option<String> },
    /// Written by a team: `schemas/<product>/models/<name>.sql`.
    User { file: FileId },
}

/// One dbt model, compiled.
#[derive(Clone, Debug)]
pub struct DbtModel {
    pub name: String,
    pub product: String,
    /// The model file's text (what dbt reads).
    pub text: String,
    pub origin: Origin,
    pub compiled: Compiled,
    pub kind: Kind,
    /// The key columns (`unique_key`), in order.
    pub key: Vec<String>,
    pub partition_by: Vec<String>,
    /// A team model's `config(deprecation_date='YYYY-MM-DD')`: after that
    /// day it may be deleted (`manifold check`, as dbt allows for a model
    /// with an enforced contract). Generated models follow their entity's
    /// lifecycle instead.
    pub deprecation_date: Option<String>,
}

impl DbtModel {
    /// Path of the model file under `dbt/`.
    pub fn path(&self) -> String {
        format!("models/{}/{}.sql", self.product, self.name)
    }
}

/// The dbt project's files, and every model compiled (for the table emitter).
pub struct Dbt {
    pub files: Vec<Artifact>,
    pub models: Vec<DbtModel>,
    pub diagnostics: Diagnostics,
}

/// The whole dbt project: [`models`] and then [`model_files`].
pub fn emit(model: &Model, lock: &Lock) -> Dbt {
    let mut dbt = models(model, lock);
    dbt.files.extend(model_files(&dbt.models));
    dbt
}

/// Every model rendered and compiled, with the project's own files
/// (`dbt_project.yml`, the macros, each product's `sources.yml` and
/// `schema.yml`). The models' own files come from [`model_files`], which needs
/// only the models: a build runs it beside the table emitter.
pub fn models(model: &Model, lock: &Lock) -> Dbt {
    let macros = templates::raw("dbt/manifold.sql");
    let mut files = vec![
        Artifact::text("dbt/dbt_project.yml", templates::raw("dbt/dbt_project.yml")),
        Artifact::text("dbt/macros/manifold.sql", macros),
    ];
    let mut diagnostics = Diagnostics::new();
    // Render every product's generated models and YAML, then compile the models,
    // all on every core (results keep the Model's order).
    let rendered: Vec<(Artifact, Vec<DbtModel>)> = model
        .products
        .par_iter()
        .map(|p| {
            let sources = Artifact::text(format!("dbt/models/{}/sources.yml", p.name), sources_yml(model, lock, p));
            (sources, generated_models(model, p, &|_| true))
        })
        .collect();
    let mut generated: Vec<DbtModel> = Vec::new();
    for (sources, product_models) in rendered {
        files.push(sources);
        generated.extend(product_models);
    }
    compile_generated(model, macros, &mut generated, &mut diagnostics);
    let mut models = Vec::new();
    let mut generated = generated.into_iter().peekable();
    for p in &model.products {
        while let Some(m) = generated.next_if(|m| m.product == p.name) {
            models.push(m);
        }
        for um in &p.models {
            if let Some(m) = user_model(p, um, macros, &mut diagnostics) {
                models.push(m);
            }
        }
    }
    // Each product's `schema.yml`: the generated models' contracts, and the
    // team models' deprecation dates (known once they are compiled).
    let schemas: Vec<Artifact> = model
        .products
        .par_iter()
        .map(|p| {
            let of_product: Vec<&DbtModel> = models.iter().filter(|m| m.product == p.name).collect();
            Artifact::text(format!("dbt/models/{}/schema.yml", p.name), schema_yml(model, p, &of_product))
        })
        .collect();
    files.extend(schemas);
    Dbt { files, models, diagnostics }
}

/// Each model's file and compiled SQL under `compiled/`, and `manifest.json`.
pub fn model_files(models: &[DbtModel]) -> Vec<Artifact> {
    let nodes: Vec<(Artifact, Artifact, (String, String))> = models
        .par_iter()
        .map(|m| {
            let compiled_path = format!("compiled/{}", m.path());
            let key = format!("model.manifold.{}", m.name);
            let entry = manifest::node_entry(&key, m, compiled_path.clone());
            (
                Artifact::text(format!("dbt/{}", m.path()), m.text.clone()),
                Artifact::text(format!("dbt/{compiled_path}"), m.compiled.sql.clone()),
                (key, entry),
            )
        })
        .collect();
    let mut files = Vec::with_capacity(2 * nodes.len() + 1);
    let mut manifest = BTreeMap::new();
    for (model_file, compiled_file, (key, entry)) in nodes {
        files.push(model_file);
        files.push(compiled_file);
        manifest.insert(key, entry);
    }
    let metadata = Metadata { generated_by: "manifold", dbt_project: "manifold", target_schema: TARGET_SCHEMA };
    files.push(Artifact::text("dbt/compiled/manifest.json", manifest::render(&metadata, &manifest)));
    files
}

// ----- generated models ----------------------------------------------------------

#[derive(Serialize)]
struct ModelTemplate<'a> {
    open: &'static str,
    close: &'static str,
    config: String,
    product: &'a str,
    origin: String,
    entity: &'a str,
    columns: Vec<TemplateColumn>,
    explode: Option<String>,
}

#[derive(Serialize)]
struct TemplateColumn {
    name: String,
    ty: &'static str,
    expr: String,
}

/// The generated models of `p` whose names `keep` takes, rendered.
fn generated_models(model: &Model, p: &Product, keep: &(dyn Fn(&str) -> bool + Sync)) -> Vec<DbtModel> {
    p.entities
        .par_iter()
        .flat_map_iter(|e| {
            let mut out = Vec::new();
            if keep(&naming::main_table(e)) {
                let key = vec![columns::ROW_KEY.to_string()];
                out.push(generated(p, e, None, &columns::main_table(model, e), Writer::Merge, key));
            }
            for f in e.fields.iter().filter(|f| matches!(f.ty, Type::Array(_))) {
                if keep(&naming::child_table(e, f)) {
                    let key = vec![columns::ROW_KEY.to_string(), columns::POSITION.to_string()];
                    out.push(generated(p, e, Some(f), &columns::child_table(model, e, f), Writer::MergeExploded, key));
                }
            }
            out
        })
        .collect()
}

/// Compiles rendered generated models in place; one that does not compile is
/// a Manifold bug (E001 at its entity).
fn compile_generated(model: &Model, macros: &str, generated: &mut [DbtModel], diagnostics: &mut Diagnostics) {
    let compiled: Vec<_> = generated
        .par_iter()
        .map_init(
            || compile::ModelCompiler::new(macros).expect("the Manifold macros compile"),
            |compiler, m| compiler.compile(&m.text),
        )
        .collect();
    for (m, result) in generated.iter_mut().zip(compiled) {
        match result {
            Ok(c) => m.compiled = c,
            Err(err) => {
                let Origin::Generated { entity, .. } = &m.origin else { continue };
                let span = model.entity_by_name(entity).map(|e| e.span).unwrap_or(Span::new(FileId(0), 0, 0));
                diagnostics.push(
                    Diagnostic::error(
                        codes::E001,
                        format!("the generated model `{}` does not compile: {}", m.name, err.message),
                    )
                    .primary(span, "for this entity")
                    .help("this is a bug in Manifold's dbt emitter; please report it with your schemas"),
                );
            }
        }
    }
}

/// The team models, compiled, and the generated models they `ref()`: what
/// `manifold check` needs to build and pair the team models, without
/// rendering every generated model (and without the project's files).
pub fn team_models(model: &Model) -> Dbt {
    let macros = templates::raw("dbt/manifold.sql");
    let mut diagnostics = Diagnostics::new();
    let mut team = Vec::new();
    for p in &model.products {
        for um in &p.models {
            team.extend(user_model(p, um, macros, &mut diagnostics));
        }
    }
    let refs: HashSet<&str> = team.iter().flat_map(|m| m.compiled.refs.iter().map(String::as_str)).collect();
    let keep = |name: &str| refs.contains(name);
    let mut generated: Vec<DbtModel> = model.products.iter().flat_map(|p| generated_models(model, p, &keep)).collect();
    compile_generated(model, macros, &mut generated, &mut diagnostics);
    generated.extend(team);
    Dbt { files: Vec::new(), models: generated, diagnostics }
}

/// A generated model, rendered; `compiled` is filled in by `emit`.
fn generated(
    p: &Product,
    e: &Entity,
    field: Option<&Field>,
    cols: &[TargetColumn],
    writer: Writer,
    key: Vec<String>,
) -> DbtModel {
    let name = match field {
        None => naming::main_table(e),
        Some(f) => naming::child_table(e, f),
    };
    let quote_list = |v: &[String]| format!("[{}]", v.iter().map(|k| format!("'{k}'")).collect::<Vec<_>>().join(", "));
    let mut config = vec![
        "materialized='incremental'".to_string(),
        "incremental_strategy='merge'".into(),
        "file_format='delta'".into(),
        "on_schema_change='fail'".into(),
        format!("writer='{}'", writer.as_str()),
        format!("unique_key={}", if key.len() == 1 { format!("'{}'", key[0]) } else { quote_list(&key) }),
        format!("partition_by={}", quote_list(&[columns::PARTITION_COLUMN.to_string()])),
        format!("entity='{}'", e.name),
    ];
    if let Some(f) = field {
        config.push(format!("parent_key='{}'", columns::ROW_KEY));
        config.push(format!("array_field='{}'", naming::snake_case(&f.name)));
    }
    let origin = match field {
        None => format!("the main table of {}", e.name),
        Some(f) => format!("the array field {}.{}", e.name, f.name),
    };
    let text = templates::render(
        "dbt/model.sql.j2",
        ModelTemplate {
            open: "{{",
            close: "}}",
            config: config.join(", "),
            product: &p.name,
            origin,
            entity: &e.name,
            columns: cols
                .iter()
                .map(|c| TemplateColumn {
                    name: columns::sql_ident(&c.name).into_owned(),
                    ty: c.ty.cast_name(),
                    expr: c.expr.clone(),
                })
                .collect(),
            explode: field.map(|f| columns::sql_ident(&naming::snake_case(&f.name)).into_owned()),
        },
    );
    DbtModel {
        name,
        product: p.name.clone(),
        text,
        origin: Origin::Generated { entity: e.name.clone(), field: field.map(|f| f.name.clone()) },
        compiled: Compiled::default(),
        kind: Kind::Ingestion(writer),
        key,
        partition_by: vec![columns::PARTITION_COLUMN.to_string()],
        deprecation_date: None,
    }
}

// ----- team models -----------------------------------------------------------------

fn user_model(p: &Product, um: &UserModel, macros: &str, diags: &mut Diagnostics) -> Option<DbtModel> {
    let line_span = |line: usize| line_span(um, line);
    let compiled = match compile::compile(&um.sql, macros) {
        Ok(c) => c,
        Err(e) => {
            // Lines count in the trimmed text dbt renders; map back to the file.
            let leading = um.sql.len() - um.sql.trim_start().len();
            let shift = um.sql[..leading].matches('\n').count();
            let line = e.line.map(|l| l + shift).unwrap_or(1);
            diags.push(
                Diagnostic::error(codes::E002, format!("model `{}` does not compile: {}", um.name, e.message))
                    .primary(line_span(line), "here")
                    .help("models may use `config()`, `source()`, `ref()`, `is_incremental()` and the Manifold macros"),
            );
            return None;
        }
    };
    let config_line = um.sql.lines().position(|l| l.contains("config(")).map(|i| i + 1).unwrap_or(1);
    let get = |k: &str| compiled.config.get(k);
    let kind = if get("analytics") == Some(&serde_json::Value::Bool(true)) {
        Kind::Analytics
    } else {
        match get("writer").and_then(|w| w.as_str()) {
            Some(w) => match Writer::parse(w) {
                Some(w) => Kind::Ingestion(w),
                None => {
                    diags.push(
                        Diagnostic::error(codes::E002, format!("model `{}` names the unknown writer `{w}`", um.name))
                            .primary(line_span(config_line), "in this config")
                            .help("writer is one of 'append', 'merge', 'merge_exploded'"),
                    );
                    return None;
                }
            },
            None => {
                diags.push(
                    Diagnostic::error(codes::E002, format!("model `{}` says neither its writer nor that it is an analytics model", um.name))
                        .primary(line_span(config_line), "in this model")
                        .help("add `{{ config(writer='append') }}` (or 'merge', 'merge_exploded' with `unique_key`) for ingestion, or `{{ config(analytics=true) }}` for a model dbt runs on the warehouse"),
                );
                return None;
            }
        }
    };
    let strings = |v: Option<&serde_json::Value>| -> Vec<String> {
        match v {
            Some(serde_json::Value::String(s)) => vec![s.clone()],
            Some(serde_json::Value::Array(a)) => a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect(),
            _ => Vec::new(),
        }
    };
    let key = strings(get("unique_key"));
    if matches!(kind, Kind::Ingestion(Writer::Merge | Writer::MergeExploded)) && key.is_empty() {
        diags.push(
            Diagnostic::error(codes::E002, format!("model `{}` merges but has no `unique_key`", um.name))
                .primary(line_span(config_line), "in this config")
                .help("merge writers upsert by key: add `unique_key='envelope_fields_resource_ari_value'` (a `merge_exploded` model: `unique_key=['envelope_fields_resource_ari_value', 'position']`)"),
        );
        return None;
    }
    let partition_by = strings(get("partition_by"));
    let deprecation_date = match get("deprecation_date") {
        None => None,
        Some(serde_json::Value::String(day)) if crate::model::date::days_from_civil(day).is_some() => Some(day.clone()),
        Some(other) => {
            diags.push(
                Diagnostic::error(
                    codes::E002,
                    format!("model `{}` has the deprecation_date {other}, which is not a day of the calendar", um.name),
                )
                .primary(line_span(config_line), "in this config")
                .help("write it as `deprecation_date='2027-03-31'`: after that day the model may be deleted"),
            );
            return None;
        }
    };
    Some(DbtModel {
        name: um.name.clone(),
        product: p.name.clone(),
        text: um.sql.clone(),
        origin: Origin::User { file: um.file },
        compiled,
        kind,
        key,
        partition_by,
        deprecation_date,
    })
}

/// The span of a 1-based line of a team model file.
pub fn line_span(um: &UserModel, line: usize) -> Span {
    let mut start = 0usize;
    for (i, l) in um.sql.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            let end = start + l.trim_end().len();
            return Span::new(um.file, start as u32, end as u32);
        }
        start += l.len();
    }
    Span::new(um.file, 0, 0)
}
