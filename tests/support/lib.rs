//! The generated Rust of the example products (see `build.rs`), and helpers for
//! the end-to-end tests in `tests/`.

/// `schemas/avocado/`, generated.
pub mod avocado {
    include!(concat!(env!("OUT_DIR"), "/manifold_avocado.rs"));
}

/// `schemas/confluence/`, generated.
pub mod confluence {
    include!(concat!(env!("OUT_DIR"), "/manifold_confluence.rs"));
}

/// `schemas/jira/`, generated.
pub mod jira {
    include!(concat!(env!("OUT_DIR"), "/manifold_jira.rs"));
}

/// `schemas/opsgenie/`, generated.
pub mod opsgenie {
    include!(concat!(env!("OUT_DIR"), "/manifold_opsgenie.rs"));
}

pub mod lake;
pub mod models;

/// `tests/fixtures/conformance/`, generated: the Spark conformance product.
pub mod conformance {
    include!(concat!(env!("OUT_DIR"), "/manifold_conformance.rs"));
}
pub mod kill;

/// A synthetic stream of `registry`'s product made with `options`, written
/// to `dir/stream` in `options.segments` segments; returns its directory and
/// the stream (with its oracle).
pub fn write_stream(
    dir: &std::path::Path,
    registry: &manifold_runtime::Registry,
    options: &manifold_runtime::produce::ProduceOptions,
) -> (std::path::PathBuf, manifold_runtime::produce::Synthetic) {
    let source = dir.join("stream");
    let synthetic = manifold_runtime::produce::synthesize(registry, options);
    manifold_runtime::produce::write(&source, &synthetic, options.segments).unwrap();
    (source, synthetic)
}

/// Runs a bench command (`args`) of the ingestion binary `bin` without
/// Python, its scratch tables under `tmp`; checks that it succeeded and
/// returns its stdout and stderr.
pub fn run_bench(bin: &str, args: &[&str], tmp: &std::path::Path) -> (String, String) {
    let out = std::process::Command::new(bin)
        .args(args)
        .args(["--python", "/nonexistent/python"])
        .env("TMPDIR", tmp)
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{args:?}: {stderr}");
    (stdout.into_owned(), stderr.into_owned())
}

/// Copies the directory `from` to `to`, recursively.
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}
