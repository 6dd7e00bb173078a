use super::*;

fn tables(sql: &str) -> Vec<String> {
    analyze(sql.as_bytes())
        .tables
        .into_iter()
        .map(|t| match t.database {
            Some(db) => format!(
                "{}.{}",
                String::from_utf8(db).unwrap(),
                String::from_utf8(t.name).unwrap()
            ),
            None => String::from_utf8(t.name).unwrap(),
        })
        .collect()
}

#[test]
fn kinds_and_pinning() {
    let kind = |sql: &str| analyze(sql.as_bytes()).kind;
    assert_eq!(kind("select 1"), StatementKind::Read);
    assert_eq!(
        kind("  /* hi */ INSERT INTO t VALUES (1)"),
        StatementKind::Write
    );
    assert_eq!(kind("ALTER TABLE t ADD c INT"), StatementKind::Ddl);
    assert_eq!(
        kind("create temporary table x (a int)"),
        StatementKind::TemporaryTable
    );
    assert_eq!(
        kind("CREATE OR REPLACE TEMPORARY TABLE x (a int)"),
        StatementKind::TemporaryTable
    );
    assert_eq!(
        kind("drop temporary table x"),
        StatementKind::TemporaryTable
    );
    assert_eq!(kind("USE `shop`"), StatementKind::Use(b"shop".to_vec()));
    assert_eq!(kind("start transaction"), StatementKind::Begin);
    assert_eq!(kind("SHOW TABLES"), StatementKind::Show);
    assert!(analyze(b"SET @a = 1").pins);
    assert!(analyze(b"SELECT GET_LOCK('x', 1)").pins);
    assert_eq!(analyze(b"SELECT LAST_INSERT_ID()").previous.len(), 1);
    assert!(analyze(b"SELECT LAST_INSERT_ID(5)").pins);
    assert!(analyze(b"SELECT SQL_CALC_FOUND_ROWS * FROM t").pins);
    assert!(!analyze(b"SELECT @@version_comment LIMIT 1").pins);
    assert_eq!(
        kind("SET STATEMENT max_statement_time = 1 FOR SELECT 1"),
        StatementKind::Read
    );
    assert!(!analyze(b"SELECT id FROM t WHERE id = 1").pins);
    assert!(analyze(b"SELECT * FROM information_schema.TABLES").metadata);
    assert!(analyze(b"SELECT DATABASE()").metadata);
    assert!(analyze(b"SELECT 1; SELECT 2").multi);
    assert!(!analyze(b"SELECT 1;").multi);
    assert!(analyze(b"SELECT 1; DROP TABLE t").any_ddl);
    assert!(analyze(b"SELECT 1; SET autocommit = 0").pins);
    assert!(!analyze(b"SELECT 1; SELECT 2").pins);
    let kill = |sql: &str| {
        let analysis = analyze(sql.as_bytes());
        super::kill(sql.as_bytes(), &analysis.tokens)
    };
    assert_eq!(
        kill("KILL QUERY 12"),
        Some(Kill {
            query_only: true,
            id: 12
        })
    );
    assert_eq!(
        kill("kill connection 7;"),
        Some(Kill {
            query_only: false,
            id: 7
        })
    );
    assert_eq!(
        kill("KILL HARD 7"),
        Some(Kill {
            query_only: false,
            id: 7
        })
    );
    assert_eq!(kill("KILL QUERY ID 7"), None);
    assert_eq!(kill("SELECT 1"), None);
}

#[test]
fn tables_are_found() {
    assert_eq!(tables("SELECT a FROM t WHERE x = 1"), ["t"]);
    assert_eq!(
        tables("SELECT * FROM shop.items i JOIN `o rders` AS o ON i.id = o.id"),
        ["o rders", "shop.items"]
    );
    assert_eq!(tables("select * from a, b where a.x = b.y"), ["a", "b"]);
    assert_eq!(tables("INSERT IGNORE INTO t (a) VALUES (1)"), ["t"]);
    assert_eq!(tables("UPDATE t SET a = 1"), ["t"]);
    assert_eq!(
        tables("DELETE FROM t WHERE id IN (SELECT id FROM u)"),
        ["t", "u"]
    );
    assert_eq!(tables("ALTER TABLE t ADD COLUMN x INT"), ["t"]);
    assert!(tables("SELECT 1").is_empty());
}

#[test]
fn fingerprints_hide_literals_and_collapse_lists() {
    let fp = |sql: &str| analyze(sql.as_bytes()).fingerprint;
    assert_eq!(
        fp("select  a, b FROM t WHERE id = 42 and name = 'x' -- c"),
        "SELECT a , b FROM t WHERE id = ? AND name = ?"
    );
    assert_eq!(
        fp("SELECT * FROM t WHERE id IN (1, 2, 3)"),
        fp("SELECT * FROM t WHERE id IN (4)")
    );
    assert_eq!(
        fp("INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y');"),
        "INSERT INTO t ( a , b ) VALUES (?+)"
    );
    assert_eq!(fp("SELECT * FROM shop.t"), "SELECT * FROM shop.t");
}

#[test]
fn the_logical_name_is_rewritten_where_it_names_the_database() {
    let rewrite = |sql: &str, _metadata: bool| {
        let analysis = analyze(sql.as_bytes());
        let how = Rewrite {
            logical: b"shop",
            physical: b"dbp_x",
            values: None,
        };
        rewrite(sql.as_bytes(), &analysis, &how).map(|v| String::from_utf8(v).unwrap())
    };
    assert_eq!(rewrite("SELECT * FROM t", false), None);
    assert_eq!(
        rewrite("SELECT shop.t.a FROM shop.t JOIN `shop`.u", false).as_deref(),
        Some("SELECT `dbp_x`.t.a FROM `dbp_x`.t JOIN `dbp_x`.u")
    );
    // A column called like the database is left alone.
    assert_eq!(rewrite("SELECT shop FROM t", false), None);
    assert_eq!(
        rewrite(
            "SELECT * FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'shop'",
            true
        )
        .as_deref(),
        Some("SELECT * FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'dbp_x'")
    );
    assert_eq!(rewrite("SELECT 'shop'", false), None);
    assert_eq!(
        rewrite("SHOW TABLES FROM shop", true).as_deref(),
        Some("SHOW TABLES FROM `dbp_x`")
    );
}

#[test]
fn session_values_are_answered_with_the_column_name_kept() {
    let values = SessionValues {
        last_insert_id: 42,
        row_count: 3,
        found_rows: 9,
    };
    let rewrite_of = |sql: &str| {
        let analysis = analyze(sql.as_bytes());
        let how = Rewrite {
            logical: b"shop",
            physical: b"dbp_x",
            values: Some(&values),
        };
        rewrite(sql.as_bytes(), &analysis, &how).map(|v| String::from_utf8(v).unwrap())
    };
    assert_eq!(
        rewrite_of("SELECT LAST_INSERT_ID()").as_deref(),
        Some("SELECT 42 AS `LAST_INSERT_ID()`")
    );
    assert_eq!(
        rewrite_of("select last_insert_id() as id").as_deref(),
        Some("select 42 as id")
    );
    assert_eq!(
        rewrite_of("SELECT ROW_COUNT(), found_rows() + 1 n, `a`").as_deref(),
        Some("SELECT 3 AS `ROW_COUNT()`, 9 + 1 n, `a`")
    );
    assert_eq!(
        rewrite_of("INSERT INTO c (p) VALUES (LAST_INSERT_ID())").as_deref(),
        Some("INSERT INTO c (p) VALUES (42)")
    );
    assert_eq!(
        rewrite_of("SELECT (SELECT LAST_INSERT_ID()) FROM t").as_deref(),
        Some("SELECT (SELECT 42 AS `LAST_INSERT_ID()`) AS `(SELECT LAST_INSERT_ID())` FROM t")
    );
    assert_eq!(
        rewrite_of("SELECT DISTINCT COALESCE(LAST_INSERT_ID(), 0)").as_deref(),
        Some("SELECT DISTINCT COALESCE(42, 0) AS `COALESCE(LAST_INSERT_ID(), 0)`")
    );
    // In a batch the backend connection's own value is right.
    assert_eq!(
        rewrite_of("INSERT INTO t VALUES (); SELECT LAST_INSERT_ID()"),
        None
    );
}

#[test]
fn settings_are_told_from_session_state() {
    let setting = |sql: &str| analyze(sql.as_bytes()).setting;
    assert!(setting("SET NAMES utf8mb4"));
    assert!(setting("SET autocommit = 0"));
    assert!(setting(
        "SET SESSION sql_mode = 'ANSI', @@session.time_zone = '+00:00'"
    ));
    assert!(setting(
        "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED"
    ));
    assert!(!setting("SET TRANSACTION ISOLATION LEVEL READ COMMITTED"));
    assert!(!setting("SET GLOBAL max_connections = 10"));
    assert!(!setting("SET @@global.x = 1"));
    assert!(!setting("SET @a = 1"));
    assert!(!setting("SET sql_mode = @old"));
    assert!(!setting("SET NAMES utf8; SET @a = 1"));
    assert!(analyze(b"SET @a = 1").pins);
    assert!(analyze(b"SET TRANSACTION READ ONLY").pins);
    assert!(!analyze(b"SET NAMES utf8mb4").pins);
    assert_eq!(
        analyze(b"set workload = 'olap'").workload,
        Some(Workload::Olap)
    );
    assert_eq!(
        analyze(b"SET @@workload = OLTP").workload,
        Some(Workload::Oltp)
    );
    assert_eq!(analyze(b"SET workload = 'x'").workload, None);
    assert!(!analyze(b"SET workload = olap").pins);
}

proptest::proptest! {
    #[test]
    fn any_input_is_analyzed_without_panicking(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
        let _ = analyze(&bytes);
        let analysis = analyze(&bytes);
        let values = SessionValues { last_insert_id: 7, row_count: 1, found_rows: 2 };
        let how = Rewrite { logical: b"shop", physical: b"dbp_x", values: Some(&values) };
        let _ = rewrite(&bytes, &analysis, &how);
    }
}
