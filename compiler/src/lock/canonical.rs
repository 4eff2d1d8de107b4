//! Reads a lock in exactly the form `format::write` gives it, without a TOML
//! parser, or declines.
//!
//! Why: a lock pins every number of every schema, so it grows with them (2.6
//! MB for 2,000 entities), and reading it through `toml` took about 60 ms of
//! the front end's 140 on the synthetic tree — the whole of a no-op rerun's
//! critical path until parsing ends. Nearly every lock a build reads is one
//! the build itself wrote, byte for byte canonical.
//!
//! The contract: `read` returns `Some` only for text whose every line is
//! canonical (the comment header, `version = 1`, table headers, `key = value`
//! lines and one inline table per field or enum value, each key in the order
//! `write` puts it, strings without escapes, numbers in plain decimal), and
//! then exactly what `toml` would have deserialized, spans included. Anything
//! else — a hand edit, a merge conflict, a repeated table, a missing key —
//! returns `None`, and the TOML reader takes over with its diagnostics. The
//! tests hold both readers to that on written and on mangled locks.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use toml::Spanned;

use super::format::{RawEntity, RawEnum, RawField, RawLock, RawMessage, RawValue};

/// The lock of canonical `text`, or `None` if any of it is not canonical.
pub(super) fn read(text: &str) -> Option<RawLock> {
    // Every line, the last one too, ends in a newline (see `Lines::next`).
    if !text.is_empty() && !text.ends_with('\n') {
        return None;
    }
    let mut lines = Lines { text, at: 0 };
    let mut version = None;
    let mut lock = RawLock {
        version: Spanned::new(0..0, 0),
        entities: BTreeMap::new(),
        structs: BTreeMap::new(),
        enums: BTreeMap::new(),
    };
    while let Some((start, line)) = lines.next() {
        if line.is_empty() {
            continue;
        }
        if line.starts_with('#') {
            // TOML allows no control character but tab in a comment.
            if line.chars().any(|c| c.is_control() && c != '\t') {
                return None;
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix("version = ") {
            // After a table header, `version` would be that table's key.
            let first_table = lock.entities.is_empty() && lock.structs.is_empty() && lock.enums.is_empty();
            if version.is_some() || !first_table {
                return None;
            }
            let at = start + "version = ".len();
            version = Some(Spanned::new(at..at + rest.len(), number(rest)?));
            continue;
        }
        let header = line.strip_prefix('[')?.strip_suffix(']')?;
        let (section, key) = header.split_once('.')?;
        let name = table_key(key)?;
        match section {
            "entities" => insert(&mut lock.entities, name, entity(&mut lines)?)?,
            "structs" => insert(&mut lock.structs, name, message(&mut lines)?)?,
            "enums" => insert(&mut lock.enums, name, enumeration(&mut lines)?)?,
            _ => return None,
        }
    }
    lock.version = version?;
    Some(lock)
}

/// Lines with the offset each starts at; every line ends in `\n`.
struct Lines<'t> {
    text: &'t str,
    at: usize,
}

impl<'t> Lines<'t> {
    fn next(&mut self) -> Option<(usize, &'t str)> {
        let rest = &self.text[self.at..];
        if rest.is_empty() {
            return None;
        }
        let end = rest.find('\n').expect("`read` declines text whose last line has no newline");
        let start = self.at;
        self.at += end + 1;
        Some((start, &rest[..end]))
    }

    /// The next line if it is `key = <value>`: the value and where it starts.
    fn value_of(&mut self, key: &str) -> Option<(usize, &'t str)> {
        let (start, line) = self.peek()?;
        let value = line.strip_prefix(key)?.strip_prefix(" = ")?;
        self.next();
        Some((start + key.len() + 3, value))
    }

    fn peek(&self) -> Option<(usize, &'t str)> {
        Lines { text: self.text, at: self.at }.next()
    }
}

fn insert<T>(map: &mut BTreeMap<String, T>, name: String, value: T) -> Option<()> {
    match map.entry(name) {
        Entry::Vacant(v) => {
            v.insert(value);
            Some(())
        }
        // TOML refuses a table defined twice: its reader reports where.
        Entry::Occupied(_) => None,
    }
}

fn entity(lines: &mut Lines<'_>) -> Option<RawEntity> {
    let (_, product) = lines.value_of("product")?;
    let (at, entity_type) = lines.value_of("entity_type")?;
    let (state_at, state) = lines.value_of("state")?;
    Some(RawEntity {
        product: string(product)?,
        entity_type: Spanned::new(at..at + entity_type.len(), number(entity_type)?),
        state: Spanned::new(state_at..state_at + state.len(), string(state)?),
        removed: removed(lines)?,
        fields: list(lines, "fields", field)?,
    })
}

fn message(lines: &mut Lines<'_>) -> Option<RawMessage> {
    Some(RawMessage { removed: removed(lines)?, fields: list(lines, "fields", field)? })
}

fn enumeration(lines: &mut Lines<'_>) -> Option<RawEnum> {
    Some(RawEnum { removed: removed(lines)?, values: list(lines, "values", value)? })
}

/// An optional `removed = true` line (`write` never spells `false`).
fn removed(lines: &mut Lines<'_>) -> Option<bool> {
    match lines.value_of("removed") {
        Some((_, "true")) => Some(true),
        Some(_) => None,
        None => Some(false),
    }
}

/// `key = [`, one `  { … },` line per item read by `item`, `]`.
fn list<T>(lines: &mut Lines<'_>, key: &str, item: fn(&mut Inline<'_>) -> Option<T>) -> Option<Vec<T>> {
    let (_, "[") = lines.value_of(key)? else { return None };
    let mut out = Vec::new();
    loop {
        let (start, line) = lines.next()?;
        if line == "]" {
            return Some(out);
        }
        let body = line.strip_prefix("  { ")?.strip_suffix(" },")?;
        let mut inline = Inline { rest: body, at: start + "  { ".len(), first: true };
        let parsed = item(&mut inline)?;
        if !inline.rest.is_empty() {
            return None;
        }
        out.push(parsed);
    }
}

fn field(i: &mut Inline<'_>) -> Option<RawField> {
    let number = i.required("number", self::number)?;
    let name = i.required("name", string)?;
    let ty = i.required("type", string)?.into_inner();
    let optional = i.flag("optional")?;
    let key = i.flag("key")?;
    let state = i.optional("state", string)?;
    Some(RawField { number, name, ty, optional, key, state })
}

fn value(i: &mut Inline<'_>) -> Option<RawValue> {
    let number = i.required("number", self::number)?;
    let name = i.required("name", string)?;
    let state = i.optional("state", string)?;
    Some(RawValue { number, name, state })
}

/// The inside of one inline table: `key = value` pairs joined by `, `.
struct Inline<'t> {
    rest: &'t str,
    /// Where `rest` starts in the text.
    at: usize,
    first: bool,
}

impl<'t> Inline<'t> {
    /// The pair `key = …` if it comes next: its value's text and offset.
    fn take(&mut self, key: &str) -> Option<(usize, &'t str)> {
        let sep = if self.first { "" } else { ", " };
        let after_key = self.rest.strip_prefix(sep)?.strip_prefix(key)?.strip_prefix(" = ")?;
        let skipped = self.rest.len() - after_key.len();
        // A value runs to the next `, ` outside a string; strings hold no
        // escapes here, so the first quote after the opening one closes it.
        let len = match after_key.strip_prefix('"') {
            Some(s) => s.find('"')? + 2,
            None => after_key.find(", ").unwrap_or(after_key.len()),
        };
        let start = self.at + skipped;
        self.rest = &after_key[len..];
        self.at = start + len;
        self.first = false;
        Some((start, &after_key[..len]))
    }

    fn required<T>(&mut self, key: &str, parse: fn(&str) -> Option<T>) -> Option<Spanned<T>> {
        let (start, text) = self.take(key)?;
        Some(Spanned::new(start..start + text.len(), parse(text)?))
    }

    /// `Some(None)` when the key does not come next.
    fn optional<T>(&mut self, key: &str, parse: fn(&str) -> Option<T>) -> Option<Option<Spanned<T>>> {
        if !self.comes_next(key) {
            return Some(None);
        }
        self.required(key, parse).map(Some)
    }

    /// `key = true` if it comes next; `write` never spells `false`.
    fn flag(&mut self, key: &str) -> Option<bool> {
        if !self.comes_next(key) {
            return Some(false);
        }
        match self.take(key)? {
            (_, "true") => Some(true),
            _ => None,
        }
    }

    fn comes_next(&self, key: &str) -> bool {
        let sep = if self.first { "" } else { ", " };
        self.rest.strip_prefix(sep).and_then(|r| r.strip_prefix(key)).is_some_and(|r| r.starts_with(" = "))
    }
}

/// A plain decimal `u32`: no sign, underscores or leading zeros (TOML has
/// rules for those; `write` never uses them).
fn number(text: &str) -> Option<u32> {
    let canonical =
        !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) && (text == "0" || !text.starts_with('0'));
    if canonical { text.parse().ok() } else { None }
}

/// A basic string without escapes or control characters, with its quotes.
fn string(text: &str) -> Option<String> {
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    let plain = !inner.contains(['"', '\\']) && !inner.chars().any(char::is_control);
    plain.then(|| inner.to_string())
}

/// A table name as `write` spells it: bare (ASCII letters, digits, `_`, `-`)
/// or quoted.
fn table_key(text: &str) -> Option<String> {
    let bare = !text.is_empty() && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if bare { Some(text.to_string()) } else { string(text) }
}

#[cfg(test)]
mod tests;
