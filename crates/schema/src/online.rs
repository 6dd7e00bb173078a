//! What an online schema change needs to know of a table's old and new definitions: their columns (with type and
//! collation), their unique keys, how the columns of one map onto the other, and which row
//! identity both tables share.
//!
//! A unique key of one table is *implied* by the other table when the other has a unique key
//! on a subset of its columns, with the same type and collation on those columns and no
//! prefix on them in the implied key: every set of rows the other table can hold is then
//! unique on it too. Two uses:
//! - the **row identity** of the change is a unique key of the new table, on NOT NULL
//!   columns, that the old table implies (the primary key when it did not change). It
//!   identifies the same row on both sides, so the primary key may change as long as the two
//!   tables share such a key (gh-ost's "shared unique key");
//! - a duplicate on an implied key can only come from a stale row (the other table never
//!   holds two such rows at once), so it is resolved, never reported as a loss. A duplicate
//!   on a key that is *not* implied (a new `UNIQUE`) can be a real one.

use crate::model::{DataType, IndexKind, IndexTarget, Table};

/// A column as `information_schema.COLUMNS` describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnShape {
    pub name: String,
    /// `COLUMN_TYPE`, e.g. `varchar(10)`, `int(11) unsigned`.
    pub column_type: String,
    /// Which conversions keep distinct values distinct.
    pub family: TypeFamily,
    pub collation: Option<String>,
    pub nullable: bool,
    pub generated: bool,
}

/// Types between which a conversion that keeps every value (the copy refuses the others)
/// also keeps distinct values distinct: any integer to any integer, and text to text in
/// the same PAD SPACE collation. Other types count as distinct types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TypeFamily {
    Integer,
    Text,
    Other,
}

impl TypeFamily {
    /// From `information_schema.COLUMNS.DATA_TYPE` (`int`, `varchar`, …).
    pub fn of_data_type(data_type: &str) -> Self {
        match data_type.to_ascii_lowercase().as_str() {
            "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint" => {
                TypeFamily::Integer
            }
            "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" => {
                TypeFamily::Text
            }
            _ => TypeFamily::Other,
        }
    }
}

/// One part of a unique key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyPart {
    pub column: String,
    /// A prefix length (`KEY (c(10))`).
    pub prefix: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UniqueKey {
    /// `PRIMARY` for the primary key.
    pub name: String,
    pub parts: Vec<KeyPart>,
}

impl UniqueKey {
    pub fn is_primary(&self) -> bool {
        self.name == "PRIMARY"
    }
}

/// A table's columns and unique keys (the primary key first).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TableShape {
    pub columns: Vec<ColumnShape>,
    pub unique_keys: Vec<UniqueKey>,
}

/// MariaDB compares column names without regard to case.
pub fn same_name(a: &str, b: &str) -> bool {
    a == b || a.to_lowercase() == b.to_lowercase()
}

impl TableShape {
    /// The shape of a model table (columns' types compare by their model type, collations
    /// as the table resolves them).
    pub fn from_table(table: &Table) -> Self {
        let mut unique_keys = Vec::new();
        if let Some(primary_key) = &table.primary_key {
            unique_keys.push(UniqueKey {
                name: "PRIMARY".into(),
                parts: key_parts(&primary_key.parts),
            });
        }
        for index in table.indexes.iter().filter(|i| i.kind == IndexKind::Unique) {
            // A key on an expression cannot identify rows by column values.
            if index
                .parts
                .iter()
                .all(|p| matches!(p.target, IndexTarget::Column(_)))
            {
                unique_keys.push(UniqueKey {
                    name: index.name.clone(),
                    parts: key_parts(&index.parts),
                });
            }
        }
        TableShape {
            columns: table
                .columns
                .iter()
                .map(|column| ColumnShape {
                    name: column.name.clone(),
                    column_type: format!("{:?}", column.data_type),
                    family: match column.data_type {
                        DataType::Integer { .. } => TypeFamily::Integer,
                        DataType::Char(_) | DataType::Varchar(_) | DataType::Text(_) => {
                            TypeFamily::Text
                        }
                        _ => TypeFamily::Other,
                    },
                    collation: column.collation.clone().or_else(|| {
                        column
                            .data_type
                            .has_collation()
                            .then(|| table.options.collation.clone())
                            .flatten()
                    }),
                    nullable: column.nullable,
                    generated: column.generated.is_some(),
                })
                .collect(),
            unique_keys,
        }
    }

    pub fn column(&self, name: &str) -> Option<&ColumnShape> {
        self.columns.iter().find(|c| same_name(&c.name, name))
    }

    pub fn primary_key(&self) -> Option<&UniqueKey> {
        self.unique_keys.iter().find(|k| k.is_primary())
    }

    /// The key the copy walks: the primary key, else the first unique key on NOT NULL
    /// columns without prefixes (InnoDB's clustered index in that case).
    pub fn walk_key(&self) -> Option<Vec<String>> {
        self.unique_keys
            .iter()
            .find(|key| {
                key.is_primary()
                    || key.parts.iter().all(|part| {
                        part.prefix.is_none()
                            && self.column(&part.column).is_some_and(|c| !c.nullable)
                    })
            })
            .map(|key| key.parts.iter().map(|p| p.column.clone()).collect())
    }
}

fn key_parts(parts: &[crate::model::IndexPart]) -> Vec<KeyPart> {
    parts
        .iter()
        .filter_map(|part| match &part.target {
            IndexTarget::Column(column) => Some(KeyPart {
                column: column.clone(),
                prefix: part.prefix.map(u64::from),
            }),
            IndexTarget::Expression(_) => None,
        })
        .collect()
}

/// How the columns of `source` fill those of `target`: pairs of (source name, target name)
/// in source order. A target column is filled by the source column it was renamed from, else
/// by the source column of the same name; generated target columns compute themselves.
pub fn column_pairs(
    source: &TableShape,
    target: &TableShape,
    renames: &[(String, String)],
) -> Vec<(String, String)> {
    source
        .columns
        .iter()
        .filter_map(|column| {
            let renamed = renames
                .iter()
                .find(|(from, _)| same_name(from, &column.name))
                .map(|(_, to)| to.as_str());
            let wanted = renamed.unwrap_or(&column.name);
            let target_column = target.column(wanted)?;
            // A column renamed away does not also fill a new column of its old name.
            if renamed.is_none()
                && renames
                    .iter()
                    .any(|(_, to)| same_name(to, &target_column.name))
            {
                return None;
            }
            (!target_column.generated).then(|| (column.name.clone(), target_column.name.clone()))
        })
        .collect()
}

/// Whether `key` (of `key_table`) is implied by a unique key of `other`, where `to_other`
/// names a `key_table` column in `other` (None: `other` has no such column).
pub fn implied(
    key: &UniqueKey,
    key_table: &TableShape,
    other: &TableShape,
    to_other: impl Fn(&str) -> Option<String>,
) -> bool {
    other.unique_keys.iter().any(|other_key| {
        other_key.parts.iter().all(|other_part| {
            key.parts.iter().any(|part| {
                part.prefix.is_none()
                    && to_other(&part.column)
                        .is_some_and(|name| same_name(&name, &other_part.column))
                    && same_values(
                        key_table.column(&part.column),
                        other.column(&other_part.column),
                    )
            })
        })
    })
}

/// Values distinct on one side are distinct on the other: the same type and collation,
/// or a conversion within a [`TypeFamily`] that keeps them so.
fn same_values(a: Option<&ColumnShape>, b: Option<&ColumnShape>) -> bool {
    let (Some(a), Some(b)) = (a, b) else {
        return false;
    };
    if a.column_type.eq_ignore_ascii_case(&b.column_type) && a.collation == b.collation {
        return true;
    }
    match (a.family, b.family) {
        (TypeFamily::Integer, TypeFamily::Integer) => true,
        (TypeFamily::Text, TypeFamily::Text) => {
            a.collation == b.collation
                && !a
                    .collation
                    .as_deref()
                    .is_some_and(|c| c.to_ascii_lowercase().contains("nopad"))
        }
        _ => false,
    }
}

/// What `prepare` derives from the two shapes.
#[derive(Debug, PartialEq, Eq)]
pub struct Plan {
    /// (source, target) column names written by the copy and the stream.
    pub pairs: Vec<(String, String)>,
    /// The row identity, in source names.
    pub identity: Vec<String>,
    /// Target unique keys implied by the source.
    pub implied_target_keys: Vec<String>,
    /// Source unique keys implied by the target (the reverse stream's view).
    pub implied_source_keys: Vec<String>,
}

/// The identity and key facts of a change from `source` to `target`, or why the change
/// cannot run online.
pub fn plan(
    source: &TableShape,
    target: &TableShape,
    renames: &[(String, String)],
) -> Result<Plan, String> {
    let pairs = column_pairs(source, target, renames);
    let to_target = |name: &str| {
        pairs
            .iter()
            .find(|(s, _)| same_name(s, name))
            .map(|(_, t)| t.clone())
    };
    let to_source = |name: &str| {
        pairs
            .iter()
            .find(|(_, t)| same_name(t, name))
            .map(|(s, _)| s.clone())
    };
    let implied_target_keys: Vec<String> = target
        .unique_keys
        .iter()
        .filter(|key| implied(key, target, source, to_source))
        .map(|key| key.name.clone())
        .collect();
    let implied_source_keys: Vec<String> = source
        .unique_keys
        .iter()
        .filter(|key| implied(key, source, target, to_target))
        .map(|key| key.name.clone())
        .collect();
    let identity = target
        .unique_keys
        .iter()
        .filter(|key| implied_target_keys.contains(&key.name))
        .find(|key| {
            key.parts.iter().all(|part| {
                target
                    .column(&part.column)
                    .is_some_and(|c| !c.nullable && !c.generated)
                    && to_source(&part.column)
                        .and_then(|s| source.column(&s).cloned())
                        .is_some_and(|c| !c.nullable)
            })
        })
        .map(|key| {
            key.parts
                .iter()
                .filter_map(|part| to_source(&part.column))
                .collect::<Vec<_>>()
        })
        .ok_or_else(|| {
            "the old and the new table share no unique key on NOT NULL columns (keep the \
             primary key, or keep a unique key of the old table as a key of the new one)"
                .to_string()
        })?;
    Ok(Plan {
        pairs,
        identity,
        implied_target_keys,
        implied_source_keys,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str, column_type: &str, nullable: bool) -> ColumnShape {
        ColumnShape {
            name: name.into(),
            column_type: column_type.into(),
            family: TypeFamily::of_data_type(column_type.split('(').next().unwrap_or("")),
            collation: None,
            nullable,
            generated: false,
        }
    }

    fn key(name: &str, columns: &[&str]) -> UniqueKey {
        UniqueKey {
            name: name.into(),
            parts: columns
                .iter()
                .map(|c| KeyPart {
                    column: (*c).into(),
                    prefix: None,
                })
                .collect(),
        }
    }

    fn shape(columns: Vec<ColumnShape>, keys: Vec<UniqueKey>) -> TableShape {
        TableShape {
            columns,
            unique_keys: keys,
        }
    }

    fn base() -> TableShape {
        shape(
            vec![
                column("id", "int(11)", false),
                column("i", "int(11)", false),
                column("u", "varchar(10)", true),
            ],
            vec![key("PRIMARY", &["id"]), key("u", &["u"])],
        )
    }

    #[test]
    fn an_unchanged_primary_key_is_the_identity() {
        let mut target = base();
        target.columns.push(column("extra", "int(11)", true));
        let plan = plan(&base(), &target, &[]).unwrap();
        assert_eq!(plan.identity, ["id"]);
        assert_eq!(plan.implied_target_keys, ["PRIMARY", "u"]);
        assert_eq!(plan.pairs.len(), 3);
    }

    #[test]
    fn a_widened_primary_key_shares_its_old_columns() {
        // DROP PRIMARY KEY, ADD PRIMARY KEY (id, i): (id, i) ⊇ (id), unique on both sides.
        let target = shape(
            base().columns,
            vec![key("PRIMARY", &["id", "i"]), key("u", &["u"])],
        );
        let plan = plan(&base(), &target, &[]).unwrap();
        assert_eq!(plan.identity, ["id", "i"]);
        // The old primary key (id) is not implied by the new table's keys.
        assert_eq!(plan.implied_source_keys, ["u"]);
    }

    #[test]
    fn a_primary_key_turned_unique_key_is_the_identity() {
        let target = shape(base().columns, vec![key("id", &["id"]), key("u", &["u"])]);
        assert_eq!(plan(&base(), &target, &[]).unwrap().identity, ["id"]);
    }

    #[test]
    fn a_new_unique_key_is_not_implied() {
        let mut target = base();
        target.unique_keys.push(key("i", &["i"]));
        let plan = plan(&base(), &target, &[]).unwrap();
        assert_eq!(plan.implied_target_keys, ["PRIMARY", "u"]);
        assert_eq!(plan.implied_source_keys, ["PRIMARY", "u"]);
    }

    #[test]
    fn a_key_on_a_retyped_or_prefixed_column_is_not_implied() {
        let mut target = base();
        target.columns[2].column_type = "varchar(20)".into();
        target.columns[2].collation = Some("utf8mb4_bin".into());
        assert_eq!(
            plan(&base(), &target, &[]).unwrap().implied_target_keys,
            ["PRIMARY"]
        );
        let mut target = base();
        target.unique_keys[1].parts[0].prefix = Some(3);
        assert_eq!(
            plan(&base(), &target, &[]).unwrap().implied_target_keys,
            ["PRIMARY"]
        );
    }

    #[test]
    fn a_widened_integer_key_is_still_implied() {
        let mut target = base();
        target.columns[0] = column("id", "bigint(20)", false);
        let plan = plan(&base(), &target, &[]).unwrap();
        assert_eq!(plan.identity, ["id"]);
    }

    #[test]
    fn no_shared_key_is_refused() {
        let target = shape(base().columns, vec![key("PRIMARY", &["i"])]);
        assert!(plan(&base(), &target, &[]).is_err());
    }

    #[test]
    fn renamed_and_case_changed_columns_keep_their_values() {
        let target = shape(
            vec![
                column("ID", "int(11)", false),
                column("j", "int(11)", false),
                column("u", "varchar(10)", true),
            ],
            vec![key("PRIMARY", &["ID"])],
        );
        let plan = plan(&base(), &target, &[("i".into(), "j".into())]).unwrap();
        assert_eq!(
            plan.pairs,
            [
                ("id".to_string(), "ID".to_string()),
                ("i".into(), "j".into()),
                ("u".into(), "u".into())
            ]
        );
        assert_eq!(plan.identity, ["id"]);
    }

    #[test]
    fn a_column_renamed_away_leaves_a_new_namesake_alone() {
        // CHANGE a b, ADD a: the new `a` is not filled from the old `a`.
        let source = shape(
            vec![column("id", "int", false), column("a", "int", true)],
            vec![key("PRIMARY", &["id"])],
        );
        let target = shape(
            vec![
                column("id", "int", false),
                column("b", "int", true),
                column("a", "int", true),
            ],
            vec![key("PRIMARY", &["id"])],
        );
        let pairs = column_pairs(&source, &target, &[("a".into(), "b".into())]);
        assert_eq!(
            pairs,
            [("id".into(), "id".into()), ("a".into(), "b".into())]
        );
    }
}
