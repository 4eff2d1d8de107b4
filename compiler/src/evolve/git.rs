//! A git work tree read at a revision, without a checkout: the baseline of
//! `manifold check --against REF`. Paths are relative to the work tree's top and
//! `/`-separated, so the check works from any directory, with relative or
//! absolute `--schemas`.

use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context as _, bail};

pub(super) struct Repo {
    /// The work tree's top, canonical (as git prints it).
    top: PathBuf,
}

impl Repo {
    /// The work tree holding `path` (or its nearest existing ancestor).
    pub fn containing(path: &Path) -> anyhow::Result<Repo> {
        let dir = existing_ancestor(path)?;
        let out = git(&dir, &["rev-parse", "--show-toplevel"])?;
        let top = String::from_utf8(out).context("git printed a path that is not UTF-8")?;
        Ok(Repo { top: PathBuf::from(top.trim_end_matches('\n')) })
    }

    /// Fails unless `rev` names a commit.
    pub fn verify(&self, rev: &str) -> anyhow::Result<()> {
        if self.is_commit(rev)? {
            return Ok(());
        }
        let mut message = format!("`{rev}` is not a commit of the git repository `{}`", self.top.display());
        // A CI checkout has the base branch only as a remote-tracking one.
        let remote = format!("origin/{rev}");
        if self.is_commit(&remote)? {
            message.push_str(&format!("; did you mean `{remote}`?"));
        }
        // CI checkouts are often shallow (one commit, no other branch): the
        // base of a pull request is then simply not there.
        if self.is_shallow() {
            message.push_str(
                "; this clone is shallow, so it may hold only the commits it was cloned with: fetch the \
                 baseline first (e.g. `git fetch --depth=1 origin main`, or `fetch-depth: 0` for actions/checkout)",
            );
        }
        bail!(message)
    }

    fn is_commit(&self, rev: &str) -> anyhow::Result<bool> {
        let status = Command::new("git")
            .args(["rev-parse", "--verify", "--quiet", &format!("{rev}^{{commit}}")])
            .current_dir(&self.top)
            .stdout(Stdio::null())
            .status()
            .context("cannot run git")?;
        Ok(status.success())
    }

    /// Whether the repository is a shallow clone.
    fn is_shallow(&self) -> bool {
        git(&self.top, &["rev-parse", "--is-shallow-repository"]).is_ok_and(|out| out.starts_with(b"true"))
    }

    /// `path` relative to the top ("" for the top itself).
    pub fn relative(&self, path: &Path) -> anyhow::Result<String> {
        let abs = canonical(path)?;
        let rel = abs
            .strip_prefix(&self.top)
            .with_context(|| format!("`{}` is outside the git work tree `{}`", path.display(), self.top.display()))?;
        let parts: Vec<String> = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
        Ok(parts.join("/"))
    }

    /// Every file under `dir` (relative to the top) at `rev`, relative to the top.
    pub fn list(&self, rev: &str, dir: &str) -> anyhow::Result<Vec<String>> {
        let spec = if dir.is_empty() { "." } else { dir };
        let out = git(&self.top, &["ls-tree", "-r", "--name-only", "-z", rev, "--", spec])?;
        let names = String::from_utf8(out).context("git listed a path that is not UTF-8")?;
        Ok(names.split('\0').filter(|n| !n.is_empty()).map(str::to_string).collect())
    }

    /// The text of each of `paths` at `rev`, `None` where the revision has no
    /// such file; one `git cat-file --batch` for all of them.
    pub fn read(&self, rev: &str, paths: &[&str]) -> anyhow::Result<Vec<Option<String>>> {
        if paths.is_empty() {
            return Ok(Vec::new());
        }
        let mut child = Command::new("git")
            .args(["cat-file", "--batch"])
            .current_dir(&self.top)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .context("cannot run git")?;
        let requests: String = paths.iter().map(|p| format!("{rev}:{p}\n")).collect();
        let mut stdin = child.stdin.take().expect("stdin is piped");
        // Written beside the reading: git answers as it goes, and a full pipe
        // would otherwise block both sides.
        let writer = std::thread::spawn(move || stdin.write_all(requests.as_bytes()));
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
        let answers = answers(&mut stdout, rev, paths);
        if answers.is_err() {
            // Unblocks the writer (its pipe breaks) and ends git.
            let _ = child.kill();
        }
        drop(stdout);
        let written = writer.join().expect("the writer does not panic");
        let status = child.wait().context("cannot run git")?;
        let out = answers?;
        written.context("cannot write to git cat-file")?;
        if !status.success() {
            bail!("git cat-file failed ({status})");
        }
        Ok(out)
    }
}

/// Reads `git cat-file --batch`'s answer to each of `paths`: `<oid> <type>
/// <size>`, the content and a newline; or `<object> missing`.
fn answers(stdout: &mut impl BufRead, rev: &str, paths: &[&str]) -> anyhow::Result<Vec<Option<String>>> {
    let mut out = Vec::with_capacity(paths.len());
    for path in paths {
        let mut header = String::new();
        stdout.read_line(&mut header).context("cannot read from git cat-file")?;
        let header = header.trim_end_matches('\n');
        if header.ends_with(" missing") || header.ends_with(" ambiguous") {
            out.push(None);
            continue;
        }
        let size: usize = header
            .rsplit(' ')
            .next()
            .and_then(|n| n.parse().ok())
            .with_context(|| format!("git cat-file answered `{header}` for `{rev}:{path}`"))?;
        let mut bytes = vec![0; size + 1];
        stdout.read_exact(&mut bytes).with_context(|| format!("cannot read `{rev}:{path}` from git"))?;
        bytes.pop();
        out.push(Some(String::from_utf8(bytes).with_context(|| format!("`{rev}:{path}` is not UTF-8"))?));
    }
    Ok(out)
}

/// Runs git in `dir`; its stdout, or an error with its stderr.
fn git(dir: &Path, args: &[&str]) -> anyhow::Result<Vec<u8>> {
    let out = Command::new("git").args(args).current_dir(dir).output().context("cannot run git")?;
    if !out.status.success() {
        bail!("git {} failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(out.stdout)
}

fn existing_ancestor(path: &Path) -> anyhow::Result<PathBuf> {
    let abs = std::path::absolute(path).with_context(|| format!("cannot resolve `{}`", path.display()))?;
    Ok(abs.ancestors().find(|a| a.is_dir()).unwrap_or(Path::new("/")).to_path_buf())
}

/// `path` made absolute with its symbolic links resolved, as git reports the
/// top; the part that does not exist (yet) is kept as written.
fn canonical(path: &Path) -> anyhow::Result<PathBuf> {
    crate::source::resolved_path(path).with_context(|| format!("cannot resolve `{}`", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_read_at_a_revision_from_anywhere_in_the_work_tree() {
        let dir = tempfile::tempdir().unwrap();
        let top = dir.path().canonicalize().unwrap();
        let run = |args: &[&str]| {
            let o = Command::new("git")
                .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
                .args(args)
                .current_dir(&top)
                .output()
                .unwrap();
            assert!(o.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&o.stderr));
        };
        run(&["init", "-q"]);
        std::fs::create_dir_all(top.join("a b")).unwrap();
        std::fs::write(top.join("a b/one.ts"), "first\n").unwrap();
        std::fs::write(top.join("two.ts"), "").unwrap();
        run(&["add", "."]);
        run(&["commit", "-qm", "one"]);
        std::fs::write(top.join("a b/one.ts"), "changed, not committed\n").unwrap();

        let repo = Repo::containing(&top.join("a b/not/there/yet")).unwrap();
        assert_eq!(repo.relative(&top.join("a b/./x")).unwrap(), "a b/x");
        assert_eq!(repo.relative(&top).unwrap(), "");
        assert!(repo.relative(Path::new("/")).is_err());
        assert_eq!(repo.list("HEAD", "").unwrap(), ["a b/one.ts", "two.ts"]);
        assert_eq!(repo.list("HEAD", "a b").unwrap(), ["a b/one.ts"]);
        let texts = repo.read("HEAD", &["a b/one.ts", "missing.ts", "two.ts"]).unwrap();
        assert_eq!(texts, [Some("first\n".to_string()), None, Some(String::new())]);
        repo.verify("HEAD").unwrap();
        let e = repo.verify("no-such-ref").unwrap_err().to_string();
        assert!(e.contains("`no-such-ref` is not a commit"), "{e}");
        assert!(!e.contains("shallow"), "{e}");
        assert!(Repo::containing(Path::new("/")).is_err(), "the root is no work tree");
    }

    #[test]
    fn a_missing_baseline_in_a_shallow_clone_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let run = |cwd: &Path, args: &[&str]| {
            let ok = Command::new("git")
                .args(["-c", "user.name=t", "-c", "user.email=t@t", "-c", "protocol.file.allow=always"])
                .args(args)
                .current_dir(cwd)
                .status()
                .unwrap()
                .success();
            assert!(ok, "git {args:?}");
        };
        let origin = dir.path().join("origin");
        std::fs::create_dir(&origin).unwrap();
        run(&origin, &["init", "-q"]);
        for n in ["one", "two"] {
            std::fs::write(origin.join("f"), n).unwrap();
            run(&origin, &["add", "."]);
            run(&origin, &["commit", "-qm", n]);
        }
        let url = format!("file://{}", origin.display());
        run(dir.path(), &["clone", "-q", "--depth", "1", &url, "clone"]);
        let repo = Repo::containing(&dir.path().join("clone")).unwrap();
        repo.verify("HEAD").unwrap();
        let e = repo.verify("HEAD~1").unwrap_err().to_string();
        assert!(e.contains("`HEAD~1` is not a commit") && e.contains("this clone is shallow"), "{e}");
        // The base branch of a CI checkout is a remote-tracking one (HEAD detached).
        let branch = String::from_utf8(git(&origin, &["branch", "--show-current"]).unwrap()).unwrap();
        let clone = dir.path().join("clone");
        run(&clone, &["checkout", "-q", "--detach"]);
        run(&clone, &["branch", "-q", "-D", branch.trim()]);
        let e = repo.verify(branch.trim()).unwrap_err().to_string();
        assert!(e.contains(&format!("did you mean `origin/{}`?", branch.trim())), "{e}");
        repo.verify(&format!("origin/{}", branch.trim())).unwrap();
    }
}
