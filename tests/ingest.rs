//! Step 1 end to end: a synthetic stream → the staging tables, read back.

use std::collections::BTreeMap;

use manifold_e2e::lake::{dead_letters, deduplicated, staging};
use manifold_e2e::{avocado, jira};
use manifold_runtime::ingest::{Ingest, Options};
use manifold_runtime::lake::Lake;
use manifold_runtime::produce::{self, ProduceOptions};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

#[test]
fn a_stream_converges_to_the_producers_truth_and_bad_records_are_dead_letters() {
    let dir = tempfile::tempdir().unwrap();
    let (source, lake_dir) = (dir.path().join("stream"), dir.path().join("lake"));
    let options = ProduceOptions { keys_per_entity: 40, segments: 3, ..ProduceOptions::default() };
    let synthetic = produce::synthesize(&jira::REGISTRY, &options);
    produce::write(&source, &synthetic, options.segments).unwrap();
    let rt = rt();
    let lake = Lake::open(lake_dir.to_str().unwrap()).unwrap();
    let mut opts = Options::new(&source);
    opts.batch_records = 97;
    let report = rt.block_on(async {
        let mut ingest = Ingest::open(&jira::REGISTRY, &lake, opts.clone()).await.unwrap();
        ingest.run(|_| {}).await.unwrap()
    });
    let total_bad: usize = synthetic.bad.values().sum();
    assert_eq!(report.records as usize, synthetic.records.len() + 1, "every record and the torn tail");
    assert_eq!(report.dead_letters as usize, total_bad);
    let tables = staging(&lake, &rt);
    assert_eq!(deduplicated(&tables), synthetic.expected);
    let letters = dead_letters(&lake, "jira", &rt);
    let want: BTreeMap<String, usize> = synthetic.bad.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    assert_eq!(letters, want);
    // A second run finds everything committed and writes nothing.
    let again = rt.block_on(async {
        let mut ingest = Ingest::open(&jira::REGISTRY, &lake, opts).await.unwrap();
        ingest.run(|_| {}).await.unwrap()
    });
    assert_eq!(again.records, 0);
    assert_eq!(staging(&lake, &rt), tables);
    let _ = avocado::REGISTRY;
}
