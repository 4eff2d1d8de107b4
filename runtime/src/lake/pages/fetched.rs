//! The byte ranges fetched from a file, read as if they were the file.

use std::ops::Range;

use bytes::Bytes;
use deltalake::parquet::errors::{ParquetError, Result};
use deltalake::parquet::file::reader::{ChunkReader, Length};

/// Fetched byte ranges of a file, read by `SerializedPageReader` as if it
/// were the file.
pub(super) struct Fetched {
    /// (start, bytes), ascending and disjoint.
    blocks: Vec<(u64, Bytes)>,
    len: u64,
}

impl Fetched {
    pub(super) fn new(ranges: &[Range<u64>], bytes: Vec<Bytes>, len: u64) -> Result<Fetched> {
        if bytes.len() != ranges.len() || ranges.iter().zip(&bytes).any(|(r, b)| (r.end - r.start) as usize != b.len())
        {
            return Err(ParquetError::General("the store returned other ranges than were asked for".into()));
        }
        Ok(Fetched { blocks: ranges.iter().map(|r| r.start).zip(bytes).collect(), len })
    }
}

impl Length for Fetched {
    fn len(&self) -> u64 {
        self.len
    }
}

impl ChunkReader for Fetched {
    type T = bytes::buf::Reader<Bytes>;

    fn get_read(&self, start: u64) -> Result<Self::T> {
        let (from, block) = self.block(start)?;
        Ok(bytes::Buf::reader(block.slice((start - from) as usize..)))
    }

    fn get_bytes(&self, start: u64, length: usize) -> Result<Bytes> {
        let (from, block) = self.block(start)?;
        let at = (start - from) as usize;
        if at + length > block.len() {
            return Err(ParquetError::General(format!("bytes {start}..+{length} were not fetched")));
        }
        Ok(block.slice(at..at + length))
    }
}

impl Fetched {
    /// `length` bytes from `start`, which must have been fetched.
    pub(super) fn slice(&self, start: u64, length: usize) -> Result<&[u8]> {
        let (from, block) = self.block(start)?;
        let at = (start - from) as usize;
        block
            .get(at..at + length)
            .ok_or_else(|| ParquetError::General(format!("bytes {start}..+{length} were not fetched")))
    }

    fn block(&self, start: u64) -> Result<(u64, &Bytes)> {
        let i = self.blocks.partition_point(|(s, _)| *s <= start);
        match i.checked_sub(1).map(|i| &self.blocks[i]) {
            Some((from, block)) if start < from + block.len() as u64 => Ok((*from, block)),
            _ => Err(ParquetError::General(format!("byte {start} was not fetched"))),
        }
    }
}
