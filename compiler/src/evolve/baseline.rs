//! Where a check's baseline comes from: a lock file, or a git revision (its lock
//! and its schemas, read with git itself — no checkout).

use std::path::Path;

use anyhow::Context as _;

use super::Baseline;

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
    /// at `rev`; paths are relative to the current directory, inside a git work tree.
    pub fn from_git(rev: &str, schemas: &Path, generated: &Path) -> anyhow::Result<Baseline> {
        let lock_path = schemas.join(crate::lock::LOCK_FILE);
        let lock_text = git_show(rev, &lock_path)?;
        let root = format!("./{}", schemas.display());
        let out = std::process::Command::new("git")
            .args(["ls-tree", "-r", "--name-only", rev, "--", &root])
            .output()
            .context("cannot run git")?;
        if !out.status.success() {
            anyhow::bail!("git ls-tree {rev} failed: {}", String::from_utf8_lossy(&out.stderr).trim());
        }
        let prefix = format!("{}/", schemas.display().to_string().trim_start_matches("./").trim_end_matches('/'));
        let mut files = Vec::new();
        for path in String::from_utf8(out.stdout)?.lines() {
            let rel = path.strip_prefix(&prefix).unwrap_or(path).to_string();
            if (rel.ends_with(".ts") && !rel.ends_with(".d.ts")) || crate::load::is_model_file(&rel) {
                let text = git_show(rev, &schemas.join(&rel))?;
                files.push((rel, text));
            }
        }
        let display = format!("{rev}:{}", schemas.display());
        let loaded = crate::load::from_memory_in(&files, Some(&lock_text), &display);
        let compiled = crate::compile_loaded(loaded, lock_path.clone());
        let released_columns = released_columns(rev, generated);
        Ok(Baseline {
            name: format!("{rev}:{}", lock_path.display()),
            lock_text,
            compiled: Some(compiled),
            released_columns,
        })
    }

    /// The default: the state committed at HEAD, or outside git the working-tree
    /// lock (the only baseline there is).
    pub fn default_for(schemas: &Path, generated: &Path) -> anyhow::Result<Baseline> {
        Baseline::from_git("HEAD", schemas, generated)
            .or_else(|_| Baseline::from_lock_file(&schemas.join(crate::lock::LOCK_FILE)))
    }
}

/// Column names of every staging schema committed at `rev` (none if the ref has
/// no generated tree: the naming rule then has nothing to compare with).
fn released_columns(rev: &str, generated: &Path) -> std::collections::BTreeMap<String, Vec<String>> {
    let dir = generated.join("tables/manifold_entities");
    let mut out = std::collections::BTreeMap::new();
    let Ok(listing) = std::process::Command::new("git")
        .args(["ls-tree", "--name-only", rev, "--"])
        .arg(format!("./{}/", dir.display()))
        .output()
    else {
        return out;
    };
    for path in String::from_utf8_lossy(&listing.stdout).lines() {
        let Some(file) = path.rsplit('/').next().filter(|f| f.ends_with(".json")) else { continue };
        let Ok(text) = git_show(rev, &dir.join(file)) else { continue };
        if let Some(columns) = staging_columns(&text) {
            out.insert(file.trim_end_matches(".json").to_string(), columns);
        }
    }
    out
}

/// The column names of a staging table schema file (`tables/manifold_entities/X.json`).
pub fn staging_columns(json: &str) -> Option<Vec<String>> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    let fields = v.get("schema")?.get("fields")?.as_array()?;
    Some(fields.iter().filter_map(|f| f.get("name")?.as_str().map(str::to_string)).collect())
}

/// A file's content at a git revision (`git show REV:./path`, relative to the cwd).
fn git_show(rev: &str, path: &Path) -> anyhow::Result<String> {
    let spec = format!("{rev}:./{}", path.display());
    let out = std::process::Command::new("git").args(["show", &spec]).output().context("cannot run git")?;
    if !out.status.success() {
        anyhow::bail!("git show {spec} failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(String::from_utf8(out.stdout)?)
}

/// Today's date in UTC, YYYY-MM-DD (civil-from-days, proleptic Gregorian).
pub fn today_utc() -> String {
    let secs =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0) as i64;
    crate::model::date::civil_date(secs.div_euclid(86_400))
}
