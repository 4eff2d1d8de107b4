//! The column plan: which columns every source and target table has, and the SQL
//! expression that turns the first into the second. This is the contract the dbt
//! models, the table schemas, the Rust mapping code and the runtime share.
//!
//! Source table `manifold_entities.<Entity>` (append-only staging): the envelope
//! columns, the message flattened to columns (nested message fields joined with
//! `_`, a Timestamp as `<name>_seconds` + `<name>_nanos`, an ARI as
//! `<name>_value`, enums as their value names, `Date` as ISO text), each array
//! field as one `ARRAY<…>` column, then the required pipeline columns.
//!
//! Target tables: the entity's main table (every non-array field, Timestamps as
//! one TIMESTAMP), and one child table per array field: the parent's key column,
//! `position` in the array, and the element's columns (`value` for a scalar).
//!
//! In the models' SQL a column whose name SQL reads as something else (`from`,
//! `null`, `current_date`, …) is quoted: see [`sql_ident`].

use std::borrow::Cow;

use crate::model::{Entity, Field, Model, Scalar, Type, naming};

/// Column names that SQL, written plainly, reads as something other than the
/// column: a literal (`null`, `true`), a function called without parentheses
/// (`current_date`), an operator (`not`) or part of a clause (`from`,
/// `distinct`). Sorted. Found by writing every keyword sqlparser knows as a
/// column through sqlparser's Databricks dialect (which checks every model)
/// and through Spark 4.2, non-ANSI (the semantics the runtime implements):
/// `all`, `distinct` and `current_path` only Spark misreads. The test
/// `every_other_keyword_reads_as_a_column` keeps the list complete for the
/// sqlparser this build uses.
const MISREAD_AS_SQL: [&str; 16] = [
    "all",
    "current_date",
    "current_path",
    "current_time",
    "current_timestamp",
    "distinct",
    "false",
    "from",
    "interval",
    "localtime",
    "localtimestamp",
    "not",
    "null",
    "struct",
    "trim",
    "true",
];

/// `name` as the models' SQL writes a column: as is, or in backticks when SQL
/// would read it as something else. (Field names are lowerCamelCase ASCII, so
/// columns are `[a-z][a-z0-9_]*`; nothing else needs quoting.)
pub fn sql_ident(name: &str) -> Cow<'_, str> {
    if MISREAD_AS_SQL.binary_search(&name).is_ok() { Cow::Owned(format!("`{name}`")) } else { Cow::Borrowed(name) }
}

/// A Spark SQL / Delta primitive type, spelled as the models `CAST` to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SqlType {
    String,
    Boolean,
    Integer,
    Long,
    Double,
    Timestamp,
    Date,
}

impl SqlType {
    /// The spelling in `CAST(x AS …)`, as in the seed's compiled SQL.
    pub fn cast_name(self) -> &'static str {
        match self {
            SqlType::String => "STRING",
            SqlType::Boolean => "BOOLEAN",
            SqlType::Integer => "INTEGER",
            SqlType::Long => "LONG",
            SqlType::Double => "DOUBLE",
            SqlType::Timestamp => "TIMESTAMP",
            SqlType::Date => "DATE",
        }
    }

    /// The dbt contract `data_type` (Spark's type names).
    pub fn dbt_name(self) -> &'static str {
        match self {
            SqlType::String => "string",
            SqlType::Boolean => "boolean",
            SqlType::Integer => "int",
            SqlType::Long => "bigint",
            SqlType::Double => "double",
            SqlType::Timestamp => "timestamp",
            SqlType::Date => "date",
        }
    }

    /// The Delta primitive type name.
    pub fn delta_name(self) -> &'static str {
        match self {
            SqlType::String => "string",
            SqlType::Boolean => "boolean",
            SqlType::Integer => "integer",
            SqlType::Long => "long",
            SqlType::Double => "double",
            SqlType::Timestamp => "timestamp",
            SqlType::Date => "date",
        }
    }
}

/// A column of a source table: a primitive, or an array of element columns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceColumn {
    pub name: String,
    pub ty: SourceType,
    pub nullable: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceType {
    Primitive(SqlType),
    /// `ARRAY<primitive>`
    Array(SqlType),
    /// `ARRAY<STRUCT<…>>`: the element's flattened columns.
    ArrayOfStruct(Vec<SourceColumn>),
}

/// One output column of a generated model: `CAST(<expr> AS <ty>) AS <name>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetColumn {
    pub name: String,
    pub ty: SqlType,
    /// The SQL expression over the source columns (or the exploded element).
    pub expr: String,
}

/// The envelope columns every source and target table starts with.
pub const ENVELOPE_COLUMNS: [(&str, SqlType); 5] = [
    ("envelope_fields_resource_ari_value", SqlType::String),
    ("envelope_fields_version", SqlType::Long),
    ("envelope_fields_is_tombstone", SqlType::Boolean),
    ("envelope_fields_workspace_id_value", SqlType::String),
    ("envelope_fields_generation_counter", SqlType::Long),
];

/// The required pipeline columns every source and target table ends with.
pub const REQUIRED_COLUMNS: [(&str, SqlType); 4] = [
    ("row_refreshed_at", SqlType::Timestamp),
    ("row_refreshed_at_day", SqlType::Date),
    ("shard_id", SqlType::String),
    ("workspace_id", SqlType::String),
];

/// The partition column of every table.
pub const PARTITION_COLUMN: &str = "workspace_id";
/// The row identity (LWW and merge key) of every table.
pub const ROW_KEY: &str = "envelope_fields_resource_ari_value";
/// The envelope columns last-writer-wins decides by.
pub const GENERATION_COLUMN: &str = "envelope_fields_generation_counter";
pub const VERSION_COLUMN: &str = "envelope_fields_version";
pub const TOMBSTONE_COLUMN: &str = "envelope_fields_is_tombstone";
/// The column holding an element's index in a child table.
pub const POSITION: &str = "position";

fn scalar_type(s: Scalar) -> SqlType {
    match s {
        Scalar::String | Scalar::Json | Scalar::Ari => SqlType::String,
        Scalar::Boolean => SqlType::Boolean,
        Scalar::Int => SqlType::Integer,
        Scalar::Long => SqlType::Long,
        Scalar::Double => SqlType::Double,
        Scalar::Timestamp => SqlType::Timestamp,
        Scalar::Date => SqlType::Date,
    }
}

/// The columns of `manifold_entities.<Entity>`.
pub fn source_table(model: &Model, entity: &Entity) -> Vec<SourceColumn> {
    let mut out: Vec<SourceColumn> = ENVELOPE_COLUMNS
        .iter()
        .map(|(n, t)| SourceColumn { name: n.to_string(), ty: SourceType::Primitive(*t), nullable: false })
        .collect();
    for f in &entity.fields {
        match &f.ty {
            Type::Array(elem) => {
                let ty = match &**elem {
                    Type::Struct(id) => {
                        let mut cols = Vec::new();
                        for sf in &model.strukt(*id).fields {
                            flatten_source(model, &naming::snake_case(&sf.name), &sf.ty, &mut cols);
                        }
                        SourceType::ArrayOfStruct(cols)
                    }
                    Type::Scalar(Scalar::Timestamp) => SourceType::ArrayOfStruct(vec![
                        SourceColumn {
                            name: "seconds".into(),
                            ty: SourceType::Primitive(SqlType::Long),
                            nullable: true,
                        },
                        SourceColumn {
                            name: "nanos".into(),
                            ty: SourceType::Primitive(SqlType::Integer),
                            nullable: true,
                        },
                    ]),
                    Type::Scalar(Scalar::Date) => SourceType::Array(SqlType::String),
                    Type::Scalar(s) => SourceType::Array(scalar_type(*s)),
                    Type::Enum(_) => SourceType::Array(SqlType::String),
                    Type::Relation(_) | Type::Array(_) => continue, // rejected by the resolver
                };
                out.push(SourceColumn { name: naming::snake_case(&f.name), ty, nullable: true });
            }
            ty => flatten_source(model, &naming::snake_case(&f.name), ty, &mut out),
        }
    }
    out.extend(REQUIRED_COLUMNS.iter().map(|(n, t)| SourceColumn {
        name: n.to_string(),
        ty: SourceType::Primitive(*t),
        nullable: false,
    }));
    out
}

fn flatten_source(model: &Model, prefix: &str, ty: &Type, out: &mut Vec<SourceColumn>) {
    for (name, kind) in naming::flatten(model, prefix, ty, naming::Side::Source) {
        out.push(SourceColumn { name, ty: SourceType::Primitive(scalar_type(kind)), nullable: true });
    }
}

/// The entity's own columns of its main table (envelope and required columns are
/// added by the macros).
pub fn main_table(model: &Model, entity: &Entity) -> Vec<TargetColumn> {
    let mut out = Vec::new();
    for f in entity.fields.iter().filter(|f| !matches!(f.ty, Type::Array(_))) {
        flatten_target(model, &naming::snake_case(&f.name), &f.ty, "", &mut out);
    }
    out
}

/// `source` is the expression prefix of the value (`""` for a top-level column,
/// `"element."` inside an exploded struct).
fn flatten_target(model: &Model, name: &str, ty: &Type, source: &str, out: &mut Vec<TargetColumn>) {
    let mut push = |name: String, ty: SqlType, expr: String| out.push(TargetColumn { name, ty, expr });
    let column = |column: &str| format!("{source}{}", sql_ident(column));
    match ty {
        Type::Scalar(Scalar::Timestamp) => push(name.to_string(), SqlType::Timestamp, timestamp_expr(source, name)),
        Type::Scalar(Scalar::Ari) => {
            let value = format!("{name}_value");
            push(value.clone(), SqlType::String, column(&value))
        }
        Type::Scalar(s) => push(name.to_string(), scalar_type(*s), column(name)),
        Type::Enum(_) => push(name.to_string(), SqlType::String, column(name)),
        Type::Relation(parent) => {
            let parent = model.entity(*parent);
            if let Some(key) = parent.fields.get(parent.key) {
                flatten_target(model, name, &key.ty, source, out);
            }
        }
        Type::Struct(id) => {
            for f in &model.strukt(*id).fields {
                flatten_target(model, &format!("{name}_{}", naming::snake_case(&f.name)), &f.ty, source, out);
            }
        }
        Type::Array(_) => {}
    }
}

/// `CAST(<source><name>_seconds + CAST(<source><name>_nanos / 1e9 AS DOUBLE) AS
/// TIMESTAMP)` without the outer cast; `<name>` empty for a Timestamp element.
fn timestamp_expr(source: &str, name: &str) -> String {
    let part = |unit: &str| {
        let column = if name.is_empty() { unit.to_string() } else { format!("{name}_{unit}") };
        format!("{source}{}", sql_ident(&column))
    };
    format!("{} + CAST({} / 1e9 AS DOUBLE)", part("seconds"), part("nanos"))
}

/// The columns of the child table of `field` (an array): the parent's key
/// columns, `position`, and the element's columns, over `POSEXPLODE(<field>)
/// exploded AS pos, element`.
pub fn child_table(model: &Model, entity: &Entity, field: &Field) -> Vec<TargetColumn> {
    let mut out = Vec::new();
    if let Some(key) = entity.fields.get(entity.key) {
        flatten_target(model, &naming::snake_case(&key.name), &key.ty, "", &mut out);
    }
    out.push(TargetColumn { name: POSITION.into(), ty: SqlType::Integer, expr: "exploded.pos".into() });
    let Type::Array(elem) = &field.ty else { return out };
    match &**elem {
        Type::Struct(id) => {
            for f in &model.strukt(*id).fields {
                flatten_target(model, &naming::snake_case(&f.name), &f.ty, "exploded.element.", &mut out);
            }
        }
        Type::Scalar(Scalar::Timestamp) => out.push(TargetColumn {
            name: "value".into(),
            ty: SqlType::Timestamp,
            expr: timestamp_expr("exploded.element.", ""),
        }),
        Type::Scalar(s) => {
            out.push(TargetColumn { name: "value".into(), ty: scalar_type(*s), expr: "exploded.element".into() })
        }
        Type::Enum(_) => {
            out.push(TargetColumn { name: "value".into(), ty: SqlType::String, expr: "exploded.element".into() })
        }
        Type::Relation(_) | Type::Array(_) => {}
    }
    out
}
