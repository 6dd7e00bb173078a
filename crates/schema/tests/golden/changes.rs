//! The change kinds of the golden tests, shared with the real-server test that runs
//! each of them forward and backward.

use dbplane_schema::model::{EnumType, Sequence};
use dbplane_schema::{
    CheckConstraint, Column, ColumnDefault, DataType, Dialect, Expr, ForeignKey, ForeignKeyAction,
    Generated, Identity, Index, IndexKind, IndexPart, IndexTarget, LobSize, Partition,
    Partitioning, PartitioningKind, PrimaryKey, Schema, Table, View,
};

pub fn varchar(n: u32) -> DataType {
    DataType::Varchar(Some(n))
}

/// `parent(id, name unique)`, `child(id, parent_id → parent, title, body, qty, created)`
/// and a view over child.
pub fn base(dialect: Dialect) -> Schema {
    let mut schema = Schema::new();
    if dialect == Dialect::Mariadb {
        schema.collation = Some("utf8mb4_unicode_ci".into());
    }
    let mut parent = Table::new("parent");
    parent.columns = vec![
        Column::new("id", DataType::BIGINT).not_null(),
        Column::new("name", varchar(50)).not_null(),
    ];
    parent.primary_key = Some(PrimaryKey::on(&["id"]));
    parent
        .indexes
        .push(Index::on("parent_name", IndexKind::Unique, &["name"]));
    let mut child = Table::new("child");
    let created_type = match dialect {
        Dialect::Mariadb => DataType::DateTime { precision: None },
        Dialect::Postgres => DataType::Timestamp {
            precision: None,
            with_time_zone: false,
        },
    };
    child.columns = vec![
        Column::new("id", DataType::BIGINT).not_null(),
        Column::new("parent_id", DataType::BIGINT),
        Column::new("title", varchar(100)).not_null(),
        Column::new("body", DataType::Text(LobSize::Regular)),
        Column::new("qty", DataType::INT)
            .not_null()
            .with_default(ColumnDefault::Literal("0".into())),
        Column::new("created", created_type),
    ];
    child.primary_key = Some(PrimaryKey::on(&["id"]));
    child
        .indexes
        .push(Index::on("child_title", IndexKind::Plain, &["title"]));
    child.foreign_keys.push(ForeignKey {
        name: "child_parent".into(),
        columns: vec!["parent_id".into()],
        referenced_table: "parent".into(),
        referenced_columns: vec!["id".into()],
        on_delete: ForeignKeyAction::Cascade,
        on_update: ForeignKeyAction::NoAction,
    });
    child.checks.push(CheckConstraint {
        name: "qty_positive".into(),
        expr: Expr::new("qty >= 0"),
    });
    schema.add_table(parent).add_table(child);
    let view = match dialect {
        Dialect::Mariadb => "select child.id as id, child.title as title from child",
        Dialect::Postgres => "select child.id, child.title from child",
    };
    schema.add_view(View::new("child_titles", view));
    schema
}

fn table<'a>(schema: &'a mut Schema, name: &str) -> &'a mut Table {
    schema.tables.get_mut(name).expect("table exists")
}

fn column<'a>(schema: &'a mut Schema, table_name: &str, name: &str) -> &'a mut Column {
    table(schema, table_name)
        .columns
        .iter_mut()
        .find(|c| c.name == name)
        .expect("column exists")
}

pub type Change = fn(&mut Schema, Dialect);

/// Change kinds both engines share.
pub const COMMON: &[(&str, Change)] = &[
    ("create_table", |s, _| {
        let mut t = Table::new("tag");
        t.columns = vec![
            Column::new("id", DataType::INT).not_null(),
            Column::new("label", varchar(20)),
        ];
        t.primary_key = Some(PrimaryKey::on(&["id"]));
        s.add_table(t);
    }),
    ("drop_table", |s, _| {
        s.tables.remove("child");
        s.views.clear();
    }),
    ("add_column_at_end", |s, _| {
        table(s, "child")
            .columns
            .push(Column::new("note", varchar(30)));
    }),
    ("add_not_null_column_with_default", |s, _| {
        table(s, "child").columns.push(
            Column::new("rank", DataType::INT)
                .not_null()
                .with_default(ColumnDefault::Literal("1".into())),
        );
    }),
    ("drop_column", |s, _| {
        table(s, "child").columns.retain(|c| c.name != "body");
    }),
    ("widen_varchar", |s, _| {
        column(s, "child", "title").data_type = varchar(200)
    }),
    ("narrow_varchar", |s, _| {
        column(s, "child", "title").data_type = varchar(50)
    }),
    ("change_type_int_to_bigint", |s, _| {
        column(s, "child", "qty").data_type = DataType::BIGINT
    }),
    ("make_nullable", |s, _| {
        column(s, "child", "title").nullable = true
    }),
    ("make_not_null", |s, _| {
        column(s, "child", "body").nullable = false
    }),
    ("set_default", |s, _| {
        column(s, "child", "title").default = Some(ColumnDefault::Literal("untitled".into()))
    }),
    ("drop_default", |s, _| {
        column(s, "child", "qty").default = None
    }),
    ("expression_default", |s, d| {
        let now = if d == Dialect::Mariadb {
            "current_timestamp()"
        } else {
            "now()"
        };
        column(s, "child", "created").default = Some(ColumnDefault::Expression(Expr::new(now)));
    }),
    ("add_index", |s, _| {
        table(s, "child").indexes.push(Index::on(
            "child_qty_created",
            IndexKind::Plain,
            &["qty", "created"],
        ))
    }),
    ("drop_index", |s, _| table(s, "child").indexes.clear()),
    ("change_index", |s, _| {
        table(s, "child").indexes = vec![Index::on(
            "child_title",
            IndexKind::Unique,
            &["title", "qty"],
        )]
    }),
    ("change_primary_key", |s, _| {
        table(s, "child").primary_key = Some(PrimaryKey::on(&["id", "title"]))
    }),
    ("add_foreign_key", |s, _| {
        let mut t = Table::new("note");
        t.columns = vec![
            Column::new("id", DataType::INT).not_null(),
            Column::new("child_id", DataType::BIGINT),
        ];
        t.primary_key = Some(PrimaryKey::on(&["id"]));
        s.add_table(t);
        table(s, "note").foreign_keys.push(ForeignKey {
            name: "note_child".into(),
            columns: vec!["child_id".into()],
            referenced_table: "child".into(),
            referenced_columns: vec!["id".into()],
            on_delete: ForeignKeyAction::SetNull,
            on_update: ForeignKeyAction::NoAction,
        });
    }),
    ("drop_foreign_key", |s, _| {
        table(s, "child").foreign_keys.clear()
    }),
    ("change_foreign_key_action", |s, _| {
        table(s, "child").foreign_keys[0].on_delete = ForeignKeyAction::Restrict
    }),
    ("add_check", |s, _| {
        table(s, "child").checks.push(CheckConstraint {
            name: "title_not_empty".into(),
            expr: Expr::new("title <> ''"),
        })
    }),
    ("drop_check", |s, _| table(s, "child").checks.clear()),
    ("table_comment", |s, _| {
        table(s, "child").options.comment = Some("children".into())
    }),
    ("column_comment", |s, _| {
        column(s, "child", "qty").comment = Some("how many".into())
    }),
    ("create_view", |s, d| {
        let body = match d {
            Dialect::Mariadb => "select parent.name as name from parent",
            Dialect::Postgres => "select parent.name from parent",
        };
        s.add_view(View::new("parent_names", body));
    }),
    ("change_view", |s, d| {
        let body = match d {
            Dialect::Mariadb => {
                "select child.id as id, child.title as title, child.qty as qty from child"
            }
            Dialect::Postgres => "select child.id, child.title, child.qty from child",
        };
        s.add_view(View::new("child_titles", body));
    }),
    ("drop_view", |s, _| s.views.clear()),
    ("alter_table_under_view", |s, _| {
        table(s, "child").columns.retain(|c| c.name != "created")
    }),
];

pub const MARIADB_ONLY: &[(&str, Change)] = &[
    ("add_column_in_middle", |s, _| {
        table(s, "child")
            .columns
            .insert(2, Column::new("slug", varchar(40)));
    }),
    ("reorder_column", |s, _| {
        let columns = &mut table(s, "child").columns;
        let body = columns.remove(3);
        columns.insert(1, body);
    }),
    ("widen_varchar_across_length_bytes", |s, _| {
        column(s, "child", "title").data_type = varchar(1000)
    }),
    ("append_enum_value", |s, _| {
        table(s, "child").columns.push(Column::new(
            "state",
            DataType::Enum(vec!["new".into(), "done".into()]),
        ));
    }),
    ("column_collation", |s, _| {
        column(s, "child", "title").collation = Some("utf8mb4_bin".into())
    }),
    ("table_collation", |s, _| {
        table(s, "child").options.collation = Some("utf8mb4_general_ci".into())
    }),
    ("engine", |s, _| {
        // Only InnoDB keeps foreign keys.
        table(s, "child").foreign_keys.clear();
        table(s, "child").options.engine = Some("Aria".into());
    }),
    ("row_format", |s, _| {
        table(s, "child").options.row_format = Some("COMPRESSED".into())
    }),
    ("prefix_and_descending_index", |s, _| {
        let mut index = Index::on("child_body", IndexKind::Plain, &[]);
        index.parts = vec![
            IndexPart {
                target: IndexTarget::Column("body".into()),
                prefix: Some(20),
                descending: false,
            },
            IndexPart {
                target: IndexTarget::Column("qty".into()),
                prefix: None,
                descending: true,
            },
        ];
        table(s, "child").indexes.push(index);
    }),
    ("fulltext_index", |s, _| {
        table(s, "child")
            .indexes
            .push(Index::on("child_body_ft", IndexKind::Fulltext, &["body"]))
    }),
    ("on_update_column", |s, _| {
        let created = column(s, "child", "created");
        created.default = Some(ColumnDefault::Expression(Expr::new("current_timestamp()")));
        created.on_update = Some(Expr::new("current_timestamp()"));
    }),
    ("virtual_generated_column", |s, _| {
        let mut doubled = Column::new("qty2", DataType::INT);
        doubled.generated = Some(Generated {
            expr: Expr::new("qty * 2"),
            stored: false,
        });
        table(s, "child").columns.push(doubled);
    }),
    ("json_column", |s, _| {
        table(s, "child")
            .columns
            .push(Column::new("meta", DataType::Json))
    }),
    ("auto_increment", |s, _| {
        column(s, "parent", "id").auto_increment = true
    }),
    ("partition_by_hash", |s, _| {
        table(s, "parent").indexes.clear();
        table(s, "parent").partitioning = Some(Partitioning {
            kind: PartitioningKind::Hash,
            expression: "id".into(),
            partitions: (0..2)
                .map(|i| Partition {
                    name: format!("p{i}"),
                    bound: None,
                })
                .collect(),
            subpartitioning: None,
        });
        s.tables.remove("child");
        s.views.clear();
    }),
];

pub const POSTGRES_ONLY: &[(&str, Change)] = &[
    ("partitioned_table", |s, _| {
        let mut events = Table::new("events");
        events.columns = vec![
            Column::new("id", DataType::BIGINT).not_null(),
            Column::new("day", DataType::Date).not_null(),
        ];
        events.primary_key = Some(PrimaryKey::on(&["id", "day"]));
        events.partitioning = Some(Partitioning {
            kind: PartitioningKind::Range,
            expression: "day".into(),
            partitions: vec![Partition {
                name: "events_2020".into(),
                bound: Some("FOR VALUES FROM ('2020-01-01') TO ('2021-01-01')".into()),
            }],
            subpartitioning: None,
        });
        s.add_table(events);
    }),
    ("identity_column", |s, _| {
        column(s, "parent", "id").identity = Some(Identity::Always)
    }),
    ("partial_expression_index", |s, _| {
        let mut index = Index::on("child_lower_title", IndexKind::Plain, &[]);
        index.parts = vec![IndexPart {
            target: IndexTarget::Expression(Expr::new("lower((title)::text)")),
            prefix: None,
            descending: false,
        }];
        index.predicate = Some(Expr::new("qty > 0"));
        table(s, "child").indexes.push(index);
    }),
    ("unique_constraint", |s, _| {
        let mut index = Index::on("child_title_key", IndexKind::Unique, &["title"]);
        index.constraint = true;
        table(s, "child").indexes.push(index);
    }),
    ("stored_generated_column", |s, _| {
        let mut doubled = Column::new("qty2", DataType::INT);
        doubled.generated = Some(Generated {
            expr: Expr::new("qty * 2"),
            stored: true,
        });
        table(s, "child").columns.push(doubled);
    }),
    ("enum_type_and_value", |s, _| {
        s.enum_types.insert(
            "state".into(),
            EnumType {
                name: "state".into(),
                values: vec!["new".into(), "done".into()],
            },
        );
        table(s, "child")
            .columns
            .push(Column::new("state", DataType::Named("state".into())));
    }),
    ("sequence", |s, _| {
        let mut sequence = Sequence::new("ticket");
        sequence.increment = 10;
        s.sequences.insert("ticket".into(), sequence);
    }),
    ("text_to_varchar", |s, _| {
        column(s, "child", "body").data_type = varchar(500)
    }),
    ("reorder_column_is_unsupported", |s, _| {
        let columns = &mut table(s, "child").columns;
        let body = columns.remove(3);
        columns.insert(1, body);
    }),
];
