//! Emit: `(&Model, &Lock) → artifacts`. Pure and deterministic: no file system,
//! clock or environment; every collection is walked in Model or sorted order, so
//! the same inputs give the same bytes on every machine. Only `write.rs` puts
//! artifacts on disk.
//!
//! One module per artifact family: `proto` (.proto files, buf.yaml and the
//! descriptor set), `dbt` (the dbt project and its compiled SQL), `table` (Delta
//! schemas derived from the compiled SQL). `columns` is the column plan they share.

pub mod columns;
pub mod crates;
pub mod dbt;
pub mod proto;
pub mod rust;
pub mod table;
pub(crate) mod templates;

use rayon::slice::ParallelSliceMut;

use crate::diag::Diagnostics;
use crate::lock::Lock;
use crate::model::Model;

/// One output file: a `/`-separated path relative to the output root, and its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Artifact {
    pub path: String,
    pub bytes: Vec<u8>,
}

impl Artifact {
    pub fn text(path: impl Into<String>, text: impl Into<String>) -> Self {
        Artifact { path: path.into(), bytes: text.into().into_bytes() }
    }
}

/// Everything `manifold build` writes, sorted by path, plus what the emitters found
/// wrong (for example a team model that does not compile).
#[derive(Debug, Default)]
pub struct Emitted {
    pub artifacts: Vec<Artifact>,
    pub diagnostics: Diagnostics,
    /// Every dbt model, compiled: what the Rust emitter needs beside the
    /// descriptor set (a build script's `Builder` takes them from here rather
    /// than rendering and compiling the project a second time).
    pub models: Vec<dbt::DbtModel>,
}

/// Runs every emitter. `model` must be free of errors and `lock` must number it
/// (`lock::assign`).
pub fn emit_all(model: &Model, lock: &Lock, layout: &crates::Layout) -> Emitted {
    let mut out = Emitted::default();
    out.artifacts.push(Artifact::text("README.md", templates::raw("generated_README.md")));
    // The protos do not depend on the dbt project or the tables derived from it:
    // both branches run at once (and each spreads its own work over the cores).
    let (protos, (dbt, tables)) = rayon::join(
        || proto::emit(model, lock),
        || {
            let mut dbt = dbt::models(model, lock);
            // The models' files and the tables derived from them, at once.
            let (files, tables) =
                rayon::join(|| dbt::model_files(&dbt.models), || table::emit(model, lock, &dbt.models));
            dbt.files.extend(files);
            (dbt, tables)
        },
    );
    out.artifacts.extend(protos.files);
    match protos.descriptor_set {
        Ok(fds) => out.artifacts.push(Artifact { path: proto::DESCRIPTOR_SET.into(), bytes: fds }),
        Err(d) => out.diagnostics.push(d),
    }
    out.artifacts.extend(dbt.files);
    out.diagnostics.extend(dbt.diagnostics);
    out.artifacts.extend(tables.files);
    out.diagnostics.extend(tables.diagnostics);
    out.models = dbt.models;
    out.artifacts.extend(crates::emit(model, layout));
    out.artifacts.par_sort_by(|a, b| a.path.cmp(&b.path));
    out
}
