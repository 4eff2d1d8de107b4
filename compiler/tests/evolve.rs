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

// Random edits of the example schemas and team models (fields, keys, enum
// values, entity states; team models' columns, writers and partitioning). Whatever `manifold
// check` lets through must be a change the tables take: every table of the
// baseline keeps its writer, key and partitioning, and each of its columns
// its type, up to the evolution the runtime performs (`runtime/src/lake/
// evolve.rs`): nullable columns dropped, the structs inside arrays reordered,
// grown or shrunk by nullable fields, new columns NOT NULL only in a model's
// table (computed again by the merge). Found two defects when it was written:
// struct fields inside arrays (the runtime then refused them) and analytics
// models' columns (not compared).

/// One edit: which file, what to do, where and with what (indices wrap).
type Edit = (usize, u8, usize, usize);

const FIELD_TYPES: &[&str] = &["String", "Int", "Long", "Double", "Boolean", "Timestamp", "ARI", "String[]", "Date"];
const SQL_TYPES: &[&str] = &["STRING", "BIGINT", "INTEGER", "DOUBLE", "BOOLEAN", "TIMESTAMP", "DATE"];

/// A schema file with one edit applied to an interface field or enum value.
fn edit_schema(text: &str, (_, op, at, pick): Edit) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let is_field = |l: &str| {
        let t = l.trim();
        l.starts_with("  ") && !l.starts_with("   ") && t.ends_with(';') && t.contains(": ")
    };
    let manifest = ["owner", "status", "deprecated", "replacement", "sunset"];
    let fields: Vec<usize> = (0..lines.len())
        .filter(|&i| is_field(&lines[i]) && !manifest.iter().any(|m| lines[i].trim().starts_with(m)))
        .collect();
    let values: Vec<usize> = (0..lines.len()).filter(|&i| lines[i].trim().ends_with("\",")).collect();
    let Some(&i) = fields.get(at % fields.len().max(1)) else { return text.to_string() };
    let line = lines[i].clone();
    let (name, ty) = line.trim().trim_end_matches(';').split_once(": ").expect("a field line");
    let (bare, optional) = (name.trim_end_matches('?'), name.ends_with('?'));
    let q = if optional { "?" } else { "" };
    let keys: Vec<usize> = (0..lines.len()).filter(|&i| lines[i].contains("@key")).collect();
    match op % 12 {
        0 => drop(lines.remove(i)),
        9 if !keys.is_empty() => drop(lines.remove(keys[pick % keys.len()])),
        10 => lines.insert(i, "  /** @key */".into()),
        11 => {
            let state = ["EntityState.DEPRECATED", "EntityState.RETIRED"][pick % 2];
            lines.iter_mut().for_each(|l| *l = l.replace("EntityState.ACTIVE", state));
        }
        1 => lines[i] = format!("  {name}: {};", FIELD_TYPES[pick % FIELD_TYPES.len()]),
        2 => lines[i] = format!("  {bare}{}: {ty};", if optional { "" } else { "?" }),
        3 => lines[i] = format!("  {bare}Renamed{q}: {ty};"),
        4 => {
            lines.insert(i, format!("  added{pick}{}: {};", ["?", ""][pick % 2], FIELD_TYPES[pick % FIELD_TYPES.len()]))
        }
        5 => lines.insert(i, "  /** @deprecated gone */".into()),
        6 if !values.is_empty() => drop(lines.remove(values[pick % values.len()])),
        7 if !values.is_empty() => lines.insert(values[pick % values.len()], "  ADDED_VALUE = \"ADDED_VALUE\",".into()),
        _ => lines.swap(i, fields[pick % fields.len()]),
    }
    lines.join("\n") + "\n"
}

/// A team model with one edit applied to a column line or its config.
fn edit_model(text: &str, (_, op, at, pick): Edit) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let columns: Vec<usize> =
        (0..lines.len()).filter(|&i| lines[i].contains(" AS ") && lines[i].ends_with(',')).collect();
    let Some(&i) = columns.get(at % columns.len().max(1)) else { return text.to_string() };
    match op % 6 {
        0 => drop(lines.remove(i)),
        1 => {
            let to = SQL_TYPES[pick % SQL_TYPES.len()];
            if let Some(from) = SQL_TYPES.iter().find(|t| lines[i].contains(&format!("AS {t})"))) {
                lines[i] = lines[i].replacen(&format!("AS {from})"), &format!("AS {to})"), 1);
            }
        }
        2 => lines[i] = lines[i].replacen(" AS ", " AS renamed_", 1),
        3 => lines.insert(i, format!("  CAST({pick} AS BIGINT) AS added_{pick},")),
        4 => {
            lines[0] = lines[0]
                .replace("writer='append'", "writer='merge', unique_key='envelope_fields_resource_ari_value'")
                .replace("writer='merge_exploded'", "writer='append'")
        }
        _ => lines[0] = lines[0].replace(", partition_by=['workspace_id']", ""),
    }
    lines.join("\n") + "\n"
}

/// Whether a column of type `new` (schema JSON) holds what one of type `old`
/// did, as the runtime evolves a table: the same type, or structs (inside
/// arrays) whose fields match by name, new and dropped ones nullable.
fn type_fits(old: &serde_json::Value, new: &serde_json::Value) -> bool {
    if old == new {
        return true;
    }
    match (old["type"].as_str(), new["type"].as_str()) {
        (Some("array"), Some("array")) => type_fits(&old["elementType"], &new["elementType"]),
        (Some("struct"), Some("struct")) => {
            let fields = |v: &serde_json::Value| v["fields"].as_array().cloned().unwrap_or_default();
            let (was, is) = (fields(old), fields(new));
            let named = |list: &[serde_json::Value], name: &serde_json::Value| {
                list.iter().find(|f| f["name"] == *name).cloned()
            };
            is.iter().all(|f| match named(&was, &f["name"]) {
                Some(w) => type_fits(&w["type"], &f["type"]),
                None => f["nullable"] == true,
            }) && was.iter().all(|w| named(&is, &w["name"]).is_some() || w["nullable"] == true)
        }
        _ => false,
    }
}

/// What keeps `new` (a table's schema file) from taking the rows of `old`.
fn incompatibilities(path: &str, old: &serde_json::Value, new: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    for k in ["writer", "key", "partition_columns"] {
        if old[k] != new[k] {
            out.push(format!("{path}: {k} {} -> {}", old[k], new[k]));
        }
    }
    let columns = |v: &serde_json::Value| v["schema"]["fields"].as_array().cloned().unwrap_or_default();
    let (was, is) = (columns(old), columns(new));
    for w in &was {
        match is.iter().find(|c| c["name"] == w["name"]) {
            None if w["nullable"] == true => {}
            None => out.push(format!("{path}: NOT NULL column {} removed", w["name"])),
            Some(c) if !type_fits(&w["type"], &c["type"]) => {
                out.push(format!("{path}: column {} {} -> {}", w["name"], w["type"], c["type"]))
            }
            Some(_) => {}
        }
    }
    let computed = old["kind"] != "staging";
    for c in is.iter().filter(|c| c["nullable"] == false && !computed) {
        if !was.iter().any(|w| w["name"] == c["name"]) {
            out.push(format!("{path}: new column {} NOT NULL", c["name"]));
        }
    }
    out
}

fn repo_schemas() -> Vec<(String, String)> {
    fn walk(root: &Path, rel: &str, out: &mut Vec<(String, String)>) {
        for e in std::fs::read_dir(root.join(rel)).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            let path = if rel.is_empty() { name.clone() } else { format!("{rel}/{name}") };
            if e.file_type().unwrap().is_dir() {
                walk(root, &path, out);
            } else if name.ends_with(".ts") || name.ends_with(".sql") {
                out.push((path, std::fs::read_to_string(e.path()).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas"), "", &mut out);
    out.sort();
    out
}

fn random_edit_cases() -> u32 {
    std::env::var("MANIFOLD_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).map_or(64, |n: u32| n / 10)
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: random_edit_cases(),
        failure_persistence: None,
        ..proptest::prelude::ProptestConfig::default()
    })]

    #[test]
    fn whatever_check_lets_through_the_tables_take(
        edits in proptest::collection::vec(
            (proptest::prelude::any::<usize>(), proptest::prelude::any::<u8>(), proptest::prelude::any::<usize>(), 0usize..1000),
            1..3,
        ),
    ) {
        let files = repo_schemas();
        let lock = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas/manifold.lock")).unwrap();
        let compile = |files: &[(String, String)]| {
            let loaded = manifold_compiler::load::from_memory(files, Some(&lock));
            manifold_compiler::compile_loaded(loaded, "manifold.lock".into())
        };
        // Half the edits on team models (a few files), half on schemas (many).
        let (models, schemas): (Vec<usize>, Vec<usize>) =
            (0..files.len()).filter(|&i| files[i].0 != "manifold.ts").partition(|&i| files[i].0.ends_with(".sql"));
        let mut after = files.clone();
        for edit in &edits {
            let pool = if edit.0 % 2 == 0 { &models } else { &schemas };
            let f = pool[edit.0 / 2 % pool.len()];
            after[f].1 = if after[f].0.ends_with(".sql") { edit_model(&after[f].1, *edit) } else { edit_schema(&after[f].1, *edit) };
        }
        let tables = |c: &manifold_compiler::Compilation| -> Option<std::collections::BTreeMap<String, serde_json::Value>> {
            let out = manifold_compiler::emit(c);
            (!out.diagnostics.has_errors()).then(|| {
                out.artifacts
                    .iter()
                    .filter(|a| a.path.starts_with("tables/"))
                    .map(|a| (a.path.clone(), serde_json::from_slice(&a.bytes).unwrap()))
                    .collect()
            })
        };
        let before = compile(&files);
        let was = tables(&before).expect("the example schemas build");
        let now = compile(&after);
        // Only a change that builds is checked.
        let Some(is) = (!now.diagnostics.has_errors()).then(|| tables(&now)).flatten() else { return Ok(()) };
        let baseline = evolve::Baseline {
            name: "baseline.lock".into(),
            lock_text: before.lock_text.clone(),
            compiled: Some(before),
            released_columns: Default::default(),
        };
        let report = evolve::check(now, baseline, &evolve::Config::default(), "2026-11-26");
        if report.diagnostics.has_errors() || report.is_breaking() {
            return Ok(());
        }
        let mut problems = Vec::new();
        for (path, old) in &was {
            match is.get(path) {
                Some(new) => problems.extend(incompatibilities(path, old, new)),
                None => problems.push(format!("{path} is gone")),
            }
        }
        let changed: Vec<&String> = after.iter().zip(&files).filter(|(a, b)| a != b).map(|(a, _)| &a.0).collect();
        proptest::prop_assert!(problems.is_empty(), "check passed edits of {changed:?}:\n{}", problems.join("\n"));
    }
}
