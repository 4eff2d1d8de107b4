use super::*;
use crate::emit::table::derive::ColType;

fn col(name: &str, ty: SqlType, nullable: bool) -> Column {
    Column { name: name.into(), ty: ColType::Primitive(ty), nullable }
}

/// A source table: a few scalars and two arrays.
fn source() -> Vec<Column> {
    vec![
        col("id", SqlType::String, false),
        col("version", SqlType::Long, false),
        col("points", SqlType::Integer, true),
        col("ratio", SqlType::Double, true),
        col("name", SqlType::String, true),
        col("done", SqlType::Boolean, false),
        col("at_seconds", SqlType::Long, true),
        col("at_nanos", SqlType::Integer, true),
        Column {
            name: "tags".into(),
            ty: ColType::Array(Box::new(ColType::Primitive(SqlType::String))),
            nullable: false,
        },
        Column {
            name: "items".into(),
            ty: ColType::Array(Box::new(ColType::Struct(vec![col("sku", SqlType::String, true)]))),
            nullable: false,
        },
    ]
}

fn plan(sql: &str) -> Plan {
    lower(sql, "src.t", &source()).unwrap_or_else(|e| panic!("{sql}: {e:?}"))
}

fn error(sql: &str) -> String {
    lower(sql, "src.t", &source()).expect_err(sql).message
}

#[test]
fn a_cte_is_inlined_and_identity_casts_vanish() {
    let p = plan(
        "WITH cte_0 AS (SELECT CAST(id AS STRING) AS id, \
           CAST(at_seconds + CAST(at_nanos / 1e9 AS DOUBLE) AS TIMESTAMP) AS at FROM src.t) \
         SELECT id, at FROM cte_0",
    );
    assert_eq!(p.outputs.len(), 2);
    assert_eq!(p.outputs[0].expr.kind, ExprKind::Column("id".into()));
    let at = &p.outputs[1].expr;
    assert_eq!((at.ty, at.nullable), (SqlType::Timestamp, true));
    // CAST(seconds + CAST(nanos / 1e9 AS DOUBLE) AS TIMESTAMP): the LONG is widened
    // to DOUBLE explicitly, the division is DOUBLE already.
    let ExprKind::Cast(sum) = &at.kind else { panic!("{at:?}") };
    let ExprKind::Arith(ArithOp::Add, l, r) = &sum.kind else { panic!("{sum:?}") };
    assert_eq!(sum.ty, SqlType::Double);
    assert!(matches!(&l.kind, ExprKind::Cast(x) if x.kind == ExprKind::Column("at_seconds".into())));
    assert!(matches!(&r.kind, ExprKind::Arith(ArithOp::Divide, _, _)));
}

#[test]
fn an_explode_gives_positions_and_element_fields() {
    let p = plan(
        "SELECT id, CAST(x.pos AS INTEGER) AS position, x.element.sku AS sku FROM src.t \
         LATERAL VIEW POSEXPLODE(items) x AS pos, element",
    );
    assert_eq!(p.explode, Some(Explode { column: "items".into() }));
    assert_eq!(p.outputs[1].expr.kind, ExprKind::Position);
    assert_eq!(p.outputs[2].expr.kind, ExprKind::Element(Some("sku".into())));
    let p = plan("SELECT e AS tag FROM src.t LATERAL VIEW EXPLODE(tags) v AS e");
    assert_eq!(p.outputs[0].expr.kind, ExprKind::Element(None));
}

#[test]
fn filters_of_cte_and_outer_query_both_apply() {
    let p = plan("WITH c AS (SELECT id, done FROM src.t WHERE points > 2) SELECT id FROM c WHERE NOT done");
    assert_eq!(p.filter.len(), 2);
    assert!(
        matches!(&p.filter[0].kind, ExprKind::Compare(CmpOp::Gt, _, r) if r.kind == ExprKind::Literal(Literal::Integer(2)))
    );
    assert!(matches!(&p.filter[1].kind, ExprKind::Not(_)));
}

#[test]
fn operands_meet_at_a_common_type() {
    let p = plan(
        "SELECT points + version AS a, CASE WHEN done THEN points ELSE ratio END AS b, \
         COALESCE(name, 'none') AS c, points IN (1, 2, NULL) AS d, -version AS e, name || id AS f FROM src.t",
    );
    let ty = |i: usize| (p.outputs[i].expr.ty, p.outputs[i].expr.nullable);
    assert_eq!(ty(0), (SqlType::Long, true));
    assert_eq!(ty(1), (SqlType::Double, true));
    assert_eq!(ty(2), (SqlType::String, false));
    assert_eq!(ty(3), (SqlType::Boolean, true));
    assert_eq!(ty(4), (SqlType::Long, false));
    assert_eq!(ty(5), (SqlType::String, true));
    let ExprKind::Arith(ArithOp::Add, l, _) = &p.outputs[0].expr.kind else { panic!() };
    assert!(matches!(l.kind, ExprKind::Cast(_)), "the INTEGER is widened: {l:?}");
}

#[test]
fn functions_take_their_arguments_converted() {
    let p = plan(
        "SELECT DATE_FORMAT(CAST(at_seconds AS TIMESTAMP), 'yyyy-MM') AS m, YEAR(name) AS y, \
         SUBSTRING(name, 2, 3) AS s, LENGTH(points) AS l FROM src.t",
    );
    assert!(matches!(&p.outputs[0].expr.kind, ExprKind::Call(Function::DateFormat(f), _) if f == "yyyy-MM"));
    let ExprKind::Call(Function::Year, args) = &p.outputs[1].expr.kind else { panic!() };
    assert_eq!(args[0].ty, SqlType::Date);
    let ExprKind::Call(Function::Length, args) = &p.outputs[3].expr.kind else { panic!() };
    assert_eq!(args[0].ty, SqlType::String);
}

/// The unsupported corpus: each construct and the message it gets.
#[test]
fn constructs_outside_the_subset_are_named() {
    let cases = [
        ("SELECT COUNT(*) AS n FROM src.t", "aggregates rows"),
        ("SELECT id FROM src.t GROUP BY id", "GROUP BY"),
        ("SELECT DISTINCT id FROM src.t", "DISTINCT"),
        ("SELECT a.id FROM src.t a JOIN src.t b ON a.id = b.id", "JOIN"),
        ("SELECT id FROM other.t", "not this model's source table"),
        ("SELECT id, ROW_NUMBER() OVER (PARTITION BY id ORDER BY version) AS r FROM src.t", "window"),
        ("SELECT id FROM src.t UNION ALL SELECT id FROM src.t", "combines queries"),
        ("SELECT id FROM src.t ORDER BY id", "ORDER BY"),
        ("SELECT ratio * 1.5 AS r FROM src.t", "DECIMAL"),
        ("SELECT name + 1 AS r FROM src.t", "needs numbers"),
        ("SELECT name = points AS r FROM src.t", "CAST one side"),
        ("SELECT CAST(done AS DATE) AS d FROM src.t", "do not cast BOOLEAN to DATE"),
        ("SELECT REGEXP_EXTRACT(name, 'a', 0) AS r FROM src.t", "`regexp_extract` is outside"),
        ("SELECT DATE_FORMAT(name, 'yyyy QQ') AS r FROM src.t", "pattern letter `Q`"),
        ("SELECT tags FROM src.t", "is an array"),
        ("SELECT nope FROM src.t", "unknown column `nope`"),
        ("SELECT id FROM src.t WHERE name", "is not a condition"),
        ("SELECT id FROM src.t WHERE id IN (SELECT id FROM src.t)", "outside what ingestion models run"),
        ("SELECT x.e AS v FROM src.t LATERAL VIEW OUTER EXPLODE(tags) x AS e", "OUTER"),
        ("SELECT x.e AS v FROM src.t LATERAL VIEW EXPLODE(name) x AS e", "not an array column"),
    ];
    for (sql, want) in cases {
        let got = error(sql);
        assert!(got.contains(want), "{sql}\n  got: {got}\n  want: {want}");
    }
}
