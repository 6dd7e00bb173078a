//! Lint: for every code, a schema that trips it (with the API fields filled) and a close
//! variant that does not. Bad input (unknown types, unsupported features, dangling
//! references) must come back as lint errors, and diff must not panic on it.

use dbplane_schema::diff::diff;
use dbplane_schema::lint::{LintCode, LintError, LintOptions, lint};
use dbplane_schema::{
    CheckConstraint, Column, DataType, Dialect, Expr, ForeignKey, ForeignKeyAction, Index,
    IndexKind, IndexPart, IndexTarget, LobSize, Partition, Partitioning, PartitioningKind,
    PrimaryKey, Schema, ServerVersion, Table, View, ddl,
};

fn keyed(name: &str) -> Table {
    let mut table = Table::new(name);
    table
        .columns
        .push(Column::new("id", DataType::INT).not_null());
    table.primary_key = Some(PrimaryKey::on(&["id"]));
    table
}

fn schema_of(tables: Vec<Table>) -> Schema {
    let mut schema = Schema::new();
    schema.collation = Some("utf8mb4_unicode_ci".into());
    for table in tables {
        schema.add_table(table);
    }
    schema
}

fn fk(name: &str, column: &str, table: &str, referenced: &str) -> ForeignKey {
    ForeignKey {
        name: name.into(),
        columns: vec![column.into()],
        referenced_table: table.into(),
        referenced_columns: vec![referenced.into()],
        on_delete: ForeignKeyAction::NoAction,
        on_update: ForeignKeyAction::NoAction,
    }
}

fn child_of(parent: &str) -> Table {
    let mut child = keyed("child");
    child.columns.push(Column::new("parent_id", DataType::INT));
    child
        .foreign_keys
        .push(fk("child_parent", "parent_id", parent, "id"));
    child
}

/// `(code, failing, passing, options)` for MariaDB.
fn cases() -> Vec<(LintCode, Schema, Schema, LintOptions)> {
    let options = LintOptions::new(Dialect::Mariadb, "main");
    let mut no_fks = options.clone();
    no_fks.foreign_keys_allowed = false;
    let mut cases = Vec::new();

    let mut unkeyed = Table::new("events");
    unkeyed.columns = vec![
        Column::new("a", DataType::INT),
        Column::new("b", DataType::INT).not_null(),
    ];
    let mut unique_nullable = unkeyed.clone();
    unique_nullable
        .indexes
        .push(Index::on("a", IndexKind::Unique, &["a"]));
    let mut unique_not_null = unkeyed.clone();
    unique_not_null
        .indexes
        .push(Index::on("b", IndexKind::Unique, &["b"]));
    cases.push((
        LintCode::NoUniqueKey,
        schema_of(vec![unique_nullable]),
        schema_of(vec![unique_not_null]),
        options.clone(),
    ));

    let mut blob_key = Table::new("docs");
    blob_key.columns = vec![Column::new("body", DataType::Text(LobSize::Regular)).not_null()];
    blob_key.primary_key = Some(PrimaryKey {
        name: String::new(),
        parts: vec![IndexPart {
            target: IndexTarget::Column("body".into()),
            prefix: Some(10),
            descending: false,
        }],
    });
    let mut varchar_key = blob_key.clone();
    varchar_key.columns[0].data_type = DataType::Varchar(Some(50));
    varchar_key.primary_key = Some(PrimaryKey::on(&["body"]));
    cases.push((
        LintCode::BlobInUniqueKey,
        schema_of(vec![blob_key.clone()]),
        schema_of(vec![varchar_key.clone()]),
        options.clone(),
    ));
    let mut prefixed = varchar_key.clone();
    prefixed.primary_key = Some(PrimaryKey {
        name: String::new(),
        parts: vec![IndexPart {
            target: IndexTarget::Column("body".into()),
            prefix: Some(10),
            descending: false,
        }],
    });
    cases.push((
        LintCode::PartialKeyInUniqueKey,
        schema_of(vec![prefixed]),
        schema_of(vec![varchar_key]),
        options.clone(),
    ));

    let mut ucs2 = keyed("names");
    ucs2.columns
        .push(Column::new("name", DataType::Varchar(Some(20))));
    ucs2.columns[1].collation = Some("ucs2_general_ci".into());
    let mut latin = ucs2.clone();
    latin.columns[1].collation = Some("latin1_swedish_ci".into());
    cases.push((
        LintCode::InvalidCharset,
        schema_of(vec![ucs2]),
        schema_of(vec![latin]),
        options.clone(),
    ));

    let valid_fk = schema_of(vec![keyed("parent"), child_of("parent")]);
    cases.push((
        LintCode::ForeignKeysDisallowed,
        valid_fk.clone(),
        schema_of(vec![keyed("parent"), keyed("child")]),
        no_fks,
    ));

    let mut a = keyed("a");
    a.columns.push(Column::new("b_id", DataType::INT));
    a.foreign_keys.push(fk("a_b", "b_id", "b", "id"));
    let mut b = keyed("b");
    b.columns.push(Column::new("a_id", DataType::INT));
    b.foreign_keys.push(fk("b_a", "a_id", "a", "id"));
    let mut b_free = b.clone();
    b_free.foreign_keys.clear();
    cases.push((
        LintCode::ForeignKeysCircularDependency,
        schema_of(vec![a.clone(), b]),
        schema_of(vec![a, b_free]),
        options.clone(),
    ));

    cases.push((
        LintCode::ForeignKeysNonexistentTable,
        schema_of(vec![child_of("ghost")]),
        valid_fk.clone(),
        options.clone(),
    ));

    let mut over_view = schema_of(vec![child_of("parent_view"), keyed("parent")]);
    over_view.add_view(View::new(
        "parent_view",
        "select parent.id as id from parent",
    ));
    cases.push((
        LintCode::ForeignKeysReferencedView,
        over_view,
        valid_fk.clone(),
        options.clone(),
    ));

    let mut wrong_type = child_of("parent");
    wrong_type.columns[1].data_type = DataType::BIGINT;
    cases.push((
        LintCode::ForeignKeysUnresolved,
        schema_of(vec![keyed("parent"), wrong_type]),
        valid_fk.clone(),
        options.clone(),
    ));

    let mut missing_table = valid_fk.clone();
    missing_table.add_view(View::new("v", "select ghost.id as id from ghost"));
    let mut good_view = valid_fk.clone();
    good_view.add_view(View::new("v", "select parent.id as id from parent"));
    cases.push((
        LintCode::InvalidTableReferencedInView,
        missing_table,
        good_view.clone(),
        options.clone(),
    ));

    let mut missing_column = valid_fk.clone();
    missing_column.add_view(View::new(
        "v",
        "select parent.id as id, parent.name as name from parent",
    ));
    cases.push((
        LintCode::InvalidColumnReferencedInView,
        missing_column,
        good_view,
        options.clone(),
    ));

    let mut duplicate_enum = keyed("moods");
    duplicate_enum.columns.push(Column::new(
        "mood",
        DataType::Enum(vec!["happy".into(), "".into(), "sad".into(), "".into()]),
    ));
    let mut distinct_enum = duplicate_enum.clone();
    distinct_enum.columns[1].data_type =
        DataType::Enum(vec!["happy".into(), "".into(), "sad".into()]);
    cases.push((
        LintCode::DuplicateEnumValue,
        schema_of(vec![duplicate_enum]),
        schema_of(vec![distinct_enum]),
        options.clone(),
    ));

    let mut myisam = keyed("legacy");
    myisam.options.engine = Some("MyISAM".into());
    cases.push((
        LintCode::UnsupportedFeature,
        schema_of(vec![myisam]),
        schema_of(vec![keyed("legacy")]),
        options.clone(),
    ));

    let mut listed = keyed("sales");
    listed.partitioning = Some(Partitioning {
        kind: PartitioningKind::List,
        expression: "id".into(),
        partitions: vec![Partition {
            name: "p0".into(),
            bound: Some("1, 2".into()),
        }],
        subpartitioning: None,
    });
    let mut hashed = listed.clone();
    hashed.partitioning = Some(Partitioning {
        kind: PartitioningKind::Hash,
        expression: "id".into(),
        partitions: vec![Partition {
            name: "p0".into(),
            bound: None,
        }],
        subpartitioning: None,
    });
    cases.push((
        LintCode::UnsupportedPartitioningFeature,
        schema_of(vec![listed]),
        schema_of(vec![hashed]),
        options,
    ));
    cases
}

fn render(errors: &[LintError]) -> String {
    errors
        .iter()
        .map(|e| {
            format!(
                "{} table={} column={} fk_columns={:?} auto_increment={:?} charset={} engine={} check={} enum_value={:?} partitioning={} partition={}\n  {}\n  {}",
                e.lint_error.as_str(),
                e.table_name,
                e.column_name,
                e.foreign_key_column_names,
                e.auto_increment_column_names,
                e.charset_name,
                e.engine_name,
                e.check_constraint_name,
                e.enum_value,
                e.partitioning_type,
                e.partition_name,
                e.error_description,
                e.docs_url
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_code_has_a_failing_and_a_passing_schema() {
    let cases = cases();
    assert_eq!(cases.len(), 14, "one case per code");
    let mut report = String::new();
    for (code, failing, passing, options) in &cases {
        let errors = lint(failing, options);
        let hits: Vec<LintError> = errors
            .iter()
            .filter(|e| e.lint_error == *code)
            .cloned()
            .collect();
        assert!(!hits.is_empty(), "{code:?} not reported: {errors:#?}");
        for hit in &hits {
            assert_eq!(hit.subject_type, "table");
            assert_eq!(hit.keyspace_name, "main");
            assert!(!hit.table_name.is_empty() && !hit.error_description.is_empty());
            assert!(hit.docs_url.starts_with("https://"));
        }
        let clean = lint(passing, options);
        assert!(
            !clean.iter().any(|e| e.lint_error == *code),
            "{code:?} reported on the passing schema: {clean:#?}"
        );
        report.push_str(&format!("== {}\n{}\n", code.as_str(), render(&hits)));
    }
    insta::assert_snapshot!("lint_errors", report);
}

#[test]
fn specific_fields_are_filled() {
    let by_code = |code: LintCode| -> LintError {
        let (_, failing, _, options) = cases().into_iter().find(|c| c.0 == code).expect("case");
        lint(&failing, &options)
            .into_iter()
            .find(|e| e.lint_error == code)
            .expect("reported")
    };
    assert_eq!(by_code(LintCode::InvalidCharset).charset_name, "ucs2");
    assert_eq!(by_code(LintCode::InvalidCharset).column_name, "name");
    assert_eq!(
        by_code(LintCode::ForeignKeysDisallowed).foreign_key_column_names,
        ["parent_id"]
    );
    assert_eq!(by_code(LintCode::DuplicateEnumValue).enum_value, "");
    assert_eq!(by_code(LintCode::UnsupportedFeature).engine_name, "MyISAM");
    assert_eq!(
        by_code(LintCode::UnsupportedPartitioningFeature).partitioning_type,
        "LIST"
    );
    assert_eq!(by_code(LintCode::BlobInUniqueKey).column_name, "body");
    assert_eq!(
        by_code(LintCode::InvalidColumnReferencedInView).column_name,
        "name"
    );
}

/// Bad input: reported, never a panic, and diff still produces something sane.
#[test]
fn bad_input_is_reported_not_panicked_on() {
    let options = LintOptions::new(Dialect::Mariadb, "main");
    let mut weird = keyed("weird");
    weird.columns.push(Column::new(
        "shape",
        DataType::parse("frobnicator(7) zerofill", Dialect::Mariadb),
    ));
    weird.columns.push(Column::new(
        "tags",
        DataType::Array(Box::new(DataType::INT)),
    ));
    weird.checks.push(CheckConstraint {
        name: "random_check".into(),
        expr: Expr::new("id > rand()"),
    });
    weird.checks.push(CheckConstraint {
        name: "sub".into(),
        expr: Expr::new("id in (select 1)"),
    });
    let mut sub = keyed("sub");
    sub.partitioning = Some(Partitioning {
        kind: PartitioningKind::Range,
        expression: "id".into(),
        partitions: vec![Partition {
            name: "p0".into(),
            bound: Some("10".into()),
        }],
        subpartitioning: Some("HASH".into()),
    });
    let mut broken = schema_of(vec![weird, sub, child_of("nowhere")]);
    broken.add_view(View::new(
        "bad_view",
        "select weird.nothing as x from weird",
    ));
    broken.add_view(View::new(
        "json_view",
        "select jt.a from json_table('[1]', '$[*]' columns (a int path '$')) as jt",
    ));
    broken.add_view(View::new("unparsable", "this is not sql"));
    let errors = lint(&broken, &options);
    let codes: Vec<&str> = errors.iter().map(|e| e.lint_error.as_str()).collect();
    for expected in [
        "UNSUPPORTED_FEATURE",
        "UNSUPPORTED_PARTITIONING_FEATURE",
        "FOREIGN_KEYS_NONEXISTENT_TABLE",
        "INVALID_COLUMN_REFERENCED_IN_VIEW",
    ] {
        assert!(
            codes.contains(&expected),
            "{expected} missing from {codes:?}"
        );
    }
    let unsupported: Vec<&LintError> = errors
        .iter()
        .filter(|e| e.lint_error == LintCode::UnsupportedFeature)
        .collect();
    assert!(
        unsupported.iter().any(|e| e.column_name == "shape"),
        "unknown type"
    );
    assert!(
        unsupported.iter().any(|e| e.column_name == "tags"),
        "postgres type on mariadb"
    );
    assert!(
        unsupported
            .iter()
            .any(|e| e.check_constraint_name == "random_check")
    );
    assert!(unsupported.iter().any(|e| e.check_constraint_name == "sub"));
    assert!(unsupported.iter().any(|e| e.table_name == "json_view"));

    // Diff and DDL over the same bad schema: no panic, unknown types kept verbatim.
    for dialect in [Dialect::Mariadb, Dialect::Postgres] {
        let changes = diff(
            &Schema::new(),
            &broken,
            dialect,
            ServerVersion::default_for(dialect),
        );
        assert!(
            changes
                .sql()
                .iter()
                .any(|sql| sql.contains("frobnicator(7) zerofill"))
        );
        let back = diff(
            &broken,
            &Schema::new(),
            dialect,
            ServerVersion::default_for(dialect),
        );
        assert!(back.statements.iter().any(|s| s.can_drop_data));
        assert!(!ddl::create_statements(&broken, dialect).is_empty());
        lint(&broken, &LintOptions::new(dialect, "main"));
    }
}

#[test]
fn postgres_specific_problems() {
    let options = LintOptions::new(Dialect::Postgres, "main");
    let mut table = keyed("t");
    table
        .columns
        .push(Column::new("mood", DataType::Named("mood".into())));
    table
        .columns
        .push(Column::new("kind", DataType::Enum(vec!["a".into()])));
    let mut schema = Schema::new();
    schema.add_table(table);
    schema.enum_types.insert(
        "other".into(),
        dbplane_schema::EnumType {
            name: "other".into(),
            values: vec!["x".into(), "x".into()],
        },
    );
    let errors = lint(&schema, &options);
    assert!(
        errors
            .iter()
            .any(|e| e.lint_error == LintCode::UnsupportedFeature && e.column_name == "mood")
    );
    assert!(
        errors
            .iter()
            .any(|e| e.lint_error == LintCode::UnsupportedFeature && e.column_name == "kind")
    );
    assert!(
        errors
            .iter()
            .any(|e| e.lint_error == LintCode::DuplicateEnumValue && e.enum_value == "x")
    );
    // PostgreSQL needs a unique key on the referenced columns, not any index.
    let mut parent = keyed("parent");
    parent.columns.push(Column::new("code", DataType::INT));
    parent
        .indexes
        .push(Index::on("parent_code", IndexKind::Plain, &["code"]));
    let mut child = keyed("child");
    child.columns.push(Column::new("code", DataType::INT));
    child
        .foreign_keys
        .push(fk("child_code", "code", "parent", "code"));
    let mut schema = Schema::new();
    schema.add_table(parent).add_table(child);
    assert!(
        lint(&schema, &options)
            .iter()
            .any(|e| e.lint_error == LintCode::ForeignKeysUnresolved)
    );
    assert!(
        !lint(&schema, &LintOptions::new(Dialect::Mariadb, "main"))
            .iter()
            .any(|e| e.lint_error == LintCode::ForeignKeysUnresolved)
    );
}
