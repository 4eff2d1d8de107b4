//! The documented views of a resolved Model and its lock: `manifold model`.
//!
//! The JSON shape is a contract for other tools (it is described in the README,
//! "manifold model"): fields are only ever added, never renamed or removed, and
//! `schema_version` changes if that promise is ever broken.

use std::fmt::Write as _;

use serde::Serialize;

use super::{Entity, EnumValue, Field, Model, Type, naming};
use crate::lock::{ElementState, Lock, LockedField};
use crate::source::{SourceDb, Span};

/// Version of the JSON shape below.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
pub struct ModelJson {
    pub schema_version: u32,
    pub teams: Vec<String>,
    pub products: Vec<ProductJson>,
}

#[derive(Serialize)]
pub struct ProductJson {
    pub name: String,
    /// The protobuf package of the product.
    pub package: String,
    pub entities: Vec<EntityJson>,
    pub structs: Vec<StructJson>,
    pub enums: Vec<EnumJson>,
}

#[derive(Serialize)]
pub struct Location {
    pub file: String,
    pub line: usize,
    pub column: usize,
}

#[derive(Serialize)]
pub struct EntityJson {
    pub name: String,
    pub entity_type: Option<u32>,
    pub location: Location,
    pub doc: String,
    pub owner: String,
    pub state: &'static str,
    pub deprecated_since: Option<String>,
    pub sunset: Option<String>,
    /// `null` when absent; `{"entity": null}` for an explicit `replacedBy: null`.
    pub replaced_by: Option<Replacement>,
    pub key: String,
    pub table: String,
    pub fields: Vec<FieldJson>,
    /// Fields removed in earlier releases: their numbers and names stay reserved.
    pub reserved: Vec<ReservedJson>,
}

#[derive(Serialize)]
pub struct Replacement {
    pub entity: Option<String>,
}

#[derive(Serialize)]
pub struct FieldJson {
    pub name: String,
    pub number: Option<u32>,
    /// The canonical type: `String`, `enum X`, `struct X`, `ComposedBy<X>`, `T[]`.
    #[serde(rename = "type")]
    pub ty: String,
    pub optional: bool,
    pub key: bool,
    /// `active` or `deprecated`.
    pub state: &'static str,
    pub deprecated: Option<String>,
    pub pii: bool,
    /// Columns of the source table this field produces (empty for arrays).
    pub source_columns: Vec<String>,
    /// The child table an array field is exploded into.
    pub child_table: Option<String>,
    pub location: Location,
    pub doc: String,
}

#[derive(Serialize)]
pub struct ReservedJson {
    pub number: u32,
    pub name: String,
}

#[derive(Serialize)]
pub struct StructJson {
    pub name: String,
    pub location: Location,
    pub doc: String,
    pub fields: Vec<FieldJson>,
    pub reserved: Vec<ReservedJson>,
}

#[derive(Serialize)]
pub struct EnumJson {
    pub name: String,
    pub location: Location,
    pub doc: String,
    pub values: Vec<EnumValueJson>,
    pub reserved: Vec<ReservedJson>,
}

#[derive(Serialize)]
pub struct EnumValueJson {
    pub name: String,
    pub number: Option<u32>,
    pub state: &'static str,
    pub deprecated: Option<String>,
}

/// Builds the JSON view of `model` with the numbers of `lock`.
pub fn to_json(model: &Model, lock: &Lock, db: &SourceDb) -> ModelJson {
    let loc = |span: Span| {
        let f = db.get(span.file);
        let (line, column) = f.line_col(span.start);
        Location { file: f.path.clone(), line, column }
    };
    let field_json = |owner: Option<&Entity>, f: &Field, locked: Option<&LockedField>, key: bool| FieldJson {
        name: f.name.clone(),
        number: locked.map(|l| l.number),
        ty: model.type_name(&f.ty),
        optional: f.optional,
        key,
        state: if f.deprecated.is_some() { "deprecated" } else { "active" },
        deprecated: f.deprecated.clone(),
        pii: f.pii,
        source_columns: naming::source_columns(model, f),
        child_table: match (&f.ty, owner) {
            (Type::Array(_), Some(e)) => Some(naming::child_table(e, f)),
            _ => None,
        },
        location: loc(f.span),
        doc: f.doc.clone(),
    };
    let reserved = |fields: &[LockedField]| {
        fields
            .iter()
            .filter(|f| f.state == ElementState::Removed)
            .map(|f| ReservedJson { number: f.number, name: f.name.clone() })
            .collect()
    };
    let products = model
        .products
        .iter()
        .map(|p| ProductJson {
            name: p.name.clone(),
            package: format!("manifold.{}.v1", p.name),
            entities: p
                .entities
                .iter()
                .map(|e| {
                    let locked = lock.entity(&e.name);
                    EntityJson {
                        name: e.name.clone(),
                        entity_type: locked.map(|l| l.entity_type),
                        location: loc(e.span),
                        doc: e.doc.clone(),
                        owner: e.manifest.owner.clone(),
                        state: e.manifest.state.as_str(),
                        deprecated_since: e.manifest.deprecated_since.clone(),
                        sunset: e.manifest.sunset.clone(),
                        replaced_by: e
                            .manifest
                            .replaced_by
                            .map(|r| Replacement { entity: r.map(|id| model.entity(id).name.clone()) }),
                        key: e.fields.get(e.key).map(|f| f.name.clone()).unwrap_or_default(),
                        table: naming::main_table(e),
                        fields: e
                            .fields
                            .iter()
                            .enumerate()
                            .map(|(i, f)| field_json(Some(e), f, locked.and_then(|l| l.field(&f.name)), i == e.key))
                            .collect(),
                        reserved: locked.map(|l| reserved(&l.fields)).unwrap_or_default(),
                    }
                })
                .collect(),
            structs: p
                .structs
                .iter()
                .map(|s| {
                    let locked = lock.strukt(&p.name, &s.name);
                    StructJson {
                        name: s.name.clone(),
                        location: loc(s.span),
                        doc: s.doc.clone(),
                        fields: s
                            .fields
                            .iter()
                            .map(|f| field_json(None, f, locked.and_then(|l| l.field(&f.name)), false))
                            .collect(),
                        reserved: locked.map(|l| reserved(&l.fields)).unwrap_or_default(),
                    }
                })
                .collect(),
            enums: p
                .enums
                .iter()
                .map(|en| {
                    let locked = lock.enumeration(&p.name, &en.name);
                    EnumJson {
                        name: en.name.clone(),
                        location: loc(en.span),
                        doc: en.doc.clone(),
                        values: en
                            .values
                            .iter()
                            .map(|v: &EnumValue| EnumValueJson {
                                name: v.name.clone(),
                                number: locked.and_then(|l| l.value(&v.name)).map(|l| l.number),
                                state: if v.deprecated.is_some() { "deprecated" } else { "active" },
                                deprecated: v.deprecated.clone(),
                            })
                            .collect(),
                        reserved: locked
                            .map(|l| {
                                l.values
                                    .iter()
                                    .filter(|v| v.state == ElementState::Removed)
                                    .map(|v| ReservedJson { number: v.number, name: v.name.clone() })
                                    .collect()
                            })
                            .unwrap_or_default(),
                    }
                })
                .collect(),
        })
        .collect();
    ModelJson { schema_version: SCHEMA_VERSION, teams: model.teams.clone(), products }
}

/// A compact human-readable listing of the same information.
pub fn to_text(model: &Model, lock: &Lock, db: &SourceDb) -> String {
    let json = to_json(model, lock, db);
    let mut out = String::new();
    let num = |n: Option<u32>| n.map(|n| n.to_string()).unwrap_or_else(|| "?".into());
    for p in &json.products {
        let _ = writeln!(out, "product {} (package {})", p.name, p.package);
        for e in &p.entities {
            let _ = writeln!(
                out,
                "  entity {} [entity_type {}] owner {} {} key {} table {}",
                e.name,
                num(e.entity_type),
                e.owner,
                e.state,
                e.key,
                e.table
            );
            write_fields(&mut out, &e.fields, &e.reserved);
        }
        for s in &p.structs {
            let _ = writeln!(out, "  struct {}", s.name);
            write_fields(&mut out, &s.fields, &s.reserved);
        }
        for en in &p.enums {
            let _ = writeln!(out, "  enum {}", en.name);
            for v in &en.values {
                let dep = if v.state == "deprecated" { " (deprecated)" } else { "" };
                let _ = writeln!(out, "    {:>3}  {}{dep}", num(v.number), v.name);
            }
            for r in &en.reserved {
                let _ = writeln!(out, "    {:>3}  {} (reserved)", r.number, r.name);
            }
        }
    }
    out
}

fn write_fields(out: &mut String, fields: &[FieldJson], reserved: &[ReservedJson]) {
    for f in fields {
        let mut flags = Vec::new();
        if f.key {
            flags.push("key");
        }
        if f.optional {
            flags.push("optional");
        }
        if f.state == "deprecated" {
            flags.push("deprecated");
        }
        if f.pii {
            flags.push("pii");
        }
        let number = f.number.map(|n| n.to_string()).unwrap_or_else(|| "?".into());
        let ty = format!("{}{}", f.ty, if f.optional { "?" } else { "" });
        let line = format!("    {number:>3}  {:<24} {:<32} {}", f.name, ty, flags.join(" "));
        let _ = writeln!(out, "{}", line.trim_end());
    }
    for r in reserved {
        let _ = writeln!(out, "    {:>3}  {} (reserved)", r.number, r.name);
    }
}
