//! What changed in one table, independent of dialect: the matching of columns, keys and
//! constraints by name between the two versions.

use crate::model::{CheckConstraint, Column, DataType, ForeignKey, Index, PrimaryKey, Table};

/// A column present in both versions whose definition or position changed.
#[derive(Debug)]
pub(crate) struct ColumnChange<'a> {
    pub(crate) from: &'a Column,
    pub(crate) to: &'a Column,
}

/// The differences between two normalized versions of a table.
#[derive(Debug)]
pub(crate) struct TableDiff<'a> {
    pub(crate) from: &'a Table,
    pub(crate) to: &'a Table,
    pub(crate) dropped_columns: Vec<&'a Column>,
    /// Columns only in `to`, in `to`'s order.
    pub(crate) added_columns: Vec<&'a Column>,
    /// Columns in both whose definition differs.
    pub(crate) changed_columns: Vec<ColumnChange<'a>>,
    /// `Some((old, new))` when the primary key differs.
    pub(crate) primary_key: Option<(Option<&'a PrimaryKey>, Option<&'a PrimaryKey>)>,
    /// Indexes removed, or changed (then also in `added_indexes`).
    pub(crate) dropped_indexes: Vec<&'a Index>,
    pub(crate) added_indexes: Vec<&'a Index>,
    pub(crate) dropped_foreign_keys: Vec<&'a ForeignKey>,
    pub(crate) added_foreign_keys: Vec<&'a ForeignKey>,
    pub(crate) dropped_checks: Vec<&'a CheckConstraint>,
    pub(crate) added_checks: Vec<&'a CheckConstraint>,
    pub(crate) options_changed: bool,
    pub(crate) partitioning_changed: bool,
    /// `(old, new)` names of renamed columns (`from` already calls them by the new name).
    pub(crate) renamed_columns: super::ColumnRenames,
}

impl<'a> TableDiff<'a> {
    pub(crate) fn compute(from: &'a Table, to: &'a Table) -> Self {
        let dropped_columns = from
            .columns
            .iter()
            .filter(|column| !to.columns.iter().any(|c| c.name == column.name))
            .collect();
        let added_columns = to
            .columns
            .iter()
            .filter(|column| !from.columns.iter().any(|c| c.name == column.name))
            .collect();
        let changed_columns = to
            .columns
            .iter()
            .filter_map(|new| {
                let old = from.columns.iter().find(|c| c.name == new.name)?;
                (old != new).then_some(ColumnChange { from: old, to: new })
            })
            .collect();
        let primary_key = (from.primary_key != to.primary_key)
            .then_some((from.primary_key.as_ref(), to.primary_key.as_ref()));
        let (dropped_indexes, added_indexes) =
            by_name(&from.indexes, &to.indexes, |index| &index.name);
        let (dropped_foreign_keys, added_foreign_keys) =
            by_name(&from.foreign_keys, &to.foreign_keys, |fk| &fk.name);
        let (dropped_checks, added_checks) = by_name(&from.checks, &to.checks, |c| &c.name);
        TableDiff {
            from,
            to,
            dropped_columns,
            added_columns,
            changed_columns,
            primary_key,
            dropped_indexes,
            added_indexes,
            dropped_foreign_keys,
            added_foreign_keys,
            dropped_checks,
            added_checks,
            options_changed: from.options != to.options,
            partitioning_changed: from.partitioning != to.partitioning,
            renamed_columns: Vec::new(),
        }
    }

    /// Foreign keys dropped and not re-added under the same name.
    pub(crate) fn removed_foreign_key_names(&self) -> Vec<String> {
        self.dropped_foreign_keys
            .iter()
            .filter(|fk| !self.added_foreign_keys.iter().any(|a| a.name == fk.name))
            .map(|fk| fk.name.clone())
            .collect()
    }

    /// Whether any change can lose stored data: dropped columns or narrowing type
    /// changes.
    pub(crate) fn can_drop_data(&self) -> bool {
        self.dropped_columns
            .iter()
            .any(|column| column.generated.as_ref().is_none_or(|g| g.stored))
            || self.changed_columns.iter().any(|change| {
                !type_change_is_lossless(&change.from.data_type, &change.to.data_type)
            })
    }
}

/// Items only in `from` or whose definition differs (to drop), and items only in `to`
/// or whose definition differs (to add), matched by name.
fn by_name<'a, T: PartialEq>(
    from: &'a [T],
    to: &'a [T],
    name: impl Fn(&T) -> &String,
) -> (Vec<&'a T>, Vec<&'a T>) {
    let dropped = from
        .iter()
        .filter(|old| to.iter().find(|new| name(new) == name(old)) != Some(*old))
        .collect();
    let added = to
        .iter()
        .filter(|new| from.iter().find(|old| name(old) == name(new)) != Some(*new))
        .collect();
    (dropped, added)
}

/// Whether every value of `from` fits `to` unchanged (widening only).
pub(crate) fn type_change_is_lossless(from: &DataType, to: &DataType) -> bool {
    use DataType::*;
    if from == to {
        return true;
    }
    match (from, to) {
        (
            Integer {
                kind: a,
                unsigned: ua,
            },
            Integer {
                kind: b,
                unsigned: ub,
            },
        ) => (ua == ub && a <= b) || (*ua && !*ub && a < b),
        (Varchar(Some(a)), Varchar(Some(b))) | (Char(a), Char(b)) => a <= b,
        (Varchar(_), Varchar(None)) | (Varchar(_), Text(_)) | (Char(_), Text(_)) => true,
        (Char(a), Varchar(Some(b))) => a <= b,
        (Varbinary(a), Varbinary(b)) | (Binary(a), Binary(b)) => a <= b,
        (Text(a), Text(b)) | (Blob(a), Blob(b)) => a <= b,
        (
            Decimal {
                precision: pa,
                scale: sa,
                unsigned: ua,
            },
            Decimal {
                precision: pb,
                scale: sb,
                unsigned: ub,
            },
        ) => {
            let (pa, pb, sa, sb) = (
                pa.unwrap_or(1000),
                pb.unwrap_or(1000),
                sa.unwrap_or(0),
                sb.unwrap_or(0),
            );
            (ua == ub || !ub) && sb >= sa && pb - sb >= pa.saturating_sub(sa)
        }
        (Float { .. }, Double { .. }) => true,
        (Enum(a), Enum(b)) | (Set(a), Set(b)) => b.starts_with(a),
        (DateTime { precision: a }, DateTime { precision: b }) => a.unwrap_or(0) <= b.unwrap_or(0),
        (
            Timestamp {
                precision: a,
                with_time_zone: za,
            },
            Timestamp {
                precision: b,
                with_time_zone: zb,
            },
        ) => za == zb && a.unwrap_or(6) <= b.unwrap_or(6),
        _ => false,
    }
}

/// MariaDB: ordered `(column, after)` placements that turn `from`'s surviving columns
/// into `to`'s order, moving as few existing columns as possible. `after == None` means
/// `FIRST`. New columns are placed unless they trail every existing column (then they
/// are appended without a position).
pub(crate) fn column_placements<'a>(
    from: &'a Table,
    to: &'a Table,
) -> Vec<(&'a str, Option<&'a str>)> {
    let surviving: Vec<&str> = from
        .columns
        .iter()
        .map(|c| c.name.as_str())
        .filter(|name| to.columns.iter().any(|c| c.name == *name))
        .collect();
    let target: Vec<&str> = to.columns.iter().map(|c| c.name.as_str()).collect();
    let existing_in_target: Vec<&str> = target
        .iter()
        .copied()
        .filter(|name| surviving.contains(name))
        .collect();
    let stable = longest_common_subsequence(&surviving, &existing_in_target);
    // New columns after the last existing one are simply appended, in order.
    let trailing_new = target
        .iter()
        .rev()
        .take_while(|name| !surviving.contains(name))
        .count();
    let mut placements = Vec::new();
    for (position, name) in target.iter().enumerate() {
        if stable.contains(name) || position >= target.len() - trailing_new {
            continue;
        }
        let after = position.checked_sub(1).map(|p| target[p]);
        placements.push((*name, after));
    }
    placements
}

fn longest_common_subsequence<'a>(a: &[&'a str], b: &[&'a str]) -> Vec<&'a str> {
    // Columns per table are few (InnoDB allows 1017), so O(n*m) is fine.
    let (n, m) = (a.len(), b.len());
    let mut table = vec![vec![0u16; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            table[i][j] = if a[i] == b[j] {
                table[i + 1][j + 1] + 1
            } else {
                table[i + 1][j].max(table[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < n && j < m {
        if a[i] == b[j] {
            out.push(a[i]);
            i += 1;
            j += 1;
        } else if table[i + 1][j] >= table[i][j + 1] {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(columns: &[&str]) -> Table {
        let mut table = Table::new("t");
        table.columns = columns
            .iter()
            .map(|name| Column::new(*name, DataType::INT))
            .collect();
        table
    }

    #[test]
    fn placements_move_the_fewest_columns() {
        let from = table(&["x", "a", "b", "c", "d"]);
        let to = table(&["a", "b", "c", "d", "x"]);
        assert_eq!(column_placements(&from, &to), vec![("x", Some("d"))]);
        let to = table(&["n", "x", "a", "m", "b", "c", "d", "z"]);
        assert_eq!(
            column_placements(&from, &to),
            vec![("n", None), ("m", Some("a"))]
        );
    }

    #[test]
    fn widening_is_lossless_narrowing_is_not() {
        assert!(type_change_is_lossless(
            &DataType::Varchar(Some(10)),
            &DataType::Varchar(Some(20))
        ));
        assert!(!type_change_is_lossless(
            &DataType::Varchar(Some(20)),
            &DataType::Varchar(Some(10))
        ));
        assert!(type_change_is_lossless(&DataType::INT, &DataType::BIGINT));
        assert!(!type_change_is_lossless(&DataType::BIGINT, &DataType::INT));
        assert!(type_change_is_lossless(
            &DataType::Enum(vec!["a".into()]),
            &DataType::Enum(vec!["a".into(), "b".into()])
        ));
    }
}
