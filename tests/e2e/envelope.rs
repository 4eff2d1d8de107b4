//! Decoding replication records: the runtime's envelope type is wire-identical to
//! the emitted `manifold.v1` one; records dispatch to the generated entity by the
//! standard `Any` type URL; every kind of bad record is a dead letter with its
//! reason (and the records around it still decode).

use manifold_e2e::jira;
use manifold_runtime::Explode;
use manifold_runtime::envelope::{self, Body, DeadLetter};
use manifold_runtime::prost::Message;
use manifold_runtime::source::{Frame, SegmentDir, Source, write_delimited};

use jira::proto::manifold::jira::v1::JiraIssue;
use jira::proto::manifold::v1::{Ari, FacsimileRecord, OffloadPointer, facsimile_record::Payload};

const LIMIT: usize = 1 << 20;

fn issue_type() -> i32 {
    jira::REGISTRY.by_type_url("type.googleapis.com/manifold.jira.v1.JiraIssue").unwrap().entity_type
}

/// A record packed as every protobuf library's `Any.pack` does.
fn record(version: i64, tombstone: bool, payload: Option<Payload>) -> FacsimileRecord {
    FacsimileRecord {
        resource_ari: Some(Ari { value: "ari:cloud:jira:site:issue/1".into() }),
        entity_type: issue_type(),
        workspace_id: Some(Ari { value: "ws-1".into() }),
        version,
        generation_watermark: 3,
        is_tombstone: tombstone,
        payload,
    }
}

fn packed(issue: &JiraIssue) -> Option<Payload> {
    Some(Payload::Entity(prost_types::Any {
        type_url: "type.googleapis.com/manifold.jira.v1.JiraIssue".into(),
        value: issue.encode_to_vec(),
    }))
}

#[test]
fn the_runtime_envelope_is_wire_identical_to_the_emitted_one() {
    let issue = JiraIssue { issue_id: Some("10001".into()), ..Default::default() };
    let generated = record(7, false, packed(&issue));
    let bytes = generated.encode_to_vec();
    let ours = envelope::FacsimileRecord::decode(bytes.as_slice()).unwrap();
    assert_eq!(ours.encode_to_vec(), bytes, "re-encoding gives the same bytes");
    let offloaded = record(
        8,
        false,
        Some(Payload::OffloadPointer(OffloadPointer { uri: "file:///x".into(), size_bytes: 12, sha256: "ab".into() })),
    );
    let ours = envelope::FacsimileRecord::decode(offloaded.encode_to_vec().as_slice()).unwrap();
    assert_eq!(ours.encode_to_vec(), offloaded.encode_to_vec());
}

#[test]
fn records_dispatch_to_their_entity_by_type_url() {
    let issue = JiraIssue { issue_id: Some("10001".into()), summary: Some("hello".into()), ..Default::default() };
    let bytes = record(7, false, packed(&issue)).encode_to_vec();
    let d = envelope::decode(&bytes, &jira::REGISTRY, LIMIT).unwrap();
    assert_eq!(d.entity.name, "JiraIssue");
    assert_eq!(
        (d.resource_ari, d.workspace_id, d.version, d.generation, d.is_tombstone),
        ("ari:cloud:jira:site:issue/1", "ws-1", 7, 3, false)
    );
    let Body::Inline(bytes) = d.body else { panic!("inline payload expected") };
    assert_eq!(JiraIssue::decode(bytes).unwrap(), issue);
    // A tombstone without payload is found by its entity_type.
    let bytes = record(8, true, None).encode_to_vec();
    let t = envelope::decode(&bytes, &jira::REGISTRY, LIMIT).unwrap();
    assert!(t.is_tombstone && matches!(t.body, Body::None) && t.entity.name == "JiraIssue");
}

#[test]
fn every_bad_record_is_a_dead_letter_with_its_reason() {
    let issue = JiraIssue { issue_id: Some("1".into()), ..Default::default() };
    let decode = |r: FacsimileRecord| envelope::decode(&r.encode_to_vec(), &jira::REGISTRY, LIMIT).map(|_| ());
    assert!(matches!(envelope::decode(&[0xff, 0xff, 0xff], &jira::REGISTRY, LIMIT), Err(DeadLetter::Undecodable(_))));
    assert_eq!(
        envelope::decode(&[0u8; 64], &jira::REGISTRY, 32).unwrap_err(),
        DeadLetter::Oversized { size: 64, limit: 32 }
    );
    assert_eq!(
        decode(FacsimileRecord { resource_ari: None, ..record(1, false, packed(&issue)) }).unwrap_err(),
        DeadLetter::MissingIdentity("resource_ari")
    );
    assert_eq!(
        decode(FacsimileRecord { workspace_id: None, ..record(1, false, packed(&issue)) }).unwrap_err(),
        DeadLetter::MissingIdentity("workspace_id")
    );
    let unknown = Some(Payload::Entity(prost_types::Any {
        type_url: "type.googleapis.com/manifold.jira.v1.Nope".into(),
        value: vec![],
    }));
    assert!(matches!(decode(record(1, false, unknown)), Err(DeadLetter::UnknownTypeUrl(u)) if u.ends_with("Nope")));
    assert!(matches!(
        decode(FacsimileRecord { entity_type: issue_type() + 1, ..record(1, false, packed(&issue)) }),
        Err(DeadLetter::TypeMismatch { .. })
    ));
    assert_eq!(decode(record(1, false, None)).unwrap_err(), DeadLetter::MissingPayload);
    assert_eq!(
        decode(FacsimileRecord { entity_type: 9999, ..record(1, true, None) }).unwrap_err(),
        DeadLetter::UnknownEntityType(9999)
    );
    // A payload that is not a JiraIssue: the staging builder rejects it.
    let info = jira::REGISTRY.by_type_url("type.googleapis.com/manifold.jira.v1.JiraIssue").unwrap();
    let mut staging = (info.new_staging)(Explode::No);
    let meta = manifold_runtime::RowMeta {
        resource_ari: "a",
        version: 1,
        is_tombstone: false,
        workspace_id: "w",
        generation: 0,
        row_refreshed_at_micros: 0,
        shard_id: "s",
    };
    assert!(staging.append(&meta, Some(&[0x0a, 0xff])).is_err());
}

/// A stream written with protobuf's length-delimited framing, with a corrupt
/// record in the middle: the good records around it decode.
#[test]
fn a_segment_with_a_bad_record_keeps_flowing() {
    let dir = tempfile::tempdir().unwrap();
    let mut seg = Vec::new();
    let issue = JiraIssue { issue_id: Some("1".into()), ..Default::default() };
    write_delimited(&mut seg, &record(1, false, packed(&issue)).encode_to_vec());
    write_delimited(&mut seg, b"\xff\xff\xff not a record");
    write_delimited(&mut seg, &record(2, true, None).encode_to_vec());
    std::fs::write(dir.path().join("0001.seg"), &seg).unwrap();
    let frames = SegmentDir::new(dir.path(), None).poll(100, usize::MAX).unwrap();
    let results: Vec<Result<i64, String>> = frames
        .iter()
        .map(|f| match f {
            Frame::Record { bytes, .. } => {
                envelope::decode(bytes, &jira::REGISTRY, LIMIT).map(|d| d.version).map_err(|e| e.to_string())
            }
            Frame::Corrupt { reason, .. } => Err(reason.clone()),
        })
        .collect();
    assert_eq!(results.len(), 3);
    assert_eq!(results[0], Ok(1));
    assert!(results[1].as_ref().is_err_and(|e| e.starts_with("the envelope does not decode")), "{:?}", results[1]);
    assert_eq!(results[2], Ok(2));
}
