//! The only module that writes output files.
//!
//! A file is written only when its bytes change (so a build.rs rerun or a no-op
//! `manifold build` touches nothing), and atomically: the bytes go to a temporary
//! file in the same directory, which is then renamed over the target, so a crash
//! never leaves a half-written lock or artifact behind.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::emit::Artifact;

/// Writes `bytes` to `path` unless it already holds exactly them. Returns whether
/// the file changed. Atomic (temporary file + rename): a crash leaves the old or
/// the new file, never half of one. Not fsynced: build outputs can be rebuilt.
pub fn write_if_changed(path: &Path, bytes: &[u8]) -> std::io::Result<bool> {
    write(path, bytes, false)
}

/// [`write_if_changed`], and the bytes are on disk before it returns: for the lock
/// file, which cannot be rebuilt.
pub fn write_durably_if_changed(path: &Path, bytes: &[u8]) -> std::io::Result<bool> {
    write(path, bytes, true)
}

fn write(path: &Path, bytes: &[u8], durable: bool) -> std::io::Result<bool> {
    if holds(path, bytes) {
        return Ok(false);
    }
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    // Temporary files are private (0600); an output file is an ordinary one.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file().set_permissions(std::fs::Permissions::from_mode(0o644))?;
    }
    if durable {
        tmp.as_file().sync_all()?;
    }
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(true)
}

/// Whether the file at `path` holds exactly `bytes` (false if it cannot be
/// read): its length first, then its contents a block at a time through a
/// buffer each thread keeps. A no-op build compares every output; reading
/// each whole into a buffer of its own had the kernel hand out and zero fresh
/// pages for all of them (a fifth of a rerun's time on the synthetic tree).
fn holds(path: &Path, bytes: &[u8]) -> bool {
    use std::io::Read as _;
    thread_local! {
        static BLOCK: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0; 64 * 1024]);
    }
    let Ok(mut file) = std::fs::File::open(path) else { return false };
    if !file.metadata().is_ok_and(|m| m.is_file() && m.len() == bytes.len() as u64) {
        return false;
    }
    BLOCK.with_borrow_mut(|block| {
        let mut rest = bytes;
        loop {
            match file.read(block) {
                // The file may have grown since its length was read.
                Ok(0) => return rest.is_empty(),
                Ok(n) if n <= rest.len() && block[..n] == rest[..n] => rest = &rest[n..],
                Ok(_) => return false,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
    })
}

/// What `write_tree` did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct TreeReport {
    pub written: Vec<String>,
    pub unchanged: usize,
    pub removed: Vec<String>,
}

/// Makes `out` hold exactly `artifacts`: writes the changed ones, and removes files
/// that no artifact produces any more (then empty folders). `out` belongs to
/// Manifold; nothing else should be kept there.
pub fn write_tree(out: &Path, artifacts: &[Artifact]) -> std::io::Result<TreeReport> {
    check_output_folder(out)?;
    // What was there before: listed first, as the writes below pass through
    // temporary files that a listing taken meanwhile would see.
    let existing = existing_files(out)?;
    // Files are compared and written on every core; the report keeps the
    // artifacts' order.
    let changed: Vec<_> = artifacts.par_iter().map(|a| write_if_changed(&out.join(&a.path), &a.bytes)).collect();
    let mut report = TreeReport::default();
    for (a, changed) in artifacts.iter().zip(changed) {
        if changed? {
            report.written.push(a.path.clone());
        } else {
            report.unchanged += 1;
        }
    }
    let wanted: BTreeSet<&str> = artifacts.iter().map(|a| a.path.as_str()).collect();
    for path in existing {
        if !wanted.contains(path.as_str()) {
            std::fs::remove_file(out.join(&path))?;
            report.removed.push(path);
        }
    }
    remove_empty_dirs(out)?;
    Ok(report)
}

/// Whether `out` can take a tree: absent, empty, or written by `manifold build`
/// before (its `README.md` is the generated one). `write_tree` removes every
/// file there it does not produce, so pointed at a folder of other files —
/// the schemas, the repository's root — it would delete them all. Said before
/// anything is written: otherwise each artifact would also fail on its own
/// with the platform's "File exists" or "Not a directory".
pub fn check_output_folder(out: &Path) -> std::io::Result<()> {
    if out.exists() && !out.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotADirectory,
            format!("`{}` is a file; the output location is a directory", out.display()),
        ));
    }
    let readme = std::fs::read_to_string(out.join("README.md")).unwrap_or_default();
    let ours = readme.starts_with("# generated\n") && readme.contains("`manifold build`");
    if ours || !out.is_dir() || std::fs::read_dir(out)?.next().is_none() {
        return Ok(());
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::DirectoryNotEmpty,
        format!(
            "`{}` holds files `manifold build` did not write (it has no generated README.md), and building \
             there would delete them: give a new or empty folder, or the one `manifold build` wrote before",
            out.display()
        ),
    ))
}

/// Why `out` cannot hold the build of the schema tree at `schemas`: the two
/// must not overlap, or the build would write its artifacts among the schemas
/// (and read them back as schemas next time) or delete the schemas as files
/// it does not produce. Symbolic links are resolved.
pub fn check_apart(out: &Path, schemas: &Path) -> std::io::Result<()> {
    let (o, s) = (crate::source::resolved_path(out)?, crate::source::resolved_path(schemas)?);
    if o.starts_with(&s) || s.starts_with(&o) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "the output folder `{}` and the schemas `{}` overlap; give an output folder beside the schemas \
                 (`generated/` by default)",
                out.display(),
                schemas.display()
            ),
        ));
    }
    Ok(())
}

/// How `out` differs from `artifacts`, one line per file, with the first differing
/// line of changed text files. Empty when `out` is up to date.
pub fn diff_tree(out: &Path, artifacts: &[Artifact]) -> std::io::Result<Vec<String>> {
    let compared: Vec<std::io::Result<Option<String>>> = artifacts
        .par_iter()
        .map(|a| match std::fs::read(out.join(&a.path)) {
            Ok(old) if old == a.bytes => Ok(None),
            Ok(old) => Ok(Some(format!("changed: {}{}", a.path, first_difference(&old, &a.bytes)))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Some(format!("missing: {}", a.path))),
            Err(e) => Err(e),
        })
        .collect();
    let mut diffs = Vec::new();
    for diff in compared {
        diffs.extend(diff?);
    }
    let wanted: BTreeSet<&str> = artifacts.iter().map(|a| a.path.as_str()).collect();
    for path in existing_files(out)? {
        if !wanted.contains(path.as_str()) {
            diffs.push(format!("stale: {path} (no longer generated)"));
        }
    }
    Ok(diffs)
}

fn first_difference(old: &[u8], new: &[u8]) -> String {
    let (Ok(old), Ok(new)) = (std::str::from_utf8(old), std::str::from_utf8(new)) else {
        return " (binary)".to_string();
    };
    let mut old_lines = old.lines();
    let mut new_lines = new.lines();
    for n in 1.. {
        match (old_lines.next(), new_lines.next()) {
            (Some(a), Some(b)) if a == b => continue,
            (None, None) => return String::new(),
            (a, b) => {
                return format!(
                    "\n    line {n}:\n    - {}\n    + {}",
                    a.unwrap_or("<end of file>"),
                    b.unwrap_or("<end of file>")
                );
            }
        }
    }
    unreachable!()
}

/// Every file under `root`, as `/`-separated relative paths (none if it is absent).
fn existing_files(root: &Path) -> std::io::Result<Vec<String>> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let path: PathBuf = entry.path();
            if entry.file_type()?.is_dir() {
                walk(root, &path, out)?;
            } else {
                out.push(crate::source::display_path(root, &path));
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    if root.is_dir() {
        walk(root, root, &mut out)?;
    }
    out.sort();
    Ok(out)
}

fn remove_empty_dirs(dir: &Path) -> std::io::Result<bool> {
    if !dir.is_dir() {
        return Ok(false);
    }
    let mut empty = true;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            if remove_empty_dirs(&entry.path())? {
                std::fs::remove_dir(entry.path())?;
            } else {
                empty = false;
            }
        } else {
            empty = false;
        }
    }
    Ok(empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_only_on_change() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/out.txt");
        assert!(write_if_changed(&p, b"a").unwrap());
        let before = std::fs::metadata(&p).unwrap().modified().unwrap();
        assert!(!write_if_changed(&p, b"a").unwrap());
        assert_eq!(std::fs::metadata(&p).unwrap().modified().unwrap(), before);
        assert!(write_if_changed(&p, b"b").unwrap());
        assert_eq!(std::fs::read(&p).unwrap(), b"b");
        // No temporary files are left behind.
        assert_eq!(std::fs::read_dir(p.parent().unwrap()).unwrap().count(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o644);
        }
    }

    /// Files are compared a block at a time: a difference anywhere, in the
    /// length or past the first block, is found; equal bytes are not rewritten.
    #[test]
    fn files_are_compared_to_the_last_byte() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.bin");
        let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&p, &big).unwrap();
        assert!(holds(&p, &big));
        let mut late = big.clone();
        *late.last_mut().unwrap() ^= 1;
        let mut early = big.clone();
        early[70_000] ^= 1;
        for other in [&late[..], &early[..], &big[..big.len() - 1], &[big.as_slice(), b"x"].concat()[..], b""] {
            assert!(!holds(&p, other), "{} bytes", other.len());
        }
        assert!(!holds(&dir.path().join("missing"), b""));
        assert!(!holds(dir.path(), b""), "a folder holds no bytes");
        assert!(write_if_changed(&p, &late).unwrap());
        assert!(!write_if_changed(&p, &late).unwrap());
        assert_eq!(std::fs::read(&p).unwrap(), late);
    }

    #[test]
    fn trees_are_synced_and_diffed() {
        let dir = tempfile::tempdir().unwrap();
        let a = |p: &str, t: &str| Artifact::text(p, t);
        let readme = || a("README.md", crate::emit::templates::raw("generated_README.md"));
        let v1 = [readme(), a("x/one.txt", "1\n2\n"), a("x/old/gone.txt", "bye")];
        assert_eq!(write_tree(dir.path(), &v1).unwrap().written.len(), 3);
        assert!(diff_tree(dir.path(), &v1).unwrap().is_empty());
        let v2 = [readme(), a("x/one.txt", "1\n3\n"), a("two.txt", "2")];
        let diffs = diff_tree(dir.path(), &v2).unwrap();
        assert_eq!(diffs.len(), 3, "{diffs:?}");
        assert!(diffs[0].starts_with("changed: x/one.txt") && diffs[0].contains("- 2") && diffs[0].contains("+ 3"));
        assert_eq!(diffs[1], "missing: two.txt");
        assert_eq!(diffs[2], "stale: x/old/gone.txt (no longer generated)");
        let report = write_tree(dir.path(), &v2).unwrap();
        assert_eq!(report.removed, ["x/old/gone.txt"]);
        assert!(!dir.path().join("x/old").exists(), "empty folders go too");
        assert!(diff_tree(dir.path(), &v2).unwrap().is_empty());
    }

    /// A folder of other files is refused before anything is written or
    /// removed; the generated README marks a folder as the build's own.
    #[test]
    fn only_its_own_folders_lose_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("notes.txt"), "mine").unwrap();
        let err = write_tree(dir.path(), &[Artifact::text("a.txt", "a")]).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::DirectoryNotEmpty);
        assert!(!dir.path().join("a.txt").exists());
        std::fs::write(dir.path().join("README.md"), crate::emit::templates::raw("generated_README.md")).unwrap();
        write_tree(dir.path(), &[Artifact::text("a.txt", "a")]).unwrap();
        assert!(!dir.path().join("notes.txt").exists(), "its own folder is synced");
        assert!(check_apart(&dir.path().join("out"), &dir.path().join("schemas")).is_ok());
        assert!(check_apart(dir.path(), &dir.path().join("schemas")).is_err());
        assert!(check_apart(&dir.path().join("schemas/x/../out"), &dir.path().join("schemas")).is_err());
    }
}
