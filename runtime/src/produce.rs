//! A synthetic replication stream for tests, benchmarks and the demo: for every
//! entity of a product, keys that are created, updated and deleted, delivered
//! out of order and with duplicates, some payloads offloaded, and a few bad
//! records of every dead-letter kind. Seeded: the same options give the same
//! bytes.
//!
//! Entity messages are filled through the product's descriptor set
//! (prost-reflect), so any schema works; this is a test tool, not the hot path.
//! [`Synthetic::expected`] is the truth the producer built — the last event of
//! every key — that ingestion must converge to, in any delivery order.

use std::collections::BTreeMap;
use std::path::Path;

use prost::Message as _;
use prost_reflect::{DescriptorPool, DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, Value};
use rand::seq::IndexedRandom as _;
use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;
use sha2::Digest as _;

use crate::envelope::{Any, Ari, FacsimileRecord, OffloadPointer, Payload};
use crate::mapping::{EntityInfo, Registry};
use crate::source::write_delimited;

#[derive(Clone, Debug)]
pub struct ProduceOptions {
    pub seed: u64,
    /// Row identities per entity.
    pub keys_per_entity: usize,
    /// Versions per key: 1 to this many (before a possible tombstone).
    pub max_versions: u32,
    pub workspaces: usize,
    pub segments: usize,
    /// Of all events: how many are delivered twice, how many offloaded.
    pub duplicate_ratio: f64,
    pub offload_ratio: f64,
    /// Of all keys: how many end deleted, and how many of those come back in a
    /// new generation.
    pub tombstone_ratio: f64,
    pub resurrect_ratio: f64,
    /// How far (in records) an event may be delivered before an earlier one.
    pub reorder_window: usize,
    /// Add one bad record of every kind (and a torn tail on the first segment).
    pub bad_records: bool,
}

impl Default for ProduceOptions {
    fn default() -> Self {
        ProduceOptions {
            seed: 42,
            keys_per_entity: 200,
            max_versions: 4,
            workspaces: 8,
            segments: 4,
            duplicate_ratio: 0.05,
            offload_ratio: 0.02,
            tombstone_ratio: 0.1,
            resurrect_ratio: 0.2,
            reorder_window: 64,
            bad_records: true,
        }
    }
}

/// The final state of one row identity.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Expected {
    pub workspace_id: String,
    pub generation: i64,
    pub version: i64,
    pub is_tombstone: bool,
}

/// A stream before it is framed into segments.
#[derive(Clone, Debug, Default)]
pub struct Synthetic {
    /// Encoded `FacsimileRecord`s in delivery order (duplicates included).
    pub records: Vec<Vec<u8>>,
    /// Offloaded payloads: relative path → bytes (an encoded `Any`).
    pub offloads: BTreeMap<String, Vec<u8>>,
    /// Per `(staging table, resource_ari)`, what LWW must end with.
    pub expected: BTreeMap<(String, String), Expected>,
    /// Bad records by dead-letter reason code (`DeadLetter::code`).
    pub bad: BTreeMap<&'static str, usize>,
    /// Bytes that end the first segment without forming a whole frame: its
    /// writer died inside a record, and the next segment is its successor's
    /// (see [`write`]).
    pub torn_tail: Vec<u8>,
}

#[derive(Clone)]
struct Event {
    /// When the change happened (arbitrary units): the delivery order before reordering.
    time: u64,
    entity: &'static EntityInfo,
    key: String,
    workspace: String,
    generation: i64,
    version: i64,
    is_tombstone: bool,
}

/// Builds the stream of `registry`'s product.
pub fn synthesize(registry: &Registry, options: &ProduceOptions) -> Synthetic {
    let pool = DescriptorPool::decode(registry.descriptor_set).expect("the generated descriptor set decodes");
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let mut out = Synthetic::default();
    let mut events = Vec::new();
    for entity in registry.entities {
        for k in 0..options.keys_per_entity {
            let site = format!("ws-{}", rng.random_range(0..options.workspaces.max(1)));
            let key = format!("ari:cloud:{}:{site}:{}/{k}", registry.product, entity.name.to_lowercase());
            // A workspace id is an ARI, as in production: its `:` and `/` are
            // escaped in the partition folders' names (`workspace_id=ari%3Acloud…`),
            // so every test and the demo go through that escaping.
            let workspace = format!("ari:cloud:platform::workspace/{site}");
            // The key's history: versions 1..n, maybe a tombstone, maybe a new generation.
            let versions = rng.random_range(1..=options.max_versions.max(1)) as i64;
            let mut history: Vec<(i64, i64, bool)> = (1..=versions).map(|v| (1, v, false)).collect();
            if rng.random_bool(options.tombstone_ratio) {
                history.push((1, versions + 1, true));
                if rng.random_bool(options.resurrect_ratio) {
                    history.push((2, 1, false));
                }
            }
            let last = *history.last().expect("at least one version");
            // A key lives at a random moment of the stream, its events spaced apart,
            // so that entities and keys interleave as in a real replication log.
            let mut time: u64 = rng.random_range(0..1_000_000);
            for (generation, version, is_tombstone) in history {
                time += rng.random_range(1..20_000);
                events.push(Event {
                    time,
                    entity,
                    key: key.clone(),
                    workspace: workspace.clone(),
                    generation,
                    version,
                    is_tombstone,
                });
            }
            let expected =
                Expected { workspace_id: workspace, generation: last.0, version: last.1, is_tombstone: last.2 };
            out.expected.insert((entity.staging_table.to_string(), key), expected);
        }
    }
    events.sort_by_key(|e| e.time);
    // Out of order: each event moves ahead by up to `reorder_window` places.
    let mut order: Vec<(usize, usize)> =
        (0..events.len()).map(|i| (i + rng.random_range(0..=options.reorder_window), i)).collect();
    order.sort_unstable();
    for (_, i) in order {
        let e = &events[i];
        let record = encode_event(&pool, e, &mut rng, options, &mut out.offloads);
        if rng.random_bool(options.duplicate_ratio) {
            out.records.push(record.clone());
        }
        out.records.push(record);
    }
    if options.bad_records {
        let bad = bad_records(registry, &pool, &mut rng, &mut out.offloads);
        for (code, record) in bad {
            let at = rng.random_range(0..=out.records.len());
            out.records.insert(at, record);
            *out.bad.entry(code).or_default() += 1;
        }
        out.torn_tail = vec![0x20, 1, 2, 3]; // says 32 bytes, has 3
        *out.bad.entry("corrupt_frame").or_default() += 1;
    }
    out
}

/// `n` live records of one entity, each a distinct key at version 1 across
/// `workspaces` workspaces, inline payloads only: the input of the benchmark.
pub fn synthesize_entity(
    registry: &Registry,
    entity: &'static EntityInfo,
    n: usize,
    workspaces: usize,
) -> Vec<Vec<u8>> {
    let pool = DescriptorPool::decode(registry.descriptor_set).expect("the generated descriptor set decodes");
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let options = ProduceOptions { offload_ratio: 0.0, ..ProduceOptions::default() };
    let mut offloads = BTreeMap::new();
    (0..n)
        .map(|k| {
            let workspace = format!("ws-{}", k % workspaces.max(1));
            let key = format!("ari:cloud:{}:{workspace}:{}/{k}", registry.product, entity.name.to_lowercase());
            let e = Event { time: 0, entity, key, workspace, generation: 1, version: 1, is_tombstone: false };
            encode_event(&pool, &e, &mut rng, &options, &mut offloads)
        })
        .collect()
}

/// Frames `synthetic` into `options.segments` segment files under `dir`
/// (`segment-00000.pb`, …) and writes the offloaded payloads beside them.
/// A torn tail ends the first segment, and a segment follows it (an empty
/// one if `segments` is 1): a torn tail of the last segment is not read, its
/// writer may still be writing it (see `source::SegmentDir`'s `poll`).
///
/// A stream is append-only: a lake that ingested it holds positions in its
/// segments. So `dir` may already hold these very segments (the same seed and
/// options: nothing is written again), but not other ones: that is an error
/// of kind `AlreadyExists`, before anything is written.
pub fn write(dir: &Path, synthetic: &Synthetic, segments: usize) -> std::io::Result<Vec<String>> {
    let per = synthetic.records.len().div_ceil(segments.max(1)).max(1);
    let mut chunks: Vec<&[Vec<u8>]> = synthetic.records.chunks(per).collect();
    while !synthetic.torn_tail.is_empty() && chunks.len() < 2 {
        chunks.push(&[]);
    }
    let names: Vec<String> = (0..chunks.len()).map(|i| format!("segment-{i:05}.pb")).collect();
    let segment = |i: usize| {
        let mut data = Vec::new();
        for r in chunks[i] {
            write_delimited(&mut data, r);
        }
        if i == 0 {
            data.extend_from_slice(&synthetic.torn_tail);
        }
        data
    };
    let existing = if dir.exists() { crate::source::SegmentDir::segment_names(dir)? } else { Vec::new() };
    let other = |what: String| {
        std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            format!(
                "{what}: a stream is append-only (a lake that ingested it would misread it); produce into a new directory"
            ),
        )
    };
    if let Some(extra) = existing.iter().find(|e| !names.contains(e)) {
        return Err(other(format!("`{}` holds the segment `{extra}` of another stream", dir.display())));
    }
    for (i, name) in names.iter().enumerate() {
        if existing.contains(name) && std::fs::read(dir.join(name))? != segment(i) {
            return Err(other(format!("`{}` holds other records", dir.join(name).display())));
        }
    }
    std::fs::create_dir_all(dir)?;
    for (path, bytes) in &synthetic.offloads {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().expect("offloads live in a folder"))?;
        std::fs::write(path, bytes)?;
    }
    for (i, name) in names.iter().enumerate() {
        if !existing.contains(name) {
            write_atomically(&dir.join(name), &segment(i))?;
        }
    }
    Ok(names)
}

/// A segment appears whole or not at all (a reader following the directory
/// never sees a half-written file that is not the last).
fn write_atomically(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_file_name(format!(".{}.tmp", path.file_name().expect("a file").to_string_lossy()));
    std::fs::write(&tmp, data)?;
    std::fs::rename(tmp, path)
}

fn envelope(e: &Event, payload: Option<Payload>) -> FacsimileRecord {
    FacsimileRecord {
        resource_ari: Some(Ari { value: e.key.clone() }),
        entity_type: e.entity.entity_type,
        workspace_id: Some(Ari { value: e.workspace.clone() }),
        version: e.version,
        generation_watermark: e.generation,
        is_tombstone: e.is_tombstone,
        payload,
    }
}

fn encode_event(
    pool: &DescriptorPool,
    e: &Event,
    rng: &mut ChaCha8Rng,
    options: &ProduceOptions,
    offloads: &mut BTreeMap<String, Vec<u8>>,
) -> Vec<u8> {
    // Half the tombstones carry the last state, half nothing.
    if e.is_tombstone && rng.random_bool(0.5) {
        return envelope(e, None).encode_to_vec();
    }
    let desc = message_of(pool, e.entity);
    let mut m = DynamicMessage::new(desc.clone());
    fill(&mut m, &desc, rng, e, 0);
    let any = Any { type_url: e.entity.type_url.to_string(), value: m.encode_to_vec().into() };
    let payload = if rng.random_bool(options.offload_ratio) {
        Payload::OffloadPointer(offload(any.encode_to_vec(), offloads))
    } else {
        Payload::Entity(any)
    };
    envelope(e, Some(payload)).encode_to_vec()
}

fn offload(bytes: Vec<u8>, offloads: &mut BTreeMap<String, Vec<u8>>) -> OffloadPointer {
    let sha256 = crate::ingest::offload::hex(&sha2::Sha256::digest(&bytes));
    let uri = format!("offload/{sha256}.any");
    let pointer = OffloadPointer { uri: uri.clone(), size_bytes: bytes.len() as i64, sha256 };
    offloads.insert(uri, bytes);
    pointer
}

fn message_of(pool: &DescriptorPool, entity: &EntityInfo) -> MessageDescriptor {
    let name = entity.type_url.rsplit('/').next().expect("a type URL has a slash");
    pool.get_message_by_name(name).unwrap_or_else(|| panic!("`{name}` is in the descriptor set"))
}

fn fill(m: &mut DynamicMessage, desc: &MessageDescriptor, rng: &mut ChaCha8Rng, e: &Event, depth: usize) {
    for field in desc.fields() {
        let optional = field.supports_presence() && field.containing_oneof().is_none();
        if optional && rng.random_bool(0.2) {
            continue;
        }
        if field.is_list() {
            let n = rng.random_range(0..=3);
            let values = (0..n).map(|i| value(&field, rng, e, depth, i)).collect();
            m.set_field(&field, Value::List(values));
        } else if !field.is_map() {
            let v = value(&field, rng, e, depth, 0);
            m.set_field(&field, v);
        }
    }
}

fn value(field: &FieldDescriptor, rng: &mut ChaCha8Rng, e: &Event, depth: usize, i: usize) -> Value {
    let name = field.name();
    match field.kind() {
        Kind::String if name.ends_with("date") => {
            Value::String(format!("2025-{:02}-{:02}", rng.random_range(1..=12), rng.random_range(1..=28)))
        }
        Kind::String if name.ends_with("adf") || name.contains("json") => {
            Value::String(format!(r#"{{"type":"doc","version":{}}}"#, e.version))
        }
        Kind::String => Value::String(format!("{name} {} v{} #{i}", e.key.rsplit('/').next().unwrap_or(""), e.version)),
        Kind::Bool => Value::Bool(rng.random_bool(0.5)),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => Value::I32(rng.random_range(0..10_000)),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => Value::I64(rng.random_range(0..10_000_000)),
        Kind::Uint32 | Kind::Fixed32 => Value::U32(rng.random_range(0..10_000)),
        Kind::Uint64 | Kind::Fixed64 => Value::U64(rng.random_range(0..10_000_000)),
        Kind::Double => Value::F64((rng.random_range(0..1_000_000) as f64) / 100.0),
        Kind::Float => Value::F32((rng.random_range(0..10_000) as f32) / 100.0),
        Kind::Bytes => Value::Bytes(vec![rng.random(); 8].into()),
        Kind::Enum(en) => {
            let values: Vec<i32> = en.values().map(|v| v.number()).filter(|&n| n != 0).collect();
            Value::EnumNumber(values.choose(rng).copied().unwrap_or(0))
        }
        Kind::Message(desc) => {
            let mut m = DynamicMessage::new(desc.clone());
            match desc.full_name() {
                "manifold.v1.ARI" => {
                    let ari = if name == "id" { e.key.clone() } else { format!("ari:cloud:identity::{name}/{i}") };
                    m.set_field_by_name("value", Value::String(ari));
                }
                "google.protobuf.Timestamp" => {
                    m.set_field_by_name("seconds", Value::I64(1_700_000_000 + rng.random_range(0..50_000_000)));
                    m.set_field_by_name("nanos", Value::I32(rng.random_range(0..1_000) * 1_000));
                }
                _ if depth < 3 => fill(&mut m, &desc, rng, e, depth + 1),
                _ => {}
            }
            Value::Message(m)
        }
    }
}

/// One record of every dead-letter kind that a record's bytes can cause.
fn bad_records(
    registry: &Registry,
    pool: &DescriptorPool,
    rng: &mut ChaCha8Rng,
    offloads: &mut BTreeMap<String, Vec<u8>>,
) -> Vec<(&'static str, Vec<u8>)> {
    let entity = &registry.entities[0];
    let e = Event {
        time: 0,
        entity,
        key: format!("ari:cloud:{}:ws-bad:{}/bad", registry.product, entity.name.to_lowercase()),
        workspace: "ws-bad".into(),
        generation: 1,
        version: 1,
        is_tombstone: false,
    };
    let desc = message_of(pool, entity);
    let mut m = DynamicMessage::new(desc.clone());
    fill(&mut m, &desc, rng, &e, 0);
    let any = Any { type_url: entity.type_url.to_string(), value: m.encode_to_vec().into() };
    let with = |payload| envelope(&e, Some(payload)).encode_to_vec();
    let mut unknown = any.clone();
    unknown.type_url = format!("type.googleapis.com/manifold.{}.v1.NoSuchEntity", registry.product);
    let mut mismatch = envelope(&e, Some(Payload::Entity(any.clone())));
    mismatch.entity_type = registry.entities.iter().map(|e| e.entity_type).max().unwrap_or(0) + 1000;
    let mut garbage = any.clone();
    garbage.value = vec![0x0f, 0xff].into(); // field 1 with wire type 7: not protobuf
    let mut no_identity = envelope(&e, Some(Payload::Entity(any.clone())));
    no_identity.resource_ari = None;
    let mut wrong_sum = offload(any.encode_to_vec(), offloads);
    wrong_sum.sha256 = "0".repeat(64);
    let missing = OffloadPointer { uri: "offload/missing.any".into(), size_bytes: 10, sha256: "0".repeat(64) };
    // A workspace id whose partition folder name no file system takes.
    let long_workspace =
        Event { workspace: format!("ari:cloud:{}:{}", registry.product, "w".repeat(300)), ..e.clone() };
    vec![
        ("undecodable", vec![0x0f, 0x01, 0x02]),
        ("unknown_type_url", with(Payload::Entity(unknown))),
        ("type_mismatch", mismatch.encode_to_vec()),
        ("unknown_entity_type", {
            let mut r = envelope(&e, Some(Payload::OffloadPointer(offload(any.encode_to_vec(), offloads))));
            r.entity_type = mismatch.entity_type;
            r.encode_to_vec()
        }),
        ("payload_mismatch", with(Payload::Entity(garbage))),
        ("missing_identity", no_identity.encode_to_vec()),
        ("missing_payload", envelope(&e, None).encode_to_vec()),
        ("unusable_workspace_id", envelope(&long_workspace, Some(Payload::Entity(any.clone()))).encode_to_vec()),
        ("offload", with(Payload::OffloadPointer(wrong_sum))),
        ("offload", with(Payload::OffloadPointer(missing))),
    ]
}

#[cfg(test)]
mod tests {
    use super::{Synthetic, write};

    fn stream(records: &[&[u8]], torn: bool) -> Synthetic {
        let torn_tail = if torn { vec![0x20, 1] } else { Vec::new() };
        Synthetic { records: records.iter().map(|r| r.to_vec()).collect(), torn_tail, ..Synthetic::default() }
    }

    #[test]
    fn a_stream_is_written_again_only_as_itself() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("stream");
        let first = stream(&[b"a", b"b", b"c"], true);
        assert_eq!(write(&out, &first, 2).unwrap(), ["segment-00000.pb", "segment-00001.pb"]);
        let written = std::fs::read(out.join("segment-00000.pb")).unwrap();
        assert_eq!(written, [1, b'a', 1, b'b', 0x20, 1], "the torn tail ends the first segment");
        // The same stream again: nothing changes.
        assert_eq!(write(&out, &first, 2).unwrap().len(), 2);
        // Other records under the same names, or segments of another stream
        // beside it: refused before anything is written.
        for (other, segments) in [(stream(&[b"a", b"x", b"c"], true), 2), (stream(&[b"a", b"b"], true), 1)] {
            let e = write(&out, &other, segments).unwrap_err();
            assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists, "{e}");
            assert!(e.to_string().contains("append-only"), "{e}");
        }
        let e = write(&out, &stream(&[b"a", b"b", b"c", b"d", b"e", b"f"], false), 2).unwrap_err();
        assert!(e.to_string().contains("holds other records"), "{e}");
        std::fs::write(out.join("segment-00007.pb"), b"").unwrap();
        let e = write(&out, &first, 2).unwrap_err();
        assert!(e.to_string().contains("the segment `segment-00007.pb` of another stream"), "{e}");
        assert_eq!(std::fs::read(out.join("segment-00000.pb")).unwrap(), written);
        // A single segment with a torn tail gets an empty successor.
        let single = dir.path().join("single");
        assert_eq!(write(&single, &stream(&[b"a"], true), 1).unwrap().len(), 2);
        assert_eq!(std::fs::read(single.join("segment-00001.pb")).unwrap(), b"");
    }
}
