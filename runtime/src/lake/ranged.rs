//! A Parquet file read through the table's object store by byte ranges: the
//! footer, then only the column chunks (or, with the page index, the pages)
//! a read needs. The merge step reads a few narrow columns of many files.

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use deltalake::logstore::ObjectStoreRef;
use deltalake::parquet::arrow::arrow_reader::ArrowReaderOptions;
use deltalake::parquet::arrow::async_reader::AsyncFileReader;
use deltalake::parquet::errors::{ParquetError, Result};
use deltalake::parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};
use futures::FutureExt as _;
use futures::future::BoxFuture;
use object_store::ObjectStoreExt as _;
use object_store::path::Path;

/// Bytes read from the end of a file for its metadata in one request.
const PREFETCH: usize = 64 * 1024;

#[derive(Clone)]
pub struct Ranged {
    pub store: ObjectStoreRef,
    pub path: Path,
    /// The file's size (from its add action: no request to learn it).
    pub size: u64,
}

fn external(e: object_store::Error) -> ParquetError {
    ParquetError::External(Box::new(e))
}

impl AsyncFileReader for Ranged {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, Result<Bytes>> {
        async move { self.store.get_range(&self.path, range).await.map_err(external) }.boxed()
    }

    fn get_byte_ranges(&mut self, ranges: Vec<Range<u64>>) -> BoxFuture<'_, Result<Vec<Bytes>>> {
        async move { self.store.get_ranges(&self.path, &ranges).await.map_err(external) }.boxed()
    }

    fn get_metadata<'a>(
        &'a mut self,
        options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, Result<Arc<ParquetMetaData>>> {
        let size = self.size;
        async move {
            // One request for the footer, the metadata and (usually) the page
            // index, which writers put just before it.
            let mut reader = ParquetMetaDataReader::new().with_prefetch_hint(Some(PREFETCH));
            if let Some(o) = options {
                reader = reader
                    .with_column_index_policy(o.column_index_policy())
                    .with_offset_index_policy(o.offset_index_policy());
            }
            Ok(Arc::new(reader.load_and_finish(&mut *self, size).await?))
        }
        .boxed()
    }
}
