//! The evolution corpus: each case under `fixtures/evolve/<case>/` holds
//! `before/` and `after/` schema trees (product folders; the base declarations are
//! added) and `expect.txt`, one line per finding: `RULE file:line:col`, where
//! `file` is a path in `after/`, `baseline.lock` (the lock built from
//! `before/`, for removed elements) or `before/…` (a removed team model). `# safe` cases expect no finding at all.
//! The baseline is the lock of `before/`; the check runs with today = 2026-11-26.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use manifold_compiler::evolve::{self, Severity};
use manifold_compiler::{compile, diag};

mod common;

fn cases() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/evolve");
    let mut v: Vec<PathBuf> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    v.sort();
    v
}

fn tree(from: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    common::copy_tree(from, dir.path(), &[]);
    std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas/manifold.ts"), dir.path().join("manifold.ts"))
        .unwrap();
    dir
}

type Found = BTreeSet<(String, String, usize, usize)>;

fn run_case(case: &Path) -> (Found, String, evolve::Report) {
    let before = tree(&case.join("before"));
    // Baseline files show as `before/…` (the team model a case deletes, say).
    let b = compile(before.path(), "before").unwrap();
    assert!(
        !b.diagnostics.has_errors(),
        "{}: before/ has errors:\n{}",
        case.display(),
        diag::render_text(&b.db, &b.diagnostics, false)
    );
    let after = tree(&case.join("after"));
    let a = compile(after.path(), "").unwrap();
    assert!(
        !a.diagnostics.has_errors(),
        "{}: after/ has errors:\n{}",
        case.display(),
        diag::render_text(&a.db, &a.diagnostics, false)
    );
    let lock_text = b.lock_text.clone();
    // Staging schemas released with the baseline, when a case carries them
    // (`before/generated/tables/manifold_entities/*.json`).
    let mut released_columns = std::collections::BTreeMap::new();
    if let Ok(dir) = std::fs::read_dir(case.join("before/generated/tables/manifold_entities")) {
        for e in dir {
            let path = e.unwrap().path();
            let entity = path.file_stem().unwrap().to_string_lossy().into_owned();
            released_columns.insert(entity, evolve::staging_columns(&std::fs::read_to_string(&path).unwrap()).unwrap());
        }
    }
    let baseline = evolve::Baseline { name: "baseline.lock".into(), lock_text, compiled: Some(b), released_columns };
    // A case may carry the project's check config (after/manifold.toml).
    let config = match std::fs::read_to_string(case.join("after").join(evolve::CONFIG_FILE)) {
        Ok(text) => evolve::Config::from_toml(&text).unwrap(),
        Err(_) => evolve::Config::default(),
    };
    let report = evolve::check(a, baseline, &config, "2026-11-26");
    assert!(
        !report.diagnostics.has_errors(),
        "{}: after/ does not build:\n{}",
        case.display(),
        diag::render_text(&report.db, &report.diagnostics, false)
    );
    let mut found = Found::new();
    for f in &report.findings {
        let src = report.db.get(f.span.file);
        let (line, col) = src.line_col(f.span.start);
        found.insert((f.rule.id.to_string(), src.path.clone(), line, col));
    }
    let text = evolve::render(&report, evolve::CheckFormat::Text, false);
    (found, text, report)
}

fn expected(case: &Path) -> Found {
    let text = std::fs::read_to_string(case.join("expect.txt")).unwrap();
    let mut out = Found::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let (rule, loc) = line.split_once(' ').unwrap_or_else(|| panic!("bad line `{line}`"));
        let mut parts = loc.rsplitn(3, ':');
        let col = parts.next().unwrap().parse().unwrap();
        let l = parts.next().unwrap().parse().unwrap();
        out.insert((rule.to_string(), parts.next().unwrap().to_string(), l, col));
    }
    out
}

#[test]
fn every_evolution_case_reports_exactly_its_findings() {
    let mut failures = Vec::new();
    let all = cases();
    for case in &all {
        let (found, text, _) = run_case(case);
        let want = expected(case);
        if found != want {
            failures.push(format!(
                "{}\n  expected: {want:?}\n  found:    {found:?}\n{text}",
                case.file_name().unwrap().to_string_lossy()
            ));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n\n{}", failures.len(), all.len(), failures.join("\n"));
}

#[test]
fn safe_changes_are_never_breaking() {
    for case in cases() {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("safe_") {
            let (_, text, report) = run_case(&case);
            assert!(!report.is_breaking(), "{name} is breaking:\n{text}");
            assert_eq!(report.count(Severity::Warn), 0, "{name} warns:\n{text}");
        }
    }
}

/// What a `buf breaking` finding is about.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum BufElement {
    Field { message: String, field: String },
    Enum(String),
    Message(String),
    Other(String),
}

/// Parses buf's messages (`… field "6" with name "summary" on message "JiraIssue" …`).
fn buf_element(message: &str) -> BufElement {
    let quoted = |after: &str| message.split(after).nth(1).and_then(|rest| rest.split('"').nth(1)).map(str::to_string);
    if let (Some(field), Some(msg)) = (quoted("with name "), quoted("on message ")) {
        return BufElement::Field { message: msg, field };
    }
    if let Some(e) = quoted("on enum ") {
        return BufElement::Enum(e);
    }
    if let Some(m) = quoted("message ") {
        return BufElement::Message(m);
    }
    BufElement::Other(message.to_string())
}

fn emit_protos(tree: &Path, out: &Path) {
    let c = compile(tree, "").unwrap();
    let emitted = manifold_compiler::emit(&c);
    let protos: Vec<_> =
        emitted.artifacts.into_iter().filter(|a| a.path.starts_with("proto/") && !a.path.ends_with(".binpb")).collect();
    manifold_compiler::write::write_tree(out, &protos).unwrap();
}

/// For every case: wherever the real `buf breaking` (WIRE_JSON) reports a breaking
/// change between the emitted protos of `before/` and `after/`, `manifold check`
/// reports an error for the same element. Manifold is deliberately stricter
/// where buf cannot see the history: a removal is reserved in the emitted proto
/// (buf is then silent) but still needs a deprecation release first (EC002,
/// EC016), and lifecycle, presence and key rules (LC0xx, EC011, EC012, EC021)
/// have no protobuf equivalent.
#[test]
fn manifold_errors_wherever_buf_breaking_does() {
    let buf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tools/node_modules/.bin/buf");
    assert!(buf.exists(), "buf is not installed: run scripts/setup-tools.sh (scripts/test.sh does)");
    let mut failures = Vec::new();
    let mut buf_findings = 0;
    for case in cases() {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let before = tree(&case.join("before"));
        let b = compile(before.path(), "").unwrap();
        let after = tree(&case.join("after"));
        // The after side is numbered from the baseline lock, as `manifold build` would.
        std::fs::write(after.path().join("manifold.lock"), &b.lock_text).unwrap();
        let protos = tempfile::tempdir().unwrap();
        emit_protos(before.path(), &protos.path().join("before"));
        emit_protos(after.path(), &protos.path().join("after"));
        let o = std::process::Command::new(&buf)
            // The module roots hold the emitted buf.yaml (breaking: WIRE_JSON).
            .args(["breaking", "after/proto", "--against", "before/proto", "--error-format=json"])
            .current_dir(protos.path())
            .output()
            .unwrap();
        assert!(matches!(o.status.code(), Some(0 | 100)), "{name}: buf failed: {}", String::from_utf8_lossy(&o.stderr));
        let (_, text, report) = run_case(&case);
        let errors: Vec<(String, String)> = report
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .map(|f| {
                let (owner, field) = f.element.rsplit_once('.').unwrap_or((f.element.as_str(), ""));
                let owner = owner.rsplit('.').next().unwrap_or(owner).to_string();
                (owner, manifold_compiler::model::naming::snake_case(field))
            })
            .collect();
        for line in String::from_utf8_lossy(&o.stdout).lines() {
            let finding: serde_json::Value = serde_json::from_str(line).unwrap();
            buf_findings += 1;
            let element = buf_element(finding["message"].as_str().unwrap());
            let covered = match &element {
                BufElement::Field { message, field } => errors.iter().any(|(o, f)| o == message && f == field),
                BufElement::Enum(e) => {
                    errors.iter().any(|(o, _)| o == e)
                        || report
                            .findings
                            .iter()
                            .any(|f| f.severity == Severity::Error && f.element.contains(e.as_str()))
                }
                BufElement::Message(m) => {
                    errors.iter().any(|(o, f)| o == m || f == &manifold_compiler::model::naming::snake_case(m))
                }
                BufElement::Other(_) => !errors.is_empty(),
            };
            if !covered {
                failures.push(format!("{name}: buf {} on {element:?} — manifold:\n{text}", finding["type"]));
            }
        }
    }
    assert!(failures.is_empty(), "manifold missed what buf breaking reports:\n{}", failures.join("\n"));
    assert!(buf_findings > 0, "no case made buf report anything: the agreement test would prove nothing");
}

/// The SARIF output validates against the SARIF 2.1.0 JSON schema (the one the
/// npm package `@microsoft/jest-sarif` ships), checked with Python's `jsonschema`
/// from the project's venv; and an invalid document is rejected, so the check can fail.
#[test]
fn sarif_output_validates_against_the_sarif_2_1_0_schema() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let schema = root.join("tools/node_modules/@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json");
    let python = root.join("tools/venv/bin/python");
    assert!(
        schema.exists() && python.exists(),
        "run scripts/setup-tools.sh and scripts/setup-python.sh (scripts/test.sh does)"
    );
    // Every case's findings as SARIF (errors, warnings, notes; locations in schema
    // files and in the baseline lock), plus one invalid document that must fail.
    let dir = tempfile::tempdir().unwrap();
    let mut results = 0;
    for case in cases() {
        let (_, _, report) = run_case(&case);
        results += report.findings.len();
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        std::fs::write(
            dir.path().join(format!("{name}.sarif")),
            evolve::render(&report, evolve::CheckFormat::Sarif, false),
        )
        .unwrap();
    }
    assert!(results > 0);
    std::fs::write(dir.path().join("zz_invalid.sarif"), r#"{"version": "2.1.0", "runs": [{"tool": {}}]}"#).unwrap();
    let script = "import json,sys,glob,os,jsonschema\n\
                  v=jsonschema.Draft4Validator(json.load(open(sys.argv[1])))\n\
                  for p in sorted(glob.glob(os.path.join(sys.argv[2], '*.sarif'))):\n\
                  \x20   errs=list(v.iter_errors(json.load(open(p))))\n\
                  \x20   print(os.path.basename(p), 'valid' if not errs else 'INVALID: ' + errs[0].message)";
    let o = std::process::Command::new(&python).args(["-c", script]).arg(&schema).arg(dir.path()).output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), cases().len() + 1, "{out}");
    for line in &lines {
        if line.starts_with("zz_invalid") {
            assert!(line.contains("INVALID"), "the validator accepted a run without a driver: {line}");
        } else {
            assert!(line.ends_with(" valid"), "invalid SARIF: {line}");
        }
    }
}

/// `schemas/manifold.toml` tunes severities: an optional field added (EC023, an
/// INFO by default) blocks when the project makes it an error.
#[test]
fn a_project_config_tunes_severities() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/evolve/config_severity_raised");
    let (_, text, report) = run_case(&dir);
    assert!(report.is_breaking(), "{text}");
    assert_eq!(report.findings[0].severity, Severity::Error);
    let (_, text, report) = run_case(&dir.with_file_name("safe_add_optional_field"));
    assert!(!report.is_breaking(), "{text}");
    assert_eq!(report.findings[0].severity, Severity::Info);
}
