//! `manifold bench`: a full `manifold build` of the synthetic tree (every
//! artifact, written to disk) beside the real tools on the same output — `buf
//! build` of the emitted protos and `dbt parse` of the emitted project — printed
//! as one table with ratios. Figures come from this machine, this run.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::synthetic::{Shape, tree};
use crate::{compile, emit, write};

/// One row of the table.
pub struct Row {
    pub what: String,
    pub time: Option<Duration>,
    pub note: String,
}

/// Runs the benchmark; `tools` is the project's `tools/` folder (buf, the dbt venv).
pub fn run(shape: Shape, iterations: usize, tools: &Path) -> anyhow::Result<Vec<Row>> {
    let tools = &tools.canonicalize().unwrap_or_else(|_| tools.to_path_buf());
    let dir = tempfile::tempdir()?;
    let schemas = dir.path().join("schemas");
    for (rel, text) in tree(shape) {
        let path = schemas.join(&rel);
        std::fs::create_dir_all(path.parent().expect("a file in a folder"))?;
        std::fs::write(path, text)?;
    }
    let out = dir.path().join("generated");
    let entities = shape.products * shape.entities_per_product;
    let (files, first, _) = build(&schemas, &out)?;
    let iterations = iterations.max(1);
    let mut runs: Vec<Duration> = Vec::new();
    let mut stages: Vec<Stages> = Vec::new();
    for _ in 0..iterations {
        let (_, total, write) = build(&schemas, &out)?;
        runs.push(total);
        stages.push(Stages { write, ..stages_alone(&schemas)? });
    }
    // The same rerun with every stage's data parallelism on one thread.
    let one_core = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
    let mut one_core_runs: Vec<Duration> = Vec::new();
    for _ in 0..iterations {
        one_core_runs.push(one_core.install(|| build(&schemas, &out))?.1);
    }
    let cores = rayon::current_num_threads();
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let stage = |f: fn(&Stages) -> Duration| median(stages.iter().map(f).collect());
    let mut rows = vec![
        Row {
            what: format!("manifold build: {entities} entities × {} fields, first run", shape.fields_per_entity),
            time: Some(first),
            note: format!("{files} files written, lock created"),
        },
        Row {
            what: "manifold build: rerun, nothing changed".into(),
            time: Some(median(runs)),
            note: format!(
                "median of {iterations} runs on {cores} threads; compiles and emits everything, writes nothing"
            ),
        },
        Row {
            what: "manifold build: rerun on one thread".into(),
            time: Some(median(one_core_runs)),
            note: format!("median of {iterations} runs; the same work without data parallelism"),
        },
        Row {
            what: "  stage alone: front end (parse, resolve, lock)".into(),
            time: Some(stage(|s| s.front)),
            note: "each stage timed on its own, one after another; `build` overlaps the protos with the rest".into(),
        },
        Row {
            what: "  stage alone: protos + descriptor set (protox)".into(),
            time: Some(stage(|s| s.proto)),
            note: String::new(),
        },
        Row {
            what: "  stage alone: dbt project + compiled SQL".into(),
            time: Some(stage(|s| s.dbt)),
            note: String::new(),
        },
        Row {
            what: "  stage alone: table schemas (sqlparser, lowering)".into(),
            time: Some(stage(|s| s.tables)),
            note: String::new(),
        },
        Row {
            what: "  of the rerun: comparing with / writing files".into(),
            time: Some(stage(|s| s.write)),
            note: String::new(),
        },
    ];
    let buf = tools.join("node_modules/.bin/buf");
    rows.push(timed_tool(
        "buf build (the emitted protos)",
        &buf,
        &["build", "--error-format=json"],
        &out.join("proto"),
        &[],
    ));
    // `manifold check` against the built tree after 100 changes, and `buf breaking`
    // on the emitted protos of the same pair.
    let changed = dir.path().join("changed");
    for (rel, text) in with_changes(&tree(shape), 100) {
        let path = changed.join("schemas").join(&rel);
        std::fs::create_dir_all(path.parent().expect("a file in a folder"))?;
        std::fs::write(path, text)?;
    }
    let baseline_lock = std::fs::read_to_string(schemas.join(crate::lock::LOCK_FILE))?;
    std::fs::write(changed.join("schemas").join(crate::lock::LOCK_FILE), &baseline_lock)?;
    let start = Instant::now();
    let c = compile(&changed.join("schemas"), "schemas")?;
    let baseline = crate::evolve::Baseline {
        name: "baseline".into(),
        lock_text: baseline_lock,
        compiled: None,
        released_columns: Default::default(),
    };
    let report = crate::evolve::check(c, baseline, &crate::evolve::Config::default(), "2026-01-01");
    let check_time = start.elapsed();
    rows.push(Row {
        what: "manifold check: 100 changes against the lock".into(),
        time: Some(check_time),
        note: format!(
            "{} findings ({} errors); compiles the changed tree and pairs it with the baseline",
            report.findings.len(),
            report.count(crate::evolve::Severity::Error)
        ),
    });
    let c = compile(&changed.join("schemas"), "schemas")?;
    let protos: Vec<_> = emit::proto::emit(&c.model, &c.lock).files;
    write::write_tree(&changed.join("generated"), &protos)?;
    let against = out.join("proto").display().to_string();
    rows.push(timed_tool(
        "buf breaking (the same pair's protos)",
        &buf,
        &["breaking", "--error-format=json", "proto", "--against", &against],
        &changed.join("generated"),
        &[],
    ));
    let project = out.join("dbt");
    std::fs::write(
        project.join("profiles.yml"),
        "manifold:\n  target: local\n  outputs:\n    local:\n      type: spark\n      method: session\n      host: NA\n      schema: manifold\n",
    )?;
    let dbt = tools.join("venv/bin/dbt");
    rows.push(timed_tool(
        "dbt parse (the emitted project)",
        &dbt,
        &["parse", "--profiles-dir", ".", "--no-partial-parse"],
        &project,
        &[("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")],
    ));
    Ok(rows)
}

/// The synthetic tree with `n` breaking changes, one per entity file, cycling
/// through: a type change (EC006), a removed field (EC002), a required field
/// added (EC011).
fn with_changes(files: &[(String, String)], n: usize) -> Vec<(String, String)> {
    let mut changed = 0;
    files
        .iter()
        .map(|(rel, text)| {
            if changed >= n || !rel.contains("/e") {
                return (rel.clone(), text.clone());
            }
            let new = match changed % 3 {
                0 => text.replacen("field8: Json;", "field8: String;", 1),
                1 => text.replacen("  /** Field 9. */\n  field9?: String;\n", "", 1),
                _ => text.replacen("  id: ARI;", "  id: ARI;\n  extra: Int;", 1),
            };
            if new != *text {
                changed += 1;
            }
            (rel.clone(), new)
        })
        .collect()
}

/// Time spent in each stage of one build, each stage run on its own.
#[derive(Clone, Copy, Default)]
struct Stages {
    front: Duration,
    proto: Duration,
    dbt: Duration,
    tables: Duration,
    write: Duration,
}

/// One `manifold build`, exactly as the CLI runs it: the front end, every emitter
/// (`crate::emit_with_layout`), the lock and the tree written. Returns the number
/// of files, the wall time and the part of it spent writing.
fn build(schemas: &Path, out: &Path) -> anyhow::Result<(usize, Duration, Duration)> {
    let t = Instant::now();
    let c = compile(schemas, "schemas")?;
    anyhow::ensure!(!c.diagnostics.has_errors(), "the synthetic tree has errors");
    let layout = emit::crates::Layout::between(out, schemas)?;
    let emitted = crate::emit_with_layout(&c, &layout);
    anyhow::ensure!(!emitted.diagnostics.has_errors(), "the synthetic tree has errors");
    let w = Instant::now();
    write::write_durably_if_changed(&c.lock_path, c.lock_text.as_bytes())?;
    write::write_tree(out, &emitted.artifacts)?;
    Ok((emitted.artifacts.len(), t.elapsed(), w.elapsed()))
}

/// The compiling and emitting stages of [`build`] timed one at a time (the
/// writing is timed within `build`).
fn stages_alone(schemas: &Path) -> anyhow::Result<Stages> {
    let mut s = Stages::default();
    let t = Instant::now();
    let c = compile(schemas, "schemas")?;
    s.front = t.elapsed();
    let t = Instant::now();
    let protos = emit::proto::emit(&c.model, &c.lock);
    s.proto = t.elapsed();
    let t = Instant::now();
    let dbt = emit::dbt::emit(&c.model, &c.lock);
    s.dbt = t.elapsed();
    let t = Instant::now();
    let tables = emit::table::emit(&c.model, &c.lock, &dbt.models);
    s.tables = t.elapsed();
    anyhow::ensure!(
        !dbt.diagnostics.has_errors() && !tables.diagnostics.has_errors() && protos.descriptor_set.is_ok(),
        "the synthetic tree has errors"
    );
    Ok(s)
}

fn timed_tool(what: &str, program: &PathBuf, args: &[&str], dir: &Path, env: &[(&str, &str)]) -> Row {
    if !program.exists() {
        return Row {
            what: what.into(),
            time: None,
            note: format!("{} not installed (scripts/setup-*.sh)", program.display()),
        };
    }
    let start = Instant::now();
    let out = Command::new(program).args(args).current_dir(dir).envs(env.iter().copied()).output();
    let time = start.elapsed();
    match out {
        Ok(o) if o.status.success() => Row { what: what.into(), time: Some(time), note: String::new() },
        Ok(o) => Row {
            what: what.into(),
            time: None,
            note: format!(
                "failed: {}",
                String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .chain(String::from_utf8_lossy(&o.stderr).lines())
                    .last()
                    .unwrap_or("")
            ),
        },
        Err(e) => Row { what: what.into(), time: None, note: format!("cannot run: {e}") },
    }
}

/// The rows as a Markdown table, ratios relative to the `manifold build` rerun.
pub fn table(rows: &[Row]) -> String {
    let base = rows.get(1).and_then(|r| r.time).unwrap_or(Duration::from_secs(1)).as_secs_f64();
    let mut out = String::from("| step | time | × manifold build | note |\n|---|---:|---:|---|\n");
    for r in rows {
        let (time, ratio) = match r.time {
            Some(t) => (format!("{:.3} s", t.as_secs_f64()), format!("{:.1}×", t.as_secs_f64() / base)),
            None => ("—".into(), "—".into()),
        };
        out.push_str(&format!("| {} | {time} | {ratio} | {} |\n", r.what, r.note));
    }
    out
}
