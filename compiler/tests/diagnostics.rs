//! The invalid-schema corpus: every fixture under `fixtures/invalid/` must produce
//! exactly the diagnostics it declares — code, file, line and column — no more, no
//! fewer.
//!
//! A fixture is either
//! - one file `NNN_name.ts`, compiled as `schemas/fx/NNN_name.ts` beside the real
//!   base declarations, with its expectations in header comments:
//!   `// expect: M010 10:12` (line:column of the primary label in that file); or
//! - a folder `NNN_name/` holding a schema tree (product folders, files) plus
//!   `expect.txt` with lines `M011 jira/a.ts:3:22`; the base declarations are
//!   added unless the folder has a file named `no-base`.
//!
//! To add a case: write the file, run this test, read the reported diagnostics,
//! and put the ones you intended into the expectations.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use manifold_compiler::diag::{self, Severity};

mod common;

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/invalid")
}

fn base_declarations() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas/manifold.ts")
}

/// (code, file, line, column)
type Expected = BTreeSet<(String, String, usize, usize)>;

/// Lays the fixture out as a schema tree in `root`; returns its expectations.
fn prepare(fixture: &Path, root: &Path) -> Expected {
    let mut expected = Expected::new();
    if fixture.is_dir() {
        common::copy_tree(fixture, root, &["expect.txt", "no-base"]);
        if !fixture.join("no-base").exists() {
            std::fs::copy(base_declarations(), root.join("manifold.ts")).unwrap();
        }
        let text = std::fs::read_to_string(fixture.join("expect.txt")).expect("expect.txt");
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
            let (code, loc) = line.split_once(' ').unwrap_or_else(|| panic!("bad expect line `{line}`"));
            let mut parts = loc.trim().rsplitn(3, ':');
            let col = parts.next().unwrap().parse().unwrap();
            let line_no = parts.next().unwrap().parse().unwrap();
            let file = parts.next().unwrap().to_string();
            expected.insert((code.to_string(), file, line_no, col));
        }
    } else {
        let name = fixture.file_name().unwrap().to_string_lossy().into_owned();
        std::fs::create_dir_all(root.join("fx")).unwrap();
        std::fs::copy(fixture, root.join("fx").join(&name)).unwrap();
        std::fs::copy(base_declarations(), root.join("manifold.ts")).unwrap();
        let text = std::fs::read_to_string(fixture).unwrap();
        for line in text.lines().filter_map(|l| l.trim().strip_prefix("// expect:")) {
            let (code, loc) = line.trim().split_once(' ').unwrap_or_else(|| panic!("bad expect line `{line}`"));
            let (l, c) = loc.trim().split_once(':').unwrap();
            expected.insert((code.to_string(), format!("fx/{name}"), l.parse().unwrap(), c.parse().unwrap()));
        }
    }
    assert!(!expected.is_empty(), "{}: a fixture must expect at least one diagnostic", fixture.display());
    expected
}

fn actual(root: &Path) -> (Expected, String) {
    let mut c = manifold_compiler::compile(root, "").expect("fixture loads");
    // The emitters check team models (E002), as `manifold build` does.
    let emitted = manifold_compiler::emit(&c);
    c.diagnostics.extend(emitted.diagnostics);
    let mut out = Expected::new();
    for d in &c.diagnostics {
        let span = d.primary_span().expect("every front-end diagnostic has a primary span");
        let file = c.db.get(span.file);
        let (line, col) = file.line_col(span.start);
        out.insert((d.code.id.to_string(), file.path.clone(), line, col));
        assert!(d.help.is_some(), "{} `{}` has no hint", d.code.id, d.message);
        assert!(d.severity == Severity::Error || d.code.id == "M032", "{} is a warning", d.code.id);
    }
    (out, diag::render_text(&c.db, &c.diagnostics, false))
}

fn fixtures() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(fixtures_dir()).unwrap().map(|e| e.unwrap().path()).collect();
    v.sort();
    v
}

#[test]
fn every_invalid_fixture_reports_exactly_its_diagnostics() {
    let mut failures = Vec::new();
    let all = fixtures();
    for fixture in &all {
        let dir = tempfile::tempdir().unwrap();
        let expected = prepare(fixture, dir.path());
        let (actual, rendered) = actual(dir.path());
        if expected != actual {
            failures.push(format!(
                "{}\n  expected: {expected:?}\n  actual:   {actual:?}\n{rendered}",
                fixture.file_name().unwrap().to_string_lossy()
            ));
        }
    }
    assert!(failures.is_empty(), "{} of {} fixtures failed:\n\n{}", failures.len(), all.len(), failures.join("\n"));
}

#[test]
fn the_corpus_covers_every_front_end_code() {
    let mut seen = BTreeSet::new();
    for fixture in fixtures() {
        let dir = tempfile::tempdir().unwrap();
        for (code, ..) in prepare(&fixture, dir.path()) {
            seen.insert(code);
        }
    }
    let missing: Vec<&str> =
        diag::codes::ALL.iter().map(|c| c.id).filter(|id| id.starts_with('M') && !seen.contains(*id)).collect();
    assert!(missing.is_empty(), "no fixture expects {missing:?}");
    assert!(fixtures().len() >= 30, "the corpus has only {} fixtures", fixtures().len());
}

/// The rendered text of a few diagnostics, reviewed in diffs.
#[test]
fn rendered_diagnostics() {
    for name in [
        "010_unknown_type.ts",
        "013_duplicate_field.ts",
        "025_column_collision.ts",
        "027e_non_ascii_field.ts",
        "e002i_nullable_merge_key",
        "e002j_merge_model_filters",
        "e002m_merge_key_not_the_row",
    ] {
        let dir = tempfile::tempdir().unwrap();
        prepare(&fixtures_dir().join(name), dir.path());
        let (_, rendered) = actual(dir.path());
        insta::assert_snapshot!(name, rendered);
    }
}
