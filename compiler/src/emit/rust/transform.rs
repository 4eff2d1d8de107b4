//! Per ingestion model, its lowered plan (`lower`) as Rust over Arrow arrays:
//! a `schema()` of the model's table and a `run(&staging) -> batch` of
//! straight-line calls into `manifold_runtime::transform`.

use proc_macro2::TokenStream;
use quote::quote;
use sha2::{Digest, Sha256};

use super::mapping::ident;
use crate::emit::columns::SqlType;
use crate::emit::dbt::{DbtModel, Kind};
use crate::lower::{self, ArithOp, CmpOp, Expr, ExprKind, Function, Literal, Plan};
use crate::model::{Model, Product};

/// The ingestion models of `p` that read `entity`'s staging table, in dbt order.
pub fn ingestion_models<'m>(p: &Product, entity: &str, dbt: &'m [DbtModel]) -> Vec<&'m DbtModel> {
    let source = format!("manifold_entities.{entity}");
    dbt.iter()
        .filter(|m| m.product == p.name && matches!(m.kind, Kind::Ingestion(_)))
        .filter(|m| m.compiled.sources.len() == 1 && m.compiled.sources.contains(&source))
        .collect()
}

/// The `transforms` module of product `p`, or the first model that does not lower.
pub fn generate(model: &Model, p: &Product, dbt: &[DbtModel]) -> Result<TokenStream, String> {
    let mut modules = Vec::new();
    for e in &p.entities {
        for m in ingestion_models(p, &e.name, dbt) {
            let plan = lower::lower_model(model, m).map_err(|e| format!("model `{}`: {}", m.name, e.message))?;
            modules.push(model_module(m, &plan));
        }
    }
    Ok(quote! {
        /// The product's ingestion models, lowered from their compiled SQL to
        /// Rust over Arrow arrays (Spark's semantics; see `manifold_runtime::transform`).
        #[allow(clippy::all, unused_variables, non_snake_case)]
        pub mod transforms {
            #(#modules)*
        }
    })
}

/// The fingerprint of ingestion model `m`, lowered to `plan` (see
/// [`fingerprint`]). `manifold check` compares a team model's with the
/// baseline's (EC025).
pub fn model_fingerprint(m: &DbtModel, plan: &Plan) -> i64 {
    fingerprint(m, &model_code(plan))
}

fn model_module(m: &DbtModel, plan: &Plan) -> TokenStream {
    let name = ident(&m.name);
    let doc = format!(" `{}`: its table's schema and its transform of staging rows.", m.name);
    let code = model_code(plan);
    let fingerprint = proc_macro2::Literal::i64_unsuffixed(fingerprint(m, &code));
    quote! {
        #[doc = #doc]
        pub mod #name {
            use std::sync::Arc;
            use ::manifold_runtime::arrow_array::RecordBatch;
            use ::manifold_runtime::arrow_schema::{Field, Schema, SchemaRef};
            use ::manifold_runtime::transform::{self as t, Frame, Ty};

            /// What the model computes, hashed: its table's schema and
            /// transform (below) and how its rows are written.
            pub const FINGERPRINT: i64 = #fingerprint;

            #code
        }
    }
}

/// The model's `schema()` and `run()`.
fn model_code(plan: &Plan) -> TokenStream {
    let fields = plan.outputs.iter().map(|o| {
        let (n, ty, nullable) = (&o.name, ty(o.expr.ty), o.expr.nullable);
        quote! { Field::new(#n, #ty.data_type(), #nullable) }
    });
    let frame = match &plan.explode {
        Some(x) => {
            let column = &x.column;
            quote! { Frame::explode(staging, #column)? }
        }
        None => quote! { Frame::new(staging) },
    };
    let filter = (!plan.filter.is_empty()).then(|| {
        let conditions = plan.filter.iter().map(expr);
        quote! {
            let rows = frame.rows();
            let conditions = [#(#conditions),*];
            let frame = frame.filter(&conditions)?;
        }
    });
    let columns = plan.outputs.iter().map(|o| expr(&o.expr));
    quote! {
        /// The Arrow schema of the model's table.
        pub fn schema() -> SchemaRef {
            Arc::new(Schema::new(vec![#(#fields),*]))
        }

        /// The model's rows for a batch of staging rows.
        pub fn run(staging: &RecordBatch) -> t::Result<RecordBatch> {
            let frame = #frame;
            #filter
            let rows = frame.rows();
            t::output(schema(), vec![#(#columns),*])
        }
    }
}

/// A short, stable hash of what model `m` computes: `code` (its table's
/// schema and its transform, the Rust that runs — so whitespace and comments
/// in its SQL do not count, and neither do rewrites that lower to the same
/// code) and how its rows are written (writer, key, partitioning). Each fill
/// of the model's table records it, so a release whose model computes
/// something else fills the table again (see the runtime's
/// `merge::model_app_id`).
fn fingerprint(m: &DbtModel, code: &TokenStream) -> i64 {
    let mut hash = Sha256::new();
    hash.update(code.to_string());
    hash.update(format!("\n{:?}\n{:?}\n{:?}", m.kind, m.key, m.partition_by));
    let bytes: [u8; 8] = hash.finalize()[..8].try_into().expect("a SHA-256 has 32 bytes");
    // 63 bits: a Delta `txn` version is a signed long, and this one is >= 0.
    (u64::from_be_bytes(bytes) >> 1) as i64
}

fn ty(t: SqlType) -> TokenStream {
    match t {
        SqlType::String => quote! { Ty::String },
        SqlType::Boolean => quote! { Ty::Boolean },
        SqlType::Integer => quote! { Ty::Integer },
        SqlType::Long => quote! { Ty::Long },
        SqlType::Double => quote! { Ty::Double },
        SqlType::Timestamp => quote! { Ty::Timestamp },
        SqlType::Date => quote! { Ty::Date },
    }
}

/// An expression as a Rust expression of type `ArrayRef` (inside `run`).
fn expr(e: &Expr) -> TokenStream {
    let t = ty(e.ty);
    match &e.kind {
        ExprKind::Column(name) => quote! { frame.column(#name)? },
        ExprKind::Position => quote! { frame.position()? },
        ExprKind::Element(None) => quote! { frame.element(None)? },
        ExprKind::Element(Some(f)) => quote! { frame.element(Some(#f))? },
        ExprKind::Literal(l) => match l {
            Literal::Null => quote! { t::literal_null(rows, #t) },
            Literal::Boolean(b) => quote! { t::literal_boolean(rows, #b) },
            Literal::Integer(i) => quote! { t::literal_integer(rows, #i) },
            Literal::Long(l) => quote! { t::literal_long(rows, #l) },
            Literal::Double(d) => {
                let d = proc_macro2::Literal::f64_suffixed(*d);
                quote! { t::literal_double(rows, #d) }
            }
            Literal::String(s) => quote! { t::literal_string(rows, #s) },
        },
        ExprKind::Cast(x) => {
            let x = expr(x);
            quote! { t::cast(&#x, #t)? }
        }
        ExprKind::Arith(op, l, r) => {
            let op = match op {
                ArithOp::Add => quote! { Add },
                ArithOp::Subtract => quote! { Subtract },
                ArithOp::Multiply => quote! { Multiply },
                ArithOp::Divide => quote! { Divide },
                ArithOp::Remainder => quote! { Remainder },
            };
            let (l, r) = (expr(l), expr(r));
            quote! { t::arith(t::ArithOp::#op, &#l, &#r, #t)? }
        }
        ExprKind::Compare(op, l, r) => {
            let op = match op {
                CmpOp::Eq => quote! { Eq },
                CmpOp::NotEq => quote! { NotEq },
                CmpOp::Lt => quote! { Lt },
                CmpOp::LtEq => quote! { LtEq },
                CmpOp::Gt => quote! { Gt },
                CmpOp::GtEq => quote! { GtEq },
            };
            let (l, r) = (expr(l), expr(r));
            quote! { t::compare(t::CmpOp::#op, &#l, &#r)? }
        }
        ExprKind::And(l, r) => {
            let (l, r) = (expr(l), expr(r));
            quote! { t::and(&#l, &#r)? }
        }
        ExprKind::Or(l, r) => {
            let (l, r) = (expr(l), expr(r));
            quote! { t::or(&#l, &#r)? }
        }
        ExprKind::Not(x) => {
            let x = expr(x);
            quote! { t::not(&#x)? }
        }
        ExprKind::Negate(x) => {
            let x = expr(x);
            quote! { t::negate(&#x, #t)? }
        }
        ExprKind::IsNull { expr: x, negated } => {
            let x = expr(x);
            quote! { t::is_null(&#x, #negated)? }
        }
        ExprKind::InList { expr: x, list, negated } => {
            let x = expr(x);
            let items = list.iter().map(expr);
            quote! { t::in_list(&#x, &[#(#items),*], #negated)? }
        }
        ExprKind::Case { branches, otherwise } => {
            let branches = branches.iter().map(|(c, v)| {
                let (c, v) = (expr(c), expr(v));
                quote! { (#c, #v) }
            });
            let otherwise = match otherwise {
                Some(o) => {
                    let o = expr(o);
                    quote! { Some(#o) }
                }
                None => quote! { None },
            };
            quote! { t::case(rows, &[#(#branches),*], #otherwise, #t)? }
        }
        ExprKind::Coalesce(args) => {
            let args = args.iter().map(expr);
            quote! { t::coalesce(&[#(#args),*])? }
        }
        ExprKind::Call(f, args) => {
            let mut a = args.iter().map(expr);
            match f {
                Function::Concat | Function::Substring => {
                    let func = if *f == Function::Concat {
                        quote! { concat }
                    } else {
                        quote! { substring }
                    };
                    quote! { t::#func(&[#(#a),*])? }
                }
                Function::DateFormat(pattern) => {
                    let x = a.next().expect("one argument");
                    quote! { t::date_format(&#x, #pattern)? }
                }
                Function::Abs => {
                    let x = a.next().expect("one argument");
                    quote! { t::abs(&#x, #t)? }
                }
                one => {
                    let func = match one {
                        Function::Upper => quote! { upper },
                        Function::Lower => quote! { lower },
                        Function::Trim => quote! { trim },
                        Function::Length => quote! { length },
                        Function::Year => quote! { year },
                        Function::Month => quote! { month },
                        Function::Day => quote! { day },
                        Function::Concat | Function::Substring | Function::DateFormat(_) | Function::Abs => {
                            unreachable!("handled above")
                        }
                    };
                    let x = a.next().expect("one argument");
                    quote! { t::#func(&#x)? }
                }
            }
        }
    }
}
