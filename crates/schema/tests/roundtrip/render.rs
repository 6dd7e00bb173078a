//! Turning a generated spec into a [`Schema`] in each dialect's canonical spelling.

use super::{GenSchema, Kind};
use dbplane_schema::model::{EnumType, Sequence};
use dbplane_schema::{
    CheckConstraint, Column, ColumnDefault, DataType, Dialect, Expr, ForeignKey, ForeignKeyAction,
    Generated, Identity, Index, IndexKind, IndexPart, IndexTarget, IntegerKind, LobSize,
    PrimaryKey, Schema, Table, View,
};

fn data_type(kind: Kind, dialect: Dialect) -> DataType {
    let postgres = dialect == Dialect::Postgres;
    match kind {
        Kind::Int => DataType::INT,
        Kind::BigInt => DataType::BIGINT,
        Kind::SmallInt => DataType::Integer {
            kind: IntegerKind::Small,
            unsigned: false,
        },
        Kind::Varchar(n) => DataType::Varchar(Some(n)),
        Kind::Text => DataType::Text(LobSize::Regular),
        Kind::Decimal(p, s) => DataType::Decimal {
            precision: Some(p),
            scale: Some(s),
            unsigned: false,
        },
        Kind::DateTime if postgres => DataType::Timestamp {
            precision: None,
            with_time_zone: false,
        },
        Kind::DateTime => DataType::DateTime { precision: None },
        Kind::Date => DataType::Date,
        Kind::Bool if postgres => DataType::Boolean,
        Kind::Bool => DataType::parse("bool", dialect),
        Kind::Json if postgres => DataType::Jsonb,
        Kind::Json => DataType::Json,
        Kind::Double => DataType::Double { unsigned: false },
        Kind::Blob if postgres => DataType::Bytea,
        Kind::Blob => DataType::Blob(LobSize::Regular),
        Kind::Enum if postgres => DataType::Named("mood".into()),
        Kind::Enum => DataType::Enum(vec!["a".into(), "b".into(), "c".into()]),
    }
}

fn default_value(kind: Kind, dialect: Dialect) -> Option<ColumnDefault> {
    let literal = |v: &str| Some(ColumnDefault::Literal(v.to_owned()));
    match kind {
        Kind::Int | Kind::BigInt | Kind::SmallInt => literal("7"),
        Kind::Varchar(_) => literal("abc"),
        Kind::Decimal(_, 0) => literal("2"),
        Kind::Decimal(..) => literal("1.5"),
        Kind::DateTime if dialect == Dialect::Postgres => {
            Some(ColumnDefault::Expression(Expr::new("CURRENT_TIMESTAMP")))
        }
        Kind::DateTime => Some(ColumnDefault::Expression(Expr::new("current_timestamp()"))),
        Kind::Date => literal("2020-01-02"),
        Kind::Bool if dialect == Dialect::Postgres => literal("true"),
        Kind::Bool => literal("1"),
        Kind::Double => literal("2.5"),
        Kind::Enum => literal("b"),
        Kind::Text | Kind::Json | Kind::Blob => None,
    }
}

pub(super) fn render(spec: &GenSchema, dialect: Dialect) -> Schema {
    let mut schema = Schema::new();
    if dialect == Dialect::Mariadb {
        schema.collation = Some("utf8mb4_unicode_ci".to_owned());
    }
    for t in &spec.tables {
        let mut table = Table::new(&t.name);
        let id_type = if t.id_big {
            DataType::BIGINT
        } else {
            DataType::INT
        };
        let mut id = Column::new("id", id_type).not_null();
        if t.auto_id {
            match dialect {
                Dialect::Mariadb => id.auto_increment = true,
                Dialect::Postgres => id.identity = Some(Identity::ByDefault),
            }
        }
        table.columns.push(id);
        for c in &t.columns {
            let mut column = Column::new(&c.name, data_type(c.kind, dialect));
            column.nullable = c.nullable;
            if c.default {
                column.default = default_value(c.kind, dialect);
            }
            if c.on_update {
                column.on_update = Some(Expr::new("current_timestamp()"));
            }
            column.comment = c.comment.clone();
            column.collation = c.collation.map(str::to_owned);
            if let Some(base) = &c.generated_from {
                column.generated = Some(Generated {
                    expr: Expr::new(format!("{base} * 2")),
                    stored: dialect == Dialect::Postgres,
                });
            }
            table.columns.push(column);
        }
        if t.has_pk {
            table.primary_key = Some(PrimaryKey::on(&["id"]));
        }
        for (name, unique, columns) in &t.indexes {
            let kind = if *unique {
                IndexKind::Unique
            } else {
                IndexKind::Plain
            };
            let mut index = Index::on(name.clone(), kind, &[]);
            index.parts = columns
                .iter()
                .map(|c| IndexPart {
                    target: IndexTarget::Column(c.clone()),
                    prefix: None,
                    descending: false,
                })
                .collect();
            table.indexes.push(index);
        }
        for (name, column, target, action) in &t.fks {
            table.foreign_keys.push(ForeignKey {
                name: name.clone(),
                columns: vec![column.clone()],
                referenced_table: target.clone(),
                referenced_columns: vec!["id".into()],
                on_delete: *action,
                on_update: ForeignKeyAction::NoAction,
            });
        }
        for column in &t.checks {
            table.checks.push(CheckConstraint {
                name: format!("ck_{column}"),
                expr: Expr::new(format!("{column} >= 0")),
            });
        }
        table.options.comment = t.comment.clone();
        if dialect == Dialect::Mariadb {
            table.options.collation = Some(t.collation.to_owned());
        }
        schema.add_table(table);
    }
    for v in &spec.views {
        let columns: Vec<String> = v
            .columns
            .iter()
            .map(|c| match dialect {
                Dialect::Mariadb => format!("{}.{c} as {c}", v.table),
                Dialect::Postgres => format!("{}.{c}", v.table),
            })
            .collect();
        let body = format!(
            "select {} from {} where {}.id > {}",
            columns.join(", "),
            v.table,
            v.table,
            v.bound
        );
        schema.add_view(View::new(&v.name, body));
    }
    if dialect == Dialect::Postgres {
        if let Some(values) = &spec.enum_values {
            schema.enum_types.insert(
                "mood".into(),
                EnumType {
                    name: "mood".into(),
                    values: values.clone(),
                },
            );
        }
        if let Some(increment) = spec.sequence_increment {
            let mut sequence = Sequence::new("counter");
            sequence.increment = increment;
            schema.sequences.insert("counter".into(), sequence);
        }
    }
    schema
}
