//! The envelope read straight from the wire (see `crate::wire`): the record's
//! identity, type URL and entity bytes as slices of the record.
//!
//! prost's `FacsimileRecord` allocated three strings per record (the two ARIs
//! and the type URL, which only selects the entity), and the ARIs then lived
//! apart from the record on the heap, where staging read them again. The
//! view keeps prost's semantics, which a property test holds it to: the last
//! value of a scalar wins, a message given twice is merged, a oneof member
//! merges into the same member and replaces another one, unknown fields are
//! skipped, and whatever prost refuses is refused.

use crate::wire::{AriView, Reader, Result, View, WireStr, WireType};

/// `manifold.v1.FacsimileRecord`, borrowed.
#[derive(Debug, Default)]
pub(super) struct RecordView<'a> {
    pub resource_ari: AriView<'a>,
    pub entity_type: i32,
    pub workspace_id: AriView<'a>,
    pub version: i64,
    pub generation_watermark: i64,
    pub is_tombstone: bool,
    pub payload: Option<PayloadView<'a>>,
}

/// The `payload` oneof.
#[derive(Debug)]
pub(super) enum PayloadView<'a> {
    Entity(AnyView<'a>),
    OffloadPointer(PointerView<'a>),
}

/// `google.protobuf.Any`.
#[derive(Debug, Default)]
pub(super) struct AnyView<'a> {
    pub type_url: WireStr<'a>,
    pub value: &'a [u8],
}

/// `manifold.v1.OffloadPointer`.
#[derive(Debug, Default)]
pub(super) struct PointerView<'a> {
    pub uri: WireStr<'a>,
    pub size_bytes: i64,
    pub sha256: WireStr<'a>,
}

impl<'a> View<'a> for RecordView<'a> {
    fn field(&mut self, tag: u32, wire: WireType, r: &mut Reader<'a>) -> Result<()> {
        match tag {
            1 => r.message(wire, &mut self.resource_ari)?,
            2 => self.entity_type = r.int32(wire)?,
            3 => r.message(wire, &mut self.workspace_id)?,
            4 => self.version = r.int64(wire)?,
            5 => self.generation_watermark = r.int64(wire)?,
            6 => self.is_tombstone = r.bool(wire)?,
            7 => {
                if !matches!(self.payload, Some(PayloadView::Entity(_))) {
                    self.payload = Some(PayloadView::Entity(AnyView::default()));
                }
                let Some(PayloadView::Entity(any)) = &mut self.payload else { unreachable!("set above") };
                r.message(wire, any)?;
            }
            8 => {
                if !matches!(self.payload, Some(PayloadView::OffloadPointer(_))) {
                    self.payload = Some(PayloadView::OffloadPointer(PointerView::default()));
                }
                let Some(PayloadView::OffloadPointer(pointer)) = &mut self.payload else { unreachable!("set above") };
                r.message(wire, pointer)?;
            }
            _ => r.skip(wire, tag)?,
        }
        Ok(())
    }
}

impl<'a> View<'a> for AnyView<'a> {
    fn field(&mut self, tag: u32, wire: WireType, r: &mut Reader<'a>) -> Result<()> {
        match tag {
            1 => self.type_url = r.string(wire)?,
            2 => self.value = r.bytes(wire)?,
            _ => r.skip(wire, tag)?,
        }
        Ok(())
    }
}

impl<'a> View<'a> for PointerView<'a> {
    fn field(&mut self, tag: u32, wire: WireType, r: &mut Reader<'a>) -> Result<()> {
        match tag {
            1 => self.uri = r.string(wire)?,
            2 => self.size_bytes = r.int64(wire)?,
            3 => self.sha256 = r.string(wire)?,
            _ => r.skip(wire, tag)?,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use prost::Message as _;

    use super::*;
    use crate::envelope::{Any, Ari, FacsimileRecord, OffloadPointer, Payload};

    /// The view as prost's struct, for comparison.
    fn owned(v: &RecordView<'_>) -> FacsimileRecord {
        let ari = |a: &AriView<'_>| Some(Ari { value: a.value.to_string() });
        FacsimileRecord {
            resource_ari: ari(&v.resource_ari),
            entity_type: v.entity_type,
            workspace_id: ari(&v.workspace_id),
            version: v.version,
            generation_watermark: v.generation_watermark,
            is_tombstone: v.is_tombstone,
            payload: v.payload.as_ref().map(|p| match p {
                PayloadView::Entity(a) => {
                    Payload::Entity(Any { type_url: a.type_url.to_string(), value: a.value.to_vec().into() })
                }
                PayloadView::OffloadPointer(p) => Payload::OffloadPointer(OffloadPointer {
                    uri: p.uri.to_string(),
                    size_bytes: p.size_bytes,
                    sha256: p.sha256.to_string(),
                }),
            }),
        }
    }

    /// prost's result with an absent ARI read as an empty one (what the
    /// view holds, and what decoding treats alike: no identity).
    fn prost(bytes: &[u8]) -> Option<FacsimileRecord> {
        let mut r = FacsimileRecord::decode(bytes).ok()?;
        r.resource_ari.get_or_insert_with(Ari::default);
        r.workspace_id.get_or_insert_with(Ari::default);
        Some(r)
    }

    fn view(bytes: &[u8]) -> Option<FacsimileRecord> {
        crate::wire::decode::<RecordView<'_>>(bytes).ok().map(|v| owned(&v))
    }

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![Just(String::new()), "[a-z:/é]{1,12}"]
    }

    fn record() -> impl Strategy<Value = FacsimileRecord> {
        let payload = prop_oneof![
            Just(None),
            (text(), prop::collection::vec(any::<u8>(), 0..20))
                .prop_map(|(type_url, value)| Some(Payload::Entity(Any { type_url, value: value.into() }))),
            (text(), any::<i64>(), text()).prop_map(|(uri, size_bytes, sha256)| {
                Some(Payload::OffloadPointer(OffloadPointer { uri, size_bytes, sha256 }))
            }),
        ];
        let ari = || prop::option::of(text().prop_map(|value| Ari { value }));
        (ari(), any::<i32>(), ari(), any::<i64>(), any::<i64>(), any::<bool>(), payload).prop_map(
            |(resource_ari, entity_type, workspace_id, version, generation_watermark, is_tombstone, payload)| {
                FacsimileRecord {
                    resource_ari,
                    entity_type,
                    workspace_id,
                    version,
                    generation_watermark,
                    is_tombstone,
                    payload,
                }
            },
        )
    }

    /// Bytes prost may or may not take: records concatenated (so fields
    /// repeat, messages merge and oneof members replace each other), then
    /// cut short, with bytes changed or inserted, or with raw fields (unknown
    /// tags, groups, wrong wire types, long varints) in between.
    fn bytes() -> impl Strategy<Value = Vec<u8>> {
        let records = prop::collection::vec(record(), 1..4)
            .prop_map(|rs| rs.iter().flat_map(|r| r.encode_to_vec()).collect::<Vec<u8>>());
        let raw = prop::collection::vec(
            prop_oneof![
                // Unknown or known tags with any wire type, and a short value.
                (1u32..12, 0u32..8, prop::collection::vec(any::<u8>(), 0..4)).prop_map(|(tag, wire, value)| {
                    let mut out = Vec::new();
                    prost::encoding::encode_varint(u64::from(tag << 3 | wire), &mut out);
                    out.extend(value);
                    out
                }),
                // A varint of ten bytes.
                Just(vec![0x20, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
                Just(vec![0x20, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02]),
                // A group of an unknown field, closed or not.
                Just(vec![0x4b, 0x50, 0x01, 0x4c]),
                Just(vec![0x4b, 0x50, 0x01, 0x54]),
            ],
            0..3,
        );
        (
            records,
            raw,
            any::<prop::sample::Index>(),
            prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..3),
            0u8..4,
        )
            .prop_map(|(mut bytes, raw, at, edits, how)| {
                let at = at.index(bytes.len() + 1);
                match how {
                    0 => {}
                    1 => bytes.truncate(at),
                    2 => {
                        for (i, b) in edits {
                            if !bytes.is_empty() {
                                let i = i.index(bytes.len());
                                bytes[i] = b;
                            }
                        }
                    }
                    _ => {
                        let tail = bytes.split_off(at);
                        bytes.extend(raw.concat());
                        bytes.extend(tail);
                    }
                }
                bytes
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]
        #[test]
        fn the_view_reads_what_prost_reads_and_refuses_what_it_refuses(bytes in bytes()) {
            prop_assert_eq!(view(&bytes), prost(&bytes));
        }
    }

    #[test]
    fn oneof_members_merge_into_themselves_and_replace_each_other() {
        let entity = |type_url: &str, value: &[u8]| FacsimileRecord {
            payload: Some(Payload::Entity(Any { type_url: type_url.into(), value: value.to_vec().into() })),
            ..FacsimileRecord::default()
        };
        let pointer = FacsimileRecord {
            payload: Some(Payload::OffloadPointer(OffloadPointer {
                uri: "u".into(),
                size_bytes: 3,
                sha256: "s".into(),
            })),
            ..FacsimileRecord::default()
        };
        let cases = [
            [entity("a", b"1").encode_to_vec(), entity("", b"2").encode_to_vec()].concat(),
            [entity("a", b"1").encode_to_vec(), pointer.encode_to_vec()].concat(),
            [pointer.encode_to_vec(), entity("", b"2").encode_to_vec()].concat(),
        ];
        for bytes in &cases {
            assert_eq!(view(bytes), prost(bytes));
        }
        // The first: `Any` merged, its URL kept and its value replaced.
        let Some(Payload::Entity(any)) = view(&cases[0]).unwrap().payload else { panic!("an entity") };
        assert_eq!((any.type_url.as_str(), &any.value[..]), ("a", &b"2"[..]));
    }
}
