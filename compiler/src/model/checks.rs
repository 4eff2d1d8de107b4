//! Whole-model checks that run after names are resolved: entity keys, reference
//! cycles, and the generated names (columns, tables) every artifact will use.

use std::collections::{BTreeMap, HashMap};

use super::naming::{self, is_reserved_column};
use super::*;
use crate::diag::{Diagnostic, Diagnostics, codes};

/// Runs every whole-model check.
pub fn check(model: &Model) -> Diagnostics {
    let mut diags = Diagnostics::new();
    keys(model, &mut diags);
    let struct_cycle = struct_cycles(model, &mut diags);
    relation_cycles(model, &mut diags);
    // Flattening a recursive struct would never end; names are checked once it is fixed.
    if !struct_cycle {
        columns(model, &mut diags);
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
            .primary(key.span, if explicit { "marked `@key`" } else { "the first field is the key unless one says `@key`" });
            d = d.help("the key is a required String, ARI, Int or Long; mark it `/** @key */` if it is not the first field");
            diags.push(d);
        }
    }
}

/// Reports every struct that (transitively) contains itself. Returns whether any did.
fn struct_cycles(model: &Model, diags: &mut Diagnostics) -> bool {
    let mut found = false;
    for p in &model.products {
        for (i, s) in p.structs.iter().enumerate() {
            let start = StructId(s.product, i as u32);
            if let Some(path) = path_back_to(model, start) {
                found = true;
                let chain: Vec<&str> = path.iter().map(|id| model.strukt(*id).name.as_str()).collect();
                diags.push(
                    Diagnostic::error(codes::M024, format!("struct `{}` contains itself", s.name))
                        .primary(s.span, format!("{} → {}", chain.join(" → "), s.name))
                        .help("a struct is flattened into columns, so it cannot nest itself; model the recursion as a separate entity with `ComposedBy`, or hold ids"),
                );
            }
        }
    }
    found
}

/// A path of structs from `start` back to `start`, if one exists.
fn path_back_to(model: &Model, start: StructId) -> Option<Vec<StructId>> {
    fn children(model: &Model, id: StructId) -> Vec<StructId> {
        model
            .strukt(id)
            .fields
            .iter()
            .filter_map(|f| match &f.ty {
                Type::Struct(s) => Some(*s),
                Type::Array(inner) => match **inner {
                    Type::Struct(s) => Some(s),
                    _ => None,
                },
                _ => None,
            })
            .collect()
    }
    let mut stack = vec![(start, vec![start])];
    let mut seen = std::collections::HashSet::new();
    while let Some((id, path)) = stack.pop() {
        for c in children(model, id) {
            if c == start {
                return Some(path);
            }
            if seen.insert(c) {
                let mut p = path.clone();
                p.push(c);
                stack.push((c, p));
            }
        }
    }
    None
}

fn relation_cycles(model: &Model, diags: &mut Diagnostics) {
    // parent edges: entity → (field, parent)
    let mut reported = std::collections::HashSet::new();
    for p in &model.products {
        for (i, e) in p.entities.iter().enumerate() {
            let start = EntityId(e.product, i as u32);
            for f in &e.fields {
                let Type::Relation(parent) = f.ty else { continue };
                // Walk up the parents; a walk that comes back to `start` is a cycle.
                let mut chain = vec![e.name.as_str()];
                let mut current = parent;
                let mut steps = 0;
                let cyclic = loop {
                    chain.push(model.entity(current).name.as_str());
                    if current == start {
                        break true;
                    }
                    steps += 1;
                    let next = model.entity(current).fields.iter().find_map(|f| match f.ty {
                        Type::Relation(p) => Some(p),
                        _ => None,
                    });
                    match next {
                        Some(n) if steps <= model.entities().count() => current = n,
                        _ => break false,
                    }
                };
                if cyclic && reported.insert(start) {
                    let help = if parent == start {
                        "an entity cannot be its own parent; hold the parent's id in a plain field, e.g. `parentId?: ARI`"
                    } else {
                        "ownership must form a tree: remove one of the `ComposedBy` fields and hold that id as a plain field"
                    };
                    diags.push(
                        Diagnostic::error(codes::M023, format!("`ComposedBy` relations of `{}` form a cycle", e.name))
                            .primary(f.span, chain.join(" → "))
                            .help(help),
                    );
                }
            }
        }
    }
}

/// Two fields of an entity (or a child table) that produce the same column, or a
/// field that produces a reserved column.
fn columns(model: &Model, diags: &mut Diagnostics) {
    for e in model.entities() {
        // A pair that collides in the source table usually collides in the target too: report it once.
        let mut reported: std::collections::HashSet<(String, String)> = std::collections::HashSet::new();
        for side in [Side::Source, Side::Target] {
            let mut owners: BTreeMap<String, &Field> = BTreeMap::new();
            for f in &e.fields {
                let cols = match side {
                    Side::Source => naming::source_columns(model, f),
                    Side::Target => naming::table_columns(model, f),
                };
                for c in cols {
                    if is_reserved_column(&c) {
                        if side == Side::Source {
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
                                Diagnostic::error(codes::M025, format!("fields `{}` and `{}` both map to column `{c}`", prev.name, f.name))
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
                        .help("rename the entity or the array field"),
                );
                continue;
            }
            owners.insert(table, (e, field));
        }
    }
}
