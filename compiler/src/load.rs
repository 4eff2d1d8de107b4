//! Load: a schema directory → [`SourceDb`] + [`Layout`]. The only reading of the
//! schema tree from disk; IO failures are errors (exit 2), not diagnostics.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::lock::LOCK_FILE;
use crate::model::{Layout, LayoutFile};
use crate::source::{FileId, SourceDb, SourceFile};

/// The base declarations' file name at the schema root.
pub const BASE_FILE: &str = "manifold.ts";

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("schema directory `{0}` does not exist")]
    Missing(PathBuf),
    #[error("`{0}` is a file; the schemas are a directory (the one holding `manifold.ts`)")]
    NotADirectory(PathBuf),
    #[error("cannot read `{path}`")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What was loaded: the sources, where they sit, and the lock file if present.
#[derive(Debug)]
pub struct Loaded {
    pub db: SourceDb,
    pub layout: Layout,
    pub lock: Option<FileId>,
    /// Every file read, for build scripts' `rerun-if-changed`.
    pub paths: Vec<PathBuf>,
}

/// Reads every `*.ts` file under `root` (skipping hidden folders, `node_modules`
/// and `.d.ts`), plus `manifold.lock`. Files are read in sorted path order so that
/// everything downstream is deterministic. `display_root` prefixes the paths shown
/// in diagnostics (e.g. `schemas`).
pub fn load(root: &Path, display_root: &str) -> Result<Loaded, LoadError> {
    if root.exists() && !root.is_dir() {
        return Err(LoadError::NotADirectory(root.to_path_buf()));
    }
    if !root.is_dir() {
        return Err(LoadError::Missing(root.to_path_buf()));
    }
    let mut rels = Vec::new();
    walk(root, root, &mut rels)?;
    rels.sort();
    let mut db = SourceDb::new();
    let mut layout = Layout::default();
    let mut paths = Vec::new();
    let display = |rel: &str| if display_root.is_empty() { rel.to_string() } else { format!("{display_root}/{rel}") };
    // Read and indexed on every core (a cold page cache makes this wait on the
    // disk), then added in path order: ids, and the first error, stay the same.
    let read_all: Vec<Result<SourceFile, LoadError>> =
        rels.par_iter().map(|rel| Ok(SourceFile::new(display(rel), read(&root.join(rel))?))).collect();
    for (rel, file) in rels.into_iter().zip(read_all) {
        let path = root.join(&rel);
        let id = db.add(file?);
        if rel == BASE_FILE {
            layout.base = Some(id);
        }
        let product = rel.split_once('/').map(|(p, _)| p.to_string());
        layout.files.push(LayoutFile { id, rel, product });
        paths.push(path);
    }
    let lock_path = root.join(LOCK_FILE);
    let lock = if lock_path.is_file() {
        let text = read(&lock_path)?;
        paths.push(lock_path);
        Some(db.add(SourceFile::new(display(LOCK_FILE), text)))
    } else {
        None
    };
    Ok(Loaded { db, layout, lock, paths })
}

/// Builds the same [`Loaded`] from in-memory files: `(relative path, text)` pairs
/// (`manifold.ts`, `jira/issue.ts`, …) and an optional lock text. For tests,
/// fuzzing and benchmarks; paths are shown as given.
pub fn from_memory(files: &[(String, String)], lock: Option<&str>) -> Loaded {
    from_memory_in(files, lock, "")
}

/// [`from_memory`], showing paths under `display_root` (e.g. `main:schemas`).
pub fn from_memory_in(files: &[(String, String)], lock: Option<&str>, display_root: &str) -> Loaded {
    // `HEAD:` (schemas at a repository's top) is followed directly by the path.
    let display = |rel: &str| match display_root {
        "" => rel.to_string(),
        root if root.ends_with(':') => format!("{root}{rel}"),
        root => format!("{root}/{rel}"),
    };
    let mut sorted: Vec<&(String, String)> = files.iter().collect();
    sorted.sort();
    let mut db = SourceDb::new();
    let mut layout = Layout::default();
    for (rel, text) in sorted {
        let id = db.add(SourceFile::new(display(rel), text.clone()));
        if rel == BASE_FILE {
            layout.base = Some(id);
        }
        let product = rel.split_once('/').map(|(p, _)| p.to_string());
        layout.files.push(LayoutFile { id, rel: rel.clone(), product });
    }
    let lock = lock.map(|text| db.add(SourceFile::new(display(LOCK_FILE), text)));
    Loaded { db, layout, lock, paths: Vec::new() }
}

/// A team's own dbt model: `<product>/models/<name>.sql`.
pub fn is_model_file(rel: &str) -> bool {
    let parts: Vec<&str> = rel.split('/').collect();
    matches!(parts.as_slice(), [_, "models", file] if file.ends_with(".sql"))
}

fn read(path: &Path) -> Result<String, LoadError> {
    std::fs::read_to_string(path).map_err(|source| LoadError::Io { path: path.to_path_buf(), source })
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<(), LoadError> {
    let io = |source| LoadError::Io { path: dir.to_path_buf(), source };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let ty = entry.file_type().map_err(io)?;
        if ty.is_dir() {
            if !name.starts_with('.') && name != "node_modules" {
                walk(root, &path, out)?;
            }
        } else if (name.ends_with(".ts") && !name.ends_with(".d.ts"))
            || is_model_file(&crate::source::display_path(root, &path))
        {
            out.push(crate::source::display_path(root, &path));
        }
    }
    Ok(())
}
