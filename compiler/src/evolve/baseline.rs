//! Where a check's baseline comes from: a lock file, or a git revision (its lock
//! and its schemas, read with git itself — no checkout).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context as _;

use super::Baseline;
use super::git::Repo;

impl Baseline {
    /// A lock file alone (no baseline Model: owner and team-model rules do not run).
    pub fn from_lock_file(path: &Path) -> anyhow::Result<Baseline> {
        let lock_text =
            std::fs::read_to_string(path).with_context(|| format!("cannot read the baseline `{}`", path.display()))?;
        Ok(Baseline {
            name: path.display().to_string(),
            lock_text,
            compiled: None,
            released_columns: Default::default(),
        })
    }

    /// The lock, the schemas and the released staging schemas (under `generated`)
    /// at `rev` of the git work tree holding `schemas`, whatever the current
    /// directory. Every file is read by one `git cat-file --batch`: a tree of
    /// thousands of schemas costs one process, not one per file.
    pub fn from_git(rev: &str, schemas: &Path, generated: &Path) -> anyhow::Result<Baseline> {
        let repo = Repo::containing(schemas).with_context(|| {
            format!(
                "`--against {rev}` reads the baseline from git, which found no git work tree holding `{}` (the \
                 cause follows); outside git, compare with a lock file instead (`--baseline <manifold.lock>`)",
                schemas.display()
            )
        })?;
        repo.verify(rev)?;
        let lock_rel = repo.relative(&schemas.join(crate::lock::LOCK_FILE))?;
        at_revision(&repo, rev, schemas, generated)?.with_context(|| format!("`{rev}` has no `{lock_rel}`"))
    }

    /// The default: the state committed at HEAD; the working-tree lock (the only
    /// baseline there is) outside git, before the first commit, or while the lock
    /// was never committed. Only those fall back: any other failure to read HEAD
    /// is an error, as a silent fallback would compare with a lock the change
    /// itself has updated.
    pub fn default_for(schemas: &Path, generated: &Path) -> anyhow::Result<Baseline> {
        let lock = || Baseline::from_lock_file(&schemas.join(crate::lock::LOCK_FILE));
        // No git, no repository, no commit yet, or a lock never committed.
        let Ok(repo) = Repo::containing(schemas) else { return lock() };
        if repo.verify("HEAD").is_err() {
            return lock();
        }
        match at_revision(&repo, "HEAD", schemas, generated)? {
            Some(baseline) => Ok(baseline),
            None => lock(),
        }
    }
}

/// The baseline at `rev` of `repo`, which holds `schemas`; `None` when the
/// revision has no lock there. Every file is read by one `git cat-file --batch`.
fn at_revision(repo: &Repo, rev: &str, schemas: &Path, generated: &Path) -> anyhow::Result<Option<Baseline>> {
    let root = repo.relative(schemas)?;
    let in_root = |name: &str| if root.is_empty() { name.to_string() } else { format!("{root}/{name}") };
    let lock_rel = in_root(crate::lock::LOCK_FILE);
    let mut wanted: Vec<(String, String)> = Vec::new(); // (path in the schemas, path in the repo)
    for path in repo.list(rev, &root)? {
        let rel = if root.is_empty() { path.as_str() } else { path.strip_prefix(&format!("{root}/")).unwrap_or(&path) };
        if (rel.ends_with(".ts") && !rel.ends_with(".d.ts")) || crate::load::is_model_file(rel) {
            wanted.push((rel.to_string(), path.clone()));
        }
    }
    let mut paths: Vec<&str> = vec![lock_rel.as_str()];
    paths.extend(wanted.iter().map(|(_, p)| p.as_str()));
    let mut texts = repo.read(rev, &paths)?.into_iter();
    let Some(lock_text) = texts.next().flatten() else { return Ok(None) };
    let mut files = Vec::new();
    for ((rel, path), text) in wanted.into_iter().zip(texts) {
        files.push((rel, text.with_context(|| format!("`{rev}:{path}` cannot be read"))?));
    }
    let display = format!("{rev}:{root}"); // `main:schemas`, or `main:` at the top
    let loaded = crate::load::from_memory_in(&files, Some(&lock_text), &display);
    let compiled = crate::compile_loaded(loaded, schemas.join(crate::lock::LOCK_FILE));
    let released_columns = released_columns(repo, rev, generated);
    Ok(Some(Baseline { name: format!("{rev}:{lock_rel}"), lock_text, compiled: Some(compiled), released_columns }))
}

/// Column names of every staging schema committed at `rev` (none if the ref has
/// no generated tree, or it lies outside the repository: the naming rule then
/// has nothing to compare with).
fn released_columns(repo: &Repo, rev: &str, generated: &Path) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    let Ok(dir) = repo.relative(&generated.join("tables/manifold_entities")) else { return out };
    let Ok(listing) = repo.list(rev, &dir) else { return out };
    let files: Vec<&str> = listing.iter().map(String::as_str).filter(|p| p.ends_with(".json")).collect();
    let Ok(texts) = repo.read(rev, &files) else { return out };
    for (path, text) in files.iter().zip(texts) {
        let Some(columns) = text.as_deref().and_then(staging_columns) else { continue };
        let name = path.rsplit('/').next().unwrap_or(path).trim_end_matches(".json");
        out.insert(name.to_string(), columns);
    }
    out
}

/// The column names of a staging table schema file (`tables/manifold_entities/X.json`).
pub fn staging_columns(json: &str) -> Option<Vec<String>> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    let fields = v.get("schema")?.get("fields")?.as_array()?;
    Some(fields.iter().filter_map(|f| f.get("name")?.as_str().map(str::to_string)).collect())
}

/// Today's date in UTC, YYYY-MM-DD (civil-from-days, proleptic Gregorian).
pub fn today_utc() -> String {
    let secs =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0) as i64;
    crate::model::date::civil_date(secs.div_euclid(86_400))
}
