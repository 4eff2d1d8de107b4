//! The `manifold` binary: exit codes, streams, formats and the lock it writes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;

fn manifold(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_manifold")).args(args).env_remove("NO_COLOR").output().unwrap()
}

fn schemas() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas")
}

/// A scratch copy of the example schemas.
fn copy_schemas() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    common::copy_tree(&schemas(), dir.path(), &[]);
    dir
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn build_check_passes_on_the_committed_schemas() {
    let out = schemas().join("../generated");
    let o = manifold(&["build", "--check", "--schemas", schemas().to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn build_writes_the_lock_once_and_then_leaves_it_alone() {
    let dir = tempfile::tempdir().unwrap();
    let schemas = dir.path().join("schemas");
    common::copy_tree(&self::schemas(), &schemas, &[]);
    let lock = schemas.join("manifold.lock");
    let committed = std::fs::read_to_string(&lock).unwrap();
    std::fs::remove_file(&lock).unwrap();
    let root = schemas.to_str().unwrap();
    let out = dir.path().join("out");
    let out = out.to_str().unwrap();
    assert_eq!(
        manifold(&["build", "--check", "--schemas", root, "--out", out]).status.code(),
        Some(1),
        "a missing lock is stale"
    );
    let o = manifold(&["build", "--schemas", root, "--out", out]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("lock updated"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&lock).unwrap(), committed, "a fresh lock equals the committed one");
    let modified = std::fs::metadata(&lock).unwrap().modified().unwrap();
    let o = manifold(&["build", "--schemas", root, "--out", out]);
    assert!(stderr(&o).contains("lock unchanged"), "{}", stderr(&o));
    assert!(stderr(&o).contains("0 files written"), "{}", stderr(&o));
    assert_eq!(manifold(&["build", "--check", "--schemas", root, "--out", out]).status.code(), Some(0));
    assert_eq!(std::fs::metadata(&lock).unwrap().modified().unwrap(), modified);
}

#[test]
fn schema_errors_exit_1_with_rustc_style_text_and_write_nothing() {
    let dir = copy_schemas();
    let issue = dir.path().join("jira/issue.ts");
    let text = std::fs::read_to_string(&issue).unwrap();
    std::fs::write(&issue, text.replacen("summary?: String;", "summary?: Strng;", 1)).unwrap();
    let lock_before = std::fs::read(dir.path().join("manifold.lock")).unwrap();
    let o = manifold(&["build", "--schemas", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("error[M010]: cannot find type `Strng`"), "{err}");
    assert!(err.contains("jira/issue.ts:"), "{err}");
    assert!(err.contains("^^^^^"), "{err}");
    assert!(err.contains("help: did you mean `String`?"), "{err}");
    assert!(!err.contains('\u{1b}'), "no color when stderr is not a terminal: {err}");
    assert_eq!(std::fs::read(dir.path().join("manifold.lock")).unwrap(), lock_before);

    let o = manifold(&["build", "--format", "json", "--schemas", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&o.stderr).unwrap();
    assert_eq!(json["errors"], 1);
    assert_eq!(json["diagnostics"][0]["code"], "M010");
    assert!(json["diagnostics"][0]["location"]["line"].as_u64().unwrap() > 1);
}

#[test]
fn color_follows_the_flag_and_no_color() {
    let dir = copy_schemas();
    std::fs::write(dir.path().join("jira/bad.ts"), "export interface X { a: number; }\n").unwrap();
    let root = dir.path().to_str().unwrap();
    let o = manifold(&["build", "--color", "always", "--schemas", root]);
    assert!(stderr(&o).contains('\u{1b}'), "--color always colors");
    let o = Command::new(env!("CARGO_BIN_EXE_manifold"))
        .args(["build", "--schemas", root])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(!stderr(&o).contains('\u{1b}'));
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn usage_and_io_errors_exit_2() {
    let o = manifold(&["build", "--schemas", "/definitely/not/here"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("does not exist"), "{}", stderr(&o));
    // A file where a directory belongs is named as such, not "does not exist" or
    // the platform's "File exists"; nothing is written beside it.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f");
    std::fs::write(&file, "").unwrap();
    let o = manifold(&["build", "--schemas", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("is a file; the schemas are a directory"), "{}", stderr(&o));
    let o = manifold(&["build", "--schemas", schemas().to_str().unwrap(), "--out", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("is a file; the output location is a directory"), "{}", stderr(&o));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "only the file itself");
    assert_eq!(manifold(&["build", "--no-such-flag"]).status.code(), Some(2));
    assert_eq!(manifold(&["explain", "Z999"]).status.code(), Some(2));
    // A `--today` that is not a day of the calendar (it used to count as 1970).
    let o = manifold(&["check", "--schemas", schemas().to_str().unwrap(), "--today", "2026-02-30"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("`2026-02-30` is not a date as YYYY-MM-DD"), "{}", stderr(&o));
    // The bench's sizes below what they can be (they were silently raised).
    for (option, value, want) in
        [("--entities", "0", "at least 1"), ("--fields", "5", "at least 6"), ("--iterations", "0", "at least 1")]
    {
        let o = manifold(&["bench", option, value]);
        assert_eq!(o.status.code(), Some(2), "{option}");
        assert!(stderr(&o).contains(option) && stderr(&o).contains(want), "{}", stderr(&o));
    }
}

/// `check` builds the team models as `manifold build` does: a change whose
/// model reads a column no table has is not checked but stopped with the
/// build's E002 at that line (it used to pass as "0 errors").
#[test]
fn check_stops_on_a_team_model_that_does_not_build() {
    let dir = copy_schemas();
    let lock = dir.path().join("manifold.lock");
    let check =
        || manifold(&["check", "--schemas", dir.path().to_str().unwrap(), "--baseline", lock.to_str().unwrap()]);
    assert_eq!(check().status.code(), Some(0), "{}", stderr(&check()));
    std::fs::write(
        dir.path().join("jira/models/issue_titles.sql"),
        "{{ config(writer='append') }}\nSELECT\n  {{ select_envelope_fields() }}\n  CAST(no_such_column AS STRING) AS title,\n  \
         {{ select_required_fields() }}\nFROM {{ source('manifold_entities', 'JiraIssue') }}\n",
    )
    .unwrap();
    let o = check();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("error[E002]") && err.contains("no_such_column") && err.contains("issue_titles.sql:4"),
        "{err}"
    );
    assert!(err.contains("the check could not run"), "{err}");
}

/// `build` removes the files of its output folder that it does not produce:
/// pointed at the schemas, at a folder holding them, or at a folder of other
/// files, it refuses before writing anything — the lock included — and every
/// file stays. Into a new, an empty or its own earlier folder it builds.
#[test]
fn build_never_deletes_files_it_did_not_write() {
    let root = tempfile::tempdir().unwrap();
    let schemas = root.path().join("schemas");
    common::copy_tree(&self::schemas(), &schemas, &["manifold.lock"]);
    std::fs::write(root.path().join("README.md"), "# my project\n").unwrap();
    std::fs::create_dir_all(root.path().join("docs")).unwrap();
    std::fs::write(root.path().join("docs/notes.txt"), "mine").unwrap();
    let before = walk(root.path());
    let build = |out: &Path| {
        Command::new(env!("CARGO_BIN_EXE_manifold"))
            .args(["build", "--schemas", "schemas", "--out", out.to_str().unwrap()])
            .current_dir(root.path())
            .output()
            .unwrap()
    };
    for (out, says) in [
        (PathBuf::from("schemas"), "overlap"),
        (PathBuf::from("."), "overlap"),
        (root.path().to_path_buf(), "overlap"),
        (PathBuf::from("schemas/jira/gen"), "overlap"),
        (PathBuf::from("docs"), "holds files `manifold build` did not write"),
    ] {
        let o = build(&out);
        assert_eq!(o.status.code(), Some(2), "{out:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "{out:?}: {}", stderr(&o));
        assert_eq!(walk(root.path()), before, "{out:?} changed files");
    }
    for out in ["generated", "generated", "docs/empty"] {
        std::fs::create_dir_all(root.path().join("docs/empty")).unwrap();
        let o = build(Path::new(out));
        assert!(o.status.success(), "{out}: {}", stderr(&o));
    }
    assert_eq!(std::fs::read_to_string(root.path().join("docs/notes.txt")).unwrap(), "mine");
}

/// Every file under `dir`, relative, with its bytes.
fn walk(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        let name = PathBuf::from(path.file_name().unwrap());
        if path.is_dir() {
            out.extend(walk(&path).into_iter().map(|(p, b)| (name.join(p), b)));
        } else {
            out.push((name, std::fs::read(&path).unwrap()));
        }
    }
    out.sort();
    out
}

#[test]
fn model_json_is_the_documented_shape() {
    let o = manifold(&["model", "--format", "json", "--schemas", schemas().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["schema_version"], 1);
    let entities: Vec<&serde_json::Value> =
        json["products"].as_array().unwrap().iter().flat_map(|p| p["entities"].as_array().unwrap()).collect();
    assert!(entities.len() >= 20);
    let issue = entities.iter().find(|e| e["name"] == "JiraIssue").unwrap();
    assert!(issue["entity_type"].as_u64().unwrap() >= 1);
    assert_eq!(issue["key"], "issueId");
    let project = issue["fields"].as_array().unwrap().iter().find(|f| f["name"] == "project").unwrap();
    assert_eq!(project["type"], "ComposedBy<JiraProject>");
    assert!(project["number"].as_u64().unwrap() >= 1);
    for key in ["owner", "state", "table", "location", "reserved"] {
        assert!(issue.get(key).is_some(), "entity has no `{key}`");
    }
}

#[test]
fn explain_prints_a_code() {
    let o = manifold(&["explain", "M010"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).contains("unknown-type"));
    // `manifold check`'s rules too, as its findings name them (any case).
    let o = manifold(&["explain", "ec002"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.starts_with("EC002 (`manifold check`, error): a field removed"), "{text}");
    assert!(text.contains("safe path: release N: mark it") && text.contains("buf FIELD_NO_DELETE"), "{text}");
    let all = String::from_utf8_lossy(&manifold(&["explain"]).stdout).into_owned();
    assert!(all.contains("M010") && all.contains("LC001") && all.contains("EC023"), "{all}");
}

#[test]
fn bench_runs_on_a_small_tree_and_prints_a_table() {
    let o =
        manifold(&["bench", "--entities", "4", "--fields", "8", "--iterations", "1", "--tools", "/nonexistent-tools"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(table.starts_with("| step | time |"), "{table}");
    assert!(table.contains("manifold build: 4 entities × 8 fields"), "{table}");
    assert!(table.contains("not installed"), "{table}");
}

/// `manifold check --against REF` on a real git repository with two commits: the
/// baseline is the lock of the first commit, read by git (no checkout).
#[test]
fn check_against_a_git_ref_finds_the_breaking_change() {
    let dir = copy_schemas();
    let repo = dir.path().parent().unwrap().join(format!("repo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&repo);
    std::fs::create_dir_all(&repo).unwrap();
    let git = |args: &[&str]| {
        let o = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "init.defaultBranch=main"])
            .args(args)
            .current_dir(&repo)
            .output()
            .unwrap();
        assert!(o.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    };
    std::fs::rename(dir.path(), repo.join("schemas")).unwrap_or_else(|_| {
        // A rename across file systems fails: copy instead.
        let o = Command::new("cp").arg("-r").arg(dir.path()).arg(repo.join("schemas")).output().unwrap();
        assert!(o.status.success());
    });
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-qm", "first"]);
    let issue = repo.join("schemas/jira/issue.ts");
    let text = std::fs::read_to_string(&issue).unwrap();
    std::fs::write(&issue, text.replacen("  summary?: String;\n", "", 1)).unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_manifold"))
            .args(args)
            .current_dir(&repo)
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    // The author rebuilds (the lock now reserves `summary`) and commits.
    assert_eq!(run(&["build", "--out", "generated"]).status.code(), Some(0));
    git(&["add", "."]);
    git(&["commit", "-qm", "drop summary"]);

    let o = run(&["check", "--against", "HEAD~1", "--format", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["breaking"], true);
    let f = &json["findings"][0];
    assert_eq!((f["rule"].as_str(), f["element"].as_str()), (Some("EC002"), Some("JiraIssue.summary")));
    assert!(f["location"]["file"].as_str().unwrap().starts_with("HEAD~1:"), "{f}");

    // Against itself nothing breaks; the default baseline is HEAD's lock.
    assert_eq!(run(&["check", "--against", "HEAD"]).status.code(), Some(0));
    assert_eq!(run(&["check"]).status.code(), Some(0));
    // GitHub annotations and SARIF.
    let o = run(&["check", "--against", "HEAD~1", "--format", "github"]);
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("::error file="), "{}", String::from_utf8_lossy(&o.stdout));
    let o = run(&["check", "--against", "HEAD~1", "--format", "sarif"]);
    let sarif: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    assert_eq!(sarif["runs"][0]["results"][0]["ruleId"], "EC002");
    // A ref that does not exist: the check cannot run.
    let o = run(&["check", "--against", "no-such-ref"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("`no-such-ref` is not a commit"), "{}", stderr(&o));

    // From outside the repository, with absolute paths: git is asked in the
    // schemas' repository, not the current directory's (there, `--against`
    // failed and the default baseline fell back to the working-tree lock). A
    // second removal, built but not committed: the default baseline is HEAD's
    // lock, not the working tree's, which already reserves the field.
    std::fs::write(&issue, std::fs::read_to_string(&issue).unwrap().replacen("  dueDate?: Date;\n", "", 1)).unwrap();
    assert_eq!(run(&["build", "--out", "generated"]).status.code(), Some(0));
    let (schemas, generated) = (repo.join("schemas"), repo.join("generated"));
    let elsewhere = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_manifold"))
            .args(["check", "--format", "json", "--schemas", schemas.to_str().unwrap()])
            .args(["--generated", generated.to_str().unwrap()])
            .args(extra)
            .current_dir(std::env::temp_dir())
            .output()
            .unwrap()
    };
    for extra in [&[][..], &["--against", "HEAD"]] {
        let o = elsewhere(extra);
        assert_eq!(o.status.code(), Some(1), "{extra:?}: {}", stderr(&o));
        let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let elements: Vec<&str> =
            json["findings"].as_array().unwrap().iter().map(|f| f["element"].as_str().unwrap()).collect();
        assert_eq!(elements, ["JiraIssue.dueDate"], "{extra:?}");
    }
    let _ = std::fs::remove_dir_all(&repo);
}

/// `--against` outside a git work tree cannot run, and says what to use instead.
#[test]
fn check_against_a_git_ref_outside_git_points_to_baseline() {
    let dir = copy_schemas();
    let o = Command::new(env!("CARGO_BIN_EXE_manifold"))
        .args(["check", "--against", "HEAD", "--schemas"])
        .arg(dir.path())
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("found no git work tree holding") && e.contains("`--baseline <manifold.lock>`"), "{e}");
    // The default baseline outside git is the working-tree lock: nothing changed.
    let o = Command::new(env!("CARGO_BIN_EXE_manifold"))
        .args(["check", "--schemas"])
        .arg(dir.path())
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}
