//! `manifold check` output: rustc-style text, JSON, SARIF 2.1.0 and GitHub Actions
//! workflow annotations.

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use serde_json::json;

use super::catalogue::{self, Severity};
use super::{Finding, Report};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum CheckFormat {
    Text,
    Json,
    Sarif,
    Github,
}

pub fn render(report: &Report, format: CheckFormat, color: bool) -> String {
    match format {
        CheckFormat::Text => text(report, color),
        CheckFormat::Json => json_report(report),
        CheckFormat::Sarif => sarif(report),
        CheckFormat::Github => github(report),
    }
}

struct Loc<'a> {
    file: &'a str,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
}

fn loc<'a>(report: &'a Report, f: &Finding) -> Loc<'a> {
    let src = report.db.get(f.span.file);
    let (line, column) = src.line_col(f.span.start);
    let (end_line, end_column) = src.line_col(f.span.end);
    Loc { file: &src.path, line, column, end_line, end_column }
}

fn text(report: &Report, color: bool) -> String {
    let renderer = if color { Renderer::styled() } else { Renderer::plain() };
    let mut out = String::new();
    for f in &report.findings {
        let level = match f.severity {
            Severity::Error => Level::ERROR,
            Severity::Warn => Level::WARNING,
            Severity::Info => Level::INFO,
        };
        let src = report.db.get(f.span.file);
        let range = f.span.start as usize..f.span.end as usize;
        let group = Group::with_title(level.primary_title(f.message.as_str()).id(f.rule.id))
            .element(
                Snippet::source(src.text.as_str())
                    .path(src.path.as_str())
                    .fold(true)
                    .annotation(AnnotationKind::Primary.span(range).label(f.rule.catches)),
            )
            .element(Level::HELP.message(f.rule.safe_path))
            .element(Level::NOTE.message(format!("same as: {}", f.rule.anchors)));
        out.push_str(&renderer.render(&[group]));
        out.push_str("\n\n");
    }
    let (e, w, i) = (report.count(Severity::Error), report.count(Severity::Warn), report.count(Severity::Info));
    let verdict = if report.is_breaking() { "error" } else { "check" };
    let count = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let (e, w, i) = (count(e, "error", "errors"), count(w, "warning", "warnings"), count(i, "note", "notes"));
    out.push_str(&format!("{verdict}: {e}, {w} without an override, {i}\n"));
    out
}

fn json_report(report: &Report) -> String {
    let findings: Vec<_> = report
        .findings
        .iter()
        .map(|f| {
            let l = loc(report, f);
            json!({
                "rule": f.rule.id,
                "severity": f.severity,
                "element": f.element,
                "message": f.message,
                "location": {"file": l.file, "line": l.line, "column": l.column, "end_line": l.end_line, "end_column": l.end_column},
                "catches": f.rule.catches,
                "safe_path": f.rule.safe_path,
                "anchors": f.rule.anchors,
            })
        })
        .collect();
    let doc = json!({
        "findings": findings,
        "errors": report.count(Severity::Error),
        "warnings": report.count(Severity::Warn),
        "infos": report.count(Severity::Info),
        "breaking": report.is_breaking(),
    });
    let mut s = serde_json::to_string_pretty(&doc).expect("serializes");
    s.push('\n');
    s
}

fn sarif_level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warn => "warning",
        Severity::Info => "note",
    }
}

fn sarif(report: &Report) -> String {
    let rules: Vec<_> = catalogue::ALL
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "shortDescription": {"text": r.catches},
                "help": {"text": format!("{} (same as: {})", r.safe_path, r.anchors)},
                "defaultConfiguration": {"level": sarif_level(r.severity)},
            })
        })
        .collect();
    let results: Vec<_> = report
        .findings
        .iter()
        .map(|f| {
            let l = loc(report, f);
            let index = catalogue::ALL.iter().position(|r| r.id == f.rule.id).unwrap_or(0);
            json!({
                "ruleId": f.rule.id,
                "ruleIndex": index,
                "level": sarif_level(f.severity),
                "message": {"text": format!("{} — {}", f.message, f.rule.safe_path)},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": l.file},
                        "region": {"startLine": l.line, "startColumn": l.column, "endLine": l.end_line, "endColumn": l.end_column.max(l.column + usize::from(l.end_line == l.line))},
                    },
                    "logicalLocations": [{"fullyQualifiedName": f.element}],
                }],
            })
        })
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "manifold", "version": env!("CARGO_PKG_VERSION"), "informationUri": "https://example.invalid/manifold", "rules": rules}},
            "results": results,
        }],
    });
    let mut s = serde_json::to_string_pretty(&doc).expect("serializes");
    s.push('\n');
    s
}

/// `::error file=…,line=…,col=…,title=…::message`, escaped as GitHub requires.
fn github(report: &Report) -> String {
    let esc = |s: &str| s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A");
    let prop = |s: &str| esc(s).replace(':', "%3A").replace(',', "%2C");
    let mut out = String::new();
    for f in &report.findings {
        let l = loc(report, f);
        let kind = match f.severity {
            Severity::Error => "error",
            Severity::Warn => "warning",
            Severity::Info => "notice",
        };
        out.push_str(&format!(
            "::{kind} file={},line={},col={},endLine={},endColumn={},title={}::{}\n",
            prop(l.file),
            l.line,
            l.column,
            l.end_line,
            l.end_column,
            prop(&format!("{} {}", f.rule.id, f.element)),
            esc(&format!("{}. Safe path: {}", f.message, f.rule.safe_path))
        ));
    }
    out
}
