//! Kernel behaviour pinned to Spark's (the Spark conformance test in
//! tests/e2e compares against a real Spark; these are the quick checks).

use std::sync::Arc;

use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::cast::AsArray as _;
use arrow_array::types::{Date32Type, Float64Type, Int32Type, TimestampMicrosecondType};
use arrow_array::{Array, ArrayRef, BooleanArray, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};

use super::*;

fn strs(v: &[Option<&str>]) -> ArrayRef {
    Arc::new(StringArray::from(v.to_vec()))
}

fn as_strings(a: &ArrayRef) -> Vec<Option<String>> {
    a.as_string::<i32>().iter().map(|v| v.map(str::to_string)).collect()
}

#[test]
fn doubles_print_as_java_prints_them() {
    let d: ArrayRef =
        Arc::new(Float64Array::from(vec![1.0, 0.1, 1e7, 1.5e-4, 123456.789, -0.0, f64::NAN, 1e21, 0.001]));
    let got = as_strings(&cast(&d, Ty::String).unwrap());
    let want = ["1.0", "0.1", "1.0E7", "1.5E-4", "123456.789", "-0.0", "NaN", "1.0E21", "0.001"];
    assert_eq!(got, want.map(|s| Some(s.to_string())));
}

#[test]
fn the_generated_timestamp_expression_is_seconds_plus_fraction() {
    // CAST(s + CAST(n / 1e9 AS DOUBLE) AS TIMESTAMP)
    let s: ArrayRef = Arc::new(Int64Array::from(vec![Some(1_700_000_000), Some(-1), None]));
    let n: ArrayRef = Arc::new(Int32Array::from(vec![Some(123_456_789), Some(500_000_000), Some(1)]));
    let rows = 3;
    let sum = arith(
        ArithOp::Add,
        &cast(&s, Ty::Double).unwrap(),
        &arith(ArithOp::Divide, &cast(&n, Ty::Double).unwrap(), &literal_double(rows, 1e9), Ty::Double).unwrap(),
        Ty::Double,
    )
    .unwrap();
    let ts = cast(&sum, Ty::Timestamp).unwrap();
    assert_eq!(ts.data_type(), &Ty::Timestamp.data_type());
    let got: Vec<Option<i64>> = ts.as_primitive::<TimestampMicrosecondType>().iter().collect();
    // The DOUBLE sum loses the last digits; the cast truncates toward zero.
    let exact = (1_700_000_000f64 + 123_456_789f64 / 1e9) * 1e6;
    assert_eq!(got, vec![Some(exact as i64), Some(-500_000), None]);
    assert_eq!(as_strings(&cast(&ts, Ty::String).unwrap())[1].as_deref(), Some("1969-12-31 23:59:59.5"));
}

#[test]
fn integers_wrap_and_division_by_zero_is_null() {
    let a: ArrayRef = Arc::new(Int32Array::from(vec![i32::MAX, 7, -7, 5]));
    let b: ArrayRef = Arc::new(Int32Array::from(vec![1, 0, 3, 2]));
    let sum = arith(ArithOp::Add, &a, &b, Ty::Integer).unwrap();
    assert_eq!(sum.as_primitive::<Int32Type>().value(0), i32::MIN);
    let rem: Vec<Option<i32>> =
        arith(ArithOp::Remainder, &a, &b, Ty::Integer).unwrap().as_primitive::<Int32Type>().iter().collect();
    assert_eq!(rem, vec![Some(0), None, Some(-1), Some(1)]);
    let quotient =
        arith(ArithOp::Divide, &cast(&a, Ty::Double).unwrap(), &cast(&b, Ty::Double).unwrap(), Ty::Double).unwrap();
    let q: Vec<Option<f64>> = quotient.as_primitive::<Float64Type>().iter().collect();
    assert_eq!(q[1], None);
    assert_eq!(q[3], Some(2.5));
    // LONG → INTEGER wraps; DOUBLE → INTEGER saturates; a bad string is NULL.
    let l: ArrayRef = Arc::new(Int64Array::from(vec![4_294_967_297]));
    assert_eq!(cast(&l, Ty::Integer).unwrap().as_primitive::<Int32Type>().value(0), 1);
    let d: ArrayRef = Arc::new(Float64Array::from(vec![1e20, -2.9, f64::NAN]));
    let got: Vec<Option<i32>> = cast(&d, Ty::Integer).unwrap().as_primitive::<Int32Type>().iter().collect();
    assert_eq!(got, vec![Some(i32::MAX), Some(-2), Some(0)]);
    let s = strs(&[Some(" 12 "), Some("x"), Some("3000000000")]);
    let got: Vec<Option<i32>> = cast(&s, Ty::Integer).unwrap().as_primitive::<Int32Type>().iter().collect();
    assert_eq!(got, vec![Some(12), None, None]);
}

#[test]
fn comparisons_and_logic_are_three_valued() {
    let a: ArrayRef = Arc::new(Float64Array::from(vec![Some(f64::NAN), Some(-0.0), None, Some(1.0)]));
    let b: ArrayRef = Arc::new(Float64Array::from(vec![Some(f64::NAN), Some(0.0), Some(1.0), Some(2.0)]));
    let eq = compare(CmpOp::Eq, &a, &b).unwrap();
    assert_eq!(eq.as_boolean().iter().collect::<Vec<_>>(), vec![Some(true), Some(true), None, Some(false)]);
    let f: ArrayRef = Arc::new(BooleanArray::from(vec![Some(false), None, None]));
    let n: ArrayRef = Arc::new(BooleanArray::from(vec![None, Some(false), Some(true)]));
    assert_eq!(and(&f, &n).unwrap().as_boolean().iter().collect::<Vec<_>>(), vec![Some(false), Some(false), None]);
    assert_eq!(or(&f, &n).unwrap().as_boolean().iter().collect::<Vec<_>>(), vec![None, None, Some(true)]);
    // x IN (1, NULL): TRUE, NULL (no match, a NULL item), NULL (x NULL).
    let x: ArrayRef = Arc::new(Int32Array::from(vec![Some(1), Some(2), None]));
    let got = in_list(&x, &[literal_integer(3, 1), literal_null(3, Ty::Integer)], false).unwrap();
    assert_eq!(got.as_boolean().iter().collect::<Vec<_>>(), vec![Some(true), None, None]);
}

#[test]
fn case_takes_the_first_true_branch_and_coalesce_the_first_value() {
    let c1: ArrayRef = Arc::new(BooleanArray::from(vec![Some(true), None, Some(false)]));
    let c2: ArrayRef = Arc::new(BooleanArray::from(vec![Some(true), Some(true), Some(false)]));
    let got = case(3, &[(c1, strs(&[Some("a"); 3])), (c2, strs(&[Some("b"); 3]))], None, Ty::String).unwrap();
    assert_eq!(as_strings(&got), vec![Some("a".into()), Some("b".into()), None]);
    let got = coalesce(&[strs(&[None, Some("x"), None]), strs(&[Some("y"), Some("z"), None])]).unwrap();
    assert_eq!(as_strings(&got), vec![Some("y".into()), Some("x".into()), None]);
}

#[test]
fn strings_and_dates_follow_spark() {
    let s = strs(&[Some("Spark SQL"), Some("  pad  "), None]);
    let sub = |pos: i32, len: Option<i32>| {
        let mut args = vec![s.clone(), literal_integer(3, pos)];
        args.extend(len.map(|l| literal_integer(3, l)));
        as_strings(&substring(&args).unwrap())[0].clone().unwrap()
    };
    assert_eq!(sub(5, Some(1)), "k");
    assert_eq!(sub(-3, None), "SQL");
    assert_eq!(sub(0, Some(2)), "Sp");
    assert_eq!(sub(-20, Some(15)), "Spar"); // start -11 + 15 = end 4, start clamped to 0
    assert_eq!(sub(-20, Some(5)), "");
    assert_eq!(as_strings(&trim(&s).unwrap())[1].as_deref(), Some("pad"));
    assert_eq!(length(&s).unwrap().as_primitive::<Int32Type>().value(0), 9);
    let dates = cast(&strs(&[Some("2024-02-29"), Some("2024-2-3 10:00"), Some("2023-02-29")]), Ty::Date).unwrap();
    let got: Vec<Option<i32>> = dates.as_primitive::<Date32Type>().iter().collect();
    assert_eq!(got, vec![Some(19782), Some(19756), None]);
    let ts = cast(&strs(&[Some("2024-01-05T07:08:09.5Z"), Some("2024-01-05 07:08:09+01:00")]), Ty::Timestamp).unwrap();
    let formatted = as_strings(&date_format(&ts, "yyyy-MM-dd'T'HH:mm:ss.SSS MMM").unwrap());
    assert_eq!(formatted[0].as_deref(), Some("2024-01-05T07:08:09.500 Jan"));
    assert_eq!(formatted[1].as_deref(), Some("2024-01-05T06:08:09.000 Jan"));
    assert_eq!(year(&dates).unwrap().as_primitive::<Int32Type>().value(0), 2024);
}

#[test]
fn an_exploded_frame_filters_before_it_projects() {
    let mut tags = ListBuilder::new(StringBuilder::new()).with_field(crate::columns::list_item(DataType::Utf8));
    tags.append_value([Some("a"), Some("b")]);
    tags.append_value(Vec::<Option<&str>>::new());
    tags.append_value([Some("c")]);
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("tags", DataType::List(crate::columns::list_item(DataType::Utf8)), false),
    ]));
    let batch =
        RecordBatch::try_new(schema, vec![strs(&[Some("x"), Some("y"), Some("z")]), Arc::new(tags.finish())]).unwrap();
    let frame = Frame::explode(&batch, "tags").unwrap();
    assert_eq!(frame.rows(), 3);
    let keep = compare(CmpOp::NotEq, &frame.element(None).unwrap(), &literal_string(3, "b")).unwrap();
    let frame = frame.filter(&[keep]).unwrap();
    assert_eq!(frame.rows(), 2);
    assert_eq!(as_strings(&frame.column("id").unwrap()), vec![Some("x".into()), Some("z".into())]);
    let pos: Vec<Option<i32>> = frame.position().unwrap().as_primitive::<Int32Type>().iter().collect();
    assert_eq!(pos, vec![Some(0), Some(0)]);
    assert!(frame.column("tags").is_err(), "a list is not a primitive column");
    let out_schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Utf8, false)]));
    assert!(output(out_schema.clone(), vec![frame.column("id").unwrap()]).is_ok());
    let err = output(out_schema, vec![literal_null(2, Ty::String)]).unwrap_err();
    assert!(err.to_string().contains("NOT NULL"), "{err}");
}
