//! Step 1 end to end: replication records → the staging tables, read back
//! with a plain scan of the Delta tables: convergence, dead letters, exactly
//! once across crashes (SIGKILL of the real `ingest-jira` binary).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use manifold_e2e::kill::{duplicated_and_shuffled, kill_repeatedly, spawn};
use manifold_e2e::{copy_dir, jira, write_stream};

use crate::records;
use manifold_e2e::lake::{Letter, dead_letters, deduplicated, letters, staging};
use manifold_runtime::Registry;
use manifold_runtime::ingest::{Ingest, Options, Redriven, Report};
use manifold_runtime::lake::Lake;
use manifold_runtime::produce::{self, ProduceOptions, Synthetic};
use manifold_runtime::prost::Message;
use manifold_runtime::source::write_delimited;
use proptest::prelude::*;

use jira::proto::manifold::jira::v1::JiraIssue;
use jira::proto::manifold::v1::{OffloadPointer, facsimile_record::Payload};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

fn ingest(rt: &tokio::runtime::Runtime, lake: &Lake, options: Options) -> Report {
    rt.block_on(async {
        let mut ingest = Ingest::open(&jira::REGISTRY, lake, options).await.unwrap();
        ingest.run(|_| {}).await.unwrap()
    })
}

fn lake_at(dir: &Path) -> Lake {
    Lake::open(dir.to_str().unwrap()).unwrap()
}

fn options(source: &Path, batch_records: usize) -> Options {
    let mut o = Options::new(source);
    o.batch_records = batch_records;
    o
}

fn bad_counts(synthetic: &Synthetic) -> BTreeMap<String, usize> {
    synthetic.bad.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

#[test]
fn a_stream_converges_to_the_producers_truth_and_bad_records_are_dead_letters() {
    let dir = tempfile::tempdir().unwrap();
    let (source, synthetic) = write_stream(
        dir.path(),
        &jira::REGISTRY,
        &ProduceOptions { keys_per_entity: 40, segments: 3, ..ProduceOptions::default() },
    );
    assert!(!synthetic.offloads.is_empty() && synthetic.records.len() > 500);
    let (rt, lake) = (rt(), lake_at(&dir.path().join("lake")));
    let report = ingest(&rt, &lake, options_for(&source));
    assert_eq!(report.records as usize, synthetic.records.len() + 1, "every record, and the torn tail");
    assert_eq!(report.dead_letters as usize, synthetic.bad.values().sum::<usize>());
    let tables = staging(&lake, &rt);
    assert_eq!(tables.len(), jira::REGISTRY.entities.len());
    assert_eq!(deduplicated(&tables), synthetic.expected);
    assert_eq!(dead_letters(&lake, "jira", &rt), bad_counts(&synthetic));
    // Staging files carry statistics of the row key and the refresh time
    // only (`STAGING_PROPERTIES`), and every row's count.
    for entity in jira::REGISTRY.entities {
        let name = manifold_runtime::lake::TableName::new("manifold_entities", entity.name);
        let table = rt.block_on(lake.existing(&name)).unwrap().unwrap();
        for file in rt.block_on(table.files()).unwrap() {
            let columns: Vec<&String> = file.min_values.keys().collect();
            assert_eq!(columns, ["envelope_fields_resource_ari_value", "row_refreshed_at"], "{name}");
            assert!(file.num_records.is_some_and(|n| n > 0), "{name}");
        }
    }
    // A second run finds everything committed and writes nothing.
    let again = ingest(&rt, &lake, options_for(&source));
    assert_eq!((again.records, again.batches), (0, 0));
    assert_eq!(staging(&lake, &rt), tables);
    // Rows split into Arrow batches of one payload each stage the same rows.
    let split = lake_at(&dir.path().join("split"));
    let mut o = options_for(&source);
    o.payload_bytes_per_chunk = 1;
    let report_split = ingest(&rt, &split, o);
    assert_eq!((report_split.batches, report_split.superseded), (report.batches, report.superseded));
    assert_eq!(staging(&split, &rt), tables);
}

fn options_for(source: &Path) -> Options {
    options(source, 97)
}

/// One segment with a good record, every kind of bad record, and another good
/// record: each bad one is a dead-letter row with its reason, position and raw
/// bytes, and both good ones land.
#[test]
fn every_kind_of_bad_record_is_a_dead_letter_row_and_the_stream_keeps_flowing() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("stream");
    std::fs::create_dir_all(source.join("offload")).unwrap();
    let issue_type = jira::REGISTRY.by_type_url(records::ISSUE_TYPE_URL).unwrap().entity_type;
    let record = records::issue;
    let any = |value: Vec<u8>| prost_types::Any { type_url: records::ISSUE_TYPE_URL.into(), value };
    let issue = JiraIssue { issue_id: Some("1".into()), summary: Some("s".repeat(50)), ..Default::default() };
    let good = |key: &str| record(key, Some(Payload::Entity(any(issue.encode_to_vec())))).encode_to_vec();
    // An offloaded payload that exists, and one whose checksum is wrong.
    let stored = any(issue.encode_to_vec()).encode_to_vec();
    std::fs::write(source.join("offload/ok.any"), &stored).unwrap();
    let sha = records::sha256_hex(&stored);
    let sized = |uri: &str, size_bytes: i64, sha256: &str| {
        Some(Payload::OffloadPointer(OffloadPointer { uri: uri.into(), size_bytes, sha256: sha256.into() }))
    };
    let pointer = |uri: &str, sha256: &str| sized(uri, stored.len() as i64, sha256);
    // An object over the record limit: neither its claim nor the object is read.
    std::fs::write(source.join("offload/big.any"), vec![0u8; 10_000]).unwrap();
    let mut wrong_type = record("k-wrong-type", Some(Payload::Entity(any(issue.encode_to_vec()))));
    wrong_type.entity_type = issue_type + 1;
    let mut no_ws = record("k-no-ws", Some(Payload::Entity(any(issue.encode_to_vec()))));
    no_ws.workspace_id = None;
    let mut long_ws = record("k-long-ws", Some(Payload::Entity(any(issue.encode_to_vec()))));
    long_ws.workspace_id = Some(jira::proto::manifold::v1::Ari { value: "w".repeat(300) });
    let mut unknown_type = record("k-unknown", None);
    unknown_type.entity_type = 9999;
    unknown_type.is_tombstone = true;
    let mut unknown_url = any(vec![]);
    unknown_url.type_url = "type.googleapis.com/manifold.jira.v1.Nope".into();
    let bad: Vec<(&str, Vec<u8>)> = vec![
        ("undecodable", vec![0x0f, 0x01]),
        ("oversized", record("k-big", Some(Payload::Entity(any(vec![b'x'; 5000])))).encode_to_vec()),
        ("missing_identity", no_ws.encode_to_vec()),
        ("unusable_workspace_id", long_ws.encode_to_vec()),
        ("unknown_type_url", record("k-url", Some(Payload::Entity(unknown_url))).encode_to_vec()),
        ("unknown_entity_type", unknown_type.encode_to_vec()),
        ("type_mismatch", wrong_type.encode_to_vec()),
        ("missing_payload", record("k-empty", None).encode_to_vec()),
        ("payload_mismatch", record("k-garbage", Some(Payload::Entity(any(vec![0x0f, 0xff])))).encode_to_vec()),
        ("offload", record("k-missing", pointer("offload/none.any", &sha)).encode_to_vec()),
        ("offload", record("k-sum", pointer("offload/ok.any", &"0".repeat(64))).encode_to_vec()),
        ("offload", record("k-size", sized("offload/ok.any", stored.len() as i64 + 1, &sha)).encode_to_vec()),
        ("offload", record("k-huge", sized("offload/big.any", 10_000, &sha)).encode_to_vec()),
    ];
    let mut segment = Vec::new();
    write_delimited(&mut segment, &good("k-first"));
    write_delimited(&mut segment, &record("k-offloaded", pointer("offload/ok.any", &sha)).encode_to_vec());
    let mut offsets = Vec::new();
    for (_, bytes) in &bad {
        offsets.push(segment.len() as i64);
        write_delimited(&mut segment, bytes);
    }
    write_delimited(&mut segment, &good("k-last"));
    offsets.push(segment.len() as i64);
    segment.extend_from_slice(&[0x7f, 1, 2]); // a torn tail: 127 bytes announced, 2 there
    std::fs::write(source.join("0001.pb"), &segment).unwrap();

    let (rt, lake) = (rt(), lake_at(&dir.path().join("lake")));
    let mut o = options(&source, 1000);
    o.max_record_bytes = 4096;
    let report = ingest(&rt, &lake, o.clone());
    // The torn tail ends the last segment: its writer may still be writing
    // it, so it waits for the next run.
    assert_eq!((report.dead_letters, report.unfinished), (13, Some(3)));
    assert_eq!(report.position.as_ref().map(|p| p.offset as i64), offsets.last().copied());
    assert_eq!(letters(&lake, "jira", &rt).len(), 13);
    // A later segment: the writer has moved on, and the torn tail is corrupt.
    std::fs::write(source.join("0002.pb"), b"").unwrap();
    let report = ingest(&rt, &lake, o);
    assert_eq!((report.records, report.dead_letters, report.unfinished), (1, 1, None));
    let got = letters(&lake, "jira", &rt);
    // A row keeps at most the limit's worth of raw bytes (the oversized record's head).
    let mut want: Vec<(String, i64, Vec<u8>)> = bad
        .iter()
        .zip(&offsets)
        .map(|((code, bytes), offset)| (code.to_string(), *offset, bytes[..bytes.len().min(4096)].to_vec()))
        .collect();
    want.push(("corrupt_frame".into(), *offsets.last().unwrap(), vec![0x7f, 1, 2]));
    let got_rows: Vec<(String, i64, Vec<u8>)> =
        got.iter().map(|l| (l.reason_code.clone(), l.offset, l.raw.clone())).collect();
    let mut want_sorted = want.clone();
    want_sorted.sort();
    let mut got_sorted = got_rows.clone();
    got_sorted.sort();
    assert_eq!(got_sorted, want_sorted);
    assert!(got.iter().all(|l: &Letter| l.segment == "0001.pb" && !l.reason.is_empty()));
    let oversized = got.iter().find(|l| l.reason_code == "oversized").unwrap();
    assert!(oversized.reason.contains("4096"), "{}", oversized.reason);
    let sum = got.iter().find(|l| l.reason_code == "offload" && l.reason.contains("SHA-256")).unwrap();
    assert!(sum.reason.contains("offload/ok.any"), "{}", sum.reason);
    let reasons: Vec<&str> = got.iter().filter(|l| l.reason_code == "offload").map(|l| l.reason.as_str()).collect();
    let size = format!("{} bytes, the pointer says {}", stored.len(), stored.len() + 1);
    assert!(reasons.iter().any(|r| r.contains(&size)), "{reasons:?}");
    assert!(
        reasons.iter().any(|r| r.contains("the pointer says 10000 bytes, over the 4096-byte limit")),
        "{reasons:?}"
    );
    // Each row says which entity and row the record claims to be, where its
    // envelope reads (an oversized record is never decoded).
    let identities: Vec<(&str, Option<i32>, Option<&str>)> = got
        .iter()
        .map(|l| (l.reason_code.as_str(), l.entity_type, l.resource_ari.as_deref()))
        .filter(|(code, ..)| *code != "offload" && *code != "payload_mismatch")
        .collect();
    let mut identities = identities;
    identities.sort();
    let want_identities = vec![
        ("corrupt_frame", None, None),
        ("missing_identity", Some(issue_type), Some("k-no-ws")),
        ("missing_payload", Some(issue_type), Some("k-empty")),
        ("oversized", None, None),
        ("type_mismatch", Some(issue_type + 1), Some("k-wrong-type")),
        ("undecodable", None, None),
        ("unknown_entity_type", Some(9999), Some("k-unknown")),
        ("unknown_type_url", Some(issue_type), Some("k-url")),
        ("unusable_workspace_id", Some(issue_type), Some("k-long-ws")),
    ];
    assert_eq!(identities, want_identities);
    assert!(
        got.iter().filter(|l| l.reason_code == "offload" || l.reason_code == "payload_mismatch").all(|l| l.entity_type
            == Some(issue_type)
            && l.resource_ari.as_deref().is_some_and(|k| k.starts_with("k-"))),
        "{got:?}"
    );
    // The good records on both sides of the bad ones, and the offloaded one, landed.
    let tables = staging(&lake, &rt);
    let keys: Vec<&str> = tables["manifold_entities.JiraIssue"].iter().map(|r| r.key.as_str()).collect();
    assert_eq!(keys, ["k-first", "k-last", "k-offloaded"]);
}

/// Within a batch, a record whose message does not decode is a dead letter
/// whether it would win its key or lose it, and never wins: the newest
/// decodable record of its key lands instead. Step 1 decides the winners
/// before it decodes their messages, so a winner that turns out bad hands its
/// place on.
#[test]
fn an_undecodable_record_is_a_dead_letter_whether_it_wins_or_loses_and_never_wins() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("stream");
    std::fs::create_dir_all(&source).unwrap();
    let any = |value: Vec<u8>| prost_types::Any { type_url: records::ISSUE_TYPE_URL.into(), value };
    let issue = JiraIssue { issue_id: Some("1".into()), ..Default::default() };
    let at = |key: &str, version: i64, good: bool| {
        let value = if good { issue.encode_to_vec() } else { vec![0x0f, 0xff] };
        let mut r = records::issue(key, Some(Payload::Entity(any(value))));
        r.version = version;
        r.encode_to_vec()
    };
    let batch = [
        ("k-bad-newest", 1, true),
        ("k-bad-newest", 3, false),
        ("k-bad-newest", 2, true),
        ("k-bad-oldest", 1, false),
        ("k-bad-oldest", 2, true),
        ("k-all-bad", 1, false),
        ("k-all-bad", 2, false),
        ("k-good", 1, true),
        ("k-good", 2, true),
    ];
    let mut segment = Vec::new();
    let mut bad_offsets = Vec::new();
    for (key, version, good) in batch {
        if !good {
            bad_offsets.push(segment.len() as i64);
        }
        write_delimited(&mut segment, &at(key, version, good));
    }
    std::fs::write(source.join("0001.pb"), &segment).unwrap();

    let (rt, lake) = (rt(), lake_at(&dir.path().join("lake")));
    let report = ingest(&rt, &lake, options(&source, 1000));
    assert_eq!((report.batches, report.dead_letters), (1, 4));
    // Decodable records that lost: k-bad-newest v1, k-good v1.
    assert_eq!(report.superseded, 2);
    let tables = staging(&lake, &rt);
    let rows: Vec<(&str, i64)> =
        tables["manifold_entities.JiraIssue"].iter().map(|r| (r.key.as_str(), r.version)).collect();
    assert_eq!(rows, [("k-bad-newest", 2), ("k-bad-oldest", 2), ("k-good", 2)]);
    let mut got: Vec<(String, i64)> =
        letters(&lake, "jira", &rt).into_iter().map(|l| (l.reason_code, l.offset)).collect();
    got.sort();
    let want: Vec<(String, i64)> = bad_offsets.iter().map(|&o| ("payload_mismatch".to_string(), o)).collect();
    assert_eq!(got, want);
}

/// A pointer is data from the bus: a local payload is read only inside the
/// source directory and the `offload_dirs`, and only from a regular file.
/// Before, a pointer to `/etc/…` or to a file of another team was read (and
/// its size told in the dead letter), and one to a FIFO blocked the ingest
/// for good, deaf to SIGTERM.
#[test]
fn local_offloaded_payloads_are_read_only_inside_the_allowed_directories() {
    let dir = tempfile::tempdir().unwrap();
    let (source, other) = (dir.path().join("stream"), dir.path().join("payloads"));
    std::fs::create_dir_all(source.join("offload")).unwrap();
    std::fs::create_dir_all(&other).unwrap();
    let any = prost_types::Any {
        type_url: records::ISSUE_TYPE_URL.into(),
        value: JiraIssue { issue_id: Some("1".into()), ..Default::default() }.encode_to_vec(),
    };
    let stored = any.encode_to_vec();
    std::fs::write(source.join("offload/in.any"), &stored).unwrap();
    std::fs::write(other.join("out.any"), &stored).unwrap();
    assert!(Command::new("mkfifo").arg(source.join("offload/pipe.any")).status().unwrap().success());
    let pointer = |uri: &str| {
        let (uri, size_bytes, sha256) = (uri.into(), stored.len() as i64, records::sha256_hex(&stored));
        Some(Payload::OffloadPointer(OffloadPointer { uri, size_bytes, sha256 }))
    };
    let outside = other.join("out.any");
    let file_url = format!("file://{}", outside.display()); // a temporary path: nothing to escape
    let mut segment = Vec::new();
    for (key, uri) in [
        ("k-in", "offload/in.any"),
        ("k-up", "../payloads/out.any"),
        ("k-abs", outside.to_str().unwrap()),
        ("k-url", &file_url),
        ("k-fifo", "offload/pipe.any"),
    ] {
        write_delimited(&mut segment, &records::issue(key, pointer(uri)).encode_to_vec());
    }
    std::fs::write(source.join("0001.pb"), &segment).unwrap();
    let run = |lake: &str, offload_dirs: Vec<std::path::PathBuf>| {
        let (source, lake) = (source.clone(), dir.path().join(lake));
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let (rt, lake) = (rt(), lake_at(&lake));
            let mut o = options(&source, 100);
            o.offload_dirs = offload_dirs;
            let report = ingest(&rt, &lake, o);
            let keys = staging(&lake, &rt)["manifold_entities.JiraIssue"].iter().map(|r| r.key.clone()).collect();
            let reasons = letters(&lake, "jira", &rt).into_iter().map(|l| l.reason).collect();
            tx.send((report.dead_letters, keys, reasons)).unwrap();
        });
        let got: (u64, Vec<String>, Vec<String>) = rx.recv_timeout(Duration::from_secs(120)).expect("the ingest ends");
        got
    };
    let (dead, keys, reasons) = run("lake", Vec::new());
    assert_eq!((dead, keys), (4, vec!["k-in".to_string()]));
    assert_eq!(reasons.iter().filter(|r| r.contains("is outside the directories")).count(), 3, "{reasons:?}");
    assert!(reasons.iter().all(|r| !r.contains("bytes,")), "nothing outside is looked at: {reasons:?}");
    assert!(reasons.iter().any(|r| r.contains("pipe.any` is not a regular file")), "{reasons:?}");
    // Allowed, the other directory's payload lands through all three names.
    let (dead, mut keys, _) = run("lake-allowed", vec![other.clone()]);
    keys.sort_unstable();
    assert_eq!((dead, keys), (1, ["k-abs", "k-in", "k-up", "k-url"].map(String::from).to_vec()));
    // A mistyped allowed directory is refused before any table is created.
    let rt = rt();
    let lake = lake_at(&dir.path().join("lake-typo"));
    let mut o = options(&source, 100);
    o.offload_dirs = vec![dir.path().join("payload")];
    let err = rt.block_on(Ingest::open(&jira::REGISTRY, &lake, o)).err().expect("refused").to_string();
    assert!(err.contains("the offload directory") && err.contains("payload`"), "{err}");
    let made = std::fs::read_dir(dir.path().join("lake-typo")).map(|d| d.count()).unwrap_or(0);
    assert_eq!(made, 0, "no table was created");
}

/// Offloaded payloads count against a batch's bytes as their pointers state
/// them: a batch ends before the one that would go over, and the rest of its
/// frames make the next batch. Before, a batch fetched every offloaded payload
/// of its (up to 50,000) records and held them all until it was written: a
/// burst of pointers to large objects ran the ingest out of memory on every run.
#[test]
fn offloaded_payloads_end_a_batch_at_its_byte_budget_and_the_rest_follow() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("stream");
    std::fs::create_dir_all(source.join("offload")).unwrap();
    let any = |value: Vec<u8>| prost_types::Any { type_url: records::ISSUE_TYPE_URL.into(), value };
    let issue = JiraIssue { issue_id: Some("1".into()), summary: Some("s".repeat(2000)), ..Default::default() };
    let stored = any(issue.encode_to_vec()).encode_to_vec();
    std::fs::write(source.join("offload/big.any"), &stored).unwrap();
    let sha = records::sha256_hex(&stored);
    let pointer = || {
        let (uri, size_bytes) = ("offload/big.any".into(), stored.len() as i64);
        Some(Payload::OffloadPointer(OffloadPointer { uri, size_bytes, sha256: sha.clone() }))
    };
    let inline = |key: &str| {
        let small = JiraIssue { issue_id: Some("2".into()), ..Default::default() };
        records::issue(key, Some(Payload::Entity(any(small.encode_to_vec())))).encode_to_vec()
    };
    let mut segment = Vec::new();
    write_delimited(&mut segment, &inline("k-a"));
    for key in ["k-1", "k-2", "k-3"] {
        write_delimited(&mut segment, &records::issue(key, pointer()).encode_to_vec());
    }
    write_delimited(&mut segment, &inline("k-b"));
    std::fs::write(source.join("0001.pb"), &segment).unwrap();
    // The frames are far under the budget; one payload fits it, two do not.
    let budget = stored.len() * 3 / 2;
    assert!(segment.len() < budget / 2, "{} bytes of frames", segment.len());

    let (rt, lake) = (rt(), lake_at(&dir.path().join("lake")));
    let mut o = options(&source, 1000);
    o.batch_bytes = budget;
    let report = ingest(&rt, &lake, o);
    // [k-a, k-1], [k-2], [k-3, k-b]: each batch takes its first offloaded payload.
    assert_eq!((report.batches, report.records, report.dead_letters), (3, 5, 0), "{report:?}");
    assert_eq!(report.position.as_ref().map(|p| p.offset), Some(segment.len() as u64));
    let tables = staging(&lake, &rt);
    let mut keys: Vec<&str> = tables["manifold_entities.JiraIssue"].iter().map(|r| r.key.as_str()).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["k-1", "k-2", "k-3", "k-a", "k-b"]);
    // Each batch committed its own end: a second run finds nothing left.
    let mut o = options(&source, 1000);
    o.batch_bytes = budget;
    let again = ingest(&rt, &lake, o);
    assert_eq!((again.records, again.batches), (0, 0));
    assert_eq!(staging(&lake, &rt), tables);
}

/// A corrupt frame runs to the end of its segment, which can be far larger
/// than a record: the dead-letter row keeps its head, and says so.
/// Workspace ids name the staging tables' partition folders, escaped. Odd
/// ones (path-like, escaped, non-ASCII, Hive's null marker) land as they are,
/// up to a folder name of 255 bytes; a longer one is a dead letter. Before,
/// one record with a 300-byte workspace id failed its batch with "File name
/// too long" on every run: the stream stopped for good.
#[test]
fn odd_workspace_ids_land_and_one_too_long_for_a_folder_is_a_dead_letter() {
    use jira::proto::manifold::v1::Ari;
    let special = " !\"#$%&'()*+,/:;<=>?@[\\]^`{|}é"; // 29 escaped bytes and a 2-byte character: 93 bytes escaped
    let at_limit = format!("{special}{}", "x".repeat(255 - "workspace_id=".len() - 93));
    let fitting = ["..", ".", "a/b", "%2F", "__HIVE_DEFAULT_PARTITION__", &"x".repeat(242), &":".repeat(80), &at_limit];
    let too_long = [format!("{at_limit}x"), "x".repeat(243), ":".repeat(81)];
    let issue = JiraIssue { issue_id: Some("1".into()), ..Default::default() };
    let record = |key: String, workspace: &str| {
        let any = prost_types::Any { type_url: records::ISSUE_TYPE_URL.into(), value: issue.encode_to_vec() };
        let mut r = records::issue(&key, Some(Payload::Entity(any)));
        r.workspace_id = Some(Ari { value: workspace.into() });
        r.encode_to_vec()
    };
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("stream");
    std::fs::create_dir_all(&source).unwrap();
    let mut segment = Vec::new();
    for (i, workspace) in fitting.iter().enumerate() {
        write_delimited(&mut segment, &record(format!("k-fits-{i}"), workspace));
    }
    for (i, workspace) in too_long.iter().enumerate() {
        write_delimited(&mut segment, &record(format!("k-long-{i}"), workspace));
    }
    std::fs::write(source.join("0001.pb"), &segment).unwrap();
    let lake = lake_at(&dir.path().join("lake"));
    let rt = rt();
    let report = ingest(&rt, &lake, Options::new(&source));
    assert_eq!((report.rows_total(), report.dead_letters), (8, 3), "{report:?}");
    let mut landed: Vec<(String, String)> = staging(&lake, &rt)["manifold_entities.JiraIssue"]
        .iter()
        .map(|r| (r.key.clone(), r.workspace_id.clone()))
        .collect();
    landed.sort();
    let expected: Vec<(String, String)> =
        fitting.iter().enumerate().map(|(i, w)| (format!("k-fits-{i}"), w.to_string())).collect();
    assert_eq!(landed, expected);
    let dead = letters(&lake, "jira", &rt);
    assert!(dead.iter().all(|l| l.reason_code == "unusable_workspace_id"), "{dead:?}");
    assert!(dead[0].reason.contains("over the 255"), "{}", dead[0].reason);
}

#[test]
fn a_corrupt_frame_keeps_the_head_of_the_rest_of_its_segment() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("stream");
    std::fs::create_dir_all(&source).unwrap();
    // A length prefix longer than 10 bytes, then 10,000 bytes nobody can frame.
    let mut segment = vec![0xff; 11];
    segment.extend(std::iter::repeat_n(7u8, 10_000));
    std::fs::write(source.join("0001.pb"), &segment).unwrap();
    let (rt, lake) = (rt(), lake_at(&dir.path().join("lake")));
    let mut o = options(&source, 1000);
    o.max_record_bytes = 4096;
    assert_eq!(ingest(&rt, &lake, o).dead_letters, 1);
    let got = letters(&lake, "jira", &rt);
    assert_eq!(got[0].raw, segment[..4096]);
    assert!(got[0].reason.contains("the first 4096 of its 10011 bytes kept"), "{}", got[0].reason);
}

/// The ingest's committed position in the lake at `dir` (`None` before the first batch).
fn committed_position(rt: &tokio::runtime::Runtime, dir: &Path) -> Option<(String, u64)> {
    let lake = lake_at(dir);
    rt.block_on(async {
        let ingest = Ingest::open(&jira::REGISTRY, &lake, options(&dir.with_file_name("stream"), 1)).await.unwrap();
        ingest.committed_position().await.unwrap().map(|p| (p.segment, p.offset))
    })
}

/// Commits of the dead-letter table of the lake at `dir`: one per finished batch.
fn finished_batches(dir: &Path) -> usize {
    let log = dir.join("manifold_dead_letters/jira/_delta_log");
    std::fs::read_dir(log)
        .map(|d| d.filter_map(|e| e.ok()).filter(|e| e.file_name().to_string_lossy().ends_with(".json")).count())
        .unwrap_or(0)
}

/// Two directories of one name are one source id by default: the second,
/// ingested into the same lake, was read from the first one's committed
/// position on, and its earlier segments skipped without a trace. Where that
/// position is past the end of its segment, the ingest now stops and says so;
/// with its own `--source-id` the second source lands whole.
#[test]
fn another_directory_of_the_same_name_is_not_taken_for_the_ingested_source() {
    use manifold_runtime::ingest::IngestError;
    let dir = tempfile::tempdir().unwrap();
    let options = |keys, seed| ProduceOptions { keys_per_entity: keys, seed, segments: 2, ..ProduceOptions::default() };
    let (first, _) = write_stream(&dir.path().join("a"), &jira::REGISTRY, &options(30, 1));
    let (second, synthetic) = write_stream(&dir.path().join("b"), &jira::REGISTRY, &options(10, 2));
    let (rt, lake) = (rt(), lake_at(&dir.path().join("lake")));
    ingest(&rt, &lake, options_for(&first));
    let err = rt.block_on(async {
        let mut ingest = Ingest::open(&jira::REGISTRY, &lake, options_for(&second)).await.unwrap();
        ingest.run(|_| {}).await.unwrap_err()
    });
    assert!(matches!(err, IngestError::NotThisSource { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("committed source `stream` up to segment-00001.pb@"), "{message}");
    assert!(message.contains("--source-id"), "{message}");
    // `status` says the same rather than a lag measured against the wrong source.
    let status = rt.block_on(manifold_runtime::ingest::status(&jira::REGISTRY, &lake, &options_for(&second)));
    assert!(matches!(status, Err(IngestError::NotThisSource { .. })), "{status:?}");
    let mut named = options_for(&second);
    named.source_id = Some("b".into());
    let report = ingest(&rt, &lake, named);
    assert_eq!(report.records as usize, synthetic.records.len() + 1, "every record, and the torn tail");
}

/// A batch an interrupted run committed to some staging tables and not to
/// the others: the rerun stages it for the others only, and counts as
/// already committed the records of the tables that held them (it counted
/// every record of the batch).
#[test]
fn a_rerun_counts_as_already_committed_only_what_each_table_holds() {
    use manifold_runtime::ingest::app_id;
    use manifold_runtime::lake::TableName;
    let dir = tempfile::tempdir().unwrap();
    let (source, synthetic) = write_stream(
        dir.path(),
        &jira::REGISTRY,
        &ProduceOptions { keys_per_entity: 10, segments: 1, bad_records: false, ..ProduceOptions::default() },
    );
    let of_issues = |r: &Vec<u8>| {
        let decoded = manifold_runtime::envelope::decode(r, &jira::REGISTRY, usize::MAX).unwrap();
        decoded.entity.name == "JiraIssue"
    };
    let issues = synthetic.records.iter().filter(|r| of_issues(r)).count();
    assert!(issues > 0 && issues < synthetic.records.len());
    let (rt, lake) = (rt(), lake_at(&dir.path().join("lake")));
    // What the interrupted run left: the issues table's commit of the whole
    // segment (one batch), and nothing else.
    let segment = "segment-00000.pb";
    let end = std::fs::metadata(source.join(segment)).unwrap().len() as i64;
    let entity = jira::REGISTRY.entities.iter().find(|e| e.name == "JiraIssue").unwrap();
    rt.block_on(async {
        let name = TableName::new("manifold_entities", "JiraIssue");
        let mut table = lake.table(&name, &(entity.staging_schema)(), entity.staging_partition_by).await.unwrap();
        let txn = deltalake::kernel::Transaction::new(app_id("stream", segment), end);
        table.append(&[], Some(txn)).await.unwrap();
    });
    let report = ingest(&rt, &lake, options(&source, 1_000_000));
    assert_eq!((report.batches, report.records as usize), (1, synthetic.records.len()));
    assert_eq!(report.already_committed as usize, issues);
    let tables = staging(&lake, &rt);
    assert!(tables.get("manifold_entities.JiraIssue").is_none_or(|rows| rows.is_empty()), "{tables:?}");
    let expected = synthetic.expected.keys().filter(|(t, _)| t != "manifold_entities.JiraIssue").count();
    assert_eq!(tables.values().map(|rows| rows.len()).sum::<usize>(), expected);
}

/// The dead-letter table holds the progress marker. Deleted (someone purging
/// dead letters), the next run reads the source from its start: the staging
/// tables' own `txn`s, per segment, keep every record they hold from being
/// staged again, and the dead letters come back once.
#[test]
fn deleting_the_dead_letter_table_stages_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let (source, synthetic) = write_stream(
        dir.path(),
        &jira::REGISTRY,
        &ProduceOptions { keys_per_entity: 12, segments: 3, ..ProduceOptions::default() },
    );
    let (rt, lake) = (rt(), lake_at(&dir.path().join("lake")));
    let first = ingest(&rt, &lake, options(&source, 40));
    assert!(first.batches > 3, "several batches per segment: {first:?}");
    let (tables, dead) = (staging(&lake, &rt), dead_letters(&lake, "jira", &rt));
    assert_eq!(dead, bad_counts(&synthetic));
    std::fs::remove_dir_all(dir.path().join("lake/manifold_dead_letters")).unwrap();
    let again = ingest(&rt, &lake, options(&source, 40));
    assert_eq!(again.records, first.records, "the whole source read again");
    assert_eq!(again.rows_total(), 0, "{again:?}");
    assert_eq!(staging(&lake, &rt), tables);
    assert_eq!(dead_letters(&lake, "jira", &rt), dead);
    assert_eq!(ingest(&rt, &lake, options(&source, 40)).records, 0, "and then nothing");
    assert!(first.created_after_progress.is_empty() && again.created_after_progress.is_empty());
}

/// A staging table created after the source's progress was recorded (a new
/// entity, or one deleted by hand) holds none of the earlier records: the run
/// that creates it says so; runs before and after do not.
#[test]
fn a_staging_table_created_after_the_progress_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let (source, _) = write_stream(
        dir.path(),
        &jira::REGISTRY,
        &ProduceOptions { keys_per_entity: 6, segments: 2, ..ProduceOptions::default() },
    );
    let (rt, lake) = (rt(), lake_at(&dir.path().join("lake")));
    assert_eq!(ingest(&rt, &lake, options(&source, 40)).created_after_progress, Vec::<String>::new());
    std::fs::remove_dir_all(dir.path().join("lake/manifold_entities/JiraIssue")).unwrap();
    let again = ingest(&rt, &lake, options(&source, 40));
    assert_eq!(again.created_after_progress, ["manifold_entities.JiraIssue"]);
    assert_eq!(again.records, 0);
    assert_eq!(ingest(&rt, &lake, options(&source, 40)).created_after_progress, Vec::<String>::new());
}

fn still_bad(synthetic: &Synthetic) -> usize {
    synthetic.bad.values().sum()
}

fn redrive(rt: &tokio::runtime::Runtime, lake: &Lake, options: Options) -> Redriven {
    rt.block_on(async {
        let mut ingest = Ingest::open(&jira::REGISTRY, lake, options).await.unwrap();
        ingest.redrive().await.unwrap()
    })
}

/// A release that knows a type the running one did not: a stream ingested by
/// a build without `JiraIssue` leaves its records as dead letters (an unknown
/// type URL). A redrive by the full build stages them, and then the staging
/// tables (deduplicated) and the dead letters are exactly those of an ingest
/// by the full build from the start (the same rows, with the reasons it
/// gives; records over the size limit keep theirs). A second redrive changes
/// nothing; a redrive killed after staging some tables is finished by the
/// next, nothing twice, and another build refuses to finish it. A redrive
/// with a larger limit reads the oversized records again from the source.
#[test]
fn a_redrive_stages_the_dead_letters_a_newer_build_decodes() {
    let dir = tempfile::tempdir().unwrap();
    let (source, synthetic) = write_stream(
        dir.path(),
        &jira::REGISTRY,
        &ProduceOptions { keys_per_entity: 20, segments: 2, ..ProduceOptions::default() },
    );
    let older: &'static Registry = Box::leak(Box::new(Registry {
        entities: Box::leak(jira::REGISTRY.entities.iter().filter(|e| e.name != "JiraIssue").copied().collect()),
        ..jira::REGISTRY
    }));
    // Some records over the size limit too: their rows keep only a head, so
    // they stay as they are.
    let opts = || Options { max_record_bytes: 560, ..options(&source, 60) };
    let rt = rt();
    let full = lake_at(&dir.path().join("full"));
    ingest(&rt, &full, opts());
    let lake = lake_at(&dir.path().join("lake"));
    rt.block_on(async {
        let mut ingest = Ingest::open(older, &lake, opts()).await.unwrap();
        ingest.run(|_| {}).await.unwrap()
    });
    let issues = synthetic.expected.keys().filter(|(table, _)| table == "manifold_entities.JiraIssue").count();
    let before = letters(&lake, "jira", &rt);
    assert!(issues == 20 && before.len() > issues + still_bad(&synthetic), "{} letters", before.len());

    // The lake as a redrive killed after staging `JiraIssue`'s rows would
    // leave it: its staging table as the redrive below commits it, the
    // dead-letter table as before.
    let killed = dir.path().join("killed");
    copy_dir(&dir.path().join("lake"), &killed);

    let redriven = redrive(&rt, &lake, opts());
    let still = letters(&full, "jira", &rt);
    assert_eq!(letters(&lake, "jira", &rt), still);
    assert_eq!(redriven.letters as usize, before.len());
    assert_eq!((redriven.staged + redriven.still_dead) as usize, before.len());
    assert_eq!(redriven.still_dead as usize, still.len());
    let mut by_reason = std::collections::BTreeMap::<String, u64>::new();
    for letter in &still {
        *by_reason.entry(letter.reason_code.clone()).or_default() += 1;
    }
    assert_eq!(redriven.still_dead_by_reason, by_reason);
    assert!(redriven.rows["manifold_entities.JiraIssue"] > 0 && redriven.rows.len() == 1, "{redriven:?}");
    let tables = staging(&lake, &rt);
    assert_eq!(deduplicated(&tables), deduplicated(&staging(&full, &rt)));
    assert!(still.iter().filter(|l| l.reason_code == "oversized").count() > 3, "{still:?}");

    // Again: nothing left that this build stages, and nothing moves.
    let again = redrive(&rt, &lake, opts());
    assert_eq!((again.staged, again.still_dead, again.rows.len()), (0, still.len() as u64, 0));
    assert_eq!(staging(&lake, &rt), tables);
    assert_eq!(letters(&lake, "jira", &rt), still);

    // (The older build made no `JiraIssue` table.)
    let issues_table = "manifold_entities/JiraIssue";
    assert!(!killed.join(issues_table).exists());
    copy_dir(&dir.path().join("lake").join(issues_table), &killed.join(issues_table));
    let killed = lake_at(&killed);
    // Another build does not finish it: it might decode other records.
    let other: &'static Registry = Box::leak(Box::new(Registry { descriptor_set: b"another build", ..jira::REGISTRY }));
    let refused = rt.block_on(async {
        let mut ingest = Ingest::open(other, &killed, opts()).await.unwrap();
        ingest.redrive().await.unwrap_err().to_string()
    });
    assert!(refused.contains("another build") && refused.contains("manifold_entities.JiraIssue"), "{refused}");
    assert_eq!(letters(&killed, "jira", &rt), before, "nothing redriven by the refused build");
    let finished = redrive(&rt, &killed, opts());
    assert_eq!(staging(&killed, &rt), tables, "nothing staged twice");
    assert!(finished.resumed > 0 && finished.rows.is_empty(), "{finished:?}");
    assert_eq!(letters(&killed, "jira", &rt), still);

    // With a larger limit, the oversized records are read again whole from
    // the source — only records that start with the head their rows kept: a
    // source rewritten since leaves them as they are.
    let rewritten = dir.path().join("rewritten");
    copy_dir(&source, &rewritten);
    for l in still.iter().filter(|l| l.reason_code == "oversized") {
        let path = rewritten.join(&l.segment);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[l.offset as usize + 4] ^= 0xff; // inside the record's head
        std::fs::write(&path, bytes).unwrap();
    }
    let copy = dir.path().join("copy");
    copy_dir(&dir.path().join("lake"), &copy);
    let copy = lake_at(&copy);
    let unmoved = redrive(&rt, &copy, options(&rewritten, 60));
    assert_eq!(unmoved.staged, 0, "{unmoved:?}");
    assert_eq!(letters(&copy, "jira", &rt), still);
    // From the source itself: the lake then equals an ingest with that limit.
    let larger = lake_at(&dir.path().join("larger"));
    ingest(&rt, &larger, options(&source, 60));
    let oversized = still.iter().filter(|l| l.reason_code == "oversized").count() as u64;
    let redriven = redrive(&rt, &lake, options(&source, 60));
    assert_eq!((redriven.staged, redriven.letters), (oversized, still.len() as u64), "{redriven:?}");
    assert_eq!(letters(&lake, "jira", &rt), letters(&larger, "jira", &rt));
    assert_eq!(deduplicated(&staging(&lake, &rt)), deduplicated(&staging(&larger, &rt)));
}

/// Kills the generated `ingest-jira` binary with SIGKILL at random points (at
/// least 20 times, or `MANIFOLD_KILLS`), restarting it each time, until a run
/// finishes; the tables then hold exactly what one uninterrupted run writes:
/// every record once, nothing lost, nothing twice. Each run is killed a random
/// few milliseconds after it finished a batch, so the kills land all along the
/// stream and inside batches, whatever the machine's speed. `scripts/soak.sh`
/// runs a longer variant.
#[test]
fn killing_the_ingest_at_random_points_loses_nothing_and_writes_nothing_twice() {
    let kills_wanted: usize = std::env::var("MANIFOLD_KILLS").ok().and_then(|v| v.parse().ok()).unwrap_or(20);
    let bin = env!("CARGO_BIN_EXE_e2e-ingest-jira");
    let dir = tempfile::tempdir().unwrap();
    let keys = 30 + 2 * kills_wanted; // more kills, a longer stream
    let (source, synthetic) = write_stream(
        dir.path(),
        &jira::REGISTRY,
        &ProduceOptions { keys_per_entity: keys, segments: 5, ..ProduceOptions::default() },
    );
    let batch = 20;

    // The reference: one uninterrupted run, in process.
    let rt = rt();
    let clean = lake_at(&dir.path().join("clean"));
    ingest(&rt, &clean, options(&source, batch));

    let crashed_dir = dir.path().join("crashed");
    let batch_arg = batch.to_string();
    let args = ["ingest".as_ref(), "--source".as_ref(), source.as_os_str(), "--lake".as_ref(), crashed_dir.as_os_str()];
    let args: Vec<&std::ffi::OsStr> =
        args.into_iter().chain(["--batch-records".as_ref(), batch_arg.as_ref()]).collect();
    // Where each kill left the committed position.
    let mut positions = std::collections::BTreeSet::new();
    kill_repeatedly(
        kills_wanted,
        7,
        40,
        || spawn(bin, &args),
        || finished_batches(&crashed_dir),
        || {
            positions.insert(committed_position(&rt, &crashed_dir));
        },
    );
    eprintln!("{kills_wanted} kills; committed positions after a kill: {positions:?}");
    assert!(positions.len() >= kills_wanted / 2, "kills landed at too few points: {positions:?}");
    let crashed = lake_at(&crashed_dir);
    assert_eq!(staging(&crashed, &rt), staging(&clean, &rt), "staged rows after {kills_wanted} kills");
    assert_eq!(letters(&crashed, "jira", &rt), letters(&clean, "jira", &rt));
    assert_eq!(deduplicated(&staging(&crashed, &rt)), synthetic.expected);
    assert_eq!(dead_letters(&crashed, "jira", &rt), bad_counts(&synthetic));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    /// Any permutation and duplication of the same records, in any batch size
    /// and segmentation, batches ended by record count or bytes, and however a
    /// batch's rows are split into Arrow batches by payload bytes, deduplicates
    /// by LWW to the producer's truth.
    #[test]
    fn any_order_and_duplication_converges(
        seed in 0u64..1_000,
        shuffle in 0u64..u64::MAX,
        copies in prop::collection::vec(0usize..3, 1..400),
        batch in 16usize..120,
        segments in 1usize..5,
        chunk in prop::option::of(1usize..3_000),
        batch_bytes in prop::option::of(1usize..20_000),
    ) {
        let produce_options = ProduceOptions {
            seed,
            keys_per_entity: 6,
            bad_records: false,
            duplicate_ratio: 0.0,
            ..ProduceOptions::default()
        };
        let mut synthetic = produce::synthesize(&jira::REGISTRY, &produce_options);
        // Duplicate some records (copies[i % len] extra copies), then shuffle.
        synthetic.records = duplicated_and_shuffled(&synthetic.records, &copies, shuffle);
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("stream");
        produce::write(&source, &synthetic, segments).unwrap();
        let (rt, lake) = (rt(), lake_at(&dir.path().join("lake")));
        let mut o = options(&source, batch);
        if let Some(chunk) = chunk {
            o.payload_bytes_per_chunk = chunk;
        }
        if let Some(bytes) = batch_bytes {
            o.batch_bytes = bytes;
        }
        ingest(&rt, &lake, o);
        prop_assert_eq!(deduplicated(&staging(&lake, &rt)), synthetic.expected);
    }
}

/// `--follow` keeps reading: segments written after the ingest started land
/// while it runs.
#[test]
fn following_picks_up_segments_written_later() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("stream");
    let produce_options = ProduceOptions { keys_per_entity: 5, bad_records: false, ..ProduceOptions::default() };
    let synthetic = produce::synthesize(&jira::REGISTRY, &produce_options);
    let (first, second) = synthetic.records.split_at(synthetic.records.len() / 2);
    let frame = |records: &[Vec<u8>]| {
        let mut out = Vec::new();
        for r in records {
            write_delimited(&mut out, r);
        }
        out
    };
    std::fs::create_dir_all(&source).unwrap();
    std::fs::write(source.join("a.pb"), frame(first)).unwrap();
    let lake_dir = dir.path().join("lake");
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let lake = lake_at(&lake_dir);
    let mut o = options(&source, 1000);
    o.follow = true;
    o.poll_interval = Duration::from_millis(20);
    let task = rt.spawn(async move {
        let mut ingest = Ingest::open(&jira::REGISTRY, &lake, o).await.unwrap();
        ingest.run(|_| {}).await.unwrap()
    });
    let rows =
        |rt: &tokio::runtime::Runtime| -> usize { staging(&lake_at(&lake_dir), rt).values().map(Vec::len).sum() };
    let wait_for = |want: usize| {
        for _ in 0..500 {
            if rows(&rt) >= want {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("{want} rows never arrived (have {})", rows(&rt));
    };
    wait_for(1);
    std::fs::write(source.join("b.pb"), frame(second)).unwrap();
    // Everything, once LWW within each batch is applied, covers every key.
    for _ in 0..500 {
        if deduplicated(&staging(&lake_at(&lake_dir), &rt)) == synthetic.expected {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(deduplicated(&staging(&lake_at(&lake_dir), &rt)), synthetic.expected);
    assert!(!task.is_finished(), "a following ingest keeps running");
    task.abort();
}

/// Two ingests of one source into one lake: the one that commits a batch
/// second loses the race on its `txn` (the same application id and version)
/// and stops with an error that says so, writing nothing; the tables hold
/// every record once.
#[test]
fn a_second_ingest_of_the_same_source_stops_on_the_first_ones_commits() {
    let dir = tempfile::tempdir().unwrap();
    let produce = ProduceOptions { keys_per_entity: 30, segments: 2, bad_records: false, ..ProduceOptions::default() };
    let (source, _) = write_stream(dir.path(), &jira::REGISTRY, &produce);
    let (rt, lake) = (rt(), lake_at(&dir.path().join("lake")));
    let (first, second) = rt.block_on(async {
        // Both open the tables before either commits, as two processes would.
        let first = Ingest::open(&jira::REGISTRY, &lake, options(&source, 100)).await.unwrap();
        let second = Ingest::open(&jira::REGISTRY, &lake, options(&source, 100)).await.unwrap();
        (first, second)
    });
    let (mut first, mut second) = (first, second);
    let done = rt.block_on(first.run(|_| {})).unwrap();
    let err = rt.block_on(second.run(|_| {})).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("another process committed to `manifold_"), "{message}");
    assert!(message.contains("run one ingest per source and lake"), "{message}");
    // Nothing of the second one landed: a fresh run finds everything committed.
    let again = ingest(&rt, &lake, options(&source, 100));
    assert_eq!((again.records, again.batches), (0, 0));
    let alone_dir = dir.path().join("alone");
    let alone_lake = lake_at(&alone_dir);
    ingest(&rt, &alone_lake, options(&source, 100));
    assert_eq!(staging(&lake, &rt), staging(&alone_lake, &rt));
    assert!(done.batches > 1);
}

/// A stop requested while a batch is in flight ends the run after that
/// batch's commits; the next run goes on from there, and the tables end up
/// as one uninterrupted run leaves them.
#[test]
fn a_stop_request_ends_the_run_after_the_batch_in_flight_and_the_next_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let (source, _) = write_stream(
        dir.path(),
        &jira::REGISTRY,
        &ProduceOptions { keys_per_entity: 20, segments: 2, ..ProduceOptions::default() },
    );
    let rt = rt();
    let clean = lake_at(&dir.path().join("clean"));
    let whole = ingest(&rt, &clean, options(&source, 50));
    assert!(whole.batches > 3 && !whole.stopped, "{whole:?}");

    let lake = lake_at(&dir.path().join("stopped"));
    let stoppable = options(&source, 50);
    let stop = stoppable.stop.clone();
    let first = rt.block_on(async {
        let mut ingest = Ingest::open(&jira::REGISTRY, &lake, stoppable).await.unwrap();
        ingest
            .run(|r| {
                if r.batches == 2 {
                    stop.request()
                }
            })
            .await
            .unwrap()
    });
    assert!(first.stopped && first.batches == 2, "{first:?}");
    assert_eq!(finished_batches(&dir.path().join("stopped")), 1 + 2, "the table's creation and two batches");
    let rest = ingest(&rt, &lake, options(&source, 50));
    assert_eq!((first.batches + rest.batches, first.records + rest.records), (whole.batches, whole.records));
    assert_eq!(rest.already_committed, 0, "the stop came between batches");
    assert_eq!(staging(&lake, &rt), staging(&clean, &rt));
    assert_eq!(letters(&lake, "jira", &rt), letters(&clean, "jira", &rt));
}

/// SIGTERM (what a scaled-down pod gets) or Ctrl-C stops a following
/// `ingest-jira ingest` after its batch in flight: status 0, the summary
/// printed, everything before committed.
#[test]
fn sigterm_or_ctrl_c_stops_a_following_ingest_with_its_summary() {
    let bin = env!("CARGO_BIN_EXE_e2e-ingest-jira");
    let dir = tempfile::tempdir().unwrap();
    let (source, synthetic) = write_stream(
        dir.path(),
        &jira::REGISTRY,
        &ProduceOptions { keys_per_entity: 10, segments: 2, ..ProduceOptions::default() },
    );
    // Batches of 100 within each of the two segments (`produce::write` splits
    // evenly, and the first one ends with a torn tail).
    let per_segment = synthetic.records.len().div_ceil(2);
    let batches = (per_segment + 1).div_ceil(100) + (synthetic.records.len() - per_segment).div_ceil(100);
    let rt = rt();
    for signal in ["-TERM", "-INT"] {
        let lake_dir = dir.path().join(format!("lake{signal}"));
        let args = ["ingest", "--follow", "--batch-records", "100", "--source"].map(std::ffi::OsStr::new);
        let mut child = Command::new(bin)
            .args(args)
            .arg(&source)
            .arg("--lake")
            .arg(&lake_dir)
            .env("RUST_LOG", "error")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Every batch, the following ingest then waiting for more (watched
        // in the log, not by opening the lake beside the ingest).
        let started = std::time::Instant::now();
        while finished_batches(&lake_dir) < 1 + batches {
            assert!(child.try_wait().unwrap().is_none(), "the ingest ended before it was stopped");
            assert!(started.elapsed() < Duration::from_secs(60), "the ingest never reached the last batch");
            std::thread::sleep(Duration::from_millis(20));
        }
        let sent = Command::new("kill").arg(signal).arg(child.id().to_string()).status().unwrap();
        assert!(sent.success());
        let out = child.wait_with_output().unwrap();
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.status.code(), Some(0), "{signal}: {stderr}");
        assert!(stdout.starts_with("stopped on request: ") && stdout.contains(" records in "), "{stdout}");
        // A run to the end finds nothing left.
        let rest = ingest(&rt, &lake_at(&lake_dir), options(&source, 100));
        assert_eq!((rest.records, rest.batches), (0, 0), "{signal}: {rest:?}");
        assert_eq!(deduplicated(&staging(&lake_at(&lake_dir), &rt)), synthetic.expected);
    }
}

/// The CLI kit of the generated binary: produce, ingest, status and tables.
#[test]
fn the_ingestion_binary_produces_ingests_and_reports() {
    let bin = env!("CARGO_BIN_EXE_e2e-ingest-jira");
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(bin).args(args).current_dir(dir.path()).env("RUST_LOG", "error").output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    run(&["produce", "--out", "stream", "--keys", "20", "--segments", "2"]);
    let before = run(&["status", "--source", "stream", "--lake", "lake"]);
    assert!(before.contains("manifold_entities.JiraIssue") && before.contains("-  "), "{before}");
    assert!(!before.contains("dead-letter reason"), "no dead letters before the first ingest: {before}");
    // Asking makes nothing, not even the lake's directory.
    assert!(!dir.path().join("lake").exists());
    let summary = run(&["ingest", "--source", "stream", "--lake", "lake"]);
    assert!(summary.contains("11 dead letters"), "{summary}");
    let after = run(&["status", "--source", "stream", "--lake", "lake"]);
    let (step1, rest) = after.split_once("\nstep 2").unwrap_or_else(|| panic!("two parts: {after}"));
    // Last, the dead letters by reason (the stream has one bad record of each kind).
    let (step2, reasons) = rest.split_once("\ndead-letter reason").unwrap_or_else(|| panic!("reasons: {after}"));
    let reasons: Vec<String> =
        reasons.lines().skip(2).map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect();
    assert_eq!(
        reasons,
        [
            "corrupt_frame 1",
            "missing_identity 1",
            "missing_payload 1",
            "offload 2",
            "payload_mismatch 1",
            "type_mismatch 1",
            "undecodable 1",
            "unknown_entity_type 1",
            "unknown_type_url 1",
            "unusable_workspace_id 1"
        ],
        "{after}"
    );
    // Cells: table, version, rows, files, committed, lag; each staging table has files now.
    let header: Vec<&str> = step1.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header[..4], ["table", "version", "rows", "files"], "{step1}");
    let issues = step1.lines().find(|l| l.starts_with("manifold_entities.JiraIssue ")).unwrap();
    assert!(issues.split_whitespace().nth(3).unwrap().parse::<u64>().unwrap() > 0, "{step1}");
    for line in step1.lines().skip(2) {
        assert!(line.trim_end().ends_with(" 0"), "no lag after a full ingest: {line}");
    }
    // Nothing merged yet: every model table is behind its staging table.
    let models: usize = jira::REGISTRY.entities.iter().map(|e| e.models.len()).sum();
    let unmerged: Vec<&str> = step2.lines().skip(3).collect();
    assert_eq!(unmerged.len(), models, "{step2}");
    // Cells: table, writer, version, rows, merged, behind, oldest unmerged.
    let behind = |line: &str| line.split_whitespace().nth(5).unwrap().parse::<i64>().unwrap();
    assert!(unmerged.iter().all(|l| behind(l) > 0 && l.ends_with(" ago")), "{step2}");
    let tables = run(&["tables", "--lake", "lake"]);
    assert_eq!(tables.lines().count(), 2 + jira::REGISTRY.entities.len() + 1, "{tables}");
    assert!(tables.contains("manifold_dead_letters.jira"), "{tables}");
    // Step 2: every ingestion model's table, then nothing new on a second run.
    let merged = run(&["merge", "--lake", "lake"]);
    assert_eq!(merged.lines().count(), 2 + models, "{merged}");
    let status = run(&["status", "--source", "stream", "--lake", "lake"]);
    let step2 = status.split_once("\nstep 2").unwrap().1.split_once("\ndead-letter reason").unwrap().0;
    for line in step2.lines().skip(3) {
        assert!(behind(line) == 0 && line.ends_with(" -"), "merged up to date: {line}");
    }
    assert!(merged.contains("jira.jira_issue__labels") && merged.contains("merge_exploded"), "{merged}");
    let again = run(&["merge", "--lake", "lake"]);
    assert_eq!(again.matches("up to date").count(), models, "{again}");
    // `run --once`: both steps, nothing new either.
    let once = run(&["run", "--source", "stream", "--lake", "lake", "--once"]);
    assert!(once.contains("0 records") && once.matches("up to date").count() == models, "{once}");
    // A redrive by the build that dead-lettered them stages nothing.
    let redriven = run(&["redrive", "--source", "stream", "--lake", "lake"]);
    assert_eq!(
        redriven,
        "11 dead letters: 0 staged now, 11 still dead letters (this build cannot stage them either)\n  still dead: \
         corrupt_frame 1, missing_identity 1, missing_payload 1, offload 2, payload_mismatch 1, type_mismatch 1, \
         undecodable 1, unknown_entity_type 1, unknown_type_url 1, unusable_workspace_id 1\n"
    );
    // Errors name what failed and exit 1, and make nothing: a mistyped source
    // leaves no lake of empty tables, and a mistyped lake is not a new, empty
    // one with nothing to merge, list, optimize or vacuum.
    let fails = |args: &[&str], names: &str| {
        let out = Command::new(bin).args(args).current_dir(dir.path()).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(names), "{args:?}: {stderr}");
    };
    fails(&["ingest", "--source", "missing", "--lake", "new-lake"], "reading the source `missing`");
    fails(&["run", "--source", "missing", "--lake", "new-lake", "--once"], "reading the source `missing`");
    for command in [
        &["merge", "--lake", "lak"][..],
        &["tables", "--lake", "lak"],
        &["optimize", "--lake", "lak"],
        &["redrive", "--source", "stream", "--lake", "lak"],
    ] {
        fails(command, "there is no lake at `lak`");
    }
    fails(&["vacuum", "--lake", "file:///nowhere/lak"], "there is no lake at `file:///nowhere/lak`");
    assert!(!dir.path().join("new-lake").exists() && !dir.path().join("lak").exists());
    assert!(!std::path::Path::new("/nowhere").exists());
}

/// `bench` on a small stream: decode + flatten and step 1, each run twice
/// (step 1 checks that every record landed); without Python it says why it
/// skips that row, and leaves nothing behind.
#[test]
fn the_step_1_bench_prints_a_table_of_median_runs() {
    let bin = env!("CARGO_BIN_EXE_e2e-ingest-jira");
    let dir = tempfile::tempdir().unwrap();
    let args = ["bench", "--records", "3000", "--batch-records", "1000", "--repeat", "2"];
    let (stdout, stderr) = manifold_e2e::run_bench(bin, &args, dir.path());
    assert!(stdout.contains("3000 records of jira.") && stdout.contains("median of 2 runs"), "{stdout}");
    let rows: Vec<&str> = stdout.lines().filter(|l| l.starts_with("| decode") || l.starts_with("| step 1")).collect();
    assert_eq!(rows.len(), 2, "{stdout}");
    assert!(!stdout.contains("| python"), "{stdout}");
    assert_eq!(stderr.matches("bench: step 1, run ").count(), 2, "{stderr}");
    assert_eq!(stderr.matches("skipping the Python row").count(), 1, "asked once: {stderr}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "the bench removes its tables");
}

/// A bad `--source` or `--lake` fails with status 1 and one line that says
/// what was being done and why, each cause once (before, anyhow's chain
/// repeated every cause the outer error already quoted).
#[test]
fn a_missing_source_or_a_lake_that_is_a_file_is_one_line_each_cause_once() {
    let bin = env!("CARGO_BIN_EXE_e2e-ingest-jira");
    let dir = tempfile::tempdir().unwrap();
    let error_of = |source: &Path, lake: &Path| {
        let out = Command::new(bin).arg("ingest").arg("--source").arg(source).arg("--lake").arg(lake).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error: ")).collect();
        assert_eq!(errors.len(), 1, "{stderr}");
        errors[0].to_string()
    };

    let missing = dir.path().join("missing");
    let error = error_of(&missing, &dir.path().join("lake"));
    assert!(error.starts_with("error: ingesting `") && error.contains("reading the source"), "{error}");
    assert!(error.contains(&*missing.to_string_lossy()), "{error}");
    assert_eq!(error.matches("(os error 2)").count(), 1, "{error}");

    let (source, file) = (dir.path().join("stream"), dir.path().join("file"));
    std::fs::create_dir(&source).unwrap();
    std::fs::write(&file, "").unwrap();
    let error = error_of(&source, &file);
    assert!(
        error.starts_with("error: opening the lake `") && error.contains("is a file; a lake is a directory"),
        "{error}"
    );
    assert_eq!(std::fs::read(&file).unwrap(), b"", "the file is left as it was");
}
