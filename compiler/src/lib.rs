//! The Manifold compiler: TypeScript entity schemas → a checked Model and its lock.
//!
//! The stages are plain functions, each of the output of the one before:
//!
//! ```text
//! schemas/**/*.ts ──load──► SourceDb ──parse──► Syntax ──resolve──► Model ──lock::assign──► Lock
//! ```
//!
//! Stages never fail on bad input; they return their output with [`Diagnostics`].
//! [`compile`] runs the whole front end:
//!
//! ```no_run
//! let out = manifold_compiler::compile(std::path::Path::new("schemas"), "schemas").unwrap();
//! assert!(!out.diagnostics.has_errors());
//! for entity in out.model.entities() {
//!     let number = out.lock.entity(&entity.name).map(|e| e.entity_type);
//!     println!("{} = {number:?}", entity.name);
//! }
//! ```

pub mod bench;
pub mod builder;
pub mod cli;
pub mod diag;
pub mod emit;
pub mod evolve;
pub mod load;
pub mod lock;
pub mod lower;
pub mod model;
pub mod parse;
pub mod source;
pub mod synthetic;
pub mod write;

use std::path::{Path, PathBuf};

pub use builder::{BuildError, Builder};
pub use diag::{Diagnostic, Diagnostics};
pub use lock::Lock;
pub use model::Model;

use source::SourceDb;

/// Everything the front end produced for one schema tree.
#[derive(Debug)]
pub struct Compilation {
    /// Every file read (schemas and lock), for rendering diagnostics.
    pub db: SourceDb,
    pub model: Model,
    /// The lock after numbering the Model (what `manifold build` writes).
    pub lock: Lock,
    /// The canonical text of `lock`.
    pub lock_text: String,
    /// The lock file's text before this run (`None` if there was none).
    pub old_lock_text: Option<String>,
    /// The lock's path.
    pub lock_path: PathBuf,
    /// The lock file as read (in `db`), if there was one.
    pub lock_file: Option<source::FileId>,
    /// Every file read, for `cargo:rerun-if-changed`.
    pub inputs: Vec<PathBuf>,
    pub diagnostics: Diagnostics,
}

impl Compilation {
    /// Whether writing the lock would change it.
    pub fn lock_is_stale(&self) -> bool {
        self.old_lock_text.as_deref() != Some(self.lock_text.as_str())
    }
}

/// Runs every emitter over an error-free compilation (nothing otherwise), for
/// an output folder beside the schema folder (see [`emit_with_layout`]).
pub fn emit(c: &Compilation) -> emit::Emitted {
    emit_with_layout(c, &emit::crates::Layout::default())
}

/// [`emit()`] for the output folder's place relative to the schema folder.
pub fn emit_with_layout(c: &Compilation, layout: &emit::crates::Layout) -> emit::Emitted {
    if c.diagnostics.has_errors() {
        return emit::Emitted::default();
    }
    emit::emit_all(&c.model, &c.lock, layout)
}

/// Runs the front end over the schema tree at `root`: load, parse, resolve, and
/// number the Model with the lock. `display_root` prefixes file paths in
/// diagnostics. Only IO fails; schema problems are in `diagnostics`.
pub fn compile(root: &Path, display_root: &str) -> Result<Compilation, load::LoadError> {
    let loaded = load::load(root, display_root)?;
    Ok(compile_loaded(loaded, root.join(lock::LOCK_FILE)))
}

/// [`compile`] over files already in memory (see [`load::from_memory`]).
pub fn compile_loaded(loaded: load::Loaded, lock_path: PathBuf) -> Compilation {
    let ts_files: Vec<_> = loaded.layout.files.iter().filter(|f| !load::is_model_file(&f.rel)).map(|f| f.id).collect();
    // The old lock does not depend on the schemas, nor the Model on the lock:
    // it is read while they are parsed and resolved.
    let ((model, mut diagnostics), (old_lock, lock_diags)) = rayon::join(
        || {
            let (syntax, mut diagnostics) = parse::parse(&loaded.db, &ts_files, loaded.layout.base);
            let (model, resolve_diags) = model::resolve(&syntax, &loaded.layout, &loaded.db);
            diagnostics.extend(resolve_diags);
            (model, diagnostics)
        },
        || match loaded.lock {
            Some(file) => lock::read(&loaded.db, file),
            None => (Some(Lock::default()), Diagnostics::new()),
        },
    );
    diagnostics.extend(lock_diags);
    // A lock that cannot be read is never rewritten: numbering from scratch would
    // silently renumber released fields. The build stops on its diagnostics.
    let lock = old_lock.as_ref().map(|old| lock::assign(&model, old)).unwrap_or_default();
    let lock_text = lock::write(&lock);
    let old_lock_text = loaded.lock.map(|f| loaded.db.get(f).text.clone());
    diagnostics.sort();
    Compilation {
        db: loaded.db,
        model,
        lock,
        lock_text,
        old_lock_text,
        lock_path,
        lock_file: loaded.lock,
        inputs: loaded.paths,
        diagnostics,
    }
}
