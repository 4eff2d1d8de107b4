//! The replication envelope (`templates/proto/envelope.proto`, package
//! `manifold.v1`) and decoding: a raw record → a typed record of one entity of
//! the registry, or the reason it is a dead letter.
//!
//! The envelope types are written here by hand, not generated, because the
//! runtime must read every product's records with one type; a test checks them
//! against the generated ones byte for byte. They are what producers and tests
//! encode with; [`decode`] reads a record through `view` instead (borrowed
//! from the record, nothing allocated), held to prost's reading by a property test.

mod view;

use bytes::Bytes;

use crate::mapping::{EntityInfo, Registry, RowMeta};
use view::{PayloadView, RecordView};

#[derive(Clone, PartialEq, prost::Message)]
pub struct Ari {
    #[prost(string, tag = "1")]
    pub value: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct OffloadPointer {
    #[prost(string, tag = "1")]
    pub uri: String,
    #[prost(int64, tag = "2")]
    pub size_bytes: i64,
    #[prost(string, tag = "3")]
    pub sha256: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct FacsimileRecord {
    #[prost(message, optional, tag = "1")]
    pub resource_ari: Option<Ari>,
    #[prost(int32, tag = "2")]
    pub entity_type: i32,
    #[prost(message, optional, tag = "3")]
    pub workspace_id: Option<Ari>,
    #[prost(int64, tag = "4")]
    pub version: i64,
    #[prost(int64, tag = "5")]
    pub generation_watermark: i64,
    #[prost(bool, tag = "6")]
    pub is_tombstone: bool,
    #[prost(oneof = "Payload", tags = "7, 8")]
    pub payload: Option<Payload>,
}

/// `google.protobuf.Any` (the same wire format as `prost_types::Any`), whose
/// value shares the buffer it was decoded from instead of being copied out of it.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Any {
    #[prost(string, tag = "1")]
    pub type_url: String,
    #[prost(bytes = "bytes", tag = "2")]
    pub value: Bytes,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum Payload {
    /// The entity message, packed with its type URL.
    #[prost(message, tag = "7")]
    Entity(Any),
    /// Where the packed entity is stored when it is too large for the bus.
    #[prost(message, tag = "8")]
    OffloadPointer(OffloadPointer),
}

/// Why a record cannot be staged. It goes to the dead-letter table with its raw
/// bytes and source position; the stream keeps flowing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DeadLetter {
    #[error("the record is {size} bytes, over the {limit}-byte limit")]
    Oversized { size: usize, limit: usize },
    #[error("the envelope does not decode: {0}")]
    Undecodable(String),
    #[error("the envelope has no {0}")]
    MissingIdentity(&'static str),
    #[error("no entity has the type URL `{0}`")]
    UnknownTypeUrl(String),
    #[error("no entity has entity_type {0}")]
    UnknownEntityType(i32),
    #[error("entity_type {entity_type} disagrees with the payload's type `{type_url}` (entity_type {expected})")]
    TypeMismatch { entity_type: i32, type_url: String, expected: i32 },
    #[error("a live record without payload")]
    MissingPayload,
    #[error("the payload does not decode as `{entity}`: {reason}")]
    PayloadMismatch { entity: &'static str, reason: String },
    #[error("the offloaded payload at `{uri}` cannot be used: {reason}")]
    Offload { uri: String, reason: String },
    #[error("the frame is unreadable: {0}")]
    Corrupt(String),
    /// A workspace id the staging tables cannot be partitioned by.
    #[error(
        "workspace_id of {bytes} bytes: its partition folder name would be {folder} bytes, over the {max} \
         file systems take"
    )]
    UnusableWorkspace { bytes: usize, folder: usize, max: usize },
}

impl DeadLetter {
    /// A stable short name of the reason, for the dead-letter table's `reason_code`.
    pub fn code(&self) -> &'static str {
        match self {
            DeadLetter::Oversized { .. } => "oversized",
            DeadLetter::Undecodable(_) => "undecodable",
            DeadLetter::MissingIdentity(_) => "missing_identity",
            DeadLetter::UnknownTypeUrl(_) => "unknown_type_url",
            DeadLetter::UnknownEntityType(_) => "unknown_entity_type",
            DeadLetter::TypeMismatch { .. } => "type_mismatch",
            DeadLetter::MissingPayload => "missing_payload",
            DeadLetter::PayloadMismatch { .. } => "payload_mismatch",
            DeadLetter::Offload { .. } => "offload",
            DeadLetter::Corrupt(_) => "corrupt_frame",
            DeadLetter::UnusableWorkspace { .. } => "unusable_workspace_id",
        }
    }
}

/// A decoded record: its entity, envelope values, and where the entity bytes
/// are; strings and bytes are slices of the record.
#[derive(Clone, Debug)]
pub struct Decoded<'a> {
    pub entity: &'static EntityInfo,
    pub resource_ari: &'a str,
    pub workspace_id: &'a str,
    pub version: i64,
    pub generation: i64,
    pub is_tombstone: bool,
    pub body: Body<'a>,
}

impl<'a> Decoded<'a> {
    /// The row values of this record, staged at `row_refreshed_at_micros` from `shard_id`.
    pub fn row_meta(&self, row_refreshed_at_micros: i64, shard_id: &'a str) -> RowMeta<'a> {
        RowMeta {
            resource_ari: self.resource_ari,
            version: self.version,
            is_tombstone: self.is_tombstone,
            workspace_id: self.workspace_id,
            generation: self.generation,
            row_refreshed_at_micros,
            shard_id,
        }
    }
}

/// Where a record's entity message is.
#[derive(Clone, Debug, PartialEq)]
pub enum Body<'a> {
    /// Inline: the encoded entity message (`Any.value`, a slice of the record).
    Inline(&'a [u8]),
    /// Stored elsewhere: fetch it, check size and SHA-256, then unpack the `Any`.
    Offloaded(OffloadPointer),
    /// A tombstone without payload.
    None,
}

/// What a rejected record says about itself, for its dead-letter row: the
/// envelope's `entity_type` (0, protobuf's unset, is none) and `resource_ari`
/// (empty is none), when the envelope reads at all. Not for records over the
/// size limit, which are never decoded.
pub fn identity(bytes: &[u8]) -> (Option<i32>, Option<&str>) {
    match crate::wire::decode::<RecordView<'_>>(bytes) {
        Ok(r) => {
            let ari = r.resource_ari.value.as_str();
            ((r.entity_type != 0).then_some(r.entity_type), (!ari.is_empty()).then_some(ari))
        }
        Err(_) => (None, None),
    }
}

/// Decodes one raw record against `registry`. Records over `max_bytes` are
/// rejected before decoding.
pub fn decode<'a>(bytes: &'a [u8], registry: &Registry, max_bytes: usize) -> Result<Decoded<'a>, DeadLetter> {
    if bytes.len() > max_bytes {
        return Err(DeadLetter::Oversized { size: bytes.len(), limit: max_bytes });
    }
    let r: RecordView<'a> = crate::wire::decode(bytes).map_err(|e| DeadLetter::Undecodable(e.to_string()))?;
    let identity =
        |value: &'a str, field| if value.is_empty() { Err(DeadLetter::MissingIdentity(field)) } else { Ok(value) };
    let resource_ari = identity(r.resource_ari.value.as_str(), "resource_ari")?;
    let workspace_id = identity(r.workspace_id.value.as_str(), "workspace_id")?;
    let by_type = || registry.by_entity_type(r.entity_type).ok_or(DeadLetter::UnknownEntityType(r.entity_type));
    let (entity, body) = match r.payload {
        Some(PayloadView::Entity(any)) => {
            let entity = registry
                .by_type_url(&any.type_url)
                .ok_or_else(|| DeadLetter::UnknownTypeUrl(any.type_url.to_string()))?;
            if entity.entity_type != r.entity_type {
                return Err(DeadLetter::TypeMismatch {
                    entity_type: r.entity_type,
                    type_url: any.type_url.to_string(),
                    expected: entity.entity_type,
                });
            }
            (entity, Body::Inline(any.value))
        }
        Some(PayloadView::OffloadPointer(p)) => {
            let pointer =
                OffloadPointer { uri: p.uri.to_string(), size_bytes: p.size_bytes, sha256: p.sha256.to_string() };
            (by_type()?, Body::Offloaded(pointer))
        }
        None if r.is_tombstone => (by_type()?, Body::None),
        None => return Err(DeadLetter::MissingPayload),
    };
    // The staging table's partition folder of a workspace id too long for a
    // file name cannot be made: the batch would fail on every run, and the
    // stream stop for good.
    let column = "workspace_id";
    if entity.staging_partition_by.contains(&column)
        && !crate::lake::folders::partition_folder_fits(column, workspace_id)
    {
        return Err(DeadLetter::UnusableWorkspace {
            bytes: workspace_id.len(),
            folder: crate::lake::folders::partition_folder_len(column, workspace_id),
            max: crate::lake::folders::MAX_FOLDER_NAME_BYTES,
        });
    }
    Ok(Decoded {
        entity,
        resource_ari,
        workspace_id,
        version: r.version,
        generation: r.generation_watermark,
        is_tombstone: r.is_tombstone,
        body,
    })
}
