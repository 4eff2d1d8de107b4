//! Step 1 across languages: records produced by Python's `protobuf` from the
//! emitted `.proto` files (compiled by grpcio-tools' protoc), ingested by the
//! generated jira code, and the Delta tables read back by the Python `deltalake`
//! package and compared with the producer's oracle (tests/python/cross_language.py).
//! Neither end is Manifold's Rust. The venv comes from `scripts/setup-python.sh`.

use std::path::{Path, PathBuf};
use std::process::Command;

use manifold_e2e::jira;
use manifold_runtime::ingest::{Ingest, Options};
use manifold_runtime::lake::Lake;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn python(args: &[&std::ffi::OsStr]) -> String {
    let py = root().join("tools/venv/bin/python");
    assert!(py.exists(), "tools/venv is not installed: run `scripts/setup-python.sh` (scripts/test.sh does)");
    let out = Command::new(py).arg(root().join("tests/python/cross_language.py")).args(args).output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "python {args:?} failed:\n{stdout}\n{stderr}");
    stdout.into_owned()
}

#[test]
fn python_produced_records_land_and_python_reads_them_back() {
    let dir = tempfile::tempdir().unwrap();
    let produced = python(&["produce".as_ref(), root().join("generated/proto").as_os_str(), dir.path().as_os_str()]);
    assert!(produced.starts_with("produced "), "{produced}");
    let lake_dir = dir.path().join("lake");
    let lake = Lake::open(lake_dir.to_str().unwrap()).unwrap();
    let report = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
        let mut ingest = Ingest::open(&jira::REGISTRY, &lake, Options::new(dir.path().join("stream"))).await.unwrap();
        ingest.run(|_| {}).await.unwrap()
    });
    assert_eq!(report.dead_letters, 0, "{report:?}");
    assert!(report.rows_total() > 0);
    let checked = python(&["check".as_ref(), lake_dir.as_os_str(), dir.path().as_os_str()]);
    assert_eq!(checked.trim(), "OK: 55 rows match the oracle");
}
