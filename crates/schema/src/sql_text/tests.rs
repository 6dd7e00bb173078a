//! Spelling normalization and quoting.
use super::*;

#[test]
fn server_and_user_spellings_meet() {
    let m = Dialect::Mariadb;
    assert_eq!(
        normalize_expr("`b` > 0 and `a` is not null", m),
        "b > 0 and a is not null"
    );
    assert_eq!(
        normalize_expr("(b>0 AND a IS NOT NULL)", m),
        "b > 0 and a is not null"
    );
    assert_eq!(
        normalize_expr("CURRENT_TIMESTAMP", m),
        "current_timestamp()"
    );
    assert_eq!(normalize_expr("now()", m), "current_timestamp()");
    assert_eq!(
        normalize_expr("current_timestamp(3)", m),
        "current_timestamp(3)"
    );
    assert_eq!(normalize_expr("json_valid(`c`)", m), "json_valid(c)");
    assert_eq!(normalize_expr("`order` + -1", m), "`order` + -1");
    assert_eq!(normalize_expr("_utf8mb4'x'", m), "_utf8mb4'x'");
    let p = Dialect::Postgres;
    assert_eq!(
        normalize_expr("((b > 0) AND (a IS NOT NULL))", p),
        "(b > 0) and (a is not null)"
    );
    assert_eq!(normalize_expr("now()", p), "current_timestamp");
    assert_eq!(normalize_expr("CURRENT_TIMESTAMP", p), "current_timestamp");
    assert_eq!(normalize_expr("'x'::character varying", p), "'x'");
    assert_eq!(
        normalize_expr("\"Weird\" in (1, 2)", p),
        "\"Weird\" in (1, 2)"
    );
    assert_eq!(normalize_expr("lower((a)::text)", p), "lower(a)");
    assert_eq!(normalize_expr("lower(a::text)", p), "lower(a)");
    assert_eq!(
        normalize_expr("(title)::text <> ''::text", p),
        "title <> ''"
    );
    assert_eq!(normalize_expr("a in (1)", p), "a in (1)");
    assert_eq!(normalize_expr("(b > (0)::numeric)", p), "b > 0::numeric");
}

#[test]
fn strings_round_trip() {
    let m = Dialect::Mariadb;
    assert_eq!(unquote_string("'it''s'", m).as_deref(), Some("it's"));
    assert_eq!(unquote_string("'a\\\\b'", m).as_deref(), Some("a\\b"));
    assert_eq!(
        unquote_string(&quote_string("a\\'b", m), m).as_deref(),
        Some("a\\'b")
    );
    assert_eq!(unquote_string("'a' 'b'", m), None);
    assert_eq!(split_quoted_list("'a','b,c','it''s'"), ["a", "b,c", "it's"]);
}
