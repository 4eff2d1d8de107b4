//! The table emitter: the Delta schema of every table, as JSON under `tables/`.
//!
//! - `tables/manifold_entities/<Entity>.json`: the staging (source) table, straight
//!   from the column plan (`columns::source_table`).
//! - `tables/<product>/<model>.json`: every model's table, *derived from its
//!   compiled SQL* (`derive.rs`), so a team's hand-written model gets a checked
//!   schema too: an unknown column, an underivable type, a missing key or
//!   partition column is an `E002` at the model's file and line.
//!
//! `schema` is Delta's own schema JSON (the protocol's `schemaString`), so the
//! runtime creates tables with it as is, and `manifold check` diffs it.

pub mod derive;
mod schema_json;

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashSet};

use rayon::prelude::*;
use serde::Serialize;

use self::derive::{Catalog, ColType, Column};
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
    Tables { files, diagnostics }
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

/// Why a model's table does not check: what is wrong, the word of the model to
/// point at, and a hint for this problem (else `model_error`'s general one).
struct Problem {
    message: String,
    near: Option<String>,
    help: Option<&'static str>,
}

impl Problem {
    fn new(message: String, near: Option<String>) -> Problem {
        Problem { message, near, help: None }
    }
}

impl From<derive::DeriveError> for Problem {
    fn from(e: derive::DeriveError) -> Problem {
        Problem::new(e.message, e.near)
    }
}

/// The rules every model's table obeys: primitive columns, unique names, its key
/// and partition columns present; and a merging model's (`merging_rules`).
fn check(m: &DbtModel, cols: Vec<Column>) -> Result<Vec<Column>, Problem> {
    let mut seen = BTreeSet::new();
    for c in &cols {
        let at = Some(c.name.clone());
        if !seen.insert(c.name.clone()) {
            return Err(Problem::new(format!("two output columns are named `{}`", c.name), at));
        }
        match &c.ty {
            ColType::Primitive(_) => {}
            ColType::Null => {
                return Err(Problem::new(format!("the type of `{}` cannot be derived from NULL: CAST it", c.name), at));
            }
            _ => {
                return Err(Problem::new(
                    format!(
                        "`{}` is an array or struct; tables hold primitive columns (explode arrays into child tables)",
                        c.name
                    ),
                    at,
                ));
            }
        }
    }
    for (what, list) in [("key", &m.key), ("partition", &m.partition_by)] {
        for k in list {
            if !seen.contains(k) {
                return Err(Problem::new(
                    format!("the {what} column `{k}` is not among the model's columns"),
                    Some(k.clone()),
                ));
            }
        }
    }
    // The merge writers decide by the envelope's version (last writer wins), and
    // merge_exploded replaces a parent's rows by the parent's row identity.
    let (needs, identity): (&[&str], &[&str]) = match m.kind {
        Kind::Ingestion(Writer::Merge) => {
            (&[columns::GENERATION_COLUMN, columns::VERSION_COLUMN, columns::TOMBSTONE_COLUMN], &[])
        }
        Kind::Ingestion(Writer::MergeExploded) => (
            &[columns::ROW_KEY, columns::GENERATION_COLUMN, columns::VERSION_COLUMN, columns::TOMBSTONE_COLUMN],
            &[columns::ROW_KEY],
        ),
        _ => (&[], &[]),
    };
    if let Some(missing) = needs.iter().find(|c| !seen.contains(**c)) {
        return Err(Problem::new(
            format!(
                "a {} model needs the column `{missing}`: select `{{{{ select_envelope_fields() }}}}`",
                writer_name(m)
            ),
            None,
        ));
    }
    merging_rules(m, &cols, identity)?;
    Ok(cols)
}

/// What makes a merging writer's table equal its SQL over each record's latest
/// version, however the stream is cut into batches and chunks. `identity`: the
/// columns that name a row's parent (merge_exploded).
fn merging_rules(m: &DbtModel, cols: &[Column], identity: &[&str]) -> Result<(), Problem> {
    // Versions order the changes of one record: a merge key of other columns
    // would compare versions of different records, or keep a row per value a
    // record ever had (a key that changes between its versions).
    if m.kind == Kind::Ingestion(Writer::Merge) && m.key != [columns::ROW_KEY] {
        return Err(Problem {
            message: format!(
                "a merge model is keyed by the row's identity, `{}`: versions order one record's changes, so \
                 another key would compare versions of different records or keep a row per value a record had",
                columns::ROW_KEY
            ),
            near: m.key.iter().find(|k| *k != columns::ROW_KEY).cloned(),
            help: Some(
                "set `unique_key='envelope_fields_resource_ari_value'`; for several rows per record, \
                 use a `merge_exploded` model keyed by the row and the element's position",
            ),
        });
    }
    // A merge looks for a record's stored rows in the partitions its new rows
    // name (and merge_exploded in its staging row's): a partition column whose
    // value can change between a record's versions would leave the old row in
    // the old partition. The staging partition column, the record's workspace,
    // is the one that cannot.
    if matches!(m.kind, Kind::Ingestion(Writer::Merge | Writer::MergeExploded))
        && let Some(p) = m.partition_by.iter().find(|p| *p != columns::PARTITION_COLUMN)
    {
        return Err(Problem {
            message: format!(
                "a {} model is partitioned by `{}` or not at all, not by `{p}`: a record's stored rows are \
                     looked for in the partition its new version names, so a row whose `{p}` changed would stay \
                     in the old partition",
                writer_name(m),
                columns::PARTITION_COLUMN
            ),
            near: Some(p.clone()),
            help: Some(
                "set `partition_by=['workspace_id']`; partition by other columns in an `append` model or an \
                     analytics model",
            ),
        });
    }
    // merge_exploded replaces a parent's rows and keeps one row per key among
    // them: a key without the parent's identity would let two parents' rows
    // overwrite each other.
    if m.kind == Kind::Ingestion(Writer::MergeExploded) && !m.key.iter().any(|k| k == columns::ROW_KEY) {
        return Err(Problem {
            message: format!(
                "a merge_exploded model's key must hold `{}`: its rows are replaced per parent, and two \
                 parents' rows with one key would overwrite each other",
                columns::ROW_KEY
            ),
            near: m.key.first().cloned(),
            help: Some(
                "key it by the parent and the element's position: \
                 `unique_key=['envelope_fields_resource_ari_value', 'position']` with \
                 `LATERAL VIEW POSEXPLODE(<array>) t AS position, <element>`",
            ),
        });
    }
    // A merging model holds one row per key. A NULL key would be one row in a
    // batch but never found among the stored rows (NULL equals nothing), so
    // what a table held would depend on how the stream was cut into batches.
    if matches!(m.kind, Kind::Ingestion(Writer::Merge | Writer::MergeExploded)) {
        let keys = m.key.iter().map(String::as_str).chain(identity.iter().copied());
        if let Some(c) = keys.filter_map(|k| cols.iter().find(|c| c.name == k)).find(|c| c.nullable) {
            return Err(Problem {
                message: format!(
                    "the key column `{}` can be NULL, and a {} model's key must be set in every row",
                    c.name,
                    writer_name(m)
                ),
                near: Some(c.name.clone()),
                help: Some(
                    "key by `envelope_fields_resource_ari_value` as `select_envelope_fields()` gives it (and, \
                     exploding, the element's position: `LATERAL VIEW POSEXPLODE(<array>) t AS position, \
                     <element>`); an entity's columns are NULL in a tombstone without payload",
                ),
            });
        }
    }
    Ok(())
}

/// An ingestion model must lower to Rust (`lower`), and its plan must give the
/// columns derived here: the table the runtime writes is the table declared.
fn check_lowering(
    model: &Model,
    m: &DbtModel,
    lowered: Result<lower::Plan, lower::LowerError>,
    cols: &[Column],
) -> Option<Diagnostic> {
    let plan = match lowered {
        Ok(plan) => plan,
        Err(e) => {
            let mut d = model_error(model, m, e.message, e.near);
            return Some(match &m.origin {
                Origin::User { .. } => {
                    d.code = codes::E003;
                    d.help(
                        "ingestion models run in the ingestion binaries without a SQL engine: projections, CAST, \
                     arithmetic, CASE, COALESCE, string and date functions, WHERE and one LATERAL VIEW EXPLODE; \
                     mark the model `config(analytics=true)` to have dbt run it on the warehouse instead",
                    )
                }
                Origin::Generated { .. } => d,
            });
        }
    };
    // A `merge` writer upserts the rows the transform gives: a row whose newer
    // version the model's WHERE drops, or an array element a newer version no
    // longer has, would stay in the table for good. `merge_exploded` replaces a
    // parent's rows as a whole, so only it may drop rows.
    if m.kind == Kind::Ingestion(Writer::Merge) {
        let refused = if !plan.filter.is_empty() {
            Some((
                "WHERE",
                "a merge model cannot filter rows: a row whose newer version the WHERE drops would stay in the table \
                 as it was",
                "make it a `merge_exploded` model keyed by `envelope_fields_resource_ari_value`: that writer \
                 replaces each row as a whole, so a row whose newer version the WHERE drops leaves the table \
                 (`opsgenie_open_alerts` in the examples); or filter where the table is read, or in an `append` \
                 model (every version)",
            ))
        } else if plan.explode.is_some() {
            Some((
                "LATERAL",
                "a merge model cannot explode an array: an element a newer version no longer holds would stay in \
                 the table",
                "explode arrays in a `merge_exploded` model (it replaces a parent's rows as a whole)",
            ))
        } else {
            None
        };
        if let Some((near, message, help)) = refused {
            let d = model_error(model, m, message.into(), Some(near.into()));
            return Some(match &m.origin {
                Origin::User { .. } => d.help(help),
                Origin::Generated { .. } => d,
            });
        }
    }
    let planned: Vec<(&str, ColType, bool)> =
        plan.outputs.iter().map(|o| (o.name.as_str(), ColType::Primitive(o.expr.ty), o.expr.nullable)).collect();
    let derived: Vec<(&str, ColType, bool)> =
        cols.iter().map(|c| (c.name.as_str(), c.ty.clone(), c.nullable)).collect();
    (planned != derived).then(|| {
        Diagnostic::error(
            codes::E001,
            format!("model `{}`: its Rust transform and its table schema disagree: {planned:?} vs {derived:?}", m.name),
        )
        .help("this is a bug in Manifold's compiler; please report it with the model")
    })
}

fn writer_name(m: &DbtModel) -> &'static str {
    match m.kind {
        Kind::Ingestion(Writer::Append) => "append",
        Kind::Ingestion(Writer::Merge) => "merge",
        Kind::Ingestion(Writer::MergeExploded) => "merge_exploded",
        Kind::Analytics => "analytics",
    }
}

fn model_error(model: &Model, m: &DbtModel, message: String, near: Option<String>) -> Diagnostic {
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
