//! Generates the Rust of every example product with `manifold_compiler::Builder`,
//! exactly as an ingestion crate's build script does, so the test suite compiles
//! the generated code (warnings are errors under clippy) and exercises it.
//!
//! Also the `conformance` product of `tests/fixtures/conformance/` (an entity of
//! every scalar type and a model of every lowered construct, for the Spark
//! conformance test), assembled beside the real base declarations.

use std::path::{Path, PathBuf};

fn main() {
    for product in ["avocado", "confluence", "jira", "opsgenie"] {
        if let Err(e) = manifold_compiler::Builder::new().schemas("schemas").product(product).compile() {
            panic!("{e}");
        }
    }
    let tree = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("conformance-schemas");
    let _ = std::fs::remove_dir_all(&tree);
    copy_tree(Path::new("tests/fixtures/conformance"), &tree);
    std::fs::copy("schemas/manifold.ts", tree.join("manifold.ts")).expect("copy the base declarations");
    println!("cargo:rerun-if-changed=tests/fixtures/conformance");
    if let Err(e) = manifold_compiler::Builder::new().schemas(&tree).product("conformance").compile() {
        panic!("{e}");
    }
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create the conformance tree");
    for entry in std::fs::read_dir(from).expect("read the conformance fixture") {
        let entry = entry.expect("a directory entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("a file type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy a fixture file");
        }
    }
}
