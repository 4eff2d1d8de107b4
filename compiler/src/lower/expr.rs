//! Expressions: sqlparser's `Expr` → a typed [`Expr`], with every implicit
//! conversion made an explicit `Cast`.

use sqlparser::ast::{
    self, BinaryOperator, FunctionArg, FunctionArgExpr, FunctionArguments, LateralView, UnaryOperator,
};

use super::{ArithOp, CmpOp, Explode, Expr, ExprKind, Function, Literal, LowerError, Output, Plan, fail};
use crate::emit::columns::SqlType;
pub(super) use crate::emit::table::derive::first_words;
use crate::emit::table::derive::{ColType, Column, cast_type};

/// What a column name can refer to in one SELECT.
pub(super) struct Scope<'a> {
    /// The alias of the relation read (`cte_0`, `jiraissue`).
    pub alias: String,
    /// The source table's columns (when `base` is `None`).
    pub columns: &'a [Column],
    /// The CTE or subquery read: its outputs are the visible columns.
    pub base: Option<&'a Plan>,
    pub explode: Option<View>,
}

/// A `LATERAL VIEW POSEXPLODE(col) view AS pos, element`.
pub(super) struct View {
    name: String,
    position: Option<String>,
    element: String,
    element_type: ColType,
}

pub(super) fn lateral_view(lv: &LateralView, scope: &Scope<'_>) -> Result<(Explode, View), LowerError> {
    if lv.outer {
        return fail("LATERAL VIEW OUTER is not supported in ingestion models", Some("outer".into()));
    }
    let ast::Expr::Function(f) = &lv.lateral_view else {
        return fail(format!("unsupported LATERAL VIEW `{}`", lv.lateral_view), None);
    };
    let name = f.name.to_string().to_ascii_lowercase();
    let args = args(f)?;
    let [arg] = args.as_slice() else { return fail(format!("`{name}` takes one array column"), Some(name)) };
    let column = match arg {
        ast::Expr::Identifier(i) => i.value.to_ascii_lowercase(),
        other => return fail(format!("`{name}` of `{other}`: explode a column of the source table"), None),
    };
    let Some(ColType::Array(element_type)) = scope.columns.iter().find(|c| c.name == column).map(|c| c.ty.clone())
    else {
        return fail(format!("`{column}` is not an array column of the source table"), Some(column));
    };
    let aliases: Vec<String> = lv.lateral_col_alias.iter().map(|i| i.value.to_ascii_lowercase()).collect();
    let (position, element) = match (name.as_str(), aliases.as_slice()) {
        ("posexplode", [p, e]) => (Some(p.clone()), e.clone()),
        ("explode", [e]) => (None, e.clone()),
        ("posexplode" | "explode", _) => {
            return fail(format!("name the columns of `{name}`: `AS pos, element` (or `AS element`)"), Some(name));
        }
        _ => return fail(format!("`{name}` in LATERAL VIEW: only EXPLODE and POSEXPLODE lower"), Some(name)),
    };
    let view = View {
        name: lv.lateral_view_name.to_string().to_ascii_lowercase(),
        position,
        element,
        element_type: *element_type,
    };
    Ok((Explode { column }, view))
}

/// The name a bare column reference gets in the output.
pub(super) fn implicit_name(e: &ast::Expr) -> Option<String> {
    match e {
        ast::Expr::Identifier(i) => Some(i.value.to_ascii_lowercase()),
        ast::Expr::CompoundIdentifier(parts) => parts.last().map(|p| p.value.to_ascii_lowercase()),
        _ => None,
    }
}

/// `SELECT *`: every visible column.
pub(super) fn wildcard(scope: &Scope<'_>) -> Vec<Output> {
    match scope.base {
        Some(plan) => plan.outputs.clone(),
        None => scope
            .columns
            .iter()
            .filter_map(|c| match c.ty {
                ColType::Primitive(ty) => Some(Output {
                    name: c.name.clone(),
                    expr: Expr { kind: ExprKind::Column(c.name.clone()), ty, nullable: c.nullable },
                }),
                _ => None,
            })
            .collect(),
    }
}

fn column(parts: &[String], scope: &Scope<'_>) -> Result<Expr, LowerError> {
    let near = parts.last().cloned();
    let shown = parts.join(".");
    // A leading relation alias is dropped; what remains names a column.
    let rest: &[String] = if parts.len() > 1 && parts[0] == scope.alias { &parts[1..] } else { parts };
    if let Some(view) = &scope.explode {
        let rest = if rest.len() > 1 && rest[0] == view.name { &rest[1..] } else { rest };
        if view.position.as_deref() == Some(rest[0].as_str()) && rest.len() == 1 {
            return Ok(Expr { kind: ExprKind::Position, ty: SqlType::Integer, nullable: false });
        }
        if rest[0] == view.element {
            return match (&view.element_type, &rest[1..]) {
                (ColType::Primitive(ty), []) => Ok(Expr { kind: ExprKind::Element(None), ty: *ty, nullable: true }),
                (ColType::Struct(fields), [field]) => match fields.iter().find(|f| &f.name == field) {
                    Some(Column { ty: ColType::Primitive(ty), .. }) => {
                        Ok(Expr { kind: ExprKind::Element(Some(field.clone())), ty: *ty, nullable: true })
                    }
                    _ => fail(format!("the element has no primitive field `{field}` (in `{shown}`)"), near),
                },
                (ColType::Struct(_), []) => fail(format!("`{shown}` is a struct: select its fields"), near),
                _ => fail(format!("unknown column `{shown}`"), near),
            };
        }
    }
    let [name] = rest else { return fail(format!("unknown column `{shown}`"), near) };
    if let Some(plan) = scope.base {
        return match plan.outputs.iter().find(|o| &o.name == name) {
            Some(o) => Ok(o.expr.clone()),
            None => fail(format!("unknown column `{shown}`"), near),
        };
    }
    match scope.columns.iter().find(|c| &c.name == name) {
        Some(Column { ty: ColType::Primitive(ty), nullable, .. }) => {
            Ok(Expr { kind: ExprKind::Column(name.clone()), ty: *ty, nullable: *nullable })
        }
        Some(_) => fail(format!("`{shown}` is an array: explode it with LATERAL VIEW POSEXPLODE"), near),
        None => fail(format!("unknown column `{shown}`"), near),
    }
}

/// Lowers one expression.
pub(super) fn lower(e: &ast::Expr, scope: &Scope<'_>) -> Result<Expr, LowerError> {
    let lower = |e: &ast::Expr| lower(e, scope);
    match e {
        ast::Expr::Identifier(i) => column(&[i.value.to_ascii_lowercase()], scope),
        ast::Expr::CompoundIdentifier(parts) => {
            column(&parts.iter().map(|p| p.value.to_ascii_lowercase()).collect::<Vec<_>>(), scope)
        }
        ast::Expr::Nested(inner) => lower(inner),
        ast::Expr::Value(v) => literal(&v.value),
        ast::Expr::Cast {
            expr,
            data_type,
            format: None,
            kind: ast::CastKind::Cast | ast::CastKind::DoubleColon,
            array: false,
        } => {
            let to = cast_type(data_type).map_err(|d| LowerError { message: d.message, near: None })?;
            cast(lower(expr)?, to, e)
        }
        ast::Expr::BinaryOp { left, op, right } => binary(lower(left)?, op, lower(right)?, e),
        ast::Expr::UnaryOp { op: UnaryOperator::Not, expr } => {
            let x = boolean(lower(expr)?, e)?;
            Ok(Expr { ty: SqlType::Boolean, nullable: x.nullable, kind: ExprKind::Not(Box::new(x)) })
        }
        ast::Expr::UnaryOp { op: UnaryOperator::Minus, expr } => match &**expr {
            // A negative literal is a literal (and `-2147483648` an INTEGER).
            ast::Expr::Value(v) if matches!(v.value, ast::Value::Number(..)) => {
                let ast::Value::Number(n, l) = &v.value else { unreachable!() };
                literal(&ast::Value::Number(format!("-{n}"), *l))
            }
            _ => {
                let x = lower(expr)?;
                numeric(&x, e)?;
                Ok(Expr { ty: x.ty, nullable: x.nullable, kind: ExprKind::Negate(Box::new(x)) })
            }
        },
        ast::Expr::UnaryOp { op: UnaryOperator::Plus, expr } => lower(expr),
        ast::Expr::IsNull(x) | ast::Expr::IsNotNull(x) => Ok(Expr {
            kind: ExprKind::IsNull { expr: Box::new(lower(x)?), negated: matches!(e, ast::Expr::IsNotNull(_)) },
            ty: SqlType::Boolean,
            nullable: false,
        }),
        ast::Expr::InList { expr, list, negated } => {
            let x = lower(expr)?;
            let items: Vec<Expr> = list.iter().map(lower).collect::<Result<_, _>>()?;
            let ty = common(std::iter::once(&x).chain(&items), e)?;
            let nullable = x.nullable || items.iter().any(|i| i.nullable);
            Ok(Expr {
                kind: ExprKind::InList {
                    expr: Box::new(coerce(x, ty)),
                    list: items.into_iter().map(|i| coerce(i, ty)).collect(),
                    negated: *negated,
                },
                ty: SqlType::Boolean,
                nullable,
            })
        }
        ast::Expr::Between { expr, negated, low, high } => {
            let x = lower(expr)?;
            let between = Expr {
                ty: SqlType::Boolean,
                nullable: x.nullable,
                kind: ExprKind::And(
                    Box::new(compare(x.clone(), CmpOp::GtEq, lower(low)?, e)?),
                    Box::new(compare(x, CmpOp::LtEq, lower(high)?, e)?),
                ),
            };
            Ok(if *negated {
                Expr { ty: SqlType::Boolean, nullable: between.nullable, kind: ExprKind::Not(Box::new(between)) }
            } else {
                between
            })
        }
        ast::Expr::Case { operand, conditions, else_result, .. } => {
            let mut branches = Vec::new();
            for c in conditions {
                let cond = match operand {
                    Some(o) => compare(lower(o)?, CmpOp::Eq, lower(&c.condition)?, e)?,
                    None => boolean(lower(&c.condition)?, e)?,
                };
                branches.push((cond, lower(&c.result)?));
            }
            let otherwise = else_result.as_deref().map(lower).transpose()?;
            let results: Vec<&Expr> = branches.iter().map(|(_, r)| r).chain(otherwise.as_ref()).collect();
            let ty = common(results.iter().copied(), e)?;
            let nullable = otherwise.is_none() || results.iter().any(|r| r.nullable);
            Ok(Expr {
                kind: ExprKind::Case {
                    branches: branches.into_iter().map(|(c, r)| (c, coerce(r, ty))).collect(),
                    otherwise: otherwise.map(|o| Box::new(coerce(o, ty))),
                },
                ty,
                nullable,
            })
        }
        ast::Expr::Function(f) => function(f, scope, e),
        ast::Expr::Trim { expr, trim_where: None, trim_what: None, trim_characters: None } => {
            let x = coerce(lower(expr)?, SqlType::String);
            Ok(Expr { ty: SqlType::String, nullable: x.nullable, kind: ExprKind::Call(Function::Trim, vec![x]) })
        }
        ast::Expr::Substring { expr, substring_from, substring_for, .. } => {
            let mut args = vec![coerce(lower(expr)?, SqlType::String)];
            for a in substring_from.iter().chain(substring_for) {
                let a = lower(a)?;
                if a.ty != SqlType::Integer && !is_null_literal(&a) {
                    return fail("SUBSTRING takes INTEGER positions and lengths", Some("substring".into()));
                }
                args.push(coerce(a, SqlType::Integer));
            }
            let nullable = args.iter().any(|a| a.nullable);
            Ok(Expr { kind: ExprKind::Call(Function::Substring, args), ty: SqlType::String, nullable })
        }
        other => fail(
            format!(
                "`{}` is outside what ingestion models run; make it an analytics model",
                first_words(&other.to_string())
            ),
            None,
        ),
    }
}

fn literal(v: &ast::Value) -> Result<Expr, LowerError> {
    let lit = |kind: Literal, ty: SqlType| Ok(Expr { kind: ExprKind::Literal(kind), ty, nullable: false });
    match v {
        ast::Value::Number(n, _) => {
            let n = n.to_string();
            if n.contains(['e', 'E']) {
                match n.parse::<f64>() {
                    Ok(d) => lit(Literal::Double(d), SqlType::Double),
                    Err(_) => fail(format!("`{n}` is not a number"), None),
                }
            } else if n.contains('.') {
                fail(
                    format!(
                        "`{n}` is a DECIMAL in Spark, which ingestion models do not compute with; write `{n}e0` for a DOUBLE"
                    ),
                    None,
                )
            } else if let Ok(i) = n.parse::<i32>() {
                lit(Literal::Integer(i), SqlType::Integer)
            } else if let Ok(l) = n.parse::<i64>() {
                lit(Literal::Long(l), SqlType::Long)
            } else {
                fail(format!("`{n}` does not fit a LONG"), None)
            }
        }
        ast::Value::SingleQuotedString(s) | ast::Value::DoubleQuotedString(s) => {
            lit(Literal::String(s.clone()), SqlType::String)
        }
        ast::Value::Boolean(b) => lit(Literal::Boolean(*b), SqlType::Boolean),
        // Untyped until something gives it a type (see `coerce`).
        ast::Value::Null => Ok(Expr { kind: ExprKind::Literal(Literal::Null), ty: SqlType::String, nullable: true }),
        other => fail(format!("unsupported literal `{other}`"), None),
    }
}

fn is_null_literal(e: &Expr) -> bool {
    matches!(e.kind, ExprKind::Literal(Literal::Null))
}

/// `e` as a `ty`: itself, a retyped NULL, or an explicit cast (only called with
/// conversions Spark makes implicitly).
fn coerce(e: Expr, ty: SqlType) -> Expr {
    if e.ty == ty {
        e
    } else if is_null_literal(&e) {
        Expr { ty, ..e }
    } else {
        Expr { ty, nullable: e.nullable, kind: ExprKind::Cast(Box::new(e)) }
    }
}

/// Which casts the runtime implements, with Spark's meaning (non-ANSI).
fn castable(from: SqlType, to: SqlType) -> bool {
    use SqlType::*;
    from == to
        || to == String
        || from == String
        || matches!((from, to), (Integer | Long | Double | Boolean, Integer | Long | Double | Boolean))
        || matches!((from, to), (Integer | Long | Double, Timestamp) | (Timestamp, Long | Date) | (Date, Timestamp))
}

fn cast(x: Expr, to: SqlType, e: &ast::Expr) -> Result<Expr, LowerError> {
    if !is_null_literal(&x) && !castable(x.ty, to) {
        return fail(
            format!(
                "`{}`: ingestion models do not cast {} to {}",
                first_words(&e.to_string()),
                x.ty.cast_name(),
                to.cast_name()
            ),
            None,
        );
    }
    Ok(coerce(x, to))
}

fn is_numeric(t: SqlType) -> bool {
    matches!(t, SqlType::Integer | SqlType::Long | SqlType::Double)
}

fn numeric(x: &Expr, e: &ast::Expr) -> Result<(), LowerError> {
    if is_numeric(x.ty) || is_null_literal(x) {
        Ok(())
    } else {
        fail(format!("`{}` needs numbers, not {}", first_words(&e.to_string()), x.ty.cast_name()), None)
    }
}

fn boolean(x: Expr, e: &ast::Expr) -> Result<Expr, LowerError> {
    if x.ty == SqlType::Boolean || is_null_literal(&x) {
        Ok(coerce(x, SqlType::Boolean))
    } else {
        fail(format!("`{}` needs a condition, not {}", first_words(&e.to_string()), x.ty.cast_name()), None)
    }
}

/// The type several operands meet at: numbers widen (INTEGER < LONG < DOUBLE), a
/// DATE meets a TIMESTAMP as TIMESTAMP, NULL meets anything; nothing else mixes
/// (Spark's implicit string ↔ number casts are left out on purpose: CAST instead).
fn common<'e>(items: impl IntoIterator<Item = &'e Expr>, e: &ast::Expr) -> Result<SqlType, LowerError> {
    let rank = |t: SqlType| match t {
        SqlType::Integer => 1,
        SqlType::Long => 2,
        _ => 3,
    };
    let mut acc: Option<SqlType> = None;
    for x in items.into_iter().filter(|x| !is_null_literal(x)) {
        acc = Some(match acc {
            None => x.ty,
            Some(a) if a == x.ty => a,
            Some(a) if is_numeric(a) && is_numeric(x.ty) => {
                if rank(a) >= rank(x.ty) {
                    a
                } else {
                    x.ty
                }
            }
            Some(SqlType::Date | SqlType::Timestamp) if matches!(x.ty, SqlType::Date | SqlType::Timestamp) => {
                SqlType::Timestamp
            }
            Some(a) => {
                return fail(
                    format!(
                        "`{}` mixes {} and {}: CAST one side",
                        first_words(&e.to_string()),
                        a.cast_name(),
                        x.ty.cast_name()
                    ),
                    None,
                );
            }
        });
    }
    Ok(acc.unwrap_or(SqlType::String))
}

fn compare(l: Expr, op: CmpOp, r: Expr, e: &ast::Expr) -> Result<Expr, LowerError> {
    let ty = common([&l, &r], e)?;
    let nullable = l.nullable || r.nullable;
    Ok(Expr {
        kind: ExprKind::Compare(op, Box::new(coerce(l, ty)), Box::new(coerce(r, ty))),
        ty: SqlType::Boolean,
        nullable,
    })
}

fn binary(l: Expr, op: &BinaryOperator, r: Expr, e: &ast::Expr) -> Result<Expr, LowerError> {
    let nullable = l.nullable || r.nullable;
    let arith = |op: ArithOp, l: Expr, r: Expr| -> Result<Expr, LowerError> {
        numeric(&l, e)?;
        numeric(&r, e)?;
        // Spark's `/` always divides as DOUBLE (NULL when dividing by zero).
        let ty = if op == ArithOp::Divide { SqlType::Double } else { common([&l, &r], e)? };
        let nullable = nullable || matches!(op, ArithOp::Divide | ArithOp::Remainder);
        Ok(Expr { kind: ExprKind::Arith(op, Box::new(coerce(l, ty)), Box::new(coerce(r, ty))), ty, nullable })
    };
    match op {
        BinaryOperator::Plus => arith(ArithOp::Add, l, r),
        BinaryOperator::Minus => arith(ArithOp::Subtract, l, r),
        BinaryOperator::Multiply => arith(ArithOp::Multiply, l, r),
        BinaryOperator::Divide => arith(ArithOp::Divide, l, r),
        BinaryOperator::Modulo => arith(ArithOp::Remainder, l, r),
        BinaryOperator::Eq => compare(l, CmpOp::Eq, r, e),
        BinaryOperator::NotEq => compare(l, CmpOp::NotEq, r, e),
        BinaryOperator::Lt => compare(l, CmpOp::Lt, r, e),
        BinaryOperator::LtEq => compare(l, CmpOp::LtEq, r, e),
        BinaryOperator::Gt => compare(l, CmpOp::Gt, r, e),
        BinaryOperator::GtEq => compare(l, CmpOp::GtEq, r, e),
        BinaryOperator::And | BinaryOperator::Or => {
            let (l, r) = (Box::new(boolean(l, e)?), Box::new(boolean(r, e)?));
            let kind = if *op == BinaryOperator::And { ExprKind::And(l, r) } else { ExprKind::Or(l, r) };
            Ok(Expr { kind, ty: SqlType::Boolean, nullable })
        }
        BinaryOperator::StringConcat => Ok(Expr {
            kind: ExprKind::Call(Function::Concat, vec![coerce(l, SqlType::String), coerce(r, SqlType::String)]),
            ty: SqlType::String,
            nullable,
        }),
        other => fail(format!("the operator `{other}` is outside what ingestion models run"), None),
    }
}

fn args(f: &ast::Function) -> Result<Vec<ast::Expr>, LowerError> {
    match &f.args {
        FunctionArguments::None => Ok(Vec::new()),
        FunctionArguments::List(l) if l.duplicate_treatment.is_none() && l.clauses.is_empty() => l
            .args
            .iter()
            .map(|a| match a {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Ok(e.clone()),
                other => fail(format!("unsupported argument `{other}` of `{}`", f.name), None),
            })
            .collect(),
        _ => fail(format!("unsupported arguments of `{}`", f.name), Some(f.name.to_string())),
    }
}

fn function(f: &ast::Function, scope: &Scope<'_>, e: &ast::Expr) -> Result<Expr, LowerError> {
    let name = f.name.to_string().to_ascii_lowercase();
    let near = Some(name.clone());
    if f.over.is_some() || f.filter.is_some() || !f.within_group.is_empty() {
        return fail(
            format!("`{name}` as a window or aggregate needs the whole table; make this an analytics model"),
            near,
        );
    }
    if matches!(
        name.as_str(),
        "count" | "sum" | "avg" | "min" | "max" | "first" | "last" | "any_value" | "collect_list" | "collect_set"
    ) {
        return fail(format!("`{name}` aggregates rows; make this an analytics model"), near);
    }
    let raw = args(f)?;
    let args: Vec<Expr> = raw.iter().map(|a| lower(a, scope)).collect::<Result<_, _>>()?;
    let any_null = args.iter().any(|a| a.nullable);
    let call = |func: Function, args: Vec<Expr>, ty: SqlType, nullable: bool| {
        Ok(Expr { kind: ExprKind::Call(func, args), ty, nullable })
    };
    let arity = |n: std::ops::RangeInclusive<usize>| -> Result<(), LowerError> {
        if n.contains(&args.len()) {
            Ok(())
        } else {
            fail(format!("`{name}` takes {} argument(s), not {}", describe(&n), args.len()), near.clone())
        }
    };
    let strings = |args: Vec<Expr>| args.into_iter().map(|a| coerce(a, SqlType::String)).collect::<Vec<_>>();
    match name.as_str() {
        "upper" | "ucase" | "lower" | "lcase" | "trim" => {
            arity(1..=1)?;
            let func = match name.as_str() {
                "upper" | "ucase" => Function::Upper,
                "lower" | "lcase" => Function::Lower,
                _ => Function::Trim,
            };
            call(func, strings(args), SqlType::String, any_null)
        }
        "length" | "char_length" | "character_length" => {
            arity(1..=1)?;
            call(Function::Length, strings(args), SqlType::Integer, any_null)
        }
        "concat" => {
            arity(1..=usize::MAX)?;
            call(Function::Concat, strings(args), SqlType::String, any_null)
        }
        "date_format" => {
            arity(2..=2)?;
            let ExprKind::Literal(Literal::String(pattern)) = &args[1].kind else {
                return fail("`date_format` takes a literal pattern such as 'yyyy-MM'", near);
            };
            check_pattern(pattern).map_err(|m| LowerError { message: m, near: near.clone() })?;
            let pattern = pattern.clone();
            let ts = temporal(args.into_iter().next().expect("arity"), SqlType::Timestamp, e)?;
            call(Function::DateFormat(pattern), vec![ts], SqlType::String, any_null)
        }
        "to_date" => {
            arity(1..=1)?;
            let x = args.into_iter().next().expect("arity");
            temporal(x, SqlType::Date, e)
        }
        "year" | "month" | "day" | "dayofmonth" => {
            arity(1..=1)?;
            let func = match name.as_str() {
                "year" => Function::Year,
                "month" => Function::Month,
                _ => Function::Day,
            };
            let d = temporal(args.into_iter().next().expect("arity"), SqlType::Date, e)?;
            call(func, vec![d], SqlType::Integer, any_null)
        }
        "abs" => {
            arity(1..=1)?;
            numeric(&args[0], e)?;
            let ty = args[0].ty;
            call(Function::Abs, args, ty, true)
        }
        "coalesce" | "ifnull" | "nvl" => {
            arity(1..=usize::MAX)?;
            let ty = common(&args, e)?;
            let nullable = args.iter().all(|a| a.nullable);
            Ok(Expr { kind: ExprKind::Coalesce(args.into_iter().map(|a| coerce(a, ty)).collect()), ty, nullable })
        }
        _ => fail(format!("the function `{name}` is outside what ingestion models run"), near),
    }
}

/// `x` as a DATE or TIMESTAMP, as Spark converts a function's argument.
fn temporal(x: Expr, to: SqlType, e: &ast::Expr) -> Result<Expr, LowerError> {
    match x.ty {
        SqlType::Date | SqlType::Timestamp | SqlType::String => cast(x, to, e),
        other => fail(
            format!("`{}` needs a date or timestamp, not {}", first_words(&e.to_string()), other.cast_name()),
            None,
        ),
    }
}

/// The `DATE_FORMAT` pattern letters the runtime formats: y M d H m s S, runs
/// of them, quoted text and punctuation.
fn check_pattern(pattern: &str) -> Result<(), String> {
    let mut quoted = false;
    for c in pattern.chars() {
        match c {
            '\'' => quoted = !quoted,
            _ if quoted => {}
            'y' | 'M' | 'd' | 'H' | 'm' | 's' | 'S' => {}
            c if c.is_ascii_alphabetic() => {
                return Err(format!(
                    "the pattern letter `{c}` in '{pattern}' is not supported in ingestion models (use y, M, d, H, m, s, S)"
                ));
            }
            _ => {}
        }
    }
    if quoted { Err(format!("unterminated quote in the pattern '{pattern}'")) } else { Ok(()) }
}

fn describe(n: &std::ops::RangeInclusive<usize>) -> String {
    match (*n.start(), *n.end()) {
        (a, b) if a == b => a.to_string(),
        (a, usize::MAX) => format!("at least {a}"),
        (a, b) => format!("{a} to {b}"),
    }
}
