//! Golden DDL: one snapshot per change kind and engine, with each statement's
//! classification, so any change in the generated SQL shows up in review. The same
//! change kinds run on real servers in `roundtrip.rs`.

#[path = "golden/changes.rs"]
mod changes;

use changes::{COMMON, Change, MARIADB_ONLY, POSTGRES_ONLY, base};
use dbplane_schema::diff::{Diff, diff};
use dbplane_schema::{Dialect, ServerVersion, ddl};

fn render(diff: &Diff) -> String {
    let mut out = String::new();
    for statement in &diff.statements {
        out.push_str(&format!(
            "-- {:?} {:?} {} | can_drop_data={} instant={} rebuild={} removed_fks={:?}\n{};\n",
            statement.kind,
            statement.object.kind,
            statement.object.name,
            statement.can_drop_data,
            statement.instant_eligible,
            statement.needs_rebuild,
            statement.removed_foreign_keys,
            statement.sql
        ));
    }
    for unsupported in &diff.unsupported {
        out.push_str(&format!(
            "-- unsupported {}: {}\n",
            unsupported.object.name, unsupported.reason
        ));
    }
    out
}

fn snapshot(dialect: Dialect, changes: &[(&str, Change)]) {
    let version = ServerVersion::default_for(dialect);
    let prefix = format!("{dialect:?}").to_lowercase();
    for (name, change) in changes {
        let from = base(dialect);
        let mut to = from.clone();
        change(&mut to, dialect);
        let forward = diff(&from, &to, dialect, version);
        assert!(!forward.is_empty(), "{name}: no change");
        let backward = diff(&to, &from, dialect, version);
        let text = format!("{}\n-- reverse\n{}", render(&forward), render(&backward));
        insta::assert_snapshot!(format!("{prefix}__{name}"), text);
    }
}

#[test]
fn mariadb_change_kinds() {
    snapshot(Dialect::Mariadb, COMMON);
    snapshot(Dialect::Mariadb, MARIADB_ONLY);
}

#[test]
fn postgres_change_kinds() {
    snapshot(Dialect::Postgres, COMMON);
    snapshot(Dialect::Postgres, POSTGRES_ONLY);
}

#[test]
fn canonical_create_statements() {
    for dialect in [Dialect::Mariadb, Dialect::Postgres] {
        let text = ddl::create_statements(&base(dialect), dialect).join(";\n");
        insta::assert_snapshot!(
            format!("{dialect:?}__create_statements").to_lowercase(),
            text
        );
    }
}

#[test]
fn diff_of_a_schema_with_itself_is_empty() {
    for dialect in [Dialect::Mariadb, Dialect::Postgres] {
        let schema = base(dialect);
        assert!(
            diff(
                &schema,
                &schema,
                dialect,
                ServerVersion::default_for(dialect)
            )
            .is_empty()
        );
    }
}
