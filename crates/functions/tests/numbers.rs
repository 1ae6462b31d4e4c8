//! Numeric and control-flow functions against MySQL's documented results.
mod support;
use borealis_functions::SqlValue;
use support::*;

#[test]
fn rounding() {
    let (c, _) = conn();
    assert_eq!(int(&c, "round(-1.23)"), -1);
    assert_eq!(int(&c, "round(-1.58)"), -2);
    assert_eq!(int(&c, "round(1.58)"), 2);
    assert_eq!(real(&c, "round(1.298, 1)"), 1.3);
    assert_eq!(int(&c, "round(1.298, 0)"), 1);
    assert_eq!(int(&c, "round(23.298, -1)"), 20);
    assert_eq!(int(&c, "round(2.5)"), 3);
    assert_eq!(int(&c, "round(-2.5)"), -3);
    assert_eq!(real(&c, "round(1.005, 2)"), 1.01);
    assert_eq!(int(&c, "round(150, -2)"), 200);
    assert_eq!(int(&c, "round('7.5')"), 8);
    null(&c, "round(NULL)");
    assert_eq!(real(&c, "truncate(1.223, 1)"), 1.2);
    assert_eq!(real(&c, "truncate(1.999, 1)"), 1.9);
    assert_eq!(int(&c, "truncate(1.999, 0)"), 1);
    assert_eq!(real(&c, "truncate(-1.999, 1)"), -1.9);
    assert_eq!(int(&c, "truncate(122, -2)"), 100);
    assert_eq!(int(&c, "floor(1.23)"), 1);
    assert_eq!(int(&c, "floor(-1.23)"), -2);
    assert_eq!(int(&c, "ceiling(1.23)"), 2);
    assert_eq!(int(&c, "ceil(-1.23)"), -1);
    assert_eq!(int(&c, "ceil('3.2abc')"), 4);
}

#[test]
fn arithmetic() {
    let (c, _) = conn();
    assert_eq!(int(&c, "mod(234, 10)"), 4);
    assert_eq!(int(&c, "mod(253, 7)"), 1);
    assert_eq!(int(&c, "mod(29, 9)"), 2);
    assert_eq!(real(&c, "mod(34.5, 3)"), 1.5);
    assert_eq!(int(&c, "mod(-7, 3)"), -1);
    null(&c, "mod(1, 0)");
    assert_eq!(real(&c, "pow(2, 2)"), 4.0);
    assert_eq!(real(&c, "power(2, -2)"), 0.25);
    assert_eq!(real(&c, "sqrt(4)"), 2.0);
    null(&c, "sqrt(-16)");
    assert!((real(&c, "exp(2)") - 7.38905609893065).abs() < 1e-12);
    assert!((real(&c, "ln(2)") - std::f64::consts::LN_2).abs() < 1e-12);
    null(&c, "ln(-2)");
    assert_eq!(real(&c, "log(2, 65536)"), 16.0);
    null(&c, "log(1, 100)");
    assert_eq!(real(&c, "log2(65536)"), 16.0);
    assert_eq!(real(&c, "log10(100)"), 2.0);
    assert!((real(&c, "pi()") - std::f64::consts::PI).abs() < 1e-15);
    assert_eq!(int(&c, "sign(-32)"), -1);
    assert_eq!(int(&c, "sign(0)"), 0);
    assert_eq!(int(&c, "sign(234)"), 1);
    assert_eq!(int(&c, "abs(-32)"), 32);
    assert_eq!(int(&c, "abs('-5')"), 5);
    assert_eq!(int(&c, "bit_count(29)"), 4);
    assert_eq!(int(&c, "inet_aton('10.0.5.9')"), 167_773_449);
    assert_eq!(text(&c, "inet_ntoa(167773449)"), "10.0.5.9");
    let r = real(&c, "rand()");
    assert!((0.0..1.0).contains(&r));
    assert_eq!(real(&c, "rand(3)"), real(&c, "rand(3)"));
}

#[test]
fn control_flow() {
    let (c, _) = conn();
    assert_eq!(int(&c, "if(1 > 2, 2, 3)"), 3);
    assert_eq!(text(&c, "if(1 < 2, 'yes', 'no')"), "yes");
    assert_eq!(text(&c, "if(strcmp('test', 'test1'), 'no', 'yes')"), "no");
    assert_eq!(text(&c, "if('0.0', 'T', 'F')"), "F");
    assert_eq!(text(&c, "if('1abc', 'T', 'F')"), "T");
    assert_eq!(text(&c, "if(NULL, 'T', 'F')"), "F");
    assert_eq!(text(&c, "if(0.1, 'T', 'F')"), "T");
    null(&c, "nullif(1, 1)");
    assert_eq!(int(&c, "nullif(1, 2)"), 1);
    null(&c, "nullif('a', 'A')");
    assert_eq!(int(&c, "ifnull(NULL, 10)"), 10);
    assert_eq!(int(&c, "greatest(2, 0)"), 2);
    assert_eq!(real(&c, "greatest(34.0, 3.0, 5.0, 767.0)"), 767.0);
    assert_eq!(text(&c, "greatest('B', 'A', 'C')"), "C");
    assert_eq!(text(&c, "greatest('b', 'A', 'C')"), "C");
    null(&c, "greatest(1, NULL, 2)");
    assert_eq!(int(&c, "least(2, 0)"), 0);
    assert_eq!(real(&c, "least(34.0, 3.0, 5.0, 767.0)"), 3.0);
    assert_eq!(text(&c, "least('B', 'A', 'C')"), "A");
    null(&c, "least(1, NULL)");
    assert_eq!(eval(&c, "greatest(2, '10')"), SqlValue::Integer(10));
}

#[test]
fn json_unquote() {
    let (c, _) = conn();
    assert_eq!(text(&c, "json_unquote('\"abc\"')"), "abc");
    assert_eq!(text(&c, "json_unquote('[1, 2, 3]')"), "[1, 2, 3]");
    assert_eq!(text(&c, "json_unquote('\"\\t\\u0032\"')"), "\t2");
    null(&c, "json_unquote(NULL)");
}

#[test]
fn json_extract_via_arrow_has_mysql_quoting() {
    let (c, _) = conn();
    assert_eq!(text(&c, "'{\"a\": \"x\"}' -> '$.a'"), "\"x\"");
    assert_eq!(text(&c, "'{\"a\": \"x\"}' ->> '$.a'"), "x");
    assert_eq!(text(&c, "json_unquote('{\"a\": \"x\"}' -> '$.a')"), "x");
}
