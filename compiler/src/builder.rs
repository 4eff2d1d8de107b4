//! `Builder`: generate a product's Rust from a build script, in the style of
//! `prost_build::Config`.
//!
//! ```no_run
//! // build.rs of an ingestion crate: `fn main() { … }` around this
//! manifold_compiler::Builder::new()
//!     .schemas("../../schemas")
//!     .product("jira")
//!     .compile()
//!     .unwrap_or_else(|e| panic!("{e}"));
//! ```
//!
//! ```ignore
//! // src/main.rs (or lib.rs)
//! include!(concat!(env!("OUT_DIR"), "/manifold_jira.rs"));
//! // → `proto::manifold::jira::v1::*` (prost types), `mapping::*`, `REGISTRY`
//! ```
//!
//! The generated code needs `manifold-runtime` and `prost` as dependencies.
//! `compile` prints `cargo:rerun-if-changed` for exactly the files it read (every
//! schema, team model and the lock) and for the schema folders (so new files are
//! noticed), and writes its output only when the bytes change, so a rerun with
//! nothing changed rebuilds nothing.

use std::path::{Path, PathBuf};

use crate::{compile, diag, emit, write};

/// Why generating failed. Its `Display` is the full, rendered diagnostics.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Load(#[from] crate::load::LoadError),
    #[error("the schemas have errors:\n{0}")]
    Schemas(String),
    #[error("cannot generate Rust for `{product}`: {message}")]
    Generate { product: String, message: String },
    #[error("cannot write `{path}`: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("OUT_DIR is not set: call `out_dir` outside a build script")]
    NoOutDir,
}

/// Configures and runs Rust generation for one product.
#[derive(Clone, Debug, Default)]
pub struct Builder {
    schemas: Option<PathBuf>,
    product: Option<String>,
    out_dir: Option<PathBuf>,
    emit_rerun_if_changed: bool,
}

impl Builder {
    pub fn new() -> Self {
        Builder { emit_rerun_if_changed: true, ..Default::default() }
    }

    /// The schema root (default `schemas`, relative to the build script's crate).
    pub fn schemas(&mut self, path: impl AsRef<Path>) -> &mut Self {
        self.schemas = Some(path.as_ref().to_path_buf());
        self
    }

    /// The product to generate (a folder of the schema root).
    pub fn product(&mut self, name: impl Into<String>) -> &mut Self {
        self.product = Some(name.into());
        self
    }

    /// Where to write `manifold_<product>.rs` (default: `$OUT_DIR`).
    pub fn out_dir(&mut self, path: impl AsRef<Path>) -> &mut Self {
        self.out_dir = Some(path.as_ref().to_path_buf());
        self
    }

    /// Whether to print `cargo:rerun-if-changed` lines (default: yes).
    pub fn emit_rerun_if_changed(&mut self, yes: bool) -> &mut Self {
        self.emit_rerun_if_changed = yes;
        self
    }

    /// Generates the product's Rust; returns the path of the file written.
    pub fn compile(&self) -> Result<PathBuf, BuildError> {
        let schemas = self.schemas.clone().unwrap_or_else(|| PathBuf::from("schemas"));
        let product = self.product.clone().ok_or_else(|| BuildError::Generate {
            product: String::new(),
            message: "no product given: call `.product(\"…\")`".into(),
        })?;
        let out_dir = match &self.out_dir {
            Some(d) => d.clone(),
            None => PathBuf::from(std::env::var_os("OUT_DIR").ok_or(BuildError::NoOutDir)?),
        };
        let c = compile(&schemas, &schemas.to_string_lossy())?;
        if self.emit_rerun_if_changed {
            for path in watched(&schemas, &c.inputs) {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
        let mut diagnostics = c.diagnostics.clone();
        let emitted = crate::emit(&c);
        diagnostics.extend(emitted.diagnostics);
        if diagnostics.has_errors() {
            return Err(BuildError::Schemas(diag::render_text(&c.db, &diagnostics, false)));
        }
        let fds = emitted
            .artifacts
            .iter()
            .find(|a| a.path == emit::proto::DESCRIPTOR_SET)
            .map(|a| a.bytes.clone())
            .unwrap_or_default();
        let rust = emit::rust::product_rust(&c.model, &c.lock, &product, &fds, &emitted.models)
            .map_err(|message| BuildError::Generate { product: product.clone(), message })?;
        let descriptors = out_dir.join(emit::rust::descriptor_file(&product));
        write::write_if_changed(&descriptors, &fds)
            .map_err(|source| BuildError::Write { path: descriptors.clone(), source })?;
        let path = out_dir.join(format!("manifold_{product}.rs"));
        write::write_if_changed(&path, rust.as_bytes())
            .map_err(|source| BuildError::Write { path: path.clone(), source })?;
        Ok(path)
    }
}

/// What a build script watches, each path once: the schema root, every file
/// read (schemas, team models, the lock) and the folders holding them (a new
/// file there changes the build too).
fn watched(schemas: &Path, inputs: &[PathBuf]) -> std::collections::BTreeSet<PathBuf> {
    let mut out = std::collections::BTreeSet::from([schemas.to_path_buf()]);
    for path in inputs {
        out.insert(path.clone());
        out.extend(path.parent().map(Path::to_path_buf));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_build_script_watches_exactly_what_it_read_and_their_folders() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas");
        let c = compile(&root, "schemas").unwrap();
        let watched = watched(&root, &c.inputs);
        let rel: Vec<String> =
            watched.iter().map(|p| p.strip_prefix(&root).unwrap().to_string_lossy().into_owned()).collect();
        for expected in ["", "manifold.ts", "manifold.lock", "jira", "jira/issue.ts", "jira/models"] {
            assert!(rel.iter().any(|r| r == expected), "`{expected}` is not watched: {rel:?}");
        }
        assert!(rel.iter().any(|r| r.starts_with("jira/models/") && r.ends_with(".sql")), "{rel:?}");
        // Only what was read: not the editor's tsconfig.json.
        assert!(!rel.iter().any(|r| r.ends_with("tsconfig.json")), "{rel:?}");
        let files = rel.iter().filter(|r| r.contains('.')).count();
        assert_eq!(files, c.inputs.len(), "every input once");
    }
}
