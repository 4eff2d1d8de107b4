//! Offloaded payloads: an `OffloadPointer` names an object (a URL such as
//! `s3://bucket/key` or `file:///…`, or a path, relative paths resolved against
//! the source directory) holding the encoded `google.protobuf.Any` of the
//! entity. A remote object is fetched through object_store, configured by the
//! ingest's storage options (`aws_endpoint`, `aws_region`, …); a local one is
//! read only from the directories the ingest allows (`LocalDirs`). Its size
//! and SHA-256 are checked, then it is unpacked.
//!
//! A pointer is data from the bus, written by whatever produced the record:
//! it must not make the ingest read any file its user can (`/etc/…`, another
//! team's keys) nor block it for good (a FIFO or a terminal opened for
//! reading waits for a writer, and the run never ends, not even on SIGTERM).
//! So a local path is resolved lexically (`..` taken off before the file
//! system is asked anything, which also tells nothing about files elsewhere),
//! must lie inside an allowed directory, and must be a regular file, checked
//! on the open file itself (opened non-blocking, so a FIFO swapped in after a
//! check cannot block it either). Symbolic links inside the allowed
//! directories are followed: whoever can make them there already writes the
//! source (an operator may link the offload folder to another disk).
//!
//! Two kinds of failure, kept apart: the record's (its object does not exist,
//! has another size or checksum, is not the entity) makes it a dead letter,
//! and the stream goes on; the store's (unreachable, refusing the
//! credentials, failing after object_store's own retries) stops the batch
//! before anything of it is committed, so the record is read again on the
//! next run rather than set aside for good over an outage.

use std::collections::HashMap;
use std::io::Read as _;
use std::path::{Component, Path, PathBuf};
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
    /// Where local payloads may be read; none by default.
    local: LocalDirs,
}

impl Stores {
    /// Stores made from URLs with `storage_options`.
    pub fn new(storage_options: Vec<(String, String)>) -> Self {
        Stores { storage_options, by_origin: Arc::default(), local: LocalDirs::default() }
    }

    /// Allows local payloads (paths and `file://` URLs) inside `dirs`.
    pub fn with_local_dirs(mut self, dirs: LocalDirs) -> Self {
        self.local = dirs;
        self
    }

    /// Reads objects under `origin` (`s3://bucket`, `gs://bucket`) through `store`
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
    let bytes = match resolve(&pointer.uri, base)? {
        Location::Local(path) => {
            let (local, uri) = (stores.local.clone(), pointer.uri.clone());
            tokio::task::spawn_blocking(move || read_local(&path, &local, claimed, &uri))
                .await
                .map_err(|e| FetchError::Unavailable { uri: pointer.uri.clone(), reason: e.to_string() })??
        }
        Location::Remote(url) => {
            let (store, path) = stores.get(&pointer.uri, &url)?;
            let got = match store.get(&path).await {
                Ok(got) => got,
                Err(object_store::Error::NotFound { .. }) => return Err(fail("the object does not exist".into())),
                Err(e) => return Err(unavailable(e)),
            };
            if got.meta.size != claimed {
                return Err(fail(format!("{} bytes, the pointer says {claimed}", got.meta.size)));
            }
            got.bytes().await.map_err(unavailable)?
        }
    };
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

/// Where a pointer's object is.
#[derive(Debug, PartialEq)]
enum Location {
    /// An absolute path, `..` resolved lexically.
    Local(PathBuf),
    Remote(Url),
}

/// `uri` as a URL of a remote store, or as a local file: a `file://` URL or a
/// path (relative to `base`).
fn resolve(uri: &str, base: &Path) -> Result<Location, FetchError> {
    let dead = |reason: String| FetchError::Dead(DeadLetter::Offload { uri: uri.into(), reason });
    let path = match Url::parse(uri) {
        Ok(url) if url.scheme() == "file" => {
            url.to_file_path().map_err(|()| dead("a `file://` URL names a file of this machine only".into()))?
        }
        // A one-letter "scheme" is a Windows drive (`C:\…`): a path.
        Ok(url) if url.scheme().len() > 1 => return Ok(Location::Remote(url)),
        _ => base.join(uri),
    };
    let path = std::path::absolute(&path).map_err(|e| dead(format!("`{}`: {e}", path.display())))?;
    Ok(Location::Local(lexical(&path)))
}

/// `path` (absolute) with `.` and `..` taken off as text, without asking the
/// file system: `/s/offload/../../etc/passwd` is `/etc/passwd`, outside `/s`.
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

/// The local directories offloaded payloads may be read from: the source
/// directory and those the operator names (`--offload-dir`).
#[derive(Clone, Debug, Default)]
pub struct LocalDirs(Arc<Vec<PathBuf>>);

impl LocalDirs {
    /// `dirs` as absolute paths (`..` resolved lexically, as pointers are).
    pub fn new<'a>(dirs: impl IntoIterator<Item = &'a Path>) -> std::io::Result<Self> {
        let dirs = dirs.into_iter().map(|d| std::path::absolute(d).map(|d| lexical(&d)));
        Ok(LocalDirs(Arc::new(dirs.collect::<std::io::Result<_>>()?)))
    }

    fn contain(&self, path: &Path) -> bool {
        self.0.iter().any(|d| path.starts_with(d) && path != d)
    }
}

/// The `claimed` bytes of the local file `path`, if it lies inside `dirs` and
/// is a regular file of that size. A file that cannot be read for another
/// reason (permissions) stops the batch: the operator's to mend, not the
/// record's.
fn read_local(path: &Path, dirs: &LocalDirs, claimed: u64, uri: &str) -> Result<bytes::Bytes, FetchError> {
    let shown = path.display();
    let dead = |reason: String| FetchError::Dead(DeadLetter::Offload { uri: uri.into(), reason });
    if !dirs.contain(path) {
        let allowed: Vec<String> = dirs.0.iter().map(|d| format!("`{}`", d.display())).collect();
        return Err(dead(format!(
            "`{shown}` is outside the directories offloaded payloads are read from ({}; more with `--offload-dir`)",
            allowed.join(", ")
        )));
    }
    let mut open = std::fs::OpenOptions::new();
    open.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        open.custom_flags(libc::O_NONBLOCK);
    }
    let mut file = match open.open(path) {
        Ok(file) => file,
        Err(e) if matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory) => {
            return Err(dead(format!("`{shown}` does not exist")));
        }
        Err(e) => return Err(FetchError::Unavailable { uri: uri.into(), reason: format!("`{shown}`: {e}") }),
    };
    let unavailable =
        |e: std::io::Error| FetchError::Unavailable { uri: uri.into(), reason: format!("`{shown}`: {e}") };
    let meta = file.metadata().map_err(unavailable)?;
    if !meta.is_file() {
        return Err(dead(format!("`{shown}` is not a regular file (a directory, FIFO, socket or device)")));
    }
    if meta.len() != claimed {
        return Err(dead(format!("{} bytes, the pointer says {claimed}", meta.len())));
    }
    // One byte more than claimed, to see a file that grew since.
    let mut bytes = Vec::with_capacity(claimed as usize);
    file.by_ref().take(claimed + 1).read_to_end(&mut bytes).map_err(unavailable)?;
    Ok(bytes.into())
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

    fn local(uri: &str, base: &Path) -> PathBuf {
        match resolve(uri, base) {
            Ok(Location::Local(path)) => path,
            other => panic!("{uri}: {other:?}"),
        }
    }

    /// Local payloads whose paths hold characters a URL escapes (a space, `%`,
    /// `#`, `?`, a percent escape) are read from exactly that file.
    #[test]
    fn local_payloads_are_read_whatever_their_names_hold() {
        let dir = tempfile::tempdir().unwrap();
        let dirs = LocalDirs::new([dir.path()]).unwrap();
        for name in ["a b/c d.any", "pct%20x/100%.any", "h#1/q?.any", "%41/é.any"] {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, name).unwrap();
            let bytes = read_local(&local(name, dir.path()), &dirs, name.len() as u64, name).unwrap();
            assert_eq!(&bytes[..], name.as_bytes(), "{name}");
            let url = Url::from_file_path(&path).unwrap();
            assert_eq!(local(url.as_str(), Path::new("/elsewhere")), path, "{url}");
        }
    }

    #[test]
    fn pointers_resolve_lexically_and_remote_urls_stay_urls() {
        let base = Path::new("/s/stream");
        assert_eq!(local("offload/x.any", base), Path::new("/s/stream/offload/x.any"));
        assert_eq!(local("./offload/../offload/./x.any", base), Path::new("/s/stream/offload/x.any"));
        assert_eq!(local("offload/../../../../etc/passwd", base), Path::new("/etc/passwd"));
        assert_eq!(local("/etc/passwd", base), Path::new("/etc/passwd"));
        assert_eq!(local("file:///s/stream/../other/x.any", base), Path::new("/s/other/x.any"));
        assert!(matches!(resolve("s3://b/k.any", base), Ok(Location::Remote(u)) if u.as_str() == "s3://b/k.any"));
        // A file URL naming another machine's file is the pointer's fault.
        assert!(matches!(resolve("file://host/x.any", base), Err(FetchError::Dead(_))));
        let dirs = LocalDirs::new([base, Path::new("/data/payloads/../offload")]).unwrap();
        assert!(dirs.contain(Path::new("/s/stream/offload/x.any")));
        assert!(dirs.contain(Path::new("/data/offload/x.any")));
        for outside in ["/s/stream", "/s/streamx/a", "/s/other/x.any", "/data/payloads/x.any", "/etc/passwd"] {
            assert!(!dirs.contain(Path::new(outside)), "{outside}");
        }
    }

    /// Outside the allowed directories nothing is read, or even looked up:
    /// the reason is the same for a file that exists and one that does not.
    /// Inside, only regular files are read; a FIFO (or a terminal) would
    /// block the ingest for good if it were opened for a blocking read.
    #[test]
    fn local_payloads_are_regular_files_inside_the_allowed_directories() {
        let root = tempfile::tempdir().unwrap();
        let (source, other) = (root.path().join("stream"), root.path().join("other"));
        std::fs::create_dir_all(source.join("offload")).unwrap();
        std::fs::create_dir_all(&other).unwrap();
        std::fs::write(other.join("secret.any"), "secret").unwrap();
        let fifo = source.join("offload/pipe.any");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        let dirs = LocalDirs::new([source.as_path()]).unwrap();
        let reason = |uri: &str, claimed: u64| {
            let path = local(uri, &source);
            let dirs = dirs.clone();
            let uri = uri.to_string();
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || tx.send(read_local(&path, &dirs, claimed, &uri)));
            match rx.recv_timeout(std::time::Duration::from_secs(30)).expect("the read does not block") {
                Err(FetchError::Dead(DeadLetter::Offload { reason, .. })) => reason,
                other => panic!("{other:?}"),
            }
        };
        for uri in ["../other/secret.any", "../other/none.any", other.join("secret.any").to_str().unwrap()] {
            assert!(reason(uri, 6).contains("is outside the directories"), "{uri}: {}", reason(uri, 6));
        }
        assert!(reason("offload/pipe.any", 0).contains("is not a regular file"));
        assert!(reason("offload", 0).contains("is not a regular file"));
        assert!(reason("offload/none.any", 6).ends_with("does not exist"));
        // Allowed, the other directory is read.
        let both = LocalDirs::new([source.as_path(), other.as_path()]).unwrap();
        let got = read_local(&local("../other/secret.any", &source), &both, 6, "x").unwrap();
        assert_eq!(&got[..], b"secret");
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
