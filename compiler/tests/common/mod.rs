//! Helpers the compiler's test binaries share.

use std::path::Path;

/// Copies the tree `from` into `to` (created), leaving out files named in `skip`.
pub fn copy_tree(from: &Path, to: &Path, skip: &[&str]) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let name = e.file_name();
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &to.join(&name), skip);
        } else if !skip.iter().any(|s| name == *s) {
            std::fs::copy(e.path(), to.join(&name)).unwrap();
        }
    }
}
