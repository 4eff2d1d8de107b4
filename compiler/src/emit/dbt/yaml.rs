//! `sources.yml` (the staging tables) and `schema.yml` (the enforced contracts)
//! of a product.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{DbtModel, Origin};
use crate::emit::columns::{self, SqlType};
use crate::emit::templates;
use crate::lock::Lock;
use crate::model::{Entity, EntityState, Model, Product, naming};

#[derive(Serialize)]
struct SourcesYml {
    product: String,
    tables: Vec<SourceTable>,
}

#[derive(Serialize)]
struct SourceTable {
    name: String,
    description: String,
    entity_type: u32,
    message: String,
    columns: Vec<YamlColumn>,
}

#[derive(Serialize)]
struct YamlColumn {
    name: String,
    data_type: String,
    description: String,
    not_null: bool,
    /// dbt quotes the name in the DDL it builds for the contract (`quote:
    /// true`): for the names the models' SQL quotes too.
    quote: bool,
}

pub(super) fn sources_yml(model: &Model, lock: &Lock, p: &Product) -> String {
    let tables = p
        .entities
        .iter()
        .map(|e| SourceTable {
            name: e.name.clone(),
            description: first_line(&e.doc),
            entity_type: lock.entity(&e.name).map(|l| l.entity_type).unwrap_or(0),
            message: format!("{}.{}", crate::emit::proto::package(&p.name), e.name),
            columns: columns::source_table(model, e)
                .into_iter()
                .map(|c| YamlColumn {
                    data_type: source_type_name(&c.ty),
                    quote: columns::sql_ident(&c.name) != c.name,
                    name: c.name,
                    description: String::new(),
                    not_null: !c.nullable,
                })
                .collect(),
        })
        .collect();
    templates::render("dbt/sources.yml.j2", SourcesYml { product: p.name.clone(), tables })
}

/// Spark's spelling of a source column type: `string`, `array<struct<a:string>>`.
pub fn source_type_name(ty: &columns::SourceType) -> String {
    match ty {
        columns::SourceType::Primitive(t) => t.dbt_name().to_string(),
        columns::SourceType::Array(t) => format!("array<{}>", t.dbt_name()),
        columns::SourceType::ArrayOfStruct(cols) => format!(
            "array<struct<{}>>",
            cols.iter().map(|c| format!("{}:{}", c.name, source_type_name(&c.ty))).collect::<Vec<_>>().join(",")
        ),
    }
}

#[derive(Serialize)]
struct SchemaYml {
    product: String,
    models: Vec<YamlModel>,
    /// Team models with a deprecation date: dbt warns of references to them.
    deprecated_team_models: Vec<DeprecatedModel>,
}

#[derive(Serialize)]
struct DeprecatedModel {
    name: String,
    deprecation_date: String,
}

#[derive(Serialize)]
struct YamlModel {
    name: String,
    description: String,
    deprecation_date: Option<String>,
    columns: Vec<YamlColumn>,
}

pub(super) fn schema_yml(model: &Model, p: &Product, models: &[&DbtModel]) -> String {
    let deprecated_team_models = models
        .iter()
        .filter(|m| matches!(m.origin, Origin::User { .. }))
        .filter_map(|m| Some(DeprecatedModel { name: m.name.clone(), deprecation_date: m.deprecation_date.clone()? }))
        .collect();
    let models = models
        .iter()
        .filter_map(|m| {
            let Origin::Generated { entity, field } = &m.origin else { return None };
            let e = p.entities.iter().find(|e| &e.name == entity)?;
            let field = field.as_ref().and_then(|n| e.fields.iter().find(|f| &f.name == n));
            let own = match field {
                None => columns::main_table(model, e),
                Some(f) => columns::child_table(model, e, f),
            };
            let descriptions = column_descriptions(model, e);
            let mut cols: Vec<YamlColumn> = Vec::new();
            let mut push = |name: &str, ty: SqlType, not_null: bool, description: String| {
                cols.push(YamlColumn {
                    quote: columns::sql_ident(name) != name,
                    name: name.to_string(),
                    data_type: ty.dbt_name().to_string(),
                    description,
                    not_null,
                })
            };
            for (n, t) in columns::ENVELOPE_COLUMNS {
                push(n, t, true, String::new());
            }
            for c in &own {
                let key = m.key.contains(&c.name);
                push(&c.name, c.ty, key, descriptions.get(&c.name).cloned().unwrap_or_default());
            }
            for (n, t) in columns::REQUIRED_COLUMNS {
                push(n, t, true, String::new());
            }
            let description = match field {
                None => first_line(&e.doc),
                Some(f) => format!("The `{}` of {}, one row per element.", f.name, e.name),
            };
            Some(YamlModel {
                name: m.name.clone(),
                description,
                deprecation_date: (e.manifest.state != EntityState::Active)
                    .then(|| e.manifest.sunset.clone())
                    .flatten(),
                columns: cols,
            })
        })
        .collect();
    templates::render("dbt/schema.yml.j2", SchemaYml { product: p.name.clone(), models, deprecated_team_models })
}

/// Column descriptions of an entity's main table: the field's doc, with PII and
/// deprecation marked.
fn column_descriptions(model: &Model, e: &Entity) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for f in &e.fields {
        let mut d = first_line(&f.doc);
        if f.pii {
            d = format!("[PII] {d}");
        }
        if let Some(reason) = &f.deprecated {
            d = format!("DEPRECATED{}. {d}", if reason.is_empty() { String::new() } else { format!(": {reason}") });
        }
        for c in naming::table_columns(model, f) {
            out.insert(c, d.trim().to_string());
        }
    }
    out
}

fn first_line(doc: &str) -> String {
    doc.lines().next().unwrap_or("").trim().to_string()
}
