//! Generates the Rust of every example product with `manifold_compiler::Builder`,
//! exactly as an ingestion crate's build script does, so the test suite compiles
//! the generated code (warnings are errors under clippy) and exercises it.

fn main() {
    for product in ["avocado", "confluence", "jira", "opsgenie"] {
        if let Err(e) = manifold_compiler::Builder::new().schemas("schemas").product(product).compile() {
            panic!("{e}");
        }
    }
}
