//! The emitted artifacts checked by the real tools, installed project-locally by
//! `scripts/setup-tools.sh` (npm: buf) and `scripts/setup-python.sh` (venv:
//! dbt-core + dbt-spark): `buf lint` accepts the protos, and dbt-core compiles the
//! emitted dbt project to exactly the SQL Manifold compiled itself.

use manifold_e2e::copy_dir;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn tool(path: &str, setup: &str) -> PathBuf {
    let p = root().join(path);
    assert!(p.exists(), "{path} is not installed: run `{setup}` (scripts/test.sh does)");
    p
}

#[test]
fn buf_lint_accepts_the_emitted_protos() {
    let buf = tool("tools/node_modules/.bin/buf", "scripts/setup-tools.sh");
    let o = Command::new(buf)
        .args(["lint", "--error-format=json"])
        .current_dir(root().join("generated/proto"))
        .output()
        .unwrap();
    assert!(
        o.status.success() && o.stdout.is_empty(),
        "buf lint found problems:\n{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The check above can fail: a lint violation is reported.
#[test]
fn buf_lint_rejects_a_bad_proto() {
    let buf = tool("tools/node_modules/.bin/buf", "scripts/setup-tools.sh");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("demo/v1")).unwrap();
    std::fs::write(dir.path().join("buf.yaml"), "version: v2\nlint:\n  use:\n    - STANDARD\n").unwrap();
    std::fs::write(
        dir.path().join("demo/v1/demo.proto"),
        "syntax = \"proto3\";\npackage demo.v1;\nmessage bad_name {}\n",
    )
    .unwrap();
    let o = Command::new(buf).args(["lint", "--error-format=json"]).current_dir(dir.path()).output().unwrap();
    assert_eq!(o.status.code(), Some(100));
    assert!(String::from_utf8_lossy(&o.stdout).contains("MESSAGE_PASCAL_CASE"));
}

fn normalise(sql: &str) -> String {
    sql.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn dbt_core_compiles_the_emitted_project_to_the_same_sql() {
    let dbt = tool("tools/venv/bin/dbt", "scripts/setup-python.sh");
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("dbt");
    copy_dir(&root().join("generated/dbt"), &project);
    // dbt-spark in session mode renders relations exactly as Spark does; with
    // `--no-populate-cache` compiling starts no Spark session.
    std::fs::write(
        project.join("profiles.yml"),
        "manifold:\n  target: local\n  outputs:\n    local:\n      type: spark\n      method: session\n      host: NA\n      schema: manifold\n",
    )
    .unwrap();
    for args in [&["parse"][..], &["compile", "--no-populate-cache"][..]] {
        let o = Command::new(&dbt)
            .args(args)
            .args(["--profiles-dir", ".", "--no-use-colors"])
            .current_dir(&project)
            .env("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
            .output()
            .unwrap();
        let log = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
        assert!(o.status.success(), "dbt {args:?} failed:\n{log}");
        assert!(!log.contains("WARNING"), "dbt {args:?} warned:\n{log}");
    }
    let theirs: serde_json::Value =
        serde_json::from_slice(&std::fs::read(project.join("target/manifest.json")).unwrap()).unwrap();
    let ours: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root().join("generated/dbt/compiled/manifest.json")).unwrap()).unwrap();
    let ours = ours["nodes"].as_object().unwrap();
    let theirs_models = theirs["nodes"].as_object().unwrap().keys().filter(|k| k.starts_with("model.")).count();
    assert_eq!(ours.len(), theirs_models, "dbt found a different set of models");
    // dbt renders descriptions with Jinja: a doc that shows a template keeps it.
    let message = &theirs["nodes"]["model.manifold.opsgenie_alert"]["columns"]["message"]["description"];
    assert_eq!(message, "The alert message; integrations template it, e.g. `{{ host }} is down`.");
    let mut differ = Vec::new();
    for (id, node) in ours {
        let their_sql =
            theirs["nodes"][id]["compiled_code"].as_str().unwrap_or_else(|| panic!("dbt did not compile {id}"));
        let our_sql = node["compiled_sql"].as_str().unwrap();
        if normalise(their_sql) != normalise(our_sql) {
            differ.push(format!("{id}:\n--- dbt-core\n{their_sql}\n--- manifold\n{our_sql}"));
        }
    }
    assert!(
        differ.is_empty(),
        "{} of {} models compile differently:\n{}",
        differ.len(),
        ours.len(),
        differ.join("\n\n")
    );
}
