//! Derives a model's output columns from its compiled SQL with sqlparser
//! (Databricks dialect): a small, typed walk over the subset the models use —
//! CTEs, SELECT lists, FROM with joins and aliases, `LATERAL VIEW POSEXPLODE`,
//! casts, arithmetic, CASE, and common functions. Every column reference is
//! resolved, so an unknown column is found here, before any Spark runs.

use std::collections::HashMap;

use sqlparser::ast::{
    self, BinaryOperator, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Query, Select, SelectItem,
    SelectItemQualifiedWildcardKind, SetExpr, Statement, TableFactor, UnaryOperator,
};
use sqlparser::dialect::DatabricksDialect;
use sqlparser::parser::Parser;

use crate::emit::columns::SqlType;

/// A column's type as far as the walk needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ColType {
    Primitive(SqlType),
    /// `NULL`: compatible with anything.
    Null,
    Array(Box<ColType>),
    Struct(Vec<Column>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub ty: ColType,
    pub nullable: bool,
}

/// Why a model's columns cannot be derived.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeriveError {
    pub message: String,
    /// An identifier of the model's text the error is about (to locate it).
    pub near: Option<String>,
}

fn err(message: impl Into<String>, near: Option<String>) -> DeriveError {
    DeriveError { message: message.into(), near }
}

/// Resolves a table name (`manifold_entities.X`, `manifold.x`) to its columns.
pub trait Catalog {
    fn table(&self, name: &str) -> Option<Vec<Column>>;
}

/// The output columns of `sql` (one SELECT statement, possibly with CTEs).
pub fn derive(sql: &str, catalog: &dyn Catalog) -> Result<Vec<Column>, DeriveError> {
    derive_query(&parse(sql)?, catalog)
}

/// A model's compiled SQL: exactly one query (Databricks dialect).
pub fn parse(sql: &str) -> Result<Query, DeriveError> {
    let mut statements =
        Parser::parse_sql(&DatabricksDialect {}, sql).map_err(|e| err(format!("SQL does not parse: {e}"), None))?;
    match (statements.pop(), statements.is_empty()) {
        (Some(Statement::Query(query)), true) => Ok(*query),
        _ => Err(err("a model is exactly one SELECT statement", None)),
    }
}

/// The output columns of a parsed model.
pub fn derive_query(query: &Query, catalog: &dyn Catalog) -> Result<Vec<Column>, DeriveError> {
    Walker { catalog, ctes: HashMap::new() }.query(query)
}

struct Walker<'a> {
    catalog: &'a dyn Catalog,
    ctes: HashMap<String, Vec<Column>>,
}

/// The relations visible in a SELECT: (alias, columns), in FROM order.
type Scope = Vec<(String, Vec<Column>)>;

impl Walker<'_> {
    fn query(&mut self, q: &Query) -> Result<Vec<Column>, DeriveError> {
        if let Some(with) = &q.with {
            for cte in &with.cte_tables {
                let cols = self.query(&cte.query)?;
                self.ctes.insert(cte.alias.name.value.to_ascii_lowercase(), cols);
            }
        }
        match &*q.body {
            SetExpr::Select(s) => self.select(s),
            SetExpr::Query(q) => self.query(q),
            other => Err(err(format!("unsupported query form: {}", first_words(&other.to_string())), None)),
        }
    }

    fn select(&mut self, s: &Select) -> Result<Vec<Column>, DeriveError> {
        let mut scope: Scope = Vec::new();
        for twj in &s.from {
            self.factor(&twj.relation, &mut scope)?;
            for j in &twj.joins {
                self.factor(&j.relation, &mut scope)?;
            }
        }
        for lv in &s.lateral_views {
            let alias = lv.lateral_view_name.to_string().to_ascii_lowercase();
            let Expr::Function(f) = &lv.lateral_view else {
                return Err(err(format!("unsupported LATERAL VIEW `{}`", lv.lateral_view), None));
            };
            let fname = f.name.to_string().to_ascii_lowercase();
            let args = args(f)?;
            let [arg] = args.as_slice() else { return Err(err(format!("`{fname}` takes one array"), None)) };
            let (ty, _) = self.expr(arg, &scope)?;
            let ColType::Array(elem) = ty else {
                return Err(err(format!("`{fname}` of `{arg}`, which is not an array"), Some(arg.to_string())));
            };
            let names: Vec<String> = lv.lateral_col_alias.iter().map(|i| i.value.to_ascii_lowercase()).collect();
            let cols = match (fname.as_str(), names.as_slice()) {
                ("posexplode" | "posexplode_outer", [pos, value]) => vec![
                    Column { name: pos.clone(), ty: ColType::Primitive(SqlType::Integer), nullable: false },
                    Column { name: value.clone(), ty: *elem, nullable: true },
                ],
                ("explode" | "explode_outer", [value]) => {
                    vec![Column { name: value.clone(), ty: *elem, nullable: true }]
                }
                _ => return Err(err(format!("unsupported LATERAL VIEW `{}`", lv.lateral_view), None)),
            };
            scope.push((alias, cols));
        }
        if let Some(w) = &s.selection {
            self.expr(w, &scope)?;
        }
        let mut out = Vec::new();
        for item in &s.projection {
            match item {
                SelectItem::UnnamedExpr(e) => {
                    let (ty, nullable) = self.expr(e, &scope)?;
                    let name = match e {
                        Expr::Identifier(i) => i.value.clone(),
                        Expr::CompoundIdentifier(parts) => parts.last().map(|p| p.value.clone()).unwrap_or_default(),
                        other => return Err(err(format!("give the expression `{other}` a name with `AS`"), None)),
                    };
                    out.push(Column { name: name.to_ascii_lowercase(), ty, nullable });
                }
                SelectItem::ExprWithAlias { expr, alias } => {
                    let (ty, nullable) = self.expr(expr, &scope)?;
                    out.push(Column { name: alias.value.to_ascii_lowercase(), ty, nullable });
                }
                SelectItem::Wildcard(_) => {
                    for (_, cols) in &scope {
                        out.extend(cols.iter().cloned());
                    }
                }
                SelectItem::QualifiedWildcard(SelectItemQualifiedWildcardKind::ObjectName(name), _) => {
                    let alias = name.to_string().to_ascii_lowercase();
                    let cols = scope.iter().find(|(a, _)| *a == alias).map(|(_, c)| c.clone());
                    out.extend(cols.ok_or_else(|| err(format!("no relation `{alias}` in FROM"), Some(alias.clone())))?);
                }
                other => return Err(err(format!("unsupported select item `{other}`"), None)),
            }
        }
        Ok(out)
    }

    fn factor(&mut self, f: &TableFactor, scope: &mut Scope) -> Result<(), DeriveError> {
        match f {
            TableFactor::Table { name, alias, .. } => {
                let full = name.to_string();
                let key = full.to_ascii_lowercase();
                let cols = match self.ctes.get(&key) {
                    Some(c) => c.clone(),
                    None => self.catalog.table(&full).ok_or_else(|| {
                        err(
                            format!("unknown table `{full}`"),
                            Some(full.rsplit('.').next().unwrap_or(&full).to_string()),
                        )
                    })?,
                };
                let alias = alias
                    .as_ref()
                    .map(|a| a.name.value.clone())
                    .unwrap_or_else(|| full.rsplit('.').next().unwrap_or(&full).to_string());
                scope.push((alias.to_ascii_lowercase(), cols));
                Ok(())
            }
            TableFactor::Derived { subquery, alias, .. } => {
                let cols = self.query(subquery)?;
                let alias = alias.as_ref().map(|a| a.name.value.to_ascii_lowercase()).unwrap_or_default();
                scope.push((alias, cols));
                Ok(())
            }
            other => Err(err(format!("unsupported FROM item `{other}`"), None)),
        }
    }

    fn column(&self, parts: &[String], scope: &Scope) -> Result<(ColType, bool), DeriveError> {
        let near = Some(parts.last().cloned().unwrap_or_default());
        // `rel.col.field…` when the first part names a relation, else `col.field…`.
        let (candidates, rest): (Vec<&Column>, &[String]) =
            match scope.iter().find(|(a, _)| parts.len() > 1 && *a == parts[0]) {
                Some((_, cols)) => (cols.iter().filter(|c| c.name == parts[1]).collect(), &parts[2..]),
                None => (
                    scope.iter().flat_map(|(_, cols)| cols.iter()).filter(|c| c.name == parts[0]).collect(),
                    &parts[1..],
                ),
            };
        let col = match candidates.as_slice() {
            [c] => *c,
            [] => return Err(err(format!("unknown column `{}`", parts.join(".")), near)),
            _ => return Err(err(format!("ambiguous column `{}`: qualify it with its table", parts.join(".")), near)),
        };
        let (mut ty, mut nullable) = (col.ty.clone(), col.nullable);
        for field in rest {
            let ColType::Struct(fields) = &ty else {
                return Err(err(format!("`{}` has no field `{field}`", parts.join(".")), near));
            };
            let f = fields
                .iter()
                .find(|f| &f.name == field)
                .ok_or_else(|| err(format!("unknown field `{}`", parts.join(".")), near.clone()))?;
            nullable |= f.nullable;
            ty = f.ty.clone();
        }
        Ok((ty, nullable))
    }

    /// The type and nullability of an expression.
    fn expr(&self, e: &Expr, scope: &Scope) -> Result<(ColType, bool), DeriveError> {
        let prim = |t: SqlType, n: bool| Ok((ColType::Primitive(t), n));
        match e {
            Expr::Identifier(i) => self.column(&[i.value.to_ascii_lowercase()], scope),
            Expr::CompoundIdentifier(parts) => {
                self.column(&parts.iter().map(|p| p.value.to_ascii_lowercase()).collect::<Vec<_>>(), scope)
            }
            Expr::Nested(inner) => self.expr(inner, scope),
            Expr::Value(v) => match &v.value {
                ast::Value::Number(n, _) => {
                    let n = n.to_string();
                    if n.contains(['.', 'e', 'E']) {
                        prim(SqlType::Double, false)
                    } else if n.parse::<i32>().is_ok() {
                        prim(SqlType::Integer, false)
                    } else {
                        prim(SqlType::Long, false)
                    }
                }
                ast::Value::SingleQuotedString(_) | ast::Value::DoubleQuotedString(_) => prim(SqlType::String, false),
                ast::Value::Boolean(_) => prim(SqlType::Boolean, false),
                ast::Value::Null => Ok((ColType::Null, true)),
                other => Err(err(format!("unsupported literal `{other}`"), None)),
            },
            Expr::Cast { expr, data_type, .. } => {
                let (_, nullable) = self.expr(expr, scope)?;
                prim(cast_type(data_type)?, nullable)
            }
            Expr::BinaryOp { left, op, right } => {
                let (lt, ln) = self.expr(left, scope)?;
                let (rt, rn) = self.expr(right, scope)?;
                let n = ln || rn;
                match op {
                    BinaryOperator::Plus
                    | BinaryOperator::Minus
                    | BinaryOperator::Multiply
                    | BinaryOperator::Modulo => prim(
                        wider(&lt, &rt).ok_or_else(|| err(format!("arithmetic on non-numbers in `{e}`"), None))?,
                        n,
                    ),
                    // Spark's `/` always divides as DOUBLE.
                    BinaryOperator::Divide => prim(SqlType::Double, n),
                    BinaryOperator::StringConcat => prim(SqlType::String, n),
                    _ => prim(SqlType::Boolean, n),
                }
            }
            Expr::UnaryOp { op, expr } => {
                let (t, n) = self.expr(expr, scope)?;
                match op {
                    UnaryOperator::Not => prim(SqlType::Boolean, n),
                    _ => Ok((t, n)),
                }
            }
            Expr::IsNull(x) | Expr::IsNotNull(x) | Expr::IsTrue(x) | Expr::IsFalse(x) => {
                self.expr(x, scope)?;
                prim(SqlType::Boolean, false)
            }
            Expr::InList { expr, list, .. } => {
                let (_, n) = self.expr(expr, scope)?;
                for x in list {
                    self.expr(x, scope)?;
                }
                prim(SqlType::Boolean, n)
            }
            Expr::Between { expr, low, high, .. } => {
                let (_, n) = self.expr(expr, scope)?;
                self.expr(low, scope)?;
                self.expr(high, scope)?;
                prim(SqlType::Boolean, n)
            }
            Expr::Like { expr, pattern, .. } | Expr::ILike { expr, pattern, .. } => {
                let (_, n) = self.expr(expr, scope)?;
                self.expr(pattern, scope)?;
                prim(SqlType::Boolean, n)
            }
            Expr::Case { operand, conditions, else_result, .. } => {
                if let Some(o) = operand {
                    self.expr(o, scope)?;
                }
                let mut result: Option<ColType> = None;
                let mut nullable = else_result.is_none();
                for c in conditions {
                    self.expr(&c.condition, scope)?;
                    let (t, n) = self.expr(&c.result, scope)?;
                    nullable |= n;
                    result = Some(merge(result, t));
                }
                if let Some(x) = else_result {
                    let (t, n) = self.expr(x, scope)?;
                    nullable |= n;
                    result = Some(merge(result, t));
                }
                Ok((result.unwrap_or(ColType::Null), nullable))
            }
            Expr::Function(f) => self.function(f, scope),
            Expr::Trim { expr, trim_what: None, trim_characters: None, .. } => {
                let (_, nullable) = self.expr(expr, scope)?;
                prim(SqlType::String, nullable)
            }
            Expr::Substring { expr, substring_from, substring_for, .. } => {
                let mut nullable = self.expr(expr, scope)?.1;
                for x in substring_from.iter().chain(substring_for) {
                    nullable |= self.expr(x, scope)?.1;
                }
                prim(SqlType::String, nullable)
            }
            other => Err(err(format!("unsupported expression `{}`", first_words(&other.to_string())), None)),
        }
    }

    fn function(&self, f: &ast::Function, scope: &Scope) -> Result<(ColType, bool), DeriveError> {
        let name = f.name.to_string().to_ascii_lowercase();
        let is_star = matches!(&f.args, FunctionArguments::List(l) if matches!(l.args.as_slice(), [FunctionArg::Unnamed(FunctionArgExpr::Wildcard)]));
        let args = if is_star { Vec::new() } else { args(f)? };
        let typed: Vec<(ColType, bool)> = args.iter().map(|a| self.expr(a, scope)).collect::<Result<_, _>>()?;
        let first = typed.first().cloned();
        let any_null = typed.iter().any(|(_, n)| *n);
        let prim = |t: SqlType, n: bool| Ok((ColType::Primitive(t), n));
        match name.as_str() {
            "count" => prim(SqlType::Long, false),
            "sum" => match first {
                Some((ColType::Primitive(SqlType::Double), _)) => prim(SqlType::Double, true),
                Some((ColType::Primitive(SqlType::Integer | SqlType::Long), _)) => prim(SqlType::Long, true),
                _ => Err(err(format!("cannot derive the type of `{}`", f), None)),
            },
            "avg" => prim(SqlType::Double, true),
            "min" | "max" | "first" | "last" | "any_value" | "abs" | "round" | "floor" | "ceil" => {
                first.map(|(t, _)| (t, true)).ok_or_else(|| err(format!("`{name}` needs an argument"), None))
            }
            "coalesce" | "ifnull" | "nvl" => {
                let ty = typed.iter().fold(None, |acc, (t, _)| Some(merge(acc, t.clone()))).unwrap_or(ColType::Null);
                Ok((ty, typed.iter().all(|(_, n)| *n)))
            }
            "date_format" | "upper" | "lower" | "trim" | "ltrim" | "rtrim" | "concat" | "concat_ws" | "substring"
            | "substr" | "lpad" | "rpad" | "replace" | "regexp_replace" | "regexp_extract" | "md5" | "sha2"
            | "initcap" => prim(SqlType::String, any_null),
            "length" | "char_length" | "year" | "month" | "day" | "dayofmonth" | "dayofweek" | "hour" | "minute"
            | "second" | "quarter" | "weekofyear" | "datediff" | "size" => prim(SqlType::Integer, any_null),
            "to_date" | "current_date" | "date_add" | "date_sub" | "last_day" => prim(SqlType::Date, any_null),
            "to_timestamp" | "current_timestamp" | "now" | "date_trunc" | "from_unixtime" | "timestamp_seconds" => {
                if name == "from_unixtime" {
                    prim(SqlType::String, any_null)
                } else {
                    prim(SqlType::Timestamp, any_null)
                }
            }
            "unix_timestamp" => prim(SqlType::Long, any_null),
            _ => Err(err(format!("cannot derive the type of the function `{name}`"), Some(name.clone()))),
        }
    }
}

fn args(f: &ast::Function) -> Result<Vec<Expr>, DeriveError> {
    match &f.args {
        FunctionArguments::None => Ok(Vec::new()),
        FunctionArguments::List(l) => l
            .args
            .iter()
            .map(|a| match a {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Ok(e.clone()),
                other => Err(err(format!("unsupported argument `{other}` of `{}`", f.name), None)),
            })
            .collect(),
        FunctionArguments::Subquery(_) => Err(err(format!("unsupported subquery argument of `{}`", f.name), None)),
    }
}

/// The type a `CAST(… AS <type>)` produces (Spark's type names).
pub fn cast_type(t: &ast::DataType) -> Result<SqlType, DeriveError> {
    let text = t.to_string().to_ascii_uppercase();
    let word = text.split(['(', ' ']).next().unwrap_or("");
    Ok(match word {
        "STRING" | "VARCHAR" | "CHAR" | "TEXT" => SqlType::String,
        "BOOLEAN" | "BOOL" => SqlType::Boolean,
        "INT" | "INTEGER" | "SMALLINT" | "TINYINT" => SqlType::Integer,
        "LONG" | "BIGINT" => SqlType::Long,
        "DOUBLE" | "FLOAT" | "REAL" | "DECIMAL" | "NUMERIC" => SqlType::Double,
        "TIMESTAMP" | "TIMESTAMP_NTZ" => SqlType::Timestamp,
        "DATE" => SqlType::Date,
        _ => return Err(err(format!("unsupported type `{text}` in CAST"), None)),
    })
}

fn numeric_rank(t: &ColType) -> Option<u8> {
    match t {
        ColType::Primitive(SqlType::Integer) => Some(1),
        ColType::Primitive(SqlType::Long) => Some(2),
        ColType::Primitive(SqlType::Double) => Some(3),
        ColType::Null => Some(0),
        _ => None,
    }
}

/// The result type of `+ - * %` on two numbers.
fn wider(a: &ColType, b: &ColType) -> Option<SqlType> {
    match numeric_rank(a)?.max(numeric_rank(b)?) {
        0 | 1 => Some(SqlType::Integer),
        2 => Some(SqlType::Long),
        _ => Some(SqlType::Double),
    }
}

fn merge(acc: Option<ColType>, t: ColType) -> ColType {
    match (acc, t) {
        (None, t) | (Some(ColType::Null), t) => t,
        (Some(a), ColType::Null) => a,
        (Some(a), b) => match wider(&a, &b) {
            Some(w) if a != b => ColType::Primitive(w),
            _ => a,
        },
    }
}

/// The start of a long SQL text, for messages.
pub(crate) fn first_words(s: &str) -> String {
    let mut out: String = s.chars().take(60).collect();
    if s.chars().count() > 60 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    struct One;
    impl Catalog for One {
        fn table(&self, name: &str) -> Option<Vec<Column>> {
            let c = |n: &str, t: SqlType| Column { name: n.into(), ty: ColType::Primitive(t), nullable: true };
            (name == "manifold_entities.T").then(|| {
                vec![
                    c("a_seconds", SqlType::Long),
                    c("a_nanos", SqlType::Integer),
                    c("n", SqlType::Integer),
                    Column {
                        name: "items".into(),
                        ty: ColType::Array(Box::new(ColType::Struct(vec![c("x", SqlType::String)]))),
                        nullable: true,
                    },
                ]
            })
        }
    }

    fn types(sql: &str) -> Vec<(String, ColType)> {
        derive(sql, &One).unwrap().into_iter().map(|c| (c.name, c.ty)).collect()
    }

    #[test]
    fn derives_casts_ctes_and_explodes() {
        let p = |t| ColType::Primitive(t);
        assert_eq!(
            types(
                "WITH cte_0 AS (SELECT CAST(a_seconds + CAST(a_nanos / 1e9 AS DOUBLE) AS TIMESTAMP) AS a, n FROM manifold_entities.T) SELECT a, n, n * 2 AS m, COUNT(*) AS c FROM cte_0"
            ),
            [
                ("a".into(), p(SqlType::Timestamp)),
                ("n".into(), p(SqlType::Integer)),
                ("m".into(), p(SqlType::Integer)),
                ("c".into(), p(SqlType::Long))
            ]
        );
        assert_eq!(
            types(
                "SELECT CAST(e.pos AS INTEGER) AS position, CAST(e.element.x AS STRING) AS x FROM manifold_entities.T LATERAL VIEW POSEXPLODE(items) e AS pos, element"
            ),
            [("position".into(), p(SqlType::Integer)), ("x".into(), p(SqlType::String))]
        );
    }

    #[test]
    fn unknown_columns_and_functions_are_errors() {
        let e = derive("SELECT CAST(nope AS STRING) AS x FROM manifold_entities.T", &One).unwrap_err();
        assert_eq!(e.near.as_deref(), Some("nope"));
        let e = derive("SELECT frobnicate(n) AS x FROM manifold_entities.T", &One).unwrap_err();
        assert!(e.message.contains("frobnicate"));
        let e = derive("SELECT n FROM manifold_entities.Missing", &One).unwrap_err();
        assert!(e.message.contains("unknown table"));
    }
}
