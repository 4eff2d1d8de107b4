//! The resolved Model of the example schemas (snapshots), the lock file's numbering
//! rules, and the front end's robustness on mutated input (proptest).

use std::path::{Path, PathBuf};

use manifold_compiler::lock::ElementState;
use manifold_compiler::{Compilation, compile, compile_loaded, diag, load, model};
use proptest::prelude::*;

fn schemas() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas")
}

fn example() -> Compilation {
    let c = compile(&schemas(), "schemas").unwrap();
    assert!(c.diagnostics.is_empty(), "{}", diag::render_text(&c.db, &c.diagnostics, false));
    c
}

/// Compiles in-memory files with an optional lock text.
fn compile_files(files: &[(&str, &str)], lock: Option<&str>) -> Compilation {
    let base = include_str!("../../schemas/manifold.ts");
    let mut all: Vec<(String, String)> = vec![("manifold.ts".into(), base.into())];
    all.extend(files.iter().map(|(p, t)| (p.to_string(), t.to_string())));
    compile_loaded(load::from_memory(&all, lock), "manifold.lock".into())
}

fn ok(c: &Compilation) -> &Compilation {
    assert!(!c.diagnostics.has_errors(), "{}", diag::render_text(&c.db, &c.diagnostics, false));
    c
}

// ----- the example schemas ---------------------------------------------------

#[test]
fn example_model_text() {
    let c = example();
    insta::assert_snapshot!(model::json::to_text(&c.model, &c.lock, &c.db));
}

#[test]
fn example_model_json_of_one_product() {
    let c = example();
    let json = model::json::to_json(&c.model, &c.lock, &c.db);
    let avocado = json.products.iter().find(|p| p.name == "avocado").unwrap();
    insta::assert_json_snapshot!(avocado);
}

#[test]
fn example_schemas_meet_the_brief() {
    let c = example();
    let m = &c.model;
    assert!(m.products.len() >= 4);
    assert!(m.entities().count() >= 20, "{} entities", m.entities().count());
    // AvocadoQuestion has exactly the fields of the seed's compiled SQL, in order.
    let q = m.entity_by_name("AvocadoQuestion").unwrap();
    let fields: Vec<(&str, String)> = q.fields.iter().map(|f| (f.name.as_str(), m.type_name(&f.ty))).collect();
    assert_eq!(
        fields,
        [
            ("id", "ARI".to_string()),
            ("createdAt", "Timestamp".into()),
            ("question", "String".into()),
            ("title", "String".into()),
            ("updatedAt", "Timestamp".into()),
            ("author", "ARI".into()),
            ("workspace", "ARI".into()),
            ("questionAdf", "Json".into()),
            ("voteCount", "Int".into()),
            ("chosenAnswer", "Boolean".into()),
            ("isResolved", "Boolean".into()),
            ("classification", "enum AvocadoQuestionClassification".into()),
        ]
    );
    let issue = m.entity_by_name("JiraIssue").unwrap();
    let ty = |name: &str| m.type_name(&issue.fields.iter().find(|f| f.name == name).unwrap().ty);
    assert_eq!(ty("project"), "ComposedBy<JiraProject>");
    assert_eq!(ty("fields"), "struct JiraIssueField[]");
    // Every construct of the language is used somewhere.
    let all_types: Vec<String> = m
        .products
        .iter()
        .flat_map(|p| p.entities.iter().map(|e| &e.fields).chain(p.structs.iter().map(|s| &s.fields)))
        .flatten()
        .map(|f| m.type_name(&f.ty))
        .collect();
    for scalar in ["String", "Boolean", "Int", "Long", "Double", "Timestamp", "Date", "ARI", "Json"] {
        assert!(all_types.iter().any(|t| t == scalar), "no field of type {scalar}");
    }
    for shape in ["enum ", "struct ", "ComposedBy<", "[]"] {
        assert!(all_types.iter().any(|t| t.contains(shape)), "no field of shape {shape}");
    }
    assert!(all_types.iter().any(|t| t.starts_with("struct ") && t.ends_with("[]")), "no array of structs");
    assert!(m.entities().any(|e| e.key != 0), "no explicit @key");
    assert!(m.entities().any(|e| e.manifest.state == model::EntityState::Deprecated), "no DEPRECATED entity");
    assert!(m.entities().flat_map(|e| &e.fields).any(|f| f.deprecated.is_some()), "no @deprecated field");
    assert!(m.entities().flat_map(|e| &e.fields).any(|f| f.pii), "no @pii field");
    assert!(m.entities().flat_map(|e| &e.fields).any(|f| f.optional), "no optional field");
    assert!(
        m.products
            .iter()
            .flat_map(|p| &p.structs)
            .any(|s| s.fields.iter().any(|f| matches!(f.ty, model::Type::Struct(_)))),
        "no nested struct"
    );
}

#[test]
fn the_committed_lock_is_up_to_date_and_deterministic() {
    let c = example();
    assert!(!c.lock_is_stale(), "schemas/manifold.lock is stale: run `cargo run -- build`");
    // Numbering from scratch gives the same bytes: nothing depends on history here.
    let files: Vec<(String, String)> = std::fs::read_dir(schemas())
        .unwrap()
        .flat_map(|e| {
            let p = e.unwrap().path();
            if p.is_dir() { std::fs::read_dir(p).unwrap().map(|e| e.unwrap().path()).collect() } else { vec![p] }
        })
        .filter(|p| p.extension().is_some_and(|x| x == "ts"))
        .map(|p| {
            (p.strip_prefix(schemas()).unwrap().to_string_lossy().into_owned(), std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    let fresh = compile_loaded(load::from_memory(&files, None), "manifold.lock".into());
    assert_eq!(fresh.lock_text, c.lock_text);
}

// ----- lock numbering ----------------------------------------------------------

const ISSUE_V1: &str = r#"
import { Entity, Manifest, EntityState, Team, Int } from "../manifold";
export interface JiraIssueManifest extends Manifest { owner: Team.JIRA_ISSUE_EXTRACTION; status: EntityState.ACTIVE; }
export interface JiraIssue extends Entity {
  issueId: String;
  summary?: String;
  votes: Int;
}
"#;

fn field_numbers(c: &Compilation, entity: &str) -> Vec<(String, u32, ElementState)> {
    c.lock.entity(entity).unwrap().fields.iter().map(|f| (f.name.clone(), f.number, f.state)).collect()
}

#[test]
fn numbering_is_stable_across_reruns() {
    let first = compile_files(&[("jira/issue.ts", ISSUE_V1)], None);
    ok(&first);
    let second = compile_files(&[("jira/issue.ts", ISSUE_V1)], Some(&first.lock_text));
    assert_eq!(second.lock_text, first.lock_text);
    assert!(!second.lock_is_stale());
}

#[test]
fn additions_get_fresh_numbers_and_keep_the_old_ones() {
    let v1 = compile_files(&[("jira/issue.ts", ISSUE_V1)], None);
    // A field inserted in the middle and one at the end.
    let v2_src = ISSUE_V1.replace("  votes: Int;", "  labelCount?: Int;\n  votes: Int;\n  rank?: Int;");
    let v2 = compile_files(&[("jira/issue.ts", &v2_src)], Some(&v1.lock_text));
    ok(&v2);
    use ElementState::Active as A;
    assert_eq!(
        field_numbers(&v2, "JiraIssue"),
        [
            ("issueId".into(), 1, A),
            ("summary".into(), 2, A),
            ("votes".into(), 3, A),
            ("labelCount".into(), 4, A),
            ("rank".into(), 5, A)
        ]
    );
}

#[test]
fn removed_numbers_are_reserved_and_never_reused() {
    let v1 = compile_files(&[("jira/issue.ts", ISSUE_V1)], None);
    let v2_src = ISSUE_V1.replace("  summary?: String;\n", "");
    let v2 = compile_files(&[("jira/issue.ts", &v2_src)], Some(&v1.lock_text));
    ok(&v2);
    let summary = v2.lock.entity("JiraIssue").unwrap().fields.iter().find(|f| f.name == "summary").unwrap();
    assert_eq!((summary.number, summary.state), (2, ElementState::Removed));
    // A new field after a removal gets a new number, not the freed 2; the same name
    // coming back is a new field too.
    let v3_src = v2_src.replace("  votes: Int;", "  votes: Int;\n  title?: String;\n  summary?: String;");
    let v3 = compile_files(&[("jira/issue.ts", &v3_src)], Some(&v2.lock_text));
    ok(&v3);
    let fields = field_numbers(&v3, "JiraIssue");
    assert!(fields.contains(&("summary".into(), 2, ElementState::Removed)));
    assert!(fields.contains(&("title".into(), 4, ElementState::Active)));
    assert!(fields.contains(&("summary".into(), 5, ElementState::Active)));
    let json = model::json::to_json(&v3.model, &v3.lock, &v3.db);
    let reserved: Vec<u32> = json.products[0].entities[0].reserved.iter().map(|r| r.number).collect();
    assert_eq!(reserved, [2]);
}

#[test]
fn removed_entities_keep_their_entity_type() {
    let project = r#"
import { Entity, Manifest, EntityState, Team, Long } from "../manifold";
export interface JiraProjectManifest extends Manifest { owner: Team.JIRA_WORK_MANAGEMENT; status: EntityState.RETIRED; }
export interface JiraProject extends Entity { projectId: Long; }
"#;
    let v1 = compile_files(&[("jira/issue.ts", ISSUE_V1), ("jira/project.ts", project)], None);
    ok(&v1);
    let project_type = v1.lock.entity("JiraProject").unwrap().entity_type;
    let v2 = compile_files(&[("jira/issue.ts", ISSUE_V1)], Some(&v1.lock_text));
    let gone = v2.lock.entity("JiraProject").unwrap();
    assert!(gone.removed);
    assert_eq!(gone.entity_type, project_type);
    // A new entity never takes the removed entity's number.
    let sprint = project.replace("JiraProject", "JiraSprint").replace("RETIRED", "ACTIVE");
    let v3 = compile_files(&[("jira/issue.ts", ISSUE_V1), ("jira/sprint.ts", &sprint)], Some(&v2.lock_text));
    ok(&v3);
    let types: Vec<u32> = v3.lock.entities.values().map(|e| e.entity_type).collect();
    assert_eq!(v3.lock.entity("JiraSprint").unwrap().entity_type, types.iter().max().copied().unwrap());
    assert_ne!(v3.lock.entity("JiraSprint").unwrap().entity_type, project_type);
}

#[test]
fn moving_an_entity_to_another_file_keeps_its_numbers() {
    let v1 = compile_files(&[("jira/issue.ts", ISSUE_V1)], None);
    let v2 = compile_files(
        &[("jira/tickets/issue_v2.ts", &ISSUE_V1.replace("../manifold", "../../manifold"))],
        Some(&v1.lock_text),
    );
    ok(&v2);
    assert_eq!(v2.lock_text, v1.lock_text);
}

#[test]
fn field_numbers_skip_the_range_protobuf_reserves() {
    let v1 = compile_files(&[("jira/issue.ts", ISSUE_V1)], None);
    let edited = v1.lock_text.replace("number = 3, name = \"votes\"", "number = 18999, name = \"votes\"");
    let v2 = compile_files(
        &[("jira/issue.ts", &ISSUE_V1.replace("  votes: Int;", "  votes: Int;\n  rank?: Int;"))],
        Some(&edited),
    );
    ok(&v2);
    assert!(field_numbers(&v2, "JiraIssue").contains(&("rank".into(), 20_000, ElementState::Active)));
}

#[test]
fn a_corrupt_lock_is_a_diagnostic_and_is_never_rewritten() {
    let v1 = compile_files(&[("jira/issue.ts", ISSUE_V1)], None);
    let cases = [
        ("not toml at all {{{", "L001"),
        ("version = 1\n[entities.JiraIssue]\nproduct = \"jira\"\n", "L001"), // missing entity_type
        (&*v1.lock_text.replace("number = 2,", "number = 1,"), "L002"),      // a number twice
        (&*v1.lock_text.replace("number = 2,", "number = 0,"), "L002"),      // out of range
        (&*v1.lock_text.replace("version = 1", "version = 7"), "L002"),
        (&*v1.lock_text.replace("state = \"ACTIVE\"", "state = \"ALIVE\""), "L002"),
        (&*v1.lock_text.replace("type = \"Int\"", "type = \"Int\", colour = \"red\""), "L001"),
    ];
    for (text, code) in cases {
        let c = compile_files(&[("jira/issue.ts", ISSUE_V1)], Some(text));
        let codes: Vec<&str> = c.diagnostics.iter().map(|d| d.code.id).collect();
        assert!(codes.contains(&code), "{code} expected for lock:\n{text}\ngot {codes:?}");
        assert!(c.diagnostics.has_errors());
        let rendered = diag::render_text(&c.db, &c.diagnostics, false);
        assert!(rendered.contains("manifold.lock:"), "{rendered}");
    }
}

/// Numbers are unique within a message or an enum forever; a name is live
/// at most once (a removed element may share a live one's name).
#[test]
fn a_lock_reusing_a_number_or_a_live_name_says_which_and_where() {
    const WITH_ENUM: &str = r#"
import { Entity, Manifest, EntityState, Team, Int } from "../manifold";
export enum JiraPriority { LOW = "LOW", HIGH = "HIGH" }
export interface JiraIssueManifest extends Manifest { owner: Team.JIRA_ISSUE_EXTRACTION; status: EntityState.ACTIVE; }
export interface JiraIssue extends Entity {
  issueId: String;
  summary?: String;
  votes: Int;
  priority?: JiraPriority;
}
"#;
    let files = [("jira/issue.ts", WITH_ENUM)];
    let v1 = compile_files(&files, None);
    ok(&v1);
    let lock = &v1.lock_text;
    let messages = |text: &str| -> Vec<String> {
        let c = compile_files(&files, Some(text));
        c.diagnostics.iter().filter(|d| d.code.id == "L002").map(|d| d.message.clone()).collect()
    };
    let cases = [
        (
            lock.replace("number = 3, name = \"votes\"", "number = 2, name = \"votes\""),
            "`JiraIssue` uses field number 2 twice",
        ),
        (lock.replace("name = \"votes\"", "name = \"summary\""), "`JiraIssue` has two live fields `summary`"),
        (
            lock.replace("number = 2, name = \"HIGH\"", "number = 1, name = \"HIGH\""),
            "enum `jira.JiraPriority` uses number 1 twice",
        ),
        (lock.replace("name = \"HIGH\"", "name = \"LOW\""), "enum `jira.JiraPriority` has two live values `LOW`"),
    ];
    for (text, expected) in cases {
        assert_ne!(&text, lock, "the edit for {expected:?} applies");
        assert_eq!(messages(&text), [expected], "lock:\n{text}");
    }
    // A removed field may carry a live one's name; its number stays taken.
    let removed = lock.replace(
        "{ number = 3, name = \"votes\", type = \"Int\" }",
        "{ number = 3, name = \"votes\", type = \"Int\" },\n  { number = 9, name = \"votes\", type = \"Int\", state = \"removed\" }",
    );
    assert_ne!(&removed, lock);
    assert_eq!(messages(&removed), Vec::<String>::new(), "lock:\n{removed}");
}

// ----- robustness --------------------------------------------------------------

/// Source material for mutations: the real example schemas.
fn corpus() -> Vec<String> {
    let mut out = Vec::new();
    for product in ["avocado", "jira", "confluence", "opsgenie"] {
        for e in std::fs::read_dir(schemas().join(product)).unwrap() {
            let path = e.unwrap().path();
            if path.extension().is_some_and(|x| x == "ts") {
                out.push(std::fs::read_to_string(path).unwrap());
            }
        }
    }
    out.sort();
    out
}

const TOKENS: &[&str] = &[
    "interface",
    "extends",
    "Entity",
    "Manifest",
    "enum",
    "export",
    "import",
    "{",
    "}",
    "<",
    ">",
    "[]",
    "?",
    ":",
    ";",
    "|",
    "&",
    "/**",
    "*/",
    "@key",
    "@deprecated",
    "ComposedBy<",
    "String",
    "\"",
    "\n",
    "Team.",
    "EntityState.",
    "`",
    "class X {}",
    "type T = string;",
    "=",
    "=>",
    "(",
    ")",
    "ü",
    "\u{1F600}",
    "//",
    "/*",
    "0x1",
    "null",
];

fn mutate(src: &str, ops: &[(u8, usize, usize, usize)]) -> String {
    let mut s: Vec<char> = src.chars().collect();
    for &(op, a, b, t) in ops {
        let len = s.len().max(1);
        let (i, j) = (a % len, b % len);
        let (lo, hi) = (i.min(j), i.max(j).min(s.len()));
        match op % 4 {
            0 => {
                s.drain(lo..hi.min(lo + 40));
            }
            1 => {
                let tok: Vec<char> = TOKENS[t % TOKENS.len()].chars().collect();
                let at = lo.min(s.len());
                s.splice(at..at, tok);
            }
            2 => {
                let piece: Vec<char> = s[lo..hi.min(lo + 60)].to_vec();
                let at = (t % len).min(s.len());
                s.splice(at..at, piece);
            }
            _ => {
                if lo < s.len() {
                    s[lo] = TOKENS[t % TOKENS.len()].chars().next().unwrap_or(' ');
                }
            }
        }
    }
    s.into_iter().collect()
}

fn check_never_panics(text: &str) {
    let c = compile_files(&[("jira/issue.ts", text)], None);
    // Every diagnostic points inside its file and renders.
    for d in &c.diagnostics {
        for l in &d.labels {
            let f = c.db.get(l.span.file);
            assert!(l.span.end as usize <= f.text.len(), "{} label out of bounds", d.code.id);
        }
    }
    let _ = diag::render_text(&c.db, &c.diagnostics, false);
    let _ = diag::render_json(&c.db, &c.diagnostics);
}

fn fuzz_cases() -> u32 {
    std::env::var("MANIFOLD_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(1500)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: fuzz_cases(), failure_persistence: None, ..ProptestConfig::default() })]

    /// Mutations of real schema files (deleted ranges, inserted tokens, duplicated
    /// slices) never panic and always give well-formed diagnostics.
    #[test]
    fn mutated_schemas_never_panic(
        file in 0usize..64,
        ops in proptest::collection::vec((any::<u8>(), any::<usize>(), any::<usize>(), any::<usize>()), 1..6),
    ) {
        let corpus = corpus();
        let src = &corpus[file % corpus.len()];
        check_never_panics(&mutate(src, &ops));
    }

    /// Arbitrary token soup never panics either.
    #[test]
    fn token_soup_never_panics(toks in proptest::collection::vec(0usize..TOKENS.len(), 0..80)) {
        let text: String = toks.iter().map(|&t| TOKENS[t]).collect::<Vec<_>>().join(" ");
        check_never_panics(&text);
    }
}
