//! A hand-edited lock in the change: the lock a change carries must be what the
//! baseline dictates (`lock::assign(current, baseline)`); an entry that disagrees
//! was edited. EC001: a number changed; EC005 / EC017: a field / enum value
//! renamed under the same number; EC004: a reservation dropped.

use super::Finding;
use super::catalogue::{self as c, Rule};
use crate::lock::{ElementState, Lock, LockedField, LockedValue, entry_span, table_header};
use crate::source::{FileId, Span};

/// `pr` is the lock the change carries (file `file` with `text`), `expected` the
/// lock the baseline dictates.
pub fn run(pr: &Lock, expected: &Lock, file: FileId, text: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    let span = |header: &str, name: Option<&str>| entry_span(text, file, header, name);
    let mut push = |rule: &'static Rule, element: String, message: String, span: Span| {
        out.push(Finding { rule, severity: rule.severity, element, message, span })
    };
    for (name, e) in &pr.entities {
        let Some(want) = expected.entities.get(name) else { continue };
        let header = table_header("entities", name);
        if e.entity_type != want.entity_type {
            let msg = format!(
                "the lock gives `{name}` entity_type {} where the baseline has {}",
                e.entity_type, want.entity_type
            );
            push(c::EC001, name.clone(), msg, span(&header, None));
        }
        fields(&mut push, name, &header, &e.fields, &want.fields, &span);
    }
    for (name, s) in &pr.structs {
        if let Some(want) = expected.structs.get(name) {
            fields(&mut push, name, &table_header("structs", name), &s.fields, &want.fields, &span);
        }
    }
    for (name, en) in &pr.enums {
        let Some(want) = expected.enums.get(name) else { continue };
        let header = table_header("enums", name);
        values(&mut push, name, &en.values, &want.values, &span(&header, None), |v| span(&header, Some(v)));
    }
    out
}

fn fields(
    push: &mut impl FnMut(&'static Rule, String, String, Span),
    owner: &str,
    header: &str,
    pr: &[LockedField],
    want: &[LockedField],
    span: &impl Fn(&str, Option<&str>) -> Span,
) {
    for f in pr {
        let element = format!("{owner}.{}", f.name);
        if let Some(w) = want.iter().find(|w| w.number == f.number)
            && w.name != f.name
        {
            let msg = format!("the lock renames field number {} from `{}` to `{}`", f.number, w.name, f.name);
            push(c::EC005, element, msg, span(header, Some(&f.name)));
        } else if let Some(w) = want.iter().find(|w| w.name == f.name && w.state == f.state && w.number != f.number) {
            let msg = format!("the lock gives `{}` number {} where the baseline has {}", f.name, f.number, w.number);
            push(c::EC001, element, msg, span(header, Some(&f.name)));
        }
    }
    for w in want.iter().filter(|w| w.state == ElementState::Removed && !pr.iter().any(|f| f.number == w.number)) {
        let msg = format!("the lock dropped the reservation of number {} (`{}`)", w.number, w.name);
        push(c::EC004, format!("{owner}.{}", w.name), msg, span(header, None));
    }
}

fn values(
    push: &mut impl FnMut(&'static Rule, String, String, Span),
    owner: &str,
    pr: &[LockedValue],
    want: &[LockedValue],
    table: &Span,
    span: impl Fn(&str) -> Span,
) {
    for v in pr {
        let element = format!("{owner}.{}", v.name);
        if let Some(w) = want.iter().find(|w| w.number == v.number)
            && w.name != v.name
        {
            let msg = format!("the lock renames enum value number {} from `{}` to `{}`", v.number, w.name, v.name);
            push(c::EC017, element, msg, span(&v.name));
        } else if let Some(w) = want.iter().find(|w| w.name == v.name && w.number != v.number) {
            let msg = format!("the lock renumbers `{}` from {} to {}", v.name, w.number, v.number);
            push(c::EC016, element, msg, span(&v.name));
        }
    }
    for w in want.iter().filter(|w| w.state == ElementState::Removed && !pr.iter().any(|v| v.number == w.number)) {
        let msg = format!("the lock dropped the reservation of enum number {} (`{}`)", w.number, w.name);
        push(c::EC004, format!("{owner}.{}", w.name), msg, *table);
    }
}
