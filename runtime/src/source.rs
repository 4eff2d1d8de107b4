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
        /// The record, sharing its segment's buffer (no copy per frame).
        bytes: Bytes,
    },
    /// Unreadable from `position` to the end of its segment (a garbage length
    /// prefix leaves no way to find the next frame): the raw bytes, and why.
    Corrupt { position: Position, bytes: Bytes, reason: String },
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
            Frame::Corrupt { position, bytes, .. } => position.offset + bytes.len() as u64,
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
    /// (or source partition); empty when there is nothing (yet). Advances the
    /// position past what it returns.
    fn poll(&mut self, max: usize) -> std::io::Result<Vec<Frame>>;
    /// The position the next `poll` reads from.
    fn position(&self) -> Position;
}

/// The largest record the framing accepts (a length beyond it is corruption).
pub const MAX_FRAME: u64 = 256 * 1024 * 1024;

/// A directory of segment files.
pub struct SegmentDir {
    dir: PathBuf,
    at: Position,
    /// When the last segment ends inside a frame: wait for the writer (`true`) or
    /// report the torn tail as corrupt (`false`, run to the end and exit).
    follow: bool,
    /// The bytes of the segment being read, so that a large segment is read
    /// once rather than once per poll; re-read only when following its tail.
    cached: Option<Cached>,
}

/// A segment's bytes from `start` on. Frames are slices of `data`; when the
/// segment grows, the next buffer holds only the unread tail and what is new
/// (frames handed out keep the old buffer alive as long as they need it).
struct Cached {
    name: String,
    start: u64,
    data: Bytes,
}

impl Cached {
    fn read(name: &str, path: &Path) -> std::io::Result<Cached> {
        Ok(Cached { name: name.to_string(), start: 0, data: Bytes::from(std::fs::read(path)?) })
    }

    /// Reads what `path` holds past the buffer's end, keeping the bytes from
    /// `from` (a segment offset the buffer holds) on.
    fn grow(&mut self, path: &Path, from: u64) -> std::io::Result<()> {
        use std::io::{Read as _, Seek as _};
        let end = self.start + self.data.len() as u64;
        let mut f = std::fs::File::open(path)?;
        f.seek(std::io::SeekFrom::Start(end))?;
        let mut more = Vec::new();
        f.read_to_end(&mut more)?;
        if more.is_empty() {
            return Ok(());
        }
        let from = from.clamp(self.start, end);
        let mut data = self.data.slice((from - self.start) as usize..).to_vec();
        data.extend_from_slice(&more);
        (self.start, self.data) = (from, Bytes::from(data));
        Ok(())
    }
}

impl SegmentDir {
    /// Reads `dir` from `from` (or from the start).
    pub fn new(dir: impl AsRef<Path>, from: Option<Position>, follow: bool) -> Self {
        let at = from.unwrap_or(Position { segment: String::new(), offset: 0 });
        SegmentDir { dir: dir.as_ref().to_path_buf(), at, follow, cached: None }
    }

    /// Segment file names in lexical order (hidden files skipped).
    fn segments(&self) -> std::io::Result<Vec<String>> {
        Self::segment_names(&self.dir)
    }

    /// The segment file names of `dir` in lexical order (hidden files and
    /// directories skipped).
    pub fn segment_names(dir: &Path) -> std::io::Result<Vec<String>> {
        let mut names: Vec<String> = std::fs::read_dir(dir)?
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().map(|t| t.is_file()).unwrap_or(false))
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with('.'))
            .collect();
        names.sort();
        Ok(names)
    }
}

impl Source for SegmentDir {
    fn poll(&mut self, max: usize) -> std::io::Result<Vec<Frame>> {
        let mut out = Vec::new();
        let segments = self.segments()?;
        // The segment we are in, or the first one after our position.
        let mut index = segments.iter().position(|s| *s >= self.at.segment);
        while let Some(i) = index {
            if out.len() >= max {
                break;
            }
            let name = &segments[i];
            if *name != self.at.segment {
                self.at = Position { segment: name.clone(), offset: 0 };
            }
            let last = i + 1 == segments.len();
            let path = self.dir.join(name);
            match &mut self.cached {
                // Segments only grow, and only the last one still grows: read what is new.
                Some(cached) if cached.name == *name && cached.start <= self.at.offset => {
                    if last {
                        cached.grow(&path, self.at.offset)?;
                    }
                }
                _ => self.cached = Some(Cached::read(name, &path)?),
            }
            let cached = self.cached.as_ref().expect("just filled");
            // Offsets below are into `data`, which starts at segment offset `base`.
            let (data, base) = (&cached.data, cached.start as usize);
            let mut offset = self.at.offset as usize - base;
            while offset < data.len() && out.len() < max {
                let position = Position { segment: name.clone(), offset: (base + offset) as u64 };
                let corrupt =
                    |reason: String| Frame::Corrupt { position: position.clone(), bytes: data.slice(offset..), reason };
                match crate::wire::varint_prefix(&data[offset..]) {
                    Ok(Some((len, n))) if len <= MAX_FRAME => {
                        let end = offset + n + len as usize;
                        if end > data.len() {
                            if last && self.follow {
                                break; // the writer is still writing this frame
                            }
                            out.push(corrupt(format!("the record ends {} bytes early", end - data.len())));
                            offset = data.len();
                            break;
                        }
                        out.push(Frame::Record { position, bytes: data.slice(offset + n..end) });
                        offset = end;
                    }
                    Ok(Some((len, _))) => {
                        out.push(corrupt(format!("a length prefix of {len} bytes (over the {MAX_FRAME}-byte limit)")));
                        offset = data.len();
                    }
                    Ok(None) if last && self.follow => break,
                    Ok(None) => {
                        out.push(corrupt("the segment ends inside a length prefix".into()));
                        offset = data.len();
                    }
                    Err(()) => {
                        out.push(corrupt("a length prefix longer than 10 bytes".into()));
                        offset = data.len();
                    }
                }
            }
            self.at.offset = (base + offset) as u64;
            // One segment per poll: batches then start at the same offsets on
            // every run over the same data, whatever position a run resumed from.
            if offset < data.len() || last || !out.is_empty() {
                break;
            }
            index = Some(i + 1).filter(|&j| j < segments.len());
        }
        Ok(out)
    }

    fn position(&self) -> Position {
        self.at.clone()
    }
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
        let mut s = SegmentDir::new(dir.path(), None, false);
        let got = records(&s.poll(2).unwrap());
        assert_eq!(got, [("a-segment".into(), 0, b"zero".to_vec())], "one segment per poll");
        assert_eq!(records(&s.poll(1).unwrap()), [("b-segment".into(), 0, b"one".to_vec())]);
        assert_eq!(s.position(), Position { segment: "b-segment".into(), offset: 4 });
        let got = records(&s.poll(10).unwrap());
        assert_eq!(got, [("b-segment".into(), 4, vec![7u8; 300])]);
        assert!(s.poll(10).unwrap().is_empty());
        // A new source from a saved position reads nothing twice.
        let mut resumed = SegmentDir::new(dir.path(), Some(Position { segment: "b-segment".into(), offset: 4 }), false);
        assert_eq!(resumed.poll(10).unwrap().len(), 1);
    }

    #[test]
    fn a_torn_tail_waits_when_following_and_is_corrupt_otherwise() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = Vec::new();
        write_delimited(&mut a, b"whole");
        a.extend_from_slice(&[10, b'h', b'a']); // a frame of 10 bytes, 2 written
        std::fs::write(dir.path().join("s1"), &a).unwrap();
        let mut follow = SegmentDir::new(dir.path(), None, true);
        let first = follow.poll(10).unwrap();
        assert_eq!(records(&first), [("s1".into(), 0, b"whole".to_vec())]);
        assert_eq!(follow.position().offset, 6);
        // The writer finishes the frame: following picks it up.
        let mut rest = a.clone();
        rest.extend_from_slice(b"lf-done!");
        std::fs::write(dir.path().join("s1"), &rest).unwrap();
        assert_eq!(records(&follow.poll(10).unwrap()), [("s1".into(), 6, b"half-done!".to_vec())]);
        // And a frame after it, from the buffer that now starts mid-segment;
        // frames handed out before the segment grew still hold their bytes.
        write_delimited(&mut rest, b"third");
        std::fs::write(dir.path().join("s1"), &rest).unwrap();
        assert_eq!(records(&follow.poll(10).unwrap()), [("s1".into(), 17, b"third".to_vec())]);
        assert_eq!(follow.position().offset, 23);
        assert!(follow.poll(10).unwrap().is_empty());
        assert_eq!(records(&first), [("s1".into(), 0, b"whole".to_vec())]);
        let mut once = SegmentDir::new(dir.path(), None, false);
        std::fs::write(dir.path().join("s1"), &a).unwrap();
        let frames = once.poll(10).unwrap();
        assert!(matches!(&frames[1], Frame::Corrupt { position, .. } if position.offset == 6));
    }

    #[test]
    fn a_garbage_length_skips_to_the_next_segment() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("s1"), [0xff; 12]).unwrap();
        let mut ok = Vec::new();
        write_delimited(&mut ok, b"next");
        std::fs::write(dir.path().join("s2"), &ok).unwrap();
        let mut source = SegmentDir::new(dir.path(), None, false);
        let frames = source.poll(10).unwrap();
        assert!(matches!(&frames[..], [Frame::Corrupt { reason, .. }] if reason.contains("longer than 10")));
        assert_eq!(frames[0].end(), 12, "a corrupt frame runs to the end of its segment");
        let frames = source.poll(10).unwrap();
        assert!(matches!(&frames[..], [Frame::Record { bytes, .. }] if bytes[..] == b"next"[..]));
        assert_eq!(frames[0].end(), 5);
    }
}
