//! Whole-model checks that run after names are resolved: entity keys, reference
//! cycles, and the generated names (columns, tables) every artifact will use.

use std::collections::{BTreeMap, HashMap};

use crate::source::Span;

use super::naming::{self, is_reserved_column};
use super::*;
use crate::diag::{Diagnostic, Diagnostics, codes};

/// Runs every whole-model check.
pub fn check(model: &Model) -> Diagnostics {
    let mut diags = Diagnostics::new();
    keys(model, &mut diags);
    let struct_cycle = struct_cycles(model, &mut diags);
    relation_cycles(model, &mut diags);
    proto_names(model, &mut diags);
    // Flattening a recursive struct would never end; names are checked once it is fixed.
    if !struct_cycle {
        columns(model, &mut diags);
        child_columns(model, &mut diags);
        tables(model, &mut diags);
    }
    diags
}

fn keys(model: &Model, diags: &mut Diagnostics) {
    for e in model.entities() {
        let Some(key) = e.fields.get(e.key) else {
            diags.push(
                Diagnostic::error(codes::M019, format!("entity `{}` has no key", e.name))
                    .primary(e.span, "an entity without fields has no key")
                    .help("declare the business id as the first field, e.g. `id: ARI;`"),
            );
            continue;
        };
        let problem = match &key.ty {
            _ if key.optional => Some("an optional field".to_string()),
            Type::Scalar(s) if s.can_be_key() => None,
            other => Some(format!("of type `{}`", model.type_name(other))),
        };
        if let Some(problem) = problem {
            let explicit = e.key != 0;
            let mut d = Diagnostic::error(
                if explicit || key.optional { codes::M021 } else { codes::M019 },
                format!("entity `{}` has no usable key: `{}` is {problem}", e.name, key.name),
            )
            .primary(
                key.span,
                if explicit { "marked `@key`" } else { "the first field is the key unless one says `@key`" },
            );
            d = d.help(if explicit {
                "the key is a required String, ARI, Int or Long: change its type, or move `@key` to the field that identifies the entity"
            } else {
                "the key is a required String, ARI, Int or Long; mark it `/** @key */` if it is not the first field"
            });
            diags.push(d);
        }
    }
}

/// The shortest path of edges from `start` back to `start`, as (node, edge label)
/// steps, if one exists. `edges(n)` lists `n`'s successors with a label each.
fn cycle_from<N: Copy + Eq + std::hash::Hash, L: Copy>(
    start: N,
    edges: impl Fn(N) -> Vec<(N, L)>,
) -> Option<Vec<(N, L)>> {
    let mut queue = std::collections::VecDeque::from([(start, Vec::<(N, L)>::new())]);
    let mut seen = std::collections::HashSet::new();
    while let Some((node, path)) = queue.pop_front() {
        for (next, label) in edges(node) {
            let mut p = path.clone();
            p.push((next, label));
            if next == start {
                return Some(p);
            }
            if seen.insert(next) {
                queue.push_back((next, p));
            }
        }
    }
    None
}

/// Reports each cycle of struct containment once. Returns whether there was one.
fn struct_cycles(model: &Model, diags: &mut Diagnostics) -> bool {
    let children = |id: StructId| -> Vec<(StructId, ())> {
        model
            .strukt(id)
            .fields
            .iter()
            .filter_map(|f| match &f.ty {
                Type::Struct(s) => Some((*s, ())),
                Type::Array(inner) => match **inner {
                    Type::Struct(s) => Some((s, ())),
                    _ => None,
                },
                _ => None,
            })
            .collect()
    };
    let mut reported = std::collections::HashSet::new();
    for p in &model.products {
        for (i, s) in p.structs.iter().enumerate() {
            let start = StructId(s.product, i as u32);
            if reported.contains(&start) {
                continue;
            }
            let Some(path) = cycle_from(start, children) else { continue };
            reported.extend(path.iter().map(|(n, _)| *n));
            let chain: Vec<&str> = std::iter::once(start)
                .chain(path.iter().map(|(n, _)| *n))
                .map(|id| model.strukt(id).name.as_str())
                .collect();
            diags.push(
                Diagnostic::error(codes::M024, format!("struct `{}` contains itself", s.name))
                    .primary(s.span, chain.join(" → "))
                    .help("a struct is flattened into columns, so it cannot nest itself; model the recursion as a separate entity with `ComposedBy`, or hold ids"),
            );
        }
    }
    !reported.is_empty()
}

/// Reports each cycle of `ComposedBy` relations once, following every relation field.
fn relation_cycles(model: &Model, diags: &mut Diagnostics) {
    let parents = |id: EntityId| -> Vec<(EntityId, Span)> {
        model
            .entity(id)
            .fields
            .iter()
            .filter_map(|f| match f.ty {
                Type::Relation(p) => Some((p, f.span)),
                _ => None,
            })
            .collect()
    };
    let mut reported = std::collections::HashSet::new();
    for p in &model.products {
        for (i, e) in p.entities.iter().enumerate() {
            let start = EntityId(e.product, i as u32);
            if reported.contains(&start) {
                continue;
            }
            let Some(path) = cycle_from(start, parents) else { continue };
            reported.extend(path.iter().map(|(n, _)| *n));
            let chain: Vec<&str> = std::iter::once(start)
                .chain(path.iter().map(|(n, _)| *n))
                .map(|id| model.entity(id).name.as_str())
                .collect();
            let help = if path.len() == 1 {
                "an entity cannot be its own parent; hold the parent's id in a plain field, e.g. `parentId?: ARI`"
            } else {
                "ownership must form a tree: remove one of the `ComposedBy` fields and hold that id as a plain field"
            };
            diags.push(
                Diagnostic::error(codes::M023, format!("`ComposedBy` relations of `{}` form a cycle", e.name))
                    .primary(path[0].1, chain.join(" → "))
                    .help(help),
            );
        }
    }
}

/// Two fields of an entity (or a child table) that produce the same column, or a
/// field that produces a reserved column.
fn columns(model: &Model, diags: &mut Diagnostics) {
    for e in model.entities() {
        // A pair that collides in the source table usually collides in the target too: report it once.
        let mut reported: std::collections::HashSet<(String, String)> = std::collections::HashSet::new();
        let mut reserved: std::collections::HashSet<String> = std::collections::HashSet::new();
        for side in [Side::Source, Side::Target] {
            let mut owners: BTreeMap<String, &Field> = BTreeMap::new();
            for f in &e.fields {
                let cols = match side {
                    Side::Source => naming::source_columns(model, f),
                    Side::Target => naming::table_columns(model, f),
                };
                for c in cols {
                    if is_reserved_column(&c) {
                        if reserved.insert(f.name.clone()) {
                            diags.push(
                                Diagnostic::error(codes::M026, format!("field `{}` maps to the reserved column `{c}`", f.name))
                                    .primary(f.span, format!("becomes column `{c}`"))
                                    .help("`envelope_fields_*`, `row_refreshed_at`, `row_refreshed_at_day`, `shard_id` and `workspace_id` are set by the pipeline; rename the field"),
                            );
                        }
                        continue;
                    }
                    if let Some(prev) = owners.get(&c) {
                        if prev.name != f.name && reported.insert((prev.name.clone(), f.name.clone())) {
                            diags.push(
                                Diagnostic::error(
                                    codes::M025,
                                    format!("fields `{}` and `{}` both map to column `{c}`", prev.name, f.name),
                                )
                                .primary(f.span, format!("becomes column `{c}`"))
                                .secondary(prev.span, format!("also becomes column `{c}`"))
                                .note(match side {
                                    Side::Source => format!("in the source table `manifold_entities.{}`", e.name),
                                    Side::Target => format!("in the table `{}`", naming::main_table(e)),
                                })
                                .help("rename one of the fields"),
                            );
                        }
                        continue;
                    }
                    owners.insert(c, f);
                }
            }
        }
    }
}

/// The columns of each child table: the parent's key columns, `position`, and the
/// element's columns must all differ.
fn child_columns(model: &Model, diags: &mut Diagnostics) {
    for e in model.entities() {
        let Some(key) = e.fields.get(e.key) else { continue };
        for f in &e.fields {
            let Type::Array(elem) = &f.ty else { continue };
            let mut taken: Vec<String> = naming::table_columns(model, key);
            taken.push("position".to_string());
            let element: Vec<(String, Span)> = match &**elem {
                Type::Struct(id) => model
                    .strukt(*id)
                    .fields
                    .iter()
                    .flat_map(|sf| naming::table_columns(model, sf).into_iter().map(move |c| (c, sf.span)))
                    .collect(),
                _ => vec![("value".to_string(), f.span)],
            };
            for (c, span) in element {
                if taken.contains(&c) || is_reserved_column(&c) {
                    diags.push(
                        Diagnostic::error(
                            codes::M025,
                            format!("the child table `{}` would have two columns `{c}`", naming::child_table(e, f)),
                        )
                        .primary(span, format!("becomes column `{c}`"))
                        .secondary(f.span, "exploded into the child table here")
                        .note(format!(
                            "a child table holds the parent key `{}`, `position`, and the element's columns",
                            key.name
                        ))
                        .help("rename the struct field"),
                    );
                } else {
                    taken.push(c);
                }
            }
        }
    }
}

/// Names protobuf tells apart only by more than case and underscores: two
/// fields of one message whose JSON names differ only in case (`autoIncrement`
/// and `autoincrement` are `autoIncrement` and `autoincrement`), or two values
/// of one enum that differ only in underscores (`FOO_BAR`, `FOOBAR`). protoc
/// and protox refuse such a message or enum, so the emitted protos would not
/// compile; the schema is told here instead, at both fields.
fn proto_names(model: &Model, diags: &mut Diagnostics) {
    let folded = |name: &str| name.replace('_', "").to_ascii_lowercase();
    let mut clash =
        |what: &str, owner: &str, (first, first_span): (&str, Span), (second, second_span): (&str, Span)| {
            diags.push(
                Diagnostic::error(
                    codes::M025,
                    format!("{what} `{first}` and `{second}` of `{owner}` differ only in case or underscores"),
                )
                .primary(second_span, "protobuf cannot tell this name…")
                .secondary(first_span, "…from this one")
                .note("protobuf compares names with case and underscores ignored (JSON names, enum value names)")
                .help("rename one of them"),
            );
        };
    let messages = model
        .entities()
        .map(|e| (e.name.as_str(), &e.fields))
        .chain(model.products.iter().flat_map(|p| p.structs.iter().map(|s| (s.name.as_str(), &s.fields))));
    for (owner, fields) in messages {
        let mut seen: HashMap<String, &Field> = HashMap::new();
        for f in fields {
            match seen.get(&folded(&f.name)) {
                Some(prev) if prev.name != f.name => clash("fields", owner, (&prev.name, prev.span), (&f.name, f.span)),
                Some(_) => {}
                None => {
                    seen.insert(folded(&f.name), f);
                }
            }
        }
    }
    for en in model.products.iter().flat_map(|p| p.enums.iter()) {
        let mut seen: HashMap<String, &EnumValue> = HashMap::new();
        for v in &en.values {
            match seen.get(&folded(&v.name)) {
                Some(prev) if prev.name != v.name => {
                    clash("values", &en.name, (&prev.name, prev.span), (&v.name, v.span))
                }
                Some(_) => {}
                None => {
                    seen.insert(folded(&v.name), v);
                }
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Source,
    Target,
}

/// Generated table names are global: two tables must never share one.
fn tables(model: &Model, diags: &mut Diagnostics) {
    let mut owners: HashMap<String, (&Entity, Option<&Field>)> = HashMap::new();
    for e in model.entities() {
        let mut names = vec![(naming::main_table(e), None)];
        for f in &e.fields {
            if let Type::Array(_) = f.ty {
                names.push((naming::child_table(e, f), Some(f)));
            }
        }
        for (table, field) in names {
            if let Some((prev_e, prev_f)) = owners.get(&table) {
                let here = field.map(|f| f.span).unwrap_or(e.span);
                let there = prev_f.map(|f| f.span).unwrap_or(prev_e.span);
                diags.push(
                    Diagnostic::error(codes::M025, format!("two tables would be named `{table}`"))
                        .primary(here, format!("produces table `{table}`"))
                        .secondary(there, "so does this")
                        .help(if field.is_none() && prev_f.is_none() {
                            "table names are the snake_case entity names: rename one of the entities"
                        } else {
                            "child tables are named `<entity>__<field>`: rename the entity or the array field"
                        }),
                );
                continue;
            }
            owners.insert(table, (e, field));
        }
    }
}
