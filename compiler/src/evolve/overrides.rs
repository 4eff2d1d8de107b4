//! Scoped overrides: `/** @allow <RULE> <reason> */` on one element (an entity, a
//! field, a struct field or an enum value) accepts a WARN finding of that rule on
//! exactly that element. An override expires by itself: once the baseline has
//! moved and the finding is gone, it matches nothing and is reported so it can be
//! removed. ERROR rules cannot be overridden; a malformed override is EC024.

use super::Finding;
use super::catalogue::{self as c, Severity};
use crate::model::{Allow, Model};

/// Every `@allow` of the Model with the element name findings use.
fn allows(model: &Model) -> Vec<(String, &Allow)> {
    let mut out = Vec::new();
    for p in &model.products {
        for e in &p.entities {
            out.extend(e.allows.iter().map(|a| (e.name.clone(), a)));
            for f in &e.fields {
                out.extend(f.allows.iter().map(|a| (format!("{}.{}", e.name, f.name), a)));
            }
        }
        for s in &p.structs {
            for f in &s.fields {
                out.extend(f.allows.iter().map(|a| (format!("{}.{}.{}", p.name, s.name, f.name), a)));
            }
        }
        for en in &p.enums {
            for v in &en.values {
                out.extend(v.allows.iter().map(|a| (format!("{}.{}.{}", p.name, en.name, v.name), a)));
            }
        }
    }
    out
}

pub fn apply(model: &Model, findings: &mut Vec<Finding>) {
    let mut extra = Vec::new();
    for (element, allow) in allows(model) {
        let bad = |message: String| Finding {
            rule: c::EC024,
            severity: Severity::Error,
            element: element.clone(),
            message,
            span: allow.span,
        };
        let Some(rule) = c::lookup(&allow.rule) else {
            extra.push(bad(format!("`@allow {}` names no rule of `manifold check`", allow.rule)));
            continue;
        };
        if allow.reason.is_empty() {
            extra.push(bad(format!("`@allow {}` on `{element}` gives no reason", rule.id)));
            continue;
        }
        if rule.severity == Severity::Error {
            extra.push(bad(format!("{} is an ERROR rule; it cannot be overridden (on `{element}`)", rule.id)));
            continue;
        }
        let mut matched = false;
        for f in
            findings.iter_mut().filter(|f| f.element == element && f.rule.id == rule.id && f.severity == Severity::Warn)
        {
            f.severity = Severity::Info;
            f.message = format!("{} (accepted: {})", f.message, allow.reason);
            matched = true;
        }
        if !matched {
            extra.push(Finding {
                severity: Severity::Info,
                message: format!("`@allow {}` on `{element}` matches no finding any more; remove it", rule.id),
                ..bad(String::new())
            });
        }
    }
    findings.extend(extra);
}
