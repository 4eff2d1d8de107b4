//! Rules that need the baseline's Model (a baseline compiled from a git ref):
//! owner changes (LC008) and the team models' contracts — a writer weakened from
//! merge to append, a model turned analytics or deleted (EC013), its key or
//! partitioning changed (EC021), a column's type changed (EC006) or removed
//! (EC002), for ingestion models as they lower, for analytics models as their
//! tables derive — and what
//! else changes what an ingestion model computes (EC025: the merge step fills
//! its table again). A team model may be deleted after the
//! `deprecation_date` its config gave in the baseline; a date set sooner than
//! the project's deprecation window is LC007. A team model's new `ref()` to
//! a deprecated team model, or to the model of a DEPRECATED or RETIRED
//! entity, is LC005.

use super::Finding;
use super::catalogue::{self as c, Rule};
use std::collections::BTreeMap;

use crate::emit::dbt::{self, DbtModel, Kind, Origin, Writer};
use crate::emit::table::derive::{ColType, Column};
use crate::lower;
use crate::model::{EntityState, Model, date};
use crate::source::Span;

/// The two trees, and what the deprecation dates are compared with.
pub struct Trees<'a> {
    pub current: &'a Model,
    /// The current tree's team models and the generated models they
    /// `ref()` (`dbt::team_models`).
    pub current_models: &'a [DbtModel],
    /// Their tables' columns, by model (`table::Tables::models`).
    pub current_columns: &'a BTreeMap<String, Vec<Column>>,
    /// The baseline's team models with the generated models they `ref()`,
    /// and their columns (both empty when the baseline has no team model).
    pub base_models: &'a [DbtModel],
    pub base_columns: &'a BTreeMap<String, Vec<Column>>,
    pub base: &'a Model,
    /// Where the baseline's files start in the report's database.
    pub offset: u32,
    /// `YYYY-MM-DD`.
    pub today: &'a str,
    /// The project's deprecation window (0: one release).
    pub window_days: u32,
}

pub fn run(t: &Trees<'_>) -> Vec<Finding> {
    let Trees { current, current_models, current_columns, base_models, base_columns, base, offset, today, window_days } =
        *t;
    let today_days = date::days_from_civil(today).unwrap_or(0);
    let before = base_models;
    let mut out = deprecated_refs(current, current_models, before);
    let mut push = |rule: &'static Rule, element: String, message: String, span: Span| {
        out.push(Finding { rule, severity: rule.severity, element, message, span })
    };
    for e in current.entities() {
        if let Some(b) = base.entity_by_name(&e.name)
            && b.manifest.owner != e.manifest.owner
        {
            let msg = format!("`{}` moved from team {} to {}", e.name, b.manifest.owner, e.manifest.owner);
            push(c::LC008, e.name.clone(), msg, e.manifest.span);
        }
    }
    // The rules below pair the baseline's team models: without any, nothing
    // to pair.
    if before.is_empty() {
        return out;
    }
    let now = current_models;
    for b in before.iter().filter(|m| matches!(m.origin, Origin::User { .. })) {
        let base_span = |m: &DbtModel| match m.origin {
            Origin::User { file } => Span::new(file, 0, 0).shifted(offset),
            Origin::Generated { .. } => Span::new(crate::source::FileId(offset), 0, 0),
        };
        // A model's table is `<product>.<model>`: one moved to another
        // product makes another table, and its old one loses its producer.
        let Some(n) = now.iter().find(|m| m.name == b.name && m.product == b.product) else {
            // After its deprecation date a model may go, as dbt lets a model
            // with an enforced contract go only then.
            let deadline = b.deprecation_date.as_deref();
            if deadline.and_then(date::days_from_civil).is_some_and(|d| d <= today_days) {
                continue;
            }
            let what = match now.iter().find(|m| m.name == b.name) {
                Some(moved) => {
                    format!("the team model `{}` moved from product `{}` to `{}`", b.name, b.product, moved.product)
                }
                None => format!("the team model `{}` was deleted", b.name),
            };
            let table = format!("its table `{}.{}` loses its producer", b.product, b.name);
            let msg = match deadline {
                Some(day) => format!("{what} before its deprecation date {day}; {table}"),
                None => format!(
                    "{what}; {table}: give it a `deprecation_date` in its config first, and delete it after that day"
                ),
            };
            push(c::EC013, b.name.clone(), msg, base_span(b));
            continue;
        };
        let here = match n.origin {
            Origin::User { file } => {
                let um = current.products.iter().flat_map(|p| &p.models).find(|u| u.file == file);
                let line = um.map(|u| u.sql.lines().position(|l| l.contains("config(")).unwrap_or(0) + 1).unwrap_or(1);
                um.map(|u| dbt::line_span(u, line)).unwrap_or(Span::new(file, 0, 0))
            }
            Origin::Generated { .. } => base_span(b),
        };
        // A deprecation date set, or moved earlier, gives its readers the
        // project's window at least.
        if let Some(day) = n.deprecation_date.as_deref()
            && window_days > 0
            && b.deprecation_date.as_deref().is_none_or(|was| day < was)
            && date::days_from_civil(day).is_some_and(|d| d - today_days < i64::from(window_days))
        {
            let msg = format!(
                "`{}` may be deleted after {day}, sooner than the project's deprecation window of {window_days} days \
                 from today ({today})",
                n.name
            );
            push(c::LC007, n.name.clone(), msg, here);
        }
        let mut contract_broken = true;
        match (b.kind, n.kind) {
            (Kind::Ingestion(Writer::Merge | Writer::MergeExploded), Kind::Ingestion(Writer::Append)) => {
                push(c::EC013, n.name.clone(), format!("`{}` changed its writer from merge to append", n.name), here)
            }
            (Kind::Ingestion(_), Kind::Analytics) => {
                push(c::EC013, n.name.clone(), format!("`{}` stopped being an ingestion model", n.name), here)
            }
            _ => contract_broken = false,
        }
        if b.key != n.key {
            let msg = format!("`{}` changed its key from {:?} to {:?}", n.name, b.key, n.key);
            push(c::EC021, n.name.clone(), msg, here);
            contract_broken = true;
        }
        if b.partition_by != n.partition_by {
            let msg =
                format!("`{}` changed its partitioning from {:?} to {:?}", n.name, b.partition_by, n.partition_by);
            push(c::EC021, n.name.clone(), msg, here);
            contract_broken = true;
        }
        // What an ingestion model computes, in both trees, lowered once; a
        // model that does not lower is the build's to report.
        let plans = match (b.kind, n.kind) {
            (Kind::Ingestion(_), Kind::Ingestion(_)) => {
                lower::lower_model(base, b).ok().zip(lower::lower_model(current, n).ok())
            }
            _ => None,
        };
        let Some((was, is)) = plans else {
            // An analytics model: dbt runs it, under the contract its
            // `schema.yml` enforces; its readers hold to its derived columns.
            if let (Some(was), Some(is)) = (base_columns.get(&b.name), current_columns.get(&n.name)) {
                for (rule, element, msg) in analytics_contract(&n.name, was, is) {
                    push(rule, element, msg, here);
                }
            }
            continue;
        };
        // A column's type cannot change in its Delta table (nor for its readers).
        for o in &is.outputs {
            if let Some(w) = was.outputs.iter().find(|w| w.name == o.name)
                && w.expr.ty != o.expr.ty
            {
                let msg = format!(
                    "column `{}` of `{}` changed its type from {} to {}: its table cannot take it (the merge \
                     stops until the table is deleted), and its readers read another type",
                    o.name,
                    n.name,
                    w.expr.ty.cast_name(),
                    o.expr.ty.cast_name()
                );
                push(c::EC006, format!("{}.{}", n.name, o.name), msg, here);
                contract_broken = true;
            }
        }
        // A column gone from the model is gone for its readers; its Delta
        // table keeps it, NULL in every row written from now on (and, when
        // it is NOT NULL there, the merge stops until the table is deleted).
        for w in &was.outputs {
            if !is.outputs.iter().any(|o| o.name == w.name) {
                let msg = format!(
                    "column `{}` was removed from `{}`: its readers lose it, and its table keeps it, NULL in every \
                     row the merge writes from now on (a NOT NULL one stops the merge until the table is deleted); \
                     publish a model without it beside this one and move the readers there",
                    w.name, n.name
                );
                push(c::EC002, format!("{}.{}", n.name, w.name), msg, here);
                contract_broken = true;
            }
        }
        // Its table is filled again when what it computes changes (its
        // fingerprint).
        let fingerprint = crate::emit::rust::transform::model_fingerprint;
        if !contract_broken && fingerprint(b, &was) != fingerprint(n, &is) {
            let msg = format!(
                "`{}` computes other rows than the baseline's: the next merge fills its table again from the staging \
                 table",
                n.name
            );
            push(c::EC025, n.name.clone(), msg, here);
        }
    }
    out
}

/// The contract breaks between an analytics model's columns in the baseline
/// (`was`) and now (`is`): a column removed (EC002) or retyped (EC006). A
/// column that was or is a bare `NULL` has no type to keep.
fn analytics_contract(model: &str, was: &[Column], is: &[Column]) -> Vec<(&'static Rule, String, String)> {
    let mut out = Vec::new();
    for w in was {
        match is.iter().find(|c| c.name == w.name) {
            None => out.push((
                c::EC002,
                format!("{model}.{}", w.name),
                format!(
                    "column `{}` was removed from the analytics model `{model}`: its readers lose it, and dbt's \
                     enforced contract on the model breaks; publish a model without it beside this one and move \
                     the readers there",
                    w.name
                ),
            )),
            Some(c) if c.ty != w.ty && c.ty != ColType::Null && w.ty != ColType::Null => out.push((
                c::EC006,
                format!("{model}.{}", w.name),
                format!(
                    "column `{}` of the analytics model `{model}` changed its type from {} to {}: its readers \
                     read another type, and dbt's enforced contract on the model breaks",
                    w.name,
                    type_name(&w.ty),
                    type_name(&c.ty)
                ),
            )),
            Some(_) => {}
        }
    }
    out
}

fn type_name(ty: &ColType) -> String {
    match ty {
        ColType::Primitive(t) => t.cast_name().to_string(),
        ColType::Null => "NULL".into(),
        ColType::Array(item) => format!("ARRAY<{}>", type_name(item)),
        ColType::Struct(fields) => {
            let fields: Vec<String> = fields.iter().map(|f| format!("{}: {}", f.name, type_name(&f.ty))).collect();
            format!("STRUCT<{}>", fields.join(", "))
        }
    }
}

/// LC005 for the team models of `now` (with the generated models they
/// `ref()`): each `ref()` the baseline's model of that name did not have, to
/// a team model with a `deprecation_date` (a warning: dbt's
/// DeprecatedReference) or to the model of a DEPRECATED (warning) or RETIRED
/// (error) entity.
fn deprecated_refs(current: &Model, now: &[DbtModel], before: &[DbtModel]) -> Vec<Finding> {
    let mut out = Vec::new();
    for n in now {
        let Origin::User { file } = n.origin else { continue };
        let Some(um) = current.products.iter().flat_map(|p| &p.models).find(|u| u.file == file) else { continue };
        let had = before.iter().find(|b| b.name == n.name && matches!(b.origin, Origin::User { .. }));
        for r in &n.compiled.refs {
            if had.is_some_and(|b| b.compiled.refs.contains(r)) {
                continue;
            }
            let Some(target) = now.iter().find(|m| &m.name == r) else { continue };
            let (severity, what) = match &target.origin {
                Origin::User { .. } => match &target.deprecation_date {
                    Some(day) => {
                        (c::Severity::Warn, format!("the team model `{r}`, deprecated (it may be deleted after {day})"))
                    }
                    None => continue,
                },
                Origin::Generated { entity, .. } => match current.entity_by_name(entity).map(|e| e.manifest.state) {
                    Some(EntityState::Deprecated) => {
                        (c::Severity::Warn, format!("`{r}`, the model of the DEPRECATED `{entity}`"))
                    }
                    Some(EntityState::Retired) => {
                        (c::Severity::Error, format!("`{r}`, the model of the RETIRED `{entity}`"))
                    }
                    _ => continue,
                },
            };
            let line =
                um.sql.lines().position(|l| l.contains(&format!("ref('{r}')")) || l.contains(&format!("ref(\"{r}\")")));
            let span = dbt::line_span(um, line.map_or(1, |l| l + 1));
            let message = format!("`{}` is a new reference to {what}", n.name);
            out.push(Finding { rule: c::LC005, severity, element: format!("{}.{r}", n.name), message, span });
        }
    }
    out
}
