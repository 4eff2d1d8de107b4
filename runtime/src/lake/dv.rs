//! Deletion vectors: Delta's `deletionVectors` table feature, which marks a
//! data file's deleted rows instead of rewriting the file. The merge step marks
//! the rows a batch replaces this way, so its cost follows the batch.
//!
//! The format is the protocol's ("Deletion Vector Format"), the one Spark and
//! delta-kernel write and read:
//!
//! - a DV file (`deletion_vector_<uuid>.bin` in the table root) starts with a
//!   version byte (1), then per vector: its size (u32, big-endian), the
//!   `RoaringBitmapArray` magic (u32 1681511377, little-endian) and the
//!   portable 64-bit roaring serialization, then the CRC-32 of magic and
//!   bitmap (big-endian). The size counts magic and bitmap;
//! - a descriptor in the `add` action names it: storage type `u`, the uuid in
//!   Z85 (20 characters, after an optional prefix), the vector's offset (where
//!   its size field starts), its size and cardinality; `i` carries the vector
//!   inline (Z85 of magic and bitmap), `p` an absolute path.
//!
//! One commit writes one DV file holding every vector it adds.

use deltalake::kernel::{DeletionVectorDescriptor, StorageType};
use object_store::ObjectStoreExt as _;
use object_store::path::Path;
use roaring::RoaringTreemap;

use super::Result;
use super::read::Reader;

/// The table property that turns the feature on at creation.
pub const ENABLE: (&str, &str) = ("delta.enableDeletionVectors", "true");

const VERSION: u8 = 1;
const MAGIC: u32 = 1681511377;
const CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

/// Where a vector is in its DV file: (offset of its size field, size in bytes).
type Placement = (i32, i32);

/// Serializes `vectors` as one DV file: the bytes and each vector's placement.
pub fn encode(vectors: &[RoaringTreemap]) -> std::io::Result<(Vec<u8>, Vec<Placement>)> {
    let mut out = vec![VERSION];
    let mut placed = Vec::with_capacity(vectors.len());
    for v in vectors {
        let offset = out.len();
        let mut data = MAGIC.to_le_bytes().to_vec();
        v.serialize_into(&mut data)?;
        let too_big = || std::io::Error::other("a deletion vector file over 2 GiB");
        let size = i32::try_from(data.len()).map_err(|_| too_big())?;
        out.extend_from_slice(&(size as u32).to_be_bytes());
        out.extend_from_slice(&data);
        out.extend_from_slice(&CRC.checksum(&data).to_be_bytes());
        placed.push((i32::try_from(offset).map_err(|_| too_big())?, size));
    }
    Ok((out, placed))
}

/// Reads one vector from `bytes` (a whole DV file) at `offset`, checking its
/// size, magic and checksum.
pub fn decode(bytes: &[u8], offset: usize, size: usize) -> std::result::Result<RoaringTreemap, String> {
    let field = bytes.get(offset..offset + 4).ok_or("the DV file ends before the vector")?;
    let stored = u32::from_be_bytes(field.try_into().expect("4 bytes")) as usize;
    if stored != size {
        return Err(format!("the DV file says {stored} bytes, the log {size}"));
    }
    let data = bytes.get(offset + 4..offset + 4 + size).ok_or("the DV file ends inside the vector")?;
    let crc = bytes.get(offset + 4 + size..offset + 8 + size).ok_or("the DV file ends before the checksum")?;
    if CRC.checksum(data) != u32::from_be_bytes(crc.try_into().expect("4 bytes")) {
        return Err("checksum mismatch".into());
    }
    bitmap(data)
}

/// Magic and portable roaring serialization (what `i` descriptors inline).
fn bitmap(data: &[u8]) -> std::result::Result<RoaringTreemap, String> {
    let magic = data.get(..4).ok_or("a deletion vector shorter than its magic")?;
    if u32::from_le_bytes(magic.try_into().expect("4 bytes")) != MAGIC {
        return Err("not a portable RoaringBitmapArray (wrong magic)".into());
    }
    RoaringTreemap::deserialize_from(&data[4..]).map_err(|e| format!("a corrupt roaring bitmap: {e}"))
}

/// The DV file's path relative to the table root, for `u` and `p` descriptors.
fn location(reader: &Reader, dv: &DeletionVectorDescriptor) -> Result<Path> {
    let bad = |why: &str| reader.error(format!("deletion vector `{}`: {why}", dv.path_or_inline_dv));
    match dv.storage_type {
        StorageType::UuidRelativePath => {
            let id = dv.path_or_inline_dv.as_bytes();
            let split = id.len().checked_sub(20).ok_or_else(|| bad("shorter than a Z85 uuid"))?;
            let uuid = z85::decode(&id[split..]).map_err(|_| bad("not Z85"))?;
            let uuid = uuid::Uuid::from_slice(&uuid).map_err(|_| bad("not a uuid"))?;
            let prefix = &dv.path_or_inline_dv[..split];
            let name = format!("deletion_vector_{uuid}.bin");
            let path = if prefix.is_empty() { name } else { format!("{prefix}/{name}") };
            Ok(Path::from(path))
        }
        StorageType::AbsolutePath => {
            let url = url::Url::parse(&dv.path_or_inline_dv).map_err(|_| bad("not a URL"))?;
            let root = &reader.root;
            let relative = root.make_relative(&url).filter(|r| !r.starts_with("../"));
            let relative = relative.ok_or_else(|| bad("outside the table root (not supported)"))?;
            // Decoded once, it is the file's name as stored (a partition folder
            // keeps its own escapes, `ws%2B5`); `Path::from` would escape those
            // `%`s again and name another file. As `read` does for data files.
            let decoded = percent_encoding::percent_decode_str(&relative).decode_utf8_lossy().into_owned();
            Ok(Path::parse(&decoded).unwrap_or_else(|_| Path::from(decoded)))
        }
        StorageType::Inline => Err(bad("inline, not a file")),
    }
}

/// The rows `dv` deletes.
pub async fn read(reader: &Reader, dv: &DeletionVectorDescriptor) -> Result<RoaringTreemap> {
    let fail = |why: String| reader.error(format!("deletion vector `{}`: {why}", dv.path_or_inline_dv));
    let size = usize::try_from(dv.size_in_bytes).map_err(|_| fail("a negative size".into()))?;
    let vector = if dv.storage_type == StorageType::Inline {
        let data = z85::decode(&dv.path_or_inline_dv).map_err(|_| fail("inline data is not Z85".into()))?;
        bitmap(&data).map_err(fail)?
    } else {
        let path = location(reader, dv)?;
        let store = &reader.store;
        let bytes = store
            .get(&path)
            .await
            .map_err(|e| reader.delta_error(e.into()))?
            .bytes()
            .await
            .map_err(|e| reader.delta_error(e.into()))?;
        let offset = usize::try_from(dv.offset.unwrap_or(1)).map_err(|_| fail("a negative offset".into()))?;
        decode(&bytes, offset, size).map_err(fail)?
    };
    if vector.len() != dv.cardinality as u64 {
        return Err(fail(format!("holds {} rows, the log says {}", vector.len(), dv.cardinality)));
    }
    Ok(vector)
}

/// Writes `vectors` as one new DV file; their descriptors, in order.
pub async fn write(reader: &Reader, vectors: &[RoaringTreemap]) -> Result<Vec<DeletionVectorDescriptor>> {
    let (bytes, placed) = encode(vectors).map_err(|e| reader.error(e.to_string()))?;
    let uuid = uuid::Uuid::new_v4();
    let id = z85::encode(uuid.as_bytes());
    let path = Path::from(format!("deletion_vector_{uuid}.bin"));
    reader.store.put(&path, bytes.into()).await.map_err(|e| reader.delta_error(e.into()))?;
    Ok(vectors
        .iter()
        .zip(placed)
        .map(|(v, (offset, size))| DeletionVectorDescriptor {
            storage_type: StorageType::UuidRelativePath,
            path_or_inline_dv: id.clone(),
            offset: Some(offset),
            size_in_bytes: size,
            cardinality: v.len() as i64,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dv_file_round_trips_and_its_checksum_is_checked() {
        let a: RoaringTreemap = [0u64, 5, 7, 1 << 33].into_iter().collect();
        let b: RoaringTreemap = (100u64..200).collect();
        let (mut bytes, placed) = encode(&[a.clone(), b.clone()]).unwrap();
        assert_eq!(bytes[0], 1);
        assert_eq!(placed[0].0, 1);
        let (o, s) = placed[1];
        assert_eq!(decode(&bytes, o as usize, s as usize).unwrap(), b);
        let (o, s) = placed[0];
        assert_eq!(decode(&bytes, o as usize, s as usize).unwrap(), a);
        assert!(decode(&bytes, o as usize, s as usize + 1).unwrap_err().contains("says"));
        bytes[o as usize + 9] ^= 1;
        assert_eq!(decode(&bytes, o as usize, s as usize).unwrap_err(), "checksum mismatch");
    }

    #[test]
    fn an_absolute_dv_path_in_an_escaped_partition_folder_names_the_stored_file() {
        let dir = tempfile::tempdir().unwrap();
        // A partition folder named as delta-rs escapes `ari:x` (`:` → `%3A`).
        let folder = dir.path().join("workspace_id=ari%3Ax");
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join("dv.bin"), b"dv").unwrap();
        let root = url::Url::from_directory_path(dir.path()).unwrap();
        let store: deltalake::logstore::ObjectStoreRef =
            std::sync::Arc::new(object_store::local::LocalFileSystem::new_with_prefix(dir.path()).unwrap());
        let reader = Reader {
            name: "t".into(),
            store: store.clone(),
            root: root.clone(),
            schema: std::sync::Arc::new(arrow_schema::Schema::empty()),
        };
        // As a URL, the folder's `%` is escaped once more.
        let dv = DeletionVectorDescriptor {
            storage_type: StorageType::AbsolutePath,
            path_or_inline_dv: format!("{root}workspace_id=ari%253Ax/dv.bin"),
            offset: Some(1),
            size_in_bytes: 1,
            cardinality: 1,
        };
        let path = location(&reader, &dv).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let got = rt.block_on(store.get(&path)).unwrap();
        assert_eq!(rt.block_on(got.bytes()).unwrap().as_ref(), b"dv");
    }

    #[test]
    fn the_layout_is_the_protocols() {
        // Size big-endian, magic little-endian, as the protocol's example.
        let (bytes, placed) = encode(&[[3u64].into_iter().collect()]).unwrap();
        let size = placed[0].1 as usize;
        assert_eq!(&bytes[1..5], &(size as u32).to_be_bytes());
        assert_eq!(&bytes[5..9], &[0xd1, 0xd3, 0x39, 0x64]);
        assert_eq!(bytes.len(), 1 + 4 + size + 4);
    }
}
