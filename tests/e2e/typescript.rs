//! The schemas are real TypeScript: the real compiler (`tsc --noEmit`, installed by
//! `scripts/setup-tools.sh` into `tools/node_modules`) accepts all of `schemas/`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn tsc() -> PathBuf {
    let tsc = root().join("tools/node_modules/.bin/tsc");
    assert!(tsc.exists(), "tsc is not installed: run `scripts/setup-tools.sh` (the test script does)");
    tsc
}

#[test]
fn tsc_accepts_every_schema() {
    let o = Command::new(tsc()).args(["--noEmit", "-p"]).arg(root().join("schemas")).output().unwrap();
    assert!(
        o.status.success(),
        "tsc rejected the schemas:\n{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The check above can fail: the same project with one bad file is rejected.
#[test]
fn tsc_rejects_a_broken_schema() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(root().join("schemas/manifold.ts"), dir.path().join("manifold.ts")).unwrap();
    std::fs::copy(root().join("schemas/tsconfig.json"), dir.path().join("tsconfig.json")).unwrap();
    std::fs::create_dir(dir.path().join("jira")).unwrap();
    std::fs::write(
        dir.path().join("jira/bad.ts"),
        "import { Entity } from \"../manifold\";\nexport interface JiraIssue extends Entity { id: Strin; }\n",
    )
    .unwrap();
    let o = Command::new(tsc()).args(["--noEmit", "-p"]).arg(dir.path()).output().unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("Strin"));
}
