//! Rendering diagnostics: rustc-style text (via annotate-snippets) and stable JSON.

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use serde::Serialize;

use super::{Diagnostic, Diagnostics, Severity};
use crate::source::{FileId, SourceDb, Span};

/// How diagnostics are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// rustc-style text with the offending source lines underlined.
    Text,
    /// One JSON document (see `render_json`).
    Json,
}

/// Renders in `format`; `color` only affects text.
pub fn render(db: &SourceDb, diags: &Diagnostics, format: Format, color: bool) -> String {
    match format {
        Format::Text => render_text(db, diags, color),
        Format::Json => render_json(db, diags),
    }
}

/// rustc-style text: one block per diagnostic, then a summary line.
pub fn render_text(db: &SourceDb, diags: &Diagnostics, color: bool) -> String {
    let renderer = if color { Renderer::styled() } else { Renderer::plain() };
    let mut out = String::new();
    for d in diags {
        out.push_str(&renderer.render(&report(db, d)));
        out.push_str("\n\n");
    }
    let (errors, warnings) = (diags.error_count(), diags.warning_count());
    if errors + warnings > 0 {
        let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
        let level = if errors > 0 { "error" } else { "warning" };
        out.push_str(&format!("{level}: {}, {}\n", plural(errors, "error"), plural(warnings, "warning")));
    }
    out
}

fn report<'a>(db: &'a SourceDb, d: &'a Diagnostic) -> Vec<Group<'a>> {
    let level = match d.severity {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
    };
    let mut group = Group::with_title(level.primary_title(d.message.as_str()).id(d.code.id));
    // One snippet per file, in order of first appearance; the primary file first.
    let mut files: Vec<FileId> = Vec::new();
    let mut ordered: Vec<_> = d.labels.iter().collect();
    ordered.sort_by_key(|l| !l.primary);
    for l in &ordered {
        if !files.contains(&l.span.file) {
            files.push(l.span.file);
        }
    }
    for file in files {
        let src = db.get(file);
        let mut snippet = Snippet::source(src.text.as_str()).path(src.path.as_str()).fold(true);
        for l in d.labels.iter().filter(|l| l.span.file == file) {
            let kind = if l.primary { AnnotationKind::Primary } else { AnnotationKind::Context };
            snippet = snippet.annotation(kind.span(byte_range(&src.text, l.span)).label(l.message.as_str()));
        }
        group = group.element(snippet);
    }
    if let Some(help) = &d.help {
        group = group.element(Level::HELP.message(help.as_str()));
    }
    for note in &d.notes {
        group = group.element(Level::NOTE.message(note.as_str()));
    }
    vec![group]
}

/// A span clamped to the text and to char boundaries (never panics on bad spans).
fn byte_range(text: &str, span: Span) -> std::ops::Range<usize> {
    let clamp = |mut i: usize| {
        i = i.min(text.len());
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let start = clamp(span.start as usize);
    let end = clamp(span.end as usize).max(start);
    start..end
}

/// The JSON document `--format json` prints. Its shape is stable: fields are only
/// ever added.
#[derive(Serialize)]
struct JsonReport<'a> {
    diagnostics: Vec<JsonDiagnostic<'a>>,
    errors: usize,
    warnings: usize,
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    code: &'static str,
    name: &'static str,
    severity: &'static str,
    message: &'a str,
    /// The primary location, absent for diagnostics about no file.
    #[serde(skip_serializing_if = "Option::is_none")]
    location: Option<JsonLocation<'a>>,
    labels: Vec<JsonLabel<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    help: Option<&'a str>,
    notes: &'a [String],
}

#[derive(Serialize)]
struct JsonLabel<'a> {
    #[serde(flatten)]
    location: JsonLocation<'a>,
    message: &'a str,
    primary: bool,
}

#[derive(Serialize)]
struct JsonLocation<'a> {
    file: &'a str,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
}

fn location(db: &SourceDb, span: Span) -> JsonLocation<'_> {
    let f = db.get(span.file);
    let (line, column) = f.line_col(span.start);
    let (end_line, end_column) = f.line_col(span.end);
    JsonLocation { file: f.path.as_str(), line, column, end_line, end_column }
}

/// The diagnostics as one pretty-printed JSON document (see `JsonReport`).
pub fn render_json(db: &SourceDb, diags: &Diagnostics) -> String {
    let report = JsonReport {
        diagnostics: diags
            .iter()
            .map(|d| JsonDiagnostic {
                code: d.code.id,
                name: d.code.name,
                severity: d.severity.as_str(),
                message: &d.message,
                location: d.primary_span().map(|s| location(db, s)),
                labels: d
                    .labels
                    .iter()
                    .map(|l| JsonLabel { location: location(db, l.span), message: &l.message, primary: l.primary })
                    .collect(),
                help: d.help.as_deref(),
                notes: &d.notes,
            })
            .collect(),
        errors: diags.error_count(),
        warnings: diags.warning_count(),
    };
    let mut s = serde_json::to_string_pretty(&report).expect("diagnostics serialize");
    s.push('\n');
    s
}
