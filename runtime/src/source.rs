//! The replication source. The embedded default is a directory of segment
//! files, each a sequence of varint-length-delimited records — exactly
//! protobuf's `writeDelimitedTo` / `parseDelimitedFrom` framing, so any
//! language's protobuf library can produce it. Segments are read in the lexical
//! order of their file names. A position is (segment name, byte offset).
//!
//! [`Source`] is a trait so that a real bus plugs in later.

use std::path::{Path, PathBuf};

use bytes::Bytes;

/// Where a record starts: the segment's file name and the byte offset of its
/// length prefix.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    pub segment: String,
    pub offset: u64,
}

/// One framed record, or a frame that cannot be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    Record {
        position: Position,
        /// The record, sharing its read window's buffer (no copy per frame).
        bytes: Bytes,
    },
    /// `len` bytes from `position` that are no record, of which `head` holds
    /// the first ones read (at most a read window), and why: the rest of the
    /// segment after a garbage length prefix (which leaves no way to find
    /// the next frame), or one frame over the framing's limit.
    Corrupt { position: Position, head: Bytes, len: u64, reason: String },
}

impl Frame {
    pub fn position(&self) -> &Position {
        match self {
            Frame::Record { position, .. } | Frame::Corrupt { position, .. } => position,
        }
    }

    /// The byte offset just past this frame in its segment: where the next
    /// frame starts (a corrupt frame runs to the end of its segment).
    pub fn end(&self) -> u64 {
        match self {
            Frame::Record { position, bytes } => position.offset + varint_len(bytes.len() as u64) + bytes.len() as u64,
            Frame::Corrupt { position, len, .. } => position.offset + len,
        }
    }
}

fn varint_len(mut value: u64) -> u64 {
    let mut n = 1;
    while value >= 0x80 {
        value >>= 7;
        n += 1;
    }
    n
}

/// A stream of frames from some position on.
pub trait Source {
    /// Up to `max` frames after the current position, all from one segment
    /// (or source partition), and no more once they hold `max_bytes` (at
    /// least one frame: a larger one comes alone); empty when there is
    /// nothing (yet). Advances the position past what it returns.
    fn poll(&mut self, max: usize, max_bytes: usize) -> std::io::Result<Vec<Frame>>;
    /// The position the next `poll` reads from.
    fn position(&self) -> Position;
    /// After a `poll` that found no whole record: how many bytes past
    /// `position` are there without making one. A writer may still be writing
    /// them; they are read once they make a record (or once the source says
    /// they never will).
    fn unfinished(&self) -> Option<u64> {
        None
    }
}

/// The largest record the framing accepts (a length beyond it is corruption).
pub const MAX_FRAME: u64 = 256 * 1024 * 1024;

/// How much of a segment is read at once. Segments can be far larger than
/// memory (a bus's log segments run to gigabytes), so a segment is read a
/// window at a time; a record larger than the window gets a window of its own.
const WINDOW: usize = 32 * 1024 * 1024;

/// A directory of segment files.
pub struct SegmentDir {
    dir: PathBuf,
    at: Position,
    /// Bytes past `at` that the last poll found in the last segment without a
    /// whole frame (see `poll`).
    unfinished: Option<u64>,
    /// The bytes being read, kept across polls so that each byte of a segment
    /// is read from disk once (the tail of a window is read again with the next).
    window: Option<Window>,
    window_size: usize,
}

/// Segment `name`'s bytes from offset `start` on. Frames are slices of `data`,
/// and keep it alive as long as they need it after the next window is read.
struct Window {
    name: String,
    start: u64,
    data: Bytes,
    /// The segment's length when the window was read.
    segment_len: u64,
}

impl Window {
    /// Reads `size` bytes of `path` from `start` (fewer at its end).
    fn read(name: &str, path: &Path, start: u64, size: usize) -> std::io::Result<Window> {
        use std::io::{Read as _, Seek as _};
        let mut f = std::fs::File::open(path)?;
        let segment_len = f.metadata()?.len();
        f.seek(std::io::SeekFrom::Start(start))?;
        let mut data = Vec::with_capacity(size.min(segment_len.saturating_sub(start) as usize));
        f.take(size as u64).read_to_end(&mut data)?;
        let segment_len = segment_len.max(start + data.len() as u64);
        Ok(Window { name: name.to_string(), start, data: Bytes::from(data), segment_len })
    }

    fn end(&self) -> u64 {
        self.start + self.data.len() as u64
    }

    fn holds(&self, name: &str, offset: u64) -> bool {
        self.name == name && (self.start..=self.end()).contains(&offset)
    }
}

impl SegmentDir {
    /// Reads `dir` from `from` (or from the start).
    pub fn new(dir: impl AsRef<Path>, from: Option<Position>) -> Self {
        let at = from.unwrap_or(Position { segment: String::new(), offset: 0 });
        SegmentDir { dir: dir.as_ref().to_path_buf(), at, unfinished: None, window: None, window_size: WINDOW }
    }

    /// Reads segments `size` bytes at a time (tests use tiny windows to cross
    /// every frame boundary).
    pub fn with_window(mut self, size: usize) -> Self {
        self.window_size = size.max(1);
        self
    }

    /// Segment file names in lexical order (hidden files skipped).
    fn segments(&self) -> std::io::Result<Vec<String>> {
        Self::segment_names(&self.dir)
    }

    /// The segment file names of `dir` in lexical order: its files, and links
    /// to files, whose names do not start with `.`.
    ///
    /// A segment's name is part of the tables' progress markers (`txn` app
    /// ids) and of dead-letter rows, so it must be text: a name that is not
    /// UTF-8 is an error naming the file (read lossily, it named no file,
    /// and every run failed with "No such file or directory"). So is a link
    /// to nothing: its records cannot be read, and skipping it would lose them.
    pub fn segment_names(dir: &Path) -> std::io::Result<Vec<String>> {
        use std::io::{Error, ErrorKind};
        let mut names = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name();
            if name.as_encoded_bytes().starts_with(b".") {
                continue;
            }
            let file_type = entry.file_type()?;
            let is_file = if file_type.is_symlink() {
                let target = std::fs::metadata(entry.path()).map_err(|e| {
                    Error::new(e.kind(), format!("the segment link {name:?} points to nothing readable: {e}"))
                })?;
                target.is_file()
            } else {
                file_type.is_file()
            };
            if !is_file {
                continue;
            }
            let Some(text) = name.to_str() else {
                let message = format!(
                    "the segment file name {name:?} is not UTF-8; segments are named by their file names in the \
                     lake's progress markers, so rename it"
                );
                return Err(Error::new(ErrorKind::InvalidData, message));
            };
            names.push(text.to_string());
        }
        names.sort();
        Ok(names)
    }

    /// Makes the window one that holds `offset` of segment `name`, reading
    /// one from there unless the current one does.
    fn window_at(&mut self, name: &str, path: &Path, offset: u64) -> std::io::Result<()> {
        if !self.window.as_ref().is_some_and(|w| w.holds(name, offset)) {
            self.window = Some(Window::read(name, path, offset, self.window_size)?);
        }
        Ok(())
    }

    /// Reads a window from `offset` that holds at least `need` bytes when the
    /// segment has them. False when the segment has nothing past the current
    /// window: it ends there (or, for the last one, has not grown yet).
    fn refill(&mut self, path: &Path, offset: u64, need: usize, last: bool) -> std::io::Result<bool> {
        let window = self.window.as_ref().expect("a window is read before it is refilled");
        // Only the last segment still grows; the others end where they ended,
        // which may be past the window's end: the window was read while the
        // segment was still the last one and its writer still writing.
        if window.end() >= window.segment_len && !last && std::fs::metadata(path)?.len() <= window.end() {
            return Ok(false);
        }
        let next = Window::read(&window.name, path, offset, need.max(self.window_size))?;
        let grew = next.end() > window.end();
        if grew {
            self.window = Some(next);
        }
        Ok(grew)
    }
}

impl Source for SegmentDir {
    /// A frame that the last segment ends inside is not read: its writer may
    /// still be writing it, whether this run follows the source or runs to
    /// its end and exits (made a dead letter, a record a writer was
    /// finishing was lost, and the next run started inside it). It is read
    /// once it is whole, and is a corrupt frame once a later segment exists
    /// (writers only append to the last segment).
    fn poll(&mut self, max: usize, max_bytes: usize) -> std::io::Result<Vec<Frame>> {
        self.unfinished = None;
        let mut out = Vec::new();
        let mut bytes = 0;
        let segments = self.segments()?;
        // The segment we are in, or the first one after our position.
        let mut index = segments.iter().position(|s| *s >= self.at.segment);
        while let Some(i) = index {
            if out.len() >= max || bytes >= max_bytes {
                break;
            }
            let name = &segments[i];
            if *name != self.at.segment {
                self.at = Position { segment: name.clone(), offset: 0 };
            }
            let last = i + 1 == segments.len();
            let path = self.dir.join(name);
            let mut at = self.at.offset;
            self.window_at(name, &path, at)?;
            let mut ended = false;
            while out.len() < max && bytes < max_bytes {
                let window = self.window.as_ref().expect("just read");
                let rest = window.data.slice((at - window.start) as usize..);
                let segment_end = window.segment_len;
                let position = Position { segment: name.clone(), offset: at };
                let to_end = segment_end - at;
                let corrupt = |reason: String| Frame::Corrupt {
                    position: position.clone(),
                    head: rest.clone(),
                    len: to_end,
                    reason,
                };
                match crate::wire::varint_prefix(&rest) {
                    Ok(Some((len, n))) if len <= MAX_FRAME => {
                        let need = n + len as usize;
                        if need <= rest.len() {
                            out.push(Frame::Record { position, bytes: rest.slice(n..need) });
                            at += need as u64;
                            bytes += need;
                        } else if self.refill(&path, at, need, last)? {
                            continue;
                        } else if last {
                            self.unfinished = Some(to_end);
                            break; // the writer is still writing this frame
                        } else {
                            out.push(corrupt(format!("the record ends {} bytes early", need - rest.len())));
                            (at, ended) = (segment_end, true);
                        }
                    }
                    Ok(Some((len, n))) => {
                        // Over the framing's limit: a record too large to
                        // read, or a garbage prefix. One the segment holds
                        // whole is skipped unread (it is over any record
                        // limit), and reading goes on after it: before, the
                        // rest of its segment was lost with it.
                        let frame_end = at.checked_add(n as u64).and_then(|e| e.checked_add(len));
                        let segment_now = std::fs::metadata(&path)?.len();
                        if let Some(frame_end) = frame_end.filter(|&e| e <= segment_now) {
                            bytes += rest.len();
                            out.push(Frame::Corrupt {
                                position,
                                head: rest.clone(),
                                len: frame_end - at,
                                reason: format!("a record of {len} bytes, over the {MAX_FRAME}-byte frame limit"),
                            });
                            at = frame_end;
                            self.window_at(name, &path, at)?;
                            continue;
                        } else if last {
                            self.unfinished = Some(segment_now - at);
                            break; // a writer may still be writing it
                        }
                        out.push(corrupt(format!("a length prefix of {len} bytes (over the {MAX_FRAME}-byte limit)")));
                        (at, ended) = (segment_end, true);
                    }
                    Err(()) => {
                        out.push(corrupt("a length prefix longer than 10 bytes".into()));
                        (at, ended) = (segment_end, true);
                    }
                    Ok(None) if self.refill(&path, at, 10, last)? => continue,
                    Ok(None) if rest.is_empty() => {
                        ended = true;
                        break;
                    }
                    Ok(None) if last => {
                        self.unfinished = Some(to_end);
                        break;
                    }
                    Ok(None) => {
                        out.push(corrupt("the segment ends inside a length prefix".into()));
                        (at, ended) = (segment_end, true);
                    }
                }
                if ended {
                    break;
                }
            }
            self.at.offset = at;
            // One segment per poll: batches then start at the same offsets on
            // every run over the same data, whatever position a run resumed from.
            if !ended || last || !out.is_empty() {
                break;
            }
            index = Some(i + 1).filter(|&j| j < segments.len());
        }
        Ok(out)
    }

    fn position(&self) -> Position {
        self.at.clone()
    }

    fn unfinished(&self) -> Option<u64> {
        self.unfinished
    }
}

/// What the frame at a position of a segment directory holds (see [`record_at`]).
#[derive(Debug, PartialEq, Eq)]
pub enum RecordAt {
    /// A whole record of at most the limit's bytes.
    Record(Bytes),
    /// A record of this many bytes, over the limit (left unread).
    Larger(u64),
    /// No such segment, or no whole frame there (the segment was removed,
    /// rewritten or cut since the position was read).
    Gone,
}

/// The record whose frame starts at `at` in the segment directory `dir`,
/// read only if it has at most `limit` bytes: a dead letter that kept only
/// the head of an oversized record is read again from its source this way.
/// `at.segment` comes from a table (data), so only a segment of `segments`
/// — `dir`'s listing ([`SegmentDir::segment_names`], sorted), listed once by
/// a caller reading many — is opened, never another path it might spell.
pub fn record_at(dir: &Path, segments: &[String], at: &Position, limit: u64) -> std::io::Result<RecordAt> {
    use std::io::{Read as _, Seek as _};
    if segments.binary_search(&at.segment).is_err() {
        return Ok(RecordAt::Gone);
    }
    let mut f = std::fs::File::open(dir.join(&at.segment))?;
    f.seek(std::io::SeekFrom::Start(at.offset))?;
    let mut prefix = Vec::with_capacity(10);
    (&mut f).take(10).read_to_end(&mut prefix)?;
    let Ok(Some((len, n))) = crate::wire::varint_prefix(&prefix) else { return Ok(RecordAt::Gone) };
    if len > limit {
        return Ok(RecordAt::Larger(len));
    }
    f.seek(std::io::SeekFrom::Start(at.offset + n as u64))?;
    let mut record = Vec::with_capacity(len as usize);
    f.take(len).read_to_end(&mut record)?;
    if record.len() as u64 != len {
        return Ok(RecordAt::Gone);
    }
    Ok(RecordAt::Record(Bytes::from(record)))
}

/// Every segment of `dir` with its size in bytes, in reading order.
pub fn segment_sizes(dir: &Path) -> std::io::Result<Vec<(String, u64)>> {
    SegmentDir::segment_names(dir)?
        .into_iter()
        .map(|s| Ok((s.clone(), std::fs::metadata(dir.join(&s))?.len())))
        .collect()
}

/// How many of the source's bytes lie before `at` (all of them are read by then).
pub fn bytes_before(sizes: &[(String, u64)], at: &Position) -> u64 {
    sizes
        .iter()
        .map(|(s, len)| match s.cmp(&at.segment) {
            std::cmp::Ordering::Less => *len,
            std::cmp::Ordering::Equal => at.offset.min(*len),
            std::cmp::Ordering::Greater => 0,
        })
        .sum()
}

/// Appends `bytes` to `out` with protobuf's length-delimited framing.
pub fn write_delimited(out: &mut Vec<u8>, bytes: &[u8]) {
    let mut len = bytes.len() as u64;
    loop {
        let b = (len & 0x7f) as u8;
        len >>= 7;
        if len == 0 {
            out.push(b);
            break;
        }
        out.push(b | 0x80);
    }
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(frames: &[Frame]) -> Vec<(String, u64, Vec<u8>)> {
        frames
            .iter()
            .map(|f| match f {
                Frame::Record { position, bytes } => (position.segment.clone(), position.offset, bytes.to_vec()),
                Frame::Corrupt { position, reason, .. } => {
                    (position.segment.clone(), position.offset, reason.as_bytes().to_vec())
                }
            })
            .collect()
    }

    #[test]
    fn reads_segments_in_lexical_order_and_resumes() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = Vec::new();
        write_delimited(&mut a, b"one");
        write_delimited(&mut a, &[7u8; 300]); // a two-byte length prefix
        std::fs::write(dir.path().join("b-segment"), &a).unwrap();
        let mut b = Vec::new();
        write_delimited(&mut b, b"zero");
        std::fs::write(dir.path().join("a-segment"), &b).unwrap();
        let mut s = SegmentDir::new(dir.path(), None);
        let got = records(&s.poll(2, usize::MAX).unwrap());
        assert_eq!(got, [("a-segment".into(), 0, b"zero".to_vec())], "one segment per poll");
        assert_eq!(records(&s.poll(1, usize::MAX).unwrap()), [("b-segment".into(), 0, b"one".to_vec())]);
        assert_eq!(s.position(), Position { segment: "b-segment".into(), offset: 4 });
        let got = records(&s.poll(10, usize::MAX).unwrap());
        assert_eq!(got, [("b-segment".into(), 4, vec![7u8; 300])]);
        assert!(s.poll(10, usize::MAX).unwrap().is_empty());
        // A new source from a saved position reads nothing twice.
        let mut resumed = SegmentDir::new(dir.path(), Some(Position { segment: "b-segment".into(), offset: 4 }));
        assert_eq!(resumed.poll(10, usize::MAX).unwrap().len(), 1);
    }

    /// A record is read again at its position, only within the limit, and
    /// only from a segment of the directory: a path spelled as a segment
    /// name, a missing segment or a cut frame is `Gone`.
    #[test]
    fn a_record_is_read_again_at_its_position() {
        let dir = tempfile::tempdir().unwrap();
        let mut seg = Vec::new();
        write_delimited(&mut seg, b"one");
        write_delimited(&mut seg, &[7u8; 300]);
        std::fs::write(dir.path().join("a.pb"), &seg).unwrap();
        let at = |segment: &str, offset| Position { segment: segment.into(), offset };
        let read = |p: &Position, limit| {
            let segments = SegmentDir::segment_names(dir.path()).unwrap();
            record_at(dir.path(), &segments, p, limit).unwrap()
        };
        assert_eq!(read(&at("a.pb", 4), 300), RecordAt::Record(Bytes::from(vec![7u8; 300])));
        assert_eq!(read(&at("a.pb", 0), 300), RecordAt::Record(Bytes::from_static(b"one")));
        assert_eq!(read(&at("a.pb", 4), 299), RecordAt::Larger(300));
        assert_eq!(read(&at("b.pb", 0), 300), RecordAt::Gone);
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/c.pb"), &seg).unwrap();
        assert_eq!(read(&at("sub/c.pb", 0), 300), RecordAt::Gone, "not a segment of the directory");
        std::fs::write(dir.path().join("a.pb"), &seg[..100]).unwrap();
        assert_eq!(read(&at("a.pb", 4), 300), RecordAt::Gone, "the frame was cut");
        assert_eq!(read(&at("a.pb", 500), 300), RecordAt::Gone, "past the end");
    }

    /// Hidden files and folders are not segments; links to segments are;
    /// a name that is not UTF-8, or a link to nothing, is an error naming it.
    #[test]
    fn segments_are_the_folders_files_and_links_to_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut seg = Vec::new();
        write_delimited(&mut seg, b"one");
        std::fs::write(dir.path().join("a.pb"), &seg).unwrap();
        std::fs::write(dir.path().join(".a.pb.tmp"), b"half written").unwrap();
        std::fs::create_dir(dir.path().join("offload")).unwrap();
        let names = || SegmentDir::segment_names(dir.path());
        assert_eq!(names().unwrap(), ["a.pb"]);
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt as _;
            std::os::unix::fs::symlink(dir.path().join("a.pb"), dir.path().join("b.pb")).unwrap();
            std::os::unix::fs::symlink(dir.path().join("offload"), dir.path().join("c")).unwrap();
            assert_eq!(names().unwrap(), ["a.pb", "b.pb"]);
            let mut s = SegmentDir::new(dir.path(), None);
            let got: Vec<_> = records(&s.poll(10, usize::MAX).unwrap()).into_iter().map(|r| (r.0, r.2)).collect();
            assert_eq!(got, [("a.pb".to_string(), b"one".to_vec())]);
            let got: Vec<_> = records(&s.poll(10, usize::MAX).unwrap()).into_iter().map(|r| (r.0, r.2)).collect();
            assert_eq!(got, [("b.pb".to_string(), b"one".to_vec())]);

            std::os::unix::fs::symlink(dir.path().join("gone"), dir.path().join("d.pb")).unwrap();
            let e = names().unwrap_err();
            assert!(e.to_string().contains("the segment link \"d.pb\" points to nothing readable"), "{e}");
            std::fs::remove_file(dir.path().join("d.pb")).unwrap();

            let odd = std::ffi::OsStr::from_bytes(b"\xff-extra.pb");
            std::fs::write(dir.path().join(odd), &seg).unwrap();
            let e = names().unwrap_err();
            assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
            assert!(e.to_string().contains(r#"the segment file name "\xFF-extra.pb" is not UTF-8"#), "{e}");
            // A hidden one is not read at all.
            std::fs::rename(dir.path().join(odd), dir.path().join(std::ffi::OsStr::from_bytes(b".\xff"))).unwrap();
            assert_eq!(names().unwrap(), ["a.pb", "b.pb"]);
        }
    }

    #[test]
    fn a_torn_tail_of_the_last_segment_waits_for_its_writer_and_is_corrupt_once_a_later_segment_exists() {
        for window in [WINDOW, 3] {
            a_torn_tail_waits_for_its_writer_through(window);
        }
    }

    fn a_torn_tail_waits_for_its_writer_through(window: usize) {
        let dir = tempfile::tempdir().unwrap();
        let s1 = dir.path().join("s1");
        let mut a = Vec::new();
        write_delimited(&mut a, b"whole");
        a.extend_from_slice(&[10, b'h', b'a']); // a frame of 10 bytes, 2 written
        std::fs::write(&s1, &a).unwrap();
        let mut source = SegmentDir::new(dir.path(), None).with_window(window);
        let first = source.poll(10, usize::MAX).unwrap();
        assert_eq!(records(&first), [("s1".into(), 0, b"whole".to_vec())]);
        assert_eq!((source.position().offset, source.unfinished()), (6, Some(3)));
        assert!(source.poll(10, usize::MAX).unwrap().is_empty());
        assert_eq!(source.unfinished(), Some(3));
        // The writer finishes the frame: the next poll reads it.
        let mut rest = a.clone();
        rest.extend_from_slice(b"lf-done!");
        std::fs::write(&s1, &rest).unwrap();
        assert_eq!(records(&source.poll(10, usize::MAX).unwrap()), [("s1".into(), 6, b"half-done!".to_vec())]);
        assert_eq!(source.unfinished(), None);
        // And a frame after it, from the buffer that now starts mid-segment;
        // frames handed out before the segment grew still hold their bytes.
        write_delimited(&mut rest, b"third");
        std::fs::write(&s1, &rest).unwrap();
        assert_eq!(records(&source.poll(10, usize::MAX).unwrap()), [("s1".into(), 17, b"third".to_vec())]);
        assert_eq!(source.position().offset, 23);
        assert!(source.poll(10, usize::MAX).unwrap().is_empty());
        assert_eq!(source.unfinished(), None);
        assert_eq!(records(&first), [("s1".into(), 0, b"whole".to_vec())]);
        // Between two polls the writer finishes a frame and starts the next
        // segment: the frame is read whole (the window read while `s1` was
        // the last segment is not where `s1` ends).
        rest.extend_from_slice(&[4, b'f']);
        std::fs::write(&s1, &rest).unwrap();
        assert!(source.poll(10, usize::MAX).unwrap().is_empty());
        assert_eq!(source.unfinished(), Some(2));
        rest.extend_from_slice(b"our");
        std::fs::write(&s1, &rest).unwrap();
        let mut s2 = Vec::new();
        write_delimited(&mut s2, b"next");
        std::fs::write(dir.path().join("s2"), &s2).unwrap();
        assert_eq!(records(&source.poll(10, usize::MAX).unwrap()), [("s1".into(), 23, b"four".to_vec())]);
        assert_eq!(records(&source.poll(10, usize::MAX).unwrap()), [("s2".into(), 0, b"next".to_vec())]);
        // A writer that died inside a frame: once a later segment exists, its
        // torn tail is corrupt (writers only append to the last segment).
        let dead = tempfile::tempdir().unwrap();
        std::fs::write(dead.path().join("s1"), &a).unwrap();
        let mut source = SegmentDir::new(dead.path(), None).with_window(window);
        assert_eq!(source.poll(10, usize::MAX).unwrap().len(), 1);
        std::fs::write(dead.path().join("s2"), b"").unwrap();
        let frames = source.poll(10, usize::MAX).unwrap();
        assert!(matches!(&frames[..], [Frame::Corrupt { position, len: 3, .. }] if position.offset == 6), "{frames:?}");
        assert_eq!(source.unfinished(), None);
    }

    #[test]
    fn a_frame_over_the_framing_limit_is_skipped_unread_and_the_rest_is_read() {
        use std::io::{Seek as _, Write as _};
        let big = MAX_FRAME + 1;
        let mut prefix = Vec::new();
        let mut v = big;
        while v >= 0x80 {
            prefix.push((v as u8 & 0x7f) | 0x80);
            v >>= 7;
        }
        prefix.push(v as u8);
        for window in [WINDOW, 5] {
            let dir = tempfile::tempdir().unwrap();
            let mut head = Vec::new();
            write_delimited(&mut head, b"first");
            let at = head.len() as u64;
            head.extend_from_slice(&prefix);
            let end = at + prefix.len() as u64 + big;
            // The frame's bytes are a hole: nothing of them is written or read.
            let mut f = std::fs::File::create(dir.path().join("s1")).unwrap();
            f.write_all(&head).unwrap();
            f.seek(std::io::SeekFrom::Start(end)).unwrap();
            let mut after = Vec::new();
            write_delimited(&mut after, b"after");
            f.write_all(&after).unwrap();
            drop(f);
            let mut source = SegmentDir::new(dir.path(), None).with_window(window);
            let mut frames = Vec::new();
            loop {
                let polled = source.poll(10, usize::MAX).unwrap();
                if polled.is_empty() {
                    break;
                }
                frames.extend(polled);
            }
            assert_eq!(frames.len(), 3, "{window}");
            assert_eq!(records(&frames[..1]), [("s1".into(), 0, b"first".to_vec())]);
            let Frame::Corrupt { position, len, reason, .. } = &frames[1] else { panic!("{:?}", frames[1]) };
            assert_eq!((position.offset, *len), (at, end - at));
            assert!(reason.contains("over the 268435456-byte frame limit"), "{reason}");
            assert_eq!(records(&frames[2..]), [("s1".into(), end, b"after".to_vec())]);
            assert_eq!(source.unfinished(), None);
        }
        // Not whole yet in the last segment: its writer may still be writing
        // it; once a later segment exists it is garbage to the segment's end.
        let dir = tempfile::tempdir().unwrap();
        let mut head = prefix.clone();
        head.extend_from_slice(b"some");
        std::fs::write(dir.path().join("s1"), &head).unwrap();
        let mut source = SegmentDir::new(dir.path(), None);
        assert!(source.poll(10, usize::MAX).unwrap().is_empty());
        assert_eq!(source.unfinished(), Some(head.len() as u64));
        std::fs::write(dir.path().join("s2"), b"").unwrap();
        let frames = source.poll(10, usize::MAX).unwrap();
        assert!(matches!(&frames[..], [Frame::Corrupt { len, .. }] if *len == head.len() as u64), "{frames:?}");
    }

    /// Every frame of `dir`, polling `max` frames or `max_bytes` at a time
    /// through `window`-byte reads.
    fn read_all(dir: &Path, window: usize, max: usize, max_bytes: usize) -> Vec<(String, u64, Vec<u8>)> {
        let mut source = SegmentDir::new(dir, None).with_window(window);
        let mut got = Vec::new();
        loop {
            let frames = source.poll(max, max_bytes).unwrap();
            if frames.is_empty() && source.poll(max, max_bytes).unwrap().is_empty() {
                return got;
            }
            // Over the budget only by the frame that reached it.
            let framed = |f: &Frame| (f.end() - f.position().offset) as usize;
            let before_last: usize = frames[..frames.len() - 1].iter().map(framed).sum();
            assert!(before_last < max_bytes, "{before_last} bytes before the last frame, budget {max_bytes}");
            got.extend(records(&frames));
        }
    }

    proptest::proptest! {
        /// Reading a window at a time (down to one byte), in polls of any
        /// byte budget, finds exactly the frames, positions and corruption
        /// that reading whole segments finds.
        #[test]
        fn windows_of_any_size_read_the_same_frames(
            segments in proptest::collection::vec(
                (proptest::collection::vec(0usize..400, 0..12), proptest::option::of(0u8..3)), 1..4),
            window in 1usize..64,
            max in 1usize..5,
            max_bytes in 1usize..2_000,
        ) {
            let dir = tempfile::tempdir().unwrap();
            for (i, (lens, tail)) in segments.iter().enumerate() {
                let mut bytes = Vec::new();
                for (j, len) in lens.iter().enumerate() {
                    write_delimited(&mut bytes, &vec![(i * 16 + j) as u8; *len]);
                }
                match tail {
                    Some(0) => bytes.extend_from_slice(&[0xff; 11]),   // a garbage prefix
                    Some(1) => bytes.extend_from_slice(&[50, 1, 2]),  // a torn frame
                    Some(_) => bytes.push(0x80),                      // a torn prefix
                    None => {}
                }
                std::fs::write(dir.path().join(format!("seg-{i}")), bytes).unwrap();
            }
            let whole = read_all(dir.path(), usize::MAX / 2, max, usize::MAX);
            proptest::prop_assert_eq!(read_all(dir.path(), window, max, max_bytes), whole.clone());
            // A torn tail of the last segment waits for its writer; a garbage
            // prefix is corrupt wherever it is.
            let last = segments.len() - 1;
            let expected: usize = segments
                .iter()
                .enumerate()
                .map(|(i, (lens, tail))| lens.len() + usize::from(matches!(tail, Some(0)) || (tail.is_some() && i < last)))
                .sum();
            proptest::prop_assert_eq!(whole.len(), expected);
        }
    }

    #[test]
    fn a_large_segment_is_read_a_window_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = Vec::new();
        for i in 0..100u8 {
            write_delimited(&mut bytes, &[i; 99]); // 100 bytes a frame
        }
        write_delimited(&mut bytes, &[7; 1000]); // larger than the window
        bytes.extend_from_slice(&[0xff; 500]);
        std::fs::write(dir.path().join("s1"), &bytes).unwrap();
        let mut source = SegmentDir::new(dir.path(), None).with_window(256);
        let frames = source.poll(1000, usize::MAX).unwrap();
        assert_eq!(frames.len(), 102);
        for frame in &frames[..100] {
            let Frame::Record { bytes, .. } = frame else { panic!("{frame:?}") };
            assert!(bytes.len() == 99, "a frame's own bytes");
        }
        assert!(matches!(&frames[100], Frame::Record { bytes, .. } if bytes.len() == 1000));
        // The corrupt tail names all its bytes, and holds at most a window of them.
        let Frame::Corrupt { position, head, len, .. } = &frames[101] else { panic!("{:?}", frames[101]) };
        assert_eq!((position.offset, *len), (10_000 + 1002, 500));
        assert!(head.len() <= 256 && head.iter().all(|b| *b == 0xff));
        assert_eq!(frames[101].end(), bytes.len() as u64);
    }

    #[test]
    fn a_garbage_length_skips_to_the_next_segment() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("s1"), [0xff; 12]).unwrap();
        let mut ok = Vec::new();
        write_delimited(&mut ok, b"next");
        std::fs::write(dir.path().join("s2"), &ok).unwrap();
        let mut source = SegmentDir::new(dir.path(), None);
        let frames = source.poll(10, usize::MAX).unwrap();
        assert!(matches!(&frames[..], [Frame::Corrupt { reason, .. }] if reason.contains("longer than 10")));
        assert_eq!(frames[0].end(), 12, "a corrupt frame runs to the end of its segment");
        let frames = source.poll(10, usize::MAX).unwrap();
        assert!(matches!(&frames[..], [Frame::Record { bytes, .. }] if bytes[..] == b"next"[..]));
        assert_eq!(frames[0].end(), 5);
    }
}
