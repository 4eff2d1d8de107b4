//! The only module that writes output files.
//!
//! A file is written only when its bytes change (so a build.rs rerun or a no-op
//! `manifold build` touches nothing), and atomically: the bytes go to a temporary
//! file in the same directory, which is then renamed over the target, so a crash
//! never leaves a half-written lock or artifact behind.

use std::io::Write as _;
use std::path::Path;

/// Writes `bytes` to `path` unless it already holds exactly them. Returns whether
/// the file changed.
pub fn write_if_changed(path: &Path, bytes: &[u8]) -> std::io::Result<bool> {
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(false);
    }
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(true)
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
    }
}
