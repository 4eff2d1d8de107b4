//! The evolution corpus: each case under `fixtures/evolve/<case>/` holds
//! `before/` and `after/` schema trees (product folders; the base declarations are
//! added) and `expect.txt`, one line per finding: `RULE file:line:col`, where
//! `file` is a path in `after/` or `baseline.lock` (the lock built from
//! `before/`, for removed elements). `# safe` cases expect no finding at all.
//! The baseline is the lock of `before/`; the check runs with today = 2026-11-26.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use manifold_compiler::evolve::{self, Severity};
use manifold_compiler::{compile, diag};

fn cases() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/evolve");
    let mut v: Vec<PathBuf> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    v.sort();
    v
}

fn tree(from: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                copy(&e.path(), &to.join(e.file_name()));
            } else {
                std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
            }
        }
    }
    copy(from, dir.path());
    std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas/manifold.ts"), dir.path().join("manifold.ts"))
        .unwrap();
    dir
}

type Found = BTreeSet<(String, String, usize, usize)>;

fn run_case(case: &Path) -> (Found, String, evolve::Report) {
    let before = tree(&case.join("before"));
    let b = compile(before.path(), "").unwrap();
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
    let report = evolve::check(a, "baseline.lock", &b.lock_text, "2026-11-26");
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
