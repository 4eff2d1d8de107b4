//! Step 1 for one micro-batch: frames of one segment → per entity the rows of
//! its staging table (last-writer-wins within the batch, grouped by
//! workspace), and the dead letters.

use std::path::Path;

use bytes::Bytes;
// Two lookups per record (entity, workspace): SipHash was ~1% of step 1.
use foldhash::{HashMap, HashMapExt as _, HashSet, HashSetExt as _};

use arrow_array::RecordBatch;

use super::dead_letters::Letter;
use super::offload::{self, FetchError};
use crate::envelope::{self, Body, DeadLetter, Decoded};
use crate::lww::{self, Candidate};
use crate::mapping::{EntityInfo, Explode, Registry, StagingTable};
use crate::source::Frame;
use crate::wire::WireError;

/// What a micro-batch stages.
pub struct Staged {
    /// Per entity with rows, in registry order: the LWW winners of the batch,
    /// in Arrow batches of at most `payload_bytes_per_chunk` payload bytes.
    pub tables: Vec<(&'static EntityInfo, Vec<RecordBatch>)>,
    pub letters: Vec<Letter>,
    /// Frames staged (good and bad): the first `records` of those given. Fewer
    /// than all when offloaded payloads filled the batch (see
    /// [`Context::offloaded_bytes_per_batch`]); the rest make the next batch.
    pub records: usize,
    /// Rows that lost to a newer record of the same key in this batch.
    pub superseded: usize,
    /// Records not staged because their table already holds them (an
    /// earlier run committed them before it was interrupted).
    pub already_committed: usize,
}

/// Payload bytes per Arrow batch of a staging table by default (see `stage`).
pub const PAYLOAD_BYTES_PER_CHUNK: usize = 512 * 1024 * 1024;

/// The inputs that stay the same across batches.
pub struct Context<'a> {
    pub registry: &'a Registry,
    pub max_record_bytes: usize,
    /// See `PAYLOAD_BYTES_PER_CHUNK` (the default).
    pub payload_bytes_per_chunk: usize,
    /// Where relative offload URIs start.
    pub base: &'a Path,
    /// Microseconds since the epoch: the batch's `row_refreshed_at`.
    pub now_micros: i64,
    /// Where offloaded payloads are read.
    pub stores: &'a offload::Stores,
    /// Offloaded payload bytes one batch fetches, as their pointers state them.
    /// A batch's payloads are in memory until it is written, and a pointer is
    /// a few hundred bytes on the bus for up to `max_record_bytes` fetched: a
    /// batch of 50,000 pointers to 16 MB objects would hold 800 GB. The batch
    /// ends before the offloaded record that would go over (its first one is
    /// always taken, so every batch makes progress).
    pub offloaded_bytes_per_batch: usize,
}

/// An offloaded payload the store failed to give (not the record's fault):
/// the batch stops before any commit, and a rerun reads the record again.
#[derive(Debug, thiserror::Error)]
#[error(
    "the offloaded payload of the record at {segment}:{offset} could not be read from `{uri}`: {reason}. \
     Nothing of its batch was committed; a rerun retries it"
)]
pub struct StoreUnavailable {
    pub segment: String,
    pub offset: u64,
    pub uri: String,
    pub reason: String,
}

struct Good<'f> {
    decoded: Decoded<'f>,
    payload: Option<Payload<'f>>,
    raw: &'f [u8],
    offset: u64,
}

/// Stages `frames` (all of one segment). `committed(table, offset)` says whether a
/// table already holds the record at `offset` (from an earlier run's commit):
/// such records are not staged for that table again.
pub async fn stage(
    cx: &Context<'_>,
    segment: &str,
    frames: &[Frame],
    committed: impl Fn(&str, u64) -> bool,
) -> Result<Staged, StoreUnavailable> {
    let mut letters = Vec::new();
    // The good records in source order, and per entity where its are: one
    // buffer of the batch's size, where a buffer per entity grew by copying
    // (reallocations were ~1.5% of step 1).
    let mut goods: Vec<Good<'_>> = Vec::with_capacity(frames.len());
    let mut by_entity: HashMap<&'static str, Vec<usize>> = HashMap::new();
    let mut offloaded = Offloaded { bytes: 0, limit: cx.offloaded_bytes_per_batch as u64 };
    let mut records = frames.len();
    for (i, frame) in frames.iter().enumerate() {
        let offset = frame.position().offset;
        let unavailable = |(uri, reason)| StoreUnavailable { segment: segment.to_string(), offset, uri, reason };
        let (raw, result) = match frame {
            // A record over the size limit is a dead letter that keeps only
            // the limit's worth of its bytes (its reason says how many it has).
            Frame::Record { bytes, .. } => {
                let Some(decoded) = decode(cx, bytes, &mut offloaded).await.map_err(unavailable)? else {
                    records = i;
                    break;
                };
                (&bytes[..bytes.len().min(cx.max_record_bytes)], decoded)
            }
            Frame::Corrupt { head, len, reason, .. } => {
                // The rest of the segment, which can be far larger than any
                // record: its head is kept (a row of the dead-letter table must
                // stay readable); the segment itself still holds all of it.
                let kept = head.len().min(cx.max_record_bytes);
                if (kept as u64) < *len {
                    let reason = format!("{reason} (the first {kept} of its {len} bytes kept)");
                    (&head[..kept], Err((DeadLetter::Corrupt(reason), Identity::default())))
                } else {
                    (&head[..], Err((DeadLetter::Corrupt(reason.clone()), Identity::default())))
                }
            }
        };
        match result {
            Ok((decoded, payload)) => {
                by_entity.entry(decoded.entity.name).or_default().push(goods.len());
                goods.push(Good { decoded, payload, raw, offset });
            }
            Err((reason, known)) => letters.push(Letter {
                segment: segment.to_string(),
                offset,
                reason,
                entity_type: known.entity_type,
                resource_ari: known.resource_ari.map(str::to_string),
                raw: raw.to_vec(),
            }),
        }
    }
    let mut tables = Vec::new();
    let (mut superseded, mut already_committed) = (0, 0);
    for entity in cx.registry.entities {
        let Some(members) = by_entity.remove(entity.name) else { continue };
        // Records an interrupted run already committed take no part in LWW and
        // are not staged again, but are still checked: their dead letters were
        // not committed with them.
        let (fresh, earlier): (Vec<&Good<'_>>, Vec<&Good<'_>>) =
            members.iter().map(|&i| &goods[i]).partition(|g| !committed(entity.staging_table, g.offset));
        let mut rows = Rows::new(cx, entity, segment);
        let valid_fresh = rows.winners(&fresh, &mut letters);
        already_committed += earlier.iter().filter(|g| rows.checked(g, &mut letters)).count();
        superseded += valid_fresh - rows.len();
        if rows.len() > 0 {
            tables.push((entity, rows.finish()));
        }
    }
    letters.sort_by_key(|l| l.offset);
    Ok(Staged { tables, letters, records, superseded, already_committed })
}

impl<'f> Good<'f> {
    fn candidate(&self) -> Candidate<'_> {
        Candidate {
            key: self.decoded.resource_ari.as_bytes(),
            generation: self.decoded.generation,
            version: self.decoded.version,
            is_tombstone: self.decoded.is_tombstone,
            bytes: self.raw,
        }
    }
}

/// One entity's staged rows: Arrow batches (chunks) of at most
/// [`Context::payload_bytes_per_chunk`] payload bytes. A column of one Arrow
/// batch holds at most 2 GiB of text (32-bit offsets), and a burst of large
/// records — offloaded ones are up to the record limit each — would otherwise
/// fail the batch on every run.
struct Rows<'c> {
    entity: &'static EntityInfo,
    segment: &'c str,
    now_micros: i64,
    limit: usize,
    chunks: Vec<RecordBatch>,
    staging: Box<dyn StagingTable>,
    /// Payload bytes of the chunk being built.
    bytes: usize,
    rows: usize,
}

impl<'c> Rows<'c> {
    fn new(cx: &Context<'_>, entity: &'static EntityInfo, segment: &'c str) -> Self {
        Rows {
            entity,
            segment,
            now_micros: cx.now_micros,
            limit: cx.payload_bytes_per_chunk,
            chunks: Vec::new(),
            staging: (entity.new_staging)(Explode::No),
            bytes: 0,
            rows: 0,
        }
    }

    /// Appends the last-writer-wins winners of `fresh` (see `lww`), and makes
    /// dead letters of the records whose message does not decode; returns how
    /// many of `fresh` decode.
    ///
    /// LWW comes first and only the winners are appended: in an update-heavy
    /// stream most records lose to a newer one of their key in the same batch,
    /// and appending them only to filter them out again copied every column
    /// twice. The losers are only checked. A record whose message does not
    /// decode is a dead letter whether it wins or loses, and never wins: where
    /// a winner turns out not to decode, the best decodable record of its key
    /// takes its place.
    fn winners(&mut self, fresh: &[&Good<'_>], letters: &mut Vec<Letter>) -> usize {
        let winners = lww::winners(&fresh.iter().map(|g| g.candidate()).collect::<Vec<_>>());
        let order: Vec<&Good<'_>> = by_workspace(winners.iter().map(|&w| fresh[w])).collect();
        let mut undecodable: HashSet<&[u8]> = HashSet::new();
        for (g, e) in self.append(&order) {
            undecodable.insert(g.decoded.resource_ari.as_bytes());
            letters.push(self.mismatch(g, &e));
        }
        let mut valid = self.rows;
        let mut won = vec![false; fresh.len()];
        for &w in &winners {
            won[w] = true;
        }
        let mut runners_up = Vec::new();
        for (&g, _) in fresh.iter().zip(won).filter(|(_, won)| !won) {
            if self.checked(g, letters) {
                valid += 1;
                if undecodable.contains(g.decoded.resource_ari.as_bytes()) {
                    runners_up.push(g);
                }
            }
        }
        if !runners_up.is_empty() {
            let winners = lww::winners(&runners_up.iter().map(|g| g.candidate()).collect::<Vec<_>>());
            let order: Vec<&Good<'_>> = by_workspace(winners.iter().map(|&w| runners_up[w])).collect();
            // A chunk of their own, so that every chunk stays grouped by workspace.
            self.cut();
            for (g, e) in self.append(&order) {
                letters.push(self.mismatch(g, &e)); // checked above: not reached
            }
        }
        valid
    }

    /// Appends the records of `order`; returns those whose message does not
    /// decode (nothing of them is appended).
    fn append<'g, 'f>(&mut self, order: &[&'g Good<'f>]) -> Vec<(&'g Good<'f>, WireError)> {
        let mut failed = Vec::new();
        for (at, g) in order.iter().copied().enumerate() {
            prefetch_ahead(order, at);
            let size = g.payload.as_ref().map_or(0, |p| p.bytes().len());
            if !self.staging.is_empty() && self.bytes + size > self.limit {
                self.cut();
            }
            let meta = g.decoded.row_meta(self.now_micros, self.segment);
            match self.staging.append(&meta, g.payload.as_ref().map(Payload::bytes)) {
                Ok(()) => {
                    self.bytes += size;
                    self.rows += 1;
                }
                Err(e) => failed.push((g, e)),
            }
        }
        failed
    }

    /// Whether `g`'s message decodes, without appending it; if not, its dead
    /// letter goes to `letters`.
    fn checked(&self, g: &Good<'_>, letters: &mut Vec<Letter>) -> bool {
        match g.payload.as_ref().map_or(Ok(()), |p| self.staging.check(p.bytes())) {
            Ok(()) => true,
            Err(e) => {
                letters.push(self.mismatch(g, &e));
                false
            }
        }
    }

    /// The dead letter of a record whose message does not decode as the entity's.
    fn mismatch(&self, g: &Good<'_>, e: &WireError) -> Letter {
        Letter {
            segment: self.segment.to_string(),
            offset: g.offset,
            reason: DeadLetter::PayloadMismatch { entity: self.entity.name, reason: e.to_string() },
            entity_type: Some(self.entity.entity_type),
            resource_ari: Some(g.decoded.resource_ari.to_string()),
            raw: g.raw.to_vec(),
        }
    }

    /// Ends the chunk being built, if it holds rows.
    fn cut(&mut self) {
        if !self.staging.is_empty() {
            let next = (self.entity.new_staging)(Explode::No);
            self.chunks.push(std::mem::replace(&mut self.staging, next).finish());
            self.bytes = 0;
        }
    }

    /// Rows appended, in all chunks.
    fn len(&self) -> usize {
        self.rows
    }

    fn finish(mut self) -> Vec<RecordBatch> {
        self.cut();
        self.chunks
    }
}

/// `goods` grouped by workspace (the staging tables' partition column;
/// workspaces in name order), in source order within each: the writer then
/// takes each partition's rows as a slice instead of copying them apart (see
/// `lake::runs`). Appending in this order reads the goods out of order (see
/// `prefetch_ahead`); appending in source order and gathering the rows by
/// workspace afterwards (`take`, a column at a time) measured no faster.
fn by_workspace<'g, 'f: 'g>(goods: impl Iterator<Item = &'g Good<'f>>) -> impl Iterator<Item = &'g Good<'f>> {
    let mut groups: HashMap<&str, Vec<&Good<'f>>> = HashMap::new();
    for g in goods {
        groups.entry(g.decoded.workspace_id).or_default().push(g);
    }
    let mut groups: Vec<_> = groups.into_iter().collect();
    groups.sort_unstable_by_key(|(workspace, _)| *workspace);
    groups.into_iter().flat_map(|(_, goods)| goods)
}

/// A good or dead record.
type Outcome<'f> = Result<(Decoded<'f>, Option<Payload<'f>>), (DeadLetter, Identity<'f>)>;

/// A dead letter's `entity_type` and `resource_ari`, as far as they are known:
/// an operator tells which producer or entity a burst of them comes from.
#[derive(Default)]
struct Identity<'f> {
    entity_type: Option<i32>,
    resource_ari: Option<&'f str>,
}

/// A record's entity message: a slice of the record, or fetched from where it was offloaded.
enum Payload<'f> {
    Inline(&'f [u8]),
    Fetched(Bytes),
}

impl Payload<'_> {
    fn bytes(&self) -> &[u8] {
        match self {
            Payload::Inline(bytes) => bytes,
            Payload::Fetched(bytes) => bytes,
        }
    }
}

/// The offloaded payload bytes a batch has fetched, and how many it may.
struct Offloaded {
    bytes: u64,
    limit: u64,
}

/// A raw record → decoded envelope and the entity message bytes, or why it is
/// a dead letter; `None` if its offloaded payload belongs to the next batch
/// (see [`Context::offloaded_bytes_per_batch`]); `Err((uri, reason))` if its
/// offloaded payload's store failed.
async fn decode<'f>(
    cx: &Context<'_>,
    bytes: &'f [u8],
    offloaded: &mut Offloaded,
) -> Result<Option<Outcome<'f>>, (String, String)> {
    let mut decoded = match envelope::decode(bytes, cx.registry, cx.max_record_bytes) {
        Ok(decoded) => decoded,
        Err(e @ DeadLetter::Oversized { .. }) => return Ok(Some(Err((e, Identity::default())))),
        Err(e) => {
            let (entity_type, resource_ari) = envelope::identity(bytes);
            return Ok(Some(Err((e, Identity { entity_type, resource_ari }))));
        }
    };
    let payload = match std::mem::replace(&mut decoded.body, Body::None) {
        Body::Inline(bytes) => Some(Payload::Inline(bytes)),
        Body::None => None,
        Body::Offloaded(pointer) => {
            // As the pointer states it: a claim over the record limit is a
            // dead letter without a fetch, and a false one is caught by it.
            let claimed = u64::try_from(pointer.size_bytes).unwrap_or(0);
            let claimed = if claimed > cx.max_record_bytes as u64 { 0 } else { claimed };
            if offloaded.bytes > 0 && offloaded.bytes + claimed > offloaded.limit {
                return Ok(None);
            }
            offloaded.bytes += claimed;
            match offload::fetch(&pointer, decoded.entity, cx.base, cx.stores, cx.max_record_bytes).await {
                Ok(bytes) => Some(Payload::Fetched(bytes)),
                Err(FetchError::Dead(e)) => {
                    let known = Identity {
                        entity_type: Some(decoded.entity.entity_type),
                        resource_ari: Some(decoded.resource_ari),
                    };
                    return Ok(Some(Err((e, known))));
                }
                Err(FetchError::Unavailable { uri, reason }) => return Err((uri, reason)),
            }
        }
    };
    Ok(Some(Ok((decoded, payload))))
}

/// Hints the cache about the goods a few appends ahead: in workspace order
/// they are scattered over the batch, and every append would otherwise wait
/// for its record's bytes. Two stages: the `Good` itself further ahead, then
/// (once it is in cache) the bytes it points to.
fn prefetch_ahead(order: &[&Good<'_>], at: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        const NEAR: usize = 4;
        const FAR: usize = 8;
        let hint = |p: *const u8| {
            // SAFETY: SSE is part of the x86_64 baseline, and a prefetch is
            // only a hint: it never faults, whatever the address.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p.cast()) }
        };
        if let Some(g) = order.get(at + FAR) {
            hint((*g as *const Good<'_>).cast());
        }
        if let Some(g) = order.get(at + NEAR) {
            if let Some(p) = &g.payload {
                hint(p.bytes().as_ptr());
                hint(p.bytes().as_ptr().wrapping_add(64));
            }
            hint(g.decoded.resource_ari.as_ptr());
            hint(g.decoded.workspace_id.as_ptr());
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (order, at);
}
