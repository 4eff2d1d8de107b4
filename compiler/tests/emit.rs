//! The emitters over the example schemas: snapshots of every artifact kind, the
//! committed `generated/` tree is exactly what `manifold build` writes, and output
//! is deterministic.

use std::path::{Path, PathBuf};

use manifold_compiler::emit::{self, Artifact};
use manifold_compiler::{compile, diag, write};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn artifacts() -> Vec<Artifact> {
    let c = compile(&root().join("schemas"), "schemas").unwrap();
    let out = manifold_compiler::emit(&c);
    let mut all = c.diagnostics.clone();
    all.extend(out.diagnostics.clone());
    assert!(!all.has_errors(), "{}", diag::render_text(&c.db, &all, false));
    out.artifacts
}

fn text<'a>(artifacts: &'a [Artifact], path: &str) -> &'a str {
    let a = artifacts.iter().find(|a| a.path == path).unwrap_or_else(|| panic!("no artifact {path}"));
    std::str::from_utf8(&a.bytes).unwrap()
}

#[test]
fn the_committed_generated_tree_is_up_to_date() {
    let diffs = write::diff_tree(&root().join("generated"), &artifacts()).unwrap();
    assert!(diffs.is_empty(), "generated/ is stale; run `cargo run -- build`:\n{}", diffs.join("\n"));
}

#[test]
fn emitting_twice_gives_the_same_bytes() {
    assert_eq!(artifacts(), artifacts());
}

#[test]
fn proto_snapshots() {
    let a = artifacts();
    insta::assert_snapshot!("envelope.proto", text(&a, "proto/manifold/v1/envelope.proto"));
    insta::assert_snapshot!("avocado.proto", text(&a, "proto/manifold/avocado/v1/avocado.proto"));
    insta::assert_snapshot!("jira.proto", text(&a, "proto/manifold/jira/v1/jira.proto"));
}

#[test]
fn the_descriptor_set_holds_every_message_with_lock_numbers() {
    use prost::Message as _;
    let a = artifacts();
    let bytes = &a.iter().find(|a| a.path == emit::proto::DESCRIPTOR_SET).unwrap().bytes;
    let fds = prost_types::FileDescriptorSet::decode(bytes.as_slice()).unwrap();
    let jira = fds.file.iter().find(|f| f.package() == "manifold.jira.v1").unwrap();
    let issue = jira.message_type.iter().find(|m| m.name() == "JiraIssue").unwrap();
    let c = compile(&root().join("schemas"), "schemas").unwrap();
    let locked = c.lock.entity("JiraIssue").unwrap();
    for f in &issue.field {
        let lock_field =
            locked.fields.iter().find(|l| manifold_compiler::model::naming::snake_case(&l.name) == f.name());
        assert_eq!(Some(f.number() as u32), lock_field.map(|l| l.number), "{}", f.name());
    }
    assert!(fds.file.iter().any(|f| f.name() == "google/protobuf/any.proto"), "imports are included");
    let envelope = fds.file.iter().find(|f| f.package() == "manifold.v1").unwrap();
    let record = envelope.message_type.iter().find(|m| m.name() == "FacsimileRecord").unwrap();
    let fields: Vec<(&str, i32)> = record.field.iter().map(|f| (f.name(), f.number())).collect();
    assert_eq!(
        fields,
        [
            ("resource_ari", 1),
            ("entity_type", 2),
            ("workspace_id", 3),
            ("version", 4),
            ("generation_watermark", 5),
            ("is_tombstone", 6),
            ("entity", 7),
            ("offload_pointer", 8)
        ]
    );
}
