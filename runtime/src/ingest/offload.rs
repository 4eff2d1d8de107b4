//! Offloaded payloads: an `OffloadPointer` names an object (a URL such as
//! `s3://bucket/key` or `file:///…`, or a path, relative paths resolved against
//! the source directory) holding the encoded `google.protobuf.Any` of the
//! entity. It is fetched through object_store, configured by the ingest's
//! storage options (`aws_endpoint`, `aws_region`, …), its size and SHA-256
//! checked, then unpacked.
//!
//! Two kinds of failure, kept apart: the record's (its object does not exist,
//! has another size or checksum, is not the entity) makes it a dead letter,
//! and the stream goes on; the store's (unreachable, refusing the
//! credentials, failing after object_store's own retries) stops the batch
//! before anything of it is committed, so the record is read again on the
//! next run rather than set aside for good over an outage.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use object_store::{ObjectStore, ObjectStoreExt as _, ObjectStoreScheme};
use prost::Message as _;
use sha2::Digest as _;
use url::Url;

use crate::envelope::{DeadLetter, OffloadPointer};
use crate::mapping::EntityInfo;

/// Why an offloaded payload was not fetched.
#[derive(Debug)]
pub enum FetchError {
    /// The record's fault: it becomes a dead letter.
    Dead(DeadLetter),
    /// The store's fault (`reason`): nothing of the batch may be committed.
    Unavailable { uri: String, reason: String },
}

/// The object stores offloaded payloads are read from, one client per store
/// (bucket, container, the local file system) for the whole ingest: a client
/// keeps its connections, and making one per record would open a connection
/// (and a TLS session) per offloaded record.
#[derive(Clone, Debug, Default)]
pub struct Stores {
    storage_options: Vec<(String, String)>,
    /// By origin (`s3://bucket`, see `origin`).
    by_origin: Arc<Mutex<HashMap<String, Arc<dyn ObjectStore>>>>,
}

impl Stores {
    /// Stores made from URLs with `storage_options`.
    pub fn new(storage_options: Vec<(String, String)>) -> Self {
        Stores { storage_options, by_origin: Arc::default() }
    }

    /// Reads objects under `origin` (`s3://bucket`, `file://`) through `store`
    /// instead of a client made from the URL (a store object_store cannot
    /// make from a URL and options, or one configured otherwise, e.g. with
    /// its own retries).
    pub fn with_store(self, origin: &str, store: Arc<dyn ObjectStore>) -> Self {
        self.by_origin.lock().expect("not poisoned").insert(origin.trim_end_matches('/').to_string(), store);
        self
    }

    /// The store of `url` and the object's path in it. A URL of no store
    /// object_store knows is the pointer's fault; a store that cannot be made
    /// (the storage options do not configure it) is the ingest's.
    fn get(&self, uri: &str, url: &Url) -> Result<(Arc<dyn ObjectStore>, object_store::path::Path), FetchError> {
        let (_, path) = ObjectStoreScheme::parse(url)
            .map_err(|e| FetchError::Dead(DeadLetter::Offload { uri: uri.to_string(), reason: e.to_string() }))?;
        let make = || {
            let options = self.storage_options.iter().map(|(k, v)| (k.as_str(), v.clone()));
            object_store::parse_url_opts(url, options)
                .map_err(|e| FetchError::Unavailable { uri: uri.to_string(), reason: e.to_string() })
        };
        let Some(origin) = origin(url) else {
            let (store, path) = make()?;
            return Ok((Arc::from(store), path));
        };
        let mut by_origin = self.by_origin.lock().expect("not poisoned");
        if let Some(store) = by_origin.get(&origin) {
            return Ok((Arc::clone(store), path));
        }
        let store: Arc<dyn ObjectStore> = Arc::from(make()?.0);
        by_origin.insert(origin, Arc::clone(&store));
        Ok((store, path))
    }
}

/// What names one store in `url`: its scheme and authority (`s3://bucket`,
/// `abfss://container@account…`, `file://`). `None` for `http(s)://`, where
/// the store also takes part of the path (a path-style S3 URL's bucket, an
/// Azure URL's container): such URLs get a client each.
fn origin(url: &Url) -> Option<String> {
    match url.scheme() {
        "http" | "https" => None,
        _ => Some(url[..url::Position::BeforePath].to_string()),
    }
}

/// The entity message bytes behind `pointer`, or why they cannot be used.
/// `max_bytes` (the ingest's record limit) bounds the payload too, and nothing
/// is read when the pointer claims more or the object's size differs from the
/// claim: a wrong pointer costs a request, never the memory of a large object.
pub async fn fetch(
    pointer: &OffloadPointer,
    entity: &EntityInfo,
    base: &Path,
    stores: &Stores,
    max_bytes: usize,
) -> Result<bytes::Bytes, FetchError> {
    let fail = |reason: String| FetchError::Dead(DeadLetter::Offload { uri: pointer.uri.clone(), reason });
    let unavailable =
        |e: object_store::Error| FetchError::Unavailable { uri: pointer.uri.clone(), reason: e.to_string() };
    let claimed =
        u64::try_from(pointer.size_bytes).map_err(|_| fail(format!("a negative size ({})", pointer.size_bytes)))?;
    if claimed > max_bytes as u64 {
        return Err(fail(format!("the pointer says {claimed} bytes, over the {max_bytes}-byte limit")));
    }
    let url = resolve(&pointer.uri, base)?;
    let (store, path) = stores.get(&pointer.uri, &url)?;
    let got = match store.get(&path).await {
        Ok(got) => got,
        Err(object_store::Error::NotFound { .. }) => return Err(fail("the object does not exist".into())),
        Err(e) => return Err(unavailable(e)),
    };
    if got.meta.size != claimed {
        return Err(fail(format!("{} bytes, the pointer says {claimed}", got.meta.size)));
    }
    let bytes = got.bytes().await.map_err(unavailable)?;
    if bytes.len() as u64 != claimed {
        return Err(fail(format!("{} bytes read, the pointer says {claimed}", bytes.len())));
    }
    let digest = hex(&sha2::Sha256::digest(&bytes));
    if !digest.eq_ignore_ascii_case(&pointer.sha256) {
        return Err(fail(format!("SHA-256 {digest}, the pointer says {}", pointer.sha256)));
    }
    let any = crate::envelope::Any::decode(bytes).map_err(|e| fail(format!("not a packed message: {e}")))?;
    if any.type_url != entity.type_url {
        return Err(FetchError::Dead(DeadLetter::TypeMismatch {
            entity_type: entity.entity_type,
            type_url: any.type_url,
            expected: entity.entity_type,
        }));
    }
    Ok(any.value)
}

/// `uri` as a URL: as written, or a path (relative to `base`) that exists.
fn resolve(uri: &str, base: &Path) -> Result<Url, FetchError> {
    if let Ok(url) = Url::parse(uri)
        && url.scheme().len() > 1
    {
        return Ok(url);
    }
    let path = base.join(uri);
    let reason = |e: &dyn std::fmt::Display| format!("`{}`: {e}", path.display());
    let path = path.canonicalize().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory => {
            FetchError::Dead(DeadLetter::Offload { uri: uri.into(), reason: reason(&e) })
        }
        _ => FetchError::Unavailable { uri: uri.into(), reason: reason(&e) },
    })?;
    Url::from_file_path(&path).map_err(|()| {
        FetchError::Dead(DeadLetter::Offload {
            uri: uri.into(),
            reason: format!("`{}` is not an absolute path", path.display()),
        })
    })
}

/// Object-store settings from the environment: every `AWS_*`, `AZURE_*` and
/// `GOOGLE_*` variable (object_store reads them case-insensitively and ignores
/// keys it does not know).
pub fn storage_options_from_env() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| ["AWS_", "AZURE_", "GOOGLE_"].iter().any(|p| k.starts_with(p)))
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect();
    out.sort();
    out
}

/// Lower-case hex, as the pointer carries it.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_of_one_store_share_its_client_and_keep_their_paths() {
        let stores = Stores::new(Vec::new());
        let get = |uri: &str| match stores.get(uri, &Url::parse(uri).unwrap()) {
            Ok(got) => got,
            Err(e) => panic!("{uri}: {e:?}"),
        };
        let (a, path_a) = get("s3://bucket-a/x/1.any");
        let (b, path_b) = get("s3://bucket-a/y/2.any");
        let (other, _) = get("s3://bucket-b/x/1.any");
        assert!(Arc::ptr_eq(&a, &b) && !Arc::ptr_eq(&a, &other));
        assert_eq!((path_a.as_ref(), path_b.as_ref()), ("x/1.any", "y/2.any"));
        let (file, path) = get("file:///tmp/a%20b/c.any");
        assert!(Arc::ptr_eq(&file, &get("file:///var/d.any").0));
        assert_eq!(path.as_ref(), "tmp/a b/c.any");
        // A URL no store reads is the pointer's fault.
        let ftp = Url::parse("ftp://host/x.any").unwrap();
        assert!(matches!(stores.get("ftp://host/x.any", &ftp), Err(FetchError::Dead(_))));
    }

    /// Local payloads whose paths hold characters a URL escapes (a space, `%`,
    /// `#`, `?`, a percent escape) are read from exactly that file.
    #[test]
    fn local_payloads_are_read_whatever_their_names_hold() {
        let dir = tempfile::tempdir().unwrap();
        let stores = Stores::new(Vec::new());
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        for name in ["a b/c d.any", "pct%20x/100%.any", "h#1/q?.any", "%41/é.any"] {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, name).unwrap();
            let url = resolve(name, dir.path()).unwrap();
            let (store, location) = stores.get(name, &url).unwrap();
            let bytes = rt.block_on(async { store.get(&location).await.unwrap().bytes().await.unwrap() });
            assert_eq!(&bytes[..], name.as_bytes(), "{name}");
        }
    }

    #[test]
    fn a_given_store_serves_its_origin() {
        let given: Arc<dyn ObjectStore> = Arc::new(object_store::memory::InMemory::new());
        let stores = Stores::new(Vec::new()).with_store("s3://mine/", Arc::clone(&given));
        let url = Url::parse("s3://mine/k/1.any").unwrap();
        let (store, path) = stores.get(url.as_str(), &url).unwrap();
        assert!(Arc::ptr_eq(&store, &given));
        assert_eq!(path.as_ref(), "k/1.any");
    }
}
