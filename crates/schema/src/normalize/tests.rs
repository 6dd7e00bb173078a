//! Equivalent spellings normalize to one model.

use super::*;
use crate::model::{CheckConstraint, Column, ColumnDefault, Index, PrimaryKey};
use crate::{ForeignKey, ForeignKeyAction};

fn mariadb_schema(table: Table) -> Schema {
    let mut schema = Schema::new();
    schema.charset = Some("utf8mb4".into());
    schema.collation = Some("utf8mb4_unicode_ci".into());
    schema.add_table(table);
    schema
}

fn as_written() -> Table {
    // How a user writes it.
    let mut table = Table::new("t");
    let mut id = Column::new("id", DataType::parse("INTEGER", Dialect::Mariadb));
    id.nullable = true; // a primary key column is NOT NULL anyway
    let mut flag = Column::new("flag", DataType::parse("bool", Dialect::Mariadb));
    flag.default = Some(ColumnDefault::Literal("true".into()));
    let mut at = Column::new("at", DataType::parse("datetime(0)", Dialect::Mariadb));
    at.default = Some(ColumnDefault::Expression(Expr::new("CURRENT_TIMESTAMP")));
    let doc = Column::new("doc", DataType::Json);
    let mut name = Column::new("name", DataType::parse("varchar(20)", Dialect::Mariadb));
    name.charset = Some("utf8mb4".into());
    name.collation = Some("utf8mb4_unicode_ci".into());
    name.default = Some(ColumnDefault::Null);
    table.columns = vec![
        id,
        flag,
        at,
        doc,
        name,
        Column::new("parent", DataType::INT),
    ];
    table.primary_key = Some(PrimaryKey::on(&["id"]));
    table
        .indexes
        .push(Index::on("", IndexKind::Plain, &["name"]));
    table.foreign_keys.push(ForeignKey {
        name: String::new(),
        columns: vec!["parent".into()],
        referenced_table: "t".into(),
        referenced_columns: vec!["id".into()],
        on_delete: ForeignKeyAction::NoAction,
        on_update: ForeignKeyAction::NoAction,
    });
    table.checks.push(CheckConstraint {
        name: String::new(),
        expr: Expr::new("(id > 0)"),
    });
    table
}

fn as_introspected() -> Table {
    // How MariaDB's catalog describes the same table.
    let mut table = Table::new("t");
    let id = Column::new("id", DataType::parse("int(11)", Dialect::Mariadb)).not_null();
    let mut flag = Column::new("flag", DataType::parse("tinyint(1)", Dialect::Mariadb));
    flag.default = Some(ColumnDefault::Expression(Expr::new("1")));
    let mut at = Column::new("at", DataType::parse("datetime", Dialect::Mariadb));
    at.default = Some(ColumnDefault::Expression(Expr::new("current_timestamp()")));
    let mut doc = Column::new("doc", DataType::parse("longtext", Dialect::Mariadb));
    doc.charset = Some("utf8mb4".into());
    doc.collation = Some("utf8mb4_bin".into());
    let mut name = Column::new("name", DataType::parse("varchar(20)", Dialect::Mariadb));
    name.charset = Some("utf8mb4".into());
    name.collation = Some("utf8mb4_unicode_ci".into());
    table.columns = vec![
        id,
        flag,
        at,
        doc,
        name,
        Column::new("parent", DataType::parse("int(11)", Dialect::Mariadb)),
    ];
    table.primary_key = Some(PrimaryKey {
        name: "PRIMARY".into(),
        parts: PrimaryKey::on(&["id"]).parts,
    });
    table
        .indexes
        .push(Index::on("name", IndexKind::Plain, &["name"]));
    table
        .indexes
        .push(Index::on("t_ibfk_1", IndexKind::Plain, &["parent"]));
    table.foreign_keys.push(ForeignKey {
        name: "t_ibfk_1".into(),
        columns: vec!["parent".into()],
        referenced_table: "t".into(),
        referenced_columns: vec!["id".into()],
        on_delete: ForeignKeyAction::Restrict,
        on_update: ForeignKeyAction::Restrict,
    });
    table.checks.push(CheckConstraint {
        name: "doc".into(),
        expr: Expr::new("json_valid(`doc`)"),
    });
    table.checks.push(CheckConstraint {
        name: "CONSTRAINT_1".into(),
        expr: Expr::new("`id` > 0"),
    });
    table.options.engine = Some("innodb".into());
    table.options.collation = Some("utf8mb4_unicode_ci".into());
    table.options.comment = Some(String::new());
    table
}

#[test]
fn mariadb_spellings_normalize_equal() {
    let written = mariadb_schema(as_written()).normalize(Dialect::Mariadb);
    let introspected = mariadb_schema(as_introspected()).normalize(Dialect::Mariadb);
    assert_eq!(written, introspected);
    let table = &written.tables["t"];
    assert_eq!(table.options.engine.as_deref(), Some("InnoDB"));
    assert_eq!(table.options.charset.as_deref(), Some("utf8mb4"));
    assert_eq!(table.columns[3].data_type, DataType::Json);
    assert_eq!(
        table.columns[4].collation, None,
        "inherited collation is implicit"
    );
}

#[test]
fn normalization_is_idempotent() {
    for table in [as_written(), as_introspected()] {
        let once = mariadb_schema(table).normalize(Dialect::Mariadb);
        assert_eq!(once.normalize(Dialect::Mariadb), once);
        let postgres = once.normalize(Dialect::Postgres);
        assert_eq!(postgres.normalize(Dialect::Postgres), postgres);
    }
}

#[test]
fn postgres_spellings_normalize_equal() {
    let p = Dialect::Postgres;
    let mut written = Table::new("t");
    let mut a = Column::new("a", DataType::parse("int4", p));
    a.default = Some(ColumnDefault::Literal("-1".into()));
    let mut b = Column::new("b", DataType::parse("varchar(10)", p));
    b.default = Some(ColumnDefault::Literal("x".into()));
    let mut c = Column::new("c", DataType::parse("timestamptz(6)", p));
    c.default = Some(ColumnDefault::Expression(Expr::new("now()")));
    written.columns = vec![a, b, c];
    written.primary_key = Some(PrimaryKey::on(&["a"]));
    written.checks.push(CheckConstraint {
        name: "b_check".into(),
        expr: Expr::new("b <> ''"),
    });

    let mut introspected = Table::new("t");
    let mut a = Column::new("a", DataType::parse("integer", p)).not_null();
    a.default = Some(ColumnDefault::Expression(Expr::new("'-1'::integer")));
    let mut b = Column::new("b", DataType::parse("character varying(10)", p));
    b.default = Some(ColumnDefault::Expression(Expr::new(
        "'x'::character varying",
    )));
    let mut c = Column::new("c", DataType::parse("timestamp with time zone", p));
    c.default = Some(ColumnDefault::Expression(Expr::new("CURRENT_TIMESTAMP")));
    introspected.columns = vec![a, b, c];
    introspected.primary_key = Some(PrimaryKey {
        name: "t_pkey".into(),
        parts: PrimaryKey::on(&["a"]).parts,
    });
    introspected.checks.push(CheckConstraint {
        name: "b_check".into(),
        expr: Expr::new("((b)::text <> ''::text)"),
    });

    let mut left = Schema::new();
    left.add_table(written);
    let mut right = Schema::new();
    right.add_table(introspected);
    assert_eq!(left.normalize(p), right.normalize(p));
}

#[test]
fn long_keys_become_prefixes_as_innodb_does() {
    let mut table = Table::new("t");
    table.columns = vec![Column::new("s", DataType::Varchar(Some(1000)))];
    table.indexes.push(Index::on("s", IndexKind::Plain, &["s"]));
    let normalized = mariadb_schema(table).normalize(Dialect::Mariadb);
    assert_eq!(normalized.tables["t"].indexes[0].parts[0].prefix, Some(768));
}
