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
    civil_date(secs.div_euclid(86_400))
}

/// Days since 1970-01-01 of an ISO date `YYYY-MM-DD` (None if malformed).
pub fn days_from_civil(date: &str) -> Option<i64> {
    let mut parts = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, m, d) = (parts.next()??, parts.next()??, parts.next()??);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || date.len() != 10 {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// The date `days` days after 1970-01-01.
fn civil_date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn civil_dates() {
        assert_eq!(super::civil_date(0), "1970-01-01");
        assert_eq!(super::civil_date(20_418), "2025-11-26");
        assert_eq!(super::civil_date(11_016), "2000-02-29");
        assert_eq!(super::civil_date(-1), "1969-12-31");
        for days in [-1, 0, 11_016, 20_418, 40_000] {
            assert_eq!(super::days_from_civil(&super::civil_date(days)), Some(days));
        }
        assert_eq!(super::days_from_civil("2026-13-01"), None);
    }
}
