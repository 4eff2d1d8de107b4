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
pub async fn fetch(
    pointer: &OffloadPointer,
    entity: &EntityInfo,
    base: &Path,
    storage_options: &[(String, String)],
) -> Result<bytes::Bytes, DeadLetter> {
    let fail = |reason: String| DeadLetter::Offload { uri: pointer.uri.clone(), reason };
    let url = resolve(&pointer.uri, base).map_err(fail)?;
    let options = storage_options.iter().map(|(k, v)| (k.as_str(), v.clone()));
    let (store, path) = object_store::parse_url_opts(&url, options).map_err(|e| fail(e.to_string()))?;
    let bytes = match store.get(&path).await {
        Ok(got) => got.bytes().await.map_err(|e| fail(e.to_string()))?,
        Err(object_store::Error::NotFound { .. }) => return Err(fail("the object does not exist".into())),
        Err(e) => return Err(fail(e.to_string())),
    };
    if bytes.len() as i64 != pointer.size_bytes {
        return Err(fail(format!("{} bytes, the pointer says {}", bytes.len(), pointer.size_bytes)));
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
