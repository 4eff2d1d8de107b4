//! The rules a model's table obeys beyond having derivable columns: what
//! `check` holds against the derived columns and `check_lowering` against the
//! Rust transform. Most exist for the merging writers (`merging_rules`): a
//! table must equal its model's SQL over each record's latest version however
//! the stream was cut into batches, and a rule here names each way a team
//! model could break that.

use std::collections::BTreeSet;

use super::derive::{self, ColType, Column};
use super::{model_error, writer_name};
use crate::diag::{Diagnostic, codes};
use crate::emit::columns;
use crate::emit::dbt::{DbtModel, Kind, Origin, Writer};
use crate::lower;
use crate::model::Model;

/// Why a model's table does not check: what is wrong, the word of the model to
/// point at, and a hint for this problem (else `model_error`'s general one).
pub(super) struct Problem {
    pub message: String,
    pub near: Option<String>,
    pub help: Option<&'static str>,
}

impl Problem {
    fn new(message: String, near: Option<String>) -> Problem {
        Problem { message, near, help: None }
    }
}

impl From<derive::DeriveError> for Problem {
    fn from(e: derive::DeriveError) -> Problem {
        Problem::new(e.message, e.near)
    }
}

/// The rules every model's table obeys: primitive columns, unique names, its key
/// and partition columns present; and a merging model's (`merging_rules`).
pub(super) fn check(m: &DbtModel, cols: Vec<Column>) -> Result<Vec<Column>, Problem> {
    let mut seen = BTreeSet::new();
    for c in &cols {
        let at = Some(c.name.clone());
        if !seen.insert(c.name.clone()) {
            return Err(Problem::new(format!("two output columns are named `{}`", c.name), at));
        }
        match &c.ty {
            ColType::Primitive(_) => {}
            ColType::Null => {
                return Err(Problem::new(format!("the type of `{}` cannot be derived from NULL: CAST it", c.name), at));
            }
            _ => {
                return Err(Problem::new(
                    format!(
                        "`{}` is an array or struct; tables hold primitive columns (explode arrays into child tables)",
                        c.name
                    ),
                    at,
                ));
            }
        }
    }
    for (what, list) in [("key", &m.key), ("partition", &m.partition_by)] {
        for k in list {
            if !seen.contains(k) {
                return Err(Problem::new(
                    format!("the {what} column `{k}` is not among the model's columns"),
                    Some(k.clone()),
                ));
            }
        }
    }
    // The merge writers decide by the envelope's version (last writer wins), and
    // merge_exploded replaces a parent's rows by the parent's row identity.
    let (needs, identity): (&[&str], &[&str]) = match m.kind {
        Kind::Ingestion(Writer::Merge) => {
            (&[columns::GENERATION_COLUMN, columns::VERSION_COLUMN, columns::TOMBSTONE_COLUMN], &[])
        }
        Kind::Ingestion(Writer::MergeExploded) => (
            &[columns::ROW_KEY, columns::GENERATION_COLUMN, columns::VERSION_COLUMN, columns::TOMBSTONE_COLUMN],
            &[columns::ROW_KEY],
        ),
        _ => (&[], &[]),
    };
    if let Some(missing) = needs.iter().find(|c| !seen.contains(**c)) {
        return Err(Problem::new(
            format!(
                "a {} model needs the column `{missing}`: select `{{{{ select_envelope_fields() }}}}`",
                writer_name(m)
            ),
            None,
        ));
    }
    merging_rules(m, &cols, identity)?;
    Ok(cols)
}

/// What makes a merging writer's table equal its SQL over each record's latest
/// version, however the stream is cut into batches and chunks. `identity`: the
/// columns that name a row's parent (merge_exploded).
fn merging_rules(m: &DbtModel, cols: &[Column], identity: &[&str]) -> Result<(), Problem> {
    // Versions order the changes of one record: a merge key of other columns
    // would compare versions of different records, or keep a row per value a
    // record ever had (a key that changes between its versions).
    if m.kind == Kind::Ingestion(Writer::Merge) && m.key != [columns::ROW_KEY] {
        return Err(Problem {
            message: format!(
                "a merge model is keyed by the row's identity, `{}`: versions order one record's changes, so \
                 another key would compare versions of different records or keep a row per value a record had",
                columns::ROW_KEY
            ),
            near: m.key.iter().find(|k| *k != columns::ROW_KEY).cloned(),
            help: Some(
                "set `unique_key='envelope_fields_resource_ari_value'`; for several rows per record, \
                 use a `merge_exploded` model keyed by the row and the element's position",
            ),
        });
    }
    // A merge looks for a record's stored rows in the partitions its new rows
    // name (and merge_exploded in its staging row's): a partition column whose
    // value can change between a record's versions would leave the old row in
    // the old partition. The staging partition column, the record's workspace,
    // is the one that cannot.
    if matches!(m.kind, Kind::Ingestion(Writer::Merge | Writer::MergeExploded))
        && let Some(p) = m.partition_by.iter().find(|p| *p != columns::PARTITION_COLUMN)
    {
        return Err(Problem {
            message: format!(
                "a {} model is partitioned by `{}` or not at all, not by `{p}`: a record's stored rows are \
                     looked for in the partition its new version names, so a row whose `{p}` changed would stay \
                     in the old partition",
                writer_name(m),
                columns::PARTITION_COLUMN
            ),
            near: Some(p.clone()),
            help: Some(
                "set `partition_by=['workspace_id']`; partition by other columns in an `append` model or an \
                     analytics model",
            ),
        });
    }
    // merge_exploded replaces a parent's rows and keeps one row per key among
    // them: a key without the parent's identity would let two parents' rows
    // overwrite each other.
    if m.kind == Kind::Ingestion(Writer::MergeExploded) && !m.key.iter().any(|k| k == columns::ROW_KEY) {
        return Err(Problem {
            message: format!(
                "a merge_exploded model's key must hold `{}`: its rows are replaced per parent, and two \
                 parents' rows with one key would overwrite each other",
                columns::ROW_KEY
            ),
            near: m.key.first().cloned(),
            help: Some(
                "key it by the parent and the element's position: \
                 `unique_key=['envelope_fields_resource_ari_value', 'position']` with \
                 `LATERAL VIEW POSEXPLODE(<array>) t AS position, <element>`",
            ),
        });
    }
    // A merging model holds one row per key. A NULL key would be one row in a
    // batch but never found among the stored rows (NULL equals nothing), so
    // what a table held would depend on how the stream was cut into batches.
    if matches!(m.kind, Kind::Ingestion(Writer::Merge | Writer::MergeExploded)) {
        let keys = m.key.iter().map(String::as_str).chain(identity.iter().copied());
        if let Some(c) = keys.filter_map(|k| cols.iter().find(|c| c.name == k)).find(|c| c.nullable) {
            return Err(Problem {
                message: format!(
                    "the key column `{}` can be NULL, and a {} model's key must be set in every row",
                    c.name,
                    writer_name(m)
                ),
                near: Some(c.name.clone()),
                help: Some(
                    "key by `envelope_fields_resource_ari_value` as `select_envelope_fields()` gives it (and, \
                     exploding, the element's position: `LATERAL VIEW POSEXPLODE(<array>) t AS position, \
                     <element>`); an entity's columns are NULL in a tombstone without payload",
                ),
            });
        }
    }
    Ok(())
}

/// An ingestion model must lower to Rust (`lower`), and its plan must give the
/// columns derived here: the table the runtime writes is the table declared.
pub(super) fn check_lowering(
    model: &Model,
    m: &DbtModel,
    lowered: Result<lower::Plan, lower::LowerError>,
    cols: &[Column],
) -> Option<Diagnostic> {
    let plan = match lowered {
        Ok(plan) => plan,
        Err(e) => {
            let mut d = model_error(model, m, e.message, e.near);
            return Some(match &m.origin {
                Origin::User { .. } => {
                    d.code = codes::E003;
                    d.help(
                        "ingestion models run in the ingestion binaries without a SQL engine: projections, CAST, \
                     arithmetic, CASE, COALESCE, string and date functions, WHERE and one LATERAL VIEW EXPLODE; \
                     mark the model `config(analytics=true)` to have dbt run it on the warehouse instead",
                    )
                }
                Origin::Generated { .. } => d,
            });
        }
    };
    // A `merge` writer upserts the rows the transform gives: a row whose newer
    // version the model's WHERE drops, or an array element a newer version no
    // longer has, would stay in the table for good. `merge_exploded` replaces a
    // parent's rows as a whole, so only it may drop rows.
    if m.kind == Kind::Ingestion(Writer::Merge) {
        let refused = if !plan.filter.is_empty() {
            Some((
                "WHERE",
                "a merge model cannot filter rows: a row whose newer version the WHERE drops would stay in the table \
                 as it was",
                "make it a `merge_exploded` model keyed by `envelope_fields_resource_ari_value`: that writer \
                 replaces each row as a whole, so a row whose newer version the WHERE drops leaves the table \
                 (`opsgenie_open_alerts` in the examples); or filter where the table is read, or in an `append` \
                 model (every version)",
            ))
        } else if plan.explode.is_some() {
            Some((
                "LATERAL",
                "a merge model cannot explode an array: an element a newer version no longer holds would stay in \
                 the table",
                "explode arrays in a `merge_exploded` model (it replaces a parent's rows as a whole)",
            ))
        } else {
            None
        };
        if let Some((near, message, help)) = refused {
            let d = model_error(model, m, message.into(), Some(near.into()));
            return Some(match &m.origin {
                Origin::User { .. } => d.help(help),
                Origin::Generated { .. } => d,
            });
        }
    }
    let planned: Vec<(&str, ColType, bool)> =
        plan.outputs.iter().map(|o| (o.name.as_str(), ColType::Primitive(o.expr.ty), o.expr.nullable)).collect();
    let derived: Vec<(&str, ColType, bool)> =
        cols.iter().map(|c| (c.name.as_str(), c.ty.clone(), c.nullable)).collect();
    (planned != derived).then(|| {
        Diagnostic::error(
            codes::E001,
            format!("model `{}`: its Rust transform and its table schema disagree: {planned:?} vs {derived:?}", m.name),
        )
        .help("this is a bug in Manifold's compiler; please report it with the model")
    })
}
