//! Object stores for the lake beyond delta-rs's built-in `file://` and
//! `memory://`: `s3://` through object_store's own S3 client (already in the
//! build — no AWS SDK), with commits made atomic by conditional puts
//! (`If-None-Match: *`, which S3 supports). Registered once, before the first
//! table is opened.

use std::sync::{Arc, Once};

use deltalake::DeltaResult;
use deltalake::logstore::{
    LogStore, LogStoreFactory, ObjectStoreFactory, ObjectStoreRef, StorageConfig, default_logstore, logstore_factories,
    object_store_factories,
};
use deltalake::{DeltaTableError, Path};
use url::Url;

struct ObjectStoreS3;

impl ObjectStoreFactory for ObjectStoreS3 {
    fn parse_url_opts(&self, url: &Url, config: &StorageConfig) -> DeltaResult<(ObjectStoreRef, Path)> {
        let (store, path) = object_store::parse_url_opts(url, &config.raw)
            .map_err(|e| DeltaTableError::InvalidTableLocation(format!("{url}: {e}")))?;
        Ok((Arc::from(store), path))
    }
}

struct DefaultLogStores;

impl LogStoreFactory for DefaultLogStores {
    fn with_options(
        &self,
        prefixed_store: ObjectStoreRef,
        root_store: ObjectStoreRef,
        location: &Url,
        options: &StorageConfig,
    ) -> DeltaResult<Arc<dyn LogStore>> {
        Ok(default_logstore(prefixed_store, root_store, location, options))
    }
}

pub(super) fn register() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let s3 = Url::parse("s3://").expect("a valid URL");
        object_store_factories().insert(s3.clone(), Arc::new(ObjectStoreS3));
        logstore_factories().insert(s3, Arc::new(DefaultLogStores));
    });
}
