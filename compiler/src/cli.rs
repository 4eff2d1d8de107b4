//! The `manifold` command line. Exit codes: 0 ok, 1 errors in the schemas (or a
//! stale lock with `--check`), 2 usage or IO errors. Diagnostics go to stderr,
//! data (the model) to stdout.

use std::io::{IsTerminal, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::diag::{self, Format, codes};
use crate::evolve::Baseline;
use crate::{Compilation, compile, model, write};

#[derive(Parser, Debug)]
#[command(name = "manifold", version, about = "Compile TypeScript entity schemas into the artifacts of a Delta Lake.")]
pub struct Cli {
    /// When to color diagnostics (`NO_COLOR` set means never, unless `always`).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check the schemas, update `manifold.lock`, and report diagnostics.
    Build {
        /// The schema root (holds `manifold.ts`, product folders and `manifold.lock`).
        #[arg(long, default_value = "schemas")]
        schemas: PathBuf,
        /// Where generated artifacts go.
        #[arg(long, default_value = "generated")]
        out: PathBuf,
        /// Write nothing; exit 1 if the lock (or any output) is out of date.
        #[arg(long)]
        check: bool,
        /// How diagnostics are printed.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Print the resolved Model: products, entities with their entity_type, fields
    /// with their proto numbers, types, keys and lifecycle states.
    Model {
        #[arg(long, default_value = "schemas")]
        schemas: PathBuf,
        /// `json` is a documented, stable shape (see the README).
        #[arg(long, value_enum, default_value_t = ModelFormat::Text)]
        format: ModelFormat,
    },
    /// Check the schemas against a baseline for changes that would break consumers
    /// (EVOLUTION-RULES: EC0xx, LC0xx). Exit 1 on a breaking finding, 2 if the
    /// check cannot run.
    Check {
        #[arg(long, default_value = "schemas")]
        schemas: PathBuf,
        /// Compare with the lock at this git ref (e.g. `main`, `origin/main`).
        #[arg(long, conflicts_with = "baseline")]
        against: Option<String>,
        /// Compare with this lock file. Default: the lock committed at HEAD (or the
        /// working-tree lock outside git).
        #[arg(long)]
        baseline: Option<PathBuf>,
        /// The generated tree committed beside the schemas (its staging schemas at
        /// the baseline reveal naming changes, EC015).
        #[arg(long, default_value = "generated")]
        generated: PathBuf,
        #[arg(long, value_enum, default_value_t = crate::evolve::CheckFormat::Text)]
        format: crate::evolve::CheckFormat,
        /// The date sunsets are compared with (YYYY-MM-DD; default: today, UTC).
        #[arg(long, value_parser = iso_date)]
        today: Option<String>,
    },
    /// Benchmark a full build of a synthetic schema tree beside `buf build` and
    /// `dbt parse` of its output; prints one Markdown table.
    Bench {
        /// Entities of the synthetic tree (spread over products of 100).
        #[arg(long, default_value_t = 2000, value_parser = at_least::<1>)]
        entities: usize,
        /// Fields per entity (the synthetic entity's fixed fields take 6).
        #[arg(long, default_value_t = 20, value_parser = at_least::<6>)]
        fields: usize,
        /// Reruns of `manifold build` to take the median of.
        #[arg(long, default_value_t = 5, value_parser = at_least::<1>)]
        iterations: usize,
        /// The project's tools folder (buf, the dbt venv).
        #[arg(long, default_value = "tools")]
        tools: PathBuf,
    },
    /// Explain a diagnostic code or a `manifold check` rule, e.g. `manifold explain M010` or `EC002`; without a code, list them all.
    Explain { code: Option<String> },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModelFormat {
    Text,
    Json,
}

/// Entry point of the `manifold` binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    run(cli)
}

pub fn run(cli: Cli) -> ExitCode {
    let color = use_color(cli.color);
    match cli.command {
        Command::Build { schemas, out, check, format } => build(&schemas, &out, check, format, color),
        Command::Model { schemas, format } => print_model(&schemas, format, color),
        Command::Explain { code } => explain(code.as_deref()),
        Command::Check { schemas, against, baseline, generated, format, today } => {
            check(&schemas, against.as_deref(), baseline.as_deref(), &generated, format, today, color)
        }
        Command::Bench { entities, fields, iterations, tools } => {
            let per = 100.min(entities);
            let shape = crate::synthetic::Shape {
                products: entities.div_ceil(per),
                entities_per_product: per,
                fields_per_entity: fields,
            };
            match crate::bench::run(shape, iterations, &tools) {
                Ok(rows) => {
                    print!("{}", crate::bench::table(&rows));
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    report_error(&e);
                    ExitCode::from(2)
                }
            }
        }
    }
}

fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
        }
    }
}

/// Compiles, printing IO errors; `None` means exit 2.
fn compile_or_report(schemas: &std::path::Path) -> Option<Compilation> {
    let display = schemas.to_string_lossy().trim_end_matches('/').to_string();
    match compile(schemas, &display) {
        Ok(c) => Some(c),
        Err(e) => {
            report_error(&anyhow::Error::new(e));
            None
        }
    }
}

fn report_error(e: &anyhow::Error) {
    let mut msg = format!("error: {e}");
    for cause in e.chain().skip(1) {
        msg.push_str(&format!("\n  caused by: {cause}"));
    }
    eprintln!("{msg}");
}

fn print_diagnostics(c: &Compilation, format: Format, color: bool) {
    if c.diagnostics.is_empty() && format == Format::Text {
        return;
    }
    let text = diag::render(&c.db, &c.diagnostics, format, color);
    let _ = std::io::stderr().write_all(text.as_bytes());
}

fn build(schemas: &std::path::Path, out: &std::path::Path, check: bool, format: Format, color: bool) -> ExitCode {
    // Before anything is read or written (the lock included): a wrong `--out`
    // must not cost the schemas or the files already there.
    if let Err(e) = write::check_apart(out, schemas).and_then(|()| write::check_output_folder(out)) {
        report_error(&anyhow::Error::new(e));
        return ExitCode::from(2);
    }
    let Some(mut c) = compile_or_report(schemas) else { return ExitCode::from(2) };
    let layout = match crate::emit::crates::Layout::between(out, schemas) {
        Ok(l) => l,
        Err(e) => {
            report_error(&anyhow::Error::new(e).context("cannot resolve the output folder"));
            return ExitCode::from(2);
        }
    };
    let emitted = crate::emit_with_layout(&c, &layout);
    c.diagnostics.extend(emitted.diagnostics);
    print_diagnostics(&c, format, color);
    if c.diagnostics.has_errors() {
        return ExitCode::from(1);
    }
    let entities = c.model.entities().count();
    if check {
        let mut stale = Vec::new();
        if c.lock_is_stale() {
            stale.push(format!("changed: {}", c.lock_path.display()));
        }
        match write::diff_tree(out, &emitted.artifacts) {
            Ok(diffs) => stale.extend(diffs.into_iter().map(|d| format!("{}/{d}", out.display()))),
            Err(e) => {
                report_error(&anyhow::Error::new(e).context(format!("cannot read `{}`", out.display())));
                return ExitCode::from(2);
            }
        }
        if !stale.is_empty() {
            eprintln!("error: the generated files are out of date; run `manifold build`:");
            for line in stale {
                eprintln!("  {line}");
            }
            return ExitCode::from(1);
        }
        eprintln!("manifold: {entities} entities; {} and {} are up to date", c.lock_path.display(), out.display());
        return ExitCode::SUCCESS;
    }
    // Stale by its text, not its bytes: a CRLF checkout of an up-to-date lock
    // is left as it is.
    let lock_changed =
        match c.lock_is_stale().then(|| write::write_durably_if_changed(&c.lock_path, c.lock_text.as_bytes())) {
            None => false,
            Some(Ok(changed)) => changed,
            Some(Err(e)) => {
                report_error(&anyhow::Error::new(e).context(format!("cannot write `{}`", c.lock_path.display())));
                return ExitCode::from(2);
            }
        };
    match write::write_tree(out, &emitted.artifacts) {
        Ok(report) => {
            eprintln!(
                "manifold: {} products, {entities} entities; lock {}; {}: {} files written, {} unchanged, {} removed",
                c.model.products.len(),
                if lock_changed { "updated" } else { "unchanged" },
                out.display(),
                report.written.len(),
                report.unchanged,
                report.removed.len()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            report_error(&anyhow::Error::new(e).context(format!("cannot write `{}`", out.display())));
            ExitCode::from(2)
        }
    }
}

fn print_model(schemas: &std::path::Path, format: ModelFormat, color: bool) -> ExitCode {
    let Some(c) = compile_or_report(schemas) else { return ExitCode::from(2) };
    let diag_format = if format == ModelFormat::Json { Format::Json } else { Format::Text };
    if !c.diagnostics.is_empty() {
        print_diagnostics(&c, diag_format, color);
    }
    if c.diagnostics.has_errors() {
        return ExitCode::from(1);
    }
    let out = match format {
        ModelFormat::Json => {
            let mut s = serde_json::to_string_pretty(&model::json::to_json(&c.model, &c.lock, &c.db))
                .expect("model serializes");
            s.push('\n');
            s
        }
        ModelFormat::Text => model::json::to_text(&c.model, &c.lock, &c.db),
    };
    let _ = std::io::stdout().write_all(out.as_bytes());
    ExitCode::SUCCESS
}

fn check(
    schemas: &std::path::Path,
    against: Option<&str>,
    baseline: Option<&std::path::Path>,
    generated: &std::path::Path,
    format: crate::evolve::CheckFormat,
    today: Option<String>,
    color: bool,
) -> ExitCode {
    // The schemas first: when they cannot be read, that is the error to show, not
    // the baseline lock that would sit inside them.
    let Some(c) = compile_or_report(schemas) else { return ExitCode::from(2) };
    let baseline = match (against, baseline) {
        (Some(rev), _) => Baseline::from_git(rev, schemas, generated),
        (None, Some(path)) => Baseline::from_lock_file(path),
        (None, None) => Baseline::default_for(schemas, generated),
    };
    let baseline = match baseline {
        Ok(b) => b,
        Err(e) => {
            report_error(&e);
            return ExitCode::from(2);
        }
    };
    let today = today.unwrap_or_else(crate::evolve::today_utc);
    let config = match crate::evolve::Config::load(schemas) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let report = crate::evolve::check(c, baseline, &config, &today);
    if report.diagnostics.has_errors() {
        let _ = std::io::stderr().write_all(diag::render_text(&report.db, &report.diagnostics, color).as_bytes());
        eprintln!("error: the check could not run: the schemas or the baseline have errors");
        return ExitCode::from(2);
    }
    let _ = std::io::stdout().write_all(crate::evolve::render(&report, format, color).as_bytes());
    if report.is_breaking() { ExitCode::from(1) } else { ExitCode::SUCCESS }
}

/// The build's diagnostic codes and `manifold check`'s rules (the catalogue),
/// both: a finding of either kind names a code to look up here.
fn explain(code: Option<&str>) -> ExitCode {
    use crate::evolve::catalogue;
    let Some(id) = code else {
        for c in codes::ALL {
            println!("{}  {:<26} {}", c.id, c.name, c.summary);
        }
        for r in catalogue::ALL {
            println!("{:<5} {:<26} {}", r.id, format!("check, {}", r.severity.as_str()), r.catches);
        }
        return ExitCode::SUCCESS;
    };
    if let Some(c) = codes::lookup(id) {
        println!("{} ({}): {}", c.id, c.name, c.summary);
    } else if let Some(r) = catalogue::lookup(id) {
        println!("{} (`manifold check`, {}): {}", r.id, r.severity.as_str(), r.catches);
        println!("  safe path: {}", r.safe_path);
        println!("  same as: {}", r.anchors);
    } else {
        eprintln!("error: unknown diagnostic code `{id}`; `manifold explain` lists them all");
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}

/// `--today`: a day of the calendar as `YYYY-MM-DD`.
fn iso_date(text: &str) -> Result<String, String> {
    match crate::model::date::days_from_civil(text) {
        Some(_) => Ok(text.to_string()),
        None => Err(format!("`{text}` is not a date as YYYY-MM-DD")),
    }
}

/// A count of `MIN` or more (for the bench's sizes: a smaller one was
/// silently raised, and the table then described a tree it had not built).
fn at_least<const MIN: usize>(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n) if n >= MIN => Ok(n),
        Ok(_) => Err(format!("must be at least {MIN}")),
        Err(e) => Err(format!("not a count: {e}")),
    }
}
