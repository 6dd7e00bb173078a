//! Three-way merge: clean merges, identical overlapping changes adopted quietly, and
//! conflicts that name the object.

use dbplane_schema::diff::{ObjectKind, diff};
use dbplane_schema::merge::three_way;
use dbplane_schema::{
    Column, ColumnDefault, DataType, Dialect, ForeignKey, ForeignKeyAction, Index, IndexKind,
    PrimaryKey, Schema, ServerVersion, Table, View,
};

const D: Dialect = Dialect::Mariadb;

fn fork() -> Schema {
    let mut schema = Schema::new();
    schema.collation = Some("utf8mb4_unicode_ci".into());
    for name in ["users", "orders"] {
        let mut table = Table::new(name);
        table.columns = vec![
            Column::new("id", DataType::BIGINT).not_null(),
            Column::new("name", DataType::Varchar(Some(50))),
        ];
        table.primary_key = Some(PrimaryKey::on(&["id"]));
        schema.add_table(table);
    }
    schema.add_view(View::new(
        "user_names",
        "select users.id as id, users.name as name from users",
    ));
    schema
}

fn table<'a>(schema: &'a mut Schema, name: &str) -> &'a mut Table {
    schema.tables.get_mut(name).expect("table")
}

#[test]
fn changes_to_different_objects_merge_cleanly() {
    let fork = fork();
    let mut head = fork.clone();
    table(&mut head, "users")
        .columns
        .push(Column::new("email", DataType::Varchar(Some(100))));
    let mut current = fork.clone();
    table(&mut current, "orders").indexes.push(Index::on(
        "orders_name",
        IndexKind::Plain,
        &["name"],
    ));
    let mut audit = Table::new("audit");
    audit.columns = vec![Column::new("id", DataType::BIGINT).not_null()];
    audit.primary_key = Some(PrimaryKey::on(&["id"]));
    current.add_table(audit);

    let merged = three_way(&fork, &head, &current, D).expect("clean merge");
    assert!(merged.tables["users"].column("email").is_some());
    assert!(merged.tables["orders"].index("orders_name").is_some());
    assert!(merged.tables.contains_key("audit"));
    // What deploying the branch now does: exactly the branch's own change.
    let changes = diff(&current, &merged, D, ServerVersion::MARIADB_10_11);
    assert_eq!(
        changes.sql(),
        ["ALTER TABLE `users` ADD COLUMN `email` varchar(100)"]
    );
}

#[test]
fn changes_to_different_parts_of_one_table_merge() {
    let fork = fork();
    let mut head = fork.clone();
    table(&mut head, "users")
        .columns
        .push(Column::new("email", DataType::Varchar(Some(100))));
    table(&mut head, "users")
        .indexes
        .push(Index::on("users_email", IndexKind::Unique, &["email"]));
    let mut current = fork.clone();
    table(&mut current, "users")
        .columns
        .insert(1, Column::new("age", DataType::INT));
    table(&mut current, "users").options.comment = Some("people".into());

    let merged = three_way(&fork, &head, &current, D).expect("clean merge");
    let users = &merged.tables["users"];
    let names: Vec<&str> = users.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["id", "age", "name", "email"]);
    assert!(users.index("users_email").is_some());
    assert_eq!(users.options.comment.as_deref(), Some("people"));
}

#[test]
fn identical_overlapping_changes_are_adopted() {
    let fork = fork();
    let mut head = fork.clone();
    table(&mut head, "users")
        .columns
        .push(Column::new("email", DataType::Varchar(Some(100))));
    table(&mut head, "orders")
        .indexes
        .push(Index::on("orders_name", IndexKind::Plain, &["name"]));
    let mut current = head.clone();
    // The same index, spelled with the implicit name MariaDB would give it... no: the same
    // name, declared in another order among other indexes, is the same change.
    table(&mut current, "orders").indexes.insert(
        0,
        Index::on("orders_id_name", IndexKind::Plain, &["id", "name"]),
    );
    let merged = three_way(&fork, &head, &current, D).expect("identical changes merge");
    assert_eq!(merged, current.normalize(D));
    assert!(diff(&current, &merged, D, ServerVersion::MARIADB_10_11).is_empty());
}

#[test]
fn different_changes_to_one_column_conflict() {
    let fork = fork();
    let mut head = fork.clone();
    table(&mut head, "users").columns[1].data_type = DataType::Varchar(Some(100));
    let mut current = fork.clone();
    table(&mut current, "users").columns[1].default = Some(ColumnDefault::Literal("anon".into()));
    let conflicts = three_way(&fork, &head, &current, D).expect_err("conflict");
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    assert_eq!(conflicts[0].object.name, "users");
    assert!(
        conflicts[0].reason.contains("column users.name"),
        "{}",
        conflicts[0].reason
    );
}

#[test]
fn dropped_on_one_side_changed_on_the_other_conflicts() {
    let fork = fork();
    let mut head = fork.clone();
    table(&mut head, "orders")
        .columns
        .push(Column::new("total", DataType::INT));
    let mut current = fork.clone();
    current.tables.remove("orders");
    let conflicts = three_way(&fork, &head, &current, D).expect_err("conflict");
    assert_eq!(conflicts[0].object.kind, ObjectKind::Table);
    assert_eq!(conflicts[0].object.name, "orders");
    assert!(
        conflicts[0].reason.contains("dropped"),
        "{}",
        conflicts[0].reason
    );
}

#[test]
fn same_index_name_with_different_definitions_conflicts() {
    let fork = fork();
    let mut head = fork.clone();
    table(&mut head, "users")
        .indexes
        .push(Index::on("by_name", IndexKind::Plain, &["name"]));
    let mut current = fork.clone();
    table(&mut current, "users")
        .indexes
        .push(Index::on("by_name", IndexKind::Unique, &["name"]));
    let conflicts = three_way(&fork, &head, &current, D).expect_err("conflict");
    assert!(
        conflicts[0].reason.contains("index by_name"),
        "{}",
        conflicts[0].reason
    );
}

#[test]
fn a_combination_that_breaks_a_reference_conflicts() {
    let fork = fork();
    // The branch adds a foreign key to users; the base dropped users meanwhile.
    let mut head = fork.clone();
    table(&mut head, "orders")
        .columns
        .push(Column::new("user_id", DataType::BIGINT));
    table(&mut head, "orders").foreign_keys.push(ForeignKey {
        name: "orders_user".into(),
        columns: vec!["user_id".into()],
        referenced_table: "users".into(),
        referenced_columns: vec!["id".into()],
        on_delete: ForeignKeyAction::Cascade,
        on_update: ForeignKeyAction::NoAction,
    });
    let mut current = fork.clone();
    current.tables.remove("users");
    current.views.clear();
    let conflicts = three_way(&fork, &head, &current, D).expect_err("conflict");
    assert!(
        conflicts
            .iter()
            .any(|c| c.object.name == "orders" && c.reason.contains("users")),
        "{conflicts:?}"
    );

    // The base drops a column that a view the branch adds reads.
    let mut head = fork.clone();
    head.add_view(View::new("names", "select users.name as name from users"));
    let mut current = fork.clone();
    table(&mut current, "users")
        .columns
        .retain(|c| c.name != "name");
    current.views.clear();
    let conflicts = three_way(&fork, &head, &current, D).expect_err("conflict");
    assert!(
        conflicts
            .iter()
            .any(|c| c.object.kind == ObjectKind::View && c.object.name == "names"),
        "{conflicts:?}"
    );
}

#[test]
fn a_branch_without_changes_takes_the_base() {
    let fork = fork();
    let mut current = fork.clone();
    current.views.clear();
    let merged = three_way(&fork, &fork, &current, D).expect("clean");
    assert_eq!(merged, current.normalize(D));
}
