//! The rule handlers: one pass over baseline ↔ current pairs (by lock number) for
//! entities, their fields, structs and enums, plus the lifecycle rules.

use super::Finding;
use super::catalogue::{self as c, Rule, Severity};
use crate::lock::{ElementState, Lock, LockedField, table_header};
use crate::model::{EntityState, Model, Type, naming};
use crate::source::{FileId, Span};

pub struct Input<'a> {
    pub model: &'a Model,
    pub current: &'a Lock,
    pub baseline: &'a Lock,
    pub baseline_file: FileId,
    pub baseline_text: &'a str,
    /// The baseline's Model, when it was compiled from a git ref.
    pub baseline_model: Option<&'a Model>,
    pub today: &'a str,
    /// Days a field must have been deprecated before its removal (LC007); 0: one release.
    pub window_days: u32,
}

struct Out<'a> {
    input: &'a Input<'a>,
    findings: Vec<Finding>,
}

impl Out<'_> {
    fn push(&mut self, rule: &'static Rule, element: String, message: String, span: Span) {
        self.push_as(rule, rule.severity, element, message, span);
    }

    fn push_as(&mut self, rule: &'static Rule, severity: Severity, element: String, message: String, span: Span) {
        self.findings.push(Finding { rule, severity, element, message, span });
    }

    /// The span of a table (and optionally an entry `name = "…"` in it) in the baseline lock.
    fn baseline_span(&self, header: &str, entry: Option<&str>) -> Span {
        crate::lock::entry_span(self.input.baseline_text, self.input.baseline_file, header, entry)
    }
}

pub fn run(input: &Input<'_>) -> Vec<Finding> {
    let mut out = Out { input, findings: Vec::new() };
    entities(&mut out);
    structs(&mut out);
    enums(&mut out);
    lifecycle_metadata(&mut out);
    out.findings
}

fn entities(out: &mut Out<'_>) {
    let (model, baseline, current) = (out.input.model, out.input.baseline, out.input.current);
    for (name, base) in &baseline.entities {
        let Some(cur) = current.entities.values().find(|e| e.entity_type == base.entity_type) else {
            let span = out.baseline_span(&table_header("entities", name), None);
            out.push(
                c::EC004,
                name.clone(),
                format!("the entity_type {} of `{name}` vanished from the lock", base.entity_type),
                span,
            );
            continue;
        };
        let cur_name = current
            .entities
            .iter()
            .find(|(_, e)| e.entity_type == base.entity_type)
            .map(|(n, _)| n.clone())
            .unwrap_or_default();
        let entity = model.entity_by_name(&cur_name);
        let here = entity.map(|e| e.span).unwrap_or_else(|| out.baseline_span(&table_header("entities", name), None));
        if &cur_name != name {
            out.push(
                c::EC020,
                name.clone(),
                format!("entity_type {} was `{name}` and is now `{cur_name}`", base.entity_type),
                here,
            );
            continue;
        }
        if base.removed {
            if !cur.removed {
                out.push(
                    c::EC003,
                    name.clone(),
                    format!("`{name}` was removed in an earlier release; its name is reserved"),
                    here,
                );
            }
            continue;
        }
        if cur.removed {
            if base.state != EntityState::Retired {
                let span = out.baseline_span(&table_header("entities", name), None);
                let msg = format!("`{name}` was deleted while {} in the baseline", base.state.as_str());
                out.push(c::LC004, name.clone(), msg, span);
            }
            continue;
        }
        if cur.product != base.product {
            let msg = format!(
                "`{name}` moved from product `{}` to `{}` (package and table identity change)",
                base.product, cur.product
            );
            out.push(c::EC020, name.clone(), msg, here);
        }
        transition(out, name, base.state, cur.state, here);
        let retired = base.state == EntityState::Retired && cur.state == EntityState::Retired;
        fields(
            out,
            name,
            &table_header("entities", name),
            &base.fields,
            &cur.fields,
            |f| entity.and_then(|e| e.fields.iter().find(|x| x.name == f)).map(|x| x.span),
            true,
            cur.state,
        );
        if retired && base.fields != cur.fields {
            let msg = format!("`{name}` is RETIRED; its fields may not change any more");
            out.push_as(c::LC006, Severity::Error, name.clone(), msg, here);
        }
        relations(out, name, &base.fields);
    }
    // New entities.
    for (name, cur) in &current.entities {
        if baseline.entities.values().any(|b| b.entity_type == cur.entity_type) || cur.removed {
            continue;
        }
        let span = model.entity_by_name(name).map(|e| e.span).unwrap_or(Span::new(FileId(0), 0, 0));
        let table = naming::snake_case(name);
        if let Some((old, _)) =
            baseline.entities.iter().find(|(n, e)| e.removed && *n != name && naming::snake_case(n) == table)
        {
            let msg = format!("the new entity `{name}` reuses the table `{table}` of the removed entity `{old}`");
            out.push(c::EC003, name.clone(), msg, span);
        }
        if cur.state != EntityState::Active {
            out.push(c::LC001, name.clone(), format!("the new entity `{name}` was born {}", cur.state.as_str()), span);
        }
        relations(out, name, &[]);
    }
}

/// Lifecycle: new → ACTIVE → DEPRECATED → RETIRED; DEPRECATED → ACTIVE warns.
fn transition(out: &mut Out<'_>, name: &str, from: EntityState, to: EntityState, span: Span) {
    use EntityState::*;
    let msg = || format!("`{name}` went from {} to {}", from.as_str(), to.as_str());
    match (from, to) {
        (a, b) if a == b => {}
        (Active, Deprecated) => {}
        (Deprecated, Retired) => {
            // The sunset the entity was deprecated with: a sunset moved earlier (or
            // dropped) in the same change does not count.
            let released =
                out.input.baseline_model.and_then(|m| m.entity_by_name(name)).and_then(|e| e.manifest.sunset.clone());
            let e = out.input.model.entity_by_name(name);
            if let Some(sunset) = released.as_deref().or(e.and_then(|e| e.manifest.sunset.as_deref()))
                && out.input.today < sunset
            {
                out.push(
                    c::LC003,
                    name.into(),
                    format!("`{name}` was retired on {} before its sunset date {sunset}", out.input.today),
                    span,
                );
            }
            let referrers: Vec<&str> = out
                .input
                .model
                .entities()
                .filter(|r| r.manifest.state == Active)
                .filter(|r| {
                    r.fields.iter().any(|f| matches!(f.ty, Type::Relation(t) if out.input.model.entity(t).name == name))
                })
                .map(|r| r.name.as_str())
                .collect();
            if !referrers.is_empty() {
                out.push(
                    c::LC003,
                    name.into(),
                    format!("`{name}` was retired while {} still reference it", referrers.join(", ")),
                    span,
                );
            }
        }
        (Deprecated, Active) => out.push_as(c::LC001, Severity::Warn, name.into(), msg(), span),
        _ => out.push(c::LC001, name.into(), msg(), span),
    }
}

/// LC007: a deprecated field removed before the configured window has passed,
/// counted from the date its `@deprecated YYYY-MM-DD …` tag gives in the baseline.
fn window(out: &mut Out<'_>, owner: &str, field: &str, header: &str) {
    let days = out.input.window_days;
    if days == 0 {
        return;
    }
    let element = format!("{owner}.{field}");
    let span = out.baseline_span(header, Some(field));
    let base_field = out.input.baseline_model.and_then(|m| {
        let fields = match m.entity_by_name(owner) {
            Some(e) => &e.fields,
            None => {
                let (p, s) = owner.split_once('.')?;
                &m.products.iter().find(|x| x.name == p)?.structs.iter().find(|x| x.name == s)?.fields
            }
        };
        fields.iter().find(|f| f.name == field).cloned()
    });
    let since = base_field
        .as_ref()
        .and_then(|f| f.deprecated.as_deref())
        .and_then(|r| r.split_whitespace().next())
        .and_then(crate::model::date::days_from_civil);
    let today = crate::model::date::days_from_civil(out.input.today).unwrap_or(0);
    match since {
        Some(since) if today - since >= i64::from(days) => {}
        Some(since) => {
            let msg = format!(
                "`{field}` was removed {} days after its deprecation; the window is {days} days",
                today - since
            );
            out.push(c::LC007, element, msg, span);
        }
        None => {
            let msg =
                format!("`{field}` was removed, but its deprecation has no date to count the {days}-day window from");
            out.push(c::LC007, element, msg, span);
        }
    }
}

/// A field type change: which rule it breaks.
fn type_rule(old: &str, new: &str) -> &'static Rule {
    let (old_array, new_array) = (old.ends_with("[]"), new.ends_with("[]"));
    if old_array != new_array {
        return c::EC008;
    }
    let (o, n) = (old.trim_end_matches("[]"), new.trim_end_matches("[]"));
    let named = |t: &str| t.starts_with("ComposedBy<") || t.starts_with("struct ");
    if named(o) && named(n) && o.split(['<', ' ']).next() == n.split(['<', ' ']).next() {
        return c::EC010;
    }
    c::EC006
}

#[allow(clippy::too_many_arguments)]
fn fields(
    out: &mut Out<'_>,
    owner: &str,
    header: &str,
    base: &[LockedField],
    cur: &[LockedField],
    span_of: impl Fn(&str) -> Option<Span>,
    is_entity: bool,
    owner_state: EntityState,
) {
    let owner_span = || span_of("").or_else(|| out.input.model.entity_by_name(owner).map(|e| e.span));
    for b in base {
        let element = format!("{owner}.{}", b.name);
        let Some(now) = cur.iter().find(|f| f.number == b.number) else {
            let span = out.baseline_span(header, Some(&b.name));
            let (rule, msg) = if b.state == ElementState::Removed {
                (c::EC004, format!("the reservation of number {} (`{}`) was removed from the lock", b.number, b.name))
            } else {
                (c::EC001, format!("field `{}` lost its number {}", b.name, b.number))
            };
            out.push(rule, element, msg, span);
            continue;
        };
        let here = span_of(&now.name).unwrap_or_else(|| out.baseline_span(header, Some(&b.name)));
        if now.name != b.name {
            out.push(
                c::EC005,
                element,
                format!("field number {} was `{}` and is now `{}`", b.number, b.name, now.name),
                here,
            );
            continue;
        }
        match (b.state, now.state) {
            (ElementState::Removed, ElementState::Removed) => continue,
            (ElementState::Removed, _) => {
                out.push(
                    c::EC004,
                    element,
                    format!("the reserved number {} of `{}` is in use again", b.number, b.name),
                    here,
                );
                continue;
            }
            (ElementState::Active, ElementState::Removed) => {
                let span = out.baseline_span(header, Some(&b.name));
                out.push(
                    c::EC002,
                    element,
                    format!("field `{}` was removed without being @deprecated in the baseline", b.name),
                    span,
                );
                continue;
            }
            (ElementState::Deprecated, ElementState::Removed) => {
                window(out, owner, &b.name, header);
                continue;
            }
            _ => {}
        }
        if now.ty != b.ty {
            let rule = type_rule(&b.ty, &now.ty);
            out.push(
                rule,
                element.clone(),
                format!("field `{}` changed type from `{}` to `{}`", b.name, b.ty, now.ty),
                here,
            );
        }
        if b.optional && !now.optional && !now.ty.ends_with("[]") {
            out.push(c::EC012, element.clone(), format!("field `{}` became required", b.name), here);
        }
        if is_entity && b.key != now.key {
            let msg = if now.key {
                format!("`{}` became the key", b.name)
            } else {
                format!("`{}` is no longer the key", b.name)
            };
            out.push(c::EC021, element, msg, here);
        }
    }
    for now in cur.iter().filter(|f| f.state != ElementState::Removed && !base.iter().any(|b| b.number == f.number)) {
        let element = format!("{owner}.{}", now.name);
        let here = span_of(&now.name).or_else(owner_span).unwrap_or(Span::new(FileId(0), 0, 0));
        // Names are compared as proto and column names, against every removed
        // field (earlier, or in this very change): `reporterID` reuses
        // `reporterId`; `authorValue` reuses `author_value` of `author: ARI`.
        let proto = naming::snake_case(&now.name);
        let new_columns = locked_columns(&now.name, &now.ty);
        let reused = cur.iter().filter(|f| f.state == ElementState::Removed).find_map(|old| {
            if naming::snake_case(&old.name) == proto {
                return Some((old, proto.clone()));
            }
            new_columns.iter().find(|c| column_taken(&old.name, &old.ty, c)).map(|c| (old, c.clone()))
        });
        if let Some((old, name)) = reused {
            let msg =
                format!("the new field `{}` reuses the name `{name}` of the removed field `{}`", now.name, old.name);
            out.push(c::EC003, element.clone(), msg, here);
        }
        if owner_state == EntityState::Deprecated {
            out.push(
                c::LC006,
                element.clone(),
                format!("field `{}` was added to the DEPRECATED `{owner}`", now.name),
                here,
            );
        }
        if now.optional || now.ty.ends_with("[]") {
            out.push(c::EC023, element, format!("field `{}` was added", now.name), here);
        } else {
            out.push(
                c::EC011,
                element,
                format!(
                    "the required field `{}` was added to an existing {}",
                    now.name,
                    if is_entity { "entity" } else { "struct" }
                ),
                here,
            );
        }
    }
}

/// The staging columns a field of a locked type produces (a struct's are all
/// `<name>_…`, see `column_taken`).
fn locked_columns(name: &str, ty: &str) -> Vec<String> {
    let snake = naming::snake_case(name);
    match ty {
        "ARI" => vec![format!("{snake}_value")],
        "Timestamp" => vec![format!("{snake}_seconds"), format!("{snake}_nanos")],
        _ => vec![snake],
    }
}

/// Whether a removed field of this name and locked type produced `column`.
fn column_taken(name: &str, ty: &str, column: &str) -> bool {
    if ty.starts_with("struct ") && !ty.ends_with("[]") {
        return column.starts_with(&format!("{}_", naming::snake_case(name)));
    }
    locked_columns(name, ty).iter().any(|c| c == column)
}

/// New references (fields not in the baseline, or retargeted) to DEPRECATED or
/// RETIRED entities.
fn relations(out: &mut Out<'_>, owner: &str, base: &[LockedField]) {
    let model = out.input.model;
    let Some(e) = model.entity_by_name(owner) else { return };
    for f in &e.fields {
        let Type::Relation(target) = f.ty else { continue };
        let t = model.entity(target);
        let type_name = format!("ComposedBy<{}>", t.name);
        if base.iter().any(|b| b.name == f.name && b.state != ElementState::Removed && b.ty == type_name) {
            continue;
        }
        let severity = match t.manifest.state {
            EntityState::Active => continue,
            EntityState::Deprecated => Severity::Warn,
            EntityState::Retired => Severity::Error,
        };
        let msg = format!("`{owner}.{}` is a new reference to the {} `{}`", f.name, t.manifest.state.as_str(), t.name);
        out.push_as(c::LC005, severity, format!("{owner}.{}", f.name), msg, f.span);
    }
}

fn structs(out: &mut Out<'_>) {
    let (model, baseline, current) = (out.input.model, out.input.baseline, out.input.current);
    for (key, base) in &baseline.structs {
        let Some(cur) = current.structs.get(key) else { continue };
        if base.removed || cur.removed {
            continue;
        }
        let (product, name) = key.split_once('.').unwrap_or(("", key));
        let s = model.products.iter().filter(|p| p.name == product).flat_map(|p| &p.structs).find(|s| s.name == name);
        let span_of = |f: &str| {
            s.and_then(
                |s| if f.is_empty() { Some(s.span) } else { s.fields.iter().find(|x| x.name == f).map(|x| x.span) },
            )
        };
        fields(out, key, &table_header("structs", key), &base.fields, &cur.fields, span_of, false, EntityState::Active);
    }
}

fn enums(out: &mut Out<'_>) {
    let (model, baseline, current) = (out.input.model, out.input.baseline, out.input.current);
    for (key, base) in &baseline.enums {
        let Some(cur) = current.enums.get(key) else { continue };
        let (product, name) = key.split_once('.').unwrap_or(("", key));
        let en = model.products.iter().filter(|p| p.name == product).flat_map(|p| &p.enums).find(|e| e.name == name);
        let header = table_header("enums", key);
        for b in &base.values {
            let element = format!("{key}.{}", b.name);
            let now = cur.values.iter().find(|v| v.number == b.number);
            match (b.state, now.map(|v| v.state)) {
                (ElementState::Active, Some(ElementState::Removed)) => {
                    let span = out.baseline_span(&header, Some(&b.name));
                    out.push(
                        c::EC016,
                        element,
                        format!("enum value `{}` was removed without being @deprecated in the baseline", b.name),
                        span,
                    );
                }
                (_, None) => {
                    let span = out.baseline_span(&header, Some(&b.name));
                    out.push(c::EC016, element, format!("enum value `{}` lost its number {}", b.name, b.number), span);
                }
                (s, Some(n)) if s == ElementState::Removed && n != ElementState::Removed => {
                    let span = en
                        .and_then(|e| e.values.iter().find(|v| v.name == b.name))
                        .map(|v| v.span)
                        .unwrap_or(out.baseline_span(&header, Some(&b.name)));
                    out.push(c::EC004, element, format!("the reserved enum number {} is in use again", b.number), span);
                }
                _ => {}
            }
        }
        for now in cur
            .values
            .iter()
            .filter(|v| v.state != ElementState::Removed && !base.values.iter().any(|b| b.number == v.number))
        {
            let span = en
                .and_then(|e| e.values.iter().find(|v| v.name == now.name))
                .map(|v| v.span)
                .unwrap_or(Span::new(FileId(0), 0, 0));
            let element = format!("{key}.{}", now.name);
            if base.values.iter().any(|b| b.state == ElementState::Removed && b.name == now.name) {
                out.push(
                    c::EC003,
                    element.clone(),
                    format!("enum value `{}` reuses a removed value's name", now.name),
                    span,
                );
            }
            out.push(c::EC018, element, format!("enum value `{}` was added", now.name), span);
        }
    }
}

/// LC002: every DEPRECATED entity says since when, until when and what replaces it.
fn lifecycle_metadata(out: &mut Out<'_>) {
    for e in out.input.model.entities() {
        if e.manifest.state != EntityState::Deprecated {
            continue;
        }
        let mut missing = Vec::new();
        if e.manifest.deprecated_since.is_none() {
            missing.push("deprecatedSince");
        }
        if e.manifest.sunset.is_none() {
            missing.push("sunset");
        }
        if e.manifest.replaced_by.is_none() {
            missing.push("replacedBy");
        }
        if !missing.is_empty() {
            let msg = format!("the DEPRECATED `{}` has no {}", e.name, missing.join(", "));
            out.push(c::LC002, e.name.clone(), msg, e.manifest.span);
        }
    }
}
