//! How schema names become generated names: proto fields, columns and tables.
//!
//! These rules are a contract shared by every emitter and the runtime (a column
//! name is part of the table, the dbt contract and the mapping code), so they live
//! in one place and the resolver checks them for collisions up front.

use super::{Entity, Field, Model, Scalar, Type};

/// Columns every source table carries besides the entity's own (DESIGN.md).
pub const REQUIRED_COLUMNS: [&str; 4] = ["row_refreshed_at", "row_refreshed_at_day", "shard_id", "workspace_id"];

/// Prefix of the flattened envelope columns (`envelope_fields_version`, …).
pub const ENVELOPE_PREFIX: &str = "envelope_fields_";

/// `lowerCamelCase` / `PascalCase` → `snake_case`, keeping acronyms together:
/// `createdAt` → `created_at`, `parseHTTPResponse` → `parse_http_response`,
/// `sha256Sum` → `sha256_sum`.
pub fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev = i.checked_sub(1).map(|j| chars[j]);
            let next = chars.get(i + 1);
            let boundary = match prev {
                None => false,
                Some('_') => false,
                Some(p) if p.is_ascii_lowercase() || p.is_ascii_digit() => true,
                // The last capital of an acronym starts a new word (`HTTPResponse`),
                // unless the lowercase after it is a plural `s` (`labelIDs`, `URLsCount`).
                Some(p) => {
                    let plural = next == Some(&'s') && chars.get(i + 2).is_none_or(|c| c.is_ascii_uppercase());
                    p.is_ascii_uppercase() && next.is_some_and(|n| n.is_ascii_lowercase()) && !plural
                }
            };
            if boundary {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The proto field name of a schema field.
pub fn proto_field_name(field: &Field) -> String {
    snake_case(&field.name)
}

/// Columns of the *source* table (the flattened message) that `field` produces,
/// with the field path that produces each: `createdAt: Timestamp` →
/// `created_at_seconds`, `created_at_nanos`; `author: ARI` → `author_value`.
/// Array fields produce no column here: they are exploded into child tables.
pub fn source_columns(model: &Model, field: &Field) -> Vec<String> {
    flatten(model, &snake_case(&field.name), &field.ty, Side::Source).into_iter().map(|(c, _)| c).collect()
}

/// Columns of the entity's main *target* table that `field` produces: like the
/// source columns, except that a Timestamp is one column again.
pub fn table_columns(model: &Model, field: &Field) -> Vec<String> {
    flatten(model, &snake_case(&field.name), &field.ty, Side::Target).into_iter().map(|(c, _)| c).collect()
}

/// Which table's naming: the staging (source) table, or a model's target table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Source,
    Target,
}

/// The columns a value of type `ty` flattens to under `prefix`, each with the
/// scalar kind of its values: a source Timestamp is `_seconds` (Long) and
/// `_nanos` (Int), an ARI `_value` (String), an enum its name (String), a source
/// Date its ISO text (String). Arrays produce nothing here (they are list columns
/// or child tables). The one walk every artifact's column names come from.
pub fn flatten(model: &Model, prefix: &str, ty: &Type, side: Side) -> Vec<(String, Scalar)> {
    let mut out = Vec::new();
    walk(model, prefix, ty, side, &mut out);
    out
}

fn walk(model: &Model, prefix: &str, ty: &Type, side: Side, out: &mut Vec<(String, Scalar)>) {
    match ty {
        Type::Scalar(Scalar::Timestamp) if side == Side::Source => {
            out.push((format!("{prefix}_seconds"), Scalar::Long));
            out.push((format!("{prefix}_nanos"), Scalar::Int));
        }
        Type::Scalar(Scalar::Date) if side == Side::Source => out.push((prefix.to_string(), Scalar::String)),
        Type::Scalar(Scalar::Ari) => out.push((format!("{prefix}_value"), Scalar::String)),
        Type::Scalar(s) => out.push((prefix.to_string(), *s)),
        Type::Enum(_) => out.push((prefix.to_string(), Scalar::String)),
        Type::Relation(parent) => {
            // The parent's key column type; only a scalar key is valid (M021), and
            // following anything else could recurse through a relation cycle.
            let parent = model.entity(*parent);
            if let Some(key @ Field { ty: Type::Scalar(_), .. }) = parent.fields.get(parent.key) {
                walk(model, prefix, &key.ty, side, out);
            }
        }
        Type::Struct(id) => {
            for f in &model.strukt(*id).fields {
                walk(model, &format!("{prefix}_{}", snake_case(&f.name)), &f.ty, side, out);
            }
        }
        Type::Array(_) => {}
    }
}

/// The dbt model / Delta table name of an entity's main table: `jira_issue`.
pub fn main_table(entity: &Entity) -> String {
    snake_case(&entity.name)
}

/// The table an array field is exploded into: `jira_issue__fields`.
pub fn child_table(entity: &Entity, field: &Field) -> String {
    format!("{}__{}", snake_case(&entity.name), snake_case(&field.name))
}

/// Whether a generated column name is reserved for the envelope or required fields.
pub fn is_reserved_column(column: &str) -> bool {
    column.starts_with(ENVELOPE_PREFIX) || REQUIRED_COLUMNS.contains(&column)
}

#[cfg(test)]
mod tests {
    use super::snake_case;

    #[test]
    fn snake_case_examples() {
        for (camel, snake) in [
            ("createdAt", "created_at"),
            ("id", "id"),
            ("questionAdf", "question_adf"),
            ("parseHTTPResponse", "parse_http_response"),
            ("urlID", "url_id"),
            ("labelIDs", "label_ids"),
            ("URLsCount", "urls_count"),
            ("parseHTTPSConnection", "parse_https_connection"),
            ("sha256Sum", "sha256_sum"),
            ("address2", "address2"),
            ("JiraIssue", "jira_issue"),
            ("AvocadoQuestion", "avocado_question"),
        ] {
            assert_eq!(snake_case(camel), snake, "{camel}");
        }
    }
}
