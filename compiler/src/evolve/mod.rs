//! Evolve: `manifold check` — compares the current schemas with a baseline lock
//! and reports every change that would break the wire format, JSON, the tables,
//! the dbt contracts or the entity lifecycle, each with its rule, location and
//! the expand-contract path to take instead.
//!
//! Elements are paired by their stable numbers (entity_type, field number) from
//! the lock, never by name: the current lock is `lock::assign(current, baseline)`,
//! so an unchanged element keeps its number and a rename shows as a removal plus
//! an addition.

mod baseline;
pub mod catalogue;
mod config;
mod edits;
mod git;
mod models;
mod naming;
mod overrides;
mod render;
mod rules;

pub use baseline::{staging_columns, today_utc};
pub use catalogue::{Rule, Severity};
pub use config::{CONFIG_FILE, Config};
pub use render::{CheckFormat, render};

use crate::emit::dbt;
use crate::lock::{self, Lock};
use crate::source::{FileId, SourceDb, SourceFile, Span};
use crate::{Compilation, Diagnostics};

/// One finding: a rule broken (or noted) by one element.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub rule: &'static Rule,
    pub severity: Severity,
    /// `JiraIssue.summary`, `jira.JiraIssueStatus.DONE`, `JiraIssue`.
    pub element: String,
    /// What changed, in the past tense.
    pub message: String,
    /// In the current schemas, or in the baseline lock for removed elements.
    pub span: Span,
}

/// The outcome of a check: the findings and the sources they point into.
pub struct Report {
    pub db: SourceDb,
    pub findings: Vec<Finding>,
    /// Problems with the inputs (schema errors, an unreadable baseline).
    pub diagnostics: Diagnostics,
}

impl Report {
    pub fn count(&self, severity: Severity) -> usize {
        self.findings.iter().filter(|f| f.severity == severity).count()
    }

    /// Whether the change may not merge: an ERROR, or a WARN without an
    /// `@allow` override on its element.
    pub fn is_breaking(&self) -> bool {
        self.count(Severity::Error) + self.count(Severity::Warn) > 0
    }
}

/// What `current` is compared with.
pub struct Baseline {
    /// How to show it: `HEAD:schemas/manifold.lock`, a file path.
    pub name: String,
    /// The baseline lock's text.
    pub lock_text: String,
    /// The baseline's schemas compiled (from a git ref), when available: enables
    /// the rules that need the baseline Model (owners, team models).
    pub compiled: Option<Compilation>,
    /// The staging-table columns released with the baseline (its committed
    /// `generated/tables/manifold_entities/<Entity>.json`), by entity: what a
    /// change of the compiler's naming would break (EC015).
    pub released_columns: std::collections::BTreeMap<String, Vec<String>>,
}

/// Checks `current` (compiled schemas) against `baseline`. `today` (YYYY-MM-DD)
/// decides whether sunset dates have passed.
pub fn check(current: Compilation, baseline: Baseline, config: &Config, today: &str) -> Report {
    let Compilation { mut db, model, diagnostics, lock_file, .. } = current;
    let baseline_file: FileId = db.add(SourceFile::new(baseline.name.as_str(), baseline.lock_text.as_str()));
    let mut diags = diagnostics;
    let (lock, lock_diags) = lock::read(&db, baseline_file);
    diags.extend(lock_diags);
    let (Some(baseline_lock), false) = (lock, diags.has_errors()) else {
        return Report { db, findings: Vec::new(), diagnostics: diags };
    };
    let current_lock: Lock = lock::assign(&model, &baseline_lock);
    // A baseline that does not compile (it predates a rule, say) still gives its
    // lock: the lock-based rules run, the Model-based ones do not.
    let base = baseline.compiled.filter(|b| !b.diagnostics.has_errors());
    // The team models, compiled and their tables derived as `manifold build`
    // does: a change whose model does not build is not checked. Only the
    // team models and the generated models they `ref()` are rendered: the
    // rules below pair the team models only (2,000 entities against HEAD:
    // 1.3–1.4 → 1.0–1.1 s without team models).
    let has_team_models = |m: &crate::Model| m.products.iter().any(|p| !p.models.is_empty());
    let (team_models_now, team_models_before) =
        (has_team_models(&model), base.as_ref().is_some_and(|b| has_team_models(&b.model)));
    let current_models = (team_models_now || team_models_before).then(|| dbt::team_models(&model));
    let mut current_columns = Default::default();
    if let Some(dbt) = current_models.as_ref().filter(|_| team_models_now) {
        diags.extend(dbt.diagnostics.clone());
        // What the table emitter finds wrong (an unknown column, a missing
        // key, a merging writer's rule), beside the generated models they ref.
        let tables = crate::emit::table::emit(&model, &current_lock, &dbt.models);
        diags.extend(tables.diagnostics);
        if diags.has_errors() {
            return Report { db, findings: Vec::new(), diagnostics: diags };
        }
        current_columns = tables.models;
    }
    let mut findings = rules::run(&rules::Input {
        model: &model,
        current: &current_lock,
        baseline: &baseline_lock,
        baseline_file,
        baseline_text: &baseline.lock_text,
        baseline_model: base.as_ref().map(|b| &b.model),
        today,
        window_days: config.deprecation_window_days,
    });
    // The lock the change carries must be the one the baseline dictates.
    if let Some(file) = lock_file
        && let (Some(pr), _) = lock::read(&db, file)
    {
        let text = db.get(file).text.clone();
        findings.extend(edits::run(&pr, &current_lock, file, &text));
    }
    findings.extend(naming::run(&model, &baseline_lock, &current_lock, &baseline.released_columns));
    if let Some(base) = base {
        let offset = db.absorb(base.db);
        // The baseline's team models (rendered once), and their columns as
        // its build derived them: what the analytics models' readers (and
        // dbt's contracts) hold to.
        let (base_models, base_columns) = if team_models_before {
            let models = dbt::team_models(&base.model).models;
            let columns = crate::emit::table::emit(&base.model, &base.lock, &models).models;
            (models, columns)
        } else {
            Default::default()
        };
        findings.extend(models::run(&models::Trees {
            current: &model,
            current_models: current_models.as_ref().map_or(&[], |d| &d.models[..]),
            current_columns: &current_columns,
            base_models: &base_models,
            base_columns: &base_columns,
            base: &base.model,
            offset,
            today,
            window_days: config.deprecation_window_days,
        }));
    }
    // The project's severities, then the element-scoped overrides.
    for f in &mut findings {
        if let Some(s) = config.severity.get(f.rule.id) {
            f.severity = *s;
        }
    }
    overrides::apply(&model, &mut findings);
    findings.sort_by(|a, b| (a.span.file, a.span.start, a.rule.id).cmp(&(b.span.file, b.span.start, b.rule.id)));
    Report { db, findings, diagnostics: diags }
}
