//! Object stores, against a local S3 endpoint (moto's `moto_server` from
//! tools/venv, `scripts/setup-python.sh`): offloaded payloads on `s3://` (one
//! uploaded with boto3 lands, a missing one is a dead letter), and a whole lake
//! on `s3://`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use manifold_e2e::jira;
use manifold_e2e::lake::{deduplicated, letters, staging, staging_of};
use manifold_runtime::ingest::{Ingest, Options};
use manifold_runtime::lake::Lake;
use manifold_runtime::produce::{self, ProduceOptions};
use manifold_runtime::prost::Message;
use manifold_runtime::source::write_delimited;

use jira::proto::manifold::jira::v1::JiraIssue;
use jira::proto::manifold::v1::{OffloadPointer, facsimile_record::Payload};

fn venv(tool: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/venv/bin").join(tool);
    assert!(p.exists(), "{} is not installed: run `scripts/setup-python.sh` (scripts/test.sh does)", p.display());
    p
}

/// `moto_server` on a free port, stopped on drop.
struct Moto(Child, u16);

impl Moto {
    fn start() -> Moto {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut child = Command::new(venv("moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Moto(child, port);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("moto_server did not start on port {port}");
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.1)
    }

    /// Settings for object_store (and the lake) to reach this endpoint.
    fn storage_options(&self) -> Vec<(String, String)> {
        [
            ("aws_endpoint", self.endpoint().as_str()),
            ("aws_allow_http", "true"),
            ("aws_access_key_id", "k"),
            ("aws_secret_access_key", "s"),
            ("aws_region", "us-east-1"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    /// Runs `script` with boto3's client `s3` on this endpoint.
    fn boto3(&self, script: &str, args: &[&Path]) {
        let program = format!(
            "import boto3,sys\n\
             s3=boto3.client('s3',endpoint_url='{}',aws_access_key_id='k',aws_secret_access_key='s',region_name='us-east-1')\n\
             {script}\n",
            self.endpoint()
        );
        let out = Command::new(venv("python")).args(["-c", &program]).args(args).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn an_offloaded_payload_on_s3_is_fetched_and_a_missing_one_is_a_dead_letter() {
    let moto = Moto::start();
    let issue = JiraIssue { issue_id: Some("7".into()), summary: Some("on s3".into()), ..Default::default() };
    let any = prost_types::Any {
        type_url: "type.googleapis.com/manifold.jira.v1.JiraIssue".into(),
        value: issue.encode_to_vec(),
    };
    let stored = any.encode_to_vec();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("object.any"), &stored).unwrap();
    moto.boto3(
        "s3.create_bucket(Bucket='offload')\ns3.upload_file(sys.argv[1],'offload','jira/object.any')",
        &[&dir.path().join("object.any")],
    );

    let sha256 = crate::records::sha256_hex(&stored);
    let record = |key: &str, uri: &str| {
        let pointer = OffloadPointer { uri: uri.into(), size_bytes: stored.len() as i64, sha256: sha256.clone() };
        crate::records::issue(key, Some(Payload::OffloadPointer(pointer))).encode_to_vec()
    };
    let source = dir.path().join("stream");
    std::fs::create_dir_all(&source).unwrap();
    let mut segment = Vec::new();
    write_delimited(&mut segment, &record("k-s3", "s3://offload/jira/object.any"));
    write_delimited(&mut segment, &record("k-gone", "s3://offload/jira/gone.any"));
    std::fs::write(source.join("0001.pb"), &segment).unwrap();

    let lake = Lake::open(dir.path().join("lake").to_str().unwrap()).unwrap();
    let mut options = Options::new(&source);
    options.storage_options = moto.storage_options();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let report = rt.block_on(async {
        let mut ingest = Ingest::open(&jira::REGISTRY, &lake, options).await.unwrap();
        ingest.run(|_| {}).await.unwrap()
    });
    assert_eq!((report.rows_total(), report.dead_letters), (1, 1), "{report:?}");
    let rows = &staging(&lake, &rt)["manifold_entities.JiraIssue"];
    assert_eq!(rows.iter().map(|r| r.key.as_str()).collect::<Vec<_>>(), ["k-s3"]);
    let dead = letters(&lake, "jira", &rt);
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].reason_code, "offload");
    assert!(dead[0].reason.contains("s3://offload/jira/gone.any"), "{}", dead[0].reason);
}

/// An outage of the offload store is not the record's fault: the batch stops
/// before any commit (no row, no dead letter, no progress), and the run after
/// the outage lands every record of it.
#[test]
fn an_unreachable_offload_store_stops_the_batch_and_the_next_run_lands_it() {
    let issue =
        JiraIssue { issue_id: Some("8".into()), summary: Some("after the outage".into()), ..Default::default() };
    let stored = prost_types::Any { type_url: crate::records::ISSUE_TYPE_URL.into(), value: issue.encode_to_vec() }
        .encode_to_vec();
    let sha256 = crate::records::sha256_hex(&stored);
    let inline = |key: &str| {
        let issue = JiraIssue { issue_id: Some(key.into()), ..Default::default() };
        let any = prost_types::Any { type_url: crate::records::ISSUE_TYPE_URL.into(), value: issue.encode_to_vec() };
        crate::records::issue(key, Some(Payload::Entity(any))).encode_to_vec()
    };
    let pointer = OffloadPointer {
        uri: "s3://offload/jira/later.any".into(),
        size_bytes: stored.len() as i64,
        sha256: sha256.clone(),
    };
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("stream");
    std::fs::create_dir_all(&source).unwrap();
    let mut segment = Vec::new();
    write_delimited(&mut segment, &inline("k-before"));
    write_delimited(
        &mut segment,
        &crate::records::issue("k-s3", Some(Payload::OffloadPointer(pointer))).encode_to_vec(),
    );
    write_delimited(&mut segment, &inline("k-after"));
    std::fs::write(source.join("0001.pb"), &segment).unwrap();
    let lake = Lake::open(dir.path().join("lake").to_str().unwrap()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();

    // The outage: object_store's S3 client, without retries, on a port
    // nothing listens on (the connection is refused).
    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let unreachable = object_store::aws::AmazonS3Builder::new()
        .with_bucket_name("offload")
        .with_endpoint(format!("http://127.0.0.1:{closed}"))
        .with_allow_http(true)
        .with_region("us-east-1")
        .with_access_key_id("k")
        .with_secret_access_key("s")
        .with_retry(object_store::RetryConfig { max_retries: 0, ..Default::default() })
        .build()
        .unwrap();
    let mut options = Options::new(&source);
    options.offload_stores = vec![("s3://offload".into(), std::sync::Arc::new(unreachable))];
    let failed = rt.block_on(async {
        let mut ingest = Ingest::open(&jira::REGISTRY, &lake, options).await.unwrap();
        ingest.run(|_| {}).await
    });
    let message = failed.expect_err("the batch cannot be staged").to_string();
    assert!(message.contains("0001.pb:") && message.contains("s3://offload/jira/later.any"), "{message}");
    assert!(message.contains("Nothing of its batch was committed"), "{message}");
    assert!(staging(&lake, &rt).values().all(Vec::is_empty), "no row of the batch is staged");
    assert!(letters(&lake, "jira", &rt).is_empty(), "the record is not a dead letter");

    // The store is back (with the object): the next run stages the batch.
    let moto = Moto::start();
    std::fs::write(dir.path().join("later.any"), &stored).unwrap();
    moto.boto3(
        "s3.create_bucket(Bucket='offload')\ns3.upload_file(sys.argv[1],'offload','jira/later.any')",
        &[&dir.path().join("later.any")],
    );
    let mut options = Options::new(&source);
    options.storage_options = moto.storage_options();
    let report = rt.block_on(async {
        let mut ingest = Ingest::open(&jira::REGISTRY, &lake, options).await.unwrap();
        ingest.run(|_| {}).await.unwrap()
    });
    assert_eq!((report.records, report.rows_total(), report.dead_letters), (3, 3, 0), "{report:?}");
    let mut keys: Vec<String> =
        staging(&lake, &rt)["manifold_entities.JiraIssue"].iter().map(|r| r.key.clone()).collect();
    keys.sort();
    assert_eq!(keys, ["k-after", "k-before", "k-s3"]);
}

#[test]
fn a_lake_on_s3_takes_a_stream_exactly_once() {
    let moto = Moto::start();
    moto.boto3("s3.create_bucket(Bucket='lake')", &[]);
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("stream");
    let options = ProduceOptions { keys_per_entity: 8, segments: 2, ..ProduceOptions::default() };
    let synthetic = produce::synthesize(&jira::REGISTRY, &options);
    produce::write(&source, &synthetic, options.segments).unwrap();
    let lake = Lake::open_with("s3://lake/root", moto.storage_options()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let run = || {
        rt.block_on(async {
            let mut ingest = Ingest::open(&jira::REGISTRY, &lake, Options::new(&source)).await.unwrap();
            ingest.run(|_| {}).await.unwrap()
        })
    };
    let first = run();
    assert_eq!(first.dead_letters as usize, synthetic.bad.values().sum::<usize>());
    let tables = staging_of(&lake, &jira::REGISTRY, &rt);
    assert_eq!(deduplicated(&tables), synthetic.expected);
    let again = run();
    assert_eq!(again.records, 0, "the second run resumes at the end: {again:?}");
    assert_eq!(staging_of(&lake, &jira::REGISTRY, &rt), tables);
}
