//! What changed between two schemas, the way a reviewer reads it: one entry per created,
//! changed or dropped table or view, holding its `CREATE` statement as a full-context
//! unified diff (`+` added line, `-` removed line, ` ` unchanged line), which is what
//! PlanetScale's deploy request and branch diffs carry in `raw` (the CLI colours lines by
//! their first character).

use std::collections::BTreeMap;

use crate::ddl::{create_table, create_view};
use crate::{Dialect, Schema};

/// One changed object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectDiff {
    /// The table or view name.
    pub name: String,
    /// The unified diff of its `CREATE` statement: all `+` for a new object, all `-` for
    /// a dropped one.
    pub raw: String,
}

/// The canonical `CREATE` statement of every table and view of `schema`, by name.
pub fn definitions(schema: &Schema, dialect: Dialect) -> BTreeMap<String, String> {
    let schema = schema.normalize(dialect);
    let tables = schema.tables.values().map(|table| {
        (
            table.name.clone(),
            create_table(table, dialect, |_| true).join(";\n"),
        )
    });
    let views = schema
        .views
        .values()
        .map(|view| (view.name.clone(), create_view(view, dialect, false)));
    tables.chain(views).collect()
}

/// The objects whose definition differs between `before` and `after` (name → `CREATE`
/// statement), in name order.
pub fn object_diffs(
    before: &BTreeMap<String, String>,
    after: &BTreeMap<String, String>,
) -> Vec<ObjectDiff> {
    let mut names: Vec<&String> = before.keys().chain(after.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter_map(|name| {
            let (old, new) = (before.get(name), after.get(name));
            (old != new).then(|| ObjectDiff {
                name: name.clone(),
                raw: unified(
                    old.map_or("", String::as_str),
                    new.map_or("", String::as_str),
                ),
            })
        })
        .collect()
}

/// A full-context line diff of `before` into `after` (longest common subsequence of
/// lines; statements are short, so the quadratic table is cheap).
pub fn unified(before: &str, after: &str) -> String {
    let old: Vec<&str> = before.lines().collect();
    let new: Vec<&str> = after.lines().collect();
    // common[i][j]: length of the longest common subsequence of old[i..] and new[j..].
    let mut common = vec![vec![0usize; new.len() + 1]; old.len() + 1];
    for i in (0..old.len()).rev() {
        for j in (0..new.len()).rev() {
            common[i][j] = if old[i] == new[j] {
                common[i + 1][j + 1] + 1
            } else {
                common[i + 1][j].max(common[i][j + 1])
            };
        }
    }
    let mut lines = Vec::with_capacity(old.len() + new.len());
    let (mut i, mut j) = (0, 0);
    while i < old.len() || j < new.len() {
        if i < old.len() && j < new.len() && old[i] == new[j] {
            lines.push(format!(" {}", old[i]));
            (i, j) = (i + 1, j + 1);
        } else if i < old.len() && (j == new.len() || common[i + 1][j] >= common[i][j + 1]) {
            // Removals before additions, as `diff -u` shows a replaced line.
            lines.push(format!("-{}", old[i]));
            i += 1;
        } else {
            lines.push(format!("+{}", new[j]));
            j += 1;
        }
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Column, DataType, PrimaryKey, Table};

    fn map(entries: &[(&str, &str)]) -> BTreeMap<String, String> {
        entries
            .iter()
            .map(|(name, sql)| (name.to_string(), sql.to_string()))
            .collect()
    }

    #[test]
    fn a_changed_line_is_removed_and_added_in_context() {
        let before = "CREATE TABLE `t` (\n  `id` bigint NOT NULL,\n  `a` int\n)";
        let after = "CREATE TABLE `t` (\n  `id` bigint NOT NULL,\n  `a` bigint,\n  `b` int\n)";
        assert_eq!(
            unified(before, after),
            " CREATE TABLE `t` (\n   `id` bigint NOT NULL,\n-  `a` int\n+  `a` bigint,\n+  `b` int\n )"
        );
    }

    #[test]
    fn created_objects_are_all_added_and_dropped_ones_all_removed() {
        let before = map(&[
            ("gone", "CREATE TABLE `gone` (\n  `id` int\n)"),
            ("same", "X"),
        ]);
        let after = map(&[("new", "CREATE VIEW `new` AS select 1"), ("same", "X")]);
        let diffs = object_diffs(&before, &after);
        assert_eq!(
            diffs,
            vec![
                ObjectDiff {
                    name: "gone".into(),
                    raw: "-CREATE TABLE `gone` (\n-  `id` int\n-)".into(),
                },
                ObjectDiff {
                    name: "new".into(),
                    raw: "+CREATE VIEW `new` AS select 1".into(),
                },
            ]
        );
    }

    #[test]
    fn definitions_cover_tables_and_views() {
        let mut schema = Schema::new();
        let mut table = Table::new("users");
        table
            .columns
            .push(Column::new("id", DataType::BIGINT).not_null());
        table.primary_key = Some(PrimaryKey::on(&["id"]));
        schema.add_table(table);
        schema.add_view(crate::View::new("v", "select `id` from `users`"));
        let definitions = definitions(&schema, Dialect::Mariadb);
        assert!(definitions["users"].starts_with("CREATE TABLE `users` (\n"));
        assert!(definitions["v"].contains("VIEW"));
    }
}
