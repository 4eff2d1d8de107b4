//! Lower: an ingestion model's compiled SQL → a typed transform [`Plan`] that
//! the Rust emitter turns into code over Arrow arrays (`emit/rust/transform.rs`).
//!
//! The ingestion binaries run no SQL engine, so only a subset lowers: one
//! SELECT over the entity's source table, optionally through CTEs of the same
//! shape, with an optional `LATERAL VIEW [POS]EXPLODE` of one array column, a
//! `WHERE`, and projections built from columns, literals, `CAST`, arithmetic,
//! comparisons, boolean logic, `IS [NOT] NULL`, `IN`, `CASE`, `COALESCE` and the
//! functions in [`Function`]. Anything else (joins, aggregations, windows,
//! `ref()`s) is an error that names the construct, so the model can be marked
//! `config(analytics=true)` and left to dbt.
//!
//! Types follow Spark (the reference semantics): the same rules `derive.rs`
//! uses for the table schemas — the table emitter checks that both agree.
//! Every implicit conversion is made explicit here (as a `Cast`), so the
//! runtime's kernels only ever see operands of the type they work on.

mod expr;

use std::borrow::Cow;
use std::collections::HashMap;

use sqlparser::ast::{Query, Select, SelectItem, SetExpr, TableFactor};

use crate::emit::columns::{self, SqlType};
use crate::emit::dbt::DbtModel;
use crate::emit::table::{self, derive::Column};
use crate::model::Model;

/// What an ingestion model does to a batch of its source table's rows.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The source table, as written in the SQL (`manifold_entities.JiraIssue`).
    pub source: String,
    /// One output row per element of this array column, if any.
    pub explode: Option<Explode>,
    /// Rows are kept when every conjunct is TRUE (NULL drops the row, as in SQL).
    pub filter: Vec<Expr>,
    pub outputs: Vec<Output>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explode {
    /// The source column holding the array. As in Spark, a NULL or empty
    /// array gives no rows.
    pub column: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Output {
    pub name: String,
    pub expr: Expr,
}

/// A typed expression. `ty` is what it evaluates to; `nullable` whether it can be NULL.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub ty: SqlType,
    pub nullable: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// A primitive column of the source table.
    Column(String),
    /// The 0-based index of the exploded element (`POSEXPLODE`'s `pos`).
    Position,
    /// The exploded element, or one field of a struct element.
    Element(Option<String>),
    Literal(Literal),
    /// Converts its operand to `ty` (Spark's `CAST`, non-ANSI: a value that does
    /// not convert is NULL).
    Cast(Box<Expr>),
    /// `+ - * %` with both operands of `ty`; `/` with both operands DOUBLE.
    Arith(ArithOp, Box<Expr>, Box<Expr>),
    /// Both operands of one type.
    Compare(CmpOp, Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Negate(Box<Expr>),
    IsNull {
        expr: Box<Expr>,
        negated: bool,
    },
    /// Every item of the operand's type.
    InList {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
    },
    /// Conditions are BOOLEAN, results of `ty`; no `otherwise` means NULL.
    Case {
        branches: Vec<(Expr, Expr)>,
        otherwise: Option<Box<Expr>>,
    },
    /// Every argument of `ty`.
    Coalesce(Vec<Expr>),
    Call(Function, Vec<Expr>),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    /// A NULL of the expression's type.
    Null,
    Boolean(bool),
    Integer(i32),
    Long(i64),
    Double(f64),
    String(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArithOp {
    Add,
    Subtract,
    Multiply,
    Divide,
    Remainder,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
}

/// The functions ingestion models may call, with Spark's meaning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Function {
    Upper,
    Lower,
    /// Removes leading and trailing spaces (U+0020 only, as Spark does).
    Trim,
    /// Characters, not bytes.
    Length,
    /// NULL if any argument is NULL.
    Concat,
    /// `SUBSTRING(s, pos[, len])`, 1-based; a negative `pos` counts from the end.
    Substring,
    /// `DATE_FORMAT(ts, '<pattern>')` with a literal Java-style pattern (UTC).
    DateFormat(String),
    Year,
    Month,
    Day,
    Abs,
}

/// Why a model does not lower: the message, and a word of the model's text to
/// point at when there is one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LowerError {
    pub message: String,
    pub near: Option<String>,
}

pub(crate) fn fail<T>(message: impl Into<String>, near: Option<String>) -> Result<T, LowerError> {
    Err(LowerError { message: message.into(), near })
}

/// Lowers `sql` (a compiled ingestion model) over the source table `source`
/// (lowercased `schema.table`) with the columns `columns`.
pub fn lower(sql: &str, source: &str, columns: &[Column]) -> Result<Plan, LowerError> {
    let query = table::derive::parse(sql).map_err(|e| LowerError { message: e.message, near: e.near })?;
    lower_query(&query, source, columns)
}

/// [`lower`] of a parsed model.
pub fn lower_query(query: &Query, source: &str, columns: &[Column]) -> Result<Plan, LowerError> {
    Lowerer { source, columns, ctes: HashMap::new() }.query(query)
}

struct Lowerer<'a> {
    source: &'a str,
    columns: &'a [Column],
    /// CTEs lowered so far, by lowercased name: a reference inlines them.
    ctes: HashMap<String, Plan>,
}

impl Lowerer<'_> {
    fn query(&mut self, q: &Query) -> Result<Plan, LowerError> {
        if q.order_by.is_some() || q.limit_clause.is_some() || q.fetch.is_some() {
            return fail("ORDER BY, LIMIT and FETCH have no meaning for a batch of rows", None);
        }
        if let Some(with) = &q.with {
            if with.recursive {
                return fail("recursive CTEs are not supported in ingestion models", None);
            }
            for cte in &with.cte_tables {
                let plan = self.query(&cte.query)?;
                self.ctes.insert(cte.alias.name.value.to_ascii_lowercase(), plan);
            }
        }
        match &*q.body {
            SetExpr::Select(s) => self.select(s),
            SetExpr::Query(q) => self.query(q),
            SetExpr::SetOperation { op, .. } => {
                fail(format!("{op} combines queries; ingestion models read one source"), Some(op.to_string()))
            }
            other => fail(format!("unsupported query form `{}`", expr::first_words(&other.to_string())), None),
        }
    }

    fn select(&mut self, s: &Select) -> Result<Plan, LowerError> {
        if s.distinct.is_some() {
            return fail("DISTINCT needs the whole table; make this an analytics model", Some("distinct".into()));
        }
        let group_by_used = match &s.group_by {
            sqlparser::ast::GroupByExpr::All(_) => true,
            sqlparser::ast::GroupByExpr::Expressions(e, _) => !e.is_empty(),
        };
        if group_by_used || s.having.is_some() {
            return fail("GROUP BY aggregates across rows; make this an analytics model", Some("group".into()));
        }
        if !s.named_window.is_empty() || s.qualify.is_some() {
            return fail("window functions need the whole table; make this an analytics model", None);
        }
        let [from] = s.from.as_slice() else {
            return fail("an ingestion model reads exactly one table", None);
        };
        if let Some(join) = from.joins.first() {
            let near = match &join.relation {
                TableFactor::Table { name, .. } => name.to_string().rsplit('.').next().map(str::to_string),
                _ => None,
            };
            return fail("a JOIN reads other tables; make this an analytics model", near.or(Some("join".into())));
        }
        // The relation read: the source table itself, or a CTE over it.
        let (alias, base) = match &from.relation {
            TableFactor::Table { name, alias, .. } => {
                let full = name.to_string();
                let key = full.to_ascii_lowercase();
                let alias = alias
                    .as_ref()
                    .map(|a| a.name.value.to_ascii_lowercase())
                    .unwrap_or_else(|| key.rsplit('.').next().unwrap_or(&key).to_string());
                if let Some(plan) = self.ctes.get(&key) {
                    (alias, Some(plan.clone()))
                } else if key == self.source {
                    (alias, None)
                } else {
                    let near = full.rsplit('.').next().map(str::to_string);
                    return fail(format!("`{full}` is not this model's source table `{}`", self.source), near);
                }
            }
            TableFactor::Derived { subquery, alias, .. } => {
                let plan = self.query(subquery)?;
                (alias.as_ref().map(|a| a.name.value.to_ascii_lowercase()).unwrap_or_default(), Some(plan))
            }
            other => return fail(format!("unsupported FROM item `{other}`"), None),
        };
        let mut scope = expr::Scope { alias, columns: self.columns, base: base.as_ref(), explode: None };
        let mut explode = base.as_ref().and_then(|b| b.explode.clone());
        match s.lateral_views.as_slice() {
            [] => {}
            [lv] => {
                if base.is_some() {
                    return fail("LATERAL VIEW over a CTE: explode in the CTE that reads the source", None);
                }
                let (e, view) = expr::lateral_view(lv, &scope)?;
                explode = Some(e);
                scope.explode = Some(view);
            }
            _ => return fail("an ingestion model explodes at most one array", None),
        }
        let mut filter = base.as_ref().map(|b| b.filter.clone()).unwrap_or_default();
        if let Some(w) = &s.selection {
            let cond = expr::lower(w, &scope)?;
            if cond.ty != SqlType::Boolean {
                return fail(format!("WHERE `{w}` is not a condition"), None);
            }
            filter.push(cond);
        }
        let mut outputs = Vec::new();
        for item in &s.projection {
            match item {
                SelectItem::UnnamedExpr(e) => {
                    let name = expr::implicit_name(e)
                        .ok_or_else(|| LowerError { message: format!("give `{e}` a name with AS"), near: None })?;
                    outputs.push(Output { name, expr: expr::lower(e, &scope)? });
                }
                SelectItem::ExprWithAlias { expr: e, alias } => {
                    outputs.push(Output { name: alias.value.to_ascii_lowercase(), expr: expr::lower(e, &scope)? });
                }
                SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..) => {
                    outputs.extend(expr::wildcard(&scope));
                }
                other => return fail(format!("unsupported select item `{other}`"), None),
            }
        }
        Ok(Plan { source: self.source.to_string(), explode, filter, outputs })
    }
}

/// Lowers an ingestion model of `model` over its source table (the one
/// `source()` it reads).
pub fn lower_model(model: &Model, m: &DbtModel) -> Result<Plan, LowerError> {
    let query = table::derive::parse(&m.compiled.sql).map_err(|e| LowerError { message: e.message, near: e.near })?;
    let staging = |entity: &str| {
        let entity = model.entity_by_name(entity)?;
        Some(Cow::Owned(columns::source_table(model, entity).iter().map(table::source_column).collect()))
    };
    lower_model_query(m, &query, staging)
}

/// [`lower_model`] of the model's parsed SQL; `staging(entity)` gives the
/// columns of an entity's staging table (the table emitter has them already).
pub fn lower_model_query<'c>(
    m: &DbtModel,
    query: &Query,
    staging: impl FnOnce(&str) -> Option<Cow<'c, [Column]>>,
) -> Result<Plan, LowerError> {
    let [source] = m.compiled.sources.iter().collect::<Vec<_>>()[..] else {
        return fail("an ingestion model reads exactly one `source()` and no `ref()`", Some("source".into()));
    };
    if let Some(r) = m.compiled.refs.iter().next() {
        return fail(format!("`ref('{r}')` reads another model; make this an analytics model"), Some(r.clone()));
    }
    let entity_name = source.rsplit('.').next().unwrap_or(source);
    let Some(columns) = staging(entity_name) else {
        return fail(format!("no entity `{entity_name}`"), Some(entity_name.to_string()));
    };
    lower_query(query, &source.to_ascii_lowercase(), &columns)
}

#[cfg(test)]
mod tests;
