//! Offloaded payloads: an `OffloadPointer` names an object (a URL such as
//! `s3://bucket/key` or `file:///…`, or a path, relative paths resolved against
//! the source directory) holding the encoded `google.protobuf.Any` of the
//! entity. It is fetched through object_store, configured by the ingest's
//! storage options (`aws_endpoint`, `aws_region`, …), its size and SHA-256
//! checked, then unpacked.

use std::path::Path;

use object_store::ObjectStoreExt as _;
use prost::Message as _;
use sha2::Digest as _;
use url::Url;

use crate::envelope::{DeadLetter, OffloadPointer};
use crate::mapping::EntityInfo;

/// The entity message bytes behind `pointer`, or why they cannot be used.
/// `max_bytes` (the ingest's record limit) bounds the payload too, and nothing
/// is read when the pointer claims more or the object's size differs from the
/// claim: a wrong pointer costs a request, never the memory of a large object.
pub async fn fetch(
    pointer: &OffloadPointer,
    entity: &EntityInfo,
    base: &Path,
    storage_options: &[(String, String)],
    max_bytes: usize,
) -> Result<bytes::Bytes, DeadLetter> {
    let fail = |reason: String| DeadLetter::Offload { uri: pointer.uri.clone(), reason };
    let claimed =
        u64::try_from(pointer.size_bytes).map_err(|_| fail(format!("a negative size ({})", pointer.size_bytes)))?;
    if claimed > max_bytes as u64 {
        return Err(fail(format!("the pointer says {claimed} bytes, over the {max_bytes}-byte limit")));
    }
    let url = resolve(&pointer.uri, base).map_err(fail)?;
    let options = storage_options.iter().map(|(k, v)| (k.as_str(), v.clone()));
    let (store, path) = object_store::parse_url_opts(&url, options).map_err(|e| fail(e.to_string()))?;
    let got = match store.get(&path).await {
        Ok(got) => got,
        Err(object_store::Error::NotFound { .. }) => return Err(fail("the object does not exist".into())),
        Err(e) => return Err(fail(e.to_string())),
    };
    if got.meta.size != claimed {
        return Err(fail(format!("{} bytes, the pointer says {claimed}", got.meta.size)));
    }
    let bytes = got.bytes().await.map_err(|e| fail(e.to_string()))?;
    if bytes.len() as u64 != claimed {
        return Err(fail(format!("{} bytes read, the pointer says {claimed}", bytes.len())));
    }
    let digest = hex(&sha2::Sha256::digest(&bytes));
    if !digest.eq_ignore_ascii_case(&pointer.sha256) {
        return Err(fail(format!("SHA-256 {digest}, the pointer says {}", pointer.sha256)));
    }
    let any = crate::envelope::Any::decode(bytes).map_err(|e| fail(format!("not a packed message: {e}")))?;
    if any.type_url != entity.type_url {
        return Err(DeadLetter::TypeMismatch {
            entity_type: entity.entity_type,
            type_url: any.type_url,
            expected: entity.entity_type,
        });
    }
    Ok(any.value)
}

fn resolve(uri: &str, base: &Path) -> Result<Url, String> {
    if let Ok(url) = Url::parse(uri)
        && url.scheme().len() > 1
    {
        return Ok(url);
    }
    let path = base.join(uri);
    let path = path.canonicalize().map_err(|e| format!("`{}`: {e}", path.display()))?;
    Url::from_file_path(&path).map_err(|()| format!("`{}` is not an absolute path", path.display()))
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
