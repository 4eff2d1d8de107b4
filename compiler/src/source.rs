//! Source files and byte spans: what every diagnostic points into.
//!
//! A [`SourceDb`] owns the text of every file a run reads (schemas, the lock file),
//! addressed by [`FileId`]. Spans are byte ranges into one file; line and column are
//! computed only when a diagnostic is rendered.

use std::path::{Path, PathBuf};

/// Index of a file in a [`SourceDb`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileId(pub u32);

/// A byte range `start..end` in one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    pub file: FileId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(file: FileId, start: u32, end: u32) -> Self {
        Span { file, start, end: end.max(start) }
    }

    /// The same range in a database that absorbed this span's (see `SourceDb::absorb`).
    pub fn shifted(self, offset: u32) -> Self {
        Span { file: FileId(self.file.0 + offset), ..self }
    }
}

/// One file's text, its display path (relative to the schema root's parent, with
/// `/` separators on every platform) and the byte offsets of its line starts.
#[derive(Debug)]
pub struct SourceFile {
    pub path: String,
    pub text: String,
    line_starts: Vec<u32>,
}

impl SourceFile {
    /// A file's text with Windows line endings made `\n` and without a leading
    /// byte-order mark: a checkout with `core.autocrlf`, or a file saved by an
    /// editor that marks UTF-8, holds the same schemas, and must give the same
    /// Model, lock and artifacts to the byte (a team model's SQL is copied
    /// into `generated/`, and sqlparser took the mark for a statement; a CRLF
    /// lock read as stale would be rewritten).
    pub fn new(path: impl Into<String>, text: impl Into<String>) -> Self {
        let mut text = text.into();
        if text.starts_with('\u{feff}') {
            text.drain(..'\u{feff}'.len_utf8());
        }
        if text.contains("\r\n") {
            text = text.replace("\r\n", "\n");
        }
        let line_starts = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i as u32 + 1)).collect();
        SourceFile { path: path.into(), text, line_starts }
    }

    /// 1-based line and column (in characters) of a byte offset.
    /// An offset inside a multi-byte character counts as that character.
    pub fn line_col(&self, offset: u32) -> (usize, usize) {
        let mut offset = (offset as usize).min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let offset = offset as u32;
        let line = self.line_starts.partition_point(|&s| s <= offset) - 1;
        let start = self.line_starts[line] as usize;
        let col = self.text[start..offset as usize].chars().count() + 1;
        (line + 1, col)
    }
}

/// Every file of one compiler run.
#[derive(Debug, Default)]
pub struct SourceDb {
    files: Vec<SourceFile>,
}

impl SourceDb {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, file: SourceFile) -> FileId {
        self.files.push(file);
        FileId(self.files.len() as u32 - 1)
    }

    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    pub fn iter(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files.iter().enumerate().map(|(i, f)| (FileId(i as u32), f))
    }

    /// Moves every file of `other` into this database; a span of `other` is moved
    /// along with [`Span::shifted`] by the returned offset.
    pub fn absorb(&mut self, other: SourceDb) -> u32 {
        let offset = self.files.len() as u32;
        self.files.extend(other.files);
        offset
    }

    pub fn find(&self, path: &str) -> Option<FileId> {
        self.files.iter().position(|f| f.path == path).map(|i| FileId(i as u32))
    }
}

/// `path` made absolute with the symbolic links of its existing part resolved
/// (as git reports a work tree's top); the part that does not exist (yet) is
/// kept as written.
pub fn resolved_path(path: &Path) -> std::io::Result<PathBuf> {
    let abs = std::path::absolute(path)?;
    let base = abs.ancestors().find(|a| a.exists()).unwrap_or(Path::new("/"));
    let rest = abs.strip_prefix(base).expect("an ancestor is a prefix");
    Ok(base.canonicalize()?.join(rest))
}

/// The display form of `path` relative to `base`: forward slashes, no `./`.
pub fn display_path(base: &Path, path: &Path) -> String {
    let rel: PathBuf = path.strip_prefix(base).unwrap_or(path).to_path_buf();
    rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect::<Vec<_>>().join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one_and_in_characters() {
        let f = SourceFile::new("a.ts", "ab\nçd\n");
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(1), (1, 2));
        assert_eq!(f.line_col(3), (2, 1));
        assert_eq!(f.line_col(5), (2, 2)); // after the two-byte 'ç'
        assert_eq!(f.line_col(7), (3, 1));
        assert_eq!(f.line_col(4), (2, 1)); // inside 'ç'
        assert_eq!(f.line_col(99), (3, 1)); // past the end
    }
}
